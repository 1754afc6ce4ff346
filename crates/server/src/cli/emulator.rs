//! `mynaid-server emulator`: serve an emulated card in pcscd's virtual reader (vpcd).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use clap::Args;
use mynaid_emulator::Card;
use mynaid_emulator::vpcd::{self, Ended, Options};

use mynaid_reader::exit;

#[derive(Args)]
pub(crate) struct EmulatorArgs {
    /// vpcd's address (slot 0 of Debian's vpcd listens on 35963, slot 1 on 35964).
    #[arg(long, default_value = "127.0.0.1:35963")]
    vpcd: String,
    /// The card state file (PIN counters are written back to it).
    #[arg(long, value_name = "CARD_STATE_FILE")]
    state: PathBuf,
    /// Pull the card out right after answering the Nth APDU (tests).
    #[arg(long, value_name = "N")]
    remove_after: Option<usize>,
    /// Pull the card out after it ran the Nth APDU but before it answered (tests).
    #[arg(long, value_name = "N")]
    lose_answer_at: Option<usize>,
    /// After a scripted removal, put the card back after this many milliseconds.
    #[arg(long, value_name = "MS")]
    reinsert_after_ms: Option<u64>,
    /// Append one JSON line per APDU (headers and status words only) to this file.
    #[arg(long, value_name = "FILE")]
    trace: Option<PathBuf>,
}

pub(crate) fn run(args: EmulatorArgs) -> ExitCode {
    let mut card = match Card::open(&args.state) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("mynaid-server emulator: {e}");
            return ExitCode::from(exit::FAILURE);
        }
    };
    let mut options = Options::new(args.vpcd.clone());
    options.remove_after = args.remove_after;
    options.lose_answer_at = args.lose_answer_at;
    options.reinsert_after = args.reinsert_after_ms.map(Duration::from_millis);
    options.trace_file = args.trace;
    eprintln!(
        "mynaid-server emulator: serving {} to vpcd at {} (Ctrl-C to stop)",
        card.label(),
        args.vpcd
    );
    // The process is the card: killing it is pulling the card out. State is written
    // atomically at every counter change, so no signal handling is needed.
    let stop = AtomicBool::new(false);
    match vpcd::serve(&mut card, &options, &stop) {
        Ok(Ended::Removed) => {
            eprintln!("mynaid-server emulator: card removed");
            ExitCode::from(exit::OK)
        }
        Ok(Ended::Stopped) => ExitCode::from(exit::OK),
        Err(e) => {
            eprintln!("mynaid-server emulator: {e}");
            ExitCode::from(exit::FAILURE)
        }
    }
}
