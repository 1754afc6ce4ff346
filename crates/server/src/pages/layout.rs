//! What the session pages share beyond `mynaid-web`'s frame: the home page, the scripts, and
//! who is asking.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use mynaid_protocol::Lang;
use mynaid_sessions::store::SessionRow;
use mynaid_web::{PageLang, page};

use crate::Server;

pub(super) async fn home(PageLang(lang): PageLang) -> Markup {
    page(
        lang,
        "mynaid",
        "/",
        html! {
            h1 { "mynaid" }
            p { (lang.pick("このサービスは、手続きを行うサイトから案内されたときに使います。",
                        "You reach this service from the site where you do your procedure.")) }
        },
    )
}

/// A page script (the pages have no inline script: their CSP allows `'self'` only).
fn javascript(source: &'static str) -> Response {
    ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], source).into_response()
}

pub(super) async fn return_script() -> Response {
    javascript(include_str!("../../static/return.js"))
}

pub(super) async fn script() -> Response {
    javascript(include_str!("../../static/session.js"))
}

pub(super) async fn app_script() -> Response {
    javascript(include_str!("../../static/app.js"))
}

/// Who asks and why, as every page of a session shows it.
pub(super) fn who(s: &Server, lang: Lang, session: &SessionRow) -> Markup {
    let name = s
        .sessions
        .relying_party(&session.relying_party)
        .map(|rp| lang.pick(rp.name.as_str(), rp.name_en.as_str()))
        .unwrap_or("");
    let purpose = session.purpose;
    html! {
        dl class="who" {
            dt { (lang.pick("手続きをするサービス", "Service")) } dd { (name) }
            dt { (lang.pick("サービスのアドレス", "Service address")) } dd { (session.origin) }
            dt { (lang.pick("目的", "Purpose")) } dd { (lang.pick(purpose.ja(), purpose.en())) }
        }
    }
}
