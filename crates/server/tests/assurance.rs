//! Every result says what it proves (docs/oidc.md "Assurance"): the ID token carries `acr`
//! and `amr` of the route the card was read by, `verified_claims` claims AML-grade
//! verification (`jp_aml`) for the signature route only and names no certificate serial or
//! issuer, a request's `acr_values` (or an essential `acr` in `claims`) limits the routes on
//! offer and is refused when no accepted route gives it, and a service that configures no
//! routes gets the signature route only to verify identity.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "oidc_support/mod.rs"]
mod support;

use mynaid_protocol::{ACR_JPKI_SIGNATURE, ACR_JPKI_USER_AUTHENTICATION, Route};
use openidconnect::OAuth2TokenResponse;
use openidconnect::TokenResponse;
use reqwest::StatusCode;
use serde_json::Value;
use support::*;

/// The whole flow through `route`; the ID token's `acr` and `amr`, and UserInfo.
async fn read_through(op: &Op, extra: &[(&str, &str)], route: Route, person: &str) -> (String, Vec<String>, Value) {
    let mut rp = new_rp(op, JWT_CLIENT, &["name", "birthdate"], extra).await;
    let b = browser();
    let (consent, _) = to_consent(op, &b, &rp.auth_url).await;
    let id = agree(&b, &consent).await;
    let handle = choose_pc(op, &b, &id).await;
    let (status, submitted) = reader_app_reads_with(op, &handle, person, route).await;
    assert_eq!(status, StatusCode::OK, "{submitted}");
    assert_eq!(come_back(op, &b, &submitted).await.status(), StatusCode::OK);
    let back = location(&back_to_callback(op, &b, &id).await);
    let code = query_of(&back)["code"].clone();
    let tokens = exchange(&mut rp, &code, Some(op.assertion())).await;
    let verifier = rp.client.id_token_verifier().set_time_fn(op.time_fn());
    let claims = tokens.id_token().unwrap().claims(&verifier, &rp.nonce).unwrap();
    let acr = claims.auth_context_ref().expect("acr").to_string();
    let amr = claims
        .auth_method_refs()
        .expect("amr")
        .iter()
        .map(|a| a.to_string())
        .collect();
    let (_, _, info) = raw_userinfo(op, tokens.access_token().secret()).await;
    (acr, amr, info)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_route_says_what_it_proves() {
    let op = Op::start().await;
    let (acr, amr, info) = read_through(&op, &[], Route::Signature, "p01").await;
    assert_eq!(
        (acr.as_str(), amr),
        (
            ACR_JPKI_SIGNATURE,
            vec!["hwk".to_string(), "mfa".into(), "pin".into(), "sc".into()]
        )
    );
    let v = &info["verified_claims"]["verification"];
    assert_eq!(v["trust_framework"], "jp_aml", "{info}");
    let evidence = v["evidence"][0].as_object().unwrap();
    assert!(
        !evidence.contains_key("serial_number") && !evidence.contains_key("issuer"),
        "{info}"
    );

    // The 4-digit route: the PIN proven to the card (a live signature of the
    // user-authentication key), but the four items are records not bound to that
    // certificate: no claim of AML-grade identity verification.
    let (acr, amr, info) = read_through(&op, &[], Route::UserAuthentication, "p02").await;
    assert_eq!(
        (acr.as_str(), amr),
        (
            ACR_JPKI_USER_AUTHENTICATION,
            vec!["hwk".to_string(), "mfa".into(), "pin".into(), "sc".into()]
        )
    );
    let v = &info["verified_claims"]["verification"];
    assert_eq!(v["trust_framework"], "mynaid_jpki_user_authentication", "{info}");
    let kinds: Vec<&str> = v["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["electronic_signature", "electronic_record"], "{info}");
    let text = info.to_string();
    assert!(
        !text.contains("serial") && !text.contains("issuer_key_id"),
        "no serial or issuer for this route either: {info}"
    );

    // The discovery document lists both values.
    let d = discovery_json(&op).await;
    assert_eq!(
        d["acr_values_supported"],
        serde_json::json!([ACR_JPKI_SIGNATURE, ACR_JPKI_USER_AUTHENTICATION])
    );
    assert_eq!(d["claims_parameter_supported"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acr_values_limit_the_routes_and_are_refused_when_unmet() {
    let op = Op::start().await;
    // Asked for the signature route: the page asks for the password only, the app is
    // offered only that route, and evidence of the other is refused.
    let rp = new_rp(&op, JWT_CLIENT, &["name"], &[("acr_values", ACR_JPKI_SIGNATURE)]).await;
    let b = browser();
    let (consent, _) = to_consent(&op, &b, &rp.auth_url).await;
    let id = agree(&b, &consent).await;
    let page = page_of(&op, &b, &format!("/s/{id}")).await;
    assert!(page.contains("署名用電子証明書のパスワードを使います"), "{page}");
    let handle = choose_pc(&op, &b, &id).await;
    let (status, refused) = reader_app_reads_with(&op, &handle, "p01", Route::UserAuthentication).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert_eq!(refused["error"]["code"], "route_not_accepted");
    // The same request through the route it asked for.
    let (acr, _, _) = read_through(&op, &[("acr_values", ACR_JPKI_SIGNATURE)], Route::Signature, "p01").await;
    assert_eq!(acr, ACR_JPKI_SIGNATURE);
    // An essential acr in `claims` works the same.
    let claims = format!(r#"{{"id_token":{{"acr":{{"essential":true,"value":"{ACR_JPKI_USER_AUTHENTICATION}"}}}}}}"#);
    let (acr, _, _) = read_through(&op, &[("claims", &claims)], Route::UserAuthentication, "p02").await;
    assert_eq!(acr, ACR_JPKI_USER_AUTHENTICATION);
    // A value no route gives: back to the client with the error, nothing started.
    let rp = new_rp(&op, JWT_CLIENT, &["name"], &[("acr_values", "urn:example:loa:4")]).await;
    let r = browser().get(&rp.auth_url).send().await.unwrap();
    let q = query_of(&location(&r));
    assert_eq!(q["error"], "unmet_authentication_requirements");
    assert_eq!(&q["state"], rp.csrf.secret());
}

/// A service that configures no routes: to verify identity the signature route only; to
/// link a card either.
#[tokio::test]
async fn without_configured_routes_verifying_identity_takes_the_signature_route() {
    let s = common::Server::with(|c| c.relying_parties[0].accepted_routes = Vec::new()).await;
    let verify = s.redeemed("verify_identity").await;
    assert_eq!(verify.answer["accepted_credentials"], serde_json::json!(["signature"]));
    let evidence = common::read_card("p01", Route::UserAuthentication, &verify.answer);
    s.submit(&verify.handle, verify.token(), evidence)
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "route_not_accepted");
    let link = s.redeemed("link_card").await;
    assert_eq!(
        link.answer["accepted_credentials"],
        serde_json::json!(["user_authentication", "signature"])
    );
}
