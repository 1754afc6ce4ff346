//! RSA PKCS#1 v1.5 / SHA-256 verification with aws-lc-rs.
//!
//! Why aws-lc-rs: it is the fastest well-kept implementation available to Rust (about
//! 22 µs per RSA-2048 verify here, ring ~27 µs, RustCrypto's `rsa` ~10× slower —
//! `shared/spec/performance.md` §3.1), it is maintained by AWS as rustls' default provider,
//! and it has a FIPS-validated variant for operators who need one. Only
//! sha256WithRSAEncryption is offered: SHA-1 and everything else are refused before this.

use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};

/// Verifies a PKCS#1 v1.5 SHA-256 signature over `message` with a PKCS#1 `RSAPublicKey` DER.
pub(crate) fn verify_rsa_sha256(public_key_pkcs1: &[u8], message: &[u8], signature: &[u8]) -> bool {
    UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, public_key_pkcs1)
        .verify(message, signature)
        .is_ok()
}

/// SHA-256.
pub(crate) fn sha256(data: &[u8]) -> [u8; 32] {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// HMAC-SHA-256.
pub(crate) fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, key);
    let mut ctx = aws_lc_rs::hmac::Context::with_key(&key);
    for p in parts {
        ctx.update(p);
    }
    let tag = ctx.sign();
    let mut out = [0u8; 32];
    out.copy_from_slice(tag.as_ref());
    out
}

/// The bare verify, for the benchmark's reference rate.
#[doc(hidden)]
pub fn bench_verify(public_key_pkcs1: &[u8], message: &[u8], signature: &[u8]) -> bool {
    verify_rsa_sha256(public_key_pkcs1, message, signature)
}
