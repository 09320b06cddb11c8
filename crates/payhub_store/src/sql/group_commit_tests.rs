//! Group commit through each of its drivers: sqlx's `Any` pool and the
//! native writers (`sqlite_writer`, `postgres_writer`), on both backends,
//! held to the same rules: refunds of one payment never exceed it however
//! they are batched, a refused refund writes nothing, a taken id is an id
//! collision the caller can draw again for, and an answer whose claim was
//! taken over rolls its payment back. The PostgreSQL tests need a server
//! (`PAYHUB_TEST_POSTGRES_URL`) and have `postgres` in their names.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::str::FromStr;
use std::sync::Arc;

use chrono::Utc;
use payhub_core::{
    Currency, Document, MerchantId, Money, NewPayment, NewRefund, Origin, Payment, Refund,
    RefundRejection, Status,
};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Row};

use super::postgres_reads_tests::TestDb;
use super::{Backend, SqlStore};
use crate::error::{InsertRefundError, StoreError};
use crate::records::{IdempotencyBegin, IdempotentResponse, SavedResponse};
use crate::traits::{IdempotencyStore, LedgerStore};

const MERCHANT: &str = "mer_00000000000000c3";

/// Now, to the microsecond the store keeps.
fn now() -> chrono::DateTime<Utc> {
    chrono::DateTime::from_timestamp_micros(Utc::now().timestamp_micros()).unwrap()
}

fn eur(minor: i64) -> Money {
    Money::from_minor(minor, Currency::parse("EUR").unwrap()).unwrap()
}

fn captured_payment(minor: i64) -> (Payment, payhub_core::LedgerEvent) {
    Payment::record_with_event(
        NewPayment {
            merchant_id: MerchantId::parse(MERCHANT).unwrap(),
            account_id: "acct-commit".into(),
            correlator_id: Some("corr-é".into()),
            total_amount: Some(eur(minor)),
            amount_decimals: None,
            status: Some(Status::Captured),
            payment_date: None,
            document: Document::new(r#"{"account":{"id":"acct-commit"}}"#.into()),
            origin: Origin::new("tmf676"),
        },
        now(),
    )
}

fn refund_of(payment: &Payment, minor: i64) -> (Refund, payhub_core::LedgerEvent) {
    Refund::record_with_event(
        NewRefund {
            merchant_id: payment.merchant_id.clone(),
            payment_id: Some(payment.id),
            account_id: "acct-commit".into(),
            correlator_id: None,
            total_amount: Some(eur(minor)),
            amount_decimals: None,
            status: None,
            refund_date: None,
            document: Document::new("{}".into()),
        },
        now(),
    )
}

fn answer(key: &str, claim: &str) -> IdempotentResponse {
    IdempotentResponse {
        merchant_id: MerchantId::parse(MERCHANT).unwrap(),
        key: key.into(),
        claim: claim.into(),
        response: SavedResponse {
            status: 201,
            location: Some("/payment/1".into()),
            body: "{}".into(),
        },
    }
}

/// A merchant row for `id`, which the ledger's rows refer to.
pub(super) async fn add_merchant(pool: &AnyPool, id: &str) {
    sqlx::query(
        "INSERT INTO merchants (id, name, api_key_hash, created_at, updated_at) \
         VALUES ($1, 'Test', 'hash', 0, 0)",
    )
    .bind(id)
    .execute(pool)
    .await
    .unwrap();
}

async fn count(pool: &AnyPool, sql: &str) -> i64 {
    sqlx::query(sql)
        .fetch_one(pool)
        .await
        .unwrap()
        .try_get::<i64, _>(0)
        .unwrap()
}

/// The same story through any store: the rules hold, and what was
/// refused left nothing behind.
async fn the_ledger_rules_hold(store: &Arc<SqlStore>, pool: &AnyPool) {
    add_merchant(pool, MERCHANT).await;
    let (payment, event) = captured_payment(10_000);
    store.insert_payment(&payment, &event, None).await.unwrap();

    // Five refunds of 30.00 of a 100.00 payment, sent together so that
    // group commit batches them: three fit, two are refused.
    let tasks: Vec<_> = (0..5)
        .map(|_| {
            let (store, (refund, event)) = (store.clone(), refund_of(&payment, 3_000));
            tokio::spawn(async move { store.insert_refund(&refund, &event, None).await })
        })
        .collect();
    let mut admitted = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(()) => admitted += 1,
            Err(InsertRefundError::Rejected(RefundRejection::ExceedsRefundable { .. })) => {}
            Err(other) => panic!("unexpected refusal: {other:?}"),
        }
    }
    assert_eq!(admitted, 3);

    // A refund of a payment that does not exist: refused, nothing written.
    let (unknown, _) = captured_payment(500);
    let (refund, refund_event) = refund_of(&unknown, 100);
    assert!(matches!(
        store.insert_refund(&refund, &refund_event, None).await,
        Err(InsertRefundError::Rejected(
            RefundRejection::PaymentNotFound(_)
        ))
    ));

    // The same payment id again: an id collision, nothing else written.
    assert!(matches!(
        store.insert_payment(&payment, &event, None).await,
        Err(StoreError::IdCollision)
    ));

    // An answer whose claim is not held: the payment rolls back with it.
    let (lost, lost_event) = captured_payment(700);
    let result = store
        .insert_payment(&lost, &lost_event, Some(&answer("key-lost", "claim-x")))
        .await;
    assert!(result.is_err(), "{result:?}");
    assert_eq!(
        store
            .find_payment(&lost.merchant_id, lost.id)
            .await
            .unwrap(),
        None
    );

    // An answer whose claim is held: kept with its payment.
    let merchant = MerchantId::parse(MERCHANT).unwrap();
    let now = now();
    let begun = store
        .begin_idempotent(&merchant, "key-kept", "fp", "claim-1", now, now)
        .await
        .unwrap();
    assert_eq!(begun, IdempotencyBegin::Proceed);
    let (kept, kept_event) = captured_payment(900);
    store
        .insert_payment(&kept, &kept_event, Some(&answer("key-kept", "claim-1")))
        .await
        .unwrap();
    let replay = store
        .begin_idempotent(&merchant, "key-kept", "fp", "claim-2", now, now)
        .await
        .unwrap();
    assert!(matches!(replay, IdempotencyBegin::Replay(saved) if saved.status == 201));

    let found = store
        .find_payment(&payment.merchant_id, payment.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found, payment);
    assert_eq!(count(pool, "SELECT COUNT(*) FROM payments").await, 2);
    assert_eq!(count(pool, "SELECT COUNT(*) FROM refunds").await, 3);
    assert_eq!(
        count(
            pool,
            "SELECT CAST(SUM(amount_minor) AS BIGINT) FROM refunds"
        )
        .await,
        9_000
    );
    // One event per row written, each with its payment's origin.
    assert_eq!(
        count(
            pool,
            "SELECT COUNT(*) FROM outbox_events WHERE origin = 'tmf676'"
        )
        .await,
        5
    );
    assert_eq!(count(pool, "SELECT COUNT(*) FROM outbox_events").await, 5);
}

/// A migrated SQLite file of its own, and a pool on it with payhub's pragmas.
pub(super) async fn sqlite_file() -> (std::path::PathBuf, AnyPool) {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let path =
        std::env::temp_dir().join(format!("payhub-commit-{}-{nanos}.db", std::process::id()));
    sqlx::any::install_default_drivers();
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let pool = AnyPoolOptions::new()
        .max_connections(2)
        .after_connect(|conn, _meta| {
            Box::pin(async move {
                for pragma in crate::SQLITE_PRAGMAS {
                    sqlx::Executor::execute(&mut *conn, pragma).await?;
                }
                Ok(())
            })
        })
        .connect_with(AnyConnectOptions::from_str(&url).unwrap())
        .await
        .unwrap();
    crate::SQLITE_MIGRATIONS.run(&pool).await.unwrap();
    (path, pool)
}

pub(super) fn remove_sqlite(path: &std::path::Path) {
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

#[tokio::test]
async fn group_commit_through_rusqlite_keeps_the_ledger_rules() {
    let (path, pool) = sqlite_file().await;
    let store = SqlStore::new(pool.clone(), Backend::Sqlite).with_sqlite_file(path.clone());
    the_ledger_rules_hold(&Arc::new(store), &pool).await;
    remove_sqlite(&path);
}

#[tokio::test]
async fn group_commit_through_the_sqlite_pool_keeps_the_ledger_rules() {
    let (path, pool) = sqlite_file().await;
    let store = SqlStore::new(pool.clone(), Backend::Sqlite);
    the_ledger_rules_hold(&Arc::new(store), &pool).await;
    remove_sqlite(&path);
}

#[tokio::test]
async fn group_commit_through_tokio_postgres_keeps_the_ledger_rules() {
    let (db, pool) = TestDb::create().await;
    let store = Arc::new(SqlStore::new(pool.clone(), Backend::Postgres).with_postgres_url(&db.url));
    the_ledger_rules_hold(&store, &pool).await;
    // The writes went through the committers' own connections.
    let writers = count(
        &pool,
        &format!(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = '{}' AND application_name = '{}'",
            db.name,
            super::postgres_writer::APPLICATION_NAME
        ),
    )
    .await;
    assert!(writers >= 1, "no connection of the native writers");
}

#[tokio::test]
async fn group_commit_through_the_postgres_pool_keeps_the_ledger_rules() {
    let (_db, pool) = TestDb::create().await;
    let store = SqlStore::new(pool.clone(), Backend::Postgres);
    the_ledger_rules_hold(&Arc::new(store), &pool).await;
}
