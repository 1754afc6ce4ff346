//! Truncated, oversized and otherwise malformed input gives a clear error of the right
//! kind (`Document`, `CardData`, `CertificateMalformed`) and never a panic; the production
//! trust store refuses the test roots.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use mynaid_card::formats::FormatErrorKind;
use mynaid_evidence::{CertRole, EvidenceError, TrustError, TrustMode, TrustStore};
use mynaid_protocol::{
    Body, DocumentError, Evidence, FORMAT, MAX_CERTIFICATE_BYTES, MAX_DOCUMENT_BYTES, MAX_RECORD_BYTES,
};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// The input-support records of a user-authentication document.
const RECORDS: [&str; 3] = ["basic_info", "integrity_record", "cv_certificate"];

/// `evidence` with the user-authentication field `name` replaced by `f(old value)`.
fn with_ua_field(evidence: &Evidence, name: &str, f: impl FnOnce(&[u8]) -> Vec<u8>) -> Evidence {
    let mut e = evidence.clone();
    let Body::UserAuthentication {
        certificate,
        signature,
        basic_info,
        integrity_record,
        cv_certificate,
    } = &mut e.body
    else {
        panic!("not a user-authentication document")
    };
    match name {
        "certificate" => *certificate = f(certificate).into(),
        "basic_info" => *basic_info = f(basic_info).into(),
        "integrity_record" => *integrity_record = Zeroizing::new(f(integrity_record)),
        "cv_certificate" => *cv_certificate = f(cv_certificate),
        "signature" => *signature = f(signature),
        other => panic!("no field {other}"),
    }
    e
}

/// `evidence` with the signature-route field `name` replaced by `f(old value)`.
fn with_sig_field(evidence: &Evidence, name: &str, f: impl FnOnce(&[u8]) -> Vec<u8>) -> Evidence {
    let mut e = evidence.clone();
    let Body::Signature { certificate, signature } = &mut e.body else {
        panic!("not a signature document")
    };
    match name {
        "certificate" => *certificate = f(certificate).into(),
        "signature" => *signature = f(signature),
        other => panic!("no field {other}"),
    }
    e
}

fn field_len(evidence: &Evidence, name: &str) -> usize {
    let mut len = 0;
    let probe = |v: &[u8]| {
        len = v.len();
        v.to_vec()
    };
    match evidence.body {
        Body::Signature { .. } => drop(with_sig_field(evidence, name, probe)),
        Body::UserAuthentication { .. } => drop(with_ua_field(evidence, name, probe)),
    }
    len
}

#[test]
fn every_prefix_of_a_document_is_malformed() {
    for evidence in [
        read_signature("p01", &binding()).unwrap(),
        read_user_authentication("p07", &binding()).unwrap(),
    ] {
        let json = evidence.to_json();
        assert!(Evidence::parse(json.as_bytes()).is_ok());
        for end in 0..json.len() {
            let err = Evidence::parse(&json.as_bytes()[..end]).unwrap_err();
            assert!(
                matches!(err, DocumentError::Malformed(_)),
                "prefix of {end} bytes: {err:?}"
            );
            assert!(matches!(
                EvidenceError::from(err),
                EvidenceError::Document(DocumentError::Malformed(_))
            ));
        }
    }
}

#[test]
fn truncated_certificate_is_malformed() {
    let verifier = verifier();
    let evidence = read_signature("p01", &binding()).unwrap();
    let len = field_len(&evidence, "certificate");
    for end in 0..len {
        let e = with_sig_field(&evidence, "certificate", |c| c[..end].to_vec());
        assert_eq!(
            refusal(&verifier, &e, &binding()),
            EvidenceError::CertificateMalformed(CertRole::EndEntity),
            "certificate cut to {end} of {len} bytes"
        );
    }
    // The user-authentication certificate likewise.
    let evidence = read_user_authentication("p01", &binding()).unwrap();
    let len = field_len(&evidence, "certificate");
    for end in 0..len {
        let e = with_ua_field(&evidence, "certificate", |c| c[..end].to_vec());
        assert_eq!(
            refusal(&verifier, &e, &binding()),
            EvidenceError::CertificateMalformed(CertRole::EndEntity),
            "user-authentication certificate cut to {end} of {len} bytes"
        );
    }
}

#[test]
fn truncated_input_support_records_are_card_data_errors() {
    let verifier = verifier();
    // p07's EF 0002 is longer than 256 bytes (long-form lengths).
    for id in ["p01", "p07"] {
        let evidence = read_user_authentication(id, &binding()).unwrap();
        for field in RECORDS {
            let len = field_len(&evidence, field);
            for end in 0..len {
                let e = with_ua_field(&evidence, field, |v| v[..end].to_vec());
                let err = refusal(&verifier, &e, &binding());
                assert!(
                    matches!(&err, EvidenceError::CardData(f) if matches!(f.kind, FormatErrorKind::Tlv(_))),
                    "{id} {field} cut to {end} of {len} bytes: {err:?}"
                );
            }
        }
    }
}

#[test]
fn truncated_card_signature_does_not_verify() {
    // The signature is opaque bytes: a short one is simply not the card's signature.
    let verifier = verifier();
    let sig = read_signature("p01", &binding()).unwrap();
    let ua = read_user_authentication("p01", &binding()).unwrap();
    for end in [0, 1, 128, 255] {
        let e = with_sig_field(&sig, "signature", |s| s[..end].to_vec());
        assert_eq!(
            refusal(&verifier, &e, &binding()),
            EvidenceError::CardSignatureInvalid,
            "{end}"
        );
        let e = with_ua_field(&ua, "signature", |s| s[..end].to_vec());
        assert_eq!(
            refusal(&verifier, &e, &binding()),
            EvidenceError::CardSignatureInvalid,
            "{end}"
        );
    }
}

#[test]
fn oversized_fields_are_refused_before_decoding() {
    let sig = read_signature("p01", &binding()).unwrap();
    let ua = read_user_authentication("p01", &binding()).unwrap();
    let grow = |max: usize| move |v: &[u8]| [v, &vec![0xFF; max + 1 - v.len()]].concat();
    let cases = [
        (
            "certificate",
            with_sig_field(&sig, "certificate", grow(MAX_CERTIFICATE_BYTES)),
            MAX_CERTIFICATE_BYTES,
        ),
        ("signature", with_sig_field(&sig, "signature", grow(512)), 512),
        (
            "certificate",
            with_ua_field(&ua, "certificate", grow(MAX_CERTIFICATE_BYTES)),
            MAX_CERTIFICATE_BYTES,
        ),
        (
            "basic_info",
            with_ua_field(&ua, "basic_info", grow(MAX_RECORD_BYTES)),
            MAX_RECORD_BYTES,
        ),
        (
            "integrity_record",
            with_ua_field(&ua, "integrity_record", grow(MAX_RECORD_BYTES)),
            MAX_RECORD_BYTES,
        ),
        (
            "cv_certificate",
            with_ua_field(&ua, "cv_certificate", grow(MAX_RECORD_BYTES)),
            MAX_RECORD_BYTES,
        ),
        ("signature", with_ua_field(&ua, "signature", grow(512)), 512),
    ];
    for (name, evidence, limit) in cases {
        let err = Evidence::parse(evidence.to_json().as_bytes()).unwrap_err();
        assert!(
            matches!(err, DocumentError::FieldTooLarge { field, max, .. } if field == name && max == limit),
            "{name}: {err:?}"
        );
    }
    // A field far over its limit is refused from its encoded length, before it is decoded.
    let huge = format!(
        "{{\"format\":\"{FORMAT}\",\"route\":\"user_authentication\",\"signature\":\"AA\",\"certificate\":\"AA\",\"basic_info\":\"{}\"}}",
        "A".repeat(MAX_DOCUMENT_BYTES - 200)
    );
    assert!(matches!(
        Evidence::parse(huge.as_bytes()),
        Err(DocumentError::FieldTooLarge {
            field: "basic_info",
            ..
        })
    ));
}

#[test]
fn oversized_document_is_refused() {
    let json = read_signature("p01", &binding()).unwrap().to_json();
    // Valid JSON, padded with whitespace past the limit.
    let padded = format!("{json}{}", " ".repeat(MAX_DOCUMENT_BYTES + 1 - json.len()));
    assert_eq!(
        Evidence::parse(padded.as_bytes()),
        Err(DocumentError::TooLarge {
            len: MAX_DOCUMENT_BYTES + 1
        })
    );
    // At the limit it is parsed.
    assert!(Evidence::parse(&padded.as_bytes()[..MAX_DOCUMENT_BYTES]).is_ok());
}

#[test]
fn trailing_bytes_after_a_record_or_certificate() {
    let verifier = verifier();
    let sig = read_signature("p01", &binding()).unwrap();
    let e = with_sig_field(&sig, "certificate", |c| [c, &[0x00][..]].concat());
    assert_eq!(
        refusal(&verifier, &e, &binding()),
        EvidenceError::CertificateMalformed(CertRole::EndEntity)
    );
    let ua = read_user_authentication("p01", &binding()).unwrap();
    let e = with_ua_field(&ua, "certificate", |c| [c, &[0x00][..]].concat());
    assert_eq!(
        refusal(&verifier, &e, &binding()),
        EvidenceError::CertificateMalformed(CertRole::EndEntity)
    );
    for field in RECORDS {
        // Cards pad their files with FF: filler after a record is accepted ...
        let padded = with_ua_field(&ua, field, |v| [v, &[0xFF; 16][..]].concat());
        assert!(
            verify_via_json(&verifier, &padded, &binding()).is_ok(),
            "{field} with filler"
        );
        // ... anything else is not.
        let junk = with_ua_field(&ua, field, |v| [v, &[0x41][..]].concat());
        let err = refusal(&verifier, &junk, &binding());
        assert!(
            matches!(&err, EvidenceError::CardData(f) if f.kind == FormatErrorKind::UnexpectedData),
            "{field} with a trailing byte: {err:?}"
        );
    }
}

#[test]
fn garbage_in_every_binary_field_is_a_clear_error() {
    let verifier = verifier();
    let sig = read_signature("p01", &binding()).unwrap();
    let e = with_sig_field(&sig, "certificate", |_| b"not a certificate".to_vec());
    assert_eq!(
        refusal(&verifier, &e, &binding()),
        EvidenceError::CertificateMalformed(CertRole::EndEntity)
    );
    let ua = read_user_authentication("p01", &binding()).unwrap();
    let e = with_ua_field(&ua, "certificate", |_| b"not a certificate".to_vec());
    assert_eq!(
        refusal(&verifier, &e, &binding()),
        EvidenceError::CertificateMalformed(CertRole::EndEntity)
    );
    for field in RECORDS {
        let e = with_ua_field(&ua, field, |_| b"not a record".to_vec());
        assert!(
            matches!(refusal(&verifier, &e, &binding()), EvidenceError::CardData(_)),
            "{field}"
        );
    }
}

#[test]
fn document_level_refusals_are_document_errors() {
    let json = read_user_authentication("p01", &binding()).unwrap().to_json();
    let route = "\"route\":\"user_authentication\"";
    assert!(json.contains(route));
    let cases = [
        (
            json.replacen(route, "\"route\":\"signature\"", 1),
            "a field of the other route",
        ),
        (
            json.replacen("\"cv_certificate\"", "\"cv_certificatf\"", 1),
            "an unknown field",
        ),
        (
            json.replacen("\"cv_certificate\"", "\"signed_key\":\"AA\",\"cv_certificate\"", 1),
            "EF 0007 of the old input-support route",
        ),
        (json.replacen(FORMAT, "mynaid-evidence/1", 1), "the previous format"),
        (json.replacen(route, "\"route\":\"input_support\"", 1), "the old route"),
        (json.replacen(route, "\"route\":\"x\"", 1), "another route"),
        (
            json.replacen("\"signature\":\"", "\"signature\":\"*", 1),
            "not base64url",
        ),
        (
            json.replacen("\"signature\":\"", "\"signature\":\"AAA", 1),
            "a base64url length that cannot be",
        ),
        ("[]".to_string(), "not an object"),
        ("{}".to_string(), "no fields"),
    ];
    for (doc, what) in cases {
        assert_ne!(doc, json, "{what}: the document was changed");
        let err = Evidence::parse(doc.as_bytes()).map(|_| ()).unwrap_err();
        assert!(matches!(EvidenceError::from(err), EvidenceError::Document(_)), "{what}");
    }
    assert_eq!(
        Evidence::parse(json.replacen(route, "\"route\":\"signature\"", 1).as_bytes()),
        Err(DocumentError::Unexpected("basic_info"))
    );
    assert_eq!(
        Evidence::parse(json.replacen(route, "\"route\":\"input_support\"", 1).as_bytes()),
        Err(DocumentError::UnknownRoute("input_support".into()))
    );
    // Fields missing for the route.
    let Body::UserAuthentication {
        certificate,
        basic_info,
        ..
    } = Evidence::parse(json.as_bytes()).unwrap().body
    else {
        unreachable!()
    };
    let b64 = |v: &[u8]| base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, v);
    let no_certificate = format!(
        "{{\"format\":\"{FORMAT}\",\"route\":\"user_authentication\",\"signature\":\"AA\",\"basic_info\":\"{}\"}}",
        b64(&basic_info)
    );
    assert_eq!(
        Evidence::parse(no_certificate.as_bytes()),
        Err(DocumentError::Missing("certificate"))
    );
    let missing = format!(
        "{{\"format\":\"{FORMAT}\",\"route\":\"user_authentication\",\"signature\":\"AA\",\"certificate\":\"{}\",\"basic_info\":\"{}\"}}",
        b64(&certificate),
        b64(&basic_info)
    );
    assert_eq!(
        Evidence::parse(missing.as_bytes()),
        Err(DocumentError::Missing("integrity_record"))
    );
}

#[test]
fn production_trust_store_refuses_the_test_roots() {
    let roots = root_ders();
    let err = TrustStore::production(&roots).unwrap_err();
    assert_eq!(
        err,
        TrustError::NotAnOfficialRoot {
            index: 0,
            fingerprint: hex::encode_upper(Sha256::digest(&roots[0]))
        }
    );
    // Any one of them alone, too.
    for root in &roots {
        assert!(matches!(
            TrustStore::production(std::slice::from_ref(root)),
            Err(TrustError::NotAnOfficialRoot { index: 0, .. })
        ));
    }
    // Test mode has to be asked for, and says so.
    assert_eq!(trust(&roots).mode(), TrustMode::Test);
}

#[test]
fn test_trust_store_refuses_what_is_not_a_self_signed_ca() {
    let p01_signature_certificate = match read_signature("p01", &binding()).unwrap().body {
        Body::Signature { certificate, .. } => certificate,
        Body::UserAuthentication { .. } => unreachable!(),
    };
    let mut roots = root_ders();
    roots.push(p01_signature_certificate.to_vec());
    assert_eq!(
        TrustStore::test_roots(&roots).unwrap_err(),
        TrustError::NotACa { index: 4 }
    );
    assert_eq!(
        TrustStore::test_roots(&[b"junk".to_vec()]).unwrap_err(),
        TrustError::Malformed { index: 0 }
    );
}

/// For an unknown field serde_json's message quotes the field's name; a document could then
/// put any text (up to 16 KiB, newlines included) into the error a server logs — log
/// injection, log flooding, and whatever personal data the sender put there. The message
/// names only fields of this format.
#[test]
fn unknown_field_names_are_not_echoed_verbatim() {
    let doc = format!("{{\"format\":\"{FORMAT}\",\"{}\\nFAKE LOG LINE\":1}}", "x".repeat(4000));
    let err = Evidence::parse(doc.as_bytes()).unwrap_err();
    assert!(matches!(err, DocumentError::Malformed(_)), "{err:?}");
    let text = err.to_string();
    assert!(
        !text.contains('\n'),
        "a control character from the document reached the message"
    );
    assert!(text.len() < 200, "a {}-byte message", text.len());
}
