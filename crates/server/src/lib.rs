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
pub mod oidc;
pub mod pages;
pub mod secrets;
pub mod service;
pub mod store;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, header};
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

/// Assembles the service from configuration: store opened and migrated, verifier built,
/// keys decoded (or made up, with a warning, when not configured).
pub async fn service(mut config: Config, clock: Clock) -> Result<Arc<Service>, StartError> {
    let verifier = verifier(&config)?;
    // OpenID Connect clients become relying parties of their verification sessions.
    let oidc_clients = oidc::config::prepare(&mut config).map_err(StartError::Oidc)?;
    let oidc_store: Arc<dyn oidc::store::OidcStore>;
    let url = config.database_url.as_str();
    let (store, events): (Arc<dyn Store>, EventHub) =
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let pg = PgStore::open(url).await?;
            let events = events::pg_bus::start(pg.pool().clone())
                .await
                .map_err(store::StoreError::from)?;
            oidc_store = Arc::new(pg.clone());
            (Arc::new(pg), events)
        } else if url.starts_with("sqlite:") {
            let sqlite = SqliteStore::open(url).await?;
            oidc_store = Arc::new(sqlite.clone());
            (Arc::new(sqlite), EventHub::default())
        } else {
            return Err(StartError::Key("database_url must start with sqlite: or postgres://"));
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
    Router::new()
        .merge(api::routes())
        .merge(pages::routes())
        .merge(oidc::routes(&svc))
        .with_state(svc)
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

/// Serves until `shutdown` resolves.
pub async fn serve(
    svc: Arc<Service>,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app(svc)).with_graceful_shutdown(shutdown).await
}
