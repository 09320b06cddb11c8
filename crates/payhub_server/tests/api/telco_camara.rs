//! The telco payment service with a CAMARA Carrier Billing API as the bill
//! (issue 12): seed 004's flows through the telco dialect to the fake
//! operator of `camara_fake`, which checks every request against the
//! API's shapes (its `problems` stay empty in every test).

use payhub_app::carrier_billing::camara::CamaraConfig;
use payhub_server::config::{CarrierChoice, Settings};
use reqwest::StatusCode;
use rust_decimal::Decimal;
use secrecy::SecretString;
use serde_json::{json, Value};

use crate::both_backends;
use crate::camara_fake::{FakeCamara, CLIENT_ID, CLIENT_SECRET};
use crate::helpers::{test_settings, TestApp};
use crate::telco::{request, Consent, MSISDN};

const PHONE: &str = "+905321234567";

/// payhub's settings with the fake as its carrier.
fn camara(fake: &FakeCamara) -> impl FnOnce(&str) -> Settings {
    camara_with(fake, |_| {})
}

/// payhub's settings with the fake as its carrier, then `adjust`ed.
fn camara_with(fake: &FakeCamara, adjust: fn(&mut Settings)) -> impl FnOnce(&str) -> Settings {
    let config = CamaraConfig {
        base_url: fake.base_url.clone(),
        refund_base_url: fake.refund_base_url.clone(),
        token_url: fake.token_url.clone(),
        client_id: CLIENT_ID.into(),
        client_secret: SecretString::from(CLIENT_SECRET),
        sink_url: None,
    };
    move |database_url| {
        let mut settings = test_settings(database_url);
        settings.telco.carrier = CarrierChoice::Camara(config);
        adjust(&mut settings);
        settings
    }
}

/// payhub restarted over the fake, the catalogue stocked.
async fn over_camara(app: TestApp) -> (TestApp, FakeCamara) {
    let fake = FakeCamara::start().await;
    let app = app.restart_with(camara(&fake)).await;
    app.stock_catalogue().await;
    (app, fake)
}

/// Requests `id` and approves it with the texted code; returns its `resultDesc`.
async fn approved(app: &TestApp, body: Value, remove: &[&str]) -> Value {
    let id = body["transactionId"].as_str().unwrap().to_owned();
    let (status, answer) = app.telco(&body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let (link, code) = app.last_sms().await;
    let form = Consent {
        code: Some(&code),
        remove,
        ..Default::default()
    };
    app.consent(&link, "approve", form).await;
    app.state_of(&id).await["resultDesc"].clone()
}

fn decimal(text: &str) -> Decimal {
    text.parse().unwrap()
}

both_backends! {
    async fn reserve_then_commit_or_release_is_camaras_two_step_payment(app: TestApp) {
        let (app, fake) = over_camara(app).await;
        assert_eq!(approved(&app, request("k-1", 10, &[("50", 1), ("53", 2)]), &["53"]).await, "RESERVED");
        let payments = fake.payments();
        assert_eq!(payments.len(), 1);
        let reserved = &payments[0];
        assert_eq!((reserved.phone.as_str(), reserved.status.as_str(), reserved.two_step), (PHONE, "reserved", true));
        assert_eq!(reserved.amount, decimal("19.99"), "the removed stickers are not reserved");
        let amount = &reserved.request["amountTransaction"]["paymentAmount"];
        assert_eq!(amount["chargingInformation"]["amount"].to_string(), "19.99", "written exactly");
        assert_eq!(amount["paymentDetails"], json!([{"id": "50", "amount": 19.99, "currency": "TRY", "description": "Music pack", "isTaxIncluded": true}]));

        let (status, body) = app.telco_call(reqwest::Method::POST, "/k-1/commit").await;
        assert_eq!((status, body["resultDesc"].clone()), (StatusCode::OK, json!("COMMITTED")));
        assert_eq!(fake.payments()[0].status, "succeeded");
        assert_eq!(fake.charged(PHONE), decimal("19.99"));
        assert_eq!(app.tmf_of("k-1").await["status"], "captured");

        assert_eq!(approved(&app, request("k-2", 10, &[("60", 1)]), &[]).await, "RESERVED");
        let (status, body) = app.telco_call(reqwest::Method::POST, "/k-2/release").await;
        assert_eq!((status, body["resultDesc"].clone()), (StatusCode::OK, json!("RELEASED")));
        assert_eq!(fake.payments()[1].status, "cancelled");
        assert_eq!(fake.charged(PHONE), decimal("19.99"), "nothing more charged");

        let calls = fake.calls();
        for call in ["POST prepare", "POST confirm", "GET payment", "POST cancel"] {
            assert!(calls.iter().any(|c| c == call), "{call} in {calls:?}");
        }
        assert_eq!(fake.token_requests(), 1, "one token, cached across calls");
        assert_eq!(fake.problems(), Vec::<String>::new());
    }
}

both_backends! {
    async fn direct_debit_and_in_app_purchase_are_one_step_payments(app: TestApp) {
        let (app, fake) = over_camara(app).await;
        assert_eq!(approved(&app, request("d-1", 11, &[("53", 3)]), &[]).await, "CHARGED");
        assert_eq!(approved(&app, request("d-2", 50, &[("60", 1)]), &[]).await, "CHARGED");
        let payments = fake.payments();
        assert_eq!(payments.len(), 2);
        assert!(payments.iter().all(|p| p.status == "succeeded" && !p.two_step), "{payments:?}");
        assert_eq!((payments[0].amount, payments[1].amount), (decimal("15.00"), decimal("10.00")));
        let first = &payments[0].request["amountTransaction"]["paymentAmount"];
        assert_eq!(first["paymentDetails"][0]["description"], "3 x Sticker");
        let second = &payments[1].request["amountTransaction"]["paymentAmount"];
        assert_eq!(second["chargingMetaData"]["productId"], "60");
        assert_eq!(app.tmf_of("d-2").await["status"], "captured");
        assert_eq!(fake.calls().iter().filter(|c| *c == "POST create").count(), 2);
        assert_eq!(fake.problems(), Vec::<String>::new());
    }
}

both_backends! {
    async fn a_charge_the_operator_refuses_fails_and_charges_nothing(app: TestApp) {
        let (app, fake) = over_camara(app).await;
        fake.set_limit(PHONE, "30.00");
        assert_eq!(approved(&app, request("f-1", 11, &[("50", 1)]), &[]).await, "CHARGED");
        // 422 CARRIER_BILLING.USER_AMOUNT_THRESHOLD_OVERPASSED, on either step.
        assert_eq!(approved(&app, request("f-2", 11, &[("50", 1)]), &[]).await, "PAYMENT_FAILED");
        assert_eq!(approved(&app, request("f-3", 10, &[("50", 1)]), &[]).await, "PAYMENT_FAILED");
        assert_eq!(app.state_of("f-2").await["resultCode"], 1111);
        assert_eq!(app.tmf_of("f-3").await["status"], "denied");
        // A blocked line and a number the operator does not bill.
        fake.refuse_next("create", 403, "CARRIER_BILLING.PAYMENT_DENIED");
        assert_eq!(approved(&app, request("f-4", 11, &[("53", 1)]), &[]).await, "PAYMENT_FAILED");
        fake.refuse_next("prepare", 404, "IDENTIFIER_NOT_FOUND");
        assert_eq!(approved(&app, request("f-5", 10, &[("53", 1)]), &[]).await, "PAYMENT_FAILED");
        assert_eq!(fake.payments().len(), 1, "only the first was booked");
        assert_eq!(fake.charged(PHONE), decimal("19.99"));
        // Within the limit, the same line is charged again.
        assert_eq!(approved(&app, request("f-6", 11, &[("53", 1)]), &[]).await, "CHARGED");
        assert_eq!(fake.problems(), Vec::<String>::new());
    }
}

both_backends! {
    /// The operator books but answers too late: payhub does not take the
    /// silence as a refusal, it asks (retrievePayment for a confirm,
    /// retrievePayments by clientCorrelator for a create) and records what
    /// was booked, once.
    async fn a_carrier_timeout_is_resolved_by_retrieval(app: TestApp) {
        let (app, fake) = over_camara(app).await;
        assert_eq!(approved(&app, request("t-1", 10, &[("60", 1)]), &[]).await, "RESERVED");
        fake.delay_next("confirm");
        let (status, body) = app.telco_call(reqwest::Method::POST, "/t-1/commit").await;
        assert_eq!((status, body["resultDesc"].clone()), (StatusCode::OK, json!("COMMITTED")), "{body}");
        assert_eq!(fake.payments()[0].status, "succeeded");

        fake.delay_next("create");
        assert_eq!(approved(&app, request("t-2", 11, &[("53", 1)]), &[]).await, "CHARGED");
        let payments = fake.payments();
        assert_eq!(payments.len(), 2, "charged once: {payments:?}");
        assert_eq!(fake.charged(PHONE), decimal("15.00"));
        let calls = fake.calls();
        assert!(calls.iter().any(|c| c == "GET payment"), "{calls:?}");
        assert!(calls.iter().any(|c| c == "GET payments"), "{calls:?}");
        assert_eq!(fake.problems(), Vec::<String>::new());
    }
}

both_backends! {
    async fn a_refund_is_credited_through_camaras_refund_api(app: TestApp) {
        let (app, fake) = over_camara(app).await;
        assert_eq!(approved(&app, request("r-1", 11, &[("50", 1)]), &[]).await, "CHARGED");
        let id = app.tmf_of("r-1").await["id"].as_str().unwrap().to_owned();
        let response = app.post("/refund", &json!({"payment": {"id": id}, "account": {"id": MSISDN},
            "paymentMethod": {"@type": "CarrierBillingDirectDebit"}, "totalAmount": {"unit": "TRY", "value": 10.0}})).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let created: Value = response.json().await.unwrap();
        let path = format!("/refund/{}", created["id"].as_str().unwrap());
        let mut settled = Value::Null;
        for _ in 0..100 {
            settled = app.get(&path).await.json().await.unwrap();
            if settled["status"] == "done" { break; }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert_eq!(settled["status"], "done", "{settled}");
        let payment = &fake.payments()[0];
        assert_eq!(payment.refunded, decimal("10.00"));
        assert_eq!(fake.charged(PHONE), decimal("9.99"));
        assert_eq!(fake.problems(), Vec::<String>::new());
    }
}

both_backends! {
    /// An access token the operator no longer accepts (401) is replaced
    /// once, and the call goes through.
    async fn an_expired_token_is_replaced(app: TestApp) {
        let (app, fake) = over_camara(app).await;
        assert_eq!(approved(&app, request("e-1", 11, &[("60", 1)]), &[]).await, "CHARGED");
        assert_eq!(fake.token_requests(), 1);
        fake.revoke_tokens();
        assert_eq!(approved(&app, request("e-2", 11, &[("60", 1)]), &[]).await, "CHARGED");
        assert_eq!(fake.token_requests(), 2);
        assert_eq!(fake.payments().len(), 2);
        assert_eq!(fake.problems(), Vec::<String>::new());
    }
}

fn short_reservations(settings: &mut Settings) {
    settings.telco.reservation_ttl = std::time::Duration::from_secs(1);
}

both_backends! {
    /// A reservation nobody commits is cancelled at the operator.
    async fn an_uncommitted_reservation_is_cancelled_at_the_operator(app: TestApp) {
        let fake = FakeCamara::start().await;
        let app = app.restart_with(camara_with(&fake, short_reservations)).await;
        app.stock_catalogue().await;
        assert_eq!(approved(&app, request("x-1", 10, &[("60", 1)]), &[]).await, "RESERVED");
        let mut last = Value::Null;
        for _ in 0..100 {
            last = app.state_of("x-1").await;
            if last["resultDesc"] != "RESERVED" { break; }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert_eq!(last["resultDesc"], "RELEASED", "{last}");
        assert_eq!(fake.payments()[0].status, "cancelled");
        assert_eq!(fake.charged(PHONE), Decimal::ZERO);
        assert_eq!(fake.problems(), Vec::<String>::new());
    }
}

both_backends! {
    /// The operator took the reservation but refuses to confirm it (a line
    /// blocked meanwhile): the transaction fails and its payment, which was
    /// authorized, fails too; nothing is charged.
    async fn a_commit_the_operator_refuses_fails_the_authorized_payment(app: TestApp) {
        let (app, fake) = over_camara(app).await;
        assert_eq!(approved(&app, request("c-1", 10, &[("50", 1)]), &[]).await, "RESERVED");
        assert_eq!(app.tmf_of("c-1").await["status"], "authorized");
        fake.refuse_next("confirm", 403, "CARRIER_BILLING.PAYMENT_DENIED");
        let (status, body) = app.telco_call(reqwest::Method::POST, "/c-1/commit").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["resultDesc"], "PAYMENT_FAILED", "{body}");
        assert_eq!(app.state_of("c-1").await["resultCode"], 1111);
        assert_eq!(app.tmf_of("c-1").await["status"], "failed");
        assert_eq!(fake.charged(PHONE), decimal("0"), "nothing charged");
        assert_eq!(fake.problems(), Vec::<String>::new());
    }
}

/// The https origin payhub tells the operator its notifications go to; the
/// fake delivers them to payhub's test address instead (a TLS end's job).
const PUBLIC_ORIGIN: &str = "https://payhub.test";

/// payhub over the fake with notifications asked for, and delivered.
async fn over_camara_with_sink(app: TestApp, adjust: fn(&mut Settings)) -> (TestApp, FakeCamara) {
    let fake = FakeCamara::start().await;
    let settings = camara_with(&fake, adjust);
    let app = app
        .restart_with(move |database_url| {
            let mut settings = settings(database_url);
            if let CarrierChoice::Camara(config) = &mut settings.telco.carrier {
                config.sink_url = Some(format!("{PUBLIC_ORIGIN}/carrier/camara/notifications"));
            }
            settings
        })
        .await;
    fake.route_sinks(PUBLIC_ORIGIN, &format!("http://{}", app.address));
    app.stock_catalogue().await;
    (app, fake)
}

/// The fake's notification `event` about its payment `payment`, once an
/// attempt was answered 2xx (or the last seen after ~20 s).
async fn delivered(
    fake: &FakeCamara,
    event: &str,
    payment: &str,
) -> crate::camara_fake::SentNotice {
    let mut last = None;
    for _ in 0..400 {
        last = fake
            .notices()
            .into_iter()
            .find(|n| n.event == event && n.payment == payment);
        if last
            .as_ref()
            .is_some_and(|n| n.attempts.last().is_some_and(|s| (200..300).contains(s)))
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    last.unwrap_or_else(|| panic!("no {event} notification: {:?}", fake.notices()))
}

/// Polls the transaction until its `resultDesc` leaves `from` (at most ~15 s).
async fn settled_from(app: &TestApp, id: &str, from: &str) -> Value {
    let mut last = Value::Null;
    for _ in 0..300 {
        last = app.state_of(id).await;
        if last["resultDesc"] != from {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    last
}

both_backends! {
    /// The operator confirms, but neither the confirm's answer nor the
    /// retrieval's comes in time: the service is told to ask again (2099)
    /// and the reservation stands. The operator's notification
    /// (payment-completed, to the payment's own sink with its bearer token)
    /// makes payhub ask again, and the transaction is committed without
    /// the service calling again; nothing is charged twice.
    async fn a_notification_settles_a_commit_whose_answer_was_lost(app: TestApp) {
        let (app, fake) = over_camara_with_sink(app, |_| {}).await;
        assert_eq!(approved(&app, request("n-1", 10, &[("60", 1)]), &[]).await, "RESERVED");
        let sink = fake.payments()[0].sink.clone().expect("a sink was asked for");
        assert!(sink.0.starts_with(&format!("{PUBLIC_ORIGIN}/carrier/camara/notifications/")), "{sink:?}");
        let carrier_id = fake.payments()[0].id.clone();
        // payment-reserved changes nothing: it is taken (204) and the
        // reservation stands.
        let reserved = delivered(&fake, "payment-reserved", &carrier_id).await;
        assert_eq!(reserved.attempts.last(), Some(&204), "{reserved:?}");
        assert_eq!(app.state_of("n-1").await["resultDesc"], "RESERVED");

        fake.delay_next("confirm");
        fake.delay_next("retrieve");
        let (status, body) = app.telco_call(reqwest::Method::POST, "/n-1/commit").await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
        assert_eq!(body["resultCode"], 2099, "unknown outcome, not a refusal: {body}");
        assert_eq!(fake.payments()[0].status, "succeeded");

        let settled = settled_from(&app, "n-1", "RESERVED").await;
        assert_eq!(settled["resultDesc"], "COMMITTED", "{settled}");
        assert_eq!(app.tmf_of("n-1").await["status"], "captured");
        assert_eq!(fake.charged(PHONE), decimal("10.00"), "charged once");
        let completed = delivered(&fake, "payment-completed", &carrier_id).await;
        assert_eq!(completed.attempts.last(), Some(&204), "{completed:?}");
        assert!(completed.attempts.contains(&503), "sent again while payhub's own call was under way: {completed:?}");
        assert_eq!(fake.calls().iter().filter(|c| *c == "POST confirm").count(), 1);
        assert_eq!(fake.problems(), Vec::<String>::new());
    }
}

both_backends! {
    /// The subscriber approves, the operator charges, and neither the
    /// create's answer nor the search by clientCorrelator comes in time:
    /// the consent page asks to try again. The operator's notification
    /// settles it: charged, once, without a second approval.
    async fn a_notification_settles_an_approval_whose_answer_was_lost(app: TestApp) {
        let (app, fake) = over_camara_with_sink(app, |_| {}).await;
        fake.delay_next("create");
        fake.delay_next("list");
        let body = request("n-2", 11, &[("53", 1)]);
        let (status, answer) = app.telco(&body).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        let (link, code) = app.last_sms().await;
        app.consent(&link, "approve", Consent { code: Some(&code), ..Default::default() }).await;
        let settled = settled_from(&app, "n-2", "CONSENT_REQUESTED").await;
        assert_eq!(settled["resultDesc"], "CHARGED", "{settled}");
        assert_eq!(fake.payments().len(), 1, "one charge");
        assert_eq!(fake.charged(PHONE), decimal("5.00"));
        assert_eq!(app.tmf_of("n-2").await["status"], "captured");
        assert_eq!(fake.problems(), Vec::<String>::new());
    }
}

both_backends! {
    /// A notification is taken only with the bearer token of the payment's
    /// own sink, and only as a Carrier Billing CloudEvent; refused ones
    /// change nothing and are answered in the CAMARA error model.
    async fn a_notification_without_the_sinks_token_changes_nothing(app: TestApp) {
        let (app, fake) = over_camara_with_sink(app, |_| {}).await;
        assert_eq!(approved(&app, request("n-3", 10, &[("60", 1)]), &[]).await, "RESERVED");
        assert_eq!(approved(&app, request("n-4", 10, &[("53", 1)]), &[]).await, "RESERVED");
        let payments = fake.payments();
        let (sink, token) = payments[0].sink.clone().unwrap();
        let (_, other_token) = payments[1].sink.clone().unwrap();
        let local = sink.replacen(PUBLIC_ORIGIN, &format!("http://{}", app.address), 1);
        let event = json!({"id": "x", "source": "https://operator.example", "specversion": "1.0",
            "type": "org.camaraproject.carrier-billing.v0.payment-cancelled", "time": "2026-11-25T10:00:00Z",
            "data": {"paymentId": payments[0].id, "status": "succeeded", "description": "x"}});
        let client = reqwest::Client::new();
        let cases = [
            (None, event.clone(), 401),
            (Some(other_token.as_str()), event.clone(), 401),
            (Some("0000"), event.clone(), 401),
            (Some(token.as_str()), json!({"data": {"paymentId": payments[0].id}}), 400),
        ];
        for (bearer, body, expected) in cases {
            let mut request = client.post(&local).header("x-correlator", "t-1").json(&body);
            if let Some(bearer) = bearer {
                request = request.bearer_auth(bearer);
            }
            let response = request.send().await.unwrap();
            assert_eq!(response.status().as_u16(), expected, "{bearer:?}");
            assert_eq!(response.headers()["x-correlator"], "t-1");
            let error: Value = response.json().await.unwrap();
            assert_eq!(error["status"], expected, "{error}");
            assert!(error["code"].is_string() && error["message"].is_string(), "{error}");
        }
        assert_eq!(app.state_of("n-3").await["resultDesc"], "RESERVED");
        // A good token naming another payment's carrier id: payhub asks
        // about its own booking, which is still reserved.
        let forged = json!({"id": "y", "source": "https://operator.example", "specversion": "1.0",
            "type": "org.camaraproject.carrier-billing.v0.payment-cancelled", "time": "2026-11-25T10:00:00Z",
            "data": {"paymentId": payments[1].id, "status": "succeeded", "description": "x"}});
        let response = client.post(&local).bearer_auth(&token).json(&forged).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        assert_eq!(app.state_of("n-3").await["resultDesc"], "RESERVED");
        assert_eq!(fake.problems(), Vec::<String>::new());
    }
}

fn short_consents(settings: &mut Settings) {
    settings.telco.consent_ttl = std::time::Duration::from_secs(3);
}

both_backends! {
    /// Without notifications, a charge whose answer was lost outlives its
    /// consent: before the consent expires payhub asks the operator, finds
    /// the charge and credits it back, so nothing stays on the bill of a
    /// transaction reported expired.
    async fn an_expiring_consent_takes_back_a_charge_whose_answer_was_lost(app: TestApp) {
        let fake = FakeCamara::start().await;
        let app = app.restart_with(camara_with(&fake, short_consents)).await;
        app.stock_catalogue().await;
        fake.delay_next("create");
        fake.delay_next("list");
        let body = request("x-2", 11, &[("53", 1)]);
        let (status, answer) = app.telco(&body).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        let (link, code) = app.last_sms().await;
        app.consent(&link, "approve", Consent { code: Some(&code), ..Default::default() }).await;
        assert_eq!(fake.payments()[0].status, "succeeded", "the operator charged");
        let settled = settled_from(&app, "x-2", "CONSENT_REQUESTED").await;
        assert_eq!(settled["resultDesc"], "CONSENT_EXPIRED", "{settled}");
        assert_eq!(fake.payments()[0].refunded, decimal("5.00"), "credited back");
        assert_eq!(fake.charged(PHONE), Decimal::ZERO);
        assert_eq!(app.tmf_of("x-2").await["status"], "canceled");
        assert_eq!(fake.problems(), Vec::<String>::new());
    }
}

both_backends! {
    /// A commit whose answer was lost, then the reservation's deadline: the
    /// release meets a confirmed payment (409 PAYMENT_CONFIRMED), payhub
    /// asks, and the transaction is committed, not released.
    async fn a_release_that_meets_a_confirmed_payment_keeps_it_committed(app: TestApp) {
        let fake = FakeCamara::start().await;
        let app = app.restart_with(camara_with(&fake, |s| {
            s.telco.reservation_ttl = std::time::Duration::from_secs(6);
        })).await;
        app.stock_catalogue().await;
        assert_eq!(approved(&app, request("x-3", 10, &[("60", 1)]), &[]).await, "RESERVED");
        fake.delay_next("confirm");
        fake.delay_next("retrieve");
        let (_, body) = app.telco_call(reqwest::Method::POST, "/x-3/commit").await;
        assert_eq!(body["resultCode"], 2099, "{body}");
        let settled = settled_from(&app, "x-3", "RESERVED").await;
        assert_eq!(settled["resultDesc"], "COMMITTED", "{settled}");
        assert!(fake.calls().iter().any(|c| c == "POST cancel"), "the deadline tried to release");
        assert_eq!(fake.charged(PHONE), decimal("10.00"));
        assert_eq!(app.tmf_of("x-3").await["status"], "captured");
        assert_eq!(fake.problems(), Vec::<String>::new());
    }
}
