//! What an operator can change: refund a payment, resend a delivery.
//!
//! Neither has a rule of its own. A refund goes through the
//! [`OperatorRefunds`] the composition root gives the console (TMF676's
//! `POST /refund`, as the payment's merchant), so the ledger's refund rules,
//! the gateway or phone-bill routing, the outbox event and the idempotency
//! key all apply exactly as for an API client. A resend is
//! [`crate::deliveries::resend_delivery`], what `/v1/deliveries/{id}/resend`
//! calls.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Extension;
use payhub_core::{Payment, PaymentId};
use serde::Deserialize;

use super::error::ConsoleError;
use super::session::CheckedForm;
use super::timeline::{find_visible_payment, payment_page, Notice};
use crate::state::AppState;

/// How the console makes a refund: given to [`super::router`] by the
/// composition root, so the console names no dialect.
#[async_trait::async_trait]
pub trait OperatorRefunds: Send + Sync {
    /// Refunds `amount` (decimal text) of `payment` as its merchant, under the
    /// form's idempotency `key`. `Ok(None)` when `amount` is not a number;
    /// `Ok(Some(Err((status, message))))` when the refund was refused.
    async fn refund(
        &self,
        state: &AppState,
        payment: &Payment,
        amount: &str,
        key: &str,
        operator: &str,
    ) -> Result<Option<Result<(), (StatusCode, String)>>, ConsoleError>;
}

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
    Extension(refunds): Extension<Arc<dyn OperatorRefunds>>,
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
    let refunded = refunds
        .refund(
            state,
            &payment,
            &form.amount,
            &form.key,
            &signed.operator.name,
        )
        .await?;
    let Some(refunded) = refunded else {
        let message = format!("'{}' is not an amount", form.amount.trim());
        return failed(message, StatusCode::UNPROCESSABLE_ENTITY).await;
    };
    match refunded {
        Ok(()) => {
            tracing::info!(operator.id = %signed.operator.id, payment.id = %id, "console refund recorded");
            Ok(Redirect::to(&format!("/console/payments/{id}?done=refund")).into_response())
        }
        Err((status, message)) => failed(format!("Refund refused: {message}"), status).await,
    }
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
