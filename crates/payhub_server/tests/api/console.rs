//! The operator console (`/console`, docs/CONSOLE.md): login, sessions and
//! CSRF, merchant scope, search, refund, resend and charts, over HTTP as a
//! browser would use them (cookies and form posts, no redirects followed).

use chrono::Utc;
use payhub_server::console::operators::create_operator;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::StatusCode;
use secrecy::ExposeSecret;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{payment_of, Listener, TestApp};

/// A browser on the console: keeps its session cookie, follows nothing.
struct Console<'a> {
    app: &'a TestApp,
    client: reqwest::Client,
    session: Option<String>,
}

/// The value of the form field `name` in `html`.
fn field(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no field {name} in {html}"))
        + marker.len();
    html[start..]
        .split('"')
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// The `name=value` of the `Set-Cookie` for `name`, with its attributes.
fn set_cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(str::to_owned)
}

impl<'a> Console<'a> {
    fn new(app: &'a TestApp) -> Self {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Console {
            app,
            client,
            session: None,
        }
    }

    /// Logs in as an operator created with `merchant` scope; returns the console.
    async fn operator(app: &'a TestApp, name: &str, merchant: Option<&str>) -> Console<'a> {
        let created = create_operator(app.store.as_ref(), name, merchant, Utc::now())
            .await
            .unwrap();
        let mut console = Console::new(app);
        let response = console.log_in(name, created.password.expose_secret()).await;
        assert_eq!(
            response.status(),
            StatusCode::SEE_OTHER,
            "logging in as {name}"
        );
        console
    }

    /// Submits the login form (fetched first, with its double-submit cookie).
    async fn log_in(&mut self, name: &str, password: &str) -> reqwest::Response {
        let form = self
            .client
            .get(self.app.url("/console/login"))
            .send()
            .await
            .unwrap();
        let cookie = set_cookie(&form, "payhub_console_login").expect("login cookie");
        let cookie = cookie.split(';').next().unwrap().to_owned();
        let nonce = field(&form.text().await.unwrap(), "login_nonce");
        let response = self
            .client
            .post(self.app.url("/console/login"))
            .header(COOKIE, cookie)
            .form(&[
                ("name", name),
                ("password", password),
                ("login_nonce", &nonce),
            ])
            .send()
            .await
            .unwrap();
        if let Some(session) = set_cookie(&response, "payhub_console") {
            let pair = session.split(';').next().unwrap().to_owned();
            if pair != "payhub_console=" {
                self.session = Some(pair);
            }
        }
        response
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        let mut request = self.client.get(self.app.url(path));
        if let Some(session) = &self.session {
            request = request.header(COOKIE, session);
        }
        request.send().await.unwrap()
    }

    /// A page that must answer 200.
    async fn page(&self, path: &str) -> String {
        let response = self.get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        response.text().await.unwrap()
    }

    async fn post(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let mut request = self.client.post(self.app.url(path)).form(fields);
        if let Some(session) = &self.session {
            request = request.header(COOKIE, session);
        }
        request.send().await.unwrap()
    }

    /// This session's CSRF token, as every page's logout form carries it.
    async fn csrf(&self) -> String {
        field(&self.page("/console/payments").await, "csrf")
    }

    /// The payment ids a search lists, in order.
    async fn search(&self, query: &str) -> Vec<String> {
        let html = self.page(&format!("/console/payments?{query}")).await;
        html.split("class=\"payment\" href=\"/console/payments/")
            .skip(1)
            .filter_map(|s| s.split('"').next())
            .map(str::to_owned)
            .collect()
    }

    async fn refund(&self, payment: &str, amount: &str) -> reqwest::Response {
        let page = self.page(&format!("/console/payments/{payment}")).await;
        let (csrf, key) = (field(&page, "csrf"), field(&page, "key"));
        self.post(
            &format!("/console/payments/{payment}/refund"),
            &[("csrf", &csrf), ("key", &key), ("amount", amount)],
        )
        .await
    }
}

async fn refunds_of(app: &TestApp, payment: &str) -> Vec<Value> {
    let (status, _, items) = app.list("refund", &format!("payment.id={payment}")).await;
    assert_eq!(status, StatusCode::OK);
    items
}

both_backends! {
    async fn operators_log_in_with_their_password_only(app: TestApp) {
        let created = create_operator(app.store.as_ref(), "alice", None, Utc::now()).await.unwrap();
        let password = created.password.expose_secret().to_owned();
        assert_eq!(password.len(), 20);
        let stored = app.store.find_operator_by_name("alice").await.unwrap().unwrap();
        assert!(stored.password_hash.starts_with("$argon2id$"));
        assert!(!stored.password_hash.contains(&password), "only a hash is stored");

        let mut console = Console::new(&app);
        let response = console.get("/console/payments").await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "no session: off to the login page");
        assert_eq!(response.headers()[LOCATION], "/console/login");

        for (name, wrong) in [("alice", "not-the-password"), ("nobody", password.as_str())] {
            let response = console.log_in(name, wrong).await;
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{name}");
            assert!(console.session.is_none(), "{name}: no session cookie");
            assert!(response.text().await.unwrap().contains("Wrong name or password"));
        }

        let response = console.log_in("alice", &password).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let cookie = set_cookie(&response, "payhub_console").unwrap();
        for attribute in ["HttpOnly", "SameSite=Strict", "Path=/console"] {
            assert!(cookie.contains(attribute), "{cookie} lacks {attribute}");
        }
        assert!(!cookie.contains("Secure"), "the test's public base URL is http: {cookie}");
        let token = console.session.clone().unwrap();
        let token = token.trim_start_matches("payhub_console=");
        let hashed = payhub_server::console::session::hash_token(token);
        assert!(app.store.find_operator_session(&hashed, Utc::now()).await.unwrap().is_some(),
            "the database keeps the token's hash");
        assert!(app.store.find_operator_session(token, Utc::now()).await.unwrap().is_none(),
            "and not the token");

        let response = console.get("/console/payments").await;
        assert_eq!(response.status(), StatusCode::OK);
        let headers = response.headers();
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"), "{csp}");
        assert_eq!(headers["cache-control"], "no-store");
        assert_eq!(headers["referrer-policy"], "no-referrer");
        let html = response.text().await.unwrap();
        assert!(!html.contains("<script"), "no script in the console");
        let missing = console.get("/console/no/such/page").await;
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
        assert!(missing.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
        assert_eq!(missing.headers()["cache-control"], "no-store");

        let csrf = console.csrf().await;
        let response = console.post("/console/logout", &[("csrf", &csrf)]).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(console.get("/console/payments").await.status(), StatusCode::SEE_OTHER,
            "the session ended with the logout");
    }
}

both_backends! {
    async fn repeated_wrong_passwords_lock_the_account(app: TestApp) {
        let created = create_operator(app.store.as_ref(), "bob", None, Utc::now()).await.unwrap();
        let mut console = Console::new(&app);
        for attempt in 1..=5 {
            let response = console.log_in("bob", "guess").await;
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "attempt {attempt}");
        }
        let response = console.log_in("bob", created.password.expose_secret()).await;
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS, "locked, even with the password");
        assert!(console.session.is_none());
        let stored = app.store.find_operator_by_name("bob").await.unwrap().unwrap();
        assert!(stored.locked_until > Utc::now());
    }
}

both_backends! {
    async fn a_login_form_needs_its_own_cookie(app: TestApp) {
        let created = create_operator(app.store.as_ref(), "carol", None, Utc::now()).await.unwrap();
        let console = Console::new(&app);
        let response = console
            .post("/console/login", &[("name", "carol"), ("password", created.password.expose_secret()), ("login_nonce", "forged")])
            .await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert!(set_cookie(&response, "payhub_console").is_none());
    }
}

both_backends! {
    async fn posts_without_the_sessions_csrf_token_are_refused(app: TestApp) {
        let payment = app.create_payment(&payment_of("acct", "50", "USD")).await;
        let pid = payment["id"].as_str().unwrap();
        let console = Console::operator(&app, "dave", None).await;
        let other = Console::operator(&app, "erin", None).await;
        let page = console.page(&format!("/console/payments/{pid}")).await;
        let key = field(&page, "key");
        let path = format!("/console/payments/{pid}/refund");
        let others_token = other.csrf().await;
        for (why, csrf) in [("missing", None), ("wrong", Some("0000")), ("another session's", Some(others_token.as_str()))] {
            let mut fields = vec![("key", key.as_str()), ("amount", "10")];
            if let Some(csrf) = csrf {
                fields.push(("csrf", csrf));
            }
            let response = console.post(&path, &fields).await;
            assert_eq!(response.status(), StatusCode::FORBIDDEN, "{why} token");
        }
        let csrf = console.csrf().await;
        let response = console.post("/console/deliveries/1/resend", &[("csrf", "0000")]).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "resend checks it too");
        let response = console.post("/console/logout", &[]).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "and logout");
        assert!(refunds_of(&app, pid).await.is_empty(), "nothing was refunded");

        let response = console.post(&path, &[("csrf", &csrf), ("key", &key), ("amount", "10")]).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "the right token passes");
        assert_eq!(refunds_of(&app, pid).await.len(), 1);
    }
}

both_backends! {
    async fn a_merchant_scoped_operator_sees_only_its_merchant(app: TestApp) {
        let other = app.other_merchant().await;
        let own = app.create_payment(&payment_of("shared-account", "10", "USD")).await;
        let response = app.post_as(&other, "/payment", &payment_of("shared-account", "20", "USD")).await;
        let foreign: Value = response.json().await.unwrap();
        let (own, foreign) = (own["id"].as_str().unwrap(), foreign["id"].as_str().unwrap());

        let scoped = Console::operator(&app, "shop-staff", Some(&app.merchant.merchant_id)).await;
        assert_eq!(scoped.search("account=shared-account").await, [own]);
        assert_eq!(scoped.search(&format!("id={foreign}")).await, Vec::<String>::new());
        assert_eq!(scoped.search(&format!("merchant={}", other.merchant_id)).await, Vec::<String>::new());
        assert_eq!(scoped.get(&format!("/console/payments/{foreign}")).await.status(), StatusCode::NOT_FOUND);
        let csrf = scoped.csrf().await;
        let response = scoped
            .post(&format!("/console/payments/{foreign}/refund"), &[("csrf", &csrf), ("key", "k1"), ("amount", "1")])
            .await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert!(refunds_of_as(&app, &other, foreign).await.is_empty());
        let charts = scoped.page("/console/charts").await;
        assert!(charts.contains("<h3>LEDGER</h3>") && !charts.contains(&other.merchant_id),
            "the charts count only the operator's merchant: {charts}");
        assert_eq!(charts.matches("<td>1</td><td>1</td><td>100 %</td>").count(), 2, "{charts}");

        let everyone = Console::operator(&app, "head-office", None).await;
        let mut both = everyone.search("account=shared-account").await;
        both.sort();
        let mut expected = vec![own.to_owned(), foreign.to_owned()];
        expected.sort();
        assert_eq!(both, expected);
    }
}

async fn refunds_of_as(
    app: &TestApp,
    who: &crate::helpers::Credentials,
    payment: &str,
) -> Vec<Value> {
    let response = app
        .get_as(who, &format!("/refund?payment.id={payment}"))
        .await;
    response.json::<Vec<Value>>().await.unwrap()
}

both_backends! {
    async fn search_filters_by_each_field_and_pages(app: TestApp) {
        let mut a = payment_of("acct-a", "10", "USD");
        a["correlatorId"] = json!("order-1");
        let a = app.create_payment(&a).await;
        let mut b = payment_of("acct-b", "10", "USD");
        b["status"] = json!("pendingAuthorization");
        let b = app.create_payment(&b).await;
        let (a, b) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());
        let console = Console::operator(&app, "finder", None).await;

        assert_eq!(console.search(&format!("id={a}")).await, [a]);
        assert_eq!(console.search("account=acct-b").await, [b]);
        assert_eq!(console.search("reference=order-1").await, [a]);
        assert_eq!(console.search("state=pendingAuthorization").await, [b]);
        assert_eq!(console.search(&format!("merchant={}", app.merchant.merchant_id)).await, [b, a]);
        let today = Utc::now().date_naive();
        let tomorrow = today.succ_opt().unwrap();
        assert_eq!(console.search(&format!("from={today}&to={today}")).await, [b, a]);
        assert_eq!(console.search(&format!("from={tomorrow}")).await, Vec::<String>::new());
        assert_eq!(console.search("account=acct-a&state=pendingAuthorization").await, Vec::<String>::new());
        let html = console.page("/console/payments?id=not-an-id").await;
        assert!(html.contains("is not a payment id"), "a bad filter is named");

        for n in 0..25 {
            app.create_payment(&payment_of(&format!("bulk-{n}"), "1", "EUR")).await;
        }
        let first = console.search("").await;
        let second = console.search("page=2").await;
        assert_eq!((first.len(), second.len()), (25, 2));
        assert_eq!(second, [b, a], "oldest last");
    }
}

both_backends! {
    async fn a_console_refund_follows_the_tmf_refund_rules(app: TestApp) {
        let payment = app.create_payment(&payment_of("acct", "50", "USD")).await;
        let pid = payment["id"].as_str().unwrap();
        let console = Console::operator(&app, "refunder", None).await;

        let response = console.refund(pid, "20.00").await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(response.headers()[LOCATION], format!("/console/payments/{pid}?done=refund"));
        let refunds = refunds_of(&app, pid).await;
        assert_eq!(refunds.len(), 1);
        assert_eq!(refunds[0]["totalAmount"]["unit"], "USD");
        assert_eq!(refunds[0]["totalAmount"]["value"].to_string(), "20.00");
        assert_eq!(refunds[0]["status"], "done");

        let response = console.refund(pid, "30.01").await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "more than is left");
        assert!(response.text().await.unwrap().contains("Refund refused"));
        let response = console.refund(pid, "ten").await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(refunds_of(&app, pid).await.len(), 1, "refused refunds record nothing");

        // The same form submitted twice refunds once (its idempotency key).
        let page = console.page(&format!("/console/payments/{pid}")).await;
        let (csrf, key) = (field(&page, "csrf"), field(&page, "key"));
        let path = format!("/console/payments/{pid}/refund");
        for _ in 0..2 {
            let response = console.post(&path, &[("csrf", &csrf), ("key", &key), ("amount", "5")]).await;
            assert_eq!(response.status(), StatusCode::SEE_OTHER);
        }
        assert_eq!(refunds_of(&app, pid).await.len(), 2);

        let page = console.page(&format!("/console/payments/{pid}?done=refund")).await;
        assert!(page.contains("Refund recorded."), "{page}");
        assert_eq!(page.matches("created</span>").count(), 3, "the payment and two refunds: {page}");
    }
}

both_backends! {
    async fn the_timeline_shows_deliveries_and_a_resend_delivers_again(app: TestApp) {
        let listener = Listener::start().await;
        listener.set_reply(StatusCode::OK, "{\"ack\":\"excerpt-7f3a\"}");
        let response = app.post("/hub", &json!({"callback": listener.url, "query": "eventType=PaymentCreateEvent"})).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let payment = app.create_payment(&payment_of("acct", "5", "USD")).await;
        let pid = payment["id"].as_str().unwrap();
        listener.wait_until("the create event", |got| got.len() == 1).await;

        let console = Console::operator(&app, "support", None).await;
        let mut page = String::new();
        for _ in 0..100 {
            page = console.page(&format!("/console/payments/{pid}")).await;
            if page.contains("excerpt-7f3a") {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert!(page.contains("attempt 1: HTTP 200"), "{page}");
        assert!(page.contains("excerpt-7f3a"), "the receiver's answer is shown: {page}");
        let delivery = page
            .split("data-delivery=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .unwrap()
            .to_owned();

        let csrf = field(&page, "csrf");
        let response = console
            .post(&format!("/console/deliveries/{delivery}/resend"), &[("csrf", &csrf), ("payment", pid)])
            .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(response.headers()[LOCATION], format!("/console/payments/{pid}?done=resend"));
        let got = listener.wait_until("the resent event", |got| got.len() == 2).await;
        assert_eq!(got[0]["eventId"], got[1]["eventId"], "the same event again");

        let scoped_elsewhere = {
            let other = app.other_merchant().await;
            Console::operator(&app, "elsewhere", Some(&other.merchant_id)).await
        };
        let csrf = scoped_elsewhere.csrf().await;
        let response = scoped_elsewhere
            .post(&format!("/console/deliveries/{delivery}/resend"), &[("csrf", &csrf), ("payment", pid)])
            .await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "another merchant's delivery");
    }
}

both_backends! {
    async fn charts_count_payments_and_successes_per_gateway_type_and_merchant(app: TestApp) {
        app.create_payment(&payment_of("acct", "5", "USD")).await;
        let mut failed = payment_of("acct", "5", "USD");
        failed["status"] = json!("failed");
        app.create_payment(&failed).await;
        let console = Console::operator(&app, "analyst", None).await;
        let html = console.page("/console/charts?days=7").await;
        assert!(html.contains("<svg"), "{html}");
        assert!(html.contains("<h3>LEDGER</h3>"), "{html}");
        assert!(html.contains(&format!("test merchant ({})", app.merchant.merchant_id)), "{html}");
        assert_eq!(html.matches("<td>2</td><td>1</td><td>50 %</td>").count(), 2,
            "today: 2 payments, 1 success, per gateway type and per merchant: {html}");
    }
}

/// `payhub operator create | list`, run as a user would run them.
#[test]
fn operator_create_prints_the_password_once_and_list_never_does() {
    let payhub = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_payhub"))
            .args(args)
            .output()
            .expect("payhub runs")
    };
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().to_str().unwrap();
    let merchant = payhub(&[
        "merchant",
        "create",
        "Shop",
        "--json",
        "--data-dir",
        data_dir,
    ]);
    let merchant: Value = serde_json::from_slice(&merchant.stdout).unwrap();
    let merchant = merchant["merchantId"].as_str().unwrap();

    let output = payhub(&[
        "operator",
        "create",
        "staff",
        "--merchant",
        merchant,
        "--json",
        "--data-dir",
        data_dir,
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let created: Value = serde_json::from_slice(&output.stdout).unwrap();
    let password = created["password"].as_str().unwrap();
    assert_eq!(created["merchant"], merchant);
    assert_eq!(password.len(), 20);

    let again = payhub(&["operator", "create", "staff", "--data-dir", data_dir]);
    assert!(!again.status.success(), "names are unique");
    let unknown = payhub(&[
        "operator",
        "create",
        "x",
        "--merchant",
        "mer_0000000000000000",
        "--data-dir",
        data_dir,
    ]);
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no merchant"));

    let listed = payhub(&["operator", "list", "--json", "--data-dir", data_dir]);
    let text = String::from_utf8_lossy(&listed.stdout).into_owned();
    let listed: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(listed.as_array().map(Vec::len), Some(1));
    assert_eq!(listed[0]["name"], "staff");
    assert!(
        !text.contains(password),
        "the password is never shown again"
    );
    let database = std::fs::read(dir.path().join("payhub.sqlite3")).unwrap();
    assert!(
        !database
            .windows(password.len())
            .any(|w| w == password.as_bytes()),
        "stored hashed only"
    );
}

/// Creates a retail sale (seed 003) at `gateway`; returns its TMF676 payment id.
async fn retail_sale(app: &TestApp, gateway: &str, rrn: &str) -> String {
    let timestamp = Utc::now().timestamp_millis();
    let body = json!({
        "type": gateway, "rrn": rrn, "storeCode": "WP001", "tillId": "01",
        "salesman": "WP9999", "cashier": "WP9999", "txDateTime": "2021-06-11T16:18:30+0800",
        "amt": 1000, "ccy": "HKD", "lang": "en",
        "apiKey": app.merchant.retail_api_key, "timestamp": timestamp,
        "sign": payhub_server::api_retail::signature::sha1_sign(&app.merchant.retail_secret, &timestamp.to_string()),
    });
    let answer: Value = app
        .client
        .post(app.url("/tt-pms-ws/rest/online/sales"))
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["errorCode"], "0", "{answer}");
    let (_, _, items) = app.list("payment", &format!("correlatorId={rrn}")).await;
    items[0]["id"].as_str().unwrap().to_owned()
}

both_backends! {
    async fn a_gateway_payment_is_found_by_its_rrn_and_refunded_through_its_gateway(app: TestApp) {
        let pid = retail_sale(&app, "WXPAY", "rrn-console-1").await;
        let console = Console::operator(&app, "retail-ops", None).await;
        assert_eq!(console.search("reference=rrn-console-1").await, [pid.as_str()]);
        let page = console.page(&format!("/console/payments/{pid}")).await;
        assert!(page.contains("Routed to gateway WXPAY"), "{page}");

        let settled = app
            .client
            .post(app.url(&format!("/sandbox/v1/payments/{pid}/outcome")))
            .bearer_auth(&app.merchant.api_key)
            .json(&json!({"outcome": "success"}))
            .send()
            .await
            .unwrap();
        assert!(settled.status().is_success());
        for _ in 0..100 {
            let (_, _, items) = app.list("payment", &format!("id={pid}")).await;
            if items[0]["status"] != "pendingAuthorization" {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }

        let response = console.refund(&pid, "4").await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let mut page = String::new();
        for _ in 0..100 {
            page = console.page(&format!("/console/payments/{pid}")).await;
            if page.contains("sent to gateway WXPAY") && refund_done(&page) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert!(page.contains("sent to gateway WXPAY"), "the refund went back through the gateway: {page}");
        assert!(refund_done(&page), "the gateway's answer settled the refund: {page}");

        let charts = console.page("/console/charts").await;
        assert!(charts.contains("<h3>WXPAY</h3>"), "{charts}");
    }
}

/// Whether a payment page's timeline has a refund's change to `done`.
fn refund_done(page: &str) -> bool {
    page.split("<span class=\"what\">")
        .any(|line| line.starts_with("Refund ") && line.contains("state changed to done</span>"))
}

both_backends! {
    async fn expired_sessions_let_nobody_in(app: TestApp) {
        use payhub_store::OperatorSession;
        let created = create_operator(app.store.as_ref(), "late", None, Utc::now()).await.unwrap();
        let now = Utc::now();
        for (token, expires_at) in [("expired", now - chrono::Duration::seconds(1)), ("valid", now + chrono::Duration::hours(1))] {
            let session = OperatorSession {
                token_hash: payhub_server::console::session::hash_token(token),
                operator_id: created.operator.id.clone(),
                csrf_token: "csrf".into(),
                expires_at,
                created_at: now,
            };
            app.store.insert_operator_session(&session).await.unwrap();
        }
        let mut console = Console::new(&app);
        console.session = Some("payhub_console=expired".into());
        assert_eq!(console.get("/console/payments").await.status(), StatusCode::SEE_OTHER);
        console.session = Some("payhub_console=valid".into());
        assert_eq!(console.get("/console/payments").await.status(), StatusCode::OK);
    }
}
