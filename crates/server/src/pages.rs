//! Server-rendered pages, Japanese first with an English switch (`?lang=en`): the procedure
//! page offering the three ways to read the card, the reader-app page of pattern 1 with live
//! status (SSE), and the result page.
//!
//! The browser proves it is the one the session was created for with a cookie holding the
//! browser token (`__Host-` prefixed over HTTPS; `SameSite=Lax`, `HttpOnly`).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use futures_util::stream::{self, Stream, StreamExt};
use maud::{DOCTYPE, Markup, html};
use serde::Deserialize;
use serde_json::json;
use tokio_stream::wrappers::BroadcastStream;

use crate::error::ApiError;
use crate::events::Event;
use crate::service::{Purpose, Service};
use crate::store::{SessionRow, State as SessionState};

/// The page routes.
pub fn routes() -> Router<Arc<Service>> {
    Router::new()
        .route("/", get(home))
        .route("/static/style.css", get(style))
        .route("/static/session.js", get(script))
        .route("/s/{id}/start", get(start))
        .route("/s/{id}", get(procedure))
        .route("/s/{id}/pc", post(pc_reader))
        .route("/s/{id}/events", get(events))
        .route("/s/{id}/done", get(done))
}

/// Page language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// 日本語.
    #[default]
    Ja,
    /// English.
    En,
}

impl Lang {
    fn t<'a>(self, ja: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Ja => ja,
            Lang::En => en,
        }
    }

    fn code(self) -> &'static str {
        match self {
            Lang::Ja => "ja",
            Lang::En => "en",
        }
    }

    fn query(self) -> &'static str {
        match self {
            Lang::Ja => "",
            Lang::En => "?lang=en",
        }
    }
}

#[derive(Deserialize, Default)]
struct LangQuery {
    lang: Option<String>,
    t: Option<String>,
}

impl LangQuery {
    fn lang(&self) -> Lang {
        if self.lang.as_deref() == Some("en") {
            Lang::En
        } else {
            Lang::Ja
        }
    }
}

fn cookie_name(svc: &Service, id: &str) -> String {
    if svc.config().public_url.starts_with("https://") {
        format!("__Host-mynaid-{id}")
    } else {
        format!("mynaid-{id}")
    }
}

fn browser_token(svc: &Service, headers: &HeaderMap, id: &str) -> Option<String> {
    let name = cookie_name(svc, id);
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

fn page(lang: Lang, title: &str, switch_to: &str, body: Markup) -> Markup {
    page_with(lang, title, switch_to, None, body)
}

fn page_with(lang: Lang, title: &str, switch_to: &str, refresh: Option<&str>, body: Markup) -> Markup {
    let other = match lang {
        Lang::Ja => ("English", format!("{switch_to}?lang=en")),
        Lang::En => ("日本語", switch_to.to_string()),
    };
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " — mynaid" }
                link rel="stylesheet" href="/static/style.css";
                @if let Some(r) = refresh { meta http-equiv="refresh" content=(r); }
            }
            body {
                header {
                    strong { "mynaid" }
                    a href=(other.1) lang=(match lang { Lang::Ja => "en", Lang::En => "ja" }) { (other.0) }
                }
                main { (body) }
                footer class="muted" {
                    (lang.t("マイナンバーカードの券面情報を確認します。個人番号（12桁）は読み取りません。",
                            "Reads and verifies the card face of your My Number Card. The 12-digit Individual Number is never read."))
                }
            }
        }
    }
}

fn error_page(lang: Lang, e: &ApiError) -> Response {
    let msg = if lang == Lang::Ja { &e.ja } else { &e.en };
    let body = page(
        lang,
        lang.t("エラー", "Error"),
        "/",
        html! {
            h1 { (lang.t("手続きを続けられません", "The procedure cannot continue")) }
            p class="status bad" role="alert" { (msg) }
        },
    );
    (e.status, body).into_response()
}

async fn home(Query(q): Query<LangQuery>) -> Markup {
    let lang = q.lang();
    page(
        lang,
        "mynaid",
        "/",
        html! {
            h1 { "mynaid" }
            p { (lang.t("このサービスは、手続きを行うサイトから案内されたときに使います。",
                        "You reach this service from the site where you do your procedure.")) }
        },
    )
}

async fn style() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("../static/style.css"),
    )
        .into_response()
}

async fn script() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("../static/session.js"),
    )
        .into_response()
}

/// The browser arrives with its token once in the URL; it moves into a cookie and the URL
/// loses it.
async fn start(State(svc): State<Arc<Service>>, Path(id): Path<String>, Query(q): Query<LangQuery>) -> Response {
    let lang = q.lang();
    let Some(token) = q.t.as_deref() else {
        return error_page(lang, &ApiError::unauthorized());
    };
    if let Err(e) = svc.browser_session(&id, token).await {
        return error_page(lang, &e);
    }
    let secure = svc.config().public_url.starts_with("https://");
    let cookie = format!(
        "{}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age=1800{}",
        cookie_name(&svc, &id),
        if secure { "; Secure" } else { "" }
    );
    let mut resp = Redirect::to(&format!("/s/{id}{}", lang.query())).into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}

async fn session_for(svc: &Service, headers: &HeaderMap, id: &str) -> Result<(SessionRow, String), ApiError> {
    let token = browser_token(svc, headers, id).ok_or_else(ApiError::unauthorized)?;
    let s = svc.browser_session(id, &token).await?;
    Ok((s, token))
}

fn who(svc: &Service, lang: Lang, s: &SessionRow) -> Markup {
    let rp = svc.relying_party(&s.relying_party);
    let name = rp
        .map(|rp| {
            if lang == Lang::Ja {
                rp.name.as_str()
            } else {
                rp.name_en.as_str()
            }
        })
        .unwrap_or("");
    let purpose = Purpose::parse(&s.purpose).unwrap_or(Purpose::VerifyIdentity);
    html! {
        dl class="who" {
            dt { (lang.t("手続きをするサービス", "Service")) } dd { (name) }
            dt { (lang.t("サービスのアドレス", "Service address")) } dd { (s.origin) }
            dt { (lang.t("目的", "Purpose")) } dd { (lang.t(purpose.ja(), purpose.en())) }
        }
    }
}

async fn procedure(
    State(svc): State<Arc<Service>>,
    Path(id): Path<String>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    let lang = q.lang();
    let (s, _) = match session_for(&svc, &headers, &id).await {
        Ok(v) => v,
        Err(e) => return error_page(lang, &e),
    };
    if s.state != SessionState::Created || s.is_expired(svc.now()) {
        return Redirect::to(&format!("/s/{id}/done{}", lang.query())).into_response();
    }
    let lang_field = html! { @if lang == Lang::En { input type="hidden" name="lang" value="en"; } };
    page(lang, lang.t("読み取り方法の選択", "Choose how to read your card"), &format!("/s/{id}"), html! {
        h1 { (lang.t("マイナンバーカードの読み取り方法を選んでください", "Choose how to read your My Number Card")) }
        (who(&svc, lang, &s))
        ul class="methods" {
            li {
                form method="post" action=(format!("/s/{id}/pc{}", lang.query())) {
                    (lang_field)
                    button type="submit" id="method-pc" {
                        (lang.t("パソコンとICカードリーダーで読み取る", "Read with this PC and an IC card reader"))
                    }
                }
            }
            li {
                button type="button" class="secondary" disabled aria-describedby="soon" {
                    (lang.t("パソコンとスマートフォンで読み取る（2次元バーコード）", "Read with this PC and a smartphone (2D barcode)"))
                }
            }
            li {
                button type="button" class="secondary" disabled aria-describedby="soon" {
                    (lang.t("スマートフォンだけで読み取る", "Read with a smartphone only"))
                }
            }
        }
        p id="soon" class="muted" { (lang.t("スマートフォンでの読み取りは準備中です。", "Reading with a smartphone is being prepared.")) }
        p class="muted" {
            (lang.t("どの方法でも、数字4桁の暗証番号（券面事項入力補助用）か、英数字6〜16文字の署名用電子証明書のパスワードを使います。",
                    "Each way uses either the 4-digit PIN (card-info input support) or the 6-16 character signature password."))
        }
    }).into_response()
}

fn messages(lang: Lang) -> serde_json::Value {
    let m = |ja: &str, en: &str| lang.t(ja, en).to_string();
    json!({
        "waiting": m("読み取りアプリの起動を待っています。アプリで暗証番号を入力してください。", "Waiting for the reader app. Enter your PIN in the app."),
        "reading": m("読み取りアプリがカードを読み取っています。カードをリーダーから離さないでください。", "The reader app is reading your card. Keep the card on the reader."),
        "pin_wrong": m("暗証番号が違います。残り{n}回です。読み取りアプリでもう一度お試しください。", "Wrong PIN. {n} tries left. Try again in the reader app."),
        "pin_blocked": m("暗証番号がロックされています。住民票のある市区町村の窓口でロック解除の手続きをしてください。", "The PIN is locked. Ask your city office to unlock it."),
        "card_removed": m("カードが取り外されました。カードをリーダーに置き直して、読み取りアプリでもう一度お試しください。", "The card was removed. Put it back on the reader and try again in the reader app."),
        "no_card": m("カードが見つかりません。マイナンバーカードをICカードリーダーに置いてください。", "No card found. Put your My Number Card on the IC card reader."),
        "not_my_number_card": m("マイナンバーカードではないカードが置かれています。", "The card on the reader is not a My Number Card."),
        "no_signature_certificate": m("このカードには署名用電子証明書がありません。数字4桁の暗証番号で読み取ってください。", "This card has no signature certificate. Read it with the 4-digit PIN."),
        "reader_error": m("カードリーダーとの通信に失敗しました。リーダーの接続を確かめてください。", "Communication with the card reader failed. Check the reader's connection."),
        "cancelled": m("読み取りが中止されました。このページを再読み込みしてやり直せます。", "Reading was cancelled. Reload this page to start again."),
        "second_redeem": m("別の端末がこの読み取り用リンクを使おうとしました。心当たりがない場合は、この手続きを中止してください。", "Another device tried to use this reading link. If that was not you, stop this procedure."),
        "verified": m("確認できました。次の画面に進みます。", "Verified. Moving on."),
        "expired": m("有効期限（5分）が過ぎました。ページを再読み込みしてやり直してください。", "The time limit (5 minutes) has passed. Reload the page to start again."),
        "failed_certificate_revoked": m("電子証明書が失効しています。数字4桁の暗証番号での読み取りをお試しください。", "The certificate has been revoked. Try reading with the 4-digit PIN."),
        "failed_certificate_expired": m("電子証明書の有効期限が切れています。市区町村の窓口で更新してください。", "The certificate has expired. Renew it at your city office."),
        "failed_signature_mismatch": m("カードの署名がこの手続きと一致しません。最初からやり直してください。", "The card's signature does not match this procedure. Start again."),
        "unknown": m("確認できませんでした。最初からやり直してください。", "The card could not be verified. Start again."),
    })
}

fn reader_link(svc: &Service, handle: &str) -> String {
    let server: String = svc
        .config()
        .public_origin()
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    format!("mynaid://read?server={server}&handle={handle}")
}

async fn pc_reader(
    State(svc): State<Arc<Service>>,
    Path(id): Path<String>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    let lang = q.lang();
    let (s, token) = match session_for(&svc, &headers, &id).await {
        Ok(v) => v,
        Err(e) => return error_page(lang, &e),
    };
    let issued = match svc.issue_handle(&id, &token).await {
        Ok(h) => h,
        Err(e) => return error_page(lang, &e),
    };
    let link = reader_link(&svc, &issued.handle);
    let command = format!("mynaid read --link '{link}'");
    let demo = svc.config().demo.as_ref().map(|d| {
        format!(
            "mynaid read --link '{link}' --emulator {}/p01.json",
            d.cards_dir.display()
        )
    });
    let events = format!("/s/{id}/events");
    let next = format!("/s/{id}/done{}", lang.query());
    let body = page(
        lang,
        lang.t("ICカードリーダーで読み取る", "Read with an IC card reader"),
        &format!("/s/{id}"),
        html! {
            h1 { (lang.t("ICカードリーダーで読み取る", "Read with an IC card reader")) }
            (who(&svc, lang, &s))
            div id="live" data-events=(events) data-next=(next) data-expires=(issued.expires_at)
                data-messages=(messages(lang).to_string()) {
                p id="status" class="status" role="status" aria-live="polite" data-state="waiting" {
                    (lang.t("読み取りアプリの起動を待っています。アプリで暗証番号を入力してください。", "Waiting for the reader app. Enter your PIN in the app."))
                }
                p class="muted" { (lang.t("残り時間", "Time left")) " " span id="countdown" { "5:00" } }
            }
            ol {
                li { (lang.t("ICカードリーダーがパソコンに接続されていることを確かめ、マイナンバーカードを置いてください。", "Check that the IC card reader is connected to this PC, and put your My Number Card on it.")) }
                li {
                    (lang.t("次のボタンで読み取りアプリ（mynaid）を起動します。", "Open the reader app (mynaid) with this button."))
                    p { a id="launch" class="button" href=(link) data-auto="1" { (lang.t("読み取りアプリを起動する", "Open the reader app")) } }
                }
                li { (lang.t("アプリにサービス名とアドレスが表示されます。上の表示と同じであることを確かめてから、暗証番号を入力してください。", "The app shows the service name and address. Check that they match the ones above before you enter your PIN.")) }
            }
            h2 { (lang.t("アプリが起動しないときは", "If the app does not open")) }
            p { (lang.t("端末（ターミナル）で次のコマンドを実行してください。", "Run this command in a terminal:")) }
            pre id="command" { (command) }
            @if let Some(demo) = demo {
                p class="muted" { (lang.t("デモ: エミュレートしたカードで読み取るとき（p01 を他のテスト人物に変えられます）:", "Demo: to read an emulated card (change p01 to another test person):")) }
                pre id="demo-command" { (demo) }
            }
            h2 { (lang.t("読み取りアプリの入手と更新", "Getting or updating the reader app")) }
            p {
                (lang.t(format!("バージョン{}以降が必要です。", svc.config().min_reader_version).as_str(), format!("Version {} or later is needed.", svc.config().min_reader_version).as_str()))
                " "
                (lang.t("以前にインストールしたアプリが古い場合は、更新してください。インストール後に「mynaid install-handler」を実行すると、このページのボタンでアプリが起動するようになります。",
                        "If you installed the app a long time ago, update it. After installing, run \"mynaid install-handler\" so that the button on this page opens it."))
            }
            script src="/static/session.js" defer {}
        },
    );
    ([(header::CACHE_CONTROL, "no-store")], body).into_response()
}

async fn events(State(svc): State<Arc<Service>>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    let (s, _) = match session_for(&svc, &headers, &id).await {
        Ok(v) => v,
        Err(e) => return e.into_response(),
    };
    let rx = svc.events().subscribe(&id);
    let first = svc.current_event(&s);
    let until_expiry = Duration::from_secs((s.expires_at - svc.now()).max(0) as u64 + 1);
    let sse = |e: &Event| -> Result<SseEvent, Infallible> {
        Ok(SseEvent::default().data(serde_json::to_string(e).unwrap_or_else(|_| "{}".into())))
    };
    let terminal = matches!(first, Event::Verified | Event::Failed { .. } | Event::Expired);
    let head = stream::iter([sse(&first)]);
    let stream: std::pin::Pin<Box<dyn Stream<Item = Result<SseEvent, Infallible>> + Send>> = if terminal {
        Box::pin(head)
    } else {
        let live = BroadcastStream::new(rx)
            .filter_map(|m| async move { m.ok() })
            .map(move |e| sse(&e));
        let expiry = stream::once(async move {
            tokio::time::sleep(until_expiry).await;
            Event::Expired
        })
        .map(move |e| sse(&e));
        Box::pin(head.chain(stream::select(live, expiry)))
    };
    Sse::new(stream).keep_alive(KeepAlive::default()).into_response()
}

async fn done(
    State(svc): State<Arc<Service>>,
    Path(id): Path<String>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    let lang = q.lang();
    let (s, _) = match session_for(&svc, &headers, &id).await {
        Ok(v) => v,
        Err(e) => return error_page(lang, &e),
    };
    let back = s
        .return_url
        .as_ref()
        .map(|u| format!("{u}{}session={id}", if u.contains('?') { '&' } else { '?' }));
    let verified = matches!(s.state, SessionState::EvidenceVerified | SessionState::Completed);
    let refresh = back.as_ref().filter(|_| verified).map(|b| format!("2;url={b}"));
    let body = page_with(
        lang,
        lang.t("結果", "Result"),
        &format!("/s/{id}/done"),
        refresh.as_deref(),
        html! {
            @if verified {
                h1 { (lang.t("マイナンバーカードを確認できました", "Your My Number Card was verified")) }
                (who(&svc, lang, &s))
                @if let Some(back) = &back {
                    p { a id="back" class="button" href=(back) { (lang.t("サービスに戻る", "Back to the service")) } }
                }
            } @else if s.is_expired(svc.now()) {
                h1 { (lang.t("有効期限が切れました", "The time limit has passed")) }
                p class="status bad" { (lang.t("もう一度、手続きをするサービスからやり直してください。", "Start again from the service.")) }
            } @else {
                h1 { (lang.t("確認できませんでした", "The card could not be verified")) }
                p class="status bad" data-code=(s.error_code.clone().unwrap_or_default()) {
                    (messages(lang).get(format!("failed_{}", s.error_code.clone().unwrap_or_default())).and_then(|v| v.as_str()).map(str::to_string)
                        .unwrap_or_else(|| lang.t("確認できませんでした。最初からやり直してください。", "The card could not be verified. Start again.").to_string()))
                }
                @if let Some(back) = &back { p { a class="button secondary" href=(back) { (lang.t("サービスに戻る", "Back to the service")) } } }
            }
        },
    );
    (StatusCode::OK, [(header::CACHE_CONTROL, "no-store")], body).into_response()
}
