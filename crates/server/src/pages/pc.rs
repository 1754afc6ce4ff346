//! Pattern 1: this PC's browser and the reader app with an IC card reader. The page opens
//! the `mynaid://` link with a one-time handle and shows the exact command as a fallback.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use maud::html;
use mynaid_protocol::Pattern;
use mynaid_web::page;

use super::browser::{Browser, BrowserForm};
use super::flow::{self, PageQuery, View};
use super::layout::who;
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

/// "Read with this PC and an IC card reader" chosen, or "read again": a fresh handle, then
/// the page (`303`).
pub(super) async fn pc_reader(State(svc): State<Arc<Server>>, post: BrowserForm) -> Response {
    flow::choose(&svc, post, Pattern::PcReader).await
}

/// The page of pattern 1 as its session is now ([`flow::view`]): the link and the command
/// while it waits for the reader app, the reading under way, the confirmation code.
pub(super) async fn page_now(State(svc): State<Arc<Server>>, b: Browser, Query(q): Query<PageQuery>) -> Response {
    let view = match flow::view(&svc, &b, Pattern::PcReader) {
        Ok(v) => v,
        Err(elsewhere) => return flow::see_other(&elsewhere),
    };
    let (lang, id, token, s) = (b.lang, b.id(), &b.token, &b.session);
    let link = match &view {
        View::Link(issued) => Some(reader_link(&svc, &issued.handle)),
        View::Reading | View::Confirming => None,
    };
    let confirming = matches!(view, View::Confirming);
    // The app speaks the page's language (it would follow the PC's locale otherwise).
    let lang_arg = lang.pick("", " --lang en");
    let command = link
        .as_ref()
        .map(|link| format!("mynaid read --link '{link}'{lang_arg}"));
    let demo = link.as_ref().and_then(|link| {
        svc.demo.as_ref().map(|d| {
            format!(
                "{} read --link '{link}' --emulator {}/p01.json{lang_arg}",
                d.command("mynaid"),
                d.cards_dir.display()
            )
        })
    });
    let body = page(
        lang,
        lang.pick("ICカードリーダーで読み取る", "Read with an IC card reader"),
        &format!("/s/{id}/{}", flow::segment(Pattern::PcReader)),
        html! {
            h1 { (lang.pick("ICカードリーダーで読み取る", "Read with an IC card reader")) }
            (who(&svc, lang, s))
            (flow::live(&svc, &b, Pattern::PcReader))
            @if !confirming { ol {
                li { (lang.pick("ICカードリーダーがパソコンに接続されていることを確かめ、マイナンバーカードを置いてください。", "Check that the IC card reader is connected to this PC, and put your My Number Card on it.")) }
                @if let Some(link) = &link {
                    li {
                        (lang.pick("次のボタンで読み取りアプリ（mynaid）を起動します。", "Open the reader app (mynaid) with this button."))
                        // A new tab asks the browser to open the app: the browser's question
                        // ("open xdg-open?") belongs to that tab, and this page stays usable
                        // whatever the answer (a tab that shows it blocks every click on
                        // itself until it is answered).
                        p { a id="launch" class="button" href=(link) target="_blank" rel="noopener" { (lang.pick("読み取りアプリを起動する", "Open the reader app")) } }
                    }
                }
                li { (lang.pick("アプリにサービス名とアドレスが表示されます。上の表示と同じであることを確かめてから、暗証番号を入力してください。", "The app shows the service name and address. Check that they match the ones above before you enter your PIN.")) }
                li { (lang.pick("読み取りが終わると、アプリがこのブラウザで確認のページを開き、この画面は自動で次に進みます。", "When the card has been read, the app opens a confirmation page in this browser and this page moves on by itself.")) }
            } }
            @if let Some(problem) = flow::confirm_problem(&b, &q) { p id="confirm-problem" class="status bad" role="alert" { (problem) } }
            (confirm_form(id, token, lang, Pattern::PcReader, !confirming))
            @if !confirming { (flow::again_form(&b, Pattern::PcReader)) }
            @if let Some(command) = command {
                h2 { (lang.pick("アプリが起動しないときは", "If the app does not open")) }
                p { (lang.pick("端末（ターミナル）で次のコマンドを実行してください。", "Run this command in a terminal:")) }
                pre id="command" { (command) }
            }
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
            p { a id="install-app" class="button secondary" href=(svc.app_install_url) { (lang.pick("読み取りアプリを入手する", "Get the reader app")) } }
            script src="/static/session.js" defer {}
        },
    );
    ([(header::CACHE_CONTROL, "no-store")], body).into_response()
}
