//! The My Number Card's applications as operations over a pluggable transport.
//!
//! This crate knows the card: which applications and files it has, the rules of its three
//! PINs, how to ask for the tries left without spending one, how to read files of any
//! size in chunks the link can carry, how to have the card sign, and how to parse what it
//! returns. It does **no I/O**: every byte goes through a [`transport::CardTransport`]
//! (PC/SC, NFC, the emulator), and it has no clock, no randomness and no network.
//!
//! Rules it enforces, because a locked card costs the holder a trip to the city office:
//! * a PIN is checked against its rules before it is sent;
//! * the tries left are asked first (VERIFY without data) before every VERIFY, a blocked
//!   PIN is never presented, and the last try needs the caller's explicit confirmation;
//! * exactly one VERIFY per call, no automatic retry, and a transport failure during a
//!   VERIFY is reported as "outcome unknown" rather than guessed;
//! * the Individual Number (input-support AP EF 0001) has no code path at all.
//!
//! No error, `Debug` output or log line carries a PIN, a name, an address or a birth date.

pub mod error;
pub mod formats;
pub mod ids;
pub mod jpki;
pub mod pin;
pub mod routes;
pub mod session;
pub mod transport;

pub use error::{CardError, Op};
pub use pin::{Application, LastTry, Pin, PinFormatError, PinKind, RetryStatus};
pub use routes::{FourDigitPins, InputSupportPin, LastTries, SignatureReading, Step, UserAuthenticationReading};
pub use session::{Session, SigningKey, Verified};
