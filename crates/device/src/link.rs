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

/// Checks `https://host[:port]` (or `http://` on loopback) with nothing after the authority.
fn check_server(server: &str) -> Result<String, LinkError> {
    let server = server.trim_end_matches('/');
    let (secure, authority) = match (server.strip_prefix("https://"), server.strip_prefix("http://")) {
        (Some(a), _) => (true, a),
        (None, Some(a)) => (false, a),
        _ => return Err(LinkError::Malformed),
    };
    if authority.is_empty() || authority.contains(['/', '?', '#', '@', ' ', '\\']) {
        return Err(LinkError::Malformed);
    }
    if !secure {
        let host = authority.rsplit_once(':').map_or(authority, |(h, _)| h);
        if !matches!(host, "127.0.0.1" | "localhost" | "[::1]") {
            return Err(LinkError::InsecureServer(server.to_string()));
        }
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
        let origin_ok = (origin.starts_with("https://") || origin.starts_with("http://")) && origin.len() <= 255;
        if !origin_ok {
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
