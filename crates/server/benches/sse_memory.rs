//! Resident memory of a server with many PC pages waiting on their SSE streams.
//!
//! Run: `cargo bench -p mynaid-server --bench sse_memory` (`BENCH_WAITING`, default 10000).
//! The bench starts itself a second time as the server (so the server's memory is measured
//! alone, without the client's), creates the sessions through the API, opens each
//! session's pattern 2 page (QR code and handle) with its own browser cookie, then holds one
//! SSE stream per session open and reads the server's VmRSS / VmHWM from `/proc`. Needs
//! about 2 × BENCH_WAITING file descriptors in all (`ulimit -n`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/common/mod.rs"]
#[allow(missing_docs)]
mod common;
// The notify bench reads the page's HTML; this one only holds the stream.
#[allow(dead_code)]
mod pc_page;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use pc_page::Waiting;
use reqwest::{Client, redirect};

const SERVER_ROLE: &str = "MYNAID_BENCH_SSE_SERVER";

fn main() {
    if let Ok(db) = std::env::var(SERVER_ROLE) {
        return server(&db);
    }
    let waiting: usize = std::env::var("BENCH_WAITING")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .env(SERVER_ROLE, dir.path().join("db"))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .trim()
        .strip_prefix("listening ")
        .expect("the server's address")
        .to_string();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.block_on(client(&base, &child, waiting))
    }));
    let _ = child.kill();
    let _ = child.wait();
    if let Err(e) = outcome {
        std::panic::resume_unwind(e);
    }
}

/// The server half: SQLite in a file, the tests' configuration, serves until killed.
fn server(db: &str) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!("listening http://{}", listener.local_addr().unwrap());
        pc_page::serve(listener, std::path::Path::new(db)).await.unwrap();
    });
}

fn memory_kib(child: &Child) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

async fn client(base: &str, child: &Child, waiting: usize) {
    let http = Client::builder()
        .redirect(redirect::Policy::none())
        .pool_max_idle_per_host(64)
        .build()
        .unwrap();
    // Warm up: allocator arenas, the verifier, the SQLite pool.
    for _ in 0..50 {
        drop(Waiting::open(&http, base).await);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (idle, _) = memory_kib(child);
    let started = Instant::now();
    let http = Arc::new(http);
    let base: Arc<str> = base.into();
    let streams: Vec<Waiting> = futures_util::stream::iter(0..waiting)
        .map(|_| {
            let (http, base) = (http.clone(), base.clone());
            async move { Waiting::open(&http, &base).await }
        })
        .buffer_unordered(64)
        .collect()
        .await;
    let setup = started.elapsed();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (rss, hwm) = memory_kib(child);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (rss_later, _) = memory_kib(child);
    let mib = |k: u64| k as f64 / 1024.0;
    println!("SSE waiting sessions: server resident memory (separate process, SQLite file)");
    println!("  after warm-up, no stream open:     {:>7.1} MiB", mib(idle));
    println!(
        "  {} streams open (set up in {:.1} s): {:>7.1} MiB (peak {:.1} MiB)",
        streams.len(),
        setup.as_secs_f64(),
        mib(rss),
        mib(hwm)
    );
    println!("  the same, 3 s later:               {:>7.1} MiB", mib(rss_later));
    println!(
        "  per waiting session:               {:>7.1} KiB",
        rss.saturating_sub(idle) as f64 / streams.len() as f64
    );
    // What part of that is the HTTP connection alone: close the streams, then hold as many
    // plain keep-alive connections open, each after one small request.
    let n = streams.len();
    drop(streams);
    // The server sees a closed stream when its next keep-alive comment (every 15 s) fails.
    tokio::time::sleep(Duration::from_secs(20)).await;
    let (closed, _) = memory_kib(child);
    println!("  all streams closed, 20 s later:    {:>7.1} MiB", mib(closed));
    let addr = base.strip_prefix("http://").unwrap_or(&base).to_string();
    let connections: Vec<tokio::net::TcpStream> = futures_util::stream::iter(0..n)
        .map(|_| idle_connection(addr.clone()))
        .buffer_unordered(64)
        .collect()
        .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (held, _) = memory_kib(child);
    println!(
        "  {} idle keep-alive connections:  {:>7.1} MiB, {:.1} KiB each over the closed state",
        connections.len(),
        mib(held),
        held.saturating_sub(closed) as f64 / connections.len() as f64
    );
}

/// A keep-alive HTTP/1.1 connection that made one small request (a 404) and is left open.
async fn idle_connection(addr: String) -> tokio::net::TcpStream {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut c = tokio::net::TcpStream::connect(&addr).await.unwrap();
    c.write_all(b"GET /nothing-here HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    // Headers, then the announced body.
    loop {
        let n = c.read(&mut buf).await.unwrap();
        assert!(n > 0, "the server closed the connection");
        answer.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&answer);
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length: usize = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().to_string())
                })
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            if body.len() >= length {
                return c;
            }
        }
    }
}
