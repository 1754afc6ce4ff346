//! Who may see and post a session's pages: the browser that holds the session's cookie. The
//! extractors here do it once for every handler: [`Browser`] for a page, [`BrowserForm`] for
//! a form post (the form's token too). A refusal ([`Refusal`]) renders the error page, or
//! JSON for a script that asked for it.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use mynaid_protocol::Lang;
use mynaid_sessions::SessionError;
use mynaid_sessions::store::SessionRow;
use mynaid_web::hardening::{CSRF_FIELD, csrf_valid};
use mynaid_web::{Answer, Form, cookies};

use super::CSRF_SCOPE;
use crate::Server;

/// The name of a session's cookie.
pub(super) fn cookie_name(s: &Server, id: &str) -> String {
    cookies::session_name(id, s.https)
}

/// The session `id` as its browser (the cookie in `jar`) sees it, with the browser's token.
pub(super) async fn authenticate(s: &Server, jar: &CookieJar, id: &str) -> Result<(SessionRow, String), SessionError> {
    // Without the cookie this is another browser: a forwarded link, or a guessed address.
    let token = cookies::read(jar, &cookie_name(s, id)).ok_or(SessionError::OtherBrowser)?;
    let session = s.sessions.browser_session(id, &token).await?;
    Ok((session, token))
}

/// Whether a script asked for JSON rather than a page.
pub(super) fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"))
}

/// A refused page request: the error page in the page's language, or the JSON error for a
/// script.
#[derive(Debug)]
pub(super) struct Refusal {
    answer: Answer,
    lang: Lang,
    json: bool,
}

impl Refusal {
    pub(super) fn new(answer: impl Into<Answer>, lang: Lang, headers: &HeaderMap) -> Refusal {
        Refusal {
            answer: answer.into(),
            lang,
            json: wants_json(headers),
        }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        if self.json {
            self.answer.into_response()
        } else {
            self.answer.page(self.lang).into_response()
        }
    }
}

/// A request of the browser that started the session at `/s/{id}/…`: the page's language,
/// the session as the database has it now, and the browser's token (its cookie).
pub(super) struct Browser {
    /// The page's language.
    pub(super) lang: Lang,
    /// The session.
    pub(super) session: SessionRow,
    /// The browser's token.
    pub(super) token: String,
}

impl Browser {
    /// The session's id.
    pub(super) fn id(&self) -> &str {
        &self.session.id
    }
}

impl FromRequestParts<Arc<Server>> for Browser {
    type Rejection = Refusal;

    async fn from_request_parts(parts: &mut Parts, s: &Arc<Server>) -> Result<Browser, Refusal> {
        let lang = mynaid_web::page_lang(&parts.uri, &parts.headers);
        let refused = |e: SessionError, parts: &Parts| Refusal::new(e, lang, &parts.headers);
        let Ok(Path(id)) = Path::<String>::from_request_parts(parts, s).await else {
            return Err(refused(SessionError::NotFound, parts));
        };
        let jar = CookieJar::from_headers(&parts.headers);
        match authenticate(s, &jar, &id).await {
            Ok((session, token)) => Ok(Browser { lang, session, token }),
            Err(e) => Err(refused(e, parts)),
        }
    }
}

/// A form post of a session's page: the browser (its cookie), then the form's token (403
/// without the right one; nothing changes), and the form.
pub(super) struct BrowserForm {
    /// The browser.
    pub(super) browser: Browser,
    /// The form's fields.
    pub(super) form: Form,
    /// Whether a script posted it and wants JSON back.
    pub(super) json: bool,
}

impl FromRequest<Arc<Server>> for BrowserForm {
    type Rejection = Refusal;

    async fn from_request(req: Request, s: &Arc<Server>) -> Result<BrowserForm, Refusal> {
        let (mut parts, body) = req.into_parts();
        let browser = Browser::from_request_parts(&mut parts, s).await?;
        let json = wants_json(&parts.headers);
        let lang = browser.lang;
        let forbidden = move || Refusal {
            answer: Answer::forbidden_request(),
            lang,
            json,
        };
        let Ok(body) = Bytes::from_request(Request::from_parts(parts, body), s).await else {
            return Err(forbidden());
        };
        let form = Form::parse(&body).unwrap_or_default();
        if !csrf_valid(CSRF_SCOPE, browser.id(), &browser.token, form.get(CSRF_FIELD)) {
            tracing::warn!("form post without its token refused");
            return Err(forbidden());
        }
        Ok(BrowserForm { browser, form, json })
    }
}
