//! OpenID Connect provider: how applications receive the verified card face.
//!
//! The same surface as the Digital Authentication App's OIDC API (spec flows.md §3.2), so a
//! relying party that integrates with one can switch to the other with configuration:
//! authorization code flow only, PKCE `S256` required, `state` and `nonce` required, client
//! authentication by `private_key_jwt` or `client_secret_basic`, scopes `openid name address
//! birthdate gender`, claims in UserInfo, ID tokens signed RS256 with rotated keys.
//!
//! The way through: `/oidc/authorize` validates the request (errors before the redirect URI
//! is known are shown on a page, never redirected) → the consent page says who asks for what
//! and why → a verification session of the client ([`Service::create_session`]) runs the
//! existing procedure page (any of the three patterns) → the session returns to
//! `/oidc/callback`, which takes the result once ([`Service::take_result`]), keeps only
//! what the granted scopes release, and redirects with a single-use code → `/oidc/token`
//! → `/oidc/userinfo`. See `docs/oidc.md`.

pub mod config;
pub mod store;

mod authorize;
mod claims;
mod client_auth;
mod consent;
mod keys;
mod token;

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::{Deserialize, Serialize};
use serde_json::json;

use self::config::{Client, OidcConfig};
use self::store::OidcStore;
use crate::config::Config;
use crate::secrets::{ResultKey, decode_key, random};
use crate::service::{Purpose, Service};

pub use self::keys::ALG;

/// What the OpenID Connect endpoints need besides the [`Service`]: their tables, the sealing
/// key, the clients.
pub struct Backend {
    store: Arc<dyn OidcStore>,
    key: ResultKey,
    settings: OidcConfig,
    clients: HashMap<String, Client>,
    max_id_token_ttl: u64,
    issuer: String,
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "oidc::Backend({} clients)", self.clients.len())
    }
}

impl Backend {
    /// Assembles the provider. The sealing key is the configured `result_key` (with its own
    /// associated data, so nothing sealed here opens as a session result or the reverse).
    pub fn new(config: &Config, clients: Vec<Client>, store: Arc<dyn OidcStore>) -> Result<Backend, String> {
        let key = match &config.result_key {
            Some(k) => decode_key(k, 32)
                .filter(|k| k.len() == 32)
                .and_then(|k| ResultKey::new(&k))
                .ok_or("result_key must be 32 bytes in base64")?,
            None => {
                if !clients.is_empty() {
                    tracing::warn!(
                        "no result_key configured: OpenID Connect signing keys will change at every restart"
                    );
                }
                ResultKey::new(&random::<32>()).ok_or("result key")?
            }
        };
        if config.oidc.signing_key_rotation_secs < 60 {
            return Err("oidc.signing_key_rotation_secs must be at least 60".into());
        }
        if config.oidc.code_ttl_secs == 0 || config.oidc.code_ttl_secs > 600 {
            return Err("oidc.code_ttl_secs must be 1-600".into());
        }
        Ok(Backend {
            store,
            key,
            max_id_token_ttl: config.oidc.max_id_token_ttl(),
            settings: config.oidc.clone(),
            clients: clients.into_iter().map(|c| (c.config.client_id.clone(), c)).collect(),
            issuer: config.public_origin(),
        })
    }

    /// Deletes the expired OpenID Connect rows (what the periodic purge of `serve` and
    /// `mynaid purge` run).
    pub async fn purge(&self, now: i64) -> Result<(), crate::store::StoreError> {
        store::purge_expired(self.store.as_ref(), self.settings.code_ttl_secs, now).await
    }

    /// The issuer identifier (the server's public origin).
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    fn client(&self, id: &str) -> Option<&Client> {
        self.clients.get(id)
    }

    fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }
}

/// The state of the OpenID Connect handlers.
#[derive(Clone)]
struct Oidc {
    svc: Arc<Service>,
    be: Arc<Backend>,
}

/// The OpenID Connect routes (none when the service has no provider).
pub fn routes<S: Clone + Send + Sync + 'static>(svc: &Arc<Service>) -> Router<S> {
    let Some(be) = svc.oidc.clone() else {
        return Router::new();
    };
    let state = Oidc { svc: svc.clone(), be };
    Router::new()
        .route("/.well-known/openid-configuration", get(token::discovery))
        .route("/oidc/jwks", get(token::jwks))
        .route(
            "/oidc/authorize",
            get(authorize::authorize_get).post(authorize::authorize_post),
        )
        .route(
            "/oidc/consent/{id}",
            get(authorize::consent_page).post(authorize::consent_decision),
        )
        .route(config::CALLBACK_PATH, get(authorize::callback))
        .route("/oidc/token", axum::routing::post(token::token))
        .route("/oidc/userinfo", get(token::userinfo).post(token::userinfo))
        .with_state(state)
}

/// The validated parameters of an authorization request (stored with it).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct AuthParams {
    redirect_uri: String,
    scopes: Vec<String>,
    state: String,
    nonce: String,
    code_challenge: String,
    purpose: Purpose,
    en: bool,
}

/// What a code (and then its access token) grants. Sealed at rest. `userinfo` holds only
/// what the granted scopes release: nothing else is ever stored.
#[derive(Serialize, Deserialize)]
struct Grant {
    client_id: String,
    redirect_uri: String,
    code_challenge: String,
    nonce: String,
    scopes: Vec<String>,
    sub: String,
    auth_time: i64,
    userinfo: serde_json::Value,
}

impl std::fmt::Debug for Grant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Grant({}, REDACTED)", self.client_id)
    }
}

impl Backend {
    fn seal_grant(&self, what: &str, hash: &[u8], grant: &Grant) -> Result<Vec<u8>, crate::error::ApiError> {
        let plain =
            zeroize::Zeroizing::new(serde_json::to_vec(grant).map_err(|_| crate::error::ApiError::unavailable())?);
        Ok(self
            .key
            .seal(&format!("mynaid-oidc-{what}\0{}", hex::encode(hash)), &plain))
    }

    fn open_grant(&self, what: &str, hash: &[u8], sealed: &[u8]) -> Option<Grant> {
        let plain = self
            .key
            .open(&format!("mynaid-oidc-{what}\0{}", hex::encode(hash)), sealed)?;
        serde_json::from_slice(&plain).ok()
    }
}

/// An OAuth error answered as JSON (token and UserInfo endpoints), RFC 6749 §5.2.
#[derive(Debug)]
struct OAuthError {
    status: StatusCode,
    error: &'static str,
    description: &'static str,
    www_authenticate: Option<&'static str>,
}

impl OAuthError {
    fn new(error: &'static str, description: &'static str) -> Self {
        OAuthError {
            status: StatusCode::BAD_REQUEST,
            error,
            description,
            www_authenticate: None,
        }
    }

    fn invalid_client(description: &'static str, basic: bool) -> Self {
        OAuthError {
            status: StatusCode::UNAUTHORIZED,
            error: "invalid_client",
            description,
            www_authenticate: basic.then_some("Basic realm=\"mynaid\""),
        }
    }
}

impl From<crate::error::ApiError> for OAuthError {
    fn from(_: crate::error::ApiError) -> Self {
        OAuthError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            error: "temporarily_unavailable",
            description: "the service cannot process this right now",
            www_authenticate: None,
        }
    }
}

impl From<crate::store::StoreError> for OAuthError {
    fn from(e: crate::store::StoreError) -> Self {
        crate::error::ApiError::from(e).into()
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = json!({ "error": self.error, "error_description": self.description });
        let mut resp = (self.status, no_store(), axum::Json(body)).into_response();
        if let Some(w) = self.www_authenticate {
            resp.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(w));
        }
        resp
    }
}

fn no_store() -> [(header::HeaderName, &'static str); 2] {
    [(header::CACHE_CONTROL, "no-store"), (header::PRAGMA, "no-cache")]
}

/// Parses `application/x-www-form-urlencoded` (query or body); a parameter given twice is
/// refused (RFC 6749 §3.1).
fn form(text: &str) -> Result<HashMap<String, String>, String> {
    let mut out = HashMap::new();
    for (k, v) in url::form_urlencoded::parse(text.as_bytes()) {
        if out.insert(k.to_string(), v.to_string()).is_some() {
            return Err(k.to_string());
        }
    }
    Ok(out)
}

/// Unpadded base64url of SHA-256.
fn s256(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, text.as_bytes()))
}
