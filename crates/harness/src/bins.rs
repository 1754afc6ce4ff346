//! The two binaries a test runs as a person or an operator would: `mynaid` (the reader app)
//! and `mynaid-server` (the operator's tool). A test's own package has `CARGO_BIN_EXE_…` for
//! its own binaries only; these are found next to the test (the same target directory and
//! profile) and built there once per test process if needed (`cargo build` is a no-op when
//! they are up to date, as after `cargo test --workspace`).

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// The target directory of the running test (`target/debug` for `target/debug/deps/t-…`).
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("the test's own path: {e}"));
    let mut dir = exe.parent().map(PathBuf::from).unwrap_or_default();
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir
}

fn built(package: &str, bin: &str, cell: &'static OnceLock<PathBuf>) -> PathBuf {
    cell.get_or_init(|| {
        let dir = target_dir();
        let release = dir.file_name().is_some_and(|n| n == "release");
        let mut cmd = Command::new(env!("CARGO"));
        cmd.args(["build", "--quiet", "-p", package, "--bin", bin]);
        if release {
            cmd.arg("--release");
        }
        let status = cmd
            .status()
            .unwrap_or_else(|e| panic!("running cargo build for {bin}: {e}"));
        assert!(status.success(), "cargo build -p {package} --bin {bin} failed");
        let path = dir.join(bin);
        assert!(path.exists(), "{} was not built", path.display());
        path
    })
    .clone()
}

/// The reader app, `mynaid`.
pub fn reader() -> PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    built("mynaid", "mynaid", &PATH)
}

/// The operator's tool, `mynaid-server`.
pub fn server() -> PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    built("mynaid-server", "mynaid-server", &PATH)
}
