//! Every result reaches only the browser that asked for it (docs/security.md). Each test plays
//! an attacker with a browser of their own (their own cookie jar) against a victim who uses
//! their own card and PIN, asserts that the attacker gets nothing (no code, no result, no
//! claim) and that the victim is told what happened, and runs the legitimate flow with the
//! same steps in one browser beside it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "oidc_support/mod.rs"]
mod support;

use axum::http::StatusCode as Status;
use common::{Route, Server, choose, confirm, phone_reads, read_card, return_with};
use openidconnect::{OAuth2TokenResponse, TokenResponse};
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::*;

/// The text of a refusal page or JSON error, for what it tells the person.
async fn text(r: reqwest::Response) -> (StatusCode, String) {
    let status = r.status();
    (status, r.text().await.unwrap())
}

/// Attack 1: the attacker agrees on the consent page in their own browser, stops before the
/// redirect and sends the victim what they have. Nothing they hold makes the victim's browser
/// the session's; the callback gives the attacker no code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forwarded_procedure_link_gives_the_victim_nothing_to_read_and_the_attacker_no_code() {
    let op = Op::start().await;
    let rp = new_rp(&op, JWT_CLIENT, &["name", "address", "birthdate"], &[]).await;
    let (attacker, victim) = (browser(), browser());
    let (consent, _) = to_consent(&op, &attacker, &rp.auth_url).await;
    let id = agree(&attacker, &consent).await;

    // Whatever link the attacker forwards, the victim's browser is not the session's: the
    // page says so and how to react, and no way to read the card is offered.
    for forwarded in [
        format!("{}/s/{id}", op.base),
        format!("{}/s/{id}?lang=en", op.base),
        format!("{}/s/{id}/start?t=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", op.base),
        // The ways' pages, which show a reading's link to the session's browser only.
        format!("{}/s/{id}/pc", op.base),
        format!("{}/s/{id}/phone?lang=en", op.base),
        format!("{}/s/{id}/same", op.base),
    ] {
        let (status, page) = text(victim.get(&forwarded).send().await.unwrap()).await;
        assert!(
            matches!(status, StatusCode::FORBIDDEN | StatusCode::UNAUTHORIZED),
            "{forwarded}: {status}"
        );
        assert!(!page.contains("method-pc") && !page.contains("mynaid://"), "{page}");
        assert!(
            page.contains("だれかから送られたリンクであれば") || page.contains("If somebody sent you this link"),
            "{forwarded}: {page}"
        );
    }
    for way in ["pc", "phone", "same"] {
        let r = victim
            .post(format!("{}/s/{id}/{way}", op.base))
            .form(&[("csrf", "x")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{way}");
    }
    // The attacker at the callback: the card was never read, the client hears so.
    let r = attacker
        .get(format!("{}/oidc/callback?session={id}", op.base))
        .send()
        .await
        .unwrap();
    let q = query_of(&location(&r));
    assert_eq!(q.get("error").map(String::as_str), Some("access_denied"));
    assert!(!q.contains_key("code"));

    // The legitimate flow: the same steps in one browser end with the person's claims.
    let mut own = new_rp(&op, JWT_CLIENT, &["name", "address", "birthdate"], &[]).await;
    let code = code_for(&op, &own, "p01").await;
    let tokens = exchange(&mut own, &code, Some(op.assertion())).await;
    assert!(tokens.id_token().is_some());
    let (status, _, info) = raw_userinfo(&op, tokens.access_token().secret()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(info["name"], mynaid_testkit::person("p01").name.as_str());
}

/// Attack 2 (pattern-1 phishing): the attacker chooses "PC and IC card reader" in their own
/// browser and sends the victim the reader link. The victim's app reads the victim's card;
/// its way back opens in the victim's browser, which is not the session's: nothing is
/// released, the handle is used up, and the attacker's callback gets no code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phished_reader_link_releases_nothing_to_the_attacker() {
    let op = Op::start().await;
    let rp = new_rp(&op, JWT_CLIENT, &["name", "address", "birthdate"], &[]).await;
    let (attacker, victim) = (browser(), browser());
    let (consent, _) = to_consent(&op, &attacker, &rp.auth_url).await;
    let id = agree(&attacker, &consent).await;
    let handle = choose_pc(&op, &attacker, &id).await;

    // The victim's reader app, the victim's own card and PIN.
    let submitted = reader_app_reads(&op, &handle, "p03").await;
    let code = submitted["confirmation_code"].as_str().unwrap().to_string();
    // The app sends the victim back to the victim's default browser.
    let (status, body) = text(come_back(&op, &victim, &submitted).await).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["error"]["code"], "other_browser");
    assert!(
        v["error"]["message"]["ja"]
            .as_str()
            .unwrap()
            .contains("確認コードを教えたりしないでください")
    );
    assert!(
        v["error"]["message"]["en"]
            .as_str()
            .unwrap()
            .contains("tell nobody a code")
    );
    // Forwarded to the attacker, the way back is worth nothing: used up in the victim's browser.
    let (status, _) = text(come_back(&op, &attacker, &submitted).await).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // The attacker's page waits for a code the attacker does not have; a guess is counted.
    let wrong = if code == "000000" { "000001" } else { "000000" };
    let procedure = page_of(&op, &attacker, &format!("/s/{id}/done")).await;
    let csrf = common::form_token_of(&procedure);
    let r = attacker
        .post(format!("{}/s/{id}/confirm", op.base))
        .header("accept", "application/json")
        .form(&[("csrf", csrf.as_str()), ("code", wrong)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // The callback: no code, so nothing of the victim's reaches the attacker's account.
    let r = back_to_callback(&op, &attacker, &id).await;
    let q = query_of(&location(&r));
    assert_eq!(q.get("error").map(String::as_str), Some("access_denied"), "{q:?}");
    assert!(!q.contains_key("code"));

    // The phone form of the same link: a phone app refuses a pattern meant for a PC, and the
    // server does not let it use the handle up.
    let (consent, _) = to_consent(&op, &attacker, &rp.auth_url).await;
    let id2 = agree(&attacker, &consent).await;
    let handle2 = choose_pc(&op, &attacker, &id2).await;
    let r = reqwest::Client::new()
        .post(format!("{}/api/v1/handles/{handle2}/redeem", op.base))
        .json(
            &json!({ "reader": { "name": "mynaid-phone", "version": common::READER_VERSION }, "device": "phone_app" }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], "wrong_device");

    // The legitimate flow: the same steps, the way back in the browser that agreed.
    let own = browser();
    let (consent, _) = to_consent(&op, &own, &rp.auth_url).await;
    let id = agree(&own, &consent).await;
    let handle = choose_pc(&op, &own, &id).await;
    let submitted = reader_app_reads(&op, &handle, "p03").await;
    assert_eq!(come_back(&op, &own, &submitted).await.status(), StatusCode::OK);
    let r = back_to_callback(&op, &own, &id).await;
    let q = query_of(&location(&r));
    assert!(q.contains_key("code"), "{q:?}");
}

/// A relying party's start link opened first by the victim (the attacker forwarded it
/// unopened): the attacker can neither open it any more nor take the result without the
/// code that only the victim's browser carries back. Opened first by the attacker, the
/// victim is refused with a warning before any card is read.
#[tokio::test]
async fn a_start_link_works_once_in_one_browser() {
    let s = Server::start().await;
    let (id, url) = s.create_session("verify_identity").await;
    let path = url.strip_prefix(common::PUBLIC_URL).unwrap().to_string();
    // The victim opens it first and reads their own card (pattern 2).
    let r = s.get(&path, None).await;
    assert_eq!(r.status, Status::SEE_OTHER);
    let victim = common::BrowserSession {
        id: id.clone(),
        cookie: common::cookie_pair(&r.header(axum::http::header::SET_COOKIE).unwrap()),
    };
    // The attacker's copy of the link: refused, no cookie, a warning.
    let r = s.get(&path, None).await;
    r.assert_error_page(Status::FORBIDDEN, "すでに別のブラウザで開かれています");
    assert!(r.header(axum::http::header::SET_COOKIE).is_none());
    let page = choose(&s, &victim, "phone").await;
    let (_, submitted) = phone_reads(&s, &page, "p03").await;
    let code = submitted.json()["confirmation_code"].as_str().unwrap().to_string();
    assert_eq!(
        confirm(&s, &victim, &code, Some(&victim.cookie)).await.status,
        Status::OK
    );
    // The attacker's return to the relying party carries no code (or a guessed one): nothing.
    for guess in [None, Some("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")] {
        s.result_with(common::API_KEY, &id, guess)
            .await
            .assert_error(Status::FORBIDDEN, "other_browser");
    }
    // The victim's browser carries the code back: the relying party takes it there (where
    // its own cookie says whose browser it is).
    let r = s.result(common::API_KEY, &victim).await;
    assert_eq!(r.status, Status::OK, "{}", r.text());
    assert_eq!(r.json()["claims"]["name"], mynaid_testkit::person("p03").name.as_str());

    // Opened first by the attacker: the victim's copy is refused before anything is read.
    let (_, url) = s.create_session("verify_identity").await;
    let path = url.strip_prefix(common::PUBLIC_URL).unwrap().to_string();
    assert_eq!(s.get(&path, None).await.status, Status::SEE_OTHER);
    let r = s.get(&format!("{path}&lang=en"), None).await;
    r.assert_error_page(
        Status::FORBIDDEN,
        "If somebody sent you this link, stop here and do not read your card",
    );
}

/// The code the phone shows, typed in a browser that is not the session's: refused without
/// a count; in the attacker's own session it is just a wrong code. Typed in the session's
/// browser, it releases the result.
#[tokio::test]
async fn a_confirmation_code_works_only_in_the_browser_that_started() {
    let s = Server::start().await;
    let victim = s.browser("verify_identity").await;
    let attacker = s.browser("verify_identity").await;
    let page = choose(&s, &victim, "phone").await;
    let (_, submitted) = phone_reads(&s, &page, "p01").await;
    let code = submitted.json()["confirmation_code"].as_str().unwrap().to_string();
    // The victim's session, from the attacker's browser (the attacker's own cookie).
    confirm(&s, &victim, &code, Some(&attacker.cookie))
        .await
        .assert_error(Status::FORBIDDEN, "other_browser");
    confirm(&s, &victim, &code, None)
        .await
        .assert_error(Status::FORBIDDEN, "other_browser");
    assert_eq!(s.state(&victim.id).await.confirm_attempts, 0, "nothing was counted");
    // The victim's code in the attacker's own session: nothing there waits for a code.
    let r = confirm(&s, &attacker, &code, Some(&attacker.cookie)).await;
    assert_eq!(
        r.status,
        Status::CONFLICT,
        "nothing waits for a code there: {}",
        r.text()
    );
    assert_ne!(s.result(common::API_KEY, &victim).await.status, Status::OK);
    // The legitimate flow: the victim types it in their own browser.
    assert_eq!(
        confirm(&s, &victim, &code, Some(&victim.cookie)).await.status,
        Status::OK
    );
    assert_eq!(s.result(common::API_KEY, &victim).await.status, Status::OK);
}

/// A way back (pattern 1 or 3) opened in another browser first is used up there; the
/// person continues in the browser that started with the code. Opened there first, it
/// releases the result.
#[tokio::test]
async fn a_way_back_replayed_in_another_browser_is_used_up() {
    let s = Server::start().await;
    let other = s.browser("verify_identity").await;
    let flow = s.redeemed("verify_identity").await;
    let submitted = s.submit_read(&flow, "p01", Route::UserAuthentication).await;
    let v = submitted.json();
    s.come_back(&submitted, Some(&other.cookie))
        .await
        .assert_error(Status::FORBIDDEN, "other_browser");
    s.come_back(&submitted, None)
        .await
        .assert_error(Status::NOT_FOUND, "handle_unknown");
    s.come_back(&submitted, Some(&flow.browser.cookie))
        .await
        .assert_error(Status::NOT_FOUND, "handle_unknown");
    s.result(common::API_KEY, &flow.browser)
        .await
        .assert_error(Status::CONFLICT, "result_not_ready");
    let code = v["confirmation_code"].as_str().unwrap();
    assert_eq!(
        confirm(&s, &flow.browser, code, Some(&flow.browser.cookie))
            .await
            .status,
        Status::OK
    );
    assert_eq!(s.result(common::API_KEY, &flow.browser).await.status, Status::OK);

    // The legitimate flow: straight back to the browser that started.
    let flow = s.redeemed("verify_identity").await;
    let submitted = s
        .submit_and_return(&flow, read_card("p01", Route::UserAuthentication, &flow.answer))
        .await;
    assert_eq!(s.result(common::API_KEY, &flow.browser).await.status, Status::OK);
    let handle = submitted.json()["return_url"]
        .as_str()
        .unwrap()
        .split_once('#')
        .unwrap()
        .1
        .to_string();
    assert_eq!(
        return_with(&s, &handle, Some(&other.cookie)).await.status,
        Status::NOT_FOUND
    );
}

/// A relayed QR code scanned by two phones: the second redeem ends the session, the first
/// phone's evidence finds it ended, the PC page says why. One phone: the result arrives.
#[tokio::test]
async fn a_second_redeem_ends_the_session_before_a_result_exists() {
    let s = Server::start().await;
    let b = s.browser("verify_identity").await;
    let page = choose(&s, &b, "phone").await;
    let first = s.redeem_phone(&page.handle).await;
    assert_eq!(first.status, Status::OK);
    let answer = first.json();
    let second = s.redeem_phone(&page.handle).await;
    second.assert_error(Status::CONFLICT, "handle_already_used");
    assert!(
        second.json()["error"]["message"]["ja"]
            .as_str()
            .unwrap()
            .contains("暗証番号は入力しないでください")
    );
    let token = answer["submission_token"].as_str().unwrap();
    s.submit(
        &page.handle,
        token,
        read_card("p01", Route::UserAuthentication, &answer),
    )
    .await
    .assert_error(Status::CONFLICT, "session_finished");
    let done = s.get(&format!("/s/{}/done", b.id), Some(&b.cookie)).await.text();
    assert!(done.contains("2台目の端末"), "{done}");
    assert_ne!(s.result(common::API_KEY, &b).await.status, Status::OK);

    // One phone.
    let b = s.browser("verify_identity").await;
    let page = choose(&s, &b, "phone").await;
    let (_, submitted) = phone_reads(&s, &page, "p01").await;
    let code = submitted.json()["confirmation_code"].as_str().unwrap().to_string();
    assert_eq!(confirm(&s, &b, &code, Some(&b.cookie)).await.status, Status::OK);
    assert_eq!(s.result(common::API_KEY, &b).await.status, Status::OK);
}

/// A handle offered to the wrong kind of device (somebody else chose the pattern) is refused
/// and stays for the right one.
#[tokio::test]
async fn a_handle_for_another_kind_of_device_is_refused_and_kept() {
    let s = Server::start().await;
    let b = s.browser("verify_identity").await;
    let issued = s.issue(&b).await;
    s.redeem_phone(&issued.handle)
        .await
        .assert_error(Status::CONFLICT, "wrong_device");
    assert_eq!(s.redeem(&issued.handle).await.status, Status::OK);
    let b = s.browser("verify_identity").await;
    let page = choose(&s, &b, "phone").await;
    s.redeem(&page.handle)
        .await
        .assert_error(Status::CONFLICT, "wrong_device");
    assert_eq!(s.redeem_phone(&page.handle).await.status, Status::OK);
}

/// More time is the starting browser's alone: a session kept alive for up to an hour is a
/// longer window for a relayed QR code only if somebody else could extend it. The attacker's
/// own browser (its cookie, its form token) and a forged cookie under the victim's session
/// name both fail and change nothing; the victim's browser extends, within the hour.
#[tokio::test]
async fn only_the_starting_browser_can_extend_the_time() {
    let s = Server::start().await;
    let victim = s.browser("verify_identity").await;
    s.issue(&victim).await;
    let attacker = s.browser("verify_identity").await;
    let before = s.state(&victim.id).await.expires_at;

    // The attacker's own cookie and form token, posted to the victim's session.
    let own = common::BrowserSession {
        id: victim.id.clone(),
        cookie: attacker.cookie.clone(),
    };
    common::post_form_for_json(&s, &own, "extend", "")
        .await
        .assert_error(Status::FORBIDDEN, "other_browser");
    // A cookie under the victim's session name with a value the attacker made up.
    let (name, _) = victim.cookie.split_once('=').unwrap();
    let forged = common::BrowserSession {
        id: victim.id.clone(),
        cookie: format!("{name}={}", "A".repeat(32)),
    };
    let r = common::post_form_for_json(&s, &forged, "extend", "").await;
    assert!(r.status == Status::FORBIDDEN, "{}", r.text());
    assert_eq!(s.state(&victim.id).await.expires_at, before, "nothing changed");
    assert_eq!(s.state(&victim.id).await.extensions, 0);

    // The legitimate browser, beside it: extended by the lifetime.
    let r = common::post_form_for_json(&s, &victim, "extend", "").await;
    assert_eq!(r.status, Status::OK, "{}", r.text());
    assert_eq!(s.state(&victim.id).await.expires_at, before + 300);
}
