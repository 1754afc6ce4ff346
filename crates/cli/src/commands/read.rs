//! `mynaid read`: the PC reader app.
//!
//! Order of events, chosen so that no try is ever wasted: find the card, ask the card how
//! many tries are left and say so (refusing at once when blocked), then ask for the PIN,
//! check its form locally, ask for confirmation before the last try, and only then read
//! (one guarded VERIFY inside).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use std::time::Duration;

use mynaid_card::transport::{Capabilities, CardTransport, TransportError};
use mynaid_card::{CardError, LastTry, Op, Pin, PinKind, RetryStatus, Session, routes};
use mynaid_emulator::Card;
use mynaid_emulator::transport::InProcessTransport;
use mynaid_pcsc::{PcscCard, ReaderError, Readers};
use serde_json::json;

use crate::exit;
use crate::i18n::{self, Lang};
use crate::input::Answers;

/// Which credential, and so which evidence route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Route {
    /// The 4-digit PIN of the card-info input-support AP.
    InputSupport,
    /// The 6-16 character signature password (JPKI signature certificate).
    Signature,
}

impl Route {
    fn pin_kind(self) -> PinKind {
        match self {
            Route::InputSupport => PinKind::InputSupport,
            Route::Signature => PinKind::Signature,
        }
    }
}

#[derive(Args)]
pub(crate) struct ReadArgs {
    /// Read an emulated card from this card state file (from `mynaid pki generate`).
    #[arg(long, value_name = "CARD_STATE_FILE")]
    emulator: Option<PathBuf>,
    /// Which PIN to use.
    #[arg(long, value_enum)]
    route: Route,
    /// Print one JSON object (name, address, birthdate, sex) instead of text.
    #[arg(long)]
    json: bool,
    /// Read the PIN (and, if asked, the last-try confirmation) from standard input lines.
    #[arg(long)]
    pin_stdin: bool,
    /// Language of the messages.
    #[arg(long, value_enum, default_value_t = Lang::Ja)]
    lang: Lang,
    /// Use extended-length APDUs (one READ per file) when the reader supports them.
    #[arg(long)]
    extended_length: bool,
    /// The PC/SC reader to use (default: the one holding a My Number Card).
    #[arg(long, value_name = "NAME")]
    reader: Option<String>,
    /// Seconds to wait for a card to be put on the reader.
    #[arg(long, default_value_t = 30)]
    wait: u64,
}

/// What went wrong, as an exit code, a stable code for `--json`, and the message.
struct Failure {
    exit: u8,
    code: &'static str,
    tries_left: Option<u8>,
    message: String,
}

impl Failure {
    fn from_card(lang: Lang, e: &CardError) -> Failure {
        let (exit, code) = match e {
            CardError::WrongPin { remaining: 0, .. } => (exit::WRONG_PIN, "wrong_pin_now_blocked"),
            CardError::WrongPin { .. } => (exit::WRONG_PIN, "wrong_pin"),
            CardError::PinBlocked { .. } => (exit::BLOCKED, "pin_blocked"),
            CardError::LastTryNotConfirmed { .. } => (exit::NOT_CONFIRMED, "last_try_not_confirmed"),
            CardError::PinFormat(_) => (exit::BAD_INPUT, "pin_format"),
            CardError::NoSignatureCertificate => (exit::FAILURE, "no_signature_certificate"),
            CardError::NotMyNumberCard { .. } => (exit::NO_CARD, "not_my_number_card"),
            CardError::VerifyOutcomeUnknown { .. } => (exit::CARD_GONE, "verify_outcome_unknown"),
            e if e.is_card_removed() => (exit::CARD_GONE, "card_removed"),
            CardError::Transport { .. } => (exit::CARD_GONE, "reader_error"),
            _ => (exit::FAILURE, "card_data_error"),
        };
        Failure {
            exit,
            code,
            tries_left: e.tries_left(),
            message: i18n::card_error(lang, e),
        }
    }

    fn from_reader(lang: Lang, e: &ReaderError) -> Failure {
        let (exit, code) = match e {
            ReaderError::ServiceNotRunning => (exit::NO_CARD, "pcsc_not_running"),
            ReaderError::NoReader | ReaderError::UnknownReader(_) => (exit::NO_CARD, "no_reader"),
            ReaderError::NoCard => (exit::NO_CARD, "no_card"),
            ReaderError::NotMyNumberCard => (exit::NO_CARD, "not_my_number_card"),
            ReaderError::CardRemoved => (exit::CARD_GONE, "card_removed"),
            _ => (exit::FAILURE, "reader_error"),
        };
        Failure {
            exit,
            code,
            tries_left: None,
            message: i18n::reader_error(lang, e),
        }
    }

    fn report(self, json: bool) -> ExitCode {
        eprintln!("{}", self.message);
        if json {
            let v = json!({ "error": { "code": self.code, "tries_left": self.tries_left, "message": self.message } });
            println!("{v}");
        }
        ExitCode::from(self.exit)
    }
}

pub(crate) fn run(args: ReadArgs) -> ExitCode {
    let caps = if args.extended_length {
        Capabilities::EXTENDED
    } else {
        Capabilities::SHORT
    };
    match args.emulator.clone() {
        Some(path) => {
            let card = match Card::open(&path) {
                Ok(c) => c,
                Err(e) => {
                    return Failure {
                        exit: exit::FAILURE,
                        code: "emulator",
                        tries_left: None,
                        message: format!("{e}"),
                    }
                    .report(args.json);
                }
            };
            let transport = if args.extended_length {
                InProcessTransport::extended(card)
            } else {
                InProcessTransport::new(card)
            };
            read_card(transport, &args)
        }
        None => match connect_pcsc(&args, caps) {
            Ok(card) => read_card(card, &args),
            Err(f) => f.report(args.json),
        },
    }
}

/// Finds the My Number Card among the PC/SC readers, saying what it waits for.
fn connect_pcsc(args: &ReadArgs, caps: Capabilities) -> Result<PcscCard, Failure> {
    let lang = args.lang;
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

/// One card connection that hands out a transport per operation: a PC/SC transaction, or
/// the in-process emulator.
trait CardLink {
    type Op<'a>: CardTransport
    where
        Self: 'a;
    fn begin(&mut self) -> Result<Self::Op<'_>, TransportError>;
}

impl CardLink for InProcessTransport {
    type Op<'a> = &'a mut InProcessTransport;
    fn begin(&mut self) -> Result<Self::Op<'_>, TransportError> {
        Ok(self)
    }
}

impl CardLink for PcscCard {
    type Op<'a> = mynaid_pcsc::PcscTransaction<'a>;
    fn begin(&mut self) -> Result<Self::Op<'_>, TransportError> {
        self.transaction()
    }
}

fn read_card<L: CardLink>(mut link: L, args: &ReadArgs) -> ExitCode {
    let lang = args.lang;
    let kind = args.route.pin_kind();
    let answers = if args.pin_stdin {
        Answers::Stdin
    } else {
        Answers::Terminal
    };

    // 1. Tries left, before asking anything (its own transaction).
    let status = match link
        .begin()
        .map_err(|source| CardError::Transport {
            op: Op::SelectApplication(kind.application()),
            source,
        })
        .and_then(|tx| routes::pin_status(&mut Session::new(tx), kind))
    {
        Ok(s) => s,
        Err(e) => return Failure::from_card(lang, &e).report(args.json),
    };
    let remaining = match status {
        RetryStatus::Blocked => return Failure::from_card(lang, &CardError::PinBlocked { kind }).report(args.json),
        RetryStatus::Remaining(n) => Some(n),
        RetryStatus::NotReported => None,
    };
    eprintln!("{}", i18n::wants_pin(lang, kind, remaining));

    // 2. The PIN, checked locally.
    let text = match answers.pin(&i18n::prompt(lang, kind)) {
        Ok(t) => t,
        Err(e) => {
            return Failure {
                exit: exit::FAILURE,
                code: "input",
                tries_left: remaining,
                message: e.to_string(),
            }
            .report(args.json);
        }
    };
    let pin = match Pin::new(kind, &text) {
        Ok(p) => p,
        Err(e) => return Failure::from_card(lang, &CardError::PinFormat(e)).report(args.json),
    };
    drop(text);

    // 3. The last try needs a yes.
    let last_try = if status.is_last_try() {
        match answers.confirm(&i18n::last_try_question(lang, kind)) {
            Ok(true) => LastTry::Confirmed,
            Ok(false) | Err(_) => LastTry::NotConfirmed,
        }
    } else {
        LastTry::NotConfirmed
    };

    // 4. Read. The value the card signs is random here: a stand-alone read proves nothing
    // to anyone; with a server it is the session's bound challenge.
    let mut challenge = [0u8; 32];
    if getrandom::fill(&mut challenge).is_err() {
        return Failure {
            exit: exit::FAILURE,
            code: "rng",
            tries_left: None,
            message: "no randomness".into(),
        }
        .report(args.json);
    }
    let progress = crate::commands::progress::Progress::new(lang, args.json);
    let mut on_step = |step: mynaid_card::Step| progress.step(&step);
    let tx = match link.begin() {
        Ok(tx) => tx,
        Err(source) => {
            let e = CardError::Transport {
                op: Op::SelectApplication(kind.application()),
                source,
            };
            return Failure::from_card(lang, &e).report(args.json);
        }
    };
    let mut session = Session::new(tx);
    let face = match args.route {
        Route::InputSupport => {
            routes::read_input_support(&mut session, &pin, last_try, &challenge, &mut on_step).map(|r| {
                let b = r.basic_info;
                (
                    b.name.into_inner(),
                    b.address.into_inner(),
                    b.birth_date.into_inner(),
                    b.sex,
                )
            })
        }
        Route::Signature => routes::read_signature(&mut session, &pin, last_try, &challenge, &mut on_step).map(|r| {
            let a = r.certificate.attributes;
            (
                a.name.into_inner(),
                a.address.into_inner(),
                a.birth_date.into_inner(),
                a.sex,
            )
        }),
    };
    progress.finish();
    let (name, address, birth, sex) = match face {
        Ok(f) => f,
        Err(e) => return Failure::from_card(lang, &e).report(args.json),
    };
    if args.json {
        let v = json!({ "name": name, "address": address, "birthdate": birth.iso(), "sex": sex.as_str() });
        println!("{v}");
    } else {
        let [l_name, l_address, l_birth, l_sex] = i18n::labels(lang);
        println!("{l_name}: {name}");
        println!("{l_address}: {address}");
        println!("{l_birth}: {}", birth.iso());
        println!("{l_sex}: {}", i18n::sex(lang, sex));
    }
    ExitCode::from(exit::OK)
}
