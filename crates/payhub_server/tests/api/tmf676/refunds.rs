//! Refunds and the rule that a payment's refunds never exceed it.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{kit_payment, payment_of};

fn refund_of(payment_id: &str, value: &str, unit: &str) -> Value {
    let mut body = payment_of("acct", value, unit);
    body["payment"] = json!({"id": payment_id});
    body
}

async fn code_of(response: reqwest::Response) -> (StatusCode, String) {
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    (status, body["code"].as_str().unwrap_or_default().to_owned())
}

both_backends! {
    async fn partial_refunds_up_to_the_total(app: TestApp) {
        let payment = app.create_payment(&payment_of("acct", "50", "USD")).await;
        let pid = payment["id"].as_str().unwrap();
        let response = app.post("/refund", &refund_of(pid, "20", "USD")).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let location = response.headers()["location"].to_str().unwrap().to_owned();
        let refund: Value = response.json().await.unwrap();
        assert_eq!(refund["href"], location);
        assert_eq!(refund["status"], "done");
        assert_eq!(refund["@type"], "Refund");
        assert!(refund["refundDate"].is_string());
        assert_eq!(refund["payment"]["id"], pid);
        assert_eq!(app.post("/refund", &refund_of(pid, "30", "USD")).await.status(), StatusCode::CREATED);
        assert_eq!(code_of(app.post("/refund", &refund_of(pid, "0.01", "USD")).await).await,
            (StatusCode::UNPROCESSABLE_ENTITY, "refund_exceeds_payment".into()));

        let rid = refund["id"].as_str().unwrap();
        let fetched: Value = app.get(&format!("/refund/{rid}")).await.json().await.unwrap();
        assert_eq!(fetched, refund);
        let (status, total, items) = app.list("refund", &format!("payment.id={pid}")).await;
        assert_eq!((status, total, items.len()), (StatusCode::OK, 2, 2));
        assert_eq!(app.get("/refund/123").await.status(), StatusCode::NOT_FOUND);
    }
}

both_backends! {
    async fn refunds_that_break_a_rule_are_refused(app: TestApp) {
        let usd = app.create_payment(&payment_of("acct", "50", "USD")).await;
        let pid = usd["id"].as_str().unwrap();
        assert_eq!(code_of(app.post("/refund", &refund_of(pid, "50.01", "USD")).await).await,
            (StatusCode::UNPROCESSABLE_ENTITY, "refund_exceeds_payment".into()));
        assert_eq!(code_of(app.post("/refund", &refund_of(pid, "1", "EUR")).await).await,
            (StatusCode::UNPROCESSABLE_ENTITY, "currency_mismatch".into()));
        assert_eq!(code_of(app.post("/refund", &refund_of("4242", "1", "USD")).await).await,
            (StatusCode::UNPROCESSABLE_ENTITY, "payment_not_found".into()));
        assert_eq!(code_of(app.post("/refund", &refund_of("not-an-id", "1", "USD")).await).await,
            (StatusCode::BAD_REQUEST, "invalid_attribute".into()));
        let mut pending = payment_of("acct", "50", "USD");
        pending["status"] = json!("pendingAuthorization");
        let pending = app.create_payment(&pending).await;
        assert_eq!(code_of(app.post("/refund", &refund_of(pending["id"].as_str().unwrap(), "1", "USD")).await).await,
            (StatusCode::UNPROCESSABLE_ENTITY, "payment_not_refundable".into()));
        // Another merchant cannot refund this merchant's payment: to it, the payment does not exist.
        let other = app.other_merchant().await;
        assert_eq!(code_of(app.post_as(&other, "/refund", &refund_of(pid, "1", "USD")).await).await,
            (StatusCode::UNPROCESSABLE_ENTITY, "payment_not_found".into()));
        let (_, total, _) = app.list("refund", "").await;
        assert_eq!(total, 0, "no refused refund was recorded");
    }
}

both_backends! {
    async fn failed_refunds_do_not_count(app: TestApp) {
        let payment = app.create_payment(&payment_of("acct", "10", "USD")).await;
        let pid = payment["id"].as_str().unwrap();
        let mut failed = refund_of(pid, "10", "USD");
        failed["status"] = json!("failed");
        assert_eq!(app.post("/refund", &failed).await.status(), StatusCode::CREATED);
        assert_eq!(app.post("/refund", &refund_of(pid, "10", "USD")).await.status(), StatusCode::CREATED);
    }
}

both_backends! {
    async fn standalone_refunds_like_the_kit_posts(app: TestApp) {
        let response = app.post("/refund", &kit_payment()).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let refund: Value = response.json().await.unwrap();
        assert_eq!(refund["totalAmount"], json!({}));
        assert!(refund.get("payment").is_none());
    }
}

both_backends! {
    /// Twenty refunds of 10 race for a payment of 100 on separate connections:
    /// exactly ten may win, and the stored sum never exceeds the payment.
    async fn concurrent_refunds_never_exceed_the_payment(app: TestApp) {
        let payment = app.create_payment(&payment_of("acct", "100", "USD")).await;
        let pid = payment["id"].as_str().unwrap().to_owned();
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..20 {
            let (client, url, key, body) = (reqwest::Client::new(), app.tmf("/refund"), app.merchant.api_key.clone(), refund_of(&pid, "10", "USD"));
            tasks.spawn(async move { client.post(url).bearer_auth(key).json(&body).send().await.unwrap().status() });
        }
        let mut created = 0;
        while let Some(status) = tasks.join_next().await {
            match status.unwrap() {
                StatusCode::CREATED => created += 1,
                StatusCode::UNPROCESSABLE_ENTITY => {}
                other => panic!("unexpected status {other}"),
            }
        }
        assert_eq!(created, 10);
        let (_, total, items) = app.list("refund", &format!("payment.id={pid}")).await;
        assert_eq!(total, 10);
        let sum: i64 = items.iter().map(|r| r["totalAmount"]["value"].as_i64().unwrap()).sum();
        assert_eq!(sum, 100);
    }
}
