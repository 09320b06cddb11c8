//! Where fan-out's writes run: each is one transaction, on SQLite's writer
//! thread when the store has one (`sqlite_writer`), else on the pool.
//!
//! Fan-out's claims, dispatch and outcomes take SQLite's one turn to write
//! as group commit's batches do. Through sqlx-sqlite every statement of
//! theirs crossed to a connection thread and back while the turn was held,
//! and creates queued behind them: measured with the turn's hold metric
//! (docs/METRICS.md), a dispatch or a round of outcomes held it 1–10 ms,
//! against under 1 ms for nine in ten of group commit's batches
//! (docs/PERFORMANCE.md, "The write tail"). On the writer thread a
//! transaction is one hand-off, its statements prepared and cached.

use std::future::Future;

use chrono::{DateTime, Utc};

use super::codec::micros;
use super::row_values::Value;
use super::sqlite_writer::{complete_now, SqliteTx};
use super::statements::StatementTx;
use super::SqlStore;
use crate::error::StoreError;

/// One of fan-out's writes, written once for either driver.
pub(super) trait FanOutWrite: Send + 'static {
    type Output: Send + 'static;

    /// The write's statements inside `tx`.
    fn run(
        &self,
        tx: &mut impl StatementTx,
    ) -> impl Future<Output = Result<Self::Output, StoreError>>;
}

/// A claim of due work under a lease: up to `limit` rows due at `now`,
/// hidden from other workers until `lease_until`. A claim's statement
/// binds [`Lease::values`]: `$1` the lease's end, `$2` and `$3` now, `$4`
/// the limit.
#[derive(Clone, Copy)]
pub(super) struct Lease {
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: i64,
    /// Appended to the claim's subquery: `FOR UPDATE SKIP LOCKED` on
    /// PostgreSQL, so that nodes claim different rows.
    pub(super) skip_locked: &'static str,
}

impl Lease {
    pub(super) fn values(&self) -> [Value<'static>; 4] {
        let now = Value::Int(Some(micros(self.now)));
        [
            Value::Int(Some(micros(self.lease_until))),
            now,
            now,
            Value::Int(Some(self.limit)),
        ]
    }
}

impl SqlStore {
    /// A lease on this store's backend.
    pub(super) fn lease(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> Lease {
        Lease {
            now,
            lease_until,
            limit,
            skip_locked: self.backend.skip_locked(),
        }
    }

    /// Runs `write` in a transaction of its own and commits it. The caller
    /// holds the turn to write (on SQLite), taken in its own module so the
    /// turn's metrics name it.
    pub(super) async fn write_fan_out<W: FanOutWrite>(
        &self,
        write: W,
    ) -> Result<W::Output, StoreError> {
        if let Some(writer) = &self.sqlite_writer {
            return writer
                .transaction(move |tx| complete_now(write.run(&mut SqliteTx(tx)))?)
                .await;
        }
        let mut tx = self.pool.begin_with(self.backend.begin_write()).await?;
        let output = write.run(&mut tx).await?;
        tx.commit().await?;
        Ok(output)
    }
}
