//! Card routes through the in-process emulator: APDUs, bytes and time per route, with
//! short (256-byte) and extended-length APDUs.
//!
//! Run: `cargo bench -p mynaid-testkit --bench card_routes`. Prints one table; the aims
//! (issue 2) are ≤ 9 / ≤ 14 APDUs for the input-support route and ≤ 8 / ≤ 15 for the
//! signature route (extended / short).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use mynaid_card::{LastTry, Pin, PinKind, Session, routes};
use mynaid_emulator::transport::InProcessTransport;
use mynaid_testkit::person;

fn main() {
    let iterations: usize = std::env::var("BENCH_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    let p = person("p01");
    let long = person("p07");
    println!("route            person  link      APDUs  to card B  from card B  median ms  p99 ms  (n={iterations})");
    for (label, who, kind) in [
        ("input-support", &p, PinKind::InputSupport),
        ("input-support", &long, PinKind::InputSupport),
        ("signature", &p, PinKind::Signature),
    ] {
        for extended in [false, true] {
            let secret = match kind {
                PinKind::Signature => who.sign_password.clone().unwrap_or_default(),
                _ => who.pin.clone(),
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
                    _ => routes::read_input_support(&mut s, &pin, LastTry::NotConfirmed, &tbs, &mut |_| {}).is_ok(),
                };
                times.push(start.elapsed());
                assert!(ok, "the route failed");
                apdus = trace.apdu_count();
                bytes = trace.bytes_exchanged();
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
}
