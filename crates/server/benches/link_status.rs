//! Re-checking the linked cards after a CRL refresh (`Service::recheck_links`, issue 19): how
//! long one pass over N links takes — pages of 500 rows from the database, each sealed serial
//! opened (AES-256-GCM) and looked up in the CRLs in use — on SQLite and, when one answers, on
//! PostgreSQL. None is revoked: the pass every refresh makes; a revocation adds one
//! transaction per revoked link.
//!
//! Run: `cargo bench -p mynaid-server --bench link_status` (`MYNAID_BENCH_LINKS`, default
//! 100000). Without `--bench` (`cargo test --benches`) it runs 200 links.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/common/mod.rs"]
#[allow(missing_docs)]
mod common;

use std::time::Instant;

use common::{API_KEY, Server, read_card};
use mynaid_protocol::Route;
use mynaid_sessions::links::{CertificateRef, NewLink};

async fn pass(label: &str, database_url: String, links: usize) {
    let s = Server::with(|c| {
        c.database_url = database_url;
        c.relying_parties[0].link_status = true;
    })
    .await;
    // One real link, for a real issuer (a root whose CRL is loaded).
    let flow = s.redeemed("link_card").await;
    s.submit_and_return(&flow, read_card("p01", Route::UserAuthentication, &flow.answer))
        .await;
    assert_eq!(s.result(API_KEY, &flow.browser).await.status, 200);
    let svc = s.server.sessions.clone();
    let (_, _, issuer, _) = svc.links().links_after(("", ""), 1).await.unwrap().remove(0);
    let started = Instant::now();
    for i in 0..links {
        let link_id = format!("bench-link-{i:08}");
        let certificate = CertificateRef {
            issuer: issuer.clone(),
            serial: format!("{:016X}", 0x5eed_0000_0000u64 + i as u64),
        };
        let sealed = svc.seal_certificate("portal", &link_id, &certificate).unwrap();
        let link = NewLink {
            relying_party: "portal".into(),
            link_id,
            issuer: issuer.clone(),
            certificate: sealed,
        };
        svc.links().insert(&link, 0).await.unwrap();
    }
    let filled = started.elapsed();
    let mut best = f64::MAX;
    for _ in 0..3 {
        let t = Instant::now();
        let check = svc.recheck_links().await.unwrap();
        best = best.min(t.elapsed().as_secs_f64());
        assert_eq!((check.checked, check.revoked), (links + 1, 0));
    }
    println!(
        "{label:<10} {:>7} links: re-check {:>8.1} ms (best of 3) = {:>6.2} µs a link; filled in {:.1} s",
        links + 1,
        best * 1e3,
        best * 1e6 / (links + 1) as f64,
        filled.as_secs_f64()
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let links: usize = std::env::var("MYNAID_BENCH_LINKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if full { 100_000 } else { 200 });
    let dir = tempfile::tempdir().unwrap();
    pass(
        "SQLite",
        format!("sqlite://{}", dir.path().join("links.db").display()),
        links,
    )
    .await;
    let reachable = sqlx::postgres::PgPool::connect(&common::postgres_url()).await.is_ok();
    if reachable {
        let pg = common::PgDatabase::create().await;
        pass("PostgreSQL", pg.url.clone(), links).await;
    } else {
        println!("PostgreSQL: not reachable at {}, skipped", common::postgres_url());
    }
}
