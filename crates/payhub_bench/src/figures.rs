//! The benchmark's figures: what one run measured, per backend and case, as
//! `report` writes them (Markdown and JSON) and `targets` checks them.

use std::time::Duration;

use serde::Serialize;

use crate::load::Measurement;
use crate::sustained::Sustained;

/// The case whose rate the others are compared with.
pub const HTTP_CEILING: &str = "HTTP ceiling: GET /healthz";

#[derive(Serialize)]
pub struct CaseRun {
    pub case: String,
    pub concurrency: usize,
    pub measurement: Measurement,
    pub cpu_s_per_1000: f64,
    /// Write cases: counted until the outbox drained.
    pub sustained: Option<Sustained>,
}

/// One storage case: the raw engine's ceiling and payhub's store path for
/// the same rows, transaction size and concurrency.
#[derive(Serialize)]
pub struct StorageCase {
    pub rows_per_transaction: usize,
    pub concurrency: usize,
    pub raw_rows_per_s: f64,
    pub payhub_rows_per_s: f64,
}

impl StorageCase {
    pub fn share(&self) -> f64 {
        if self.raw_rows_per_s > 0.0 {
            self.payhub_rows_per_s / self.raw_rows_per_s
        } else {
            0.0
        }
    }
}

#[derive(Serialize)]
pub struct BackendRun {
    pub backend: String,
    pub rows: usize,
    pub startup_ms: f64,
    pub peak_rss_mb: f64,
    pub storage: Vec<StorageCase>,
    pub cases: Vec<CaseRun>,
    /// Open-loop runs at half of each case's best rate (sustained for writes).
    pub half_peak: Vec<CaseRun>,
    pub scale: Option<ScaleRun>,
}

/// Create and get at concurrency 16 with few and with many payments stored.
#[derive(Serialize)]
pub struct ScaleRun {
    pub small_rows: usize,
    pub large_rows: usize,
    pub small_create: f64,
    pub small_get: f64,
    pub large_create: f64,
    pub large_get: f64,
}

impl BackendRun {
    pub fn new(backend: &str) -> Self {
        Self {
            backend: backend.to_owned(),
            rows: 0,
            startup_ms: 0.0,
            peak_rss_mb: 0.0,
            storage: Vec::new(),
            cases: Vec::new(),
            half_peak: Vec::new(),
            scale: None,
        }
    }

    pub fn case(&self, case: &str, concurrency: usize) -> Option<&CaseRun> {
        self.cases
            .iter()
            .find(|c| c.case == case && c.concurrency == concurrency)
    }

    pub fn rps(&self, case: &str, concurrency: usize) -> Option<f64> {
        self.case(case, concurrency).map(|c| c.measurement.rps)
    }

    /// The raw engine's one-row-per-transaction ceiling at `concurrency`.
    pub fn raw_one_row(&self, concurrency: usize) -> Option<f64> {
        self.storage
            .iter()
            .find(|s| s.rows_per_transaction == 1 && s.concurrency == concurrency)
            .map(|s| s.raw_rows_per_s)
    }

    /// The best sustained rate of a write case over the concurrencies.
    pub fn best_sustained(&self, case: &str) -> Option<f64> {
        self.cases
            .iter()
            .filter(|c| c.case == case)
            .filter_map(|c| c.sustained.as_ref().map(|s| s.sustained_rps))
            .reduce(f64::max)
    }
}

#[derive(Serialize)]
pub struct Report {
    pub date: String,
    pub cores: usize,
    pub smoke: bool,
    /// The command line that produced the figures.
    pub command: String,
    pub concurrency: Vec<usize>,
    pub seconds_per_case: f64,
    pub backends: Vec<BackendRun>,
}

/// A command-line argument as the report may show it: a URL's password
/// replaced (`--postgres-url URL` and `--postgres-url=URL` alike).
fn redact_arg(arg: &str) -> String {
    match arg.split_once('=') {
        Some((flag, url)) if flag.starts_with("--") && url.contains("://") => {
            format!("{flag}={}", payhub_store::redact_url(url))
        }
        _ if arg.contains("://") => payhub_store::redact_url(arg),
        _ => arg.to_owned(),
    }
}

impl Report {
    pub fn new(smoke: bool, concurrency: &[usize], duration: Duration) -> Self {
        let command = std::env::args()
            .enumerate()
            .map(|(i, a)| {
                if i == 0 {
                    "target/release/payhub-bench".to_owned()
                } else {
                    redact_arg(&a)
                }
            })
            .collect::<Vec<_>>()
            .join(" ");
        Self {
            date: chrono::Utc::now().format("%Y-%m-%d").to_string(),
            cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
            smoke,
            command,
            concurrency: concurrency.to_vec(),
            seconds_per_case: duration.as_secs_f64(),
            backends: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::redact_arg;

    #[test]
    fn a_password_in_a_url_argument_is_not_written_to_the_report() {
        for arg in [
            "postgres://bench:s3cret@127.0.0.1/postgres",
            "--postgres-url=postgres://bench:s3cret@127.0.0.1/postgres",
        ] {
            let shown = redact_arg(arg);
            assert!(!shown.contains("s3cret"), "{arg} shown as {shown}");
            assert!(shown.contains("127.0.0.1"), "{arg} shown as {shown}");
        }
        assert_eq!(redact_arg("--rows"), "--rows");
    }
}
