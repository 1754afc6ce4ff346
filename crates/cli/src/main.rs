//! `mynaid`: the command line of the mynaid project.
//!
//! * `mynaid demo`: the server, a demo relying party and emulated cards, on 127.0.0.1:8080.
//! * `mynaid serve`: the server with a configuration file.
//! * `mynaid purge`: delete ended sessions past the configured retention.
//! * `mynaid install-handler`: make `mynaid://` links open the reader app.
//! * `mynaid read`: the PC reader app — reads a My Number Card (an emulated one with
//!   `--emulator`) with the 4-digit PIN or the signature password.
//! * `mynaid phone`: the smartphone app stand-in (patterns 2 and 3).
//! * `mynaid emulator`: an emulated card in pcscd's virtual reader (vpcd).
//! * `mynaid pki generate`: the deterministic test PKI, test persons and their card files.

mod commands;
mod i18n;
mod input;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "mynaid",
    version,
    about = "Read and verify the My Number Card (マイナンバーカード)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The demo: test PKI, test persons and emulated cards, and how to read them.
    Demo(commands::demo::DemoArgs),
    /// Run the server with a configuration file.
    Serve(commands::serve::ServeArgs),
    /// Delete ended sessions and results past the configured retention (retention_secs).
    Purge(commands::purge::PurgeArgs),
    /// Register the reader app as the handler of mynaid:// links (Linux desktops).
    InstallHandler(commands::install_handler::InstallHandlerArgs),
    /// Read a My Number Card (the PC reader app).
    Read(commands::read::ReadArgs),
    /// Play the smartphone app: read an emulated card over simulated NFC for a QR code or app link.
    Phone(commands::phone::PhoneArgs),
    /// Serve an emulated card in pcscd's virtual reader (vpcd).
    Emulator(commands::emulator::EmulatorArgs),
    /// The test PKI.
    Pki {
        #[command(subcommand)]
        command: PkiCommand,
    },
}

#[derive(Subcommand)]
enum PkiCommand {
    /// Generate the test PKI, the test persons and their card state files into a directory.
    Generate {
        /// Output directory (created if missing).
        #[arg(long)]
        out: PathBuf,
        /// Seed: the same seed gives the same files.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

/// Logs go to stderr and carry no personal data (the libraries log APDU headers, status
/// words, session ids and outcomes only). `RUST_LOG=mynaid_card=debug` shows the APDU flow.
pub(crate) fn init_logging(json: bool) {
    let default = if matches!(std::env::args().nth(1).as_deref(), Some("serve" | "demo")) {
        "info"
    } else {
        "warn"
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if !matches!(cli.command, Command::Serve(_) | Command::Demo(_)) {
        init_logging(false);
    }
    match cli.command {
        Command::Demo(args) => commands::demo::run(args),
        Command::Serve(args) => commands::serve::run(args),
        Command::Purge(args) => commands::purge::run(args),
        Command::InstallHandler(args) => commands::install_handler::run(args),
        Command::Read(args) => commands::read::run(args),
        Command::Emulator(args) => commands::emulator::run(args),
        Command::Phone(args) => commands::phone::run(args),
        Command::Pki {
            command: PkiCommand::Generate { out, seed },
        } => commands::pki::generate(&out, seed),
    }
}

/// Exit codes, stable for scripts (documented in the README).
pub(crate) mod exit {
    /// Read and printed.
    pub(crate) const OK: u8 = 0;
    /// Anything else (I/O, configuration).
    pub(crate) const FAILURE: u8 = 1;
    /// Bad input (a PIN of the wrong form: nothing was sent).
    pub(crate) const BAD_INPUT: u8 = 2;
    /// Wrong PIN (one try used).
    pub(crate) const WRONG_PIN: u8 = 3;
    /// PIN blocked (nothing sent).
    pub(crate) const BLOCKED: u8 = 4;
    /// The last try was not confirmed (nothing sent).
    pub(crate) const NOT_CONFIRMED: u8 = 5;
    /// The card was removed or the reader failed.
    pub(crate) const CARD_GONE: u8 = 6;
    /// Not a My Number Card, or no card / reader.
    pub(crate) const NO_CARD: u8 = 7;
    /// The server refused (expired, already used, evidence not accepted) or is unreachable.
    pub(crate) const SERVER: u8 = 8;
    /// The reader app is older than the server accepts.
    pub(crate) const OUTDATED: u8 = 9;
}
