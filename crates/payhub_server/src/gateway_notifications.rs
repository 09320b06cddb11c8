//! Where gateways send their asynchronous results:
//! - `POST /gateways/accounts/{account}/notifications`: a merchant's
//!   connector account (the URL each account gives its gateway);
//! - `POST /gateways/{type}/notifications`: the simulated gateways.
//!
//! A notification is authenticated by the gateway's own signature, checked
//! by its connector with the account's credentials; an unverifiable one
//! changes nothing. An applied one is answered as the gateway expects.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::json;

use crate::state::AppState;
use payhub_app::gateways::flow::{receive_account_notification, receive_notification};
use payhub_app::gateways::GatewayKind;
use payhub_app::AppError;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/gateways/{gateway}/notifications", post(notification))
        .route(
            "/gateways/accounts/{account}/notifications",
            post(account_notification),
        )
}

async fn account_notification(
    State(state): State<AppState>,
    Path(account): Path<String>,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> Response {
    match receive_account_notification(&state, &account, &headers, &body).await {
        Ok(ack) => (
            [(axum::http::header::CONTENT_TYPE, ack.content_type)],
            ack.body,
        )
            .into_response(),
        Err(error) => {
            let (status, result) = refusal(&account, error);
            (status, Json(json!({ "result": result }))).into_response()
        }
    }
}

async fn notification(
    State(state): State<AppState>,
    Path(gateway): Path<String>,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> Response {
    let Some(kind) = GatewayKind::parse(&gateway) else {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({"result": "unknown gateway"})),
        )
            .into_response();
    };
    match receive_notification(&state, kind, &headers, &body).await {
        Ok(()) => Json(json!({"result": "ok"})).into_response(),
        Err(error) => {
            let (status, result) = refusal(kind.code(), error);
            (status, Json(json!({ "result": result }))).into_response()
        }
    }
}

/// The answer to a notification not applied, for each use-case outcome, in
/// one place: the gateway retries on 503, and gives up on 401 and 404.
/// Outcomes a notification cannot meet would be a wiring bug: logged, and
/// answered "retry", as a store failure is, so the gateway's retry finds
/// the fixed node.
fn refusal(source: &str, error: AppError) -> (StatusCode, &'static str) {
    match error {
        AppError::BadNotification(error) => {
            tracing::warn!(gateway = source, %error, "gateway notification refused");
            (StatusCode::UNAUTHORIZED, "refused")
        }
        AppError::UnknownPayment(_) => (StatusCode::NOT_FOUND, "unknown payment"),
        AppError::Store(error) => {
            tracing::error!(error.cause_chain = ?error, "cannot apply a gateway notification");
            (StatusCode::SERVICE_UNAVAILABLE, "retry")
        }
        unexpected @ (AppError::DuplicateReference(_)
        | AppError::RefundRejected(_)
        | AppError::AlreadyEnded(_)
        | AppError::NotReserved { .. }
        | AppError::Busy
        | AppError::NotWaiting
        | AppError::WrongCode(_)
        | AppError::ConsentInvalid(_)
        | AppError::NoConnector(_)
        | AppError::GatewayUnavailable
        | AppError::CarrierUnavailable
        | AppError::AmountRequired) => {
            tracing::error!(error = %unexpected, "gateway notification met an outcome it cannot answer");
            (StatusCode::SERVICE_UNAVAILABLE, "retry")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every use-case outcome's answer to a gateway, in `AppError::examples()` order.
    #[test]
    fn each_use_case_outcome_has_one_notification_answer() {
        let retry = (StatusCode::SERVICE_UNAVAILABLE, "retry");
        let mut table = vec![(StatusCode::NOT_FOUND, "unknown payment")];
        table.extend([retry; 11]);
        table.push((StatusCode::UNAUTHORIZED, "refused"));
        table.push(retry);
        // The last example: a refund without the amount a split needs.
        table.push(retry);
        let examples = AppError::examples();
        assert_eq!(examples.len(), table.len());
        for (error, expected) in examples.into_iter().zip(table) {
            assert_eq!(refusal("VMPAY", error), expected);
        }
    }
}
