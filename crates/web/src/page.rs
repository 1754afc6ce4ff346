//! The page frame every page shares (Japanese first, a link to the other language), the
//! error page as a typed error, and the style sheet.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};
use mynaid_protocol::{Lang, Text};
use serde::Deserialize;

/// `?lang=en` (or `ja`): the language the person chose on a page.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct LangQuery {
    /// `en` or `ja`; anything else is no choice.
    pub lang: Option<String>,
}

impl LangQuery {
    /// The chosen language, if one was chosen.
    pub fn chosen(&self) -> Option<Lang> {
        self.lang.as_deref().and_then(|l| l.parse().ok())
    }

    /// The chosen language, Japanese when none was.
    pub fn lang(&self) -> Lang {
        self.chosen().unwrap_or_default()
    }
}

/// The cookie that keeps the language a person chose with the switch (`?lang=`), so that
/// the next pages stay in it whatever their browser prefers. Not a secret.
pub const LANG_COOKIE: &str = "mynaid-lang";

/// The language a browser prefers among the two, by `Accept-Language` (RFC 9110 §12.5.4:
/// the highest `q`; a tie goes to the first listed), if it names either.
pub fn accepted_lang(headers: &axum::http::HeaderMap) -> Option<Lang> {
    let value = headers.get(header::ACCEPT_LANGUAGE)?.to_str().ok()?;
    let mut best: Option<(Lang, f32)> = None;
    for item in value.split(',') {
        let mut parts = item.split(';');
        let tag = parts.next()?.trim().to_ascii_lowercase();
        let q = parts
            .find_map(|p| p.trim().strip_prefix("q=").and_then(|q| q.parse::<f32>().ok()))
            .unwrap_or(1.0);
        let lang = if tag == "ja" || tag.starts_with("ja-") {
            Lang::Ja
        } else if tag == "en" || tag.starts_with("en-") {
            Lang::En
        } else {
            continue;
        };
        if q > 0.0 && best.is_none_or(|(_, b)| q > b) {
            best = Some((lang, q));
        }
    }
    best.map(|(l, _)| l)
}

/// The language chosen with the switch on this very request (`?lang=`).
fn chosen_lang(uri: &axum::http::Uri) -> Option<Lang> {
    uri.query().and_then(|q| {
        q.split('&')
            .find_map(|kv| kv.strip_prefix("lang="))
            .and_then(|l| l.parse::<Lang>().ok())
    })
}

/// The language a person chose earlier with the switch ([`LANG_COOKIE`]), else their
/// browser's (`Accept-Language`): what a page without `?lang=` follows, and what an
/// authorization request without `ui_locales` follows.
pub fn preferred_lang(headers: &axum::http::HeaderMap) -> Option<Lang> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix(LANG_COOKIE).and_then(|r| r.strip_prefix('=')))
        .and_then(|l| l.parse::<Lang>().ok())
        .or_else(|| accepted_lang(headers))
}

/// The language of a page: the person's choice (`?lang=`, else the [`LANG_COOKIE`] that
/// choice left), else their browser's (`Accept-Language`), else Japanese.
pub fn page_lang(uri: &axum::http::Uri, headers: &axum::http::HeaderMap) -> Lang {
    chosen_lang(uri).or_else(|| preferred_lang(headers)).unwrap_or_default()
}

/// The page language as an extractor ([`page_lang`]).
#[derive(Debug, Clone, Copy)]
pub struct PageLang(pub Lang);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for PageLang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(PageLang(page_lang(&parts.uri, &parts.headers)))
    }
}

/// Middleware: a page asked for with `?lang=` remembers the choice ([`LANG_COOKIE`]).
pub async fn remember_lang(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let chosen = chosen_lang(req.uri());
    let mut resp = next.run(req).await;
    if let Some(lang) = chosen
        && let Ok(v) = axum::http::HeaderValue::from_str(&format!(
            "{LANG_COOKIE}={lang}; Path=/; Max-Age=31536000; SameSite=Lax; HttpOnly"
        ))
    {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}

/// The query that keeps a page's language on the next page (`?lang=en`; nothing for the
/// default).
pub fn query(lang: Lang) -> &'static str {
    match lang {
        Lang::Ja => "",
        Lang::En => "?lang=en",
    }
}

/// A page: `title`, the language link to `switch_to` in the other language, `body`.
pub fn page(lang: Lang, title: &str, switch_to: &str, body: Markup) -> Markup {
    page_with(lang, title, switch_to, None, body)
}

/// A page that moves on to another by itself after a while (`refresh`: `<seconds>;url=…`).
pub fn page_with(lang: Lang, title: &str, switch_to: &str, refresh: Option<&str>, body: Markup) -> Markup {
    let other = match lang {
        Lang::Ja => Lang::En,
        Lang::En => Lang::Ja,
    };
    let label = other.pick("日本語", "English");
    html! {
        (DOCTYPE)
        html lang=(lang.as_str()) {
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
                    a href=(format!("{switch_to}?lang={other}")) lang=(other.as_str()) { (label) }
                }
                main { (body) }
                footer class="muted" {
                    (lang.pick("マイナンバーカードの券面情報を確認します。個人番号（12桁）は読み取りません。",
                            "Reads and verifies the card face of your My Number Card. The 12-digit Individual Number is never read."))
                }
            }
        }
    }
}

/// Which error page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// A step of a procedure that already started was refused.
    CannotContinue,
    /// A procedure could not even start (an authorization request that cannot be sent back
    /// to its service): the person is told to go back to the service.
    CannotStart,
}

/// A refusal shown as a page: what happened and what to do next, in the person's language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageError {
    /// HTTP status.
    pub status: StatusCode,
    /// The page's language.
    pub lang: Lang,
    /// Which error page.
    pub kind: ErrorKind,
    /// What to tell the person.
    pub message: Text,
}

impl PageError {
    /// A refused step of a procedure.
    pub fn new(status: StatusCode, lang: Lang, message: Text) -> PageError {
        PageError {
            status,
            lang,
            kind: ErrorKind::CannotContinue,
            message,
        }
    }

    /// A procedure that cannot start.
    pub fn cannot_start(status: StatusCode, lang: Lang, message: Text) -> PageError {
        PageError {
            status,
            lang,
            kind: ErrorKind::CannotStart,
            message,
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let lang = self.lang;
        let msg = self.message.get(lang);
        let body = page(
            lang,
            lang.pick("エラー", "Error"),
            "/",
            html! {
                @match self.kind {
                    ErrorKind::CannotContinue => {
                        h1 { (lang.pick("手続きを続けられません", "The procedure cannot continue")) }
                        p class="status bad" role="alert" { (msg) }
                    }
                    ErrorKind::CannotStart => {
                        h1 { (lang.pick("手続きを始められません", "The procedure cannot start")) }
                        p class="status bad" role="alert" id="oidc-error" { (msg) }
                        p { (lang.pick("手続きをしていたサービスの画面に戻り、最初からやり直してください。",
                               "Go back to the service you came from and start again.")) }
                    }
                }
            },
        );
        (self.status, [(header::CACHE_CONTROL, "no-store")], body).into_response()
    }
}

/// `/static/style.css`.
pub async fn style() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("../static/style.css"),
    )
        .into_response()
}
