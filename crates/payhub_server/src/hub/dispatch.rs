//! Fans outbox events out into deliveries, one per matching listener.

use std::collections::HashMap;

use chrono::Utc;
use payhub_core::{LedgerEvent, MerchantId};
use payhub_store::{StoreError, Subscription};

use crate::api_tmf676::hub::{event_envelope, subscription_matches};
use crate::state::AppState;

/// Events claimed per round.
pub const BATCH: i64 = 500;
/// How long a claimed event stays hidden from other dispatchers.
const LEASE: chrono::Duration = chrono::Duration::seconds(60);

/// Dispatches one batch; returns how many events it handled.
pub async fn dispatch_batch(state: &AppState) -> usize {
    match try_dispatch_batch(state).await {
        Ok(count) => count,
        Err(error) => {
            tracing::warn!(error.cause_chain = ?error, "hub dispatch failed; will retry");
            0
        }
    }
}

async fn try_dispatch_batch(state: &AppState) -> Result<usize, StoreError> {
    let now = Utc::now();
    let events = state
        .store
        .claim_undispatched_events(now, now + LEASE, BATCH)
        .await?;
    let mut listeners: HashMap<MerchantId, Vec<Subscription>> = HashMap::new();
    let mut fan_out = Vec::with_capacity(events.len());
    for event in &events {
        if !listeners.contains_key(&event.merchant_id) {
            let subscriptions = state.store.list_subscriptions(&event.merchant_id).await?;
            listeners.insert(event.merchant_id.clone(), subscriptions);
        }
        let subscriptions = listeners
            .get(&event.merchant_id)
            .map(Vec::as_slice)
            .unwrap_or_default();
        fan_out.push((
            event.id,
            matching_listeners(state, event, subscriptions).await?,
        ));
    }
    if !fan_out.is_empty() {
        state.store.complete_dispatch(&fan_out, Utc::now()).await?;
    }
    Ok(events.len())
}

async fn matching_listeners(
    state: &AppState,
    event: &LedgerEvent,
    subscriptions: &[Subscription],
) -> Result<Vec<Subscription>, StoreError> {
    if subscriptions.is_empty() {
        return Ok(Vec::new());
    }
    let Some(envelope) =
        event_envelope(state.store.as_ref(), &state.settings.public_base_url, event).await?
    else {
        return Ok(Vec::new());
    };
    Ok(subscriptions
        .iter()
        .filter(|s| subscription_matches(s, &envelope))
        .cloned()
        .collect())
}
