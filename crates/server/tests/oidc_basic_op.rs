//! What the OpenID Foundation's Basic OP certification plan asks of a provider, where mynaid
//! used to refuse what certified relying parties send (docs/oidc-conformance.md has the whole
//! checklist): `nonce` optional in the code flow (a client may require it), PKCE per client,
//! `client_secret_post`, UserInfo with the token in the header or the form body, an
//! unsupported `response_mode` refused rather than ignored, client assertions that live an
//! hour (their `jti` kept until `exp`), and a used code that keeps no personal data.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "oidc_support/mod.rs"]
mod support;

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::*;

/// An authorization URL of `client_id` with `params` (and nothing else; `scope` is
/// `openid name` unless `params` has one).
fn auth_url(op: &Op, client_id: &str, redirect_uri: &str, params: &[(&str, &str)]) -> String {
    let mut url = url::Url::parse(&format!("{}/oidc/authorize", op.base)).unwrap();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("state", "state-1");
    if !params.iter().any(|(k, _)| *k == "scope") {
        url.query_pairs_mut().append_pair("scope", "openid name");
    }
    for (k, v) in params {
        url.query_pairs_mut().append_pair(k, v);
    }
    url.to_string()
}

/// The whole way from `url` to the code (p01's card, the 4-digit route).
async fn code_from(op: &Op, url: &str) -> String {
    let b = browser();
    let (consent, _) = to_consent(op, &b, url).await;
    let back = consent_and_read(op, &b, &consent, "p01").await;
    let q = query_of(&back);
    assert!(!q.contains_key("error"), "{back}");
    q["code"].clone()
}

/// Where the authorization request goes straight back to the client (an error), as a query.
async fn refused_back(url: &str) -> std::collections::HashMap<String, String> {
    let r = browser().get(url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    query_of(&location(&r))
}

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

async fn post_client_tokens(op: &Op, code: &str) -> (StatusCode, Value) {
    raw_token(
        op,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", POST_REDIRECT),
            ("client_id", POST_CLIENT),
            ("client_secret", POST_SECRET),
        ],
        None,
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nonce_is_optional_in_the_code_flow_and_a_client_may_require_it() {
    let op = Op::start().await;
    // oidcc-ensure-request-without-nonce-succeeds-for-code-flow: no nonce, PKCE as usual.
    let pkce = [("code_challenge", CHALLENGE), ("code_challenge_method", "S256")];
    let code = code_from(&op, &auth_url(&op, BASIC_CLIENT, BASIC_REDIRECT, &pkce)).await;
    let (status, tokens) = raw_code_exchange(&op, &code, BASIC_REDIRECT, VERIFIER).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let id_token = payload(tokens["id_token"].as_str().unwrap());
    assert!(id_token.get("nonce").is_none(), "no nonce was asked for: {id_token}");
    assert!(
        id_token["auth_time"].is_i64() && id_token["acr"].is_string(),
        "{id_token}"
    );
    // With a nonce, it comes back (the same client).
    let with = [pkce[0], pkce[1], ("nonce", "n-0S6_WzA2Mj")];
    let code = code_from(&op, &auth_url(&op, BASIC_CLIENT, BASIC_REDIRECT, &with)).await;
    let (_, tokens) = raw_code_exchange(&op, &code, BASIC_REDIRECT, VERIFIER).await;
    assert_eq!(payload(tokens["id_token"].as_str().unwrap())["nonce"], "n-0S6_WzA2Mj");
    // A client registered with require_nonce: refused back to it, nothing started.
    let q = refused_back(&auth_url(&op, POST_CLIENT, POST_REDIRECT, &[])).await;
    assert_eq!(
        (q["error"].as_str(), q["state"].as_str()),
        ("invalid_request", "state-1")
    );
    assert!(q["error_description"].contains("nonce"), "{q:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pkce_is_required_unless_the_client_is_registered_without_it() {
    let op = Op::start().await;
    // The default: no PKCE, or plain, goes back as an error.
    let q = refused_back(&auth_url(&op, BASIC_CLIENT, BASIC_REDIRECT, &[])).await;
    assert_eq!(q["error"], "invalid_request");
    let plain = [("code_challenge", VERIFIER), ("code_challenge_method", "plain")];
    let q = refused_back(&auth_url(&op, BASIC_CLIENT, BASIC_REDIRECT, &plain)).await;
    assert!(q["error_description"].contains("plain"), "{q:?}");
    // A client registered without it: the flow works without, and a verifier sent with a
    // code that had no challenge is refused (the two disagree about the request).
    let nonce = [("nonce", "n-1")];
    let code = code_from(&op, &auth_url(&op, POST_CLIENT, POST_REDIRECT, &nonce)).await;
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", POST_REDIRECT),
        ("client_id", POST_CLIENT),
        ("client_secret", POST_SECRET),
        ("code_verifier", VERIFIER),
    ];
    let (status, body) = raw_token(&op, &form, None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    let code = code_from(&op, &auth_url(&op, POST_CLIENT, POST_REDIRECT, &nonce)).await;
    form[1].1 = code.as_str();
    form.pop();
    let (status, body) = raw_token(&op, &form, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // PKCE still holds for it when it sends a challenge: a wrong verifier is refused.
    let with = [
        nonce[0],
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ];
    let code = code_from(&op, &auth_url(&op, POST_CLIENT, POST_REDIRECT, &with)).await;
    form[1].1 = code.as_str();
    form.push(("code_verifier", "x".repeat(43).leak()));
    let (status, body) = raw_token(&op, &form, None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_secret_post_authenticates_its_client_only() {
    let op = Op::start().await;
    let nonce = [("nonce", "n-2")];
    let code = code_from(&op, &auth_url(&op, POST_CLIENT, POST_REDIRECT, &nonce)).await;
    // The attacker's steps: the right secret in Basic instead of the registered method, a
    // wrong secret, and another client's secret; none takes the code.
    let base = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", POST_REDIRECT),
    ];
    let (status, body) = raw_token(&op, &base, Some((POST_CLIENT, POST_SECRET))).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client"))
    );
    let mut wrong = base.to_vec();
    wrong.extend([
        ("client_id", POST_CLIENT),
        ("client_secret", "post-client-secret-0123456789abcdeX"),
    ]);
    let (status, body) = raw_token(&op, &wrong, None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client"))
    );
    let mut other = base.to_vec();
    other.extend([("client_id", BASIC_CLIENT), ("client_secret", BASIC_SECRET)]);
    let (status, _) = raw_token(&op, &other, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a Basic client's secret in the body");
    // Secret in the body and Basic at once: one method only.
    let (status, body) = raw_token(&op, &wrong, Some((POST_CLIENT, POST_SECRET))).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request"))
    );
    // The legitimate request beside them: the code was not used up by the refusals.
    let (status, tokens) = post_client_tokens(&op, &code).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(payload(tokens["id_token"].as_str().unwrap())["nonce"], "n-2");
    // Discovery says so.
    let d = discovery_json(&op).await;
    assert_eq!(
        d["token_endpoint_auth_methods_supported"],
        json!(["private_key_jwt", "client_secret_basic", "client_secret_post"])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn userinfo_takes_the_token_in_the_header_or_the_form_body_not_both() {
    let op = Op::start().await;
    let code = code_from(&op, &auth_url(&op, POST_CLIENT, POST_REDIRECT, &[("nonce", "n-3")])).await;
    let (_, tokens) = post_client_tokens(&op, &code).await;
    let access = tokens["access_token"].as_str().unwrap();
    let url = format!("{}/oidc/userinfo", op.base);
    let http = reqwest::Client::new();
    let name = mynaid_testkit::person("p01").name;
    // oidcc-userinfo-get, -post-header, -post-body.
    let get = http.get(&url).bearer_auth(access).send().await.unwrap();
    assert_eq!(get.status(), StatusCode::OK);
    let by_get: Value = get.json().await.unwrap();
    assert_eq!(by_get["name"], name.as_str());
    let post_header: Value = http
        .post(&url)
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let r = http.post(&url).form(&[("access_token", access)]).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let post_body: Value = r.json().await.unwrap();
    assert_eq!((&by_get, &by_get), (&post_header, &post_body));
    // Both at once is refused (RFC 6750 §2), and a wrong token in the body too.
    let r = http
        .post(&url)
        .bearer_auth(access)
        .form(&[("access_token", access)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = http
        .post(&url)
        .form(&[("access_token", "not-a-token")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unsupported_response_mode_is_refused_not_ignored() {
    let op = Op::start().await;
    let pkce = [("code_challenge", CHALLENGE), ("code_challenge_method", "S256")];
    for mode in ["fragment", "form_post", "query.jwt"] {
        let params = [pkce[0], pkce[1], ("response_mode", mode)];
        let q = refused_back(&auth_url(&op, BASIC_CLIENT, BASIC_REDIRECT, &params)).await;
        assert_eq!(q["error"], "invalid_request", "{mode}");
        assert!(q["error_description"].contains("response_mode"), "{q:?}");
    }
    // `query`, the only one there is, is accepted (the person reaches the consent page).
    let params = [pkce[0], pkce[1], ("response_mode", "query")];
    to_consent(&op, &browser(), &auth_url(&op, BASIC_CLIENT, BASIC_REDIRECT, &params)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_assertion_may_live_an_hour_and_is_accepted_once() {
    let op = Op::start().await;
    let mut rp = new_rp(&op, JWT_CLIENT, &["name"], &[]).await;
    let code = code_for(&op, &rp, "p01").await;
    let token_form = |assertion: &str, code: &str| {
        vec![
            ("grant_type".to_string(), "authorization_code".to_string()),
            ("code".into(), code.into()),
            ("redirect_uri".into(), JWT_REDIRECT.into()),
            ("code_verifier".into(), rp.verifier.as_ref().unwrap().secret().clone()),
            ("client_assertion_type".into(), ASSERTION_TYPE.into()),
            ("client_assertion".into(), assertion.into()),
        ]
    };
    let send = |form: Vec<(String, String)>| {
        let op = &op;
        async move {
            let r = reqwest::Client::new()
                .post(op.token_url())
                .form(&form)
                .send()
                .await
                .unwrap();
            let status = r.status();
            (status, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    // What a common library sends: exp an hour ahead, aud the issuer. Above the configured
    // maximum (default 3600 s) it is refused.
    let mut too_long = op.assertion_claims();
    too_long["exp"] = json!(op.now() + 3600 + 120);
    too_long["aud"] = json!(op.base);
    let (status, body) = send(token_form(&op.key.sign(&too_long), &code)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client"))
    );
    let mut hour = op.assertion_claims();
    hour["exp"] = json!(op.now() + 3600);
    hour["aud"] = json!(op.base);
    let assertion = op.key.sign(&hour);
    let (status, body) = send(token_form(&assertion, &code)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // The same assertion again, 50 minutes later (still before its exp): its jti is kept.
    op.advance(3000);
    let code2 = code_for(&op, &rp, "p01").await;
    let (status, body) = send(token_form(&assertion, &code2)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client"))
    );
    assert!(body["error_description"].as_str().unwrap().contains("jti"), "{body}");
    let _ = &mut rp;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_used_code_keeps_no_personal_data() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("mynaid.db").display());
    let op = Op::with(|c| c.database_url = db.clone()).await;
    let pool = sqlx::SqlitePool::connect(&db).await.unwrap();
    let grant_bytes = |pool: sqlx::SqlitePool| async move {
        let sizes: Vec<i64> = sqlx::query_scalar("SELECT length(grant_data) FROM oidc_codes")
            .fetch_all(&pool)
            .await
            .unwrap();
        sizes
    };
    let code = code_from(&op, &auth_url(&op, POST_CLIENT, POST_REDIRECT, &[("nonce", "n-4")])).await;
    let before = grant_bytes(pool.clone()).await;
    assert!(
        before.len() == 1 && before[0] > 0,
        "the issued code holds its sealed grant: {before:?}"
    );
    let (status, _) = post_client_tokens(&op, &code).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        grant_bytes(pool.clone()).await,
        [0],
        "taken: the grant is gone, the row stays"
    );
    // The row still recognises a replay (oidcc-codereuse): refused, and the first tokens die.
    let (status, body) = post_client_tokens(&op, &code).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_certified_relying_parties_also_send_is_accepted() {
    let op = Op::start().await;
    let pkce = [("code_challenge", CHALLENGE), ("code_challenge_method", "S256")];
    // Each of these reaches the consent page (the person reads the card every time, so a
    // fresh login — prompt=login, max_age — always holds; hints and display are advice).
    for extra in [
        ("prompt", "login"),
        ("prompt", "consent"),
        ("prompt", "login consent"),
        ("max_age", "0"),
        ("max_age", "10000"),
        ("display", "page"),
        ("display", "popup"),
        ("login_hint", "someone@example.jp"),
        ("id_token_hint", "eyJhbGciOiJSUzI1NiJ9.e30.c2ln"),
        ("ui_locales", "en ja"),
        ("claims_locales", "ja"),
        ("acr_values", mynaid_protocol::ACR_JPKI_USER_AUTHENTICATION),
        ("unknown_parameter", "is ignored"),
        ("scope", "openid profile email offline_access name"),
    ] {
        let params = [pkce[0], pkce[1], extra];
        let url = auth_url(&op, BASIC_CLIENT, BASIC_REDIRECT, &params);
        let (_, html) = to_consent(&op, &browser(), &url).await;
        assert!(html.contains("consent-allow"), "{extra:?}: {html:.300}");
    }
    // The whole flow with max_age and unknown scopes: auth_time is the card reading's time,
    // and only the scopes this provider knows are granted.
    let params = [
        pkce[0],
        pkce[1],
        ("max_age", "1"),
        ("scope", "openid profile name email"),
    ];
    let url = auth_url(&op, BASIC_CLIENT, BASIC_REDIRECT, &params);
    let code = code_from(&op, &url).await;
    let (status, tokens) = raw_code_exchange(&op, &code, BASIC_REDIRECT, VERIFIER).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(tokens["scope"], "openid name");
    let id_token = payload(tokens["id_token"].as_str().unwrap());
    assert_eq!(id_token["auth_time"], op.now(), "{id_token}");
    // prompt=none can never hold (the card must be read): the client hears so at once.
    let params = [pkce[0], pkce[1], ("prompt", "none")];
    let q = refused_back(&auth_url(&op, BASIC_CLIENT, BASIC_REDIRECT, &params)).await;
    assert_eq!(q["error"], "login_required");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_objects_are_refused_as_unsupported_and_the_request_may_be_posted() {
    let op = Op::start().await;
    let pkce = [("code_challenge", CHALLENGE), ("code_challenge_method", "S256")];
    // An unsigned request object, and a request_uri: refused with the codes the suite accepts.
    let object = "eyJhbGciOiJub25lIn0.eyJzY29wZSI6Im9wZW5pZCJ9.";
    let q = refused_back(&auth_url(
        &op,
        BASIC_CLIENT,
        BASIC_REDIRECT,
        &[pkce[0], pkce[1], ("request", object)],
    ))
    .await;
    assert_eq!(q["error"], "request_not_supported");
    let uri = ("request_uri", "https://rp.example.jp/request.jwt");
    let q = refused_back(&auth_url(&op, BASIC_CLIENT, BASIC_REDIRECT, &[pkce[0], pkce[1], uri])).await;
    assert_eq!(q["error"], "request_uri_not_supported");
    // oidcc-ensure-post-request-succeeds: the same request as a form POST.
    let url = auth_url(&op, BASIC_CLIENT, BASIC_REDIRECT, &pkce);
    let (endpoint, query) = url.split_once('?').unwrap();
    let b = browser();
    let r = b
        .post(endpoint)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(query.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(location(&r).contains("/oidc/consent/"), "{}", location(&r));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_consent_page_follows_ui_locales_then_the_switch_then_accept_language() {
    let op = Op::start().await;
    let pkce = [("code_challenge", CHALLENGE), ("code_challenge_method", "S256")];
    // `switched`: the language this browser chose earlier with a page's switch.
    let consent_lang =
        |accept: &'static str, switched: Option<&'static str>, extra: Option<(&'static str, &'static str)>| {
            let op = &op;
            async move {
                let mut params = vec![pkce[0], pkce[1]];
                params.extend(extra);
                let url = auth_url(op, BASIC_CLIENT, BASIC_REDIRECT, &params);
                let b = browser();
                if let Some(l) = switched {
                    let r = b.get(format!("{}/?lang={l}", op.base)).send().await.unwrap();
                    assert!(
                        r.headers()
                            .get_all("set-cookie")
                            .iter()
                            .any(|c| c.to_str().unwrap().starts_with(&format!("mynaid-lang={l};"))),
                        "the switch is remembered"
                    );
                }
                let r = b.get(&url).header("accept-language", accept).send().await.unwrap();
                let consent = format!("{}{}", op.base, location(&r));
                let html = common::page_text(b.get(&consent).header("accept-language", accept)).await;
                html.contains("<html lang=\"en\"")
            }
        };
    assert!(consent_lang("en-US,en;q=0.9", None, None).await, "an English browser");
    assert!(!consent_lang("ja", None, None).await);
    assert!(
        !consent_lang("en-US", None, Some(("ui_locales", "ja"))).await,
        "ui_locales wins"
    );
    assert!(
        consent_lang("ja", None, Some(("ui_locales", "fr-FR en"))).await,
        "the first of ui_locales' languages this provider speaks"
    );
    // The person switched to English on an earlier page: the consent page follows, whatever
    // the browser prefers; and back to Japanese the same way.
    assert!(consent_lang("ja", Some("en"), None).await, "the remembered switch");
    assert!(!consent_lang("en-US", Some("ja"), None).await, "the remembered switch");
    assert!(
        !consent_lang("en-US", Some("en"), Some(("ui_locales", "ja"))).await,
        "ui_locales still wins"
    );
}
