//! Pattern 1 (a PC with an IC card reader) in a real browser: headless Chromium on the demo
//! portal and the server in process, the reader app `mynaid read --link …` through pcscd +
//! vpcd with an emulated card, and what the person sees on the page. The reader app's way
//! back goes to the PC's default browser (`$BROWSER`, recorded by [`DefaultBrowser`]); the
//! test opens it in the browser that started, or in another one.
//!
//! These tests need Chromium and chromedriver (scripts/lib/browser.sh installs them) and
//! pcscd + vpcd (scripts/lib/pcsc.sh); they take the PC/SC stack one at a time. When one
//! fails, the browser leaves a screenshot and the page's HTML in target/browser-artifacts.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod demo;
mod reader_app;

use std::process::Command;
use std::time::Duration;

use demo::{Demo, WAIT, navigation_type, run_as_shown};
use mynaid_harness::bins::{self, run_typed};
use mynaid_harness::browser::{Browser, BrowserOptions, DefaultBrowser, artifacts_dir};
use mynaid_harness::pcsc::{PcscStack, READER};
use mynaid_testkit::PersonCard;
use mynaid_testkit::person;
use reader_app::{
    consent, four_digit, json, read, read_again_to_the_portal, read_emulated, read_in, serve, session_id,
    to_reader_page,
};

/// The person's way through the portal to the reader page of pattern 1; returns the
/// `mynaid://` link the page opens.
fn open_reader_page(b: &Browser, demo: &Demo) -> String {
    b.goto(&format!("{}/portal", demo.base));
    b.click("verify-identity");
    consent(b, "本人確認");
    b.wait_for_id("method-pc", WAIT);
    let page = b.html();
    assert!(
        page.contains("登録ポータル（デモ）"),
        "the procedure page names the service"
    );
    assert!(page.contains(&demo.base), "and its address");
    b.click("method-pc");
    b.wait_for_id("launch", WAIT);
    let link = b.attr("launch", "href").expect("#launch has a link");
    let server = demo.base.replace(':', "%3A").replace('/', "%2F");
    assert!(
        link.starts_with(&format!("mynaid://read?server={server}&handle=")),
        "{link}"
    );
    assert_eq!(b.text("command"), format!("mynaid read --link '{link}'"));
    b.wait_for_text("status", "読み取りアプリの起動を待っています", WAIT);
    demo.wait_for_listening_page();
    link
}

/// From the consent page to the reader page: agree, choose the PC reader, read `p`'s card,
/// and come back in this browser.
fn agree_and_read(b: &Browser, demo: &Demo, purpose: &str, typed: &str) {
    consent(b, purpose);
    b.wait_for_id("method-pc", WAIT);
    b.click("method-pc");
    b.wait_for_id("launch", WAIT);
    let link = b.attr("launch", "href").expect("#launch has a link");
    b.wait_for_text("status", "読み取りアプリの起動を待っています", WAIT);
    demo.wait_for_listening_page();
    let default = DefaultBrowser::new();
    let out = read(&link, "pin", typed, &default);
    assert!(
        out.status.success(),
        "mynaid read: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    b.goto(&default.wait_for_opened(WAIT));
}

#[test]
fn the_page_moves_on_by_itself_and_the_portal_shows_the_verified_name() {
    let _stack = PcscStack::acquire();
    let p = person("p01");
    let card = p.card();
    let emu = serve(&card, &[]);
    let demo = Demo::with_portal(300);
    let b = Browser::start();
    let link = open_reader_page(&b, &demo);

    let default = DefaultBrowser::new();
    let out = read(&link, "pin", &four_digit(&p), &default);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "mynaid read: {stderr}");
    assert_eq!(json(&out)["status"], "verified");
    // The app showed the same service and address as the page, before the PIN.
    assert!(stderr.contains("登録ポータル（デモ）"), "{stderr}");
    assert!(stderr.contains(&demo.base), "{stderr}");
    assert_eq!(emu.verify_count(), 2, "one VERIFY per 4-digit PIN");
    // Read, not yet released: the page waits for the way back to this browser.
    b.wait_for_text("status", "確認のページを開くのを待っています", WAIT);
    assert_eq!(b.attr("status", "data-state").as_deref(), Some("confirm_needed"));

    // The app opened its way back in the default browser, which is this one: the return
    // page → the result page → back to the portal, which took the result.
    let back = default.wait_for_opened(WAIT);
    assert!(back.starts_with(&format!("{}/return#", demo.base)), "{back}");
    b.goto(&back);
    let name = b.wait_for_text("verified-name", &p.name, Duration::from_secs(30));
    assert_eq!(name, p.name);
    assert!(b.url().ends_with("/portal"), "{}", b.url());
    assert!(b.text("portal-message").contains("本人確認ができました"));
    let table = b.text("verified");
    assert!(table.contains(&p.address), "{table}");
    assert!(table.contains(&p.birthdate), "{table}");
    // In words, not the wire's values.
    assert!(
        table.contains("利用者証明用電子証明書と数字4桁の暗証番号で確認"),
        "{table}"
    );
    assert!(
        table.contains("男性 / Male") && !table.contains("user_authentication"),
        "{table}"
    );
    assert!(
        table.contains("（日本時間）") && table.contains("(Japan time)"),
        "{table}"
    );
    // Each English half is marked English (WCAG 3.1.2), for a screen reader to speak it so.
    assert_eq!(
        b.execute("return document.querySelector('#verified-gender span[lang=en]').textContent;"),
        serde_json::json!("Male")
    );
    assert_eq!(
        b.execute("return document.querySelectorAll('main span[lang=en]').length > 10;"),
        serde_json::json!(true)
    );
}

/// The demo's page shows a command for its emulated cards: run as shown (in a shell, with
/// what a person types), it reads the card for this very session and the page moves on. No
/// PC/SC: `--emulator` reads the card file in process.
#[test]
fn the_demo_command_on_the_page_runs_as_shown() {
    let p = person("p01");
    let demo = Demo::with_portal(300);
    let b = Browser::start();
    let link = open_reader_page(&b, &demo);
    let command = b.text("demo-command");
    let reader = bins::reader();
    assert!(
        command.starts_with(&format!("{} read --link '{link}' --emulator ", reader.display())),
        "{command}"
    );
    let default = DefaultBrowser::new();
    run_as_shown(&command, "--route pin --pin-stdin", &four_digit(&p), &default);
    b.goto(&default.wait_for_opened(WAIT));
    let name = b.wait_for_text("verified-name", &p.name, Duration::from_secs(30));
    assert_eq!(name, p.name);
}

#[test]
fn the_portal_links_the_card_then_signs_in_with_it_through_openid_connect() {
    let _stack = PcscStack::acquire();
    let p = person("p01");
    let card = p.card();
    let _emu = serve(&card, &[]);
    let demo = Demo::with_portal(300);

    // Link: the account keeps the card's identifier (the OIDC sub).
    let b = Browser::start();
    b.goto(&format!("{}/portal", demo.base));
    assert!(b.text("linked").contains("未連携"));
    b.click("link-card");
    agree_and_read(&b, &demo, "連携", &four_digit(&p));
    b.wait_for_text("portal-message", "連携しました", Duration::from_secs(30));
    assert!(b.url().ends_with("/portal"), "{}", b.url());
    let linked = b.text("linked");
    assert!(linked.contains("連携済み"), "{linked}");
    drop(b);

    // Another browser, a new empty account: declining sends it back with nothing.
    let b = Browser::start();
    b.goto(&format!("{}/portal", demo.base));
    assert!(b.text("linked").contains("未連携"));
    b.click("sign-in");
    b.wait_for_id("consent-deny", WAIT);
    b.click("consent-deny");
    b.wait_for_text("portal-message", "完了しませんでした", WAIT);
    assert!(b.text("linked").contains("未連携"));
    // Signing in with the card finds the account it was linked to. The consent page's
    // purpose says signing in too (the card signs the same purpose, `link_card`).
    b.click("sign-in");
    agree_and_read(&b, &demo, "連携済みのカードでのサインイン", &four_digit(&p));
    b.wait_for_text("portal-message", "サインインしました", Duration::from_secs(30));
    assert_eq!(b.text("linked"), linked, "signed in to the linked account");
}

#[test]
fn a_wrong_pin_shows_the_tries_left_on_the_page() {
    let _stack = PcscStack::acquire();
    let p = person("p02");
    let card = p.card();
    let emu = serve(&card, &[]);
    let demo = Demo::with_portal(300);
    let b = Browser::start();
    let link = open_reader_page(&b, &demo);

    let out = read(&link, "pin", "0000\n\n", &DefaultBrowser::new());
    assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(json(&out)["error"]["tries_left"], 2);
    assert_eq!(emu.verify_count(), 1);
    // The page names the PIN that was wrong: the 4-digit route has two.
    let status = b.wait_for_text("status", "残り2回", WAIT);
    assert!(
        status.contains("利用者証明用電子証明書の暗証番号（数字4桁）が違います"),
        "{status}"
    );
    assert_eq!(b.attr("status", "data-state").as_deref(), Some("pin_wrong"));
    assert!(!b.html().contains("0000"), "the page never shows the PIN");
    // The next step it names works: read again with the right PINs, on to the portal.
    let id = session_id(&b);
    read_again_to_the_portal(&b, &demo, &id, &link, (&card, "pin", &four_digit(&p)), &p.name);
}

#[test]
fn a_blocked_card_sends_the_person_to_the_city_office() {
    let _stack = PcscStack::acquire();
    // p04's signature password is blocked.
    let p = person("p04");
    let card = p.card();
    let emu = serve(&card, &[]);
    let demo = Demo::with_portal(300);
    let b = Browser::start();
    let link = open_reader_page(&b, &demo);

    let out = read(
        &link,
        "password",
        &format!("{}\n", p.sign_password.as_deref().unwrap()),
        &DefaultBrowser::new(),
    );
    assert_eq!(out.status.code(), Some(4), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(json(&out)["error"]["code"], "pin_blocked");
    assert_eq!(emu.verify_count(), 0, "a blocked PIN is never presented");
    let status = b.wait_for_text("status", "市区町村の窓口", WAIT);
    assert!(status.contains("ロックされています"), "{status}");
    assert_eq!(b.attr("status", "data-state").as_deref(), Some("pin_blocked"));
}

#[test]
fn an_expired_session_says_so_on_the_page() {
    // No card is touched: the reader app is refused at the redeem.
    let demo = Demo::with_portal(6);
    let b = Browser::start();
    let link = open_reader_page(&b, &demo);
    let status = b.wait_for_text("status", "有効期限", WAIT);
    // What to do next: within the session's longest life, a new reading with new time.
    assert!(
        status.contains("「もう一度読み取る」を押して、新しい時間で読み取ってください"),
        "{status}"
    );
    assert_eq!(b.attr("status", "data-state").as_deref(), Some("expired"));
    assert_eq!(
        b.execute("return document.getElementById('countdown').textContent;"),
        serde_json::json!("0:00")
    );

    let out = read(&link, "pin", "1234\n\n", &DefaultBrowser::new());
    assert!(!out.status.success());
    assert_eq!(json(&out)["error"]["code"], "session_expired");
    // Reloading the reader page goes to the result page, which says the same and offers it.
    b.block_on(b.client().refresh()).expect("reload");
    b.wait_for_url("/done", WAIT);
    let main = b.text_css("main");
    assert!(main.contains("有効期限が切れました"), "{main}");
    assert!(main.contains("新しい時間で、もう一度読み取ることができます"), "{main}");
    b.click("read-again");
    b.wait_for_text("status", "読み取りアプリの起動を待っています", WAIT);
    assert!(b.url().ends_with("/pc"), "{}", b.url());
    assert_ne!(b.attr("launch", "href").as_deref(), Some(link.as_str()));
}

#[test]
fn a_card_removed_during_the_read_is_reported_on_the_page() {
    let _stack = PcscStack::acquire();
    let p = person("p01");
    let card = p.card();
    // How many APDUs a whole read takes (a stand-alone read, nothing sent anywhere).
    let total = {
        let emu = serve(&card, &[]);
        let out = run_typed(
            Command::new(bins::reader())
                .args(["read", "--route", "pin", "--pin-stdin", "--json"])
                .args(["--reader", READER, "--wait", "5"]),
            &four_digit(&p),
        );
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        emu.trace().len()
    };
    assert!(total > 8, "{total} APDUs");
    // The card leaves after the PIN was accepted, while the files are read.
    let remove_after = (total / 2 + 1).to_string();
    let demo = Demo::with_portal(300);
    let b = Browser::start();
    let link = open_reader_page(&b, &demo);
    let emu = serve(&card, &["--remove-after", &remove_after]);

    let out = read(&link, "pin", &four_digit(&p), &DefaultBrowser::new());
    assert_eq!(out.status.code(), Some(6), "{}", String::from_utf8_lossy(&out.stderr));
    let code = json(&out)["error"]["code"].as_str().unwrap().to_string();
    assert!(
        ["card_removed", "verify_outcome_unknown"].contains(&code.as_str()),
        "{code}"
    );
    assert!(emu.verify_count() <= 2);
    let status = b.wait_for_text("status", "カードが取り外されました", WAIT);
    assert!(status.contains("置き直して"), "{status}");
    assert_eq!(b.attr("status", "data-state").as_deref(), Some("card_removed"));
    // The next step it names works: read again, the card whole, on to the portal.
    let id = session_id(&b);
    read_again_to_the_portal(&b, &demo, &id, &link, (&card, "pin", &four_digit(&p)), &p.name);
}

/// In English, with another browser as the PC's default: the way back opens there and
/// releases nothing (it says why and what to do); the page that started shows the code field
/// with words for the reader app, the code the app printed moves it on to the portal.
#[test]
fn in_english_another_default_browser_gets_nothing_and_the_code_moves_the_page_on() {
    let _stack = PcscStack::acquire();
    let p = person("p01");
    let card = p.card();
    let _emu = serve(&card, &[]);
    let demo = Demo::with_portal(300);
    let b = Browser::start();
    b.goto(&format!("{}/portal", demo.base));
    b.click("verify-identity");
    consent(&b, "本人確認");
    b.wait_for_id("method-pc", WAIT);
    b.goto(&format!("{}?lang=en", b.url()));
    b.click("method-pc");
    b.wait_for_id("launch", WAIT);
    b.wait_for_text("status", "Waiting for the reader app", WAIT);
    demo.wait_for_listening_page();
    let link = b.attr("launch", "href").expect("#launch has a link");
    // The page's commands make the app speak the page's language.
    assert!(b.text("command").ends_with("--lang en"), "{}", b.text("command"));
    assert!(
        b.text("demo-command").ends_with("--lang en"),
        "{}",
        b.text("demo-command")
    );

    let default = DefaultBrowser::new();
    let out = read_in(&link, "pin", &four_digit(&p), &default, "en");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "mynaid read: {stderr}");
    let code = json(&out)["confirmation_code"].as_str().unwrap().to_string();
    assert!(stderr.contains(&format!("Confirmation code: {code}")), "{stderr}");
    assert!(stderr.contains("Nobody will ever ask you for this code"), "{stderr}");
    b.wait_for_text(
        "status",
        "Waiting for the reader app to open the confirmation page",
        WAIT,
    );

    // The default browser is another one: it gets nothing and says what to do.
    let other = Browser::start();
    other.goto(&default.wait_for_opened(WAIT));
    let said = other.wait_for_text(
        "return-status",
        "works only in the browser where the procedure started",
        WAIT,
    );
    assert!(said.contains("go back to that browser"), "{said}");
    assert_eq!(
        other.attr("return-status", "data-code").as_deref(),
        Some("other_browser")
    );
    drop(other);

    // The browser that started: the code field, in English, says where the code belongs.
    b.wait_for_id("confirm-code", WAIT);
    assert!(
        b.text("confirm").contains("The 6 digits the reader app shows"),
        "{}",
        b.text("confirm")
    );
    assert!(b.text("confirm-where").contains("Nobody will ever ask you for it"));
    b.block_on(b.find("confirm-code").send_keys(&code)).unwrap();
    b.click("confirm-submit");
    let name = b.wait_for_text("verified-name", &p.name, Duration::from_secs(30));
    assert_eq!(name, p.name);
}

#[test]
fn the_harness_saves_artifacts_of_a_failing_test_and_has_a_phone_viewport() {
    // A phone: the viewport and the user agent of pattern 3.
    let phone = Browser::mobile();
    phone.goto("data:text/html,<meta name=viewport content='width=device-width'><p id=x>phone</p>");
    assert_eq!(phone.text("x"), "phone");
    let width = phone.execute("return window.innerWidth;");
    assert_eq!(width.as_u64(), Some(390), "{width}");
    let ua = phone.execute("return navigator.userAgent;");
    assert!(ua.as_str().unwrap().contains("Mobile"), "{ua}");
    drop(phone);

    // A test that fails with a browser open leaves a screenshot and the HTML behind.
    let ours = |e: &std::fs::DirEntry| e.file_name().to_string_lossy().starts_with("harness-self-check-");
    let _ = std::fs::create_dir_all(artifacts_dir());
    for e in std::fs::read_dir(artifacts_dir()).unwrap().filter_map(Result::ok) {
        if ours(&e) {
            let _ = std::fs::remove_file(e.path());
        }
    }
    let b = Browser::with_options(BrowserOptions {
        name: Some("harness-self-check".into()),
        ..BrowserOptions::default()
    });
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
        b.goto("data:text/html,<h1 id=t>artifact</h1>");
        b.wait_for_text("t", "something else", Duration::from_millis(300));
    }));
    assert!(result.is_err(), "wait_for_text fails when the text never comes");
    let saved: Vec<_> = std::fs::read_dir(artifacts_dir())
        .unwrap()
        .filter_map(Result::ok)
        .filter(ours)
        .map(|e| e.path())
        .collect();
    let png = saved
        .iter()
        .find(|p| p.extension().is_some_and(|e| e == "png"))
        .unwrap_or_else(|| panic!("no screenshot among {saved:?}"));
    assert!(std::fs::read(png).unwrap().starts_with(b"\x89PNG"));
    let html = saved
        .iter()
        .find(|p| p.extension().is_some_and(|e| e == "html"))
        .unwrap_or_else(|| panic!("no HTML among {saved:?}"));
    assert!(std::fs::read_to_string(html).unwrap().contains("artifact"));
    for p in saved {
        let _ = std::fs::remove_file(p);
    }
}

/// Issue 22: back, reload and the language switch on the reader page never post again (no
/// "resubmit the form?" prompt, no 405) and keep the person on the same page and state: the
/// same link while it waits, the code field while the code waits (never "verified" before
/// it is typed); the code typed there ends on the portal with the verified name.
#[test]
fn back_reload_and_the_language_switch_keep_the_reader_page_and_its_state() {
    let p = person("p01");
    let card = p.card();
    let demo = Demo::with_portal(300);
    let b = Browser::start();
    let (id, link) = to_reader_page(&b, &demo);
    let page = format!("{}/s/{id}/pc", demo.base);
    assert_eq!(b.url(), page, "the form's answer is the page's own address");
    // Reload: the same page, loaded with GET (a POST's reload would ask to resubmit).
    b.block_on(b.client().refresh()).expect("reload");
    assert_eq!(b.url(), page);
    assert_eq!(navigation_type(&b), "reload");
    assert_eq!(
        b.attr("launch", "href").as_deref(),
        Some(link.as_str()),
        "the same link"
    );
    b.wait_for_text("status", "読み取りアプリの起動を待っています", WAIT);
    // Back to the method choice, and forward again: the same link.
    b.block_on(b.client().back()).expect("back");
    b.wait_for_id("method-pc", WAIT);
    assert!(b.url().ends_with(&format!("/s/{id}")), "{}", b.url());
    b.block_on(b.client().forward()).expect("forward");
    b.wait_for_id("launch", WAIT);
    assert_eq!(b.url(), page);
    assert_eq!(b.attr("launch", "href").as_deref(), Some(link.as_str()));
    // The language switch (a real click): the same page and link, in English.
    b.click_css("header a[lang='en']");
    b.wait_for_text("status", "Waiting for the reader app", WAIT);
    assert_eq!(b.url(), format!("{page}?lang=en"));
    assert_eq!(b.attr("launch", "href").as_deref(), Some(link.as_str()));
    assert!(b.text("command").ends_with("--lang en"), "{}", b.text("command"));

    // The card is read; the app's way back goes to another browser, so this page asks for
    // the code. Switching the language now keeps the code field and says nothing verified.
    let default = DefaultBrowser::new();
    let out = read_emulated(&link, &card, "pin", &four_digit(&p), &default, "en");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let code = json(&out)["confirmation_code"].as_str().unwrap().to_string();
    b.wait_for_id("confirm-code", WAIT);
    b.wait_for_text(
        "status",
        "Waiting for the reader app to open the confirmation page",
        WAIT,
    );
    b.click_css("header a[lang='ja']");
    b.wait_for_text("status", "確認のページを開くのを待っています", WAIT);
    assert_eq!(b.url(), format!("{page}?lang=ja"));
    assert_eq!(b.attr("status", "data-state").as_deref(), Some("confirm_needed"));
    assert!(
        b.text("confirm").contains("読み取りアプリに表示された6桁の数字"),
        "{}",
        b.text("confirm")
    );
    let main = b.text_css("main");
    assert!(
        !main.contains("確認できました"),
        "nothing is verified before the code: {main}"
    );
    assert!(!b.exists("launch"), "the used link is not offered again");
    // Reloaded while the code waits: the same.
    b.block_on(b.client().refresh()).expect("reload");
    b.wait_for_id("confirm-code", WAIT);
    assert_eq!(b.attr("status", "data-state").as_deref(), Some("confirm_needed"));
    b.block_on(b.find("confirm-code").send_keys(&code)).unwrap();
    b.click("confirm-submit");
    let name = b.wait_for_text("verified-name", &p.name, Duration::from_secs(30));
    assert_eq!(name, p.name);
    assert!(b.text("portal-message").contains("本人確認ができました"));
}

/// Issue 22: after the page opened the reader app's `mynaid://` link, real clicks on the
/// page still work. Chromium asks before it opens another application ("open xdg-open?"),
/// in a dialog of the tab that navigated to the link; while that dialog is open (headless
/// Chromium never shows it, so for ever) the tab ignores every click and key, although its
/// scripts run. The link opens in a new tab, whose dialog it is: this tab stays usable.
#[test]
fn clicks_work_after_the_reader_app_link_was_opened() {
    let demo = Demo::start(300);
    let (id, url) = demo.create_session("verify_identity");
    let b = Browser::start();
    b.goto(&url);
    b.wait_for_id("method-pc", WAIT);
    b.click("method-pc");
    b.wait_for_id("launch", WAIT);
    let link = b.attr("launch", "href").unwrap();
    demo.wait_for_listening_page();
    // A real click on the link, as the person does.
    b.click("launch");
    std::thread::sleep(Duration::from_millis(1000));
    // Real clicks on this tab: "read again" gives a new link...
    b.click("read-again");
    let deadline = std::time::Instant::now() + WAIT;
    while b.attr("launch", "href").as_deref() == Some(link.as_str()) {
        assert!(
            std::time::Instant::now() < deadline,
            "the click on \"read again\" did nothing after the app's link was opened"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    b.wait_for_text("status", "読み取りアプリの起動を待っています", WAIT);
    assert_eq!(b.url(), format!("{}/s/{id}/pc", demo.base));
    // ...and, after the new link was opened too, the language switch and "extend" work.
    b.click("launch");
    std::thread::sleep(Duration::from_millis(1000));
    b.click_css("header a[lang='en']");
    b.wait_for_text("status", "Waiting for the reader app", WAIT);
    assert_eq!(b.url(), format!("{}/s/{id}/pc?lang=en", demo.base));
    b.click("launch");
    std::thread::sleep(Duration::from_millis(1000));
    b.click("extend");
    b.wait_for_text("time-note", "The time was extended", WAIT);
}

/// Issue 22: "read again" after a final failure. A revoked signature certificate (p08, who
/// moved): the page says so and that the 4-digit PINs still work; "read again" (a real
/// click) gives a new link in the same session, and the 4-digit route ends on the portal
/// with the verified name.
#[test]
fn read_again_after_a_revoked_certificate_reads_with_the_4_digit_pins() {
    let p = person("p08");
    let card = p.card();
    let demo = Demo::with_portal(300);
    let b = Browser::start();
    let (id, link) = to_reader_page(&b, &demo);
    let out = read_emulated(
        &link,
        &card,
        "password",
        &format!("{}\n", p.sign_password.as_deref().unwrap()),
        &DefaultBrowser::new(),
        "ja",
    );
    assert_eq!(out.status.code(), Some(8), "{}", String::from_utf8_lossy(&out.stderr));
    let status = b.wait_for_text("status", "署名用電子証明書が失効しています", WAIT);
    assert!(status.contains("数字4桁の暗証番号なら読み取れます"), "{status}");
    assert!(status.contains("「もう一度読み取る」を押して"), "{status}");
    assert_eq!(
        b.attr("status", "data-state").as_deref(),
        Some("failed_certificate_revoked")
    );
    // This session allows another attempt: "read again", with the 4-digit PINs.
    read_again_to_the_portal(&b, &demo, &id, &link, (&card, "pin", &four_digit(&p)), &p.name);
}

/// Issue 22 (WCAG 2.2.1): the time left can be extended on the page, ten times; each new
/// time is said in the page's live region, and the last one says it was the last.
#[test]
fn the_time_left_can_be_extended_and_the_page_says_so() {
    let demo = Demo::start(300);
    let (_, url) = demo.create_session("verify_identity");
    let b = Browser::start();
    b.goto(&url);
    b.click("method-pc");
    b.wait_for_id("extend", WAIT);
    demo.wait_for_listening_page();
    assert_eq!(b.attr("time-note", "role").as_deref(), Some("status"));
    let minutes = |b: &Browser| -> u64 { b.text("countdown").split(':').next().unwrap().parse().unwrap() };
    assert!(minutes(&b) <= 5, "{}", b.text("countdown"));
    b.click("extend");
    let said = b.wait_for_text("time-note", "時間を延長しました", WAIT);
    assert!(
        said.contains("残り時間は9:") || said.contains("残り時間は10:"),
        "{said}"
    );
    assert!(minutes(&b) >= 9, "{}", b.text("countdown"));
    assert!(b.text("extend-left").contains("あと9回"), "{}", b.text("extend-left"));
    for left in (1..9).rev() {
        b.click("extend");
        b.wait_for_text("extend-left", &format!("あと{left}回"), WAIT);
    }
    b.click("extend");
    let said = b.wait_for_text("time-note", "これ以上は延長できません", WAIT);
    assert!(
        said.contains("残り時間は54:") || said.contains("残り時間は55:"),
        "{said}"
    );
    assert!(minutes(&b) >= 54, "{}", b.text("countdown"));
    assert_eq!(
        b.execute("return document.getElementById('extend-form').hidden;"),
        serde_json::json!(true)
    );
    assert_eq!(
        b.execute("return document.activeElement.id;"),
        serde_json::json!("time-note"),
        "the focus stays where the person is"
    );
    // The page, reloaded, shows the new time and that it cannot be extended again.
    b.block_on(b.client().refresh()).expect("reload");
    b.wait_for_id("extend-none", WAIT);
    assert!(minutes(&b) >= 54, "{}", b.text("countdown"));
}

/// Issue 22: a card without a signature certificate (p06, a child's) read on the password
/// route: the page moves on from "reading, keep the card on the reader" within 2 s of the
/// reader app's failure, to words that say so and that the 4-digit PINs may work.
#[test]
fn a_card_without_a_signature_certificate_is_told_on_the_page_within_2_s() {
    let _stack = PcscStack::acquire();
    let p = person("p06");
    let card = p.card();
    let emu = serve(&card, &[]);
    let demo = Demo::with_portal(300);
    let b = Browser::start();
    let link = open_reader_page(&b, &demo);
    let out = read(&link, "password", "ABCDEF12\n", &DefaultBrowser::new());
    let failed_at = std::time::Instant::now();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(json(&out)["error"]["code"], "no_signature_certificate", "{stderr}");
    assert!(!stderr.contains("6A82"), "no raw card error: {stderr}");
    assert_eq!(emu.verify_count(), 0, "no password was presented");
    let status = b.wait_for_text("status", "署名用電子証明書がない", Duration::from_secs(2));
    assert!(
        failed_at.elapsed() <= Duration::from_secs(2),
        "{:?}",
        failed_at.elapsed()
    );
    assert!(status.contains("数字4桁の暗証番号なら読み取れます"), "{status}");
    assert!(status.contains("「もう一度読み取る」を押して"), "{status}");
    assert_eq!(
        b.attr("status", "data-state").as_deref(),
        Some("no_signature_certificate")
    );
    // The way it says works: "read again", then the 4-digit PINs.
    b.click("read-again");
    b.wait_for_text("status", "読み取りアプリの起動を待っています", WAIT);
    let again = b.attr("launch", "href").unwrap();
    assert_ne!(again, link);
    demo.wait_for_listening_page();
    let default = DefaultBrowser::new();
    let out = read(&again, "pin", &four_digit(&p), &default);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    b.goto(&default.wait_for_opened(WAIT));
    let name = b.wait_for_text("verified-name", &p.name, Duration::from_secs(30));
    assert_eq!(name, p.name);
}
