//! Card-verifiable certificates and signed key records of the input-support AP
//! (`card-protocol.md` §8.3, §8.4).
//!
//! ```text
//! EF 0004  7F 21 82 02 33                       568 bytes
//!            5F 4E 82 01 29   body: CA key id (16) ‖ subject key id (16) ‖ 90 e ‖ 91 n
//!            5F 37 82 01 00   PKCS#1 v1.5 SHA-256 signature over the body, by the CA key
//! EF 0007  FF 50 82 02 13                       536 bytes
//!            DF 51 82 01 09   90 e ‖ 91 n: the public half of the card's key (EF 0013)
//!            DF 52 82 01 00   signature over the raw DF51 object, by the EF 0004 key
//! ```

use std::fmt;

use mynaid_apdu::tlv::{self, Tag};

use super::basic_info::is_filler;
use super::{Field, Format, FormatError, FormatErrorKind};

/// A 16-byte key identifier: 7 ASCII digits ‖ `08 05` ‖ 3 ASCII digits ‖ 4 padding bytes,
/// printed `5000033/001`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyId(pub [u8; 16]);

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let k = &self.0;
        if k[..7].iter().all(u8::is_ascii_digit) && k[9..12].iter().all(u8::is_ascii_digit) {
            let a = std::str::from_utf8(&k[..7]).unwrap_or("?");
            let b = std::str::from_utf8(&k[9..12]).unwrap_or("?");
            write!(f, "{a}/{b}")
        } else {
            write!(f, "{}", tlv::hex(k).replace(' ', ""))
        }
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

/// An RSA public key in the card's encoding (`90` exponent, `91` modulus).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RsaPublicKey {
    /// Modulus, big-endian, 256 bytes.
    pub modulus: Vec<u8>,
    /// Public exponent, big-endian.
    pub exponent: Vec<u8>,
}

impl RsaPublicKey {
    fn parse(bytes: &[u8], base: usize, format: Format) -> Result<RsaPublicKey, FormatError> {
        let items = tlv::parse_all(bytes, base).map_err(|e| FormatError::tlv(format, e))?;
        let find = |tag: u32| items.iter().find(|t| t.tag == Tag(tag));
        let (Some(e), Some(n)) = (find(0x90), find(0x91)) else {
            return Err(FormatError::new(
                format,
                base,
                FormatErrorKind::Missing(Field::PublicKey),
            ));
        };
        if items.len() != 2 {
            return Err(FormatError::new(
                format,
                base,
                FormatErrorKind::Duplicate(Field::PublicKey),
            ));
        }
        if n.value.len() != 256 || n.value[0] & 0x80 == 0 || e.value.is_empty() || e.value.len() > 4 {
            return Err(FormatError::new(format, n.offset, FormatErrorKind::UnsupportedKey));
        }
        Ok(RsaPublicKey {
            modulus: n.value.to_vec(),
            exponent: e.value.to_vec(),
        })
    }

    /// The card encoding: `90 L e ‖ 91 82 01 00 n`.
    pub fn to_card_encoding(&self) -> Vec<u8> {
        let mut out = tlv::encode_to_vec(Tag(0x90), &self.exponent);
        tlv::encode(Tag(0x91), &self.modulus, &mut out);
        out
    }

    /// DER `RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }`
    /// (RFC 8017 A.1.1), the form crypto libraries take.
    pub fn to_pkcs1_der(&self) -> Vec<u8> {
        fn integer(v: &[u8], out: &mut Vec<u8>) {
            let start = v.iter().position(|b| *b != 0).unwrap_or(v.len().saturating_sub(1));
            let v = &v[start..];
            let mut content = Vec::with_capacity(v.len() + 1);
            if v.first().is_some_and(|b| b & 0x80 != 0) {
                content.push(0);
            }
            content.extend_from_slice(v);
            tlv::encode(Tag(0x02), &content, out);
        }
        let mut seq = Vec::with_capacity(270);
        integer(&self.modulus, &mut seq);
        integer(&self.exponent, &mut seq);
        tlv::encode_to_vec(Tag(0x30), &seq)
    }
}

/// A card-verifiable certificate (EF 0004 of the input-support AP).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CvCertificate {
    /// 証明者鍵ID: the CA key that signed it.
    pub ca_key_id: KeyId,
    /// 被証明者鍵ID: the key it certifies.
    pub subject_key_id: KeyId,
    /// The certified public key.
    pub public_key: RsaPublicKey,
    /// The signed body (the value of `5F4E`).
    pub body: Vec<u8>,
    /// The CA's signature over `body`.
    pub signature: Vec<u8>,
}

pub(crate) fn single_field<'a>(
    items: &[tlv::Tlv<'a>],
    tag: u32,
    field: Field,
    format: Format,
    at: usize,
) -> Result<tlv::Tlv<'a>, FormatError> {
    let mut it = items.iter().filter(|t| t.tag == Tag(tag));
    let first = it
        .next()
        .ok_or_else(|| FormatError::new(format, at, FormatErrorKind::Missing(field)))?;
    if let Some(dup) = it.next() {
        return Err(FormatError::new(format, dup.offset, FormatErrorKind::Duplicate(field)));
    }
    Ok(*first)
}

/// Splits `raw` into the children of the outer object `outer`, allowing filler after the
/// children and after the object.
pub(crate) fn children<'a>(
    raw: &'a [u8],
    outer: Tag,
    format: Format,
) -> Result<(tlv::Tlv<'a>, Vec<tlv::Tlv<'a>>), FormatError> {
    let (o, rest) = tlv::expect_at(raw, outer, 0).map_err(|e| FormatError::tlv(format, e))?;
    if !is_filler(rest) {
        return Err(FormatError::new(format, o.raw.len(), FormatErrorKind::UnexpectedData));
    }
    let mut items = Vec::new();
    let mut inner = o.value;
    let mut pos = o.value_offset();
    while !inner.is_empty() && !is_filler(inner) {
        let (item, r) = tlv::parse_at(inner, pos).map_err(|e| FormatError::tlv(format, e))?;
        pos += item.raw.len();
        inner = r;
        items.push(item);
    }
    Ok((o, items))
}

pub(crate) fn signature_field(item: tlv::Tlv<'_>, format: Format) -> Result<Vec<u8>, FormatError> {
    if item.value.len() != 256 {
        return Err(FormatError::new(
            format,
            item.value_offset(),
            FormatErrorKind::WrongLength {
                field: Field::Signature,
                expected: 256,
                actual: item.value.len(),
            },
        ));
    }
    Ok(item.value.to_vec())
}

impl CvCertificate {
    /// Parses EF 0004 (`7F21`).
    pub fn parse(raw: &[u8]) -> Result<CvCertificate, FormatError> {
        let f = Format::CvCertificate;
        let (_, items) = children(raw, Tag(0x7F21), f)?;
        let body = single_field(&items, 0x5F4E, Field::Body, f, 0)?;
        let sig = single_field(&items, 0x5F37, Field::Signature, f, 0)?;
        if items.len() != 2 {
            return Err(FormatError::new(f, 0, FormatErrorKind::UnexpectedData));
        }
        let b = body.value;
        if b.len() < 32 {
            return Err(FormatError::new(
                f,
                body.value_offset(),
                FormatErrorKind::WrongLength {
                    field: Field::KeyId,
                    expected: 32,
                    actual: b.len(),
                },
            ));
        }
        let id = |r: std::ops::Range<usize>| {
            let mut k = [0u8; 16];
            k.copy_from_slice(&b[r]);
            KeyId(k)
        };
        Ok(CvCertificate {
            ca_key_id: id(0..16),
            subject_key_id: id(16..32),
            public_key: RsaPublicKey::parse(&b[32..], body.value_offset() + 32, f)?,
            body: b.to_vec(),
            signature: signature_field(sig, f)?,
        })
    }
}

/// The card's own signing key for the input-support AP, signed by the issuer (EF 0007).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedKey {
    /// The public half of EF 0013: what the card's challenge signature verifies under.
    pub public_key: RsaPublicKey,
    /// The bytes the signature covers (the raw DF51 object).
    pub signed_data: Vec<u8>,
    /// The issuer's signature.
    pub signature: Vec<u8>,
}

impl SignedKey {
    /// Parses EF 0007 (`FF50`).
    pub fn parse(raw: &[u8]) -> Result<SignedKey, FormatError> {
        let f = Format::SignedKey;
        let (_, items) = children(raw, Tag(0xFF50), f)?;
        let key = single_field(&items, 0xDF51, Field::PublicKey, f, 0)?;
        let sig = single_field(&items, 0xDF52, Field::Signature, f, 0)?;
        if items.len() != 2 || key.offset > sig.offset {
            return Err(FormatError::new(f, 0, FormatErrorKind::UnexpectedData));
        }
        Ok(SignedKey {
            public_key: RsaPublicKey::parse(key.value, key.value_offset(), f)?,
            signed_data: key.raw.to_vec(),
            signature: signature_field(sig, f)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key_bytes() -> Vec<u8> {
        let mut n = vec![0xC5; 256];
        n[255] = 0x01;
        RsaPublicKey {
            modulus: n,
            exponent: vec![1, 0, 1],
        }
        .to_card_encoding()
    }

    fn cv_cert() -> Vec<u8> {
        let mut body = b"9000033\x08\x05001\0\0\0\0".to_vec();
        body.extend_from_slice(b"9000034\x08\x05001\0\0\0\0");
        body.extend_from_slice(&key_bytes());
        let mut inner = tlv::encode_to_vec(Tag(0x5F4E), &body);
        tlv::encode(Tag(0x5F37), &[7; 256], &mut inner);
        tlv::encode_to_vec(Tag(0x7F21), &inner)
    }

    #[test]
    fn cv_certificate_layout() {
        let raw = cv_cert();
        assert_eq!(raw.len(), 568);
        assert_eq!(&raw[..5], &[0x7F, 0x21, 0x82, 0x02, 0x33]);
        let c = CvCertificate::parse(&raw).unwrap();
        assert_eq!(c.ca_key_id.to_string(), "9000033/001");
        assert_eq!(c.subject_key_id.to_string(), "9000034/001");
        assert_eq!(c.body.len(), 297);
        assert_eq!(c.public_key.exponent, [1, 0, 1]);
        let der = c.public_key.to_pkcs1_der();
        assert_eq!(&der[..5], &[0x30, 0x82, 0x01, 0x0A, 0x02]);
        assert_eq!(der.len(), 270);
    }

    #[test]
    fn cv_certificate_faults() {
        let raw = cv_cert();
        let e = CvCertificate::parse(&raw[..400]).unwrap_err();
        assert!(matches!(e.kind, FormatErrorKind::Tlv(_)));
        let mut bad = raw.clone();
        bad[0] = 0x7E;
        assert!(matches!(
            CvCertificate::parse(&bad).unwrap_err().kind,
            FormatErrorKind::WrongTag { .. }
        ));
        // A 1024-bit key is refused.
        let mut body = vec![0x30; 32];
        body.extend_from_slice(
            &RsaPublicKey {
                modulus: vec![0xC1; 128],
                exponent: vec![1, 0, 1],
            }
            .to_card_encoding(),
        );
        let mut inner = tlv::encode_to_vec(Tag(0x5F4E), &body);
        tlv::encode(Tag(0x5F37), &[7; 256], &mut inner);
        let short = tlv::encode_to_vec(Tag(0x7F21), &inner);
        assert_eq!(
            CvCertificate::parse(&short).unwrap_err().kind,
            FormatErrorKind::UnsupportedKey
        );
    }

    #[test]
    fn signed_key_layout() {
        let dfa = tlv::encode_to_vec(Tag(0xDF51), &key_bytes());
        let mut inner = dfa.clone();
        tlv::encode(Tag(0xDF52), &[9; 256], &mut inner);
        let raw = tlv::encode_to_vec(Tag(0xFF50), &inner);
        assert_eq!(raw.len(), 536);
        let k = SignedKey::parse(&raw).unwrap();
        assert_eq!(k.signed_data, dfa);
        let mut dup = inner.clone();
        tlv::encode(Tag(0xDF52), &[9; 256], &mut dup);
        let e = SignedKey::parse(&tlv::encode_to_vec(Tag(0xFF50), &dup)).unwrap_err();
        assert_eq!(e.kind, FormatErrorKind::Duplicate(Field::Signature));
    }
}
