//! Issue 13: the hosted card page. Every check fetches the page's HTML the
//! way a browser with JavaScript off would (plain GETs and form posts, no
//! redirects followed), so each element is there without script.

use axum::http::StatusCode;
use chrono::Datelike;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{test_settings, Listener, TestApp, PUBLIC_BASE};
use crate::retail::{sale, ACK};

/// The simulated issuers' card that is approved at once.
const APPROVED_CARD: &str = "4242 4242 4242 4242";
/// The simulated issuers' cards that are declined (`card_declined`, `insufficient_funds`).
const DECLINED_CARD: &str = "4000 0000 0000 0002";
const NO_FUNDS_CARD: &str = "4000 0000 0000 9995";
/// The simulated issuers' card that asks for 3-D Secure.
const CHALLENGE_CARD: &str = "4000 0000 0000 3220";
/// `PAYHUB_CARD_ATTEMPTS` unless told otherwise.
const DEFAULT_CARD_ATTEMPTS: usize = 3;

fn future_expiry() -> String {
    format!("12/{:02}", (chrono::Utc::now().year() + 3) % 100)
}

/// A client that, like these checks need, shows redirects instead of following them.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Starts a VMPAY sale of `amt` cents and answers its page's path.
async fn card_sale(app: &TestApp, rrn: &str, amt: i64, return_url: Option<&str>) -> String {
    let mut fields: Value = sale("VMPAY", rrn, amt);
    if let Some(url) = return_url {
        fields["returnUrl"] = json!(url);
    }
    let answer = app.create_sale(fields).await;
    let page_url = answer["paymentUrl"].as_str().expect("a payment page");
    page_url
        .strip_prefix(PUBLIC_BASE)
        .expect("a page on payhub")
        .to_owned()
}

async fn get(app: &TestApp, path: &str) -> (StatusCode, String, Option<String>) {
    let answer = browser().get(app.url(path)).send().await.unwrap();
    let status = answer.status();
    let csp = answer
        .headers()
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (status, answer.text().await.unwrap(), csp)
}

async fn post_card(app: &TestApp, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
    browser()
        .post(app.url(&format!("{path}/card")))
        .form(fields)
        .send()
        .await
        .unwrap()
}

/// Where a redirect answer sends the browser.
fn location(answer: &reqwest::Response) -> String {
    answer
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

both_backends! {
    async fn the_card_page_shows_the_time_left_the_amount_on_the_pay_button_and_a_cancel_button(app: TestApp) {
        let path = card_sale(&app, "i13-form", 50_000, None).await;
        let (status, html, csp) = get(&app, &path).await;
        assert_eq!(status, StatusCode::OK);
        // The time left, as the QR page shows it (PAYHUB_PAYMENT_EXPIRY_S ahead).
        assert!(html.contains(r#"<p class="countdown" id="time-left">"#), "{html}");
        assert!(html.contains(r#"<span id="countdown">"#), "{html}");
        // The amount on the pay button.
        assert!(
            html.contains(r#"Pay now <span class="pay-amount">HKD 500.00</span></button>"#),
            "{html}"
        );
        // A cancel button, in its own form, posting to the payment's cancel route.
        assert!(
            html.contains(&format!(r#"<form class="cancel" method="post" action="{path}/cancel">"#)),
            "{html}"
        );
        // The brand slot and its script, allowed by hash and nothing else.
        assert!(html.contains(r#"id="brand""#), "{html}");
        assert_eq!(html.matches("<script>").count(), 1, "{html}");
        let csp = csp.expect("a Content-Security-Policy");
        assert!(csp.contains("script-src 'sha256-"), "{csp}");
        assert!(!csp.contains("unsafe"), "{csp}");
    }
}

both_backends! {
    async fn a_refused_card_shows_every_error_at_its_field_and_keeps_the_expiry_and_holder_but_never_the_number(app: TestApp) {
        let path = card_sale(&app, "i13-errors", 1_000, None).await;
        let bad_number = "4242 4242 4242 4241";
        let refused = post_card(
            &app,
            &path,
            &[("number", bad_number), ("expiry", "01/20"), ("cvc", "98"), ("holder", "Chan Tai Man")],
        )
        .await;
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let html = refused.text().await.unwrap();
        for field in ["number", "expiry", "cvc"] {
            assert!(html.contains(&format!(r#"data-field="{field}""#)), "{field}: {html}");
        }
        assert!(html.contains("This card has expired."), "{html}");
        assert!(html.contains(r#"value="01/20""#), "the expiry is kept: {html}");
        assert!(html.contains(r#"value="Chan Tai Man""#), "the holder is kept: {html}");
        for secret in [bad_number, "4242424242424241", r#"value="98""#] {
            assert!(!html.contains(secret), "{secret} echoed: {html}");
        }
        // Only the expiry wrong: one message, at the expiry, and nothing paid.
        let refused = post_card(
            &app,
            &path,
            &[("number", APPROVED_CARD), ("expiry", "01/20"), ("cvc", "737"), ("holder", "")],
        )
        .await;
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let html = refused.text().await.unwrap();
        assert_eq!(html.matches("data-field=").count(), 1, "{html}");
        assert!(html.contains(r#"data-field="expiry""#), "{html}");
        assert!(!html.contains("4242"), "{html}");
        assert_eq!(app.query("VMPAY", "i13-errors").await["gwRefStatus"], "05", "still waiting");
    }
}

both_backends! {
    async fn cancel_ends_the_payment_and_sends_the_customer_to_the_return_url(app: TestApp) {
        let return_url = "https://shop.example/orders/i13-cancel";
        let path = card_sale(&app, "i13-cancel", 1_000, Some(return_url)).await;
        let canceled = browser().post(app.url(&format!("{path}/cancel"))).send().await.unwrap();
        assert_eq!(canceled.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&canceled), path);
        let page = browser().get(app.url(&path)).send().await.unwrap();
        assert!(page.status().is_redirection(), "{}", page.status());
        let target = location(&page);
        assert!(target.starts_with(&format!("{return_url}?")), "{target}");
        assert!(target.contains("gwRefStatus=04"), "{target}");
        assert_eq!(app.query("VMPAY", "i13-cancel").await["gwRefStatus"], "04");

        // Without a returnUrl, payhub's own result page says so.
        let path = card_sale(&app, "i13-cancel-2", 1_000, None).await;
        browser().post(app.url(&format!("{path}/cancel"))).send().await.unwrap();
        let (_, html, _) = get(&app, &format!("{path}/result")).await;
        assert!(html.contains(r#"data-outcome="canceled""#), "{html}");
        // A second cancel changes nothing and still answers with the page.
        let again = browser().post(app.url(&format!("{path}/cancel"))).send().await.unwrap();
        assert_eq!(again.status(), StatusCode::SEE_OTHER);
        assert_eq!(app.query("VMPAY", "i13-cancel-2").await["gwRefStatus"], "04");
    }
}

both_backends! {
    async fn the_success_page_carries_a_receipt(app: TestApp) {
        let path = card_sale(&app, "i13-receipt", 12_345, None).await;
        let paid = post_card(
            &app,
            &path,
            &[("number", APPROVED_CARD), ("expiry", &future_expiry()), ("cvc", "737"), ("holder", "")],
        )
        .await;
        assert_eq!(paid.status(), StatusCode::SEE_OTHER);
        let (status, html, _) = get(&app, &format!("{path}/result")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains(r#"data-outcome="paid""#), "{html}");
        for (id, value) in [
            ("receipt-amount", "HKD 123.45"),
            ("receipt-seller", "Watsons HK"),
            ("receipt-card", "•••• 4242"),
            ("receipt-reference", "i13-receipt"),
        ] {
            assert!(html.contains(&format!(r#"<dd id="{id}">{value}</dd>"#)), "{id}: {html}");
        }
        let time = html
            .split_once(r#"<dd id="receipt-time">"#)
            .and_then(|(_, rest)| rest.split_once("</dd>"))
            .map(|(time, _)| time.to_owned())
            .unwrap_or_else(|| panic!("no time: {html}"));
        assert!(time.ends_with(" UTC") && time.starts_with(&chrono::Utc::now().year().to_string()), "{time}");
        assert!(!html.contains("4242 4242") && !html.contains("4242424242424242"), "{html}");
    }
}

/// Starts a VMPAY sale whose merchant is told at `webhook_url`; its page's path.
async fn hooked_card_sale(
    app: &TestApp,
    rrn: &str,
    return_url: Option<&str>,
    webhook_url: &str,
) -> String {
    let mut fields: Value = sale("VMPAY", rrn, 4_200);
    fields["webhookUrl"] = json!(webhook_url);
    if let Some(url) = return_url {
        fields["returnUrl"] = json!(url);
    }
    let answer = app.create_sale(fields).await;
    let page_url = answer["paymentUrl"].as_str().expect("a payment page");
    page_url
        .strip_prefix(PUBLIC_BASE)
        .expect("a page on payhub")
        .to_owned()
}

/// Submits `number` on the card form as a browser would (a valid expiry,
/// CVC and holder) and checks the post/redirect/get answer.
async fn pay(app: &TestApp, path: &str, number: &str) {
    let posted = post_card(
        app,
        path,
        &[
            ("number", number),
            ("expiry", &future_expiry()),
            ("cvc", "737"),
            ("holder", "Chan Tai Man"),
        ],
    )
    .await;
    assert_eq!(posted.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&posted), path, "back to the page");
}

/// The opening tag of the element with `id` in `html` (empty when none).
fn tag_with_id<'h>(html: &'h str, id: &str) -> &'h str {
    let Some(at) = html.find(&format!(r#"id="{id}""#)) else {
        return "";
    };
    let start = html[..at].rfind('<').unwrap_or(at);
    let end = html[at..].find('>').map_or(html.len(), |i| at + i + 1);
    &html[start..end]
}

/// Asserts the page at `path` is the card form after a declined card: the
/// decline said next to the form, which asks for another card and holds no
/// card data (the typed number was never kept anywhere).
async fn assert_use_another_card(app: &TestApp, path: &str, declined: &str) {
    let (status, html, _) = get(app, path).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the card form, not a result: {html}"
    );
    assert!(
        html.contains(r#"<h2 id="card-heading">Use another card</h2>"#),
        "{html}"
    );
    let notice = tag_with_id(&html, "card-declined");
    assert!(
        notice.contains(r#"role="alert""#) && notice.contains(r#"class="error""#),
        "{html}"
    );
    assert!(
        html.contains(
            "Your card was declined and you have not been charged. Please use another card."
        ),
        "{html}"
    );
    assert!(
        html.contains(&format!(r#"action="{path}/card""#)),
        "the form posts another card: {html}"
    );
    assert!(
        html.contains(r#"Pay now <span class="pay-amount">HKD 42.00</span>"#),
        "{html}"
    );
    for field in ["number", "expiry", "cvc"] {
        assert!(
            !tag_with_id(&html, field).contains("value="),
            "{field} is empty: {html}"
        );
    }
    for number in [declined.to_owned(), declined.replace(' ', "")] {
        assert!(!html.contains(&number), "{number} shown: {html}");
    }
}

/// The TMF hub envelopes sent to the merchant's listeners and the retail
/// webhooks of every delivery fanned out so far. Fan-out follows the events'
/// order, so once a later event's delivery is listed, an earlier one's is too.
async fn fanned_out(app: &TestApp) -> (Vec<Value>, Vec<Value>) {
    let deliveries = app.deliveries().await;
    let bodies = |kind: &str| -> Vec<Value> {
        deliveries
            .iter()
            .filter(|d| d["kind"] == kind)
            .map(|d| {
                serde_json::from_str(d["body"].as_str().expect("the body sent")).expect("JSON")
            })
            .collect()
    };
    (bodies("tmf_hub"), bodies("retail_webhook"))
}

both_backends! {
    /// Issue 13: a declined card does not end the payment while the customer
    /// may try another (PAYHUB_CARD_ATTEMPTS, 3 by default), as a Stripe
    /// PaymentIntent goes back to waiting for a payment method: it stays
    /// pending, nothing is charged, no event is written and the merchant is
    /// told nothing; the page says so next to an empty form. Another card
    /// then captures it exactly once, and the merchant hears of success only.
    async fn a_declined_card_leaves_the_payment_waiting_and_another_card_captures_it_once(app: TestApp) {
        let hook = Listener::start().await;
        hook.set_reply(StatusCode::OK, ACK);
        let hub = Listener::start().await;
        assert_eq!(app.post("/hub", &json!({"callback": hub.url})).await.status(), StatusCode::CREATED);
        let path = hooked_card_sale(&app, "i13-again", None, &hook.url).await;

        // Act 1: a card its issuer declines.
        pay(&app, &path, DECLINED_CARD).await;

        // The payment waits for another card.
        assert_use_another_card(&app, &path, DECLINED_CARD).await;
        let waiting = app.query("VMPAY", "i13-again").await;
        assert_eq!(waiting["gwRefStatus"], "05", "still pending: {waiting}");
        assert_eq!(waiting["gwErrorCode"], "card_declined", "the last decline, for the merchant: {waiting}");
        assert_eq!(app.tmf_payment_of("i13-again").await["status"], "pendingAuthorization");

        // Act 2: another card, approved.
        pay(&app, &path, APPROVED_CARD).await;

        // Paid with that card.
        let page = browser().get(app.url(&path)).send().await.unwrap();
        assert!(page.status().is_redirection(), "the payment ended: {}", page.status());
        assert_eq!(location(&page), format!("{path}/result"));
        let (_, html, _) = get(&app, &format!("{path}/result")).await;
        assert!(html.contains(r#"data-outcome="paid""#), "{html}");
        assert!(html.contains(r#"<dd id="receipt-card">•••• 4242</dd>"#), "the second card: {html}");
        let paid = app.query("VMPAY", "i13-again").await;
        assert_eq!(paid["gwRefStatus"], "01", "{paid}");
        assert_eq!(paid["gwErrorCode"], "SUCCESS", "{paid}");
        assert_eq!(app.tmf_payment_of("i13-again").await["status"], "captured");

        // Told once, of the success only: the decline wrote no event.
        let got = hook.wait_until("the success webhook", |r| !r.is_empty()).await;
        assert!(got.iter().all(|w| w["gwRefStatus"] == "01"), "{got:?}");
        hub.wait_until("the state change", |r| r.iter().any(|e| e["eventType"] == "PaymentStateChangeEvent")).await;
        let (envelopes, webhooks) = fanned_out(&app).await;
        assert_eq!(webhooks.len(), 1, "{webhooks:?}");
        assert_eq!(webhooks[0]["gwRefStatus"], "01");
        let changes: Vec<&Value> = envelopes.iter().filter(|e| e["eventType"] == "PaymentStateChangeEvent").collect();
        assert_eq!(changes.len(), 1, "one state change: {envelopes:?}");
        assert_eq!(changes[0]["event"]["payment"]["status"], "captured");

        // A card submitted after the end changes nothing.
        pay(&app, &path, NO_FUNDS_CARD).await;
        assert_eq!(app.query("VMPAY", "i13-again").await["gwRefStatus"], "01");
    }
}

both_backends! {
    /// Issue 13: the decline that uses the last attempt ends the payment
    /// declined exactly as a decline always did: `GwRefStatus` 02, TMF676
    /// `denied`, the customer sent to `returnUrl` with the result, one
    /// webhook saying so. The declines before it change nothing of that.
    async fn the_decline_that_uses_the_last_attempt_ends_the_payment_declined(app: TestApp) {
        let hook = Listener::start().await;
        hook.set_reply(StatusCode::OK, ACK);
        let return_url = "https://shop.example/orders/i13-last";
        let path = hooked_card_sale(&app, "i13-last", Some(return_url), &hook.url).await;

        for attempt in 1..DEFAULT_CARD_ATTEMPTS {
            let card = if attempt % 2 == 1 { DECLINED_CARD } else { NO_FUNDS_CARD };
            pay(&app, &path, card).await;
            assert_use_another_card(&app, &path, card).await;
            assert_eq!(app.query("VMPAY", "i13-last").await["gwRefStatus"], "05", "attempt {attempt}");
        }
        pay(&app, &path, NO_FUNDS_CARD).await;

        let page = browser().get(app.url(&path)).send().await.unwrap();
        assert!(page.status().is_redirection(), "the payment ended: {}", page.status());
        let target = location(&page);
        assert!(target.starts_with(&format!("{return_url}?")), "{target}");
        assert!(target.contains("gwRefStatus=02"), "{target}");
        let declined = app.query("VMPAY", "i13-last").await;
        assert_eq!(declined["gwRefStatus"], "02", "{declined}");
        assert_eq!(declined["gwErrorCode"], "insufficient_funds", "the last card's reason: {declined}");
        assert_eq!(app.tmf_payment_of("i13-last").await["status"], "denied");
        let got = hook.wait_until("the decline webhook", |r| !r.is_empty()).await;
        assert_eq!(got[0]["gwRefStatus"], "02", "{got:?}");
        let (_, webhooks) = fanned_out(&app).await;
        assert_eq!(webhooks.len(), 1, "{webhooks:?}");

        // No attempt is left: another card, even a good one, is not taken.
        pay(&app, &path, APPROVED_CARD).await;
        assert_eq!(app.query("VMPAY", "i13-last").await["gwRefStatus"], "02");
        assert_eq!(app.tmf_payment_of("i13-last").await["status"], "denied");
    }
}

/// One card per payment: every decline is final, as before attempts were counted.
fn one_card_attempt(url: &str) -> payhub_server::config::Settings {
    let mut settings = test_settings(url);
    settings.gateways.card_attempts =
        payhub_core::gateway::CardAttempts::new(1).expect("one is allowed");
    settings
}

both_backends! {
    /// Issue 13: with `PAYHUB_CARD_ATTEMPTS=1` the first decline ends the
    /// payment, the way every decline did before attempts were counted.
    async fn with_one_attempt_the_first_decline_ends_the_payment(app: TestApp) {
        let app = app.restart_with(one_card_attempt).await;
        let hook = Listener::start().await;
        hook.set_reply(StatusCode::OK, ACK);
        let path = hooked_card_sale(&app, "i13-one", None, &hook.url).await;
        pay(&app, &path, DECLINED_CARD).await;
        let page = browser().get(app.url(&path)).send().await.unwrap();
        assert_eq!(location(&page), format!("{path}/result"));
        let (_, html, _) = get(&app, &format!("{path}/result")).await;
        assert!(html.contains(r#"data-outcome="declined""#), "{html}");
        assert_eq!(app.query("VMPAY", "i13-one").await["gwRefStatus"], "02");
        assert_eq!(app.tmf_payment_of("i13-one").await["status"], "denied");
        let got = hook.wait_until("the decline webhook", |r| !r.is_empty()).await;
        assert_eq!(got[0]["gwRefStatus"], "02", "{got:?}");
    }
}

both_backends! {
    /// Issue 13: a card that fails its 3-D Secure step is a declined card:
    /// with attempts left the customer may use another one, which pays.
    async fn a_failed_3ds_step_leaves_the_payment_waiting_for_another_card(app: TestApp) {
        let hook = Listener::start().await;
        hook.set_reply(StatusCode::OK, ACK);
        let path = hooked_card_sale(&app, "i13-3ds", None, &hook.url).await;
        pay(&app, &path, CHALLENGE_CARD).await;
        let (_, html, _) = get(&app, &path).await;
        assert!(html.contains(&format!("{path}/challenge")), "the 3-D Secure step: {html}");
        let answered = browser()
            .post(app.url(&format!("{path}/challenge")))
            .form(&[("code", "000000")])
            .send()
            .await
            .unwrap();
        assert_eq!(answered.status(), StatusCode::SEE_OTHER);

        assert_use_another_card(&app, &path, CHALLENGE_CARD).await;
        let waiting = app.query("VMPAY", "i13-3ds").await;
        assert_eq!(waiting["gwRefStatus"], "05", "{waiting}");
        assert_eq!(waiting["gwErrorCode"], "authentication_failed", "{waiting}");

        pay(&app, &path, APPROVED_CARD).await;
        assert_eq!(app.query("VMPAY", "i13-3ds").await["gwRefStatus"], "01");
        assert_eq!(app.tmf_payment_of("i13-3ds").await["status"], "captured");
        let got = hook.wait_until("the success webhook", |r| !r.is_empty()).await;
        assert!(got.iter().all(|w| w["gwRefStatus"] == "01"), "{got:?}");
    }
}

both_backends! {
    /// Issue 13: a payment waiting for another card still ends when its time
    /// runs out, as any unpaid payment does (here the gateway closes it,
    /// through the sandbox, and notifies payhub).
    async fn a_payment_waiting_for_another_card_still_expires(app: TestApp) {
        let hook = Listener::start().await;
        hook.set_reply(StatusCode::OK, ACK);
        let path = hooked_card_sale(&app, "i13-expire", None, &hook.url).await;
        pay(&app, &path, DECLINED_CARD).await;
        assert_eq!(app.query("VMPAY", "i13-expire").await["gwRefStatus"], "05");

        assert_eq!(app.settle("i13-expire", "expire").await.status(), StatusCode::OK);
        assert_eq!(app.query("VMPAY", "i13-expire").await["gwRefStatus"], "03");
        assert_eq!(app.tmf_payment_of("i13-expire").await["status"], "failed");
        let (_, html, _) = get(&app, &format!("{path}/result")).await;
        assert!(html.contains(r#"data-outcome="expired""#), "{html}");
        let got = hook.wait_until("the expiry webhook", |r| !r.is_empty()).await;
        assert!(got.iter().all(|w| w["gwRefStatus"] == "03"), "{got:?}");
        pay(&app, &path, APPROVED_CARD).await;
        assert_eq!(app.query("VMPAY", "i13-expire").await["gwRefStatus"], "03", "too late to pay");
    }
}
