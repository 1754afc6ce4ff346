//! Command APDUs (ISO/IEC 7816-4 §5.1): building, encoding in short or extended form, and
//! parsing (the emulator's side).

use std::fmt;

use zeroize::Zeroizing;

/// The data field of a command.
///
/// `Sensitive` data (a PIN, a password) is zeroized when dropped and is never shown by
/// `Debug` or by [`Command::summary`], so an APDU log cannot leak it.
#[derive(Clone, PartialEq, Eq)]
pub enum Data {
    /// Data that may appear in logs and traces (file identifiers, AIDs, digests).
    Plain(Vec<u8>),
    /// Secret data: zeroized on drop, redacted everywhere.
    Sensitive(Zeroizing<Vec<u8>>),
}

impl Data {
    /// The bytes, whatever their kind.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Data::Plain(v) => v,
            Data::Sensitive(v) => v,
        }
    }

    /// Whether this data must stay out of logs.
    pub fn is_sensitive(&self) -> bool {
        matches!(self, Data::Sensitive(_))
    }

    fn len(&self) -> usize {
        self.as_bytes().len()
    }
}

impl fmt::Debug for Data {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Data::Plain(v) => write!(f, "Plain({})", crate::tlv::hex(v)),
            Data::Sensitive(v) => write!(f, "Sensitive(REDACTED, {} bytes)", v.len()),
        }
    }
}

/// Which length encodings the transport can carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LengthMode {
    /// Short APDUs only: at most 255 data bytes and Ne at most 256 (frames of ≤ 261 bytes).
    ShortOnly,
    /// Extended length may be used when a field does not fit the short form.
    ExtendedAllowed,
}

/// Why a command cannot be encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// The data field is longer than the chosen length mode allows.
    #[error("command data of {len} bytes does not fit {mode:?} (limit {limit})")]
    DataTooLong {
        /// Bytes of data.
        len: usize,
        /// The limit of the mode.
        limit: usize,
        /// The mode asked for.
        mode: LengthMode,
    },
    /// Ne is larger than the chosen mode allows, or zero.
    #[error("expected response length {ne} is not encodable in {mode:?}")]
    BadNe {
        /// The requested Ne.
        ne: u32,
        /// The mode asked for.
        mode: LengthMode,
    },
}

/// Why bytes are not a well-formed command APDU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CommandParseError {
    /// Fewer than the 4 header bytes.
    #[error("command APDU of {len} bytes is shorter than its 4-byte header")]
    TooShort {
        /// Length received.
        len: usize,
    },
    /// The body's length does not match any of the ISO 7816-4 cases.
    #[error("command APDU body of {body_len} bytes matches no ISO 7816-4 case")]
    BadLength {
        /// Length of everything after the header.
        body_len: usize,
    },
}

/// A command APDU.
#[derive(Clone, PartialEq, Eq)]
pub struct Command {
    /// Class byte.
    pub cla: u8,
    /// Instruction byte.
    pub ins: u8,
    /// Parameter 1.
    pub p1: u8,
    /// Parameter 2.
    pub p2: u8,
    data: Option<Data>,
    /// Ne, the maximum number of response data bytes expected (1..=65536); `None` for no Le.
    ne: Option<u32>,
    /// Whether a parsed command used the extended length form (always false for built ones).
    extended: bool,
}

impl Command {
    /// A case 1 command (header only).
    pub const fn new(cla: u8, ins: u8, p1: u8, p2: u8) -> Self {
        Command {
            cla,
            ins,
            p1,
            p2,
            data: None,
            ne: None,
            extended: false,
        }
    }

    /// Attaches plain command data. Empty data means "no data field".
    pub fn with_data(mut self, data: impl Into<Vec<u8>>) -> Self {
        let data = data.into();
        self.data = (!data.is_empty()).then_some(Data::Plain(data));
        self
    }

    /// Attaches secret command data (a PIN): zeroized on drop and redacted in logs.
    pub fn with_sensitive_data(mut self, data: Zeroizing<Vec<u8>>) -> Self {
        self.data = (!data.is_empty()).then_some(Data::Sensitive(data));
        self
    }

    /// Sets Ne, the number of response bytes expected: 1..=256 fits a short Le
    /// (256 is sent as `00`), up to 65536 needs extended length.
    pub fn with_ne(mut self, ne: u32) -> Self {
        self.ne = Some(ne);
        self
    }

    /// The data field, if any.
    pub fn data(&self) -> Option<&Data> {
        self.data.as_ref()
    }

    /// The data bytes (empty when there is no data field).
    pub fn data_bytes(&self) -> &[u8] {
        self.data.as_ref().map(Data::as_bytes).unwrap_or(&[])
    }

    /// Ne, if the command has an Le field.
    pub fn ne(&self) -> Option<u32> {
        self.ne
    }

    /// Whether the parsed command used the extended length form.
    pub fn is_extended(&self) -> bool {
        self.extended
    }

    /// Encodes the command. Short form is used whenever both fields fit; extended form only
    /// when one does not and `mode` allows it. Secret data stays zeroizing in the output.
    pub fn encode(&self, mode: LengthMode) -> Result<Zeroizing<Vec<u8>>, EncodeError> {
        let nc = self.data.as_ref().map_or(0, Data::len);
        if let Some(ne) = self.ne
            && (ne == 0 || ne > 65536)
        {
            return Err(EncodeError::BadNe { ne, mode });
        }
        let short_fits = nc <= 255 && self.ne.is_none_or(|ne| ne <= 256);
        let extended = !short_fits;
        if extended {
            if mode == LengthMode::ShortOnly {
                if nc > 255 {
                    return Err(EncodeError::DataTooLong {
                        len: nc,
                        limit: 255,
                        mode,
                    });
                }
                return Err(EncodeError::BadNe {
                    ne: self.ne.unwrap_or(0),
                    mode,
                });
            }
            if nc > 65535 {
                return Err(EncodeError::DataTooLong {
                    len: nc,
                    limit: 65535,
                    mode,
                });
            }
        }
        let mut out = Zeroizing::new(Vec::with_capacity(4 + 3 + nc + 3));
        out.extend_from_slice(&[self.cla, self.ins, self.p1, self.p2]);
        if extended {
            out.push(0);
            if nc > 0 {
                out.extend_from_slice(&(nc as u16).to_be_bytes());
                out.extend_from_slice(self.data_bytes());
            }
            if let Some(ne) = self.ne {
                // 65536 is encoded as 00 00.
                out.extend_from_slice(&((ne & 0xFFFF) as u16).to_be_bytes());
            }
        } else {
            if nc > 0 {
                out.push(nc as u8);
                out.extend_from_slice(self.data_bytes());
            }
            if let Some(ne) = self.ne {
                out.push((ne & 0xFF) as u8);
            }
        }
        Ok(out)
    }

    /// Parses a command APDU as a card receives it. The data is kept as
    /// [`Data::Sensitive`], because the parser cannot tell a PIN from anything else.
    pub fn parse(bytes: &[u8]) -> Result<Command, CommandParseError> {
        let [cla, ins, p1, p2, body @ ..] = bytes else {
            return Err(CommandParseError::TooShort { len: bytes.len() });
        };
        let mut cmd = Command::new(*cla, *ins, *p1, *p2);
        let bad = || CommandParseError::BadLength { body_len: body.len() };
        match body {
            [] => {}
            // Case 2S.
            [le] => cmd.ne = Some(if *le == 0 { 256 } else { u32::from(*le) }),
            // Extended forms start with a 00 byte and are at least 3 bytes long.
            [0, rest @ ..] if rest.len() >= 2 => {
                cmd.extended = true;
                let first = u32::from(u16::from_be_bytes([rest[0], rest[1]]));
                if rest.len() == 2 {
                    // Case 2E.
                    cmd.ne = Some(if first == 0 { 65536 } else { first });
                } else {
                    let nc = first as usize;
                    if nc == 0 {
                        return Err(bad());
                    }
                    let data = rest.get(2..2 + nc).ok_or_else(bad)?;
                    cmd.data = Some(Data::Sensitive(Zeroizing::new(data.to_vec())));
                    match &rest[2 + nc..] {
                        [] => {}
                        [a, b] => {
                            let le = u32::from(u16::from_be_bytes([*a, *b]));
                            cmd.ne = Some(if le == 0 { 65536 } else { le });
                        }
                        _ => return Err(bad()),
                    }
                }
            }
            [lc, rest @ ..] if *lc != 0 => {
                let nc = usize::from(*lc);
                let data = rest.get(..nc).ok_or_else(bad)?;
                cmd.data = Some(Data::Sensitive(Zeroizing::new(data.to_vec())));
                match &rest[nc..] {
                    [] => {}
                    [le] => cmd.ne = Some(if *le == 0 { 256 } else { u32::from(*le) }),
                    _ => return Err(bad()),
                }
            }
            _ => return Err(bad()),
        }
        Ok(cmd)
    }

    /// A one-line description for logs and traces: header, Lc and Ne, never the data of a
    /// sensitive command. Plain data is shown in hex.
    pub fn summary(&self) -> String {
        let mut s = format!("{:02X} {:02X} {:02X} {:02X}", self.cla, self.ins, self.p1, self.p2);
        match &self.data {
            Some(Data::Sensitive(d)) => s.push_str(&format!(" Lc={} <redacted>", d.len())),
            Some(Data::Plain(d)) => s.push_str(&format!(" Lc={} {}", d.len(), crate::tlv::hex(d))),
            None => {}
        }
        if let Some(ne) = self.ne {
            s.push_str(&format!(" Ne={ne}"));
        }
        s
    }
}

impl fmt::Debug for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Command({})", self.summary())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(c: &Command, m: LengthMode) -> Vec<u8> {
        c.encode(m).unwrap().to_vec()
    }

    #[test]
    fn cases_short() {
        let c1 = Command::new(0, 0x20, 0, 0x80);
        assert_eq!(enc(&c1, LengthMode::ShortOnly), [0, 0x20, 0, 0x80]);
        let c2 = Command::new(0, 0xB0, 0, 0).with_ne(256);
        assert_eq!(enc(&c2, LengthMode::ShortOnly), [0, 0xB0, 0, 0, 0]);
        let c3 = Command::new(0, 0xA4, 2, 0x0C).with_data([0, 2]);
        assert_eq!(enc(&c3, LengthMode::ShortOnly), [0, 0xA4, 2, 0x0C, 2, 0, 2]);
        let c4 = Command::new(0x80, 0x2A, 0, 0x80).with_data([7; 51]).with_ne(256);
        let e = enc(&c4, LengthMode::ExtendedAllowed);
        assert_eq!(e.len(), 4 + 1 + 51 + 1);
        assert_eq!(e[4], 51);
        assert_eq!(e[56], 0);
    }

    #[test]
    fn cases_extended() {
        let c2 = Command::new(0, 0xB0, 0x82, 0).with_ne(65536);
        assert_eq!(enc(&c2, LengthMode::ExtendedAllowed), [0, 0xB0, 0x82, 0, 0, 0, 0]);
        assert!(c2.encode(LengthMode::ShortOnly).is_err());
        let c2b = Command::new(0, 0xB0, 0, 0).with_ne(257);
        assert_eq!(enc(&c2b, LengthMode::ExtendedAllowed), [0, 0xB0, 0, 0, 0, 1, 1]);
        let c3 = Command::new(0, 0xDA, 0, 0).with_data(vec![1; 300]);
        let e = enc(&c3, LengthMode::ExtendedAllowed);
        assert_eq!(&e[4..7], &[0, 0x01, 0x2C]);
        assert_eq!(e.len(), 7 + 300);
        let c4 = c3.clone().with_ne(65536);
        let e = enc(&c4, LengthMode::ExtendedAllowed);
        assert_eq!(&e[e.len() - 2..], &[0, 0]);
        assert!(matches!(
            c3.encode(LengthMode::ShortOnly),
            Err(EncodeError::DataTooLong { len: 300, .. })
        ));
    }

    #[test]
    fn bad_ne() {
        assert!(
            Command::new(0, 0, 0, 0)
                .with_ne(0)
                .encode(LengthMode::ExtendedAllowed)
                .is_err()
        );
        assert!(
            Command::new(0, 0, 0, 0)
                .with_ne(65537)
                .encode(LengthMode::ExtendedAllowed)
                .is_err()
        );
    }

    #[test]
    fn parse_rejects_inconsistent_lengths() {
        for bad in [
            &[0u8, 1, 2][..],
            &[0, 0xA4, 2, 0x0C, 3, 0, 2],
            &[0, 0xA4, 2, 0x0C, 1, 0, 2, 3],
            &[0, 0, 0, 0, 0, 0],
        ] {
            assert!(Command::parse(bad).is_err(), "{bad:02X?}");
        }
        // 00 + Lc 0000 + data is not a valid extended form.
        assert!(Command::parse(&[0, 0, 0, 0, 0, 0, 0, 1]).is_err());
    }

    #[test]
    fn sensitive_data_is_redacted() {
        let c = Command::new(0, 0x20, 0, 0x91).with_sensitive_data(Zeroizing::new(b"1234".to_vec()));
        let shown = format!("{c:?} {}", c.summary());
        assert!(
            !shown.contains("31 32") && !shown.contains("3132") && !shown.contains("1234"),
            "{shown}"
        );
        assert!(shown.contains("<redacted>"));
        let parsed = Command::parse(&c.encode(LengthMode::ShortOnly).unwrap()).unwrap();
        assert!(!format!("{parsed:?}").contains("31"));
        assert_eq!(parsed.data_bytes(), b"1234");
    }
}
