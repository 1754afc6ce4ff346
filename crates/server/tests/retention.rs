//! Retention, on both engines: a taken result is deleted at once; ended sessions (with any
//! result never taken) go `retention_secs` after they ended, by the purge `serve` runs and
//! by `mynaid-server purge` ([`mynaid_server::purge`]); nothing younger goes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use axum::http::StatusCode;
use common::*;

/// A session of the portal whose card was read and verified (pattern 1: released at once).
async fn verified(s: &Server) -> Flow {
    let flow = s.redeemed("verify_identity").await;
    s.submit_and_return(&flow, read_card("p01", Route::UserAuthentication, &flow.answer))
        .await;
    flow
}

/// A verified session whose result the portal took.
async fn taken(s: &Server) -> Flow {
    let flow = verified(s).await;
    let r = s.result(API_KEY, &flow.browser).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    flow
}

async fn gone(s: &Server, id: &str) -> bool {
    s.svc.session(id).await.unwrap().is_none()
}

async fn suite(s: Server) {
    assert_eq!(s.config.retention_secs, 3600, "the default");
    let never_taken = verified(&s).await;
    let early = taken(&s).await;
    let waiting = s.browser("verify_identity").await;
    // Taken: the ciphertext is gone at once; the row says the result was handed over.
    let row = s.state(early.id()).await;
    assert_eq!(row.state, mynaid_sessions::store::State::Completed);
    assert!(row.result.is_none(), "a taken result is deleted at once");
    s.result(API_KEY, &early.browser)
        .await
        .assert_error(StatusCode::CONFLICT, "session_finished");
    assert!(s.state(never_taken.id()).await.result.is_some());

    // Within the retention period nothing goes.
    s.advance(3000);
    assert_eq!(s.server.purge().await.unwrap(), 0);
    let late = taken(&s).await;
    s.advance(1000);
    // An hour after they ended: the never-taken result, the taken one and the session that
    // was never read go; the one taken 1000 s ago stays.
    assert_eq!(s.server.purge().await.unwrap(), 3);
    for id in [never_taken.id(), early.id(), waiting.id.as_str()] {
        assert!(gone(&s, id).await, "{id}");
    }
    assert!(!gone(&s, late.id()).await);
    // What `mynaid-server purge` runs, on the configured database, at a later time.
    let config = s.config.clone();
    assert_eq!(mynaid_server::purge(&config, NOW + 4000).await.unwrap(), 0);
    assert_eq!(mynaid_server::purge(&config, NOW + 3000 + 3601).await.unwrap(), 1);
    assert!(gone(&s, late.id()).await);
    // A shorter retention is honoured.
    let mut short = config.clone();
    short.retention_secs = 10;
    let fresh = taken(&s).await;
    let now = s.svc.now();
    assert_eq!(mynaid_server::purge(&short, now + 5).await.unwrap(), 0);
    assert_eq!(mynaid_server::purge(&short, now + 11).await.unwrap(), 1);
    assert!(gone(&s, fresh.id()).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_retention() {
    suite(Server::with_file_db().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_retention() {
    let db = PgDatabase::create().await;
    suite(Server::build(test_config(PUBLIC_URL, &db.url), None).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_purges_periodically() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(
        PUBLIC_URL,
        &format!("sqlite://{}", dir.path().join("mynaid.db").display()),
    );
    config.retention_secs = 60;
    config.purge_interval_secs = 1;
    let s = Server::build(config, None).await;
    let flow = taken(&s).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(mynaid_server::serve(s.server.clone(), listener, async move {
        let _ = stopped.await;
    }));
    // Not yet past the retention: it stays through a few rounds.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(!gone(&s, flow.id()).await);
    s.advance(61);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !gone(&s, flow.id()).await {
        assert!(tokio::time::Instant::now() < deadline, "not purged within 10 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let _ = stop.send(());
    server.await.unwrap().unwrap();
}
