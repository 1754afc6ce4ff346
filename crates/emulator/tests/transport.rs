//! The in-process transport and fault injection.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{AUTH_PIN, apdu, select_app, test_card, verify};
use mynaid_card::ids::AID_JPKI;
use mynaid_card::transport::{Capabilities, CardTransport, Exchange, TransportError};
use mynaid_emulator::transport::{Fault, FaultyTransport, InProcessTransport, MAX_SHORT_APDU, Resettable};

fn status(response: &[u8]) -> u16 {
    let [.., a, b] = response else {
        panic!("no status word in {response:02X?}")
    };
    u16::from_be_bytes([*a, *b])
}

fn tx(t: &mut impl CardTransport, command: &[u8]) -> Result<Vec<u8>, TransportError> {
    t.transmit(command, Exchange::Normal)
}

#[test]
fn short_transport_refuses_extended_commands_before_the_card_sees_them() {
    let card = test_card();
    let trace = card.trace();
    let mut t = InProcessTransport::new(card);
    assert_eq!(t.capabilities(), Capabilities::SHORT);
    assert_eq!(status(&tx(&mut t, &select_app(&AID_JPKI)).unwrap()), 0x9000);

    let whole_ef = apdu("00 B0 8A 00 00 00 00");
    assert!(matches!(
        tx(&mut t, &whole_ef),
        Err(TransportError::CommandTooLong { len: 7 })
    ));
    let mut long = vec![0x80, 0x2A, 0x00, 0x9A, 0xFF];
    long.extend([0xAB; 255]);
    long.extend([0x00, 0x00]);
    assert_eq!(long.len(), MAX_SHORT_APDU + 1);
    assert!(matches!(
        tx(&mut t, &long),
        Err(TransportError::CommandTooLong { len: 262 })
    ));
    assert_eq!(trace.apdu_count(), 1, "refused commands never reached the card");

    // The largest short READ works, and a malformed command is the card's to refuse.
    assert_eq!(tx(&mut t, &apdu("00 B0 8A 00 00")).unwrap().len(), 258);
    assert_eq!(status(&tx(&mut t, &apdu("00 B0 8A")).unwrap()), 0x6700);
}

#[test]
fn extended_transport_carries_a_whole_ef_in_one_exchange() {
    let mut t = InProcessTransport::extended(test_card());
    assert_eq!(t.capabilities(), Capabilities::EXTENDED);
    tx(&mut t, &select_app(&AID_JPKI)).unwrap();
    let response = tx(&mut t, &apdu("00 B0 8A 00 00 00 00")).unwrap();
    assert_eq!(response.len(), common::AUTH_CERT_SIZE + 2);
    assert_eq!(status(&response), 0x9000);
}

#[test]
fn the_card_stays_reachable_through_the_transport() {
    let mut t = InProcessTransport::new(test_card());
    tx(&mut t, &select_app(&AID_JPKI)).unwrap();
    assert_eq!(status(&tx(&mut t, &verify(0x98, b"0000")).unwrap()), 0x63C2);
    assert_eq!(common::remaining(t.card().state(), "jpki", 0x0018), 2);
    t.card_mut().reset();
    assert_eq!(
        status(&tx(&mut t, &verify(0x98, &[])).unwrap()),
        0x6A82,
        "reset dropped the selection"
    );
    let card = t.into_card();
    assert_eq!(card.trace().apdu_count(), 3);
}

#[test]
fn response_faults_corrupt_only_the_scripted_exchange() {
    let mut t = FaultyTransport::new(InProcessTransport::new(test_card()))
        .with_fault(1, Fault::TruncateResponse(2))
        .with_fault(2, Fault::ReplaceStatus(0x6F00))
        .with_fault(3, Fault::FlipByte { index: 0 })
        .with_fault(4, Fault::FlipByte { index: 99 });
    let read = apdu("00 B0 88 00 03");
    assert_eq!(tx(&mut t, &select_app(&AID_JPKI)).unwrap(), [0x90, 0x00]);
    assert_eq!(
        tx(&mut t, &read).unwrap(),
        [0x8F, 0x8F],
        "truncated: data without status word"
    );
    assert_eq!(tx(&mut t, &read).unwrap(), [0x8F, 0x8F, 0x00, 0x6F, 0x00]);
    assert_eq!(tx(&mut t, &read).unwrap(), [0x70, 0x8F, 0x00, 0x90, 0x00]);
    assert_eq!(
        tx(&mut t, &read).unwrap(),
        [0x8F, 0x8F, 0x00, 0x90, 0x00],
        "index past the end: untouched"
    );
    assert_eq!(tx(&mut t, &read).unwrap(), [0x8F, 0x8F, 0x00, 0x90, 0x00]);
    assert_eq!(t.transmits(), 6);
}

#[test]
fn replace_status_on_a_bare_status_word_and_several_faults_on_one_exchange() {
    let mut t = FaultyTransport::new(InProcessTransport::new(test_card()));
    t.add_fault(0, Fault::ReplaceStatus(0x6A82));
    t.add_fault(0, Fault::FlipByte { index: 1 });
    assert_eq!(tx(&mut t, &select_app(&AID_JPKI)).unwrap(), [0x6A, 0x7D]);
    // The card itself did select the application.
    assert_eq!(status(&tx(&mut t, &apdu("00 B0 88 00 03")).unwrap()), 0x9000);
}

#[test]
fn reset_before_a_command_loses_the_verification() {
    let mut t = FaultyTransport::new(InProcessTransport::new(test_card())).with_fault(3, Fault::ResetBefore);
    tx(&mut t, &select_app(&AID_JPKI)).unwrap();
    assert_eq!(status(&tx(&mut t, &verify(0x98, AUTH_PIN)).unwrap()), 0x9000);
    assert_eq!(status(&tx(&mut t, &verify(0x98, &[])).unwrap()), 0x9000);
    assert_eq!(
        status(&tx(&mut t, &verify(0x98, &[])).unwrap()),
        0x6A82,
        "reset: no application selected"
    );
    tx(&mut t, &select_app(&AID_JPKI)).unwrap();
    assert_eq!(
        status(&tx(&mut t, &verify(0x98, &[])).unwrap()),
        0x63C3,
        "not verified any more"
    );
}

#[test]
fn removal_before_the_command_spends_nothing() {
    let card = test_card();
    let trace = card.trace();
    let mut t = FaultyTransport::new(InProcessTransport::new(card)).with_fault(1, Fault::RemoveCard);
    tx(&mut t, &select_app(&AID_JPKI)).unwrap();
    assert!(matches!(
        tx(&mut t, &verify(0x98, b"0000")),
        Err(TransportError::CardRemoved)
    ));
    assert_eq!(common::remaining(t.inner().card().state(), "jpki", 0x0018), 3);
    assert_eq!(trace.verify_count(), 0, "the VERIFY never reached the card");
    assert_eq!(
        status(&tx(&mut t, &verify(0x98, &[])).unwrap()),
        0x6A82,
        "the card lost power"
    );
    assert_eq!(t.transmits(), 3);
}

#[test]
fn removal_after_the_command_spent_the_try_but_lost_the_answer() {
    let card = test_card();
    let trace = card.trace();
    let mut t = FaultyTransport::new(InProcessTransport::new(card)).with_fault(1, Fault::RemoveCardAfter);
    tx(&mut t, &select_app(&AID_JPKI)).unwrap();
    assert!(matches!(
        tx(&mut t, &verify(0x98, b"0000")),
        Err(TransportError::CardRemoved)
    ));
    assert_eq!(common::remaining(t.inner().card().state(), "jpki", 0x0018), 2);
    assert_eq!(trace.verify_count(), 1);
    assert_eq!(
        trace.entries().last().map(|e| e.event),
        Some(mynaid_emulator::TraceEvent::PowerOff)
    );
    tx(&mut t, &select_app(&AID_JPKI)).unwrap();
    assert_eq!(status(&tx(&mut t, &verify(0x98, &[])).unwrap()), 0x63C2);
}

#[test]
fn faults_wrap_a_borrowed_transport_and_the_card_resets_through_the_wrapper() {
    let mut inner = InProcessTransport::new(test_card());
    {
        let mut t = FaultyTransport::new(&mut inner).with_fault(0, Fault::ReplaceStatus(0x6A82));
        assert_eq!(t.capabilities(), Capabilities::SHORT);
        assert_eq!(tx(&mut t, &select_app(&AID_JPKI)).unwrap(), [0x6A, 0x82]);
        assert_eq!(status(&tx(&mut t, &apdu("00 B0 88 00 03")).unwrap()), 0x9000);
        Resettable::reset(&mut t);
        assert_eq!(status(&tx(&mut t, &apdu("00 B0 88 00 03")).unwrap()), 0x6A82);
        assert_eq!(t.into_inner().card().trace().apdu_count(), 3);
    }
    let mut faulty = FaultyTransport::new(inner);
    faulty.inner_mut().card_mut().power_off();
    assert_eq!(faulty.transmits(), 0);
}
