//! Headless Chromium for tests of the pages, driven through WebDriver (`chromedriver`).
//!
//! Debian's packages: `chromium` and `chromium-driver` (`scripts/lib/browser.sh` installs
//! them). Every [`Browser`] has its own chromedriver on a free loopback port and its own fresh
//! profile directory. Chromium is kept on this machine: every host name but `localhost`
//! resolves to nothing and every request that is not to the loopback interface goes to a
//! proxy address where nothing listens, and background networking, component updates, sync
//! and QUIC are off.
//!
//! The API is blocking (each browser runs its own small tokio runtime): call it from plain
//! `#[test]` functions or from `spawn_blocking`, never from inside an async task.
//!
//! When a test fails while a browser is open, dropping the browser saves a screenshot, the
//! page's HTML and chromedriver's log to `target/browser-artifacts/<test-name>-<n>.png`,
//! `.html` and `.chromedriver.log`, and says so on standard error.

use std::future::Future;
use std::io::Write;
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::elements::Element;
use fantoccini::error::CmdError;
pub use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};

/// Where Debian's chromedriver is (override with `MYNAID_CHROMEDRIVER`).
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// Debian's Chromium binary itself, without the launcher script that adds API keys and
/// extensions (override with `MYNAID_CHROMIUM`).
pub const CHROMIUM: &str = "/usr/lib/chromium/chromium";
/// Debian's Chromium launcher, used when [`CHROMIUM`] is missing.
pub const CHROMIUM_LAUNCHER: &str = "/usr/bin/chromium";
/// The user agent of the mobile viewport: a current Android phone.
pub const PHONE_USER_AGENT: &str = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 \
    (KHTML, like Gecko) Chrome/156.0.0.0 Mobile Safari/537.36";
/// How long the `wait_for_*` helpers wait when a test has no better idea.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(10);

static ARTIFACTS: AtomicUsize = AtomicUsize::new(0);

/// How to start a browser.
#[derive(Debug, Clone, Default)]
pub struct BrowserOptions {
    /// A phone: a 390×844 viewport (emulated: a window is at least 500 px wide), touch and a
    /// phone user agent (pattern 3, the smartphone alone).
    pub mobile: bool,
    /// The name of the failure artifacts (default: the test's name, from its thread).
    pub name: Option<String>,
    /// A desktop viewport of exactly this size in CSS pixels (emulated, like the phone's);
    /// without it the window is 1280×1024 and the viewport what is left of it. Not for
    /// `mobile`, whose viewport is the phone's.
    pub viewport: Option<(u32, u32)>,
    /// The browser's `Accept-Language` (default `ja,en`: a Japanese person's browser).
    pub accept_language: Option<String>,
}

/// The `Accept-Language` of the test browser unless its options say otherwise.
pub const DEFAULT_ACCEPT_LANGUAGE: &str = "ja,en";

/// A headless Chromium with its chromedriver. Dropping it ends both.
pub struct Browser {
    rt: tokio::runtime::Runtime,
    client: Option<Client>,
    driver: Child,
    name: String,
    profile: tempfile::TempDir,
}

impl std::fmt::Debug for Browser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Browser({})", self.name)
    }
}

/// The directory failure artifacts go to: `target/browser-artifacts` of the workspace (or of
/// `CARGO_TARGET_DIR`).
pub fn artifacts_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    target.join("browser-artifacts")
}

fn executable(env: &str, candidates: &[&str]) -> PathBuf {
    if let Some(p) = std::env::var_os(env) {
        return PathBuf::from(p);
    }
    candidates
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .unwrap_or_else(|| {
            panic!(
                "{} not found: install Debian's chromium and chromium-driver (scripts/lib/browser.sh does), \
                 or set {env}",
                candidates.join(" or ")
            )
        })
}

fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free loopback port: {e}"))
}

fn sanitize(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() { "browser".into() } else { s }
}

/// Chromium's command line for a test: headless, no sandbox (tests run as root), a fresh
/// profile, nothing that talks to the network by itself, nothing but loopback reachable.
fn chromium_args(profile: &Path, options: &BrowserOptions) -> Vec<String> {
    let mut args: Vec<String> = [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-default-apps",
        "--disable-extensions",
        "--disable-domain-reliability",
        "--disable-client-side-phishing-detection",
        "--disable-breakpad",
        "--disable-dev-shm-usage",
        "--disable-features=Translate,OptimizationHints,MediaRouter,AutofillServerCommunication,CertificateTransparencyComponentUpdater",
        "--metrics-recording-only",
        "--password-store=basic",
        "--use-mock-keychain",
        // Only loopback: other names do not resolve, and whatever is not loopback goes to a
        // proxy port where nothing listens (loopback bypasses proxies by default).
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1, EXCLUDE [::1]",
        "--proxy-server=http://127.0.0.1:9",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    // A Japanese person's browser unless told otherwise: the pages follow Accept-Language.
    let accept = options.accept_language.as_deref().unwrap_or(DEFAULT_ACCEPT_LANGUAGE);
    let ui = accept.split(',').next().unwrap_or("ja").trim();
    args.push(format!("--lang={ui}"));
    args.push(format!("--accept-lang={accept}"));
    args.push(format!("--user-data-dir={}", profile.display()));
    if options.mobile {
        args.push("--window-size=390,844".into());
        args.push(format!("--user-agent={PHONE_USER_AGENT}"));
    } else {
        args.push("--window-size=1280,1024".into());
    }
    args
}

impl Browser {
    /// A desktop browser.
    pub fn start() -> Browser {
        Browser::with_options(BrowserOptions::default())
    }

    /// A phone-sized browser with a phone user agent.
    pub fn mobile() -> Browser {
        Browser::with_options(BrowserOptions {
            mobile: true,
            ..BrowserOptions::default()
        })
    }

    /// A browser as `options` say.
    pub fn with_options(options: BrowserOptions) -> Browser {
        let driver_bin = executable("MYNAID_CHROMEDRIVER", &[CHROMEDRIVER]);
        let chromium = executable("MYNAID_CHROMIUM", &[CHROMIUM, CHROMIUM_LAUNCHER]);
        let name = sanitize(
            &options
                .name
                .clone()
                .or_else(|| std::thread::current().name().map(str::to_string))
                .unwrap_or_else(|| "browser".into()),
        );
        let profile = tempfile::Builder::new()
            .prefix("mynaid-chromium-")
            .tempdir()
            .unwrap_or_else(|e| panic!("browser profile directory: {e}"));
        let port = free_port();
        let log = profile.path().join("chromedriver.log");
        let driver = Command::new(&driver_bin)
            .arg(format!("--port={port}"))
            .arg(format!("--log-path={}", log.display()))
            // Its own process group, so that Chromium's processes go with it.
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", driver_bin.display()));
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("browser-webdriver")
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("tokio runtime for the browser: {e}"));
        let mut browser = Browser {
            rt,
            client: None,
            driver,
            name,
            profile,
        };
        browser.wait_for_driver(port);
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), json!("chrome"));
        caps.insert("pageLoadStrategy".into(), json!("normal"));
        let mut chrome = json!({
            "binary": chromium.display().to_string(),
            "args": chromium_args(browser.profile.path(), &options),
            "prefs": { "intl": { "accept_languages": options.accept_language.as_deref().unwrap_or(DEFAULT_ACCEPT_LANGUAGE) } },
        });
        if options.mobile {
            // A desktop window is at least 500 px wide; the phone's viewport is emulated.
            chrome["mobileEmulation"] = json!({
                "deviceMetrics": { "width": 390, "height": 844, "pixelRatio": 3.0, "mobile": true, "touch": true },
                "userAgent": PHONE_USER_AGENT,
            });
        } else if let Some((width, height)) = options.viewport {
            chrome["mobileEmulation"] = json!({
                "deviceMetrics": { "width": width, "height": height, "pixelRatio": 1.0, "mobile": false, "touch": false },
            });
        }
        caps.insert("goog:chromeOptions".into(), chrome);
        let url = format!("http://127.0.0.1:{port}");
        let client = browser.rt.block_on(async {
            // chromedriver speaks plain HTTP on loopback.
            let mut builder = ClientBuilder::new(HttpConnector::new());
            builder.capabilities(caps);
            builder.connect(&url).await
        });
        match client {
            Ok(c) => browser.client = Some(c),
            Err(e) => {
                let log = std::fs::read_to_string(&log).unwrap_or_default();
                let tail: String = log
                    .lines()
                    .rev()
                    .take(40)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect::<Vec<_>>()
                    .join("\n");
                panic!("could not open a Chromium session through chromedriver: {e}\n{tail}");
            }
        }
        browser
    }

    fn wait_for_driver(&mut self, port: u16) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.driver.try_wait() {
                panic!("chromedriver exited at start: {status}");
            }
            if TcpStream::connect_timeout(&(Ipv4Addr::LOCALHOST, port).into(), Duration::from_millis(200)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("chromedriver did not listen on 127.0.0.1:{port} within 20 s");
    }

    /// The WebDriver client, for what the helpers do not cover (with [`Browser::block_on`]).
    pub fn client(&self) -> &Client {
        self.client.as_ref().unwrap_or_else(|| panic!("the browser is closed"))
    }

    /// Runs a future on the browser's runtime (for [`Browser::client`]).
    pub fn block_on<F: Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }

    fn run<T>(&self, what: &str, f: impl Future<Output = Result<T, CmdError>>) -> T {
        match self.rt.block_on(f) {
            Ok(v) => v,
            Err(e) => panic!("browser: {what}: {e}"),
        }
    }

    /// The name the artifacts of this browser get.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Opens `url` and waits until it has loaded.
    pub fn goto(&self, url: &str) {
        let c = self.client();
        self.run(&format!("goto {url}"), c.goto(url));
    }

    /// The current URL.
    pub fn url(&self) -> String {
        let c = self.client();
        self.run("current URL", c.current_url()).to_string()
    }

    /// The page's HTML as the browser has it now.
    pub fn html(&self) -> String {
        let c = self.client();
        self.run("page source", c.source())
    }

    /// The element with this id (panics when there is none).
    pub fn find(&self, id: &str) -> Element {
        let c = self.client();
        self.run(&format!("find #{id}"), c.find(Locator::Id(id)))
    }

    /// The first element matching a CSS selector (panics when there is none).
    pub fn find_css(&self, css: &str) -> Element {
        let c = self.client();
        self.run(&format!("find {css}"), c.find(Locator::Css(css)))
    }

    /// How many elements match a CSS selector.
    pub fn count_css(&self, css: &str) -> usize {
        let c = self.client();
        self.run(&format!("find all {css}"), c.find_all(Locator::Css(css)))
            .len()
    }

    /// Whether an element with this id is on the page.
    pub fn exists(&self, id: &str) -> bool {
        self.count_css(&format!("[id='{id}']")) > 0
    }

    /// The rendered text of the element with this id.
    pub fn text(&self, id: &str) -> String {
        let e = self.find(id);
        self.run(&format!("text of #{id}"), e.text())
    }

    /// The rendered text of the first element matching a CSS selector.
    pub fn text_css(&self, css: &str) -> String {
        let e = self.find_css(css);
        self.run(&format!("text of {css}"), e.text())
    }

    /// An attribute of the element with this id.
    pub fn attr(&self, id: &str, name: &str) -> Option<String> {
        let e = self.find(id);
        self.run(&format!("attribute {name} of #{id}"), e.attr(name))
    }

    /// Clicks the element with this id (a link or a submit button: waits for the navigation
    /// WebDriver waits for).
    pub fn click(&self, id: &str) {
        let e = self.find(id);
        self.run(&format!("click #{id}"), e.click());
    }

    /// Clicks the first element matching a CSS selector.
    pub fn click_css(&self, css: &str) {
        let e = self.find_css(css);
        self.run(&format!("click {css}"), e.click());
    }

    /// Runs JavaScript in the page and returns its result.
    pub fn execute(&self, script: &str) -> Value {
        let c = self.client();
        self.run("execute script", c.execute(script, Vec::new()))
    }

    /// Runs asynchronous JavaScript in the page: the script calls its last argument
    /// (`arguments[arguments.length - 1]`) with the result, within WebDriver's script timeout
    /// (30 s).
    pub fn execute_async(&self, script: &str) -> Value {
        let c = self.client();
        self.run("execute async script", c.execute_async(script, Vec::new()))
    }

    /// Presses and releases `key` as a keyboard does (WebDriver actions: the page gets real
    /// key events, sent to whatever has the focus).
    pub fn press(&self, key: Key) {
        self.keys("press", &[key.into()], None);
    }

    /// Presses `key` with Shift held (Shift+Tab).
    pub fn press_shifted(&self, key: Key) {
        self.keys("press with Shift", &[key.into()], Some(Key::Shift.into()));
    }

    /// Types `text` key by key into whatever has the focus (WebDriver actions).
    pub fn type_keys(&self, text: &str) {
        let chars: Vec<char> = text.chars().collect();
        self.keys("type", &chars, None);
    }

    fn keys(&self, what: &str, keys: &[char], held: Option<char>) {
        let mut actions = KeyActions::new("keyboard".into());
        if let Some(h) = held {
            actions = actions.then(KeyAction::Down { value: h });
        }
        for &k in keys {
            actions = actions
                .then(KeyAction::Down { value: k })
                .then(KeyAction::Up { value: k });
        }
        if let Some(h) = held {
            actions = actions.then(KeyAction::Up { value: h });
        }
        let c = self.client();
        self.run(&format!("{what} {keys:?}"), c.perform_actions(actions));
    }

    /// Deletes the cookie `name` of the current page's site (another browser, as far as the
    /// server can tell).
    pub fn delete_cookie(&self, name: &str) {
        let c = self.client();
        self.run(&format!("delete cookie {name}"), c.delete_cookie(name));
    }

    /// The viewport's size in CSS pixels (`innerWidth`, `innerHeight`).
    pub fn viewport(&self) -> (u64, u64) {
        let v = self.execute("return [window.innerWidth, window.innerHeight];");
        let n = |i: usize| v[i].as_u64().unwrap_or_default();
        (n(0), n(1))
    }

    /// Waits until an element with this id exists.
    pub fn wait_for_id(&self, id: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            if self.exists(id) {
                return;
            }
            if Instant::now() > deadline {
                panic!(
                    "no #{id} within {timeout:?}; the page is {} with:\n{}",
                    self.url(),
                    self.body_text()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until an element matches a CSS selector.
    pub fn wait_for_css(&self, css: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while self.count_css(css) == 0 {
            if Instant::now() > deadline {
                panic!(
                    "nothing matched {css} within {timeout:?}; the page is {} with:\n{}",
                    self.url(),
                    self.body_text()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until the element with this id shows text containing `contains`; returns the
    /// whole text. The element may come and go (pages change) while it waits.
    pub fn wait_for_text(&self, id: &str, contains: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        let mut last = None;
        loop {
            let text = self.rt.block_on(async {
                let e = self.client().find(Locator::Id(id)).await?;
                e.text().await
            });
            if let Ok(t) = &text {
                if t.contains(contains) {
                    return t.clone();
                }
                last = Some(t.clone());
            }
            if Instant::now() > deadline {
                panic!(
                    "#{id} did not show {contains:?} within {timeout:?}; it showed {last:?}; the page is {} with:\n{}",
                    self.url(),
                    self.body_text()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until the URL contains `contains`; returns it.
    pub fn wait_for_url(&self, contains: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let url = self.url();
            if url.contains(contains) {
                return url;
            }
            if Instant::now() > deadline {
                panic!("the URL did not come to contain {contains:?} within {timeout:?}; it is {url}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn body_text(&self) -> String {
        self.rt
            .block_on(async {
                let e = self.client().find(Locator::Css("body")).await?;
                e.text().await
            })
            .unwrap_or_else(|e| format!("(no body: {e})"))
    }

    /// Saves a PNG screenshot of the window to `path`.
    pub fn screenshot(&self, path: &Path) {
        let c = self.client();
        let png = self.run("screenshot", c.screenshot());
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        std::fs::write(path, png).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    }

    /// Saves a screenshot, the HTML and chromedriver's log as
    /// `target/browser-artifacts/<name>-<n>.{png,html,chromedriver.log}`; returns the common
    /// path prefix. Never panics (it runs while a test is failing).
    pub fn save_artifacts(&self) -> PathBuf {
        let dir = artifacts_dir();
        let _ = std::fs::create_dir_all(&dir);
        let n = ARTIFACTS.fetch_add(1, Ordering::SeqCst) + 1;
        let stem = dir.join(format!("{}-{n}", self.name));
        let with = |ext: &str| PathBuf::from(format!("{}.{ext}", stem.display()));
        if let Some(c) = &self.client {
            let limit = Duration::from_secs(10);
            let (png, html) = self.rt.block_on(async {
                let png = tokio::time::timeout(limit, c.screenshot()).await;
                let html = tokio::time::timeout(limit, c.source()).await;
                (png, html)
            });
            match png {
                Ok(Ok(png)) => {
                    let _ = std::fs::write(with("png"), png);
                }
                other => {
                    let _ = writeln!(std::io::stderr(), "browser: no screenshot: {other:?}");
                }
            }
            match html {
                Ok(Ok(html)) => {
                    let _ = std::fs::write(with("html"), html);
                }
                other => {
                    let _ = writeln!(std::io::stderr(), "browser: no page source: {other:?}");
                }
            }
        }
        let _ = std::fs::copy(self.profile.path().join("chromedriver.log"), with("chromedriver.log"));
        stem
    }

    /// Saves the artifacts and panics with `message` (for failures found without a panic).
    pub fn fail_with_artifacts(&self, message: &str) -> ! {
        let stem = self.save_artifacts();
        panic!("{message}\n(browser artifacts: {}.png / .html)", stem.display());
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if std::thread::panicking() && self.client.is_some() {
            let stem = self.save_artifacts();
            let _ = writeln!(
                std::io::stderr(),
                "browser artifacts of the failed test: {}.png / .html / .chromedriver.log",
                stem.display()
            );
        }
        if let Some(c) = self.client.take() {
            let _ = self
                .rt
                .block_on(async { tokio::time::timeout(Duration::from_secs(10), c.close()).await });
        }
        // chromedriver and whatever Chromium left behind: its whole process group.
        let pgid = self.driver.id();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{pgid}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// The device's default browser as the apps find it (`$BROWSER`): a script that writes down
/// each address it is asked to open, so that a test can open it in the browser it drives
/// (the session's, or another one) and see what the person would see.
pub struct DefaultBrowser {
    dir: tempfile::TempDir,
}

impl DefaultBrowser {
    /// A recording script in a directory of its own.
    pub fn new() -> DefaultBrowser {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let script = dir.path().join("browser.sh");
        std::fs::write(
            &script,
            "#!/bin/sh\nprintf '%s\\n' \"$@\" >> \"$(dirname \"$0\")/opened\"\n",
        )
        .expect("the script is written");
        std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .expect("the script is executable");
        DefaultBrowser { dir }
    }

    /// The value for `$BROWSER`.
    pub fn command(&self) -> PathBuf {
        self.dir.path().join("browser.sh")
    }

    /// The addresses opened so far, in order.
    pub fn opened(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.path().join("opened"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// The first address opened, waiting up to `timeout` for it: an app may start the
    /// browser without waiting for it (panics when nothing was opened).
    pub fn wait_for_opened(&self, timeout: Duration) -> String {
        let start = Instant::now();
        loop {
            if let Some(first) = self.opened().into_iter().next() {
                return first;
            }
            assert!(start.elapsed() < timeout, "no browser was opened within {timeout:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Default for DefaultBrowser {
    fn default() -> DefaultBrowser {
        DefaultBrowser::new()
    }
}
