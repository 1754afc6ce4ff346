//! Privacy scan of a whole pattern-1 flow with the real binaries: `mynaid-server serve` (JSON logs,
//! debug level for mynaid's own crates, SQLite file) and `mynaid read --link … --emulator`
//! (the PC reader app with an emulated card), for three persons on both routes, with a
//! wrong PIN typed once, and of the OpenID Connect authorization code flow against the same
//! server. Everything that leaves the processes is collected — every log line of the server
//! and of the reader (stdout and stderr), every HTTP response body (and the `Location` and
//! `Set-Cookie` headers of the OIDC flow's browser), the database file with its `-wal` and
//! `-shm` — and searched for the persons' secrets and personal data in the forms they take:
//! PINs and passwords (also the wrong one typed), names, addresses (UTF-8 and
//! percent-encoded), birth dates (`YYYY-MM-DD`, `YYYYMMDD`), the card's raw values (EF 0002
//! DF22-DF24, the integrity record's DF31, the whole EF 0002 and EF 0003 objects, raw and
//! base64), and the OIDC client's secret and access tokens — except in the answers meant to
//! carry them: the relying party's result and, for OIDC, the token response (ID token) and
//! UserInfo, which are checked to carry them (so the needles are right and the scan can
//! fail).
//!
//! The OIDC part drives `mynaid-server serve` like a browser over real HTTP (cookies kept, redirects
//! looked at one by one, never followed to the client): the authorization request (all four
//! claim scopes, `state`, `nonce`, PKCE S256), the consent page and its form, the procedure
//! page and the PC-reader page, the card read by `mynaid read --link … --emulator`, the done
//! page's way back to `/oidc/callback` and its redirect to the client with the code; then the
//! relying party's token request (`client_secret_basic`, `code_verifier`), UserInfo, a replay
//! of the code (refused) and UserInfo with the now revoked access token (refused). The OIDC
//! tables store the claims sealed, so the database must not show them either.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "instances/mod.rs"]
mod instances;

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mynaid_apdu::tlv;
use mynaid_emulator::state::CardState;
use mynaid_testkit::PersonCard;
use mynaid_testkit::{PersonRecord, fixtures_dir, person};
use serde_json::{Value, json};

#[path = "privacy_scan/oidc.rs"]
mod oidc;
use oidc::*;

const API_KEY: &str = "privacy-scan-portal-key-8d2b6e4f0a1c";
/// A wrong PIN the person types first (it must not show up anywhere either).
const WRONG_PIN: &str = "7392";
/// The OpenID Connect client (`client_secret_basic`) and its one redirect URI, never fetched.
const OIDC_CLIENT: &str = "privacy-rp";
const OIDC_SECRET: &str = "privacy-scan-oidc-secret-5e7a1c9b3d2f4a60";
const OIDC_REDIRECT: &str = "https://rp.example.jp/cb";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn write_config(dir: &Path, port: u16, db: &Path) -> PathBuf {
    let trust = instances::trust_toml();
    let base = format!("http://127.0.0.1:{port}");
    let text = format!(
        r#"listen = "127.0.0.1:{port}"
public_url = "{base}"
database_url = "sqlite://{db}"
result_key = "ERERERERERERERERERERERERERERERERERERERERERE="
link_secret = "IiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiI="
log_format = "json"
metrics_listen = "127.0.0.1:0"

{trust}
[[relying_parties]]
id = "portal"
name = "登録ポータル（テスト）"
name_en = "Registration portal (test)"
origin = "{base}"
api_key = "{API_KEY}"
return_urls = ["{base}/return"]
accepted_routes = ["user_authentication", "signature"]

[[oidc.clients]]
client_id = "{OIDC_CLIENT}"
name = "OIDCクライアント（テスト）"
name_en = "OIDC client (test)"
redirect_uris = ["{OIDC_REDIRECT}"]
scopes = ["name", "address", "birthdate", "gender"]
purposes = ["verify_identity"]
auth_method = "client_secret_basic"
client_secret = "{OIDC_SECRET}"
accepted_routes = ["user_authentication", "signature"]
"#,
        db = db.display()
    );
    let path = dir.join("mynaid.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// The log filter of both processes: everything of mynaid's crates, of the HTTP layer and
/// of the SQL layer (statements), info for the rest.
const LOG_FILTER: &str = "info,mynaid=debug,mynaid_server=debug,mynaid_card=debug,mynaid_device=debug,\
    mynaid_evidence=debug,mynaid_emulator=debug,mynaid_apdu=debug,mynaid_pcsc=debug,tower_http=debug,sqlx=debug";

struct Server {
    child: Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        // The browser's cookie comes with the start link's redirect.
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

/// Every HTTP response body of the flow, labelled.
#[derive(Default)]
struct Bodies(Vec<(String, Vec<u8>)>);

impl Bodies {
    fn keep(&mut self, what: &str, resp: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> (u16, Vec<u8>) {
        let mut r = resp.unwrap();
        let status = r.status().as_u16();
        let body = r.body_mut().with_config().limit(1 << 20).read_to_vec().unwrap();
        self.0.push((what.to_string(), body.clone()));
        (status, body)
    }
}

/// What to look for: a label (never the value) and the bytes; `bounded` needles count only
/// between non-alphanumeric characters (a 4-digit PIN inside a timestamp or a random token
/// is a coincidence, not a leak).
struct Needle {
    label: String,
    bytes: Vec<u8>,
    bounded: bool,
}

fn found(hay: &[u8], n: &Needle) -> bool {
    if n.bytes.is_empty() || hay.len() < n.bytes.len() {
        return false;
    }
    (0..=hay.len() - n.bytes.len()).any(|i| {
        hay[i..i + n.bytes.len()] == n.bytes[..]
            && (!n.bounded
                || (i.checked_sub(1).is_none_or(|j| !hay[j].is_ascii_alphanumeric())
                    && hay.get(i + n.bytes.len()).is_none_or(|b| !b.is_ascii_alphanumeric())))
    })
}

fn base64(bytes: &[u8], url: bool) -> String {
    let alphabet: &[u8] = if url {
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    } else {
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    };
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(alphabet[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

fn percent(s: &str) -> String {
    s.bytes().map(|b| format!("%{b:02X}")).collect()
}

fn card_file<'a>(state: &'a CardState, app: &str, fid: u16) -> &'a [u8] {
    let app = state.applications.iter().find(|a| a.name == app).unwrap();
    &app.files.iter().find(|f| f.fid == fid).unwrap().content
}

/// The values of the TLV object at the start of `content`, by tag.
fn fields(content: &[u8]) -> (Vec<u8>, Vec<(u32, Vec<u8>)>) {
    let (outer, _) = tlv::parse(content).unwrap();
    let inner = tlv::parse_all(outer.value, 0).unwrap();
    (
        outer.raw.to_vec(),
        inner.iter().map(|t| (t.tag.0, t.value.to_vec())).collect(),
    )
}

fn needles(p: &PersonRecord) -> Vec<Needle> {
    let mut v = Vec::new();
    let mut add = |label: &str, bytes: Vec<u8>, bounded: bool| {
        v.push(Needle {
            label: format!("{} {label}", p.id),
            bytes,
            bounded,
        });
    };
    add("input-support PIN", p.pin.clone().into_bytes(), true);
    add("user-authentication PIN", p.auth_pin.clone().into_bytes(), true);
    if let Some(pw) = &p.sign_password {
        add("signature password", pw.clone().into_bytes(), true);
        add("signature password (lowercase)", pw.to_lowercase().into_bytes(), true);
    }
    add("name", p.name.clone().into_bytes(), false);
    add("name (percent-encoded)", percent(&p.name).into_bytes(), false);
    add("address", p.address.clone().into_bytes(), false);
    add("address (percent-encoded)", percent(&p.address).into_bytes(), false);
    add("birth date YYYY-MM-DD", p.birthdate.clone().into_bytes(), true);
    add("birth date YYYYMMDD", p.birthdate.replace('-', "").into_bytes(), true);
    let state: CardState = serde_json::from_slice(&std::fs::read(fixtures_dir().join(&p.card)).unwrap()).unwrap();
    let (basic_info, basic_fields) = fields(card_file(&state, "input-support", 0x0002));
    for (tag, value) in basic_fields {
        let what = match tag {
            0xDF22 => "name (card, DF22)",
            0xDF23 => "address (card, DF23)",
            0xDF24 => "birth date (card, DF24)",
            _ => continue,
        };
        add(what, value, false);
    }
    let (integrity, integrity_fields) = fields(card_file(&state, "input-support", 0x0003));
    for (tag, value) in integrity_fields {
        if tag == 0xDF31 {
            add("DF31", value.clone(), false);
            add(
                "DF31 (hex)",
                value
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect::<String>()
                    .into_bytes(),
                false,
            );
            add(
                "DF31 (HEX)",
                value
                    .iter()
                    .map(|b| format!("{b:02X}"))
                    .collect::<String>()
                    .into_bytes(),
                false,
            );
            // Base64 of the value at each alignment, trimmed to the characters that depend
            // on it alone.
            for shift in 0..3 {
                let mut shifted = vec![0u8; shift];
                shifted.extend_from_slice(&value);
                for url in [true, false] {
                    let b = base64(&shifted, url);
                    let inner = &b[(shift * 4).div_ceil(3) + 1..b.len() - 2];
                    add(
                        &format!("DF31 (base64, shift {shift})"),
                        inner.as_bytes().to_vec(),
                        false,
                    );
                }
            }
        }
    }
    add("EF 0002 object", basic_info.clone(), false);
    add("EF 0002 (base64url)", base64(&basic_info, true).into_bytes(), false);
    add("EF 0003 object", integrity.clone(), false);
    add("EF 0003 (base64url)", base64(&integrity, true).into_bytes(), false);
    v
}

/// The hidden form token of a page (`name="csrf" value="…"`), if it has a form.
fn form_token(page: &str) -> Option<String> {
    const FIELD: &str = r#"name="csrf" value=""#;
    page.find(FIELD).map(|at| {
        let value = &page[at + FIELD.len()..];
        value[..value.find('"').unwrap()].to_string()
    })
}

/// The `mynaid://` link of the PC-reader page.
fn reader_link(html: &str) -> String {
    let start = html.find("mynaid://read?").unwrap();
    let end = html[start..].find(['"', '\'', '<']).unwrap();
    html[start..start + end].replace("&amp;", "&")
}

/// `mynaid read --link … --emulator` with a private copy of `p`'s card, `typed` on stdin;
/// its output is kept. The address back to the browser when it succeeded.
fn read_card(p: &PersonRecord, link: &str, route: &str, typed: &str, reader_out: &mut Vec<u8>) -> Option<String> {
    let card = p.card();
    let mut reader = Command::new(mynaid_harness::bins::reader())
        .args(["read", "--link", link, "--emulator"])
        .arg(&card.path)
        .args([
            "--route",
            route,
            "--pin-stdin",
            "--json",
            "--lang",
            "en",
            "--no-browser",
        ])
        .env("RUST_LOG", LOG_FILTER)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = reader.stdin.take().unwrap();
    writeln!(stdin, "{typed}").unwrap();
    drop(stdin);
    let out = reader.wait_with_output().unwrap();
    reader_out.extend_from_slice(&out.stdout);
    reader_out.extend_from_slice(&out.stderr);
    let last = String::from_utf8_lossy(&out.stdout).lines().last().map(str::to_string);
    let v: Value = last.and_then(|l| serde_json::from_str(&l).ok()).unwrap_or_default();
    out.status
        .success()
        .then(|| v["return_url"].as_str().expect("a return address").to_string())
}

/// One pattern-1 flow: the relying party creates a session, the browser opens the page and
/// chooses the PC reader, `mynaid read --link` reads the card (a wrong PIN first, when
/// `wrong_first`); the relying party takes the result. Returns the result body.
#[allow(clippy::too_many_arguments)]
fn flow(
    base: &str,
    p: &PersonRecord,
    route: &str,
    secret: &str,
    wrong_first: bool,
    bodies: &mut Bodies,
    reader_out: &mut Vec<u8>,
) -> Vec<u8> {
    let a = agent();
    let (status, body) = bodies.keep(
        "create session",
        a.post(&format!("{base}/api/v1/sessions"))
            .header("Authorization", &format!("Bearer {API_KEY}"))
            .header("Content-Type", "application/json")
            .send(json!({ "purpose": "verify_identity" }).to_string().as_bytes()),
    );
    assert_eq!(status, 201);
    let v: Value = serde_json::from_slice(&body).unwrap();
    let id = v["session_id"].as_str().unwrap().to_string();
    let browser_url = v["browser_url"].as_str().unwrap().to_string();
    // The browser: start (cookie), procedure page, pattern 1.
    let start = a.get(&browser_url).call().unwrap();
    let cookie = start
        .headers()
        .get("set-cookie")
        .and_then(|c| c.to_str().ok())
        .and_then(|c| c.split(';').next())
        .expect("the start link sets the session's cookie")
        .to_string();
    let mut link = String::new();
    // On the 4-digit route a wrong user-authentication PIN, then Enter ("the same").
    let wrong = if route == "pin" {
        format!("{WRONG_PIN}\n")
    } else {
        WRONG_PIN.to_string()
    };
    let attempts: &[&str] = if wrong_first { &[&wrong, secret] } else { &[secret] };
    for (i, typed) in attempts.iter().enumerate() {
        let (status, page) = bodies.keep(
            "procedure page",
            a.get(&format!("{base}/s/{id}")).header("Cookie", &cookie).call(),
        );
        assert_eq!(status, 200);
        let form = form_token(&String::from_utf8(page).unwrap())
            .map(|t| format!("csrf={t}"))
            .unwrap_or_default();
        let (status, _) = bodies.keep(
            "pattern-1 choice",
            a.post(&format!("{base}/s/{id}/pc"))
                .header("Cookie", &cookie)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .send(form.as_bytes()),
        );
        assert_eq!(status, 303, "the form is answered with the page's address");
        let (status, html) = bodies.keep(
            "pattern-1 page",
            a.get(&format!("{base}/s/{id}/pc")).header("Cookie", &cookie).call(),
        );
        assert_eq!(status, 200);
        link = reader_link(&String::from_utf8(html).unwrap());

        let wrong = wrong_first && i == 0;
        let back = read_card(p, &link, route, typed, reader_out);
        assert_eq!(back.is_some(), !wrong, "{} {route}: reader exit", p.id);
        // The reader app's return to this browser (what the return page's script posts).
        if let Some(back) = back {
            let handle = back.split_once("/return#").unwrap().1;
            let (status, _) = bodies.keep(
                "return",
                a.post(&format!("{base}/return"))
                    .header("Cookie", &cookie)
                    .header("Content-Type", "application/json")
                    .send(json!({ "result_handle": handle }).to_string().as_bytes()),
            );
            assert_eq!(status, 200, "{} {route}: return", p.id);
        }
        // The events and the result page the browser would see.
        bodies.keep(
            "done page",
            a.get(&format!("{base}/s/{id}/done")).header("Cookie", &cookie).call(),
        );
    }
    assert!(link.contains("handle="));
    let (_, done) = bodies.keep(
        "done page",
        a.get(&format!("{base}/s/{id}/done")).header("Cookie", &cookie).call(),
    );
    let done = String::from_utf8(done).unwrap();
    let code = done
        .split("&amp;code=")
        .nth(1)
        .and_then(|c| c.split('"').next())
        .expect("a way back with a code");
    let (status, result) = bodies.keep(
        "result (allowed)",
        a.get(&format!("{base}/api/v1/sessions/{id}/result?code={code}"))
            .header("Authorization", &format!("Bearer {API_KEY}"))
            .call(),
    );
    assert_eq!(status, 200, "{} {route}: result", p.id);
    bodies.0.pop();
    // A second take: refused, and nothing personal in the refusal.
    bodies.keep(
        "second take",
        a.get(&format!("{base}/api/v1/sessions/{id}/result?code={code}"))
            .header("Authorization", &format!("Bearer {API_KEY}"))
            .call(),
    );
    result
}

#[test]
fn no_secret_or_personal_datum_leaves_the_processes() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("mynaid.db");
    let log = dir.path().join("server.log");
    let port = free_port();
    let config = write_config(dir.path(), port, &db);
    let out = std::fs::File::create(&log).unwrap();
    let mut server = Server {
        child: Command::new(env!("CARGO_BIN_EXE_mynaid-server"))
            .args(["serve", "--config"])
            .arg(&config)
            .env("RUST_LOG", LOG_FILTER)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap(),
    };
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while agent()
        .get(&format!("{base}/api/openapi.json"))
        .call()
        .map_or(true, |r| r.status() != 200)
    {
        assert!(
            matches!(server.child.try_wait(), Ok(None)),
            "mynaid-server serve exited"
        );
        assert!(Instant::now() < deadline, "mynaid-server serve did not start");
        std::thread::sleep(Duration::from_millis(50));
    }

    let persons = [person("p01"), person("p02"), person("p07")];
    let mut bodies = Bodies::default();
    let mut reader_out = Vec::new();
    let mut results = Vec::new();
    for (i, p) in persons.iter().enumerate() {
        let four_digit = format!("{}\n{}", p.auth_pin, p.pin);
        results.push((
            p,
            "pin",
            flow(&base, p, "pin", &four_digit, i == 1, &mut bodies, &mut reader_out),
        ));
        if let Some(pw) = &p.sign_password {
            results.push((
                p,
                "password",
                flow(&base, p, "password", pw, false, &mut bodies, &mut reader_out),
            ));
        }
    }

    // The OpenID Connect flow, on both routes.
    let oidc = [
        (
            &persons[0],
            "pin",
            format!("{}\n{}", persons[0].auth_pin, persons[0].pin),
        ),
        (&persons[1], "password", persons[1].sign_password.clone().unwrap()),
    ]
    .map(|(p, route, secret)| {
        let answers = oidc_flow(&base, p, route, &secret, &mut bodies, &mut reader_out);
        (p, route, answers)
    });

    // The database as it is on disk while the server runs, and after a SIGKILL (the WAL is
    // not checkpointed away).
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let read_db = |when: &str, files: &mut Vec<(String, Vec<u8>)>| {
        for suffix in ["", "-wal", "-shm"] {
            let path = PathBuf::from(format!("{}{suffix}", db.display()));
            if let Ok(bytes) = std::fs::read(&path) {
                files.push((format!("database{suffix} ({when})"), bytes));
            }
        }
    };
    read_db("running", &mut files);
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    read_db("killed", &mut files);
    files.push(("server log".into(), std::fs::read(&log).unwrap()));
    files.push(("reader output".into(), reader_out));
    for (what, body) in bodies.0 {
        files.push((format!("HTTP body: {what}"), body));
    }

    // Positive control: the results carry the persons' data, so the needles are right (the
    // name as on the card face: the signature certificate of p07 has substitute characters).
    for (p, route, result) in &results {
        let v: Value = serde_json::from_slice(result).unwrap();
        let wanted: &[&str] = if *route == "pin" {
            &[" name", " address", " birth date YYYY-MM-DD"]
        } else {
            &[" birth date YYYY-MM-DD"]
        };
        assert!(
            v["claims"]["name"].as_str().is_some_and(|n| !n.is_empty())
                && needles(p)
                    .iter()
                    .filter(|n| wanted.iter().any(|w| n.label.ends_with(w)))
                    .all(|n| found(result, n)),
            "{} {route}: the result does not carry the person's data",
            p.id
        );
    }
    // The same for OpenID Connect: UserInfo carries the claims of the granted scopes; the ID
    // token is for this client and request, and carries no card-face claims at all
    // (docs/oidc.md), so it is the token response's only other content.
    for (p, route, answers) in &oidc {
        let info: Value = serde_json::from_slice(&answers.userinfo).unwrap();
        let wanted: &[&str] = if *route == "pin" {
            &[" name", " address", " birth date YYYY-MM-DD"]
        } else {
            &[" birth date YYYY-MM-DD"]
        };
        assert!(
            info["sub"].as_str().is_some_and(|s| !s.is_empty())
                && info["name"].as_str().is_some_and(|n| !n.is_empty())
                && info["address"]["formatted"].is_string()
                && info["birthdate"].as_str() == Some(p.birthdate.as_str())
                && info["verified_claims"]["claims"]["birthdate"].as_str() == Some(p.birthdate.as_str())
                && needles(p)
                    .iter()
                    .filter(|n| wanted.iter().any(|w| n.label.ends_with(w)))
                    .all(|n| found(&answers.userinfo, n)),
            "{} {route}: UserInfo does not carry the person's data: {info}",
            p.id
        );
        let token: Value = serde_json::from_slice(&answers.token).unwrap();
        let id_token = token["id_token"].as_str().unwrap();
        let claims: Value = serde_json::from_slice(&unbase64url(id_token.split('.').nth(1).unwrap())).unwrap();
        assert_eq!(claims["aud"], OIDC_CLIENT, "{claims}");
        assert_eq!(claims["sub"], info["sub"], "{claims}");
        assert!(claims["nonce"].is_string(), "{claims}");
        for c in ["name", "address", "birthdate", "gender", "verified_claims"] {
            assert!(claims[c].is_null(), "the ID token carries no {c}: {claims}");
        }
    }
    // The server did log, and at JSON.
    let log_text = String::from_utf8_lossy(&files.iter().find(|(w, _)| w == "server log").unwrap().1).into_owned();
    let lines = log_text.lines().filter(|l| l.starts_with('{')).count();
    assert!(lines > 20, "only {lines} JSON log lines");

    let mut all: Vec<Needle> = persons.iter().flat_map(needles).collect();
    all.push(Needle {
        label: "the wrong PIN typed".into(),
        bytes: WRONG_PIN.as_bytes().to_vec(),
        bounded: true,
    });
    all.push(Needle {
        label: "the OIDC client secret".into(),
        bytes: OIDC_SECRET.as_bytes().to_vec(),
        bounded: false,
    });
    for (p, route, answers) in &oidc {
        all.push(Needle {
            label: format!("{} {route}: the OIDC access token", p.id),
            bytes: answers.access_token.as_bytes().to_vec(),
            bounded: false,
        });
    }
    let mut leaks = Vec::new();
    for (what, bytes) in &files {
        for n in &all {
            if found(bytes, n) {
                leaks.push(format!("{} in {what}", n.label));
            }
        }
    }
    assert!(leaks.is_empty(), "leaks:\n{}", leaks.join("\n"));
    let scanned: usize = files.iter().map(|(_, b)| b.len()).sum();
    eprintln!(
        "privacy scan: {} needles over {} sources ({} KiB, {lines} server log lines): clean",
        all.len(),
        files.len(),
        scanned / 1024
    );
}
