//! Issue 9's security items: private data files, security headers on the
//! hosted pages, one master key per cluster, one demo merchant, and
//! idempotency claims that a dead node does not hold for long.

use crate::helpers::{Backend, TestApp, TestDb};

/// Issue 9 item 10: the SQLite database and its `-wal`/`-shm` files are
/// readable by their owner only, whatever the process umask.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sqlite_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let app = TestApp::spawn(Backend::Sqlite).await;
    app.create_payment(&crate::helpers::kit_payment()).await;
    let TestDb::Sqlite { url, .. } = app.db.as_ref() else {
        unreachable!("a SQLite test database")
    };
    let path = url.trim_start_matches("sqlite://").to_owned();
    for suffix in ["", "-wal", "-shm"] {
        let file = format!("{path}{suffix}");
        let mode = std::fs::metadata(&file)
            .unwrap_or_else(|e| panic!("{file}: {e}"))
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{file} has mode {:o}", mode & 0o777);
    }
}
