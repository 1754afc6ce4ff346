//! Web hardening: security headers on every answer, cross-site posts refused, and the
//! per-session tokens of the pages' forms (see `docs/reliability.md`).
//!
//! * Pages get a Content-Security-Policy that allows only this server's own scripts, styles,
//!   images and connections (no inline script or style anywhere), forms posting only to
//!   this server (the consent page adds the client's redirect URI, see
//!   [`page_csp`]), no framing and no `<base>`; everything else gets `default-src 'none'`.
//! * `X-Frame-Options: DENY` everywhere; `Strict-Transport-Security` when `public_url` is
//!   HTTPS; `Cache-Control: no-store` on everything that does not set its own, except the
//!   static files.
//! * A `POST` to a page route (the server names them: `/s/…`, `/return`,
//!   `/oidc/consent/…`) whose `Sec-Fetch-Site` (or, without it, `Origin`) says another site
//!   sent it is refused (403) before any handler runs.
//! * Every form of those pages carries a token derived from the browser's own session
//!   cookie ([`csrf_token`]); the handler refuses a post without the right one (403).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use maud::{Markup, html};

use crate::answer::Answer;

/// The name of the token field in the pages' forms.
pub const CSRF_FIELD: &str = "csrf";

/// The token of a page's forms: SHA-256 of the browser's session secret (its cookie, which a
/// page of another site can neither read nor guess) with the form's scope and the session or
/// request id, base64url. It changes with the cookie, so it is bound to that browser and
/// that session; the server keeps nothing for it.
pub fn csrf_token(scope: &str, id: &str, browser_secret: &str) -> String {
    let text = format!("mynaid-csrf-v1\0{scope}\0{id}\0{browser_secret}");
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, text.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest)
}

/// Whether `given` is the token of `(scope, id, browser_secret)` (compared in constant time).
pub fn csrf_valid(scope: &str, id: &str, browser_secret: &str, given: Option<&str>) -> bool {
    let expected = csrf_token(scope, id, browser_secret);
    given.is_some_and(|g| aws_lc_rs::constant_time::verify_slices_are_equal(g.as_bytes(), expected.as_bytes()).is_ok())
}

/// The hidden field that carries a form's token.
pub fn csrf_input(scope: &str, id: &str, browser_secret: &str) -> Markup {
    html! { input type="hidden" name=(CSRF_FIELD) value=(csrf_token(scope, id, browser_secret)); }
}

/// The Content-Security-Policy of a page. `form_targets` are further sources forms may post
/// (or be redirected) to: browsers check `form-action` against the redirect that answers a
/// form too, so the consent page lists the client's redirect URI.
pub fn page_csp(form_targets: &[String]) -> String {
    let mut form_action = String::from("'self'");
    for t in form_targets {
        form_action.push(' ');
        form_action.push_str(t);
    }
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; \
         form-action {form_action}; frame-ancestors 'none'; base-uri 'none'"
    )
}

/// What is not a page: nothing may load from it, frame it or use it as a base.
const OTHER_CSP: &str = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'";

/// A source expression for `url` in a policy: its origin, or its scheme for a URL without a
/// host (an app's private-use scheme). `None` when it is not a URL or could not be written
/// safely in a policy.
pub fn csp_source(url: &str) -> Option<String> {
    let u = url::Url::parse(url).ok()?;
    let source = match u.host_str() {
        Some(_) => u.origin().ascii_serialization(),
        None => format!("{}:", u.scheme()),
    };
    let safe = source
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b':' | b'/' | b'.' | b'-' | b'+' | b'[' | b']'));
    (safe && source != "null").then_some(source)
}

/// What the middleware needs to know.
#[derive(Debug, Clone)]
pub struct Hardening {
    origin: String,
    https: bool,
    page_posts: &'static [&'static str],
}

impl Hardening {
    /// For the server at `origin` (HTTPS or not); `page_posts` are the path prefixes of the
    /// pages' own browser posts (a prefix ending in `/`, or a whole path).
    pub fn new(origin: String, https: bool, page_posts: &'static [&'static str]) -> Arc<Hardening> {
        Arc::new(Hardening {
            origin,
            https,
            page_posts,
        })
    }

    /// Whether a `POST` to `path` is one of the pages' own (browser) posts.
    fn page_post(&self, path: &str) -> bool {
        self.page_posts.iter().any(|p| {
            if p.ends_with('/') {
                path.starts_with(p)
            } else {
                path == *p
            }
        })
    }
}

/// Whether the browser says another site sent the request. `Sec-Fetch-Site` decides when
/// the browser sends it (every current one does); otherwise `Origin`. `Origin: null` says
/// nothing: browsers send it for the pages' own posts too, because the pages' referrer
/// policy is `no-referrer`. Requests without either (not from a browser) pass here; the form
/// token still holds them all.
fn cross_site(headers: &HeaderMap, authority: Option<&str>, own_origin: &str) -> bool {
    let text = |name: &str| headers.get(name).map(|v| v.to_str().unwrap_or("\u{0}"));
    if let Some(site) = text("sec-fetch-site") {
        return !matches!(site, "same-origin" | "none");
    }
    match text("origin") {
        None | Some("null") => false,
        Some(origin) if origin == own_origin => false,
        Some(origin) => {
            // The origin the browser was on: the server reached under another name than
            // `public_url` (a test on 127.0.0.1 configured as localhost) is still itself.
            let host = origin
                .strip_prefix("https://")
                .or_else(|| origin.strip_prefix("http://"));
            let here = headers.get(header::HOST).and_then(|h| h.to_str().ok()).or(authority);
            !matches!((host, here), (Some(h), Some(here)) if h.eq_ignore_ascii_case(here))
        }
    }
}

/// The middleware: refuses cross-site page posts, adds the security headers.
pub async fn middleware(State(h): State<Arc<Hardening>>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let is_static = path.starts_with("/static/");
    if req.method() == Method::POST
        && h.page_post(path)
        && cross_site(req.headers(), req.uri().authority().map(|a| a.as_str()), &h.origin)
    {
        tracing::warn!("cross-site post refused");
        return finish(&h, Answer::forbidden_request().into_response(), false);
    }
    let resp = next.run(req).await;
    finish(&h, resp, is_static)
}

fn finish(h: &Hardening, mut resp: Response, is_static: bool) -> Response {
    let html = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let headers = resp.headers_mut();
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        let csp = if html { page_csp(&[]) } else { OTHER_CSP.to_string() };
        if let Ok(v) = HeaderValue::from_str(&csp) {
            headers.insert(header::CONTENT_SECURITY_POLICY, v);
        }
    }
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if h.https {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    if !is_static && !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_and_sites() {
        assert_eq!(
            csp_source("https://rp.example.jp:8443/cb?x=1").as_deref(),
            Some("https://rp.example.jp:8443")
        );
        assert_eq!(csp_source("com.example.app:/cb").as_deref(), Some("com.example.app:"));
        assert_eq!(csp_source("not a url"), None);
        let mut h = HeaderMap::new();
        assert!(!cross_site(&h, None, "https://id.example.jp"));
        h.insert("origin", HeaderValue::from_static("https://evil.example"));
        assert!(cross_site(&h, None, "https://id.example.jp"));
        h.insert(header::HOST, HeaderValue::from_static("evil.example"));
        assert!(!cross_site(&h, None, "https://id.example.jp"), "Origin matches Host");
        h.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(cross_site(&h, None, "https://id.example.jp"));
        let mut h = HeaderMap::new();
        h.insert("origin", HeaderValue::from_static("null"));
        assert!(
            !cross_site(&h, Some("id.example.jp"), "https://id.example.jp"),
            "says nothing"
        );
        h.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
        assert!(!cross_site(&h, Some("id.example.jp"), "https://id.example.jp"));
        h.insert("sec-fetch-site", HeaderValue::from_static("same-site"));
        assert!(cross_site(&h, Some("id.example.jp"), "https://id.example.jp"));
    }

    #[test]
    fn tokens_are_bound_to_scope_id_and_secret() {
        let t = csrf_token("session", "s1", "secret");
        assert!(csrf_valid("session", "s1", "secret", Some(&t)));
        assert!(!csrf_valid("session", "s2", "secret", Some(&t)));
        assert!(!csrf_valid("session", "s1", "other", Some(&t)));
        assert!(!csrf_valid("oidc", "s1", "secret", Some(&t)));
        assert!(!csrf_valid("session", "s1", "secret", None));
        let h = Hardening::new("https://id.example.jp".into(), true, &["/s/", "/return"]);
        assert!(h.page_post("/s/abc/pc") && h.page_post("/return"));
        assert!(!h.page_post("/returned") && !h.page_post("/api/v1/sessions"));
    }
}
