//! The [`Store`](crate::Store) on SQL: one implementation for SQLite and PostgreSQL.
//!
//! Queries are plain runtime SQL through sqlx's `Any` driver with `$N`
//! placeholders, which both backends accept. The hot paths run through each
//! backend's native driver instead. Reads of payments and refunds (by id, a
//! page of a list): rusqlite on the request's thread on SQLite
//! (`sqlite_reads`), tokio-postgres clients shared by every request on
//! PostgreSQL, which pipeline their queries (`postgres_reads`). Group
//! commit's writes (every create of a payment or refund): rusqlite on a
//! writer thread of their own (`sqlite_writer`), and a tokio-postgres
//! connection per committer (`postgres_writer`). Fan-out's writes on SQLite
//! (claims, dispatch, outcomes): the same writer thread, a transaction each
//! (`fan_out_writes`). Neither PostgreSQL path is used when the URL asks
//! for TLS. Where the two dialects differ (how a
//! write transaction begins, row locks, `SKIP LOCKED`), [`Backend`] says
//! which text to use. The dual-backend test suite is what keeps both honest.
//!
//! One module per job. Shared mechanisms: `backend` (dialect differences and
//! the SQLite write lock), `codec` (row codecs), `row_values` (the columns
//! and values of the rows a create writes, for every driver), `filter` (list
//! filters), `batch` (multi-row statements), `tx` (status moves),
//! `ledger_writes` (the rules of writing payment and refund rows with their
//! events, over any driver's transaction), `statements` (plain statements
//! over either driver's write transaction, for fan-out), `gateway_rows` (gateway rows and
//! dialect references), `checks` (claiming due checks), `group_commit`,
//! `gauges`, and the native paths above. Then one module per aggregate
//! trait of [`crate::traits`], implementing it directly: `ledger`, `gateway`,
//! `outbox`, `deliveries`, `subscriptions`, `idempotency`, `merchants`,
//! `settings`, `aps`, `telco`, `carrier`, `simulator`, `console`, `connectors`.

use std::sync::Arc;

use async_trait::async_trait;
use sqlx::{Any, AnyPool, Transaction};

use crate::error::StoreError;
use crate::traits::Store;
use backend::{WriteLock, WriteTurn};
use group_commit::{Committer, Target};

mod aps;
mod backend;
mod batch;
mod carrier;
mod checks;
mod codec;
mod connectors;
mod console;
mod deliveries;
mod driver_error;
#[cfg(test)]
mod fan_out_tests;
mod fan_out_writes;
mod filter;
mod gateway;
mod gateway_rows;
mod gauges;
mod group_commit;
#[cfg(test)]
mod group_commit_tests;
mod idempotency;
mod ledger;
mod ledger_writes;
mod merchants;
mod outbox;
mod postgres_reads;
#[cfg(test)]
mod postgres_reads_tests;
mod postgres_writer;
mod row_values;
mod settings;
mod simulator;
mod sqlite_reads;
mod sqlite_writer;
mod statements;
mod subscriptions;
mod telco;
mod tx;

pub use backend::Backend;

/// The SQL store.
pub struct SqlStore {
    pool: AnyPool,
    backend: Backend,
    write_lock: WriteLock,
    committer: Committer,
    /// SQLite's hot reads without sqlx's thread hand-offs; `None` on
    /// PostgreSQL and until [`SqlStore::with_sqlite_file`] names the file.
    sqlite_readers: Option<sqlite_reads::SqliteReaders>,
    /// SQLite's writer thread (`sqlite_writer`), for fan-out's writes
    /// (`fan_out_writes`); group commit's committer holds it too. `None` on
    /// PostgreSQL and until [`SqlStore::with_sqlite_file`] names the file.
    sqlite_writer: Option<Arc<sqlite_writer::SqliteWriter>>,
    /// PostgreSQL's hot reads on shared tokio-postgres clients, without the
    /// pool's checkout and `AnyRow`s; `None` on SQLite, until
    /// [`SqlStore::with_postgres_url`] names the server, and when its URL
    /// asks for TLS.
    postgres_readers: Option<postgres_reads::PostgresReaders>,
}

impl SqlStore {
    /// Wraps a migrated pool. Group commit writes through the pool until
    /// [`SqlStore::with_sqlite_file`] or [`SqlStore::with_postgres_url`]
    /// gives it the backend's native driver.
    pub fn new(pool: AnyPool, backend: Backend) -> Self {
        let write_lock = WriteLock::for_backend(backend);
        let committer = Committer::start(
            &Target::Pool(pool.clone(), backend),
            write_lock.clone(),
            committers(backend),
        );
        Self {
            pool,
            backend,
            write_lock,
            committer,
            sqlite_readers: None,
            sqlite_writer: None,
            postgres_readers: None,
        }
    }

    /// Reads payments and refunds by id, and short pages of them, from this
    /// SQLite file through connections of the store's own (see
    /// `sqlite_reads`), and writes group commit's batches to it through
    /// rusqlite on a thread of their own (`sqlite_writer`). Ignored on
    /// PostgreSQL.
    pub fn with_sqlite_file(mut self, path: std::path::PathBuf) -> Self {
        if self.backend == Backend::Sqlite {
            let writer = sqlite_writer::SqliteWriter::start(path.clone(), &crate::SQLITE_PRAGMAS);
            self.committer = Committer::start(
                &Target::Sqlite(writer.clone()),
                self.write_lock.clone(),
                committers(self.backend),
            );
            self.sqlite_writer = Some(writer);
            self.sqlite_readers = Some(sqlite_reads::SqliteReaders::new(path));
        }
        self
    }

    /// Reads payments and refunds by id, and pages of them, from the
    /// PostgreSQL server at this URL through tokio-postgres clients of the
    /// store's own (see `postgres_reads`), and writes group commit's
    /// batches through tokio-postgres connections of each committer's own
    /// (`postgres_writer`), unless the URL asks for TLS. Ignored on SQLite.
    pub fn with_postgres_url(mut self, url: &str) -> Self {
        if self.backend == Backend::Postgres {
            self.postgres_readers = postgres_reads::PostgresReaders::from_url(url);
            if let Ok(config) =
                postgres_reads::native_config(url, postgres_writer::APPLICATION_NAME)
            {
                self.committer = Committer::start(
                    &Target::Postgres(Box::new(config)),
                    self.write_lock.clone(),
                    committers(self.backend),
                );
            }
        }
        self
    }

    /// Starts a write transaction; keep the turn alive until it commits.
    /// The caller's file names the writer in the metrics.
    #[track_caller]
    pub(super) fn begin_write(
        &self,
    ) -> impl std::future::Future<Output = Result<(WriteTurn, Transaction<'static, Any>), StoreError>>
           + Send
           + '_ {
        let writer = backend::writer_name(std::panic::Location::caller());
        async move {
            let turn = self.write_lock.acquire_for(writer).await;
            let tx = self.pool.begin_with(self.backend.begin_write()).await?;
            Ok((turn, tx))
        }
    }
}

/// Committer tasks: one for SQLite (it has one writer anyway), several for
/// PostgreSQL, whose row locks let batches commit side by side.
fn committers(backend: Backend) -> usize {
    match backend {
        Backend::Sqlite => 1,
        Backend::Postgres => 4,
    }
}

#[async_trait]
impl Store for SqlStore {
    fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}
