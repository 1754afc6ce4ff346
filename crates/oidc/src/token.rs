//! Discovery, JWKS, the token endpoint and UserInfo.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;

use mynaid_protocol::{ACR_JPKI_SIGNATURE, ACR_JPKI_USER_AUTHENTICATION};
use mynaid_sessions::secrets::{hash, same, sha256, token as random_token};
use mynaid_web::Form;

use super::authorize::{self, PAR_CONTEXT, PAR_URN, Pushed};
use super::client_auth::{self, ASSERTION_ALGS};
use super::config::{CLAIM_SCOPES, ClientProfile};
use super::dpop::{self, DPOP_ALGS};
use super::{Grant, OAuthError, Oidc, no_store, s256};

pub(super) async fn discovery(State(o): State<Oidc>) -> Response {
    let be = &o;
    let algs: Vec<String> = ASSERTION_ALGS.iter().map(|a| format!("{a:?}")).collect();
    let dpop_algs: Vec<String> = DPOP_ALGS.iter().map(|a| format!("{a:?}")).collect();
    let mut scopes = vec!["openid"];
    scopes.extend(CLAIM_SCOPES);
    scopes.push(crate::SSF_SCOPE);
    let body = json!({
        "issuer": be.issuer(),
        "authorization_endpoint": be.endpoint("/oidc/authorize"),
        "token_endpoint": be.endpoint("/oidc/token"),
        "userinfo_endpoint": be.endpoint("/oidc/userinfo"),
        "jwks_uri": be.endpoint("/oidc/jwks"),
        "scopes_supported": scopes,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "client_credentials"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256", "PS256"],
        "pushed_authorization_request_endpoint": be.endpoint("/oidc/par"),
        "require_pushed_authorization_requests": false,
        "dpop_signing_alg_values_supported": dpop_algs,
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

/// The form of a client's request to the token or PAR endpoint, and the client it
/// authenticated (RFC 6749 §2.3: one method, the registered one); with the time.
async fn authenticated_form<'a>(
    o: &'a Oidc,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(Form, &'a super::config::Client, i64), OAuthError> {
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
    Ok((params, client, now))
}

async fn exchange(o: &Oidc, headers: &HeaderMap, body: &[u8]) -> Result<Response, OAuthError> {
    let (params, client, now) = authenticated_form(o, headers, body).await?;
    // The key the tokens will be bound to, checked before the code is taken (a bad proof
    // does not use it up). A FAPI 2.0 client's tokens are always bound.
    let dpop_jkt = match headers.get("dpop").map(|v| v.to_str()) {
        Some(Ok(proof)) => Some(
            dpop::verify(o, proof, "POST", &o.endpoint("/oidc/token"), None, now)
                .await
                .map_err(|why| OAuthError::new("invalid_dpop_proof", why))?,
        ),
        Some(Err(_)) => return Err(OAuthError::new("invalid_dpop_proof", "the DPoP header is not text")),
        None if client.config.profile == ClientProfile::Fapi2 => {
            return Err(OAuthError::new(
                "invalid_dpop_proof",
                "this client's tokens must be bound with DPoP",
            ));
        }
        None => None,
    };
    match params.get("grant_type") {
        Some("authorization_code") => {}
        Some("client_credentials") => return client_credentials(o, client, &params, dpop_jkt, now).await,
        _ => {
            return Err(OAuthError::new(
                "unsupported_grant_type",
                "authorization_code, or client_credentials for the event stream (scope ssf)",
            ));
        }
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
    let mut grant = o.open_grant("code", &code_hash, &taken.grant).ok_or_else(invalid)?;
    grant.dpop_jkt = dpop_jkt;
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
    // FAPI 2.0 allows PS256, ES256 and EdDSA only; Core's default is RS256.
    let alg = match client.config.profile {
        ClientProfile::Fapi2 => jsonwebtoken::Algorithm::PS256,
        ClientProfile::Oidc => jsonwebtoken::Algorithm::RS256,
    };
    let id_token = key.sign(&claims, alg)?;
    tracing::info!(client = %client.config.client_id, kid = %key.kid, "tokens issued");
    let body = json!({
        "access_token": access_token,
        "token_type": if grant.dpop_jkt.is_some() { "DPoP" } else { "Bearer" },
        "expires_in": access_ttl,
        "id_token": id_token,
        "scope": grant.scopes.join(" "),
    });
    Ok((StatusCode::OK, no_store(), Json(body)).into_response())
}

/// The client-credentials grant (RFC 6749 §4.4), for one thing only: a token of scope
/// [`crate::SSF_SCOPE`] with which the client manages its event stream and polls it
/// (`mynaid-signals`). It names no person and opens no UserInfo.
async fn client_credentials(
    o: &Oidc,
    client: &super::config::Client,
    params: &Form,
    dpop_jkt: Option<String>,
    now: i64,
) -> Result<Response, OAuthError> {
    let scopes: Vec<&str> = params
        .get("scope")
        .unwrap_or_default()
        .split(' ')
        .filter(|s| !s.is_empty())
        .collect();
    if scopes != [crate::SSF_SCOPE] {
        return Err(OAuthError::new(
            "invalid_scope",
            "the client_credentials grant gives the scope ssf only",
        ));
    }
    let grant = Grant {
        client_id: client.config.client_id.clone(),
        redirect_uri: String::new(),
        code_challenge: None,
        nonce: None,
        scopes: vec![crate::SSF_SCOPE.to_string()],
        sub: String::new(),
        auth_time: now,
        acr: String::new(),
        amr: Vec::new(),
        userinfo: serde_json::Value::Null,
        dpop_jkt,
    };
    let access_token = random_token::<32>();
    let token_hash = hash(&access_token);
    let access_ttl = client.config.access_token_ttl_secs as i64;
    let sealed = o.seal_grant("token", &token_hash, &grant)?;
    o.store
        .add_client_token(&token_hash, &client.config.client_id, &sealed, now, now + access_ttl)
        .await?;
    tracing::info!(client = %client.config.client_id, "event-stream token issued");
    let body = json!({
        "access_token": access_token,
        "token_type": if grant.dpop_jkt.is_some() { "DPoP" } else { "Bearer" },
        "expires_in": access_ttl,
        "scope": crate::SSF_SCOPE,
    });
    Ok((StatusCode::OK, no_store(), Json(body)).into_response())
}

/// How long a pushed request's `request_uri` works (FAPI 2.0: under 600 s).
const PAR_TTL: i64 = 90;

/// `POST /oidc/par` (RFC 9126): the client pushes its authorization request, authenticated,
/// and gets a single-use `request_uri` for the browser. Validated exactly as at the
/// authorization endpoint; refusals come back here as JSON.
pub(super) async fn par(State(o): State<Oidc>, headers: HeaderMap, body: Bytes) -> Response {
    match push(&o, &headers, &body).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn push(o: &Oidc, headers: &HeaderMap, body: &[u8]) -> Result<Response, OAuthError> {
    let (params, client, now) = authenticated_form(o, headers, body).await?;
    if params.has("request_uri") {
        return Err(OAuthError::new(
            "invalid_request",
            "request_uri is not allowed in a pushed request",
        ));
    }
    let Some(redirect_uri) = params
        .get("redirect_uri")
        .filter(|r| client.config.redirect_uris.iter().any(|u| u == r))
    else {
        return Err(OAuthError::new(
            "invalid_request",
            "redirect_uri is missing or not registered for this client",
        ));
    };
    let auth = authorize::validate(client, &params, false, redirect_uri)
        .map_err(|r| OAuthError::new(r.error, r.description))?;
    let pushed = Pushed {
        id: random_token::<16>(),
        client_id: client.config.client_id.clone(),
        params: auth,
        expires_at: now + PAR_TTL,
    };
    let sealed = o.seal(PAR_CONTEXT, &pushed).ok_or_else(OAuthError::unavailable)?;
    let body = json!({
        "request_uri": format!("{PAR_URN}{}", URL_SAFE_NO_PAD.encode(sealed)),
        "expires_in": PAR_TTL,
    });
    Ok((StatusCode::CREATED, no_store(), Json(body)).into_response())
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
pub(super) async fn userinfo(State(o): State<Oidc>, method: Method, headers: HeaderMap, body: Bytes) -> Response {
    let grant = match access_grant(&o, &method, "/oidc/userinfo", &headers, &body).await {
        Ok(g) => g,
        Err(resp) => return resp,
    };
    // An event-stream token names no person.
    if !grant.scopes.iter().any(|s| s == "openid") {
        return bearer_error(
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            "this access token does not open UserInfo",
        );
    }
    (StatusCode::OK, no_store(), Json(grant.userinfo)).into_response()
}

/// The grant of the access token a request to `path` of this server carries: in the
/// `Authorization` header (`Bearer`, or `DPoP` with a proof by the bound key for this
/// request) or, for a form POST, in the body. A refusal is the RFC 6750 answer.
pub(super) async fn access_grant(
    o: &Oidc,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Grant, Response> {
    // `Authorization: Bearer …`, or `DPoP …` for a token bound to the client's key.
    let scheme_and_token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .map(|(scheme, t)| (scheme.to_ascii_lowercase(), t.trim().to_string()))
        .filter(|(scheme, _)| scheme == "bearer" || scheme == "dpop");
    let dpop_scheme = scheme_and_token.as_ref().is_some_and(|(s, _)| s == "dpop");
    let in_header = scheme_and_token.map(|(_, t)| t);
    let form_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let in_body = if form_type && !body.is_empty() {
        match Form::parse(body) {
            Ok(f) => f.get("access_token").map(str::to_string),
            Err(_) => {
                return Err(bearer_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "a parameter is given twice",
                ));
            }
        }
    } else {
        None
    };
    let token = match (in_header, in_body) {
        (Some(_), Some(_)) => {
            return Err(bearer_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "send the access token in one place only",
            ));
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
        return Err(resp);
    };
    let token_hash = hash(token);
    let row = match o.store.token(&token_hash, o.now()).await {
        Ok(r) => r,
        Err(e) => return Err(OAuthError::from(e).into_response()),
    };
    let Some(row) = row else {
        return Err(bearer_error(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "the access token is invalid, expired or revoked",
        ));
    };
    let Some(grant) = o.open_grant("token", &token_hash, &row.grant) else {
        return Err(bearer_error(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "the access token is invalid",
        ));
    };
    // A DPoP-bound token works only with a proof by its key, for this request (RFC 9449 §7).
    match (&grant.dpop_jkt, dpop_scheme) {
        (None, false) => {}
        (Some(jkt), true) => {
            let Some(proof) = headers.get("dpop").and_then(|v| v.to_str().ok()) else {
                return Err(bearer_error(
                    StatusCode::UNAUTHORIZED,
                    "invalid_dpop_proof",
                    "a DPoP proof is required",
                ));
            };
            match dpop::verify(o, proof, method.as_str(), &o.endpoint(path), Some(token), o.now()).await {
                Ok(k) if same(k.as_bytes(), jkt.as_bytes()) => {}
                Ok(_) => {
                    return Err(bearer_error(
                        StatusCode::UNAUTHORIZED,
                        "invalid_token",
                        "the access token is bound to another key",
                    ));
                }
                Err(why) => return Err(bearer_error(StatusCode::UNAUTHORIZED, "invalid_dpop_proof", why)),
            }
        }
        (Some(_), false) => {
            return Err(bearer_error(
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                "the access token is bound with DPoP: send it with a DPoP proof",
            ));
        }
        (None, true) => {
            return Err(bearer_error(
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                "the access token is not DPoP-bound",
            ));
        }
    }
    Ok(grant)
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
