//! What the OpenID Connect tests share: the provider on a random port with its test clock and
//! two clients (`private_key_jwt` and `client_secret_basic`), the `openidconnect` relying
//! party, a cookie-keeping browser, and the way from the authorization request to the code.

#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use crate::common::{NOW, Route, between, html_unescape, read_card, test_clock, test_config};
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use mynaid_oidc::config::{AuthMethod, OidcClientConfig};
use mynaid_protocol::Purpose;
use mynaid_server::config::Config;
use mynaid_sessions::Service;
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata, CoreTokenResponse};
use openidconnect::{
    AdditionalClaims, AuthType, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
};
use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

pub(crate) const JWT_CLIENT: &str = "rp-jwt";
pub(crate) const JWT_REDIRECT: &str = "https://rp.example.jp/callback";
pub(crate) const BASIC_CLIENT: &str = "rp-basic";
pub(crate) const BASIC_REDIRECT: &str = "https://basic.example.jp/cb";
pub(crate) const BASIC_SECRET: &str = "basic-client-secret-0123456789abcdef";
pub(crate) const FAPI_CLIENT: &str = "rp-fapi";
pub(crate) const FAPI_REDIRECT: &str = "https://fapi.example.jp/cb";
pub(crate) const POST_CLIENT: &str = "rp-post";
pub(crate) const POST_REDIRECT: &str = "https://post.example.jp/cb";
pub(crate) const POST_SECRET: &str = "post-client-secret-0123456789abcdef";
pub(crate) const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A P-256 key of a client (ES256), with its public JWK.
pub(crate) struct ClientKey {
    pub(crate) pkcs8: Vec<u8>,
    pub(crate) jwk: Value,
}

impl ClientKey {
    pub(crate) fn new(kid: &str) -> ClientKey {
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

    pub(crate) fn kid(&self) -> String {
        self.jwk["kid"].as_str().unwrap().to_string()
    }

    /// A client assertion with these claims.
    pub(crate) fn sign(&self, claims: &Value) -> String {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        header.kid = Some(self.kid());
        jsonwebtoken::encode(&header, claims, &jsonwebtoken::EncodingKey::from_ec_der(&self.pkcs8)).unwrap()
    }
}

/// A provider's server as the browser and the reader app reach it.
pub(crate) trait Site {
    /// `http://127.0.0.1:<port>`.
    fn base(&self) -> &str;
}

impl Site for Op {
    fn base(&self) -> &str {
        &self.base
    }
}

/// A server in another process (`mynaid-server serve`).
pub(crate) struct Remote(pub(crate) String);

impl Site for Remote {
    fn base(&self) -> &str {
        &self.0
    }
}

/// The server on a random loopback port, with its test clock.
pub(crate) struct Op {
    pub(crate) base: String,
    pub(crate) clock: Arc<AtomicI64>,
    pub(crate) server: Arc<mynaid_server::Server>,
    pub(crate) svc: Arc<Service>,
    pub(crate) key: ClientKey,
}

pub(crate) fn clients(key: &ClientKey) -> Vec<OidcClientConfig> {
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
            require_nonce: false,
            require_pkce: true,
            profile: mynaid_oidc::config::ClientProfile::Oidc,
            client_secret: None,
            jwks: Some(json!({ "keys": [key.jwk] }).to_string()),
            jwks_file: None,
            id_token_ttl_secs: 600,
            access_token_ttl_secs: 300,
            accepted_routes: Route::ALL.to_vec(),
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
            require_nonce: false,
            require_pkce: true,
            profile: mynaid_oidc::config::ClientProfile::Oidc,
            client_secret: Some(BASIC_SECRET.into()),
            jwks: None,
            jwks_file: None,
            id_token_ttl_secs: 300,
            access_token_ttl_secs: 300,
            accepted_routes: Route::ALL.to_vec(),
        },
        // A confidential client of an older library: the secret in the form body, no PKCE,
        // and (its own choice) nonce required.
        OidcClientConfig {
            client_id: POST_CLIENT.into(),
            name: "三つ目のサービス（OIDCテスト）".into(),
            name_en: "A third service (OIDC test)".into(),
            origin: Some("https://post.example.jp".into()),
            redirect_uris: vec![POST_REDIRECT.into()],
            scopes: vec!["name".into(), "birthdate".into()],
            purposes: vec![Purpose::LinkCard],
            auth_method: AuthMethod::ClientSecretPost,
            require_nonce: true,
            require_pkce: false,
            profile: mynaid_oidc::config::ClientProfile::Oidc,
            client_secret: Some(POST_SECRET.into()),
            jwks: None,
            jwks_file: None,
            id_token_ttl_secs: 300,
            access_token_ttl_secs: 300,
            accepted_routes: Route::ALL.to_vec(),
        },
        // A FAPI 2.0 client: PAR, DPoP, private_key_jwt (the same test key), PS256 ID tokens.
        OidcClientConfig {
            client_id: FAPI_CLIENT.into(),
            name: "FAPIのサービス（OIDCテスト）".into(),
            name_en: "A FAPI service (OIDC test)".into(),
            origin: Some("https://fapi.example.jp".into()),
            redirect_uris: vec![FAPI_REDIRECT.into()],
            scopes: vec!["name".into(), "birthdate".into()],
            purposes: vec![Purpose::LinkCard],
            auth_method: AuthMethod::PrivateKeyJwt,
            require_nonce: false,
            require_pkce: true,
            profile: mynaid_oidc::config::ClientProfile::Fapi2,
            client_secret: None,
            jwks: Some(json!({ "keys": [key.jwk] }).to_string()),
            jwks_file: None,
            id_token_ttl_secs: 300,
            access_token_ttl_secs: 300,
            accepted_routes: Route::ALL.to_vec(),
        },
    ]
}

impl Op {
    pub(crate) async fn start() -> Op {
        Op::with(|_| {}).await
    }

    pub(crate) async fn with(tweak: impl FnOnce(&mut Config)) -> Op {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let key = ClientKey::new("rp-key-1");
        let mut config = test_config(&base, "sqlite::memory:");
        config.oidc.clients = clients(&key);
        tweak(&mut config);
        let (clock, c) = test_clock(NOW);
        let server = mynaid_server::start(config, c).await.expect("server starts");
        let app = mynaid_server::app(&server);
        tokio::spawn(async move { axum::serve(listener, app).await });
        Op {
            base,
            clock,
            svc: server.sessions.clone(),
            server,
            key,
        }
    }

    pub(crate) fn now(&self) -> i64 {
        self.clock.load(Ordering::SeqCst)
    }

    pub(crate) fn advance(&self, secs: i64) {
        self.clock.fetch_add(secs, Ordering::SeqCst);
    }

    /// The `openidconnect` time function: the server's clock.
    pub(crate) fn time_fn(&self) -> impl Fn() -> chrono::DateTime<chrono::Utc> + Clone + use<> {
        let clock = self.clock.clone();
        move || chrono::DateTime::from_timestamp(clock.load(Ordering::SeqCst), 0).unwrap()
    }

    pub(crate) fn token_url(&self) -> String {
        format!("{}/oidc/token", self.base)
    }

    /// A client assertion of `rp-jwt`, valid now, with a fresh jti.
    pub(crate) fn assertion(&self) -> String {
        self.key.sign(&self.assertion_claims())
    }

    pub(crate) fn assertion_claims(&self) -> Value {
        json!({
            "iss": JWT_CLIENT, "sub": JWT_CLIENT, "aud": self.token_url(),
            "exp": self.now() + 60, "iat": self.now(),
            "jti": URL_SAFE_NO_PAD.encode(aws_lc_rs::rand::generate::<[u8; 16]>(&aws_lc_rs::rand::SystemRandom::new()).unwrap().expose()),
        })
    }
}

/// The relying party's HTTP client, as `openidconnect` asks: no redirects followed.
pub(crate) fn rp_http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A browser: cookies kept, redirects looked at one by one.
pub(crate) fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub(crate) fn location(r: &reqwest::Response) -> String {
    r.headers()
        .get(header::LOCATION)
        .unwrap_or_else(|| panic!("no Location ({})", r.status()))
        .to_str()
        .unwrap()
        .to_string()
}

pub(crate) fn query_of(url: &str) -> std::collections::HashMap<String, String> {
    url::Url::parse(url).unwrap().query_pairs().into_owned().collect()
}

/// The relying party's side of one authorization: the library's client and what it keeps.
pub(crate) struct Rp {
    pub(crate) client: CoreClient<
        openidconnect::EndpointSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointMaybeSet,
        openidconnect::EndpointMaybeSet,
    >,
    pub(crate) auth_url: String,
    pub(crate) csrf: CsrfToken,
    pub(crate) nonce: Nonce,
    pub(crate) verifier: Option<PkceCodeVerifier>,
}

pub(crate) async fn discover(op: &Op) -> CoreProviderMetadata {
    CoreProviderMetadata::discover_async(IssuerUrl::new(op.base.clone()).unwrap(), &rp_http())
        .await
        .expect("discovery")
}

/// The library builds an authorization request of `client_id` for `scopes` (+ extra params).
pub(crate) async fn new_rp(op: &Op, client_id: &str, scopes: &[&str], extra: &[(&str, &str)]) -> Rp {
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
pub(crate) async fn to_consent(op: &impl Site, b: &reqwest::Client, auth_url: &str) -> (String, String) {
    let r = b.get(auth_url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", r.text().await.unwrap());
    let consent = format!("{}{}", op.base(), location(&r));
    assert!(consent.contains("/oidc/consent/"), "{consent}");
    let r = b.get(&consent).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    (consent, r.text().await.unwrap())
}

/// The hidden form token of the consent page at `url` (for this browser).
pub(crate) async fn consent_token(b: &reqwest::Client, url: &str) -> String {
    crate::common::form_token_of(&crate::common::page_text(b.get(url)).await)
}

/// Agrees on the consent page in browser `b`: the session's id (its cookie came with the
/// answer, which leads to the procedure page).
pub(crate) async fn agree(b: &reqwest::Client, consent_url: &str) -> String {
    let csrf = consent_token(b, consent_url).await;
    let r = b
        .post(consent_url)
        .form(&[("decision", "allow"), ("csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", r.text().await.unwrap());
    // The session's cookie comes with the consent's answer; no address carries a secret.
    let procedure_path = location(&r);
    assert!(
        procedure_path.starts_with("/s/") && !procedure_path.contains("t="),
        "{procedure_path}"
    );
    procedure_path
        .trim_start_matches("/s/")
        .split('?')
        .next()
        .unwrap()
        .to_string()
}

/// What browser `b` sees at `path` of the provider's server (asserting it is there).
pub(crate) async fn page_of(op: &impl Site, b: &reqwest::Client, path: &str) -> String {
    let r = b.get(format!("{}{path}", op.base())).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{path}");
    r.text().await.unwrap()
}

/// Browser `b` opens the procedure page of session `id` and chooses "PC and IC card
/// reader": the handle of the `mynaid://` link.
pub(crate) async fn choose_pc(op: &impl Site, b: &reqwest::Client, id: &str) -> String {
    let html = page_of(op, b, &format!("/s/{id}")).await;
    assert!(html.contains("method-pc"), "{html}");
    let chosen = b
        .post(format!("{}/s/{id}/pc", op.base()))
        .form(&[("csrf", crate::common::form_token_of(&html))])
        .send()
        .await
        .unwrap();
    // Answered `303` to the page, which the browser gets.
    assert_eq!(chosen.status(), StatusCode::SEE_OTHER);
    let page = page_of(op, b, &format!("/s/{id}/pc")).await;
    let link = html_unescape(&between(&page, "id=\"launch\"", "href=\"", "\""));
    link.split("handle=").nth(1).unwrap().to_string()
}

/// The reader app on somebody's PC redeems `handle` and sends the evidence of `person`'s card:
/// the accepted answer (confirmation code, the way back to the browser).
pub(crate) async fn reader_app_reads(op: &impl Site, handle: &str, person: &str) -> Value {
    let (status, answer) = reader_app_reads_with(op, handle, person, Route::UserAuthentication).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    answer
}

/// [`reader_app_reads`] through `route`: the evidence's answer, whatever it is.
pub(crate) async fn reader_app_reads_with(
    op: &impl Site,
    handle: &str,
    person: &str,
    route: Route,
) -> (StatusCode, Value) {
    let http = reqwest::Client::new();
    let answer: Value = http
        .post(format!("{}/api/v1/handles/{handle}/redeem", op.base()))
        .json(&json!({ "reader": { "name": "mynaid-reader", "version": crate::common::READER_VERSION }, "device": "pc_reader_app" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let evidence = read_card(person, route, &answer);
    let r = http
        .post(format!("{}/api/v1/handles/{handle}/evidence", op.base()))
        .bearer_auth(answer["submission_token"].as_str().unwrap())
        .header(header::CONTENT_TYPE, "application/json")
        .body(evidence)
        .send()
        .await
        .unwrap();
    (r.status(), r.json().await.unwrap_or_default())
}

/// The reader app opens its way back in browser `b` (what the return page's script posts).
pub(crate) async fn come_back(op: &impl Site, b: &reqwest::Client, submitted: &Value) -> reqwest::Response {
    let handle = submitted["return_url"]
        .as_str()
        .unwrap()
        .split_once("/return#")
        .unwrap()
        .1;
    b.post(format!("{}/return", op.base()))
        .json(&json!({ "result_handle": handle }))
        .send()
        .await
        .unwrap()
}

/// Browser `b` follows session `id`'s result page back to the provider's callback: the
/// callback's answer.
pub(crate) async fn back_to_callback(op: &impl Site, b: &reqwest::Client, id: &str) -> reqwest::Response {
    let done = page_of(op, b, &format!("/s/{id}/done")).await;
    let back = html_unescape(&between(&done, "class=\"button", "href=\"", "\""));
    assert!(
        back.starts_with(&format!("{}/oidc/callback?session=", op.base())),
        "{back}"
    );
    b.get(&back).send().await.unwrap()
}

/// Agrees on the consent page, goes through the procedure page (pattern 1), reads `person`'s
/// card in process, comes back to the same browser, and on to the callback: returns the
/// final redirect to the client.
pub(crate) async fn consent_and_read(op: &impl Site, b: &reqwest::Client, consent_url: &str, person: &str) -> String {
    let id = agree(b, consent_url).await;
    let handle = choose_pc(op, b, &id).await;
    let submitted = reader_app_reads(op, &handle, person).await;
    let r = come_back(op, b, &submitted).await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    let r = back_to_callback(op, b, &id).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", r.text().await.unwrap());
    location(&r)
}

/// The whole way from the authorization request to the code; checks `state` and `iss`.
pub(crate) async fn code_for(op: &impl Site, rp: &Rp, person: &str) -> String {
    let b = browser();
    let (consent, _) = to_consent(op, &b, &rp.auth_url).await;
    let back = consent_and_read(op, &b, &consent, person).await;
    let q = query_of(&back);
    assert_eq!(q.get("state"), Some(rp.csrf.secret()), "{back}");
    assert_eq!(q.get("iss").map(String::as_str), Some(op.base()), "{back}");
    assert!(!back.contains("error"), "{back}");
    q["code"].clone()
}

/// The token request, as the library makes it (`rp-jwt` adds a client assertion).
pub(crate) async fn exchange(rp: &mut Rp, code: &str, assertion: Option<String>) -> CoreTokenResponse {
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
pub(crate) async fn raw_token(op: &Op, form: &[(&str, &str)], basic: Option<(&str, &str)>) -> (StatusCode, Value) {
    let mut req = reqwest::Client::new().post(op.token_url()).form(form);
    if let Some((id, secret)) = basic {
        req = req.basic_auth(id, Some(secret));
    }
    let r = req.send().await.unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// A code exchanged by hand by the `client_secret_basic` client, with its PKCE verifier and
/// the given redirect URI: what a relying party sends, for the refusals a library won't send.
pub(crate) async fn raw_code_exchange(op: &Op, code: &str, redirect_uri: &str, verifier: &str) -> (StatusCode, Value) {
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect_uri),
        ("code_verifier", verifier),
    ];
    raw_token(op, &form, Some((BASIC_CLIENT, BASIC_SECRET))).await
}

pub(crate) async fn raw_userinfo(op: &Op, token: &str) -> (StatusCode, HeaderMap, Value) {
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
pub(crate) struct Verified {
    pub(crate) verified_claims: Option<Value>,
}
impl AdditionalClaims for Verified {}

pub(crate) fn payload(jwt: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(jwt.split('.').nth(1).unwrap()).unwrap()).unwrap()
}

pub(crate) fn jwt_header(jwt: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(jwt.split('.').next().unwrap()).unwrap()).unwrap()
}

/// A Node project of this crate (`src`: a script, `package.json` and its lock file, under the
/// crate's directory) installed with `npm ci` from the lock file into the target's temporary
/// directory, once: the directory to run `script` in. `package` is the dependency whose
/// presence says it is installed.
pub(crate) fn npm_project(src: &str, script: &str, package: &str) -> std::path::PathBuf {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(src);
    let name = src.file_name().unwrap().to_string_lossy().into_owned();
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::create_dir_all(&dir).unwrap();
    for f in [script, "package.json", "package-lock.json"] {
        std::fs::copy(src.join(f), dir.join(f)).unwrap();
    }
    if !dir.join("node_modules").join(package).join("package.json").exists() {
        let out = std::process::Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--ignore-scripts"])
            .current_dir(&dir)
            .output()
            .expect("npm (Node.js) is installed");
        assert!(out.status.success(), "npm ci: {}", String::from_utf8_lossy(&out.stderr));
    }
    dir
}

/// The discovery document as JSON.
pub(crate) async fn discovery_json(op: &impl Site) -> Value {
    reqwest::get(format!("{}/.well-known/openid-configuration", op.base()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}
