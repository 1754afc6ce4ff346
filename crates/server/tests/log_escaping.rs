//! Text a client chose cannot forge log lines: requests whose client-chosen fields (OpenID
//! Connect `client_id`, `scope`, `state`, `redirect_uri`; the reader app's name and version
//! in a redeem; `User-Agent`; path segments; relying-party JSON) hold CR, LF, ANSI and C1
//! escapes leave every log line on one line with no raw control character, in the text
//! format and in the JSON format of `mynaid-server serve` (`mynaid_reader::log_subscriber`).
//!
//! Each test captures with a subscriber of its own thread (`set_default`): the runtime is
//! single-threaded, so everything the server logs for these requests is captured.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use common::*;
use mynaid_oidc::config::{AuthMethod, OidcClientConfig};
use serde_json::json;

/// The evil text, raw (in JSON bodies) and percent-encoded (in URLs).
const EVIL: &str = "x\r\nERROR forged line \u{1b}[31mred\u{1b}[0m \u{9b}31m";
const EVIL_URL: &str = "x%0D%0AERROR%20forged%20line%20%1B%5B31mred%1B%5B0m%20%C2%9B31m";

const CLIENT: &str = "rp-basic";
const REDIRECT: &str = "https://basic.example.jp/cb";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

#[derive(Clone, Default)]
struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

async fn server() -> Server {
    Server::with(|c| {
        c.oidc.clients = vec![OidcClientConfig {
            client_id: CLIENT.into(),
            name: "別のサービス（OIDCテスト）".into(),
            name_en: "Another service (OIDC test)".into(),
            origin: Some("https://basic.example.jp".into()),
            redirect_uris: vec![REDIRECT.into()],
            scopes: vec!["name".into()],
            purposes: vec![mynaid_protocol::Purpose::LinkCard],
            auth_method: AuthMethod::ClientSecretBasic,
            require_nonce: false,
            require_pkce: true,
            profile: mynaid_oidc::config::ClientProfile::Oidc,
            client_secret: Some("basic-client-secret-0123456789abcdef".into()),
            jwks: None,
            jwks_file: None,
            id_token_ttl_secs: 300,
            access_token_ttl_secs: 300,
            accepted_routes: Route::ALL.to_vec(),
        }];
    })
    .await
}

/// Sends every kind of request with the evil text in what the client chooses.
async fn evil_requests(s: &Server) {
    let evil_agent = |b: axum::http::request::Builder| {
        b.header(
            header::USER_AGENT,
            header::HeaderValue::from_bytes("agent \u{9b}31m".as_bytes()).unwrap(),
        )
    };
    // OpenID Connect authorization requests: an unknown client, a known client with an
    // unknown scope, an evil state and redirect address.
    for query in [
        format!("client_id={EVIL_URL}&response_type=code&scope=openid&state=s&nonce=n&redirect_uri={EVIL_URL}"),
        format!(
            "client_id={CLIENT}&response_type=code&scope=openid%20{EVIL_URL}&state=s&nonce=n&redirect_uri={REDIRECT}&code_challenge={CHALLENGE}&code_challenge_method=S256"
        ),
        format!(
            "client_id={CLIENT}&response_type=code&scope=openid&state={EVIL_URL}&nonce={EVIL_URL}&redirect_uri={REDIRECT}&code_challenge={EVIL_URL}&code_challenge_method=S256"
        ),
        format!(
            "client_id={CLIENT}&response_type=code&scope=openid%20name&state={EVIL_URL}&nonce=n&redirect_uri={REDIRECT}&purpose={EVIL_URL}"
        ),
    ] {
        let req = evil_agent(Request::builder().uri(format!("/oidc/authorize?{query}")))
            .body(Body::empty())
            .unwrap();
        let r = s.send(req).await;
        assert!(r.status.is_client_error() || r.status.is_redirection(), "{}", r.status);
    }
    // The token endpoint with an evil client id and code.
    let req = evil_agent(Request::builder().method(Method::POST).uri("/oidc/token"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!(
            "grant_type=authorization_code&client_id={EVIL_URL}&code={EVIL_URL}&redirect_uri={EVIL_URL}"
        )))
        .unwrap();
    assert!(s.send(req).await.status.is_client_error());
    // A redeem with an evil reader app name and version, on a real handle and a made-up one.
    let b = s.browser("verify_identity").await;
    let issued = s.issue(&b).await;
    for (handle, version) in [
        (issued.handle.as_str(), READER_VERSION.to_string()),
        (issued.handle.as_str(), EVIL.to_string()),
        ("AAAAAAAAAAAAAAAAAAAAAAAA", EVIL.to_string()),
    ] {
        let body = json!({ "reader": { "name": EVIL, "version": version }, "device": "pc_reader_app" });
        let req = evil_agent(
            Request::builder()
                .method(Method::POST)
                .uri(format!("/api/v1/handles/{handle}/redeem")),
        )
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
        s.send(req).await;
    }
    // Evil path segments, percent-encoded as a client would send them.
    for path in [
        format!("/s/{EVIL_URL}/start?t={EVIL_URL}"),
        format!("/s/{EVIL_URL}"),
        format!("/s/{EVIL_URL}/events"),
        format!("/s/{EVIL_URL}/done"),
        format!("/api/v1/sessions/{EVIL_URL}/result?code={EVIL_URL}"),
        format!("/oidc/consent/{EVIL_URL}"),
        format!("/{EVIL_URL}"),
    ] {
        let req = evil_agent(Request::builder().uri(&path))
            .header(header::AUTHORIZATION, format!("Bearer {API_KEY}"))
            .body(Body::empty())
            .unwrap();
        let r = s.send(req).await;
        assert!(
            r.status.is_client_error() || r.status.is_redirection(),
            "{path}: {}",
            r.status
        );
    }
    for path in [
        format!("/api/v1/handles/{EVIL_URL}/evidence"),
        format!("/api/v1/handles/{EVIL_URL}/status"),
        format!("/s/{EVIL_URL}/confirm"),
        format!("/s/{EVIL_URL}/pc"),
    ] {
        let req = evil_agent(Request::builder().method(Method::POST).uri(&path))
            .header(header::AUTHORIZATION, format!("Bearer {EVIL_URL}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(json!({ "status": EVIL }).to_string()))
            .unwrap();
        s.send(req).await;
    }
    // A relying party's session with an evil purpose and return address.
    let r = s
        .create_session_with(API_KEY, json!({ "purpose": EVIL, "return_url": EVIL }))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = s
        .create_session_with(API_KEY, json!({ "purpose": "verify_identity", "return_url": EVIL }))
        .await;
    assert!(r.status.is_client_error(), "{}", r.status);
}

/// Runs the evil requests with the `serve` subscriber (`json` or text) capturing, and
/// answers what it wrote.
async fn captured(json: bool) -> String {
    let sink = Sink::default();
    let writer = sink.clone();
    let subscriber =
        mynaid_reader::log_subscriber(tracing_subscriber::EnvFilter::new("trace"), json, false, move || {
            writer.clone()
        });
    let guard = tracing::subscriber::set_default(subscriber);
    let s = server().await;
    evil_requests(&s).await;
    drop(guard);
    let bytes = sink.0.lock().unwrap().clone();
    String::from_utf8(bytes).expect("logs are UTF-8")
}

/// No raw control character (`c1`: C1 controls too) anywhere, and no line begins with the
/// forged text.
fn assert_one_line_each(logs: &str, c1: bool) {
    assert!(logs.lines().count() > 20, "the capture works:\n{logs}");
    // The OpenID Connect provider's own lines are captured too.
    assert!(logs.contains("unknown scopes ignored"), "{logs}");
    for (i, line) in logs.split('\n').enumerate() {
        if let Some(c) = line
            .chars()
            .find(|c| c.is_control() && *c != '\t' && (c1 || !('\u{80}'..='\u{9f}').contains(c)))
        {
            panic!("log line {i} holds the raw control character {c:?}:\n{line:?}");
        }
        assert!(
            !line.trim_start().starts_with("ERROR forged"),
            "a client forged log line {i}:\n{logs}"
        );
    }
}

#[tokio::test]
async fn client_chosen_text_stays_on_one_line_in_text_logs() {
    let logs = captured(false).await;
    std::fs::write("/tmp/textlogs.txt", &logs).unwrap();
    assert!(
        logs.contains("http{method=GET path=/oidc/authorize}"),
        "the text format:\n{logs}"
    );
    assert_one_line_each(&logs, true);
}

#[tokio::test]
async fn client_chosen_text_stays_on_one_line_in_json_logs() {
    let logs = captured(true).await;
    for line in logs.lines() {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not one JSON object a line ({e}):\n{line}"));
        assert!(v["level"].is_string() && v["fields"].is_object(), "{line}");
    }
    // JSON escapes every C0 control; a C1 control (U+0080-U+009F) is valid JSON text and
    // stays inside its string, on its line.
    assert_one_line_each(&logs, false);
}
