//! What the reader app says when a reading fails, end to end (an emulated card in process:
//! no pcscd, no browser): the words of `i18n::card_error` as the person gets them, in
//! Japanese and English, with the PIN named, what to do next, and no raw card error. The
//! words of every failure are checked one by one in `i18n`'s unit tests.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

use mynaid_harness::bins::run_typed;
use mynaid_testkit::{PersonCard, person};
use serde_json::Value;

/// One failed reading: who, which route, what is typed, the error's code, and what the
/// message says in each language.
struct Case {
    who: &'static str,
    route: &'static str,
    typed: fn(&mynaid_testkit::PersonRecord) -> String,
    code: &'static str,
    ja: &'static [&'static str],
    en: &'static [&'static str],
}

const BY_PASSWORD: [&str; 2] = [
    "署名用電子証明書のパスワード（英数字6〜16文字）で読み取ることはできます",
    "you can still read the card with the signature password",
];
const BY_PINS: [&str; 2] = [
    "数字4桁の暗証番号で読み取ることはできます",
    "you can still read the card with the 4-digit PINs",
];

const CASES: &[Case] = &[
    Case {
        who: "p02",
        route: "pin",
        typed: |_| "0000\n\n".into(),
        code: "wrong_pin",
        ja: &[
            "利用者証明用電子証明書の暗証番号（数字4桁）が違います。残り2回です。",
            "もう一度読み取ってください",
        ],
        en: &[
            "Wrong user-authentication certificate PIN (4 digits). 2 tries left.",
            "read the card again",
        ],
    },
    // The last try of the input-support PIN, confirmed and wrong: locked, only at the city
    // office, and the password still reads.
    Case {
        who: "p05",
        route: "pin",
        typed: |p| format!("{}\n9999\ny\n", p.auth_pin),
        code: "wrong_pin_now_blocked",
        ja: &[
            "券面事項入力補助用暗証番号（数字4桁）が違います。",
            "ロックされました",
            "コンビニでは初期化できません",
            BY_PASSWORD[0],
        ],
        en: &[
            "Wrong card-info input-support PIN (4 digits).",
            "it is now locked",
            "cannot be reset at a convenience store",
            BY_PASSWORD[1],
        ],
    },
    Case {
        who: "p05",
        route: "pin",
        typed: |p| format!("{}\n{}\nn\n", p.auth_pin, p.pin),
        code: "last_try_not_confirmed",
        ja: &[
            "券面事項入力補助用暗証番号（数字4桁）は残り1回",
            "カードには何も送っていません",
            "y と答えてください",
        ],
        en: &[
            "only 1 try left",
            "Nothing was sent to the card",
            "answer y to the question",
        ],
    },
    Case {
        who: "p04",
        route: "password",
        typed: |p| format!("{}\n", p.sign_password.clone().unwrap()),
        code: "pin_blocked",
        ja: &[
            "署名用電子証明書のパスワード（英数字6〜16文字）はロックされています",
            "コンビニのキオスク端末",
            BY_PINS[0],
        ],
        en: &[
            "Your signature certificate password (6 to 16 letters and digits) is locked",
            "convenience-store kiosk",
            BY_PINS[1],
        ],
    },
    Case {
        who: "p11",
        route: "pin",
        typed: |p| format!("{}\n\n", p.auth_pin),
        code: "pin_blocked",
        ja: &[
            "利用者証明用電子証明書の暗証番号（数字4桁）はロックされています",
            "署名用電子証明書のパスワードが分かれば、コンビニのキオスク端末",
            BY_PASSWORD[0],
        ],
        en: &[
            "Your user-authentication certificate PIN (4 digits) is locked",
            "with your signature password you can also reset it",
            BY_PASSWORD[1],
        ],
    },
    Case {
        who: "p12",
        route: "pin",
        typed: |p| format!("{}\n\n", p.auth_pin),
        code: "pin_blocked",
        ja: &[
            "券面事項入力補助用暗証番号（数字4桁）はロックされています",
            "コンビニでは初期化できません",
            BY_PASSWORD[0],
        ],
        en: &[
            "Your card-info input-support PIN (4 digits) is locked",
            "cannot be reset at a convenience store",
            BY_PASSWORD[1],
        ],
    },
    // A child's card: the card answers 6A82 to the signature certificate; the person hears
    // what it means.
    Case {
        who: "p06",
        route: "password",
        typed: |_| "ABCDEF12\n".into(),
        code: "no_signature_certificate",
        ja: &["署名用電子証明書がない", BY_PINS[0]],
        en: &["no signature certificate", BY_PINS[1]],
    },
    // Three badly formed passwords: nothing sent, and how to go on.
    Case {
        who: "p01",
        route: "password",
        typed: |_| "AB\nAB\nAB\n".into(),
        code: "pin_format",
        ja: &[
            "パスワードは6〜16文字です。",
            "入力できる回数は減っていません",
            "正しい形で入力してください",
        ],
        en: &["6 to 16 characters", "no try was used", "Read the card again"],
    },
];

#[test]
fn a_failed_reading_says_what_happened_and_what_to_do_next_in_both_languages() {
    for case in CASES {
        let p = person(case.who);
        let typed = (case.typed)(&p);
        for (lang, phrases) in [("ja", case.ja), ("en", case.en)] {
            // A fresh copy of the card each time: a wrong PIN costs a try of the copy only.
            let card = p.card();
            let out = run_typed(
                Command::new(env!("CARGO_BIN_EXE_mynaid"))
                    .args([
                        "read",
                        "--route",
                        case.route,
                        "--pin-stdin",
                        "--json",
                        "--lang",
                        lang,
                        "--emulator",
                    ])
                    .arg(&card.path),
                &typed,
            );
            let said = String::from_utf8_lossy(&out.stderr);
            let what = format!("{} {} ({lang})", case.who, case.code);
            let json: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{what}: {e}: {said}"));
            assert_eq!(json["error"]["code"], case.code, "{what}: {said}");
            let message = json["error"]["message"].as_str().unwrap();
            assert!(said.contains(message), "{what}: the person hears what the script gets");
            for phrase in phrases {
                assert!(message.contains(phrase), "{what} lacks {phrase:?}: {message}");
            }
            // Said once: the other route is not appended again to words that say it.
            for route in BY_PASSWORD.iter().chain(&BY_PINS) {
                assert!(message.matches(route).count() <= 1, "{what}: said twice: {message}");
            }
            for raw in ["SW ", "6A82", "6984", "63C"] {
                assert!(!said.contains(raw), "{what}: raw card answer {raw:?}: {said}");
            }
            for pin in typed.lines().filter(|l| l.len() >= 4) {
                assert!(
                    !said.contains(pin) && !message.contains(pin),
                    "{what}: the PIN was shown"
                );
            }
        }
    }
}
