//! A client registered with the FAPI 2.0 Security Profile (docs/oidc.md "FAPI 2.0"): its
//! authorization requests come only by PAR (RFC 9126), its tokens are bound to its key with
//! DPoP (RFC 9449), its client assertions are PS256/ES256, its ID tokens PS256. Each test
//! runs the attacker's steps beside the legitimate flow: a request in the browser's address
//! instead of pushed, a pushed request used twice or by another client, a stolen access token
//! used as a Bearer token or with the thief's own key, a proof replayed or made for another
//! request.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "oidc_support/mod.rs"]
mod support;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::*;

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn random() -> String {
    URL_SAFE_NO_PAD.encode(
        aws_lc_rs::rand::generate::<[u8; 16]>(&aws_lc_rs::rand::SystemRandom::new())
            .unwrap()
            .expose(),
    )
}

/// A client assertion of the FAPI client (ES256), `aud` the issuer.
fn assertion(op: &Op) -> String {
    op.key.sign(&json!({
        "iss": FAPI_CLIENT, "sub": FAPI_CLIENT, "aud": op.base,
        "exp": op.now() + 60, "iat": op.now(), "jti": random(),
    }))
}

/// A DPoP proof by `key` for `method` `url` (with the access token's hash when given).
fn proof(op: &Op, key: &ClientKey, method: &str, url: &str, token: Option<&str>) -> String {
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.typ = Some("dpop+jwt".into());
    let mut public = key.jwk.clone();
    for member in ["kid", "use", "alg"] {
        public.as_object_mut().unwrap().remove(member);
    }
    header.jwk = Some(serde_json::from_value(public).unwrap());
    let mut claims = json!({ "jti": random(), "htm": method, "htu": url, "iat": op.now() });
    if let Some(t) = token {
        claims["ath"] =
            json!(URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, t.as_bytes())));
    }
    jsonwebtoken::encode(&header, &claims, &jsonwebtoken::EncodingKey::from_ec_der(&key.pkcs8)).unwrap()
}

/// `POST /oidc/par` with the FAPI client's assertion and `extra` parameters.
async fn push(op: &Op, extra: &[(&str, &str)]) -> (StatusCode, Value) {
    let a = assertion(op);
    let mut form = vec![
        ("client_id", FAPI_CLIENT),
        ("response_type", "code"),
        ("redirect_uri", FAPI_REDIRECT),
        ("scope", "openid name"),
        ("state", "fapi-state"),
        ("nonce", "fapi-nonce"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
        ("client_assertion_type", ASSERTION_TYPE),
        ("client_assertion", a.as_str()),
    ];
    for (k, v) in extra {
        form.retain(|(name, _)| name != k);
        form.push((k, v));
    }
    let r = reqwest::Client::new()
        .post(format!("{}/oidc/par", op.base))
        .form(&form)
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// The browser through consent and the card reading for a pushed request: the code.
async fn code_for_pushed(op: &Op, request_uri: &str) -> String {
    let url = format!(
        "{}/oidc/authorize?client_id={FAPI_CLIENT}&request_uri={}",
        op.base,
        url::form_urlencoded::byte_serialize(request_uri.as_bytes()).collect::<String>()
    );
    let b = browser();
    let (consent, _) = to_consent(op, &b, &url).await;
    let back = consent_and_read(op, &b, &consent, "p01").await;
    assert!(back.starts_with(FAPI_REDIRECT), "{back}");
    let q = query_of(&back);
    assert_eq!(
        (q["state"].as_str(), q["iss"].as_str()),
        ("fapi-state", op.base.as_str())
    );
    q["code"].clone()
}

async fn token(op: &Op, code: &str, dpop: Option<String>) -> (StatusCode, Value) {
    let a = assertion(op);
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", FAPI_REDIRECT),
        ("code_verifier", VERIFIER),
        ("client_assertion_type", ASSERTION_TYPE),
        ("client_assertion", a.as_str()),
    ];
    let mut req = reqwest::Client::new().post(op.token_url()).form(&form);
    if let Some(p) = dpop {
        req = req.header("DPoP", p);
    }
    let r = req.send().await.unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn userinfo(op: &Op, scheme: &str, access: &str, dpop: Option<String>) -> (StatusCode, Value) {
    let mut req = reqwest::Client::new()
        .get(format!("{}/oidc/userinfo", op.base))
        .header("Authorization", format!("{scheme} {access}"));
    if let Some(p) = dpop {
        req = req.header("DPoP", p);
    }
    let r = req.send().await.unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fapi_client_pushes_its_request_and_its_tokens_work_only_with_its_key() {
    let op = Op::start().await;
    let key = ClientKey::new("dpop-key");
    let thief = ClientKey::new("thief-key");
    let userinfo_url = format!("{}/oidc/userinfo", op.base);

    // Attacker (or a careless client): the request in the browser's address. Refused.
    let front = format!(
        "{}/oidc/authorize?response_type=code&client_id={FAPI_CLIENT}&redirect_uri={}&scope=openid&state=s&code_challenge={CHALLENGE}&code_challenge_method=S256",
        op.base,
        url::form_urlencoded::byte_serialize(FAPI_REDIRECT.as_bytes()).collect::<String>()
    );
    let r = browser().get(&front).send().await.unwrap();
    let q = query_of(&location(&r));
    assert_eq!(q["error"], "invalid_request");
    assert!(q["error_description"].contains("PAR"), "{q:?}");

    // Legitimate: pushed, authenticated, a single-use request_uri.
    let (status, pushed) = push(&op, &[]).await;
    assert_eq!(status, StatusCode::CREATED, "{pushed}");
    assert_eq!(pushed["expires_in"], 90);
    let request_uri = pushed["request_uri"].as_str().unwrap().to_string();
    assert!(request_uri.starts_with("urn:ietf:params:oauth:request_uri:"));
    let code = code_for_pushed(&op, &request_uri).await;
    // The same request_uri again (a replayed or leaked link): refused on a page.
    let again = format!(
        "{}/oidc/authorize?client_id={FAPI_CLIENT}&request_uri={}",
        op.base,
        url::form_urlencoded::byte_serialize(request_uri.as_bytes()).collect::<String>()
    );
    let r = browser().get(&again).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    // Another client presenting this client's request_uri: refused too.
    let (_, other) = push(&op, &[]).await;
    let stolen = format!(
        "{}/oidc/authorize?client_id={JWT_CLIENT}&request_uri={}",
        op.base,
        url::form_urlencoded::byte_serialize(other["request_uri"].as_str().unwrap().as_bytes()).collect::<String>()
    );
    assert_eq!(
        browser().get(&stolen).send().await.unwrap().status(),
        StatusCode::BAD_REQUEST
    );

    // Token request without DPoP: refused, and the code is not used up by it.
    let (status, body) = token(&op, &code, None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_dpop_proof"))
    );
    // A proof for another endpoint: refused too.
    let wrong_htu = proof(&op, &key, "POST", &userinfo_url, None);
    let (status, body) = token(&op, &code, Some(wrong_htu)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_dpop_proof"))
    );
    // Legitimate: bound to the client's DPoP key; the ID token is PS256.
    let (status, tokens) = token(&op, &code, Some(proof(&op, &key, "POST", &op.token_url(), None))).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(tokens["token_type"], "DPoP");
    assert_eq!(jwt_header(tokens["id_token"].as_str().unwrap())["alg"], "PS256");
    let access = tokens["access_token"].as_str().unwrap();

    // The thief holds the access token. As a Bearer token: refused.
    let (status, _) = userinfo(&op, "Bearer", access, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // With a proof by the thief's own key: refused.
    let (status, body) = userinfo(
        &op,
        "DPoP",
        access,
        Some(proof(&op, &thief, "GET", &userinfo_url, Some(access))),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    // With no proof, a proof without the token's hash, or for POST: refused.
    assert_eq!(userinfo(&op, "DPoP", access, None).await.0, StatusCode::UNAUTHORIZED);
    let no_ath = proof(&op, &key, "GET", &userinfo_url, None);
    assert_eq!(
        userinfo(&op, "DPoP", access, Some(no_ath)).await.0,
        StatusCode::UNAUTHORIZED
    );
    let post = proof(&op, &key, "POST", &userinfo_url, Some(access));
    assert_eq!(
        userinfo(&op, "DPoP", access, Some(post)).await.0,
        StatusCode::UNAUTHORIZED
    );
    // Legitimate: the client's key, this request.
    let good = proof(&op, &key, "GET", &userinfo_url, Some(access));
    let (status, info) = userinfo(&op, "DPoP", access, Some(good.clone())).await;
    assert_eq!(status, StatusCode::OK, "{info}");
    assert_eq!(info["name"], mynaid_testkit::person("p01").name.as_str());
    // The same proof replayed (captured on the way): refused.
    let (status, body) = userinfo(&op, "DPoP", access, Some(good)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "invalid_dpop_proof");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pushed_request_is_validated_like_one_at_the_authorization_endpoint() {
    let op = Op::start().await;
    // Each refusal is JSON to the client, not a page or a redirect.
    for (extra, error) in [
        (vec![("code_challenge_method", "plain")], "invalid_request"),
        (vec![("redirect_uri", "https://evil.example/cb")], "invalid_request"),
        (vec![("response_type", "token")], "unsupported_response_type"),
        (vec![("scope", "name")], "invalid_scope"),
        (
            vec![("request_uri", "urn:ietf:params:oauth:request_uri:x")],
            "invalid_request",
        ),
        (vec![("request", "eyJhbGciOiJub25lIn0.e30.")], "request_not_supported"),
    ] {
        let (status, body) = push(&op, &extra).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some(error)),
            "{extra:?}: {body}"
        );
    }
    // Unauthenticated: invalid_client.
    let r = reqwest::Client::new()
        .post(format!("{}/oidc/par", op.base))
        .form(&[("client_id", FAPI_CLIENT), ("response_type", "code")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // The legitimate push beside them.
    assert_eq!(push(&op, &[]).await.0, StatusCode::CREATED);
    // Discovery says where to push and which proofs are taken.
    let d = discovery_json(&op).await;
    assert_eq!(
        d["pushed_authorization_request_endpoint"],
        format!("{}/oidc/par", op.base)
    );
    assert_eq!(d["dpop_signing_alg_values_supported"], json!(["ES256", "PS256"]));
    assert_eq!(d["id_token_signing_alg_values_supported"], json!(["RS256", "PS256"]));
}
