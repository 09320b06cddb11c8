//! The WeChat Pay connector against a fake of WeChat Pay's cross-border API
//! v3 (`fakes/wechatpay.rs`), only through the `Connector` trait: the fake
//! checks every request's signature and fields as the real API does and signs
//! every answer, so these tests fail if the connector signs, verifies,
//! encrypts or maps anything differently from the documentation.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "fakes/wechatpay.rs"]
mod fake;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::routing::post;
use axum::Router;
use chrono::Utc;
use fake::{FakeWechatPay, Fault};
use payhub_app::gateways::account::{AccountConfig, AccountError};
use payhub_app::gateways::connector::{
    GatewayError, GatewayRef, Notification, RefundRef, RefundRequest, StartRequest, Started,
};
use payhub_app::gateways::wechatpay::{self, WechatPayConnector};
use payhub_app::gateways::{Connector, GatewayKind};
use payhub_core::{Currency, GatewayState, Money, PaymentId, RefundId, RefundState};
use secrecy::SecretString;

/// How long the connector's HTTP client waits for an answer.
const CLIENT_TIMEOUT: Duration = Duration::from_millis(600);

type Received = Arc<Mutex<Vec<Result<Notification, GatewayError>>>>;

/// The fake, a connector pointed at it, and payhub's notification endpoint
/// (which parses what arrives with the connector and answers its
/// acknowledgement, or 400).
struct Setup {
    fake: FakeWechatPay,
    connector: Arc<WechatPayConnector>,
    received: Received,
}

fn account(base_url: &str, notify_url: &str) -> AccountConfig {
    AccountConfig {
        account_id: "ca_wechatpay_test".into(),
        base_url: base_url.parse().unwrap(),
        notify_url: notify_url.parse().unwrap(),
        live: false,
        credentials: FakeWechatPay::credentials(),
        http: reqwest::Client::builder()
            .timeout(CLIENT_TIMEOUT)
            .build()
            .unwrap(),
    }
}

async fn receive(
    State((connector, received)): State<(Arc<WechatPayConnector>, Received)>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, [(&'static str, &'static str); 1], &'static str) {
    let parsed = connector.parse_notification(&headers, &body);
    let ok = parsed.is_ok();
    received.lock().unwrap().push(parsed);
    let ack = connector.acknowledgement();
    if ok {
        (
            StatusCode::OK,
            [("content-type", ack.content_type)],
            ack.body,
        )
    } else {
        (
            StatusCode::BAD_REQUEST,
            [("content-type", "application/json")],
            r#"{"code":"FAIL","message":"not verified"}"#,
        )
    }
}

async fn setup() -> Setup {
    let fake = FakeWechatPay::start().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let notify_url = format!(
        "http://{}/notify/ca_wechatpay_test",
        listener.local_addr().unwrap()
    );
    let connector = Arc::new(
        WechatPayConnector::from_account(
            GatewayKind::Wxpay,
            &account(&fake.base_url(), &notify_url),
        )
        .unwrap(),
    );
    let received: Received = Arc::default();
    let app = Router::new()
        .route("/notify/ca_wechatpay_test", post(receive))
        .with_state((connector.clone(), received.clone()));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Setup {
        fake,
        connector,
        received,
    }
}

fn money(text: &str, code: &str) -> Money {
    Money::parse_decimal(text, Currency::parse(code).unwrap()).unwrap()
}

fn start_request(amount: Money) -> StartRequest {
    StartRequest {
        payment_id: PaymentId::generate(Utc::now()),
        amount,
        subject: Some("Coffee beans 1kg".into()),
        expires_at: Utc::now() + chrono::Duration::minutes(10),
        save_card: None,
    }
}

fn reference(request: &StartRequest) -> GatewayRef {
    GatewayRef::new(request.payment_id, None)
}

async fn started(setup: &Setup, amount: Money) -> (StartRequest, String) {
    let request = start_request(amount);
    match setup.connector.start(&request).await.unwrap() {
        Started::Qr { gw_ref, qr_content } => {
            assert_eq!(gw_ref, request.payment_id.to_string());
            (request, qr_content)
        }
        other => panic!("a Native order is a QR code, not {other:?}"),
    }
}

#[tokio::test]
async fn a_started_order_is_a_qr_code_the_customer_pays_and_a_query_sees_paid() {
    let setup = setup().await;
    let (request, qr_content) = started(&setup, money("88.80", "HKD")).await;
    let out_trade_no = request.payment_id.to_string();
    let order = setup.fake.order(&out_trade_no).unwrap();
    assert_eq!(qr_content, order.code_url);
    assert!(qr_content.starts_with("weixin://wxpay/bizpayurl"));
    assert_eq!((order.total, order.currency.as_str()), (8880, "HKD"));

    let waiting = setup.connector.query(&reference(&request)).await.unwrap();
    assert_eq!(waiting.state, GatewayState::AwaitingCustomer);
    assert_eq!(waiting.gw_ref, None);

    assert!(setup.fake.pay(&out_trade_no));
    let paid = setup.connector.query(&reference(&request)).await.unwrap();
    assert_eq!(paid.state, GatewayState::Succeeded);
    assert_eq!(
        paid.gw_ref,
        setup.fake.order(&out_trade_no).unwrap().transaction_id
    );
    assert_eq!(paid.code.unwrap().0, "SUCCESS");
}

#[tokio::test]
async fn a_notification_sent_twice_parses_the_same_both_times_and_is_acknowledged() {
    let setup = setup().await;
    let (request, _) = started(&setup, money("12.34", "USD")).await;
    let out_trade_no = request.payment_id.to_string();
    setup.fake.pay(&out_trade_no);

    let answers = setup.fake.notify(&out_trade_no, 2).await;
    let ack = setup.connector.acknowledgement();
    assert_eq!(ack.body, r#"{"code":"SUCCESS","message":"OK"}"#);
    for (status, body) in &answers {
        assert_eq!((*status, body.as_str()), (200, ack.body));
    }
    let received = setup.received.lock().unwrap().clone();
    assert_eq!(received.len(), 2);
    let first = received[0].clone().unwrap();
    assert_eq!(received[1].clone().unwrap(), first);
    assert_eq!(first.payment_id, request.payment_id);
    assert_eq!(first.report.state, GatewayState::Succeeded);
    assert_eq!(
        first.report.gw_ref,
        setup.fake.order(&out_trade_no).unwrap().transaction_id
    );
}

#[tokio::test]
async fn a_failed_payment_is_declined_by_query_and_by_notification() {
    let setup = setup().await;
    let (request, _) = started(&setup, money("50", "CNY")).await;
    let out_trade_no = request.payment_id.to_string();
    assert!(setup.fake.decline(&out_trade_no));

    let report = setup.connector.query(&reference(&request)).await.unwrap();
    assert_eq!(report.state, GatewayState::Declined);
    assert_eq!(report.code.unwrap().0, "PAYERROR");
    setup.fake.notify(&out_trade_no, 1).await;
    let notified = setup.received.lock().unwrap()[0].clone().unwrap();
    assert_eq!(notified.report.state, GatewayState::Declined);
}

#[tokio::test]
async fn a_start_that_times_out_is_unknown_and_a_query_finds_the_order() {
    let setup = setup().await;
    setup.fake.fail_next(Fault::Delay(CLIENT_TIMEOUT * 2));
    let request = start_request(money("10", "HKD"));
    assert_eq!(
        setup.connector.start(&request).await,
        Err(GatewayError::Timeout)
    );
    // The fake placed the order after the client gave up.
    tokio::time::sleep(CLIENT_TIMEOUT * 2).await;
    let report = setup.connector.query(&reference(&request)).await.unwrap();
    assert_eq!(report.state, GatewayState::AwaitingCustomer);
}

#[tokio::test]
async fn a_5xx_or_a_system_error_is_an_unknown_outcome_not_a_failure() {
    let setup = setup().await;
    setup.fake.fail_next(Fault::ServerError);
    let request = start_request(money("10", "HKD"));
    assert_eq!(
        setup.connector.start(&request).await,
        Err(GatewayError::Timeout)
    );
    assert!(setup.fake.order(&request.payment_id.to_string()).is_none());

    setup
        .fake
        .fail_next(Fault::Refuse(400, "SYSTEMERROR", "system busy"));
    assert_eq!(
        setup.connector.start(&request).await,
        Err(GatewayError::Timeout)
    );
}

#[tokio::test]
async fn an_answer_whose_signature_does_not_verify_is_not_trusted() {
    let setup = setup().await;
    let (request, _) = started(&setup, money("10", "HKD")).await;
    setup.fake.pay(&request.payment_id.to_string());
    setup.fake.fail_next(Fault::BadSignature);
    assert_eq!(
        setup.connector.query(&reference(&request)).await,
        Err(GatewayError::Timeout)
    );
    // A connector that trusts another WeChat Pay public key trusts nothing.
    let mut other = account(&setup.fake.base_url(), "http://127.0.0.1:9/notify");
    other.credentials.insert(
        "platform_public_key".into(),
        SecretString::from(fake::MERCHANT_PUBLIC_PEM),
    );
    let other = WechatPayConnector::from_account(GatewayKind::Wxpay, &other).unwrap();
    assert_eq!(
        other.query(&reference(&request)).await,
        Err(GatewayError::Timeout)
    );
}

#[tokio::test]
async fn a_request_signed_with_another_key_is_refused_by_the_gateway() {
    let setup = setup().await;
    let mut wrong = account(&setup.fake.base_url(), "http://127.0.0.1:9/notify");
    wrong.credentials.insert(
        "private_key".into(),
        SecretString::from(fake::PLATFORM_PRIVATE_PEM),
    );
    let wrong = WechatPayConnector::from_account(GatewayKind::Wxpay, &wrong).unwrap();
    let request = start_request(money("10", "HKD"));
    assert!(matches!(
        wrong.start(&request).await,
        Err(GatewayError::Rejected { code, .. }) if code == "SIGN_ERROR"
    ));
    assert!(setup.fake.seen().is_empty());
}

#[tokio::test]
async fn an_unpaid_order_is_closed_and_a_paid_one_says_it_is_paid() {
    let setup = setup().await;
    let (request, _) = started(&setup, money("10", "HKD")).await;
    let canceled = setup.connector.cancel(&reference(&request)).await.unwrap();
    assert_eq!(canceled.state, GatewayState::Canceled);
    let out_trade_no = request.payment_id.to_string();
    assert_eq!(
        setup.fake.order(&out_trade_no).unwrap().trade_state,
        "CLOSED"
    );
    assert!(
        !setup.fake.pay(&out_trade_no),
        "a closed order cannot be paid"
    );
    let report = setup.connector.query(&reference(&request)).await.unwrap();
    assert_eq!(report.state, GatewayState::Canceled);

    let (paid, _) = started(&setup, money("10", "HKD")).await;
    setup.fake.pay(&paid.payment_id.to_string());
    let report = setup.connector.cancel(&reference(&paid)).await.unwrap();
    assert_eq!(report.state, GatewayState::Succeeded);
}

#[tokio::test]
async fn a_partial_refund_is_processing_then_a_refund_query_sees_it_succeed() {
    let setup = setup().await;
    let total = money("100.00", "HKD");
    let (request, _) = started(&setup, total).await;
    setup.fake.pay(&request.payment_id.to_string());

    let refund = RefundRequest {
        refund_id: RefundId::generate(Utc::now()),
        payment: reference(&request),
        payment_amount: total,
        amount: money("30.00", "HKD"),
    };
    let report = setup.connector.refund(&refund).await.unwrap();
    assert_eq!(report.state, RefundState::Unknown);
    let booked = setup.fake.refund(&refund.refund_id.to_string()).unwrap();
    assert_eq!(report.gw_ref.as_deref(), Some(booked.id.as_str()));
    assert_eq!(booked.refund, 3000);

    let refund_ref = RefundRef {
        refund_id: refund.refund_id,
        gw_ref: report.gw_ref.clone(),
        payment: reference(&request),
    };
    let processing = setup.connector.query_refund(&refund_ref).await.unwrap();
    assert_eq!(processing.state, RefundState::Unknown);
    setup.fake.finish_refund(&booked.out_refund_no, "SUCCESS");
    let done = setup.connector.query_refund(&refund_ref).await.unwrap();
    assert_eq!(done.state, RefundState::Succeeded);

    // The same refund again is a retry, answered alike.
    assert_eq!(
        setup.connector.refund(&refund).await.unwrap().gw_ref,
        report.gw_ref
    );
    // More than is left is refused; an unknown refund is not found.
    let too_much = RefundRequest {
        refund_id: RefundId::generate(Utc::now()),
        amount: money("70.01", "HKD"),
        ..refund.clone()
    };
    assert!(matches!(
        setup.connector.refund(&too_much).await,
        Err(GatewayError::Rejected { code, .. }) if code == "NOT_ENOUGH"
    ));
    let unknown = RefundRef {
        refund_id: RefundId::generate(Utc::now()),
        gw_ref: None,
        payment: reference(&request),
    };
    assert_eq!(
        setup.connector.query_refund(&unknown).await,
        Err(GatewayError::NotFound)
    );
}

#[tokio::test]
async fn a_tampered_stale_or_foreign_notification_is_refused() {
    let setup = setup().await;
    let (request, _) = started(&setup, money("10", "HKD")).await;
    let out_trade_no = request.payment_id.to_string();
    setup.fake.pay(&out_trade_no);
    let (headers, body) = setup.fake.notification(&out_trade_no);
    let connector = &setup.connector;
    assert!(connector.parse_notification(&headers, &body).is_ok());

    let mut altered = body.clone();
    let at = altered.iter().position(|b| *b == b'{').unwrap() + 1;
    altered.insert(at, b' ');
    let mut forged = headers.clone();
    forged.insert("Wechatpay-Signature", HeaderValue::from_static("AAAA"));
    let mut other_serial = headers.clone();
    other_serial.insert(
        "Wechatpay-Serial",
        HeaderValue::from_static("PUB_KEY_ID_OTHER"),
    );
    let mut unsigned = headers.clone();
    unsigned.remove("Wechatpay-Signature");
    let cases: [(&str, &HeaderMap, &[u8]); 4] = [
        ("body changed", &headers, &altered),
        ("signature forged", &forged, &body),
        ("other key's serial", &other_serial, &body),
        ("no signature", &unsigned, &body),
    ];
    for (why, headers, body) in cases {
        assert!(
            matches!(
                connector.parse_notification(headers, body),
                Err(GatewayError::BadNotification(_))
            ),
            "{why}"
        );
    }
    let now = Utc::now().timestamp();
    assert!(matches!(
        connector.parse_notification_at(&headers, &body, now + 6 * 60),
        Err(GatewayError::BadNotification(_))
    ));
    assert!(connector
        .parse_notification_at(&headers, &body, now + 4 * 60)
        .is_ok());

    // Over HTTP too: the endpoint answers 400 and WeChat Pay would resend.
    let (_, tampered) = setup.fake.notification(&out_trade_no);
    let answer = reqwest::Client::new()
        .post(setup.fake.order(&out_trade_no).unwrap().notify_url)
        .headers(reqwest_headers(&headers))
        .body(tampered)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 400);
}

fn reqwest_headers(headers: &HeaderMap) -> reqwest::header::HeaderMap {
    let mut out = reqwest::header::HeaderMap::new();
    for (name, value) in headers {
        out.insert(
            reqwest::header::HeaderName::from_bytes(name.as_str().as_bytes()).unwrap(),
            reqwest::header::HeaderValue::from_bytes(value.as_bytes()).unwrap(),
        );
    }
    out
}

#[tokio::test]
async fn amounts_reach_the_gateway_in_each_currency_s_smallest_unit() {
    let setup = setup().await;
    let table = [
        ("88.80", "HKD", 8880),
        ("99.99", "CNY", 9999),
        ("12.34", "USD", 1234),
        ("1000", "JPY", 1000),
    ];
    for (text, code, total) in table {
        let (request, _) = started(&setup, money(text, code)).await;
        let order = setup.fake.order(&request.payment_id.to_string()).unwrap();
        assert_eq!(
            (order.total, order.currency.as_str()),
            (total, code),
            "{text} {code}"
        );
    }
    let request = start_request(money("1.000", "KWD"));
    assert!(matches!(
        setup.connector.start(&request).await,
        Err(GatewayError::Rejected { code, .. }) if code == "UNSUPPORTED_CURRENCY"
    ));
}

#[tokio::test]
async fn an_order_number_reused_with_other_content_is_refused_and_a_retry_is_not() {
    let setup = setup().await;
    let (request, qr_content) = started(&setup, money("10", "HKD")).await;
    let retry = setup.connector.start(&request).await.unwrap();
    assert_eq!(
        retry,
        Started::Qr {
            gw_ref: request.payment_id.to_string(),
            qr_content
        }
    );
    let other = StartRequest {
        amount: money("11", "HKD"),
        ..request.clone()
    };
    assert!(matches!(
        setup.connector.start(&other).await,
        Err(GatewayError::Rejected { code, .. }) if code == "OUT_TRADE_NO_USED"
    ));
    let unknown = GatewayRef::new(PaymentId::generate(Utc::now()), None);
    assert_eq!(
        setup.connector.query(&unknown).await,
        Err(GatewayError::NotFound)
    );
}

#[test]
fn an_account_is_refused_for_another_gateway_or_unusable_credentials() {
    let base = account("http://127.0.0.1:9", "http://127.0.0.1:9/notify");
    assert_eq!(
        WechatPayConnector::from_account(GatewayKind::Alipay, &base).err(),
        Some(AccountError::Unsupported {
            connector: wechatpay::NAME,
            kind: "ALIPAY"
        })
    );
    for name in wechatpay::CREDENTIALS {
        let mut missing = base.clone();
        missing.credentials.remove(*name);
        assert_eq!(
            WechatPayConnector::from_account(GatewayKind::Wxpay, &missing).err(),
            Some(AccountError::Missing(name)),
            "{name}"
        );
    }
    for (name, value) in [
        ("private_key", "not a key"),
        ("api_v3_key", "too short"),
        ("platform_public_key", fake::MERCHANT_PRIVATE_PEM),
        ("merchant_category_code", "59x9"),
    ] {
        let mut invalid = base.clone();
        invalid
            .credentials
            .insert(name.into(), SecretString::from(value));
        assert!(
            matches!(
                WechatPayConnector::from_account(GatewayKind::Wxpay, &invalid),
                Err(AccountError::Invalid { name: n, .. }) if n == name
            ),
            "{name}"
        );
    }
    assert_eq!(wechatpay::GATEWAY_TYPES, &[GatewayKind::Wxpay]);
    let connector = WechatPayConnector::from_account(GatewayKind::Wxpay, &base).unwrap();
    let printed = format!("{connector:?}");
    assert!(!printed.contains("PRIVATE KEY") && !printed.contains(fake::API_V3_KEY));
}
