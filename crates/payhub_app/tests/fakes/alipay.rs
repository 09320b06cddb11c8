//! A fake of Alipay's cross-border MAPI (`gateway.do`), written from Alipay's
//! global MAPI documents, on 127.0.0.1 inside the test.
//!
//! It serves the services the connector calls — `alipay.acquire.precreate`,
//! `alipay.acquire.overseas.query`, `alipay.acquire.cancel`,
//! `alipay.acquire.overseas.spot.refund`, `alipay.acquire.refund.query` — and
//! checks each request as the real gateway would: `_input_charset` in the URL
//! and the form, `partner`, `sign_type` and the signature (MD5 with the
//! account's key, RSA2 with the merchant's public key), the service's
//! required fields, amounts written with the currency's decimals, the
//! currency, and idempotency by `out_trade_no` / `partner_refund_id`. A bad
//! request gets `<is_success>F</is_success><error>…</error>`; business
//! answers are signed as Alipay signs them (the flat `<response><alipay>`
//! fields, with the request's `sign_type`; RSA2 with Alipay's key).
//!
//! The test plays the customer (`pay`), Alipay's own timer (`close`), and
//! trouble (`fail_next`: a decline, a timeout, a 5xx), and makes Alipay send
//! its signed `trade_status_sync` notification (`notify`).
//!
//! Self-contained: the lead reuses it from `payhub_server`'s end-to-end
//! tests with `#[path]`.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use base64::Engine;
use md5::{Digest, Md5};
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
use rsa::signature::{SignatureEncoding, Signer, Verifier};
use rsa::{RsaPrivateKey, RsaPublicKey};
use sha2::Sha256;

/// The account the fake knows.
pub const PARTNER: &str = "2088101122136241";
/// Its MD5 key.
pub const MD5_KEY: &str = "fake0alipay0md5key0for0tests0000";
/// The merchant's RSA private key (PKCS#8), which payhub signs with.
pub const MERCHANT_PRIVATE_KEY: &str = r"-----BEGIN PRIVATE KEY-----
MIIEvAIBADANBgkqhkiG9w0BAQEFAASCBKYwggSiAgEAAoIBAQC1VC/Ets2YPs4t
6M9WDHqVXocXspTjjJ/EZ7V9ocbO2lfKf+pi/qOwV2WEaBX0QkBUQKFC0qfve3N2
xFFAeZASLEusPilJL/eVOIkf12gwPEcWQso/dVIeixe4HZLy+xhM8aRKTww00vpv
gjvhUgLDVysPiTQ5T5f/p00SrJmYRy2WKNu9UAqSmg7cEhc/2jGMAfbe/sgfdgQM
FHSnu8lOoa0eo3dT9z8+vwz7efbiYt+J78FPM2ibeFmia9PqCjnHiBjRN1XtJMbZ
fpHNdv2yxFgseI/2SfXaFP6ETzb6Khp5JSLWqJ6AEBWpPgQ44yfmcAhrRcL2XvAG
csgZ5DuFAgMBAAECggEAGuVu5HXdDx0ZxhOHVZMqR6eq0CgMD6iXNjHP6N+rNpmK
dh39LUvqCckc5MPvpbiCBD1F7jyC7nHYUaCTEMY3SYrKerUJuLJlvfuR02hHKwh1
3uZvS3RihudI0GWKm4IFO7yICwGopNk6jnm52hUpFcKDP52xYmLc/+3X79IsQjrk
FCSs14Vw4Vax+96bdyfWFZegQH7GcvE/Mj+6v+vrnnvWiyv3dYSVYmYRmEbSpEvN
EVz1amu4qOsGB7Exb4srRTlQ4SKYMsBFlGc8/UIzghKGQLpUAOj++o/NZBcPS5P6
BDiW7fvJe+QH6Y/n5OxdlT/08bn7wmr2Rnnmuk0IQQKBgQD27TZFNog8D6vuH7yq
c9+oualojLR3LGo498U+xHpIMgDXAY1/Pld9fEL7xmmSjNoIZnYco231f9Mq1yEC
C66YXeJXcG0L1On32oRzKytRQHXZZ7JFlJHp3jfHYidixmac9SSQaud7n8qbZneT
YIPfpMpQSXfInLYA85hvvT25dQKBgQC7/ejzKruuoDnAtE/3Afu2lIUDWY7XNhox
2curI6BtRWijJ9fhqS0tT634wnG6LqcdoeGXoBM2yNtvCDLaEMyjRaimRIv/vhmQ
v84GZJaaIvxLwGn+jscWPV1ITncPXAxyvVEm/IYiVN45aLpyTFE0x2Mj0rkpIvGS
u4WzL2Mn0QKBgASDhZByVL80UiJCNkKvZ5FAA5bDq7DaAP8VmGdzVADp2RYVEy8W
RqcmlFrh36AsLvgkV1hirGnmckfAMvxElmZ2oOKUTYn/1F8RgYZRbbNIiF73BE09
UAWEaGSeqLWnhsyrtoVlTuH1o9B/aQQqqX53FrOtBCGIq9MMoOa6ANzZAoGAEgXO
rnlbUuuDfekLfYfQJPnqIp8UZaeHLV5O+1JIEBHGbVXliXnZne10pVOm6Y2NcfbS
FOJA1VC+UM+9aFCR/dkwyPfrYBJOiyUIUG6WTaKrA2wn/UKc7ZHmfocfPPa7Lsjd
ndo51dLDF0fmEA0m/+NZqtaJ79qsxD98GuihHfECgYAF27EjcaLM+0IyDYE+cfT1
sDJ6qUN6DkY3r1TNerod0NLwVCz5/rL/LVyMHSrkVMr3FJmrQcF+0l4SAH+hlE84
snrw6OPsvs7pKDQyRyWoJ8Wl2Jxvh2V7C3wj5XPu5oB20xgA8Fr2N/XXdpsyNIcY
6UbfwUslcZ+iFXtWNCCcnQ==
-----END PRIVATE KEY-----";
/// The merchant's public key, with which the fake verifies RSA2 requests.
const MERCHANT_PUBLIC_KEY: &str = r"-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAtVQvxLbNmD7OLejPVgx6
lV6HF7KU44yfxGe1faHGztpXyn/qYv6jsFdlhGgV9EJAVEChQtKn73tzdsRRQHmQ
EixLrD4pSS/3lTiJH9doMDxHFkLKP3VSHosXuB2S8vsYTPGkSk8MNNL6b4I74VIC
w1crD4k0OU+X/6dNEqyZmEctlijbvVAKkpoO3BIXP9oxjAH23v7IH3YEDBR0p7vJ
TqGtHqN3U/c/Pr8M+3n24mLfie/BTzNom3hZomvT6go5x4gY0TdV7STG2X6RzXb9
ssRYLHiP9kn12hT+hE82+ioaeSUi1qiegBAVqT4EOOMn5nAIa0XC9l7wBnLIGeQ7
hQIDAQAB
-----END PUBLIC KEY-----";
/// Alipay's private key, with which the fake signs RSA2 answers.
const ALIPAY_PRIVATE_KEY: &str = r"-----BEGIN PRIVATE KEY-----
MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQDHgzV6LbtcSGQw
4LxPcGRxhiMWHFjsaxBYTcFbs6RHVEoBZSsGl+9Oi8x7va2FiAx8vclobG3fCxFM
b3/b1BkWBmxnad4sqFBw79p7I4/spzOUZU0UUoKvOmXigcvBT9lBB52cYvxi8GDM
QHpCWEXtL3DheKBdF8NRhjmV7RcxJM39MSeRIh94FQD8U4VCWiEnAziWP+uSQRdg
0/+qmlkzy/ApgY4A75erZDEY3g67RCWtjW85+wE/DOh5jgp9bh62NyO+Amrx4awN
8av5AcleOz+9t0vuuUARu0YIBfSrK3GMPaAb+fYNUs9dnk9+5p38aRX/WplhSbLT
2wjHA7pLAgMBAAECggEALoxn3TYvSRQgwCCm/tfHr47uv7lka+B840Vc8CLFGNlL
HPE4LSUkscw/LL2v7wAzfaUgCSuHJOtloVJAYA8nvTJJd4VFT2EDx53GeUVuTnYi
PCS4a53mnLCA1eyXl+Yj157JwJN9tC3GP9FpVPJYekK/0PM+YwnoyawJ4nd7Gj1E
YT1scky2+VdeGWMeDw76nOCMRKfMoq7827DkJ2MrvHGh6Ob8Zhifxka4QiW387kk
nMLL2dnioVa+S2SpDRjR67RB81MLJPwm8Dg5tPR7cFNGY8SMirb6VpErQ9RJAG/P
QjA410c10qxzGrhFZ/frU5zPapF7E9bu6F9LuIrfYQKBgQD9y2D7sYUe71+o+pMo
bybr2TZoy90AqLNvhNrIqKzdig2NOas3MneooeyVGbsNqvluXA97+DsXpRew97DG
8UY3SSHM/CkaRT8CFqqQ5m0a2SN5RiMZk76Aig18C/ll6SsH4Nr+X0cYaXvmaZx8
eE410031eHXgkNPx+8GwrUZ4KwKBgQDJPxFuIuGzNUzfP3O1VLO4XbG8m9U9BpuV
rrB/K8uHAQ7Apui1d3/lnNetQqJajYguJjbgc99dC4Yaf64gYlO8QV/Qod73WmIf
iIpnNKpKIrPT6RoWyv6MPSQ4JlTJi4zPuzcvSTEeYof2/SRnV8Yd+5S+V9DDNLrr
pBoc3DWWYQKBgDGmWPnEV8uefrNbGfDeFdor60YDI+AeIMRfVEHPJcpNWKtZLdKl
j90wmEzu9LYOza82WV0iScUtaf4X5sB0sQzdxLwKVKwsAdCRyJqCSbPn6NWvz+wQ
CEOzPkIXQZobTGzFI3KCBzGSaUfBP3jmPD6xcN3lzAG7s4ryeojqzQ9zAoGBALNq
ouOJ/aaD0nEGZOY5CbFI9visBcROa89a2sfGB8Ho03o2VCnUzBWtaytwyMXqgIqE
T1B0faK6b2iYhGkiwHyJ3B5o8hucXPa4CIxSi69kmOZIX5YKjD4DFJNquRSmcXeR
9XUWz8/DEGzG6vmna123ubipGdmu3SbQOueX+76BAoGBAOrEIgAAeYDHezI+pSWs
TKcw+dxtIvKRKzVEaW2oPFGAX4ClBLPaeKLqeDExjeiHkzASXQOaBm0uChWYckQq
9kGx5DaxGZ3Jhnw0PDt2w55uH6aByOXU3ydL7QwyieLD+9eL6s4yP1PMHC3jyLac
Dd/L3+iERHaX5N/mfAGvIxvv
-----END PRIVATE KEY-----";
/// Alipay's public key, which payhub verifies with.
pub const ALIPAY_PUBLIC_KEY: &str = r"-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAx4M1ei27XEhkMOC8T3Bk
cYYjFhxY7GsQWE3BW7OkR1RKAWUrBpfvTovMe72thYgMfL3JaGxt3wsRTG9/29QZ
FgZsZ2neLKhQcO/aeyOP7KczlGVNFFKCrzpl4oHLwU/ZQQednGL8YvBgzEB6QlhF
7S9w4XigXRfDUYY5le0XMSTN/TEnkSIfeBUA/FOFQlohJwM4lj/rkkEXYNP/qppZ
M8vwKYGOAO+Xq2QxGN4Ou0QlrY1vOfsBPwzoeY4KfW4etjcjvgJq8eGsDfGr+QHJ
Xjs/vbdL7rlAEbtGCAX0qytxjD2gG/n2DVLPXZ5Pfuad/GkV/1qZYUmy09sIxwO6
SwIDAQAB
-----END PUBLIC KEY-----";

/// Trouble the next request meets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The next precreate is refused (`result_code` FAIL, a risk decline).
    Decline,
    /// The next request is processed, but its answer comes after `timeout`.
    Timeout,
    /// The next request gets a 502 page and is not processed.
    ServerError,
}

/// A trade as the fake keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trade {
    pub out_trade_no: String,
    pub trade_no: String,
    pub status: String,
    /// `total_fee` as the request wrote it.
    pub total_fee: String,
    pub currency: String,
    pub subject: String,
    pub notify_url: String,
    pub payment_inst: String,
    pub qr_code: String,
    /// In minor units of `currency`.
    pub total_minor: i64,
    pub refunded_minor: i64,
    /// The `sign_type` the trade was created with; its notifications use it.
    pub sign_type: String,
}

#[derive(Clone, Debug)]
struct RefundRecord {
    out_trade_no: String,
    amount_minor: i64,
}

#[derive(Default)]
struct Books {
    trades: BTreeMap<String, Trade>,
    refunds: BTreeMap<String, RefundRecord>,
    failures: Vec<Failure>,
    services: Vec<String>,
    next_id: u64,
}

struct Shared {
    books: Mutex<Books>,
    merchant_public: RsaPublicKey,
    alipay_private: RsaPrivateKey,
    timeout: Duration,
}

/// The running fake.
pub struct FakeAlipay {
    shared: Arc<Shared>,
    address: SocketAddr,
    http: reqwest::Client,
}

impl FakeAlipay {
    /// Starts the fake on 127.0.0.1; a `Failure::Timeout` answer waits 2 s.
    pub async fn start() -> FakeAlipay {
        Self::start_with_timeout(Duration::from_secs(2)).await
    }

    /// Starts the fake with the delay of a timed-out answer.
    pub async fn start_with_timeout(timeout: Duration) -> FakeAlipay {
        let shared = Arc::new(Shared {
            books: Mutex::new(Books::default()),
            merchant_public: RsaPublicKey::from_public_key_pem(MERCHANT_PUBLIC_KEY).unwrap(),
            alipay_private: RsaPrivateKey::from_pkcs8_pem(ALIPAY_PRIVATE_KEY).unwrap(),
            timeout,
        });
        let app = Router::new()
            .route("/gateway.do", post(gateway))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        FakeAlipay {
            shared,
            address,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .unwrap(),
        }
    }

    /// The gateway URL (`…/gateway.do`), the account's base URL.
    pub fn base_url(&self) -> url::Url {
        format!("http://{}/gateway.do", self.address)
            .parse()
            .unwrap()
    }

    /// An MD5 account's credentials.
    pub fn md5_credentials() -> Vec<(&'static str, &'static str)> {
        vec![("partner_id", PARTNER), ("md5_key", MD5_KEY)]
    }

    /// An RSA2 account's credentials.
    pub fn rsa2_credentials() -> Vec<(&'static str, &'static str)> {
        vec![
            ("partner_id", PARTNER),
            ("private_key", MERCHANT_PRIVATE_KEY),
            ("alipay_public_key", ALIPAY_PUBLIC_KEY),
        ]
    }

    /// The next request meets `failure` (queued, first in first out).
    pub fn fail_next(&self, failure: Failure) {
        self.books().failures.push(failure);
    }

    /// The trade of `out_trade_no`, as the fake keeps it.
    pub fn trade(&self, out_trade_no: &str) -> Option<Trade> {
        self.books().trades.get(out_trade_no).cloned()
    }

    /// The services called so far, in order (accepted or not).
    pub fn services_called(&self) -> Vec<String> {
        self.books().services.clone()
    }

    /// The customer scans the code and pays. False when the trade is not
    /// waiting for payment.
    pub fn pay(&self, out_trade_no: &str) -> bool {
        let mut books = self.books();
        match books.trades.get_mut(out_trade_no) {
            Some(trade) if trade.status == "WAIT_BUYER_PAY" => {
                trade.status = "TRADE_SUCCESS".into();
                true
            }
            _ => false,
        }
    }

    /// Alipay closes the unpaid trade (its payment time ran out).
    pub fn close(&self, out_trade_no: &str) -> bool {
        let mut books = self.books();
        match books.trades.get_mut(out_trade_no) {
            Some(trade) if trade.status == "WAIT_BUYER_PAY" => {
                trade.status = "TRADE_CLOSED".into();
                true
            }
            _ => false,
        }
    }

    /// The signed `trade_status_sync` notification of the trade, as the
    /// form body Alipay POSTs.
    pub fn notification_body(&self, out_trade_no: &str) -> String {
        let trade = self.trade(out_trade_no).expect("no such trade");
        let mut fields = BTreeMap::new();
        fields.insert("notify_time".to_owned(), beijing_now());
        fields.insert("notify_type".to_owned(), "trade_status_sync".to_owned());
        fields.insert("notify_id".to_owned(), format!("{:032x}", rand_id()));
        fields.insert(
            "notify_action_type".to_owned(),
            "payByAccountAction".to_owned(),
        );
        fields.insert("out_trade_no".to_owned(), trade.out_trade_no.clone());
        fields.insert("trade_no".to_owned(), trade.trade_no.clone());
        fields.insert("trade_status".to_owned(), trade.status.clone());
        fields.insert("total_fee".to_owned(), trade.total_fee.clone());
        fields.insert("currency".to_owned(), trade.currency.clone());
        fields.insert("subject".to_owned(), trade.subject.clone());
        fields.insert("seller_id".to_owned(), PARTNER.to_owned());
        let sign = self.shared.sign(&trade.sign_type, &signing_text(&fields));
        fields.insert("sign".to_owned(), sign);
        fields.insert("sign_type".to_owned(), trade.sign_type.clone());
        serde_urlencoded::to_string(&fields).unwrap()
    }

    /// Sends the trade's notification to its `notify_url` `times` times;
    /// answers what payhub replied each time (status and body).
    pub async fn notify(&self, out_trade_no: &str, times: usize) -> Vec<(u16, String)> {
        let url = self.trade(out_trade_no).expect("no such trade").notify_url;
        let mut replies = Vec::new();
        for _ in 0..times {
            let body = self.notification_body(out_trade_no);
            let reply = self
                .http
                .post(&url)
                .header(
                    "content-type",
                    "application/x-www-form-urlencoded; charset=utf-8",
                )
                .body(body)
                .send()
                .await
                .expect("payhub did not take the notification");
            let status = reply.status().as_u16();
            replies.push((status, reply.text().await.unwrap_or_default()));
        }
        replies
    }

    fn books(&self) -> std::sync::MutexGuard<'_, Books> {
        self.shared.books.lock().unwrap()
    }
}

impl Shared {
    /// Signs as Alipay signs, in `sign_type`.
    fn sign(&self, sign_type: &str, text: &str) -> String {
        if sign_type == "RSA2" {
            let key = SigningKey::<Sha256>::new(self.alipay_private.clone());
            let signature: Signature = key.sign(text.as_bytes());
            base64::engine::general_purpose::STANDARD.encode(signature.to_bytes())
        } else {
            md5_hex(&format!("{text}{MD5_KEY}"))
        }
    }

    /// Verifies a merchant's request signature.
    fn verify(&self, sign_type: &str, text: &str, sign: &str) -> bool {
        match sign_type {
            "MD5" => md5_hex(&format!("{text}{MD5_KEY}")) == sign,
            "RSA2" => {
                let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(sign) else {
                    return false;
                };
                let Ok(signature) = Signature::try_from(bytes.as_slice()) else {
                    return false;
                };
                VerifyingKey::<Sha256>::new(self.merchant_public.clone())
                    .verify(text.as_bytes(), &signature)
                    .is_ok()
            }
            _ => false,
        }
    }
}

fn md5_hex(text: &str) -> String {
    Md5::digest(text.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

fn rand_id() -> u128 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

fn beijing_now() -> String {
    let offset = chrono::FixedOffset::east_opt(8 * 3600).unwrap();
    chrono::Utc::now()
        .with_timezone(&offset)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// Alipay's signed text: sorted, without `sign`, `sign_type`, empty values.
fn signing_text(fields: &BTreeMap<String, String>) -> String {
    fields
        .iter()
        .filter(|(k, v)| *k != "sign" && *k != "sign_type" && !v.is_empty())
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn xml(body: String) -> Response {
    (
        StatusCode::OK,
        [("content-type", "text/xml; charset=utf-8")],
        format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<alipay>{body}</alipay>"),
    )
        .into_response()
}

/// `is_success=F`: the gateway refuses the request itself.
fn refused(error: &str) -> Response {
    xml(format!("<is_success>F</is_success><error>{error}</error>"))
}

/// What a handler decided: the business fields of the answer.
type Answer = BTreeMap<String, String>;

fn answer(fields: &[(&str, &str)]) -> Answer {
    fields
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

async fn gateway(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let failure = {
        let mut books = shared.books.lock().unwrap();
        if books.failures.is_empty() {
            None
        } else {
            Some(books.failures.remove(0))
        }
    };
    if failure == Some(Failure::ServerError) {
        return (StatusCode::BAD_GATEWAY, "<html>502 Bad Gateway</html>").into_response();
    }
    let response = handle(&shared, query.as_deref(), &body, failure);
    if failure == Some(Failure::Timeout) {
        tokio::time::sleep(shared.timeout).await;
    }
    response
}

fn handle(shared: &Shared, query: Option<&str>, body: &[u8], failure: Option<Failure>) -> Response {
    let pairs: Vec<(String, String)> = match serde_urlencoded::from_bytes(body) {
        Ok(pairs) => pairs,
        Err(_) => return refused("ILLEGAL_ARGUMENT"),
    };
    let mut form = BTreeMap::new();
    for (name, value) in pairs {
        if form.insert(name, value).is_some() {
            return refused("ILLEGAL_ARGUMENT");
        }
    }
    let service = form.get("service").cloned().unwrap_or_default();
    shared.books.lock().unwrap().services.push(service.clone());
    // "If you use POST method, please specify _input_charset in the request URL."
    let url_charset: Option<String> = query
        .and_then(|q| serde_urlencoded::from_str::<Vec<(String, String)>>(q).ok())
        .and_then(|q| {
            q.into_iter()
                .find(|(k, _)| k == "_input_charset")
                .map(|(_, v)| v)
        });
    let charset_ok = |c: Option<&String>| c.is_some_and(|c| c.eq_ignore_ascii_case("UTF-8"));
    if !charset_ok(url_charset.as_ref()) || !charset_ok(form.get("_input_charset")) {
        return refused("ILLEGAL_CHARSET");
    }
    if form.get("partner").map(String::as_str) != Some(PARTNER) {
        return refused("ILLEGAL_PARTNER");
    }
    let sign_type = form.get("sign_type").cloned().unwrap_or_default();
    if sign_type != "MD5" && sign_type != "RSA2" {
        return refused("ILLEGAL_SIGN_TYPE");
    }
    let sign = form.get("sign").cloned().unwrap_or_default();
    if !shared.verify(&sign_type, &signing_text(&form), &sign) {
        return refused("ILLEGAL_SIGN");
    }
    let outcome = {
        let mut books = shared.books.lock().unwrap();
        match service.as_str() {
            "alipay.acquire.precreate" => precreate(&mut books, &form, &sign_type, failure),
            "alipay.acquire.overseas.query" => query_trade(&books, &form),
            "alipay.acquire.cancel" => cancel(&mut books, &form),
            "alipay.acquire.overseas.spot.refund" => refund(&mut books, &form),
            "alipay.acquire.refund.query" => refund_query(&books, &form),
            _ => Err("ILLEGAL_SERVICE"),
        }
    };
    match outcome {
        Ok(fields) => {
            let sign = shared.sign(&sign_type, &signing_text(&fields));
            let request: String = form
                .iter()
                .filter(|(k, _)| *k != "sign")
                .map(|(k, v)| format!("<param name=\"{}\">{}</param>", escape(k), escape(v)))
                .collect();
            let inner: String = fields
                .iter()
                .map(|(k, v)| format!("<{k}>{}</{k}>", escape(v)))
                .collect();
            xml(format!(
                "<is_success>T</is_success><request>{request}</request><response><alipay>{inner}</alipay></response><sign>{sign}</sign><sign_type>{sign_type}</sign_type>"
            ))
        }
        Err(error) => refused(error),
    }
}

fn required<'a>(form: &'a BTreeMap<String, String>, name: &str) -> Result<&'a str, &'static str> {
    form.get(name)
        .map(String::as_str)
        .filter(|v| !v.is_empty())
        .ok_or("ILLEGAL_ARGUMENT")
}

/// Decimals Alipay takes in `currency` (JPY and KRW none, the others two).
fn currency_decimals(currency: &str) -> Option<u32> {
    const SUPPORTED: &[&str] = &[
        "HKD", "CNY", "USD", "EUR", "GBP", "SGD", "AUD", "CAD", "CHF", "NZD", "THB", "MYR",
    ];
    match currency {
        "JPY" | "KRW" => Some(0),
        c if SUPPORTED.contains(&c) => Some(2),
        _ => None,
    }
}

/// An amount as Alipay reads it: digits with at most the currency's decimals.
fn parse_amount(text: &str, decimals: u32) -> Option<i64> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || !digits(fraction) {
        return None;
    }
    if text.contains('.') && (fraction.is_empty() || decimals == 0) {
        return None;
    }
    if u32::try_from(fraction.len()).ok()? > decimals {
        return None;
    }
    let mut padded = fraction.to_owned();
    while u32::try_from(padded.len()).ok()? < decimals {
        padded.push('0');
    }
    let scale = 10_i64.pow(decimals);
    let fraction: i64 = if padded.is_empty() {
        0
    } else {
        padded.parse().ok()?
    };
    whole
        .parse::<i64>()
        .ok()?
        .checked_mul(scale)?
        .checked_add(fraction)
}

fn precreate(
    books: &mut Books,
    form: &BTreeMap<String, String>,
    sign_type: &str,
    failure: Option<Failure>,
) -> Result<Answer, &'static str> {
    let notify_url = required(form, "notify_url")?;
    let timestamp = required(form, "timestamp")?;
    // The global docs write GMT+8 `yyyy-MM-dd HH:mm:ss`; the AlipayHK page
    // shows epoch milliseconds. Either is taken.
    let readable = chrono::NaiveDateTime::parse_from_str(timestamp, "%Y-%m-%d %H:%M:%S").is_ok()
        || (timestamp.len() == 13 && timestamp.bytes().all(|b| b.is_ascii_digit()));
    if !readable {
        return Err("ILLEGAL_ARGUMENT");
    }
    let out_trade_no = required(form, "out_trade_no")?;
    let subject = required(form, "subject")?;
    if required(form, "product_code")? != "OVERSEAS_MBARCODE_PAY" {
        return Err("ILLEGAL_ARGUMENT");
    }
    let total_fee = required(form, "total_fee")?;
    let trans_currency = required(form, "trans_currency")?;
    required(form, "currency")?;
    let payment_inst = form
        .get("payment_inst")
        .cloned()
        .unwrap_or_else(|| "ALIPAYCN".into());
    if payment_inst != "ALIPAYCN" && payment_inst != "ALIPAYHK" {
        return Err("ILLEGAL_ARGUMENT");
    }
    let fail = |code: &str, description: &str| {
        Ok(answer(&[
            ("result_code", "FAIL"),
            ("detail_error_code", code),
            ("detail_error_des", description),
            ("out_trade_no", out_trade_no),
        ]))
    };
    let Some(decimals) = currency_decimals(trans_currency) else {
        return fail("CURRENCY_NOT_SUPPORT", "the currency is not supported");
    };
    if payment_inst == "ALIPAYHK" && trans_currency != "HKD" {
        return fail("CURRENCY_NOT_SUPPORT", "AlipayHK takes HKD only");
    }
    let total_minor = match parse_amount(total_fee, decimals) {
        Some(minor) if minor > 0 => minor,
        _ => return fail("TOTAL_FEE_EXCEED", "total_fee is not a valid amount"),
    };
    if failure == Some(Failure::Decline) {
        return fail("RISK_CONTROL_REFUSED", "the risk check refused the trade");
    }
    if let Some(trade) = books.trades.get(out_trade_no) {
        // The same order again (the same number with the same business
        // parameters) gets the same code while it waits; another order under
        // a used number, or a paid or closed one, is refused.
        if trade.total_minor == total_minor
            && trade.currency == trans_currency
            && trade.subject == subject
            && trade.notify_url == notify_url
            && trade.payment_inst == payment_inst
            && trade.status == "WAIT_BUYER_PAY"
        {
            return Ok(precreated(trade));
        }
        return fail(
            "OUT_TRADE_NO_USED",
            "out_trade_no was used for another trade",
        );
    }
    books.next_id += 1;
    let trade = Trade {
        out_trade_no: out_trade_no.to_owned(),
        trade_no: format!("2026112522{:018}", books.next_id),
        status: "WAIT_BUYER_PAY".into(),
        total_fee: total_fee.to_owned(),
        currency: trans_currency.to_owned(),
        subject: subject.to_owned(),
        notify_url: notify_url.to_owned(),
        payment_inst,
        qr_code: format!("https://qr.alipay.com/bax{:016x}", books.next_id),
        total_minor,
        refunded_minor: 0,
        sign_type: sign_type.to_owned(),
    };
    let answer = precreated(&trade);
    books.trades.insert(out_trade_no.to_owned(), trade);
    Ok(answer)
}

fn precreated(trade: &Trade) -> Answer {
    answer(&[
        ("result_code", "SUCCESS"),
        ("out_trade_no", &trade.out_trade_no),
        ("qr_code", &trade.qr_code),
        ("voucher_type", "qrcode"),
    ])
}

fn query_trade(books: &Books, form: &BTreeMap<String, String>) -> Result<Answer, &'static str> {
    let id = required(form, "partner_trans_id")?;
    let Some(trade) = books.trades.get(id) else {
        return Ok(answer(&[
            ("result_code", "FAIL"),
            ("error", "TRADE_NOT_EXIST"),
        ]));
    };
    Ok(answer(&[
        ("result_code", "SUCCESS"),
        ("partner_trans_id", &trade.out_trade_no),
        ("alipay_trans_id", &trade.trade_no),
        ("alipay_trans_status", &trade.status),
        ("trans_amount", &trade.total_fee),
        ("currency", &trade.currency),
    ]))
}

fn cancel(books: &mut Books, form: &BTreeMap<String, String>) -> Result<Answer, &'static str> {
    required(form, "timestamp")?;
    let id = required(form, "out_trade_no")?;
    let Some(trade) = books.trades.get_mut(id) else {
        return Ok(answer(&[
            ("result_code", "FAIL"),
            ("detail_error_code", "TRADE_NOT_EXIST"),
            ("retry_flag", "N"),
        ]));
    };
    // A paid trade is cancelled by refunding it in full (`action` refund).
    let action = if trade.status == "TRADE_SUCCESS" {
        trade.refunded_minor = trade.total_minor;
        "refund"
    } else {
        "close"
    };
    trade.status = "TRADE_CLOSED".into();
    Ok(answer(&[
        ("result_code", "SUCCESS"),
        ("out_trade_no", &trade.out_trade_no),
        ("trade_no", &trade.trade_no),
        ("retry_flag", "N"),
        ("action", action),
    ]))
}

fn refund(books: &mut Books, form: &BTreeMap<String, String>) -> Result<Answer, &'static str> {
    let id = required(form, "partner_trans_id")?;
    let refund_id = required(form, "partner_refund_id")?;
    let amount = required(form, "refund_amount")?;
    let currency = required(form, "currency")?;
    let fail = |code: &str| Ok(answer(&[("result_code", "FAIL"), ("error", code)]));
    let Some(trade) = books.trades.get(id).cloned() else {
        return fail("PURCHASE_TRADE_NOT_EXIST");
    };
    if currency != trade.currency {
        return fail("CURRENCY_NOT_SAME");
    }
    let Some(minor) = currency_decimals(currency)
        .and_then(|d| parse_amount(amount, d))
        .filter(|m| *m > 0)
    else {
        return fail("REFUND_AMOUNT_INVALID");
    };
    let done = |trade: &Trade| {
        Ok(answer(&[
            ("result_code", "SUCCESS"),
            ("partner_trans_id", &trade.out_trade_no),
            ("alipay_trans_id", &trade.trade_no),
            ("partner_refund_id", refund_id),
            ("refund_amount", amount),
            ("currency", currency),
        ]))
    };
    if let Some(earlier) = books.refunds.get(refund_id) {
        // The same refund again is answered, not made twice.
        if earlier.out_trade_no == id && earlier.amount_minor == minor {
            return done(&trade);
        }
        return fail("REPEAT_REFUND_REQUEST");
    }
    if trade.status != "TRADE_SUCCESS" {
        return fail("TRADE_STATUS_ERROR");
    }
    if trade.refunded_minor + minor > trade.total_minor {
        return fail("REFUND_AMT_RESTRICTION");
    }
    let stored = books.trades.get_mut(id).unwrap();
    stored.refunded_minor += minor;
    if stored.refunded_minor == stored.total_minor {
        stored.status = "TRADE_CLOSED".into();
    }
    books.refunds.insert(
        refund_id.to_owned(),
        RefundRecord {
            out_trade_no: id.to_owned(),
            amount_minor: minor,
        },
    );
    done(&trade)
}

fn refund_query(books: &Books, form: &BTreeMap<String, String>) -> Result<Answer, &'static str> {
    let id = required(form, "out_trade_no")?;
    let refund_id = required(form, "out_return_no")?;
    let Some(trade) = books.trades.get(id) else {
        return Ok(answer(&[("response_code", "TRADE_NOT_EXIST")]));
    };
    match books.refunds.get(refund_id) {
        Some(refund) if refund.out_trade_no == id => Ok(answer(&[
            ("response_code", "SUCCESS"),
            ("refund_result_code", "SUCCESS"),
            ("out_trade_no", id),
            ("out_return_no", refund_id),
            ("trade_no", &trade.trade_no),
        ])),
        _ => Ok(answer(&[("response_code", "NOT_FOUND")])),
    }
}
