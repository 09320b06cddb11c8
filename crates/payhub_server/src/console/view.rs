//! The console's layout, stylesheet and small pieces of shared markup.
//!
//! Every page is one HTML document with the same-origin stylesheet
//! (`/console/console.css`, allowed by the console's Content-Security-Policy
//! as `style-src 'self'`) and no script. maud escapes every value it
//! renders; `PreEscaped` is used only for the constant stylesheet and for
//! SVG built by [`super::charts`] from numbers and escaped labels.

use axum::http::header;
use axum::response::IntoResponse;
use chrono::{DateTime, Utc};
use maud::{html, Markup, DOCTYPE};
use payhub_core::Money;

use super::session::Signed;

/// The page around `content`; `signed` adds the navigation and logout form.
pub fn page(title: &str, signed: Option<&Signed>, content: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="no-referrer";
                title { (title) " · payhub console" }
                link rel="stylesheet" href="/console/console.css";
            }
            body {
                header.top {
                    span.brand { "payhub console" }
                    @if let Some(signed) = signed {
                        nav {
                            a href="/console/payments" { "Payments" }
                            a href="/console/charts" { "Charts" }
                        }
                        span.who {
                            (signed.operator.name)
                            @if let Some(merchant) = &signed.operator.merchant_id {
                                " · merchant " (merchant.as_str())
                            }
                        }
                        form.logout method="post" action="/console/logout" {
                            (csrf_field(signed))
                            button type="submit" { "Log out" }
                        }
                    }
                }
                main { (content) }
            }
        }
    }
}

/// The hidden field every console form posts back.
pub fn csrf_field(signed: &Signed) -> Markup {
    html! { input type="hidden" name="csrf" value=(signed.session.csrf_token); }
}

/// A page with a heading and a sentence (errors, mostly).
pub fn message_page(heading: &str, message: &str) -> Markup {
    page(
        heading,
        None,
        html! {
            h1 { (heading) }
            p.message { (message) }
            p { a href="/console/payments" { "Back to the console" } }
        },
    )
}

/// An amount as `12.50 USD`.
pub fn money(amount: Option<Money>) -> String {
    match amount {
        Some(amount) => format!("{} {}", amount.to_decimal(), amount.currency().code()),
        None => "—".to_owned(),
    }
}

/// A time as `2026-11-24 15:04:05 UTC`.
pub fn time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// `GET /console/console.css`.
pub async fn stylesheet() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        STYLESHEET,
    )
}

const STYLESHEET: &str = "\
*{box-sizing:border-box}\
body{margin:0;font:15px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;color:#1d2330;background:#f4f6f9}\
header.top{display:flex;flex-wrap:wrap;align-items:center;gap:16px;padding:10px 24px;background:#1d2330;color:#fff}\
header.top .brand{font-weight:600}\
header.top nav{display:flex;gap:12px}\
header.top a{color:#cfe0ff}\
header.top .who{margin-left:auto;color:#c4cad6}\
form.logout{margin:0}\
main{max-width:1180px;margin:0 auto;padding:20px 24px}\
h1{font-size:1.4rem;margin:.4em 0 .8em}\
h2{font-size:1.1rem;margin:1.4em 0 .6em}\
table{border-collapse:collapse;width:100%;background:#fff}\
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #e2e6ec;vertical-align:top}\
th{background:#eef1f5;font-weight:600}\
form.search{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:10px;align-items:end;margin-bottom:16px}\
label{display:flex;flex-direction:column;font-size:.85rem;color:#4a5365;gap:3px}\
input,select,button{font:inherit;padding:5px 8px;border:1px solid #b8c0cc;border-radius:4px}\
button{background:#2356c7;color:#fff;border-color:#2356c7;cursor:pointer}\
form.logout button{background:transparent;border-color:#8a93a5}\
form.inline{display:inline}\
.notice{padding:8px 12px;border-radius:4px;margin:10px 0}\
.notice.ok{background:#e3f4e8;border:1px solid #8cc79d}\
.notice.error{background:#fbe7e7;border:1px solid #de9a9a}\
.message{font-size:1.05rem}\
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px;background:#fff;padding:12px;margin:0}\
dl.facts dt{color:#4a5365}\
ol.timeline{list-style:none;margin:0;padding:0;border-left:3px solid #b8c0cc}\
ol.timeline li{margin:0 0 10px 0;padding:4px 12px;position:relative;background:#fff}\
ol.timeline .at{color:#4a5365;font-size:.85rem;margin-right:8px}\
ol.timeline .what{font-weight:600}\
ol.timeline pre{white-space:pre-wrap;word-break:break-all;background:#f4f6f9;padding:6px;margin:4px 0 0;font-size:.8rem}\
.pager{display:flex;gap:12px;margin:12px 0}\
.chart{background:#fff;margin:6px 0 4px;max-width:100%;height:auto}\
.chart .bar{fill:#7da2e8}\
.chart .rate{fill:none;stroke:#1f8a4c;stroke-width:2}\
.chart .axis{stroke:#8a93a5;stroke-width:1}\
.chart text{font-size:11px;fill:#4a5365}\
.legend{font-size:.85rem;color:#4a5365}\
.login{max-width:360px;margin:40px auto;background:#fff;padding:20px;display:flex;flex-direction:column;gap:12px}\
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_page_escapes_and_loads_nothing_from_elsewhere() {
        let page = message_page("Not Found", "<script>x</script>").into_string();
        assert!(page.starts_with("<!DOCTYPE html>"));
        assert!(!page.contains("<script>"));
        assert!(page.contains("&lt;script&gt;"));
        assert!(page.contains("href=\"/console/console.css\""));
        assert!(!page.contains("http"), "no absolute URL in a page: {page}");
    }
}
