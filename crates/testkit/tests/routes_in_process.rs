//! The card library drives the emulator in process on both routes: the expected card face
//! comes back, the card's signature verifies under the certificate read with it, the APDU
//! budgets hold, EF 0001 of the input-support AP (the Individual Number) and of the JPKI AP
//! (the signature certificate) is never touched by the 4-digit route, each of its two PINs
//! costs a try only on its own counter, and every fault (truncated response, wrong status
//! word, flipped byte, reset, removal) at every APDU gives a clear error, no panic, and
//! never a VERIFY more than the person asked for.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use mynaid_apdu::ins;
use mynaid_card::transport::CardTransport;
use mynaid_card::{
    CardError, FourDigitPins, InputSupportPin, LastTries, LastTry, Pin, PinKind, RetryStatus, Session, routes,
};
use mynaid_device::Route;
use mynaid_emulator::transport::{Fault, FaultyTransport, InProcessTransport};
use mynaid_emulator::{Card, Trace, TraceEvent};
use mynaid_testkit::PersonCard;
use mynaid_testkit::{PersonRecord, person, persons};
use rsa::PublicKey as RsaKey;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::signature::Verifier;
use sha2::Sha256;

const TBS: [u8; 32] = *b"mynaid test: to-be-signed value!";

const USER_AUTH_PIN: (&str, u16) = ("jpki", 0x0018);
const INPUT_SUPPORT_PIN: (&str, u16) = ("input-support", 0x0011);
const SIGNATURE_PASSWORD: (&str, u16) = ("jpki", 0x001B);

fn remaining(card: &Card, (app, fid): (&str, u16)) -> u8 {
    let a = card
        .state()
        .applications
        .iter()
        .find(|a| a.name == app)
        .expect("application");
    a.pins.iter().find(|p| p.fid == fid).expect("pin").remaining
}

fn spki_key(certificate_der: &[u8]) -> RsaKey {
    use rsa::pkcs8::DecodePublicKey;
    use x509_cert::der::{Decode, Encode};
    let cert = x509_cert::Certificate::from_der(certificate_der).unwrap();
    let spki = cert.tbs_certificate().subject_public_key_info();
    RsaKey::from_public_key_der(&spki.to_der().unwrap()).unwrap()
}

fn verify_sig(key: &RsaKey, msg: &[u8], sig: &[u8]) -> bool {
    let vk = VerifyingKey::<Sha256>::new(key.clone());
    let Ok(sig) = Signature::try_from(sig) else {
        return false;
    };
    vk.verify(msg, &sig).is_ok()
}

/// The person's two 4-digit PINs as typed: the user-authentication PIN, and the
/// input-support PIN typed or chosen as "the same".
fn pins(auth: &str, input_support: Option<&str>) -> FourDigitPins {
    let auth = Pin::new(PinKind::UserAuthentication, auth).unwrap();
    let input_support = match input_support {
        Some(v) => InputSupportPin::Typed(Pin::new(PinKind::InputSupport, v).unwrap()),
        None => InputSupportPin::SameAsUserAuthentication,
    };
    FourDigitPins::new(auth, input_support).unwrap()
}

fn own_pins(p: &PersonRecord) -> FourDigitPins {
    pins(&p.auth_pin, Some(&p.pin))
}

/// A 4-digit value that is not `right`.
fn wrong_of(right: &str) -> &'static str {
    if right == "9999" { "9998" } else { "9999" }
}

/// VERIFYs carrying a PIN that reached the card, as (application, status word).
fn verifies(trace: &Trace) -> Vec<(Option<String>, u16)> {
    trace
        .entries()
        .into_iter()
        .filter(|e| e.event == TraceEvent::Apdu && e.cla == 0x00 && e.ins == ins::VERIFY && e.lc > 0)
        .map(|e| (e.selected_df, e.sw))
        .collect()
}

fn verifies_in(trace: &Trace, app: &str) -> usize {
    verifies(trace)
        .iter()
        .filter(|(df, _)| df.as_deref() == Some(app))
        .count()
}

/// What the 4-digit route must never do, whatever happened: touch EF 0001 of either
/// application or the input-support AP's signed key EF 0007, or use its PIN-less key.
fn assert_user_authentication_hygiene(trace: &Trace, ctx: &str) {
    assert!(
        !trace.selected_ef_ever("input-support", 0x0001),
        "{ctx}: the Individual Number EF was touched"
    );
    assert!(
        !trace.selected_ef_ever("jpki", 0x0001),
        "{ctx}: the signature certificate was touched"
    );
    assert!(
        !trace.selected_ef_ever("input-support", 0x0007),
        "{ctx}: the input-support AP's signed key was touched"
    );
    assert!(
        !trace
            .entries()
            .iter()
            .any(|e| e.event == TraceEvent::Apdu && e.cla == 0x80 && e.ins == 0x2A && e.p2 == 0x00),
        "{ctx}: the PIN-less signature 80 2A 00 00 was sent"
    );
}

/// Reads with the 4-digit route and, on success, checks the face against `persons.json`
/// and the live signature against the user-authentication certificate read with it.
fn read_ua<T: CardTransport>(
    p: &PersonRecord,
    pins: &FourDigitPins,
    last_tries: LastTries,
    transport: T,
) -> (Result<(), CardError>, T) {
    let mut s = Session::new(transport);
    let r = routes::read_user_authentication(&mut s, pins, last_tries, &TBS, &mut |_| {}).map(|reading| {
        let b = &reading.basic_info;
        assert_eq!(b.name.expose(), &p.name, "{}", p.id);
        assert_eq!(b.address.expose(), &p.address, "{}", p.id);
        assert_eq!(b.birth_date.expose().iso(), p.birthdate, "{}", p.id);
        assert_eq!(b.sex, p.sex, "{}", p.id);
        assert!(!reading.basic_info_raw.is_empty() && !reading.integrity_raw.is_empty());
        assert!(!reading.cv_certificate_raw.is_empty());
        let key = spki_key(&reading.certificate_der);
        assert!(
            verify_sig(&key, &TBS, &reading.signature),
            "user-authentication signature of {}",
            p.id
        );
        assert!(!verify_sig(&key, b"another value", &reading.signature));
    });
    (r, s.into_transport())
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
        let key = spki_key(&reading.certificate.der);
        assert!(verify_sig(&key, &TBS, &reading.signature), "signature of {}", p.id);
    });
    (r, s.into_transport().into_card())
}

/// The confirmation a person gives who was shown the counters: a last try confirmed, the
/// others not asked.
fn confirm_if_last(left: u8) -> LastTry {
    if left == 1 {
        LastTry::Confirmed
    } else {
        LastTry::NotConfirmed
    }
}

#[test]
fn user_authentication_route_for_every_person_with_usable_pins() {
    let mut read = 0;
    for p in persons() {
        let copy = p.card();
        let card = copy.open();
        let trace = card.trace();
        let auth_before = remaining(&card, USER_AUTH_PIN);
        let is_before = remaining(&card, INPUT_SUPPORT_PIN);
        if auth_before == 0 || is_before == 0 {
            // p11 and p12: `blocked_four_digit_pins_are_refused`.
            continue;
        }
        let last_tries = LastTries {
            user_authentication: confirm_if_last(auth_before),
            input_support: confirm_if_last(is_before),
        };
        let (r, t) = read_ua(&p, &own_pins(&p), last_tries, InProcessTransport::new(card));
        r.unwrap_or_else(|e| panic!("{}: {e}", p.id));
        let card = t.into_card();
        assert_eq!(trace.verify_count(), 2, "{}: one VERIFY per PIN", p.id);
        assert_eq!(
            verifies(&trace),
            [
                (Some("jpki".to_owned()), 0x9000),
                (Some("input-support".to_owned()), 0x9000)
            ],
            "{}: the user-authentication PIN first, then the input-support PIN",
            p.id
        );
        assert_user_authentication_hygiene(&trace, &p.id);
        assert_eq!(
            remaining(&card, USER_AUTH_PIN),
            3,
            "{}: success resets the counter",
            p.id
        );
        assert_eq!(
            remaining(&card, INPUT_SUPPORT_PIN),
            3,
            "{}: success resets the counter",
            p.id
        );
        read += 1;
    }
    assert_eq!(read, 10, "every person but p11 and p12");
}

/// p11 (user-authentication PIN blocked) and p12 (input-support PIN blocked). The card
/// library presents the PINs in order and checks each counter just before its VERIFY, so for
/// p12 it verifies the user-authentication PIN (which costs nothing, being right) before it
/// refuses the blocked one; what refuses before any VERIFY is the device layer, which asks
/// both counters first (`pin_statuses`) and stops on `blocked_pin`, as the apps do.
#[test]
fn blocked_four_digit_pins_are_refused() {
    for (id, blocked, pin) in [
        ("p11", PinKind::UserAuthentication, USER_AUTH_PIN),
        ("p12", PinKind::InputSupport, INPUT_SUPPORT_PIN),
    ] {
        let p = person(id);
        let other = if blocked == PinKind::InputSupport {
            USER_AUTH_PIN
        } else {
            INPUT_SUPPORT_PIN
        };

        // The device layer: both counters shown, the blocked one named, nothing presented.
        let copy = p.card();
        let card = copy.open();
        let trace = card.trace();
        assert_eq!(remaining(&card, pin), 0, "{id}");
        let mut t = InProcessTransport::new(card);
        let statuses = mynaid_device::pin_statuses(&mut t, Route::UserAuthentication).unwrap();
        let status_of = |kind| statuses.iter().find(|(k, _)| *k == kind).map(|(_, s)| *s);
        assert_eq!(statuses.len(), 2, "{id}: {statuses:?}");
        assert_eq!(status_of(blocked), Some(RetryStatus::Blocked), "{id}");
        let other_kind = if blocked == PinKind::InputSupport {
            PinKind::UserAuthentication
        } else {
            PinKind::InputSupport
        };
        assert_eq!(status_of(other_kind), Some(RetryStatus::Remaining(3)), "{id}");
        assert_eq!(mynaid_device::blocked_pin(&statuses), Some(blocked), "{id}");
        assert_eq!(trace.verify_count(), 0, "{id}: asking the counters presents nothing");
        let card = t.into_card();
        assert_eq!((remaining(&card, pin), remaining(&card, other)), (0, 3), "{id}");

        // The card library alone, with the right PINs and every last try confirmed.
        let (r, t) = read_ua(
            &p,
            &own_pins(&p),
            LastTries::both(LastTry::Confirmed),
            InProcessTransport::new(card),
        );
        assert!(
            matches!(r, Err(CardError::PinBlocked { kind }) if kind == blocked),
            "{id}: {r:?}"
        );
        let card = t.into_card();
        match blocked {
            PinKind::UserAuthentication => {
                assert_eq!(
                    trace.verify_count(),
                    0,
                    "{id}: the first PIN blocked, nothing presented"
                );
            }
            _ => {
                // Documented: the user-authentication PIN was verified before the
                // input-support counter was asked; the blocked counter got nothing.
                assert_eq!(verifies(&trace), [(Some("jpki".to_owned()), 0x9000)], "{id}");
                assert_eq!(verifies_in(&trace, "input-support"), 0, "{id}");
            }
        }
        assert!(
            !trace.entries().iter().any(|e| e.sw == 0x6984),
            "{id}: a VERIFY reached the blocked PIN"
        );
        assert_eq!(remaining(&card, pin), 0, "{id}");
        assert_eq!(remaining(&card, other), 3, "{id}: the usable counter is untouched");
        assert_user_authentication_hygiene(&trace, id);
    }
}

/// Measured on p01 (short EF 0002) and p07 (EF 0002 longer than 256 bytes): the 4-digit route
/// needs two SELECTs, two retry queries and VERIFYs, the certificate, the signature and three
/// records — at most 18 APDUs with extended length, 28 in 256-byte chunks.
#[test]
fn apdu_budgets() {
    for id in ["p01", "p07"] {
        let p = person(id);
        for (extended, budget_ua, budget_sig) in [(false, 28, 15), (true, 18, 8)] {
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
            read_ua(&p, &own_pins(&p), LastTries::default(), mk(card)).0.unwrap();
            let n = trace.apdu_count();
            println!("{id}: user-authentication route {n} APDUs (extended {extended})");
            assert!(
                n <= budget_ua,
                "{id}: user-authentication route took {n} APDUs (extended {extended}), budget {budget_ua}"
            );
            let copy = p.card();
            let card = copy.open();
            let trace = card.trace();
            read_sig(&p, p.sign_password.as_deref().unwrap(), mk(card), LastTry::NotConfirmed)
                .0
                .unwrap();
            let n = trace.apdu_count();
            println!("{id}: signature route {n} APDUs (extended {extended})");
            assert!(
                n <= budget_sig,
                "{id}: signature route took {n} APDUs (extended {extended}), budget {budget_sig}"
            );
        }
    }
}

/// A wrong user-authentication PIN costs one try of EF 0018 and nothing else: the
/// input-support PIN is not presented. Down to blocked, then refused before any VERIFY.
#[test]
fn wrong_user_authentication_pin_costs_one_try_of_its_own_counter() {
    let p = person("p01");
    let copy = p.card();
    let wrong = pins(wrong_of(&p.auth_pin), Some(&p.pin));
    for expected in [2u8, 1, 0] {
        let card = copy.open();
        let trace = card.trace();
        if expected == 0 {
            // One try left: not used without confirmation, nothing sent.
            let (r, t) = read_ua(&p, &wrong, LastTries::default(), InProcessTransport::new(card));
            assert!(
                matches!(
                    r,
                    Err(CardError::LastTryNotConfirmed {
                        kind: PinKind::UserAuthentication
                    })
                ),
                "{r:?}"
            );
            assert_eq!(trace.verify_count(), 0);
            assert_eq!(remaining(&t.into_card(), USER_AUTH_PIN), 1);
        }
        let card = copy.open();
        let trace = card.trace();
        let last_tries = LastTries {
            user_authentication: if expected == 0 {
                LastTry::Confirmed
            } else {
                LastTry::NotConfirmed
            },
            input_support: LastTry::NotConfirmed,
        };
        let (r, t) = read_ua(&p, &wrong, last_tries, InProcessTransport::new(card));
        assert!(
            matches!(
                r,
                Err(CardError::WrongPin {
                    kind: PinKind::UserAuthentication,
                    remaining
                }) if remaining == expected
            ),
            "{r:?}"
        );
        assert_eq!(
            verifies(&trace),
            [(Some("jpki".to_owned()), 0x63C0 | u16::from(expected))],
            "one VERIFY, and no second one"
        );
        let card = t.into_card();
        assert_eq!(remaining(&card, USER_AUTH_PIN), expected);
        assert_eq!(
            remaining(&card, INPUT_SUPPORT_PIN),
            3,
            "the input-support PIN is untouched"
        );
        assert_user_authentication_hygiene(&trace, "wrong user-authentication PIN");
    }
    // Blocked now: refused before any VERIFY, even with the right PINs.
    let card = copy.open();
    let trace = card.trace();
    let mut t = InProcessTransport::new(card);
    let mut s = Session::new(&mut t);
    assert_eq!(
        routes::pin_status(&mut s, PinKind::UserAuthentication).unwrap(),
        RetryStatus::Blocked
    );
    let (r, _) = read_ua(&p, &own_pins(&p), LastTries::both(LastTry::Confirmed), &mut t);
    assert!(
        matches!(
            r,
            Err(CardError::PinBlocked {
                kind: PinKind::UserAuthentication
            })
        ),
        "{r:?}"
    );
    assert_eq!(trace.verify_count(), 0);
    assert_eq!(remaining(t.card(), INPUT_SUPPORT_PIN), 3);
}

/// With the right user-authentication PIN, a wrong input-support PIN costs one try of
/// EF 0011 only; EF 0018 is back at its maximum. Down to blocked.
#[test]
fn wrong_input_support_pin_costs_one_try_of_its_own_counter() {
    let p = person("p02");
    let copy = p.card();
    let wrong = pins(&p.auth_pin, Some(wrong_of(&p.pin)));
    for expected in [2u8, 1, 0] {
        let card = copy.open();
        let trace = card.trace();
        let last_tries = LastTries {
            user_authentication: LastTry::NotConfirmed,
            input_support: if expected == 0 {
                LastTry::Confirmed
            } else {
                LastTry::NotConfirmed
            },
        };
        let (r, t) = read_ua(&p, &wrong, last_tries, InProcessTransport::new(card));
        assert!(
            matches!(
                r,
                Err(CardError::WrongPin {
                    kind: PinKind::InputSupport,
                    remaining
                }) if remaining == expected
            ),
            "{r:?}"
        );
        assert_eq!(
            verifies(&trace),
            [
                (Some("jpki".to_owned()), 0x9000),
                (Some("input-support".to_owned()), 0x63C0 | u16::from(expected))
            ]
        );
        let card = t.into_card();
        assert_eq!(remaining(&card, USER_AUTH_PIN), 3, "the right user-authentication PIN");
        assert_eq!(remaining(&card, INPUT_SUPPORT_PIN), expected);
        assert_user_authentication_hygiene(&trace, "wrong input-support PIN");
    }
}

/// "The same as the PIN I just typed" is the person's choice: it reads p01's card (same
/// digits) and, for p02 (different digits), is just a wrong input-support PIN.
#[test]
fn same_pin_choice() {
    let p = person("p01");
    assert_eq!(p.pin, p.auth_pin);
    let copy = p.card();
    let card = copy.open();
    let trace = card.trace();
    let (r, t) = read_ua(
        &p,
        &pins(&p.auth_pin, None),
        LastTries::default(),
        InProcessTransport::new(card),
    );
    r.unwrap();
    assert_eq!(trace.verify_count(), 2);
    let card = t.into_card();
    assert_eq!(
        (remaining(&card, USER_AUTH_PIN), remaining(&card, INPUT_SUPPORT_PIN)),
        (3, 3)
    );

    let p = person("p02");
    assert_ne!(p.pin, p.auth_pin);
    let copy = p.card();
    let card = copy.open();
    let trace = card.trace();
    let (r, t) = read_ua(
        &p,
        &pins(&p.auth_pin, None),
        LastTries::default(),
        InProcessTransport::new(card),
    );
    assert!(
        matches!(
            r,
            Err(CardError::WrongPin {
                kind: PinKind::InputSupport,
                remaining: 2
            })
        ),
        "{r:?}"
    );
    assert_eq!(trace.verify_count(), 2);
    let card = t.into_card();
    assert_eq!(
        (remaining(&card, USER_AUTH_PIN), remaining(&card, INPUT_SUPPORT_PIN)),
        (3, 2)
    );
}

#[test]
fn signature_route_for_every_person_with_a_password() {
    for p in persons() {
        let Some(pw) = p.sign_password.clone() else { continue };
        let copy = p.card();
        let card = copy.open();
        let trace = card.trace();
        let before = remaining(&card, SIGNATURE_PASSWORD);
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

/// p05: one try left on the input-support PIN and on the signature password. The card
/// library refuses the last try without confirmation and sends nothing to that counter (on
/// the 4-digit route, the user-authentication PIN before it was verified, at no cost).
#[test]
fn last_try_is_refused_unless_confirmed() {
    let p = person("p05");
    let copy = p.card();
    let card = copy.open();
    assert_eq!(remaining(&card, INPUT_SUPPORT_PIN), 1);
    assert_eq!(remaining(&card, USER_AUTH_PIN), 3);
    let trace = card.trace();
    let (r, t) = read_ua(&p, &own_pins(&p), LastTries::default(), InProcessTransport::new(card));
    assert!(
        matches!(
            r,
            Err(CardError::LastTryNotConfirmed {
                kind: PinKind::InputSupport
            })
        ),
        "{r:?}"
    );
    assert_eq!(verifies(&trace), [(Some("jpki".to_owned()), 0x9000)]);
    let card = t.into_card();
    assert_eq!(remaining(&card, INPUT_SUPPORT_PIN), 1);
    assert_eq!(remaining(&card, USER_AUTH_PIN), 3);

    // The device layer shows the last try before anything is typed.
    let mut t = InProcessTransport::new(card);
    let statuses = mynaid_device::pin_statuses(&mut t, Route::UserAuthentication).unwrap();
    assert_eq!(
        statuses,
        [
            (PinKind::UserAuthentication, RetryStatus::Remaining(3)),
            (PinKind::InputSupport, RetryStatus::Remaining(1))
        ]
    );
    assert!(statuses[1].1.is_last_try());
    assert_eq!(mynaid_device::blocked_pin(&statuses), None);
    let card = t.into_card();

    trace.clear();
    let pw = p.sign_password.clone().unwrap();
    let (r, card) = read_sig(&p, &pw, InProcessTransport::new(card), LastTry::NotConfirmed);
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

    // Confirmed, the right input-support PIN is presented and the counter is restored.
    trace.clear();
    let last_tries = LastTries {
        user_authentication: LastTry::NotConfirmed,
        input_support: LastTry::Confirmed,
    };
    let (r, t) = read_ua(&p, &own_pins(&p), last_tries, InProcessTransport::new(card));
    r.unwrap();
    assert_eq!(trace.verify_count(), 2);
    assert_eq!(remaining(&t.into_card(), INPUT_SUPPORT_PIN), 3);
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
    // Asking the password's tries first (as the apps do) says the same, not "file not found".
    let card = copy.open();
    let trace = card.trace();
    let r = mynaid_device::pin_statuses(InProcessTransport::new(card), Route::Signature);
    assert!(matches!(r, Err(CardError::NoSignatureCertificate)), "{r:?}");
    assert_eq!(trace.verify_count(), 0);
    // A card with one asks as before.
    let p01 = person("p01").card();
    let r = mynaid_device::pin_statuses(InProcessTransport::new(p01.open()), Route::Signature).unwrap();
    assert_eq!(r, [(PinKind::Signature, RetryStatus::Remaining(5))]);
}

/// What a route presents: its PINs (application, EF, kind) and the values typed.
fn route_pins(route: Route) -> &'static [((&'static str, u16), PinKind)] {
    match route {
        Route::UserAuthentication => &[
            (USER_AUTH_PIN, PinKind::UserAuthentication),
            (INPUT_SUPPORT_PIN, PinKind::InputSupport),
        ],
        Route::Signature => &[(SIGNATURE_PASSWORD, PinKind::Signature)],
    }
}

fn run<T: CardTransport>(p: &PersonRecord, route: Route, t: T) -> Result<(), CardError> {
    let mut s = Session::new(t);
    match route {
        Route::Signature => {
            let pin = Pin::new(PinKind::Signature, p.sign_password.as_deref().unwrap())?;
            routes::read_signature(&mut s, &pin, LastTry::NotConfirmed, &TBS, &mut |_| {}).map(|_| ())
        }
        Route::UserAuthentication => {
            routes::read_user_authentication(&mut s, &own_pins(p), LastTries::default(), &TBS, &mut |_| {}).map(|_| ())
        }
    }
}

/// Every fault at every APDU of a clean run: no panic, no right PIN loses a try, at most one
/// VERIFY per PIN (the second PIN only after the card accepted the first), and no secret or
/// personal datum in the error.
#[test]
fn faults_at_every_apdu() {
    for (id, route) in [
        ("p01", Route::UserAuthentication),
        ("p01", Route::Signature),
        ("p02", Route::UserAuthentication),
        ("p07", Route::UserAuthentication),
    ] {
        let p = person(id);
        let secrets: Vec<String> = match route {
            Route::Signature => vec![p.sign_password.clone().unwrap()],
            Route::UserAuthentication => vec![p.auth_pin.clone(), p.pin.clone()],
        };
        let clean = {
            let copy = p.card();
            let card = copy.open();
            let trace = card.trace();
            run(&p, route, InProcessTransport::new(card)).unwrap();
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
                let r = run(&p, route, &mut t);
                let card = t.into_inner().into_card();
                let ctx = format!("{id} {route:?} {fault:?} at {k}");
                let sent = verifies(&trace);
                assert!(sent.len() <= route_pins(route).len(), "{ctx}: {} VERIFYs", sent.len());
                for ((app, _), _) in route_pins(route) {
                    assert!(verifies_in(&trace, app) <= 1, "{ctx}: VERIFY repeated in {app}");
                }
                for (pin, kind) in route_pins(route) {
                    assert_eq!(remaining(&card, *pin), kind.max_tries(), "{ctx}: a try was lost");
                }
                if route == Route::UserAuthentication {
                    // The input-support PIN only after the card accepted the first.
                    if let Some(i) = sent.iter().position(|(df, _)| df.as_deref() == Some("input-support")) {
                        assert!(
                            sent[..i]
                                .iter()
                                .any(|(df, sw)| df.as_deref() == Some("jpki") && *sw == 0x9000),
                            "{ctx}: the second PIN without the first accepted: {sent:?}"
                        );
                    }
                    assert_user_authentication_hygiene(&trace, &ctx);
                } else {
                    assert!(!trace.selected_ef_ever("input-support", 0x0001), "{ctx}");
                }
                if let Err(e) = r {
                    let shown = format!("{e} {e:?}");
                    for s in secrets
                        .iter()
                        .chain([&p.name, &p.address, &p.birthdate, &p.birthdate.replace('-', "")])
                    {
                        assert!(!shown.contains(s.as_str()), "{ctx}: error shows secret data: {shown}");
                    }
                } else {
                    assert_eq!(sent.len(), route_pins(route).len(), "{ctx}: a read without every PIN");
                }
            }
        }
    }
}

#[test]
fn reset_between_any_two_apdus_never_wastes_a_try_with_a_wrong_pin() {
    // With a wrong PIN, faults may lose the answer but the card may count at most the one
    // try, on that PIN's counter only. p02's PINs differ, so "the same" is a wrong
    // input-support PIN after a right user-authentication PIN.
    let p = person("p02");
    let clean = {
        let copy = p.card();
        let card = copy.open();
        let trace = card.trace();
        run(&p, Route::UserAuthentication, InProcessTransport::new(card)).unwrap();
        trace.apdu_count()
    };
    let wrong_auth = pins(wrong_of(&p.auth_pin), Some(&p.pin));
    let wrong_is = pins(&p.auth_pin, Some(wrong_of(&p.pin)));
    let same = pins(&p.auth_pin, None);
    for (typed, wrong_pin, right_pin) in [
        (&wrong_auth, USER_AUTH_PIN, INPUT_SUPPORT_PIN),
        (&wrong_is, INPUT_SUPPORT_PIN, USER_AUTH_PIN),
        (&same, INPUT_SUPPORT_PIN, USER_AUTH_PIN),
    ] {
        for k in 0..clean {
            for fault in [Fault::ResetBefore, Fault::RemoveCardAfter, Fault::ReplaceStatus(0x9000)] {
                let copy = p.card();
                let card = copy.open();
                let trace = card.trace();
                let mut t = FaultyTransport::new(InProcessTransport::new(card)).with_fault(k, fault);
                let mut s = Session::new(&mut t);
                let r = routes::read_user_authentication(&mut s, typed, LastTries::default(), &TBS, &mut |_| {});
                assert!(r.is_err(), "{fault:?} at {k}: a wrong PIN read the card");
                let card = t.into_inner().into_card();
                assert!(verifies_in(&trace, "jpki") <= 1, "{fault:?} at {k}");
                assert!(verifies_in(&trace, "input-support") <= 1, "{fault:?} at {k}");
                assert!(remaining(&card, wrong_pin) >= 2, "{fault:?} at {k}");
                assert_eq!(remaining(&card, right_pin), 3, "{fault:?} at {k}");
                assert_user_authentication_hygiene(&trace, &format!("{fault:?} at {k}"));
            }
        }
    }
}
