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

use std::time::{Duration, Instant};

use mynaid_card::transport::CardTransport;
use mynaid_device::{Credential, Link, Offer};
use mynaid_emulator::transport::InProcessTransport;
use mynaid_testkit::reqwest::{Client, Response, redirect};

fn between<'a>(text: &'a str, after: &str, open: &str, close: &str) -> &'a str {
    let rest = &text[text.find(after).unwrap() + after.len()..];
    let rest = &rest[rest.find(open).unwrap() + open.len()..];
    &rest[..rest.find(close).unwrap()]
}

async fn next_event(resp: &mut Response, buf: &mut String) -> String {
    loop {
        if let Some(end) = buf.find("\n\n") {
            let block: String = buf.drain(..end + 2).collect();
            if let Some(data) = block.lines().find_map(|l| l.strip_prefix("data: ")) {
                return data.to_string();
            }
            continue;
        }
        let chunk = resp.chunk().await.unwrap().expect("the stream ended");
        buf.push_str(std::str::from_utf8(&chunk).unwrap());
    }
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
    let addr = listener.local_addr().unwrap();
    let base = format!("http://{addr}");
    let mut config = common::test_config(&base, &format!("sqlite://{}", dir.path().join("db").display()));
    config.listen = addr;
    // Every request comes from 127.0.0.1: no per-address rate limit here.
    config.limits.per_address_burst = 0;
    let svc = mynaid_server::service(config, mynaid_server::service::system_clock())
        .await
        .unwrap();
    tokio::spawn(mynaid_server::serve(svc, listener, std::future::pending()));
    let http = Client::builder().redirect(redirect::Policy::none()).build().unwrap();
    let p = mynaid_testkit::person("p01");
    let copy = p.card();
    let mut card = InProcessTransport::new(copy.open());
    let pin = mynaid_card::Pin::new(mynaid_card::PinKind::InputSupport, &p.pin).unwrap();

    let (mut after_accept, mut after_send) = (Vec::new(), Vec::new());
    for _ in 0..sessions {
        let created: serde_json::Value = http
            .post(format!("{base}/api/v1/sessions"))
            .bearer_auth(common::API_KEY)
            .json(&serde_json::json!({ "purpose": "verify_identity" }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = created["session_id"].as_str().unwrap();
        let start = http.get(created["browser_url"].as_str().unwrap()).send().await.unwrap();
        let cookie = start.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_string();
        let browser_token = cookie.split_once('=').map_or("", |(_, v)| v);
        let page = http
            .post(format!("{base}/s/{id}/phone"))
            .header("cookie", &cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("csrf={}", mynaid_server::pages::form_token(id, browser_token)))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let link = between(&page, "id=\"app-link\"", ">", "</pre>").replace("&amp;", "&");
        let mut sse = http
            .get(format!("{base}/s/{id}/events"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        let mut buf = String::new();
        assert!(next_event(&mut sse, &mut buf).await.contains("waiting"));
        // The phone: redeem, read the card, submit.
        let link = Link::parse(&link).unwrap();
        let req = link.redeem_request("bench");
        let resp = http
            .post(&req.url)
            .body(req.body.to_string())
            .header("content-type", "application/json")
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let offer = Offer::from_response(&link, status, &resp.bytes().await.unwrap()).unwrap();
        assert!(next_event(&mut sse, &mut buf).await.contains("reading"));
        card.card_mut().reset();
        let reading = mynaid_device::read(
            &mut card as &mut dyn CardTransport,
            Credential::InputSupportPin,
            &pin,
            mynaid_card::LastTry::NotConfirmed,
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
        let event = next_event(&mut sse, &mut buf).await;
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
