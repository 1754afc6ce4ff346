//! What the card's signature is bound to (origin, challenge, session, purpose) on both
//! routes, and the pairwise card-link identifier.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use common::*;
use mynaid_card::formats::SignedKey;
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
fn input_support_route_is_bound_to_origin_challenge_session_and_purpose() {
    assert_bound_to_the_session("input_support", &read_input_support("p01", &binding()).unwrap());
}

const SECRET: &[u8] = b"server card-link secret, 32 byte";

fn faces(id: &str, challenge: &'static [u8; 32]) -> (VerifiedCardFace, VerifiedCardFace) {
    let b = Binding { challenge, ..binding() };
    let verifier = verifier();
    let sig = verify_via_json(&verifier, &read_signature(id, &b).unwrap(), &b).unwrap();
    let is = verify_via_json(&verifier, &read_input_support(id, &b).unwrap(), &b).unwrap();
    (sig, is)
}

#[test]
fn card_link_id_is_stable_per_card_route_and_relying_party() {
    let (sig_1, is_1) = faces("p01", &CHALLENGE);
    let (sig_2, is_2) = faces("p01", &OTHER_CHALLENGE);
    let (sig_other_card, is_other_card) = faces("p02", &CHALLENGE);
    let rp = "https://portal.example.jp";
    for (route, first, second, other_card) in [
        ("signature", &sig_1, &sig_2, &sig_other_card),
        ("input_support", &is_1, &is_2, &is_other_card),
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
    assert_ne!(sig_1.card_link_id(SECRET, rp), is_1.card_link_id(SECRET, rp));
}

/// SubjectPublicKeyInfo DER of a certificate.
fn spki_of(certificate: &[u8]) -> Vec<u8> {
    use der::{Decode, Encode};
    let cert = x509_cert::Certificate::from_der(certificate).unwrap();
    cert.tbs_certificate().subject_public_key_info().to_der().unwrap()
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
    let evidence = read_input_support("p01", &binding()).unwrap();
    let face = verify_via_json(&verifier(), &evidence, &binding()).unwrap();
    let Body::InputSupport { signed_key, .. } = &evidence.body else {
        unreachable!()
    };
    let key = SignedKey::parse(signed_key).unwrap().public_key;
    let pkcs1 = key.to_pkcs1_der();
    let mut key_forms = vec![key.modulus.clone(), pkcs1.clone(), Sha256::digest(&pkcs1).to_vec()];
    let sig_evidence = read_signature("p01", &binding()).unwrap();
    let sig_face = verify_via_json(&verifier(), &sig_evidence, &binding()).unwrap();
    let Body::Signature { certificate, .. } = &sig_evidence.body else {
        unreachable!()
    };
    let spki = spki_of(certificate);
    key_forms.push(Sha256::digest(&spki).to_vec());
    key_forms.push(spki);

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
