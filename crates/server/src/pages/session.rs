//! The session's own pages: the browser's start, the procedure page with the three ways to
//! read the card, the live events (SSE) and the result page.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Json};
use axum_extra::extract::CookieJar;
use futures_util::stream::{self, Stream, StreamExt};
use maud::{Markup, html};
use mynaid_protocol::{Pattern, Route};
use mynaid_sessions::events::Event;
use mynaid_sessions::store::State as SessionState;
use mynaid_sessions::{SessionError, Started};
use mynaid_web::hardening::csrf_input;
use mynaid_web::{Answer, PageLang, cookies, page, page_with, query};
use serde::Deserialize;
use serde_json::json;
use tokio_stream::wrappers::BroadcastStream;

use super::CSRF_SCOPE;
use super::browser::{Browser, BrowserForm, authenticate, cookie_name};
use super::flow;
use super::layout::who;
use super::messages;
use super::phone::confirm_form;
use crate::Server;
use crate::conn::{self, Slot, Streams};

/// The start URL's query: the browser token (once) and the language.
#[derive(Deserialize)]
pub(super) struct StartQuery {
    t: Option<String>,
}

/// A relying party's start link: the first browser to open it becomes the session's (its
/// cookie gets a fresh token; the link's token is used up). Opened again in that browser, it
/// goes on; in any other, it is refused with a warning.
pub(super) async fn start(
    State(s): State<Arc<Server>>,
    Path(id): Path<String>,
    PageLang(lang): PageLang,
    Query(start): Query<StartQuery>,
    jar: CookieJar,
) -> Response {
    let Some(token) = start.t else {
        return Answer::from(SessionError::Unauthorized).page(lang).into_response();
    };
    let next = Redirect::to(&format!("/s/{id}{}", query(lang)));
    let held = cookies::read(&jar, &cookie_name(&s, &id));
    match s.sessions.start(&id, &token, held.as_deref()).await {
        Ok(Started::AlreadyHere) => next.into_response(),
        Ok(Started::Now(browser_token)) => {
            let cookie = cookies::secret(
                cookie_name(&s, &id),
                browser_token,
                cookies::SESSION_MAX_AGE_SECS,
                s.https,
            );
            (CookieJar::new().add(cookie), next).into_response()
        }
        Err(e) => Answer::from(e).page(lang).into_response(),
    }
}

pub(super) async fn procedure(State(s): State<Arc<Server>>, b: Browser) -> Response {
    let (lang, id) = (b.lang, b.id());
    // A way can be chosen while a new reading can start (out of time too: choosing gives new
    // time, up to the session's longest life; after a failure that allows another attempt);
    // otherwise the result page says what happened and what to do next.
    if !s.sessions.may_read_again(&b.session) {
        return Redirect::to(&format!("/s/{id}/done{}", query(lang))).into_response();
    }
    let method = |path: &str, button: &str, label: &str| {
        html! {
            li {
                form method="post" action=(format!("/s/{id}/{path}{}", query(lang))) {
                    (csrf_input(CSRF_SCOPE, id, &b.token))
                    button type="submit" id=(button) { (label) }
                }
            }
        }
    };
    page(lang, lang.pick("読み取り方法の選択", "Choose how to read your card"), &format!("/s/{id}"), html! {
        h1 { (lang.pick("マイナンバーカードの読み取り方法を選んでください", "Choose how to read your My Number Card")) }
        (who(&s, lang, &b.session))
        ul class="methods" {
            (method("pc", "method-pc", lang.pick("パソコンとICカードリーダーで読み取る", "Read with this PC and an IC card reader")))
            (method("phone", "method-phone", lang.pick("パソコンとスマートフォンで読み取る（2次元バーコード）", "Read with this PC and a smartphone (2D barcode)")))
            (method("same", "method-same", lang.pick("スマートフォンだけで読み取る", "Read with a smartphone only")))
        }
        p class="muted" id="what-to-type" {
            // Only what this procedure accepts: a person is not asked for a PIN that cannot
            // give the result the service needs.
            @match (b.session.accepted.contains(&Route::Signature), b.session.accepted.contains(&Route::UserAuthentication)) {
                (true, true) => (lang.pick("どの方法でも、数字4桁の暗証番号（利用者証明用電子証明書の暗証番号と券面事項入力補助用暗証番号）か、英数字6〜16文字の署名用電子証明書のパスワードを使います。",
                    "Each way uses either the 4-digit PINs (the user-authentication certificate PIN and the card-info input-support PIN) or the 6-16 character signature password.")),
                (true, false) => (lang.pick("この手続きでは、英数字6〜16文字の署名用電子証明書のパスワードを使います（数字4桁の暗証番号では手続きできません）。",
                    "This procedure uses the 6-16 character signature password (the 4-digit PIN cannot be used for it).")),
                _ => (lang.pick("この手続きでは、数字4桁の暗証番号（利用者証明用電子証明書の暗証番号と券面事項入力補助用暗証番号）を使います。",
                    "This procedure uses the 4-digit PINs (the user-authentication certificate PIN and the card-info input-support PIN).")),
            }
        }
    }).into_response()
}

/// How long a client refused a stream above the caps is told to wait.
const STREAMS_RETRY_SECS: u64 = 5;

/// The live events. A script (EventSource) opens it: a refusal is the JSON error.
///
/// At most `sse_per_session` streams for one session and `sse_per_address` from one address
/// are open at once (a stream holds its slots until it ends); above, `429`. When the server
/// stops, a stream gets a last event, `{"state":"reconnect"}`, and ends: the page's script
/// opens it again after a pause (on this server once it is back, or on another instance),
/// and the shutdown need not wait for streams that would only end with their session.
pub(super) async fn events(
    State(s): State<Arc<Server>>,
    Path(id): Path<String>,
    jar: CookieJar,
    headers: HeaderMap,
    streams: Option<Extension<Streams>>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
) -> Response {
    let (session, _) = match authenticate(&s, &jar, &id).await {
        Ok(v) => v,
        Err(e) => return Answer::from(e).into_response(),
    };
    // Served without `serve` (the router alone, in tests) there are no caps and no stop.
    let held = match &streams {
        Some(Extension(streams)) => {
            let Some(for_session) = streams.per_session.take(id.clone()) else {
                return Answer::rate_limited(STREAMS_RETRY_SECS).into_response();
            };
            let address = conn::client_address(
                &headers,
                peer.map(|Extension(ConnectInfo(p))| p),
                s.limits.client_address_header.as_deref(),
            );
            let for_address = match address {
                Some(a) => match streams.per_address.take(a) {
                    Some(slot) => Some(slot),
                    None => return Answer::rate_limited(STREAMS_RETRY_SECS).into_response(),
                },
                None => None,
            };
            Some((for_session, for_address))
        }
        None => None,
    };
    let rx = s.sessions.events().subscribe(&id);
    let first = s.sessions.current_event(&session);
    let sse = |e: &Event| -> Result<SseEvent, Infallible> {
        Ok(SseEvent::default().data(serde_json::to_string(e).unwrap_or_else(|_| "{}".into())))
    };
    let terminal = matches!(first, Event::Verified | Event::Failed { .. } | Event::Expired);
    let head = stream::iter([sse(&first)]);
    let stream: Events = if terminal {
        Box::pin(head)
    } else {
        let live = BroadcastStream::new(rx)
            .filter_map(|m| async move { m.ok() })
            .map(move |e| sse(&e));
        let expiry = stream::once(time_up(s.sessions.clone(), id.clone(), session.time_limit())).map(move |e| sse(&e));
        let stream = head.chain(stream::select(live, expiry));
        match streams {
            Some(Extension(streams)) => {
                let stopped = Arc::new(AtomicBool::new(false));
                let flag = stopped.clone();
                let until_stop = stream.take_until(async move {
                    streams.stopped().await;
                    flag.store(true, Ordering::Relaxed);
                });
                let last =
                    stream::once(async move { stopped.load(Ordering::Relaxed) }).filter_map(|stopped| async move {
                        stopped.then(|| Ok(SseEvent::default().data(r#"{"state":"reconnect"}"#)))
                    });
                Box::pin(until_stop.chain(last))
            }
            None => Box::pin(stream),
        }
    };
    Sse::new(Held {
        stream,
        _held: held,
        _counted: crate::ops::sse_opened(),
    })
    .keep_alive(KeepAlive::default())
    .into_response()
}

/// [`Event::Expired`] when the time limit that runs (`limit` now) has passed. The session is
/// looked at again then: the person may have extended it, or the card was read and the
/// confirmation code's limit runs. A session that ended otherwise says so with its own
/// event: this one never comes.
async fn time_up(sessions: Arc<mynaid_sessions::Service>, id: String, limit: Option<i64>) -> Event {
    let Some(mut limit) = limit else {
        return std::future::pending().await;
    };
    loop {
        let wait = (limit - sessions.now()).max(0) as u64 + 1;
        tokio::time::sleep(Duration::from_secs(wait)).await;
        match sessions.session(&id).await {
            Ok(Some(now)) => match now.time_limit() {
                Some(t) if t >= sessions.now() => limit = t,
                Some(_) => return Event::Expired,
                None => return std::future::pending().await,
            },
            Ok(None) => return Event::Expired,
            // The database could not answer: look again shortly.
            Err(_) => limit = sessions.now() + 1,
        }
    }
}

type Events = std::pin::Pin<Box<dyn Stream<Item = Result<SseEvent, Infallible>> + Send>>;

/// A stream with its slots among the caps, given back when it ends or its client goes.
struct Held {
    stream: Events,
    _held: Option<(Slot<String>, Option<Slot<IpAddr>>)>,
    /// In `mynaid_sse_streams` while it lives.
    _counted: crate::ops::SseStream,
}

impl Stream for Held {
    type Item = Result<SseEvent, Infallible>;

    fn poll_next(mut self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.stream.as_mut().poll_next(cx)
    }
}

pub(super) async fn done(State(s): State<Arc<Server>>, b: Browser) -> Response {
    let (lang, id, session) = (b.lang, b.id(), &b.session);
    let now = s.sessions.now();
    // Nothing to say yet: the session goes on on its own page.
    let going_on =
        matches!(session.state, SessionState::Created | SessionState::HandleRedeemed) && !session.time_is_up(now);
    // The way back carries the code only this browser (its cookie) can show: the relying
    // party takes the result with it, so a browser without the cookie gets nothing.
    let back = flow::back_url(&s, &b);
    let verified = session.state == SessionState::Completed
        || (session.state == SessionState::EvidenceVerified && session.released);
    let confirming = session.state == SessionState::EvidenceVerified && !session.released && !session.time_is_up(now);
    // What can still be done in this session: a new reading (of the way it was read, or
    // another way), when it allows one.
    let again = s.sessions.may_read_again(session);
    let pattern = session.pattern.unwrap_or(Pattern::PcReader);
    // Back to the service at once: a timed refresh is a time limit the person cannot stop or
    // extend (WCAG 2.2.1; axe-core's `meta-refresh`), an instant one is not.
    let refresh = back.as_ref().filter(|_| verified).map(|b| format!("0;url={b}"));
    let failure = session.failure.map(|f| f.as_str()).unwrap_or_default();
    let body = page_with(
        lang,
        lang.pick("結果", "Result"),
        &format!("/s/{id}/done"),
        refresh.as_deref(),
        html! {
            @if confirming {
                h1 { (lang.pick("確認コードを入力してください", "Type the confirmation code")) }
                (who(&s, lang, session))
                p { (lang.pick("カードは読み取れました。結果をサービスに渡す前に、読み取りに使ったアプリや端末に表示された6桁の確認コードを入力してください。",
                            "Your card was read. Before the result goes to the service, type the 6-digit confirmation code that the app or device you read it with shows.")) }
                (confirm_form(id, &b.token, lang, session.pattern.unwrap_or(Pattern::PcReader), false))
                @if let Some(back) = &back { p { a class="button secondary" href=(back) { (lang.pick("確認せずにサービスに戻る", "Back to the service without confirming")) } } }
            } @else if verified {
                h1 { (lang.pick("マイナンバーカードを確認できました", "Your My Number Card was verified")) }
                (who(&s, lang, session))
                @if let Some(back) = &back {
                    p { a id="back" class="button" href=(back) { (lang.pick("サービスに戻る", "Back to the service")) } }
                }
            } @else if going_on {
                h1 { (lang.pick("手続きの途中です", "The procedure is not finished")) }
                (who(&s, lang, session))
                p id="result-message" { (lang.pick("カードはまだ読み取られていません。手続きの画面に戻って続けてください。", "The card has not been read yet. Go back to the procedure page to go on.")) }
                p { a id="go-on" class="button" href=(flow::session_page(&b)) { (lang.pick("手続きの画面に戻る", "Back to the procedure page")) } }
                @if let Some(back) = &back { p { a id="back-to-service" class="button secondary" href=(back) { (lang.pick("サービスに戻る", "Back to the service")) } } }
            } @else if session.time_is_up(now) {
                h1 { (lang.pick("有効期限が切れました", "The time limit has passed")) }
                @if again {
                    p class="status bad" id="result-message" { (lang.pick("新しい時間で、もう一度読み取ることができます。", "You can read the card again, with new time.")) }
                    (next_steps(&b, session.pattern))
                } @else {
                    p class="status bad" id="result-message" { (lang.pick("もう一度、手続きをするサービスからやり直してください。", "Start again from the service.")) }
                }
                @if let Some(back) = &back { p { a id="back-to-service" class="button secondary" href=(back) { (lang.pick("サービスに戻る", "Back to the service")) } } }
            } @else {
                h1 { (lang.pick("確認できませんでした", "The card could not be verified")) }
                p class="status bad" id="result-message" data-code=(failure) { (messages::failed(lang, pattern, &session.accepted, session.failure)) }
                @if again { (next_steps(&b, session.pattern)) }
                @if let Some(back) = &back { p { a id="back-to-service" class="button secondary" href=(back) { (lang.pick("サービスに戻る", "Back to the service")) } } }
            }
        },
    );
    (StatusCode::OK, [(header::CACHE_CONTROL, "no-store")], body).into_response()
}

/// A new reading in a session that allows one: the way it was read (a form: a fresh handle,
/// then that way's page), or another way (the method choice).
fn next_steps(b: &Browser, pattern: Option<Pattern>) -> Markup {
    html! {
        @if let Some(pattern) = pattern { (flow::again_form(b, pattern)) }
        p { a id="choose-again" class="button secondary" href=(format!("/s/{}{}", b.id(), query(b.lang))) { (b.lang.pick("読み取り方法を選び直す", "Choose another way to read the card")) } }
    }
}

/// A form's address opened with `GET` (a reload after the form was sent, a bookmark): the
/// session's page, never `405`.
pub(super) async fn to_page(b: Browser) -> Response {
    flow::see_other(&flow::session_page(&b))
}

/// More time ("Extend the time", WCAG 2.2.1): the session's time limit (or the confirmation
/// code's) moves on by the session's lifetime, a few times at most
/// (`Service::extend`). The script gets the new limit as JSON and says it; without the
/// script the page comes back (`303`) with it.
pub(super) async fn extend(State(s): State<Arc<Server>>, post: BrowserForm) -> Response {
    let b = &post.browser;
    match (s.sessions.extend(b.id(), &b.token).await, post.json) {
        (Ok(e), true) => {
            Json(json!({ "expires_at": e.expires_at, "extensions_left": e.extensions_left })).into_response()
        }
        (Err(e), true) => Answer::from(e).into_response(),
        (Err(SessionError::Unavailable), false) => Answer::unavailable().page(b.lang).into_response(),
        // Extended, or no more time to give: the page shows the time and whether it can be
        // extended again; a session that ended or ran out of time goes to its result.
        (Ok(_) | Err(SessionError::NoMoreTime), false) => flow::see_other(&flow::session_page(b)),
        (Err(_), false) => flow::see_other(&flow::done_url(b.id(), b.lang)),
    }
}
