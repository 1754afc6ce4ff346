//! The two verification routes, sharing one certificate check. Pure functions of their inputs: the evidence, the values
//! the signature must be bound to, the time, the trust anchors and the CRLs.

use mynaid_card::formats::{BasicInfo, CvCertificate, IntegrityRecord, SanAttributes};
use zeroize::Zeroizing;

use mynaid_protocol::{Binding, Body, Evidence, Route};

use crate::crl::{CrlInfo, CrlSet, RevocationPolicy};
use crate::crypto::{sha256, verify_rsa_sha256};
use crate::error::CrlError;
use crate::error::{CertRole, EvidenceError};
use crate::face::{Revocation, Verification, VerifiedCardFace};
use crate::trust::{CvCaKey, TrustStore};
use crate::x509::{JpkiKind, parse_certificate};

/// Checks evidence against configured trust.
#[derive(Debug)]
pub struct Verifier {
    trust: TrustStore,
    /// Replaced whole when fresh CRLs arrive; a verification holds the set it started with.
    crls: std::sync::RwLock<std::sync::Arc<CrlSet>>,
    /// Held by [`Verifier::refresh_crls`] from the copy of the set to its replacement: two
    /// refreshes at once would otherwise each drop the other's CRLs.
    refreshing: std::sync::Mutex<()>,
    revocation: RevocationPolicy,
    /// How long past its `nextUpdate` a CRL still answers (0: not at all, fail closed).
    crl_grace_secs: u64,
    cv_cas: Vec<CvCaKey>,
}

impl Verifier {
    /// A verifier with JPKI anchors, loaded CRLs, a revocation policy and CV CA keys.
    pub fn new(trust: TrustStore, crls: CrlSet, revocation: RevocationPolicy, cv_cas: Vec<CvCaKey>) -> Verifier {
        Verifier {
            trust,
            crls: std::sync::RwLock::new(std::sync::Arc::new(crls)),
            refreshing: std::sync::Mutex::new(()),
            revocation,
            crl_grace_secs: 0,
            cv_cas,
        }
    }

    /// The JPKI anchors.
    pub fn trust(&self) -> &TrustStore {
        &self.trust
    }

    /// The loaded CRLs (read only: readiness checks and metrics look at their dates).
    pub fn crls(&self) -> std::sync::Arc<CrlSet> {
        match self.crls.read() {
            Ok(c) => c.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// What is done when no CRL covers a certificate.
    pub fn revocation_policy(&self) -> RevocationPolicy {
        self.revocation
    }

    /// Replaces the CRLs (e.g. after the daily download), keeping the rest.
    pub fn set_crls(&self, crls: CrlSet) {
        let fresh = std::sync::Arc::new(crls);
        match self.crls.write() {
            Ok(mut c) => *c = fresh,
            Err(poisoned) => *poisoned.into_inner() = fresh,
        }
    }

    /// Loads fresh CRLs (DER) over the ones in use: each replaces the CRL of its issuer and
    /// distribution point only when it verifies, has a `nextUpdate` and is not older; the
    /// others' refusals are returned, and the set in use stays the last good one for them.
    pub fn refresh_crls(&self, ders: &[Vec<u8>]) -> Vec<Result<CrlInfo, CrlError>> {
        let _one_at_a_time = self
            .refreshing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut next = (*self.crls()).clone();
        let results: Vec<_> = ders.iter().map(|der| next.load(der, &self.trust)).collect();
        if results.iter().any(|r| r.as_ref().is_ok_and(|info| info.changed)) {
            self.set_crls(next);
        }
        results
    }

    /// Lets a CRL answer for `secs` after its `nextUpdate` (default 0: a stale CRL fails
    /// every reading of its issuer until a fresh one is loaded).
    pub fn with_crl_grace(mut self, secs: u64) -> Verifier {
        self.crl_grace_secs = secs;
        self
    }

    /// Verifies `evidence` for the session described by `binding` at time `now` (seconds
    /// since the epoch). The to-be-signed value is rebuilt from `binding`, which the caller
    /// takes from its own records, never from the request.
    pub fn verify(
        &self,
        evidence: &Evidence,
        binding: &Binding<'_>,
        now: u64,
    ) -> Result<VerifiedCardFace, EvidenceError> {
        let tbs = binding.to_be_signed();
        match &evidence.body {
            Body::Signature { certificate, signature } => {
                let checked = self.check_certificate(certificate, JpkiKind::Signature, signature, &tbs, now)?;
                let san = SanAttributes::from_certificate(certificate)?;
                Ok(VerifiedCardFace {
                    name: san.name,
                    address: san.address,
                    birth_date: san.birth_date,
                    sex: san.sex,
                    name_substitutes: Some(san.name_substitutes),
                    address_substitutes: Some(san.address_substitutes),
                    card_key: checked.card_key,
                    verification: checked.verification(Route::Signature, now),
                })
            }
            Body::UserAuthentication {
                certificate,
                signature,
                basic_info,
                integrity_record,
                cv_certificate,
            } => {
                // The holder first: the PIN-proven key of a valid, unrevoked certificate
                // signed this session's value. Only then are the records looked at.
                let checked =
                    self.check_certificate(certificate, JpkiKind::UserAuthentication, signature, &tbs, now)?;
                let info = self.check_records(basic_info, integrity_record, cv_certificate)?;
                Ok(VerifiedCardFace {
                    name: info.name,
                    address: info.address,
                    birth_date: info.birth_date,
                    sex: info.sex,
                    name_substitutes: None,
                    address_substitutes: None,
                    card_key: checked.card_key,
                    verification: checked.verification(Route::UserAuthentication, now),
                })
            }
        }
    }

    /// A JPKI certificate of `kind`: chained by key identifier to a root of that kind,
    /// RFC 5280 essentials, the kind's KeyUsage, the issuer's CRL (of the certificate's
    /// distribution points, where it names any), and the live signature of its key over
    /// `tbs`.
    fn check_certificate(
        &self,
        certificate: &[u8],
        kind: JpkiKind,
        signature: &[u8],
        tbs: &[u8; 32],
        now: u64,
    ) -> Result<CheckedCertificate, EvidenceError> {
        let ee = parse_certificate(certificate, CertRole::EndEntity)?;
        ee.check_algorithm(CertRole::EndEntity)?;
        // The issuer by key identifier: every generation of a JPKI root has the same DN.
        let anchor = ee
            .authority_key_id
            .as_deref()
            .and_then(|id| self.trust.by_key_id(id))
            .ok_or(EvidenceError::UnknownIssuer)?;
        if anchor.facts.subject != ee.issuer {
            return Err(EvidenceError::UnknownIssuer);
        }
        anchor.facts.check_algorithm(CertRole::Root)?;
        if !verify_rsa_sha256(&anchor.facts.public_key, &ee.tbs, &ee.signature) {
            return Err(EvidenceError::CertificateSignatureInvalid);
        }
        // A root of the other hierarchy (or of none) never vouches for this route.
        if anchor.kind != Some(kind) {
            return Err(EvidenceError::WrongCertificateKind);
        }
        anchor.facts.check_validity(CertRole::Root, now)?;
        ee.check_validity(CertRole::EndEntity, now)?;
        if ee.ca == Some(true) {
            return Err(EvidenceError::EndEntityIsCa);
        }
        let ku_fits = match (&ee.key_usage, kind) {
            (Some((true, ku)), _) if ku.key_cert_sign() || ku.crl_sign() || !ku.digital_signature() => false,
            (Some((true, ku)), JpkiKind::Signature) => ku.non_repudiation(),
            (Some((true, ku)), JpkiKind::UserAuthentication) => !ku.non_repudiation(),
            _ => false,
        };
        if !ku_fits {
            return Err(EvidenceError::WrongKeyUsage);
        }
        if let Some(oid) = &ee.unknown_critical {
            return Err(EvidenceError::UnknownCriticalExtension(oid.clone()));
        }
        let crls = self.crls();
        let deciding: Vec<_> = crls.deciding(&anchor.key_id, ee.crl_points.as_deref()).collect();
        let revocation = if deciding.is_empty() {
            match self.revocation {
                RevocationPolicy::AllowUnchecked => Revocation::NotChecked,
                RevocationPolicy::RequireCrl => return Err(EvidenceError::RevocationUnknown),
            }
        } else {
            // Every CRL that speaks for the certificate must be in date: a stale one of a
            // second point could be the one that lists it.
            for crl in &deciding {
                if now < crl.this_update {
                    return Err(EvidenceError::CrlOutOfDate {
                        next_update: crl.this_update,
                        now,
                    });
                }
                if let Some(next) = crl.next_update
                    && now > next.saturating_add(self.crl_grace_secs)
                {
                    return Err(EvidenceError::CrlOutOfDate { next_update: next, now });
                }
            }
            if deciding.iter().any(|crl| crl.is_revoked(&ee.serial)) {
                return Err(EvidenceError::Revoked);
            }
            Revocation::CheckedCrl
        };
        if !verify_rsa_sha256(&ee.public_key, tbs, signature) {
            return Err(EvidenceError::CardSignatureInvalid);
        }
        Ok(CheckedCertificate {
            serial: hex::encode_upper(&ee.serial),
            issuer: hex::encode_upper(&anchor.key_id),
            revocation,
            card_key: sha256(&ee.spki_der),
        })
    }

    /// The input-support AP's card-face records: EF 0004 under a configured CV CA key,
    /// EF 0003 under the EF 0004 key, EF 0002 against EF 0003's digest. The issuer signs
    /// these per card kind, not per certificate: nothing here ties them to the certificate
    /// checked beside them (docs/evidence.md, "Limits").
    fn check_records(
        &self,
        basic_info: &[u8],
        integrity_record: &Zeroizing<Vec<u8>>,
        cv_certificate: &[u8],
    ) -> Result<BasicInfo, EvidenceError> {
        let cv = CvCertificate::parse(cv_certificate)?;
        let ca = self
            .cv_cas
            .iter()
            .find(|k| k.key_id == cv.ca_key_id)
            .ok_or_else(|| EvidenceError::UnknownCvCa(cv.ca_key_id.to_string()))?;
        if !verify_rsa_sha256(&ca.pkcs1, &cv.body, &cv.signature) {
            return Err(EvidenceError::CvCertificateSignatureInvalid);
        }
        let issuer_key = cv.public_key.to_pkcs1_der();
        // DF31 stays inside the record's zeroizing buffer and goes nowhere else.
        let record = IntegrityRecord::parse(integrity_record)?;
        if !verify_rsa_sha256(&issuer_key, record.signed_data(), record.signature()) {
            return Err(EvidenceError::IntegritySignatureInvalid);
        }
        if sha256(BasicInfo::digest_source(basic_info)?) != *record.basic_info_digest() {
            return Err(EvidenceError::BasicInfoDigestMismatch);
        }
        drop(record);
        Ok(BasicInfo::parse(basic_info)?)
    }
}

/// A certificate that passed [`Verifier::check_certificate`].
struct CheckedCertificate {
    serial: String,
    issuer: String,
    revocation: Revocation,
    card_key: [u8; 32],
}

impl CheckedCertificate {
    fn verification(self, route: Route, now: u64) -> Verification {
        Verification {
            route,
            certificate_serial: Some(self.serial),
            issuer: self.issuer,
            verified_at: now,
            revocation: self.revocation,
        }
    }
}
