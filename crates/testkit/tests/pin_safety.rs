//! PIN safety as a property: random sequences of what people and links do — the right PINs,
//! wrong ones, "the same as the PIN I just typed" for the input-support PIN, a mistyped
//! value, a last try confirmed or not, the card pulled after any APDU, the card reset by
//! another party, pcscd restarting under the reader — against the emulated card, on both
//! routes: the 4-digit route with its two counters (the JPKI user-authentication PIN, EF 0018,
//! then the input-support PIN, EF 0011) and the signature password (EF 001B). Each attempt
//! goes through the code the apps run, guarded one of two ways:
//!
//! * as `mynaid read` and `mynaid-server phone` do (`reader/src/reading.rs`,
//!   `read_with_pin`): `mynaid_device::pin_statuses` for every counter of the route, stop on
//!   `mynaid_device::blocked_pin`, a confirmation for each last try (refused: stop), then
//!   `mynaid_device::read`;
//! * or the card library's own guard alone: `mynaid_device::read` straight away, with the
//!   confirmations as the person gave them.
//!
//! After every step, for each of the three counters:
//!
//! * it fell by at most the one wrong value presented to it in that step, and over the whole
//!   sequence the tries it lost never exceed the wrong values presented to it (nor those
//!   typed for it); without a fault, a wrong value presented costs exactly one try and a
//!   right one restores the counter; a counter the route does not use never moves;
//! * a blocked PIN never received a VERIFY (the emulator's APDU trace: no `6984` to a VERIFY,
//!   no VERIFY to a counter that began the step blocked — and under the apps' guard no VERIFY
//!   at all on a route with a blocked PIN), and a last try is spent only when the person
//!   confirmed it;
//! * at most one VERIFY per PIN per attempt (no automatic retry), and the input-support PIN
//!   only after the card accepted the user-authentication PIN;
//! * a link failure while a VERIFY was in flight is reported as "outcome unknown" for that
//!   PIN ([`CardError::VerifyOutcomeUnknown`]), and asking again then tells the truth;
//! * without a fault, the outcome is exactly what the card's counters imply.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::OnceLock;

use mynaid_apdu::{Command, ins};
use mynaid_card::ids::{AID_INPUT_SUPPORT, AID_JPKI};
use mynaid_card::transport::{Capabilities, CardTransport, Exchange, TransportError};
use mynaid_card::{
    Application, CardError, FourDigitPins, InputSupportPin, LastTries, LastTry, Pin, PinKind, RetryStatus,
};
use mynaid_device::{Credentials, Route};
use mynaid_emulator::state::CardState;
use mynaid_emulator::transport::{Fault, FaultyTransport, InProcessTransport, Resettable};
use mynaid_emulator::{Card, Persistence, TraceEvent};
use mynaid_testkit::{PersonRecord, fixtures_dir, person};
use proptest::prelude::*;

const TBS: [u8; 32] = *b"mynaid pin-safety property test!";

/// The persons of the property: full counters and the same 4-digit PINs (p01), two different
/// 4-digit PINs (p02), signature password blocked (p04), one try left on the input-support PIN
/// and the signature password (p05), user-authentication PIN blocked (p11), input-support PIN
/// blocked (p12).
const PERSONS: [&str; 6] = ["p01", "p02", "p04", "p05", "p11", "p12"];

/// The card's three counters, in a fixed order.
const KINDS: [PinKind; 3] = [PinKind::UserAuthentication, PinKind::InputSupport, PinKind::Signature];

fn index(kind: PinKind) -> usize {
    KINDS.iter().position(|k| *k == kind).unwrap()
}

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

/// Who stands between the person and the card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Guard {
    /// The apps: every counter of the route asked first, a blocked PIN or a refused last try
    /// stops the attempt before anything is presented.
    Device,
    /// The card library's guard alone (each counter asked just before its VERIFY).
    CardOnly,
}

/// The input-support PIN as the person gives it on the 4-digit route.
#[derive(Debug, Clone)]
enum Second {
    /// Their own input-support PIN, typed.
    Right,
    /// Some 4 digits typed (possibly the right ones by chance).
    Typed(String),
    /// "The same as the PIN I just typed".
    Same,
}

#[derive(Debug, Clone)]
enum Action {
    /// The person reads the card on `route`; a glitch may hit exchange `k` of the attempt
    /// (the counters asked and the read together), or miss when `k` is past its end.
    Attempt {
        route: Route,
        /// Typed value of the route's first PIN (user-authentication PIN or signature
        /// password) when wrong (`None`: the right one).
        wrong: Option<String>,
        /// The input-support PIN (4-digit route only).
        second: Second,
        /// Whether the person confirms a last try, per PIN in the route's order.
        confirm: [bool; 2],
        guard: Guard,
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

fn route() -> impl Strategy<Value = Route> {
    prop_oneof![3 => Just(Route::UserAuthentication), 1 => Just(Route::Signature)]
}

fn second() -> impl Strategy<Value = Second> {
    prop_oneof![
        4 => Just(Second::Right),
        3 => "[0-9]{4}".prop_map(Second::Typed),
        2 => Just(Second::Same),
    ]
}

fn guard() -> impl Strategy<Value = Guard> {
    prop_oneof![Just(Guard::Device), Just(Guard::CardOnly)]
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
            route(),
            prop::option::weighted(0.45, "[0-9]{4}|[A-Z]{3}[0-9]{3}|[A-Z0-9]{4}[A-Z][0-9]{3}"),
            second(),
            any::<[bool; 2]>(),
            guard(),
            prop::option::weighted(0.5, (prop_oneof![3 => 0usize..12, 2 => 0usize..32], glitch())),
        )
            .prop_map(|(route, wrong, second, confirm, guard, glitch)| Action::Attempt {
                route,
                wrong,
                second,
                confirm,
                guard,
                glitch
            }),
        1 => kind().prop_map(|kind| Action::Mistyped { kind }),
        1 => Just(Action::ResetCard),
        1 => Just(Action::Reinsert),
    ]
}

/// The reader's link to the card for one attempt: the emulator's fault injection for
/// removals and resets, plus pcscd restarts, at one exchange. Follows which application
/// the commands select, so it knows which PIN each VERIFY carries; remembers the VERIFYs
/// carrying a PIN it was asked to send, and which one (if any) the glitch hit.
struct Link<'a> {
    inner: FaultyTransport<&'a mut InProcessTransport>,
    route: Route,
    glitch: Option<(usize, Glitch)>,
    transmits: usize,
    application: Option<Application>,
    presented: Vec<PinKind>,
    glitched_verify: Option<PinKind>,
}

impl<'a> Link<'a> {
    fn new(card: &'a mut InProcessTransport, route: Route, glitch: Option<(usize, Glitch)>) -> Link<'a> {
        let mut inner = FaultyTransport::new(card);
        match glitch {
            Some((k, Glitch::RemovedBefore)) => inner.add_fault(k, Fault::RemoveCard),
            Some((k, Glitch::RemovedAfter)) => inner.add_fault(k, Fault::RemoveCardAfter),
            Some((k, Glitch::ResetBefore)) => inner.add_fault(k, Fault::ResetBefore),
            _ => {}
        }
        Link {
            inner,
            route,
            glitch,
            transmits: 0,
            application: None,
            presented: Vec::new(),
            glitched_verify: None,
        }
    }

    /// Which PIN a VERIFY sent now carries.
    fn pin_of_verify(&self) -> PinKind {
        match (self.route, self.application) {
            (Route::Signature, _) => PinKind::Signature,
            (Route::UserAuthentication, Some(Application::InputSupport)) => PinKind::InputSupport,
            (Route::UserAuthentication, _) => PinKind::UserAuthentication,
        }
    }
}

fn carries_pin(command: &Command) -> bool {
    command.cla == 0x00 && command.ins == ins::VERIFY && !command.data_bytes().is_empty()
}

impl CardTransport for Link<'_> {
    fn transmit(&mut self, command: &[u8], exchange: Exchange) -> Result<Vec<u8>, TransportError> {
        let n = self.transmits;
        self.transmits += 1;
        let parsed = Command::parse(command).ok();
        if let Some(c) = parsed.as_ref().filter(|c| c.ins == ins::SELECT && c.p1 == 0x04) {
            self.application = match c.data_bytes() {
                aid if aid == AID_JPKI => Some(Application::Jpki),
                aid if aid == AID_INPUT_SUPPORT => Some(Application::InputSupport),
                _ => None,
            };
        }
        let pin = parsed.as_ref().filter(|c| carries_pin(c)).map(|_| self.pin_of_verify());
        self.presented.extend(pin);
        let glitch = self.glitch.filter(|(k, _)| *k == n).map(|(_, g)| g);
        if glitch.is_some_and(Glitch::is_transport_error) && pin.is_some() {
            self.glitched_verify = pin;
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

/// One PIN of an attempt: what the person typed for it and whether they confirm its last try.
#[derive(Debug)]
struct Entry {
    kind: PinKind,
    value: String,
    wrong: bool,
    confirm: bool,
}

/// How an attempt ended, as the application saw it.
#[derive(Debug)]
enum Outcome {
    /// Asking the counters failed; nothing was presented.
    StatusFailed(CardError),
    /// A counter of the route was blocked; the app stopped before asking for any PIN.
    Blocked(PinKind),
    /// A last try the person did not confirm; the app stopped before presenting anything.
    NotConfirmed(PinKind),
    /// The read (with its guarded VERIFYs) ended.
    Read(Result<(), CardError>),
}

/// What the attempt must end in when nothing goes wrong on the link, given the counters at
/// its start: the PINs are presented in the route's order, and the first that cannot be or
/// is refused ends it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expected {
    Blocked(PinKind),
    NotConfirmed(PinKind),
    Wrong(PinKind),
    Read,
}

fn expected(guard: Guard, entries: &[Entry], before: &[u8; 3]) -> Expected {
    let left = |e: &Entry| before[index(e.kind)];
    if guard == Guard::Device {
        if let Some(e) = entries.iter().find(|e| left(e) == 0) {
            return Expected::Blocked(e.kind);
        }
        if let Some(e) = entries.iter().find(|e| left(e) == 1 && !e.confirm) {
            return Expected::NotConfirmed(e.kind);
        }
    }
    for e in entries {
        if left(e) == 0 {
            return Expected::Blocked(e.kind);
        }
        if left(e) == 1 && !e.confirm {
            return Expected::NotConfirmed(e.kind);
        }
        if e.wrong {
            return Expected::Wrong(e.kind);
        }
    }
    Expected::Read
}

/// The outcome in the terms of [`Expected`] (with the tries left a wrong PIN reported), or
/// `None` for an error no clean attempt may end in.
fn seen(outcome: &Outcome) -> Option<(Expected, Option<u8>)> {
    Some(match outcome {
        Outcome::Blocked(k) | Outcome::Read(Err(CardError::PinBlocked { kind: k })) => (Expected::Blocked(*k), None),
        Outcome::NotConfirmed(k) | Outcome::Read(Err(CardError::LastTryNotConfirmed { kind: k })) => {
            (Expected::NotConfirmed(*k), None)
        }
        Outcome::Read(Err(CardError::WrongPin { kind, remaining })) => (Expected::Wrong(*kind), Some(*remaining)),
        Outcome::Read(Ok(())) => (Expected::Read, None),
        Outcome::StatusFailed(_) | Outcome::Read(Err(_)) => return None,
    })
}

/// What `mynaid read` / `mynaid-server phone` do (`reader/src/reading.rs`, `read_with_pin`)
/// under [`Guard::Device`]: ask the tries left of every PIN of the route, stop when one is
/// blocked, confirm each last try, then read with one guarded VERIFY per PIN. Under
/// [`Guard::CardOnly`], the read straight away.
fn attempt(link: &mut Link<'_>, route: Route, entries: &[Entry], same: bool, guard: Guard) -> Outcome {
    let last_tries: Vec<LastTry> = match guard {
        Guard::Device => {
            let statuses = match mynaid_device::pin_statuses(&mut *link, route) {
                Ok(s) => s,
                Err(e) => return Outcome::StatusFailed(e),
            };
            if let Some(kind) = mynaid_device::blocked_pin(&statuses) {
                return Outcome::Blocked(kind);
            }
            let mut last_tries = Vec::new();
            for (e, (kind, status)) in entries.iter().zip(&statuses) {
                assert_eq!(e.kind, *kind, "the statuses come in the route's order");
                last_tries.push(match (status.is_last_try(), e.confirm) {
                    (false, _) => LastTry::NotConfirmed,
                    (true, true) => LastTry::Confirmed,
                    (true, false) => return Outcome::NotConfirmed(*kind),
                });
            }
            last_tries
        }
        Guard::CardOnly => entries
            .iter()
            .map(|e| {
                if e.confirm {
                    LastTry::Confirmed
                } else {
                    LastTry::NotConfirmed
                }
            })
            .collect(),
    };
    let pin = |e: &Entry| Pin::new(e.kind, &e.value).unwrap();
    let credentials = match route {
        Route::Signature => Credentials::Password {
            password: pin(&entries[0]),
            last_try: last_tries[0],
        },
        Route::UserAuthentication => Credentials::FourDigit {
            pins: FourDigitPins::new(
                pin(&entries[0]),
                if same {
                    InputSupportPin::SameAsUserAuthentication
                } else {
                    InputSupportPin::Typed(pin(&entries[1]))
                },
            )
            .unwrap(),
            last_tries: LastTries {
                user_authentication: last_tries[0],
                input_support: last_tries[1],
            },
        },
    };
    Outcome::Read(mynaid_device::read(&mut *link, &credentials, &TBS, &mut |_| {}).map(|_| ()))
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

fn counters(card: &Card) -> [u8; 3] {
    KINDS.map(|k| counter(card, k))
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

/// VERIFY commands carrying a PIN that reached the card: (application selected, status
/// word) in trace order.
fn verifies(card: &Card) -> Vec<(Option<String>, u16)> {
    card.trace()
        .entries()
        .into_iter()
        .filter(|e| e.event == TraceEvent::Apdu && e.cla == 0x00 && e.ins == ins::VERIFY && e.lc > 0)
        .map(|e| (e.selected_df, e.sw))
        .collect()
}

/// Whether a 4-digit value could be shown in an error for a reason of its own: a status word
/// (`SW 6982`) or an EF (`EF 000A`). Such values are not checked against the error text.
fn looks_like_an_identifier(value: &str) -> bool {
    value.len() == 4 && value.starts_with(['0', '6', '9'])
}

fn run(person_index: usize, actions: &[Action]) -> Result<(), TestCaseError> {
    let fixture = &fixtures()[person_index];
    let p = &fixture.person;
    let mut card = InProcessTransport::new(Card::from_state(fixture.state.clone(), Persistence::None).unwrap());
    // Per counter (in `KINDS` order), over the whole sequence.
    let mut wrong_typed = [0u32; 3];
    let mut wrong_presented = [0u32; 3];
    let mut consumed = [0u32; 3];
    for (step, action) in actions.iter().enumerate() {
        let (route, wrong, second, confirm, guard, glitch) = match action {
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
                route,
                wrong,
                second,
                confirm,
                guard,
                glitch,
            } => (*route, wrong, second, *confirm, *guard, *glitch),
        };
        let kinds = mynaid_device::pin_kinds(route);
        let entries: Vec<Entry> = kinds
            .iter()
            .zip(confirm)
            .enumerate()
            .map(|(i, (&kind, confirm))| {
                let right = secret(p, kind);
                let value = match (i, second) {
                    (0, _) => wrong.as_deref().map_or_else(|| right.clone(), |w| typed(kind, w)),
                    (_, Second::Right) => right.clone(),
                    (_, Second::Typed(v)) => typed(kind, v),
                    // The same digits as the user-authentication PIN just typed.
                    (_, Second::Same) => wrong
                        .as_deref()
                        .map_or_else(|| p.auth_pin.clone(), |w| typed(PinKind::UserAuthentication, w)),
                };
                Entry {
                    kind,
                    wrong: value != right,
                    value,
                    confirm,
                }
            })
            .collect();
        let same = matches!(second, Second::Same);
        let before = counters(card.card());
        let verifies_before = verifies(card.card()).len();

        let mut link = Link::new(&mut card, route, glitch);
        let outcome = attempt(&mut link, route, &entries, same, guard);
        let glitch_fired = glitch.is_some_and(|(k, _)| k < link.transmits);
        let glitched_verify = link.glitched_verify;
        let presented = std::mem::take(&mut link.presented);
        drop(link);

        let after = counters(card.card());
        let sent = verifies(card.card());
        let new = &sent[verifies_before..];
        let ctx = format!(
            "step {step} {route:?} {guard:?} {entries:?} same={same} glitch={glitch:?} fired={glitch_fired} \
             counters {before:?} -> {after:?} presented {presented:?} reached {new:?} {outcome:?}"
        );

        // Nothing reaches a blocked PIN; under the apps' guard, a blocked PIN or a last try not
        // confirmed stops the attempt before any VERIFY.
        prop_assert!(
            !sent.iter().any(|(_, sw)| *sw == 0x6984),
            "a VERIFY reached a blocked PIN: {}",
            ctx
        );
        if guard == Guard::Device
            && entries
                .iter()
                .any(|e| before[index(e.kind)] == 0 || (before[index(e.kind)] == 1 && !e.confirm))
        {
            prop_assert!(presented.is_empty(), "a VERIFY on a route that cannot finish: {}", ctx);
        }
        // The input-support PIN only after the card accepted the user-authentication PIN.
        if presented.contains(&PinKind::InputSupport) {
            prop_assert!(
                new.iter()
                    .any(|(df, sw)| df.as_deref() == Some("jpki") && *sw == 0x9000),
                "the second PIN without the first accepted: {}",
                ctx
            );
        }

        for kind in KINDS {
            let i = index(kind);
            let (before, after) = (before[i], after[i]);
            let Some(entry) = entries.iter().find(|e| e.kind == kind) else {
                prop_assert_eq!(
                    after,
                    before,
                    "{:?}, which the route does not use, moved: {}",
                    kind,
                    ctx
                );
                continue;
            };
            // At most one VERIFY per PIN; none to a blocked one; the last try only confirmed.
            let presented_here = presented.iter().filter(|k| **k == kind).count();
            let reached: Vec<u16> = new
                .iter()
                .filter(|(df, _)| df.as_deref() == Some(pin_ef(kind).0))
                .map(|(_, sw)| *sw)
                .collect();
            prop_assert!(
                presented_here <= 1,
                "{:?} presented {} times: {}",
                kind,
                presented_here,
                ctx
            );
            prop_assert!(
                reached.len() <= 1,
                "{:?} reached the card {} times: {}",
                kind,
                reached.len(),
                ctx
            );
            if before == 0 || (before == 1 && !entry.confirm) {
                prop_assert_eq!(
                    presented_here,
                    0,
                    "{:?} VERIFYed with {} tries left: {}",
                    kind,
                    before,
                    ctx
                );
            }
            // The counter, as the card's answer to the VERIFY (if one reached it) implies:
            // back to the maximum after the right PIN, one lower after a wrong one, else
            // unchanged (a VERIFY that reached a reset card with nothing selected is refused
            // without counting).
            let expected_after = match reached.first() {
                Some(0x9000) => {
                    prop_assert!(!entry.wrong, "a wrong {:?} accepted: {}", kind, ctx);
                    kind.max_tries()
                }
                Some(sw) if sw & 0xFFF0 == 0x63C0 => {
                    prop_assert!(entry.wrong, "the right {:?} refused: {}", kind, ctx);
                    let left = before.checked_sub(1).expect("a VERIFY reached a blocked PIN");
                    prop_assert_eq!(u16::from(left), sw & 0x000F, "{}", ctx);
                    left
                }
                _ => before,
            };
            prop_assert_eq!(after, expected_after, "counter of the {:?}: {}", kind, ctx);
            // Without a fault, what was presented is exactly what the counter shows.
            if !glitch_fired {
                let clean = match (presented_here, entry.wrong) {
                    (0, _) => before,
                    (_, true) => before - 1,
                    (_, false) => kind.max_tries(),
                };
                prop_assert_eq!(after, clean, "counter of the {:?} without a fault: {}", kind, ctx);
            }
            if entry.wrong {
                wrong_typed[i] += 1;
                if presented_here > 0 {
                    wrong_presented[i] += 1;
                }
            }
            consumed[i] += u32::from(before.saturating_sub(after));
            prop_assert!(
                consumed[i] <= wrong_presented[i] && wrong_presented[i] <= wrong_typed[i],
                "{:?}: {} tries consumed for {} wrong values presented ({} typed): {}",
                kind,
                consumed[i],
                wrong_presented[i],
                wrong_typed[i],
                ctx
            );
        }

        // A link failure during a VERIFY: "unknown, query again", for that PIN — and the
        // query tells.
        let unknown = match &outcome {
            Outcome::Read(Err(CardError::VerifyOutcomeUnknown { kind, .. })) => Some(*kind),
            _ => None,
        };
        prop_assert_eq!(
            unknown,
            glitched_verify,
            "outcome unknown iff the VERIFY was cut: {}",
            ctx
        );
        if let Some(kind) = unknown {
            let again = mynaid_device::pin_statuses(&mut card, route)
                .map_err(|e| TestCaseError::fail(format!("{e}: {ctx}")))?;
            let truth = match after[index(kind)] {
                0 => RetryStatus::Blocked,
                n => RetryStatus::Remaining(n),
            };
            let told = again.iter().find(|(k, _)| *k == kind).map(|(_, s)| *s);
            prop_assert_eq!(told, Some(truth), "querying again: {}", ctx);
        }

        // Without a fault the outcome is exactly what the counters imply.
        if !glitch_fired {
            let expect = expected(guard, &entries, &before);
            let got = seen(&outcome);
            prop_assert_eq!(got.map(|(e, _)| e), Some(expect), "unexpected outcome: {}", ctx);
            if let Some((Expected::Wrong(kind), Some(remaining))) = got {
                prop_assert_eq!(remaining, after[index(kind)], "{}", ctx);
            }
        }
        // Errors never show a value typed.
        if let Outcome::StatusFailed(e) | Outcome::Read(Err(e)) = &outcome {
            let shown = format!("{e} {e:?}");
            for entry in entries.iter().filter(|e| !looks_like_an_identifier(&e.value)) {
                prop_assert!(
                    !shown.contains(entry.value.as_str()),
                    "an error shows the {:?}: {}",
                    entry.kind,
                    shown
                );
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn no_try_is_ever_wasted(person in 0..PERSONS.len(), actions in prop::collection::vec(action(), 1..12)) {
        run(person, &actions)?;
    }
}
