//! The subscriber's consent page, reached from the SMS link.
//!
//! Plain HTML forms and no script, like the payment page: the basket with
//! prices (removable items can be taken out), a delivery address when the
//! order is delivered, a billing or e-bill address when billing is
//! required, and the one-time code from the SMS. Approving charges,
//! reserves, or continues to the card page, as the channel says.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header::USER_AGENT;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use maud::{html, Markup};
use payhub_app::carrier_billing::basket::BasketJson;
use payhub_app::carrier_billing::consent::{self as use_case, ConsentForm};
use payhub_app::lang::Lang;
use payhub_app::{AppError, Services};
use payhub_core::carrier_billing::basket::Basket;
use payhub_core::{Money, PaymentId, TelcoState};
use payhub_store::TelcoTransaction;

use super::document;
use crate::page::layout::{from_user_agent, Layout};
use crate::page::view::{message_page, shell};
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

/// The transaction a consent link names, if the link is genuine.
async fn transaction_of(
    state: &AppState,
    payment_id: &str,
    token: &str,
) -> Result<TelcoTransaction, Response> {
    let not_found = || {
        page(
            StatusCode::NOT_FOUND,
            message_page(
                Lang::En,
                "Link not valid",
                "This consent link is not valid.",
            ),
        )
    };
    let id: i64 = payment_id.parse().map_err(|_| not_found())?;
    if !state.master_key.consent_token_matches(id, token) {
        return Err(not_found());
    }
    let id = PaymentId::from_i64(id).ok_or_else(not_found)?;
    match state.store.find_telco_transaction(id).await {
        Ok(Some(transaction)) => Ok(transaction),
        Ok(None) => Err(not_found()),
        Err(error) => {
            tracing::error!(error.cause_chain = ?error, "cannot read a telco transaction");
            Err(page(
                StatusCode::INTERNAL_SERVER_ERROR,
                message_page(
                    Lang::En,
                    "Try again",
                    "Something went wrong; please try again.",
                ),
            ))
        }
    }
}

fn layout_of(headers: &HeaderMap) -> Layout {
    from_user_agent(headers.get(USER_AGENT).and_then(|v| v.to_str().ok()))
}

fn amount(minor: i64, basket: &Basket) -> String {
    match basket.currency() {
        Ok(currency) => Money::from_minor(minor, currency)
            .map(|m| format!("{} {}", m.to_decimal(), currency.code()))
            .unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// The consent form, with an error line when a submission was refused.
fn form_page(transaction: &TelcoTransaction, layout: Layout, error: Option<&str>) -> Markup {
    let basket = Basket::from_json(&transaction.basket).unwrap_or(Basket {
        currency: String::new(),
        items: Vec::new(),
    });
    let total = basket.total().map(|t| t.amount_minor()).unwrap_or_default();
    let body = html! {
        header.brand { span.gateway { "payhub" } }
        section.pay #consent data-transaction=(transaction.transaction_id) {
            h2 { "Approve your payment" }
            p { "Charged to the line " strong #msisdn { (transaction.msisdn) } "." }
            @if let Some(error) = error {
                p.error #error role="alert" { (error) }
            }
            form method="post" {
                table #basket {
                    thead { tr { th { "Item" } th { "Qty" } th { "Price" } th { "Remove" } } }
                    tbody {
                        @for item in &basket.items {
                            tr data-item=(item.id) {
                                td { (item.name) }
                                td { (item.count) }
                                td { (amount(item.unit_price_minor.saturating_mul(item.count), &basket)) }
                                td {
                                    @if item.is_removable {
                                        input type="checkbox" name="remove" value=(item.id)
                                            aria-label={ "Remove " (item.name) };
                                    }
                                }
                            }
                        }
                    }
                }
                p #total { "Total: " strong { (amount(total, &basket)) } " (less any item you remove)" }
                @if transaction.is_deliverable {
                    label for="delivery_address" { "Delivery address" }
                    textarea #delivery_address name="delivery_address" required rows="2" {}
                }
                @if transaction.is_billing_required {
                    label for="billing_address" { "Billing or e-bill address" }
                    textarea #billing_address name="billing_address" required rows="2" {}
                }
                label for="otp" { "Code from the SMS" }
                input #otp name="otp" inputmode="numeric" autocomplete="one-time-code" maxlength="6" required;
                button #approve .button type="submit" name="action" value="approve" { "Approve" }
            }
            form method="post" {
                button #decline .button.secondary type="submit" name="action" value="decline" { "Decline" }
            }
        }
    };
    shell(Lang::En, layout, "Approve your payment", None, body)
}

/// An HTML answer.
fn page(status: StatusCode, markup: Markup) -> Response {
    (status, Html(markup.into_string())).into_response()
}

/// What the subscriber sees once the consent is settled.
fn outcome_page(state: TelcoState) -> Response {
    let (title, message) = match state {
        TelcoState::Reserved => ("Approved", "The amount is reserved on your bill."),
        TelcoState::Committed | TelcoState::Charged => ("Paid", "The payment is complete."),
        TelcoState::Released => (
            "Released",
            "The reservation was released; nothing was charged.",
        ),
        TelcoState::Rejected => (
            "Declined",
            "You declined this payment; nothing was charged.",
        ),
        TelcoState::Expired => ("Expired", "This request expired; nothing was charged."),
        TelcoState::Failed => (
            "Not paid",
            "The payment could not be made; nothing was charged.",
        ),
        TelcoState::SmsFailed => (
            "Not sent",
            "The code for this payment could not be sent; nothing was charged.",
        ),
        TelcoState::ConsentRequested | TelcoState::AwaitingCard => {
            ("Waiting", "This payment is waiting for you.")
        }
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
        shell(Lang::En, Layout::Desktop, title, None, body),
    )
}

/// `GET /consent/{id}/{token}`.
pub async fn show(
    State(state): State<AppState>,
    Path((payment_id, token)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let transaction = match transaction_of(&state, &payment_id, &token).await {
        Ok(t) => t,
        Err(response) => return response,
    };
    match transaction.state {
        TelcoState::ConsentRequested
            if transaction.deadline.is_none_or(|d| d > chrono::Utc::now()) =>
        {
            page(
                StatusCode::OK,
                form_page(&transaction, layout_of(&headers), None),
            )
        }
        TelcoState::ConsentRequested => outcome_page(TelcoState::Expired),
        TelcoState::AwaitingCard => {
            Redirect::to(&crate::page::payment_path(&state, transaction.payment_id)).into_response()
        }
        other => outcome_page(other),
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
    let transaction = match transaction_of(&state, &payment_id, &token).await {
        Ok(t) => t,
        Err(response) => return response,
    };
    let here = format!("/consent/{payment_id}/{token}");
    let (action, form) = read_form(&body);
    let result = match action.as_str() {
        "decline" => use_case::decline(&state, &transaction).await,
        "approve" => use_case::approve(&state, &transaction, form, document::after_removal).await,
        _ => Err(AppError::ConsentInvalid("choose Approve or Decline".into())),
    };
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
            let message = format!("That code is not right. {left} attempts left.");
            page(
                StatusCode::UNPROCESSABLE_ENTITY,
                form_page(&fresh, layout_of(&headers), Some(&message)),
            )
        }
        Refusal::Form(message) => page(
            StatusCode::UNPROCESSABLE_ENTITY,
            form_page(&transaction, layout_of(&headers), Some(&message)),
        ),
        Refusal::Failed => page(
            StatusCode::INTERNAL_SERVER_ERROR,
            message_page(
                Lang::En,
                "Try again",
                "Something went wrong; please try again.",
            ),
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
    /// The form again (422), with this message to the subscriber.
    Form(String),
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
        AppError::ConsentInvalid(message) => Refusal::Form(message),
        AppError::CarrierUnavailable => {
            Refusal::Form("the carrier did not answer; please try again".into())
        }
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
            Refusal::Form("choose Approve or Decline".into()),
            Refusal::Failed,
            Refusal::Failed,
            Refusal::Form("the carrier did not answer; please try again".into()),
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
