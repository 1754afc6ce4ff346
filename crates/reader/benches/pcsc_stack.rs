//! Through the real PC/SC stack: pcscd + vpcd + the emulator (served from a thread of this
//! process). Prints the APDU round trip (median and p99, microseconds) and the time of each
//! route.
//!
//! Run: `cargo bench -p mynaid --bench pcsc_stack` (needs pcscd and vpcd installed;
//! `scripts/test.sh` installs them; the bench starts pcscd itself).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use mynaid_card::transport::{Capabilities, CardTransport, Exchange};
use mynaid_device::Route;
use mynaid_emulator::vpcd::{self, Options};
use mynaid_harness::pcsc::{PcscStack, READER, VPCD_ADDRESS, wait_for_card};
use mynaid_pcsc::Readers;
use mynaid_testkit::PersonCard;
use mynaid_testkit::person;

fn percentile(sorted: &[Duration], p: usize) -> Duration {
    sorted[(sorted.len() * p / 100).min(sorted.len() - 1)]
}

fn main() {
    let round_trips: usize = std::env::var("BENCH_ROUND_TRIPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let route_runs: usize = std::env::var("BENCH_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let _stack = PcscStack::acquire();
    let p = person("p01");
    let copy = p.card();
    let mut card = copy.open();
    let stop = Arc::new(AtomicBool::new(false));
    let stop_card = stop.clone();
    let server = std::thread::spawn(move || vpcd::serve(&mut card, &Options::new(VPCD_ADDRESS), &stop_card));
    assert!(
        wait_for_card(READER, true, Duration::from_secs(10)),
        "the card did not appear"
    );

    let readers = Readers::establish().unwrap();
    let mut card = readers
        .find_my_number_card(Some(READER), Duration::from_secs(5), Capabilities::SHORT)
        .unwrap();
    let select = [
        0x00, 0xA4, 0x04, 0x0C, 0x0A, 0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01,
    ];
    let mut times = Vec::with_capacity(round_trips);
    {
        let mut tx = card.transaction().unwrap();
        for _ in 0..100 {
            tx.transmit(&select, Exchange::Normal).unwrap();
        }
        for _ in 0..round_trips {
            let t = Instant::now();
            let r = tx.transmit(&select, Exchange::Normal).unwrap();
            times.push(t.elapsed());
            assert_eq!(r, [0x90, 0x00]);
        }
    }
    times.sort();
    println!(
        "APDU round trip (SELECT, pcscd + vpcd + emulator): median {} µs, p99 {} µs, n={round_trips}",
        percentile(&times, 50).as_micros(),
        percentile(&times, 99).as_micros()
    );
    drop(card);

    println!("route          link      median ms  p99 ms  (n={route_runs}, includes reader discovery)");
    for (label, route) in [
        ("4-digit PINs", Route::UserAuthentication),
        ("password", Route::Signature),
    ] {
        for extended in [false, true] {
            let caps = if extended {
                Capabilities::EXTENDED
            } else {
                Capabilities::SHORT
            };
            let credentials = p.credentials(route);
            let mut times = Vec::new();
            for _ in 0..route_runs {
                let t = Instant::now();
                let mut card = readers
                    .find_my_number_card(Some(READER), Duration::from_secs(5), caps)
                    .unwrap();
                let tx = card.transaction().unwrap();
                let ok = mynaid_device::read(tx, &credentials, &[1; 32], &mut |_| {}).is_ok();
                times.push(t.elapsed());
                assert!(ok);
            }
            times.sort();
            let ms = |d: Duration| d.as_secs_f64() * 1000.0;
            println!(
                "{label:<14} {:<9} {:>9.2}  {:>6.2}",
                if extended { "extended" } else { "short" },
                ms(percentile(&times, 50)),
                ms(percentile(&times, 99))
            );
        }
    }
    stop.store(true, Ordering::Relaxed);
    let _ = server.join();
}
