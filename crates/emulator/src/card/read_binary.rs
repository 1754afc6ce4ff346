//! READ BINARY (`00 B0`): transparent EFs, by current EF or short EF identifier
//! (`shared/spec/card-protocol.md` §5.1, §6).

use mynaid_apdu::{Command, Response, StatusWord};

use super::{Card, Outcome};
use crate::applet::{self, Ef};

/// P1 bit 8: P1 carries a short EF identifier and P2 the offset.
const SFI_FLAG: u8 = 0x80;
/// P1 bits 6–7 must be zero in the SFI form.
const SFI_RESERVED: u8 = 0x60;

impl Card {
    /// Returns min(Ne, size − offset) bytes with `9000` (JICSAP 6.4.1 (4): an Le larger than
    /// what is left returns what is left); `6B00` at or after the end. The bytes are the
    /// physical content, filler included.
    pub(super) fn read_binary(&mut self, cmd: &Command) -> Outcome {
        if cmd.data().is_some() {
            return Err(StatusWord::WrongLength);
        }
        let ne = cmd.ne().ok_or(StatusWord::WrongLength)?;
        let (fid, offset) = if cmd.p1 & SFI_FLAG != 0 {
            if cmd.p1 & SFI_RESERVED != 0 {
                return Err(StatusWord::IncorrectP1P2);
            }
            let (fid, _) = self.find_sfi(cmd.p1 & 0x1F)?;
            // ISO/IEC 7816-4 §7.2.2: reading by SFI makes that EF the current one.
            self.session.set_ef(fid);
            (fid, usize::from(cmd.p2))
        } else {
            let fid = self.session.ef().ok_or(StatusWord::CommandNotAllowed)?;
            (fid, usize::from(u16::from_be_bytes([cmd.p1, cmd.p2])))
        };
        let (_, app) = self.selected().ok_or(StatusWord::CommandNotAllowed)?;
        let Some(Ef::File(index)) = applet::find(app, fid) else {
            // A key or PIN EF has no binary content.
            return Err(StatusWord::IncompatibleFileStructure);
        };
        let file = &app.files[index];
        if !applet::permits(&file.read, &self.session) {
            return Err(StatusWord::SecurityStatusNotSatisfied);
        }
        let rest = file
            .content
            .get(offset..)
            .filter(|rest| !rest.is_empty())
            .ok_or(StatusWord::WrongParameters)?;
        let take = rest.len().min(usize::try_from(ne).unwrap_or(usize::MAX));
        Ok(Response::new(rest[..take].to_vec(), StatusWord::Ok))
    }
}
