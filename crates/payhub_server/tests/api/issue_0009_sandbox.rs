//! Issue 9: the sandbox is the same on every node, and a refund is found
//! through every dialect that can name it.
//!
//! "Another node" is a second payhub over the same database. Each test starts
//! a payment on one node and carries on through the other, which used to fail
//! because the simulated gateways kept their books in each process's memory.

use std::time::Duration;

use axum::http::StatusCode;
use chrono::Datelike;
use payhub_app::gateways::simulated::CHALLENGE_CODE;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{TestApp, PUBLIC_BASE};
use crate::retail::sale;

/// A second payhub over the same database, for the same merchant.
async fn other_node(app: &TestApp) -> TestApp {
    TestApp::spawn_on(app.db.clone(), Some(app.merchant.clone())).await
}

fn future_expiry() -> String {
    format!("12/{:02}", (chrono::Utc::now().year() + 3) % 100)
}

/// A retail refund of `org_rrn` under `rrn`.
fn retail_refund(gateway: &str, rrn: &str, org_rrn: &str, amt: i64) -> Value {
    json!({
        "type": gateway, "rrn": rrn, "orgRrn": org_rrn, "storeCode": "WP001", "tillId": "01",
        "salesman": "WP9999", "amt": amt, "ccy": "HKD",
    })
}

both_backends! {
    async fn a_sale_started_on_one_node_is_settled_through_another(app: TestApp) {
        app.create_sale(sale("WXPAY", "nodes-settle", 1000)).await;
        let node_b = other_node(&app).await;

        let settled = node_b.settle("nodes-settle", "success").await;
        assert_eq!(settled.status(), StatusCode::OK, "node B's sandbox knows the sale");
        node_b.wait_for_status("WXPAY", "nodes-settle", "01").await;
        assert_eq!(app.query("WXPAY", "nodes-settle").await["gwRefStatus"], "01");
        // Settled once: the same gateway refuses a second outcome on either node.
        assert_eq!(app.settle("nodes-settle", "decline").await.status(), StatusCode::CONFLICT);
    }
}

both_backends! {
    async fn a_timed_out_start_stays_pending_when_another_node_checks(app: TestApp) {
        // The gateway does not answer node A's start in time, but acts on it.
        let answer = app.retail("sales", sale("WXPAY", "nodes-408", 2408)).await;
        assert_eq!(answer["errorCode"], "3", "{answer}");
        // Node A stops before its first check: node B is the one that asks.
        let node_b = other_node(&app).await;
        let mut node_a = app;
        node_a.shutdown().await;

        let mut learned = Value::Null;
        for _ in 0..120 {
            learned = node_b.query("WXPAY", "nodes-408").await;
            if learned["gwRefCode"] != "" || learned["gwRefStatus"] != "05" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(learned["gwRefStatus"], "05", "still pending, never expired: {learned}");
        assert_ne!(learned["gwRefCode"], "", "node B's check learned the gateway's reference: {learned}");
        assert_eq!(node_b.tmf_payment_of("nodes-408").await["status"], "pendingAuthorization");

        assert_eq!(node_b.settle("nodes-408", "success").await.status(), StatusCode::OK);
        node_b.wait_for_status("WXPAY", "nodes-408", "01").await;
    }
}

both_backends! {
    async fn a_sale_paid_on_one_node_is_refunded_through_another(app: TestApp) {
        app.create_sale(sale("WXPAY", "nodes-paid", 1000)).await;
        assert_eq!(app.settle("nodes-paid", "success").await.status(), StatusCode::OK);
        app.wait_for_status("WXPAY", "nodes-paid", "01").await;
        let node_b = other_node(&app).await;

        let refund = node_b.retail("refund", retail_refund("WXPAY", "nodes-paid-r1", "nodes-paid", 600)).await;
        assert_eq!(refund["errorCode"], "0", "node B's gateway knows the capture: {refund}");
        assert_eq!(refund["gwRefStatus"], "01", "{refund}");
        // The gateway's books count the refund on every node: no more than captured.
        let rest = app.retail("refund", retail_refund("WXPAY", "nodes-paid-r2", "nodes-paid", 400)).await;
        assert_eq!(rest["errorCode"], "0", "{rest}");
        assert_eq!(app.query("WXPAY", "nodes-paid").await["gwRefStatus"], "04", "fully refunded");
        assert_eq!(node_b.query("WXPAY", "nodes-paid-r1").await["gwRefStatus"], "01");
    }
}

both_backends! {
    async fn the_card_page_and_3ds_step_work_on_another_node(app: TestApp) {
        let answer = app.create_sale(sale("VMPAY", "nodes-card", 1000)).await;
        let page_url = answer["paymentUrl"].as_str().expect("a payment page").to_owned();
        let path = page_url.strip_prefix(PUBLIC_BASE).expect("a page on payhub").to_owned();
        let node_b = other_node(&app).await;
        let browser = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();

        let page = browser.get(node_b.url(&path)).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        assert!(page.text().await.unwrap().contains(&format!("{path}/card")), "the card form");
        let posted = browser
            .post(node_b.url(&format!("{path}/card")))
            .form(&[
                ("number", "4000000000003220"),
                ("expiry", &future_expiry()),
                ("cvc", "737"),
                ("holder", "Ada"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(posted.status(), StatusCode::SEE_OTHER);
        let challenge = browser.get(node_b.url(&path)).send().await.unwrap();
        assert_eq!(challenge.status(), StatusCode::OK);
        let html = challenge.text().await.unwrap();
        assert!(html.contains(&format!("{path}/challenge")), "node B's gateway asks for 3-D Secure: {html}");

        let answered = browser
            .post(node_b.url(&format!("{path}/challenge")))
            .form(&[("code", CHALLENGE_CODE)])
            .send()
            .await
            .unwrap();
        assert_eq!(answered.status(), StatusCode::SEE_OTHER);
        let done = browser.get(node_b.url(&path)).send().await.unwrap();
        assert!(done.status().is_redirection(), "the page has ended: {}", done.status());
        assert_eq!(app.query("VMPAY", "nodes-card").await["gwRefStatus"], "01");
        assert_eq!(app.tmf_payment_of("nodes-card").await["status"], "captured");
    }
}

both_backends! {
    async fn a_tmf676_refund_of_a_sale_is_found_by_its_rrn_in_retail(app: TestApp) {
        app.create_sale(sale("WXPAY", "x-sale", 1000)).await;
        assert_eq!(app.settle("x-sale", "success").await.status(), StatusCode::OK);
        app.wait_for_status("WXPAY", "x-sale", "01").await;
        let sale_id = app.tmf_payment_of("x-sale").await["id"].as_str().unwrap().to_owned();
        let tmf_refund = |value: f64, correlator: Option<&str>| {
            let mut body = json!({
                "payment": {"id": sale_id}, "account": {"id": "WP001"},
                "paymentMethod": {"@type": "WXPAY"}, "totalAmount": {"unit": "HKD", "value": value},
            });
            if let Some(correlator) = correlator {
                body["correlatorId"] = json!(correlator);
            }
            body
        };

        let created = app.post("/refund", &tmf_refund(2.5, Some("x-tmf-r1"))).await;
        assert_eq!(created.status(), StatusCode::CREATED);
        let refund = wait_for_refund(&app, "WXPAY", "x-tmf-r1").await;
        assert_eq!(refund["rrn"], "x-tmf-r1", "{refund}");
        assert_eq!(refund["orgRrn"], "x-sale", "{refund}");
        assert_eq!(refund["amt"], 250, "{refund}");
        assert!(refund["gwRefCode"].as_str().is_some_and(|c| !c.is_empty()), "{refund}");

        // Without a correlatorId the refund goes by its id, as its webhook says.
        let created = app.post("/refund", &tmf_refund(1.0, None)).await;
        assert_eq!(created.status(), StatusCode::CREATED);
        let id = created.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
        assert_eq!(wait_for_refund(&app, "WXPAY", &id).await["amt"], 100);

        // An rrn names one thing: a correlatorId already used as an rrn is refused.
        let taken = app.post("/refund", &tmf_refund(1.0, Some("x-sale"))).await;
        assert_eq!(taken.status(), StatusCode::CONFLICT);
        assert_eq!(app.query("WXPAY", "x-sale").await["amt"], 1000, "the rrn still names the sale");
        let (_, _, refunds) = app.list("refund", "").await;
        assert_eq!(refunds.len(), 2, "the refused refund was not recorded: {refunds:?}");
    }
}

/// Waits (bounded) until the retail `query` of a refund says it is done (01).
async fn wait_for_refund(app: &TestApp, gateway: &str, rrn: &str) -> Value {
    let mut last = Value::Null;
    for _ in 0..100 {
        last = app.query(gateway, rrn).await;
        if last["gwRefStatus"] == "01" {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("refund {rrn} is not found as done by retail query: {last}");
}
