//! COMPUTE DIGITAL SIGNATURE (`80 2A`): RSA PKCS#1 v1.5 over the data as given
//! (`shared/spec/card-protocol.md` §7).

use mynaid_apdu::{Command, Response, StatusWord};
use rsa::Pkcs1v15Sign;
use rsa::traits::PublicKeyParts;

use super::{Card, Outcome};
use crate::applet::{self, Ef, KeyRef};

/// Bytes of PKCS#1 v1.5 type-1 padding overhead (`00 01 FF… 00`, at least 8 `FF`).
const PADDING_OVERHEAD: usize = 11;

impl Card {
    /// P1 = `00` only (the data is padded as given; the hashing schemes `01`..`05` of §7.1
    /// are not emulated and answer `6A86`). P2 = `80` (current EF), `80|SFI`, or `00` (the
    /// application's default key). Data of 1..=k−11 bytes; Le must allow the k-byte
    /// signature. Signing does not clear verification.
    pub(super) fn compute_signature(&mut self, cmd: &Command) -> Outcome {
        if cmd.p1 != 0x00 {
            return Err(StatusWord::IncorrectP1P2);
        }
        let (df, index) = match cmd.p2 {
            0x00 => self.default_key()?,
            p2 => self.resolve_key(KeyRef::from_p2(p2).ok_or(StatusWord::IncorrectP1P2)?)?,
        };
        if !applet::permits(&self.state.applications[df].keys[index].usage, &self.session) {
            return Err(StatusWord::SecurityStatusNotSatisfied);
        }
        let key = &self.keys[df][index];
        let size = key.size();
        let data = cmd.data_bytes();
        let ne_fits = cmd
            .ne()
            .is_some_and(|ne| usize::try_from(ne).is_ok_and(|ne| ne >= size));
        if data.is_empty() || data.len() > size.saturating_sub(PADDING_OVERHEAD) || !ne_fits {
            return Err(StatusWord::WrongLength);
        }
        match key.sign(Pkcs1v15Sign::new_unprefixed(), data) {
            Ok(signature) => Ok(Response::new(signature, StatusWord::Ok)),
            Err(e) => {
                tracing::error!(card = %self.state.label, error = %e, "RSA signature failed");
                Err(StatusWord::NoPreciseDiagnosis)
            }
        }
    }

    /// The selected application's default key: `6A86` if it has none (or nothing is
    /// selected).
    fn default_key(&self) -> Result<(usize, usize), StatusWord> {
        let (df, app) = self.selected().ok_or(StatusWord::IncorrectP1P2)?;
        let fid = app.default_key.ok_or(StatusWord::IncorrectP1P2)?;
        match applet::find(app, fid) {
            Some(Ef::Key(index)) => Ok((df, index)),
            // Checked at load; kept total rather than trusted.
            _ => Err(StatusWord::IncorrectP1P2),
        }
    }

    /// The key EF a key reference names: `6986` without a current EF, `6A82` if the EF is
    /// missing or is not a key.
    fn resolve_key(&mut self, key: KeyRef) -> Result<(usize, usize), StatusWord> {
        match self.resolve(key)? {
            (df, _, Ef::Key(index)) => Ok((df, index)),
            _ => Err(StatusWord::FileNotFound),
        }
    }
}
