//! The operator console in a browser (JavaScript off): an operator logs in,
//! finds a payment by its reference, refunds part of it, resends its hub
//! notification and opens the charts, which must render as SVG.

use chrono::Utc;
use payhub_server::console::operators::create_operator;
use reqwest::StatusCode;
use secrecy::ExposeSecret;
use serde_json::{json, Value};

use crate::driver::Browser;
use crate::helpers::{payment_of, Backend, Listener, TestApp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_finds_refunds_and_resends_then_sees_the_charts() {
    // Arrange: payhub with a hub listener, one payment it was told about,
    // an operator, and a browser.
    let app = TestApp::spawn(Backend::Sqlite).await;
    let listener = Listener::start().await;
    let response = app
        .post(
            "/hub",
            &json!({"callback": listener.url, "query": "eventType=PaymentCreateEvent"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let mut body = payment_of("acct-77", "80", "USD");
    body["correlatorId"] = json!("order-4711");
    let payment = app.create_payment(&body).await;
    let pid = payment["id"].as_str().expect("payment id").to_owned();
    listener
        .wait_until("the create event", |got| got.len() == 1)
        .await;
    let operator = create_operator(app.store.as_ref(), "ops", None, Utc::now())
        .await
        .expect("operator");
    let browser = Browser::start().await;

    // Act 1: log in.
    browser
        .goto(&app.url("/console/login"))
        .await
        .expect("open the login page");
    browser.type_into("input[name=name]", "ops").await;
    browser
        .type_into("input[name=password]", operator.password.expose_secret())
        .await;
    browser.click_on("#login").await;
    browser
        .wait_for_url("the payment search", |url| {
            url.path() == "/console/payments"
        })
        .await;

    // Act 2: find the payment by its reference and open it.
    browser
        .type_into("input[name=reference]", "order-4711")
        .await;
    browser.click_on("#search").await;
    browser.wait_for("a.payment").await;
    assert_eq!(browser.count("a.payment").await, 1, "one payment found");
    assert_eq!(browser.text_of("a.payment").await, pid);
    browser.click_on("a.payment").await;
    browser.wait_for("form.refund").await;
    assert_eq!(browser.text_of("#amount").await, "80.00 USD");

    // Act 3: refund part of it.
    browser.type_into("input[name=amount]", "30").await;
    browser.click_on("#refund").await;
    browser.wait_for(".notice.ok").await;
    assert_eq!(browser.text_of(".notice.ok").await, "Refund recorded.");
    assert!(browser.text_of("#refunds").await.contains("30.00 USD"));
    let refunds: Vec<Value> = app
        .get(&format!("/refund?payment.id={pid}"))
        .await
        .json()
        .await
        .expect("refunds");
    assert_eq!(refunds.len(), 1, "the console's refund is in the ledger");
    assert_eq!(refunds[0]["totalAmount"]["value"].to_string(), "30");

    // Act 4: resend the hub notification of the payment's creation.
    browser.click_on("button[data-delivery]").await;
    browser
        .wait_for_url("the payment after the resend", |url| {
            url.query() == Some("done=resend")
        })
        .await;
    assert_eq!(
        browser.text_of(".notice.ok").await,
        "Delivery queued again."
    );
    let got = listener
        .wait_until("the resent event", |got| got.len() == 2)
        .await;
    assert_eq!(got[0]["eventId"], got[1]["eventId"]);

    // Act 5: the charts render as SVG with a bar for today's payment.
    browser
        .click_on("header nav a[href='/console/charts']")
        .await;
    browser.wait_for("svg.chart").await;
    assert!(browser.count("svg.chart rect.bar").await >= 1);
    let chart = browser.element("#per-gateway svg.chart").await;
    let (_, _, width, height) = chart.rectangle().await.expect("chart size");
    assert!(
        width > 100.0 && height > 100.0,
        "the chart is drawn: {width}x{height}"
    );
    assert_eq!(browser.text_of("#per-gateway h3").await, "LEDGER");

    browser.close().await;
}
