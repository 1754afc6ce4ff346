//! The input-support route: evidence read from every emulated card with a usable PIN
//! verifies with the card face of persons.json, and evidence with exactly one record wrong
//! (CV certificate, integrity record, EF 0002, card key record, live signature) is refused
//! with the error of that check.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use mynaid_card::formats::KeyId;
use mynaid_evidence::{EvidenceError, Revocation, RevocationPolicy};
use mynaid_protocol::{Body, Route};
use mynaid_testkit::persons;
use mynaid_testpki::{build_cv_certificate, build_integrity_record, build_signed_key, key_id};

#[test]
fn every_card_with_a_usable_pin_verifies_with_its_card_face() {
    let verifier = verifier();
    let mut verified = Vec::new();
    for person in persons() {
        if !can_read_input_support(&person) {
            continue;
        }
        let evidence = read_input_support(&person.id, &binding()).unwrap_or_else(|e| panic!("{}: {e}", person.id));
        let face = verify_via_json(&verifier, &evidence, &binding()).unwrap_or_else(|e| panic!("{}: {e}", person.id));
        // EF 0002 holds the real characters: p07's 𠮷 and 髙 come back as they are.
        assert_eq!(face.name(), person.name, "{}", person.id);
        assert_eq!(face.address(), person.address, "{}", person.id);
        assert_eq!(face.birth_date().iso(), person.birthdate, "{}", person.id);
        assert_eq!(face.sex().as_str(), person.sex.as_str(), "{}", person.id);
        let claims = face.claims();
        assert_eq!((&claims.name_substitutes, &claims.address_substitutes), (&None, &None));
        let v = face.verification();
        assert_eq!(v.route, Route::InputSupport);
        assert_eq!(v.issuer, "9000033/001");
        assert_eq!(v.revocation, Revocation::NotApplicable);
        assert_eq!(v.certificate_serial, None);
        verified.push(person.id.clone());
    }
    // Every test person's input-support PIN is usable (p05 has one try left).
    assert_eq!(
        verified,
        ["p01", "p02", "p03", "p04", "p05", "p06", "p07", "p08", "p09"]
    );
}

#[test]
fn records_built_from_the_test_pki_verify() {
    // The baseline of the negative tests below: unchanged parts are accepted, so each
    // refusal comes from the one part a test changes.
    let face = verify_via_json(&verifier(), &InputSupportParts::of("p01").evidence(), &binding()).unwrap();
    assert_eq!(face.name(), mynaid_testkit::person("p01").name);
    // The same records as the card sends.
    let read = read_input_support("p01", &binding()).unwrap();
    let Body::InputSupport {
        basic_info,
        integrity_record,
        cv_certificate,
        signed_key,
        signature,
    } = read.body
    else {
        unreachable!()
    };
    let parts = InputSupportParts::of("p01");
    assert_eq!(basic_info, parts.basic_info.into());
    assert_eq!(*integrity_record, parts.integrity_record);
    assert_eq!(cv_certificate, parts.cv_certificate);
    assert_eq!(signed_key, parts.signed_key);
    assert_eq!(signature, parts.signature);
}

#[test]
fn basic_info_changed_by_one_byte_is_refused() {
    let mut parts = InputSupportParts::of("p01");
    // The sex code, the last byte of the TLV: '1' → '2' still parses, so only the digest
    // can tell.
    let last = parts.basic_info.len() - 1;
    assert_eq!(parts.basic_info[last], b'1');
    parts.basic_info[last] = b'2';
    assert_eq!(
        refusal(&verifier(), &parts.evidence(), &binding()),
        EvidenceError::BasicInfoDigestMismatch
    );
}

#[test]
fn basic_info_of_another_person_is_refused() {
    let mut parts = InputSupportParts::of("p01");
    parts.basic_info = InputSupportParts::of("p02").basic_info;
    assert_eq!(
        refusal(&verifier(), &parts.evidence(), &binding()),
        EvidenceError::BasicInfoDigestMismatch
    );
}

#[test]
fn integrity_record_signed_by_another_key_is_refused() {
    let person = pki_person("p01");
    let ef0001 = person.file("input-support", 0x0001).unwrap();
    let ef0002 = person.file("input-support", 0x0002).unwrap();
    let mut parts = InputSupportParts::of("p01");
    parts.integrity_record = build_integrity_record(ef0001, ef0002, &pki().cv_ca.key).unwrap();
    assert_eq!(
        refusal(&verifier(), &parts.evidence(), &binding()),
        EvidenceError::IntegritySignatureInvalid
    );
}

#[test]
fn signed_key_not_signed_by_the_cv_certificate_key_is_refused() {
    let person = pki_person("p01");
    let mut parts = InputSupportParts::of("p01");
    parts.signed_key = build_signed_key(&person.card_key.to_public_key(), &pki().cv_ca.key).unwrap();
    assert_eq!(
        refusal(&verifier(), &parts.evidence(), &binding()),
        EvidenceError::SignedKeySignatureInvalid
    );
}

#[test]
fn cv_certificate_signed_by_another_key_is_refused() {
    let pki = pki();
    let mut parts = InputSupportParts::of("p01");
    let data_key = pki.ap_data_key.key.to_public_key();
    parts.cv_certificate =
        build_cv_certificate(&pki.cv_ca.id, &pki.ap_data_key.id, &data_key, &pki.ap_data_key.key).unwrap();
    assert_eq!(
        refusal(&verifier(), &parts.evidence(), &binding()),
        EvidenceError::CvCertificateSignatureInvalid
    );
}

#[test]
fn unknown_cv_ca_is_refused() {
    let pki = pki();
    let mut parts = InputSupportParts::of("p01");
    let data_key = pki.ap_data_key.key.to_public_key();
    let other_ca = key_id("9000099/001").unwrap();
    parts.cv_certificate = build_cv_certificate(&other_ca, &pki.ap_data_key.id, &data_key, &pki.cv_ca.key).unwrap();
    assert_eq!(
        refusal(&verifier(), &parts.evidence(), &binding()),
        EvidenceError::UnknownCvCa("9000099/001".into())
    );
    // A verifier that has no CV CA key at all knows none.
    let no_cv = verifier_with(&root_ders(), &crl_ders(), RevocationPolicy::RequireCrl, Vec::new());
    assert_eq!(
        refusal(&no_cv, &InputSupportParts::of("p01").evidence(), &binding()),
        EvidenceError::UnknownCvCa(KeyId(pki.cv_ca.id).to_string())
    );
}

#[test]
fn ap_signature_of_another_card_is_refused() {
    // p02's card signed this session; p01's records were sent with it.
    let p01 = read_input_support("p01", &binding()).unwrap();
    let p02 = read_input_support("p02", &binding()).unwrap();
    let (
        Body::InputSupport {
            basic_info,
            integrity_record,
            cv_certificate,
            signed_key,
            ..
        },
        Body::InputSupport { signature, .. },
    ) = (p01.body, p02.body)
    else {
        unreachable!()
    };
    let spliced = mynaid_protocol::Evidence {
        reader: None,
        body: Body::InputSupport {
            basic_info,
            integrity_record,
            cv_certificate,
            signed_key,
            signature,
        },
    };
    assert_eq!(
        refusal(&verifier(), &spliced, &binding()),
        EvidenceError::CardSignatureInvalid
    );
}

/// The documented limit of this route (docs/evidence.md "Limits", `card-protocol.md` §9):
/// nothing the issuer signs ties the card key (EF 0007) to the card face (EF 0002 via EF
/// 0003). Anyone who holds a copy of p01's EF 0002/0003 (a relying party that once received
/// p01's evidence, say) can send them with *their own* card's EF 0007 and live signature, and
/// the verifier accepts p01's card face — under the card-link identifier of the presenting
/// card (p02's), and labelled as what it is: `acr` `urn:mynaid:acr:card-records`, not of AML
/// grade. This test states today's behaviour, so that a change to it is seen: the JPKI
/// user-authentication route (issue 18) replaces this one.
#[test]
fn records_of_one_card_with_the_key_and_signature_of_another_are_accepted_as_card_records() {
    let p01 = read_input_support("p01", &binding()).unwrap();
    let p02 = read_input_support("p02", &binding()).unwrap();
    let (
        Body::InputSupport {
            basic_info,
            integrity_record,
            cv_certificate,
            ..
        },
        Body::InputSupport {
            signed_key, signature, ..
        },
    ) = (p01.body, p02.body)
    else {
        unreachable!()
    };
    let spliced = mynaid_protocol::Evidence {
        reader: None,
        body: Body::InputSupport {
            basic_info,
            integrity_record,
            cv_certificate,
            signed_key,
            signature,
        },
    };
    let face = verify_via_json(&verifier(), &spliced, &binding()).expect("the documented limit");
    assert_eq!(
        face.claims().name,
        mynaid_testkit::person("p01").name,
        "p01's card face"
    );
    assert_eq!(
        face.claims().verification.route.acr(),
        mynaid_protocol::ACR_CARD_RECORDS
    );
    let genuine_p02 =
        verify_via_json(&verifier(), &read_input_support("p02", &binding()).unwrap(), &binding()).unwrap();
    assert_eq!(
        face.card_link_id(b"link-secret-for-this-test-0123456", "rp"),
        genuine_p02.card_link_id(b"link-secret-for-this-test-0123456", "rp"),
        "the identifier follows the presenting card's key"
    );
}
