//! CRLs from URLs (issue 19): a CRL published at a URL reaches the running server at the
//! next refresh; a URL that fails, or serves a CRL that is refused, leaves the last good CRL
//! in use and counts a failure; a stale CRL refuses readings of its issuer (not the server);
//! instances sharing a PostgreSQL database fetch a URL once and all take what was fetched.
//!
//! The publisher is a small HTTP server in the test that counts its requests. The sign-g2
//! CRL (p01's and p02's signature certificates) comes from it; the other three from the
//! committed files.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use common::{NOW, PUBLIC_URL, PgDatabase, Server, test_config};
use mynaid_protocol::Route;
use mynaid_server::CrlRefresh;
use mynaid_server::config::{Config, CrlSource};
use mynaid_testpki::der::DateTime;
use mynaid_testpki::x509_cert::ext::pkix::crl::CrlReason;
use mynaid_testpki::{Generation, RevokedEntry, RootKind, TestPki, build_crl};

const DAY: i64 = 86_400;

/// The test PKI with its keys (the committed fixtures, regenerated: seconds).
fn pki() -> &'static TestPki {
    static PKI: OnceLock<TestPki> = OnceLock::new();
    PKI.get_or_init(|| mynaid_testpki::generate_in_memory(1).expect("test PKI"))
}

fn date(secs: i64) -> DateTime {
    DateTime::from_unix_duration(Duration::from_secs(secs as u64)).unwrap()
}

/// The sign-g2 CRL valid from `this_update` to `next_update` (seconds since the epoch), with
/// the signature certificates of `revoked` added to the test PKI's own entries.
fn sign_g2_crl(this_update: i64, next_update: i64, revoked: &[&str]) -> Vec<u8> {
    let pki = pki();
    let mut spec = pki.crl_spec(RootKind::Sign, Generation::G2);
    spec.this_update = date(this_update);
    spec.next_update = Some(date(next_update));
    for id in revoked {
        spec.revoked.push(RevokedEntry {
            serial: pki.person(id).unwrap().sign.as_ref().unwrap().serial.clone(),
            revocation_date: date(this_update),
            reason: Some(CrlReason::AffiliationChanged),
        });
    }
    build_crl(&spec).unwrap()
}

/// The CRL's publisher: serves one CRL at `/crl/sign-g2.crl`, counts requests, closes each
/// connection after its answer (so that stopping it leaves no connection to reuse).
struct Publisher {
    url: String,
    crl: Arc<Mutex<Vec<u8>>>,
    requests: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

#[derive(Clone)]
struct Published {
    crl: Arc<Mutex<Vec<u8>>>,
    requests: Arc<AtomicUsize>,
}

async fn serve_crl(State(p): State<Published>) -> Response {
    p.requests.fetch_add(1, Ordering::SeqCst);
    let body = p.crl.lock().unwrap().clone();
    let mut resp = (StatusCode::OK, body).into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/pkix-crl"));
    resp.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    resp
}

impl Publisher {
    async fn start(crl: Vec<u8>) -> Publisher {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let published = Published {
            crl: Arc::new(Mutex::new(crl)),
            requests: Arc::new(AtomicUsize::new(0)),
        };
        let app = Router::new()
            .route("/crl/sign-g2.crl", get(serve_crl))
            .with_state(published.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Publisher {
            url: format!("http://127.0.0.1:{port}/crl/sign-g2.crl"),
            crl: published.crl,
            requests: published.requests,
            task,
        }
    }

    fn publish(&self, crl: Vec<u8>) {
        *self.crl.lock().unwrap() = crl;
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    /// Down: nothing listens any more.
    async fn stop(&self) {
        self.task.abort();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The configuration's sign-g2 CRL from `url`, refreshed every `refresh_secs`.
fn sign_g2_from(c: &mut Config, url: &str, refresh_secs: u64) {
    c.trust.crls[1] = CrlSource::parse(url).unwrap();
    c.trust.crl_refresh_secs = refresh_secs;
}

const fn refresh(taken: usize, failures: usize) -> CrlRefresh {
    CrlRefresh { taken, failures }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_published_at_the_url_reaches_the_running_server() {
    let publisher = Publisher::start(sign_g2_crl(NOW - 30 * DAY, NOW + 30 * DAY, &[])).await;
    let s = Server::with(|c| sign_g2_from(c, &publisher.url, 0)).await;
    assert_eq!(publisher.requests(), 1, "fetched at start");
    assert_eq!(s.reading("p01", Route::Signature).await, "verified");

    // p01 moves: the publisher's next CRL lists the signature certificate.
    publisher.publish(sign_g2_crl(NOW - DAY, NOW + 30 * DAY, &["p01"]));
    assert_eq!(s.server.refresh_crls().await, refresh(1, 0));
    assert_eq!(s.reading("p01", Route::Signature).await, "certificate_revoked");
    assert_eq!(s.reading("p01", Route::UserAuthentication).await, "verified");
    assert_eq!(s.reading("p02", Route::Signature).await, "verified");
    // The same CRL again: fetched, nothing new taken.
    assert_eq!(s.server.refresh_crls().await, refresh(0, 0));
    assert_eq!(publisher.requests(), 3);

    // A rollback to the CRL from before the revocation: refused, the revocation stays.
    publisher.publish(sign_g2_crl(NOW - 30 * DAY, NOW + 30 * DAY, &[]));
    assert_eq!(s.server.refresh_crls().await, refresh(0, 1));
    assert_eq!(s.reading("p01", Route::Signature).await, "certificate_revoked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_url_that_fails_keeps_the_last_good_crl() {
    let publisher = Publisher::start(sign_g2_crl(NOW - DAY, NOW + 30 * DAY, &["p01"])).await;
    let s = Server::with(|c| sign_g2_from(c, &publisher.url, 0)).await;
    assert_eq!(s.reading("p01", Route::Signature).await, "certificate_revoked");

    // Not a CRL (a broken upload, a captive portal's page): refused.
    publisher.publish(b"<html>maintenance</html>".to_vec());
    assert_eq!(s.server.refresh_crls().await, refresh(0, 1));
    // The publisher is down.
    publisher.stop().await;
    assert_eq!(s.server.refresh_crls().await, refresh(0, 1));
    // The last good CRL still answers, both ways.
    assert_eq!(s.reading("p01", Route::Signature).await, "certificate_revoked");
    assert_eq!(s.reading("p02", Route::Signature).await, "verified");
    let ready = s.get("/readyz", None).await;
    assert_eq!(ready.status, StatusCode::OK, "{}", ready.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_crl_refuses_readings_until_a_fresh_one_is_taken() {
    let publisher = Publisher::start(sign_g2_crl(NOW - DAY, NOW + 2 * DAY, &[])).await;
    let s = Server::with(|c| sign_g2_from(c, &publisher.url, 0)).await;
    assert_eq!(s.reading("p02", Route::Signature).await, "verified");

    // Three days on, the publisher has nothing newer: the CRL is past its nextUpdate.
    s.advance(3 * DAY);
    assert_eq!(s.server.refresh_crls().await, refresh(0, 0));
    assert_eq!(s.reading("p02", Route::Signature).await, "revocation_unknown");
    assert_eq!(
        s.reading("p02", Route::UserAuthentication).await,
        "verified",
        "other issuers' CRLs are in date"
    );
    let ready = s.get("/readyz", None).await;
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(ready.json()["checks"]["crls"], "out_of_date");

    // A fresh CRL is published and taken: readings go on.
    publisher.publish(sign_g2_crl(NOW + 2 * DAY + DAY / 2, NOW + 30 * DAY, &[]));
    assert_eq!(s.server.refresh_crls().await, refresh(1, 0));
    assert_eq!(s.reading("p02", Route::Signature).await, "verified");
    assert_eq!(s.get("/readyz", None).await.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_on_one_postgresql_fetch_a_url_once() {
    let publisher = Publisher::start(sign_g2_crl(NOW - 30 * DAY, NOW + 30 * DAY, &[])).await;
    let db = PgDatabase::create().await;
    let mut config = test_config(PUBLIC_URL, &db.url);
    sign_g2_from(&mut config, &publisher.url, 60);
    let a = Server::build(config.clone(), None).await;
    assert_eq!(publisher.requests(), 1, "the first instance fetched at start");
    let b = Server::build(config, None).await;
    assert_eq!(publisher.requests(), 1, "the second took the stored copy");
    assert_eq!(a.reading("p01", Route::Signature).await, "verified");
    assert_eq!(b.reading("p01", Route::Signature).await, "verified");

    // Within half the refresh interval the stored copy is fresh: nobody fetches.
    assert_eq!(a.server.refresh_crls().await, refresh(0, 0));
    assert_eq!(publisher.requests(), 1);

    // p01 moves; later both instances refresh at the same time: one fetch, both take it.
    publisher.publish(sign_g2_crl(NOW - DAY, NOW + 30 * DAY, &["p01"]));
    a.advance(31);
    b.advance(31);
    let (ra, rb) = tokio::join!(a.server.refresh_crls(), b.server.refresh_crls());
    assert_eq!(publisher.requests(), 2, "one fetch for both instances");
    assert_eq!((ra, rb), (refresh(1, 0), refresh(1, 0)));
    assert_eq!(a.reading("p01", Route::Signature).await, "certificate_revoked");
    assert_eq!(b.reading("p01", Route::Signature).await, "certificate_revoked");
    assert_eq!(b.reading("p02", Route::Signature).await, "verified");

    // The publisher is down at the next round: the one that fetches counts the failure; both
    // keep the CRL.
    publisher.stop().await;
    a.advance(31);
    b.advance(31);
    let (ra, rb) = tokio::join!(a.server.refresh_crls(), b.server.refresh_crls());
    assert_eq!(ra.taken + rb.taken, 0);
    assert!(ra.failures + rb.failures >= 1, "{ra:?} {rb:?}");
    assert_eq!(a.reading("p01", Route::Signature).await, "certificate_revoked");
    assert_eq!(b.reading("p01", Route::Signature).await, "certificate_revoked");
}
