//! ISO/IEC 7816-4 building blocks shared by the mynaid card reader and the card emulator.
//!
//! This crate knows how APDUs and BER-TLV objects are laid out on the wire and nothing
//! else: it performs no I/O, knows no card application and holds no policy. Both sides of
//! the conversation (the reader in `mynaid-card` and the card in `mynaid-emulator`) encode
//! and decode through the same code here, so they cannot drift apart.
//!
//! * [`Command`] / [`Response`]: short and extended length, with command data that can be
//!   marked [`Data::Sensitive`] so that PIN bytes are zeroized on drop and never shown by
//!   `Debug` or [`Command::summary`].
//! * [`StatusWord`]: a lossless `u16` mapping with named variants for the codes the My
//!   Number Card uses (`63Cx` carries the tries left).
//! * [`tlv`]: BER-TLV parsing with errors that name the offset, and minimal encoding.

mod command;
mod response;
mod status;
pub mod tlv;

pub use command::{Command, CommandParseError, Data, EncodeError, LengthMode};
pub use response::{Response, ResponseParseError};
pub use status::StatusWord;

/// Instruction bytes used by the My Number Card applications.
pub mod ins {
    /// VERIFY (ISO 7816-4 7.5.6): present a PIN, or query its retry counter with no data.
    pub const VERIFY: u8 = 0x20;
    /// CHANGE REFERENCE DATA.
    pub const CHANGE_REFERENCE_DATA: u8 = 0x24;
    /// COMPUTE DIGITAL SIGNATURE (proprietary class `80`).
    pub const COMPUTE_SIGNATURE: u8 = 0x2A;
    /// GET CHALLENGE.
    pub const GET_CHALLENGE: u8 = 0x84;
    /// SELECT.
    pub const SELECT: u8 = 0xA4;
    /// READ BINARY.
    pub const READ_BINARY: u8 = 0xB0;
    /// GET RESPONSE.
    pub const GET_RESPONSE: u8 = 0xC0;
}
