//! The HTTP server against slow and many clients, over loopback with `mynaid_server::serve`:
//! slow header blocks are cut at the header timeout while a person's flow goes on, one
//! address cannot hold more than its connections, the live-status streams are capped, and a
//! shutdown ends the streams with a last event and lets a request in flight finish.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::*;
use mynaid_server::config::Config;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A server on a loopback port, its address, and the switch that stops it.
struct Running {
    addr: SocketAddr,
    base: String,
    stop: Option<oneshot::Sender<()>>,
    served: JoinHandle<std::io::Result<()>>,
}

async fn serve(tweak: impl FnOnce(&mut Config)) -> Running {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let base = format!("http://{addr}");
    let mut config = test_config(&base, "sqlite::memory:");
    tweak(&mut config);
    let s = Server::build(config, None).await;
    let (stop, stopped) = oneshot::channel::<()>();
    let served = tokio::spawn(mynaid_server::serve(s.server.clone(), listener, async move {
        let _ = stopped.await;
    }));
    Running {
        addr,
        base,
        stop: Some(stop),
        served,
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// Creates a session through the API and opens its start link: the session id and the
/// browser's cookie.
async fn session(http: &reqwest::Client, base: &str) -> (String, String) {
    let created = http
        .post(format!("{base}/api/v1/sessions"))
        .bearer_auth(API_KEY)
        .json(&json!({ "purpose": "verify_identity", "return_url": RETURN_URL }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), reqwest::StatusCode::CREATED);
    let created: Value = created.json().await.unwrap();
    let id = created["session_id"].as_str().unwrap().to_string();
    let r = http.get(created["browser_url"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::SEE_OTHER);
    let cookie = cookie_pair(r.headers()["set-cookie"].to_str().unwrap());
    (id, cookie)
}

/// The resident memory of this process (the server runs in it), in KiB.
fn vm_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Reads into `got` until `needle` is in it (true) or the connection ends or `wait` passes
/// (false).
async fn read_until(stream: &mut TcpStream, got: &mut String, needle: &str, wait: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + wait;
    let mut buf = [0u8; 4096];
    loop {
        if got.contains(needle) {
            return true;
        }
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => return false,
            Ok(Ok(n)) => got.push_str(&String::from_utf8_lossy(&buf[..n])),
        }
    }
}

/// Sends a request and reads its answer's head: the status line and headers (and whatever
/// came with them).
async fn ask(stream: &mut TcpStream, request: &str) -> String {
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut got = String::new();
    read_until(stream, &mut got, "\r\n\r\n", Duration::from_secs(5)).await;
    got
}

/// Whether the server closes the connection (EOF or reset) within `wait`.
async fn closed_within(stream: &mut TcpStream, wait: Duration) -> bool {
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout(wait, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
}

/// Opens a live-status stream over a raw connection; answers the stream and what was read
/// (the status line, the headers, maybe the first event).
async fn open_events(addr: SocketAddr, id: &str, cookie: &str) -> (TcpStream, String) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let req =
        format!("GET /s/{id}/events HTTP/1.1\r\nHost: {addr}\r\nCookie: {cookie}\r\nAccept: text/event-stream\r\n\r\n");
    let head = ask(&mut stream, &req).await;
    (stream, head)
}

fn get(addr: SocketAddr, path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_header_blocks_are_cut_off_while_a_person_s_flow_goes_on() {
    const SLOW: usize = 2_000;
    let header_timeout = Duration::from_secs(2);
    let rss_before = vm_rss_kib();
    let mut running = serve(|c| {
        c.http.header_read_timeout_secs = header_timeout.as_secs();
        c.http.max_connections_per_address = 10_000;
    })
    .await;
    let addr = running.addr;

    // Slowloris: each connection sends one byte of a header block a second.
    let opened = Instant::now();
    let mut slow = Vec::with_capacity(SLOW);
    for _ in 0..SLOW {
        slow.push(TcpStream::connect(addr).await.unwrap());
    }
    let connected = opened.elapsed();
    let dribblers: Vec<JoinHandle<Option<Duration>>> = slow
        .into_iter()
        .map(|mut stream| {
            tokio::spawn(async move {
                let request = b"GET / HTTP/1.1\r\nHost: example\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
                let mut buf = [0u8; 64];
                for byte in request.iter().cycle().take(12) {
                    if stream.write_all(&[*byte]).await.is_err() {
                        return Some(opened.elapsed());
                    }
                    match tokio::time::timeout(Duration::from_secs(1), stream.read(&mut buf)).await {
                        Ok(Ok(0)) | Ok(Err(_)) => return Some(opened.elapsed()),
                        Ok(Ok(_)) => return None, // an answer to an incomplete request: wrong
                        Err(_) => {}
                    }
                }
                None
            })
        })
        .collect();

    // Meanwhile a person's flow: the relying party creates a session, the browser opens the
    // start link and the procedure page.
    let flow = Instant::now();
    let http = client();
    let (id, cookie) = session(&http, &running.base).await;
    let page = http
        .get(format!("{}/s/{id}", running.base))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), reqwest::StatusCode::OK);
    assert!(page.text().await.unwrap().contains(&format!("/s/{id}/pc")));
    let flow = flow.elapsed();
    let rss_open = vm_rss_kib();

    let mut cut = Vec::with_capacity(SLOW);
    for d in dribblers {
        cut.push(d.await.unwrap().expect("the server closed the slow connection"));
    }
    cut.sort();
    let (first, last) = (cut[0], cut[SLOW - 1]);
    let rss_after = vm_rss_kib();
    eprintln!(
        "{SLOW} slow connections opened in {connected:?}; flow in {flow:?}; closed by the server between \
         {first:?} and {last:?} after the first connect; VmRSS {rss_before} KiB before, {rss_open} KiB with \
         all open, {rss_after} KiB after"
    );
    assert!(flow < Duration::from_secs(3), "the flow took {flow:?}");
    // Cut at the timeout from each one's accept (not earlier: they were sending), all within
    // a few seconds of it.
    assert!(first >= header_timeout - Duration::from_millis(200), "{first:?}");
    assert!(last <= connected + header_timeout + Duration::from_secs(3), "{last:?}");
    assert!(
        rss_open.saturating_sub(rss_before) < 200 * 1024,
        "{rss_before} → {rss_open} KiB"
    );

    // The server still serves.
    let r = http
        .get(format!("{}/static/session.js", running.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::OK);
    running.stop.take().unwrap().send(()).unwrap();
    running.served.await.unwrap().unwrap();
}

#[tokio::test]
async fn one_address_cannot_hold_more_connections_than_its_cap() {
    let running = serve(|c| {
        c.http.max_connections_per_address = 4;
        c.http.header_read_timeout_secs = 10;
    })
    .await;
    let addr = running.addr;
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(TcpStream::connect(addr).await.unwrap());
    }
    // Let the server accept them, in order.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut fifth = TcpStream::connect(addr).await.unwrap();
    assert!(
        closed_within(&mut fifth, Duration::from_secs(2)).await,
        "a fifth connection from 127.0.0.1 must be closed at once (the header timeout is 10 s)"
    );

    // Another address is served meanwhile.
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.2:0".parse().unwrap()).unwrap();
    let mut other = socket.connect(addr).await.unwrap();
    let head = ask(&mut other, &get(addr, "/static/session.js")).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");

    // The four held ones are served, and a place freed is taken again.
    let head = ask(&mut held[0], &get(addr, "/static/session.js")).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    held.pop();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut again = TcpStream::connect(addr).await.unwrap();
    let head = ask(&mut again, &get(addr, "/static/session.js")).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
}

#[tokio::test]
async fn live_status_streams_above_the_caps_are_refused() {
    let running = serve(|c| {
        c.http.sse_per_session = 2;
        c.http.sse_per_address = 3;
    })
    .await;
    let http = client();
    let (a, cookie_a) = session(&http, &running.base).await;
    let (b, cookie_b) = session(&http, &running.base).await;
    let (mut first, mut first_read) = open_events(running.addr, &a, &cookie_a).await;
    let head = first_read.clone();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let (_second, head) = open_events(running.addr, &a, &cookie_a).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    // A third for the same session.
    let (mut third, mut body) = open_events(running.addr, &a, &cookie_a).await;
    assert!(body.starts_with("HTTP/1.1 429"), "{body}");
    assert!(body.to_ascii_lowercase().contains("retry-after: 5"), "{body}");
    read_until(&mut third, &mut body, "}}}", Duration::from_secs(5)).await;
    assert!(body.contains(r#""code":"rate_limited""#), "{body}");
    // Another session's from the same address: one more fits, then the address is full.
    let (_b1, head) = open_events(running.addr, &b, &cookie_b).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let (_, head) = open_events(running.addr, &b, &cookie_b).await;
    assert!(head.starts_with("HTTP/1.1 429"), "{head}");

    // A stream whose client went gives its places back (a reloaded page gets its stream).
    assert!(
        read_until(
            &mut first,
            &mut first_read,
            r#"{"state":"waiting"}"#,
            Duration::from_secs(5)
        )
        .await
    );
    drop(first);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (_stream, head) = open_events(running.addr, &a, &cookie_a).await;
        if head.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the closed stream's place was not given back: {head}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_shutdown_ends_the_streams_with_a_last_event_and_finishes_requests_in_flight() {
    let mut running = serve(|c| {
        // Shorter than the wait below: the stream must outlive the request timeout.
        c.http.request_timeout_secs = 1;
        c.http.shutdown_grace_secs = 10;
    })
    .await;
    let addr = running.addr;
    let http = client();
    let (id, cookie) = session(&http, &running.base).await;
    let (mut events, mut read) = open_events(addr, &id, &cookie).await;
    assert!(read.starts_with("HTTP/1.1 200"), "{read}");
    assert!(read_until(&mut events, &mut read, r#"{"state":"waiting"}"#, Duration::from_secs(5)).await);
    tokio::time::sleep(Duration::from_millis(1_500)).await;

    // A request in flight: its body half sent when the shutdown begins.
    let body = json!({ "purpose": "verify_identity", "return_url": RETURN_URL }).to_string();
    let (part1, part2) = body.split_at(body.len() / 2);
    let mut in_flight = TcpStream::connect(addr).await.unwrap();
    in_flight
        .write_all(
            format!(
                "POST /api/v1/sessions HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {API_KEY}\r\n\
                 Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{part1}",
                body.len()
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let stopping = Instant::now();
    running.stop.take().unwrap().send(()).unwrap();

    // The stream: a last event, then its end.
    let got = read_until(
        &mut events,
        &mut read,
        r#"data: {"state":"reconnect"}"#,
        Duration::from_secs(3),
    )
    .await;
    assert!(got, "no reconnect event: {read}");
    assert!(closed_within(&mut events, Duration::from_secs(3)).await);

    // No new connection is accepted.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(TcpStream::connect(addr).await.is_err());

    // The request in flight finishes.
    in_flight.write_all(part2.as_bytes()).await.unwrap();
    let mut answer = String::new();
    let got = read_until(&mut in_flight, &mut answer, "browser_url", Duration::from_secs(5)).await;
    assert!(got && answer.starts_with("HTTP/1.1 201"), "{answer}");
    assert!(answer.to_ascii_lowercase().contains("connection: close"), "{answer}");

    // And the server is done, well before the grace would end.
    tokio::time::timeout(Duration::from_secs(5), &mut running.served)
        .await
        .expect("serve returned")
        .unwrap()
        .unwrap();
    assert!(stopping.elapsed() < Duration::from_secs(5), "{:?}", stopping.elapsed());
}
