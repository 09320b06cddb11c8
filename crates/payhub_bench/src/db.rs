//! The databases a run measures on: each made fresh for one backend's run
//! and removed afterwards.

use std::path::PathBuf;

use sqlx::Connection;

/// A directory removed when dropped.
pub struct TempDir(pub PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A database that exists for one backend's run.
pub struct BenchDb {
    pub url: String,
    postgres: Option<(String, String)>,
    /// payhub's data directory for this database (and the SQLite file).
    pub dir: TempDir,
}

/// The SQLite file's name inside the run's directory.
const SQLITE_FILE: &str = "payhub.sqlite3";

impl BenchDb {
    pub async fn create(backend: &str, postgres_admin: &str) -> anyhow::Result<BenchDb> {
        let dir = std::env::temp_dir().join(format!("payhub-bench-{:016x}", rand::random::<u64>()));
        std::fs::create_dir_all(&dir)?;
        let dir = TempDir(dir);
        match backend {
            "sqlite" => Ok(BenchDb {
                url: format!("sqlite://{}/{SQLITE_FILE}", dir.0.display()),
                postgres: None,
                dir,
            }),
            "postgres" => {
                let name = format!("payhub_bench_{:016x}", rand::random::<u64>());
                let mut admin = sqlx::PgConnection::connect(postgres_admin).await?;
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut admin)
                    .await?;
                let base = postgres_admin
                    .rsplit_once('/')
                    .map_or(postgres_admin, |(b, _)| b);
                Ok(BenchDb {
                    url: format!("{base}/{name}"),
                    postgres: Some((postgres_admin.to_owned(), name)),
                    dir,
                })
            }
            other => anyhow::bail!("unknown backend '{other}' (sqlite or postgres)"),
        }
    }

    /// The SQLite database file (meaningful on SQLite only).
    pub fn sqlite_path(&self) -> PathBuf {
        self.dir.0.join(SQLITE_FILE)
    }

    pub async fn drop_database(&self) {
        if let Some((admin, name)) = &self.postgres {
            if let Ok(mut admin) = sqlx::PgConnection::connect(admin).await {
                let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut admin)
                    .await;
            }
        }
    }
}
