//! The two ways mynaid reads a card for identity proofing, as whole operations
//! (`card-protocol.md` §14, "Recommended for mynaid").
//!
//! * [`read_input_support`]: the 4-digit input-support PIN; reads EF 0002, 0003, 0004 and
//!   0007 and has the AP's own key sign the caller's 32-byte value. Never touches EF 0001.
//! * [`read_signature`]: the signature password; reads the signature certificate and has
//!   the signature key sign the caller's value.
//!
//! Both send exactly one guarded VERIFY (after a fresh retry query) and nothing else that
//! costs a try. What the card signs is `DigestInfo(SHA-256(to_be_signed))`, so the result
//! verifies as an ordinary `sha256WithRSAEncryption` signature over `to_be_signed`.

use std::fmt;

use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::error::CardError;
use crate::formats::{BasicInfo, CvCertificate, IntegrityRecord, SignatureCertificate, SignedKey, sha256_digest_info};
use crate::ids::{input_support, jpki as jpki_ef};
use crate::jpki;
use crate::pin::{Application, LastTry, Pin, PinKind, RetryStatus};
use crate::session::{Session, SigningKey};
use crate::transport::CardTransport;

/// A document the routes read, for progress display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Document {
    /// 基本4情報 (EF 0002).
    BasicInfo,
    /// Integrity record (EF 0003).
    IntegrityRecord,
    /// CV certificate (EF 0004).
    CvCertificate,
    /// Signed card key (EF 0007).
    SignedKey,
    /// Which certificates exist (JPKI EF 0008).
    CertAvailability,
    /// Signature certificate (JPKI EF 0001).
    SignatureCertificate,
}

/// A step of a route, reported as it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Selecting the application.
    Selecting(Application),
    /// Asking the tries left and presenting the PIN.
    VerifyingPin(PinKind),
    /// Reading a document.
    Reading(Document),
    /// The card is signing (the slow step: up to a few hundred milliseconds).
    Signing,
}

/// Selects the PIN's application and asks the tries left, spending nothing. Show the
/// result to the person before asking for the PIN.
pub fn pin_status<T: CardTransport>(s: &mut Session<T>, kind: PinKind) -> Result<RetryStatus, CardError> {
    s.select_application(kind.application())?;
    s.retry_status(kind)
}

/// What the input-support route read. `Debug` shows no content.
#[derive(Clone)]
pub struct InputSupportReading {
    /// EF 0002 (the BER-TLV object, filler removed).
    pub basic_info_raw: Vec<u8>,
    /// EF 0003. Holds DF31 (the Individual Number in disguise): zeroized on drop.
    pub integrity_raw: Zeroizing<Vec<u8>>,
    /// EF 0004.
    pub cv_certificate_raw: Vec<u8>,
    /// EF 0007.
    pub signed_key_raw: Vec<u8>,
    /// The AP key's signature over `DigestInfo(SHA-256(to_be_signed))`.
    pub signature: Vec<u8>,
    /// EF 0002 parsed.
    pub basic_info: BasicInfo,
}

impl fmt::Debug for InputSupportReading {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("InputSupportReading(REDACTED)")
    }
}

/// Reads the card through the input-support AP with the 4-digit PIN and has the AP sign
/// `to_be_signed`. The records are parsed (so a broken card fails here, clearly) but not
/// verified: that is the server's job.
pub fn read_input_support<T: CardTransport>(
    s: &mut Session<T>,
    pin: &Pin,
    last_try: LastTry,
    to_be_signed: &[u8; 32],
    progress: &mut dyn FnMut(Step),
) -> Result<InputSupportReading, CardError> {
    if pin.kind() != PinKind::InputSupport {
        return Err(CardError::PinKindMismatch {
            expected: PinKind::InputSupport,
            given: pin.kind(),
        });
    }
    progress(Step::Selecting(Application::InputSupport));
    s.select_application(Application::InputSupport)?;
    progress(Step::VerifyingPin(PinKind::InputSupport));
    s.verify(pin, last_try)?;
    progress(Step::Reading(Document::BasicInfo));
    let basic_info_raw = s.read_file(input_support::BASIC_INFO)?;
    let basic_info = BasicInfo::parse(&basic_info_raw)?;
    progress(Step::Reading(Document::IntegrityRecord));
    let integrity_raw = Zeroizing::new(s.read_file(input_support::INTEGRITY)?);
    IntegrityRecord::parse(&integrity_raw)?;
    progress(Step::Reading(Document::CvCertificate));
    let cv_certificate_raw = s.read_file(input_support::CV_CERT)?;
    CvCertificate::parse(&cv_certificate_raw)?;
    progress(Step::Reading(Document::SignedKey));
    let signed_key_raw = s.read_file(input_support::SIGNED_KEY)?;
    SignedKey::parse(&signed_key_raw)?;
    progress(Step::Signing);
    let signature = s.sign(SigningKey::ApplicationDefault, &digest_info(to_be_signed))?;
    Ok(InputSupportReading {
        basic_info_raw,
        integrity_raw,
        cv_certificate_raw,
        signed_key_raw,
        signature,
        basic_info,
    })
}

/// What the signature route read.
#[derive(Debug, Clone)]
pub struct SignatureReading {
    /// The signature certificate with the attributes from its SubjectAltName.
    pub certificate: SignatureCertificate,
    /// The signature key's signature over `DigestInfo(SHA-256(to_be_signed))`.
    pub signature: Vec<u8>,
}

/// Reads the signature certificate with the signature password and has the signature key
/// sign `to_be_signed`. A card without a signature certificate is refused before the
/// password is presented.
pub fn read_signature<T: CardTransport>(
    s: &mut Session<T>,
    password: &Pin,
    last_try: LastTry,
    to_be_signed: &[u8; 32],
    progress: &mut dyn FnMut(Step),
) -> Result<SignatureReading, CardError> {
    if password.kind() != PinKind::Signature {
        return Err(CardError::PinKindMismatch {
            expected: PinKind::Signature,
            given: password.kind(),
        });
    }
    progress(Step::Selecting(Application::Jpki));
    s.select_application(Application::Jpki)?;
    progress(Step::Reading(Document::CertAvailability));
    if !jpki::read_cert_availability(s)?.signature {
        return Err(CardError::NoSignatureCertificate);
    }
    progress(Step::VerifyingPin(PinKind::Signature));
    s.verify(password, last_try)?;
    progress(Step::Reading(Document::SignatureCertificate));
    let der = s.read_file(jpki_ef::SIGN_CERT)?;
    let certificate = SignatureCertificate::parse(&der)?;
    progress(Step::Signing);
    let signature = s.sign(SigningKey::JpkiSignature, &digest_info(to_be_signed))?;
    Ok(SignatureReading { certificate, signature })
}

/// Finds out whether the card in the reader is a My Number Card, by selecting the JPKI
/// application (never by ATR: contact and contactless ATRs differ between batches).
pub fn is_my_number_card<T: CardTransport>(s: &mut Session<T>) -> Result<bool, CardError> {
    match s.select_application(Application::Jpki) {
        Ok(()) => Ok(true),
        Err(CardError::NotMyNumberCard { .. }) => Ok(false),
        Err(e) => Err(e),
    }
}

fn digest_info(to_be_signed: &[u8; 32]) -> [u8; 51] {
    let digest: [u8; 32] = Sha256::digest(to_be_signed).into();
    sha256_digest_info(&digest)
}
