//! Regenerates the committed fixtures in `fixtures/testpki/` (seed 1).
//!
//! Run after an intended change to the generator:
//! `cargo run -p mynaid-testpki --example regen`. `tests/fixtures.rs` fails until the
//! committed files match a fresh run again.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/testpki");
    if dir.exists()
        && let Err(e) = std::fs::remove_dir_all(&dir)
    {
        eprintln!("removing {}: {e}", dir.display());
        return ExitCode::FAILURE;
    }
    match mynaid_testpki::generate(&dir, mynaid_testpki::DEFAULT_SEED) {
        Ok(summary) => {
            println!("wrote {} files to {}", summary.files.len(), dir.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("generating the test PKI: {e}");
            ExitCode::FAILURE
        }
    }
}
