//! Discovery, JWKS, the token endpoint and UserInfo.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;

use mynaid_protocol::{ACR_JPKI_SIGNATURE, ACR_JPKI_USER_AUTHENTICATION};
use mynaid_sessions::secrets::{hash, same, sha256, token as random_token};
use mynaid_web::Form;

use super::client_auth::{self, ASSERTION_ALGS};
use super::config::CLAIM_SCOPES;
use super::{ALG, Grant, OAuthError, Oidc, no_store, s256};

pub(super) async fn discovery(State(o): State<Oidc>) -> Response {
    let be = &o;
    let algs: Vec<String> = ASSERTION_ALGS.iter().map(|a| format!("{a:?}")).collect();
    let mut scopes = vec!["openid"];
    scopes.extend(CLAIM_SCOPES);
    let body = json!({
        "issuer": be.issuer(),
        "authorization_endpoint": be.endpoint("/oidc/authorize"),
        "token_endpoint": be.endpoint("/oidc/token"),
        "userinfo_endpoint": be.endpoint("/oidc/userinfo"),
        "jwks_uri": be.endpoint("/oidc/jwks"),
        "scopes_supported": scopes,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": [ALG],
        "token_endpoint_auth_methods_supported": ["private_key_jwt", "client_secret_basic", "client_secret_post"],
        "token_endpoint_auth_signing_alg_values_supported": algs,
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "acr", "amr", "nonce", "name", "address", "birthdate", "gender", "verified_claims"],
        "claims_parameter_supported": true,
        "acr_values_supported": [ACR_JPKI_SIGNATURE, ACR_JPKI_USER_AUTHENTICATION],
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "authorization_response_iss_parameter_supported": true,
        "ui_locales_supported": ["ja", "en"],
        "verified_claims_supported": true,
        "trust_frameworks_supported": [be.settings.trust_framework.as_str(), crate::claims::USER_AUTHENTICATION_FRAMEWORK],
        "evidence_supported": ["electronic_signature", "electronic_record"],
        "claims_in_verified_claims_supported": CLAIM_SCOPES,
    });
    ([(header::CACHE_CONTROL, "public, max-age=300")], Json(body)).into_response()
}

pub(super) async fn jwks(State(o): State<Oidc>) -> Response {
    match o.jwks(o.now()).await {
        // Short caching: clients see a new key soon after a rotation.
        Ok(v) => ([(header::CACHE_CONTROL, "public, max-age=60")], Json(v)).into_response(),
        Err(e) => e.into_response(),
    }
}

fn pkce_ok(verifier: &str, challenge: &str) -> bool {
    // RFC 7636 §4.1: 43-128 unreserved characters.
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    well_formed && same(s256(verifier).as_bytes(), challenge.as_bytes())
}

pub(super) async fn token(State(o): State<Oidc>, headers: HeaderMap, body: Bytes) -> Response {
    match exchange(&o, &headers, &body).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn exchange(o: &Oidc, headers: &HeaderMap, body: &[u8]) -> Result<Response, OAuthError> {
    let form_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !form_type {
        return Err(OAuthError::new(
            "invalid_request",
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    let params = Form::parse(body).map_err(|_| OAuthError::new("invalid_request", "a parameter is given twice"))?;
    let now = o.now();
    let client = client_auth::authenticate(o, headers, &params, now).await?;
    if params.get("grant_type") != Some("authorization_code") {
        return Err(OAuthError::new(
            "unsupported_grant_type",
            "only authorization_code is supported",
        ));
    }
    let (Some(code), Some(redirect_uri)) = (params.get("code"), params.get("redirect_uri")) else {
        return Err(OAuthError::new("invalid_request", "code and redirect_uri are required"));
    };
    let verifier = params.get("code_verifier");
    let code_hash = hash(code);
    let invalid = || OAuthError::new("invalid_grant", "the code is invalid, expired or used");
    let Some(taken) = o.store.take_code(&code_hash, now).await? else {
        // Used before (or never issued): whatever the first exchange got stops working.
        if o.store.mark_replayed(&code_hash).await? {
            tracing::warn!(client = %client.config.client_id, "authorization code replayed; its tokens are revoked");
        }
        return Err(invalid());
    };
    // The sealed grant leaves the code's row now: a used code keeps no personal data.
    o.store.clear_code_grant(&code_hash).await?;
    let grant = o.open_grant("code", &code_hash, &taken.grant).ok_or_else(invalid)?;
    if taken.client_id != client.config.client_id || grant.client_id != client.config.client_id {
        return Err(invalid());
    }
    if taken.expires_at < now {
        return Err(invalid());
    }
    if grant.redirect_uri != redirect_uri {
        return Err(OAuthError::new(
            "invalid_grant",
            "redirect_uri differs from the authorization request",
        ));
    }
    // With a challenge the verifier must match; without one, a verifier means the client
    // and this server disagree about the request: refused too (OAuth 2.1 §4.1.3).
    match (&grant.code_challenge, verifier) {
        (Some(challenge), Some(v)) if pkce_ok(v, challenge) => {}
        (None, None) => {}
        (Some(_), None) => return Err(OAuthError::new("invalid_grant", "code_verifier is required (PKCE)")),
        _ => {
            return Err(OAuthError::new(
                "invalid_grant",
                "the PKCE code_verifier does not match",
            ));
        }
    }
    let access_token = random_token::<32>();
    let token_hash = hash(&access_token);
    let access_ttl = client.config.access_token_ttl_secs as i64;
    let sealed = o.seal_grant("token", &token_hash, &grant)?;
    o.store
        .add_token(
            &token_hash,
            &code_hash,
            &client.config.client_id,
            &sealed,
            now,
            now + access_ttl,
        )
        .await?;
    let at_hash = URL_SAFE_NO_PAD.encode(&sha256(access_token.as_bytes())[..16]);
    let claims = id_token_claims(o, &grant, now, client.config.id_token_ttl_secs as i64, &at_hash);
    let key = o.signing_key(now).await?;
    let id_token = key.sign(&claims)?;
    tracing::info!(client = %client.config.client_id, kid = %key.kid, "tokens issued");
    let body = json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": access_ttl,
        "id_token": id_token,
        "scope": grant.scopes.join(" "),
    });
    Ok((StatusCode::OK, no_store(), Json(body)).into_response())
}

/// The ID token: who (pairwise `sub`), for whom, when, what the result proves (`acr`, `amr`),
/// the nonce. No card-face claims: they are in UserInfo, for the granted scopes only.
fn id_token_claims(o: &Oidc, g: &Grant, now: i64, ttl: i64, at_hash: &str) -> serde_json::Value {
    let mut claims = json!({
        "iss": o.issuer(),
        "sub": g.sub,
        "aud": g.client_id,
        "exp": now + ttl,
        "iat": now,
        "auth_time": g.auth_time,
        "acr": g.acr,
        "amr": g.amr,
        "at_hash": at_hash,
    });
    // Only a request's own nonce goes back (Core §2: absent when the request had none).
    if let (Some(nonce), Some(map)) = (&g.nonce, claims.as_object_mut()) {
        map.insert("nonce".into(), nonce.clone().into());
    }
    claims
}

fn bearer_error(status: StatusCode, error: &'static str, description: &'static str) -> Response {
    let mut resp = (
        status,
        no_store(),
        Json(json!({ "error": error, "error_description": description })),
    )
        .into_response();
    let challenge = format!("Bearer realm=\"mynaid\", error=\"{error}\"");
    if let Ok(v) = HeaderValue::from_str(&challenge) {
        resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    resp
}

/// UserInfo by GET or POST, the access token in the `Authorization` header (RFC 6750 §2.1) or,
/// for a POST, in the form body (§2.2) — one of them, never both (§2).
pub(super) async fn userinfo(State(o): State<Oidc>, headers: HeaderMap, body: Bytes) -> Response {
    let in_header = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim().to_string());
    let form_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let in_body = if form_type && !body.is_empty() {
        match Form::parse(&body) {
            Ok(f) => f.get("access_token").map(str::to_string),
            Err(_) => return bearer_error(StatusCode::BAD_REQUEST, "invalid_request", "a parameter is given twice"),
        }
    } else {
        None
    };
    let token = match (in_header, in_body) {
        (Some(_), Some(_)) => {
            return bearer_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "send the access token in one place only",
            );
        }
        (Some(t), None) | (None, Some(t)) => Some(t),
        (None, None) => None,
    }
    .filter(|t| !t.is_empty() && t.len() <= 256);
    let Some(token) = token.as_deref() else {
        let mut resp = (StatusCode::UNAUTHORIZED, no_store()).into_response();
        resp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"mynaid\""),
        );
        return resp;
    };
    let token_hash = hash(token);
    let row = match o.store.token(&token_hash, o.now()).await {
        Ok(r) => r,
        Err(e) => return OAuthError::from(e).into_response(),
    };
    let Some(row) = row else {
        return bearer_error(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "the access token is invalid, expired or revoked",
        );
    };
    let Some(grant) = o.open_grant("token", &token_hash, &row.grant) else {
        return bearer_error(StatusCode::UNAUTHORIZED, "invalid_token", "the access token is invalid");
    };
    (StatusCode::OK, no_store(), Json(grant.userinfo)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_s256() {
        // RFC 7636 appendix B.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert!(pkce_ok(verifier, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"));
        assert!(!pkce_ok(verifier, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cN"));
        assert!(!pkce_ok("short", &s256("short")));
    }
}
