//! Certificate revocation lists, checked before use.
//!
//! A CRL is loaded only if its signature verifies under a trusted root (matched by key
//! identifier) with sha256WithRSAEncryption and it has no unknown critical extension; its
//! dates are checked at each verification, against the time passed in. Revoked serials go
//! into a hash map (with when and why each was revoked), so a lookup costs the same for 10
//! entries or a million.
//!
//! An issuer may split its CRL by distribution point (RFC 5280 §5.2.5): a CRL with an
//! issuingDistributionPoint speaks only for the certificates whose cRLDistributionPoints
//! name that point, and a certificate that names points is decided only by such a CRL. The
//! set keeps the newest CRL per issuer and point (no point: the issuer's full CRL).

use std::collections::HashMap;

use der::Decode;
use x509_cert::crl::CertificateList;
use x509_cert::ext::pkix::AuthorityKeyIdentifier;
use x509_cert::ext::pkix::crl::{CrlReason, IssuingDistributionPoint};
use x509_cert::ext::pkix::name::DistributionPointName;

use crate::crypto::{sha256, verify_rsa_sha256};
use crate::error::CrlError;
use crate::trust::TrustStore;
use crate::x509::{PointNames, SHA256_WITH_RSA, signed_part};

/// What to do when no CRL covers a certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RevocationPolicy {
    /// Refuse the evidence (the default: fail closed).
    #[default]
    RequireCrl,
    /// Accept it and record that revocation was not checked. For deployments that verify
    /// revocation through a platform operator instead (JPKI Act art. 17).
    AllowUnchecked,
}

mynaid_protocol::named_enum! {
    /// RFC 5280 CRLReason, by its RFC name.
    pub enum RevocationReason {
        /// `unspecified` (0).
        Unspecified = "unspecified",
        /// `keyCompromise` (1): for a My Number Card, reported lost or stolen.
        KeyCompromise = "keyCompromise",
        /// `cACompromise` (2).
        CaCompromise = "cACompromise",
        /// `affiliationChanged` (3): for a My Number Card, the holder moved or changed name.
        AffiliationChanged = "affiliationChanged",
        /// `superseded` (4): a new certificate (or card) replaced it.
        Superseded = "superseded",
        /// `cessationOfOperation` (5).
        CessationOfOperation = "cessationOfOperation",
        /// `certificateHold` (6).
        CertificateHold = "certificateHold",
        /// `removeFromCRL` (8; delta CRLs only).
        RemoveFromCrl = "removeFromCRL",
        /// `privilegeWithdrawn` (9).
        PrivilegeWithdrawn = "privilegeWithdrawn",
        /// `aACompromise` (10).
        AaCompromise = "aACompromise",
    }
}

impl RevocationReason {
    fn of(reason: CrlReason) -> RevocationReason {
        match reason {
            CrlReason::Unspecified => RevocationReason::Unspecified,
            CrlReason::KeyCompromise => RevocationReason::KeyCompromise,
            CrlReason::CaCompromise => RevocationReason::CaCompromise,
            CrlReason::AffiliationChanged => RevocationReason::AffiliationChanged,
            CrlReason::Superseded => RevocationReason::Superseded,
            CrlReason::CessationOfOperation => RevocationReason::CessationOfOperation,
            CrlReason::CertificateHold => RevocationReason::CertificateHold,
            CrlReason::RemoveFromCRL => RevocationReason::RemoveFromCrl,
            CrlReason::PrivilegeWithdrawn => RevocationReason::PrivilegeWithdrawn,
            CrlReason::AaCompromise => RevocationReason::AaCompromise,
        }
    }
}

/// When and why a certificate was revoked, as its CRL entry says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RevokedEntry {
    /// `revocationDate`, seconds since the epoch.
    pub revoked_at: u64,
    /// The entry's reasonCode; `None` when the entry has none (RFC 5280 asks to omit
    /// `unspecified`).
    pub reason: Option<RevocationReason>,
}

const AUTHORITY_KEY_ID: &str = "2.5.29.35";
const CRL_NUMBER: &str = "2.5.29.20";
// Spelled here: x509-cert 0.3 gives `IssuingDistributionPoint` the OID of subjectInfoAccess.
const ISSUING_DISTRIBUTION_POINT: &str = "2.5.29.28";
const REASON_CODE: &str = "2.5.29.21";
const INVALIDITY_DATE: &str = "2.5.29.24";

#[derive(Clone)]
pub(crate) struct LoadedCrl {
    pub(crate) issuer_key_id: Vec<u8>,
    /// The distribution point it is the CRL of; `None`: the issuer's full CRL.
    point: Option<PointNames>,
    pub(crate) this_update: u64,
    pub(crate) next_update: Option<u64>,
    /// SHA-256 of the DER: loading the very CRL in use again changes nothing.
    digest: [u8; 32],
    revoked: HashMap<Vec<u8>, RevokedEntry>,
}

impl LoadedCrl {
    pub(crate) fn is_revoked(&self, serial: &[u8]) -> bool {
        self.revoked.contains_key(normalize(serial))
    }
}

/// DER INTEGERs may carry a leading 00; compare serials without it.
fn normalize(serial: &[u8]) -> &[u8] {
    match serial {
        [0, rest @ ..] if !rest.is_empty() => rest,
        s => s,
    }
}

/// The CRLs a verifier knows, at most one (the newest) per issuer and distribution point.
#[derive(Default, Clone)]
pub struct CrlSet {
    crls: Vec<LoadedCrl>,
}

impl std::fmt::Debug for CrlSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CrlSet({} CRLs)", self.crls.len())
    }
}

/// What was loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrlInfo {
    /// Revoked entries.
    pub entries: usize,
    /// `thisUpdate`, seconds since the epoch.
    pub this_update: u64,
    /// `nextUpdate`, seconds since the epoch.
    pub next_update: Option<u64>,
    /// Whether it is the CRL of one distribution point (its issuingDistributionPoint names
    /// one) rather than the issuer's full CRL.
    pub partitioned: bool,
    /// Whether loading it changed the set: the first CRL of its issuer and point, or one
    /// other than the CRL in use (which it replaced). `false` for the CRL in use loaded again.
    pub changed: bool,
}

/// The dates of the loaded CRLs together ([`CrlSet::window`]), seconds since the epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CrlWindow {
    /// The oldest `thisUpdate`: the age of the stalest CRL.
    pub oldest_this_update: u64,
    /// The newest `thisUpdate`: before it, some CRL is not yet valid.
    pub latest_this_update: u64,
    /// The earliest `nextUpdate` (none: no CRL has one): after it, some CRL is out of date.
    pub earliest_next_update: Option<u64>,
}

impl CrlWindow {
    /// Whether every loaded CRL is within its dates at `now`, as the verifier checks them.
    pub fn is_fresh(&self, now: u64) -> bool {
        now >= self.latest_this_update && self.earliest_next_update.is_none_or(|next| now <= next)
    }
}

impl CrlSet {
    /// No CRLs.
    pub fn new() -> CrlSet {
        CrlSet::default()
    }

    /// Checks and loads a DER CRL; replaces the CRL of the same issuer and distribution point
    /// when it is not older. Refused: a CRL without `nextUpdate`, older than the one in use,
    /// with an unknown critical extension (a delta CRL's among them), or whose
    /// issuingDistributionPoint limits it to CA or attribute certificates or some reasons, or
    /// makes it indirect (the set is unchanged then).
    pub fn load(&mut self, der: &[u8], trust: &TrustStore) -> Result<CrlInfo, CrlError> {
        let crl = CertificateList::<x509_cert::certificate::Rfc5280>::from_der(der).map_err(|_| CrlError::Malformed)?;
        let tbs = signed_part(der).ok_or(CrlError::Malformed)?;
        let alg = &crl.signature_algorithm.oid;
        if *alg != SHA256_WITH_RSA || crl.tbs_cert_list.signature.oid != *alg {
            return Err(CrlError::UnsupportedSignatureAlgorithm(alg.to_string()));
        }
        // The unsigned outer identifier must be the signed one, parameters included.
        if crl.tbs_cert_list.signature != crl.signature_algorithm {
            return Err(CrlError::Malformed);
        }
        let mut issuer_key_id = None;
        let mut point = None;
        let mut seen = Vec::new();
        for ext in crl.tbs_cert_list.crl_extensions.iter().flatten() {
            // RFC 5280 §4.2: at most one of each; a second IDP could widen the first's scope.
            if seen.contains(&ext.extn_id) {
                return Err(CrlError::Malformed);
            }
            seen.push(ext.extn_id);
            let value = ext.extn_value.as_bytes();
            match ext.extn_id.to_string().as_str() {
                AUTHORITY_KEY_ID => {
                    let aki = AuthorityKeyIdentifier::from_der(value).map_err(|_| CrlError::Malformed)?;
                    issuer_key_id = aki.key_identifier.map(|k| k.as_bytes().to_vec());
                }
                // deltaCRLIndicator is critical and means "delta": not supported.
                CRL_NUMBER => {}
                ISSUING_DISTRIBUTION_POINT => point = issuing_point(value)?,
                other if ext.critical => return Err(CrlError::UnknownCriticalExtension(other.to_string())),
                _ => {}
            }
        }
        let anchor = issuer_key_id
            .as_deref()
            .and_then(|id| trust.by_key_id(id))
            .ok_or(CrlError::UnknownIssuer)?;
        let signature = crl.signature.as_bytes().ok_or(CrlError::Malformed)?;
        if !verify_rsa_sha256(&anchor.facts.public_key, &tbs, signature) {
            return Err(CrlError::SignatureInvalid);
        }
        let mut revoked = HashMap::new();
        for entry in crl.tbs_cert_list.revoked_certificates.iter().flatten() {
            revoked
                .entry(normalize(entry.serial_number.as_bytes()).to_vec())
                .or_insert(revoked_entry(entry)?);
        }
        let next_update = crl
            .tbs_cert_list
            .next_update
            .map(|t| t.to_unix_duration().as_secs())
            .ok_or(CrlError::NoNextUpdate)?;
        let loaded = LoadedCrl {
            issuer_key_id: anchor.key_id.clone(),
            point,
            this_update: crl.tbs_cert_list.this_update.to_unix_duration().as_secs(),
            next_update: Some(next_update),
            digest: sha256(der),
            revoked,
        };
        let mut info = CrlInfo {
            entries: loaded.revoked.len(),
            this_update: loaded.this_update,
            next_update: loaded.next_update,
            partitioned: loaded.point.is_some(),
            changed: true,
        };
        let same_scope = |c: &&mut LoadedCrl| c.issuer_key_id == loaded.issuer_key_id && c.point == loaded.point;
        match self.crls.iter_mut().find(same_scope) {
            Some(existing) if existing.this_update > loaded.this_update => {
                return Err(CrlError::Older {
                    this_update: loaded.this_update,
                    in_use: existing.this_update,
                });
            }
            Some(existing) => {
                info.changed = existing.digest != loaded.digest;
                *existing = loaded;
            }
            None => self.crls.push(loaded),
        }
        Ok(info)
    }

    /// How many CRLs are loaded (one per issuer and distribution point at most).
    pub fn len(&self) -> usize {
        self.crls.len()
    }

    /// Whether no CRL is loaded.
    pub fn is_empty(&self) -> bool {
        self.crls.is_empty()
    }

    /// The loaded CRLs' dates at a glance: a verification at `now` accepts every one of them
    /// exactly when `latest_this_update <= now <= earliest_next_update` (readiness checks,
    /// metrics). `None` when no CRL is loaded.
    pub fn window(&self) -> Option<CrlWindow> {
        let first = self.crls.first()?;
        let mut w = CrlWindow {
            oldest_this_update: first.this_update,
            latest_this_update: first.this_update,
            earliest_next_update: first.next_update,
        };
        for c in &self.crls[1..] {
            w.oldest_this_update = w.oldest_this_update.min(c.this_update);
            w.latest_this_update = w.latest_this_update.max(c.this_update);
            w.earliest_next_update = match (w.earliest_next_update, c.next_update) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        Some(w)
    }

    /// When and why the certificate `serial` of the issuer whose key identifier is
    /// `issuer_key_id` was revoked, if a loaded CRL of that issuer (of any distribution
    /// point) lists it. The serial is compared without a leading 00. Where two CRLs list it,
    /// the earlier revocation.
    pub fn revoked_entry(&self, issuer_key_id: &[u8], serial: &[u8]) -> Option<RevokedEntry> {
        let serial = normalize(serial);
        self.crls
            .iter()
            .filter(|c| c.issuer_key_id == issuer_key_id)
            .filter_map(|c| c.revoked.get(serial).copied())
            .min_by_key(|e| e.revoked_at)
    }

    /// The CRLs that decide a certificate of the issuer `key_id` with the distribution
    /// points `points` (`None`: the certificate names none, and the issuer's full CRL
    /// decides). Empty: none is loaded.
    pub(crate) fn deciding<'a>(
        &'a self,
        key_id: &'a [u8],
        points: Option<&'a [PointNames]>,
    ) -> impl Iterator<Item = &'a LoadedCrl> + 'a {
        self.crls
            .iter()
            .filter(move |c| c.issuer_key_id == key_id)
            .filter(move |c| match (points, &c.point) {
                (None, None) => true,
                (Some(points), Some(point)) => points.iter().any(|p| p.meets(point)),
                _ => false,
            })
    }
}

/// The distribution point an issuingDistributionPoint value names (`None`: it names none,
/// and the CRL is the issuer's full CRL), or why it is not supported.
fn issuing_point(value: &[u8]) -> Result<Option<PointNames>, CrlError> {
    let idp = IssuingDistributionPoint::from_der(value).map_err(|_| CrlError::Malformed)?;
    // The verifier checks end-entity certificates only, against all reasons, with CRLs
    // their issuer signed: a CRL of another scope would answer for what it does not cover.
    if idp.only_contains_ca_certs
        || idp.only_contains_attribute_certs
        || idp.indirect_crl
        || idp.only_some_reasons.is_some()
    {
        return Err(CrlError::UnsupportedDistributionPoint);
    }
    match idp.distribution_point {
        None => Ok(None),
        Some(DistributionPointName::FullName(names)) => {
            PointNames::of(&names).map(Some).map_err(|_| CrlError::Malformed)
        }
        Some(DistributionPointName::NameRelativeToCRLIssuer(_)) => Err(CrlError::UnsupportedDistributionPoint),
    }
}

/// A CRL entry's date and reason. An unknown critical entry extension (certificateIssuer of
/// an indirect CRL, say) refuses the whole CRL (RFC 5280 §5.3).
fn revoked_entry(entry: &x509_cert::crl::RevokedCert) -> Result<RevokedEntry, CrlError> {
    let mut reason = None;
    for ext in entry.crl_entry_extensions.iter().flatten() {
        match ext.extn_id.to_string().as_str() {
            REASON_CODE => {
                let code = CrlReason::from_der(ext.extn_value.as_bytes()).map_err(|_| CrlError::Malformed)?;
                reason = Some(RevocationReason::of(code));
            }
            // When the key was thought compromised: the revocation itself dates from the entry.
            INVALIDITY_DATE => {}
            other if ext.critical => return Err(CrlError::UnknownCriticalExtension(other.to_string())),
            _ => {}
        }
    }
    Ok(RevokedEntry {
        revoked_at: entry.revocation_date.to_unix_duration().as_secs(),
        reason,
    })
}
