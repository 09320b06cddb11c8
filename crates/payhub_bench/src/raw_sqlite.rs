//! SQLite's ceiling on the raw engine: payhub's rows written through SQLite's
//! C API (rusqlite, the same bundled SQLite that sqlx links), with prepared,
//! cached statements and payhub's durability (WAL, `synchronous=FULL`), into
//! a database made by payhub's own migrations. No payhub code is on the path
//! except the making of the row values.
//!
//! SQLite has one writer at a time. Writers at a concurrency above one take
//! turns on an in-process mutex before `BEGIN IMMEDIATE`, as payhub's store
//! does, rather than sleeping in SQLite's busy handler: the ceiling is the
//! engine's, not its busy handler's.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use payhub_core::MerchantId;
use rusqlite::{params, Connection, TransactionBehavior};

use crate::storage::{insert_event_sql, insert_payment_sql, Columns};

/// payhub's SQLite pragmas (`payhub_store`'s `SQLITE_PRAGMAS`).
const PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                       PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;";

fn open(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.execute_batch(PRAGMAS)?;
    Ok(conn)
}

/// Writes `rows` (payments with their events) in one transaction.
fn write(conn: &mut Connection, rows: &[Columns]) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    {
        let mut payment = tx.prepare_cached(&insert_payment_sql('?'))?;
        let mut event = tx.prepare_cached(&insert_event_sql('?'))?;
        for r in rows {
            payment.execute(params![
                r.payment_id,
                r.merchant_id,
                r.status,
                r.status_date,
                r.payment_date,
                r.account_id,
                r.correlator_id,
                r.amount_minor,
                r.currency,
                r.document,
                r.origin,
                r.created_at,
                r.created_at,
            ])?;
            event.execute(params![
                r.event_id,
                r.merchant_id,
                r.event_type,
                r.payment_id,
                r.event_status,
                r.occurred_at,
                0_i64,
                r.occurred_at,
                r.occurred_at,
                r.origin,
            ])?;
        }
    }
    tx.commit()
}

/// Rows per second with one transaction per row, from `concurrency` threads,
/// each with its own connection. Blocking: call it off the async runtime.
pub fn one_row_per_transaction(
    path: &Path,
    merchant: &MerchantId,
    concurrency: usize,
    duration: Duration,
) -> anyhow::Result<f64> {
    let written = AtomicUsize::new(0);
    let turn = Mutex::new(());
    let mut conns = (0..concurrency)
        .map(|_| open(path))
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let started = Instant::now();
    let deadline = started + duration;
    std::thread::scope(|scope| {
        let workers: Vec<_> = conns
            .iter_mut()
            .enumerate()
            .map(|(worker, conn)| {
                let (written, turn) = (&written, &turn);
                scope.spawn(move || {
                    let mut n = 0_usize;
                    while Instant::now() < deadline {
                        let row = Columns::new(merchant, &format!("raw-{worker}-{n}"), 1000);
                        let _turn = turn.lock().unwrap_or_else(|e| e.into_inner());
                        write(conn, std::slice::from_ref(&row))?;
                        written.fetch_add(1, Ordering::Relaxed);
                        n += 1;
                    }
                    anyhow::Ok(())
                })
            })
            .collect();
        workers
            .into_iter()
            .try_for_each(|w| w.join().map_err(|_| anyhow::anyhow!("writer panicked"))?)
    })?;
    Ok(written.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64())
}

/// Writes `rows` payments in transactions of `batch` rows from one thread;
/// returns rows per second. Blocking: call it off the async runtime.
pub fn batched(
    path: &Path,
    merchant: &MerchantId,
    rows: usize,
    batch: usize,
    account_of: impl Fn(usize) -> String,
) -> anyhow::Result<f64> {
    let mut conn = open(path)?;
    let started = Instant::now();
    let mut n = 0;
    while n < rows {
        let size = batch.min(rows - n);
        let chunk: Vec<_> = (n..n + size)
            .map(|i| Columns::new(merchant, &account_of(i), 1000))
            .collect();
        write(&mut conn, &chunk)?;
        n += size;
    }
    Ok(rows as f64 / started.elapsed().as_secs_f64())
}
