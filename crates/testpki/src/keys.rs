//! Deterministic RSA keys and PKCS#1 v1.5 signatures.
//!
//! Every key of the test PKI comes from its own ChaCha20 stream, seeded with
//! `SHA-256("mynaid-testpki/1" ‖ 0x00 ‖ seed as u64 big-endian ‖ purpose)`. The purpose is a
//! short stable string (`"jpki-sign-root-g2"`, `"person/p01/sign"`), so adding a key later
//! does not shift any other key. RSA PKCS#1 v1.5 signatures are deterministic by
//! construction; the blinding RNG only hides timing and never changes the result.

use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use rsa::pkcs1::EncodeRsaPublicKey;
use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey};
use rsa::traits::PublicKeyParts;
use rsa::{Pkcs1v15Sign, PrivateKey, PublicKey};
use sha1::Sha1;
use sha2::{Digest, Sha256};

use crate::PkiError;

/// Domain separation prefix for everything derived from the seed.
const DOMAIN: &[u8] = b"mynaid-testpki/1";

/// Modulus size of every key in the test PKI, as on the card (§7.1).
pub const KEY_BITS: usize = 2048;

/// Length in bytes of a [`KEY_BITS`] modulus and of its signatures.
pub const KEY_BYTES: usize = KEY_BITS / 8;

/// The hash inside a PKCS#1 v1.5 signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignatureHash {
    /// SHA-256: what the card, J-LIS and this PKI use (`sha256WithRSAEncryption`).
    Sha256,
    /// SHA-1: only for deliberately bad test material (`sha1WithRSAEncryption`).
    Sha1,
}

impl SignatureHash {
    fn padding(self) -> Pkcs1v15Sign {
        match self {
            Self::Sha256 => Pkcs1v15Sign::new::<Sha256>(),
            Self::Sha1 => Pkcs1v15Sign::new::<Sha1>(),
        }
    }

    /// The digest of `message` under this hash.
    pub fn digest(self, message: &[u8]) -> Vec<u8> {
        match self {
            Self::Sha256 => Sha256::digest(message).to_vec(),
            Self::Sha1 => Sha1::digest(message).to_vec(),
        }
    }
}

/// The 32-byte seed for one purpose: `SHA-256(domain ‖ 00 ‖ seed BE ‖ purpose)`.
pub fn derive_seed(seed: u64, purpose: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(DOMAIN);
    h.update([0u8]);
    h.update(seed.to_be_bytes());
    h.update(purpose.as_bytes());
    h.finalize().into()
}

/// `len` deterministic bytes for one purpose (SHA-256 in counter mode over [`derive_seed`]).
///
/// Used for PIN salts, serial numbers and other non-key material.
pub fn derive_bytes(seed: u64, purpose: &str, len: usize) -> Vec<u8> {
    let base = derive_seed(seed, purpose);
    let mut out = Vec::with_capacity(len + 32);
    let mut counter: u32 = 0;
    while out.len() < len {
        let mut h = Sha256::new();
        h.update(base);
        h.update(counter.to_be_bytes());
        out.extend_from_slice(&h.finalize());
        counter = counter.wrapping_add(1);
    }
    out.truncate(len);
    out
}

/// The RSA-2048 key (e = 65537) for one purpose, from `ChaCha20Rng::from_seed(derive_seed)`.
///
/// Takes about 0.1–0.3 s with optimised dependencies.
///
/// # Errors
/// [`PkiError::Rsa`] if key generation fails (it does not with a working RNG).
pub fn generate_key(seed: u64, purpose: &str) -> Result<PrivateKey, PkiError> {
    let mut rng = ChaCha20Rng::from_seed(derive_seed(seed, purpose));
    Ok(PrivateKey::new(&mut rng, KEY_BITS)?)
}

/// A PKCS#1 v1.5 signature over `message` (hashed here with `hash`).
///
/// # Errors
/// [`PkiError::Rsa`] if the key cannot sign (never for a valid RSA-2048 key).
pub fn sign(key: &PrivateKey, hash: SignatureHash, message: &[u8]) -> Result<Vec<u8>, PkiError> {
    // Blinding randomness does not affect a PKCS#1 v1.5 signature; a fixed stream keeps
    // this function free of OS randomness.
    let mut rng = ChaCha20Rng::from_seed([0x5A; 32]);
    Ok(key.sign_with_rng(&mut rng, hash.padding(), &hash.digest(message))?)
}

/// Checks a PKCS#1 v1.5 signature over `message`.
///
/// # Errors
/// [`PkiError::Rsa`] when the signature does not verify.
pub fn verify(key: &PublicKey, hash: SignatureHash, message: &[u8], signature: &[u8]) -> Result<(), PkiError> {
    Ok(key.verify(hash.padding(), &hash.digest(message), signature)?)
}

/// The modulus, big-endian, left-padded with zeros to the key size (256 bytes for RSA-2048).
pub fn modulus(key: &PublicKey) -> Vec<u8> {
    let n = key.n_bytes();
    let size = key.size().max(n.len());
    let mut out = vec![0u8; size - n.len()];
    out.extend_from_slice(&n);
    out
}

/// The public exponent, big-endian without leading zeros (`01 00 01`).
pub fn exponent(key: &PublicKey) -> Vec<u8> {
    key.e_bytes().to_vec()
}

/// PKCS#8 DER of the private key, as stored in the emulator's card state.
///
/// # Errors
/// [`PkiError::KeyEncoding`] if encoding fails.
pub fn pkcs8_der(key: &PrivateKey) -> Result<Vec<u8>, PkiError> {
    let doc = key.to_pkcs8_der().map_err(|e| PkiError::KeyEncoding(e.to_string()))?;
    Ok(doc.as_bytes().to_vec())
}

/// SubjectPublicKeyInfo DER of the public key.
///
/// # Errors
/// [`PkiError::KeyEncoding`] if encoding fails.
pub fn spki_der(key: &PublicKey) -> Result<Vec<u8>, PkiError> {
    let doc = key
        .to_public_key_der()
        .map_err(|e| PkiError::KeyEncoding(e.to_string()))?;
    Ok(doc.as_bytes().to_vec())
}

/// The key identifier used in SubjectKeyIdentifier / AuthorityKeyIdentifier: RFC 5280
/// §4.2.1.2 method 1, the SHA-1 of the `subjectPublicKey` BIT STRING value (the PKCS#1
/// `RSAPublicKey` DER), 20 bytes.
///
/// # Errors
/// [`PkiError::KeyEncoding`] if encoding fails.
pub fn key_identifier(key: &PublicKey) -> Result<Vec<u8>, PkiError> {
    let doc = key.to_pkcs1_der().map_err(|e| PkiError::KeyEncoding(e.to_string()))?;
    Ok(Sha1::digest(doc.as_bytes()).to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purposes_and_seeds_separate() {
        assert_ne!(derive_seed(1, "a"), derive_seed(1, "b"));
        assert_ne!(derive_seed(1, "a"), derive_seed(2, "a"));
        assert_eq!(derive_seed(7, "x"), derive_seed(7, "x"));
    }

    #[test]
    fn derive_bytes_is_a_prefix_stream() {
        let long = derive_bytes(1, "salt", 70);
        assert_eq!(long.len(), 70);
        assert_eq!(&long[..16], &derive_bytes(1, "salt", 16)[..]);
        assert_eq!(&long[..32], &derive_seed_block0(1, "salt")[..]);
    }

    fn derive_seed_block0(seed: u64, purpose: &str) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(derive_seed(seed, purpose));
        h.update(0u32.to_be_bytes());
        h.finalize().into()
    }

    #[test]
    fn signatures_verify_and_are_deterministic() {
        let key = generate_key(99, "unit-test").unwrap();
        let public = key.to_public_key();
        assert_eq!(modulus(&public).len(), KEY_BYTES);
        assert_eq!(exponent(&public), [1, 0, 1]);
        for hash in [SignatureHash::Sha256, SignatureHash::Sha1] {
            let a = sign(&key, hash, b"message").unwrap();
            let b = sign(&key, hash, b"message").unwrap();
            assert_eq!(a, b);
            assert_eq!(a.len(), KEY_BYTES);
            verify(&public, hash, b"message", &a).unwrap();
            assert!(verify(&public, hash, b"messagf", &a).is_err());
        }
        assert_eq!(key_identifier(&public).unwrap().len(), 20);
    }
}
