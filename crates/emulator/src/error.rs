//! Why a card cannot be loaded or saved.
//!
//! Card *commands* never fail with a Rust error: like a real card, the emulator answers every
//! APDU with a status word. These errors are for the operator who points the emulator at a
//! state file, so each one names the file and says exactly what is wrong with it.

use std::io;
use std::path::{Path, PathBuf};

use crate::state::FORMAT;

/// Why a card state could not be loaded, or its file written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmulatorError {
    /// The state file could not be read.
    #[error("cannot read card state file {}: {error}", .path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        error: io::Error,
    },
    /// The state file is not JSON of the expected shape.
    #[error("card state file {} is not a valid {FORMAT} document: {error}", .path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// Where the JSON went wrong (line and column).
        error: serde_json::Error,
    },
    /// The state parsed but describes a card the emulator cannot run.
    #[error("{}: {problem}", origin(.path.as_deref()))]
    Invalid {
        /// The file, if the state came from one.
        path: Option<PathBuf>,
        /// What is wrong.
        problem: StateProblem,
    },
    /// The state file could not be written (a PIN counter change could not be persisted).
    #[error("cannot write card state file {}: {error}", .path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        error: io::Error,
    },
}

fn origin(path: Option<&Path>) -> String {
    match path {
        Some(p) => format!("card state file {}", p.display()),
        None => "card state".to_owned(),
    }
}

/// A structural problem in a [`CardState`](crate::state::CardState).
///
/// Applications are named by their `name`, EFs by their 4-digit hex identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StateProblem {
    /// The `format` tag is not [`FORMAT`].
    #[error("format is {found:?}, expected {FORMAT:?}")]
    WrongFormat {
        /// The tag found.
        found: String,
    },
    /// An AID is not 5..=16 bytes long (ISO/IEC 7816-4 §8.2.1.2).
    #[error("application {app:?}: AID of {len} bytes (must be 5 to 16)")]
    BadAid {
        /// Application name.
        app: String,
        /// AID length.
        len: usize,
    },
    /// Two applications share an AID, so SELECT could not choose.
    #[error("applications {first:?} and {second:?} have the same AID")]
    DuplicateAid {
        /// The first application.
        first: String,
        /// The second one.
        second: String,
    },
    /// An EF identifier outside `0001`..=`001E`: every EF on this card has a short EF
    /// identifier (`shared/spec/card-protocol.md` §3).
    #[error("application {app:?}: EF {fid:04X} is outside 0001..001E (every EF needs a short identifier)")]
    FidOutOfRange {
        /// Application name.
        app: String,
        /// The identifier.
        fid: u16,
    },
    /// Two EFs (file, key or PIN) of one application share an identifier.
    #[error("application {app:?}: EF {fid:04X} is defined twice")]
    DuplicateFid {
        /// Application name.
        app: String,
        /// The identifier.
        fid: u16,
    },
    /// A key's PKCS#8 document is not an RSA private key.
    #[error("application {app:?}: key EF {fid:04X} is not a PKCS#8 RSA private key: {error}")]
    BadKey {
        /// Application name.
        app: String,
        /// Key EF.
        fid: u16,
        /// The decoder's complaint.
        error: rsa::pkcs8::Error,
    },
    /// A PIN record is inconsistent.
    #[error("application {app:?}: PIN EF {fid:04X}: {what}")]
    BadPin {
        /// Application name.
        app: String,
        /// PIN EF.
        fid: u16,
        /// What is wrong.
        what: &'static str,
    },
    /// An access rule names a PIN EF that the application does not have.
    #[error("application {app:?}: the access rule of EF {fid:04X} names PIN EF {pin:04X}, which does not exist")]
    UnknownPin {
        /// Application name.
        app: String,
        /// The EF whose rule is wrong.
        fid: u16,
        /// The missing PIN EF.
        pin: u16,
    },
    /// `default_key` names a key EF that the application does not have.
    #[error("application {app:?}: default_key {fid:04X} is not one of its keys")]
    UnknownDefaultKey {
        /// Application name.
        app: String,
        /// The missing key EF.
        fid: u16,
    },
}
