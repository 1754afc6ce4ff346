//! Where sessions live. A trait, so that SQLite (embedded, the default) and PostgreSQL
//! (several instances) give the same behaviour; every single-use step is one atomic
//! conditional update, so two devices racing for one handle cannot both win.

use async_trait::async_trait;

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

/// Session storage.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Stores a new session.
    async fn create(&self, session: &NewSession) -> Result<(), StoreError>;
    /// A session by id.
    async fn get(&self, id: &str) -> Result<Option<SessionRow>, StoreError>;
    /// A session by the hash of its current handle.
    async fn by_handle(&self, handle_hash: &[u8]) -> Result<Option<SessionRow>, StoreError>;
    /// Replaces the handle and challenge of a session still waiting (`created`), with a new
    /// expiry; the old handle stops working. False if the session is not waiting.
    async fn refresh_handle(
        &self,
        id: &str,
        handle_hash: &[u8],
        challenge: &[u8],
        expires_at: i64,
    ) -> Result<bool, StoreError>;
    /// Redeems a handle, atomically: exactly one caller wins.
    async fn redeem(&self, handle_hash: &[u8], submission_hash: &[u8], now: i64) -> Result<Redeem, StoreError>;
    /// Stores the verified, encrypted result and consumes the challenge, atomically: only
    /// from `handle_redeemed`, before expiry, with the challenge still there.
    async fn complete_evidence(&self, id: &str, result: &[u8], now: i64) -> Result<bool, StoreError>;
    /// Marks a waiting or redeemed session failed.
    async fn fail(&self, id: &str, code: &str, now: i64) -> Result<bool, StoreError>;
    /// Records what the reading device says it is doing.
    async fn set_reader_status(&self, id: &str, status: &str) -> Result<(), StoreError>;
    /// Hands the result to the relying party once: `evidence_verified` → `completed`.
    async fn take_result(&self, id: &str, now: i64) -> Result<Option<Vec<u8>>, StoreError>;
    /// Deletes sessions (and their results) that ended before `before`.
    async fn purge(&self, before: i64) -> Result<u64, StoreError>;
}
