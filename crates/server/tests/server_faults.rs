//! The real `mynaid-server serve` under faults: SIGKILL in the middle of flows and a restart on the
//! same SQLite file, a database locked by another connection, and (where the test may
//! mount a tmpfs) a full disk.
//!
//! What must hold: every session is afterwards either completed exactly once (its result
//! can be taken once, never twice) or clearly expired; no result is lost or duplicated; a
//! write the storage cannot take answers 503 with the stable JSON error
//! (`storage_unavailable`) and leaves nothing half-written, and the same request succeeds
//! once the storage is back.
//!
//! The reading device is the device core (`mynaid_device`) with an emulated card in process:
//! the same requests `mynaid read --link` sends.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "instances/mod.rs"]
mod instances;

use std::collections::BTreeMap;
use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use mynaid_device::{Link, Offer, Route};
use mynaid_emulator::transport::InProcessTransport;
use mynaid_emulator::{Card, Persistence};
use mynaid_protocol::{Body, Device};
use mynaid_testkit::{PersonCard, PersonRecord, fixtures_dir, person};
use serde_json::{Value, json};

const API_KEY: &str = "server-faults-portal-key-3c9e1f7a";
const READER: &str = "mynaid-reader";

/// A free loopback port (the server gets the same one after every restart: the links and
/// the device's URLs name it).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The configuration file of a test server.
fn write_config(dir: &Path, port: u16, db: &Path, ttl: u64) -> PathBuf {
    let trust = instances::trust_toml();
    let base = format!("http://127.0.0.1:{port}");
    let text = format!(
        r#"listen = "127.0.0.1:{port}"
public_url = "{base}"
database_url = "sqlite://{db}"
result_key = "ERERERERERERERERERERERERERERERERERERERERERE="
link_secret = "IiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiI="
session_ttl_secs = {ttl}
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
"#,
        db = db.display()
    );
    let path = dir.join(format!("mynaid-{ttl}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

/// A `mynaid-server serve` process; killed (SIGKILL) on drop.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(config: &Path, port: u16, log: &Path) -> Server {
        let out = std::fs::OpenOptions::new().create(true).append(true).open(log).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_mynaid-server"))
            .args(["serve", "--config"])
            .arg(config)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap();
        let mut server = Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("mynaid-server serve exited: {status}");
            }
            if get(&format!("{}/api/openapi.json", server.base)).0 == 200 {
                return server;
            }
            assert!(Instant::now() < deadline, "mynaid-server serve did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGKILL: no graceful shutdown, no flush.
    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
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

fn answer(resp: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> (u16, Vec<u8>) {
    match resp {
        Ok(mut r) => (
            r.status().as_u16(),
            r.body_mut()
                .with_config()
                .limit(1 << 20)
                .read_to_vec()
                .unwrap_or_default(),
        ),
        // The server went away (killed) before answering.
        Err(_) => (0, Vec::new()),
    }
}

fn get(url: &str) -> (u16, Vec<u8>) {
    answer(agent().get(url).call())
}

fn json_of(body: &[u8]) -> Value {
    serde_json::from_slice(body).unwrap_or(Value::Null)
}

/// The person's browser: the cookie of every session this process opened (session id →
/// token), as one browser keeps them. The reader app's way back (`/return`) and the result
/// page need them.
static BROWSER: Mutex<BTreeMap<String, String>> = Mutex::new(BTreeMap::new());

fn cookies() -> String {
    let jar = BROWSER.lock().unwrap();
    jar.iter()
        .map(|(id, t)| format!("mynaid-{id}={t}"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Creates a session as the relying party and opens its start link as the browser: (id,
/// the browser's token from its cookie).
fn create_session(base: &str) -> (String, String) {
    let (status, body) = post_create(base);
    assert_eq!(status, 201, "create session: {}", String::from_utf8_lossy(&body));
    let v = json_of(&body);
    let id = v["session_id"].as_str().unwrap().to_string();
    let url = v["browser_url"].as_str().unwrap();
    let start = agent().get(url).call().unwrap();
    assert_eq!(start.status().as_u16(), 303, "start link");
    let cookie = start.headers()["set-cookie"].to_str().unwrap();
    let token = cookie.split(';').next().unwrap().split_once('=').unwrap().1.to_string();
    BROWSER.lock().unwrap().insert(id.clone(), token.clone());
    (id, token)
}

fn post_create(base: &str) -> (u16, Vec<u8>) {
    answer(
        agent()
            .post(&format!("{base}/api/v1/sessions"))
            .header("Authorization", &format!("Bearer {API_KEY}"))
            .header("Content-Type", "application/json")
            .send(json!({ "purpose": "verify_identity" }).to_string().as_bytes()),
    )
}

/// The browser chooses pattern 1: the page issues a handle and shows the `mynaid://` link.
/// The form's token (if the page has one) is taken from the procedure page, as a browser
/// posts it.
fn issue_link(base: &str, id: &str, token: &str) -> String {
    let cookie = format!("mynaid-{id}={token}");
    let (status, page) = answer(agent().get(&format!("{base}/s/{id}")).header("Cookie", &cookie).call());
    assert_eq!(status, 200, "procedure page");
    let page = String::from_utf8(page).unwrap();
    let form = match page.find(r#"name="csrf" value=""#) {
        Some(at) => {
            let value = &page[at + r#"name="csrf" value=""#.len()..];
            format!("csrf={}", &value[..value.find('"').unwrap()])
        }
        None => String::new(),
    };
    let (status, _) = answer(
        agent()
            .post(&format!("{base}/s/{id}/pc"))
            .header("Cookie", &cookie)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .send(form.as_bytes()),
    );
    assert_eq!(status, 303, "the form is answered with the page's address");
    let (status, body) = answer(
        agent()
            .get(&format!("{base}/s/{id}/pc"))
            .header("Cookie", &cookie)
            .call(),
    );
    assert_eq!(status, 200, "pattern-1 page");
    let html = String::from_utf8(body).unwrap();
    let start = html.find("mynaid://read?").expect("a reader link on the page");
    let end = html[start..].find(['"', '\'', '<']).unwrap();
    html[start..start + end].replace("&amp;", "&")
}

/// The device redeems the link's handle: the HTTP status, and the offer when it worked.
fn redeem(link_text: &str) -> (u16, Value, Option<Offer>) {
    let link = Link::parse(link_text).unwrap();
    let (status, body) = send(&link.redeem_request(READER, Device::PcReaderApp));
    let offer = Offer::from_response(&link, Device::PcReaderApp, status, &body).ok();
    (status, json_of(&body), offer)
}

fn send(req: &mynaid_device::HttpRequest) -> (u16, Vec<u8>) {
    let mut call = agent().post(&req.url).header("Content-Type", "application/json");
    if let Some(token) = &req.bearer {
        call = call.header("Authorization", &format!("Bearer {token}"));
    }
    answer(call.send(req.body.as_bytes()))
}

/// Reads `p`'s emulated card for the offer (the 4-digit PINs, in process).
fn read_card(p: &PersonRecord, offer: &Offer) -> Body {
    let state = serde_json::from_slice(&std::fs::read(fixtures_dir().join(&p.card)).unwrap()).unwrap();
    let card = Card::from_state(state, Persistence::None).unwrap();
    mynaid_device::read(
        InProcessTransport::new(card),
        &p.credentials(Route::UserAuthentication),
        &offer.to_be_signed(),
        &mut |_| {},
    )
    .unwrap()
    .body
}

/// The reader app sends the evidence; accepted, it sends the person back to the browser,
/// which releases the result.
fn submit(offer: &Offer, body: Body) -> (u16, Value) {
    let (status, body) = send(&offer.evidence_request(READER, body));
    let v = json_of(&body);
    if status == 200 {
        assert_eq!(come_back(&v), 200, "the way back to the browser");
    }
    (status, v)
}

/// The browser opens the reader app's way back (`submitted["return_url"]`): the status.
fn come_back(submitted: &Value) -> u16 {
    let url = submitted["return_url"].as_str().expect("a way back");
    let (base, handle) = url.split_once("/return#").unwrap();
    answer(
        agent()
            .post(&format!("{base}/return"))
            .header("Cookie", &cookies())
            .header("Content-Type", "application/json")
            .send(json!({ "result_handle": handle }).to_string().as_bytes()),
    )
    .0
}

/// The relying party takes the result, with the code the browser brings back from the
/// session's result page.
fn take(base: &str, id: &str) -> (u16, Value) {
    let (status, page) = answer(
        agent()
            .get(&format!("{base}/s/{id}/done"))
            .header("Cookie", &cookies())
            .call(),
    );
    assert_eq!(status, 200, "the result page");
    let page = String::from_utf8(page).unwrap();
    let code = page
        .split("&amp;code=")
        .nth(1)
        .and_then(|c| c.split(['"', '&']).next())
        .expect("a way back with a code");
    let (status, body) = answer(
        agent()
            .get(&format!("{base}/api/v1/sessions/{id}/result?code={code}"))
            .header("Authorization", &format!("Bearer {API_KEY}"))
            .call(),
    );
    (status, json_of(&body))
}

fn code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or("")
}

/// The result is `p`'s (compared without printing anything personal).
fn assert_result_of(v: &Value, p: &PersonRecord, what: &str) {
    let c = &v["claims"];
    assert!(
        c["name"].as_str() == Some(p.name.as_str()) && c["birthdate"].as_str() == Some(p.birthdate.as_str()),
        "{what}: the result is not the person's"
    );
    assert!(v["card_link_id"].as_str().is_some_and(|s| !s.is_empty()), "{what}");
}

/// Takes the result once (200, the person's), then never again (409 `session_finished`).
fn take_exactly_once(base: &str, id: &str, p: &PersonRecord, what: &str) {
    let (status, v) = take(base, id);
    assert_eq!(status, 200, "{what}: first take: {}", code(&v));
    assert_result_of(&v, p, what);
    let (status, v) = take(base, id);
    assert_eq!((status, code(&v)), (409, "session_finished"), "{what}: second take");
}

/// Checks the stable 503 answer.
fn assert_unavailable(status: u16, v: &Value, what: &str) {
    assert_eq!(status, 503, "{what}: {v}");
    assert_eq!(code(v), "storage_unavailable", "{what}");
    assert!(
        v["error"]["message"]["ja"].as_str().is_some_and(|s| !s.is_empty()),
        "{what}"
    );
    assert!(
        v["error"]["message"]["en"].as_str().is_some_and(|s| !s.is_empty()),
        "{what}"
    );
}

/// Rows of the sessions table, as the sqlite3 CLI prints them (read-only; works while
/// another connection holds the write lock, the file being in WAL mode).
fn rows(db: &Path) -> String {
    let out = Command::new("sqlite3")
        .arg(db)
        .arg(
            "SELECT id, state, hex(coalesce(submission_hash, '')), hex(coalesce(challenge, '')), \
             length(result), released FROM sessions ORDER BY id",
        )
        .output()
        .expect("the sqlite3 command-line tool");
    assert!(
        out.status.success(),
        "sqlite3: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn have_sqlite3() -> bool {
    Command::new("sqlite3")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Several sessions in every state, SIGKILL, restart on the same database: each session
/// completes exactly once or is clearly expired.
#[test]
fn sigkill_mid_flow_then_restart_loses_and_duplicates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("mynaid.db");
    let log = dir.path().join("server.log");
    let port = free_port();
    let p1 = person("p01");
    let p2 = person("p02");

    // Phase 0, sessions that live 2 s: one waiting with a handle, one redeemed.
    let short = write_config(dir.path(), port, &db, 2);
    let server = Server::start(&short, port, &log);
    let base = server.base.clone();
    let (exp_waiting, t) = create_session(&base);
    let exp_link = issue_link(&base, &exp_waiting, &t);
    let (exp_redeemed, t) = create_session(&base);
    let (status, _, exp_offer) = redeem(&issue_link(&base, &exp_redeemed, &t));
    assert_eq!(status, 200);
    let exp_offer = exp_offer.unwrap();
    let short_created = Instant::now();
    server.kill();

    // Phase 1, sessions of 5 minutes in every state, then SIGKILL.
    let long = write_config(dir.path(), port, &db, 300);
    let server = Server::start(&long, port, &log);
    // created, no handle yet
    let (a, a_token) = create_session(&base);
    // created, handle issued
    let (b, t) = create_session(&base);
    let b_link = issue_link(&base, &b, &t);
    // handle redeemed, card not read yet
    let (c, t) = create_session(&base);
    let (_, _, c_offer) = redeem(&issue_link(&base, &c, &t));
    let c_offer = c_offer.expect("redeemed");
    // evidence verified, result not taken
    let (d, t) = create_session(&base);
    let (_, _, d_offer) = redeem(&issue_link(&base, &d, &t));
    let d_offer = d_offer.unwrap();
    let (status, v) = submit(&d_offer, read_card(&p2, &d_offer));
    assert_eq!(status, 200, "{v}");
    // completed: the result was taken
    let (e, t) = create_session(&base);
    let (_, _, e_offer) = redeem(&issue_link(&base, &e, &t));
    let e_offer = e_offer.unwrap();
    assert_eq!(submit(&e_offer, read_card(&p1, &e_offer)).0, 200);
    let (status, v) = take(&base, &e);
    assert_eq!(status, 200);
    assert_result_of(&v, &p1, "e before the kill");
    // evidence in flight when the server dies: six submissions sent 3 ms apart, SIGKILL
    // 8 ms after the first (some are stored, some not, some maybe half-way)
    let mut in_flight = Vec::new();
    for _ in 0..6 {
        let (id, t) = create_session(&base);
        let (_, _, offer) = redeem(&issue_link(&base, &id, &t));
        let offer = offer.unwrap();
        let body = read_card(&p1, &offer);
        in_flight.push((id, offer, body));
    }
    let senders: Vec<_> = in_flight
        .iter()
        .enumerate()
        .map(|(i, (_, offer, body))| {
            let req = offer.evidence_request(READER, body.clone());
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(3 * i as u64));
                send(&req)
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(8));
    server.kill();
    let answered: Vec<(u16, Vec<u8>)> = senders.into_iter().map(|h| h.join().unwrap()).collect();

    // The short sessions are past their expiry by now.
    if let Some(left) = Duration::from_secs(3).checked_sub(short_created.elapsed()) {
        std::thread::sleep(left);
    }

    // Phase 2: restart on the same file.
    let server = Server::start(&long, port, &log);
    // Expired sessions say so, at every door.
    let (status, v, _) = redeem(&exp_link);
    assert_eq!((status, code(&v)), (410, "session_expired"), "expired handle");
    let (status, v) = submit(&exp_offer, read_card(&p1, &exp_offer));
    assert_eq!(
        (status, code(&v)),
        (410, "session_expired"),
        "evidence for an expired session"
    );
    for id in [&exp_waiting, &exp_redeemed] {
        let (status, v) = take(&base, id);
        assert_eq!(
            (status, code(&v)),
            (410, "session_expired"),
            "result of an expired session"
        );
    }
    // created: the browser still gets a handle, and the flow completes once.
    let (status, _, offer) = redeem(&issue_link(&base, &a, &a_token));
    assert_eq!(status, 200);
    let offer = offer.unwrap();
    assert_eq!(submit(&offer, read_card(&p1, &offer)).0, 200);
    take_exactly_once(&base, &a, &p1, "created before the kill");
    // handle issued: the same link still redeems.
    let (status, _, offer) = redeem(&b_link);
    assert_eq!(status, 200);
    let offer = offer.unwrap();
    assert_eq!(submit(&offer, read_card(&p2, &offer)).0, 200);
    take_exactly_once(&base, &b, &p2, "handle issued before the kill");
    // redeemed: the device's submission token survives the restart.
    let (status, v) = submit(&c_offer, read_card(&p1, &c_offer));
    assert_eq!(status, 200, "{v}");
    let (status, v) = submit(&c_offer, read_card(&p1, &c_offer));
    assert_eq!((status, code(&v)), (409, "session_finished"), "a second submission");
    take_exactly_once(&base, &c, &p1, "redeemed before the kill");
    // verified: the stored result survives, and is handed out once.
    take_exactly_once(&base, &d, &p2, "verified before the kill");
    // taken: never again.
    let (status, v) = take(&base, &e);
    assert_eq!((status, code(&v)), (409, "session_finished"), "taken before the kill");
    // In flight: answered (then the way back releases it after the restart, once), or not
    // (then the device sends it again). Stored but never answered, nobody holds its way back
    // or code: it waits, unreleased, until it expires; the device's second try is refused.
    let (mut stored, mut stranded) = (0, 0);
    for ((id, offer, body), (answered, answer)) in in_flight.into_iter().zip(answered) {
        if answered == 200 {
            assert_eq!(come_back(&json_of(&answer)), 200, "the way back after the restart");
            stored += 1;
        } else {
            let (status, v) = submit(&offer, body);
            match (status, code(&v)) {
                (200, _) => {}
                (409, "session_finished") => {
                    stranded += 1;
                    let (status, v) = take(&base, &id);
                    assert_eq!((status, code(&v)), (409, "result_not_ready"), "stranded");
                    continue;
                }
                other => panic!("resubmitting after the restart: {other:?}"),
            }
        }
        let (status, v) = take(&base, &id);
        assert_eq!(status, 200, "in flight: {}", code(&v));
        assert_result_of(&v, &p1, "in flight");
        let (status, v) = take(&base, &id);
        assert_eq!((status, code(&v)), (409, "session_finished"), "in flight, second take");
    }
    eprintln!("in-flight submissions answered before the SIGKILL: {stored} of 6, stored unanswered: {stranded}");
    server.kill();

    // The table agrees: every session completed, except the two expired ones.
    if have_sqlite3() {
        let table = rows(&db);
        let completed = table
            .lines()
            .filter(|l| l.split('|').nth(1) == Some("completed"))
            .count();
        assert_eq!(completed, 11 - stranded, "completed sessions:\n{table}");
        assert_eq!(table.lines().count(), 13, "sessions:\n{table}");
    }
}

/// Holds SQLite's write lock on a database from another process (the sqlite3 CLI in a
/// `BEGIN EXCLUSIVE` transaction) until dropped or released.
struct Lock {
    child: Child,
}

impl Lock {
    fn take(db: &Path) -> Lock {
        let mut lock = Lock {
            child: Command::new("sqlite3")
                .arg(db)
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        };
        lock.child
            .stdin
            .as_mut()
            .unwrap()
            .write_all(b"BEGIN EXCLUSIVE;\n")
            .unwrap();
        // Held once a writer with no patience is refused.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let probe = Command::new("sqlite3")
                .arg(db)
                .arg("PRAGMA busy_timeout = 0; BEGIN IMMEDIATE; ROLLBACK;")
                .output()
                .unwrap();
            if !probe.status.success() && String::from_utf8_lossy(&probe.stderr).contains("locked") {
                return lock;
            }
            assert!(Instant::now() < deadline, "the lock was not taken");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn release(mut self) {
        let mut stdin = self.child.stdin.take().unwrap();
        stdin.write_all(b"ROLLBACK;\n.quit\n").unwrap();
        drop(stdin);
        self.child.wait().unwrap();
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Another connection holds an exclusive lock: every write answers 503
/// `storage_unavailable` (after the 5 s busy timeout) and changes nothing; reads go on; after
/// the unlock the very same requests succeed.
#[test]
fn locked_database_answers_503_and_writes_nothing() {
    if !have_sqlite3() {
        eprintln!("skipped: no sqlite3 command-line tool to hold the lock");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("mynaid.db");
    let log = dir.path().join("server.log");
    let port = free_port();
    let p1 = person("p01");
    let config = write_config(dir.path(), port, &db, 300);
    let server = Server::start(&config, port, &log);
    let base = server.base.clone();

    // One session waiting for its handle to be redeemed, one with evidence ready to send,
    // one with a result to take.
    let (waiting, t) = create_session(&base);
    let waiting_link = issue_link(&base, &waiting, &t);
    let (reading, t) = create_session(&base);
    let (_, _, offer) = redeem(&issue_link(&base, &reading, &t));
    let reading_offer = offer.unwrap();
    let evidence = reading_offer.evidence_request(READER, read_card(&p1, &reading_offer));
    let (verified, t) = create_session(&base);
    let (_, _, offer) = redeem(&issue_link(&base, &verified, &t));
    let offer = offer.unwrap();
    assert_eq!(submit(&offer, read_card(&p1, &offer)).0, 200);
    let before = rows(&db);

    let lock = Lock::take(&db);
    let started = Instant::now();
    let create = std::thread::spawn({
        let base = base.clone();
        move || post_create(&base)
    });
    let redeem_locked = std::thread::spawn({
        let link = waiting_link.clone();
        move || {
            let link = Link::parse(&link).unwrap();
            send(&link.redeem_request(READER, Device::PcReaderApp))
        }
    });
    let submit_locked = std::thread::spawn({
        let evidence = evidence.clone();
        move || send(&evidence)
    });
    let take_locked = std::thread::spawn({
        let base = base.clone();
        let id = verified.clone();
        move || {
            let (s, v) = take(&base, &id);
            (s, serde_json::to_vec(&v).unwrap())
        }
    });
    // Reads are not blocked by a writer (WAL).
    let (status, v) = take(&base, &reading);
    assert_eq!((status, code(&v)), (409, "result_not_ready"), "a read while locked");
    for (what, handle) in [
        ("create session", create),
        ("redeem", redeem_locked),
        ("submit evidence", submit_locked),
        ("take result", take_locked),
    ] {
        let (status, body) = handle.join().unwrap();
        assert_unavailable(status, &json_of(&body), what);
    }
    let waited = started.elapsed();
    // Nothing was half-written.
    assert_eq!(rows(&db), before, "the table changed while locked");
    lock.release();

    // The same requests now succeed.
    let (status, body) = post_create(&base);
    assert_eq!(status, 201, "{}", String::from_utf8_lossy(&body));
    let (status, v, offer) = redeem(&waiting_link);
    assert_eq!(status, 200, "the handle was not used up by the refused redeem: {v}");
    let offer = offer.unwrap();
    let (status, body) = send(&evidence);
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(come_back(&json_of(&body)), 200);
    take_exactly_once(&base, &verified, &p1, "verified, taken after the unlock");
    take_exactly_once(&base, &reading, &p1, "evidence sent after the unlock");
    assert_eq!(submit(&offer, read_card(&p1, &offer)).0, 200);
    take_exactly_once(&base, &waiting, &p1, "redeemed after the unlock");
    eprintln!("locked writes answered 503 after {:.1} s", waited.as_secs_f64());
    server.kill();
}

/// Unmounts the tmpfs on drop.
struct Mount(PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// The database on a tiny tmpfs that fills up: writes answer 503 `storage_unavailable`,
/// nothing is half-written, and once space is freed the same request succeeds. Needs root
/// (mount); skipped otherwise.
#[test]
fn full_disk_answers_503_and_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let mnt = dir.path().join("tiny");
    std::fs::create_dir(&mnt).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=2m", "tmpfs"])
        .arg(&mnt)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("skipped: cannot mount a tmpfs here (needs root)");
        return;
    }
    let _mount = Mount(mnt.clone());
    let db = mnt.join("mynaid.db");
    let log = dir.path().join("server.log");
    let port = free_port();
    let p1 = person("p01");
    let config = write_config(dir.path(), port, &db, 300);
    let mut server = Server::start(&config, port, &log);
    let base = server.base.clone();
    let (waiting, t) = create_session(&base);
    let waiting_link = issue_link(&base, &waiting, &t);

    // Fill the file system.
    let filler = mnt.join("filler");
    {
        let mut f = std::fs::File::create(&filler).unwrap();
        let block = vec![0u8; 4096];
        while f.write_all(&block).is_ok() {}
        let _ = f.sync_all();
    }
    let before = if have_sqlite3() { Some(rows(&db)) } else { None };
    // Until writes need new pages of the WAL (the migrations' own WAL frames are reused
    // first, so how many fit depends on the schema's size).
    let mut refused = 0;
    let mut created = 0;
    for _ in 0..400 {
        let (status, body) = post_create(&base);
        match status {
            201 => created += 1,
            _ => {
                assert_unavailable(status, &json_of(&body), "create session on a full disk");
                refused += 1;
            }
        }
        if refused >= 3 {
            break;
        }
    }
    assert!(refused > 0, "no write was refused on a full disk ({created} created)");
    // A redeem needs one page: it may still fit; if not, it is refused and nothing changes.
    let (status, body) = {
        let link = Link::parse(&waiting_link).unwrap();
        send(&link.redeem_request(READER, Device::PcReaderApp))
    };
    let link = Link::parse(&waiting_link).unwrap();
    let mut offer = match status {
        200 => Some(Offer::from_response(&link, Device::PcReaderApp, status, &body).unwrap()),
        _ => {
            assert_unavailable(status, &json_of(&body), "redeem on a full disk");
            refused += 1;
            None
        }
    };
    if let Some(before) = before.clone() {
        let after = rows(&db);
        for line in before.lines() {
            let redeemed_now = offer.is_some() && line.starts_with(&format!("{waiting}|"));
            assert!(
                redeemed_now || after.contains(line),
                "a session changed on the full disk"
            );
        }
        assert_eq!(
            after.lines().count(),
            before.lines().count() + created,
            "half-written rows"
        );
    }
    assert!(server.alive(), "the server died on the full disk");

    std::fs::remove_file(&filler).unwrap();
    let (status, _) = post_create(&base);
    assert_eq!(status, 201, "after space was freed");
    if offer.is_none() {
        let (status, v, o) = redeem(&waiting_link);
        assert_eq!(status, 200, "the handle was not used up by the refused redeem: {v}");
        offer = o;
    }
    let offer = offer.unwrap();
    assert_eq!(submit(&offer, read_card(&p1, &offer)).0, 200);
    take_exactly_once(&base, &waiting, &p1, "after the disk was full");
    eprintln!(
        "full disk: {refused} of {} writes refused with 503, the others fitted",
        created + refused + 1
    );
    server.kill();
}
