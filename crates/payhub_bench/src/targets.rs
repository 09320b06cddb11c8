//! The targets of issue 14 (and start-up and scale from issue 4), checked
//! against one run's figures at its highest concurrency.

use std::fmt::Write as _;

use crate::figures::{BackendRun, Report, HTTP_CEILING};

fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "**missed**"
    }
}

/// Appends the targets table to `md`.
pub fn section(report: &Report, md: &mut String) {
    let top = report.concurrency.iter().copied().max().unwrap_or(1);
    let _ = writeln!(
        md,
        "## Targets (issue 14; start-up and scale from issue 4), at concurrency {top}\n"
    );
    let _ = writeln!(
        md,
        "| backend | target | measured | verdict |\n|---|---|---|---|"
    );
    for b in &report.backends {
        backend_rows(md, b, top);
    }
}

fn row(md: &mut String, b: &BackendRun, target: &str, measured: &str, met: bool) {
    let _ = writeln!(
        md,
        "| {} | {target} | {measured} | {} |",
        b.backend,
        verdict(met)
    );
}

fn backend_rows(md: &mut String, b: &BackendRun, top: usize) {
    let http = b.rps(HTTP_CEILING, top).unwrap_or(0.0);
    let pct = |rps: f64| if http > 0.0 { rps / http * 100.0 } else { 0.0 };

    if let Some(batched) = b
        .storage
        .iter()
        .filter(|s| s.rows_per_transaction > 1)
        .max_by_key(|s| s.rows_per_transaction)
    {
        let share = batched.share() * 100.0;
        row(
            md,
            b,
            "storage path vs the raw engine, batched ≥ 50%",
            &format!(
                "{share:.0}% ({:.0} vs {:.0} rows/s)",
                batched.payhub_rows_per_s, batched.raw_rows_per_s
            ),
            share >= 50.0,
        );
    }

    let create = b.case("POST /payment", top);
    if let Some(s) = create.and_then(|c| c.sustained.as_ref()) {
        let share = pct(s.sustained_rps);
        let bound = if s.drained { "" } else { "< " };
        row(
            md,
            b,
            "sustained POST /payment (outbox drained) ≥ 35% of HTTP ceiling",
            &format!("{bound}{share:.0}% ({bound}{:.0} req/s)", s.sustained_rps),
            s.drained && share >= 35.0,
        );
        row(
            md,
            b,
            "the outbox keeps pace with creates (one listener subscribed)",
            &format!(
                "backlog {:+.0} events/s under load, {} left at stop, drained in {:.2} s",
                s.backlog_growth_per_s, s.backlog_at_stop, s.drain_s
            ),
            s.drained && !s.growing,
        );
        row(
            md,
            b,
            "events delivered to one listener per second ≥ the create rate, while the load runs",
            &format!(
                "{:.0} events/s vs {:.0} creates/s under load ({:.0} vs {:.0} to the drain)",
                s.listener_under_load_per_s,
                s.load_write_rps,
                s.listener_events_per_s,
                s.sustained_rps
            ),
            s.drained && s.listener_keeps_pace(),
        );
    }

    let get = pct(b.rps("GET /payment/{id}", top).unwrap_or(0.0));
    row(
        md,
        b,
        "GET /payment/{id} ≥ 60% of HTTP ceiling",
        &format!("{get:.0}%"),
        get >= 60.0,
    );
    let list = pct(b
        .rps("GET /payment?account.id=…&limit=20", top)
        .unwrap_or(0.0));
    row(
        md,
        b,
        &format!("filtered list over {} rows ≥ 30% of HTTP ceiling", b.rows),
        &format!("{list:.0}%"),
        list >= 30.0,
    );

    let worst = b
        .half_peak
        .iter()
        .map(|c| c.measurement.p99_ms)
        .fold(0.0, f64::max);
    row(
        md,
        b,
        "p99 at half of each case's (sustained) peak < 10 ms",
        &format!("worst {worst:.2} ms"),
        worst < 10.0,
    );
    row(
        md,
        b,
        "peak memory < 150 MB",
        &format!("{:.1} MB", b.peak_rss_mb),
        b.peak_rss_mb < 150.0,
    );
    let errors: usize = b
        .cases
        .iter()
        .chain(&b.half_peak)
        .map(|c| c.measurement.errors)
        .sum();
    row(
        md,
        b,
        "no errors (closed-loop and half-peak runs)",
        &errors.to_string(),
        errors == 0,
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
        row(
            md,
            b,
            &format!(
                "create and get with {} payments within 20% of {}",
                s.large_rows, s.small_rows
            ),
            &format!("create {dc:+.0}%, get {dg:+.0}%"),
            dc.abs() <= 20.0 && dg.abs() <= 20.0,
        );
    }
    if b.backend == "sqlite" {
        row(
            md,
            b,
            "start-up < 1 s",
            &format!("{:.0} ms", b.startup_ms),
            b.startup_ms < 1000.0,
        );
    }
}
