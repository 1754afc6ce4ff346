//! The card: command APDU in, response APDU out.
//!
//! [`Card`] is sans-IO, like opcard-rs's `Card::handle` (`shared/design/style.md` §6): it
//! never touches a reader, and transports ([`crate::transport`], a vpcd adapter) only carry
//! bytes to [`Card::handle`]. It owns the persistent [`CardState`] (written back on every
//! PIN counter or PIN change, before the answer), the volatile [`Session`], the parsed keys,
//! and the [`Trace`].
//!
//! One submodule per command; each returns `Result<Response, StatusWord>` where the error is
//! the status word a card answers with (the status *is* the error, as in opcard-rs).
//! The behaviour follows `shared/spec/card-protocol.md` §12.

mod challenge;
mod change_reference;
mod read_binary;
mod select;
mod signature;
mod verify;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use mynaid_apdu::{Command, Response, StatusWord, ins};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use sha2::{Digest, Sha256};

use crate::applet::{self, Ef, KeyRef};
use crate::error::EmulatorError;
use crate::load::{self, AppKeys};
use crate::persist;
use crate::session::Session;
use crate::state::{Application, CardState};
use crate::trace::{Trace, TraceEntry, TraceEvent};

/// The contact ATR of most My Number Cards (`shared/spec/card-protocol.md` §1), announced
/// when the state file has none.
pub const CONTACT_ATR: [u8; 9] = [0x3B, 0xE0, 0x00, 0xFF, 0x81, 0x31, 0xFE, 0x45, 0x14];

/// The class byte of ISO/IEC 7816-4 interindustry commands.
const CLA_ISO: u8 = 0x00;
/// The class byte of the proprietary COMPUTE DIGITAL SIGNATURE.
const CLA_PROPRIETARY: u8 = 0x80;

/// What a command handler answers: a response, or just the status word of a refusal.
type Outcome = Result<Response, StatusWord>;

/// Where a card keeps its persistent state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Persistence {
    /// In memory only: counters are lost when the card is dropped.
    None,
    /// In this state file, rewritten atomically before every answer that changed it.
    File(PathBuf),
}

impl Persistence {
    /// The state file, if any.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Persistence::None => None,
            Persistence::File(p) => Some(p),
        }
    }
}

/// Trace details a command handler knows and the generic recorder does not.
#[derive(Debug, Default)]
struct Note {
    target: Option<String>,
    referenced_ef: Option<u16>,
}

/// An emulated My Number Card.
pub struct Card {
    state: CardState,
    /// Parsed private keys, parallel to `state.applications[i].keys`.
    keys: Vec<AppKeys>,
    persistence: Persistence,
    session: Session,
    trace: Trace,
    challenges: ChaCha20Rng,
    note: Note,
}

impl Card {
    /// A card with `state`. Checks the state and parses its keys.
    ///
    /// With [`Persistence::File`], the state is written to the file now, so the file is the
    /// card from here on ([`Card::open`] on it gives this card back).
    ///
    /// # Errors
    ///
    /// [`EmulatorError::Invalid`] if the state is inconsistent (see
    /// [`StateProblem`](crate::StateProblem)); [`EmulatorError::Write`] if the file cannot
    /// be written.
    pub fn from_state(state: CardState, persistence: Persistence) -> Result<Card, EmulatorError> {
        let card = Card::build(state, persistence)?;
        if let Persistence::File(path) = &card.persistence {
            persist::write(path, &card.state)?;
        }
        Ok(card)
    }

    /// Loads the card stored in the state file `path`; changes are written back to it.
    ///
    /// # Errors
    ///
    /// [`EmulatorError::Read`], [`EmulatorError::Parse`] or [`EmulatorError::Invalid`],
    /// each naming the file.
    pub fn open(path: &Path) -> Result<Card, EmulatorError> {
        let state = persist::read(path)?;
        Card::build(state, Persistence::File(path.to_owned()))
    }

    fn build(state: CardState, persistence: Persistence) -> Result<Card, EmulatorError> {
        let keys = load::load(&state).map_err(|problem| EmulatorError::Invalid {
            path: persistence.path().map(Path::to_owned),
            problem,
        })?;
        let challenges = challenge_rng(&state.label);
        Ok(Card {
            state,
            keys,
            persistence,
            session: Session::default(),
            trace: Trace::new(),
            challenges,
            note: Note::default(),
        })
    }

    /// Processes one command APDU and returns the response APDU (data ‖ SW1 SW2).
    ///
    /// Never panics: malformed input gets `6700` (wrong length) or `6E00` (class not
    /// supported), unknown instructions `6D00`.
    pub fn handle(&mut self, apdu: &[u8]) -> Vec<u8> {
        self.note = Note::default();
        let parsed = Command::parse(apdu);
        let outcome = match (apdu, &parsed) {
            ([cla, ins, _, _, ..], _) if !class_supported(*cla, *ins) => Err(StatusWord::ClaNotSupported),
            (_, Ok(cmd)) => self.dispatch(cmd),
            (_, Err(_)) => Err(StatusWord::WrongLength),
        };
        let response = outcome.unwrap_or_else(Response::status);
        self.record(apdu, parsed.as_ref().ok(), &response);
        response.encode()
    }

    fn dispatch(&mut self, cmd: &Command) -> Outcome {
        match cmd.ins {
            ins::SELECT => self.select(cmd),
            ins::READ_BINARY => self.read_binary(cmd),
            ins::VERIFY => self.verify(cmd),
            ins::CHANGE_REFERENCE_DATA => self.change_reference_data(cmd),
            ins::COMPUTE_SIGNATURE => self.compute_signature(cmd),
            ins::GET_CHALLENGE => self.get_challenge(cmd),
            _ => Err(StatusWord::InsNotSupported),
        }
    }

    /// Warm reset: forgets the selected application, the current EF and every verified
    /// PIN. Retry counters are persistent and stay as they are.
    pub fn reset(&mut self) {
        self.session.clear();
        self.trace.push(TraceEntry::event(TraceEvent::Reset));
        tracing::debug!(card = %self.state.label, "reset");
    }

    /// Power-off (the card left the field): same effect as [`Card::reset`].
    pub fn power_off(&mut self) {
        self.session.clear();
        self.trace.push(TraceEntry::event(TraceEvent::PowerOff));
        tracing::debug!(card = %self.state.label, "power off");
    }

    /// The ATR the card announces: the state's, or [`CONTACT_ATR`] if it has none.
    pub fn atr(&self) -> &[u8] {
        if self.state.atr.is_empty() {
            &CONTACT_ATR
        } else {
            &self.state.atr
        }
    }

    /// The persistent state as it is now (retry counters included).
    pub fn state(&self) -> &CardState {
        &self.state
    }

    /// The card's label (the test person's id).
    pub fn label(&self) -> &str {
        &self.state.label
    }

    /// Where the state is kept.
    pub fn persistence(&self) -> &Persistence {
        &self.persistence
    }

    /// A handle on the APDU trace that stays valid after the card is moved or dropped.
    pub fn trace(&self) -> Trace {
        self.trace.clone()
    }

    /// Makes GET CHALLENGE deterministic from here on (for reproducible tests). By default
    /// challenges come from a generator seeded by the operating system.
    pub fn seed_challenges(&mut self, seed: [u8; 32]) {
        self.challenges = ChaCha20Rng::from_seed(seed);
    }

    /// The selected application.
    fn selected(&self) -> Option<(usize, &Application)> {
        let df = self.session.df()?;
        self.state.applications.get(df).map(|app| (df, app))
    }

    /// Finds the EF with short identifier `sfi` in the selected application, noting it in
    /// the trace. `6A82` if there is no such EF (or no application).
    fn find_sfi(&mut self, sfi: u8) -> Result<(u16, Ef), StatusWord> {
        let (_, app) = self.selected().ok_or(StatusWord::FileNotFound)?;
        let (fid, ef) = applet::find_sfi(app, sfi).ok_or(StatusWord::FileNotFound)?;
        self.note.referenced_ef = Some(fid);
        Ok((fid, ef))
    }

    /// Resolves the key reference of VERIFY / COMPUTE DIGITAL SIGNATURE to an EF of the
    /// selected application: `6986` if P2 = `80` and there is no current EF, `6A82` if the
    /// SFI names nothing.
    fn resolve(&mut self, key: KeyRef) -> Result<(usize, u16, Ef), StatusWord> {
        let fid = match key {
            KeyRef::Current => self.session.ef().ok_or(StatusWord::CommandNotAllowed)?,
            KeyRef::Sfi(sfi) => self.find_sfi(sfi)?.0,
        };
        let (df, app) = self.selected().ok_or(StatusWord::CommandNotAllowed)?;
        let ef = applet::find(app, fid).ok_or(StatusWord::FileNotFound)?;
        Ok((df, fid, ef))
    }

    /// Writes the state back before the card answers. A failed write answers `6581`
    /// (memory failure), as a card whose EEPROM write failed would.
    fn persist(&self) -> Result<(), StatusWord> {
        let Some(path) = self.persistence.path() else {
            return Ok(());
        };
        persist::write(path, &self.state).map_err(|e| {
            tracing::error!(card = %self.state.label, error = %e, "PIN state not persisted");
            StatusWord::MemoryFailure
        })
    }

    fn record(&mut self, apdu: &[u8], cmd: Option<&Command>, response: &Response) {
        let header = |i: usize| apdu.get(i).copied().unwrap_or(0);
        let note = std::mem::take(&mut self.note);
        let entry = TraceEntry {
            event: TraceEvent::Apdu,
            cla: header(0),
            ins: header(1),
            p1: header(2),
            p2: header(3),
            lc: cmd.map_or(0, |c| c.data_bytes().len()),
            ne: cmd.and_then(Command::ne),
            extended: cmd.is_some_and(Command::is_extended),
            sw: u16::from(response.sw),
            command_len: apdu.len(),
            response_len: response.data.len(),
            target: note.target,
            referenced_ef: note.referenced_ef,
            selected_df: self.selected().map(|(_, app)| app.name.clone()),
            selected_ef: self.session.ef(),
        };
        // Header, lengths and status only: command data may be a PIN.
        tracing::debug!(
            card = %self.state.label,
            "{:02X} {:02X} {:02X} {:02X} Lc={} Ne={:?} -> {:04X} ({} bytes)",
            entry.cla, entry.ins, entry.p1, entry.p2, entry.lc, entry.ne, entry.sw, entry.response_len
        );
        self.trace.push(entry);
    }
}

impl fmt::Debug for Card {
    // No key material, no PIN references, no file contents.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Card")
            .field("label", &self.state.label)
            .field("selected_df", &self.selected().map(|(_, app)| &app.name))
            .field("selected_ef", &self.session.ef())
            .field("persistence", &self.persistence)
            .finish_non_exhaustive()
    }
}

/// Class rules (§5.1): interindustry commands use CLA `00`; the proprietary COMPUTE DIGITAL
/// SIGNATURE uses `80`, and each only with the other's instruction refused.
fn class_supported(cla: u8, ins: u8) -> bool {
    match cla {
        CLA_ISO => ins != ins::COMPUTE_SIGNATURE,
        CLA_PROPRIETARY => ins == ins::COMPUTE_SIGNATURE,
        _ => false,
    }
}

/// A GET CHALLENGE generator seeded from the operating system (through `rsa`'s use of
/// `getrandom`), mixed with the label and a process-wide counter so that even without OS
/// randomness two cards do not answer alike. Challenges are not security relevant here.
fn challenge_rng(label: &str) -> ChaCha20Rng {
    static CARDS: AtomicU64 = AtomicU64::new(0);
    let os: [u8; 32] = <[u8; 32] as rsa::Generate>::try_generate().unwrap_or_default();
    let mut hasher = Sha256::new();
    hasher.update(os);
    hasher.update(label.as_bytes());
    hasher.update(CARDS.fetch_add(1, Ordering::Relaxed).to_be_bytes());
    ChaCha20Rng::from_seed(hasher.finalize().into())
}
