//! `TestApp`: a real payhub on a random loopback port over a fresh database,
//! SQLite (a temporary file) or PostgreSQL (a new database on the machine's
//! server, dropped afterwards), and a listener that records hub callbacks.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::conformance::checked;
use axum::http::StatusCode;
use payhub_server::app::Application;
use payhub_server::config::{Settings, SettingsInput};
use payhub_server::merchants::create_merchant;
use payhub_store::Store;
use secrecy::ExposeSecret;
use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The base URL hrefs are built from in tests; deliberately not the bound address.
pub const PUBLIC_BASE: &str = "http://payhub.test";
pub const TMF: &str = "/tmf-api/paymentManagement/v4";

/// Where the PostgreSQL tests create their databases.
fn postgres_admin_url() -> String {
    std::env::var("PAYHUB_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database that exists for one test.
pub enum TestDb {
    Sqlite {
        _dir: tempfile::TempDir,
        url: String,
    },
    Postgres {
        name: String,
        url: String,
    },
}

impl TestDb {
    pub async fn create(backend: Backend) -> TestDb {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("payhub.sqlite3").display());
                TestDb::Sqlite { _dir: dir, url }
            }
            Backend::Postgres => {
                use sqlx::Connection;
                let name = format!("payhub_test_{:016x}", rand::random::<u64>());
                let mut admin = sqlx::PgConnection::connect(&postgres_admin_url())
                    .await
                    .expect("PostgreSQL reachable");
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut admin)
                    .await
                    .expect("create database");
                let base = postgres_admin_url();
                let url = format!(
                    "{}/{name}",
                    base.rsplit_once('/').map(|(b, _)| b).unwrap_or(&base)
                );
                TestDb::Postgres { name, url }
            }
        }
    }

    pub fn url(&self) -> &str {
        match self {
            TestDb::Sqlite { url, .. } | TestDb::Postgres { url, .. } => url,
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let TestDb::Postgres { name, .. } = self {
            let name = name.clone();
            // Drop cannot await; a short-lived runtime on its own thread can.
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                runtime.block_on(async {
                    use sqlx::Connection;
                    if let Ok(mut admin) = sqlx::PgConnection::connect(&postgres_admin_url()).await
                    {
                        let _ =
                            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                                .execute(&mut admin)
                                .await;
                    }
                });
            })
            .join();
        }
    }
}

/// The master key of every test payhub (32 bytes of 7, Base64).
pub const TEST_MASTER_KEY: &str = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=";

/// Settings for tests: loopback, fixed public base URL, fast hub retries.
pub fn test_settings(database_url: &str) -> Settings {
    let mut settings = SettingsInput {
        listen: Some("127.0.0.1:0".into()),
        database_url: Some(database_url.into()),
        public_base_url: Some(PUBLIC_BASE.into()),
        hub_retry_base_ms: Some(100),
        hub_max_attempts: Some(5),
        // Test listeners run on loopback; allow exactly that, as an operator would.
        allowed_callback_nets: Some("127.0.0.1/32".into()),
        master_key: Some(TEST_MASTER_KEY.into()),
        simulated_latency_ms: Some(0),
        gateway_check_base_ms: Some(100),
        gateway_timeout_ms: Some(2000),
        ..Default::default()
    }
    .resolve()
    .expect("test settings");
    settings.retail.webhook_interval = Duration::from_millis(200);
    settings.retail.webhook_attempts = 4;
    settings.hub.poll_interval = Duration::from_millis(50);
    settings.hub.request_timeout = Duration::from_secs(2);
    // Many tests fire bursts from one address; tests/api/rate_limit.rs turns
    // the limits on where they are the subject.
    settings.rate_limits = payhub_server::config::RateLimitSettings::unlimited();
    settings
}

/// A merchant's credentials.
#[derive(Clone, Debug)]
pub struct Credentials {
    pub merchant_id: String,
    pub api_key: String,
    pub retail_api_key: String,
    pub retail_secret: String,
    pub webhook_secret: String,
}

/// A running payhub.
pub struct TestApp {
    pub address: SocketAddr,
    pub store: Arc<dyn Store>,
    pub client: reqwest::Client,
    pub merchant: Credentials,
    /// The running payhub's use cases, for a test that starts a payment no
    /// dialect can (e.g. a currency the retail dialect refuses).
    pub services: Arc<payhub_app::Services>,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
    // Declared last: dropped after the server stopped.
    pub db: Arc<TestDb>,
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> TestApp {
        let db = Arc::new(TestDb::create(backend).await);
        Self::spawn_on(db, None).await
    }

    /// Starts payhub over an existing database (a restart when `merchant` is given).
    pub async fn spawn_on(db: Arc<TestDb>, merchant: Option<Credentials>) -> TestApp {
        Self::spawn_with(db, merchant, test_settings).await
    }

    /// Stops this payhub and starts another over the same database with other settings.
    pub async fn restart_with(mut self, settings: impl FnOnce(&str) -> Settings) -> TestApp {
        self.shutdown().await;
        Self::spawn_with(self.db.clone(), Some(self.merchant.clone()), settings).await
    }

    /// Starts payhub over a fresh database with other settings.
    pub async fn spawn_with_settings(backend: Backend, settings: fn(&str) -> Settings) -> TestApp {
        let db = Arc::new(TestDb::create(backend).await);
        Self::spawn_with(db, None, settings).await
    }

    async fn spawn_with(
        db: Arc<TestDb>,
        merchant: Option<Credentials>,
        settings: impl FnOnce(&str) -> Settings,
    ) -> TestApp {
        let settings = settings(db.url());
        let app = Application::build(settings.clone())
            .await
            .expect("payhub starts");
        let address = SocketAddr::from(([127, 0, 0, 1], app.port()));
        let store = app.state().store.clone();
        let services = app.state().services.clone();
        let merchant = match merchant {
            Some(m) => m,
            None => new_merchant(store.as_ref(), "test merchant").await,
        };
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            app.run_until_stopped(async {
                let _ = stopped.await;
            })
            .await
            .expect("server runs");
        });
        TestApp {
            address,
            store,
            client: reqwest::Client::new(),
            merchant,
            services,
            stop: Some(stop),
            server: Some(server),
            db,
        }
    }

    /// Stops this payhub (gracefully) and starts another over the same database.
    pub async fn restart(mut self) -> TestApp {
        self.shutdown().await;
        Self::spawn_on(self.db.clone(), Some(self.merchant.clone())).await
    }

    pub async fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    pub fn tmf(&self, path: &str) -> String {
        self.url(&format!("{TMF}{path}"))
    }

    /// A second merchant on the same payhub.
    pub async fn other_merchant(&self) -> Credentials {
        new_merchant(self.store.as_ref(), "other merchant").await
    }

    pub async fn post_as(&self, who: &Credentials, path: &str, body: &Value) -> reqwest::Response {
        let response = self
            .client
            .post(self.tmf(path))
            .bearer_auth(&who.api_key)
            .json(body)
            .send()
            .await
            .expect("request");
        checked("POST", response).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> reqwest::Response {
        self.post_as(&self.merchant, path, body).await
    }

    pub async fn post_raw(&self, path: &str, body: &str, key: Option<&str>) -> reqwest::Response {
        let mut request = self
            .client
            .post(self.tmf(path))
            .bearer_auth(&self.merchant.api_key)
            .header("content-type", "application/json")
            .body(body.to_owned());
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        checked("POST", request.send().await.expect("request")).await
    }

    pub async fn get_as(&self, who: &Credentials, path: &str) -> reqwest::Response {
        let response = self
            .client
            .get(self.tmf(path))
            .bearer_auth(&who.api_key)
            .send()
            .await
            .expect("request");
        checked("GET", response).await
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.get_as(&self.merchant, path).await
    }

    /// Creates a payment and returns its representation.
    pub async fn create_payment(&self, body: &Value) -> Value {
        let response = self.post("/payment", body).await;
        assert_eq!(response.status(), StatusCode::CREATED, "creating {body}");
        response.json().await.expect("json")
    }

    /// Lists a collection with a raw query string; returns status, X-Total-Count and items.
    pub async fn list(&self, collection: &str, query: &str) -> (StatusCode, i64, Vec<Value>) {
        let response = self.get(&format!("/{collection}?{query}")).await;
        let status = response.status();
        let total = response
            .headers()
            .get("x-total-count")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or(-1);
        let body: Value = response.json().await.expect("json");
        let items = body
            .as_array()
            .cloned()
            .unwrap_or_else(|| panic!("expected a list for {query}, got {body}"));
        (status, total, items)
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

pub async fn new_merchant(store: &dyn Store, name: &str) -> Credentials {
    let created = create_merchant(store, name).await.expect("merchant");
    let master_key = payhub_app::secrets::MasterKey::from_base64(TEST_MASTER_KEY).expect("key");
    let view = created.view(&master_key);
    Credentials {
        merchant_id: created.merchant.id.to_string(),
        api_key: created.api_key.expose_secret().to_owned(),
        retail_api_key: view.retail.api_key,
        retail_secret: view.retail.secret,
        webhook_secret: view.webhook_secret,
    }
}

/// The kit's own minimal payment body.
pub fn kit_payment() -> Value {
    serde_json::json!({"account": {"id": "15463151"}, "paymentMethod": {}, "totalAmount": {}})
}

/// A payment of `value` `unit` for `account`.
pub fn payment_of(account: &str, value: &str, unit: &str) -> Value {
    let text = format!(
        r#"{{"account":{{"id":"{account}"}},"paymentMethod":{{"@type":"CashMethod"}},"totalAmount":{{"unit":"{unit}","value":{value}}}}}"#
    );
    serde_json::from_str(&text).expect("valid JSON")
}

/// What a [`Listener`] has received: headers, the raw body, and the body as JSON.
#[derive(Clone, Debug)]
pub struct Received {
    pub headers: axum::http::HeaderMap,
    pub raw: String,
    pub json: Value,
}

impl Received {
    /// Whether its Standard Webhooks signature verifies under `secret`,
    /// checked here independently of payhub's signing code: HMAC-SHA256 over
    /// `{webhook-id}.{webhook-timestamp}.{raw body}`.
    pub fn signature_verifies(&self, secret: &str) -> bool {
        use base64::engine::general_purpose::STANDARD;
        use base64::Engine;
        use hmac::{Hmac, Mac};
        let header = |name: &str| {
            self.headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        let key = STANDARD
            .decode(secret.strip_prefix("whsec_").expect("a whsec_ secret"))
            .expect("Base64");
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&key).expect("any key length");
        mac.update(
            format!(
                "{}.{}.{}",
                header("webhook-id"),
                header("webhook-timestamp"),
                self.raw
            )
            .as_bytes(),
        );
        let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
        header("webhook-signature")
            .split(' ')
            .any(|candidate| candidate == expected)
    }
}

/// An HTTP listener on loopback that records what it receives and answers
/// with a status and body the test controls (204 unless told otherwise).
#[derive(Clone)]
pub struct Listener {
    pub url: String,
    received: Arc<Mutex<Vec<Received>>>,
    reply: Arc<Mutex<(StatusCode, String)>>,
}

impl Listener {
    pub async fn start() -> Listener {
        let received: Arc<Mutex<Vec<Received>>> = Arc::default();
        let reply = Arc::new(Mutex::new((StatusCode::NO_CONTENT, String::new())));
        let (r, f) = (received.clone(), reply.clone());
        let app = axum::Router::new().route(
            "/callback",
            axum::routing::post(
                move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                    let (r, f) = (r.clone(), f.clone());
                    async move {
                        let raw = String::from_utf8_lossy(&body).into_owned();
                        let json = serde_json::from_str(&raw).unwrap_or(Value::Null);
                        r.lock()
                            .expect("lock")
                            .push(Received { headers, raw, json });
                        let (status, body) = f.lock().expect("lock").clone();
                        (status, [("content-type", "application/json")], body)
                    }
                },
            ),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}/callback", listener.local_addr().expect("addr"));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Listener {
            url,
            received,
            reply,
        }
    }

    /// Answers 500 (failing) or 204 (not failing) from now on.
    pub fn set_failing(&self, failing: bool) {
        let status = if failing {
            StatusCode::INTERNAL_SERVER_ERROR
        } else {
            StatusCode::NO_CONTENT
        };
        self.set_reply(status, "");
    }

    /// Answers with this status and body from now on.
    pub fn set_reply(&self, status: StatusCode, body: &str) {
        *self.reply.lock().expect("lock") = (status, body.to_owned());
    }

    pub fn received_all(&self) -> Vec<Received> {
        self.received.lock().expect("lock").clone()
    }

    pub fn received(&self) -> Vec<Value> {
        self.received_all().into_iter().map(|r| r.json).collect()
    }

    pub fn received_headers(&self) -> Vec<axum::http::HeaderMap> {
        self.received_all().into_iter().map(|r| r.headers).collect()
    }

    /// Waits (bounded) until `predicate` holds for what was received.
    pub async fn wait_until(&self, what: &str, predicate: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        for _ in 0..200 {
            let got = self.received();
            if predicate(&got) {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "timed out waiting for {what}; received {:?}",
            self.received()
        );
    }
}

/// Declares a test that runs once on SQLite and once on PostgreSQL.
#[macro_export]
macro_rules! both_backends {
    ($(#[$meta:meta])* async fn $name:ident($app:ident: TestApp) $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            $(#[$meta])*
            async fn run($app: $crate::helpers::TestApp) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                run($crate::helpers::TestApp::spawn($crate::helpers::Backend::Sqlite).await).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                run($crate::helpers::TestApp::spawn($crate::helpers::Backend::Postgres).await).await;
            }
        }
    };
}
