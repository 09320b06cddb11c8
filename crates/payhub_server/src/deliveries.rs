//! `/v1/deliveries`: a merchant's webhook and hub deliveries, every attempt
//! made, the body sent, and sending one again. Authenticated like TMF676 (the
//! merchant's API key); a merchant sees only its own. Operators have the same
//! through `payhub deliveries list | resend`.
//!
//! The list filters by payment (`paymentId`: its own events and its
//! refunds'), `state` and creation time (`from`, `to`, RFC 3339), newest
//! first, `limit` (1–500, default 50) at a time; when a page is full its
//! `X-Next-Cursor` header is the `cursor` of the next page.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use payhub_store::{
    DeliveryAttempt, DeliveryFilter, DeliveryKind, DeliveryRecord, Store, StoreError,
};
use serde::Deserialize;
use serde_json::{json, Value};

use payhub_app::hooks::EventListeners;

use crate::edge;
use crate::http::error::ApiError;
use crate::http::merchant::{ApiEdge, BearerMerchant};
use crate::http::time::format_time;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/deliveries", get(list))
        .route("/v1/deliveries/{id}/resend", post(resend))
        .layer(axum::middleware::from_fn(edge::guard::<ApiEdge>))
        .layer(axum::middleware::from_fn(
            crate::rate_limit::per_address::<ApiEdge>,
        ))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListQuery {
    limit: Option<i64>,
    cursor: Option<String>,
    payment_id: Option<String>,
    state: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

impl ListQuery {
    /// The store filter this query asks for, or what is wrong with it.
    fn filter(self, merchant: &payhub_core::MerchantId) -> Result<DeliveryFilter, ApiError> {
        let invalid = |name: &str, why: &str| ApiError::InvalidQuery(format!("'{name}' {why}"));
        let id = |name: &str, text: Option<String>| {
            text.map(|t| t.parse::<i64>().map_err(|_| invalid(name, "must be an id")))
                .transpose()
        };
        let time = |name: &str, text: Option<String>| {
            text.map(|t| {
                DateTime::parse_from_rfc3339(&t)
                    .map(|t| t.with_timezone(&Utc))
                    .map_err(|_| invalid(name, "must be an RFC 3339 date-time"))
            })
            .transpose()
        };
        if let Some(state) = &self.state {
            if !matches!(state.as_str(), "pending" | "delivered" | "dead") {
                return Err(invalid("state", "must be pending, delivered or dead"));
            }
        }
        Ok(DeliveryFilter {
            merchant: Some(merchant.clone()),
            payment_id: id("paymentId", self.payment_id)?,
            state: self.state,
            created_from: time("from", self.from)?,
            created_before: time("to", self.to)?,
            before_id: id("cursor", self.cursor)?,
            limit: self.limit.unwrap_or(50).clamp(1, 500),
        })
    }
}

/// A delivery with its attempts and the body sent, as JSON.
pub async fn describe(
    store: &dyn Store,
    base_url: &str,
    listeners: Option<&dyn EventListeners>,
    delivery: &DeliveryRecord,
) -> Result<Value, StoreError> {
    let attempts = store.list_delivery_attempts(delivery.id).await?;
    let body = body_sent(store, base_url, listeners, delivery).await?;
    let mut rendered = render(delivery, &attempts);
    rendered["body"] = body.map_or(Value::Null, Value::String);
    Ok(rendered)
}

/// The bytes a delivery sends: kept with it for merchant webhooks, rendered
/// from its event for a TMF hub notification (as each attempt renders it).
async fn body_sent(
    store: &dyn Store,
    base_url: &str,
    listeners: Option<&dyn EventListeners>,
    delivery: &DeliveryRecord,
) -> Result<Option<String>, StoreError> {
    if delivery.body.is_some() || delivery.kind != DeliveryKind::TmfHub {
        return Ok(delivery.body.clone());
    }
    let Some(listeners) = listeners else {
        return Ok(None);
    };
    let Some(event) = store.find_event(delivery.event_id).await? else {
        return Ok(None);
    };
    Ok(listeners
        .envelope(store, base_url, &event)
        .await?
        .map(|envelope| envelope.to_string()))
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
    BearerMerchant(merchant): BearerMerchant,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::InvalidQuery(e.body_text()))?;
    let filter = query.filter(&merchant.id)?;
    let deliveries = state.store.list_deliveries(&filter).await?;
    let base = &state.settings.public_base_url;
    let listeners: Option<&dyn EventListeners> = state.hooks.listeners().map(|l| l.as_ref());
    let mut rendered = Vec::with_capacity(deliveries.len());
    for delivery in &deliveries {
        rendered.push(describe(state.store.as_ref(), base, listeners, delivery).await?);
    }
    let full = i64::try_from(deliveries.len()).unwrap_or(i64::MAX) == filter.limit;
    let mut response = Json(Value::Array(rendered)).into_response();
    if let (true, Some(last)) = (full, deliveries.last()) {
        response.headers_mut().insert(
            HeaderName::from_static("x-next-cursor"),
            HeaderValue::from(last.id),
        );
    }
    Ok(response)
}

async fn resend(
    State(state): State<AppState>,
    BearerMerchant(merchant): BearerMerchant,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let not_found = || ApiError::NotFound(format!("no delivery {id}"));
    let delivery_id: i64 = id.parse().map_err(|_| not_found())?;
    if !resend_delivery(&state, Some(&merchant.id), delivery_id).await? {
        return Err(not_found());
    }
    Ok(Json(json!({"id": id, "state": "pending"})))
}

/// Sends a delivery again and wakes the workers: what `POST
/// /v1/deliveries/{id}/resend` and the operator console both do. `merchant`
/// confines it to that merchant's deliveries; `false` when there is no such
/// delivery (of that merchant).
pub async fn resend_delivery(
    state: &AppState,
    merchant: Option<&payhub_core::MerchantId>,
    delivery_id: i64,
) -> Result<bool, payhub_store::StoreError> {
    let resent = state
        .store
        .resend_delivery(merchant, delivery_id, Utc::now())
        .await?;
    if resent {
        state.notify_outbox();
    }
    Ok(resent)
}
