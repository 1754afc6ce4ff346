//! What the card's signature is bound to (origin, challenge, session, purpose) on both
//! routes, and the pairwise card-link identifier.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use common::*;
use mynaid_evidence::{EvidenceError, VerifiedCardFace};
use mynaid_protocol::{Binding, Body, Evidence};
use sha2::{Digest, Sha256};

const OTHER_CHALLENGE: [u8; 32] = [0xA5; 32];

/// The binding with each of its four values changed in turn.
fn other_bindings() -> Vec<(&'static str, Binding<'static>)> {
    let base = binding();
    vec![
        (
            "origin",
            Binding {
                origin: "https://evil.example.jp",
                ..base
            },
        ),
        (
            "challenge",
            Binding {
                challenge: &OTHER_CHALLENGE,
                ..base
            },
        ),
        (
            "session",
            Binding {
                session: b"session-2",
                ..base
            },
        ),
        (
            "purpose",
            Binding {
                purpose: mynaid_protocol::Purpose::LinkCard,
                ..base
            },
        ),
    ]
}

fn assert_bound_to_the_session(route: &str, evidence: &Evidence) {
    let verifier = verifier();
    assert!(
        verify_via_json(&verifier, evidence, &binding()).is_ok(),
        "{route}: the session it was made for"
    );
    for (what, other) in other_bindings() {
        assert_eq!(
            refusal(&verifier, evidence, &other),
            EvidenceError::CardSignatureInvalid,
            "{route}: evidence verified for another {what}"
        );
    }
}

#[test]
fn signature_route_is_bound_to_origin_challenge_session_and_purpose() {
    assert_bound_to_the_session("signature", &read_signature("p01", &binding()).unwrap());
}

#[test]
fn user_authentication_route_is_bound_to_origin_challenge_session_and_purpose() {
    assert_bound_to_the_session(
        "user_authentication",
        &read_user_authentication("p01", &binding()).unwrap(),
    );
}

const SECRET: &[u8] = b"server card-link secret, 32 byte";

fn faces(id: &str, challenge: &'static [u8; 32]) -> (VerifiedCardFace, VerifiedCardFace) {
    let b = Binding { challenge, ..binding() };
    let verifier = verifier();
    let sig = verify_via_json(&verifier, &read_signature(id, &b).unwrap(), &b).unwrap();
    let ua = verify_via_json(&verifier, &read_user_authentication(id, &b).unwrap(), &b).unwrap();
    (sig, ua)
}

#[test]
fn card_link_id_is_stable_per_card_route_and_relying_party() {
    let (sig_1, ua_1) = faces("p01", &CHALLENGE);
    let (sig_2, ua_2) = faces("p01", &OTHER_CHALLENGE);
    let (sig_other_card, ua_other_card) = faces("p02", &CHALLENGE);
    let rp = "https://portal.example.jp";
    for (route, first, second, other_card) in [
        ("signature", &sig_1, &sig_2, &sig_other_card),
        ("user_authentication", &ua_1, &ua_2, &ua_other_card),
    ] {
        let id = first.card_link_id(SECRET, rp);
        assert_eq!(
            id,
            second.card_link_id(SECRET, rp),
            "{route}: two evidences of one card"
        );
        assert_ne!(
            id,
            first.card_link_id(SECRET, "https://other.example.jp"),
            "{route}: another relying party"
        );
        assert_ne!(id, other_card.card_link_id(SECRET, rp), "{route}: another card");
        assert_ne!(
            id,
            first.card_link_id(b"another server secret", rp),
            "{route}: another secret"
        );
        assert_eq!(
            URL_SAFE_NO_PAD.decode(&id).unwrap().len(),
            32,
            "{route}: an HMAC-SHA-256 tag"
        );
    }
    // The routes use different keys of the card, and the route is part of the input.
    assert_ne!(sig_1.card_link_id(SECRET, rp), ua_1.card_link_id(SECRET, rp));
}

/// The card-link identifier of the user-authentication route follows the key of the
/// user-authentication certificate (its SubjectPublicKeyInfo), not the certificate and not
/// the records: a certificate re-issued for the same key (another serial, here) gives the
/// same identifier, one for another key a different one.
#[test]
fn user_authentication_card_link_id_follows_the_certificates_key() {
    let rp = "https://portal.example.jp";
    let genuine = verify_via_json(&verifier(), &UserAuthParts::of("p01").evidence(), &binding()).unwrap();
    let reissued_evidence = user_auth_variant("p01", |spec| spec.serial = vec![0x7E; 16]);
    let Body::UserAuthentication { certificate, .. } = &reissued_evidence.body else {
        unreachable!()
    };
    assert_ne!(certificate.as_slice(), pki_person("p01").auth.certificate.as_slice());
    assert_eq!(spki_of(certificate), spki_of(&pki_person("p01").auth.certificate));
    let reissued = verify_via_json(&verifier(), &reissued_evidence, &binding()).unwrap();
    assert_ne!(
        reissued.verification().certificate_serial,
        genuine.verification().certificate_serial
    );
    assert_eq!(reissued.card_link_id(SECRET, rp), genuine.card_link_id(SECRET, rp));
    // p01's records with p02's certificate and signature: p02's identifier (the splice of
    // docs/evidence.md "Limits" links the presenting card).
    let mut spliced = UserAuthParts::of("p01");
    let p02 = UserAuthParts::of("p02");
    spliced.certificate = p02.certificate.clone();
    spliced.signature = p02.signature.clone();
    let spliced = verify_via_json(&verifier(), &spliced.evidence(), &binding()).unwrap();
    let p02 = verify_via_json(&verifier(), &p02.evidence(), &binding()).unwrap();
    assert_eq!(spliced.card_link_id(SECRET, rp), p02.card_link_id(SECRET, rp));
    assert_ne!(spliced.card_link_id(SECRET, rp), genuine.card_link_id(SECRET, rp));
}

/// SubjectPublicKeyInfo DER of a certificate.
fn spki_of(certificate: &[u8]) -> Vec<u8> {
    use der::{Decode, Encode};
    let cert = x509_cert::Certificate::from_der(certificate).unwrap();
    cert.tbs_certificate().subject_public_key_info().to_der().unwrap()
}

/// The PKCS#1 `RSAPublicKey` a certificate certifies.
fn pkcs1_of(certificate: &[u8]) -> Vec<u8> {
    use der::Decode;
    let cert = x509_cert::Certificate::from_der(certificate).unwrap();
    let spki = cert.tbs_certificate().subject_public_key_info();
    spki.subject_public_key.as_bytes().unwrap().to_vec()
}

/// The modulus (without a leading zero) of a PKCS#1 `RSAPublicKey`.
fn modulus_of(pkcs1: &[u8]) -> Vec<u8> {
    let (seq, _) = mynaid_apdu::tlv::expect_at(pkcs1, mynaid_apdu::tlv::Tag(0x30), 0).unwrap();
    let (n, _) = mynaid_apdu::tlv::expect_at(seq.value, mynaid_apdu::tlv::Tag(0x02), 0).unwrap();
    n.value.strip_prefix(&[0]).unwrap_or(n.value).to_vec()
}

/// Every encoding of `bytes` a careless implementation might put into an identifier.
fn encodings(bytes: &[u8]) -> Vec<String> {
    vec![
        hex::encode(bytes),
        hex::encode_upper(bytes),
        STANDARD.encode(bytes),
        STANDARD_NO_PAD.encode(bytes),
        URL_SAFE.encode(bytes),
        URL_SAFE_NO_PAD.encode(bytes),
    ]
}

#[test]
fn card_link_id_does_not_contain_the_card_key() {
    let evidence = read_user_authentication("p01", &binding()).unwrap();
    let face = verify_via_json(&verifier(), &evidence, &binding()).unwrap();
    let sig_evidence = read_signature("p01", &binding()).unwrap();
    let sig_face = verify_via_json(&verifier(), &sig_evidence, &binding()).unwrap();
    let mut key_forms = Vec::new();
    for certificate in [&evidence, &sig_evidence].map(|e| match &e.body {
        Body::UserAuthentication { certificate, .. } | Body::Signature { certificate, .. } => certificate,
    }) {
        // The SubjectPublicKeyInfo, its hash, the bare PKCS#1 key, its hash, the modulus.
        let spki = spki_of(certificate);
        let pkcs1 = pkcs1_of(certificate);
        key_forms.push(Sha256::digest(&spki).to_vec());
        key_forms.push(spki);
        key_forms.push(Sha256::digest(&pkcs1).to_vec());
        key_forms.push(modulus_of(&pkcs1));
        key_forms.push(pkcs1);
    }

    for id in [face.card_link_id(SECRET, "rp"), sig_face.card_link_id(SECRET, "rp")] {
        let decoded = URL_SAFE_NO_PAD.decode(&id).unwrap();
        for form in &key_forms {
            // Neither the identifier nor its bytes are (or contain 8 bytes of) the key, the
            // key's DER or the key's hash, in any usual encoding.
            assert!(!form.windows(8).any(|w| decoded.windows(8).any(|d| d == w)), "{id}");
            for text in encodings(form) {
                for window in id.as_bytes().windows(12) {
                    let window = std::str::from_utf8(window).unwrap();
                    assert!(!text.contains(window), "{id} contains a piece of the key's encoding");
                }
            }
        }
    }
}
