//! Pattern 1: this PC's browser and the reader app with an IC card reader. The page opens
//! the `mynaid://` link with a one-time handle and shows the exact command as a fallback.

use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use maud::html;
use mynaid_protocol::Pattern;
use mynaid_web::hardening::csrf_input;
use mynaid_web::{Answer, page, query};

use super::CSRF_SCOPE;
use super::browser::BrowserForm;
use super::layout::who;
use super::messages::messages;
use super::phone::confirm_form;
use crate::Server;

/// `value` percent-encoded as a URL query component (RFC 3986 unreserved characters kept).
pub(super) fn encode_component(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn reader_link(s: &Server, handle: &str) -> String {
    format!("mynaid://read?server={}&handle={handle}", encode_component(&s.origin))
}

pub(super) async fn pc_reader(State(svc): State<Arc<Server>>, post: BrowserForm) -> Response {
    let b = post.browser;
    let (lang, id, token, s) = (b.lang, b.id(), &b.token, &b.session);
    let issued = match svc.sessions.issue_handle(id, token, Pattern::PcReader).await {
        Ok(h) => h,
        Err(e) => return Answer::from(e).page(lang).into_response(),
    };
    let link = reader_link(&svc, &issued.handle);
    // The app speaks the page's language (it would follow the PC's locale otherwise).
    let lang_arg = lang.pick("", " --lang en");
    let command = format!("mynaid read --link '{link}'{lang_arg}");
    let demo = svc.demo.as_ref().map(|d| {
        format!(
            "{} read --link '{link}' --emulator {}/p01.json{lang_arg}",
            d.command("mynaid"),
            d.cards_dir.display()
        )
    });
    let events = format!("/s/{id}/events");
    let next = format!("/s/{id}/done{}", query(lang));
    let body = page(
        lang,
        lang.pick("ICカードリーダーで読み取る", "Read with an IC card reader"),
        &format!("/s/{id}"),
        html! {
            h1 { (lang.pick("ICカードリーダーで読み取る", "Read with an IC card reader")) }
            (who(&svc, lang, s))
            div id="live" data-events=(events) data-next=(next) data-expires=(issued.expires_at)
                data-messages=(messages(lang, Pattern::PcReader).to_string()) {
                p id="status" class="status" role="status" aria-live="polite" data-state="waiting" {
                    (lang.pick("読み取りアプリの起動を待っています。アプリで暗証番号を入力してください。", "Waiting for the reader app. Enter your PIN in the app."))
                }
                p class="muted" { (lang.pick("残り時間", "Time left")) " " span id="countdown" { "5:00" } }
            }
            ol {
                li { (lang.pick("ICカードリーダーがパソコンに接続されていることを確かめ、マイナンバーカードを置いてください。", "Check that the IC card reader is connected to this PC, and put your My Number Card on it.")) }
                li {
                    (lang.pick("次のボタンで読み取りアプリ（mynaid）を起動します。", "Open the reader app (mynaid) with this button."))
                    p { a id="launch" class="button" href=(link) { (lang.pick("読み取りアプリを起動する", "Open the reader app")) } }
                }
                li { (lang.pick("アプリにサービス名とアドレスが表示されます。上の表示と同じであることを確かめてから、暗証番号を入力してください。", "The app shows the service name and address. Check that they match the ones above before you enter your PIN.")) }
                li { (lang.pick("読み取りが終わると、アプリがこのブラウザで確認のページを開き、この画面は自動で次に進みます。", "When the card has been read, the app opens a confirmation page in this browser and this page moves on by itself.")) }
            }
            (confirm_form(id, token, lang, Pattern::PcReader, true))
            form method="post" action=(format!("/s/{id}/pc{}", query(lang))) {
                (csrf_input(CSRF_SCOPE, id, token))
                button id="read-again" type="submit" class="secondary" { (lang.pick("もう一度読み取る（新しいリンク）", "Read again (new link)")) }
            }
            h2 { (lang.pick("アプリが起動しないときは", "If the app does not open")) }
            p { (lang.pick("端末（ターミナル）で次のコマンドを実行してください。", "Run this command in a terminal:")) }
            pre id="command" { (command) }
            @if let Some(demo) = demo {
                p class="muted" { (lang.pick("デモ: エミュレートしたカードで読み取るとき（p01 を他のテスト人物に変えられます）:", "Demo: to read an emulated card (change p01 to another test person):")) }
                pre id="demo-command" { (demo) }
            }
            h2 { (lang.pick("読み取りアプリの入手と更新", "Getting or updating the reader app")) }
            p {
                (lang.pick(format!("バージョン{}以降が必要です。", svc.sessions.settings().min_reader_version), format!("Version {} or later is needed.", svc.sessions.settings().min_reader_version)))
                " "
                (lang.pick("以前にインストールしたアプリが古い場合は、更新してください。インストール後に「mynaid install-handler」を実行すると、このページのボタンでアプリが起動するようになります。",
                        "If you installed the app a long time ago, update it. After installing, run \"mynaid install-handler\" so that the button on this page opens it."))
            }
            script src="/static/session.js" defer {}
        },
    );
    ([(header::CACHE_CONTROL, "no-store")], body).into_response()
}
