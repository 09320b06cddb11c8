//! Sandbox endpoints: end a simulated payment as its customer or issuer
//! would. They exist only in sandbox mode (the embedded default); production
//! mode does not mount them.
//!
//! The outcome reaches payhub the way a real one does: the simulated gateway
//! changes its own books and sends its (signed, duplicated) notification,
//! which goes through [`payhub_app::gateways::flow::receive_notification`].

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::routing::post;
use axum::{Json, Router};
use payhub_core::PaymentId;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::edge;
use crate::http::error::ApiError;
use crate::http::merchant::{ApiEdge, BearerMerchant};
use crate::state::AppState;
use payhub_app::gateways::simulated::SandboxOutcome;
use payhub_app::gateways::GatewayKind;
use payhub_app::AppError;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/sandbox/v1/payments/{id}/outcome", post(set_outcome))
        .route("/sandbox/v1/sms", axum::routing::get(sms))
        .layer(axum::middleware::from_fn(edge::guard::<ApiEdge>))
        .layer(axum::middleware::from_fn(
            crate::rate_limit::per_address::<ApiEdge>,
        ))
}

#[derive(Deserialize)]
struct OutcomeRequest {
    outcome: SandboxOutcome,
}

async fn set_outcome(
    State(state): State<AppState>,
    BearerMerchant(merchant): BearerMerchant,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let request: OutcomeRequest = serde_json::from_slice(&body).map_err(|e| {
        ApiError::InvalidJson(format!(
            "expected {{\"outcome\": \"success\" | \"decline\" | \"expire\"}}: {e}"
        ))
    })?;
    let not_found = || ApiError::NotFound(format!("no payment {id} at a simulated gateway"));
    let payment_id: PaymentId = id.parse().map_err(|_| not_found())?;
    let gateway = state
        .store
        .find_gateway_payment(payment_id)
        .await
        .map_err(ApiError::from)?
        .filter(|g| g.merchant_id == merchant.id)
        .ok_or_else(not_found)?;
    let simulator = GatewayKind::parse(&gateway.gateway)
        .and_then(|kind| state.gateways.simulator(kind))
        .ok_or_else(not_found)?;
    simulator
        .end_payment(payment_id, request.outcome)
        .await
        .map_err(|error| refusal(error, &id))?;
    let gateway = state
        .store
        .find_gateway_payment(payment_id)
        .await
        .map_err(ApiError::from)?
        .ok_or_else(not_found)?;
    Ok(Json(json!({
        "id": payment_id.to_string(),
        "gateway": gateway.gateway,
        "gatewayState": gateway.state.as_str(),
    })))
}

/// The sandbox's answer to each outcome of ending a payment, in one place;
/// `id` is the payment id as the path gave it, which the messages repeat.
/// Outcomes ending a simulated payment cannot meet would be a wiring bug:
/// logged, and answered as payhub's own failure.
fn refusal(error: AppError, id: &str) -> ApiError {
    match error {
        AppError::UnknownPayment(_) => {
            ApiError::NotFound(format!("no payment {id} at a simulated gateway"))
        }
        AppError::AlreadyEnded(_) => {
            ApiError::Conflict(format!("payment {id} has already ended at its gateway"))
        }
        AppError::Store(error) => error.into(),
        unexpected @ (AppError::DuplicateReference(_)
        | AppError::RefundRejected(_)
        | AppError::NotReserved { .. }
        | AppError::Busy
        | AppError::NotWaiting
        | AppError::WrongCode(_)
        | AppError::ConsentInvalid(_)
        | AppError::NoConnector(_)
        | AppError::GatewayUnavailable
        | AppError::CarrierUnavailable
        | AppError::BadNotification(_)
        | AppError::AmountRequired) => {
            tracing::error!(error = %unexpected, "sandbox met an outcome it cannot answer");
            ApiError::Internal
        }
    }
}

#[derive(Deserialize)]
struct SmsQuery {
    msisdn: Option<String>,
}

/// `GET /sandbox/v1/sms?msisdn=…`: the text messages the merchant's telco
/// transactions sent to a subscriber (newest first), with their one-time code:
/// what the simulated SMS centre kept (nothing when an SMSC sends them).
async fn sms(
    State(state): State<AppState>,
    BearerMerchant(merchant): BearerMerchant,
    query: Result<axum::extract::Query<SmsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let axum::extract::Query(query) = query.map_err(|e| ApiError::InvalidQuery(e.body_text()))?;
    let msisdn = query
        .msisdn
        .filter(|m| !m.is_empty())
        .ok_or_else(|| ApiError::InvalidQuery("the query parameter 'msisdn' is required".into()))?;
    let sent = state.store.list_sandbox_sms(&merchant.id, &msisdn).await?;
    Ok(Json(Value::Array(
        sent.iter()
            .map(|sms| {
                json!({
                    "msisdn": sms.msisdn,
                    "transactionId": sms.transaction_id,
                    "text": sms.text,
                    "link": sms.link,
                    "code": sms.code,
                    "sentAt": crate::http::time::format_time(sms.sent_at),
                })
            })
            .collect(),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::response::IntoResponse;

    /// Every use-case outcome's sandbox answer, in `AppError::examples()` order.
    #[test]
    fn each_use_case_outcome_has_one_sandbox_answer() {
        let internal = (500, "internal error");
        let mut table = vec![
            (404, "no payment 007 at a simulated gateway"),
            internal,
            internal,
            (409, "payment 007 has already ended at its gateway"),
        ];
        table.extend([internal; 9]);
        table.push((503, "the service is temporarily unavailable; retry later"));
        // The last example: a refund without the amount a split needs.
        table.push(internal);
        let examples = AppError::examples();
        assert_eq!(examples.len(), table.len());
        for (error, (status, message)) in examples.into_iter().zip(table) {
            let answer = refusal(error, "007");
            let text = answer.to_string();
            assert_eq!(
                (answer.into_response().status().as_u16(), text.as_str()),
                (status, message)
            );
        }
    }
}
