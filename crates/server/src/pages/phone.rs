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
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{PreEscaped, html};
use qrcode::QrCode;
use qrcode::render::svg;
use serde::Deserialize;
use serde_json::json;

use super::layout::{Lang, LangQuery, browser_token, csrf_input, error_page, page, session_post, who};
use super::messages::messages;
use crate::error::ApiError;
use crate::service::{Pattern, Service};

fn encode_component(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The app link for a handle.
pub(crate) fn app_link(svc: &Service, handle: &str, origin: &str) -> String {
    format!(
        "{}/app/read#h={handle}&o={}",
        svc.config().public_origin(),
        encode_component(origin)
    )
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

fn confirm_form(id: &str, token: &str, lang: Lang, hidden: bool) -> maud::Markup {
    html! {
        section id="confirm" hidden[hidden] aria-labelledby="confirm-title" {
            h2 id="confirm-title" { (lang.t("確認コードの入力", "Confirmation code")) }
            form id="confirm-form" method="post" action=(format!("/s/{id}/confirm{}", lang.query())) {
                (csrf_input(id, token))
                label for="confirm-code" { (lang.t("スマートフォンに表示された6桁の数字", "The 6 digits your smartphone shows")) }
                input id="confirm-code" name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9 -]{6,8}" maxlength="8" required;
                button id="confirm-submit" type="submit" { (lang.t("確認する", "Confirm")) }
            }
            p id="confirm-error" class="status bad" role="alert" hidden {}
        }
    }
}

/// Pattern 2: the QR code page (POST again: a fresh handle, the old one stops working).
pub(super) async fn cross_device(
    State(svc): State<Arc<Service>>,
    Path(id): Path<String>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let lang = q.lang();
    let (s, token) = match session_post(&svc, &headers, &id, &body).await {
        Ok(v) => v,
        Err(e) => return error_page(lang, &e),
    };
    let issued = match svc.issue_handle(&id, &token, Pattern::CrossDevice).await {
        Ok(h) => h,
        Err(e) => return error_page(lang, &e),
    };
    let link = app_link(&svc, &issued.handle, &s.origin);
    let Some(svg) = qr_svg(&link) else {
        return error_page(lang, &ApiError::unavailable());
    };
    let body = page(
        lang,
        lang.t("スマートフォンで読み取る", "Read with your smartphone"),
        &format!("/s/{id}"),
        html! {
            h1 { (lang.t("スマートフォンで読み取る", "Read with your smartphone")) }
            (who(&svc, lang, &s))
            ol {
                li { (lang.t("スマートフォンでmynaidアプリを開き、このQRコードを読み取ってください。", "Open the mynaid app on your smartphone and scan this QR code.")) }
                li {
                    (lang.t("スマートフォンに次のコードが表示されることを確かめてください: ", "Check that your smartphone shows this code: "))
                    strong id="pc-code" class="code" { (issued.pc_code) }
                }
                li { (lang.t("アプリで暗証番号を入力し、カードをスマートフォンにかざします。", "Enter your PIN in the app and hold the card against the phone.")) }
                li { (lang.t("スマートフォンに表示される6桁の確認コードを、この画面に入力します。", "Type the 6-digit confirmation code the phone shows on this page.")) }
            }
            figure id="qr" {
                (PreEscaped(svg))
                figcaption class="muted" {
                    (lang.t("QRコード（読み取り用リンク）。しばらくすると無効になります。", "QR code (reading link). It stops working after a while."))
                    " " (lang.t("残り時間", "Time left")) " " span id="countdown" { "5:00" }
                }
            }
            form method="post" action=(format!("/s/{id}/phone{}", lang.query())) {
                (csrf_input(&id, &token))
                button id="refresh" type="submit" class="secondary" { (lang.t("QRコードを新しくする", "Show a new QR code")) }
            }
            div id="live" data-events=(format!("/s/{id}/events")) data-next=(format!("/s/{id}/done{}", lang.query()))
                data-expires=(issued.expires_at) data-messages=(messages(lang, Pattern::CrossDevice).to_string()) {
                p id="status" class="status" role="status" aria-live="polite" data-state="waiting" {
                    (lang.t("スマートフォンのmynaidアプリで、このQRコードを読み取ってください。", "Scan this QR code with the mynaid app on your smartphone."))
                }
            }
            (confirm_form(&id, &token, lang, true))
            details {
                summary { (lang.t("QRコードを読み取れないとき", "If the QR code cannot be scanned")) }
                p class="muted" { (lang.t("アプリで次のリンクを開いてください:", "Open this link in the app:")) }
                pre id="app-link" { (link) }
                @if let Some(d) = &svc.config().demo {
                    p class="muted" { (lang.t("デモ: スマートフォンアプリの代わりに次のコマンドを使えます:", "Demo: instead of the phone app you can run:")) }
                    pre id="demo-command" { (format!("mynaid phone --link '{link}' --emulator {}/p01.json", d.cards_dir.display())) }
                }
            }
            script src="/static/session.js" defer {}
        },
    );
    ([(header::CACHE_CONTROL, "no-store")], body).into_response()
}

/// Pattern 3: the phone's browser hands off to the app on the same phone.
pub(super) async fn same_device(
    State(svc): State<Arc<Service>>,
    Path(id): Path<String>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let lang = q.lang();
    let (s, token) = match session_post(&svc, &headers, &id, &body).await {
        Ok(v) => v,
        Err(e) => return error_page(lang, &e),
    };
    let issued = match svc.issue_handle(&id, &token, Pattern::SameDevice).await {
        Ok(h) => h,
        Err(e) => return error_page(lang, &e),
    };
    let link = app_link(&svc, &issued.handle, &s.origin);
    let body = page(
        lang,
        lang.t("スマートフォンだけで読み取る", "Read with this smartphone"),
        &format!("/s/{id}"),
        html! {
            h1 { (lang.t("スマートフォンだけで読み取る", "Read with this smartphone")) }
            (who(&svc, lang, &s))
            p { a id="open-app" class="button" href=(link) { (lang.t("mynaidアプリで読み取る", "Read in the mynaid app")) } }
            p class="muted" {
                (lang.t("アプリでカードを読み取ると、このブラウザに戻ってきます。アプリがない場合は、ボタンの先のページで入手方法を案内します。",
                        "After the app has read your card, it brings you back to this browser. Without the app, the button's page explains how to get it."))
            }
            div id="live" data-events=(format!("/s/{id}/events")) data-next=(format!("/s/{id}/done{}", lang.query()))
                data-expires=(issued.expires_at) data-messages=(messages(lang, Pattern::SameDevice).to_string()) {
                p id="status" class="status" role="status" aria-live="polite" data-state="waiting" {
                    (lang.t("mynaidアプリでカードを読み取ってください。終わるとこの画面に戻ります。", "Read your card in the mynaid app. You will come back to this page afterwards."))
                }
                p class="muted" { (lang.t("残り時間", "Time left")) " " span id="countdown" { "5:00" } }
            }
            form method="post" action=(format!("/s/{id}/same{}", lang.query())) {
                (csrf_input(&id, &token))
                button id="read-again" type="submit" class="secondary" { (lang.t("もう一度読み取る", "Read again")) }
            }
            (confirm_form(&id, &token, lang, true))
            @if let Some(d) = &svc.config().demo {
                p class="muted" { (lang.t("デモ: スマートフォンアプリの代わりに次のコマンドを使えます:", "Demo: instead of the phone app you can run:")) }
                pre id="demo-command" { (format!("mynaid phone --link '{link}' --emulator {}/p01.json", d.cards_dir.display())) }
            }
            script src="/static/session.js" defer {}
        },
    );
    ([(header::CACHE_CONTROL, "no-store")], body).into_response()
}

fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"))
}

/// The confirmation code typed on the page that started the session.
pub(super) async fn confirm(
    State(svc): State<Arc<Service>>,
    Path(id): Path<String>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let lang = q.lang();
    let code = crate::hardening::form_field(&body, "code").unwrap_or_default();
    let result = match session_post(&svc, &headers, &id, &body).await {
        Ok((_, token)) => svc.confirm(&id, &token, &code).await,
        Err(e) => Err(e),
    };
    match (result, wants_json(&headers)) {
        (Ok(()), true) => (
            StatusCode::OK,
            Json(json!({ "next": format!("/s/{id}/done{}", lang.query()) })),
        )
            .into_response(),
        (Ok(()), false) => Redirect::to(&format!("/s/{id}/done{}", lang.query())).into_response(),
        (Err(e), true) => e.into_response(),
        (Err(e), false) => error_page(lang, &e),
    }
}

/// Pattern 3's return page: a script reads the result handle from the fragment (which no
/// server sees) and posts it back with this browser's cookie.
pub(super) async fn return_page(Query(q): Query<LangQuery>) -> Response {
    let lang = q.lang();
    let body = page(
        lang,
        lang.t("手続きに戻る", "Back to the procedure"),
        "/return",
        html! {
            h1 { (lang.t("手続きに戻っています", "Returning to your procedure")) }
            p id="return-status" class="status" role="status" aria-live="polite" { (lang.t("確認しています…", "Checking…")) }
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
    State(svc): State<Arc<Service>>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
    Json(body): Json<ReturnBody>,
) -> Response {
    let lang = q.lang();
    let handle = body.result_handle.trim();
    if !(16..=64).contains(&handle.len())
        || !handle
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return ApiError::handle_unknown().into_response();
    }
    let session = match svc.session_by_result_handle(handle).await {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    let token = browser_token(&svc, &headers, &session.id).unwrap_or_default();
    match svc.finish_same_device(handle, &token).await {
        Ok(id) => Json(json!({ "next": format!("/s/{id}/done{}", lang.query()) })).into_response(),
        Err(e) => e.into_response(),
    }
}

/// An app link opened in a browser: no app claimed it.
pub(super) async fn app_missing(State(svc): State<Arc<Service>>, Query(q): Query<LangQuery>) -> Response {
    let lang = q.lang();
    let demo = svc.config().demo.as_ref().map(|d| d.cards_dir.display().to_string());
    let body = page(
        lang,
        lang.t("アプリが必要です", "The app is needed"),
        "/app/read",
        html! {
            h1 { (lang.t("mynaidアプリが必要です", "The mynaid app is needed")) }
            p { (lang.t("このリンクはmynaidアプリで開きます。アプリをインストールしてから、手続きの画面に戻ってもう一度お試しください。",
                        "This link opens in the mynaid app. Install the app, then go back to the procedure page and try again.")) }
            @if let Some(cards) = demo {
                p class="muted" { (lang.t("デモ: スマートフォンアプリの代わりに、パソコンで次のコマンドを実行できます（このページのアドレスを使います）:",
                                          "Demo: instead of the phone app, run this on a computer (it uses this page's address):")) }
                pre id="demo-command" data-cards=(cards) { "mynaid phone --link '<このページのアドレス / this page's address>' --emulator " (cards) "/p01.json" }
            }
        },
    );
    ([(header::CACHE_CONTROL, "no-store")], body).into_response()
}
