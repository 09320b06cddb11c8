//! A fake of Stripe's API (PaymentIntents, Refunds, webhooks), written from
//! Stripe's public API reference (version 2024-06-20): docs.stripe.com/api
//! ("Authentication", "Versioning", "Errors", "Idempotent requests",
//! "PaymentIntents", "Refunds", "Search"), docs.stripe.com/testing (test
//! card numbers and PaymentMethods) and docs.stripe.com/webhooks (event
//! shape and `Stripe-Signature`).
//!
//! It listens on 127.0.0.1 only and keeps everything in memory. It checks
//! what the real API checks for payhub's calls: the bearer secret key, the
//! `Stripe-Version`, the form encoding, known and required parameters,
//! lower-case currencies and Stripe's amount rules, and idempotency (the
//! same key with other parameters is an `idempotency_error`; with the same
//! parameters it answers the first answer again). Stripe's test cards decide
//! a confirm's outcome; a 3-D Secure card redirects to the fake's own page,
//! completed or failed by [`FakeStripe::complete_3ds`]. It can be told to
//! answer 500, or to act and then answer too late ([`Failure`]), and it
//! signs and POSTs webhook events to a URL the test gives, once or twice.
//!
//! Full card numbers and CVCs reach it in confirms, as with Stripe; it
//! keeps only the last four digits, and its request log masks them.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

/// The secret key the fake accepts.
pub const SECRET_KEY: &str = "sk_test_payhub_fake_0001";
/// The webhook signing secret the fake signs events with.
pub const WEBHOOK_SECRET: &str = "whsec_payhub_fake_0001";
/// The API versions the fake knows.
pub const API_VERSIONS: &[&str] = &["2024-06-20"];

/// Stripe's test cards (docs.stripe.com/testing).
pub const CARD_SUCCEEDS: &str = "4242424242424242";
pub const CARD_DECLINED: &str = "4000000000000002";
pub const CARD_INSUFFICIENT_FUNDS: &str = "4000000000009995";
pub const CARD_3DS_REQUIRED: &str = "4000002760003184";

/// What the next API call meets.
#[derive(Clone, Copy, Debug)]
pub enum Failure {
    /// A 500 `api_error`, before anything is done.
    ServerError,
    /// The call is carried out, then answered only after this long (past
    /// the client's time limit): its answer is lost.
    Slow(Duration),
}

/// A request as the fake logged it (card number and CVC masked).
#[derive(Clone, Debug)]
pub struct Logged {
    pub method: String,
    pub path: String,
    pub stripe_version: Option<String>,
    pub idempotency_key: Option<String>,
    pub params: Vec<(String, String)>,
}

impl Logged {
    pub fn param(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

struct Saved {
    method: Method,
    path: String,
    params: Vec<(String, String)>,
    status: StatusCode,
    body: Value,
}

#[derive(Default)]
struct Books {
    intents: BTreeMap<String, Value>,
    customers: BTreeMap<String, Value>,
    /// PaymentMethods made from the cards of confirms, with the Customer
    /// they are attached to (`customer`, null when none) and the test card
    /// they came from (`card.last4`; the number itself is not kept).
    methods: BTreeMap<String, Value>,
    refunds: BTreeMap<String, Value>,
    saved: HashMap<String, Saved>,
    failures: VecDeque<Failure>,
    log: Vec<Logged>,
    webhook_url: Option<String>,
    next_id: u64,
}

impl Books {
    fn id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!("{prefix}_fake{:08}", self.next_id)
    }
}

struct Shared {
    base_url: String,
    books: Mutex<Books>,
}

impl Shared {
    fn books(&self) -> std::sync::MutexGuard<'_, Books> {
        self.books.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The fake, serving until dropped.
pub struct FakeStripe {
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for FakeStripe {
    fn drop(&mut self) {
        self.server.abort();
    }
}

type Answer = (StatusCode, Value);

fn error(status: StatusCode, kind: &str, code: Option<&str>, message: &str) -> Answer {
    let mut error = json!({"type": kind, "message": message});
    if let Some(code) = code {
        error["code"] = json!(code);
    }
    (status, json!({ "error": error }))
}

fn invalid(code: &str, message: &str) -> Answer {
    error(
        StatusCode::BAD_REQUEST,
        "invalid_request_error",
        Some(code),
        message,
    )
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Stripe's amount rules for the currencies the fake knows.
fn check_amount(amount: i64, currency: &str) -> Result<(), Answer> {
    const ZERO: &[&str] = &[
        "bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv",
        "xaf", "xof", "xpf",
    ];
    const THREE: &[&str] = &["bhd", "jod", "kwd", "omr", "tnd"];
    const TWO: &[&str] = &[
        "usd", "hkd", "cny", "eur", "gbp", "sgd", "aud", "cad", "chf", "huf", "twd", "isk", "mop",
    ];
    if !(ZERO.contains(&currency) || THREE.contains(&currency) || TWO.contains(&currency)) {
        return Err(invalid(
            "parameter_invalid",
            &format!(
                "Invalid currency: {currency}. Stripe currently supports these currencies: ..."
            ),
        ));
    }
    if amount < 1 {
        return Err(invalid(
            "parameter_invalid_integer",
            "This value must be greater than or equal to 1.",
        ));
    }
    if THREE.contains(&currency) && amount % 10 != 0 {
        return Err(invalid(
            "invalid_amount",
            "Three-decimal currencies require the last digit of the amount to be 0.",
        ));
    }
    if currency == "isk" && amount % 100 != 0 {
        return Err(invalid(
            "invalid_charge_amount_no_decimal_compatible",
            "Invalid amount. Currency ISK has become effectively zero-decimal and charged amounts must be evenly divisible by 100.",
        ));
    }
    Ok(())
}

struct Params(Vec<(String, String)>);

impl Params {
    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn required(&self, key: &str) -> Result<&str, Answer> {
        self.get(key).filter(|v| !v.is_empty()).ok_or_else(|| {
            invalid(
                "parameter_missing",
                &format!("Missing required param: {key}."),
            )
        })
    }

    /// Refuses any parameter not in `allowed` (a trailing `[` allows a prefix).
    fn only(&self, allowed: &[&str]) -> Result<(), Answer> {
        for (key, _) in &self.0 {
            let known = allowed.iter().any(|a| {
                if a.ends_with('[') {
                    key.starts_with(a)
                } else {
                    key == a
                }
            });
            if !known {
                return Err(invalid(
                    "parameter_unknown",
                    &format!("Received unknown parameter: {key}"),
                ));
            }
        }
        Ok(())
    }

    fn metadata(&self) -> Value {
        let mut metadata = serde_json::Map::new();
        for (key, value) in &self.0 {
            if let Some(name) = key
                .strip_prefix("metadata[")
                .and_then(|k| k.strip_suffix(']'))
            {
                metadata.insert(name.to_owned(), json!(value));
            }
        }
        Value::Object(metadata)
    }
}

fn bool_param(value: Option<&str>) -> bool {
    value == Some("true")
}

impl FakeStripe {
    /// Starts the fake on 127.0.0.1 at a free port.
    pub async fn start() -> FakeStripe {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let shared = Arc::new(Shared {
            base_url,
            books: Mutex::new(Books::default()),
        });
        let app = Router::new().fallback(handle).with_state(shared.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeStripe { shared, server }
    }

    /// The API's base URL (`http://127.0.0.1:PORT`).
    pub fn base_url(&self) -> String {
        self.shared.base_url.clone()
    }

    /// What the next call meets (calls after it are served as usual).
    pub fn fail_next(&self, failure: Failure) {
        self.shared.books().failures.push_back(failure);
    }

    /// Forgets the failures still queued: the fake answers normally again.
    pub fn recover(&self) {
        self.shared.books().failures.clear();
    }

    /// Where webhook events go.
    pub fn set_webhook_url(&self, url: &str) {
        self.shared.books().webhook_url = Some(url.to_owned());
    }

    /// A PaymentIntent as the fake keeps it.
    pub fn intent(&self, id: &str) -> Option<Value> {
        self.shared.books().intents.get(id).cloned()
    }

    /// Every PaymentIntent, oldest first.
    pub fn intents(&self) -> Vec<Value> {
        self.shared.books().intents.values().cloned().collect()
    }

    /// A Customer as the fake keeps it.
    pub fn customer(&self, id: &str) -> Option<Value> {
        self.shared.books().customers.get(id).cloned()
    }

    /// Every Customer, oldest first.
    pub fn customers(&self) -> Vec<Value> {
        self.shared.books().customers.values().cloned().collect()
    }

    /// Makes a Customer with this id, as one made at Stripe outside payhub.
    pub fn add_customer(&self, id: &str) {
        self.shared
            .books()
            .customers
            .insert(id.to_owned(), customer_json(id, &Params(Vec::new())));
    }

    /// A PaymentMethod as the fake keeps it (made from a confirm's card).
    pub fn payment_method(&self, id: &str) -> Option<Value> {
        self.shared.books().methods.get(id).cloned()
    }

    /// A Refund as the fake keeps it.
    pub fn refund(&self, id: &str) -> Option<Value> {
        self.shared.books().refunds.get(id).cloned()
    }

    /// Every request so far.
    pub fn log(&self) -> Vec<Logged> {
        self.shared.books().log.clone()
    }

    /// The customer pays the PaymentIntent some other way (e.g. on a
    /// device the test does not drive).
    pub fn pay(&self, id: &str) {
        let mut books = self.shared.books();
        if let Some(intent) = books.intents.get_mut(id) {
            intent["status"] = json!("succeeded");
            intent["amount_received"] = intent["amount"].clone();
            intent["last_payment_error"] = Value::Null;
            intent["next_action"] = Value::Null;
        }
        attach_saved(&mut books, id);
    }

    /// The issuer declines the PaymentIntent's card some other way (as a
    /// `payment_intent.payment_failed` would tell).
    pub fn decline(&self, id: &str) {
        let mut books = self.shared.books();
        if let Some(intent) = books.intents.get_mut(id) {
            intent["status"] = json!("requires_payment_method");
            intent["next_action"] = Value::Null;
            intent["last_payment_error"] = json!({
                "type": "card_error",
                "code": "card_declined",
                "decline_code": "generic_decline",
                "message": "Your card was declined.",
            });
        }
    }

    /// The customer finishes (`passed`) or fails the issuer's 3-D Secure
    /// page; answers where the page then sends the browser (the confirm's
    /// `return_url` with `payment_intent` and `payment_intent_client_secret`
    /// added, as Stripe does), when the step was open and had one.
    pub fn complete_3ds(&self, id: &str, passed: bool) -> Option<String> {
        self.shared.complete_3ds(id, passed)
    }
}

impl Shared {
    fn complete_3ds(&self, id: &str, passed: bool) -> Option<String> {
        let mut books = self.books();
        let intent = books.intents.get_mut(id)?;
        if intent["status"] != "requires_action" {
            return None;
        }
        let back = intent["next_action"]["redirect_to_url"]["return_url"]
            .as_str()
            .and_then(|url| url::Url::parse(url).ok())
            .map(|mut url| {
                url.query_pairs_mut()
                    .append_pair("payment_intent", id)
                    .append_pair(
                        "payment_intent_client_secret",
                        intent["client_secret"].as_str().unwrap_or_default(),
                    );
                url.to_string()
            });
        intent["next_action"] = Value::Null;
        if passed {
            intent["status"] = json!("succeeded");
            intent["amount_received"] = intent["amount"].clone();
            attach_saved(&mut books, id);
        } else {
            intent["status"] = json!("requires_payment_method");
            intent["last_payment_error"] = json!({
                "type": "invalid_request_error",
                "code": "payment_intent_authentication_failure",
                "message": "The provided PaymentMethod has failed authentication. You can provide payment_method_data or a new PaymentMethod to attempt to fulfill this PaymentIntent again.",
            });
        }
        back
    }
}

impl FakeStripe {
    /// The webhook event for `intent_id` of type `kind`, and its
    /// `Stripe-Signature` signed now with [`WEBHOOK_SECRET`].
    pub fn signed_event(&self, intent_id: &str, kind: &str) -> (String, Vec<u8>) {
        let body = {
            let mut books = self.shared.books();
            let event_id = books.id("evt");
            let object = books.intents.get(intent_id).cloned().unwrap_or(Value::Null);
            json!({
                "id": event_id,
                "object": "event",
                "api_version": API_VERSIONS[0],
                "created": now(),
                "livemode": false,
                "pending_webhooks": 1,
                "type": kind,
                "data": {"object": object},
            })
        };
        let body = serde_json::to_vec(&body).unwrap();
        (sign_header(WEBHOOK_SECRET, now(), &body), body)
    }

    /// The event type the PaymentIntent's state gives.
    pub fn event_type(&self, intent_id: &str) -> &'static str {
        let intent = self.intent(intent_id).unwrap_or(Value::Null);
        match intent["status"].as_str() {
            Some("succeeded") => "payment_intent.succeeded",
            Some("canceled") => "payment_intent.canceled",
            Some("requires_payment_method") if !intent["last_payment_error"].is_null() => {
                "payment_intent.payment_failed"
            }
            Some("requires_action") => "payment_intent.requires_action",
            _ => "payment_intent.created",
        }
    }

    /// Sends the event for the PaymentIntent's state to the webhook URL,
    /// `times` times (the same event each time, as Stripe's retries are);
    /// returns the receiver's status codes.
    pub async fn notify(&self, intent_id: &str, times: usize) -> Vec<u16> {
        let kind = self.event_type(intent_id);
        self.send_event(intent_id, kind, times).await
    }

    /// Sends an event of type `kind` about the PaymentIntent, `times` times.
    pub async fn send_event(&self, intent_id: &str, kind: &str, times: usize) -> Vec<u16> {
        let url = self
            .shared
            .books()
            .webhook_url
            .clone()
            .expect("no webhook URL set");
        let (header, body) = self.signed_event(intent_id, kind);
        let client = reqwest::Client::new();
        let mut statuses = Vec::new();
        for _ in 0..times {
            let answer = client
                .post(&url)
                .header("Content-Type", "application/json; charset=utf-8")
                .header("Stripe-Signature", &header)
                .body(body.clone())
                .send()
                .await;
            statuses.push(answer.map(|a| a.status().as_u16()).unwrap_or(0));
        }
        statuses
    }
}

/// `t=…,v1=…` over `"{t}.{body}"` with HMAC-SHA256.
pub fn sign_header(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{timestamp}.").as_bytes());
    mac.update(body);
    format!(
        "t={timestamp},v1={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

/// The issuer's 3-D Secure page, as the customer's browser sees it:
/// `GET /3ds/{pi}` shows two buttons; `POST /3ds/{pi}/complete` (or
/// `/fail`) finishes the step and sends the browser (303) to the confirm's
/// `return_url`, as Stripe's hosted page does.
fn issuer_page(shared: &Shared, method: &Method, rest: &str) -> Response {
    let (id, step) = rest.split_once('/').unwrap_or((rest, ""));
    let id: String = id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    match (method.as_str(), step) {
        ("GET", "") => {
            let page = format!(
                "<html><body><h1>3-D Secure test page</h1><p>{id}</p>\
                 <form method=\"post\" action=\"/3ds/{id}/complete\"><button>Complete</button></form>\
                 <form method=\"post\" action=\"/3ds/{id}/fail\"><button>Fail</button></form>\
                 </body></html>"
            );
            (StatusCode::OK, [("content-type", "text/html")], page).into_response()
        }
        ("POST", "complete" | "fail") => match shared.complete_3ds(&id, step == "complete") {
            Some(back) => (StatusCode::SEE_OTHER, [("location", back)]).into_response(),
            None => (StatusCode::OK, "nothing to authenticate").into_response(),
        },
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    if let Some(rest) = path.strip_prefix("/3ds/") {
        return issuer_page(&shared, &method, rest);
    }
    let failure = shared.books().failures.pop_front();
    if let Some(Failure::ServerError) = failure {
        let (status, body) = error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "api_error",
            None,
            "An unknown error occurred",
        );
        return (status, axum::Json(body)).into_response();
    }
    let (status, body) = serve(&shared, &method, &uri, &headers, &body);
    if let Some(Failure::Slow(delay)) = failure {
        tokio::time::sleep(delay).await;
    }
    let mut response = (status, axum::Json(body)).into_response();
    response
        .headers_mut()
        .insert("request-id", "req_fake".parse().unwrap());
    response
}

fn serve(shared: &Shared, method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Answer {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let path = uri.path().to_owned();
    let raw = if method == Method::GET {
        uri.query().unwrap_or_default().as_bytes().to_vec()
    } else {
        body.to_vec()
    };
    let params: Vec<(String, String)> = url::form_urlencoded::parse(&raw)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let idempotency_key = header("idempotency-key");
    {
        let masked = params
            .iter()
            .map(|(k, v)| {
                let secret = k == "payment_method_data[card][number]"
                    || k == "payment_method_data[card][cvc]";
                (k.clone(), if secret { "***".into() } else { v.clone() })
            })
            .collect();
        shared.books().log.push(Logged {
            method: method.to_string(),
            path: path.clone(),
            stripe_version: header("stripe-version"),
            idempotency_key: idempotency_key.clone(),
            params: masked,
        });
    }
    match header("authorization") {
        None => {
            return error(
                StatusCode::UNAUTHORIZED,
                "invalid_request_error",
                None,
                "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth.",
            )
        }
        Some(auth) if auth != format!("Bearer {SECRET_KEY}") => {
            return error(
                StatusCode::UNAUTHORIZED,
                "invalid_request_error",
                None,
                "Invalid API Key provided: sk_****",
            )
        }
        Some(_) => {}
    }
    match header("stripe-version") {
        Some(version) if API_VERSIONS.contains(&version.as_str()) => {}
        Some(version) => {
            return invalid(
                "invalid_api_version",
                &format!("Invalid Stripe API version: {version}"),
            )
        }
        // Without the header Stripe uses the account's default version; the
        // fake insists, since payhub pins one.
        None => {
            return invalid(
                "invalid_api_version",
                "The fake requires a Stripe-Version header.",
            )
        }
    }
    if method == Method::POST
        && header("content-type").as_deref() != Some("application/x-www-form-urlencoded")
    {
        return invalid(
            "parameter_invalid",
            "Stripe's API takes application/x-www-form-urlencoded bodies.",
        );
    }
    let mut books = shared.books();
    if let (Some(key), true) = (&idempotency_key, method == Method::POST) {
        if let Some(saved) = books.saved.get(key) {
            if saved.method == method && saved.path == path && saved.params == params {
                return (saved.status, saved.body.clone());
            }
            return error(
                StatusCode::BAD_REQUEST,
                "idempotency_error",
                None,
                &format!("Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '{key}' if you meant to execute a different request."),
            );
        }
    }
    let params = Params(params);
    let answer = route(&mut books, &shared.base_url, method, &path, &params);
    if let (Some(key), true) = (idempotency_key, method == Method::POST) {
        // Stripe saves an answer once the endpoint began executing: not a
        // request refused by validation.
        let validation = answer.0 == StatusCode::BAD_REQUEST
            && answer.1["error"]["type"] == "invalid_request_error";
        if !validation {
            books.saved.insert(
                key,
                Saved {
                    method: method.clone(),
                    path,
                    params: params.0,
                    status: answer.0,
                    body: answer.1.clone(),
                },
            );
        }
    }
    answer
}

fn route(books: &mut Books, base: &str, method: &Method, path: &str, params: &Params) -> Answer {
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let answer = match (method.as_str(), parts.as_slice()) {
        ("POST", ["v1", "payment_intents"]) => create_intent(books, params),
        ("POST", ["v1", "customers"]) => create_customer(books, params),
        ("GET", ["v1", "customers", id]) => books
            .customers
            .get(*id)
            .cloned()
            .map(|c| (StatusCode::OK, c))
            .ok_or_else(|| no_such("customer", id)),
        ("GET", ["v1", "payment_intents", "search"]) => search_intents(books, params),
        ("GET", ["v1", "payment_intents", id]) => books
            .intents
            .get(*id)
            .cloned()
            .map(|i| (StatusCode::OK, i))
            .ok_or_else(|| no_such("payment_intent", id)),
        ("POST", ["v1", "payment_intents", id, "confirm"]) => {
            confirm_intent(books, base, id, params)
        }
        ("POST", ["v1", "payment_intents", id, "cancel"]) => cancel_intent(books, id, params),
        ("POST", ["v1", "refunds"]) => create_refund(books, params),
        ("GET", ["v1", "refunds"]) => list_refunds(books, params),
        ("GET", ["v1", "refunds", id]) => books
            .refunds
            .get(*id)
            .cloned()
            .map(|r| (StatusCode::OK, r))
            .ok_or_else(|| no_such("refund", id)),
        _ => Err(error(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            None,
            &format!("Unrecognized request URL ({method}: {path})."),
        )),
    };
    answer.unwrap_or_else(|e| e)
}

fn no_such(object: &str, id: &str) -> Answer {
    error(
        StatusCode::NOT_FOUND,
        "invalid_request_error",
        Some("resource_missing"),
        &format!("No such {object}: '{id}'"),
    )
}

fn create_intent(books: &mut Books, params: &Params) -> Result<Answer, Answer> {
    params.only(&[
        "amount",
        "currency",
        "payment_method_types[]",
        "metadata[",
        "description",
        "payment_method",
        "customer",
        "confirm",
        "off_session",
        "return_url",
        "setup_future_usage",
    ])?;
    let amount: i64 = params
        .required("amount")?
        .parse()
        .map_err(|_| invalid("parameter_invalid_integer", "Invalid integer: amount"))?;
    let currency = params.required("currency")?;
    if currency != currency.to_ascii_lowercase() {
        return Err(invalid(
            "parameter_invalid",
            "Currency codes must be lower case.",
        ));
    }
    check_amount(amount, currency)?;
    if let Some(types) = params.get("payment_method_types[]") {
        if types != "card" {
            return Err(invalid(
                "parameter_invalid",
                "The fake takes card payments only.",
            ));
        }
    }
    let setup_future_usage = params.get("setup_future_usage");
    if let Some(usage) = setup_future_usage {
        if usage != "off_session" && usage != "on_session" {
            return Err(invalid(
                "parameter_invalid",
                &format!("Invalid setup_future_usage: must be one of on_session or off_session ({usage})."),
            ));
        }
    }
    let customer = params.get("customer");
    if let Some(customer) = customer {
        if !books.customers.contains_key(customer) {
            return Err(invalid(
                "resource_missing",
                &format!("No such customer: '{customer}'"),
            ));
        }
    }
    let confirm = bool_param(params.get("confirm"));
    let off_session = bool_param(params.get("off_session"));
    if off_session && !confirm {
        return Err(invalid(
            "parameter_invalid",
            "You can only pass in off_session when confirm is set to true.",
        ));
    }
    let payment_method = params.get("payment_method").map(str::to_owned);
    if confirm && payment_method.is_none() {
        return Err(invalid(
            "parameter_missing",
            "You must provide a payment_method to confirm this PaymentIntent.",
        ));
    }
    let id = books.id("pi");
    let mut intent = json!({
        "id": id,
        "object": "payment_intent",
        "amount": amount,
        "amount_received": 0,
        "currency": currency,
        "status": "requires_payment_method",
        "capture_method": "automatic",
        "confirmation_method": "automatic",
        "client_secret": format!("{id}_secret_fake"),
        "created": now(),
        "customer": params.get("customer"),
        "description": params.get("description"),
        "livemode": false,
        "metadata": params.metadata(),
        "payment_method": Value::Null,
        "payment_method_types": ["card"],
        "setup_future_usage": setup_future_usage,
        "last_payment_error": Value::Null,
        "next_action": Value::Null,
        "cancellation_reason": Value::Null,
    });
    if !confirm {
        books.intents.insert(id, intent.clone());
        return Ok((StatusCode::OK, intent));
    }
    // An off-session charge of a stored PaymentMethod (Stripe's test ones).
    let method = payment_method.unwrap_or_default();
    let outcome = match method.as_str() {
        "pm_card_visa" | "pm_card_mastercard" | "pm_card_unionpay" => Outcome::Succeeds,
        "pm_card_chargeDeclined" => Outcome::Declines("generic_decline", "Your card was declined."),
        "pm_card_chargeDeclinedInsufficientFunds" => {
            Outcome::Declines("insufficient_funds", "Your card has insufficient funds.")
        }
        "pm_card_authenticationRequired" if off_session => Outcome::Declines(
            "authentication_required",
            "Your card was declined. This transaction requires authentication.",
        ),
        "pm_card_authenticationRequired" => Outcome::Authenticates,
        other => stored_outcome(books, other, customer, off_session)?,
    };
    intent["payment_method"] = json!(method);
    let answer = apply_outcome(&mut intent, outcome, None, params.get("return_url"));
    books.intents.insert(id, intent);
    Ok(answer)
}

enum Outcome {
    Succeeds,
    Declines(&'static str, &'static str),
    Authenticates,
}

/// Applies a confirm's outcome to the PaymentIntent and answers it.
fn apply_outcome(
    intent: &mut Value,
    outcome: Outcome,
    redirect: Option<String>,
    return_url: Option<&str>,
) -> Answer {
    match outcome {
        Outcome::Succeeds => {
            intent["status"] = json!("succeeded");
            intent["amount_received"] = intent["amount"].clone();
            intent["last_payment_error"] = Value::Null;
            (StatusCode::OK, intent.clone())
        }
        Outcome::Declines(decline_code, message) => {
            let code = if decline_code == "authentication_required" {
                "authentication_required"
            } else {
                "card_declined"
            };
            let error = json!({
                "type": "card_error",
                "code": code,
                "decline_code": decline_code,
                "message": message,
            });
            intent["status"] = json!("requires_payment_method");
            intent["last_payment_error"] = error.clone();
            let mut answer = error;
            answer["payment_intent"] = intent.clone();
            (StatusCode::PAYMENT_REQUIRED, json!({ "error": answer }))
        }
        Outcome::Authenticates => {
            intent["status"] = json!("requires_action");
            intent["last_payment_error"] = Value::Null;
            intent["next_action"] = match (redirect, return_url) {
                (Some(url), Some(return_url)) => json!({
                    "type": "redirect_to_url",
                    "redirect_to_url": {"url": url, "return_url": return_url},
                }),
                // Without a return_url, Stripe leaves the step to its SDK.
                _ => json!({"type": "use_stripe_sdk", "use_stripe_sdk": {}}),
            };
            (StatusCode::OK, intent.clone())
        }
    }
}

fn confirm_intent(
    books: &mut Books,
    base: &str,
    id: &str,
    params: &Params,
) -> Result<Answer, Answer> {
    params.only(&[
        "payment_method_data[",
        "return_url",
        "payment_method",
        "off_session",
    ])?;
    let method_id = books.id("pm");
    let intent = books
        .intents
        .get_mut(id)
        .ok_or_else(|| no_such("payment_intent", id))?;
    let status = intent["status"].as_str().unwrap_or_default().to_owned();
    if status != "requires_payment_method" && status != "requires_confirmation" {
        let mut answer = invalid(
            "payment_intent_unexpected_state",
            &format!("You cannot confirm this PaymentIntent because it has a status of {status}."),
        );
        answer.1["error"]["payment_intent"] = intent.clone();
        return Err(answer);
    }
    if params.get("payment_method_data[type]") != Some("card") {
        return Err(invalid(
            "parameter_missing",
            "Missing required param: payment_method_data[type].",
        ));
    }
    let number = params
        .required("payment_method_data[card][number]")?
        .to_owned();
    let month: u32 = params
        .required("payment_method_data[card][exp_month]")?
        .parse()
        .map_err(|_| invalid("parameter_invalid_integer", "Invalid integer: exp_month"))?;
    let year: i32 = params
        .required("payment_method_data[card][exp_year]")?
        .parse()
        .map_err(|_| invalid("parameter_invalid_integer", "Invalid integer: exp_year"))?;
    let cvc = params.required("payment_method_data[card][cvc]")?;
    if !(1..=12).contains(&month) {
        return Err(card_error(
            intent,
            "invalid_expiry_month",
            "Your card's expiration month is invalid.",
        ));
    }
    if year < 2000 {
        return Err(card_error(
            intent,
            "invalid_expiry_year",
            "Your card's expiration year is invalid.",
        ));
    }
    if !(3..=4).contains(&cvc.len()) || !cvc.bytes().all(|b| b.is_ascii_digit()) {
        return Err(card_error(
            intent,
            "invalid_cvc",
            "Your card's security code is invalid.",
        ));
    }
    let last4 = number
        .get(number.len().saturating_sub(4)..)
        .unwrap_or_default();
    let last4 = last4.to_owned();
    intent["payment_method"] = json!(method_id);
    let outcome = card_outcome(&last4, false);
    let redirect = format!("{base}/3ds/{id}");
    let answer = apply_outcome(intent, outcome, Some(redirect), params.get("return_url"));
    // Stripe makes a PaymentMethod of the card (`payment_method_data`); it
    // is attached to the PaymentIntent's Customer once the payment
    // succeeded when `setup_future_usage` asks for it, and is single-use
    // otherwise.
    books.methods.insert(
        method_id.clone(),
        json!({
            "id": method_id,
            "object": "payment_method",
            "type": "card",
            "customer": Value::Null,
            "card": {"last4": last4},
            "created": now(),
            "livemode": false,
        }),
    );
    attach_saved(books, id);
    Ok(answer)
}

/// A test card's outcome by its last four digits (all the fake keeps of
/// it): 0002 declines, 9995 lacks funds, 3184 asks for 3-D Secure (which an
/// off-session charge cannot do: declined `authentication_required`), any
/// other succeeds.
fn card_outcome(last4: &str, off_session: bool) -> Outcome {
    let tail = |card: &str| card.get(card.len() - 4..).unwrap_or_default().to_owned();
    match last4 {
        l if l == tail(CARD_DECLINED) => {
            Outcome::Declines("generic_decline", "Your card was declined.")
        }
        l if l == tail(CARD_INSUFFICIENT_FUNDS) => {
            Outcome::Declines("insufficient_funds", "Your card has insufficient funds.")
        }
        l if l == tail(CARD_3DS_REQUIRED) && off_session => Outcome::Declines(
            "authentication_required",
            "Your card was declined. This transaction requires authentication.",
        ),
        l if l == tail(CARD_3DS_REQUIRED) => Outcome::Authenticates,
        _ => Outcome::Succeeds,
    }
}

/// The outcome of a charge of a PaymentMethod the fake made, checked as
/// Stripe does: it must exist, be attached to a Customer (one used once
/// without `setup_future_usage` may not be used again), and be charged with
/// that Customer.
fn stored_outcome(
    books: &Books,
    method: &str,
    customer: Option<&str>,
    off_session: bool,
) -> Result<Outcome, Answer> {
    let Some(found) = books.methods.get(method) else {
        return Err(invalid(
            "resource_missing",
            &format!("No such PaymentMethod: '{method}'"),
        ));
    };
    match (found["customer"].as_str(), customer) {
        (None, _) => Err(error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            None,
            "The provided PaymentMethod was previously used with a PaymentIntent without Customer attachment, shared with a connected account without Customer attachment, or was detached from a Customer. It may not be used again. To use a PaymentMethod multiple times, you must attach it to a Customer first.",
        )),
        (Some(owner), Some(given)) if owner != given => Err(error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            None,
            &format!("The provided PaymentMethod ({method}) is attached to another Customer than {given}."),
        )),
        (Some(_), None) => Err(error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            None,
            &format!("The provided PaymentMethod ({method}) is attached to a Customer: pass that customer to use it."),
        )),
        (Some(_), Some(_)) => Ok(card_outcome(
            found["card"]["last4"].as_str().unwrap_or_default(),
            off_session,
        )),
    }
}

/// Attaches a succeeded PaymentIntent's PaymentMethod to its Customer when
/// it was set up for future use (`setup_future_usage`), as Stripe does
/// "after the PaymentIntent is confirmed and the customer completes any
/// required actions".
fn attach_saved(books: &mut Books, intent_id: &str) {
    let Some(intent) = books.intents.get(intent_id) else {
        return;
    };
    if intent["status"] != "succeeded" || intent["setup_future_usage"].is_null() {
        return;
    }
    let (Some(customer), Some(method)) = (
        intent["customer"].as_str().map(str::to_owned),
        intent["payment_method"].as_str().map(str::to_owned),
    ) else {
        return;
    };
    if let Some(found) = books.methods.get_mut(&method) {
        if found["customer"].is_null() {
            found["customer"] = json!(customer);
        }
    }
}

fn customer_json(id: &str, params: &Params) -> Value {
    json!({
        "id": id,
        "object": "customer",
        "created": now(),
        "description": params.get("description"),
        "email": params.get("email"),
        "name": params.get("name"),
        "metadata": params.metadata(),
        "livemode": false,
    })
}

/// `POST /v1/customers`: every parameter is optional.
fn create_customer(books: &mut Books, params: &Params) -> Result<Answer, Answer> {
    params.only(&["description", "email", "name", "metadata["])?;
    let id = books.id("cus");
    let customer = customer_json(&id, params);
    books.customers.insert(id, customer.clone());
    Ok((StatusCode::OK, customer))
}

fn card_error(intent: &mut Value, code: &str, message: &str) -> Answer {
    let mut answer = error(
        StatusCode::PAYMENT_REQUIRED,
        "card_error",
        Some(code),
        message,
    );
    intent["last_payment_error"] = answer.1["error"].clone();
    answer.1["error"]["payment_intent"] = intent.clone();
    answer
}

fn cancel_intent(books: &mut Books, id: &str, params: &Params) -> Result<Answer, Answer> {
    params.only(&["cancellation_reason"])?;
    let reason = params.get("cancellation_reason");
    if let Some(reason) = reason {
        if ![
            "duplicate",
            "fraudulent",
            "requested_by_customer",
            "abandoned",
        ]
        .contains(&reason)
        {
            return Err(invalid("parameter_invalid", "Invalid cancellation_reason."));
        }
    }
    let intent = books
        .intents
        .get_mut(id)
        .ok_or_else(|| no_such("payment_intent", id))?;
    let status = intent["status"].as_str().unwrap_or_default().to_owned();
    let cancelable = [
        "requires_payment_method",
        "requires_capture",
        "requires_confirmation",
        "requires_action",
        "processing",
    ];
    if !cancelable.contains(&status.as_str()) {
        let mut answer = invalid(
            "payment_intent_unexpected_state",
            &format!("You cannot cancel this PaymentIntent because it has a status of {status}."),
        );
        answer.1["error"]["payment_intent"] = intent.clone();
        return Err(answer);
    }
    intent["status"] = json!("canceled");
    intent["next_action"] = Value::Null;
    intent["cancellation_reason"] = json!(reason);
    Ok((StatusCode::OK, intent.clone()))
}

fn search_intents(books: &Books, params: &Params) -> Result<Answer, Answer> {
    params.only(&["query", "limit", "page"])?;
    let query = params.required("query")?;
    // The one form payhub uses: metadata['key']:'value'.
    let parsed = query
        .strip_prefix("metadata['")
        .and_then(|rest| rest.split_once("']:'"))
        .and_then(|(key, value)| value.strip_suffix('\'').map(|value| (key, value)));
    let Some((key, value)) = parsed else {
        return Err(invalid(
            "parameter_invalid",
            "The fake understands metadata['k']:'v' queries only.",
        ));
    };
    let data: Vec<Value> = books
        .intents
        .values()
        .filter(|i| i["metadata"][key] == value)
        .cloned()
        .collect();
    Ok((
        StatusCode::OK,
        json!({"object": "search_result", "url": "/v1/payment_intents/search", "has_more": false, "data": data}),
    ))
}

fn create_refund(books: &mut Books, params: &Params) -> Result<Answer, Answer> {
    params.only(&["payment_intent", "amount", "metadata[", "reason"])?;
    let intent_id = params.required("payment_intent")?.to_owned();
    let intent = books
        .intents
        .get(&intent_id)
        .cloned()
        .ok_or_else(|| no_such("payment_intent", &intent_id))?;
    if intent["status"] != "succeeded" {
        return Err(invalid(
            "charge_not_refundable",
            &format!(
                "This PaymentIntent ({intent_id}) does not have a successful charge to refund."
            ),
        ));
    }
    let refunded: i64 = books
        .refunds
        .values()
        .filter(|r| r["payment_intent"] == intent_id.as_str() && r["status"] != "failed")
        .map(|r| r["amount"].as_i64().unwrap_or(0))
        .sum();
    let left = intent["amount"].as_i64().unwrap_or(0) - refunded;
    let amount = match params.get("amount") {
        Some(text) => text
            .parse::<i64>()
            .map_err(|_| invalid("parameter_invalid_integer", "Invalid integer: amount"))?,
        None => left,
    };
    if amount < 1 {
        return Err(invalid(
            "parameter_invalid_integer",
            "This value must be greater than or equal to 1.",
        ));
    }
    if left <= 0 {
        return Err(invalid(
            "charge_already_refunded",
            "Charge has already been refunded.",
        ));
    }
    if amount > left {
        return Err(invalid(
            "amount_too_large",
            &format!(
                "Refund amount ({amount}) is greater than unrefunded amount on charge ({left})"
            ),
        ));
    }
    let id = books.id("re");
    let refund = json!({
        "id": id,
        "object": "refund",
        "amount": amount,
        "currency": intent["currency"],
        "payment_intent": intent_id,
        "status": "succeeded",
        "reason": params.get("reason"),
        "metadata": params.metadata(),
        "created": now(),
    });
    books.refunds.insert(id, refund.clone());
    Ok((StatusCode::OK, refund))
}

fn list_refunds(books: &Books, params: &Params) -> Result<Answer, Answer> {
    params.only(&["payment_intent", "limit", "starting_after"])?;
    let intent = params.get("payment_intent");
    let data: Vec<Value> = books
        .refunds
        .values()
        .filter(|r| intent.is_none_or(|i| r["payment_intent"] == i))
        .cloned()
        .collect();
    Ok((
        StatusCode::OK,
        json!({"object": "list", "url": "/v1/refunds", "has_more": false, "data": data}),
    ))
}
