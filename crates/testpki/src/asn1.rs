//! Small DER assembly helpers shared by the certificate and CRL builders.
//!
//! x509-cert 0.3 keeps the fields of `TbsCertificate` private, and negative test material
//! needs full control over every field anyway, so the outer structures are assembled here
//! from DER-encoded leaves (`der` / `x509-cert` types) with [`mynaid_apdu::tlv::encode`]
//! (whose minimal length encoding is exactly DER's).

use der::asn1::{GeneralizedTime, ObjectIdentifier, PrintableStringRef, UtcTime, Utf8StringRef};
use der::{DateTime, Encode};
use mynaid_apdu::tlv::{Tag, encode_to_vec};
use rsa::PrivateKey;

use crate::PkiError;
use crate::keys::{SignatureHash, sign};

/// `sha256WithRSAEncryption`.
pub(crate) const SHA256_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
/// `sha1WithRSAEncryption`.
pub(crate) const SHA1_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.5");

/// `SEQUENCE { content }`.
pub(crate) fn seq(content: &[u8]) -> Vec<u8> {
    encode_to_vec(Tag(0x30), content)
}

/// `SET { content }`.
pub(crate) fn set(content: &[u8]) -> Vec<u8> {
    encode_to_vec(Tag(0x31), content)
}

/// `[n] EXPLICIT content` (context-specific, constructed).
pub(crate) fn explicit(n: u8, content: &[u8]) -> Vec<u8> {
    encode_to_vec(Tag(0xA0 | u32::from(n & 0x1F)), content)
}

/// `OCTET STRING`.
pub(crate) fn octet_string(bytes: &[u8]) -> Vec<u8> {
    encode_to_vec(Tag(0x04), bytes)
}

/// `BIT STRING` with no unused bits.
pub(crate) fn bit_string(bytes: &[u8]) -> Vec<u8> {
    let mut value = Vec::with_capacity(bytes.len() + 1);
    value.push(0);
    value.extend_from_slice(bytes);
    encode_to_vec(Tag(0x03), &value)
}

/// A positive `INTEGER` from a big-endian magnitude (a leading zero is added when needed).
pub(crate) fn unsigned_integer(magnitude: &[u8]) -> Result<Vec<u8>, PkiError> {
    Ok(der::asn1::Uint::new(magnitude)?.to_der()?)
}

/// An `OBJECT IDENTIFIER`.
pub(crate) fn oid(oid: &ObjectIdentifier) -> Result<Vec<u8>, PkiError> {
    Ok(oid.to_der()?)
}

/// `UTF8String`.
pub(crate) fn utf8_string(text: &str) -> Result<Vec<u8>, PkiError> {
    Ok(Utf8StringRef::new(text)?.to_der()?)
}

/// `PrintableString`.
pub(crate) fn printable_string(text: &str) -> Result<Vec<u8>, PkiError> {
    Ok(PrintableStringRef::new(text)?.to_der()?)
}

/// RFC 5280 `Time`: UTCTime through 2049, GeneralizedTime from 2050.
pub(crate) fn time(at: DateTime) -> Result<Vec<u8>, PkiError> {
    if at.year() < 2050 {
        Ok(UtcTime::from_date_time(at)?.to_der()?)
    } else {
        Ok(GeneralizedTime::from_date_time(at).to_der()?)
    }
}

/// `AlgorithmIdentifier { algorithm, parameters NULL }` for an RSA PKCS#1 v1.5 signature.
pub(crate) fn signature_algorithm(hash: SignatureHash) -> Result<Vec<u8>, PkiError> {
    let id = match hash {
        SignatureHash::Sha256 => SHA256_WITH_RSA,
        SignatureHash::Sha1 => SHA1_WITH_RSA,
    };
    let mut content = oid(&id)?;
    content.extend_from_slice(&[0x05, 0x00]);
    Ok(seq(&content))
}

/// `Extension { extnID, critical DEFAULT FALSE, extnValue OCTET STRING (value DER) }`.
pub(crate) fn extension(id: &ObjectIdentifier, critical: bool, value_der: &[u8]) -> Result<Vec<u8>, PkiError> {
    let mut content = oid(id)?;
    if critical {
        content.extend_from_slice(&[0x01, 0x01, 0xFF]);
    }
    content.extend_from_slice(&octet_string(value_der));
    Ok(seq(&content))
}

/// `SEQUENCE { tbs, signatureAlgorithm, signature BIT STRING }`, signed with `key`.
///
/// The shape of both `Certificate` and `CertificateList`.
pub(crate) fn signed(tbs: &[u8], key: &PrivateKey, hash: SignatureHash) -> Result<Vec<u8>, PkiError> {
    let signature = sign(key, hash, tbs)?;
    let mut content = tbs.to_vec();
    content.extend_from_slice(&signature_algorithm(hash)?);
    content.extend_from_slice(&bit_string(&signature));
    Ok(seq(&content))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaves_are_der() {
        assert_eq!(unsigned_integer(&[0x80]).unwrap(), [0x02, 0x02, 0x00, 0x80]);
        assert_eq!(unsigned_integer(&[0x01]).unwrap(), [0x02, 0x01, 0x01]);
        assert_eq!(bit_string(&[0xAB]), [0x03, 0x02, 0x00, 0xAB]);
        assert_eq!(explicit(3, &[0x05, 0x00]), [0xA3, 0x02, 0x05, 0x00]);
        let t = time(DateTime::new(2025, 4, 1, 0, 0, 0).unwrap()).unwrap();
        assert_eq!(t[0], 0x17);
        assert_eq!(&t[2..], b"250401000000Z");
        let g = time(DateTime::new(2050, 1, 1, 0, 0, 0).unwrap()).unwrap();
        assert_eq!(g[0], 0x18);
        assert_eq!(
            extension(&SHA1_WITH_RSA, true, &[0x05, 0x00]).unwrap()[..2],
            [0x30, 0x12]
        );
    }
}
