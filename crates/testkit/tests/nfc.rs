//! The simulated NFC link: short frames only, no extended length, and the signature only
//! gets through with the long timeout the card library asks for.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use mynaid_card::transport::{CardTransport, Exchange, TransportError};
use mynaid_card::{CardError, FourDigitPins, InputSupportPin, LastTries, LastTry, Op, Pin, PinKind, Session, routes};
use mynaid_emulator::nfc::{NfcTiming, NfcTransport};
use mynaid_testkit::PersonCard;
use mynaid_testkit::{PersonRecord, person};

/// The person's own two 4-digit PINs, both typed.
fn four_digit_pins(p: &PersonRecord) -> FourDigitPins {
    FourDigitPins::new(
        Pin::new(PinKind::UserAuthentication, &p.auth_pin).unwrap(),
        InputSupportPin::Typed(Pin::new(PinKind::InputSupport, &p.pin).unwrap()),
    )
    .unwrap()
}

#[test]
fn both_routes_read_over_nfc_in_short_frames() {
    let p = person("p01");
    for kind in [PinKind::UserAuthentication, PinKind::Signature] {
        let copy = p.card();
        let card = copy.open();
        let trace = card.trace();
        let mut s = Session::new(NfcTransport::new(card, NfcTiming::INSTANT));
        let (ok, pins) = match kind {
            PinKind::Signature => {
                let pin = Pin::new(kind, p.sign_password.as_deref().unwrap()).unwrap();
                let r = routes::read_signature(&mut s, &pin, LastTry::NotConfirmed, &[3; 32], &mut |_| {});
                (r.is_ok(), 1)
            }
            _ => {
                let pins = four_digit_pins(&p);
                let r = routes::read_user_authentication(&mut s, &pins, LastTries::default(), &[3; 32], &mut |_| {});
                (r.is_ok(), 2)
            }
        };
        assert!(ok, "{kind:?}");
        assert_eq!(trace.verify_count(), pins, "{kind:?}");
        for e in trace.entries() {
            assert!(e.command_len <= 261 && !e.extended, "{e:?}");
            assert!(e.response_len <= 256, "{e:?}");
        }
    }
}

#[test]
fn extended_length_and_long_frames_are_refused() {
    let p = person("p01");
    let copy = p.card();
    let mut t = NfcTransport::new(copy.open(), NfcTiming::INSTANT);
    let extended = [0x00, 0xB0, 0x82, 0x00, 0x00, 0x00, 0x00];
    let long = vec![0u8; 262];
    assert!(matches!(
        t.transmit(&long, Exchange::Normal),
        Err(TransportError::CommandTooLong { len: 262 })
    ));
    // The transport says it carries short APDUs only, so the library never builds this; sent
    // anyway, the card answers it (the limit is the frame size, checked above).
    assert_eq!(t.capabilities(), mynaid_card::transport::Capabilities::SHORT);
    assert!(t.transmit(&extended, Exchange::Normal).is_ok());
}

#[test]
fn a_signature_needs_the_long_timeout() {
    let p = person("p01");
    let copy = p.card();
    let slow_card = NfcTiming {
        per_apdu: Duration::from_millis(1),
        signature: Duration::from_millis(120),
        normal_timeout: Duration::from_millis(100),
        signature_timeout: Duration::from_millis(100),
    };
    let card = copy.open();
    let trace = card.trace();
    let mut s = Session::new(NfcTransport::new(card, slow_card));
    let pins = four_digit_pins(&p);
    let e = routes::read_user_authentication(&mut s, &pins, LastTries::default(), &[3; 32], &mut |_| {}).unwrap_err();
    assert!(
        matches!(
            e,
            CardError::Transport {
                op: Op::Sign(Some(0x0017)),
                source: TransportError::Timeout,
            }
        ),
        "{e:?}"
    );
    assert_eq!(
        trace.verify_count(),
        1,
        "the timeout came after the VERIFY of the user-authentication PIN, not instead of it, \
         and the input-support PIN was not presented after it"
    );
    // With the phone's usual timeouts (500 ms normal, 5 s for the signature) it works.
    let card = copy.open();
    let mut s = Session::new(NfcTransport::new(
        card,
        NfcTiming {
            signature: Duration::from_millis(120),
            ..NfcTiming::INSTANT
        },
    ));
    assert!(routes::read_user_authentication(&mut s, &pins, LastTries::default(), &[3; 32], &mut |_| {}).is_ok());
}
