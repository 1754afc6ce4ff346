//! The JSON API in process: sessions for relying parties, single-use handles, evidence from
//! emulated cards read in process, results taken once, expiry, revocation, malformed input,
//! the OpenAPI document, the body limit and what the SQLite file holds.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{Method, StatusCode, header};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::*;
use mynaid_sessions::Failure;
use mynaid_sessions::store::State;
use serde_json::{Value, json};

#[tokio::test]
async fn creating_a_session_needs_the_api_key() {
    let s = Server::start().await;
    let body = json!({ "purpose": "verify_identity" }).to_string();
    let r = s.call(Method::POST, "/api/v1/sessions", None, None, body.clone()).await;
    r.assert_error(StatusCode::UNAUTHORIZED, "unauthorized");
    let r = s
        .call(Method::POST, "/api/v1/sessions", Some("wrong-key"), None, body.clone())
        .await;
    r.assert_error(StatusCode::UNAUTHORIZED, "unauthorized");
    // A key that is only a prefix of the real one.
    let r = s
        .call(
            Method::POST,
            "/api/v1/sessions",
            Some(&API_KEY[..10]),
            None,
            body.clone(),
        )
        .await;
    r.assert_error(StatusCode::UNAUTHORIZED, "unauthorized");
    // Basic instead of Bearer.
    let req = axum::http::Request::post("/api/v1/sessions")
        .header(header::AUTHORIZATION, format!("Basic {API_KEY}"))
        .body(Body::from(body.clone()))
        .unwrap();
    s.send(req).await.assert_error(StatusCode::UNAUTHORIZED, "unauthorized");

    let r = s
        .create_session_with(API_KEY, json!({ "purpose": "verify_identity" }))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let v = r.json();
    let id = v["session_id"].as_str().unwrap();
    assert_eq!(id.len(), 22, "16 random bytes in base64url: {id}");
    let url = v["browser_url"].as_str().unwrap();
    let prefix = format!("{PUBLIC_URL}/s/{id}/start?t=");
    assert!(url.starts_with(&prefix), "{url}");
    assert_eq!(url[prefix.len()..].len(), 32, "24 random bytes in base64url: {url}");
    let row = s.state(id).await;
    assert_eq!(row.state, State::Created);
    assert_eq!(row.relying_party, "portal");
    assert_eq!(row.origin, ORIGIN);
    assert_eq!(row.purpose, mynaid_protocol::Purpose::VerifyIdentity);
    // Without one named, the way back is the first registered one: the result goes back
    // only through the browser.
    assert_eq!(row.return_url.as_deref(), Some(RETURN_URL));
    assert_eq!(row.expires_at, NOW + 300);

    // The other relying party's key makes a session of the other relying party.
    let r = s
        .create_session_with(OTHER_API_KEY, json!({ "purpose": "link_card" }))
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let other = s.state(r.json()["session_id"].as_str().unwrap()).await;
    assert_eq!(other.relying_party, "other");
    assert_eq!(other.origin, "https://other.example.jp");
}

#[tokio::test]
async fn creating_a_session_refuses_unregistered_return_urls_and_unknown_purposes() {
    let s = Server::start().await;
    for body in [
        json!({ "purpose": "verify_identity", "return_url": "https://evil.example/steal" }),
        // Registered, but for another relying party.
        json!({ "purpose": "verify_identity", "return_url": OTHER_RETURN_URL }),
        // Registered with a different query.
        json!({ "purpose": "verify_identity", "return_url": format!("{RETURN_URL}?x=1") }),
        json!({ "purpose": "read_everything" }),
        json!({ "purpose": "" }),
        json!({}),
        json!({ "purpose": "verify_identity", "extra": 1 }),
        json!({ "purpose": 7 }),
    ] {
        let r = s.create_session_with(API_KEY, body.clone()).await;
        r.assert_error(StatusCode::BAD_REQUEST, "bad_request");
    }
    let r = s
        .call(
            Method::POST,
            "/api/v1/sessions",
            Some(API_KEY),
            None,
            "purpose=verify_identity",
        )
        .await;
    r.assert_error(StatusCode::BAD_REQUEST, "bad_request");

    let r = s
        .create_session_with(API_KEY, json!({ "purpose": "link_card", "return_url": RETURN_URL }))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let row = s.state(r.json()["session_id"].as_str().unwrap()).await;
    assert_eq!(row.purpose, mynaid_protocol::Purpose::LinkCard);
    assert_eq!(row.return_url.as_deref(), Some(RETURN_URL));
}

#[tokio::test]
async fn redeem_tells_the_reader_who_asks_and_why_once() {
    let s = Server::start().await;
    let b = s.browser("link_card").await;
    let issued = s.issue(&b).await;
    let r = s.redeem(&issued.handle).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.header(header::CACHE_CONTROL).as_deref(), Some("no-store"));
    let v = r.json();
    assert_eq!(v["origin"], ORIGIN);
    assert_eq!(
        v["service_name"],
        json!({ "ja": "登録ポータル（テスト）", "en": "Registration portal (test)" })
    );
    assert_eq!(v["purpose"], "link_card");
    assert_eq!(
        v["purpose_text"],
        json!({
            "ja": "マイナンバーカードとアカウントの連携、または連携済みのカードでのサインイン",
            "en": "Link your My Number Card to your account, or sign in with a card linked before"
        })
    );
    let (challenge, binding) = binding_values(&v);
    assert_eq!(binding.len(), 16);
    assert_eq!(v["expires_at"], NOW + 300);
    assert_eq!(v["accepted_credentials"], json!(["user_authentication", "signature"]));
    assert_eq!(v["min_reader_version"], READER_VERSION);
    assert_eq!(v["submission_token"].as_str().unwrap().len(), 32);
    assert_eq!(
        v["evidence_url"],
        format!("{PUBLIC_URL}/api/v1/handles/{}/evidence", issued.handle)
    );
    assert_eq!(
        v["status_url"],
        format!("{PUBLIC_URL}/api/v1/handles/{}/status", issued.handle)
    );
    let row = s.state(&b.id).await;
    assert_eq!(row.state, State::HandleRedeemed);
    assert_eq!(
        row.challenge.as_deref(),
        Some(&challenge[..]),
        "the session's own challenge"
    );
    assert_eq!(row.binding, binding);

    // The handle is single use: a second device means somebody else has the link, and the
    // session ends before a result can exist.
    s.redeem(&issued.handle)
        .await
        .assert_error(StatusCode::CONFLICT, "handle_already_used");
    let row = s.state(&b.id).await;
    assert_eq!((row.state, row.failure), (State::Failed, Some(Failure::RedeemedTwice)));
}

#[tokio::test]
async fn an_old_reader_app_is_told_to_update_and_spends_nothing() {
    let s = Server::start().await;
    let b = s.browser("verify_identity").await;
    let issued = s.issue(&b).await;
    for old in ["0.0.1", "0.0.9", "x", ""] {
        let r = s.redeem_as(&issued.handle, old).await;
        r.assert_error(StatusCode::UPGRADE_REQUIRED, "reader_outdated");
        assert!(
            r.json()["error"]["message"]["en"]
                .as_str()
                .unwrap()
                .contains(READER_VERSION)
        );
    }
    // Refused before the handle was touched: still redeemable by a current app.
    assert_eq!(s.state(&b.id).await.state, State::Created);
    assert_eq!(s.redeem(&issued.handle).await.status, StatusCode::OK);

    // A server that wants a newer app than this one.
    let s = Server::with(|c| c.min_reader_version = "99.0.0".into()).await;
    let b = s.browser("verify_identity").await;
    let issued = s.issue(&b).await;
    let r = s.redeem(&issued.handle).await;
    r.assert_error(StatusCode::UPGRADE_REQUIRED, "reader_outdated");
    assert!(r.text().contains("99.0.0"));
}

#[tokio::test]
async fn unknown_handles_are_refused() {
    let s = Server::start().await;
    // A session exists, but its page has not issued a handle yet.
    let _b = s.browser("verify_identity").await;
    for h in [
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "short",
        "has.dots.and.more.than.sixteen.bytes",
        &"A".repeat(65),
    ] {
        s.redeem(h).await.assert_error(StatusCode::NOT_FOUND, "handle_unknown");
    }
    let r = s
        .submit(
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "{}",
        )
        .await;
    r.assert_error(StatusCode::NOT_FOUND, "handle_unknown");
}

#[tokio::test]
async fn a_newer_handle_kills_the_older_one() {
    let s = Server::start().await;
    let b = s.browser("verify_identity").await;
    let first = s.issue(&b).await;
    s.advance(120);
    // The page was reloaded: a new handle, a new challenge, a new lifetime.
    let second = s.issue(&b).await;
    assert_ne!(first.handle, second.handle);
    s.redeem(&first.handle)
        .await
        .assert_error(StatusCode::NOT_FOUND, "handle_unknown");
    assert_eq!(s.state(&b.id).await.state, State::Created);
    let r = s.redeem(&second.handle).await;
    assert_eq!(r.status, StatusCode::OK);
    let redeemed = r.json();
    assert_eq!(redeemed["expires_at"], NOW + 120 + 300);
    let token = redeemed["submission_token"].as_str().unwrap();
    // Reloaded again after a read went wrong: the redeemed handle and its submission token
    // stop working too, and the new handle starts over.
    let third = s.issue(&b).await;
    assert_eq!(s.state(&b.id).await.state, State::Created);
    s.submit(
        &second.handle,
        token,
        read_card("p01", Route::UserAuthentication, &redeemed),
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "handle_unknown");
    s.redeem(&second.handle)
        .await
        .assert_error(StatusCode::NOT_FOUND, "handle_unknown");
    let r = s.redeem(&third.handle).await;
    assert_eq!(r.status, StatusCode::OK);
    // The old binding does not verify for the new challenge.
    let answer = r.json();
    let r = s
        .submit(
            &third.handle,
            answer["submission_token"].as_str().unwrap(),
            read_card("p01", Route::UserAuthentication, &redeemed),
        )
        .await;
    r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "signature_mismatch");
    // Once the session is over, the page cannot get a handle any more: its form goes to the
    // result page, which says why.
    let r = post_form(&s, &b, "pc", "").await;
    assert_eq!(see_other(&r), format!("/s/{}/done", b.id));
    assert_eq!(s.state(&b.id).await.state, State::Failed);
}

#[tokio::test]
async fn evidence_needs_the_submission_token_of_the_redeem() {
    let s = Server::start().await;
    let flow = s.redeemed("verify_identity").await;
    let evidence = read_card("p01", Route::UserAuthentication, &flow.answer);
    s.submit(&flow.handle, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", evidence.clone())
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "unauthorized");
    s.call(
        Method::POST,
        &format!("/api/v1/handles/{}/evidence", flow.handle),
        None,
        None,
        evidence.clone(),
    )
    .await
    .assert_error(StatusCode::UNAUTHORIZED, "unauthorized");
    // The browser token is not a submission token either.
    let browser_token = flow.browser.cookie.split_once('=').unwrap().1.to_string();
    s.submit(&flow.handle, &browser_token, evidence.clone())
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "unauthorized");
    // Nobody without the token can fail the session.
    let row = s.state(flow.id()).await;
    assert_eq!(row.state, State::HandleRedeemed);
    assert!(row.challenge.is_some());
    let r = s.submit(&flow.handle, flow.token(), evidence).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
}

async fn verified_once(route: Route, person: &str) {
    let s = Server::start().await;
    let p = mynaid_testkit::person(person);
    let flow = s.redeemed("verify_identity").await;
    s.result(API_KEY, &flow.browser)
        .await
        .assert_error(StatusCode::CONFLICT, "result_not_ready");
    let evidence = read_card(person, route, &flow.answer);
    let r = s.submit(&flow.handle, flow.token(), evidence.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let v = r.json();
    assert_eq!(v["status"], "verified");
    assert_eq!(v["confirmation_code"].as_str().map(str::len), Some(6), "{v}");
    assert!(
        v["return_url"]
            .as_str()
            .is_some_and(|u| u.starts_with(&format!("{PUBLIC_URL}/return#"))),
        "{v}"
    );
    let row = s.state(flow.id()).await;
    assert_eq!((row.state, row.released), (State::EvidenceVerified, false));
    assert_eq!(row.challenge, None, "the challenge is consumed");
    // Held until the app brings the person back to the browser that started.
    s.result(API_KEY, &flow.browser)
        .await
        .assert_error(StatusCode::CONFLICT, "result_not_ready");
    assert_eq!(s.come_back(&r, Some(&flow.browser.cookie)).await.status, StatusCode::OK);

    // Replayed: the same document again.
    s.submit(&flow.handle, flow.token(), evidence)
        .await
        .assert_error(StatusCode::CONFLICT, "session_finished");

    // Only the relying party that asked, with its key.
    s.result("wrong-key", &flow.browser)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "unauthorized");
    s.result(OTHER_API_KEY, &flow.browser)
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");

    let r = s.result(API_KEY, &flow.browser).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.header(header::CACHE_CONTROL).as_deref(), Some("no-store"));
    let v = r.json();
    assert_eq!(v["claims"]["name"], p.name.as_str());
    assert_eq!(v["claims"]["address"], p.address.as_str());
    assert_eq!(v["claims"]["birthdate"], p.birthdate.as_str());
    assert_eq!(v["claims"]["gender"], p.sex.as_str());
    let route_name = match route {
        Route::UserAuthentication => "user_authentication",
        Route::Signature => "signature",
    };
    assert_eq!(v["claims"]["verification"]["route"], route_name, "{v}");
    assert_eq!(v["claims"]["verification"]["verified_at"], NOW);
    assert_eq!(v["purpose"], "verify_identity");
    let link = v["card_link_id"].as_str().unwrap();
    assert_eq!(URL_SAFE_NO_PAD.decode(link).unwrap().len(), 32, "{link}");
    assert_eq!(s.state(flow.id()).await.state, State::Completed);

    // Once.
    s.result(API_KEY, &flow.browser)
        .await
        .assert_error(StatusCode::CONFLICT, "session_finished");

    // The same card through the same route for the same relying party: the same link id;
    // another card: another.
    let again = s.redeemed("link_card").await;
    s.submit_and_return(&again, read_card(person, route, &again.answer))
        .await;
    let v2 = s.result(API_KEY, &again.browser).await.json();
    assert_eq!(v2["card_link_id"], link);
    assert_eq!(v2["purpose"], "link_card");
    let other = s.redeemed("verify_identity").await;
    s.submit_and_return(&other, read_card("p09", route, &other.answer))
        .await;
    let v3 = s.result(API_KEY, &other.browser).await.json();
    assert_ne!(v3["card_link_id"], link);
    assert_eq!(v3["claims"]["name"], mynaid_testkit::person("p09").name.as_str());
}

#[tokio::test]
async fn input_support_evidence_gives_the_result_once() {
    verified_once(Route::UserAuthentication, "p01").await;
}

#[tokio::test]
async fn signature_evidence_gives_the_result_once() {
    verified_once(Route::Signature, "p02").await;
}

#[tokio::test]
async fn evidence_bound_to_another_session_fails_that_session() {
    for route in [Route::Signature, Route::UserAuthentication] {
        let s = Server::start().await;
        let a = s.redeemed("verify_identity").await;
        let b = s.redeemed("verify_identity").await;
        let evidence_for_a = read_card("p01", route, &a.answer);
        s.submit(&b.handle, b.token(), evidence_for_a.clone())
            .await
            .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "signature_mismatch");
        let row = s.state(b.id()).await;
        assert_eq!(row.state, State::Failed);
        assert_eq!(row.failure.map(|f| f.as_str()), Some("signature_mismatch"));
        assert_eq!(row.challenge, None);
        s.result(API_KEY, &b.browser)
            .await
            .assert_error(StatusCode::CONFLICT, "session_failed");
        // B is over: not even its own evidence gets in now.
        s.submit(&b.handle, b.token(), read_card("p01", route, &b.answer))
            .await
            .assert_error(StatusCode::CONFLICT, "session_finished");
        // A is untouched.
        let r = s.submit(&a.handle, a.token(), evidence_for_a).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    }
}

#[tokio::test]
async fn evidence_for_another_purpose_of_the_same_session_shape_is_refused() {
    // A card that signed "link_card" cannot be passed off as "verify_identity", even with
    // this session's challenge and binding.
    let s = Server::start().await;
    let flow = s.redeemed("verify_identity").await;
    let mut forged = flow.answer.clone();
    forged["purpose"] = json!("link_card");
    let r = s
        .submit(&flow.handle, flow.token(), read_card("p02", Route::Signature, &forged))
        .await;
    r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "signature_mismatch");
}

#[tokio::test]
async fn an_expired_session_refuses_redeem_and_evidence() {
    let s = Server::start().await;
    // Exactly at the expiry time a handle still redeems.
    let b = s.browser("verify_identity").await;
    let issued = s.issue(&b).await;
    s.advance(300);
    assert_eq!(s.redeem(&issued.handle).await.status, StatusCode::OK);

    let b = s.browser("verify_identity").await;
    let issued = s.issue(&b).await;
    s.advance(301);
    s.redeem(&issued.handle)
        .await
        .assert_error(StatusCode::GONE, "session_expired");
    assert!(s.state(&b.id).await.is_expired(s.svc.now()));

    let flow = s.redeemed("verify_identity").await;
    let evidence = read_card("p01", Route::UserAuthentication, &flow.answer);
    s.advance(301);
    s.submit(&flow.handle, flow.token(), evidence)
        .await
        .assert_error(StatusCode::GONE, "session_expired");
    s.result(API_KEY, &flow.browser)
        .await
        .assert_error(StatusCode::GONE, "session_expired");
    let row = s.state(flow.id()).await;
    assert_eq!(row.state, State::HandleRedeemed);
    assert!(row.result.is_none());
    let r = s.status(&flow, "pin_wrong", Some(2)).await;
    r.assert_error(StatusCode::GONE, "session_expired");
}

#[tokio::test]
async fn a_revoked_signature_certificate_is_refused_and_the_pin_route_still_works() {
    let s = Server::start().await;
    let flow = s.redeemed("verify_identity").await;
    let r = s.submit_read(&flow, "p08", Route::Signature).await;
    r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "certificate_revoked");
    assert!(r.json()["error"]["message"]["ja"].as_str().unwrap().contains("失効"));
    let row = s.state(flow.id()).await;
    assert_eq!(row.state, State::Failed);
    assert_eq!(row.failure.map(|f| f.as_str()), Some("certificate_revoked"));

    let flow = s.redeemed("verify_identity").await;
    s.submit_and_return(&flow, read_card("p08", Route::UserAuthentication, &flow.answer))
        .await;
    let v = s.result(API_KEY, &flow.browser).await.json();
    assert_eq!(v["claims"]["name"], mynaid_testkit::person("p08").name.as_str());
}

#[tokio::test]
async fn malformed_evidence_is_refused_with_a_code_and_messages() {
    let s = Server::start().await;
    let valid_shape = |v: Value| v.to_string();
    let cases: Vec<String> = vec![
        String::new(),
        "not json".into(),
        "{}".into(),
        "[]".into(),
        // The format before the 4-digit route was replaced (issue 18).
        valid_shape(
            json!({ "format": "mynaid-evidence/1", "route": "signature", "signature": "AA", "certificate": "AA" }),
        ),
        valid_shape(json!({ "format": "mynaid-evidence/2", "route": "input_support", "signature": "AA" })),
        valid_shape(json!({ "format": "mynaid-evidence/2", "route": "telepathy", "signature": "AA" })),
        valid_shape(
            json!({ "format": "mynaid-evidence/2", "route": "signature", "signature": "!!" , "certificate": "AA" }),
        ),
        valid_shape(json!({ "format": "mynaid-evidence/2", "route": "signature", "signature": "AA" })),
        valid_shape(
            json!({ "format": "mynaid-evidence/2", "route": "signature", "signature": "AA", "certificate": "AA", "name": "x" }),
        ),
        // Larger than an evidence document may be (16 KiB), smaller than the body limit.
        valid_shape(
            json!({ "format": "mynaid-evidence/2", "route": "signature", "signature": "AA", "certificate": "A".repeat(20_000) }),
        ),
    ];
    for body in cases {
        let flow = s.redeemed("verify_identity").await;
        let r = s.submit(&flow.handle, flow.token(), body.clone()).await;
        r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "evidence_malformed");
        let row = s.state(flow.id()).await;
        assert_eq!(row.state, State::Failed, "{body:.80}");
        assert_eq!(row.failure.map(|f| f.as_str()), Some("evidence_malformed"));
    }
    // Well-formed JSON with certificate bytes that are not a certificate.
    let flow = s.redeemed("verify_identity").await;
    let body = json!({ "format": "mynaid-evidence/2", "route": "signature", "signature": "A".repeat(342), "certificate": "MIIB" });
    let r = s.submit(&flow.handle, flow.token(), body.to_string()).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    let code = r.json()["error"]["code"].as_str().unwrap().to_string();
    assert!(
        ["card_data_invalid", "evidence_malformed", "card_not_trusted"].contains(&code.as_str()),
        "{code}"
    );
    r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, &code);

    // Status reports: unknown status, wrong shape.
    let flow = s.redeemed("verify_identity").await;
    s.status(&flow, "exploded", None)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "bad_request");
    s.call(
        Method::POST,
        &format!("/api/v1/handles/{}/status", flow.handle),
        Some(flow.token()),
        None,
        "{\"status\": 5}",
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "bad_request");
    // Redeem with an unknown field.
    let b = s.browser("verify_identity").await;
    let issued = s.issue(&b).await;
    s.call(
        Method::POST,
        &format!("/api/v1/handles/{}/redeem", issued.handle),
        None,
        None,
        "{\"reader\":{\"name\":\"mynaid-reader\",\"version\":\"0.1.0\"},\"x\":1}",
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "bad_request");
    assert_eq!(s.state(&b.id).await.state, State::Created);
}

#[tokio::test]
async fn bodies_over_64_kib_are_refused() {
    let s = Server::start().await;
    let flow = s.redeemed("verify_identity").await;
    let big = format!("{{\"x\":\"{}\"}}", "A".repeat(64 * 1024));
    let r = s.submit(&flow.handle, flow.token(), big.clone()).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text());
    // Refused before the handler: the session is still waiting for real evidence.
    assert_eq!(s.state(flow.id()).await.state, State::HandleRedeemed);
    let r = s
        .call(Method::POST, "/api/v1/sessions", Some(API_KEY), None, big.clone())
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    let r = s
        .call(
            Method::POST,
            &format!("/api/v1/handles/{}/status", flow.handle),
            Some(flow.token()),
            None,
            big,
        )
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    // Just under the limit reaches the handler.
    let r = s.submit(&flow.handle, flow.token(), "A".repeat(64 * 1024 - 16)).await;
    r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "evidence_malformed");
}

#[tokio::test]
async fn the_openapi_document_describes_every_api_route() {
    let s = Server::start().await;
    let r = s.get("/api/openapi.json", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.header(header::CONTENT_TYPE).unwrap().starts_with("application/json"));
    let doc = r.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."), "{}", doc["openapi"]);
    assert!(doc["info"]["title"].is_string());
    // What the router serves under /api/v1 (api.rs).
    let served: BTreeSet<(String, String)> = [
        ("post", "/api/v1/sessions"),
        ("get", "/api/v1/sessions/{id}/result"),
        ("post", "/api/v1/handles/{handle}/redeem"),
        ("post", "/api/v1/handles/{handle}/evidence"),
        ("post", "/api/v1/handles/{handle}/status"),
    ]
    .iter()
    .map(|(m, p)| (m.to_string(), p.to_string()))
    .collect();
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_some() {
                documented.insert((method.to_string(), path.clone()));
            }
        }
    }
    assert_eq!(documented, served);
    // And every documented route exists in the router: a token-shaped parameter reaches a
    // handler (which answers JSON), never the router's empty 404 or a 405.
    for (method, path) in &documented {
        let concrete = path
            .replace("{id}", "AAAAAAAAAAAAAAAAAAAAAA")
            .replace("{handle}", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
        let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let r = s.call(m.clone(), &concrete, Some(API_KEY), None, "{}").await;
        assert_ne!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        assert!(!r.body.is_empty(), "{method} {path}: {} with an empty body", r.status);
        let v = r.json();
        assert!(v.is_object(), "{method} {path}: {v}");
        // The wrong method is not served.
        let wrong = if m == Method::GET { Method::POST } else { Method::GET };
        let r = s.call(wrong, &concrete, Some(API_KEY), None, "{}").await;
        assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
    }
}

#[tokio::test]
async fn the_database_file_holds_no_personal_data_in_clear() {
    let s = Server::with_file_db().await;
    let p = mynaid_testkit::person("p01");
    let flow = s.redeemed("verify_identity").await;
    let submitted = s
        .submit_and_return(&flow, read_card("p01", Route::UserAuthentication, &flow.answer))
        .await;
    let failed = s.redeemed("verify_identity").await;
    let r = s
        .submit(
            &failed.handle,
            failed.token(),
            read_card("p02", Route::Signature, &flow.answer),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);

    let path = s.db_path.clone().unwrap();
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    let (state, result, challenge): (String, Option<Vec<u8>>, Option<Vec<u8>>) =
        sqlx::query_as("SELECT state, result, challenge FROM sessions WHERE id = ?")
            .bind(flow.id())
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(state, "evidence_verified");
    assert!(challenge.is_none(), "the challenge is cleared once consumed");
    let result = result.expect("the result is stored");
    assert!(result.len() > 64);
    let compact_birthdate = p.birthdate.replace('-', "");
    let secrets: Vec<(&str, Vec<u8>)> = vec![
        ("name", p.name.as_bytes().to_vec()),
        ("family name", p.name.split('　').next().unwrap().as_bytes().to_vec()),
        ("address", p.address.as_bytes().to_vec()),
        ("birthdate", p.birthdate.as_bytes().to_vec()),
        ("birthdate (compact)", compact_birthdate.as_bytes().to_vec()),
        ("claims key", b"\"name\"".to_vec()),
        ("handle", flow.handle.as_bytes().to_vec()),
        ("submission token", flow.token().as_bytes().to_vec()),
        (
            "confirmation code",
            submitted.json()["confirmation_code"]
                .as_str()
                .unwrap()
                .as_bytes()
                .to_vec(),
        ),
        ("return code", s.return_code(&flow.browser).await.into_bytes()),
        (
            "browser token",
            flow.browser.cookie.split_once('=').unwrap().1.as_bytes().to_vec(),
        ),
    ];
    let contains = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
    for (what, needle) in &secrets {
        assert!(
            !contains(&result, needle),
            "the stored result holds the {what} in clear"
        );
    }
    let (failed_challenge,): (Option<Vec<u8>>,) = sqlx::query_as("SELECT challenge FROM sessions WHERE id = ?")
        .bind(failed.id())
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(
        failed_challenge.is_none(),
        "a failed session's challenge is cleared too"
    );
    // Nothing anywhere in the database, its WAL or its shared memory.
    pool.close().await;
    for suffix in ["", "-wal", "-shm"] {
        let file = format!("{}{suffix}", path.display());
        let Ok(bytes) = std::fs::read(&file) else { continue };
        for (what, needle) in &secrets {
            assert!(!contains(&bytes, needle), "{file} holds the {what} in clear");
        }
    }
    // And the ciphertext is the service's to open: the result comes out right.
    let v = s.result(API_KEY, &flow.browser).await.json();
    assert_eq!(v["claims"]["name"], p.name.as_str());
}
