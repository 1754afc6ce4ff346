//! The mynaid server: verification sessions, the reading-device API, the pages of the
//! three reading patterns with live status, and storage.
//!
//! A relying party (an application such as a registration portal) asks for a session with a
//! purpose; the person's browser is sent to the procedure page; a reading device (the PC
//! reader app, the phone app) redeems a one-time handle, reads the card and submits
//! evidence; the server verifies it (`mynaid-evidence`), stores the result encrypted and
//! tells the page over SSE; the relying party takes the result once.
//!
//! The server trusts nothing a client says about identity: the only way to a result is
//! evidence that verifies against the session's own challenge, origin and purpose.

pub mod api;
pub mod config;
pub mod error;
pub mod events;
pub mod hardening;
pub mod limits;
pub mod oidc;
pub mod pages;
mod redeemed;
pub mod secrets;
pub mod service;
pub mod store;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, header};
use axum::{Router, middleware};
use mynaid_evidence::{CrlSet, CvCaKey, RevocationPolicy, TrustStore, Verifier};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use zeroize::Zeroizing;

use crate::config::{Config, RevocationConfig, TrustModeConfig};
use crate::events::EventHub;
use crate::secrets::{ResultKey, decode_key, random};
use crate::service::{Clock, Service};
use crate::store::Store;
use crate::store::postgres::PgStore;
use crate::store::sqlite::SqliteStore;

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
    /// The OpenID Connect configuration is not valid.
    #[error("oidc: {0}")]
    Oidc(String),
    /// The database could not be opened.
    #[error(transparent)]
    Store(#[from] store::StoreError),
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
    let mut crls = CrlSet::new();
    for p in &config.trust.crls {
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
    Ok(Verifier::new(trust, crls, policy, cv))
}

/// Opens (and migrates) the configured database.
async fn open_store(
    url: &str,
) -> Result<(Arc<dyn Store>, Arc<dyn oidc::store::OidcStore>, Option<PgStore>), StartError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let pg = PgStore::open(url).await?;
        Ok((Arc::new(pg.clone()), Arc::new(pg.clone()), Some(pg)))
    } else if url.starts_with("sqlite:") {
        let sqlite = SqliteStore::open(url).await?;
        Ok((Arc::new(sqlite.clone()), Arc::new(sqlite), None))
    } else {
        Err(StartError::Key("database_url must start with sqlite: or postgres://"))
    }
}

/// Deletes from the configured database what is past `retention_secs` at `now` (what
/// `mynaid purge` runs); answers how many sessions went.
pub async fn purge(config: &Config, now: i64) -> Result<u64, StartError> {
    let (store, oidc_store, _) = open_store(&config.database_url).await?;
    let retention = i64::try_from(config.retention_secs).unwrap_or(i64::MAX);
    let n = store.purge(now.saturating_sub(retention)).await?;
    oidc::store::purge_expired(oidc_store.as_ref(), config.oidc.code_ttl_secs, now).await?;
    Ok(n)
}

/// Assembles the service from configuration: store opened and migrated, verifier built,
/// keys decoded (or made up, with a warning, when not configured).
pub async fn service(mut config: Config, clock: Clock) -> Result<Arc<Service>, StartError> {
    let verifier = verifier(&config)?;
    // OpenID Connect clients become relying parties of their verification sessions.
    let oidc_clients = oidc::config::prepare(&mut config).map_err(StartError::Oidc)?;
    let (store, oidc_store, pg) = open_store(&config.database_url).await?;
    let events = match pg {
        Some(pg) => events::pg_bus::start(pg.pool().clone())
            .await
            .map_err(store::StoreError::from)?,
        None => EventHub::default(),
    };
    let result_key = match &config.result_key {
        Some(k) => decode_key(k, 32)
            .filter(|k| k.len() == 32)
            .and_then(|k| ResultKey::new(&k))
            .ok_or(StartError::Key("result_key must be 32 bytes in base64"))?,
        None => {
            tracing::warn!("no result_key configured: using a random one; stored results will not survive a restart");
            ResultKey::new(&random::<32>()).ok_or(StartError::Key("result key"))?
        }
    };
    let link_secret = match &config.link_secret {
        Some(k) => decode_key(k, 32).ok_or(StartError::Key("link_secret must be at least 32 bytes in base64"))?,
        None => {
            tracing::warn!("no link_secret configured: card-link identifiers will change at every restart");
            Zeroizing::new(random::<32>().to_vec())
        }
    };
    let oidc = oidc::Backend::new(&config, oidc_clients, oidc_store).map_err(StartError::Oidc)?;
    let mut svc = Service::new(config, store, verifier, result_key, link_secret, events, clock);
    svc.oidc = Some(Arc::new(oidc));
    Ok(Arc::new(svc))
}

/// The HTTP application. A function of the service, so tests drive it without a socket.
pub fn app(svc: Arc<Service>) -> Router {
    let hardening = hardening::Hardening::new(svc.config());
    let limits = limits::Limits::new(&svc.config().limits);
    Router::new()
        .merge(api::routes())
        .merge(pages::routes())
        .merge(oidc::routes(&svc))
        .with_state(svc)
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
}

/// Serves until `shutdown` resolves; meanwhile deletes what is past `retention_secs` every
/// `purge_interval_secs`. The connection's address reaches the rate limits.
pub async fn serve(
    svc: Arc<Service>,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let purging = (svc.config().purge_interval_secs > 0).then(|| tokio::spawn(purge_task(svc.clone())));
    let app = app(svc).into_make_service_with_connect_info::<std::net::SocketAddr>();
    let served = axum::serve(listener, app).with_graceful_shutdown(shutdown).await;
    if let Some(p) = purging {
        p.abort();
    }
    served
}

/// Every `purge_interval_secs`: [`Service::purge`].
async fn purge_task(svc: Arc<Service>) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(svc.config().purge_interval_secs));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        match svc.purge().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(sessions = n, "purged ended sessions"),
            Err(e) => tracing::warn!(code = e.code, "purge failed; trying again later"),
        }
    }
}
