//! `mynaid read`: the PC reader app.
//!
//! Order of events, chosen so that no try is ever wasted and nothing is typed for the wrong
//! service: with `--link`, redeem the handle and show the service name, its address and the
//! purpose first; find the card; ask the card how many tries are left and say so (refusing
//! at once when blocked); then ask for the PIN, check its form locally, ask for
//! confirmation before the last try, and only then read (one guarded VERIFY inside).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, ValueEnum};
use mynaid_card::transport::{Capabilities, CardTransport, TransportError};
use mynaid_card::{CardError, LastTry, Op, Pin, PinKind, RetryStatus, Session, routes};
use mynaid_emulator::Card;
use mynaid_emulator::transport::InProcessTransport;
use mynaid_evidence::{Binding, Body, Evidence, ReaderApp};
use mynaid_pcsc::{PcscCard, ReaderError, Readers};
use serde_json::json;
use zeroize::Zeroizing;

use crate::commands::remote::{self, Link, LinkError, READER_NAME, Redeemed};
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

    fn wire(self) -> &'static str {
        match self {
            Route::InputSupport => "input_support",
            Route::Signature => "signature",
        }
    }
}

#[derive(Args)]
pub(crate) struct ReadArgs {
    /// The link the procedure page opened (`mynaid://read?server=…&handle=…`): read the card
    /// for that service and send the evidence to its server.
    #[arg(long, value_name = "URL")]
    link: Option<String>,
    /// Read an emulated card from this card state file (from `mynaid pki generate`).
    #[arg(long, value_name = "CARD_STATE_FILE")]
    emulator: Option<PathBuf>,
    /// Which PIN to use (asked when not given).
    #[arg(long, value_enum)]
    route: Option<Route>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
    /// Read the answers (route choice, PIN, last-try confirmation) from standard input lines.
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
    code: String,
    tries_left: Option<u8>,
    message: String,
}

impl Failure {
    fn new(exit: u8, code: &str, message: String) -> Failure {
        Failure {
            exit,
            code: code.into(),
            tries_left: None,
            message,
        }
    }

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
            code: code.into(),
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
        Failure::new(exit, code, i18n::reader_error(lang, e))
    }

    fn from_server(lang: Lang, e: &remote::ServerError) -> Failure {
        let exit = if e.code == "reader_outdated" {
            exit::OUTDATED
        } else {
            exit::SERVER
        };
        let message = match lang {
            Lang::Ja => e.ja.clone(),
            Lang::En => e.en.clone(),
        };
        Failure::new(exit, &e.code, message)
    }

    /// The status the page should show for this failure, if any.
    fn page_status(&self) -> Option<&'static str> {
        Some(match self.code.as_str() {
            "wrong_pin" | "wrong_pin_now_blocked" => "pin_wrong",
            "pin_blocked" => "pin_blocked",
            "card_removed" | "verify_outcome_unknown" => "card_removed",
            "no_card" => "no_card",
            "not_my_number_card" => "not_my_number_card",
            "no_signature_certificate" => "no_signature_certificate",
            "last_try_not_confirmed" | "pin_format" | "input" => "cancelled",
            "pcsc_not_running" | "no_reader" | "reader_error" => "reader_error",
            _ => return None,
        })
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

/// What the card produced, with the face to show for a stand-alone read.
struct Read {
    body: Body,
    face: (String, String, mynaid_card::formats::Date, mynaid_card::formats::Sex),
}

pub(crate) fn run(args: ReadArgs) -> ExitCode {
    let lang = args.lang;
    let answers = if args.pin_stdin {
        Answers::Stdin
    } else {
        Answers::Terminal
    };
    // With a link: who asks, before anything else.
    let remote = match &args.link {
        Some(text) => match start_remote(text, &args) {
            Ok(r) => Some(r),
            Err(f) => return f.report(args.json),
        },
        None => None,
    };
    let route = match (&remote, args.route) {
        (_, Some(r)) => r,
        (Some((_, redeemed)), None) => match choose_route(lang, &answers, &redeemed.accepted_credentials) {
            Ok(r) => r,
            Err(f) => return finish_remote(remote.as_ref(), f, args.json),
        },
        (None, None) => {
            return Failure::new(
                exit::BAD_INPUT,
                "route",
                "--route input-support|signature is required".into(),
            )
            .report(args.json);
        }
    };
    if let Some((_, redeemed)) = &remote
        && !redeemed.accepted_credentials.iter().any(|c| c == route.wire())
    {
        let f = Failure::new(exit::BAD_INPUT, "route_not_accepted", i18n::route_not_accepted(lang));
        return finish_remote(remote.as_ref(), f, args.json);
    }
    // The value the card signs: the session's binding, or random for a stand-alone read
    // (which proves nothing to anyone).
    let tbs = match &remote {
        Some((_, r)) => match r.binding_values() {
            Some((challenge, binding)) => Binding {
                origin: &r.origin,
                challenge: &challenge,
                session: &binding,
                purpose: &r.purpose,
            }
            .to_be_signed(),
            None => {
                let f = Failure::new(exit::SERVER, "bad_answer", i18n::bad_server_answer(lang));
                return f.report(args.json);
            }
        },
        None => {
            let mut c = [0u8; 32];
            if getrandom::fill(&mut c).is_err() {
                return Failure::new(exit::FAILURE, "rng", "no randomness".into()).report(args.json);
            }
            c
        }
    };
    let on_reading = || {
        if let Some((_, r)) = &remote {
            remote::report(r, "reading", None);
        }
    };
    let caps = if args.extended_length {
        Capabilities::EXTENDED
    } else {
        Capabilities::SHORT
    };
    let read = match &args.emulator {
        Some(path) => match Card::open(path) {
            Ok(card) => {
                let t = if args.extended_length {
                    InProcessTransport::extended(card)
                } else {
                    InProcessTransport::new(card)
                };
                read_card(t, route, lang, &answers, args.json, &tbs, &on_reading)
            }
            Err(e) => Err(Failure::new(exit::FAILURE, "emulator", e.to_string())),
        },
        None => match connect_pcsc(&args, caps) {
            Ok(card) => read_card(card, route, lang, &answers, args.json, &tbs, &on_reading),
            Err(f) => Err(f),
        },
    };
    let read = match read {
        Ok(r) => r,
        Err(f) => return finish_remote(remote.as_ref(), f, args.json),
    };
    match &remote {
        Some((_, redeemed)) => send(redeemed, read, lang, args.json),
        None => print_face(read, lang, args.json),
    }
}

/// Parses the link, redeems the handle and shows who is asking.
fn start_remote(text: &str, args: &ReadArgs) -> Result<(Link, Redeemed), Failure> {
    let lang = args.lang;
    let link = Link::parse(text).map_err(|e| match e {
        LinkError::Malformed => Failure::new(exit::BAD_INPUT, "bad_link", i18n::bad_link(lang)),
        LinkError::InsecureServer(s) => {
            Failure::new(exit::BAD_INPUT, "insecure_server", i18n::insecure_server(lang, &s))
        }
    })?;
    let redeemed = remote::redeem(&link).map_err(|e| Failure::from_server(lang, &e))?;
    if !mynaid_server::service::version_at_least(env!("CARGO_PKG_VERSION"), &redeemed.min_reader_version) {
        return Err(Failure::new(
            exit::OUTDATED,
            "reader_outdated",
            i18n::outdated(lang, &redeemed.min_reader_version),
        ));
    }
    let service = match lang {
        Lang::Ja => &redeemed.service_name.ja,
        Lang::En => &redeemed.service_name.en,
    };
    let purpose = match lang {
        Lang::Ja => &redeemed.purpose_text.ja,
        Lang::En => &redeemed.purpose_text.en,
    };
    eprintln!(
        "{}",
        i18n::who_asks(lang, service, &redeemed.origin, purpose, &link.server)
    );
    Ok((link, redeemed))
}

fn choose_route(lang: Lang, answers: &Answers, accepted: &[String]) -> Result<Route, Failure> {
    let offers: Vec<Route> = [Route::InputSupport, Route::Signature]
        .into_iter()
        .filter(|r| accepted.iter().any(|a| a == r.wire()))
        .collect();
    if let [only] = offers.as_slice() {
        return Ok(*only);
    }
    let answer = answers
        .line(&i18n::route_question(lang))
        .map_err(|e| Failure::new(exit::FAILURE, "input", e.to_string()))?;
    match answer.trim() {
        "1" => Ok(Route::InputSupport),
        "2" => Ok(Route::Signature),
        _ => Err(Failure::new(exit::BAD_INPUT, "input", i18n::route_not_chosen(lang))),
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

fn read_card<L: CardLink>(
    mut link: L,
    route: Route,
    lang: Lang,
    answers: &Answers,
    json: bool,
    tbs: &[u8; 32],
    on_reading: &dyn Fn(),
) -> Result<Read, Failure> {
    let kind = route.pin_kind();
    let begin_failed = |source| CardError::Transport {
        op: Op::SelectApplication(kind.application()),
        source,
    };

    // 1. Tries left, before asking anything (its own transaction).
    let status = link
        .begin()
        .map_err(begin_failed)
        .and_then(|tx| routes::pin_status(&mut Session::new(tx), kind))
        .map_err(|e| Failure::from_card(lang, &e))?;
    let remaining = match status {
        RetryStatus::Blocked => return Err(Failure::from_card(lang, &CardError::PinBlocked { kind })),
        RetryStatus::Remaining(n) => Some(n),
        RetryStatus::NotReported => None,
    };
    eprintln!("{}", i18n::wants_pin(lang, kind, remaining));

    // 2. The PIN, checked locally.
    let text = answers
        .pin(&i18n::prompt(lang, kind))
        .map_err(|e| Failure::new(exit::FAILURE, "input", e.to_string()))?;
    let pin = Pin::new(kind, &text).map_err(|e| Failure::from_card(lang, &CardError::PinFormat(e)))?;
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

    // 4. Read, in one transaction.
    on_reading();
    let progress = crate::commands::progress::Progress::new(lang, json);
    let mut on_step = |step: mynaid_card::Step| progress.step(&step);
    let tx = link
        .begin()
        .map_err(|source| Failure::from_card(lang, &begin_failed(source)))?;
    let mut session = Session::new(tx);
    let read = match route {
        Route::InputSupport => routes::read_input_support(&mut session, &pin, last_try, tbs, &mut on_step).map(|r| {
            let b = r.basic_info.clone();
            Read {
                face: (
                    b.name.into_inner(),
                    b.address.into_inner(),
                    b.birth_date.into_inner(),
                    b.sex,
                ),
                body: Body::InputSupport {
                    basic_info: r.basic_info_raw,
                    integrity_record: r.integrity_raw,
                    cv_certificate: r.cv_certificate_raw,
                    signed_key: r.signed_key_raw,
                    signature: r.signature,
                },
            }
        }),
        Route::Signature => routes::read_signature(&mut session, &pin, last_try, tbs, &mut on_step).map(|r| {
            let a = r.certificate.attributes;
            Read {
                face: (
                    a.name.into_inner(),
                    a.address.into_inner(),
                    a.birth_date.into_inner(),
                    a.sex,
                ),
                body: Body::Signature {
                    certificate: r.certificate.der,
                    signature: r.signature,
                },
            }
        }),
    };
    progress.finish();
    read.map_err(|e| Failure::from_card(lang, &e))
}

/// Tells the server's page what went wrong (when reading for a server), then reports.
fn finish_remote(remote: Option<&(Link, Redeemed)>, f: Failure, json: bool) -> ExitCode {
    if let (Some((_, r)), Some(status)) = (remote, f.page_status()) {
        remote::report(r, status, f.tries_left);
    }
    f.report(json)
}

fn send(redeemed: &Redeemed, read: Read, lang: Lang, json: bool) -> ExitCode {
    let evidence = Evidence {
        reader: Some(ReaderApp {
            name: READER_NAME.into(),
            version: env!("CARGO_PKG_VERSION").into(),
        }),
        body: read.body,
    };
    let document = Zeroizing::new(evidence.to_json());
    match remote::submit(redeemed, &document) {
        Ok(()) => {
            eprintln!("{}", i18n::sent(lang));
            if json {
                println!("{}", json!({ "status": "verified" }));
            }
            ExitCode::from(exit::OK)
        }
        Err(e) => Failure::from_server(lang, &e).report(json),
    }
}

fn print_face(read: Read, lang: Lang, json: bool) -> ExitCode {
    let (name, address, birth, sex) = read.face;
    if json {
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
