//! What the pages of the three patterns share:
//!
//! * the way from a form to a pattern's page: every post (a way chosen, "read again", a new
//!   QR code, the confirmation code, more time) is answered `303 See Other` to a page the
//!   browser gets with `GET`, so that back and reload never post again (no "resubmit the
//!   form?" prompt, no `405`);
//! * what a pattern's page shows of its session now ([`view`]): a reload, the back button and
//!   the language switch come back to the same state: the current link or QR code (the same
//!   handle, which only this browser's cookie can show: [`Service::current_handle`]), the
//!   reading under way (its handle is not offered again: a second redeem would end the
//!   session), or the confirmation code;
//! * the live status with its countdown and the button that extends it (WCAG 2.2.1), and the
//!   next step after a failure: another attempt when the session allows one, else the way
//!   back to the service.
//!
//! [`Service::current_handle`]: mynaid_sessions::Service::current_handle

use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use mynaid_protocol::{Lang, Pattern, ReaderStatus};
use mynaid_sessions::events::Event;
use mynaid_sessions::store::State as SessionState;
use mynaid_sessions::{Failure, IssuedHandle, MAX_CONFIRMATION_ATTEMPTS, MAX_LIFETIME_SECS, SessionError};
use mynaid_web::hardening::csrf_input;
use mynaid_web::{Answer, query};
use serde::Deserialize;

use super::CSRF_SCOPE;
use super::browser::{Browser, BrowserForm};
use super::messages::{again_label, messages, status_line};
use crate::Server;

/// The path segment of a pattern's page (`/s/{id}/<segment>`).
pub(super) fn segment(pattern: Pattern) -> &'static str {
    match pattern {
        Pattern::PcReader => "pc",
        Pattern::CrossDevice => "phone",
        Pattern::SameDevice => "same",
    }
}

/// The page of `pattern`, in `lang`.
pub(super) fn page_url(id: &str, pattern: Pattern, lang: Lang) -> String {
    format!("/s/{id}/{}{}", segment(pattern), query(lang))
}

/// The result page, in `lang`.
pub(super) fn done_url(id: &str, lang: Lang) -> String {
    format!("/s/{id}/done{}", query(lang))
}

/// The method choice, in `lang`.
pub(super) fn choice_url(id: &str, lang: Lang) -> String {
    format!("/s/{id}{}", query(lang))
}

/// `url` with one more query parameter.
pub(super) fn with_param(url: &str, param: &str) -> String {
    format!("{url}{}{param}", if url.contains('?') { '&' } else { '?' })
}

/// `303 See Other` to `url`: the browser gets it, so back and reload never post again.
pub(super) fn see_other(url: &str) -> Response {
    Redirect::to(url).into_response()
}

/// Where the session's own page is now: its pattern's page once one was chosen, else the
/// method choice.
pub(super) fn session_page(b: &Browser) -> String {
    match b.session.pattern {
        Some(p) => page_url(b.id(), p, b.lang),
        None => choice_url(b.id(), b.lang),
    }
}

/// The way back to the service with the code only this browser can show (its cookie): the
/// relying party takes the result with it.
pub(super) fn back_url(s: &Server, b: &Browser) -> Option<String> {
    let code = s.sessions.return_code(b.id(), &b.token);
    b.session.return_url.as_ref().map(|u| {
        format!(
            "{u}{}session={}&code={code}",
            if u.contains('?') { '&' } else { '?' },
            b.id()
        )
    })
}

/// The query of a pattern's page: what the confirmation code typed without the page's script
/// came to (`confirm=wrong` or `confirm=format`), after its form's `303`.
#[derive(Debug, Default, Deserialize)]
pub(super) struct PageQuery {
    confirm: Option<String>,
}

/// What to say about the confirmation code typed without the script, if it was refused.
pub(super) fn confirm_problem(b: &Browser, q: &PageQuery) -> Option<String> {
    let attempts_left = match q.confirm.as_deref()? {
        "wrong" => Some(MAX_CONFIRMATION_ATTEMPTS - b.session.confirm_attempts),
        "format" => None,
        _ => return None,
    };
    (b.session.state == SessionState::EvidenceVerified && !b.session.released).then(|| {
        Answer::from(SessionError::WrongCode { attempts_left })
            .message
            .get(b.lang)
            .to_string()
    })
}

/// What a pattern's page shows of its session.
pub(super) enum View {
    /// Waiting for a reading device: the current handle (the link, the QR code).
    Link(IssuedHandle),
    /// A reading device redeemed the handle and reads the card (or said what went wrong).
    Reading,
    /// The card was read; the result waits for the confirmation code (or the way back).
    Confirming,
}

/// What the page of `pattern` shows of `b`'s session now, or the address the browser goes to instead (`303`):
/// the result page when the session ended or ran out of time, the page of the pattern it
/// goes on with, the method choice when no reading was started.
pub(super) fn view(s: &Server, b: &Browser, pattern: Pattern) -> Result<View, String> {
    let (session, lang, id) = (&b.session, b.lang, b.id());
    let live = match session.state {
        SessionState::Created | SessionState::HandleRedeemed => true,
        SessionState::EvidenceVerified => !session.released,
        SessionState::Completed | SessionState::Failed => false,
    };
    if !live || session.time_is_up(s.sessions.now()) {
        return Err(done_url(id, lang));
    }
    match session.pattern {
        Some(p) if p == pattern => {}
        Some(p) => return Err(page_url(id, p, lang)),
        None => return Err(choice_url(id, lang)),
    }
    match session.state {
        SessionState::Created => s
            .sessions
            .current_handle(session, &b.token)
            .map(View::Link)
            .ok_or_else(|| choice_url(id, lang)),
        SessionState::HandleRedeemed => Ok(View::Reading),
        _ => Ok(View::Confirming),
    }
}

/// A way chosen, or a new reading on its page ("read again", a new QR code): a fresh handle
/// (the previous one stops working), then `303` to the pattern's page. A session that ended
/// or ran out of time goes to the result page, which says what to do next.
pub(super) async fn choose(s: &Server, post: BrowserForm, pattern: Pattern) -> Response {
    let b = post.browser;
    let (lang, id) = (b.lang, b.id());
    match s.sessions.issue_handle(id, &b.token, pattern).await {
        Ok(_) => see_other(&page_url(id, pattern, lang)),
        Err(SessionError::Finished | SessionError::Expired) => see_other(&done_url(id, lang)),
        Err(e) => Answer::from(e).page(lang).into_response(),
    }
}

/// `m:ss`.
fn clock(secs: i64) -> String {
    let secs = secs.max(0);
    format!("{}:{:02}", secs / 60, secs % 60)
}

/// The form that starts a new reading of `pattern` (a new link, a new QR code).
pub(super) fn again_form(b: &Browser, pattern: Pattern) -> Markup {
    let id = b.id();
    let button = match pattern {
        Pattern::CrossDevice => "refresh",
        Pattern::PcReader | Pattern::SameDevice => "read-again",
    };
    html! {
        form id="again-form" method="post" action=(page_url(id, pattern, b.lang)) {
            (csrf_input(CSRF_SCOPE, id, &b.token))
            button id=(button) type="submit" class="secondary" { (again_label(b.lang, pattern)) }
        }
    }
}

/// The live status of a pattern's page (its script follows the session's events), the time
/// left with the button that extends it, and the way back to the service that a failure
/// which allows no other attempt shows.
pub(super) fn live(s: &Server, b: &Browser, pattern: Pattern) -> Markup {
    let (session, lang, id) = (&b.session, b.lang, b.id());
    let now = s.sessions.now();
    let event = s.sessions.current_event(session);
    let (key, text) = status_line(lang, pattern, &session.accepted, &event);
    let bad = match &event {
        Event::Reader { status, .. } => *status != ReaderStatus::Reading,
        Event::Failed { .. } | Event::Expired => true,
        _ => false,
    };
    let limit = session.time_limit().unwrap_or(now);
    let extensions_left = s.sessions.extensions_left(session);
    let minutes = s.sessions.settings().session_ttl_secs.div_ceil(60);
    // How many more times, as the page says it (`{n}` for the script).
    let left_text = |n: &str| {
        lang.pick(
            format!("（あと{n}回、{minutes}分ずつ延長できます）"),
            format!(
                "(by {minutes} min, {n} more {})",
                if n == "1" { "time" } else { "times" }
            ),
        )
    };
    let mut words = messages(lang, pattern, &session.accepted);
    words["extend_left"] = left_text("{n}").into();
    words["extend_left_one"] = left_text("1").into();
    // The failures after which "read again" starts another attempt in this session.
    let retry: Vec<&str> = Failure::ALL
        .iter()
        .filter(|f| f.allows_another_attempt(&session.accepted))
        .map(|f| f.as_str())
        .collect();
    html! {
        div id="live" data-events=(format!("/s/{id}/events")) data-next=(done_url(id, lang))
            data-expires=(limit) data-until=(session.created_at + MAX_LIFETIME_SECS) data-retry=(retry.join(" "))
            data-messages=(words.to_string()) {
            p id="status" class=(if bad { "status bad" } else { "status" }) role="status" aria-live="polite" data-state=(key) { (text) }
            div id="time" {
                p class="muted" { (lang.pick("残り時間", "Time left")) " " span id="countdown" { (clock(limit - now)) } }
                @if extensions_left > 0 {
                    form id="extend-form" method="post" action=(format!("/s/{id}/extend{}", query(lang))) {
                        (csrf_input(CSRF_SCOPE, id, &b.token))
                        button id="extend" type="submit" class="secondary" aria-describedby="extend-left" { (lang.pick("時間を延長する", "Extend the time")) }
                        " "
                        span id="extend-left" class="muted" { (left_text(&extensions_left.to_string())) }
                    }
                } @else {
                    p id="extend-none" class="muted" { (lang.pick("これ以上、時間は延長できません。", "The time cannot be extended any more.")) }
                }
                p id="time-note" class="muted" role="status" aria-live="polite" {}
            }
            @if let Some(back) = back_url(s, b) {
                p id="way-back" hidden { a id="back-to-service" class="button secondary" href=(back) { (lang.pick("サービスに戻る", "Back to the service")) } }
            }
        }
    }
}
