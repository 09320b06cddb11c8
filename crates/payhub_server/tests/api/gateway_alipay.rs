//! Issue 11: a merchant's Alipay connector accounts — `ALIPAY` signed MD5 and
//! `ALIPAYOS` (AlipayHK) signed RSA2 — pointed at a fake of Alipay's
//! cross-border MAPI (`payhub_app/tests/fakes/alipay.rs`), run seed 003's flow
//! through the retail dialect: the sale reaches Alipay in Alipay's unit and
//! wallet, the hosted page shows Alipay's QR payload, the signed
//! `trade_status_sync` notification (sent twice) pays it once and is
//! acknowledged `success`, the merchant gets one webhook, a tampered
//! notification is refused, a part refund reaches Alipay, an unpaid sale's
//! cancel closes the trade (and a cancel after the customer paid does not
//! refund it), Alipay's timer ends a sale, a start whose answer is lost is
//! resolved by the checker's query, a refused start ends the sale, and a
//! JPY payment reaches Alipay in whole yen.

use std::time::Duration;

use axum::http::StatusCode;
use payhub_core::PaymentId;
use serde_json::{json, Value};

use crate::both_backends;
use crate::connector_accounts::{add_account, operator};
use crate::helpers::{Listener, TestApp};
use crate::retail::{sale, ACK};

#[path = "../../../payhub_app/tests/fakes/alipay.rs"]
pub(crate) mod fake;

use fake::{Failure, FakeAlipay};

/// The body that adds an Alipay account serving `kind` for the test merchant.
fn alipay_account(
    app: &TestApp,
    fake: &FakeAlipay,
    kind: &str,
    credentials: &[(&str, &str)],
) -> Value {
    let credentials: serde_json::Map<String, Value> = credentials
        .iter()
        .map(|(name, value)| ((*name).to_owned(), json!(value)))
        .collect();
    json!({
        "merchantId": app.merchant.merchant_id,
        "connector": "alipay",
        "gatewayTypes": [kind],
        "baseUrl": fake.base_url().as_str(),
        "credentials": credentials,
        "priority": 0,
    })
}

/// The merchant's two accounts at the fake: `ALIPAY` (MD5) and `ALIPAYOS`
/// (RSA2); answers their ids.
async fn alipay_accounts(app: &TestApp, fake: &FakeAlipay) -> (String, String) {
    let ops = operator(app, None).await;
    let md5 = FakeAlipay::md5_credentials();
    let rsa2 = FakeAlipay::rsa2_credentials();
    let cn = add_account(app, &ops, &alipay_account(app, fake, "ALIPAY", &md5)).await;
    let hk = add_account(app, &ops, &alipay_account(app, fake, "ALIPAYOS", &rsa2)).await;
    let id = |account: &Value| account["id"].as_str().unwrap().to_owned();
    (id(&cn), id(&hk))
}

/// POSTs `body` (a form, as Alipay sends it) to payhub's notify path of
/// `account`; answers (status, body).
async fn post_notification(app: &TestApp, account: &str, body: String) -> (StatusCode, String) {
    let response = app
        .client
        .post(app.url(&format!("/gateways/accounts/{account}/notifications")))
        .header(
            "content-type",
            "application/x-www-form-urlencoded; charset=utf-8",
        )
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.text().await.unwrap())
}

/// The fake's `trade_status_sync` for the trade, posted `times` times to
/// payhub's notify path of `account` (the trade's `notify_url` names payhub's
/// public address, which the test cannot reach); each must be acknowledged
/// with Alipay's plain `success`.
async fn notify(app: &TestApp, alipay: &FakeAlipay, account: &str, id: &str, times: usize) {
    for _ in 0..times {
        let (status, text) = post_notification(app, account, alipay.notification_body(id)).await;
        assert_eq!(status, StatusCode::OK, "{text}");
        assert_eq!(text, "success", "Alipay resends anything but `success`");
    }
}

/// The payhub payment id of a sale.
async fn payment_id(app: &TestApp, rrn: &str) -> String {
    app.tmf_payment_of(rrn).await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Waits (bounded) until the first TMF676 refund's status is `expected`.
async fn wait_for_refund(app: &TestApp, expected: &str) -> Value {
    let mut refund = Value::Null;
    for _ in 0..100 {
        let (_, _, refunds) = app.list("refund", "").await;
        refund = refunds.first().cloned().unwrap_or(Value::Null);
        if refund["status"] == expected {
            return refund;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the refund never reached {expected}: {refund}");
}

both_backends! {
    async fn an_alipay_sale_is_paid_notified_once_refunded_in_part_and_an_unpaid_one_canceled(app: TestApp) {
        let alipay = FakeAlipay::start().await;
        let (account_id, _) = alipay_accounts(&app, &alipay).await;
        let hook = Listener::start().await;
        hook.set_reply(StatusCode::OK, ACK);

        let mut body = sale("ALIPAY", "ali-1", 1234);
        body["webhookUrl"] = json!(hook.url);
        let answer = app.create_sale(body).await;
        let id = payment_id(&app, "ali-1").await;

        // The trade reached Alipay under payhub's payment id, for HK$12.34
        // written in Alipay's unit, for the mainland wallet, signed MD5.
        let trade = alipay.trade(&id).expect("the trade reached Alipay");
        assert_eq!((trade.total_fee.as_str(), trade.currency.as_str()), ("12.34", "HKD"));
        assert_eq!((trade.payment_inst.as_str(), trade.sign_type.as_str()), ("ALIPAYCN", "MD5"));
        assert!(trade.notify_url.ends_with(&format!("/gateways/accounts/{account_id}/notifications")), "{}", trade.notify_url);
        let row = app.store.find_gateway_payment(PaymentId::from_i64(id.parse().unwrap()).unwrap()).await.unwrap().unwrap();
        assert_eq!(row.connector_account.as_deref(), Some(account_id.as_str()));
        assert_eq!(row.action.as_deref(), Some(trade.qr_code.as_str()));
        // The hosted page draws Alipay's QR payload.
        let page_path = answer["paymentUrl"].as_str().unwrap().trim_start_matches(crate::helpers::PUBLIC_BASE);
        let page = app.client.get(app.url(page_path)).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        let svg = payhub_server::page::qr::qr_svg(&trade.qr_code).unwrap();
        assert!(page.text().await.unwrap().contains(&svg), "the page shows Alipay's code");

        // The customer pays; Alipay notifies twice, as it may.
        assert!(alipay.pay(&id));
        notify(&app, &alipay, &account_id, &id, 2).await;
        app.wait_for_status("ALIPAY", "ali-1", "01").await;
        hook.wait_until("the webhook", |r| !r.is_empty()).await;
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert_eq!(hook.received().len(), 1, "one payment, one webhook: {:?}", hook.received());
        let viewed = app.tmf_payment_of("ali-1").await;
        assert_eq!(viewed["status"], "captured");
        assert_eq!(viewed["paymentMethod"]["connectorAccount"], json!({"id": account_id, "connector": "alipay"}), "{viewed}");

        // A tampered notification (the amount changed after signing) is
        // refused and changes nothing.
        let forged = alipay.notification_body(&id).replace("total_fee=12.34", "total_fee=1.34");
        assert!(forged.contains("total_fee=1.34"), "{forged}");
        let (status, _) = post_notification(&app, &account_id, forged).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(app.tmf_payment_of("ali-1").await["status"], "captured");

        // HK$2.34 back: the refund reaches Alipay and is done.
        let refunded = app.retail("refund", json!({
            "type": "ALIPAY", "rrn": "ali-1-r1", "orgRrn": "ali-1", "storeCode": "WP001", "tillId": "01",
            "salesman": "WP9999", "amt": 234, "ccy": "HKD",
        })).await;
        assert_eq!(refunded["errorCode"], "0", "{refunded}");
        let at_alipay = alipay.trade(&id).unwrap();
        assert_eq!((at_alipay.refunded_minor, at_alipay.status.as_str()), (234, "TRADE_SUCCESS"));
        wait_for_refund(&app, "done").await;
        assert_eq!(hook.received().len(), 1, "still one payment webhook");

        // An unpaid sale canceled by the merchant is closed at Alipay.
        app.create_sale(sale("ALIPAY", "ali-unpaid", 800)).await;
        let unpaid = payment_id(&app, "ali-unpaid").await;
        let canceled = app.retail("cancel", json!({"type": "ALIPAY", "rrn": "ali-unpaid", "storeCode": "WP001"})).await;
        assert_eq!((&canceled["errorCode"], &canceled["gwRefStatus"]), (&json!("0"), &json!("04")), "{canceled}");
        assert_eq!(alipay.trade(&unpaid).unwrap().status, "TRADE_CLOSED");
        assert!(alipay.services_called().iter().any(|s| s == "alipay.acquire.cancel"), "{:?}", alipay.services_called());
        assert_eq!(app.tmf_payment_of("ali-unpaid").await["status"], "canceled");
    }
}

both_backends! {
    async fn an_alipayhk_sale_is_signed_rsa2_for_the_hong_kong_wallet(app: TestApp) {
        let alipay = FakeAlipay::start().await;
        let (cn_account, hk_account) = alipay_accounts(&app, &alipay).await;

        app.create_sale(sale("ALIPAYOS", "alihk-1", 5000)).await;
        let id = payment_id(&app, "alihk-1").await;
        let trade = alipay.trade(&id).expect("the trade reached AlipayHK");
        assert_eq!((trade.total_fee.as_str(), trade.currency.as_str()), ("50.00", "HKD"));
        assert_eq!((trade.payment_inst.as_str(), trade.sign_type.as_str()), ("ALIPAYHK", "RSA2"));
        assert!(trade.notify_url.ends_with(&format!("/gateways/accounts/{hk_account}/notifications")), "{}", trade.notify_url);

        // The AlipayHK notification does not verify as the other account's.
        assert!(alipay.pay(&id));
        let (status, _) = post_notification(&app, &cn_account, alipay.notification_body(&id)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        notify(&app, &alipay, &hk_account, &id, 2).await;
        app.wait_for_status("ALIPAYOS", "alihk-1", "01").await;
        let viewed = app.tmf_payment_of("alihk-1").await;
        assert_eq!(viewed["status"], "captured");
        assert_eq!(viewed["paymentMethod"]["connectorAccount"]["id"], json!(hk_account), "{viewed}");
    }
}

/// The gateway row of payment `id` once the checker gave it a customer
/// action (a QR start's code got back), within ten seconds.
pub(crate) async fn row_with_action(app: &TestApp, id: &str) -> payhub_store::GatewayPayment {
    let id = PaymentId::from_i64(id.parse().unwrap()).unwrap();
    for _ in 0..100 {
        let row = app.store.find_gateway_payment(id).await.unwrap().unwrap();
        if row.action.is_some() {
            return row;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("payment {id} never got its QR code back");
}

both_backends! {
    /// A precreate whose answer was lost: Alipay has the trade, payhub has
    /// no QR code. The checker's query finds the trade waiting, repeats the
    /// precreate with the same parameters, Alipay answers the same code, and
    /// the hosted page shows it; the customer pays it and the sale is paid
    /// once, with one webhook.
    async fn a_precreate_whose_answer_was_lost_gets_its_qr_code_back(app: TestApp) {
        let alipay = FakeAlipay::start_with_timeout(Duration::from_millis(2500)).await;
        let (account_id, _) = alipay_accounts(&app, &alipay).await;
        let hook = Listener::start().await;
        hook.set_reply(StatusCode::OK, ACK);

        alipay.fail_next(Failure::Timeout);
        let mut body = sale("ALIPAY", "ali-qr-lost", 800);
        body["webhookUrl"] = json!(hook.url);
        let answer = app.retail("sales", body).await;
        assert_eq!(answer["errorCode"], "3", "{answer}");
        let id = payment_id(&app, "ali-qr-lost").await;
        let trade = alipay.trade(&id).expect("Alipay took the trade");
        let row = app.store.find_gateway_payment(PaymentId::from_i64(id.parse().unwrap()).unwrap()).await.unwrap().unwrap();
        // The checker runs as soon as the workers are woken, so it may
        // already have repeated the precreate: a code payhub holds now can
        // only have come from that repeat, never from the lost answer.
        if row.action.is_some() {
            let precreates = alipay.services_called().iter().filter(|s| *s == "alipay.acquire.precreate").count();
            assert_eq!(precreates, 2, "a code only from the repeated precreate");
        }

        let row = row_with_action(&app, &id).await;
        assert_eq!(row.action.as_deref(), Some(trade.qr_code.as_str()));
        let precreates = alipay.services_called().iter().filter(|s| *s == "alipay.acquire.precreate").count();
        assert_eq!(precreates, 2, "the precreate repeated once: {:?}", alipay.services_called());
        assert_eq!(alipay.trade(&id).unwrap().qr_code, trade.qr_code, "the same trade, the same code");
        let page_path = answer["paymentUrl"].as_str().unwrap().trim_start_matches(crate::helpers::PUBLIC_BASE);
        let page = app.client.get(app.url(page_path)).send().await.unwrap().text().await.unwrap();
        let svg = payhub_server::page::qr::qr_svg(&trade.qr_code).unwrap();
        assert!(page.contains(&svg), "the page shows Alipay's code");

        assert!(alipay.pay(&id));
        notify(&app, &alipay, &account_id, &id, 2).await;
        app.wait_for_status("ALIPAY", "ali-qr-lost", "01").await;
        hook.wait_until("the webhook", |r| !r.is_empty()).await;
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert_eq!(hook.received().len(), 1, "paid once: {:?}", hook.received());
        assert_eq!(app.tmf_payment_of("ali-qr-lost").await["status"], "captured");
    }
}

both_backends! {
    async fn a_refused_alipay_start_ends_the_sale_and_a_lost_answer_is_resolved_by_query(app: TestApp) {
        // Alipay's answer to a timed-out request comes after payhub's 2 s.
        let alipay = FakeAlipay::start_with_timeout(Duration::from_millis(2500)).await;
        alipay_accounts(&app, &alipay).await;

        // Alipay's risk check refuses the trade: the sale ends declined.
        alipay.fail_next(Failure::Decline);
        let declined = app.retail("sales", sale("ALIPAY", "ali-declined", 700)).await;
        assert_eq!(declined["errorCode"], "601", "{declined}");
        assert_eq!(declined["gwErrorCode"], "RISK_CONTROL_REFUSED", "Alipay's reason: {declined}");
        app.wait_for_status("ALIPAY", "ali-declined", "02").await;
        assert_eq!(app.tmf_payment_of("ali-declined").await["status"], "denied");

        // Alipay takes the trade but answers after payhub stopped waiting:
        // the outcome is unknown, never a failure, and the checker's query
        // finds out what happened. The customer pays while payhub still
        // waits: the checker's first query (the call's timeout plus one
        // check delay after the start) must find the trade paid. A trade
        // found waiting is asked about again only at its expiry.
        alipay.fail_next(Failure::Timeout);
        let pay_during_the_call = async {
            for _ in 0..100 {
                let (_, _, items) = app.list("payment", "correlatorId=ali-lost").await;
                if let Some(id) = items.first().and_then(|p| p["id"].as_str()) {
                    if alipay.pay(id) {
                        return id.to_owned();
                    }
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            panic!("the trade never reached Alipay");
        };
        let (answer, id) = tokio::join!(
            app.retail("sales", sale("ALIPAY", "ali-lost", 500)),
            pay_during_the_call
        );
        assert_eq!(answer["errorCode"], "3", "{answer}");
        assert_eq!(alipay.trade(&id).unwrap().status, "TRADE_SUCCESS");
        app.wait_for_status("ALIPAY", "ali-lost", "01").await;
        assert!(
            alipay.services_called().iter().any(|s| s == "alipay.acquire.overseas.query"),
            "found by query: {:?}", alipay.services_called()
        );
        assert_eq!(app.tmf_payment_of("ali-lost").await["status"], "captured");
    }
}

both_backends! {
    async fn a_jpy_payment_reaches_alipay_in_whole_yen(app: TestApp) {
        use payhub_app::gateways::flow::{self, NewGatewayPayment, StartOutcome};
        use payhub_app::gateways::GatewayKind;
        use payhub_core::{Currency, Document, MerchantId, Money, NewPayment, Origin};

        let alipay = FakeAlipay::start().await;
        let (account_id, _) = alipay_accounts(&app, &alipay).await;

        // Seed 003 sells in HKD only, so the retail dialect refuses yen...
        let mut yen_sale = sale("ALIPAY", "ali-jpy", 500);
        yen_sale["ccy"] = json!("JPY");
        assert_eq!(app.retail("sales", yen_sale).await["errorCode"], "40014");

        // ...and the payment starts through the use case every dialect's
        // sale calls: routed to the merchant's ALIPAY account, sent to Alipay.
        let merchant = MerchantId::parse(&app.merchant.merchant_id).unwrap();
        let new = NewGatewayPayment {
            payment: NewPayment {
                merchant_id: merchant,
                account_id: "WP001".into(),
                correlator_id: Some("ali-jpy".into()),
                total_amount: Some(Money::from_minor(500, Currency::parse("JPY").unwrap()).unwrap()),
                amount_decimals: None,
                status: None,
                payment_date: None,
                document: Document::new(json!({"@type": "Payment", "correlatorId": "ali-jpy"}).to_string()),
                origin: Origin::new("tmf676"),
            },
            gateway: GatewayKind::Alipay,
            lang: payhub_app::lang::Lang::default(),
            subject: Some("Tea".into()),
            return_url: None,
            webhook_url: None,
            fail_url: None,
            reference: None,
        };
        let (payment, outcome) = flow::start_payment(&app.services, new).await.unwrap();
        assert!(matches!(outcome, StartOutcome::Ready), "{outcome:?}");
        let trade = alipay.trade(&payment.id.to_string()).expect("the trade reached Alipay");
        assert_eq!((trade.total_fee.as_str(), trade.currency.as_str()), ("500", "JPY"), "¥500, no decimals");
        assert_eq!(trade.total_minor, 500);
        let row = app.store.find_gateway_payment(payment.id).await.unwrap().unwrap();
        assert_eq!(row.connector_account.as_deref(), Some(account_id.as_str()));
    }
}

both_backends! {
    async fn a_cancel_after_the_customer_paid_keeps_the_payment_and_alipays_timer_ends_a_sale(app: TestApp) {
        let alipay = FakeAlipay::start().await;
        let (account_id, _) = alipay_accounts(&app, &alipay).await;

        // The customer pays just before the merchant cancels, and Alipay's
        // notification has not come yet: `alipay.acquire.cancel` would
        // refund the paid trade, so payhub asks first, keeps the payment,
        // and the merchant is told the sale cannot be canceled.
        app.create_sale(sale("ALIPAY", "ali-race", 900)).await;
        let paid = payment_id(&app, "ali-race").await;
        assert!(alipay.pay(&paid));
        let refused = app.retail("cancel", json!({"type": "ALIPAY", "rrn": "ali-race", "storeCode": "WP001"})).await;
        assert_eq!(refused["errorCode"], "40010", "{refused}");
        app.wait_for_status("ALIPAY", "ali-race", "01").await;
        assert_eq!(app.tmf_payment_of("ali-race").await["status"], "captured");
        let trade = alipay.trade(&paid).unwrap();
        assert_eq!((trade.status.as_str(), trade.refunded_minor), ("TRADE_SUCCESS", 0), "not refunded by a cancel");
        assert!(!alipay.services_called().iter().any(|s| s == "alipay.acquire.cancel"), "{:?}", alipay.services_called());
        // Its notification, when it comes, changes nothing.
        notify(&app, &alipay, &account_id, &paid, 1).await;

        // Nobody scans the code and Alipay's timer closes the trade: its
        // notification ends the sale expired.
        app.create_sale(sale("ALIPAY", "ali-timer", 600)).await;
        let unpaid = payment_id(&app, "ali-timer").await;
        assert!(alipay.close(&unpaid));
        notify(&app, &alipay, &account_id, &unpaid, 1).await;
        app.wait_for_status("ALIPAY", "ali-timer", "03").await;
    }
}
