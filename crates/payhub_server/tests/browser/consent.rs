//! A subscriber on the telco consent page (seed 004): the SMS link, the
//! basket, removing an item, the addresses, the one-time code, and, on the
//! card channel, on to the card page. Plain form posts: JavaScript is off.

use serde_json::{json, Value};

use crate::driver::Browser;
use crate::helpers::{Backend, TestApp, PUBLIC_BASE};

const MSISDN: &str = "905321234567";

fn basic(app: &TestApp) -> String {
    use base64::Engine;
    let pair = format!("{}:{}", app.merchant.merchant_id, app.merchant.api_key);
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

/// Stocks the catalogue and requests a payment; returns the SMS (link on this app, code).
async fn request_payment(app: &TestApp, body: Value) -> (String, String) {
    for (id, name, price) in [("50", "Music pack", "19.99"), ("53", "Sticker", "5.00")] {
        let response = app
            .client
            .put(app.url(&format!("/pgw/catalogue/{id}")))
            .header("authorization", basic(app))
            .json(&json!({"name": name, "unitPrice": {"unit": "TRY", "value": price}}))
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success());
    }
    let answer: Value = app
        .client
        .post(app.url("/pgw/paymentService"))
        .header("authorization", basic(app))
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["resultCode"], 1103, "{answer}");
    let sms: Value = app
        .client
        .get(app.url(&format!("/sandbox/v1/sms?msisdn={MSISDN}")))
        .bearer_auth(&app.merchant.api_key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let link = sms[0]["link"]
        .as_str()
        .unwrap()
        .replace(PUBLIC_BASE, &app.url(""));
    (link, sms[0]["code"].as_str().unwrap().to_owned())
}

async fn telco_state(app: &TestApp, transaction_id: &str) -> Value {
    app.client
        .get(app.url(&format!("/pgw/paymentService/{transaction_id}")))
        .header("authorization", basic(app))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_removes_an_item_and_approves_a_reservation() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (link, code) = request_payment(
        &app,
        json!({"transactionId": "web-10", "msisdn": MSISDN, "channelId": 10, "paymentMethod": "reserve",
               "isDeliverable": true,
               "itemList": [{"id": 50, "count": 1, "isRemovable": false}, {"id": 53, "count": 2}]}),
    )
    .await;
    let browser = Browser::start().await;
    browser.goto(&link).await.expect("open the consent link");

    // The basket with its prices; only the removable line can be removed.
    browser.wait_for("#consent").await;
    let basket = browser.text_of("#basket").await;
    assert!(
        basket.contains("Music pack") && basket.contains("19.99 TRY"),
        "{basket}"
    );
    assert!(
        basket.contains("Sticker") && basket.contains("10.00 TRY"),
        "{basket}"
    );
    assert_eq!(browser.count("input[name=remove]").await, 1);
    assert_eq!(
        browser.count("#billing_address").await,
        0,
        "no billing address asked"
    );

    // A wrong code is refused on the page, and nothing moves.
    browser.click_on("input[name=remove][value='53']").await;
    browser
        .type_into("#delivery_address", "Istiklal Cd. 1, Istanbul")
        .await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    browser.type_into("#otp", wrong).await;
    browser.click_on("#approve").await;
    browser.wait_for("#error").await;
    assert!(browser.text_of("#error").await.contains("4 attempts left"));
    assert_eq!(
        telco_state(&app, "web-10").await["resultDesc"],
        "CONSENT_REQUESTED"
    );

    // The right code approves: the reservation is made, without the sticker.
    browser.click_on("input[name=remove][value='53']").await;
    browser
        .type_into("#delivery_address", "Istiklal Cd. 1, Istanbul")
        .await;
    browser.type_into("#otp", &code).await;
    browser.click_on("#approve").await;
    browser.wait_for("#outcome").await;
    assert_eq!(
        browser
            .attribute_of("#outcome", "data-state")
            .await
            .as_deref(),
        Some("reserved")
    );
    assert_eq!(telco_state(&app, "web-10").await["resultDesc"], "RESERVED");
    let (_, _, payments) = app.list("payment", "correlatorId=web-10").await;
    assert_eq!(
        payments[0]["totalAmount"].to_string(),
        r#"{"unit":"TRY","value":19.99}"#
    );
    assert_eq!(payments[0]["status"], "authorized");
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_consents_then_pays_by_card() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (link, code) = request_payment(
        &app,
        json!({"transactionId": "web-40", "msisdn": MSISDN, "channelId": 40, "paymentMethod": "reserve",
               "itemList": [{"id": 50, "count": 1}]}),
    )
    .await;
    let browser = Browser::start().await;
    browser.goto(&link).await.expect("open the consent link");
    browser.wait_for("#consent").await;
    // Channel 40's defaults ask for both addresses.
    browser
        .type_into("#delivery_address", "Kadikoy, Istanbul")
        .await;
    browser
        .type_into("#billing_address", "bills@example.com")
        .await;
    browser.type_into("#otp", &code).await;
    browser.click_on("#approve").await;

    // On to the card page, then paid.
    browser.wait_for("form #number").await;
    browser.type_into("#number", "4242 4242 4242 4242").await;
    browser.type_into("#expiry", "12/39").await;
    browser.type_into("#cvc", "737").await;
    browser.type_into("#holder", "A Subscriber").await;
    browser.click_on("#pay").await;
    browser.wait_for("#result").await;
    assert_eq!(
        browser
            .attribute_of("#result", "data-outcome")
            .await
            .as_deref(),
        Some("paid")
    );
    let mut state = Value::Null;
    for _ in 0..100 {
        state = telco_state(&app, "web-40").await;
        if state["resultDesc"] == "CHARGED" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(state["resultDesc"], "CHARGED", "{state}");
    browser.close().await;
}
