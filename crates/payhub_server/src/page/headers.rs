//! The security headers of every page payhub shows a person: the hosted
//! payment page (QR, card form, 3-D Secure, result) and the telco consent page.
//!
//! One layer, applied to those routers as a whole (see [`with_page_headers`]),
//! so that a new page cannot forget them:
//! - `Content-Security-Policy`: nothing may load but the page's own inline
//!   stylesheet and the card form's brand-detection script (each allowed by
//!   its hash; no other script runs, inline handlers included); no frame, font, image or
//!   connection; `frame-ancestors 'none'` so no other site can frame the card
//!   form (click-jacking). `form-action` is left open on purpose: a card form
//!   post ends, through payhub's own redirects, at the merchant's `returnUrl`,
//!   and browsers apply `form-action` to those redirects too.
//! - `X-Frame-Options: DENY`: the same for browsers without CSP level 2.
//! - `Cache-Control: no-store`: a page about a payment is never kept by a
//!   browser or a proxy (the back button asks payhub again).
//! - `Referrer-Policy: no-referrer`: the page link is the customer's credential.
//! - `X-Content-Type-Options: nosniff`.

use std::sync::LazyLock;

use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
    X_FRAME_OPTIONS,
};
use axum::http::{HeaderName, HeaderValue};
use axum::Router;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use sha2::{Digest, Sha256};
use tower_http::set_header::SetResponseHeaderLayer;

use super::view::{BRAND_SCRIPT, STYLESHEET};

/// The page's Content-Security-Policy, with the stylesheet's hash.
pub static CONTENT_SECURITY_POLICY_VALUE: LazyLock<String> = LazyLock::new(|| {
    let style_hash = STANDARD.encode(Sha256::digest(STYLESHEET.as_bytes()));
    let script_hash = STANDARD.encode(Sha256::digest(BRAND_SCRIPT.as_bytes()));
    format!(
        "default-src 'none'; style-src 'sha256-{style_hash}'; \
         script-src 'sha256-{script_hash}'; base-uri 'none'; frame-ancestors 'none'"
    )
});

/// Every header a page carries, with its value.
pub fn page_headers() -> [(HeaderName, HeaderValue); 5] {
    let csp = HeaderValue::from_str(&CONTENT_SECURITY_POLICY_VALUE)
        .unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"));
    [
        (CONTENT_SECURITY_POLICY, csp),
        (X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        (CACHE_CONTROL, HeaderValue::from_static("no-store")),
        (REFERRER_POLICY, HeaderValue::from_static("no-referrer")),
        (X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
    ]
}

/// `router` with every response (pages, redirects and errors alike)
/// carrying the page headers.
pub fn with_page_headers<S>(router: Router<S>) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    page_headers()
        .into_iter()
        .fold(router, |router, (name, value)| {
            router.layer(SetResponseHeaderLayer::overriding(name, value))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hash in the policy is the hash of the `<style>` a page sends, so
    /// the browser applies the stylesheet (a change to either breaks this).
    #[test]
    fn the_policy_allows_exactly_the_pages_stylesheet() {
        let page =
            crate::page::view::message_page(payhub_app::lang::Lang::En, "t", "m").into_string();
        let style = page
            .split_once("<style>")
            .and_then(|(_, rest)| rest.split_once("</style>"))
            .map(|(style, _)| style)
            .unwrap_or_default();
        let hash = STANDARD.encode(Sha256::digest(style.as_bytes()));
        assert!(CONTENT_SECURITY_POLICY_VALUE.contains(&format!("'sha256-{hash}'")));
        assert!(CONTENT_SECURITY_POLICY_VALUE.contains("frame-ancestors 'none'"));
        assert!(!CONTENT_SECURITY_POLICY_VALUE.contains("unsafe"));
    }

    /// The card form's only script is the one the policy allows by hash.
    #[test]
    fn the_policy_allows_exactly_the_card_forms_script() {
        let view = crate::page::view::SaleView {
            lang: payhub_app::lang::Lang::En,
            layout: crate::page::layout::Layout::Desktop,
            gateway: payhub_app::gateways::GatewayKind::Vmpay,
            amount: payhub_core::Money::from_minor(
                100,
                payhub_core::Currency::parse("HKD").unwrap_or_else(|e| unreachable!("{e}")),
            )
            .unwrap_or_else(|e| unreachable!("{e}")),
            credit_used: None,
            saves_card: false,
            seller: None,
            subject: None,
            rrn: "R",
            card_last4: None,
            finished_at: None,
        };
        let page = crate::page::view::card_page(&view, "/c", None).into_string();
        assert_eq!(page.matches("<script").count(), 1, "{page}");
        let script = page
            .split_once("<script>")
            .and_then(|(_, rest)| rest.split_once("</script>"))
            .map(|(script, _)| script)
            .unwrap_or_default();
        let hash = STANDARD.encode(Sha256::digest(script.as_bytes()));
        assert!(CONTENT_SECURITY_POLICY_VALUE.contains(&format!("script-src 'sha256-{hash}'")));
        for handler in [" oninput=", " onclick=", " onsubmit=", " onload="] {
            assert!(!page.contains(handler), "no inline event handler: {page}");
        }
    }
}
