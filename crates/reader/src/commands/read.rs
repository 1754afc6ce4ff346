//! `mynaid read`: the PC reader app. Reads the card through PC/SC (or an emulated card),
//! and with `--link` for a service: checks the server against the list of trusted servers,
//! redeems the handle, shows who asks, reads the card for that session, sends the evidence,
//! and sends the person back through the default browser to the procedure's page, which
//! releases the result only to the browser that started it (the confirmation code is the
//! fallback). The guarded sequence is in `mynaid_reader::reading`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use mynaid_card::transport::Capabilities;
use mynaid_device::{Device, Offer, Reading, Route};
use mynaid_emulator::Card;
use mynaid_emulator::transport::InProcessTransport;
use mynaid_pcsc::{PcscCard, ReaderError, Readers};
use mynaid_reader::exit;
use mynaid_reader::i18n::{self, Lang};
use mynaid_reader::input::Answers;
use mynaid_reader::reading::{self, Failure};
use mynaid_reader::trust::TrustArgs;
use mynaid_reader::{parse_lang, parse_route};
use serde_json::json;

/// The name this app sends when redeeming.
const READER_NAME: &str = "mynaid-reader";

#[derive(Args)]
pub(crate) struct ReadArgs {
    /// The link the procedure page opened (`mynaid://read?server=…&handle=…`): read the card
    /// for that service and send the evidence to its server.
    #[arg(long, value_name = "URL")]
    link: Option<String>,
    /// Read an emulated card from this card state file (from `mynaid-server pki generate`).
    #[arg(long, value_name = "CARD_STATE_FILE")]
    emulator: Option<PathBuf>,
    /// What the person types (asked when not given): `pin` (the 4-digit PINs: the
    /// user-authentication certificate's, then the card-info input-support one) or
    /// `password` (the 6-16 character signature password).
    #[arg(long, value_parser = parse_route, value_name = "pin|password")]
    route: Option<Route>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
    /// Read the answers from standard input lines: the route choice (when asked), the PIN or
    /// password, on the 4-digit route the input-support PIN (an empty line: "the same"),
    /// and a `y` for each last try asked about.
    #[arg(long)]
    pin_stdin: bool,
    /// Language of the messages (`ja` or `en`; default: from `LC_ALL`/`LC_MESSAGES`/`LANG`,
    /// Japanese unless they name English).
    #[arg(long, value_parser = parse_lang)]
    lang: Option<Lang>,
    /// Use extended-length APDUs (one READ per file) when the reader supports them.
    #[arg(long)]
    extended_length: bool,
    /// The PC/SC reader to use (default: the one holding a My Number Card).
    #[arg(long, value_name = "NAME")]
    reader: Option<String>,
    /// Seconds to wait for a card to be put on the reader.
    #[arg(long, default_value_t = 30)]
    wait: u64,
    /// After sending the evidence, do not open the procedure's page in the default browser:
    /// print its address and the confirmation code only.
    #[arg(long)]
    no_browser: bool,
    #[command(flatten)]
    trust: TrustArgs,
}

pub(crate) fn run(args: ReadArgs) -> ExitCode {
    let lang = args.lang.unwrap_or_else(mynaid_reader::lang_from_env);
    let answers = if args.pin_stdin {
        Answers::Stdin
    } else {
        Answers::Terminal
    };
    let offer = match &args.link {
        Some(text) => {
            let trust = match args.trust.load() {
                Ok(t) => t,
                Err(e) => return Failure::from_config(lang, &e).report(args.json),
            };
            match reading::start_remote(text, lang, READER_NAME, Device::PcReaderApp, &trust) {
                Ok(o) => Some(o),
                Err(f) => return f.report(args.json),
            }
        }
        None => None,
    };
    let result = read(&args, offer.as_ref(), &answers);
    let read = match result {
        Ok(r) => r,
        Err(f) => return reading::finish(offer.as_ref(), f, args.json),
    };
    match &offer {
        Some(o) => match reading::submit(o, read, READER_NAME, lang) {
            Ok(submitted) => {
                reading::back_to_browser(o, &submitted, lang, args.no_browser, &i18n::sent(lang));
                if args.json {
                    println!(
                        "{}",
                        json!({ "status": "verified", "confirmation_code": submitted.confirmation_code, "return_url": submitted.return_url })
                    );
                }
                ExitCode::from(exit::OK)
            }
            Err(f) => f.report(args.json),
        },
        None => print_face(&read, lang, args.json),
    }
}

fn read(args: &ReadArgs, offer: Option<&Offer>, answers: &Answers) -> Result<Reading, Failure> {
    let lang = args.lang.unwrap_or_else(mynaid_reader::lang_from_env);
    let route = reading::choose_route(args.route, offer, lang, answers)?;
    let tbs = reading::to_be_signed(offer)?;
    let on_reading = || reading::reading_started(offer);
    match &args.emulator {
        Some(path) => {
            let card = Card::open(path).map_err(|e| Failure::new(exit::FAILURE, "emulator", e.to_string()))?;
            let t = if args.extended_length {
                InProcessTransport::extended(card)
            } else {
                InProcessTransport::new(card)
            };
            reading::read_with_pin(t, route, lang, answers, args.json, &tbs, &on_reading)
        }
        None => {
            let caps = if args.extended_length {
                Capabilities::EXTENDED
            } else {
                Capabilities::SHORT
            };
            let card = connect_pcsc(args, caps)?;
            reading::read_with_pin(card, route, lang, answers, args.json, &tbs, &on_reading)
        }
    }
}

/// Finds the My Number Card among the PC/SC readers, saying what it waits for.
fn connect_pcsc(args: &ReadArgs, caps: Capabilities) -> Result<PcscCard, Failure> {
    let lang = args.lang.unwrap_or_else(mynaid_reader::lang_from_env);
    let readers = Readers::establish().map_err(|e| Failure::from_reader(lang, &e))?;
    let list = readers.list().map_err(|e| Failure::from_reader(lang, &e))?;
    if list.is_empty() {
        return Err(Failure::from_reader(lang, &ReaderError::NoReader));
    }
    if !list
        .iter()
        .any(|r| r.card_present && args.reader.as_deref().is_none_or(|n| n == r.name))
    {
        eprintln!("{}", i18n::put_card(lang));
    }
    readers
        .find_my_number_card(args.reader.as_deref(), Duration::from_secs(args.wait), caps)
        .map_err(|e| Failure::from_reader(lang, &e))
}

fn print_face(read: &Reading, lang: Lang, json: bool) -> ExitCode {
    let f = &read.face;
    if json {
        let v = json!({ "name": f.name, "address": f.address, "birthdate": f.birth_date.iso(), "sex": f.sex.as_str() });
        println!("{v}");
    } else {
        let [l_name, l_address, l_birth, l_sex] = i18n::labels(lang);
        println!("{l_name}: {}", f.name);
        println!("{l_address}: {}", f.address);
        println!("{l_birth}: {}", f.birth_date.iso());
        println!("{l_sex}: {}", i18n::sex(lang, f.sex));
    }
    ExitCode::from(exit::OK)
}
