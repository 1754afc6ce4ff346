//! Patterns 2 and 3 in a real browser: headless Chromium shows the pages, `mynaid-server phone`
//! plays the smartphone app against an emulated card over simulated NFC.
//!
//! Pattern 2: a real screenshot of the page's QR code is decoded by `mynaid-server phone --qr`; the
//! phone shows the PC code and then a confirmation code, which is typed on the PC page; the
//! page moves on by itself. Pattern 3: a phone-sized browser opens the app link, the app sends
//! the browser back with the result handle; opened in another browser the page explains and
//! the code continues it in the first.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod demo;

use std::path::Path;
use std::process::{Command, Output};

use demo::{Demo, WAIT};
use mynaid_harness::bins::run_typed;
use mynaid_harness::browser::{Browser, artifacts_dir};
use mynaid_testkit::PersonCard;
use mynaid_testkit::person;
use serde_json::Value;

const MYNAID_SERVER: &str = env!("CARGO_BIN_EXE_mynaid-server");

fn phone(args: &[&str], card: &Path, stdin: &str) -> Output {
    run_typed(
        Command::new(MYNAID_SERVER)
            .arg("phone")
            .args(args)
            .arg("--emulator")
            .arg(card)
            .args(["--pin-stdin", "--json", "--nfc-delay-ms", "2", "--no-browser"]),
        stdin,
    )
}

fn last_json(out: &Output) -> Value {
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.lines().last().unwrap_or("null")).unwrap_or_else(|e| {
        panic!(
            "phone output is not JSON ({e}): {text}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

#[test]
fn pattern_2_qr_screenshot_phone_and_confirmation_code() {
    let demo = Demo::start(300);
    let (id, url) = demo.create_session("verify_identity");
    let b = Browser::start();
    b.goto(&url);
    b.wait_for_id("method-phone", WAIT);
    b.click("method-phone");
    b.wait_for_id("qr", WAIT);
    let pc_code = b.text("pc-code");
    assert_eq!(pc_code.len(), 4, "{pc_code}");
    demo.wait_for_listening_page();

    // A real screenshot of the QR code, as a phone's camera would see it.
    let shot = artifacts_dir().join(format!("qr-{id}.png"));
    let png = b.block_on(b.find("qr").screenshot()).expect("element screenshot");
    std::fs::create_dir_all(shot.parent().unwrap()).unwrap();
    std::fs::write(&shot, png).unwrap();

    let p = person("p02");
    let card = p.card();
    let out = phone(
        &["--qr", shot.to_str().unwrap(), "--route", "pin"],
        &card.path,
        &format!("{}\n{}\n", p.auth_pin, p.pin),
    );
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "phone failed: {stderr}");
    assert!(
        stderr.contains(&pc_code),
        "the phone shows the PC's code {pc_code}: {stderr}"
    );
    let code = last_json(&out)["confirmation_code"].as_str().unwrap().to_string();
    let _ = std::fs::remove_file(&shot);

    // The PC page asks for the code; nothing is released before it is typed.
    b.wait_for_text("status", "確認コード", WAIT);
    assert_eq!(demo.take_result(&b, &id).0, 409);
    b.find("confirm-code");
    b.block_on(b.find("confirm-code").send_keys(&code)).unwrap();
    b.click("confirm-submit");
    b.wait_for_url("/done", WAIT);
    assert!(
        b.html().contains("マイナンバーカードを確認できました"),
        "the page moved on by itself"
    );
    let (status, result) = demo.take_result(&b, &id);
    assert_eq!(status, 200, "{result}");
    assert_eq!(result["claims"]["name"], p.name);
}

#[test]
fn pattern_2_wrong_code_is_shown_and_counted() {
    let demo = Demo::start(300);
    let (id, url) = demo.create_session("verify_identity");
    let b = Browser::start();
    b.goto(&url);
    b.click("method-phone");
    b.wait_for_id("app-link", WAIT);
    // Inside a closed <details>, so read it from the DOM rather than as visible text.
    let link = b
        .execute("return document.getElementById('app-link').textContent;")
        .as_str()
        .unwrap()
        .to_string();
    demo.wait_for_listening_page();
    let p = person("p01");
    let card = p.card();
    let out = phone(
        &["--link", &link, "--route", "pin"],
        &card.path,
        &format!("{}\n{}\n", p.auth_pin, p.pin),
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let code = last_json(&out)["confirmation_code"].as_str().unwrap().to_string();
    let wrong = format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000);
    b.wait_for_text("status", "確認コード", WAIT);
    b.block_on(b.find("confirm-code").send_keys(&wrong)).unwrap();
    b.click("confirm-submit");
    let shown = b.wait_for_text("confirm-error", "あと4回", WAIT);
    assert!(shown.contains("確認コードが違います"), "{shown}");
    assert_eq!(demo.take_result(&b, &id).0, 409, "a wrong code releases nothing");
}

#[test]
fn pattern_3_phone_browser_app_and_back() {
    let demo = Demo::start(300);
    let (id, url) = demo.create_session("link_card");
    let b = Browser::mobile();
    b.goto(&url);
    b.wait_for_id("method-same", WAIT);
    b.click("method-same");
    b.wait_for_id("open-app", WAIT);
    let link = b.attr("open-app", "href").unwrap();
    assert!(link.starts_with(&format!("{}/app/read#h=", demo.base)), "{link}");
    demo.wait_for_listening_page();
    let p = person("p03");
    let card = p.card();
    let out = phone(
        &["--link", &link, "--route", "password"],
        &card.path,
        &format!("{}\n", p.sign_password.clone().unwrap()),
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v = last_json(&out);
    let back = v["return_url"].as_str().unwrap().to_string();
    assert!(back.starts_with(&format!("{}/return#", demo.base)), "{back}");
    // The app opens the return address in this (the same) browser.
    b.goto(&back);
    b.wait_for_url("/done", WAIT);
    assert!(b.html().contains("マイナンバーカードを確認できました"));
    assert!(!b.url().contains('#'), "the result handle left the address bar");
    let (status, result) = demo.take_result(&b, &id);
    assert_eq!(status, 200, "{result}");
    assert_eq!(result["purpose"], "link_card");
}

#[test]
fn pattern_3_return_in_another_browser_explains_and_the_code_continues() {
    let demo = Demo::start(300);
    let (id, url) = demo.create_session("verify_identity");
    let first = Browser::mobile();
    first.goto(&url);
    first.click("method-same");
    first.wait_for_id("open-app", WAIT);
    let link = first.attr("open-app", "href").unwrap();
    demo.wait_for_listening_page();
    let p = person("p01");
    let card = p.card();
    let out = phone(
        &["--link", &link, "--route", "pin"],
        &card.path,
        &format!("{}\n{}\n", p.auth_pin, p.pin),
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v = last_json(&out);
    // Another browser on the phone opens the return address.
    let other = Browser::mobile();
    other.goto(v["return_url"].as_str().unwrap());
    let text = other.wait_for_text("return-status", "手続きを始めたブラウザでしか使えない", WAIT);
    assert!(text.contains("確認コード"), "it says what to do: {text}");
    assert!(
        text.contains("だれかから送られたリンクであれば"),
        "and what not to do: {text}"
    );
    assert_eq!(
        other.attr("return-status", "data-code").as_deref(),
        Some("other_browser")
    );
    assert_eq!(demo.take_result(&first, &id).0, 409);
    // Back in the first browser, the code continues.
    first.wait_for_id("confirm-code", WAIT);
    first
        .block_on(
            first
                .find("confirm-code")
                .send_keys(v["confirmation_code"].as_str().unwrap()),
        )
        .unwrap();
    first.click("confirm-submit");
    first.wait_for_url("/done", WAIT);
    assert_eq!(demo.take_result(&first, &id).0, 200);
}

/// An app link opened in a browser (no app claimed it): the page says so, its demo command
/// carries this very address (the handle is in the fragment, which only the page knows) and
/// runs as shown, and the back button returns to where the person came from.
#[test]
fn the_app_needed_page_fills_in_its_own_address_and_leads_back() {
    let demo = Demo::start(300);
    let (id, url) = demo.create_session("link_card");
    let b = Browser::mobile();
    b.goto(&url);
    b.click("method-same");
    b.wait_for_id("open-app", WAIT);
    let link = b.attr("open-app", "href").unwrap();
    // From the procedure page (a plain GET), the link opened in this browser.
    b.goto(&format!("{}/s/{id}", demo.base));
    b.wait_for_id("method-same", WAIT);
    b.goto(&link);
    b.wait_for_text("this-address", "/app/read#h=", WAIT);
    assert_eq!(b.text("this-address"), link);
    let command = b.text("demo-command");
    assert!(
        command.contains(&format!(" phone --link '{link}' --emulator ")),
        "{command}"
    );
    b.click("go-back");
    b.wait_for_url(&format!("/s/{id}"), WAIT);
    assert!(b.exists("method-same"), "back on the procedure page");
}

/// The phone stand-in without its link says both ways to give one.
#[test]
fn the_phone_stand_in_without_a_link_names_both_ways() {
    let out = Command::new(MYNAID_SERVER)
        .args(["phone", "--emulator", "card.json"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--qr") && err.contains("--link"), "{err}");
}
