//! Web hardening and rate limits: security headers on pages and the API, HSTS only over
//! HTTPS, cross-site and token-less form posts refused without changing anything, cookie
//! attributes, and 429 answers per handle and per client address.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode, header};
use common::*;

/// A form post of a page, with `extra` headers.
async fn post_form(s: &Server, path: &str, cookie: &str, body: String, extra: &[(&str, &str)]) -> Resp {
    let mut req = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(header::COOKIE, cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    for (k, v) in extra {
        req = req.header(*k, *v);
    }
    s.send(req.body(Body::from(body)).unwrap()).await
}

/// A redeem from `from` (the connection's address), with `extra` headers.
async fn redeem_from(s: &Server, handle: &str, from: &str, extra: &[(&str, &str)]) -> Resp {
    let mut req = Request::builder()
        .method(Method::POST)
        .uri(format!("/api/v1/handles/{handle}/redeem"))
        .header(header::CONTENT_TYPE, "application/json");
    for (k, v) in extra {
        req = req.header(*k, *v);
    }
    let mut req = req.body(Body::from("{}")).unwrap();
    req.extensions_mut()
        .insert(ConnectInfo(from.parse::<SocketAddr>().unwrap()));
    s.send(req).await
}

fn assert_page_headers(r: &Resp, what: &str) {
    let csp = r
        .header(header::CONTENT_SECURITY_POLICY)
        .unwrap_or_else(|| panic!("{what}: no CSP"));
    for d in [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ] {
        assert!(csp.contains(d), "{what}: {d} missing from {csp}");
    }
    assert!(!csp.contains("unsafe-inline"), "{what}: {csp}");
    assert_eq!(r.header(header::X_FRAME_OPTIONS).as_deref(), Some("DENY"), "{what}");
    assert_eq!(
        r.header(header::X_CONTENT_TYPE_OPTIONS).as_deref(),
        Some("nosniff"),
        "{what}"
    );
}

#[tokio::test]
async fn pages_and_the_api_carry_the_security_headers() {
    let s = Server::start().await;
    let b = s.browser("verify_identity").await;
    let procedure = s.get(&format!("/s/{}", b.id), Some(&b.cookie)).await;
    assert_eq!(procedure.status, StatusCode::OK);
    let issued = s.issue(&b).await;
    let home = s.get("/", None).await;
    for (what, r) in [("home", &home), ("procedure", &procedure)] {
        assert!(r.header(header::CONTENT_TYPE).unwrap().starts_with("text/html"));
        assert_page_headers(r, what);
        assert_eq!(r.header(header::CACHE_CONTROL).as_deref(), Some("no-store"), "{what}");
        assert_eq!(
            r.header(header::STRICT_TRANSPORT_SECURITY).as_deref(),
            Some("max-age=31536000"),
            "{what}: public_url is https"
        );
    }
    assert!(issued.html.contains("/static/session.js"));
    // The API: no content may load from it either, and nothing of a session is cached.
    let redeemed = s.redeem(&issued.handle).await;
    let unknown = s.redeem("AAAAAAAAAAAAAAAAAAAAAAAA").await;
    for (what, r) in [("redeem", &redeemed), ("unknown handle", &unknown)] {
        assert_eq!(
            r.header(header::CONTENT_SECURITY_POLICY).as_deref(),
            Some("default-src 'none'; frame-ancestors 'none'; base-uri 'none'"),
            "{what}"
        );
        assert_eq!(r.header(header::X_FRAME_OPTIONS).as_deref(), Some("DENY"), "{what}");
        assert_eq!(r.header(header::CACHE_CONTROL).as_deref(), Some("no-store"), "{what}");
        assert!(r.header(header::STRICT_TRANSPORT_SECURITY).is_some(), "{what}");
    }
    // Static files may be cached; they still cannot be framed.
    let css = s.get("/static/style.css", None).await;
    assert_eq!(css.status, StatusCode::OK);
    assert_eq!(css.header(header::CACHE_CONTROL), None);
    assert_eq!(css.header(header::X_FRAME_OPTIONS).as_deref(), Some("DENY"));
}

#[tokio::test]
async fn pages_have_no_inline_script_or_style_and_carry_the_form_token() {
    let s = Server::start().await;
    let b = s.browser("verify_identity").await;
    let procedure = s.get(&format!("/s/{}", b.id), Some(&b.cookie)).await.text();
    assert_eq!(
        procedure.matches("name=\"csrf\"").count(),
        3,
        "one per form: {procedure}"
    );
    assert_eq!(form_token_of(&procedure), b.form_token());
    let mut pages = vec![
        procedure,
        s.get("/", None).await.text(),
        s.get("/return", None).await.text(),
    ];
    for way in ["pc", "phone", "same"] {
        let r = post_form(&s, &format!("/s/{}/{way}", b.id), &b.cookie, b.form(""), &[]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{way}: {}", r.text());
        let r = s.get(&format!("/s/{}/{way}", b.id), Some(&b.cookie)).await;
        assert_eq!(r.status, StatusCode::OK, "{way}: {}", r.text());
        let html = r.text();
        assert_eq!(form_token_of(&html), b.form_token(), "{way}");
        pages.push(html);
    }
    for html in &pages {
        assert!(!html.contains("<style"), "{html}");
        assert!(!html.contains(" style="), "{html}");
        assert!(!html.contains(" onclick=") && !html.contains(" onload="), "{html}");
        for (i, _) in html.match_indices("<script") {
            let tag = &html[i..i + html[i..].find('>').unwrap()];
            assert!(tag.contains(" src=\"/static/"), "inline script: {tag}");
            assert!(html[i..].starts_with(&format!("{tag}></script>")), "{tag}");
        }
    }
}

#[tokio::test]
async fn hsts_and_secure_cookies_only_over_https() {
    let s = Server::start().await;
    let (id, url) = s.create_session("verify_identity").await;
    let r = s.get(url.strip_prefix(PUBLIC_URL).unwrap(), None).await;
    let cookie = r.header(header::SET_COOKIE).unwrap();
    assert!(cookie.starts_with(&format!("__Host-mynaid-{id}=")), "{cookie}");
    let attrs: Vec<&str> = cookie.split(';').map(str::trim).skip(1).collect();
    for a in ["Path=/", "HttpOnly", "SameSite=Lax", "Secure"] {
        assert!(attrs.contains(&a), "{a} missing: {cookie}");
    }
    assert!(!cookie.to_ascii_lowercase().contains("domain="), "{cookie}");
    assert!(r.header(header::STRICT_TRANSPORT_SECURITY).is_some());

    let plain = Server::with(|c| c.public_url = "http://127.0.0.1:8080".into()).await;
    let (id, url) = plain.create_session("verify_identity").await;
    let r = plain
        .get(url.strip_prefix("http://127.0.0.1:8080").unwrap(), None)
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let cookie = r.header(header::SET_COOKIE).unwrap();
    assert!(cookie.starts_with(&format!("mynaid-{id}=")), "{cookie}");
    let attrs: Vec<&str> = cookie.split(';').map(str::trim).skip(1).collect();
    for a in ["Path=/", "HttpOnly", "SameSite=Lax"] {
        assert!(attrs.contains(&a), "{a} missing: {cookie}");
    }
    assert!(!attrs.contains(&"Secure"), "{cookie}");
    assert_eq!(r.header(header::STRICT_TRANSPORT_SECURITY), None);
    assert_eq!(
        plain.get("/", None).await.header(header::STRICT_TRANSPORT_SECURITY),
        None
    );
    assert_page_headers(&plain.get("/", None).await, "home over http");
}

#[tokio::test]
async fn a_forged_cross_site_post_is_refused_and_changes_nothing() {
    let s = Server::start().await;
    let b = s.browser("verify_identity").await;
    let before = s.state(&b.id).await;
    let forged: [&[(&str, &str)]; 4] = [
        &[("origin", "https://evil.example")],
        &[("sec-fetch-site", "cross-site")],
        &[("sec-fetch-site", "same-site"), ("origin", PUBLIC_URL)],
        &[("origin", "null"), ("sec-fetch-site", "cross-site")],
    ];
    for headers in forged {
        for way in ["pc", "phone", "same", "confirm"] {
            // Even with the browser's cookie and the right token (a cookie a browser sends
            // along, a token an attacker might have seen).
            let body = b.form("code=123456");
            let r = post_form(&s, &format!("/s/{}/{way}", b.id), &b.cookie, body, headers).await;
            r.assert_error(StatusCode::FORBIDDEN, "request_forbidden");
            assert!(!r.text().contains("mynaid://"), "{headers:?}");
        }
    }
    let after = s.state(&b.id).await;
    assert_eq!(after.pattern, before.pattern, "no way was chosen");
    assert_eq!(after.pc_code, before.pc_code);
    assert_eq!(after.state, before.state);
    assert_eq!(after.confirm_attempts, 0);
    // The same post from the server's own pages goes through.
    // (`Origin: null` is what a browser sends for a page with `Referrer-Policy: no-referrer`.)
    let own: [&[(&str, &str)]; 3] = [
        &[("origin", PUBLIC_URL), ("sec-fetch-site", "same-origin")],
        &[("origin", "null"), ("sec-fetch-site", "same-origin")],
        &[("origin", "http://id.internal:8080"), ("host", "id.internal:8080")],
    ];
    for headers in own {
        let r = post_form(&s, &format!("/s/{}/pc", b.id), &b.cookie, b.form(""), headers).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{headers:?}: {}", r.text());
    }
    assert_eq!(s.state(&b.id).await.pattern, Some(mynaid_protocol::Pattern::PcReader));
    // The pattern-3 return is a page post too.
    let r = s
        .send(
            Request::builder()
                .method(Method::POST)
                .uri("/return")
                .header(header::CONTENT_TYPE, "application/json")
                .header("origin", "https://evil.example")
                .header(header::COOKIE, &b.cookie)
                .body(Body::from(r#"{"result_handle":"AAAAAAAAAAAAAAAAAAAAAAAA"}"#))
                .unwrap(),
        )
        .await;
    r.assert_error(StatusCode::FORBIDDEN, "request_forbidden");
}

#[tokio::test]
async fn a_form_post_without_its_token_is_refused() {
    let s = Server::start().await;
    let b = s.browser("verify_identity").await;
    let other = s.browser("verify_identity").await;
    let wrong = [
        String::new(),
        "csrf=".to_string(),
        format!("csrf={}", other.form_token()),
        format!("csrf={}x", b.form_token()),
        format!("csrf={}", mynaid_server::pages::form_token(&b.id, "not-the-cookie")),
    ];
    for body in &wrong {
        for way in ["pc", "phone", "same"] {
            let r = post_form(&s, &format!("/s/{}/{way}", b.id), &b.cookie, body.clone(), &[]).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{way} {body:?}: {}", r.text());
            assert!(r.header(header::CONTENT_TYPE).unwrap().starts_with("text/html"));
            assert!(!r.text().contains("mynaid://"));
        }
        let r = post_form(
            &s,
            &format!("/s/{}/confirm", b.id),
            &b.cookie,
            format!("{body}&code=123456"),
            &[("accept", "application/json")],
        )
        .await;
        r.assert_error(StatusCode::FORBIDDEN, "request_forbidden");
    }
    let row = s.state(&b.id).await;
    assert_eq!(row.pattern, None, "nothing was chosen");
    assert_eq!(row.confirm_attempts, 0);
    // Without the cookie it is still "which browser are you" first.
    let r = post_form(&s, &format!("/s/{}/pc", b.id), "x=y", b.form(""), &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(
        r.text().contains("手続きを始めたブラウザでしか使えない"),
        "{}",
        r.text()
    );
    // The right token works (and a confirmation code with it reaches the session).
    let r = post_form(&s, &format!("/s/{}/phone", b.id), &b.cookie, b.form(""), &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let r = post_form(
        &s,
        &format!("/s/{}/confirm", b.id),
        &b.cookie,
        b.form("code=123456"),
        &[("accept", "application/json")],
    )
    .await;
    r.assert_error(StatusCode::CONFLICT, "session_finished");
}

#[tokio::test]
async fn redeem_and_evidence_are_limited_per_handle() {
    let s = Server::with(|c| {
        c.limits.per_handle_burst = 3;
        c.limits.per_handle_per_minute = 1;
    })
    .await;
    let flow = s.redeemed("verify_identity").await;
    for _ in 0..2 {
        s.submit(&flow.handle, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "{}")
            .await
            .assert_error(StatusCode::UNAUTHORIZED, "unauthorized");
    }
    // The fourth request for this handle: too many.
    let r = s.submit_read(&flow, "p01", Route::UserAuthentication).await;
    r.assert_error(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    let retry: u64 = r.header(header::RETRY_AFTER).unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert_eq!(
        s.state(flow.id()).await.state,
        mynaid_sessions::store::State::HandleRedeemed,
        "the limited evidence was not looked at"
    );
    // Another handle has its own bucket.
    let other = s.redeemed("verify_identity").await;
    assert!(other.answer["submission_token"].is_string());
    // The API description says so.
    let doc = s.get("/api/openapi.json", None).await.json();
    for op in ["redeem", "evidence"] {
        let answer = &doc["paths"][format!("/api/v1/handles/{{handle}}/{op}")]["post"]["responses"]["429"];
        assert_eq!(answer["$ref"], "#/components/responses/RateLimited", "{op}");
    }
    assert!(doc["components"]["responses"]["RateLimited"]["headers"]["Retry-After"].is_object());
}

#[tokio::test]
async fn confirmation_codes_are_limited_per_session() {
    let s = Server::with(|c| {
        c.limits.per_handle_burst = 2;
        c.limits.per_handle_per_minute = 1;
    })
    .await;
    let b = s.browser("verify_identity").await;
    let path = format!("/s/{}/confirm", b.id);
    let confirm = || {
        post_form(
            &s,
            &path,
            &b.cookie,
            b.form("code=123456"),
            &[("accept", "application/json")],
        )
    };
    confirm().await.assert_error(StatusCode::CONFLICT, "session_finished");
    confirm().await.assert_error(StatusCode::CONFLICT, "session_finished");
    let r = confirm().await;
    r.assert_error(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    assert!(r.header(header::RETRY_AFTER).is_some());
    let v = r.json();
    assert!(v["error"]["message"]["ja"].as_str().unwrap().contains("秒"), "{v}");
}

#[tokio::test]
async fn client_addresses_are_limited_and_a_proxy_header_counts_only_when_configured() {
    let s = Server::with(|c| {
        c.limits.per_address_burst = 2;
        c.limits.per_address_per_minute = 1;
    })
    .await;
    let handle = "AAAAAAAAAAAAAAAAAAAAAAAA";
    // Made-up handles: each would have a fresh bucket, the address does not.
    for i in 0..2 {
        redeem_from(&s, &format!("{handle}{i}"), "192.0.2.1:1000", &[])
            .await
            .assert_error(StatusCode::NOT_FOUND, "handle_unknown");
    }
    let r = redeem_from(&s, &format!("{handle}2"), "192.0.2.1:1001", &[]).await;
    r.assert_error(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    assert!(r.header(header::RETRY_AFTER).is_some());
    // A forwarded-for header is not trusted unless configured.
    redeem_from(&s, handle, "192.0.2.1:1002", &[("x-forwarded-for", "198.51.100.1")])
        .await
        .assert_error(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    // Another address is not affected.
    redeem_from(&s, handle, "192.0.2.2:1000", &[])
        .await
        .assert_error(StatusCode::NOT_FOUND, "handle_unknown");

    let proxied = Server::with(|c| {
        c.limits.per_address_burst = 1;
        c.limits.per_address_per_minute = 1;
        c.limits.client_address_header = Some("X-Forwarded-For".into());
    })
    .await;
    let via = |client: &'static str| [("x-forwarded-for", client)];
    redeem_from(&proxied, handle, "127.0.0.1:1", &via("203.0.113.7, 198.51.100.1"))
        .await
        .assert_error(StatusCode::NOT_FOUND, "handle_unknown");
    redeem_from(&proxied, handle, "127.0.0.1:1", &via("198.51.100.1"))
        .await
        .assert_error(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    redeem_from(&proxied, handle, "127.0.0.1:1", &via("198.51.100.2"))
        .await
        .assert_error(StatusCode::NOT_FOUND, "handle_unknown");
}

/// An `https://` server must have its lasting secrets, and every relying party an API key
/// nobody can guess: the server refuses to start otherwise, saying what to configure.
#[tokio::test]
async fn start_refuses_https_without_secrets_and_short_api_keys() {
    let refused = |tweak: fn(&mut mynaid_server::config::Config)| async move {
        let mut config = test_config(PUBLIC_URL, "sqlite::memory:");
        tweak(&mut config);
        match mynaid_server::start(config, test_clock(NOW).1).await {
            Ok(_) => None,
            Err(e) => Some(e.to_string()),
        }
    };
    let no_key = refused(|c| c.result_key = None).await.expect("refused");
    assert!(no_key.contains("result_key and link_secret"), "{no_key}");
    assert!(no_key.contains("openssl rand -base64 32"), "{no_key}");
    let no_secret = refused(|c| c.link_secret = None).await.expect("refused");
    assert!(no_secret.contains("result_key and link_secret"), "{no_secret}");
    let short = refused(|c| c.relying_parties[0].api_key = "short-key".into())
        .await
        .expect("refused");
    assert!(
        short.contains("relying party portal: api_key must be at least 32 characters"),
        "{short}"
    );
    // The same without TLS (a demo on this machine) starts, with a warning; and the whole
    // configuration as the tests use it starts.
    assert_eq!(refused(|_| {}).await, None);
    let plain = refused(|c| {
        c.public_url = "http://127.0.0.1:8080".into();
        c.result_key = None;
        c.link_secret = None;
    })
    .await;
    assert_eq!(plain, None);
}
