//! OpenID Connect: everything the provider must refuse, against a running server with the
//! `openidconnect` crate as the relying party (see `oidc.rs` for the flow that works): wrong
//! redirect URIs and clients, missing PKCE, state or nonce, declined consent, a callback in
//! another browser, wrong verifiers, replayed and expired codes and tokens, wrong client
//! authentication, tampered ID tokens.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "oidc_support/mod.rs"]
mod support;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use openidconnect::core::{CoreClient, CoreIdToken};
use openidconnect::{ClientId, Nonce, OAuth2TokenResponse, TokenResponse};
use reqwest::StatusCode;
use reqwest::header::{self};
use serde_json::json;

use support::*;

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
async fn pkce_s256_state_and_allowed_scopes_are_required() {
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
    // nonce is optional in the code flow (oidc_basic_op.rs), but one that is not printable
    // ASCII is refused.
    let q = refused(&op, &format!("{}&nonce=%0A", without(&rp.auth_url, "nonce"))).await;
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
        (StatusCode::BAD_REQUEST, Some("invalid_grant")),
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
    let (status, body) = raw_code_exchange(&op, &code, BASIC_REDIRECT, &verifier).await;
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
    let (status, body) = raw_code_exchange(&op, &code, BASIC_REDIRECT, &verifier).await;
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
    c["exp"] = json!(op.now() + 3600 + 300);
    cases.push(("lives longer than max_assertion_lifetime_secs", op.key.sign(&c)));
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
    let (status, body) = raw_code_exchange(&op, &code, JWT_REDIRECT, &verifier).await;
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

/// A flood of authorization requests from one address: past the limit each is refused with
/// 429 and `Retry-After`; nothing of any of them is stored (a request is stored only when
/// the person decides, sealed in the browser's cookie until then); another address is
/// served as usual, and the person who agrees still gets through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_authorization_flood_is_refused_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("flood.db");
    let url = format!("sqlite://{}", db.display());
    let op = Op::with(|c| {
        c.database_url = url.clone();
        c.limits.client_address_header = Some("x-forwarded-for".into());
        c.limits.per_address_burst = 20;
        c.limits.per_address_per_minute = 1;
    })
    .await;
    let rp = new_rp(&op, JWT_CLIENT, &["name"], &[]).await;
    let http = browser();
    let (mut served, mut refused) = (0, 0);
    for _ in 0..200 {
        let r = http
            .get(&rp.auth_url)
            .header("x-forwarded-for", "192.0.2.66")
            .send()
            .await
            .unwrap();
        match r.status() {
            StatusCode::SEE_OTHER => served += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                assert!(r.headers().contains_key(header::RETRY_AFTER));
                refused += 1;
            }
            other => panic!("authorize answered {other}"),
        }
    }
    assert_eq!((served, refused), (20, 180));
    let count = |table: &'static str| {
        let url = url.clone();
        async move {
            let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
            let (n,): (i64,) = sqlx::query_as(&format!("SELECT COUNT(*) FROM {table}"))
                .fetch_one(&pool)
                .await
                .unwrap();
            n
        }
    };
    assert_eq!(count("oidc_requests").await, 0, "nothing stored before a decision");
    assert_eq!(count("sessions").await, 0);
    // Another address, and the person who agrees there: one request stored, one session.
    let person = browser();
    let r = person
        .get(&rp.auth_url)
        .header("x-forwarded-for", "198.51.100.7")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let consent = format!("{}{}", op.base, location(&r));
    let html = common::page_text(person.get(&consent).header("x-forwarded-for", "198.51.100.7")).await;
    let r = person
        .post(&consent)
        .header("x-forwarded-for", "198.51.100.7")
        .form(&[("decision", "allow"), ("csrf", &common::form_token_of(&html))])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", r.text().await.unwrap());
    assert_eq!((count("oidc_requests").await, count("sessions").await), (1, 1));
}
