//! OpenID Connect against a running server on a random port, with the `openidconnect` crate as
//! an independent relying-party library: discovery, the authorization request, the consent
//! page and the procedure page followed by a plain HTTP client with a cookie jar, the card read
//! from an emulated card in process, the token request, UserInfo and the ID token's checks;
//! scopes, signing-key rotation, what is stored and when it goes. The refusals are in
//! `oidc_refusals.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "oidc_support/mod.rs"]
mod support;

use openidconnect::core::{CoreClient, CoreGenderClaim, CoreIdToken};
use openidconnect::{AccessTokenHash, ClientId, Nonce, OAuth2TokenResponse, TokenResponse, UserInfoClaims};
use reqwest::StatusCode;
use serde_json::{Value, json};

use support::*;

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
    assert_eq!(meta["id_token_signing_alg_values_supported"], json!(["RS256", "PS256"]));
    assert_eq!(meta["subject_types_supported"], json!(["pairwise"]));
    assert_eq!(
        meta["token_endpoint_auth_methods_supported"],
        json!(["private_key_jwt", "client_secret_basic", "client_secret_post"])
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
    let en = common::page_text(b.get(format!("{consent}?lang=en"))).await;
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
    // The 4-digit route claims no AML-grade verification (assurance.rs has both routes).
    assert_eq!(vc["verification"]["trust_framework"], "mynaid_jpki_user_authentication");
    assert_eq!(vc["verification"]["mynaid_route"], "user_authentication");
    assert_eq!(vc["verification"]["time"], "2026-11-27T00:00:00Z");
    assert_eq!(vc["verification"]["evidence"][0]["type"], "electronic_signature");
    assert_eq!(vc["verification"]["evidence"][1]["type"], "electronic_record");

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

/// Rows of each OpenID Connect table that expires.
async fn oidc_rows(pool: &sqlx::SqlitePool) -> Vec<(&'static str, i64)> {
    let mut counts = Vec::new();
    for table in ["oidc_requests", "oidc_codes", "oidc_tokens", "oidc_jtis"] {
        let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(pool)
            .await
            .unwrap();
        counts.push((table, n));
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_purge_deletes_expired_requests_codes_tokens_and_replay_ids() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("mynaid.db").display());
    let op = Op::with(|c| c.database_url = db.clone()).await;
    let mut rp = new_rp(&op, JWT_CLIENT, &["name"], &[]).await;
    let code = code_for(&op, &rp, "p01").await;
    exchange(&mut rp, &code, Some(op.assertion())).await;
    let pool = sqlx::SqlitePool::connect(&db).await.unwrap();
    let before = oidc_rows(&pool).await;
    assert!(before.iter().all(|(_, n)| *n > 0), "{before:?}");
    // What `serve` runs every `purge_interval_secs`: nothing unexpired goes.
    op.server.purge().await.unwrap();
    assert_eq!(oidc_rows(&pool).await, before);
    // Past every expiry and the purge's minute of grace (a request lives an hour, a
    // session's longest life): requests, tokens and replay ids go; the code stays a day
    // longer (a replay is still recognised), then goes too.
    op.advance(3600 + 61);
    op.server.purge().await.unwrap();
    let after_an_hour = oidc_rows(&pool).await;
    assert_eq!(
        after_an_hour,
        vec![
            ("oidc_requests", 0),
            ("oidc_codes", 1),
            ("oidc_tokens", 0),
            ("oidc_jtis", 0)
        ]
    );
    op.advance(86_400);
    op.server.purge().await.unwrap();
    assert!(oidc_rows(&pool).await.iter().all(|(_, n)| *n == 0));
    let keys: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM oidc_keys")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(keys > 0, "signing keys are not purged with the rows");
}

/// The consent page names the purpose in words that fit what the person does: `link_card`
/// is linking a card and signing in with a linked one (the portal's "sign in with my card"),
/// so its words say both, in Japanese and in English.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_consent_page_says_linking_or_signing_in_for_link_card() {
    let op = Op::start().await;
    let rp = new_rp(&op, JWT_CLIENT, &[], &[("purpose", "link_card")]).await;
    let b = browser();
    let (consent, page) = to_consent(&op, &b, &rp.auth_url).await;
    let purpose = common::between(&page, "id=\"consent-purpose\"", ">", "<");
    assert_eq!(
        purpose,
        "マイナンバーカードとアカウントの連携、または連携済みのカードでのサインイン"
    );
    let english = common::page_text(b.get(format!("{consent}?lang=en"))).await;
    let purpose = common::between(&english, "id=\"consent-purpose\"", ">", "<");
    assert_eq!(
        purpose,
        "Link your My Number Card to your account, or sign in with a card linked before"
    );
    // Identity verification keeps its own words.
    let rp = new_rp(&op, JWT_CLIENT, &[], &[]).await;
    let (_, page) = to_consent(&op, &browser(), &rp.auth_url).await;
    assert_eq!(common::between(&page, "id=\"consent-purpose\"", ">", "<"), "本人確認");
}
