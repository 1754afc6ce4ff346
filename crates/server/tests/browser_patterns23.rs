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

use std::process::Command;

use demo::{
    Demo, MYNAID_SERVER, WAIT, four_digit, last_json, navigation_type, on_way_page, phone, phone_ok, phone_reads,
    qr_link, released,
};
use mynaid_harness::browser::{Browser, artifacts_dir};
use mynaid_testkit::PersonCard;
use mynaid_testkit::person;
use serde_json::Value;

/// `who` reads their card with the phone from `link` on the password route (the signature
/// certificate): what the phone said last.
fn phone_by_password(link: &str, who: &str) -> Value {
    let p = person(who);
    let card = p.card();
    let password = format!("{}\n", p.sign_password.clone().unwrap());
    phone_ok(&["--link", link, "--route", "password"], &card.path, &password)
}

#[test]
fn pattern_2_qr_screenshot_phone_and_confirmation_code() {
    let (demo, id, b) = on_way_page(Browser::start, "verify_identity", "method-phone", "qr");
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
        &four_digit(&p),
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
    // The page moved on by itself: the result page sends the person back to the service at
    // once (an instant redirect, WCAG 2.2.1).
    b.wait_for_url(&format!("/portal/return?session={id}"), WAIT);
    let result = released(&demo, &b, &id);
    assert_eq!(result["claims"]["name"], p.name);
}

#[test]
fn pattern_2_wrong_code_is_shown_and_counted() {
    let (demo, id, b) = on_way_page(Browser::start, "verify_identity", "method-phone", "app-link");
    // Inside a closed <details>, so read it from the DOM rather than as visible text.
    let link = qr_link(&b);
    demo.wait_for_listening_page();
    let code = phone_reads(&link, "p01");
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
    let (demo, id, b) = on_way_page(Browser::mobile, "link_card", "method-same", "open-app");
    let link = b.attr("open-app", "href").unwrap();
    assert!(link.starts_with(&format!("{}/app/read#h=", demo.base)), "{link}");
    demo.wait_for_listening_page();
    let v = phone_by_password(&link, "p03");
    let back = v["return_url"].as_str().unwrap().to_string();
    assert!(back.starts_with(&format!("{}/return#", demo.base)), "{back}");
    // The app opens the return address in this (the same) browser.
    b.goto(&back);
    b.wait_for_url(&format!("/portal/return?session={id}"), WAIT);
    assert!(!b.url().contains('#'), "the result handle left the address bar");
    let result = released(&demo, &b, &id);
    assert_eq!(result["purpose"], "link_card");
}

#[test]
fn pattern_3_return_in_another_browser_explains_and_the_code_continues() {
    let (demo, id, first) = on_way_page(Browser::mobile, "verify_identity", "method-same", "open-app");
    let link = first.attr("open-app", "href").unwrap();
    demo.wait_for_listening_page();
    let p = person("p01");
    let card = p.card();
    let v = phone_ok(&["--link", &link, "--route", "pin"], &card.path, &four_digit(&p));
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
    first.wait_for_url(&format!("/portal/return?session={id}"), WAIT);
    released(&demo, &first, &id);
}

/// An app link opened in a browser (no app claimed it): the page says so, its demo command
/// carries this very address (the handle is in the fragment, which only the page knows) and
/// runs as shown, and the back button returns to where the person came from.
#[test]
fn the_app_needed_page_fills_in_its_own_address_and_leads_back() {
    let (demo, id, b) = on_way_page(Browser::mobile, "link_card", "method-same", "open-app");
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

/// Issue 22: reload, back and the language switch on the QR page keep the same QR code and
/// PC code (nothing is posted again: no "resubmit the form?", no 405); while the code the
/// phone shows is pending, the switch keeps the code field, never says "verified" and loses
/// nothing: the code typed on the switched page releases the result.
#[test]
fn the_qr_page_keeps_its_state_through_reload_back_and_the_language_switch() {
    let (demo, id, b) = on_way_page(Browser::start, "verify_identity", "method-phone", "qr");
    let page = format!("{}/s/{id}/phone", demo.base);
    assert_eq!(b.url(), page);
    let (pc_code, link) = (b.text("pc-code"), qr_link(&b));
    b.block_on(b.client().refresh()).expect("reload");
    b.wait_for_id("qr", WAIT);
    assert_eq!(navigation_type(&b), "reload");
    assert_eq!((b.text("pc-code"), qr_link(&b)), (pc_code.clone(), link.clone()));
    b.click_css("header a[lang='en']");
    b.wait_for_text("status", "Scan this QR code", WAIT);
    assert_eq!(b.url(), format!("{page}?lang=en"));
    assert_eq!((b.text("pc-code"), qr_link(&b)), (pc_code.clone(), link.clone()));
    // Back: the page before the switch, in the language the switch chose (it is remembered),
    // with the same QR code; forward again.
    b.block_on(b.client().back()).expect("back");
    b.wait_for_text("status", "Scan this QR code", WAIT);
    assert_eq!(b.url(), page);
    assert_eq!((b.text("pc-code"), qr_link(&b)), (pc_code.clone(), link.clone()));
    b.block_on(b.client().forward()).expect("forward");
    b.wait_for_text("status", "Scan this QR code", WAIT);
    assert_eq!(b.url(), format!("{page}?lang=en"));
    demo.wait_for_listening_page();

    let p = person("p02");
    let code = phone_reads(&link, "p02");
    b.wait_for_text("status", "Type the 6-digit confirmation code", WAIT);
    // Switched while the code waits: the same page, the code field, in Japanese.
    b.click_css("header a[lang='ja']");
    b.wait_for_text("status", "確認コードを入力してください", WAIT);
    assert_eq!(b.url(), format!("{page}?lang=ja"));
    assert_eq!(b.attr("status", "data-state").as_deref(), Some("confirm_needed"));
    assert!(b.text("confirm").contains("スマートフォンに表示された6桁の数字"));
    assert!(!b.text_css("main").contains("カードを確認できました"));
    assert!(!b.exists("qr"), "the used QR code is not shown again");
    assert_eq!(demo.take_result(&b, &id).0, 409, "nothing released yet");
    b.block_on(b.find("confirm-code").send_keys(&code)).unwrap();
    b.click("confirm-submit");
    moved_on(&b, &page);
    let result = released(&demo, &b, &id);
    assert_eq!(result["claims"]["name"], p.name);
}

/// Waits until the browser left `page` (for the result page, and on to the service), then
/// opens the server's home page, where the session's cookie can be looked at.
fn moved_on(b: &Browser, page: &str) {
    let deadline = std::time::Instant::now() + WAIT;
    while b.url().starts_with(page) {
        assert!(
            std::time::Instant::now() < deadline,
            "the page did not move on: {}",
            b.url()
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let origin: String = page.split('/').take(3).collect::<Vec<_>>().join("/");
    b.goto(&format!("{origin}/"));
}

/// Issue 22: the phone-only page, reloaded and switched to English, keeps its app button;
/// switched while the code waits, it keeps the code field (the app's way back then releases
/// the result in this browser).
#[test]
fn the_phone_only_page_keeps_its_state_through_reload_and_the_language_switch() {
    let (demo, id, b) = on_way_page(Browser::mobile, "link_card", "method-same", "open-app");
    let page = format!("{}/s/{id}/same", demo.base);
    assert_eq!(b.url(), page);
    let link = b.attr("open-app", "href").unwrap();
    b.block_on(b.client().refresh()).expect("reload");
    b.wait_for_id("open-app", WAIT);
    assert_eq!(navigation_type(&b), "reload");
    assert_eq!(b.attr("open-app", "href").as_deref(), Some(link.as_str()));
    b.click_css("header a[lang='en']");
    b.wait_for_text("status", "Read your card in the mynaid app", WAIT);
    assert_eq!(b.attr("open-app", "href").as_deref(), Some(link.as_str()));
    demo.wait_for_listening_page();
    let back = phone_by_password(&link, "p03")["return_url"]
        .as_str()
        .unwrap()
        .to_string();
    b.wait_for_text("status", "Waiting for the app to return to this browser", WAIT);
    b.click_css("header a[lang='ja']");
    b.wait_for_text("status", "アプリからこのブラウザに戻るのを待っています", WAIT);
    assert_eq!(b.url(), format!("{page}?lang=ja"));
    assert!(b.text("confirm").contains("mynaidアプリに表示された6桁の数字"));
    assert!(!b.exists("open-app"), "the used link is not offered again");
    assert_eq!(demo.take_result(&b, &id).0, 409);
    b.goto(&back);
    moved_on(&b, &format!("{}/return", demo.base));
    let result = released(&demo, &b, &id);
    assert_eq!(result["purpose"], "link_card");
}

/// Issue 22: a phone's failure reaches the page within 2 s with what to do next: a card
/// without a signature certificate (p06) on the password route; the page's "new QR code"
/// then reads it with the 4-digit PINs.
#[test]
fn a_phone_failure_reaches_the_qr_page_within_2_s() {
    let (demo, id, b) = on_way_page(Browser::start, "link_card", "method-phone", "qr");
    demo.wait_for_listening_page();
    let p = person("p06");
    let card = p.card();
    let out = phone(
        &["--link", &qr_link(&b), "--route", "password"],
        &card.path,
        "ABCDEF12\n",
    );
    let failed_at = std::time::Instant::now();
    assert_eq!(last_json(&out)["error"]["code"], "no_signature_certificate");
    let status = b.wait_for_text("status", "署名用電子証明書がない", std::time::Duration::from_secs(2));
    assert!(failed_at.elapsed() <= std::time::Duration::from_secs(2));
    assert!(status.contains("「QRコードを新しくする」を押して"), "{status}");
    assert!(!status.contains("QRコードをだれにも"), "{status}");
    b.click("refresh");
    b.wait_for_text("status", "QRコードを読み取ってください", WAIT);
    assert_eq!(b.url(), format!("{}/s/{id}/phone", demo.base));
    demo.wait_for_listening_page();
    phone_ok(&["--link", &qr_link(&b), "--route", "pin"], &card.path, &four_digit(&p));
    b.wait_for_id("confirm-code", WAIT);
    b.wait_for_text("status", "確認コードを入力してください", WAIT);
}

/// Issue 22: the "app needed" page has a real link to where the app is got (the project's
/// releases by default), besides its way back.
#[test]
fn the_app_needed_page_links_to_the_app() {
    let demo = Demo::start(300);
    let b = Browser::mobile();
    b.goto(&format!("{}/app/read#h=AAAA&o=x", demo.base));
    b.wait_for_id("install-app", WAIT);
    let install = b.find("install-app");
    assert_eq!(b.block_on(install.tag_name()).unwrap(), "a");
    assert_eq!(
        b.attr("install-app", "href").as_deref(),
        Some("https://github.com/mynaid/mynaid/releases")
    );
    assert_eq!(b.text("install-app"), "mynaidアプリを入手する");
    assert!(b.exists("go-back"));
}
