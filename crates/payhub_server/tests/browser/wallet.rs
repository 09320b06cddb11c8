//! A wallet (QR) payment: the customer opens the page, sees the sale and a
//! QR code, pays in the wallet app (here: the sandbox endpoint settles the
//! payment as a scan would), and the page, reloading itself without any
//! script, sends them back to the shop with the result.

use serde_json::{json, Value};

use crate::driver::Browser;
use crate::helpers::{Backend, TestApp};
use crate::shop::{
    create_sale, query_of, tmf_payment, NewSale, Shop, SELLER, SUBJECT, TX_DATE_TIME,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_pays_by_wallet_qr_and_is_sent_back_to_the_shop() {
    // Arrange: payhub, the shop's site, a WXPAY sale and a browser.
    let app = TestApp::spawn(Backend::Sqlite).await;
    let shop = Shop::start().await;
    let sale = create_sale(
        &app,
        NewSale {
            gateway: "WXPAY",
            amt: 1234,
            return_url: Some(shop.return_url("order-1001")),
            webhook_url: Some(shop.webhook_url()),
        },
    )
    .await;
    let browser = Browser::start().await;

    // Act 1: the customer opens the payment link.
    browser.goto(&sale.page_url).await.expect("open the page");

    // The page shows the sale, a scannable code and the time left.
    assert_eq!(browser.text_of("#amount").await, "HKD 12.34");
    assert_eq!(browser.text_of("#seller").await, SELLER);
    assert_eq!(browser.text_of("#subject").await, SUBJECT);
    assert_eq!(browser.text_of("#rrn").await, sale.rrn);
    assert_eq!(browser.text_of("header.brand .gateway").await, "Wechat Pay");
    browser.wait_for("#qr svg[role=img]").await;
    let countdown = browser.text_of("#countdown").await;
    let (minutes, seconds) = countdown
        .split_once(':')
        .unwrap_or_else(|| panic!("countdown {countdown:?} is not m:ss"));
    let seconds_left =
        minutes.parse::<u32>().expect("minutes") * 60 + seconds.parse::<u32>().expect("seconds");
    assert!(
        (240..=300).contains(&seconds_left),
        "a fresh sale has about five minutes left, not {countdown}"
    );
    // Unpaid, the page reloads itself (no script: a meta refresh) and
    // stays where it is, still showing the code.
    browser.wait_for_reload().await;
    assert_eq!(
        browser.current_url().await.expect("url").as_str(),
        sale.page_url
    );
    browser.wait_for("#qr svg[role=img]").await;

    // Act 2: the customer's wallet app pays.
    let (payment, _) = tmf_payment(&app, &sale.rrn).await;
    let id = payment["id"].as_str().expect("payment id");
    let settled: Value = app
        .client
        .post(app.url(&format!("/sandbox/v1/payments/{id}/outcome")))
        .bearer_auth(&app.merchant.api_key)
        .json(&json!({"outcome": "success"}))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert_eq!(settled["gatewayState"], json!("succeeded"), "{settled}");

    // Assert: the page's own reload brings the customer back to the shop,
    // with the result in the query (seed 003's "About the returnUrl").
    let back = browser
        .wait_for_url("the shop's return page", |url| {
            shop.is_return_page(url, "order-1001")
        })
        .await;
    let query = query_of(&back);
    assert_eq!(query.get("rrn"), Some(&sale.rrn), "{back}");
    assert_eq!(
        query.get("type").map(String::as_str),
        Some("WXPAY"),
        "{back}"
    );
    assert_eq!(
        query.get("gwRefStatus").map(String::as_str),
        Some("01"),
        "{back}"
    );
    assert_eq!(
        query.get("amt").map(String::as_str),
        Some(sale.amt.to_string().as_str()),
        "{back}"
    );
    assert_eq!(query.get("ccy").map(String::as_str), Some("HKD"), "{back}");
    assert_eq!(
        query.get("txDatetime").map(String::as_str),
        Some(TX_DATE_TIME),
        "{back}"
    );
    assert!(
        query.get("gwRefCode").is_some_and(|code| !code.is_empty()),
        "{back}"
    );
    assert_eq!(
        browser.text_of("#shop-thanks").await,
        "Thank you for your order"
    );
    // Opening the link again after the sale ended goes straight back too.
    browser.goto(&sale.page_url).await.expect("reopen the page");
    let again = browser.current_url().await.expect("url");
    assert!(shop.is_return_page(&again, "order-1001"), "{again}");

    // The ledger and the merchant's webhook agree.
    let (payment, _) = tmf_payment(&app, &sale.rrn).await;
    assert_eq!(payment["status"], json!("captured"), "{payment}");
    let webhook = shop.wait_for_webhook(&sale.rrn).await;
    assert_eq!(webhook["gwRefStatus"], json!("01"), "{webhook}");
    assert_eq!(webhook["type"], json!("WXPAY"), "{webhook}");
    assert_eq!(webhook["amount"], json!(sale.amt), "{webhook}");

    browser.close().await;
}
