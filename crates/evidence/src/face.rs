//! The verifier's result: card face information that passed every check.
//!
//! [`VerifiedCardFace`] has no public constructor: holding one means the verifier accepted
//! the evidence. It hands out the claims in OpenID Connect form and a pairwise card-link
//! identifier; `Debug` shows no personal data.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use mynaid_card::formats::{Date, Personal, Sex};
use mynaid_protocol::Route;
use serde::{Deserialize, Serialize};

use crate::crypto::hmac_sha256;

/// What revocation checking found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Revocation {
    /// A valid CRL of the issuer was consulted; the certificate is not on it.
    CheckedCrl,
    /// No CRL covered the certificate and the policy allowed that.
    NotChecked,
}

/// How the result was verified (OpenID Connect for Identity Assurance `verification`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verification {
    /// The route.
    pub route: Route,
    /// The certificate's serial number (hex). Never
    /// serialized: a serial is the same at every application and would undo the pairwise
    /// card-link identifier, so it stays with the verifier and is not stored or handed out.
    #[serde(skip)]
    pub certificate_serial: Option<String>,
    /// The issuer: the root's key identifier (hex).
    pub issuer: String,
    /// Verification time, seconds since the epoch.
    pub verified_at: u64,
    /// What revocation checking found.
    pub revocation: Revocation,
}

/// The card face claims in OpenID Connect form (`address.formatted`, `birthdate`
/// `YYYY-MM-DD`, `gender`). Serializable, for the server's encrypted result store. Wiped
/// from memory when dropped.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, zeroize::Zeroize, zeroize::ZeroizeOnDrop)]
pub struct CardFaceClaims {
    /// 氏名 (family and given name separated by U+3000).
    pub name: String,
    /// 住所.
    pub address: String,
    /// `YYYY-MM-DD`.
    pub birthdate: String,
    /// `male`, `female`, `not_applicable` or `unknown`.
    pub gender: String,
    /// Per character of `name`: a substitute character (JPKI route only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_substitutes: Option<Vec<bool>>,
    /// Per character of `address`: a substitute character (JPKI route only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_substitutes: Option<Vec<bool>>,
    /// How they were verified.
    #[zeroize(skip)]
    pub verification: Verification,
}

impl fmt::Debug for CardFaceClaims {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CardFaceClaims(REDACTED, {:?})", self.verification)
    }
}

/// Card face information that passed every check of its route.
#[derive(Clone)]
pub struct VerifiedCardFace {
    pub(crate) name: Personal<String>,
    pub(crate) address: Personal<String>,
    pub(crate) birth_date: Personal<Date>,
    pub(crate) sex: Sex,
    pub(crate) name_substitutes: Option<Vec<bool>>,
    pub(crate) address_substitutes: Option<Vec<bool>>,
    pub(crate) verification: Verification,
    /// SHA-256 of the card key the live signature verified under.
    pub(crate) card_key: [u8; 32],
}

impl fmt::Debug for VerifiedCardFace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VerifiedCardFace(REDACTED, {:?})", self.verification)
    }
}

impl VerifiedCardFace {
    /// 氏名.
    pub fn name(&self) -> &str {
        self.name.expose()
    }

    /// 住所.
    pub fn address(&self) -> &str {
        self.address.expose()
    }

    /// 生年月日.
    pub fn birth_date(&self) -> Date {
        *self.birth_date.expose()
    }

    /// 性別.
    pub fn sex(&self) -> Sex {
        self.sex
    }

    /// How it was verified.
    pub fn verification(&self) -> &Verification {
        &self.verification
    }

    /// The claims, OpenID Connect style.
    pub fn claims(&self) -> CardFaceClaims {
        CardFaceClaims {
            name: self.name.expose().clone(),
            address: self.address.expose().clone(),
            birthdate: self.birth_date.expose().iso(),
            gender: self.sex.as_str().to_string(),
            name_substitutes: self.name_substitutes.clone(),
            address_substitutes: self.address_substitutes.clone(),
            verification: self.verification.clone(),
        }
    }

    /// A stable identifier of this card for one relying party (`sub`-like, pairwise): the
    /// HMAC-SHA-256, under the server's `secret`, of the relying party's id, the route and
    /// the card key that made the live signature. Different relying parties get unrelated
    /// identifiers for the same card, and nothing of the card can be read back from it.
    ///
    /// It follows the card key: the input-support AP key lives as long as the card; the JPKI
    /// signature key changes whenever the signature certificate is renewed or reissued
    /// (every five years, and after a change of name or address). See `docs/evidence.md`.
    pub fn card_link_id(&self, secret: &[u8], relying_party: &str) -> String {
        let tag = hmac_sha256(
            secret,
            &[
                b"mynaid-card-link-v1\0",
                relying_party.as_bytes(),
                b"\0",
                self.verification.route.as_str().as_bytes(),
                b"\0",
                &self.card_key,
            ],
        );
        URL_SAFE_NO_PAD.encode(tag)
    }
}
