//! `POST /gateways/{type}/notifications`: where gateways send their
//! asynchronous results. A notification is authenticated by the gateway's own
//! signature, checked by its connector; an unverifiable one changes nothing.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::json;

use crate::state::AppState;
use payhub_app::gateways::flow::{receive_notification, NotificationError};
use payhub_app::gateways::GatewayKind;

pub fn router() -> Router<AppState> {
    Router::new().route("/gateways/{gateway}/notifications", post(notification))
}

async fn notification(
    State(state): State<AppState>,
    Path(gateway): Path<String>,
    body: Bytes,
) -> Response {
    let Some(kind) = GatewayKind::parse(&gateway) else {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({"result": "unknown gateway"})),
        )
            .into_response();
    };
    match receive_notification(&state, kind, &body).await {
        Ok(()) => Json(json!({"result": "ok"})).into_response(),
        Err(NotificationError::Gateway(error)) => {
            tracing::warn!(gateway = kind.code(), %error, "gateway notification refused");
            (StatusCode::UNAUTHORIZED, Json(json!({"result": "refused"}))).into_response()
        }
        Err(NotificationError::UnknownPayment) => (
            StatusCode::NOT_FOUND,
            Json(json!({"result": "unknown payment"})),
        )
            .into_response(),
        Err(NotificationError::Store(error)) => {
            tracing::error!(error.cause_chain = ?error, "cannot apply a gateway notification");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"result": "retry"})),
            )
                .into_response()
        }
    }
}
