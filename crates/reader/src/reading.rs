//! What the PC reader app (`mynaid read`) and the phone app stand-in (`mynaid-server phone`) share:
//! failures and their messages, the guarded PIN sequence over any card link, and the
//! conversation with a server through the device core.
//!
//! Order of events, chosen so that no try is ever wasted and nothing is typed for the wrong
//! service: with a link, check its server against the list of trusted servers (nothing is
//! sent to a server not on it), redeem the handle saying which kind of device this is
//! (refusing an offer meant for another kind), and show the service name, its address, the
//! mynaid server's address and the purpose first — with a warning when there is no list;
//! ask the card how many tries are left and say so (refusing at once when blocked); then
//! ask for the PIN, check its form locally, ask for confirmation before the last try, and
//! only then read (one guarded VERIFY inside).

use std::process::ExitCode;

use mynaid_card::transport::{CardTransport, TransportError};
use mynaid_card::{CardError, FourDigitPins, InputSupportPin, LastTries, LastTry, Op, Pin, PinKind, RetryStatus};
use mynaid_device::{
    Credentials, Device, Link, LinkError, Offer, ReaderStatus, Reading, Route, ServerError, Submitted,
};
use mynaid_pcsc::{PcscCard, ReaderError};
use serde_json::json;

use crate::exit;
use crate::http;
use crate::i18n::{self, Lang};
use crate::input::Answers;
use crate::trust::{ConfigError, Trust};

/// What went wrong, as an exit code, a stable code for `--json`, and the message.
pub struct Failure {
    /// The process's exit code ([`crate::exit`]).
    pub exit: u8,
    /// Stable code for `--json`.
    pub code: String,
    /// Tries left, after a wrong PIN.
    pub tries_left: Option<u8>,
    /// Which PIN a wrong or locked PIN is about.
    pub pin: Option<PinKind>,
    /// What to tell the person.
    pub message: String,
}

impl Failure {
    /// A failure with its exit code, code and message.
    pub fn new(exit: u8, code: &str, message: String) -> Failure {
        Failure {
            exit,
            code: code.into(),
            tries_left: None,
            pin: None,
            message,
        }
    }

    /// What the card library said.
    pub fn from_card(lang: Lang, e: &CardError) -> Failure {
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
            CardError::Transport {
                source: TransportError::Timeout,
                ..
            } => (exit::CARD_GONE, "card_removed"),
            CardError::Transport { .. } => (exit::CARD_GONE, "reader_error"),
            _ => (exit::FAILURE, "card_data_error"),
        };
        Failure {
            exit,
            code: code.into(),
            tries_left: e.tries_left(),
            pin: match e {
                CardError::WrongPin { kind, .. } | CardError::PinBlocked { kind } => Some(*kind),
                _ => None,
            },
            message: i18n::card_error(lang, e),
        }
    }

    /// What PC/SC said.
    pub fn from_reader(lang: Lang, e: &ReaderError) -> Failure {
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

    /// The list of trusted servers could not be read.
    pub fn from_config(lang: Lang, e: &ConfigError) -> Failure {
        Failure::new(exit::BAD_INPUT, "config", i18n::config_error(lang, e))
    }

    /// What the server said.
    pub fn from_server(lang: Lang, e: &ServerError) -> Failure {
        let exit = if e.code == "reader_outdated" {
            exit::OUTDATED
        } else {
            exit::SERVER
        };
        Failure::new(exit, &e.code, e.message.get(lang).to_string())
    }

    /// The status the page should show for this failure, if any.
    fn page_status(&self) -> Option<ReaderStatus> {
        Some(match self.code.as_str() {
            "wrong_pin" => ReaderStatus::PinWrong,
            // The last try was used: the page says "locked", not "0 tries left, read again".
            "wrong_pin_now_blocked" => ReaderStatus::PinBlocked,
            "pin_blocked" => ReaderStatus::PinBlocked,
            "card_removed" | "verify_outcome_unknown" => ReaderStatus::CardRemoved,
            "no_card" => ReaderStatus::NoCard,
            "not_my_number_card" => ReaderStatus::NotMyNumberCard,
            "no_signature_certificate" => ReaderStatus::NoSignatureCertificate,
            "last_try_not_confirmed" | "pin_format" | "input" => ReaderStatus::Cancelled,
            // The card answered what it should not (read again, the card put back): what the
            // page says of a reader that failed.
            "pcsc_not_running" | "no_reader" | "reader_error" => ReaderStatus::ReaderError,
            "card_data_error" => ReaderStatus::CardUnreadable,
            _ => return None,
        })
    }

    /// Tells the person (and, with `--json`, the script) and ends with the exit code.
    pub fn report(self, json: bool) -> ExitCode {
        eprintln!("{}", self.message);
        if json {
            let pin = self.pin.map(|k| mynaid_device::pin_name(k).as_str());
            let v = json!({ "error": { "code": self.code, "pin": pin, "tries_left": self.tries_left, "message": self.message } });
            println!("{v}");
        }
        ExitCode::from(self.exit)
    }
}

/// One card connection that hands out a transport per operation: a PC/SC transaction, or
/// the emulator (in process or over simulated NFC).
pub trait CardLink {
    /// The transport of one operation.
    type Op<'a>: CardTransport
    where
        Self: 'a;
    /// Begins an operation.
    fn begin(&mut self) -> Result<Self::Op<'_>, TransportError>;
}

impl CardLink for mynaid_emulator::transport::InProcessTransport {
    type Op<'a> = &'a mut mynaid_emulator::transport::InProcessTransport;
    fn begin(&mut self) -> Result<Self::Op<'_>, TransportError> {
        Ok(self)
    }
}

impl CardLink for mynaid_emulator::nfc::NfcTransport {
    type Op<'a> = &'a mut mynaid_emulator::nfc::NfcTransport;
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

/// Parses the link, checks its server against `trust`, redeems the handle as a `device` of
/// this kind and shows who is asking (and the PC code), warning when there is no list of
/// trusted servers.
pub fn start_remote(
    text: &str,
    lang: Lang,
    reader_name: &str,
    device: Device,
    trust: &Trust,
) -> Result<Offer, Failure> {
    let link_failure = |e: LinkError| match e {
        LinkError::InsecureServer(s) => {
            Failure::new(exit::BAD_INPUT, "insecure_server", i18n::insecure_server(lang, &s))
        }
        LinkError::NotAllowed(s) => Failure::new(
            exit::BAD_INPUT,
            "server_not_allowed",
            i18n::server_not_allowed(lang, &s, trust.file.as_deref()),
        ),
        LinkError::Malformed => Failure::new(exit::BAD_INPUT, "bad_link", i18n::bad_link(lang)),
    };
    let link = Link::parse(text).map_err(link_failure)?;
    // Before anything is sent: a server not on the list never learns the handle, and never
    // sees this device.
    trust.policy.check(&link).map_err(link_failure)?;
    let (status, body) =
        http::send(&link.redeem_request(reader_name, device)).map_err(|e| Failure::from_server(lang, &e))?;
    let offer = Offer::from_response(&link, device, status, &body).map_err(|e| Failure::from_server(lang, &e))?;
    if offer.app_is_outdated() {
        return Err(Failure::new(
            exit::OUTDATED,
            "reader_outdated",
            i18n::outdated(lang, &offer.min_reader_version),
        ));
    }
    eprintln!(
        "{}",
        i18n::who_asks(
            lang,
            offer.service_name.get(lang),
            &offer.origin,
            offer.purpose_text.get(lang),
            &offer.server
        )
    );
    if let Some(code) = &offer.pc_code {
        eprintln!("{}", i18n::pc_code(lang, code));
    }
    if trust.policy.is_first_use() {
        eprintln!("{}", i18n::first_use(lang, trust.file.as_deref()));
    }
    Ok(offer)
}

/// The route: as given, the only one accepted, or the person's choice.
pub fn choose_route(
    given: Option<Route>,
    offer: Option<&Offer>,
    lang: Lang,
    answers: &Answers,
) -> Result<Route, Failure> {
    let offers: Vec<Route> = [Route::UserAuthentication, Route::Signature]
        .into_iter()
        .filter(|c| offer.is_none_or(|o| o.accepts(*c)))
        .collect();
    let chosen = match (given, offers.as_slice()) {
        (Some(c), _) => c,
        (None, [only]) => *only,
        (None, _) if offer.is_none() => {
            return Err(Failure::new(
                exit::BAD_INPUT,
                "route",
                "--route pin|password is required".into(),
            ));
        }
        // A slip of the finger costs nothing (nothing was sent): asked again, a few times;
        // the end of input stops.
        (None, _) => {
            let mut chosen = None;
            for _ in 0..ROUTE_QUESTIONS {
                let answer = answers
                    .line(&i18n::route_question(lang))
                    .map_err(|e| Failure::new(exit::FAILURE, "input", e.to_string()))?;
                chosen = match answer.trim() {
                    "1" => Some(Route::UserAuthentication),
                    "2" => Some(Route::Signature),
                    _ if answer.is_empty() => break,
                    _ => {
                        eprintln!("{}", i18n::route_not_chosen(lang));
                        continue;
                    }
                };
                break;
            }
            chosen.ok_or_else(|| Failure::new(exit::BAD_INPUT, "input", i18n::route_not_chosen(lang)))?
        }
    };
    if !offers.contains(&chosen) {
        return Err(Failure::new(
            exit::BAD_INPUT,
            "route_not_accepted",
            i18n::route_not_accepted(lang),
        ));
    }
    Ok(chosen)
}

/// How many times the route question is asked before the app gives up.
const ROUTE_QUESTIONS: usize = 3;

/// The guarded sequence: the tries left of every PIN the route uses (its own operation),
/// the PINs, a last-try confirmation per PIN, the read (one operation).
pub fn read_with_pin<L: CardLink>(
    mut link: L,
    route: Route,
    lang: Lang,
    answers: &Answers,
    json: bool,
    tbs: &[u8; 32],
    on_reading: &dyn Fn(),
) -> Result<Reading, Failure> {
    let kinds = mynaid_device::pin_kinds(route);
    let begin_failed = |source| CardError::Transport {
        op: Op::SelectApplication(kinds[0].application()),
        source,
    };

    let statuses = link
        .begin()
        .map_err(begin_failed)
        .and_then(|tx| mynaid_device::pin_statuses(tx, route))
        .map_err(|e| Failure::from_card(lang, &e))?;
    eprintln!("{}", i18n::tries_left(lang, &statuses));
    // A route with a locked PIN cannot finish: say which, where to unlock it and which route
    // still works, before anything is typed.
    if let Some(kind) = mynaid_device::blocked_pin(&statuses) {
        // The message says where to unlock it and which route still works.
        return Err(Failure::from_card(lang, &CardError::PinBlocked { kind }));
    }
    let status_of = |kind: PinKind| {
        statuses
            .iter()
            .find(|(k, _)| *k == kind)
            .map_or(RetryStatus::NotReported, |(_, s)| *s)
    };
    let remaining = |kind: PinKind| match status_of(kind) {
        RetryStatus::Remaining(n) => Some(n),
        _ => None,
    };
    // A last try not confirmed ends here, before anything is sent: the 4-digit route
    // would otherwise verify its first PIN and sign before stopping at the second.
    let confirm_last = |kind: PinKind| -> Result<LastTry, Failure> {
        if !status_of(kind).is_last_try() {
            return Ok(LastTry::NotConfirmed);
        }
        match answers.confirm(&i18n::last_try_question(lang, kind)) {
            Ok(true) => Ok(LastTry::Confirmed),
            Ok(false) | Err(_) => Err(Failure::from_card(lang, &CardError::LastTryNotConfirmed { kind })),
        }
    };

    let credentials = match route {
        Route::Signature => {
            eprintln!(
                "{}",
                i18n::wants_pin(lang, PinKind::Signature, remaining(PinKind::Signature))
            );
            let password = ask_pin(
                answers,
                lang,
                PinKind::Signature,
                &i18n::prompt(lang, PinKind::Signature),
            )?
            .ok_or_else(|| Failure::new(exit::FAILURE, "input", "no password".into()))?;
            let last_try = confirm_last(PinKind::Signature)?;
            Credentials::Password { password, last_try }
        }
        Route::UserAuthentication => {
            let auth = PinKind::UserAuthentication;
            eprintln!("{}", i18n::wants_pin(lang, auth, remaining(auth)));
            let user_authentication = ask_pin(answers, lang, auth, &i18n::prompt(lang, auth))?
                .ok_or_else(|| Failure::new(exit::FAILURE, "input", "no PIN".into()))?;
            let auth_last = confirm_last(auth)?;
            // Usually the same digits, but a separate PIN with its own counter: the person
            // says which, and Enter alone is their choice of "the same" (never assumed).
            let input_support = match ask_pin(answers, lang, PinKind::InputSupport, &i18n::input_support_prompt(lang))?
            {
                None => InputSupportPin::SameAsUserAuthentication,
                Some(pin) => InputSupportPin::Typed(pin),
            };
            let input_last = confirm_last(PinKind::InputSupport)?;
            Credentials::FourDigit {
                pins: FourDigitPins::new(user_authentication, input_support)
                    .map_err(|e| Failure::from_card(lang, &e))?,
                last_tries: LastTries {
                    user_authentication: auth_last,
                    input_support: input_last,
                },
            }
        }
    };

    on_reading();
    let progress = crate::progress::Progress::new(lang, json);
    let mut on_step = |step: mynaid_card::Step| progress.step(&step);
    let tx = link
        .begin()
        .map_err(|source| Failure::from_card(lang, &begin_failed(source)))?;
    let read = mynaid_device::read(tx, &credentials, tbs, &mut on_step);
    progress.finish();
    read.map_err(|e| Failure::from_card(lang, &e))
}

/// Asks for one PIN of `kind`. A PIN of the wrong form sends nothing to the card: say why
/// and ask again (three entries at most) rather than end the person's procedure over a
/// typo. An empty entry is `None` (for the input-support PIN: "the same"); for any other
/// PIN it is a badly formed entry.
fn ask_pin(answers: &Answers, lang: Lang, kind: PinKind, prompt: &str) -> Result<Option<Pin>, Failure> {
    const ENTRIES: usize = 3;
    let mut bad_form = None;
    for _ in 0..ENTRIES {
        let text = match answers.pin(prompt) {
            Ok(t) => t,
            // Nothing more to read after a badly formed entry: that entry is the failure.
            Err(_) if bad_form.is_some() => break,
            Err(e) => return Err(Failure::new(exit::FAILURE, "input", e.to_string())),
        };
        if text.is_empty() && kind == PinKind::InputSupport {
            return Ok(None);
        }
        match Pin::new(kind, &text) {
            Ok(p) => return Ok(Some(p)),
            Err(e) => {
                eprintln!("{}", i18n::bad_format(lang, &e));
                bad_form = Some(e);
            }
        }
    }
    match bad_form {
        Some(e) => Err(Failure::from_card(lang, &CardError::PinFormat(e))),
        None => Err(Failure::new(exit::FAILURE, "input", "no PIN".into())),
    }
}

/// Tells the server's page what went wrong (when reading for a server), then reports.
pub fn finish(offer: Option<&Offer>, f: Failure, json: bool) -> ExitCode {
    if let (Some(o), Some(status)) = (offer, f.page_status()) {
        let report = match f.pin {
            Some(kind) => o.pin_status_request(status, mynaid_device::pin_name(kind), f.tries_left),
            None => o.status_request(status, f.tries_left),
        };
        http::report(&report);
    }
    f.report(json)
}

/// Sends the evidence.
pub fn submit(offer: &Offer, reading: Reading, reader_name: &str, lang: Lang) -> Result<Submitted, Failure> {
    let (status, body) =
        http::send(&offer.evidence_request(reader_name, reading.body)).map_err(|e| Failure::from_server(lang, &e))?;
    offer
        .submitted(status, &body)
        .map_err(|e| Failure::from_server(lang, &e))
}

/// The evidence is in; with a way back (patterns 1 and 3) the person goes back to the
/// procedure in this device's default browser (`return_url`), which releases the result only
/// if it is the browser that started the session; the confirmation code is the fallback,
/// typed in that browser. Without one (pattern 2), `otherwise` says what to do. Whether the
/// browser opens or not, the evidence was accepted.
pub fn back_to_browser(offer: &Offer, submitted: &Submitted, lang: Lang, no_browser: bool, otherwise: &str) {
    match &submitted.return_url {
        Some(url) => {
            eprintln!("{}", i18n::returning_to_browser(lang));
            // The address was checked by the device core: this server's `/return#…` only. The
            // page it opens speaks the person's language, as the app does.
            let url = match lang {
                Lang::En => url.replacen("/return#", "/return?lang=en#", 1),
                Lang::Ja => url.clone(),
            };
            let opened = !no_browser && webbrowser::open(&url).is_ok();
            if !opened {
                eprintln!("{}", i18n::open_yourself(lang, &url));
            }
        }
        None => eprintln!("{otherwise}"),
    }
    if let Some(code) = &submitted.confirmation_code {
        eprintln!("{}", i18n::confirmation_code(lang, code, &offer.server));
    }
}

/// Tells the page that the card is being read.
pub fn reading_started(offer: Option<&Offer>) {
    if let Some(o) = offer {
        http::report(&o.status_request(ReaderStatus::Reading, None));
    }
}

/// The value the card signs: the session's, or random for a stand-alone read (which proves
/// nothing to anyone).
pub fn to_be_signed(offer: Option<&Offer>) -> Result<[u8; 32], Failure> {
    match offer {
        Some(o) => Ok(o.to_be_signed()),
        None => {
            let mut c = [0u8; 32];
            getrandom::fill(&mut c).map_err(|_| Failure::new(exit::FAILURE, "rng", "no randomness".into()))?;
            Ok(c)
        }
    }
}

#[cfg(test)]
mod page_status_tests {
    use super::*;

    /// The last try used up: the page hears "locked" (with where to unlock it), never
    /// "0 tries left, read again".
    #[test]
    fn a_pin_blocked_by_this_entry_is_reported_as_blocked() {
        let status = |code: &str| Failure::new(exit::WRONG_PIN, code, String::new()).page_status();
        assert_eq!(status("wrong_pin_now_blocked"), Some(ReaderStatus::PinBlocked));
        assert_eq!(status("wrong_pin"), Some(ReaderStatus::PinWrong));
        assert_eq!(status("pin_format"), Some(ReaderStatus::Cancelled));
        // Every card failure reaches the page.
        assert_eq!(status("card_data_error"), Some(ReaderStatus::CardUnreadable));
        assert_eq!(
            status("no_signature_certificate"),
            Some(ReaderStatus::NoSignatureCertificate)
        );
    }
}
