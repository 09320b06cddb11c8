//! A fake of WeChat Pay's cross-border (Hong Kong) merchant API v3, written
//! from its public documentation (WeChat Pay Global APIv3: "Order Placement"
//! Native, "Query Order", "Close Order", "Refund", "Query Single Refund",
//! "Payment Result Notification", and the APIv3 signature and callback
//! decryption rules), not from the connector's code.
//!
//! It checks what the real one checks: the `Authorization` signature with the
//! merchant's public key, the merchant ID, APPID and certificate serial, the
//! request's required fields, amounts and currency, a reused `out_trade_no`
//! or `out_refund_no` with different content; it answers in the real JSON,
//! signed with the platform key in the `Wechatpay-*` headers, and refuses in
//! the real error format (`{"code","message"}` with the documented HTTP
//! status). It keeps orders in memory, lets the test play the customer
//! (`pay`, `decline`), injects faults (`fail_next`), and POSTs encrypted,
//! signed payment notifications (`notify`).
//!
//! Deviations from the real API, on purpose: `notify_url` may be `http://`
//! (tests listen on loopback); orders can be closed at once (the real API
//! asks for five minutes after creation); institution mode is not faked.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::as_conversions
)]

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use rand::distributions::Alphanumeric;
use rand::Rng;
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
use rsa::signature::{SignatureEncoding, Signer, Verifier};
use rsa::{RsaPrivateKey, RsaPublicKey};
use secrecy::SecretString;
use serde_json::{json, Value};
use sha2::Sha256;

/// The merchant the fake knows.
pub const MCHID: &str = "1900000109";
pub const APPID: &str = "wx8888888888888888";
pub const MERCHANT_SERIAL: &str = "1DDE55AD98ED71D6EDD4A4A16996DE7B47773A8C";
pub const PLATFORM_SERIAL: &str = "PUB_KEY_ID_0114232130872024041500000000001";
pub const API_V3_KEY: &str = "a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb";
pub const MCC: &str = "5999";

/// Fixed RSA-2048 keys, made once with `openssl genpkey -algorithm RSA
/// -pkeyopt rsa_keygen_bits:2048` (never generated at test time: slow).
pub const MERCHANT_PRIVATE_PEM: &str =
    include_str!("../../src/gateways/wechatpay/testdata/merchant_private.pem");
pub const MERCHANT_PUBLIC_PEM: &str =
    include_str!("../../src/gateways/wechatpay/testdata/merchant_public.pem");
pub const PLATFORM_PRIVATE_PEM: &str =
    include_str!("../../src/gateways/wechatpay/testdata/platform_private.pem");
pub const PLATFORM_PUBLIC_PEM: &str =
    include_str!("../../src/gateways/wechatpay/testdata/platform_public.pem");

/// The currencies the fake takes (WeChat Pay's cross-border list, in part).
const CURRENCIES: &[&str] = &[
    "HKD", "CNY", "USD", "JPY", "EUR", "GBP", "AUD", "CAD", "SGD", "KRW",
];

/// How far a request's signed timestamp may be from now.
const MAX_SKEW_S: i64 = 300;

/// What the fake does to the next request it receives.
#[derive(Clone, Debug)]
pub enum Fault {
    /// Handle it normally but only after this long (past the client's limit).
    Delay(Duration),
    /// Answer 500 `SYSTEM_ERROR` without handling it.
    ServerError,
    /// Refuse it with this status, code and message (signed).
    Refuse(u16, &'static str, &'static str),
    /// Handle it normally but sign the answer wrongly.
    BadSignature,
}

/// An order as the fake keeps it.
#[derive(Clone, Debug)]
pub struct FakeOrder {
    pub out_trade_no: String,
    pub transaction_id: Option<String>,
    pub total: i64,
    pub currency: String,
    pub trade_state: String,
    pub notify_url: String,
    pub code_url: String,
    pub refunded: i64,
    /// The order request as sent, to tell a retry from a reuse.
    request: Value,
}

/// A refund as the fake keeps it.
#[derive(Clone, Debug)]
pub struct FakeRefund {
    pub id: String,
    pub out_refund_no: String,
    pub out_trade_no: String,
    pub refund: i64,
    pub status: String,
    request: Value,
}

#[derive(Default)]
struct Books {
    orders: HashMap<String, FakeOrder>,
    refunds: HashMap<String, FakeRefund>,
    faults: Vec<Fault>,
    /// Every request that passed authentication: (method, path and query).
    seen: Vec<(String, String)>,
    next_id: u64,
}

struct Keys {
    merchant: VerifyingKey<Sha256>,
    platform: SigningKey<Sha256>,
}

#[derive(Clone)]
struct Shared {
    books: Arc<Mutex<Books>>,
    keys: Arc<Keys>,
}

/// The running fake.
pub struct FakeWechatPay {
    addr: SocketAddr,
    shared: Shared,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for FakeWechatPay {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl FakeWechatPay {
    /// Starts the fake on 127.0.0.1 at a free port.
    pub async fn start() -> FakeWechatPay {
        let keys = Keys {
            merchant: VerifyingKey::new(
                RsaPublicKey::from_public_key_pem(MERCHANT_PUBLIC_PEM).unwrap(),
            ),
            platform: SigningKey::new(RsaPrivateKey::from_pkcs8_pem(PLATFORM_PRIVATE_PEM).unwrap()),
        };
        let shared = Shared {
            books: Arc::new(Mutex::new(Books::default())),
            keys: Arc::new(keys),
        };
        let app = Router::new().fallback(handle).with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        FakeWechatPay {
            addr,
            shared,
            server,
        }
    }

    /// The API's base URL (as `apihk.mch.weixin.qq.com` is the real one's).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The credentials of the merchant the fake knows, by the connector's names.
    pub fn credentials() -> BTreeMap<String, SecretString> {
        [
            ("mchid", MCHID),
            ("appid", APPID),
            ("merchant_serial_no", MERCHANT_SERIAL),
            ("private_key", MERCHANT_PRIVATE_PEM),
            ("api_v3_key", API_V3_KEY),
            ("platform_public_key", PLATFORM_PUBLIC_PEM),
            ("platform_serial", PLATFORM_SERIAL),
            ("merchant_category_code", MCC),
        ]
        .into_iter()
        .map(|(name, value)| (name.to_owned(), SecretString::from(value)))
        .collect()
    }

    /// The order, as the fake keeps it.
    pub fn order(&self, out_trade_no: &str) -> Option<FakeOrder> {
        self.shared
            .books
            .lock()
            .unwrap()
            .orders
            .get(out_trade_no)
            .cloned()
    }

    /// The refund, as the fake keeps it.
    pub fn refund(&self, out_refund_no: &str) -> Option<FakeRefund> {
        self.shared
            .books
            .lock()
            .unwrap()
            .refunds
            .get(out_refund_no)
            .cloned()
    }

    /// The requests that passed authentication, in order: (method, path?query).
    pub fn seen(&self) -> Vec<(String, String)> {
        self.shared.books.lock().unwrap().seen.clone()
    }

    /// The customer scans the QR code and pays. False when the order is not
    /// waiting to be paid.
    pub fn pay(&self, out_trade_no: &str) -> bool {
        self.settle(out_trade_no, "SUCCESS")
    }

    /// The customer's payment fails (`PAYERROR`).
    pub fn decline(&self, out_trade_no: &str) -> bool {
        self.settle(out_trade_no, "PAYERROR")
    }

    fn settle(&self, out_trade_no: &str, trade_state: &str) -> bool {
        let mut books = self.shared.books.lock().unwrap();
        books.next_id += 1;
        let id = format!("42000{:023}", books.next_id);
        match books.orders.get_mut(out_trade_no) {
            Some(order) if order.trade_state == "NOTPAY" => {
                order.trade_state = trade_state.to_owned();
                order.transaction_id = Some(id);
                true
            }
            _ => false,
        }
    }

    /// Sets a refund's status (`SUCCESS`, `CLOSED`, `ABNORMAL`, …), as WeChat
    /// Pay does once the money moved or could not.
    pub fn finish_refund(&self, out_refund_no: &str, status: &str) {
        let mut books = self.shared.books.lock().unwrap();
        if let Some(refund) = books.refunds.get_mut(out_refund_no) {
            refund.status = status.to_owned();
        }
    }

    /// The next request (of any kind) meets `fault`; several queue up.
    pub fn fail_next(&self, fault: Fault) {
        self.shared.books.lock().unwrap().faults.push(fault);
    }

    /// The payment notification of the order as it stands: the signed
    /// headers and the body, with its `resource` encrypted.
    pub fn notification(&self, out_trade_no: &str) -> (HeaderMap, Vec<u8>) {
        let order = self.order(out_trade_no).expect("no such order");
        let plaintext = serde_json::to_vec(&transaction_json(&order)).unwrap();
        let nonce = random_text(12);
        let associated_data = "transaction";
        let cipher = Aes256Gcm::new_from_slice(API_V3_KEY.as_bytes()).unwrap();
        let sealed = cipher
            .encrypt(
                Nonce::from_slice(nonce.as_bytes()),
                Payload {
                    msg: &plaintext,
                    aad: associated_data.as_bytes(),
                },
            )
            .unwrap();
        let event_type = if order.trade_state == "SUCCESS" {
            "TRANSACTION.SUCCESS".to_owned()
        } else {
            format!("TRANSACTION.{}", order.trade_state)
        };
        let body = serde_json::to_vec(&json!({
            "id": format!("EV-{}", random_text(20)),
            "create_time": chrono::Utc::now().to_rfc3339(),
            "resource_type": "encrypt-resource",
            "event_type": event_type,
            "summary": "payment result",
            "resource": {
                "original_type": "transaction",
                "algorithm": "AEAD_AES_256_GCM",
                "ciphertext": BASE64.encode(sealed),
                "associated_data": associated_data,
                "nonce": nonce,
            },
        }))
        .unwrap();
        let headers = signed_headers(&self.shared.keys, &body, false);
        (headers, body)
    }

    /// POSTs the order's notification to its `notify_url` `times` times (as
    /// WeChat Pay repeats one), and answers each (status, body) received.
    pub async fn notify(&self, out_trade_no: &str, times: usize) -> Vec<(u16, String)> {
        let url = self.order(out_trade_no).expect("no such order").notify_url;
        let client = reqwest::Client::new();
        let mut answers = Vec::new();
        for _ in 0..times {
            let (headers, body) = self.notification(out_trade_no);
            let mut request = client
                .post(&url)
                .header("Content-Type", "application/json")
                .body(body);
            for (name, value) in &headers {
                request = request.header(name.as_str(), value.to_str().unwrap());
            }
            let response = request.send().await.expect("the notify URL answered");
            let status = response.status().as_u16();
            answers.push((status, response.text().await.unwrap_or_default()));
        }
        answers
    }
}

fn random_text(length: usize) -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(length)
        .map(char::from)
        .collect()
}

/// The `Wechatpay-*` headers signing `body`; `corrupt` signs other bytes.
fn signed_headers(keys: &Keys, body: &[u8], corrupt: bool) -> HeaderMap {
    let timestamp = chrono::Utc::now().timestamp().to_string();
    let nonce = random_text(32);
    let mut message = format!("{timestamp}\n{nonce}\n").into_bytes();
    message.extend_from_slice(body);
    message.push(b'\n');
    if corrupt {
        message.push(b'!');
    }
    let signature: Signature = keys.platform.sign(&message);
    let mut headers = HeaderMap::new();
    let mut put = |name: &'static str, value: String| {
        headers.insert(name, HeaderValue::from_str(&value).unwrap());
    };
    put("Wechatpay-Serial", PLATFORM_SERIAL.to_owned());
    put("Wechatpay-Timestamp", timestamp);
    put("Wechatpay-Nonce", nonce);
    put("Wechatpay-Signature", BASE64.encode(signature.to_bytes()));
    put("Request-ID", random_text(16));
    headers
}

/// A payment as "Query Order" and the notification's resource tell it.
fn transaction_json(order: &FakeOrder) -> Value {
    let mut value = json!({
        "mchid": MCHID,
        "appid": APPID,
        "out_trade_no": order.out_trade_no,
        "trade_type": "NATIVE",
        "trade_state": order.trade_state,
        "trade_state_desc": trade_state_desc(&order.trade_state),
        "amount": {
            "total": order.total,
            "currency": order.currency,
            "payer_total": order.total,
            "payer_currency": order.currency,
        },
    });
    if let Some(id) = &order.transaction_id {
        value["id"] = json!(id);
        value["bank_type"] = json!("OTHERS");
        value["success_time"] = json!("2018-06-08T10:34:56+08:00");
        value["payer"] = json!({"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"});
    }
    value
}

fn trade_state_desc(trade_state: &str) -> &'static str {
    match trade_state {
        "SUCCESS" => "Payment successful",
        "REFUND" => "Transfer to refund",
        "NOTPAY" => "Not paid",
        "CLOSED" => "Closed",
        "PAYERROR" => "Payment failed",
        _ => "",
    }
}

/// An answer of the fake: status and JSON body (none for 204), signed.
struct Reply {
    status: StatusCode,
    body: Option<Value>,
}

fn ok(body: Value) -> Reply {
    Reply {
        status: StatusCode::OK,
        body: Some(body),
    }
}

fn refuse(status: u16, code: &str, message: &str) -> Reply {
    Reply {
        status: StatusCode::from_u16(status).unwrap(),
        body: Some(json!({"code": code, "message": message})),
    }
}

fn param_error(field: &str, issue: &str) -> Reply {
    Reply {
        status: StatusCode::BAD_REQUEST,
        body: Some(json!({
            "code": "PARAM_ERROR",
            "message": format!("{field}: {issue}"),
            "detail": {"field": field, "value": "", "issue": issue, "location": "body"},
        })),
    }
}

async fn handle(
    State(shared): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // As the real gateway, finish what was asked even when the client hung
    // up (a client that timed out must find the order placed).
    tokio::spawn(process(shared, method, uri, headers, body))
        .await
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

async fn process(
    shared: Shared,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let fault = {
        let mut books = shared.books.lock().unwrap();
        (!books.faults.is_empty()).then(|| books.faults.remove(0))
    };
    let mut corrupt = false;
    match fault {
        Some(Fault::Delay(delay)) => tokio::time::sleep(delay).await,
        Some(Fault::ServerError) => {
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                r#"{"code":"SYSTEM_ERROR","message":"system error"}"#,
            )
                .into_response()
        }
        Some(Fault::Refuse(status, code, message)) => {
            return reply(&shared, refuse(status, code, message), false)
        }
        Some(Fault::BadSignature) => corrupt = true,
        None => {}
    }
    let path_and_query = uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    if let Err(why) = authenticate(&shared.keys, &method, &path_and_query, &headers, &body) {
        return reply(&shared, refuse(401, "SIGN_ERROR", why), false);
    }
    shared
        .books
        .lock()
        .unwrap()
        .seen
        .push((method.to_string(), path_and_query.clone()));
    let answer = route(
        &shared,
        &method,
        uri.path(),
        uri.query().unwrap_or(""),
        &body,
    );
    reply(&shared, answer, corrupt)
}

fn reply(shared: &Shared, reply: Reply, corrupt: bool) -> Response {
    let body = reply
        .body
        .map(|value| serde_json::to_vec(&value).unwrap())
        .unwrap_or_default();
    let mut headers = signed_headers(&shared.keys, &body, corrupt);
    if !body.is_empty() {
        headers.insert("Content-Type", HeaderValue::from_static("application/json"));
    }
    (reply.status, headers, body).into_response()
}

/// Checks the `Authorization` header as APIv3 "Signature verification"
/// (the merchant side) describes it.
fn authenticate(
    keys: &Keys,
    method: &Method,
    path_and_query: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), &'static str> {
    let header = headers
        .get("Authorization")
        .and_then(|v| v.to_str().ok())
        .ok_or("no Authorization header")?;
    let params = header
        .strip_prefix("WECHATPAY2-SHA256-RSA2048 ")
        .ok_or("the Authorization scheme is not WECHATPAY2-SHA256-RSA2048")?;
    let mut fields = HashMap::new();
    for part in params.split(',') {
        let (name, value) = part
            .split_once('=')
            .ok_or("a malformed Authorization parameter")?;
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .ok_or("an Authorization value not in quotes")?;
        fields.insert(name.trim(), value);
    }
    let field = |name: &str| {
        fields
            .get(name)
            .copied()
            .ok_or("a missing Authorization parameter")
    };
    if field("mchid")? != MCHID {
        return Err("unknown mchid");
    }
    if field("serial_no")? != MERCHANT_SERIAL {
        return Err("unknown merchant certificate serial");
    }
    let timestamp = field("timestamp")?;
    let at: i64 = timestamp
        .parse()
        .map_err(|_| "a timestamp that is not a number")?;
    if (chrono::Utc::now().timestamp() - at).abs() > MAX_SKEW_S {
        return Err("the request's timestamp is expired");
    }
    let nonce = field("nonce_str")?;
    let mut message = format!(
        "{}\n{path_and_query}\n{timestamp}\n{nonce}\n",
        method.as_str()
    )
    .into_bytes();
    message.extend_from_slice(body);
    message.push(b'\n');
    let signature = BASE64
        .decode(field("signature")?)
        .map_err(|_| "a signature that is not base64")?;
    let signature =
        Signature::try_from(signature.as_slice()).map_err(|_| "a malformed signature")?;
    keys.merchant
        .verify(&message, &signature)
        .map_err(|_| "the signature does not verify")
}

fn route(shared: &Shared, method: &Method, path: &str, query: &str, body: &[u8]) -> Reply {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let mut books = shared.books.lock().unwrap();
    match (method.as_str(), segments.as_slice()) {
        ("POST", ["v3", "global", "transactions", "native"]) => native_order(&mut books, body),
        ("GET", ["v3", "global", "transactions", "out-trade-no", no]) => {
            query_order(&books, no, query)
        }
        ("POST", ["v3", "global", "transactions", "out-trade-no", no, "close"]) => {
            close_order(&mut books, no, body)
        }
        ("POST", ["v3", "global", "refunds"]) => new_refund(&mut books, body),
        ("GET", ["v3", "global", "refunds", "out-refund-no", no]) => {
            query_refund(&books, no, query)
        }
        _ => refuse(404, "NOT_FOUND", "no such API"),
    }
}

fn parse_body(body: &[u8]) -> Result<Value, Reply> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|_| refuse(400, "PARAM_ERROR", "the body is not JSON"))?;
    if !value.is_object() {
        return Err(refuse(400, "PARAM_ERROR", "the body is not a JSON object"));
    }
    Ok(value)
}

fn text<'v>(value: &'v Value, field: &str, max: usize) -> Result<&'v str, Reply> {
    match value.get(field).and_then(Value::as_str) {
        Some(text) if !text.is_empty() && text.chars().count() <= max => Ok(text),
        Some(_) => Err(param_error(field, "empty or too long")),
        None => Err(param_error(field, "required")),
    }
}

fn integer(value: &Value, pointer: &str) -> Result<i64, Reply> {
    value
        .pointer(pointer)
        .and_then(Value::as_i64)
        .ok_or_else(|| param_error(pointer, "required integer"))
}

fn merchant(value: &Value) -> Result<(), Reply> {
    if text(value, "mchid", 32)? != MCHID {
        return Err(refuse(400, "MCH_NOT_EXISTS", "mchid does not exist"));
    }
    if text(value, "appid", 32)? != APPID {
        return Err(refuse(
            400,
            "APPID_MCHID_NOT_MATCH",
            "appid and mchid do not match",
        ));
    }
    Ok(())
}

fn query_mchid(query: &str) -> Result<(), Reply> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
    match pairs.iter().find(|(name, _)| name == "mchid") {
        Some((_, mchid)) if mchid == MCHID => Ok(()),
        Some(_) => Err(refuse(400, "MCH_NOT_EXISTS", "mchid does not exist")),
        None => Err(refuse(400, "PARAM_ERROR", "mchid is required")),
    }
}

fn order_number_ok(no: &str) -> bool {
    !no.is_empty()
        && no.len() <= 32
        && no
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-|*".contains(&b))
}

fn native_order(books: &mut Books, body: &[u8]) -> Reply {
    let checked = (|| -> Result<FakeOrder, Reply> {
        let request = parse_body(body)?;
        merchant(&request)?;
        text(&request, "description", 127)?;
        let notify_url = text(&request, "notify_url", 256)?;
        if !(notify_url.starts_with("https://") || notify_url.starts_with("http://")) {
            return Err(param_error("notify_url", "not a URL"));
        }
        let out_trade_no = text(&request, "out_trade_no", 32)?;
        if !order_number_ok(out_trade_no) {
            return Err(param_error("out_trade_no", "letters, digits and _-|* only"));
        }
        if text(&request, "trade_type", 16)? != "NATIVE" {
            return Err(param_error("trade_type", "must be NATIVE"));
        }
        let mcc = text(&request, "merchant_category_code", 4)?;
        if mcc.len() != 4 || !mcc.bytes().all(|b| b.is_ascii_digit()) {
            return Err(param_error("merchant_category_code", "four digits"));
        }
        if let Some(expire) = request.get("time_expire") {
            let expire = expire.as_str().unwrap_or_default();
            if chrono::DateTime::parse_from_rfc3339(expire).is_err() {
                return Err(param_error("time_expire", "not RFC 3339"));
            }
        }
        let total = integer(&request, "/amount/total")?;
        if total < 1 {
            return Err(param_error("/amount/total", "must be at least 1"));
        }
        let currency = request
            .pointer("/amount/currency")
            .and_then(Value::as_str)
            .ok_or_else(|| param_error("/amount/currency", "required"))?;
        if !CURRENCIES.contains(&currency) {
            return Err(refuse(400, "PARAM_ERROR", "currency not supported"));
        }
        Ok(FakeOrder {
            out_trade_no: out_trade_no.to_owned(),
            transaction_id: None,
            total,
            currency: currency.to_owned(),
            trade_state: "NOTPAY".into(),
            notify_url: notify_url.to_owned(),
            code_url: format!("weixin://wxpay/bizpayurl?pr={}", random_text(7)),
            refunded: 0,
            request,
        })
    })();
    let order = match checked {
        Ok(order) => order,
        Err(reply) => return reply,
    };
    if let Some(existing) = books.orders.get(&order.out_trade_no) {
        return match existing.trade_state.as_str() {
            "SUCCESS" | "REFUND" => refuse(403, "ORDERPAID", "the order has been paid"),
            "CLOSED" | "REVOKED" => refuse(400, "ORDERCLOSED", "the order has been closed"),
            // The same order again is a retry: the same code_url.
            _ if existing.request == order.request => ok(json!({"code_url": existing.code_url})),
            _ => refuse(
                403,
                "OUT_TRADE_NO_USED",
                "out_trade_no is used by another order",
            ),
        };
    }
    let code_url = order.code_url.clone();
    books.orders.insert(order.out_trade_no.clone(), order);
    ok(json!({"code_url": code_url}))
}

fn query_order(books: &Books, no: &str, query: &str) -> Reply {
    if let Err(reply) = query_mchid(query) {
        return reply;
    }
    match books.orders.get(no) {
        Some(order) => ok(transaction_json(order)),
        None => refuse(404, "ORDER_NOT_EXIST", "the order does not exist"),
    }
}

fn close_order(books: &mut Books, no: &str, body: &[u8]) -> Reply {
    let request = match parse_body(body) {
        Ok(request) => request,
        Err(reply) => return reply,
    };
    match text(&request, "mchid", 32) {
        Ok(mchid) if mchid == MCHID => {}
        Ok(_) => return refuse(400, "MCH_NOT_EXISTS", "mchid does not exist"),
        Err(reply) => return reply,
    }
    let Some(order) = books.orders.get_mut(no) else {
        return refuse(404, "ORDER_NOT_EXIST", "the order does not exist");
    };
    match order.trade_state.as_str() {
        "SUCCESS" | "REFUND" => refuse(403, "ORDERPAID", "the order has been paid"),
        _ => {
            order.trade_state = "CLOSED".into();
            Reply {
                status: StatusCode::NO_CONTENT,
                body: None,
            }
        }
    }
}

/// A refund as "Query Single Refund" tells it; the answer to a new refund
/// ("Refund") has no `status` field.
fn refund_json(refund: &FakeRefund, order: &FakeOrder, with_status: bool) -> Value {
    let mut value = json!({
        "id": refund.id,
        "out_refund_no": refund.out_refund_no,
        "transaction_id": order.transaction_id,
        "out_trade_no": order.out_trade_no,
        "create_time": "2018-06-08T10:34:56+08:00",
        "status": refund.status,
        "amount": {
            "refund": refund.refund,
            "currency": order.currency,
            "payer_refund": refund.refund,
            "payer_currency": order.currency,
        },
    });
    if !with_status {
        value.as_object_mut().unwrap().remove("status");
    }
    value
}

fn new_refund(books: &mut Books, body: &[u8]) -> Reply {
    let checked = (|| -> Result<(Value, String, String, i64, i64, String), Reply> {
        let request = parse_body(body)?;
        merchant(&request)?;
        let out_trade_no = text(&request, "out_trade_no", 32)?.to_owned();
        let out_refund_no = text(&request, "out_refund_no", 64)?.to_owned();
        let refund = integer(&request, "/amount/refund")?;
        let total = integer(&request, "/amount/total")?;
        let currency = request
            .pointer("/amount/currency")
            .and_then(Value::as_str)
            .ok_or_else(|| param_error("/amount/currency", "required"))?
            .to_owned();
        if refund < 1 {
            return Err(param_error("/amount/refund", "must be at least 1"));
        }
        Ok((
            request,
            out_trade_no,
            out_refund_no,
            refund,
            total,
            currency,
        ))
    })();
    let (request, out_trade_no, out_refund_no, amount, total, currency) = match checked {
        Ok(parts) => parts,
        Err(reply) => return reply,
    };
    if let Some(existing) = books.refunds.get(&out_refund_no) {
        let order = &books.orders[&existing.out_trade_no];
        return if existing.request == request {
            ok(refund_json(existing, order, false))
        } else {
            refuse(
                400,
                "INVALID_REQUEST",
                "out_refund_no is used by another refund",
            )
        };
    }
    books.next_id += 1;
    let id = format!("50000{:023}", books.next_id);
    let Some(order) = books.orders.get_mut(&out_trade_no) else {
        return refuse(404, "ORDER_NOT_EXIST", "the order does not exist");
    };
    if !matches!(order.trade_state.as_str(), "SUCCESS" | "REFUND") {
        return refuse(403, "INVALID_REQUEST", "the order is not paid");
    }
    if total != order.total || currency != order.currency {
        return refuse(
            400,
            "INVALID_REQUEST",
            "amount.total or currency differ from the order's",
        );
    }
    if order.refunded + amount > order.total {
        return refuse(
            403,
            "NOT_ENOUGH",
            "the refund exceeds what is left to refund",
        );
    }
    order.refunded += amount;
    order.trade_state = "REFUND".into();
    let refund = FakeRefund {
        id,
        out_refund_no: out_refund_no.clone(),
        out_trade_no,
        refund: amount,
        status: "PROCESSING".into(),
        request,
    };
    let answer = refund_json(&refund, order, false);
    books.refunds.insert(out_refund_no, refund);
    ok(answer)
}

fn query_refund(books: &Books, no: &str, query: &str) -> Reply {
    if let Err(reply) = query_mchid(query) {
        return reply;
    }
    match books.refunds.get(no) {
        Some(refund) => ok(refund_json(
            refund,
            &books.orders[&refund.out_trade_no],
            true,
        )),
        None => refuse(404, "RESOURCE_NOT_EXISTS", "the refund does not exist"),
    }
}
