//! One implementation of [`Store`](super::Store) for both SQL engines.
//!
//! The statements are written once, with `?` placeholders; PostgreSQL gets them rewritten
//! to `$1, $2, …`. Every single-use step is one conditional `UPDATE … RETURNING` (or a short
//! sequence of them), which both SQLite (3.35+) and PostgreSQL run atomically: two devices
//! racing for one handle, or two instances behind a load balancer, cannot both win.

use std::borrow::Cow;

use crate::store::{State, StoreError};

/// The columns of a [`SessionRow`](super::SessionRow), in the order `row` reads them.
pub(crate) const COLUMNS: &str = "id, relying_party, purpose, origin, binding, challenge, accepted, return_url, \
    browser_hash, submission_hash, state, reader_status, error_code, result, created_at, expires_at, pattern, pc_code, \
    released, confirm_attempts, confirm_expires_at";

/// Rewrites `?` placeholders as `$1, $2, …` (PostgreSQL). The statements here contain no
/// `?` inside string literals.
pub(crate) fn dollar_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut n = 0;
    for c in sql.chars() {
        if c == '?' {
            n += 1;
            out.push('$');
            out.push_str(&n.to_string());
        } else {
            out.push(c);
        }
    }
    out
}

/// Which placeholder style an engine takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// `?`
    Sqlite,
    /// `$n`
    Postgres,
}

impl Dialect {
    pub(crate) fn sql<'a>(self, q: &'a str) -> Cow<'a, str> {
        match self {
            Dialect::Sqlite => Cow::Borrowed(q),
            Dialect::Postgres => Cow::Owned(dollar_placeholders(q)),
        }
    }
}

pub(crate) fn state(s: &str) -> Result<State, StoreError> {
    State::parse(s).ok_or_else(|| StoreError::Unavailable(format!("unknown state {s:?}")))
}

/// Implements `Store` for a struct with `pool: sqlx::Pool<$db>` and `dialect: Dialect`.
macro_rules! sql_store {
    ($store:ty, $row:ty) => {
        fn row(r: &$row) -> Result<$crate::store::SessionRow, $crate::store::StoreError> {
            use sqlx::Row;
            let state: String = r.try_get("state")?;
            Ok($crate::store::SessionRow {
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
                state: $crate::store::sql::state(&state)?,
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

        #[async_trait::async_trait]
        impl $crate::store::Store for $store {
            async fn create(&self, s: &$crate::store::NewSession) -> Result<(), $crate::store::StoreError> {
                let q = self.dialect.sql(
                    "INSERT INTO sessions (id, relying_party, purpose, origin, binding, challenge, accepted, return_url, \
                     browser_hash, handle_hash, state, created_at, expires_at) \
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'created', ?, ?)",
                );
                sqlx::query(&q)
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

            async fn get(&self, id: &str) -> Result<Option<$crate::store::SessionRow>, $crate::store::StoreError> {
                let q = format!("SELECT {} FROM sessions WHERE id = ?", $crate::store::sql::COLUMNS);
                let r = sqlx::query(&self.dialect.sql(&q)).bind(id).fetch_optional(&self.pool).await?;
                r.as_ref().map(row).transpose()
            }

            async fn by_handle(
                &self,
                handle_hash: &[u8],
            ) -> Result<Option<$crate::store::SessionRow>, $crate::store::StoreError> {
                let q = format!("SELECT {} FROM sessions WHERE handle_hash = ?", $crate::store::sql::COLUMNS);
                let r = sqlx::query(&self.dialect.sql(&q)).bind(handle_hash).fetch_optional(&self.pool).await?;
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
            ) -> Result<bool, $crate::store::StoreError> {
                let q = self.dialect.sql(
                    "UPDATE sessions SET handle_hash = ?, challenge = ?, expires_at = ?, reader_status = NULL, \
                     pattern = ?, pc_code = ?, state = 'created', submission_hash = NULL, redeemed_at = NULL \
                     WHERE id = ? AND state IN ('created', 'handle_redeemed')",
                );
                let done = sqlx::query(&q)
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

            async fn redeem(
                &self,
                handle_hash: &[u8],
                submission_hash: &[u8],
                now: i64,
            ) -> Result<$crate::store::Redeem, $crate::store::StoreError> {
                use $crate::store::{Redeem, State};
                let q = format!(
                    "UPDATE sessions SET state = 'handle_redeemed', submission_hash = ?, redeemed_at = ? \
                     WHERE handle_hash = ? AND state = 'created' AND expires_at >= ? RETURNING {}",
                    $crate::store::sql::COLUMNS
                );
                // `fetch_all`, not `fetch_optional`: SQLite commits an `UPDATE … RETURNING` when
                // the statement runs to its end, and a failed commit (disk full, I/O error) is
                // reported only there. Stopping after the first row dropped that error and
                // answered a win that was never stored.
                let won = sqlx::query(&self.dialect.sql(&q))
                    .bind(submission_hash)
                    .bind(now)
                    .bind(handle_hash)
                    .bind(now)
                    .fetch_all(&self.pool)
                    .await?
                    .into_iter()
                    .next();
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
                challenge: &[u8],
                submission_hash: &[u8],
                result: &[u8],
                release: &$crate::store::Release,
                now: i64,
            ) -> Result<bool, $crate::store::StoreError> {
                use $crate::store::Release;
                let (released, code_hash, code_expires, result_handle) = match release {
                    Release::Now => (1i64, None, None, None),
                    Release::OnConfirmation { code_hash, expires_at, result_handle_hash } => {
                        (0, Some(code_hash.as_slice()), Some(*expires_at), result_handle_hash.as_deref())
                    }
                };
                let q = self.dialect.sql(
                    "UPDATE sessions SET state = 'evidence_verified', result = ?, challenge = NULL, verified_at = ?, \
                     released = ?, confirm_hash = ?, confirm_expires_at = ?, result_handle_hash = ? \
                     WHERE id = ? AND state = 'handle_redeemed' AND challenge = ? AND submission_hash = ? \
                     AND expires_at >= ?",
                );
                let done = sqlx::query(&q)
                    .bind(result)
                    .bind(now)
                    .bind(released)
                    .bind(code_hash)
                    .bind(code_expires)
                    .bind(result_handle)
                    .bind(id)
                    .bind(challenge)
                    .bind(submission_hash)
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
            ) -> Result<$crate::store::Confirmation, $crate::store::StoreError> {
                use sqlx::Row;
                use $crate::store::Confirmation;
                const PENDING: &str = "state = 'evidence_verified' AND released = 0 AND confirm_hash IS NOT NULL";
                let right = format!(
                    "UPDATE sessions SET released = 1, confirm_hash = NULL WHERE id = ? AND {PENDING} \
                     AND confirm_hash = ? AND confirm_attempts < ? AND confirm_expires_at >= ?"
                );
                let right = sqlx::query(&self.dialect.sql(&right))
                    .bind(id)
                    .bind(code_hash)
                    .bind(max_attempts)
                    .bind(now)
                    .execute(&self.pool)
                    .await?;
                if right.rows_affected() == 1 {
                    return Ok(Confirmation::Released);
                }
                let lock = format!(
                    "UPDATE sessions SET state = 'failed', error_code = 'confirmation_failed', result = NULL, \
                     confirm_hash = NULL, completed_at = ? WHERE id = ? AND {PENDING}"
                );
                let count = format!(
                    "UPDATE sessions SET confirm_attempts = confirm_attempts + 1 WHERE id = ? AND {PENDING} \
                     AND confirm_attempts < ? AND confirm_expires_at >= ? RETURNING confirm_attempts"
                );
                // To the statement's end, so that a failed commit is an error (see `redeem`).
                let counted = sqlx::query(&self.dialect.sql(&count))
                    .bind(id)
                    .bind(max_attempts)
                    .bind(now)
                    .fetch_all(&self.pool)
                    .await?
                    .into_iter()
                    .next();
                let attempts: i64 = match counted {
                    Some(r) => r.try_get("confirm_attempts")?,
                    None => {
                        // At the limit or past the deadline: end it for good.
                        let locked =
                            sqlx::query(&self.dialect.sql(&lock)).bind(now).bind(id).execute(&self.pool).await?;
                        return Ok(if locked.rows_affected() == 1 {
                            Confirmation::Locked
                        } else {
                            Confirmation::NotPending
                        });
                    }
                };
                if attempts >= max_attempts {
                    sqlx::query(&self.dialect.sql(&lock)).bind(now).bind(id).execute(&self.pool).await?;
                    return Ok(Confirmation::Locked);
                }
                Ok(Confirmation::Wrong { attempts_left: max_attempts - attempts })
            }

            async fn by_result_handle(
                &self,
                hash: &[u8],
            ) -> Result<Option<$crate::store::SessionRow>, $crate::store::StoreError> {
                let q = format!("SELECT {} FROM sessions WHERE result_handle_hash = ?", $crate::store::sql::COLUMNS);
                let r = sqlx::query(&self.dialect.sql(&q)).bind(hash).fetch_optional(&self.pool).await?;
                r.as_ref().map(row).transpose()
            }

            async fn release(&self, id: &str, now: i64) -> Result<bool, $crate::store::StoreError> {
                let q = self.dialect.sql(
                    "UPDATE sessions SET released = 1, confirm_hash = NULL, result_handle_hash = NULL WHERE id = ? \
                     AND state = 'evidence_verified' AND released = 0 AND confirm_expires_at >= ?",
                );
                let done = sqlx::query(&q).bind(id).bind(now).execute(&self.pool).await?;
                Ok(done.rows_affected() == 1)
            }

            async fn fail(&self, id: &str, code: &str, now: i64) -> Result<bool, $crate::store::StoreError> {
                let q = self.dialect.sql(
                    "UPDATE sessions SET state = 'failed', error_code = ?, challenge = NULL, completed_at = ? \
                     WHERE id = ? AND state IN ('created', 'handle_redeemed')",
                );
                let done = sqlx::query(&q).bind(code).bind(now).bind(id).execute(&self.pool).await?;
                Ok(done.rows_affected() == 1)
            }

            async fn set_reader_status(&self, id: &str, status: &str) -> Result<(), $crate::store::StoreError> {
                let q =
                    self.dialect.sql("UPDATE sessions SET reader_status = ? WHERE id = ? AND state = 'handle_redeemed'");
                sqlx::query(&q).bind(status).bind(id).execute(&self.pool).await?;
                Ok(())
            }

            async fn take_result(&self, id: &str, now: i64) -> Result<Option<Vec<u8>>, $crate::store::StoreError> {
                use sqlx::Row;
                let q = self.dialect.sql(
                    "UPDATE sessions SET state = 'completed', completed_at = ? WHERE id = ? \
                     AND state = 'evidence_verified' AND released = 1 RETURNING result",
                );
                // One transaction: the result is handed out only if marking it taken (and
                // deleting it) is stored, so a storage failure leaves it to be taken again
                // rather than lost or handed out twice. Committed explicitly: a failed commit
                // is an error, never a result already given (see `redeem`).
                let mut tx = self.pool.begin().await?;
                let r = sqlx::query(&q).bind(now).bind(id).fetch_all(&mut *tx).await?.into_iter().next();
                let taken = r.map(|r| r.try_get::<Option<Vec<u8>>, _>("result")).transpose()?.flatten();
                if taken.is_some() {
                    // Taken once: the ciphertext goes at once; the row stays (a second take is
                    // answered "finished") until the retention purge.
                    let q = self.dialect.sql("UPDATE sessions SET result = NULL WHERE id = ? AND state = 'completed'");
                    sqlx::query(&q).bind(id).execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(taken)
            }

            async fn purge(&self, before: i64) -> Result<u64, $crate::store::StoreError> {
                let q = self.dialect.sql(
                    "DELETE FROM sessions WHERE expires_at < ? OR (completed_at IS NOT NULL AND completed_at < ?)",
                );
                let done = sqlx::query(&q).bind(before).bind(before).execute(&self.pool).await?;
                Ok(done.rows_affected())
            }
        }
    };
}

pub(crate) use sql_store;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders() {
        assert_eq!(dollar_placeholders("a = ? AND b IN (?, ?)"), "a = $1 AND b IN ($2, $3)");
        assert_eq!(Dialect::Sqlite.sql("x = ?"), "x = ?");
    }
}
