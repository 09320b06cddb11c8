//! `postgres_reads` against the pool's path on one PostgreSQL database: the
//! same rows, decoded the same, the same totals, through every filter and
//! page shape; a terminated connection replaced; an unreachable server a
//! 503. Needs a PostgreSQL server (`PAYHUB_TEST_POSTGRES_URL`, as
//! `scripts/with-test-services` sets it); every test that does has
//! `postgres` in its name, so `--skip postgres` leaves them out.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::str::FromStr;

use payhub_core::{MerchantId, PaymentId, RefundId, Status};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Connection};

use super::postgres_reads::{PostgresReaders, APPLICATION_NAME, CLIENTS};
use super::{Backend, SqlStore};
use crate::error::StoreError;
use crate::records::{ListFilter, Page};
use crate::traits::LedgerStore;

const MERCHANT: &str = "mer_00000000000000a1";
const OTHER_MERCHANT: &str = "mer_00000000000000b2";
const PAYMENTS: i64 = 40;
const REFUNDS: i64 = 30;

fn admin_url() -> String {
    std::env::var("PAYHUB_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A migrated database that exists for one test, dropped afterwards.
pub(super) struct TestDb {
    pub(super) name: String,
    pub(super) url: String,
}

impl TestDb {
    pub(super) async fn create() -> (TestDb, AnyPool) {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let name = format!("payhub_reads_{}_{nanos}", std::process::id());
        let admin = admin_url();
        let mut connection = sqlx::PgConnection::connect(&admin).await.unwrap();
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut connection)
            .await
            .unwrap();
        let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
        let db = TestDb {
            url: format!("{base}/{name}"),
            name,
        };
        sqlx::any::install_default_drivers();
        let pool = AnyPoolOptions::new()
            .max_connections(4)
            .connect_with(AnyConnectOptions::from_str(&db.url).unwrap())
            .await
            .unwrap();
        crate::POSTGRES_MIGRATIONS.run(&pool).await.unwrap();
        (db, pool)
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Drop cannot await; a runtime on a thread of its own can.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                if let Ok(mut admin) = sqlx::PgConnection::connect(&admin_url()).await {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&mut admin)
                        .await;
                }
            });
        })
        .join();
    }
}

/// Rows that use every column's edge: NULL correlators, amounts and
/// decimals, currencies of 0, 2 and 3 decimals, refunds without a payment,
/// text beyond ASCII, and another merchant's rows among them.
async fn seed(pool: &AnyPool) {
    for (i, merchant) in [MERCHANT, OTHER_MERCHANT].into_iter().enumerate() {
        sqlx::query(
            "INSERT INTO merchants (id, name, api_key_hash, created_at, updated_at) \
             VALUES ($1, $2, $3, 0, 0)",
        )
        .bind(merchant)
        .bind(format!("Merchant {i}"))
        .bind(format!("hash-{i}"))
        .execute(pool)
        .await
        .unwrap();
    }
    let statuses = Status::ALL.map(Status::as_str);
    let currencies = ["EUR", "JPY", "KWD"];
    for i in 0..PAYMENTS + 5 {
        let merchant = if i < PAYMENTS {
            MERCHANT
        } else {
            OTHER_MERCHANT
        };
        sqlx::query(
            "INSERT INTO payments (id, merchant_id, status, status_date, payment_date, account_id, \
             correlator_id, amount_minor, currency, amount_decimals, document, origin, created_at, \
             updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13)",
        )
        .bind(1000 + i)
        .bind(merchant)
        .bind(statuses[usize::try_from(i).unwrap() % statuses.len()])
        .bind(1_700_000_000_000_000 + i * 1_000_003)
        .bind(1_600_000_000_000_007 + i)
        .bind(format!("acct-{}", i % 3))
        .bind((i % 4 != 0).then(|| format!("corr-{}", i % 5)))
        .bind((i % 7 != 0).then_some(i * 137))
        .bind((i % 7 != 0).then(|| currencies[usize::try_from(i).unwrap() % 3].to_owned()))
        .bind((i % 2 == 0).then_some(i % 3))
        .bind(format!(r#"{{"description":"café ✓ n°{i}","n":{i}}}"#))
        .bind(if i % 2 == 0 { "tmf676" } else { "aps" })
        .bind(1_650_000_000_000_000 + i)
        .execute(pool)
        .await
        .unwrap();
    }
    for i in 0..REFUNDS {
        sqlx::query(
            "INSERT INTO refunds (id, merchant_id, payment_id, status, status_date, refund_date, \
             account_id, correlator_id, amount_minor, currency, amount_decimals, document, \
             created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13)",
        )
        .bind(5000 + i)
        .bind(MERCHANT)
        .bind((i % 5 != 0).then_some(1000 + i % 10))
        .bind(statuses[usize::try_from(i).unwrap() % statuses.len()])
        .bind(1_700_000_000_000_000 + i)
        .bind(1_700_000_000_000_000 - i)
        .bind(format!("acct-{}", i % 2))
        .bind((i % 3 != 0).then(|| format!("corr-{}", i % 4)))
        .bind((i % 6 != 0).then_some(i * 11))
        .bind((i % 6 != 0).then(|| "EUR".to_owned()))
        .bind((i % 2 == 1).then_some(2_i64))
        .bind(format!(r#"{{"reason":"retour « {i} »"}}"#))
        .bind(1_650_000_000_000_000 + i)
        .execute(pool)
        .await
        .unwrap();
    }
}

fn filters() -> Vec<(&'static str, ListFilter)> {
    let texts = |v: &[&str]| Some(v.iter().map(|s| (*s).to_owned()).collect());
    vec![
        ("none", ListFilter::default()),
        (
            "ids",
            ListFilter {
                ids: Some(vec![1003, 1010, 1041, 5004, 999_999]),
                ..ListFilter::default()
            },
        ),
        (
            "account",
            ListFilter {
                account_ids: texts(&["acct-1"]),
                ..ListFilter::default()
            },
        ),
        (
            "correlators",
            ListFilter {
                correlator_ids: texts(&["corr-2", "corr-3"]),
                ..ListFilter::default()
            },
        ),
        (
            "status and account",
            ListFilter {
                statuses: texts(&["captured", "authorized"]),
                account_ids: texts(&["acct-0", "acct-2"]),
                ..ListFilter::default()
            },
        ),
        (
            "payments of refunds",
            ListFilter {
                payment_ids: Some(vec![1001, 1002, 1006]),
                ..ListFilter::default()
            },
        ),
        (
            "before an id",
            ListFilter {
                before_id: Some(1020),
                ..ListFilter::default()
            },
        ),
        (
            "nothing",
            ListFilter {
                account_ids: texts(&["acct-none"]),
                ..ListFilter::default()
            },
        ),
    ]
}

fn pages() -> Vec<Page> {
    [
        (0, 20),
        (0, 5),
        (5, 5),
        (35, 10),
        (1000, 10),
        (0, 0),
        (0, 200),
        (-3, 4),
    ]
    .into_iter()
    .map(|(offset, limit)| Page { offset, limit })
    .collect()
}

/// Every find and every list through the native path equals the pool's,
/// items and total. A column decoded wrong, a lost total (the empty page
/// past the end counts apart) or another order would differ here.
#[tokio::test]
async fn postgres_native_reads_return_what_the_pool_returns() {
    let (db, pool) = TestDb::create().await;
    seed(&pool).await;
    let native = SqlStore::new(pool.clone(), Backend::Postgres).with_postgres_url(&db.url);
    assert!(native.postgres_readers.is_some(), "the native path is on");
    let pooled = SqlStore::new(pool.clone(), Backend::Postgres);
    let merchant = MerchantId::parse(MERCHANT).unwrap();

    for id in (999..1000 + PAYMENTS + 5).filter_map(PaymentId::from_i64) {
        let expected = pooled.find_payment(&merchant, id).await.unwrap();
        assert_eq!(native.find_payment(&merchant, id).await.unwrap(), expected);
    }
    for id in (4999..5000 + REFUNDS + 1).filter_map(RefundId::from_i64) {
        let expected = pooled.find_refund(&merchant, id).await.unwrap();
        assert_eq!(native.find_refund(&merchant, id).await.unwrap(), expected);
    }
    let found = native
        .find_payment(&merchant, PaymentId::from_i64(1000).unwrap())
        .await
        .unwrap()
        .expect("payment 1000");
    assert_eq!((found.total_amount, found.correlator_id), (None, None));
    assert!(found.document.as_str().contains("café ✓"));

    let mut totals_past_the_end = 0;
    for (name, filter) in filters() {
        for page in pages().into_iter().map(Some).chain([None]) {
            let what = format!("{name}, {page:?}");
            // Payments have no `payment_id` column to filter on.
            if filter.payment_ids.is_none() {
                let want = pooled.list_payments(&merchant, &filter, page).await;
                let got = native.list_payments(&merchant, &filter, page).await;
                let (want, got) = (want.unwrap(), got.unwrap());
                assert_eq!(
                    (&got.items, got.total),
                    (&want.items, want.total),
                    "payments: {what}"
                );
            }
            let want = pooled.list_refunds(&merchant, &filter, page).await.unwrap();
            let got = native.list_refunds(&merchant, &filter, page).await.unwrap();
            assert_eq!(
                (&got.items, got.total),
                (&want.items, want.total),
                "refunds: {what}"
            );
            if page.is_some_and(|p| p.offset == 1000) && got.total > 0 {
                totals_past_the_end += 1;
            }
        }
    }
    assert!(
        totals_past_the_end > 0,
        "a page past the end still tells the total"
    );
    drop(db);
}

/// Counts the native clients' sessions on this test's database.
async fn native_sessions(pool: &AnyPool) -> i64 {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM pg_stat_activity \
         WHERE application_name = $1 AND datname = current_database()",
    )
    .bind(APPLICATION_NAME)
    .fetch_one(pool)
    .await
    .unwrap()
}

/// Terminating every native client's backend (as a restart or an operator
/// would) costs no read an error: each finds its client closed, or loses it
/// midway and reads again, on a new connection.
#[tokio::test]
async fn postgres_native_reads_replace_a_terminated_connection() {
    let (db, pool) = TestDb::create().await;
    seed(&pool).await;
    let native = SqlStore::new(pool.clone(), Backend::Postgres).with_postgres_url(&db.url);
    let merchant = MerchantId::parse(MERCHANT).unwrap();
    let id = PaymentId::from_i64(1001).unwrap();
    for _ in 0..CLIENTS * 2 {
        assert!(native.find_payment(&merchant, id).await.unwrap().is_some());
    }
    let clients = i64::try_from(CLIENTS).unwrap();
    assert_eq!(native_sessions(&pool).await, clients);

    let terminated: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE application_name = $1 AND datname = current_database()",
    )
    .bind(APPLICATION_NAME)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(terminated, vec![true; CLIENTS]);

    for _ in 0..CLIENTS * 2 {
        let read = native.find_payment(&merchant, id).await;
        assert!(matches!(read, Ok(Some(_))), "{read:?}");
        let listed = native
            .list_payments(
                &merchant,
                &ListFilter::default(),
                Some(Page {
                    offset: 0,
                    limit: 5,
                }),
            )
            .await
            .unwrap();
        assert_eq!((listed.items.len(), listed.total), (5, PAYMENTS));
    }
    assert_eq!(native_sessions(&pool).await, clients);
    drop(db);
}

/// A server that cannot be reached is a 503, not a 500.
#[tokio::test]
async fn postgres_native_reads_of_an_unreachable_server_are_unavailable() {
    let readers = PostgresReaders::from_url("postgres://postgres@127.0.0.1:1/none").unwrap();
    let read = readers
        .find(("payments", "id"), MERCHANT, 1, |_| Ok(()))
        .await;
    assert!(matches!(read, Err(StoreError::Unavailable(_))), "{read:?}");
}

/// The native path connects without TLS, so only where TLS is neither
/// asked for nor preferred on the way to another machine.
#[test]
fn urls_that_ask_for_tls_keep_reads_on_sqlx() {
    let cases = [
        ("postgres://u@127.0.0.1:5432/db", true),
        ("postgresql://u@localhost/db", true),
        ("postgres://u@[::1]/db?sslmode=prefer", true),
        ("postgres://u@db.example/db?sslmode=disable", true),
        ("postgres://u@db.example/db", false),
        ("postgres://u@127.0.0.1/db?sslmode=require", false),
        ("postgres://u@127.0.0.1/db?sslmode=verify-full", false),
        (
            "postgres://u@127.0.0.1/db?statement-cache-capacity=10",
            false,
        ),
    ];
    for (url, native) in cases {
        assert_eq!(PostgresReaders::from_url(url).is_some(), native, "{url}");
    }
}
