//! Closed-loop load: `concurrency` workers, each sending its next request as
//! soon as the previous one answered, for a fixed time.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

/// What one request of a case is.
#[derive(Clone)]
pub enum Request {
    Get(String),
    Post { url: String, body: String },
}

impl Request {
    /// The HTTP request, authenticated as the benchmark's merchant.
    fn build(self, client: &reqwest::Client, api_key: &str) -> reqwest::RequestBuilder {
        match self {
            Request::Get(url) => client.get(url),
            Request::Post { url, body } => client
                .post(url)
                .header("content-type", "application/json")
                .body(body),
        }
        .bearer_auth(api_key)
    }
}

/// Makes the `n`-th request of a case (each worker counts from a shared counter).
pub type RequestMaker = Arc<dyn Fn(usize) -> Request + Send + Sync>;

/// The result of one case at one concurrency.
#[derive(Clone, Debug, Serialize)]
pub struct Measurement {
    pub requests: usize,
    pub errors: usize,
    pub seconds: f64,
    pub rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
}

fn percentile(sorted_us: &[u64], p: f64) -> f64 {
    if sorted_us.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * (sorted_us.len() as f64)).ceil() as usize;
    sorted_us[rank.clamp(1, sorted_us.len()) - 1] as f64 / 1000.0
}

/// Runs one case; every response that is not 2xx counts as an error.
pub async fn run(
    client: &reqwest::Client,
    api_key: &str,
    concurrency: usize,
    duration: Duration,
    make: RequestMaker,
) -> Measurement {
    let counter = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let deadline = started + duration;
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (client, key, make, counter) = (
            client.clone(),
            api_key.to_owned(),
            make.clone(),
            counter.clone(),
        );
        workers.spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0;
            while Instant::now() < deadline {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                let request = make(n).build(&client, &key);
                let sent = Instant::now();
                let ok = match request.send().await {
                    Ok(response) => {
                        let ok = response.status().is_success();
                        ok && response.bytes().await.is_ok()
                    }
                    Err(_) => false,
                };
                latencies.push(u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX));
                if !ok {
                    errors += 1;
                }
            }
            (latencies, errors)
        });
    }
    let mut all = Vec::new();
    let mut errors = 0;
    while let Some(Ok((latencies, e))) = workers.join_next().await {
        all.extend(latencies);
        errors += e;
    }
    summarize(all, errors, started.elapsed().as_secs_f64())
}

/// Rate and latency percentiles of a run from its latencies in microseconds.
fn summarize(mut latencies_us: Vec<u64>, errors: usize, seconds: f64) -> Measurement {
    latencies_us.sort_unstable();
    Measurement {
        requests: latencies_us.len(),
        errors,
        seconds,
        rps: latencies_us.len() as f64 / seconds,
        p50_ms: percentile(&latencies_us, 50.0),
        p99_ms: percentile(&latencies_us, 99.0),
        p999_ms: percentile(&latencies_us, 99.9),
    }
}

/// How long after the run's end a sender may still be catching up; the
/// requests it has not sent by then count as errors (payhub did not keep up
/// with the rate).
const CATCH_UP: Duration = Duration::from_secs(1);

/// Open-loop load at `rate_per_s` over `connections` connections, in the
/// manner of wrk2: request `n` is due at `n / rate` and goes out on sender
/// `n % connections` as soon as that sender's previous request answered, and
/// its latency is measured from when it was due, so waiting behind a slow
/// answer counts (no coordinated omission). A fixed set of connections keeps
/// the generator's own cost flat when payhub falls behind: an earlier version
/// spawned every request as it fell due, and behind schedule it opened new
/// connections by the thousand on the same two cores, which made the backlog
/// it was measuring. Tokio's timer has millisecond resolution, so above
/// 1,000 req/s the requests of each millisecond leave together: bursty
/// arrivals, which if anything makes the tail look worse.
pub async fn run_at_rate(
    client: &reqwest::Client,
    api_key: &str,
    rate_per_s: f64,
    connections: usize,
    duration: Duration,
    make: RequestMaker,
) -> Measurement {
    let started = tokio::time::Instant::now();
    let interval = Duration::from_secs_f64(1.0 / rate_per_s.max(1.0));
    let end = started + duration;
    let connections = connections.max(1);
    let mut senders = tokio::task::JoinSet::new();
    for first in 0..connections {
        let (client, key, make) = (client.clone(), api_key.to_owned(), make.clone());
        senders.spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0;
            let mut n = first;
            loop {
                let due = started + interval.mul_f64(n as f64);
                if due >= end {
                    break;
                }
                if tokio::time::Instant::now() > end + CATCH_UP {
                    errors += 1;
                    n += connections;
                    continue;
                }
                tokio::time::sleep_until(due).await;
                let request = make(n).build(&client, &key);
                let ok = match request.send().await {
                    Ok(response) => {
                        response.status().is_success() && response.bytes().await.is_ok()
                    }
                    Err(_) => false,
                };
                latencies.push(u64::try_from(due.elapsed().as_micros()).unwrap_or(u64::MAX));
                if !ok {
                    errors += 1;
                }
                n += connections;
            }
            (latencies, errors)
        });
    }
    let mut all = Vec::new();
    let mut errors = 0;
    while let Some(done) = senders.join_next().await {
        match done {
            Ok((latencies, e)) => {
                all.extend(latencies);
                errors += e;
            }
            Err(_) => errors += 1,
        }
    }
    summarize(all, errors, started.elapsed().as_secs_f64())
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use std::collections::HashSet;
    use std::net::SocketAddr;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use axum::extract::{ConnectInfo, State};
    use axum::routing::get;
    use axum::Router;

    use super::{run_at_rate, Request, RequestMaker};

    /// A server on 127.0.0.1 that answers every request after `delay` and
    /// remembers each peer address (one per connection) it served.
    async fn slow_server(delay: Duration) -> (String, Arc<Mutex<HashSet<SocketAddr>>>) {
        let peers = Arc::new(Mutex::new(HashSet::new()));
        let app = Router::new()
            .route(
                "/",
                get(
                    move |State(peers): State<Arc<Mutex<HashSet<SocketAddr>>>>,
                          ConnectInfo(peer): ConnectInfo<SocketAddr>| async move {
                        peers.lock().map(|mut p| p.insert(peer)).ok();
                        tokio::time::sleep(delay).await;
                        "ok"
                    },
                ),
            )
            .with_state(peers.clone());
        let socket = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port on 127.0.0.1");
        let url = format!("http://{}/", socket.local_addr().expect("its address"));
        tokio::spawn(async move {
            let _ = axum::serve(
                socket,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await;
        });
        (url, peers)
    }

    fn gets(url: String) -> RequestMaker {
        Arc::new(move |_| Request::Get(url.clone()))
    }

    /// Behind schedule (each answer takes 20 ms, asked for every 5 ms), the
    /// open loop keeps to its connections instead of opening more, and
    /// charges each request the time it waited for its sender.
    #[tokio::test]
    async fn an_open_loop_behind_schedule_keeps_its_connections_and_counts_the_wait() {
        let (url, peers) = slow_server(Duration::from_millis(20)).await;
        let client = reqwest::Client::new();
        let measured = run_at_rate(
            &client,
            "key",
            200.0,
            2,
            Duration::from_millis(400),
            gets(url),
        )
        .await;
        let connections = peers.lock().map(|p| p.len()).unwrap_or(usize::MAX);
        assert!(connections <= 2, "{connections} connections for 2 senders");
        // 80 requests fell due; two senders answer about 100 a second, so
        // the later ones waited for their sender, and that wait is counted.
        assert_eq!(measured.requests + measured.errors, 80, "{measured:?}");
        assert!(measured.p99_ms > 100.0, "{measured:?}");
    }
}
