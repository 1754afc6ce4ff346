//! Application identifiers and file identifiers (`shared/spec/card-protocol.md` §2, §3).
//!
//! The 12-digit Individual Number lives in EF 0001 of the input-support AP; it has no
//! constant here on purpose, so there is no way to name it from this crate.

/// 公的個人認証AP (JPKI).
pub const AID_JPKI: [u8; 10] = [0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01];
/// 券面事項入力補助AP (card-info-input-support AP).
pub const AID_INPUT_SUPPORT: [u8; 10] = [0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x04, 0x08];
/// 券面事項確認AP (card-face confirmation AP).
pub const AID_FACE: [u8; 10] = [0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x04, 0x02];

/// Files of the JPKI AP.
pub mod jpki {
    /// 署名用電子証明書: readable only after the signature password.
    pub const SIGN_CERT: u16 = 0x0001;
    /// 署名用CA証明書.
    pub const SIGN_CA_CERT: u16 = 0x0002;
    /// Token info (`CK_TOKEN_INFO`, 160 bytes).
    pub const TOKEN_INFO: u16 = 0x0006;
    /// Which certificates exist (3 bytes).
    pub const CERT_AVAILABILITY: u16 = 0x0008;
    /// 利用者証明用電子証明書.
    pub const AUTH_CERT: u16 = 0x000A;
    /// 利用者証明用CA証明書.
    pub const AUTH_CA_CERT: u16 = 0x000B;
    /// 利用者証明用秘密鍵.
    pub const AUTH_KEY: u16 = 0x0017;
    /// 利用者証明用暗証番号 (4 digits, 3 tries).
    pub const AUTH_PIN: u16 = 0x0018;
    /// 署名用秘密鍵.
    pub const SIGN_KEY: u16 = 0x001A;
    /// 署名用パスワード (6-16 characters, 5 tries).
    pub const SIGN_PIN: u16 = 0x001B;
}

/// Files of the input-support AP that mynaid uses (EF 0001 deliberately absent).
pub mod input_support {
    /// 基本4情報 (name, address, birth date, sex).
    pub const BASIC_INFO: u16 = 0x0002;
    /// Integrity record: issuer signature over the digests of EF 0001 and EF 0002.
    pub const INTEGRITY: u16 = 0x0003;
    /// The AP's card-verifiable certificate (issuer CV CA → AP data key).
    pub const CV_CERT: u16 = 0x0004;
    /// AP basic info.
    pub const AP_INFO: u16 = 0x0005;
    /// The card's signing key for this AP, signed by the EF 0004 key.
    pub const SIGNED_KEY: u16 = 0x0007;
    /// 券面事項入力補助用暗証番号 (4 digits, 3 tries).
    pub const PIN: u16 = 0x0011;
}

/// Files of the card-face confirmation AP.
pub mod face {
    /// AP basic info (free to read).
    pub const AP_INFO: u16 = 0x0003;
}

/// The short EF identifier of a file in `0001`..=`001E` (its low five bits).
pub const fn sfi(fid: u16) -> u8 {
    (fid & 0x1F) as u8
}
