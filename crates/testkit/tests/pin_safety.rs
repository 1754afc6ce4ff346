//! PIN safety as a property: random sequences of what people and links do — the right PIN,
//! a wrong one, a mistyped one, the card pulled after any APDU, the card reset by another
//! party, pcscd restarting under the reader — against the emulated card, through the code
//! the apps run (`mynaid_device::pin_status` then `mynaid_device::read`, as `mynaid read`
//! and `mynaid-server phone` do; the user-authentication PIN through `Session` directly, as it has
//! no route). After every step:
//!
//! * the card's own counter fell by at most the one wrong PIN typed in that step, and over
//!   the whole sequence the tries consumed never exceed the wrong PINs typed (+ 0);
//! * a blocked PIN never received a VERIFY (the emulator's APDU trace: no `6984` to a
//!   VERIFY, no VERIFY at all in a step that began blocked), and the last try is spent only
//!   when the person confirmed it;
//! * at most one VERIFY per attempt (no automatic retry);
//! * a link failure while the VERIFY was in flight is reported as "outcome unknown"
//!   ([`CardError::VerifyOutcomeUnknown`]), and asking again then tells the truth;
//! * without a fault, the outcome is exactly what the card's counter implies.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::OnceLock;

use mynaid_apdu::{Command, ins};
use mynaid_card::formats::sha256_digest_info;
use mynaid_card::transport::{Capabilities, CardTransport, Exchange, TransportError};
use mynaid_card::{Application, CardError, LastTry, Pin, PinKind, RetryStatus, Session, SigningKey, routes};
use mynaid_device::Route;
use mynaid_emulator::state::CardState;
use mynaid_emulator::transport::{Fault, FaultyTransport, InProcessTransport, Resettable};
use mynaid_emulator::{Card, Persistence, TraceEvent};
use mynaid_testkit::{PersonRecord, fixtures_dir, person};
use proptest::prelude::*;

const TBS: [u8; 32] = *b"mynaid pin-safety property test!";

/// The persons of the property: full counters (p01), signature password blocked (p04), one
/// try left on the input-support PIN and the signature password (p05).
const PERSONS: [&str; 3] = ["p01", "p04", "p05"];

struct Fixture {
    person: PersonRecord,
    state: CardState,
}

fn fixtures() -> &'static [Fixture] {
    static FIXTURES: OnceLock<Vec<Fixture>> = OnceLock::new();
    FIXTURES.get_or_init(|| {
        PERSONS
            .iter()
            .map(|id| {
                let person = person(id);
                let text = std::fs::read(fixtures_dir().join(&person.card)).unwrap();
                let state = serde_json::from_slice(&text).unwrap();
                Fixture { person, state }
            })
            .collect()
    })
}

/// What breaks on the link at one exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Glitch {
    /// The card is pulled before the command reaches it ([`Fault::RemoveCard`]).
    RemovedBefore,
    /// The card runs the command and is pulled before answering ([`Fault::RemoveCardAfter`]).
    RemovedAfter,
    /// Another party resets the card just before the command ([`Fault::ResetBefore`]).
    ResetBefore,
    /// pcscd restarts before the command goes out: `ServiceUnavailable`, card powered down.
    ServiceRestartBefore,
    /// pcscd restarts after the card ran the command: `ServiceUnavailable`, card powered down.
    ServiceRestartAfter,
}

impl Glitch {
    /// Whether the application sees a transport error at that exchange.
    fn is_transport_error(self) -> bool {
        self != Glitch::ResetBefore
    }
}

#[derive(Debug, Clone)]
enum Action {
    /// The person types a PIN of the right form; a glitch may hit exchange `k` of the attempt
    /// (the retry query and the read together), or miss when `k` is past its end.
    Attempt {
        kind: PinKind,
        /// Typed value when wrong (`None`: the right one).
        wrong: Option<String>,
        confirm_last: bool,
        glitch: Option<(usize, Glitch)>,
    },
    /// The person types something of the wrong form: refused before the card.
    Mistyped { kind: PinKind },
    /// The card is reset between attempts (another application, a reader hiccup).
    ResetCard,
    /// The card leaves the reader and comes back; pcscd restarts in between.
    Reinsert,
}

fn kind() -> impl Strategy<Value = PinKind> {
    prop_oneof![
        Just(PinKind::InputSupport),
        Just(PinKind::UserAuthentication),
        Just(PinKind::Signature)
    ]
}

fn glitch() -> impl Strategy<Value = Glitch> {
    prop_oneof![
        Just(Glitch::RemovedBefore),
        Just(Glitch::RemovedAfter),
        Just(Glitch::ResetBefore),
        Just(Glitch::ServiceRestartBefore),
        Just(Glitch::ServiceRestartAfter),
    ]
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        8 => (
            kind(),
            prop::option::weighted(0.6, "[0-9]{4}|[A-Z]{3}[0-9]{3}|[A-Z0-9]{4}[A-Z][0-9]{3}"),
            any::<bool>(),
            prop::option::weighted(0.5, (prop_oneof![3 => 0usize..8, 1 => 0usize..24], glitch())),
        )
            .prop_map(|(kind, wrong, confirm_last, glitch)| Action::Attempt { kind, wrong, confirm_last, glitch }),
        1 => kind().prop_map(|kind| Action::Mistyped { kind }),
        1 => Just(Action::ResetCard),
        1 => Just(Action::Reinsert),
    ]
}

/// The reader's link to the card for one attempt: the emulator's fault injection for
/// removals and resets, plus pcscd restarts, at one exchange. Remembers whether the glitch
/// hit a VERIFY carrying a PIN.
struct Link<'a> {
    inner: FaultyTransport<&'a mut InProcessTransport>,
    glitch: Option<(usize, Glitch)>,
    transmits: usize,
    glitched_verify: bool,
}

impl<'a> Link<'a> {
    fn new(card: &'a mut InProcessTransport, glitch: Option<(usize, Glitch)>) -> Link<'a> {
        let mut inner = FaultyTransport::new(card);
        match glitch {
            Some((k, Glitch::RemovedBefore)) => inner.add_fault(k, Fault::RemoveCard),
            Some((k, Glitch::RemovedAfter)) => inner.add_fault(k, Fault::RemoveCardAfter),
            Some((k, Glitch::ResetBefore)) => inner.add_fault(k, Fault::ResetBefore),
            _ => {}
        }
        Link {
            inner,
            glitch,
            transmits: 0,
            glitched_verify: false,
        }
    }
}

fn carries_pin(command: &[u8]) -> bool {
    Command::parse(command).is_ok_and(|c| c.cla == 0x00 && c.ins == ins::VERIFY && !c.data_bytes().is_empty())
}

impl CardTransport for Link<'_> {
    fn transmit(&mut self, command: &[u8], exchange: Exchange) -> Result<Vec<u8>, TransportError> {
        let n = self.transmits;
        self.transmits += 1;
        let glitch = self.glitch.filter(|(k, _)| *k == n).map(|(_, g)| g);
        if glitch.is_some_and(Glitch::is_transport_error) && carries_pin(command) {
            self.glitched_verify = true;
        }
        match glitch {
            Some(Glitch::ServiceRestartBefore) => {
                self.inner.power_off();
                Err(TransportError::ServiceUnavailable)
            }
            Some(Glitch::ServiceRestartAfter) => {
                let _ = self.inner.transmit(command, exchange);
                self.inner.power_off();
                Err(TransportError::ServiceUnavailable)
            }
            _ => self.inner.transmit(command, exchange),
        }
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }
}

/// How an attempt ended, as the application saw it.
#[derive(Debug)]
enum Outcome {
    /// The retry query failed; nothing was presented.
    StatusFailed(CardError),
    /// The retry query said blocked; the app stopped.
    Blocked,
    /// The read (with its one guarded VERIFY) ended.
    Read(Result<(), CardError>),
}

fn credential(kind: PinKind) -> Option<Route> {
    match kind {
        PinKind::InputSupport => Some(Route::InputSupport),
        PinKind::Signature => Some(Route::Signature),
        PinKind::UserAuthentication => None,
    }
}

fn pin_status<T: CardTransport>(t: T, kind: PinKind) -> Result<RetryStatus, CardError> {
    match credential(kind) {
        Some(c) => mynaid_device::pin_status(t, c),
        None => routes::pin_status(&mut Session::new(t), kind),
    }
}

/// What `mynaid read` / `mynaid-server phone` do (`commands/reading.rs`, `read_with_pin`): ask the
/// tries left, stop when blocked, confirm the last try, then read with one guarded VERIFY.
fn attempt(link: &mut Link<'_>, pin: &Pin, confirm_last: bool) -> Outcome {
    let kind = pin.kind();
    let status = match pin_status(&mut *link, kind) {
        Ok(s) => s,
        Err(e) => return Outcome::StatusFailed(e),
    };
    if status == RetryStatus::Blocked {
        return Outcome::Blocked;
    }
    let last_try = if status.is_last_try() && confirm_last {
        LastTry::Confirmed
    } else {
        LastTry::NotConfirmed
    };
    let read = match credential(kind) {
        Some(c) => mynaid_device::read(&mut *link, c, pin, last_try, &TBS, &mut |_| {}).map(|_| ()),
        None => {
            // The user-authentication PIN: select the JPKI AP, one guarded VERIFY, sign.
            let mut s = Session::new(&mut *link);
            s.select_application(Application::Jpki)
                .and_then(|()| s.verify(pin, last_try))
                .and_then(|_| {
                    let digest = [0x11; 32];
                    s.sign(SigningKey::JpkiAuthentication, &sha256_digest_info(&digest))
                })
                .map(|_| ())
        }
    };
    Outcome::Read(read)
}

fn pin_ef(kind: PinKind) -> (&'static str, u16) {
    match kind {
        PinKind::InputSupport => ("input-support", 0x0011),
        PinKind::UserAuthentication => ("jpki", 0x0018),
        PinKind::Signature => ("jpki", 0x001B),
    }
}

fn counter(card: &Card, kind: PinKind) -> u8 {
    let (app, fid) = pin_ef(kind);
    let app = card.state().applications.iter().find(|a| a.name == app).unwrap();
    app.pins.iter().find(|p| p.fid == fid).unwrap().remaining
}

fn secret(p: &PersonRecord, kind: PinKind) -> String {
    match kind {
        PinKind::InputSupport => p.pin.clone(),
        PinKind::UserAuthentication => p.auth_pin.clone(),
        PinKind::Signature => p.sign_password.clone().expect("a signature password"),
    }
}

/// A typed value of the right form for `kind`, from the generated string.
fn typed(kind: PinKind, generated: &str) -> String {
    match kind {
        PinKind::Signature if generated.len() >= 6 => generated.to_owned(),
        PinKind::Signature => format!("{generated}X9"),
        _ => generated
            .chars()
            .filter(char::is_ascii_digit)
            .chain("0000".chars())
            .take(4)
            .collect(),
    }
}

/// VERIFY commands carrying a PIN that reached the card: (status word) in trace order.
fn verifies(card: &Card) -> Vec<u16> {
    card.trace()
        .entries()
        .iter()
        .filter(|e| e.event == TraceEvent::Apdu && e.cla == 0x00 && e.ins == ins::VERIFY && e.lc > 0)
        .map(|e| e.sw)
        .collect()
}

fn run(person_index: usize, actions: &[Action]) -> Result<(), TestCaseError> {
    let fixture = &fixtures()[person_index];
    let p = &fixture.person;
    let mut card = InProcessTransport::new(Card::from_state(fixture.state.clone(), Persistence::None).unwrap());
    let mut wrong_typed = 0u32;
    let mut consumed = 0u32;
    for (step, action) in actions.iter().enumerate() {
        let (kind, wrong, confirm_last, glitch) = match action {
            Action::ResetCard => {
                card.card_mut().reset();
                continue;
            }
            Action::Reinsert => {
                card.card_mut().power_off();
                continue;
            }
            Action::Mistyped { kind } => {
                let before = verifies(card.card()).len();
                let bad = if *kind == PinKind::Signature { "AB12" } else { "12a4" };
                prop_assert!(Pin::new(*kind, bad).is_err());
                prop_assert_eq!(verifies(card.card()).len(), before);
                continue;
            }
            Action::Attempt {
                kind,
                wrong,
                confirm_last,
                glitch,
            } => (*kind, wrong, *confirm_last, *glitch),
        };
        let right = secret(p, kind);
        let value = wrong.as_deref().map_or_else(|| right.clone(), |w| typed(kind, w));
        let is_wrong = value != right;
        let pin = Pin::new(kind, &value).unwrap();
        let max = kind.max_tries();
        let before = counter(card.card(), kind);
        let verifies_before = verifies(card.card()).len();

        let mut link = Link::new(&mut card, glitch);
        let outcome = attempt(&mut link, &pin, confirm_last);
        let glitch_fired = glitch.is_some_and(|(k, _)| k < link.transmits);
        let glitched_verify = link.glitched_verify;
        drop(link);

        let after = counter(card.card(), kind);
        let sent = verifies(card.card());
        let new: &[u16] = &sent[verifies_before..];
        let ctx = format!("step {step} {kind:?} wrong={is_wrong} glitch={glitch:?} fired={glitch_fired} {outcome:?}");

        // At most one VERIFY per attempt; none to a blocked PIN; the last try only confirmed.
        prop_assert!(new.len() <= 1, "{} VERIFYs: {}", new.len(), ctx);
        prop_assert!(!sent.contains(&0x6984), "a VERIFY reached a blocked PIN: {}", ctx);
        if before == 0 || (before == 1 && !confirm_last) {
            prop_assert!(new.is_empty(), "VERIFY with {} tries left: {}", before, ctx);
        }
        // The counter, as the card's answer to the VERIFY (if one reached it) implies: back to
        // the maximum after the right PIN, one lower after a wrong one, else unchanged (a
        // VERIFY that reached a reset card with nothing selected is refused without counting).
        let expected = match new.first() {
            Some(0x9000) => {
                prop_assert!(!is_wrong, "a wrong PIN accepted: {}", ctx);
                max
            }
            Some(sw) if sw & 0xFFF0 == 0x63C0 => {
                prop_assert!(is_wrong, "the right PIN refused: {}", ctx);
                prop_assert_eq!(u16::from(before - 1), sw & 0x000F, "{}", ctx);
                before - 1
            }
            _ => before,
        };
        prop_assert_eq!(after, expected, "counter: {}", ctx);
        if is_wrong {
            wrong_typed += 1;
        }
        consumed += u32::from(before.saturating_sub(after));
        prop_assert!(
            consumed <= wrong_typed,
            "{} tries consumed for {} wrong PINs: {}",
            consumed,
            wrong_typed,
            ctx
        );

        // A link failure during the VERIFY: "unknown, query again" — and the query tells.
        let unknown = matches!(
            outcome,
            Outcome::Read(Err(CardError::VerifyOutcomeUnknown { kind: k, .. })) if k == kind
        );
        prop_assert_eq!(
            unknown,
            glitched_verify,
            "outcome unknown iff the VERIFY was cut: {}",
            ctx
        );
        if unknown {
            let again = pin_status(&mut card, kind).map_err(|e| TestCaseError::fail(format!("{e}: {ctx}")))?;
            let truth = if after == 0 {
                RetryStatus::Blocked
            } else {
                RetryStatus::Remaining(after)
            };
            prop_assert_eq!(again, truth, "querying again: {}", ctx);
        }

        // Without a fault the outcome is exactly what the counter implies.
        if !glitch_fired {
            let fine = match &outcome {
                Outcome::Blocked => before == 0,
                Outcome::StatusFailed(_) => false,
                Outcome::Read(Err(CardError::LastTryNotConfirmed { kind: k })) => {
                    *k == kind && before == 1 && !confirm_last
                }
                Outcome::Read(Ok(())) => !is_wrong && before > 0,
                Outcome::Read(Err(CardError::WrongPin { kind: k, remaining })) => {
                    *k == kind && is_wrong && *remaining == after
                }
                Outcome::Read(Err(_)) => false,
            };
            prop_assert!(fine, "unexpected outcome: {}", ctx);
        }
        // Errors never show the value typed.
        if let Outcome::StatusFailed(e) | Outcome::Read(Err(e)) = &outcome {
            let shown = format!("{e} {e:?}");
            prop_assert!(!shown.contains(value.as_str()), "an error shows the PIN ({:?})", kind);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn no_try_is_ever_wasted(person in 0..PERSONS.len(), actions in prop::collection::vec(action(), 1..12)) {
        run(person, &actions)?;
    }
}
