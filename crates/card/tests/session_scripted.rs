//! The session's protocol rules against a scripted card: every command is checked byte for
//! byte, so a change in what is sent (an extra VERIFY, a missing query) fails here.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::VecDeque;

use mynaid_card::transport::{Capabilities, CardTransport, Exchange, TransportError};
use mynaid_card::{CardError, LastTry, Pin, PinKind, RetryStatus, Session, SigningKey, Verified};

enum Reply {
    Bytes(Vec<u8>),
    Fail(fn() -> TransportError),
}

struct Scripted {
    steps: VecDeque<(Vec<u8>, Reply)>,
    sent: Vec<Vec<u8>>,
    caps: Capabilities,
}

fn h(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

impl Scripted {
    fn new(steps: &[(&str, &str)]) -> Self {
        Scripted {
            steps: steps.iter().map(|(c, r)| (h(c), Reply::Bytes(h(r)))).collect(),
            sent: Vec::new(),
            caps: Capabilities::SHORT,
        }
    }

    fn then_fail(mut self, command: &str, f: fn() -> TransportError) -> Self {
        self.steps.push_back((h(command), Reply::Fail(f)));
        self
    }
}

impl CardTransport for Scripted {
    fn transmit(&mut self, command: &[u8], _: Exchange) -> Result<Vec<u8>, TransportError> {
        self.sent.push(command.to_vec());
        let (expected, reply) = self
            .steps
            .pop_front()
            .expect("the script ended but the session sent more");
        assert_eq!(
            command,
            &expected[..],
            "command #{} differs from the script",
            self.sent.len()
        );
        match reply {
            Reply::Bytes(b) => Ok(b),
            Reply::Fail(f) => Err(f()),
        }
    }

    fn capabilities(&self) -> Capabilities {
        self.caps
    }
}

fn finish(s: Session<Scripted>) -> Vec<Vec<u8>> {
    let t = s.into_transport();
    assert!(t.steps.is_empty(), "{} scripted commands were not sent", t.steps.len());
    t.sent
}

const SELECT_KENHOJO: &str = "00A4040C0A D3921000310001010408";
const SELECT_JPKI: &str = "00A4040C0A D392F000260100000001";

fn pin() -> Pin {
    Pin::new(PinKind::InputSupport, "1234").unwrap()
}

fn verifies(sent: &[Vec<u8>]) -> usize {
    sent.iter().filter(|c| c.len() > 4 && c[1] == 0x20).count()
}

#[test]
fn wrong_pin_costs_one_query_and_one_verify() {
    let mut s = Session::new(Scripted::new(&[
        (SELECT_KENHOJO, "9000"),
        ("00200091", "63C3"),
        ("0020009104 31323334", "63C2"),
    ]));
    s.select_application(mynaid_card::Application::InputSupport).unwrap();
    let e = s.verify(&pin(), LastTry::NotConfirmed).unwrap_err();
    assert!(
        matches!(
            e,
            CardError::WrongPin {
                kind: PinKind::InputSupport,
                remaining: 2
            }
        ),
        "{e:?}"
    );
    assert_eq!(e.tries_left(), Some(2));
    assert_eq!(verifies(&finish(s)), 1);
}

#[test]
fn last_try_needs_confirmation_and_blocked_sends_nothing() {
    let mut s = Session::new(Scripted::new(&[(SELECT_KENHOJO, "9000"), ("00200091", "63C1")]));
    let e = s.verify(&pin(), LastTry::NotConfirmed).unwrap_err();
    assert!(matches!(e, CardError::LastTryNotConfirmed { .. }), "{e:?}");
    assert_eq!(verifies(&finish(s)), 0);

    let mut s = Session::new(Scripted::new(&[(SELECT_KENHOJO, "9000"), ("00200091", "63C0")]));
    assert!(matches!(
        s.verify(&pin(), LastTry::Confirmed),
        Err(CardError::PinBlocked { .. })
    ));
    assert_eq!(verifies(&finish(s)), 0);

    // 6984 to the query is "blocked" too.
    let mut s = Session::new(Scripted::new(&[(SELECT_KENHOJO, "9000"), ("00200091", "6984")]));
    assert_eq!(s.retry_status(PinKind::InputSupport).unwrap(), RetryStatus::Blocked);
    finish(s);

    // Confirmed last try: exactly one VERIFY.
    let mut s = Session::new(Scripted::new(&[
        (SELECT_KENHOJO, "9000"),
        ("00200091", "63C1"),
        ("0020009104 31323334", "9000"),
    ]));
    assert_eq!(s.verify(&pin(), LastTry::Confirmed).unwrap(), Verified::Accepted);
    finish(s);
}

#[test]
fn already_verified_sends_no_verify() {
    let mut s = Session::new(Scripted::new(&[(SELECT_KENHOJO, "9000"), ("00200091", "9000")]));
    assert_eq!(
        s.verify(&pin(), LastTry::NotConfirmed).unwrap(),
        Verified::AlreadyVerified
    );
    assert_eq!(verifies(&finish(s)), 0);
}

#[test]
fn implausible_counts_are_refused() {
    let mut s = Session::new(Scripted::new(&[(SELECT_KENHOJO, "9000"), ("00200091", "63C9")]));
    assert!(matches!(
        s.verify(&pin(), LastTry::Confirmed),
        Err(CardError::UnexpectedResponse { .. })
    ));
    assert_eq!(verifies(&finish(s)), 0);
}

#[test]
fn transport_failure_during_verify_is_unknown_and_final() {
    let script = Scripted::new(&[(SELECT_KENHOJO, "9000"), ("00200091", "63C3")])
        .then_fail("0020009104 31323334", || TransportError::CardRemoved);
    let mut s = Session::new(script);
    let e = s.verify(&pin(), LastTry::NotConfirmed).unwrap_err();
    assert!(matches!(e, CardError::VerifyOutcomeUnknown { .. }), "{e:?}");
    assert!(e.is_card_removed());
    // No second VERIFY, not even a query, on this session.
    let e = s.verify(&pin(), LastTry::Confirmed).unwrap_err();
    assert!(e.is_card_removed(), "{e:?}");
    assert_eq!(verifies(&finish(s)), 1);
}

#[test]
fn short_identifier_fallback_is_remembered() {
    // The card refuses SFI addressing (6A86): SELECT + current-EF forms from then on.
    let mut s = Session::new(Scripted::new(&[
        (SELECT_KENHOJO, "9000"),
        ("00200091", "6A86"),
        ("00A4020C02 0011", "9000"),
        ("00200080", "63C3"),
        ("0020008004 31323334", "9000"),
        ("00B0820000", "6A86"),
        ("00A4020C02 0002", "9000"),
        ("00B0000000", "FF2003DF2500 9000"),
        ("00A4020C02 0003", "9000"),
        ("00B0000000", "FF3000 9000"),
    ]));
    s.verify(&pin(), LastTry::NotConfirmed).unwrap();
    assert_eq!(s.read_file(2).unwrap(), h("FF2003DF2500"));
    assert_eq!(s.read_file(3).unwrap(), h("FF3000"));
    finish(s);
}

#[test]
fn reads_in_256_byte_chunks_and_trims_filler() {
    // A 600-byte object: 256 + 256 + 88, at offsets 0, 256, 512.
    let mut obj = vec![0x7F, 0x21, 0x82, 0x02, 0x53];
    obj.resize(600, 0xAB);
    let hx = |b: &[u8]| b.iter().map(|x| format!("{x:02X}")).collect::<String>();
    let first = format!("{}9000", hx(&obj[..256]));
    let second = format!("{}9000", hx(&obj[256..512]));
    let third = format!("{}9000", hx(&obj[512..]));
    let mut s = Session::new(Scripted::new(&[
        ("00B0840000", &first),
        ("00B0010000", &second),
        ("00B0020058", &third),
    ]));
    assert_eq!(s.read_file(4).unwrap(), obj);
    finish(s);
}

#[test]
fn extended_length_reads_once() {
    let mut obj = vec![0x30, 0x82, 0x03, 0x00];
    obj.resize(0x304, 0x11);
    let mut phys = obj.clone();
    phys.resize(0x800, 0x00); // filler after the certificate
    let reply = format!("{}9000", phys.iter().map(|x| format!("{x:02X}")).collect::<String>());
    let mut script = Scripted::new(&[("00B0810000FFFD", &reply)]);
    script.caps = Capabilities::EXTENDED;
    let mut s = Session::new(script);
    assert_eq!(s.read_file(1).unwrap(), obj);
    finish(s);
}

#[test]
fn get_response_and_wrong_le_are_followed() {
    let mut s = Session::new(Scripted::new(&[
        ("00B0830000", "6C05"),
        ("00B0830005", "DF31020102 9000"),
        ("802A009A0401020304 00", "6100"),
        ("00C0000000", &format!("{}9000", "AA".repeat(256))),
    ]));
    assert_eq!(s.read_file(3).unwrap(), h("DF31020102"));
    assert_eq!(
        s.sign(SigningKey::JpkiSignature, &[1, 2, 3, 4]).unwrap(),
        vec![0xAA; 256]
    );
    finish(s);
}

#[test]
fn truncated_objects_are_errors_not_loops() {
    let mut s = Session::new(Scripted::new(&[
        ("00B0820000", "FF2005DF2301 9000"),
        ("00B0000602", "9000"),
    ]));
    assert!(matches!(s.read_file(2), Err(CardError::UnexpectedResponse { .. })));
    finish(s);
    let mut s = Session::new(Scripted::new(&[("00B0820000", "6982")]));
    let e = s.read_file(2).unwrap_err();
    assert_eq!(
        e.status_word(),
        Some(mynaid_apdu::StatusWord::SecurityStatusNotSatisfied)
    );
    finish(s);
}

#[test]
fn not_a_my_number_card() {
    let mut s = Session::new(Scripted::new(&[(SELECT_JPKI, "6A82")]));
    assert!(!mynaid_card::routes::is_my_number_card(&mut s).unwrap());
    finish(s);
}
