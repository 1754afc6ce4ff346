//! Pattern 2's notification path over real HTTP: how long after the server accepts the
//! phone's evidence does the PC page's SSE stream say so? Median and p99 over many sessions.
//!
//! Run: `cargo bench -p mynaid-server --bench notify` (`BENCH_SESSIONS`, default 200).
//! Each session: the RP creates it, the "PC page" opens the QR page and its SSE stream, the
//! "phone" redeems the handle and submits evidence read from an emulated card; timed are
//! (a) evidence response → `confirm_needed` event and (b) evidence request sent → event.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/common/mod.rs"]
#[allow(missing_docs)]
mod common;
mod pc_page;

use std::time::{Duration, Instant};

use mynaid_card::transport::CardTransport;
use mynaid_device::{Link, Offer, Route};
use mynaid_emulator::transport::InProcessTransport;
use mynaid_testkit::PersonCard;
use pc_page::Waiting;
use reqwest::{Client, redirect};

fn between<'a>(text: &'a str, after: &str, open: &str, close: &str) -> &'a str {
    let rest = &text[text.find(after).unwrap() + after.len()..];
    let rest = &rest[rest.find(open).unwrap() + open.len()..];
    &rest[..rest.find(close).unwrap()]
}

fn percentile(sorted: &[Duration], p: usize) -> Duration {
    sorted[(sorted.len() * p / 100).min(sorted.len() - 1)]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let sessions: usize = std::env::var("BENCH_SESSIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let db = dir.path().join("db");
    tokio::spawn(async move { pc_page::serve(listener, &db).await });
    let http = Client::builder().redirect(redirect::Policy::none()).build().unwrap();
    let p = mynaid_testkit::person("p01");
    let copy = p.card();
    let mut card = InProcessTransport::new(copy.open());
    let credentials = p.credentials(Route::UserAuthentication);

    let (mut after_accept, mut after_send) = (Vec::new(), Vec::new());
    for _ in 0..sessions {
        let mut pc = Waiting::open(&http, &base).await;
        let link = between(&pc.page, "id=\"app-link\"", ">", "</pre>").replace("&amp;", "&");
        // The phone: redeem, read the card, submit.
        let link = Link::parse(&link).unwrap();
        let req = link.redeem_request("bench", mynaid_device::Device::PhoneApp);
        let resp = http
            .post(&req.url)
            .body(req.body.to_string())
            .header("content-type", "application/json")
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let offer = Offer::from_response(
            &link,
            mynaid_device::Device::PhoneApp,
            status,
            &resp.bytes().await.unwrap(),
        )
        .unwrap();
        assert!(pc.next_event().await.contains("reading"));
        card.card_mut().reset();
        let reading = mynaid_device::read(
            &mut card as &mut dyn CardTransport,
            &credentials,
            &offer.to_be_signed(),
            &mut |_| {},
        )
        .unwrap();
        let submit = offer.evidence_request("bench", reading.body);
        let sent = Instant::now();
        let resp = http
            .post(&submit.url)
            .bearer_auth(submit.bearer.as_deref().unwrap())
            .header("content-type", "application/json")
            .body(submit.body.to_string())
            .send()
            .await
            .unwrap();
        let accepted = Instant::now();
        assert!(resp.status().is_success(), "{}", resp.text().await.unwrap());
        let event = pc.next_event().await;
        let arrived = Instant::now();
        assert!(event.contains("confirm_needed"), "{event}");
        after_accept.push(arrived.saturating_duration_since(accepted));
        after_send.push(arrived - sent);
    }
    after_accept.sort();
    after_send.sort();
    let us = |d: Duration| d.as_micros();
    println!("SSE notify, pattern 2, {sessions} sessions over HTTP on loopback (SQLite):");
    println!(
        "  evidence response -> confirm_needed event: median {} us, p99 {} us, max {} us",
        us(percentile(&after_accept, 50)),
        us(percentile(&after_accept, 99)),
        us(*after_accept.last().unwrap())
    );
    println!(
        "  evidence request sent -> event (includes verification and storage): median {} us, p99 {} us",
        us(percentile(&after_send, 50)),
        us(percentile(&after_send, 99))
    );
}
