//! Errors of the card library. They carry the status word and the tries left, and never a
//! PIN, a name, an address or a birth date.

use std::fmt;

use mynaid_apdu::{EncodeError, StatusWord};

use crate::formats::FormatError;
use crate::pin::{Application, PinFormatError, PinKind};
use crate::transport::TransportError;

/// The operation that was under way, for messages and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Op {
    /// SELECT of an application by name.
    SelectApplication(Application),
    /// SELECT of an EF.
    SelectFile(u16),
    /// READ BINARY of an EF.
    ReadFile(u16),
    /// VERIFY with no data (the retry query).
    RetryQuery(PinKind),
    /// VERIFY with the PIN.
    Verify(PinKind),
    /// COMPUTE DIGITAL SIGNATURE with a key EF (`None`: the application's default key).
    Sign(Option<u16>),
    /// GET RESPONSE.
    GetResponse,
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::SelectApplication(app) => write!(f, "selecting the {app}"),
            Op::SelectFile(fid) => write!(f, "selecting EF {fid:04X}"),
            Op::ReadFile(fid) => write!(f, "reading EF {fid:04X}"),
            Op::RetryQuery(kind) => write!(f, "asking the tries left of the {kind}"),
            Op::Verify(kind) => write!(f, "verifying the {kind}"),
            Op::Sign(Some(fid)) => write!(f, "signing with key EF {fid:04X}"),
            Op::Sign(None) => write!(f, "signing with the application's key"),
            Op::GetResponse => write!(f, "fetching the rest of a response"),
        }
    }
}

/// What went wrong while talking to the card.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CardError {
    /// The transport failed (card removed, reader gone, service down).
    #[error("{op}: {source}")]
    Transport {
        /// What was under way.
        op: Op,
        /// The transport's error.
        #[source]
        source: TransportError,
    },
    /// The card has no such application: not a My Number Card (or not this kind).
    #[error("not a My Number Card: selecting the {application} answered {sw}")]
    NotMyNumberCard {
        /// The application that was missing.
        application: Application,
        /// What the card answered.
        sw: StatusWord,
    },
    /// The card answered with an unexpected status word.
    #[error("{op}: the card answered {sw}")]
    Status {
        /// What was under way.
        op: Op,
        /// The status word.
        sw: StatusWord,
    },
    /// The PIN value breaks its rules; nothing was sent.
    #[error(transparent)]
    PinFormat(#[from] PinFormatError),
    /// The PIN was wrong; the card counted one try.
    #[error("wrong {kind}: {remaining} tries left")]
    WrongPin {
        /// Which PIN.
        kind: PinKind,
        /// Tries left now; 0 means it is now blocked.
        remaining: u8,
    },
    /// The PIN is blocked; no VERIFY was sent (or the card refused it with `6984`).
    #[error("the {kind} is blocked")]
    PinBlocked {
        /// Which PIN.
        kind: PinKind,
    },
    /// Only one try is left and the person has not confirmed using it; nothing was sent.
    #[error("only one try of the {kind} is left; confirmation is needed before using it")]
    LastTryNotConfirmed {
        /// Which PIN.
        kind: PinKind,
    },
    /// The link failed while the VERIFY was in flight: whether the card counted a try is
    /// unknown. Ask the card again (retry query) before anything else; never resend.
    #[error("the outcome of verifying the {kind} is unknown ({source}); check the tries left again")]
    VerifyOutcomeUnknown {
        /// Which PIN.
        kind: PinKind,
        /// The transport's error.
        #[source]
        source: TransportError,
    },
    /// A PIN of the wrong kind was given for this operation; nothing was sent.
    #[error("this operation needs the {expected}, not the {given}")]
    PinKindMismatch {
        /// The PIN the operation needs.
        expected: PinKind,
        /// The PIN given.
        given: PinKind,
    },
    /// The card reports that no signature certificate was issued (e.g. a card of a child).
    #[error("this card has no signature certificate")]
    NoSignatureCertificate,
    /// Data read from the card does not have the expected format.
    #[error(transparent)]
    Format(#[from] FormatError),
    /// A response of the wrong shape (length) for the command.
    #[error("{op}: unexpected response ({what})")]
    UnexpectedResponse {
        /// What was under way.
        op: Op,
        /// What was wrong with it.
        what: &'static str,
    },
    /// A command could not be encoded for this transport.
    #[error("{op}: {source}")]
    Encode {
        /// What was under way.
        op: Op,
        /// Why.
        #[source]
        source: EncodeError,
    },
}

impl CardError {
    /// The status word behind the error, if the card answered one.
    pub fn status_word(&self) -> Option<StatusWord> {
        match self {
            CardError::Status { sw, .. } | CardError::NotMyNumberCard { sw, .. } => Some(*sw),
            CardError::WrongPin { remaining, .. } => Some(StatusWord::VerifyFailed {
                retries_left: *remaining,
            }),
            _ => None,
        }
    }

    /// Tries left, where the error knows them.
    pub fn tries_left(&self) -> Option<u8> {
        match self {
            CardError::WrongPin { remaining, .. } => Some(*remaining),
            CardError::PinBlocked { .. } => Some(0),
            CardError::LastTryNotConfirmed { .. } => Some(1),
            _ => None,
        }
    }

    /// Whether the card was removed (or the link to it lost) during the operation.
    pub fn is_card_removed(&self) -> bool {
        matches!(
            self,
            CardError::Transport {
                source: TransportError::CardRemoved | TransportError::CardReset,
                ..
            } | CardError::VerifyOutcomeUnknown {
                source: TransportError::CardRemoved | TransportError::CardReset,
                ..
            }
        )
    }
}
