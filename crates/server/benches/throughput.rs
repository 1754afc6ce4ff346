//! Server throughput: completed evidence submissions a second over HTTP, next to the bare
//! RSA verify rate they are made of.
//!
//! Run: `cargo bench -p mynaid-server --bench throughput` (release). One run measures
//!
//! * (a) aws-lc-rs RSA-2048 PKCS#1 v1.5 SHA-256 verifications a second (public key parsed on
//!   every call, as the verifier does), on one thread and on every core;
//! * (b) one `mynaid-server serve` on SQLite: submissions a second at saturation (closed loop, many
//!   connections) on the signature route and on the input-support route, with p50/p99
//!   latency, and the p99 at half the saturation rate (open loop: requests start on a fixed
//!   schedule and latency counts from the scheduled start, so a stalled server cannot hide
//!   its queue);
//! * (c) the signature route on one and on two `mynaid-server serve` on a fresh PostgreSQL database
//!   (`MYNAID_TEST_POSTGRES`, see `scripts/lib/postgres.sh`); skipped if none answers;
//! * (d) end-to-end submissions a second over the crypto-only rate (the all-core verify rate
//!   over the two RSA verifications of a signature-route submission).
//!
//! The evidence is real: before each timed phase the sessions are created over HTTP (the
//! relying party, the browser's start, the procedure page, "PC and IC card reader"), their
//! handles redeemed, and p01's emulated card signs every session's challenge in process, on
//! every core; the timed phase then only submits. The client runs in this process (reqwest,
//! `MYNAID_BENCH_CONNECTIONS` connections) on the same machine as the server.
//!
//! Knobs: `MYNAID_BENCH_SESSIONS` (sessions for each saturation phase, default 3000),
//! `MYNAID_BENCH_SECS` (longest timed phase and half-load duration, default 2),
//! `MYNAID_BENCH_CONNECTIONS` (default 64). Without `--bench` (`cargo test --benches`) it runs
//! a few sessions only.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/instances/mod.rs"]
mod instances;
mod load;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{KeyPair, RSA_PKCS1_SHA256, RsaKeyPair};
use instances::{FreshDatabase, Instance, free_addr, http_client};
use load::{Card, Figures, Ready, cores, knob, redeemed_offer, submit};
use mynaid_device::{Offer, Route};
use reqwest::Client;
use tokio::runtime::Runtime;

struct Knobs {
    sessions: usize,
    secs: f64,
    connections: usize,
    quick: bool,
}

impl Knobs {
    fn from_env() -> Knobs {
        let quick = load::quick();
        Knobs {
            sessions: knob("MYNAID_BENCH_SESSIONS", if quick { 40.0 } else { 3000.0 }) as usize,
            secs: knob("MYNAID_BENCH_SECS", if quick { 0.2 } else { 2.0 }),
            connections: knob("MYNAID_BENCH_CONNECTIONS", 64.0) as usize,
            quick,
        }
    }
}

/// (a) Bare verifications a second on `threads` threads for `d`.
fn rsa_rate(threads: usize, d: Duration) -> f64 {
    let key = RsaKeyPair::generate(KeySize::Rsa2048).expect("RSA key");
    let public = key.public_key().as_ref().to_vec();
    let message = b"mynaid throughput: a 32-byte-ish to-be-signed value".to_vec();
    let mut signature = vec![0u8; key.public_modulus_len()];
    key.sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), &message, &mut signature)
        .expect("sign");
    let start = Instant::now();
    let total: u64 = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut n = 0u64;
                    while start.elapsed() < d {
                        for _ in 0..16 {
                            assert!(mynaid_evidence::bench_verify(
                                std::hint::black_box(&public),
                                std::hint::black_box(&message),
                                std::hint::black_box(&signature),
                            ));
                        }
                        n += 16;
                    }
                    n
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).sum()
    });
    total as f64 / start.elapsed().as_secs_f64()
}

/// Runs `count` jobs on `workers` tasks; `job(i)` for every `i` once.
async fn on_tasks<T, F, Fut>(count: usize, workers: usize, job: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = T> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let job = Arc::new(job);
    let tasks: Vec<_> = (0..workers.min(count).max(1))
        .map(|_| {
            let (next, job) = (next.clone(), job.clone());
            tokio::spawn(async move {
                let mut out = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= count {
                        return out;
                    }
                    out.push((i, job(i).await));
                }
            })
        })
        .collect();
    let mut all = Vec::with_capacity(count);
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.sort_by_key(|(i, _)| *i);
    all.into_iter().map(|(_, v)| v).collect()
}

/// Sessions on `base`, each chosen for the PC reader app and redeemed: the offers.
async fn redeemed_offers(http: &Client, base: &str, count: usize) -> Vec<Offer> {
    let (http, base) = (http.clone(), base.to_string());
    on_tasks(count, 32, move |_| {
        let (http, base) = (http.clone(), base.clone());
        async move { redeemed_offer(&http, &base).await.1 }
    })
    .await
}

/// p01's emulated card signs every offer (a card per core).
fn sign_all(offers: &[Offer], credential: Route) -> Vec<Ready> {
    let chunk = offers.len().div_ceil(cores()).max(1);
    std::thread::scope(|s| {
        let workers: Vec<_> = offers
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || {
                    let mut card = Card::p01(credential);
                    part.iter().map(|offer| card.answer(offer)).collect::<Vec<_>>()
                })
            })
            .collect();
        workers.into_iter().flat_map(|w| w.join().unwrap()).collect()
    })
}

/// Prepares `count` submissions on `base` (sessions over HTTP, then the card); prints how long.
fn prepare(rt: &Runtime, http: &Client, base: &str, count: usize, credential: Route) -> Vec<Ready> {
    let t = Instant::now();
    let offers = rt.block_on(redeemed_offers(http, base, count));
    let sessions = t.elapsed();
    let ready = sign_all(&offers, credential);
    eprintln!(
        "  prepared {count} {} submissions: sessions {:.1} s, card {:.1} s",
        credential.as_str(),
        sessions.as_secs_f64(),
        (t.elapsed() - sessions).as_secs_f64()
    );
    ready
}

/// Closed loop: `connections` clients send back to back until the submissions run out or
/// `limit` passes.
async fn saturate(http: &Client, ready: Vec<Ready>, connections: usize, limit: Duration) -> Figures {
    let ready = Arc::new(ready);
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let tasks: Vec<_> = (0..connections)
        .map(|_| {
            let (http, ready, next) = (http.clone(), ready.clone(), next.clone());
            tokio::spawn(async move {
                let (mut ok, mut failed, mut latencies) = (0, 0, Vec::new());
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= ready.len() || start.elapsed() >= limit {
                        return (ok, failed, latencies);
                    }
                    let t = Instant::now();
                    if submit(&http, &ready[i]).await.is_some() {
                        ok += 1;
                        latencies.push(t.elapsed());
                    } else {
                        failed += 1;
                    }
                }
            })
        })
        .collect();
    let mut f = Figures::new();
    for t in tasks {
        let (ok, failed, latencies) = t.await.unwrap();
        f.completed += ok;
        f.failed += failed;
        f.latencies.extend(latencies);
    }
    f.elapsed = start.elapsed();
    f.latencies.sort();
    f
}

/// Open loop: submission `i` starts at `i / rate` seconds whatever happened before; its
/// latency counts from then.
async fn paced(http: &Client, ready: Vec<Ready>, rate: f64) -> Figures {
    let start = tokio::time::Instant::now() + Duration::from_millis(20);
    let mut tasks = Vec::with_capacity(ready.len());
    for (i, r) in ready.into_iter().enumerate() {
        let at = start + Duration::from_secs_f64(i as f64 / rate);
        tokio::time::sleep_until(at).await;
        let http = http.clone();
        tasks.push(tokio::spawn(async move {
            let ok = submit(&http, &r).await.is_some();
            (ok, at.elapsed())
        }));
    }
    let mut f = Figures::new();
    for t in tasks {
        let (ok, latency) = t.await.unwrap();
        if ok {
            f.completed += 1;
            f.latencies.push(latency);
        } else {
            f.failed += 1;
        }
    }
    f.elapsed = start.elapsed();
    f.latencies.sort();
    f
}

fn row(name: &str, f: &Figures) {
    println!(
        "{name:<44} {:>7} {:>9.0} {:>8.2} {:>8.2} {:>6}",
        f.completed,
        f.rate(),
        f.percentile_ms(50),
        f.percentile_ms(99),
        f.failed
    );
}

/// CPU seconds a process used so far.
#[derive(Clone, Copy)]
struct Cpu {
    user: f64,
    system: f64,
}

impl Cpu {
    fn total(self) -> f64 {
        self.user + self.system
    }
}

impl std::ops::Sub for Cpu {
    type Output = Cpu;
    fn sub(self, o: Cpu) -> Cpu {
        Cpu {
            user: self.user - o.user,
            system: self.system - o.system,
        }
    }
}

/// utime and stime of `pid` (fields 14 and 15 of /proc/PID/stat, in clock ticks of 1/100 s
/// on Linux).
fn cpu_ticks(pid: u32) -> Cpu {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The command name (field 2) may contain spaces: count from after its closing parenthesis.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let field = |n: usize| {
        rest.split_whitespace()
            .nth(n)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
            / 100.0
    };
    Cpu {
        user: field(11),
        system: field(12),
    }
}

/// Starts instances on `database_url` (each its own public URL) and waits for them.
fn start_instances(rt: &Runtime, http: &Client, dir: &std::path::Path, n: usize, database_url: &str) -> Vec<Instance> {
    let mut all: Vec<Instance> = (0..n)
        .map(|i| {
            let addr = free_addr();
            Instance::spawn(dir, &format!("i{i}"), addr, &format!("http://{addr}"), database_url)
        })
        .collect();
    for i in &mut all {
        rt.block_on(i.wait_ready(http));
    }
    all
}

/// Spreads prepared submissions (all made on `instances[0]`) over every instance, in turn.
fn spread(mut ready: Vec<Ready>, instances: &[Instance]) -> Vec<Ready> {
    for (i, r) in ready.iter_mut().enumerate() {
        let to = &instances[i % instances.len()].base;
        if let Some(rest) = r.url.strip_prefix(&instances[0].base) {
            r.url = format!("{to}{rest}");
        }
    }
    ready
}

fn main() {
    let k = Knobs::from_env();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let http = http_client();
    let dir = tempfile::tempdir().unwrap();
    let limit = Duration::from_secs_f64(k.secs.max(0.1) * 2.0);

    // (a) crypto only.
    let d = Duration::from_secs_f64(if k.quick { 0.1 } else { 1.5 });
    let rsa_1 = rsa_rate(1, d);
    let rsa_all = rsa_rate(cores(), d);

    println!();
    println!(
        "mynaid throughput: client (this process, reqwest, {} connections) and server (`mynaid-server serve`) share one machine: {} cores ({})",
        k.connections,
        cores(),
        std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|c| c.lines().find(|l| l.starts_with("model name")).map(|l| l
                .split(':')
                .nth(1)
                .unwrap_or("")
                .trim()
                .to_string()))
            .unwrap_or_default()
    );
    println!(
        "loopback HTTP/1.1; p01's emulated card; PC-reader sessions (evidence verified and stored; the return to the browser is not timed)"
    );
    println!();
    println!(
        "(a) RSA-2048 PKCS#1 v1.5 SHA-256 verify, aws-lc-rs: {rsa_1:.0}/s on 1 thread, {rsa_all:.0}/s on {} threads",
        cores()
    );
    println!();
    println!(
        "{:<44} {:>7} {:>9} {:>8} {:>8} {:>6}",
        "case", "done", "subm/s", "p50 ms", "p99 ms", "failed"
    );

    // (b) SQLite.
    let sqlite = format!("sqlite://{}", dir.path().join("bench.db").display());
    let instances = start_instances(&rt, &http, dir.path(), 1, &sqlite);
    let base = instances[0].base.clone();
    let ready = prepare(&rt, &http, &base, k.sessions, Route::Signature);
    let (cpu, client_cpu) = (cpu_ticks(instances[0].pid()), cpu_ticks(std::process::id()));
    let sig = rt.block_on(saturate(&http, ready, k.connections, limit));
    let used = cpu_ticks(instances[0].pid()) - cpu;
    let client_used = cpu_ticks(std::process::id()) - client_cpu;
    row("(b) SQLite, signature, saturation", &sig);
    // Less noisy than the rate on a shared machine: what the server spent per submission.
    let per = |seconds: f64| seconds * 1e6 / sig.completed.max(1) as f64;
    println!(
        "{:<44} server CPU {:.0} µs/submission (user {:.0}, system {:.0})",
        "",
        per(used.total()),
        per(used.user),
        per(used.system)
    );
    // The client shares the cores: what it spends bounds the rate whatever the server does.
    println!(
        "{:<44} client CPU {:.0} µs/submission (user {:.0}, system {:.0})",
        "",
        per(client_used.total()),
        per(client_used.user),
        per(client_used.system)
    );
    let half_rate = sig.rate() / 2.0;
    let half_count = ((half_rate * k.secs) as usize).max(10);
    let ready = prepare(&rt, &http, &base, half_count, Route::Signature);
    let half = rt.block_on(paced(&http, ready, half_rate));
    row(&format!("(b) SQLite, signature, paced at {half_rate:.0}/s"), &half);
    let ready = prepare(&rt, &http, &base, k.sessions / 2, Route::UserAuthentication);
    let input_support = rt.block_on(saturate(&http, ready, k.connections, limit));
    row("(b) SQLite, input support, saturation", &input_support);
    drop(instances);

    // (c) PostgreSQL, one and two instances.
    let pg = std::panic::catch_unwind(FreshDatabase::create).ok();
    let mut pg_rates = Vec::new();
    match &pg {
        Some(db) => {
            for n in [1, 2] {
                let instances = start_instances(&rt, &http, dir.path(), n, &db.url);
                let ready = prepare(&rt, &http, &instances[0].base, k.sessions, Route::Signature);
                let f = rt.block_on(saturate(&http, spread(ready, &instances), k.connections, limit));
                row(&format!("(c) PostgreSQL, signature, {n} instance(s)"), &f);
                pg_rates.push(f.rate());
            }
        }
        None => println!("(c) PostgreSQL: skipped (no server at MYNAID_TEST_POSTGRES or 127.0.0.1:5432)"),
    }

    // (d) Against the crypto alone.
    let crypto_only = rsa_all / 2.0;
    println!();
    println!(
        "(c) signature route, submissions/s: SQLite 1 instance {:.0}; PostgreSQL 1 instance {}; 2 instances {}",
        sig.rate(),
        pg_rates.first().map_or("-".into(), |r| format!("{r:.0}")),
        pg_rates.get(1).map_or("-".into(), |r| format!("{r:.0}"))
    );
    println!(
        "(d) end-to-end / crypto-only (signature route, 2 RSA verifies each: {crypto_only:.0}/s on {} cores): {:.0}%",
        cores(),
        100.0 * sig.rate() / crypto_only
    );
    println!(
        "    p99 at half load (SQLite, signature): {:.2} ms",
        half.percentile_ms(99)
    );
    drop(pg);
}
