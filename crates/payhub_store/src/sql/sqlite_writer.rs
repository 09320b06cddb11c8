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

use super::batch::ANONYMOUS_ROWS_PER_STATEMENT;
use super::codec::{payment_from_row, Columns as RowColumns};
use super::group_commit::{write_jobs, Job, Outcome};
use super::ledger_writes::{counted_payment, select_counted_refunds, select_payments, LedgerTx};
use super::row_values::{Columns, Value, KEEP_RESPONSE_SQL};
use super::sqlite_reads::{classify, column_names, Row};
use super::statements::StatementTx;
use crate::error::StoreError;

/// Statements the writer keeps prepared: group commit's (an insert per
/// table, the lock, the sum and the kept answer) and fan-out's, whose
/// multi-row statements differ in text with their number of rows; room
/// for all of them, so that a round of fan-out does not push group
/// commit's out.
const STATEMENTS_CACHED: usize = 128;

/// Work handed to the thread: it runs on the thread's connection, opened
/// on first use (and again after work that could not open it).
type Work = Box<dyn FnOnce(&mut Option<Connection>) + Send>;

/// The writer thread's queue; the thread ends when this is dropped.
pub(super) struct SqliteWriter {
    sender: mpsc::Sender<Work>,
    path: PathBuf,
    pragmas: &'static [&'static str],
}

impl SqliteWriter {
    /// Starts the writer thread for the SQLite file at `path`. Its
    /// connection is opened on the first work, with `pragmas`.
    pub(super) fn start(path: PathBuf, pragmas: &'static [&'static str]) -> Arc<Self> {
        let (sender, receiver) = mpsc::channel::<Work>();
        let spawned = std::thread::Builder::new()
            .name("payhub-sqlite-writer".into())
            .spawn(move || {
                let mut connection = None;
                while let Ok(work) = receiver.recv() {
                    work(&mut connection);
                }
            });
        if let Err(error) = spawned {
            // The sender's receiver is gone with the closure: every write
            // then fails with `WriterStopped`, a 503.
            tracing::error!(error = %error, "the SQLite writer thread could not start");
        }
        Arc::new(Self {
            sender,
            path,
            pragmas,
        })
    }

    /// Writes group commit's jobs in one transaction on the writer thread.
    /// The caller holds the store's write lock.
    pub(super) async fn execute(&self, jobs: Vec<Arc<Job>>) -> Result<Vec<Outcome>, StoreError> {
        self.transaction(move |tx| complete_now(write_jobs(&mut SqliteTx(tx), &jobs))?)
            .await
    }

    /// Runs `work` in one immediate transaction on the writer thread and
    /// commits it, or rolls it back if `work` fails. The caller holds the
    /// store's write lock, so the thread never waits for another writer of
    /// this process.
    pub(super) async fn transaction<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&rusqlite::Transaction<'_>) -> Result<T, StoreError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let (path, pragmas) = (self.path.clone(), self.pragmas);
        let job: Work = Box::new(move |connection| {
            let _ = reply.send(in_transaction(connection, &path, pragmas, work));
        });
        self.sender
            .send(job)
            .map_err(|_| StoreError::WriterStopped)?;
        answer.await.map_err(|_| StoreError::WriterStopped)?
    }
}

/// On the writer thread: `work` in one transaction, committed, or rolled
/// back (when its guard drops) if any statement failed.
fn in_transaction<T>(
    connection: &mut Option<Connection>,
    path: &PathBuf,
    pragmas: &[&str],
    work: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    if connection.is_none() {
        *connection = Some(open(path, pragmas).map_err(unavailable)?);
    }
    let Some(connection) = connection.as_mut() else {
        return Err(StoreError::WriterStopped);
    };
    let tx = connection
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(classify)?;
    let done = work(&tx)?;
    tx.commit().map_err(classify)?;
    Ok(done)
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
pub(super) fn complete_now<F: Future>(future: F) -> Result<F::Output, StoreError> {
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
pub(super) struct SqliteTx<'c>(pub(super) &'c rusqlite::Transaction<'c>);

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

impl StatementTx for SqliteTx<'_> {
    fn placeholders(&self) -> (bool, usize) {
        (true, ANONYMOUS_ROWS_PER_STATEMENT)
    }

    async fn execute(&mut self, sql: &str, values: &[Value<'_>]) -> Result<u64, StoreError> {
        let mut statement = self.0.prepare_cached(sql).map_err(classify)?;
        let changed = statement
            .execute(rusqlite::params_from_iter(values))
            .map_err(classify)?;
        Ok(u64::try_from(changed).unwrap_or(u64::MAX))
    }

    async fn fetch<T>(
        &mut self,
        sql: &str,
        values: &[Value<'_>],
        mut decode: impl FnMut(&dyn RowColumns) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        let mut statement = self.0.prepare_cached(sql).map_err(classify)?;
        let names = column_names(&statement);
        let mut rows = statement
            .query(rusqlite::params_from_iter(values))
            .map_err(classify)?;
        let mut decoded = Vec::new();
        while let Some(row) = rows.next().map_err(classify)? {
            decoded.push(decode(&Row::new(row, &names))?);
        }
        Ok(decoded)
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
