//! The token endpoint (code exchange with `private_key_jwt`, ID token signing) and UserInfo,
//! requests per second and latency, side by side in one run with the OpenID-certified Node
//! provider `oidc-provider` (npm, 9.13.3) configured for the same client and claims.
//!
//! Run: `cargo bench -p mynaid-server --bench oidc` (Node.js with npm needed; the bench
//! installs `oidc-provider` from the lock file in `benches/oidc_provider/`). Knobs:
//! `OIDC_BENCH_CODES` (default 1000 codes per provider), `OIDC_BENCH_USERINFO` (default
//! 10 × codes), `OIDC_BENCH_CONCURRENCY` (default 32 requests in flight).
//!
//! mynaid's codes come from whole flows through its pages with p01's emulated card (the
//! minting is not timed); oidc-provider's from its own models (its login and consent are not
//! what is measured). Every client assertion is signed before the clock starts, for both.
//! Both servers run on this machine with the client in the same process, one after the
//! other; the aim (issue 20) is mynaid ≥ 3× oidc-provider's rate at an equal or lower p99.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/instances/mod.rs"]
mod instances;
mod load;
#[path = "../tests/oidc_support/mod.rs"]
mod support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

use instances::{Instance, free_addr, http_client};
use load::{Figures, knob, quick};
use serde_json::{Value, json};
use support::{ClientKey, Remote, browser, consent_and_read, npm_project, query_of, to_consent};
use tokio::sync::Semaphore;

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const REDIRECT: &str = "https://bench.example.jp/cb";

/// The benchmark client at mynaid (private_key_jwt, ES256), codes living 10 minutes.
fn mynaid_config(key: &ClientKey) -> String {
    let jwks = json!({ "keys": [key.jwk] }).to_string().replace('"', "\\\"");
    format!(
        r#"
[oidc]
code_ttl_secs = 600

[[oidc.clients]]
client_id = "bench"
name = "ベンチマーク"
name_en = "Benchmark"
redirect_uris = ["{REDIRECT}"]
scopes = ["name", "birthdate"]
purposes = ["link_card"]
accepted_routes = ["user_authentication", "signature"]
auth_method = "private_key_jwt"
jwks = "{jwks}"
access_token_ttl_secs = 3600
"#
    )
}

/// Codes from whole flows at mynaid (p01's card, the 4-digit route).
async fn mynaid_codes(base: &str, n: usize) -> Vec<String> {
    let site = Remote(base.to_string());
    let mut codes = Vec::with_capacity(n);
    for i in 0..n {
        let url = format!(
            "{base}/oidc/authorize?response_type=code&client_id=bench&redirect_uri={}&scope=openid+name+birthdate&state=s{i}&code_challenge={CHALLENGE}&code_challenge_method=S256",
            url::form_urlencoded::byte_serialize(REDIRECT.as_bytes()).collect::<String>()
        );
        let b = browser();
        let (consent, _) = to_consent(&site, &b, &url).await;
        let back = consent_and_read(&site, &b, &consent, "p01").await;
        codes.push(query_of(&back)["code"].clone());
    }
    codes
}

/// oidc-provider, installed in the bench's own directory; its issuer and codes.
fn start_oidc_provider(key: &ClientKey, n: usize) -> (Child, String, Vec<String>) {
    let dir = npm_project("benches/oidc_provider", "provider.mjs", "oidc-provider");
    let port = free_addr().port();
    let jwks = json!({ "keys": [key.jwk] }).to_string();
    let mut child = Command::new("node")
        .arg(dir.join("provider.mjs"))
        .args([&port.to_string(), &jwks, CHALLENGE, &n.to_string()])
        .env("NODE_ENV", "production")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("node");
    // Its notices go to standard output too: the codes are the JSON line.
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while !line.starts_with('{') {
        line.clear();
        assert!(
            out.read_line(&mut line).unwrap() > 0,
            "oidc-provider ended without its codes"
        );
    }
    let v: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("oidc-provider: {e}: {line:?}"));
    let codes = v["codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    (child, v["issuer"].as_str().unwrap().to_string(), codes)
}

/// Runs `requests` with `concurrency` in flight; each answers whether it succeeded.
async fn timed(concurrency: usize, requests: Vec<reqwest::RequestBuilder>) -> (Figures, Vec<Option<Value>>) {
    let gate = Arc::new(Semaphore::new(concurrency));
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(requests.len());
    for req in requests {
        let gate = gate.clone();
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire_owned().await.unwrap();
            let t = Instant::now();
            let r = req.send().await;
            let ok = match r {
                Ok(r) if r.status().is_success() => r.json::<Value>().await.ok(),
                _ => None,
            };
            (t.elapsed(), ok)
        }));
    }
    let mut f = Figures::new();
    let mut bodies = Vec::with_capacity(tasks.len());
    for t in tasks {
        let (latency, body) = t.await.unwrap();
        f.latencies.push(latency);
        if body.is_some() {
            f.completed += 1;
        } else {
            f.failed += 1;
        }
        bodies.push(body);
    }
    f.elapsed = start.elapsed();
    f.latencies.sort();
    (f, bodies)
}

/// Token requests for `codes` at `issuer` (assertions signed first), then UserInfo
/// `userinfo_n` times with the access tokens.
async fn measure(
    key: &ClientKey,
    issuer: &str,
    token_url: &str,
    userinfo_url: &str,
    codes: &[String],
    userinfo_n: usize,
    concurrency: usize,
) -> (Figures, Figures) {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()
        .unwrap();
    let now = chrono::Utc::now().timestamp();
    let requests = codes
        .iter()
        .enumerate()
        .map(|(i, code)| {
            let assertion = key.sign(&json!({
                "iss": "bench", "sub": "bench", "aud": issuer,
                "exp": now + 300, "iat": now, "jti": format!("bench-{now}-{i}"),
            }));
            http.post(token_url).form(&[
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
                ("client_id", "bench"),
                ("client_assertion_type", support::ASSERTION_TYPE),
                ("client_assertion", assertion.as_str()),
            ])
        })
        .collect();
    // The first request apart, untimed: a provider's first ID token may create its signing
    // key (mynaid generates RSA keys lazily, and the first one comes with the first token).
    let mut requests: Vec<reqwest::RequestBuilder> = requests;
    let first = requests.remove(0);
    let r = first.send().await.unwrap();
    let status = r.status();
    assert!(
        status.is_success(),
        "the first token request at {issuer}: {status} {}",
        r.text().await.unwrap_or_default()
    );
    let (token, bodies) = timed(concurrency, requests).await;
    let access: Vec<String> = bodies
        .iter()
        .flatten()
        .filter_map(|b| b["access_token"].as_str().map(str::to_string))
        .collect();
    assert!(!access.is_empty(), "no token request succeeded at {issuer}");
    let requests = (0..userinfo_n)
        .map(|i| http.get(userinfo_url).bearer_auth(&access[i % access.len()]))
        .collect();
    let (userinfo, _) = timed(concurrency, requests).await;
    (token, userinfo)
}

fn row(name: &str, what: &str, f: &Figures) {
    println!(
        "{name:<14} {what:<9} {:>7} ok {:>4} failed  {:>9.0}/s  p50 {:>6.2} ms  p99 {:>6.2} ms",
        f.completed,
        f.failed,
        f.rate(),
        f.percentile_ms(50),
        f.percentile_ms(99)
    );
}

async fn run() {
    let n = knob("OIDC_BENCH_CODES", if quick() { 5.0 } else { 1000.0 }) as usize;
    let userinfo_n = knob("OIDC_BENCH_USERINFO", (n * 10) as f64) as usize;
    let concurrency = knob("OIDC_BENCH_CONCURRENCY", 32.0) as usize;
    let key = ClientKey::new("rp-key-1");

    let tmp = tempfile::tempdir().unwrap();
    let listen = free_addr();
    let base = format!("http://{listen}");
    let db = format!("sqlite://{}", tmp.path().join("mynaid.db").display());
    let mut server = Instance::spawn_with(tmp.path(), "op", listen, &base, &db, &mynaid_config(&key));
    server.wait_ready(&http_client()).await;
    let minting = Instant::now();
    let codes = mynaid_codes(&base, n).await;
    eprintln!(
        "{n} mynaid codes minted through the pages in {:.1} s",
        minting.elapsed().as_secs_f64()
    );
    let (m_token, m_info) = measure(
        &key,
        &base,
        &format!("{base}/oidc/token"),
        &format!("{base}/oidc/userinfo"),
        &codes,
        userinfo_n,
        concurrency,
    )
    .await;
    server.kill();

    let (mut node, issuer, codes) = start_oidc_provider(&key, n);
    let (p_token, p_info) = measure(
        &key,
        &issuer,
        &format!("{issuer}/token"),
        &format!("{issuer}/me"),
        &codes,
        userinfo_n,
        concurrency,
    )
    .await;
    let _ = node.kill();
    let _ = node.wait();

    println!("provider       endpoint  (concurrency {concurrency})");
    row("mynaid", "token", &m_token);
    row("oidc-provider", "token", &p_token);
    row("mynaid", "userinfo", &m_info);
    row("oidc-provider", "userinfo", &p_info);
    println!(
        "ratio mynaid / oidc-provider: token {:.2}x (p99 {:.2} vs {:.2} ms), userinfo {:.2}x (p99 {:.2} vs {:.2} ms)",
        m_token.rate() / p_token.rate(),
        m_token.percentile_ms(99),
        p_token.percentile_ms(99),
        m_info.rate() / p_info.rate(),
        m_info.percentile_ms(99),
        p_info.percentile_ms(99)
    );
    assert_eq!(m_token.failed + p_token.failed, 0, "a token request failed");
    assert_eq!(m_info.failed + p_info.failed, 0, "a UserInfo request failed");
}

fn main() {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(run());
}
