//! payhub's storage.
//!
//! # Layout
//! - [`traits`]: one small trait per aggregate (ledger, gateway, outbox,
//!   idempotency, merchants, accounts, carrier billing, simulator, console),
//!   gathered by [`Store`], the one handle the server holds. Callers bring
//!   the traits into scope with `use payhub_store::prelude::*`.
//! - [`sql`]: their implementation on SQLite and PostgreSQL.
//! - [`records`]: merchants, subscriptions, deliveries, idempotency records.
//! - [`aps`]: the APS dialect's accounts, credit and stored payment methods.
//! - [`simulator`]: the simulated gateways' own books (sandbox mode).
//! - [`console`]: operator accounts, sessions and the operator console's reads.
//! - [`error`]: storage failures, classified for the facades.
//!
//! [`connect`] picks the backend from the URL scheme, applies the durability
//! settings and runs the forward-only migrations in `migrations/{sqlite,postgres}`.

pub mod aps;
pub mod connectors;
pub mod console;
pub mod error;
pub mod fresh_ids;
pub mod gauges;
pub mod records;
pub mod simulator;
pub mod sql;
pub mod traits;

/// Every store trait, so that their methods can be called on a `dyn Store`.
pub mod prelude {
    pub use crate::traits::{
        ApsStore, CarrierStore, ConnectorAccountStore, ConsoleStore, DeliveryStore, GatewayStore,
        IdempotencyStore, LedgerStore, MerchantStore, OutboxStore, SettingsStore, SimulatorStore,
        Store, SubscriptionStore, TelcoStore,
    };
}

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::{Migrate, Migrator};
use sqlx::Connection;
use sqlx::{AnyPool, ConnectOptions, Executor};

pub use aps::{
    ApsAccount, ApsPayment, ApsPaymentMethod, ApsPlan, ApsRefund, ApsRefundPlan, ApsRefundWrite,
    ApsWrite, CreditError, CreditState, MethodKind,
};
pub use connectors::{AccountHealth, ConnectorAccount, RoutingRules};
pub use console::{Operator, OperatorSession, PaymentSearch, VolumeRow};
pub use error::{ConnectError, InsertRefundError, StoreError, UpdateStatusError};
pub use fresh_ids::{with_fresh_ids, IdTaken, ID_ATTEMPTS};
pub use gauges::StoreGauges;
pub use records::*;
pub use simulator::{OrderChange, SimulatorOrder, SimulatorRefund};
pub use sql::{Backend, SqlStore};
pub use traits::{
    ApsStore, CarrierStore, ConnectorAccountStore, ConsoleStore, DeliveryStore, GatewayStore,
    IdempotencyStore, LedgerStore, MerchantStore, OutboxStore, SettingsStore, SimulatorStore,
    Store, SubscriptionStore, TelcoStore,
};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// SQLite settings applied to every connection.
///
/// WAL lets readers run beside the one writer; `synchronous=FULL` makes every
/// commit durable before it is acknowledged; `busy_timeout` queues writers
/// instead of failing them; foreign keys are off by default in SQLite.
pub(crate) const SQLITE_PRAGMAS: [&str; 4] = [
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = FULL",
    "PRAGMA busy_timeout = 5000",
    "PRAGMA foreign_keys = ON",
];

/// The backend a URL names, or why it names none.
pub fn backend_of(url: &str) -> Result<Backend, ConnectError> {
    let scheme = url.split_once(':').map(|(s, _)| s).unwrap_or("");
    match scheme {
        "sqlite" => Ok(Backend::Sqlite),
        "postgres" | "postgresql" => Ok(Backend::Postgres),
        other => Err(ConnectError::UnsupportedScheme(other.to_owned())),
    }
}

/// The URL with any password replaced, for messages and logs.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

/// Opens the store at `url`, creating a SQLite file (and its directory) if
/// needed, and runs pending migrations.
pub async fn connect(url: &str, max_connections: u32) -> Result<Arc<dyn Store>, ConnectError> {
    Ok(connect_and_migrate(url, max_connections).await?.0)
}

/// A migration that [`connect_and_migrate`] applied: its number and name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppliedMigration {
    pub version: i64,
    pub description: String,
}

/// [`connect`], also telling which migrations it applied (none when the
/// database was up to date), so that `payhub migrate` can say so.
pub async fn connect_and_migrate(
    url: &str,
    max_connections: u32,
) -> Result<(Arc<dyn Store>, Vec<AppliedMigration>), ConnectError> {
    let backend = backend_of(url)?;
    sqlx::any::install_default_drivers();
    let url = match backend {
        Backend::Sqlite => prepare_sqlite_url(url)?,
        Backend::Postgres => url.to_owned(),
    };
    let unreachable = |source| ConnectError::Unreachable {
        url: redact_url(&url),
        source,
    };
    let options = AnyConnectOptions::from_str(&url)
        .map_err(|e| ConnectError::InvalidUrl(format!("{}: {e}", redact_url(&url))))?
        .log_statements(tracing::log::LevelFilter::Trace)
        .log_slow_statements(tracing::log::LevelFilter::Warn, Duration::from_millis(500));
    let mut pool_options = AnyPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(5));
    if backend == Backend::Sqlite {
        pool_options = pool_options.after_connect(|conn, _meta| {
            Box::pin(async move {
                for pragma in SQLITE_PRAGMAS {
                    conn.execute(pragma).await?;
                }
                Ok(())
            })
        });
    }
    // One connection first: its error says why (refused, no such database,
    // authentication); the pool's would only say that it timed out.
    let mut probe = options.connect().await.map_err(unreachable)?;
    if backend == Backend::Sqlite {
        for pragma in SQLITE_PRAGMAS {
            probe.execute(pragma).await.map_err(unreachable)?;
        }
    }
    let migrator = match backend {
        Backend::Sqlite => &SQLITE_MIGRATIONS,
        Backend::Postgres => &POSTGRES_MIGRATIONS,
    };
    let migration_error = |source| ConnectError::Migration {
        url: redact_url(&url),
        source,
    };
    probe
        .ensure_migrations_table()
        .await
        .map_err(migration_error)?;
    let already: std::collections::HashSet<i64> = probe
        .list_applied_migrations()
        .await
        .map_err(migration_error)?
        .into_iter()
        .map(|applied| applied.version)
        .collect();
    let _ = probe.close().await;
    let pool: AnyPool = pool_options
        .connect_with(options)
        .await
        .map_err(unreachable)?;
    migrator.run(&pool).await.map_err(migration_error)?;
    let applied = migrator
        .iter()
        .filter(|m| !m.migration_type.is_down_migration() && !already.contains(&m.version))
        .map(|m| AppliedMigration {
            version: m.version,
            description: m.description.to_string(),
        })
        .collect();
    let store = match backend {
        Backend::Sqlite => SqlStore::new(pool, backend).with_sqlite_file(sqlite_path(&url)),
        Backend::Postgres => SqlStore::new(pool, backend).with_postgres_url(&url),
    };
    Ok((Arc::new(store), applied))
}

/// The file a `sqlite://` URL names.
fn sqlite_path(url: &str) -> std::path::PathBuf {
    let rest = url.trim_start_matches("sqlite:").trim_start_matches("//");
    let path = rest.split_once('?').map_or(rest, |(path, _)| path);
    std::path::PathBuf::from(path)
}

/// Makes sure the SQLite file's directory exists and asks sqlx to create the file.
fn prepare_sqlite_url(url: &str) -> Result<String, ConnectError> {
    let rest = url.trim_start_matches("sqlite:").trim_start_matches("//");
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path.is_empty() || path == ":memory:" {
        return Err(ConnectError::InvalidUrl(
            "payhub needs a SQLite file, not an in-memory database".into(),
        ));
    }
    if let Some(parent) = Path::new(path)
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
    {
        std::fs::create_dir_all(parent).map_err(|source| ConnectError::DataDir {
            path: parent.display().to_string(),
            source,
        })?;
    }
    create_private_file(Path::new(path))?;
    let query = if query.is_empty() {
        "mode=rwc".to_owned()
    } else {
        query.to_owned()
    };
    Ok(format!("sqlite://{path}?{query}"))
}

/// Creates the SQLite file readable by its owner only (0600) before SQLite
/// opens it, and tightens an existing file and its `-wal`/`-shm` companions.
///
/// SQLite gives the `-wal` and `-shm` files it creates the permissions of the
/// database file, so a private main file keeps all three private. Creating
/// the file with an explicit mode (rather than changing the process umask,
/// which would also affect every other thread) leaves no moment in which the
/// file is readable by others.
fn create_private_file(path: &Path) -> Result<(), ConnectError> {
    let data_file_error = |source| ConnectError::DataFile {
        path: path.display().to_string(),
        source,
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path).map_err(data_file_error)?;
    #[cfg(unix)]
    for suffix in ["", "-wal", "-shm"] {
        use std::os::unix::fs::PermissionsExt;
        let file = format!("{}{suffix}", path.display());
        let Ok(metadata) = std::fs::metadata(&file) else {
            continue;
        };
        if metadata.permissions().mode() & 0o077 != 0 {
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))
                .map_err(data_file_error)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_backend_from_the_scheme() {
        assert_eq!(backend_of("sqlite://x.db").ok(), Some(Backend::Sqlite));
        assert_eq!(
            backend_of("postgres://u@h/db").ok(),
            Some(Backend::Postgres)
        );
        assert_eq!(
            backend_of("postgresql://u@h/db").ok(),
            Some(Backend::Postgres)
        );
        assert!(
            matches!(backend_of("mysql://h/db"), Err(ConnectError::UnsupportedScheme(s)) if s == "mysql")
        );
    }

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            redact_url("postgres://u:secret@h/db"),
            "postgres://u:***@h/db"
        );
    }
}
