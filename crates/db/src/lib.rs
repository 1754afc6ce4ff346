//! The database of the mynaid server: one file of embedded SQLite (the default) or a
//! PostgreSQL server shared by several instances, holding one schema (`migrations/`: the
//! verification sessions, the OpenID Connect provider's tables, the CRLs fetched for all
//! instances).
//!
//! Both engines run the same statements through sqlx's `Any` driver, so every store is one
//! implementation a reader follows from the call to its SQL. Statements use `$1, $2, …`
//! placeholders, which both engines take (SQLite reads `$N` as the N-th argument). What
//! differs is behind [`Dialect`]: the migrations, the connection settings and SQLite's
//! background WAL checkpoints ([`checkpoint`]).
//!
//! Every single-use step of the stores built on this is one conditional `UPDATE …
//! RETURNING` (or a short sequence of them), which both SQLite (3.35+) and PostgreSQL run
//! atomically: two devices racing for one handle, or two instances behind a load balancer,
//! cannot both win.

mod checkpoint;

use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

pub use checkpoint::CHECKPOINT_EVERY;
pub use sqlx;

/// Why the database failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database is unavailable, full, locked or broken. Nothing was half-written: every
    /// change is one statement or one transaction.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// A row holds a value this version cannot read (a name it does not know).
    #[error("a stored {column} is not valid")]
    BadValue {
        /// The column.
        column: &'static str,
    },
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::Unavailable(e.to_string())
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        StoreError::Unavailable(e.to_string())
    }
}

/// Which engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// An SQLite file (`sqlite://PATH`) or `sqlite::memory:`.
    Sqlite,
    /// A PostgreSQL server (`postgres://…`).
    Postgres,
}

impl Dialect {
    /// The engine of a database URL.
    pub fn of(url: &str) -> Option<Dialect> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Dialect::Postgres)
        } else if url.starts_with("sqlite:") {
            Some(Dialect::Sqlite)
        } else {
            None
        }
    }
}

/// An open, migrated database. Cheap to clone (one pool).
#[derive(Debug, Clone)]
pub struct Db {
    pool: AnyPool,
    dialect: Dialect,
    url: String,
    _checkpoints: Option<Arc<checkpoint::Checkpointer>>,
}

/// Settings every SQLite connection gets. WAL + NORMAL survives a process crash; only an OS
/// crash can lose the last transactions, never corrupt the file. SQLite's own checkpoint
/// inside a commit is pushed out to 32,768 pages (≈ 128 MiB): the background task
/// ([`checkpoint`]) does it, and this bound is only reached if that task cannot keep up.
const SQLITE_PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000; \
     PRAGMA foreign_keys = ON; PRAGMA wal_autocheckpoint = 32768;";

impl Db {
    /// Opens (creating an SQLite file if missing) and migrates the database at `url`
    /// (`sqlite://PATH`, `sqlite::memory:` or `postgres://…`).
    pub async fn open(url: &str) -> Result<Db, StoreError> {
        sqlx::any::install_default_drivers();
        let dialect = Dialect::of(url)
            .ok_or_else(|| StoreError::Unavailable("database_url must start with sqlite: or postgres://".into()))?;
        let pool = match dialect {
            Dialect::Sqlite => {
                let in_memory = url.contains(":memory:");
                let url = if in_memory || url.contains("mode=") {
                    url.to_string()
                } else {
                    format!("{url}{}mode=rwc", if url.contains('?') { '&' } else { '?' })
                };
                let options: AnyConnectOptions = url.parse()?;
                AnyPoolOptions::new()
                    // An in-memory database exists per connection: keep exactly one.
                    .max_connections(if in_memory { 1 } else { 8 })
                    .min_connections(if in_memory { 1 } else { 0 })
                    .idle_timeout((!in_memory).then_some(Duration::from_secs(600)))
                    .max_lifetime((!in_memory).then_some(Duration::from_secs(3600)))
                    // A connection to a local file does not go stale; checking it before every
                    // use cost a round trip to its worker thread per statement.
                    .test_before_acquire(false)
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            conn.execute(SQLITE_PRAGMAS).await?;
                            Ok(())
                        })
                    })
                    .connect_with(options)
                    .await?
            }
            Dialect::Postgres => {
                AnyPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(5))
                    .connect(url)
                    .await?
            }
        };
        match dialect {
            Dialect::Sqlite => sqlx::migrate!("migrations/sqlite").run(&pool).await?,
            Dialect::Postgres => sqlx::migrate!("migrations/postgres").run(&pool).await?,
        }
        let checkpoints = (dialect == Dialect::Sqlite && !url.contains(":memory:"))
            .then(|| Arc::new(checkpoint::Checkpointer::start(pool.clone())));
        Ok(Db {
            pool,
            dialect,
            url: url.to_string(),
            _checkpoints: checkpoints,
        })
    }

    /// The connection pool, for the stores' statements.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Which engine.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The URL it was opened with (PostgreSQL's event bus opens its own listening
    /// connection).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Asks the database `SELECT 1` (the readiness check): it answers, or why not.
    pub async fn ping(&self) -> Result<(), StoreError> {
        timed("ping", sqlx::query("SELECT 1").execute(&self.pool)).await?;
        Ok(())
    }
}

/// Runs one statement (or a store call) and records how long it took in the histogram
/// `mynaid_db_query_duration_seconds{statement}`. `statement` is a fixed name, never a value.
pub async fn timed<F: Future>(statement: &'static str, f: F) -> F::Output {
    let started = std::time::Instant::now();
    let out = f.await;
    metrics::histogram!("mynaid_db_query_duration_seconds", "statement" => statement).record(started.elapsed());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dialects() {
        assert_eq!(Dialect::of("sqlite://a.db"), Some(Dialect::Sqlite));
        assert_eq!(Dialect::of("sqlite::memory:"), Some(Dialect::Sqlite));
        assert_eq!(Dialect::of("postgresql://x/y"), Some(Dialect::Postgres));
        assert_eq!(Dialect::of("mysql://x"), None);
    }

    #[tokio::test]
    async fn both_placeholder_forms_are_one_statement_on_sqlite() {
        let db = Db::open("sqlite::memory:").await.unwrap_or_else(|e| panic!("{e}"));
        // `$N` is the N-th argument, in any order and any number of times.
        let (a, b): (i64, i64) = sqlx::query_as("SELECT $2 - $1, $1 + $1")
            .bind(3i64)
            .bind(10i64)
            .fetch_one(db.pool())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((a, b), (7, 6));
    }
}
