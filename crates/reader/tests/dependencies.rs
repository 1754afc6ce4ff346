//! The reader app is what every person installs: it must link only what reads a card and
//! talks to one server. Its normal dependency tree (`cargo tree -p mynaid -e normal`, the
//! tree cargo resolves for the release binary) holds no HTTP server, no database driver, no
//! HTML templating, no verifier crypto, no test PKI and no demo portal.

use std::process::Command;

#[test]
fn the_reader_app_links_no_server_parts() {
    let out = Command::new(env!("CARGO"))
        .args(["tree", "-p", "mynaid", "-e", "normal", "--prefix", "none", "--offline"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo tree");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let tree = String::from_utf8_lossy(&out.stdout);
    let crates: Vec<&str> = tree.lines().filter_map(|l| l.split_whitespace().next()).collect();
    assert!(crates.contains(&"mynaid-device"), "the tree was read: {tree}");
    for forbidden in [
        "axum",
        "hyper",
        "sqlx",
        "maud",
        "aws-lc-rs",
        "mynaid-evidence",
        "mynaid-sessions",
        "mynaid-server",
        "mynaid-testpki",
        "mynaid-demo-portal",
    ] {
        assert!(
            !crates.contains(&forbidden),
            "the reader app links {forbidden}:\n{tree}"
        );
    }
}
