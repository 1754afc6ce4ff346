//! ID token signing keys: RS256 (RSA 2048, PKCS#1 v1.5 with SHA-256), stored in the database
//! with the private half sealed (AES-256-GCM, the key id as associated data), rotated after a
//! configured age, and published in the JWKS until every ID token a key signed has expired.
//!
//! RS256 because OpenID Connect Core (§15.1) makes it the one algorithm every provider must
//! offer and every relying-party library accepts by default; ES256 would give shorter tokens,
//! but some certified client libraries accept only RS256 unless configured otherwise.
//!
//! Keys are made and used with aws-lc-rs; the public JWK is `jsonwebtoken`'s, the library that
//! also verifies the clients' assertions ([`crate::client_auth`]). A key is opened and parsed
//! once per process (parsing an RSA private key checks it, which costs more than signing)
//! and kept, by key id, in [`KeyCache`].

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::RsaKeyPair;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, EncodingKey};
use mynaid_sessions::secrets::token;
use serde_json::{Value, json};
use zeroize::Zeroizing;

use super::store::KeyRow;
use super::{OAuthError, Provider};

/// The signing algorithm.
pub const ALG: &str = "RS256";

fn aad(kid: &str) -> String {
    format!("mynaid-oidc-signing-key\0{kid}")
}

/// A key ready to sign. Cheap to clone.
#[derive(Clone)]
pub(crate) struct SigningKey {
    pub(crate) kid: String,
    pair: std::sync::Arc<RsaKeyPair>,
}

/// The keys this process has opened, by key id.
#[derive(Default)]
pub(crate) struct KeyCache(std::sync::Mutex<std::collections::HashMap<String, SigningKey>>);

impl SigningKey {
    /// From the PKCS#8 DER that is stored (sealed): `jsonwebtoken` takes the PKCS#1
    /// `RSAPrivateKey` inside it.
    fn from_pkcs8(kid: String, pkcs8: &[u8]) -> Option<SigningKey> {
        Some(SigningKey {
            kid,
            pair: std::sync::Arc::new(RsaKeyPair::from_pkcs8(pkcs8).ok()?),
        })
    }

    /// Signs a JWT: header `{alg, typ, kid}`, the claims, RS256 (PKCS#1 v1.5) or, for FAPI
    /// 2.0 clients, PS256 (RSASSA-PSS) with the same key.
    pub(crate) fn sign(&self, claims: &Value, alg: Algorithm) -> Result<String, OAuthError> {
        self.sign_typed(claims, alg, "JWT")
    }

    /// [`Self::sign`] with another `typ` (a Security Event Token's is `secevent+jwt`, RFC
    /// 8417 §2.3, so that it is never taken for an ID token).
    pub(crate) fn sign_typed(&self, claims: &Value, alg: Algorithm, typ: &str) -> Result<String, OAuthError> {
        let (name, padding): (&str, &'static dyn aws_lc_rs::signature::RsaEncoding) = match alg {
            Algorithm::RS256 => ("RS256", &aws_lc_rs::signature::RSA_PKCS1_SHA256),
            Algorithm::PS256 => ("PS256", &aws_lc_rs::signature::RSA_PSS_SHA256),
            _ => return Err(OAuthError::unavailable()),
        };
        let b64 = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
        let input = format!(
            "{}.{}",
            b64(&json!({ "alg": name, "typ": typ, "kid": self.kid })),
            b64(claims)
        );
        let mut signature = vec![0; self.pair.public_modulus_len()];
        self.pair
            .sign(
                padding,
                &aws_lc_rs::rand::SystemRandom::new(),
                input.as_bytes(),
                &mut signature,
            )
            .map_err(|_| OAuthError::unavailable())?;
        Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature)))
    }

    /// The public half, for the JWKS.
    fn public_jwk(&self) -> Option<Value> {
        let pkcs8 = Zeroizing::new(self.pair.as_der().ok()?.as_ref().to_vec());
        // `jsonwebtoken` takes the PKCS#1 `RSAPrivateKey` inside the PKCS#8.
        let info = pkcs8::PrivateKeyInfoRef::try_from(pkcs8.as_slice()).ok()?;
        let key = EncodingKey::from_rsa_der(info.private_key.as_bytes());
        let mut jwk = Jwk::from_encoding_key(&key, Algorithm::RS256).ok()?;
        jwk.common.key_id = Some(self.kid.clone());
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        // No `alg`: the key signs RS256 for OpenID Connect clients and PS256 for FAPI 2.0
        // clients (RFC 7517 makes the member optional; the ID token's header names the alg).
        jwk.common.key_algorithm = None;
        serde_json::to_value(jwk).ok()
    }
}

impl Provider {
    fn open_key(&self, row: &KeyRow) -> Option<SigningKey> {
        if let Some(k) = self.key_cache.0.lock().ok()?.get(&row.kid) {
            return Some(k.clone());
        }
        let pkcs8 = Zeroizing::new(self.key.open(&aad(&row.kid), &row.private_key)?);
        let key = SigningKey::from_pkcs8(row.kid.clone(), &pkcs8)?;
        if let Ok(mut cache) = self.key_cache.0.lock() {
            // Only the keys still in the table are kept (a pruned key goes with the next one).
            if cache.len() > 8 {
                cache.clear();
            }
            cache.insert(row.kid.clone(), key.clone());
        }
        Some(key)
    }

    /// How long before it starts signing a new key is published (a quarter of the rotation
    /// age, at most a day), so that relying parties that cache the JWKS already have it.
    fn prepublish(&self) -> i64 {
        (self.settings.signing_key_rotation_secs as i64 / 4).min(86_400)
    }

    /// When a key starts signing: the first at once, each successor after its pre-publication.
    fn activates_at(&self, k: &KeyRow) -> i64 {
        if k.predecessor.is_empty() {
            k.created_at
        } else {
            k.created_at + self.prepublish()
        }
    }

    /// Makes sure the keys are as they should be at `now`: a first key, and a successor once
    /// the signing key is within `prepublish` of its rotation age. Two instances rotating at
    /// once: one successor wins (the predecessor is unique), both use it. Returns the keys.
    async fn keys_at(&self, now: i64) -> Result<Vec<KeyRow>, OAuthError> {
        let age = self.settings.signing_key_rotation_secs as i64;
        for _ in 0..3 {
            let keys = self.store.keys().await?;
            let newest = keys.iter().find(|k| !keys.iter().any(|o| o.predecessor == k.kid));
            let due = match newest {
                None => true,
                Some(k) => {
                    let start = self.activates_at(k);
                    now >= start + age - self.prepublish() || self.open_key(k).is_none()
                }
            };
            if !due {
                return Ok(keys);
            }
            let predecessor = newest.map(|k| k.kid.clone()).unwrap_or_default();
            let (row, key) = tokio::task::spawn_blocking(move || new_key(predecessor, now))
                .await
                .map_err(|_| OAuthError::unavailable())?
                .ok_or_else(OAuthError::unavailable)?;
            let sealed = KeyRow {
                private_key: self.key.seal(&aad(&row.kid), &row.private_key),
                ..row
            };
            if self.store.add_key(&sealed).await? {
                tracing::info!(kid = %key.kid, "new OpenID Connect signing key");
                self.prune_keys(now).await?;
            }
            // Added, or another instance rotated first: look again.
        }
        Err(OAuthError::unavailable())
    }

    /// The key to sign with now: the newest key that has started signing. A key that cannot
    /// be opened (the result key changed) is passed over for the newest one that can.
    pub(crate) async fn signing_key(&self, now: i64) -> Result<SigningKey, OAuthError> {
        let mut keys = self.keys_at(now).await?;
        keys.sort_by_key(|k| std::cmp::Reverse((k.created_at, k.kid.clone())));
        let active = keys
            .iter()
            .filter(|k| self.activates_at(k) <= now)
            .find_map(|k| self.open_key(k));
        match active {
            Some(k) => Ok(k),
            None => keys
                .iter()
                .find_map(|k| self.open_key(k))
                .ok_or_else(OAuthError::unavailable),
        }
    }

    /// Whether a key is there to sign ID tokens now (the first one is made and stored when
    /// there is none): the readiness check of `/readyz`.
    pub async fn signing_key_ready(&self) -> bool {
        self.signing_key(self.now()).await.is_ok()
    }

    /// How long a key stays published after it stopped signing.
    fn grace(&self) -> i64 {
        self.max_id_token_ttl as i64 + 120
    }

    /// Deletes the keys whose successor started signing longer ago than any token lives.
    async fn prune_keys(&self, now: i64) -> Result<(), OAuthError> {
        let keys = self.store.keys().await?;
        for k in &keys {
            let retired = keys
                .iter()
                .find(|o| o.predecessor == k.kid)
                .is_some_and(|s| now >= self.activates_at(s) + self.grace());
            if retired {
                self.store.delete_key(&k.kid).await?;
            }
        }
        Ok(())
    }

    /// The JWKS: the signing key, its pre-published successor, and retired keys whose
    /// tokens may still be alive.
    pub(crate) async fn jwks(&self, now: i64) -> Result<Value, OAuthError> {
        let keys = self.keys_at(now).await?;
        let grace = self.grace();
        let published: Vec<Value> = keys
            .iter()
            .filter(|k| match keys.iter().find(|o| o.predecessor == k.kid) {
                // Retired when its successor started signing.
                Some(s) => now < self.activates_at(s) + grace,
                None => true,
            })
            .filter_map(|k| serde_json::from_str::<Value>(&k.public_jwk).ok())
            // Keys stored before FAPI 2.0 support named RS256; they sign PS256 too now.
            .map(|mut jwk| {
                if let Some(map) = jwk.as_object_mut() {
                    map.remove("alg");
                }
                jwk
            })
            .collect();
        Ok(json!({ "keys": published }))
    }
}

/// A fresh RSA 2048 key (slow: run it off the async threads).
fn new_key(predecessor: String, now: i64) -> Option<(KeyRow, SigningKey)> {
    let pair = RsaKeyPair::generate(KeySize::Rsa2048).ok()?;
    let pkcs8 = pair.as_der().ok()?;
    let kid = token::<12>();
    let key = SigningKey::from_pkcs8(kid.clone(), pkcs8.as_ref())?;
    let row = KeyRow {
        kid,
        predecessor,
        alg: ALG.into(),
        public_jwk: key.public_jwk()?.to_string(),
        private_key: pkcs8.as_ref().to_vec(),
        created_at: now,
    };
    Some((row, key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_key_signs_rs256_and_ps256_and_publishes_its_public_half() {
        let (row, key) = new_key(String::new(), 0).expect("a key");
        let claims = json!({ "sub": "x" });
        for alg in [Algorithm::RS256, Algorithm::PS256] {
            let jwt = key.sign(&claims, alg).expect("signed");
            let jwk: Jwk = serde_json::from_str(&row.public_jwk).unwrap();
            let mut v = jsonwebtoken::Validation::new(alg);
            v.required_spec_claims.clear();
            v.validate_exp = false;
            let decoded = jsonwebtoken::decode::<Value>(&jwt, &jsonwebtoken::DecodingKey::from_jwk(&jwk).unwrap(), &v);
            assert_eq!(decoded.expect("verifies").claims, claims);
        }
        assert!(
            SigningKey::from_pkcs8("k".into(), &row.private_key).is_some(),
            "the stored form opens"
        );
    }
}
