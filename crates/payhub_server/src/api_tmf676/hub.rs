//! `/hub`: register and remove notification listeners, and the events they get.
//!
//! A subscription's `query` is a TMF630 filter evaluated against the event
//! envelope, e.g. `eventType=PaymentStateChangeEvent&event.payment.status=captured`.
//! No query means every event of the merchant.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use payhub_core::{LedgerEvent, Payment, PaymentId, Refund, RefundId, SubscriptionId};
use payhub_store::{Store, StoreError, Subscription};
use serde_json::{json, Map, Value};

use super::create::{idempotent_create, Created};
use super::error::TmfError;
use super::extract::{self, TmfMerchant};
use super::query::parse_filters;
use super::wire::{self, format_time, render_payment, render_refund};
use crate::state::AppState;

fn subscription_view(subscription: &Subscription) -> Value {
    json!({
        "id": subscription.id.to_string(),
        "callback": subscription.callback,
        "query": subscription.query,
    })
}

/// Checks a listener body: an absolute http(s) `callback`, an optional valid `query`.
fn parse_listener(body: &Map<String, Value>) -> Result<(String, Option<String>), TmfError> {
    let callback = match body.get("callback") {
        Some(Value::String(c)) => c.clone(),
        Some(_) => {
            return Err(TmfError::InvalidAttribute(
                "'callback' must be a string".into(),
            ))
        }
        None => return Err(TmfError::InvalidAttribute("'callback' is required".into())),
    };
    let valid = url::Url::parse(&callback)
        .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host());
    if !valid {
        return Err(TmfError::InvalidAttribute(format!(
            "'callback' must be an absolute http(s) URL, got '{callback}'"
        )));
    }
    let query = match body.get("query") {
        None | Some(Value::Null) => None,
        Some(Value::String(q)) if q.trim().is_empty() => None,
        Some(Value::String(q)) => {
            parse_filters(q)?;
            Some(q.clone())
        }
        Some(_) => {
            return Err(TmfError::InvalidAttribute(
                "'query' must be a string".into(),
            ))
        }
    };
    Ok((callback, query))
}

/// `POST /hub`: registers a listener (201, `Location`).
pub async fn create_hub(
    State(state): State<AppState>,
    TmfMerchant(merchant): TmfMerchant,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, TmfError> {
    let body = extract::body(body)?;
    let (state, merchant, body) = (&state, &merchant, &body);
    idempotent_create(
        state,
        merchant,
        &headers,
        uri.path(),
        body,
        |scope| async move {
            let (callback, query) = parse_listener(&wire::parse_object(body)?)?;
            state
                .settings
                .callback_policy
                .check_url(&callback)
                .await
                .map_err(|refused| TmfError::InvalidAttribute(format!("'callback': {refused}")))?;
            let now = Utc::now();
            let subscription = Subscription {
                id: SubscriptionId::generate(now),
                merchant_id: merchant.id.clone(),
                callback,
                query,
                created_at: now,
            };
            state.store.insert_subscription(&subscription).await?;
            let created = Created::new(
                wire::href(&state.settings.public_base_url, "hub", subscription.id),
                &subscription_view(&subscription),
            );
            // A listener is not money: keeping its response outside the insert's
            // transaction at worst lets a crashed retry register it twice.
            if let Some(scope) = &scope {
                let kept = scope.keep(created.saved());
                state.store.complete_idempotent(&kept, now).await?;
            }
            Ok(created)
        },
    )
    .await
}

/// `GET /hub/{id}`: one of the caller's listeners.
pub async fn get_hub(
    State(state): State<AppState>,
    TmfMerchant(merchant): TmfMerchant,
    Path(id): Path<String>,
) -> Result<Response, TmfError> {
    let not_found = || TmfError::NotFound(format!("no listener with id '{id}'"));
    let sub_id = id.parse::<SubscriptionId>().map_err(|_| not_found())?;
    let subscriptions = state.store.list_subscriptions(&merchant.id).await?;
    let subscription = subscriptions
        .iter()
        .find(|s| s.id == sub_id)
        .ok_or_else(not_found)?;
    Ok(axum::Json(subscription_view(subscription)).into_response())
}

/// `DELETE /hub/{id}`: removes one of the caller's listeners (204; 404 if unknown).
pub async fn delete_hub(
    State(state): State<AppState>,
    TmfMerchant(merchant): TmfMerchant,
    Path(id): Path<String>,
) -> Result<Response, TmfError> {
    let not_found = || TmfError::NotFound(format!("no listener with id '{id}'"));
    let sub_id = id.parse::<SubscriptionId>().map_err(|_| not_found())?;
    if state
        .store
        .delete_subscription(&merchant.id, sub_id)
        .await?
    {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(not_found())
    }
}

/// The TMF676 notifications for a batch of events, one per event in order,
/// each with its resource as it was then; `None` where the resource no
/// longer exists. The batch's payments are read in one store call and its
/// refunds in another.
pub async fn event_envelopes(
    store: &dyn Store,
    base_url: &str,
    events: &[&LedgerEvent],
) -> Result<Vec<Option<Value>>, StoreError> {
    let mut payment_keys = Vec::new();
    let mut refund_keys = Vec::new();
    for event in events {
        if event.kind.is_refund() {
            if let Some(id) = RefundId::from_i64(event.resource_id) {
                refund_keys.push((&event.merchant_id, id));
            }
        } else if let Some(id) = PaymentId::from_i64(event.resource_id) {
            payment_keys.push((&event.merchant_id, id));
        }
    }
    // Ids are unique across merchants; each lookup below still checks
    // that the resource is the event's merchant's.
    let payments: HashMap<i64, Payment> = if payment_keys.is_empty() {
        HashMap::new()
    } else {
        store
            .find_payments(&payment_keys)
            .await?
            .into_iter()
            .map(|p| (p.id.get(), p))
            .collect()
    };
    let refunds: HashMap<i64, Refund> = if refund_keys.is_empty() {
        HashMap::new()
    } else {
        store
            .find_refunds(&refund_keys)
            .await?
            .into_iter()
            .map(|r| (r.id.get(), r))
            .collect()
    };
    Ok(events
        .iter()
        .map(|event| {
            let key = event.resource_id;
            let (name, resource) = if event.kind.is_refund() {
                let mut refund = refunds
                    .get(&key)
                    .filter(|r| r.merchant_id == event.merchant_id)?
                    .clone();
                refund.status = event.status;
                refund.status_date = event.occurred_at;
                ("refund", render_refund(&refund, base_url))
            } else {
                let mut payment = payments
                    .get(&key)
                    .filter(|p| p.merchant_id == event.merchant_id)?
                    .clone();
                payment.status = event.status;
                payment.status_date = event.occurred_at;
                ("payment", render_payment(&payment, base_url))
            };
            Some(json!({
                "eventId": event.id.to_string(),
                "eventTime": format_time(event.occurred_at),
                "eventType": event.kind.as_str(),
                "event": { name: resource },
            }))
        })
        .collect())
}

/// Whether a subscription wants an event.
pub fn subscription_matches(subscription: &Subscription, envelope: &Value) -> bool {
    match &subscription.query {
        None => true,
        // Queries were checked when registered; one that no longer parses matches nothing.
        Some(query) => {
            parse_filters(query).is_ok_and(|filters| filters.iter().all(|f| f.matches(envelope)))
        }
    }
}

/// TMF676's hub as the workers see it: an event becomes its TMF
/// notification, sent to the listeners whose query it matches.
pub struct HubListeners;

#[async_trait::async_trait]
impl payhub_app::hooks::EventListeners for HubListeners {
    async fn envelopes(
        &self,
        store: &dyn Store,
        public_base_url: &str,
        events: &[&LedgerEvent],
    ) -> Result<Vec<Option<Value>>, StoreError> {
        event_envelopes(store, public_base_url, events).await
    }

    fn matches(&self, subscription: &Subscription, envelope: &Value) -> bool {
        subscription_matches(subscription, envelope)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use payhub_core::MerchantId;

    fn subscription(query: Option<&str>) -> Subscription {
        Subscription {
            id: SubscriptionId::generate(Utc::now()),
            merchant_id: MerchantId::generate(),
            callback: "http://127.0.0.1:1/cb".into(),
            query: query.map(str::to_owned),
            created_at: Utc::now(),
        }
    }

    #[test]
    fn queries_select_events() {
        let envelope = json!({"eventType": "PaymentStateChangeEvent", "event": {"payment": {"status": "captured"}}});
        assert!(subscription_matches(&subscription(None), &envelope));
        assert!(subscription_matches(
            &subscription(Some("eventType=PaymentStateChangeEvent")),
            &envelope
        ));
        assert!(subscription_matches(
            &subscription(Some("eventType=PaymentCreateEvent,PaymentStateChangeEvent")),
            &envelope
        ));
        assert!(!subscription_matches(
            &subscription(Some("eventType=RefundCreateEvent")),
            &envelope
        ));
        assert!(subscription_matches(
            &subscription(Some("event.payment.status=captured")),
            &envelope
        ));
    }

    #[test]
    fn listeners_need_an_absolute_http_callback() {
        let body = |v: Value| match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        };
        assert!(parse_listener(&body(json!({"callback": "http://127.0.0.1:9/x"}))).is_ok());
        for bad in [
            json!({}),
            json!({"callback": "/relative"}),
            json!({"callback": "ftp://h/x"}),
            json!({"callback": 5}),
            json!({"callback": "http://h/x", "query": "=bad"}),
        ] {
            assert!(parse_listener(&body(bad.clone())).is_err(), "{bad}");
        }
    }
}
