//! Verification throughput of the two evidence routes, next to the bare RSA verify.
//!
//! Run: `cargo bench -p mynaid-evidence --bench verify` (release profile). Single-threaded,
//! so each rate is per core. Every case warms up for 0.5 s and then runs for at least
//! `BENCH_SECONDS` seconds (default 2) in five rounds that take turns with the other cases, so
//! load from other processes on a shared machine hits all cases alike. The best round of each
//! case (the least disturbed) gives the rates and ratios; the median round is shown beside it.
//!
//! The evidence is real: p01's emulated card is read on both routes, the documents go through
//! `Evidence::to_json`/`Evidence::parse` once, and the verifier is the one of the test suite
//! (4 test roots, their CRLs, `RequireCrl`, the test CV CA).
//!
//! * bare: `mynaid_evidence::bench_verify`, aws-lc-rs RSA-2048 PKCS#1 v1.5 SHA-256 with the
//!   public key parsed on every call, as the verifier does;
//! * signature route: certificate parse, chain (1 RSA verify), validity, KeyUsage, CRL
//!   lookup, card signature (1 RSA verify), SAN parse: 2 RSA verifications;
//! * input-support route: CV certificate, integrity record, card key record and card
//!   signature (4 RSA verifications), EF 0002 digest and parse.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use der::Decode;
use mynaid_card::{FourDigitPins, InputSupportPin, LastTries, LastTry, Pin, PinKind, Session, routes};
use mynaid_emulator::transport::InProcessTransport;
use mynaid_evidence::{CrlSet, CvCaKey, RevocationPolicy, TrustStore, Verifier, bench_verify};
use mynaid_protocol::{Binding, Body, Evidence};
use mynaid_testkit::PersonCard;
use mynaid_testkit::{fixtures_dir, person};

/// 2026-11-27T00:00:00Z.
const NOW: u64 = 1_795_737_600;
const CHALLENGE: [u8; 32] = *b"mynaid-evidence-bench-challenge!";

fn binding() -> Binding<'static> {
    Binding {
        origin: "https://portal.example.jp",
        challenge: &CHALLENGE,
        session: b"session-1",
        purpose: mynaid_protocol::Purpose::VerifyIdentity,
    }
}

fn fixture(path: &str) -> Vec<u8> {
    std::fs::read(fixtures_dir().join(path)).expect(path)
}

fn verifier() -> Verifier {
    let roots: Vec<Vec<u8>> = ["sign-root-g1", "sign-root-g2", "auth-root-g1", "auth-root-g2"]
        .iter()
        .map(|r| fixture(&format!("trust/jpki-{r}.der")))
        .collect();
    let trust = TrustStore::test_roots(&roots).unwrap();
    let mut crls = CrlSet::new();
    for c in ["sign-g1", "sign-g2", "auth-g1", "auth-g2"] {
        crls.load(&fixture(&format!("crl/jpki-{c}.crl")), &trust).unwrap();
    }
    let cv = CvCaKey::from_json(&String::from_utf8(fixture("trust/cv-ca.json")).unwrap()).unwrap();
    Verifier::new(trust, crls, RevocationPolicy::RequireCrl, vec![cv])
}

/// p01's card read on one route, through the wire format.
fn read(kind: PinKind) -> Evidence {
    let p = person("p01");
    let copy = p.card();
    let mut s = Session::new(InProcessTransport::new(copy.open()));
    let tbs = binding().to_be_signed();
    let body = match kind {
        PinKind::Signature => {
            let pin = Pin::new(kind, p.sign_password.as_deref().unwrap()).unwrap();
            let r = routes::read_signature(&mut s, &pin, LastTry::NotConfirmed, &tbs, &mut |_| {}).unwrap();
            Body::Signature {
                certificate: r.certificate.der.into(),
                signature: r.signature,
            }
        }
        _ => {
            let auth = Pin::new(kind, &p.auth_pin).unwrap();
            let typed = Pin::new(PinKind::InputSupport, &p.pin).unwrap();
            let pins = FourDigitPins::new(auth, InputSupportPin::Typed(typed)).unwrap();
            let r = routes::read_user_authentication(&mut s, &pins, LastTries::default(), &tbs, &mut |_| {}).unwrap();
            Body::UserAuthentication {
                certificate: r.certificate_der.into(),
                signature: r.signature,
                basic_info: r.basic_info_raw.into(),
                integrity_record: r.integrity_raw,
                cv_certificate: r.cv_certificate_raw,
            }
        }
    };
    let evidence = Evidence { reader: None, body };
    Evidence::parse(evidence.to_json().as_bytes()).unwrap()
}

/// Calls `f` for `d`; returns calls per second.
fn rate(d: Duration, f: &mut dyn FnMut() -> bool) -> f64 {
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < d {
        for _ in 0..32 {
            assert!(black_box(f()), "a verification failed");
        }
        n += 32;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

/// Median and best of a few rates.
fn median_and_best(mut rates: Vec<f64>) -> (f64, f64) {
    rates.sort_by(f64::total_cmp);
    (rates[rates.len() / 2], rates[rates.len() - 1])
}

/// A measured case: name, RSA verifications per call, the call.
type Case<'a> = (&'static str, u32, Box<dyn FnMut() -> bool + 'a>);

const ROUNDS: u32 = 5;

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs this once, quickly.
    let quick = !std::env::args().any(|a| a == "--bench");
    let seconds: f64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2.0);
    let (warm_up, min) = if quick {
        (Duration::from_millis(10), Duration::from_millis(50))
    } else {
        (Duration::from_millis(500), Duration::from_secs_f64(seconds))
    };

    let verifier = verifier();
    let b = binding();
    let signature_route = read(PinKind::Signature);
    let user_authentication_route = read(PinKind::UserAuthentication);
    let Body::Signature { certificate, signature } = &signature_route.body else {
        unreachable!()
    };
    let cert = x509_cert::Certificate::from_der(certificate).unwrap();
    let pkcs1 = cert
        .tbs_certificate()
        .subject_public_key_info()
        .subject_public_key
        .raw_bytes()
        .to_vec();
    let tbs = b.to_be_signed();

    let mut cases: [Case<'_>; 3] = [
        (
            "bare RSA-2048 verify (aws-lc-rs)",
            1,
            Box::new(|| bench_verify(black_box(&pkcs1), black_box(&tbs), black_box(signature))),
        ),
        (
            "signature route (with CRL lookup)",
            2,
            Box::new(|| verifier.verify(black_box(&signature_route), &b, NOW).is_ok()),
        ),
        (
            "user-authentication route (with CRL lookup)",
            4,
            Box::new(|| verifier.verify(black_box(&user_authentication_route), &b, NOW).is_ok()),
        ),
    ];
    for (_, _, f) in &mut cases {
        rate(warm_up, f);
    }
    let mut rates = vec![Vec::new(); cases.len()];
    for _ in 0..ROUNDS {
        for (i, (_, _, f)) in cases.iter_mut().enumerate() {
            rates[i].push(rate(min / ROUNDS, f));
        }
    }
    let results: Vec<(f64, f64)> = rates.into_iter().map(median_and_best).collect();
    let bare = results[0].1;

    println!(
        "evidence verification, one thread (= per core): {:.1} s per case in {ROUNDS} interleaved rounds",
        min.as_secs_f64()
    );
    println!(
        "{:<34} {:>9} {:>9} {:>8} {:>4} {:>11} {:>13}",
        "what", "verif/s", "median/s", "µs each", "RSA", "× bare time", "µs beyond RSA"
    );
    // "µs beyond RSA": the time per verification that is not the RSA verifications themselves
    // (parsing, digests, date and KeyUsage checks, CRL lookup, building the result).
    for ((name, rsa, _), (median, best)) in cases.iter().zip(&results) {
        let beyond = 1e6 / best - f64::from(*rsa) * 1e6 / bare;
        println!(
            "{name:<34} {best:>9.0} {median:>9.0} {:>8.1} {rsa:>4} {:>11.2} {beyond:>13.1}",
            1e6 / best,
            bare / best
        );
    }
    println!(
        "ratio route/bare (verifications per second): signature {:.3}, input-support {:.3}",
        results[1].1 / bare,
        results[2].1 / bare
    );
}
