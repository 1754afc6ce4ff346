//! Health, readiness and metrics: `/healthz` answers without the database, `/readyz` says
//! 503 when the database, the signing keys or the CRLs are not fit, and `/metrics` is served
//! on its own listener only, with route templates (never ids or handles) as labels.
//!
//! The metrics recorder is process-wide: every test here that reads `/metrics` looks for
//! its own counts and never for exact totals.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::http::{StatusCode, header};
use common::*;

async fn metrics_text() -> String {
    let (_task, addr) = mynaid_server::ops::serve_metrics("127.0.0.1:0".parse().unwrap())
        .await
        .expect("metrics listener");
    let r = reqwest::get(format!("http://{addr}/metrics"))
        .await
        .expect("GET /metrics");
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/plain"),
        "{:?}",
        r.headers()
    );
    r.text().await.unwrap()
}

/// The lines of `text` for `metric` (its samples, with labels).
fn samples<'a>(text: &'a str, metric: &str) -> Vec<&'a str> {
    text.lines()
        .filter(|l| l.starts_with(metric) && l[metric.len()..].starts_with(['{', ' ']))
        .collect()
}

fn value_of(text: &str, sample: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(sample)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no sample {sample} in:\n{text}"))
        .trim()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn healthz_answers_ok_without_asking_the_database() {
    let s = Server::start().await;
    let r = s.get("/healthz", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.text(), "ok");
    assert_eq!(r.header(header::CACHE_CONTROL).as_deref(), Some("no-store"));
    // Alive even when the database is gone: that is readiness, not liveness.
    s.svc.db().pool().close().await;
    let r = s.get("/healthz", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
}

#[tokio::test]
async fn readyz_is_ready_on_a_healthy_server() {
    let s = Server::start().await;
    let r = s.get("/readyz", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.header(header::CACHE_CONTROL).as_deref(), Some("no-store"));
    let v = r.json();
    assert_eq!(v["ready"], true, "{v}");
    for check in ["database", "signing_keys", "crls"] {
        assert_eq!(v["checks"][check], "ok", "{check}: {v}");
    }
}

#[tokio::test]
async fn readyz_is_not_ready_without_the_database() {
    let s = Server::with_file_db().await;
    assert_eq!(s.get("/readyz", None).await.status, StatusCode::OK);
    // The pool closed: every statement fails as it would with the database gone.
    s.svc.db().pool().close().await;
    let r = s.get("/readyz", None).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text());
    assert_eq!(r.header(header::CACHE_CONTROL).as_deref(), Some("no-store"));
    let v = r.json();
    assert_eq!(v["ready"], false, "{v}");
    assert_eq!(v["checks"]["database"], "unavailable", "{v}");
    assert_ne!(v["checks"]["signing_keys"], "ok", "{v}");
    // The CRLs are still fine: the answer says which check failed.
    assert_eq!(v["checks"]["crls"], "ok", "{v}");
}

#[tokio::test]
async fn readyz_is_not_ready_when_the_crls_are_past_their_next_update() {
    let s = Server::start().await;
    let window = s.svc.verifier().crls().window().expect("the test CRLs are loaded");
    let next = window.earliest_next_update.expect("the test CRLs have a nextUpdate") as i64;
    // Up to nextUpdate itself the CRLs are fresh (as the verifier checks them) ...
    s.advance(next - NOW);
    let r = s.get("/readyz", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    // ... one second later they are not, and evidence would be refused.
    s.advance(1);
    let r = s.get("/readyz", None).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text());
    let v = r.json();
    assert_eq!(v["ready"], false, "{v}");
    assert_eq!(v["checks"]["crls"], "out_of_date", "{v}");
    assert_eq!(v["checks"]["database"], "ok", "{v}");
    assert_eq!(v["checks"]["signing_keys"], "ok", "{v}");
    // The gauge says when: an operator's alert needs no clock of the server.
    let text = metrics_text().await;
    assert_eq!(value_of(&text, "mynaid_crl_next_update_seconds"), next as f64, "{text}");
}

#[tokio::test]
async fn metrics_are_not_served_on_the_public_router() {
    let s = Server::start().await;
    for path in ["/metrics", "/metrics/"] {
        let r = s.get(path, None).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}: {}", r.text());
    }
}

#[tokio::test]
async fn metrics_count_a_flow_by_route_template_and_never_by_id() {
    let s = Server::with(|c| c.limits.per_handle_burst = 2).await;
    // Installed before the flow: what happens before installation is not recorded.
    let _ = metrics_text().await;
    let flow = s.redeemed("verify_identity").await;
    s.submit_and_return(&flow, read_card("p01", Route::UserAuthentication, &flow.answer))
        .await;
    let refused = s.redeemed("verify_identity").await;
    let r = s.submit_read(&refused, "p08", Route::Signature).await;
    r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "certificate_revoked");
    // The handle's bucket holds 2: the redeem and the evidence took them, the next is 429.
    let limited = s.redeem(&refused.handle).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS, "{}", limited.text());
    let missing = s.get("/no/such/page/AAAAAAAAAAAAAAAAAAAAAA", None).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(s.get("/readyz", None).await.status, StatusCode::OK);

    let text = metrics_text().await;
    for sample in [
        r#"mynaid_http_requests_total{route="/api/v1/handles/{handle}/redeem",status="200"}"#,
        r#"mynaid_http_requests_total{route="/api/v1/handles/{handle}/evidence",status="200"}"#,
        r#"mynaid_http_requests_total{route="/api/v1/handles/{handle}/evidence",status="422"}"#,
        r#"mynaid_http_requests_total{route="/api/v1/handles/{handle}/redeem",status="429"}"#,
        r#"mynaid_http_requests_total{route="/s/{id}/start",status="303"}"#,
        r#"mynaid_http_requests_total{route="/readyz",status="200"}"#,
        r#"mynaid_http_requests_total{route="unmatched",status="404"}"#,
        r#"mynaid_verifications_total{route="user_authentication",outcome="verified"}"#,
        r#"mynaid_verifications_total{route="signature",outcome="certificate_revoked"}"#,
        r#"mynaid_rate_limited_total{limit="handle"}"#,
    ] {
        assert!(value_of(&text, sample) >= 1.0, "{sample}:\n{text}");
    }
    for histogram in [
        r#"mynaid_http_request_duration_seconds_count{route="/api/v1/handles/{handle}/evidence"}"#,
        r#"mynaid_db_query_duration_seconds_count{statement="redeem"}"#,
        r#"mynaid_db_query_duration_seconds_count{statement="complete_evidence"}"#,
        r#"mynaid_db_query_duration_seconds_count{statement="ping"}"#,
    ] {
        assert!(value_of(&text, histogram) >= 1.0, "{histogram}:\n{text}");
    }
    assert!(!samples(&text, "mynaid_crl_age_seconds").is_empty(), "{text}");
    assert!(!samples(&text, "mynaid_crl_next_update_seconds").is_empty(), "{text}");
    // No id, handle or token is a label: routes are templates.
    for secret in [
        flow.id(),
        flow.handle.as_str(),
        flow.token(),
        refused.id(),
        refused.handle.as_str(),
        "AAAAAAAAAAAAAAAAAAAAAA",
    ] {
        assert!(!text.contains(secret), "{secret} is in the metrics:\n{text}");
    }
}

#[tokio::test]
async fn the_sse_gauge_follows_the_streams_hook() {
    // No other test of this binary opens a live-status stream: the gauge is this test's.
    let gauge = |text: &str| {
        if samples(text, "mynaid_sse_streams").is_empty() {
            0.0
        } else {
            value_of(text, "mynaid_sse_streams")
        }
    };
    let before = gauge(&metrics_text().await);
    let a = mynaid_server::ops::sse_opened();
    let b = mynaid_server::ops::sse_opened();
    assert_eq!(gauge(&metrics_text().await), before + 2.0);
    mynaid_server::ops::sse_closed(a);
    assert_eq!(gauge(&metrics_text().await), before + 1.0);
    drop(b);
    assert_eq!(gauge(&metrics_text().await), before);
}
