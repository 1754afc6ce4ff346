//! VERIFY (`00 20`): PIN presentation and the retry query
//! (`shared/spec/card-protocol.md` §4.2).
//!
//! The rules a reader must never get wrong are all here: an empty VERIFY only reports the
//! counter; a wrong PIN costs one try and is persisted before the answer; the attempt that
//! exhausts the counter answers `63C0` and every later one `6984`; a right PIN restores the
//! counter. The card does not check the PIN's format: a malformed value is just wrong.

use mynaid_apdu::{Command, Response, StatusWord};

use super::{Card, Outcome};
use crate::applet::{Ef, KeyRef};
use crate::state::pin_reference;

/// The longest PIN the card accepts (the signature password's 16 characters).
pub(super) const MAX_PIN_LEN: usize = 16;

impl Card {
    pub(super) fn verify(&mut self, cmd: &Command) -> Outcome {
        if cmd.p1 != 0x00 {
            return Err(StatusWord::IncorrectP1P2);
        }
        let key = KeyRef::from_p2(cmd.p2).ok_or(StatusWord::IncorrectP1P2)?;
        // An Le, or an Lc of 0 (which parses as an Le), is not a VERIFY.
        if cmd.ne().is_some() || cmd.data_bytes().len() > MAX_PIN_LEN {
            return Err(StatusWord::WrongLength);
        }
        let (df, fid, index) = self.resolve_pin(key)?;
        let verified = self.session.is_verified(fid);
        let pin = &mut self.state.applications[df].pins[index];
        let presented = cmd.data_bytes();
        if presented.is_empty() {
            // The retry query: consumes nothing. Once verified, the card reports no count.
            return if verified {
                Ok(Response::status(StatusWord::Ok))
            } else {
                Err(StatusWord::VerifyFailed {
                    retries_left: pin.remaining,
                })
            };
        }
        if pin.remaining == 0 {
            return Err(StatusWord::ReferenceDataBlocked);
        }
        let correct = constant_time_eq(&pin_reference(&pin.salt, presented), &pin.reference);
        let before = pin.remaining;
        pin.remaining = if correct { pin.max_tries } else { before - 1 };
        let remaining = pin.remaining;
        self.session.set_verified(fid, false);
        if remaining != before {
            self.persist()?;
        }
        if correct {
            self.session.set_verified(fid, true);
            Ok(Response::status(StatusWord::Ok))
        } else {
            Err(StatusWord::VerifyFailed {
                retries_left: remaining,
            })
        }
    }

    /// The PIN EF a key reference names: `6986` without a current EF, `6A82` if the EF is
    /// missing or is not a PIN.
    pub(super) fn resolve_pin(&mut self, key: KeyRef) -> Result<(usize, u16, usize), StatusWord> {
        match self.resolve(key)? {
            (df, fid, Ef::Pin(index)) => Ok((df, fid, index)),
            _ => Err(StatusWord::FileNotFound),
        }
    }
}

/// Compares two digests without an early exit.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && std::hint::black_box(a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y))) == 0
}

#[cfg(test)]
mod tests {
    use super::constant_time_eq;

    #[test]
    fn compares_whole_digests() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(constant_time_eq(b"", b""));
    }
}
