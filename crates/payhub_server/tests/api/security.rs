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

/// Runs `$check(Backend)` as one test per backend (for tests that need a
/// database without the `TestApp`'s merchant, or more than one node).
macro_rules! on_both_backends {
    ($name:ident, $check:path) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                $check($crate::helpers::Backend::Sqlite).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                $check($crate::helpers::Backend::Postgres).await;
            }
        }
    };
}

/// A master key other than the tests' one (32 bytes of 9).
const OTHER_MASTER_KEY: &str = "CQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk=";

/// Issue 9 item 9: the first node records its master key's fingerprint; a
/// node started on the same database with another key refuses to start,
/// naming PAYHUB_MASTER_KEY, and a node with the same key starts.
async fn a_node_with_another_master_key_refuses_to_start(backend: Backend) {
    use payhub_server::app::Application;
    let first = TestApp::spawn(backend).await;

    let mut other = crate::helpers::test_settings(first.db.url());
    other.master_key = Some(OTHER_MASTER_KEY.to_owned().into());
    match Application::build(other).await {
        Ok(_) => panic!("a node with another master key started"),
        Err(error) => {
            let message = error.to_string();
            assert!(message.contains("PAYHUB_MASTER_KEY"), "{message}");
        }
    }

    let same = Application::build(crate::helpers::test_settings(first.db.url())).await;
    assert!(same.is_ok(), "a second node with the same key starts");
}
on_both_backends!(
    another_master_key_is_refused,
    super::a_node_with_another_master_key_refuses_to_start
);

/// Issue 9 item 19: two nodes (each its own data directory) on one empty
/// database, starting at once or one after the other, make one demo merchant
/// and print the same credentials.
async fn nodes_share_one_demo_merchant(backend: Backend) {
    // The race is between two nodes' first looks at the database: try a few.
    for _ in 0..5 {
        nodes_start_together_on_an_empty_database(backend).await;
    }
}

async fn nodes_start_together_on_an_empty_database(backend: Backend) {
    use payhub_app::secrets::MasterKey;
    use payhub_server::demo::ensure_demo_merchant;
    let db = TestDb::create(backend).await;
    let store = payhub_store::connect(db.url(), 4).await.expect("store");
    let key = MasterKey::from_base64(crate::helpers::TEST_MASTER_KEY).expect("key");
    let dirs: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().expect("dir")).collect();

    let (a, b) = tokio::join!(
        ensure_demo_merchant(store.as_ref(), dirs[0].path(), &key),
        ensure_demo_merchant(store.as_ref(), dirs[1].path(), &key),
    );
    let later = ensure_demo_merchant(store.as_ref(), dirs[2].path(), &key).await;

    let a = a.expect("node a").expect("node a has demo credentials");
    let b = b.expect("node b").expect("node b has demo credentials");
    let later = later
        .expect("node c")
        .expect("a later node prints them too");
    assert_eq!(a.api_key, b.api_key);
    assert_eq!(a.api_key, later.api_key);
    assert_eq!(a.merchant_id, later.merchant_id);
    assert_eq!(
        store.list_merchants().await.expect("list").len(),
        1,
        "one demo merchant"
    );
}
on_both_backends!(one_demo_merchant, super::nodes_share_one_demo_merchant);

/// `demo-merchant.json` holds every credential a trial needs, the retail
/// ones included, readable by its owner only; a start reads them back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_credentials_file_holds_the_retail_credentials() {
    use payhub_app::secrets::MasterKey;
    use payhub_server::demo::ensure_demo_merchant;
    use std::os::unix::fs::PermissionsExt;
    let db = TestDb::create(Backend::Sqlite).await;
    let store = payhub_store::connect(db.url(), 2).await.expect("store");
    let key = MasterKey::from_base64(crate::helpers::TEST_MASTER_KEY).expect("key");
    let dir = tempfile::tempdir().expect("dir");
    let printed = ensure_demo_merchant(store.as_ref(), dir.path(), &key)
        .await
        .expect("demo")
        .expect("demo credentials");
    let path = dir.path().join("demo-merchant.json");
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("file")).expect("json");
    let derived = printed.derived.expect("derived credentials");
    assert_eq!(file["apiKey"], printed.api_key.as_str());
    assert_eq!(file["retailApiKey"], derived.retail_api_key.as_str());
    assert_eq!(file["retailSecret"], derived.retail_secret.as_str());
    assert_eq!(file["webhookSecret"], derived.webhook_secret.as_str());
    let mode = std::fs::metadata(&path)
        .expect("metadata")
        .permissions()
        .mode();
    assert_eq!(mode & 0o077, 0, "readable by its owner only");
    let again = ensure_demo_merchant(store.as_ref(), dir.path(), &key)
        .await
        .expect("demo")
        .expect("read back");
    assert_eq!(again.api_key, printed.api_key);
}
