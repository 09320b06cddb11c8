//! Card payments on the hosted page: the card form, the 3-D Secure step and
//! the result, all as plain form posts (JavaScript is off in the browser).

use std::path::Path;

use chrono::Datelike;
use payhub_app::gateways::simulated::CHALLENGE_CODE;
use serde_json::json;

use crate::driver::Browser;
use crate::helpers::{test_settings, Backend, TestApp};
use crate::shop::{create_sale, query_of, tmf_payment, NewSale, Shop, TX_DATE_TIME};

/// The simulated issuers' card that asks for 3-D Secure, as a customer types it.
const CHALLENGE_CARD: &str = "4000 0000 0000 3220";
/// The simulated issuers' card that is always declined.
const DECLINED_CARD: &str = "4000 0000 0000 0002";
/// The simulated issuers' card that is approved at once.
const APPROVED_CARD: &str = "4242 4242 4242 4242";

/// An expiry a few years ahead, as `MM/YY`.
fn future_expiry() -> String {
    format!("12/{:02}", (chrono::Utc::now().year() + 3) % 100)
}

/// Fills the card form and submits it with its button.
async fn pay_with_card(browser: &Browser, number: &str) {
    browser.wait_for("form #number").await;
    browser.type_into("#number", number).await;
    browser.type_into("#expiry", &future_expiry()).await;
    browser.type_into("#cvc", "737").await;
    browser.type_into("#holder", "Chan Tai Man").await;
    browser.click_on("#pay").await;
}

/// `number` in the forms a page, an API answer or a database could hold it.
fn card_number_forms(number: &str) -> [String; 2] {
    [number.to_owned(), number.replace(' ', "")]
}

/// Asserts no file in the directory of the SQLite database at `url` holds
/// `needle` (the database, its WAL and shared memory files).
fn assert_not_stored(url: &str, needle: &str) {
    let path = url
        .strip_prefix("sqlite://")
        .unwrap_or_else(|| panic!("{url} is not a SQLite URL"));
    let dir = Path::new(path).parent().expect("the database's directory");
    let mut read = 0;
    for entry in std::fs::read_dir(dir).expect("read the database's directory") {
        let entry = entry.expect("directory entry");
        let bytes = std::fs::read(entry.path()).expect("read a database file");
        read += 1;
        assert!(
            !bytes
                .windows(needle.len())
                .any(|window| window == needle.as_bytes()),
            "{} holds the card number {needle}",
            entry.path().display()
        );
    }
    assert!(read > 0, "no database file in {}", dir.display());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_pays_by_card_through_3ds_and_is_sent_back_to_the_shop() {
    // Arrange: payhub, the shop's site, a VMPAY sale and a browser.
    let app = TestApp::spawn(Backend::Sqlite).await;
    let shop = Shop::start().await;
    let sale = create_sale(
        &app,
        NewSale {
            gateway: "VMPAY",
            amt: 50_000,
            return_url: Some(shop.return_url("order-2002")),
            webhook_url: None,
        },
    )
    .await;
    let browser = Browser::start().await;

    // Act 1: the customer opens the link and sees the card form.
    browser.goto(&sale.page_url).await.expect("open the page");
    assert_eq!(
        browser.text_of("header.brand .gateway").await,
        "Visa/Master Online"
    );
    assert_eq!(browser.text_of("#amount").await, "HKD 500.00");
    assert_eq!(
        browser.attribute_of("form", "method").await.as_deref(),
        Some("post")
    );
    let action = browser
        .attribute_of("form", "action")
        .await
        .unwrap_or_default();
    assert!(
        action.ends_with("/card"),
        "the form posts the card: {action}"
    );
    assert_eq!(
        browser.count("#qr").await,
        0,
        "a card sale shows no QR code"
    );

    // Act 2: they enter a card whose issuer asks for 3-D Secure.
    pay_with_card(&browser, CHALLENGE_CARD).await;

    // The issuer's challenge comes next, and the card number is gone.
    browser.wait_for("form #code").await;
    let challenge_page = browser.source().await.expect("page source");
    for number in card_number_forms(CHALLENGE_CARD) {
        assert!(
            !challenge_page.contains(&number),
            "the challenge page shows the card number"
        );
    }
    assert!(
        browser.text_of("#sandbox").await.contains(CHALLENGE_CODE),
        "the sandbox tells the customer the issuer's code"
    );

    // Act 3: they answer the challenge with the issuer's code.
    browser.type_into("#code", CHALLENGE_CODE).await;
    browser.click_on("#confirm").await;

    // Assert: back at the shop with a successful result.
    let back = browser
        .wait_for_url("the shop's return page", |url| {
            shop.is_return_page(url, "order-2002")
        })
        .await;
    let query = query_of(&back);
    assert_eq!(query.get("rrn"), Some(&sale.rrn), "{back}");
    assert_eq!(
        query.get("type").map(String::as_str),
        Some("VMPAY"),
        "{back}"
    );
    assert_eq!(
        query.get("gwRefStatus").map(String::as_str),
        Some("01"),
        "{back}"
    );
    assert_eq!(
        query.get("amt").map(String::as_str),
        Some("50000"),
        "{back}"
    );
    assert_eq!(query.get("ccy").map(String::as_str), Some("HKD"), "{back}");
    assert_eq!(
        query.get("txDatetime").map(String::as_str),
        Some(TX_DATE_TIME),
        "{back}"
    );
    assert_eq!(
        browser.text_of("#shop-thanks").await,
        "Thank you for your order"
    );

    // The payment is captured, and no record of it holds the card number.
    let (payment, payment_text) = tmf_payment(&app, &sale.rrn).await;
    assert_eq!(payment["status"], json!("captured"), "{payment}");
    for number in card_number_forms(CHALLENGE_CARD) {
        assert!(
            !payment_text.contains(&number),
            "TMF676 shows the card number: {payment_text}"
        );
        assert!(!back.as_str().contains(&number), "{back}");
        assert_not_stored(app.db.url(), &number);
    }

    browser.close().await;
}

/// One card per payment (`PAYHUB_CARD_ATTEMPTS=1`): the first decline ends it.
fn one_card_attempt(url: &str) -> payhub_server::config::Settings {
    let mut settings = test_settings(url);
    settings.gateways.card_attempts =
        payhub_core::gateway::CardAttempts::new(1).expect("one is allowed");
    settings
}

/// Where a decline that ends the payment lands. With one attempt allowed,
/// the first decline is that one (with more, see
/// `a_declined_card_lets_the_customer_use_another_card_which_pays`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declined_card_ends_on_payhubs_result_page_when_the_sale_has_no_return_url() {
    // Arrange: a VMPAY sale whose merchant gave no returnUrl, one card allowed.
    let app = TestApp::spawn_with_settings(Backend::Sqlite, one_card_attempt).await;
    let sale = create_sale(
        &app,
        NewSale {
            gateway: "VMPAY",
            amt: 1_500,
            return_url: None,
            webhook_url: None,
        },
    )
    .await;
    let browser = Browser::start().await;

    // Act: the customer pays with a card its issuer declines.
    browser.goto(&sale.page_url).await.expect("open the page");
    pay_with_card(&browser, DECLINED_CARD).await;

    // Assert: payhub's own result page says so, with nowhere to continue to.
    let result_url = format!("{}/result", sale.page_url);
    browser
        .wait_for_url("payhub's result page", |url| url.as_str() == result_url)
        .await;
    assert_eq!(
        browser
            .attribute_of("#result", "data-outcome")
            .await
            .as_deref(),
        Some("declined")
    );
    assert_eq!(browser.text_of("#result h2").await, "Payment declined");
    assert_eq!(browser.text_of("#amount").await, "HKD 15.00");
    assert_eq!(browser.text_of("#rrn").await, sale.rrn);
    assert_eq!(
        browser.count("#continue").await,
        0,
        "no link back without a returnUrl"
    );
    let (payment, _) = tmf_payment(&app, &sale.rrn).await;
    assert_eq!(payment["status"], json!("denied"), "{payment}");

    browser.close().await;
}

/// Issue 13: a declined card does not end the payment while another may be
/// tried: the customer is back on the card page, which says the card was
/// declined and asks for another card in an empty form; the next card pays,
/// and only that one is charged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declined_card_lets_the_customer_use_another_card_which_pays() {
    // Arrange: a VMPAY sale (three cards allowed, the default) and a browser.
    let app = TestApp::spawn(Backend::Sqlite).await;
    let sale = create_sale(
        &app,
        NewSale {
            gateway: "VMPAY",
            amt: 3_300,
            return_url: None,
            webhook_url: None,
        },
    )
    .await;
    let browser = Browser::start().await;
    browser.goto(&sale.page_url).await.expect("open the page");
    assert_eq!(browser.text_of("#card-heading").await, "Card details");

    // Act 1: a card its issuer declines.
    pay_with_card(&browser, DECLINED_CARD).await;

    // Back on the card page: the decline is said next to an empty form that
    // asks for another card, and the payment is still pending.
    browser.wait_for("#card-declined").await;
    assert_eq!(
        browser.current_url().await.expect("url").as_str(),
        sale.page_url,
        "the card page, not a result"
    );
    assert_eq!(browser.text_of("#card-heading").await, "Use another card");
    assert_eq!(
        browser.text_of("#card-declined").await,
        "Your card was declined and you have not been charged. Please use another card."
    );
    for field in ["#number", "#expiry", "#cvc"] {
        let value = browser
            .element(field)
            .await
            .prop("value")
            .await
            .expect("value");
        assert_eq!(value.as_deref(), Some(""), "{field} is empty");
    }
    let page = browser.source().await.expect("page source");
    for number in card_number_forms(DECLINED_CARD) {
        assert!(
            !page.contains(&number),
            "the page shows the declined number"
        );
    }
    assert_eq!(browser.text_of("#pay").await, "Pay now HKD 33.00");
    let (payment, _) = tmf_payment(&app, &sale.rrn).await;
    assert_eq!(
        payment["status"],
        json!("pendingAuthorization"),
        "{payment}"
    );

    // Act 2: another card, in the same form.
    pay_with_card(&browser, APPROVED_CARD).await;

    // Assert: paid with the second card, once.
    let result_url = format!("{}/result", sale.page_url);
    browser
        .wait_for_url("payhub's result page", |url| url.as_str() == result_url)
        .await;
    assert_eq!(
        browser
            .attribute_of("#result", "data-outcome")
            .await
            .as_deref(),
        Some("paid")
    );
    assert_eq!(browser.text_of("#receipt-card").await, "•••• 4242");
    assert_eq!(browser.text_of("#receipt-amount").await, "HKD 33.00");
    let (payment, _) = tmf_payment(&app, &sale.rrn).await;
    assert_eq!(payment["status"], json!("captured"), "{payment}");
    for number in card_number_forms(DECLINED_CARD) {
        assert_not_stored(app.db.url(), &number);
    }
    browser.close().await;
}

/// Issue 9 item 11: the card page's Content-Security-Policy lets its own
/// stylesheet apply, and no other site can show the card form in a frame.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_card_page_keeps_its_style_and_cannot_be_framed() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let shop = Shop::start().await;
    let sale = create_sale(
        &app,
        NewSale {
            gateway: "VMPAY",
            amt: 1_000,
            return_url: None,
            webhook_url: None,
        },
    )
    .await;
    let browser = Browser::start().await;

    browser.goto(&sale.page_url).await.expect("open the page");
    browser.wait_for("form #number").await;
    let background = browser
        .element("body")
        .await
        .css_value("background-color")
        .await
        .expect("computed style");
    assert!(
        background.contains("241, 243, 246"),
        "the inline stylesheet applies under the policy: body background {background}"
    );

    // A page on another origin frames the card page: the browser refuses.
    browser
        .goto(&shop.framing_url(&sale.page_url))
        .await
        .expect("open the framing page");
    browser.wait_for("iframe#framed").await;
    let frame = browser.element("iframe#framed").await;
    frame.enter_frame().await.expect("enter the frame");
    assert_eq!(
        browser.count("#number").await,
        0,
        "the card form shows inside another site's frame"
    );
    browser.close().await;
}

/// Issue 13: a malformed expiry is refused by the browser itself (the
/// field's HTML5 `pattern`, no script), so nothing is sent and the card
/// number the customer typed stays in its field; correcting the expiry alone
/// then pays. The server never writes a card number into a page, so this is
/// how the number survives the mistake. The success page carries a receipt.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_expiry_is_refused_by_the_browser_and_the_typed_number_stays() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let sale = create_sale(
        &app,
        NewSale {
            gateway: "VMPAY",
            amt: 2_500,
            return_url: None,
            webhook_url: None,
        },
    )
    .await;
    let browser = Browser::start().await;
    browser.goto(&sale.page_url).await.expect("open the page");
    browser.wait_for("form #number").await;
    assert_eq!(browser.text_of("#pay").await, "Pay now HKD 25.00");
    assert!(
        browser
            .text_of("#time-left")
            .await
            .starts_with("This payment closes in"),
        "the time left is shown"
    );

    // Act 1: the whole form, with a month that does not exist.
    browser.type_into("#number", APPROVED_CARD).await;
    browser.type_into("#expiry", "13/29").await;
    browser.type_into("#cvc", "737").await;
    browser.click_on("#pay").await;

    // The browser kept the form: the expiry is invalid, nothing was posted,
    // and the number is still in its field.
    assert_eq!(
        browser.count("#expiry:invalid").await,
        1,
        "the pattern refuses 13/29"
    );
    assert!(browser.current_url().await.expect("url").as_str() == sale.page_url);
    assert_eq!(
        browser.count("[data-field]").await,
        0,
        "no server round trip"
    );
    let typed = browser
        .element("#number")
        .await
        .prop("value")
        .await
        .expect("value");
    assert_eq!(typed.as_deref(), Some(APPROVED_CARD));

    // Act 2: only the expiry is corrected; the number is not typed again.
    browser
        .element("#expiry")
        .await
        .clear()
        .await
        .expect("clear the expiry");
    browser.type_into("#expiry", &future_expiry()).await;
    browser.click_on("#pay").await;

    // Assert: paid with that card, and the receipt shows it.
    let result_url = format!("{}/result", sale.page_url);
    browser
        .wait_for_url("payhub's result page", |url| url.as_str() == result_url)
        .await;
    assert_eq!(
        browser
            .attribute_of("#result", "data-outcome")
            .await
            .as_deref(),
        Some("paid")
    );
    assert_eq!(browser.text_of("#receipt-card").await, "•••• 4242");
    assert_eq!(browser.text_of("#receipt-amount").await, "HKD 25.00");
    assert_eq!(browser.text_of("#receipt-reference").await, sale.rrn);
    let (payment, _) = tmf_payment(&app, &sale.rrn).await;
    assert_eq!(payment["status"], json!("captured"), "{payment}");
    browser.close().await;
}

/// Issue 13: with JavaScript on, the card page names the brand as the number
/// is typed: the script runs under the page's Content-Security-Policy (its
/// hash is allowed) and nothing else is needed. With it off (every other
/// test) the label stays hidden.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_script_the_card_page_names_the_brand_as_the_number_is_typed() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let sale = create_sale(
        &app,
        NewSale {
            gateway: "VMPAY",
            amt: 1_000,
            return_url: None,
            webhook_url: None,
        },
    )
    .await;
    let browser = Browser::start_with_scripts().await;
    browser.goto(&sale.page_url).await.expect("open the page");
    browser.wait_for("form #number").await;
    assert_eq!(
        browser.count("#brand[hidden]").await,
        1,
        "nothing typed yet"
    );

    browser.type_into("#number", "5555 5555").await;
    assert_eq!(browser.count("#brand[hidden]").await, 0, "the script ran");
    assert_eq!(browser.text_of("#brand").await, "Mastercard");

    browser
        .element("#number")
        .await
        .clear()
        .await
        .expect("clear");
    browser.type_into("#number", "4242").await;
    assert_eq!(browser.text_of("#brand").await, "Visa");
    browser.close().await;
}
