//! Carrying APDUs to an emulated card inside the test process, and breaking the link on
//! purpose.
//!
//! [`InProcessTransport`] lets the real reader library (`mynaid-card`) drive a [`Card`]
//! without pcscd, the way opcard-rs tests its card with openpgp-card's backend
//! (`shared/design/style.md` §6, §10.5 tier 4). It enforces the short-APDU limit of ordinary
//! readers unless built with [`InProcessTransport::extended`].
//!
//! [`FaultyTransport`] wraps a transport and, at scripted exchanges, does what real links do:
//! truncate or corrupt an answer, reset the card, or lose the card before or after it ran a
//! command. That is how the reader's "never spend a try by accident" rules get tested.

use mynaid_apdu::Command;
use mynaid_card::transport::{Capabilities, CardTransport, Exchange, TransportError};

use crate::Card;

/// The largest short APDU: header, Lc, 255 data bytes, Le.
pub const MAX_SHORT_APDU: usize = 261;

/// Something that can lose its card's volatile state: the card itself or a transport in
/// front of it. Used by [`FaultyTransport`] to inject resets and removals.
pub trait Resettable {
    /// A warm reset of the card.
    fn reset(&mut self);

    /// The card loses power (removed from the reader or field). Defaults to a reset.
    fn power_off(&mut self) {
        self.reset();
    }
}

impl Resettable for Card {
    fn reset(&mut self) {
        Card::reset(self);
    }

    fn power_off(&mut self) {
        Card::power_off(self);
    }
}

impl<T: Resettable + ?Sized> Resettable for &mut T {
    fn reset(&mut self) {
        (**self).reset();
    }

    fn power_off(&mut self) {
        (**self).power_off();
    }
}

/// A [`CardTransport`] that hands each command straight to an emulated [`Card`].
#[derive(Debug)]
pub struct InProcessTransport {
    card: Card,
    caps: Capabilities,
}

impl InProcessTransport {
    /// A transport for short APDUs only ([`Capabilities::SHORT`]), like most readers and
    /// phones: an extended-length command, or one longer than [`MAX_SHORT_APDU`] bytes, is
    /// refused with [`TransportError::CommandTooLong`] without reaching the card.
    pub fn new(card: Card) -> InProcessTransport {
        InProcessTransport {
            card,
            caps: Capabilities::SHORT,
        }
    }

    /// A transport that carries extended-length APDUs ([`Capabilities::EXTENDED`]).
    pub fn extended(card: Card) -> InProcessTransport {
        InProcessTransport {
            card,
            caps: Capabilities::EXTENDED,
        }
    }

    /// The card.
    pub fn card(&self) -> &Card {
        &self.card
    }

    /// The card, mutably (to reset it, say).
    pub fn card_mut(&mut self) -> &mut Card {
        &mut self.card
    }

    /// Gives the card back.
    pub fn into_card(self) -> Card {
        self.card
    }
}

impl CardTransport for InProcessTransport {
    fn transmit(&mut self, command: &[u8], _exchange: Exchange) -> Result<Vec<u8>, TransportError> {
        if !self.caps.extended_length {
            // A malformed command is the card's business (it answers 6700); only a
            // well-formed extended one is something a short-only reader cannot send.
            let extended = Command::parse(command).is_ok_and(|c| c.is_extended());
            if extended || command.len() > MAX_SHORT_APDU {
                return Err(TransportError::CommandTooLong { len: command.len() });
            }
        }
        Ok(self.card.handle(command))
    }

    fn capabilities(&self) -> Capabilities {
        self.caps
    }
}

impl Resettable for InProcessTransport {
    fn reset(&mut self) {
        self.card.reset();
    }

    fn power_off(&mut self) {
        self.card.power_off();
    }
}

/// Something going wrong on one exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Keep only the first `keep` bytes of the response (status word included).
    TruncateResponse(usize),
    /// Replace the status word of the response with this one (appended if the response is
    /// shorter than two bytes).
    ReplaceStatus(u16),
    /// Invert every bit of the response byte at `index` (no effect past the end).
    FlipByte {
        /// Position in the response, status word included.
        index: usize,
    },
    /// Reset the card just before the command reaches it: it arrives with the security
    /// state gone.
    ResetBefore,
    /// The card is removed before the command arrives: the command does not run, the
    /// transport reports [`TransportError::CardRemoved`], and the card loses power.
    RemoveCard,
    /// The card runs the command, then is removed before the answer comes back: the effect
    /// (a spent PIN try, say) happened, the transport reports
    /// [`TransportError::CardRemoved`], and the card loses power.
    RemoveCardAfter,
}

/// A transport that injects [`Fault`]s at scripted exchanges (0-based transmit numbers).
#[derive(Debug)]
pub struct FaultyTransport<T> {
    inner: T,
    faults: Vec<(usize, Fault)>,
    transmits: usize,
}

impl<T: CardTransport + Resettable> FaultyTransport<T> {
    /// Wraps `inner` with no fault scripted yet.
    pub fn new(inner: T) -> FaultyTransport<T> {
        FaultyTransport {
            inner,
            faults: Vec::new(),
            transmits: 0,
        }
    }

    /// Scripts `fault` for transmit number `at` (0-based, counting every call). Several
    /// faults on one transmit apply in the order given.
    pub fn with_fault(mut self, at: usize, fault: Fault) -> FaultyTransport<T> {
        self.add_fault(at, fault);
        self
    }

    /// Scripts `fault` for transmit number `at` (0-based, counting every call).
    pub fn add_fault(&mut self, at: usize, fault: Fault) {
        self.faults.push((at, fault));
    }

    /// How many times `transmit` was called so far (failed calls included).
    pub fn transmits(&self) -> usize {
        self.transmits
    }

    /// The wrapped transport.
    pub fn inner(&self) -> &T {
        &self.inner
    }

    /// The wrapped transport, mutably.
    pub fn inner_mut(&mut self) -> &mut T {
        &mut self.inner
    }

    /// Gives the wrapped transport back.
    pub fn into_inner(self) -> T {
        self.inner
    }
}

impl<T: CardTransport + Resettable> CardTransport for FaultyTransport<T> {
    fn transmit(&mut self, command: &[u8], exchange: Exchange) -> Result<Vec<u8>, TransportError> {
        let n = self.transmits;
        self.transmits += 1;
        let faults: Vec<Fault> = self.faults.iter().filter(|(at, _)| *at == n).map(|(_, f)| *f).collect();
        for fault in &faults {
            match fault {
                Fault::ResetBefore => self.inner.reset(),
                Fault::RemoveCard => {
                    self.inner.power_off();
                    return Err(TransportError::CardRemoved);
                }
                _ => {}
            }
        }
        let mut response = self.inner.transmit(command, exchange)?;
        for fault in &faults {
            match *fault {
                Fault::TruncateResponse(keep) => response.truncate(keep),
                Fault::ReplaceStatus(sw) => {
                    let keep = response.len().saturating_sub(2);
                    response.truncate(keep);
                    response.extend_from_slice(&sw.to_be_bytes());
                }
                Fault::FlipByte { index } => {
                    if let Some(b) = response.get_mut(index) {
                        *b ^= 0xFF;
                    }
                }
                Fault::RemoveCardAfter => {
                    self.inner.power_off();
                    return Err(TransportError::CardRemoved);
                }
                Fault::ResetBefore | Fault::RemoveCard => {}
            }
        }
        Ok(response)
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }
}

impl<T: CardTransport + Resettable> Resettable for FaultyTransport<T> {
    fn reset(&mut self) {
        self.inner.reset();
    }

    fn power_off(&mut self) {
        self.inner.power_off();
    }
}
