//! The Stripe connector against the fake of Stripe's API, through the
//! `Connector` trait as payhub calls it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "fakes/stripe.rs"]
mod fake;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::HeaderMap;
use chrono::{Duration as Span, Utc};
use fake::{Failure, FakeStripe};
use payhub_app::card::{parse_card_form, CardInput};
use payhub_app::gateways::account::AccountConfig;
use payhub_app::gateways::connector::{
    GatewayError, GatewayRef, RefundRef, RefundRequest, SaveCard, StartRequest, Started,
    StoredMethod,
};
use payhub_app::gateways::stripe::{StripeConnector, API_VERSION};
use payhub_app::gateways::{Connector, GatewayKind};
use payhub_core::{Currency, GatewayState, Money, PaymentId, RefundId, RefundState};
use secrecy::SecretString;
use url::Url;

/// The client's limit; a slow fake answers after twice this.
const CALL_LIMIT: Duration = Duration::from_millis(800);
const TOO_LATE: Duration = Duration::from_millis(1600);

fn account(fake: &FakeStripe, secret_key: &str) -> AccountConfig {
    let credentials = [
        ("secret_key", secret_key),
        ("webhook_secret", fake::WEBHOOK_SECRET),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), SecretString::from(v.to_owned())))
    .collect::<BTreeMap<_, _>>();
    AccountConfig {
        account_id: "ca_stripe_test".into(),
        base_url: Url::parse(&fake.base_url()).unwrap(),
        notify_url: Url::parse("http://127.0.0.1:1/gateways/VMPAY/notifications").unwrap(),
        live: false,
        credentials,
        http: reqwest::Client::builder()
            .timeout(CALL_LIMIT)
            .build()
            .unwrap(),
    }
}

fn connector(fake: &FakeStripe) -> StripeConnector {
    StripeConnector::from_account(GatewayKind::Vmpay, &account(fake, fake::SECRET_KEY)).unwrap()
}

fn money(minor: i64, code: &str) -> Money {
    Money::from_minor(minor, Currency::parse(code).unwrap()).unwrap()
}

fn request(amount: Money) -> StartRequest {
    StartRequest {
        payment_id: PaymentId::generate(Utc::now()),
        amount,
        subject: Some("Order 42".into()),
        expires_at: Utc::now() + Span::minutes(15),
        save_card: None,
    }
}

fn card(number: &str) -> CardInput {
    parse_card_form(
        number,
        "12/34",
        "123",
        "Chan Tai Man",
        Utc::now().date_naive(),
    )
    .unwrap()
}

async fn started(connector: &StripeConnector, request: &StartRequest) -> GatewayRef {
    let Started::CardForm { gw_ref } = connector.start(request).await.unwrap() else {
        panic!("a card payment starts on the card form");
    };
    GatewayRef::new(request.payment_id, Some(&gw_ref))
}

#[tokio::test]
async fn start_creates_the_payment_intent_as_stripe_expects() {
    let fake = FakeStripe::start().await;
    let connector = connector(&fake);
    let request = request(money(12_345, "HKD"));
    let payment = started(&connector, &request).await;
    let id = payment.gw_ref.clone().unwrap();
    assert!(id.starts_with("pi_"));
    let intent = fake.intent(&id).unwrap();
    assert_eq!(intent["amount"], 12_345);
    assert_eq!(intent["currency"], "hkd");
    assert_eq!(intent["status"], "requires_payment_method");
    assert_eq!(intent["description"], "Order 42");
    assert_eq!(
        intent["metadata"]["payhub_payment_id"],
        request.payment_id.to_string()
    );
    let create = &fake.log()[0];
    assert_eq!(create.stripe_version.as_deref(), Some(API_VERSION));
    assert_eq!(
        create.idempotency_key.as_deref(),
        Some(format!("payhub-payment-{}", request.payment_id).as_str())
    );
    assert_eq!(create.param("payment_method_types[]"), Some("card"));
}

#[tokio::test]
async fn zero_decimal_amounts_go_unscaled_and_inexact_ones_never_go() {
    let fake = FakeStripe::start().await;
    let connector = connector(&fake);
    let payment = started(&connector, &request(money(500, "JPY"))).await;
    let intent = fake.intent(payment.gw_ref.as_deref().unwrap()).unwrap();
    assert_eq!(
        (intent["amount"].as_i64(), intent["currency"].as_str()),
        (Some(500), Some("jpy"))
    );
    let payment = started(&connector, &request(money(5, "ISK"))).await;
    let intent = fake.intent(payment.gw_ref.as_deref().unwrap()).unwrap();
    assert_eq!(intent["amount"], 500, "ISK stays two-decimal at Stripe");
    let refused = connector.start(&request(money(5_124, "KWD"))).await;
    assert!(
        matches!(refused, Err(GatewayError::Rejected { .. })),
        "{refused:?}"
    );
    assert_eq!(
        fake.intents().len(),
        2,
        "the refused amount never reached Stripe"
    );
}

#[tokio::test]
async fn the_customer_pays_and_query_says_succeeded() {
    let fake = FakeStripe::start().await;
    let connector = connector(&fake);
    let payment = started(&connector, &request(money(12_345, "HKD"))).await;
    let report = connector
        .pay_with_card(&payment, &card(fake::CARD_SUCCEEDS), None)
        .await
        .unwrap();
    assert_eq!(report.state, GatewayState::Succeeded);
    assert_eq!(report.gw_ref, payment.gw_ref);
    let report = connector.query(&payment).await.unwrap();
    assert_eq!(report.state, GatewayState::Succeeded);
    // The card reached Stripe in the confirm, and in no other request.
    let confirm = fake
        .log()
        .into_iter()
        .find(|r| r.path.ends_with("/confirm"))
        .unwrap();
    assert_eq!(confirm.param("payment_method_data[type]"), Some("card"));
    assert_eq!(
        confirm.param("payment_method_data[card][exp_month]"),
        Some("12")
    );
    assert_eq!(
        confirm.param("payment_method_data[card][exp_year]"),
        Some("2034")
    );
    assert!(confirm.param("return_url").is_some());
    assert!(!format!("{report:?}").contains(fake::CARD_SUCCEEDS));
}

#[tokio::test]
async fn declined_cards_are_this_attempts_decline_and_another_card_may_pay() {
    let fake = FakeStripe::start().await;
    let connector = connector(&fake);
    let payment = started(&connector, &request(money(10_000, "USD"))).await;
    for (number, code) in [
        (fake::CARD_DECLINED, "generic_decline"),
        (fake::CARD_INSUFFICIENT_FUNDS, "insufficient_funds"),
    ] {
        let report = connector
            .pay_with_card(&payment, &card(number), None)
            .await
            .unwrap();
        assert_eq!(report.state, GatewayState::Declined, "{number}");
        assert_eq!(report.code.as_ref().map(|c| c.0.as_str()), Some(code));
        // Stripe keeps the PaymentIntent open for another card.
        let observed = connector.query(&payment).await.unwrap();
        assert_eq!(observed.state, GatewayState::AwaitingCustomer);
        assert_eq!(observed.code.as_ref().map(|c| c.0.as_str()), Some(code));
    }
    let report = connector
        .pay_with_card(&payment, &card(fake::CARD_SUCCEEDS), None)
        .await
        .unwrap();
    assert_eq!(report.state, GatewayState::Succeeded);
    // A card for a paid PaymentIntent is answered with its state.
    let again = connector
        .pay_with_card(&payment, &card(fake::CARD_SUCCEEDS), None)
        .await
        .unwrap();
    assert_eq!(again.state, GatewayState::Succeeded);
}

#[tokio::test]
async fn three_d_secure_redirects_then_the_return_reads_the_outcome() {
    for (passed, state) in [
        (true, GatewayState::Succeeded),
        (false, GatewayState::Declined),
    ] {
        let fake = FakeStripe::start().await;
        let connector = connector(&fake);
        let payment = started(&connector, &request(money(8_800, "HKD"))).await;
        let id = payment.gw_ref.clone().unwrap();
        // The page of this payment is where the issuer's page sends the customer back.
        let back = url::Url::parse("http://payhub.test/pay/1/token/return").unwrap();
        let report = connector
            .pay_with_card(&payment, &card(fake::CARD_3DS_REQUIRED), Some(&back))
            .await
            .unwrap();
        assert_eq!(report.state, GatewayState::Challenge);
        assert_eq!(
            report.qr_content,
            Some(format!("{}/3ds/{id}", fake.base_url()))
        );
        let confirm = fake
            .log()
            .into_iter()
            .rev()
            .find(|l| l.path.ends_with("/confirm"))
            .unwrap();
        assert_eq!(confirm.param("return_url"), Some(back.as_str()));
        assert_eq!(
            fake.intent(&id).unwrap()["next_action"]["redirect_to_url"]["return_url"],
            back.as_str()
        );
        // The customer has not finished the issuer's page yet.
        let waiting = connector.answer_challenge(&payment, "").await.unwrap();
        assert_eq!(waiting.state, GatewayState::Challenge);
        fake.complete_3ds(&id, passed);
        let report = connector
            .answer_challenge(&payment, "ignored")
            .await
            .unwrap();
        assert_eq!(report.state, state, "passed={passed}");
        if !passed {
            assert_eq!(
                report.code.map(|c| c.0),
                Some("payment_intent_authentication_failure".to_owned())
            );
        }
    }
}

#[tokio::test]
async fn a_start_whose_answer_is_lost_is_found_by_replaying_its_create() {
    let fake = FakeStripe::start().await;
    let connector = connector(&fake);
    let request = request(money(4_200, "CNY"));
    fake.fail_next(Failure::Slow(TOO_LATE));
    assert_eq!(connector.start(&request).await, Err(GatewayError::Timeout));
    tokio::time::sleep(TOO_LATE).await;
    let unknown = GatewayRef::new(request.payment_id, None);
    let report = connector.query(&unknown).await.unwrap();
    assert_eq!(report.state, GatewayState::AwaitingCustomer);
    let intents = fake.intents();
    assert_eq!(intents.len(), 1, "the replay created nothing new");
    assert_eq!(report.gw_ref.as_deref(), intents[0]["id"].as_str());
    let keys: Vec<_> = fake
        .log()
        .into_iter()
        .filter_map(|r| r.idempotency_key)
        .collect();
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0], keys[1]);
}

#[tokio::test]
async fn without_the_create_to_replay_query_searches_by_payhubs_id() {
    let fake = FakeStripe::start().await;
    let request = request(money(4_200, "USD"));
    fake.fail_next(Failure::Slow(TOO_LATE));
    assert_eq!(
        connector(&fake).start(&request).await,
        Err(GatewayError::Timeout)
    );
    tokio::time::sleep(TOO_LATE).await;
    // A new process: the lost create is not remembered.
    let restarted = connector(&fake);
    let report = restarted
        .query(&GatewayRef::new(request.payment_id, None))
        .await
        .unwrap();
    assert_eq!(report.state, GatewayState::AwaitingCustomer);
    assert!(fake.log().iter().any(|r| r.path.ends_with("/search")));
    // A payment Stripe's search does not show may just not be indexed yet.
    let never = GatewayRef::new(PaymentId::generate(Utc::now()), None);
    assert_eq!(restarted.query(&never).await, Err(GatewayError::Timeout));
}

#[tokio::test]
async fn server_errors_and_silence_are_unknown_outcomes() {
    let fake = FakeStripe::start().await;
    let connector = connector(&fake);
    fake.fail_next(Failure::ServerError);
    assert_eq!(
        connector.start(&request(money(100, "HKD"))).await,
        Err(GatewayError::Timeout)
    );
    let payment = started(&connector, &request(money(100, "HKD"))).await;
    fake.fail_next(Failure::ServerError);
    assert_eq!(connector.query(&payment).await, Err(GatewayError::Timeout));
    fake.fail_next(Failure::Slow(TOO_LATE));
    assert_eq!(
        connector
            .pay_with_card(&payment, &card(fake::CARD_SUCCEEDS), None)
            .await,
        Err(GatewayError::Timeout)
    );
    tokio::time::sleep(TOO_LATE).await;
    // The confirm did happen: the query finds it paid.
    assert_eq!(
        connector.query(&payment).await.unwrap().state,
        GatewayState::Succeeded
    );
}

#[tokio::test]
async fn a_wrong_key_is_refused_and_an_unknown_payment_intent_is_not_found() {
    let fake = FakeStripe::start().await;
    let wrong =
        StripeConnector::from_account(GatewayKind::Vmpay, &account(&fake, "sk_test_wrong_key_000"))
            .unwrap();
    assert!(matches!(
        wrong.start(&request(money(100, "HKD"))).await,
        Err(GatewayError::Rejected { .. })
    ));
    let missing = GatewayRef::new(PaymentId::generate(Utc::now()), Some("pi_missing"));
    assert_eq!(
        connector(&fake).query(&missing).await,
        Err(GatewayError::NotFound)
    );
}

#[tokio::test]
async fn an_unpaid_payment_is_canceled_and_a_paid_one_stays_paid() {
    let fake = FakeStripe::start().await;
    let connector = connector(&fake);
    let unpaid = started(&connector, &request(money(2_000, "HKD"))).await;
    let report = connector.cancel(&unpaid).await.unwrap();
    assert_eq!(report.state, GatewayState::Canceled);
    assert_eq!(
        fake.intent(unpaid.gw_ref.as_deref().unwrap()).unwrap()["status"],
        "canceled"
    );
    let paid = started(&connector, &request(money(2_000, "HKD"))).await;
    fake.pay(paid.gw_ref.as_deref().unwrap());
    assert_eq!(
        connector.cancel(&paid).await.unwrap().state,
        GatewayState::Succeeded
    );
}

#[tokio::test]
async fn a_payment_past_its_expiry_is_canceled_and_reported_expired() {
    let fake = FakeStripe::start().await;
    let connector = connector(&fake);
    let mut request = request(money(2_000, "HKD"));
    request.expires_at = Utc::now() - Span::seconds(1);
    let payment = started(&connector, &request).await;
    let report = connector.query(&payment).await.unwrap();
    assert_eq!(report.state, GatewayState::Expired);
    let intent = fake.intent(payment.gw_ref.as_deref().unwrap()).unwrap();
    assert_eq!(intent["status"], "canceled");
    assert_eq!(intent["cancellation_reason"], "abandoned");
}

#[tokio::test]
async fn a_partial_refund_is_made_once_and_queried() {
    let fake = FakeStripe::start().await;
    let connector = connector(&fake);
    let amount = money(12_345, "HKD");
    let payment = started(&connector, &request(amount)).await;
    connector
        .pay_with_card(&payment, &card(fake::CARD_SUCCEEDS), None)
        .await
        .unwrap();
    let refund = RefundRequest {
        refund_id: RefundId::generate(Utc::now()),
        payment: payment.clone(),
        payment_amount: amount,
        amount: money(1_000, "HKD"),
    };
    let report = connector.refund(&refund).await.unwrap();
    assert_eq!(report.state, RefundState::Succeeded);
    let re = report.gw_ref.clone().unwrap();
    assert_eq!(fake.refund(&re).unwrap()["amount"], 1_000);
    // The same refund again (a retry) is the same refund, not a second one.
    assert_eq!(
        connector.refund(&refund).await.unwrap().gw_ref,
        Some(re.clone())
    );
    let by_id = RefundRef {
        refund_id: refund.refund_id,
        gw_ref: Some(re.clone()),
        payment: payment.clone(),
    };
    assert_eq!(
        connector.query_refund(&by_id).await.unwrap().state,
        RefundState::Succeeded
    );
    let lost = RefundRef {
        gw_ref: None,
        ..by_id
    };
    assert_eq!(
        connector.query_refund(&lost).await.unwrap().gw_ref,
        Some(re)
    );
    let never = RefundRef {
        refund_id: RefundId::generate(Utc::now()),
        gw_ref: None,
        payment: payment.clone(),
    };
    assert_eq!(
        connector.query_refund(&never).await,
        Err(GatewayError::NotFound)
    );
    let too_much = RefundRequest {
        refund_id: RefundId::generate(Utc::now()),
        amount: money(20_000, "HKD"),
        ..refund
    };
    assert!(
        matches!(connector.refund(&too_much).await, Err(GatewayError::Rejected { code, .. }) if code == "amount_too_large")
    );
}

#[tokio::test]
async fn off_session_charges_are_final_and_a_lost_one_is_found() {
    let fake = FakeStripe::start().await;
    fake.add_customer("cus_fake1");
    let connector = connector(&fake);
    let method = |token: &str| StoredMethod {
        token: token.into(),
        kind: "card".into(),
        brand: Some("visa".into()),
        first6: None,
        last4: Some("4242".into()),
    };
    for (token, state, code) in [
        (
            "cus_fake1/pm_card_visa",
            GatewayState::Succeeded,
            "succeeded",
        ),
        (
            "pm_card_chargeDeclined",
            GatewayState::Declined,
            "generic_decline",
        ),
        (
            "pm_card_authenticationRequired",
            GatewayState::Declined,
            "authentication_required",
        ),
    ] {
        let report = connector
            .charge_token(&request(money(3_000, "HKD")), &method(token))
            .await
            .unwrap();
        assert_eq!(report.state, state, "{token}");
        assert_eq!(report.code.map(|c| c.0).as_deref(), Some(code), "{token}");
        assert!(report.gw_ref.is_some());
    }
    // A stored PaymentMethod Stripe no longer has is refused, not "not found".
    assert!(matches!(
        connector.charge_token(&request(money(3_000, "HKD")), &method("pm_gone")).await,
        Err(GatewayError::Rejected { code, .. }) if code == "resource_missing"
    ));
    let first = &fake.log()[0];
    assert_eq!(first.param("customer"), Some("cus_fake1"));
    assert_eq!(first.param("payment_method"), Some("pm_card_visa"));
    assert_eq!(first.param("off_session"), Some("true"));
    assert_eq!(first.param("confirm"), Some("true"));
    // A declined off-session charge stays declined to a query: nobody is
    // there to give another card.
    let declined = fake.intents()[1]["metadata"]["payhub_payment_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let declined = GatewayRef::new(declined.parse().unwrap(), fake.intents()[1]["id"].as_str());
    assert_eq!(
        connector.query(&declined).await.unwrap().state,
        GatewayState::Declined
    );
    // A charge whose answer was lost is found by its replay, charged once.
    let request = request(money(3_000, "HKD"));
    fake.fail_next(Failure::Slow(TOO_LATE));
    assert_eq!(
        connector
            .charge_token(&request, &method("pm_card_chargeDeclined"))
            .await,
        Err(GatewayError::Timeout)
    );
    tokio::time::sleep(TOO_LATE).await;
    let report = connector
        .query(&GatewayRef::new(request.payment_id, None))
        .await
        .unwrap();
    assert_eq!(report.state, GatewayState::Declined);
    assert_eq!(fake.intents().len(), 4);
}

#[tokio::test]
async fn stripe_refuses_a_key_reused_with_other_parameters() {
    let fake = FakeStripe::start().await;
    let client = reqwest::Client::new();
    let post = |amount: &'static str| {
        client
            .post(format!("{}/v1/payment_intents", fake.base_url()))
            .bearer_auth(fake::SECRET_KEY)
            .header("Stripe-Version", API_VERSION)
            .header("Idempotency-Key", "payhub-payment-1")
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(format!("amount={amount}&currency=usd"))
            .send()
    };
    let first: serde_json::Value = post("100").await.unwrap().json().await.unwrap();
    let again: serde_json::Value = post("100").await.unwrap().json().await.unwrap();
    assert_eq!(first["id"], again["id"]);
    let other = post("200").await.unwrap();
    assert_eq!(other.status(), 400);
    let body: serde_json::Value = other.json().await.unwrap();
    assert_eq!(body["error"]["type"], "idempotency_error");
    assert_eq!(fake.intents().len(), 1);
}

/// A webhook endpoint standing in for payhub's: keeps what it receives.
async fn receiver() -> (String, Arc<Mutex<Vec<(HeaderMap, Bytes)>>>) {
    let received: Arc<Mutex<Vec<(HeaderMap, Bytes)>>> = Arc::default();
    let kept = received.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let kept = kept.clone();
            async move {
                kept.lock().unwrap().push((headers, body));
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, received)
}

#[tokio::test]
async fn notifications_verify_and_a_duplicate_reads_the_same() {
    let fake = FakeStripe::start().await;
    let connector = connector(&fake);
    let (url, received) = receiver().await;
    fake.set_webhook_url(&url);
    let request = request(money(12_345, "HKD"));
    let payment = started(&connector, &request).await;
    let id = payment.gw_ref.clone().unwrap();
    fake.pay(&id);
    assert_eq!(fake.notify(&id, 2).await, vec![200, 200]);
    let received = received.lock().unwrap().clone();
    assert_eq!(received.len(), 2);
    let parsed: Vec<_> = received
        .iter()
        .map(|(headers, body)| connector.parse_notification(headers, body).unwrap())
        .collect();
    assert_eq!(parsed[0], parsed[1]);
    assert_eq!(parsed[0].payment_id, request.payment_id);
    assert_eq!(parsed[0].report.state, GatewayState::Succeeded);
    assert_eq!(parsed[0].report.gw_ref, Some(id));
}

#[tokio::test]
async fn events_map_to_states_and_other_payment_intent_events_change_nothing() {
    let fake = FakeStripe::start().await;
    let connector = connector(&fake);
    let read = |header: String, body: Vec<u8>| {
        let mut headers = HeaderMap::new();
        headers.insert("stripe-signature", header.parse().unwrap());
        connector.parse_notification(&headers, &body)
    };
    let payment = started(&connector, &request(money(500, "HKD"))).await;
    let id = payment.gw_ref.clone().unwrap();
    let (h, b) = fake.signed_event(&id, "payment_intent.created");
    assert_eq!(
        read(h, b).unwrap().report.state,
        GatewayState::AwaitingCustomer
    );
    connector
        .pay_with_card(&payment, &card(fake::CARD_DECLINED), None)
        .await
        .unwrap();
    let (h, b) = fake.signed_event(&id, "payment_intent.payment_failed");
    let failed = read(h, b).unwrap().report;
    assert_eq!(
        failed.state,
        GatewayState::AwaitingCustomer,
        "open for another card"
    );
    assert_eq!(failed.code.map(|c| c.0).as_deref(), Some("generic_decline"));
    connector.cancel(&payment).await.unwrap();
    let (h, b) = fake.signed_event(&id, "payment_intent.canceled");
    assert_eq!(read(h, b).unwrap().report.state, GatewayState::Canceled);
}

#[tokio::test]
async fn tampered_stale_or_foreign_notifications_are_refused() {
    let fake = FakeStripe::start().await;
    let connector = connector(&fake);
    let payment = started(&connector, &request(money(500, "HKD"))).await;
    let id = payment.gw_ref.clone().unwrap();
    fake.pay(&id);
    let (header, body) = fake.signed_event(&id, "payment_intent.succeeded");
    let read = |header: &str, body: &[u8]| {
        let mut headers = HeaderMap::new();
        headers.insert("stripe-signature", header.parse().unwrap());
        connector.parse_notification(&headers, body)
    };
    assert!(read(&header, &body).is_ok());
    let tampered = String::from_utf8(body.clone())
        .unwrap()
        .replace("succeeded", "canceled_");
    assert!(matches!(
        read(&header, tampered.as_bytes()),
        Err(GatewayError::BadNotification(_))
    ));
    let forged = fake::sign_header("whsec_someone_else", Utc::now().timestamp(), &body);
    assert!(matches!(
        read(&forged, &body),
        Err(GatewayError::BadNotification(_))
    ));
    let stale = fake::sign_header(fake::WEBHOOK_SECRET, Utc::now().timestamp() - 301, &body);
    assert!(matches!(
        read(&stale, &body),
        Err(GatewayError::BadNotification(_))
    ));
    assert!(matches!(
        connector.parse_notification(&HeaderMap::new(), &body),
        Err(GatewayError::BadNotification(_))
    ));
    // Authentic, but about no payhub payment: nothing payhub can apply.
    let other = serde_json::to_vec(&serde_json::json!({
        "id": "evt_x", "object": "event", "type": "customer.created",
        "data": {"object": {"id": "cus_1", "object": "customer"}}
    }))
    .unwrap();
    let signed = fake::sign_header(fake::WEBHOOK_SECRET, Utc::now().timestamp(), &other);
    assert!(matches!(
        read(&signed, &other),
        Err(GatewayError::Unrelated(_))
    ));
    // The same event unsigned is not authentic, whatever it is about.
    let forged = fake::sign_header("whsec_someone_else", Utc::now().timestamp(), &other);
    assert!(matches!(
        read(&forged, &other),
        Err(GatewayError::BadNotification(_))
    ));
}

#[tokio::test]
async fn a_failed_payment_event_keeps_the_payment_open_for_another_card() {
    let fake = FakeStripe::start().await;
    let connector = connector(&fake);
    let (url, received) = receiver().await;
    fake.set_webhook_url(&url);
    let request = request(money(700, "USD"));
    let payment = started(&connector, &request).await;
    let id = payment.gw_ref.clone().unwrap();
    fake.decline(&id);
    assert_eq!(fake.notify(&id, 1).await, vec![200]);
    let (headers, body) = received.lock().unwrap()[0].clone();
    assert!(String::from_utf8_lossy(&body).contains("payment_intent.payment_failed"));
    let notification = connector.parse_notification(&headers, &body).unwrap();
    assert_eq!(notification.payment_id, request.payment_id);
    assert_eq!(notification.report.state, GatewayState::AwaitingCustomer);
    assert_eq!(
        notification.report.code.map(|c| c.0).as_deref(),
        Some("generic_decline")
    );
}

fn saving(amount: Money, customer_ref: &str, earlier: Option<&str>) -> StartRequest {
    StartRequest {
        save_card: Some(SaveCard {
            customer_ref: customer_ref.into(),
            earlier: earlier.map(str::to_owned),
        }),
        ..request(amount)
    }
}

fn stored(token: &str) -> StoredMethod {
    StoredMethod {
        token: token.into(),
        kind: "card".into(),
        brand: Some("visa".into()),
        first6: None,
        last4: Some("4242".into()),
    }
}

/// A card payment that saves its card: the PaymentIntent is created for a
/// Customer (made once per payhub customer, under its own idempotency key)
/// with `setup_future_usage=off_session`; once paid, the report carries
/// `cus_…/pm_…`, which Stripe (the fake) then charges off-session for that
/// Customer only. A card paid without saving cannot be charged again.
#[tokio::test]
async fn a_card_saved_at_stripe_is_charged_off_session_for_its_customer() {
    let fake = FakeStripe::start().await;
    let connector = connector(&fake);

    let first = saving(money(1_200, "USD"), "aps-1", None);
    let payment = started(&connector, &first).await;
    let log = fake.log();
    assert_eq!(
        (log[0].method.as_str(), log[0].path.as_str()),
        ("POST", "/v1/customers")
    );
    assert_eq!(
        log[0].idempotency_key.as_deref(),
        Some("payhub-customer-aps-1")
    );
    assert_eq!(log[0].param("metadata[payhub_customer]"), Some("aps-1"));
    let customer = fake.customers()[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(log[1].param("customer"), Some(customer.as_str()));
    assert_eq!(log[1].param("setup_future_usage"), Some("off_session"));

    let paid = connector
        .pay_with_card(&payment, &card(fake::CARD_SUCCEEDS), None)
        .await
        .unwrap();
    assert_eq!(paid.state, GatewayState::Succeeded);
    let saved = paid
        .saved_method
        .clone()
        .expect("the saved card's reference");
    let (saved_customer, method) = saved.split_once('/').unwrap();
    assert_eq!(saved_customer, customer);
    assert_eq!(
        fake.payment_method(method).unwrap()["customer"],
        customer.as_str()
    );
    // A query or the webhook's PaymentIntent says the same.
    assert_eq!(
        connector.query(&payment).await.unwrap().saved_method,
        Some(saved.clone())
    );

    // Charged off-session later: for that Customer, with that PaymentMethod.
    let charge = request(money(350, "USD"));
    let report = connector
        .charge_token(&charge, &stored(&saved))
        .await
        .unwrap();
    assert_eq!(report.state, GatewayState::Succeeded);
    let intent = fake.intent(report.gw_ref.as_deref().unwrap()).unwrap();
    assert_eq!(
        (
            intent["customer"].as_str(),
            intent["payment_method"].as_str()
        ),
        (Some(customer.as_str()), Some(method))
    );
    assert_eq!(
        report.saved_method, None,
        "an off-session charge saves nothing new"
    );

    // Stripe refuses the PaymentMethod for another Customer, or without one.
    fake.add_customer("cus_other");
    for token in [format!("cus_other/{method}"), method.to_owned()] {
        assert!(
            matches!(
                connector
                    .charge_token(&request(money(350, "USD")), &stored(&token))
                    .await,
                Err(GatewayError::Rejected { .. })
            ),
            "{token}"
        );
    }

    // A card paid without saving is single-use at Stripe.
    let once = request(money(500, "USD"));
    let once_ref = started(&connector, &once).await;
    let paid_once = connector
        .pay_with_card(&once_ref, &card(fake::CARD_SUCCEEDS), None)
        .await
        .unwrap();
    assert_eq!(
        (paid_once.state, paid_once.saved_method),
        (GatewayState::Succeeded, None)
    );
    let single = fake.intent(once_ref.gw_ref.as_deref().unwrap()).unwrap()["payment_method"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(matches!(
        connector
            .charge_token(
                &request(money(350, "USD")),
                &stored(&format!("{customer}/{single}"))
            )
            .await,
        Err(GatewayError::Rejected { .. })
    ));

    // A second card of the same customer reuses its Customer.
    let second = saving(money(800, "USD"), "aps-1", Some(&saved));
    started(&connector, &second).await;
    let made = fake
        .customers()
        .into_iter()
        .filter(|c| c["metadata"]["payhub_customer"] == "aps-1")
        .count();
    assert_eq!(made, 1, "one Customer per payhub customer");
    let create = fake
        .log()
        .into_iter()
        .rev()
        .find(|l| l.path == "/v1/payment_intents" && l.method == "POST")
        .unwrap();
    assert_eq!(create.param("customer"), Some(customer.as_str()));
}

/// A saving start whose Customer create's answer was lost is replayed by the
/// query: the same Customer (its key), then the one PaymentIntent.
#[tokio::test]
async fn a_saving_start_whose_customer_answer_was_lost_is_replayed_whole() {
    let fake = FakeStripe::start().await;
    let connector = connector(&fake);
    let start = saving(money(1_000, "USD"), "aps-2", None);
    fake.fail_next(Failure::Slow(TOO_LATE));
    assert_eq!(connector.start(&start).await, Err(GatewayError::Timeout));
    tokio::time::sleep(TOO_LATE).await;
    let found = connector
        .query(&GatewayRef::new(start.payment_id, None))
        .await
        .unwrap();
    assert_eq!(found.state, GatewayState::AwaitingCustomer);
    assert_eq!((fake.customers().len(), fake.intents().len()), (1, 1));
    let intent = &fake.intents()[0];
    assert_eq!(intent["customer"], fake.customers()[0]["id"]);
    assert_eq!(intent["setup_future_usage"], "off_session");
}

/// A saved card that asks for 3-D Secure is saved once the customer passed
/// it; off-session, nobody can pass it, so a later charge is declined.
#[tokio::test]
async fn a_three_d_secure_card_is_saved_after_its_challenge() {
    let fake = FakeStripe::start().await;
    let connector = connector(&fake);
    let start = saving(money(900, "USD"), "aps-3", None);
    let payment = started(&connector, &start).await;
    let challenged = connector
        .pay_with_card(&payment, &card(fake::CARD_3DS_REQUIRED), None)
        .await
        .unwrap();
    assert_eq!(
        (challenged.state, challenged.saved_method),
        (GatewayState::Challenge, None)
    );
    fake.complete_3ds(payment.gw_ref.as_deref().unwrap(), true);
    let back = connector.answer_challenge(&payment, "").await.unwrap();
    assert_eq!(back.state, GatewayState::Succeeded);
    let saved = back.saved_method.expect("saved once the challenge passed");
    let report = connector
        .charge_token(&request(money(100, "USD")), &stored(&saved))
        .await
        .unwrap();
    assert_eq!(report.state, GatewayState::Declined);
    assert_eq!(
        report.code.map(|c| c.0).as_deref(),
        Some("authentication_required")
    );
}
