//! OpenID Connect against a running server on a random port, with the `openidconnect` crate as
//! an independent relying-party library: discovery, the authorization request, the consent
//! page and the procedure page followed by a plain HTTP client with a cookie jar, the card read
//! from an emulated card in process, the token request, UserInfo and the ID token's checks.
//! Then everything that must be refused.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{NOW, Route, between, html_unescape, read_card, test_clock, test_config};
use mynaid_server::config::Config;
use mynaid_server::oidc::config::{AuthMethod, OidcClientConfig};
use mynaid_server::service::{Purpose, Service};
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreGenderClaim, CoreIdToken, CoreProviderMetadata, CoreTokenResponse,
};
use openidconnect::{
    AccessTokenHash, AdditionalClaims, AuthType, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl,
    Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse, UserInfoClaims,
};
use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

const JWT_CLIENT: &str = "rp-jwt";
const JWT_REDIRECT: &str = "https://rp.example.jp/callback";
const BASIC_CLIENT: &str = "rp-basic";
const BASIC_REDIRECT: &str = "https://basic.example.jp/cb";
const BASIC_SECRET: &str = "basic-client-secret-0123456789abcdef";
const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A P-256 key of a client (ES256), with its public JWK.
struct ClientKey {
    pkcs8: Vec<u8>,
    jwk: Value,
}

impl ClientKey {
    fn new(kid: &str) -> ClientKey {
        let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
        let pkcs8 = pair.to_pkcs8v1().unwrap().as_ref().to_vec();
        let point = pair.public_key().as_ref().to_vec();
        assert_eq!(point.len(), 65);
        let jwk = json!({
            "kty": "EC", "crv": "P-256", "kid": kid, "use": "sig", "alg": "ES256",
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
            "y": URL_SAFE_NO_PAD.encode(&point[33..]),
        });
        ClientKey { pkcs8, jwk }
    }

    fn kid(&self) -> String {
        self.jwk["kid"].as_str().unwrap().to_string()
    }

    /// A client assertion with these claims.
    fn sign(&self, claims: &Value) -> String {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        header.kid = Some(self.kid());
        jsonwebtoken::encode(&header, claims, &jsonwebtoken::EncodingKey::from_ec_der(&self.pkcs8)).unwrap()
    }
}

/// The server on a random loopback port, with its test clock.
struct Op {
    base: String,
    clock: Arc<AtomicI64>,
    svc: Arc<Service>,
    key: ClientKey,
}

fn clients(key: &ClientKey) -> Vec<OidcClientConfig> {
    vec![
        OidcClientConfig {
            client_id: JWT_CLIENT.into(),
            name: "登録ポータル（OIDCテスト）".into(),
            name_en: "Registration portal (OIDC test)".into(),
            origin: None,
            redirect_uris: vec![JWT_REDIRECT.into(), "https://rp.example.jp/other".into()],
            scopes: vec!["name".into(), "address".into(), "birthdate".into(), "gender".into()],
            purposes: vec![Purpose::VerifyIdentity, Purpose::LinkCard],
            auth_method: AuthMethod::PrivateKeyJwt,
            client_secret: None,
            jwks: Some(json!({ "keys": [key.jwk] }).to_string()),
            jwks_file: None,
            id_token_ttl_secs: 600,
            access_token_ttl_secs: 300,
            accepted_routes: vec!["input_support".into(), "signature".into()],
        },
        OidcClientConfig {
            client_id: BASIC_CLIENT.into(),
            name: "別のサービス（OIDCテスト）".into(),
            name_en: "Another service (OIDC test)".into(),
            origin: Some("https://basic.example.jp".into()),
            redirect_uris: vec![BASIC_REDIRECT.into()],
            scopes: vec!["name".into()],
            purposes: vec![Purpose::LinkCard],
            auth_method: AuthMethod::ClientSecretBasic,
            client_secret: Some(BASIC_SECRET.into()),
            jwks: None,
            jwks_file: None,
            id_token_ttl_secs: 300,
            access_token_ttl_secs: 300,
            accepted_routes: vec!["input_support".into(), "signature".into()],
        },
    ]
}

impl Op {
    async fn start() -> Op {
        Op::with(|_| {}).await
    }

    async fn with(tweak: impl FnOnce(&mut Config)) -> Op {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let key = ClientKey::new("rp-key-1");
        let mut config = test_config(&base, "sqlite::memory:");
        config.oidc.clients = clients(&key);
        tweak(&mut config);
        let (clock, c) = test_clock(NOW);
        let svc = mynaid_server::service(config, c).await.expect("service starts");
        let app = mynaid_server::app(svc.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Op { base, clock, svc, key }
    }

    fn now(&self) -> i64 {
        self.clock.load(Ordering::SeqCst)
    }

    fn advance(&self, secs: i64) {
        self.clock.fetch_add(secs, Ordering::SeqCst);
    }

    /// The `openidconnect` time function: the server's clock.
    fn time_fn(&self) -> impl Fn() -> chrono::DateTime<chrono::Utc> + Clone + use<> {
        let clock = self.clock.clone();
        move || chrono::DateTime::from_timestamp(clock.load(Ordering::SeqCst), 0).unwrap()
    }

    fn token_url(&self) -> String {
        format!("{}/oidc/token", self.base)
    }

    /// A client assertion of `rp-jwt`, valid now, with a fresh jti.
    fn assertion(&self) -> String {
        self.key.sign(&self.assertion_claims())
    }

    fn assertion_claims(&self) -> Value {
        json!({
            "iss": JWT_CLIENT, "sub": JWT_CLIENT, "aud": self.token_url(),
            "exp": self.now() + 60, "iat": self.now(),
            "jti": URL_SAFE_NO_PAD.encode(aws_lc_rs::rand::generate::<[u8; 16]>(&aws_lc_rs::rand::SystemRandom::new()).unwrap().expose()),
        })
    }
}

/// The relying party's HTTP client, as `openidconnect` asks: no redirects followed.
fn rp_http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A browser: cookies kept, redirects looked at one by one.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn location(r: &reqwest::Response) -> String {
    r.headers()
        .get(header::LOCATION)
        .unwrap_or_else(|| panic!("no Location ({})", r.status()))
        .to_str()
        .unwrap()
        .to_string()
}

fn query_of(url: &str) -> std::collections::HashMap<String, String> {
    url::Url::parse(url).unwrap().query_pairs().into_owned().collect()
}

/// The relying party's side of one authorization: the library's client and what it keeps.
struct Rp {
    client: CoreClient<
        openidconnect::EndpointSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointMaybeSet,
        openidconnect::EndpointMaybeSet,
    >,
    auth_url: String,
    csrf: CsrfToken,
    nonce: Nonce,
    verifier: Option<PkceCodeVerifier>,
}

async fn discover(op: &Op) -> CoreProviderMetadata {
    CoreProviderMetadata::discover_async(IssuerUrl::new(op.base.clone()).unwrap(), &rp_http())
        .await
        .expect("discovery")
}

/// The library builds an authorization request of `client_id` for `scopes` (+ extra params).
async fn new_rp(op: &Op, client_id: &str, scopes: &[&str], extra: &[(&str, &str)]) -> Rp {
    let metadata = discover(op).await;
    let (secret, redirect) = if client_id == BASIC_CLIENT {
        (Some(ClientSecret::new(BASIC_SECRET.into())), BASIC_REDIRECT)
    } else {
        (None, JWT_REDIRECT)
    };
    let mut client = CoreClient::from_provider_metadata(metadata, ClientId::new(client_id.into()), secret)
        .set_redirect_uri(RedirectUrl::new(redirect.into()).unwrap());
    if client_id != BASIC_CLIENT {
        client = client.set_auth_type(AuthType::RequestBody);
    }
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut req = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .set_pkce_challenge(challenge);
    for s in scopes {
        req = req.add_scope(Scope::new(s.to_string()));
    }
    for (k, v) in extra {
        req = req.add_extra_param(*k, *v);
    }
    let (url, csrf, nonce) = req.url();
    Rp {
        client,
        auth_url: url.to_string(),
        csrf,
        nonce,
        verifier: Some(verifier),
    }
}

/// The person's browser from the authorization request to the consent page; returns the
/// consent page's URL and HTML.
async fn to_consent(op: &Op, b: &reqwest::Client, auth_url: &str) -> (String, String) {
    let r = b.get(auth_url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", r.text().await.unwrap());
    let consent = format!("{}{}", op.base, location(&r));
    assert!(consent.contains("/oidc/consent/"), "{consent}");
    let r = b.get(&consent).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    (consent, r.text().await.unwrap())
}

/// The hidden form token of the consent page at `url` (for this browser).
async fn consent_token(b: &reqwest::Client, url: &str) -> String {
    common::form_token_of(&b.get(url).send().await.unwrap().text().await.unwrap())
}

/// Agrees on the consent page, goes through the procedure page (pattern 1), reads `person`'s
/// card in process, and comes back: returns the final redirect to the client.
async fn consent_and_read(op: &Op, b: &reqwest::Client, consent_url: &str, person: &str) -> String {
    let csrf = consent_token(b, consent_url).await;
    let r = b
        .post(consent_url)
        .form(&[("decision", "allow"), ("csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", r.text().await.unwrap());
    let start = location(&r);
    assert!(start.starts_with("/s/") && start.contains("/start?t="), "{start}");
    let id = start.split('/').nth(2).unwrap().to_string();
    let r = b.get(format!("{}{start}", op.base)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let procedure = b.get(format!("{}{}", op.base, location(&r))).send().await.unwrap();
    let html = procedure.text().await.unwrap();
    assert!(html.contains("method-pc"), "{html}");
    // Pattern 1: the PC reader page gives the reader app its one-time handle.
    let page = b
        .post(format!("{}/s/{id}/pc", op.base))
        .form(&[("csrf", common::form_token_of(&html))])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let link = html_unescape(&between(&page, "id=\"launch\"", "href=\"", "\""));
    let handle = link.split("handle=").nth(1).unwrap().to_string();
    let http = reqwest::Client::new();
    let answer: Value = http
        .post(format!("{}/api/v1/handles/{handle}/redeem", op.base))
        .json(&json!({ "reader": { "name": "mynaid-reader", "version": common::READER_VERSION } }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let evidence = read_card(person, Route::InputSupport, &answer);
    let r = http
        .post(format!("{}/api/v1/handles/{handle}/evidence", op.base))
        .bearer_auth(answer["submission_token"].as_str().unwrap())
        .header(header::CONTENT_TYPE, "application/json")
        .body(evidence)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    // The result page sends the browser back to the provider's callback.
    let done = b
        .get(format!("{}/s/{id}/done", op.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let back = html_unescape(&between(&done, "id=\"back\"", "href=\"", "\""));
    assert!(
        back.starts_with(&format!("{}/oidc/callback?session=", op.base)),
        "{back}"
    );
    let r = b.get(&back).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", r.text().await.unwrap());
    location(&r)
}

/// The whole way from the authorization request to the code; checks `state` and `iss`.
async fn code_for(op: &Op, rp: &Rp, person: &str) -> String {
    let b = browser();
    let (consent, _) = to_consent(op, &b, &rp.auth_url).await;
    let back = consent_and_read(op, &b, &consent, person).await;
    let q = query_of(&back);
    assert_eq!(q.get("state"), Some(rp.csrf.secret()), "{back}");
    assert_eq!(q.get("iss"), Some(&op.base), "{back}");
    assert!(!back.contains("error"), "{back}");
    q["code"].clone()
}

/// The token request, as the library makes it (`rp-jwt` adds a client assertion).
async fn exchange(rp: &mut Rp, code: &str, assertion: Option<String>) -> CoreTokenResponse {
    let mut req = rp
        .client
        .exchange_code(AuthorizationCode::new(code.into()))
        .unwrap()
        .set_pkce_verifier(rp.verifier.take().unwrap());
    if let Some(a) = assertion {
        req = req
            .add_extra_param("client_assertion_type", ASSERTION_TYPE)
            .add_extra_param("client_assertion", a);
    }
    req.request_async(&rp_http()).await.expect("token response")
}

/// A raw token request: (status, JSON body).
async fn raw_token(op: &Op, form: &[(&str, &str)], basic: Option<(&str, &str)>) -> (StatusCode, Value) {
    let mut req = reqwest::Client::new().post(op.token_url()).form(form);
    if let Some((id, secret)) = basic {
        req = req.basic_auth(id, Some(secret));
    }
    let r = req.send().await.unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn raw_userinfo(op: &Op, token: &str) -> (StatusCode, HeaderMap, Value) {
    let r = reqwest::Client::new()
        .get(format!("{}/oidc/userinfo", op.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let (status, headers) = (r.status(), r.headers().clone());
    (status, headers, r.json().await.unwrap_or(Value::Null))
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Verified {
    verified_claims: Option<Value>,
}
impl AdditionalClaims for Verified {}

fn payload(jwt: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(jwt.split('.').nth(1).unwrap()).unwrap()).unwrap()
}

fn jwt_header(jwt: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(jwt.split('.').next().unwrap()).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openidconnect_library_runs_the_whole_code_flow() {
    let op = Op::start().await;
    let p = mynaid_testkit::person("p01");

    // Discovery says what the provider does.
    let meta: Value = reqwest::get(format!("{}/.well-known/openid-configuration", op.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(meta["issuer"], op.base);
    assert_eq!(meta["response_types_supported"], json!(["code"]));
    assert_eq!(meta["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(meta["id_token_signing_alg_values_supported"], json!(["RS256"]));
    assert_eq!(meta["subject_types_supported"], json!(["pairwise"]));
    assert_eq!(
        meta["token_endpoint_auth_methods_supported"],
        json!(["private_key_jwt", "client_secret_basic"])
    );

    let mut rp = new_rp(&op, JWT_CLIENT, &["name", "address", "birthdate", "gender"], &[]).await;
    let b = browser();
    let (consent, html) = to_consent(&op, &b, &rp.auth_url).await;
    // The consent page says who asks, for what and why, before any card is read.
    assert!(html.contains("登録ポータル（OIDCテスト）"), "{html}");
    assert!(html.contains("https://rp.example.jp"), "{html}");
    assert!(html.contains("本人確認"), "{html}");
    for word in ["氏名", "住所", "生年月日", "性別"] {
        assert!(html.contains(word), "{word} in {html}");
    }
    assert!(html.contains("id=\"consent-allow\"") && html.contains("id=\"consent-deny\""));
    assert!(html.contains("<html lang=\"ja\""));
    let en = b
        .get(format!("{consent}?lang=en"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        en.contains("Registration portal (OIDC test)") && en.contains("Your date of birth"),
        "{en}"
    );

    let back = consent_and_read(&op, &b, &consent, "p01").await;
    assert!(back.starts_with(&format!("{JWT_REDIRECT}?code=")), "{back}");
    let q = query_of(&back);
    assert_eq!(q.get("state"), Some(rp.csrf.secret()));
    let code = q["code"].clone();

    let assertion = op.assertion();
    let tokens = exchange(&mut rp, &code, Some(assertion)).await;
    let id_token = tokens.id_token().expect("an ID token");
    // The library checks the signature (JWKS), issuer, audience, expiry and nonce.
    let verifier = rp.client.id_token_verifier().set_time_fn(op.time_fn());
    let claims = id_token.claims(&verifier, &rp.nonce).expect("a valid ID token");
    assert_eq!(claims.audiences()[0].as_str(), JWT_CLIENT);
    assert_eq!(claims.issuer().as_str(), op.base);
    // at_hash binds the access token.
    let at_hash = AccessTokenHash::from_token(
        tokens.access_token(),
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&verifier).unwrap(),
    )
    .unwrap();
    assert_eq!(claims.access_token_hash(), Some(&at_hash));
    let raw_id = id_token.to_string();
    let header = jwt_header(&raw_id);
    assert_eq!(header["alg"], "RS256");
    assert!(header["kid"].is_string(), "{header}");
    let body = payload(&raw_id);
    for c in ["iss", "sub", "aud", "exp", "iat", "auth_time", "nonce"] {
        assert!(!body[c].is_null(), "{c} in {body}");
    }
    assert_eq!(body["exp"].as_i64().unwrap() - body["iat"].as_i64().unwrap(), 600);
    for c in ["name", "address", "birthdate", "gender", "verified_claims"] {
        assert!(body[c].is_null(), "the ID token carries no {c}: {body}");
    }

    // UserInfo through the library: the claims of the granted scopes, for this subject.
    let info: UserInfoClaims<Verified, CoreGenderClaim> = rp
        .client
        .user_info(tokens.access_token().clone(), Some(claims.subject().clone()))
        .unwrap()
        .request_async(&rp_http())
        .await
        .expect("UserInfo");
    assert_eq!(info.name().unwrap().get(None).unwrap().as_str(), p.name);
    assert_eq!(info.address().unwrap().formatted.as_ref().unwrap().as_str(), p.address);
    assert_eq!(info.birthdate().unwrap().as_str(), p.birthdate);
    assert_eq!(info.gender().unwrap().as_str(), "male");
    let vc = info
        .additional_claims()
        .verified_claims
        .clone()
        .expect("verified_claims");
    assert_eq!(vc["claims"]["name"], p.name.as_str());
    assert_eq!(vc["claims"]["address"]["formatted"], p.address.as_str());
    assert_eq!(vc["verification"]["trust_framework"], "jp_aml");
    assert_eq!(vc["verification"]["mynaid_route"], "input_support");
    assert_eq!(vc["verification"]["time"], "2026-11-27T00:00:00Z");
    assert_eq!(vc["verification"]["evidence"][0]["type"], "electronic_record");

    // The sub is pairwise and stable: the same card again gives the same sub to this client.
    let mut again = rp_for_again(&op).await;
    let code = code_for(&op, &again, "p01").await;
    let tokens2 = exchange(&mut again, &code, Some(op.assertion())).await;
    let verifier2 = again.client.id_token_verifier().set_time_fn(op.time_fn());
    let claims2 = tokens2.id_token().unwrap().claims(&verifier2, &again.nonce).unwrap();
    assert_eq!(claims2.subject(), claims.subject());
    // Another client gets an unrelated sub for the same card.
    let mut other = new_rp(&op, BASIC_CLIENT, &["name"], &[]).await;
    let code = code_for(&op, &other, "p01").await;
    let tokens3 = exchange(&mut other, &code, None).await;
    let verifier3 = other.client.id_token_verifier().set_time_fn(op.time_fn());
    let claims3 = tokens3.id_token().unwrap().claims(&verifier3, &other.nonce).unwrap();
    assert_ne!(claims3.subject(), claims.subject());
}

async fn rp_for_again(op: &Op) -> Rp {
    new_rp(op, JWT_CLIENT, &[], &[("purpose", "link_card")]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claims_are_limited_to_the_granted_scopes() {
    let op = Op::start().await;
    let mut rp = new_rp(&op, JWT_CLIENT, &["name", "birthdate"], &[]).await;
    let code = code_for(&op, &rp, "p02").await;
    let tokens = exchange(&mut rp, &code, Some(op.assertion())).await;
    let scope: Vec<String> = tokens.scopes().unwrap().iter().map(|s| s.to_string()).collect();
    assert_eq!(scope, ["openid", "name", "birthdate"]);
    let (status, _, info) = raw_userinfo(&op, tokens.access_token().secret()).await;
    assert_eq!(status, StatusCode::OK);
    let mut keys: Vec<&String> = info.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["birthdate", "name", "sub", "verified_claims"], "{info}");
    let mut inner: Vec<&String> = info["verified_claims"]["claims"].as_object().unwrap().keys().collect();
    inner.sort();
    assert_eq!(inner, ["birthdate", "name"]);
    let id = payload(&tokens.id_token().unwrap().to_string());
    assert!(id.get("name").is_none() && id.get("birthdate").is_none(), "{id}");

    // openid alone: the pairwise sub and nothing else.
    let mut rp = rp_openid_only(&op).await;
    let code = code_for(&op, &rp, "p02").await;
    let tokens = exchange(&mut rp, &code, Some(op.assertion())).await;
    let (_, _, info) = raw_userinfo(&op, tokens.access_token().secret()).await;
    assert_eq!(info.as_object().unwrap().keys().collect::<Vec<_>>(), ["sub"], "{info}");
}

async fn rp_openid_only(op: &Op) -> Rp {
    new_rp(op, JWT_CLIENT, &[], &[]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_redirect_uri_or_client_is_shown_on_a_page_never_redirected() {
    let op = Op::start().await;
    let rp = new_rp(&op, JWT_CLIENT, &["name"], &[]).await;
    let b = browser();
    for (from, to) in [
        (JWT_REDIRECT, "https://evil.example/steal"),
        (JWT_REDIRECT, "https://rp.example.jp/callback/"),
        (JWT_REDIRECT, "https://rp.example.jp/callback?x=1"),
        // Another client's registered URI.
        (JWT_REDIRECT, BASIC_REDIRECT),
    ] {
        let url = rp.auth_url.replace(
            &url::form_urlencoded::byte_serialize(from.as_bytes()).collect::<String>(),
            &url::form_urlencoded::byte_serialize(to.as_bytes()).collect::<String>(),
        );
        assert_ne!(url, rp.auth_url);
        let r = b.get(&url).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{to}");
        assert!(r.headers().get(header::LOCATION).is_none(), "{to}");
        let html = r.text().await.unwrap();
        assert!(
            html.contains("redirect_uri") && html.contains("id=\"oidc-error\""),
            "{html}"
        );
    }
    // No redirect_uri at all, an unknown client, none at all.
    let no_redirect = rp
        .auth_url
        .split('&')
        .filter(|p| !p.starts_with("redirect_uri="))
        .collect::<Vec<_>>()
        .join("&");
    for url in [
        no_redirect,
        rp.auth_url.replace("client_id=rp-jwt", "client_id=nobody"),
        format!("{}/oidc/authorize", op.base),
    ] {
        let r = b.get(&url).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{url}");
        assert!(r.headers().get(header::LOCATION).is_none(), "{url}");
    }
}

/// An authorization request that must come back to the client as an error.
async fn refused(op: &Op, url: &str) -> std::collections::HashMap<String, String> {
    let r = browser().get(url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{url}");
    let to = location(&r);
    assert!(to.starts_with(JWT_REDIRECT) || to.starts_with(BASIC_REDIRECT), "{to}");
    let q = query_of(&to);
    assert_eq!(q.get("iss"), Some(&op.base));
    assert!(!q.contains_key("code"));
    q
}

fn without(url: &str, param: &str) -> String {
    let (base, query) = url.split_once('?').unwrap();
    let kept: Vec<&str> = query
        .split('&')
        .filter(|p| !p.starts_with(&format!("{param}=")))
        .collect();
    format!("{base}?{}", kept.join("&"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pkce_s256_state_nonce_and_allowed_scopes_are_required() {
    let op = Op::start().await;
    let rp = new_rp(&op, JWT_CLIENT, &["name"], &[]).await;
    let state = rp.csrf.secret().clone();

    let q = refused(
        &op,
        &rp.auth_url
            .replace("code_challenge_method=S256", "code_challenge_method=plain"),
    )
    .await;
    assert_eq!(q["error"], "invalid_request");
    assert!(q["error_description"].contains("S256"), "{q:?}");
    assert_eq!(q["state"], state);
    let q = refused(&op, &without(&rp.auth_url, "code_challenge_method")).await;
    assert_eq!(q["error"], "invalid_request");
    let q = refused(&op, &without(&rp.auth_url, "code_challenge")).await;
    assert_eq!(q["error"], "invalid_request");
    let q = refused(&op, &without(&rp.auth_url, "nonce")).await;
    assert_eq!(
        (q["error"].as_str(), q["state"].as_str()),
        ("invalid_request", state.as_str())
    );
    // Without state there is nothing to echo, but the client still hears of it.
    let q = refused(&op, &without(&rp.auth_url, "state")).await;
    assert_eq!(q["error"], "invalid_request");
    assert!(!q.contains_key("state"));
    let q = refused(&op, &rp.auth_url.replace("response_type=code", "response_type=token")).await;
    assert_eq!(q["error"], "unsupported_response_type");
    let q = refused(&op, &rp.auth_url.replace("scope=openid", "scope=name")).await;
    assert_eq!(q["error"], "invalid_scope");
    let q = refused(&op, &format!("{}&purpose=read_everything", rp.auth_url)).await;
    assert_eq!(q["error"], "invalid_request");
    let q = refused(&op, &format!("{}&prompt=none", rp.auth_url)).await;
    assert_eq!(q["error"], "login_required");
    let q = refused(&op, &format!("{}&state=again", rp.auth_url)).await;
    assert_eq!(q["error"], "invalid_request", "a parameter twice");

    // rp-basic may ask for the name only, and only to link a card.
    let basic = new_rp(&op, BASIC_CLIENT, &["address"], &[]).await;
    let q = refused(&op, &basic.auth_url).await;
    assert_eq!(q["error"], "invalid_scope");
    assert_eq!(&q["state"], basic.csrf.secret());
    let basic = new_rp(&op, BASIC_CLIENT, &["name"], &[("purpose", "verify_identity")]).await;
    assert_eq!(refused(&op, &basic.auth_url).await["error"], "invalid_request");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declining_consent_returns_access_denied_with_state() {
    let op = Op::start().await;
    let rp = new_rp(&op, JWT_CLIENT, &["name"], &[]).await;
    let b = browser();
    let (consent, html) = to_consent(&op, &b, &rp.auth_url).await;
    let csrf = common::form_token_of(&html);
    // The page's form may go (and be redirected) to the client, nowhere else.
    let page = b.get(&consent).send().await.unwrap();
    let csp = page.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.contains("form-action 'self' https://rp.example.jp;"), "{csp}");
    // Without the form's token (a forged post), nothing is decided.
    for bad in ["", "x", &csrf[1..]] {
        let r = b
            .post(&consent)
            .form(&[("decision", "deny"), ("csrf", bad)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        assert!(r.headers().get(header::LOCATION).is_none());
    }
    let r = b
        .post(&consent)
        .form(&[("decision", "deny"), ("csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let q = query_of(&location(&r));
    assert_eq!(q["error"], "access_denied");
    assert_eq!(&q["state"], rp.csrf.secret());
    // Declined is final: agreeing afterwards does not start a session.
    let r = b
        .post(&consent)
        .form(&[("decision", "allow"), ("csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);

    // Another browser (no cookie) cannot act on someone's consent page.
    let (consent, _) = to_consent(&op, &b, &rp.auth_url).await;
    let r = browser()
        .post(&consent)
        .form(&[("decision", "allow")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.headers().get(header::LOCATION).is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_callback_belongs_to_the_browser_that_consented() {
    let op = Op::start().await;
    let rp = new_rp(&op, JWT_CLIENT, &["name"], &[]).await;
    let b = browser();
    let (consent, html) = to_consent(&op, &b, &rp.auth_url).await;
    let r = b
        .post(&consent)
        .form(&[("decision", "allow"), ("csrf", &common::form_token_of(&html))])
        .send()
        .await
        .unwrap();
    let start = location(&r);
    let session = start.split('/').nth(2).unwrap().to_string();
    // Someone else's browser with the session id: a page, not a redirect with a code.
    let r = browser()
        .get(format!("{}/oidc/callback?session={session}", op.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.headers().get(header::LOCATION).is_none());
    // The right browser before the card was read: the client hears the card was not verified.
    let r = b
        .get(format!("{}/oidc/callback?session={session}", op.base))
        .send()
        .await
        .unwrap();
    let q = query_of(&location(&r));
    assert_eq!(q["error"], "access_denied");
    assert_eq!(&q["state"], rp.csrf.secret());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pkce_verifier_missing_or_wrong_fails_and_burns_the_code() {
    let op = Op::start().await;
    let mut rp = new_rp(&op, JWT_CLIENT, &["name"], &[]).await;
    let code = code_for(&op, &rp, "p01").await;
    let verifier = rp.verifier.take().unwrap();
    let base = |a: &str| {
        vec![
            ("grant_type", "authorization_code".to_string()),
            ("code", code.clone()),
            ("redirect_uri", JWT_REDIRECT.to_string()),
            ("client_assertion_type", ASSERTION_TYPE.to_string()),
            ("client_assertion", a.to_string()),
        ]
    };
    let send = |form: Vec<(&'static str, String)>| {
        let op = &op;
        async move {
            let f: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            raw_token(op, &f, None).await
        }
    };
    let (status, body) = send(base(&op.assertion())).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request")),
        "{body}"
    );
    let mut wrong = base(&op.assertion());
    wrong.push(("code_verifier", "x".repeat(43)));
    let (status, body) = send(wrong).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant")),
        "{body}"
    );
    // The right verifier now: the code was burnt by the wrong one.
    let mut right = base(&op.assertion());
    right.push(("code_verifier", verifier.secret().clone()));
    let (_, body) = send(right).await;
    assert_eq!(body["error"], "invalid_grant", "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_works_once_and_a_replay_revokes_its_tokens() {
    let op = Op::start().await;
    let mut rp = new_rp(&op, BASIC_CLIENT, &["name"], &[]).await;
    let code = code_for(&op, &rp, "p01").await;
    let verifier = rp.verifier.as_ref().unwrap().secret().clone();
    let tokens = exchange(&mut rp, &code, None).await;
    let access = tokens.access_token().secret().clone();
    let (status, _, _) = raw_userinfo(&op, &access).await;
    assert_eq!(status, StatusCode::OK);
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", BASIC_REDIRECT),
        ("code_verifier", verifier.as_str()),
    ];
    let (status, body) = raw_token(&op, &form, Some((BASIC_CLIENT, BASIC_SECRET))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
    let (status, headers, body) = raw_userinfo(&op, &access).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(
        headers[header::WWW_AUTHENTICATE]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );
    // Never a token at all.
    let (status, _, _) = raw_userinfo(&op, "not-a-token").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_code_and_an_expired_access_token_are_refused() {
    let op = Op::start().await;
    let rp = new_rp(&op, BASIC_CLIENT, &["name"], &[]).await;
    let code = code_for(&op, &rp, "p01").await;
    op.advance(61);
    let verifier = rp.verifier.as_ref().unwrap().secret().clone();
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", BASIC_REDIRECT),
        ("code_verifier", verifier.as_str()),
    ];
    let (status, body) = raw_token(&op, &form, Some((BASIC_CLIENT, BASIC_SECRET))).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );

    let mut rp = new_rp(&op, BASIC_CLIENT, &["name"], &[]).await;
    let code = code_for(&op, &rp, "p01").await;
    let tokens = exchange(&mut rp, &code, None).await;
    op.advance(301);
    let (status, _, _) = raw_userinfo(&op, tokens.access_token().secret()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_client_authentication_is_refused_without_burning_the_code() {
    let op = Op::start().await;
    let rp = new_rp(&op, JWT_CLIENT, &["name"], &[]).await;
    let code = code_for(&op, &rp, "p03").await;
    let verifier = rp.verifier.as_ref().unwrap().secret().clone();
    let with_assertion = |a: String| {
        vec![
            ("grant_type", "authorization_code".to_string()),
            ("code", code.clone()),
            ("redirect_uri", JWT_REDIRECT.to_string()),
            ("code_verifier", verifier.clone()),
            ("client_assertion_type", ASSERTION_TYPE.to_string()),
            ("client_assertion", a),
        ]
    };
    let try_it = |form: Vec<(&'static str, String)>, basic: Option<(&'static str, &'static str)>| {
        let op = &op;
        async move {
            let f: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            raw_token(op, &f, basic).await
        }
    };
    let mut cases: Vec<(&str, String)> = Vec::new();
    // Signed with another key (same kid, so the server looks at the right one).
    let other = ClientKey::new("rp-key-1");
    cases.push(("another key", other.sign(&op.assertion_claims())));
    let mut c = op.assertion_claims();
    c["aud"] = json!("https://somewhere.else/token");
    cases.push(("wrong aud", op.key.sign(&c)));
    let mut c = op.assertion_claims();
    c["exp"] = json!(op.now() - 120);
    cases.push(("expired", op.key.sign(&c)));
    let mut c = op.assertion_claims();
    c["exp"] = json!(op.now() + 3600);
    cases.push(("lives too long", op.key.sign(&c)));
    let mut c = op.assertion_claims();
    c["sub"] = json!("someone-else");
    cases.push(("sub is not the client", op.key.sign(&c)));
    let mut c = op.assertion_claims();
    c.as_object_mut().unwrap().remove("jti");
    cases.push(("no jti", op.key.sign(&c)));
    // HS256 with the public key's text as a secret (algorithm confusion).
    let hs = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &op.assertion_claims(),
        &jsonwebtoken::EncodingKey::from_secret(op.key.jwk.to_string().as_bytes()),
    )
    .unwrap();
    cases.push(("HS256", hs));
    for (what, a) in cases {
        let (status, body) = try_it(with_assertion(a), None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}: {body}");
        assert_eq!(body["error"], "invalid_client", "{what}: {body}");
    }
    // A jti seen before.
    let used = op.assertion();
    let reused_claims = payload(&used);
    let (status, _) = try_it(with_assertion(op.key.sign(&reused_claims)), Some(("x", "y"))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "two methods at once");
    // No client authentication at all; Basic for a private_key_jwt client.
    let mut bare = with_assertion(String::new());
    bare.truncate(4);
    let (status, body) = try_it(bare.clone(), None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client"))
    );
    let (status, _) = try_it(bare.clone(), Some((JWT_CLIENT, BASIC_SECRET))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // A bad secret for the Basic client, and the Basic client's secret with its id wrong.
    let (status, body) = try_it(
        bare.clone(),
        Some((BASIC_CLIENT, "wrong-secret-wrong-secret-wrong-secret")),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client"))
    );
    // None of these burnt the code: the right assertion still gets tokens, once.
    let (status, body) = try_it(with_assertion(used.clone()), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = try_it(with_assertion(used), None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client")),
        "reused jti"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_of_another_client_is_refused() {
    let op = Op::start().await;
    let rp = new_rp(&op, JWT_CLIENT, &["name"], &[]).await;
    let code = code_for(&op, &rp, "p01").await;
    let verifier = rp.verifier.as_ref().unwrap().secret().clone();
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", JWT_REDIRECT),
        ("code_verifier", verifier.as_str()),
    ];
    let (status, body) = raw_token(&op, &form, Some((BASIC_CLIENT, BASIC_SECRET))).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_id_token_is_rejected_by_the_library() {
    let op = Op::start().await;
    let mut rp = new_rp(&op, JWT_CLIENT, &["name"], &[]).await;
    let code = code_for(&op, &rp, "p01").await;
    let tokens = exchange(&mut rp, &code, Some(op.assertion())).await;
    let raw = tokens.id_token().unwrap().to_string();
    let verifier = rp.client.id_token_verifier().set_time_fn(op.time_fn());
    let good: CoreIdToken = raw.parse().unwrap();
    assert!(good.claims(&verifier, &rp.nonce).is_ok());
    // Another subject in the payload, the signature kept.
    let parts: Vec<&str> = raw.split('.').collect();
    let mut body = payload(&raw);
    body["sub"] = json!("someone-else");
    let forged = format!("{}.{}.{}", parts[0], URL_SAFE_NO_PAD.encode(body.to_string()), parts[2]);
    let forged: CoreIdToken = forged.parse().unwrap();
    assert!(forged.claims(&verifier, &rp.nonce).is_err());
    // A flipped signature bit.
    let mut sig = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
    sig[10] ^= 1;
    let flipped: CoreIdToken = format!("{}.{}.{}", parts[0], parts[1], URL_SAFE_NO_PAD.encode(sig))
        .parse()
        .unwrap();
    assert!(flipped.claims(&verifier, &rp.nonce).is_err());
    // Another nonce, another audience, later than its expiry.
    assert!(good.claims(&verifier, &Nonce::new("another".into())).is_err());
    let nobody = CoreClient::from_provider_metadata(discover(&op).await, ClientId::new("nobody".into()), None);
    let other_aud = nobody.id_token_verifier().set_time_fn(op.time_fn());
    assert!(good.claims(&other_aud, &rp.nonce).is_err());
    op.advance(601);
    assert!(
        good.claims(&verifier.clone().set_time_fn(op.time_fn()), &rp.nonce)
            .is_err()
    );
}

/// The key ids of the JWKS.
async fn published_kids(op: &Op) -> Vec<String> {
    let v: Value = reqwest::get(format!("{}/oidc/jwks", op.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_string())
        .collect()
}

/// A whole flow of `rp-basic`; its ID token and nonce.
async fn basic_id_token(op: &Op) -> (String, Nonce) {
    let mut rp = new_rp(op, BASIC_CLIENT, &["name"], &[]).await;
    let code = code_for(op, &rp, "p01").await;
    let tokens = exchange(&mut rp, &code, None).await;
    (tokens.id_token().unwrap().to_string(), rp.nonce.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_keys_rotate_and_retired_keys_stay_published_while_their_tokens_live() {
    // Keys rotate after an hour and are published 15 minutes before they sign; ID tokens of
    // rp-basic live 10 minutes here.
    let op = Op::with(|c| {
        c.oidc.signing_key_rotation_secs = 3600;
        c.oidc.clients[1].id_token_ttl_secs = 600;
    })
    .await;
    let kid = |t: &str| jwt_header(t)["kid"].as_str().unwrap().to_string();
    let t0 = op.now();

    // Discovery before any token: the JWKS already has the key that will sign.
    let early = CoreClient::from_provider_metadata(discover(&op).await, ClientId::new(BASIC_CLIENT.into()), None);
    let (first, first_nonce) = basic_id_token(&op).await;
    let k1 = kid(&first);
    assert_eq!(published_kids(&op).await, vec![k1.clone()]);
    let verifier = early.id_token_verifier().set_time_fn(op.time_fn());
    let first: CoreIdToken = first.parse().unwrap();
    first
        .claims(&verifier, &first_nonce)
        .expect("signed by the key discovered before");

    // 45 minutes on: the successor is published, the first key still signs.
    op.advance(2700);
    let kids = published_kids(&op).await;
    assert_eq!(kids.len(), 2, "{kids:?}");
    assert_eq!(kids[0], k1);
    let k2 = kids[1].clone();
    // A relying party that discovers now caches both.
    let cached = CoreClient::from_provider_metadata(discover(&op).await, ClientId::new(BASIC_CLIENT.into()), None);
    op.advance(850);
    let (late, late_nonce) = basic_id_token(&op).await;
    assert_eq!(kid(&late), k1, "the old key signs until its successor's time");

    // Past the hour: the new key signs; the cached JWKS knows it already.
    op.advance(100);
    assert!(op.now() >= t0 + 3600);
    let (second, second_nonce) = basic_id_token(&op).await;
    assert_eq!(kid(&second), k2);
    let verifier = cached.id_token_verifier().set_time_fn(op.time_fn());
    let second: CoreIdToken = second.parse().unwrap();
    second
        .claims(&verifier, &second_nonce)
        .expect("the pre-published key validates");
    // The token the old key signed shortly before still validates while it lives.
    let late: CoreIdToken = late.parse().unwrap();
    late.claims(&verifier, &late_nonce)
        .expect("the previous key's token still validates");
    assert_eq!(published_kids(&op).await, [k1.clone(), k2.clone()]);

    // Once every token of the old key has expired (600 s + leeway), it leaves the JWKS.
    op.advance(600 + 130);
    assert_eq!(published_kids(&op).await, vec![k2.clone()]);
    assert!(
        late.claims(&verifier, &late_nonce).is_err(),
        "and its tokens are expired anyway"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codes_tokens_and_signing_keys_are_stored_hashed_or_sealed() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("mynaid.db").display());
    let op = Op::with(|c| c.database_url = db.clone()).await;
    let p = mynaid_testkit::person("p01");
    let mut rp = new_rp(&op, JWT_CLIENT, &["name", "address"], &[]).await;
    let code = code_for(&op, &rp, "p01").await;
    let tokens = exchange(&mut rp, &code, Some(op.assertion())).await;
    let access = tokens.access_token().secret().clone();
    let pool = sqlx::SqlitePool::connect(&db).await.unwrap();
    let mut everything = Vec::new();
    for table in ["oidc_keys", "oidc_requests", "oidc_codes", "oidc_tokens", "oidc_jtis"] {
        let rows = sqlx::query(&format!("SELECT * FROM {table}"))
            .fetch_all(&pool)
            .await
            .unwrap();
        assert!(!rows.is_empty(), "{table} has rows");
        for r in rows {
            use sqlx::Row;
            for i in 0..r.len() {
                if let Ok(b) = r.try_get::<Vec<u8>, _>(i) {
                    everything.extend(b);
                } else if let Ok(t) = r.try_get::<String, _>(i) {
                    everything.extend(t.into_bytes());
                }
            }
        }
    }
    let contains = |needle: &[u8]| everything.windows(needle.len()).any(|w| w == needle);
    assert!(!contains(code.as_bytes()), "the code is stored hashed");
    assert!(!contains(access.as_bytes()), "the access token is stored hashed");
    assert!(
        !contains(p.name.as_bytes()) && !contains(p.address.as_bytes()),
        "claims are sealed"
    );
    // The RSA private key (PKCS#8 carries the rsaEncryption OID) is sealed.
    let rsa_oid = [0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
    assert!(!contains(&rsa_oid), "the signing key is sealed");
    let _ = &op.svc;
}
