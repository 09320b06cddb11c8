//! Group commit's writes on SQLite through rusqlite, on one thread of
//! their own, instead of through sqlx.
//!
//! sqlx's SQLite driver runs each connection on a thread of its own and
//! hands every statement to it and its answer back: a batch of creates
//! (begin, payments, events, kept answers, commit) crossed threads a dozen
//! times, each crossing a wake-up of the thread and of the task. Here the
//! committer hands the whole batch over once: this module's thread runs its
//! transaction with statements prepared once (rusqlite's statement cache)
//! and answers once. The batch's rows are then what SQLite itself costs:
//! one prepared insert stepped per row, which is how the benchmark's raw
//! engine ceiling writes them.
//!
//! The thread writes only in the committer's turn (the store's write lock,
//! taken before the batch is handed over), so it never contends with the
//! pool's writers in this process; other processes meet SQLite's busy
//! timeout as on the pool. Its connection takes the pool's pragmas
//! (`SQLITE_PRAGMAS`): WAL, `synchronous = FULL`, the busy timeout and
//! foreign keys, so a create is exactly as durable as before.

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::{mpsc, Arc};
use std::task::{Context, Poll, Waker};

use payhub_core::{Payment, PaymentId};
use rusqlite::types::ToSqlOutput;
use rusqlite::{Connection, OpenFlags, ToSql, TransactionBehavior};
use tokio::sync::oneshot;

use super::codec::payment_from_row;
use super::group_commit::{write_jobs, Job, Outcome};
use super::ledger_writes::{counted_payment, select_counted_refunds, select_payments, LedgerTx};
use super::row_values::{Columns, Value, KEEP_RESPONSE_SQL};
use super::sqlite_reads::{classify, column_names, Row};
use crate::error::StoreError;

/// Statements the writer keeps prepared: an insert per table, the lock,
/// the sum and the kept answer.
const STATEMENTS_CACHED: usize = 16;

/// A batch handed to the thread, and where its outcomes go.
struct Batch {
    jobs: Vec<Arc<Job>>,
    reply: oneshot::Sender<Result<Vec<Outcome>, StoreError>>,
}

/// The writer thread's queue; the thread ends when this is dropped.
pub(super) struct SqliteWriter {
    sender: mpsc::Sender<Batch>,
}

impl SqliteWriter {
    /// Starts the writer thread for the SQLite file at `path`. Its
    /// connection is opened on the first batch (and again after a batch
    /// that could not open it), with `pragmas`.
    pub(super) fn start(path: PathBuf, pragmas: &'static [&'static str]) -> Arc<Self> {
        let (sender, receiver) = mpsc::channel::<Batch>();
        let spawned = std::thread::Builder::new()
            .name("payhub-sqlite-writer".into())
            .spawn(move || {
                let mut connection = None;
                while let Ok(batch) = receiver.recv() {
                    let outcomes = write_batch(&mut connection, &path, pragmas, &batch.jobs);
                    let _ = batch.reply.send(outcomes);
                }
            });
        if let Err(error) = spawned {
            // The sender's receiver is gone with the closure: every batch
            // then fails with `WriterStopped`, a 503.
            tracing::error!(error = %error, "the SQLite writer thread could not start");
        }
        Arc::new(Self { sender })
    }

    /// Writes the jobs in one transaction on the writer thread. The caller
    /// holds the store's write lock.
    pub(super) async fn execute(&self, jobs: Vec<Arc<Job>>) -> Result<Vec<Outcome>, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.sender
            .send(Batch { jobs, reply })
            .map_err(|_| StoreError::WriterStopped)?;
        answer.await.map_err(|_| StoreError::WriterStopped)?
    }
}

/// On the writer thread: one transaction for the batch, committed, or
/// rolled back (when its guard drops) if any statement failed.
fn write_batch(
    connection: &mut Option<Connection>,
    path: &PathBuf,
    pragmas: &[&str],
    jobs: &[Arc<Job>],
) -> Result<Vec<Outcome>, StoreError> {
    if connection.is_none() {
        *connection = Some(open(path, pragmas).map_err(unavailable)?);
    }
    let Some(connection) = connection.as_mut() else {
        return Err(StoreError::WriterStopped);
    };
    let tx = connection
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(classify)?;
    let outcomes = complete_now(write_jobs(&mut SqliteTx(&tx), jobs))??;
    tx.commit().map_err(classify)?;
    Ok(outcomes)
}

fn open(path: &PathBuf, pragmas: &[&str]) -> rusqlite::Result<Connection> {
    let connection = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    for pragma in pragmas {
        connection.execute_batch(pragma)?;
    }
    connection.set_prepared_statement_cache_capacity(STATEMENTS_CACHED);
    Ok(connection)
}

/// The writer's file could not be opened: the database is unavailable.
fn unavailable(error: rusqlite::Error) -> StoreError {
    StoreError::Unavailable(sqlx::Error::Io(std::io::Error::other(error)))
}

/// Runs the shared (async) ledger writes to their end on this thread.
/// Every statement of [`SqliteTx`] runs as it is called, so the future
/// never waits: it completes in its first poll, and needs no runtime.
fn complete_now<F: Future>(future: F) -> Result<F::Output, StoreError> {
    let mut future = std::pin::pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => Ok(output),
        Poll::Pending => Err(StoreError::Invariant(
            "a write on SQLite's writer thread waited for something".into(),
        )),
    }
}

/// The ledger's statements on the writer thread's open transaction.
struct SqliteTx<'c>(&'c rusqlite::Transaction<'c>);

impl SqliteTx<'_> {
    /// The lock of [`LedgerTx::lock_and_count`].
    fn lock_payments(&self, ids: &[i64]) -> Result<HashMap<i64, Payment>, StoreError> {
        // The immediate transaction already excludes other writers; one
        // prepared point read per payment is SQLite's cheapest way in.
        let sql = format!("{} WHERE id = ?1", select_payments());
        let mut statement = self.0.prepare_cached(&sql).map_err(classify)?;
        let names = column_names(&statement);
        let mut payments = HashMap::with_capacity(ids.len());
        for id in ids {
            let mut rows = statement.query([id]).map_err(classify)?;
            if let Some(row) = rows.next().map_err(classify)? {
                let payment = payment_from_row(&Row::new(row, &names))?;
                payments.insert(payment.id.get(), payment);
            }
        }
        Ok(payments)
    }

    /// The sums of [`LedgerTx::lock_and_count`].
    fn counted_refunds(&self, ids: &[i64]) -> Result<Vec<(PaymentId, i64)>, StoreError> {
        let sql = select_counted_refunds("= ?1");
        let mut statement = self.0.prepare_cached(&sql).map_err(classify)?;
        let mut counted = Vec::new();
        for id in ids {
            let mut rows = statement.query([id]).map_err(classify)?;
            if let Some(row) = rows.next().map_err(classify)? {
                let refunded: i64 = row.get(1).map_err(classify)?;
                counted.push((counted_payment(*id)?, refunded));
            }
        }
        Ok(counted)
    }
}

impl LedgerTx for SqliteTx<'_> {
    async fn lock_and_count(
        &mut self,
        ids: &[i64],
    ) -> Result<(HashMap<i64, Payment>, Vec<(PaymentId, i64)>), StoreError> {
        Ok((self.lock_payments(ids)?, self.counted_refunds(ids)?))
    }

    async fn insert_rows(
        &mut self,
        columns: &Columns,
        values: &[Value<'_>],
    ) -> Result<(), StoreError> {
        let width = columns.names.len();
        let placeholders = vec!["?"; width].join(", ");
        let sql = format!(
            "INSERT INTO {} ({}) VALUES ({placeholders})",
            columns.table,
            columns.list()
        );
        let mut statement = self.0.prepare_cached(&sql).map_err(classify)?;
        for row in values.chunks(width) {
            statement
                .execute(rusqlite::params_from_iter(row))
                .map_err(classify)?;
        }
        Ok(())
    }

    async fn keep_response(&mut self, values: &[Value<'_>; 7]) -> Result<bool, StoreError> {
        let mut statement = self.0.prepare_cached(KEEP_RESPONSE_SQL).map_err(classify)?;
        let updated = statement
            .execute(rusqlite::params_from_iter(values))
            .map_err(classify)?;
        Ok(updated == 1)
    }
}

impl ToSql for Value<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        match self {
            Value::Int(value) => value.to_sql(),
            Value::Text(value) => value.to_sql(),
        }
    }
}
