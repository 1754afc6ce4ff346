//! Which mynaid servers this device trusts: the person's allow-list, checked before a handle
//! is redeemed, so a link from somebody else's server sends nothing there.
//!
//! The host keeps the list (a configuration file for the PC reader app, settings on a
//! phone); this core only judges a link against it.

use crate::link::{Link, LinkError, normalize_origin};

/// The mynaid servers a device talks to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerPolicy {
    /// Origins of the trusted servers (`https://id.example.jp`). Compared in their
    /// normalized spelling (lower-case host, default port left out); an entry that is not an
    /// origin matches nothing. Empty: any server is accepted (first use, before the person
    /// has set a list), and the host must say so before the PIN.
    pub allowed: Vec<String>,
}

impl ServerPolicy {
    /// Whether there is no list yet (then any server is accepted).
    pub fn is_first_use(&self) -> bool {
        self.allowed.is_empty()
    }

    /// Accepts the link if its server is on the list, or if there is no list.
    pub fn check(&self, link: &Link) -> Result<(), LinkError> {
        if self.allowed.is_empty() {
            return Ok(());
        }
        let server = normalize_origin(&link.server).ok_or(LinkError::Malformed)?;
        if self
            .allowed
            .iter()
            .filter_map(|a| normalize_origin(a))
            .any(|a| a == server)
        {
            Ok(())
        } else {
            Err(LinkError::NotAllowed(link.server.clone()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(server: &str) -> Link {
        Link::parse(&format!(
            "mynaid://read?server={}&handle=abcdefghijklmnopqrstuvwx",
            server.replace(':', "%3A").replace('/', "%2F")
        ))
        .unwrap()
    }

    fn policy(allowed: &[&str]) -> ServerPolicy {
        ServerPolicy {
            allowed: allowed.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn an_empty_list_allows_any_server() {
        let p = ServerPolicy::default();
        assert!(p.is_first_use());
        assert_eq!(p.check(&link("https://anything.example")), Ok(()));
    }

    #[test]
    fn exact_origin_match() {
        let p = policy(&["https://ID.example.jp/", "http://127.0.0.1:8080"]);
        assert!(!p.is_first_use());
        for ok in [
            "https://id.example.jp",
            "https://id.example.jp:443",
            "http://127.0.0.1:8080",
        ] {
            assert_eq!(p.check(&link(ok)), Ok(()), "{ok}");
        }
        for (bad, shown) in [
            (
                "https://id.example.jp.evil.example",
                "https://id.example.jp.evil.example",
            ),
            ("https://evil-id.example.jp", "https://evil-id.example.jp"),
            ("https://id.example.jp:8443", "https://id.example.jp:8443"),
            ("http://127.0.0.1:8081", "http://127.0.0.1:8081"),
            ("http://localhost:8080", "http://localhost:8080"),
        ] {
            assert_eq!(p.check(&link(bad)), Err(LinkError::NotAllowed(shown.into())), "{bad}");
        }
    }

    #[test]
    fn entries_that_are_not_origins_match_nothing() {
        let p = policy(&["id.example.jp", "https://id.example.jp/path", "http://id.example.jp"]);
        assert!(matches!(
            p.check(&link("https://id.example.jp")),
            Err(LinkError::NotAllowed(_))
        ));
    }
}
