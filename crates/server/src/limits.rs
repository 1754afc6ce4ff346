//! Rate limits on the steps an attacker would repeat: redeeming a handle, submitting
//! evidence and typing a confirmation code. Token buckets in memory, one per handle (or
//! session, for the code) and one per client address, kept by each instance (several
//! instances each allow the configured rate). Configured in `[limits]`
//! ([`LimitsConfig`]); answered with 429, `Retry-After` and the usual JSON error.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, Method};
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
    address_header: Option<String>,
}

impl Limits {
    /// From the configuration.
    pub fn new(c: &LimitsConfig) -> Arc<Limits> {
        Arc::new(Limits {
            handles: KeyedBuckets::new(c.per_handle_burst, c.per_handle_per_minute),
            addresses: KeyedBuckets::new(c.per_address_burst, c.per_address_per_minute),
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

    /// Takes a token for the address (first: an unknown handle from a flood must not get a
    /// bucket), then for the handle or session.
    fn check(&self, address: Option<IpAddr>, key: &str) -> Result<(), (&'static str, u64)> {
        let now = Instant::now();
        if let Some(a) = address {
            self.addresses.check(&a.to_string(), now).map_err(|s| ("address", s))?;
        }
        self.handles.check(key, now).map_err(|s| ("handle", s))
    }
}

/// The bucket key of a limited request: `POST /api/v1/handles/{h}/redeem`, `…/evidence`
/// (by handle) and `POST /s/{id}/confirm` (by session).
fn limited(method: &Method, path: &str) -> Option<String> {
    if method != Method::POST {
        return None;
    }
    if let Some(rest) = path.strip_prefix("/api/v1/handles/") {
        let (handle, what) = rest.split_once('/')?;
        return matches!(what, "redeem" | "evidence").then(|| format!("h:{handle}"));
    }
    let rest = path.strip_prefix("/s/")?;
    let (id, what) = rest.split_once('/')?;
    (what == "confirm").then(|| format!("s:{id}"))
}

/// The middleware.
pub(crate) async fn middleware(State(l): State<Arc<Limits>>, req: Request, next: Next) -> Response {
    if let Some(key) = limited(req.method(), req.uri().path()) {
        let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
        let address = l.client_address(req.headers(), peer);
        if let Err((by, retry_after)) = l.check(address, &key) {
            tracing::warn!(by, retry_after, "rate limited");
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
        assert_eq!(
            limited(&Method::POST, "/api/v1/handles/abc/redeem").as_deref(),
            Some("h:abc")
        );
        assert_eq!(
            limited(&Method::POST, "/api/v1/handles/abc/evidence").as_deref(),
            Some("h:abc")
        );
        assert_eq!(limited(&Method::POST, "/api/v1/handles/abc/status"), None);
        assert_eq!(limited(&Method::POST, "/s/xyz/confirm").as_deref(), Some("s:xyz"));
        assert_eq!(limited(&Method::GET, "/s/xyz/confirm"), None);
        assert_eq!(limited(&Method::POST, "/s/xyz/pc"), None);
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
