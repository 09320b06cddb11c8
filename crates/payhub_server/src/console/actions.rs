//! What an operator can change: refund a payment, resend a delivery.
//!
//! Neither has a rule of its own. A refund is handed to TMF676's
//! `POST /refund` ([`crate::api_tmf676::create_refund`]) as the payment's
//! merchant, so the ledger's refund rules, the gateway or phone-bill routing,
//! the outbox event and the idempotency key all apply exactly as for an API
//! client. A resend is [`crate::deliveries::resend_delivery`], what
//! `/v1/deliveries/{id}/resend` calls.

use std::str::FromStr;

use axum::body::{to_bytes, Bytes};
use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use payhub_core::{Payment, PaymentId};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::ConsoleError;
use super::session::{CheckedForm, Signed};
use super::timeline::{find_visible_payment, payment_page, Notice};
use crate::api_tmf676::{self, extract::TmfMerchant};
use crate::state::AppState;

/// The largest TMF error body read back for its message.
const ERROR_BODY_LIMIT: usize = 64 * 1024;

#[derive(Deserialize)]
pub struct RefundForm {
    #[serde(default)]
    amount: String,
    /// The form's idempotency key: submitting the same form twice refunds once.
    #[serde(default)]
    key: String,
}

/// `POST /console/payments/{id}/refund`.
pub async fn refund_payment(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CheckedForm { signed, form }: CheckedForm<RefundForm>,
) -> Result<Response, ConsoleError> {
    let id: PaymentId = id
        .parse()
        .map_err(|_| ConsoleError::NotFound(format!("no payment {id}")))?;
    let payment = find_visible_payment(&state, &signed, id).await?;
    let (state, signed) = (&state, &signed);
    let failed = |message: String, status| async move {
        payment_page(state, signed, id, Some(Notice::Failed(message)), status).await
    };
    let Some(body) = refund_body(&payment, &form.amount, signed) else {
        let message = format!("'{}' is not an amount", form.amount.trim());
        return failed(message, StatusCode::UNPROCESSABLE_ENTITY).await;
    };
    match refund_through_tmf(state, &payment, &form.key, body).await? {
        Ok(()) => {
            tracing::info!(operator.id = %signed.operator.id, payment.id = %id, "console refund recorded");
            Ok(Redirect::to(&format!("/console/payments/{id}?done=refund")).into_response())
        }
        Err((status, message)) => failed(format!("Refund refused: {message}"), status).await,
    }
}

/// The `Refund_Create` body of a refund of `amount` of `payment`; `None`
/// when `amount` is not a decimal number.
fn refund_body(payment: &Payment, amount: &str, signed: &Signed) -> Option<Value> {
    let currency = payment.total_amount?.currency();
    let decimal = Decimal::from_str(amount.trim()).ok()?;
    let value = decimal.to_string().parse::<serde_json::Number>().ok()?;
    let document: Value = serde_json::from_str(payment.document.as_str()).unwrap_or(Value::Null);
    let method = document
        .get("paymentMethod")
        .filter(|m| m.is_object())
        .cloned()
        .unwrap_or_else(|| json!({}));
    Some(json!({
        "payment": {"id": payment.id.to_string()},
        "account": {"id": payment.account_id},
        "paymentMethod": method,
        "totalAmount": {"unit": currency.code(), "value": value},
        "description": format!("refund by console operator {}", signed.operator.name),
    }))
}

/// Posts `body` to TMF676's refund handler as the payment's merchant.
/// `Err((status, message))` when TMF676 refused it.
async fn refund_through_tmf(
    state: &AppState,
    payment: &Payment,
    key: &str,
    body: Value,
) -> Result<Result<(), (StatusCode, String)>, ConsoleError> {
    let merchant = state
        .store
        .find_merchant(&payment.merchant_id)
        .await?
        .ok_or_else(|| ConsoleError::NotFound(format!("no merchant {}", payment.merchant_id)))?;
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_str(key) {
        if !key.is_empty() {
            headers.insert(crate::idempotency::HEADER, value);
        }
    }
    let uri: Uri = format!("{}/refund", api_tmf676::BASE_PATH)
        .parse()
        .map_err(|e| ConsoleError::Internal(anyhow::anyhow!("refund path: {e}")))?;
    let response = api_tmf676::create_refund(
        State(state.clone()),
        TmfMerchant(merchant),
        headers,
        OriginalUri(uri),
        Ok(Bytes::from(body.to_string())),
    )
    .await
    .into_response();
    if response.status().is_success() {
        return Ok(Ok(()));
    }
    let status = response.status();
    let bytes = to_bytes(response.into_body(), ERROR_BODY_LIMIT)
        .await
        .unwrap_or_default();
    let answer: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let message = answer["message"]
        .as_str()
        .unwrap_or("the refund was not accepted")
        .to_owned();
    Ok(Err((status, message)))
}

#[derive(Deserialize)]
pub struct ResendForm {
    /// The payment page to go back to.
    #[serde(default)]
    payment: String,
}

/// `POST /console/deliveries/{id}/resend`.
pub async fn resend_delivery(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CheckedForm { signed, form }: CheckedForm<ResendForm>,
) -> Result<Response, ConsoleError> {
    let not_found = || ConsoleError::NotFound(format!("no delivery {id}"));
    let delivery_id: i64 = id.parse().map_err(|_| not_found())?;
    if !crate::deliveries::resend_delivery(&state, signed.scope(), delivery_id).await? {
        return Err(not_found());
    }
    tracing::info!(operator.id = %signed.operator.id, delivery.id = delivery_id, "console resend");
    // Only a payment id goes into the address: no redirect anywhere else.
    let back = match form.payment.parse::<PaymentId>() {
        Ok(payment) => format!("/console/payments/{payment}?done=resend"),
        Err(_) => "/console/payments".to_owned(),
    };
    Ok(Redirect::to(&back).into_response())
}
