//! The one I/O seam of the card library.
//!
//! Everything in this crate builds commands and interprets responses; a [`CardTransport`]
//! carries the bytes. Implementations: the in-process emulator (`mynaid-emulator`), PC/SC
//! (`mynaid-pcsc`) and the simulated NFC link.

use std::fmt;

/// What a transport can carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// Whether extended-length APDUs (Lc up to 65535, Ne up to 65536) get through.
    pub extended_length: bool,
    /// The largest response data the reader may ask for in one READ BINARY.
    /// 256 for short APDUs; larger only with `extended_length`.
    pub max_response_data: usize,
}

impl Capabilities {
    /// Short APDUs only (frames of at most 261 bytes), the safe default for any reader.
    pub const SHORT: Capabilities = Capabilities {
        extended_length: false,
        max_response_data: 256,
    };
    /// Extended length with responses up to 65535 bytes in one frame (vpcd's limit).
    pub const EXTENDED: Capabilities = Capabilities {
        extended_length: true,
        max_response_data: 65533,
    };
}

/// A hint about how long the card may take to answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exchange {
    /// An ordinary command.
    Normal,
    /// An on-card RSA signature: NFC links must wait longer (peers use 5 s).
    Signature,
}

/// Why a transport could not exchange an APDU. Never carries the APDU bytes.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// The card left the reader (or the reader's link to it broke) during the exchange.
    /// A VERIFY must never be sent again on this connection.
    #[error("the card was removed")]
    CardRemoved,
    /// The card was reset by another party: its security state (verified PINs) is gone.
    #[error("the card was reset")]
    CardReset,
    /// There is no card in the reader.
    #[error("no card in the reader")]
    NoCard,
    /// No reader is connected.
    #[error("no card reader found")]
    NoReader,
    /// The PC/SC service (pcscd) is not running.
    #[error("the smart card service is not running")]
    ServiceUnavailable,
    /// The card did not answer in time.
    #[error("the card did not answer in time")]
    Timeout,
    /// The command is larger than the transport can carry.
    #[error("command of {len} bytes is too long for this reader")]
    CommandTooLong {
        /// Bytes of the encoded command.
        len: usize,
    },
    /// The reader returned bytes that are not a response APDU (no status word).
    #[error("the reader returned a malformed response of {len} bytes")]
    MalformedResponse {
        /// Bytes received.
        len: usize,
    },
    /// Any other backend failure.
    #[error("reader error: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl TransportError {
    /// Whether the card may be gone: after this, the outcome of an in-flight command is
    /// unknown and no PIN may be presented on this connection.
    pub fn card_may_be_gone(&self) -> bool {
        !matches!(self, TransportError::CommandTooLong { .. })
    }
}

/// Carries raw APDUs to a card and back.
///
/// Implementations must not log command bytes: a VERIFY carries the PIN.
pub trait CardTransport {
    /// Sends one command APDU and returns the raw response APDU (data ‖ SW1 SW2).
    fn transmit(&mut self, command: &[u8], exchange: Exchange) -> Result<Vec<u8>, TransportError>;

    /// What this transport can carry.
    fn capabilities(&self) -> Capabilities {
        Capabilities::SHORT
    }
}

impl<T: CardTransport + ?Sized> CardTransport for &mut T {
    fn transmit(&mut self, command: &[u8], exchange: Exchange) -> Result<Vec<u8>, TransportError> {
        (**self).transmit(command, exchange)
    }

    fn capabilities(&self) -> Capabilities {
        (**self).capabilities()
    }
}

impl<T: CardTransport + ?Sized> CardTransport for Box<T> {
    fn transmit(&mut self, command: &[u8], exchange: Exchange) -> Result<Vec<u8>, TransportError> {
        (**self).transmit(command, exchange)
    }

    fn capabilities(&self) -> Capabilities {
        (**self).capabilities()
    }
}

impl fmt::Display for Exchange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Exchange::Normal => "normal",
            Exchange::Signature => "signature",
        })
    }
}
