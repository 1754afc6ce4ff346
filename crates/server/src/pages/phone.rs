//! Patterns 2 and 3: the smartphone reads the card.
//!
//! * **2, PC + smartphone**: the PC page shows a QR code with the app link (a one-time
//!   handle and the service's origin), a countdown with a one-tap refresh that kills the old
//!   handle, and a short PC code the phone shows too. After the card is read the phone shows
//!   a 6-digit confirmation code; only when the person types it here is the result released,
//!   and the page moves on by itself.
//! * **3, smartphone only**: the phone's browser opens the app link; the app sends the person
//!   back to `/return#<result handle>`, and the result is released only to the browser that
//!   holds the session's cookie. Another browser is told what to do: go back to the first
//!   one and type the code there.
//!
//! App links are `https://<server>/app/read#h=<handle>&o=<origin>`: the fragment never
//! reaches a server log; when no app claims the link, the browser shows [`app_missing`].

use std::sync::Arc;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use maud::{PreEscaped, html};
use mynaid_protocol::{Lang, Pattern};
use mynaid_sessions::SessionError;
use mynaid_web::hardening::csrf_input;
use mynaid_web::{Answer, PageLang, cookies, page, query};
use qrcode::QrCode;
use qrcode::render::svg;
use serde::Deserialize;
use serde_json::json;

use super::CSRF_SCOPE;
use super::browser::{Browser, BrowserForm, cookie_name};
use super::flow::{self, PageQuery, View};
use super::layout::who;
use super::pc::encode_component;
use crate::Server;
use crate::api::well_formed_token;
use crate::config::DemoConfig;

/// The demo's stand-in for the phone app, reading the emulated card p01 for `link`, in the
/// page's language.
fn phone_command(d: &DemoConfig, link: &str, lang: Lang) -> String {
    format!(
        "{} phone --link '{link}' --emulator {}/p01.json{}",
        d.command("mynaid-server"),
        d.cards_dir.display(),
        lang.pick("", " --lang en")
    )
}

/// The app link for a handle.
pub(crate) fn app_link(s: &Server, handle: &str, origin: &str) -> String {
    format!("{}/app/read#h={handle}&o={}", s.origin, encode_component(origin))
}

fn qr_svg(data: &str) -> Option<String> {
    let code = QrCode::new(data.as_bytes()).ok()?;
    Some(
        code.render::<svg::Color<'_>>()
            .min_dimensions(264, 264)
            .quiet_zone(true)
            .dark_color(svg::Color("#000000"))
            .light_color(svg::Color("#ffffff"))
            .build(),
    )
}

/// The form for the 6-digit code the reading device shows, hidden until the card was read.
/// It says where the code belongs and that nobody will ask for it: a caller who asks the
/// person for "the number on your phone" is the relay attack.
pub(super) fn confirm_form(id: &str, token: &str, lang: Lang, pattern: Pattern, hidden: bool) -> maud::Markup {
    let label = match pattern {
        Pattern::CrossDevice => lang.pick(
            "スマートフォンに表示された6桁の数字",
            "The 6 digits your smartphone shows",
        ),
        Pattern::SameDevice => lang.pick("mynaidアプリに表示された6桁の数字", "The 6 digits the mynaid app shows"),
        Pattern::PcReader => lang.pick(
            "読み取りアプリに表示された6桁の数字",
            "The 6 digits the reader app shows",
        ),
    };
    html! {
        section id="confirm" hidden[hidden] aria-labelledby="confirm-title" {
            h2 id="confirm-title" { (lang.pick("確認コードの入力", "Confirmation code")) }
            p id="confirm-where" {
                (lang.pick("確認コードは、手続きを始めたこのブラウザのこのページ（アドレスを確かめてください）にだけ入力します。電話・メール・メッセージなどで確認コードを尋ねられることはありません。だれにも教えないでください。",
                        "Type the confirmation code only here, on this page in the browser where you started (check the address). Nobody will ever ask you for it by phone, e-mail or message. Do not tell it to anyone."))
            }
            form id="confirm-form" method="post" action=(format!("/s/{id}/confirm{}", query(lang))) {
                (csrf_input(CSRF_SCOPE, id, token))
                label for="confirm-code" { (label) }
                input id="confirm-code" name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9 -]{6,8}" maxlength="8" required;
                button id="confirm-submit" type="submit" { (lang.pick("確認する", "Confirm")) }
            }
            p id="confirm-error" class="status bad" role="alert" hidden {}
        }
    }
}

/// Pattern 2 chosen, or a new QR code: a fresh handle (the old one stops working), then the
/// page (`303`).
pub(super) async fn cross_device(State(svc): State<Arc<Server>>, post: BrowserForm) -> Response {
    flow::choose(&svc, post, Pattern::CrossDevice).await
}

/// The QR code page as its session is now ([`flow::view`]): the current QR code while it
/// waits for the phone, the reading under way, the confirmation code.
pub(super) async fn cross_device_now(
    State(svc): State<Arc<Server>>,
    b: Browser,
    Query(q): Query<PageQuery>,
) -> Response {
    let view = match flow::view(&svc, &b, Pattern::CrossDevice) {
        Ok(v) => v,
        Err(elsewhere) => return flow::see_other(&elsewhere),
    };
    let (lang, id, token, s) = (b.lang, b.id(), b.token.as_str(), &b.session);
    let shown = match &view {
        View::Link(issued) => {
            let link = app_link(&svc, &issued.handle, &s.origin);
            let Some(svg) = qr_svg(&link) else {
                return Answer::unavailable().page(lang).into_response();
            };
            Some((issued, link, svg))
        }
        View::Reading | View::Confirming => None,
    };
    let confirming = matches!(view, View::Confirming);
    let body = page(
        lang,
        lang.pick("スマートフォンで読み取る", "Read with your smartphone"),
        &format!("/s/{id}/{}", flow::segment(Pattern::CrossDevice)),
        html! {
            h1 { (lang.pick("スマートフォンで読み取る", "Read with your smartphone")) }
            (who(&svc, lang, s))
            @if let Some((issued, _, svg)) = &shown { ol {
                li { (lang.pick("スマートフォンでmynaidアプリを開き、このQRコードを読み取ってください。", "Open the mynaid app on your smartphone and scan this QR code.")) }
                li {
                    (lang.pick("スマートフォンに次のコードが表示されることを確かめてください: ", "Check that your smartphone shows this code: "))
                    strong id="pc-code" class="code" { (issued.pc_code) }
                }
                li { (lang.pick("アプリで暗証番号を入力し、カードをスマートフォンにかざします。", "Enter your PIN in the app and hold the card against the phone.")) }
                li { (lang.pick("スマートフォンに表示される6桁の確認コードを、この画面に入力します。確認コードを入力するのは、このページだけです。", "Type the 6-digit confirmation code the phone shows on this page, and nowhere else.")) }
            }
            figure id="qr" {
                (PreEscaped(svg))
                figcaption class="muted" {
                    (lang.pick("QRコード（読み取り用リンク）。残り時間が過ぎると無効になります。", "QR code (reading link). It stops working when the time is up."))
                }
            } }
            @if !confirming { (flow::again_form(&b, Pattern::CrossDevice)) }
            (flow::live(&svc, &b, Pattern::CrossDevice))
            @if let Some(problem) = flow::confirm_problem(&b, &q) { p id="confirm-problem" class="status bad" role="alert" { (problem) } }
            (confirm_form(id, token, lang, Pattern::CrossDevice, !confirming))
            @if let Some((_, link, _)) = &shown { details {
                summary { (lang.pick("QRコードを読み取れないとき", "If the QR code cannot be scanned")) }
                p class="muted" { (lang.pick("アプリで次のリンクを開いてください:", "Open this link in the app:")) }
                pre id="app-link" { (link) }
                @if let Some(d) = &svc.demo {
                    p class="muted" { (lang.pick("デモ: スマートフォンアプリの代わりに次のコマンドを使えます:", "Demo: instead of the phone app you can run:")) }
                    pre id="demo-command" { (phone_command(d, link, lang)) }
                }
            } }
            script src="/static/session.js" defer {}
        },
    );
    ([(header::CACHE_CONTROL, "no-store")], body).into_response()
}

/// Pattern 3 chosen, or "read again": a fresh handle, then the page (`303`).
pub(super) async fn same_device(State(svc): State<Arc<Server>>, post: BrowserForm) -> Response {
    flow::choose(&svc, post, Pattern::SameDevice).await
}

/// Pattern 3's page as its session is now ([`flow::view`]): the phone's browser hands off
/// to the app on the same phone (the button, while it waits for the app), the reading under
/// way, the confirmation code.
pub(super) async fn same_device_now(
    State(svc): State<Arc<Server>>,
    b: Browser,
    Query(q): Query<PageQuery>,
) -> Response {
    let view = match flow::view(&svc, &b, Pattern::SameDevice) {
        Ok(v) => v,
        Err(elsewhere) => return flow::see_other(&elsewhere),
    };
    let (lang, id, token, s) = (b.lang, b.id(), b.token.as_str(), &b.session);
    let link = match &view {
        View::Link(issued) => Some(app_link(&svc, &issued.handle, &s.origin)),
        View::Reading | View::Confirming => None,
    };
    let confirming = matches!(view, View::Confirming);
    let body = page(
        lang,
        lang.pick("スマートフォンだけで読み取る", "Read with this smartphone"),
        &format!("/s/{id}/{}", flow::segment(Pattern::SameDevice)),
        html! {
            h1 { (lang.pick("スマートフォンだけで読み取る", "Read with this smartphone")) }
            (who(&svc, lang, s))
            @if let Some(link) = &link {
                p { a id="open-app" class="button" href=(link) { (lang.pick("mynaidアプリで読み取る", "Read in the mynaid app")) } }
                p class="muted" {
                    (lang.pick("アプリでカードを読み取ると、このブラウザに戻ってきます。アプリがない場合は、ボタンの先のページで入手方法を案内します。",
                            "After the app has read your card, it brings you back to this browser. Without the app, the button's page explains how to get it."))
                }
            }
            (flow::live(&svc, &b, Pattern::SameDevice))
            @if !confirming { (flow::again_form(&b, Pattern::SameDevice)) }
            @if let Some(problem) = flow::confirm_problem(&b, &q) { p id="confirm-problem" class="status bad" role="alert" { (problem) } }
            (confirm_form(id, token, lang, Pattern::SameDevice, !confirming))
            @if let (Some(d), Some(link)) = (&svc.demo, &link) {
                p class="muted" { (lang.pick("デモ: スマートフォンアプリの代わりに次のコマンドを使えます:", "Demo: instead of the phone app you can run:")) }
                pre id="demo-command" { (phone_command(d, link, lang)) }
            }
            script src="/static/session.js" defer {}
        },
    );
    ([(header::CACHE_CONTROL, "no-store")], body).into_response()
}

/// The confirmation code typed on the page that started the session (by its script, which
/// wants JSON back, or by the form without a script).
pub(super) async fn confirm(State(svc): State<Arc<Server>>, post: BrowserForm) -> Response {
    let b = &post.browser;
    let (lang, id) = (b.lang, b.id());
    let code = post.form.get("code").unwrap_or_default();
    let next = flow::done_url(id, lang);
    match (svc.sessions.confirm(id, &b.token, code).await, post.json) {
        (Ok(()), true) => (StatusCode::OK, Json(json!({ "next": next }))).into_response(),
        (Err(e), true) => Answer::from(e).into_response(),
        // Without the script, the form's answer is always `303`: back and reload never post
        // the code again. A wrong code goes back to the page that asks for it, which says
        // so; anything else to the result page, which says what happened.
        (Ok(()), false) => flow::see_other(&next),
        (Err(SessionError::WrongCode { attempts_left }), false) => {
            let problem = if attempts_left.is_some() {
                "confirm=wrong"
            } else {
                "confirm=format"
            };
            flow::see_other(&flow::with_param(&flow::session_page(b), problem))
        }
        (Err(SessionError::Unavailable), false) => Answer::unavailable().page(lang).into_response(),
        (Err(_), false) => flow::see_other(&next),
    }
}

/// The return page of patterns 1 and 3: a script reads the result handle from the fragment (which no
/// server sees) and posts it back with this browser's cookie.
pub(super) async fn return_page(PageLang(lang): PageLang) -> Response {
    let body = page(
        lang,
        lang.pick("手続きに戻る", "Back to the procedure"),
        "/return",
        html! {
            h1 { (lang.pick("手続きに戻っています", "Returning to your procedure")) }
            p id="return-status" class="status" role="status" aria-live="polite" { (lang.pick("確認しています…", "Checking…")) }
            p id="return-help" class="muted" hidden {}
            script src="/static/return.js" defer {}
        },
    );
    ([(header::CACHE_CONTROL, "no-store")], body).into_response()
}

#[derive(Deserialize)]
pub(super) struct ReturnBody {
    result_handle: String,
}

/// Releases the result if this browser holds the session's cookie.
pub(super) async fn return_complete(
    State(svc): State<Arc<Server>>,
    PageLang(lang): PageLang,
    jar: CookieJar,
    Json(body): Json<ReturnBody>,
) -> Response {
    let handle = body.result_handle.trim();
    if !well_formed_token(handle) {
        return Answer::from(SessionError::HandleUnknown).into_response();
    }
    let session = match svc.sessions.session_by_result_handle(handle).await {
        Ok(s) => s,
        Err(e) => return Answer::from(e).into_response(),
    };
    let token = cookies::read(&jar, &cookie_name(&svc, &session.id));
    match svc.sessions.finish_return(handle, token.as_deref()).await {
        Ok(id) => Json(json!({ "next": format!("/s/{id}/done{}", query(lang)) })).into_response(),
        Err(e) => Answer::from(e).into_response(),
    }
}

/// An app link opened in a browser: no app claimed it.
pub(super) async fn app_missing(State(svc): State<Arc<Server>>, PageLang(lang): PageLang) -> Response {
    let demo = svc
        .demo
        .as_ref()
        .map(|d| (d.command("mynaid-server"), d.cards_dir.display().to_string()));
    let body = page(
        lang,
        lang.pick("アプリが必要です", "The app is needed"),
        "/app/read",
        html! {
            h1 { (lang.pick("mynaidアプリが必要です", "The mynaid app is needed")) }
            p { (lang.pick("このリンクはmynaidアプリで開きます。アプリをインストールしてから、手続きの画面に戻ってもう一度お試しください。",
                        "This link opens in the mynaid app. Install the app, then go back to the procedure page and try again.")) }
            p { a id="install-app" class="button" href=(svc.app_install_url) { (lang.pick("mynaidアプリを入手する", "Get the mynaid app")) } }
            p { button id="go-back" type="button" class="secondary" { (lang.pick("手続きの画面に戻る", "Back to the procedure page")) } }
            @if let Some((server, cards)) = demo {
                p class="muted" { (lang.pick("デモ: スマートフォンアプリの代わりに、パソコンで次のコマンドを実行できます（このページのアドレスを使います）:",
                                          "Demo: instead of the phone app, run this on a computer (it uses this page's address):")) }
                // The script puts the address in: its fragment (the handle) never reaches the
                // server, so only the page knows it.
                pre id="demo-command" data-cards=(cards) { (server) " phone --link '" span id="this-address" { (lang.pick("このページのアドレス", "this page's address")) } "' --emulator " (cards) "/p01.json" (lang.pick("", " --lang en")) }
            }
            script src="/static/app.js" defer {}
        },
    );
    ([(header::CACHE_CONTROL, "no-store")], body).into_response()
}
