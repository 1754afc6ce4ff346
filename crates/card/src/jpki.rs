//! The JPKI AP (公的個人認証AP): certificates, token info and the two signing keys.

use sha2::{Digest, Sha256};

use crate::error::CardError;
use crate::formats::{CertAvailability, TokenInfo, sha256_digest_info};
use crate::ids::jpki as ef;
use crate::pin::{Application, LastTry, Pin, PinKind};
use crate::session::{Session, SigningKey};
use crate::transport::CardTransport;

/// Reads EF 0008: which certificates were issued on this card. Free to read.
pub fn read_cert_availability<T: CardTransport>(s: &mut Session<T>) -> Result<CertAvailability, CardError> {
    s.ensure_application(Application::Jpki)?;
    Ok(CertAvailability::parse(&read_raw(s, ef::CERT_AVAILABILITY, 3)?)?)
}

/// Reads EF 0006, the token info (160 bytes). Free to read.
pub fn read_token_info<T: CardTransport>(s: &mut Session<T>) -> Result<TokenInfo, CardError> {
    s.ensure_application(Application::Jpki)?;
    Ok(TokenInfo::parse(&read_raw(s, ef::TOKEN_INFO, 160)?)?)
}

/// Reads the user-authentication certificate (EF 000A, DER). Free to read on a card.
pub fn read_auth_certificate<T: CardTransport>(s: &mut Session<T>) -> Result<Vec<u8>, CardError> {
    s.ensure_application(Application::Jpki)?;
    s.read_file(ef::AUTH_CERT)
}

/// Reads the CA certificate of the user-authentication certificate (EF 000B, DER).
pub fn read_auth_ca_certificate<T: CardTransport>(s: &mut Session<T>) -> Result<Vec<u8>, CardError> {
    s.ensure_application(Application::Jpki)?;
    s.read_file(ef::AUTH_CA_CERT)
}

/// Reads the CA certificate of the signature certificate (EF 0002, DER).
pub fn read_sign_ca_certificate<T: CardTransport>(s: &mut Session<T>) -> Result<Vec<u8>, CardError> {
    s.ensure_application(Application::Jpki)?;
    s.read_file(ef::SIGN_CA_CERT)
}

/// Reads the signature certificate (EF 0001, DER). The card answers `6982` unless the
/// signature password was verified in this session.
pub fn read_sign_certificate<T: CardTransport>(s: &mut Session<T>) -> Result<Vec<u8>, CardError> {
    s.ensure_application(Application::Jpki)?;
    s.read_file(ef::SIGN_CERT)
}

/// Verifies the user-authentication PIN (guarded, once) and has the authentication key
/// sign `DigestInfo(SHA-256(message))`: a `sha256WithRSAEncryption` signature over `message`
/// that verifies under the user-authentication certificate.
pub fn sign_with_auth_key<T: CardTransport>(
    s: &mut Session<T>,
    pin: &Pin,
    last_try: LastTry,
    message: &[u8],
) -> Result<Vec<u8>, CardError> {
    if pin.kind() != PinKind::UserAuthentication {
        return Err(CardError::PinKindMismatch {
            expected: PinKind::UserAuthentication,
            given: pin.kind(),
        });
    }
    s.select_application(Application::Jpki)?;
    s.verify(pin, last_try)?;
    let digest: [u8; 32] = Sha256::digest(message).into();
    s.sign(SigningKey::JpkiAuthentication, &sha256_digest_info(&digest))
}

/// Reads a small fixed-size EF whose content is not BER-TLV (token info, availability).
fn read_raw<T: CardTransport>(s: &mut Session<T>, fid: u16, len: u32) -> Result<Vec<u8>, CardError> {
    s.read_fixed(fid, len)
}
