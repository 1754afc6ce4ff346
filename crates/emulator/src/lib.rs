//! A faithful software My Number Card.
//!
//! Not a convenient stand-in: the emulator answers like the card does (status words, PIN
//! counters that persist across resets and restarts, access rules, file sizes and filler,
//! RSA-2048 PKCS#1 v1.5 signatures), because the reader's safety rules — never waste a PIN
//! try — can only be tested against something that punishes mistakes the way a card does.
//! The facts it follows are in `shared/spec/card-protocol.md` (§12 is the checklist).
//!
//! The card itself is sans-IO: [`Card::handle`] takes a command APDU and returns the response
//! APDU. Adapters carry it: an in-process [`transport`] for tests (with fault injection), and
//! [`vpcd`], which plugs the card into pcscd's virtual reader so that any PC/SC client sees it.
//! Every exchange is recorded in a [`Trace`] (headers and status words, never command data).
//!
//! ```
//! use mynaid_emulator::state::{Access, Application, CardState, FORMAT, File};
//! use mynaid_emulator::{Card, Persistence};
//!
//! let state = CardState {
//!     format: FORMAT.to_owned(),
//!     label: "example".to_owned(),
//!     atr: Vec::new(),
//!     applications: vec![Application {
//!         name: "jpki".to_owned(),
//!         aid: vec![0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01],
//!         files: vec![File { fid: 0x0008, content: vec![0x8F, 0x8F, 0x00], read: Access::Always }],
//!         keys: Vec::new(),
//!         pins: Vec::new(),
//!         default_key: None,
//!     }],
//! };
//! let mut card = Card::from_state(state, Persistence::None)?;
//! let trace = card.trace();
//! let select = [0x00, 0xA4, 0x04, 0x0C, 0x0A, 0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01];
//! assert_eq!(card.handle(&select), [0x90, 0x00]);
//! // READ BINARY of short EF 8 with an Le larger than the file: what is left, and 9000.
//! assert_eq!(card.handle(&[0x00, 0xB0, 0x88, 0x00, 0x10]), [0x8F, 0x8F, 0x00, 0x90, 0x00]);
//! assert_eq!(card.handle(&[0x00, 0xB0, 0x88, 0x03, 0x01]), [0x6B, 0x00]);
//! assert_eq!(trace.apdu_count(), 3);
//! # Ok::<(), mynaid_emulator::EmulatorError>(())
//! ```
//!
//! What the card holds is data ([`state::CardState`], one JSON file per card, produced by
//! the test-PKI generator); how it behaves is code. It does not emulate secure messaging,
//! the MF, GET DATA, READ RECORD or the hashing signature schemes (P1 `01`–`05`).

mod applet;
mod card;
mod error;
mod load;
pub mod nfc;
mod persist;
mod session;
pub mod state;
mod trace;
pub mod transport;
pub mod vpcd;

pub use card::{CONTACT_ATR, Card, Persistence};
pub use error::{EmulatorError, StateProblem};
pub use trace::{Trace, TraceEntry, TraceEvent};
