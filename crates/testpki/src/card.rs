//! Card state files: what each test person's card holds (§3, §12).
//!
//! The state is card *content* for `mynaid-emulator`: the physical bytes of every EF
//! (filler included), the private keys and the PIN references with their counters. The
//! emulator's behaviour lives in its code; everything here is data.

use mynaid_emulator::state::{Access, Application, CardState, FORMAT, File, Key, Pin};
use rsa::{PrivateKey, PublicKey};
use sha2::{Digest, Sha256};

use crate::PkiError;
use crate::cv::{
    BASIC_INFO_FILE_LEN, build_ap_basic_info, build_basic_info, build_face_basic_info, build_integrity_record,
    build_my_number_file, build_session_key_record, build_signed_key, key_id, pad,
};
use crate::era::compact_date;
use crate::keys::{derive_bytes, modulus, pkcs8_der};
use crate::persons::{Profile, kenhojo_sex_code};
use crate::pki::{IssuedCert, cv_ids};

/// The contact ATR of most cards (§1).
pub const ATR: [u8; 9] = [0x3B, 0xE0, 0x00, 0xFF, 0x81, 0x31, 0xFE, 0x45, 0x14];
/// 公的個人認証AP.
pub const AID_JPKI: [u8; 10] = [0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01];
/// 券面事項入力補助AP.
pub const AID_INPUT_SUPPORT: [u8; 10] = [0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x04, 0x08];
/// 券面事項確認AP.
pub const AID_FACE: [u8; 10] = [0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x04, 0x02];

/// Physical size of the JPKI certificate EFs (`00` filler after the DER).
pub const CERTIFICATE_FILE_LEN: usize = 0x800;

/// Inputs for one card.
pub(crate) struct CardInputs<'a> {
    pub(crate) seed: u64,
    pub(crate) profile: &'a Profile,
    pub(crate) my_number: &'a str,
    pub(crate) sign: Option<&'a IssuedCert>,
    pub(crate) auth: &'a IssuedCert,
    pub(crate) card_key: &'a PrivateKey,
    pub(crate) sign_root: &'a [u8],
    pub(crate) auth_root: &'a [u8],
    pub(crate) ap_data_key: &'a PrivateKey,
    pub(crate) input_support_cv_certificate: &'a [u8],
    pub(crate) face_cv_certificate: &'a [u8],
    pub(crate) session_key: &'a PublicKey,
}

/// The card state of one person.
pub(crate) fn build_card_state(inputs: &CardInputs<'_>) -> Result<CardState, PkiError> {
    Ok(CardState {
        format: FORMAT.to_owned(),
        label: inputs.profile.id.to_owned(),
        atr: ATR.to_vec(),
        applications: vec![jpki(inputs)?, input_support(inputs)?, face(inputs)?],
    })
}

fn file(fid: u16, content: Vec<u8>, read: Access) -> File {
    File { fid, content, read }
}

fn certificate_file(fid: u16, der: &[u8], read: Access) -> File {
    let mut content = der.to_vec();
    pad(&mut content, CERTIFICATE_FILE_LEN, 0x00);
    file(fid, content, read)
}

fn key(fid: u16, key: &PrivateKey, usage: Access) -> Result<Key, PkiError> {
    Ok(Key {
        fid,
        pkcs8: pkcs8_der(key)?,
        usage,
    })
}

/// A PIN whose reference is `SHA-256(salt ‖ value)`, with a 16-byte salt from the seed.
fn pin(inputs: &CardInputs<'_>, app: &str, fid: u16, value: &[u8], max_tries: u8, remaining: u8) -> Pin {
    let salt = derive_bytes(
        inputs.seed,
        &format!("pin-salt/{}/{app}/{fid:04X}", inputs.profile.id),
        16,
    );
    let mut h = Sha256::new();
    h.update(&salt);
    h.update(value);
    Pin {
        fid,
        salt,
        reference: h.finalize().to_vec(),
        max_tries,
        remaining,
    }
}

fn jpki(inputs: &CardInputs<'_>) -> Result<Application, PkiError> {
    let p = inputs.profile;
    let mut files = Vec::new();
    let mut keys = Vec::new();
    let mut pins = vec![pin(
        inputs,
        "jpki",
        0x0018,
        p.auth_pin.as_bytes(),
        3,
        p.auth_pin_remaining,
    )];
    if let (Some(sign), Some(password)) = (inputs.sign, p.sign_password) {
        files.push(certificate_file(
            0x0001,
            &sign.certificate,
            Access::AnyPin(vec![0x001B]),
        ));
        keys.push(key(0x001A, &sign.key, Access::AnyPin(vec![0x001B]))?);
        pins.push(pin(
            inputs,
            "jpki",
            0x001B,
            password.as_bytes(),
            5,
            p.sign_password_remaining,
        ));
    }
    files.push(certificate_file(0x0002, inputs.sign_root, Access::Always));
    files.push(file(0x0006, token_info(p), Access::Always));
    let availability = if inputs.sign.is_some() { 0x8F } else { 0x00 };
    files.push(file(0x0008, vec![availability, 0x8F, 0x00], Access::Always));
    files.push(certificate_file(0x000A, &inputs.auth.certificate, Access::Always));
    files.push(certificate_file(0x000B, inputs.auth_root, Access::Always));
    keys.insert(0, key(0x0017, &inputs.auth.key, Access::AnyPin(vec![0x0018]))?);
    files.sort_by_key(|f| f.fid);
    Ok(Application {
        name: "jpki".to_owned(),
        aid: AID_JPKI.to_vec(),
        files,
        keys,
        pins,
        default_key: None,
    })
}

/// JPKI EF 0006: PKCS#11 `CK_TOKEN_INFO`, big-endian, 4-byte `CK_ULONG`s, 160 bytes.
///
/// label `JPKIAPICCTOKEN2`, manufacturerID `mynaid test PKI`, model `mynaid-emulator`,
/// serialNumber `MYNAIDTEST-<ID>` (all space padded); flags = CKF_RNG | CKF_LOGIN_REQUIRED |
/// CKF_USER_PIN_INITIALIZED | CKF_TOKEN_INITIALIZED (0x40D); session counts 0; PIN length
/// 4..16; memory sizes 0xFFFFFFFF (unavailable); hardware and firmware version 1.0;
/// utcTime 16 spaces (no clock).
pub fn token_info(profile: &Profile) -> Vec<u8> {
    fn padded(out: &mut Vec<u8>, text: &str, len: usize) {
        let start = out.len();
        out.extend_from_slice(text.as_bytes());
        out.resize(start + len, b' ');
    }
    let mut out = Vec::with_capacity(160);
    padded(&mut out, "JPKIAPICCTOKEN2", 32);
    padded(&mut out, "mynaid test PKI", 32);
    padded(&mut out, "mynaid-emulator", 16);
    padded(&mut out, &format!("MYNAIDTEST-{}", profile.id.to_ascii_uppercase()), 16);
    let ulongs: [u32; 11] = [
        0x0000_040D, // flags
        0,           // ulMaxSessionCount (CK_EFFECTIVELY_INFINITE)
        0,           // ulSessionCount
        0,           // ulMaxRwSessionCount
        0,           // ulRwSessionCount
        16,          // ulMaxPinLen
        4,           // ulMinPinLen
        u32::MAX,    // ulTotalPublicMemory (CK_UNAVAILABLE_INFORMATION)
        u32::MAX,    // ulFreePublicMemory
        u32::MAX,    // ulTotalPrivateMemory
        u32::MAX,    // ulFreePrivateMemory
    ];
    for v in ulongs {
        out.extend_from_slice(&v.to_be_bytes());
    }
    out.extend_from_slice(&[1, 0, 1, 0]); // hardwareVersion, firmwareVersion
    padded(&mut out, "", 16); // utcTime
    out
}

fn input_support(inputs: &CardInputs<'_>) -> Result<Application, PkiError> {
    let p = inputs.profile;
    let ef0001 = build_my_number_file(inputs.my_number)?;
    let ef0002 = build_basic_info(
        p.name,
        p.address,
        &compact_date(p.birthdate),
        kenhojo_sex_code(p.sex),
        BASIC_INFO_FILE_LEN,
    )?;
    let ef0003 = build_integrity_record(&ef0001, &ef0002, inputs.ap_data_key)?;
    let ef0005 = build_ap_basic_info(
        &key_id(cv_ids::INPUT_SUPPORT_BASIC_INFO)?,
        &Sha256::digest(inputs.input_support_cv_certificate).into(),
    );
    let ef0007 = build_signed_key(&inputs.card_key.to_public_key(), inputs.ap_data_key)?;
    let pin_or_a = Access::AnyPin(vec![0x0011, 0x0014]);
    let pin_or_b = Access::AnyPin(vec![0x0011, 0x0015]);
    let pin_a_or_b = || Access::AnyPin(vec![0x0011, 0x0014, 0x0015]);
    let files = vec![
        file(0x0001, ef0001, pin_or_a),
        file(0x0002, ef0002, pin_or_b),
        file(0x0003, ef0003, pin_a_or_b()),
        file(0x0004, inputs.input_support_cv_certificate.to_vec(), Access::Always),
        file(0x0005, ef0005, Access::Always),
        file(0x0006, build_session_key_record(inputs.session_key), pin_a_or_b()),
        file(0x0007, ef0007, pin_a_or_b()),
        file(0x0008, vec![0xFF; 16], Access::Always),
    ];
    let blocked_reference = derive_bytes(inputs.seed, &format!("blocked-0012/{}", p.id), 4);
    let pins = vec![
        pin(inputs, "input-support", 0x0011, p.pin.as_bytes(), 3, p.pin_remaining),
        // Blocked at issuance on every card examined (§3.2): a random, unknown value.
        pin(inputs, "input-support", 0x0012, &blocked_reference, 3, 0),
        pin(inputs, "input-support", 0x0014, inputs.my_number.as_bytes(), 10, 10),
        pin(
            inputs,
            "input-support",
            0x0015,
            p.verification_code_b()?.as_bytes(),
            10,
            10,
        ),
    ];
    Ok(Application {
        name: "input-support".to_owned(),
        aid: AID_INPUT_SUPPORT.to_vec(),
        files,
        keys: vec![key(0x0013, inputs.card_key, Access::Always)?],
        pins,
        default_key: Some(0x0013),
    })
}

fn face(inputs: &CardInputs<'_>) -> Result<Application, PkiError> {
    let p = inputs.profile;
    let df35 = modulus(&inputs.ap_data_key.to_public_key());
    let ef0003 = build_face_basic_info(
        &key_id(cv_ids::FACE_BASIC_INFO)?,
        0x00,
        p.municipality_code,
        &key_id(cv_ids::FACE_DF35)?,
        &df35,
    );
    let files = vec![
        file(0x0003, ef0003, Access::Always),
        file(0x0004, inputs.face_cv_certificate.to_vec(), Access::Always),
    ];
    let pins = vec![
        pin(inputs, "face", 0x0011, p.birth_date_key()?.as_bytes(), 10, 10),
        pin(inputs, "face", 0x0012, p.verification_code_b()?.as_bytes(), 10, 10),
        pin(inputs, "face", 0x0013, inputs.my_number.as_bytes(), 10, 10),
    ];
    Ok(Application {
        name: "face".to_owned(),
        aid: AID_FACE.to_vec(),
        files,
        keys: Vec::new(),
        pins,
        default_key: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::persons::profiles;

    #[test]
    fn token_info_is_160_bytes_with_the_label_first() {
        let info = token_info(&profiles()[0]);
        assert_eq!(info.len(), 160);
        assert_eq!(&info[..32], b"JPKIAPICCTOKEN2                 ");
        assert_eq!(&info[96..100], &[0, 0, 0x04, 0x0D]);
    }
}
