//! What the binary's browser tests share: the demo's server (and portal) on a random
//! loopback port, as `mynaid-server demo` puts them together, with test-mode trust from the
//! committed fixtures.

#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mynaid_harness::bins::run_typed;
use mynaid_harness::browser::{Browser, DefaultBrowser};
use mynaid_oidc::config::{AuthMethod, OidcClientConfig, OidcConfig};
use mynaid_protocol::Purpose;
use mynaid_server::config::{Config, DemoConfig, TrustConfig};
use mynaid_sessions::RelyingParty;
use mynaid_sessions::Service;
use mynaid_testkit::{PersonCard, PersonRecord, person};
use serde_json::{Value, json};

/// The relying party's API key in these tests.
pub(crate) const API_KEY: &str = "browser-test-portal-key-5e7d9c3b1a2f";
/// The demo portal's OpenID Connect client secret in these tests.
pub(crate) const CLIENT_SECRET: &str = "browser-test-portal-secret-5e7d9c3b1a2f";
/// How long the tests wait for a page to change.
pub(crate) const WAIT: Duration = Duration::from_secs(15);

/// The server (and the demo portal) in process. Dropping it stops it.
pub(crate) struct Demo {
    rt: Option<tokio::runtime::Runtime>,
    /// `http://127.0.0.1:<port>`.
    pub(crate) base: String,
    /// The service, to look inside.
    pub(crate) svc: Arc<Service>,
    _dir: tempfile::TempDir,
}

/// The demo's configuration on `base`, with `session_ttl_secs`.
pub(crate) fn config(base: &str, addr: std::net::SocketAddr, db: &Path, session_ttl_secs: u64) -> Config {
    let fixtures = mynaid_testkit::fixtures_dir();
    Config {
        listen: addr,
        public_url: base.to_string(),
        database_url: format!("sqlite://{}", db.display()),
        result_key: Some("ERERERERERERERERERERERERERERERERERERERERERE=".into()),
        link_secret: Some("IiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiI=".into()),
        session_ttl_secs,
        trust: TrustConfig::test_pki(&fixtures),
        // Sessions made through the API (patterns 2 and 3 tests)...
        relying_parties: vec![RelyingParty {
            id: "api-portal".into(),
            name: "登録ポータル（デモ）".into(),
            name_en: "Registration portal (demo)".into(),
            origin: base.to_string(),
            api_key: API_KEY.into(),
            return_urls: vec![format!("{base}/portal/return")],
            accepted_routes: mynaid_protocol::Route::ALL.to_vec(),
            link_status: false,
        }],
        // ...and the demo portal as an OpenID Connect client, as in `mynaid-server demo`.
        oidc: OidcConfig {
            clients: vec![OidcClientConfig {
                client_id: "portal".into(),
                name: "登録ポータル（デモ）".into(),
                name_en: "Registration portal (demo)".into(),
                origin: Some(base.to_string()),
                redirect_uris: vec![format!("{base}/portal/callback")],
                scopes: ["name", "address", "birthdate", "gender"].map(String::from).to_vec(),
                purposes: vec![Purpose::VerifyIdentity, Purpose::LinkCard],
                auth_method: AuthMethod::ClientSecretBasic,
                require_nonce: false,
                require_pkce: true,
                profile: mynaid_oidc::config::ClientProfile::Oidc,
                client_secret: Some(CLIENT_SECRET.into()),
                jwks: None,
                jwks_file: None,
                id_token_ttl_secs: 300,
                access_token_ttl_secs: 300,
                accepted_routes: mynaid_protocol::Route::ALL.to_vec(),
            }],
            ..OidcConfig::default()
        },
        ..Config::default()
    }
}

impl Demo {
    /// The server alone (sessions created through the API).
    pub(crate) fn start(session_ttl_secs: u64) -> Demo {
        Demo::serve(session_ttl_secs, false)
    }

    /// The server and the demo portal on one address, as `mynaid-server demo` puts them together.
    pub(crate) fn with_portal(session_ttl_secs: u64) -> Demo {
        Demo::serve(session_ttl_secs, true)
    }

    fn serve(session_ttl_secs: u64, with_portal: bool) -> Demo {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
        let addr = listener.local_addr().unwrap();
        let base = format!("http://{addr}");
        let mut config = config(&base, addr, &dir.path().join("mynaid.db"), session_ttl_secs);
        // The pages' demo commands name the built binaries and private copies of the cards,
        // so that running one as shown reads a card without touching the committed files.
        let cards = dir.path().join("cards");
        std::fs::create_dir_all(&cards).unwrap();
        for entry in std::fs::read_dir(mynaid_testkit::fixtures_dir().join("cards")).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), cards.join(entry.file_name())).unwrap();
        }
        config.demo = Some(DemoConfig {
            cards_dir: cards,
            bin_dir: mynaid_harness::bins::reader().parent().map(Path::to_path_buf),
        });
        let svc = rt
            .block_on(mynaid_server::start(config, mynaid_sessions::system_clock()))
            .unwrap();
        let mut app = mynaid_server::app(&svc);
        if with_portal {
            app = app.merge(mynaid_demo_portal::router(mynaid_demo_portal::PortalConfig {
                mynaid_url: base.clone(),
                client_id: "portal".into(),
                client_secret: CLIENT_SECRET.into(),
                portal_url: base.clone(),
            }));
        }
        // The API relying party's return address: a page of the service, where a verified
        // result page sends the person at once.
        app = app.route(
            "/portal/return",
            axum::routing::get(|| async {
                axum::response::Html(
                    "<!doctype html><html lang=\"ja\"><title>サービス</title><h1 id=\"service-return\">サービスに戻りました</h1></html>",
                )
            }),
        );
        rt.spawn(async move { axum::serve(listener, app).await });
        Demo {
            rt: Some(rt),
            base,
            svc: svc.sessions.clone(),
            _dir: dir,
        }
    }

    /// Creates a session for `purpose` as the relying party would (its registered return address);
    /// answers the browser URL.
    pub(crate) fn create_session(&self, purpose: &str) -> (String, String) {
        let rt = self.rt.as_ref().unwrap();
        let v: Value = rt.block_on(async {
            reqwest_client()
                .post(format!("{}/api/v1/sessions", self.base))
                .bearer_auth(API_KEY)
                .json(&json!({ "purpose": purpose }))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap()
        });
        (
            v["session_id"].as_str().unwrap().to_string(),
            v["browser_url"].as_str().unwrap().to_string(),
        )
    }

    /// Takes the session's result as the relying party (status, body), with the code that
    /// browser `b` carries back: the one its session cookie gets on the result page.
    pub(crate) fn take_result(&self, b: &Browser, id: &str) -> (u16, Value) {
        let cookie = b
            .block_on(b.client().get_named_cookie(&format!("mynaid-{id}")))
            .expect("the browser holds the session's cookie");
        let rt = self.rt.as_ref().unwrap();
        rt.block_on(async {
            let done = reqwest_client()
                .get(format!("{}/s/{id}/done", self.base))
                .header("cookie", format!("mynaid-{id}={}", cookie.value()))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            let code = done
                .split("&amp;code=")
                .nth(1)
                .and_then(|c| c.split('"').next())
                .expect("a way back with a code");
            let r = reqwest_client()
                .get(format!("{}/api/v1/sessions/{id}/result?code={code}", self.base))
                .bearer_auth(API_KEY)
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            (status, r.json().await.unwrap_or_default())
        })
    }

    /// A reading device of kind `device` (`pc_reader_app`, `phone_app`) redeems `handle`,
    /// as an app does before it reads: the HTTP status.
    pub(crate) fn redeem(&self, handle: &str, device: &str) -> u16 {
        let rt = self.rt.as_ref().unwrap();
        rt.block_on(async {
            reqwest_client()
                .post(format!("{}/api/v1/handles/{handle}/redeem", self.base))
                .json(&json!({
                    "reader": { "name": "mynaid-test-device", "version": env!("CARGO_PKG_VERSION") },
                    "device": device,
                }))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        })
    }

    /// Waits until a page listens to a session's live status.
    pub(crate) fn wait_for_listening_page(&self) {
        let deadline = Instant::now() + WAIT;
        while self.svc.events().watched() == 0 {
            assert!(Instant::now() < deadline, "the page never opened its live status");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// A session for `purpose` on a fresh demo server, opened in a new `browser`
/// (`Browser::start` or `Browser::mobile`), where the person chose `method` and the way's
/// page shows `shown`: the server, the session's id and the browser.
pub(crate) fn on_way_page(
    browser: fn() -> Browser,
    purpose: &str,
    method: &str,
    shown: &str,
) -> (Demo, String, Browser) {
    let demo = Demo::start(300);
    let (id, url) = demo.create_session(purpose);
    let b = browser();
    b.goto(&url);
    b.wait_for_id(method, WAIT);
    b.click(method);
    b.wait_for_id(shown, WAIT);
    (demo, id, b)
}

/// The relying party takes the session's result with the code browser `b` carries back:
/// released (200), the result.
pub(crate) fn released(demo: &Demo, b: &Browser, id: &str) -> Value {
    let (status, result) = demo.take_result(b, id);
    assert_eq!(status, 200, "{result}");
    result
}

/// The built `mynaid-server`, whose `phone` plays the smartphone app.
pub(crate) const MYNAID_SERVER: &str = env!("CARGO_BIN_EXE_mynaid-server");

/// `mynaid-server phone ARGS --emulator CARD`: the smartphone app against an emulated card
/// over simulated NFC, with `stdin` typed in; JSON on its standard output.
pub(crate) fn phone(args: &[&str], card: &Path, stdin: &str) -> Output {
    phone_with_browser(args, card, stdin, None)
}

/// [`phone`] on a phone whose default browser is `default`: pattern 3's way back opens
/// there (without one, `--no-browser`: printed only).
pub(crate) fn phone_with_browser(args: &[&str], card: &Path, stdin: &str, default: Option<&DefaultBrowser>) -> Output {
    let mut command = Command::new(MYNAID_SERVER);
    command
        .arg("phone")
        .args(args)
        .arg("--emulator")
        .arg(card)
        .args(["--pin-stdin", "--json", "--nfc-delay-ms", "2"]);
    match default {
        Some(d) => command.env("BROWSER", d.command()),
        None => command.arg("--no-browser"),
    };
    run_typed(&mut command, stdin)
}

/// A page's command run as a person pastes it (in a shell, `extra` arguments added), with
/// `typed` on its standard input and `default` as the device's browser; it must succeed.
pub(crate) fn run_as_shown(command: &str, extra: &str, typed: &str, default: &DefaultBrowser) -> Output {
    let out = run_typed(
        Command::new("sh")
            .arg("-c")
            .arg(format!("{command} {extra}"))
            .env("BROWSER", default.command()),
        typed,
    );
    assert!(
        out.status.success(),
        "the page's command failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The JSON of the last line a command wrote (panics with its output when it is not JSON).
pub(crate) fn last_json(out: &Output) -> Value {
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.lines().last().unwrap_or("null")).unwrap_or_else(|e| {
        panic!(
            "phone output is not JSON ({e}): {text}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// [`phone`], which must succeed: what it said last.
pub(crate) fn phone_ok(args: &[&str], card: &Path, stdin: &str) -> Value {
    let out = phone(args, card, stdin);
    assert!(out.status.success(), "phone: {}", String::from_utf8_lossy(&out.stderr));
    last_json(&out)
}

/// What a person types for the 4-digit route: the user-authentication PIN, then the
/// input-support PIN.
pub(crate) fn four_digit(p: &PersonRecord) -> String {
    format!("{}\n{}\n", p.auth_pin, p.pin)
}

/// `mynaid-server phone` reading `who`'s card (4-digit route) for the app link `link`; the
/// confirmation code it shows.
pub(crate) fn phone_reads(link: &str, who: &str) -> String {
    let p = person(who);
    let card = p.card();
    let v = phone_ok(&["--link", link, "--route", "pin"], &card.path, &four_digit(&p));
    v["confirmation_code"]
        .as_str()
        .expect("a confirmation code")
        .to_string()
}

/// How the document now shown was loaded: `navigate`, `reload` or `back_forward`.
pub(crate) fn navigation_type(b: &Browser) -> String {
    b.execute("return performance.getEntriesByType('navigation')[0].type;")
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// The app link of the QR page (inside a closed `<details>`: read from the DOM).
pub(crate) fn qr_link(b: &Browser) -> String {
    b.execute("return document.getElementById('app-link').textContent;")
        .as_str()
        .unwrap()
        .to_string()
}

fn reqwest_client() -> reqwest::Client {
    reqwest::Client::new()
}

impl Drop for Demo {
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_timeout(Duration::from_secs(2));
        }
    }
}
