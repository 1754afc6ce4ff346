//! What the browser tests of the PC reader page share: the way from the demo portal to the
//! reader page, and the reader app `mynaid read` run as a person runs it (PINs typed on
//! stdin), through PC/SC or with the card in process. Needs `mod demo;` beside it.

#![allow(dead_code)]

use std::process::{Command, Output};

use super::demo::{Demo, WAIT};
pub(crate) use super::demo::{four_digit, last_json as json};
use mynaid_harness::bins::{self, run_typed};
use mynaid_harness::browser::{Browser, DefaultBrowser};
use mynaid_harness::pcsc::{EmulatorProcess, READER};
use mynaid_testkit::CardCopy;

/// The consent page of mynaid's OpenID Connect flow: it names the service and the purpose
/// before the card is read; the person agrees.
pub(crate) fn consent(b: &Browser, purpose: &str) {
    b.wait_for_id("consent-allow", WAIT);
    assert_eq!(b.text("consent-service"), "登録ポータル（デモ）");
    assert!(
        b.text("consent-purpose").contains(purpose),
        "{}",
        b.text("consent-purpose")
    );
    b.click("consent-allow");
}

/// From the portal to the reader page (verify identity), without asserting the words: the
/// session's id and the `mynaid://` link the page offers.
pub(crate) fn to_reader_page(b: &Browser, demo: &Demo) -> (String, String) {
    b.goto(&format!("{}/portal", demo.base));
    b.click("verify-identity");
    consent(b, "本人確認");
    b.wait_for_id("method-pc", WAIT);
    let id = session_id(b);
    b.click("method-pc");
    b.wait_for_id("launch", WAIT);
    demo.wait_for_listening_page();
    (id, b.attr("launch", "href").expect("#launch has a link"))
}

/// The id of the session whose page `b` shows (`/s/{id}…`).
pub(crate) fn session_id(b: &Browser) -> String {
    b.url()
        .split("/s/")
        .nth(1)
        .and_then(|r| r.split(['/', '?']).next())
        .expect("the session's page")
        .to_string()
}

/// `mynaid read --link LINK --route ROUTE --pin-stdin --json --reader "Virtual PCD 00 00"`,
/// with `stdin` typed in and `default` as the PC's default browser.
pub(crate) fn read(link: &str, route: &str, stdin: &str, default: &DefaultBrowser) -> Output {
    read_in(link, route, stdin, default, "ja")
}

/// [`read`] with the app's messages in `lang`.
pub(crate) fn read_in(link: &str, route: &str, stdin: &str, default: &DefaultBrowser, lang: &str) -> Output {
    run_typed(
        Command::new(bins::reader())
            .args(["read", "--link", link, "--route", route, "--pin-stdin", "--json"])
            .args(["--reader", READER, "--wait", "5", "--lang", lang])
            .env("BROWSER", default.command()),
        stdin,
    )
}

/// `mynaid read --link LINK --emulator CARD --route ROUTE --pin-stdin --json --lang LANG`:
/// the reader app with the card in process (no PC/SC), `default` as the PC's browser.
pub(crate) fn read_emulated(
    link: &str,
    card: &CardCopy,
    route: &str,
    stdin: &str,
    default: &DefaultBrowser,
    lang: &str,
) -> Output {
    run_emulated(link, card, &["--route", route], stdin, default, lang)
}

/// [`read_emulated`] with other `args` in place of `--route ROUTE` (none: the app asks).
pub(crate) fn run_emulated(
    link: &str,
    card: &CardCopy,
    args: &[&str],
    stdin: &str,
    default: &DefaultBrowser,
    lang: &str,
) -> Output {
    run_typed(
        Command::new(bins::reader())
            .args(["read", "--link", link])
            .args(args)
            .args(["--pin-stdin", "--json", "--lang", lang])
            .arg("--emulator")
            .arg(&card.path)
            .env("BROWSER", default.command()),
        stdin,
    )
}

/// The emulated card `card` on the virtual reader (pcscd + vpcd).
pub(crate) fn serve(card: &CardCopy, extra: &[&str]) -> EmulatorProcess {
    EmulatorProcess::start(&card.path, extra)
}

/// After a failure that allows another attempt, on the reader page of session `id`: "read
/// again" gives a new link (not `old`); the reader app reads `card` on `route` with `typed`
/// and comes back in this browser, which ends on the portal with `name` verified.
pub(crate) fn read_again_to_the_portal(
    b: &Browser,
    demo: &Demo,
    id: &str,
    old: &str,
    (card, route, typed): (&CardCopy, &str, &str),
    name: &str,
) {
    assert_eq!(
        b.execute("return [document.getElementById('again-form').hidden, document.getElementById('way-back').hidden];"),
        serde_json::json!([false, true]),
        "read again is offered, not the way back"
    );
    b.click("read-again");
    b.wait_for_text("status", "読み取りアプリの起動を待っています", WAIT);
    assert_eq!(b.url(), format!("{}/s/{id}/pc", demo.base));
    let again = b.attr("launch", "href").expect("#launch has a link");
    assert_ne!(again, old, "a new link");
    demo.wait_for_listening_page();
    let default = DefaultBrowser::new();
    let out = read_emulated(&again, card, route, typed, &default, "ja");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    b.goto(&default.wait_for_opened(WAIT));
    let shown = b.wait_for_text("verified-name", name, std::time::Duration::from_secs(30));
    assert_eq!(shown, name);
    assert!(b.text("portal-message").contains("本人確認ができました"));
}
