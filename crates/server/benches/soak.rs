//! Soak: one `mynaid-server serve` (SQLite) under whole flows at half of its saturation for ten
//! minutes; errors and the server's resident memory over time.
//!
//! Run: `cargo bench -p mynaid-server --bench soak` (release). A flow is everything one person's
//! procedure costs the server: the relying party creates a session, the browser follows the
//! start URL and opens the procedure page, chooses the PC reader app, the reader redeems the
//! handle, p01's emulated card signs the challenge (in this process, signature route), the
//! reader submits the evidence, the relying party takes the result. First the flows run
//! closed-loop for `MYNAID_SOAK_PROBE_SECS` (default 20) to find the saturation rate of this
//! workload on this machine (the card's RSA signing shares the cores with the server); then
//! they start on a fixed schedule at half that rate for `MYNAID_SOAK_SECS` (default 600).
//! Every `MYNAID_SOAK_SAMPLE_SECS` (default 10) it prints the flows done and failed in that
//! window, their p99 latency (from the scheduled start) and the server's VmRSS and VmHWM.
//! The server runs with its defaults (rate limits off: one client address sends all),
//! `retention_secs = 120` and `purge_interval_secs = 30`, so that the purge deletes while the
//! load runs and the database reaches a steady size.
//!
//! Exit status 1 if any flow failed or if the resident memory of the last fifth of the run
//! is more than 10 % (and 8 MiB) above that of the second fifth (after warm-up).

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/instances/mod.rs"]
mod instances;
mod load;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use instances::{API_KEY, Instance, free_addr, http_client};
use load::{Card, Figures, come_back, cores, knob, quick, redeemed_offer, submit};
use mynaid_device::Route;
use reqwest::Client;

/// Cards for the blocking pool (one per thread that signs at a time).
type Cards = Arc<Mutex<Vec<Card>>>;

/// One whole flow; whether every step succeeded.
async fn flow(http: &Client, base: &str, cards: &Cards) -> bool {
    let (browser, offer) = redeemed_offer(http, base).await;
    let cards = cards.clone();
    let ready = tokio::task::spawn_blocking(move || {
        let mut card = cards
            .lock()
            .unwrap()
            .pop()
            .unwrap_or_else(|| Card::p01(Route::Signature));
        let ready = card.answer(&offer);
        cards.lock().unwrap().push(card);
        ready
    })
    .await
    .unwrap();
    let Some(submitted) = submit(http, &ready).await else {
        return false;
    };
    let Some(code) = come_back(http, base, &browser, &submitted).await else {
        return false;
    };
    let id = &browser.id;
    match http
        .get(format!("{base}/api/v1/sessions/{id}/result?code={code}"))
        .bearer_auth(API_KEY)
        .send()
        .await
    {
        Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
        Err(_) => false,
    }
}

/// (VmRSS, VmHWM) of `pid` in KiB.
fn memory(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Closed loop: `workers` flows back to back for `d`.
async fn probe(http: &Client, base: &str, cards: &Cards, workers: usize, d: Duration) -> Figures {
    let start = Instant::now();
    let tasks: Vec<_> = (0..workers)
        .map(|_| {
            let (http, base, cards) = (http.clone(), base.to_string(), cards.clone());
            tokio::spawn(async move {
                let mut f = Figures::new();
                while start.elapsed() < d {
                    let t = Instant::now();
                    if flow(&http, &base, &cards).await {
                        f.completed += 1;
                        f.latencies.push(t.elapsed());
                    } else {
                        f.failed += 1;
                    }
                }
                f
            })
        })
        .collect();
    let mut all = Figures::new();
    for t in tasks {
        let f = t.await.unwrap();
        all.completed += f.completed;
        all.failed += f.failed;
        all.latencies.extend(f.latencies);
    }
    all.elapsed = start.elapsed();
    all.latencies.sort();
    all
}

/// One sample window of the paced phase.
struct Sample {
    at: Duration,
    figures: Figures,
    rss_kib: u64,
    hwm_kib: u64,
}

/// Open loop at `rate` flows a second for `d`; a sample every `every`.
async fn paced(
    http: &Client,
    base: &str,
    cards: &Cards,
    pid: u32,
    rate: f64,
    d: Duration,
    every: Duration,
) -> Vec<Sample> {
    let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel::<Option<Duration>>();
    let start = tokio::time::Instant::now() + Duration::from_millis(20);
    let total = (rate * d.as_secs_f64()) as usize;
    let scheduler = {
        let (http, base, cards) = (http.clone(), base.to_string(), cards.clone());
        tokio::spawn(async move {
            for i in 0..total {
                let at = start + Duration::from_secs_f64(i as f64 / rate);
                tokio::time::sleep_until(at).await;
                let (http, base, cards, done) = (http.clone(), base.clone(), cards.clone(), done_tx.clone());
                tokio::spawn(async move {
                    let ok = flow(&http, &base, &cards).await;
                    let _ = done.send(ok.then(|| at.elapsed()));
                });
            }
        })
    };
    let mut samples = Vec::new();
    let mut window = Figures::new();
    let mut next = start + every;
    let mut finished = 0;
    while finished < total {
        tokio::select! {
            done = done_rx.recv() => {
                finished += 1;
                match done.flatten() {
                    Some(latency) => { window.completed += 1; window.latencies.push(latency); }
                    None => window.failed += 1,
                }
            }
            _ = tokio::time::sleep_until(next) => {
                let (rss_kib, hwm_kib) = memory(pid);
                window.elapsed = every;
                window.latencies.sort();
                samples.push(Sample { at: next - start, figures: std::mem::replace(&mut window, Figures::new()), rss_kib, hwm_kib });
                print_sample(samples.last().unwrap());
                next += every;
            }
        }
    }
    scheduler.await.unwrap();
    let (rss_kib, hwm_kib) = memory(pid);
    window.elapsed = tokio::time::Instant::now() - (next - every);
    window.latencies.sort();
    samples.push(Sample {
        at: tokio::time::Instant::now() - start,
        figures: window,
        rss_kib,
        hwm_kib,
    });
    print_sample(samples.last().unwrap());
    samples
}

fn print_sample(s: &Sample) {
    println!(
        "{:>7.0} s {:>7} {:>7.0} {:>8.1} {:>6} {:>9.1} {:>9.1}",
        s.at.as_secs_f64(),
        s.figures.completed,
        s.figures.rate(),
        s.figures.percentile_ms(99),
        s.figures.failed,
        s.rss_kib as f64 / 1024.0,
        s.hwm_kib as f64 / 1024.0
    );
}

fn main() {
    let quick = quick();
    let soak = Duration::from_secs_f64(knob("MYNAID_SOAK_SECS", if quick { 2.0 } else { 600.0 }));
    let probe_for = Duration::from_secs_f64(knob("MYNAID_SOAK_PROBE_SECS", if quick { 1.0 } else { 20.0 }));
    let every = Duration::from_secs_f64(knob("MYNAID_SOAK_SAMPLE_SECS", if quick { 0.5 } else { 10.0 }));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let http = http_client();
    let dir = tempfile::tempdir().unwrap();
    let addr = free_addr();
    let database = format!("sqlite://{}", dir.path().join("soak.db").display());
    let mut server = Instance::spawn_with(
        dir.path(),
        "soak",
        addr,
        &format!("http://{addr}"),
        &database,
        "retention_secs = 120\npurge_interval_secs = 30\n",
    );
    rt.block_on(server.wait_ready(&http));
    let pid = server.pid();
    let base = server.base.clone();
    let cards: Cards = Arc::new(Mutex::new(Vec::new()));

    println!();
    println!(
        "mynaid soak: whole flows (7 HTTP requests + the card's signature each) against one `mynaid-server serve` on SQLite; {} cores",
        cores()
    );
    let workers = 8 * cores();
    let sat = rt.block_on(probe(&http, &base, &cards, workers, probe_for));
    let rate = (sat.rate() / 2.0).max(1.0);
    println!(
        "saturation ({workers} flows at a time, {:.0} s): {:.0} flows/s, p50 {:.1} ms, p99 {:.1} ms, {} failed; soak at {rate:.0}/s for {:.0} s",
        probe_for.as_secs_f64(),
        sat.rate(),
        sat.percentile_ms(50),
        sat.percentile_ms(99),
        sat.failed,
        soak.as_secs_f64()
    );
    println!(
        "{:>9} {:>7} {:>7} {:>8} {:>6} {:>9} {:>9}",
        "at", "flows", "flows/s", "p99 ms", "failed", "RSS MiB", "HWM MiB"
    );
    let samples = rt.block_on(paced(&http, &base, &cards, pid, rate, soak, every));
    let alive = server.running();

    let done: usize = samples.iter().map(|s| s.figures.completed).sum();
    let failed: usize = samples.iter().map(|s| s.figures.failed).sum();
    let fifth = samples.len().div_ceil(5).max(1);
    let mean = |part: &[Sample]| part.iter().map(|s| s.rss_kib as f64).sum::<f64>() / part.len().max(1) as f64 / 1024.0;
    let early = mean(
        samples
            .get(fifth..(2 * fifth).min(samples.len()))
            .unwrap_or(&samples[..]),
    );
    let late = mean(&samples[samples.len().saturating_sub(fifth)..]);
    let mut all: Vec<Duration> = samples.iter().flat_map(|s| s.figures.latencies.clone()).collect();
    all.sort();
    let overall = Figures {
        completed: done,
        failed,
        elapsed: soak,
        latencies: all,
    };
    let growth = late - early;
    let flat = growth <= (early * 0.10).max(8.0);
    println!(
        "soak: {done} flows, {failed} failed, p50 {:.1} ms, p99 {:.1} ms; server RSS {early:.1} MiB (2nd fifth) → {late:.1} MiB (last fifth): {growth:+.1} MiB, {}; server {}",
        overall.percentile_ms(50),
        overall.percentile_ms(99),
        if flat { "flat" } else { "GROWING" },
        if alive { "running" } else { "DIED" }
    );
    // A short run (`cargo test --benches`) is mostly warm-up: its memory says nothing.
    if failed > 0 || !alive || (!flat && !quick) {
        std::process::exit(1);
    }
}
