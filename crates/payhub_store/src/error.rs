//! Storage failures, classified so that each facade can answer them honestly.

use payhub_core::{RefundRejection, TransitionError};

/// A failure of the store itself, not of the caller's request.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached, the pool is exhausted or closed:
    /// the request may succeed later (HTTP 503 with `Retry-After`).
    #[error("the database is unavailable")]
    Unavailable(#[source] sqlx::Error),
    /// The committer task that writes creates has stopped (the store is
    /// shutting down): the request may succeed on another node or later.
    #[error("the store's writer has stopped")]
    WriterStopped,
    /// A freshly drawn id was already taken; the caller draws another and retries.
    #[error("id collision")]
    IdCollision,
    /// A dialect's reference (a retail `rrn`, a telco `transactionId`) is
    /// already taken by the merchant: nothing was written.
    #[error("the reference is already used")]
    DuplicateReference,
    /// A stored value no longer parses (a bug or a hand-edited row).
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    /// A caller asked for something the store's contract rules out (credit
    /// an account cannot cover, a payment of another kind than the call
    /// expects): a bug in the caller, not bad stored data.
    #[error("the store refused the request: {0}")]
    Invariant(String),
    /// Anything else the database reported.
    #[error("database error")]
    Other(#[source] sqlx::Error),
}

impl StoreError {
    /// Sorts a driver error into the classes above.
    pub(crate) fn classify(error: sqlx::Error) -> StoreError {
        match &error {
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_) => StoreError::Unavailable(error),
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::IdCollision,
            sqlx::Error::Database(db) if is_busy(db.message()) => StoreError::Unavailable(error),
            _ => StoreError::Other(error),
        }
    }
}

/// SQLite's "database is locked" after `busy_timeout`: the writer queue is full.
fn is_busy(message: &str) -> bool {
    message.contains("database is locked") || message.contains("database is busy")
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        StoreError::classify(error)
    }
}

/// Why a refund was not recorded.
#[derive(Debug, thiserror::Error)]
pub enum InsertRefundError {
    /// The ledger's rules refused it.
    #[error(transparent)]
    Rejected(#[from] RefundRejection),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for InsertRefundError {
    fn from(error: sqlx::Error) -> Self {
        InsertRefundError::Store(StoreError::classify(error))
    }
}

/// Why a status change was not recorded.
#[derive(Debug, thiserror::Error)]
pub enum UpdateStatusError {
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Transition(#[from] TransitionError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for UpdateStatusError {
    fn from(error: sqlx::Error) -> Self {
        UpdateStatusError::Store(StoreError::classify(error))
    }
}

/// Why the store could not be opened at start-up.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("unsupported database URL scheme '{0}': use sqlite://PATH or postgres://USER@HOST/DB")]
    UnsupportedScheme(String),
    #[error("invalid database URL: {0}")]
    InvalidUrl(String),
    #[error("cannot open the database at {url}: {source}{}", unreachable_hint(url))]
    Unreachable { url: String, source: sqlx::Error },
    #[error("cannot migrate the database at {url}: {source}")]
    Migration {
        url: String,
        source: sqlx::migrate::MigrateError,
    },
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot create or make private the database file {path}: {source}")]
    DataFile {
        path: String,
        source: std::io::Error,
    },
}

/// What to check when a database cannot be opened.
fn unreachable_hint(url: &str) -> &'static str {
    if url.starts_with("postgres") {
        " (is PostgreSQL running at that address, and does the database exist? \
         `createdb -h HOST -U USER DB` creates it)"
    } else {
        ""
    }
}
