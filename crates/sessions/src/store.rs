//! Where sessions live: the `sessions` table of the database (`mynaid-db`), one
//! implementation for SQLite and PostgreSQL. Every single-use step is one atomic conditional
//! update, so two devices racing for one handle cannot both win; the names (state, purpose,
//! pattern, routes, statuses) are bound as their one spelling and read back in [`row`].

use mynaid_db::sqlx::any::AnyRow;
use mynaid_db::sqlx::{self, Row};
use mynaid_db::{Db, StoreError};
use mynaid_protocol::{Device, Pattern, Purpose, ReaderStatus, Route};

use crate::Failure;
use crate::links::NewLink;

mynaid_protocol::named_enum! {
    /// The persisted state of a session. "Expired" is not stored: it is a created or redeemed
    /// session whose `expires_at` has passed.
    pub enum State {
        /// Waiting for a reading device to redeem the handle.
        Created = "created",
        /// A reading device redeemed the handle and is reading the card.
        HandleRedeemed = "handle_redeemed",
        /// Verified evidence arrived; the result is stored, encrypted.
        EvidenceVerified = "evidence_verified",
        /// The relying party took the result.
        Completed = "completed",
        /// Refused (bad evidence, confirmation failed); `failure` says why.
        Failed = "failed",
    }
}

/// A session to create.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// Random id (base64url), not secret by itself: pages need the browser cookie too.
    pub id: String,
    /// The relying party's id.
    pub relying_party: String,
    /// Why the card is read.
    pub purpose: Purpose,
    /// The relying party's origin.
    pub origin: String,
    /// The session binding value the card signs (16 random bytes).
    pub binding: Vec<u8>,
    /// The 32-byte challenge.
    pub challenge: Vec<u8>,
    /// The routes the relying party accepts.
    pub accepted: Vec<Route>,
    /// Where to send the browser afterwards.
    pub return_url: Option<String>,
    /// SHA-256 of the browser token (the cookie), when the session starts in the browser
    /// that asked; else of a token nobody holds, until the start link is opened.
    pub browser_hash: Vec<u8>,
    /// SHA-256 of the start link's one-time token (a relying party's start link).
    pub start_hash: Option<Vec<u8>>,
    /// SHA-256 of the code the browser carries back to the relying party (known when the
    /// browser is).
    pub return_hash: Option<Vec<u8>>,
    /// SHA-256 of the first handle.
    pub handle_hash: Vec<u8>,
    /// Creation time.
    pub created_at: i64,
    /// Expiry of session, challenge and handle.
    pub expires_at: i64,
}

/// A stored session.
#[derive(Clone)]
pub struct SessionRow {
    /// Id.
    pub id: String,
    /// Relying party id.
    pub relying_party: String,
    /// Why the card is read.
    pub purpose: Purpose,
    /// The relying party's origin.
    pub origin: String,
    /// Binding value.
    pub binding: Vec<u8>,
    /// The challenge, until consumed.
    pub challenge: Option<Vec<u8>>,
    /// The routes the relying party accepts.
    pub accepted: Vec<Route>,
    /// Return URL.
    pub return_url: Option<String>,
    /// SHA-256 of the browser token.
    pub browser_hash: Vec<u8>,
    /// SHA-256 of the start link's token, until a browser opened it.
    pub start_hash: Option<Vec<u8>>,
    /// SHA-256 of the code the browser carries back to the relying party.
    pub return_hash: Option<Vec<u8>>,
    /// SHA-256 of the submission token given to the redeeming device.
    pub submission_hash: Option<Vec<u8>>,
    /// State.
    pub state: State,
    /// Last status a reading device reported (untrusted, for the page only).
    pub reader_status: Option<ReaderStatus>,
    /// Why it failed.
    pub failure: Option<Failure>,
    /// The encrypted result.
    pub result: Option<Vec<u8>>,
    /// Created.
    pub created_at: i64,
    /// Expires.
    pub expires_at: i64,
    /// How the card is read, once the person chose.
    pub pattern: Option<Pattern>,
    /// The short code the PC page and the phone both show (pattern 2).
    pub pc_code: Option<String>,
    /// Whether the verified result may go to the relying party (pattern 1 at once; 2 and 3
    /// after the person confirmed).
    pub released: bool,
    /// Wrong confirmation codes so far.
    pub confirm_attempts: i64,
    /// Until when the confirmation code is accepted.
    pub confirm_expires_at: Option<i64>,
    /// SHA-256 of the current handle.
    pub handle_hash: Option<Vec<u8>>,
    /// How many times the person extended the time limit.
    pub extensions: i64,
}

impl std::fmt::Debug for SessionRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SessionRow({}, {}, {})", self.id, self.state, self.relying_party)
    }
}

impl SessionRow {
    /// Whether the session ran out of time before evidence arrived.
    pub fn is_expired(&self, now: i64) -> bool {
        matches!(self.state, State::Created | State::HandleRedeemed) && now > self.expires_at
    }

    /// The time limit the person has now, if one runs: the session's (and its handle's)
    /// while it waits for or reads the card, the confirmation code's while the result waits
    /// for it.
    pub fn time_limit(&self) -> Option<i64> {
        match self.state {
            State::Created | State::HandleRedeemed => Some(self.expires_at),
            State::EvidenceVerified if !self.released => self.confirm_expires_at,
            _ => None,
        }
    }

    /// Whether the time limit that runs has passed.
    pub fn time_is_up(&self, now: i64) -> bool {
        self.time_limit().is_some_and(|t| now > t)
    }
}

/// The outcome of redeeming a handle.
#[derive(Debug)]
pub enum Redeem {
    /// This call won: the session is now `handle_redeemed`.
    Redeemed(SessionRow),
    /// The handle was already redeemed (by this or another device).
    AlreadyRedeemed(SessionRow),
    /// The handle is for a pattern of another kind of device; it was not used up.
    WrongDevice(SessionRow),
    /// The handle's session expired.
    Expired(SessionRow),
    /// The session is over (verified, completed or failed).
    Finished(SessionRow),
    /// No session has this handle (never existed, or replaced by a refresh).
    Unknown,
}

/// How a verified result becomes available to the relying party: after the person
/// confirms in the browser that started the session, with the code typed on its page or by
/// the return to it with a result handle (patterns 1 and 3).
#[derive(Debug, Clone)]
pub struct Release {
    /// SHA-256 of the confirmation code.
    pub code_hash: Vec<u8>,
    /// Until when it is accepted.
    pub expires_at: i64,
    /// SHA-256 of the result handle (patterns 1 and 3).
    pub result_handle_hash: Option<Vec<u8>>,
}

/// The outcome of a confirmation code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirmation {
    /// Right: the result is released.
    Released,
    /// Wrong; this many attempts are left.
    Wrong {
        /// Attempts left.
        attempts_left: i64,
    },
    /// Wrong too often (or the code expired): the session failed and the result is gone.
    Locked,
    /// Nothing waits for a code in this session.
    NotPending,
}

/// The columns of a [`SessionRow`], in the order [`row`] reads them.
macro_rules! columns {
    () => {
        "id, relying_party, purpose, origin, binding, challenge, accepted, return_url, browser_hash, \
         start_hash, return_hash, submission_hash, state, reader_status, error_code, result, created_at, expires_at, pattern, pc_code, \
         released, confirm_attempts, confirm_expires_at, handle_hash, extensions"
    };
}

/// The `accepted` column: the routes' spellings, comma separated.
fn routes_column(routes: &[Route]) -> String {
    routes.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(",")
}

fn named<T: std::str::FromStr>(r: &AnyRow, column: &'static str) -> Result<T, StoreError> {
    let text: String = r.try_get(column)?;
    text.parse().map_err(|_| StoreError::BadValue { column })
}

fn named_opt<T: std::str::FromStr>(r: &AnyRow, column: &'static str) -> Result<Option<T>, StoreError> {
    let text: Option<String> = r.try_get(column)?;
    text.map(|t| t.parse().map_err(|_| StoreError::BadValue { column }))
        .transpose()
}

/// A row of [`columns!`] as a [`SessionRow`]: the one place where columns become names.
fn row(r: &AnyRow) -> Result<SessionRow, StoreError> {
    let accepted: String = r.try_get("accepted")?;
    Ok(SessionRow {
        id: r.try_get("id")?,
        relying_party: r.try_get("relying_party")?,
        purpose: named(r, "purpose")?,
        origin: r.try_get("origin")?,
        binding: r.try_get("binding")?,
        challenge: r.try_get("challenge")?,
        accepted: accepted
            .split(',')
            .map(|a| a.parse().map_err(|_| StoreError::BadValue { column: "accepted" }))
            .collect::<Result<_, _>>()?,
        return_url: r.try_get("return_url")?,
        browser_hash: r.try_get("browser_hash")?,
        start_hash: r.try_get("start_hash")?,
        return_hash: r.try_get("return_hash")?,
        submission_hash: r.try_get("submission_hash")?,
        state: named(r, "state")?,
        reader_status: named_opt(r, "reader_status")?,
        failure: named_opt(r, "error_code")?,
        result: r.try_get("result")?,
        created_at: r.try_get("created_at")?,
        expires_at: r.try_get("expires_at")?,
        pattern: named_opt(r, "pattern")?,
        pc_code: r.try_get("pc_code")?,
        released: r.try_get::<i64, _>("released")? != 0,
        confirm_attempts: r.try_get("confirm_attempts")?,
        confirm_expires_at: r.try_get("confirm_expires_at")?,
        handle_hash: r.try_get("handle_hash")?,
        extensions: r.try_get("extensions")?,
    })
}

/// The sessions table.
#[derive(Debug, Clone)]
pub struct SessionStore {
    db: Db,
}

impl SessionStore {
    /// The sessions of an open database.
    pub fn new(db: Db) -> SessionStore {
        SessionStore { db }
    }

    /// The database.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Stores a new session.
    pub async fn create(&self, s: &NewSession) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sessions (id, relying_party, purpose, origin, binding, challenge, accepted, return_url, \
             browser_hash, start_hash, return_hash, handle_hash, state, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        )
        .bind(&s.id)
        .bind(&s.relying_party)
        .bind(s.purpose.as_str())
        .bind(&s.origin)
        .bind(&s.binding)
        .bind(&s.challenge)
        .bind(routes_column(&s.accepted))
        .bind(&s.return_url)
        .bind(&s.browser_hash)
        .bind(&s.start_hash)
        .bind(&s.return_hash)
        .bind(&s.handle_hash)
        .bind(State::Created.as_str())
        .bind(s.created_at)
        .bind(s.expires_at)
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    /// A session by id.
    pub async fn get(&self, id: &str) -> Result<Option<SessionRow>, StoreError> {
        let q = concat!("SELECT ", columns!(), " FROM sessions WHERE id = $1");
        let r = sqlx::query(q).bind(id).fetch_optional(self.db.pool()).await?;
        r.as_ref().map(row).transpose()
    }

    /// Opens a start link: the first browser becomes the session's, once. False if the
    /// token is not (or no longer) the session's.
    pub async fn start(
        &self,
        id: &str,
        start_hash: &[u8],
        browser_hash: &[u8],
        return_hash: &[u8],
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE sessions SET browser_hash = $1, return_hash = $2, start_hash = NULL \
             WHERE id = $3 AND start_hash = $4",
        )
        .bind(browser_hash)
        .bind(return_hash)
        .bind(id)
        .bind(start_hash)
        .execute(self.db.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// A session by the hash of its current handle.
    pub async fn by_handle(&self, handle_hash: &[u8]) -> Result<Option<SessionRow>, StoreError> {
        let q = concat!("SELECT ", columns!(), " FROM sessions WHERE handle_hash = $1");
        let r = sqlx::query(q).bind(handle_hash).fetch_optional(self.db.pool()).await?;
        r.as_ref().map(row).transpose()
    }

    /// Replaces the handle and challenge of a session still waiting for evidence (`created`,
    /// or `handle_redeemed` when the person starts over after a wrong PIN or a removed card),
    /// with a new expiry: the session is `created` again and the old handle and its
    /// submission token stop working. False if evidence already arrived or it failed.
    pub async fn refresh_handle(
        &self,
        id: &str,
        handle_hash: &[u8],
        challenge: &[u8],
        expires_at: i64,
        pattern: Pattern,
        pc_code: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE sessions SET handle_hash = $1, challenge = $2, expires_at = $3, reader_status = NULL, \
             pattern = $4, pc_code = $5, state = $6, submission_hash = NULL, redeemed_at = NULL \
             WHERE id = $7 AND state IN ($6, $8)",
        )
        .bind(handle_hash)
        .bind(challenge)
        .bind(expires_at)
        .bind(pattern.as_str())
        .bind(pc_code)
        .bind(State::Created.as_str())
        .bind(id)
        .bind(State::HandleRedeemed.as_str())
        .execute(self.db.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Opens a session that failed with `failure` for a new attempt (the person reads the
    /// card again, e.g. with the other route after a revoked signature certificate): it is
    /// `created` again with no usable handle (`handle_hash`: the hash of a token nobody holds)
    /// and no challenge, until [`SessionStore::refresh_handle`] issues them. False if it is
    /// no longer failed for that reason.
    pub async fn reopen(&self, id: &str, failure: Failure, unusable_handle_hash: &[u8]) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE sessions SET state = $1, error_code = NULL, completed_at = NULL, challenge = NULL, \
             handle_hash = $2, submission_hash = NULL, redeemed_at = NULL, reader_status = NULL \
             WHERE id = $3 AND state = $4 AND error_code = $5 AND result IS NULL",
        )
        .bind(State::Created.as_str())
        .bind(unusable_handle_hash)
        .bind(id)
        .bind(State::Failed.as_str())
        .bind(failure.as_str())
        .execute(self.db.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Extends the time limit the person sees, once more, from `old` to `new`: the session's
    /// (and its handle's) while it waits for or reads the card, the confirmation code's while
    /// that is pending (`confirming`). Only if it is still `old` and not past it at `now`,
    /// and fewer than `max` extensions were made. False otherwise (nothing changed).
    pub async fn extend(
        &self,
        id: &str,
        confirming: bool,
        old: i64,
        new: i64,
        now: i64,
        max: i64,
    ) -> Result<bool, StoreError> {
        let q = if confirming {
            "UPDATE sessions SET confirm_expires_at = $1, extensions = extensions + 1 \
             WHERE id = $2 AND confirm_expires_at = $3 AND confirm_expires_at >= $4 AND extensions < $5 \
             AND state = $6 AND released = 0 AND confirm_hash IS NOT NULL"
        } else {
            "UPDATE sessions SET expires_at = $1, extensions = extensions + 1 \
             WHERE id = $2 AND expires_at = $3 AND expires_at >= $4 AND extensions < $5 \
             AND state IN ($6, $7)"
        };
        let mut query = sqlx::query(q).bind(new).bind(id).bind(old).bind(now).bind(max);
        query = if confirming {
            query.bind(State::EvidenceVerified.as_str())
        } else {
            query.bind(State::Created.as_str()).bind(State::HandleRedeemed.as_str())
        };
        let done = query.execute(self.db.pool()).await?;
        Ok(done.rows_affected() == 1)
    }

    /// Redeems a handle, atomically: exactly one caller wins, and only a device of the kind
    /// the session's pattern is for (when the device says what it is).
    pub async fn redeem(
        &self,
        handle_hash: &[u8],
        submission_hash: &[u8],
        device: Option<Device>,
        now: i64,
    ) -> Result<Redeem, StoreError> {
        let q = concat!(
            "UPDATE sessions SET state = $1, submission_hash = $2, redeemed_at = $3 \
             WHERE handle_hash = $4 AND state = $5 AND expires_at >= $3 \
             AND (pattern IS NULL OR pattern IN ($6, $7, $8)) RETURNING ",
            columns!()
        );
        let for_device = |p: Pattern| device.is_none_or(|d| p.device() == d);
        // Each pattern's name where this device may redeem it, else a name no row has.
        let allowed = |p: Pattern| if for_device(p) { p.as_str() } else { "" };
        // `fetch_all`, not `fetch_optional`: SQLite commits an `UPDATE … RETURNING` when the
        // statement runs to its end, and a failed commit (disk full, I/O error) is reported
        // only there. Stopping after the first row dropped that error and answered a win that
        // was never stored.
        let won = sqlx::query(q)
            .bind(State::HandleRedeemed.as_str())
            .bind(submission_hash)
            .bind(now)
            .bind(handle_hash)
            .bind(State::Created.as_str())
            .bind(allowed(Pattern::PcReader))
            .bind(allowed(Pattern::CrossDevice))
            .bind(allowed(Pattern::SameDevice))
            .fetch_all(self.db.pool())
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
            Some(s) if s.state == State::EvidenceVerified && !s.released => Redeem::AlreadyRedeemed(s),
            Some(s) if s.state == State::Created && s.pattern.is_some_and(|p| !for_device(p)) => Redeem::WrongDevice(s),
            Some(s) if s.state == State::Created => Redeem::Expired(s),
            Some(s) => Redeem::Finished(s),
        })
    }

    /// Stores the verified, encrypted result and consumes the challenge, atomically: only
    /// from `handle_redeemed`, before expiry, and only if the session still holds the
    /// `challenge` the evidence was verified against and the `submission_hash` of the device
    /// that sent it (the person may have started over and another device redeemed a new
    /// handle, with a new challenge, while this evidence was being verified).
    pub async fn complete_evidence(
        &self,
        id: &str,
        challenge: &[u8],
        submission_hash: &[u8],
        result: &[u8],
        release: &Release,
        now: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE sessions SET state = $1, result = $2, challenge = NULL, verified_at = $3, released = 0, \
             confirm_hash = $4, confirm_expires_at = $5, result_handle_hash = $6 \
             WHERE id = $7 AND state = $8 AND challenge = $9 AND submission_hash = $10 AND expires_at >= $3",
        )
        .bind(State::EvidenceVerified.as_str())
        .bind(result)
        .bind(now)
        .bind(&release.code_hash)
        .bind(release.expires_at)
        .bind(&release.result_handle_hash)
        .bind(id)
        .bind(State::HandleRedeemed.as_str())
        .bind(challenge)
        .bind(submission_hash)
        .execute(self.db.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Checks a confirmation code, atomically counting wrong attempts; at `max_attempts`
    /// wrong ones the session fails and its result is deleted.
    pub async fn confirm(
        &self,
        id: &str,
        code_hash: &[u8],
        max_attempts: i64,
        now: i64,
    ) -> Result<Confirmation, StoreError> {
        // Every statement below is for a result that waits for its code; `$2` is
        // `evidence_verified`.
        let right = sqlx::query(
            "UPDATE sessions SET released = 1, confirm_hash = NULL WHERE id = $1 AND state = $2 AND released = 0 \
             AND confirm_hash = $3 AND confirm_attempts < $4 AND confirm_expires_at >= $5",
        )
        .bind(id)
        .bind(State::EvidenceVerified.as_str())
        .bind(code_hash)
        .bind(max_attempts)
        .bind(now)
        .execute(self.db.pool())
        .await?;
        if right.rows_affected() == 1 {
            return Ok(Confirmation::Released);
        }
        // To the statement's end, so that a failed commit is an error (see `redeem`).
        let counted = sqlx::query(
            "UPDATE sessions SET confirm_attempts = confirm_attempts + 1 WHERE id = $1 AND state = $2 \
             AND released = 0 AND confirm_hash IS NOT NULL AND confirm_attempts < $3 AND confirm_expires_at >= $4 \
             RETURNING confirm_attempts",
        )
        .bind(id)
        .bind(State::EvidenceVerified.as_str())
        .bind(max_attempts)
        .bind(now)
        .fetch_all(self.db.pool())
        .await?
        .into_iter()
        .next();
        let attempts: i64 = match counted {
            Some(r) => r.try_get("confirm_attempts")?,
            // At the limit or past the deadline: end it for good.
            None => {
                return Ok(if self.lock_confirmation(id, now).await? {
                    Confirmation::Locked
                } else {
                    Confirmation::NotPending
                });
            }
        };
        if attempts >= max_attempts {
            self.lock_confirmation(id, now).await?;
            return Ok(Confirmation::Locked);
        }
        Ok(Confirmation::Wrong {
            attempts_left: max_attempts - attempts,
        })
    }

    /// Fails a session whose result waits for its code, deleting the result.
    async fn lock_confirmation(&self, id: &str, now: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE sessions SET state = $1, error_code = $2, result = NULL, confirm_hash = NULL, completed_at = $3 \
             WHERE id = $4 AND state = $5 AND released = 0 AND confirm_hash IS NOT NULL",
        )
        .bind(State::Failed.as_str())
        .bind(Failure::ConfirmationFailed.as_str())
        .bind(now)
        .bind(id)
        .bind(State::EvidenceVerified.as_str())
        .execute(self.db.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The session whose result handle hashes to `hash` (pattern 3).
    pub async fn by_result_handle(&self, hash: &[u8]) -> Result<Option<SessionRow>, StoreError> {
        let q = concat!("SELECT ", columns!(), " FROM sessions WHERE result_handle_hash = $1");
        let r = sqlx::query(q).bind(hash).fetch_optional(self.db.pool()).await?;
        r.as_ref().map(row).transpose()
    }

    /// Forgets a result handle that came back to another browser: it cannot be replayed in
    /// the browser that started (the code typed there still works).
    pub async fn burn_result_handle(&self, id: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE sessions SET result_handle_hash = NULL WHERE id = $1")
            .bind(id)
            .execute(self.db.pool())
            .await?;
        Ok(())
    }

    /// Ends a session whose reading link a second device tried to redeem: from reading, or
    /// verified and not yet released (the result is deleted). False if it was past that.
    pub async fn fail_redeemed_twice(&self, id: &str, now: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE sessions SET state = $1, error_code = $2, result = NULL, challenge = NULL, confirm_hash = NULL, \
             result_handle_hash = NULL, completed_at = $3 \
             WHERE id = $4 AND (state = $5 OR (state = $6 AND released = 0))",
        )
        .bind(State::Failed.as_str())
        .bind(Failure::RedeemedTwice.as_str())
        .bind(now)
        .bind(id)
        .bind(State::HandleRedeemed.as_str())
        .bind(State::EvidenceVerified.as_str())
        .execute(self.db.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Releases a verified result held for confirmation (patterns 1 and 3, same browser).
    pub async fn release(&self, id: &str, now: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE sessions SET released = 1, confirm_hash = NULL, result_handle_hash = NULL WHERE id = $1 \
             AND state = $2 AND released = 0 AND confirm_expires_at >= $3",
        )
        .bind(id)
        .bind(State::EvidenceVerified.as_str())
        .bind(now)
        .execute(self.db.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Marks a waiting or redeemed session failed.
    pub async fn fail(&self, id: &str, failure: Failure, now: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE sessions SET state = $1, error_code = $2, challenge = NULL, completed_at = $3 \
             WHERE id = $4 AND state IN ($5, $6)",
        )
        .bind(State::Failed.as_str())
        .bind(failure.as_str())
        .bind(now)
        .bind(id)
        .bind(State::Created.as_str())
        .bind(State::HandleRedeemed.as_str())
        .execute(self.db.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records what the reading device says it is doing.
    pub async fn set_reader_status(&self, id: &str, status: ReaderStatus) -> Result<(), StoreError> {
        sqlx::query("UPDATE sessions SET reader_status = $1 WHERE id = $2 AND state = $3")
            .bind(status.as_str())
            .bind(id)
            .bind(State::HandleRedeemed.as_str())
            .execute(self.db.pool())
            .await?;
        Ok(())
    }

    /// Hands a released result to the relying party once: `evidence_verified` → `completed`.
    /// `open` turns the sealed result into what is handed out and, for a linked card, the
    /// link to record ([`crate::links`]) in the same transaction: the result is not handed
    /// out unless its link is stored too.
    pub async fn take_result<T>(
        &self,
        id: &str,
        now: i64,
        open: impl FnOnce(&[u8]) -> (T, Option<NewLink>),
    ) -> Result<Option<T>, StoreError> {
        // One transaction: the result is handed out only if marking it taken (and deleting
        // it) is stored, so a storage failure leaves it to be taken again rather than lost or
        // handed out twice. Committed explicitly: a failed commit is an error, never a result
        // already given (see `redeem`).
        let mut tx = self.db.pool().begin().await?;
        let r = sqlx::query(
            "UPDATE sessions SET state = $1, completed_at = $2 WHERE id = $3 AND state = $4 AND released = 1 \
             RETURNING result",
        )
        .bind(State::Completed.as_str())
        .bind(now)
        .bind(id)
        .bind(State::EvidenceVerified.as_str())
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .next();
        let sealed = r
            .map(|r| r.try_get::<Option<Vec<u8>>, _>("result"))
            .transpose()?
            .flatten();
        let mut taken = None;
        if let Some(sealed) = sealed {
            let (value, link) = open(&sealed);
            taken = Some(value);
            if let Some(l) = link {
                crate::links::LinkStore::record(&mut tx, &l.relying_party, &l.link_id, &l.issuer, &l.certificate, now)
                    .await?;
            }
            // Taken once: the ciphertext goes at once; the row stays (a second take is
            // answered "finished") until the retention purge.
            sqlx::query("UPDATE sessions SET result = NULL WHERE id = $1 AND state = $2")
                .bind(id)
                .bind(State::Completed.as_str())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(taken)
    }

    /// Deletes sessions (and their results) that ended before `before`.
    pub async fn purge(&self, before: i64) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "DELETE FROM sessions WHERE expires_at < $1 OR (completed_at IS NOT NULL AND completed_at < $1)",
        )
        .bind(before)
        .execute(self.db.pool())
        .await?;
        Ok(done.rows_affected())
    }
}
