//! Partitioned CRLs (RFC 5280 §5.2.5): a certificate that names a CRL distribution point is
//! decided by the CRL of that point only, and fails closed when none is loaded; a
//! certificate that names none is decided by the issuer's full CRL; each point keeps its own
//! newest CRL. And what a CRL says about a revoked serial: when, and why.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use der::asn1::ObjectIdentifier;
use mynaid_evidence::{CrlError, CrlSet, EvidenceError, RevocationPolicy, RevocationReason, RevokedEntry, Verifier};
use mynaid_protocol::Evidence;
use mynaid_testpki::x509_cert::ext::pkix::crl::CrlReason;
use mynaid_testpki::{CrlSpec, Generation, RootKind, build_crl, crl_distribution_points, issuing_distribution_point};

const POINT_A: &str = "http://crl.example.jp/jpki-sign-g2-a.crl";
const POINT_B: &str = "http://crl.example.jp/jpki-sign-g2-b.crl";

/// p01's signature certificate (issued by sign-g2) naming the distribution point `uri`.
fn p01_at(uri: &str) -> Evidence {
    signature_variant("p01", |spec| {
        spec.extra_extensions.push(crl_distribution_points(&[uri]).unwrap());
    })
}

/// p01's signature serial.
fn p01_serial() -> Vec<u8> {
    pki_person("p01").sign.as_ref().unwrap().serial.clone()
}

/// The sign-g2 CRL spec of the point `uri` (`None`: the full CRL) as of `this_update`,
/// listing `revoked` (serials, revoked on 2026-01-01 with `affiliationChanged`).
fn sign_g2_crl(uri: Option<&str>, this_update: (u16, u8, u8), revoked: &[Vec<u8>]) -> Vec<u8> {
    let mut spec: CrlSpec<'_> = pki().crl_spec(RootKind::Sign, Generation::G2);
    spec.this_update = date(this_update.0, this_update.1, this_update.2);
    spec.revoked = revoked
        .iter()
        .map(|serial| mynaid_testpki::RevokedEntry {
            serial: serial.clone(),
            revocation_date: date(2026, 1, 1),
            reason: Some(CrlReason::AffiliationChanged),
        })
        .collect();
    if let Some(uri) = uri {
        spec.extra_extensions.push(issuing_distribution_point(uri).unwrap());
    }
    build_crl(&spec).unwrap()
}

/// The committed full CRLs with `more` loaded after them.
fn verifier_plus(more: &[Vec<u8>]) -> Verifier {
    let mut crls = crl_ders();
    crls.extend_from_slice(more);
    verifier_with(&root_ders(), &crls, RevocationPolicy::RequireCrl, vec![cv_ca()])
}

#[test]
fn a_certificate_with_a_point_is_decided_by_that_points_crl_only() {
    let evidence = p01_at(POINT_A);
    let a_revokes = sign_g2_crl(Some(POINT_A), (2026, 1, 1), &[p01_serial()]);
    let a_clean = sign_g2_crl(Some(POINT_A), (2026, 1, 1), &[]);
    let b_revokes = sign_g2_crl(Some(POINT_B), (2026, 1, 1), &[p01_serial()]);
    let full_revokes = sign_g2_crl(None, (2026, 1, 1), &[p01_serial()]);

    // On A's CRL: revoked.
    let v = verifier_plus(&[a_revokes, b_revokes.clone()]);
    assert_eq!(refusal(&v, &evidence, &binding()), EvidenceError::Revoked);
    // On B's CRL (and the full CRL) only: A's CRL decides, and it does not list it.
    let v = verifier_plus(&[a_clean.clone(), b_revokes.clone(), full_revokes]);
    verify_via_json(&v, &evidence, &binding()).expect("A's CRL does not list it");
    // The same certificate without the point: the full CRL decides, the points' CRLs do not.
    let plain = read_signature("p01", &binding()).unwrap();
    verify_via_json(&verifier_plus(&[a_clean, b_revokes]), &plain, &binding()).expect("the full CRL decides");
}

#[test]
fn no_crl_of_the_point_fails_closed() {
    let evidence = p01_at(POINT_A);
    // The issuer's full CRL and another point's are loaded, A's is not.
    let v = verifier_plus(&[sign_g2_crl(Some(POINT_B), (2026, 1, 1), &[])]);
    assert_eq!(refusal(&v, &evidence, &binding()), EvidenceError::RevocationUnknown);
    // Unless the policy accepts an unchecked status.
    let mut crls = crl_ders();
    crls.push(sign_g2_crl(Some(POINT_B), (2026, 1, 1), &[]));
    let lenient = verifier_with(&root_ders(), &crls, RevocationPolicy::AllowUnchecked, vec![cv_ca()]);
    let face = verify_via_json(&lenient, &evidence, &binding()).unwrap();
    assert_eq!(face.verification().revocation, mynaid_evidence::Revocation::NotChecked);
}

#[test]
fn a_certificate_without_a_point_is_decided_by_the_full_crl() {
    let plain = read_signature("p01", &binding()).unwrap();
    let full_revokes = sign_g2_crl(None, (2026, 1, 1), &[p01_serial()]);
    let v = verifier_plus(&[full_revokes, sign_g2_crl(Some(POINT_A), (2026, 1, 1), &[])]);
    assert_eq!(refusal(&v, &plain, &binding()), EvidenceError::Revoked);
    // Only a point's CRL of the issuer (no full CRL): nothing decides it.
    let mut crls = crl_ders();
    crls.remove(1); // sign-g2's full CRL
    crls.push(sign_g2_crl(Some(POINT_A), (2026, 1, 1), &[]));
    let v = verifier_with(&root_ders(), &crls, RevocationPolicy::RequireCrl, vec![cv_ca()]);
    assert_eq!(refusal(&v, &plain, &binding()), EvidenceError::RevocationUnknown);
}

#[test]
fn each_point_keeps_its_newest_crl() {
    let trust = trust(&root_ders());
    let mut set = CrlSet::new();
    let a_new = sign_g2_crl(Some(POINT_A), (2026, 2, 1), &[p01_serial()]);
    let a_old = sign_g2_crl(Some(POINT_A), (2026, 1, 1), &[]);
    let b_old = sign_g2_crl(Some(POINT_B), (2026, 1, 1), &[]);
    let info = set.load(&a_new, &trust).unwrap();
    assert!(info.partitioned && info.changed);
    // A's older CRL is refused: a rollback would hide the revocation …
    assert_eq!(
        set.load(&a_old, &trust),
        Err(CrlError::Older {
            this_update: unix(2026, 1, 1),
            in_use: unix(2026, 2, 1)
        })
    );
    // … while B's, as old, is another point's and is taken; so is the full CRL.
    assert!(set.load(&b_old, &trust).unwrap().changed);
    assert!(!set.load(&crl_ders()[1], &trust).unwrap().partitioned);
    assert_eq!(set.len(), 3);
    // The same CRL again changes nothing.
    assert!(!set.load(&a_new, &trust).unwrap().changed);
    assert_eq!(set.len(), 3);
    let v = Verifier::new(trust, set, RevocationPolicy::RequireCrl, vec![cv_ca()]);
    assert_eq!(refusal(&v, &p01_at(POINT_A), &binding()), EvidenceError::Revoked);
    verify_via_json(&v, &p01_at(POINT_B), &binding()).expect("B's CRL does not list it");
}

#[test]
fn a_stale_crl_of_the_point_is_out_of_date() {
    let mut spec = pki().crl_spec(RootKind::Sign, Generation::G2);
    spec.this_update = date(2026, 1, 1);
    spec.next_update = Some(date(2026, 6, 1));
    spec.extra_extensions.push(issuing_distribution_point(POINT_A).unwrap());
    let v = verifier_plus(&[build_crl(&spec).unwrap()]);
    assert_eq!(
        refusal(&v, &p01_at(POINT_A), &binding()),
        EvidenceError::CrlOutOfDate {
            next_update: unix(2026, 6, 1),
            now: NOW
        }
    );
    // The full CRL, in date, still decides the certificates that name no point.
    verify_via_json(&v, &read_signature("p01", &binding()).unwrap(), &binding()).unwrap();
}

#[test]
fn issuing_distribution_points_of_other_scopes_are_refused() {
    let trust = trust(&root_ders());
    let mut set = CrlSet::new();
    const IDP: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.28");
    // SEQUENCE { [2] TRUE }: onlyContainsCACerts; { [4] TRUE }: indirectCRL; { [3] BIT STRING
    // keyCompromise }: onlySomeReasons; { [5] TRUE }: onlyContainsAttributeCerts.
    for idp in [
        vec![0x30, 0x03, 0x82, 0x01, 0xFF],
        vec![0x30, 0x03, 0x84, 0x01, 0xFF],
        vec![0x30, 0x04, 0x83, 0x02, 0x06, 0x40],
        vec![0x30, 0x03, 0x85, 0x01, 0xFF],
    ] {
        let mut spec = pki().crl_spec(RootKind::Sign, Generation::G2);
        spec.extra_extensions.push((IDP, true, idp));
        assert_eq!(
            set.load(&build_crl(&spec).unwrap(), &trust),
            Err(CrlError::UnsupportedDistributionPoint)
        );
    }
    // Two issuingDistributionPoints: the second could widen the first.
    let mut spec = pki().crl_spec(RootKind::Sign, Generation::G2);
    spec.extra_extensions.push(issuing_distribution_point(POINT_A).unwrap());
    spec.extra_extensions.push(issuing_distribution_point(POINT_B).unwrap());
    assert_eq!(set.load(&build_crl(&spec).unwrap(), &trust), Err(CrlError::Malformed));
    // An IDP with only onlyContainsUserCerts names no point: a full CRL, taken (critical,
    // and understood).
    let mut spec = pki().crl_spec(RootKind::Sign, Generation::G2);
    spec.extra_extensions
        .push((IDP, true, vec![0x30, 0x03, 0x81, 0x01, 0xFF]));
    assert!(!set.load(&build_crl(&spec).unwrap(), &trust).unwrap().partitioned);
}

#[test]
fn the_revocation_date_and_reason_are_kept_for_every_point() {
    let trust = trust(&root_ders());
    let key_id = pki().root(RootKind::Sign, Generation::G2).key_id.clone();
    let mut set = crl_set(&crl_ders(), &trust);
    // p08 on the committed full CRL: keyCompromise on 2025-04-01; the serial with a leading
    // 00 (a DER INTEGER's form) is the same serial.
    let p08 = pki_person("p08").sign.as_ref().unwrap().serial.clone();
    let expected = Some(RevokedEntry {
        revoked_at: unix(2025, 4, 1),
        reason: Some(RevocationReason::KeyCompromise),
    });
    assert_eq!(set.revoked_entry(&key_id, &p08), expected);
    let mut padded = vec![0];
    padded.extend_from_slice(&p08);
    assert_eq!(set.revoked_entry(&key_id, &padded), expected);
    // p01 on point A's CRL only: found all the same.
    assert_eq!(set.revoked_entry(&key_id, &p01_serial()), None);
    set.load(&sign_g2_crl(Some(POINT_A), (2026, 1, 1), &[p01_serial()]), &trust)
        .unwrap();
    assert_eq!(
        set.revoked_entry(&key_id, &p01_serial()),
        Some(RevokedEntry {
            revoked_at: unix(2026, 1, 1),
            reason: Some(RevocationReason::AffiliationChanged),
        })
    );
    // Another issuer's key id: not its CRL.
    let other = pki().root(RootKind::Auth, Generation::G2).key_id.clone();
    assert_eq!(set.revoked_entry(&other, &p01_serial()), None);
    // Listed again on the full CRL, later and without a reasonCode: the earlier revocation
    // is the one answered; alone, the entry has no reason.
    let mut spec = pki().crl_spec(RootKind::Sign, Generation::G2);
    spec.this_update = date(2026, 3, 1);
    spec.revoked = vec![mynaid_testpki::RevokedEntry {
        serial: p01_serial(),
        revocation_date: date(2026, 2, 1),
        reason: None,
    }];
    let later = build_crl(&spec).unwrap();
    set.load(&later, &trust).unwrap();
    assert_eq!(
        set.revoked_entry(&key_id, &p01_serial()).unwrap().revoked_at,
        unix(2026, 1, 1)
    );
    let alone = crl_set(&[later], &trust);
    assert_eq!(
        alone.revoked_entry(&key_id, &p01_serial()),
        Some(RevokedEntry {
            revoked_at: unix(2026, 2, 1),
            reason: None,
        })
    );
    assert_eq!(RevocationReason::AffiliationChanged.as_str(), "affiliationChanged");
    assert_eq!("removeFromCRL".parse(), Ok(RevocationReason::RemoveFromCrl));
    assert_eq!(RevocationReason::ALL.len(), 10);
}
