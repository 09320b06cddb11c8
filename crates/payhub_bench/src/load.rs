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
                let request = match make(n) {
                    Request::Get(url) => client.get(url),
                    Request::Post { url, body } => client
                        .post(url)
                        .header("content-type", "application/json")
                        .body(body),
                };
                let sent = Instant::now();
                let ok = match request.bearer_auth(&key).send().await {
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
    let seconds = started.elapsed().as_secs_f64();
    all.sort_unstable();
    Measurement {
        requests: all.len(),
        errors,
        seconds,
        rps: all.len() as f64 / seconds,
        p50_ms: percentile(&all, 50.0),
        p99_ms: percentile(&all, 99.0),
        p999_ms: percentile(&all, 99.9),
    }
}
