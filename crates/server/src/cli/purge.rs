//! `mynaid-server purge`: deletes from the configured database what is past `retention_secs`
//! (the server does this by itself every `purge_interval_secs`; this is for a server that
//! is not running, or a cron job with the periodic purge turned off).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use mynaid_server::config::Config;

use mynaid_reader::exit;

#[derive(Args)]
pub(crate) struct PurgeArgs {
    /// Configuration file (TOML; its `database_url` and `retention_secs`); without it the
    /// defaults (and `MYNAID_*` variables).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

pub(crate) fn run(args: PurgeArgs) -> ExitCode {
    let config = match Config::load(args.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("mynaid-server purge: {e}");
            return ExitCode::from(exit::FAILURE);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("mynaid-server purge: {e}");
            return ExitCode::from(exit::FAILURE);
        }
    };
    let now = mynaid_sessions::system_clock()();
    match runtime.block_on(mynaid_server::purge(&config, now)) {
        Ok(n) => {
            println!("{n} sessions deleted (ended more than {} s ago)", config.retention_secs);
            ExitCode::from(exit::OK)
        }
        Err(e) => {
            eprintln!("mynaid-server purge: {e}");
            ExitCode::from(exit::FAILURE)
        }
    }
}
