//! What the server benchmarks share: figures of a timed phase, the way from a new session
//! to a redeemed offer, p01's emulated card answering an offer, one submission.

#![allow(dead_code)]

use std::time::Duration;

use mynaid_device::{Device, Link, Offer, Route};
use mynaid_emulator::transport::InProcessTransport;
use reqwest::Client;

use crate::instances::{Browser, link_on_page, open_session};
use mynaid_testkit::PersonCard;

/// One submission ready to send.
#[derive(Clone)]
pub(crate) struct Ready {
    pub(crate) url: String,
    pub(crate) bearer: String,
    pub(crate) body: Vec<u8>,
}

/// What a timed phase saw.
pub(crate) struct Figures {
    pub(crate) completed: usize,
    pub(crate) failed: usize,
    pub(crate) elapsed: Duration,
    /// Sorted once the phase is over.
    pub(crate) latencies: Vec<Duration>,
}

impl Figures {
    pub(crate) fn new() -> Figures {
        Figures {
            completed: 0,
            failed: 0,
            elapsed: Duration::ZERO,
            latencies: Vec::new(),
        }
    }

    pub(crate) fn rate(&self) -> f64 {
        self.completed as f64 / self.elapsed.as_secs_f64()
    }

    pub(crate) fn percentile_ms(&self, p: usize) -> f64 {
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        let i = (self.latencies.len() * p / 100).min(self.latencies.len() - 1);
        self.latencies[i].as_secs_f64() * 1000.0
    }
}

pub(crate) fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// A numeric knob from the environment.
pub(crate) fn knob(name: &str, default: f64) -> f64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(default)
}

/// Whether this is a real run (`cargo bench`) rather than `cargo test --benches`.
pub(crate) fn quick() -> bool {
    !std::env::args().any(|a| a == "--bench")
}

/// A new session of the portal on `base` (`verify_identity`), chosen for the PC reader app
/// and redeemed: its browser and the offer.
pub(crate) async fn redeemed_offer(http: &Client, base: &str) -> (Browser, Offer) {
    let browser = open_session(http, base, "verify_identity").await;
    let page = browser.choose(http, base, "pc").await;
    let link = Link::parse(&link_on_page(&page, "id=\"launch\"", "href=\"", "\"")).expect("reader link");
    let req = link.redeem_request("mynaid-bench", Device::PcReaderApp);
    let r = http
        .post(&req.url)
        .header("content-type", "application/json")
        .body(req.body.to_string())
        .send()
        .await
        .expect("redeem");
    let status = r.status().as_u16();
    let offer =
        Offer::from_response(&link, Device::PcReaderApp, status, &r.bytes().await.expect("answer")).expect("redeemed");
    (browser, offer)
}

/// p01's emulated card, for one credential.
pub(crate) struct Card {
    /// The card writes its counters here; it lives as long as the card.
    _copy: mynaid_testkit::CardCopy,
    card: InProcessTransport,
    credentials: mynaid_device::Credentials,
}

impl Card {
    pub(crate) fn p01(credential: Route) -> Card {
        let p = mynaid_testkit::person("p01");
        let copy = p.card();
        Card {
            card: InProcessTransport::new(copy.open()),
            _copy: copy,
            credentials: p.credentials(credential),
        }
    }

    /// Reads the card for `offer` (as the reader app does) and makes the submission.
    pub(crate) fn answer(&mut self, offer: &Offer) -> Ready {
        self.card.card_mut().reset();
        let reading = mynaid_device::read(&mut self.card, &self.credentials, &offer.to_be_signed(), &mut |_| {})
            .expect("the emulated card reads");
        let req = offer.evidence_request("mynaid-bench", reading.body);
        Ready {
            url: req.url,
            bearer: req.bearer.unwrap_or_default(),
            body: req.body.as_bytes().to_vec(),
        }
    }
}

/// Sends one submission; the answer when it was accepted (the confirmation code and the
/// way back to the browser).
pub(crate) async fn submit(http: &Client, r: &Ready) -> Option<serde_json::Value> {
    let resp = http
        .post(&r.url)
        .bearer_auth(&r.bearer)
        .header("content-type", "application/json")
        .body(r.body.clone())
        .send()
        .await
        .ok()?;
    if !resp.status().is_success() {
        return None;
    }
    resp.json().await.ok()
}

/// The reader app's return to the session's browser, which releases the result; then the
/// code that browser carries back to the relying party. None if a step failed.
pub(crate) async fn come_back(
    http: &Client,
    base: &str,
    browser: &Browser,
    submitted: &serde_json::Value,
) -> Option<String> {
    let handle = submitted["return_url"].as_str()?.split_once("/return#")?.1;
    let r = http
        .post(format!("{base}/return"))
        .header("cookie", &browser.cookie)
        .json(&serde_json::json!({ "result_handle": handle }))
        .send()
        .await
        .ok()?;
    if !r.status().is_success() {
        return None;
    }
    let done = http
        .get(format!("{base}/s/{}/done", browser.id))
        .header("cookie", &browser.cookie)
        .send()
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    let at = done.find("&amp;code=")? + "&amp;code=".len();
    Some(done[at..at + done[at..].find(['"', '&'])?].to_string())
}
