//! Configuration: a TOML file, then `MYNAID_*` environment variables, over defaults that run
//! as they are (`mynaid-server serve` with nothing else listens on 127.0.0.1:8080 with an
//! SQLite file). One file for the whole server; its parts go to the crates that own them:
//! the session core ([`Config::settings`], `[[relying_parties]]`), the OpenID Connect provider
//! (`[oidc]`), the HTTP server (`[limits]`, `[demo]`) and the verifier (`[trust]`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use mynaid_oidc::config::OidcConfig;
use mynaid_sessions::{RelyingParty, Settings};
use serde::Deserialize;

/// The whole configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// The URL people and reading devices reach this server at (scheme, host, port).
    pub public_url: String,
    /// `sqlite://PATH` (created and migrated at start).
    pub database_url: String,
    /// AES-256-GCM key for stored results, base64 (32 bytes). Without it a random key is
    /// made at start, and results do not survive a restart.
    pub result_key: Option<String>,
    /// Secret for the pairwise card-link identifiers, base64 (at least 32 bytes). Without it a
    /// random one is made at start, and identifiers change at every restart.
    pub link_secret: Option<String>,
    /// Lifetime of a session, its challenge and its handle, in seconds.
    pub session_ttl_secs: u64,
    /// The oldest reader app version the server accepts.
    pub min_reader_version: String,
    /// Where a person gets the reader app and the phone app: the "app needed" page and the
    /// reader page link to it (default: the project's releases page).
    pub app_install_url: String,
    /// Trust anchors and revocation.
    pub trust: TrustConfig,
    /// The applications allowed to ask for verification.
    pub relying_parties: Vec<RelyingParty>,
    /// `text` (default) or `json`: one JSON object per line, for a log collector.
    pub log_format: LogFormat,
    /// Timeouts and caps of the HTTP server (`[http]`).
    pub http: HttpConfig,
    /// Where `/metrics` (Prometheus) is served: a separate address, never the public one,
    /// so that only the operator's network reaches it. Unset: no metrics.
    pub metrics_listen: Option<SocketAddr>,
    /// Demo hints (the emulated cards' directory) shown on the pages.
    pub demo: Option<DemoConfig>,
    /// OpenID Connect: signing keys and the registered clients (`[oidc]`, `[[oidc.clients]]`;
    /// see `docs/oidc.md`).
    pub oidc: OidcConfig,
    /// Rate limits on redeeming handles, submitting evidence and typing confirmation codes
    /// (`[limits]`; see `docs/reliability.md`).
    pub limits: LimitsConfig,
    /// How long ended sessions are kept, in seconds: a verified result that was never taken
    /// is deleted this long after its session's time limit, a finished (taken, failed)
    /// session this long after it ended. A taken result is deleted at once.
    pub retention_secs: u64,
    /// How often `serve` deletes what is past `retention_secs`, in seconds (0: never; run
    /// `mynaid-server purge` instead).
    pub purge_interval_secs: u64,
    /// Events to the applications about their linked cards (`[signals]`; see
    /// `docs/signals.md`).
    pub signals: mynaid_signals::SignalsConfig,
}

/// Rate limits: token buckets kept in memory by each instance, one per handle (or session)
/// and one per client address. `burst` requests at once, then `per_minute` a minute; a
/// `burst` of 0 turns that limit off.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Requests at once for one handle or session (redeem, evidence, confirmation code).
    pub per_handle_burst: u32,
    /// Requests a minute for one handle or session, after the burst.
    pub per_handle_per_minute: u32,
    /// Requests at once from one client address (redeem, evidence, confirmation code
    /// together).
    pub per_address_burst: u32,
    /// Requests a minute from one client address, after the burst.
    pub per_address_per_minute: u32,
    /// Requests at once from one client (the relying-party API, token, UserInfo; by its
    /// credential): one relying party's server speaks for all its users.
    pub per_client_burst: u32,
    /// Requests a minute from one client, after the burst.
    pub per_client_per_minute: u32,
    /// The header a trusted reverse proxy puts the client address in (for example
    /// `x-forwarded-for`; its last entry is used). Unset: the address of the connection.
    /// Set it only when every request comes through that proxy: otherwise a client chooses
    /// its own address.
    pub client_address_header: Option<String>,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            per_handle_burst: 10,
            per_handle_per_minute: 10,
            per_address_burst: 120,
            per_address_per_minute: 600,
            per_client_burst: 600,
            per_client_per_minute: 6_000,
            client_address_header: None,
        }
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// Timeouts and caps of the HTTP server: what a stranger's slow or many connections may
/// hold. The defaults suit a server on the internet behind nothing; a reverse proxy in
/// front may allow larger numbers.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Seconds a client has to send a request's whole header block.
    pub header_read_timeout_secs: u64,
    /// Seconds a request may take, body and handler included (not the live-status streams,
    /// which end with their session).
    pub request_timeout_secs: u64,
    /// Seconds a kept-alive connection may sit idle between requests.
    pub idle_timeout_secs: u64,
    /// Open connections at most; more wait to be accepted.
    pub max_connections: usize,
    /// Open connections at most from one client address (IPv6: its /64); more are closed at
    /// once.
    pub max_connections_per_address: usize,
    /// Live-status streams (SSE) open at once for one session.
    pub sse_per_session: usize,
    /// Live-status streams open at once from one client address.
    pub sse_per_address: usize,
    /// Seconds a shutdown waits for requests to finish (streams get a last event and end).
    pub shutdown_grace_secs: u64,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            header_read_timeout_secs: 10,
            request_timeout_secs: 30,
            idle_timeout_secs: 60,
            max_connections: 10_000,
            max_connections_per_address: 256,
            sse_per_session: 4,
            sse_per_address: 64,
            shutdown_grace_secs: 10,
        }
    }
}

/// Trust anchors and revocation.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrustConfig {
    /// `production` (only the pinned official JPKI roots) or `test` (any configured root;
    /// must be chosen explicitly).
    pub mode: TrustModeConfig,
    /// JPKI root certificates (DER files).
    pub roots: Vec<PathBuf>,
    /// Where the CRLs (DER) come from: each a file path, or an `http://` or `https://` URL
    /// (the CRL's signature protects it, so plain HTTP will do, as JPKI publishes them).
    /// Checked against the roots at load and taken again every `crl_refresh_secs` and at the
    /// earliest `nextUpdate` (whatever puts fresh CRLs in a file — the platform operator's
    /// download, `mynaid-server pki revoke` — need not restart the server). A URL is fetched
    /// by one instance for all on a shared database (`crl_sources`).
    pub crls: Vec<CrlSource>,
    /// How often the CRLs are taken again, in seconds (default 3600; 0: only at start).
    /// A fresh CRL replaces the one of its issuer and distribution point only when it
    /// verifies, has a `nextUpdate` and is not older than the one in use; otherwise the last
    /// good one stays, and the failure is logged and counted
    /// (`mynaid_crl_refresh_failures_total`).
    pub crl_refresh_secs: u64,
    /// How long past its `nextUpdate` a CRL still answers, in seconds (default 0: fail
    /// closed — every reading of that issuer is refused until a fresh CRL is loaded).
    pub crl_grace_secs: u64,
    /// CV CA keys of the input-support AP (`cv-ca.json` files).
    pub cv_ca: Vec<PathBuf>,
    /// `require_crl` (fail closed) or `allow_unchecked`.
    pub revocation: RevocationConfig,
}

/// Where one CRL comes from: `http://…` or `https://…` is a URL, anything else a file path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CrlSource {
    /// A DER file, read again at each refresh.
    File(PathBuf),
    /// An `http` or `https` URL, fetched at each refresh (once for all instances).
    Url(reqwest::Url),
}

impl CrlSource {
    /// The source a configuration string names.
    pub fn parse(text: &str) -> Result<CrlSource, String> {
        let lower = text.get(..8).unwrap_or(text).to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") {
            let url = reqwest::Url::parse(text).map_err(|e| format!("CRL URL {text:?}: {e}"))?;
            if url.host_str().is_none_or(str::is_empty) {
                return Err(format!("CRL URL {text:?}: no host"));
            }
            Ok(CrlSource::Url(url))
        } else if text.is_empty() {
            Err("an empty CRL source".into())
        } else {
            Ok(CrlSource::File(PathBuf::from(text)))
        }
    }
}

impl std::fmt::Display for CrlSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CrlSource::File(path) => write!(f, "{}", path.display()),
            // Shown in logs: a password in the URL is not.
            CrlSource::Url(url) if url.password().is_some() => {
                let mut shown = url.clone();
                let _ = shown.set_password(Some("***"));
                f.write_str(shown.as_str())
            }
            CrlSource::Url(url) => f.write_str(url.as_str()),
        }
    }
}

impl From<PathBuf> for CrlSource {
    fn from(path: PathBuf) -> CrlSource {
        CrlSource::File(path)
    }
}

impl<'de> Deserialize<'de> for CrlSource {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        CrlSource::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Trust mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum TrustModeConfig {
    /// Official roots only.
    #[default]
    Production,
    /// Test roots (mynaid-server pki).
    Test,
}

/// Revocation policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum RevocationConfig {
    /// Fail closed.
    #[default]
    RequireCrl,
    /// Accept without a CRL and record it.
    AllowUnchecked,
}

/// Demo hints.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoConfig {
    /// Directory of the emulated cards, shown in the fallback command.
    pub cards_dir: PathBuf,
    /// Where the two binaries (`mynaid`, `mynaid-server`) are, so that the pages' demo
    /// commands run as shown; unset: by their names on `PATH`.
    #[serde(default)]
    pub bin_dir: Option<PathBuf>,
}

impl DemoConfig {
    /// How to run the binary `name` (`mynaid`, `mynaid-server`) in a demo command.
    pub fn command(&self, name: &str) -> String {
        match &self.bin_dir {
            Some(dir) => dir.join(name).display().to_string(),
            None => name.to_string(),
        }
    }
}

/// Where the apps are got unless the configuration says otherwise: the releases of the
/// project's repository.
pub const DEFAULT_APP_INSTALL_URL: &str = concat!(env!("CARGO_PKG_REPOSITORY"), "/releases");

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: "http://127.0.0.1:8080".into(),
            database_url: "sqlite://mynaid.db".into(),
            result_key: None,
            link_secret: None,
            session_ttl_secs: 300,
            min_reader_version: env!("CARGO_PKG_VERSION").into(),
            app_install_url: DEFAULT_APP_INSTALL_URL.into(),
            trust: TrustConfig::default(),
            relying_parties: Vec::new(),
            log_format: LogFormat::Text,
            http: HttpConfig::default(),
            metrics_listen: Some(SocketAddr::from(([127, 0, 0, 1], 9464))),
            demo: None,
            oidc: OidcConfig::default(),
            limits: LimitsConfig::default(),
            retention_secs: 3600,
            purge_interval_secs: 60,
            signals: mynaid_signals::SignalsConfig::default(),
        }
    }
}

impl TrustConfig {
    /// Test-mode trust in the test PKI that `mynaid-server pki generate` wrote into `dir`: its
    /// four JPKI roots, their CRLs (required) and the CV CA. What the demo and the tests run
    /// on.
    pub fn test_pki(dir: &Path) -> TrustConfig {
        TrustConfig {
            mode: TrustModeConfig::Test,
            roots: ["sign-root-g1", "sign-root-g2", "auth-root-g1", "auth-root-g2"]
                .iter()
                .map(|r| dir.join(format!("trust/jpki-{r}.der")))
                .collect(),
            crls: ["sign-g1", "sign-g2", "auth-g1", "auth-g2"]
                .iter()
                .map(|c| CrlSource::File(dir.join(format!("crl/jpki-{c}.crl"))))
                .collect(),
            cv_ca: vec![dir.join("trust/cv-ca.json")],
            revocation: RevocationConfig::RequireCrl,
            crl_refresh_secs: 3600,
            crl_grace_secs: 0,
        }
    }
}

impl Default for TrustConfig {
    fn default() -> Self {
        TrustConfig {
            mode: TrustModeConfig::Production,
            roots: Vec::new(),
            crls: Vec::new(),
            cv_ca: Vec::new(),
            revocation: RevocationConfig::RequireCrl,
            crl_refresh_secs: 3600,
            crl_grace_secs: 0,
        }
    }
}

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML of this shape.
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong (line and key).
        message: String,
    },
    /// An environment variable has a bad value.
    #[error("environment variable {name}: {message}")]
    Env {
        /// The variable.
        name: &'static str,
        /// What is wrong.
        message: String,
    },
}

impl Config {
    /// Loads `path` (if given) and applies `MYNAID_*` environment variables.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        let mut config = match path {
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|source| ConfigError::Read { path: p.into(), source })?;
                toml::from_str(&text).map_err(|e| ConfigError::Parse {
                    path: p.into(),
                    message: e.to_string(),
                })?
            }
            None => Config::default(),
        };
        config.apply_env(|k| std::env::var(k).ok())?;
        Ok(config)
    }

    /// Applies environment overrides through `get` (a parameter so tests need no globals).
    pub fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        if let Some(v) = get("MYNAID_LISTEN") {
            self.listen = v.parse().map_err(|e| ConfigError::Env {
                name: "MYNAID_LISTEN",
                message: format!("{e}"),
            })?;
        }
        if let Some(v) = get("MYNAID_PUBLIC_URL") {
            self.public_url = v;
        }
        if let Some(v) = get("MYNAID_DATABASE_URL") {
            self.database_url = v;
        }
        if let Some(v) = get("MYNAID_RESULT_KEY") {
            self.result_key = Some(v);
        }
        if let Some(v) = get("MYNAID_LINK_SECRET") {
            self.link_secret = Some(v);
        }
        if let Some(v) = get("MYNAID_LOG_FORMAT") {
            self.log_format = match v.as_str() {
                "json" => LogFormat::Json,
                "text" => LogFormat::Text,
                _ => {
                    return Err(ConfigError::Env {
                        name: "MYNAID_LOG_FORMAT",
                        message: "`text` or `json`".into(),
                    });
                }
            };
        }
        if let Some(v) = get("MYNAID_METRICS_LISTEN") {
            self.metrics_listen = match v.as_str() {
                "" | "off" => None,
                a => Some(a.parse().map_err(|e| ConfigError::Env {
                    name: "MYNAID_METRICS_LISTEN",
                    message: format!("{e}"),
                })?),
            };
        }
        Ok(())
    }

    /// Whether people reach this server over HTTPS (`public_url`): cookies get `Secure` and
    /// the `__Host-` prefix, responses `Strict-Transport-Security`.
    pub fn is_https(&self) -> bool {
        self.public_url.starts_with("https://")
    }

    /// The origin of `public_url` (scheme://host[:port]).
    pub fn public_origin(&self) -> String {
        self.public_url.trim_end_matches('/').to_string()
    }

    /// The session core's settings.
    pub fn settings(&self) -> Settings {
        Settings {
            public_origin: self.public_origin(),
            session_ttl_secs: self.session_ttl_secs,
            min_reader_version: self.min_reader_version.clone(),
            retention_secs: self.retention_secs,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_then_file_then_env() {
        let c: Config = toml::from_str(
            r#"
            public_url = "https://id.example.jp"
            [trust]
            mode = "test"
            roots = ["a.der"]
            [[relying_parties]]
            id = "portal"
            name = "登録ポータル"
            name_en = "Registration portal"
            origin = "https://portal.example.jp"
            api_key = "k"
            "#,
        )
        .unwrap();
        assert_eq!(c.listen.port(), 8080);
        assert_eq!(c.trust.mode, TrustModeConfig::Test);
        assert_eq!(c.relying_parties[0].origin, "https://portal.example.jp");
        let mut c = c;
        c.apply_env(|k| (k == "MYNAID_LISTEN").then(|| "0.0.0.0:9000".to_string()))
            .unwrap();
        assert_eq!(c.listen.port(), 9000);
        assert!(
            c.apply_env(|k| (k == "MYNAID_LISTEN").then(|| "nope".to_string()))
                .is_err()
        );
        assert!(toml::from_str::<Config>("unknown_key = 1").is_err());
    }

    #[test]
    fn crl_sources_are_paths_or_urls() {
        let c: Config = toml::from_str(
            r#"
            [trust]
            crls = ["crl/a.crl", "http://jpki.example.jp/crl/sign.crl", "HTTPS://crl.example.jp/b.crl"]
            "#,
        )
        .unwrap();
        assert_eq!(c.trust.crls[0], CrlSource::File(PathBuf::from("crl/a.crl")));
        assert!(matches!(&c.trust.crls[1], CrlSource::Url(u) if u.scheme() == "http"));
        assert_eq!(c.trust.crls[2].to_string(), "https://crl.example.jp/b.crl");
        let with_password = CrlSource::parse("https://op:secret@crl.example.jp/c.crl").unwrap();
        assert_eq!(with_password.to_string(), "https://op:***@crl.example.jp/c.crl");
        for bad in ["http://", "https://[::1/x.crl", ""] {
            let text = format!("[trust]\ncrls = [{bad:?}]");
            assert!(toml::from_str::<Config>(&text).is_err(), "{bad}");
        }
    }
}
