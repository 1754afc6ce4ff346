//! The browser's side in process: the start URL and its cookie, the pages that need it, the
//! PC-reader page with its link and fallback command, the live status (SSE), the result
//! page; and one whole session against a real server on a random port, over HTTP.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, StatusCode, header};
use common::*;
use mynaid_sessions::store::State;
use serde_json::{Value, json};

const SSE_WAIT: Duration = Duration::from_secs(5);

#[tokio::test]
async fn the_start_url_gives_its_first_browser_a_fresh_cookie_and_redirects() {
    let s = Server::start().await;
    let (id, url) = s.create_session("verify_identity").await;
    let path = url.strip_prefix(PUBLIC_URL).unwrap();
    let token = path.split("t=").nth(1).unwrap();
    let r = s.get(path, None).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.header(header::LOCATION).as_deref(), Some(format!("/s/{id}").as_str()));
    let cookie = r.header(header::SET_COOKIE).unwrap();
    // Over HTTPS: the __Host- prefix, Secure, never readable by scripts (attributes in any
    // order, each once). The value is not the link's token: the link proves nothing later.
    let mut parts: Vec<&str> = cookie.split(';').map(str::trim).collect();
    let pair = parts.remove(0);
    let (name, value) = pair.split_once('=').unwrap();
    assert_eq!(name, format!("__Host-mynaid-{id}"));
    assert_eq!(value.len(), 32, "{pair}");
    assert_ne!(value, token);
    parts.sort_unstable();
    assert_eq!(
        parts,
        ["HttpOnly", "Max-Age=3600", "Path=/", "SameSite=Lax", "Secure"],
        "{cookie}"
    );
    let jar = cookie.split(';').next().unwrap();
    let r = s.get(&format!("/s/{id}"), Some(jar)).await;
    assert_eq!(r.status, StatusCode::OK);
    let html = r.text();
    assert!(html.contains("登録ポータル（テスト）"), "{html}");
    assert!(html.contains(ORIGIN));
    assert!(html.contains("本人確認"));
    assert!(html.contains("id=\"method-pc\""));
    assert!(!html.contains(token), "the page does not repeat the token");
    assert_eq!(r.header(header::X_CONTENT_TYPE_OPTIONS).as_deref(), Some("nosniff"));
    assert_eq!(r.header(header::REFERRER_POLICY).as_deref(), Some("no-referrer"));

    // English keeps its language through the redirect (the link again, in this browser).
    let r = s.get(&format!("{path}&lang=en"), Some(jar)).await;
    assert_eq!(
        r.header(header::LOCATION).as_deref(),
        Some(format!("/s/{id}?lang=en").as_str())
    );
    let r = s.get(&format!("/s/{id}?lang=en"), Some(jar)).await;
    assert!(r.text().contains("Registration portal (test)"));

    // Opened, the link works for nobody else: any token, another browser.
    for again in [
        path.to_string(),
        format!("/s/{id}/start?t=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
    ] {
        let r = s.get(&again, None).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{again}");
        assert!(r.header(header::SET_COOKIE).is_none());
        assert!(r.text().contains("すでに別のブラウザで開かれています"));
    }
    // Before it is opened, a wrong or missing token sets nothing and uses nothing up.
    let (id, url) = s.create_session("verify_identity").await;
    for bad in [
        format!("/s/{id}/start?t=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
        format!("/s/{id}/start"),
    ] {
        let r = s.get(&bad, None).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{bad}");
        assert!(r.header(header::SET_COOKIE).is_none());
        assert!(r.text().contains("認証に失敗しました"));
    }
    let r = s.get(url.strip_prefix(PUBLIC_URL).unwrap(), None).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = s.get(&format!("/s/AAAAAAAAAAAAAAAAAAAAAA/start?t={token}"), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // Over plain HTTP (the demo on loopback): no prefix, no Secure.
    let s = Server::with(|c| c.public_url = "http://127.0.0.1:8080".into()).await;
    let (id, url) = s.create_session("verify_identity").await;
    let r = s.get(url.strip_prefix("http://127.0.0.1:8080").unwrap(), None).await;
    let cookie = r.header(header::SET_COOKIE).unwrap();
    assert!(cookie.starts_with(&format!("mynaid-{id}=")), "{cookie}");
    assert!(!cookie.contains("Secure"), "{cookie}");
}

#[tokio::test]
async fn the_pages_need_the_browsers_cookie() {
    let s = Server::start().await;
    let b = s.browser("verify_identity").await;
    let other = s.browser("verify_identity").await;
    let (name, _) = b.cookie.split_once('=').unwrap();
    let (_, other_value) = other.cookie.split_once('=').unwrap();
    let wrong_value = format!("{name}={other_value}");
    // Another session's cookie under its own name.
    let foreign = other.cookie.clone();
    for cookie in [None, Some(wrong_value.as_str()), Some(foreign.as_str())] {
        let r = s.get(&format!("/s/{}", b.id), cookie).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{cookie:?}");
        assert!(r.header(header::CONTENT_TYPE).unwrap().starts_with("text/html"));
        // What happened and what to do: a forwarded link is not to be followed.
        let text = r.text();
        assert!(text.contains("手続きを始めたブラウザでしか使えない"), "{text}");
        assert!(text.contains("だれかから送られたリンクであれば"), "{text}");
        let r = s
            .call(Method::POST, &format!("/s/{}/pc", b.id), None, cookie, Body::empty())
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{cookie:?}");
        assert!(!r.text().contains("mynaid://"));
        let r = s.get(&format!("/s/{}/events", b.id), cookie).await;
        r.assert_error(StatusCode::FORBIDDEN, "other_browser");
        let r = s.get(&format!("/s/{}/done", b.id), cookie).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{cookie:?}");
    }
    // Nothing was issued by those attempts.
    assert_eq!(s.state(&b.id).await.state, State::Created);
    assert_eq!(
        s.get(&format!("/s/{}", b.id), Some(&b.cookie)).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_pc_page_shows_the_link_and_the_exact_fallback_command() {
    let s = Server::start().await;
    let b = s.browser("verify_identity").await;
    let issued = s.issue(&b).await;
    assert!(
        issued
            .link
            .starts_with("mynaid://read?server=https%3A%2F%2Fid.example.jp&handle="),
        "{}",
        issued.link
    );
    assert_eq!(issued.handle.len(), 32);
    assert_eq!(issued.command, format!("mynaid read --link '{}'", issued.link));
    assert!(issued.html.contains(&format!("data-events=\"/s/{}/events\"", b.id)));
    assert!(issued.html.contains(&format!("data-next=\"/s/{}/done\"", b.id)));
    assert!(issued.html.contains(&format!("data-expires=\"{}\"", NOW + 300)));
    assert!(issued.html.contains("id=\"status\""));
    assert!(issued.html.contains("/static/session.js"));
    assert!(
        !issued.html.contains("demo-command"),
        "no demo hint without a demo configuration"
    );
    // Shown, not yet redeemed.
    assert_eq!(s.state(&b.id).await.state, State::Created);
    let r = s.redeem(&issued.handle).await;
    assert_eq!(r.status, StatusCode::OK);

    // The page's script is served.
    let r = s.get("/static/session.js", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text().contains("EventSource"));
}

#[tokio::test]
async fn the_live_status_goes_waiting_reading_verified() {
    let s = Server::start().await;
    let b = s.browser("verify_identity").await;
    let issued = s.issue(&b).await;
    let mut sse = Sse::open(&s, &b).await;
    assert_eq!(sse.next_state().await, "waiting");
    let flow = s.redeem_for(&b, &issued.handle).await;
    assert_eq!(sse.next_state().await, "reading");
    assert_eq!(s.status(&flow, "reading", None).await.status, StatusCode::NO_CONTENT);
    assert_eq!(
        sse.next(SSE_WAIT).await.unwrap(),
        json!({ "state": "reader", "status": "reading" })
    );
    let r = s.submit_read(&flow, "p01", Route::UserAuthentication).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    // Held until the reader app brings the person back to this browser.
    // With the time the code (or the way back) has: the page counts down to it.
    assert_eq!(
        sse.next(SSE_WAIT).await.unwrap(),
        json!({ "state": "confirm_needed", "expires_at": NOW + 300 })
    );
    assert_eq!(s.come_back(&r, Some(&b.cookie)).await.status, StatusCode::OK);
    assert_eq!(sse.next(SSE_WAIT).await.unwrap(), json!({ "state": "verified" }));

    // A page that connects now is told at once, and the stream ends.
    let mut late = Sse::open(&s, &b).await;
    assert_eq!(late.next_state().await, "verified");
    assert_eq!(late.next(SSE_WAIT).await, None);

    // The result page, and the way back to the service.
    let r = s.get(&format!("/s/{}/done", b.id), Some(&b.cookie)).await;
    assert_eq!(r.status, StatusCode::OK);
    let html = r.text();
    assert!(html.contains("マイナンバーカードを確認できました"), "{html}");
    let back = format!("{RETURN_URL}?session={}&amp;code={}", b.id, s.return_code(&b).await);
    assert!(
        html.contains(&format!("id=\"back\" class=\"button\" href=\"{back}\"")),
        "{html}"
    );
    assert!(html.contains(&format!("content=\"0;url={back}\"")), "{html}");
    let p = mynaid_testkit::person("p01");
    assert!(!html.contains(&p.name), "the result page shows no personal data");
    // The procedure page now goes to the result page.
    let r = s.get(&format!("/s/{}", b.id), Some(&b.cookie)).await;
    assert_eq!(see_other(&r), format!("/s/{}/done", b.id));
}

#[tokio::test]
async fn status_reports_reach_the_page() {
    let s = Server::start().await;
    let flow = s.redeemed("verify_identity").await;
    let mut sse = Sse::open(&s, &flow.browser).await;
    assert_eq!(sse.next_state().await, "reading");

    let r = s.status(&flow, "pin_wrong", Some(2)).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
    assert_eq!(
        sse.next(SSE_WAIT).await.unwrap(),
        json!({ "state": "reader", "status": "pin_wrong", "tries_left": 2 })
    );
    assert_eq!(
        s.state(flow.id()).await.reader_status,
        Some(mynaid_protocol::ReaderStatus::PinWrong)
    );
    for status in ["card_removed", "pin_blocked", "no_card", "cancelled"] {
        assert_eq!(s.status(&flow, status, None).await.status, StatusCode::NO_CONTENT);
        assert_eq!(
            sse.next(SSE_WAIT).await.unwrap(),
            json!({ "state": "reader", "status": status })
        );
    }
    // Only the device that redeemed may report.
    let r = s
        .call(
            Method::POST,
            &format!("/api/v1/handles/{}/status", flow.handle),
            Some("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
            None,
            json!({ "status": "pin_blocked" }).to_string(),
        )
        .await;
    r.assert_error(StatusCode::UNAUTHORIZED, "unauthorized");
    // Status reports are shown, never acted on: the session still takes evidence.
    assert_eq!(s.state(flow.id()).await.state, State::HandleRedeemed);
    let r = s.submit_read(&flow, "p02", Route::Signature).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(sse.next_state().await, "confirm_needed");
}

#[tokio::test]
async fn a_second_device_using_the_link_ends_the_session_and_the_page_says_why() {
    let s = Server::start().await;
    let b = s.browser("verify_identity").await;
    let issued = s.issue(&b).await;
    let mut sse = Sse::open(&s, &b).await;
    assert_eq!(sse.next_state().await, "waiting");
    assert_eq!(s.redeem(&issued.handle).await.status, StatusCode::OK);
    assert_eq!(sse.next_state().await, "reading");
    s.redeem(&issued.handle)
        .await
        .assert_error(StatusCode::CONFLICT, "handle_already_used");
    assert_eq!(
        sse.next(SSE_WAIT).await.unwrap(),
        json!({ "state": "failed", "code": "redeemed_twice" })
    );
    // In words for this page: a reading link (pattern 1 has no QR code), and the way back to
    // the service, which is the next step (this session allows no other attempt).
    let html = s.get(&format!("/s/{}/done", b.id), Some(&b.cookie)).await.text();
    assert!(html.contains("読み取り用のリンクが2回使われた"), "{html}");
    assert!(!html.contains("QR"), "{html}");
    assert!(html.contains("id=\"back-to-service\""), "{html}");
    assert!(!html.contains("id=\"read-again\""), "{html}");
    let html = s
        .get(&format!("/s/{}/done?lang=en", b.id), Some(&b.cookie))
        .await
        .text();
    assert!(html.contains("The reading link was used twice"), "{html}");
    assert!(!html.contains("QR"), "{html}");
    // The reader page itself goes to the result, and "read again" changes nothing.
    let r = s.get(&format!("/s/{}/pc", b.id), Some(&b.cookie)).await;
    assert_eq!(see_other(&r), format!("/s/{}/done", b.id));
    let r = post_form(&s, &b, "pc", "").await;
    assert_eq!(see_other(&r), format!("/s/{}/done", b.id));
    assert_eq!(s.state(&b.id).await.state, State::Failed);
}

#[tokio::test]
async fn a_refused_card_fails_the_page_with_its_reason() {
    let s = Server::start().await;
    let flow = s.redeemed("verify_identity").await;
    let mut sse = Sse::open(&s, &flow.browser).await;
    assert_eq!(sse.next_state().await, "reading");
    let r = s.submit_read(&flow, "p08", Route::Signature).await;
    r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "certificate_revoked");
    assert_eq!(
        sse.next(SSE_WAIT).await.unwrap(),
        json!({ "state": "failed", "code": "certificate_revoked" })
    );
    let html = s
        .get(&format!("/s/{}/done", flow.id()), Some(&flow.browser.cookie))
        .await
        .text();
    assert!(html.contains("data-code=\"certificate_revoked\""), "{html}");
    assert!(html.contains("電子証明書が失効しています"), "{html}");
    assert!(!html.contains("id=\"back\""));
}

#[tokio::test]
async fn an_expired_session_says_so_on_the_live_status_and_the_result_page() {
    let s = Server::start().await;
    let b = s.browser("verify_identity").await;
    let _issued = s.issue(&b).await;
    let mut sse = Sse::open(&s, &b).await;
    assert_eq!(sse.next_state().await, "waiting");
    s.advance(301);
    // A page that (re)connects after the expiry is told at once; the stream ends.
    let mut late = Sse::open(&s, &b).await;
    assert_eq!(late.next_state().await, "expired");
    assert_eq!(late.next(SSE_WAIT).await, None);
    let r = s.get(&format!("/s/{}/done", b.id), Some(&b.cookie)).await;
    assert_eq!(r.status, StatusCode::OK);
    let html = r.text();
    assert!(html.contains("有効期限が切れました"), "{html}");
    assert!(!html.contains("マイナンバーカードを確認できました"));
    // Within the session's longest life, a new reading can start: the result page offers it.
    assert!(html.contains("新しい時間で、もう一度読み取ることができます"), "{html}");
    assert!(html.contains("id=\"read-again\""), "{html}");
    // The reader page, reloaded, goes to the result page.
    let r = s.get(&format!("/s/{}/pc?lang=en", b.id), Some(&b.cookie)).await;
    assert_eq!(see_other(&r), format!("/s/{}/done?lang=en", b.id));
    let html = s
        .get(&format!("/s/{}/done?lang=en", b.id), Some(&b.cookie))
        .await
        .text();
    assert!(html.contains("The time limit has passed"), "{html}");

    // Past the session's longest life (an hour) not even "read again" revives it: the
    // result page says to start again from the service, and shows the way back.
    s.advance(3600 - 300); // one second past the hour
    let r = post_form(&s, &b, "pc", "").await;
    assert_eq!(see_other(&r), format!("/s/{}/done", b.id));
    let html = s.get(&format!("/s/{}/done", b.id), Some(&b.cookie)).await.text();
    assert!(html.contains("有効期限"), "{html}");
    assert!(html.contains("サービスからやり直してください"), "{html}");
    assert!(html.contains("id=\"back-to-service\""), "{html}");
    assert!(!html.contains("id=\"read-again\""), "{html}");
    // And the method choice goes there too.
    let r = s.get(&format!("/s/{}", b.id), Some(&b.cookie)).await;
    assert_eq!(r.header(header::LOCATION).unwrap(), format!("/s/{}/done", b.id));
}

#[tokio::test]
async fn a_whole_session_against_a_real_server_over_http() {
    use reqwest;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let base = format!("http://{addr}");
    let s = Server::build(test_config(&base, "sqlite::memory:"), None).await;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(mynaid_server::serve(s.server.clone(), listener, async move {
        let _ = stopped.await;
    }));

    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    // The relying party.
    let created: Value = http
        .post(format!("{base}/api/v1/sessions"))
        .bearer_auth(API_KEY)
        .json(&json!({ "purpose": "verify_identity", "return_url": RETURN_URL }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["session_id"].as_str().unwrap().to_string();
    let browser_url = created["browser_url"].as_str().unwrap();
    assert!(browser_url.starts_with(&format!("{base}/s/{id}/start?t=")));
    // The browser.
    let r = http.get(browser_url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let cookie = cookie_pair(r.headers()[header::SET_COOKIE].to_str().unwrap());
    assert!(cookie.starts_with(&format!("mynaid-{id}=")));
    let (_, browser_token) = cookie.split_once('=').unwrap();
    let chosen = http
        .post(format!("{base}/s/{id}/pc"))
        .header(header::COOKIE, &cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(format!("csrf={}", mynaid_server::pages::form_token(&id, browser_token)))
        .send()
        .await
        .unwrap();
    assert_eq!(chosen.status(), StatusCode::SEE_OTHER);
    assert_eq!(chosen.headers()[header::LOCATION], format!("/s/{id}/pc"));
    let page = http
        .get(format!("{base}/s/{id}/pc"))
        .header(header::COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    let link = html_unescape(&between(&html, "id=\"launch\"", "href=\"", "\""));
    let encoded = base.replace(':', "%3A").replace('/', "%2F");
    assert!(
        link.starts_with(&format!("mynaid://read?server={encoded}&handle=")),
        "{link}"
    );
    let handle = link.split("handle=").nth(1).unwrap().to_string();
    let mut events = http
        .get(format!("{base}/s/{id}/events"))
        .header(header::COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(events.status(), StatusCode::OK);
    assert!(
        events.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    // The reading device.
    let redeemed: Value = http
        .post(format!("{base}/api/v1/handles/{handle}/redeem"))
        .json(&json!({ "reader": { "name": "mynaid-reader", "version": READER_VERSION }, "device": "pc_reader_app" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let evidence_url = redeemed["evidence_url"].as_str().unwrap();
    assert_eq!(evidence_url, format!("{base}/api/v1/handles/{handle}/evidence"));
    let evidence = read_card("p02", Route::Signature, &redeemed);
    let r = http
        .post(evidence_url)
        .bearer_auth(redeemed["submission_token"].as_str().unwrap())
        .header(header::CONTENT_TYPE, "application/json")
        .body(evidence)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // The reader app sends the person back to this browser, which releases the result.
    let submitted: Value = r.json().await.unwrap();
    let result_handle = submitted["return_url"]
        .as_str()
        .unwrap()
        .split_once("/return#")
        .unwrap()
        .1;
    let r = http
        .post(format!("{base}/return"))
        .header(header::COOKIE, &cookie)
        .json(&json!({ "result_handle": result_handle }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{:?}", r.text().await);
    // The page hears it over the wire.
    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !seen.contains("\"state\":\"verified\"") {
        let chunk = tokio::time::timeout_at(deadline, events.chunk())
            .await
            .unwrap_or_else(|_| panic!("no verified event over HTTP; saw {seen:?}"))
            .unwrap()
            .expect("the stream stays open until verified");
        seen.push_str(std::str::from_utf8(&chunk).unwrap());
    }
    let states: Vec<&str> = seen
        .lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .map(str::trim)
        .collect();
    assert_eq!(
        states,
        [
            r#"{"state":"waiting"}"#,
            r#"{"state":"reading"}"#,
            &format!(r#"{{"state":"confirm_needed","expires_at":{}}}"#, NOW + 300),
            r#"{"state":"verified"}"#
        ]
    );
    // The relying party takes the result, once, with the code this browser brings back.
    let done = page_text(http.get(format!("{base}/s/{id}/done")).header(header::COOKIE, &cookie)).await;
    let back = html_unescape(&between(&done, "id=\"back\"", "href=\"", "\""));
    let code = back.split("code=").nth(1).unwrap().to_string();
    let r = http
        .get(format!("{base}/api/v1/sessions/{id}/result?code={code}"))
        .bearer_auth(API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["claims"]["name"], mynaid_testkit::person("p02").name.as_str());
    let r = http
        .get(format!("{base}/api/v1/sessions/{id}/result?code={code}"))
        .bearer_auth(API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);

    drop(events);
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("the server stops")
        .unwrap()
        .unwrap();
}

/// The page language follows the browser's Accept-Language; the switch (`?lang=`) wins and
/// is remembered, so the next pages stay in the chosen language.
#[tokio::test]
async fn pages_follow_accept_language_and_remember_the_switch() {
    let s = Server::start().await;
    let b = s.browser("verify_identity").await;
    let page = |accept: Option<&str>, query: &str, extra_cookie: Option<&str>| {
        let mut req = axum::http::Request::builder()
            .method(Method::GET)
            .uri(format!("/s/{}{query}", b.id));
        let cookie = match extra_cookie {
            Some(c) => format!("{}; {c}", b.cookie),
            None => b.cookie.clone(),
        };
        req = req.header(header::COOKIE, cookie);
        if let Some(a) = accept {
            req = req.header(header::ACCEPT_LANGUAGE, a);
        }
        s.send(req.body(Body::empty()).unwrap())
    };
    let lang_of = |r: &Resp| {
        let html = r.text();
        let at = html.find("<html lang=\"").expect("an html element") + 12;
        html[at..at + 2].to_string()
    };
    assert_eq!(lang_of(&page(None, "", None).await), "ja", "nothing said: Japanese");
    assert_eq!(lang_of(&page(Some("en-US,en;q=0.9,ja;q=0.5"), "", None).await), "en");
    assert_eq!(lang_of(&page(Some("ja,en;q=0.8"), "", None).await), "ja");
    assert_eq!(
        lang_of(&page(Some("fr-FR,fr;q=0.9"), "", None).await),
        "ja",
        "neither: Japanese"
    );
    // An English browser switches to Japanese: the choice wins, and is remembered.
    let r = page(Some("en-US"), "?lang=ja", None).await;
    assert_eq!(lang_of(&r), "ja");
    let remembered = r.header(header::SET_COOKIE).expect("the choice is remembered");
    assert!(remembered.starts_with("mynaid-lang=ja;"), "{remembered}");
    let pair = remembered.split(';').next().unwrap();
    assert_eq!(
        lang_of(&page(Some("en-US"), "", Some(pair)).await),
        "ja",
        "the next page stays"
    );
}
