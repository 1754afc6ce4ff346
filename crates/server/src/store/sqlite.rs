//! The embedded store: one SQLite file, WAL journal, migrated at start.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous};
use sqlx::{Row, SqlitePool};

use super::{Confirmation, NewSession, Redeem, Release, SessionRow, State, Store, StoreError};

/// SQLite store.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

const COLUMNS: &str = "id, relying_party, purpose, origin, binding, challenge, accepted, return_url, browser_hash, \
    submission_hash, state, reader_status, error_code, result, created_at, expires_at, pattern, pc_code, released, \
    confirm_attempts, confirm_expires_at";

fn row(r: &SqliteRow) -> Result<SessionRow, StoreError> {
    let state: String = r.try_get("state")?;
    Ok(SessionRow {
        id: r.try_get("id")?,
        relying_party: r.try_get("relying_party")?,
        purpose: r.try_get("purpose")?,
        origin: r.try_get("origin")?,
        binding: r.try_get("binding")?,
        challenge: r.try_get("challenge")?,
        accepted: r.try_get("accepted")?,
        return_url: r.try_get("return_url")?,
        browser_hash: r.try_get("browser_hash")?,
        submission_hash: r.try_get("submission_hash")?,
        state: State::parse(&state).ok_or_else(|| StoreError::Unavailable(format!("unknown state {state:?}")))?,
        reader_status: r.try_get("reader_status")?,
        error_code: r.try_get("error_code")?,
        result: r.try_get("result")?,
        created_at: r.try_get("created_at")?,
        expires_at: r.try_get("expires_at")?,
        pattern: r.try_get("pattern")?,
        pc_code: r.try_get("pc_code")?,
        released: r.try_get::<i64, _>("released")? != 0,
        confirm_attempts: r.try_get("confirm_attempts")?,
        confirm_expires_at: r.try_get("confirm_expires_at")?,
    })
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
            .foreign_keys(true);
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
        Ok(SqliteStore { pool })
    }

    /// The pool, for tests that look inside.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn create(&self, s: &NewSession) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sessions (id, relying_party, purpose, origin, binding, challenge, accepted, return_url, \
             browser_hash, handle_hash, state, created_at, expires_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'created', ?, ?)",
        )
        .bind(&s.id)
        .bind(&s.relying_party)
        .bind(&s.purpose)
        .bind(&s.origin)
        .bind(&s.binding)
        .bind(&s.challenge)
        .bind(&s.accepted)
        .bind(&s.return_url)
        .bind(&s.browser_hash)
        .bind(&s.handle_hash)
        .bind(s.created_at)
        .bind(s.expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn get(&self, id: &str) -> Result<Option<SessionRow>, StoreError> {
        let r = sqlx::query(&format!("SELECT {COLUMNS} FROM sessions WHERE id = ?"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        r.as_ref().map(row).transpose()
    }

    async fn by_handle(&self, handle_hash: &[u8]) -> Result<Option<SessionRow>, StoreError> {
        let r = sqlx::query(&format!("SELECT {COLUMNS} FROM sessions WHERE handle_hash = ?"))
            .bind(handle_hash)
            .fetch_optional(&self.pool)
            .await?;
        r.as_ref().map(row).transpose()
    }

    async fn refresh_handle(
        &self,
        id: &str,
        handle_hash: &[u8],
        challenge: &[u8],
        expires_at: i64,
        pattern: &str,
        pc_code: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE sessions SET handle_hash = ?, challenge = ?, expires_at = ?, reader_status = NULL, pattern = ?, \
             pc_code = ?, state = 'created', submission_hash = NULL, redeemed_at = NULL \
             WHERE id = ? AND state IN ('created', 'handle_redeemed')",
        )
        .bind(handle_hash)
        .bind(challenge)
        .bind(expires_at)
        .bind(pattern)
        .bind(pc_code)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn redeem(&self, handle_hash: &[u8], submission_hash: &[u8], now: i64) -> Result<Redeem, StoreError> {
        let won = sqlx::query(&format!(
            "UPDATE sessions SET state = 'handle_redeemed', submission_hash = ?, redeemed_at = ? \
             WHERE handle_hash = ? AND state = 'created' AND expires_at >= ? RETURNING {COLUMNS}"
        ))
        .bind(submission_hash)
        .bind(now)
        .bind(handle_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        if let Some(r) = won {
            return Ok(Redeem::Redeemed(row(&r)?));
        }
        Ok(match self.by_handle(handle_hash).await? {
            None => Redeem::Unknown,
            Some(s) if s.is_expired(now) => Redeem::Expired(s),
            Some(s) if s.state == State::HandleRedeemed => Redeem::AlreadyRedeemed(s),
            Some(s) if s.state == State::Created => Redeem::Expired(s),
            Some(s) => Redeem::Finished(s),
        })
    }

    async fn complete_evidence(
        &self,
        id: &str,
        result: &[u8],
        release: &Release,
        now: i64,
    ) -> Result<bool, StoreError> {
        let (released, code_hash, code_expires, result_handle) = match release {
            Release::Now => (1i64, None, None, None),
            Release::OnConfirmation {
                code_hash,
                expires_at,
                result_handle_hash,
            } => (
                0,
                Some(code_hash.as_slice()),
                Some(*expires_at),
                result_handle_hash.as_deref(),
            ),
        };
        let done = sqlx::query(
            "UPDATE sessions SET state = 'evidence_verified', result = ?, challenge = NULL, verified_at = ?, \
             released = ?, confirm_hash = ?, confirm_expires_at = ?, result_handle_hash = ? \
             WHERE id = ? AND state = 'handle_redeemed' AND challenge IS NOT NULL AND expires_at >= ?",
        )
        .bind(result)
        .bind(now)
        .bind(released)
        .bind(code_hash)
        .bind(code_expires)
        .bind(result_handle)
        .bind(id)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn confirm(
        &self,
        id: &str,
        code_hash: &[u8],
        max_attempts: i64,
        now: i64,
    ) -> Result<Confirmation, StoreError> {
        let pending = "state = 'evidence_verified' AND released = 0 AND confirm_hash IS NOT NULL";
        let right = sqlx::query(&format!(
            "UPDATE sessions SET released = 1, confirm_hash = NULL WHERE id = ? AND {pending} AND confirm_hash = ? \
             AND confirm_attempts < ? AND confirm_expires_at >= ?"
        ))
        .bind(id)
        .bind(code_hash)
        .bind(max_attempts)
        .bind(now)
        .execute(&self.pool)
        .await?;
        if right.rows_affected() == 1 {
            return Ok(Confirmation::Released);
        }
        let counted = sqlx::query(&format!(
            "UPDATE sessions SET confirm_attempts = confirm_attempts + 1 WHERE id = ? AND {pending} \
             AND confirm_attempts < ? AND confirm_expires_at >= ? RETURNING confirm_attempts"
        ))
        .bind(id)
        .bind(max_attempts)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        let attempts: i64 = match counted {
            Some(r) => r.try_get("confirm_attempts")?,
            None => {
                // Not pending, or already at the limit / past the deadline: end it for good.
                let locked = sqlx::query(&format!(
                    "UPDATE sessions SET state = 'failed', error_code = 'confirmation_failed', result = NULL, \
                     confirm_hash = NULL, completed_at = ? WHERE id = ? AND {pending}"
                ))
                .bind(now)
                .bind(id)
                .execute(&self.pool)
                .await?;
                return Ok(if locked.rows_affected() == 1 {
                    Confirmation::Locked
                } else {
                    Confirmation::NotPending
                });
            }
        };
        if attempts >= max_attempts {
            sqlx::query(&format!(
                "UPDATE sessions SET state = 'failed', error_code = 'confirmation_failed', result = NULL, \
                 confirm_hash = NULL, completed_at = ? WHERE id = ? AND {pending}"
            ))
            .bind(now)
            .bind(id)
            .execute(&self.pool)
            .await?;
            return Ok(Confirmation::Locked);
        }
        Ok(Confirmation::Wrong {
            attempts_left: max_attempts - attempts,
        })
    }

    async fn by_result_handle(&self, hash: &[u8]) -> Result<Option<SessionRow>, StoreError> {
        let r = sqlx::query(&format!("SELECT {COLUMNS} FROM sessions WHERE result_handle_hash = ?"))
            .bind(hash)
            .fetch_optional(&self.pool)
            .await?;
        r.as_ref().map(row).transpose()
    }

    async fn release(&self, id: &str, now: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE sessions SET released = 1, confirm_hash = NULL, result_handle_hash = NULL WHERE id = ? \
             AND state = 'evidence_verified' AND released = 0 AND confirm_expires_at >= ?",
        )
        .bind(id)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn fail(&self, id: &str, code: &str, now: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE sessions SET state = 'failed', error_code = ?, challenge = NULL, completed_at = ? \
             WHERE id = ? AND state IN ('created', 'handle_redeemed')",
        )
        .bind(code)
        .bind(now)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn set_reader_status(&self, id: &str, status: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE sessions SET reader_status = ? WHERE id = ? AND state = 'handle_redeemed'")
            .bind(status)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn take_result(&self, id: &str, now: i64) -> Result<Option<Vec<u8>>, StoreError> {
        let r = sqlx::query(
            "UPDATE sessions SET state = 'completed', completed_at = ? WHERE id = ? AND state = 'evidence_verified' \
             AND released = 1 RETURNING result",
        )
        .bind(now)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(r.map(|r| r.try_get::<Option<Vec<u8>>, _>("result"))
            .transpose()?
            .flatten())
    }

    async fn purge(&self, before: i64) -> Result<u64, StoreError> {
        let done =
            sqlx::query("DELETE FROM sessions WHERE expires_at < ? OR (completed_at IS NOT NULL AND completed_at < ?)")
                .bind(before)
                .bind(before)
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected())
    }
}
