//! DPoP proofs (RFC 9449): a JWT the client signs with its own key for each request, so that
//! an access token bound to that key (`cnf.jkt`, here kept in the sealed grant) is useless to
//! whoever steals it. Checked: `typ` `dpop+jwt`, `alg` ES256 or PS256 (FAPI 2.0), a public
//! `jwk` in the header that verifies the signature, `htm` and `htu` of this request, `iat`
//! within a minute, `ath` (the access token's hash) at resource requests, and a `jti` not
//! seen before (kept for the window, in the same table as client-assertion ids).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::{Value, json};

use mynaid_sessions::secrets::sha256;

use super::Provider;

/// Algorithms accepted for proofs (FAPI 2.0: PS256, ES256).
pub(super) const DPOP_ALGS: [Algorithm; 2] = [Algorithm::ES256, Algorithm::PS256];
/// How far a proof's `iat` may be from now (seconds).
const WINDOW: i64 = 60;

#[derive(Deserialize)]
struct Claims {
    jti: Option<String>,
    htm: Option<String>,
    htu: Option<String>,
    iat: Option<i64>,
    ath: Option<String>,
}

/// Why a proof was refused (the `error_description`; `invalid_dpop_proof` is the error).
pub(super) type Refusal = &'static str;

/// The RFC 7638 thumbprint of a public JWK (EC or RSA), base64url: the key's name in
/// `cnf.jkt`.
fn thumbprint(jwk: &Value) -> Option<String> {
    let s = |k: &str| jwk[k].as_str();
    // Members in lexicographic order, no whitespace (RFC 7638 §3.2).
    let canonical = match s("kty")? {
        "EC" => json!({ "crv": s("crv")?, "kty": "EC", "x": s("x")?, "y": s("y")? }),
        "RSA" => json!({ "e": s("e")?, "kty": "RSA", "n": s("n")? }),
        _ => return None,
    };
    Some(URL_SAFE_NO_PAD.encode(sha256(canonical.to_string().as_bytes())))
}

/// Checks the `DPoP` header `proof` of a request `method` `url` (with `access_token` at a
/// resource): the thumbprint of the key that made it.
pub(super) async fn verify(
    be: &Provider,
    proof: &str,
    method: &str,
    url: &str,
    access_token: Option<&str>,
    now: i64,
) -> Result<String, Refusal> {
    let header_json: Value = proof
        .split('.')
        .next()
        .and_then(|h| URL_SAFE_NO_PAD.decode(h).ok())
        .and_then(|h| serde_json::from_slice(&h).ok())
        .ok_or("the DPoP proof is not a JWT")?;
    if header_json["typ"] != "dpop+jwt" {
        return Err("the DPoP proof's typ must be dpop+jwt");
    }
    let jwk_json = &header_json["jwk"];
    // A private key in the header would be the client's mistake, and an attacker's gift.
    if jwk_json.get("d").is_some() || jwk_json.get("p").is_some() {
        return Err("the DPoP proof's jwk must be a public key");
    }
    let header = jsonwebtoken::decode_header(proof).map_err(|_| "the DPoP proof is not a JWT")?;
    if !DPOP_ALGS.contains(&header.alg) {
        return Err("the DPoP proof's alg must be ES256 or PS256");
    }
    let jwk: Jwk = serde_json::from_value(jwk_json.clone()).map_err(|_| "the DPoP proof has no usable jwk")?;
    let key = DecodingKey::from_jwk(&jwk).map_err(|_| "the DPoP proof has no usable jwk")?;
    let mut validation = Validation::new(header.alg);
    validation.validate_exp = false;
    validation.required_spec_claims.clear();
    let claims = jsonwebtoken::decode::<Claims>(proof, &key, &validation)
        .map_err(|_| "the DPoP proof's signature does not verify")?
        .claims;
    if claims.htm.as_deref() != Some(method) {
        return Err("the DPoP proof is for another method (htm)");
    }
    // RFC 9449 §4.3: htu without query and fragment.
    let htu = claims.htu.as_deref().unwrap_or_default();
    if htu.split(['?', '#']).next() != Some(url) {
        return Err("the DPoP proof is for another URL (htu)");
    }
    let iat = claims.iat.ok_or("the DPoP proof has no iat")?;
    if (iat - now).abs() > WINDOW {
        return Err("the DPoP proof is too old or from the future (iat)");
    }
    if let Some(token) = access_token {
        let expected = URL_SAFE_NO_PAD.encode(sha256(token.as_bytes()));
        if claims.ath.as_deref() != Some(expected.as_str()) {
            return Err("the DPoP proof is for another access token (ath)");
        }
    }
    let jkt = thumbprint(jwk_json).ok_or("the DPoP proof's jwk is not an EC or RSA key")?;
    let jti = claims
        .jti
        .filter(|j| !j.is_empty() && j.len() <= 256)
        .ok_or("the DPoP proof has no jti")?;
    // Once per key and jti, across instances, for as long as the proof could be accepted.
    if !be
        .store
        .use_jti(&format!("dpop:{jkt}"), &jti, iat + WINDOW, now)
        .await
        .map_err(|_| "the DPoP proof could not be checked")?
    {
        return Err("the DPoP proof was used before (jti)");
    }
    Ok(jkt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbprint_of_rfc7638_example() {
        // RFC 7638 §3.1.
        let jwk = json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        });
        assert_eq!(
            thumbprint(&jwk).as_deref(),
            Some("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")
        );
        assert_eq!(thumbprint(&json!({"kty": "oct", "k": "x"})), None);
    }
}
