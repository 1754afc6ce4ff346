//! `mynaid demo`: the main job.
//!
//! For now it prepares a fresh test PKI with test persons and emulated cards and tells the
//! newcomer how to read them with the reader app. (The server, the browser pages and the
//! demo relying party join it as they are built.)

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use crate::exit;

#[derive(Args)]
pub(crate) struct DemoArgs {
    /// Where to put the demo's test PKI and cards.
    #[arg(long, default_value = "mynaid-demo")]
    dir: PathBuf,
}

pub(crate) fn run(args: DemoArgs) -> ExitCode {
    let summary = match mynaid_testpki::generate(&args.dir, mynaid_testpki::DEFAULT_SEED) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("mynaid demo: {e}");
            return ExitCode::from(exit::FAILURE);
        }
    };
    let persons = std::fs::read_to_string(args.dir.join("persons.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<Vec<serde_json::Value>>(&t).ok())
        .unwrap_or_default();
    println!("{summary}");
    println!();
    println!(
        "テスト用の人物とカード / Test persons and their emulated cards ({}):",
        args.dir.display()
    );
    println!("{:<4} {:<14} {:<6} {:<14}  note", "id", "name", "PIN", "sign password");
    for p in &persons {
        println!(
            "{:<4} {:<14} {:<6} {:<14}  {}",
            p["id"].as_str().unwrap_or(""),
            p["name"].as_str().unwrap_or(""),
            p["pin"].as_str().unwrap_or(""),
            p["sign_password"].as_str().unwrap_or("-"),
            p["note"].as_str().unwrap_or("")
        );
    }
    let me = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "mynaid".into());
    let card = args.dir.join("cards/p01.json");
    println!();
    println!("カードを読み取る / Read a card with the reader app:");
    println!(
        "  {me} read --emulator {} --route input-support      # 4桁の暗証番号 / 4-digit PIN",
        card.display()
    );
    println!(
        "  {me} read --emulator {} --route signature --lang en # 署名用パスワード / signature password",
        card.display()
    );
    ExitCode::from(exit::OK)
}
