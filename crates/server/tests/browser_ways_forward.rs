//! Issue 22, off the happy path in a real browser: each failure of the reader app or the
//! phone reaches the page within 2 s with words that fit it, and the next step it names
//! works to the end (the portal with the verified name, or the result released). The apps
//! read the emulated card in process (`--emulator`: no PC/SC needed); the server and the
//! demo portal run in process; headless Chromium is the person's browser.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod demo;
mod reader_app;

use std::time::{Duration, Instant};

use demo::{Demo, MYNAID_SERVER, WAIT, last_json, on_way_page, phone, phone_reads, qr_link, released, run_as_shown};
use mynaid_harness::browser::{Browser, BrowserOptions, DefaultBrowser};
use mynaid_testkit::{PersonCard, person};
use reader_app::{four_digit, json, read_again_to_the_portal, read_emulated, run_emulated, to_reader_page};

/// How soon a reader app's failure must show on the page.
const ON_THE_PAGE: Duration = Duration::from_secs(2);

/// The page's status line once it contains `words`, waited for at most 2 s from `since`
/// (when the reader app ended).
fn status_within_2_s(b: &Browser, words: &str, since: Instant) -> String {
    let left = ON_THE_PAGE.saturating_sub(since.elapsed());
    let status = b.wait_for_text("status", words, left.max(Duration::from_millis(1)));
    assert!(since.elapsed() <= ON_THE_PAGE, "{:?}", since.elapsed());
    status
}

/// A PIN locked on the last wrong entry (p05's input-support PIN, one try left) and a
/// signature password locked before (p04): the app says so and where *that* PIN is
/// unlocked; the page says "locked" (never "0 tries left") with the same advice and that the
/// other route finishes this procedure now; "read again" with that route ends on the portal.
#[test]
fn a_locked_pin_names_where_to_unlock_it_and_the_other_route_finishes_the_procedure() {
    struct Case {
        who: &'static str,
        route: &'static str,
        typed: String,
        exit: i32,
        code: &'static str,
        /// In the app's words and the page's.
        unlock: &'static str,
        page: [&'static str; 2],
        other: (&'static str, String),
    }
    let (p05, p04) = (person("p05"), person("p04"));
    let cases = [
        Case {
            who: "p05",
            route: "pin",
            // The right user-authentication PIN, a wrong input-support PIN on its last try,
            // confirmed.
            typed: format!("{}\n9999\ny\n", p05.auth_pin),
            exit: 3,
            code: "wrong_pin_now_blocked",
            unlock: "コンビニでは初期化できません",
            page: [
                "券面事項入力補助用暗証番号（数字4桁）はロックされています",
                "署名用電子証明書のパスワードなら、いまこの手続きを続けられます",
            ],
            // p05's password has one try left too: confirmed.
            other: ("password", format!("{}\ny\n", p05.sign_password.clone().unwrap())),
        },
        Case {
            who: "p04",
            route: "password",
            typed: format!("{}\n", p04.sign_password.clone().unwrap()),
            exit: 4,
            code: "pin_blocked",
            unlock: "コンビニのキオスク端末",
            page: [
                "署名用電子証明書のパスワード（英数字6〜16文字）はロックされています",
                "数字4桁の暗証番号なら、いまこの手続きを続けられます",
            ],
            other: ("pin", four_digit(&p04)),
        },
    ];
    for case in cases {
        let p = person(case.who);
        let card = p.card();
        let demo = Demo::with_portal(300);
        let b = Browser::start();
        let (id, link) = to_reader_page(&b, &demo);
        let out = read_emulated(&link, &card, case.route, &case.typed, &DefaultBrowser::new(), "ja");
        let ended = Instant::now();
        let said = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(case.exit), "{}: {said}", case.who);
        assert_eq!(json(&out)["error"]["code"], case.code, "{}", case.who);
        assert!(
            said.contains("ロック") && said.contains(case.unlock),
            "{}: {said}",
            case.who
        );

        let status = status_within_2_s(&b, case.page[0], ended);
        assert!(status.contains(case.unlock), "{}: {status}", case.who);
        assert!(status.contains(case.page[1]), "{}: {status}", case.who);
        assert!(!status.contains("残り0回"), "{}: {status}", case.who);
        assert_eq!(b.attr("status", "data-state").as_deref(), Some("pin_blocked"));
        let (route, typed) = &case.other;
        read_again_to_the_portal(&b, &demo, &id, &link, (&card, route, typed), &p.name);
    }
}

/// A slip in the reader app costs nothing and ends nothing: a badly formed password is asked
/// for again (no try used) and the reading goes on to the portal; a wrong answer to the
/// app's route question is asked again too; input that ends (the person closed the app)
/// leaves the page saying the reading was cancelled, and "read again" works.
#[test]
fn a_slip_in_the_reader_app_costs_nothing_and_the_reading_goes_on() {
    let p = person("p01");
    let card = p.card();
    let password = p.sign_password.clone().unwrap();

    // A password too short, then the right one.
    let demo = Demo::with_portal(300);
    let b = Browser::start();
    let (_, link) = to_reader_page(&b, &demo);
    let default = DefaultBrowser::new();
    let out = read_emulated(&link, &card, "password", &format!("AB\n{password}\n"), &default, "ja");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("入力できる回数は減っていません"), "{said}");
    b.goto(&default.wait_for_opened(WAIT));
    assert_eq!(b.wait_for_text("verified-name", &p.name, WAIT), p.name);

    // No route given: "3" is no answer, asked again; "1" and the PINs read.
    let b = Browser::start();
    let (_, link) = to_reader_page(&b, &demo);
    let default = DefaultBrowser::new();
    let typed = format!("3\n1\n{}", four_digit(&p));
    let out = run_emulated(&link, &card, &[], &typed, &default, "ja");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("1 か 2 を選んでください"), "{said}");
    assert_eq!(said.matches("どちらで読み取りますか").count(), 2, "{said}");
    b.goto(&default.wait_for_opened(WAIT));
    assert_eq!(b.wait_for_text("verified-name", &p.name, WAIT), p.name);

    // The input ends at the question: cancelled, nothing sent; the page says so and "read
    // again" reads.
    let b = Browser::start();
    let (id, link) = to_reader_page(&b, &demo);
    let out = run_emulated(&link, &card, &[], "", &DefaultBrowser::new(), "ja");
    let ended = Instant::now();
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(json(&out)["error"]["code"], "input");
    let status = status_within_2_s(&b, "読み取りが中止されました", ended);
    assert!(status.contains("カードには何も送っていません"), "{status}");
    assert!(status.contains("「もう一度読み取る」を押して"), "{status}");
    assert_eq!(b.attr("status", "data-state").as_deref(), Some("cancelled"));
    read_again_to_the_portal(&b, &demo, &id, &link, (&card, "pin", &four_digit(&p)), &p.name);
}

/// Pattern 1's link used by two reading devices (another app redeemed it first): the session
/// ends for the person's safety; the page says the *link* was used twice (there is no QR
/// code on this page), offers the way back to the service and not "read again"; the reader
/// app says the same kind of thing.
#[test]
fn a_reader_link_used_twice_ends_with_words_for_a_link() {
    let p = person("p01");
    let card = p.card();
    let demo = Demo::with_portal(300);
    let b = Browser::start();
    let (_, link) = to_reader_page(&b, &demo);
    let handle = link
        .split("handle=")
        .nth(1)
        .and_then(|h| h.split('&').next())
        .expect("the link's handle");
    assert_eq!(demo.redeem(handle, "pc_reader_app"), 200);
    let out = read_emulated(&link, &card, "pin", &four_digit(&p), &DefaultBrowser::new(), "ja");
    let ended = Instant::now();
    assert!(!out.status.success());
    assert_eq!(json(&out)["error"]["code"], "handle_already_used");
    let status = status_within_2_s(&b, "読み取り用のリンクが2回使われた", ended);
    assert!(!status.contains("QR"), "{status}");
    assert!(
        status.contains("サービスの画面から最初からやり直してください"),
        "{status}"
    );
    assert_eq!(b.attr("status", "data-state").as_deref(), Some("failed_redeemed_twice"));
    assert_eq!(
        b.execute("return [document.getElementById('again-form').hidden, document.getElementById('way-back').hidden];"),
        serde_json::json!([true, false]),
        "the way back, not read again"
    );
    b.click("way-back");
    b.wait_for_id("portal-message", WAIT);
    assert!(
        b.text("portal-message").contains("完了しませんでした"),
        "{}",
        b.text("portal-message")
    );
}

/// The portal shows every value in words, in both languages with the English half marked:
/// p03's sex "not applicable" and the signature route.
#[test]
fn the_portal_shows_words_not_wire_values() {
    let p = person("p03");
    let card = p.card();
    let demo = Demo::with_portal(300);
    let b = Browser::start();
    let (_, link) = to_reader_page(&b, &demo);
    let default = DefaultBrowser::new();
    let typed = format!("{}\n", p.sign_password.as_deref().unwrap());
    let out = read_emulated(&link, &card, "password", &typed, &default, "ja");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    b.goto(&default.wait_for_opened(WAIT));
    assert_eq!(b.wait_for_text("verified-name", &p.name, WAIT), p.name);
    assert_eq!(b.text("verified-gender"), "該当なし / Not applicable");
    let how = b.text("verified-how");
    assert!(how.contains("署名用電子証明書とパスワードで確認"), "{how}");
    assert!(
        how.contains("Verified with the signature certificate and its password"),
        "{how}"
    );
    let table = b.text("verified");
    assert!(
        !table.contains("not_applicable") && !table.contains("signature,"),
        "{table}"
    );
    assert_eq!(
        b.execute(
            "return document.querySelector('#verified-how span[lang=en]').textContent.startsWith('Verified with');"
        ),
        serde_json::json!(true)
    );
}

/// An English browser (Accept-Language: en) gets every page of the way in English, with no
/// Japanese words left in the page's main part, and commands that keep the language.
#[test]
fn an_english_browser_gets_english_pages_all_the_way() {
    let p = person("p01");
    let card = p.card();
    let demo = Demo::with_portal(300);
    let b = Browser::with_options(BrowserOptions {
        accept_language: Some("en-GB,en;q=0.9".into()),
        ..BrowserOptions::default()
    });
    // Japanese in the page's main part (kana or kanji), outside the service's own name and
    // the person's data.
    let japanese = |b: &Browser| -> Vec<String> {
        let main = b.text_css("main").replace("登録ポータル（デモ）", "");
        main.lines()
            .filter(|l| {
                l.chars()
                    .any(|c| matches!(c, '\u{3040}'..='\u{30ff}' | '\u{4e00}'..='\u{9fff}'))
            })
            .map(str::to_string)
            .collect()
    };
    b.goto(&format!("{}/portal", demo.base));
    b.click("verify-identity");
    b.wait_for_id("consent-allow", WAIT);
    assert_eq!(
        b.execute("return document.documentElement.lang;"),
        serde_json::json!("en")
    );
    assert_eq!(japanese(&b), Vec::<String>::new(), "consent page");
    b.click("consent-allow");
    b.wait_for_id("method-pc", WAIT);
    assert_eq!(japanese(&b), Vec::<String>::new(), "method choice");
    b.click("method-pc");
    b.wait_for_text("status", "Waiting for the reader app", WAIT);
    assert_eq!(japanese(&b), Vec::<String>::new(), "reader page");
    let command = b.text("command");
    assert!(command.ends_with("--lang en"), "{command}");
    demo.wait_for_listening_page();
    let link = b.attr("launch", "href").unwrap();
    let default = DefaultBrowser::new();
    let out = read_emulated(&link, &card, "pin", &four_digit(&p), &default, "en");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("tries left"), "{said}");
    b.goto(&default.wait_for_opened(WAIT));
    assert_eq!(b.wait_for_text("verified-name", &p.name, WAIT), p.name);
}

/// Pattern 2: a wrong PIN typed on the phone reaches the QR page within 2 s, naming the PIN
/// and the tries left; "new QR code" lets the phone read again, and the code it shows
/// releases the result.
#[test]
fn a_wrong_pin_on_the_phone_reaches_the_qr_page_and_a_new_qr_code_finishes() {
    let (demo, id, b) = on_way_page(Browser::start, "verify_identity", "method-phone", "qr");
    demo.wait_for_listening_page();
    let p = person("p02");
    let card = p.card();
    let out = phone(&["--link", &qr_link(&b), "--route", "pin"], &card.path, "0000\n\n");
    let ended = Instant::now();
    assert_eq!(last_json(&out)["error"]["code"], "wrong_pin");
    let status = status_within_2_s(&b, "残り2回", ended);
    assert!(
        status.contains("利用者証明用電子証明書の暗証番号（数字4桁）が違います"),
        "{status}"
    );
    assert!(status.contains("「QRコードを新しくする」を押して"), "{status}");
    b.click("refresh");
    b.wait_for_text("status", "QRコードを読み取ってください", WAIT);
    demo.wait_for_listening_page();
    let code = phone_reads(&qr_link(&b), "p02");
    b.wait_for_id("confirm-code", WAIT);
    b.block_on(b.find("confirm-code").send_keys(&code)).unwrap();
    b.click("confirm-submit");
    b.wait_for_url(&format!("/portal/return?session={id}"), WAIT);
    assert_eq!(released(&demo, &b, &id)["claims"]["name"], p.name);
}

/// The demo commands of the phone pages, in English: the QR page's runs as shown (the built
/// binary, the page's language) and the code it prints releases the result; the "app
/// needed" page's (pattern 3, the phone's browser without the app) runs as shown too, and
/// the phone stand-in opens the way back in the phone's default browser, which ends on the
/// service's page with the result released.
#[test]
fn the_phone_pages_demo_commands_run_as_shown_and_the_way_back_opens() {
    let p = person("p01");
    let text_of = |b: &Browser, id: &str| -> String {
        b.execute(&format!("return document.getElementById('{id}').textContent;"))
            .as_str()
            .unwrap()
            .to_string()
    };
    let run = |command: &str, default: &DefaultBrowser| {
        let extra = "--route pin --pin-stdin --json --nfc-delay-ms 2";
        run_as_shown(command, extra, &four_digit(&p), default)
    };

    // Pattern 2 in English.
    let (demo, id, b) = on_way_page(Browser::start, "verify_identity", "method-phone", "qr");
    b.goto(&format!("{}/s/{id}/phone?lang=en", demo.base));
    b.wait_for_text("status", "Scan this QR code", WAIT);
    demo.wait_for_listening_page();
    let command = text_of(&b, "demo-command");
    assert!(
        command.starts_with(&format!("{MYNAID_SERVER} phone --link '{}' --emulator ", qr_link(&b))),
        "{command}"
    );
    assert!(command.ends_with(" --lang en"), "{command}");
    let default = DefaultBrowser::new();
    let out = run(&command, &default);
    assert!(String::from_utf8_lossy(&out.stderr).contains("confirmation code"));
    assert_eq!(default.opened(), Vec::<String>::new(), "pattern 2 opens no browser");
    let code = last_json(&out)["confirmation_code"].as_str().unwrap().to_string();
    b.wait_for_text("status", "Type the 6-digit confirmation code", WAIT);
    b.block_on(b.find("confirm-code").send_keys(&code)).unwrap();
    b.click("confirm-submit");
    b.wait_for_url(&format!("/portal/return?session={id}"), WAIT);
    released(&demo, &b, &id);

    // Pattern 3: the phone's browser opens the app link without the app.
    let (demo, id, b) = on_way_page(Browser::mobile, "verify_identity", "method-same", "open-app");
    let link = b.attr("open-app", "href").unwrap();
    b.goto(&link);
    b.wait_for_text("this-address", "/app/read#h=", WAIT);
    let command = text_of(&b, "demo-command");
    assert!(
        command.starts_with(&format!("{MYNAID_SERVER} phone --link '{link}' --emulator ")),
        "{command}"
    );
    let default = DefaultBrowser::new();
    let out = run(&command, &default);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("ブラウザ"), "it says where it goes: {said}");
    let opened = default.wait_for_opened(WAIT);
    assert!(opened.starts_with(&format!("{}/return#", demo.base)), "{opened}");
    b.goto(&opened);
    b.wait_for_url(&format!("/portal/return?session={id}"), WAIT);
    released(&demo, &b, &id);
}

/// A card whose data does not parse (its name-and-address record is cut short): the app and
/// the page say the card's data could not be read (not "check the reader", not "put it
/// back"), the raw detail only on the app's support line; "read again" with the other route,
/// whose data is intact, ends on the portal.
#[test]
fn an_unreadable_card_is_said_so_and_the_other_route_finishes() {
    let p = person("p01");
    let card = p.card();
    let mut file: serde_json::Value = serde_json::from_slice(&std::fs::read(&card.path).unwrap()).unwrap();
    let record = file["applications"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|a| a["name"] == "input-support")
        .and_then(|a| a["files"].as_array_mut())
        .and_then(|f| f.iter_mut().find(|f| f["fid"] == "0002"))
        .expect("the input-support AP's EF 0002");
    // FF 20 02 …: a template that says 2 bytes follow, and nothing follows.
    record["content"] = "/yAC".into();
    std::fs::write(&card.path, serde_json::to_vec(&file).unwrap()).unwrap();

    let demo = Demo::with_portal(300);
    let b = Browser::start();
    let (id, link) = to_reader_page(&b, &demo);
    let out = read_emulated(&link, &card, "pin", &four_digit(&p), &DefaultBrowser::new(), "ja");
    let ended = Instant::now();
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(json(&out)["error"]["code"], "card_data_error", "{said}");
    assert!(said.contains("お問い合わせ用の情報"), "{said}");
    let status = status_within_2_s(&b, "カードのデータを正しく読み取れませんでした", ended);
    assert!(!status.contains("カードリーダーとの通信"), "{status}");
    assert!(!status.contains("置き直して"), "{status}");
    assert!(status.contains("「もう一度読み取る」を押して"), "{status}");
    assert_eq!(b.attr("status", "data-state").as_deref(), Some("card_unreadable"));
    let password = format!("{}\n", p.sign_password.as_deref().unwrap());
    read_again_to_the_portal(&b, &demo, &id, &link, (&card, "password", &password), &p.name);
}
