//! `/v1/deliveries`: filters by payment, state and time, cursor paging, and
//! the body each delivery sends.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{payment_of, Listener, TestApp};

impl TestApp {
    /// `GET /v1/deliveries?{query}`: the status, the page and its next cursor.
    async fn deliveries_where(&self, query: &str) -> (StatusCode, Value, Option<String>) {
        let response = self
            .client
            .get(self.url(&format!("/v1/deliveries?{query}")))
            .bearer_auth(&self.merchant.api_key)
            .send()
            .await
            .unwrap();
        let response = crate::conformance::checked("GET", response).await;
        let status = response.status();
        let cursor = response
            .headers()
            .get("x-next-cursor")
            .map(|v| v.to_str().unwrap().to_owned());
        (status, response.json().await.unwrap(), cursor)
    }

    /// Waits (bounded) until the merchant has `count` deliveries.
    async fn wait_for_deliveries(&self, count: usize) {
        for _ in 0..200 {
            let (_, page, _) = self.deliveries_where("limit=500").await;
            if page.as_array().unwrap().len() >= count {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("fewer than {count} deliveries");
    }
}

both_backends! {
    async fn deliveries_filter_by_payment_state_and_time_and_page_by_cursor(app: TestApp) {
        let listener = Listener::start().await;
        listener.set_reply(StatusCode::INTERNAL_SERVER_ERROR, "no");
        let response = app.post("/hub", &json!({"callback": listener.url})).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let first = app.create_payment(&payment_of("acct-d", "10", "USD")).await;
        let second = app.create_payment(&payment_of("acct-d", "20", "USD")).await;
        let refund = app.post("/refund", &json!({
            "account": {"id": "acct-d"}, "paymentMethod": {}, "payment": {"id": first["id"]},
            "totalAmount": {"unit": "USD", "value": 5},
        })).await;
        assert_eq!(refund.status(), StatusCode::CREATED);
        app.wait_for_deliveries(3).await;

        // By payment: the payment's own event and its refund's, not the other payment's.
        let id = first["id"].as_str().unwrap();
        let (status, page, _) = app.deliveries_where(&format!("paymentId={id}")).await;
        assert_eq!(status, StatusCode::OK);
        let bodies: Vec<Value> = page.as_array().unwrap().iter()
            .map(|d| serde_json::from_str(d["body"].as_str().unwrap()).unwrap())
            .collect();
        assert_eq!(bodies.len(), 2, "{page}");
        let types: Vec<&str> = bodies.iter().map(|b| b["eventType"].as_str().unwrap()).collect();
        assert_eq!(types, vec!["RefundCreateEvent", "PaymentCreateEvent"], "newest first");
        assert_eq!(bodies[1]["event"]["payment"]["id"], first["id"], "the body sent");
        let other = second["id"].as_str().unwrap();
        assert_eq!(app.deliveries_where(&format!("paymentId={other}")).await.1.as_array().unwrap().len(), 1);

        // By state: the listener refuses, so nothing is delivered yet.
        assert_eq!(app.deliveries_where("state=delivered").await.1, json!([]));
        assert!(app.deliveries_where("state=pending").await.1.as_array().unwrap().len()
            + app.deliveries_where("state=dead").await.1.as_array().unwrap().len() >= 3);

        // By time: none before the payments, all after the start.
        assert_eq!(app.deliveries_where("to=2000-01-01T00:00:00Z").await.1, json!([]));
        assert_eq!(app.deliveries_where("from=2000-01-01T00:00:00Z").await.1.as_array().unwrap().len(), 3);

        // A page of one at a time, newest first, by cursor: each once, then no cursor.
        let mut seen = Vec::new();
        let mut query = "limit=1".to_owned();
        loop {
            let (_, page, cursor) = app.deliveries_where(&query).await;
            seen.extend(page.as_array().unwrap().iter().map(|d| d["id"].as_str().unwrap().to_owned()));
            match cursor {
                Some(cursor) => query = format!("limit=1&cursor={cursor}"),
                None => break,
            }
            assert!(seen.len() <= 4, "the cursor ends");
        }
        let all: Vec<String> = app.deliveries_where("limit=500").await.1.as_array().unwrap().iter()
            .map(|d| d["id"].as_str().unwrap().to_owned()).collect();
        assert_eq!(seen, all);

        // Bad filters are refused in the TMF envelope.
        for bad in ["state=lost", "from=yesterday", "paymentId=x", "cursor=x"] {
            let (status, body, _) = app.deliveries_where(bad).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
            assert_eq!(body["code"], "invalid_query", "{bad}");
        }

        // Another merchant sees none of them.
        let other = app.other_merchant().await;
        let response = app.client.get(app.url(&format!("/v1/deliveries?paymentId={id}")))
            .bearer_auth(&other.api_key).send().await.unwrap();
        assert_eq!(response.json::<Value>().await.unwrap(), json!([]));
    }
}
