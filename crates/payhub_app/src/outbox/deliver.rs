//! POSTs due deliveries to their listeners and records each attempt.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use payhub_store::{Delivery, DeliveryKind, DeliveryOutcome, StoreError};
use secrecy::ExposeSecret;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::callback_policy::{CallbackPolicy, PolicyResolver};
use crate::settings::HubSettings;
use crate::webhook_signing;
use crate::Services;

/// Deliveries claimed per round, their outcomes recorded in one
/// transaction: as many as dispatch fans out in a round, so that under load
/// the round trips of a claim and a record are paid once per 512 events.
pub const BATCH: i64 = 512;

/// Attempts of a round in flight at once: bounds the connections opened
/// to listeners (a round's deliveries often go to one listener).
const ATTEMPTS_AT_ONCE: usize = 128;

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

/// Delivers one batch; returns how many deliveries it attempted. The
/// attempts run concurrently; their outcomes are written together, so a
/// round costs one write transaction however many listeners it reached
/// (on SQLite, every write waits for the one writer). If that write fails
/// the deliveries stay leased and are attempted again when the lease ends:
/// delivery is at least once.
pub async fn deliver_batch(state: &Arc<Services>, client: &reqwest::Client) -> usize {
    let now = Utc::now();
    // A round lasts at most one request timeout per wave of attempts; the
    // lease outlasts that, so no other worker claims a delivery in flight.
    let per_round = usize::try_from(BATCH).unwrap_or(ATTEMPTS_AT_ONCE);
    let waves = u32::try_from(per_round.div_ceil(ATTEMPTS_AT_ONCE)).unwrap_or(u32::MAX);
    let lease_until = now
        + chrono::Duration::from_std(state.config.hub.request_timeout * waves.saturating_add(2))
            .unwrap_or_default();
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
    let in_flight = Arc::new(Semaphore::new(ATTEMPTS_AT_ONCE));
    for delivery in deliveries {
        let (state, client, in_flight) = (state.clone(), client.clone(), in_flight.clone());
        attempts.spawn(async move {
            // The semaphore is never closed, so a permit always comes.
            let _turn = in_flight.acquire_owned().await.ok();
            let outcome = attempt(&state, &client, &delivery).await;
            outcome
                .map(|outcome| (delivery.id, outcome))
                .map_err(|error| (delivery.id, error))
        });
    }
    let mut outcomes = Vec::with_capacity(count);
    while let Some(joined) = attempts.join_next().await {
        match joined {
            Ok(Ok(outcome)) => outcomes.push(outcome),
            Ok(Err((id, error))) => {
                tracing::warn!(error.cause_chain = ?error, delivery.id = id, "cannot build a hub delivery; will retry");
            }
            Err(error) => tracing::error!(%error, "a hub delivery attempt panicked"),
        }
    }
    if let Err(error) = state
        .store
        .record_delivery_outcomes(&outcomes, Utc::now())
        .await
    {
        tracing::warn!(error.cause_chain = ?error, count = outcomes.len(), "cannot record hub deliveries; they are attempted again");
    }
    count
}

/// One attempt of `delivery`: its outcome, to be recorded.
async fn attempt(
    state: &Services,
    client: &reqwest::Client,
    delivery: &Delivery,
) -> Result<DeliveryOutcome, StoreError> {
    let body = match (&delivery.kind, &delivery.body) {
        (
            DeliveryKind::RetailWebhook | DeliveryKind::TelcoCallback | DeliveryKind::ApsNotify,
            Some(body),
        ) => Some(body.clone()),
        (
            DeliveryKind::RetailWebhook | DeliveryKind::TelcoCallback | DeliveryKind::ApsNotify,
            None,
        ) => None,
        // Built at dispatch; a delivery dispatched before bodies were kept
        // builds it from its event now.
        (DeliveryKind::TmfHub, Some(body)) => Some(body.clone()),
        (DeliveryKind::TmfHub, None) => tmf_body(state, delivery).await?,
    };
    let Some(body) = body else {
        crate::metrics::record_delivery_attempt(delivery.kind.as_str(), false, true);
        return Ok(DeliveryOutcome {
            delivered: false,
            status_code: None,
            error: Some("event or resource gone".into()),
            response: None,
            retry_at: None,
        });
    };
    // Checked at every attempt, as the policy may have changed: IP literals
    // here, host names by the client's resolver.
    if let Err(refused) = state
        .config
        .callback_policy
        .check_literal(&delivery.callback)
    {
        return Ok(failure(
            state,
            delivery,
            None,
            format!("callback refused: {refused}"),
            None,
        ));
    }
    let secret = state
        .master_key
        .webhook_secret(delivery.merchant_id.as_str());
    let message_id = format!("msg_{}", delivery.event_id);
    let Some(signed) = webhook_signing::sign(
        secret.expose_secret(),
        &message_id,
        Utc::now().timestamp(),
        body.as_bytes(),
    ) else {
        return Ok(failure(state, delivery, None, "cannot sign".into(), None));
    };
    let result = client
        .post(&delivery.callback)
        .header("content-type", "application/json")
        .header("webhook-id", signed.id)
        .header("webhook-timestamp", signed.timestamp)
        .header("webhook-signature", signed.signature)
        .body(body)
        .send()
        .await;
    let (status_code, response, error) = match result {
        Ok(response) => {
            let status = response.status();
            let text = response.text().await.unwrap_or_default();
            let excerpt = excerpt(&text);
            let error = acknowledgement_error(delivery.kind, status, &text);
            (Some(i64::from(status.as_u16())), Some(excerpt), error)
        }
        Err(e) => (None, None, Some(format!("request failed: {e}"))),
    };
    Ok(match error {
        None => {
            tracing::info!(delivery.id = delivery.id, event.id = %delivery.event_id, kind = delivery.kind.as_str(), "delivered");
            crate::metrics::record_delivery_attempt(delivery.kind.as_str(), true, false);
            DeliveryOutcome {
                delivered: true,
                status_code,
                error: None,
                response,
                retry_at: None,
            }
        }
        Some(error) => failure(state, delivery, status_code, error, response),
    })
}

/// An event listener's notification of a delivery, built from its event now.
async fn tmf_body(state: &Services, delivery: &Delivery) -> Result<Option<String>, StoreError> {
    let Some(listeners) = state.hooks.listeners() else {
        return Ok(None);
    };
    let Some(event) = state.store.find_event(delivery.event_id).await? else {
        return Ok(None);
    };
    Ok(listeners
        .envelope(state.store.as_ref(), &state.config.public_base_url, &event)
        .await?
        .map(|envelope| envelope.to_string()))
}

/// The first 512 bytes of an answer (on a character boundary), for the log.
fn excerpt(text: &str) -> String {
    let mut end = text.len().min(512);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

/// Whether a receiver's answer acknowledges the delivery; why not, if not.
/// A TMF listener and an APS `notifyUrl` acknowledge with any 2xx; a retail merchant with
/// `{"errorCode":"0"}` (seed 003).
fn acknowledgement_error(
    kind: DeliveryKind,
    status: reqwest::StatusCode,
    body: &str,
) -> Option<String> {
    if !status.is_success() {
        return Some(format!("receiver answered {status}"));
    }
    match kind {
        DeliveryKind::TmfHub | DeliveryKind::TelcoCallback | DeliveryKind::ApsNotify => None,
        DeliveryKind::RetailWebhook => {
            let code = serde_json::from_str::<serde_json::Value>(body)
                .ok()
                .and_then(|v| v.get("errorCode").cloned());
            match code {
                Some(serde_json::Value::String(c)) if c == "0" => None,
                Some(serde_json::Value::Number(n)) if n.to_string() == "0" => None,
                _ => Some("receiver did not answer {\"errorCode\":\"0\"}".into()),
            }
        }
    }
}

/// A failed attempt's outcome: the next attempt scheduled, or given up
/// after `max_attempts`.
fn failure(
    state: &Services,
    delivery: &Delivery,
    status_code: Option<i64>,
    error: String,
    response: Option<String>,
) -> DeliveryOutcome {
    let attempts_made = delivery.attempts + 1;
    // TMF listeners, telco callbacks and APS notifications: exponential backoff; retail
    // webhooks: seed 003's fixed interval.
    let (max_attempts, delay) = match delivery.kind {
        DeliveryKind::TmfHub | DeliveryKind::TelcoCallback | DeliveryKind::ApsNotify => (
            state.config.hub.max_attempts,
            backoff(&state.config.hub, delivery.attempts),
        ),
        DeliveryKind::RetailWebhook => (
            state.config.merchant_webhooks.attempts,
            state.config.merchant_webhooks.interval,
        ),
    };
    let gives_up = attempts_made >= i64::from(max_attempts);
    let retry_at =
        (!gives_up).then(|| Utc::now() + chrono::Duration::from_std(delay).unwrap_or_default());
    tracing::warn!(delivery.id = delivery.id, event.id = %delivery.event_id, webhook.attempt = attempts_made,
        gives_up, error = error.as_str(), "delivery failed");
    crate::metrics::record_delivery_attempt(delivery.kind.as_str(), false, gives_up);
    DeliveryOutcome {
        delivered: false,
        status_code,
        error: Some(error),
        response,
        retry_at,
    }
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
