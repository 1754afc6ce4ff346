//! The two binaries a test runs as a person or an operator would: `mynaid` (the reader app)
//! and `mynaid-server` (the operator's tool). A test's own package has `CARGO_BIN_EXE_…` for
//! its own binaries only; these are found next to the test (the same target directory and
//! profile), made fresh once per test process by the same build that `cargo test
//! --workspace` runs (`cargo test --workspace --no-run`: a no-op after that command, so
//! nothing is built twice with other features). A test run of one package builds the rest of
//! the workspace's tests once, on first use.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
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
        // Cargo gives a test the variables of its own package (`CARGO_MANIFEST_DIR`, …); a
        // build script that watches one (ring's) would see it changed, and the whole tree
        // above it would be built again. The nested build gets the environment of the
        // outer one.
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy();
            let per_package = [
                "CARGO_MANIFEST_",
                "CARGO_PKG_",
                "CARGO_BIN_",
                "CARGO_CRATE_",
                "CARGO_PRIMARY_",
            ]
            .iter()
            .any(|p| name.starts_with(p))
                || matches!(
                    name.as_ref(),
                    "CARGO_TARGET_TMPDIR" | "CARGO_RUSTC_CURRENT_DIR" | "OUT_DIR"
                );
            if per_package {
                cmd.env_remove(name.as_ref());
            }
        }
        if release {
            cmd.args(["build", "--quiet", "--release", "-p", package, "--bin", bin]);
        } else {
            cmd.args(["test", "--quiet", "--workspace", "--no-run"]);
        }
        let status = cmd.status().unwrap_or_else(|e| panic!("running cargo for {bin}: {e}"));
        assert!(status.success(), "building {bin} of {package} failed");
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

/// Runs `command` with `typed` on its standard input (what a person types at its prompts:
/// a menu choice, a PIN, a confirmation) and collects its exit status and output.
pub fn run_typed(command: &mut Command, typed: &str) -> Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {:?}: {e}", command.get_program()));
    if let Some(mut stdin) = child.stdin.take() {
        // A program that exits before reading everything closes the pipe: not an error here.
        let _ = stdin.write_all(typed.as_bytes());
    }
    child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("waiting for {:?}: {e}", command.get_program()))
}
