//! GET CHALLENGE (`00 84 00 00 Le`): random bytes (`shared/spec/card-protocol.md` §5.1).

use mynaid_apdu::{Command, Response, StatusWord};
use rand_core::Rng;

use super::{Card, Outcome};

impl Card {
    /// Le random bytes for a short Le of 1..=256; an extended Le is refused with `6985`.
    pub(super) fn get_challenge(&mut self, cmd: &Command) -> Outcome {
        if (cmd.p1, cmd.p2) != (0x00, 0x00) {
            return Err(StatusWord::IncorrectP1P2);
        }
        if cmd.data().is_some() {
            return Err(StatusWord::WrongLength);
        }
        if cmd.is_extended() {
            return Err(StatusWord::ConditionsNotSatisfied);
        }
        let ne = cmd.ne().ok_or(StatusWord::WrongLength)?;
        let mut challenge = vec![0; usize::try_from(ne).unwrap_or(0)];
        self.challenges.fill_bytes(&mut challenge);
        Ok(Response::new(challenge, StatusWord::Ok))
    }
}
