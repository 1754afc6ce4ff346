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
        // The recorder first, so that what `start` records (the database's first statements)
        // is counted; its listener is not the public one.
        let metrics = match config.metrics_listen {
            Some(addr) => {
                let (task, bound) = mynaid_server::ops::serve_metrics(addr).await?;
                eprintln!("mynaid-server serve: metrics on http://{bound}/metrics");
                Some(task)
            }
            None => None,
        };
        let server = mynaid_server::start(config, mynaid_sessions::system_clock()).await?;
        let gauges = tokio::spawn(mynaid_server::ops::keep_gauges(server.clone()));
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|source| mynaid_server::StartError::Listen { addr: listen, source })?;
        eprintln!("mynaid-server serve: listening on http://{listen}");
        let served = mynaid_server::serve(server, listener, shutdown_signal())
            .await
            .map_err(|source| mynaid_server::StartError::Listen { addr: listen, source });
        gauges.abort();
        if let Some(m) = metrics {
            m.abort();
        }
        served
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
