//! OpenID Connect configuration: the `[oidc]` table and its `[[oidc.clients]]`.
//!
//! ```toml
//! [oidc]
//! signing_key_rotation_secs = 2592000
//!
//! [[oidc.clients]]
//! client_id = "portal"
//! name = "登録ポータル"
//! name_en = "Registration portal"
//! redirect_uris = ["https://portal.example.jp/callback"]
//! scopes = ["name", "address", "birthdate", "gender"]
//! purposes = ["verify_identity", "link_card"]
//! auth_method = "private_key_jwt"
//! jwks_file = "/etc/mynaid/portal-jwks.json"
//! ```
//!
//! Each client also becomes a relying party of the verification sessions (same id, name and
//! origin, [`relying_parties`]); its sessions can only return to this server's own callback,
//! and it has no API key anyone knows, so the simple relying-party API stays closed to it.

use std::path::PathBuf;

use jsonwebtoken::jwk::JwkSet;
use mynaid_protocol::{Purpose, Route};
use mynaid_sessions::RelyingParty;
use mynaid_sessions::secrets::token;
use serde::Deserialize;

/// The scopes that release card-face claims (beyond `openid`).
pub const CLAIM_SCOPES: [&str; 4] = ["name", "address", "birthdate", "gender"];

/// The path of the internal callback the verification sessions return to.
pub const CALLBACK_PATH: &str = "/oidc/callback";

/// Server-wide OpenID Connect settings and the registered clients.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OidcConfig {
    /// After how many seconds a new signing key replaces the current one (default 30 days).
    /// The old public key stays in the JWKS until every ID token it signed has expired.
    pub signing_key_rotation_secs: u64,
    /// Lifetime of an authorization code (default 60 s).
    pub code_ttl_secs: u64,
    /// How long a person has from the authorization request to the end of the card reading
    /// (default an hour, a verification session's longest life with every extension; the
    /// session has its own, shorter limits).
    pub request_ttl_secs: u64,
    /// The `trust_framework` of `verified_claims` (default `jp_aml`: Japan's Act on Prevention
    /// of Transfer of Criminal Proceeds; set what your deployment's legal basis is).
    pub trust_framework: String,
    /// The longest a client assertion (`private_key_jwt`) may live, `exp` − now, in seconds
    /// (default 3600: what common relying-party libraries send). RFC 7523 sets no limit; the
    /// provider remembers each `jti` until its `exp`, so a longer limit costs storage, not
    /// safety.
    pub max_assertion_lifetime_secs: u64,
    /// The registered clients.
    pub clients: Vec<OidcClientConfig>,
}

impl Default for OidcConfig {
    fn default() -> Self {
        OidcConfig {
            signing_key_rotation_secs: 30 * 24 * 3600,
            code_ttl_secs: 60,
            request_ttl_secs: 3600,
            trust_framework: "jp_aml".into(),
            max_assertion_lifetime_secs: 3600,
            clients: Vec::new(),
        }
    }
}

mynaid_protocol::named_enum! {
    /// How a client authenticates at the token endpoint.
    #[derive(Default)]
    pub enum AuthMethod {
        /// RFC 7523: a JWT signed with a key of the client's JWKS.
        #[default]
        PrivateKeyJwt = "private_key_jwt",
        /// HTTP Basic with the client secret.
        ClientSecretBasic = "client_secret_basic",
        /// The client secret in the form body (`client_id`, `client_secret`).
        ClientSecretPost = "client_secret_post",
    }
}

mynaid_protocol::named_enum! {
    /// The security profile a client is registered with.
    #[derive(Default)]
    pub enum ClientProfile {
        /// OpenID Connect Core with this provider's defaults (PKCE, exact redirect URIs).
        #[default]
        Oidc = "oidc",
        /// The FAPI 2.0 Security Profile: pushed authorization requests required (RFC 9126),
        /// access tokens bound to the client's key with DPoP (RFC 9449), `private_key_jwt`
        /// with PS256 or ES256, PKCE S256, ID tokens signed PS256.
        Fapi2 = "fapi2",
    }
}

/// One registered client.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcClientConfig {
    /// `[0-9A-Za-z._-]{1,255}`; also the relying-party id of its sessions and the scope of
    /// its pairwise `sub`. Must differ from every `[[relying_parties]]` id.
    pub client_id: String,
    /// The service name shown to the person, in Japanese.
    pub name: String,
    /// The service name in English.
    pub name_en: String,
    /// The origin shown to the person and signed by the card (default: the origin of the
    /// first redirect URI).
    #[serde(default)]
    pub origin: Option<String>,
    /// Redirect URIs, compared exactly.
    pub redirect_uris: Vec<String>,
    /// The claim scopes it may ask for (of `name`, `address`, `birthdate`, `gender`);
    /// `openid` is always allowed. Default: all four.
    #[serde(default = "all_claim_scopes")]
    pub scopes: Vec<String>,
    /// Why it asks: `verify_identity` and/or `link_card`. With several, the authorization
    /// request chooses with `purpose`; the first is the default.
    #[serde(default = "default_purposes")]
    pub purposes: Vec<Purpose>,
    /// `private_key_jwt` (default), `client_secret_basic` or `client_secret_post`.
    #[serde(default)]
    pub auth_method: AuthMethod,
    /// `oidc` (default) or `fapi2` (docs/oidc.md "FAPI 2.0").
    #[serde(default)]
    pub profile: ClientProfile,
    /// Whether authorization requests must carry `nonce` (default false: OpenID Connect Core
    /// makes it optional in the code flow; PKCE binds the code to the client's session).
    #[serde(default)]
    pub require_nonce: bool,
    /// Whether authorization requests must carry PKCE (`code_challenge`, S256; default true).
    /// Only for a confidential client whose library cannot do PKCE: `plain` is never accepted.
    #[serde(default = "yes")]
    pub require_pkce: bool,
    /// The secret of `client_secret_basic` / `client_secret_post` (at least 32 characters).
    #[serde(default)]
    pub client_secret: Option<String>,
    /// The public keys of `private_key_jwt`, as JWKS JSON text.
    #[serde(default)]
    pub jwks: Option<String>,
    /// Or a file holding the JWKS JSON.
    #[serde(default)]
    pub jwks_file: Option<PathBuf>,
    /// ID token lifetime in seconds (default 300).
    #[serde(default = "default_ttl")]
    pub id_token_ttl_secs: u64,
    /// Access token lifetime in seconds (default 300).
    #[serde(default = "default_ttl")]
    pub access_token_ttl_secs: u64,
    /// Which evidence routes its sessions accept (`signature`, `input_support`), as for
    /// `[[relying_parties]]`: empty (the default) is by purpose, the signature route only to
    /// verify identity.
    #[serde(default)]
    pub accepted_routes: Vec<Route>,
}

fn all_claim_scopes() -> Vec<String> {
    CLAIM_SCOPES.iter().map(|s| s.to_string()).collect()
}

fn default_purposes() -> Vec<Purpose> {
    vec![Purpose::VerifyIdentity]
}

fn default_ttl() -> u64 {
    300
}

fn yes() -> bool {
    true
}

/// A client ready to use: its configuration and its parsed JWKS.
#[derive(Debug, Clone)]
pub struct Client {
    /// The configuration.
    pub config: OidcClientConfig,
    /// The origin (configured or derived).
    pub origin: String,
    /// The public keys (`private_key_jwt`).
    pub jwks: Option<JwkSet>,
}

impl Client {
    /// The routes its sessions for `purpose` accept: the configured ones, or the purpose's
    /// default (the signature route only to verify identity).
    pub fn routes_for(&self, purpose: Purpose) -> Vec<Route> {
        if self.config.accepted_routes.is_empty() {
            purpose.default_routes().to_vec()
        } else {
            self.config.accepted_routes.clone()
        }
    }
}

/// The origin (`scheme://host[:port]`) of an absolute http(s) URL.
pub fn origin_of(uri: &str) -> Option<String> {
    let u = url::Url::parse(uri).ok()?;
    if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none() {
        return None;
    }
    Some(u.origin().ascii_serialization())
}

fn check_redirect_uri(client: &str, uri: &str, allow_http: bool) -> Result<(), String> {
    let u = url::Url::parse(uri).map_err(|e| format!("oidc client {client}: redirect URI {uri:?}: {e}"))?;
    let loopback = matches!(u.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    if !(u.scheme() == "https" || (u.scheme() == "http" && (loopback || allow_http))) {
        return Err(format!(
            "oidc client {client}: redirect URI {uri:?} must be https (http only for loopback, or when this server is http)"
        ));
    }
    if u.fragment().is_some() {
        return Err(format!("oidc client {client}: redirect URI {uri:?} has a fragment"));
    }
    Ok(())
}

/// Validates the clients, reads their JWKS and returns them. `relying_parties` are the ids of
/// the `[[relying_parties]]`, which a client id must not repeat; a server that is itself
/// plain http (`https` false: a demo, a test) may send people to plain-http redirect URIs.
pub fn load_clients(config: &OidcConfig, relying_parties: &[&str], https: bool) -> Result<Vec<Client>, String> {
    let allow_http = !https;
    let mut clients = Vec::new();
    for c in &config.clients {
        let id = &c.client_id;
        if id.is_empty()
            || id.len() > 255
            || !id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        {
            return Err(format!("oidc client id {id:?} must be 1-255 of A-Z a-z 0-9 . _ -"));
        }
        if relying_parties.contains(&id.as_str()) || clients.iter().any(|k: &Client| &k.config.client_id == id) {
            return Err(format!(
                "oidc client id {id:?} is used twice (clients and relying parties share ids)"
            ));
        }
        if c.redirect_uris.is_empty() {
            return Err(format!("oidc client {id}: no redirect_uris"));
        }
        for uri in &c.redirect_uris {
            check_redirect_uri(id, uri, allow_http)?;
        }
        if let Some(s) = c.scopes.iter().find(|s| !CLAIM_SCOPES.contains(&s.as_str())) {
            return Err(format!(
                "oidc client {id}: unknown scope {s:?} (allowed: name, address, birthdate, gender)"
            ));
        }
        if c.purposes.is_empty() {
            return Err(format!("oidc client {id}: purposes is empty"));
        }
        if c.id_token_ttl_secs == 0
            || c.id_token_ttl_secs > 86_400
            || c.access_token_ttl_secs == 0
            || c.access_token_ttl_secs > 86_400
        {
            return Err(format!("oidc client {id}: token lifetimes must be 1-86400 seconds"));
        }
        if c.profile == ClientProfile::Fapi2 && (c.auth_method != AuthMethod::PrivateKeyJwt || !c.require_pkce) {
            return Err(format!(
                "oidc client {id}: the fapi2 profile needs auth_method = \"private_key_jwt\" and PKCE"
            ));
        }
        let origin = match &c.origin {
            Some(o) => o.trim_end_matches('/').to_string(),
            None => origin_of(&c.redirect_uris[0]).ok_or_else(|| format!("oidc client {id}: no origin"))?,
        };
        let jwks = match c.auth_method {
            AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost => {
                if c.client_secret.as_deref().is_none_or(|s| s.len() < 32) {
                    return Err(format!(
                        "oidc client {id}: {} needs a client_secret of at least 32 characters",
                        c.auth_method
                    ));
                }
                None
            }
            AuthMethod::PrivateKeyJwt => {
                let text = match (&c.jwks, &c.jwks_file) {
                    (Some(t), None) => t.clone(),
                    (None, Some(p)) => std::fs::read_to_string(p)
                        .map_err(|e| format!("oidc client {id}: jwks_file {}: {e}", p.display()))?,
                    _ => {
                        return Err(format!(
                            "oidc client {id}: private_key_jwt needs exactly one of jwks, jwks_file"
                        ));
                    }
                };
                let set: JwkSet = serde_json::from_str(&text).map_err(|e| format!("oidc client {id}: JWKS: {e}"))?;
                if set.keys.is_empty() {
                    return Err(format!("oidc client {id}: the JWKS has no keys"));
                }
                Some(set)
            }
        };
        clients.push(Client {
            config: c.clone(),
            origin,
            jwks,
        });
    }
    Ok(clients)
}

/// The clients as relying parties of the verification sessions of the server at
/// `public_origin`: their sessions return only to its callback.
pub fn relying_parties(clients: &[Client], public_origin: &str) -> Vec<RelyingParty> {
    let callback = format!("{public_origin}{CALLBACK_PATH}");
    clients
        .iter()
        .map(|c| RelyingParty {
            id: c.config.client_id.clone(),
            name: c.config.name.clone(),
            name_en: c.config.name_en.clone(),
            origin: c.origin.clone(),
            // Nobody knows this key: the client reaches its sessions only through OIDC.
            api_key: token::<32>(),
            return_urls: vec![callback.clone()],
            accepted_routes: c.config.accepted_routes.clone(),
            link_status: true,
        })
        .collect()
}

impl OidcConfig {
    /// The longest ID token lifetime of any client (how long a retired key stays published).
    pub fn max_id_token_ttl(&self) -> u64 {
        self.clients.iter().map(|c| c.id_token_ttl_secs).max().unwrap_or(300)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct File {
        oidc: OidcConfig,
    }

    fn parse(extra: &str) -> Result<OidcConfig, String> {
        let text = format!(
            r#"
            [oidc]
            signing_key_rotation_secs = 86400
            [[oidc.clients]]
            client_id = "portal"
            name = "登録ポータル"
            name_en = "Registration portal"
            redirect_uris = ["https://portal.example.jp/cb"]
            purposes = ["link_card", "verify_identity"]
            auth_method = "client_secret_basic"
            client_secret = "0123456789abcdef0123456789abcdef"
            {extra}
            "#
        );
        toml::from_str::<File>(&text).map(|f| f.oidc).map_err(|e| e.to_string())
    }

    #[test]
    fn clients_become_relying_parties_of_their_sessions() {
        let c = parse("").unwrap();
        assert_eq!(c.signing_key_rotation_secs, 86_400);
        assert_eq!(c.code_ttl_secs, 60);
        let clients = load_clients(&c, &["simple"], true).unwrap();
        assert_eq!(clients[0].origin, "https://portal.example.jp");
        assert_eq!(clients[0].config.scopes, CLAIM_SCOPES);
        let rps = relying_parties(&clients, "https://id.example.jp");
        let rp = rps.iter().find(|r| r.id == "portal").unwrap();
        assert_eq!(rp.return_urls, ["https://id.example.jp/oidc/callback"]);
        assert_eq!(rp.origin, "https://portal.example.jp");
        assert!(rp.api_key.len() >= 43, "an unguessable key");
    }

    #[test]
    fn invalid_clients_stop_the_start() {
        let refused = |extra: &str| {
            let c = parse(extra).unwrap();
            load_clients(&c, &["simple"], true).unwrap_err()
        };
        let clash = "[[oidc.clients]]\nclient_id = \"simple\"\nname = \"x\"\nname_en = \"x\"\nredirect_uris = [\"https://x.example/cb\"]\nauth_method = \"client_secret_basic\"\nclient_secret = \"0123456789abcdef0123456789abcdef\"";
        assert!(refused(clash).contains("used twice"));
        let http = clash
            .replace("simple", "other")
            .replace("https://x.example/cb", "http://x.example/cb");
        assert!(refused(&http).contains("https"));
        let short = clash
            .replace("simple", "other")
            .replace("0123456789abcdef0123456789abcdef", "short");
        assert!(refused(&short).contains("client_secret"));
        let no_keys = clash.replace("simple", "other").replace(
            "auth_method = \"client_secret_basic\"",
            "auth_method = \"private_key_jwt\"",
        );
        assert!(refused(&no_keys).contains("jwks"));
        let scope = format!("{}\nscopes = [\"email\"]", clash.replace("simple", "other"));
        assert!(refused(&scope).contains("scope"));
        assert!(parse("unknown = 1").is_err());
    }
}
