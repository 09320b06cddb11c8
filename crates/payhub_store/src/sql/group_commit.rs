//! Group commit: many requests' writes in one transaction, one fsync.
//!
//! Creating a payment or refund is one small transaction whose cost is almost
//! all the commit's fsync. So creates are not written by the request that made
//! them: they are queued to a committer task, which takes everything queued,
//! writes it in one transaction, commits, and only then answers each request.
//! No request is acknowledged before its data is durable, and there is no
//! waiting window: a batch is whatever queued up while the previous commit was
//! in flight, so a lone request goes straight through.
//!
//! Refund rules are checked inside the batch's transaction, so a refund sees
//! the refunds queued before it in the same batch. If the batch fails at the
//! SQL level (an id collision, a deadlock), it is rolled back and each job is
//! retried in a transaction of its own, so one bad job never fails the others.

use std::sync::Arc;

use payhub_core::{LedgerEvent, Payment, Refund};
use sqlx::AnyPool;
use tokio::sync::{mpsc, oneshot, Mutex};

use super::backend::{Backend, WriteLock};
use super::ledger_writes::{write_payments, write_refunds, LedgerTx, PaymentWrite, RefundWrite};
use super::postgres_writer::PostgresWriter;
use super::sqlite_writer::SqliteWriter;
use crate::error::{InsertRefundError, StoreError};
use crate::records::IdempotentResponse;

/// The most jobs one transaction takes.
const MAX_BATCH: usize = 256;
/// Jobs that may wait for a committer before submitters are slowed down.
const QUEUE: usize = 4096;

/// A create to commit.
pub(crate) enum Job {
    Payment {
        payment: Payment,
        event: LedgerEvent,
        kept: Option<IdempotentResponse>,
    },
    Refund {
        refund: Refund,
        event: LedgerEvent,
        kept: Option<IdempotentResponse>,
    },
}

pub(super) type Outcome = Result<(), InsertRefundError>;

struct Pending {
    job: Arc<Job>,
    reply: oneshot::Sender<Outcome>,
}

/// Which driver the committers write through.
pub(super) enum Target {
    /// sqlx's `Any` pool: where no native driver is set up (a PostgreSQL
    /// URL that asks for TLS, a store made without its file or URL).
    Pool(AnyPool, Backend),
    /// rusqlite on SQLite's one writer thread (`sqlite_writer`).
    Sqlite(Arc<SqliteWriter>),
    /// tokio-postgres, a connection of each committer's own (`postgres_writer`).
    Postgres(Box<tokio_postgres::Config>),
}

/// The queue in front of the committer tasks.
pub(crate) struct Committer {
    sender: mpsc::Sender<Pending>,
}

impl Committer {
    /// Starts `writers` committer tasks writing to `target`.
    pub(super) fn start(target: &Target, write_lock: WriteLock, writers: usize) -> Self {
        let (sender, receiver) = mpsc::channel(QUEUE);
        let receiver = Arc::new(Mutex::new(receiver));
        for _ in 0..writers.max(1) {
            let writer = match target {
                Target::Pool(pool, backend) => Writer::Pool(pool.clone(), *backend),
                Target::Sqlite(writer) => Writer::Sqlite(writer.clone()),
                Target::Postgres(config) => {
                    Writer::Postgres(Box::new(PostgresWriter::new((**config).clone())))
                }
            };
            tokio::spawn(run(writer, write_lock.clone(), receiver.clone()));
        }
        Self { sender }
    }

    /// Queues a job and waits until it is committed (or refused).
    pub(crate) async fn submit(&self, job: Job) -> Outcome {
        let queued = std::time::Instant::now();
        let (reply, answer) = oneshot::channel();
        self.sender
            .send(Pending {
                job: Arc::new(job),
                reply,
            })
            .await
            .map_err(|_| StoreError::WriterStopped)?;
        let outcome = answer.await.map_err(|_| StoreError::WriterStopped)?;
        // docs/METRICS.md: what a create or refund waits for its commit.
        metrics::histogram!("payhub_group_commit_wait_seconds")
            .record(queued.elapsed().as_secs_f64());
        outcome
    }
}

/// One committer task's way to the database.
enum Writer {
    Pool(AnyPool, Backend),
    Sqlite(Arc<SqliteWriter>),
    Postgres(Box<PostgresWriter>),
}

impl Writer {
    /// Writes the jobs in one transaction, in this process's turn to write.
    async fn execute(
        &mut self,
        write_lock: &WriteLock,
        jobs: &[Arc<Job>],
    ) -> Result<Vec<Outcome>, StoreError> {
        let _turn = write_lock.acquire().await;
        let started = std::time::Instant::now();
        let outcomes = self.write(jobs).await;
        // docs/METRICS.md: one batch's transaction, from its turn to its commit.
        metrics::histogram!("payhub_group_commit_write_seconds")
            .record(started.elapsed().as_secs_f64());
        outcomes
    }

    /// Writes the jobs in one transaction; the caller holds the turn.
    async fn write(&mut self, jobs: &[Arc<Job>]) -> Result<Vec<Outcome>, StoreError> {
        match self {
            Writer::Pool(pool, backend) => {
                let mut tx = pool.begin_with(backend.begin_write()).await?;
                let outcomes = write_jobs(&mut tx, jobs).await?;
                tx.commit().await?;
                Ok(outcomes)
            }
            Writer::Sqlite(writer) => writer.execute(jobs.to_vec()).await,
            Writer::Postgres(writer) => writer.execute(jobs).await,
        }
    }
}

async fn run(
    mut writer: Writer,
    write_lock: WriteLock,
    receiver: Arc<Mutex<mpsc::Receiver<Pending>>>,
) {
    loop {
        let batch = {
            let mut receiver = receiver.lock().await;
            let Some(first) = receiver.recv().await else {
                return;
            };
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match receiver.try_recv() {
                    Ok(pending) => batch.push(pending),
                    Err(_) => break,
                }
            }
            batch
        };
        commit(&mut writer, &write_lock, batch).await;
    }
}

async fn commit(writer: &mut Writer, write_lock: &WriteLock, batch: Vec<Pending>) {
    let jobs: Vec<Arc<Job>> = batch.iter().map(|p| p.job.clone()).collect();
    match writer.execute(write_lock, &jobs).await {
        Ok(outcomes) => {
            for (pending, outcome) in batch.into_iter().zip(outcomes) {
                let _ = pending.reply.send(outcome);
            }
        }
        Err(error) if batch.len() == 1 => {
            if let Some(pending) = batch.into_iter().next() {
                let _ = pending.reply.send(Err(error.into()));
            }
        }
        Err(_) => {
            for pending in batch {
                let outcome = match writer
                    .execute(write_lock, std::slice::from_ref(&pending.job))
                    .await
                {
                    Ok(mut outcomes) => outcomes
                        .pop()
                        .unwrap_or(Err(StoreError::WriterStopped.into())),
                    Err(error) => Err(error.into()),
                };
                let _ = pending.reply.send(outcome);
            }
        }
    }
}

/// Writes the jobs inside `tx`, whichever driver's; refused refunds are
/// outcomes, not errors.
pub(super) async fn write_jobs(
    tx: &mut impl LedgerTx,
    jobs: &[Arc<Job>],
) -> Result<Vec<Outcome>, StoreError> {
    // Jobs are written in order, each run of consecutive payments or of
    // consecutive refunds in a few statements, so a refund always sees every
    // payment and refund queued before it.
    let mut outcomes = Vec::with_capacity(jobs.len());
    let mut payments: Vec<PaymentWrite<'_>> = Vec::new();
    let mut refunds: Vec<RefundWrite<'_>> = Vec::new();
    for job in jobs {
        match &**job {
            Job::Payment {
                payment,
                event,
                kept,
            } => {
                flush_refunds(tx, &mut refunds, &mut outcomes).await?;
                payments.push((payment, event, kept.as_ref()));
                outcomes.push(Ok(()));
            }
            Job::Refund {
                refund,
                event,
                kept,
            } => {
                write_payments(tx, &payments).await?;
                payments.clear();
                refunds.push((refund, event, kept.as_ref()));
            }
        }
    }
    write_payments(tx, &payments).await?;
    flush_refunds(tx, &mut refunds, &mut outcomes).await?;
    Ok(outcomes)
}

/// Writes a run of refunds and appends their outcomes (a refused refund is
/// an outcome, not an error); the run is then empty.
async fn flush_refunds(
    tx: &mut impl LedgerTx,
    refunds: &mut Vec<RefundWrite<'_>>,
    outcomes: &mut Vec<Outcome>,
) -> Result<(), StoreError> {
    if refunds.is_empty() {
        return Ok(());
    }
    let written = write_refunds(tx, refunds).await?;
    outcomes.extend(
        written
            .into_iter()
            .map(|outcome| outcome.map_err(InsertRefundError::Rejected)),
    );
    refunds.clear();
    Ok(())
}
