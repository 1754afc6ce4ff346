//! [`CardTransport`] over PC/SC (pcsc-lite's `pcscd` on Linux, WinSCard, macOS's
//! CryptoTokenKit PC/SC layer), through the `pcsc` crate.
//!
//! What this crate adds to `pcsc`:
//! * **Finding the card by application, not by ATR.** [`Readers::find_my_number_card`]
//!   asks every reader with a card in it to SELECT the JPKI application.
//! * **One operation, one transaction.** [`PcscCard::transaction`] opens a PC/SC
//!   transaction that is the transport for one operation (read the tries left; read the
//!   card), so no other program can interleave commands.
//! * **Removal as a first-class outcome.** `NotTransacted`, `RemovedCard`, `ResetCard` and
//!   `NoSmartcard` all become [`TransportError::CardRemoved`] / [`TransportError::CardReset`],
//!   and the card library never presents a PIN again after one of them.
//!
//! Never logs command bytes (a VERIFY carries the PIN).

use std::ffi::{CStr, CString};
use std::time::{Duration, Instant};

use mynaid_card::transport::{Capabilities, CardTransport, Exchange, TransportError};
use mynaid_card::{Session, routes};
use pcsc::{Context, Protocols, ReaderState, Scope, ShareMode, State};
use tracing::debug;

/// What went wrong while finding a reader or a card.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReaderError {
    /// The PC/SC service (pcscd) is not running.
    #[error("the smart card service (pcscd) is not running")]
    ServiceNotRunning,
    /// No reader is connected.
    #[error("no smart card reader is connected")]
    NoReader,
    /// The named reader does not exist.
    #[error("no reader named {0:?}")]
    UnknownReader(String),
    /// No card was put on a reader in time.
    #[error("no card was put on the reader")]
    NoCard,
    /// Cards are present, but none is a My Number Card.
    #[error("the card on the reader is not a My Number Card")]
    NotMyNumberCard,
    /// The card was removed while it was being examined.
    #[error("the card was removed")]
    CardRemoved,
    /// Any other PC/SC failure.
    #[error("PC/SC error: {0}")]
    Pcsc(#[source] pcsc::Error),
}

/// Maps a PC/SC error to the card library's transport error.
pub fn transport_error(e: pcsc::Error) -> TransportError {
    use pcsc::Error as E;
    match e {
        E::ResetCard => TransportError::CardReset,
        E::NotTransacted | E::RemovedCard | E::NoSmartcard | E::UnpoweredCard | E::UnresponsiveCard => {
            TransportError::CardRemoved
        }
        E::NoService | E::ServiceStopped => TransportError::ServiceUnavailable,
        E::NoReadersAvailable | E::UnknownReader | E::ReaderUnavailable => TransportError::NoReader,
        E::Timeout => TransportError::Timeout,
        other => TransportError::Backend(Box::new(other)),
    }
}

fn reader_error(e: pcsc::Error) -> ReaderError {
    use pcsc::Error as E;
    match e {
        E::NoService | E::ServiceStopped => ReaderError::ServiceNotRunning,
        E::NoReadersAvailable => ReaderError::NoReader,
        E::NotTransacted | E::RemovedCard | E::NoSmartcard | E::ResetCard => ReaderError::CardRemoved,
        other => ReaderError::Pcsc(other),
    }
}

/// A connection to the PC/SC service.
pub struct Readers {
    ctx: Context,
}

/// A reader and whether it holds a card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReaderInfo {
    /// The reader's name as PC/SC gives it (e.g. `Virtual PCD 00 00`).
    pub name: String,
    /// Whether a card is present.
    pub card_present: bool,
}

impl Readers {
    /// Connects to the PC/SC service.
    pub fn establish() -> Result<Readers, ReaderError> {
        Context::establish(Scope::User)
            .map(|ctx| Readers { ctx })
            .map_err(reader_error)
    }

    /// The connected readers.
    pub fn list(&self) -> Result<Vec<ReaderInfo>, ReaderError> {
        let names = match self.ctx.list_readers_owned() {
            Ok(n) => n,
            Err(pcsc::Error::NoReadersAvailable) => return Ok(Vec::new()),
            Err(e) => return Err(reader_error(e)),
        };
        let mut states: Vec<ReaderState> = names
            .iter()
            .map(|n| ReaderState::new(n.clone(), State::UNAWARE))
            .collect();
        if !states.is_empty() {
            self.ctx
                .get_status_change(Duration::ZERO, &mut states)
                .map_err(reader_error)?;
        }
        Ok(states
            .iter()
            .map(|s| ReaderInfo {
                name: s.name().to_string_lossy().into_owned(),
                card_present: s.event_state().contains(State::PRESENT),
            })
            .collect())
    }

    /// Waits until a card is present in one of the readers (or in `only`), up to `timeout`.
    /// Returns the names of the readers holding a card.
    pub fn wait_for_card(&self, only: Option<&str>, timeout: Duration) -> Result<Vec<String>, ReaderError> {
        let deadline = Instant::now() + timeout;
        loop {
            let readers = self.list()?;
            if readers.is_empty() {
                return Err(ReaderError::NoReader);
            }
            if let Some(name) = only
                && !readers.iter().any(|r| r.name == name)
            {
                return Err(ReaderError::UnknownReader(name.to_string()));
            }
            let with_card: Vec<String> = readers
                .into_iter()
                .filter(|r| r.card_present && only.is_none_or(|n| n == r.name))
                .map(|r| r.name)
                .collect();
            if !with_card.is_empty() {
                return Ok(with_card);
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(ReaderError::NoCard);
            }
            // Sleep on the service's change notification rather than polling blindly.
            let names = self.ctx.list_readers_owned().map_err(reader_error)?;
            let mut states: Vec<ReaderState> = names
                .iter()
                .map(|n| ReaderState::new(n.clone(), State::UNAWARE))
                .collect();
            self.ctx
                .get_status_change(Duration::ZERO, &mut states)
                .map_err(reader_error)?;
            for s in &mut states {
                s.sync_current_state();
            }
            match self
                .ctx
                .get_status_change((deadline - now).min(Duration::from_millis(500)), &mut states)
            {
                Ok(()) | Err(pcsc::Error::Timeout) => {}
                Err(e) => return Err(reader_error(e)),
            }
        }
    }

    /// Connects to the card in `reader`.
    pub fn connect(&self, reader: &str, caps: Capabilities) -> Result<PcscCard, ReaderError> {
        let name = CString::new(reader).map_err(|_| ReaderError::UnknownReader(reader.to_string()))?;
        let card = self
            .ctx
            .connect(&name, ShareMode::Shared, Protocols::ANY)
            .map_err(|e| match e {
                pcsc::Error::UnknownReader => ReaderError::UnknownReader(reader.to_string()),
                pcsc::Error::NoSmartcard | pcsc::Error::RemovedCard => ReaderError::NoCard,
                e => reader_error(e),
            })?;
        Ok(PcscCard {
            card,
            reader: name,
            caps,
        })
    }

    /// Finds the reader holding a My Number Card (by selecting the JPKI application, never
    /// by ATR) among the readers with a card, or in `only`. Waits up to `wait` for a card.
    pub fn find_my_number_card(
        &self,
        only: Option<&str>,
        wait: Duration,
        caps: Capabilities,
    ) -> Result<PcscCard, ReaderError> {
        let candidates = self.wait_for_card(only, wait)?;
        // Only a card that answered "no such application" is "not a My Number Card"; one
        // that vanished while we asked is reported as removed.
        let mut removed = false;
        for name in candidates {
            let mut card = match self.connect(&name, caps) {
                Ok(c) => c,
                Err(ReaderError::NoCard | ReaderError::CardRemoved) => {
                    removed = true;
                    continue;
                }
                Err(e) => return Err(e),
            };
            let found = match card.transaction() {
                Ok(tx) => routes::is_my_number_card(&mut Session::new(tx)),
                Err(_) => {
                    removed = true;
                    continue;
                }
            };
            match found {
                Ok(true) => return Ok(card),
                Ok(false) => {}
                // Anything but a clean "no such application": the card did not answer properly.
                Err(_) => removed = true,
            }
        }
        Err(if removed {
            ReaderError::CardRemoved
        } else {
            ReaderError::NotMyNumberCard
        })
    }
}

/// A connected card.
pub struct PcscCard {
    card: pcsc::Card,
    reader: CString,
    caps: Capabilities,
}

impl PcscCard {
    /// The reader's name.
    pub fn reader(&self) -> &CStr {
        &self.reader
    }

    /// Begins a PC/SC transaction: the transport for one operation. It ends (leaving the
    /// card as it is) when dropped.
    pub fn transaction(&mut self) -> Result<PcscTransaction<'_>, TransportError> {
        let caps = self.caps;
        let tx = self.card.transaction().map_err(transport_error)?;
        Ok(PcscTransaction {
            tx,
            caps,
            buf: vec![0u8; pcsc::MAX_BUFFER_SIZE_EXTENDED],
        })
    }
}

/// A transport inside one PC/SC transaction.
pub struct PcscTransaction<'card> {
    tx: pcsc::Transaction<'card>,
    caps: Capabilities,
    buf: Vec<u8>,
}

impl CardTransport for PcscTransaction<'_> {
    fn transmit(&mut self, command: &[u8], _exchange: Exchange) -> Result<Vec<u8>, TransportError> {
        // PC/SC has no per-command timeout; the driver waits as long as the card asks to
        // (waiting-time extensions), which covers the slow signature.
        match self.tx.transmit(command, &mut self.buf) {
            // vpcd answers "success, 0 bytes" when the card vanished mid-command. A card
            // always sends at least a status word, so no answer means no card.
            Ok(r) if r.len() < 2 => Err(TransportError::CardRemoved),
            Ok(r) => Ok(r.to_vec()),
            Err(e) => {
                debug!(target: "mynaid_pcsc", error = %e, len = command.len(), "transmit failed");
                Err(transport_error(e))
            }
        }
    }

    fn capabilities(&self) -> Capabilities {
        self.caps
    }
}
