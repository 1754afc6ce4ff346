//! Writing the test PKI to disk, and the JSON documents that describe it.
//!
//! Every byte is a function of the seed: JSON comes from structs with a fixed field order
//! (serde keeps declaration order), is pretty-printed and ends with a newline, and the file
//! list is sorted.

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::keys::{exponent, modulus, spki_der};
use crate::persons::PersonRecord;
use crate::pki::{TestPki, cv_ids};
use crate::{PkiError, times};

/// What [`crate::generate`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// The seed.
    pub seed: u64,
    /// Every file written, relative to the output directory, sorted (`pki.json` included).
    pub files: Vec<String>,
    /// `(root file, SHA-256 of its DER as upper-case hex)`.
    pub root_fingerprints: Vec<(String, String)>,
    /// Ids of the persons with a revoked certificate.
    pub revoked: Vec<String>,
}

impl fmt::Display for Summary {
    /// A few lines for humans: the seed, every file, the root fingerprints and who is
    /// revoked (no trailing newline).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "test PKI (seed {}), {} files:", self.seed, self.files.len())?;
        for file in &self.files {
            writeln!(f, "  {file}")?;
        }
        writeln!(f, "root SHA-256 fingerprints:")?;
        for (file, sha256) in &self.root_fingerprints {
            writeln!(f, "  {sha256}  {file}")?;
        }
        let revoked = if self.revoked.is_empty() {
            "none".to_owned()
        } else {
            self.revoked.join(", ")
        };
        write!(f, "revoked: {revoked}")
    }
}

/// `trust/cv-ca.json`: the test CV CA public key for the input-support AP.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CvCaFile {
    /// The 16-byte key id, 32 upper-case hex digits.
    pub key_id: String,
    /// The printed key id, `9000033/001`.
    pub key_id_text: String,
    /// The 256-byte modulus, upper-case hex.
    pub modulus: String,
    /// The public exponent, upper-case hex (`010001`).
    pub exponent: String,
}

#[derive(Serialize)]
struct Manifest<'a> {
    format: &'a str,
    seed: u64,
    warning: &'a str,
    times: Times,
    roots: Vec<RootEntry>,
    crls: Vec<CrlEntry>,
    cv: CvEntry,
    revoked: Vec<RevokedEntry>,
    files: Vec<String>,
}

#[derive(Serialize)]
struct Times {
    root_g1: [String; 2],
    root_g2: [String; 2],
    end_entity_g1: [String; 2],
    end_entity_g2: [String; 2],
    crl_this_update: String,
    crl_next_update: String,
    revocation_date: String,
}

#[derive(Serialize)]
struct RootEntry {
    file: String,
    kind: &'static str,
    generation: &'static str,
    subject: String,
    serial: String,
    key_id: String,
    sha256: String,
}

#[derive(Serialize)]
struct CrlEntry {
    file: String,
    issuer: String,
    crl_number: u64,
    revoked_serials: Vec<String>,
}

#[derive(Serialize)]
struct CvEntry {
    ca_key_id: &'static str,
    input_support_data_key_id: &'static str,
    face_data_key_id: &'static str,
}

#[derive(Serialize)]
struct RevokedEntry {
    person: String,
    certificate: &'static str,
    serial: String,
    crl: String,
}

fn rfc3339(t: der::DateTime) -> String {
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minutes(),
        t.seconds()
    )
}

fn pair(t: (der::DateTime, der::DateTime)) -> [String; 2] {
    [rfc3339(t.0), rfc3339(t.1)]
}

fn to_json<T: Serialize>(value: &T) -> Result<Vec<u8>, PkiError> {
    let mut out = serde_json::to_vec_pretty(value)?;
    out.push(b'\n');
    Ok(out)
}

/// Writes `pki` under `out` (creating directories as needed) and returns a summary.
pub(crate) fn write(pki: &TestPki, out: &Path) -> Result<Summary, PkiError> {
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();

    let records: Vec<PersonRecord> = pki.persons.iter().map(|p| p.profile.record()).collect();
    files.push(("persons.json".into(), to_json(&records)?));
    for person in &pki.persons {
        files.push((format!("cards/{}.json", person.profile.id), to_json(&person.card)?));
    }

    let mut root_fingerprints = Vec::new();
    for root in &pki.roots {
        root_fingerprints.push((root.file_name(), hex::encode_upper(Sha256::digest(&root.certificate))));
        files.push((root.file_name(), root.certificate.clone()));
    }
    for (root, crl) in pki.roots.iter().zip(&pki.crls) {
        files.push((root.crl_file_name(), crl.der.clone()));
    }

    let ca_public = pki.cv_ca.key.to_public_key();
    let cv_ca = CvCaFile {
        key_id: hex::encode_upper(pki.cv_ca.id),
        key_id_text: pki.cv_ca.id_text(),
        modulus: hex::encode_upper(modulus(&ca_public)),
        exponent: hex::encode_upper(exponent(&ca_public)),
    };
    files.push(("trust/cv-ca.json".into(), to_json(&cv_ca)?));
    files.push(("trust/cv-ca.spki.der".into(), spki_der(&ca_public)?));

    let mut names: Vec<String> = files.iter().map(|(n, _)| n.clone()).collect();
    names.push("pki.json".into());
    names.sort();

    let revoked: Vec<RevokedEntry> = pki
        .roots
        .iter()
        .zip(&pki.crls)
        .flat_map(|(root, crl)| {
            crl.revoked.iter().map(move |(person, serial)| RevokedEntry {
                person: person.clone(),
                certificate: root.kind.label(),
                serial: hex::encode_upper(serial),
                crl: root.crl_file_name(),
            })
        })
        .collect();
    let mut summary_revoked: Vec<String> = revoked.iter().map(|r| r.person.clone()).collect();
    summary_revoked.sort();
    summary_revoked.dedup();

    let manifest = Manifest {
        format: "mynaid-testpki/1",
        seed: pki.seed,
        warning: "Test PKI generated by `mynaid-server pki generate`. Not a real JPKI hierarchy: \
                  never trust it in production.",
        times: Times {
            root_g1: pair(crate::Generation::G1.root_validity()),
            root_g2: pair(crate::Generation::G2.root_validity()),
            end_entity_g1: pair(crate::Generation::G1.end_entity_validity()),
            end_entity_g2: pair(crate::Generation::G2.end_entity_validity()),
            crl_this_update: rfc3339(times::CRL_THIS_UPDATE),
            crl_next_update: rfc3339(times::CRL_NEXT_UPDATE),
            revocation_date: rfc3339(times::REVOCATION_DATE),
        },
        roots: pki
            .roots
            .iter()
            .map(|r| RootEntry {
                file: r.file_name(),
                kind: r.kind.label(),
                generation: r.generation.label(),
                subject: r.dn.to_string(),
                serial: hex::encode_upper(&r.serial),
                key_id: hex::encode_upper(&r.key_id),
                sha256: hex::encode_upper(Sha256::digest(&r.certificate)),
            })
            .collect(),
        crls: pki
            .roots
            .iter()
            .zip(&pki.crls)
            .map(|(r, c)| CrlEntry {
                file: r.crl_file_name(),
                issuer: r.file_name(),
                crl_number: 1,
                revoked_serials: c.revoked.iter().map(|(_, s)| hex::encode_upper(s)).collect(),
            })
            .collect(),
        cv: CvEntry {
            ca_key_id: cv_ids::CV_CA,
            input_support_data_key_id: cv_ids::INPUT_SUPPORT_DATA_KEY,
            face_data_key_id: cv_ids::FACE_DATA_KEY,
        },
        revoked,
        files: names.clone(),
    };
    files.push(("pki.json".into(), to_json(&manifest)?));

    for (name, bytes) in &files {
        let path = out.join(name);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|source| PkiError::Io {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        std::fs::write(&path, bytes).map_err(|source| PkiError::Io { path, source })?;
    }

    Ok(Summary {
        seed: pki.seed,
        files: names,
        root_fingerprints,
        revoked: summary_revoked,
    })
}
