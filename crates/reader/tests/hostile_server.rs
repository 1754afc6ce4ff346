//! `mynaid read` against a server that is not ours: a tiny HTTP server written here with
//! `std::net`, playing an attacker's mynaid server on 127.0.0.1. What it says must never reach
//! the terminal raw (escape sequences, window titles, bidi overrides), an offer meant for a
//! phone must be refused before the PIN, and a server not on the person's list of trusted
//! servers must not receive a single request. The happy end of pattern 1 is here too: the
//! default browser (`$BROWSER`, a recording script) is sent back to the server's `/return#…`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mynaid_harness::bins::run_typed;
use mynaid_harness::browser::DefaultBrowser;
use mynaid_testkit::{PersonCard, person};
use serde_json::{Value, json};

const MYNAID: &str = env!("CARGO_BIN_EXE_mynaid");
const HANDLE: &str = "abcdefghijklmnopqrstuvwx";

/// A service name that would clear the screen, move the cursor, retitle the window, start
/// a hyperlink and reverse the text if shown raw.
const HOSTILE_NAME: &str = "\u{1b}[2J\u{1b}[1;1H\u{1b}]0;title\u{7}\u{1b}]8;;https://evil.example\u{1b}\\Portal\u{202E}lanoitan\u{202C}\u{2066}\u{9b}31m";
const HOSTILE_PURPOSE: &str = "Verify\nPIN: \u{1b}[8m\u{200F}";

/// One request the server received.
#[derive(Debug, Clone)]
struct Request {
    path: String,
    body: String,
}

type Responder = dyn Fn(&str, &str) -> (u16, String) + Send + Sync;

/// The attacker's server: answers every POST through `respond(base, path)` and records it.
struct HostileServer {
    base: String,
    requests: Arc<Mutex<Vec<Request>>>,
}

impl HostileServer {
    fn start(respond: impl Fn(&str, &str) -> (u16, String) + Send + Sync + 'static) -> HostileServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let respond: Arc<Responder> = Arc::new(respond);
        let (b, r) = (base.clone(), requests.clone());
        // Lives as long as the test process; it only answers the one client a test starts.
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                serve(stream, &b, respond.as_ref(), &r);
            }
        });
        HostileServer { base, requests }
    }

    fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }

    fn link(&self) -> String {
        format!(
            "mynaid://read?server={}&handle={HANDLE}",
            self.base.replace(':', "%3A").replace('/', "%2F")
        )
    }
}

/// Reads one request, records it, answers it. Recorded before the answer goes out, so a test
/// that sees the app finish sees every request it made.
fn serve(stream: TcpStream, base: &str, respond: &Responder, seen: &Mutex<Vec<Request>>) -> Option<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let path = line.split_whitespace().nth(1)?.to_string();
    let mut length = 0usize;
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).ok()?;
        if header.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = header.split_once(':')
            && k.eq_ignore_ascii_case("content-length")
        {
            length = v.trim().parse().ok()?;
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    let (status, answer) = respond(base, &path);
    seen.lock().unwrap().push(Request {
        path,
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    let mut stream = stream;
    let _ = write!(
        stream,
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
        answer.len()
    );
    Some(())
}

/// A redeem answer of `pattern` whose texts are hostile.
fn hostile_offer(base: &str, pattern: &str) -> String {
    let urls = format!("{base}/api/v1/handles/{HANDLE}");
    json!({
        "origin": "https://portal.example.jp",
        "service_name": {"ja": HOSTILE_NAME, "en": HOSTILE_NAME},
        "purpose": "verify_identity",
        "purpose_text": {"ja": HOSTILE_PURPOSE, "en": HOSTILE_PURPOSE},
        "challenge": "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE",
        "session_binding": "AgICAgICAgICAgICAgICAg",
        "expires_at": 4_000_000_000i64,
        "accepted_credentials": ["user_authentication"],
        "min_reader_version": "0.0.1",
        "submission_token": "token",
        "evidence_url": format!("{urls}/evidence"),
        "status_url": format!("{urls}/status"),
        "pattern": pattern,
    })
    .to_string()
}

fn hostile_error(code: &str) -> String {
    json!({"error": {"code": code, "message": {
        "ja": "\u{1b}[2J\u{1b}[1;1H証拠を受け付けません\u{1b}]0;pwned\u{7}\u{202E}",
        "en": "\u{1b}[2J\u{1b}[1;1HEvidence refused\u{1b}]0;pwned\u{7}\u{202E}\nPIN: "
    }}})
    .to_string()
}

/// A home of its own (no config file of the developer's), and a `$BROWSER` that records
/// the address it is asked to open instead of opening anything.
struct Home {
    dir: tempfile::TempDir,
    browser: DefaultBrowser,
}

impl Home {
    fn new() -> Home {
        Home {
            dir: tempfile::tempdir().unwrap(),
            browser: DefaultBrowser::new(),
        }
    }

    fn command(&self) -> Command {
        let mut c = Command::new(MYNAID);
        c.env("HOME", self.dir.path())
            .env("XDG_CONFIG_HOME", self.dir.path().join("config"))
            .env("BROWSER", self.browser.command())
            .env_remove("MYNAID_CONFIG");
        c
    }
}

fn mynaid(home: &Home, link: &str, card: Option<&Path>, extra: &[&str], typed: &str) -> Output {
    let mut c = home.command();
    c.args(["read", "--link", link, "--pin-stdin", "--lang", "en"]);
    if let Some(card) = card {
        c.arg("--emulator").arg(card);
    }
    c.args(extra);
    run_typed(&mut c, typed)
}

fn all_output(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// No escape, bell, C1 control, bidi or invisible format character anywhere.
fn assert_clean(out: &Output) {
    let text = all_output(out);
    for (i, c) in text.chars().enumerate() {
        let bad = (c.is_control() && c != '\n')
            || matches!(
                c,
                '\u{061C}' | '\u{200B}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
            );
        assert!(!bad, "character {c:?} at {i} reached the terminal:\n{text:?}");
    }
}

fn json_line(out: &Output) -> Value {
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.lines().last().unwrap_or("null"))
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", all_output(out)))
}

#[test]
fn hostile_texts_never_reach_the_terminal() {
    let server = HostileServer::start(|base, path| {
        if path.ends_with("/redeem") {
            (200, hostile_offer(base, "pc_reader"))
        } else if path.ends_with("/evidence") {
            (422, hostile_error("evidence_rejected"))
        } else {
            (204, String::new())
        }
    });
    let home = Home::new();
    let p = person("p01");
    let card = p.card();
    let out = mynaid(
        &home,
        &server.link(),
        Some(&card.path),
        &[],
        &format!("{}\n{}\n", p.auth_pin, p.pin),
    );
    assert_clean(&out);
    let text = all_output(&out);
    assert_eq!(out.status.code(), Some(8), "{text}");
    // The legitimate parts are shown, and the addresses stand out.
    assert!(text.contains("Portal"), "{text}");
    assert!(text.contains("Verify PIN:"), "{text}");
    assert!(text.contains("==> https://portal.example.jp\n"), "{text}");
    assert!(text.contains(&format!("==> {}\n", server.base)), "{text}");
    assert!(
        text.contains("Check these addresses before you enter your PIN"),
        "{text}"
    );
    assert!(text.contains("Evidence refused"), "{text}");
    // No list of trusted servers yet: said before the PIN, with where to add one.
    let warning = text.find("no list of trusted servers").expect("first-use warning");
    assert!(warning < text.find("Enter your").expect("the PIN request"), "{text}");
    assert!(
        text.contains(&home.dir.path().join("config/mynaid/config.toml").display().to_string()),
        "{text}"
    );
    // The redeem said which device this is; the card was read and the evidence sent.
    let requests = server.requests();
    let redeem: Value = serde_json::from_str(&requests[0].body).unwrap();
    assert_eq!(redeem["device"], "pc_reader_app", "{requests:?}");
    assert!(requests.iter().any(|r| r.path.ends_with("/evidence")), "{requests:?}");
}

#[test]
fn a_hostile_refusal_of_the_redeem_is_cleaned() {
    let server = HostileServer::start(|_, _| (409, hostile_error("handle_already_used\u{1b}[2J")));
    let home = Home::new();
    let out = mynaid(&home, &server.link(), None, &["--json"], "");
    assert_clean(&out);
    assert_eq!(out.status.code(), Some(8), "{}", all_output(&out));
    let v = json_line(&out);
    // A code that is not a plain name is not passed on.
    assert_eq!(v["error"]["code"], "server_error");
    assert_eq!(v["error"]["message"], "[2J[1;1HEvidence refused]0;pwned PIN: ");
}

#[test]
fn a_phone_offer_is_refused_before_the_pin() {
    for pattern in ["cross_device", "same_device"] {
        let server = HostileServer::start(move |base, _| (200, hostile_offer(base, pattern)));
        let home = Home::new();
        let out = read_p01(&home, &server, &["--json"]);
        assert_clean(&out);
        let text = all_output(&out);
        assert_eq!(out.status.code(), Some(8), "{text}");
        assert_eq!(json_line(&out)["error"]["code"], "wrong_device", "{text}");
        assert!(text.contains("do not enter your PIN"), "{text}");
        assert!(!text.contains("PIN: "), "the PIN was asked: {text}");
        assert!(!text.contains("Portal"), "the offer was shown: {text}");
        // Only the redeem; no status report, no evidence.
        assert_eq!(server.requests().len(), 1, "{:?}", server.requests());
    }
    // The server's own refusal of the handle for this device comes through, cleaned.
    let server = HostileServer::start(|_, _| (409, hostile_error("wrong_device")));
    let out = mynaid(&Home::new(), &server.link(), None, &["--json"], "");
    assert_clean(&out);
    assert_eq!(json_line(&out)["error"]["code"], "wrong_device");
}

#[test]
fn a_server_not_on_the_list_receives_nothing() {
    let server = HostileServer::start(|base, _| (200, hostile_offer(base, "pc_reader")));
    let home = Home::new();
    let out = mynaid(
        &home,
        &server.link(),
        None,
        &["--json", "--server", "https://id.example.jp"],
        "",
    );
    let text = all_output(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert_eq!(json_line(&out)["error"]["code"], "server_not_allowed");
    assert!(text.contains(&server.base), "the refusal names the server: {text}");
    assert!(text.contains("config/mynaid/config.toml"), "and the file: {text}");
    // The same from the configuration file, by --config and by $MYNAID_CONFIG.
    let file = home.dir.path().join("trusted.toml");
    std::fs::write(&file, "servers = [\"https://id.example.jp\", \"http://127.0.0.1:1\"]\n").unwrap();
    let out = mynaid(&home, &server.link(), None, &["--config", file.to_str().unwrap()], "");
    assert_eq!(out.status.code(), Some(2), "{}", all_output(&out));
    assert!(all_output(&out).contains("trusted.toml"), "{}", all_output(&out));
    let mut c = home.command();
    c.env("MYNAID_CONFIG", &file)
        .args(["read", "--link", &server.link(), "--lang", "en"]);
    assert_eq!(run_typed(&mut c, "").status.code(), Some(2));
    // The default file, too.
    let default = home.dir.path().join("config/mynaid");
    std::fs::create_dir_all(&default).unwrap();
    std::fs::copy(&file, default.join("config.toml")).unwrap();
    assert_eq!(mynaid(&home, &server.link(), None, &[], "").status.code(), Some(2));
    assert!(
        server.requests().is_empty(),
        "the server was contacted: {:?}",
        server.requests()
    );
}

#[test]
fn a_listed_server_is_used_without_the_first_use_warning() {
    let server = HostileServer::start(|base, path| {
        if path.ends_with("/redeem") {
            (200, hostile_offer(base, "pc_reader"))
        } else {
            (204, String::new())
        }
    });
    let home = Home::new();
    // Spelled with a trailing slash: the same origin.
    let listed = format!("{}/", server.base);
    // A missing card stops the app right after the offer is shown.
    let out = mynaid(
        &home,
        &server.link(),
        Some(&home.dir.path().join("no-card.json")),
        &["--server", &listed],
        "",
    );
    let text = all_output(&out);
    assert!(text.contains("Portal"), "{text}");
    assert!(!text.contains("no list of trusted servers"), "{text}");
    assert_eq!(server.requests()[0].path, format!("/api/v1/handles/{HANDLE}/redeem"));
}

#[test]
fn configuration_errors_stop_before_anything_is_sent() {
    let server = HostileServer::start(|base, _| (200, hostile_offer(base, "pc_reader")));
    let home = Home::new();
    let missing = home.dir.path().join("missing.toml");
    let out = mynaid(
        &home,
        &server.link(),
        None,
        &["--json", "--config", missing.to_str().unwrap()],
        "",
    );
    assert_eq!(out.status.code(), Some(2), "{}", all_output(&out));
    assert_eq!(json_line(&out)["error"]["code"], "config");
    assert!(all_output(&out).contains("missing.toml"));
    let bad = home.dir.path().join("bad.toml");
    for text in ["servers = [", "servers = [\"id.example.jp\"]", "server = []"] {
        std::fs::write(&bad, text).unwrap();
        let out = mynaid(&home, &server.link(), None, &["--config", bad.to_str().unwrap()], "");
        assert_eq!(out.status.code(), Some(2), "{text}: {}", all_output(&out));
    }
    let out = mynaid(&home, &server.link(), None, &["--server", "http://example.com"], "");
    assert_eq!(out.status.code(), Some(2), "{}", all_output(&out));
    assert!(server.requests().is_empty(), "{:?}", server.requests());
}

#[test]
fn bad_origins_and_codes_are_bad_answers() {
    let server = HostileServer::start(|base, path| {
        if path.ends_with("/redeem") {
            let mut offer: Value = serde_json::from_str(&hostile_offer(base, "pc_reader")).unwrap();
            offer["origin"] = json!("https://portal.example.jp\u{1b}[2J\u{202E}");
            (200, offer.to_string())
        } else {
            (204, String::new())
        }
    });
    let out = mynaid(&Home::new(), &server.link(), None, &["--json"], "");
    assert_clean(&out);
    assert_eq!(json_line(&out)["error"]["code"], "bad_answer", "{}", all_output(&out));
}

/// What a pattern-1 server answers to good evidence.
fn verifying_server(code: &'static str) -> HostileServer {
    HostileServer::start(move |base, path| {
        if path.ends_with("/redeem") {
            (200, hostile_offer(base, "pc_reader"))
        } else if path.ends_with("/evidence") {
            let url = format!("{base}/return#resultHandle_0123456789-abc");
            (
                200,
                json!({"status": "verified", "confirmation_code": code, "return_url": url}).to_string(),
            )
        } else {
            (204, String::new())
        }
    })
}

/// p01's card read for `server` (a private copy of the card, p01's PIN typed).
fn read_p01(home: &Home, server: &HostileServer, extra: &[&str]) -> Output {
    let p = person("p01");
    let card = p.card();
    mynaid(
        home,
        &server.link(),
        Some(&card.path),
        extra,
        &format!("{}\n{}\n", p.auth_pin, p.pin),
    )
}

/// p01's card read for a server that accepts the evidence with `code`: the app's output and
/// all of it as text.
fn read_verified(server: &HostileServer, home: &Home, extra: &[&str]) -> (Output, String) {
    let out = read_p01(home, server, extra);
    let text = all_output(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    (out, text)
}

#[test]
fn pattern_one_returns_through_the_default_browser() {
    let server = verifying_server("123456");
    let home = Home::new();
    let (out, text) = read_verified(&server, &home, &["--json"]);
    let return_url = format!("{}/return#resultHandle_0123456789-abc", server.base);
    let v = json_line(&out);
    assert_eq!(
        v,
        json!({"status": "verified", "confirmation_code": "123456", "return_url": return_url})
    );
    // In the person's language: the page the browser opens says the same as the app.
    let opened = home.browser.wait_for_opened(Duration::from_secs(10));
    assert_eq!(opened, return_url.replace("/return#", "/return?lang=en#"));
    assert_eq!(home.browser.opened().len(), 1);
    assert!(
        text.contains("Returning to the procedure's page in your browser"),
        "{text}"
    );
    assert!(text.contains("Confirmation code: 123456"), "{text}");
    assert!(
        text.contains(&format!("Type it only on the page at {}", server.base)),
        "{text}"
    );
    assert!(text.contains("Nobody will ever ask you for this code"), "{text}");
}

#[test]
fn without_a_browser_the_address_and_the_code_are_printed() {
    let server = verifying_server("654321");
    let home = Home::new();
    let (_, text) = read_verified(&server, &home, &["--no-browser"]);
    assert!(
        text.contains(&format!("{}/return?lang=en#resultHandle_0123456789-abc", server.base)),
        "{text}"
    );
    assert!(text.contains("Confirmation code: 654321"), "{text}");
    std::thread::sleep(Duration::from_millis(200));
    assert!(home.browser.opened().is_empty(), "the browser was opened");

    // A browser that cannot be started: the same, and the exit code stays OK.
    let p = person("p01");
    let card = p.card();
    let mut c = home.command();
    c.env("BROWSER", home.dir.path().join("no-such-browser"))
        .env("PATH", home.dir.path())
        .args([
            "read",
            "--link",
            &server.link(),
            "--pin-stdin",
            "--lang",
            "ja",
            "--emulator",
        ])
        .arg(&card.path);
    let out = run_typed(&mut c, &format!("{}\n{}\n", p.auth_pin, p.pin));
    let text = all_output(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("ブラウザで手続きの画面に戻ります…"), "{text}");
    assert!(text.contains("ブラウザを開けませんでした"), "{text}");
    assert!(text.contains("確認コード: 654321"), "{text}");
    assert!(text.contains("だれにも教えないでください"), "{text}");
}

#[test]
fn a_confirmation_code_that_is_not_six_digits_is_refused() {
    let server = verifying_server("12\u{1b}[2J34");
    let home = Home::new();
    let out = read_p01(&home, &server, &["--json"]);
    assert_clean(&out);
    assert_eq!(json_line(&out)["error"]["code"], "bad_answer", "{}", all_output(&out));
    assert!(home.browser.opened().is_empty());
}
