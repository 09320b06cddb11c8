//! Hub listeners: registration, matching, delivery from the outbox with
//! retries, and delivery after a restart.

use chrono::Utc;
use payhub_core::{MerchantId, PaymentId, Status};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{kit_payment, payment_of, Listener, TestApp, PUBLIC_BASE, TMF};

async fn subscribe(app: &TestApp, callback: &str, query: Option<&str>) -> Value {
    let mut body = json!({"callback": callback});
    if let Some(q) = query {
        body["query"] = json!(q);
    }
    let response = app.post("/hub", &body).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let listener: Value = response.json().await.unwrap();
    assert_eq!(
        location,
        format!(
            "{PUBLIC_BASE}{TMF}/hub/{}",
            listener["id"].as_str().unwrap()
        )
    );
    listener
}

fn of_type<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["eventType"] == kind).collect()
}

both_backends! {
    async fn register_and_remove_listeners(app: TestApp) {
        let listener = subscribe(&app, "http://127.0.0.1:9/cb", Some("eventType=PaymentCreateEvent")).await;
        assert_eq!(listener["query"], "eventType=PaymentCreateEvent");
        let id = listener["id"].as_str().unwrap();
        let other = app.other_merchant().await;
        let response = app.client.delete(app.tmf(&format!("/hub/{id}"))).bearer_auth(&other.api_key).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "a merchant cannot remove another's listener");
        let response = app.client.delete(app.tmf(&format!("/hub/{id}"))).bearer_auth(&app.merchant.api_key).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        let response = app.client.delete(app.tmf(&format!("/hub/{id}"))).bearer_auth(&app.merchant.api_key).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        for bad in [json!({}), json!({"callback": "not a url"}), json!({"callback": "ftp://h/x"}), json!({"callback": "http://h/x", "query": 5})] {
            let response = app.post("/hub", &bad).await;
            assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad}");
        }
    }
}

both_backends! {
    async fn events_reach_matching_listeners(app: TestApp) {
        let all = Listener::start().await;
        let creates_only = Listener::start().await;
        let refunds_only = Listener::start().await;
        subscribe(&app, &all.url, None).await;
        subscribe(&app, &creates_only.url, Some("eventType=PaymentCreateEvent")).await;
        subscribe(&app, &refunds_only.url, Some("eventType=RefundCreateEvent,RefundStateChangeEvent")).await;

        let payment = app.create_payment(&payment_of("acct", "20", "USD")).await;
        let pid = payment["id"].as_str().unwrap();
        let mut refund = payment_of("acct", "5", "USD");
        refund["payment"] = json!({"id": pid});
        let refund: Value = app.post("/refund", &refund).await.json().await.unwrap();
        let merchant = MerchantId::parse(&app.merchant.merchant_id).unwrap();
        let id: PaymentId = pid.parse().unwrap();
        app.store.update_payment_status(&merchant, id, Status::Done, Utc::now()).await.unwrap();

        let events = all.wait_until("three events", |e| e.len() >= 3).await;
        let created = of_type(&events, "PaymentCreateEvent");
        assert_eq!(created.len(), 1);
        let envelope = created[0];
        assert!(envelope["eventId"].is_string() && envelope["eventTime"].is_string());
        assert_eq!(envelope["event"]["payment"]["id"], pid);
        assert_eq!(envelope["event"]["payment"]["href"], payment["href"]);
        assert_eq!(envelope["event"]["payment"]["status"], "captured");
        let changed = of_type(&events, "PaymentStateChangeEvent");
        assert_eq!(changed.len(), 1);
        assert_eq!(changed[0]["event"]["payment"]["status"], "done", "the state that caused the event");
        assert_eq!(of_type(&events, "RefundCreateEvent")[0]["event"]["refund"]["id"], refund["id"]);
        assert!(all.received_headers().iter().all(|h| h.contains_key("webhook-id")));

        let refund_events = refunds_only.wait_until("the refund event", |e| !e.is_empty()).await;
        let create_events = creates_only.wait_until("the create event", |e| !e.is_empty()).await;
        // Give stray deliveries a moment to arrive before checking none did.
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        assert!(refunds_only.received().iter().all(|e| e["eventType"] == "RefundCreateEvent"), "{refund_events:?}");
        assert!(creates_only.received().iter().all(|e| e["eventType"] == "PaymentCreateEvent"), "{create_events:?}");
        assert_eq!(creates_only.received().len(), 1);
    }
}

both_backends! {
    async fn failed_deliveries_are_retried_until_acknowledged(app: TestApp) {
        let listener = Listener::start().await;
        listener.set_failing(true);
        subscribe(&app, &listener.url, None).await;
        app.create_payment(&kit_payment()).await;
        listener.wait_until("two failed attempts", |e| e.len() >= 2).await;
        listener.set_failing(false);
        let got = listener.wait_until("a successful attempt", |e| e.len() >= 3).await;
        assert!(got.iter().all(|e| e["eventId"] == got[0]["eventId"]), "the same event each time");
        // Acknowledged: nothing is left to deliver and no more attempts come.
        for _ in 0..100 {
            if app.store.count_undelivered().await.unwrap() == 0 { break; }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert_eq!(app.store.count_undelivered().await.unwrap(), 0);
        let settled = listener.received().len();
        tokio::time::sleep(std::time::Duration::from_millis(600)).await;
        assert_eq!(listener.received().len(), settled);
    }
}

both_backends! {
    async fn deliveries_survive_a_restart(app: TestApp) {
        let listener = Listener::start().await;
        listener.set_failing(true);
        subscribe(&app, &listener.url, None).await;
        let payment = app.create_payment(&kit_payment()).await;
        listener.wait_until("a failed attempt", |e| !e.is_empty()).await;
        let app = app.restart().await;
        listener.set_failing(false);
        let before = listener.received().len();
        let got = listener.wait_until("delivery after restart", |e| e.len() > before).await;
        assert_eq!(got.last().unwrap()["event"]["payment"]["id"], payment["id"]);
        let fetched = app.get(&format!("/payment/{}", payment["id"].as_str().unwrap())).await;
        assert_eq!(fetched.status(), StatusCode::OK);
    }
}

both_backends! {
    async fn a_removed_listener_gets_no_more_retries(app: TestApp) {
        let listener = Listener::start().await;
        listener.set_failing(true);
        let subscription = subscribe(&app, &listener.url, None).await;
        app.create_payment(&kit_payment()).await;
        listener.wait_until("a failed attempt", |e| !e.is_empty()).await;
        let id = subscription["id"].as_str().unwrap();
        let response = app.client.delete(app.tmf(&format!("/hub/{id}"))).bearer_auth(&app.merchant.api_key).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        assert_eq!(app.store.count_undelivered().await.unwrap(), 0, "its pending delivery was given up");
        let seen = listener.received().len();
        tokio::time::sleep(std::time::Duration::from_millis(600)).await;
        assert_eq!(listener.received().len(), seen);
    }
}

both_backends! {
    /// Callbacks may not reach internal networks unless the operator allows
    /// them; the tests allow 127.0.0.1/32 and nothing else.
    async fn callbacks_to_internal_networks_are_refused(app: TestApp) {
        for callback in ["http://127.0.0.2:9/cb", "http://10.0.0.5/cb", "http://192.168.1.10/cb",
            "http://169.254.169.254/latest/meta-data", "http://[::1]:9/cb",
            // Issue 9 item 15: IPv6 forms embedding 127.0.0.1, and special-purpose IPv4 blocks.
            "http://[::127.0.0.1]/cb", "http://[64:ff9b::7f00:1]/cb", "http://[2002:7f00:1::]/cb",
            "http://198.18.0.1/cb", "http://240.0.0.1/cb", "http://192.0.0.8/cb"] {
            let response = app.post("/hub", &json!({"callback": callback})).await;
            assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{callback}");
            let error: Value = response.json().await.unwrap();
            assert_eq!(error["code"], "invalid_attribute", "{callback}");
            let message = error["message"].as_str().unwrap();
            assert!(message.contains("PAYHUB_ALLOWED_CALLBACK_NETS") || message.contains("resolved"), "{callback}: {message}");
        }
        assert_eq!(app.post("/hub", &json!({"callback": "http://127.0.0.1:9/cb"})).await.status(), StatusCode::CREATED);
    }
}

both_backends! {
    /// The policy is applied again at delivery: a listener registered while its
    /// network was allowed gets nothing once the operator no longer allows it.
    async fn deliveries_follow_the_current_policy(app: TestApp) {
        let listener = Listener::start().await;
        subscribe(&app, &listener.url, None).await;
        let app = app.restart_with(|url| {
            let mut settings = crate::helpers::test_settings(url);
            settings.callback_policy = std::sync::Arc::default();
            settings
        }).await;
        let payment = app.create_payment(&kit_payment()).await;
        // Several attempts fit in this time (polling 50 ms, retries from 100 ms).
        tokio::time::sleep(std::time::Duration::from_millis(800)).await;
        assert!(listener.received().is_empty(), "nothing reaches a refused address");
        assert!(app.store.count_undelivered().await.unwrap() > 0, "the delivery stays pending, to be retried");
        // Allowed again, the same delivery goes out: it was held back by the policy alone.
        let _app = app.restart_with(crate::helpers::test_settings).await;
        let got = listener.wait_until("delivery once allowed", |e| !e.is_empty()).await;
        assert_eq!(got[0]["event"]["payment"]["id"], payment["id"]);
    }
}
