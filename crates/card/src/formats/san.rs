//! The signature certificate's SubjectAltName (`card-protocol.md` §8.6): the four
//! attributes as `OtherName { type-id, [0] EXPLICIT UTF8String }` entries.
//!
//! | OID 1.2.392.200149.8.5.5. | meaning |
//! |---|---|
//! | .1 | 氏名 |
//! | .2 | 氏名 substitute-character positions (`0`/`1` per character) |
//! | .3 | 性別: `1` male, `2` female, `3` (not applicable / unknown) |
//! | .4 | 生年月日: era digit + Gregorian `YYYYMMDD` |
//! | .5 | 住所 |
//! | .6 | 住所 substitute-character positions |
//!
//! This module only reads the attributes; the certificate's chain, validity and revocation
//! are checked by the verifier (`mynaid-evidence`).

use der::asn1::{ObjectIdentifier, Utf8StringRef};
use der::{Decode, Tag as DerTag, Tagged};
use x509_cert::Certificate;
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::ext::pkix::name::GeneralName;

use super::{Date, Era, Field, Format, FormatError, FormatErrorKind, Personal, Sex};

/// `id-ce-subjectAltName`.
const SAN: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.17");
const ARC: &str = "1.2.392.200149.8.5.5";

/// The attributes carried in a JPKI signature certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SanAttributes {
    /// 氏名 as certified (characters outside JIS levels 1/2 replaced by substitutes).
    pub name: Personal<String>,
    /// For each character of the name: whether it is a substitute.
    pub name_substitutes: Vec<bool>,
    /// 性別.
    pub sex: Sex,
    /// The era digit of the birth date (0 when unknown).
    pub birth_era: Era,
    /// 生年月日 (Gregorian).
    pub birth_date: Personal<Date>,
    /// 住所 as certified.
    pub address: Personal<String>,
    /// For each character of the address: whether it is a substitute.
    pub address_substitutes: Vec<bool>,
}

/// A signature certificate as read from the card: its DER and the attributes it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureCertificate {
    /// The DER encoding (trimmed of any filler).
    pub der: Vec<u8>,
    /// The four attributes from the SubjectAltName.
    pub attributes: SanAttributes,
}

impl SignatureCertificate {
    /// Parses a signature certificate and its SAN attributes.
    pub fn parse(der: &[u8]) -> Result<SignatureCertificate, FormatError> {
        Ok(SignatureCertificate {
            der: der.to_vec(),
            attributes: SanAttributes::from_certificate(der)?,
        })
    }
}

fn der_err(format: Format, e: &der::Error) -> FormatError {
    let offset = e.position().map_or(0, |p| u32::from(p) as usize);
    FormatError::new(format, offset, FormatErrorKind::Der)
}

fn flags(text: &str, field_text: &str, offset: usize) -> Result<Vec<bool>, FormatError> {
    let bad = || {
        FormatError::new(
            Format::SubjectAltName,
            offset,
            FormatErrorKind::InvalidFlags(Field::SubstituteFlags),
        )
    };
    if text.chars().count() != field_text.chars().count() {
        return Err(bad());
    }
    text.chars()
        .map(|c| match c {
            '0' => Ok(false),
            '1' => Ok(true),
            _ => Err(bad()),
        })
        .collect()
}

impl SanAttributes {
    /// Reads the attributes from a DER certificate. Every attribute must appear exactly
    /// once; substitute flags must have one digit per character of their text.
    pub fn from_certificate(der: &[u8]) -> Result<SanAttributes, FormatError> {
        let cert = Certificate::from_der(der).map_err(|e| der_err(Format::Certificate, &e))?;
        let ext = cert
            .tbs_certificate()
            .extensions()
            .into_iter()
            .flatten()
            .find(|e| e.extn_id == SAN)
            .ok_or(FormatError::new(
                Format::Certificate,
                0,
                FormatErrorKind::NoSubjectAltName,
            ))?;
        let san =
            SubjectAltName::from_der(ext.extn_value.as_bytes()).map_err(|e| der_err(Format::SubjectAltName, &e))?;
        let mut values: [Option<String>; 6] = Default::default();
        let fields = [
            Field::Name,
            Field::SubstituteFlags,
            Field::Sex,
            Field::BirthDate,
            Field::Address,
            Field::SubstituteFlags,
        ];
        for (i, gn) in san.0.iter().enumerate() {
            let GeneralName::OtherName(other) = gn else { continue };
            let oid = other.type_id.to_string();
            let Some(n) = oid.strip_prefix(ARC).and_then(|s| s.strip_prefix('.')) else {
                continue;
            };
            let idx = match n {
                "1" => 0,
                "2" => 1,
                "3" => 2,
                "4" => 3,
                "5" => 4,
                "6" => 5,
                _ => continue,
            };
            if other.value.tag() != DerTag::Utf8String {
                return Err(FormatError::new(
                    Format::SubjectAltName,
                    i,
                    FormatErrorKind::NotUtf8(fields[idx]),
                ));
            }
            let text = other
                .value
                .decode_as::<Utf8StringRef<'_>>()
                .map_err(|_| FormatError::new(Format::SubjectAltName, i, FormatErrorKind::NotUtf8(fields[idx])))?;
            if values[idx].replace(text.as_str().to_string()).is_some() {
                return Err(FormatError::new(
                    Format::SubjectAltName,
                    i,
                    FormatErrorKind::Duplicate(fields[idx]),
                ));
            }
        }
        let mut take = |idx: usize| {
            values[idx].take().ok_or(FormatError::new(
                Format::SubjectAltName,
                0,
                FormatErrorKind::Missing(fields[idx]),
            ))
        };
        let name = take(0)?;
        let name_flags = take(1)?;
        let sex = take(2)?;
        let birth = take(3)?;
        let address = take(4)?;
        let address_flags = take(5)?;
        let sex = match sex.as_bytes() {
            [c] => Sex::from_jpki(*c),
            _ => None,
        }
        .ok_or(FormatError::new(Format::SubjectAltName, 0, FormatErrorKind::InvalidSex))?;
        let bad_date = || FormatError::new(Format::SubjectAltName, 0, FormatErrorKind::InvalidDate);
        let (era_digit, ymd) = birth.as_bytes().split_first().ok_or_else(bad_date)?;
        let birth_era = Era::from_digit(*era_digit).ok_or_else(bad_date)?;
        let birth_date = Date::parse_yyyymmdd(ymd).ok_or_else(bad_date)?;
        if birth_era != Era::Unknown && birth_date.era() != Some(birth_era) {
            return Err(bad_date());
        }
        Ok(SanAttributes {
            name_substitutes: flags(&name_flags, &name, 0)?,
            address_substitutes: flags(&address_flags, &address, 0)?,
            name: Personal::new(name),
            sex,
            birth_era,
            birth_date: Personal::new(birth_date),
            address: Personal::new(address),
        })
    }
}
