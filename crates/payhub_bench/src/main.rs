//! `payhub-bench`: measures payhub against its own ceilings, in one run, on
//! SQLite and PostgreSQL, and writes the figures as Markdown and JSON.
//!
//! For each backend, on a fresh database: the storage ceiling (the same payment
//! row and outbox event through the same driver and durability, one transaction
//! per row and in batches of 1,000), then payhub's release binary under
//! closed-loop load at each concurrency, beside the HTTP ceiling (payhub's own
//! server answering `/healthz`). See README.md ("Benchmarks").
#![expect(
    clippy::as_conversions,
    reason = "statistics in floating point; no money is computed here"
)]

mod load;
mod report;
mod server;
mod storage;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use payhub_core::{MerchantId, PaymentId};
use sqlx::Connection;

use crate::load::{Request, RequestMaker};
use crate::report::{BackendRun, CaseRun, Report};

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
}

struct Plan {
    /// Payments stored for the "few" and "many" scale measurements.
    scale_rows: (usize, usize),
    concurrency: Vec<usize>,
    duration: Duration,
    rows: usize,
    out: PathBuf,
}

impl Args {
    fn plan(&self) -> Plan {
        let (concurrency, duration_s, rows, out) = if self.smoke {
            (vec![1, 16], 1.0, 2_000, "target/bench-smoke.md")
        } else {
            (vec![1, 16, 64], 5.0, 100_000, "BENCHMARKS.md")
        };
        Plan {
            scale_rows: if self.smoke {
                (100, 3_000)
            } else {
                (self.scale_small, self.scale_large)
            },
            concurrency: self.concurrency.clone().unwrap_or(concurrency),
            duration: Duration::from_secs_f64(self.duration_s.unwrap_or(duration_s)),
            rows: self.rows.unwrap_or(rows),
            out: self.out.clone().unwrap_or_else(|| PathBuf::from(out)),
        }
    }
}

/// A database that exists for one backend's run.
struct BenchDb {
    url: String,
    postgres: Option<(String, String)>,
    _dir: tempdir::Dir,
}

mod tempdir {
    /// A directory removed when dropped.
    pub struct Dir(pub std::path::PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

impl BenchDb {
    async fn create(backend: &str, postgres_admin: &str) -> anyhow::Result<BenchDb> {
        let dir = std::env::temp_dir().join(format!("payhub-bench-{:016x}", rand::random::<u64>()));
        std::fs::create_dir_all(&dir)?;
        let dir = tempdir::Dir(dir);
        match backend {
            "sqlite" => Ok(BenchDb {
                url: format!("sqlite://{}/payhub.sqlite3", dir.0.display()),
                postgres: None,
                _dir: dir,
            }),
            "postgres" => {
                let name = format!("payhub_bench_{:016x}", rand::random::<u64>());
                let mut admin = sqlx::PgConnection::connect(postgres_admin).await?;
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut admin)
                    .await?;
                let base = postgres_admin
                    .rsplit_once('/')
                    .map_or(postgres_admin, |(b, _)| b);
                Ok(BenchDb {
                    url: format!("{base}/{name}"),
                    postgres: Some((postgres_admin.to_owned(), name)),
                    _dir: dir,
                })
            }
            other => anyhow::bail!("unknown backend '{other}' (sqlite or postgres)"),
        }
    }

    async fn drop_database(&self) {
        if let Some((admin, name)) = &self.postgres {
            if let Ok(mut admin) = sqlx::PgConnection::connect(admin).await {
                let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut admin)
                    .await;
            }
        }
    }
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
    let merchant_creds = server::create_merchant(&binary, &db.url, &db._dir.0)?;
    let merchant = MerchantId::parse(&merchant_creds.merchant_id)
        .ok_or_else(|| anyhow::anyhow!("bad merchant id"))?;
    let store = payhub_store::connect(&db.url, 16).await?;

    let mut run = BackendRun::new(backend);
    for &c in &plan.concurrency {
        let rps =
            storage::one_row_per_transaction(store.clone(), &merchant, c, plan.duration).await?;
        eprintln!("storage ceiling, 1 row/tx, c={c}: {rps:.0} rows/s");
        run.storage_one_row_per_tx.push((c, rps));
    }
    let rows_per_s = storage::batched(store.as_ref(), &merchant, plan.rows, 1000, 1000, |i| {
        format!("acct-{}", i % ACCOUNTS)
    })
    .await?;
    eprintln!(
        "storage ceiling, 1000 rows/tx: {rows_per_s:.0} rows/s ({} rows)",
        plan.rows
    );
    run.storage_batched_rows_per_s = rows_per_s;
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
    let server = server::Server::start(&binary, &db.url, &db._dir.0, free_port()?).await?;
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
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()?;
    let base = server.base_url.clone();
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
    for &c in &plan.concurrency {
        for (name, make) in &cases {
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
            let cpu_per_1000 = (after.cpu_s - before.cpu_s) / (m.requests.max(1) as f64) * 1000.0;
            eprintln!(
                "{name} c={c}: {:.0} req/s p50 {:.2} ms p99 {:.2} ms errors {}",
                m.rps, m.p50_ms, m.p99_ms, m.errors
            );
            run.cases.push(CaseRun {
                case: (*name).to_owned(),
                concurrency: c,
                measurement: m,
                cpu_s_per_1000: cpu_per_1000,
            });
        }
    }
    // p99 at half of each case's peak: open-loop at 50% of the best closed-loop
    // rate. The HTTP ceiling is left out: it is not a payhub operation, and its
    // rate is beyond what one open-loop sender with millisecond timers can pace.
    for (name, make) in cases
        .iter()
        .filter(|(name, _)| !name.starts_with("HTTP ceiling"))
    {
        let peak = run
            .cases
            .iter()
            .filter(|c| c.case == *name)
            .map(|c| c.measurement.rps)
            .fold(0.0, f64::max);
        let m = load::run_at_rate(
            &client,
            &merchant_creds.api_key,
            peak / 2.0,
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
            concurrency: 0,
            measurement: m,
            cpu_s_per_1000: 0.0,
        });
    }
    run.peak_rss_mb = server.usage().peak_rss_mb;
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
) -> anyhow::Result<report::ScaleRun> {
    let (small, large) = plan.scale_rows;
    let binary = server::payhub_binary()?;
    let db = BenchDb::create(backend, &args.postgres_url).await?;
    let creds = server::create_merchant(&binary, &db.url, &db._dir.0)?;
    let merchant =
        MerchantId::parse(&creds.merchant_id).ok_or_else(|| anyhow::anyhow!("bad merchant id"))?;
    let store = payhub_store::connect(&db.url, 16).await?;
    let rows: Vec<_> = (0..small)
        .map(|i| storage::payment_row(&merchant, &format!("acct-{}", i % ACCOUNTS), 1000))
        .collect();
    store.insert_payments(&rows).await?;
    let ids: Arc<Vec<PaymentId>> = Arc::new(rows.iter().map(|(p, _)| p.id).collect());
    let server = server::Server::start(&binary, &db.url, &db._dir.0, free_port()?).await?;
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
    Ok(report::ScaleRun {
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
