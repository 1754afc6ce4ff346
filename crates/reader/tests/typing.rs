//! What the person types at the reader app: a PIN of the wrong form sends nothing to the card
//! and is asked for again (three entries at most), so a typo does not end the procedure.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Output};

use mynaid_harness::bins::run_typed;
use mynaid_testkit::{PersonCard, person};

fn read(card: &std::path::Path, typed: &str) -> (Output, String) {
    let out = run_typed(
        Command::new(env!("CARGO_BIN_EXE_mynaid"))
            .args([
                "read",
                "--route",
                "pin",
                "--pin-stdin",
                "--json",
                "--lang",
                "en",
                "--emulator",
            ])
            .arg(card),
        typed,
    );
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out, text)
}

#[test]
fn a_badly_formed_pin_is_asked_for_again_and_costs_nothing() {
    let p = person("p01");
    let card = p.card();
    // A typo, then the PIN, then Enter alone ("the same" input-support PIN): read, with the
    // tries untouched. Both counters were shown once, before anything was typed.
    let (out, text) = read(&card.path, &format!("12\n{}\n\n", p.auth_pin));
    assert!(out.status.success(), "{text}");
    assert!(text.contains("Nothing was sent to the card; no try was used"), "{text}");
    assert_eq!(
        text.matches("user-authentication certificate PIN (4 digits): 3 tries left")
            .count(),
        1,
        "{text}"
    );
    assert_eq!(
        text.matches("card-info input-support PIN (4 digits): 3 tries left")
            .count(),
        1,
        "{text}"
    );
    // A typo in the input-support PIN is asked for again too.
    let (out, text) = read(&card.path, &format!("{}\n12\n{}\n", p.auth_pin, p.pin));
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("The card-info input-support PIN (4 digits) is 4 digits."),
        "{text}"
    );
    // Three typos: the app stops, still with nothing sent (exit 2, pin_format).
    let (out, text) = read(&card.path, "1\n12\n123\n");
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("\"pin_format\""), "{text}");
    // The card's counter never moved: the next reading starts from 3 again.
    let (out, text) = read(&card.path, &format!("{}\n{}\n", p.auth_pin, p.pin));
    assert!(out.status.success() && text.contains("3 tries left"), "{text}");
}
