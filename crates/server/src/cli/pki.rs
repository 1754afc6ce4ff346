//! `mynaid-server pki generate` and `pki revoke`.

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

pub(crate) fn revoke(out: &Path, person: &str, reason: &str, certificates: &str) -> ExitCode {
    use mynaid_testpki::RootKind;
    let Some(reason_code) = mynaid_testpki::revoke::reason_of(reason) else {
        eprintln!(
            "mynaid-server pki revoke: unknown reason {reason:?} (RFC 5280 names, e.g. affiliationChanged, keyCompromise)"
        );
        return ExitCode::from(exit::BAD_INPUT);
    };
    let mut kinds = Vec::new();
    for c in certificates.split(',') {
        match c.trim() {
            "sign" => kinds.push(RootKind::Sign),
            "auth" => kinds.push(RootKind::Auth),
            other => {
                eprintln!("mynaid-server pki revoke: --certificates takes sign, auth or sign,auth (not {other:?})");
                return ExitCode::from(exit::BAD_INPUT);
            }
        }
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    match mynaid_testpki::revoke::revoke(out, person, reason_code, &kinds, now) {
        Ok(list) => {
            println!(
                "revoked: {person} ({certificates}, {reason}); {} revocations in {}",
                list.len(),
                out.join("revocations.json").display()
            );
            ExitCode::from(exit::OK)
        }
        Err(e) => {
            eprintln!("mynaid-server pki revoke: {e}");
            ExitCode::from(exit::FAILURE)
        }
    }
}
