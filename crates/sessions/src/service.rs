//! The verification sessions: what the HTTP handlers call. All state lives in the store;
//! browsers and reading devices carry only opaque tokens whose hashes the store keeps.
//! Answers are domain values and [`SessionError`]s; the server turns them into HTTP.

use std::collections::HashMap;
use std::sync::Arc;

use mynaid_evidence::{CardFaceClaims, EvidenceError, Verifier};
use mynaid_protocol::api::{RedeemAnswer, Submitted};
use mynaid_protocol::{Binding, Device, Evidence, Pattern, PinName, Purpose, ReaderStatus, Route, Text};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::config::{RelyingParty, Settings};
use crate::error::{Failure, SessionError};
use crate::events::{Event, EventHub};
use crate::links::{CertificateRef, LinkStore};
use crate::redeemed::Redeemed;
use crate::secrets::{SealingKey, hash, random, same, token};
use crate::store::{NewSession, Redeem, Release, SessionRow, SessionStore, State};

/// The longest life of a session, in seconds from its creation: neither a new handle ("read
/// again") nor an extension goes beyond it (the session's cookie lives as long). An hour:
/// room for the ten extensions WCAG 2.2.1 asks for with the default 5-minute lifetime
/// (5 + 10 × 5 = 55 minutes), while a relayed or forgotten session still ends within the hour.
pub const MAX_LIFETIME_SECS: i64 = 3600;

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
pub(crate) fn code_hash(session: &str, code: &str) -> Vec<u8> {
    hash(&format!("{session}:{code}"))
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

/// What the relying party gets, once: the verified claims, the pairwise card-link
/// identifier and the session's purpose. Stored sealed until taken.
#[derive(Clone, Serialize, Deserialize)]
pub struct VerifiedResult {
    /// The verified claims.
    pub claims: CardFaceClaims,
    /// The pairwise card-link identifier for this relying party.
    pub card_link_id: String,
    /// Why the card was read.
    pub purpose: Purpose,
}

/// What a session's row holds sealed: the result and, for a card being linked, the
/// certificate a status re-check needs (never handed out: the serial is the same at every
/// application and would undo the pairwise identifier).
#[derive(Serialize, Deserialize)]
pub(crate) struct SealedResult {
    #[serde(flatten)]
    pub(crate) result: VerifiedResult,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) certificate: Option<CertificateRef>,
}

impl std::fmt::Debug for VerifiedResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "VerifiedResult(REDACTED, {})", self.purpose)
    }
}

/// A session just created for a relying party's start link: the id and the link's token,
/// which works once (the first browser to open it becomes the session's).
#[derive(Debug, Clone)]
pub struct CreatedSession {
    /// Session id.
    pub id: String,
    /// The start link's one-time token.
    pub start_token: String,
}

/// A session just created in the browser that asked (the provider's consent): the id and
/// the browser's token, which goes straight into that browser's cookie.
#[derive(Debug, Clone)]
pub struct BrowserSession {
    /// Session id.
    pub id: String,
    /// The browser token (the cookie's value).
    pub browser_token: String,
}

/// What opening a start link did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Started {
    /// This browser became the session's: its cookie's value.
    Now(String),
    /// This browser already is the session's (a reload, the back button).
    AlreadyHere,
}

/// How the browser that started a session is present when its result is taken: the
/// result never goes to a request that has neither.
#[derive(Debug, Clone, Copy)]
pub enum Presence<'a> {
    /// The session's cookie: the provider's callback runs in that browser.
    Cookie(&'a str),
    /// The code that browser carried back to the relying party (the `code` of the return
    /// address, see [`Service::return_code`]).
    ReturnCode(&'a str),
}

/// The code the session's browser carries back to the relying party: derived from its
/// cookie, so only that browser can show it; stored hashed.
fn derive_return_code(id: &str, browser_token: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(crate::secrets::sha256(
        format!("mynaid-return:{id}:{browser_token}").as_bytes(),
    ))
}

/// The handle of a browser's current challenge: derived from the browser's token (which only
/// that browser holds, in its cookie) and the challenge issued with it, so that the page can
/// show the same handle again to that browser (a reload, the back button, the language
/// switch) and to no other. Stored hashed, like every handle; as long and as unguessable as a
/// random one, and it says nothing about the browser's token.
fn derive_handle(id: &str, browser_token: &str, challenge: &[u8]) -> String {
    use base64::Engine;
    let mut input = format!("mynaid-handle:{id}:{browser_token}:").into_bytes();
    input.extend_from_slice(challenge);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&crate::secrets::sha256(&input)[..24])
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

/// How a new session's browser is chosen.
enum Entry<'a> {
    /// The first browser to open the start link with this token.
    StartLink(&'a str),
    /// The asking browser, holding this token in its cookie.
    Browser(&'a str),
}

/// The session services.
pub struct Service {
    pub(crate) store: SessionStore,
    pub(crate) verifier: Verifier,
    pub(crate) result_key: SealingKey,
    link_secret: Zeroizing<Vec<u8>>,
    settings: Settings,
    relying_parties: HashMap<String, RelyingParty>,
    pub(crate) events: EventHub,
    clock: Clock,
    /// Sessions this instance redeemed, for their evidence (see [`crate::redeemed`]).
    redeemed: Redeemed,
    /// Linked cards and the events about them.
    pub(crate) links: LinkStore,
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

/// What [`Service::new`] is made of.
pub struct Parts {
    /// The settings.
    pub settings: Settings,
    /// The applications allowed to ask (the OpenID Connect clients among them).
    pub relying_parties: Vec<RelyingParty>,
    /// The sessions table.
    pub store: SessionStore,
    /// The evidence verifier.
    pub verifier: Verifier,
    /// Seals the stored results.
    pub result_key: SealingKey,
    /// The secret of the pairwise card-link identifiers.
    pub link_secret: Zeroizing<Vec<u8>>,
    /// Where the pages hear what happens.
    pub events: EventHub,
    /// Now.
    pub clock: Clock,
}

impl Service {
    /// Assembles the service.
    pub fn new(parts: Parts) -> Service {
        let relying_parties = parts
            .relying_parties
            .into_iter()
            .map(|rp| (rp.id.clone(), rp))
            .collect();
        Service {
            links: LinkStore::new(parts.store.db().clone()),
            store: parts.store,
            verifier: parts.verifier,
            result_key: parts.result_key,
            link_secret: parts.link_secret,
            settings: parts.settings,
            relying_parties,
            events: parts.events,
            clock: parts.clock,
            redeemed: Redeemed::default(),
        }
    }

    /// The evidence verifier (read only: the readiness check looks at its CRLs).
    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }

    /// The sessions' database (the readiness check asks it `SELECT 1`).
    pub fn db(&self) -> &mynaid_db::Db {
        self.store.db()
    }

    /// Now, seconds since the epoch.
    pub fn now(&self) -> i64 {
        (self.clock)()
    }

    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The event hub.
    pub fn events(&self) -> &EventHub {
        &self.events
    }

    /// A relying party by id.
    pub fn relying_party(&self, id: &str) -> Option<&RelyingParty> {
        self.relying_parties.get(id)
    }

    /// The relying party that owns `api_key` (constant-time comparison).
    pub fn relying_party_by_key(&self, api_key: &str) -> Option<&RelyingParty> {
        let h = hash(api_key);
        self.relying_parties.values().find(|rp| same(&hash(&rp.api_key), &h))
    }

    /// Creates a session for `relying_party`, to be opened through a start link.
    pub async fn create_session(
        &self,
        relying_party: &str,
        purpose: Purpose,
        return_url: Option<String>,
    ) -> Result<CreatedSession, SessionError> {
        let start_token = token::<24>();
        let id = self
            .insert_session(relying_party, purpose, return_url, None, Entry::StartLink(&start_token))
            .await?;
        Ok(CreatedSession { id, start_token })
    }

    /// Creates a session for `relying_party` that belongs to the asking browser from the
    /// start (the provider sets the cookie in its answer to the consent). `only`: the routes
    /// the request's assurance allows (`acr_values`), among those the party accepts.
    pub async fn create_session_in_browser(
        &self,
        relying_party: &str,
        purpose: Purpose,
        return_url: Option<String>,
        only: Option<&[Route]>,
    ) -> Result<BrowserSession, SessionError> {
        let browser_token = token::<24>();
        let id = self
            .insert_session(relying_party, purpose, return_url, only, Entry::Browser(&browser_token))
            .await?;
        Ok(BrowserSession { id, browser_token })
    }

    async fn insert_session(
        &self,
        relying_party: &str,
        purpose: Purpose,
        return_url: Option<String>,
        only: Option<&[Route]>,
        entry: Entry<'_>,
    ) -> Result<String, SessionError> {
        let rp = self.relying_party(relying_party).ok_or(SessionError::Unauthorized)?;
        let mut accepted = rp.routes_for(purpose);
        if let Some(only) = only {
            accepted.retain(|r| only.contains(r));
        }
        if accepted.is_empty() {
            return Err(SessionError::BadRequest(
                "no accepted route gives the requested assurance",
            ));
        }
        if let Some(url) = &return_url
            && !rp.return_urls.iter().any(|u| u == url)
        {
            return Err(SessionError::BadRequest("return_url is not registered"));
        }
        // The result goes back only through the browser (the code on the way back), so there
        // must be a way back: the first registered one unless the request names another.
        let return_url = return_url.or_else(|| rp.return_urls.first().cloned());
        if return_url.is_none() {
            return Err(SessionError::BadRequest("return_url: none is registered"));
        }
        let now = self.now();
        let id = token::<16>();
        let (browser_hash, start_hash, return_hash) = match entry {
            Entry::Browser(t) => (hash(t), None, Some(hash(&derive_return_code(&id, t)))),
            // Nobody holds the browser token until the start link is opened.
            Entry::StartLink(t) => (hash(&token::<24>()), Some(hash(t)), None),
        };
        self.store
            .create(&NewSession {
                id: id.clone(),
                relying_party: rp.id.clone(),
                purpose,
                origin: rp.origin.clone(),
                binding: random::<16>().to_vec(),
                challenge: random::<32>().to_vec(),
                accepted,
                return_url,
                browser_hash,
                start_hash,
                return_hash,
                // No reading device may redeem before the page issues a handle.
                handle_hash: hash(&token::<24>()),
                created_at: now,
                expires_at: now + self.settings.session_ttl_secs as i64,
            })
            .await?;
        Ok(id)
    }

    /// Opens a start link in a browser (`cookie`: the session's cookie it already holds).
    /// The first browser becomes the session's; any other is refused, for good: a link
    /// forwarded to somebody else cannot hand them, or take from them, the session.
    pub async fn start(&self, id: &str, start_token: &str, cookie: Option<&str>) -> Result<Started, SessionError> {
        if let Some(c) = cookie
            && self.browser_session(id, c).await.is_ok()
        {
            return Ok(Started::AlreadyHere);
        }
        let browser_token = token::<24>();
        let return_hash = hash(&derive_return_code(id, &browser_token));
        if self
            .store
            .start(id, &hash(start_token), &hash(&browser_token), &return_hash)
            .await?
        {
            return Ok(Started::Now(browser_token));
        }
        match self.store.get(id).await? {
            None => Err(SessionError::NotFound),
            // Not opened yet: this is not its token.
            Some(s) if s.start_hash.is_some() => Err(SessionError::Unauthorized),
            Some(_) => {
                tracing::warn!(session = %id, "start link opened again in another browser: refused");
                Err(SessionError::StartLinkUsed)
            }
        }
    }

    /// The code the session's browser (its cookie, `browser_token`) carries back to the
    /// relying party with the session id.
    pub fn return_code(&self, id: &str, browser_token: &str) -> String {
        derive_return_code(id, browser_token)
    }

    /// The session as its browser sees it (the browser token must match).
    pub async fn browser_session(&self, id: &str, browser_token: &str) -> Result<SessionRow, SessionError> {
        let s = self.store.get(id).await?.ok_or(SessionError::NotFound)?;
        if !same(&s.browser_hash, &hash(browser_token)) {
            return Err(SessionError::OtherBrowser);
        }
        Ok(s)
    }

    /// Issues a fresh handle (and challenge) for a waiting session; the previous handle
    /// stops working. The lifetime restarts, but never beyond [`MAX_LIFETIME_SECS`] from
    /// creation. A session that failed for a reason that allows another attempt
    /// ([`Failure::allows_another_attempt`]) is opened again for it.
    pub async fn issue_handle(
        &self,
        id: &str,
        browser_token: &str,
        pattern: Pattern,
    ) -> Result<IssuedHandle, SessionError> {
        let s = self.browser_session(id, browser_token).await?;
        let now = self.now();
        let hard_limit = s.created_at + MAX_LIFETIME_SECS;
        let retry = s
            .failure
            .filter(|f| s.state == State::Failed && f.allows_another_attempt(&s.accepted));
        if !matches!(s.state, State::Created | State::HandleRedeemed) && retry.is_none() {
            return Err(SessionError::Finished);
        }
        if now > hard_limit {
            return Err(SessionError::Expired);
        }
        if let Some(failure) = retry {
            if !self.store.reopen(id, failure, &hash(&token::<24>())).await? {
                return Err(SessionError::Finished);
            }
            tracing::info!(session = %id, failure = %failure, "failed session opened for another attempt");
        }
        let expires_at = (now + self.settings.session_ttl_secs as i64).min(hard_limit);
        let challenge = random::<32>();
        let handle = derive_handle(id, browser_token, &challenge);
        let code = pc_code();
        let refreshed = self
            .store
            .refresh_handle(id, &hash(&handle), &challenge, expires_at, pattern, &code)
            .await?;
        if !refreshed {
            return Err(SessionError::Finished);
        }
        self.events.publish(id, Event::Waiting);
        Ok(IssuedHandle {
            handle,
            pc_code: code,
            expires_at,
        })
    }

    /// The handle the page of a waiting session shows its browser (`browser_token`) again: the
    /// current one, while no reading device has redeemed it. `None` when there is none to show:
    /// none issued yet, redeemed (offered again, a second redeem would end the session), the
    /// session moved on or ran out of time.
    pub fn current_handle(&self, s: &SessionRow, browser_token: &str) -> Option<IssuedHandle> {
        if s.state != State::Created || s.is_expired(self.now()) || !same(&s.browser_hash, &hash(browser_token)) {
            return None;
        }
        let handle = derive_handle(&s.id, browser_token, s.challenge.as_deref()?);
        same(s.handle_hash.as_deref()?, &hash(&handle)).then(|| IssuedHandle {
            handle,
            pc_code: s.pc_code.clone().unwrap_or_default(),
            expires_at: s.expires_at,
        })
    }

    /// Whether a new reading can start in this session ([`Service::issue_handle`]): it waits
    /// for or reads the card (even out of time), or failed for a reason that allows another
    /// attempt, and it is not past its longest life.
    pub fn may_read_again(&self, s: &SessionRow) -> bool {
        self.now() <= s.created_at + MAX_LIFETIME_SECS
            && match s.state {
                State::Created | State::HandleRedeemed => true,
                State::Failed => s.failure.is_some_and(|f| f.allows_another_attempt(&s.accepted)),
                State::EvidenceVerified | State::Completed => false,
            }
    }

    /// Redeems a handle for a reading device (of the kind `device`, when it says).
    pub async fn redeem(
        &self,
        handle: &str,
        reader_version: Option<&str>,
        device: Option<Device>,
    ) -> Result<RedeemAnswer, SessionError> {
        let min = &self.settings.min_reader_version;
        if let Some(v) = reader_version
            && !version_at_least(v, min)
        {
            return Err(SessionError::ReaderOutdated { min: min.clone() });
        }
        let submission_token = token::<24>();
        let now = self.now();
        let (handle_hash, submission_hash) = (hash(handle), hash(&submission_token));
        let redeemed = self.store.redeem(&handle_hash, &submission_hash, device, now);
        let s = match mynaid_db::timed("redeem", redeemed).await? {
            Redeem::Redeemed(s) => s,
            Redeem::AlreadyRedeemed(s) => {
                // A second device has the link or the QR code: somebody else may be reading
                // along (a relayed QR code). End the session before a result can go anywhere;
                // the page says why.
                tracing::warn!(session = %s.id, "reading link redeemed twice: session ended");
                if self.store.fail_redeemed_twice(&s.id, now).await? {
                    self.redeemed.remove(&hash(handle));
                    self.events.publish(
                        &s.id,
                        Event::Failed {
                            code: Failure::RedeemedTwice,
                        },
                    );
                }
                return Err(SessionError::HandleUsed);
            }
            Redeem::WrongDevice(s) => {
                tracing::warn!(session = %s.id, "reading link opened on another kind of device: refused");
                return Err(SessionError::WrongDevice);
            }
            Redeem::Expired(_) => return Err(SessionError::Expired),
            Redeem::Finished(_) => return Err(SessionError::Finished),
            Redeem::Unknown => return Err(SessionError::HandleUnknown),
        };
        self.redeemed.insert(hash(handle), s.clone(), now);
        self.events.publish(&s.id, Event::Reading);
        let rp = self.relying_party(&s.relying_party).ok_or(SessionError::NotFound)?;
        let base = &self.settings.public_origin;
        let challenge: [u8; 32] = s
            .challenge
            .as_deref()
            .and_then(|c| c.try_into().ok())
            .ok_or(SessionError::Finished)?;
        let pattern = s.pattern.unwrap_or(Pattern::PcReader);
        Ok(RedeemAnswer {
            origin: s.origin.clone(),
            service_name: Text::new(&rp.name, &rp.name_en),
            purpose: s.purpose,
            purpose_text: s.purpose.text(),
            challenge,
            session_binding: s.binding.clone(),
            expires_at: s.expires_at,
            accepted_credentials: s.accepted.clone(),
            min_reader_version: min.clone(),
            submission_token,
            evidence_url: format!("{base}/api/v1/handles/{handle}/evidence"),
            status_url: format!("{base}/api/v1/handles/{handle}/status"),
            pattern,
            pc_code: s.pc_code.clone().filter(|_| pattern == Pattern::CrossDevice),
        })
    }

    /// The session of a redeemed handle as the database has it now, for the holder of its
    /// submission token.
    async fn redeemed_session(&self, handle: &str, submission_token: &str) -> Result<SessionRow, SessionError> {
        let s = mynaid_db::timed("by_handle", self.store.by_handle(&hash(handle)))
            .await?
            .ok_or(SessionError::HandleUnknown)?;
        self.check_redeemed(s, submission_token)
    }

    /// The session of a handle this instance redeemed, as it was then, if it still passes
    /// the checks then; else as the database has it now.
    async fn redeemed_session_cached(&self, handle: &str, submission_token: &str) -> Result<SessionRow, SessionError> {
        match self.redeemed.get(&hash(handle)) {
            Some(s) => match self.check_redeemed(s, submission_token) {
                Ok(s) => Ok(s),
                Err(_) => self.redeemed_session(handle, submission_token).await,
            },
            None => self.redeemed_session(handle, submission_token).await,
        }
    }

    /// A redeemed session is for the holder of its submission token, until it expires.
    fn check_redeemed(&self, s: SessionRow, submission_token: &str) -> Result<SessionRow, SessionError> {
        let authorized = s
            .submission_hash
            .as_deref()
            .is_some_and(|h| same(h, &hash(submission_token)));
        if !authorized {
            return Err(SessionError::Unauthorized);
        }
        if s.is_expired(self.now()) {
            return Err(SessionError::Expired);
        }
        if s.state != State::HandleRedeemed {
            return Err(SessionError::Finished);
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
    ) -> Result<Submitted, SessionError> {
        let s = self.redeemed_session_cached(handle, submission_token).await?;
        let now = self.now();
        let evidence = match Evidence::parse(body) {
            Ok(e) => e,
            Err(e) => {
                let e = EvidenceError::Document(e);
                metrics::counter!("mynaid_verifications_total", "route" => "unknown", "outcome" => Failure::of(&e, None).as_str()).increment(1);
                return Err(self.refuse(handle, submission_token, &e, None, now).await);
            }
        };
        if !s.accepted.contains(&evidence.route()) {
            return Err(SessionError::RouteNotAccepted);
        }
        let challenge: [u8; 32] = s
            .challenge
            .as_deref()
            .and_then(|c| c.try_into().ok())
            .ok_or(SessionError::Finished)?;
        let binding = Binding {
            origin: &s.origin,
            challenge: &challenge,
            session: &s.binding,
            purpose: s.purpose,
        };
        let face = match self.verifier.verify(&evidence, &binding, now.max(0) as u64) {
            Ok(f) => f,
            Err(e) => {
                metrics::counter!("mynaid_verifications_total", "route" => evidence.route().as_str(), "outcome" => Failure::of(&e, Some(evidence.route())).as_str()).increment(1);
                return Err(self
                    .refuse(handle, submission_token, &e, Some(evidence.route()), now)
                    .await);
            }
        };
        let keeps_status = s.purpose == Purpose::LinkCard
            && self
                .relying_parties
                .get(&s.relying_party)
                .is_some_and(|rp| rp.link_status);
        let v = face.verification();
        let result = SealedResult {
            result: VerifiedResult {
                claims: face.claims(),
                card_link_id: face.card_link_id(&self.link_secret, &s.relying_party),
                purpose: s.purpose,
            },
            certificate: v
                .certificate_serial
                .clone()
                .filter(|_| keeps_status)
                .map(|serial| CertificateRef {
                    issuer: v.issuer.clone(),
                    serial,
                }),
        };
        let plaintext = Zeroizing::new(serde_json::to_vec(&result).map_err(|_| SessionError::Unavailable)?);
        let sealed = self.result_key.seal(&s.id, &plaintext);
        let pattern = s.pattern.unwrap_or(Pattern::PcReader);
        // No pattern releases a result without the browser that started taking part after
        // the card was read: the reading device may be somebody else's (a forwarded link, a
        // relayed QR code). On the same device (patterns 1 and 3) the app sends the person
        // back to the default browser with a result handle; the code is the fallback there,
        // and the way for pattern 2.
        let code = confirmation_code();
        let result_handle = matches!(pattern, Pattern::PcReader | Pattern::SameDevice).then(token::<24>);
        let release = Release {
            code_hash: code_hash(&s.id, &code),
            expires_at: now + self.settings.session_ttl_secs as i64,
            result_handle_hash: result_handle.as_deref().map(hash),
        };
        let submitted = Submitted {
            confirmation_code: Some(code),
            return_url: result_handle.map(|h| format!("{}/return#{h}", self.settings.public_origin)),
        };
        let submitted_by = hash(submission_token);
        let completing = self
            .store
            .complete_evidence(&s.id, &challenge, &submitted_by, &sealed, &release, now);
        let stored = mynaid_db::timed("complete_evidence", completing).await?;
        self.redeemed.remove(&hash(handle));
        if !stored {
            // Another submission won, the person started over, or the session expired or was
            // cancelled in the meantime: the database says which.
            self.redeemed_session(handle, submission_token).await?;
            return Err(SessionError::Finished);
        }
        tracing::info!(session = %s.id, route = %evidence.route(), pattern = %pattern, "evidence verified");
        metrics::counter!("mynaid_verifications_total", "route" => evidence.route().as_str(), "outcome" => "verified")
            .increment(1);
        self.events.publish(
            &s.id,
            Event::ConfirmNeeded {
                expires_at: Some(release.expires_at),
            },
        );
        Ok(submitted)
    }

    /// Refuses evidence that did not verify: the session fails, if the database still has
    /// it waiting for this device's evidence (the cached view may be stale).
    async fn refuse(
        &self,
        handle: &str,
        submission_token: &str,
        e: &EvidenceError,
        route: Option<Route>,
        now: i64,
    ) -> SessionError {
        self.redeemed.remove(&hash(handle));
        let s = match self.redeemed_session(handle, submission_token).await {
            Ok(s) => s,
            Err(other) => return other,
        };
        let failure = Failure::of(e, route);
        // Log which check failed (no personal data is in the error).
        tracing::warn!(session = %s.id, check = %e, "evidence refused");
        match self.store.fail(&s.id, failure, now).await {
            Ok(_) => self.events.publish(&s.id, Event::Failed { code: failure }),
            Err(se) => return se.into(),
        }
        SessionError::Refused(failure)
    }

    /// Records a status report of the reading device and tells the page.
    pub async fn reader_status(
        &self,
        handle: &str,
        submission_token: &str,
        status: ReaderStatus,
        tries_left: Option<u8>,
        pin: Option<PinName>,
    ) -> Result<(), SessionError> {
        let s = self.redeemed_session(handle, submission_token).await?;
        self.store.set_reader_status(&s.id, status).await?;
        self.events.publish(
            &s.id,
            Event::Reader {
                status,
                tries_left,
                pin,
            },
        );
        Ok(())
    }

    /// The event that describes a session now (for a page that just connected).
    pub fn current_event(&self, s: &SessionRow) -> Event {
        if s.time_is_up(self.now()) {
            return Event::Expired;
        }
        match s.state {
            State::Created => Event::Waiting,
            // What the reading device said last (a wrong PIN, a card without a signature
            // certificate…): a page opened again shows it rather than "reading".
            State::HandleRedeemed => match s.reader_status {
                Some(status) if status != ReaderStatus::Reading => Event::Reader {
                    status,
                    tries_left: None,
                    pin: None,
                },
                _ => Event::Reading,
            },
            State::EvidenceVerified if !s.released => Event::ConfirmNeeded {
                expires_at: s.confirm_expires_at,
            },
            State::EvidenceVerified | State::Completed => Event::Verified,
            State::Failed => Event::Failed {
                code: s.failure.unwrap_or(Failure::CardNotTrusted),
            },
        }
    }

    /// Deletes the sessions that ended (or ran out of time) more than `retention_secs` ago,
    /// with their results; answers how many.
    pub async fn purge(&self) -> Result<u64, SessionError> {
        let before = self
            .now()
            .saturating_sub(i64::try_from(self.settings.retention_secs).unwrap_or(i64::MAX));
        Ok(self.store.purge(before).await?)
    }

    /// A session by id, for pages and tests.
    pub async fn session(&self, id: &str) -> Result<Option<SessionRow>, SessionError> {
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
