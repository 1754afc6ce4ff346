//! Finding an application's EFs and applying its access rules.
//!
//! An application in the state file keeps its transparent files, keys and PINs in three
//! lists; commands address all of them the same way (by FID after SELECT, or by short EF
//! identifier), so this module gives one lookup over the three and one access check.

use crate::session::Session;
use crate::state::{Access, Application};

/// What kind of EF an identifier names, with its index in the application's list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ef {
    /// A transparent EF: index into [`Application::files`].
    File(usize),
    /// A key EF: index into [`Application::keys`].
    Key(usize),
    /// A PIN EF: index into [`Application::pins`].
    Pin(usize),
}

/// The EF `fid` of `app`, if it exists.
pub(crate) fn find(app: &Application, fid: u16) -> Option<Ef> {
    app.files
        .iter()
        .position(|f| f.fid == fid)
        .map(Ef::File)
        .or_else(|| app.keys.iter().position(|k| k.fid == fid).map(Ef::Key))
        .or_else(|| app.pins.iter().position(|p| p.fid == fid).map(Ef::Pin))
}

/// The EF of `app` whose short identifier is `sfi` (its FID's low five bits), with its FID.
///
/// Every FID is in `0001`..=`001E` (checked at load), so the FID equals the SFI.
pub(crate) fn find_sfi(app: &Application, sfi: u8) -> Option<(u16, Ef)> {
    let fid = u16::from(sfi);
    find(app, fid).map(|ef| (fid, ef))
}

/// Whether `rule` is met in `session`.
pub(crate) fn permits(rule: &Access, session: &Session) -> bool {
    match rule {
        Access::Always => true,
        Access::AnyPin(pins) => pins.iter().any(|&p| session.is_verified(p)),
        Access::Never => false,
    }
}

/// How P2 of VERIFY and COMPUTE DIGITAL SIGNATURE names its key (ISO/IEC 7816-4 §7.5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyRef {
    /// `80`: the current EF.
    Current,
    /// `80|SFI`: the EF with this short identifier in the selected application.
    Sfi(u8),
}

impl KeyRef {
    /// Decodes P2 = `80` or `81`..=`9E`.
    pub(crate) fn from_p2(p2: u8) -> Option<KeyRef> {
        match p2 {
            0x80 => Some(KeyRef::Current),
            0x81..=0x9E => Some(KeyRef::Sfi(p2 & 0x1F)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_reference_p2() {
        assert_eq!(KeyRef::from_p2(0x80), Some(KeyRef::Current));
        assert_eq!(KeyRef::from_p2(0x9B), Some(KeyRef::Sfi(0x1B)));
        for p2 in [0x00, 0x1B, 0x7F, 0x9F, 0xA0, 0xFF] {
            assert_eq!(KeyRef::from_p2(p2), None, "{p2:02X}");
        }
    }

    #[test]
    fn any_pin_needs_one_of_its_pins() {
        let mut s = Session::default();
        s.select_df(0);
        let rule = Access::AnyPin(vec![0x0011, 0x0014]);
        assert!(!permits(&rule, &s));
        s.set_verified(0x0015, true);
        assert!(!permits(&rule, &s));
        s.set_verified(0x0014, true);
        assert!(permits(&rule, &s));
        assert!(permits(&Access::Always, &s));
        assert!(!permits(&Access::Never, &s));
    }
}
