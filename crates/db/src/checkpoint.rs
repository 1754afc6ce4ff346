//! SQLite's WAL checkpoints, on a background task instead of inside the request that happens
//! to push the WAL past SQLite's default 1,000 pages: a profile of the throughput bench showed
//! 12 % of the server's CPU in checkpoints (their `fsync` included) on the request path, each
//! one stalling a submission. Checkpointing every [`CHECKPOINT_EVERY`] also writes a page that
//! changed many times once, not once per 1,000 frames.

use std::time::Duration;

use sqlx::AnyPool;

/// How often the background task checkpoints the WAL.
pub const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);

/// Once the WAL file holds this many frames (≈ 64 MiB), the checkpoint waits for readers so
/// that the next commit writes the WAL from its start again.
const RESTART_FRAMES: i64 = 16_384;

/// PASSIVE never waits for readers or blocks writers; what it cannot copy now it copies next
/// time. Under steady load some reader always holds a snapshot, so SQLite never starts the
/// WAL over by itself: measured, the file grew past the automatic threshold and then nearly
/// every commit ran a checkpoint of its own with an `fsync` (≈ 400 `fsync` a second). A
/// RESTART right after a PASSIVE has little left to copy.
async fn checkpoint(pool: &AnyPool) -> Result<(), sqlx::Error> {
    let (_busy, log, _copied): (i64, i64, i64) =
        sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)").fetch_one(pool).await?;
    if log >= RESTART_FRAMES {
        sqlx::query("PRAGMA wal_checkpoint(RESTART)").execute(pool).await?;
    }
    Ok(())
}

/// Stops the background checkpoints when the last clone of the database goes.
#[derive(Debug)]
pub(crate) struct Checkpointer(tokio::task::JoinHandle<()>);

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Checkpointer {
    pub(crate) fn start(pool: AnyPool) -> Checkpointer {
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
