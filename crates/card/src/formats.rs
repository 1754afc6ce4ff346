//! Parsers for the data the card holds (`shared/spec/card-protocol.md` §8).
//!
//! Every parser takes bytes as read from the card and either returns a typed value or a
//! [`FormatError`] that says which format, at which offset, and what was wrong. Personal
//! data comes back wrapped in [`Personal`], whose `Debug` does not show it.

use std::fmt;

use mynaid_apdu::tlv::{Tag, TlvError, TlvErrorKind};

mod basic_info;
mod cv;
mod integrity;
mod san;
mod token;

pub use basic_info::BasicInfo;
pub use cv::{CvCertificate, KeyId, RsaPublicKey, SignedKey};
pub use integrity::IntegrityRecord;
pub use san::{SanAttributes, SignatureCertificate};
pub use token::{CertAvailability, TokenInfo};

/// The SHA-256 `DigestInfo` prefix (RFC 8017 §9.2 note 1): prefix ‖ 32-byte hash.
pub const SHA256_DIGEST_INFO_PREFIX: [u8; 19] = [
    0x30, 0x31, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20,
];

/// The 51-byte DER `DigestInfo` of a SHA-256 value: what the card's PKCS#1 v1.5 padding
/// wraps, so that the result verifies as an ordinary `sha256WithRSAEncryption` signature.
pub fn sha256_digest_info(hash: &[u8; 32]) -> [u8; 51] {
    let mut out = [0u8; 51];
    out[..19].copy_from_slice(&SHA256_DIGEST_INFO_PREFIX);
    out[19..].copy_from_slice(hash);
    out
}

/// Which format a parser was reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Format {
    /// Input-support AP EF 0002 (基本4情報).
    BasicInfo,
    /// Input-support AP EF 0003.
    IntegrityRecord,
    /// A card-verifiable certificate (input-support AP EF 0004).
    CvCertificate,
    /// Input-support AP EF 0007.
    SignedKey,
    /// JPKI AP EF 0006.
    TokenInfo,
    /// JPKI AP EF 0008.
    CertAvailability,
    /// An X.509 certificate.
    Certificate,
    /// The SubjectAltName of the signature certificate.
    SubjectAltName,
}

/// A field of a record, named by what it means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Field {
    /// The offset table (DF21).
    OffsetTable,
    /// 氏名.
    Name,
    /// 住所.
    Address,
    /// 生年月日.
    BirthDate,
    /// 性別.
    Sex,
    /// A substitute-character flag string.
    SubstituteFlags,
    /// A digest.
    Digest,
    /// A signature.
    Signature,
    /// A public key.
    PublicKey,
    /// A key identifier.
    KeyId,
    /// The certificate body.
    Body,
    /// The token label.
    Label,
}

/// What was wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FormatErrorKind {
    /// The BER-TLV structure is broken.
    Tlv(TlvErrorKind),
    /// A required field is missing.
    Missing(Field),
    /// A field appears twice.
    Duplicate(Field),
    /// The outer tag is not the one this format has.
    WrongTag {
        /// The tag of this format.
        expected: Tag,
        /// The tag found.
        found: Tag,
    },
    /// A field has the wrong length.
    WrongLength {
        /// Which field.
        field: Field,
        /// Bytes expected.
        expected: usize,
        /// Bytes found.
        actual: usize,
    },
    /// The offset table does not point at the field it names.
    OffsetMismatch {
        /// Which field.
        field: Field,
        /// The offset the table gives.
        table: usize,
    },
    /// Text that is not UTF-8.
    NotUtf8(Field),
    /// A date that is not a valid `YYYYMMDD` (or `EYYYYMMDD`) date.
    InvalidDate,
    /// A sex code outside the known set.
    InvalidSex,
    /// Substitute-character flags that are not one `0`/`1` per character.
    InvalidFlags(Field),
    /// Bytes that are neither a known field nor filler.
    UnexpectedData,
    /// The DER structure of a certificate is broken.
    Der,
    /// The certificate has no SubjectAltName extension.
    NoSubjectAltName,
    /// An RSA key that is not 2048 bits with exponent 65537.
    UnsupportedKey,
}

/// A parse error: which format, where, and what.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("malformed {format:?} at offset {offset}: {kind:?}")]
pub struct FormatError {
    /// The format being parsed.
    pub format: Format,
    /// Offset of the fault from the start of the data.
    pub offset: usize,
    /// What was wrong.
    pub kind: FormatErrorKind,
}

impl FormatError {
    pub(crate) fn new(format: Format, offset: usize, kind: FormatErrorKind) -> Self {
        FormatError { format, offset, kind }
    }

    pub(crate) fn tlv(format: Format, e: TlvError) -> Self {
        match e.kind {
            TlvErrorKind::UnexpectedTag { expected, found } => {
                FormatError::new(format, e.offset, FormatErrorKind::WrongTag { expected, found })
            }
            kind => FormatError::new(format, e.offset, FormatErrorKind::Tlv(kind)),
        }
    }
}

/// Personal data (a name, an address, a birth date): `Debug` prints `REDACTED`, so the
/// value cannot slip into a log line or an error by accident. Use [`Personal::expose`] where
/// it is meant to be shown or verified.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Personal<T>(T);

impl<T> Personal<T> {
    /// Wraps a value.
    pub fn new(value: T) -> Self {
        Personal(value)
    }

    /// The value, for the places that are meant to use it.
    pub fn expose(&self) -> &T {
        &self.0
    }

    /// Unwraps the value.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> fmt::Debug for Personal<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("REDACTED")
    }
}

/// A Gregorian calendar date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    /// Year.
    pub year: u16,
    /// Month, 1-12.
    pub month: u8,
    /// Day, 1-31.
    pub day: u8,
}

impl Date {
    /// A valid date, or `None`.
    pub fn new(year: u16, month: u8, day: u8) -> Option<Date> {
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        let days = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return None,
        };
        (year >= 1 && (1..=days).contains(&day)).then_some(Date { year, month, day })
    }

    /// Parses 8 ASCII digits `YYYYMMDD`.
    pub fn parse_yyyymmdd(bytes: &[u8]) -> Option<Date> {
        if bytes.len() != 8 || !bytes.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let num = |r: std::ops::Range<usize>| bytes[r].iter().fold(0u16, |a, b| a * 10 + u16::from(b - b'0'));
        Date::new(num(0..4), num(4..6) as u8, num(6..8) as u8)
    }

    /// `YYYY-MM-DD`, the OpenID Connect `birthdate` form.
    pub fn iso(&self) -> String {
        format!("{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }

    /// The Japanese era this date falls in.
    pub fn era(&self) -> Option<Era> {
        let d = (self.year, self.month, self.day);
        Some(match d {
            _ if d >= (2019, 5, 1) => Era::Reiwa,
            _ if d >= (1989, 1, 8) => Era::Heisei,
            _ if d >= (1926, 12, 25) => Era::Showa,
            _ if d >= (1912, 7, 30) => Era::Taisho,
            _ if d >= (1868, 10, 23) => Era::Meiji,
            _ => return None,
        })
    }
}

/// A Japanese era, as the digit the JPKI certificate profile uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Era {
    /// 0: 不明.
    Unknown,
    /// 1: 明治.
    Meiji,
    /// 2: 大正.
    Taisho,
    /// 3: 昭和.
    Showa,
    /// 4: 平成.
    Heisei,
    /// 5: 令和.
    Reiwa,
}

impl Era {
    /// From the profile's digit.
    pub fn from_digit(d: u8) -> Option<Era> {
        Some(match d {
            b'0' => Era::Unknown,
            b'1' => Era::Meiji,
            b'2' => Era::Taisho,
            b'3' => Era::Showa,
            b'4' => Era::Heisei,
            b'5' => Era::Reiwa,
            _ => return None,
        })
    }

    /// The era's name in Japanese.
    pub fn name_ja(self) -> &'static str {
        match self {
            Era::Unknown => "不明",
            Era::Meiji => "明治",
            Era::Taisho => "大正",
            Era::Showa => "昭和",
            Era::Heisei => "平成",
            Era::Reiwa => "令和",
        }
    }
}

/// 性別 as the card records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sex {
    /// 男性.
    Male,
    /// 女性.
    Female,
    /// Not applicable (JIS X 0303 `9` on the input-support AP; `3` in the JPKI profile).
    NotApplicable,
    /// Not known (JIS X 0303 `0`).
    Unknown,
}

impl Sex {
    /// The input-support AP's code (JIS X 0303): `1`, `2`, `9`, `0`.
    pub fn from_jis(code: u8) -> Option<Sex> {
        Some(match code {
            b'1' => Sex::Male,
            b'2' => Sex::Female,
            b'9' => Sex::NotApplicable,
            b'0' => Sex::Unknown,
            _ => return None,
        })
    }

    /// The JPKI certificate profile's code: `1` male, `2` female, `3` (不明), which the
    /// profile uses where the input-support AP says "not applicable" (spec §8.6 DISAGREE).
    pub fn from_jpki(code: u8) -> Option<Sex> {
        Some(match code {
            b'1' => Sex::Male,
            b'2' => Sex::Female,
            b'3' => Sex::NotApplicable,
            _ => return None,
        })
    }

    /// `male`, `female`, `not_applicable` or `unknown`.
    pub fn as_str(self) -> &'static str {
        match self {
            Sex::Male => "male",
            Sex::Female => "female",
            Sex::NotApplicable => "not_applicable",
            Sex::Unknown => "unknown",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(Date::parse_yyyymmdd(b"19800217"), Date::new(1980, 2, 17));
        assert!(Date::parse_yyyymmdd(b"19800230").is_none());
        assert!(Date::parse_yyyymmdd(b"20230229").is_none());
        assert!(Date::parse_yyyymmdd(b"20240229").is_some());
        assert!(Date::parse_yyyymmdd(b"1980021").is_none());
        assert!(Date::parse_yyyymmdd(b"1980-2-1").is_none());
        assert_eq!(Date::new(2019, 5, 1).unwrap().era(), Some(Era::Reiwa));
        assert_eq!(Date::new(2019, 4, 30).unwrap().era(), Some(Era::Heisei));
        assert_eq!(Date::new(1926, 12, 24).unwrap().era(), Some(Era::Taisho));
        assert_eq!(Date::new(1926, 12, 25).unwrap().iso(), "1926-12-25");
    }

    #[test]
    fn personal_is_redacted() {
        let p = Personal::new("山田　太郎".to_string());
        assert_eq!(format!("{p:?}"), "REDACTED");
        assert_eq!(p.expose(), "山田　太郎");
    }
}
