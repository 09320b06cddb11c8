//! PostgreSQL's hot reads (a payment or refund by id, a page of a list with
//! its total) through tokio-postgres on a few shared clients, instead of
//! through sqlx's `Any` pool.
//!
//! Two costs of the pool are gone on this path. A pooled read checks a
//! connection out for the whole round trip, so 64 requests on 16
//! connections queue for them; a tokio-postgres `Client` pipelines the
//! queries of every task that holds it (each is written to the socket as it
//! comes and the answers are matched in order), so a handful of clients
//! shared round-robin never make a read wait for another to finish. And
//! sqlx's `Any` driver copies every row into an `AnyRow` before payhub
//! decodes it; here the codecs read PostgreSQL's binary values in place
//! (`codec::Columns`).
//!
//! Each client keeps its statements prepared, in a small map from SQL text
//! to `Statement`: one per table and filter shape, the page's limit and
//! offset being bound. The page and its total come in one statement, the
//! same text the pool's path runs (`filter::page_with_total_sql`), so both
//! paths return the same rows in the same order.
//!
//! A client whose connection ended (the server restarted, an operator
//! terminated the backend, the network dropped) is replaced by the next
//! read that finds it so; a read that lost its connection midway is tried
//! once more on a new one, which is safe because it only reads. A database
//! that cannot be reached is [`StoreError::Unavailable`] (503), as on the
//! pool.
//!
//! TLS: these clients connect without it (`NoTls`), so they are used only
//! where that cannot lower the pool's protection: the URL says
//! `sslmode=disable`, or it leaves `sslmode` at its default (`prefer`) and
//! every host is a loopback address or a Unix socket. A URL that asks for
//! TLS (`sslmode=require`, `verify-ca`, `verify-full`), prefers it on a
//! remote host, or has options tokio-postgres does not know keeps every
//! read on sqlx, which says why once at start-up (docs/CONFIGURATION.md).
//!
//! Writes never come here, nor lists without a page.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_postgres::config::{Host, SslMode};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{FromSql, ToSql, Type};
use tokio_postgres::{Client, Config, NoTls, Statement};

use super::codec::Columns;
use super::driver_error::DriverError;
use super::filter::{count_sql, page_with_total_sql, total_from_page, Bind, WhereClause};
use crate::error::StoreError;
use crate::records::Page;

/// Clients shared round-robin. Each pipelines any number of reads, so more
/// clients only spread the work over more PostgreSQL backends (processes):
/// measured at c=64 on two cores (docs/PERFORMANCE.md).
pub(super) const CLIENTS: usize = 4;

/// Prepared statements kept per client before the map is emptied: a find
/// and a page per table and filter shape; a filter's `IN` lists of other
/// lengths are other shapes.
const STATEMENTS_CACHED: usize = 128;

/// How long a new connection may take, as long as the pool waits for one.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How these clients show in `pg_stat_activity`, unless the URL names one.
pub(super) const APPLICATION_NAME: &str = "payhub-reads";

/// The shared clients, each connected on first use and after its connection ends.
pub(super) struct PostgresReaders {
    config: Config,
    slots: Vec<Slot>,
    next: AtomicUsize,
}

/// One shared client's place: the live client, and a lock that lets one
/// task at a time open its replacement.
#[derive(Default)]
struct Slot {
    current: Mutex<Option<Arc<Reader>>>,
    connecting: tokio::sync::Mutex<()>,
}

/// A connected client with its prepared statements.
struct Reader {
    client: Client,
    statements: Mutex<HashMap<String, Statement>>,
}

impl PostgresReaders {
    /// The readers for this URL, or `None` (said once, at info) when its
    /// reads must stay on sqlx; see the module's doc on TLS.
    pub(super) fn from_url(url: &str) -> Option<Self> {
        match native_config(url, APPLICATION_NAME) {
            Ok(config) => Some(Self::with_clients(config, CLIENTS)),
            Err(reason) => {
                tracing::info!(
                    reason,
                    "PostgreSQL reads and group commit's writes stay on sqlx's pool (no tokio-postgres path)"
                );
                None
            }
        }
    }

    fn with_clients(config: Config, clients: usize) -> Self {
        Self {
            config,
            slots: (0..clients.max(1)).map(|_| Slot::default()).collect(),
            next: AtomicUsize::new(0),
        }
    }

    /// The merchant's row of `table` with this id, decoded by `decode`.
    pub(super) async fn find<T>(
        &self,
        (table, columns): (&str, &str),
        merchant: &str,
        id: i64,
        decode: impl Fn(&Row<'_>) -> Result<T, StoreError>,
    ) -> Result<Option<T>, StoreError> {
        let sql = format!("SELECT {columns} FROM {table} WHERE id = $1 AND merchant_id = $2");
        let merchant = merchant.to_owned();
        let params: [&(dyn ToSql + Sync); 2] = [&id, &merchant];
        let rows = self.query(&sql, &[Type::INT8, Type::TEXT], &params).await?;
        rows.first().map(|row| decode(&Row(row))).transpose()
    }

    /// A page of the rows `clause` selects, newest first, and the number of
    /// all of them, as the pool's path reads them (`filter::list_rows`).
    pub(super) async fn page<T>(
        &self,
        (table, columns): (&str, &str),
        clause: &WhereClause,
        page: Page,
        decode: impl Fn(&Row<'_>) -> Result<T, StoreError>,
    ) -> Result<(Vec<T>, i64), StoreError> {
        let (_, binds) = clause.parts();
        let (limit, offset) = (page.limit.max(0), page.offset.max(0));
        let mut types = bind_types(binds);
        types.extend([Type::INT8, Type::INT8]);
        let mut params = bind_params(binds);
        let paging: [&(dyn ToSql + Sync); 2] = [&limit, &offset];
        params.extend(paging);
        let sql = page_with_total_sql(table, columns, clause);
        let rows = self.query(&sql, &types, &params).await?;
        let items = rows
            .iter()
            .map(|row| decode(&Row(row)))
            .collect::<Result<Vec<T>, StoreError>>()?;
        if let Some(first) = rows.first() {
            return Ok((items, Row(first).int("list_total")?));
        }
        if let Some(total) = total_from_page(page, 0) {
            return Ok((items, total));
        }
        // An empty page past the first row: the list may end before the offset.
        let counted = self
            .query(
                &count_sql(table, clause),
                &bind_types(binds),
                &bind_params(binds),
            )
            .await?;
        let total = match counted.first() {
            Some(row) => Row(row).int("n")?,
            None => 0,
        };
        Ok((items, total))
    }

    /// Runs one statement on the next shared client, once more on a new
    /// connection if this one was lost.
    async fn query(
        &self,
        sql: &str,
        types: &[Type],
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<tokio_postgres::Row>, StoreError> {
        let slot = &self.slots[self.next.fetch_add(1, Ordering::Relaxed) % self.slots.len()];
        let mut retried = false;
        loop {
            let reader = slot.reader(&self.config).await?;
            let result = match reader.statement(sql, types).await {
                Ok(statement) => reader.client.query(&statement, params).await,
                Err(error) => Err(error),
            };
            match result {
                Ok(rows) => return Ok(rows),
                Err(error) if reader.client.is_closed() || connection_lost(&error) => {
                    slot.forget(&reader);
                    if retried {
                        return Err(unreachable(error));
                    }
                    tracing::info!(error = %error, "a PostgreSQL read lost its connection; reading again on a new one");
                    retried = true;
                }
                Err(error) => return Err(classify(error)),
            }
        }
    }
}

impl Slot {
    /// The live client, connecting a new one if there is none or its
    /// connection has ended.
    async fn reader(&self, config: &Config) -> Result<Arc<Reader>, StoreError> {
        if let Some(reader) = self.live() {
            return Ok(reader);
        }
        let _connecting = self.connecting.lock().await;
        // Another task may have connected while this one waited.
        if let Some(reader) = self.live() {
            return Ok(reader);
        }
        let reader = Arc::new(Reader::connect(config).await?);
        *lock(&self.current) = Some(reader.clone());
        Ok(reader)
    }

    fn live(&self) -> Option<Arc<Reader>> {
        lock(&self.current)
            .as_ref()
            .filter(|reader| !reader.client.is_closed())
            .cloned()
    }

    /// Drops `reader` from the slot, unless another task already replaced it.
    fn forget(&self, reader: &Arc<Reader>) {
        let mut current = lock(&self.current);
        if current
            .as_ref()
            .is_some_and(|held| Arc::ptr_eq(held, reader))
        {
            *current = None;
        }
    }
}

/// A new client of `config`, without TLS (see the module's doc); a server
/// that cannot be reached is [`StoreError::Unavailable`].
pub(super) async fn connect(config: &Config) -> Result<Client, StoreError> {
    let (client, connection) = config.connect(NoTls).await.map_err(unreachable)?;
    // The connection's task reads and writes the socket; it ends when
    // the server or the network closes it (the client then reports
    // `is_closed`), or when the client is dropped.
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::info!(error = %error, "a PostgreSQL connection of payhub's own ended");
        }
    });
    Ok(client)
}

impl Reader {
    async fn connect(config: &Config) -> Result<Reader, StoreError> {
        Ok(Reader {
            client: connect(config).await?,
            statements: Mutex::new(HashMap::new()),
        })
    }

    /// `sql` prepared on this client, once. Parameter types are given, not
    /// inferred, so that a bind always meets the type it was meant for.
    async fn statement(
        &self,
        sql: &str,
        types: &[Type],
    ) -> Result<Statement, tokio_postgres::Error> {
        if let Some(statement) = lock(&self.statements).get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.client.prepare_typed(sql, types).await?;
        let mut statements = lock(&self.statements);
        if statements.len() >= STATEMENTS_CACHED {
            statements.clear();
        }
        statements.insert(sql.to_owned(), statement.clone());
        Ok(statement)
    }
}

/// Locks a map or slot, whose contents stay valid even if a holder panicked.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The tokio-postgres configuration for `url`, its connections named
/// `application_name` unless the URL names them, or why its reads (and
/// group commit's writes, `postgres_writer`) stay on sqlx.
pub(super) fn native_config(url: &str, application_name: &str) -> Result<Config, String> {
    let mut config = Config::from_str(url)
        .map_err(|e| format!("tokio-postgres does not take this URL ({e}); TLS asked?"))?;
    let hosts_local = config.get_hosts().iter().all(|host| match host {
        Host::Unix(_) => true,
        Host::Tcp(name) => {
            name == "localhost"
                || name
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|a| a.is_loopback())
        }
    }) && config.get_hostaddrs().iter().all(|addr| addr.is_loopback());
    match config.get_ssl_mode() {
        SslMode::Disable => {}
        SslMode::Prefer if hosts_local => {}
        SslMode::Prefer => {
            return Err(
                "sslmode prefers TLS on a remote host; the native path has no TLS \
                 (sslmode=disable would use it)"
                    .into(),
            )
        }
        _ => return Err("sslmode asks for TLS, which the native path does not do".into()),
    }
    if config.get_application_name().is_none() {
        config.application_name(application_name);
    }
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    Ok(config)
}

/// The PostgreSQL types of a filter's binds, in placeholder order.
fn bind_types(binds: &[Bind]) -> Vec<Type> {
    binds
        .iter()
        .map(|bind| match bind {
            Bind::Int(_) => Type::INT8,
            Bind::Text(_) => Type::TEXT,
        })
        .collect()
}

fn bind_params(binds: &[Bind]) -> Vec<&(dyn ToSql + Sync)> {
    binds
        .iter()
        .map(|bind| -> &(dyn ToSql + Sync) {
            match bind {
                Bind::Int(value) => value,
                Bind::Text(value) => value,
            }
        })
        .collect()
}

/// A row read by tokio-postgres, decoded by the same codecs as sqlx's rows.
///
/// tokio-postgres converts only between matching types (an `i64` from
/// `BIGINT`, a `String` from `TEXT`); every column the ledger codecs read is
/// `BIGINT` or `TEXT` (migrations/postgres), and integers also read from
/// `INTEGER` and `SMALLINT`, as sqlx's `Any` rows allow.
pub(super) struct Row<'a>(&'a tokio_postgres::Row);

impl<'a> Row<'a> {
    pub(super) fn new(row: &'a tokio_postgres::Row) -> Self {
        Self(row)
    }

    fn get<'r, T: FromSql<'r>>(&'r self, name: &str) -> Result<T, StoreError> {
        self.0
            .try_get(name)
            .map_err(|e| StoreError::classify(sqlx::Error::Decode(Box::new(e))))
    }
}

impl Columns for Row<'_> {
    fn int(&self, name: &str) -> Result<i64, StoreError> {
        self.get::<Int>(name).map(|int| int.0)
    }
    fn opt_int(&self, name: &str) -> Result<Option<i64>, StoreError> {
        self.get::<Option<Int>>(name)
            .map(|int| int.map(|int| int.0))
    }
    fn text(&self, name: &str) -> Result<String, StoreError> {
        self.get(name)
    }
    fn opt_text(&self, name: &str) -> Result<Option<String>, StoreError> {
        self.get(name)
    }
}

/// An integer column of any width, as `i64`.
struct Int(i64);

impl<'a> FromSql<'a> for Int {
    fn from_sql(
        ty: &Type,
        raw: &'a [u8],
    ) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        match *ty {
            Type::INT2 => i16::from_sql(ty, raw).map(|v| Int(v.into())),
            Type::INT4 => i32::from_sql(ty, raw).map(|v| Int(v.into())),
            _ => i64::from_sql(ty, raw).map(Int),
        }
    }

    fn accepts(ty: &Type) -> bool {
        matches!(*ty, Type::INT2 | Type::INT4 | Type::INT8)
    }
}

/// True when the error means the connection is gone (closed, broken, or
/// the server ending the session), so a new one may succeed.
fn connection_lost(error: &tokio_postgres::Error) -> bool {
    if error.is_closed() {
        return true;
    }
    if std::error::Error::source(error).is_some_and(|source| source.is::<std::io::Error>()) {
        return true;
    }
    error.code().is_some_and(|code| {
        code.code().starts_with("08")
            || *code == SqlState::ADMIN_SHUTDOWN
            || *code == SqlState::CRASH_SHUTDOWN
            || *code == SqlState::CANNOT_CONNECT_NOW
    })
}

/// A connection that could not be opened, or was lost twice in a row: the
/// database is unavailable.
fn unreachable(error: tokio_postgres::Error) -> StoreError {
    StoreError::Unavailable(sqlx::Error::Io(std::io::Error::other(error)))
}

/// Sorts a tokio-postgres error as [`StoreError::classify`] sorts sqlx's: a
/// lost connection is [`StoreError::Unavailable`], an error the server
/// reported is a database error with its message and SQLSTATE.
pub(super) fn classify(error: tokio_postgres::Error) -> StoreError {
    if connection_lost(&error) {
        return unreachable(error);
    }
    let Some(reported) = error.as_db_error() else {
        return StoreError::classify(sqlx::Error::Protocol(error.to_string()));
    };
    let message = reported.message().to_owned();
    let code = reported.code().clone();
    let kind = if code == SqlState::UNIQUE_VIOLATION {
        sqlx::error::ErrorKind::UniqueViolation
    } else if code == SqlState::FOREIGN_KEY_VIOLATION {
        sqlx::error::ErrorKind::ForeignKeyViolation
    } else {
        sqlx::error::ErrorKind::Other
    };
    DriverError::new(error, message, Some(code.code().to_owned()), kind).into_store_error()
}
