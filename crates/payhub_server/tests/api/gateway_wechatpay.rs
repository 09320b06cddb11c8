//! Issue 11: a merchant's WeChat Pay connector account, pointed at a fake of
//! WeChat Pay's API v3 (`payhub_app/tests/fakes/wechatpay.rs`), runs seed
//! 003's flow through the retail dialect as the simulator does: the sale
//! reaches WeChat Pay, the hosted page shows its QR code, the signed and
//! encrypted notification (sent twice) pays it once, the merchant gets one
//! webhook, a part refund reaches WeChat Pay and settles by query, and a
//! start whose answer is lost is resolved by the checker's query.

use std::time::Duration;

use axum::http::StatusCode;
use payhub_core::PaymentId;
use serde_json::{json, Value};

use crate::both_backends;
use crate::connector_accounts::{add_account, operator};
use crate::helpers::{Listener, TestApp};
use crate::retail::{sale, ACK};

#[path = "../../../payhub_app/tests/fakes/wechatpay.rs"]
pub(crate) mod fake;

use fake::{FakeWechatPay, Fault};

/// The body that adds a WeChat Pay account for the test merchant.
pub(crate) fn wechatpay_account(app: &TestApp, fake: &FakeWechatPay, priority: i64) -> Value {
    let credentials: serde_json::Map<String, Value> = FakeWechatPay::credentials()
        .into_iter()
        .map(|(name, value)| {
            use secrecy::ExposeSecret;
            (name, json!(value.expose_secret()))
        })
        .collect();
    json!({
        "merchantId": app.merchant.merchant_id,
        "connector": "wechatpay",
        "gatewayTypes": ["WXPAY"],
        "baseUrl": fake.base_url(),
        "credentials": credentials,
        "priority": priority,
    })
}

/// Posts what WeChat Pay would send for `payment_id` to payhub's notify URL
/// of `account`; answers (status, body).
async fn notify(
    app: &TestApp,
    fake: &FakeWechatPay,
    account: &str,
    payment_id: &str,
) -> (StatusCode, String) {
    let (headers, body) = fake.notification(payment_id);
    let mut request = app
        .client
        .post(app.url(&format!("/gateways/accounts/{account}/notifications")))
        .header("content-type", "application/json")
        .body(body);
    for (name, value) in &headers {
        request = request.header(name.as_str(), value.to_str().unwrap());
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.text().await.unwrap())
}

fn refund_of(org_rrn: &str, rrn: &str, amt: i64) -> Value {
    json!({
        "type": "WXPAY", "rrn": rrn, "orgRrn": org_rrn, "storeCode": "WP001", "tillId": "01",
        "salesman": "WP9999", "amt": amt, "ccy": "HKD",
    })
}

both_backends! {
    async fn a_wechatpay_sale_is_paid_notified_once_and_refunded_in_part(app: TestApp) {
        let wechat = FakeWechatPay::start().await;
        let ops = operator(&app, None).await;
        let account = add_account(&app, &ops, &wechatpay_account(&app, &wechat, 0)).await;
        let account_id = account["id"].as_str().unwrap().to_owned();
        let hook = Listener::start().await;
        hook.set_reply(StatusCode::OK, ACK);

        let mut body = sale("WXPAY", "wx-1", 1234);
        body["webhookUrl"] = json!(hook.url);
        let answer = app.create_sale(body).await;
        let payment = app.tmf_payment_of("wx-1").await;
        let id = payment["id"].as_str().unwrap().to_owned();

        // The order reached WeChat Pay under payhub's payment id, for HK$12.34.
        let order = wechat.order(&id).expect("the order reached WeChat Pay");
        assert_eq!((order.total, order.currency.as_str()), (1234, "HKD"));
        assert!(order.notify_url.ends_with(&format!("/gateways/accounts/{account_id}/notifications")), "{}", order.notify_url);
        let row = app.store.find_gateway_payment(PaymentId::from_i64(id.parse().unwrap()).unwrap()).await.unwrap().unwrap();
        assert_eq!(row.connector_account.as_deref(), Some(account_id.as_str()));
        assert_eq!(row.action.as_deref(), Some(order.code_url.as_str()), "the page shows WeChat Pay's QR code");
        let page_path = answer["paymentUrl"].as_str().unwrap().trim_start_matches(crate::helpers::PUBLIC_BASE);
        let page = app.client.get(app.url(page_path)).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::OK);

        // The customer pays; WeChat Pay notifies twice, as it may.
        assert!(wechat.pay(&id));
        for _ in 0..2 {
            let (status, text) = notify(&app, &wechat, &account_id, &id).await;
            assert_eq!(status, StatusCode::OK, "{text}");
            assert!(text.contains("SUCCESS"), "WeChat Pay's acknowledgement: {text}");
        }
        app.wait_for_status("WXPAY", "wx-1", "01").await;
        hook.wait_until("the webhook", |r| !r.is_empty()).await;
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert_eq!(hook.received().len(), 1, "one payment, one webhook: {:?}", hook.received());
        let viewed = app.tmf_payment_of("wx-1").await;
        assert_eq!(viewed["status"], "captured");
        assert_eq!(viewed["paymentMethod"]["connectorAccount"], json!({"id": account_id, "connector": "wechatpay"}), "{viewed}");

        // A tampered notification changes nothing and is refused.
        let (headers, mut forged) = wechat.notification(&id);
        forged[10] ^= 1;
        let mut request = app.client.post(app.url(&format!("/gateways/accounts/{account_id}/notifications"))).body(forged);
        for (name, value) in &headers {
            request = request.header(name.as_str(), value.to_str().unwrap());
        }
        assert_eq!(request.send().await.unwrap().status(), StatusCode::UNAUTHORIZED);

        // HK$2.34 back: the refund reaches WeChat Pay and settles by query.
        // WeChat Pay accepts a refund and settles it later: payhub answers
        // it pending (05) and asks WeChat Pay until it knows.
        let refunded = app.retail("refund", refund_of("wx-1", "wx-1-r1", 234)).await;
        assert_eq!(refunded["gwRefStatus"], "05", "{refunded}");
        let (_, _, refunds) = app.list("refund", "").await;
        let refund_id = refunds[0]["id"].as_str().unwrap().to_owned();
        let at_wechat = wechat.refund(&refund_id).expect("the refund reached WeChat Pay");
        assert_eq!((at_wechat.refund, at_wechat.out_trade_no.as_str()), (234, id.as_str()));
        wechat.finish_refund(&refund_id, "SUCCESS");
        let mut status = Value::Null;
        for _ in 0..100 {
            let (_, _, refunds) = app.list("refund", "").await;
            status = refunds[0]["status"].clone();
            if status == "done" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(status, "done", "the checker asked WeChat Pay");
    }
}

both_backends! {
    async fn a_lost_wechatpay_answer_is_resolved_by_query_and_a_decline_ends_the_sale(app: TestApp) {
        let wechat = FakeWechatPay::start().await;
        let ops = operator(&app, None).await;
        let account = add_account(&app, &ops, &wechatpay_account(&app, &wechat, 0)).await;
        let account_id = account["id"].as_str().unwrap().to_owned();

        // WeChat Pay takes the order but answers after payhub stopped
        // waiting: the outcome is unknown, never a failure, and the
        // checker's query finds out what happened.
        wechat.fail_next(Fault::Delay(Duration::from_millis(2500)));
        let answer = app.retail("sales", sale("WXPAY", "wx-lost", 500)).await;
        let id = app.tmf_payment_of("wx-lost").await["id"].as_str().unwrap().to_owned();
        assert_eq!(app.tmf_payment_of("wx-lost").await["status"], "pendingAuthorization", "{answer}");
        // The checker asks WeChat Pay about the order and, payhub having no
        // code for it, places the same order again (same out_trade_no, same
        // parameters): WeChat Pay answers its code_url, and the hosted page
        // shows it. (The first check may come before WeChat Pay handled the
        // slow first request: the query then finds no order, and the repeat
        // is what places it; the late first request is the same order.)
        let queried = format!("/v3/global/transactions/out-trade-no/{id}");
        let row = crate::gateway_alipay::row_with_action(&app, &id).await;
        let found = app.query("WXPAY", "wx-lost").await;
        assert_eq!(found["gwRefStatus"], "05", "still open, not failed: {found}");
        assert!(wechat.seen().iter().any(|(_, path)| path.starts_with(&queried)), "found by query: {:?}", wechat.seen());
        tokio::time::sleep(Duration::from_millis(600)).await;
        let order = wechat.order(&id).unwrap();
        assert_eq!(row.action.as_deref(), Some(order.code_url.as_str()));
        let placed = wechat.seen().iter().filter(|(method, path)| method == "POST" && path == "/v3/global/transactions/native").count();
        assert_eq!(placed, 2, "the order placed again: {:?}", wechat.seen());
        let page_path = answer["paymentUrl"].as_str().unwrap().trim_start_matches(crate::helpers::PUBLIC_BASE);
        let page = app.client.get(app.url(page_path)).send().await.unwrap().text().await.unwrap();
        let svg = payhub_server::page::qr::qr_svg(&order.code_url).unwrap();
        assert!(page.contains(&svg), "the page shows WeChat Pay's code");
        // The customer scans it and pays: the sale is paid once.
        assert!(wechat.pay(&id));
        let (status, _) = notify(&app, &wechat, &account_id, &id).await;
        assert_eq!(status, StatusCode::OK);
        let (status, _) = notify(&app, &wechat, &account_id, &id).await;
        assert_eq!(status, StatusCode::OK);
        app.wait_for_status("WXPAY", "wx-lost", "01").await;
        assert_eq!(app.tmf_payment_of("wx-lost").await["status"], "captured");

        // A payment that fails at WeChat Pay ends the sale as declined.
        app.create_sale(sale("WXPAY", "wx-declined", 700)).await;
        let declined = app.tmf_payment_of("wx-declined").await["id"].as_str().unwrap().to_owned();
        assert!(wechat.decline(&declined));
        let (status, _) = notify(&app, &wechat, &account_id, &declined).await;
        assert_eq!(status, StatusCode::OK);
        app.wait_for_status("WXPAY", "wx-declined", "02").await;
        assert_eq!(app.tmf_payment_of("wx-declined").await["status"], "denied");
    }
}
