//! Shared set-up of the evidence tests: the verification time, the binding, the verifier
//! built from the committed test PKI, evidence read from emulated cards, and evidence built
//! from the in-memory test PKI with exactly one thing changed.
//!
//! Every test binary uses a different subset of these helpers.

#![allow(dead_code, unreachable_pub)]

use std::path::PathBuf;
use std::sync::OnceLock;

use mynaid_card::{CardError, FourDigitPins, InputSupportPin, LastTries, LastTry, Pin, PinKind, Session, routes};
use mynaid_emulator::transport::InProcessTransport;
use mynaid_evidence::{CrlSet, CvCaKey, EvidenceError, RevocationPolicy, TrustStore, VerifiedCardFace, Verifier};
use mynaid_protocol::{Binding, Body, Evidence, ReaderApp};
use mynaid_testkit::PersonCard;
use mynaid_testkit::PersonRecord;
use mynaid_testpki::keys::{self, SignatureHash};
use mynaid_testpki::rsa::PrivateKey;
use mynaid_testpki::{CertSpec, Person, RootKind, TestPki, build_certificate};
use zeroize::Zeroizing;

/// The verification time: 2026-11-27T00:00:00Z, inside every test certificate's validity.
pub const NOW: u64 = 1_795_737_600;

/// The session's 32-byte challenge.
pub const CHALLENGE: [u8; 32] = *b"mynaid-evidence-test-challenge-1";

/// The values the card signs in every test unless a test changes one.
pub fn binding() -> Binding<'static> {
    Binding {
        origin: "https://portal.example.jp",
        challenge: &CHALLENGE,
        session: b"session-1",
        purpose: mynaid_protocol::Purpose::VerifyIdentity,
    }
}

/// Seconds since the epoch of a UTC date and time.
pub fn unix(year: u16, month: u8, day: u8) -> u64 {
    der::DateTime::new(year, month, day, 0, 0, 0)
        .expect("date")
        .unix_duration()
        .as_secs()
}

/// `DateTime` for certificate and CRL specs.
pub fn date(year: u16, month: u8, day: u8) -> der::DateTime {
    der::DateTime::new(year, month, day, 0, 0, 0).expect("date")
}

/// The committed test PKI (seed 1).
pub fn fixtures_dir() -> PathBuf {
    mynaid_testkit::fixtures_dir()
}

fn fixture(path: &str) -> Vec<u8> {
    let path = fixtures_dir().join(path);
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// The four roots, in the order sign-g1, sign-g2, auth-g1, auth-g2.
pub const ROOT_FILES: [&str; 4] = [
    "trust/jpki-sign-root-g1.der",
    "trust/jpki-sign-root-g2.der",
    "trust/jpki-auth-root-g1.der",
    "trust/jpki-auth-root-g2.der",
];

/// The four CRLs, in the same order as [`ROOT_FILES`].
pub const CRL_FILES: [&str; 4] = [
    "crl/jpki-sign-g1.crl",
    "crl/jpki-sign-g2.crl",
    "crl/jpki-auth-g1.crl",
    "crl/jpki-auth-g2.crl",
];

/// DER of the committed roots.
pub fn root_ders() -> Vec<Vec<u8>> {
    ROOT_FILES.iter().map(|f| fixture(f)).collect()
}

/// DER of the committed CRLs.
pub fn crl_ders() -> Vec<Vec<u8>> {
    CRL_FILES.iter().map(|f| fixture(f)).collect()
}

/// The test CV CA key (`9000033/001`) from `trust/cv-ca.json`.
pub fn cv_ca() -> CvCaKey {
    let json = String::from_utf8(fixture("trust/cv-ca.json")).expect("UTF-8");
    CvCaKey::from_json(&json).expect("cv-ca.json")
}

/// A trust store of the given roots (test mode).
pub fn trust(roots: &[Vec<u8>]) -> TrustStore {
    TrustStore::test_roots(roots).expect("test roots")
}

/// A CRL set with every CRL in `crls` loaded (each must load).
pub fn crl_set(crls: &[Vec<u8>], trust: &TrustStore) -> CrlSet {
    let mut set = CrlSet::new();
    for der in crls {
        set.load(der, trust).expect("CRL loads");
    }
    set
}

/// The verifier of the brief: the 4 test roots, their 4 CRLs, `RequireCrl`, the test CV CA.
pub fn verifier() -> Verifier {
    verifier_with(&root_ders(), &crl_ders(), RevocationPolicy::RequireCrl, vec![cv_ca()])
}

/// A verifier with other roots, CRLs, policy or CV CA keys.
pub fn verifier_with(roots: &[Vec<u8>], crls: &[Vec<u8>], policy: RevocationPolicy, cv: Vec<CvCaKey>) -> Verifier {
    let trust = trust(roots);
    let crls = crl_set(crls, &trust);
    Verifier::new(trust, crls, policy, cv)
}

/// The in-memory test PKI with private keys: generated once per test binary (seconds).
/// It is byte for byte the committed fixtures (`crates/testpki/tests/fixtures.rs`).
pub fn pki() -> &'static TestPki {
    static PKI: OnceLock<TestPki> = OnceLock::new();
    PKI.get_or_init(|| mynaid_testpki::generate_in_memory(1).expect("test PKI"))
}

/// A person of the in-memory PKI.
pub fn pki_person(id: &str) -> &'static Person {
    pki()
        .person(id)
        .unwrap_or_else(|| panic!("no person {id} in the test PKI"))
}

/// What a reading device says about itself.
pub fn reader() -> ReaderApp {
    ReaderApp {
        name: "mynaid-reader".into(),
        version: "0.1.0".into(),
    }
}

/// Sends `evidence` through the wire format (what a server receives) and verifies it.
pub fn verify_via_json(
    verifier: &Verifier,
    evidence: &Evidence,
    binding: &Binding<'_>,
) -> Result<VerifiedCardFace, EvidenceError> {
    let parsed = Evidence::parse(evidence.to_json().as_bytes()).expect("a document this crate wrote parses");
    assert_eq!(&parsed, evidence, "the document round-trips");
    verifier.verify(&parsed, binding, NOW)
}

/// The error `evidence` is refused with (through the wire format), or a panic if accepted.
pub fn refusal(verifier: &Verifier, evidence: &Evidence, binding: &Binding<'_>) -> EvidenceError {
    match verify_via_json(verifier, evidence, binding) {
        Ok(face) => panic!("accepted: {face:?}"),
        Err(e) => e,
    }
}

// ---------------------------------------------------------------------------------------
// Reading emulated cards (private copies: the fixtures' PIN counters are never touched).
// ---------------------------------------------------------------------------------------

fn tries_left(person: &PersonRecord, application: &str, pin: u16) -> u8 {
    let copy = person.card();
    let card = copy.open();
    let app = card
        .state()
        .applications
        .iter()
        .find(|a| a.name == application)
        .expect("application");
    app.pins.iter().find(|p| p.fid == pin).map_or(0, |p| p.remaining)
}

/// Whether the person's card can do the signature route: it has a signature certificate
/// and the signature password is not blocked.
pub fn can_sign(person: &PersonRecord) -> bool {
    person.sign_password.is_some() && tries_left(person, "jpki", 0x001B) > 0
}

/// Whether the card can do the user-authentication route: neither of its two 4-digit PINs
/// (the user-authentication PIN 0018 of the JPKI AP, the input-support PIN 0011) is blocked.
pub fn can_read_four_digit(person: &PersonRecord) -> bool {
    tries_left(person, "jpki", 0x0018) > 0 && tries_left(person, "input-support", 0x0011) > 0
}

/// Reads the person's card on the signature route, signing `binding`.
///
/// `LastTry::Confirmed`: p05 has one try left, and the password given is the right one.
pub fn read_signature(id: &str, binding: &Binding<'_>) -> Result<Evidence, CardError> {
    let person = mynaid_testkit::person(id);
    let password = person
        .sign_password
        .as_deref()
        .unwrap_or_else(|| panic!("{id} has no signature password"));
    let copy = person.card();
    let mut session = Session::new(InProcessTransport::new(copy.open()));
    let pin = Pin::new(PinKind::Signature, password).expect("password format");
    let reading = routes::read_signature(
        &mut session,
        &pin,
        LastTry::Confirmed,
        &binding.to_be_signed(),
        &mut |_| {},
    )?;
    Ok(Evidence {
        reader: Some(reader()),
        body: Body::Signature {
            certificate: reading.certificate.der.into(),
            signature: reading.signature,
        },
    })
}

/// The person's two 4-digit PINs as they would type them (the input-support PIN typed,
/// never "the same").
pub fn four_digit_pins(person: &PersonRecord) -> FourDigitPins {
    let auth = Pin::new(PinKind::UserAuthentication, &person.auth_pin).expect("PIN format");
    let input_support = Pin::new(PinKind::InputSupport, &person.pin).expect("PIN format");
    FourDigitPins::new(auth, InputSupportPin::Typed(input_support)).expect("PIN kinds")
}

/// Reads the person's card on the user-authentication route, signing `binding`.
///
/// `LastTries::both(LastTry::Confirmed)`: p05 has one try left on the input-support PIN, and
/// the PINs given are the right ones.
pub fn read_user_authentication(id: &str, binding: &Binding<'_>) -> Result<Evidence, CardError> {
    let person = mynaid_testkit::person(id);
    let copy = person.card();
    let mut session = Session::new(InProcessTransport::new(copy.open()));
    let r = routes::read_user_authentication(
        &mut session,
        &four_digit_pins(&person),
        LastTries::both(LastTry::Confirmed),
        &binding.to_be_signed(),
        &mut |_| {},
    )?;
    Ok(Evidence {
        reader: Some(reader()),
        body: Body::UserAuthentication {
            certificate: r.certificate_der.into(),
            signature: r.signature,
            basic_info: r.basic_info_raw.into(),
            integrity_record: r.integrity_raw,
            cv_certificate: r.cv_certificate_raw,
        },
    })
}

/// The card's signature of `binding`, made with `key` as the card would (PKCS#1 v1.5 over
/// `DigestInfo(SHA-256(to_be_signed))`).
pub fn card_signature(key: &PrivateKey, binding: &Binding<'_>) -> Vec<u8> {
    keys::sign(key, SignatureHash::Sha256, &binding.to_be_signed()).expect("sign")
}

// ---------------------------------------------------------------------------------------
// Signature route evidence built from the test PKI.
// ---------------------------------------------------------------------------------------

/// Signature-route evidence from a certificate and a signature.
pub fn signature_evidence(certificate: Vec<u8>, signature: Vec<u8>) -> Evidence {
    Evidence {
        reader: Some(reader()),
        body: Body::Signature {
            certificate: certificate.into(),
            signature,
        },
    }
}

/// The person's signature certificate rebuilt from its spec after `change`, with the card's
/// signature of [`binding`] by the person's own signature key: only the change is wrong.
pub fn signature_variant(id: &str, change: impl FnOnce(&mut CertSpec<'static>)) -> Evidence {
    let pki = pki();
    let person = pki_person(id);
    let mut spec = pki
        .sign_cert_spec(person)
        .expect("spec")
        .expect("signature certificate");
    change(&mut spec);
    let certificate = build_certificate(&spec).expect("certificate");
    let key = &person.sign.as_ref().expect("signature key").key;
    signature_evidence(certificate, card_signature(key, &binding()))
}

/// The signing key of a root.
pub fn root_key(kind: RootKind, generation: mynaid_testpki::Generation) -> &'static PrivateKey {
    &pki().root(kind, generation).key
}

// ---------------------------------------------------------------------------------------
// User-authentication evidence built from the test PKI.
// ---------------------------------------------------------------------------------------

/// What the user-authentication route sends: the JPKI user-authentication certificate, its
/// key's signature, and the input-support AP's records.
#[derive(Clone)]
pub struct UserAuthParts {
    /// JPKI EF 000A, the user-authentication certificate (DER).
    pub certificate: Vec<u8>,
    /// The user-authentication key's signature over the binding.
    pub signature: Vec<u8>,
    /// EF 0002 (the TLV without filler).
    pub basic_info: Vec<u8>,
    /// EF 0003.
    pub integrity_record: Vec<u8>,
    /// EF 0004.
    pub cv_certificate: Vec<u8>,
}

impl UserAuthParts {
    /// The person's certificate and records from the test PKI, and the signature of
    /// [`binding`] by the person's user-authentication key (JPKI EF 0017).
    pub fn of(id: &str) -> UserAuthParts {
        let person = pki_person(id);
        let file = |fid| person.file("input-support", fid).expect("EF").to_vec();
        UserAuthParts {
            certificate: person.auth.certificate.clone(),
            signature: card_signature(&person.auth.key, &binding()),
            basic_info: without_filler(&file(0x0002)),
            integrity_record: file(0x0003),
            cv_certificate: file(0x0004),
        }
    }

    /// The evidence document.
    pub fn evidence(&self) -> Evidence {
        Evidence {
            reader: Some(reader()),
            body: Body::UserAuthentication {
                certificate: self.certificate.clone().into(),
                signature: self.signature.clone(),
                basic_info: self.basic_info.clone().into(),
                integrity_record: Zeroizing::new(self.integrity_record.clone()),
                cv_certificate: self.cv_certificate.clone(),
            },
        }
    }
}

/// The person's user-authentication evidence with the certificate rebuilt from its spec
/// after `change`, the card's signature of [`binding`] by the person's own
/// user-authentication key and the person's own records: only the change is wrong.
pub fn user_auth_variant(id: &str, change: impl FnOnce(&mut CertSpec<'static>)) -> Evidence {
    let mut spec = pki().auth_cert_spec(pki_person(id)).expect("spec");
    change(&mut spec);
    let mut parts = UserAuthParts::of(id);
    parts.certificate = build_certificate(&spec).expect("certificate");
    parts.evidence()
}

/// The BER-TLV object at the start of `file`, without the filler after it.
pub fn without_filler(file: &[u8]) -> Vec<u8> {
    let (tlv, _) = mynaid_apdu::tlv::parse(file).expect("TLV");
    tlv.raw.to_vec()
}

// ---------------------------------------------------------------------------------------
// Privacy checks.
// ---------------------------------------------------------------------------------------

/// The forms a person's data could leak in: the name (whole and each part), the address,
/// the birth date as `YYYY-MM-DD`, `YYYYMMDD` and the SAN's `EYYYYMMDD`.
pub fn personal_strings(person: &PersonRecord) -> Vec<String> {
    let mut out = vec![person.name.clone(), person.address.clone(), person.birthdate.clone()];
    out.extend(
        person
            .name
            .split('\u{3000}')
            .filter(|part| part.chars().count() >= 2)
            .map(str::to_string),
    );
    let compact = person.birthdate.replace('-', "");
    out.push(compact);
    out
}

/// Panics if `text` contains any of `secrets`.
pub fn assert_no_personal_data(text: &str, secrets: &[String], what: &str) {
    for s in secrets {
        assert!(!text.contains(s.as_str()), "{what} leaks personal data: {text}");
    }
}
