//! A faithful software My Number Card.
//!
//! Not a convenient stand-in: the emulator answers like the card does (status words, PIN
//! counters that persist across resets and restarts, access rules, file sizes and filler,
//! RSA-2048 PKCS#1 v1.5 signatures), because the reader's safety rules — never waste a PIN
//! try — can only be tested against something that punishes mistakes the way a card does.
//! The facts it follows are in `shared/spec/card-protocol.md` (§12 is the checklist).
//!
//! The card itself is sans-IO: [`Card::handle`] takes a command APDU and returns the response
//! APDU. Adapters carry it: an in-process [`transport`] for tests.

pub mod state;
