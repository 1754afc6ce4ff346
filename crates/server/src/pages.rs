//! Server-rendered pages, Japanese first with an English switch (`?lang=en`): the procedure
//! page offering the three ways to read the card, the pages of each pattern with live status
//! (SSE), and the result page.
//!
//! The browser proves it is the one the session was created for with a cookie holding the
//! browser token (`__Host-` prefixed over HTTPS; `SameSite=Lax`, `HttpOnly`): the
//! [`browser`] extractors check it, and every form that posts carries a token derived from
//! it ([`form_token`]).

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};

use crate::Server;

mod browser;
mod flow;
mod layout;
mod messages;
mod pc;
mod phone;
mod session;

/// The scope of the session pages' form tokens.
const CSRF_SCOPE: &str = "session";

/// The token the forms of a session's pages carry (their hidden `csrf` field), bound to the
/// session and the browser's cookie (`browser_token`): see `mynaid_web::hardening`.
pub fn form_token(session_id: &str, browser_token: &str) -> String {
    mynaid_web::hardening::csrf_token(CSRF_SCOPE, session_id, browser_token)
}

/// The page routes.
pub fn routes() -> Router<Arc<Server>> {
    Router::new()
        .route("/", get(layout::home))
        .route("/static/style.css", get(mynaid_web::style))
        .route("/static/session.js", get(layout::script))
        .route("/static/return.js", get(layout::return_script))
        .route("/static/app.js", get(layout::app_script))
        .route("/s/{id}/start", get(session::start))
        .route("/s/{id}", get(session::procedure))
        // Every form posts, and is answered `303` to a page got with `GET` (`flow`).
        .route("/s/{id}/pc", get(pc::page_now).post(pc::pc_reader))
        .route("/s/{id}/phone", get(phone::cross_device_now).post(phone::cross_device))
        .route("/s/{id}/same", get(phone::same_device_now).post(phone::same_device))
        .route("/s/{id}/confirm", get(session::to_page).post(phone::confirm))
        .route("/s/{id}/extend", get(session::to_page).post(session::extend))
        .route("/s/{id}/events", get(session::events))
        .route("/s/{id}/done", get(session::done))
        .route("/return", get(phone::return_page))
        .route("/return", post(phone::return_complete))
        .route("/app/read", get(phone::app_missing))
}
