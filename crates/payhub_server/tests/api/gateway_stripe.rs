//! Issue 11: card payments through a merchant's Stripe connector account,
//! pointed at a fake of Stripe's API (`payhub_app/tests/fakes/stripe.rs`),
//! end to end. The hosted card page is driven as a browser with JavaScript
//! off would (plain GETs and form posts, redirects shown, not followed): a
//! VMPAY retail sale is paid with a card and the merchant told once; a
//! declined card leaves the sale open for another card; a 3-D Secure card
//! sends the customer to the issuer's page and back; Stripe's signed
//! webhook (sent twice) pays a sale once; a part refund reaches Stripe; a
//! start whose answer was lost is found by the checker; and the APS dialect
//! pays through the same account on the hosted page and with a stored method.

use std::time::Duration;

use axum::http::StatusCode;
use chrono::Datelike;
use payhub_core::PaymentId;
use payhub_store::{ApsPaymentMethod, GatewayPayment, MethodKind};
use serde_json::{json, Value};

use crate::aps::OK_URL;
use crate::both_backends;
use crate::connector_accounts::{add_account, operator};
use crate::helpers::{Listener, TestApp, PUBLIC_BASE};
use crate::retail::{sale, ACK};

#[path = "../../../payhub_app/tests/fakes/stripe.rs"]
pub(crate) mod fake;

use fake::{Failure, FakeStripe};

/// The body that adds a Stripe account serving VMPAY for the test merchant.
fn stripe_account(app: &TestApp, stripe: &FakeStripe) -> Value {
    json!({
        "merchantId": app.merchant.merchant_id,
        "connector": "stripe",
        "gatewayTypes": ["VMPAY"],
        "baseUrl": stripe.base_url(),
        "credentials": {"secret_key": fake::SECRET_KEY, "webhook_secret": fake::WEBHOOK_SECRET},
        "priority": 0,
    })
}

/// Adds the Stripe account and points the fake's webhooks at its notify
/// URL; answers the account id.
async fn stripe_for_merchant(app: &TestApp, stripe: &FakeStripe) -> String {
    let ops = operator(app, None).await;
    let account = add_account(app, &ops, &stripe_account(app, stripe)).await;
    let id = account["id"].as_str().unwrap().to_owned();
    stripe.set_webhook_url(&app.url(&format!("/gateways/accounts/{id}/notifications")));
    id
}

/// A client that, like a browser's history, shows each redirect.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn future_expiry() -> String {
    format!("12/{:02}", (chrono::Utc::now().year() + 3) % 100)
}

fn location(answer: &reqwest::Response) -> String {
    answer
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// The page path of a payhub URL (`http://payhub.test/pay/…`).
fn on_payhub(url: &str) -> String {
    url.strip_prefix(PUBLIC_BASE)
        .unwrap_or_else(|| panic!("not a payhub page: {url}"))
        .to_owned()
}

/// Posts the card form of the page at `path`, as the browser would.
async fn post_card(app: &TestApp, path: &str, number: &str) -> reqwest::Response {
    browser()
        .post(app.url(&format!("{path}/card")))
        .form(&[
            ("number", number),
            ("expiry", &future_expiry()),
            ("cvc", "737"),
            ("holder", "Ada"),
        ])
        .send()
        .await
        .unwrap()
}

async fn get(app: &TestApp, path: &str) -> reqwest::Response {
    browser().get(app.url(path)).send().await.unwrap()
}

/// A VMPAY sale of `amt` (HKD cents); answers (payment id, page path).
async fn card_sale(app: &TestApp, rrn: &str, amt: i64, webhook: Option<&str>) -> (String, String) {
    let mut body = sale("VMPAY", rrn, amt);
    if let Some(url) = webhook {
        body["webhookUrl"] = json!(url);
    }
    let answer = app.retail("sales", body).await;
    let path = on_payhub(answer["paymentUrl"].as_str().unwrap());
    let id = app.tmf_payment_of(rrn).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    (id, path)
}

async fn gateway_row(app: &TestApp, id: &str) -> GatewayPayment {
    let id = PaymentId::from_i64(id.parse().unwrap()).unwrap();
    app.store.find_gateway_payment(id).await.unwrap().unwrap()
}

/// The PaymentIntent of payhub's payment `id` at the fake.
fn intent_of(stripe: &FakeStripe, id: &str) -> Value {
    let found: Vec<Value> = stripe
        .intents()
        .into_iter()
        .filter(|i| i["metadata"]["payhub_payment_id"] == id)
        .collect();
    assert_eq!(
        found.len(),
        1,
        "one PaymentIntent for payment {id}: {found:?}"
    );
    found[0].clone()
}

/// Waits (bounded) until the page at `path` is a card form.
async fn card_form_at(app: &TestApp, path: &str) -> String {
    for _ in 0..100 {
        let page = get(app, path).await;
        if page.status() == StatusCode::OK {
            let html = page.text().await.unwrap();
            if html.contains(&format!("{path}/card")) {
                return html;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the page at {path} never showed the card form");
}

both_backends! {
    async fn a_card_sale_through_stripe_is_paid_notified_once_and_refunded_in_part(app: TestApp) {
        let stripe = FakeStripe::start().await;
        let account = stripe_for_merchant(&app, &stripe).await;
        let hook = Listener::start().await;
        hook.set_reply(StatusCode::OK, ACK);

        let (id, path) = card_sale(&app, "st-1", 1234, Some(&hook.url)).await;
        let intent = intent_of(&stripe, &id);
        assert_eq!((intent["amount"].as_i64(), intent["currency"].as_str()), (Some(1234), Some("hkd")));
        let row = gateway_row(&app, &id).await;
        assert_eq!(row.connector_account.as_deref(), Some(account.as_str()));
        assert_eq!(row.gw_ref.as_deref(), intent["id"].as_str());

        // The customer pays on payhub's card page; the card goes to Stripe
        // in one confirm and nowhere else.
        let html = card_form_at(&app, &path).await;
        assert!(html.contains(r#"id="brand""#), "{html}");
        let posted = post_card(&app, &path, "4242 4242 4242 4242").await;
        assert_eq!(posted.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&posted), path, "post/redirect/get");
        let shown = get(&app, &path).await;
        assert_eq!(location(&shown), format!("{path}/result"), "paid: to the result page");
        let result = get(&app, &format!("{path}/result")).await.text().await.unwrap();
        assert!(result.contains(r#"data-outcome="paid""#), "{result}");
        assert!(!result.contains("4242424242424242") && !result.contains("4242 4242 4242 4242"), "{result}");
        let intent = stripe.intent(intent["id"].as_str().unwrap()).unwrap();
        assert_eq!(intent["status"], "succeeded");
        let confirm = stripe.log().into_iter().find(|l| l.path.ends_with("/confirm")).unwrap();
        assert_eq!(confirm.param("return_url"), Some(format!("{PUBLIC_BASE}{path}/return").as_str()));
        let row = gateway_row(&app, &id).await;
        assert_eq!(row.card.as_ref().map(|c| c.last4.as_str()), Some("4242"));

        hook.wait_until("the webhook", |r| !r.is_empty()).await;
        // Stripe's own event about it, twice, changes nothing more.
        assert_eq!(stripe.notify(intent["id"].as_str().unwrap(), 2).await, vec![200, 200]);
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert_eq!(hook.received().len(), 1, "one payment, one webhook: {:?}", hook.received());
        assert_eq!(hook.received()[0]["rrn"], "st-1");
        assert_eq!(app.tmf_payment_of("st-1").await["status"], "captured");

        // HK$2.34 back: the refund reaches Stripe for that PaymentIntent.
        let refunded = app.retail("refund", json!({
            "type": "VMPAY", "rrn": "st-1-r1", "orgRrn": "st-1", "storeCode": "WP001", "tillId": "01",
            "salesman": "WP9999", "amt": 234, "ccy": "HKD",
        })).await;
        assert_eq!(refunded["errorCode"], "0", "{refunded}");
        let refund_call = stripe.log().into_iter().find(|l| l.path == "/v1/refunds" && l.method == "POST").expect("a refund at Stripe");
        assert_eq!(refund_call.param("payment_intent"), intent["id"].as_str());
        assert_eq!(refund_call.param("amount"), Some("234"));
        let mut status = Value::Null;
        for _ in 0..100 {
            let (_, _, refunds) = app.list("refund", "").await;
            status = refunds[0]["status"].clone();
            if status == "done" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(status, "done");
    }
}

both_backends! {
    async fn a_declined_card_leaves_the_sale_open_and_another_card_pays_it(app: TestApp) {
        let stripe = FakeStripe::start().await;
        stripe_for_merchant(&app, &stripe).await;
        let (id, path) = card_sale(&app, "st-decline", 5000, None).await;
        card_form_at(&app, &path).await;

        let posted = post_card(&app, &path, "4000 0000 0000 0002").await;
        assert_eq!(location(&posted), path);
        let page = get(&app, &path).await;
        assert_eq!(page.status(), StatusCode::OK, "still open");
        let html = page.text().await.unwrap();
        assert!(html.contains(r#"id="card-declined""#) && html.contains(&format!("{path}/card")), "asks for another card: {html}");
        assert!(!html.contains("4000 0000 0000 0002") && !html.contains("4000000000000002"), "{html}");
        assert_eq!(app.query("VMPAY", "st-decline").await["gwRefStatus"], "05");
        let intent = intent_of(&stripe, &id);
        assert_eq!(intent["status"], "requires_payment_method", "Stripe keeps it open too");

        post_card(&app, &path, "4242 4242 4242 4242").await;
        app.wait_for_status("VMPAY", "st-decline", "01").await;
        assert_eq!(intent_of(&stripe, &id)["status"], "succeeded", "the same PaymentIntent, paid");
        assert_eq!(gateway_row(&app, &id).await.card_attempts, 2);
        assert_eq!(app.tmf_payment_of("st-decline").await["status"], "captured");
    }
}

both_backends! {
    async fn a_three_d_secure_card_goes_to_the_issuer_and_back(app: TestApp) {
        let stripe = FakeStripe::start().await;
        stripe_for_merchant(&app, &stripe).await;
        let issuer = browser();

        for (rrn, passes) in [("st-3ds-ok", true), ("st-3ds-failed", false)] {
            let (id, path) = card_sale(&app, rrn, 8800, None).await;
            card_form_at(&app, &path).await;
            let pi = intent_of(&stripe, &id)["id"].as_str().unwrap().to_owned();

            // The card post sends the browser straight to the issuer's page.
            let posted = post_card(&app, &path, "4000 0027 6000 3184").await;
            assert_eq!(posted.status(), StatusCode::SEE_OTHER);
            let issuer_url = format!("{}/3ds/{pi}", stripe.base_url());
            assert_eq!(location(&posted), issuer_url);
            assert!(posted.headers().contains_key("content-security-policy"), "the page's headers on the redirect too");
            // payhub's page, opened meanwhile, links there (no script needed).
            let page = get(&app, &path).await;
            assert_eq!(page.status(), StatusCode::OK);
            let html = page.text().await.unwrap();
            assert!(html.contains(&format!(r#"href="{issuer_url}""#)) && html.contains(r#"id="continue-to-issuer""#), "{html}");
            assert!(!html.contains(&format!("{path}/challenge")), "no code form for an issuer's page: {html}");
            assert_eq!(app.query("VMPAY", rrn).await["gwRefStatus"], "05");

            // The customer finishes (or fails) the issuer's page, which sends
            // them back to payhub's return address for this payment.
            let at_issuer = issuer.get(&issuer_url).send().await.unwrap();
            assert!(at_issuer.text().await.unwrap().contains("/complete"));
            let step = if passes { "complete" } else { "fail" };
            let done = issuer.post(format!("{issuer_url}/{step}")).send().await.unwrap();
            assert_eq!(done.status(), StatusCode::SEE_OTHER);
            let back = location(&done);
            assert!(back.starts_with(&format!("{PUBLIC_BASE}{path}/return?payment_intent={pi}")), "{back}");
            let returned = get(&app, &on_payhub(&back)).await;
            assert_eq!(returned.status(), StatusCode::SEE_OTHER);
            assert_eq!(location(&returned), path);
            let page = get(&app, &path).await;
            if passes {
                assert_eq!(location(&page), format!("{path}/result"));
                assert_eq!(app.query("VMPAY", rrn).await["gwRefStatus"], "01");
                assert_eq!(app.tmf_payment_of(rrn).await["status"], "captured");
                // A second return (a reload) changes nothing.
                let again = get(&app, &on_payhub(&back)).await;
                assert_eq!(location(&again), path);
            } else {
                // A failed 3-D Secure step is a declined card: another may pay.
                assert_eq!(page.status(), StatusCode::OK);
                let html = page.text().await.unwrap();
                assert!(html.contains(r#"id="card-declined""#), "{html}");
                post_card(&app, &path, "4242 4242 4242 4242").await;
                app.wait_for_status("VMPAY", rrn, "01").await;
            }
            assert_eq!(stripe.intent(&pi).unwrap()["status"], "succeeded");
        }
    }
}

both_backends! {
    async fn stripes_signed_webhook_sent_twice_pays_a_sale_once(app: TestApp) {
        let stripe = FakeStripe::start().await;
        let account = stripe_for_merchant(&app, &stripe).await;
        let hook = Listener::start().await;
        hook.set_reply(StatusCode::OK, ACK);
        let (id, path) = card_sale(&app, "st-hook", 990, Some(&hook.url)).await;
        card_form_at(&app, &path).await;
        let pi = intent_of(&stripe, &id)["id"].as_str().unwrap().to_owned();

        // A forged event (another secret) is refused and changes nothing.
        stripe.pay(&pi);
        let (_, body) = stripe.signed_event(&pi, "payment_intent.succeeded");
        let forged = fake::sign_header("whsec_not_the_accounts", chrono::Utc::now().timestamp(), &body);
        let refused = app.client.post(app.url(&format!("/gateways/accounts/{account}/notifications")))
            .header("Stripe-Signature", forged).header("content-type", "application/json")
            .body(body).send().await.unwrap();
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);

        // Stripe tells payhub the PaymentIntent succeeded, and retries it.
        assert_eq!(stripe.notify(&pi, 2).await, vec![200, 200]);
        app.wait_for_status("VMPAY", "st-hook", "01").await;
        hook.wait_until("the webhook", |r| !r.is_empty()).await;
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert_eq!(hook.received().len(), 1, "{:?}", hook.received());
        assert_eq!(app.tmf_payment_of("st-hook").await["status"], "captured");
        let page = get(&app, &path).await;
        assert_eq!(location(&page), format!("{path}/result"), "the page shows it paid");
    }
}

both_backends! {
    async fn a_start_whose_answer_was_lost_is_found_by_query_and_paid(app: TestApp) {
        let stripe = FakeStripe::start().await;
        stripe_for_merchant(&app, &stripe).await;

        // Stripe creates the PaymentIntent but answers after payhub stopped
        // waiting (2 s in tests): unknown, never failed; the checker's query
        // replays the create under its key and finds that PaymentIntent.
        stripe.fail_next(Failure::Slow(Duration::from_millis(2500)));
        let (lost, lost_path) = card_sale(&app, "st-lost", 700, None).await;
        assert_eq!(app.tmf_payment_of("st-lost").await["status"], "pendingAuthorization");
        // Stripe answers 500 to another start: unknown as well.
        stripe.fail_next(Failure::ServerError);
        let (failed, failed_path) = card_sale(&app, "st-500", 800, None).await;

        for (id, path) in [(&lost, &lost_path), (&failed, &failed_path)] {
            card_form_at(&app, path).await;
            let intent = intent_of(&stripe, id);
            assert_eq!(gateway_row(&app, id).await.gw_ref.as_deref(), intent["id"].as_str());
            post_card(&app, path, "4242 4242 4242 4242").await;
        }
        app.wait_for_status("VMPAY", "st-lost", "01").await;
        app.wait_for_status("VMPAY", "st-500", "01").await;
        let creates: Vec<_> = stripe.log().into_iter()
            .filter(|l| l.method == "POST" && l.path == "/v1/payment_intents").collect();
        let key = format!("payhub-payment-{lost}");
        assert!(creates.iter().filter(|l| l.idempotency_key.as_deref() == Some(key.as_str())).count() >= 2,
            "the lost create was replayed under its key: {creates:?}");
        assert_eq!(stripe.intents().len(), 2, "one PaymentIntent per payment");
    }
}

both_backends! {
    async fn an_aps_card_payment_and_a_stored_method_go_through_the_merchants_stripe_account(app: TestApp) {
        let stripe = FakeStripe::start().await;
        let account = stripe_for_merchant(&app, &stripe).await;

        // On the hosted page: 12.00 with 5.00 of credit, 7.00 to the card.
        let aps = app.aps_account("5.00").await;
        let answer = app.aps_pay_ok(&aps.aps_id, json!({
            "total": 12.00, "useAvailableCredit": true,
            "paymentContext": {"callbackUrlOk": OK_URL},
        })).await;
        let id = answer["paymentId"].to_string();
        let location = app.pay_on_page(answer["redirectData"]["redirectURL"].as_str().unwrap(), "4242 4242 4242 4242").await;
        assert_eq!(location, format!("{OK_URL}?paymentId={id}&status=SUCCESS"));
        let intent = intent_of(&stripe, &id);
        assert_eq!((intent["amount"].as_i64(), intent["currency"].as_str(), intent["status"].as_str()),
            (Some(700), Some("usd"), Some("succeeded")), "only the card part reaches Stripe");
        assert_eq!(gateway_row(&app, &id).await.connector_account.as_deref(), Some(account.as_str()));
        let paid = app.aps_payment(&aps.aps_id, &answer["paymentId"]).await;
        assert_eq!(paid["status"], "SUCCESS", "{paid}");
        assert_eq!(paid["transactionNumber"], intent["id"], "{paid}");

        // The card was saved at Stripe: the PaymentIntent was made for a
        // Customer with setup_future_usage=off_session, and the saved method
        // keeps Stripe's cus_…/pm_… with the account that holds it.
        let customer = intent["customer"].as_str().expect("a Customer").to_owned();
        assert_eq!(intent["setup_future_usage"], "off_session");
        let pm = intent["payment_method"].as_str().unwrap().to_owned();
        assert_eq!(stripe.payment_method(&pm).unwrap()["customer"], customer.as_str(),
            "Stripe attached the card to the Customer");
        let methods = app.store.list_aps_payment_methods(&aps.aps_id).await.unwrap();
        assert_eq!(methods.len(), 1, "{methods:?}");
        let saved = &methods[0];
        assert_eq!(saved.gateway_token.as_deref(), Some(format!("{customer}/{pm}").as_str()));
        assert_eq!(saved.connector_account.as_deref(), Some(account.as_str()));
        assert!(saved.token.starts_with("tok_"), "payhub's own reference stays: {saved:?}");
        assert_eq!((saved.first6.as_deref(), saved.last4.as_deref()), (Some("424242"), Some("4242")));
        let row = format!("{saved:?} {:?}", gateway_row(&app, &id).await);
        // The records have no CVC field; the full number appears nowhere.
        assert!(!row.contains("4242424242424242"), "no full card number is kept: {row}");
        assert!(stripe.log().iter().all(|l| l.param("payment_method_data[card][number]").is_none_or(|n| n == "***")));

        // Charged later without the customer: off-session at Stripe, for that
        // Customer and PaymentMethod, captured.
        let charged = app.aps_pay_ok(&aps.aps_id, json!({"total": 3.50, "paymentMethodId": saved.id})).await;
        assert!(charged.get("redirectData").is_none(), "{charged}");
        let charged_id = charged["paymentId"].to_string();
        let paid = app.aps_payment(&aps.aps_id, &charged["paymentId"]).await;
        assert_eq!(paid["status"], "SUCCESS", "{paid}");
        assert_eq!(paid["tokenizedCardNumber"], "424242******4242");
        let intent = intent_of(&stripe, &charged_id);
        assert_eq!((intent["amount"].as_i64(), intent["customer"].as_str(), intent["payment_method"].as_str(), intent["status"].as_str()),
            (Some(350), Some(customer.as_str()), Some(pm.as_str()), Some("succeeded")));
        let create = stripe.log().into_iter()
            .find(|l| l.idempotency_key.as_deref() == Some(format!("payhub-payment-{charged_id}").as_str())).unwrap();
        assert_eq!((create.param("off_session"), create.param("confirm"), create.param("customer"), create.param("payment_method")),
            (Some("true"), Some("true"), Some(customer.as_str()), Some(pm.as_str())));
        assert_eq!(gateway_row(&app, &charged_id).await.connector_account.as_deref(), Some(account.as_str()));
        let tmf = app.tmf_payment_of(&charged_id).await;
        assert_eq!(tmf["status"], "captured", "{tmf}");

        // A stored method made at Stripe by other means (a PaymentMethod
        // attached to a Customer), stored by an operator.
        stripe.add_customer("cus_fake_ada");
        let now = chrono::Utc::now();
        let method = ApsPaymentMethod {
            id: payhub_core::ids::generate_id(now),
            aps_id: aps.aps_id.clone(),
            kind: MethodKind::Card,
            gateway: "VMPAY".into(),
            token: "cus_fake_ada/pm_card_visa".into(),
            gateway_token: None,
            connector_account: None,
            brand: Some("VISA".into()),
            first6: Some("424242".into()),
            last4: Some("4242".into()),
            created_at: now,
        };
        app.store.insert_aps_payment_method(&method).await.unwrap();
        let charged = app.aps_pay_ok(&aps.aps_id, json!({"total": 3.50, "paymentMethodId": method.id})).await;
        let charged_id = charged["paymentId"].to_string();
        let paid = app.aps_payment(&aps.aps_id, &charged["paymentId"]).await;
        assert_eq!(paid["status"], "SUCCESS", "{paid}");
        let intent = intent_of(&stripe, &charged_id);
        assert_eq!((intent["customer"].as_str(), intent["payment_method"].as_str()),
            (Some("cus_fake_ada"), Some("pm_card_visa")));

        // One Stripe declines: the payment fails, nothing is charged.
        let declined = ApsPaymentMethod {
            id: payhub_core::ids::generate_id(chrono::Utc::now()),
            token: "pm_card_chargeDeclined".into(),
            ..method
        };
        app.store.insert_aps_payment_method(&declined).await.unwrap();
        let refused = app.aps_pay_ok(&aps.aps_id, json!({"total": 2.00, "paymentMethodId": declined.id})).await;
        let failed = app.aps_payment(&aps.aps_id, &refused["paymentId"]).await;
        assert_eq!(failed["status"], "FAILED", "{failed}");
    }
}

/// A breaker that opens after two calls without an answer, for one second.
fn quick_breaker(database_url: &str) -> payhub_server::config::Settings {
    let mut settings = crate::helpers::test_settings(database_url);
    settings.gateways.breaker = payhub_core::gateway::routing::Breaker {
        threshold: 2,
        cooldown: chrono::Duration::seconds(1),
    };
    settings
}

both_backends! {
    /// Issue 11's failover: the first card connector answers 5xx, new
    /// payments go to the second, and the first takes payments again once
    /// its cool-down is over. The payments the first holds stay with it.
    async fn a_card_connector_answering_5xx_is_avoided_until_its_cool_down_ends(app: TestApp) {
        let app = app.restart_with(quick_breaker).await;
        let first = FakeStripe::start().await;
        let second = FakeStripe::start().await;
        let ops = operator(&app, None).await;
        let primary = add_account(&app, &ops, &stripe_account(&app, &first)).await["id"]
            .as_str().unwrap().to_owned();
        let mut backup = stripe_account(&app, &second);
        backup["priority"] = json!(1);
        let backup = add_account(&app, &ops, &backup).await["id"].as_str().unwrap().to_owned();

        for _ in 0..50 {
            first.fail_next(Failure::ServerError);
        }
        let mut held = Vec::new();
        for n in 0..2 {
            let (id, _) = card_sale(&app, &format!("fo-{n}"), 500, None).await;
            assert_eq!(gateway_row(&app, &id).await.connector_account.as_deref(), Some(primary.as_str()));
            held.push(id);
        }
        let (moved, _) = card_sale(&app, "fo-moved", 500, None).await;
        assert_eq!(gateway_row(&app, &moved).await.connector_account.as_deref(), Some(backup.as_str()),
            "the second connector takes new payments");
        intent_of(&second, &moved);
        for id in &held {
            assert!(second.intents().iter().all(|i| i["metadata"]["payhub_payment_id"] != id.as_str()),
                "payment {id} was never sent to the second connector");
        }

        // The first answers again; after its cool-down it takes new payments.
        first.recover();
        tokio::time::sleep(Duration::from_millis(1200)).await;
        let (back, _) = card_sale(&app, "fo-back", 500, None).await;
        assert_eq!(gateway_row(&app, &back).await.connector_account.as_deref(), Some(primary.as_str()),
            "the first connector is used again after its cool-down");
        intent_of(&first, &back);
    }
}
