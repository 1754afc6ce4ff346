//! `mynaid-server serve`: the server with a configuration file (and `MYNAID_*` variables).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use mynaid_server::config::Config;

use mynaid_reader::exit;

#[derive(Args)]
pub(crate) struct ServeArgs {
    /// Configuration file (TOML); without it the defaults run as they are.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

pub(crate) fn run(args: ServeArgs) -> ExitCode {
    let config = match Config::load(args.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("mynaid-server serve: {e}");
            return ExitCode::from(exit::FAILURE);
        }
    };
    mynaid_reader::init_logging("info", config.log_format == mynaid_server::config::LogFormat::Json);
    runtime_block_on(async move {
        let listen = config.listen;
        let server = mynaid_server::start(config, mynaid_sessions::system_clock()).await?;
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|source| mynaid_server::StartError::Listen { addr: listen, source })?;
        eprintln!("mynaid-server serve: listening on http://{listen}");
        mynaid_server::serve(server, listener, shutdown_signal())
            .await
            .map_err(|source| mynaid_server::StartError::Listen { addr: listen, source })
    })
}

/// Runs a server future on a multi-threaded runtime and maps its end to an exit code.
pub(crate) fn runtime_block_on(f: impl Future<Output = Result<(), mynaid_server::StartError>>) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("mynaid-server: {e}");
            return ExitCode::from(exit::FAILURE);
        }
    };
    match runtime.block_on(f) {
        Ok(()) => ExitCode::from(exit::OK),
        Err(e) => {
            eprintln!("mynaid-server: {e}");
            ExitCode::from(exit::FAILURE)
        }
    }
}

/// Ctrl-C or SIGTERM.
pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
