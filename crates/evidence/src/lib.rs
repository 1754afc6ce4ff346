//! The evidence a reading device sends after reading a My Number Card, and its
//! verification.
//!
//! A server must never take a client's word about identity. A reading device (the PC
//! reader app, the phone app) sends an evidence document (`mynaid_protocol::Evidence`, the
//! wire format, kept apart so that reading devices do not link this crate's cryptography);
//! the server verifies it with a [`Verifier`] into a [`VerifiedCardFace`], which only the
//! verifier can construct.
//!
//! Two routes (`docs/evidence.md`, `shared/design/architecture.md`):
//! * **signature**: the JPKI signature certificate, chained by key identifier to a trusted
//!   root, checked against RFC 5280 essentials (validity, KeyUsage, BasicConstraints,
//!   sha256WithRSAEncryption only) and the issuer's CRL (the CRL of the certificate's
//!   distribution point, where it names one); the card's signature over the
//!   session's to-be-signed value; the four attributes from the SubjectAltName;
//! * **user-authentication** (the 4-digit PINs): the JPKI user-authentication
//!   certificate, checked as the signature certificate is but under a user-authentication
//!   root and with its own KeyUsage, its CRL, and its key's signature over the session's
//!   value; then the card-face records: the CV certificate (EF 0004) under a configured CV
//!   CA key, the integrity record (EF 0003) under the EF 0004 key, EF 0002 against the
//!   record's digest. DF31 is used in memory only. The issuer does not bind the records to
//!   the certificate (docs/evidence.md, "Limits").
//!
//! Everything is a pure function of its inputs: time, trust anchors and CRLs are passed in;
//! nothing here reads a clock, a file or the network. The to-be-signed value is rebuilt
//! from the server's own `mynaid_protocol::Binding`, never read from the document.

mod crl;
mod crypto;
mod error;
mod face;
mod trust;
mod verify;
mod x509;

pub use crl::{CrlInfo, CrlSet, CrlWindow, RevocationPolicy, RevocationReason, RevokedEntry};
pub use crypto::bench_verify;
pub use error::{CertRole, CrlError, EvidenceError, TrustError};
pub use face::{CardFaceClaims, Revocation, Verification, VerifiedCardFace};
pub use trust::{CvCaKey, OFFICIAL_JPKI_ROOTS, TrustMode, TrustStore};
pub use verify::Verifier;
