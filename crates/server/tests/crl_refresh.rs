//! CRLs kept fresh (issue 19, first part): a card revoked with `mynaid-server pki revoke`
//! while the server runs is refused after the next CRL refresh, without a restart; a CRL that
//! does not verify, or is older than the one in use, is not taken (the last good one stays,
//! and the refresh says so); the other route of the same card, and other cards, go on.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::atomic::Ordering;

use axum::http::StatusCode;
use common::{Server, read_card};
use mynaid_protocol::Route;
use mynaid_server::CrlRefresh;
use mynaid_server::config::TrustConfig;

/// A private copy of the committed test PKI's roots, CRLs and manifest.
fn copy_pki(to: &Path) {
    let from = mynaid_testkit::fixtures_dir();
    for dir in ["trust", "crl"] {
        std::fs::create_dir_all(to.join(dir)).unwrap();
        for entry in std::fs::read_dir(from.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            std::fs::copy(&path, to.join(dir).join(path.file_name().unwrap())).unwrap();
        }
    }
    std::fs::copy(from.join("pki.json"), to.join("pki.json")).unwrap();
}

/// Reads `person`'s card by `route` for a fresh session: the server's answer code, or
/// `verified`.
async fn reading(s: &Server, person: &str, route: Route) -> String {
    let flow = s.redeemed("link_card").await;
    let r = s
        .submit(&flow.handle, flow.token(), read_card(person, route, &flow.answer))
        .await;
    if r.status == StatusCode::OK {
        "verified".into()
    } else {
        r.json()["error"]["code"].as_str().unwrap_or_default().to_string()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_reaches_the_running_server_and_bad_or_older_crls_are_not_taken() {
    let dir = tempfile::tempdir().unwrap();
    copy_pki(dir.path());
    let s = Server::with(|c| c.trust = TrustConfig::test_pki(dir.path())).await;
    // The CRLs `pki revoke` writes are dated now: the service's clock too.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    s.clock.store(now + 60, Ordering::SeqCst);
    assert_eq!(reading(&s, "p01", Route::Signature).await, "verified");

    // p01 moves: the signature certificate is revoked while the server runs.
    let out = Command::new(env!("CARGO_BIN_EXE_mynaid-server"))
        .args(["pki", "revoke", "--out"])
        .arg(dir.path())
        .args([
            "--person",
            "p01",
            "--reason",
            "affiliationChanged",
            "--certificates",
            "sign",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // Not before the refresh (the files are read on the schedule, not per reading) …
    assert_eq!(reading(&s, "p01", Route::Signature).await, "verified");
    // … and after it, refused; the 4-digit route of the same card and other cards go on.
    // `pki revoke` writes all four CRLs again (a later thisUpdate): all four taken.
    assert_eq!(
        s.server.refresh_crls().await,
        CrlRefresh { taken: 4, failures: 0 },
        "every CRL file taken"
    );
    assert_eq!(reading(&s, "p01", Route::Signature).await, "certificate_revoked");
    assert_eq!(reading(&s, "p01", Route::UserAuthentication).await, "verified");
    assert_eq!(reading(&s, "p02", Route::Signature).await, "verified");

    // A CRL file that does not verify (an attacker's, a broken download): not taken, the
    // last good one stays.
    let g2 = dir.path().join("crl/jpki-sign-g2.crl");
    let good = std::fs::read(&g2).unwrap();
    let mut broken = good.clone();
    let last = broken.len() - 1;
    broken[last] ^= 0x01;
    std::fs::write(&g2, &broken).unwrap();
    assert_eq!(
        s.server.refresh_crls().await,
        CrlRefresh { taken: 0, failures: 1 },
        "the broken file is refused"
    );
    assert_eq!(reading(&s, "p01", Route::Signature).await, "certificate_revoked");
    assert_eq!(reading(&s, "p02", Route::Signature).await, "verified");
    // The older CRL from before the revocation (a rollback that would hide it): not taken.
    std::fs::copy(mynaid_testkit::fixtures_dir().join("crl/jpki-sign-g2.crl"), &g2).unwrap();
    assert_eq!(
        s.server.refresh_crls().await,
        CrlRefresh { taken: 0, failures: 1 },
        "the older file is refused"
    );
    assert_eq!(reading(&s, "p01", Route::Signature).await, "certificate_revoked");

    // p03 then reports the card lost: both certificates; the 4-digit route is refused too.
    std::fs::write(&g2, &good).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_mynaid-server"))
        .args(["pki", "revoke", "--out"])
        .arg(dir.path())
        .args(["--person", "p03", "--reason", "keyCompromise"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(s.server.refresh_crls().await, CrlRefresh { taken: 4, failures: 0 });
    assert_eq!(
        reading(&s, "p03", Route::UserAuthentication).await,
        "user_authentication_revoked"
    );
    assert_eq!(reading(&s, "p03", Route::Signature).await, "certificate_revoked");
    assert_eq!(
        reading(&s, "p01", Route::Signature).await,
        "certificate_revoked",
        "still revoked"
    );
}
