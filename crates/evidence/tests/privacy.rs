//! No personal data in what gets logged: `Debug` and `Display` of every error the verifier
//! gives for a person's evidence, and `Debug` of the evidence, the verified card face and
//! its claims, never contain the person's name, address or birth date; the claims never
//! contain DF31 of EF 0003 (the Individual Number in disguise) nor the number itself.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use common::*;
use mynaid_apdu::tlv::{self, Tag};
use mynaid_evidence::{EvidenceError, RevocationPolicy};
use mynaid_protocol::{Binding, Body, Evidence};
use mynaid_testpki::x509::oid;
use mynaid_testpki::{
    Generation, KeyUsageSpec, RevokedEntry, RootKind, SignatureHash, build_crl, build_cv_certificate,
    build_integrity_record, key_id,
};

/// A change to a certificate spec.
type CertChange = Box<dyn FnOnce(&mut mynaid_testpki::CertSpec<'static>)>;

/// Evidence of `id` refused in as many ways as can be made, with the verifier to use.
fn refused_evidence(id: &str) -> Vec<(&'static str, Evidence, mynaid_evidence::Verifier)> {
    let v = verifier;
    let mut out: Vec<(&'static str, Evidence, mynaid_evidence::Verifier)> = Vec::new();

    // Signature route.
    let sig = read_signature(id, &binding()).unwrap();
    let other_session = Binding {
        session: b"another session",
        ..binding()
    };
    out.push(("card signature", read_signature(id, &other_session).unwrap(), v()));
    let variants: [(&str, CertChange); 9] = [
        ("expired", Box::new(|s| s.not_after = date(2026, 1, 1))),
        ("not yet valid", Box::new(|s| s.not_before = date(2027, 1, 1))),
        (
            "key usage",
            Box::new(|s| {
                s.key_usage = Some(KeyUsageSpec {
                    critical: false,
                    ..KeyUsageSpec::signature()
                })
            }),
        ),
        ("CA", Box::new(|s| s.ca = Some(true))),
        ("SHA-1", Box::new(|s| s.signature_hash = SignatureHash::Sha1)),
        ("unknown issuer", Box::new(|s| s.authority_key_id = None)),
        (
            "issuer signature",
            Box::new(|s| s.issuer_key = root_key(RootKind::Sign, Generation::G1)),
        ),
        (
            "critical extension",
            Box::new(|s| {
                s.extra_extensions
                    .push((der::asn1::ObjectIdentifier::new_unwrap("1.2.3.4"), true, vec![5, 0]))
            }),
        ),
        (
            "duplicate SAN",
            Box::new(|s| s.san.as_mut().unwrap().push((oid::SAN_ADDRESS, "東京都".into()))),
        ),
    ];
    for (what, change) in variants {
        out.push((what, signature_variant(id, change), v()));
    }
    let Body::Signature { certificate, signature } = &sig.body else {
        unreachable!()
    };
    out.push((
        "malformed certificate",
        signature_evidence(certificate[..600].to_vec(), signature.clone()),
        v(),
    ));
    out.push((
        "revocation unknown",
        sig.clone(),
        verifier_with(&root_ders(), &[], RevocationPolicy::RequireCrl, vec![cv_ca()]),
    ));
    let mut stale = pki().crl_spec(RootKind::Sign, Generation::G2);
    stale.next_update = Some(date(2026, 1, 1));
    let mut crls = crl_ders();
    crls[1] = build_crl(&stale).unwrap();
    out.push((
        "CRL out of date",
        sig.clone(),
        verifier_with(&root_ders(), &crls, RevocationPolicy::RequireCrl, vec![cv_ca()]),
    ));

    // User-authentication route.
    let pki = pki();
    let person = pki_person(id);
    let parts = UserAuthParts::of(id);
    let mut digest = parts.clone();
    *digest.basic_info.last_mut().unwrap() ^= 0x03;
    out.push(("digest", digest.evidence(), v()));
    let mut integrity = parts.clone();
    let (ef0001, ef0002) = (
        person.file("input-support", 1).unwrap(),
        person.file("input-support", 2).unwrap(),
    );
    integrity.integrity_record = build_integrity_record(ef0001, ef0002, &pki.cv_ca.key).unwrap();
    out.push(("integrity", integrity.evidence(), v()));
    // The person's signature certificate, whose SAN names them, presented on this route.
    let sign = person.sign.as_ref().unwrap();
    let mut wrong_kind = parts.clone();
    wrong_kind.certificate = sign.certificate.clone();
    wrong_kind.signature = card_signature(&sign.key, &binding());
    out.push(("signature certificate on the 4-digit route", wrong_kind.evidence(), v()));
    out.push((
        "user-authentication key usage",
        user_auth_variant(id, |s| s.key_usage = Some(KeyUsageSpec::signature())),
        v(),
    ));
    out.push((
        "user-authentication expired",
        user_auth_variant(id, |s| s.not_after = date(2026, 1, 1)),
        v(),
    ));
    // A CRL of the person's user-authentication issuer that lists their certificate.
    let generation = person.profile.generation;
    let mut revoking = pki.crl_spec(RootKind::Auth, generation);
    revoking.this_update = date(2026, 1, 1);
    revoking.revoked.push(RevokedEntry {
        serial: person.auth.serial.clone(),
        revocation_date: date(2026, 1, 1),
        reason: None,
    });
    let mut crls = crl_ders();
    crls.push(build_crl(&revoking).unwrap());
    out.push((
        "revoked",
        parts.evidence(),
        verifier_with(&root_ders(), &crls, RevocationPolicy::RequireCrl, vec![cv_ca()]),
    ));
    let data_key = pki.ap_data_key.key.to_public_key();
    let mut cv = parts.clone();
    cv.cv_certificate =
        build_cv_certificate(&pki.cv_ca.id, &pki.ap_data_key.id, &data_key, &pki.ap_data_key.key).unwrap();
    out.push(("CV signature", cv.evidence(), v()));
    let mut unknown_cv = parts.clone();
    unknown_cv.cv_certificate = build_cv_certificate(
        &key_id("9000099/001").unwrap(),
        &pki.ap_data_key.id,
        &data_key,
        &pki.cv_ca.key,
    )
    .unwrap();
    out.push(("unknown CV CA", unknown_cv.evidence(), v()));
    let mut truncated = parts.clone();
    truncated.basic_info.truncate(40);
    out.push(("truncated EF 0002", truncated.evidence(), v()));
    let mut card_sig = parts.clone();
    card_sig.signature[7] ^= 1;
    out.push(("user-authentication signature", card_sig.evidence(), v()));
    out
}

fn check_person(id: &str) {
    let person = mynaid_testkit::person(id);
    let secrets = personal_strings(&person);
    let mut kinds = std::collections::HashSet::new();
    for (what, evidence, verifier) in refused_evidence(id) {
        assert_no_personal_data(&format!("{evidence:?}"), &secrets, "Evidence Debug");
        let err = refusal(&verifier, &evidence, &binding());
        assert_no_personal_data(&format!("{err:?}"), &secrets, what);
        assert_no_personal_data(&err.to_string(), &secrets, what);
        kinds.insert(std::mem::discriminant(&err));
    }
    // Document errors from the person's own documents.
    for evidence in [
        read_signature(id, &binding()).unwrap(),
        read_user_authentication(id, &binding()).unwrap(),
    ] {
        let json = evidence.to_json();
        let broken = [
            json[..json.len() / 2].to_string(),
            json.replacen("\"signature\":\"", "\"signature\":\"!", 1),
            json.replacen("\"format\"", "\"unknown\":1,\"format\"", 1),
            json.replacen("\"route\":\"", "\"route\":\"x", 1),
        ];
        for doc in broken {
            let err = EvidenceError::from(Evidence::parse(doc.as_bytes()).unwrap_err());
            assert_no_personal_data(&format!("{err:?}"), &secrets, "document error");
            assert_no_personal_data(&err.to_string(), &secrets, "document error");
            kinds.insert(std::mem::discriminant(&err));
        }
    }
    // The refusals above cover this many different error variants (a guard against a
    // catalogue that silently collapses to one error).
    assert!(kinds.len() >= 20, "{} kinds", kinds.len());

    for evidence in [
        read_signature(id, &binding()).unwrap(),
        read_user_authentication(id, &binding()).unwrap(),
    ] {
        assert_no_personal_data(&format!("{evidence:?}"), &secrets, "Evidence Debug");
        let face = verify_via_json(&verifier(), &evidence, &binding()).unwrap();
        assert_no_personal_data(&format!("{face:?}"), &secrets, "VerifiedCardFace Debug");
        assert_no_personal_data(&format!("{:?}", face.claims()), &secrets, "CardFaceClaims Debug");
        assert_no_personal_data(&format!("{:?}", face.verification()), &secrets, "Verification Debug");
        // The claims themselves do carry the name: the check above is not vacuous.
        assert!(serde_json::to_string(&face.claims()).unwrap().contains(face.name()));
    }
}

#[test]
fn errors_and_debug_output_of_p01_carry_no_personal_data() {
    check_person("p01");
}

#[test]
fn errors_and_debug_output_of_p07_carry_no_personal_data() {
    check_person("p07");
}

#[test]
fn revocation_errors_of_p08_and_p10_carry_no_personal_data() {
    // p08: the signature certificate; p10 (card reported lost): both certificates.
    for (id, evidence) in [
        ("p08", read_signature("p08", &binding()).unwrap()),
        ("p10", read_signature("p10", &binding()).unwrap()),
        ("p10", read_user_authentication("p10", &binding()).unwrap()),
    ] {
        let person = mynaid_testkit::person(id);
        let err = refusal(&verifier(), &evidence, &binding());
        assert_eq!(err, EvidenceError::Revoked, "{id} {:?}", evidence.route());
        assert_no_personal_data(
            &format!("{err:?} {err} {evidence:?}"),
            &personal_strings(&person),
            "Revoked",
        );
    }
}

/// Every text form DF31 could appear in.
fn encodings(bytes: &[u8]) -> Vec<String> {
    vec![
        hex::encode(bytes),
        hex::encode_upper(bytes),
        tlv::hex(bytes),
        STANDARD.encode(bytes),
        STANDARD_NO_PAD.encode(bytes),
        URL_SAFE.encode(bytes),
        URL_SAFE_NO_PAD.encode(bytes),
    ]
}

#[test]
fn claims_carry_neither_df31_nor_the_individual_number() {
    for id in ["p01", "p07"] {
        let evidence = read_user_authentication(id, &binding()).unwrap();
        let Body::UserAuthentication { integrity_record, .. } = &evidence.body else {
            unreachable!()
        };
        let (record, _) = tlv::expect_at(integrity_record, Tag(0xFF30), 0).unwrap();
        let (df31, _) = tlv::expect_at(record.value, Tag(0xDF31), 0).unwrap();
        assert_eq!(df31.value.len(), 32);
        let face = verify_via_json(&verifier(), &evidence, &binding()).unwrap();
        let json = serde_json::to_string(&face.claims()).unwrap();
        let debug = format!("{face:?} {:?} {evidence:?}", face.claims());
        let my_number = &pki_person(id).my_number;
        for text in [&json, &debug] {
            for form in encodings(df31.value) {
                assert!(!text.contains(&form), "{id}: DF31 in {text}");
            }
            assert!(
                !text.contains(my_number.as_str()),
                "{id}: the Individual Number in {text}"
            );
        }
    }
}
