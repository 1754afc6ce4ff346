//! The verification sessions: what the HTTP handlers call. All state lives in the store;
//! browsers and reading devices carry only opaque tokens whose hashes the store keeps.

use std::collections::HashMap;
use std::sync::Arc;

use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use mynaid_evidence::{Binding, CardFaceClaims, Evidence, EvidenceError, Verifier};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::config::{Config, RelyingPartyConfig};
use crate::error::ApiError;
use crate::events::{Event, EventHub};
use crate::secrets::{ResultKey, hash, random, same, token};
use crate::store::{Confirmation, NewSession, Redeem, Release, SessionRow, State, Store};

/// Why the card is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// Link the card to an account.
    LinkCard,
    /// Verify the person's identity.
    VerifyIdentity,
}

impl Purpose {
    /// Stable spelling (also what the card signs).
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::LinkCard => "link_card",
            Purpose::VerifyIdentity => "verify_identity",
        }
    }

    /// From the stable spelling.
    pub fn parse(s: &str) -> Option<Purpose> {
        match s {
            "link_card" => Some(Purpose::LinkCard),
            "verify_identity" => Some(Purpose::VerifyIdentity),
            _ => None,
        }
    }

    /// Shown to the person, Japanese.
    pub fn ja(self) -> &'static str {
        match self {
            Purpose::LinkCard => "マイナンバーカードとアカウントの連携",
            Purpose::VerifyIdentity => "本人確認",
        }
    }

    /// Shown to the person, English.
    pub fn en(self) -> &'static str {
        match self {
            Purpose::LinkCard => "Link your My Number Card to your account",
            Purpose::VerifyIdentity => "Verify your identity",
        }
    }
}

/// How the card is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pattern {
    /// 1: this PC's browser and the reader app with an IC card reader.
    PcReader,
    /// 2: the PC's browser shows a QR code; a smartphone reads the card.
    CrossDevice,
    /// 3: the smartphone's browser hands off to the app on the same phone.
    SameDevice,
}

impl Pattern {
    /// Stable spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Pattern::PcReader => "pc_reader",
            Pattern::CrossDevice => "cross_device",
            Pattern::SameDevice => "same_device",
        }
    }

    /// From the stable spelling.
    pub fn parse(s: &str) -> Option<Pattern> {
        match s {
            "pc_reader" => Some(Pattern::PcReader),
            "cross_device" => Some(Pattern::CrossDevice),
            "same_device" => Some(Pattern::SameDevice),
            _ => None,
        }
    }
}

/// Wrong confirmation codes allowed before the session fails.
pub const MAX_CONFIRMATION_ATTEMPTS: i64 = 5;

/// A code from an alphabet without look-alikes (no 0/O, 1/I/L, 2/Z, 5/S, 8/B).
fn pc_code() -> String {
    const ALPHABET: &[u8] = b"ACDEFGHJKMNPQRTUVWXY34679";
    random::<4>()
        .iter()
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect()
}

/// A 6-digit confirmation code.
fn confirmation_code() -> String {
    let n = u32::from_be_bytes(random::<4>()) % 1_000_000;
    format!("{n:06}")
}

/// The stored form of a confirmation code: bound to its session, so equal codes of two
/// sessions do not hash alike.
fn code_hash(session: &str, code: &str) -> Vec<u8> {
    hash(&format!("{session}:{code}"))
}

/// What the reading device is told after its evidence was verified.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Submitted {
    /// `verified`.
    pub status: String,
    /// Patterns 2 and 3: the code the person types on the page that started the session.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confirmation_code: Option<String>,
    /// Pattern 3: where the app sends the person back (`…/return#<result handle>`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub return_url: Option<String>,
}

/// A time source: seconds since the epoch. A parameter, so tests can move time.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// The system clock.
pub fn system_clock() -> Clock {
    Arc::new(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64)
    })
}

/// What the relying party gets.
#[derive(Clone, Serialize, Deserialize)]
pub struct StoredResult {
    /// The verified claims.
    pub claims: CardFaceClaims,
    /// The pairwise card-link identifier for this relying party.
    pub card_link_id: String,
    /// The purpose of the session.
    pub purpose: String,
}

impl std::fmt::Debug for StoredResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StoredResult(REDACTED, {})", self.purpose)
    }
}

/// A session just created: the id and the browser's token (to become a cookie).
#[derive(Debug, Clone)]
pub struct CreatedSession {
    /// Session id.
    pub id: String,
    /// The browser token; the page URL carries it once, then it lives in a cookie.
    pub browser_token: String,
}

/// A handle just issued for a reading device.
#[derive(Debug, Clone)]
pub struct IssuedHandle {
    /// The one-time handle.
    pub handle: String,
    /// The short code shown on the PC page and, after redeeming, on the phone (pattern 2).
    pub pc_code: String,
    /// When it (and the challenge) expire.
    pub expires_at: i64,
}

/// What a reading device learns when it redeems a handle: everything it shows the person
/// before the PIN, and everything it needs to build the to-be-signed value.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RedeemAnswer {
    /// The relying party's origin (shown, and signed).
    pub origin: String,
    /// The service's name.
    pub service_name: Names,
    /// `link_card` or `verify_identity` (signed).
    pub purpose: String,
    /// The purpose in words.
    pub purpose_text: Names,
    /// The challenge, base64url (signed).
    pub challenge: String,
    /// The session binding value, base64url (signed).
    pub session_binding: String,
    /// Expiry, seconds since the epoch.
    pub expires_at: i64,
    /// Accepted credentials: `input_support` (4-digit PIN), `signature` (password).
    pub accepted_credentials: Vec<String>,
    /// The oldest reader app version accepted.
    pub min_reader_version: String,
    /// Bearer token for submitting evidence and status for this handle.
    pub submission_token: String,
    /// Where to POST the evidence.
    pub evidence_url: String,
    /// Where to POST status reports.
    pub status_url: String,
    /// `pc_reader`, `cross_device` or `same_device`.
    pub pattern: String,
    /// Pattern 2: the code the PC page shows; the phone shows it too, before the PIN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pc_code: Option<String>,
}

/// A text in both languages.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Names {
    /// Japanese.
    pub ja: String,
    /// English.
    pub en: String,
}

/// The session services.
pub struct Service {
    store: Arc<dyn Store>,
    verifier: Verifier,
    result_key: ResultKey,
    link_secret: Zeroizing<Vec<u8>>,
    config: Config,
    relying_parties: HashMap<String, RelyingPartyConfig>,
    events: EventHub,
    clock: Clock,
    /// Sessions this instance redeemed, for their evidence (see [`crate::redeemed`]).
    redeemed: crate::redeemed::Redeemed,
    /// The OpenID Connect provider (its tables and clients), set by [`crate::service()`].
    pub(crate) oidc: Option<Arc<crate::oidc::Backend>>,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Service({} relying parties)", self.relying_parties.len())
    }
}

/// Compares versions `a.b.c` numerically; anything unparsable is older.
pub fn version_at_least(have: &str, min: &str) -> bool {
    let parse = |v: &str| -> Option<Vec<u64>> { v.split('.').map(|p| p.parse().ok()).collect() };
    match (parse(have), parse(min)) {
        (Some(h), Some(m)) => h >= m,
        _ => false,
    }
}

impl Service {
    /// Assembles the service.
    pub fn new(
        config: Config,
        store: Arc<dyn Store>,
        verifier: Verifier,
        result_key: ResultKey,
        link_secret: Zeroizing<Vec<u8>>,
        events: EventHub,
        clock: Clock,
    ) -> Service {
        let relying_parties = config
            .relying_parties
            .iter()
            .map(|rp| (rp.id.clone(), rp.clone()))
            .collect();
        Service {
            store,
            verifier,
            result_key,
            link_secret,
            config,
            relying_parties,
            events,
            clock,
            redeemed: Default::default(),
            oidc: None,
        }
    }

    /// Now, seconds since the epoch.
    pub fn now(&self) -> i64 {
        (self.clock)()
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The event hub.
    pub fn events(&self) -> &EventHub {
        &self.events
    }

    /// A relying party by id.
    pub fn relying_party(&self, id: &str) -> Option<&RelyingPartyConfig> {
        self.relying_parties.get(id)
    }

    /// The relying party that owns `api_key` (constant-time comparison).
    pub fn relying_party_by_key(&self, api_key: &str) -> Option<&RelyingPartyConfig> {
        let h = hash(api_key);
        self.relying_parties.values().find(|rp| same(&hash(&rp.api_key), &h))
    }

    /// Creates a session for `relying_party`.
    pub async fn create_session(
        &self,
        relying_party: &str,
        purpose: Purpose,
        return_url: Option<String>,
    ) -> Result<CreatedSession, ApiError> {
        let rp = self.relying_party(relying_party).ok_or_else(ApiError::unauthorized)?;
        if let Some(url) = &return_url
            && !rp.return_urls.iter().any(|u| u == url)
        {
            return Err(ApiError::bad_request("return_url is not registered"));
        }
        let now = self.now();
        let id = token::<16>();
        let browser_token = token::<24>();
        self.store
            .create(&NewSession {
                id: id.clone(),
                relying_party: rp.id.clone(),
                purpose: purpose.as_str().into(),
                origin: rp.origin.clone(),
                binding: random::<16>().to_vec(),
                challenge: random::<32>().to_vec(),
                accepted: rp.accepted_routes.join(","),
                return_url,
                browser_hash: hash(&browser_token),
                // No reading device may redeem before the page issues a handle.
                handle_hash: hash(&token::<24>()),
                created_at: now,
                expires_at: now + self.config.session_ttl_secs as i64,
            })
            .await?;
        Ok(CreatedSession { id, browser_token })
    }

    /// The session as its browser sees it (the browser token must match).
    pub async fn browser_session(&self, id: &str, browser_token: &str) -> Result<SessionRow, ApiError> {
        let s = self.store.get(id).await?.ok_or_else(ApiError::not_found)?;
        if !same(&s.browser_hash, &hash(browser_token)) {
            return Err(ApiError::unauthorized());
        }
        Ok(s)
    }

    /// Issues a fresh handle (and challenge) for a waiting session; the previous handle
    /// stops working. The lifetime restarts, but never beyond 30 minutes from creation.
    pub async fn issue_handle(
        &self,
        id: &str,
        browser_token: &str,
        pattern: Pattern,
    ) -> Result<IssuedHandle, ApiError> {
        let s = self.browser_session(id, browser_token).await?;
        let now = self.now();
        if !matches!(s.state, State::Created | State::HandleRedeemed) {
            return Err(ApiError::finished());
        }
        let hard_limit = s.created_at + 1800;
        if now > hard_limit {
            return Err(ApiError::expired());
        }
        let expires_at = (now + self.config.session_ttl_secs as i64).min(hard_limit);
        let handle = token::<24>();
        let code = pc_code();
        let refreshed = self
            .store
            .refresh_handle(id, &hash(&handle), &random::<32>(), expires_at, pattern.as_str(), &code)
            .await?;
        if !refreshed {
            return Err(ApiError::finished());
        }
        self.events.publish(id, Event::Waiting);
        Ok(IssuedHandle {
            handle,
            pc_code: code,
            expires_at,
        })
    }

    /// Redeems a handle for a reading device.
    pub async fn redeem(&self, handle: &str, reader_version: Option<&str>) -> Result<RedeemAnswer, ApiError> {
        let min = &self.config.min_reader_version;
        if let Some(v) = reader_version
            && !version_at_least(v, min)
        {
            return Err(ApiError::reader_outdated(min));
        }
        let submission_token = token::<24>();
        let now = self.now();
        let s = match self.store.redeem(&hash(handle), &hash(&submission_token), now).await? {
            Redeem::Redeemed(s) => s,
            Redeem::AlreadyRedeemed(s) => {
                // A second device scanned the same code: the person must see it.
                self.events.publish(
                    &s.id,
                    Event::Reader {
                        status: "second_redeem".into(),
                        tries_left: None,
                    },
                );
                return Err(ApiError::handle_used());
            }
            Redeem::Expired(_) => return Err(ApiError::expired()),
            Redeem::Finished(_) => return Err(ApiError::finished()),
            Redeem::Unknown => return Err(ApiError::handle_unknown()),
        };
        self.redeemed.insert(hash(handle), s.clone(), now);
        self.events.publish(&s.id, Event::Reading);
        let rp = self.relying_party(&s.relying_party).ok_or_else(ApiError::not_found)?;
        let purpose = Purpose::parse(&s.purpose).unwrap_or(Purpose::VerifyIdentity);
        let base = self.config.public_origin();
        let challenge = s.challenge.as_deref().ok_or_else(ApiError::finished)?;
        Ok(RedeemAnswer {
            origin: s.origin.clone(),
            service_name: Names {
                ja: rp.name.clone(),
                en: rp.name_en.clone(),
            },
            purpose: s.purpose.clone(),
            purpose_text: Names {
                ja: purpose.ja().into(),
                en: purpose.en().into(),
            },
            challenge: URL_SAFE_NO_PAD.encode(challenge),
            session_binding: URL_SAFE_NO_PAD.encode(&s.binding),
            expires_at: s.expires_at,
            accepted_credentials: s.accepted.split(',').map(str::to_string).collect(),
            min_reader_version: min.clone(),
            submission_token,
            evidence_url: format!("{base}/api/v1/handles/{handle}/evidence"),
            status_url: format!("{base}/api/v1/handles/{handle}/status"),
            pattern: s.pattern.clone().unwrap_or_else(|| Pattern::PcReader.as_str().into()),
            pc_code: s
                .pc_code
                .clone()
                .filter(|_| s.pattern.as_deref() == Some(Pattern::CrossDevice.as_str())),
        })
    }

    /// The session of a redeemed handle as the database has it now, for the holder of its
    /// submission token.
    async fn redeemed_session(&self, handle: &str, submission_token: &str) -> Result<SessionRow, ApiError> {
        let s = self
            .store
            .by_handle(&hash(handle))
            .await?
            .ok_or_else(ApiError::handle_unknown)?;
        self.check_redeemed(s, submission_token)
    }

    /// The session of a handle this instance redeemed, as it was then, if it still passes
    /// the checks then; else as the database has it now.
    async fn redeemed_session_cached(&self, handle: &str, submission_token: &str) -> Result<SessionRow, ApiError> {
        match self.redeemed.get(&hash(handle)) {
            Some(s) => match self.check_redeemed(s, submission_token) {
                Ok(s) => Ok(s),
                Err(_) => self.redeemed_session(handle, submission_token).await,
            },
            None => self.redeemed_session(handle, submission_token).await,
        }
    }

    /// A redeemed session is for the holder of its submission token, until it expires.
    fn check_redeemed(&self, s: SessionRow, submission_token: &str) -> Result<SessionRow, ApiError> {
        let authorized = s
            .submission_hash
            .as_deref()
            .is_some_and(|h| same(h, &hash(submission_token)));
        if !authorized {
            return Err(ApiError::unauthorized());
        }
        if s.is_expired(self.now()) {
            return Err(ApiError::expired());
        }
        if s.state != State::HandleRedeemed {
            return Err(ApiError::finished());
        }
        Ok(s)
    }

    /// Verifies and stores evidence. The to-be-signed value is rebuilt from the stored
    /// session; the challenge is consumed atomically with storing the result.
    pub async fn submit_evidence(
        &self,
        handle: &str,
        submission_token: &str,
        body: &[u8],
    ) -> Result<Submitted, ApiError> {
        let s = self.redeemed_session_cached(handle, submission_token).await?;
        let now = self.now();
        let evidence = match Evidence::parse(body) {
            Ok(e) => e,
            Err(e) => {
                return Err(self
                    .refuse(handle, submission_token, &EvidenceError::Document(e), now)
                    .await);
            }
        };
        if !s.accepted.split(',').any(|r| r == evidence.route_name()) {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "route_not_accepted",
                "この手続きでは、その暗証番号での読み取りは使えません。",
                "This procedure does not accept that kind of PIN.",
            ));
        }
        let challenge: [u8; 32] = s
            .challenge
            .as_deref()
            .and_then(|c| c.try_into().ok())
            .ok_or_else(ApiError::finished)?;
        let binding = Binding {
            origin: &s.origin,
            challenge: &challenge,
            session: &s.binding,
            purpose: &s.purpose,
        };
        let face = match self.verifier.verify(&evidence, &binding, now.max(0) as u64) {
            Ok(f) => f,
            Err(e) => return Err(self.refuse(handle, submission_token, &e, now).await),
        };
        let result = StoredResult {
            claims: face.claims(),
            card_link_id: face.card_link_id(&self.link_secret, &s.relying_party),
            purpose: s.purpose.clone(),
        };
        let plaintext = Zeroizing::new(serde_json::to_vec(&result).map_err(|_| ApiError::unavailable())?);
        let sealed = self.result_key.seal(&s.id, &plaintext);
        let pattern = s
            .pattern
            .as_deref()
            .and_then(Pattern::parse)
            .unwrap_or(Pattern::PcReader);
        let mut submitted = Submitted {
            status: "verified".into(),
            confirmation_code: None,
            return_url: None,
        };
        let release = match pattern {
            Pattern::PcReader => Release::Now,
            Pattern::CrossDevice | Pattern::SameDevice => {
                let code = confirmation_code();
                let result_handle = (pattern == Pattern::SameDevice).then(token::<24>);
                let release = Release::OnConfirmation {
                    code_hash: code_hash(&s.id, &code),
                    expires_at: now + self.config.session_ttl_secs as i64,
                    result_handle_hash: result_handle.as_deref().map(hash),
                };
                submitted.confirmation_code = Some(code);
                submitted.return_url = result_handle.map(|h| format!("{}/return#{h}", self.config.public_origin()));
                release
            }
        };
        let submitted_by = hash(submission_token);
        let stored = self
            .store
            .complete_evidence(&s.id, &challenge, &submitted_by, &sealed, &release, now)
            .await?;
        self.redeemed.remove(&hash(handle));
        if !stored {
            // Another submission won, the person started over, or the session expired or was
            // cancelled in the meantime: the database says which.
            self.redeemed_session(handle, submission_token).await?;
            return Err(ApiError::finished());
        }
        tracing::info!(session = %s.id, route = evidence.route_name(), pattern = pattern.as_str(), "evidence verified");
        self.events.publish(
            &s.id,
            if matches!(release, Release::Now) {
                Event::Verified
            } else {
                Event::ConfirmNeeded
            },
        );
        Ok(submitted)
    }

    /// Pattern 2 (and 3 from another browser): the code the phone showed, typed on the
    /// page that started the session. Wrong codes are counted; at the limit the session
    /// fails and its result is deleted.
    pub async fn confirm(&self, id: &str, browser_token: &str, code: &str) -> Result<(), ApiError> {
        self.browser_session(id, browser_token).await?;
        let digits: String = code.chars().filter(char::is_ascii_digit).collect();
        if digits.len() != 6 || code.chars().any(|c| !(c.is_ascii_digit() || c == ' ' || c == '-')) {
            return Err(ApiError::wrong_code(None));
        }
        match self
            .store
            .confirm(id, &code_hash(id, &digits), MAX_CONFIRMATION_ATTEMPTS, self.now())
            .await?
        {
            Confirmation::Released => {
                self.events.publish(id, Event::Verified);
                Ok(())
            }
            Confirmation::Wrong { attempts_left } => Err(ApiError::wrong_code(Some(attempts_left))),
            Confirmation::Locked => {
                self.events.publish(
                    id,
                    Event::Failed {
                        code: "confirmation_failed".into(),
                    },
                );
                Err(ApiError::confirmation_locked())
            }
            Confirmation::NotPending => Err(ApiError::finished()),
        }
    }

    /// The session a pattern-3 result handle belongs to.
    pub async fn session_by_result_handle(&self, result_handle: &str) -> Result<SessionRow, ApiError> {
        self.store
            .by_result_handle(&hash(result_handle))
            .await?
            .ok_or_else(ApiError::handle_unknown)
    }

    /// Pattern 3: the app returned to the browser; only the browser that started the
    /// session (its cookie) gets the result released.
    pub async fn finish_same_device(&self, result_handle: &str, browser_token: &str) -> Result<String, ApiError> {
        let s = self.session_by_result_handle(result_handle).await?;
        if !same(&s.browser_hash, &hash(browser_token)) {
            return Err(ApiError::other_browser());
        }
        if !self.store.release(&s.id, self.now()).await? {
            return Err(ApiError::finished());
        }
        self.events.publish(&s.id, Event::Verified);
        Ok(s.id)
    }

    /// Refuses evidence that did not verify: the session fails, if the database still has
    /// it waiting for this device's evidence (the cached view may be stale).
    async fn refuse(&self, handle: &str, submission_token: &str, e: &EvidenceError, now: i64) -> ApiError {
        self.redeemed.remove(&hash(handle));
        let s = match self.redeemed_session(handle, submission_token).await {
            Ok(s) => s,
            Err(other) => return other,
        };
        let error = ApiError::evidence(e);
        // Log which check failed (no personal data is in the error).
        tracing::warn!(session = %s.id, check = %e, "evidence refused");
        match self.store.fail(&s.id, error.code, now).await {
            Ok(_) => self.events.publish(
                &s.id,
                Event::Failed {
                    code: error.code.into(),
                },
            ),
            Err(se) => return se.into(),
        }
        error
    }

    /// Records a status report of the reading device and tells the page.
    pub async fn reader_status(
        &self,
        handle: &str,
        submission_token: &str,
        status: &str,
        tries_left: Option<u8>,
    ) -> Result<(), ApiError> {
        const KNOWN: [&str; 9] = [
            "reading",
            "pin_wrong",
            "pin_blocked",
            "card_removed",
            "no_card",
            "not_my_number_card",
            "no_signature_certificate",
            "cancelled",
            "reader_error",
        ];
        let status = KNOWN
            .iter()
            .find(|k| **k == status)
            .ok_or_else(|| ApiError::bad_request("unknown status"))?;
        let s = self.redeemed_session(handle, submission_token).await?;
        self.store.set_reader_status(&s.id, status).await?;
        self.events.publish(
            &s.id,
            Event::Reader {
                status: (*status).into(),
                tries_left,
            },
        );
        Ok(())
    }

    /// The event that describes a session now (for a page that just connected).
    pub fn current_event(&self, s: &SessionRow) -> Event {
        if s.is_expired(self.now()) {
            return Event::Expired;
        }
        match s.state {
            State::Created => Event::Waiting,
            State::HandleRedeemed => Event::Reading,
            State::EvidenceVerified if !s.released => Event::ConfirmNeeded,
            State::EvidenceVerified | State::Completed => Event::Verified,
            State::Failed => Event::Failed {
                code: s.error_code.clone().unwrap_or_default(),
            },
        }
    }

    /// Gives the relying party its result, once.
    pub async fn take_result(&self, relying_party: &str, id: &str) -> Result<StoredResult, ApiError> {
        let s = self.store.get(id).await?.ok_or_else(ApiError::not_found)?;
        if s.relying_party != relying_party {
            return Err(ApiError::not_found());
        }
        match s.state {
            State::EvidenceVerified if s.released => {}
            State::EvidenceVerified => {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "result_not_ready",
                    "本人の確認（確認コードの入力）がまだ終わっていません。",
                    "The person has not confirmed yet (confirmation code).",
                ));
            }
            State::Completed => return Err(ApiError::finished()),
            State::Failed => {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "session_failed",
                    "この手続きは失敗しました。",
                    "This procedure failed.",
                ));
            }
            _ if s.is_expired(self.now()) => return Err(ApiError::expired()),
            _ => {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "result_not_ready",
                    "まだ読み取りが終わっていません。",
                    "The card has not been read yet.",
                ));
            }
        }
        let sealed = self
            .store
            .take_result(id, self.now())
            .await?
            .ok_or_else(ApiError::finished)?;
        let plain = self.result_key.open(id, &sealed).ok_or_else(ApiError::unavailable)?;
        serde_json::from_slice(&plain).map_err(|_| ApiError::unavailable())
    }

    /// Deletes the sessions that ended (or ran out of time) more than `retention_secs` ago,
    /// with their results, and the expired OpenID Connect rows; answers how many sessions.
    pub async fn purge(&self) -> Result<u64, ApiError> {
        let before = self
            .now()
            .saturating_sub(i64::try_from(self.config.retention_secs).unwrap_or(i64::MAX));
        let n = self.store.purge(before).await?;
        if let Some(oidc) = &self.oidc {
            oidc.purge(self.now()).await?;
        }
        Ok(n)
    }

    /// A session by id, for pages and tests.
    pub async fn session(&self, id: &str) -> Result<Option<SessionRow>, ApiError> {
        Ok(self.store.get(id).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert!(version_at_least("0.1.0", "0.1.0"));
        assert!(version_at_least("0.10.0", "0.9.3"));
        assert!(!version_at_least("0.0.9", "0.1.0"));
        assert!(!version_at_least("x", "0.1.0"));
    }
}
