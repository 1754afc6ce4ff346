//! What operators and load balancers look at: liveness (`GET /healthz`), readiness
//! (`GET /readyz`) on the public listener, and Prometheus metrics (`GET /metrics`) on a
//! listener of their own ([`serve_metrics`], `metrics_listen`), never the public one.
//!
//! Metrics are recorded where things happen with the `metrics` facade (a no-op until
//! [`install_recorder`] has run) and rendered by `metrics-exporter-prometheus`:
//!
//! | metric | kind | labels |
//! |---|---|---|
//! | `mynaid_http_requests_total` | counter | `route` (the matched route template, `unmatched` for none), `status` |
//! | `mynaid_http_request_duration_seconds` | histogram | `route` (until the answer's head; an SSE stream's life is not in it) |
//! | `mynaid_verifications_total` | counter | `route` (evidence route, `unknown` when the document did not parse), `outcome` (`verified` or the failure code) |
//! | `mynaid_sse_streams` | gauge | — (open live-status streams: [`sse_opened`]) |
//! | `mynaid_db_query_duration_seconds` | histogram | `statement` (a fixed name: `mynaid_db::timed`) |
//! | `mynaid_crl_next_update_seconds` | gauge | — (the earliest `nextUpdate` of the loaded CRLs, seconds since the epoch) |
//! | `mynaid_crl_age_seconds` | gauge | — (now minus the oldest `thisUpdate`) |
//! | `mynaid_crl_refresh_failures_total` | counter | `reason` (a CRL source that failed at a refresh: `unreadable`, `fetch_failed`, `older`, `no_next_update`, `not_trusted`, `malformed`) |
//! | `mynaid_rate_limited_total` | counter | `limit` (which bucket answered 429) |
//!
//! No label holds a value from a request: routes are templates (`/s/{id}`), never paths.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use mynaid_evidence::RevocationPolicy;
use serde_json::json;
use tokio::task::JoinHandle;

use crate::{Server, StartError};

/// How long the database has to answer `SELECT 1` before the instance is not ready.
const DATABASE_TIMEOUT: Duration = Duration::from_secs(2);
/// How long the signing keys have (the very first is made on the spot: RSA 2048).
const SIGNING_KEYS_TIMEOUT: Duration = Duration::from_secs(5);
/// How often the exporter's upkeep runs (and the CRL gauges are brought up to date by
/// [`keep_gauges`]).
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// `/healthz` and `/readyz`, for the public listener (load balancers reach them there).
pub fn routes(server: &Arc<Server>) -> Router {
    record_crl_gauges(server);
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(server.clone())
}

fn no_store(mut resp: Response) -> Response {
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// The process is alive and answers HTTP; asks nothing else (no database).
async fn healthz() -> Response {
    no_store((StatusCode::OK, "ok").into_response())
}

/// Ready to take traffic: the database answers, the OpenID Connect signing keys are there,
/// and the CRLs are within their dates as the verifier checks them. 503 otherwise, with
/// which check failed.
async fn readyz(State(server): State<Arc<Server>>) -> Response {
    let database = match tokio::time::timeout(DATABASE_TIMEOUT, server.sessions.db().ping()).await {
        Ok(Ok(())) => "ok",
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: the database does not answer");
            "unavailable"
        }
        Err(_) => "timeout",
    };
    // Without the database the keys cannot be read: not asked (no second error per probe).
    let signing_keys = if database != "ok" {
        "unknown"
    } else {
        match tokio::time::timeout(SIGNING_KEYS_TIMEOUT, server.provider.signing_key_ready()).await {
            Ok(true) => "ok",
            Ok(false) => "unavailable",
            Err(_) => "timeout",
        }
    };
    let crls = crl_check(&server);
    let ready = database == "ok" && signing_keys == "ok" && matches!(crls, "ok" | "not_required");
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({
        "ready": ready,
        "checks": { "database": database, "signing_keys": signing_keys, "crls": crls },
    });
    no_store((status, axum::Json(body)).into_response())
}

/// The CRLs at the service's now: `ok`, `out_of_date` (past a `nextUpdate`), `not_yet_valid`
/// (before a `thisUpdate`), `missing` (none loaded while the policy requires them) or
/// `not_required` (none loaded, and the policy accepts unchecked revocation).
fn crl_check(server: &Server) -> &'static str {
    record_crl_gauges(server);
    let verifier = server.sessions.verifier();
    let now = u64::try_from(server.sessions.now()).unwrap_or(0);
    match verifier.crls().window() {
        None if verifier.revocation_policy() == RevocationPolicy::AllowUnchecked => "not_required",
        None => "missing",
        Some(w) if w.is_fresh(now) => "ok",
        Some(w) if now < w.latest_this_update => "not_yet_valid",
        Some(_) => "out_of_date",
    }
}

/// Sets `mynaid_crl_next_update_seconds` and `mynaid_crl_age_seconds` from the verifier's
/// CRLs at the service's now.
pub fn record_crl_gauges(server: &Server) {
    let Some(w) = server.sessions.verifier().crls().window() else {
        return;
    };
    let now = server.sessions.now();
    if let Some(next) = w.earliest_next_update {
        metrics::gauge!("mynaid_crl_next_update_seconds").set(next as f64);
    }
    metrics::gauge!("mynaid_crl_age_seconds").set((now - w.oldest_this_update as i64) as f64);
}

/// Keeps the time-dependent gauges (the CRLs' age) current while the server runs.
pub async fn keep_gauges(server: Arc<Server>) {
    let mut every = tokio::time::interval(UPKEEP_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        record_crl_gauges(&server);
    }
}

/// The middleware counting every answer by matched route and status, and timing it. The
/// route is the router's template (`MatchedPath`), never the path: ids and handles must not
/// become labels; requests no route matched count as `unmatched`.
pub async fn http_metrics(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let started = Instant::now();
    let resp = next.run(req).await;
    let status = resp.status().as_u16().to_string();
    metrics::histogram!("mynaid_http_request_duration_seconds", "route" => route.clone()).record(started.elapsed());
    metrics::counter!("mynaid_http_requests_total", "route" => route, "status" => status).increment(1);
    resp
}

/// An open live-status (SSE) stream, counted in `mynaid_sse_streams` until it is dropped (or
/// given to [`sse_closed`]). Keep it inside the stream, so that it goes when the connection
/// does.
#[derive(Debug)]
#[must_use = "the stream is counted as open until this is dropped"]
pub struct SseStream(());

impl Drop for SseStream {
    fn drop(&mut self) {
        metrics::gauge!("mynaid_sse_streams").decrement(1.0);
    }
}

/// A live-status stream opened: `mynaid_sse_streams` goes up by one, and down again when
/// the answer is dropped.
pub fn sse_opened() -> SseStream {
    metrics::gauge!("mynaid_sse_streams").increment(1.0);
    SseStream(())
}

/// A live-status stream closed (the same as dropping it).
pub fn sse_closed(stream: SseStream) {
    drop(stream);
}

/// Installs the Prometheus recorder for this process, once: later calls (several servers
/// in one test process) get the same handle. Until it runs, recording is a no-op.
pub fn install_recorder() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let seconds = |b: PrometheusBuilder, name: &str, buckets: &[f64]| {
            b.set_buckets_for_metric(Matcher::Full(name.to_string()), buckets)
                .expect("buckets are not empty")
        };
        let builder = PrometheusBuilder::new();
        let builder = seconds(
            builder,
            "mynaid_http_request_duration_seconds",
            &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0],
        );
        let builder = seconds(
            builder,
            "mynaid_db_query_duration_seconds",
            &[
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
            ],
        );
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("another metrics recorder is installed: /metrics shows nothing of this server");
        }
        describe();
        handle
    })
}

fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!("mynaid_http_requests_total", "HTTP answers by matched route and status");
    describe_histogram!(
        "mynaid_http_request_duration_seconds",
        Unit::Seconds,
        "Time to the answer's head, by matched route"
    );
    describe_counter!(
        "mynaid_verifications_total",
        "Evidence documents checked, by route and outcome (verified or the failure code)"
    );
    describe_gauge!("mynaid_sse_streams", "Open live-status (SSE) streams");
    describe_histogram!(
        "mynaid_db_query_duration_seconds",
        Unit::Seconds,
        "Duration of the database's hot statements, by statement"
    );
    describe_gauge!(
        "mynaid_crl_next_update_seconds",
        Unit::Seconds,
        "The earliest nextUpdate of the loaded CRLs (seconds since the epoch)"
    );
    describe_gauge!(
        "mynaid_crl_age_seconds",
        Unit::Seconds,
        "Age of the oldest loaded CRL (now - thisUpdate)"
    );
    describe_counter!(
        "mynaid_crl_refresh_failures_total",
        "CRL sources that failed at a refresh (the last good CRL stays), by reason"
    );
    describe_counter!("mynaid_rate_limited_total", "Requests answered 429, by limit");
}

/// Serves `GET /metrics` (Prometheus text format) on `addr`, its own listener (the public
/// router has no `/metrics`); installs the recorder if that has not happened. Answers the
/// task and the bound address (port 0 picks one).
pub async fn serve_metrics(addr: SocketAddr) -> Result<(JoinHandle<std::io::Result<()>>, SocketAddr), StartError> {
    let handle = install_recorder();
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| StartError::Listen { addr, source })?;
    let bound = listener
        .local_addr()
        .map_err(|source| StartError::Listen { addr, source })?;
    let router = Router::new().route(
        "/metrics",
        get(move || async move {
            let mut resp = handle.render().into_response();
            let headers = resp.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            );
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            resp
        }),
    );
    let task = tokio::spawn(async move {
        let upkeep = async {
            let mut every = tokio::time::interval(UPKEEP_EVERY);
            loop {
                every.tick().await;
                handle.run_upkeep();
            }
        };
        tokio::select! {
            served = axum::serve(listener, router) => served,
            _ = upkeep => Ok(()),
        }
    });
    Ok((task, bound))
}
