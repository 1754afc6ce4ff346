//! What every page shares: language, the browser cookie, the page frame.

use axum::extract::Query;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};
use serde::Deserialize;

use crate::error::ApiError;
use crate::service::{Purpose, Service};
use crate::store::SessionRow;

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
    pub(super) fn t<'a>(self, ja: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Ja => ja,
            Lang::En => en,
        }
    }

    pub(super) fn code(self) -> &'static str {
        match self {
            Lang::Ja => "ja",
            Lang::En => "en",
        }
    }

    pub(super) fn query(self) -> &'static str {
        match self {
            Lang::Ja => "",
            Lang::En => "?lang=en",
        }
    }
}

#[derive(Deserialize, Default)]
pub(super) struct LangQuery {
    pub(super) lang: Option<String>,
    pub(super) t: Option<String>,
}

impl LangQuery {
    pub(super) fn lang(&self) -> Lang {
        if self.lang.as_deref() == Some("en") {
            Lang::En
        } else {
            Lang::Ja
        }
    }
}

pub(super) fn cookie_name(svc: &Service, id: &str) -> String {
    if svc.config().public_url.starts_with("https://") {
        format!("__Host-mynaid-{id}")
    } else {
        format!("mynaid-{id}")
    }
}

pub(super) fn browser_token(svc: &Service, headers: &HeaderMap, id: &str) -> Option<String> {
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

pub(super) fn page(lang: Lang, title: &str, switch_to: &str, body: Markup) -> Markup {
    page_with(lang, title, switch_to, None, body)
}

pub(super) fn page_with(lang: Lang, title: &str, switch_to: &str, refresh: Option<&str>, body: Markup) -> Markup {
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

pub(super) fn error_page(lang: Lang, e: &ApiError) -> Response {
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

pub(super) async fn home(Query(q): Query<LangQuery>) -> Markup {
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

pub(super) async fn style() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("../../static/style.css"),
    )
        .into_response()
}

pub(super) async fn return_script() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("../../static/return.js"),
    )
        .into_response()
}

pub(super) async fn script() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("../../static/session.js"),
    )
        .into_response()
}

pub(super) async fn session_for(
    svc: &Service,
    headers: &HeaderMap,
    id: &str,
) -> Result<(SessionRow, String), ApiError> {
    let token = browser_token(svc, headers, id).ok_or_else(ApiError::unauthorized)?;
    let s = svc.browser_session(id, &token).await?;
    Ok((s, token))
}

/// The session's form token, for the hidden field of every form that posts.
pub(super) fn csrf_input(id: &str, browser_token: &str) -> Markup {
    html! { input type="hidden" name=(crate::hardening::CSRF_FIELD) value=(super::form_token(id, browser_token)); }
}

pub(super) const CSRF_SCOPE: &str = "session";

/// A form post of a session's page: the browser's cookie, then the form's token (403
/// without the right one; nothing changes).
pub(super) async fn session_post(
    svc: &Service,
    headers: &HeaderMap,
    id: &str,
    body: &[u8],
) -> Result<(SessionRow, String), ApiError> {
    let (s, token) = session_for(svc, headers, id).await?;
    let given = crate::hardening::form_field(body, crate::hardening::CSRF_FIELD);
    if !crate::hardening::csrf_valid(CSRF_SCOPE, id, &token, given.as_deref()) {
        tracing::warn!("form post without its token refused");
        return Err(ApiError::forbidden_request());
    }
    Ok((s, token))
}

pub(super) fn who(svc: &Service, lang: Lang, s: &SessionRow) -> Markup {
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
