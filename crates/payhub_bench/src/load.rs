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

/// Most requests an open-loop run lets be in flight; past it, a request counts
/// as an error (the server is not keeping up with the rate).
const MAX_IN_FLIGHT: usize = 2048;

/// Open-loop load: requests are sent at `rate_per_s` whatever the answers, and
/// each latency is measured from the moment the request was due, so waiting in
/// a queue counts (no coordinated omission). Tokio's timer has millisecond
/// resolution, so above 1,000 req/s the requests of each millisecond leave
/// together: bursty arrivals, which if anything makes the tail look worse.
pub async fn run_at_rate(
    client: &reqwest::Client,
    api_key: &str,
    rate_per_s: f64,
    duration: Duration,
    make: RequestMaker,
) -> Measurement {
    let started = tokio::time::Instant::now();
    let interval = Duration::from_secs_f64(1.0 / rate_per_s.max(1.0));
    let mut in_flight = tokio::task::JoinSet::new();
    let mut latencies = Vec::new();
    let mut errors = 0;
    let mut n = 0_usize;
    loop {
        let due = started + interval.mul_f64(n as f64);
        if due >= started + duration {
            break;
        }
        tokio::time::sleep_until(due).await;
        while let Some(done) = in_flight.try_join_next() {
            collect(done, &mut latencies, &mut errors);
        }
        if in_flight.len() >= MAX_IN_FLIGHT {
            errors += 1;
            n += 1;
            continue;
        }
        let request = make(n).build(client, api_key);
        in_flight.spawn(async move {
            let ok = match request.send().await {
                Ok(response) => response.status().is_success() && response.bytes().await.is_ok(),
                Err(_) => false,
            };
            (due.elapsed(), ok)
        });
        n += 1;
    }
    while let Some(done) = in_flight.join_next().await {
        collect(done, &mut latencies, &mut errors);
    }
    summarize(latencies, errors, started.elapsed().as_secs_f64())
}

fn collect(
    done: Result<(Duration, bool), tokio::task::JoinError>,
    latencies: &mut Vec<u64>,
    errors: &mut usize,
) {
    match done {
        Ok((latency, ok)) => {
            latencies.push(u64::try_from(latency.as_micros()).unwrap_or(u64::MAX));
            if !ok {
                *errors += 1;
            }
        }
        Err(_) => *errors += 1,
    }
}
