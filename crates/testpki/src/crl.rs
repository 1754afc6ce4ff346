//! Certificate revocation lists (RFC 5280 §5), v2, signed by a JPKI test root.
//!
//! JPKI revocation information is reserved to authorised verifiers (§8.7), so the real
//! format is not observable; these CRLs follow RFC 5280 plainly: issuer = the root's DN,
//! AuthorityKeyIdentifier = the root's key id (generations share a DN, so the key id is
//! what ties a CRL to its root), a CRL number, and optional reason codes.

use der::{DateTime, Encode};
use rsa::PrivateKey;
use x509_cert::ext::pkix::crl::CrlReason;

use crate::PkiError;
use crate::asn1;
use crate::keys::SignatureHash;
use crate::x509::{Dn, authority_key_identifier, oid, point_name};

/// One revoked certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokedEntry {
    /// The certificate's serial number (big-endian magnitude).
    pub serial: Vec<u8>,
    /// When it was revoked.
    pub revocation_date: DateTime,
    /// CRL entry reasonCode; `None` omits it.
    pub reason: Option<CrlReason>,
}

/// Everything that goes into one CRL. Build it with [`build_crl`].
#[derive(Debug, Clone)]
pub struct CrlSpec<'a> {
    /// Issuer name (the root's subject).
    pub issuer: Dn,
    /// The key that signs the CRL.
    pub issuer_key: &'a PrivateKey,
    /// AuthorityKeyIdentifier keyIdentifier; `None` omits the extension.
    pub authority_key_id: Option<Vec<u8>>,
    /// CRL number extension; `None` omits it.
    pub crl_number: Option<u64>,
    /// thisUpdate.
    pub this_update: DateTime,
    /// nextUpdate; `None` omits it.
    pub next_update: Option<DateTime>,
    /// Revoked certificates (an empty list omits `revokedCertificates`, as RFC 5280 asks).
    pub revoked: Vec<RevokedEntry>,
    /// The hash of the signature algorithm.
    pub signature_hash: SignatureHash,
    /// Further CRL extensions, appended as given: `(extnID, critical, extnValue DER)`.
    pub extra_extensions: Vec<(der::asn1::ObjectIdentifier, bool, Vec<u8>)>,
}

/// Builds and signs a v2 CRL; returns its DER.
///
/// # Errors
/// [`PkiError`] if a field cannot be encoded or the key cannot sign.
pub fn build_crl(spec: &CrlSpec<'_>) -> Result<Vec<u8>, PkiError> {
    let mut tbs = vec![0x02, 0x01, 0x01]; // version v2
    tbs.extend_from_slice(&asn1::signature_algorithm(spec.signature_hash)?);
    tbs.extend_from_slice(&spec.issuer.to_der()?);
    tbs.extend_from_slice(&asn1::time(spec.this_update)?);
    if let Some(next) = spec.next_update {
        tbs.extend_from_slice(&asn1::time(next)?);
    }
    if !spec.revoked.is_empty() {
        let mut entries = Vec::new();
        for entry in &spec.revoked {
            let mut content = asn1::unsigned_integer(&entry.serial)?;
            content.extend_from_slice(&asn1::time(entry.revocation_date)?);
            if let Some(reason) = entry.reason {
                let ext = asn1::extension(&oid::CRL_REASON, false, &reason.to_der()?)?;
                content.extend_from_slice(&asn1::seq(&ext));
            }
            entries.extend_from_slice(&asn1::seq(&content));
        }
        tbs.extend_from_slice(&asn1::seq(&entries));
    }
    let mut extensions = Vec::new();
    if let Some(aki) = &spec.authority_key_id {
        extensions.extend_from_slice(&authority_key_identifier(aki)?);
    }
    if let Some(number) = spec.crl_number {
        let value = asn1::unsigned_integer(&number.to_be_bytes())?;
        extensions.extend_from_slice(&asn1::extension(&oid::CRL_NUMBER, false, &value)?);
    }
    for (id, critical, value) in &spec.extra_extensions {
        extensions.extend_from_slice(&asn1::extension(id, *critical, value)?);
    }
    if !extensions.is_empty() {
        tbs.extend_from_slice(&asn1::explicit(0, &asn1::seq(&extensions)));
    }
    asn1::signed(&asn1::seq(&tbs), spec.issuer_key, spec.signature_hash)
}

/// An issuingDistributionPoint extension (critical, RFC 5280 §5.2.5) for
/// [`CrlSpec::extra_extensions`]: the CRL is the one of the distribution point reached at
/// `uri` (a certificate's [`crate::x509::crl_distribution_points`]), for end-entity
/// certificates only. The test PKI's own CRLs are full CRLs and carry none.
///
/// # Errors
/// [`PkiError::Der`] when the URI is not IA5.
pub fn issuing_distribution_point(uri: &str) -> Result<(der::asn1::ObjectIdentifier, bool, Vec<u8>), PkiError> {
    let idp = x509_cert::ext::pkix::crl::IssuingDistributionPoint {
        distribution_point: Some(point_name(uri)?),
        only_contains_user_certs: true,
        only_contains_ca_certs: false,
        only_some_reasons: None,
        indirect_crl: false,
        only_contains_attribute_certs: false,
    };
    Ok((oid::ISSUING_DISTRIBUTION_POINT, true, idp.to_der()?))
}
