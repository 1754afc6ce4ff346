//! `mynaid read` through the real PC/SC stack: pcscd + vpcd + `mynaid-server emulator`.
//!
//! These tests need pcscd and vpcd installed (scripts/test.sh installs them); they start and
//! restart pcscd themselves and run one at a time (vpcd has one slot we use).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use mynaid_harness::bins::run_typed;
use mynaid_harness::pcsc::{EmulatorProcess, PcscStack, READER, reader_conf_dir, wait_for_card};
use mynaid_testkit::PersonCard;
use mynaid_testkit::{CardCopy, PersonRecord, person};
use serde_json::Value;

const MYNAID: &str = env!("CARGO_BIN_EXE_mynaid");

fn read(route: &str, stdin: &str, extra: &[&str]) -> Output {
    let mut command = Command::new(MYNAID);
    command
        .args([
            "read",
            "--route",
            route,
            "--pin-stdin",
            "--json",
            "--reader",
            READER,
            "--wait",
            "3",
        ])
        .args(extra);
    run_typed(&mut command, stdin)
}

/// What a person types for the 4-digit route: the user-authentication PIN, then the
/// input-support PIN (typed, even where it is the same digits).
fn four_digit(p: &PersonRecord) -> String {
    format!("{}\n{}\n", p.auth_pin, p.pin)
}

fn json(out: &Output) -> Value {
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.lines().last().unwrap_or("null")).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {text}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn remaining(card: &Path, app: &str, fid: &str) -> u64 {
    let v: Value = serde_json::from_str(&std::fs::read_to_string(card).expect("card file")).expect("card json");
    let a = v["applications"]
        .as_array()
        .expect("apps")
        .iter()
        .find(|a| a["name"] == app)
        .expect("app");
    a["pins"]
        .as_array()
        .expect("pins")
        .iter()
        .find(|p| p["fid"] == fid)
        .expect("pin")["remaining"]
        .as_u64()
        .expect("remaining")
}

fn assert_face(out: &Output, p: &PersonRecord) {
    assert!(
        out.status.success(),
        "read failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json(out);
    assert_eq!(v["name"], p.name.as_str());
    assert_eq!(v["address"], p.address.as_str());
    assert_eq!(v["birthdate"], p.birthdate.as_str());
    assert_eq!(v["sex"], p.sex.as_str());
}

fn serve(card: &CardCopy, extra: &[&str]) -> EmulatorProcess {
    EmulatorProcess::start(&card.path, extra)
}

#[test]
fn both_routes_end_to_end() {
    let _stack = PcscStack::acquire();
    let p = person("p01");
    let card = p.card();
    let emu = serve(&card, &[]);
    let out = read("pin", &four_digit(&p), &[]);
    assert_face(&out, &p);
    assert_eq!(emu.verify_count(), 2, "one VERIFY per PIN");
    assert!(!emu.touched("input-support", 0x0001), "EF 0001 must never be selected");
    assert!(
        !emu.touched("jpki", 0x0001),
        "the 4-digit route never reads the signature certificate"
    );
    let out = read(
        "password",
        &format!("{}\n", p.sign_password.as_deref().unwrap().to_lowercase()),
        &[],
    );
    assert_face(&out, &p);
    assert_eq!(emu.verify_count(), 3);
    // Extended length through vpcd: one READ per file.
    let out = read(
        "password",
        &format!("{}\n", p.sign_password.as_deref().unwrap()),
        &["--extended-length"],
    );
    assert_face(&out, &p);
}

#[test]
fn wrong_pin_costs_one_try_and_blocked_sends_nothing() {
    let _stack = PcscStack::acquire();
    let p = person("p02");
    let card = p.card();
    let emu = serve(&card, &[]);
    // A wrong user-authentication PIN ("the same" for the second): one try of that PIN,
    // the input-support PIN never presented; the message names the PIN.
    let out = read("pin", "0000\n\n", &[]);
    assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(json(&out)["error"]["tries_left"], 2);
    assert_eq!(json(&out)["error"]["pin"], "user_authentication_pin");
    assert_eq!(remaining(&card.path, "jpki", "0018"), 2);
    assert_eq!(remaining(&card.path, "input-support", "0011"), 3);
    assert_eq!(emu.verify_count(), 1);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("利用者証明用電子証明書の暗証番号") && stderr.contains("残り2回"),
        "{stderr}"
    );
    assert!(!stderr.contains("0000"));
    // p02's PINs differ: "the same" after the right user-authentication PIN is a wrong
    // input-support PIN, said by its name; the first counter is back at 3.
    let out = read("pin", &format!("{}\n\n", p.auth_pin), &[]);
    assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(json(&out)["error"]["pin"], "input_support_pin");
    assert_eq!(remaining(&card.path, "jpki", "0018"), 3);
    assert_eq!(remaining(&card.path, "input-support", "0011"), 2);
    assert!(String::from_utf8_lossy(&out.stderr).contains("券面事項入力補助用暗証番号"));
    // Typed, the right one reads the card.
    assert_face(&read("pin", &four_digit(&p), &[]), &p);

    // p04's signature password is blocked: refused before any VERIFY, with advice.
    drop(emu);
    let p4 = person("p04");
    let card4 = p4.card();
    let emu = serve(&card4, &[]);
    let out = read(
        "password",
        &format!("{}\n", p4.sign_password.as_deref().unwrap()),
        &["--lang", "en"],
    );
    assert_eq!(out.status.code(), Some(4));
    assert_eq!(json(&out)["error"]["code"], "pin_blocked");
    assert!(String::from_utf8_lossy(&out.stderr).contains("city office"));
    assert_eq!(emu.verify_count(), 0);
}

#[test]
fn last_try_asks_for_confirmation() {
    let _stack = PcscStack::acquire();
    let p = person("p05");
    let card = p.card();
    let emu = serve(&card, &[]);
    // The PINs, no answer to the question about the input-support PIN's last try: nothing
    // is sent, not even the user-authentication PIN.
    let out = read("pin", &four_digit(&p), &[]);
    assert_eq!(out.status.code(), Some(5), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("残り1回です"));
    assert_eq!(emu.verify_count(), 0);
    assert_eq!(remaining(&card.path, "input-support", "0011"), 1);
    // Confirmed: the read goes ahead and the counter is back at 3.
    let out = read("pin", &format!("{}y\n", four_digit(&p)), &[]);
    assert_face(&out, &p);
    assert_eq!(remaining(&card.path, "input-support", "0011"), 3);
}

/// The card leaves after APDU k (and, separately, while APDU k runs) for every k of both
/// routes: a clear error, no panic, no try spent, and a read after reinsertion works.
#[test]
fn card_removed_after_every_apdu() {
    let _stack = PcscStack::acquire();
    let p = person("p01");
    for (route, secret, counters) in [
        (
            "pin",
            four_digit(&p),
            vec![("jpki", "0018", 3), ("input-support", "0011", 3)],
        ),
        (
            "password",
            format!("{}\n", p.sign_password.clone().unwrap()),
            vec![("jpki", "001B", 5)],
        ),
    ] {
        let card = p.card();
        let total = {
            let emu = serve(&card, &[]);
            let out = read(route, &secret, &[]);
            assert_face(&out, &p);
            emu.trace().len()
        };
        for k in 1..=total {
            for how in ["--remove-after", "--lose-answer-at"] {
                let k_text = k.to_string();
                eprintln!("{route} {how} {k}");
                let mut emu = serve(&card, &[how, &k_text]);
                let out = read(route, &secret, &[]);
                let code = out.status.code();
                let last = k == total && how == "--remove-after";
                if last {
                    assert!(out.status.success(), "{route} {how} {k}: the answer was delivered");
                } else {
                    assert!(
                        matches!(code, Some(6 | 7)),
                        "{route} {how} {k}: exit {code:?}: {}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                    let error = json(&out)["error"]["code"].as_str().unwrap_or_default().to_string();
                    assert!(
                        ["card_removed", "verify_outcome_unknown", "no_card"].contains(&error.as_str()),
                        "{route} {how} {k}: {error}"
                    );
                }
                // At most one VERIFY per PIN, and no try spent on any counter.
                assert!(emu.verify_count() <= counters.len());
                for (app, fid, full) in &counters {
                    assert_eq!(remaining(&card.path, app, fid), *full, "{route} {how} {k} {fid}");
                }
                let _ = emu.exited();
                drop(emu);
            }
        }
        // Reinserted: works.
        let _emu = serve(&card, &[]);
        assert_face(&read(route, &secret, &[]), &p);
    }
}

#[test]
fn pcscd_restart_during_a_read() {
    let stack = PcscStack::acquire();
    let p = person("p03");
    let card = p.card();
    let _emu = serve(&card, &[]);
    let mut child = Command::new(MYNAID)
        .args(["read", "--route", "pin", "--pin-stdin", "--json", "--reader", READER])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("mynaid read");
    // The reader has asked the tries left and now waits for the PIN: restart pcscd.
    std::thread::sleep(Duration::from_millis(700));
    stack.restart_pcscd();
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(four_digit(&p).as_bytes())
        .expect("stdin");
    let out = child.wait_with_output().expect("output");
    assert!(
        matches!(out.status.code(), Some(6 | 7)),
        "{:?} {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(remaining(&card.path, "input-support", "0011"), 3);
    assert_eq!(remaining(&card.path, "jpki", "0018"), 3);
    // The emulator reconnects to the new pcscd; the next read works.
    assert!(wait_for_card(READER, true, Duration::from_secs(10)));
    assert_face(&read("pin", &four_digit(&p), &[]), &p);
}

#[test]
fn reader_level_errors_are_distinct() {
    let stack = PcscStack::acquire();
    // No card in the reader.
    let out = read("pin", "1234\n\n", &[]);
    assert_eq!(
        json(&out)["error"]["code"],
        "no_card",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A card that is not a My Number Card (no JPKI application).
    let p = person("p01");
    let card = p.card();
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(&card.path).unwrap()).unwrap();
    v["applications"]
        .as_array_mut()
        .unwrap()
        .retain(|a| a["name"] != "jpki");
    std::fs::write(&card.path, serde_json::to_string(&v).unwrap()).unwrap();
    let emu = serve(&card, &[]);
    let out = read("pin", "1234\n\n", &[]);
    assert_eq!(json(&out)["error"]["code"], "not_my_number_card");
    assert_eq!(emu.verify_count(), 0);
    drop(emu);
    // No reader: pcscd with an empty configuration.
    let empty = tempfile::tempdir().unwrap();
    stack.start_pcscd(empty.path());
    let out = read("pin", "1234\n\n", &[]);
    assert_eq!(json(&out)["error"]["code"], "no_reader");
    // The service is not running.
    stack.stop_pcscd();
    let out = read("pin", "1234\n\n", &["--lang", "en"]);
    assert_eq!(json(&out)["error"]["code"], "pcsc_not_running");
    assert!(String::from_utf8_lossy(&out.stderr).contains("pcscd"));
    stack.start_pcscd(&reader_conf_dir());
}

#[test]
fn opensc_reads_the_emulated_card() {
    let _stack = PcscStack::acquire();
    let p = person("p01");
    let card = p.card();
    let _emu = serve(&card, &[]);
    let out = Command::new("pkcs15-tool")
        .args(["-r", "0", "--list-certificates"])
        .env("OPENSC_DRIVER", "jpki")
        .output()
        .expect("pkcs15-tool (package opensc)");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(text.matches("X.509 Certificate").count(), 4, "{text}");
    let module = [
        "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so",
        "/usr/lib/aarch64-linux-gnu/opensc-pkcs11.so",
    ]
    .into_iter()
    .find(|m| Path::new(m).exists())
    .expect("opensc-pkcs11.so");
    let out = Command::new("pkcs11-tool")
        .args(["--module", module, "-L"])
        .output()
        .expect("pkcs11-tool");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("User Authentication PIN"), "{text}");
    assert!(text.contains("Digital Signature PIN"), "{text}");
    assert!(text.contains(": 4/4"), "{text}");
    assert!(text.contains(": 6/16"), "{text}");
}
