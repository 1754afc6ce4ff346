//! The OpenID Connect tables, behind a small trait implemented for both SQL stores (through
//! their `pool()`). Every single-use step is one conditional statement: a code is taken by
//! `UPDATE … WHERE used_at IS NULL RETURNING`, a request moves on by `UPDATE … WHERE status =`,
//! a client assertion's `jti` is recorded by an `INSERT … ON CONFLICT DO NOTHING`, so two
//! server instances on one PostgreSQL cannot both win.

use async_trait::async_trait;

use crate::store::StoreError;
use crate::store::postgres::PgStore;
use crate::store::sqlite::SqliteStore;

/// A signing key as stored.
#[derive(Clone)]
pub struct KeyRow {
    /// Key id (`kid`).
    pub kid: String,
    /// The key it replaced ('' for the first).
    pub predecessor: String,
    /// `RS256`.
    pub alg: String,
    /// The public JWK, JSON text.
    pub public_jwk: String,
    /// The PKCS#8 private key, sealed.
    pub private_key: Vec<u8>,
    /// Creation time.
    pub created_at: i64,
}

impl std::fmt::Debug for KeyRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeyRow({}, {})", self.kid, self.created_at)
    }
}

/// An authorization request as stored.
#[derive(Debug, Clone)]
pub struct RequestRow {
    /// Random id.
    pub id: String,
    /// The client.
    pub client_id: String,
    /// SHA-256 of the browser's token (its cookie).
    pub browser_hash: Vec<u8>,
    /// The validated parameters, JSON text.
    pub params: String,
    /// The verification session, once the person consented.
    pub session_id: Option<String>,
    /// `pending` (consent page), `reading` (session running), `done`.
    pub status: String,
    /// Created.
    pub created_at: i64,
    /// Expires.
    pub expires_at: i64,
}

/// A code just taken (marked used).
#[derive(Debug, Clone)]
pub struct TakenCode {
    /// The client it was issued to.
    pub client_id: String,
    /// The sealed grant.
    pub grant: Vec<u8>,
    /// Its expiry.
    pub expires_at: i64,
}

/// An access token as stored.
#[derive(Debug, Clone)]
pub struct TokenRow {
    /// The client.
    pub client_id: String,
    /// The code it was issued for (hash).
    pub code_hash: Vec<u8>,
    /// The sealed grant.
    pub grant: Vec<u8>,
    /// Expiry.
    pub expires_at: i64,
}

/// Storage of the OpenID Connect provider.
#[async_trait]
pub trait OidcStore: Send + Sync + 'static {
    /// All signing keys, oldest first.
    async fn keys(&self) -> Result<Vec<KeyRow>, StoreError>;
    /// Adds a key unless `predecessor` already has a successor; true if added.
    async fn add_key(&self, key: &KeyRow) -> Result<bool, StoreError>;
    /// Deletes a (retired) key. Its successor keeps naming it, so no second successor of it
    /// can ever be added.
    async fn delete_key(&self, kid: &str) -> Result<(), StoreError>;
    /// Stores a new authorization request.
    async fn add_request(&self, r: &RequestRow) -> Result<(), StoreError>;
    /// A request by id.
    async fn request(&self, id: &str) -> Result<Option<RequestRow>, StoreError>;
    /// A request by its verification session.
    async fn request_by_session(&self, session_id: &str) -> Result<Option<RequestRow>, StoreError>;
    /// Moves a request from `from` to `to` (optionally attaching a session), atomically and
    /// only before its expiry; true if this call moved it.
    async fn move_request(
        &self,
        id: &str,
        from: &str,
        to: &str,
        session_id: Option<&str>,
        now: i64,
    ) -> Result<bool, StoreError>;
    /// Stores a new code.
    async fn add_code(
        &self,
        code_hash: &[u8],
        client_id: &str,
        grant: &[u8],
        now: i64,
        expires_at: i64,
    ) -> Result<(), StoreError>;
    /// Takes a code once: marks it used and returns it; `None` if unknown or already used.
    async fn take_code(&self, code_hash: &[u8], now: i64) -> Result<Option<TakenCode>, StoreError>;
    /// Marks a code replayed (its access tokens stop working); true if the code exists.
    async fn mark_replayed(&self, code_hash: &[u8]) -> Result<bool, StoreError>;
    /// Stores an access token.
    async fn add_token(
        &self,
        token_hash: &[u8],
        code_hash: &[u8],
        client_id: &str,
        grant: &[u8],
        now: i64,
        expires_at: i64,
    ) -> Result<(), StoreError>;
    /// An access token that has not expired and whose code was not replayed.
    async fn token(&self, token_hash: &[u8], now: i64) -> Result<Option<TokenRow>, StoreError>;
    /// Records a client assertion's `jti` until `expires_at`; false if it was seen before.
    async fn use_jti(&self, client_id: &str, jti: &str, expires_at: i64, now: i64) -> Result<bool, StoreError>;
    /// Deletes what ended before `before` (requests, tokens, jtis; codes once their tokens
    /// are gone).
    async fn purge(&self, before: i64, code_keep_secs: i64) -> Result<(), StoreError>;
}

/// Deletes expired requests, tokens and replay ids at `now` (a minute late, so that a row
/// checked just before its expiry is still there when its statement runs), and codes a day
/// after they expired once their tokens are gone: a replayed code is recognised (and revokes
/// its tokens) until then.
pub async fn purge_expired(store: &dyn OidcStore, code_ttl_secs: u64, now: i64) -> Result<(), StoreError> {
    store
        .purge(now - 60, i64::try_from(code_ttl_secs).unwrap_or(600) + 86_400)
        .await
}

/// `?` → `$n` for PostgreSQL (no `?` appears inside literals here).
fn numbered(sql: &str) -> String {
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

macro_rules! oidc_sql_store {
    ($store:ty, $row:ty, $pg:expr) => {
        impl $store {
            fn oidc_sql(q: &str) -> std::borrow::Cow<'_, str> {
                if $pg {
                    std::borrow::Cow::Owned(numbered(q))
                } else {
                    std::borrow::Cow::Borrowed(q)
                }
            }
        }

        #[async_trait]
        impl OidcStore for $store {
            async fn keys(&self) -> Result<Vec<KeyRow>, StoreError> {
                use sqlx::Row;
                let q = "SELECT kid, predecessor, alg, public_jwk, private_key, created_at FROM oidc_keys \
                         ORDER BY created_at, kid";
                let rows = sqlx::query(q).fetch_all(self.pool()).await?;
                rows.iter()
                    .map(|r: &$row| {
                        Ok(KeyRow {
                            kid: r.try_get("kid")?,
                            predecessor: r.try_get("predecessor")?,
                            alg: r.try_get("alg")?,
                            public_jwk: r.try_get("public_jwk")?,
                            private_key: r.try_get("private_key")?,
                            created_at: r.try_get("created_at")?,
                        })
                    })
                    .collect::<Result<Vec<_>, sqlx::Error>>()
                    .map_err(StoreError::from)
            }

            async fn add_key(&self, k: &KeyRow) -> Result<bool, StoreError> {
                let q = Self::oidc_sql(
                    "INSERT INTO oidc_keys (kid, predecessor, alg, public_jwk, private_key, created_at) \
                     VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                );
                let done = sqlx::query(&q)
                    .bind(&k.kid)
                    .bind(&k.predecessor)
                    .bind(&k.alg)
                    .bind(&k.public_jwk)
                    .bind(&k.private_key)
                    .bind(k.created_at)
                    .execute(self.pool())
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn delete_key(&self, kid: &str) -> Result<(), StoreError> {
                let q = Self::oidc_sql("DELETE FROM oidc_keys WHERE kid = ?");
                sqlx::query(&q).bind(kid).execute(self.pool()).await?;
                Ok(())
            }

            async fn add_request(&self, r: &RequestRow) -> Result<(), StoreError> {
                let q = Self::oidc_sql(
                    "INSERT INTO oidc_requests (id, client_id, browser_hash, params, session_id, status, \
                     created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                );
                sqlx::query(&q)
                    .bind(&r.id)
                    .bind(&r.client_id)
                    .bind(&r.browser_hash)
                    .bind(&r.params)
                    .bind(&r.session_id)
                    .bind(&r.status)
                    .bind(r.created_at)
                    .bind(r.expires_at)
                    .execute(self.pool())
                    .await?;
                Ok(())
            }

            async fn request(&self, id: &str) -> Result<Option<RequestRow>, StoreError> {
                let q = Self::oidc_sql(
                    "SELECT id, client_id, browser_hash, params, session_id, status, created_at, expires_at \
                     FROM oidc_requests WHERE id = ?",
                );
                let r = sqlx::query(&q).bind(id).fetch_optional(self.pool()).await?;
                r.as_ref().map(request_row).transpose().map_err(StoreError::from)
            }

            async fn request_by_session(&self, session_id: &str) -> Result<Option<RequestRow>, StoreError> {
                let q = Self::oidc_sql(
                    "SELECT id, client_id, browser_hash, params, session_id, status, created_at, expires_at \
                     FROM oidc_requests WHERE session_id = ?",
                );
                let r = sqlx::query(&q)
                    .bind(session_id)
                    .fetch_optional(self.pool())
                    .await?;
                r.as_ref().map(request_row).transpose().map_err(StoreError::from)
            }

            async fn move_request(
                &self,
                id: &str,
                from: &str,
                to: &str,
                session_id: Option<&str>,
                now: i64,
            ) -> Result<bool, StoreError> {
                let q = Self::oidc_sql(
                    "UPDATE oidc_requests SET status = ?, session_id = COALESCE(?, session_id) \
                     WHERE id = ? AND status = ? AND expires_at >= ?",
                );
                let done = sqlx::query(&q)
                    .bind(to)
                    .bind(session_id)
                    .bind(id)
                    .bind(from)
                    .bind(now)
                    .execute(self.pool())
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn add_code(
                &self,
                code_hash: &[u8],
                client_id: &str,
                grant: &[u8],
                now: i64,
                expires_at: i64,
            ) -> Result<(), StoreError> {
                let q = Self::oidc_sql(
                    "INSERT INTO oidc_codes (code_hash, client_id, grant_data, created_at, expires_at) \
                     VALUES (?, ?, ?, ?, ?)",
                );
                sqlx::query(&q)
                    .bind(code_hash)
                    .bind(client_id)
                    .bind(grant)
                    .bind(now)
                    .bind(expires_at)
                    .execute(self.pool())
                    .await?;
                Ok(())
            }

            async fn take_code(&self, code_hash: &[u8], now: i64) -> Result<Option<TakenCode>, StoreError> {
                use sqlx::Row;
                let q = Self::oidc_sql(
                    "UPDATE oidc_codes SET used_at = ? WHERE code_hash = ? AND used_at IS NULL \
                     RETURNING client_id, grant_data, expires_at",
                );
                // `fetch_all`, not `fetch_optional`: SQLite commits an `UPDATE … RETURNING`
                // only when the statement runs to its end, so stopping at the first row would
                // let a failed commit (full disk) hand out a code that is still unused.
                let r = sqlx::query(&q)
                    .bind(now)
                    .bind(code_hash)
                    .fetch_all(self.pool())
                    .await?
                    .into_iter()
                    .next();
                let Some(r) = r else { return Ok(None) };
                Ok(Some(TakenCode {
                    client_id: r.try_get("client_id")?,
                    grant: r.try_get("grant_data")?,
                    expires_at: r.try_get("expires_at")?,
                }))
            }

            async fn mark_replayed(&self, code_hash: &[u8]) -> Result<bool, StoreError> {
                let q = Self::oidc_sql("UPDATE oidc_codes SET replayed = 1 WHERE code_hash = ?");
                let done = sqlx::query(&q).bind(code_hash).execute(self.pool()).await?;
                Ok(done.rows_affected() == 1)
            }

            async fn add_token(
                &self,
                token_hash: &[u8],
                code_hash: &[u8],
                client_id: &str,
                grant: &[u8],
                now: i64,
                expires_at: i64,
            ) -> Result<(), StoreError> {
                let q = Self::oidc_sql(
                    "INSERT INTO oidc_tokens (token_hash, client_id, code_hash, grant_data, created_at, expires_at) \
                     VALUES (?, ?, ?, ?, ?, ?)",
                );
                sqlx::query(&q)
                    .bind(token_hash)
                    .bind(client_id)
                    .bind(code_hash)
                    .bind(grant)
                    .bind(now)
                    .bind(expires_at)
                    .execute(self.pool())
                    .await?;
                Ok(())
            }

            async fn token(&self, token_hash: &[u8], now: i64) -> Result<Option<TokenRow>, StoreError> {
                use sqlx::Row;
                // A token whose code was replayed is dead, even if it was issued after the
                // replay was noticed (the join sees the mark, whatever the order).
                let q = Self::oidc_sql(
                    "SELECT t.client_id, t.code_hash, t.grant_data, t.expires_at FROM oidc_tokens t \
                     JOIN oidc_codes c ON c.code_hash = t.code_hash \
                     WHERE t.token_hash = ? AND t.expires_at >= ? AND c.replayed = 0",
                );
                let r = sqlx::query(&q)
                    .bind(token_hash)
                    .bind(now)
                    .fetch_optional(self.pool())
                    .await?;
                let Some(r) = r else { return Ok(None) };
                Ok(Some(TokenRow {
                    client_id: r.try_get("client_id")?,
                    code_hash: r.try_get("code_hash")?,
                    grant: r.try_get("grant_data")?,
                    expires_at: r.try_get("expires_at")?,
                }))
            }

            async fn use_jti(&self, client_id: &str, jti: &str, expires_at: i64, now: i64) -> Result<bool, StoreError> {
                // An expired record may go first, so that the table does not grow forever.
                let q = Self::oidc_sql("DELETE FROM oidc_jtis WHERE expires_at < ?");
                sqlx::query(&q).bind(now - 60).execute(self.pool()).await?;
                let q = Self::oidc_sql(
                    "INSERT INTO oidc_jtis (client_id, jti, expires_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                );
                let done = sqlx::query(&q)
                    .bind(client_id)
                    .bind(jti)
                    .bind(expires_at)
                    .execute(self.pool())
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn purge(&self, before: i64, code_keep_secs: i64) -> Result<(), StoreError> {
                for q in [
                    "DELETE FROM oidc_requests WHERE expires_at < ?",
                    "DELETE FROM oidc_tokens WHERE expires_at < ?",
                    "DELETE FROM oidc_jtis WHERE expires_at < ?",
                ] {
                    sqlx::query(&Self::oidc_sql(q))
                        .bind(before)
                        .execute(self.pool())
                        .await?;
                }
                let q = Self::oidc_sql(
                    "DELETE FROM oidc_codes WHERE expires_at < ? \
                     AND NOT EXISTS (SELECT 1 FROM oidc_tokens t WHERE t.code_hash = oidc_codes.code_hash)",
                );
                sqlx::query(&q)
                    .bind(before - code_keep_secs)
                    .execute(self.pool())
                    .await?;
                Ok(())
            }
        }
    };
}

fn request_row<R: sqlx::Row>(r: &R) -> Result<RequestRow, sqlx::Error>
where
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<String>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Vec<u8>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    Ok(RequestRow {
        id: r.try_get("id")?,
        client_id: r.try_get("client_id")?,
        browser_hash: r.try_get("browser_hash")?,
        params: r.try_get("params")?,
        session_id: r.try_get("session_id")?,
        status: r.try_get("status")?,
        created_at: r.try_get("created_at")?,
        expires_at: r.try_get("expires_at")?,
    })
}

oidc_sql_store!(SqliteStore, sqlx::sqlite::SqliteRow, false);
oidc_sql_store!(PgStore, sqlx::postgres::PgRow, true);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_for_postgres() {
        assert_eq!(numbered("a = ? AND b IN (?, ?)"), "a = $1 AND b IN ($2, $3)");
    }
}
