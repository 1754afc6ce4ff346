//! Random tokens, their hashes, and the key that seals what the server stores.
//!
//! Handles, submission tokens and browser tokens are bearer secrets: only their SHA-256 is
//! stored, and comparisons go through the hash (a database lookup by hash, or a
//! constant-time compare). Stored results are AES-256-GCM with the row as associated data,
//! so a ciphertext copied into another row does not decrypt. SHA-256 on the server is
//! aws-lc-rs's, here, and nowhere else.

use std::sync::Arc;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use zeroize::Zeroizing;

/// Random bytes from the OS.
pub fn random<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    // The system RNG does not fail on a working OS; a failure must not yield zeros.
    if SystemRandom::new().fill(&mut b).is_err() {
        panic!("the operating system's random number generator failed");
    }
    b
}

/// A random token of `N` bytes as unpadded base64url.
pub fn token<const N: usize>() -> String {
    URL_SAFE_NO_PAD.encode(random::<N>())
}

/// SHA-256.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// SHA-256 of a token's text.
pub fn hash(token: &str) -> Vec<u8> {
    sha256(token.as_bytes()).to_vec()
}

/// Constant-time equality of two hashes.
pub fn same(a: &[u8], b: &[u8]) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(a, b).is_ok()
}

/// Decodes a base64 secret of at least `min` bytes.
pub fn decode_key(text: &str, min: usize) -> Option<Zeroizing<Vec<u8>>> {
    let bytes = Zeroizing::new(STANDARD.decode(text.trim()).ok()?);
    (bytes.len() >= min).then_some(bytes)
}

/// The AES-256-GCM key (`result_key`) that seals what is stored: results, OpenID Connect
/// grants and signing keys. Cheap to clone.
#[derive(Clone)]
pub struct SealingKey(Arc<LessSafeKey>);

impl std::fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealingKey(REDACTED)")
    }
}

impl SealingKey {
    /// From 32 key bytes.
    pub fn new(key: &[u8]) -> Option<SealingKey> {
        Some(SealingKey(Arc::new(LessSafeKey::new(
            UnboundKey::new(&AES_256_GCM, key).ok()?,
        ))))
    }

    /// A key that lives as long as this process (no `result_key` configured).
    pub fn ephemeral() -> SealingKey {
        // 32 random bytes are always a valid AES-256 key.
        SealingKey::new(&random::<32>()).unwrap_or_else(|| unreachable!("a 32-byte key"))
    }

    /// Encrypts `plaintext` for the row `session_id` (any text naming the row): nonce ‖
    /// ciphertext ‖ tag.
    pub fn seal(&self, session_id: &str, plaintext: &[u8]) -> Vec<u8> {
        let nonce_bytes = random::<NONCE_LEN>();
        let mut data = plaintext.to_vec();
        let nonce = Nonce::assume_unique_for_key(nonce_bytes);
        // Sealing in place only fails for inputs beyond GCM's size limit (64 GiB).
        if self
            .0
            .seal_in_place_append_tag(nonce, Aad::from(session_id.as_bytes()), &mut data)
            .is_err()
        {
            panic!("AES-GCM refused a small plaintext");
        }
        let mut out = nonce_bytes.to_vec();
        out.extend_from_slice(&data);
        out
    }

    /// Decrypts what [`SealingKey::seal`] made for the same row.
    pub fn open(&self, session_id: &str, sealed: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        if sealed.len() < NONCE_LEN {
            return None;
        }
        let (n, ct) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(n).ok()?;
        let mut buf = Zeroizing::new(ct.to_vec());
        let plain = self
            .0
            .open_in_place(nonce, Aad::from(session_id.as_bytes()), &mut buf)
            .ok()?;
        Some(Zeroizing::new(plain.to_vec()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_is_bound_to_the_row() {
        let k = SealingKey::new(&[7; 32]).unwrap();
        let sealed = k.seal("s1", b"{\"name\":\"x\"}");
        assert!(!sealed.windows(4).any(|w| w == b"name"));
        assert_eq!(&k.open("s1", &sealed).unwrap()[..], b"{\"name\":\"x\"}");
        assert!(k.open("s2", &sealed).is_none());
        let mut bad = sealed.clone();
        bad[20] ^= 1;
        assert!(k.open("s1", &bad).is_none());
        assert!(SealingKey::new(&[1; 16]).is_none());
        assert_ne!(token::<16>(), token::<16>());
        assert_eq!(token::<24>().len(), 32);
    }
}
