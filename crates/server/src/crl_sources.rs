//! Where the CRLs come from, and how they are kept fresh: each configured source is a file,
//! read again at every refresh, or an `http(s)` URL, fetched.
//!
//! A URL is fetched once for all the instances that share a database. The table `crl_cache`
//! holds, per URL, the last good CRL, when it was fetched, and a fetch lease. At a refresh an
//! instance takes the lease with one conditional statement, which succeeds only when no
//! other instance holds it and the stored copy is due (not fetched for half of
//! `crl_refresh_secs`, or past its `nextUpdate` and not fetched for a minute). The winner
//! fetches, checks the CRL with the verifier (signature under a trusted root, `nextUpdate`,
//! not older than the one in use) and stores it; the others wait for the lease to end. Then
//! every instance loads the stored copy, so all of them take the same CRL. On SQLite the
//! same code runs, for one instance.
//!
//! A CRL is signed, so plain `http` is allowed (JPKI publishes its CRLs so); a redirect may
//! not change the scheme. Nothing here logs more than the source and why it failed.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use mynaid_db::sqlx::{self, Row};
use mynaid_db::{Db, StoreError, timed};
use mynaid_evidence::{CrlError, CrlInfo};
use mynaid_sessions::Service;
use reqwest::Url;

use crate::Server;
use crate::config::CrlSource;

/// Time to set up a connection to a CRL's server.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Time for a whole fetch, body included.
const FETCH_TIMEOUT: Duration = Duration::from_secs(30);
/// The largest CRL taken: JPKI's full CRLs are tens of MiB.
const MAX_CRL_BYTES: usize = 64 * 1024 * 1024;
/// How long a fetch lease holds: the fetch's time limit and the check, with room. An instance
/// that dies holding it delays the next fetch by this much at most.
const LEASE_SECS: i64 = 120;
/// A copy past its `nextUpdate` is fetched again after this long, whatever the schedule: the
/// publisher may be late, and readings of its issuer are refused meanwhile.
const STALE_RETRY_SECS: i64 = 60;
/// How often an instance waiting for another's fetch looks whether it is done.
const POLL: Duration = Duration::from_millis(100);
/// URLs fetched at once (a partitioned CRL has many points).
const PARALLEL_FETCHES: usize = 4;

/// What one CRL refresh did ([`Server::refresh_crls`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CrlRefresh {
    /// CRLs taken: the first of their issuer and distribution point, or replacing an older
    /// one. The CRL in use read again is not counted.
    pub taken: usize,
    /// Sources that failed (unreadable, not fetched, refused); each keeps its last good CRL,
    /// and the failure is logged and counted in `mynaid_crl_refresh_failures_total{reason}`.
    pub failures: usize,
}

/// Why a fetch failed.
#[derive(Debug, thiserror::Error)]
enum FetchError {
    /// No answer: connection, TLS, time limit, a redirect refused.
    #[error("request failed: {0}")]
    Request(reqwest::Error),
    /// An answer other than 2xx.
    #[error("the server answered {0}")]
    Status(reqwest::StatusCode),
    /// More than [`MAX_CRL_BYTES`].
    #[error("the CRL is larger than {MAX_CRL_BYTES} bytes")]
    TooLarge,
}

impl From<reqwest::Error> for FetchError {
    fn from(e: reqwest::Error) -> Self {
        // The URL is the source's, logged beside; it may hold a password.
        FetchError::Request(e.without_url())
    }
}

/// The refresh's state that outlives one refresh: the HTTP client, and which stored copy of
/// each URL this instance last loaded (so an unchanged copy is neither read nor parsed
/// again).
#[derive(Debug)]
pub(crate) struct Sources {
    client: Option<reqwest::Client>,
    loaded: Mutex<HashMap<String, Stamp>>,
}

/// A stored copy's `(this_update, fetched_at)`.
type Stamp = (i64, i64);

impl Sources {
    /// The client for `sources` (none when no source is a URL).
    pub(crate) fn new(sources: &[CrlSource]) -> Result<Sources, reqwest::Error> {
        let needs_client = sources.iter().any(|s| matches!(s, CrlSource::Url(_)));
        Ok(Sources {
            client: needs_client.then(client).transpose()?,
            loaded: Mutex::new(HashMap::new()),
        })
    }

    fn loaded(&self, source: &str) -> Option<Stamp> {
        self.loaded
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(source)
            .copied()
    }

    fn set_loaded(&self, source: &str, stamp: Stamp) {
        self.loaded
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(source.to_string(), stamp);
    }
}

fn client() -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(FETCH_TIMEOUT)
        .redirect(reqwest::redirect::Policy::custom(|attempt| {
            // The operator chose the scheme; a redirect must not change it (https to http
            // would let anyone on the path hold back a fresh CRL unnoticed until nextUpdate).
            let first = attempt.previous().first().map(|u| u.scheme().to_string());
            if attempt.previous().len() > 5 {
                attempt.error("too many redirects")
            } else if first.as_deref() != Some(attempt.url().scheme()) {
                attempt.error("a redirect to another scheme")
            } else {
                attempt.follow()
            }
        }))
        .user_agent(concat!("mynaid-server/", env!("CARGO_PKG_VERSION")))
        .build()
}

async fn fetch(client: &reqwest::Client, url: &Url, max: usize) -> Result<Vec<u8>, FetchError> {
    let mut resp = client.get(url.clone()).send().await?;
    if !resp.status().is_success() {
        return Err(FetchError::Status(resp.status()));
    }
    if resp.content_length().is_some_and(|n| n > max as u64) {
        return Err(FetchError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await? {
        if body.len() + chunk.len() > max {
            return Err(FetchError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The table `crl_cache`: one row per URL.
struct Cache<'a> {
    db: &'a Db,
}

impl Cache<'_> {
    /// Takes the fetch lease of `source` until `lease_until` when nobody holds it and the
    /// stored copy is due: fetched at or before `due_before`, or past its `nextUpdate` and
    /// fetched at or before `retry_before`. One statement, so of several instances at most one
    /// wins.
    async fn take_lease(
        &self,
        source: &str,
        now: i64,
        lease_until: i64,
        due_before: i64,
        retry_before: i64,
    ) -> Result<bool, StoreError> {
        let won = timed(
            "crl_cache_take_lease",
            sqlx::query(
                "INSERT INTO crl_cache (source, lease_until) VALUES ($1, $2) \
                 ON CONFLICT (source) DO UPDATE SET lease_until = $2 \
                 WHERE crl_cache.lease_until <= $3 AND (crl_cache.fetched_at <= $4 \
                 OR (crl_cache.next_update <= $3 AND crl_cache.fetched_at <= $5)) \
                 RETURNING source",
            )
            .bind(source)
            .bind(lease_until)
            .bind(now)
            .bind(due_before)
            .bind(retry_before)
            .fetch_optional(self.db.pool()),
        )
        .await?;
        Ok(won.is_some())
    }

    /// Stores a checked CRL, unless the stored one is newer (the shared copy never goes back).
    async fn store(&self, source: &str, der: &[u8], info: &CrlInfo, fetched_at: i64) -> Result<bool, StoreError> {
        let this_update = i64::try_from(info.this_update).unwrap_or(i64::MAX);
        let next_update = info.next_update.map_or(0, |n| i64::try_from(n).unwrap_or(i64::MAX));
        let done = timed(
            "crl_cache_store",
            sqlx::query(
                "UPDATE crl_cache SET der = $2, this_update = $3, next_update = $4, fetched_at = $5 \
                 WHERE source = $1 AND (der IS NULL OR this_update <= $3)",
            )
            .bind(source)
            .bind(der)
            .bind(this_update)
            .bind(next_update)
            .bind(fetched_at)
            .execute(self.db.pool()),
        )
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Gives the lease back, if it is still the one taken (it may have run out and been
    /// taken by another).
    async fn release(&self, source: &str, lease_until: i64) -> Result<(), StoreError> {
        timed(
            "crl_cache_release",
            sqlx::query("UPDATE crl_cache SET lease_until = 0 WHERE source = $1 AND lease_until = $2")
                .bind(source)
                .bind(lease_until)
                .execute(self.db.pool()),
        )
        .await?;
        Ok(())
    }

    /// The stored copy's stamp and lease, if there is a copy.
    async fn state(&self, source: &str) -> Result<Option<(Option<Stamp>, i64)>, StoreError> {
        let row = timed(
            "crl_cache_state",
            sqlx::query("SELECT this_update, fetched_at, lease_until FROM crl_cache WHERE source = $1")
                .bind(source)
                .fetch_optional(self.db.pool()),
        )
        .await?;
        let Some(row) = row else { return Ok(None) };
        // A stored CRL has a `thisUpdate` after 1970; the row of a source never fetched has 0.
        let this_update: i64 = row.try_get("this_update")?;
        let stamp = (this_update > 0).then(|| row.try_get("fetched_at").map(|f| (this_update, f)));
        Ok(Some((stamp.transpose()?, row.try_get("lease_until")?)))
    }

    async fn der(&self, source: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let row = timed(
            "crl_cache_der",
            sqlx::query("SELECT der FROM crl_cache WHERE source = $1")
                .bind(source)
                .fetch_optional(self.db.pool()),
        )
        .await?;
        Ok(match row {
            Some(r) => r.try_get::<Option<Vec<u8>>, _>("der")?,
            None => None,
        })
    }

    /// Waits until nobody holds the lease of `source` (the holder stored its CRL or failed),
    /// at most for a lease's length.
    async fn wait_for_lease(&self, source: &str, now: impl Fn() -> i64) -> Result<(), StoreError> {
        let started = Instant::now();
        let longest = Duration::from_secs(LEASE_SECS.unsigned_abs());
        loop {
            match self.state(source).await? {
                Some((_, lease_until)) if lease_until > now() && started.elapsed() < longest => {
                    tokio::time::sleep(POLL).await;
                }
                _ => return Ok(()),
            }
        }
    }
}

/// The metric label of a refused CRL.
fn refusal_reason(e: &CrlError) -> &'static str {
    match e {
        CrlError::Older { .. } => "older",
        CrlError::NoNextUpdate => "no_next_update",
        CrlError::SignatureInvalid | CrlError::UnknownIssuer => "not_trusted",
        _ => "malformed",
    }
}

impl CrlRefresh {
    fn failed(&mut self, reason: &'static str, source: &CrlSource, error: &dyn std::fmt::Display) {
        self.failures += 1;
        metrics::counter!("mynaid_crl_refresh_failures_total", "reason" => reason).increment(1);
        tracing::warn!(crl = %source, reason, error = %error, "CRL refresh failed; the last good CRL stays");
    }

    fn took(&mut self, source: &CrlSource, info: &CrlInfo) {
        if info.changed {
            self.taken += 1;
            tracing::info!(
                crl = %source,
                entries = info.entries,
                this_update = info.this_update,
                next_update = info.next_update,
                "CRL taken"
            );
        }
    }
}

/// Checks and loads CRLs into the verifier, off the async threads (parsing a CRL of a million
/// entries and checking its signature takes a while).
async fn load(sessions: &Arc<Service>, ders: Vec<Vec<u8>>) -> Vec<Result<CrlInfo, CrlError>> {
    let n = ders.len();
    let svc = sessions.clone();
    tokio::task::spawn_blocking(move || svc.verifier().refresh_crls(&ders))
        .await
        .unwrap_or_else(|_| vec![Err(CrlError::Malformed); n])
}

/// [`Server::refresh_crls`].
pub(crate) async fn refresh(server: &Server) -> CrlRefresh {
    let mut out = CrlRefresh::default();
    let mut read: Vec<(&CrlSource, Vec<u8>)> = Vec::new();
    let mut urls: Vec<(&CrlSource, &Url)> = Vec::new();
    for source in &server.crl_sources {
        match source {
            CrlSource::File(path) => match tokio::fs::read(path).await {
                Ok(der) => read.push((source, der)),
                Err(e) => out.failed("unreadable", source, &e),
            },
            CrlSource::Url(url) => urls.push((source, url)),
        }
    }
    let ders = read.iter().map(|(_, der)| der.clone()).collect();
    for ((source, _), result) in read.iter().zip(load(&server.sessions, ders).await) {
        match result {
            Ok(info) => out.took(source, &info),
            Err(e) => out.failed(refusal_reason(&e), source, &e),
        }
    }
    // Made here, run a few at a time below (a closure in the stream would not be `Send` for
    // every lifetime, which the refresh task needs).
    let fetches: Vec<_> = urls
        .into_iter()
        .map(|(source, url)| refresh_url(server, source, url))
        .collect();
    let fetched: Vec<CrlRefresh> = futures_util::stream::iter(fetches)
        .buffer_unordered(PARALLEL_FETCHES)
        .collect()
        .await;
    for f in fetched {
        out.taken += f.taken;
        out.failures += f.failures;
    }
    out
}

/// One URL: fetched by this instance if it wins the lease, then the shared copy loaded.
async fn refresh_url(server: &Server, source: &CrlSource, url: &Url) -> CrlRefresh {
    let mut out = CrlRefresh::default();
    let key = url.as_str();
    let cache = Cache {
        db: server.sessions.db(),
    };
    let state = &server.crl_state;
    let now = server.sessions.now();
    let lease_until = now + LEASE_SECS;
    let due_before = now - i64::try_from(server.crl_refresh_secs / 2).unwrap_or(i64::MAX);
    match cache
        .take_lease(key, now, lease_until, due_before, now - STALE_RETRY_SECS)
        .await
    {
        Ok(true) => {
            fetch_and_store(server, &cache, source, url, now, &mut out).await;
            if let Err(e) = cache.release(key, lease_until).await {
                tracing::warn!(crl = %source, error = %e, "CRL refresh: the fetch lease could not be given back; it runs out by itself");
            }
        }
        Ok(false) => {
            if let Err(e) = cache.wait_for_lease(key, || server.sessions.now()).await {
                out.failed("unreadable", source, &e);
                return out;
            }
        }
        Err(e) => {
            out.failed("unreadable", source, &e);
            return out;
        }
    }
    // The shared copy: another instance's fetch, or an older one this instance has not loaded
    // (it started after it was fetched).
    let stamp = match cache.state(key).await {
        Ok(Some((Some(stamp), _))) => stamp,
        Ok(_) => return out,
        Err(e) => {
            out.failed("unreadable", source, &e);
            return out;
        }
    };
    if state.loaded(key) == Some(stamp) {
        return out;
    }
    // One source counts one failure a refresh: the fetch's, or else the shared copy's.
    let fetch_failed = out.failures > 0;
    let failed = |out: &mut CrlRefresh, reason, error: &dyn std::fmt::Display| {
        if fetch_failed {
            tracing::warn!(crl = %source, reason, error = %error, "CRL refresh: the shared copy is not taken either");
        } else {
            out.failed(reason, source, error);
        }
    };
    match cache.der(key).await {
        Ok(Some(der)) => {
            state.set_loaded(key, stamp);
            match load(&server.sessions, vec![der]).await.pop() {
                Some(Ok(info)) => out.took(source, &info),
                Some(Err(e)) => failed(&mut out, refusal_reason(&e), &e),
                None => {}
            }
        }
        Ok(None) => {}
        Err(e) => failed(&mut out, "unreadable", &e),
    }
    out
}

/// The lease holder's part: fetch, check (and take) through the verifier, store for the
/// others.
async fn fetch_and_store(
    server: &Server,
    cache: &Cache<'_>,
    source: &CrlSource,
    url: &Url,
    now: i64,
    out: &mut CrlRefresh,
) {
    let state = &server.crl_state;
    let Some(client) = &state.client else { return };
    let der = match fetch(client, url, MAX_CRL_BYTES).await {
        Ok(der) => der,
        Err(e) => return out.failed("fetch_failed", source, &e),
    };
    let info = match load(&server.sessions, vec![der.clone()]).await.pop() {
        Some(Ok(info)) => info,
        Some(Err(e)) => return out.failed(refusal_reason(&e), source, &e),
        None => return,
    };
    out.took(source, &info);
    match cache.store(url.as_str(), &der, &info, now).await {
        Ok(true) => state.set_loaded(url.as_str(), (i64::try_from(info.this_update).unwrap_or(i64::MAX), now)),
        // A newer copy is stored already: loaded next.
        Ok(false) => {}
        Err(e) => {
            tracing::warn!(crl = %source, error = %e, "CRL refresh: the fetched CRL is in use here but could not be stored for the other instances")
        }
    }
}

/// The CRL files among `sources`, for the start: they must all load.
pub(crate) fn files(sources: &[CrlSource]) -> impl Iterator<Item = &PathBuf> {
    sources.iter().filter_map(|s| match s {
        CrlSource::File(p) => Some(p),
        CrlSource::Url(_) => None,
    })
}

/// How long the refresh task sleeps: `crl_refresh_secs`, or until the earliest `nextUpdate`
/// of the CRLs in use when that is sooner, but at least 10 s.
pub(crate) fn next_refresh_in(server: &Server) -> Duration {
    let mut secs = server.crl_refresh_secs;
    if let Some(next) = server
        .sessions
        .verifier()
        .crls()
        .window()
        .and_then(|w| w.earliest_next_update)
    {
        let now = u64::try_from(server.sessions.now()).unwrap_or(0);
        secs = secs.min(next.saturating_sub(now));
    }
    Duration::from_secs(secs.max(10))
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::http::{StatusCode, header};
    use axum::response::IntoResponse;
    use axum::routing::get;

    use super::*;

    /// A server on loopback: `/crl` answers 100 bytes, `/same` redirects there, `/https` to
    /// the same path over https, `/gone` answers 404.
    async fn server() -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let https = base.replacen("http:", "https:", 1);
        let app = Router::new()
            .route("/crl", get(|| async { vec![0x30u8; 100] }))
            .route(
                "/same",
                get(|| async { (StatusCode::FOUND, [(header::LOCATION, "/crl")]).into_response() }),
            )
            .route(
                "/https",
                get(move || async move {
                    (StatusCode::FOUND, [(header::LOCATION, format!("{https}/crl"))]).into_response()
                }),
            )
            .route("/gone", get(|| async { StatusCode::NOT_FOUND }));
        tokio::spawn(async move { axum::serve(listener, app).await });
        base
    }

    fn url(base: &str, path: &str) -> Url {
        Url::parse(&format!("{base}{path}")).expect("URL")
    }

    #[tokio::test]
    async fn fetches_follow_redirects_within_the_scheme_and_hold_the_size() {
        let base = server().await;
        let client = client().expect("client");
        assert_eq!(
            fetch(&client, &url(&base, "/crl"), 100).await.expect("fetched").len(),
            100
        );
        assert_eq!(
            fetch(&client, &url(&base, "/same"), 100).await.expect("followed").len(),
            100
        );
        assert!(matches!(
            fetch(&client, &url(&base, "/https"), 100).await,
            Err(FetchError::Request(e)) if e.is_redirect()
        ));
        assert!(matches!(
            fetch(&client, &url(&base, "/crl"), 99).await,
            Err(FetchError::TooLarge)
        ));
        assert!(matches!(
            fetch(&client, &url(&base, "/gone"), 100).await,
            Err(FetchError::Status(StatusCode::NOT_FOUND))
        ));
    }
}
