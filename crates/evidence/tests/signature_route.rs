//! The signature route: evidence read from every emulated card with a usable signature
//! password verifies with the right card face, and evidence with exactly one thing wrong
//! (issuer, key, validity, KeyUsage, BasicConstraints, algorithm, extensions, CRL, SAN) is
//! refused with the error of that check.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use der::asn1::ObjectIdentifier;
use mynaid_card::formats::{Field, FormatErrorKind, SanAttributes};
use mynaid_evidence::{CertRole, CrlError, CrlSet, EvidenceError, Revocation, RevocationPolicy, Verifier};
use mynaid_protocol::{Body, Route};
use mynaid_testkit::persons;
use mynaid_testpki::x509::oid;
use mynaid_testpki::{Generation, KeyUsageSpec, RootKind, SignatureHash, build_certificate, build_crl};
use x509_cert::ext::pkix::{KeyUsage, KeyUsages};

/// A verifier like [`verifier`] but with the given CRLs (loaded) and policy.
fn verifier_with_crls(crls: &[Vec<u8>], policy: RevocationPolicy) -> Verifier {
    verifier_with(&root_ders(), crls, policy, vec![cv_ca()])
}

/// The committed CRLs except sign-g2 (p01's issuer).
fn crls_without_sign_g2() -> Vec<Vec<u8>> {
    let mut crls = crl_ders();
    crls.remove(1);
    crls
}

#[test]
fn the_in_memory_pki_is_the_committed_one() {
    let pki = pki();
    for (root, der) in pki.roots.iter().zip(root_ders()) {
        assert_eq!(root.certificate, der, "{}", root.file_name());
    }
    for (crl, der) in pki.crls.iter().zip(crl_ders()) {
        assert_eq!(crl.der, der);
    }
    // Rebuilding a certificate from its spec gives the card's certificate back, so a
    // variant built with one change differs from the real one by that change only.
    let p01 = pki_person("p01");
    let rebuilt = build_certificate(&pki.sign_cert_spec(p01).unwrap().unwrap()).unwrap();
    assert_eq!(rebuilt, p01.sign.as_ref().unwrap().certificate);
    let face = verify_via_json(&verifier(), &signature_variant("p01", |_| {}), &binding()).unwrap();
    assert_eq!(face.verification().route, Route::Signature);
}

#[test]
fn every_card_with_a_usable_password_verifies_with_its_card_face() {
    let verifier = verifier();
    let mut verified = Vec::new();
    for person in persons() {
        if !can_sign(&person) {
            continue;
        }
        let evidence = read_signature(&person.id, &binding()).unwrap_or_else(|e| panic!("{}: {e}", person.id));
        let result = verify_via_json(&verifier, &evidence, &binding());
        if person.id == "p08" || person.id == "p10" {
            // p08 moved and p10's card was reported lost: their signature certificates are
            // on the sign-g2 CRL.
            assert_eq!(result.unwrap_err(), EvidenceError::Revoked, "{}", person.id);
            verified.push(person.id.clone());
            continue;
        }
        let face = result.unwrap_or_else(|e| panic!("{}: {e}", person.id));
        let san = match &evidence.body {
            Body::Signature { certificate, .. } => SanAttributes::from_certificate(certificate).unwrap(),
            _ => unreachable!(),
        };
        // The face is what the certificate's SAN says ...
        assert_eq!(face.name(), san.name.expose(), "{}", person.id);
        assert_eq!(face.address(), san.address.expose(), "{}", person.id);
        let claims = face.claims();
        assert_eq!(
            claims.name_substitutes.as_ref(),
            Some(&san.name_substitutes),
            "{}",
            person.id
        );
        assert_eq!(
            claims.address_substitutes.as_ref(),
            Some(&san.address_substitutes),
            "{}",
            person.id
        );
        // ... and, substitutes aside, what persons.json says.
        if person.id == "p07" {
            // 𠮷 and 髙 are outside JIS levels 1/2: the SAN holds 吉 and 高, flagged.
            assert_eq!(face.name(), "吉田　一郎");
            assert_ne!(face.name(), person.name);
            assert_eq!(claims.name_substitutes, Some(vec![true, false, false, false, false]));
            assert!(claims.address_substitutes.as_ref().unwrap().contains(&true));
            assert_ne!(face.address(), person.address);
            assert_eq!(face.address(), person.address.replace('髙', "高"));
        } else {
            assert_eq!(face.name(), person.name, "{}", person.id);
            assert_eq!(face.address(), person.address, "{}", person.id);
            assert!(
                !claims.name_substitutes.as_ref().unwrap().contains(&true),
                "{}",
                person.id
            );
            assert!(
                !claims.address_substitutes.as_ref().unwrap().contains(&true),
                "{}",
                person.id
            );
        }
        assert_eq!(face.birth_date().iso(), person.birthdate, "{}", person.id);
        assert_eq!(face.sex().as_str(), person.sex.as_str(), "{}", person.id);
        assert_eq!(claims.birthdate, person.birthdate);
        assert_eq!(claims.gender, person.sex.as_str());
        let v = face.verification();
        assert_eq!(v.route, Route::Signature);
        assert_eq!(v.revocation, Revocation::CheckedCrl);
        assert_eq!(v.verified_at, NOW);
        let generation = if person.id == "p09" {
            Generation::G1
        } else {
            Generation::G2
        };
        let root = pki().root(RootKind::Sign, generation);
        assert_eq!(
            v.issuer,
            hex::encode_upper(&root.key_id),
            "{} is issued by {generation:?}",
            person.id
        );
        let cert = pki_person(&person.id).sign.as_ref().unwrap();
        assert_eq!(
            v.certificate_serial.as_deref(),
            Some(hex::encode_upper(&cert.serial).as_str())
        );
        verified.push(person.id.clone());
    }
    // p04's password is blocked and p06 (under 15) has no signature certificate; p11 and
    // p12, whose 4-digit PINs are blocked, sign with their password.
    assert_eq!(
        verified,
        ["p01", "p02", "p03", "p05", "p07", "p08", "p09", "p10", "p11", "p12"]
    );
}

#[test]
fn unknown_root_is_refused() {
    // Only the user-authentication roots: nothing issued p01's signature certificate.
    let auth_only = root_ders()[2..].to_vec();
    let verifier = verifier_with(
        &auth_only,
        &crl_ders()[2..],
        RevocationPolicy::RequireCrl,
        vec![cv_ca()],
    );
    let evidence = read_signature("p01", &binding()).unwrap();
    assert_eq!(refusal(&verifier, &evidence, &binding()), EvidenceError::UnknownIssuer);
}

#[test]
fn other_generations_key_under_the_same_name_is_refused() {
    // Same DN, same AKI (g2), but signed by the g1 key: the signature does not verify under g2.
    let evidence = signature_variant("p01", |spec| spec.issuer_key = root_key(RootKind::Sign, Generation::G1));
    assert_eq!(
        refusal(&verifier(), &evidence, &binding()),
        EvidenceError::CertificateSignatureInvalid
    );
}

#[test]
fn other_generations_key_identifier_is_refused() {
    // AKI names g1, signature by g2: g1 is trusted and has the same DN, but its key did not sign.
    let g1 = pki().root(RootKind::Sign, Generation::G1).key_id.clone();
    let evidence = signature_variant("p01", |spec| spec.authority_key_id = Some(g1));
    assert_eq!(
        refusal(&verifier(), &evidence, &binding()),
        EvidenceError::CertificateSignatureInvalid
    );
    // Without g1 in the trust store, the key identifier names no anchor at all.
    let without_g1: Vec<Vec<u8>> = root_ders().into_iter().skip(1).collect();
    let verifier = verifier_with(
        &without_g1,
        &crl_ders()[1..],
        RevocationPolicy::RequireCrl,
        vec![cv_ca()],
    );
    assert_eq!(refusal(&verifier, &evidence, &binding()), EvidenceError::UnknownIssuer);
    // A certificate without any AKI names no anchor either.
    let no_aki = signature_variant("p01", |spec| spec.authority_key_id = None);
    assert_eq!(refusal(&verifier, &no_aki, &binding()), EvidenceError::UnknownIssuer);
}

#[test]
fn issuer_name_other_than_the_anchors_is_refused() {
    // The right key and key identifier, but an issuer DN that is not the root's subject.
    let evidence = signature_variant("p01", |spec| {
        spec.issuer = mynaid_testpki::Dn::parse("C=JP, O=JPKI-TEST, OU=other").unwrap()
    });
    assert_eq!(
        refusal(&verifier(), &evidence, &binding()),
        EvidenceError::UnknownIssuer
    );
}

#[test]
fn expired_certificate_is_refused() {
    let evidence = signature_variant("p01", |spec| spec.not_after = date(2026, 11, 26));
    assert_eq!(
        refusal(&verifier(), &evidence, &binding()),
        EvidenceError::Expired {
            role: CertRole::EndEntity,
            not_after: unix(2026, 11, 26),
            now: NOW
        }
    );
}

#[test]
fn not_yet_valid_certificate_is_refused() {
    let evidence = signature_variant("p01", |spec| spec.not_before = date(2026, 11, 28));
    assert_eq!(
        refusal(&verifier(), &evidence, &binding()),
        EvidenceError::NotYetValid {
            role: CertRole::EndEntity,
            not_before: unix(2026, 11, 28),
            now: NOW
        }
    );
}

#[test]
fn expired_root_is_refused() {
    // p09 is issued by g1, whose root expires 2029-03-31T23:59:59Z: the root is checked first.
    let evidence = read_signature("p09", &binding()).unwrap();
    let later = unix(2029, 6, 1);
    let parsed = mynaid_protocol::Evidence::parse(evidence.to_json().as_bytes()).unwrap();
    let verifier = verifier_with_crls(&[], RevocationPolicy::AllowUnchecked);
    assert!(matches!(
        verifier.verify(&parsed, &binding(), later),
        Err(EvidenceError::Expired { role: CertRole::Root, now, .. }) if now == later
    ));
}

#[test]
fn revoked_certificate_is_refused() {
    let evidence = read_signature("p08", &binding()).unwrap();
    assert_eq!(refusal(&verifier(), &evidence, &binding()), EvidenceError::Revoked);
    // Without the CRL (and a policy that allows it) the same evidence is accepted: the
    // refusal above comes from the CRL and nothing else.
    let unchecked = verifier_with_crls(&crls_without_sign_g2(), RevocationPolicy::AllowUnchecked);
    let face = verify_via_json(&unchecked, &evidence, &binding()).unwrap();
    assert_eq!(face.verification().revocation, Revocation::NotChecked);
}

#[test]
fn newer_crl_replaces_the_older_one() {
    let pki = pki();
    let p01 = pki_person("p01");
    let mut spec = pki.crl_spec(RootKind::Sign, Generation::G2);
    spec.this_update = date(2026, 1, 1);
    spec.revoked.push(mynaid_testpki::RevokedEntry {
        serial: p01.sign.as_ref().unwrap().serial.clone(),
        revocation_date: date(2026, 1, 1),
        reason: None,
    });
    let newer = build_crl(&spec).unwrap();
    let evidence = read_signature("p01", &binding()).unwrap();
    // Loaded after the committed CRL: replaces it.
    let mut crls = crl_ders();
    crls.push(newer.clone());
    assert_eq!(
        refusal(
            &verifier_with_crls(&crls, RevocationPolicy::RequireCrl),
            &evidence,
            &binding()
        ),
        EvidenceError::Revoked
    );
    // Loaded before it: the older CRL is refused (a rollback would hide the revocation)
    // and the newer one stays.
    let trust = trust(&root_ders());
    let mut set = CrlSet::new();
    set.load(&newer, &trust).unwrap();
    let older = &crl_ders()[1];
    assert!(matches!(set.load(older, &trust), Err(CrlError::Older { .. })));
    let verifier = Verifier::new(trust, set, RevocationPolicy::RequireCrl, vec![cv_ca()]);
    assert_eq!(refusal(&verifier, &evidence, &binding()), EvidenceError::Revoked);
}

#[test]
fn out_of_date_crl_is_refused() {
    let mut spec = pki().crl_spec(RootKind::Sign, Generation::G2);
    spec.this_update = date(2026, 1, 1);
    spec.next_update = Some(date(2026, 6, 1));
    let mut crls = crls_without_sign_g2();
    crls.push(build_crl(&spec).unwrap());
    let verifier = verifier_with_crls(&crls, RevocationPolicy::RequireCrl);
    let evidence = read_signature("p01", &binding()).unwrap();
    assert_eq!(
        refusal(&verifier, &evidence, &binding()),
        EvidenceError::CrlOutOfDate {
            next_update: unix(2026, 6, 1),
            now: NOW
        }
    );
}

#[test]
fn crl_from_the_future_is_refused() {
    let mut spec = pki().crl_spec(RootKind::Sign, Generation::G2);
    spec.this_update = date(2026, 12, 1);
    let mut crls = crls_without_sign_g2();
    crls.push(build_crl(&spec).unwrap());
    let verifier = verifier_with_crls(&crls, RevocationPolicy::RequireCrl);
    let evidence = read_signature("p01", &binding()).unwrap();
    assert_eq!(
        refusal(&verifier, &evidence, &binding()),
        EvidenceError::CrlOutOfDate {
            next_update: unix(2026, 12, 1),
            now: NOW
        }
    );
}

#[test]
fn badly_signed_crl_is_not_loaded_and_verification_fails_closed() {
    let mut spec = pki().crl_spec(RootKind::Sign, Generation::G2);
    spec.issuer_key = root_key(RootKind::Sign, Generation::G1);
    let bad = build_crl(&spec).unwrap();
    let trust = trust(&root_ders());
    let mut set = CrlSet::new();
    assert_eq!(set.load(&bad, &trust), Err(CrlError::SignatureInvalid));
    for der in crls_without_sign_g2() {
        set.load(&der, &trust).unwrap();
    }
    let verifier = Verifier::new(trust, set, RevocationPolicy::RequireCrl, vec![cv_ca()]);
    let evidence = read_signature("p01", &binding()).unwrap();
    assert_eq!(
        refusal(&verifier, &evidence, &binding()),
        EvidenceError::RevocationUnknown
    );
}

#[test]
fn crl_load_refusals() {
    let trust = trust(&root_ders());
    let mut set = CrlSet::new();
    let pki = pki();
    let mut sha1 = pki.crl_spec(RootKind::Sign, Generation::G2);
    sha1.signature_hash = SignatureHash::Sha1;
    assert!(matches!(
        set.load(&build_crl(&sha1).unwrap(), &trust),
        Err(CrlError::UnsupportedSignatureAlgorithm(_))
    ));
    let mut no_aki = pki.crl_spec(RootKind::Sign, Generation::G2);
    no_aki.authority_key_id = None;
    assert_eq!(
        set.load(&build_crl(&no_aki).unwrap(), &trust),
        Err(CrlError::UnknownIssuer)
    );
    let mut critical = pki.crl_spec(RootKind::Sign, Generation::G2);
    critical
        .extra_extensions
        .push((ObjectIdentifier::new_unwrap("1.2.3.4.5"), true, vec![0x05, 0x00]));
    assert_eq!(
        set.load(&build_crl(&critical).unwrap(), &trust),
        Err(CrlError::UnknownCriticalExtension("1.2.3.4.5".into()))
    );
    assert_eq!(set.load(b"not a CRL", &trust), Err(CrlError::Malformed));
    let good = &crl_ders()[1];
    assert_eq!(set.load(&good[..good.len() - 1], &trust), Err(CrlError::Malformed));
    let info = set.load(good, &trust).unwrap();
    assert_eq!(info.entries, 2, "p08 and p10");
    assert_eq!(info.next_update, Some(unix(2035, 1, 1)));
}

#[test]
fn no_crl_is_refused_by_default_and_accepted_unchecked_when_allowed() {
    let evidence = read_signature("p01", &binding()).unwrap();
    let strict = verifier_with_crls(&[], RevocationPolicy::RequireCrl);
    assert_eq!(
        refusal(&strict, &evidence, &binding()),
        EvidenceError::RevocationUnknown
    );
    let lenient = verifier_with_crls(&[], RevocationPolicy::AllowUnchecked);
    let face = verify_via_json(&lenient, &evidence, &binding()).unwrap();
    assert_eq!(face.verification().revocation, Revocation::NotChecked);
    assert_eq!(face.name(), mynaid_testkit::person("p01").name);
}

#[test]
fn key_usage_without_non_repudiation_is_refused() {
    let evidence = signature_variant("p01", |spec| {
        spec.key_usage = Some(KeyUsageSpec {
            usages: KeyUsage(KeyUsages::DigitalSignature.into()),
            critical: true,
        });
    });
    assert_eq!(
        refusal(&verifier(), &evidence, &binding()),
        EvidenceError::WrongKeyUsage
    );
}

#[test]
fn key_usage_with_key_cert_sign_is_refused() {
    let evidence = signature_variant("p01", |spec| {
        let usages = KeyUsages::DigitalSignature | KeyUsages::NonRepudiation | KeyUsages::KeyCertSign;
        spec.key_usage = Some(KeyUsageSpec {
            usages: KeyUsage(usages),
            critical: true,
        });
    });
    assert_eq!(
        refusal(&verifier(), &evidence, &binding()),
        EvidenceError::WrongKeyUsage
    );
}

#[test]
fn key_usage_with_crl_sign_is_refused() {
    let evidence = signature_variant("p01", |spec| {
        let usages = KeyUsages::DigitalSignature | KeyUsages::NonRepudiation | KeyUsages::CRLSign;
        spec.key_usage = Some(KeyUsageSpec {
            usages: KeyUsage(usages),
            critical: true,
        });
    });
    assert_eq!(
        refusal(&verifier(), &evidence, &binding()),
        EvidenceError::WrongKeyUsage
    );
}

#[test]
fn key_usage_not_critical_is_refused() {
    let evidence = signature_variant("p01", |spec| {
        spec.key_usage = Some(KeyUsageSpec {
            critical: false,
            ..KeyUsageSpec::signature()
        })
    });
    assert_eq!(
        refusal(&verifier(), &evidence, &binding()),
        EvidenceError::WrongKeyUsage
    );
}

#[test]
fn key_usage_missing_is_refused() {
    let evidence = signature_variant("p01", |spec| spec.key_usage = None);
    assert_eq!(
        refusal(&verifier(), &evidence, &binding()),
        EvidenceError::WrongKeyUsage
    );
}

#[test]
fn ca_end_entity_is_refused() {
    let evidence = signature_variant("p01", |spec| spec.ca = Some(true));
    assert_eq!(
        refusal(&verifier(), &evidence, &binding()),
        EvidenceError::EndEntityIsCa
    );
    // BasicConstraints cA FALSE is what RFC 5280 allows an end entity to say.
    let explicit_false = signature_variant("p01", |spec| spec.ca = Some(false));
    assert!(verify_via_json(&verifier(), &explicit_false, &binding()).is_ok());
}

#[test]
fn sha1_signed_certificate_is_refused() {
    let evidence = signature_variant("p01", |spec| spec.signature_hash = SignatureHash::Sha1);
    assert_eq!(
        refusal(&verifier(), &evidence, &binding()),
        EvidenceError::UnsupportedSignatureAlgorithm {
            role: CertRole::EndEntity,
            oid: "1.2.840.113549.1.1.5".into()
        }
    );
}

/// The outer `signatureAlgorithm` of a certificate is not covered by its signature: one that
/// differs from the signed one (here its NULL parameters turned into another value, a change
/// the robustness property test once found accepted) must be refused, so that a
/// certificate verifies in exactly one byte form.
#[test]
fn outer_algorithm_other_than_the_signed_one_is_refused() {
    let genuine = read_signature("p01", &binding()).unwrap();
    assert!(verify_via_json(&verifier(), &genuine, &binding()).is_ok());
    let Body::Signature { certificate, signature } = &genuine.body else {
        unreachable!("a signature-route reading")
    };
    // The last `06 09 <sha256WithRSAEncryption> 05 00` is the outer identifier.
    let alg = [
        0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00,
    ];
    let at = certificate
        .windows(alg.len())
        .rposition(|w| w == alg)
        .expect("the outer algorithm identifier")
        + alg.len()
        - 2;
    for changed in [0x45u8, 0x04, 0x0c] {
        let mut forged = certificate.clone();
        forged[at] = changed;
        let evidence = signature_evidence(forged.to_vec(), signature.clone());
        assert_eq!(
            refusal(&verifier(), &evidence, &binding()),
            EvidenceError::CertificateMalformed(CertRole::EndEntity),
            "outer parameters tag {changed:#04x}"
        );
    }
}

#[test]
fn unknown_critical_extension_is_refused() {
    let evidence = signature_variant("p01", |spec| {
        spec.extra_extensions
            .push((ObjectIdentifier::new_unwrap("1.2.3.4.5"), true, vec![0x05, 0x00]));
    });
    assert_eq!(
        refusal(&verifier(), &evidence, &binding()),
        EvidenceError::UnknownCriticalExtension("1.2.3.4.5".into())
    );
    // The same extension, not critical, is ignored (RFC 5280 §4.2).
    let non_critical = signature_variant("p01", |spec| {
        spec.extra_extensions
            .push((ObjectIdentifier::new_unwrap("1.2.3.4.5"), false, vec![0x05, 0x00]));
    });
    assert!(verify_via_json(&verifier(), &non_critical, &binding()).is_ok());
}

#[test]
fn small_rsa_key_is_refused() {
    use mynaid_testpki::rsa::PrivateKey;
    use rand_chacha::ChaCha20Rng;
    use rand_chacha::rand_core::SeedableRng;
    let key = PrivateKey::new(&mut ChaCha20Rng::from_seed([7; 32]), 1024).unwrap();
    let public = key.to_public_key();
    let pki = pki();
    let mut spec = pki.sign_cert_spec(pki_person("p01")).unwrap().unwrap();
    spec.subject_public_key = public;
    let evidence = signature_evidence(build_certificate(&spec).unwrap(), card_signature(&key, &binding()));
    assert_eq!(
        refusal(&verifier(), &evidence, &binding()),
        EvidenceError::UnsupportedKey(CertRole::EndEntity)
    );
}

#[test]
fn signature_by_another_key_than_the_certificates_is_refused() {
    // A genuine certificate with a signature by another person's card.
    let evidence = read_signature("p01", &binding()).unwrap();
    let other = read_signature("p02", &binding()).unwrap();
    let (Body::Signature { certificate, .. }, Body::Signature { signature, .. }) = (evidence.body, other.body) else {
        unreachable!()
    };
    let spliced = signature_evidence(certificate.to_vec(), signature);
    assert_eq!(
        refusal(&verifier(), &spliced, &binding()),
        EvidenceError::CardSignatureInvalid
    );
}

#[test]
fn duplicated_san_entry_is_refused() {
    let evidence = signature_variant("p01", |spec| {
        let san = spec.san.as_mut().unwrap();
        san.push((oid::SAN_NAME, "山田　次郎".into()));
    });
    match refusal(&verifier(), &evidence, &binding()) {
        EvidenceError::CardData(e) => assert_eq!(e.kind, FormatErrorKind::Duplicate(Field::Name)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn missing_san_is_refused() {
    let evidence = signature_variant("p01", |spec| spec.san = None);
    match refusal(&verifier(), &evidence, &binding()) {
        EvidenceError::CardData(e) => assert_eq!(e.kind, FormatErrorKind::NoSubjectAltName),
        other => panic!("{other:?}"),
    }
}

#[test]
fn authentication_certificate_is_refused_on_the_signature_route() {
    // A genuine user-authentication certificate and a genuine signature by its key. It is
    // refused because it chains to a user-authentication root (WrongCertificateKind), before
    // its KeyUsage (no nonRepudiation) or its missing SAN would be looked at.
    let p01 = pki_person("p01");
    let evidence = signature_evidence(p01.auth.certificate.clone(), card_signature(&p01.auth.key, &binding()));
    assert_eq!(
        refusal(&verifier(), &evidence, &binding()),
        EvidenceError::WrongCertificateKind
    );
    // The user-authentication profile issued by the signature root: the chain is right, the
    // KeyUsage (no nonRepudiation) is not.
    let root = pki().root(RootKind::Sign, Generation::G2);
    let mut spec = pki().auth_cert_spec(p01).unwrap();
    spec.issuer = root.dn.clone();
    spec.issuer_key = &root.key;
    spec.authority_key_id = Some(root.key_id.clone());
    let evidence = signature_evidence(
        build_certificate(&spec).unwrap(),
        card_signature(&p01.auth.key, &binding()),
    );
    assert_eq!(
        refusal(&verifier(), &evidence, &binding()),
        EvidenceError::WrongKeyUsage
    );
}

/// A CRL must say when it goes out of date; past that, it answers only within the configured
/// grace (default none: fail closed).
#[test]
fn a_crl_without_next_update_is_refused_and_a_stale_one_answers_only_within_the_grace() {
    let mut spec = pki().crl_spec(RootKind::Sign, Generation::G2);
    spec.next_update = None;
    let endless = build_crl(&spec).unwrap();
    assert_eq!(
        CrlSet::new().load(&endless, &trust(&root_ders())).unwrap_err(),
        CrlError::NoNextUpdate
    );
    let mut spec = pki().crl_spec(RootKind::Sign, Generation::G2);
    spec.this_update = date(2026, 1, 1);
    spec.next_update = Some(date(2027, 1, 1));
    let mut crls = crl_ders();
    crls[1] = build_crl(&spec).unwrap();
    let evidence = read_signature("p01", &binding()).unwrap();
    let strict = verifier_with(&root_ders(), &crls, RevocationPolicy::RequireCrl, vec![cv_ca()]);
    let after = unix(2027, 1, 2);
    assert!(strict.verify(&evidence, &binding(), NOW).is_ok(), "within its dates");
    assert!(matches!(
        strict.verify(&evidence, &binding(), after),
        Err(EvidenceError::CrlOutOfDate { .. })
    ));
    let lenient =
        verifier_with(&root_ders(), &crls, RevocationPolicy::RequireCrl, vec![cv_ca()]).with_crl_grace(2 * 86_400);
    assert!(lenient.verify(&evidence, &binding(), after).is_ok(), "within the grace");
    assert!(matches!(
        lenient.verify(&evidence, &binding(), unix(2027, 1, 4)),
        Err(EvidenceError::CrlOutOfDate { .. })
    ));
}
