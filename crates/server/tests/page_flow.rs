//! The way pages as a browser uses them (issue 22): every form answered `303` to a `GET`
//! page that shows the session as it is, so back, reload and the language switch never
//! resubmit, never `405` and never lose a reading; "read again" after a failure that another
//! attempt can mend; extending the time limit (WCAG 2.2.1), followed by the live events.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use axum::http::{StatusCode, header};
use common::*;
use mynaid_sessions::store::State;
use serde_json::json;

/// The `mynaid://` link of a pattern-1 page, if it shows one.
fn launch_link(html: &str) -> Option<String> {
    html.contains("id=\"launch\"")
        .then(|| html_unescape(&between(html, "id=\"launch\"", "href=\"", "\"")))
}

/// The status line a page shows first: its `data-state` and its text.
fn status_of(html: &str) -> (String, String) {
    (
        between(html, "id=\"status\"", "data-state=\"", "\""),
        html_unescape(&between(html, "id=\"status\"", ">", "</p>")),
    )
}

/// Back and reload on the reader page: the form that chose the way is answered `303`, the
/// page is a `GET` that shows the session as it is (the same link, in the page's language),
/// never a second post or a `405`; a reading under way is not broken, and its redeemed link
/// is not offered again; a pending confirmation code is asked for again, never "verified".
#[tokio::test]
async fn the_reader_page_is_a_get_that_shows_the_session_as_it_is() {
    let s = Server::start().await;
    let b = s.browser("verify_identity").await;
    let r = post_form(&s, &b, "pc", "").await;
    let page = see_other(&r);
    assert_eq!(page, format!("/s/{}/pc", b.id));
    assert!(r.body.is_empty() || !r.text().contains("mynaid://"), "{}", r.text());
    let first = s.get(&page, Some(&b.cookie)).await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(first.header(header::CACHE_CONTROL).as_deref(), Some("no-store"));
    let link = launch_link(&first.text()).expect("the link");
    // A reload: the same link (nothing was issued again); the language switch: the same
    // link, in English, with the app's command in English.
    let reloaded = s.get(&page, Some(&b.cookie)).await.text();
    assert_eq!(launch_link(&reloaded).as_deref(), Some(link.as_str()));
    let english = s.get(&format!("{page}?lang=en"), Some(&b.cookie)).await;
    assert_eq!(english.status, StatusCode::OK);
    let english = english.text();
    assert_eq!(launch_link(&english).as_deref(), Some(link.as_str()));
    assert!(english.contains("Waiting for the reader app"), "{english}");
    assert_eq!(
        html_unescape(&between(&english, "id=\"command\"", ">", "</pre>")),
        format!("mynaid read --link '{link}' --lang en")
    );
    // The switch leads to this same page.
    assert!(
        english.contains(&format!("href=\"/s/{}/pc?lang=ja\"", b.id)),
        "{english}"
    );
    // The link is the session's handle: a reading device redeems it.
    let handle = link.split("handle=").nth(1).unwrap().to_string();
    let flow = s.redeem_for(&b, &handle).await;
    // Reloaded during the reading: the reading is not broken and its link is not offered again
    // (a second redeem would end the session).
    let html = s.get(&page, Some(&b.cookie)).await.text();
    assert_eq!(launch_link(&html), None, "{html}");
    assert!(!html.contains("mynaid://"), "{html}");
    assert_eq!(status_of(&html).0, "reading");
    assert!(html.contains("id=\"read-again\""), "a new reading can still start");
    // What the reader app said last is what a reloaded page says.
    assert_eq!(
        s.status(&flow, "no_signature_certificate", None).await.status,
        StatusCode::NO_CONTENT
    );
    let (state, text) = status_of(&s.get(&page, Some(&b.cookie)).await.text());
    assert_eq!(state, "no_signature_certificate");
    assert!(text.contains("署名用電子証明書がない"), "{text}");
    assert!(text.contains("数字4桁の暗証番号なら読み取れます"), "{text}");
    assert!(text.contains("「もう一度読み取る」を押して"), "{text}");
    assert_eq!(
        s.status(&flow, "pin_wrong", Some(2)).await.status,
        StatusCode::NO_CONTENT
    );
    let (state, text) = status_of(&s.get(&page, Some(&b.cookie)).await.text());
    assert_eq!(state, "pin_wrong_again");
    assert!(text.contains("暗証番号が違いました") && !text.contains("{n}"), "{text}");
    assert_eq!(s.state(&b.id).await.state, State::HandleRedeemed);
    // The card read: the page asks for the code (in either language), never "verified".
    let submitted = s.submit_read(&flow, "p01", Route::UserAuthentication).await;
    assert_eq!(submitted.status, StatusCode::OK, "{}", submitted.text());
    for (query, asks) in [("", "確認コードの入力"), ("?lang=en", "Confirmation code")] {
        let r = s.get(&format!("{page}{query}"), Some(&b.cookie)).await;
        assert_eq!(r.status, StatusCode::OK);
        let html = r.text();
        assert!(
            html.contains("<section id=\"confirm\" aria-labelledby"),
            "shown: {html}"
        );
        assert!(html.contains(asks), "{html}");
        assert_eq!(status_of(&html).0, "confirm_needed");
        assert!(!html.contains("マイナンバーカードを確認できました") && !html.contains("was verified"));
        assert!(!html.contains("id=\"read-again\""), "{html}");
    }
    // The method choice, reloaded now, goes to the result page, which asks for the code too.
    let r = s.get(&format!("/s/{}?lang=en", b.id), Some(&b.cookie)).await;
    assert_eq!(see_other(&r), format!("/s/{}/done?lang=en", b.id));
    let html = s
        .get(&format!("/s/{}/done?lang=en", b.id), Some(&b.cookie))
        .await
        .text();
    assert!(html.contains("Type the confirmation code"), "{html}");
    assert!(!html.contains("was verified"), "{html}");
    // Nothing was released by all this; the way back releases it.
    assert!(!s.state(&b.id).await.released);
    assert_eq!(s.come_back(&submitted, Some(&b.cookie)).await.status, StatusCode::OK);
    // Now the reader page goes to the result.
    let r = s.get(&page, Some(&b.cookie)).await;
    assert_eq!(see_other(&r), format!("/s/{}/done", b.id));
}

/// The forms' addresses opened with `GET` (a reload after the form, a bookmark) go to the
/// session's page, never `405`; the pages need the session's cookie, and give another
/// browser nothing.
#[tokio::test]
async fn form_addresses_opened_with_get_go_to_the_page() {
    let s = Server::start().await;
    let b = s.browser("verify_identity").await;
    for way in ["pc", "phone", "same"] {
        // No way chosen yet: the method choice.
        let r = s.get(&format!("/s/{}/{way}", b.id), Some(&b.cookie)).await;
        assert_eq!(see_other(&r), format!("/s/{}", b.id), "{way}");
    }
    for form in ["confirm", "extend"] {
        let r = s.get(&format!("/s/{}/{form}", b.id), Some(&b.cookie)).await;
        assert_eq!(see_other(&r), format!("/s/{}", b.id), "{form}");
    }
    let issued = s.issue(&b).await;
    for form in ["confirm", "extend"] {
        let r = s.get(&format!("/s/{}/{form}?lang=en", b.id), Some(&b.cookie)).await;
        assert_eq!(see_other(&r), format!("/s/{}/pc?lang=en", b.id), "{form}");
    }
    // The page of another way goes to the one under way.
    let r = s.get(&format!("/s/{}/phone", b.id), Some(&b.cookie)).await;
    assert_eq!(see_other(&r), format!("/s/{}/pc", b.id));
    // Another browser (or none): refused, with what to do, and no link.
    let other = s.browser("verify_identity").await;
    for cookie in [None, Some(other.cookie.as_str())] {
        for way in ["pc", "phone", "same"] {
            let r = s.get(&format!("/s/{}/{way}", b.id), cookie).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{way}");
            let text = r.text();
            assert!(text.contains("手続きを始めたブラウザでしか使えない"), "{text}");
            assert!(!text.contains(&issued.handle) && !text.contains("mynaid://"), "{text}");
        }
    }
}

/// "Read again" after a final failure: a revoked signature certificate, whose words advise
/// the 4-digit PINs, starts a new attempt in the same session; the 4-digit route then
/// verifies. A failure that allows no other attempt leads back to the service instead.
#[tokio::test]
async fn read_again_after_a_revoked_signature_certificate_starts_a_new_attempt() {
    let s = Server::start().await;
    let flow = s.redeemed("link_card").await;
    let b = flow.browser.clone();
    let r = s.submit_read(&flow, "p08", Route::Signature).await;
    r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "certificate_revoked");
    // The reader page goes to the result page, which says what happened and what to do.
    let r = s.get(&format!("/s/{}/pc", b.id), Some(&b.cookie)).await;
    assert_eq!(see_other(&r), format!("/s/{}/done", b.id));
    let html = s.get(&format!("/s/{}/done", b.id), Some(&b.cookie)).await.text();
    assert!(html.contains("署名用電子証明書が失効しています"), "{html}");
    assert!(html.contains("数字4桁の暗証番号なら読み取れます"), "{html}");
    assert!(html.contains("id=\"read-again\""), "{html}");
    assert!(html.contains("id=\"choose-again\""), "{html}");
    assert!(html.contains("id=\"back-to-service\""), "{html}");
    // "Read again": a new link in the same session.
    let r = post_form(&s, &b, "pc", "").await;
    assert_eq!(see_other(&r), format!("/s/{}/pc", b.id));
    let html = s.get(&format!("/s/{}/pc", b.id), Some(&b.cookie)).await.text();
    let link = launch_link(&html).expect("a new link");
    assert_eq!(status_of(&html).0, "waiting");
    let handle = link.split("handle=").nth(1).unwrap().to_string();
    assert_ne!(handle, flow.handle);
    let row = s.state(&b.id).await;
    assert_eq!((row.state, row.failure), (State::Created, None));
    // The old link and its token are dead; the new one reads with the 4-digit PINs.
    s.redeem(&flow.handle)
        .await
        .assert_error(StatusCode::NOT_FOUND, "handle_unknown");
    let again = s.redeem_for(&b, &handle).await;
    s.submit_and_return(&again, read_card("p08", Route::UserAuthentication, &again.answer))
        .await;
    let result = s.result(API_KEY, &b).await;
    assert_eq!(result.status, StatusCode::OK, "{}", result.text());
    assert_eq!(result.json()["claims"]["name"], mynaid_testkit::person("p08").name);

    // Where only the signature route is accepted, there is no other attempt: the way back.
    let s = Server::with(|c| c.relying_parties[0].accepted_routes = vec![Route::Signature]).await;
    let flow = s.redeemed("verify_identity").await;
    let b = flow.browser.clone();
    s.submit_read(&flow, "p08", Route::Signature)
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "certificate_revoked");
    let html = s
        .get(&format!("/s/{}/done?lang=en", b.id), Some(&b.cookie))
        .await
        .text();
    assert!(
        html.contains("This procedure takes the signature certificate only"),
        "{html}"
    );
    assert!(html.contains("start again from the service"), "{html}");
    assert!(html.contains("id=\"back-to-service\""), "{html}");
    assert!(!html.contains("id=\"read-again\""), "{html}");
    let r = post_form(&s, &b, "pc", "").await;
    assert_eq!(see_other(&r), format!("/s/{}/done", b.id));
    assert_eq!(s.state(&b.id).await.state, State::Failed);
    let r = s.get(&format!("/s/{}", b.id), Some(&b.cookie)).await;
    assert_eq!(see_other(&r), format!("/s/{}/done", b.id));
}

/// More time (WCAG 2.2.1): the page that counts down has a button that extends the session
/// (and its link) by its lifetime, ten times (WCAG 2.2.1's "Extend" asks for at least ten);
/// the live events follow the new limit; refused after the session ended. Without the
/// script the form comes back to the page (`303`).
#[tokio::test]
async fn the_time_limit_can_be_extended_ten_times() {
    let s = Server::start().await;
    let b = s.browser("verify_identity").await;
    let issued = s.issue(&b).await;
    assert!(issued.html.contains("id=\"extend\""), "{}", issued.html);
    assert!(issued.html.contains("あと10回、5分ずつ延長できます"), "{}", issued.html);
    assert!(
        issued.html.contains("<span id=\"countdown\">5:00</span>"),
        "{}",
        issued.html
    );
    s.advance(200);
    let r = post_form_for_json(&s, &b, "extend", "").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json(), json!({ "expires_at": NOW + 600, "extensions_left": 9 }));
    let html = s.get(&format!("/s/{}/pc", b.id), Some(&b.cookie)).await.text();
    assert!(html.contains("<span id=\"countdown\">6:40</span>"), "{html}");
    assert!(html.contains(&format!("data-expires=\"{}\"", NOW + 600)), "{html}");
    assert!(html.contains("あと9回"), "{html}");
    // Without the script: back to the page.
    let r = post_form(&s, &b, "extend", "").await;
    assert_eq!(see_other(&r), format!("/s/{}/pc", b.id));
    assert_eq!(s.state(&b.id).await.expires_at, NOW + 900);
    for left in (0..8).rev() {
        let r = post_form_for_json(&s, &b, "extend", "").await;
        let until = NOW + 300 * (11 - left);
        assert_eq!(r.json(), json!({ "expires_at": until, "extensions_left": left }));
    }
    // 55 minutes in all, within the session's longest life (an hour).
    assert_eq!(s.state(&b.id).await.expires_at, NOW + 3300);
    post_form_for_json(&s, &b, "extend", "")
        .await
        .assert_error(StatusCode::CONFLICT, "no_more_time");
    let html = s.get(&format!("/s/{}/pc?lang=en", b.id), Some(&b.cookie)).await.text();
    assert!(!html.contains("id=\"extend\""), "{html}");
    assert!(html.contains("The time cannot be extended any more"), "{html}");
    // The link lives as long: past its first limit it is still the page's and redeems.
    s.advance(700);
    let html = s.get(&format!("/s/{}/pc", b.id), Some(&b.cookie)).await.text();
    assert_eq!(launch_link(&html).as_deref(), Some(issued.link.as_str()));
    let mut sse = Sse::open(&s, &b).await;
    assert_eq!(sse.next_state().await, "waiting");
    let r = s.redeem(&issued.handle).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    // Past the extended limit: refused, and the form goes to the result page.
    s.advance(2500);
    post_form_for_json(&s, &b, "extend", "")
        .await
        .assert_error(StatusCode::GONE, "session_expired");
    let r = post_form(&s, &b, "extend", "").await;
    assert_eq!(see_other(&r), format!("/s/{}/done", b.id));

    // While the confirmation code waits, its own limit is extended; once the result was
    // released, nothing is.
    let flow = s.redeemed("verify_identity").await;
    let submitted = s.submit_read(&flow, "p01", Route::UserAuthentication).await;
    assert_eq!(submitted.status, StatusCode::OK);
    let confirm_until = s.state(flow.id()).await.confirm_expires_at.unwrap();
    let html = s
        .get(&format!("/s/{}/pc", flow.id()), Some(&flow.browser.cookie))
        .await
        .text();
    assert!(html.contains(&format!("data-expires=\"{confirm_until}\"")), "{html}");
    let r = post_form_for_json(&s, &flow.browser, "extend", "").await;
    assert_eq!(
        r.json(),
        json!({ "expires_at": confirm_until + 300, "extensions_left": 9 })
    );
    assert_eq!(
        s.come_back(&submitted, Some(&flow.browser.cookie)).await.status,
        StatusCode::OK
    );
    post_form_for_json(&s, &flow.browser, "extend", "")
        .await
        .assert_error(StatusCode::CONFLICT, "session_finished");
}

/// The live events follow an extended limit: a page connected before the extension is not
/// told "expired" at the old one.
#[tokio::test]
async fn the_live_events_follow_an_extended_limit() {
    let s = Server::with(|c| c.session_ttl_secs = 2).await;
    let b = s.browser("verify_identity").await;
    let _issued = s.issue(&b).await;
    let mut sse = Sse::open(&s, &b).await;
    assert_eq!(sse.next_state().await, "waiting");
    let r = post_form_for_json(&s, &b, "extend", "").await;
    assert_eq!(r.json()["expires_at"], NOW + 4);
    // The old limit passes in real time; the test's clock, which the session sees, is moved
    // past it but not past the new one: nothing is said.
    s.advance(3);
    assert!(
        tokio::time::timeout(Duration::from_secs(4), sse.next(Duration::from_secs(10)))
            .await
            .is_err(),
        "no event before the new limit"
    );
    // Past the new limit: "expired".
    s.advance(2);
    assert_eq!(
        sse.next(Duration::from_secs(10)).await.unwrap(),
        json!({ "state": "expired" })
    );
}
