//! POSTs due deliveries to their listeners and records each attempt.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use payhub_store::{Delivery, DeliveryOutcome, StoreError};
use tokio::task::JoinSet;

use crate::api_tmf676::hub::event_envelope;
use crate::callback_policy::{CallbackPolicy, PolicyResolver};
use crate::config::HubSettings;
use crate::state::AppState;

/// Deliveries claimed per round, all attempted concurrently.
const BATCH: i64 = 32;

/// The HTTP client for listeners: bounded time per attempt, no redirects
/// (a listener that moved must be registered again), and DNS answers filtered
/// by the callback policy.
pub fn http_client(
    settings: &HubSettings,
    policy: Arc<CallbackPolicy>,
) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .dns_resolver(Arc::new(PolicyResolver { policy }))
        .timeout(settings.request_timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("payhub/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// The delay before the attempt after `attempts_made` failed ones: the base,
/// doubled each time, capped.
pub fn backoff(settings: &HubSettings, attempts_made: i64) -> Duration {
    let exponent = u32::try_from(attempts_made.clamp(0, 30)).unwrap_or(30);
    settings
        .retry_base
        .saturating_mul(2_u32.saturating_pow(exponent))
        .min(settings.retry_max)
}

/// Delivers one batch; returns how many deliveries it attempted.
pub async fn deliver_batch(state: &AppState, client: &reqwest::Client) -> usize {
    let now = Utc::now();
    let lease_until = now
        + chrono::Duration::from_std(state.settings.hub.request_timeout * 3).unwrap_or_default();
    let deliveries = match state
        .store
        .claim_due_deliveries(now, lease_until, BATCH)
        .await
    {
        Ok(deliveries) => deliveries,
        Err(error) => {
            tracing::warn!(error.cause_chain = ?error, "cannot claim hub deliveries; will retry");
            return 0;
        }
    };
    let count = deliveries.len();
    let mut attempts = JoinSet::new();
    for delivery in deliveries {
        let (state, client) = (state.clone(), client.clone());
        attempts.spawn(async move {
            if let Err(error) = attempt(&state, &client, &delivery).await {
                tracing::warn!(error.cause_chain = ?error, delivery.id = delivery.id, "cannot record a hub delivery");
            }
        });
    }
    while attempts.join_next().await.is_some() {}
    count
}

async fn attempt(
    state: &AppState,
    client: &reqwest::Client,
    delivery: &Delivery,
) -> Result<(), StoreError> {
    let event = state.store.find_event(delivery.event_id).await?;
    let envelope = match &event {
        Some(event) => {
            event_envelope(state.store.as_ref(), &state.settings.public_base_url, event).await?
        }
        None => None,
    };
    let Some(envelope) = envelope else {
        let outcome = DeliveryOutcome {
            delivered: false,
            status_code: None,
            error: Some("event or resource gone".into()),
            retry_at: None,
        };
        return state
            .store
            .record_delivery_outcome(delivery.id, &outcome, Utc::now())
            .await;
    };
    // Checked at every attempt, as the policy may have changed: IP literals
    // here, host names by the client's resolver.
    if let Err(refused) = state
        .settings
        .callback_policy
        .check_literal(&delivery.callback)
    {
        return record_failure(
            state,
            delivery,
            None,
            format!("callback refused: {refused}"),
        )
        .await;
    }
    let result = client
        .post(&delivery.callback)
        .header("webhook-id", delivery.event_id.to_string())
        .json(&envelope)
        .send()
        .await;
    let (status_code, error) = match result {
        Ok(response) if response.status().is_success() => {
            (Some(i64::from(response.status().as_u16())), None)
        }
        Ok(response) => (
            Some(i64::from(response.status().as_u16())),
            Some(format!("listener answered {}", response.status())),
        ),
        Err(e) => (None, Some(format!("request failed: {e}"))),
    };
    match error {
        None => {
            tracing::info!(delivery.id = delivery.id, event.id = %delivery.event_id, "hub event delivered");
            let outcome = DeliveryOutcome {
                delivered: true,
                status_code,
                error: None,
                retry_at: None,
            };
            state
                .store
                .record_delivery_outcome(delivery.id, &outcome, Utc::now())
                .await
        }
        Some(error) => record_failure(state, delivery, status_code, error).await,
    }
}

/// Records a failed attempt and schedules the next one, or gives up after
/// `max_attempts`.
async fn record_failure(
    state: &AppState,
    delivery: &Delivery,
    status_code: Option<i64>,
    error: String,
) -> Result<(), StoreError> {
    let settings = &state.settings.hub;
    let attempts_made = delivery.attempts + 1;
    let gives_up = attempts_made >= i64::from(settings.max_attempts);
    let retry_at = (!gives_up).then(|| {
        Utc::now()
            + chrono::Duration::from_std(backoff(settings, delivery.attempts)).unwrap_or_default()
    });
    tracing::warn!(delivery.id = delivery.id, event.id = %delivery.event_id, webhook.attempt = attempts_made,
        gives_up, error = error.as_str(), "hub delivery failed");
    let outcome = DeliveryOutcome {
        delivered: false,
        status_code,
        error: Some(error),
        retry_at,
    };
    state
        .store
        .record_delivery_outcome(delivery.id, &outcome, Utc::now())
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let settings = HubSettings {
            retry_base: Duration::from_secs(1),
            retry_max: Duration::from_secs(60),
            ..Default::default()
        };
        let delays: Vec<u64> = (0..8).map(|n| backoff(&settings, n).as_secs()).collect();
        assert_eq!(delays, vec![1, 2, 4, 8, 16, 32, 60, 60]);
    }
}
