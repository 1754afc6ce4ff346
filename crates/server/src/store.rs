//! Where sessions live. A trait, so that SQLite (embedded, the default) and PostgreSQL
//! (several instances) give the same behaviour; every single-use step is one atomic
//! conditional update, so two devices racing for one handle cannot both win.

use async_trait::async_trait;

pub mod postgres;
mod sql;
pub mod sqlite;

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database is unavailable, full, locked or broken. Nothing was half-written: every
    /// change is one statement or one transaction.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::Unavailable(e.to_string())
    }
}

/// The persisted state of a session. "Expired" is not stored: it is a created or redeemed
/// session whose `expires_at` has passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Waiting for a reading device to redeem the handle.
    Created,
    /// A reading device redeemed the handle and is reading the card.
    HandleRedeemed,
    /// Verified evidence arrived; the result is stored, encrypted.
    EvidenceVerified,
    /// The relying party took the result.
    Completed,
    /// Refused (bad evidence, cancelled); `error_code` says why.
    Failed,
}

impl State {
    /// Database spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Created => "created",
            State::HandleRedeemed => "handle_redeemed",
            State::EvidenceVerified => "evidence_verified",
            State::Completed => "completed",
            State::Failed => "failed",
        }
    }

    /// From the database spelling.
    pub fn parse(s: &str) -> Option<State> {
        Some(match s {
            "created" => State::Created,
            "handle_redeemed" => State::HandleRedeemed,
            "evidence_verified" => State::EvidenceVerified,
            "completed" => State::Completed,
            "failed" => State::Failed,
            _ => return None,
        })
    }
}

/// A session to create.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// Random id (base64url), not secret by itself: pages need the browser cookie too.
    pub id: String,
    /// The relying party's id.
    pub relying_party: String,
    /// `link_card` or `verify_identity`.
    pub purpose: String,
    /// The relying party's origin.
    pub origin: String,
    /// The session binding value the card signs (16 random bytes).
    pub binding: Vec<u8>,
    /// The 32-byte challenge.
    pub challenge: Vec<u8>,
    /// Accepted routes, comma separated (`input_support,signature`).
    pub accepted: String,
    /// Where to send the browser afterwards.
    pub return_url: Option<String>,
    /// SHA-256 of the browser token (the cookie).
    pub browser_hash: Vec<u8>,
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
    /// Purpose.
    pub purpose: String,
    /// Origin.
    pub origin: String,
    /// Binding value.
    pub binding: Vec<u8>,
    /// The challenge, until consumed.
    pub challenge: Option<Vec<u8>>,
    /// Accepted routes.
    pub accepted: String,
    /// Return URL.
    pub return_url: Option<String>,
    /// SHA-256 of the browser token.
    pub browser_hash: Vec<u8>,
    /// SHA-256 of the submission token given to the redeeming device.
    pub submission_hash: Option<Vec<u8>>,
    /// State.
    pub state: State,
    /// Last status a reading device reported (untrusted, for the page only).
    pub reader_status: Option<String>,
    /// Why it failed.
    pub error_code: Option<String>,
    /// The encrypted result.
    pub result: Option<Vec<u8>>,
    /// Created.
    pub created_at: i64,
    /// Expires.
    pub expires_at: i64,
    /// `pc_reader`, `cross_device` or `same_device`, once chosen.
    pub pattern: Option<String>,
    /// The short code the PC page and the phone both show (pattern 2).
    pub pc_code: Option<String>,
    /// Whether the verified result may go to the relying party (pattern 1 at once; 2 and 3
    /// after the person confirmed).
    pub released: bool,
    /// Wrong confirmation codes so far.
    pub confirm_attempts: i64,
    /// Until when the confirmation code is accepted.
    pub confirm_expires_at: Option<i64>,
}

impl std::fmt::Debug for SessionRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SessionRow({}, {:?}, {})", self.id, self.state, self.relying_party)
    }
}

impl SessionRow {
    /// Whether the session ran out of time before evidence arrived.
    pub fn is_expired(&self, now: i64) -> bool {
        matches!(self.state, State::Created | State::HandleRedeemed) && now > self.expires_at
    }
}

/// The outcome of redeeming a handle.
#[derive(Debug)]
pub enum Redeem {
    /// This call won: the session is now `handle_redeemed`.
    Redeemed(SessionRow),
    /// The handle was already redeemed (by this or another device).
    AlreadyRedeemed(SessionRow),
    /// The handle's session expired.
    Expired(SessionRow),
    /// The session is over (verified, completed or failed).
    Finished(SessionRow),
    /// No session has this handle (never existed, or replaced by a refresh).
    Unknown,
}

/// How a verified result becomes available to the relying party.
#[derive(Debug, Clone)]
pub enum Release {
    /// At once (pattern 1: the browser and the reader are on one PC).
    Now,
    /// After the person confirms: a code typed on the page that started the session, or the
    /// return to the same browser with a result handle (patterns 2 and 3).
    OnConfirmation {
        /// SHA-256 of the confirmation code.
        code_hash: Vec<u8>,
        /// Until when it is accepted.
        expires_at: i64,
        /// SHA-256 of the result handle (pattern 3).
        result_handle_hash: Option<Vec<u8>>,
    },
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

/// Session storage.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Stores a new session.
    async fn create(&self, session: &NewSession) -> Result<(), StoreError>;
    /// A session by id.
    async fn get(&self, id: &str) -> Result<Option<SessionRow>, StoreError>;
    /// A session by the hash of its current handle.
    async fn by_handle(&self, handle_hash: &[u8]) -> Result<Option<SessionRow>, StoreError>;
    /// Replaces the handle and challenge of a session still waiting for evidence (`created`,
    /// or `handle_redeemed` when the person starts over after a wrong PIN or a removed card),
    /// with a new expiry: the session is `created` again and the old handle and its
    /// submission token stop working. False if evidence already arrived or it failed.
    async fn refresh_handle(
        &self,
        id: &str,
        handle_hash: &[u8],
        challenge: &[u8],
        expires_at: i64,
        pattern: &str,
        pc_code: &str,
    ) -> Result<bool, StoreError>;
    /// Redeems a handle, atomically: exactly one caller wins.
    async fn redeem(&self, handle_hash: &[u8], submission_hash: &[u8], now: i64) -> Result<Redeem, StoreError>;
    /// Stores the verified, encrypted result and consumes the challenge, atomically: only
    /// from `handle_redeemed`, before expiry, and only if the session still holds the
    /// `challenge` the evidence was verified against and the `submission_hash` of the device
    /// that sent it (the person may have started over and another device redeemed a new
    /// handle, with a new challenge, while this evidence was being verified).
    async fn complete_evidence(
        &self,
        id: &str,
        challenge: &[u8],
        submission_hash: &[u8],
        result: &[u8],
        release: &Release,
        now: i64,
    ) -> Result<bool, StoreError>;
    /// Checks a confirmation code, atomically counting wrong attempts; at `max_attempts`
    /// wrong ones the session fails and its result is deleted.
    async fn confirm(
        &self,
        id: &str,
        code_hash: &[u8],
        max_attempts: i64,
        now: i64,
    ) -> Result<Confirmation, StoreError>;
    /// The session whose result handle hashes to `hash` (pattern 3).
    async fn by_result_handle(&self, hash: &[u8]) -> Result<Option<SessionRow>, StoreError>;
    /// Releases a verified result held for confirmation (pattern 3, same browser).
    async fn release(&self, id: &str, now: i64) -> Result<bool, StoreError>;
    /// Marks a waiting or redeemed session failed.
    async fn fail(&self, id: &str, code: &str, now: i64) -> Result<bool, StoreError>;
    /// Records what the reading device says it is doing.
    async fn set_reader_status(&self, id: &str, status: &str) -> Result<(), StoreError>;
    /// Hands a released result to the relying party once: `evidence_verified` → `completed`.
    async fn take_result(&self, id: &str, now: i64) -> Result<Option<Vec<u8>>, StoreError>;
    /// Deletes sessions (and their results) that ended before `before`.
    async fn purge(&self, before: i64) -> Result<u64, StoreError>;
}
