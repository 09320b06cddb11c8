//! The benchmark's figures and their ratios to the ceilings, written as
//! Markdown and as JSON; the targets they are checked against are in `targets`.

use std::fmt::Write as _;
use std::path::Path;

use crate::figures::{BackendRun, Report, HTTP_CEILING};

fn ratio(value: f64, ceiling: Option<f64>) -> String {
    match ceiling {
        Some(c) if c > 0.0 => format!("{:.0}%", value / c * 100.0),
        _ => "–".into(),
    }
}

/// What the raw engine is on each backend, said once under its table.
fn raw_engine(backend: &str) -> &'static str {
    match backend {
        "sqlite" => {
            "SQLite through its C API (rusqlite, the same bundled SQLite sqlx links), prepared \
             statements, WAL with `synchronous=FULL`, one writer at a time (writers take turns on \
             an in-process lock, as payhub's do)"
        }
        "postgres" => {
            "PostgreSQL through tokio-postgres, statements prepared once per connection, each \
             transaction's statements pipelined in one round trip, one connection per writer, the \
             server's default durability (`synchronous_commit = on`) as payhub uses it"
        }
        _ => "the backend's native driver",
    }
}

impl Report {
    pub fn markdown(&self) -> String {
        let mut md = String::new();
        let _ = writeln!(md, "# payhub benchmarks\n");
        let _ = writeln!(
            md,
            "Measured {} on a machine with {} cores, {} s per case{}, by \
             `cargo build --release --workspace && {}`. The load generator \
             runs on the same machine as payhub and shares its cores. Ratios compare figures of this \
             one run only. Short cases on a small machine shared with other work are noisy (a disk flush \
             or a neighbour's compile moves a 3 s case by 15% or more): repeat a run before trusting a \
             difference.\n",
            self.date,
            self.cores,
            self.seconds_per_case,
            if self.smoke { " (smoke mode: too short to quote)" } else { "" },
            self.command,
        );
        for b in &self.backends {
            self.backend_section(&mut md, b);
        }
        crate::targets::section(self, &mut md);
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
        Self::storage_table(md, b);
        Self::cases_table(md, b);
        Self::sustained_table(md, b);
        if !b.half_peak.is_empty() {
            let connections = b.half_peak.first().map_or(0, |c| c.concurrency);
            let _ = writeln!(md, "Open-loop at half of each case's best rate (the best sustained rate for writes) over {connections} connections; latency from when each request was due:\n");
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

    fn storage_table(md: &mut String, b: &BackendRun) {
        let _ = writeln!(
            md,
            "Storage: a payment row and its outbox event per payment, in the schema payhub's migrations \
             create, without HTTP. The **raw engine** is the ceiling: {}. **payhub's path** is its store's \
             `insert_payments` (sqlx's `Any` driver, a pool of 16).\n",
            raw_engine(&b.backend)
        );
        let _ = writeln!(
            md,
            "| rows per transaction | concurrency | raw engine rows/s | payhub's path rows/s | payhub / raw |\n|---|---|---|---|---|"
        );
        for s in &b.storage {
            let _ = writeln!(
                md,
                "| {} | {} | {:.0} | {:.0} | {:.0}% |",
                s.rows_per_transaction,
                s.concurrency,
                s.raw_rows_per_s,
                s.payhub_rows_per_s,
                s.share() * 100.0
            );
        }
        let _ = writeln!(md);
    }

    fn cases_table(md: &mut String, b: &BackendRun) {
        let _ = writeln!(
            md,
            "Closed-loop load (req/s over the load only; for writes see the sustained table below):\n"
        );
        let _ = writeln!(
            md,
            "| case | concurrency | req/s | p50 ms | p99 ms | p99.9 ms | errors | CPU s / 1k req | vs HTTP ceiling | vs raw 1-row/tx ceiling |"
        );
        let _ = writeln!(md, "|---|---|---|---|---|---|---|---|---|---|");
        for c in &b.cases {
            let m = &c.measurement;
            let http = ratio(m.rps, b.rps(HTTP_CEILING, c.concurrency));
            let storage = if c.sustained.is_some() {
                ratio(m.rps, b.raw_one_row(c.concurrency))
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
    }

    fn sustained_table(md: &mut String, b: &BackendRun) {
        if b.cases.iter().all(|c| c.sustained.is_none()) {
            return;
        }
        let _ = writeln!(
            md,
            "Writes counted until the outbox drained (no event left undispatched, no delivery pending). \
             One listener on 127.0.0.1 is subscribed to the merchant's hub (TMF676 `POST /hub`), so every \
             event is also delivered to it before the outbox counts as drained; *to the listener/s under load* is \
             what it took while the load ran, over the load's time, and *to the drain* what it took from the \
             load's start to the drain's end, over that time (equal to the sustained rate once drained). *Backlog trend* is the least-squares \
             slope of the backlog while the load ran; **growing** means it grew by more than 5% of the \
             write rate, i.e. the outbox fell behind and the load's req/s is a peak, not a rate payhub keeps.\n"
        );
        let _ = writeln!(
            md,
            "| case | concurrency | load req/s | backlog at stop | backlog trend events/s | drain s | sustained req/s | sustained vs HTTP ceiling | fanned out/s while draining | to the listener/s under load | to the listener/s to the drain |\n|---|---|---|---|---|---|---|---|---|---|---|"
        );
        for c in &b.cases {
            let Some(s) = &c.sustained else { continue };
            let trend = if s.growing {
                format!("{:+.0} (**growing**)", s.backlog_growth_per_s)
            } else {
                format!("{:+.0} (keeps pace)", s.backlog_growth_per_s)
            };
            let drain = if s.drained {
                format!("{:.2}", s.drain_s)
            } else {
                format!("> {:.0} (**not drained**)", s.drain_s)
            };
            let sustained = if s.drained {
                format!("{:.0}", s.sustained_rps)
            } else {
                format!("< {:.0}", s.sustained_rps)
            };
            let fanned = if s.drain_events_per_s > 0.0 {
                format!("{:.0}", s.drain_events_per_s)
            } else {
                "–".into()
            };
            let _ = writeln!(
                md,
                "| {} | {} | {:.0} | {} | {} | {} | {} | {} | {} | {:.0} | {:.0} |",
                c.case,
                c.concurrency,
                c.measurement.rps,
                s.backlog_at_stop,
                trend,
                drain,
                sustained,
                ratio(s.sustained_rps, b.rps(HTTP_CEILING, c.concurrency)),
                fanned,
                s.listener_under_load_per_s,
                s.listener_events_per_s
            );
        }
        let _ = writeln!(md);
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
