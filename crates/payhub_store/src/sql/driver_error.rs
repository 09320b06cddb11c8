//! An error of a native driver (rusqlite on SQLite's hot reads,
//! tokio-postgres on PostgreSQL's) as sqlx's `DatabaseError`, so that
//! [`StoreError::classify`](crate::StoreError::classify) sorts it exactly as
//! it sorts the pool's: "database is locked" after the busy timeout is a
//! 503 on either path, a unique violation a conflict.

use std::borrow::Cow;
use std::error::Error;

use sqlx::error::ErrorKind;

/// What the database said, with the driver's own error as the source.
#[derive(Debug)]
pub(super) struct DriverError {
    source: Box<dyn Error + Send + Sync>,
    message: String,
    code: Option<String>,
    kind: ErrorKind,
}

impl DriverError {
    /// `message` and `code` (the SQLSTATE or the engine's code, when it has
    /// one) are what the database reported; `kind` sorts constraint errors.
    pub(super) fn new(
        source: impl Error + Send + Sync + 'static,
        message: impl Into<String>,
        code: Option<String>,
        kind: ErrorKind,
    ) -> Self {
        Self {
            source: Box::new(source),
            message: message.into(),
            code,
            kind,
        }
    }

    /// As the store's error.
    pub(super) fn into_store_error(self) -> crate::error::StoreError {
        crate::error::StoreError::classify(sqlx::Error::Database(Box::new(self)))
    }
}

impl std::fmt::Display for DriverError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.source.fmt(f)
    }
}

impl Error for DriverError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(self.source.as_ref())
    }
}

impl sqlx::error::DatabaseError for DriverError {
    fn message(&self) -> &str {
        &self.message
    }

    fn code(&self) -> Option<Cow<'_, str>> {
        self.code.as_deref().map(Cow::Borrowed)
    }

    fn as_error(&self) -> &(dyn Error + Send + Sync + 'static) {
        self
    }

    fn as_error_mut(&mut self) -> &mut (dyn Error + Send + Sync + 'static) {
        self
    }

    fn into_error(self: Box<Self>) -> Box<dyn Error + Send + Sync + 'static> {
        self
    }

    fn kind(&self) -> ErrorKind {
        match self.kind {
            ErrorKind::UniqueViolation => ErrorKind::UniqueViolation,
            ErrorKind::ForeignKeyViolation => ErrorKind::ForeignKeyViolation,
            ErrorKind::NotNullViolation => ErrorKind::NotNullViolation,
            ErrorKind::CheckViolation => ErrorKind::CheckViolation,
            _ => ErrorKind::Other,
        }
    }
}
