//! The mynaid server as HTTP: the reading-device and relying-party API ([`api`]), the pages of
//! the three reading patterns with live status ([`pages`]), rate limits ([`limits`]), and
//! the OpenID Connect provider's routes, over the session core (`mynaid-sessions`).
//!
//! [`start`] assembles it from one configuration file ([`config`]): the database
//! (`mynaid-db`), the verifier from the trust files (`mynaid-evidence`), the session core, the
//! OpenID Connect provider (`mynaid-oidc`), whose clients become relying parties of the
//! session core. [`app`] is the router (tests drive it without a socket); [`serve`] runs it.
//!
//! The server trusts nothing a client says about identity: the only way to a result is
//! evidence that verifies against the session's own challenge, origin and purpose.

pub mod api;
pub mod config;
mod conn;
mod crl_sources;
pub mod limits;
pub mod ops;
pub mod pages;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, StatusCode, header};
use axum::{Router, middleware};
use mynaid_db::{Db, Dialect, StoreError};
use mynaid_evidence::{CrlSet, CvCaKey, RevocationPolicy, TrustStore, Verifier};
use mynaid_oidc::Provider;
use mynaid_oidc::store::OidcStore;
use mynaid_sessions::events::{EventHub, pg_bus};
use mynaid_sessions::secrets::{SealingKey, decode_key, random};
use mynaid_sessions::store::SessionStore;
use mynaid_sessions::{Clock, Parts, Service};
use mynaid_signals::Signals;
use mynaid_web::hardening::{self, Hardening};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use zeroize::Zeroizing;

use crate::config::{Config, CrlSource, DemoConfig, HttpConfig, LimitsConfig, RevocationConfig, TrustModeConfig};
pub use crate::crl_sources::CrlRefresh;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Configuration.
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    /// A trust file could not be read or was refused.
    #[error("trust configuration: {0}")]
    Trust(String),
    /// A key in the configuration is not valid.
    #[error("{0}")]
    Key(&'static str),
    /// An `https://` server without its lasting secrets: several instances would disagree,
    /// and a restart would make stored results unreadable and change every card-link id.
    #[error(
        "an https:// public_url needs result_key and link_secret (base64 of 32 random bytes each, the same on every instance); generate them with `openssl rand -base64 32`"
    )]
    MissingSecrets,
    /// A relying party's API key is too short to be unguessable.
    #[error("relying party {0}: api_key must be at least 32 characters (random)")]
    WeakApiKey(String),
    /// A relying party has no way back: its result goes back only through the person's
    /// browser, to a registered return address.
    #[error(
        "relying party {0}: register at least one address in return_urls (the result goes back only through the person's browser)"
    )]
    NoReturnUrl(String),
    /// The OpenID Connect configuration is not valid.
    #[error("oidc: {0}")]
    Oidc(String),
    /// The database could not be opened.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The listener could not be bound.
    #[error("listening on {addr}: {source}")]
    Listen {
        /// The address.
        addr: std::net::SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

fn read(path: &std::path::Path) -> Result<Vec<u8>, StartError> {
    std::fs::read(path).map_err(|e| StartError::Trust(format!("{}: {e}", path.display())))
}

/// Builds the evidence verifier from the trust configuration.
pub fn verifier(config: &Config) -> Result<Verifier, StartError> {
    let roots = config
        .trust
        .roots
        .iter()
        .map(|p| read(p))
        .collect::<Result<Vec<_>, _>>()?;
    let trust = match config.trust.mode {
        TrustModeConfig::Production => TrustStore::production(&roots),
        TrustModeConfig::Test => TrustStore::test_roots(&roots),
    }
    .map_err(|e| StartError::Trust(e.to_string()))?;
    // The files must all load; the URLs are fetched once the database is open (`start`).
    let mut crls = CrlSet::new();
    for p in crl_sources::files(&config.trust.crls) {
        crls.load(&read(p)?, &trust)
            .map_err(|e| StartError::Trust(format!("{}: {e}", p.display())))?;
    }
    let mut cv = Vec::new();
    for p in &config.trust.cv_ca {
        let text = String::from_utf8(read(p)?).map_err(|_| StartError::Trust(format!("{}: not UTF-8", p.display())))?;
        cv.push(CvCaKey::from_json(&text).map_err(|e| StartError::Trust(format!("{}: {e}", p.display())))?);
    }
    let policy = match config.trust.revocation {
        RevocationConfig::RequireCrl => RevocationPolicy::RequireCrl,
        RevocationConfig::AllowUnchecked => RevocationPolicy::AllowUnchecked,
    };
    Ok(Verifier::new(trust, crls, policy, cv).with_crl_grace(config.trust.crl_grace_secs))
}

/// The configured `result_key`, or one that lives as long as this process (with a warning).
fn result_key(config: &Config) -> Result<SealingKey, StartError> {
    match &config.result_key {
        Some(k) => decode_key(k, 32)
            .filter(|k| k.len() == 32)
            .and_then(|k| SealingKey::new(&k))
            .ok_or(StartError::Key("result_key must be 32 bytes in base64")),
        None => {
            tracing::warn!(
                "no result_key configured: using a random one; stored results and OpenID Connect signing keys \
                 will not survive a restart"
            );
            Ok(SealingKey::ephemeral())
        }
    }
}

/// The configured `link_secret`, or one that lives as long as this process (with a warning).
fn link_secret(config: &Config) -> Result<Zeroizing<Vec<u8>>, StartError> {
    match &config.link_secret {
        Some(k) => decode_key(k, 32).ok_or(StartError::Key("link_secret must be at least 32 bytes in base64")),
        None => {
            tracing::warn!("no link_secret configured: card-link identifiers will change at every restart");
            Ok(Zeroizing::new(random::<32>().to_vec()))
        }
    }
}

/// A running server's parts: the session core, the OpenID Connect provider, and what the
/// HTTP layer itself is configured with.
pub struct Server {
    /// The session core.
    pub sessions: Arc<Service>,
    /// The OpenID Connect provider.
    pub provider: Arc<Provider>,
    /// The events to the applications (linked cards' revocations).
    pub signals: Arc<Signals>,
    /// The public origin (`scheme://host[:port]`).
    pub origin: String,
    /// Whether people reach the server over HTTPS: `Secure` `__Host-` cookies, HSTS.
    pub https: bool,
    /// Demo hints shown on the pages.
    pub demo: Option<DemoConfig>,
    /// Where a person gets the apps (`app_install_url`).
    pub app_install_url: String,
    /// Rate limits.
    pub limits: LimitsConfig,
    /// How often [`serve`] purges, in seconds (0: never).
    pub purge_interval_secs: u64,
    /// Where [`Server::refresh_crls`] takes the CRLs from.
    pub crl_sources: Vec<CrlSource>,
    /// How often [`serve`] refreshes the CRLs, in seconds (0: never); it also refreshes at
    /// the earliest `nextUpdate`.
    pub crl_refresh_secs: u64,
    crl_state: crl_sources::Sources,
    /// The HTTP server's timeouts and caps ([`serve`]).
    pub http: HttpConfig,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Server({})", self.origin)
    }
}

impl Server {
    /// Takes the CRLs again from their sources: reads the files, fetches the URLs (one
    /// instance for all on a shared database, `crl_sources`), and takes each fresh CRL that
    /// verifies, has a `nextUpdate` and is not older than the one of its issuer and
    /// distribution point in use (`Verifier::refresh_crls`). A source that fails is logged
    /// and counted, and its last good CRL stays.
    pub async fn refresh_crls(&self) -> CrlRefresh {
        crl_sources::refresh(self).await
    }

    /// Looks every linked card up in the CRLs in use (`mynaid_sessions::links`) and pushes the
    /// events of the revoked ones at once. Failures are logged: the next refresh checks again.
    pub async fn recheck_links(&self) {
        match self.sessions.recheck_links().await {
            Ok(c) if c.revoked > 0 => {
                tracing::info!(checked = c.checked, revoked = c.revoked, "linked cards re-checked");
                self.signals.wake();
            }
            Ok(c) => tracing::debug!(checked = c.checked, "linked cards re-checked"),
            Err(e) => tracing::warn!(error = %e, "re-checking the linked cards failed; trying again with the next CRL"),
        }
    }

    /// Deletes what is past the retention: ended sessions with their results, and the expired
    /// OpenID Connect rows; answers how many sessions.
    pub async fn purge(&self) -> Result<u64, mynaid_sessions::SessionError> {
        let n = self.sessions.purge().await?;
        self.provider.purge(self.sessions.now()).await?;
        self.signals.purge().await?;
        Ok(n)
    }
}

/// Assembles the server from configuration: database opened and migrated, verifier built,
/// keys decoded (or made up, with a warning, when not configured), the OpenID Connect
/// clients registered as relying parties of the session core.
pub async fn start(config: Config, clock: Clock) -> Result<Arc<Server>, StartError> {
    let verifier = verifier(&config)?;
    let origin = config.public_origin();
    let https = config.is_https();
    if https && (config.result_key.is_none() || config.link_secret.is_none()) {
        return Err(StartError::MissingSecrets);
    }
    if let Some(rp) = config.relying_parties.iter().find(|rp| rp.return_urls.is_empty()) {
        return Err(StartError::NoReturnUrl(rp.id.clone()));
    }
    if let Some(rp) = config.relying_parties.iter().find(|rp| rp.api_key.len() < 32) {
        return Err(StartError::WeakApiKey(rp.id.clone()));
    }
    if !(config.app_install_url.starts_with("https://") || config.app_install_url.starts_with("http://")) {
        return Err(StartError::Key(
            "app_install_url must be an https:// (or http://) address",
        ));
    }
    let rp_ids: Vec<&str> = config.relying_parties.iter().map(|rp| rp.id.as_str()).collect();
    let clients = mynaid_oidc::config::load_clients(&config.oidc, &rp_ids, https).map_err(StartError::Oidc)?;
    let mut relying_parties = config.relying_parties.clone();
    relying_parties.extend(mynaid_oidc::config::relying_parties(&clients, &origin));
    let db = Db::open(&config.database_url).await?;
    let events = match db.dialect() {
        Dialect::Postgres => pg_bus::start(db.clone()).await.map_err(StoreError::from)?,
        Dialect::Sqlite => EventHub::default(),
    };
    let key = result_key(&config)?;
    let sessions = Arc::new(Service::new(Parts {
        settings: config.settings(),
        relying_parties,
        store: SessionStore::new(db.clone()),
        verifier,
        result_key: key.clone(),
        link_secret: link_secret(&config)?,
        events,
        clock,
    }));
    let crl_state = crl_sources::Sources::new(&config.trust.crls)
        .map_err(|e| StartError::Trust(format!("the HTTP client for CRL URLs: {e}")))?;
    let provider = Arc::new(
        Provider::new(
            sessions.clone(),
            &config.oidc,
            clients,
            OidcStore::new(db.clone()),
            key,
            origin.clone(),
        )
        .map_err(StartError::Oidc)?,
    );
    let signals = Arc::new(Signals::new(
        provider.clone(),
        sessions.clone(),
        db,
        config.signals.clone(),
    ));
    let server = Arc::new(Server {
        sessions,
        provider,
        signals,
        origin,
        https,
        demo: config.demo,
        app_install_url: config.app_install_url,
        limits: config.limits,
        purge_interval_secs: config.purge_interval_secs,
        crl_sources: config.trust.crls.clone(),
        crl_refresh_secs: config.trust.crl_refresh_secs,
        crl_state,
        http: config.http,
    });
    // The URLs' CRLs: a source that cannot be fetched now leaves its issuer's readings
    // refused (or unchecked, by policy) until a later refresh takes it; the server starts.
    if server.crl_sources.iter().any(|s| matches!(s, CrlSource::Url(_))) {
        let r = server.refresh_crls().await;
        tracing::info!(taken = r.taken, failures = r.failures, "CRLs fetched at start");
    }
    Ok(server)
}

/// Deletes from the configured database what is past `retention_secs` at `now` (what
/// `mynaid-server purge` runs); answers how many sessions went.
pub async fn purge(config: &Config, now: i64) -> Result<u64, StartError> {
    let db = Db::open(&config.database_url).await?;
    let retention = i64::try_from(config.retention_secs).unwrap_or(i64::MAX);
    let n = SessionStore::new(db.clone())
        .purge(now.saturating_sub(retention))
        .await?;
    OidcStore::new(db).purge_expired(config.oidc.code_ttl_secs, now).await?;
    Ok(n)
}

/// The paths of the pages' own browser posts (cross-site posts to them are refused).
const PAGE_POSTS: &[&str] = &["/s/", "/return", "/oidc/consent/"];

/// The HTTP application. A function of the server, so tests drive it without a socket.
pub fn app(server: &Arc<Server>) -> Router {
    let hardening = Hardening::new(server.origin.clone(), server.https, PAGE_POSTS);
    let limits = limits::Limits::new(&server.limits);
    Router::new()
        .merge(api::routes())
        .merge(pages::routes())
        .with_state(server.clone())
        .merge(mynaid_oidc::routes(server.provider.clone()))
        .merge(server.signals.clone().routes())
        .merge(ops::routes(server))
        .layer(middleware::from_fn_with_state(limits, limits::middleware))
        .layer(middleware::from_fn_with_state(hardening, hardening::middleware))
        // Evidence is at most 16 KiB; nothing this server takes is larger.
        .layer(DefaultBodyLimit::max(64 * 1024))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
                // Paths carry session ids and handles, never personal data; query strings may
                // carry a browser token, so they are left out.
                tracing::info_span!("http", method = %req.method(), path = %req.uri().path())
            }),
        )
        .layer(middleware::from_fn(ops::http_metrics))
        .layer(middleware::from_fn(mynaid_web::remember_lang))
}

/// Serves until `shutdown` resolves; meanwhile deletes what is past `retention_secs` every
/// `purge_interval_secs`. The connection's address reaches the rate limits.
pub async fn serve(
    server: Arc<Server>,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_router(server.clone(), app(&server), listener, shutdown).await
}

/// [`serve`] with another router (the demo adds its portal to [`app`]).
///
/// Connections are accepted here rather than by `axum::serve`, to hold what a stranger's
/// slow or many connections may take (`[http]` in the configuration, `conn.rs`): at most
/// `max_connections` open (more wait to be accepted), at most `max_connections_per_address`
/// from one address (more are closed at once), a header block within
/// `header_read_timeout_secs`, a kept-alive connection idle at most `idle_timeout_secs`, a
/// request answered within `request_timeout_secs` (a live-status stream answers at once and
/// then streams, so the timeout does not cut it). When `shutdown` resolves: no more
/// accepts, the live-status streams get a last event and end, requests in flight have
/// `shutdown_grace_secs` to finish, then the connections still open are closed.
pub async fn serve_router(
    server: Arc<Server>,
    router: Router,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let http = server.http.clone();
    let refreshing = (server.crl_refresh_secs > 0).then(|| tokio::spawn(crl_task(server.clone())));
    let signalling = tokio::spawn(server.signals.clone().run());
    let purging = (server.purge_interval_secs > 0).then(|| tokio::spawn(purge_task(server)));
    let router = router.layer(TimeoutLayer::with_status_code(
        StatusCode::REQUEST_TIMEOUT,
        std::time::Duration::from_secs(http.request_timeout_secs),
    ));
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let streams = conn::Streams::new(&http, stopping.clone());
    let timeouts = conn::Timeouts {
        header: std::time::Duration::from_secs(http.header_read_timeout_secs),
        idle: std::time::Duration::from_secs(http.idle_timeout_secs),
    };
    let open = Arc::new(tokio::sync::Semaphore::new(http.max_connections.max(1)));
    let per_address = conn::Counts::new(http.max_connections_per_address);
    let mut connections = tokio::task::JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        // A permit first: above `max_connections` the next clients wait in the listen queue.
        let permit = tokio::select! {
            () = &mut shutdown => break,
            p = open.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors, mostly: the listener itself is fine, and
                    // trying again at once would only spin.
                    tracing::warn!(error = %e, "accepting a connection failed; trying again in a second");
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                    continue;
                }
            },
        };
        while connections.try_join_next().is_some() {}
        let Some(slot) = per_address.take(conn::address_key(peer.ip())) else {
            tracing::debug!(address = %peer.ip(), "too many connections from one address; closing");
            continue;
        };
        connections.spawn(conn::connection(
            stream,
            peer,
            router.clone(),
            streams.clone(),
            timeouts,
            (permit, slot),
        ));
    }
    drop(listener);
    let _ = stop.send(true);
    let grace = std::time::Duration::from_secs(http.shutdown_grace_secs);
    let finished = tokio::time::timeout(grace, async { while connections.join_next().await.is_some() {} }).await;
    if finished.is_err() {
        tracing::warn!(
            open = connections.len(),
            "shutdown grace over: closing the connections still open"
        );
        connections.abort_all();
    }
    if let Some(p) = purging {
        p.abort();
    }
    signalling.abort();
    if let Some(r) = refreshing {
        r.abort();
    }
    Ok(())
}

/// [`Server::refresh_crls`] every `crl_refresh_secs`, and at the earliest `nextUpdate` of the
/// CRLs in use when that comes sooner (at least 10 s apart).
async fn crl_task(server: Arc<Server>) {
    // A link may have been revoked while no instance ran.
    server.recheck_links().await;
    loop {
        tokio::time::sleep(crl_sources::next_refresh_in(&server)).await;
        if server.refresh_crls().await.taken > 0 {
            server.recheck_links().await;
        }
    }
}

/// Every `purge_interval_secs`: [`Server::purge`].
async fn purge_task(server: Arc<Server>) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(server.purge_interval_secs));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        match server.purge().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(sessions = n, "purged ended sessions"),
            Err(e) => tracing::warn!(error = %e, "purge failed; trying again later"),
        }
    }
}
