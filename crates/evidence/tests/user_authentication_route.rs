//! The user-authentication route (the two 4-digit PINs): evidence read from every emulated
//! card whose two PINs are usable verifies with the card face of persons.json, and evidence
//! with exactly one thing wrong (the user-authentication certificate's issuer, validity,
//! KeyUsage, BasicConstraints, algorithm, kind or revocation; the live signature; the CV
//! certificate, the integrity record, EF 0002) is refused with the error of that check.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use der::asn1::ObjectIdentifier;
use mynaid_card::formats::KeyId;
use mynaid_card::{CardError, PinKind, Session, UserAuthenticationReading, routes};
use mynaid_emulator::transport::InProcessTransport;
use mynaid_evidence::{CertRole, EvidenceError, Revocation, RevocationPolicy, Verifier};
use mynaid_protocol::{Binding, Body, Evidence, Route};
use mynaid_testkit::{PersonCard, persons};
use mynaid_testpki::{
    Dn, Generation, KeyUsageSpec, RevokedEntry, RootKind, SignatureHash, build_certificate, build_crl,
    build_cv_certificate, build_integrity_record, key_id,
};
use x509_cert::ext::pkix::{KeyUsage, KeyUsages};

/// Index of `crl/jpki-auth-g2.crl` (p01's user-authentication issuer) in [`crl_ders`].
const AUTH_G2_CRL: usize = 3;

/// A verifier like [`verifier`] but with the given CRLs (loaded) and policy.
fn verifier_with_crls(crls: &[Vec<u8>], policy: RevocationPolicy) -> Verifier {
    verifier_with(&root_ders(), crls, policy, vec![cv_ca()])
}

/// The committed CRLs except auth-g2.
fn crls_without_auth_g2() -> Vec<Vec<u8>> {
    let mut crls = crl_ders();
    crls.remove(AUTH_G2_CRL);
    crls
}

/// The committed CRLs with auth-g2 replaced by `crl`.
fn crls_with_auth_g2(crl: Vec<u8>) -> Vec<Vec<u8>> {
    let mut crls = crl_ders();
    crls[AUTH_G2_CRL] = crl;
    crls
}

/// Asserts that `verifier` accepts p01's unchanged evidence built from the test PKI and
/// refuses `evidence` with `expected`: the refusal comes from the one change the test made.
fn refused_as(verifier: &Verifier, evidence: &Evidence, expected: EvidenceError) {
    let baseline = verify_via_json(verifier, &UserAuthParts::of("p01").evidence(), &binding());
    assert!(baseline.is_ok(), "the baseline is refused: {baseline:?}");
    assert_eq!(refusal(verifier, evidence, &binding()), expected);
}

/// The body of a user-authentication document, by field.
fn parts_of(evidence: Evidence) -> UserAuthParts {
    let Body::UserAuthentication {
        certificate,
        signature,
        basic_info,
        integrity_record,
        cv_certificate,
    } = evidence.body
    else {
        panic!("not a user-authentication document")
    };
    UserAuthParts {
        certificate: certificate.to_vec(),
        signature,
        basic_info: basic_info.to_vec(),
        integrity_record: integrity_record.to_vec(),
        cv_certificate,
    }
}

// ---------------------------------------------------------------------------------------
// Genuine cards.
// ---------------------------------------------------------------------------------------

#[test]
fn every_card_with_usable_four_digit_pins_verifies_with_its_card_face() {
    let verifier = verifier();
    let mut verified = Vec::new();
    let mut read = Vec::new();
    for person in persons() {
        if !can_read_four_digit(&person) {
            continue;
        }
        read.push(person.id.clone());
        let evidence =
            read_user_authentication(&person.id, &binding()).unwrap_or_else(|e| panic!("{}: {e}", person.id));
        let result = verify_via_json(&verifier, &evidence, &binding());
        if person.id == "p10" {
            // Card reported lost: its user-authentication certificate is on auth-g2's CRL
            // (asserted on its own in `revoked_certificate_is_refused`).
            assert_eq!(result.unwrap_err(), EvidenceError::Revoked, "p10");
            continue;
        }
        let face = result.unwrap_or_else(|e| panic!("{}: {e}", person.id));
        // EF 0002 holds the real characters: p07's 𠮷 and 髙 come back as they are.
        assert_eq!(face.name(), person.name, "{}", person.id);
        assert_eq!(face.address(), person.address, "{}", person.id);
        assert_eq!(face.birth_date().iso(), person.birthdate, "{}", person.id);
        assert_eq!(face.sex().as_str(), person.sex.as_str(), "{}", person.id);
        let claims = face.claims();
        assert_eq!((&claims.name_substitutes, &claims.address_substitutes), (&None, &None));
        let v = face.verification();
        assert_eq!(v.route, Route::UserAuthentication);
        assert_eq!(v.route.acr(), mynaid_protocol::ACR_JPKI_USER_AUTHENTICATION);
        assert_eq!(v.revocation, Revocation::CheckedCrl);
        assert_eq!(v.verified_at, NOW);
        assert!(v.certificate_serial.is_some(), "{}", person.id);
        // The certificate verified is the card's user-authentication certificate, issued by
        // the user-authentication root of the person's generation.
        let generation = if person.id == "p09" {
            Generation::G1
        } else {
            Generation::G2
        };
        let root = pki().root(RootKind::Auth, generation);
        assert_eq!(
            v.issuer,
            hex::encode_upper(&root.key_id),
            "{} is issued by {generation:?}",
            person.id
        );
        let auth = &pki_person(&person.id).auth;
        assert_eq!(
            v.certificate_serial.as_deref(),
            Some(hex::encode_upper(&auth.serial).as_str()),
            "{}",
            person.id
        );
        verified.push(person.id.clone());
    }
    // p11 (user-authentication PIN blocked) and p12 (input-support PIN blocked) cannot be
    // read on this route; p08's revoked signature certificate does not matter here; p04's
    // blocked signature password neither; p06 (no signature certificate) has this route.
    assert_eq!(
        read,
        ["p01", "p02", "p03", "p04", "p05", "p06", "p07", "p08", "p09", "p10"]
    );
    assert_eq!(
        verified,
        ["p01", "p02", "p03", "p04", "p05", "p06", "p07", "p08", "p09"]
    );
}

/// What a reading with the card library did to a card: the outcome, the VERIFY commands that
/// presented a PIN as `(application, PIN EF)`, every application selected, and the PIN
/// counters `(application, PIN EF, tries left)` before and after.
struct Watched {
    outcome: Result<UserAuthenticationReading, CardError>,
    verifies: Vec<(Option<String>, Option<u16>)>,
    applications: Vec<String>,
    counters_before: Vec<(String, u16, u8)>,
    counters_after: Vec<(String, u16, u8)>,
}

fn counters(card: &mynaid_emulator::Card) -> Vec<(String, u16, u8)> {
    card.state()
        .applications
        .iter()
        .flat_map(|a| a.pins.iter().map(|p| (a.name.clone(), p.fid, p.remaining)))
        .collect()
}

/// Reads `id`'s card on the user-authentication route with the person's right PINs.
fn read_and_watch(id: &str) -> Watched {
    let person = mynaid_testkit::person(id);
    let copy = person.card();
    let card = copy.open();
    let counters_before = counters(&card);
    let trace = card.trace();
    let mut session = Session::new(InProcessTransport::new(card));
    let outcome = routes::read_user_authentication(
        &mut session,
        &four_digit_pins(&person),
        mynaid_card::LastTries::both(mynaid_card::LastTry::Confirmed),
        &binding().to_be_signed(),
        &mut |_| {},
    );
    let card = session.into_transport().into_card();
    let entries = trace.entries();
    let verifies: Vec<_> = entries
        .iter()
        .filter(|e| e.ins == mynaid_apdu::ins::VERIFY && e.lc > 0)
        .map(|e| (e.selected_df.clone(), e.referenced_ef))
        .collect();
    let mut applications: Vec<String> = entries.iter().filter_map(|e| e.selected_df.clone()).collect();
    applications.dedup();
    assert_eq!(trace.verify_count(), verifies.len());
    Watched {
        outcome,
        verifies,
        applications,
        counters_before,
        counters_after: counters(&card),
    }
}

#[test]
fn blocked_user_authentication_pin_is_reported_before_any_pin_is_presented() {
    let person = mynaid_testkit::person("p11");
    assert!(!can_read_four_digit(&person));
    let w = read_and_watch("p11");
    assert!(
        matches!(
            w.outcome,
            Err(CardError::PinBlocked {
                kind: PinKind::UserAuthentication
            })
        ),
        "{:?}",
        w.outcome
    );
    // No VERIFY presented a PIN at all, the input-support AP was never selected, and no
    // counter moved (0018 stays at 0, 0011 keeps its tries).
    assert_eq!(w.verifies, []);
    assert_eq!(w.applications, ["jpki"]);
    assert_eq!(w.counters_after, w.counters_before);
    assert!(w.counters_before.contains(&("jpki".into(), 0x0018, 0)));
    assert!(
        w.counters_before
            .iter()
            .any(|(app, fid, left)| app == "input-support" && *fid == 0x0011 && *left > 0)
    );
}

/// p12's input-support PIN is blocked. The route presents the user-authentication PIN first
/// (the card library asks each PIN's tries left just before presenting it, not both up
/// front), so that one VERIFY is sent and succeeds; the blocked PIN is then refused from
/// its retry query, without a VERIFY. No counter moves.
#[test]
fn blocked_input_support_pin_is_reported_without_presenting_it() {
    let person = mynaid_testkit::person("p12");
    assert!(!can_read_four_digit(&person));
    let w = read_and_watch("p12");
    assert!(
        matches!(
            w.outcome,
            Err(CardError::PinBlocked {
                kind: PinKind::InputSupport
            })
        ),
        "{:?}",
        w.outcome
    );
    assert_eq!(w.verifies, [(Some("jpki".to_string()), Some(0x0018))]);
    assert_eq!(w.counters_after, w.counters_before);
    assert!(w.counters_before.contains(&("input-support".into(), 0x0011, 0)));
    assert!(
        w.counters_before
            .iter()
            .any(|(app, fid, left)| app == "jpki" && *fid == 0x0018 && *left > 0)
    );
}

#[test]
fn parts_built_from_the_test_pki_verify_and_are_what_the_card_sends() {
    // The baseline of the negative tests below: unchanged parts are accepted, so each
    // refusal comes from the one part a test changes.
    let pki = pki();
    let p01 = pki_person("p01");
    let rebuilt = build_certificate(&pki.auth_cert_spec(p01).unwrap()).unwrap();
    assert_eq!(
        rebuilt, p01.auth.certificate,
        "the spec gives the card's certificate back"
    );
    let built = UserAuthParts::of("p01");
    let face = verify_via_json(&verifier(), &built.evidence(), &binding()).unwrap();
    assert_eq!(face.name(), mynaid_testkit::person("p01").name);
    assert_eq!(face.verification().route, Route::UserAuthentication);
    let variant = verify_via_json(&verifier(), &user_auth_variant("p01", |_| {}), &binding()).unwrap();
    assert_eq!(variant.name(), face.name());
    // The same bytes as the card sends (the card's signature is deterministic: PKCS#1 v1.5).
    let read = parts_of(read_user_authentication("p01", &binding()).unwrap());
    assert_eq!(read.certificate, built.certificate);
    assert_eq!(read.signature, built.signature);
    assert_eq!(read.basic_info, built.basic_info);
    assert_eq!(read.integrity_record, built.integrity_record);
    assert_eq!(read.cv_certificate, built.cv_certificate);
}

// ---------------------------------------------------------------------------------------
// The certificate: revocation.
// ---------------------------------------------------------------------------------------

#[test]
fn revoked_certificate_is_refused() {
    // p10's card was reported lost: its genuine reading is refused ...
    let evidence = read_user_authentication("p10", &binding()).unwrap();
    refused_as(&verifier(), &evidence, EvidenceError::Revoked);
    // ... because of auth-g2's CRL and nothing else: without it (and a policy that allows
    // that) the same evidence is accepted, unchecked.
    let unchecked = verifier_with_crls(&crls_without_auth_g2(), RevocationPolicy::AllowUnchecked);
    let face = verify_via_json(&unchecked, &evidence, &binding()).unwrap();
    assert_eq!(face.verification().revocation, Revocation::NotChecked);
    assert_eq!(face.name(), mynaid_testkit::person("p10").name);
}

#[test]
fn revoked_signature_certificate_does_not_revoke_the_user_authentication_one() {
    // p08 moved: only the signature certificate (which names the address) is revoked.
    let evidence = read_user_authentication("p08", &binding()).unwrap();
    let face = verify_via_json(&verifier(), &evidence, &binding()).unwrap();
    assert_eq!(face.verification().revocation, Revocation::CheckedCrl);
    assert_eq!(
        refusal(&verifier(), &read_signature("p08", &binding()).unwrap(), &binding()),
        EvidenceError::Revoked
    );
}

#[test]
fn newer_crl_revoking_the_certificate_is_refused() {
    let pki = pki();
    let mut spec = pki.crl_spec(RootKind::Auth, Generation::G2);
    spec.this_update = date(2026, 1, 1);
    spec.revoked.push(RevokedEntry {
        serial: pki_person("p01").auth.serial.clone(),
        revocation_date: date(2026, 1, 1),
        reason: None,
    });
    let mut crls = crl_ders();
    crls.push(build_crl(&spec).unwrap());
    let verifier = verifier_with_crls(&crls, RevocationPolicy::RequireCrl);
    // p02's certificate, not on the newer CRL, still verifies.
    assert!(verify_via_json(&verifier, &UserAuthParts::of("p02").evidence(), &binding()).is_ok());
    assert_eq!(
        refusal(&verifier, &UserAuthParts::of("p01").evidence(), &binding()),
        EvidenceError::Revoked
    );
}

#[test]
fn no_crl_of_the_issuer_is_refused_by_default_and_accepted_unchecked_when_allowed() {
    let evidence = read_user_authentication("p01", &binding()).unwrap();
    assert!(verify_via_json(&verifier(), &evidence, &binding()).is_ok());
    let strict = verifier_with_crls(&crls_without_auth_g2(), RevocationPolicy::RequireCrl);
    assert_eq!(
        refusal(&strict, &evidence, &binding()),
        EvidenceError::RevocationUnknown
    );
    // The signature route's CRL does not stand in for the user-authentication root's.
    let p01_signature = read_signature("p01", &binding()).unwrap();
    assert!(verify_via_json(&strict, &p01_signature, &binding()).is_ok());
    let lenient = verifier_with_crls(&crls_without_auth_g2(), RevocationPolicy::AllowUnchecked);
    let face = verify_via_json(&lenient, &evidence, &binding()).unwrap();
    assert_eq!(face.verification().revocation, Revocation::NotChecked);
    assert_eq!(face.name(), mynaid_testkit::person("p01").name);
}

#[test]
fn out_of_date_crl_is_refused() {
    let mut spec = pki().crl_spec(RootKind::Auth, Generation::G2);
    spec.this_update = date(2026, 1, 1);
    spec.next_update = Some(date(2026, 6, 1));
    let stale = verifier_with_crls(
        &crls_with_auth_g2(build_crl(&spec).unwrap()),
        RevocationPolicy::RequireCrl,
    );
    let evidence = read_user_authentication("p01", &binding()).unwrap();
    assert!(verify_via_json(&verifier(), &evidence, &binding()).is_ok());
    assert_eq!(
        refusal(&stale, &evidence, &binding()),
        EvidenceError::CrlOutOfDate {
            next_update: unix(2026, 6, 1),
            now: NOW
        }
    );
}

#[test]
fn crl_from_the_future_is_refused() {
    let mut spec = pki().crl_spec(RootKind::Auth, Generation::G2);
    spec.this_update = date(2026, 12, 1);
    let future = verifier_with_crls(
        &crls_with_auth_g2(build_crl(&spec).unwrap()),
        RevocationPolicy::RequireCrl,
    );
    let evidence = read_user_authentication("p01", &binding()).unwrap();
    assert_eq!(
        refusal(&future, &evidence, &binding()),
        EvidenceError::CrlOutOfDate {
            next_update: unix(2026, 12, 1),
            now: NOW
        }
    );
}

// ---------------------------------------------------------------------------------------
// The certificate: validity.
// ---------------------------------------------------------------------------------------

#[test]
fn expired_certificate_is_refused() {
    let evidence = user_auth_variant("p01", |spec| spec.not_after = date(2026, 11, 26));
    refused_as(
        &verifier(),
        &evidence,
        EvidenceError::Expired {
            role: CertRole::EndEntity,
            not_after: unix(2026, 11, 26),
            now: NOW,
        },
    );
}

#[test]
fn not_yet_valid_certificate_is_refused() {
    let evidence = user_auth_variant("p01", |spec| spec.not_before = date(2026, 11, 28));
    refused_as(
        &verifier(),
        &evidence,
        EvidenceError::NotYetValid {
            role: CertRole::EndEntity,
            not_before: unix(2026, 11, 28),
            now: NOW,
        },
    );
}

#[test]
fn expired_root_is_refused() {
    // p09 is issued by g1, whose root expires 2029-03-31T23:59:59Z: the root is checked
    // before the end entity (which expires a day earlier).
    let evidence = read_user_authentication("p09", &binding()).unwrap();
    let parsed = Evidence::parse(evidence.to_json().as_bytes()).unwrap();
    let verifier = verifier_with_crls(&[], RevocationPolicy::AllowUnchecked);
    assert!(verifier.verify(&parsed, &binding(), NOW).is_ok());
    let later = unix(2029, 6, 1);
    assert!(matches!(
        verifier.verify(&parsed, &binding(), later),
        Err(EvidenceError::Expired { role: CertRole::Root, now, .. }) if now == later
    ));
}

// ---------------------------------------------------------------------------------------
// The certificate: issuer.
// ---------------------------------------------------------------------------------------

#[test]
fn unknown_issuer_key_identifier_is_refused() {
    let unknown = user_auth_variant("p01", |spec| spec.authority_key_id = Some(vec![0x42; 20]));
    refused_as(&verifier(), &unknown, EvidenceError::UnknownIssuer);
    // A certificate without any AKI names no anchor either.
    let no_aki = user_auth_variant("p01", |spec| spec.authority_key_id = None);
    assert_eq!(refusal(&verifier(), &no_aki, &binding()), EvidenceError::UnknownIssuer);
}

#[test]
fn verifier_without_the_user_authentication_roots_refuses_genuine_evidence() {
    // Only the signature roots (and their CRLs) are trusted.
    let sign_only = verifier_with(
        &root_ders()[..2],
        &crl_ders()[..2],
        RevocationPolicy::RequireCrl,
        vec![cv_ca()],
    );
    assert!(verify_via_json(&sign_only, &read_signature("p01", &binding()).unwrap(), &binding()).is_ok());
    let evidence = read_user_authentication("p01", &binding()).unwrap();
    assert_eq!(refusal(&sign_only, &evidence, &binding()), EvidenceError::UnknownIssuer);
}

#[test]
fn other_generations_key_under_the_same_name_is_refused() {
    // Same DN, same AKI (auth g2), but signed by the auth g1 key.
    let evidence = user_auth_variant("p01", |spec| spec.issuer_key = root_key(RootKind::Auth, Generation::G1));
    refused_as(&verifier(), &evidence, EvidenceError::CertificateSignatureInvalid);
    // AKI names g1, signed by g2: g1 is trusted and has the same DN, but its key did not sign.
    let g1 = pki().root(RootKind::Auth, Generation::G1).key_id.clone();
    let evidence = user_auth_variant("p01", |spec| spec.authority_key_id = Some(g1));
    assert_eq!(
        refusal(&verifier(), &evidence, &binding()),
        EvidenceError::CertificateSignatureInvalid
    );
}

#[test]
fn signed_by_the_signature_root_under_the_user_authentication_name_is_refused() {
    // The user-authentication issuer's DN and key identifier, but the signature root's key
    // signed: the signature does not verify under the anchor the key identifier names.
    let evidence = user_auth_variant("p01", |spec| spec.issuer_key = root_key(RootKind::Sign, Generation::G2));
    refused_as(&verifier(), &evidence, EvidenceError::CertificateSignatureInvalid);
    // The signature root's key identifier with the user-authentication DN: the anchor found
    // is not the issuer named.
    let sign_g2 = pki().root(RootKind::Sign, Generation::G2).key_id.clone();
    let evidence = user_auth_variant("p01", |spec| {
        spec.issuer_key = root_key(RootKind::Sign, Generation::G2);
        spec.authority_key_id = Some(sign_g2);
    });
    assert_eq!(
        refusal(&verifier(), &evidence, &binding()),
        EvidenceError::UnknownIssuer
    );
}

#[test]
fn user_authentication_profile_issued_by_the_signature_root_is_refused() {
    // A certificate in the user-authentication profile (digitalSignature only, no SAN)
    // issued, consistently, by the signature root: the chain is sound, but a signature root
    // never vouches for the 4-digit route.
    let root = pki().root(RootKind::Sign, Generation::G2);
    let evidence = user_auth_variant("p01", |spec| {
        spec.issuer = root.dn.clone();
        spec.issuer_key = &root.key;
        spec.authority_key_id = Some(root.key_id.clone());
    });
    refused_as(&verifier(), &evidence, EvidenceError::WrongCertificateKind);
}

#[test]
fn root_that_names_no_jpki_kind_vouches_for_nothing() {
    // The auth g2 key as a self-signed root whose subject names neither JPKI hierarchy, in
    // place of the real auth g2 root; p01's certificate re-issued under that name.
    let real = pki().root(RootKind::Auth, Generation::G2);
    let dn = Dn::parse("C=JP, O=JPKI-TEST, OU=some other CA").unwrap();
    let mut root_spec = real.spec();
    root_spec.issuer = dn.clone();
    root_spec.subject = dn.clone();
    let mut roots = root_ders();
    roots[3] = build_certificate(&root_spec).unwrap();
    let verifier = verifier_with(&roots, &crl_ders(), RevocationPolicy::RequireCrl, vec![cv_ca()]);
    let evidence = user_auth_variant("p01", |spec| spec.issuer = dn);
    assert_eq!(
        refusal(&verifier, &evidence, &binding()),
        EvidenceError::WrongCertificateKind
    );
}

// ---------------------------------------------------------------------------------------
// The certificate: kind and profile.
// ---------------------------------------------------------------------------------------

#[test]
fn signature_certificate_on_the_user_authentication_route_is_refused() {
    // p01's genuine signature certificate and a genuine signature by its key, with p01's
    // genuine records: the 4-digit route needs the user-authentication certificate.
    let p01 = pki_person("p01");
    let sign = p01.sign.as_ref().unwrap();
    let mut parts = UserAuthParts::of("p01");
    parts.certificate = sign.certificate.clone();
    parts.signature = card_signature(&sign.key, &binding());
    refused_as(&verifier(), &parts.evidence(), EvidenceError::WrongCertificateKind);
    // The same from the card: the signature route's reading spliced into this route's body.
    let Body::Signature { certificate, signature } = read_signature("p01", &binding()).unwrap().body else {
        unreachable!()
    };
    let mut read = parts_of(read_user_authentication("p01", &binding()).unwrap());
    read.certificate = certificate.to_vec();
    read.signature = signature;
    assert_eq!(
        refusal(&verifier(), &read.evidence(), &binding()),
        EvidenceError::WrongCertificateKind
    );
}

#[test]
fn user_authentication_certificate_on_the_signature_route_is_refused() {
    // p01's genuine user-authentication certificate and a genuine signature by its key.
    let p01 = pki_person("p01");
    let evidence = signature_evidence(p01.auth.certificate.clone(), card_signature(&p01.auth.key, &binding()));
    assert!(verify_via_json(&verifier(), &read_signature("p01", &binding()).unwrap(), &binding()).is_ok());
    assert_eq!(
        refusal(&verifier(), &evidence, &binding()),
        EvidenceError::WrongCertificateKind
    );
    // The same from the card.
    let read = parts_of(read_user_authentication("p01", &binding()).unwrap());
    let evidence = signature_evidence(read.certificate, read.signature);
    assert_eq!(
        refusal(&verifier(), &evidence, &binding()),
        EvidenceError::WrongCertificateKind
    );
}

#[test]
fn key_usage_with_non_repudiation_is_refused() {
    // The signature certificate's KeyUsage on a user-authentication certificate.
    let evidence = user_auth_variant("p01", |spec| spec.key_usage = Some(KeyUsageSpec::signature()));
    refused_as(&verifier(), &evidence, EvidenceError::WrongKeyUsage);
}

#[test]
fn key_usage_with_key_cert_sign_or_crl_sign_is_refused() {
    for extra in [KeyUsages::KeyCertSign, KeyUsages::CRLSign] {
        let evidence = user_auth_variant("p01", |spec| {
            spec.key_usage = Some(KeyUsageSpec {
                usages: KeyUsage(KeyUsages::DigitalSignature | extra),
                critical: true,
            });
        });
        refused_as(&verifier(), &evidence, EvidenceError::WrongKeyUsage);
    }
}

#[test]
fn key_usage_without_digital_signature_is_refused() {
    let evidence = user_auth_variant("p01", |spec| {
        spec.key_usage = Some(KeyUsageSpec {
            usages: KeyUsage(KeyUsages::KeyEncipherment.into()),
            critical: true,
        });
    });
    refused_as(&verifier(), &evidence, EvidenceError::WrongKeyUsage);
}

#[test]
fn key_usage_not_critical_is_refused() {
    let evidence = user_auth_variant("p01", |spec| {
        spec.key_usage = Some(KeyUsageSpec {
            critical: false,
            ..KeyUsageSpec::authentication()
        })
    });
    refused_as(&verifier(), &evidence, EvidenceError::WrongKeyUsage);
}

#[test]
fn key_usage_missing_is_refused() {
    let evidence = user_auth_variant("p01", |spec| spec.key_usage = None);
    refused_as(&verifier(), &evidence, EvidenceError::WrongKeyUsage);
}

#[test]
fn ca_end_entity_is_refused() {
    let evidence = user_auth_variant("p01", |spec| spec.ca = Some(true));
    refused_as(&verifier(), &evidence, EvidenceError::EndEntityIsCa);
    // BasicConstraints cA FALSE is what RFC 5280 allows an end entity to say.
    let explicit_false = user_auth_variant("p01", |spec| spec.ca = Some(false));
    assert!(verify_via_json(&verifier(), &explicit_false, &binding()).is_ok());
}

#[test]
fn sha1_signed_certificate_is_refused() {
    let evidence = user_auth_variant("p01", |spec| spec.signature_hash = SignatureHash::Sha1);
    refused_as(
        &verifier(),
        &evidence,
        EvidenceError::UnsupportedSignatureAlgorithm {
            role: CertRole::EndEntity,
            oid: "1.2.840.113549.1.1.5".into(),
        },
    );
}

#[test]
fn unknown_critical_extension_is_refused() {
    let evidence = user_auth_variant("p01", |spec| {
        spec.extra_extensions
            .push((ObjectIdentifier::new_unwrap("1.2.3.4.5"), true, vec![0x05, 0x00]));
    });
    refused_as(
        &verifier(),
        &evidence,
        EvidenceError::UnknownCriticalExtension("1.2.3.4.5".into()),
    );
    // The same extension, not critical, is ignored (RFC 5280 §4.2).
    let non_critical = user_auth_variant("p01", |spec| {
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
    let key = PrivateKey::new(&mut ChaCha20Rng::from_seed([9; 32]), 1024).unwrap();
    let public = key.to_public_key();
    let mut parts = UserAuthParts::of("p01");
    let mut spec = pki().auth_cert_spec(pki_person("p01")).unwrap();
    spec.subject_public_key = public;
    parts.certificate = build_certificate(&spec).unwrap();
    parts.signature = card_signature(&key, &binding());
    refused_as(
        &verifier(),
        &parts.evidence(),
        EvidenceError::UnsupportedKey(CertRole::EndEntity),
    );
}

// ---------------------------------------------------------------------------------------
// The live signature.
// ---------------------------------------------------------------------------------------

#[test]
fn signature_over_another_session_origin_challenge_or_purpose_is_refused() {
    let key = &pki_person("p01").auth.key;
    let other_challenge = [0xA5; 32];
    let others = [
        Binding {
            session: b"session-2",
            ..binding()
        },
        Binding {
            origin: "https://evil.example.jp",
            ..binding()
        },
        Binding {
            challenge: &other_challenge,
            ..binding()
        },
        Binding {
            purpose: mynaid_protocol::Purpose::LinkCard,
            ..binding()
        },
    ];
    for other in others {
        let mut parts = UserAuthParts::of("p01");
        parts.signature = card_signature(key, &other);
        refused_as(&verifier(), &parts.evidence(), EvidenceError::CardSignatureInvalid);
        // Verified for the session it was made for, it is accepted.
        assert!(verify_via_json(&verifier(), &parts.evidence(), &other).is_ok());
    }
}

#[test]
fn signature_by_another_cards_key_is_refused() {
    // p02's user-authentication key signed this very session; p01's certificate was sent.
    let mut parts = UserAuthParts::of("p01");
    parts.signature = card_signature(&pki_person("p02").auth.key, &binding());
    refused_as(&verifier(), &parts.evidence(), EvidenceError::CardSignatureInvalid);
    // The same from the cards.
    let mut read = parts_of(read_user_authentication("p01", &binding()).unwrap());
    read.signature = parts_of(read_user_authentication("p02", &binding()).unwrap()).signature;
    assert_eq!(
        refusal(&verifier(), &read.evidence(), &binding()),
        EvidenceError::CardSignatureInvalid
    );
}

#[test]
fn signature_by_the_same_cards_other_keys_is_refused() {
    // The signature key (EF 001A) and the input-support AP's key (EF 0013, which the old
    // PIN-less route used) are not the key the certificate certifies.
    let p01 = pki_person("p01");
    for key in [&p01.sign.as_ref().unwrap().key, &p01.card_key] {
        let mut parts = UserAuthParts::of("p01");
        parts.signature = card_signature(key, &binding());
        refused_as(&verifier(), &parts.evidence(), EvidenceError::CardSignatureInvalid);
    }
}

#[test]
fn the_holder_is_checked_before_the_records() {
    // A revoked certificate with broken records is refused as revoked: the records of a
    // card whose key is not proven are not even parsed.
    let mut p10 = parts_of(read_user_authentication("p10", &binding()).unwrap());
    p10.basic_info = b"not a record".to_vec();
    assert_eq!(
        refusal(&verifier(), &p10.evidence(), &binding()),
        EvidenceError::Revoked
    );
    let mut parts = UserAuthParts::of("p01");
    parts.signature[0] ^= 1;
    parts.cv_certificate = b"not a record".to_vec();
    assert_eq!(
        refusal(&verifier(), &parts.evidence(), &binding()),
        EvidenceError::CardSignatureInvalid
    );
}

// ---------------------------------------------------------------------------------------
// The records.
// ---------------------------------------------------------------------------------------

#[test]
fn basic_info_changed_by_one_byte_is_refused() {
    let mut parts = UserAuthParts::of("p01");
    // The sex code, the last byte of the TLV: '1' → '2' still parses, so only the digest
    // can tell.
    let last = parts.basic_info.len() - 1;
    assert_eq!(parts.basic_info[last], b'1');
    parts.basic_info[last] = b'2';
    refused_as(&verifier(), &parts.evidence(), EvidenceError::BasicInfoDigestMismatch);
}

#[test]
fn basic_info_of_another_person_is_refused() {
    let mut parts = UserAuthParts::of("p01");
    parts.basic_info = UserAuthParts::of("p02").basic_info;
    refused_as(&verifier(), &parts.evidence(), EvidenceError::BasicInfoDigestMismatch);
}

#[test]
fn integrity_record_signed_by_another_key_is_refused() {
    let person = pki_person("p01");
    let ef0001 = person.file("input-support", 0x0001).unwrap();
    let ef0002 = person.file("input-support", 0x0002).unwrap();
    let mut parts = UserAuthParts::of("p01");
    parts.integrity_record = build_integrity_record(ef0001, ef0002, &pki().cv_ca.key).unwrap();
    refused_as(&verifier(), &parts.evidence(), EvidenceError::IntegritySignatureInvalid);
    // Signed by the right key (the AP data key of EF 0004), it is the card's record.
    let resigned = build_integrity_record(ef0001, ef0002, &pki().ap_data_key.key).unwrap();
    assert_eq!(resigned, UserAuthParts::of("p01").integrity_record);
}

#[test]
fn cv_certificate_signed_by_another_key_is_refused() {
    let pki = pki();
    let mut parts = UserAuthParts::of("p01");
    let data_key = pki.ap_data_key.key.to_public_key();
    parts.cv_certificate =
        build_cv_certificate(&pki.cv_ca.id, &pki.ap_data_key.id, &data_key, &pki.ap_data_key.key).unwrap();
    refused_as(
        &verifier(),
        &parts.evidence(),
        EvidenceError::CvCertificateSignatureInvalid,
    );
}

#[test]
fn cv_certificate_under_an_unknown_ca_is_refused() {
    let pki = pki();
    let mut parts = UserAuthParts::of("p01");
    let data_key = pki.ap_data_key.key.to_public_key();
    let other_ca = key_id("9000099/001").unwrap();
    parts.cv_certificate = build_cv_certificate(&other_ca, &pki.ap_data_key.id, &data_key, &pki.cv_ca.key).unwrap();
    refused_as(
        &verifier(),
        &parts.evidence(),
        EvidenceError::UnknownCvCa("9000099/001".into()),
    );
    // A verifier that has no CV CA key at all knows none.
    let no_cv = verifier_with(&root_ders(), &crl_ders(), RevocationPolicy::RequireCrl, Vec::new());
    assert_eq!(
        refusal(&no_cv, &UserAuthParts::of("p01").evidence(), &binding()),
        EvidenceError::UnknownCvCa(KeyId(pki.cv_ca.id).to_string())
    );
}

// ---------------------------------------------------------------------------------------
// The documented limit.
// ---------------------------------------------------------------------------------------

/// Today's documented behaviour (docs/evidence.md "Limits"): the issuer signs the card-face
/// records (EF 0004 under the CV CA, EF 0003 over EF 0002) per card kind, not per card, and
/// nothing it signs ties them to the user-authentication certificate; the certificate names
/// no person. So p01's records (basic_info, integrity_record, cv_certificate) sent with
/// p02's genuine user-authentication certificate and p02's live, PIN-proven signature are
/// accepted, with p01's card face, under the `acr` of this route
/// (`ACR_JPKI_USER_AUTHENTICATION`): what it proves is that the holder of a valid,
/// unrevoked card proved its user-authentication PIN in this session and that these
/// issuer-signed records were presented. The card-link identifier follows the PIN-proven key,
/// so it is genuine p02's, never p01's: a splice links the presenting card. Not an ignored
/// test: a change to this behaviour must be seen.
#[test]
fn records_of_one_card_with_the_certificate_and_signature_of_another_are_accepted() {
    let p01 = parts_of(read_user_authentication("p01", &binding()).unwrap());
    let p02 = parts_of(read_user_authentication("p02", &binding()).unwrap());
    let spliced = UserAuthParts {
        certificate: p02.certificate.clone(),
        signature: p02.signature.clone(),
        basic_info: p01.basic_info.clone(),
        integrity_record: p01.integrity_record.clone(),
        cv_certificate: p01.cv_certificate.clone(),
    };
    let face = verify_via_json(&verifier(), &spliced.evidence(), &binding()).expect("the documented limit");
    let person = mynaid_testkit::person("p01");
    assert_eq!(face.claims().name, person.name, "p01's card face");
    assert_eq!(face.birth_date().iso(), person.birthdate);
    assert_eq!(
        face.claims().verification.route.acr(),
        mynaid_protocol::ACR_JPKI_USER_AUTHENTICATION
    );
    let genuine_p01 = verify_via_json(&verifier(), &p01.evidence(), &binding()).unwrap();
    let genuine_p02 = verify_via_json(&verifier(), &p02.evidence(), &binding()).unwrap();
    assert_eq!(genuine_p02.name(), mynaid_testkit::person("p02").name);
    // The certificate checked is p02's.
    assert_eq!(
        face.verification().certificate_serial,
        genuine_p02.verification().certificate_serial
    );
    let secret = b"link-secret-for-this-test-0123456";
    assert_eq!(
        face.card_link_id(secret, "rp"),
        genuine_p02.card_link_id(secret, "rp"),
        "the identifier follows the PIN-proven key"
    );
    assert_ne!(face.card_link_id(secret, "rp"), genuine_p01.card_link_id(secret, "rp"));
}
