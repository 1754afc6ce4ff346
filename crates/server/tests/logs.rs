//! No log line holds personal data: every span and event the server makes, at every level,
//! is captured while sessions succeed and fail, and none has the person's name, address or
//! date of birth, nor a browser token.
//!
//! Its own test binary: it installs a global tracing subscriber.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use axum::http::{Method, StatusCode};
use common::*;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

/// A subscriber that writes every span (with its fields) and every event (with its fields)
/// as one line into memory, at every level.
#[derive(Default)]
struct Capture {
    lines: Arc<Mutex<Vec<String>>>,
    spans: Mutex<HashMap<u64, String>>,
    next: AtomicU64,
}

struct Fields<'a>(&'a mut String);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, " {}={:?}", field.name(), value);
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        let _ = write!(self.0, " {}={}", field.name(), value);
    }
}

impl Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }

    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        Some(tracing::level_filters::LevelFilter::TRACE)
    }

    fn new_span(&self, attrs: &Attributes<'_>) -> Id {
        let id = self.next.fetch_add(1, Ordering::SeqCst) + 1;
        let mut line = format!("span {} {}:", attrs.metadata().target(), attrs.metadata().name());
        attrs.record(&mut Fields(&mut line));
        self.lines.lock().unwrap().push(line.clone());
        self.spans.lock().unwrap().insert(id, line);
        Id::from_u64(id)
    }

    fn record(&self, span: &Id, values: &Record<'_>) {
        let mut line = format!("record span {}:", span.into_u64());
        values.record(&mut Fields(&mut line));
        self.lines.lock().unwrap().push(line);
    }

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let m = event.metadata();
        let mut line = format!("{} {}:", m.level(), m.target());
        event.record(&mut Fields(&mut line));
        self.lines.lock().unwrap().push(line);
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

/// The lines of the process-wide capture (installed once for this binary).
fn captured() -> Arc<Mutex<Vec<String>>> {
    static LINES: OnceLock<Arc<Mutex<Vec<String>>>> = OnceLock::new();
    LINES
        .get_or_init(|| {
            let capture = Capture::default();
            let lines = capture.lines.clone();
            tracing::subscriber::set_global_default(capture).expect("the only subscriber of this binary");
            lines
        })
        .clone()
}

/// Panics with the first line holding any of `secrets` (what, text).
fn assert_absent(lines: &[String], whose: &str, secrets: &[(&str, String)]) {
    for (what, secret) in secrets {
        if let Some(line) = lines.iter().find(|l| l.contains(secret.as_str())) {
            panic!("a log line holds {whose}'s {what}:\n{line}");
        }
    }
}

fn person_secrets(person: &str) -> Vec<(&'static str, String)> {
    let p = mynaid_testkit::person(person);
    let mut secrets = vec![
        ("name", p.name.clone()),
        ("address", p.address.clone()),
        ("birth date", p.birthdate.clone()),
        ("birth date (compact)", p.birthdate.replace('-', "")),
    ];
    // The parts of the name too (family name, given name).
    for part in p.name.split('\u{3000}') {
        secrets.push(("part of the name", part.to_string()));
    }
    secrets
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_log_line_holds_personal_data() {
    let lines = captured();

    // Without keys configured a plain-http server (a demo on this machine) warns and makes
    // up keys: logged too. (An https:// one refuses to start: hardening.rs.)
    let s = Server::with(|c| {
        c.public_url = "http://127.0.0.1:8080".into();
        c.result_key = None;
        c.link_secret = None;
    })
    .await;
    let mut cookies = Vec::new();
    let mut people = Vec::new();
    let mut claims = Vec::new();
    // Success on both routes, for several people.
    for (person, route) in [
        ("p01", Route::UserAuthentication),
        ("p02", Route::Signature),
        ("p07", Route::Signature),
        ("p07", Route::UserAuthentication),
        ("p03", Route::UserAuthentication),
    ] {
        let flow = s.redeemed("verify_identity").await;
        let mut sse = Sse::open(&s, &flow.browser).await;
        assert_eq!(sse.next_state().await, "reading");
        assert_eq!(s.status(&flow, "reading", None).await.status, StatusCode::NO_CONTENT);
        s.submit_and_return(&flow, read_card(person, route, &flow.answer)).await;
        let r = s
            .get(&format!("/s/{}/done", flow.id()), Some(&flow.browser.cookie))
            .await;
        assert_eq!(r.status, StatusCode::OK);
        let v = s.result(API_KEY, &flow.browser).await.json();
        // What the server verified, as it verified it (p07's certificate has substitutes).
        for field in ["name", "address", "birthdate"] {
            let value = v["claims"][field].as_str().unwrap().to_string();
            assert!(!value.is_empty());
            claims.push(value);
        }
        cookies.push(flow.browser.cookie.clone());
        people.push(person);
    }
    // Refusals: revoked, bound to another session, malformed, expired, wrong token.
    let flow = s.redeemed("verify_identity").await;
    let r = s.submit_read(&flow, "p08", Route::Signature).await;
    r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "certificate_revoked");
    people.push("p08");
    let a = s.redeemed("verify_identity").await;
    let b = s.redeemed("verify_identity").await;
    let r = s
        .submit(
            &b.handle,
            b.token(),
            read_card("p09", Route::UserAuthentication, &a.answer),
        )
        .await;
    r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "signature_mismatch");
    let r = s
        .submit(&a.handle, a.token(), read_card("p09", Route::Signature, &b.answer))
        .await;
    r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "signature_mismatch");
    people.push("p09");
    let flow = s.redeemed("verify_identity").await;
    s.status(&flow, "pin_wrong", Some(2)).await;
    let r = s
        .submit(
            &flow.handle,
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            read_card("p01", Route::UserAuthentication, &flow.answer),
        )
        .await;
    r.assert_error(StatusCode::UNAUTHORIZED, "unauthorized");
    s.advance(301);
    let r = s.submit_read(&flow, "p01", Route::UserAuthentication).await;
    r.assert_error(StatusCode::GONE, "session_expired");
    let _ = post_form(&s, &flow.browser, "pc", "").await;

    let lines = lines.lock().unwrap().clone();
    let all = lines.join("\n");
    // The capture works: the server's own lines and the HTTP spans are there.
    assert!(all.contains("evidence verified"), "{all}");
    assert!(all.contains("evidence refused"), "{all}");
    assert!(all.contains("no result_key configured"), "{all}");
    assert!(all.contains("path=/api/v1/sessions"), "{all}");
    for person in people {
        assert_absent(&lines, person, &person_secrets(person));
    }
    for claim in claims {
        if let Some(line) = lines.iter().find(|l| l.contains(&claim)) {
            panic!("a log line holds a verified claim:\n{line}");
        }
    }
    for cookie in cookies {
        let token = cookie.split_once('=').unwrap().1;
        if let Some(line) = lines.iter().find(|l| l.contains(token)) {
            panic!("a log line holds a browser token:\n{line}");
        }
    }
    // A healthy run logs no error at all.
    let errors = lines
        .iter()
        .filter(|l| l.starts_with(&Level::ERROR.to_string()))
        .count();
    assert_eq!(errors, 0, "no storage errors in a healthy run: {all}");
}

/// Text a client chose (a reading device's evidence document, a relying party's request)
/// never reaches the logs either: here it is a person's data.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_chosen_text_never_reaches_the_logs() {
    let lines = captured();
    let s = Server::start().await;
    let p05 = mynaid_testkit::person("p05");
    let documents = [
        format!(
            r#"{{"format":"mynaid-evidence/2","route":"signature","signature":"AA","certificate":"AA","{}":"{}"}}"#,
            p05.name, p05.address
        ),
        format!(r#"{{"format":"{}","route":"signature","signature":"AA"}}"#, p05.name),
        format!(
            r#"{{"format":"mynaid-evidence/2","route":"{}","signature":"AA"}}"#,
            p05.address
        ),
        format!(
            r#"{{"format":"mynaid-evidence/2","route":"signature","signature":"AA","{}":1}}"#,
            p05.birthdate
        ),
    ];
    for body in documents {
        let flow = s.redeemed("verify_identity").await;
        let r = s.submit(&flow.handle, flow.token(), body).await;
        r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "evidence_malformed");
    }
    let r = s
        .call(
            Method::POST,
            "/api/v1/sessions",
            Some(API_KEY),
            None,
            format!(r#"{{"purpose":"{}","return_url":"{}"}}"#, p05.name, p05.address),
        )
        .await;
    r.assert_error(StatusCode::BAD_REQUEST, "bad_request");
    let flow = s.redeemed("verify_identity").await;
    let r = s
        .call(
            Method::POST,
            &format!("/api/v1/handles/{}/status", flow.handle),
            Some(flow.token()),
            None,
            format!(r#"{{"status":"{}"}}"#, p05.name),
        )
        .await;
    r.assert_error(StatusCode::BAD_REQUEST, "bad_request");
    let lines = lines.lock().unwrap().clone();
    assert!(
        lines.iter().any(|l| l.contains("evidence refused")),
        "the capture works"
    );
    assert_absent(&lines, "p05", &person_secrets("p05"));
}
