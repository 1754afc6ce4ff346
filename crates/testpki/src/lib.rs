#![doc = include_str!("../README.md")]

mod asn1;
pub mod card;
pub mod crl;
pub mod cv;
pub mod era;
pub mod keys;
mod output;
pub mod persons;
pub mod pki;
pub mod revoke;
pub mod x509;

use std::path::{Path, PathBuf};

pub use crate::crl::{CrlSpec, RevokedEntry, build_crl, issuing_distribution_point};
pub use crate::cv::{build_basic_info, build_cv_certificate, build_integrity_record, build_signed_key, key_id};
pub use crate::era::{compact_date, era_digit, parse_date, wareki_yymmdd};
pub use crate::keys::SignatureHash;
pub use crate::output::{CvCaFile, Summary};
pub use crate::persons::{PersonRecord, Profile, kenhojo_sex_code, profiles, san_sex_code};
pub use crate::pki::{Crl, CvKey, Generation, IssuedCert, Person, Root, RootKind, TestPki, cv_ids};
pub use crate::x509::{CertSpec, Dn, DnAttr, KeyUsageSpec, build_certificate, crl_distribution_points};
/// Re-exported so callers can name keys, times and extension types without pinning versions.
pub use {der, rsa, x509_cert};

/// Everything that can go wrong while generating or writing the test PKI.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PkiError {
    /// RSA key generation, signing or verification failed.
    #[error("RSA: {0}")]
    Rsa(#[from] rsa::Error),
    /// A DER structure could not be encoded.
    #[error("DER: {0}")]
    Der(#[from] der::Error),
    /// A key could not be encoded as PKCS#8, PKCS#1 or SubjectPublicKeyInfo.
    #[error("key encoding: {0}")]
    KeyEncoding(String),
    /// A BER-TLV record was malformed.
    #[error("TLV: {0}")]
    Tlv(#[from] mynaid_apdu::tlv::TlvError),
    /// A CV key id was not of the form `NNNNNNN/MMM`.
    #[error("invalid CV key id {0:?} (expected 7 digits, '/', 3 digits)")]
    KeyId(String),
    /// A distinguished name could not be parsed.
    #[error("invalid distinguished name {0:?}")]
    Dn(String),
    /// A date was invalid or outside the Japanese eras.
    #[error("invalid date {0:?}")]
    Date(String),
    /// An Individual Number (or its 11-digit base) was malformed.
    #[error("an Individual Number must be 12 ASCII digits (11 for its base)")]
    MyNumber,
    /// A record is too large for its 16-bit offsets.
    #[error("record too large for 16-bit offsets")]
    RecordTooLarge,
    /// JSON serialisation failed.
    #[error("JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// A revocation cannot be made (`revoke`): unknown person, no such certificate.
    #[error("{0}")]
    Revoke(String),
    /// Writing a file failed.
    #[error("writing {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// The fixed dates of the test PKI. No clock is ever read.
pub mod times {
    use der::DateTime;

    const fn at(y: u16, mo: u8, d: u8, h: u8, mi: u8, s: u8) -> DateTime {
        match DateTime::new(y, mo, d, h, mi, s) {
            Ok(t) => t,
            Err(_) => panic!("invalid constant date"),
        }
    }

    /// g1 roots: notBefore.
    pub const ROOT_G1_NOT_BEFORE: DateTime = at(2019, 4, 1, 0, 0, 0);
    /// g1 roots: notAfter.
    pub const ROOT_G1_NOT_AFTER: DateTime = at(2029, 3, 31, 23, 59, 59);
    /// g2 roots: notBefore.
    pub const ROOT_G2_NOT_BEFORE: DateTime = at(2023, 7, 16, 0, 0, 0);
    /// g2 roots: notAfter.
    pub const ROOT_G2_NOT_AFTER: DateTime = at(2033, 7, 15, 23, 59, 59);
    /// End-entity certificates (both generations): notBefore.
    pub const EE_NOT_BEFORE: DateTime = at(2025, 4, 1, 0, 0, 0);
    /// End-entity certificates issued by g2: notAfter.
    pub const EE_G2_NOT_AFTER: DateTime = at(2030, 3, 31, 23, 59, 59);
    /// End-entity certificates issued by g1 (p09): notAfter, inside the g1 root's validity.
    pub const EE_G1_NOT_AFTER: DateTime = at(2029, 3, 30, 23, 59, 59);
    /// CRL thisUpdate.
    pub const CRL_THIS_UPDATE: DateTime = at(2025, 4, 1, 0, 0, 0);
    /// CRL nextUpdate: far ahead, so fixtures do not expire (a test PKI, not a real CRL).
    pub const CRL_NEXT_UPDATE: DateTime = at(2035, 1, 1, 0, 0, 0);
    /// revocationDate of revoked certificates.
    pub const REVOCATION_DATE: DateTime = at(2025, 4, 1, 0, 0, 0);
}

/// The default seed of `mynaid-server pki generate` and of the committed fixtures.
pub const DEFAULT_SEED: u64 = 1;

/// Generates the test PKI in memory (see [`TestPki::generate`]).
///
/// # Errors
/// [`PkiError`] if a key cannot be generated or a structure cannot be encoded.
pub fn generate_in_memory(seed: u64) -> Result<TestPki, PkiError> {
    TestPki::generate(seed)
}

/// Generates the test PKI from `seed` and writes it under `out` (created if missing).
/// Running it twice with one seed writes byte-identical files.
///
/// # Errors
/// [`PkiError`] on generation failure or when a file cannot be written.
pub fn generate(out: &Path, seed: u64) -> Result<Summary, PkiError> {
    TestPki::generate(seed)?.write(out)
}

impl TestPki {
    /// Writes the PKI under `out` in the documented layout.
    ///
    /// # Errors
    /// [`PkiError::Io`] when a file cannot be written, [`PkiError::Json`] /
    /// [`PkiError::KeyEncoding`] when a document cannot be encoded.
    pub fn write(&self, out: &Path) -> Result<Summary, PkiError> {
        output::write(self, out)
    }
}
