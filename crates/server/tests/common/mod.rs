//! Shared set-up of the server's handler tests: a service on the committed test PKI with a
//! clock the test moves (2026-11-27 at the start), requests through the router in process,
//! the browser's and the reading device's side of a session, and evidence read from
//! emulated cards in process.
//!
//! Every test binary uses a different subset of these helpers.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use http_body_util::BodyExt;
use mynaid_emulator::transport::InProcessTransport;
pub use mynaid_protocol::Route;
use mynaid_protocol::{Binding, Evidence, ReaderApp};
use mynaid_server::config::{Config, TrustConfig};
use mynaid_sessions::{Clock, RelyingParty, Service};
use mynaid_testkit::PersonCard;
use serde_json::{Value, json};
use sqlx::{Connection, Executor, PgConnection};
use tower::ServiceExt;

/// The test's "now" at the start: 2026-11-27T00:00:00Z, inside every test certificate's
/// validity and before the test CRLs' next update.
pub const NOW: i64 = 1_795_737_600;
/// The portal's API key.
pub const API_KEY: &str = "portal-test-key-7f3a9c1e5b2d4f60a8";
/// Another relying party's API key.
pub const OTHER_API_KEY: &str = "other-test-key-0b1c2d3e4f5a69788c";
/// The portal's origin (shown to the person and signed by the card).
pub const ORIGIN: &str = "https://portal.example.jp";
/// The portal's registered return address.
pub const RETURN_URL: &str = "https://portal.example.jp/return";
/// The other relying party's registered return address.
pub const OTHER_RETURN_URL: &str = "https://other.example.jp/back";
/// Where the server is reached in the in-process tests.
pub const PUBLIC_URL: &str = "https://id.example.jp";
/// This reader app's version (the workspace's).
pub const READER_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The `name=value` part of a `Set-Cookie` header: what a browser sends back.
pub fn cookie_pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap_or_default().trim().to_string()
}

/// The configuration of the tests: test-mode trust from the committed fixtures (4 roots,
/// their CRLs, the CV CA), CRLs required, two relying parties, fixed keys.
pub fn test_config(public_url: &str, database_url: &str) -> Config {
    let fixtures = mynaid_testkit::fixtures_dir();
    Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        public_url: public_url.into(),
        database_url: database_url.into(),
        result_key: Some(STANDARD.encode([0x5a; 32])),
        link_secret: Some(STANDARD.encode([0xa5; 32])),
        trust: TrustConfig::test_pki(&fixtures),
        relying_parties: vec![
            RelyingParty {
                id: "portal".into(),
                name: "登録ポータル（テスト）".into(),
                name_en: "Registration portal (test)".into(),
                origin: ORIGIN.into(),
                api_key: API_KEY.into(),
                return_urls: vec![RETURN_URL.into()],
                accepted_routes: Route::ALL.to_vec(),
                link_status: false,
            },
            RelyingParty {
                id: "other".into(),
                name: "別のサービス".into(),
                name_en: "Another service".into(),
                origin: "https://other.example.jp".into(),
                api_key: OTHER_API_KEY.into(),
                return_urls: vec![OTHER_RETURN_URL.into()],
                accepted_routes: Route::ALL.to_vec(),
                link_status: false,
            },
        ],
        ..Config::default()
    }
}

/// A server with its router and its clock.
pub struct Server {
    /// The server.
    pub server: Arc<mynaid_server::Server>,
    /// Its session core.
    pub svc: Arc<Service>,
    /// The configuration it started with.
    pub config: Config,
    /// `mynaid_server::app(&server)`.
    pub app: Router,
    /// Seconds since the epoch, as the service sees them.
    pub clock: Arc<AtomicI64>,
    /// The SQLite file, when the test asked for one.
    pub db_path: Option<PathBuf>,
    _dir: Option<tempfile::TempDir>,
}

/// A clock the test moves.
pub fn test_clock(start: i64) -> (Arc<AtomicI64>, Clock) {
    let now = Arc::new(AtomicI64::new(start));
    let seen = now.clone();
    (now, Arc::new(move || seen.load(Ordering::SeqCst)))
}

impl Server {
    /// In-memory database, default configuration.
    pub async fn start() -> Server {
        Server::with(|_| {}).await
    }

    /// In-memory database, configuration changed by `tweak`.
    pub async fn with(tweak: impl FnOnce(&mut Config)) -> Server {
        let mut config = test_config(PUBLIC_URL, "sqlite::memory:");
        tweak(&mut config);
        Server::build(config, None).await
    }

    /// A database file in a temporary directory.
    pub async fn with_file_db() -> Server {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mynaid.db");
        let config = test_config(PUBLIC_URL, &format!("sqlite://{}", path.display()));
        let mut s = Server::build(config, Some(dir)).await;
        s.db_path = Some(path);
        s
    }

    /// A server from a whole configuration.
    pub async fn build(config: Config, dir: Option<tempfile::TempDir>) -> Server {
        let (clock, c) = test_clock(NOW);
        let server = mynaid_server::start(config.clone(), c).await.expect("server starts");
        Server {
            config,
            app: mynaid_server::app(&server),
            svc: server.sessions.clone(),
            server,
            clock,
            db_path: None,
            _dir: dir,
        }
    }

    /// Moves the clock forward.
    pub fn advance(&self, secs: i64) {
        self.clock.fetch_add(secs, Ordering::SeqCst);
    }

    /// Sends a request through the router and collects the whole answer.
    pub async fn send(&self, req: Request<Body>) -> Resp {
        let resp = self.app.clone().oneshot(req).await.expect("router is infallible");
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = tokio::time::timeout(Duration::from_secs(10), resp.into_body().collect())
            .await
            .expect("body within 10 s (an SSE stream? use Sse::open)")
            .expect("body")
            .to_bytes();
        Resp { status, headers, body }
    }

    /// A request with optional bearer token, cookie and body.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        bearer: Option<&str>,
        cookie: Option<&str>,
        body: impl Into<Body>,
    ) -> Resp {
        let mut b = Request::builder().method(method).uri(path);
        if let Some(t) = bearer {
            b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        if let Some(c) = cookie {
            b = b.header(header::COOKIE, c);
        }
        b = b.header(header::CONTENT_TYPE, "application/json");
        self.send(b.body(body.into()).unwrap()).await
    }

    /// GET with an optional cookie.
    pub async fn get(&self, path: &str, cookie: Option<&str>) -> Resp {
        self.call(Method::GET, path, None, cookie, Body::empty()).await
    }

    /// The relying party asks for a session.
    pub async fn create_session_with(&self, key: &str, body: Value) -> Resp {
        self.call(Method::POST, "/api/v1/sessions", Some(key), None, body.to_string())
            .await
    }

    /// The portal asks for a session for `purpose`, with its return address; answers the
    /// session id and the browser URL.
    pub async fn create_session(&self, purpose: &str) -> (String, String) {
        let r = self
            .create_session_with(API_KEY, json!({ "purpose": purpose, "return_url": RETURN_URL }))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        let v = r.json();
        (
            v["session_id"].as_str().unwrap().to_string(),
            v["browser_url"].as_str().unwrap().to_string(),
        )
    }

    /// A session with its browser: created, and the browser sent to its start URL (which
    /// moved the token into a cookie).
    pub async fn browser(&self, purpose: &str) -> BrowserSession {
        let (id, url) = self.create_session(purpose).await;
        let path = url.strip_prefix(&self.server.origin).unwrap().to_string();
        let r = self.get(&path, None).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let set = r.header(header::SET_COOKIE).expect("Set-Cookie");
        let cookie = cookie_pair(&set);
        BrowserSession { id, cookie }
    }

    /// The browser chooses a way to read the card (`pc`, `phone`, `same`): the form is
    /// answered `303` to the way's page, which the browser then gets; answers that page.
    pub async fn choose_way(&self, b: &BrowserSession, way: &str) -> String {
        let r = post_form(self, b, way, "").await;
        let page = format!("/s/{}/{way}", b.id);
        assert_eq!(see_other(&r), page);
        let r = self.get(&page, Some(&b.cookie)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        r.text()
    }

    /// The browser chooses "PC and IC card reader": a fresh handle, shown as a link.
    pub async fn issue(&self, b: &BrowserSession) -> Issued {
        let html = self.choose_way(b, "pc").await;
        let link = html_unescape(&between(&html, "id=\"launch\"", "href=\"", "\""));
        let command = html_unescape(&between(&html, "id=\"command\"", ">", "</pre>"));
        let handle = link.split("handle=").nth(1).expect("handle in the link").to_string();
        Issued {
            link,
            command,
            handle,
            html,
        }
    }

    /// The reading device redeems `handle` as this reader app.
    pub async fn redeem(&self, handle: &str) -> Resp {
        self.redeem_as(handle, READER_VERSION).await
    }

    /// The reading device redeems `handle` as a reader app of `version`.
    pub async fn redeem_as(&self, handle: &str, version: &str) -> Resp {
        let body = json!({ "reader": { "name": "mynaid-reader", "version": version }, "device": "pc_reader_app" });
        self.call(
            Method::POST,
            &format!("/api/v1/handles/{handle}/redeem"),
            None,
            None,
            body.to_string(),
        )
        .await
    }

    /// The phone app redeems `handle`.
    pub async fn redeem_phone(&self, handle: &str) -> Resp {
        let body = json!({ "reader": { "name": "mynaid-phone", "version": READER_VERSION }, "device": "phone_app" });
        self.call(
            Method::POST,
            &format!("/api/v1/handles/{handle}/redeem"),
            None,
            None,
            body.to_string(),
        )
        .await
    }

    /// A session of the portal whose handle a reading device has just redeemed.
    pub async fn redeemed(&self, purpose: &str) -> Flow {
        let browser = self.browser(purpose).await;
        let issued = self.issue(&browser).await;
        self.redeem_for(&browser, &issued.handle).await
    }

    /// A reading device redeems `handle`, shown to `browser`: the session as it reads.
    pub async fn redeem_for(&self, browser: &BrowserSession, handle: &str) -> Flow {
        let r = self.redeem(handle).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        Flow {
            browser: browser.clone(),
            handle: handle.to_string(),
            answer: r.json(),
        }
    }

    /// The reading device submits evidence.
    pub async fn submit(&self, handle: &str, token: &str, body: impl Into<Body>) -> Resp {
        self.call(
            Method::POST,
            &format!("/api/v1/handles/{handle}/evidence"),
            Some(token),
            None,
            body,
        )
        .await
    }

    /// The reading device of `flow` submits `person`'s card read by `route`, signing what
    /// its redeem answer asked for.
    pub async fn submit_read(&self, flow: &Flow, person: &str, route: Route) -> Resp {
        self.submit(&flow.handle, flow.token(), read_card(person, route, &flow.answer))
            .await
    }

    /// The reading device reports what it is doing.
    pub async fn status(&self, flow: &Flow, status: &str, tries_left: Option<u8>) -> Resp {
        let body = json!({ "status": status, "tries_left": tries_left });
        self.call(
            Method::POST,
            &format!("/api/v1/handles/{}/status", flow.handle),
            Some(flow.token()),
            None,
            body.to_string(),
        )
        .await
    }

    /// The way back to the relying party that the result page shows the session's browser
    /// (`return_url?session=…&code=…`).
    pub async fn back_link(&self, b: &BrowserSession) -> String {
        let r = self.get(&format!("/s/{}/done", b.id), Some(&b.cookie)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        let html = r.text();
        let at = html.find(RETURN_URL).unwrap_or_else(|| panic!("no way back: {html}"));
        html_unescape(&html[at..html[at..].find('"').map_or(html.len(), |e| at + e)])
    }

    /// The code of the way back, as the relying party reads it from its return address.
    pub async fn return_code(&self, b: &BrowserSession) -> String {
        let back = self.back_link(b).await;
        back.split("code=").nth(1).expect("code in the way back").to_string()
    }

    /// The relying party takes the result, with the code the session's browser brought back.
    pub async fn result(&self, key: &str, b: &BrowserSession) -> Resp {
        let code = self.return_code(b).await;
        self.result_with(key, &b.id, Some(&code)).await
    }

    /// The relying party asks for a result with `code` (or none).
    pub async fn result_with(&self, key: &str, id: &str, code: Option<&str>) -> Resp {
        let query = code.map(|c| format!("?code={c}")).unwrap_or_default();
        self.call(
            Method::GET,
            &format!("/api/v1/sessions/{id}/result{query}"),
            Some(key),
            None,
            Body::empty(),
        )
        .await
    }

    /// The reading device's app sends the person back (`return_url` of its accepted
    /// `submitted` answer) to the browser holding `cookie` (or none): what the return page's
    /// script posts.
    pub async fn come_back(&self, submitted: &Resp, cookie: Option<&str>) -> Resp {
        let v = submitted.json();
        let url = v["return_url"].as_str().unwrap_or_else(|| panic!("no return_url: {v}"));
        let handle = url.split_once("/return#").expect("a return address").1;
        return_with(self, handle, cookie).await
    }

    /// Submits evidence and comes back to the session's browser: the result is released.
    pub async fn submit_and_return(&self, flow: &Flow, evidence: impl Into<Body>) -> Resp {
        let r = self.submit(&flow.handle, flow.token(), evidence).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        let back = self.come_back(&r, Some(&flow.browser.cookie)).await;
        assert_eq!(back.status, StatusCode::OK, "{}", back.text());
        r
    }

    /// The state of a session as stored.
    pub async fn state(&self, id: &str) -> mynaid_sessions::store::SessionRow {
        self.svc.session(id).await.unwrap().expect("session exists")
    }
}

/// A browser that went through the start URL.
#[derive(Debug, Clone)]
pub struct BrowserSession {
    /// Session id.
    pub id: String,
    /// `name=value` of the session cookie.
    pub cookie: String,
}

impl BrowserSession {
    /// The token of this session's forms, as their hidden `csrf` field holds it.
    pub fn form_token(&self) -> String {
        let (_, value) = self.cookie.split_once('=').unwrap();
        mynaid_server::pages::form_token(&self.id, value)
    }

    /// A form post's body: the token, then `fields` (`a=1&b=2`, or empty).
    pub fn form(&self, fields: &str) -> String {
        let token = self.form_token();
        if fields.is_empty() {
            format!("csrf={token}")
        } else {
            format!("csrf={token}&{fields}")
        }
    }
}

/// The hidden `csrf` field of a page's form.
pub fn form_token_of(html: &str) -> String {
    between(html, "name=\"csrf\"", "value=\"", "\"")
}

/// What the PC-reader page showed.
#[derive(Debug, Clone)]
pub struct Issued {
    /// The `mynaid://` link of `#launch`.
    pub link: String,
    /// The text of `#command`.
    pub command: String,
    /// The handle in the link.
    pub handle: String,
    /// The whole page.
    pub html: String,
}

/// A redeemed session.
#[derive(Debug, Clone)]
pub struct Flow {
    /// Its browser.
    pub browser: BrowserSession,
    /// The redeemed handle.
    pub handle: String,
    /// The redeem answer.
    pub answer: Value,
}

impl Flow {
    /// The submission token of the redeem answer.
    pub fn token(&self) -> &str {
        self.answer["submission_token"].as_str().unwrap()
    }

    /// The session id.
    pub fn id(&self) -> &str {
        &self.browser.id
    }
}

/// A collected answer.
#[derive(Debug)]
pub struct Resp {
    /// Status.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// Whole body.
    pub body: Bytes,
}

impl Resp {
    /// The body as JSON (panics with the body when it is not).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// A header as text.
    pub fn header(&self, name: header::HeaderName) -> Option<String> {
        self.headers.get(name).map(|v| v.to_str().unwrap().to_string())
    }

    /// Asserts a refusal page: this status, and it says `says`.
    pub fn assert_error_page(&self, status: StatusCode, says: &str) {
        assert_eq!(self.status, status, "{}", self.text());
        assert!(
            self.header(header::CONTENT_TYPE)
                .is_some_and(|c| c.starts_with("text/html")),
            "{:?}",
            self.headers
        );
        assert!(
            self.text().contains(says),
            "the page does not say {says:?}: {}",
            self.text()
        );
    }

    /// Asserts a JSON error answer: this status, this code, a message in both languages.
    pub fn assert_error(&self, status: StatusCode, code: &str) {
        assert_eq!(self.status, status, "{}", self.text());
        let v = self.json();
        assert_eq!(v["error"]["code"], code, "{v}");
        for lang in ["ja", "en"] {
            let m = v["error"]["message"][lang].as_str().unwrap_or_default();
            assert!(!m.is_empty(), "message.{lang} missing: {v}");
        }
        assert!(
            self.header(header::CONTENT_TYPE)
                .is_some_and(|c| c.starts_with("application/json")),
            "{:?}",
            self.headers
        );
    }
}

/// The text between `open` and `close` after the first `anchor`.
pub fn between(text: &str, anchor: &str, open: &str, close: &str) -> String {
    let at = text
        .find(anchor)
        .unwrap_or_else(|| panic!("{anchor:?} not in:\n{text}"));
    let rest = &text[at..];
    let start = rest.find(open).unwrap() + open.len();
    let end = rest[start..].find(close).unwrap() + start;
    rest[start..end].to_string()
}

/// Undoes the HTML escaping of text and attribute values.
pub fn html_unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The binding values of a redeem answer, decoded.
pub fn binding_values(answer: &Value) -> ([u8; 32], Vec<u8>) {
    let challenge = URL_SAFE_NO_PAD
        .decode(answer["challenge"].as_str().unwrap())
        .unwrap()
        .try_into()
        .expect("32-byte challenge");
    let binding = URL_SAFE_NO_PAD
        .decode(answer["session_binding"].as_str().unwrap())
        .unwrap();
    (challenge, binding)
}

/// Reads a private copy of the test person's card in process, signing what the redeem
/// answer asks for (as the reader app does), and returns the evidence document.
pub fn read_card(person: &str, route: Route, answer: &Value) -> String {
    let (challenge, session) = binding_values(answer);
    let tbs = Binding {
        origin: answer["origin"].as_str().unwrap(),
        challenge: &challenge,
        session: &session,
        purpose: answer["purpose"].as_str().unwrap().parse().unwrap(),
    }
    .to_be_signed();
    let p = mynaid_testkit::person(person);
    let copy = p.card();
    let body = mynaid_device::read(
        InProcessTransport::new(copy.open()),
        &p.credentials(route),
        &tbs,
        &mut |_| {},
    )
    .unwrap_or_else(|e| panic!("reading {person}: {e}"))
    .body;
    Evidence {
        reader: Some(ReaderApp {
            name: "mynaid-reader".into(),
            version: READER_VERSION.into(),
        }),
        body,
    }
    .to_json()
}

/// An open SSE stream of a session's page.
pub struct Sse {
    body: Body,
    buf: String,
}

impl Sse {
    /// Opens `/s/{id}/events` with the browser's cookie.
    pub async fn open(server: &Server, b: &BrowserSession) -> Sse {
        let req = Request::builder()
            .uri(format!("/s/{}/events", b.id))
            .header(header::COOKIE, &b.cookie)
            .body(Body::empty())
            .unwrap();
        let resp = server.app.clone().oneshot(req).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        let ct = resp.headers()[header::CONTENT_TYPE].to_str().unwrap().to_string();
        assert!(ct.starts_with("text/event-stream"), "{ct}");
        Sse {
            body: resp.into_body(),
            buf: String::new(),
        }
    }

    /// The next event's data as JSON; `None` when the stream ended. Panics after `timeout`.
    pub async fn next(&mut self, timeout: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            while let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                let data: Vec<&str> = block
                    .lines()
                    .filter_map(|l| l.strip_prefix("data:"))
                    .map(str::trim_start)
                    .collect();
                if !data.is_empty() {
                    return Some(serde_json::from_str(&data.join("\n")).expect("event data is JSON"));
                }
            }
            let frame = tokio::time::timeout_at(deadline, self.body.frame())
                .await
                .unwrap_or_else(|_| panic!("no SSE event within {timeout:?}; buffered: {:?}", self.buf));
            match frame {
                None => return None,
                Some(f) => {
                    if let Ok(data) = f.expect("SSE frame").into_data() {
                        self.buf.push_str(std::str::from_utf8(&data).unwrap());
                    }
                }
            }
        }
    }

    /// The next event's `state`.
    pub async fn next_state(&mut self) -> String {
        let v = self.next(Duration::from_secs(5)).await.expect("another event");
        v["state"].as_str().unwrap().to_string()
    }
}

/// The PostgreSQL server of the tests: `MYNAID_TEST_POSTGRES`, default
/// `postgres://postgres@127.0.0.1:5432/test`.
pub fn postgres_url() -> String {
    std::env::var("MYNAID_TEST_POSTGRES").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A fresh PostgreSQL database, dropped when this is dropped.
pub struct PgDatabase {
    admin: String,
    name: String,
    /// Its URL.
    pub url: String,
}

impl PgDatabase {
    /// Creates it on the server of `MYNAID_TEST_POSTGRES` (default: the local `test` database's server).
    pub async fn create() -> PgDatabase {
        let admin = postgres_url();
        let mut bytes = [0u8; 8];
        getrandom_bytes(&mut bytes);
        let name = format!("mynaid_test_{}", hex(&bytes));
        let mut c = PgConnection::connect(&admin)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL at {admin} (scripts/lib/postgres.sh starts one): {e}"));
        c.execute(format!("CREATE DATABASE {name}").as_str()).await.unwrap();
        let url = match admin.rsplit_once('/') {
            Some((base, _)) => format!("{base}/{name}"),
            None => unreachable!(),
        };
        PgDatabase { admin, name, url }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let (admin, name) = (self.admin.clone(), self.name.clone());
        // Drop it from a separate thread with its own runtime: Drop cannot await.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                if let Ok(mut c) = PgConnection::connect(&admin).await {
                    let _ = c
                        .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                        .await;
                }
            });
        })
        .join();
    }
}

fn getrandom_bytes(b: &mut [u8]) {
    use std::hash::{BuildHasher, Hasher};
    for chunk in b.chunks_mut(8) {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos(),
        );
        chunk.copy_from_slice(&h.finish().to_be_bytes()[..chunk.len()]);
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// What the pattern 2 or 3 page showed.
pub struct PhonePage {
    /// The app link (`…/app/read#h=…&o=…`).
    pub link: String,
    /// The handle in it.
    pub handle: String,
    /// The PC code (pattern 2).
    pub pc_code: Option<String>,
    /// The whole page.
    pub html: String,
}

/// The browser chooses pattern 2 (`phone`) or 3 (`same`).
pub async fn choose(s: &Server, b: &BrowserSession, pattern: &str) -> PhonePage {
    let html = s.choose_way(b, pattern).await;
    let link = if pattern == "phone" {
        html_unescape(&between(&html, "id=\"app-link\"", ">", "</pre>"))
    } else {
        html_unescape(&between(&html, "id=\"open-app\"", "href=\"", "\""))
    };
    let handle = link.split("#h=").nth(1).unwrap().split('&').next().unwrap().to_string();
    let pc_code = html
        .contains("id=\"pc-code\"")
        .then(|| between(&html, "id=\"pc-code\"", ">", "<"));
    PhonePage {
        link,
        handle,
        pc_code,
        html,
    }
}

/// A post of one of the session's forms without the page's script (`way`: `pc`, `phone`,
/// `confirm`, `extend`…; `fields` after the form's token).
pub async fn post_form(s: &Server, b: &BrowserSession, way: &str, fields: &str) -> Resp {
    s.send(form_request(b, way, fields, false)).await
}

/// The same form posted by the page's script, which wants JSON back.
pub async fn post_form_for_json(s: &Server, b: &BrowserSession, way: &str, fields: &str) -> Resp {
    s.send(form_request(b, way, fields, true)).await
}

/// The post of the session's form `way` with `fields` after the form's token (`json`: as the
/// page's script sends it, asking for JSON back).
fn form_request(b: &BrowserSession, way: &str, fields: &str, json: bool) -> Request<Body> {
    let req = Request::builder()
        .method(Method::POST)
        .uri(format!("/s/{}/{way}", b.id))
        .header(header::COOKIE, &b.cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    let req = if json {
        req.header(header::ACCEPT, "application/json")
    } else {
        req
    };
    req.body(Body::from(b.form(fields))).unwrap()
}

/// A form's answer as the browser follows it: the `303` and where it goes.
pub fn see_other(r: &Resp) -> String {
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    r.header(header::LOCATION).expect("a Location")
}

/// Sends `request` over HTTP and reads the whole answer as text (a page), whatever its status.
pub async fn page_text(request: reqwest::RequestBuilder) -> String {
    request.send().await.unwrap().text().await.unwrap()
}

/// The confirmation code typed on the page (by its script), with `cookie` or none.
pub async fn confirm(s: &Server, b: &BrowserSession, code: &str, cookie: Option<&str>) -> Resp {
    let req = Request::builder()
        .method(Method::POST)
        .uri(format!("/s/{}/confirm", b.id))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "application/json");
    let req = match cookie {
        Some(c) => req.header("cookie", c),
        None => req,
    };
    s.send(req.body(Body::from(b.form(&format!("code={code}")))).unwrap())
        .await
}

/// The return page's script posts `result_handle`, with `cookie` or none.
pub async fn return_with(s: &Server, result_handle: &str, cookie: Option<&str>) -> Resp {
    let req = Request::builder()
        .method(Method::POST)
        .uri("/return")
        .header("content-type", "application/json")
        .header("accept", "application/json");
    let req = match cookie {
        Some(c) => req.header("cookie", c),
        None => req,
    };
    s.send(
        req.body(Body::from(json!({ "result_handle": result_handle }).to_string()))
            .unwrap(),
    )
    .await
}

/// Redeems the page's handle as the phone app and submits evidence for `person`.
pub async fn phone_reads(s: &Server, page: &PhonePage, person: &str) -> (Value, Resp) {
    let r = s.redeem_phone(&page.handle).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let answer = r.json();
    let token = answer["submission_token"].as_str().unwrap().to_string();
    let evidence = read_card(person, Route::UserAuthentication, &answer);
    let submitted = s.submit(&page.handle, &token, evidence).await;
    (answer, submitted)
}

/// A private copy of the committed test PKI's roots, CRLs and manifest, for tests that
/// change its CRLs (`pki revoke`, a rollback, a broken file).
pub fn copy_pki(to: &std::path::Path) {
    let from = mynaid_testkit::fixtures_dir();
    for dir in ["trust", "crl"] {
        std::fs::create_dir_all(to.join(dir)).unwrap();
        for entry in std::fs::read_dir(from.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            std::fs::copy(&path, to.join(dir).join(path.file_name().unwrap())).unwrap();
        }
    }
    std::fs::copy(from.join("pki.json"), to.join("pki.json")).unwrap();
}

/// Now on the system clock: the CRLs `pki revoke` writes are dated now, so a test's
/// service clock is set near it.
pub fn real_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// `mynaid-server pki revoke --out dir --person person --reason reason`, of the
/// `certificates` named (`sign`, `auth`, `sign,auth`; `None`: both).
pub fn pki_revoke(dir: &std::path::Path, person: &str, reason: &str, certificates: Option<&str>) {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_mynaid-server"));
    cmd.args(["pki", "revoke", "--out"])
        .arg(dir)
        .args(["--person", person, "--reason", reason]);
    if let Some(c) = certificates {
        cmd.args(["--certificates", c]);
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

impl Server {
    /// Reads `person`'s card by `route` for a fresh session: the server's answer code, or
    /// `verified`.
    pub async fn reading(&self, person: &str, route: Route) -> String {
        let flow = self.redeemed("link_card").await;
        let r = self.submit_read(&flow, person, route).await;
        if r.status == StatusCode::OK {
            "verified".into()
        } else {
            r.json()["error"]["code"].as_str().unwrap_or_default().to_string()
        }
    }
}
