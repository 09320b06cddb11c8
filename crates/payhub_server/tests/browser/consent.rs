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

    // What was typed stays: the removal, the address and the code.
    let removal = browser.element("input[name=remove][value='53']").await;
    assert!(removal.is_selected().await.expect("checkbox state"));
    let address = browser.element("#delivery_address").await;
    assert_eq!(
        address.prop("value").await.expect("value").as_deref(),
        Some("Istiklal Cd. 1, Istanbul")
    );
    let otp = browser.element("#otp").await;
    assert_eq!(
        otp.prop("value").await.expect("value").as_deref(),
        Some(wrong)
    );

    // The right code approves: the reservation is made, without the sticker.
    otp.clear().await.expect("clear the code");
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

/// Seed 004's Turkish subscriber on a phone (issue 12): the page is in
/// Turkish, shows the service, the items with unit prices and line totals,
/// the total and the time left, fits a 390 px wide screen without
/// horizontal scrolling, keeps a wrong code with a Turkish error, and
/// approves with the code from the sandbox SMS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_turkish_subscriber_on_a_phone_corrects_a_wrong_code_and_approves() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (link, code) = request_payment(
        &app,
        json!({"transactionId": "tr-phone", "msisdn": MSISDN, "channelId": 10, "paymentMethod": "reserve",
               "language": "tr", "isDeliverable": true,
               "itemList": [{"id": 50, "count": 1, "isRemovable": true}, {"id": 53, "count": 3, "isRemovable": false}]}),
    )
    .await;
    let browser = Browser::start().await;
    browser
        .set_window_size(390, 844)
        .await
        .expect("a phone-sized window");
    browser.goto(&link).await.expect("open the consent link");
    browser.wait_for("#consent").await;

    // In Turkish, with who asks, each line and the total in lira.
    assert_eq!(
        browser.attribute_of("html", "lang").await.as_deref(),
        Some("tr")
    );
    assert_eq!(browser.text_of("h2").await, "Ödemenizi onaylayın");
    assert_eq!(browser.text_of("#approve").await, "Onayla");
    assert_eq!(browser.text_of("#decline").await, "Reddet");
    assert_eq!(browser.text_of("#seller").await, "test merchant");
    let pack = browser.text_of("tr[data-item='50']").await;
    assert!(
        pack.contains("Music pack") && pack.contains("1 × 19,99 TL"),
        "{pack}"
    );
    let stickers = browser.text_of("tr[data-item='53']").await;
    assert!(
        stickers.contains("Sticker")
            && stickers.contains("3 × 5,00 TL")
            && stickers.contains("15,00 TL"),
        "{stickers}"
    );
    assert_eq!(browser.text_of("#total").await, "34,99 TL");
    let expires = browser.text_of("#expires").await;
    assert!(
        expires.starts_with("Son onay saati:") && expires.ends_with("dakika kaldı."),
        "{expires}"
    );

    // Everything fits the phone's width: nothing to scroll sideways to.
    let (_, _, viewport, _) = browser
        .element("html")
        .await
        .rectangle()
        .await
        .expect("page size");
    assert!(
        viewport > 300.0 && viewport <= 390.0,
        "a phone-wide viewport: {viewport}"
    );
    for css in [
        "main",
        "#basket",
        "#delivery_address",
        "#otp",
        "#approve",
        "#decline",
    ] {
        let (x, _, width, height) = browser
            .element(css)
            .await
            .rectangle()
            .await
            .expect("element size");
        assert!(
            x >= 0.0 && x + width <= viewport + 0.5 && width > 0.0 && height > 0.0,
            "{css} at x={x}, {width} wide, in a {viewport} px wide page"
        );
    }
    // Approve is the primary button, Decline a secondary one that looks different.
    let approve = browser.element("#approve").await;
    let decline = browser.element("#decline").await;
    assert!(
        approve.is_displayed().await.expect("shown")
            && decline.is_displayed().await.expect("shown")
    );
    let look = |element: fantoccini::elements::Element| async move {
        (
            element.css_value("background-color").await.expect("css"),
            element.css_value("color").await.expect("css"),
        )
    };
    let (approve_look, decline_look) = (look(approve).await, look(decline).await);
    assert_ne!(approve_look, decline_look, "primary vs secondary");
    assert_eq!(
        approve_look.1, "rgba(255, 255, 255, 1)",
        "white on blue: {approve_look:?}"
    );
    // Big enough to tap.
    let (_, _, _, height) = browser
        .element("#approve")
        .await
        .rectangle()
        .await
        .expect("size");
    assert!(height >= 44.0, "{height}");

    // A wrong code: refused in Turkish, what was typed stays.
    browser
        .type_into("#delivery_address", "İstiklal Cd. 1, İstanbul")
        .await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    browser.type_into("#otp", wrong).await;
    browser.click_on("#approve").await;
    browser.wait_for("#error").await;
    assert_eq!(
        browser.text_of("#error").await,
        "Kod doğru değil. 4 deneme hakkınız kaldı."
    );
    let otp = browser.element("#otp").await;
    assert_eq!(
        otp.prop("value").await.expect("value").as_deref(),
        Some(wrong)
    );
    assert_eq!(
        browser
            .element("#delivery_address")
            .await
            .prop("value")
            .await
            .expect("value")
            .as_deref(),
        Some("İstiklal Cd. 1, İstanbul")
    );
    assert_eq!(
        telco_state(&app, "tr-phone").await["resultDesc"],
        "CONSENT_REQUESTED"
    );

    // The right code (from the sandbox SMS) approves: reserved, said in Turkish.
    otp.clear().await.expect("clear the code");
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
    assert_eq!(browser.text_of("#outcome h2").await, "Onaylandı");
    assert_eq!(
        telco_state(&app, "tr-phone").await["resultDesc"],
        "RESERVED"
    );
    browser.close().await;
}
