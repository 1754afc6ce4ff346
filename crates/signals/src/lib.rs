//! Events to the applications: when the certificate of a card an application linked is
//! revoked (a move, a new name, a lost or renewed card), the application hears it, as a
//! Security Event Token (RFC 8417) signed with the OpenID Connect provider's keys, so that it
//! can ask the person to verify again.
//!
//! * **Streams** — the OpenID Shared Signals Framework 1.0: the transmitter's metadata at
//!   `/.well-known/ssf-configuration`; a client creates, reads, updates and deletes its one
//!   stream at `/ssf/stream`, asks for a verification event at `/ssf/verify`, and ends a link
//!   at `/ssf/subjects/remove` (the person unlinks at the application). Every call carries
//!   an access token of scope `ssf` from the client-credentials grant (`mynaid-oidc`).
//! * **Events** — CAEP's credential change (`credential_type` `x509`, `change_type`
//!   `revoke`, the RFC 5280 reason), `sub_id` the pairwise identifier the client knows as
//!   `sub` (`iss_sub` format). Where they come from: `mynaid_sessions::links` (the re-check
//!   after each fresh CRL, and its outbox).
//! * **Delivery** — push (RFC 8935) by [`Signals::deliver_due`], which [`Signals::run`]
//!   calls every `push_interval_secs` and when woken: at least once (a row leaves the
//!   outbox only on the receiver's 2xx, or its 400, which says the SET will never be
//!   taken), retried with exponential backoff across restarts, one instance per event at a
//!   time (leases); or poll (RFC 8936) at `/ssf/poll/{stream_id}`, acknowledged by `jti`.
//!   A receiver drops duplicates by `jti` (a push answered after the lease ran out can come
//!   twice).

mod stream;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use mynaid_db::{Db, StoreError};
use mynaid_oidc::Provider;
use mynaid_sessions::Service;
use mynaid_sessions::links::{RevocationDetail, SignalEvent, SignalKind};
use mynaid_sessions::secrets::token;
use serde::Deserialize;
use serde_json::{Value, json};

pub use stream::{ConfigError, Method as DeliveryMethod, Requested, Stream, StreamStore};

/// CAEP's credential-change event type.
pub const CREDENTIAL_CHANGE: &str = "https://schemas.openid.net/secevent/caep/event-type/credential-change";
/// The Shared Signals Framework's verification event type.
pub const VERIFICATION: &str = "https://schemas.openid.net/secevent/ssf/event-type/verification";
/// Push delivery (RFC 8935).
pub const PUSH: &str = "urn:ietf:rfc:8935";
/// Poll delivery (RFC 8936).
pub const POLL: &str = "urn:ietf:rfc:8936";

/// `[signals]` of the server's configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SignalsConfig {
    /// How often due events are pushed, in seconds (also after every re-check that raised
    /// one).
    pub push_interval_secs: u64,
    /// The first retry of a failed push waits this long, in seconds; each next one twice as
    /// long.
    pub retry_base_secs: u64,
    /// The longest wait between retries, in seconds.
    pub retry_max_secs: u64,
    /// How long one instance holds an event it is pushing, in seconds: if it dies, another
    /// takes the event after this.
    pub lease_secs: u64,
    /// How long a poll without `returnImmediately` waits for an event, in seconds.
    pub poll_wait_secs: u64,
    /// How long an event nobody takes (a client without a stream) is kept, in seconds.
    pub event_retention_secs: u64,
}

impl Default for SignalsConfig {
    fn default() -> Self {
        SignalsConfig {
            push_interval_secs: 10,
            retry_base_secs: 30,
            retry_max_secs: 3600,
            lease_secs: 60,
            poll_wait_secs: 10,
            event_retention_secs: 30 * 86_400,
        }
    }
}

/// What one round of [`Signals::deliver_due`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Delivered {
    /// Events the receivers accepted.
    pub accepted: usize,
    /// Events a receiver refused for good (400), or of a type the stream does not take.
    pub dropped: usize,
    /// Events to try again later.
    pub retrying: usize,
}

/// The transmitter: the provider (tokens, signing keys), the session core (links, outbox),
/// the streams.
pub struct Signals {
    provider: Arc<Provider>,
    sessions: Arc<Service>,
    streams: StreamStore,
    http: reqwest::Client,
    config: SignalsConfig,
    wake: tokio::sync::Notify,
}

impl std::fmt::Debug for Signals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Signals({:?})", self.config)
    }
}

impl Signals {
    /// The transmitter of `provider`, its events from `sessions`, its streams in `db`.
    pub fn new(provider: Arc<Provider>, sessions: Arc<Service>, db: Db, config: SignalsConfig) -> Signals {
        let http = reqwest::Client::builder()
            // A receiver's endpoint is registered exactly; a redirect would send the event
            // (and its authorization header) somewhere else.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(15))
            .build()
            .unwrap_or_default();
        Signals {
            provider,
            sessions,
            streams: StreamStore::new(db),
            http,
            config,
            wake: tokio::sync::Notify::new(),
        }
    }

    /// Whether push endpoints may be http on this machine: only for a server not itself on
    /// https (the demo, tests).
    fn local_http(&self) -> bool {
        !self.provider.issuer().starts_with("https://")
    }

    /// The streams.
    pub fn streams(&self) -> &StreamStore {
        &self.streams
    }

    /// Pushes soon (events were queued).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Pushes what is due, for ever: every `push_interval_secs`, and when woken.
    pub async fn run(self: Arc<Self>) {
        let every = Duration::from_secs(self.config.push_interval_secs.max(1));
        loop {
            match self.deliver_due().await {
                Ok(d) if d != Delivered::default() => tracing::debug!(?d, "events pushed"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "pushing events failed; trying again later"),
            }
            let _ = tokio::time::timeout(every, self.wake.notified()).await;
        }
    }

    /// Deletes the events nobody took within `event_retention_secs`.
    pub async fn purge(&self) -> Result<u64, StoreError> {
        let before = self
            .sessions
            .now()
            .saturating_sub(i64::try_from(self.config.event_retention_secs).unwrap_or(i64::MAX));
        self.sessions.links().purge_events(before).await
    }

    /// One round of push delivery: takes the due events of the push streams (leased to this
    /// instance), sends each, and records what the receiver said.
    pub async fn deliver_due(&self) -> Result<Delivered, StoreError> {
        let streams = self.streams.push_streams().await?;
        let mut done = Delivered::default();
        if streams.is_empty() {
            return Ok(done);
        }
        let clients: Vec<String> = streams.iter().map(|(c, _)| c.clone()).collect();
        let now = self.sessions.now();
        let lease = i64::try_from(self.config.lease_secs).unwrap_or(60);
        let links = self.sessions.links();
        loop {
            let due = links.take_due(&clients, now, lease, 50).await?;
            if due.is_empty() {
                break;
            }
            for event in due {
                let Some((_, stream)) = streams.iter().find(|(c, _)| *c == event.relying_party) else {
                    continue;
                };
                match self.push(stream, &event).await {
                    Outcome::Accepted => {
                        links.delivered(&event.jti).await?;
                        done.accepted += 1;
                    }
                    Outcome::Dropped => {
                        links.delivered(&event.jti).await?;
                        done.dropped += 1;
                    }
                    Outcome::Retry => {
                        let shift = u32::try_from(event.attempts.saturating_sub(1).clamp(0, 20)).unwrap_or(20);
                        let wait = self
                            .config
                            .retry_base_secs
                            .saturating_mul(1u64 << shift)
                            .min(self.config.retry_max_secs);
                        links
                            .retry_at(&event.jti, now + i64::try_from(wait).unwrap_or(i64::MAX / 2))
                            .await?;
                        done.retrying += 1;
                    }
                }
            }
        }
        Ok(done)
    }

    async fn push(&self, stream: &Stream, event: &SignalEvent) -> Outcome {
        let Some(url) = &stream.endpoint_url else {
            return Outcome::Retry;
        };
        let Some(set) = self.set_for(stream, event).await else {
            return match delivered_type(stream, event) {
                // Not a type this stream takes: nothing will ever be sent.
                None => Outcome::Dropped,
                Some(_) => Outcome::Retry,
            };
        };
        let mut req = self
            .http
            .post(url)
            .header(header::CONTENT_TYPE, "application/secevent+jwt")
            .header(header::ACCEPT, "application/json")
            .body(set);
        if let Some(auth) = &stream.authorization_header {
            req = req.header(header::AUTHORIZATION, auth);
        }
        let outcome = match req.send().await {
            Ok(r) if r.status().is_success() => Outcome::Accepted,
            Ok(r) if r.status() == StatusCode::BAD_REQUEST => {
                // RFC 8935 §2.3: the receiver will never take this SET; its answer says why.
                let why: Value = serde_json::from_slice(&r.bytes().await.unwrap_or_default()).unwrap_or_default();
                tracing::warn!(client = %event.relying_party, jti = %event.jti, err = %why["err"], "the receiver refused an event for good");
                Outcome::Dropped
            }
            Ok(r) => {
                tracing::info!(client = %event.relying_party, status = %r.status(), "event push refused; trying again later");
                Outcome::Retry
            }
            Err(e) => {
                tracing::info!(client = %event.relying_party, error = %e, "event push failed; trying again later");
                Outcome::Retry
            }
        };
        let label = match outcome {
            Outcome::Accepted => "accepted",
            Outcome::Dropped => "dropped",
            Outcome::Retry => "retry",
        };
        metrics::counter!("mynaid_signal_pushes_total", "outcome" => label).increment(1);
        outcome
    }

    /// The signed SET of `event` for `stream`'s client; none when the stream does not take
    /// its type (or signing failed).
    async fn set_for(&self, stream: &Stream, event: &SignalEvent) -> Option<String> {
        let event_type = delivered_type(stream, event)?;
        let issuer = self.provider.issuer();
        let now = self.sessions.now();
        let detail: Value = serde_json::from_str(&event.detail).unwrap_or_default();
        let (sub_id, payload) = match event.kind {
            SignalKind::CredentialRevoked => {
                let reason = serde_json::from_value::<RevocationDetail>(detail)
                    .ok()
                    .and_then(|d| d.reason);
                let reason_name = reason.map(|r| r.as_str()).unwrap_or("unspecified");
                (
                    json!({ "format": "iss_sub", "iss": issuer, "sub": event.link_id }),
                    json!({
                        "credential_type": "x509",
                        "change_type": "revoke",
                        "event_timestamp": event.event_time,
                        "initiating_entity": "system",
                        "reason_admin": {
                            "en": format!("The certificate of the linked My Number Card was revoked ({reason_name}). Ask the person to verify again."),
                            "ja": format!("連携したマイナンバーカードの電子証明書が失効しました（{reason_name}）。もう一度本人確認をしてもらってください。"),
                        },
                        "revocation_reason": reason.map(|r| r.as_str()),
                    }),
                )
            }
            SignalKind::Verification => (
                json!({ "format": "opaque", "id": stream.stream_id }),
                match detail.get("state") {
                    Some(state) => json!({ "state": state }),
                    None => json!({}),
                },
            ),
        };
        let claims = json!({
            "iss": issuer,
            "jti": event.jti,
            "iat": now,
            "toe": event.event_time,
            "aud": event.relying_party,
            "sub_id": sub_id,
            "events": { event_type: payload },
        });
        self.provider.sign_event(&event.relying_party, &claims).await
    }

    /// The routes.
    pub fn routes<S: Clone + Send + Sync + 'static>(self: Arc<Self>) -> Router<S> {
        Router::new()
            .route("/.well-known/ssf-configuration", get(metadata))
            .route(
                "/ssf/stream",
                get(read_stream)
                    .post(create_stream)
                    .put(replace_stream)
                    .patch(update_stream)
                    .delete(delete_stream),
            )
            .route("/ssf/verify", post(verify))
            .route("/ssf/subjects/remove", post(remove_subject))
            .route("/ssf/poll/{stream_id}", post(poll))
            .with_state(self)
    }
}

enum Outcome {
    Accepted,
    Dropped,
    Retry,
}

/// The event type `event` goes out as on `stream`, if the stream takes it.
fn delivered_type(stream: &Stream, event: &SignalEvent) -> Option<&'static str> {
    match event.kind {
        // Asked for by the client itself: always delivered (SSF §8.1.4).
        SignalKind::Verification => Some(VERIFICATION),
        SignalKind::CredentialRevoked => stream.events_delivered().into_iter().find(|t| *t == CREDENTIAL_CHANGE),
    }
}

type St = State<Arc<Signals>>;

fn error(status: StatusCode, err: &str, description: &str) -> Response {
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(json!({ "err": err, "description": description })),
    )
        .into_response()
}

fn unavailable(e: StoreError) -> Response {
    tracing::error!(error = %e, "storage failure");
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        "temporarily_unavailable",
        "the service cannot process this right now",
    )
}

/// A body that is not the JSON an endpoint takes.
struct NotJson;

impl IntoResponse for NotJson {
    fn into_response(self) -> Response {
        error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the body is not the JSON this endpoint takes",
        )
    }
}

fn json_of<T: serde::de::DeserializeOwned + Default>(body: &[u8]) -> Result<T, NotJson> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|_| NotJson)
}

/// The transmitter's metadata (SSF §7.1).
async fn metadata(State(s): St) -> Response {
    let p = &s.provider;
    let body = json!({
        "spec_version": "1_0",
        "issuer": p.issuer(),
        "jwks_uri": p.url("/oidc/jwks"),
        "delivery_methods_supported": [PUSH, POLL],
        "configuration_endpoint": p.url("/ssf/stream"),
        "verification_endpoint": p.url("/ssf/verify"),
        "remove_subject_endpoint": p.url("/ssf/subjects/remove"),
        "authorization_schemes": [{ "spec_urn": "urn:ietf:rfc:6749" }],
        "default_subjects": "ALL",
    });
    ([(header::CACHE_CONTROL, "public, max-age=300")], axum::Json(body)).into_response()
}

/// The stream configuration as the client reads it (SSF §8.1.1): never the authorization
/// header it gave.
fn config_json(s: &Signals, client_id: &str, stream: &Stream) -> Value {
    let endpoint = match stream.delivery() {
        DeliveryMethod::Push => stream.endpoint_url.clone(),
        DeliveryMethod::Poll => Some(s.provider.url(&format!("/ssf/poll/{}", stream.stream_id))),
    };
    json!({
        "stream_id": stream.stream_id,
        "iss": s.provider.issuer(),
        "aud": client_id,
        "delivery": { "method": stream.method, "endpoint_url": endpoint },
        "events_supported": [CREDENTIAL_CHANGE],
        "events_requested": stream.events_requested,
        "events_delivered": stream.events_delivered(),
        "description": stream.description,
    })
}

async fn client(s: &Signals, method: &Method, path: &str, headers: &HeaderMap) -> Result<String, Response> {
    s.provider.stream_client(method, path, headers).await
}

#[derive(Deserialize, Default)]
struct StreamQuery {
    stream_id: Option<String>,
}

/// `client`'s stream, when `stream_id` (if given) names it.
async fn own_stream(s: &Signals, client: &str, stream_id: Option<&str>) -> Result<Stream, Response> {
    let not_found = || error(StatusCode::NOT_FOUND, "not_found", "no such stream");
    match s.streams.get(client).await {
        Ok(Some(st)) if stream_id.is_none_or(|id| id == st.stream_id) => Ok(st),
        Ok(_) => Err(not_found()),
        Err(e) => Err(unavailable(e)),
    }
}

async fn read_stream(State(s): St, method: Method, headers: HeaderMap, Query(q): Query<StreamQuery>) -> Response {
    let c = match client(&s, &method, "/ssf/stream", &headers).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    match own_stream(&s, &c, q.stream_id.as_deref()).await {
        Ok(st) => axum::Json(config_json(&s, &c, &st)).into_response(),
        Err(r) => r,
    }
}

async fn create_stream(State(s): St, method: Method, headers: HeaderMap, body: Bytes) -> Response {
    let c = match client(&s, &method, "/ssf/stream", &headers).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let req: Requested = match json_of(&body) {
        Ok(r) => r,
        Err(r) => return r.into_response(),
    };
    let stream = match Stream::apply(None, &token::<16>(), req, s.local_http()) {
        Ok(st) => st,
        Err(e) => return error(StatusCode::BAD_REQUEST, "invalid_configuration", e.description()),
    };
    match s.streams.create(&c, &stream, s.sessions.now()).await {
        Ok(true) => {
            tracing::info!(client = %c, method = %stream.method, "event stream created");
            (StatusCode::CREATED, axum::Json(config_json(&s, &c, &stream))).into_response()
        }
        Ok(false) => error(
            StatusCode::CONFLICT,
            "stream_exists",
            "this client has a stream: update it (PATCH or PUT) or delete it first",
        ),
        Err(e) => unavailable(e),
    }
}

async fn change_stream(s: &Signals, method: &Method, headers: &HeaderMap, body: &[u8], whole: bool) -> Response {
    let c = match client(s, method, "/ssf/stream", headers).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let req: Requested = match json_of(body) {
        Ok(r) => r,
        Err(r) => return r.into_response(),
    };
    let Some(stream_id) = req.stream_id.clone() else {
        return error(StatusCode::BAD_REQUEST, "invalid_request", "stream_id is required");
    };
    let current = match own_stream(s, &c, Some(&stream_id)).await {
        Ok(st) => st,
        Err(r) => return r,
    };
    let base = (!whole).then_some(&current);
    let stream = match Stream::apply(base, &stream_id, req, s.local_http()) {
        Ok(st) => st,
        Err(e) => return error(StatusCode::BAD_REQUEST, "invalid_configuration", e.description()),
    };
    match s.streams.update(&c, &stream, s.sessions.now()).await {
        Ok(true) => axum::Json(config_json(s, &c, &stream)).into_response(),
        Ok(false) => error(StatusCode::NOT_FOUND, "not_found", "no such stream"),
        Err(e) => unavailable(e),
    }
}

async fn update_stream(State(s): St, method: Method, headers: HeaderMap, body: Bytes) -> Response {
    change_stream(&s, &method, &headers, &body, false).await
}

async fn replace_stream(State(s): St, method: Method, headers: HeaderMap, body: Bytes) -> Response {
    change_stream(&s, &method, &headers, &body, true).await
}

async fn delete_stream(State(s): St, method: Method, headers: HeaderMap, Query(q): Query<StreamQuery>) -> Response {
    let c = match client(&s, &method, "/ssf/stream", &headers).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let Some(id) = q.stream_id else {
        return error(StatusCode::BAD_REQUEST, "invalid_request", "stream_id is required");
    };
    match s.streams.delete(&c, &id).await {
        Ok(true) => {
            // No stream, nobody to deliver to: its queued events go too.
            if let Err(e) = s.sessions.links().drop_events(&c).await {
                return unavailable(e);
            }
            tracing::info!(client = %c, "event stream deleted");
            StatusCode::NO_CONTENT.into_response()
        }
        Ok(false) => error(StatusCode::NOT_FOUND, "not_found", "no such stream"),
        Err(e) => unavailable(e),
    }
}

#[derive(Deserialize, Default)]
struct VerifyRequest {
    stream_id: Option<String>,
    state: Option<String>,
}

/// SSF §8.1.4: the client asks for a verification event carrying its `state`.
async fn verify(State(s): St, method: Method, headers: HeaderMap, body: Bytes) -> Response {
    let c = match client(&s, &method, "/ssf/verify", &headers).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let req: VerifyRequest = match json_of(&body) {
        Ok(r) => r,
        Err(r) => return r.into_response(),
    };
    if req.state.as_deref().is_some_and(|st| st.len() > 256) {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "state is at most 256 characters",
        );
    }
    if let Err(r) = own_stream(&s, &c, req.stream_id.as_deref()).await {
        return r;
    }
    let now = s.sessions.now();
    let detail = match &req.state {
        Some(state) => json!({ "state": state }),
        None => json!({}),
    };
    let event = SignalEvent {
        jti: token::<16>(),
        relying_party: c,
        link_id: None,
        kind: SignalKind::Verification,
        detail: detail.to_string(),
        event_time: now,
        attempts: 0,
    };
    match s.sessions.links().queue(&event, now).await {
        Ok(()) => {
            s.wake();
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => unavailable(e),
    }
}

#[derive(Deserialize, Default)]
struct RemoveSubject {
    stream_id: Option<String>,
    subject: Option<Value>,
}

/// SSF §8.1.3.3: the client stops hearing about a subject — here, it ends the link (for
/// itself, or because the person unlinked the card there): the link's data and its
/// undelivered events are deleted at once.
async fn remove_subject(State(s): St, method: Method, headers: HeaderMap, body: Bytes) -> Response {
    let c = match client(&s, &method, "/ssf/subjects/remove", &headers).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let req: RemoveSubject = match json_of(&body) {
        Ok(r) => r,
        Err(r) => return r.into_response(),
    };
    if let Err(r) = own_stream(&s, &c, req.stream_id.as_deref()).await {
        return r;
    }
    let subject = req.subject.unwrap_or_default();
    let link_id = match subject["format"].as_str() {
        Some("iss_sub") if subject["iss"].as_str() == Some(s.provider.issuer()) => subject["sub"].as_str(),
        Some("opaque") => subject["id"].as_str(),
        _ => None,
    };
    let Some(link_id) = link_id.filter(|l| !l.is_empty() && l.len() <= 128) else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_subject",
            "subject must be {format: iss_sub, iss: this issuer, sub} or {format: opaque, id}",
        );
    };
    match s.sessions.end_link(&c, link_id).await {
        Ok(existed) => {
            tracing::info!(client = %c, existed, "link ended by the application");
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "ending a link failed");
            error(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "the service cannot process this right now",
            )
        }
    }
}

/// An RFC 8936 poll request.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct PollRequest {
    #[serde(default)]
    ack: Vec<String>,
    #[serde(default)]
    set_errs: std::collections::BTreeMap<String, Value>,
    max_events: Option<usize>,
    return_immediately: Option<bool>,
}

/// RFC 8936: acknowledges what the client names, answers up to `maxEvents` SETs (waiting up
/// to `poll_wait_secs` for one unless `returnImmediately`), and whether more wait.
async fn poll(
    State(s): St,
    method: Method,
    headers: HeaderMap,
    Path(stream_id): Path<String>,
    body: Bytes,
) -> Response {
    let path = format!("/ssf/poll/{stream_id}");
    let c = match client(&s, &method, &path, &headers).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let stream = match own_stream(&s, &c, Some(&stream_id)).await {
        Ok(st) if st.delivery() == DeliveryMethod::Poll => st,
        Ok(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "this stream is a push stream",
            );
        }
        Err(r) => return r,
    };
    let req: PollRequest = match json_of(&body) {
        Ok(r) => r,
        Err(r) => return r.into_response(),
    };
    if req.ack.len() + req.set_errs.len() > 1000 {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "at most 1000 acknowledgements at once",
        );
    }
    for (jti, why) in &req.set_errs {
        tracing::warn!(client = %c, jti = %jti, err = %why["err"], "the receiver refused an event for good");
    }
    let mut ack: Vec<String> = req.ack;
    ack.extend(req.set_errs.into_keys());
    let max = req.max_events.unwrap_or(100).min(1000);
    let links = s.sessions.links();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(s.config.poll_wait_secs);
    let (events, more) = loop {
        let (events, more) = match links.poll(&c, &ack, max).await {
            Ok(r) => r,
            Err(e) => return unavailable(e),
        };
        ack.clear();
        if !events.is_empty()
            || max == 0
            || req.return_immediately.unwrap_or(false)
            || tokio::time::Instant::now() >= deadline
        {
            break (events, more);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let mut sets = serde_json::Map::new();
    for e in events {
        match s.set_for(&stream, &e).await {
            Some(set) => {
                sets.insert(e.jti.clone(), Value::String(set));
            }
            None if delivered_type(&stream, &e).is_none() => {
                if let Err(err) = links.delivered(&e.jti).await {
                    return unavailable(err);
                }
            }
            None => {
                return error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "temporarily_unavailable",
                    "events cannot be signed right now",
                );
            }
        }
    }
    (
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(json!({ "sets": sets, "moreAvailable": more })),
    )
        .into_response()
}
