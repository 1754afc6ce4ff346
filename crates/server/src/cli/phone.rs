//! `mynaid-server phone`: plays the smartphone app (patterns 2 and 3). Takes the app link from a
//! QR code in a screenshot (`--qr`) or as text (`--link`), checks its server against the list
//! of trusted servers (`--config`, `--server`, as `mynaid read`), redeems the handle as a
//! phone (refusing a PC reader app's link), shows the service, its address and the PC's
//! code, reads the emulated card over a simulated NFC link (261-byte frames, no extended
//! length, per-APDU delay, a long timeout only for the signature), sends the evidence and
//! shows the confirmation code to type on the PC — or, for pattern 3, where to return in the
//! browser, with the code as the fallback.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use mynaid_emulator::Card;
use mynaid_emulator::nfc::{NfcTiming, NfcTransport};
use mynaid_protocol::{Device, Route};
use mynaid_reader::exit;
use mynaid_reader::i18n::{self, Lang};
use mynaid_reader::input::Answers;
use mynaid_reader::reading::{self, Failure};
use mynaid_reader::trust::TrustArgs;
use mynaid_reader::{parse_lang, parse_route};
use serde_json::json;

/// The name this app sends when redeeming.
const READER_NAME: &str = "mynaid-phone";

#[derive(Args)]
// One of the two ways the app gets its link; the error without either names both.
#[command(group(clap::ArgGroup::new("source").required(true).args(["qr", "link"])))]
pub(crate) struct PhoneArgs {
    /// A screenshot (PNG) showing the PC page's QR code.
    #[arg(long, value_name = "IMAGE")]
    qr: Option<PathBuf>,
    /// The app link (`https://…/app/read#h=…&o=…`).
    #[arg(long, value_name = "URL")]
    link: Option<String>,
    /// Pattern 3: print the way back to the browser instead of opening it.
    #[arg(long)]
    no_browser: bool,
    /// The emulated card held against the phone (a card state file).
    #[arg(long, value_name = "CARD_STATE_FILE")]
    emulator: PathBuf,
    /// What the person types (asked when not given): `pin` (the 4-digit PINs: the
    /// user-authentication certificate's, then the card-info input-support one) or
    /// `password` (the 6-16 character signature password).
    #[arg(long, value_parser = parse_route, value_name = "pin|password")]
    route: Option<Route>,
    /// Read the answers from standard input lines: the route choice (when asked), the PIN or
    /// password, on the 4-digit route the input-support PIN (an empty line: "the same"),
    /// and a `y` for each last try asked about.
    #[arg(long)]
    pin_stdin: bool,
    /// Print one JSON object (confirmation code, return URL) instead of text.
    #[arg(long)]
    json: bool,
    /// Language of the messages (`ja` or `en`; default: from `LC_ALL`/`LC_MESSAGES`/`LANG`,
    /// Japanese unless they name English).
    #[arg(long, value_parser = parse_lang)]
    lang: Option<Lang>,
    /// Simulated delay per APDU on the NFC link, in milliseconds.
    #[arg(long, default_value_t = 25)]
    nfc_delay_ms: u64,
    #[command(flatten)]
    trust: TrustArgs,
}

/// Decodes the first QR code found in an image.
pub(crate) fn decode_qr(path: &Path) -> Result<String, String> {
    let img = image::open(path)
        .map_err(|e| format!("{}: {e}", path.display()))?
        .to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(img);
    let grids = prepared.detect_grids();
    let grid = grids
        .first()
        .ok_or_else(|| format!("{}: no QR code found", path.display()))?;
    grid.decode()
        .map(|(_, content)| content)
        .map_err(|e| format!("{}: {e}", path.display()))
}

pub(crate) fn run(args: PhoneArgs) -> ExitCode {
    let lang = args.lang.unwrap_or_else(mynaid_reader::lang_from_env);
    let answers = if args.pin_stdin {
        Answers::Stdin
    } else {
        Answers::Terminal
    };
    let link = match (&args.qr, &args.link) {
        (Some(image), _) => match decode_qr(image) {
            Ok(l) => l,
            Err(e) => return Failure::new(exit::BAD_INPUT, "qr", i18n::qr_unreadable(lang, &e)).report(args.json),
        },
        (None, Some(l)) => l.clone(),
        (None, None) => return Failure::new(exit::BAD_INPUT, "link", i18n::bad_link(lang)).report(args.json),
    };
    let trust = match args.trust.load() {
        Ok(t) => t,
        Err(e) => return Failure::from_config(lang, &e).report(args.json),
    };
    let offer = match reading::start_remote(&link, lang, READER_NAME, Device::PhoneApp, &trust) {
        Ok(o) => o,
        Err(f) => return f.report(args.json),
    };
    let read = (|| {
        let route = reading::choose_route(args.route, Some(&offer), lang, &answers)?;
        let card = Card::open(&args.emulator).map_err(|e| Failure::new(exit::FAILURE, "emulator", e.to_string()))?;
        let timing = NfcTiming {
            per_apdu: Duration::from_millis(args.nfc_delay_ms),
            ..NfcTiming::PHONE
        };
        eprintln!("{}", i18n::hold_card(lang));
        let tbs = offer.to_be_signed();
        reading::read_with_pin(
            NfcTransport::new(card, timing),
            route,
            lang,
            &answers,
            args.json,
            &tbs,
            &|| reading::reading_started(Some(&offer)),
        )
    })();
    let read = match read {
        Ok(r) => r,
        Err(f) => return reading::finish(Some(&offer), f, args.json),
    };
    let submitted = match reading::submit(&offer, read, READER_NAME, lang) {
        Ok(s) => s,
        Err(f) => return f.report(args.json),
    };
    // Pattern 3 returns to this device's default browser, as the reader app does for
    // pattern 1; pattern 2 has the code typed on the PC.
    reading::back_to_browser(&offer, &submitted, lang, args.no_browser, &i18n::type_code_on_pc(lang));
    if args.json {
        println!(
            "{}",
            json!({ "status": "verified", "confirmation_code": submitted.confirmation_code, "return_url": submitted.return_url })
        );
    }
    ExitCode::from(exit::OK)
}
