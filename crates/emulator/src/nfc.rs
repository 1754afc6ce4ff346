//! A simulated NFC link (ISO/IEC 14443-4 through a phone's IsoDep / Core NFC), for the
//! phone app's stand-in.
//!
//! What it imposes, because phones do (`shared/spec/performance.md` §1.5):
//! * frames of at most 261 bytes (CLA INS P1 P2 Lc + 255 + Le): no extended length;
//! * a delay per APDU (radio and OS stack, 20-40 ms on phones) and the card's own compute
//!   time for a signature (150-300 ms);
//! * a transceive timeout: short by default on Android (300-500 ms), so the signature must
//!   be sent with the longer timeout ([`Exchange::Signature`]) or it fails.

use std::thread;
use std::time::Duration;

use mynaid_card::transport::{Capabilities, CardTransport, Exchange, TransportError};

use crate::Card;
use crate::transport::{MAX_SHORT_APDU, Resettable};

/// Timing of the simulated link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NfcTiming {
    /// Added to every APDU (radio + OS stack).
    pub per_apdu: Duration,
    /// The card's time to make an RSA-2048 signature.
    pub signature: Duration,
    /// Timeout of an ordinary exchange.
    pub normal_timeout: Duration,
    /// Timeout the app sets around the signature (peers use 5 s).
    pub signature_timeout: Duration,
}

impl NfcTiming {
    /// Typical of a phone: 25 ms per APDU, 200 ms to sign, 500 ms / 5 s timeouts.
    pub const PHONE: NfcTiming = NfcTiming {
        per_apdu: Duration::from_millis(25),
        signature: Duration::from_millis(200),
        normal_timeout: Duration::from_millis(500),
        signature_timeout: Duration::from_secs(5),
    };

    /// No delay at all (the limits stay): for fast tests.
    pub const INSTANT: NfcTiming = NfcTiming {
        per_apdu: Duration::ZERO,
        signature: Duration::ZERO,
        normal_timeout: Duration::from_millis(500),
        signature_timeout: Duration::from_secs(5),
    };
}

/// The emulated card over a simulated NFC link.
#[derive(Debug)]
pub struct NfcTransport {
    card: Card,
    timing: NfcTiming,
}

impl NfcTransport {
    /// The card behind a phone's NFC with `timing`.
    pub fn new(card: Card, timing: NfcTiming) -> NfcTransport {
        NfcTransport { card, timing }
    }

    /// The card.
    pub fn card(&self) -> &Card {
        &self.card
    }

    /// The card back.
    pub fn into_card(self) -> Card {
        self.card
    }
}

impl CardTransport for NfcTransport {
    fn transmit(&mut self, command: &[u8], exchange: Exchange) -> Result<Vec<u8>, TransportError> {
        if command.len() > MAX_SHORT_APDU {
            return Err(TransportError::CommandTooLong { len: command.len() });
        }
        let signs = command.get(1) == Some(&0x2A);
        let card_time = self.timing.per_apdu + if signs { self.timing.signature } else { Duration::ZERO };
        let timeout = match exchange {
            Exchange::Normal => self.timing.normal_timeout,
            Exchange::Signature => self.timing.signature_timeout,
        };
        if card_time > timeout {
            // The phone gives up; the card may still finish the command.
            thread::sleep(timeout);
            let _ = self.card.handle(command);
            return Err(TransportError::Timeout);
        }
        thread::sleep(card_time);
        Ok(self.card.handle(command))
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::SHORT
    }
}

impl Resettable for NfcTransport {
    fn reset(&mut self) {
        self.card.reset();
    }

    fn power_off(&mut self) {
        self.card.power_off();
    }
}
