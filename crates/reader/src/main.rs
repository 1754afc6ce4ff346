//! `mynaid`: the reader app a person installs on a PC (pattern 1 of the procedure page).
//!
//! * `mynaid read`: reads a My Number Card through PC/SC (or an emulated one with
//!   `--emulator`) with the 4-digit PIN or the signature password; with `--link`, for the
//!   service that opened it, sending the evidence to that service's mynaid server.
//! * `mynaid install-handler`: makes `mynaid://` links open the reader app.
//!
//! The operator's tool (server, demo, test PKI, emulated cards) is `mynaid-server`.

mod commands;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "mynaid",
    version,
    about = "Read your My Number Card (マイナンバーカード) for an online procedure"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Register the reader app as the handler of mynaid:// links (Linux desktops).
    InstallHandler(commands::install_handler::InstallHandlerArgs),
    /// Read a My Number Card (the PC reader app).
    Read(commands::read::ReadArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    mynaid_reader::init_logging("warn", false);
    match cli.command {
        Command::InstallHandler(args) => commands::install_handler::run(args),
        Command::Read(args) => commands::read::run(args),
    }
}
