//! The benchmark's figures, their ratios to the ceilings, and the targets of
//! issue 4 checked against them; written as Markdown and as JSON.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use serde::Serialize;

use crate::load::Measurement;

const HTTP_CEILING: &str = "HTTP ceiling: GET /healthz";

#[derive(Serialize)]
pub struct CaseRun {
    pub case: String,
    pub concurrency: usize,
    pub measurement: Measurement,
    pub cpu_s_per_1000: f64,
}

#[derive(Serialize)]
pub struct BackendRun {
    pub backend: String,
    pub rows: usize,
    pub startup_ms: f64,
    pub peak_rss_mb: f64,
    /// (concurrency, rows per second)
    pub storage_one_row_per_tx: Vec<(usize, f64)>,
    pub storage_batched_rows_per_s: f64,
    pub cases: Vec<CaseRun>,
    /// Open-loop runs at half of each case's best closed-loop rate.
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
            storage_one_row_per_tx: Vec::new(),
            storage_batched_rows_per_s: 0.0,
            cases: Vec::new(),
            half_peak: Vec::new(),
            scale: None,
        }
    }

    fn rps(&self, case: &str, concurrency: usize) -> Option<f64> {
        self.cases
            .iter()
            .find(|c| c.case == case && c.concurrency == concurrency)
            .map(|c| c.measurement.rps)
    }

    fn storage_ceiling(&self, concurrency: usize) -> Option<f64> {
        self.storage_one_row_per_tx
            .iter()
            .find(|(c, _)| *c == concurrency)
            .map(|(_, r)| *r)
    }
}

#[derive(Serialize)]
pub struct Report {
    pub date: String,
    pub cores: usize,
    pub smoke: bool,
    pub concurrency: Vec<usize>,
    pub seconds_per_case: f64,
    pub backends: Vec<BackendRun>,
}

fn ratio(value: f64, ceiling: Option<f64>) -> String {
    match ceiling {
        Some(c) if c > 0.0 => format!("{:.0}%", value / c * 100.0),
        _ => "–".into(),
    }
}

fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "**missed**"
    }
}

impl Report {
    pub fn new(smoke: bool, concurrency: &[usize], duration: Duration) -> Self {
        Self {
            date: chrono::Utc::now().format("%Y-%m-%d").to_string(),
            cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
            smoke,
            concurrency: concurrency.to_vec(),
            seconds_per_case: duration.as_secs_f64(),
            backends: Vec::new(),
        }
    }

    pub fn markdown(&self) -> String {
        let mut md = String::new();
        let _ = writeln!(md, "# payhub benchmarks\n");
        let _ = writeln!(
            md,
            "Measured {} on a machine with {} cores, {} s per case{}, by \
             `cargo build --release --workspace && target/release/payhub-bench`. The load generator \
             runs on the same machine as payhub and shares its cores. Ratios compare figures of this \
             one run only.\n",
            self.date,
            self.cores,
            self.seconds_per_case,
            if self.smoke { " (smoke mode: too short to quote)" } else { "" }
        );
        for b in &self.backends {
            self.backend_section(&mut md, b);
        }
        self.targets_section(&mut md);
        md
    }

    fn backend_section(&self, md: &mut String, b: &BackendRun) {
        let _ = writeln!(md, "## {}\n", b.backend);
        let _ = writeln!(
            md,
            "Start-up to ready: **{:.0} ms**. Peak resident memory of payhub over the run: **{:.1} MB**. \
             Payments stored before the read cases: {} (plus those the write cases add).\n",
            b.startup_ms, b.peak_rss_mb, b.rows
        );
        let _ = writeln!(
            md,
            "Storage ceiling (payment row + outbox event, same driver and durability, no HTTP):\n"
        );
        let _ = writeln!(md, "| transactions | concurrency | rows/s |\n|---|---|---|");
        for (c, rps) in &b.storage_one_row_per_tx {
            let _ = writeln!(md, "| one row each | {c} | {rps:.0} |");
        }
        let _ = writeln!(
            md,
            "| 1,000 rows each | 1 | {:.0} |\n",
            b.storage_batched_rows_per_s
        );
        let _ = writeln!(
            md,
            "| case | concurrency | req/s | p50 ms | p99 ms | p99.9 ms | errors | CPU s / 1k req | vs HTTP ceiling | vs storage 1-row ceiling |"
        );
        let _ = writeln!(md, "|---|---|---|---|---|---|---|---|---|---|");
        for c in &b.cases {
            let m = &c.measurement;
            let http = ratio(m.rps, b.rps(HTTP_CEILING, c.concurrency));
            let storage = if c.case.starts_with("POST") {
                ratio(m.rps, b.storage_ceiling(c.concurrency))
            } else {
                "–".into()
            };
            let _ = writeln!(
                md,
                "| {} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {} | {:.3} | {} | {} |",
                c.case,
                c.concurrency,
                m.rps,
                m.p50_ms,
                m.p99_ms,
                m.p999_ms,
                m.errors,
                c.cpu_s_per_1000,
                http,
                storage
            );
        }
        let _ = writeln!(md);
        if !b.half_peak.is_empty() {
            let _ = writeln!(md, "Open-loop at half of each case's best rate (latency from when each request was due):\n");
            let _ = writeln!(md, "| case | rate req/s | p50 ms | p99 ms | p99.9 ms | errors |\n|---|---|---|---|---|---|");
            for c in &b.half_peak {
                let m = &c.measurement;
                let _ = writeln!(
                    md,
                    "| {} | {:.0} | {:.2} | {:.2} | {:.2} | {} |",
                    c.case, m.rps, m.p50_ms, m.p99_ms, m.p999_ms, m.errors
                );
            }
            let _ = writeln!(md);
        }
        if let Some(s) = &b.scale {
            let _ = writeln!(md, "Cost against data (concurrency 16):\n");
            let _ = writeln!(md, "| payments stored | POST /payment req/s | GET /payment/{{id}} req/s |\n|---|---|---|");
            let _ = writeln!(
                md,
                "| {} | {:.0} | {:.0} |",
                s.small_rows, s.small_create, s.small_get
            );
            let _ = writeln!(
                md,
                "| {} | {:.0} | {:.0} |\n",
                s.large_rows, s.large_create, s.large_get
            );
        }
    }

    fn targets_section(&self, md: &mut String) {
        let top = self.concurrency.iter().copied().max().unwrap_or(1);
        let _ = writeln!(md, "## Targets (issue 4), at concurrency {top}\n");
        let _ = writeln!(
            md,
            "| backend | target | measured | verdict |\n|---|---|---|---|"
        );
        for b in &self.backends {
            let http = b.rps(HTTP_CEILING, top).unwrap_or(0.0);
            let pct = |case: &str| {
                b.rps(case, top)
                    .map_or(0.0, |r| if http > 0.0 { r / http * 100.0 } else { 0.0 })
            };
            let create = pct("POST /payment");
            let _ = writeln!(
                md,
                "| {} | POST /payment ≥ 50% of HTTP ceiling | {create:.0}% | {} |",
                b.backend,
                verdict(create >= 50.0)
            );
            let create_rps = b.rps("POST /payment", top).unwrap_or(0.0);
            let storage = b.storage_ceiling(top).unwrap_or(f64::MAX);
            let _ = writeln!(
                md,
                "| {} | POST /payment faster than 1-row/tx storage ceiling | {create_rps:.0} vs {storage:.0} req/s | {} |",
                b.backend,
                verdict(create_rps > storage)
            );
            let get = pct("GET /payment/{id}");
            let _ = writeln!(
                md,
                "| {} | GET /payment/{{id}} ≥ 70% of HTTP ceiling | {get:.0}% | {} |",
                b.backend,
                verdict(get >= 70.0)
            );
            let list = pct("GET /payment?account.id=…&limit=20");
            let _ = writeln!(
                md,
                "| {} | filtered list ≥ 30% of HTTP ceiling | {list:.0}% | {} |",
                b.backend,
                verdict(list >= 30.0)
            );
            let errors: usize = b.cases.iter().map(|c| c.measurement.errors).sum();
            let _ = writeln!(
                md,
                "| {} | no errors | {errors} | {} |",
                b.backend,
                verdict(errors == 0)
            );
            let _ = writeln!(
                md,
                "| {} | peak memory < 150 MB | {:.1} MB | {} |",
                b.backend,
                b.peak_rss_mb,
                verdict(b.peak_rss_mb < 150.0)
            );
            let worst = b
                .half_peak
                .iter()
                .map(|c| c.measurement.p99_ms)
                .fold(0.0, f64::max);
            let _ = writeln!(
                md,
                "| {} | p99 at half peak < 10 ms, every case | worst {worst:.2} ms | {} |",
                b.backend,
                verdict(worst < 10.0)
            );
            if let Some(s) = &b.scale {
                let change = |small: f64, large: f64| {
                    if small > 0.0 {
                        (large - small) / small * 100.0
                    } else {
                        0.0
                    }
                };
                let (dc, dg) = (
                    change(s.small_create, s.large_create),
                    change(s.small_get, s.large_get),
                );
                let _ = writeln!(md, "| {} | create and get with {} payments within 20% of {} | create {dc:+.0}%, get {dg:+.0}% | {} |",
                    b.backend, s.large_rows, s.small_rows, verdict(dc.abs() <= 20.0 && dg.abs() <= 20.0));
            }
            if b.backend == "sqlite" {
                let _ = writeln!(
                    md,
                    "| {} | start-up < 1 s | {:.0} ms | {} |",
                    b.backend,
                    b.startup_ms,
                    verdict(b.startup_ms < 1000.0)
                );
            }
        }
    }

    pub fn write(&self, markdown_path: &Path) -> anyhow::Result<()> {
        if let Some(parent) = markdown_path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(markdown_path, self.markdown())?;
        std::fs::write(
            markdown_path.with_extension("json"),
            serde_json::to_string_pretty(self)?,
        )?;
        Ok(())
    }
}
