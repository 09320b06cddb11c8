//! Fans outbox events out into deliveries: one per matching event listener,
//! and the merchant notification the event's dialect asks for (through the
//! hooks it registered), written together with the event marked dispatched.

use std::collections::HashMap;

use chrono::Utc;
use payhub_core::{LedgerEvent, MerchantId, Origin};
use payhub_store::{ClaimedEvent, FanOut, NewWebhook, StoreError, Subscription};

use crate::Services;

/// Events claimed per round.
pub const BATCH: i64 = 500;
/// How long a claimed event stays hidden from other dispatchers.
const LEASE: chrono::Duration = chrono::Duration::seconds(60);

/// Dispatches one batch; returns how many events it handled.
pub async fn dispatch_batch(state: &Services) -> usize {
    match try_dispatch_batch(state).await {
        Ok(count) => count,
        Err(error) => {
            tracing::warn!(error.cause_chain = ?error, "hub dispatch failed; will retry");
            0
        }
    }
}

async fn try_dispatch_batch(state: &Services) -> Result<usize, StoreError> {
    let now = Utc::now();
    let events = state
        .store
        .claim_undispatched_events(now, now + LEASE, BATCH)
        .await?;
    let mut listeners: HashMap<MerchantId, Vec<Subscription>> = HashMap::new();
    for ClaimedEvent { event, .. } in &events {
        if !listeners.contains_key(&event.merchant_id) {
            let subscriptions = state.store.list_subscriptions(&event.merchant_id).await?;
            listeners.insert(event.merchant_id.clone(), subscriptions);
        }
    }
    let matched = matching_listeners(state, &events, &listeners).await?;
    let mut fan_out = Vec::with_capacity(events.len());
    for (ClaimedEvent { event, origin }, (matched, listener_body)) in events.iter().zip(matched) {
        count_outcome(origin.as_ref(), event);
        fan_out.push(FanOut {
            event: event.id,
            subscriptions: matched,
            listener_body,
            webhooks: merchant_webhook(state, origin.as_ref(), event)
                .await?
                .into_iter()
                .collect(),
        });
    }
    if !fan_out.is_empty() {
        state.store.complete_dispatch(&fan_out, Utc::now()).await?;
    }
    Ok(events.len())
}

/// For each event in order, the listeners it goes to and the notification
/// they get: the envelope built here to match them is the one delivered, so
/// a delivery reads nothing more. Only events of merchants with listeners
/// are rendered, all in one batch (one read of their payments, one of
/// their refunds).
async fn matching_listeners(
    state: &Services,
    events: &[ClaimedEvent],
    listeners: &HashMap<MerchantId, Vec<Subscription>>,
) -> Result<Vec<(Vec<Subscription>, Option<String>)>, StoreError> {
    let mut matched = vec![(Vec::new(), None); events.len()];
    let Some(hub) = state.hooks.listeners() else {
        return Ok(matched);
    };
    let heard: Vec<usize> = (0..events.len())
        .filter(|&i| {
            listeners
                .get(&events[i].event.merchant_id)
                .is_some_and(|subscriptions| !subscriptions.is_empty())
        })
        .collect();
    if heard.is_empty() {
        return Ok(matched);
    }
    let heard_events: Vec<&LedgerEvent> = heard.iter().map(|&i| &events[i].event).collect();
    let envelopes = hub
        .envelopes(
            state.store.as_ref(),
            &state.config.public_base_url,
            &heard_events,
        )
        .await?;
    for (&i, envelope) in heard.iter().zip(envelopes) {
        let Some(envelope) = envelope else {
            continue;
        };
        let chosen: Vec<Subscription> = listeners
            .get(&events[i].event.merchant_id)
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .filter(|s| hub.matches(s, &envelope))
            .cloned()
            .collect();
        let body = (!chosen.is_empty()).then(|| envelope.to_string());
        matched[i] = (chosen, body);
    }
    Ok(matched)
}

/// The one merchant notification an event may cause, as the dialect that
/// recorded its payment decides (an APS payment's `notifyUrl`, a telco
/// service's callback, a retail sale's `webhookUrl`); none for a payment
/// recorded through a dialect without such hooks (TMF676).
async fn merchant_webhook(
    state: &Services,
    origin: Option<&Origin>,
    event: &LedgerEvent,
) -> Result<Option<NewWebhook>, StoreError> {
    match origin.and_then(|origin| state.hooks.dialect(origin)) {
        Some(dialect) => dialect.merchant_notification(state, event).await,
        None => Ok(None),
    }
}

/// Counts a decided payment or refund by its origin (docs/METRICS.md). A
/// dispatch repeated after a lapsed lease may count an event twice.
fn count_outcome(origin: Option<&Origin>, event: &LedgerEvent) {
    if !event.status.outcome().is_decided() {
        return;
    }
    let resource = if event.kind.is_refund() {
        "refund"
    } else {
        "payment"
    };
    let origin = origin.map_or("none", Origin::as_str);
    crate::metrics::record_ledger_outcome(origin, resource, event.status.as_str());
}
