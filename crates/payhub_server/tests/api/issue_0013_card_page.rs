//! Issue 13: the hosted card page. Every check fetches the page's HTML the
//! way a browser with JavaScript off would (plain GETs and form posts, no
//! redirects followed), so each element is there without script.

use axum::http::StatusCode;
use chrono::Datelike;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{TestApp, PUBLIC_BASE};
use crate::retail::sale;

/// The simulated issuers' card that is approved at once.
const APPROVED_CARD: &str = "4242 4242 4242 4242";

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
