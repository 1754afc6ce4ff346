//! The X.509 facts the JPKI checks need, read once from a certificate or CRL.
//!
//! Parsing is x509-cert's (strict DER); the signed bytes (`tbsCertificate`, `tbsCertList`)
//! are sliced from the original encoding rather than re-encoded, so a signature is checked
//! over exactly what the issuer signed.

use der::asn1::ObjectIdentifier;
use der::{Decode, Encode};
use mynaid_apdu::tlv::{self, Tag};
use x509_cert::Certificate;
use x509_cert::ext::pkix::crl::CrlDistributionPoints;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralNames};
use x509_cert::ext::pkix::{AuthorityKeyIdentifier, BasicConstraints, KeyUsage, SubjectKeyIdentifier};

use crate::error::{CertRole, EvidenceError};

/// sha256WithRSAEncryption.
pub(crate) const SHA256_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

const KEY_USAGE: &str = "2.5.29.15";
const BASIC_CONSTRAINTS: &str = "2.5.29.19";
const CRL_DISTRIBUTION_POINTS: &str = "2.5.29.31";
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
    "2.5.29.31",         // cRLDistributionPoints (matched to the CRLs' issuing points)
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
    /// The distribution points of cRLDistributionPoints that a CRL of the issuer can speak
    /// for (`None`: no such extension, the issuer's full CRL decides). A point with
    /// `reasons` or a `cRLIssuer` (partial or indirect CRLs) or a name relative to the
    /// issuer is left out: no CRL loaded here can cover it, so a certificate with only such
    /// points fails closed.
    pub(crate) crl_points: Option<Vec<PointNames>>,
    pub(crate) unknown_critical: Option<String>,
}

/// The `fullName` of a distribution point: each GeneralName as DER, sorted, so that one set
/// of names compares equal however the issuer ordered it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PointNames(Vec<Vec<u8>>);

impl PointNames {
    pub(crate) fn of(names: &GeneralNames) -> Result<PointNames, der::Error> {
        let mut ders = names.iter().map(Encode::to_der).collect::<Result<Vec<_>, _>>()?;
        ders.sort();
        ders.dedup();
        Ok(PointNames(ders))
    }

    /// RFC 5280 §6.3.3 (b)(2)(i): a CRL's issuing distribution point is a certificate's
    /// distribution point when one of the names of the one is a name of the other.
    pub(crate) fn meets(&self, other: &PointNames) -> bool {
        self.0.iter().any(|n| other.0.contains(n))
    }
}

/// The points of a cRLDistributionPoints value a CRL can be matched to.
fn crl_points(value: &[u8]) -> Result<Vec<PointNames>, der::Error> {
    let mut points = Vec::new();
    for dp in CrlDistributionPoints::from_der(value)?.0 {
        if dp.reasons.is_some() || dp.crl_issuer.is_some() {
            continue;
        }
        if let Some(DistributionPointName::FullName(names)) = &dp.distribution_point {
            points.push(PointNames::of(names)?);
        }
    }
    Ok(points)
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
        crl_points: None,
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
            CRL_DISTRIBUTION_POINTS => facts.crl_points = Some(crl_points(value).map_err(|_| malformed())?),
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
