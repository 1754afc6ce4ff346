//! Client authentication at the token endpoint: `client_secret_basic` and
//! `client_secret_post` (RFC 6749 §2.3.1), and `private_key_jwt` (RFC 7523 / OIDC Core §9):
//! a JWT signed with a key from the client's JWKS, `iss` = `sub` = client_id, `aud` the
//! issuer (or the token endpoint URL, which many libraries send), an `exp` at most
//! `max_assertion_lifetime_secs` ahead, and a `jti` that is accepted once (remembered until
//! its `exp`). A client uses exactly the method it is registered with.

use axum::http::{HeaderMap, header};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::Value;

use mynaid_sessions::secrets::{hash, same};
use mynaid_web::Form;

use super::config::{AuthMethod, Client, ClientProfile};
use super::{OAuthError, Provider};

/// The assertion type of RFC 7523.
pub(super) const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// Signature algorithms accepted for client assertions.
pub(super) const ASSERTION_ALGS: [Algorithm; 3] = [Algorithm::RS256, Algorithm::PS256, Algorithm::ES256];
/// Clock skew allowed.
const LEEWAY: i64 = 30;

#[derive(Deserialize)]
struct Assertion {
    iss: Option<String>,
    sub: Option<String>,
    aud: Option<Value>,
    exp: Option<i64>,
    nbf: Option<i64>,
    iat: Option<i64>,
    jti: Option<String>,
}

fn percent_decode(s: &str) -> Option<String> {
    // RFC 6749 §2.3.1: client id and secret are form-urlencoded before Basic.
    Form::parse(format!("x={s}").as_bytes())
        .ok()?
        .get("x")
        .map(str::to_string)
}

fn basic(headers: &HeaderMap) -> Option<Result<(String, String), ()>> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = v.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let parsed = (|| {
        let text = String::from_utf8(STANDARD.decode(rest.trim()).ok()?).ok()?;
        let (id, secret) = text.split_once(':')?;
        Some((percent_decode(id)?, percent_decode(secret)?))
    })();
    Some(parsed.ok_or(()))
}

/// Authenticates the client of a token request.
pub(super) async fn authenticate<'a>(
    be: &'a Provider,
    headers: &HeaderMap,
    params: &Form,
    now: i64,
) -> Result<&'a Client, OAuthError> {
    let assertion = params.get("client_assertion");
    let posted = params.get("client_secret");
    match (basic(headers), assertion) {
        (Some(_), Some(_)) => Err(OAuthError::new(
            "invalid_request",
            "use exactly one client authentication method",
        )),
        (Some(_), None) | (None, Some(_)) if posted.is_some() => Err(OAuthError::new(
            "invalid_request",
            "use exactly one client authentication method",
        )),
        (None, None) if posted.is_some() => {
            let secret = posted.unwrap_or_default();
            let id = params
                .get("client_id")
                .ok_or_else(|| OAuthError::invalid_client("client_id is required with client_secret", false))?;
            let client = be
                .client(id)
                .filter(|c| c.config.auth_method == AuthMethod::ClientSecretPost)
                .ok_or_else(|| OAuthError::invalid_client("client authentication failed", false))?;
            secret_matches(client, secret)
                .then_some(client)
                .ok_or_else(|| OAuthError::invalid_client("client authentication failed", false))
        }
        (Some(Err(())), None) => Err(OAuthError::invalid_client("malformed Basic credentials", true)),
        (Some(Ok((id, secret))), None) => {
            let client = be
                .client(&id)
                .filter(|c| c.config.auth_method == AuthMethod::ClientSecretBasic)
                .ok_or_else(|| OAuthError::invalid_client("client authentication failed", true))?;
            if params.get("client_id").is_some_and(|p| p != id) {
                return Err(OAuthError::invalid_client("client authentication failed", true));
            }
            if !secret_matches(client, &secret) {
                return Err(OAuthError::invalid_client("client authentication failed", true));
            }
            Ok(client)
        }
        (None, Some(jwt)) => {
            if params.get("client_assertion_type") != Some(JWT_BEARER) {
                return Err(OAuthError::new(
                    "invalid_request",
                    "client_assertion_type must be jwt-bearer",
                ));
            }
            private_key_jwt(be, jwt, params.get("client_id"), now).await
        }
        (None, None) => Err(OAuthError::invalid_client("client authentication is required", false)),
    }
}

/// The client's registered secret, compared in constant time (as hashes: equal length).
fn secret_matches(client: &Client, secret: &str) -> bool {
    let expected = client.config.client_secret.as_deref().unwrap_or_default();
    !expected.is_empty() && same(&hash(expected), &hash(secret))
}

async fn private_key_jwt<'a>(
    be: &'a Provider,
    jwt: &str,
    client_id: Option<&str>,
    now: i64,
) -> Result<&'a Client, OAuthError> {
    let refused = |why: &'static str| OAuthError::invalid_client(why, false);
    let header = jsonwebtoken::decode_header(jwt).map_err(|_| refused("the client assertion is not a JWT"))?;
    if !ASSERTION_ALGS.contains(&header.alg) {
        return Err(refused("client assertion algorithm not accepted"));
    }
    // The issuer names the client, so read it before checking whose key signed.
    let claimed: Assertion = jwt
        .split('.')
        .nth(1)
        .and_then(|p| URL_SAFE_NO_PAD.decode(p).ok())
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| refused("the client assertion is not a JWT"))?;
    let iss = claimed.iss.ok_or_else(|| refused("the client assertion has no iss"))?;
    let client = be
        .client(&iss)
        .filter(|c| c.config.auth_method == AuthMethod::PrivateKeyJwt)
        .ok_or_else(|| refused("client authentication failed"))?;
    if client_id.is_some_and(|c| c != iss) {
        return Err(refused("client_id and the assertion's iss differ"));
    }
    // FAPI 2.0: PS256, ES256 (or EdDSA) only.
    if client.config.profile == ClientProfile::Fapi2 && header.alg == Algorithm::RS256 {
        return Err(refused("this client's assertions must be signed PS256 or ES256"));
    }
    let jwks = client
        .jwks
        .as_ref()
        .ok_or_else(|| refused("client authentication failed"))?;
    let mut validation = Validation::new(header.alg);
    // Times are checked below against the server's clock; audience too.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let candidates = jwks.keys.iter().filter(|k| match (&header.kid, &k.common.key_id) {
        (Some(want), Some(have)) => want == have,
        (Some(_), None) => true,
        (None, _) => true,
    });
    let mut verified = None;
    for k in candidates {
        let Ok(key) = DecodingKey::from_jwk(k) else { continue };
        if let Ok(data) = jsonwebtoken::decode::<Assertion>(jwt, &key, &validation) {
            verified = Some(data.claims);
            break;
        }
    }
    let a =
        verified.ok_or_else(|| refused("the client assertion's signature does not verify with the client's keys"))?;
    if a.iss.as_deref() != Some(iss.as_str()) || a.sub.as_deref() != Some(iss.as_str()) {
        return Err(refused("the client assertion's iss and sub must be the client_id"));
    }
    // The issuer (RFC 7523bis, FAPI 2.0), or the endpoint it is sent to (token or PAR), as
    // many libraries still send.
    let token_url = be.endpoint("/oidc/token");
    let par_url = be.endpoint("/oidc/par");
    let ok = |s: &str| s == token_url || s == par_url || s == be.issuer();
    let aud_ok = match &a.aud {
        Some(Value::String(s)) => ok(s),
        Some(Value::Array(v)) => v.iter().any(|s| s.as_str().is_some_and(ok)),
        _ => false,
    };
    if !aud_ok {
        return Err(refused(
            "the client assertion's aud must be the token endpoint or the issuer",
        ));
    }
    let exp = a.exp.ok_or_else(|| refused("the client assertion has no exp"))?;
    if exp + LEEWAY < now {
        return Err(refused("the client assertion has expired"));
    }
    if exp > now + be.settings.max_assertion_lifetime_secs as i64 {
        return Err(refused(
            "the client assertion lives too long (its exp is further ahead than max_assertion_lifetime_secs)",
        ));
    }
    if a.nbf.is_some_and(|n| n > now + LEEWAY) || a.iat.is_some_and(|i| i > now + LEEWAY) {
        return Err(refused("the client assertion is not valid yet"));
    }
    let jti = a
        .jti
        .filter(|j| !j.is_empty() && j.len() <= 256)
        .ok_or_else(|| refused("the client assertion has no jti"))?;
    if !be
        .store
        .use_jti(&client.config.client_id, &jti, exp + LEEWAY, now)
        .await?
    {
        return Err(refused("the client assertion was used before (jti)"));
    }
    Ok(client)
}
