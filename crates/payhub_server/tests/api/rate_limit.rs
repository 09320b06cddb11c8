//! Rate limits (issue 13): over a limit, each dialect answers HTTP 429 in its
//! own envelope with `Retry-After`; another merchant or address keeps its own
//! budget; the budget refills. No storage is involved, so SQLite only.
//!
//! The limits are 1 request per second with a burst of 2, and each test sends
//! until it is refused (at most [`ATTEMPTS`] requests), so a slow machine only
//! makes it send more, never fail.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use axum::http::StatusCode;
use payhub_server::api_retail::signature::sha1_sign;
use payhub_server::config::Settings;
use payhub_server::config::{parse_trusted_proxies, Rate};
use reqwest::RequestBuilder;
use serde_json::{json, Value};

use payhub_app::lang::Lang;
use payhub_server::page::i18n::texts;

use crate::helpers::{test_settings, Backend, Credentials, TestApp};
use crate::retail::sale;

/// Requests sent at most before a limit of 1/s with a burst of 2 must refuse one.
const ATTEMPTS: usize = 30;

fn tight() -> Option<Rate> {
    Rate::new(1, Some(2)).expect("a valid rate")
}

fn per_merchant(url: &str) -> Settings {
    let mut settings = test_settings(url);
    settings.rate_limits.per_merchant = tight();
    settings
}

fn per_address(url: &str) -> Settings {
    let mut settings = test_settings(url);
    settings.rate_limits.per_address = tight();
    settings
}

/// Per address behind a trusted proxy on loopback, so that each test request
/// can name its client in `X-Forwarded-For` (documentation addresses, never
/// connected to).
fn per_address_behind_proxy(url: &str) -> Settings {
    let mut settings = per_address(url);
    settings.rate_limits.trusted_proxies = parse_trusted_proxies("127.0.0.1/32").expect("cidr");
    settings
}

/// Sends `request()` until it is refused with 429; returns that answer.
async fn until_refused(request: impl Fn() -> RequestBuilder) -> reqwest::Response {
    for _ in 0..ATTEMPTS {
        let response = request().send().await.expect("request");
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            return response;
        }
    }
    panic!("{ATTEMPTS} requests at 1/s with a burst of 2 were never refused");
}

/// The whole seconds of a 429's `Retry-After`.
fn retry_after(response: &reqwest::Response) -> u64 {
    let value = response
        .headers()
        .get("retry-after")
        .expect("a 429 carries Retry-After");
    let seconds: u64 = value.to_str().expect("ascii").parse().expect("seconds");
    assert!(seconds >= 1, "{seconds}");
    seconds
}

fn tmf_list(app: &TestApp, who: &Credentials) -> RequestBuilder {
    app.client
        .get(app.tmf("/payment"))
        .bearer_auth(&who.api_key)
}

fn aps_payments(app: &TestApp, who: &Credentials) -> RequestBuilder {
    app.client
        .get(app.url("/aps/2/resources/no-such-resource/payments?paymentIds=1"))
        .bearer_auth(&who.api_key)
}

fn telco_query(app: &TestApp, who: &Credentials) -> RequestBuilder {
    app.client
        .get(app.url("/pgw/paymentService/no-such-transaction"))
        .basic_auth(&who.merchant_id, Some(&who.api_key))
}

/// A signed retail query (seed 003's sign), with a timestamp no other
/// request of this test binary used, so that no two share a sign.
fn retail_query(app: &TestApp, who: &Credentials) -> RequestBuilder {
    static LAST: AtomicI64 = AtomicI64::new(0);
    let now = chrono::Utc::now().timestamp_millis();
    let next = |last: i64| last.max(now - 1) + 1;
    let previous = LAST
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |last| Some(next(last)))
        .unwrap_or_else(|last| last);
    let timestamp = next(previous);
    let body = json!({
        "type": "WXPAY", "rrn": "no-such-rrn", "storeCode": "WP001",
        "apiKey": who.retail_api_key,
        "timestamp": timestamp,
        "sign": sha1_sign(&who.retail_secret, &timestamp.to_string()),
    });
    app.client
        .post(app.url("/tt-pms-ws/rest/online/query"))
        .json(&body)
}

async fn body(response: reqwest::Response) -> Value {
    response.json().await.expect("a JSON body")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tmf676_answers_429_in_its_error_and_another_merchant_is_not_affected() {
    let app = TestApp::spawn_with_settings(Backend::Sqlite, per_merchant).await;
    let other = app.other_merchant().await;
    let refused = until_refused(|| tmf_list(&app, &app.merchant)).await;
    retry_after(&refused);
    let error = body(refused).await;
    assert_eq!(error["code"], "rate_limited", "{error}");
    assert_eq!(error["status"], "429", "{error}");
    assert_eq!(error["@type"], "Error", "{error}");
    let response = tmf_list(&app, &other).send().await.expect("request");
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_deliveries_answer_429_in_the_tmf_error() {
    let app = TestApp::spawn_with_settings(Backend::Sqlite, per_merchant).await;
    let refused = until_refused(|| {
        app.client
            .get(app.url("/v1/deliveries"))
            .bearer_auth(&app.merchant.api_key)
    })
    .await;
    retry_after(&refused);
    assert_eq!(body(refused).await["code"], "rate_limited");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aps_answers_429_in_its_error_and_another_merchant_is_not_affected() {
    let app = TestApp::spawn_with_settings(Backend::Sqlite, per_merchant).await;
    let other = app.other_merchant().await;
    let refused = until_refused(|| aps_payments(&app, &app.merchant)).await;
    retry_after(&refused);
    let error = body(refused).await;
    assert_eq!(error["code"], "rate_limited", "{error}");
    assert_eq!(error["error"], "Too Many Requests", "{error}");
    let response = aps_payments(&app, &other).send().await.expect("request");
    assert_eq!(
        response.status(),
        StatusCode::NOT_FOUND,
        "the unknown resource, not a limit"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telco_answers_429_with_its_result_code_and_another_merchant_is_not_affected() {
    let app = TestApp::spawn_with_settings(Backend::Sqlite, per_merchant).await;
    let other = app.other_merchant().await;
    let refused = until_refused(|| telco_query(&app, &app.merchant)).await;
    retry_after(&refused);
    let answer = body(refused).await;
    assert_eq!(answer["resultCode"], 2014, "{answer}");
    assert!(
        answer["resultDesc"]
            .as_str()
            .is_some_and(|d| d.starts_with("RATE_LIMITED")),
        "{answer}"
    );
    assert_eq!(
        answer["transactionId"], "no-such-transaction",
        "echoed: {answer}"
    );
    let response = telco_query(&app, &other).send().await.expect("request");
    assert_eq!(
        response.status(),
        StatusCode::NOT_FOUND,
        "the unknown transaction, not a limit"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retail_answers_http_429_with_code_40017_and_another_merchant_is_not_affected() {
    let app = TestApp::spawn_with_settings(Backend::Sqlite, per_merchant).await;
    let other = app.other_merchant().await;
    let refused = until_refused(|| retail_query(&app, &app.merchant)).await;
    retry_after(&refused);
    let answer = body(refused).await;
    assert_eq!(answer["errorCode"], "40017", "{answer}");
    assert!(answer["errorMessage"].is_string(), "{answer}");
    let response = retail_query(&app, &other).send().await.expect("request");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        body(response).await["errorCode"],
        "40009",
        "the unknown rrn, not a limit"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merchant_over_its_limit_is_served_again_after_retry_after() {
    let app = TestApp::spawn_with_settings(Backend::Sqlite, per_merchant).await;
    let refused = until_refused(|| tmf_list(&app, &app.merchant)).await;
    tokio::time::sleep(Duration::from_secs(retry_after(&refused))).await;
    let response = tmf_list(&app, &app.merchant).send().await.expect("request");
    assert_eq!(response.status(), StatusCode::OK);
}

/// Per client address, each surface answers in its own envelope, before
/// authentication: unauthenticated requests count too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_surface_answers_an_address_over_its_limit_in_its_own_envelope() {
    let app = TestApp::spawn_with_settings(Backend::Sqlite, per_address_behind_proxy).await;
    let from =
        |client: &'static str, request: RequestBuilder| request.header("x-forwarded-for", client);
    let tmf = until_refused(|| from("198.51.100.1", app.client.get(app.tmf("/payment")))).await;
    retry_after(&tmf);
    assert_eq!(body(tmf).await["code"], "rate_limited");
    let deliveries =
        until_refused(|| from("198.51.100.2", app.client.get(app.url("/v1/deliveries")))).await;
    assert_eq!(body(deliveries).await["code"], "rate_limited");
    let aps = until_refused(|| from("198.51.100.3", aps_payments(&app, &app.merchant))).await;
    retry_after(&aps);
    assert_eq!(body(aps).await["code"], "rate_limited");
    let telco = until_refused(|| from("198.51.100.4", telco_query(&app, &app.merchant))).await;
    retry_after(&telco);
    assert_eq!(body(telco).await["resultCode"], 2014);
    let retail = until_refused(|| from("198.51.100.5", retail_query(&app, &app.merchant))).await;
    retry_after(&retail);
    assert_eq!(body(retail).await["errorCode"], "40017");
    let page =
        until_refused(|| from("198.51.100.6", app.client.get(app.url("/pay/1/no-token")))).await;
    retry_after(&page);
    assert!(page.headers()["content-type"]
        .to_str()
        .is_ok_and(|t| t.starts_with("text/html")));
    assert!(
        page.headers().contains_key("content-security-policy"),
        "a page keeps its headers"
    );
    // An unknown payment link has no language of its own: its refusal is in
    // the language of the page for an unknown link.
    let unknown = texts(Lang::default());
    let html = page.text().await.expect("text");
    assert!(html.contains(unknown.too_many_requests), "{html}");
    let tag = format!(r#"<html lang="{}">"#, Lang::default().html_tag());
    assert!(html.contains(&tag), "{html}");
    let consent = until_refused(|| {
        from(
            "198.51.100.8",
            app.client.get(app.url("/consent/1/no-token")),
        )
    })
    .await;
    retry_after(&consent);
    let html = consent.text().await.expect("text");
    assert!(
        html.contains("Too many requests"),
        "an unknown consent link, no browser language: English: {html}"
    );
    // An unknown consent link in a Turkish browser: Turkish.
    let consent = until_refused(|| {
        from(
            "198.51.100.9",
            app.client
                .get(app.url("/consent/1/no-token"))
                .header("accept-language", "tr-TR,tr;q=0.9,en;q=0.5"),
        )
    })
    .await;
    let seconds = retry_after(&consent);
    let html = consent.text().await.expect("text");
    assert!(html.contains(r#"<html lang="tr">"#), "{html}");
    assert!(html.contains("Çok fazla istek"), "{html}");
    assert!(
        html.contains(&format!("Lütfen {seconds} saniye bekleyip")),
        "{html}"
    );

    let another = from("198.51.100.7", tmf_list(&app, &app.merchant))
        .send()
        .await
        .expect("request");
    assert_eq!(
        another.status(),
        StatusCode::OK,
        "another address has its own budget"
    );
}

/// Without a trusted proxy, `X-Forwarded-For` is the client's own claim and
/// is ignored: changing it does not buy a new budget.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy() {
    let app = TestApp::spawn_with_settings(Backend::Sqlite, per_address).await;
    until_refused(|| tmf_list(&app, &app.merchant).header("x-forwarded-for", "198.51.100.1")).await;
    let spoofed = tmf_list(&app, &app.merchant)
        .header("x-forwarded-for", "198.51.100.2")
        .send()
        .await
        .expect("request");
    assert_eq!(spoofed.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_address_over_its_limit_is_served_again_after_retry_after() {
    let app = TestApp::spawn_with_settings(Backend::Sqlite, per_address).await;
    let refused = until_refused(|| tmf_list(&app, &app.merchant)).await;
    tokio::time::sleep(Duration::from_secs(retry_after(&refused))).await;
    let response = tmf_list(&app, &app.merchant).send().await.expect("request");
    assert_eq!(response.status(), StatusCode::OK);
}

/// Issue 13: a payment page refused for its client's rate (429) says so in
/// the page's own language, the payment's, like every other page, with the
/// wait in seconds and `Retry-After`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_page_over_the_limit_answers_in_the_payments_language() {
    // The sales are made before the limit is on, so only the pages count.
    let app = TestApp::spawn(Backend::Sqlite).await;
    let mut paths = Vec::new();
    for (rrn, lang) in [("429-cn", "zh_cn"), ("429-hk", "zh_hk"), ("429-en", "en")] {
        let mut fields = sale("VMPAY", rrn, 1_000);
        fields["lang"] = json!(lang);
        let answer = app.create_sale(fields).await;
        let url = answer["paymentUrl"].as_str().expect("a payment page");
        let path = url
            .strip_prefix(crate::helpers::PUBLIC_BASE)
            .expect("a page on payhub");
        paths.push((path.to_owned(), Lang::parse(lang).expect("a language")));
    }
    let app = app.restart_with(per_address_behind_proxy).await;
    let cases = [
        ("198.51.100.21", r#"<html lang="zh-Hans-CN">"#),
        ("198.51.100.22", r#"<html lang="zh-Hant-HK">"#),
        ("198.51.100.23", r#"<html lang="en">"#),
    ];
    for ((path, lang), (client, html_lang)) in paths.iter().zip(cases) {
        let refused = until_refused(|| {
            app.client
                .get(app.url(path))
                .header("x-forwarded-for", client)
        })
        .await;
        let seconds = retry_after(&refused);
        let html = refused.text().await.expect("text");
        let t = texts(*lang);
        assert!(html.contains(html_lang), "{lang:?}: {html}");
        assert!(
            html.contains(&format!("<h2>{}</h2>", t.too_many_requests)),
            "{lang:?}: {html}"
        );
        assert!(
            html.contains(&t.too_many_requests_text(seconds)),
            "{lang:?}: the wait of Retry-After: {html}"
        );
    }
    let cn = texts(Lang::ZhCn);
    assert_eq!(
        (cn.too_many_requests, cn.too_many_requests_text(2).as_str()),
        ("请求过于频繁", "请等待 2 秒后重新加载此页面。")
    );
}
