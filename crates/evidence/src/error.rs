//! Why evidence was refused. One variant per check, so a test can name the check that must
//! fail and the server can log which one did. No variant carries personal data.

use mynaid_protocol::DocumentError;

/// Which certificate a check was about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertRole {
    /// The card's certificate.
    EndEntity,
    /// The trust anchor it chains to.
    Root,
}

/// Evidence refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EvidenceError {
    /// The document itself is refused (size, JSON, fields).
    #[error(transparent)]
    Document(#[from] DocumentError),
    /// Card data inside the document does not parse.
    #[error(transparent)]
    CardData(#[from] mynaid_card::formats::FormatError),
    /// A certificate's DER does not parse.
    #[error("the {0:?} certificate is not valid DER X.509")]
    CertificateMalformed(CertRole),
    /// Signed with anything but sha256WithRSAEncryption (SHA-1 included).
    #[error("the {role:?} certificate uses the signature algorithm {oid}; only sha256WithRSAEncryption is accepted")]
    UnsupportedSignatureAlgorithm {
        /// Which certificate.
        role: CertRole,
        /// The algorithm's OID.
        oid: String,
    },
    /// The key is not RSA of 2048 bits or more.
    #[error("the {0:?} certificate's key is not an RSA key of at least 2048 bits")]
    UnsupportedKey(CertRole),
    /// No configured trust anchor matches the certificate's issuer key identifier.
    #[error("the certificate was not issued by a trusted JPKI root")]
    UnknownIssuer,
    /// The certificate's signature does not verify under the anchor its key id names.
    #[error("the certificate's signature does not verify under its issuer's key")]
    CertificateSignatureInvalid,
    /// Outside its validity period: after `notAfter`.
    #[error("the {role:?} certificate expired (not after {not_after}, now {now})")]
    Expired {
        /// Which certificate.
        role: CertRole,
        /// Its `notAfter`, seconds since the epoch.
        not_after: u64,
        /// The verification time.
        now: u64,
    },
    /// Outside its validity period: before `notBefore`.
    #[error("the {role:?} certificate is not yet valid (not before {not_before}, now {now})")]
    NotYetValid {
        /// Which certificate.
        role: CertRole,
        /// Its `notBefore`, seconds since the epoch.
        not_before: u64,
        /// The verification time.
        now: u64,
    },
    /// KeyUsage missing, not critical, or not that of the route's certificate: the
    /// signature certificate has digitalSignature and nonRepudiation, the
    /// user-authentication certificate digitalSignature without nonRepudiation; neither
    /// signs certificates or CRLs.
    #[error("the certificate's KeyUsage does not fit this route's JPKI certificate")]
    WrongKeyUsage,
    /// The certificate chains to a JPKI root of the other kind: a signature certificate
    /// presented for the 4-digit route, or a user-authentication certificate for the
    /// password route.
    #[error("the certificate is of the other JPKI kind than this route needs")]
    WrongCertificateKind,
    /// The end-entity certificate claims to be a CA.
    #[error("the card's certificate claims to be a CA")]
    EndEntityIsCa,
    /// A critical extension this verifier does not understand (RFC 5280 §4.2).
    #[error("unknown critical extension {0}")]
    UnknownCriticalExtension(String),
    /// The serial is on the issuer's CRL.
    #[error("the certificate has been revoked")]
    Revoked,
    /// No loaded CRL covers the certificate and the policy fails closed: none of its issuer,
    /// or, when the certificate names CRL distribution points, none of those points.
    #[error("the revocation status is unknown: no CRL covering the certificate is loaded")]
    RevocationUnknown,
    /// The issuer's CRL is past its `nextUpdate` (or not yet valid).
    #[error("the issuer's CRL is out of date (next update {next_update}, now {now})")]
    CrlOutOfDate {
        /// The CRL's `nextUpdate` (or `thisUpdate` if it is in the future).
        next_update: u64,
        /// The verification time.
        now: u64,
    },
    /// The card's signature does not verify over the to-be-signed value the server rebuilt:
    /// another challenge, origin, session or purpose, or another card.
    #[error("the card's signature does not match this session")]
    CardSignatureInvalid,
    /// EF 0004 names a CV CA key that is not configured.
    #[error("the CV certificate was issued by an unknown CA key ({0})")]
    UnknownCvCa(String),
    /// EF 0004's signature does not verify under the configured CV CA key.
    #[error("the CV certificate's signature does not verify")]
    CvCertificateSignatureInvalid,
    /// EF 0003's signature does not verify under the EF 0004 key.
    #[error("the integrity record's signature does not verify")]
    IntegritySignatureInvalid,
    /// SHA-256 of EF 0002 (DF22..DF25) differs from the integrity record's DF32.
    #[error("the card-face data does not match the integrity record")]
    BasicInfoDigestMismatch,
}

/// Why a CRL was not loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CrlError {
    /// Not a DER CRL.
    #[error("not a DER CRL")]
    Malformed,
    /// Signed with anything but sha256WithRSAEncryption.
    #[error("the CRL uses the signature algorithm {0}; only sha256WithRSAEncryption is accepted")]
    UnsupportedSignatureAlgorithm(String),
    /// No trust anchor matches its issuer.
    #[error("the CRL was not issued by a trusted root")]
    UnknownIssuer,
    /// Its signature does not verify.
    #[error("the CRL's signature does not verify")]
    SignatureInvalid,
    /// A critical CRL extension this verifier does not understand.
    #[error("unknown critical CRL extension {0}")]
    UnknownCriticalExtension(String),
    /// Its issuingDistributionPoint limits it to CA or attribute certificates or to some
    /// reasons, makes it indirect, or names its point relative to the issuer: not supported.
    #[error("the CRL's issuing distribution point is of a kind not supported")]
    UnsupportedDistributionPoint,
    /// No `nextUpdate`: a CRL that never goes out of date would be trusted for ever.
    #[error("the CRL has no nextUpdate")]
    NoNextUpdate,
    /// Older (`thisUpdate`) than the CRL of the same issuer and distribution point already in
    /// use: a replayed or
    /// rolled-back CRL could hide a revocation.
    #[error("the CRL is older than the one in use (thisUpdate {this_update}, in use {in_use})")]
    Older {
        /// Its `thisUpdate`.
        this_update: u64,
        /// The `thisUpdate` of the one in use.
        in_use: u64,
    },
}

/// Why a trust anchor was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TrustError {
    /// Not a DER certificate.
    #[error("trust anchor {index}: not a DER certificate")]
    Malformed {
        /// Position in the list given.
        index: usize,
    },
    /// Production mode: the certificate is not one of the official JPKI roots.
    #[error("trust anchor {index} (SHA-256 {fingerprint}) is not an official JPKI root; test roots need test mode")]
    NotAnOfficialRoot {
        /// Position in the list given.
        index: usize,
        /// Its SHA-256 fingerprint, hex.
        fingerprint: String,
    },
    /// Not a self-signed CA certificate with keyCertSign.
    #[error("trust anchor {index} is not a self-signed CA certificate")]
    NotACa {
        /// Position in the list given.
        index: usize,
    },
    /// A CV CA key that is not RSA-2048.
    #[error("CV CA key {0}: not an RSA key of 2048 bits")]
    BadCvKey(String),
}
