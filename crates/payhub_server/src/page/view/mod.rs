//! Renders each state of the hosted payment page as a complete HTML document.
//!
//! The pages need no script and load nothing from elsewhere: the stylesheet
//! is inline and QR codes are inline SVG, so the page works in wallet in-app
//! browsers and under a strict Content-Security-Policy. The card form's one
//! script ([`BRAND_SCRIPT`], allowed by its hash) only adds the brand label. Pages that wait for
//! something reload themselves with `<meta http-equiv="refresh">`.
//!
//! Every value from a merchant or customer goes through maud's escaping;
//! `PreEscaped` is used only for this module's constant stylesheet and the
//! SVG that [`qr::qr_svg`] generates.

use chrono::{DateTime, Utc};
use maud::{html, Markup, PreEscaped, DOCTYPE};
use payhub_core::Money;

use crate::page::i18n::{self, Texts, TIME_PLACEHOLDER};
use crate::page::layout::Layout;
use crate::page::qr;
use payhub_app::card::CardError;
use payhub_app::gateways::GatewayKind;
use payhub_app::lang::Lang;

mod card;
mod document;

pub(crate) use card::BRAND_SCRIPT;
pub use card::{card_form_page, card_page, CardFormView};
use document::{document, sandbox_box};
pub(crate) use document::{shell, shell_in, STYLESHEET};

/// What the page shows about the sale, whichever state it is in.
#[derive(Clone, Copy, Debug)]
pub struct SaleView<'a> {
    pub lang: Lang,
    pub layout: Layout,
    pub gateway: GatewayKind,
    /// What this page charges: the payment's total, or for an APS payment
    /// that spent account credit first, only the rest left for the card.
    pub amount: Money,
    /// The part of the payment already paid from the customer's account
    /// credit, shown as its own line so the customer sees why `amount` is
    /// less than the order's total.
    pub credit_used: Option<Money>,
    /// Whether the card entered here is saved as a payment method of the
    /// customer's account once the payment succeeds (APS hosted page), so
    /// the customer is told before entering it.
    pub saves_card: bool,
    /// The merchant's display name, when the sale has one.
    pub seller: Option<&'a str>,
    /// What is being bought, when the merchant said.
    pub subject: Option<&'a str>,
    /// The retrieval reference number, shown small so support can find the sale.
    pub rrn: &'a str,
    /// The last four digits of the card charged, for the receipt; `None`
    /// before a card was entered and for wallet payments.
    pub card_last4: Option<&'a str>,
    /// When the payment reached its result, for the receipt.
    pub finished_at: Option<DateTime<Utc>>,
}

/// How the sale ended, as the result page shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageOutcome {
    Paid,
    Declined,
    Expired,
    Canceled,
}

impl PageOutcome {
    /// The value of the result element's `data-outcome`, stable for tests and
    /// for merchants who embed or scrape the page.
    pub fn code(self) -> &'static str {
        match self {
            PageOutcome::Paid => "paid",
            PageOutcome::Declined => "declined",
            PageOutcome::Expired => "expired",
            PageOutcome::Canceled => "canceled",
        }
    }

    fn title(self, t: &Texts) -> &'static str {
        match self {
            PageOutcome::Paid => t.paid,
            PageOutcome::Declined => t.declined,
            PageOutcome::Expired => t.expired,
            PageOutcome::Canceled => t.canceled,
        }
    }

    fn detail(self, t: &Texts) -> &'static str {
        match self {
            PageOutcome::Paid => t.paid_detail,
            PageOutcome::Declined => t.declined_detail,
            PageOutcome::Expired => t.expired_detail,
            PageOutcome::Canceled => t.canceled_detail,
        }
    }

    /// A decorative mark; the heading carries the meaning.
    fn icon(self) -> &'static str {
        match self {
            PageOutcome::Paid => "✓",
            PageOutcome::Declined => "✕",
            PageOutcome::Expired | PageOutcome::Canceled => "!",
        }
    }
}

/// How often the QR page reloads to pick up the wallet's result, in seconds.
const QR_REFRESH_S: &str = "3";
/// How often the processing page reloads while the gateway answers, in seconds.
const PROCESSING_REFRESH_S: &str = "2";

/// The QR code for a wallet or FPS payment, with a countdown to the sale's
/// expiry. It reloads every few seconds, so the customer lands on the result
/// without any script. `sandbox_hint` is shown in a separate note box, e.g.
/// how to complete the payment without a real wallet.
pub fn qr_page(
    view: &SaleView,
    qr_content: &str,
    seconds_left: i64,
    sandbox_hint: Option<&str>,
) -> Markup {
    let t = i18n::texts(view.lang);
    // The placeholder splits the phrase so the time can be styled on its own.
    let (before, after) = t
        .closes_in
        .split_once(TIME_PLACEHOLDER)
        .unwrap_or((t.closes_in, ""));
    let body = html! {
        section.pay.qr-pay {
            @match qr::qr_svg(qr_content) {
                Some(svg) => div.qr #qr { (PreEscaped(svg)) },
                None => p.error #qr-unavailable role="alert" { (t.qr_unavailable) },
            }
            p.scan { (t.scan_to_pay) }
            p.countdown {
                (before) span #countdown { (i18n::remaining_time(seconds_left)) } (after)
            }
            p.waiting { span.dot aria-hidden="true" {} (t.waiting_for_payment) }
        }
        (sandbox_box(t, sandbox_hint))
    };
    document(view, Some(QR_REFRESH_S), body)
}

/// The 3-D Secure step: the issuer's one-time code, posted to `action`.
/// `wrong_code` is set after a refused code.
pub fn challenge_page(
    view: &SaleView,
    action: &str,
    wrong_code: bool,
    sandbox_hint: Option<&str>,
) -> Markup {
    let t = i18n::texts(view.lang);
    let body = html! {
        section.pay.challenge {
            h2 { (t.challenge_title) }
            p.prompt { (t.challenge_prompt) }
            form method="post" action=(action) autocomplete="off" {
                div.field {
                    label for="code" { (t.challenge_code) }
                    input #code type="text" name="code" inputmode="numeric"
                        autocomplete="one-time-code" maxlength="8" required
                        aria-invalid=[wrong_code.then_some("true")];
                    @if wrong_code {
                        p.error #challenge-error role="alert" { (t.error_code) }
                    }
                }
                button #confirm .button type="submit" { (t.submit) }
            }
        }
        (sandbox_box(t, sandbox_hint))
    };
    document(view, None, body)
}

/// The 3-D Secure step on the card issuer's own page: a link there (no
/// script needed). The issuer sends the customer back to the page's
/// `/return`, where payhub asks the gateway how the step went. `url` is the
/// gateway's `http(s)` redirect; maud escapes it as any attribute.
pub fn issuer_challenge_page(view: &SaleView, url: &str) -> Markup {
    let t = i18n::texts(view.lang);
    let body = html! {
        section.pay.challenge #issuer-challenge {
            h2 { (t.challenge_title) }
            p.prompt { (t.issuer_prompt) }
            a #continue-to-issuer .button href=(url) { (t.continue_to_issuer) }
        }
    };
    document(view, None, body)
}

/// Shown while the gateway decides; reloads until the result is known.
pub fn processing_page(view: &SaleView) -> Markup {
    let t = i18n::texts(view.lang);
    let body = html! {
        section.pay.processing #processing {
            div.spinner aria-hidden="true" {}
            p { (t.processing) }
        }
    };
    document(view, Some(PROCESSING_REFRESH_S), body)
}

/// How the sale ended, with a link back to the merchant when there is one.
///
/// The caller redirects to `continue_url` itself when it wants to; the page
/// only offers the link, and only for `http(s)` or site-relative URLs, so a
/// `javascript:` URL can never become a clickable link here.
pub fn result_page(view: &SaleView, outcome: PageOutcome, continue_url: Option<&str>) -> Markup {
    let t = i18n::texts(view.lang);
    let continue_url = continue_url.filter(|url| is_navigable(url));
    let class = format!("pay result {}", outcome.code());
    let body = html! {
        section #result class=(class) data-outcome=(outcome.code()) {
            div.icon aria-hidden="true" { (outcome.icon()) }
            h2 { (outcome.title(t)) }
            p { (outcome.detail(t)) }
            @if outcome == PageOutcome::Paid {
                (receipt(view, t))
            }
            @if let Some(url) = continue_url {
                a #continue .button href=(url) { (t.continue_to_merchant) }
            }
        }
    };
    document(view, None, body)
}

/// The receipt of a paid sale: amount, merchant, last four digits of the
/// card, time and reference, each with a stable id for tests and scrapers.
/// Lines without a value (no merchant name, a wallet payment) are left out.
fn receipt(view: &SaleView, t: &Texts) -> Markup {
    html! {
        dl.receipt #receipt {
            div { dt { (t.amount) } dd #receipt-amount {
                (view.amount.currency().code()) " " (view.amount.to_decimal())
            } }
            @if let Some(seller) = view.seller {
                div { dt { (t.seller) } dd #receipt-seller { (seller) } }
            }
            @if let Some(last4) = view.card_last4 {
                div { dt { (t.card_ending) } dd #receipt-card { "•••• " (last4) } }
            }
            @if let Some(at) = view.finished_at {
                div { dt { (t.paid_at) } dd #receipt-time {
                    (at.format("%Y-%m-%d %H:%M:%S UTC").to_string())
                } }
            }
            div { dt { (t.reference) } dd #receipt-reference { (view.rrn) } }
        }
    }
}

/// Whether `url` is safe to offer as a link: absolute `http(s)` or a path on this site.
fn is_navigable(url: &str) -> bool {
    let lower = url.trim_start().to_ascii_lowercase();
    lower.starts_with("https://")
        || lower.starts_with("http://")
        || (lower.starts_with('/') && !lower.starts_with("//"))
}

/// A page without a sale, e.g. an unknown payment link
/// ([`Texts::not_found`], [`Texts::not_found_detail`]).
pub fn message_page(lang: Lang, title: &str, message: &str) -> Markup {
    let body = html! {
        header.brand { span.gateway { "payhub" } }
        section.pay.message #message {
            h2 { (title) }
            p { (message) }
        }
    };
    shell(lang, Layout::Desktop, title, None, body)
}

#[cfg(test)]
mod tests {
    use payhub_core::Currency;

    use super::*;

    fn money(minor: i64, code: &str) -> Money {
        let currency = Currency::parse(code).unwrap_or_else(|e| unreachable!("{e}"));
        Money::from_minor(minor, currency).unwrap_or_else(|e| unreachable!("{e}"))
    }

    fn view(lang: Lang, layout: Layout, gateway: GatewayKind) -> SaleView<'static> {
        SaleView {
            lang,
            layout,
            gateway,
            amount: money(10, "HKD"),
            credit_used: None,
            saves_card: false,
            seller: Some("Tai <script>alert(1)</script> & Sons"),
            subject: Some("Milk \"tea\""),
            rrn: "RRN0001",
            card_last4: None,
            finished_at: None,
        }
    }

    /// The opening tag of the element with `id`, so checks do not depend on
    /// the order maud writes attributes in; empty when there is none.
    fn tag_with_id<'p>(page: &'p str, id: &str) -> &'p str {
        let Some(at) = page.find(&format!(r#"id="{id}""#)) else {
            return "";
        };
        let start = page[..at].rfind('<').unwrap_or(at);
        let end = page[at..].find('>').map_or(page.len(), |i| at + i + 1);
        &page[start..end]
    }

    /// Every page with the given view, so checks common to all run on each.
    fn every_page(view: &SaleView) -> Vec<(&'static str, String)> {
        vec![
            (
                "qr",
                qr_page(view, "weixin://wxpay/bizpayurl?pr=abc", 272, Some("hint")).into_string(),
            ),
            (
                "card",
                card_page(view, "/pay/x/card", Some(&CardError::Cvc)).into_string(),
            ),
            (
                "challenge",
                challenge_page(view, "/pay/x/3ds", true, None).into_string(),
            ),
            ("processing", processing_page(view).into_string()),
            (
                "result",
                result_page(view, PageOutcome::Paid, Some("https://shop.example/")).into_string(),
            ),
        ]
    }

    #[test]
    fn every_page_is_a_complete_self_contained_document() {
        let view = view(Lang::En, Layout::Desktop, GatewayKind::Wxpay);
        let mut pages = every_page(&view);
        pages.push((
            "message",
            message_page(Lang::En, "Payment link not found", "Gone").into_string(),
        ));
        for (name, page) in pages {
            assert!(page.starts_with("<!DOCTYPE html>"), "{name}");
            assert!(page.contains(r#"<html lang="en">"#), "{name}");
            assert!(page.contains(r#"<meta charset="utf-8">"#), "{name}");
            assert!(
                page.contains(
                    r#"<meta name="viewport" content="width=device-width, initial-scale=1">"#
                ),
                "{name}"
            );
            assert!(page.contains("<title>"), "{name}");
            assert!(page.contains("<style>"), "{name}");
            // The card form's brand detection is the only script (allowed
            // by its hash in the page's policy); nothing else may run.
            let page = page.replace(&format!("<script>{BRAND_SCRIPT}</script>"), "");
            assert!(
                !page.contains("<script"),
                "{name}: no script, and user data is escaped"
            );
            assert!(!page.contains("<link"), "{name}: no external stylesheet");
            assert!(!page.contains(" src="), "{name}: no external resource");
        }
    }

    #[test]
    fn seller_and_subject_are_escaped() {
        let view = view(Lang::En, Layout::Desktop, GatewayKind::Wxpay);
        for (name, page) in every_page(&view) {
            assert!(
                page.contains("Tai &lt;script&gt;alert(1)&lt;/script&gt; &amp; Sons"),
                "{name}: {page}"
            );
            assert!(page.contains("Milk &quot;tea&quot;"), "{name}");
            assert!(page.contains("RRN0001"), "{name}");
        }
    }

    #[test]
    fn the_amount_is_shown_exactly_with_its_currency() {
        let mut view = view(Lang::En, Layout::Desktop, GatewayKind::Wxpay);
        let page = processing_page(&view).into_string();
        assert!(
            page.contains(r#"<span class="currency">HKD</span> <span class="value">0.10</span>"#),
            "{page}"
        );
        view.amount = money(123_456_789_012, "JPY");
        let page = processing_page(&view).into_string();
        assert!(
            page.contains(r#"<span class="value">123456789012</span>"#),
            "{page}"
        );
    }

    #[test]
    fn the_qr_page_has_the_code_the_countdown_and_reloads_itself() {
        let view = view(Lang::En, Layout::Desktop, GatewayKind::Wxpay);
        let page = qr_page(&view, "https://qr.example/pay?id=1", 272, None).into_string();
        assert!(page.contains("<svg"), "{page}");
        assert!(
            page.contains(r#"<meta http-equiv="refresh" content="3">"#),
            "{page}"
        );
        assert!(page.contains("Scan to pay"));
        assert!(
            page.contains(r#"<span id="countdown">4:32</span>"#),
            "{page}"
        );
        assert!(
            !page.contains(r#"id="sandbox""#),
            "no sandbox box without a hint"
        );

        let page = qr_page(
            &view,
            "https://qr.example/pay?id=1",
            -5,
            Some("Use <b>test</b>"),
        )
        .into_string();
        assert!(
            page.contains(r#"<span id="countdown">0:00</span>"#),
            "{page}"
        );
        assert!(
            page.contains(r#"<aside class="sandbox" id="sandbox">"#),
            "{page}"
        );
        assert!(page.contains("Use &lt;b&gt;test&lt;/b&gt;"), "{page}");
    }

    #[test]
    fn the_card_form_has_the_four_fields_and_never_echoes_card_data() {
        let view = view(Lang::En, Layout::Desktop, GatewayKind::Vmpay);
        let page = card_page(&view, "/pay/abc/card?x=1&y=2", None).into_string();
        assert!(
            page.contains(r#"<form method="post" action="/pay/abc/card?x=1&amp;y=2""#),
            "{page}"
        );
        for name in ["number", "expiry", "cvc", "holder"] {
            assert!(page.contains(&format!(r#"name="{name}""#)), "{name}");
        }
        assert!(page.contains(r#"autocomplete="cc-number""#));
        assert!(page.contains(r#"autocomplete="cc-exp""#));
        assert!(page.contains(r#"placeholder="MM/YY""#));
        assert!(page.contains(r#"autocomplete="cc-csc""#));
        assert!(page.contains(r#"autocomplete="cc-name""#));
        let pay = tag_with_id(&page, "pay");
        assert!(
            pay.starts_with("<button") && pay.contains(r#"type="submit""#),
            "{pay}"
        );
        assert!(
            page.contains(&format!(
                r#"{pay}Pay now <span class="pay-amount">HKD 0.10</span></button>"#
            )),
            "{page}"
        );
        assert!(!page.contains("card-error"));
        assert!(!page.contains("value="), "no field is prefilled");

        // A refused submission shows the message at the field, and only there.
        let page = card_page(&view, "/pay/abc/card", Some(&CardError::Expired)).into_string();
        assert!(!page.contains("4242424242424242"));
        assert!(!page.contains("value="));
        let expiry_field = page
            .split(r#"<label for="expiry">"#)
            .nth(1)
            .and_then(|rest| rest.split(r#"<label for="cvc">"#).next())
            .unwrap_or_default();
        let error = tag_with_id(expiry_field, "card-error");
        assert!(
            error.starts_with("<p") && error.contains(r#"class="error""#),
            "{page}"
        );
        assert!(
            expiry_field.contains(&format!("{error}This card has expired.</p>")),
            "{page}"
        );
        assert_eq!(page.matches("card-error").count(), 1);
    }

    #[test]
    fn every_card_form_problem_shows_at_its_field_at_once_and_the_typed_expiry_and_holder_stay() {
        let view = view(Lang::En, Layout::Desktop, GatewayKind::Vmpay);
        let errors = [CardError::Number, CardError::Expired, CardError::Cvc];
        let page = card_form_page(
            &view,
            &CardFormView {
                action: "/pay/abc/card",
                errors: &errors,
                expiry: "01/20",
                holder: "Chan <Tai> Man",
                ..CardFormView::default()
            },
        )
        .into_string();
        for (field, message) in [
            ("number", "This card number is not valid."),
            ("expiry", "This card has expired."),
            ("cvc", "This security code is not valid."),
        ] {
            let at = page
                .find(&format!(r#"data-field="{field}""#))
                .unwrap_or_else(|| unreachable!("no message at {field}: {page}"));
            let start = page[..at].rfind('<').unwrap_or(at);
            let input = page[..start].rfind(&format!(r#"name="{field}""#));
            assert!(input.is_some(), "{field}: the message follows its input");
            let text = page[at..]
                .split_once('>')
                .map(|(_, rest)| rest)
                .unwrap_or_default();
            assert!(text.starts_with(message), "{field}: {text}");
            assert!(
                tag_with_id(&page, field).contains(r#"aria-invalid="true""#),
                "{page}"
            );
        }
        assert_eq!(page.matches(r#"id="card-error""#).count(), 1, "{page}");
        assert!(tag_with_id(&page, "card-error").contains(r#"data-field="number""#));
        assert!(
            tag_with_id(&page, "expiry").contains(r#"value="01/20""#),
            "{page}"
        );
        assert!(
            tag_with_id(&page, "holder").contains(r#"value="Chan &lt;Tai&gt; Man""#),
            "{page}"
        );
        for field in ["number", "cvc"] {
            assert!(
                !tag_with_id(&page, field).contains("value="),
                "{field}: {page}"
            );
        }
    }

    #[test]
    fn the_expiry_field_carries_the_pattern_the_browser_checks_first() {
        // The browser test `a_wrong_expiry_is_refused_by_the_browser_and_the_typed_number_stays`
        // shows a real browser applying it; here: it is on the field, with
        // `required`, and every form the server reads as a date is one the
        // pattern was written for (month 1-12, year of 2 or 4 digits, `/` optional).
        let view = view(Lang::En, Layout::Desktop, GatewayKind::Vmpay);
        let page = card_page(&view, "/c", None).into_string();
        let expiry = tag_with_id(&page, "expiry");
        assert!(
            expiry.contains("pattern=") && expiry.contains("required"),
            "{expiry}"
        );
        assert!(expiry.contains("title="), "{expiry}");
        let today = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap_or_else(|| unreachable!());
        for accepted in ["12/29", "1/29", "01/2029", "1229", "122029", " 12 / 29 "] {
            assert!(
                payhub_app::card::Expiry::parse(accepted, today).is_ok(),
                "{accepted}"
            );
        }
    }

    #[test]
    fn the_card_form_shows_the_time_left_the_cancel_button_and_the_brand_slot() {
        let view = view(Lang::En, Layout::Desktop, GatewayKind::Vmpay);
        let page = card_form_page(
            &view,
            &CardFormView {
                action: "/pay/abc/card",
                seconds_left: Some(272),
                cancel_action: Some("/pay/abc/cancel"),
                ..CardFormView::default()
            },
        )
        .into_string();
        assert!(
            page.contains(r#"closes in <span id="countdown">4:32</span>"#),
            "{page}"
        );
        assert!(
            page.contains(r#"<form class="cancel" method="post" action="/pay/abc/cancel">"#),
            "{page}"
        );
        assert!(
            page.contains(&format!(
                "{}Cancel and return to the merchant</button>",
                tag_with_id(&page, "cancel")
            )),
            "{page}"
        );
        let brand = tag_with_id(&page, "brand");
        assert!(
            brand.starts_with("<span") && brand.contains("hidden"),
            "{brand}"
        );
        assert!(!STYLESHEET.is_empty() && !BRAND_SCRIPT.contains('<'));
        // Without them, neither is offered.
        let bare = card_page(&view, "/c", None).into_string();
        assert!(!bare.contains(r#"id="countdown""#) && !bare.contains(r#"id="cancel""#));
    }

    #[test]
    fn after_a_declined_card_the_form_asks_for_another_in_every_language() {
        let cases = [
            (Lang::En, "Use another card", "Your card was declined"),
            (Lang::ZhHk, "使用另一張卡", "你的卡被拒絕"),
            (Lang::ZhCn, "使用另一张卡", "您的卡被拒绝"),
        ];
        for (lang, heading, notice) in cases {
            let view = view(lang, Layout::Desktop, GatewayKind::Vmpay);
            let page = card_form_page(
                &view,
                &CardFormView {
                    action: "/pay/abc/card",
                    declined: true,
                    ..CardFormView::default()
                },
            )
            .into_string();
            assert!(
                page.contains(&format!(r#"<h2 id="card-heading">{heading}</h2>"#)),
                "{lang:?}: {page}"
            );
            let alert = tag_with_id(&page, "card-declined");
            assert!(
                alert.contains(r#"role="alert""#) && alert.contains(r#"class="error""#),
                "{lang:?}: {page}"
            );
            assert!(
                page.contains(&format!("{alert}{notice}")),
                "{lang:?}: {page}"
            );
            // Next to the form, before it; the form itself is as always.
            let form = page.find("<form").unwrap_or_default();
            assert!(page.find(r#"id="card-declined""#) < Some(form), "{page}");
            assert!(page.contains(r#"action="/pay/abc/card""#), "{page}");
            assert!(!tag_with_id(&page, "number").contains("value="), "{page}");
        }
        let first = card_page(
            &view(Lang::En, Layout::Desktop, GatewayKind::Vmpay),
            "/c",
            None,
        )
        .into_string();
        assert!(
            first.contains(r#"<h2 id="card-heading">Card details</h2>"#),
            "{first}"
        );
        assert!(!first.contains("card-declined"), "{first}");
    }

    #[test]
    fn the_success_page_carries_a_receipt() {
        let mut view = view(Lang::En, Layout::Desktop, GatewayKind::Vmpay);
        view.card_last4 = Some("4242");
        view.finished_at = chrono::DateTime::from_timestamp(1_795_000_000, 0);
        let page = result_page(&view, PageOutcome::Paid, None).into_string();
        let receipt = page
            .split_once(r#"<dl class="receipt" id="receipt">"#)
            .map(|(_, rest)| rest)
            .unwrap_or_else(|| unreachable!("no receipt: {page}"));
        for (id, value) in [
            ("receipt-amount", "HKD 0.10"),
            (
                "receipt-seller",
                "Tai &lt;script&gt;alert(1)&lt;/script&gt; &amp; Sons",
            ),
            ("receipt-card", "•••• 4242"),
            ("receipt-time", "2026-11-18 11:06:40 UTC"),
            ("receipt-reference", "RRN0001"),
        ] {
            assert!(
                receipt.contains(&format!(r#"<dd id="{id}">{value}</dd>"#)),
                "{id}: {receipt}"
            );
        }
        for outcome in [
            PageOutcome::Declined,
            PageOutcome::Expired,
            PageOutcome::Canceled,
        ] {
            let page = result_page(&view, outcome, None).into_string();
            assert!(!page.contains(r#"id="receipt""#), "{outcome:?}: {page}");
        }
    }

    #[test]
    fn the_new_card_page_strings_follow_the_language() {
        let cases = [
            (
                Lang::En,
                "Cancel and return to the merchant",
                "Card",
                "Paid at",
                "Pay now",
            ),
            (
                Lang::ZhHk,
                "取消並返回商戶",
                "卡號末四位",
                "付款時間",
                "確認支付",
            ),
            (
                Lang::ZhCn,
                "取消并返回商户",
                "卡号末四位",
                "支付时间",
                "确认支付",
            ),
        ];
        for (lang, cancel, card, paid_at, pay) in cases {
            let t = i18n::texts(lang);
            assert_eq!(
                (t.cancel, t.card_ending, t.paid_at),
                (cancel, card, paid_at)
            );
            let mut view = view(lang, Layout::Desktop, GatewayKind::Vmpay);
            let form = card_form_page(
                &view,
                &CardFormView {
                    action: "/c",
                    cancel_action: Some("/x"),
                    seconds_left: Some(60),
                    ..CardFormView::default()
                },
            )
            .into_string();
            assert!(form.contains(cancel), "{lang:?}");
            assert!(
                form.contains(&format!(
                    r#"{pay} <span class="pay-amount">HKD 0.10</span>"#
                )),
                "{lang:?}: {form}"
            );
            assert!(
                form.contains(
                    &t.closes_in_text(60)
                        .replace("1:00", r#"<span id="countdown">1:00</span>"#)
                ),
                "{lang:?}: {form}"
            );
            view.card_last4 = Some("1111");
            view.finished_at = chrono::DateTime::from_timestamp(0, 0);
            let receipt = result_page(&view, PageOutcome::Paid, None).into_string();
            assert!(receipt.contains(&format!("<dt>{card}</dt>")), "{lang:?}");
            assert!(receipt.contains(&format!("<dt>{paid_at}</dt>")), "{lang:?}");
        }
    }

    #[test]
    fn the_challenge_page_posts_the_code_and_reports_a_wrong_one() {
        let view = view(Lang::En, Layout::Mobile, GatewayKind::Unionpay);
        let page =
            challenge_page(&view, "/pay/abc/3ds", false, Some("Use code 123456")).into_string();
        assert!(
            page.contains(r#"<form method="post" action="/pay/abc/3ds""#),
            "{page}"
        );
        assert!(page.contains(r#"name="code""#));
        assert!(page.contains(r#"inputmode="numeric""#));
        let confirm = tag_with_id(&page, "confirm");
        assert!(
            confirm.starts_with("<button") && confirm.contains(r#"type="submit""#),
            "{page}"
        );
        assert!(!page.contains("challenge-error"));
        assert!(page.contains("Use code 123456"));
        let page = challenge_page(&view, "/pay/abc/3ds", true, None).into_string();
        assert!(
            tag_with_id(&page, "challenge-error").contains(r#"class="error""#),
            "{page}"
        );
        assert!(!page.contains(r#"id="sandbox""#));
    }

    #[test]
    fn the_issuer_challenge_page_links_to_the_issuer_without_script() {
        let view = view(Lang::En, Layout::Desktop, GatewayKind::Vmpay);
        let page = issuer_challenge_page(&view, "https://issuer.test/3ds?a=1&b=\"2").into_string();
        let link = tag_with_id(&page, "continue-to-issuer");
        assert!(
            link.starts_with(r#"<a"#)
                && link.contains(r#"href="https://issuer.test/3ds?a=1&amp;b=&quot;2""#),
            "escaped like any attribute: {page}"
        );
        assert!(page.contains("Continue to your card issuer"), "{page}");
        assert!(
            !page.contains("<form method=\"post\""),
            "no code form: {page}"
        );
        assert!(!page.contains("<script"), "{page}");
        assert!(!page.contains("http-equiv=\"refresh\""), "{page}");
    }

    #[test]
    fn the_processing_page_reloads_every_two_seconds() {
        let view = view(Lang::ZhHk, Layout::Mobile, GatewayKind::Vmpay);
        let page = processing_page(&view).into_string();
        assert!(
            page.contains(r#"<meta http-equiv="refresh" content="2">"#),
            "{page}"
        );
        assert!(page.contains("正在處理你的付款"));
    }

    #[test]
    fn the_result_page_names_the_outcome_and_links_back() {
        let view = view(Lang::En, Layout::Desktop, GatewayKind::Wxpay);
        let cases = [
            (PageOutcome::Paid, "paid", "Payment successful"),
            (PageOutcome::Declined, "declined", "Payment declined"),
            (PageOutcome::Expired, "expired", "Payment expired"),
            (PageOutcome::Canceled, "canceled", "Payment canceled"),
        ];
        for (outcome, code, title) in cases {
            let page = result_page(&view, outcome, None).into_string();
            assert!(page.contains(r#"id="result""#), "{code}");
            assert!(
                page.contains(&format!(r#"data-outcome="{code}""#)),
                "{page}"
            );
            assert!(page.contains(title), "{code}");
            assert!(!page.contains("id=\"continue\""), "{code}");
            assert!(
                !page.contains("http-equiv"),
                "{code}: the caller redirects, not the page"
            );
        }
        let page = result_page(
            &view,
            PageOutcome::Paid,
            Some("https://shop.example/done?a=1&b=2"),
        )
        .into_string();
        let link = tag_with_id(&page, "continue");
        assert!(link.starts_with("<a"), "{page}");
        assert!(
            link.contains(r#"href="https://shop.example/done?a=1&amp;b=2""#),
            "{link}"
        );
        assert!(
            page.contains(&format!("{link}Return to merchant</a>")),
            "{page}"
        );
        let page = result_page(&view, PageOutcome::Paid, Some("javascript:alert(1)")).into_string();
        assert!(!page.contains("javascript:"), "{page}");
    }

    #[test]
    fn labels_follow_the_language() {
        let en = card_page(
            &view(Lang::En, Layout::Desktop, GatewayKind::Vmpay),
            "/c",
            None,
        )
        .into_string();
        let hk = card_page(
            &view(Lang::ZhHk, Layout::Desktop, GatewayKind::Vmpay),
            "/c",
            None,
        )
        .into_string();
        let cn = card_page(
            &view(Lang::ZhCn, Layout::Desktop, GatewayKind::Unionpay),
            "/c",
            None,
        )
        .into_string();
        assert!(
            en.contains("Card number")
                && en.contains("Pay now")
                && en.contains("Visa/Master Online")
        );
        assert!(hk.contains(r#"<html lang="zh-Hant-HK">"#));
        assert!(hk.contains("確認支付") && hk.contains("金額") && hk.contains("信用卡支付"));
        assert!(!hk.contains("Card number"));
        assert!(cn.contains(r#"<html lang="zh-Hans-CN">"#));
        assert!(cn.contains("确认支付") && cn.contains("金额") && cn.contains("银联(信用卡)支付"));
        let qr = qr_page(
            &view(Lang::ZhHk, Layout::Desktop, GatewayKind::Fpspay),
            "x",
            300,
            None,
        )
        .into_string();
        assert!(qr.contains("掃一掃付款") && qr.contains("轉數快"), "{qr}");
        assert!(
            qr.contains(r#"交易將在 <span id="countdown">5:00</span> 後關閉"#),
            "{qr}"
        );
    }

    #[test]
    fn the_credit_line_and_the_save_notice_follow_the_language() {
        let cases = [
            (
                Lang::En,
                "Paid from your account credit",
                "this card is saved",
            ),
            (Lang::ZhHk, "已由賬戶餘額支付", "此卡將儲存至你的賬戶"),
            (Lang::ZhCn, "已由账户余额支付", "此卡将保存到你的账户"),
        ];
        for (lang, credit, notice) in cases {
            let mut view = view(lang, Layout::Desktop, GatewayKind::Vmpay);
            let plain = card_page(&view, "/c", None).into_string();
            assert!(
                !plain.contains(credit) && !plain.contains(notice),
                "{lang:?}"
            );
            view.credit_used = Some(money(1490, "HKD"));
            view.saves_card = true;
            let page = card_page(&view, "/c", None).into_string();
            let line = format!(
                r#"{credit}: <span class="currency">HKD</span> <span class="value">14.90</span>"#
            );
            assert!(page.contains(&line), "{lang:?}: {page}");
            assert!(page.contains(notice), "{lang:?}: {page}");
            let result = result_page(&view, PageOutcome::Paid, None).into_string();
            assert!(result.contains(&line), "{lang:?}: the result page too");
            assert!(
                !result.contains(notice),
                "{lang:?}: only the card form says it"
            );
        }
    }

    #[test]
    fn the_body_class_follows_the_layout() {
        let desktop =
            processing_page(&view(Lang::En, Layout::Desktop, GatewayKind::Test)).into_string();
        let mobile =
            processing_page(&view(Lang::En, Layout::Mobile, GatewayKind::Test)).into_string();
        assert!(desktop.contains(r#"<body class="desktop">"#));
        assert!(mobile.contains(r#"<body class="mobile">"#));
    }

    #[test]
    fn the_message_page_escapes_its_text() {
        let page = message_page(Lang::ZhCn, "找不到支付链接", "<i>gone</i>").into_string();
        assert!(page.contains("<title>找不到支付链接</title>"));
        assert!(page.contains("&lt;i&gt;gone&lt;/i&gt;"));
    }

    #[test]
    fn the_stylesheet_cannot_close_its_own_element() {
        assert!(!STYLESHEET.contains('<'));
    }
}
