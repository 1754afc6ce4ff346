//! A relying party built on an OpenID-certified library, used as shipped: `oauth4webapi`
//! (npm; certified for Basic RP and FAPI 2.0) against a real `mynaid-server serve`, with the
//! person's browser driven through mynaid's pages (consent, procedure page, PC reader) and the
//! emulated card read by the device core, as the reader app does. The library checks what a
//! careful relying party checks — discovery, `state` and RFC 9207 `iss` on the callback, the
//! ID token's signature, `iss`, `aud`, `exp`, `iat` and `nonce`, UserInfo's `sub` — so a
//! provider that strays from the specifications fails here (an assertion lifetime the
//! library's defaults exceed, say). One run per token endpoint authentication method:
//! `client_secret_basic`, `client_secret_post`, `private_key_jwt`; and a FAPI 2.0 client
//! (pushed authorization request, DPoP-bound tokens, PS256 ID token).
//!
//! Needs Node.js with npm (the machine has them; the test installs `oauth4webapi` from the
//! lock file in `tests/certified_rp/` into its own directory).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "instances/mod.rs"]
mod instances;
#[path = "oidc_support/mod.rs"]
mod support;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use instances::{Instance, free_addr, http_client};
use serde_json::Value;
use support::{ClientKey, Remote, browser, consent_and_read, npm_project, to_consent};

const BASIC_SECRET: &str = "certified-rp-basic-secret-0123456789abcdef";
const POST_SECRET: &str = "certified-rp-post-secret-0123456789abcdef";

/// The three clients, one per authentication method, each with its own redirect URI.
fn clients_toml(key: &ClientKey) -> String {
    let client = |id: &str, method: &str, extra: &str| {
        format!(
            r#"
[[oidc.clients]]
client_id = "{id}"
name = "認定ライブラリのRP（{method}）"
name_en = "Certified-library RP ({method})"
redirect_uris = ["https://{id}.example.jp/cb"]
scopes = ["name", "birthdate"]
purposes = ["link_card"]
accepted_routes = ["user_authentication", "signature"]
auth_method = "{method}"
{extra}
"#
        )
    };
    let jwks = serde_json::json!({ "keys": [key.jwk] })
        .to_string()
        .replace('"', "\\\"");
    [
        client(
            "rp-basic",
            "client_secret_basic",
            &format!("client_secret = \"{BASIC_SECRET}\""),
        ),
        client(
            "rp-post",
            "client_secret_post",
            &format!("client_secret = \"{POST_SECRET}\""),
        ),
        client("rp-jwt", "private_key_jwt", &format!("jwks = \"{jwks}\"")),
        client(
            "rp-fapi",
            "private_key_jwt",
            &format!("jwks = \"{jwks}\"\nprofile = \"fapi2\""),
        ),
    ]
    .concat()
}

/// The directory holding the RP script with `oauth4webapi` installed from the lock file.
fn rp_dir() -> PathBuf {
    npm_project("tests/certified_rp", "rp.mjs", "oauth4webapi")
}

/// One whole flow: the library's authorization URL, the person through the pages with p01's
/// card, the callback back to the library; its verdict.
async fn flow(base: &str, dir: &Path, client_id: &str, method: &str, secret: &str) -> Value {
    let redirect = format!("https://{client_id}.example.jp/cb");
    let mut rp = Command::new("node")
        .arg(dir.join("rp.mjs"))
        .args([base, client_id, method, secret, &redirect, "openid name birthdate"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node");
    let mut out = BufReader::new(rp.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let first: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{method}: {e}: {line:?}"));
    let url = first["authorization_url"]
        .as_str()
        .unwrap_or_else(|| panic!("{method}: {first}"))
        .to_string();

    let site = Remote(base.to_string());
    let b = browser();
    let (consent, _) = to_consent(&site, &b, &url).await;
    let callback = consent_and_read(&site, &b, &consent, "p01").await;
    assert!(callback.starts_with(&redirect), "{callback}");
    writeln!(rp.stdin.take().unwrap(), "{callback}").unwrap();

    line.clear();
    out.read_line(&mut line).unwrap();
    let status = rp.wait().unwrap();
    let verdict: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{method}: {e}: {line:?}"));
    assert!(status.success(), "{method}: the library refused: {verdict}");
    verdict
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oauth4webapi_runs_the_code_flow_with_each_client_authentication_and_fapi2() {
    let dir = rp_dir();
    let tmp = tempfile::tempdir().unwrap();
    let key = ClientKey::new("rp-key-1");
    let listen = free_addr();
    let base = format!("http://{listen}");
    let db = format!("sqlite://{}", tmp.path().join("mynaid.db").display());
    let mut server = Instance::spawn_with(tmp.path(), "op", listen, &base, &db, &clients_toml(&key));
    server.wait_ready(&http_client()).await;

    let p = mynaid_testkit::person("p01");
    let pkcs8 = STANDARD.encode(&key.pkcs8);
    let mut subs = Vec::new();
    for (client_id, method, secret) in [
        ("rp-basic", "client_secret_basic", BASIC_SECRET),
        ("rp-post", "client_secret_post", POST_SECRET),
        ("rp-jwt", "private_key_jwt", pkcs8.as_str()),
        ("rp-fapi", "fapi2", pkcs8.as_str()),
    ] {
        let v = flow(&base, &dir, client_id, method, secret).await;
        let id = &v["id_token"];
        assert_eq!(id["iss"], base, "{method}: {v}");
        assert_eq!(id["aud"], client_id, "{method}: {v}");
        assert_eq!(
            id["acr"],
            mynaid_protocol::ACR_JPKI_USER_AUTHENTICATION,
            "{method}: {v}"
        );
        assert_eq!(v["userinfo"]["name"], p.name.as_str(), "{method}: {v}");
        assert_eq!(v["userinfo"]["birthdate"], p.birthdate.as_str(), "{method}: {v}");
        assert!(v["userinfo"].get("address").is_none(), "not asked for: {v}");
        // The FAPI 2.0 client's tokens are bound to its DPoP key (the library checked the
        // PS256 ID token and sent proofs; a Bearer use is refused: oidc_fapi.rs).
        let bound = if method == "fapi2" { "dpop" } else { "bearer" };
        assert_eq!(
            v["token_type"].as_str().map(str::to_ascii_lowercase).as_deref(),
            Some(bound),
            "{v}"
        );
        subs.push(id["sub"].as_str().unwrap().to_string());
    }
    // Pairwise: the same card has a different sub at each client.
    subs.sort();
    subs.dedup();
    assert_eq!(subs.len(), 4, "{subs:?}");
    server.kill();
}
