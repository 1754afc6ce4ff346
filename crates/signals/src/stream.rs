//! A client's event stream as the OpenID Shared Signals Framework configures it (§8.1.1):
//! how events reach it (push to its endpoint, or poll here) and which it wants. One stream per
//! client, in the `ssf_streams` table.

use mynaid_db::sqlx::{self, Row};
use mynaid_db::{Db, StoreError};
use serde::{Deserialize, Serialize};

use crate::{CREDENTIAL_CHANGE, POLL, PUSH};

/// How a stream's events are delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// RFC 8935: this server POSTs each event to the client's endpoint.
    Push,
    /// RFC 8936: the client POSTs to this server's poll endpoint and acknowledges.
    Poll,
}

impl Method {
    /// The method's URN.
    pub fn urn(self) -> &'static str {
        match self {
            Method::Push => PUSH,
            Method::Poll => POLL,
        }
    }

    fn of(urn: &str) -> Option<Method> {
        match urn {
            PUSH => Some(Method::Push),
            POLL => Some(Method::Poll),
            _ => None,
        }
    }
}

/// A stream as stored.
#[derive(Clone, Serialize, Deserialize)]
pub struct Stream {
    /// Its id.
    pub stream_id: String,
    /// The delivery method's URN.
    pub method: String,
    /// Push: the client's endpoint.
    #[serde(default)]
    pub endpoint_url: Option<String>,
    /// Push: the `Authorization` header value the client asked to receive (its credential
    /// for our pushes; never shown back).
    #[serde(default)]
    pub authorization_header: Option<String>,
    /// The event types the client asked for.
    pub events_requested: Vec<String>,
    /// The client's description.
    #[serde(default)]
    pub description: Option<String>,
}

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Stream({}, {})", self.stream_id, self.method)
    }
}

impl Stream {
    /// The delivery method.
    pub fn delivery(&self) -> Method {
        Method::of(&self.method).unwrap_or(Method::Poll)
    }

    /// The event types delivered: those asked for that this transmitter sends.
    pub fn events_delivered(&self) -> Vec<&'static str> {
        [CREDENTIAL_CHANGE]
            .into_iter()
            .filter(|t| self.events_requested.iter().any(|r| r == t))
            .collect()
    }
}

/// Why a stream configuration is refused (400).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigError {
    /// `delivery.method` is missing or neither push nor poll.
    Method,
    /// A push stream's `endpoint_url` is missing, not a URL, or neither https nor loopback.
    Endpoint,
    /// A field has the wrong type or is too long.
    Malformed,
}

impl ConfigError {
    /// What to tell the client.
    pub fn description(self) -> &'static str {
        match self {
            ConfigError::Method => "delivery.method must be urn:ietf:rfc:8935 (push) or urn:ietf:rfc:8936 (poll)",
            ConfigError::Endpoint => {
                "a push stream needs delivery.endpoint_url: an https URL (http only to this machine)"
            }
            ConfigError::Malformed => "the stream configuration is not valid",
        }
    }
}

/// The writable part of a stream configuration, as a client sends it.
#[derive(Debug, Default, Deserialize)]
pub struct Requested {
    /// Its id (updates name the stream they change).
    #[serde(default)]
    pub stream_id: Option<String>,
    /// How to deliver.
    #[serde(default)]
    pub delivery: Option<RequestedDelivery>,
    /// Which events.
    #[serde(default)]
    pub events_requested: Option<Vec<String>>,
    /// A description.
    #[serde(default)]
    pub description: Option<String>,
}

/// The delivery part of [`Requested`].
#[derive(Default, Deserialize)]
pub struct RequestedDelivery {
    /// The method's URN.
    #[serde(default)]
    pub method: Option<String>,
    /// Push: where to.
    #[serde(default)]
    pub endpoint_url: Option<String>,
    /// Push: the `Authorization` header to send.
    #[serde(default)]
    pub authorization_header: Option<String>,
}

impl std::fmt::Debug for RequestedDelivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RequestedDelivery({:?}, {:?})", self.method, self.endpoint_url)
    }
}

/// Whether `url` may receive pushes: https; http only to this machine, and only when this
/// server itself is not served over https (the demo, tests) — on a real deployment a client
/// could otherwise make the server post to its own local services.
fn push_endpoint_ok(url: &str, local_http: bool) -> bool {
    let Ok(u) = url::Url::parse(url) else { return false };
    match u.scheme() {
        "https" => u.host().is_some(),
        "http" if !local_http => false,
        "http" => match u.host() {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            Some(url::Host::Domain(d)) => d == "localhost",
            None => false,
        },
        _ => false,
    }
}

impl Stream {
    /// `req` applied to `base` (an update), or a new stream `stream_id` (a creation, `base`
    /// none). PATCH keeps what `req` leaves out; a creation or a PUT takes `req` whole.
    /// `local_http`: whether an http endpoint on this machine is allowed (a server not on
    /// https).
    pub fn apply(
        base: Option<&Stream>,
        stream_id: &str,
        req: Requested,
        local_http: bool,
    ) -> Result<Stream, ConfigError> {
        let delivery = req.delivery.unwrap_or_default();
        let method = delivery
            .method
            .or_else(|| base.map(|b| b.method.clone()))
            .ok_or(ConfigError::Method)?;
        let m = Method::of(&method).ok_or(ConfigError::Method)?;
        let endpoint_url = match m {
            Method::Push => {
                let url = delivery
                    .endpoint_url
                    .or_else(|| base.and_then(|b| b.endpoint_url.clone()))
                    .ok_or(ConfigError::Endpoint)?;
                if url.len() > 2048 || !push_endpoint_ok(&url, local_http) {
                    return Err(ConfigError::Endpoint);
                }
                Some(url)
            }
            Method::Poll => None,
        };
        let authorization_header = match m {
            Method::Push => delivery
                .authorization_header
                .or_else(|| base.and_then(|b| b.authorization_header.clone())),
            Method::Poll => None,
        };
        if authorization_header
            .as_deref()
            .is_some_and(|h| h.len() > 4096 || h.chars().any(char::is_control))
        {
            return Err(ConfigError::Malformed);
        }
        let events_requested = req
            .events_requested
            .or_else(|| base.map(|b| b.events_requested.clone()))
            .unwrap_or_default();
        if events_requested.len() > 32 || events_requested.iter().any(|e| e.len() > 256) {
            return Err(ConfigError::Malformed);
        }
        let description = req.description.or_else(|| base.and_then(|b| b.description.clone()));
        if description.as_deref().is_some_and(|d| d.len() > 1024) {
            return Err(ConfigError::Malformed);
        }
        Ok(Stream {
            stream_id: stream_id.to_string(),
            method,
            endpoint_url,
            authorization_header,
            events_requested,
            description,
        })
    }
}

/// The `ssf_streams` table.
#[derive(Debug, Clone)]
pub struct StreamStore {
    db: Db,
}

impl StreamStore {
    /// The table of `db`.
    pub fn new(db: Db) -> StreamStore {
        StreamStore { db }
    }

    /// `client_id`'s stream.
    pub async fn get(&self, client_id: &str) -> Result<Option<Stream>, StoreError> {
        let row = sqlx::query("SELECT config FROM ssf_streams WHERE client_id = $1")
            .bind(client_id)
            .fetch_optional(self.db.pool())
            .await?;
        row.map(|r| {
            let text: String = r.try_get("config")?;
            serde_json::from_str(&text).map_err(|_| StoreError::BadValue { column: "config" })
        })
        .transpose()
    }

    /// Adds `client_id`'s stream; false if it has one already.
    pub async fn create(&self, client_id: &str, s: &Stream, now: i64) -> Result<bool, StoreError> {
        let text = serde_json::to_string(s).map_err(|_| StoreError::BadValue { column: "config" })?;
        let done = sqlx::query(
            "INSERT INTO ssf_streams (client_id, stream_id, config, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (client_id) DO NOTHING",
        )
        .bind(client_id)
        .bind(&s.stream_id)
        .bind(text)
        .bind(now)
        .execute(self.db.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Replaces `client_id`'s stream (same id); false if it has none.
    pub async fn update(&self, client_id: &str, s: &Stream, now: i64) -> Result<bool, StoreError> {
        let text = serde_json::to_string(s).map_err(|_| StoreError::BadValue { column: "config" })?;
        let done =
            sqlx::query("UPDATE ssf_streams SET config = $1, updated_at = $2 WHERE client_id = $3 AND stream_id = $4")
                .bind(text)
                .bind(now)
                .bind(client_id)
                .bind(&s.stream_id)
                .execute(self.db.pool())
                .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Deletes `client_id`'s stream `stream_id`; false if there was none.
    pub async fn delete(&self, client_id: &str, stream_id: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM ssf_streams WHERE client_id = $1 AND stream_id = $2")
            .bind(client_id)
            .bind(stream_id)
            .execute(self.db.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Every push stream: (client id, stream).
    pub async fn push_streams(&self) -> Result<Vec<(String, Stream)>, StoreError> {
        let rows = sqlx::query("SELECT client_id, config FROM ssf_streams")
            .fetch_all(self.db.pool())
            .await?;
        let mut out = Vec::new();
        for r in rows {
            let text: String = r.try_get("config")?;
            let s: Stream = serde_json::from_str(&text).map_err(|_| StoreError::BadValue { column: "config" })?;
            if s.delivery() == Method::Push {
                out.push((r.try_get("client_id")?, s));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_endpoints_are_https_or_this_machine_when_not_on_https() {
        for local_http in [true, false] {
            assert!(push_endpoint_ok("https://rp.example.jp/events", local_http));
            assert!(!push_endpoint_ok("http://rp.example.jp/events", local_http));
            assert!(!push_endpoint_ok("http://10.0.0.1/events", local_http));
            assert!(!push_endpoint_ok("ftp://rp.example.jp/", local_http));
            assert!(!push_endpoint_ok("not a url", local_http));
        }
        assert!(push_endpoint_ok("http://127.0.0.1:8080/portal/events", true));
        assert!(push_endpoint_ok("http://[::1]/e", true));
        assert!(push_endpoint_ok("http://localhost/e", true));
        // A server on https never posts to this machine's http services (its metrics, a
        // database's HTTP port) for a client.
        assert!(!push_endpoint_ok("http://127.0.0.1:9464/metrics", false));
        assert!(!push_endpoint_ok("http://localhost/e", false));
    }
}
