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

/// Issue 9 item 11: every page a person sees (the hosted payment page and its
/// forms, its result page, the telco consent page), error pages included,
/// carries the security headers; the JSON APIs are unaffected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_sends_the_security_headers() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let pages = [
        ("GET", "/pay/1/not-the-token"),
        ("GET", "/pay/1/not-the-token/result"),
        ("POST", "/pay/1/not-the-token/card"),
        ("POST", "/pay/1/not-the-token/challenge"),
        ("GET", "/consent/1/not-the-token"),
        ("POST", "/consent/1/not-the-token"),
    ];
    for (method, path) in pages {
        let request = match method {
            "GET" => app.client.get(app.url(path)),
            _ => app
                .client
                .post(app.url(path))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(""),
        };
        let response = request.send().await.expect("request");
        let headers = response.headers();
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        let csp = header("content-security-policy");
        assert!(
            csp.contains("default-src 'none'"),
            "{method} {path}: CSP {csp:?}"
        );
        assert!(
            csp.contains("frame-ancestors 'none'"),
            "{method} {path}: CSP {csp:?}"
        );
        assert!(!csp.contains("unsafe"), "{method} {path}: CSP {csp:?}");
        assert_eq!(header("x-frame-options"), "DENY", "{method} {path}");
        assert_eq!(header("cache-control"), "no-store", "{method} {path}");
        assert_eq!(header("referrer-policy"), "no-referrer", "{method} {path}");
        assert_eq!(
            header("x-content-type-options"),
            "nosniff",
            "{method} {path}"
        );
    }
}
