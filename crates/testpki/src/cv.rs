//! Card-verifiable certificates and the signed records of the input-support AP (§8.1–§8.4).
//!
//! These are the records a server checks in evidence chain C (§9): the EF 0004 CV
//! certificate (CV CA → AP data key), the EF 0003 integrity record (AP data key over the
//! digests of EF 0001 and EF 0002) and the EF 0007 signed card key. Every builder takes its
//! inputs explicitly, so a negative test can sign with the wrong key, hash the wrong bytes
//! or change one attribute and rebuild.
//!
//! All TLVs are BER private-class objects written with [`mynaid_apdu::tlv::encode`].

use mynaid_apdu::tlv::{self, Tag};
use rsa::{PrivateKey, PublicKey};
use sha2::{Digest, Sha256};

use crate::PkiError;
use crate::keys::{SignatureHash, exponent, modulus, sign};

/// Length of a CV-certificate key identifier.
pub const KEY_ID_LEN: usize = 16;

/// Exact size of the EF 0003 integrity record (`FF 30 82 01 4B` + 331 bytes).
pub const INTEGRITY_RECORD_LEN: usize = 336;
/// Exact size of an EF 0004 CV certificate (`7F 21 82 02 33` + 563 bytes).
pub const CV_CERTIFICATE_LEN: usize = 568;
/// Exact size of the EF 0007 signed card key (`FF 50 82 02 13` + 531 bytes).
pub const SIGNED_KEY_LEN: usize = 536;
/// Exact physical size of EF 0001 (`FF 10 0C` + 12 digits + `FF FF`).
pub const MY_NUMBER_FILE_LEN: usize = 17;
/// Physical size of EF 0002 when the TLV fits (filler `FF` after the TLV).
pub const BASIC_INFO_FILE_LEN: usize = 0x200;

/// A key id from its printed form `NNNNNNN/MMM`: 7 ASCII digits ‖ `08 05` ‖ 3 ASCII digits
/// ‖ `00 00 00 00` (§8.4).
///
/// # Errors
/// [`PkiError::KeyId`] unless the text is 7 digits, `/`, 3 digits.
pub fn key_id(text: &str) -> Result<[u8; KEY_ID_LEN], PkiError> {
    let bad = || PkiError::KeyId(text.to_owned());
    let (number, index) = text.split_once('/').ok_or_else(bad)?;
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(number, 7) || !digits(index, 3) {
        return Err(bad());
    }
    let mut id = [0u8; KEY_ID_LEN];
    id[..7].copy_from_slice(number.as_bytes());
    id[7..9].copy_from_slice(&[0x08, 0x05]);
    id[9..12].copy_from_slice(index.as_bytes());
    Ok(id)
}

/// The printed form `NNNNNNN/MMM` of a key id (inverse of [`key_id`] for well-formed ids).
pub fn key_id_text(id: &[u8; KEY_ID_LEN]) -> String {
    format!(
        "{}/{}",
        String::from_utf8_lossy(&id[..7]),
        String::from_utf8_lossy(&id[9..12])
    )
}

/// The card's RSA public key encoding: `90 <e>` ‖ `91 82 01 00 <256-byte modulus>`
/// (265 bytes for RSA-2048 with e = 65537).
pub fn rsa_key_record(key: &PublicKey) -> Vec<u8> {
    let mut out = tlv::encode_to_vec(Tag(0x90), &exponent(key));
    tlv::encode(Tag(0x91), &modulus(key), &mut out);
    out
}

/// EF 0004: `7F21 { 5F4E body(297) , 5F37 signature(256) }` where body = CA key id ‖
/// subject key id ‖ [`rsa_key_record`] of the subject key, signed (PKCS#1 v1.5 SHA-256) by
/// `ca_key`. 568 bytes for RSA-2048 keys.
///
/// # Errors
/// [`PkiError::Rsa`] if the CA key cannot sign.
pub fn build_cv_certificate(
    ca_key_id: &[u8; KEY_ID_LEN],
    subject_key_id: &[u8; KEY_ID_LEN],
    subject_key: &PublicKey,
    ca_key: &PrivateKey,
) -> Result<Vec<u8>, PkiError> {
    let mut body = Vec::with_capacity(297);
    body.extend_from_slice(ca_key_id);
    body.extend_from_slice(subject_key_id);
    body.extend_from_slice(&rsa_key_record(subject_key));
    let signature = sign(ca_key, SignatureHash::Sha256, &body)?;
    let mut content = tlv::encode_to_vec(Tag(0x5F4E), &body);
    tlv::encode(Tag(0x5F37), &signature, &mut content);
    Ok(tlv::encode_to_vec(Tag(0x7F21), &content))
}

/// EF 0007: `FF50 { DF51 rsa_key_record(card key), DF52 signature }`, the signature
/// (PKCS#1 v1.5 SHA-256 by `signing_key`, the AP data key) covering the raw DF51 TLV.
/// 536 bytes for RSA-2048 keys.
///
/// # Errors
/// [`PkiError::Rsa`] if the key cannot sign.
pub fn build_signed_key(card_key: &PublicKey, signing_key: &PrivateKey) -> Result<Vec<u8>, PkiError> {
    let df51 = tlv::encode_to_vec(Tag(0xDF51), &rsa_key_record(card_key));
    let signature = sign(signing_key, SignatureHash::Sha256, &df51)?;
    let mut content = df51;
    tlv::encode(Tag(0xDF52), &signature, &mut content);
    Ok(tlv::encode_to_vec(Tag(0xFF50), &content))
}

/// EF 0001 physical content: `FF 10 0C` + the 12 ASCII digits + `FF FF` (17 bytes).
///
/// # Errors
/// [`PkiError::MyNumber`] unless `number` is 12 ASCII digits.
pub fn build_my_number_file(number: &str) -> Result<Vec<u8>, PkiError> {
    if number.len() != 12 || !number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(PkiError::MyNumber);
    }
    let mut out = tlv::encode_to_vec(Tag(0xFF10), number.as_bytes());
    out.extend_from_slice(&[0xFF, 0xFF]);
    Ok(out)
}

/// The check digit of an Individual Number from its first 11 digits (the published
/// 検査用数字 rule): with P(n) the
/// n-th digit counted from the right and Q(n) = n + 1 for n ≤ 6, n − 5 for n ≥ 7, the check
/// digit is 11 − (ΣP·Q mod 11), or 0 when the remainder is 0 or 1.
///
/// # Errors
/// [`PkiError::MyNumber`] unless `first11` is 11 ASCII digits.
pub fn my_number_check_digit(first11: &str) -> Result<u8, PkiError> {
    if first11.len() != 11 || !first11.bytes().all(|b| b.is_ascii_digit()) {
        return Err(PkiError::MyNumber);
    }
    let sum: u32 = first11
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let n = i as u32 + 1;
            let q = if n <= 6 { n + 1 } else { n - 5 };
            u32::from(b - b'0') * q
        })
        .sum();
    let r = sum % 11;
    Ok(if r <= 1 { 0 } else { (11 - r) as u8 })
}

/// EF 0002: `FF20 { DF21 offsets, DF22 name, DF23 address, DF24 birth, DF25 sex }` with
/// `FF` filler up to `physical_size` (grown to the next multiple of 0x100 when the TLV is
/// longer). DF21 holds four big-endian u16 offsets **from the start of the file** to the
/// DF22, DF23, DF24 and DF25 TLVs.
///
/// `birth` is `YYYYMMDD`; `sex` is the JIS X 0303 digit (`1`, `2`, `9`). Neither is
/// validated, so malformed records can be built on purpose.
///
/// # Errors
/// [`PkiError::RecordTooLarge`] when an offset does not fit in 16 bits.
pub fn build_basic_info(
    name: &str,
    address: &str,
    birth: &str,
    sex: &str,
    physical_size: usize,
) -> Result<Vec<u8>, PkiError> {
    let fields = [
        tlv::encode_to_vec(Tag(0xDF22), name.as_bytes()),
        tlv::encode_to_vec(Tag(0xDF23), address.as_bytes()),
        tlv::encode_to_vec(Tag(0xDF24), birth.as_bytes()),
        tlv::encode_to_vec(Tag(0xDF25), sex.as_bytes()),
    ];
    const DF21_LEN: usize = 2 + 1 + 8;
    let value_len = DF21_LEN + fields.iter().map(Vec::len).sum::<usize>();
    let mut len_bytes = Vec::new();
    tlv::encode_len(value_len, &mut len_bytes);
    let header_len = 2 + len_bytes.len();

    let mut offsets = Vec::with_capacity(8);
    let mut at = header_len + DF21_LEN;
    for field in &fields {
        let offset = u16::try_from(at).map_err(|_| PkiError::RecordTooLarge)?;
        offsets.extend_from_slice(&offset.to_be_bytes());
        at += field.len();
    }
    let mut value = tlv::encode_to_vec(Tag(0xDF21), &offsets);
    for field in &fields {
        value.extend_from_slice(field);
    }
    let mut out = tlv::encode_to_vec(Tag(0xFF20), &value);
    pad(&mut out, physical_size, 0xFF);
    Ok(out)
}

/// Appends `filler` up to `size`, or up to the next multiple of 0x100 when `out` is longer.
pub(crate) fn pad(out: &mut Vec<u8>, size: usize, filler: u8) {
    let target = if out.len() <= size {
        size
    } else {
        out.len().div_ceil(0x100) * 0x100
    };
    out.resize(target, filler);
}

/// The bytes EF 0003's DF32 digests: the `FF20` value without the DF21 TLV, i.e. from the
/// start of DF22 to the end of DF25 (§8.3). Filler after the TLV is excluded.
///
/// # Errors
/// [`PkiError::Tlv`] when `ef0002` does not start with `FF20 { DF21 … }`.
pub fn basic_info_digest_source(ef0002: &[u8]) -> Result<&[u8], PkiError> {
    let (outer, _) = tlv::expect_at(ef0002, Tag(0xFF20), 0)?;
    let (df21, _) = tlv::expect_at(outer.value, Tag(0xDF21), outer.value_offset())?;
    Ok(&outer.value[df21.raw.len()..])
}

/// EF 0003: `FF30 82 01 4B { DF31, DF32, DF33 }` where DF31 = SHA-256 of the 17 physical
/// bytes of EF 0001, DF32 = SHA-256 of [`basic_info_digest_source`], and DF33 is the PKCS#1 v1.5
/// SHA-256 signature by `signing_key` (the AP data key) over the raw `DF31 ‖ DF32` TLVs
/// (70 bytes). DF31 + DF32 + DF33 are 35 + 35 + 261 = 331 = 0x14B bytes, so the record is
/// exactly 336 bytes with no filler.
///
/// # Errors
/// [`PkiError::Tlv`] for a malformed `ef0002`, [`PkiError::Rsa`] if the key cannot sign.
pub fn build_integrity_record(
    ef0001_physical: &[u8],
    ef0002: &[u8],
    signing_key: &PrivateKey,
) -> Result<Vec<u8>, PkiError> {
    let mut signed = tlv::encode_to_vec(Tag(0xDF31), &Sha256::digest(ef0001_physical));
    tlv::encode(
        Tag(0xDF32),
        &Sha256::digest(basic_info_digest_source(ef0002)?),
        &mut signed,
    );
    let signature = sign(signing_key, SignatureHash::Sha256, &signed)?;
    let mut content = signed;
    tlv::encode(Tag(0xDF33), &signature, &mut content);
    Ok(tlv::encode_to_vec(Tag(0xFF30), &content))
}

/// Input-support EF 0005 (AP basic info): `FF40 { DF41 01 03 0E 01, DF42 key id, DF43 32
/// bytes ‖ 96 × FF }`. What the key id names and what the 32 bytes are is unknown on real
/// cards; see the crate docs for what this PKI puts there.
pub fn build_ap_basic_info(key_id: &[u8; KEY_ID_LEN], digest: &[u8; 32]) -> Vec<u8> {
    let mut content = tlv::encode_to_vec(Tag(0xDF41), &[0x01, 0x03, 0x0E, 0x01]);
    tlv::encode(Tag(0xDF42), key_id, &mut content);
    let mut df43 = digest.to_vec();
    df43.resize(128, 0xFF);
    tlv::encode(Tag(0xDF43), &df43, &mut content);
    tlv::encode_to_vec(Tag(0xFF40), &content)
}

/// Input-support EF 0006: the session-key-delivery public key, `A1 { 90 e, 91 n }`.
pub fn build_session_key_record(key: &PublicKey) -> Vec<u8> {
    tlv::encode_to_vec(Tag(0xA1), &rsa_key_record(key))
}

/// Card-face AP EF 0003 (AP basic info): `FF30 { DF31 06 03 0E 01, DF32 key id, DF33
/// version, DF34 municipality code (5 ASCII digits), DF35 key id ‖ 256 opaque bytes }`.
pub fn build_face_basic_info(
    key_id: &[u8; KEY_ID_LEN],
    version: u8,
    municipality_code: &str,
    df35_key_id: &[u8; KEY_ID_LEN],
    df35_data: &[u8],
) -> Vec<u8> {
    let mut content = tlv::encode_to_vec(Tag(0xDF31), &[0x06, 0x03, 0x0E, 0x01]);
    tlv::encode(Tag(0xDF32), key_id, &mut content);
    tlv::encode(Tag(0xDF33), &[version], &mut content);
    tlv::encode(Tag(0xDF34), municipality_code.as_bytes(), &mut content);
    let mut df35 = df35_key_id.to_vec();
    df35.extend_from_slice(df35_data);
    tlv::encode(Tag(0xDF35), &df35, &mut content);
    tlv::encode_to_vec(Tag(0xFF30), &content)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_id_layout() {
        let id = key_id("9000033/001").unwrap();
        assert_eq!(&id[..7], b"9000033");
        assert_eq!(&id[7..9], &[0x08, 0x05]);
        assert_eq!(&id[9..12], b"001");
        assert_eq!(&id[12..], &[0, 0, 0, 0]);
        assert_eq!(key_id_text(&id), "9000033/001");
        for bad in ["900003/001", "9000033-001", "9000033/01", "900003a/001"] {
            assert!(key_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn check_digit_rule() {
        // Worked by hand: digits from the right 1,0,9,8,7,6,5,4,3,2,1 with Q 2,3,4,5,6,7,2,3,4,5,6
        // sum = 2+0+36+40+42+42+10+12+12+10+6 = 212; 212 mod 11 = 3; check digit 11 - 3 = 8.
        assert_eq!(my_number_check_digit("12345678901").unwrap(), 8);
        // Remainders 0 and 1 give 0: "00000000000" sums to 0.
        assert_eq!(my_number_check_digit("00000000000").unwrap(), 0);
        assert!(my_number_check_digit("1234567890").is_err());
        assert_eq!(build_my_number_file("123456789018").unwrap().len(), 17);
        assert!(build_my_number_file("12345678901x").is_err());
    }

    #[test]
    fn basic_info_matches_the_spec_example_layout() {
        // §8.1: name 15 B, address 54 B → FF 20 65, offsets 0E 20 59 64, 104 bytes.
        let name = "黒桐　幹也";
        let address = "a".repeat(54);
        let file = build_basic_info(name, &address, "19800217", "1", 104).unwrap();
        assert_eq!(file.len(), 104);
        assert_eq!(&file[..3], &[0xFF, 0x20, 0x65]);
        assert_eq!(
            &file[3..14],
            &[0xDF, 0x21, 0x08, 0x00, 0x0E, 0x00, 0x20, 0x00, 0x59, 0x00, 0x64]
        );
        let source = basic_info_digest_source(&file).unwrap();
        assert_eq!(source, &file[0x0E..]);
    }

    #[test]
    fn long_basic_info_uses_long_form_and_grows() {
        let address = "あ".repeat(200); // 600 bytes
        let file = build_basic_info("名", &address, "19250101", "1", 0x200).unwrap();
        assert_eq!(&file[..3], &[0xFF, 0x20, 0x82]);
        assert_eq!(file.len(), 0x300);
        assert_eq!(&file[5..8], &[0xDF, 0x21, 0x08]);
        let off = u16::from_be_bytes([file[8], file[9]]) as usize;
        assert_eq!(&file[off..off + 2], &[0xDF, 0x22]);
        assert_eq!(*file.last().unwrap(), 0xFF);
    }
}
