//! What the session core is configured with: its settings and the applications (relying
//! parties) that may ask for verification. `RelyingParty` is read as it stands in the
//! server's configuration file (`[[relying_parties]]`).

use mynaid_protocol::{Purpose, Route};
use serde::Deserialize;

/// The session core's settings (from the server's configuration).
#[derive(Debug, Clone)]
pub struct Settings {
    /// The origin people and reading devices reach the server at (`scheme://host[:port]`).
    pub public_origin: String,
    /// Lifetime of a session, its challenge and its handle, in seconds.
    pub session_ttl_secs: u64,
    /// The oldest reader app version accepted.
    pub min_reader_version: String,
    /// How long ended sessions are kept, in seconds.
    pub retention_secs: u64,
}

/// One application that may ask for verification.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelyingParty {
    /// Stable identifier (also the pairwise card-link scope).
    pub id: String,
    /// The service name shown to the person, in Japanese.
    pub name: String,
    /// The service name in English.
    pub name_en: String,
    /// The service's origin, shown to the person and bound into the card's signature.
    pub origin: String,
    /// The API key the service authenticates with (compared in constant time).
    pub api_key: String,
    /// Where the browser may be sent back to (exact match).
    #[serde(default)]
    pub return_urls: Vec<String>,
    /// Which evidence routes this service accepts: `signature` (the signature password; the
    /// four items inside the JPKI signature certificate, AML grade) and `user_authentication`
    /// (the 4-digit PINs; the user-authentication certificate proves the holder, the four
    /// items are card records not bound to it: see docs/evidence.md).
    /// Empty (the default): by purpose, [`Purpose::default_routes`] (the signature route
    /// only to verify identity).
    #[serde(default)]
    pub accepted_routes: Vec<Route>,
    /// Whether a card it links is re-checked against every fresh CRL and a revocation is
    /// told to it as an event (`crate::links`; set for the OpenID Connect clients, which
    /// receive events through the Shared Signals Framework). The API's relying parties
    /// have no event stream: nothing is kept for them.
    #[serde(skip)]
    pub link_status: bool,
}

impl RelyingParty {
    /// The routes its sessions for `purpose` accept: the configured ones, or the purpose's
    /// default.
    pub fn routes_for(&self, purpose: Purpose) -> Vec<Route> {
        if self.accepted_routes.is_empty() {
            purpose.default_routes().to_vec()
        } else {
            self.accepted_routes.clone()
        }
    }
}
