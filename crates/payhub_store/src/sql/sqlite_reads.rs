//! SQLite's hot reads (a payment or refund by id, a page of a list) through
//! rusqlite on the calling thread, instead of through sqlx.
//!
//! sqlx's SQLite driver runs every connection on a thread of its own: each
//! statement is sent to that thread and its rows sent back, and every one of
//! those hand-offs wakes a thread. Profiled under `GET /payment/{id}` at
//! concurrency 64 on two cores, waking and switching threads was about half
//! of payhub's CPU time (docs/PERFORMANCE.md). A point read or a short page
//! from SQLite's and the OS's caches takes microseconds, less than one such
//! wake-up, so these reads run right where the request is handled, on
//! read-only connections kept here, with their statements prepared once per
//! connection (rusqlite's statement cache).
//!
//! Only reads bounded to [`INLINE_ROWS_MAX`] rows come here; longer pages
//! stay on sqlx, whose threads keep a long read off the async runtime.
//! Writes never come here: they keep the write lock and group commit.
//!
//! The cost of reading on the runtime's thread: a read that must go to the
//! disk (a page in neither cache), or one that waits in SQLite's busy
//! handler (WAL readers only wait while another connection recovers the WAL
//! index, after a crash), holds that thread meanwhile. Each reader also has
//! SQLite's default page cache (2 MB), for at most [`IDLE_MAX`] idle ones.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OpenFlags};

use super::codec::Columns;
use super::driver_error::DriverError;
use super::filter::{Bind, WhereClause};
use crate::error::StoreError;

/// The longest page read on the calling thread.
pub(super) const INLINE_ROWS_MAX: i64 = 100;

/// Idle reader connections kept for reuse; more are opened when more
/// requests read at once (at most one per thread reading).
const IDLE_MAX: usize = 8;

/// Statements each reader keeps prepared: a find and a page and count per
/// table and filter shape.
const STATEMENTS_CACHED: usize = 64;

/// Read-only connections to the SQLite file, opened on first use.
pub(super) struct SqliteReaders {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl SqliteReaders {
    pub(super) fn new(path: PathBuf) -> Self {
        Self {
            path,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Runs `read` on a reader connection, on this thread.
    fn with_connection<T>(
        &self,
        read: impl FnOnce(&mut Connection) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .pop();
        let mut connection = match idle {
            Some(connection) => connection,
            None => self.open().map_err(unavailable)?,
        };
        let result = read(&mut connection);
        let mut idle = self
            .idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if idle.len() < IDLE_MAX {
            idle.push(connection);
        }
        result.map_err(classify)
    }

    fn open(&self) -> rusqlite::Result<Connection> {
        let connection = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        connection.busy_timeout(Duration::from_secs(5))?;
        connection.set_prepared_statement_cache_capacity(STATEMENTS_CACHED);
        Ok(connection)
    }

    /// The row of `table` with this id and merchant, decoded by `decode`.
    pub(super) fn find<T>(
        &self,
        table: &str,
        columns: &str,
        merchant: &str,
        id: i64,
        decode: impl Fn(&Row<'_, '_>) -> Result<T, StoreError>,
    ) -> Result<Option<T>, StoreError> {
        let sql = format!("SELECT {columns} FROM {table} WHERE id = $1 AND merchant_id = $2");
        let mut decoded = None;
        self.with_connection(|connection| {
            let mut statement = connection.prepare_cached(&sql)?;
            let names = column_names(&statement);
            let mut rows = statement.query(rusqlite::params![id, merchant])?;
            if let Some(row) = rows.next()? {
                decoded = Some(decode(&Row { row, names: &names }));
            }
            Ok(())
        })?;
        decoded.transpose()
    }

    /// A page of the rows `clause` selects, newest first, and the number of
    /// all of them when `count` is given, read in one transaction so that
    /// the two agree.
    pub(super) fn page<T>(
        &self,
        (table, columns): (&str, &str),
        clause: &WhereClause,
        (limit, offset): (i64, i64),
        count: impl Fn(usize) -> bool,
        decode: impl Fn(&Row<'_, '_>) -> Result<T, StoreError>,
    ) -> Result<(Vec<T>, Option<i64>), StoreError> {
        let (sql, binds) = clause.parts();
        let n = binds.len();
        let page_sql = format!(
            "SELECT {columns} FROM {table} {sql} ORDER BY id DESC LIMIT ${} OFFSET ${}",
            n + 1,
            n + 2
        );
        let count_sql = format!("SELECT COUNT(*) FROM {table} {sql}");
        let values: Vec<SqlValue> = binds.iter().map(sql_value).collect();
        let mut decoded = Vec::new();
        let total = self.with_connection(|connection| {
            let tx = connection.transaction()?;
            {
                let mut statement = tx.prepare_cached(&page_sql)?;
                let names = column_names(&statement);
                let paging = [SqlValue::Integer(limit), SqlValue::Integer(offset)];
                let mut rows =
                    statement.query(rusqlite::params_from_iter(values.iter().chain(&paging)))?;
                while let Some(row) = rows.next()? {
                    decoded.push(decode(&Row { row, names: &names }));
                }
            }
            let total = if count(decoded.len()) {
                let mut statement = tx.prepare_cached(&count_sql)?;
                Some(
                    statement.query_row(rusqlite::params_from_iter(values.iter()), |row| {
                        row.get::<_, i64>(0)
                    })?,
                )
            } else {
                None
            };
            tx.commit()?;
            Ok(total)
        })?;
        let items = decoded
            .into_iter()
            .collect::<Result<Vec<T>, StoreError>>()?;
        Ok((items, total))
    }
}

fn sql_value(bind: &Bind) -> SqlValue {
    match bind {
        Bind::Int(value) => SqlValue::Integer(*value),
        Bind::Text(value) => SqlValue::Text(value.clone()),
    }
}

/// A statement's column names, in order.
pub(super) fn column_names(statement: &rusqlite::Statement<'_>) -> Vec<String> {
    statement
        .column_names()
        .into_iter()
        .map(str::to_owned)
        .collect()
}

/// A row read by rusqlite, decoded by the same codecs as sqlx's rows.
///
/// Columns are found in the statement's names looked up once per statement:
/// rusqlite's own lookup by name asks SQLite for every column's name and
/// compares it without regard to case, which measured a sixth of a list's
/// CPU time.
pub(super) struct Row<'a, 'b> {
    row: &'a rusqlite::Row<'b>,
    names: &'a [String],
}

impl<'a, 'b> Row<'a, 'b> {
    /// `row` of a statement whose [`column_names`] are `names`.
    pub(super) fn new(row: &'a rusqlite::Row<'b>, names: &'a [String]) -> Self {
        Self { row, names }
    }

    fn get<T: rusqlite::types::FromSql>(&self, name: &str) -> Result<T, StoreError> {
        let index = self
            .names
            .iter()
            .position(|column| column == name)
            .ok_or_else(|| StoreError::Corrupt(format!("no column {name}")))?;
        self.row.get(index).map_err(classify)
    }
}

impl Columns for Row<'_, '_> {
    fn int(&self, name: &str) -> Result<i64, StoreError> {
        self.get(name)
    }
    fn opt_int(&self, name: &str) -> Result<Option<i64>, StoreError> {
        self.get(name)
    }
    fn text(&self, name: &str) -> Result<String, StoreError> {
        self.get(name)
    }
    fn opt_text(&self, name: &str) -> Result<Option<String>, StoreError> {
        self.get(name)
    }
}

/// A reader that could not be opened: the database is unavailable.
fn unavailable(error: rusqlite::Error) -> StoreError {
    StoreError::Unavailable(sqlx::Error::Io(std::io::Error::other(error)))
}

/// Sorts a rusqlite error as [`StoreError::classify`] sorts sqlx's: as a
/// database error with SQLite's message and extended code, so that
/// "database is locked" after the busy timeout is a 503 on either path, and
/// a taken key (on the writer thread) an id collision.
pub(super) fn classify(error: rusqlite::Error) -> StoreError {
    let (message, code, kind) = match &error {
        rusqlite::Error::SqliteFailure(failure, message) => {
            let message = message.clone().unwrap_or_else(|| match failure.code {
                rusqlite::ErrorCode::DatabaseBusy => "database is busy".to_owned(),
                rusqlite::ErrorCode::DatabaseLocked => "database is locked".to_owned(),
                _ => "sqlite error".to_owned(),
            });
            let kind = match failure.extended_code {
                rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
                | rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE => {
                    sqlx::error::ErrorKind::UniqueViolation
                }
                rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY => {
                    sqlx::error::ErrorKind::ForeignKeyViolation
                }
                rusqlite::ffi::SQLITE_CONSTRAINT_NOTNULL => {
                    sqlx::error::ErrorKind::NotNullViolation
                }
                rusqlite::ffi::SQLITE_CONSTRAINT_CHECK => sqlx::error::ErrorKind::CheckViolation,
                _ => sqlx::error::ErrorKind::Other,
            };
            (message, Some(failure.extended_code.to_string()), kind)
        }
        _ => (
            "sqlite error".to_owned(),
            None,
            sqlx::error::ErrorKind::Other,
        ),
    };
    DriverError::new(error, message, code, kind).into_store_error()
}
