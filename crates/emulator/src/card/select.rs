//! SELECT (`00 A4`): applications by DF name, EFs by file identifier
//! (`shared/spec/card-protocol.md` §2, §3, §5.1).

use mynaid_apdu::{Command, Response, StatusWord};

use super::{Card, Outcome};
use crate::applet;

/// P1: select by DF name.
const BY_DF_NAME: u8 = 0x04;
/// P1: select an EF under the current DF by file identifier.
const BY_FID: u8 = 0x02;
/// P1: select the MF (or by FID from the MF).
const MF: u8 = 0x00;
/// P2: no response data.
const NO_FCI: u8 = 0x0C;
/// P2: return FCI. Tolerated; the card's FCI is unknown (§13.9), so none is returned.
const FCI: u8 = 0x00;

impl Card {
    pub(super) fn select(&mut self, cmd: &Command) -> Outcome {
        match (cmd.p1, cmd.p2) {
            (BY_DF_NAME, NO_FCI | FCI) => self.select_application(cmd.data_bytes()),
            (BY_FID, NO_FCI | FCI) => self.select_ef(cmd.data_bytes()),
            (MF, _) => {
                // The card answers 6A86 to a MF selection after reset (§3.4).
                self.note.target = Some("MF".to_owned());
                Err(StatusWord::IncorrectP1P2)
            }
            _ => Err(StatusWord::IncorrectP1P2),
        }
    }

    /// Exact DF-name match only: the reader must send the full AID (§5.1). Selecting an
    /// application, even the selected one, clears its security state and current EF;
    /// a failed selection changes nothing.
    fn select_application(&mut self, aid: &[u8]) -> Outcome {
        if aid.is_empty() {
            return Err(StatusWord::WrongLength);
        }
        let Some(index) = self.state.applications.iter().position(|a| a.aid == aid) else {
            self.note.target = Some(format!("AID {}", hex::encode_upper(aid)));
            return Err(StatusWord::FileNotFound);
        };
        self.note.target = Some(self.state.applications[index].name.clone());
        self.session.select_df(index);
        Ok(Response::status(StatusWord::Ok))
    }

    /// Any file, key or PIN EF of the selected application becomes the current EF.
    fn select_ef(&mut self, data: &[u8]) -> Outcome {
        let &[hi, lo] = data else {
            return Err(StatusWord::WrongLength);
        };
        let fid = u16::from_be_bytes([hi, lo]);
        self.note.target = Some(format!("EF {fid:04X}"));
        let (_, app) = self.selected().ok_or(StatusWord::FileNotFound)?;
        applet::find(app, fid).ok_or(StatusWord::FileNotFound)?;
        self.note.referenced_ef = Some(fid);
        self.session.set_ef(fid);
        Ok(Response::status(StatusWord::Ok))
    }
}
