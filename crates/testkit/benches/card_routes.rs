//! Card routes through the in-process emulator: APDUs, bytes and time per route, with
//! short (256-byte) and extended-length APDUs.
//!
//! Run: `cargo bench -p mynaid-testkit --bench card_routes`. Prints two tables; the aims
//! are ≤ 18 / ≤ 28 APDUs for the user-authentication route (the 4-digit PINs, issue 18)
//! and ≤ 8 / ≤ 15 for the signature route (extended / short), and ≤ 1.2 s for the
//! user-authentication route on NFC at 424 kbit/s and on contact T=1 with TA1.
//!
//! The second table replays each route's recorded APDUs over modelled links: NFC-B at 106,
//! 212 and 424 kbit/s (frames of at most 256 bytes, ISO-DEP chaining) and contact T=1 at
//! 4 MHz with and without TA1, adding per-operation card times and a per-APDU stack cost.
//! The parameters are the anchors of `shared/spec/performance.md` §1.3–1.5 (see [`Link`]
//! and [`card_time_ms`]); no real card has been timed yet, so these are estimates to replace
//! with measurements.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use mynaid_card::{FourDigitPins, InputSupportPin, LastTries, LastTry, Pin, PinKind, Session, routes};
use mynaid_emulator::transport::InProcessTransport;
use mynaid_emulator::{TraceEntry, TraceEvent};
use mynaid_testkit::PersonCard;
use mynaid_testkit::person;

fn main() {
    let iterations: usize = std::env::var("BENCH_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    let p = person("p01");
    let long = person("p07");
    let mut recorded = Vec::new();
    println!("route            person  link      APDUs  to card B  from card B  median ms  p99 ms  (n={iterations})");
    for (label, who, kind) in [
        ("user-auth", &p, PinKind::UserAuthentication),
        ("user-auth", &long, PinKind::UserAuthentication),
        ("signature", &p, PinKind::Signature),
    ] {
        for extended in [false, true] {
            let secret = match kind {
                PinKind::Signature => who.sign_password.clone().unwrap_or_default(),
                _ => who.auth_pin.clone(),
            };
            let copy = who.card();
            let mut times = Vec::with_capacity(iterations);
            let mut apdus = 0;
            let mut bytes = (0, 0);
            for _ in 0..iterations {
                let card = copy.open();
                let trace = card.trace();
                let t = if extended {
                    InProcessTransport::extended(card)
                } else {
                    InProcessTransport::new(card)
                };
                let mut s = Session::new(t);
                let pin = Pin::new(kind, &secret).expect("pin");
                let tbs = [7u8; 32];
                let start = Instant::now();
                let ok = match kind {
                    PinKind::Signature => {
                        routes::read_signature(&mut s, &pin, LastTry::NotConfirmed, &tbs, &mut |_| {}).is_ok()
                    }
                    _ => {
                        let typed = Pin::new(PinKind::InputSupport, &who.pin).expect("pin");
                        let pins = FourDigitPins::new(pin, InputSupportPin::Typed(typed)).expect("pins");
                        routes::read_user_authentication(&mut s, &pins, LastTries::default(), &tbs, &mut |_| {}).is_ok()
                    }
                };
                times.push(start.elapsed());
                assert!(ok, "the route failed");
                apdus = trace.apdu_count();
                bytes = trace.bytes_exchanged();
                if !extended {
                    recorded.push((label, who.id.clone(), trace.entries()));
                }
            }
            times.sort();
            let ms = |d: Duration| d.as_secs_f64() * 1000.0;
            let median = times[times.len() / 2];
            let p99 = times[(times.len() * 99 / 100).min(times.len() - 1)];
            println!(
                "{label:<16} {:<7} {:<9} {apdus:>5}  {:>9}  {:>11}  {:>9.3}  {:>6.3}",
                who.id,
                if extended { "extended" } else { "short" },
                bytes.0,
                bytes.1,
                ms(median),
                ms(p99)
            );
        }
    }
    // The last iteration of each short-APDU route (every iteration sends the same APDUs).
    recorded.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);
    modelled(&recorded);
}

/// A link between reader and card.
struct Link {
    name: &'static str,
    /// Microseconds per byte on the wire.
    us_per_byte: f64,
    /// Largest frame (information field) before chaining.
    frame: usize,
    /// Framing bytes per frame (PCB + CRC for ISO-DEP; NAD + PCB + LEN + LRC for T=1).
    frame_overhead: usize,
    /// Host-side cost per APDU: the phone's NFC stack (iOS Core NFC small-APDU round trips
    /// are 16–18 ms, §1.4) or the USB CCID reader and pcsc-lite (≈ 1 ms, §2).
    per_apdu_ms: f64,
}

/// NFC-B: 10 etu per character, etu = 128/fc at 106 kbit/s, halved per rate step (§1.3).
fn nfc(name: &'static str, kbit: f64) -> Link {
    let etu_us = 128.0 / 13.56 * (106.0 / kbit);
    Link {
        name,
        us_per_byte: 10.0 * etu_us,
        frame: 256 - 3,
        frame_overhead: 3,
        per_apdu_ms: 15.0,
    }
}

/// Contact T=1 at 4 MHz, 11 etu per character (TC1=FF), IFSC 251 (§1.1, §1.3).
fn contact(name: &'static str, di: f64) -> Link {
    let etu_us = 372.0 / di / 4.0;
    Link {
        name,
        us_per_byte: 11.0 * etu_us,
        frame: 251,
        frame_overhead: 4,
        per_apdu_ms: 1.0,
    }
}

/// Time the card itself needs per operation, in milliseconds: RSA-2048 signing 250 ms
/// (CryptoCertum 269 ms, "50–200 ms with a coprocessor", §1.4), VERIFY 30 ms (33 ms measured),
/// anything else 3 ms.
fn card_time_ms(e: &TraceEntry) -> f64 {
    match e.ins {
        0x2A => 250.0,
        0x20 if e.lc > 0 => 30.0,
        _ => 3.0,
    }
}

fn wire_ms(link: &Link, bytes: usize) -> f64 {
    let frames = bytes.div_ceil(link.frame).max(1);
    // A chained frame is acknowledged by a 3-4 byte R-block in the other direction.
    let acks = (frames - 1) * link.frame_overhead;
    (bytes + frames * link.frame_overhead + acks) as f64 * link.us_per_byte / 1000.0
}

fn modelled(recorded: &[(&str, String, Vec<TraceEntry>)]) {
    let links = [
        nfc("NFC-B 106 kbit/s", 106.0),
        nfc("NFC-B 212 kbit/s", 212.0),
        nfc("NFC-B 424 kbit/s", 424.0),
        contact("T=1 no TA1 (10.8 kbit/s)", 1.0),
        contact("T=1 TA1=13 (43 kbit/s)", 4.0),
    ];
    println!();
    println!(
        "modelled links, short APDUs (card: sign 250 ms, VERIFY 30 ms, other 3 ms; NFC stack 15 ms/APDU, CCID 1 ms/APDU)"
    );
    println!("route            person  link                      APDUs  wire ms  card ms  stack ms  total ms");
    for (label, who, entries) in recorded {
        let apdus: Vec<&TraceEntry> = entries.iter().filter(|e| e.event == TraceEvent::Apdu).collect();
        for link in &links {
            let wire: f64 = apdus
                .iter()
                .map(|e| wire_ms(link, e.command_len) + wire_ms(link, e.response_len + 2))
                .sum();
            let card: f64 = apdus.iter().map(|e| card_time_ms(e)).sum();
            let stack = apdus.len() as f64 * link.per_apdu_ms;
            println!(
                "{label:<16} {who:<7} {:<25} {:>5}  {wire:>7.1}  {card:>7.1}  {stack:>8.1}  {:>8.1}",
                link.name,
                apdus.len(),
                wire + card + stack
            );
        }
    }
}
