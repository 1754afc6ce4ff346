//! The integrity record, input-support AP EF 0003 (`card-protocol.md` §8.3).
//!
//! ```text
//! FF 30 82 01 4B                   336 bytes
//!   DF 31 20   SHA-256 of the 17 physical bytes of EF 0001 (the Individual Number file)
//!   DF 32 20   SHA-256 of EF 0002 from DF22 to the end (see BasicInfo::digest_source)
//!   DF 33 82 01 00   PKCS#1 v1.5 SHA-256 signature over DF31 ‖ DF32 (raw objects, 70 bytes)
//! ```
//!
//! DF31 is the Individual Number in disguise: a SHA-256 of a 12-digit number with a check
//! digit is brute-forced in moments. It is kept only inside the zeroizing signed-data
//! buffer that signature verification needs, and there is no accessor for it alone.

use std::fmt;

use mynaid_apdu::tlv::Tag;
use zeroize::Zeroizing;

use super::cv::{children, signature_field, single_field};
use super::{Field, Format, FormatError, FormatErrorKind};

/// EF 0003.
#[derive(Clone, PartialEq, Eq)]
pub struct IntegrityRecord {
    basic_info_digest: [u8; 32],
    signed_data: Zeroizing<Vec<u8>>,
    signature: Vec<u8>,
}

impl IntegrityRecord {
    /// Parses EF 0003 (filler inside and after the template is allowed).
    pub fn parse(raw: &[u8]) -> Result<IntegrityRecord, FormatError> {
        let f = Format::IntegrityRecord;
        let (outer, items) = children(raw, Tag(0xFF30), f)?;
        let d31 = single_field(&items, 0xDF31, Field::Digest, f, 0)?;
        let d32 = single_field(&items, 0xDF32, Field::Digest, f, 0)?;
        let sig = single_field(&items, 0xDF33, Field::Signature, f, 0)?;
        if items.len() != 3 || !(d31.offset < d32.offset && d32.offset < sig.offset) {
            return Err(FormatError::new(
                f,
                outer.value_offset(),
                FormatErrorKind::UnexpectedData,
            ));
        }
        for d in [d31, d32] {
            if d.value.len() != 32 {
                return Err(FormatError::new(
                    f,
                    d.value_offset(),
                    FormatErrorKind::WrongLength {
                        field: Field::Digest,
                        expected: 32,
                        actual: d.value.len(),
                    },
                ));
            }
        }
        let start = outer.value_offset();
        let signed = Zeroizing::new(raw[start..sig.offset].to_vec());
        let mut basic_info_digest = [0u8; 32];
        basic_info_digest.copy_from_slice(d32.value);
        Ok(IntegrityRecord {
            basic_info_digest,
            signed_data: signed,
            signature: signature_field(sig, f)?,
        })
    }

    /// DF32: the SHA-256 the issuer signed for EF 0002.
    pub fn basic_info_digest(&self) -> &[u8; 32] {
        &self.basic_info_digest
    }

    /// The bytes the issuer's signature covers (DF31 ‖ DF32). Use only to verify the
    /// signature; never store or log it (it contains DF31).
    pub fn signed_data(&self) -> &[u8] {
        &self.signed_data
    }

    /// The issuer's signature (DF33).
    pub fn signature(&self) -> &[u8] {
        &self.signature
    }
}

impl fmt::Debug for IntegrityRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IntegrityRecord(REDACTED)")
    }
}

#[cfg(test)]
mod tests {
    use mynaid_apdu::tlv;

    use super::*;

    pub(crate) fn sample() -> Vec<u8> {
        let mut inner = tlv::encode_to_vec(Tag(0xDF31), &[0x31; 32]);
        tlv::encode(Tag(0xDF32), &[0x32; 32], &mut inner);
        tlv::encode(Tag(0xDF33), &[0x33; 256], &mut inner);
        tlv::encode_to_vec(Tag(0xFF30), &inner)
    }

    #[test]
    fn layout() {
        let raw = sample();
        assert_eq!(raw.len(), 336);
        assert_eq!(&raw[..5], &[0xFF, 0x30, 0x82, 0x01, 0x4B]);
        let r = IntegrityRecord::parse(&raw).unwrap();
        assert_eq!(r.basic_info_digest(), &[0x32; 32]);
        assert_eq!(r.signed_data().len(), 70);
        assert_eq!(&r.signed_data()[..3], &[0xDF, 0x31, 0x20]);
        assert_eq!(format!("{r:?}"), "IntegrityRecord(REDACTED)");
    }

    #[test]
    fn faults() {
        let raw = sample();
        assert!(IntegrityRecord::parse(&raw[..300]).is_err());
        let mut bad = raw.clone();
        bad[7] = 0x1F; // DF31 length 31
        assert!(IntegrityRecord::parse(&bad).is_err());
        let mut swapped = raw.clone();
        swapped[6] = 0x32;
        swapped[5 + 35 + 1] = 0x31;
        assert_eq!(
            IntegrityRecord::parse(&swapped).unwrap_err().kind,
            FormatErrorKind::UnexpectedData
        );
    }
}
