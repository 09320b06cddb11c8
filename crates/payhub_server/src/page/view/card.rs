//! The card pages: the form (with what the customer typed kept after an
//! error) and its one script.

use super::*;

/// The card form of the VMPAY and UNIONPAY gateways, posting to `action`.
///
/// After a refused submission `error` names the bad field and its message is
/// shown there. The number and CVC the customer typed are never echoed back:
/// they must not appear in any response. See [`card_form_page`] for the full
/// form with the typed values kept, the time left and the cancel button.
pub fn card_page(view: &SaleView, action: &str, error: Option<&CardError>) -> Markup {
    let errors: Vec<CardError> = error.copied().into_iter().collect();
    card_form_page(
        view,
        &CardFormView {
            action,
            errors: &errors,
            ..CardFormView::default()
        },
    )
}

/// What the card form shows besides the sale: where it posts, the problems
/// of the last submission and what of it may be shown again.
///
/// There is deliberately no field for the card number or the CVC: the server
/// never writes them into a page (PCI DSS: the full number is never stored,
/// logged or echoed). The number survives a mistake in the expiry another
/// way: the expiry field carries an HTML5 `pattern`, so the browser itself
/// refuses a malformed expiry before anything is sent, and the number the
/// customer typed stays in the field (no script needed). A mistake only the
/// server can see (an expired card, a bad number or CVC) comes back with
/// every message at its field and the expiry and holder kept; the number and
/// CVC must then be typed again.
#[derive(Clone, Copy, Debug, Default)]
pub struct CardFormView<'a> {
    /// Where the card form posts.
    pub action: &'a str,
    /// Every problem of the refused submission, each shown at its field.
    pub errors: &'a [CardError],
    /// The expiry as typed, shown again after a refused submission.
    pub expiry: &'a str,
    /// The card holder's name as typed, shown again after a refused submission.
    pub holder: &'a str,
    /// Seconds until the payment expires, when known.
    pub seconds_left: Option<i64>,
    /// Where the cancel button posts, when the customer may cancel here.
    pub cancel_action: Option<&'a str>,
    /// The last card was declined and the customer may use another: the
    /// decline is said next to the form, whose heading asks for another
    /// card. The form is empty of card data as always.
    pub declined: bool,
}

/// What the expiry field accepts before the form may be sent: a month 1–12
/// and a two- or four-digit year, with an optional `/` (`12/29`, `1/2029`,
/// `1229`). The server's check ([`payhub_app::card::Expiry::parse`]) stays the
/// rule; this only lets the browser catch a typo without a round trip.
pub const EXPIRY_PATTERN: &str = r"\s*(0?[1-9]|1[0-2])\s*/?\s*([0-9]{2}|[0-9]{4})\s*";

/// The card form with everything [`CardFormView`] carries.
pub fn card_form_page(view: &SaleView, form: &CardFormView) -> Markup {
    let t = i18n::texts(view.lang);
    let field_errors = |field: CardField| -> Vec<CardError> {
        form.errors
            .iter()
            .copied()
            .filter(|e| CardField::of(*e) == field)
            .collect()
    };
    let first_error = form.errors.first().copied();
    let messages = |field: CardField| error_messages(t, &field_errors(field), first_error);
    let invalid = |field: CardField| (!field_errors(field).is_empty()).then_some("true");
    let body = html! {
        section.pay.card-pay {
            @if form.declined {
                h2 #card-heading { (t.use_another_card) }
                p.error #card-declined role="alert" { (t.card_declined) }
            } @else {
                h2 #card-heading { (t.card_details) }
            }
            @if let Some(seconds) = form.seconds_left {
                (time_left(t, seconds))
            }
            form method="post" action=(form.action) autocomplete="on" {
                div.field {
                    label for="number" {
                        (t.card_number) " "
                        // Filled in by BRAND_SCRIPT as the number is typed.
                        span.brand #brand hidden aria-live="polite" {}
                    }
                    input #number type="text" name="number" inputmode="numeric"
                        autocomplete="cc-number" maxlength="23" required
                        aria-invalid=[invalid(CardField::Number)];
                    (messages(CardField::Number))
                }
                div.row {
                    div.field {
                        label for="expiry" { (t.expiry) }
                        input #expiry type="text" name="expiry" inputmode="numeric"
                            autocomplete="cc-exp" placeholder="MM/YY" maxlength="7" required
                            pattern=(EXPIRY_PATTERN) title=(t.error_expiry)
                            value=[kept(form.expiry)]
                            aria-invalid=[invalid(CardField::Expiry)];
                        (messages(CardField::Expiry))
                    }
                    div.field {
                        label for="cvc" { (t.cvc) }
                        input #cvc type="text" name="cvc" inputmode="numeric"
                            autocomplete="cc-csc" maxlength="4" required
                            aria-invalid=[invalid(CardField::Cvc)];
                        (messages(CardField::Cvc))
                    }
                }
                div.field {
                    label for="holder" {
                        (t.holder) " " span.optional { "(" (t.optional) ")" }
                    }
                    input #holder type="text" name="holder" autocomplete="cc-name" maxlength="100"
                        value=[kept(form.holder)];
                }
                @if view.saves_card {
                    p.notice #save-card { (t.card_will_be_saved) }
                }
                button #pay .button type="submit" {
                    (t.pay_button) " "
                    span.pay-amount {
                        (view.amount.currency().code()) " " (view.amount.to_decimal())
                    }
                }
            }
            @if let Some(cancel) = form.cancel_action {
                form.cancel method="post" action=(cancel) {
                    button #cancel .link type="submit" { (t.cancel) }
                }
            }
            script { (PreEscaped(BRAND_SCRIPT)) }
        }
    };
    document(view, None, body)
}

/// A typed value to show again, or nothing when the customer left it empty.
fn kept(value: &str) -> Option<&str> {
    (!value.trim().is_empty()).then_some(value)
}

/// "Closes in m:ss", as the QR page says it: the time left when the page was
/// sent (the card page does not reload itself, so what was typed stays).
fn time_left(t: &Texts, seconds_left: i64) -> Markup {
    let (before, after) = t
        .closes_in
        .split_once(TIME_PLACEHOLDER)
        .unwrap_or((t.closes_in, ""));
    html! {
        p.countdown #time-left {
            (before) span #countdown { (i18n::remaining_time(seconds_left)) } (after)
        }
    }
}

/// Progressive enhancement of the card form: names the card's brand next to
/// the number label as it is typed. Constant text of this module, allowed by
/// its hash in the page's Content-Security-Policy (see
/// [`crate::page::headers`]); no inline handler, nothing loaded. Without
/// script the label simply stays hidden. The prefixes are those of
/// [`payhub_app::card::CardBrand`]. It contains no `<`, so it cannot close its
/// own element.
pub(crate) const BRAND_SCRIPT: &str = "(function(){\
var n=document.getElementById('number'),b=document.getElementById('brand');\
if(!n||!b)return;\
function brand(v){v=v.replace(/[^0-9]/g,'');var two=+v.slice(0,2),four=+v.slice(0,4);\
if(v.charAt(0)==='4')return'Visa';\
if((two>=51&&55>=two)||(four>=2221&&2720>=four))return'Mastercard';\
if(two===34||two===37)return'American Express';\
if(two===62)return'UnionPay';return'';}\
function show(){var name=brand(n.value);b.textContent=name;b.hidden=!name;}\
n.addEventListener('input',show);show();})();";

/// The card field a [`CardError`] belongs to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum CardField {
    Number,
    Expiry,
    Cvc,
}

impl CardField {
    /// The field's form name, used in `data-field`.
    fn code(self) -> &'static str {
        match self {
            CardField::Number => "number",
            CardField::Expiry => "expiry",
            CardField::Cvc => "cvc",
        }
    }

    fn of(error: CardError) -> CardField {
        match error {
            CardError::Number => CardField::Number,
            CardError::Expiry | CardError::Expired => CardField::Expiry,
            CardError::Cvc => CardField::Cvc,
        }
    }
}

/// The localized messages under a refused card field; nothing when the
/// field is fine. The first problem of the form carries `id="card-error"`
/// and `role="alert"`, so a screen reader announces it; every message names
/// its field in `data-field`.
fn error_messages(t: &Texts, errors: &[CardError], first: Option<CardError>) -> Markup {
    html! {
        @for error in errors {
            @let message = match error {
                CardError::Number => t.error_number,
                CardError::Expiry => t.error_expiry,
                CardError::Expired => t.error_expired,
                CardError::Cvc => t.error_cvc,
            };
            @let field = CardField::of(*error).code();
            @if Some(*error) == first {
                p.error #card-error role="alert" data-field=(field) { (message) }
            } @else {
                p.error data-field=(field) { (message) }
            }
        }
    }
}
