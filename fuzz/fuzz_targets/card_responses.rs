//! The card library against a card (or reader) that answers anything: every response APDU
//! — status words, GET RESPONSE chains, file contents, signatures — comes from the fuzzer.
//! Runs what the apps run (`mynaid_device::pin_statuses` and `mynaid_device::read`, both
//! routes, short and extended length) and checks the PIN rules besides "no panic": at most
//! one VERIFY carrying a PIN per PIN the route uses (one per application selected: the
//! 4-digit route verifies the JPKI AP's PIN, then the input-support AP's), and only right
//! after a retry query whose answer said a try may be spent (never to a blocked PIN, never
//! the last try unconfirmed).
//!
//! Input: byte 0 picks the operation (bits 0-1), extended length (bit 2) and whether the
//! last try is confirmed (bit 3); then each response is a 2-byte little-endian length (taken
//! modulo 600) followed by that many bytes. When the input runs out the card is removed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mynaid_apdu::{Command, Response, StatusWord, ins};
use mynaid_card::transport::{Capabilities, CardTransport, Exchange, TransportError};
use mynaid_card::{FourDigitPins, InputSupportPin, LastTries, LastTry, Pin, PinKind, RetryStatus};
use mynaid_device::{Credentials, Route};

struct Scripted<'a> {
    input: &'a [u8],
    caps: Capabilities,
    last_try: LastTry,
    /// VERIFY commands with data sent so far.
    verifies: usize,
    /// VERIFY commands with data since the last application SELECT.
    verifies_in_application: usize,
    /// The most the route may send (one per PIN it uses).
    max_verifies: usize,
    /// Whether the previous command was a retry query (or a GET RESPONSE continuing one).
    in_query: bool,
    /// What the card answered to the latest retry query (status word, data length).
    query_answer: Option<(StatusWord, usize)>,
}

impl CardTransport for Scripted<'_> {
    fn transmit(&mut self, command: &[u8], _exchange: Exchange) -> Result<Vec<u8>, TransportError> {
        let cmd = Command::parse(command).expect("the library sends well-formed commands");
        let query = cmd.ins == ins::VERIFY && cmd.data_bytes().is_empty();
        let continues_query = cmd.ins == ins::GET_RESPONSE && self.in_query;
        if cmd.ins == ins::SELECT && cmd.p1 == 0x04 {
            self.verifies_in_application = 0;
        }
        if cmd.ins == ins::VERIFY && !query {
            self.verifies += 1;
            self.verifies_in_application += 1;
            assert!(
                self.verifies <= self.max_verifies,
                "more VERIFYs than the route has PINs"
            );
            assert_eq!(self.verifies_in_application, 1, "a second VERIFY of one PIN");
            assert!(self.in_query, "a VERIFY not right after a retry query");
            let Some((StatusWord::VerifyFailed { retries_left }, 0)) = self.query_answer else {
                panic!("a VERIFY after the retry query answered {:?}", self.query_answer);
            };
            assert!(retries_left >= 1, "a VERIFY to a blocked PIN");
            assert!(
                retries_left >= 2 || self.last_try == LastTry::Confirmed,
                "the last try spent without confirmation"
            );
        }
        self.in_query = query || continues_query;
        let [lo, hi, rest @ ..] = self.input else {
            return Err(TransportError::CardRemoved);
        };
        let len = usize::from(u16::from_le_bytes([*lo, *hi])) % 600;
        let (response, rest) = rest.split_at(len.min(rest.len()));
        self.input = rest;
        if self.in_query {
            let answer = Response::parse(response).ok();
            let previous = self.query_answer.filter(|_| continues_query).map_or(0, |(_, n)| n);
            self.query_answer = answer.map(|r| (r.sw, previous + r.data.len()));
        }
        Ok(response.to_vec())
    }

    fn capabilities(&self) -> Capabilities {
        self.caps
    }
}

fuzz_target!(|data: &[u8]| {
    let [select, input @ ..] = data else {
        return;
    };
    let mut card = Scripted {
        input,
        caps: if select & 4 == 0 {
            Capabilities::SHORT
        } else {
            Capabilities::EXTENDED
        },
        last_try: if select & 8 == 0 {
            LastTry::NotConfirmed
        } else {
            LastTry::Confirmed
        },
        verifies: 0,
        verifies_in_application: 0,
        max_verifies: if select & 1 == 0 { 2 } else { 1 },
        in_query: false,
        query_answer: None,
    };
    let credential = if select & 1 == 0 {
        Route::UserAuthentication
    } else {
        Route::Signature
    };
    if select & 2 == 0 {
        match mynaid_device::pin_statuses(&mut card, credential) {
            Ok(statuses) => {
                for (kind, status) in statuses {
                    if let RetryStatus::Remaining(n) = status {
                        assert!((1..=kind.max_tries()).contains(&n));
                    }
                }
            }
            Err(e) => {
                let _ = e.to_string();
            }
        }
        assert_eq!(card.verifies, 0, "the retry query spent a try");
        return;
    }
    let last_try = card.last_try;
    let credentials = match credential {
        Route::UserAuthentication => Credentials::FourDigit {
            pins: FourDigitPins::new(
                Pin::new(PinKind::UserAuthentication, "1234").expect("valid PIN"),
                InputSupportPin::SameAsUserAuthentication,
            )
            .expect("4-digit PINs"),
            last_tries: LastTries::both(last_try),
        },
        Route::Signature => Credentials::Password {
            password: Pin::new(PinKind::Signature, "ABC123").expect("valid password"),
            last_try,
        },
    };
    let tbs = [0x5A; 32];
    let mut steps = 0usize;
    match mynaid_device::read(&mut card, &credentials, &tbs, &mut |_| steps += 1) {
        Ok(reading) => {
            // No VERIFY only if the card claimed the PIN was already verified (9000 to the
            // retry query): the card's own business, nothing spent.
            let _ = format!("{reading:?}");
        }
        Err(e) => {
            let _ = (e.to_string(), e.tries_left(), e.is_card_removed());
        }
    }
});
