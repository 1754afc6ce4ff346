//! `mynaid-server pki generate`.

use std::path::Path;
use std::process::ExitCode;

use mynaid_reader::exit;

pub(crate) fn generate(out: &Path, seed: u64) -> ExitCode {
    match mynaid_testpki::generate(out, seed) {
        Ok(summary) => {
            println!("{summary}");
            ExitCode::from(exit::OK)
        }
        Err(e) => {
            eprintln!("mynaid-server pki generate: {e}");
            ExitCode::from(exit::FAILURE)
        }
    }
}
