//! The telco consent page in the subscriber's language (issue 12, "The
//! consent page in the subscriber's language"): seed 004's `tr` request
//! gets a Turkish page with the service's name, each item's count, unit
//! price and line total, the total and the time left; a wrong code comes
//! back with what was typed and a Turkish error; an unknown language is
//! English. Plain form posts, as a browser without script sends them.

use axum::http::StatusCode;
use chrono::{Duration, FixedOffset, Utc};
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::TestApp;
use crate::telco::{request, Consent};

/// Seed 004's sample (language `tr`, channel 40), with a real number.
fn seed_sample(transaction_id: &str) -> Value {
    json!({
        "additionalParameters": [], "channelId": 40,
        "itemList": [{"count": 1, "id": 50, "isRemovable": true}, {"count": 3, "id": 53, "isRemovable": false}],
        "language": "tr", "msisdn": crate::telco::MSISDN, "paymentMethod": "reserve",
        "isDeliverable": true, "isBillingRequired": false, "transactionId": transaction_id
    })
}

/// A reserve & commit request in `language` for one Music pack (removable)
/// and two Stickers, delivered.
fn reserve_in(transaction_id: &str, language: Option<&str>) -> Value {
    let mut body = request(transaction_id, 10, &[("50", 1), ("53", 2)]);
    body["isDeliverable"] = json!(true);
    if let Some(language) = language {
        body["language"] = json!(language);
    }
    body
}

/// The opening tag of the element with `id` (attribute order aside).
fn tag_with_id<'p>(page: &'p str, id: &str) -> &'p str {
    tag_around(page, &format!(r#"id="{id}""#))
}

/// The whole tag `needle` (e.g. an attribute) is in; empty if none.
fn tag_around<'p>(page: &'p str, needle: &str) -> &'p str {
    let Some(at) = page.find(needle) else {
        return "";
    };
    let start = page[..at].rfind('<').unwrap_or(at);
    let end = page[at..].find('>').map_or(page.len(), |i| at + i + 1);
    &page[start..end]
}

/// The text inside the element with `id`, tags as spaces, up to its closing
/// `</tag>` (enough for this page's flat elements and table rows).
fn text_of(page: &str, id: &str) -> String {
    let tag = tag_with_id(page, id);
    assert!(!tag.is_empty(), "no #{id} in {page}");
    let name: String = tag[1..]
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .collect();
    let after = &page[page.find(tag).unwrap() + tag.len()..];
    let inner = &after[..after.find(&format!("</{name}>")).unwrap()];
    strip_tags(inner)
}

/// The table row of basket item `id`, as text.
fn row_of(page: &str, id: &str) -> String {
    let start = page
        .find(&format!(r#"data-item="{id}""#))
        .unwrap_or_else(|| panic!("no item {id}: {page}"));
    let row = &page[start..];
    let row = &row[row.find('>').unwrap() + 1..];
    strip_tags(&row[..row.find("</tr>").unwrap()])
}

fn strip_tags(html: &str) -> String {
    let mut text = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            // A tag separates words (cells, spans).
            '>' => {
                in_tag = false;
                text.push(' ');
            }
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl TestApp {
    async fn page(&self, link: &str) -> (StatusCode, String) {
        let response = self.client.get(self.url(link)).send().await.unwrap();
        (response.status(), response.text().await.unwrap())
    }

    /// Posts the consent form; the status and the page answered (no redirect followed).
    async fn post_consent(
        &self,
        link: &str,
        action: &str,
        form: Consent<'_>,
    ) -> (StatusCode, String) {
        let mut fields: Vec<(&str, &str)> = vec![("action", action)];
        if let Some(code) = form.code {
            fields.push(("otp", code));
        }
        for id in form.remove {
            fields.push(("remove", id));
        }
        if let Some(address) = form.delivery {
            fields.push(("delivery_address", address));
        }
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let response = client
            .post(self.url(link))
            .form(&fields)
            .send()
            .await
            .unwrap();
        (response.status(), response.text().await.unwrap())
    }
}

/// A code that is not `code`.
fn wrong_for(code: &str) -> &'static str {
    if code == "000000" {
        "111111"
    } else {
        "000000"
    }
}

both_backends! {
    async fn seed_004s_tr_request_gets_a_turkish_page_with_prices_and_time_left(app: TestApp) {
        app.stock_catalogue().await;
        let before = Utc::now();
        let (status, body) = app.telco(&seed_sample("tr-1")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (link, _) = app.last_sms().await;
        let (status, page) = app.page(&link).await;
        assert_eq!(status, StatusCode::OK);

        // Turkish, not English.
        assert!(page.contains(r#"<html lang="tr">"#), "{page}");
        assert!(page.contains("<title>Ödeme onayı</title>"), "{page}");
        for turkish in ["Ödemenizi onaylayın", "Satıcı", "Ürün", "Tutar", "Toplam", "Teslimat adresi", "SMS ile gelen kod"] {
            assert!(page.contains(turkish), "{turkish}: {page}");
        }
        assert_eq!(text_of(&page, "approve"), "Onayla");
        assert_eq!(text_of(&page, "decline"), "Reddet");
        for english in ["Approve", "Decline", "Total", "Item", "Code from the SMS", "Delivery address"] {
            assert!(!page.contains(english), "{english} on the Turkish page: {page}");
        }

        // Who asks, and for what: count × unit price, line total, total (exact, decimal comma, TL).
        assert_eq!(text_of(&page, "seller"), "test merchant");
        assert_eq!(row_of(&page, "50"), "Music pack 1 × 19,99 TL 19,99 TL");
        assert!(row_of(&page, "53").starts_with("Sticker 3 × 5,00 TL 15,00 TL"), "{}", row_of(&page, "53"));
        assert_eq!(text_of(&page, "total"), "34,99 TL");
        assert_eq!(text_of(&page, "amount"), "34,99 TL");
        assert!(!page.contains("TRY") && !page.contains("34.99"), "{page}");

        // The time left, server-rendered: 900 s from the request, on Türkiye's clock.
        let expires = text_of(&page, "expires");
        let turkey = FixedOffset::east_opt(3 * 3600).unwrap();
        let clock = |at: chrono::DateTime<Utc>| at.with_timezone(&turkey).format("%H:%M").to_string();
        let (earliest, latest) = (clock(before + Duration::seconds(900)), clock(Utc::now() + Duration::seconds(900)));
        assert!(
            expires == format!("Son onay saati: {earliest} (UTC+3), 14 dakika kaldı.")
                || expires == format!("Son onay saati: {latest} (UTC+3), 14 dakika kaldı."),
            "{expires}"
        );

        // Approve is the primary button, Decline a secondary one; no script, no inline style.
        assert!(tag_with_id(&page, "approve").contains(r#"class="button""#), "{page}");
        assert!(tag_with_id(&page, "decline").contains(r#"class="button secondary""#), "{page}");
        assert!(!page.contains("<script") && !page.contains(" style="), "{page}");
        assert!(page.contains(r#"<meta name="viewport" content="width=device-width, initial-scale=1">"#));
    }
}

both_backends! {
    async fn a_wrong_code_keeps_what_was_typed_and_says_so_in_turkish(app: TestApp) {
        app.stock_catalogue().await;
        app.telco(&reserve_in("tr-2", Some("tr"))).await;
        let (link, code) = app.last_sms().await;
        let wrong = wrong_for(&code);
        let (status, page) = app.post_consent(&link, "approve", Consent {
            code: Some(wrong), remove: &["50"], delivery: Some("İstiklal Cd. 1 <b>, İstanbul"), ..Default::default()
        }).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(page.contains(r#"<html lang="tr">"#), "{page}");
        assert_eq!(text_of(&page, "error"), "Kod doğru değil. 4 deneme hakkınız kaldı.");
        let otp = tag_with_id(&page, "otp");
        assert!(otp.contains(&format!(r#"value="{wrong}""#)) && otp.contains(r#"aria-invalid="true""#), "{otp}");
        assert!(page.contains("İstiklal Cd. 1 &lt;b&gt;, İstanbul</textarea>"), "the address stays, escaped: {page}");
        let removed = tag_around(&page, r#"name="remove" value="50""#);
        assert!(removed.contains(" checked"), "the removal stays ticked: {page}");
        assert_eq!(app.state_of("tr-2").await["resultDesc"], "CONSENT_REQUESTED");

        // A missing address: the form again, in Turkish, with the code kept.
        let (status, page) = app.post_consent(&link, "approve", Consent { code: Some(&code), ..Default::default() }).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(text_of(&page, "error"), "Lütfen bir teslimat adresi girin.");
        assert!(tag_with_id(&page, "otp").contains(&format!(r#"value="{code}""#)), "{page}");

        // The right code reserves the rest; the page says so in Turkish.
        let (status, _) = app.post_consent(&link, "approve", Consent {
            code: Some(&code), remove: &["50"], delivery: Some("İstiklal Cd. 1"), ..Default::default()
        }).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(app.state_of("tr-2").await["resultDesc"], "RESERVED");
        let (_, page) = app.page(&link).await;
        assert!(page.contains(r#"data-state="reserved""#) && page.contains("Onaylandı"), "{page}");
        assert!(page.contains("Tutar faturanızda ayrıldı."), "{page}");
    }
}

both_backends! {
    async fn the_page_follows_the_language_and_an_unknown_one_is_english(app: TestApp) {
        app.stock_catalogue().await;
        let cases = [
            (Some("fr"), "en", "Approve your payment", "Approve", "Decline", "29.99 TRY"),
            (None, "en", "Approve your payment", "Approve", "Decline", "29.99 TRY"),
            (Some("zh-HK"), "zh-Hant-HK", "確認你的付款", "確認付款", "拒絕", "29.99 TRY"),
            (Some("zh_cn"), "zh-Hans-CN", "确认您的付款", "确认付款", "拒绝", "29.99 TRY"),
            (Some("TR-tr"), "tr", "Ödemenizi onaylayın", "Onayla", "Reddet", "29,99 TL"),
        ];
        for (i, (language, tag, heading, approve, decline, total)) in cases.into_iter().enumerate() {
            app.telco(&reserve_in(&format!("lang-{i}"), language)).await;
            let (link, code) = app.last_sms().await;
            let (_, page) = app.page(&link).await;
            assert!(page.contains(&format!(r#"<html lang="{tag}">"#)), "{language:?}: {page}");
            assert!(page.contains(&format!("<h2>{heading}</h2>")), "{language:?}: {page}");
            assert_eq!(text_of(&page, "approve"), approve, "{language:?}");
            assert_eq!(text_of(&page, "decline"), decline, "{language:?}");
            assert_eq!(text_of(&page, "total"), total, "{language:?}");
            // A wrong code, and the decline after it, answer in the same language.
            let (_, refused) = app.post_consent(&link, "approve", Consent {
                code: Some(wrong_for(&code)), delivery: Some("x"), ..Default::default()
            }).await;
            assert!(refused.contains(&format!(r#"<html lang="{tag}">"#)), "{language:?}: {refused}");
            app.post_consent(&link, "decline", Consent::default()).await;
            let (_, outcome) = app.page(&link).await;
            assert!(outcome.contains(r#"data-state="rejected""#), "{outcome}");
            assert!(outcome.contains(&format!(r#"<html lang="{tag}">"#)), "{language:?}: {outcome}");
        }
        let (link, _) = app.last_sms().await;
        let (_, outcome) = app.page(&link).await;
        assert!(outcome.contains("Reddedildi"), "{outcome}");
        // A link that names no consent has no language of its own: the
        // browser's, English when the page has none of its languages.
        let forged = format!("{}x", link);
        let browsers = [
            (Some("tr-TR,tr;q=0.9"), "tr", "Bağlantı geçersiz"),
            (Some("de-DE,zh-HK;q=0.8"), "zh-Hant-HK", "連結無效"),
            (Some("de-DE"), "en", "Link not valid"),
            (None, "en", "Link not valid"),
        ];
        for (accept, tag, title) in browsers {
            let mut request = app.client.get(app.url(&forged));
            if let Some(accept) = accept {
                request = request.header("accept-language", accept);
            }
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), StatusCode::NOT_FOUND);
            let page = response.text().await.unwrap();
            assert!(page.contains(&format!(r#"<html lang="{tag}">"#)), "{accept:?}: {page}");
            assert!(page.contains(&format!("<h2>{title}</h2>")), "{accept:?}: {page}");
        }
    }
}
