//! The subscriber's consent page, reached from the SMS link.
//!
//! Plain HTML forms and no script, like the payment page, in the request's
//! `language` ([`consent_text`](super::consent_text): Turkish, English,
//! the hosted pages' Chinese variants; English otherwise): who asks (the
//! service's name), the basket with each item's count, unit price and line
//! total (removable items can be taken out), the total, until when the
//! subscriber may consent, a delivery address when the order is delivered,
//! a billing or e-bill address when billing is required, and the one-time
//! code from the SMS. Approve is the primary button, Decline a secondary
//! one. A refused form comes back with what the subscriber typed and the
//! error in their language. Approving charges, reserves, or continues to
//! the card page, as the channel says. The stylesheet is the hosted pages'
//! (inline, allowed by its hash in the page's CSP).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header::USER_AGENT;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use maud::{html, Markup};
use payhub_app::carrier_billing::basket::BasketJson;
use payhub_app::carrier_billing::consent::{self as use_case, ConsentForm};
use payhub_app::{AppError, Services};
use payhub_core::carrier_billing::basket::Basket;
use payhub_core::{Money, PaymentId, TelcoState};
use payhub_store::TelcoTransaction;

use super::consent_text::{FormError, SubscriberLang};
use super::document;
use crate::page::layout::{from_user_agent, Layout};
use crate::page::view::shell_in;
use crate::state::AppState;

/// The consent page's address, sent to the subscriber.
pub fn consent_url(state: &Services, payment_id: PaymentId) -> String {
    format!(
        "{}/consent/{}/{}",
        state.config.public_base_url,
        payment_id.get(),
        state.master_key.consent_token(payment_id.get())
    )
}

/// The transaction a consent link names, if the link is genuine (`None`:
/// it is not). Shared with the rate limit's page, which speaks the
/// transaction's language too.
pub(super) async fn genuine_transaction(
    state: &AppState,
    payment_id: &str,
    token: &str,
) -> Result<Option<TelcoTransaction>, payhub_store::StoreError> {
    let Ok(id) = payment_id.parse::<i64>() else {
        return Ok(None);
    };
    if !state.master_key.consent_token_matches(id, token) {
        return Ok(None);
    }
    let Some(id) = PaymentId::from_i64(id) else {
        return Ok(None);
    };
    state.store.find_telco_transaction(id).await
}

/// The transaction a consent link names; otherwise the page to answer, in
/// the browser's language (no transaction names one).
async fn transaction_of(
    state: &AppState,
    payment_id: &str,
    token: &str,
    headers: &HeaderMap,
) -> Result<TelcoTransaction, Response> {
    let lang = browser_lang(headers);
    match genuine_transaction(state, payment_id, token).await {
        Ok(Some(transaction)) => Ok(transaction),
        Ok(None) => Err(page(
            StatusCode::NOT_FOUND,
            message_in(lang, lang.texts().link_invalid),
        )),
        Err(error) => {
            tracing::error!(error.cause_chain = ?error, "cannot read a telco transaction");
            Err(page(
                StatusCode::INTERNAL_SERVER_ERROR,
                message_in(lang, lang.texts().try_again),
            ))
        }
    }
}

/// The browser's language, for a page no transaction names.
pub(super) fn browser_lang(headers: &HeaderMap) -> SubscriberLang {
    SubscriberLang::from_accept_language(
        headers
            .get(axum::http::header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    )
}

fn layout_of(headers: &HeaderMap) -> Layout {
    from_user_agent(headers.get(USER_AGENT).and_then(|v| v.to_str().ok()))
}

/// The language the subscriber asked for in the request (English if none or unknown).
fn lang_of(transaction: &TelcoTransaction) -> SubscriberLang {
    SubscriberLang::from_request(transaction.language.as_deref())
}

/// The calling service's name as payhub knows it (the merchant's), shown
/// so the subscriber knows who asks; `None` if it cannot be read.
async fn seller_of(state: &AppState, transaction: &TelcoTransaction) -> Option<String> {
    match state.store.find_merchant(&transaction.merchant_id).await {
        Ok(merchant) => merchant.map(|m| m.name).filter(|n| !n.trim().is_empty()),
        Err(error) => {
            tracing::warn!(error.cause_chain = ?error, "cannot read the service's name");
            None
        }
    }
}

/// What the consent form shows: the transaction, who asks, the subscriber's
/// language and layout, and after a refused submission the error and what
/// the subscriber had typed (kept, so nothing has to be entered again).
struct FormView<'a> {
    transaction: &'a TelcoTransaction,
    seller: Option<&'a str>,
    lang: SubscriberLang,
    layout: Layout,
    error: Option<&'a str>,
    typed: &'a ConsentForm,
}

/// The consent form, with an error line when a submission was refused.
fn form_page(view: &FormView) -> Markup {
    let FormView {
        transaction,
        seller,
        lang,
        layout,
        error,
        typed,
    } = *view;
    let t = lang.texts();
    let basket = Basket::from_json(&transaction.basket).unwrap_or(Basket {
        currency: String::new(),
        items: Vec::new(),
    });
    let currency = basket.currency().ok();
    let written = |minor: Option<i64>| {
        minor
            .zip(currency)
            .and_then(|(minor, currency)| Money::from_minor(minor, currency).ok())
            .map(|money| lang.amount(money))
            .unwrap_or_default()
    };
    let items: Vec<_> = basket.items.iter().filter(|item| !item.removed).collect();
    let removable = items.iter().any(|item| item.is_removable);
    let total = written(basket.total().ok().map(|t| t.amount_minor()));
    let wrong = error.is_some();
    let body = html! {
        header.brand { span.gateway { "payhub" } }
        section.summary #summary {
            div.label { (t.total) }
            div.amount #amount { (total) }
            dl.details {
                @if let Some(seller) = seller {
                    div { dt { (t.seller) } dd #seller { (seller) } }
                }
                div { dt { (t.line) } dd #msisdn { (transaction.msisdn) } }
            }
            @if let Some(deadline) = transaction.deadline {
                p.expires #expires { (lang.expires(deadline, chrono::Utc::now())) }
            }
        }
        section.pay #consent data-transaction=(transaction.transaction_id) {
            h2 { (t.heading) }
            @if let Some(error) = error {
                p.error #error role="alert" { (error) }
            }
            form method="post" {
                table.basket #basket {
                    thead {
                        tr {
                            th scope="col" { (t.item) }
                            th.num scope="col" { (t.line_total) }
                            @if removable { th.remove scope="col" { (t.remove) } }
                        }
                    }
                    tbody {
                        @for item in &items {
                            tr data-item=(item.id) {
                                td.item {
                                    span.name { (item.name) }
                                    span.unit {
                                        span.count { (item.count) } " × "
                                        span.unit-price { (written(Some(item.unit_price_minor))) }
                                    }
                                }
                                td.num.line-total {
                                    (written(item.unit_price_minor.checked_mul(item.count)))
                                }
                                @if removable {
                                    td.remove {
                                        @if item.is_removable {
                                            input type="checkbox" name="remove" value=(item.id)
                                                checked[typed.removed.contains(&item.id)]
                                                aria-label={ (t.remove_item) " " (item.name) };
                                        }
                                    }
                                }
                            }
                        }
                    }
                    tfoot {
                        tr {
                            th scope="row" { (t.total) }
                            td.num #total { strong { (total) } }
                            @if removable { td {} }
                        }
                    }
                }
                @if removable {
                    p.notice #total-note { (t.total_note) }
                }
                @if transaction.is_deliverable {
                    label for="delivery_address" { (t.delivery_address) }
                    textarea #delivery_address name="delivery_address" required rows="2" {
                        (typed.delivery_address.as_deref().unwrap_or_default())
                    }
                }
                @if transaction.is_billing_required {
                    label for="billing_address" { (t.billing_address) }
                    textarea #billing_address name="billing_address" required rows="2" {
                        (typed.billing_address.as_deref().unwrap_or_default())
                    }
                }
                label for="otp" { (t.code) }
                input #otp name="otp" inputmode="numeric" autocomplete="one-time-code"
                    maxlength="6" required value=(typed.otp)
                    aria-invalid=[wrong.then_some("true")];
                button #approve .button type="submit" name="action" value="approve" { (t.approve) }
            }
            form.decline method="post" {
                button #decline .button.secondary type="submit" name="action" value="decline" { (t.decline) }
            }
        }
    };
    shell_in(lang.html_tag(), layout, t.page_title, None, body)
}

/// An HTML answer.
fn page(status: StatusCode, markup: Markup) -> Response {
    (status, Html(markup.into_string())).into_response()
}

/// A page with a title and a message in the subscriber's language.
pub(super) fn message_in(lang: SubscriberLang, (title, message): (&str, &str)) -> Markup {
    let body = html! {
        header.brand { span.gateway { "payhub" } }
        section.pay.message #message {
            h2 { (title) }
            p { (message) }
        }
    };
    shell_in(lang.html_tag(), Layout::Desktop, title, None, body)
}

/// What the subscriber sees once the consent is settled.
fn outcome_page(state: TelcoState, lang: SubscriberLang, layout: Layout) -> Response {
    let t = lang.texts();
    let (title, message) = match state {
        TelcoState::Reserved => t.reserved,
        TelcoState::Committed | TelcoState::Charged => t.paid,
        TelcoState::Released => t.released,
        TelcoState::Rejected => t.declined,
        TelcoState::Expired => t.expired,
        TelcoState::Failed => t.failed,
        TelcoState::SmsFailed => t.sms_failed,
        TelcoState::ConsentRequested | TelcoState::AwaitingCard => t.waiting,
    };
    let body = html! {
        header.brand { span.gateway { "payhub" } }
        section.pay.message #outcome data-state=(state.as_str()) {
            h2 { (title) }
            p { (message) }
        }
    };
    page(
        StatusCode::OK,
        shell_in(lang.html_tag(), layout, title, None, body),
    )
}

/// `GET /consent/{id}/{token}`.
pub async fn show(
    State(state): State<AppState>,
    Path((payment_id, token)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let transaction = match transaction_of(&state, &payment_id, &token, &headers).await {
        Ok(t) => t,
        Err(response) => return response,
    };
    let (lang, layout) = (lang_of(&transaction), layout_of(&headers));
    match transaction.state {
        TelcoState::ConsentRequested
            if transaction.deadline.is_none_or(|d| d > chrono::Utc::now()) =>
        {
            let seller = seller_of(&state, &transaction).await;
            let view = FormView {
                transaction: &transaction,
                seller: seller.as_deref(),
                lang,
                layout,
                error: None,
                typed: &ConsentForm::default(),
            };
            page(StatusCode::OK, form_page(&view))
        }
        TelcoState::ConsentRequested => outcome_page(TelcoState::Expired, lang, layout),
        TelcoState::AwaitingCard => {
            Redirect::to(&crate::page::payment_path(&state, transaction.payment_id)).into_response()
        }
        other => outcome_page(other, lang, layout),
    }
}

/// Reads the form body (`remove` may repeat).
fn read_form(body: &[u8]) -> (String, ConsentForm) {
    let mut action = String::new();
    let mut form = ConsentForm::default();
    for (key, value) in url::form_urlencoded::parse(body) {
        match key.as_ref() {
            "action" => action = value.into_owned(),
            "otp" => form.otp = value.into_owned(),
            "remove" => form.removed.push(value.into_owned()),
            "delivery_address" => form.delivery_address = Some(value.into_owned()),
            "billing_address" => form.billing_address = Some(value.into_owned()),
            _ => {}
        }
    }
    (action, form)
}

/// `POST /consent/{id}/{token}`: approve or decline.
pub async fn submit(
    State(state): State<AppState>,
    Path((payment_id, token)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let transaction = match transaction_of(&state, &payment_id, &token, &headers).await {
        Ok(t) => t,
        Err(response) => return response,
    };
    let here = format!("/consent/{payment_id}/{token}");
    let (action, form) = read_form(&body);
    // Shown again if the form is refused; the code only then, since it
    // was the subscriber's own (wrong or early) entry.
    let typed = form.clone();
    let result = match action.as_str() {
        "decline" => use_case::decline(&state, &transaction).await,
        "approve" => use_case::approve(&state, &transaction, form, document::after_removal).await,
        _ => Err(AppError::ConsentInvalid("choose Approve or Decline".into())),
    };
    let (lang, layout) = (lang_of(&transaction), layout_of(&headers));
    let refusal = match result {
        Ok(done) if done.state == TelcoState::AwaitingCard => {
            return Redirect::to(&crate::page::payment_path(&state, done.payment_id))
                .into_response()
        }
        Ok(_) => return Redirect::to(&here).into_response(),
        Err(error) => refusal(error),
    };
    match refusal {
        Refusal::Again => Redirect::to(&here).into_response(),
        Refusal::WrongCode(left) => {
            let fresh = state
                .store
                .find_telco_transaction(transaction.payment_id)
                .await
                .ok()
                .flatten()
                .unwrap_or(transaction);
            if fresh.state != TelcoState::ConsentRequested {
                return Redirect::to(&here).into_response();
            }
            let message = lang.wrong_code(left);
            let seller = seller_of(&state, &fresh).await;
            let view = FormView {
                transaction: &fresh,
                seller: seller.as_deref(),
                lang,
                layout,
                error: Some(&message),
                typed: &typed,
            };
            page(StatusCode::UNPROCESSABLE_ENTITY, form_page(&view))
        }
        Refusal::Form(error) => {
            let seller = seller_of(&state, &transaction).await;
            let view = FormView {
                transaction: &transaction,
                seller: seller.as_deref(),
                lang,
                layout,
                error: Some(error.text(lang)),
                typed: &typed,
            };
            page(StatusCode::UNPROCESSABLE_ENTITY, form_page(&view))
        }
        Refusal::Failed => page(
            StatusCode::INTERNAL_SERVER_ERROR,
            message_in(lang, lang.texts().try_again),
        ),
    }
}

/// How the consent page answers a consent it could not take.
#[derive(Debug, PartialEq, Eq)]
enum Refusal {
    /// Show the page again: it shows where the request now stands.
    Again,
    /// The code was wrong: the form again, with the attempts left.
    WrongCode(i64),
    /// The form again (422), with this error in the subscriber's language.
    Form(FormError),
    /// payhub failed (500): ask the subscriber to try again.
    Failed,
}

/// The consent page's answer to each use-case outcome, in one place.
/// Outcomes no consent can meet would be a wiring bug: logged, and
/// answered as payhub's own failure.
fn refusal(error: AppError) -> Refusal {
    match error {
        AppError::NotWaiting => Refusal::Again,
        AppError::WrongCode(left) => Refusal::WrongCode(left),
        AppError::ConsentInvalid(message) => Refusal::Form(FormError::of_message(&message)),
        AppError::CarrierUnavailable => Refusal::Form(FormError::CarrierUnavailable),
        AppError::Store(error) => {
            tracing::error!(error.cause_chain = ?error, "cannot record a consent");
            Refusal::Failed
        }
        unexpected @ (AppError::UnknownPayment(_)
        | AppError::DuplicateReference(_)
        | AppError::RefundRejected(_)
        | AppError::AlreadyEnded(_)
        | AppError::NotReserved { .. }
        | AppError::Busy
        | AppError::NoConnector(_)
        | AppError::GatewayUnavailable
        | AppError::BadNotification(_)
        | AppError::AmountRequired) => {
            tracing::error!(error = %unexpected, "consent met an outcome it cannot answer");
            Refusal::Failed
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every use-case outcome's consent-page answer, in `AppError::examples()` order.
    #[test]
    fn each_use_case_outcome_has_one_consent_answer() {
        let table = [
            Refusal::Failed,
            Refusal::Failed,
            Refusal::Failed,
            Refusal::Failed,
            Refusal::Failed,
            Refusal::Failed,
            Refusal::Again,
            Refusal::WrongCode(2),
            Refusal::Form(FormError::Other),
            Refusal::Failed,
            Refusal::Failed,
            Refusal::Form(FormError::CarrierUnavailable),
            Refusal::Failed,
            Refusal::Failed,
        ];
        // The last example: a refund without the amount a split needs.
        let table: Vec<_> = table.into_iter().chain([Refusal::Failed]).collect();
        let examples = AppError::examples();
        assert_eq!(examples.len(), table.len());
        for (error, expected) in examples.into_iter().zip(table) {
            assert_eq!(refusal(error), expected);
        }
    }
}
