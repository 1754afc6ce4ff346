//! Revoking a test person's certificates in a test PKI directory while a server uses it:
//! the JPKI CRLs are written again with the person's serials added (with a reason and a
//! date), a later `thisUpdate` and a higher CRL number, signed by the same roots (the PKI is
//! regenerated in memory from the seed in `pki.json`). Revocations accumulate in
//! `revocations.json` beside the CRLs. What `mynaid-server pki revoke` runs.

use std::path::Path;

use der::DateTime;
use serde::{Deserialize, Serialize};
use x509_cert::ext::pkix::crl::CrlReason;

use crate::PkiError;
use crate::crl::{RevokedEntry, build_crl};
use crate::pki::{Generation, RootKind, TestPki};

/// One revocation added by [`revoke`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revocation {
    /// The person (`p01` …).
    pub person: String,
    /// `sign` or `auth`.
    pub certificate: String,
    /// Serial, hex.
    pub serial: String,
    /// RFC 5280 reason code (0-10).
    pub reason: u8,
    /// When, seconds since the epoch.
    pub at: u64,
}

/// The RFC 5280 reason of its name (`keyCompromise`, `affiliationChanged`, …).
pub fn reason_of(name: &str) -> Option<CrlReason> {
    Some(match name {
        "unspecified" => CrlReason::Unspecified,
        "keyCompromise" => CrlReason::KeyCompromise,
        "affiliationChanged" => CrlReason::AffiliationChanged,
        "superseded" => CrlReason::Superseded,
        "cessationOfOperation" => CrlReason::CessationOfOperation,
        "certificateHold" => CrlReason::CertificateHold,
        "privilegeWithdrawn" => CrlReason::PrivilegeWithdrawn,
        _ => return None,
    })
}

fn reason_from_code(code: u8) -> CrlReason {
    match code {
        1 => CrlReason::KeyCompromise,
        3 => CrlReason::AffiliationChanged,
        4 => CrlReason::Superseded,
        5 => CrlReason::CessationOfOperation,
        6 => CrlReason::CertificateHold,
        9 => CrlReason::PrivilegeWithdrawn,
        _ => CrlReason::Unspecified,
    }
}

/// Revokes `person`'s certificates of `kinds` with `reason` at `now` (seconds since the
/// epoch) in the test PKI under `out`, and writes its four CRLs again (`thisUpdate` now,
/// `nextUpdate` a week later). Answers every revocation made so far.
///
/// # Errors
/// [`PkiError`] when `pki.json` or `revocations.json` cannot be read, the person is unknown
/// or has no certificate of a kind asked for, or a file cannot be written.
pub fn revoke(
    out: &Path,
    person: &str,
    reason: CrlReason,
    kinds: &[RootKind],
    now: u64,
) -> Result<Vec<Revocation>, PkiError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| PkiError::Io { path, source }
    };
    let manifest_path = out.join("pki.json");
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&manifest_path).map_err(io(&manifest_path))?)?;
    let seed = manifest["seed"]
        .as_u64()
        .ok_or_else(|| PkiError::Revoke("pki.json has no seed".into()))?;
    let pki = TestPki::generate(seed)?;
    let p = pki
        .person(person)
        .ok_or_else(|| PkiError::Revoke(format!("no test person {person}")))?;
    let list_path = out.join("revocations.json");
    let mut list: Vec<Revocation> = match std::fs::read(&list_path) {
        Ok(bytes) => serde_json::from_slice(&bytes)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(io(&list_path)(e)),
    };
    for kind in kinds {
        let cert = match kind {
            RootKind::Sign => p
                .sign
                .as_ref()
                .ok_or_else(|| PkiError::Revoke(format!("{person} has no signature certificate")))?,
            RootKind::Auth => &p.auth,
        };
        list.push(Revocation {
            person: person.to_string(),
            certificate: kind.label().to_string(),
            serial: hex::encode_upper(&cert.serial),
            reason: reason as u8,
            at: now,
        });
    }
    let date = |secs: u64| DateTime::from_unix_duration(std::time::Duration::from_secs(secs));
    for kind in [RootKind::Sign, RootKind::Auth] {
        for generation in [Generation::G1, Generation::G2] {
            let root = pki.root(kind, generation);
            let mut spec = pki.crl_spec(kind, generation);
            for r in list.iter().filter(|r| r.certificate == kind.label()) {
                let Some(holder) = pki.person(&r.person) else { continue };
                if holder.profile.generation != generation {
                    continue;
                }
                spec.revoked.push(RevokedEntry {
                    serial: hex::decode(&r.serial).map_err(|_| PkiError::Revoke("bad serial".into()))?,
                    revocation_date: date(r.at)?,
                    reason: Some(reason_from_code(r.reason)),
                });
            }
            spec.this_update = date(now)?;
            spec.next_update = Some(date(now + 7 * 24 * 3600)?);
            spec.crl_number = Some(1 + list.len() as u64);
            let file = out.join(root.crl_file_name());
            std::fs::write(&file, build_crl(&spec)?).map_err(io(&file))?;
        }
    }
    std::fs::write(&list_path, serde_json::to_vec_pretty(&list)?).map_err(io(&list_path))?;
    Ok(list)
}
