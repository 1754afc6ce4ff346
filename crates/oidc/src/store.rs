//! The OpenID Connect tables of the database (`mynaid-db`), one implementation for SQLite and
//! PostgreSQL. Every single-use step is one conditional statement: a code is taken by
//! `UPDATE … WHERE used_at IS NULL RETURNING`, a request moves on by `UPDATE … WHERE status =`,
//! a client assertion's `jti` is recorded by an `INSERT … ON CONFLICT DO NOTHING`, so two
//! server instances on one PostgreSQL cannot both win.

use mynaid_db::sqlx::any::AnyRow;
use mynaid_db::sqlx::{self, Row};
use mynaid_db::{Db, StoreError};

mynaid_protocol::named_enum! {
    /// Where an authorization request stands.
    pub enum RequestStatus {
        /// On the consent page.
        Pending = "pending",
        /// The person agreed; the verification session runs.
        Reading = "reading",
        /// Answered (code issued, refused or declined).
        Done = "done",
    }
}

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
    /// Where it stands.
    pub status: RequestStatus,
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

fn request_row(r: &AnyRow) -> Result<RequestRow, StoreError> {
    let status: String = r.try_get("status")?;
    Ok(RequestRow {
        id: r.try_get("id")?,
        client_id: r.try_get("client_id")?,
        browser_hash: r.try_get("browser_hash")?,
        params: r.try_get("params")?,
        session_id: r.try_get("session_id")?,
        status: status.parse().map_err(|_| StoreError::BadValue { column: "status" })?,
        created_at: r.try_get("created_at")?,
        expires_at: r.try_get("expires_at")?,
    })
}

/// The provider's tables.
#[derive(Debug, Clone)]
pub struct OidcStore {
    db: Db,
    /// When this process last deleted expired replay ids (see [`OidcStore::use_jti`]).
    jtis_swept_at: std::sync::Arc<std::sync::atomic::AtomicI64>,
}

impl OidcStore {
    /// The provider's tables of an open database.
    pub fn new(db: Db) -> OidcStore {
        OidcStore {
            db,
            jtis_swept_at: std::sync::Arc::new(std::sync::atomic::AtomicI64::new(0)),
        }
    }

    /// All signing keys, oldest first.
    pub async fn keys(&self) -> Result<Vec<KeyRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT kid, predecessor, alg, public_jwk, private_key, created_at FROM oidc_keys ORDER BY created_at, kid",
        )
        .fetch_all(self.db.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(KeyRow {
                    kid: r.try_get("kid")?,
                    predecessor: r.try_get("predecessor")?,
                    alg: r.try_get("alg")?,
                    public_jwk: r.try_get("public_jwk")?,
                    private_key: r.try_get("private_key")?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect()
    }

    /// Adds a key unless `predecessor` already has a successor; true if added.
    pub async fn add_key(&self, k: &KeyRow) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO oidc_keys (kid, predecessor, alg, public_jwk, private_key, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        )
        .bind(&k.kid)
        .bind(&k.predecessor)
        .bind(&k.alg)
        .bind(&k.public_jwk)
        .bind(&k.private_key)
        .bind(k.created_at)
        .execute(self.db.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Deletes a (retired) key. Its successor keeps naming it, so no second successor of it
    /// can ever be added.
    pub async fn delete_key(&self, kid: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM oidc_keys WHERE kid = $1")
            .bind(kid)
            .execute(self.db.pool())
            .await?;
        Ok(())
    }

    /// Stores a new authorization request.
    pub async fn add_request(&self, r: &RequestRow) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO oidc_requests (id, client_id, browser_hash, params, session_id, status, created_at, \
             expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&r.id)
        .bind(&r.client_id)
        .bind(&r.browser_hash)
        .bind(&r.params)
        .bind(&r.session_id)
        .bind(r.status.as_str())
        .bind(r.created_at)
        .bind(r.expires_at)
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    /// A request by id.
    pub async fn request(&self, id: &str) -> Result<Option<RequestRow>, StoreError> {
        let r = sqlx::query(
            "SELECT id, client_id, browser_hash, params, session_id, status, created_at, expires_at \
             FROM oidc_requests WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.db.pool())
        .await?;
        r.as_ref().map(request_row).transpose()
    }

    /// A request by its verification session.
    pub async fn request_by_session(&self, session_id: &str) -> Result<Option<RequestRow>, StoreError> {
        let r = sqlx::query(
            "SELECT id, client_id, browser_hash, params, session_id, status, created_at, expires_at \
             FROM oidc_requests WHERE session_id = $1",
        )
        .bind(session_id)
        .fetch_optional(self.db.pool())
        .await?;
        r.as_ref().map(request_row).transpose()
    }

    /// Moves a request from `from` to `to` (optionally attaching a session), atomically and
    /// only before its expiry; true if this call moved it.
    pub async fn move_request(
        &self,
        id: &str,
        from: RequestStatus,
        to: RequestStatus,
        session_id: Option<&str>,
        now: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE oidc_requests SET status = $1, session_id = COALESCE($2, session_id) \
             WHERE id = $3 AND status = $4 AND expires_at >= $5",
        )
        .bind(to.as_str())
        .bind(session_id)
        .bind(id)
        .bind(from.as_str())
        .bind(now)
        .execute(self.db.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Stores a new code.
    pub async fn add_code(
        &self,
        code_hash: &[u8],
        client_id: &str,
        grant: &[u8],
        now: i64,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO oidc_codes (code_hash, client_id, grant_data, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(code_hash)
        .bind(client_id)
        .bind(grant)
        .bind(now)
        .bind(expires_at)
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    /// Takes a code once: marks it used and returns it; `None` if unknown or already used.
    pub async fn take_code(&self, code_hash: &[u8], now: i64) -> Result<Option<TakenCode>, StoreError> {
        // `fetch_all`, not `fetch_optional`: SQLite commits an `UPDATE … RETURNING` only when
        // the statement runs to its end, so stopping at the first row would let a failed
        // commit (full disk) hand out a code that is still unused.
        let r = sqlx::query(
            "UPDATE oidc_codes SET used_at = $1 WHERE code_hash = $2 AND used_at IS NULL \
             RETURNING client_id, grant_data, expires_at",
        )
        .bind(now)
        .bind(code_hash)
        .fetch_all(self.db.pool())
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

    /// Empties a taken code's sealed grant: the row stays (to detect a replay) without the
    /// personal data.
    pub async fn clear_code_grant(&self, code_hash: &[u8]) -> Result<(), StoreError> {
        sqlx::query("UPDATE oidc_codes SET grant_data = $1 WHERE code_hash = $2")
            .bind(Vec::<u8>::new())
            .bind(code_hash)
            .execute(self.db.pool())
            .await?;
        Ok(())
    }

    /// Marks a code replayed (its access tokens stop working); true if the code exists.
    pub async fn mark_replayed(&self, code_hash: &[u8]) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE oidc_codes SET replayed = 1 WHERE code_hash = $1")
            .bind(code_hash)
            .execute(self.db.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Stores an access token.
    pub async fn add_token(
        &self,
        token_hash: &[u8],
        code_hash: &[u8],
        client_id: &str,
        grant: &[u8],
        now: i64,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO oidc_tokens (token_hash, client_id, code_hash, grant_data, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(token_hash)
        .bind(client_id)
        .bind(code_hash)
        .bind(grant)
        .bind(now)
        .bind(expires_at)
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    /// Stores an access token of the client-credentials grant: with a code row of its own,
    /// already used (the token table hangs every token on a code, and a replayed code kills
    /// its tokens; this one can never be presented).
    pub async fn add_client_token(
        &self,
        token_hash: &[u8],
        client_id: &str,
        grant: &[u8],
        now: i64,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        let code_hash = mynaid_sessions::secrets::sha256(&[b"client-credentials:".as_slice(), token_hash].concat());
        let mut tx = self.db.pool().begin().await?;
        sqlx::query(
            "INSERT INTO oidc_codes (code_hash, client_id, grant_data, created_at, expires_at, used_at) \
             VALUES ($1, $2, $3, $4, $5, $4)",
        )
        .bind(code_hash.as_slice())
        .bind(client_id)
        .bind(Vec::<u8>::new())
        .bind(now)
        .bind(expires_at)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO oidc_tokens (token_hash, client_id, code_hash, grant_data, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(token_hash)
        .bind(client_id)
        .bind(code_hash.as_slice())
        .bind(grant)
        .bind(now)
        .bind(expires_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// An access token that has not expired and whose code was not replayed.
    pub async fn token(&self, token_hash: &[u8], now: i64) -> Result<Option<TokenRow>, StoreError> {
        // A token whose code was replayed is dead, even if it was issued after the replay was
        // noticed (the join sees the mark, whatever the order).
        let r = sqlx::query(
            "SELECT t.client_id, t.code_hash, t.grant_data, t.expires_at FROM oidc_tokens t \
             JOIN oidc_codes c ON c.code_hash = t.code_hash \
             WHERE t.token_hash = $1 AND t.expires_at >= $2 AND c.replayed = 0",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(self.db.pool())
        .await?;
        let Some(r) = r else { return Ok(None) };
        Ok(Some(TokenRow {
            client_id: r.try_get("client_id")?,
            code_hash: r.try_get("code_hash")?,
            grant: r.try_get("grant_data")?,
            expires_at: r.try_get("expires_at")?,
        }))
    }

    /// Records a client assertion's `jti` until `expires_at`; false if it was seen before.
    pub async fn use_jti(&self, client_id: &str, jti: &str, expires_at: i64, now: i64) -> Result<bool, StoreError> {
        // Expired records go at most once a minute per process (and with the periodic purge),
        // so that the table does not grow forever without a write on every request: each
        // write takes SQLite's one write lock.
        let swept = self.jtis_swept_at.load(std::sync::atomic::Ordering::Relaxed);
        if now - swept >= 60
            && self
                .jtis_swept_at
                .compare_exchange(
                    swept,
                    now,
                    std::sync::atomic::Ordering::Relaxed,
                    std::sync::atomic::Ordering::Relaxed,
                )
                .is_ok()
        {
            sqlx::query("DELETE FROM oidc_jtis WHERE expires_at < $1")
                .bind(now - 60)
                .execute(self.db.pool())
                .await?;
        }
        let done = sqlx::query(
            "INSERT INTO oidc_jtis (client_id, jti, expires_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(client_id)
        .bind(jti)
        .bind(expires_at)
        .execute(self.db.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Deletes expired requests, tokens and replay ids at `now` (a minute late, so that a row
    /// checked just before its expiry is still there when its statement runs), and codes a
    /// day after they expired once their tokens are gone: a replayed code is recognised (and
    /// revokes its tokens) until then.
    pub async fn purge_expired(&self, code_ttl_secs: u64, now: i64) -> Result<(), StoreError> {
        let before = now - 60;
        let code_keep = i64::try_from(code_ttl_secs).unwrap_or(600) + 86_400;
        for q in [
            "DELETE FROM oidc_requests WHERE expires_at < $1",
            "DELETE FROM oidc_tokens WHERE expires_at < $1",
            "DELETE FROM oidc_jtis WHERE expires_at < $1",
        ] {
            sqlx::query(q).bind(before).execute(self.db.pool()).await?;
        }
        sqlx::query(
            "DELETE FROM oidc_codes WHERE expires_at < $1 \
             AND NOT EXISTS (SELECT 1 FROM oidc_tokens t WHERE t.code_hash = oidc_codes.code_hash)",
        )
        .bind(before - code_keep)
        .execute(self.db.pool())
        .await?;
        Ok(())
    }
}
