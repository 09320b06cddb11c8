//! A fake operator speaking the GSMA CAMARA Carrier Billing API and its
//! Refund API (`../shared/camara/`), on 127.0.0.1, for the telco tests.
//!
//! Written from the OpenAPI files and the `.feature` scenarios: an OAuth2
//! client-credentials token endpoint; `createPayment`, `preparePayment`,
//! `confirmPayment`, `cancelPayment`, `retrievePayment`, `retrievePayments`
//! and `createRefund`. Every request is checked for a bearer token the fake
//! issued, an `x-correlator` matching `XCorrelator`'s pattern, and the body's
//! required fields and types (amounts are JSON numbers with at most three
//! decimals, phone numbers E.164 with `+`); a request that fails is answered
//! `400 INVALID_ARGUMENT` (or `401 UNAUTHENTICATED`) and recorded in
//! [`FakeCamara::problems`], which every test expects empty.
//!
//! Payments are kept per phone number against a limit per number: a charge
//! or reservation beyond it is refused with `422
//! CARRIER_BILLING.USER_AMOUNT_THRESHOLD_OVERPASSED`. A request repeating a
//! `clientCorrelator` is answered with the payment (or refund) it first made,
//! as the API recommends for retries. [`FakeCamara::delay_next`] makes the
//! next call of an operation take effect but answer too late.
//!
//! A payment created or prepared with a `sink` (which must be `https`, with
//! an `ACCESSTOKEN` bearer `sinkCredential`, or the request is refused
//! `400 INVALID_SINK` / `INVALID_CREDENTIAL`) is notified there on every
//! change of status, as a Carrier Billing CloudEvent carrying the sink's
//! bearer token. The tests' payhub has no TLS end in front of it, so
//! [`FakeCamara::route_sinks`] tells the fake which plain address stands
//! for the sink's `https` origin; a notification not answered `2xx` is
//! sent again (a few times, a little later each time).

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use rust_decimal::Decimal;
use serde_json::{json, Value};

pub const CLIENT_ID: &str = "payhub-test";
pub const CLIENT_SECRET: &str = "s3cret-camara";

/// One payment the fake holds.
#[derive(Clone, Debug)]
pub struct FakePayment {
    pub id: String,
    pub phone: String,
    pub status: String,
    pub amount: Decimal,
    pub currency: String,
    pub two_step: bool,
    pub correlator: String,
    pub request: Value,
    pub refunded: Decimal,
    /// The sink and its bearer token, when the payment asked for notifications.
    pub sink: Option<(String, String)>,
}

/// A notification the fake sent: the payment, the event type's last part,
/// and the HTTP status of each attempt.
#[derive(Clone, Debug)]
pub struct SentNotice {
    pub payment: String,
    pub event: String,
    pub attempts: Vec<u16>,
}

#[derive(Default)]
struct Books {
    tokens: Vec<String>,
    /// Tokens issued then revoked (expired).
    revoked: Vec<String>,
    token_requests: usize,
    payments: Vec<FakePayment>,
    /// Refunds by clientCorrelator: (payment id, refund answer).
    refunds: HashMap<String, (String, Value)>,
    limits: HashMap<String, Decimal>,
    /// Operations whose next call answers too late (after taking effect).
    delayed: HashMap<&'static str, usize>,
    /// Operations whose next call is refused with (status, code).
    refused: HashMap<&'static str, (u16, &'static str)>,
    problems: Vec<String>,
    calls: Vec<String>,
    /// (the sinks' https origin, the plain address standing for it).
    sink_route: Option<(String, String)>,
    notices: Vec<SentNotice>,
}

/// The fake operator; cloned handles share its books.
#[derive(Clone)]
pub struct FakeCamara {
    pub base_url: String,
    pub refund_base_url: String,
    pub token_url: String,
    books: Arc<Mutex<Books>>,
}

/// How long a delayed answer waits: beyond the tests' gateway call timeout.
const LATE: Duration = Duration::from_secs(5);
/// The limit of a number nobody set one for.
const DEFAULT_LIMIT: &str = "500.00";

impl FakeCamara {
    pub async fn start() -> FakeCamara {
        let books: Arc<Mutex<Books>> = Arc::default();
        let app = Router::new()
            .route("/oauth2/token", post(token))
            .route("/carrier-billing/vwip/payments", post(create).get(list))
            .route("/carrier-billing/vwip/payments/prepare", post(prepare))
            .route("/carrier-billing/vwip/payments/{id}", get(retrieve))
            .route("/carrier-billing/vwip/payments/{id}/confirm", post(confirm))
            .route("/carrier-billing/vwip/payments/{id}/cancel", post(cancel))
            .route(
                "/carrier-billing-refund/vwip/payments/{id}/refunds",
                post(refund),
            )
            .with_state(books.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let root = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeCamara {
            base_url: format!("{root}/carrier-billing/vwip"),
            refund_base_url: format!("{root}/carrier-billing-refund/vwip"),
            token_url: format!("{root}/oauth2/token"),
            books,
        }
    }

    fn books(&self) -> std::sync::MutexGuard<'_, Books> {
        self.books.lock().expect("lock")
    }

    /// Sets a phone number's limit (reserved and charged, less refunds).
    pub fn set_limit(&self, phone: &str, limit: &str) {
        let limit = Decimal::from_str(limit).expect("a decimal");
        self.books().limits.insert(phone.to_owned(), limit);
    }

    /// The next call of `operation` ("create", "prepare", "confirm",
    /// "cancel", "refund", "retrieve", "list") takes effect but answers
    /// too late.
    pub fn delay_next(&self, operation: &'static str) {
        *self.books().delayed.entry(operation).or_default() += 1;
    }

    /// The next call of `operation` is refused with the API's `status` and
    /// `code` (a blocked line, an unknown number…), booking nothing.
    pub fn refuse_next(&self, operation: &'static str, status: u16, code: &'static str) {
        self.books().refused.insert(operation, (status, code));
    }

    /// Forgets every token it issued, as when they expire: the next call
    /// gets `401 UNAUTHENTICATED`.
    pub fn revoke_tokens(&self) {
        let mut books = self.books();
        let tokens = std::mem::take(&mut books.tokens);
        books.revoked.extend(tokens);
    }

    /// Notifications to sinks under `https_origin` go to `plain_origin`
    /// (payhub's test address), as a TLS end in front of payhub would.
    pub fn route_sinks(&self, https_origin: &str, plain_origin: &str) {
        self.books().sink_route = Some((https_origin.to_owned(), plain_origin.to_owned()));
    }

    /// The notifications sent so far.
    pub fn notices(&self) -> Vec<SentNotice> {
        self.books().notices.clone()
    }

    /// What the fake refused as not the spec's shape; tests expect none.
    pub fn problems(&self) -> Vec<String> {
        self.books().problems.clone()
    }

    pub fn payments(&self) -> Vec<FakePayment> {
        self.books().payments.clone()
    }

    /// Every call as "METHOD path".
    pub fn calls(&self) -> Vec<String> {
        self.books().calls.clone()
    }

    pub fn token_requests(&self) -> usize {
        self.books().token_requests
    }

    /// What is charged on a number's bill now (succeeded, less refunds).
    pub fn charged(&self, phone: &str) -> Decimal {
        let books = self.books();
        books
            .payments
            .iter()
            .filter(|p| p.phone == phone && p.status == "succeeded")
            .map(|p| p.amount - p.refunded)
            .sum()
    }
}

type Shared = Arc<Mutex<Books>>;

fn error(status: u16, code: &str, message: &str) -> Response {
    let status_code = StatusCode::from_u16(status).expect("a status");
    (
        status_code,
        axum::Json(json!({"status": status, "code": code, "message": message})),
    )
        .into_response()
}

fn with_correlator(headers: &HeaderMap, response: Response) -> Response {
    let mut response = response;
    if let Some(value) = headers.get("x-correlator") {
        response.headers_mut().insert("x-correlator", value.clone());
    }
    response
}

/// The checks every API call passes: a token the fake issued and an
/// `x-correlator` of the schema's pattern. `Some` is the refusal to answer.
fn admit(books: &mut Books, headers: &HeaderMap, call: String) -> Option<Response> {
    books.calls.push(call.clone());
    let bearer = headers
        .get("authorization")
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "));
    if !bearer.is_some_and(|token| books.tokens.iter().any(|t| t == token)) {
        // A token it issued and revoked is an expired one, not a fault.
        if !bearer.is_some_and(|token| books.revoked.iter().any(|t| t == token)) {
            books
                .problems
                .push(format!("{call}: no valid bearer token"));
        }
        return Some(error(401, "UNAUTHENTICATED", "Request not authenticated"));
    }
    let correlator = headers.get("x-correlator").and_then(|h| h.to_str().ok());
    let valid = correlator.is_some_and(|c| {
        !c.is_empty()
            && c.len() <= 256
            && c.chars()
                .all(|ch| ch.is_ascii_alphanumeric() || "-_:;./<>{}".contains(ch))
    });
    if !valid {
        books
            .problems
            .push(format!("{call}: x-correlator missing or invalid"));
        return Some(error(400, "INVALID_ARGUMENT", "x-correlator"));
    }
    None
}

/// Records a body that is not the spec's shape and answers 400.
fn invalid(books: &mut Books, call: &str, what: String) -> Response {
    books.problems.push(format!("{call}: {what}"));
    error(400, "INVALID_ARGUMENT", &what)
}

async fn token(State(books): State<Shared>, headers: HeaderMap, body: String) -> Response {
    use base64::Engine;
    let mut books = books.lock().expect("lock");
    books.token_requests += 1;
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
    );
    let authorized = headers.get("authorization").and_then(|h| h.to_str().ok()) == Some(&expected);
    if !authorized {
        books
            .problems
            .push("token: wrong client credentials".into());
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"error": "invalid_client"})),
        )
            .into_response();
    }
    if body != "grant_type=client_credentials" {
        books
            .problems
            .push(format!("token: unexpected form {body}"));
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": "unsupported_grant_type"})),
        )
            .into_response();
    }
    let token = format!("tok-{}", books.token_requests);
    books.tokens.push(token.clone());
    axum::Json(json!({"access_token": token, "token_type": "Bearer", "expires_in": 3600}))
        .into_response()
}

/// An amount field: a JSON number (not a string), at least `minimum`, a
/// multiple of 0.001.
fn amount_of(value: &Value, minimum: &str) -> Result<Decimal, String> {
    let Value::Number(number) = value else {
        return Err(format!("amount {value} is not a number"));
    };
    let amount =
        Decimal::from_str(&number.to_string()).map_err(|e| format!("amount {number}: {e}"))?;
    if amount.normalize().scale() > 3 || amount < Decimal::from_str(minimum).expect("decimal") {
        return Err(format!(
            "amount {number} is not a multiple of 0.001 at least {minimum}"
        ));
    }
    Ok(amount)
}

fn text<'a>(value: &'a Value, field: &str) -> Result<&'a str, String> {
    value[field]
        .as_str()
        .ok_or_else(|| format!("{field} missing or not a string"))
}

fn phone_of(value: &Value) -> Result<String, String> {
    let phone = text(value, "phoneNumber")?;
    let digits = phone.strip_prefix('+').unwrap_or("");
    let valid = (5..=15).contains(&digits.len())
        && digits.chars().all(|c| c.is_ascii_digit())
        && !digits.starts_with('0');
    if valid {
        Ok(phone.to_owned())
    } else {
        Err(format!("phoneNumber {phone} is not E.164"))
    }
}

/// A `ChargingInformation`: amount, currency, description (and the
/// optional tax fields' types); the amount and currency.
fn charging(value: &Value) -> Result<(Decimal, String), String> {
    let amount = amount_of(&value["amount"], "0.001")?;
    let currency = text(value, "currency")?;
    if currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_uppercase()) {
        return Err(format!("currency {currency} is not ISO 4217"));
    }
    text(value, "description")?;
    if !value["isTaxIncluded"].is_null() && !value["isTaxIncluded"].is_boolean() {
        return Err("isTaxIncluded is not a boolean".into());
    }
    if !value["taxAmount"].is_null() {
        amount_of(&value["taxAmount"], "0")?;
    }
    Ok((amount, currency.to_owned()))
}

/// An `AmountTransactionInput` (or the reservation's): phone, amount,
/// currency, clientCorrelator; `paymentDetails` items checked and summing
/// to the amount.
fn payment_request(body: &Value) -> Result<(String, Decimal, String, String), String> {
    let transaction = &body["amountTransaction"];
    if !transaction.is_object() {
        return Err("amountTransaction missing".into());
    }
    text(transaction, "referenceCode")?;
    let correlator = text(transaction, "clientCorrelator")?.to_owned();
    let phone = phone_of(transaction)?;
    let payment_amount = &transaction["paymentAmount"];
    let (amount, currency) = charging(&payment_amount["chargingInformation"])?;
    if let Some(details) = payment_amount.get("paymentDetails") {
        let items = details
            .as_array()
            .filter(|a| !a.is_empty())
            .ok_or("paymentDetails is not a non-empty array")?;
        let mut sum = Decimal::ZERO;
        for item in items {
            text(item, "id")?;
            let (line, line_currency) = charging(item)?;
            if line_currency != currency {
                return Err("paymentDetails in another currency".into());
            }
            sum += line;
        }
        if sum != amount {
            return Err(format!("paymentDetails sum to {sum}, not {amount}"));
        }
    }
    Ok((phone, amount, currency, correlator))
}

/// The `sink` and `sinkCredential` of a payment request, as the spec
/// allows them (an `https` sink, an `ACCESSTOKEN` bearer credential): the
/// sink and its token; `Err` is the spec's error code and what is wrong.
fn sink_of(body: &Value) -> Result<Option<(String, String)>, (&'static str, String)> {
    let Some(sink) = body.get("sink") else {
        return match body.get("sinkCredential") {
            None => Ok(None),
            Some(_) => Err(("INVALID_ARGUMENT", "sinkCredential without sink".into())),
        };
    };
    let sink = sink
        .as_str()
        .filter(|s| s.starts_with("https://") && s.len() > "https://".len())
        .ok_or(("INVALID_SINK", format!("sink {sink} is not an https URL")))?;
    let credential = &body["sinkCredential"];
    if credential["credentialType"] != "ACCESSTOKEN" {
        return Err((
            "INVALID_CREDENTIAL",
            "Only Access token is supported".into(),
        ));
    }
    if credential["accessTokenType"] != "bearer" {
        return Err(("INVALID_TOKEN", "Only bearer token is supported".into()));
    }
    let token = credential["accessToken"]
        .as_str()
        .filter(|t| !t.is_empty())
        .ok_or(("INVALID_CREDENTIAL", "accessToken missing".into()))?;
    let expires = credential["accessTokenExpiresUtc"].as_str().unwrap_or("");
    if chrono::DateTime::parse_from_rfc3339(expires).is_err() {
        return Err((
            "INVALID_CREDENTIAL",
            format!("accessTokenExpiresUtc {expires} is not an RFC 3339 time"),
        ));
    }
    Ok(Some((sink.to_owned(), token.to_owned())))
}

/// Sends a Carrier Billing CloudEvent about `payment` to its sink (when it
/// has one and the fake knows where that is), again on anything but 2xx.
fn notify(shared: &Shared, books: &mut Books, payment: &FakePayment, event: &str) {
    let (Some((sink, token)), Some((https, plain))) =
        (payment.sink.clone(), books.sink_route.clone())
    else {
        return;
    };
    let url = sink.replacen(&https, &plain, 1);
    let index = books.notices.len();
    books.notices.push(SentNotice {
        payment: payment.id.clone(),
        event: event.to_owned(),
        attempts: Vec::new(),
    });
    let body = json!({
        "id": format!("ev-{}", index + 1),
        "source": "https://operator.example/carrier-billing",
        "type": format!("org.camaraproject.carrier-billing.v0.{event}"),
        "specversion": "1.0",
        "datacontenttype": "application/json",
        "time": "2026-11-25T10:00:00Z",
        "data": {"paymentId": payment.id, "status": "succeeded", "description": "Payment Notification"},
    });
    let shared = shared.clone();
    tokio::spawn(async move {
        let client = reqwest::Client::new();
        for attempt in 0..12_u64 {
            let sent = client
                .post(&url)
                .bearer_auth(&token)
                .header("content-type", "application/cloudevents+json")
                .header("x-correlator", format!("fake-{index}-{attempt}"))
                .body(body.to_string())
                .send()
                .await;
            let status = sent.map(|r| r.status().as_u16()).unwrap_or(0);
            shared.lock().expect("lock").notices[index]
                .attempts
                .push(status);
            if (200..300).contains(&status) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(250 * (attempt + 1))).await;
        }
    });
}

fn payment_json(payment: &FakePayment) -> Value {
    let mut transaction = payment.request["amountTransaction"].clone();
    transaction["resourceURL"] = json!(format!("urn:payments:{}", payment.id));
    json!({
        "paymentId": payment.id,
        "paymentStatus": payment.status,
        "paymentCreationDate": "2026-01-01T00:00:00Z",
        "amountTransaction": transaction,
    })
}

/// Whether the next call of `operation` answers late (it is taken).
fn take_delay(books: &mut Books, operation: &'static str) -> bool {
    match books.delayed.get_mut(operation) {
        Some(count) if *count > 0 => {
            *count -= 1;
            true
        }
        _ => false,
    }
}

/// Answers `response`, after [`LATE`] when `late`.
async fn answer(late: bool, headers: &HeaderMap, response: Response) -> Response {
    if late {
        tokio::time::sleep(LATE).await;
    }
    with_correlator(headers, response)
}

async fn create(State(books): State<Shared>, headers: HeaderMap, body: String) -> Response {
    book(books, headers, body, false).await
}

async fn prepare(State(books): State<Shared>, headers: HeaderMap, body: String) -> Response {
    book(books, headers, body, true).await
}

/// `createPayment` (one step, `succeeded`) or `preparePayment` (two steps,
/// `reserved`).
async fn book(books: Shared, headers: HeaderMap, body: String, two_step: bool) -> Response {
    let operation = if two_step { "prepare" } else { "create" };
    let shared = books.clone();
    let (response, late) = {
        let mut books = books.lock().expect("lock");
        let call = format!("POST {operation}");
        if let Some(response) = admit(&mut books, &headers, call.clone()) {
            return response;
        }
        let body: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        let (phone, amount, currency, correlator) = match payment_request(&body) {
            Ok(fields) => fields,
            Err(what) => return invalid(&mut books, &call, what),
        };
        let sink = match sink_of(&body) {
            Ok(sink) => sink,
            Err((code, what)) => {
                books.problems.push(format!("{call}: {what}"));
                return error(400, code, &what);
            }
        };
        if let Some((status, code)) = books.refused.remove(operation) {
            return error(status, code, "Refused by the operator's rules");
        }
        let late = take_delay(&mut books, operation);
        let retried = books
            .payments
            .iter()
            .find(|p| p.correlator == correlator)
            .map(|first| {
                // A retry: the payment it first made, if it is the same request.
                if first.phone == phone && first.amount == amount && first.two_step == two_step {
                    (StatusCode::CREATED, axum::Json(payment_json(first))).into_response()
                } else {
                    error(
                        400,
                        "INVALID_ARGUMENT",
                        "clientCorrelator already used for another payment",
                    )
                }
            });
        if let Some(response) = retried {
            (response, late)
        } else {
            let limit = books
                .limits
                .get(&phone)
                .copied()
                .unwrap_or_else(|| Decimal::from_str(DEFAULT_LIMIT).expect("decimal"));
            let used: Decimal = books
                .payments
                .iter()
                .filter(|p| {
                    p.phone == phone && matches!(p.status.as_str(), "reserved" | "succeeded")
                })
                .map(|p| p.amount - p.refunded)
                .sum();
            let response = if used + amount > limit {
                error(422, "CARRIER_BILLING.USER_AMOUNT_THRESHOLD_OVERPASSED", "Unauthorized payment request. Accumulated user mobile payments overpass account amount threshold.")
            } else {
                let payment = FakePayment {
                    id: format!("pay-{}", books.payments.len() + 1),
                    phone,
                    status: if two_step { "reserved" } else { "succeeded" }.into(),
                    amount,
                    currency,
                    two_step,
                    correlator,
                    request: body,
                    refunded: Decimal::ZERO,
                    sink,
                };
                let json = payment_json(&payment);
                let event = if two_step {
                    "payment-reserved"
                } else {
                    "payment-completed"
                };
                notify(&shared, &mut books, &payment, event);
                books.payments.push(payment);
                (StatusCode::CREATED, axum::Json(json)).into_response()
            };
            (response, late)
        }
    };
    answer(late, &headers, response).await
}

async fn list(State(books): State<Shared>, headers: HeaderMap) -> Response {
    let (response, late) = {
        let mut books = books.lock().expect("lock");
        if let Some(response) = admit(&mut books, &headers, "GET payments".into()) {
            return response;
        }
        let all: Vec<Value> = books.payments.iter().map(payment_json).collect();
        let late = take_delay(&mut books, "list");
        (axum::Json(Value::Array(all)).into_response(), late)
    };
    answer(late, &headers, response).await
}

async fn retrieve(
    State(books): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let (response, late) = {
        let mut books = books.lock().expect("lock");
        if let Some(response) = admit(&mut books, &headers, "GET payment".into()) {
            return response;
        }
        let response = match books.payments.iter().find(|p| p.id == id) {
            Some(payment) => axum::Json(payment_json(payment)).into_response(),
            None => error(404, "NOT_FOUND", "The specified resource is not found."),
        };
        (response, take_delay(&mut books, "retrieve"))
    };
    answer(late, &headers, response).await
}

async fn confirm(
    state: State<Shared>,
    id: Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    settle(state, id, headers, body, true).await
}

async fn cancel(
    state: State<Shared>,
    id: Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    settle(state, id, headers, body, false).await
}

/// `confirmPayment` (reserved → succeeded) or `cancelPayment` (reserved →
/// cancelled), with the `409`s of a payment already confirmed or cancelled.
async fn settle(
    State(books): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: String,
    confirm: bool,
) -> Response {
    let operation = if confirm { "confirm" } else { "cancel" };
    let shared = books.clone();
    let (response, late) = {
        let mut books = books.lock().expect("lock");
        let call = format!("POST {operation}");
        if let Some(response) = admit(&mut books, &headers, call.clone()) {
            return response;
        }
        let body: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        let phone = match phone_of(&body) {
            Ok(phone) => phone,
            Err(what) => return invalid(&mut books, &call, what),
        };
        // confirmPayment and cancelPayment may be refused too (403, 422).
        if let Some((status, code)) = books.refused.remove(operation) {
            return error(status, code, "Refused by the operator's rules");
        }
        let late = take_delay(&mut books, operation);
        let mut settled = None;
        let response = match books.payments.iter_mut().find(|p| p.id == id && p.two_step) {
            None => error(404, "NOT_FOUND", "The specified resource is not found."),
            Some(payment) if payment.phone != phone => {
                error(404, "IDENTIFIER_NOT_FOUND", "Phone number not found")
            }
            Some(payment) => match payment.status.as_str() {
                "reserved" => {
                    payment.status = if confirm { "succeeded" } else { "cancelled" }.into();
                    settled = Some(payment.clone());
                    StatusCode::ACCEPTED.into_response()
                }
                "succeeded" => error(
                    409,
                    "CARRIER_BILLING.PAYMENT_CONFIRMED",
                    "Payment has been confirmed.",
                ),
                _ => error(
                    409,
                    "CARRIER_BILLING.PAYMENT_CANCELLED",
                    "Payment has been cancelled.",
                ),
            },
        };
        if let Some(payment) = settled {
            let event = if confirm {
                "payment-completed"
            } else {
                "payment-cancelled"
            };
            notify(&shared, &mut books, &payment, event);
        }
        (response, late)
    };
    answer(late, &headers, response).await
}

/// A `CreatePartialRefund`: its clientCorrelator, amount and currency.
fn refund_request(body: &Value) -> Result<(String, Decimal, String), String> {
    if body["type"] != "partial" {
        return Err(format!("type {} is not partial", body["type"]));
    }
    let transaction = &body["amountTransaction"];
    text(transaction, "referenceCode")?;
    let correlator = text(transaction, "clientCorrelator")?.to_owned();
    let (amount, currency) = charging(&transaction["refundAmount"]["chargingInformation"])?;
    Ok((correlator, amount, currency))
}

/// `createRefund`: a `partial` refund of a succeeded payment, within what
/// is left of it; a repeated `clientCorrelator` answers the first refund.
async fn refund(
    State(books): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let (response, late) = {
        let mut books = books.lock().expect("lock");
        let call = "POST refund".to_owned();
        if let Some(response) = admit(&mut books, &headers, call.clone()) {
            return response;
        }
        let body: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        let transaction = &body["amountTransaction"];
        let checked = refund_request(&body);
        let (correlator, amount, currency) = match checked {
            Ok(fields) => fields,
            Err(what) => return invalid(&mut books, &call, what),
        };
        let late = take_delay(&mut books, "refund");
        let response = if let Some((_, first)) = books.refunds.get(&correlator) {
            (StatusCode::CREATED, axum::Json(first.clone())).into_response()
        } else {
            let refund_id = format!("rfd-{}", books.refunds.len() + 1);
            match books.payments.iter_mut().find(|p| p.id == id) {
                None => error(404, "NOT_FOUND", "The specified resource is not found."),
                Some(payment) if payment.status != "succeeded" => error(
                    422,
                    "CARRIER_BILLING_REFUND.INVALID_PAYMENT_STATUS",
                    "Payment is not refundable in its status",
                ),
                Some(payment)
                    if payment.currency != currency
                        || payment.amount - payment.refunded < amount =>
                {
                    error(
                        422,
                        "CARRIER_BILLING_REFUND.UNAUTHORIZED_AMOUNT",
                        "Unauthorized amount requested.",
                    )
                }
                Some(payment) => {
                    payment.refunded += amount;
                    let json = json!({
                        "refundId": refund_id, "refundStatus": "succeeded", "type": "partial",
                        "refundCreationDate": "2026-01-01T00:00:00Z", "amountTransaction": transaction,
                    });
                    books.refunds.insert(correlator, (id.clone(), json.clone()));
                    (StatusCode::CREATED, axum::Json(json)).into_response()
                }
            }
        };
        (response, late)
    };
    answer(late, &headers, response).await
}
