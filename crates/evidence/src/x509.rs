//! The X.509 facts the JPKI checks need, read once from a certificate or CRL.
//!
//! Parsing is x509-cert's (strict DER); the signed bytes (`tbsCertificate`, `tbsCertList`)
//! are sliced from the original encoding rather than re-encoded, so a signature is checked
//! over exactly what the issuer signed.

use der::asn1::ObjectIdentifier;
use der::{Decode, Encode};
use mynaid_apdu::tlv::{self, Tag};
use x509_cert::Certificate;
use x509_cert::ext::pkix::{AuthorityKeyIdentifier, BasicConstraints, KeyUsage, SubjectKeyIdentifier};

use crate::error::{CertRole, EvidenceError};

/// sha256WithRSAEncryption.
pub(crate) const SHA256_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

const KEY_USAGE: &str = "2.5.29.15";
const BASIC_CONSTRAINTS: &str = "2.5.29.19";
/// Extensions a JPKI certificate may carry, critical or not, that this verifier handles or
/// may safely ignore.
const UNDERSTOOD: [&str; 10] = [
    "2.5.29.14",         // subjectKeyIdentifier
    "2.5.29.35",         // authorityKeyIdentifier
    KEY_USAGE,           // keyUsage
    BASIC_CONSTRAINTS,   // basicConstraints
    "2.5.29.17",         // subjectAltName (the card-face attributes)
    "2.5.29.18",         // issuerAltName
    "2.5.29.32",         // certificatePolicies
    "2.5.29.31",         // cRLDistributionPoints
    "2.5.29.37",         // extKeyUsage
    "1.3.6.1.5.5.7.1.1", // authorityInfoAccess
];

/// The two JPKI hierarchies. A root says which it is in its subject's organizational unit
/// (`card-protocol.md` §8.6): every generation of one kind has the same DN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JpkiKind {
    /// `OU=JPKI for digital signature`: signature certificates.
    Signature,
    /// `OU=JPKI for user authentication`: user-authentication certificates.
    UserAuthentication,
}

impl JpkiKind {
    /// The kind a subject name declares, if exactly one.
    fn of_name(name: &x509_cert::name::Name) -> Option<JpkiKind> {
        const OU: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.11");
        let mut kinds = name
            .iter()
            .filter(|atv| atv.oid == OU)
            .filter_map(|atv| match atv.value.value() {
                b"JPKI for digital signature" => Some(JpkiKind::Signature),
                b"JPKI for user authentication" => Some(JpkiKind::UserAuthentication),
                _ => None,
            });
        let first = kinds.next()?;
        kinds.all(|k| k == first).then_some(first)
    }
}

/// What the checks need from a certificate.
pub(crate) struct CertFacts {
    pub(crate) tbs: Vec<u8>,
    pub(crate) signature: Vec<u8>,
    pub(crate) signature_algorithm: ObjectIdentifier,
    pub(crate) public_key: Vec<u8>,
    pub(crate) spki_der: Vec<u8>,
    pub(crate) serial: Vec<u8>,
    pub(crate) issuer: Vec<u8>,
    pub(crate) subject: Vec<u8>,
    /// The JPKI hierarchy the subject names (roots) — `None` for a name that names none.
    pub(crate) subject_kind: Option<JpkiKind>,
    pub(crate) not_before: u64,
    pub(crate) not_after: u64,
    pub(crate) subject_key_id: Option<Vec<u8>>,
    pub(crate) authority_key_id: Option<Vec<u8>>,
    /// (critical, value)
    pub(crate) key_usage: Option<(bool, KeyUsage)>,
    pub(crate) ca: Option<bool>,
    pub(crate) unknown_critical: Option<String>,
}

/// The first element of a DER SEQUENCE, raw: the signed part of a certificate or CRL.
pub(crate) fn signed_part(der: &[u8]) -> Option<Vec<u8>> {
    let (outer, rest) = tlv::expect_at(der, Tag(0x30), 0).ok()?;
    if !rest.is_empty() {
        return None;
    }
    let (first, _) = tlv::parse_at(outer.value, outer.value_offset()).ok()?;
    (first.tag == Tag(0x30)).then(|| first.raw.to_vec())
}

/// Bits of an RSA modulus in a PKCS#1 `RSAPublicKey`, if it is one.
pub(crate) fn rsa_bits(pkcs1: &[u8]) -> Option<usize> {
    let (seq, rest) = tlv::expect_at(pkcs1, Tag(0x30), 0).ok()?;
    if !rest.is_empty() {
        return None;
    }
    let (n, _) = tlv::expect_at(seq.value, Tag(0x02), 0).ok()?;
    let digits = match n.value {
        [0, rest @ ..] => rest,
        v => v,
    };
    let first = *digits.first()?;
    Some((digits.len() - 1) * 8 + (8 - first.leading_zeros() as usize))
}

pub(crate) fn parse_certificate(der: &[u8], role: CertRole) -> Result<CertFacts, EvidenceError> {
    let malformed = || EvidenceError::CertificateMalformed(role);
    let cert = Certificate::from_der(der).map_err(|_| malformed())?;
    let tbs = signed_part(der).ok_or_else(malformed)?;
    let t = cert.tbs_certificate();
    let spki = t.subject_public_key_info();
    if spki.algorithm.oid != RSA_ENCRYPTION {
        return Err(EvidenceError::UnsupportedKey(role));
    }
    let public_key = spki.subject_public_key.as_bytes().ok_or_else(malformed)?.to_vec();
    if rsa_bits(&public_key).is_none_or(|b| b < 2048) {
        return Err(EvidenceError::UnsupportedKey(role));
    }
    // RFC 5280 §4.1.1.2: the outer algorithm identifier, which the signature does not
    // cover, must be the signed one, parameters included; otherwise the same certificate
    // would verify in many byte forms.
    if t.signature() != cert.signature_algorithm() {
        return Err(malformed());
    }
    let outer_alg = cert.signature_algorithm().oid;
    let mut facts = CertFacts {
        tbs,
        signature: cert.signature().as_bytes().ok_or_else(malformed)?.to_vec(),
        signature_algorithm: outer_alg,
        public_key,
        spki_der: spki.to_der().map_err(|_| malformed())?,
        serial: t.serial_number().as_bytes().to_vec(),
        issuer: t.issuer().to_der().map_err(|_| malformed())?,
        subject: t.subject().to_der().map_err(|_| malformed())?,
        subject_kind: JpkiKind::of_name(t.subject()),
        not_before: t.validity().not_before.to_unix_duration().as_secs(),
        not_after: t.validity().not_after.to_unix_duration().as_secs(),
        subject_key_id: None,
        authority_key_id: None,
        key_usage: None,
        ca: None,
        unknown_critical: None,
    };
    for ext in t.extensions().into_iter().flatten() {
        let oid = ext.extn_id.to_string();
        let value = ext.extn_value.as_bytes();
        match oid.as_str() {
            "2.5.29.14" => {
                facts.subject_key_id = Some(
                    SubjectKeyIdentifier::from_der(value)
                        .map_err(|_| malformed())?
                        .0
                        .as_bytes()
                        .to_vec(),
                );
            }
            "2.5.29.35" => {
                let aki = AuthorityKeyIdentifier::from_der(value).map_err(|_| malformed())?;
                facts.authority_key_id = aki.key_identifier.map(|k| k.as_bytes().to_vec());
            }
            KEY_USAGE => facts.key_usage = Some((ext.critical, KeyUsage::from_der(value).map_err(|_| malformed())?)),
            BASIC_CONSTRAINTS => facts.ca = Some(BasicConstraints::from_der(value).map_err(|_| malformed())?.ca),
            other if ext.critical && !UNDERSTOOD.contains(&other) => {
                facts.unknown_critical.get_or_insert(oid);
            }
            _ => {}
        }
    }
    Ok(facts)
}

impl CertFacts {
    pub(crate) fn check_algorithm(&self, role: CertRole) -> Result<(), EvidenceError> {
        if self.signature_algorithm != SHA256_WITH_RSA {
            return Err(EvidenceError::UnsupportedSignatureAlgorithm {
                role,
                oid: self.signature_algorithm.to_string(),
            });
        }
        Ok(())
    }

    pub(crate) fn check_validity(&self, role: CertRole, now: u64) -> Result<(), EvidenceError> {
        if now < self.not_before {
            return Err(EvidenceError::NotYetValid {
                role,
                not_before: self.not_before,
                now,
            });
        }
        if now > self.not_after {
            return Err(EvidenceError::Expired {
                role,
                not_after: self.not_after,
                now,
            });
        }
        Ok(())
    }
}
