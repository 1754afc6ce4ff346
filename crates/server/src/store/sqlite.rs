//! The embedded store: one SQLite file, WAL journal, migrated at start.
//!
//! WAL checkpoints run on a background task, not inside the request that happens to push the
//! WAL past SQLite's default 1,000 pages: a profile of the throughput bench showed 12 % of the
//! server's CPU in checkpoints (their `fsync` included) on the request path, each one
//! stalling a submission. Checkpointing every [`CHECKPOINT_EVERY`] also writes a page that
//! changed many times once, not once per 1,000 frames.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous};

use super::StoreError;
use super::sql::{Dialect, sql_store};

/// SQLite store.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    dialect: Dialect,
    _checkpoints: Option<Arc<Checkpointer>>,
}

/// How often the background task checkpoints the WAL.
pub const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);

/// SQLite still checkpoints inside a commit once the WAL holds this many pages (≈ 128 MiB):
/// only reached if the background task cannot keep up, so the WAL stays bounded.
const AUTOCHECKPOINT_PAGES: &str = "32768";

/// Once the WAL file holds this many frames (≈ 64 MiB), the checkpoint waits for readers so
/// that the next commit writes the WAL from its start again.
const RESTART_FRAMES: i64 = 16_384;

/// PASSIVE never waits for readers or blocks writers; what it cannot copy now it copies next
/// time. Under steady load some reader always holds a snapshot, so SQLite never starts the
/// WAL over by itself: measured, the file grew past the automatic threshold and then nearly
/// every commit ran a checkpoint of its own with an `fsync` (≈ 400 `fsync` a second). A
/// RESTART right after a PASSIVE has little left to copy.
async fn checkpoint(pool: &SqlitePool) -> Result<(), sqlx::Error> {
    let (_busy, log, _copied): (i64, i64, i64) =
        sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)").fetch_one(pool).await?;
    if log >= RESTART_FRAMES {
        sqlx::query("PRAGMA wal_checkpoint(RESTART)").execute(pool).await?;
    }
    Ok(())
}

/// Stops the background checkpoints when the last clone of the store goes.
#[derive(Debug)]
struct Checkpointer(tokio::task::JoinHandle<()>);

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Checkpointer {
    fn start(pool: SqlitePool) -> Checkpointer {
        Checkpointer(tokio::spawn(async move {
            let mut every = tokio::time::interval(CHECKPOINT_EVERY);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                if let Err(e) = checkpoint(&pool).await {
                    if pool.is_closed() {
                        return;
                    }
                    tracing::warn!(error = %e, "WAL checkpoint failed; trying again");
                }
            }
        }))
    }
}

impl SqliteStore {
    /// Opens (creating if missing) and migrates the database at `url` (`sqlite://PATH` or
    /// `sqlite::memory:`).
    pub async fn open(url: &str) -> Result<SqliteStore, StoreError> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // WAL + NORMAL survives a process crash; only an OS crash can lose the last
            // transactions, never corrupt the file.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(5))
            .foreign_keys(true)
            .pragma("wal_autocheckpoint", AUTOCHECKPOINT_PAGES);
        let in_memory = url.contains(":memory:");
        let pool = SqlitePoolOptions::new()
            // An in-memory database exists per connection: keep exactly one.
            .max_connections(if in_memory { 1 } else { 8 })
            .min_connections(if in_memory { 1 } else { 0 })
            .idle_timeout(if in_memory {
                None
            } else {
                Some(Duration::from_secs(600))
            })
            .max_lifetime(if in_memory {
                None
            } else {
                Some(Duration::from_secs(3600))
            })
            .connect_with(options)
            .await?;
        sqlx::migrate!("migrations/sqlite")
            .run(&pool)
            .await
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        let checkpoints = (!in_memory).then(|| Arc::new(Checkpointer::start(pool.clone())));
        Ok(SqliteStore {
            pool,
            dialect: Dialect::Sqlite,
            _checkpoints: checkpoints,
        })
    }

    /// The pool, for tests that look inside.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

sql_store!(SqliteStore, SqliteRow);
