//! `/v1/deliveries`: a merchant's webhook and hub deliveries, every attempt
//! made, and sending one again. Authenticated like TMF676 (the merchant's API
//! key); a merchant sees only its own. Operators have the same through
//! `payhub deliveries list | resend`.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Utc;
use payhub_store::{DeliveryAttempt, DeliveryRecord};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::api_tmf676::error::TmfError;
use crate::api_tmf676::extract::{TmfEdge, TmfMerchant};
use crate::api_tmf676::wire::format_time;
use crate::edge;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/deliveries", get(list))
        .route("/v1/deliveries/{id}/resend", post(resend))
        .layer(axum::middleware::from_fn(edge::guard::<TmfEdge>))
        .layer(axum::middleware::from_fn(
            crate::rate_limit::per_address::<TmfEdge>,
        ))
}

#[derive(Deserialize)]
struct ListQuery {
    limit: Option<i64>,
}

/// A delivery and its attempts as JSON.
pub fn render(delivery: &DeliveryRecord, attempts: &[DeliveryAttempt]) -> Value {
    json!({
        "id": delivery.id.to_string(),
        "eventId": delivery.event_id.to_string(),
        "kind": delivery.kind.as_str(),
        "url": delivery.url,
        "state": delivery.state,
        "attempts": delivery.attempts,
        "nextAttemptAt": format_time(delivery.next_attempt_at),
        "lastStatus": delivery.last_status,
        "lastError": delivery.last_error,
        "lastResponse": delivery.last_response,
        "createdAt": format_time(delivery.created_at),
        "attemptLog": attempts.iter().map(|a| json!({
            "at": format_time(a.attempted_at),
            "status": a.status_code,
            "error": a.error,
            "response": a.response,
        })).collect::<Vec<_>>(),
    })
}

async fn list(
    State(state): State<AppState>,
    TmfMerchant(merchant): TmfMerchant,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Value>, TmfError> {
    let Query(query) = query.map_err(|e| TmfError::InvalidQuery(e.body_text()))?;
    let limit = query.limit.unwrap_or(50).clamp(1, 500);
    let deliveries = state
        .store
        .list_deliveries(Some(&merchant.id), limit)
        .await?;
    let mut rendered = Vec::with_capacity(deliveries.len());
    for delivery in &deliveries {
        let attempts = state.store.list_delivery_attempts(delivery.id).await?;
        rendered.push(render(delivery, &attempts));
    }
    Ok(Json(Value::Array(rendered)))
}

async fn resend(
    State(state): State<AppState>,
    TmfMerchant(merchant): TmfMerchant,
    Path(id): Path<String>,
) -> Result<Json<Value>, TmfError> {
    let not_found = || TmfError::NotFound(format!("no delivery {id}"));
    let delivery_id: i64 = id.parse().map_err(|_| not_found())?;
    if !state
        .store
        .resend_delivery(Some(&merchant.id), delivery_id, Utc::now())
        .await?
    {
        return Err(not_found());
    }
    state.notify_outbox();
    Ok(Json(json!({"id": id, "state": "pending"})))
}
