//! What a reading device (the PC reader app, the phone app) and the mynaid server say to
//! each other, and the names of the domain both sides share.
//!
//! * [`names`]: route, purpose, pattern, reader status and language, each an enum with one
//!   spelling used on the wire, in configuration, in the database and in logs;
//! * [`Evidence`]: the evidence document a reading device sends after reading the card
//!   (`mynaid-evidence/2`, `docs/evidence.md`);
//! * [`Binding`]: the value the card signs, which ties a reading to one session of one
//!   service;
//! * [`api`]: the messages of the reading-device API (`crates/server/openapi.json`).
//!
//! No I/O and no cryptography beyond SHA-256: the reading device links this crate, the
//! verifier's crypto stays on the server (`mynaid-evidence`).

pub mod api;
mod binding;
mod evidence;
pub mod names;

pub use binding::{Binding, DOMAIN};
pub use evidence::{
    Body, DocumentError, Evidence, FORMAT, MAX_CERTIFICATE_BYTES, MAX_DOCUMENT_BYTES, MAX_RECORD_BYTES, ReaderApp,
};
pub use names::{
    ACR_JPKI_SIGNATURE, ACR_JPKI_USER_AUTHENTICATION, Device, Lang, Pattern, PinName, Purpose, ReaderStatus, Route,
    Text, UnknownName,
};

#[doc(hidden)]
pub use serde as __serde;
