//! The HTML document around every page: head, inline stylesheet, header,
//! receipt footer and the sandbox hint.

use super::*;

/// The sale summary and footer around a page state's `content`.
pub(super) fn document(view: &SaleView, refresh: Option<&str>, content: Markup) -> Markup {
    let t = i18n::texts(view.lang);
    let gateway = view.gateway.lang_description(view.lang);
    let title = format!("{} · {}", t.page_title, gateway);
    let body = html! {
        header.brand data-gateway=(view.gateway.code()) {
            span.label { (t.pay_with) }
            span.gateway { (gateway) }
        }
        section.summary {
            div.label { (t.amount) }
            div.amount #amount {
                span.currency { (view.amount.currency().code()) }
                " "
                span.value { (view.amount.to_decimal()) }
            }
            @if let Some(credit) = view.credit_used {
                p.credit-used #credit-used {
                    (t.credit_used) ": "
                    span.currency { (credit.currency().code()) }
                    " "
                    span.value { (credit.to_decimal()) }
                }
            }
            @if view.seller.is_some() || view.subject.is_some() {
                dl.details {
                    @if let Some(seller) = view.seller {
                        div { dt { (t.seller) } dd #seller { (seller) } }
                    }
                    @if let Some(subject) = view.subject {
                        div { dt { (t.subject) } dd #subject { (subject) } }
                    }
                }
            }
        }
        (content)
        footer {
            (t.reference) ": " span #rrn { (view.rrn) }
        }
    };
    shell(view.lang, view.layout, &title, refresh, body)
}

/// The HTML5 document: head, inline stylesheet and the layout's body class.
pub(crate) fn shell(
    lang: Lang,
    layout: Layout,
    title: &str,
    refresh: Option<&str>,
    body: Markup,
) -> Markup {
    shell_in(lang.html_tag(), layout, title, refresh, body)
}

/// [`shell`] for a page in a language the hosted pages do not have (the
/// telco consent page's Turkish): `html_tag` is its HTML `lang` attribute.
pub(crate) fn shell_in(
    html_tag: &str,
    layout: Layout,
    title: &str,
    refresh: Option<&str>,
    body: Markup,
) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(html_tag) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                // The page URL identifies a sale; keep it out of other sites' logs.
                meta name="referrer" content="no-referrer";
                meta name="robots" content="noindex, nofollow";
                @if let Some(seconds) = refresh {
                    meta http-equiv="refresh" content=(seconds);
                }
                title { (title) }
                style { (PreEscaped(STYLESHEET)) }
            }
            body class=(layout.class()) {
                main { (body) }
            }
        }
    }
}

/// The sandbox note box, visibly apart from the real payment content.
pub(super) fn sandbox_box(t: &Texts, hint: Option<&str>) -> Markup {
    html! {
        @if let Some(hint) = hint {
            aside.sandbox #sandbox {
                strong { (t.sandbox) }
                p { (hint) }
            }
        }
    }
}

/// The whole stylesheet. Desktop is a centred card; mobile a full-width
/// column with larger controls. A desktop page on a narrow screen falls back
/// to the mobile arrangement, in case the `User-Agent` guess was wrong.
/// Constant text of this module only, so it is safe to embed unescaped.
pub(crate) const STYLESHEET: &str = r#"
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:#f1f3f6;color:#1d2433;line-height:1.5;
 font-family:-apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,"Helvetica Neue",Arial,"PingFang HK","PingFang SC","Microsoft JhengHei","Microsoft YaHei",sans-serif}
main{background:#fff}
body.desktop main{width:480px;max-width:100%;margin:48px auto;border:1px solid #e2e6ec;border-radius:12px;box-shadow:0 6px 24px rgba(20,30,50,.08);overflow:hidden}
body.mobile main{min-height:100vh}
header.brand{display:flex;align-items:baseline;gap:8px;padding:16px 24px;border-bottom:1px solid #e2e6ec;background:#fafbfc}
header.brand .label{color:#6b7385;font-size:.9rem}
header.brand .gateway{font-weight:600}
.summary{padding:24px 24px 8px;text-align:center}
.summary .label{color:#6b7385;font-size:.9rem}
.amount{font-size:2.25rem;font-weight:700;letter-spacing:.01em;font-variant-numeric:tabular-nums}
.amount .currency{font-size:1.1rem;font-weight:600;color:#6b7385;vertical-align:.5em}
dl.details{margin:12px 0 0;text-align:left;border-top:1px solid #eef0f4}
dl.details div{display:flex;justify-content:space-between;gap:16px;padding:8px 0;border-bottom:1px solid #eef0f4}
dt{color:#6b7385}
dd{margin:0;text-align:right;overflow-wrap:anywhere}
.pay{padding:16px 24px 24px;text-align:center}
.pay h2{font-size:1.15rem;margin:8px 0 16px}
.qr svg{display:block;width:240px;max-width:100%;height:auto;margin:8px auto;border:1px solid #e2e6ec;border-radius:8px}
.scan{font-size:1.1rem;font-weight:600;margin:8px 0 4px}
.countdown{color:#8a4b00;margin:4px 0}
#countdown{font-weight:700;font-variant-numeric:tabular-nums}
.waiting{color:#6b7385;font-size:.9rem}
.dot{display:inline-block;width:8px;height:8px;margin-right:6px;border-radius:50%;background:#1a7f5a;animation:pulse 1.2s ease-in-out infinite}
@keyframes pulse{50%{opacity:.25}}
form{text-align:left}
.field{margin:0 0 14px;flex:1}
.row{display:flex;gap:12px}
label{display:block;font-size:.9rem;font-weight:600;margin:0 0 4px}
.optional{color:#6b7385;font-weight:400}
input{width:100%;padding:10px 12px;font-size:1rem;border:1px solid #c9cfd8;border-radius:8px;background:#fff;color:inherit}
input:focus{outline:2px solid #2563eb;outline-offset:1px;border-color:#2563eb}
input[aria-invalid=true]{border-color:#c0262d}
.credit-used{color:#3b4354;font-size:.95rem;margin:4px 0 0}
.notice{color:#3b4354;font-size:.9rem;margin:0 0 8px}
.error{color:#c0262d;font-size:.9rem;margin:4px 0 0}
.button{display:block;width:100%;padding:12px 16px;margin-top:8px;border:0;border-radius:8px;background:#1d4ed8;color:#fff;font-size:1.05rem;font-weight:600;text-align:center;text-decoration:none;cursor:pointer}
.button:hover{background:#1e40af}
.prompt{color:#3b4354;text-align:left}
.spinner{width:40px;height:40px;margin:16px auto;border:4px solid #dbe2ea;border-top-color:#1d4ed8;border-radius:50%;animation:spin 1s linear infinite}
@keyframes spin{to{transform:rotate(360deg)}}
.result .icon{width:56px;height:56px;margin:8px auto;border-radius:50%;font-size:1.8rem;line-height:56px;color:#fff;background:#6b7385}
.result.paid .icon{background:#1a7f5a}
.result.declined .icon{background:#c0262d}
.result.expired .icon,.result.canceled .icon{background:#b26a00}
.sandbox{margin:0 24px 24px;padding:12px 16px;border:2px dashed #b26a00;border-radius:8px;background:#fff8e6;color:#5c3b00;text-align:left;font-size:.9rem}
.sandbox strong{display:block;text-transform:uppercase;letter-spacing:.05em;font-size:.8rem}
.sandbox p{margin:4px 0 0;overflow-wrap:anywhere}
.message{padding:32px 24px}
footer{padding:12px 24px;border-top:1px solid #eef0f4;color:#8a91a1;font-size:.75rem;text-align:center;overflow-wrap:anywhere}
.brand{font-weight:600;color:#2b59c3}
.cancel{text-align:center;margin-top:12px}
.link{background:none;border:0;color:#2b59c3;text-decoration:underline;cursor:pointer;font:inherit;padding:4px}
.receipt{text-align:left;margin:16px 0 0;padding:12px 16px;background:#f7f8fa;border-radius:8px}
.receipt div{display:flex;justify-content:space-between;gap:12px;padding:2px 0}
.receipt dt{color:#5b6476}
.receipt dd{margin:0;font-weight:600;overflow-wrap:anywhere}
body.mobile{background:#fff}
body.mobile .amount{font-size:2.6rem}
body.mobile input{padding:14px;font-size:1.1rem;min-height:52px}
body.mobile .button{padding:16px;min-height:56px;font-size:1.15rem}
body.mobile .qr svg{width:280px}
.button.secondary{background:#fff;color:#1d4ed8;border:1px solid #b8c2d3}
.button.secondary:hover{background:#f1f4fa}
.decline{margin-top:4px}
.expires{color:#8a4b00;margin:8px 0 0;font-size:.95rem}
table.basket{width:100%;border-collapse:collapse;margin:0 0 8px;font-size:.95rem}
table.basket th{text-align:left;font-size:.8rem;font-weight:600;color:#6b7385;padding:6px 4px;border-bottom:1px solid #e2e6ec}
table.basket td{padding:10px 4px;border-bottom:1px solid #eef0f4;vertical-align:top}
table.basket .num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
table.basket .remove{text-align:center;width:3.5rem}
table.basket .name{display:block;font-weight:600;overflow-wrap:anywhere}
table.basket .unit{display:block;color:#6b7385;font-size:.85rem}
table.basket tfoot th,table.basket tfoot td{border-bottom:0;font-size:1rem;color:inherit}
table.basket input[type=checkbox]{width:22px;height:22px;margin:0}
textarea{display:block;width:100%;margin:0 0 14px;padding:10px 12px;font:inherit;border:1px solid #c9cfd8;border-radius:8px}
body.mobile textarea{padding:14px;font-size:1.1rem}
@media (max-width:520px){body.desktop main{margin:0;border:0;border-radius:0;box-shadow:none;min-height:100vh}}
"#;
