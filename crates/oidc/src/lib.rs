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
//! procedure page (any of the three patterns) → the session returns to `/oidc/callback`,
//! which takes the result once ([`Service::take_result`]), keeps only what the granted scopes
//! release, and redirects with a single-use code → `/oidc/token` → `/oidc/userinfo`. See
//! `docs/oidc.md`.
//!
//! Those two calls are all this crate asks of the session core (`mynaid-sessions`): the
//! provider sits on top of it, with its own tables ([`store`]), its own configuration
//! ([`config`]) and its own routes ([`routes`]), which the server mounts.

pub mod config;
pub mod store;

mod authorize;
mod claims;
mod client_auth;
mod consent;
mod dpop;
mod keys;
mod token;

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use mynaid_db::StoreError;
use mynaid_protocol::{Purpose, Route};
use mynaid_sessions::Service;
use mynaid_sessions::secrets::SealingKey;
use serde::{Deserialize, Serialize};
use serde_json::json;

use self::config::{Client, OidcConfig};
use self::store::OidcStore;

pub use self::keys::ALG;

/// The scope of the client-credentials tokens with which a client manages its event stream
/// and polls it (`mynaid-signals`, OpenID Shared Signals Framework).
pub const SSF_SCOPE: &str = "ssf";

/// A client's request to an event-stream endpoint, refused: the RFC 6750 answer to send.
pub type Refusal = Response;

/// The OpenID Connect provider: the session core it sits on, its tables, the sealing key,
/// the clients.
pub struct Provider {
    sessions: Arc<Service>,
    store: OidcStore,
    key: SealingKey,
    settings: OidcConfig,
    clients: HashMap<String, Client>,
    max_id_token_ttl: u64,
    issuer: String,
    https: bool,
    /// The signing keys opened so far (keys.rs).
    key_cache: keys::KeyCache,
}

impl std::fmt::Debug for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "oidc::Provider({} clients)", self.clients.len())
    }
}

impl Provider {
    /// Assembles the provider of the server at `issuer` (its public origin). `key` is the
    /// configured `result_key` (sealed here with associated data of its own, so nothing
    /// sealed here opens as a session result or the reverse).
    pub fn new(
        sessions: Arc<Service>,
        settings: &OidcConfig,
        clients: Vec<Client>,
        store: OidcStore,
        key: SealingKey,
        issuer: String,
    ) -> Result<Provider, String> {
        if settings.signing_key_rotation_secs < 60 {
            return Err("oidc.signing_key_rotation_secs must be at least 60".into());
        }
        if settings.code_ttl_secs == 0 || settings.code_ttl_secs > 600 {
            return Err("oidc.code_ttl_secs must be 1-600".into());
        }
        if settings.max_assertion_lifetime_secs < 60 || settings.max_assertion_lifetime_secs > 86_400 {
            return Err("oidc.max_assertion_lifetime_secs must be 60-86400".into());
        }
        Ok(Provider {
            sessions,
            store,
            key,
            max_id_token_ttl: settings.max_id_token_ttl(),
            settings: settings.clone(),
            clients: clients.into_iter().map(|c| (c.config.client_id.clone(), c)).collect(),
            https: issuer.starts_with("https://"),
            issuer,
            key_cache: keys::KeyCache::default(),
        })
    }

    /// Deletes the expired OpenID Connect rows (what the periodic purge of `serve` and
    /// `mynaid-server purge` run).
    pub async fn purge(&self, now: i64) -> Result<(), StoreError> {
        self.store.purge_expired(self.settings.code_ttl_secs, now).await
    }

    /// Now, on the session core's clock.
    fn now(&self) -> i64 {
        self.sessions.now()
    }

    /// The name of the cookie of an authorization request.
    fn cookie_name(&self, request_id: &str) -> String {
        mynaid_web::cookies::name("mynaid-oidc", request_id, self.https)
    }

    /// The issuer identifier (the server's public origin).
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    fn client(&self, id: &str) -> Option<&Client> {
        self.clients.get(id)
    }

    /// The registered clients' ids.
    pub fn client_ids(&self) -> Vec<String> {
        self.clients.keys().cloned().collect()
    }

    /// The client whose access token of scope [`SSF_SCOPE`] a request to `path` carries
    /// (`Bearer`, or `DPoP` with a proof for this request): for the event-stream endpoints.
    pub async fn stream_client(
        self: &Arc<Self>,
        method: &axum::http::Method,
        path: &str,
        headers: &axum::http::HeaderMap,
    ) -> Result<String, Refusal> {
        let grant = token::access_grant(self, method, path, headers, &[]).await?;
        if grant.scopes.iter().any(|s| s == SSF_SCOPE) {
            Ok(grant.client_id)
        } else {
            Err(OAuthError {
                status: StatusCode::FORBIDDEN,
                error: "insufficient_scope",
                description: "this endpoint needs an access token of scope ssf (client_credentials grant)",
                www_authenticate: Some("Bearer realm=\"mynaid\", error=\"insufficient_scope\", scope=\"ssf\""),
            }
            .into_response())
        }
    }

    /// Signs a Security Event Token (RFC 8417) for `client_id` with the provider's current
    /// key: `typ` `secevent+jwt`, the algorithm of the client's ID tokens (PS256 for FAPI
    /// 2.0 clients, RS256 otherwise), verifiable with the provider's JWKS.
    pub async fn sign_event(&self, client_id: &str, claims: &serde_json::Value) -> Option<String> {
        let alg = match self.client(client_id)?.config.profile {
            config::ClientProfile::Fapi2 => jsonwebtoken::Algorithm::PS256,
            config::ClientProfile::Oidc => jsonwebtoken::Algorithm::RS256,
        };
        let key = self.signing_key(self.now()).await.ok()?;
        key.sign_typed(claims, alg, "secevent+jwt").ok()
    }

    /// The URL of `path` at this provider.
    pub fn url(&self, path: &str) -> String {
        self.endpoint(path)
    }

    fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }
}

/// The state of the OpenID Connect handlers.
type Oidc = Arc<Provider>;

/// The OpenID Connect routes.
pub fn routes<S: Clone + Send + Sync + 'static>(provider: Arc<Provider>) -> Router<S> {
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
        .route("/oidc/par", axum::routing::post(token::par))
        .route("/oidc/userinfo", get(token::userinfo).post(token::userinfo))
        .with_state(provider)
}

/// The validated parameters of an authorization request (stored with it).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct AuthParams {
    redirect_uri: String,
    scopes: Vec<String>,
    state: String,
    /// OpenID Connect Core makes `nonce` optional in the code flow (a client may require it).
    #[serde(default)]
    nonce: Option<String>,
    /// PKCE (S256), required unless the client is registered without it.
    #[serde(default)]
    code_challenge: Option<String>,
    purpose: Purpose,
    /// The language `ui_locales` asked for (the first of Japanese and English it names);
    /// none: the browser's ([`mynaid_web::preferred_lang`]) on each page.
    #[serde(default)]
    ui_lang: Option<mynaid_protocol::Lang>,
    /// The routes the request's assurance (`acr_values`, an essential `acr` claim) allows,
    /// among the client's; empty: the client's.
    #[serde(default)]
    routes: Vec<Route>,
}

/// What a code (and then its access token) grants. Sealed at rest. `userinfo` holds only
/// what the granted scopes release: nothing else is ever stored.
#[derive(Serialize, Deserialize)]
struct Grant {
    client_id: String,
    redirect_uri: String,
    #[serde(default)]
    code_challenge: Option<String>,
    #[serde(default)]
    nonce: Option<String>,
    scopes: Vec<String>,
    sub: String,
    auth_time: i64,
    /// What the result proves (`acr`) and how the person authenticated (`amr`), for the ID
    /// token.
    #[serde(default)]
    acr: String,
    #[serde(default)]
    amr: Vec<String>,
    userinfo: serde_json::Value,
    /// The RFC 7638 thumbprint of the key the access token is bound to (DPoP, `cnf.jkt`).
    #[serde(default)]
    dpop_jkt: Option<String>,
}

impl std::fmt::Debug for Grant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Grant({}, REDACTED)", self.client_id)
    }
}

impl Provider {
    fn seal_grant(&self, what: &str, hash: &[u8], grant: &Grant) -> Result<Vec<u8>, OAuthError> {
        self.seal(&format!("mynaid-oidc-{what}\0{}", hex::encode(hash)), grant)
            .ok_or_else(OAuthError::unavailable)
    }

    fn open_grant(&self, what: &str, hash: &[u8], sealed: &[u8]) -> Option<Grant> {
        self.open(&format!("mynaid-oidc-{what}\0{}", hex::encode(hash)), sealed)
    }

    /// `value` as JSON, sealed for `context` (what it is and whose: a grant's hash, a
    /// request's id), so that it opens only there.
    fn seal<T: Serialize>(&self, context: &str, value: &T) -> Option<Vec<u8>> {
        let plain = zeroize::Zeroizing::new(serde_json::to_vec(value).ok()?);
        Some(self.key.seal(context, &plain))
    }

    /// What [`Self::seal`] sealed for `context`.
    fn open<T: serde::de::DeserializeOwned>(&self, context: &str, sealed: &[u8]) -> Option<T> {
        serde_json::from_slice(&self.key.open(context, sealed)?).ok()
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

impl OAuthError {
    fn unavailable() -> Self {
        OAuthError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            error: "temporarily_unavailable",
            description: "the service cannot process this right now",
            www_authenticate: None,
        }
    }
}

impl From<StoreError> for OAuthError {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "storage failure");
        OAuthError::unavailable()
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

/// Unpadded base64url of SHA-256.
fn s256(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mynaid_sessions::secrets::sha256(text.as_bytes()))
}
