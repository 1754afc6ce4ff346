//! The two verification routes. Pure functions of their inputs: the evidence, the values
//! the signature must be bound to, the time, the trust anchors and the CRLs.

use mynaid_card::formats::{BasicInfo, CvCertificate, IntegrityRecord, SanAttributes, SignedKey};
use zeroize::Zeroizing;

use mynaid_protocol::{Binding, Body, Evidence, Route};

use crate::crl::{CrlSet, RevocationPolicy};
use crate::crypto::{sha256, verify_rsa_sha256};
use crate::error::{CertRole, EvidenceError};
use crate::face::{Revocation, Verification, VerifiedCardFace};
use crate::trust::{CvCaKey, TrustStore};
use crate::x509::parse_certificate;

/// Checks evidence against configured trust.
#[derive(Debug)]
pub struct Verifier {
    trust: TrustStore,
    crls: CrlSet,
    revocation: RevocationPolicy,
    cv_cas: Vec<CvCaKey>,
}

impl Verifier {
    /// A verifier with JPKI anchors, loaded CRLs, a revocation policy and CV CA keys.
    pub fn new(trust: TrustStore, crls: CrlSet, revocation: RevocationPolicy, cv_cas: Vec<CvCaKey>) -> Verifier {
        Verifier {
            trust,
            crls,
            revocation,
            cv_cas,
        }
    }

    /// The JPKI anchors.
    pub fn trust(&self) -> &TrustStore {
        &self.trust
    }

    /// The loaded CRLs (read only: readiness checks and metrics look at their dates).
    pub fn crls(&self) -> &CrlSet {
        &self.crls
    }

    /// What is done when no CRL covers a certificate.
    pub fn revocation_policy(&self) -> RevocationPolicy {
        self.revocation
    }

    /// Replaces the CRLs (e.g. after the daily download), keeping the rest.
    pub fn set_crls(&mut self, crls: CrlSet) {
        self.crls = crls;
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
            Body::Signature { certificate, signature } => self.verify_signature(certificate, signature, &tbs, now),
            Body::InputSupport {
                basic_info,
                integrity_record,
                cv_certificate,
                signed_key,
                signature,
            } => self.verify_input_support(
                basic_info,
                integrity_record,
                cv_certificate,
                signed_key,
                signature,
                &tbs,
                now,
            ),
        }
    }

    fn verify_signature(
        &self,
        certificate: &[u8],
        signature: &[u8],
        tbs: &[u8; 32],
        now: u64,
    ) -> Result<VerifiedCardFace, EvidenceError> {
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
        anchor.facts.check_validity(CertRole::Root, now)?;
        ee.check_validity(CertRole::EndEntity, now)?;
        if ee.ca == Some(true) {
            return Err(EvidenceError::EndEntityIsCa);
        }
        match &ee.key_usage {
            Some((true, ku))
                if ku.digital_signature() && ku.non_repudiation() && !ku.key_cert_sign() && !ku.crl_sign() => {}
            _ => return Err(EvidenceError::WrongKeyUsage),
        }
        if let Some(oid) = &ee.unknown_critical {
            return Err(EvidenceError::UnknownCriticalExtension(oid.clone()));
        }
        let revocation = match self.crls.for_issuer(&anchor.key_id) {
            Some(crl) => {
                if now < crl.this_update {
                    return Err(EvidenceError::CrlOutOfDate {
                        next_update: crl.this_update,
                        now,
                    });
                }
                if let Some(next) = crl.next_update
                    && now > next
                {
                    return Err(EvidenceError::CrlOutOfDate { next_update: next, now });
                }
                if crl.is_revoked(&ee.serial) {
                    return Err(EvidenceError::Revoked);
                }
                Revocation::CheckedCrl
            }
            None if self.revocation == RevocationPolicy::AllowUnchecked => Revocation::NotChecked,
            None => return Err(EvidenceError::RevocationUnknown),
        };
        if !verify_rsa_sha256(&ee.public_key, tbs, signature) {
            return Err(EvidenceError::CardSignatureInvalid);
        }
        let san = SanAttributes::from_certificate(certificate)?;
        Ok(VerifiedCardFace {
            name: san.name,
            address: san.address,
            birth_date: san.birth_date,
            sex: san.sex,
            name_substitutes: Some(san.name_substitutes),
            address_substitutes: Some(san.address_substitutes),
            verification: Verification {
                route: Route::Signature,
                certificate_serial: Some(hex::encode_upper(&ee.serial)),
                issuer: hex::encode_upper(&anchor.key_id),
                verified_at: now,
                revocation,
            },
            card_key: sha256(&ee.spki_der),
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn verify_input_support(
        &self,
        basic_info: &[u8],
        integrity_record: &Zeroizing<Vec<u8>>,
        cv_certificate: &[u8],
        signed_key: &[u8],
        signature: &[u8],
        tbs: &[u8; 32],
        now: u64,
    ) -> Result<VerifiedCardFace, EvidenceError> {
        // 1. EF 0004 is signed by a configured CV CA key.
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
        // 2. EF 0003 (DF31 ‖ DF32) is signed by the EF 0004 key. DF31 stays inside the
        //    record's zeroizing buffer and goes nowhere else.
        let record = IntegrityRecord::parse(integrity_record)?;
        if !verify_rsa_sha256(&issuer_key, record.signed_data(), record.signature()) {
            return Err(EvidenceError::IntegritySignatureInvalid);
        }
        // 3. EF 0002 is what DF32 vouches for.
        if sha256(BasicInfo::digest_source(basic_info)?) != *record.basic_info_digest() {
            return Err(EvidenceError::BasicInfoDigestMismatch);
        }
        drop(record);
        // 4. EF 0007, the card's key, is signed by the EF 0004 key.
        let card = SignedKey::parse(signed_key)?;
        if !verify_rsa_sha256(&issuer_key, &card.signed_data, &card.signature) {
            return Err(EvidenceError::SignedKeySignatureInvalid);
        }
        // 5. The live card signed this session's value with that key.
        let card_key = card.public_key.to_pkcs1_der();
        if !verify_rsa_sha256(&card_key, tbs, signature) {
            return Err(EvidenceError::CardSignatureInvalid);
        }
        let info = BasicInfo::parse(basic_info)?;
        Ok(VerifiedCardFace {
            name: info.name,
            address: info.address,
            birth_date: info.birth_date,
            sex: info.sex,
            name_substitutes: None,
            address_substitutes: None,
            verification: Verification {
                route: Route::InputSupport,
                certificate_serial: None,
                issuer: cv.ca_key_id.to_string(),
                verified_at: now,
                revocation: Revocation::NotApplicable,
            },
            card_key: sha256(&card_key),
        })
    }
}
