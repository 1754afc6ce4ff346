//! The two ways mynaid reads a card for identity proofing, as whole operations
//! (`card-protocol.md` §9 and §14).
//!
//! * [`read_user_authentication`]: the 4-digit PINs. The JPKI user-authentication PIN
//!   (EF 0018) opens the user-authentication key (EF 0017), which signs the caller's value,
//!   and the user-authentication certificate (EF 000A) is read; then the input-support PIN
//!   (EF 0011) opens the card-face records EF 0002, 0003 and 0004. Never touches EF 0001.
//! * [`read_signature`]: the signature password; reads the signature certificate and has
//!   the signature key sign the caller's value.
//!
//! Each VERIFY is guarded (after a fresh retry query), sent once per entry and never
//! repeated; nothing else costs a try. When the first PIN of the 4-digit route is refused
//! the second is not presented. What the card signs is `DigestInfo(SHA-256(to_be_signed))`,
//! so the result verifies as an ordinary `sha256WithRSAEncryption` signature over
//! `to_be_signed`.

use std::fmt;

use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::error::CardError;
use crate::formats::{BasicInfo, CvCertificate, IntegrityRecord, SignatureCertificate, sha256_digest_info};
use crate::ids::{input_support, jpki as jpki_ef};
use crate::jpki;
use crate::pin::{Application, LastTry, Pin, PinFormatError, PinKind, RetryStatus};
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
    /// Which certificates exist (JPKI EF 0008).
    CertAvailability,
    /// Signature certificate (JPKI EF 0001).
    SignatureCertificate,
    /// User-authentication certificate (JPKI EF 000A).
    UserAuthenticationCertificate,
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
    // A card without a signature certificate (a child's) has no signature password either:
    // its EF 001B is absent, and asking for its tries would only say "file not found".
    if kind == PinKind::Signature && !jpki::read_cert_availability(s)?.signature {
        return Err(CardError::NoSignatureCertificate);
    }
    s.retry_status(kind)
}

/// The input-support PIN as the person gave it: typed, or "the same as the
/// user-authentication PIN I just typed" — a choice they make, never assumed.
#[derive(Debug, Clone)]
pub enum InputSupportPin {
    /// The person chose "the same as the PIN I just typed".
    SameAsUserAuthentication,
    /// The person typed it.
    Typed(Pin),
}

/// The two 4-digit PINs of the user-authentication route. `Debug` shows no value.
#[derive(Debug, Clone)]
pub struct FourDigitPins {
    user_authentication: Pin,
    input_support: Pin,
}

impl FourDigitPins {
    /// The user-authentication PIN (EF 0018) and the input-support PIN (EF 0011) as given.
    pub fn new(user_authentication: Pin, input_support: InputSupportPin) -> Result<FourDigitPins, CardError> {
        if user_authentication.kind() != PinKind::UserAuthentication {
            return Err(CardError::PinKindMismatch {
                expected: PinKind::UserAuthentication,
                given: user_authentication.kind(),
            });
        }
        let input_support = match input_support {
            InputSupportPin::SameAsUserAuthentication => user_authentication
                .same_value_as(PinKind::InputSupport)
                .map_err(|e: PinFormatError| CardError::PinFormat(e))?,
            InputSupportPin::Typed(pin) if pin.kind() == PinKind::InputSupport => pin,
            InputSupportPin::Typed(pin) => {
                return Err(CardError::PinKindMismatch {
                    expected: PinKind::InputSupport,
                    given: pin.kind(),
                });
            }
        };
        Ok(FourDigitPins {
            user_authentication,
            input_support,
        })
    }

    /// The JPKI user-authentication PIN.
    pub fn user_authentication(&self) -> &Pin {
        &self.user_authentication
    }

    /// The input-support PIN.
    pub fn input_support(&self) -> &Pin {
        &self.input_support
    }
}

/// Whether the person confirmed a last try, per PIN of the 4-digit route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LastTries {
    /// For the user-authentication PIN (EF 0018).
    pub user_authentication: LastTry,
    /// For the input-support PIN (EF 0011).
    pub input_support: LastTry,
}

impl LastTries {
    /// The same answer for both PINs.
    pub const fn both(last_try: LastTry) -> LastTries {
        LastTries {
            user_authentication: last_try,
            input_support: last_try,
        }
    }
}

/// What the user-authentication route read. `Debug` shows no content.
#[derive(Clone)]
pub struct UserAuthenticationReading {
    /// DER of the user-authentication certificate (JPKI EF 000A).
    pub certificate_der: Vec<u8>,
    /// The user-authentication key's signature over `DigestInfo(SHA-256(to_be_signed))`.
    pub signature: Vec<u8>,
    /// EF 0002 (the BER-TLV object, filler removed).
    pub basic_info_raw: Vec<u8>,
    /// EF 0003. Holds DF31 (the Individual Number in disguise): zeroized on drop.
    pub integrity_raw: Zeroizing<Vec<u8>>,
    /// EF 0004.
    pub cv_certificate_raw: Vec<u8>,
    /// EF 0002 parsed.
    pub basic_info: BasicInfo,
}

impl fmt::Debug for UserAuthenticationReading {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("UserAuthenticationReading(REDACTED)")
    }
}

/// The 4-digit route: proves the user-authentication PIN with a live signature of the
/// user-authentication key over `to_be_signed`, then reads the card-face records with the
/// input-support PIN. The records are parsed (so a broken card fails here, clearly) but not
/// verified: that is the server's job. A refused user-authentication PIN ends the reading
/// before the input-support PIN is presented.
pub fn read_user_authentication<T: CardTransport>(
    s: &mut Session<T>,
    pins: &FourDigitPins,
    last_tries: LastTries,
    to_be_signed: &[u8; 32],
    progress: &mut dyn FnMut(Step),
) -> Result<UserAuthenticationReading, CardError> {
    progress(Step::Selecting(Application::Jpki));
    s.select_application(Application::Jpki)?;
    progress(Step::VerifyingPin(PinKind::UserAuthentication));
    s.verify(&pins.user_authentication, last_tries.user_authentication)?;
    progress(Step::Reading(Document::UserAuthenticationCertificate));
    let certificate_der = s.read_file(jpki_ef::AUTH_CERT)?;
    progress(Step::Signing);
    let signature = s.sign(SigningKey::JpkiAuthentication, &digest_info(to_be_signed))?;
    progress(Step::Selecting(Application::InputSupport));
    s.select_application(Application::InputSupport)?;
    progress(Step::VerifyingPin(PinKind::InputSupport));
    s.verify(&pins.input_support, last_tries.input_support)?;
    progress(Step::Reading(Document::BasicInfo));
    let basic_info_raw = s.read_file(input_support::BASIC_INFO)?;
    let basic_info = BasicInfo::parse(&basic_info_raw)?;
    progress(Step::Reading(Document::IntegrityRecord));
    let integrity_raw = Zeroizing::new(s.read_file(input_support::INTEGRITY)?);
    IntegrityRecord::parse(&integrity_raw)?;
    progress(Step::Reading(Document::CvCertificate));
    let cv_certificate_raw = s.read_file(input_support::CV_CERT)?;
    CvCertificate::parse(&cv_certificate_raw)?;
    Ok(UserAuthenticationReading {
        certificate_der,
        signature,
        basic_info_raw,
        integrity_raw,
        cv_certificate_raw,
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
