//! The card's Rust API: loading and its errors, persistence, the trace, logs, signatures.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::fs;

use common::{
    AUTH_PIN, SIGN_PASSWORD, apdu, digest_info, pin_renderings, select_app, select_ef, send, sign, test_card,
    test_state, verify,
};
use mynaid_card::ids::{AID_INPUT_SUPPORT, AID_JPKI};
use mynaid_emulator::state::{Access, CardState, Pin};
use mynaid_emulator::{CONTACT_ATR, Card, EmulatorError, Persistence, StateProblem, TraceEvent};
use rsa::Pkcs1v15Sign;
use sha2::{Digest, Sha256};

fn invalid(state: CardState) -> (StateProblem, String) {
    match Card::from_state(state, Persistence::None) {
        Err(e @ EmulatorError::Invalid { .. }) => {
            let text = e.to_string();
            let EmulatorError::Invalid { path, problem } = e else {
                unreachable!()
            };
            assert_eq!(path, None);
            (problem, text)
        }
        other => panic!("expected an invalid-state error, got {other:?}"),
    }
}

#[test]
fn inconsistent_states_are_refused_with_the_application_and_ef_named() {
    let mut s = test_state();
    s.format = "something-else/9".to_owned();
    let (p, text) = invalid(s);
    assert!(
        matches!(p, StateProblem::WrongFormat { .. }) && text.contains("something-else/9"),
        "{text}"
    );

    let mut s = test_state();
    s.applications[0].files[1].fid = 0x0001;
    let (p, text) = invalid(s);
    assert_eq!(
        p,
        StateProblem::DuplicateFid {
            app: "jpki".into(),
            fid: 1
        }
    );
    assert!(text.contains("\"jpki\"") && text.contains("EF 0001"), "{text}");

    let mut s = test_state();
    s.applications[1].files[0].fid = 0x2F01;
    let (p, text) = invalid(s);
    assert_eq!(
        p,
        StateProblem::FidOutOfRange {
            app: "input-support".into(),
            fid: 0x2F01
        }
    );
    assert!(text.contains("2F01"), "{text}");

    let mut s = test_state();
    s.applications[0].keys[1].pkcs8 = b"not a key".to_vec();
    let (p, text) = invalid(s);
    assert!(matches!(p, StateProblem::BadKey { fid: 0x001A, .. }), "{p:?}");
    assert!(text.contains("001A") && text.contains("PKCS#8"), "{text}");

    let mut s = test_state();
    s.applications[0].pins[0].reference.truncate(20);
    assert!(matches!(invalid(s).0, StateProblem::BadPin { fid: 0x0018, .. }));

    let mut s = test_state();
    s.applications[0].pins[0].remaining = 4;
    let (p, text) = invalid(s);
    assert!(
        matches!(p, StateProblem::BadPin { fid: 0x0018, .. }) && text.contains("max_tries"),
        "{text}"
    );

    let mut s = test_state();
    s.applications[0].pins[1] = Pin::new(0x001B, b"s".to_vec(), b"x", 16);
    assert!(matches!(invalid(s).0, StateProblem::BadPin { fid: 0x001B, .. }));

    let mut s = test_state();
    s.applications[0].files[0].read = Access::AnyPin(vec![0x001C]);
    assert_eq!(
        invalid(s).0,
        StateProblem::UnknownPin {
            app: "jpki".into(),
            fid: 0x0001,
            pin: 0x001C
        }
    );

    let mut s = test_state();
    s.applications[1].default_key = Some(0x0017);
    assert_eq!(
        invalid(s).0,
        StateProblem::UnknownDefaultKey {
            app: "input-support".into(),
            fid: 0x0017
        }
    );

    let mut s = test_state();
    s.applications[2].aid = AID_JPKI.to_vec();
    assert_eq!(
        invalid(s).0,
        StateProblem::DuplicateAid {
            first: "jpki".into(),
            second: "face".into()
        }
    );

    let mut s = test_state();
    s.applications[2].aid = vec![0xD3, 0x92];
    assert_eq!(
        invalid(s).0,
        StateProblem::BadAid {
            app: "face".into(),
            len: 2
        }
    );
}

#[test]
fn open_reports_the_file_and_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nobody.json");
    let err = Card::open(&missing).unwrap_err();
    assert!(matches!(err, EmulatorError::Read { .. }), "{err:?}");
    assert!(err.to_string().contains("nobody.json"), "{err}");

    let garbage = dir.path().join("garbage.json");
    fs::write(&garbage, "{\n  \"format\": 3\n}").unwrap();
    let err = Card::open(&garbage).unwrap_err();
    assert!(matches!(err, EmulatorError::Parse { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("garbage.json") && text.contains("line 2"), "{text}");

    let bad_key = dir.path().join("bad-key.json");
    let mut s = test_state();
    s.applications[1].keys[0].pkcs8 = vec![0x30, 0x03, 0x02, 0x01, 0x00];
    fs::write(&bad_key, serde_json::to_string(&s).unwrap()).unwrap();
    let err = Card::open(&bad_key).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("bad-key.json") && text.contains("input-support") && text.contains("0013"),
        "{text}"
    );
}

#[test]
fn from_state_with_a_file_writes_it_and_open_gives_the_card_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("card.json");
    let card = Card::from_state(test_state(), Persistence::File(path.clone())).unwrap();
    assert_eq!(card.persistence(), &Persistence::File(path.clone()));
    drop(card);
    let card = Card::open(&path).unwrap();
    assert_eq!(card.state(), &test_state());
    assert_eq!(card.label(), "test-person-01");
    assert_eq!(card.persistence().path(), Some(path.as_path()));
}

#[test]
fn a_wrong_pin_is_on_disk_before_the_answer() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("card.json");
    let mut card = Card::from_state(test_state(), Persistence::File(path.clone())).unwrap();
    assert_eq!(send(&mut card, &select_app(&AID_JPKI)).1, 0x9000);
    assert_eq!(send(&mut card, &verify(0x98, b"0000")).1, 0x63C2);
    let on_disk: CardState = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    assert_eq!(common::remaining(&on_disk, "jpki", 0x0018), 2);
    assert_eq!(on_disk, *card.state());
    // Nothing volatile is stored: the file has no notion of a verified PIN or selection.
    assert_eq!(send(&mut card, &verify(0x98, AUTH_PIN)).1, 0x9000);
    let text = fs::read_to_string(&path).unwrap();
    assert!(!text.contains("verified") && !text.contains("selected"), "{text}");
    assert_eq!(
        common::remaining(&serde_json::from_str(&text).unwrap(), "jpki", 0x0018),
        3
    );
}

#[test]
fn a_counter_that_cannot_be_persisted_answers_memory_failure_and_still_counts() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("gone");
    fs::create_dir(&sub).unwrap();
    let mut card = Card::from_state(test_state(), Persistence::File(sub.join("card.json"))).unwrap();
    fs::remove_dir_all(&sub).unwrap();
    assert_eq!(send(&mut card, &select_app(&AID_JPKI)).1, 0x9000);
    assert_eq!(send(&mut card, &verify(0x98, b"0000")).1, 0x6581);
    assert_eq!(
        common::remaining(card.state(), "jpki", 0x0018),
        2,
        "the try is spent even if the write failed"
    );
    assert_eq!(send(&mut card, &verify(0x98, AUTH_PIN)).1, 0x6581);
    assert_eq!(
        send(&mut card, &verify(0x98, &[])).1,
        0x63C3,
        "an unpersisted success does not verify"
    );
}

#[test]
fn in_memory_state_tracks_counters() {
    let mut card = test_card();
    assert_eq!(send(&mut card, &select_app(&AID_JPKI)).1, 0x9000);
    assert_eq!(send(&mut card, &verify(0x9B, b"WRONG1")).1, 0x63C4);
    assert_eq!(common::remaining(card.state(), "jpki", 0x001B), 4);
    card.reset();
    card.power_off();
    assert_eq!(
        common::remaining(card.state(), "jpki", 0x001B),
        4,
        "resets never restore tries"
    );
}

#[test]
fn atr_comes_from_the_state_or_defaults_to_the_contact_atr() {
    let mut s = test_state();
    s.atr = vec![
        0x3B, 0x88, 0x80, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x09,
    ];
    let card = Card::from_state(s.clone(), Persistence::None).unwrap();
    assert_eq!(card.atr(), s.atr.as_slice());
    s.atr.clear();
    let card = Card::from_state(s, Persistence::None).unwrap();
    assert_eq!(card.atr(), CONTACT_ATR);
}

#[test]
fn signatures_verify_as_sha256_with_rsa_and_do_not_depend_on_how_the_key_is_named() {
    let mut card = test_card();
    let message = b"server nonce 0123456789abcdef";
    let di = digest_info(message);
    assert_eq!(send(&mut card, &select_app(&AID_JPKI)).1, 0x9000);
    assert_eq!(send(&mut card, &verify(0x9B, SIGN_PASSWORD)).1, 0x9000);
    let (by_sfi, status) = send(&mut card, &sign(0x9A, &di));
    assert_eq!(status, 0x9000);
    assert_eq!(send(&mut card, &select_ef(0x001A)).1, 0x9000);
    let (by_ef, status) = send(&mut card, &sign(0x80, &di));
    assert_eq!(status, 0x9000);
    assert_eq!(by_sfi, by_ef, "PKCS#1 v1.5 is deterministic: same key, same signature");

    let public = common::public_key(card.state(), "jpki", 0x001A);
    // What a server does: sha256WithRSAEncryption over the message.
    public
        .verify(Pkcs1v15Sign::new::<Sha256>(), &Sha256::digest(message), &by_sfi)
        .expect("sha256WithRSA");
    assert!(
        public
            .verify(Pkcs1v15Sign::new::<Sha256>(), &Sha256::digest(b"other"), &by_sfi)
            .is_err()
    );
    let auth = common::public_key(card.state(), "jpki", 0x0017);
    assert!(
        auth.verify(Pkcs1v15Sign::new::<Sha256>(), &Sha256::digest(message), &by_sfi)
            .is_err(),
        "signed with the sign key only"
    );

    assert_eq!(send(&mut card, &select_app(&AID_INPUT_SUPPORT)).1, 0x9000);
    let (ap_sig, status) = send(&mut card, &sign(0x00, &di));
    assert_eq!(status, 0x9000);
    common::public_key(card.state(), "input-support", 0x0013)
        .verify(Pkcs1v15Sign::new::<Sha256>(), &Sha256::digest(message), &ap_sig)
        .expect("AP key signature");
}

#[test]
fn get_challenge_is_random_unless_seeded() {
    let mut a = test_card();
    let mut b = test_card();
    let c = apdu("00 84 00 00 20");
    let (x, _) = send(&mut a, &c);
    let (y, _) = send(&mut a, &c);
    let (z, _) = send(&mut b, &c);
    assert_eq!(x.len(), 32);
    assert!(x != y && x != z, "challenges repeat");
    a.seed_challenges([1; 32]);
    b.seed_challenges([1; 32]);
    assert_eq!(send(&mut a, &c), send(&mut b, &c));
}

#[test]
fn the_trace_counts_exchanges_and_never_holds_pin_bytes() {
    let mut card = test_card();
    let trace = card.trace();
    let commands = [
        select_app(&AID_JPKI),
        select_ef(0x001B),
        verify(0x80, &[]),
        verify(0x80, b"QWERTY99"),
        verify(0x80, SIGN_PASSWORD),
        apdu("00 B0 81 00 04"),
        verify(0x98, AUTH_PIN),
        apdu("00 20 00 98 04 39 39 39 39"),
    ];
    let mut to_card = 0;
    let mut from_card = 0;
    for c in &commands {
        to_card += c.len();
        from_card += card.handle(c).len();
    }
    card.reset();
    let garbage = apdu("00 20");
    to_card += garbage.len();
    from_card += card.handle(&garbage).len();

    assert_eq!(trace.apdu_count(), 9);
    assert_eq!(trace.entries().len(), 10);
    assert_eq!(trace.count_ins(0x20), 6);
    assert_eq!(trace.verify_count(), 4, "the retry query is not a PIN presentation");
    assert_eq!(trace.bytes_exchanged(), (to_card, from_card));
    assert!(trace.selected_ef_ever("jpki", 0x001B));
    assert!(trace.selected_ef_ever("jpki", 0x0001), "read by SFI");
    assert!(trace.selected_ef_ever("jpki", 0x0018), "named by SFI in VERIFY");
    assert!(!trace.selected_ef_ever("jpki", 0x0017));
    assert!(!trace.selected_ef_ever("input-support", 0x0001));

    let entries = trace.entries();
    assert_eq!(entries[0].target.as_deref(), Some("jpki"));
    assert_eq!(entries[0].selected_df.as_deref(), Some("jpki"));
    assert_eq!(entries[1].target.as_deref(), Some("EF 001B"));
    assert_eq!(entries[1].selected_ef, Some(0x001B));
    assert_eq!((entries[3].lc, entries[3].sw), (8, 0x63C4));
    assert_eq!(
        (entries[5].response_len, entries[5].sw, entries[5].selected_ef),
        (4, 0x9000, Some(0x0001))
    );
    assert_eq!(entries[8].event, TraceEvent::Reset);
    assert_eq!(
        (entries[9].ins, entries[9].sw, entries[9].selected_df.as_deref()),
        (0x20, 0x6700, None)
    );

    let shown = format!("{entries:?} {trace:?} {card:?}");
    for pin in [SIGN_PASSWORD, AUTH_PIN, b"QWERTY99", b"9999"] {
        for rendering in pin_renderings(pin) {
            assert!(!shown.contains(&rendering), "trace shows {rendering:?}");
        }
    }
}

#[test]
fn the_trace_outlives_the_card_and_records_resets() {
    let mut card = test_card();
    let trace = card.trace();
    card.handle(&select_app(&AID_JPKI));
    card.power_off();
    card.handle(&select_app(&[0xA0, 0, 0, 1, 0x51, 0, 0]));
    drop(card);
    let events: Vec<_> = trace.entries().iter().map(|e| e.event).collect();
    assert_eq!(events, [TraceEvent::Apdu, TraceEvent::PowerOff, TraceEvent::Apdu]);
    assert_eq!(trace.entries()[2].target.as_deref(), Some("AID A0000001510000"));
    trace.clear();
    assert_eq!(trace.apdu_count(), 0);
}

#[test]
fn random_bytes_never_get_a_panic_only_a_status_word() {
    // Exhaustive over short inputs with the interesting first bytes (the proptest covers
    // longer ones).
    let mut card = test_card();
    card.handle(&select_app(&AID_JPKI));
    for cla in [0x00, 0x80, 0x0C] {
        for ins in [0x20, 0x24, 0x2A, 0x84, 0xA4, 0xB0] {
            for tail in [
                &[][..],
                &[0],
                &[0, 0],
                &[1],
                &[0xFF, 0xFF],
                &[0, 0, 0],
                &[0, 0, 1, 0],
                &[0, 0x80, 0, 0, 0],
            ] {
                let mut c = vec![cla, ins];
                c.extend_from_slice(tail);
                assert!(card.handle(&c).len() >= 2);
            }
        }
    }
}

#[test]
fn cards_and_transports_move_across_threads_and_reset_generically() {
    fn assert_send<T: Send + 'static>() {}
    assert_send::<Card>();
    assert_send::<mynaid_emulator::transport::InProcessTransport>();
    assert_send::<mynaid_emulator::Trace>();

    let mut card = test_card();
    let trace = card.trace();
    let handle = std::thread::spawn(move || {
        assert_eq!(send(&mut card, &select_app(&AID_JPKI)).1, 0x9000);
        mynaid_emulator::transport::Resettable::reset(&mut card);
        mynaid_emulator::transport::Resettable::power_off(&mut card);
        card
    });
    let mut card = handle.join().unwrap();
    let events: Vec<_> = trace.entries().iter().map(|e| e.event).collect();
    assert_eq!(events, [TraceEvent::Apdu, TraceEvent::Reset, TraceEvent::PowerOff]);
    assert_eq!(
        send(&mut card, &apdu("00 B0 88 00 00")).1,
        0x6A82,
        "the reset dropped the selection"
    );
}
