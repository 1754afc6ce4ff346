//! `mynaid-server`: the operator's tool.
//!
//! * `mynaid-server serve`: the server with a configuration file.
//! * `mynaid-server demo`: the server, a demo relying party and emulated cards, on
//!   127.0.0.1:8080.
//! * `mynaid-server purge`: delete ended sessions past the configured retention.
//! * `mynaid-server pki generate`: the deterministic test PKI, test persons and their card
//!   files.
//! * `mynaid-server emulator`: an emulated card in pcscd's virtual reader (vpcd).
//! * `mynaid-server phone`: the smartphone app's stand-in (patterns 2 and 3).
//!
//! The reader app a person installs is the other binary, `mynaid`.

mod cli;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "mynaid-server",
    version,
    about = "The mynaid server and the operator's tools: verify My Number Card (マイナンバーカード) readings for online services"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The demo: test PKI, test persons and emulated cards, and how to read them.
    Demo(cli::demo::DemoArgs),
    /// Run the server with a configuration file.
    Serve(cli::serve::ServeArgs),
    /// Delete ended sessions and results past the configured retention (retention_secs).
    Purge(cli::purge::PurgeArgs),
    /// Play the smartphone app: read an emulated card over simulated NFC for a QR code or app link.
    Phone(cli::phone::PhoneArgs),
    /// Serve an emulated card in pcscd's virtual reader (vpcd).
    Emulator(cli::emulator::EmulatorArgs),
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
    /// Revoke a test person's certificates: write the test PKI's CRLs again with them on it
    /// (a server reading those files takes them at its next CRL refresh).
    Revoke {
        /// The test PKI's directory (from `pki generate`).
        #[arg(long)]
        out: PathBuf,
        /// The test person (`p01` …).
        #[arg(long)]
        person: String,
        /// RFC 5280 reason: `affiliationChanged` (a move), `keyCompromise` (a lost card),
        /// `superseded` (a new card), `cessationOfOperation`, `privilegeWithdrawn`,
        /// `certificateHold`, `unspecified`.
        #[arg(long)]
        reason: String,
        /// Which certificates: `sign`, `auth` or `sign,auth` (default: both).
        #[arg(long, default_value = "sign,auth")]
        certificates: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if !matches!(cli.command, Command::Serve(_) | Command::Demo(_)) {
        mynaid_reader::init_logging("warn", false);
    }
    match cli.command {
        Command::Demo(args) => cli::demo::run(args),
        Command::Serve(args) => cli::serve::run(args),
        Command::Purge(args) => cli::purge::run(args),
        Command::Emulator(args) => cli::emulator::run(args),
        Command::Phone(args) => cli::phone::run(args),
        Command::Pki {
            command: PkiCommand::Generate { out, seed },
        } => cli::pki::generate(&out, seed),
        Command::Pki {
            command:
                PkiCommand::Revoke {
                    out,
                    person,
                    reason,
                    certificates,
                },
        } => cli::pki::revoke(&out, &person, &reason, &certificates),
    }
}
