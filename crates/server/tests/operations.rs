//! docs/operations.md's example configuration is a working one: it parses (every key known),
//! and with the parts that name the operator's machines replaced by the test's own (the
//! database, the trust files, the two secrets, the client's keys) the server starts with it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "oidc_support/mod.rs"]
mod support;

use mynaid_server::config::{Config, LogFormat, TrustConfig};

/// The first ```toml block of docs/operations.md.
fn example() -> String {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/operations.md")).unwrap();
    let start = doc.find("```toml\n").expect("a toml block") + "```toml\n".len();
    doc[start..start + doc[start..].find("```").unwrap()].to_string()
}

#[tokio::test]
async fn the_operations_example_is_a_working_configuration() {
    let mut c: Config = toml::from_str(&example()).unwrap_or_else(|e| panic!("docs/operations.md: {e}"));
    assert!(c.public_url.starts_with("https://"));
    assert_eq!(c.log_format, LogFormat::Json);
    assert!(
        c.metrics_listen.is_some_and(|m| m.ip() != c.listen.ip()),
        "metrics apart"
    );
    assert_eq!(c.limits.client_address_header.as_deref(), Some("x-forwarded-for"));
    assert!(c.database_url.starts_with("postgres://"));
    // The operator's machines replaced by the test's own.
    let dir = tempfile::tempdir().unwrap();
    c.database_url = format!("sqlite://{}", dir.path().join("ops.db").display());
    c.trust = TrustConfig::test_pki(&mynaid_testkit::fixtures_dir());
    let key = support::ClientKey::new("portal-key");
    let client = &mut c.oidc.clients[0];
    client.jwks_file = None;
    client.jwks = Some(serde_json::json!({ "keys": [key.jwk] }).to_string());
    // As it stands it names secrets to be generated: refused, saying which.
    let refused = mynaid_server::start(c.clone(), common::test_clock(common::NOW).1)
        .await
        .expect_err("placeholders are not keys")
        .to_string();
    assert!(refused.contains("result_key"), "{refused}");
    c.result_key = Some("ERERERERERERERERERERERERERERERERERERERERERE=".into());
    c.link_secret = Some("IiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiI=".into());
    let server = mynaid_server::start(c, common::test_clock(common::NOW).1)
        .await
        .expect("the example starts");
    assert_eq!(server.origin, "https://id.example.jp");
    assert!(server.https);
}
