//! The workers: they carry outbox events to their receivers (event
//! listeners and merchant webhooks), and run the checks that come due with
//! time (unknown gateway outcomes, bill refunds, each dialect's deadlines).
//!
//! Delivery takes two steps, each restartable at any point:
//! 1. [`dispatch`]: an event not yet fanned out is matched against the
//!    merchant's listeners, one delivery row per match is written and the event
//!    is marked dispatched, in one transaction.
//! 2. [`deliver`]: due deliveries are POSTed; a 2xx answer ends one, anything
//!    else schedules a retry with exponential backoff until `max_attempts`.
//!
//! Claims are leases, so a worker that dies mid-way only delays its work.
//! Delivery is therefore at least once: listeners deduplicate on `eventId`.

pub mod deliver;
pub mod dispatch;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::watch;

use crate::Services;

/// After new outbox work, how long the workers wait for more before a pass.
/// Each pass costs a couple of write transactions; without this window a
/// steady stream of creates would wake them once per create and compete with
/// the creates for the database's writer. It adds at most this much to the
/// latency of a hub notification.
const COALESCE: Duration = Duration::from_millis(25);

/// How often expired idempotency keys are purged.
const PURGE_INTERVAL: Duration = Duration::from_secs(3600);

/// Runs the hub workers until `shutdown` turns true.
pub async fn run_workers(state: Arc<Services>, mut shutdown: watch::Receiver<bool>) {
    let client = match deliver::http_client(&state.config.hub, state.config.callback_policy.clone())
    {
        Ok(client) => client,
        Err(error) => {
            tracing::error!(error.cause_chain = ?error, "cannot build the hub HTTP client; hub deliveries are off");
            return;
        }
    };
    let mut last_purge = tokio::time::Instant::now() - PURGE_INTERVAL;
    loop {
        if *shutdown.borrow() {
            break;
        }
        let dispatched = dispatch::dispatch_batch(&state).await;
        let delivered = deliver::deliver_batch(&state, &client).await;
        let mut checked = crate::gateways::flow::run_checks(&state).await
            + crate::carrier_billing::bill_refund::run_checks(&state).await;
        for dialect in state.hooks.dialects() {
            checked += dialect.run_due_work(&state).await;
        }
        if last_purge.elapsed() >= PURGE_INTERVAL {
            purge_idempotency_keys(&state).await;
            last_purge = tokio::time::Instant::now();
        }
        // A full batch of either kind means more is waiting: no pause.
        let backlogged = i64::try_from(dispatched).unwrap_or(i64::MAX) >= dispatch::BATCH
            || i64::try_from(delivered).unwrap_or(i64::MAX) >= deliver::BATCH;
        if !backlogged {
            if dispatched + delivered + checked == 0 {
                tokio::select! {
                    _ = state.outbox_written.notified() => {}
                    _ = tokio::time::sleep(state.config.hub.poll_interval) => {}
                    _ = shutdown.changed() => {}
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(COALESCE) => {}
                _ = shutdown.changed() => {}
            }
        }
    }
}

async fn purge_idempotency_keys(state: &Services) {
    let retention = chrono::Duration::from_std(state.config.idempotency_retention)
        .unwrap_or(chrono::Duration::days(1));
    match state
        .store
        .purge_idempotency_keys(Utc::now() - retention)
        .await
    {
        Ok(0) => {}
        Ok(purged) => tracing::info!(purged, "expired idempotency keys purged"),
        Err(error) => tracing::warn!(error.cause_chain = ?error, "cannot purge idempotency keys"),
    }
    let window = chrono::Duration::from_std(state.config.signature_retention)
        .unwrap_or(chrono::Duration::hours(1));
    if let Err(error) = state.store.purge_seen_signatures(Utc::now() - window).await {
        tracing::warn!(error.cause_chain = ?error, "cannot purge seen signatures");
    }
}
