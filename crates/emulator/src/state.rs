//! The card state file: everything a card holds, as JSON.
//!
//! One file per card. The emulator loads it, and writes it back (atomically: temp file,
//! fsync, rename) whenever persistent state changes: PIN retry counters and PIN values.
//! Volatile state (selected application, current EF, verified PINs) is never stored, so a
//! restart behaves like a power cycle.
//!
//! The file is card *content*, produced by `mynaid-server pki generate`: applications with their
//! files (physical bytes, filler included), private keys and PIN reference data. The
//! emulator's behaviour (status words, access rules, counters) is code, not data.

use serde::{Deserialize, Serialize};

/// Format tag written into every state file.
pub const FORMAT: &str = "mynaid-emulator-card/1";

/// A whole card.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct CardState {
    /// Always [`FORMAT`].
    pub format: String,
    /// A label for humans and traces (the test person's id).
    pub label: String,
    /// The ATR the card announces (hex). Readers must not rely on it.
    #[serde(with = "hex_bytes")]
    pub atr: Vec<u8>,
    /// The applications (DFs selected by name).
    pub applications: Vec<Application>,
}

/// One application (DF).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Application {
    /// Short name for traces: `jpki`, `input-support`, `face`.
    pub name: String,
    /// The DF name selected with `00 A4 04 0C`.
    #[serde(with = "hex_bytes")]
    pub aid: Vec<u8>,
    /// Transparent EFs.
    pub files: Vec<File>,
    /// Private keys (key EFs).
    pub keys: Vec<Key>,
    /// PIN key references (PIN EFs).
    pub pins: Vec<Pin>,
    /// The key that `80 2A 00 00` (P2 = 00, "the AP's default key") signs with, if any.
    #[serde(default, with = "opt_fid")]
    pub default_key: Option<u16>,
}

/// A transparent EF.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct File {
    /// File identifier.
    #[serde(with = "fid")]
    pub fid: u16,
    /// Physical content: the TLV followed by any filler, exactly as READ BINARY returns it.
    #[serde(with = "b64")]
    pub content: Vec<u8>,
    /// Who may read it.
    pub read: Access,
}

/// An access rule.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    /// No credential needed.
    Always,
    /// Any one of these PINs (by their EF identifiers) verified in the current session.
    AnyPin(#[serde(with = "fids")] Vec<u16>),
    /// Nobody.
    Never,
}

/// An RSA private key on the card.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Key {
    /// Key EF identifier (e.g. `0017`, `001A`, `0013`).
    #[serde(with = "fid")]
    pub fid: u16,
    /// PKCS#8 DER of the RSA-2048 private key.
    #[serde(with = "b64")]
    pub pkcs8: Vec<u8>,
    /// Who may use it for COMPUTE DIGITAL SIGNATURE.
    pub usage: Access,
}

/// A PIN key reference with its persistent retry counter.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Pin {
    /// PIN EF identifier (e.g. `0011`, `0018`, `001B`).
    #[serde(with = "fid")]
    pub fid: u16,
    /// Random salt for `reference`.
    #[serde(with = "b64")]
    pub salt: Vec<u8>,
    /// SHA-256(salt ‖ PIN bytes as presented to the card).
    #[serde(with = "b64")]
    pub reference: Vec<u8>,
    /// Tries after a reset to the maximum (3 or 5).
    pub max_tries: u8,
    /// Tries left now; 0 means blocked.
    pub remaining: u8,
}

/// The reference data a [`Pin`] stores for `pin`: SHA-256(salt ‖ PIN bytes as presented).
///
/// The card compares the bytes of a VERIFY against this; it never checks the PIN's format.
pub fn pin_reference(salt: &[u8], pin: &[u8]) -> Vec<u8> {
    use sha2::Digest;
    let mut hasher = sha2::Sha256::new();
    hasher.update(salt);
    hasher.update(pin);
    hasher.finalize().to_vec()
}

impl Pin {
    /// A PIN EF that accepts `pin`, with every try left.
    pub fn new(fid: u16, salt: Vec<u8>, pin: &[u8], max_tries: u8) -> Pin {
        let reference = pin_reference(&salt, pin);
        Pin {
            fid,
            salt,
            reference,
            max_tries,
            remaining: max_tries,
        }
    }
}

mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode_upper(v))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        hex::decode(String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

mod b64 {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(v))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        STANDARD
            .decode(String::deserialize(d)?)
            .map_err(serde::de::Error::custom)
    }
}

fn parse_fid(s: &str) -> Result<u16, String> {
    if s.len() != 4 {
        return Err(format!("file id {s:?} must be 4 hex digits"));
    }
    u16::from_str_radix(s, 16).map_err(|e| format!("file id {s:?}: {e}"))
}

mod fid {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(v: &u16, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{v:04X}"))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u16, D::Error> {
        super::parse_fid(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

mod opt_fid {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(v: &Option<u16>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => s.serialize_some(&format!("{v:04X}")),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u16>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|s| super::parse_fid(&s).map_err(serde::de::Error::custom))
            .transpose()
    }
}

mod fids {
    use serde::{Deserialize, Deserializer, Serializer, ser::SerializeSeq};

    pub(super) fn serialize<S: Serializer>(v: &[u16], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(v.len()))?;
        for f in v {
            seq.serialize_element(&format!("{f:04X}"))?;
        }
        seq.end()
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u16>, D::Error> {
        Vec::<String>::deserialize(d)?
            .iter()
            .map(|s| super::parse_fid(s).map_err(serde::de::Error::custom))
            .collect()
    }
}
