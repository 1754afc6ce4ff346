//! What the card signs, and what binds it to one session of one service.
//!
//! `to_be_signed = SHA-256("mynaid-v1" ‖ H(origin) ‖ H(challenge) ‖ H(session binding) ‖ H(purpose))`
//! with every `H` = SHA-256, so each field has a fixed width and none can bleed into the
//! next. The card signs `DigestInfo(SHA-256(to_be_signed))`, an ordinary
//! `sha256WithRSAEncryption` signature over the 32-byte value.
//!
//! The reading device computes it from what the server told it when it redeemed the handle;
//! the verifier recomputes it from the server's own records. Nothing of it is read from the
//! evidence document: a signature that verifies proves the card signed exactly these values.

use sha2::{Digest, Sha256};

use crate::Purpose;

/// Domain separation tag of this binding format.
pub const DOMAIN: &[u8] = b"mynaid-v1";

/// The values a signature is bound to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Binding<'a> {
    /// The service's origin, e.g. `https://portal.example.jp` (what the person was shown).
    pub origin: &'a str,
    /// The server-held 32-byte challenge of the session (single use).
    pub challenge: &'a [u8; 32],
    /// A value that names the session on the server (its id), so a signature for one session
    /// cannot be used for another even if challenges were ever reused.
    pub session: &'a [u8],
    /// Why the card is read, as shown to the person (its spelling is what is hashed).
    pub purpose: Purpose,
}

impl Binding<'_> {
    /// The 32-byte value the card signs.
    pub fn to_be_signed(&self) -> [u8; 32] {
        let h = |v: &[u8]| -> [u8; 32] { Sha256::digest(v).into() };
        let mut outer = Sha256::new();
        outer.update(DOMAIN);
        outer.update(h(self.origin.as_bytes()));
        outer.update(h(self.challenge));
        outer.update(h(self.session));
        outer.update(h(self.purpose.as_str().as_bytes()));
        outer.finalize().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_counts() {
        let c = [1u8; 32];
        let base = Binding {
            origin: "https://a.example",
            challenge: &c,
            session: b"s1",
            purpose: Purpose::VerifyIdentity,
        };
        let t = base.to_be_signed();
        let c2 = [2u8; 32];
        for other in [
            Binding {
                origin: "https://b.example",
                ..base
            },
            Binding { challenge: &c2, ..base },
            Binding { session: b"s2", ..base },
            Binding {
                purpose: Purpose::LinkCard,
                ..base
            },
            // Moving bytes between fields changes the value (fixed-width hashes).
            Binding {
                origin: "https://a.exampl",
                session: b"es1",
                ..base
            },
        ] {
            assert_ne!(other.to_be_signed(), t);
        }
        assert_eq!(base.to_be_signed(), t);
    }
}
