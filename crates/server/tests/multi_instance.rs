//! Several server instances on one PostgreSQL database: two real `mynaid-server serve` processes
//! behind a small load balancer (the shared public address every link and answer names),
//! each also reached directly on its own port.
//!
//! * Pattern 2 across instances: the PC page (session, QR page, live status) on instance A,
//!   the phone (`mynaid-server phone` with an emulated card) on instance B; A's page hears B's
//!   events, the confirmation code is typed on A, the result is released once.
//! * Instance A is killed (SIGKILL) after the phone redeemed the handle through it; the phone
//!   goes on through the balancer, which now reaches only B, and the flow completes there.
//! * 100 concurrent redeems of one handle on both instances: exactly one wins.
//!
//! Needs PostgreSQL (`MYNAID_TEST_POSTGRES`, default `postgres://postgres@127.0.0.1:5432/test`;
//! `scripts/lib/postgres.sh` sets one up); each test makes and drops a database of its own.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod instances;

use std::net::SocketAddr;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use instances::{
    API_KEY, Browser, FreshDatabase, Instance, MYNAID_SERVER, free_addr, http_client, link_on_page, open_session,
};

use mynaid_device::{Device, Link, Offer, Route};
use mynaid_emulator::transport::InProcessTransport;
use mynaid_harness::bins::run_typed;
use mynaid_testkit::PersonCard;
use mynaid_testkit::person;
use reqwest::{Client, Response};
use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};

const WAIT: Duration = Duration::from_secs(15);

/// The load balancer in front of the instances: each TCP connection goes to the preferred
/// instance, or to the next one that accepts when that one is gone.
struct Balancer {
    addr: SocketAddr,
    preferred: Arc<AtomicUsize>,
    /// Connections each instance got.
    hits: Arc<[AtomicUsize; 2]>,
    task: tokio::task::JoinHandle<()>,
}

impl Balancer {
    async fn start(backends: [SocketAddr; 2]) -> Balancer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let preferred = Arc::new(AtomicUsize::new(0));
        let hits: Arc<[AtomicUsize; 2]> = Arc::new([AtomicUsize::new(0), AtomicUsize::new(0)]);
        let (p, h) = (preferred.clone(), hits.clone());
        let task = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let first = p.load(Ordering::SeqCst);
                let hits = h.clone();
                tokio::spawn(async move {
                    for i in [first, 1 - first] {
                        if let Ok(mut outbound) = TcpStream::connect(backends[i]).await {
                            hits[i].fetch_add(1, Ordering::SeqCst);
                            let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                            return;
                        }
                    }
                });
            }
        });
        Balancer {
            addr,
            preferred,
            hits,
            task,
        }
    }

    fn prefer(&self, instance: usize) {
        self.preferred.store(instance, Ordering::SeqCst);
    }

    fn hits(&self, instance: usize) -> usize {
        self.hits[instance].load(Ordering::SeqCst)
    }
}

impl Drop for Balancer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Two instances on one fresh database, behind a balancer. Dropped in field order: the
/// instances are killed before their database is dropped.
struct Deployment {
    a: Instance,
    b: Instance,
    balancer: Balancer,
    http: Client,
    _db: FreshDatabase,
    _dir: tempfile::TempDir,
}

impl Deployment {
    async fn start() -> Deployment {
        let db = FreshDatabase::create();
        let dir = tempfile::tempdir().unwrap();
        let (addr_a, addr_b) = (free_addr(), free_addr());
        let balancer = Balancer::start([addr_a, addr_b]).await;
        let public = format!("http://{}", balancer.addr);
        // Both start at once, so they also race to migrate the new database.
        let mut a = Instance::spawn(dir.path(), "a", addr_a, &public, &db.url);
        let mut b = Instance::spawn(dir.path(), "b", addr_b, &public, &db.url);
        let http = http_client();
        a.wait_ready(&http).await;
        b.wait_ready(&http).await;
        Deployment {
            a,
            b,
            balancer,
            http,
            _db: db,
            _dir: dir,
        }
    }

    /// The relying party takes the result from `base`, with the code the browser brings
    /// back from its result page: status and body.
    async fn take_result(&self, base: &str, browser: &Browser) -> (u16, Value) {
        let done = self
            .http
            .get(format!("{base}/s/{}/done", browser.id))
            .header("cookie", &browser.cookie)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let code = link_on_page(&done, "class=\"button", "href=\"", "\"");
        let code = code.split("code=").nth(1).expect("a code on the way back");
        let id = &browser.id;
        let r = self
            .http
            .get(format!("{base}/api/v1/sessions/{id}/result?code={code}"))
            .bearer_auth(API_KEY)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or_default())
    }

    /// The confirmation code typed on the page at `base`.
    async fn confirm(&self, base: &str, browser: &Browser, code: &str) -> u16 {
        browser
            .post(&self.http, base, "confirm", &format!("code={code}"))
            .await
            .status()
            .as_u16()
    }

    /// The logs of both instances (for failure messages).
    fn logs(&self) -> String {
        format!("--- A ---\n{}\n--- B ---\n{}", self.a.log_text(), self.b.log_text())
    }
}

/// A page's live status stream.
struct Events {
    resp: Response,
    buf: String,
}

impl Events {
    async fn open(http: &Client, base: &str, browser: &Browser) -> Events {
        let resp = http
            .get(format!("{base}/s/{}/events", browser.id))
            .header("cookie", &browser.cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200);
        Events {
            resp,
            buf: String::new(),
        }
    }

    /// The next event (panics after `WAIT`).
    async fn next(&mut self) -> Value {
        tokio::time::timeout(WAIT, async {
            loop {
                if let Some(end) = self.buf.find("\n\n") {
                    let block: String = self.buf.drain(..end + 2).collect();
                    let data: Vec<&str> = block.lines().filter_map(|l| l.strip_prefix("data:")).collect();
                    if !data.is_empty() {
                        return serde_json::from_str::<Value>(data.join("\n").trim()).unwrap();
                    }
                    continue;
                }
                let chunk = self.resp.chunk().await.unwrap().expect("the stream ended");
                self.buf.push_str(std::str::from_utf8(&chunk).unwrap());
            }
        })
        .await
        .unwrap_or_else(|_| panic!("no event within {WAIT:?}; buffered: {:?}", self.buf))
    }

    /// Events up to and including the first of `state`; answers the states seen.
    async fn until(&mut self, state: &str) -> Vec<String> {
        let mut seen = Vec::new();
        loop {
            let v = self.next().await;
            let s = v["state"].as_str().unwrap_or_default().to_string();
            let done = s == state;
            seen.push(s);
            if done {
                return seen;
            }
            assert!(seen.len() < 20, "no {state} event: {seen:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pattern_2_pc_on_one_instance_phone_on_the_other() {
    let d = Deployment::start().await;
    let (a, b) = (d.a.base.clone(), d.b.base.clone());
    let browser = open_session(&d.http, &a, "verify_identity").await;
    let page = browser.choose(&d.http, &a, "phone").await;
    let link = link_on_page(&page, "id=\"app-link\"", ">", "</pre>");
    let pc_code = link_on_page(&page, "id=\"pc-code\"", ">", "<");
    assert!(
        link.starts_with(&format!("http://{}/app/read#h=", d.balancer.addr)),
        "the QR code names the shared address: {link}"
    );
    let mut events = Events::open(&d.http, &a, &browser).await;
    assert_eq!(events.next().await["state"], "waiting");

    // The phone's connections reach instance B only.
    d.balancer.prefer(1);
    let p = person("p01");
    let card = p.card();
    let phone_link = link.clone();
    let card_path = card.path.clone();
    let pin = format!("{}\n{}\n", p.auth_pin, p.pin);
    let out = tokio::task::spawn_blocking(move || {
        run_typed(
            Command::new(MYNAID_SERVER)
                .arg("phone")
                .args(["--link", &phone_link, "--route", "pin", "--emulator"])
                .arg(&card_path)
                .args(["--pin-stdin", "--json", "--nfc-delay-ms", "1", "--no-browser"]),
            &pin,
        )
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "phone failed: {stderr}\n{}", d.logs());
    assert!(stderr.contains(&pc_code), "the phone shows the PC's code");
    let answer: Value = serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().last().unwrap()).unwrap();
    let code = answer["confirmation_code"].as_str().unwrap().to_string();
    assert_eq!(
        (d.balancer.hits(0), d.balancer.hits(1) > 0),
        (0, true),
        "the phone talked to B only"
    );

    // A's page heard what B did, through the database (after, perhaps, the echo of its own
    // "waiting" from choosing the phone, which went round through PostgreSQL too).
    let seen = events.until("confirm_needed").await;
    let from_b: Vec<&str> = seen
        .iter()
        .map(String::as_str)
        .skip_while(|s| *s == "waiting")
        .collect();
    assert!(
        from_b.first() == Some(&"reading") && from_b.contains(&"reader"),
        "B's redeem and the phone's report reached A's page: {seen:?}"
    );
    assert_eq!(d.take_result(&a, &browser).await.0, 409, "nothing before the code");

    // The code typed on A; B's sealed result opens on either instance, once.
    assert_eq!(d.confirm(&a, &browser, "000000x").await, 422, "a malformed code");
    assert_eq!(d.confirm(&a, &browser, &code).await, 200, "{}", d.logs());
    assert_eq!(events.next().await["state"], "verified");
    let (status, result) = d.take_result(&b, &browser).await;
    assert_eq!(status, 200, "{}", d.logs());
    assert!(result["claims"]["name"] == p.name.as_str(), "the result is p01's");
    let (again_a, body) = d.take_result(&a, &browser).await;
    assert_eq!(
        (again_a, body["error"]["code"].as_str()),
        (409, Some("session_finished"))
    );
    assert_eq!(d.take_result(&b, &browser).await.0, 409, "released once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_instance_leaves_the_flow_to_the_other() {
    let mut d = Deployment::start().await;
    let (a, b) = (d.a.base.clone(), d.b.base.clone());
    let browser = open_session(&d.http, &a, "link_card").await;
    let page = browser.choose(&d.http, &a, "phone").await;
    let link = Link::parse(&link_on_page(&page, "id=\"app-link\"", ">", "</pre>")).unwrap();

    // The phone redeems through the balancer, which sends it to A. A fresh connection per
    // request, as after a phone changes networks.
    let phone = Client::builder().pool_max_idle_per_host(0).build().unwrap();
    d.balancer.prefer(0);
    let req = link.redeem_request("mynaid-phone", Device::PhoneApp);
    let r = phone
        .post(&req.url)
        .header("content-type", "application/json")
        .body(req.body.to_string())
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let offer = Offer::from_response(&link, Device::PhoneApp, status, &r.bytes().await.unwrap()).expect("redeemed");
    assert_eq!((d.balancer.hits(0), d.balancer.hits(1)), (1, 0), "redeemed on A");

    // A dies mid-flow: no shutdown, nothing flushed.
    d.a.kill();
    assert!(!d.a.running());
    assert!(
        d.http.get(format!("{a}/api/openapi.json")).send().await.is_err(),
        "A is gone"
    );

    // The page reconnects to B and sees where the flow stands.
    let mut events = Events::open(&d.http, &b, &browser).await;
    assert_eq!(events.next().await["state"], "reading");

    // The phone reads the card (signature route) and goes on; the balancer finds only B.
    let p = person("p01");
    let copy = p.card();
    let mut transport = InProcessTransport::new(copy.open());
    let reading = mynaid_device::read(
        &mut transport,
        &p.credentials(Route::Signature),
        &offer.to_be_signed(),
        &mut |_| {},
    )
    .expect("the card reads");
    let report = offer.status_request(mynaid_protocol::ReaderStatus::Reading, None);
    let r = phone
        .post(&report.url)
        .bearer_auth(report.bearer.as_deref().unwrap())
        .header("content-type", "application/json")
        .body(report.body.to_string())
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "status report on B: {}", r.status());
    // (A's own "reading" may still come round through PostgreSQL first.)
    let ev = loop {
        let v = events.next().await;
        if v["state"] != "reading" {
            break v;
        }
    };
    assert_eq!(
        (ev["state"].as_str(), ev["status"].as_str()),
        (Some("reader"), Some("reading"))
    );

    let submit = offer.evidence_request("mynaid-phone", reading.body);
    let r = phone
        .post(&submit.url)
        .bearer_auth(submit.bearer.as_deref().unwrap())
        .header("content-type", "application/json")
        .body(submit.body.to_string())
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let submitted = offer
        .submitted(status, &r.bytes().await.unwrap())
        .unwrap_or_else(|e| panic!("{e:?}\n{}", d.logs()));
    assert_eq!(d.balancer.hits(0), 1, "nothing more reached A");
    assert!(d.balancer.hits(1) >= 2, "the report and the evidence went to B");
    assert_eq!(events.until("confirm_needed").await, ["confirm_needed"]);

    let code = submitted.confirmation_code.expect("a confirmation code");
    assert_eq!(d.confirm(&b, &browser, &code).await, 200, "{}", d.logs());
    assert_eq!(events.next().await["state"], "verified");
    let (status, result) = d.take_result(&b, &browser).await;
    assert_eq!(status, 200, "{}", d.logs());
    assert_eq!(result["purpose"], "link_card");
    assert!(result["card_link_id"].as_str().is_some_and(|s| !s.is_empty()));
    assert_eq!(d.take_result(&b, &browser).await.0, 409, "released once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_hundred_concurrent_redeems_on_two_instances_one_wins() {
    let d = Deployment::start().await;
    let browser = open_session(&d.http, &d.a.base, "verify_identity").await;
    let page = browser.choose(&d.http, &d.a.base, "phone").await;
    let link = Link::parse(&link_on_page(&page, "id=\"app-link\"", ">", "</pre>")).unwrap();
    // Connections opened before the race, so the requests meet at the database.
    let warm = d
        .http
        .get(format!("{}/api/openapi.json", d.b.base))
        .send()
        .await
        .unwrap();
    assert!(warm.status().is_success());
    let bases = [d.a.base.clone(), d.b.base.clone()];
    let start = Arc::new(tokio::sync::Barrier::new(100));
    let tasks: Vec<_> = (0..100)
        .map(|i| {
            let url = format!("{}/api/v1/handles/{}/redeem", bases[i % 2], link.handle);
            let body = link.redeem_request("mynaid-phone", Device::PhoneApp).body.to_string();
            let (http, start) = (d.http.clone(), start.clone());
            tokio::spawn(async move {
                start.wait().await;
                let r = http
                    .post(url)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                let status = r.status().as_u16();
                (i % 2, status, r.json::<Value>().await.unwrap())
            })
        })
        .collect();
    let mut won = Vec::new();
    let mut refused = [0usize; 2];
    for t in tasks {
        let (instance, status, body) = t.await.unwrap();
        match status {
            200 => {
                assert!(body["submission_token"].as_str().is_some_and(|t| !t.is_empty()));
                won.push(instance);
            }
            // The first refused device ends the session; the later ones find it ended.
            409 => {
                let code = body["error"]["code"].as_str();
                assert!(
                    matches!(code, Some("handle_already_used" | "session_finished")),
                    "{body}"
                );
                refused[instance] += 1;
            }
            other => panic!("redeem answered {other}: {body}\n{}", d.logs()),
        }
    }
    assert_eq!(won.len(), 1, "exactly one redeem wins");
    assert_eq!(refused[0] + refused[1], 99);
    assert!(
        refused[0] >= 49 && refused[1] >= 49,
        "both instances refused: {refused:?}"
    );
}
