//! What the binary's browser tests share: the demo's server (and portal) on a random
//! loopback port, as `mynaid-server demo` puts them together, with test-mode trust from the
//! committed fixtures.

#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mynaid_harness::browser::Browser;
use mynaid_oidc::config::{AuthMethod, OidcClientConfig, OidcConfig};
use mynaid_protocol::Purpose;
use mynaid_server::config::{Config, DemoConfig, TrustConfig};
use mynaid_sessions::RelyingParty;
use mynaid_sessions::Service;
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

    /// Waits until a page listens to a session's live status.
    pub(crate) fn wait_for_listening_page(&self) {
        let deadline = Instant::now() + WAIT;
        while self.svc.events().watched() == 0 {
            assert!(Instant::now() < deadline, "the page never opened its live status");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
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
