//! Rate limits on every step a stranger can repeat: the reading device's (redeem, evidence,
//! status), the browser's (start link, the pages' posts, live status, the way back, the
//! confirmation code, authorization and consent) and a client's (the relying-party API,
//! token, UserInfo). Token buckets in memory, kept by each instance (several instances each
//! allow the configured rate): a browser's or device's step counts against its address and,
//! where there is one, its handle or session; a client's step against its credential (the
//! `Authorization` header), since one relying party's server speaks for all its users.
//! Configured in `[limits]` ([`LimitsConfig`]); answered with 429, `Retry-After` and the
//! usual JSON error.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use mynaid_web::Answer;

use crate::config::LimitsConfig;

/// Above this many buckets, full ones are dropped (they are the same as a new one).
const PRUNE_ABOVE: usize = 10_000;
/// Above this many after pruning, every bucket is dropped: memory stays bounded even if
/// someone invents handles or addresses faster than buckets fill up.
const HARD_CAP: usize = 200_000;

/// Buckets by key, all with one rate.
#[derive(Debug)]
pub struct KeyedBuckets {
    burst: f64,
    per_sec: f64,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl KeyedBuckets {
    /// `burst` at once, then `per_minute` a minute; a burst of 0 never limits.
    pub fn new(burst: u32, per_minute: u32) -> KeyedBuckets {
        KeyedBuckets {
            burst: f64::from(burst),
            per_sec: f64::from(per_minute) / 60.0,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a token from `key`'s bucket at `now`; `Err(seconds)` until one is there.
    pub fn check(&self, key: &str, now: Instant) -> Result<(), u64> {
        if self.burst < 1.0 {
            return Ok(());
        }
        let mut map = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > PRUNE_ABOVE && !map.contains_key(key) {
            let (burst, per_sec) = (self.burst, self.per_sec);
            map.retain(|_, (tokens, at)| *tokens + now.saturating_duration_since(*at).as_secs_f64() * per_sec < burst);
            if map.len() > HARD_CAP {
                map.clear();
            }
        }
        let (tokens, at) = map.entry(key.to_string()).or_insert((self.burst, now));
        let available = (*tokens + now.saturating_duration_since(*at).as_secs_f64() * self.per_sec).min(self.burst);
        *at = now;
        if available >= 1.0 {
            *tokens = available - 1.0;
            Ok(())
        } else {
            *tokens = available;
            let wait = if self.per_sec > 0.0 {
                ((1.0 - available) / self.per_sec).ceil() as u64
            } else {
                3600
            };
            Err(wait.max(1))
        }
    }
}

/// The limits of one instance.
#[derive(Debug)]
pub struct Limits {
    handles: KeyedBuckets,
    addresses: KeyedBuckets,
    clients: KeyedBuckets,
    address_header: Option<String>,
}

impl Limits {
    /// From the configuration.
    pub fn new(c: &LimitsConfig) -> Arc<Limits> {
        Arc::new(Limits {
            handles: KeyedBuckets::new(c.per_handle_burst, c.per_handle_per_minute),
            addresses: KeyedBuckets::new(c.per_address_burst, c.per_address_per_minute),
            clients: KeyedBuckets::new(c.per_client_burst, c.per_client_per_minute),
            address_header: c.client_address_header.as_ref().map(|h| h.to_ascii_lowercase()),
        })
    }

    /// The client's address: the last entry of the trusted proxy's header when one is
    /// configured and present, else the connection's. IPv6 addresses count by their /64
    /// (one household or host usually has a whole /64).
    fn client_address(&self, headers: &HeaderMap, peer: Option<SocketAddr>) -> Option<IpAddr> {
        let from_header = self.address_header.as_ref().and_then(|name| {
            headers
                .get_all(name.as_str())
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .next_back()
                .and_then(|a| a.trim().parse::<IpAddr>().ok())
        });
        from_header.or(peer.map(|p| p.ip())).map(|ip| match ip {
            IpAddr::V6(v6) if v6.to_ipv4_mapped().is_none() => {
                let s = v6.segments();
                IpAddr::from([s[0], s[1], s[2], s[3], 0, 0, 0, 0])
            }
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            IpAddr::V4(_) => ip,
        })
    }

    /// Takes the tokens `step` needs: for a stranger's step the address first (an unknown
    /// handle from a flood must not get a bucket), then the handle or session; for a
    /// client's step its credential, or its address without one.
    fn check(&self, step: &Step, headers: &HeaderMap, address: Option<IpAddr>) -> Result<(), (&'static str, u64)> {
        let now = Instant::now();
        match step {
            Step::Stranger(key) => {
                if let Some(a) = address {
                    self.addresses.check(&a.to_string(), now).map_err(|s| ("address", s))?;
                }
                match key {
                    Some(k) => self.handles.check(k, now).map_err(|s| ("handle", s)),
                    None => Ok(()),
                }
            }
            Step::Client => {
                let key = match headers.get(header::AUTHORIZATION) {
                    // Hashed: the bucket map never holds a credential.
                    Some(v) => {
                        let h = mynaid_sessions::secrets::sha256(v.as_bytes());
                        format!("c:{}", h[..12].iter().map(|b| format!("{b:02x}")).collect::<String>())
                    }
                    None => format!("a:{}", address.map(|a| a.to_string()).unwrap_or_default()),
                };
                self.clients.check(&key, now).map_err(|s| ("client", s))
            }
        }
    }
}

/// What a limited request counts against.
#[derive(Debug, PartialEq, Eq)]
enum Step {
    /// A browser's or reading device's step: its address, and the handle (`h:…`) or session
    /// (`s:…`) when the step is one a stranger would repeat against it.
    Stranger(Option<String>),
    /// A relying party's server: its credential.
    Client,
}

/// Which limit a request falls under, if any. Reading a page (the procedure page, the
/// consent page, the result page, the scripts) is free; every step that issues, writes or
/// tries something is counted.
fn limited(method: &Method, path: &str) -> Option<Step> {
    let post = method == Method::POST;
    let keyed = |k: String| Some(Step::Stranger(Some(k)));
    if let Some(rest) = path.strip_prefix("/api/v1/handles/") {
        let (handle, what) = rest.split_once('/')?;
        return (post && matches!(what, "redeem" | "evidence" | "status"))
            .then(|| Step::Stranger(Some(format!("h:{handle}"))));
    }
    if path == "/api/v1/sessions" || path.starts_with("/api/v1/sessions/") {
        return Some(Step::Client);
    }
    if let Some(rest) = path.strip_prefix("/s/") {
        let (id, what) = rest.split_once('/')?;
        // The code is what a stranger would guess: by session too. Choosing a way (which
        // issues a handle), the start link and the live status: by address.
        return match (post, what) {
            (true, "confirm") => keyed(format!("s:{id}")),
            (true, "pc" | "phone" | "same") | (false, "start" | "events") => Some(Step::Stranger(None)),
            _ => None,
        };
    }
    match path {
        "/return" if post => Some(Step::Stranger(None)),
        "/oidc/authorize" => Some(Step::Stranger(None)),
        "/oidc/token" | "/oidc/userinfo" => Some(Step::Client),
        _ => (post && path.starts_with("/oidc/consent/")).then_some(Step::Stranger(None)),
    }
}

/// The middleware.
pub(crate) async fn middleware(State(l): State<Arc<Limits>>, req: Request, next: Next) -> Response {
    if let Some(step) = limited(req.method(), req.uri().path()) {
        let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
        let address = l.client_address(req.headers(), peer);
        if let Err((by, retry_after)) = l.check(&step, req.headers(), address) {
            tracing::warn!(by, retry_after, "rate limited");
            metrics::counter!("mynaid_rate_limited_total", "limit" => by).increment(1);
            return Answer::rate_limited(retry_after).into_response();
        }
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_bucket_refills_at_its_rate() {
        let b = KeyedBuckets::new(2, 60);
        let t = Instant::now();
        assert!(b.check("a", t).is_ok());
        assert!(b.check("a", t).is_ok());
        assert_eq!(b.check("a", t), Err(1));
        assert!(b.check("b", t).is_ok(), "another key has its own bucket");
        assert!(b.check("a", t + Duration::from_millis(1000)).is_ok());
        assert!(b.check("a", t + Duration::from_millis(1000)).is_err());
        assert!(KeyedBuckets::new(0, 0).check("a", t).is_ok(), "burst 0: off");
        assert_eq!(KeyedBuckets::new(1, 0).check("a", t).and(Ok(())), Ok(()));
    }

    #[test]
    fn which_requests_are_limited() {
        let keyed = |k: &str| Some(Step::Stranger(Some(k.to_string())));
        for what in ["redeem", "evidence", "status"] {
            assert_eq!(
                limited(&Method::POST, &format!("/api/v1/handles/abc/{what}")),
                keyed("h:abc")
            );
        }
        assert_eq!(limited(&Method::POST, "/s/xyz/confirm"), keyed("s:xyz"));
        for way in ["pc", "phone", "same"] {
            assert_eq!(
                limited(&Method::POST, &format!("/s/xyz/{way}")),
                Some(Step::Stranger(None))
            );
        }
        assert_eq!(limited(&Method::GET, "/s/xyz/start"), Some(Step::Stranger(None)));
        assert_eq!(limited(&Method::GET, "/s/xyz/events"), Some(Step::Stranger(None)));
        assert_eq!(limited(&Method::POST, "/oidc/consent/r1"), Some(Step::Stranger(None)));
        assert_eq!(limited(&Method::GET, "/oidc/authorize"), Some(Step::Stranger(None)));
        assert_eq!(limited(&Method::POST, "/return"), Some(Step::Stranger(None)));
        for client in [
            "/api/v1/sessions",
            "/api/v1/sessions/abc/result",
            "/oidc/token",
            "/oidc/userinfo",
        ] {
            assert_eq!(limited(&Method::POST, client), Some(Step::Client), "{client}");
        }
        // Reading a page is free.
        for page in [
            "/s/xyz",
            "/s/xyz/done",
            "/oidc/consent/r1",
            "/return",
            "/static/session.js",
            "/",
        ] {
            assert_eq!(limited(&Method::GET, page), None, "{page}");
        }
    }

    #[test]
    fn addresses_from_the_socket_or_the_configured_header() {
        let peer: SocketAddr = "192.0.2.1:5000".parse().unwrap_or_else(|_| unreachable!());
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            "203.0.113.9, 198.51.100.7".parse().unwrap_or_else(|_| unreachable!()),
        );
        let plain = Limits::new(&LimitsConfig::default());
        assert_eq!(
            plain.client_address(&h, Some(peer)),
            Some(peer.ip()),
            "header not trusted"
        );
        let proxied = Limits::new(&LimitsConfig {
            client_address_header: Some("X-Forwarded-For".into()),
            ..LimitsConfig::default()
        });
        assert_eq!(
            proxied.client_address(&h, Some(peer)).map(|a| a.to_string()).as_deref(),
            Some("198.51.100.7")
        );
        let v6: SocketAddr = "[2001:db8:1:2:3:4:5:6]:1".parse().unwrap_or_else(|_| unreachable!());
        assert_eq!(
            plain
                .client_address(&HeaderMap::new(), Some(v6))
                .map(|a| a.to_string())
                .as_deref(),
            Some("2001:db8:1:2::")
        );
        assert_eq!(plain.client_address(&HeaderMap::new(), None), None);
    }
}
