//! The two links that hand a session to a reading device.
//!
//! * `mynaid://read?server=<url>&handle=<h>`: opened by the PC page for the PC reader app;
//! * `https://<server>/app/read#h=<h>&o=<origin>`: the app link in the QR code (pattern 2)
//!   or on the phone page (pattern 3). The fragment keeps the handle out of server logs if a
//!   browser opens it; `o` is the service's origin, shown before redeeming and checked
//!   against what the server then says.

/// Which kind of link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkKind {
    /// `mynaid://read?…`
    Reader,
    /// `https://…/app/read#…`
    App,
}

/// A parsed, checked link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// Which kind.
    pub kind: LinkKind,
    /// The server's base URL (scheme, host, port; no path).
    pub server: String,
    /// The one-time handle.
    pub handle: String,
    /// The service origin the link promises (app links).
    pub origin: Option<String>,
}

/// Why a link was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// Not one of the two link forms.
    #[error("not a mynaid link")]
    Malformed,
    /// A plain-HTTP server that is not this machine: the handle and the evidence would
    /// cross the network unprotected.
    #[error("insecure server {0}: only https:// (or http on this machine) is accepted")]
    InsecureServer(String),
    /// The person's list of trusted servers does not hold the link's server
    /// ([`crate::ServerPolicy`]): nothing is sent to it.
    #[error("server {0} is not on the list of trusted servers")]
    NotAllowed(String),
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => return None,
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

fn params(text: &str, keys: [&str; 2]) -> Result<[String; 2], LinkError> {
    let mut found: [Option<String>; 2] = [None, None];
    for pair in text.split('&') {
        let (k, v) = pair.split_once('=').ok_or(LinkError::Malformed)?;
        let i = keys.iter().position(|key| *key == k).ok_or(LinkError::Malformed)?;
        if found[i]
            .replace(percent_decode(v).ok_or(LinkError::Malformed)?)
            .is_some()
        {
            return Err(LinkError::Malformed);
        }
    }
    let [a, b] = found;
    Ok([a.ok_or(LinkError::Malformed)?, b.ok_or(LinkError::Malformed)?])
}

/// An origin split into its parts: `scheme://host[:port]`, nothing after the authority.
struct Origin<'a> {
    secure: bool,
    host: &'a str,
    port: Option<u16>,
}

impl Origin<'_> {
    /// Plain HTTP is accepted only to this machine (a developer's server, the tests): the
    /// handle and the evidence would otherwise cross the network unprotected.
    fn is_loopback(&self) -> bool {
        self.host.eq_ignore_ascii_case("localhost") || self.host == "127.0.0.1" || self.host == "[::1]"
    }

    /// The one spelling used to compare origins: lower-case host, the scheme's default port
    /// left out.
    fn normalized(&self) -> String {
        let (scheme, default) = if self.secure { ("https", 443) } else { ("http", 80) };
        let host = self.host.to_ascii_lowercase();
        match self.port {
            Some(p) if p != default => format!("{scheme}://{host}:{p}"),
            _ => format!("{scheme}://{host}"),
        }
    }
}

/// Splits `https://host[:port]` or `http://host[:port]`. The host
/// is an ASCII name (letters, digits, `-`, `.`) or a bracketed IPv6 address: anything else
/// (user info, paths, spaces, control characters, non-ASCII look-alikes) is refused, so an
/// origin is safe to show and to compare.
fn split_origin(text: &str) -> Option<Origin<'_>> {
    // An origin is shown on one line and signed by the card: 255 characters at most.
    if text.len() > 255 {
        return None;
    }
    let (secure, authority) = match (text.strip_prefix("https://"), text.strip_prefix("http://")) {
        (Some(a), _) => (true, a),
        (None, Some(a)) => (false, a),
        _ => return None,
    };
    let (host, rest) = if authority.starts_with('[') {
        let end = authority.find(']')? + 1;
        let inside = &authority[1..end - 1];
        if inside.is_empty() || !inside.bytes().all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.') {
            return None;
        }
        authority.split_at(end)
    } else {
        let end = authority.find(':').unwrap_or(authority.len());
        let host = &authority[..end];
        let name_ok = !host.is_empty()
            && host.len() <= 253
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
            && host.as_bytes()[0].is_ascii_alphanumeric()
            && !host.contains("..");
        if !name_ok {
            return None;
        }
        authority.split_at(end)
    };
    let port = match rest {
        "" => None,
        _ => {
            let digits = rest.strip_prefix(':')?;
            if digits.is_empty() || digits.len() > 5 || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            Some(digits.parse::<u16>().ok().filter(|p| *p != 0)?)
        }
    };
    Some(Origin { secure, host, port })
}

/// Whether `text` is an origin this core accepts from a server or a link: `https://host[:port]`,
/// or `http://` on this machine, with nothing after the authority.
pub(crate) fn is_acceptable_origin(text: &str) -> bool {
    split_origin(text).is_some_and(|o| o.secure || o.is_loopback())
}

/// The normalized spelling of an acceptable origin (`HTTPS://ID.Example.jp:443/` →
/// `https://id.example.jp`), for comparing a link's server with an allow-list; `None` for
/// anything that is not one.
pub fn normalize_origin(text: &str) -> Option<String> {
    split_origin(text.strip_suffix('/').unwrap_or(text))
        .filter(|o| o.secure || o.is_loopback())
        .map(|o| o.normalized())
}

/// Checks the server of a link: an acceptable origin (at most one trailing `/`, dropped).
fn check_server(server: &str) -> Result<String, LinkError> {
    let server = server.strip_suffix('/').unwrap_or(server);
    let origin = split_origin(server).ok_or(LinkError::Malformed)?;
    if !origin.secure && !origin.is_loopback() {
        return Err(LinkError::InsecureServer(server.to_string()));
    }
    Ok(server.to_string())
}

fn check_handle(handle: &str) -> Result<(), LinkError> {
    let ok = (16..=64).contains(&handle.len())
        && handle
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok { Ok(()) } else { Err(LinkError::Malformed) }
}

impl Link {
    /// Parses and checks either link form.
    pub fn parse(text: &str) -> Result<Link, LinkError> {
        let text = text.trim();
        if let Some(query) = text.strip_prefix("mynaid://read?") {
            let [server, handle] = params(query, ["server", "handle"])?;
            check_handle(&handle)?;
            return Ok(Link {
                kind: LinkKind::Reader,
                server: check_server(&server)?,
                handle,
                origin: None,
            });
        }
        let (base, fragment) = text.split_once("/app/read#").ok_or(LinkError::Malformed)?;
        let [handle, origin] = params(fragment, ["h", "o"])?;
        check_handle(&handle)?;
        if !is_acceptable_origin(&origin) {
            return Err(LinkError::Malformed);
        }
        Ok(Link {
            kind: LinkKind::App,
            server: check_server(base)?,
            handle,
            origin: Some(origin),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: &str = "abcdefghijklmnopqrstuvwx";

    /// Found by the `link` fuzz target: a host name in mixed case is still this machine,
    /// and an origin longer than 255 characters is refused.
    #[test]
    fn mixed_case_loopback_and_overlong_origins() {
        let l = Link::parse(&format!(
            "http://locaLhost:8080/app/read#o=http%3A%2F%2Flocalhost%3A8080&h={H}"
        ))
        .unwrap();
        assert_eq!(l.server, "http://locaLhost:8080");
        assert_eq!(normalize_origin(&l.server).as_deref(), Some("http://localhost:8080"));
        let long = format!("https://{}.jp", "a".repeat(250));
        assert!(!is_acceptable_origin(&long));
        assert!(is_acceptable_origin(&format!("https://{}.jp", "a".repeat(240))));
    }

    #[test]
    fn reader_links() {
        let l = Link::parse(&format!(
            "mynaid://read?server=http%3A%2F%2F127.0.0.1%3A8080&handle={H}"
        ))
        .unwrap();
        assert_eq!(
            (l.kind, l.server.as_str(), l.handle.as_str()),
            (LinkKind::Reader, "http://127.0.0.1:8080", H)
        );
        assert!(Link::parse(&format!("mynaid://read?server=https%3A%2F%2Fid.example.jp&handle={H}")).is_ok());
        assert_eq!(
            Link::parse(&format!("mynaid://read?server=http%3A%2F%2Fevil.example&handle={H}")),
            Err(LinkError::InsecureServer("http://evil.example".into()))
        );
    }

    #[test]
    fn app_links() {
        let l = Link::parse(&format!(
            "https://id.example.jp/app/read#h={H}&o=https%3A%2F%2Fportal.example.jp"
        ))
        .unwrap();
        assert_eq!(l.kind, LinkKind::App);
        assert_eq!(l.server, "https://id.example.jp");
        assert_eq!(l.origin.as_deref(), Some("https://portal.example.jp"));
        assert!(
            Link::parse(&format!(
                "http://127.0.0.1:8080/app/read#h={H}&o=http%3A%2F%2F127.0.0.1%3A8080"
            ))
            .is_ok()
        );
    }

    #[test]
    fn plain_http_only_on_this_machine() {
        let reader = |server: &str| Link::parse(&format!("mynaid://read?server={server}&handle={H}"));
        assert_eq!(
            reader("http%3A%2F%2Fexample.com"),
            Err(LinkError::InsecureServer("http://example.com".into()))
        );
        assert_eq!(
            reader("http%3A%2F%2Fexample.com%3A8080%2F"),
            Err(LinkError::InsecureServer("http://example.com:8080".into()))
        );
        // 127.0.0.1 as a subdomain of somebody else's name is not this machine.
        assert!(matches!(
            reader("http%3A%2F%2F127.0.0.1.evil.example"),
            Err(LinkError::InsecureServer(_))
        ));
        for ok in [
            "http%3A%2F%2F127.0.0.1%3A8080",
            "http%3A%2F%2F%5B%3A%3A1%5D",
            "http%3A%2F%2F%5B%3A%3A1%5D%3A8080",
            "http%3A%2F%2Flocalhost",
            "http%3A%2F%2Flocalhost%3A3000%2F",
        ] {
            assert!(reader(ok).is_ok(), "{ok}");
        }
        assert_eq!(reader("http%3A%2F%2F%5B%3A%3A1%5D").unwrap().server, "http://[::1]");
        assert_eq!(
            reader("http%3A%2F%2Flocalhost%3A3000%2F").unwrap().server,
            "http://localhost:3000"
        );
        // The same rule for the app link's server and for the origin it promises.
        assert!(matches!(
            Link::parse(&format!("http://example.com/app/read#h={H}&o=https%3A%2F%2Fp")),
            Err(LinkError::InsecureServer(_))
        ));
        assert_eq!(
            Link::parse(&format!(
                "https://id.example.jp/app/read#h={H}&o=http%3A%2F%2Fportal.example.jp"
            )),
            Err(LinkError::Malformed)
        );
    }

    #[test]
    fn servers_and_origins_are_plain_ascii_origins() {
        for bad in [
            // An escape sequence, a bidi override, a space, a look-alike, a path, a bad port.
            "https%3A%2F%2F%1B%5B2Jid.example.jp",
            "https%3A%2F%2Fid.example.jp%E2%80%AE",
            "https%3A%2F%2Fid%20example.jp",
            "https%3A%2F%2F%D0%B0pple.example",
            "https%3A%2F%2Fid.example.jp%2F%2F",
            "https%3A%2F%2Fid.example.jp%3A",
            "https%3A%2F%2Fid.example.jp%3A0",
            "https%3A%2F%2Fid.example.jp%3A65536",
            "https%3A%2F%2Fid.example.jp%3A80x",
            "https%3A%2F%2F.example.jp",
            "https%3A%2F%2Fa..example.jp",
            "https%3A%2F%2F%5B%5D",
            "https%3A%2F%2F%5Bzz%5D",
            "https%3A%2F%2F",
        ] {
            assert_eq!(
                Link::parse(&format!("mynaid://read?server={bad}&handle={H}")),
                Err(LinkError::Malformed),
                "{bad}"
            );
            assert_eq!(
                Link::parse(&format!("https://id.example.jp/app/read#h={H}&o={bad}")),
                Err(LinkError::Malformed),
                "{bad}"
            );
        }
    }

    #[test]
    fn normalized_origins() {
        assert_eq!(
            normalize_origin("https://ID.Example.JP:443/").as_deref(),
            Some("https://id.example.jp")
        );
        assert_eq!(
            normalize_origin("https://id.example.jp:8443").as_deref(),
            Some("https://id.example.jp:8443")
        );
        assert_eq!(
            normalize_origin("http://localhost:80").as_deref(),
            Some("http://localhost")
        );
        assert_eq!(normalize_origin("http://example.com"), None);
        assert_eq!(normalize_origin("id.example.jp"), None);
        assert_eq!(normalize_origin("https://id.example.jp/path"), None);
    }

    #[test]
    fn refusals() {
        for bad in [
            "https://x".to_string(),
            "mynaid://read?server=https%3A%2F%2Fa&handle=short".into(),
            format!("mynaid://read?server=https%3A%2F%2Fa&handle={H}&x=1"),
            format!("mynaid://read?server=https%3A%2F%2Fa&handle={H}&handle={H}"),
            format!("mynaid://read?server=https%3A%2F%2Fa%2Fpath&handle={H}"),
            format!("mynaid://read?server=https%3A%2F%2Fuser%40a&handle={H}"),
            format!("mynaid://read?server=ftp%3A%2F%2Fa&handle={H}"),
            format!("https://id.example.jp/app/read#h={H}"),
            format!("https://id.example.jp/app/read#h={H}&o=javascript%3Aalert(1)"),
            format!("https://id.example.jp/x/app/read#h={H}&o=https%3A%2F%2Fp"),
        ] {
            assert_eq!(Link::parse(&bad), Err(LinkError::Malformed), "{bad}");
        }
        assert!(matches!(
            Link::parse(&format!("http://evil.example/app/read#h={H}&o=https%3A%2F%2Fp")),
            Err(LinkError::InsecureServer(_))
        ));
    }
}
