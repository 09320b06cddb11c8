//! `payhub-bench`: measures payhub against its own ceilings, in one run, on
//! SQLite and PostgreSQL, and writes the figures as Markdown and JSON.
//!
//! For each backend, on a fresh database: the storage cases (the same payment
//! row and outbox event, one transaction per row and in batches of 1,000, on
//! the raw engine, which is the ceiling, and through payhub's store), then
//! payhub's release binary under closed-loop load at each concurrency, beside
//! the HTTP ceiling (payhub's own server answering `/healthz`); write cases are
//! also counted until payhub's outbox has drained. See README.md ("Benchmarks").
#![expect(
    clippy::as_conversions,
    reason = "statistics in floating point; no money is computed here"
)]

mod ceilings;
mod db;
mod figures;
mod listener;
mod load;
mod raw_postgres;
mod raw_sqlite;
mod report;
mod server;
mod storage;
mod sustained;
mod targets;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use payhub_core::{MerchantId, PaymentId};

use crate::db::BenchDb;
use crate::figures::{BackendRun, CaseRun, Report};
use crate::load::{Request, RequestMaker};

const TMF: &str = "/tmf-api/paymentManagement/v4";
/// Accounts the seeded payments are spread over (100,000 rows → 100 per account).
const ACCOUNTS: usize = 1000;
/// Payments with a large amount, refunded a cent at a time by the refund case.
const REFUNDABLE: usize = 1000;

#[derive(Parser, Debug)]
#[command(
    name = "payhub-bench",
    about = "Measure payhub against its HTTP and storage ceilings"
)]
struct Args {
    /// A short run for CI (about a second per case, small table); writes under target/.
    #[arg(long)]
    smoke: bool,
    /// Backends to measure.
    #[arg(long, value_delimiter = ',', default_value = "sqlite,postgres")]
    backends: Vec<String>,
    /// Concurrency levels (closed-loop clients).
    #[arg(long, value_delimiter = ',')]
    concurrency: Option<Vec<usize>>,
    /// Seconds per case and concurrency.
    #[arg(long)]
    duration_s: Option<f64>,
    /// Payments stored before the read cases run.
    #[arg(long)]
    rows: Option<usize>,
    /// Payments stored for the "few rows" scale measurement.
    #[arg(long, default_value_t = 1_000)]
    scale_small: usize,
    /// Payments stored for the "many rows" scale measurement.
    #[arg(long, default_value_t = 1_000_000)]
    scale_large: usize,
    /// PostgreSQL server to create the benchmark databases on.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    postgres_url: String,
    /// Markdown output (default BENCHMARKS.md; target/bench-smoke.md with --smoke).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Only the load cases whose name contains one of these texts (e.g.
    /// `--cases 'GET /payment'`), besides the HTTP ceiling, which every ratio
    /// needs; all cases when absent. For profiling one case at a time.
    #[arg(long, value_delimiter = ',')]
    cases: Option<Vec<String>>,
}

struct Plan {
    /// Payments stored for the "few" and "many" scale measurements.
    scale_rows: (usize, usize),
    concurrency: Vec<usize>,
    duration: Duration,
    rows: usize,
    /// How long a write case's outbox may take to drain before it is
    /// reported as not drained.
    drain_limit: Duration,
    out: PathBuf,
}

impl Args {
    fn plan(&self) -> Plan {
        let (concurrency, duration_s, rows, out) = if self.smoke {
            (vec![1, 16], 1.0, 2_000, "target/bench-smoke.md")
        } else {
            (vec![1, 16, 64], 5.0, 100_000, "BENCHMARKS.md")
        };
        let duration_s = self.duration_s.unwrap_or(duration_s);
        Plan {
            drain_limit: Duration::from_secs_f64(if self.smoke {
                30.0
            } else {
                (duration_s * 12.0).max(60.0)
            }),
            scale_rows: if self.smoke {
                (100, 3_000)
            } else {
                (self.scale_small, self.scale_large)
            },
            concurrency: self.concurrency.clone().unwrap_or(concurrency),
            duration: Duration::from_secs_f64(duration_s),
            rows: self.rows.unwrap_or(rows),
            out: self.out.clone().unwrap_or_else(|| PathBuf::from(out)),
        }
    }
}

/// Whether a case writes (and so leaves outbox events to fan out).
fn is_write(case: &str) -> bool {
    case.starts_with("POST")
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

async fn measure_backend(backend: &str, args: &Args, plan: &Plan) -> anyhow::Result<BackendRun> {
    eprintln!("== {backend}");
    let binary = server::payhub_binary()?;
    let db = BenchDb::create(backend, &args.postgres_url).await?;
    let merchant_creds = server::create_merchant(&binary, &db.url, &db.dir.0)?;
    let merchant = MerchantId::parse(&merchant_creds.merchant_id)
        .ok_or_else(|| anyhow::anyhow!("bad merchant id"))?;
    let store = payhub_store::connect(&db.url, 16).await?;

    let mut run = BackendRun::new(backend);
    // The raw engine writes into a database of its own, made by payhub's
    // migrations (through the CLI) and dropped after the storage cases.
    let raw_db = BenchDb::create(backend, &args.postgres_url).await?;
    let raw_creds = server::create_merchant(&binary, &raw_db.url, &raw_db.dir.0)?;
    let raw = ceilings::RawTarget {
        db: &raw_db,
        merchant: MerchantId::parse(&raw_creds.merchant_id)
            .ok_or_else(|| anyhow::anyhow!("bad merchant id"))?,
    };
    run.storage = ceilings::measure(
        backend,
        &raw,
        store.clone(),
        &merchant,
        &plan.concurrency,
        plan.duration,
        plan.rows,
    )
    .await?;
    raw_db.drop_database().await;
    drop(raw_db);
    run.rows = plan.rows;

    // Payments the read and refund cases use, with known ids.
    let readable: Vec<_> = (0..1000)
        .map(|i| storage::payment_row(&merchant, &format!("acct-{}", i % ACCOUNTS), 1000))
        .collect();
    let refundable: Vec<_> = (0..REFUNDABLE)
        .map(|i| storage::payment_row(&merchant, &format!("refundable-{i}"), 100_000_000_000))
        .collect();
    store.insert_payments(&readable).await?;
    store.insert_payments(&refundable).await?;
    let read_ids: Arc<Vec<PaymentId>> = Arc::new(readable.iter().map(|(p, _)| p.id).collect());
    let refund_ids: Arc<Vec<PaymentId>> = Arc::new(refundable.iter().map(|(p, _)| p.id).collect());
    let server = server::Server::start(&binary, &db.url, &db.dir.0, free_port()?).await?;
    run.startup_ms = server.startup.as_secs_f64() * 1000.0;
    eprintln!("start-up to ready: {:.0} ms", run.startup_ms);
    // The seeded rows' outbox events are drained by payhub's hub workers; measure
    // after that, so that no case pays for the seeding.
    let drain_started = std::time::Instant::now();
    while store.count_undelivered().await? > 0 && drain_started.elapsed() < Duration::from_secs(300)
    {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    eprintln!(
        "outbox drained in {:.1} s",
        drain_started.elapsed().as_secs_f64()
    );
    drop(store);
    // Reads the outbox backlog around the write cases; one connection is enough.
    let monitor = payhub_store::connect(&db.url, 2).await?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()?;
    let base = server.base_url.clone();
    let listener = listener::Listener::start().await?;
    listener
        .subscribe(
            &client,
            &format!("{base}{TMF}/hub"),
            &merchant_creds.api_key,
        )
        .await?;
    let cases: Vec<(&str, RequestMaker)> = vec![
        (
            "HTTP ceiling: GET /healthz",
            Arc::new({
                let u = format!("{base}/healthz");
                move |_| Request::Get(u.clone())
            }),
        ),
        (
            "POST /payment",
            Arc::new({
                let u = format!("{base}{TMF}/payment");
                move |n| Request::Post {
                    url: u.clone(),
                    body: format!(
                        r#"{{"account":{{"id":"load-{}"}},"paymentMethod":{{"@type":"CashMethod"}},"totalAmount":{{"unit":"USD","value":12.50}}}}"#,
                        n % ACCOUNTS
                    ),
                }
            }),
        ),
        (
            "GET /payment/{id}",
            Arc::new({
                let (u, ids) = (format!("{base}{TMF}/payment"), read_ids.clone());
                move |n| Request::Get(format!("{u}/{}", ids[n % ids.len()]))
            }),
        ),
        (
            "GET /payment?account.id=…&limit=20",
            Arc::new({
                let u = format!("{base}{TMF}/payment");
                move |n| Request::Get(format!("{u}?account.id=acct-{}&limit=20", n % ACCOUNTS))
            }),
        ),
        (
            "POST /refund",
            Arc::new({
                let (u, ids) = (format!("{base}{TMF}/refund"), refund_ids.clone());
                move |n| Request::Post {
                    url: u.clone(),
                    body: format!(
                        r#"{{"account":{{"id":"r"}},"paymentMethod":{{}},"payment":{{"id":"{}"}},"totalAmount":{{"unit":"USD","value":0.01}}}}"#,
                        ids[n % ids.len()]
                    ),
                }
            }),
        ),
    ];
    let cases: Vec<(&str, RequestMaker)> = cases
        .into_iter()
        .filter(|(name, _)| {
            name.starts_with("HTTP ceiling")
                || args
                    .cases
                    .as_ref()
                    .is_none_or(|wanted| wanted.iter().any(|w| name.contains(w.as_str())))
        })
        .collect();
    for &c in &plan.concurrency {
        for (name, make) in &cases {
            let write = is_write(name);
            if write {
                // A write case starts on an empty outbox, so that its backlog is its own.
                sustained::wait_drained(monitor.as_ref(), plan.drain_limit).await?;
            }
            let watch = write.then(|| sustained::watch_backlog(monitor.clone()));
            let heard_before = listener.received();
            let before = server.usage();
            let m = load::run(
                &client,
                &merchant_creds.api_key,
                c,
                plan.duration,
                make.clone(),
            )
            .await;
            let after = server.usage();
            let sustained = match watch {
                Some((stop, samples)) => {
                    let _ = stop.send(());
                    let samples = samples.await?;
                    Some(
                        sustained::finish(
                            monitor.as_ref(),
                            &m,
                            &samples,
                            plan.drain_limit,
                            (&listener, heard_before),
                        )
                        .await?,
                    )
                }
                None => None,
            };
            let cpu_per_1000 = (after.cpu_s - before.cpu_s) / (m.requests.max(1) as f64) * 1000.0;
            eprintln!(
                "{name} c={c}: {:.0} req/s p50 {:.2} ms p99 {:.2} ms errors {}",
                m.rps, m.p50_ms, m.p99_ms, m.errors
            );
            if let Some(s) = &sustained {
                eprintln!(
                    "  sustained: {:.0} req/s; backlog {} at stop (trend {:+.0}/s{}), drained in {:.2} s{}; listener took {} ({:.0}/s under load, {:.0}/s to the drain)",
                    s.sustained_rps,
                    s.backlog_at_stop,
                    s.backlog_growth_per_s,
                    if s.growing { ", growing" } else { "" },
                    s.drain_s,
                    if s.drained { "" } else { " (not drained)" },
                    s.listener_events,
                    s.listener_under_load_per_s,
                    s.listener_events_per_s
                );
            }
            run.cases.push(CaseRun {
                case: (*name).to_owned(),
                concurrency: c,
                measurement: m,
                cpu_s_per_1000: cpu_per_1000,
                sustained,
            });
        }
    }
    // p99 at half of each case's peak: open-loop at 50% of the best closed-loop
    // rate, or for a write of its best sustained rate (a peak that leaves a
    // backlog is not a rate payhub keeps). The HTTP ceiling is left out: it is not a payhub operation, and its
    // rate is beyond what one open-loop sender with millisecond timers can pace.
    // The open loop uses as many connections as the largest closed loop.
    let open_loop_connections = plan.concurrency.iter().copied().max().unwrap_or(64);
    for (name, make) in cases
        .iter()
        .filter(|(name, _)| !name.starts_with("HTTP ceiling"))
    {
        let peak = run.best_sustained(name).unwrap_or_else(|| {
            run.cases
                .iter()
                .filter(|c| c.case == *name)
                .map(|c| c.measurement.rps)
                .fold(0.0, f64::max)
        });
        if is_write(name) {
            sustained::wait_drained(monitor.as_ref(), plan.drain_limit).await?;
        }
        let m = load::run_at_rate(
            &client,
            &merchant_creds.api_key,
            peak / 2.0,
            open_loop_connections,
            plan.duration,
            make.clone(),
        )
        .await;
        eprintln!(
            "{name} at half peak ({:.0} req/s): p99 {:.2} ms errors {}",
            peak / 2.0,
            m.p99_ms,
            m.errors
        );
        run.half_peak.push(CaseRun {
            case: (*name).to_owned(),
            concurrency: open_loop_connections,
            measurement: m,
            cpu_s_per_1000: 0.0,
            sustained: None,
        });
    }
    run.peak_rss_mb = server.usage().peak_rss_mb;
    drop(monitor);
    server.stop()?;
    db.drop_database().await;
    run.scale = Some(measure_scale(backend, args, plan).await?);
    Ok(run)
}

/// Create and get at concurrency 16 with few payments stored, then with many:
/// cost should grow with the work, not with the data.
async fn measure_scale(
    backend: &str,
    args: &Args,
    plan: &Plan,
) -> anyhow::Result<figures::ScaleRun> {
    let (small, large) = plan.scale_rows;
    let binary = server::payhub_binary()?;
    let db = BenchDb::create(backend, &args.postgres_url).await?;
    let creds = server::create_merchant(&binary, &db.url, &db.dir.0)?;
    let merchant =
        MerchantId::parse(&creds.merchant_id).ok_or_else(|| anyhow::anyhow!("bad merchant id"))?;
    let store = payhub_store::connect(&db.url, 16).await?;
    let rows: Vec<_> = (0..small)
        .map(|i| storage::payment_row(&merchant, &format!("acct-{}", i % ACCOUNTS), 1000))
        .collect();
    store.insert_payments(&rows).await?;
    let ids: Arc<Vec<PaymentId>> = Arc::new(rows.iter().map(|(p, _)| p.id).collect());
    let server = server::Server::start(&binary, &db.url, &db.dir.0, free_port()?).await?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()?;
    let base = server.base_url.clone();
    let create: RequestMaker = Arc::new({
        let u = format!("{base}{TMF}/payment");
        move |n| Request::Post {
            url: u.clone(),
            body: format!(
                r#"{{"account":{{"id":"scale-{}"}},"paymentMethod":{{}},"totalAmount":{{"unit":"USD","value":1}}}}"#,
                n % ACCOUNTS
            ),
        }
    });
    let get: RequestMaker = Arc::new({
        let (u, ids) = (format!("{base}{TMF}/payment"), ids.clone());
        move |n| Request::Get(format!("{u}/{}", ids[n % ids.len()]))
    });
    let measure = |label: &'static str| {
        let (client, key, create, get, store) = (
            client.clone(),
            creds.api_key.clone(),
            create.clone(),
            get.clone(),
            store.clone(),
        );
        async move {
            let drain = std::time::Instant::now();
            while store.count_undelivered().await? > 0 && drain.elapsed() < Duration::from_secs(600)
            {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            let c = load::run(&client, &key, 16, plan.duration, create).await;
            let g = load::run(&client, &key, 16, plan.duration, get).await;
            eprintln!(
                "scale, {label}: create {:.0} req/s, get {:.0} req/s",
                c.rps, g.rps
            );
            anyhow::Ok((c.rps, g.rps))
        }
    };
    let (small_create, small_get) = measure("few rows").await?;
    let started = std::time::Instant::now();
    storage::batched(store.as_ref(), &merchant, large - small, 1000, 1000, |i| {
        format!("acct-{}", i % ACCOUNTS)
    })
    .await?;
    eprintln!(
        "scale: grew to {large} rows in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    let (large_create, large_get) = measure("many rows").await?;
    server.stop()?;
    drop(store);
    db.drop_database().await;
    Ok(figures::ScaleRun {
        small_rows: small,
        large_rows: large,
        small_create,
        small_get,
        large_create,
        large_get,
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let plan = args.plan();
    let mut report = Report::new(args.smoke, &plan.concurrency, plan.duration);
    for backend in &args.backends {
        report
            .backends
            .push(measure_backend(backend, &args, &plan).await?);
    }
    report.write(&plan.out)?;
    eprintln!(
        "wrote {} and {}",
        plan.out.display(),
        plan.out.with_extension("json").display()
    );
    Ok(())
}
