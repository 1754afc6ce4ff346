//! What every page of the mynaid server shares, whoever serves it (the verification
//! session's pages, the OpenID Connect provider's consent page):
//!
//! * [`Lang`] from `?lang=` and the page frame, Japanese first with an English switch
//!   ([`page`], [`PageError`], which renders the error page);
//! * the browser's cookies ([`cookies`]) and forms ([`Form`], one rule for a parameter given
//!   twice: refused);
//! * the forms' tokens and the security headers ([`hardening`]);
//! * the one mapping of a session's refusals to HTTP answers and words ([`answer`]);
//! * the style sheet ([`style`]).

pub mod answer;
pub mod cookies;
mod form;
pub mod hardening;
mod page;

pub use answer::Answer;
pub use form::{Form, Repeated};
pub use mynaid_protocol::Lang;
pub use page::{
    ErrorKind, LANG_COOKIE, LangQuery, PageError, PageLang, accepted_lang, page, page_lang, page_with, preferred_lang,
    query, remember_lang, style,
};
