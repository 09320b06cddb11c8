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
use sqlx::{Any, AnyPool, Transaction};
use tokio::sync::{mpsc, oneshot, Mutex};

use super::backend::{Backend, WriteLock};
use super::ledger_writes::{write_payments, write_refunds, PaymentWrite, RefundWrite};
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

type Outcome = Result<(), InsertRefundError>;

struct Pending {
    job: Job,
    reply: oneshot::Sender<Outcome>,
}

/// The queue in front of the committer tasks.
pub(crate) struct Committer {
    sender: mpsc::Sender<Pending>,
}

impl Committer {
    /// Starts `writers` committer tasks: one for SQLite (it has one writer
    /// anyway), several for PostgreSQL, whose row locks let batches commit side
    /// by side.
    pub(crate) fn start(
        pool: AnyPool,
        backend: Backend,
        write_lock: WriteLock,
        writers: usize,
    ) -> Self {
        let (sender, receiver) = mpsc::channel(QUEUE);
        let receiver = Arc::new(Mutex::new(receiver));
        for _ in 0..writers.max(1) {
            let (pool, receiver, write_lock) = (pool.clone(), receiver.clone(), write_lock.clone());
            tokio::spawn(run(pool, backend, write_lock, receiver));
        }
        Self { sender }
    }

    /// Queues a job and waits until it is committed (or refused).
    pub(crate) async fn submit(&self, job: Job) -> Outcome {
        let (reply, answer) = oneshot::channel();
        self.sender
            .send(Pending { job, reply })
            .await
            .map_err(|_| StoreError::WriterStopped)?;
        answer.await.map_err(|_| StoreError::WriterStopped)?
    }
}

async fn run(
    pool: AnyPool,
    backend: Backend,
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
        commit(&pool, backend, &write_lock, batch).await;
    }
}

async fn commit(pool: &AnyPool, backend: Backend, write_lock: &WriteLock, batch: Vec<Pending>) {
    let jobs: Vec<&Job> = batch.iter().map(|p| &p.job).collect();
    match execute(pool, backend, write_lock, &jobs).await {
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
                let outcome = match execute(pool, backend, write_lock, &[&pending.job]).await {
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

/// Writes the jobs in one transaction; refused refunds are skipped, not errors.
async fn execute(
    pool: &AnyPool,
    backend: Backend,
    write_lock: &WriteLock,
    jobs: &[&Job],
) -> Result<Vec<Outcome>, StoreError> {
    let _serialized = write_lock.acquire().await;
    let mut tx = pool.begin_with(backend.begin_write()).await?;
    // Jobs are written in order, each run of consecutive payments or of
    // consecutive refunds in a few statements, so a refund always sees every
    // payment and refund queued before it.
    let mut outcomes = Vec::with_capacity(jobs.len());
    let mut payments: Vec<PaymentWrite<'_>> = Vec::new();
    let mut refunds: Vec<RefundWrite<'_>> = Vec::new();
    for job in jobs {
        match job {
            Job::Payment {
                payment,
                event,
                kept,
            } => {
                flush_refunds(&mut tx, backend, &mut refunds, &mut outcomes).await?;
                payments.push((payment, event, kept.as_ref()));
                outcomes.push(Ok(()));
            }
            Job::Refund {
                refund,
                event,
                kept,
            } => {
                write_payments(&mut tx, &payments).await?;
                payments.clear();
                refunds.push((refund, event, kept.as_ref()));
            }
        }
    }
    write_payments(&mut tx, &payments).await?;
    flush_refunds(&mut tx, backend, &mut refunds, &mut outcomes).await?;
    tx.commit().await?;
    Ok(outcomes)
}

/// Writes a run of refunds and appends their outcomes (a refused refund is
/// an outcome, not an error); the run is then empty.
async fn flush_refunds(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    refunds: &mut Vec<RefundWrite<'_>>,
    outcomes: &mut Vec<Outcome>,
) -> Result<(), StoreError> {
    if refunds.is_empty() {
        return Ok(());
    }
    let written = write_refunds(tx, backend, refunds).await?;
    outcomes.extend(
        written
            .into_iter()
            .map(|outcome| outcome.map_err(InsertRefundError::Rejected)),
    );
    refunds.clear();
    Ok(())
}
