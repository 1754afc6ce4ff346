//! The reader app speaks the person's language without being told: `LC_ALL`, then
//! `LC_MESSAGES`, then `LANG` (English when it names English, Japanese otherwise); `--lang`
//! wins over all of them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

use mynaid_harness::bins::run_typed;
use mynaid_reader::{i18n::Lang, lang_of_locale};
use mynaid_testkit::{PersonCard, person};

/// A stand-alone read of p01's card with `env` set (the others removed) and `extra` args;
/// what the app wrote to the person.
fn read(env: &[(&str, &str)], extra: &[&str]) -> String {
    let p = person("p01");
    let card = p.card();
    let mut c = Command::new(env!("CARGO_BIN_EXE_mynaid"));
    c.args(["read", "--route", "pin", "--pin-stdin", "--emulator"])
        .arg(&card.path)
        .args(extra)
        .env_remove("LC_ALL")
        .env_remove("LC_MESSAGES")
        .env_remove("LANG");
    for (k, v) in env {
        c.env(k, v);
    }
    let out = run_typed(&mut c, &format!("{}\n{}\n", p.auth_pin, p.pin));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

const EN: &str = "Tries left:";
const JA: &str = "入力できる残り回数";

#[test]
fn the_locale_chooses_the_language_and_the_flag_wins() {
    assert!(read(&[("LANG", "en_US.UTF-8")], &[]).contains(EN));
    assert!(read(&[("LANG", "ja_JP.UTF-8")], &[]).contains(JA));
    assert!(read(&[], &[]).contains(JA), "nothing set: Japanese first");
    assert!(read(&[("LANG", "en_US.UTF-8"), ("LC_ALL", "ja_JP.UTF-8")], &[]).contains(JA));
    assert!(read(&[("LANG", "ja_JP.UTF-8"), ("LC_MESSAGES", "en_GB.UTF-8")], &[]).contains(EN));
    assert!(read(&[("LANG", "en_US.UTF-8")], &["--lang", "ja"]).contains(JA));
    assert_eq!(lang_of_locale(Some("C.UTF-8")), Lang::Ja);
    assert_eq!(lang_of_locale(Some("en")), Lang::En);
}
