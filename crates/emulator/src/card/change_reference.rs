//! CHANGE REFERENCE DATA (`00 24 01 80`): a new PIN, after VERIFY
//! (`shared/spec/card-protocol.md` §4.6).

use mynaid_apdu::{Command, Response, StatusWord};
use sha2::{Digest, Sha256};

use super::verify::MAX_PIN_LEN;
use super::{Card, Outcome};
use crate::applet::KeyRef;
use crate::state::pin_reference;

impl Card {
    /// P1 = `01` (new reference data only), P2 = `80` (the current EF, a PIN EF that was
    /// verified since the application was selected). Restores the full counter.
    pub(super) fn change_reference_data(&mut self, cmd: &Command) -> Outcome {
        if (cmd.p1, cmd.p2) != (0x01, 0x80) {
            return Err(StatusWord::IncorrectP1P2);
        }
        let new = cmd.data_bytes();
        if cmd.ne().is_some() || new.is_empty() || new.len() > MAX_PIN_LEN {
            return Err(StatusWord::WrongLength);
        }
        let (df, fid, index) = self.resolve_pin(KeyRef::Current)?;
        if !self.session.is_verified(fid) {
            return Err(StatusWord::SecurityStatusNotSatisfied);
        }
        let pin = &mut self.state.applications[df].pins[index];
        // A fresh salt, derived so that the state file stays reproducible.
        pin.salt = Sha256::new()
            .chain_update(b"mynaid-emulator salt")
            .chain_update(&pin.salt)
            .finalize()
            .to_vec();
        pin.reference = pin_reference(&pin.salt, new);
        pin.remaining = pin.max_tries;
        self.persist()?;
        Ok(Response::status(StatusWord::Ok))
    }
}
