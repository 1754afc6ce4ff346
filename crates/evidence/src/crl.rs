//! Certificate revocation lists, checked before use.
//!
//! A CRL is loaded only if its signature verifies under a trusted root (matched by key
//! identifier) with sha256WithRSAEncryption and it has no unknown critical extension; its
//! dates are checked at each verification, against the time passed in. Revoked serials go
//! into a hash set, so a lookup costs the same for 10 entries or a million.

use std::collections::HashSet;

use der::Decode;
use x509_cert::crl::CertificateList;
use x509_cert::ext::pkix::AuthorityKeyIdentifier;

use crate::crypto::verify_rsa_sha256;
use crate::error::CrlError;
use crate::trust::TrustStore;
use crate::x509::{SHA256_WITH_RSA, signed_part};

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

#[derive(Clone)]
pub(crate) struct LoadedCrl {
    pub(crate) issuer_key_id: Vec<u8>,
    pub(crate) this_update: u64,
    pub(crate) next_update: Option<u64>,
    revoked: HashSet<Vec<u8>>,
}

impl LoadedCrl {
    pub(crate) fn is_revoked(&self, serial: &[u8]) -> bool {
        self.revoked.contains(normalize(serial))
    }
}

/// DER INTEGERs may carry a leading 00; compare serials without it.
fn normalize(serial: &[u8]) -> &[u8] {
    match serial {
        [0, rest @ ..] if !rest.is_empty() => rest,
        s => s,
    }
}

/// The CRLs a verifier knows, at most one (the newest) per issuer.
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

    /// Checks and loads a DER CRL; replaces the CRL of the same issuer when it is not older.
    /// Refused: a CRL without `nextUpdate`, or older than the one in use (the set is
    /// unchanged then).
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
        for ext in crl.tbs_cert_list.crl_extensions.iter().flatten() {
            match ext.extn_id.to_string().as_str() {
                "2.5.29.35" => {
                    let aki =
                        AuthorityKeyIdentifier::from_der(ext.extn_value.as_bytes()).map_err(|_| CrlError::Malformed)?;
                    issuer_key_id = aki.key_identifier.map(|k| k.as_bytes().to_vec());
                }
                // cRLNumber, deltaCRLIndicator is critical and means "delta": not supported.
                "2.5.29.20" => {}
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
        let revoked: HashSet<Vec<u8>> = crl
            .tbs_cert_list
            .revoked_certificates
            .iter()
            .flatten()
            .map(|r| normalize(r.serial_number.as_bytes()).to_vec())
            .collect();
        let next_update = crl
            .tbs_cert_list
            .next_update
            .map(|t| t.to_unix_duration().as_secs())
            .ok_or(CrlError::NoNextUpdate)?;
        let loaded = LoadedCrl {
            issuer_key_id: anchor.key_id.clone(),
            this_update: crl.tbs_cert_list.this_update.to_unix_duration().as_secs(),
            next_update: Some(next_update),
            revoked,
        };
        let info = CrlInfo {
            entries: loaded.revoked.len(),
            this_update: loaded.this_update,
            next_update: loaded.next_update,
        };
        match self.crls.iter_mut().find(|c| c.issuer_key_id == loaded.issuer_key_id) {
            Some(existing) if existing.this_update > loaded.this_update => {
                return Err(CrlError::Older {
                    this_update: loaded.this_update,
                    in_use: existing.this_update,
                });
            }
            Some(existing) => *existing = loaded,
            None => self.crls.push(loaded),
        }
        Ok(info)
    }

    /// How many CRLs are loaded (one per issuer at most).
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

    pub(crate) fn for_issuer(&self, key_id: &[u8]) -> Option<&LoadedCrl> {
        self.crls.iter().find(|c| c.issuer_key_id == key_id)
    }
}
