//! The card library drives the emulator in process on both routes: the expected card face
//! comes back, the card's signature verifies, the APDU budgets hold, EF 0001 of the
//! input-support AP is never touched, and every fault (truncated response, wrong status
//! word, flipped byte, reset, removal) at every APDU gives a clear error, no panic, and
//! never a VERIFY more than the person asked for.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use mynaid_card::formats::{RsaPublicKey, SignedKey};
use mynaid_card::transport::CardTransport;
use mynaid_card::{CardError, LastTry, Pin, PinKind, RetryStatus, Session, routes};
use mynaid_emulator::Card;
use mynaid_emulator::transport::{Fault, FaultyTransport, InProcessTransport};
use mynaid_testkit::PersonCard;
use mynaid_testkit::{PersonRecord, person, persons};
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::signature::Verifier;
use rsa::{BoxedUint, PublicKey as RsaKey};
use sha2::Sha256;

const TBS: [u8; 32] = *b"mynaid test: to-be-signed value!";

fn remaining(card: &Card, app: &str, fid: u16) -> u8 {
    let a = card
        .state()
        .applications
        .iter()
        .find(|a| a.name == app)
        .expect("application");
    a.pins.iter().find(|p| p.fid == fid).expect("pin").remaining
}

fn rsa_key(k: &RsaPublicKey) -> RsaKey {
    let n = BoxedUint::from_be_slice_vartime(&k.modulus);
    let e = BoxedUint::from_be_slice_vartime(&k.exponent);
    RsaKey::new(n, e).expect("rsa key")
}

fn verify_sig(key: &RsaKey, msg: &[u8], sig: &[u8]) -> bool {
    let vk = VerifyingKey::<Sha256>::new(key.clone());
    let Ok(sig) = Signature::try_from(sig) else {
        return false;
    };
    vk.verify(msg, &sig).is_ok()
}

fn read_is(p: &PersonRecord, transport: InProcessTransport, confirm: LastTry) -> (Result<(), CardError>, Card) {
    let mut s = Session::new(transport);
    let pin = Pin::new(PinKind::InputSupport, &p.pin).unwrap();
    let r = routes::read_input_support(&mut s, &pin, confirm, &TBS, &mut |_| {});
    let r = r.map(|reading| {
        let b = &reading.basic_info;
        assert_eq!(b.name.expose(), &p.name, "{}", p.id);
        assert_eq!(b.address.expose(), &p.address, "{}", p.id);
        assert_eq!(b.birth_date.expose().iso(), p.birthdate, "{}", p.id);
        assert_eq!(b.sex, p.sex, "{}", p.id);
        let key = SignedKey::parse(&reading.signed_key_raw).unwrap().public_key;
        assert!(
            verify_sig(&rsa_key(&key), &TBS, &reading.signature),
            "AP signature of {}",
            p.id
        );
        assert!(!verify_sig(&rsa_key(&key), b"another value", &reading.signature));
    });
    (r, s.into_transport().into_card())
}

fn read_sig(
    p: &PersonRecord,
    password: &str,
    transport: InProcessTransport,
    confirm: LastTry,
) -> (Result<(), CardError>, Card) {
    let mut s = Session::new(transport);
    let pin = Pin::new(PinKind::Signature, password).unwrap();
    let r = routes::read_signature(&mut s, &pin, confirm, &TBS, &mut |_| {}).map(|reading| {
        let a = &reading.certificate.attributes;
        assert_eq!(a.birth_date.expose().iso(), p.birthdate, "{}", p.id);
        assert_eq!(a.sex, p.sex, "{}", p.id);
        assert_eq!(a.name_substitutes.len(), a.name.expose().chars().count());
        use x509_cert::der::Decode;
        let cert = x509_cert::Certificate::from_der(&reading.certificate.der).unwrap();
        let spki = cert.tbs_certificate().subject_public_key_info();
        use rsa::pkcs8::DecodePublicKey;
        use x509_cert::der::Encode;
        let key = RsaKey::from_public_key_der(&spki.to_der().unwrap()).unwrap();
        assert!(verify_sig(&key, &TBS, &reading.signature), "signature of {}", p.id);
    });
    (r, s.into_transport().into_card())
}

#[test]
fn input_support_route_for_every_person_with_a_usable_pin() {
    for p in persons() {
        let copy = p.card();
        let card = copy.open();
        let trace = card.trace();
        let before = remaining(&card, "input-support", 0x0011);
        if before == 0 {
            continue;
        }
        let confirm = if before == 1 {
            LastTry::Confirmed
        } else {
            LastTry::NotConfirmed
        };
        let (r, card) = read_is(&p, InProcessTransport::new(card), confirm);
        r.unwrap_or_else(|e| panic!("{}: {e}", p.id));
        assert_eq!(trace.verify_count(), 1, "{}", p.id);
        assert!(
            !trace.selected_ef_ever("input-support", 0x0001),
            "EF 0001 was selected for {}",
            p.id
        );
        assert_eq!(
            remaining(&card, "input-support", 0x0011),
            3,
            "success resets the counter"
        );
    }
}

#[test]
fn signature_route_for_every_person_with_a_password() {
    for p in persons() {
        let Some(pw) = p.sign_password.clone() else { continue };
        let copy = p.card();
        let card = copy.open();
        let trace = card.trace();
        let before = remaining(&card, "jpki", 0x001B);
        let (r, _) = read_sig(&p, &pw, InProcessTransport::new(card), LastTry::Confirmed);
        match before {
            0 => {
                assert!(
                    matches!(
                        r,
                        Err(CardError::PinBlocked {
                            kind: PinKind::Signature
                        })
                    ),
                    "{}: {r:?}",
                    p.id
                );
                assert_eq!(trace.verify_count(), 0, "a blocked password is never presented");
            }
            _ => {
                r.unwrap_or_else(|e| panic!("{}: {e}", p.id));
                assert_eq!(trace.verify_count(), 1);
            }
        }
    }
}

#[test]
fn apdu_budgets() {
    let p = person("p01");
    for (extended, budget_is, budget_sig) in [(false, 14, 15), (true, 9, 8)] {
        let mk = |c: Card| {
            if extended {
                InProcessTransport::extended(c)
            } else {
                InProcessTransport::new(c)
            }
        };
        let copy = p.card();
        let card = copy.open();
        let trace = card.trace();
        read_is(&p, mk(card), LastTry::NotConfirmed).0.unwrap();
        let n = trace.apdu_count();
        assert!(
            n <= budget_is,
            "input-support route took {n} APDUs (extended {extended})"
        );
        let copy = p.card();
        let card = copy.open();
        let trace = card.trace();
        read_sig(&p, p.sign_password.as_deref().unwrap(), mk(card), LastTry::NotConfirmed)
            .0
            .unwrap();
        let n = trace.apdu_count();
        assert!(n <= budget_sig, "signature route took {n} APDUs (extended {extended})");
    }
}

#[test]
fn wrong_pin_costs_exactly_one_try_and_counts_down_to_blocked() {
    let p = person("p01");
    let copy = p.card();
    let wrong = if p.pin == "9999" { "9998" } else { "9999" };
    for expected in [2u8, 1, 0] {
        let mut s = Session::new(InProcessTransport::new(copy.open()));
        let confirm = if expected == 0 {
            LastTry::Confirmed
        } else {
            LastTry::NotConfirmed
        };
        let pin = Pin::new(PinKind::InputSupport, wrong).unwrap();
        let e = routes::read_input_support(&mut s, &pin, confirm, &TBS, &mut |_| {}).unwrap_err();
        assert!(
            matches!(e, CardError::WrongPin { remaining, .. } if remaining == expected),
            "{e:?}"
        );
        let card = s.into_transport().into_card();
        assert_eq!(remaining(&card, "input-support", 0x0011), expected);
    }
    // Blocked now: refused before any VERIFY, even with the right PIN.
    let card = copy.open();
    let trace = card.trace();
    let mut s = Session::new(InProcessTransport::new(card));
    assert_eq!(
        routes::pin_status(&mut s, PinKind::InputSupport).unwrap(),
        RetryStatus::Blocked
    );
    let pin = Pin::new(PinKind::InputSupport, &p.pin).unwrap();
    let e = routes::read_input_support(&mut s, &pin, LastTry::Confirmed, &TBS, &mut |_| {}).unwrap_err();
    assert!(matches!(e, CardError::PinBlocked { .. }), "{e:?}");
    assert_eq!(trace.verify_count(), 0);
}

#[test]
fn last_try_is_refused_unless_confirmed() {
    let p = person("p05");
    let copy = p.card();
    let card = copy.open();
    assert_eq!(remaining(&card, "input-support", 0x0011), 1);
    let trace = card.trace();
    let (r, card) = read_is(&p, InProcessTransport::new(card), LastTry::NotConfirmed);
    assert!(
        matches!(
            r,
            Err(CardError::LastTryNotConfirmed {
                kind: PinKind::InputSupport
            })
        ),
        "{r:?}"
    );
    assert_eq!(trace.verify_count(), 0);
    assert_eq!(remaining(&card, "input-support", 0x0011), 1);
    let pw = p.sign_password.clone().unwrap();
    let (r, _) = read_sig(&p, &pw, InProcessTransport::new(card), LastTry::NotConfirmed);
    assert!(
        matches!(
            r,
            Err(CardError::LastTryNotConfirmed {
                kind: PinKind::Signature
            })
        ),
        "{r:?}"
    );
    assert_eq!(trace.verify_count(), 0);
}

#[test]
fn no_signature_certificate_is_found_before_the_password() {
    let p = person("p06");
    assert!(p.sign_password.is_none());
    let copy = p.card();
    let card = copy.open();
    let trace = card.trace();
    let (r, _) = read_sig(&p, "ABC123", InProcessTransport::new(card), LastTry::Confirmed);
    assert!(matches!(r, Err(CardError::NoSignatureCertificate)), "{r:?}");
    assert_eq!(trace.verify_count(), 0);
}

/// Every fault at every APDU of a clean run: no panic, the right PIN never loses a try, at
/// most one VERIFY, and no secret or personal datum in the error.
#[test]
fn faults_at_every_apdu() {
    for (id, route) in [
        ("p01", PinKind::InputSupport),
        ("p01", PinKind::Signature),
        ("p07", PinKind::InputSupport),
    ] {
        let p = person(id);
        let secret = if route == PinKind::Signature {
            p.sign_password.clone().unwrap()
        } else {
            p.pin.clone()
        };
        let (app, fid) = if route == PinKind::Signature {
            ("jpki", 0x001B)
        } else {
            ("input-support", 0x0011)
        };
        let clean = {
            let copy = p.card();
            let card = copy.open();
            let trace = card.trace();
            run(route, &secret, InProcessTransport::new(card)).unwrap();
            trace.apdu_count()
        };
        let faults = [
            Fault::TruncateResponse(1),
            Fault::TruncateResponse(40),
            Fault::ReplaceStatus(0x6982),
            Fault::ReplaceStatus(0x63C2),
            Fault::ReplaceStatus(0x6F00),
            Fault::FlipByte { index: 0 },
            Fault::FlipByte { index: 3 },
            Fault::ResetBefore,
            Fault::RemoveCard,
            Fault::RemoveCardAfter,
        ];
        for k in 0..clean {
            for fault in faults {
                let copy = p.card();
                let card = copy.open();
                let trace = card.trace();
                let mut t = FaultyTransport::new(InProcessTransport::new(card)).with_fault(k, fault);
                let r = run(route, &secret, &mut t);
                let card = t.into_inner().into_card();
                assert!(
                    trace.verify_count() <= 1,
                    "{id} {route:?} {fault:?} at {k}: {} VERIFYs",
                    trace.verify_count()
                );
                assert_eq!(
                    remaining(&card, app, fid),
                    route.max_tries(),
                    "{id} {route:?} {fault:?} at {k}: a try was lost"
                );
                if let Err(e) = r {
                    let shown = format!("{e} {e:?}");
                    for s in [
                        &secret,
                        &p.name,
                        &p.address,
                        &p.birthdate,
                        &p.birthdate.replace('-', ""),
                    ] {
                        assert!(
                            !shown.contains(s.as_str()),
                            "{id} {fault:?} at {k}: error shows secret data: {shown}"
                        );
                    }
                }
                assert!(!trace.selected_ef_ever("input-support", 0x0001));
            }
        }
    }
}

fn run<T: CardTransport>(route: PinKind, secret: &str, t: T) -> Result<(), CardError> {
    let mut s = Session::new(t);
    let pin = Pin::new(route, secret)?;
    match route {
        PinKind::Signature => {
            routes::read_signature(&mut s, &pin, LastTry::NotConfirmed, &TBS, &mut |_| {}).map(|_| ())
        }
        _ => routes::read_input_support(&mut s, &pin, LastTry::NotConfirmed, &TBS, &mut |_| {}).map(|_| ()),
    }
}

#[test]
fn reset_between_any_two_apdus_never_wastes_a_try_with_a_wrong_pin() {
    // With a wrong PIN, faults may lose the answer but the card may count at most the one try.
    let p = person("p02");
    let clean = {
        let copy = p.card();
        let card = copy.open();
        let trace = card.trace();
        run(PinKind::InputSupport, &p.pin, InProcessTransport::new(card)).unwrap();
        trace.apdu_count()
    };
    for k in 0..clean {
        for fault in [Fault::ResetBefore, Fault::RemoveCardAfter, Fault::ReplaceStatus(0x9000)] {
            let copy = p.card();
            let card = copy.open();
            let trace = card.trace();
            let mut t = FaultyTransport::new(InProcessTransport::new(card)).with_fault(k, fault);
            let wrong = if p.pin == "0000" { "0001" } else { "0000" };
            let _ = run(PinKind::InputSupport, wrong, &mut t);
            let card = t.into_inner().into_card();
            assert!(trace.verify_count() <= 1);
            assert!(remaining(&card, "input-support", 0x0011) >= 2, "{fault:?} at {k}");
        }
    }
}
