//! Real `mynaid-server serve` processes for the multi-instance tests and the throughput benchmark:
//! a configuration file on the committed test PKI, a free loopback port, readiness, SIGKILL
//! on drop; and a fresh PostgreSQL database of their own on the test server
//! (`MYNAID_TEST_POSTGRES`, default `postgres://postgres@127.0.0.1:5432/test`, see
//! `scripts/lib/postgres.sh`), dropped with its handle.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::{Client, Response, redirect};
use serde_json::{Value, json};
use sqlx::{Connection, Executor, PgConnection};

/// The `mynaid` binary under test.
/// The operator's tool (`serve`, `phone`).
pub(crate) const MYNAID_SERVER: &str = env!("CARGO_BIN_EXE_mynaid-server");
/// The relying party's API key.
pub(crate) const API_KEY: &str = "multi-instance-portal-key-3c8e1f0a7b";
/// The relying party's origin (signed by the card).
pub(crate) const PORTAL_ORIGIN: &str = "https://portal.example.jp";

/// An address on loopback that nothing listens on right now.
pub(crate) fn free_addr() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    l.local_addr().expect("its address")
}

/// An HTTP client that shows redirects instead of following them.
pub(crate) fn http_client() -> Client {
    Client::builder()
        .redirect(redirect::Policy::none())
        .build()
        .expect("HTTP client")
}

fn toml_path(p: &Path) -> String {
    // A TOML basic string; test paths carry no quotes or control characters.
    format!("\"{}\"", p.display().to_string().replace('\\', "\\\\"))
}

/// The `[trust]` table of a test server: test mode on the committed test PKI's roots, CRLs
/// (required) and CV CA.
pub(crate) fn trust_toml() -> String {
    let f = mynaid_testkit::fixtures_dir();
    let list = |paths: Vec<PathBuf>| paths.iter().map(|p| toml_path(p)).collect::<Vec<_>>().join(", ");
    let roots = list(
        ["sign-root-g1", "sign-root-g2", "auth-root-g1", "auth-root-g2"]
            .iter()
            .map(|r| f.join(format!("trust/jpki-{r}.der")))
            .collect(),
    );
    let crls = list(
        ["sign-g1", "sign-g2", "auth-g1", "auth-g2"]
            .iter()
            .map(|c| f.join(format!("crl/jpki-{c}.crl")))
            .collect(),
    );
    let cv_ca = list(vec![f.join("trust/cv-ca.json")]);
    format!(
        r#"[trust]
mode = "test"
revocation = "require_crl"
roots = [{roots}]
crls = [{crls}]
cv_ca = [{cv_ca}]
"#
    )
}

/// The configuration file of one instance: test-mode trust from the committed fixtures, one
/// relying party, the keys every instance of a deployment shares.
pub(crate) fn config_toml(listen: SocketAddr, public_url: &str, database_url: &str) -> String {
    config_toml_with(listen, public_url, database_url, "")
}

/// [`config_toml`] with `top` (top-level settings, such as `retention_secs = 120`) added.
pub(crate) fn config_toml_with(listen: SocketAddr, public_url: &str, database_url: &str, top: &str) -> String {
    let trust = trust_toml();
    format!(
        r#"listen = "{listen}"
public_url = "{public_url}"
database_url = "{database_url}"
result_key = "ERERERERERERERERERERERERERERERERERERERERERE="
link_secret = "IiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiI="
metrics_listen = "127.0.0.1:0"
{top}
{trust}
[[relying_parties]]
id = "portal"
name = "登録ポータル（テスト）"
name_en = "Registration portal (test)"
origin = "{PORTAL_ORIGIN}"
api_key = "{API_KEY}"
return_urls = ["{PORTAL_ORIGIN}/return"]
accepted_routes = ["user_authentication", "signature"]

# Off: these runs measure the store and the verifier, not the limiter (one client address
# sends everything, and 100 devices race for one handle).
[limits]
per_handle_burst = 0
per_address_burst = 0
per_client_burst = 0
"#
    )
}

/// One `mynaid-server serve` process; killed (SIGKILL) when dropped.
pub(crate) struct Instance {
    child: Child,
    /// `http://127.0.0.1:<port>`: this instance itself, whatever its public URL.
    pub(crate) base: String,
    /// Its standard error (the log).
    pub(crate) log: PathBuf,
}

impl Instance {
    /// Starts `mynaid-server serve` on `listen` with a configuration written into `dir`; does not
    /// wait (see [`Instance::wait_ready`]).
    pub(crate) fn spawn(dir: &Path, name: &str, listen: SocketAddr, public_url: &str, database_url: &str) -> Instance {
        Instance::spawn_with(dir, name, listen, public_url, database_url, "")
    }

    /// [`Instance::spawn`] with top-level settings `top` added to the configuration.
    pub(crate) fn spawn_with(
        dir: &Path,
        name: &str,
        listen: SocketAddr,
        public_url: &str,
        database_url: &str,
        top: &str,
    ) -> Instance {
        let config = dir.join(format!("{name}.toml"));
        std::fs::write(&config, config_toml_with(listen, public_url, database_url, top)).expect("configuration file");
        let log = dir.join(format!("{name}.log"));
        let child = Command::new(MYNAID_SERVER)
            .arg("serve")
            .arg("--config")
            .arg(&config)
            .env_remove("MYNAID_LISTEN")
            .env_remove("MYNAID_PUBLIC_URL")
            .env_remove("MYNAID_DATABASE_URL")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("mynaid-server serve");
        Instance {
            child,
            base: format!("http://{listen}"),
            log,
        }
    }

    /// Waits until it answers HTTP (panics with its log if it exits or takes 60 s).
    pub(crate) async fn wait_ready(&mut self, http: &Client) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(r) = http.get(format!("{}/api/openapi.json", self.base)).send().await
                && r.status().is_success()
            {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("mynaid-server serve exited ({status}): {}", self.log_text());
            }
            assert!(
                Instant::now() < deadline,
                "mynaid-server serve not ready: {}",
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGKILL, and wait for the process to be gone.
    pub(crate) fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process is still running.
    pub(crate) fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// What it logged so far.
    pub(crate) fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Runs `f` to completion on a runtime of its own in another thread (usable from `Drop` and
/// from inside another runtime).
fn on_own_runtime<T: Send + 'static>(f: impl Future<Output = T> + Send + 'static) -> T {
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(f)
    })
    .join()
    .expect("database thread")
}

/// A PostgreSQL database made for one test or benchmark run; dropped (forcibly, connections
/// and all) when this is dropped.
pub(crate) struct FreshDatabase {
    server: String,
    name: String,
    /// `postgres://…/mynaid_test_<random>`.
    pub(crate) url: String,
}

impl FreshDatabase {
    /// Creates `mynaid_test_<16 random hex digits>` on the server of `MYNAID_TEST_POSTGRES`.
    pub(crate) fn create() -> FreshDatabase {
        let server = std::env::var("MYNAID_TEST_POSTGRES")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string());
        let mut random = [0u8; 8];
        getrandom::fill(&mut random).expect("randomness");
        let name = format!(
            "mynaid_test_{}",
            random.iter().map(|b| format!("{b:02x}")).collect::<String>()
        );
        let (base, _) = server.rsplit_once('/').expect("a database URL ends in /<database>");
        let url = format!("{base}/{name}");
        let statement = format!("CREATE DATABASE {name}");
        let admin = server.clone();
        on_own_runtime(async move {
            let mut c = PgConnection::connect(&admin)
                .await
                .unwrap_or_else(|e| panic!("PostgreSQL at {admin} (scripts/lib/postgres.sh sets one up): {e}"));
            c.execute(statement.as_str()).await.expect("CREATE DATABASE");
        });
        FreshDatabase { server, name, url }
    }
}

impl Drop for FreshDatabase {
    fn drop(&mut self) {
        let admin = self.server.clone();
        let statement = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        on_own_runtime(async move {
            if let Ok(mut c) = PgConnection::connect(&admin).await {
                let _ = c.execute(statement.as_str()).await;
            }
        });
    }
}

/// A session of the portal as its browser holds it.
pub(crate) struct Browser {
    /// The session id.
    pub(crate) id: String,
    /// `name=value` of the session cookie.
    pub(crate) cookie: String,
    /// The hidden token of the session's forms.
    pub(crate) form_token: String,
}

/// A session of the portal opened in a browser on `base`: the relying party creates it
/// there, the browser follows its start URL there (the token moves into a cookie) and shows
/// the procedure page (whose forms carry a token).
pub(crate) async fn open_session(http: &Client, base: &str, purpose: &str) -> Browser {
    let created: Value = http
        .post(format!("{base}/api/v1/sessions"))
        .bearer_auth(API_KEY)
        .json(&json!({ "purpose": purpose }))
        .send()
        .await
        .expect("create session")
        .json()
        .await
        .expect("session JSON");
    let id = created["session_id"].as_str().expect("session_id").to_string();
    let browser_url = created["browser_url"].as_str().expect("browser_url");
    // The browser URL names the public address; this browser talks to `base`.
    let path = &browser_url[browser_url.find("/s/").expect("a session page")..];
    let start = http.get(format!("{base}{path}")).send().await.expect("start URL");
    assert_eq!(
        start.status().as_u16(),
        303,
        "the start URL sets the cookie and redirects"
    );
    let cookie = start.headers()["set-cookie"]
        .to_str()
        .expect("cookie text")
        .split(';')
        .next()
        .expect("name=value")
        .to_string();
    let page = http
        .get(format!("{base}/s/{id}"))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("procedure page")
        .text()
        .await
        .expect("page");
    let form_token = link_on_page(&page, "name=\"csrf\"", "value=\"", "\"");
    Browser { id, cookie, form_token }
}

impl Browser {
    /// Posts one of the session's forms (`pc`, `phone`, `same`, `confirm`) on `base` with
    /// `fields` (already URL-encoded) and the form token.
    pub(crate) async fn post(&self, http: &Client, base: &str, form: &str, fields: &str) -> Response {
        http.post(format!("{base}/s/{}/{form}", self.id))
            .header("cookie", &self.cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "application/json")
            .body(format!("csrf={}&{fields}", self.form_token))
            .send()
            .await
            .expect("form post")
    }

    /// Chooses a way to read the card (`pc`, `phone`, `same`) on `base`; answers the page.
    pub(crate) async fn choose(&self, http: &Client, base: &str, way: &str) -> String {
        let r = self.post(http, base, way, "").await;
        // The form is answered `303` to the way's page (which a client that follows
        // redirects has already got): the page is got with `GET`.
        let status = r.status().as_u16();
        assert!(status == 303 || status == 200, "choosing {way}: {status}");
        let page = http
            .get(format!("{base}/s/{}/{way}", self.id))
            .header("cookie", &self.cookie)
            .send()
            .await
            .expect("the way's page");
        assert_eq!(page.status().as_u16(), 200, "the page of {way}");
        page.text().await.expect("page")
    }
}

/// A value on a page (a link, a code, a hidden field): the text from `open` to `close` after
/// `anchor` (such as `id="…"`), with `&amp;` undone (links carry no other entity).
pub(crate) fn link_on_page(html: &str, anchor: &str, open: &str, close: &str) -> String {
    let rest = &html[html.find(anchor).unwrap_or_else(|| panic!("{anchor} not on the page"))..];
    let start = rest.find(open).expect("opening") + open.len();
    let end = rest[start..].find(close).expect("closing") + start;
    rest[start..end].replace("&amp;", "&")
}
