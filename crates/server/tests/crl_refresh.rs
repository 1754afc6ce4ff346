//! CRLs kept fresh (issue 19, first part): a card revoked with `mynaid-server pki revoke`
//! while the server runs is refused after the next CRL refresh, without a restart; a CRL that
//! does not verify, or is older than the one in use, is not taken (the last good one stays,
//! and the refresh says so); the other route of the same card, and other cards, go on.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::atomic::Ordering;

use common::{Server, copy_pki, pki_revoke, real_now};
use mynaid_protocol::Route;
use mynaid_server::CrlRefresh;
use mynaid_server::config::TrustConfig;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_reaches_the_running_server_and_bad_or_older_crls_are_not_taken() {
    let dir = tempfile::tempdir().unwrap();
    copy_pki(dir.path());
    let s = Server::with(|c| c.trust = TrustConfig::test_pki(dir.path())).await;
    // The CRLs `pki revoke` writes are dated now: the service's clock too.
    s.clock.store(real_now() + 60, Ordering::SeqCst);
    assert_eq!(s.reading("p01", Route::Signature).await, "verified");

    // p01 moves: the signature certificate is revoked while the server runs.
    pki_revoke(dir.path(), "p01", "affiliationChanged", Some("sign"));
    // Not before the refresh (the files are read on the schedule, not per reading) …
    assert_eq!(s.reading("p01", Route::Signature).await, "verified");
    // … and after it, refused; the 4-digit route of the same card and other cards go on.
    // `pki revoke` writes all four CRLs again (a later thisUpdate): all four taken.
    assert_eq!(
        s.server.refresh_crls().await,
        CrlRefresh { taken: 4, failures: 0 },
        "every CRL file taken"
    );
    assert_eq!(s.reading("p01", Route::Signature).await, "certificate_revoked");
    assert_eq!(s.reading("p01", Route::UserAuthentication).await, "verified");
    assert_eq!(s.reading("p02", Route::Signature).await, "verified");

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
    assert_eq!(s.reading("p01", Route::Signature).await, "certificate_revoked");
    assert_eq!(s.reading("p02", Route::Signature).await, "verified");
    // The older CRL from before the revocation (a rollback that would hide it): not taken.
    std::fs::copy(mynaid_testkit::fixtures_dir().join("crl/jpki-sign-g2.crl"), &g2).unwrap();
    assert_eq!(
        s.server.refresh_crls().await,
        CrlRefresh { taken: 0, failures: 1 },
        "the older file is refused"
    );
    assert_eq!(s.reading("p01", Route::Signature).await, "certificate_revoked");

    // p03 then reports the card lost: both certificates; the 4-digit route is refused too.
    std::fs::write(&g2, &good).unwrap();
    pki_revoke(dir.path(), "p03", "keyCompromise", None);
    assert_eq!(s.server.refresh_crls().await, CrlRefresh { taken: 4, failures: 0 });
    assert_eq!(
        s.reading("p03", Route::UserAuthentication).await,
        "user_authentication_revoked"
    );
    assert_eq!(s.reading("p03", Route::Signature).await, "certificate_revoked");
    assert_eq!(
        s.reading("p01", Route::Signature).await,
        "certificate_revoked",
        "still revoked"
    );
}
