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
use tokio::sync::{watch, Notify};

use crate::Services;

/// After new outbox work, how long the workers wait for more before a pass.
/// Each pass costs a couple of write transactions; without this window a
/// steady stream of creates would wake them once per create and compete with
/// the creates for the database's writer. It adds at most this much to the
/// latency of a hub notification.
const COALESCE: Duration = Duration::from_millis(25);

/// How often expired idempotency keys are purged.
const PURGE_INTERVAL: Duration = Duration::from_secs(3600);

/// Runs the workers until `shutdown` turns true: three loops side by side,
/// so that none waits behind another's round trips. Under load a round of
/// dispatch, a round of deliveries and the checks used to take turns in one
/// loop, which capped deliveries at one round (128) per turn of all three
/// (docs/PERFORMANCE.md, "Fan-out to one listener").
/// - dispatch: outbox events become deliveries; woken by new outbox work;
/// - delivery: due deliveries are POSTed; woken when dispatch ran, and by
///   the poll interval for retries that come due;
/// - checks: unknown outcomes, bill refunds, each dialect's deadlines and
///   the purge of expired keys; woken when dispatch ran (a write may have
///   made a check due), and by the poll interval.
pub async fn run_workers(state: Arc<Services>, shutdown: watch::Receiver<bool>) {
    let client = match deliver::http_client(&state.config.hub, state.config.callback_policy.clone())
    {
        Ok(client) => client,
        Err(error) => {
            tracing::error!(error.cause_chain = ?error, "cannot build the hub HTTP client; hub deliveries are off");
            return;
        }
    };
    let deliveries_due = Notify::new();
    let checks_due = Notify::new();
    tokio::join!(
        dispatch_loop(&state, [&deliveries_due, &checks_due], shutdown.clone()),
        delivery_loop(&state, &client, &deliveries_due, shutdown.clone()),
        checks_loop(&state, &checks_due, shutdown),
    );
}

/// What one pass of a worker loop did.
struct Pass {
    /// Items handled.
    handled: usize,
    /// A full batch: more is waiting, so the next pass starts at once.
    full: bool,
}

/// Between two passes: none after a full batch; after a pass that found
/// nothing, until `wake`, the poll interval or shutdown; then [`COALESCE`]
/// so that the next pass finds many items, not one.
async fn pause(
    pass: Pass,
    wake: &Notify,
    poll_interval: Duration,
    shutdown: &mut watch::Receiver<bool>,
) {
    if pass.full {
        return;
    }
    if pass.handled == 0 {
        tokio::select! {
            _ = wake.notified() => {}
            _ = tokio::time::sleep(poll_interval) => {}
            _ = shutdown.changed() => {}
        }
    }
    tokio::select! {
        _ = tokio::time::sleep(COALESCE) => {}
        _ = shutdown.changed() => {}
    }
}

async fn dispatch_loop(
    state: &Services,
    wake_after: [&Notify; 2],
    mut shutdown: watch::Receiver<bool>,
) {
    while !*shutdown.borrow() {
        let handled = dispatch::dispatch_batch(state).await;
        if handled > 0 {
            wake_after.iter().for_each(|other| other.notify_one());
        }
        let full = i64::try_from(handled).unwrap_or(i64::MAX) >= dispatch::BATCH;
        let pass = Pass { handled, full };
        pause(
            pass,
            &state.outbox_written,
            state.config.hub.poll_interval,
            &mut shutdown,
        )
        .await;
    }
}

async fn delivery_loop(
    state: &Arc<Services>,
    client: &reqwest::Client,
    wake: &Notify,
    mut shutdown: watch::Receiver<bool>,
) {
    while !*shutdown.borrow() {
        let handled = deliver::deliver_batch(state, client).await;
        let full = i64::try_from(handled).unwrap_or(i64::MAX) >= deliver::BATCH;
        let pass = Pass { handled, full };
        pause(pass, wake, state.config.hub.poll_interval, &mut shutdown).await;
    }
}

async fn checks_loop(state: &Services, wake: &Notify, mut shutdown: watch::Receiver<bool>) {
    let mut last_purge = tokio::time::Instant::now() - PURGE_INTERVAL;
    while !*shutdown.borrow() {
        let mut handled = crate::gateways::flow::run_checks(state).await
            + crate::carrier_billing::bill_refund::run_checks(state).await;
        for dialect in state.hooks.dialects() {
            handled += dialect.run_due_work(state).await;
        }
        if last_purge.elapsed() >= PURGE_INTERVAL {
            purge_idempotency_keys(state).await;
            last_purge = tokio::time::Instant::now();
        }
        let pass = Pass {
            handled,
            full: false,
        };
        pause(pass, wake, state.config.hub.poll_interval, &mut shutdown).await;
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
