//! Which SQL server is behind the pool, the SQL text that differs between
//! the two, and the in-process write lock SQLite needs.

use std::sync::Arc;

/// Which SQL server is behind the pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// SQLite must take the write lock when the transaction starts, or two
    /// writers that both read first deadlock on upgrade; PostgreSQL locks rows.
    pub(crate) fn begin_write(self) -> &'static str {
        match self {
            Backend::Sqlite => "BEGIN IMMEDIATE",
            Backend::Postgres => "BEGIN",
        }
    }

    /// Row lock for read-then-write; SQLite's immediate transaction already excludes writers.
    pub(crate) fn for_update(self) -> &'static str {
        match self {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE",
        }
    }

    /// Lets several nodes claim work from one queue without waiting on each other.
    pub(crate) fn skip_locked(self) -> &'static str {
        match self {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        }
    }
}

/// Serializes this process's SQLite writers in memory.
///
/// SQLite has one writer at a time. A writer that finds the lock taken waits in
/// SQLite's busy handler, which sleeps 1, 2, 5 … up to 100 ms between tries,
/// so a 1 ms transaction can cost its neighbours 100 ms. Queuing writers on an
/// async mutex instead wakes the next one the moment the lock is free. (The busy
/// timeout still covers other processes, such as `payhub merchant create`.)
/// PostgreSQL needs no such lock.
#[derive(Clone)]
pub(crate) struct WriteLock(Option<Arc<tokio::sync::Mutex<()>>>);

impl WriteLock {
    pub(crate) fn for_backend(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => Self(Some(Arc::new(tokio::sync::Mutex::new(())))),
            Backend::Postgres => Self(None),
        }
    }

    /// Waits for this process's turn to write (at once on PostgreSQL). The
    /// caller's source file names the writer in the wait and hold metrics.
    #[track_caller]
    pub(crate) fn acquire(&self) -> impl std::future::Future<Output = WriteTurn> + Send + '_ {
        self.acquire_for(writer_name(std::panic::Location::caller()))
    }

    /// [`WriteLock::acquire`] for a writer named by its caller.
    pub(crate) async fn acquire_for(&self, writer: &'static str) -> WriteTurn {
        match &self.0 {
            Some(lock) => {
                let asked = std::time::Instant::now();
                let guard = lock.clone().lock_owned().await;
                // docs/METRICS.md: how long writers queue for SQLite's one writer.
                metrics::histogram!("payhub_sqlite_write_wait_seconds", "writer" => writer)
                    .record(asked.elapsed().as_secs_f64());
                WriteTurn {
                    _held: Some(Held {
                        _guard: guard,
                        writer,
                        since: std::time::Instant::now(),
                    }),
                }
            }
            None => WriteTurn { _held: None },
        }
    }
}

/// A writer's name in the metrics: the stem of the source file that asked
/// for the turn (`group_commit`, `outbox`, `deliveries`, …).
pub(crate) fn writer_name(caller: &'static std::panic::Location<'static>) -> &'static str {
    let file = caller.file();
    let stem = file.rsplit(['/', '\\']).next().unwrap_or(file);
    stem.strip_suffix(".rs").unwrap_or(stem)
}

/// This process's turn to write on SQLite; held until the transaction ends.
pub(crate) struct WriteTurn {
    _held: Option<Held>,
}

/// A turn taken, and since when, for the hold metric.
struct Held {
    _guard: tokio::sync::OwnedMutexGuard<()>,
    writer: &'static str,
    since: std::time::Instant,
}

impl Drop for Held {
    fn drop(&mut self) {
        // docs/METRICS.md: how long each writer keeps SQLite's one writer.
        metrics::histogram!("payhub_sqlite_write_hold_seconds", "writer" => self.writer)
            .record(self.since.elapsed().as_secs_f64());
    }
}
