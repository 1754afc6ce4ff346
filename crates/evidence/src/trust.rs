//! Trust anchors: the JPKI roots for the signature route, the CV CA keys for the
//! input-support route.
//!
//! **Production mode** accepts only the official JPKI roots: their SHA-256 fingerprints are
//! pinned below (from J-LIS's published list, `shared/spec/card-protocol.md` §8.7); the
//! operator downloads the certificate files from jpki.go.jp, and a file whose fingerprint is
//! not pinned is refused. **Test mode** accepts any self-signed CA (the `mynaid-server pki` roots) and
//! must be asked for explicitly; a server configuration has to say so in words.
//!
//! Anchors are matched by key identifier, never by name: every generation of a JPKI root
//! has the same subject DN.

use mynaid_card::formats::{KeyId, RsaPublicKey};

use crate::crypto::{sha256, verify_rsa_sha256};
use crate::error::{CertRole, TrustError};
use crate::x509::{CertFacts, JpkiKind, parse_certificate};

/// The official JPKI roots: (name, SHA-256 of the DER certificate).
///
/// Sources (`card-protocol.md` §8.7): signca02 and signca03 — J-LIS's fingerprint list
/// (`jpki.go.jp/ca/pdf/sign_fingerprint.pdf`) as quoted by one project, and the same values
/// pinned by a second; signca03 also computed from `jpki/myna`'s `src/ta/sign_ca_2023.pem`.
/// signca01, authca01, authca03 — computed from `jpki/myna`'s `src/ta/*.pem` (J-LIS's files);
/// a second source (J-LIS's `auth_fingerprint.pdf`) could not be reached from the build
/// machine. The user-authentication CA of 2019 (authca02, serial 0133C349, valid 2019-09-14
/// to 2029-09-14) is **not pinned**: neither its file nor its fingerprint could be obtained
/// (docs/evidence.md, "Trust anchors"); until it is, a card whose user-authentication
/// certificate it issued is refused as of an unknown issuer, and the 4-digit route says so.
pub const OFFICIAL_JPKI_ROOTS: [(&str, &str); 5] = [
    (
        "JPKI signature CA 2015 (signca01)",
        "19645405A1FE14377434BD55957628AC4038557C542403A2243F21C706FC9355",
    ),
    (
        "JPKI signature CA 2019 (signca02)",
        "79679C33E4CC9319440F1AD120A597FF1844E2EF217063ADB176966FD5E6FBEB",
    ),
    (
        "JPKI signature CA 2023 (signca03)",
        "D227F6CDE11D35C5252178F106F843D24651944975413B539FA2FB68DBFA365F",
    ),
    (
        "JPKI user authentication CA 2015 (authca01)",
        "4DCFC4CA0AAF9FB2A3081B3F0C991C320B3ACC008667A341EEAEC5AF1D58CA7D",
    ),
    (
        "JPKI user authentication CA 2023 (authca03)",
        "64114F29620C24ED2631D46476A040E7EE740D956089C00B036A6A8118C322B5",
    ),
];

/// Whether the store holds official roots only, or test roots too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrustMode {
    /// Only the pinned official JPKI roots.
    Production,
    /// Explicitly configured test roots (`mynaid-server pki`).
    Test,
}

/// One trusted root.
pub(crate) struct Anchor {
    pub(crate) facts: CertFacts,
    /// The key identifier issued certificates name in their AKI.
    pub(crate) key_id: Vec<u8>,
    pub(crate) fingerprint: [u8; 32],
    /// Which certificates it issues, from its subject name.
    pub(crate) kind: Option<JpkiKind>,
}

/// The JPKI roots a verifier trusts.
pub struct TrustStore {
    pub(crate) anchors: Vec<Anchor>,
    mode: TrustMode,
}

impl std::fmt::Debug for TrustStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let fps: Vec<String> = self
            .anchors
            .iter()
            .map(|a| hex::encode_upper(&a.fingerprint[..8]))
            .collect();
        write!(f, "TrustStore({:?}, {fps:?})", self.mode)
    }
}

fn load_anchor(index: usize, der: &[u8]) -> Result<Anchor, TrustError> {
    let facts = parse_certificate(der, CertRole::Root).map_err(|_| TrustError::Malformed { index })?;
    let self_signed =
        facts.issuer == facts.subject && verify_rsa_sha256(&facts.public_key, &facts.tbs, &facts.signature);
    let cert_sign = facts.key_usage.as_ref().is_some_and(|(_, ku)| ku.key_cert_sign());
    if !self_signed || facts.ca != Some(true) || !cert_sign {
        return Err(TrustError::NotACa { index });
    }
    // RFC 5280 §4.2.1.2 method 1 when the root states no SKI.
    let key_id = facts.subject_key_id.clone().unwrap_or_else(|| {
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, &facts.public_key)
            .as_ref()
            .to_vec()
    });
    Ok(Anchor {
        kind: facts.subject_kind,
        facts,
        key_id,
        fingerprint: sha256(der),
    })
}

impl TrustStore {
    /// Production: every certificate must be one of [`OFFICIAL_JPKI_ROOTS`].
    pub fn production(roots: &[Vec<u8>]) -> Result<TrustStore, TrustError> {
        let mut anchors = Vec::new();
        for (index, der) in roots.iter().enumerate() {
            let fingerprint = hex::encode_upper(sha256(der));
            if !OFFICIAL_JPKI_ROOTS.iter().any(|(_, fp)| *fp == fingerprint) {
                return Err(TrustError::NotAnOfficialRoot { index, fingerprint });
            }
            anchors.push(load_anchor(index, der)?);
        }
        Ok(TrustStore {
            anchors,
            mode: TrustMode::Production,
        })
    }

    /// Test mode: trusts the given self-signed CA certificates (e.g. the `mynaid-server pki`
    /// roots). Never use it for real identity proofing.
    pub fn test_roots(roots: &[Vec<u8>]) -> Result<TrustStore, TrustError> {
        let anchors = roots
            .iter()
            .enumerate()
            .map(|(i, der)| load_anchor(i, der))
            .collect::<Result<_, _>>()?;
        Ok(TrustStore {
            anchors,
            mode: TrustMode::Test,
        })
    }

    /// Which mode the store is in.
    pub fn mode(&self) -> TrustMode {
        self.mode
    }

    /// SHA-256 fingerprints of the anchors, hex.
    pub fn fingerprints(&self) -> Vec<String> {
        self.anchors.iter().map(|a| hex::encode_upper(a.fingerprint)).collect()
    }

    pub(crate) fn by_key_id(&self, key_id: &[u8]) -> Option<&Anchor> {
        self.anchors.iter().find(|a| a.key_id == key_id)
    }
}

/// A CV CA public key of the input-support AP, named by its key identifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CvCaKey {
    /// The 16-byte key id EF 0004 names as 証明者鍵ID.
    pub key_id: KeyId,
    pub(crate) pkcs1: Vec<u8>,
}

impl CvCaKey {
    /// A CV CA key from its id and RSA public key (modulus, exponent). The production keys
    /// are not published by J-LIS openly: the operator supplies them.
    pub fn new(key_id: KeyId, modulus: &[u8], exponent: &[u8]) -> Result<CvCaKey, TrustError> {
        let key = RsaPublicKey {
            modulus: modulus.to_vec(),
            exponent: exponent.to_vec(),
        };
        if modulus.len() != 256 || modulus[0] & 0x80 == 0 || exponent.is_empty() {
            return Err(TrustError::BadCvKey(key_id.to_string()));
        }
        Ok(CvCaKey {
            key_id,
            pkcs1: key.to_pkcs1_der(),
        })
    }

    /// Reads the `trust/cv-ca.json` that `mynaid-server pki generate` writes:
    /// `{"key_id": hex, "modulus": hex, "exponent": hex}`.
    pub fn from_json(json: &str) -> Result<CvCaKey, TrustError> {
        let bad = || TrustError::BadCvKey("cv-ca.json".into());
        let v: serde_json::Value = serde_json::from_str(json).map_err(|_| bad())?;
        let field = |k: &str| v[k].as_str().and_then(|s| hex::decode(s).ok()).ok_or_else(bad);
        let id: [u8; 16] = field("key_id")?.try_into().map_err(|_| bad())?;
        CvCaKey::new(KeyId(id), &field("modulus")?, &field("exponent")?)
    }
}
