//! Sustained write rates: a write is done when its outbox event has been
//! fanned out, not when the HTTP answer arrives. A write case is counted
//! until payhub's outbox has drained (no event left undispatched, no hub
//! delivery pending), and the backlog is sampled while the load runs, so a
//! rate that leaves a growing backlog is reported as such and not as a peak.
//! One listener is subscribed to the hub, so draining includes delivering
//! every event to it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use payhub_store::Store;
use serde::Serialize;

use crate::listener::Listener;
use crate::load::Measurement;

/// How often the backlog is read while the load runs, and while it drains.
const SAMPLE_EVERY: Duration = Duration::from_millis(100);
const DRAIN_POLL: Duration = Duration::from_millis(25);

/// Below this drain time the fan-out rate is not reported: the backlog is
/// polled every [`DRAIN_POLL`], so a shorter drain has no meaningful rate.
const MIN_DRAIN_FOR_RATE: Duration = Duration::from_millis(500);

/// A backlog growing by more than this share of the write rate (events per
/// second against writes per second) means the outbox is falling behind.
const GROWING_SHARE: f64 = 0.05;

/// What happened to the outbox around one write case.
#[derive(Clone, Debug, Serialize)]
pub struct Sustained {
    /// Events not yet fanned out (plus deliveries pending) when the load stopped.
    pub backlog_at_stop: i64,
    /// The backlog's trend while the load ran (least squares), events per second.
    pub backlog_growth_per_s: f64,
    /// Whether the backlog grew by more than 5% of the write rate.
    pub growing: bool,
    /// From the end of the load until the backlog was empty.
    pub drain_s: f64,
    /// False when the backlog had not drained within the limit: then
    /// `sustained_rps` is an upper bound.
    pub drained: bool,
    /// Successful writes over (load time + drain time).
    pub sustained_rps: f64,
    /// Events fanned out per second while draining (the backlog at stop over
    /// the drain time); 0 when the drain took under half a second, too
    /// short to give a rate.
    pub drain_events_per_s: f64,
    /// Notifications the listener took from the load's start until the
    /// outbox drained.
    pub listener_events: u64,
    /// Those over (load time + drain time): what one listener receives per
    /// second at the sustained rate.
    pub listener_events_per_s: f64,
    /// Notifications the listener took while the load ran, per second of
    /// load: whether fan-out keeps up with creates as they come, not only
    /// once they stop (a drained backlog makes the line above equal the
    /// sustained rate whatever happened under load).
    pub listener_under_load_per_s: f64,
    /// Successful writes per second while the load ran.
    pub load_write_rps: f64,
}

impl Sustained {
    /// Whether the listener received, while the load ran, at least the
    /// share of the write rate that [`GROWING_SHARE`] allows a backlog to
    /// lag by.
    pub fn listener_keeps_pace(&self) -> bool {
        self.listener_under_load_per_s >= (1.0 - GROWING_SHARE) * self.load_write_rps
    }
}

/// The backlog now: events not yet dispatched plus deliveries pending.
async fn backlog(store: &dyn Store) -> anyhow::Result<i64> {
    Ok(store.count_undelivered().await?)
}

/// Waits until the backlog is empty or `limit` has passed; returns how long
/// it took and whether it drained.
pub async fn wait_drained(store: &dyn Store, limit: Duration) -> anyhow::Result<(Duration, bool)> {
    let started = Instant::now();
    loop {
        if backlog(store).await? == 0 {
            return Ok((started.elapsed(), true));
        }
        if started.elapsed() >= limit {
            return Ok((started.elapsed(), false));
        }
        tokio::time::sleep(DRAIN_POLL).await;
    }
}

/// Samples the backlog from now until the returned sender is dropped or
/// sends; the task's result is (seconds since start, backlog) pairs.
pub fn watch_backlog(
    store: Arc<dyn Store>,
) -> (
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<Vec<(f64, i64)>>,
) {
    let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let started = Instant::now();
        let mut samples = Vec::new();
        loop {
            if let Ok(n) = backlog(store.as_ref()).await {
                samples.push((started.elapsed().as_secs_f64(), n));
            }
            tokio::select! {
                _ = &mut stopped => break,
                _ = tokio::time::sleep(SAMPLE_EVERY) => {}
            }
        }
        samples
    });
    (stop, task)
}

/// The least-squares slope of the samples, per second; 0 with fewer than two.
fn slope(samples: &[(f64, i64)]) -> f64 {
    let n = samples.len() as f64;
    if samples.len() < 2 {
        return 0.0;
    }
    let mean_t = samples.iter().map(|(t, _)| t).sum::<f64>() / n;
    let mean_b = samples.iter().map(|(_, b)| *b as f64).sum::<f64>() / n;
    let (mut cov, mut var) = (0.0, 0.0);
    for (t, b) in samples {
        cov += (t - mean_t) * (*b as f64 - mean_b);
        var += (t - mean_t) * (t - mean_t);
    }
    if var > 0.0 {
        cov / var
    } else {
        0.0
    }
}

/// Reads the backlog at the end of a load run, waits for it to drain (at
/// most `limit`), and sums the case up against the load's `measurement`.
pub async fn finish(
    store: &dyn Store,
    measurement: &Measurement,
    samples: &[(f64, i64)],
    limit: Duration,
    listener: (&Listener, u64),
) -> anyhow::Result<Sustained> {
    let backlog_at_stop = backlog(store).await?;
    let heard_under_load = listener.0.received().saturating_sub(listener.1);
    let (drain, drained) = wait_drained(store, limit).await?;
    let writes = measurement.requests.saturating_sub(measurement.errors) as f64;
    let write_rate = writes / measurement.seconds.max(f64::EPSILON);
    let growth = slope(samples);
    let drain_s = drain.as_secs_f64();
    Ok(Sustained {
        backlog_at_stop,
        backlog_growth_per_s: growth,
        growing: growth > GROWING_SHARE * write_rate,
        drain_s,
        drained,
        sustained_rps: writes / (measurement.seconds + drain_s),
        listener_events: listener.0.received().saturating_sub(listener.1),
        listener_events_per_s: listener.0.received().saturating_sub(listener.1) as f64
            / (measurement.seconds + drain_s),
        listener_under_load_per_s: heard_under_load as f64 / measurement.seconds.max(f64::EPSILON),
        load_write_rps: write_rate,
        drain_events_per_s: if backlog_at_stop > 0 && drain >= MIN_DRAIN_FOR_RATE {
            backlog_at_stop as f64 / drain_s
        } else {
            0.0
        },
    })
}

#[cfg(test)]
mod tests {
    use super::{slope, Sustained};

    fn sustained(under_load: f64, load: f64) -> Sustained {
        Sustained {
            backlog_at_stop: 0,
            backlog_growth_per_s: 0.0,
            growing: false,
            drain_s: 0.0,
            drained: true,
            sustained_rps: load,
            drain_events_per_s: 0.0,
            listener_events: 0,
            listener_events_per_s: load,
            listener_under_load_per_s: under_load,
            load_write_rps: load,
        }
    }

    #[test]
    fn the_listener_keeps_pace_only_if_it_takes_the_create_rate_while_the_load_runs() {
        assert!(sustained(1000.0, 1000.0).listener_keeps_pace());
        assert!(
            sustained(950.0, 1000.0).listener_keeps_pace(),
            "within the 5% a trend allows"
        );
        assert!(!sustained(940.0, 1000.0).listener_keeps_pace());
        // A drained run makes the rate to the drain equal the sustained rate
        // whatever happened under load: only the load's share decides.
        assert!(!sustained(300.0, 1000.0).listener_keeps_pace());
    }

    #[test]
    fn slope_of_a_steady_backlog_is_zero_and_of_a_growing_one_its_rate() {
        let steady: Vec<_> = (0..10).map(|i| (f64::from(i) * 0.1, 50)).collect();
        assert!(slope(&steady).abs() < 1e-9);
        let growing: Vec<_> = (0..10)
            .map(|i| (f64::from(i) * 0.1, i64::from(i) * 100))
            .collect();
        assert!((slope(&growing) - 1000.0).abs() < 1e-6);
        assert!(slope(&[(0.0, 5)]).abs() < 1e-9);
    }
}
