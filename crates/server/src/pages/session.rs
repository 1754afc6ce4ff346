//! The session's own pages: the browser's start, the procedure page with the three ways to
//! read the card, the live events (SSE) and the result page.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use futures_util::stream::{self, Stream, StreamExt};
use maud::html;
use tokio_stream::wrappers::BroadcastStream;

use super::layout::{LangQuery, cookie_name, csrf_input, error_page, page, page_with, session_for, who};
use super::messages::messages;
use crate::error::ApiError;
use crate::events::Event;
use crate::service::{Pattern, Service};
use crate::store::State as SessionState;

/// The browser arrives with its token once in the URL; it moves into a cookie and the URL
/// loses it.
pub(super) async fn start(
    State(svc): State<Arc<Service>>,
    Path(id): Path<String>,
    Query(q): Query<LangQuery>,
) -> Response {
    let lang = q.lang();
    let Some(token) = q.t.as_deref() else {
        return error_page(lang, &ApiError::unauthorized());
    };
    if let Err(e) = svc.browser_session(&id, token).await {
        return error_page(lang, &e);
    }
    let secure = svc.config().is_https();
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

pub(super) async fn procedure(
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
    if !matches!(s.state, SessionState::Created | SessionState::HandleRedeemed) || s.is_expired(svc.now()) {
        return Redirect::to(&format!("/s/{id}/done{}", lang.query())).into_response();
    }
    page(lang, lang.t("読み取り方法の選択", "Choose how to read your card"), &format!("/s/{id}"), html! {
        h1 { (lang.t("マイナンバーカードの読み取り方法を選んでください", "Choose how to read your My Number Card")) }
        (who(&svc, lang, &s))
        ul class="methods" {
            li {
                form method="post" action=(format!("/s/{id}/pc{}", lang.query())) {
                    (csrf_input(&id, &token))
                    button type="submit" id="method-pc" {
                        (lang.t("パソコンとICカードリーダーで読み取る", "Read with this PC and an IC card reader"))
                    }
                }
            }
            li {
                form method="post" action=(format!("/s/{id}/phone{}", lang.query())) {
                    (csrf_input(&id, &token))
                    button type="submit" id="method-phone" {
                        (lang.t("パソコンとスマートフォンで読み取る（2次元バーコード）", "Read with this PC and a smartphone (2D barcode)"))
                    }
                }
            }
            li {
                form method="post" action=(format!("/s/{id}/same{}", lang.query())) {
                    (csrf_input(&id, &token))
                    button type="submit" id="method-same" {
                        (lang.t("スマートフォンだけで読み取る", "Read with a smartphone only"))
                    }
                }
            }
        }
        p class="muted" {
            (lang.t("どの方法でも、数字4桁の暗証番号（券面事項入力補助用）か、英数字6〜16文字の署名用電子証明書のパスワードを使います。",
                    "Each way uses either the 4-digit PIN (card-info input support) or the 6-16 character signature password."))
        }
    }).into_response()
}

pub(super) async fn events(State(svc): State<Arc<Service>>, Path(id): Path<String>, headers: HeaderMap) -> Response {
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

pub(super) async fn done(
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
                    (messages(lang, s.pattern.as_deref().and_then(Pattern::parse).unwrap_or(Pattern::PcReader)).get(format!("failed_{}", s.error_code.clone().unwrap_or_default())).and_then(|v| v.as_str()).map(str::to_string)
                        .unwrap_or_else(|| lang.t("確認できませんでした。最初からやり直してください。", "The card could not be verified. Start again.").to_string()))
                }
                @if let Some(back) = &back { p { a class="button secondary" href=(back) { (lang.t("サービスに戻る", "Back to the service")) } } }
            }
        },
    );
    (StatusCode::OK, [(header::CACHE_CONTROL, "no-store")], body).into_response()
}
