//! The Alipay cross-border connector against a fake of Alipay's MAPI, through
//! the `Connector` trait, as payhub's flow calls it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "fakes/alipay.rs"]
mod fake;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::routing::post;
use axum::Router;
use chrono::Utc;
use fake::{Failure, FakeAlipay};
use payhub_app::gateways::account::{AccountConfig, AccountError};
use payhub_app::gateways::alipay::AlipayConnector;
use payhub_app::gateways::connector::{
    GatewayError, GatewayRef, Notification, RefundRef, RefundRequest, StartRequest, Started,
};
use payhub_app::gateways::{Connector, GatewayKind};
use payhub_core::{Currency, GatewayState, Money, PaymentId, RefundId, RefundState};
use secrecy::SecretString;

/// The client's limit; the fake's timed-out answers come after a second.
const CLIENT_TIMEOUT: Duration = Duration::from_millis(300);

fn account(fake: &FakeAlipay, credentials: &[(&str, &str)], notify_url: &str) -> AccountConfig {
    AccountConfig {
        account_id: "ca_alipay_test".into(),
        base_url: fake.base_url(),
        notify_url: notify_url.parse().unwrap(),
        live: false,
        credentials: credentials
            .iter()
            .map(|(k, v)| ((*k).to_owned(), SecretString::from(*v)))
            .collect::<BTreeMap<_, _>>(),
        http: reqwest::Client::builder()
            .timeout(CLIENT_TIMEOUT)
            .build()
            .unwrap(),
    }
}

async fn setup(kind: GatewayKind, credentials: &[(&str, &str)]) -> (FakeAlipay, AlipayConnector) {
    let fake = FakeAlipay::start_with_timeout(Duration::from_secs(1)).await;
    let connector = AlipayConnector::from_account(
        kind,
        &account(
            &fake,
            credentials,
            "http://127.0.0.1:9/notify/ca_alipay_test",
        ),
    )
    .unwrap();
    (fake, connector)
}

fn money(minor: i64, code: &str) -> Money {
    Money::from_minor(minor, Currency::parse(code).unwrap()).unwrap()
}

fn new_payment_id() -> PaymentId {
    PaymentId::generate(Utc::now())
}

fn start_request(payment_id: PaymentId, amount: Money) -> StartRequest {
    StartRequest {
        payment_id,
        amount,
        subject: Some("Order #42 & co".into()),
        expires_at: Utc::now() + chrono::Duration::minutes(15),
        save_card: None,
    }
}

async fn started(connector: &AlipayConnector, payment_id: PaymentId, amount: Money) -> String {
    match connector
        .start(&start_request(payment_id, amount))
        .await
        .unwrap()
    {
        Started::Qr { gw_ref, qr_content } => {
            assert!(qr_content.starts_with("https://qr.alipay.com/"));
            gw_ref
        }
        other => panic!("expected a QR code, got {other:?}"),
    }
}

#[tokio::test]
async fn md5_start_pay_query_succeeds() {
    let (fake, connector) = setup(GatewayKind::Alipay, &FakeAlipay::md5_credentials()).await;
    let id = new_payment_id();
    let gw_ref = started(&connector, id, money(1050, "HKD")).await;
    let trade = fake.trade(&id.to_string()).unwrap();
    assert_eq!(trade.total_fee, "10.50");
    assert_eq!(trade.currency, "HKD");
    assert_eq!(trade.payment_inst, "ALIPAYCN");
    assert_eq!(trade.sign_type, "MD5");
    let payment = GatewayRef::new(id, Some(&gw_ref));
    let waiting = connector.query(&payment).await.unwrap();
    assert_eq!(waiting.state, GatewayState::AwaitingCustomer);
    assert!(fake.pay(&id.to_string()));
    let paid = connector.query(&payment).await.unwrap();
    assert_eq!(paid.state, GatewayState::Succeeded);
    assert_eq!(paid.gw_ref.as_deref(), Some(trade.trade_no.as_str()));
}

#[tokio::test]
async fn rsa2_alipayhk_start_pay_query_succeeds() {
    let (fake, connector) = setup(GatewayKind::Alipayos, &FakeAlipay::rsa2_credentials()).await;
    let id = new_payment_id();
    started(&connector, id, money(9_999, "HKD")).await;
    let trade = fake.trade(&id.to_string()).unwrap();
    assert_eq!(trade.payment_inst, "ALIPAYHK");
    assert_eq!(trade.sign_type, "RSA2");
    assert!(fake.pay(&id.to_string()));
    let paid = connector.query(&GatewayRef::new(id, None)).await.unwrap();
    assert_eq!(paid.state, GatewayState::Succeeded);
}

#[tokio::test]
async fn amounts_reach_alipay_in_each_currencys_unit() {
    let (fake, connector) = setup(GatewayKind::Alipay, &FakeAlipay::md5_credentials()).await;
    for (amount, expected) in [
        (money(500, "JPY"), "500"),
        (money(1, "USD"), "0.01"),
        (money(12_345, "CNY"), "123.45"),
        (money(100, "HKD"), "1.00"),
    ] {
        let id = new_payment_id();
        started(&connector, id, amount).await;
        assert_eq!(fake.trade(&id.to_string()).unwrap().total_fee, expected);
    }
}

#[tokio::test]
async fn a_declined_start_is_rejected() {
    let (fake, connector) = setup(GatewayKind::Alipay, &FakeAlipay::md5_credentials()).await;
    fake.fail_next(Failure::Decline);
    let id = new_payment_id();
    let error = connector
        .start(&start_request(id, money(1000, "HKD")))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, GatewayError::Rejected { code, .. } if code == "RISK_CONTROL_REFUSED"),
        "{error:?}"
    );
    assert!(fake.trade(&id.to_string()).is_none());
}

#[tokio::test]
async fn a_start_that_times_out_is_resolved_by_query() {
    let (fake, connector) = setup(GatewayKind::Alipay, &FakeAlipay::md5_credentials()).await;
    fake.fail_next(Failure::Timeout);
    let id = new_payment_id();
    let error = connector
        .start(&start_request(id, money(2000, "USD")))
        .await
        .unwrap_err();
    assert_eq!(error, GatewayError::Timeout);
    // The trade was created at Alipay although its answer was lost.
    let payment = GatewayRef::new(id, None);
    let report = connector.query(&payment).await.unwrap();
    assert_eq!(report.state, GatewayState::AwaitingCustomer);
    fake.pay(&id.to_string());
    assert_eq!(
        connector.query(&payment).await.unwrap().state,
        GatewayState::Succeeded
    );
}

#[tokio::test]
async fn a_5xx_is_an_unknown_outcome() {
    let (fake, connector) = setup(GatewayKind::Alipay, &FakeAlipay::md5_credentials()).await;
    fake.fail_next(Failure::ServerError);
    let id = new_payment_id();
    assert_eq!(
        connector
            .start(&start_request(id, money(100, "HKD")))
            .await
            .unwrap_err(),
        GatewayError::Timeout
    );
    fake.fail_next(Failure::ServerError);
    assert_eq!(
        connector
            .query(&GatewayRef::new(id, None))
            .await
            .unwrap_err(),
        GatewayError::Timeout
    );
}

#[tokio::test]
async fn unknown_and_expired_trades() {
    let (fake, connector) = setup(GatewayKind::Alipay, &FakeAlipay::md5_credentials()).await;
    let never_started = GatewayRef::new(new_payment_id(), None);
    assert_eq!(
        connector.query(&never_started).await.unwrap_err(),
        GatewayError::NotFound
    );
    // A code that was handed out but not scanned may be no trade at Alipay
    // yet: the customer can still pay it.
    let handed_out = connector
        .query(&GatewayRef::new(new_payment_id(), Some("819613055")))
        .await
        .unwrap();
    assert_eq!(handed_out.state, GatewayState::AwaitingCustomer);
    let id = new_payment_id();
    started(&connector, id, money(100, "HKD")).await;
    assert!(fake.close(&id.to_string()));
    assert_eq!(
        connector
            .query(&GatewayRef::new(id, None))
            .await
            .unwrap()
            .state,
        GatewayState::Expired
    );
}

#[tokio::test]
async fn an_unpaid_payment_is_canceled_and_a_paid_one_is_not() {
    let (fake, connector) = setup(GatewayKind::Alipay, &FakeAlipay::md5_credentials()).await;
    let id = new_payment_id();
    let gw_ref = started(&connector, id, money(300, "HKD")).await;
    let canceled = connector
        .cancel(&GatewayRef::new(id, Some(&gw_ref)))
        .await
        .unwrap();
    assert_eq!(canceled.state, GatewayState::Canceled);
    assert_eq!(fake.trade(&id.to_string()).unwrap().status, "TRADE_CLOSED");
    assert!(!fake.pay(&id.to_string()), "a closed trade cannot be paid");

    let paid = new_payment_id();
    started(&connector, paid, money(300, "HKD")).await;
    fake.pay(&paid.to_string());
    let report = connector
        .cancel(&GatewayRef::new(paid, None))
        .await
        .unwrap();
    assert_eq!(report.state, GatewayState::Succeeded);
    let trade = fake.trade(&paid.to_string()).unwrap();
    assert_eq!(
        (trade.status.as_str(), trade.refunded_minor),
        ("TRADE_SUCCESS", 0)
    );
    let cancels = fake
        .services_called()
        .iter()
        .filter(|s| *s == "alipay.acquire.cancel")
        .count();
    assert_eq!(cancels, 1, "only the unpaid payment was cancelled");
}

#[tokio::test]
async fn a_partial_refund_then_its_query() {
    let (fake, connector) = setup(GatewayKind::Alipay, &FakeAlipay::rsa2_credentials()).await;
    let id = new_payment_id();
    started(&connector, id, money(10_000, "HKD")).await;
    fake.pay(&id.to_string());
    let payment = GatewayRef::new(id, None);
    let refund_id = RefundId::generate(Utc::now());
    let request = RefundRequest {
        refund_id,
        payment: payment.clone(),
        payment_amount: money(10_000, "HKD"),
        amount: money(2_550, "HKD"),
    };
    let report = connector.refund(&request).await.unwrap();
    assert_eq!(report.state, RefundState::Succeeded);
    // Sent again (a retry after a lost answer), it is not made twice.
    assert_eq!(
        connector.refund(&request).await.unwrap().state,
        RefundState::Succeeded
    );
    let trade = fake.trade(&id.to_string()).unwrap();
    assert_eq!(
        (trade.refunded_minor, trade.status.as_str()),
        (2_550, "TRADE_SUCCESS")
    );

    let refund = RefundRef {
        refund_id,
        gw_ref: report.gw_ref.clone(),
        payment: payment.clone(),
    };
    assert_eq!(
        connector.query_refund(&refund).await.unwrap().state,
        RefundState::Succeeded
    );
    let unknown = RefundRef {
        refund_id: RefundId::generate(Utc::now()),
        gw_ref: None,
        payment: payment.clone(),
    };
    assert_eq!(
        connector.query_refund(&unknown).await.unwrap_err(),
        GatewayError::NotFound
    );

    let too_much = RefundRequest {
        refund_id: RefundId::generate(Utc::now()),
        payment,
        payment_amount: money(10_000, "HKD"),
        amount: money(7_451, "HKD"),
    };
    assert!(matches!(
        connector.refund(&too_much).await.unwrap_err(),
        GatewayError::Rejected { code, .. } if code == "REFUND_AMT_RESTRICTION"
    ));
}

#[tokio::test]
async fn a_refund_of_an_unknown_trade_is_not_found() {
    let (_fake, connector) = setup(GatewayKind::Alipay, &FakeAlipay::md5_credentials()).await;
    let request = RefundRequest {
        refund_id: RefundId::generate(Utc::now()),
        payment: GatewayRef::new(new_payment_id(), None),
        payment_amount: money(100, "HKD"),
        amount: money(100, "HKD"),
    };
    assert_eq!(
        connector.refund(&request).await.unwrap_err(),
        GatewayError::NotFound
    );
}

#[tokio::test]
async fn a_wrong_key_is_refused_by_the_gateway() {
    let fake = FakeAlipay::start().await;
    let credentials = [("partner_id", fake::PARTNER), ("md5_key", "not the key")];
    let connector = AlipayConnector::from_account(
        GatewayKind::Alipay,
        &account(&fake, &credentials, "http://127.0.0.1:9/notify"),
    )
    .unwrap();
    let error = connector
        .start(&start_request(new_payment_id(), money(100, "HKD")))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, GatewayError::Rejected { code, .. } if code == "ILLEGAL_SIGN"),
        "{error:?}"
    );
}

#[tokio::test]
async fn unsupported_types_are_refused() {
    let fake = FakeAlipay::start().await;
    let error = AlipayConnector::from_account(
        GatewayKind::Wxpay,
        &account(
            &fake,
            &FakeAlipay::md5_credentials(),
            "http://127.0.0.1:9/n",
        ),
    )
    .unwrap_err();
    assert!(matches!(error, AccountError::Unsupported { .. }));
}

/// payhub's notification endpoint, reduced to what the connector does there.
#[derive(Clone)]
struct Receiver {
    connector: Arc<AlipayConnector>,
    parsed: Arc<Mutex<Vec<Result<Notification, GatewayError>>>>,
}

async fn receive(
    State(receiver): State<Receiver>,
    headers: HeaderMap,
    body: Bytes,
) -> axum::response::Response {
    let parsed = receiver.connector.parse_notification(&headers, &body);
    let ok = parsed.is_ok();
    receiver.parsed.lock().unwrap().push(parsed);
    if ok {
        let ack = receiver.connector.acknowledgement();
        ([("content-type", ack.content_type)], ack.body).into_response()
    } else {
        (axum::http::StatusCode::BAD_REQUEST, "fail").into_response()
    }
}

async fn with_receiver(credentials: &[(&str, &str)]) -> (FakeAlipay, Receiver) {
    let fake = FakeAlipay::start().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let notify_url = format!(
        "http://{}/notify/ca_alipay_test",
        listener.local_addr().unwrap()
    );
    let connector = Arc::new(
        AlipayConnector::from_account(
            GatewayKind::Alipay,
            &account(&fake, credentials, &notify_url),
        )
        .unwrap(),
    );
    let receiver = Receiver {
        connector,
        parsed: Arc::default(),
    };
    let app = Router::new()
        .route("/notify/ca_alipay_test", post(receive))
        .with_state(receiver.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (fake, receiver)
}

#[tokio::test]
async fn a_notification_sent_twice_parses_the_same_and_is_acknowledged() {
    for credentials in [
        FakeAlipay::md5_credentials(),
        FakeAlipay::rsa2_credentials(),
    ] {
        let (fake, receiver) = with_receiver(&credentials).await;
        let id = new_payment_id();
        started(&receiver.connector, id, money(1050, "HKD")).await;
        fake.pay(&id.to_string());
        let replies = fake.notify(&id.to_string(), 2).await;
        assert_eq!(
            replies,
            vec![(200, "success".to_owned()), (200, "success".to_owned())]
        );
        let parsed = receiver.parsed.lock().unwrap();
        let first = parsed[0].as_ref().unwrap();
        assert_eq!(first.payment_id, id);
        assert_eq!(first.report.state, GatewayState::Succeeded);
        assert_eq!(
            first.report.gw_ref.as_deref(),
            Some(fake.trade(&id.to_string()).unwrap().trade_no.as_str())
        );
        assert_eq!(parsed[1].as_ref().unwrap().report, first.report);
    }
}

#[tokio::test]
async fn a_tampered_notification_is_refused() {
    let (fake, receiver) = with_receiver(&FakeAlipay::md5_credentials()).await;
    let id = new_payment_id();
    started(&receiver.connector, id, money(1050, "HKD")).await;
    let body = fake.notification_body(&id.to_string());
    assert!(body.contains("trade_status=WAIT_BUYER_PAY"));
    let forged = body.replace("trade_status=WAIT_BUYER_PAY", "trade_status=TRADE_SUCCESS");
    assert!(matches!(
        receiver
            .connector
            .parse_notification(&HeaderMap::new(), forged.as_bytes()),
        Err(GatewayError::BadNotification(_))
    ));
    // Signed with another account's key (RSA2 for an MD5 account).
    let rsa = AlipayConnector::from_account(
        GatewayKind::Alipay,
        &account(
            &fake,
            &FakeAlipay::rsa2_credentials(),
            "http://127.0.0.1:9/n",
        ),
    )
    .unwrap();
    let other = new_payment_id();
    started(&rsa, other, money(100, "HKD")).await;
    let foreign = fake.notification_body(&other.to_string());
    assert!(foreign.contains("sign_type=RSA2"));
    assert!(matches!(
        receiver
            .connector
            .parse_notification(&HeaderMap::new(), foreign.as_bytes()),
        Err(GatewayError::BadNotification(_))
    ));
    // The untouched one reads.
    let genuine = receiver
        .connector
        .parse_notification(&HeaderMap::new(), body.as_bytes())
        .unwrap();
    assert_eq!(genuine.report.state, GatewayState::AwaitingCustomer);
}

/// A request to the fake, signed with its MD5 key unless the fields carry their own `sign`.
async fn raw_call(fake: &FakeAlipay, fields: &[(&str, &str)], charset_in_url: bool) -> String {
    use payhub_app::gateways::alipay::{signing_text, Signer};
    let signer = Signer::Md5 {
        key: SecretString::from(fake::MD5_KEY),
    };
    let mut form: Vec<(String, String)> = fields
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    if !fields.iter().any(|(k, _)| *k == "sign") {
        let sign = signer.sign(&signing_text(fields.iter().copied()));
        form.push(("sign".into(), sign));
        form.push(("sign_type".into(), "MD5".into()));
    }
    let mut url = fake.base_url();
    if charset_in_url {
        url.set_query(Some("_input_charset=UTF-8"));
    }
    reqwest::Client::new()
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(serde_urlencoded::to_string(&form).unwrap())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_fake_refuses_bad_requests_as_alipay_does() {
    let fake = FakeAlipay::start().await;
    let timestamp = "2026-11-25 10:00:00";
    let precreate = |out_trade_no: &'static str, fee: &'static str, currency: &'static str| {
        vec![
            ("service", "alipay.acquire.precreate"),
            ("partner", fake::PARTNER),
            ("_input_charset", "UTF-8"),
            ("notify_url", "http://127.0.0.1:9/n"),
            ("timestamp", timestamp),
            ("out_trade_no", out_trade_no),
            ("subject", "s"),
            ("product_code", "OVERSEAS_MBARCODE_PAY"),
            ("total_fee", fee),
            ("trans_currency", currency),
            ("currency", currency),
        ]
    };
    let refused = |error: &str| format!("<is_success>F</is_success><error>{error}</error>");

    let good = raw_call(&fake, &precreate("1001", "1.00", "HKD"), true).await;
    assert!(
        good.contains("<result_code>SUCCESS</result_code>"),
        "{good}"
    );
    // Idempotent: the same order again gets the same code.
    let again = raw_call(&fake, &precreate("1001", "1.00", "HKD"), true).await;
    let qr = |text: &str| {
        text.split("<qr_code>")
            .nth(1)
            .unwrap()
            .split('<')
            .next()
            .unwrap()
            .to_owned()
    };
    assert_eq!(qr(&good), qr(&again));
    let reused = raw_call(&fake, &precreate("1001", "2.00", "HKD"), true).await;
    assert!(reused.contains("OUT_TRADE_NO_USED"), "{reused}");

    assert!(raw_call(&fake, &precreate("1002", "1.00", "HKD"), false)
        .await
        .contains(&refused("ILLEGAL_CHARSET")));
    let mut wrong_partner = precreate("1003", "1.00", "HKD");
    wrong_partner[1] = ("partner", "2088000000000000");
    assert!(raw_call(&fake, &wrong_partner, true)
        .await
        .contains(&refused("ILLEGAL_PARTNER")));
    let mut forged = precreate("1004", "1.00", "HKD");
    forged.push(("sign", "00000000000000000000000000000000"));
    forged.push(("sign_type", "MD5"));
    assert!(raw_call(&fake, &forged, true)
        .await
        .contains(&refused("ILLEGAL_SIGN")));
    let mut missing = precreate("1005", "1.00", "HKD");
    missing.retain(|(k, _)| *k != "subject");
    assert!(raw_call(&fake, &missing, true)
        .await
        .contains(&refused("ILLEGAL_ARGUMENT")));
    for (fee, currency) in [
        ("1.001", "USD"),
        ("100.5", "JPY"),
        ("0.00", "HKD"),
        ("-1", "HKD"),
    ] {
        let answer = raw_call(&fake, &precreate("1006", fee, currency), true).await;
        assert!(
            answer.contains("<detail_error_code>TOTAL_FEE_EXCEED"),
            "{fee} {currency}: {answer}"
        );
    }
    let answer = raw_call(&fake, &precreate("1007", "1.00", "XYZ"), true).await;
    assert!(answer.contains("CURRENCY_NOT_SUPPORT"), "{answer}");
    let unknown = vec![
        ("service", "alipay.acquire.nothing"),
        ("partner", fake::PARTNER),
        ("_input_charset", "UTF-8"),
    ];
    assert!(raw_call(&fake, &unknown, true)
        .await
        .contains(&refused("ILLEGAL_SERVICE")));
}
