//! The browser's cookies: a session's (or an authorization request's) secret, one cookie per
//! session, `HttpOnly`, `SameSite=Lax`, `Path=/`, and over HTTPS `Secure` with the `__Host-`
//! prefix (which also pins it to this host). Read and written with `axum-extra`'s
//! [`CookieJar`].

use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};

/// The name of the cookie `kind-id` (`mynaid-<session>`, `mynaid-oidc-<request>`).
pub fn name(kind: &str, id: &str, https: bool) -> String {
    if https {
        format!("__Host-{kind}-{id}")
    } else {
        format!("{kind}-{id}")
    }
}

/// The name of the cookie that makes a browser the one of verification session `id`: the
/// session's pages and the provider's callback read it.
pub fn session_name(id: &str, https: bool) -> String {
    name("mynaid", id, https)
}

/// How long a session's cookie lives: a session's hard limit from its creation.
pub const SESSION_MAX_AGE_SECS: u64 = mynaid_sessions::MAX_LIFETIME_SECS as u64;

/// The value of cookie `name`, if the browser sent it.
pub fn read(jar: &CookieJar, name: &str) -> Option<String> {
    jar.get(name).map(|c| c.value().to_string())
}

/// The cookie that holds a browser's secret for `max_age_secs`.
pub fn secret(name: String, value: String, max_age_secs: u64, https: bool) -> Cookie<'static> {
    Cookie::build((name, value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .max_age(cookie::time::Duration::seconds(
            i64::try_from(max_age_secs).unwrap_or(i64::MAX),
        ))
        .secure(https)
        .build()
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderMap, HeaderValue, header};

    use super::*;

    #[test]
    fn names_values_and_attributes() {
        assert_eq!(name("mynaid", "s1", true), "__Host-mynaid-s1");
        assert_eq!(name("mynaid-oidc", "r1", false), "mynaid-oidc-r1");
        let c = secret("__Host-mynaid-s1".into(), "tok".into(), 1800, true).to_string();
        for part in [
            "__Host-mynaid-s1=tok",
            "HttpOnly",
            "SameSite=Lax",
            "Path=/",
            "Max-Age=1800",
            "Secure",
        ] {
            assert!(c.contains(part), "{c}");
        }
        assert!(!secret("a".into(), "b".into(), 60, false).to_string().contains("Secure"));
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_static("x=1; mynaid-s1=abc; y=2"));
        let jar = CookieJar::from_headers(&h);
        assert_eq!(read(&jar, "mynaid-s1").as_deref(), Some("abc"));
        assert_eq!(read(&jar, "mynaid-s2"), None);
    }
}
