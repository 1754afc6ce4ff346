//! Patterns 2 (PC + smartphone) and 3 (smartphone only) in process, and the attacks they must
//! withstand: a relayed QR code, wrong confirmation codes, expired handles, a result handle
//! opened in another browser, replayed evidence and evidence for another session.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use axum::http::StatusCode;
use common::{Route, Server, Sse, choose, confirm, phone_reads, post_form, read_card, return_with, see_other};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(10);

async fn next_state(sse: &mut Sse) -> Value {
    sse.next(WAIT).await.expect("an event")
}

#[tokio::test]
async fn pattern_2_releases_the_result_only_after_the_code_is_typed_on_the_pc() {
    let s = Server::start().await;
    let b = s.browser("verify_identity").await;
    let page = choose(&s, &b, "phone").await;
    assert!(page.html.contains("<svg"), "the QR code is rendered as SVG");
    assert!(
        page.link.starts_with("https://id.example.jp/app/read#h="),
        "{}",
        page.link
    );
    assert!(
        page.link.contains("&o=https%3A%2F%2Fportal.example.jp"),
        "{}",
        page.link
    );
    let mut sse = Sse::open(&s, &b).await;
    assert_eq!(next_state(&mut sse).await["state"], "waiting");

    let (answer, submitted) = phone_reads(&s, &page, "p02").await;
    assert_eq!(answer["pattern"], "cross_device");
    assert_eq!(
        answer["pc_code"].as_str(),
        page.pc_code.as_deref(),
        "the phone shows the PC's code"
    );
    assert_eq!(next_state(&mut sse).await["state"], "reading");
    assert_eq!(submitted.status, StatusCode::OK, "{}", submitted.text());
    let code = submitted.json()["confirmation_code"].as_str().unwrap().to_string();
    assert_eq!(code.len(), 6);
    assert!(submitted.json()["return_url"].is_null());
    assert_eq!(next_state(&mut sse).await["state"], "confirm_needed");

    // Verified but not released: the relying party gets nothing yet.
    s.result(common::API_KEY, &b)
        .await
        .assert_error(StatusCode::CONFLICT, "result_not_ready");
    // The code needs this browser's cookie.
    confirm(&s, &b, &code, None)
        .await
        .assert_error(StatusCode::FORBIDDEN, "other_browser");
    let wrong = if code == "000000" { "000001" } else { "000000" };
    let r = confirm(&s, &b, wrong, Some(&b.cookie)).await;
    r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "wrong_confirmation_code");
    let said = &r.json()["error"]["message"];
    assert!(said["ja"].as_str().unwrap().contains("あと4回"));
    // One text for every pattern (the PC reader app shows the code too): it names the app
    // the card was read with, not a smartphone; the field's label names the device.
    assert!(
        said["ja"].as_str().unwrap().contains("カードの読み取りに使ったアプリ"),
        "{said}"
    );
    assert!(
        said["en"].as_str().unwrap().contains("the app you read the card with"),
        "{said}"
    );
    assert!(!said.to_string().contains("smartphone") && !said.to_string().contains("スマートフォン"));
    let r = confirm(&s, &b, &format!("{} {}", &code[..3], &code[3..]), Some(&b.cookie)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(next_state(&mut sse).await["state"], "verified");
    let result = s.result(common::API_KEY, &b).await;
    assert_eq!(result.status, StatusCode::OK);
    assert_eq!(result.json()["claims"]["name"], mynaid_testkit::person("p02").name);
    // A code works once.
    confirm(&s, &b, &code, Some(&b.cookie))
        .await
        .assert_error(StatusCode::CONFLICT, "session_finished");
}

#[tokio::test]
async fn a_relayed_qr_code_ends_the_session_and_the_pc_page_is_told() {
    let s = Server::start().await;
    let b = s.browser("verify_identity").await;
    let page = choose(&s, &b, "phone").await;
    let mut sse = Sse::open(&s, &b).await;
    assert_eq!(next_state(&mut sse).await["state"], "waiting");
    assert_eq!(s.redeem_phone(&page.handle).await.status, StatusCode::OK);
    assert_eq!(next_state(&mut sse).await["state"], "reading");
    // A second phone (the attacker's victim, or the attacker) scans the same code.
    s.redeem_phone(&page.handle)
        .await
        .assert_error(StatusCode::CONFLICT, "handle_already_used");
    let ev = next_state(&mut sse).await;
    assert_eq!(ev, json!({ "state": "failed", "code": "redeemed_twice" }));
    // The first phone's evidence, whoever holds it, finds the session ended.
    let row = s.state(&b.id).await;
    assert_eq!(row.state, mynaid_sessions::store::State::Failed);
    assert_ne!(s.result(common::API_KEY, &b).await.status, StatusCode::OK);
}

#[tokio::test]
async fn wrong_confirmation_codes_are_limited() {
    let s = Server::start().await;
    let b = s.browser("verify_identity").await;
    let page = choose(&s, &b, "phone").await;
    let (_, submitted) = phone_reads(&s, &page, "p01").await;
    let code = submitted.json()["confirmation_code"].as_str().unwrap().to_string();
    let wrong = |i: u32| format!("{:06}", (code.parse::<u32>().unwrap() + 1 + i) % 1_000_000);
    for i in 0..4 {
        confirm(&s, &b, &wrong(i), Some(&b.cookie))
            .await
            .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "wrong_confirmation_code");
    }
    // The fifth wrong code ends the session and deletes the result.
    confirm(&s, &b, &wrong(4), Some(&b.cookie))
        .await
        .assert_error(StatusCode::GONE, "confirmation_failed");
    let row = s.state(&b.id).await;
    assert_eq!(row.failure.map(|f| f.as_str()), Some("confirmation_failed"));
    assert!(row.result.is_none(), "the result is deleted");
    // Even the right code is refused now.
    assert_ne!(confirm(&s, &b, &code, Some(&b.cookie)).await.status, StatusCode::OK);
    assert_ne!(s.result(common::API_KEY, &b).await.status, StatusCode::OK);
    // Malformed codes do not count and do not reach the store.
    let b2 = s.browser("verify_identity").await;
    let page2 = choose(&s, &b2, "phone").await;
    phone_reads(&s, &page2, "p01").await;
    for bad in ["12345", "1234567", "abcdef", "12 34 5x"] {
        confirm(&s, &b2, bad, Some(&b2.cookie))
            .await
            .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "wrong_confirmation_code");
    }
    assert_eq!(s.state(&b2.id).await.confirm_attempts, 0);
}

#[tokio::test]
async fn an_expired_handle_is_refused_and_a_refresh_kills_the_old_one() {
    let s = Server::start().await;
    let b = s.browser("verify_identity").await;
    let old = choose(&s, &b, "phone").await;
    let new = choose(&s, &b, "phone").await;
    assert_ne!(old.handle, new.handle);
    assert_ne!(old.pc_code, None);
    s.redeem_phone(&old.handle)
        .await
        .assert_error(StatusCode::NOT_FOUND, "handle_unknown");
    s.advance(301);
    s.redeem_phone(&new.handle)
        .await
        .assert_error(StatusCode::GONE, "session_expired");
    // The confirmation code expires too.
    let b = s.browser("verify_identity").await;
    let page = choose(&s, &b, "phone").await;
    let (_, submitted) = phone_reads(&s, &page, "p01").await;
    let code = submitted.json()["confirmation_code"].as_str().unwrap().to_string();
    s.advance(301);
    let r = confirm(&s, &b, &code, Some(&b.cookie)).await;
    assert_ne!(
        r.status,
        StatusCode::OK,
        "an expired code releases nothing: {}",
        r.text()
    );
    assert_ne!(s.result(common::API_KEY, &b).await.status, StatusCode::OK);
}

#[tokio::test]
async fn pattern_3_returns_the_result_only_to_the_browser_that_started() {
    let s = Server::start().await;
    let b = s.browser("link_card").await;
    let other = s.browser("link_card").await;
    let page = choose(&s, &b, "same").await;
    let (answer, submitted) = phone_reads(&s, &page, "p03").await;
    assert_eq!(answer["pattern"], "same_device");
    assert!(answer["pc_code"].is_null());
    assert_eq!(submitted.status, StatusCode::OK, "{}", submitted.text());
    let v = submitted.json();
    let url = v["return_url"].as_str().unwrap();
    assert!(url.starts_with("https://id.example.jp/return#"), "{url}");
    let result_handle = url.split('#').nth(1).unwrap();
    // Another session's cookie: refused, and the handle is used up, so nobody can carry it
    // to the browser that started (the code typed there still works).
    return_with(&s, result_handle, Some(&other.cookie))
        .await
        .assert_error(StatusCode::FORBIDDEN, "other_browser");
    return_with(&s, result_handle, Some(&b.cookie))
        .await
        .assert_error(StatusCode::NOT_FOUND, "handle_unknown");
    s.result(common::API_KEY, &b)
        .await
        .assert_error(StatusCode::CONFLICT, "result_not_ready");
    // The same again with the handle going straight to the browser that started.
    let b = s.browser("link_card").await;
    let page = choose(&s, &b, "same").await;
    let (_, submitted) = phone_reads(&s, &page, "p03").await;
    let v = submitted.json();
    let result_handle = v["return_url"].as_str().unwrap().split('#').nth(1).unwrap();
    let r = return_with(&s, result_handle, Some(&b.cookie)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["next"], format!("/s/{}/done", b.id));
    let result = s.result(common::API_KEY, &b).await;
    assert_eq!(result.status, StatusCode::OK);
    assert_eq!(result.json()["purpose"], "link_card");
    // A result handle works once.
    assert_ne!(
        return_with(&s, result_handle, Some(&b.cookie)).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn pattern_3_in_another_browser_continues_with_the_code() {
    let s = Server::start().await;
    let b = s.browser("verify_identity").await;
    let page = choose(&s, &b, "same").await;
    let (_, submitted) = phone_reads(&s, &page, "p01").await;
    let v = submitted.json();
    let result_handle = v["return_url"].as_str().unwrap().split('#').nth(1).unwrap().to_string();
    return_with(&s, &result_handle, None)
        .await
        .assert_error(StatusCode::FORBIDDEN, "other_browser");
    // Back in the first browser, the code the app showed releases it.
    let code = v["confirmation_code"].as_str().unwrap();
    assert_eq!(confirm(&s, &b, code, Some(&b.cookie)).await.status, StatusCode::OK);
    assert_eq!(s.result(common::API_KEY, &b).await.status, StatusCode::OK);
}

#[tokio::test]
async fn replayed_and_cross_session_evidence_is_refused() {
    let s = Server::start().await;
    let a = s.browser("verify_identity").await;
    let page_a = choose(&s, &a, "phone").await;
    let r = s.redeem_phone(&page_a.handle).await;
    let answer_a = r.json();
    let token_a = answer_a["submission_token"].as_str().unwrap().to_string();
    let evidence_a = read_card("p01", Route::UserAuthentication, &answer_a);
    assert_eq!(
        s.submit(&page_a.handle, &token_a, evidence_a.clone()).await.status,
        StatusCode::OK
    );
    // Replayed to the same session.
    s.submit(&page_a.handle, &token_a, evidence_a.clone())
        .await
        .assert_error(StatusCode::CONFLICT, "session_finished");
    // Sent to another session (with that session's own handle and token).
    let b = s.browser("verify_identity").await;
    let page_b = choose(&s, &b, "phone").await;
    let answer_b = s.redeem_phone(&page_b.handle).await.json();
    let token_b = answer_b["submission_token"].as_str().unwrap().to_string();
    s.submit(&page_b.handle, &token_b, evidence_a)
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "signature_mismatch");
    assert_eq!(
        s.state(&b.id).await.failure.map(|f| f.as_str()),
        Some("signature_mismatch")
    );
}

#[tokio::test]
async fn the_app_link_opened_in_a_browser_explains_how_to_get_the_app() {
    let s = Server::start().await;
    let r = s.get("/app/read", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text().contains("mynaidアプリが必要です"));
    let r = s.get("/app/read?lang=en", None).await;
    assert!(r.text().contains("The mynaid app is needed"));
}

/// Reload, back and the language switch on the QR page and the phone-only page: `GET` pages
/// that show the same QR code (and PC code) or app button while the session waits, the
/// reading under way without them, and the code field while the code waits, in either
/// language; never the method choice, never "verified" before the code.
#[tokio::test]
async fn the_qr_and_phone_pages_are_gets_that_keep_their_state() {
    let s = Server::start().await;
    for (way, anchor) in [("phone", "id=\"app-link\""), ("same", "id=\"open-app\"")] {
        let b = s.browser("verify_identity").await;
        let page = choose(&s, &b, way).await;
        let url = format!("/s/{}/{way}", b.id);
        for query in ["", "?lang=en", "?lang=ja"] {
            let r = s.get(&format!("{url}{query}"), Some(&b.cookie)).await;
            assert_eq!(r.status, StatusCode::OK, "{way}{query}");
            let html = r.text();
            assert!(
                html.contains(&page.link.replace('&', "&amp;")),
                "{way}{query}: the same link: {html}"
            );
            if way == "phone" {
                assert!(html.contains("<svg"), "the QR code");
                assert_eq!(
                    common::between(&html, "id=\"pc-code\"", ">", "<"),
                    page.pc_code.clone().unwrap(),
                    "the same PC code"
                );
            }
            let switch_to = if query == "?lang=en" { "ja" } else { "en" };
            assert!(html.contains(&format!("href=\"{url}?lang={switch_to}\"")), "{html}");
        }
        let english = s.get(&format!("{url}?lang=en"), Some(&b.cookie)).await.text();
        assert!(english.contains("<html lang=\"en\""), "{english}");
        assert!(english.contains(anchor));
        // The phone redeems: the link is no longer offered, the reading goes on.
        let r = s.redeem_phone(&page.handle).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        let answer = r.json();
        let html = s.get(&url, Some(&b.cookie)).await.text();
        assert!(!html.contains(&page.handle), "{html}");
        assert!(!html.contains("<svg"), "{html}");
        assert!(html.contains("data-state=\"reading\""), "{html}");
        // Read: the code is asked for on the same page, in the language switched to.
        let token = answer["submission_token"].as_str().unwrap().to_string();
        let evidence = read_card("p01", Route::UserAuthentication, &answer);
        let submitted = s.submit(&page.handle, &token, evidence).await;
        assert_eq!(submitted.status, StatusCode::OK, "{}", submitted.text());
        for (query, words) in [("?lang=en", "Confirmation code"), ("?lang=ja", "確認コードの入力")] {
            let r = s.get(&format!("{url}{query}"), Some(&b.cookie)).await;
            assert_eq!(r.status, StatusCode::OK);
            let html = r.text();
            assert!(
                html.contains("<section id=\"confirm\" aria-labelledby"),
                "shown: {html}"
            );
            assert!(html.contains(words), "{html}");
            assert!(html.contains("data-state=\"confirm_needed\""), "{html}");
            assert!(!html.contains("method-phone"), "not the method choice");
            assert!(
                !html.contains("was verified") && !html.contains("カードを確認できました"),
                "{html}"
            );
        }
        assert!(!s.state(&b.id).await.released);
        let code = submitted.json()["confirmation_code"].as_str().unwrap().to_string();
        assert_eq!(confirm(&s, &b, &code, Some(&b.cookie)).await.status, StatusCode::OK);
        // Released: the page goes on to the result.
        let r = s.get(&url, Some(&b.cookie)).await;
        assert_eq!(see_other(&r), format!("/s/{}/done", b.id));
    }
}

/// The confirmation code typed without the page's script: every answer is `303`, a wrong
/// code back to the page that says so (with the attempts left), the right one to the result.
#[tokio::test]
async fn the_code_form_without_the_script_answers_303() {
    let s = Server::start().await;
    let b = s.browser("verify_identity").await;
    let page = choose(&s, &b, "phone").await;
    let (_, submitted) = phone_reads(&s, &page, "p01").await;
    let code = submitted.json()["confirmation_code"].as_str().unwrap().to_string();
    let wrong = if code == "000000" { "000001" } else { "000000" };
    let r = post_form(&s, &b, "confirm", &format!("code={wrong}")).await;
    let back = see_other(&r);
    assert_eq!(back, format!("/s/{}/phone?confirm=wrong", b.id));
    let html = s.get(&back, Some(&b.cookie)).await.text();
    assert!(html.contains("id=\"confirm-problem\""), "{html}");
    assert!(
        html.contains("確認コードが違います") && html.contains("あと4回"),
        "{html}"
    );
    let r = post_form(&s, &b, "confirm", "code=12ab").await;
    let back = see_other(&r);
    assert_eq!(back, format!("/s/{}/phone?confirm=format", b.id));
    assert!(
        s.get(&back, Some(&b.cookie))
            .await
            .text()
            .contains("確認コードは6桁の数字です")
    );
    // Reloading the page the wrong code led to posts nothing: still 4 attempts left.
    assert_eq!(s.state(&b.id).await.confirm_attempts, 1);
    let r = post_form(&s, &b, "confirm", &format!("code={code}")).await;
    assert_eq!(see_other(&r), format!("/s/{}/done", b.id));
    let html = s.get(&format!("/s/{}/done", b.id), Some(&b.cookie)).await.text();
    assert!(html.contains("マイナンバーカードを確認できました"), "{html}");
    // Once more (a reload of the form's answer, a back): the result page, not an error.
    let r = post_form(&s, &b, "confirm", &format!("code={code}")).await;
    assert_eq!(see_other(&r), format!("/s/{}/done", b.id));
}

/// The "app needed" page links to where the app is got (a real link: the configured address,
/// by default the project's releases), beside its way back.
#[tokio::test]
async fn the_app_needed_page_links_to_the_app() {
    let s = Server::start().await;
    let html = s.get("/app/read", None).await.text();
    assert!(
        html.contains("<a id=\"install-app\" class=\"button\" href=\"https://github.com/mynaid/mynaid/releases\">mynaidアプリを入手する</a>"),
        "{html}"
    );
    assert!(html.contains("id=\"go-back\""), "{html}");
    let s = Server::with(|c| c.app_install_url = "https://apps.example.jp/mynaid".into()).await;
    let html = s.get("/app/read?lang=en", None).await.text();
    assert!(
        html.contains("href=\"https://apps.example.jp/mynaid\">Get the mynaid app</a>"),
        "{html}"
    );
    // Only a web address can be configured.
    let mut config = common::test_config(common::PUBLIC_URL, "sqlite::memory:");
    config.app_install_url = "javascript:alert(1)".into();
    let (_, clock) = common::test_clock(common::NOW);
    assert!(mynaid_server::start(config, clock).await.is_err());
}
