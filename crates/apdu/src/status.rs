//! Status words (ISO/IEC 7816-4 §5.6) as the My Number Card uses them
//! (`shared/spec/card-protocol.md` §5.2).

use std::fmt;

/// A status word. Converts to and from `u16` without loss: codes without a named variant
/// are kept in [`StatusWord::Other`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StatusWord {
    /// `9000`: success.
    Ok,
    /// `61xx`: more response bytes are available with GET RESPONSE.
    BytesRemaining(u8),
    /// `6282`: end of file reached before Ne bytes were read.
    EndOfFileReached,
    /// `6300`: verification failed, the counter has no limit.
    VerifyFailedNoCounter,
    /// `63Cx`: verification failed (or, for an empty VERIFY, the retry count); `x` tries left.
    VerifyFailed {
        /// Tries left (low nibble).
        retries_left: u8,
    },
    /// `6581`: memory failure.
    MemoryFailure,
    /// `6700`: wrong length.
    WrongLength,
    /// `6882`: secure messaging not supported.
    SecureMessagingNotSupported,
    /// `6981`: command incompatible with file structure.
    IncompatibleFileStructure,
    /// `6982`: security status not satisfied (a PIN must be verified first).
    SecurityStatusNotSatisfied,
    /// `6983`: authentication method blocked.
    AuthMethodBlocked,
    /// `6984`: reference data not usable; on the My Number Card, the PIN is blocked.
    ReferenceDataBlocked,
    /// `6985`: conditions of use not satisfied.
    ConditionsNotSatisfied,
    /// `6986`: command not allowed (no current EF).
    CommandNotAllowed,
    /// `6A80`: incorrect data field.
    IncorrectData,
    /// `6A81`: function not supported.
    FunctionNotSupported,
    /// `6A82`: file or application not found.
    FileNotFound,
    /// `6A83`: record not found.
    RecordNotFound,
    /// `6A86`: incorrect P1-P2.
    IncorrectP1P2,
    /// `6A88`: referenced data not found.
    DataNotFound,
    /// `6B00`: wrong parameters (offset at or beyond the end of the EF).
    WrongParameters,
    /// `6Cxx`: wrong Le; `xx` bytes are available.
    WrongLe(u8),
    /// `6D00`: instruction not supported.
    InsNotSupported,
    /// `6E00`: class not supported.
    ClaNotSupported,
    /// `6F00`: no precise diagnosis.
    NoPreciseDiagnosis,
    /// Any other code.
    Other(u16),
}

impl From<u16> for StatusWord {
    fn from(v: u16) -> Self {
        use StatusWord::*;
        let [sw1, sw2] = v.to_be_bytes();
        match (sw1, sw2) {
            (0x90, 0x00) => Ok,
            (0x61, n) => BytesRemaining(n),
            (0x62, 0x82) => EndOfFileReached,
            (0x63, 0x00) => VerifyFailedNoCounter,
            (0x63, x) if x & 0xF0 == 0xC0 => VerifyFailed { retries_left: x & 0x0F },
            (0x65, 0x81) => MemoryFailure,
            (0x67, 0x00) => WrongLength,
            (0x68, 0x82) => SecureMessagingNotSupported,
            (0x69, 0x81) => IncompatibleFileStructure,
            (0x69, 0x82) => SecurityStatusNotSatisfied,
            (0x69, 0x83) => AuthMethodBlocked,
            (0x69, 0x84) => ReferenceDataBlocked,
            (0x69, 0x85) => ConditionsNotSatisfied,
            (0x69, 0x86) => CommandNotAllowed,
            (0x6A, 0x80) => IncorrectData,
            (0x6A, 0x81) => FunctionNotSupported,
            (0x6A, 0x82) => FileNotFound,
            (0x6A, 0x83) => RecordNotFound,
            (0x6A, 0x86) => IncorrectP1P2,
            (0x6A, 0x88) => DataNotFound,
            (0x6B, 0x00) => WrongParameters,
            (0x6C, n) => WrongLe(n),
            (0x6D, 0x00) => InsNotSupported,
            (0x6E, 0x00) => ClaNotSupported,
            (0x6F, 0x00) => NoPreciseDiagnosis,
            _ => Other(v),
        }
    }
}

impl From<StatusWord> for u16 {
    fn from(sw: StatusWord) -> u16 {
        use StatusWord::*;
        match sw {
            Ok => 0x9000,
            BytesRemaining(n) => 0x6100 | u16::from(n),
            EndOfFileReached => 0x6282,
            VerifyFailedNoCounter => 0x6300,
            VerifyFailed { retries_left } => 0x63C0 | u16::from(retries_left & 0x0F),
            MemoryFailure => 0x6581,
            WrongLength => 0x6700,
            SecureMessagingNotSupported => 0x6882,
            IncompatibleFileStructure => 0x6981,
            SecurityStatusNotSatisfied => 0x6982,
            AuthMethodBlocked => 0x6983,
            ReferenceDataBlocked => 0x6984,
            ConditionsNotSatisfied => 0x6985,
            CommandNotAllowed => 0x6986,
            IncorrectData => 0x6A80,
            FunctionNotSupported => 0x6A81,
            FileNotFound => 0x6A82,
            RecordNotFound => 0x6A83,
            IncorrectP1P2 => 0x6A86,
            DataNotFound => 0x6A88,
            WrongParameters => 0x6B00,
            WrongLe(n) => 0x6C00 | u16::from(n),
            InsNotSupported => 0x6D00,
            ClaNotSupported => 0x6E00,
            NoPreciseDiagnosis => 0x6F00,
            Other(v) => v,
        }
    }
}

impl StatusWord {
    /// The two status bytes.
    pub fn to_bytes(self) -> [u8; 2] {
        u16::from(self).to_be_bytes()
    }
}

impl fmt::Display for StatusWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SW {:04X}", u16::from(*self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips() {
        for v in 0..=u16::MAX {
            assert_eq!(u16::from(StatusWord::from(v)), v, "{v:04X}");
        }
    }

    #[test]
    fn named() {
        assert_eq!(StatusWord::from(0x63C0), StatusWord::VerifyFailed { retries_left: 0 });
        assert_eq!(StatusWord::from(0x6984), StatusWord::ReferenceDataBlocked);
        assert_eq!(StatusWord::from(0x6A82), StatusWord::FileNotFound);
        assert_eq!(StatusWord::from(0x6312), StatusWord::Other(0x6312));
        assert_eq!(StatusWord::VerifyFailed { retries_left: 3 }.to_string(), "SW 63C3");
    }
}
