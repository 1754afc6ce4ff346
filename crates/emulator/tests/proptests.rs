//! Properties: the card never panics on any input, and its PIN counter always agrees with a
//! simple model of the rules in `shared/spec/card-protocol.md` §4.2 and §4.5.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{AUTH_PIN, select_app, send, test_card, verify};
use mynaid_card::ids::{AID_INPUT_SUPPORT, AID_JPKI};
use mynaid_emulator::{Card, Persistence};
use proptest::prelude::*;

/// Command-shaped inputs: a plausible header (so the fuzzing gets past the class check)
/// followed by arbitrary bytes.
fn command_like() -> impl Strategy<Value = Vec<u8>> {
    let cla = prop_oneof![Just(0x00u8), Just(0x80), any::<u8>()];
    let ins = prop_oneof![
        Just(0x20u8),
        Just(0x24),
        Just(0x2A),
        Just(0x84),
        Just(0xA4),
        Just(0xB0),
        any::<u8>()
    ];
    (cla, ins, any::<[u8; 2]>(), prop::collection::vec(any::<u8>(), 0..300)).prop_map(|(cla, ins, p, body)| {
        let mut c = vec![cla, ins, p[0], p[1]];
        c.extend(body);
        c
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_bytes_get_a_status_word(inputs in prop::collection::vec(
        prop_oneof![prop::collection::vec(any::<u8>(), 0..40), command_like()], 1..12)
    ) {
        let mut card = test_card();
        let trace = card.trace();
        card.handle(&select_app(&AID_JPKI));
        for input in &inputs {
            let response = card.handle(input);
            prop_assert!(response.len() >= 2);
            // Only a successful command carries data.
            let sw = u16::from_be_bytes([response[response.len() - 2], response[response.len() - 1]]);
            prop_assert!(response.len() == 2 || sw == 0x9000, "{:04X} with data", sw);
        }
        prop_assert_eq!(trace.apdu_count(), inputs.len() + 1);
        // Whatever happened, the counters stayed within their bounds.
        for app in &card.state().applications {
            for pin in &app.pins {
                prop_assert!(pin.remaining <= pin.max_tries);
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Op {
    VerifyWrong,
    VerifyRight,
    Query,
    Reset,
    PowerOff,
    SelectJpki,
    SelectOther,
    Restart,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => Just(Op::VerifyWrong),
        2 => Just(Op::VerifyRight),
        2 => Just(Op::Query),
        1 => Just(Op::Reset),
        1 => Just(Op::PowerOff),
        2 => Just(Op::SelectJpki),
        1 => Just(Op::SelectOther),
        1 => Just(Op::Restart),
    ]
}

/// The rules for the JPKI auth PIN (EF 0018, 3 tries), addressed by SFI (`00 20 00 98`).
#[derive(Debug)]
struct Model {
    remaining: u8,
    jpki_selected: bool,
    verified: bool,
}

impl Model {
    const MAX: u8 = 3;

    /// The status word the card must answer, updating the model.
    fn apply(&mut self, op: Op) -> Option<u16> {
        match op {
            Op::VerifyWrong | Op::VerifyRight | Op::Query if !self.jpki_selected => Some(0x6A82),
            Op::Query if self.verified => Some(0x9000),
            Op::Query => Some(0x63C0 | u16::from(self.remaining)),
            Op::VerifyWrong | Op::VerifyRight if self.remaining == 0 => Some(0x6984),
            Op::VerifyWrong => {
                self.remaining -= 1;
                self.verified = false;
                Some(0x63C0 | u16::from(self.remaining))
            }
            Op::VerifyRight => {
                self.remaining = Self::MAX;
                self.verified = true;
                Some(0x9000)
            }
            Op::SelectJpki => {
                self.jpki_selected = true;
                self.verified = false;
                Some(0x9000)
            }
            Op::SelectOther => {
                self.jpki_selected = false;
                self.verified = false;
                Some(0x9000)
            }
            Op::Reset | Op::PowerOff | Op::Restart => {
                self.jpki_selected = false;
                self.verified = false;
                None
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn pin_counter_follows_the_model(ops in prop::collection::vec(op(), 1..40)) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("card.json");
        let mut card = Card::from_state(common::test_state(), Persistence::File(path.clone())).unwrap();
        let mut model = Model { remaining: Model::MAX, jpki_selected: false, verified: false };
        for (i, &op) in ops.iter().enumerate() {
            let before = model.remaining;
            let expected = model.apply(op);
            let sw = match op {
                Op::VerifyWrong => Some(send(&mut card, &verify(0x98, b"0000")).1),
                Op::VerifyRight => Some(send(&mut card, &verify(0x98, AUTH_PIN)).1),
                Op::Query => Some(send(&mut card, &verify(0x98, &[])).1),
                Op::SelectJpki => Some(send(&mut card, &select_app(&AID_JPKI)).1),
                Op::SelectOther => Some(send(&mut card, &select_app(&AID_INPUT_SUPPORT)).1),
                Op::Reset => { card.reset(); None }
                Op::PowerOff => { card.power_off(); None }
                Op::Restart => { drop(card); card = Card::open(&path).unwrap(); None }
            };
            prop_assert_eq!(sw, expected, "op {} {:?}", i, op);
            let left = common::remaining(card.state(), "jpki", 0x0018);
            prop_assert_eq!(left, model.remaining, "op {} {:?}", i, op);
            // Only a VERIFY with data can change the counter; blocked stays blocked.
            if before == 0 {
                prop_assert_eq!(left, 0);
            }
            if !matches!(op, Op::VerifyWrong | Op::VerifyRight) {
                prop_assert_eq!(left, before);
            }
        }
    }
}
