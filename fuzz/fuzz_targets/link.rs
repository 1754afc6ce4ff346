//! Links that hand a session to a reading device (`mynaid_device::Link::parse`): the
//! `mynaid://read?server=…&handle=…` link the PC page opens and the app link
//! `https://…/app/read#h=…&o=…` of a QR code. Both arrive from outside (a web page, a
//! scanned image), so a link is untrusted text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mynaid_device::{Link, LinkKind};

/// Percent-encodes everything but unreserved characters, as the server's pages do.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(link) = Link::parse(text) else {
        return;
    };
    // The handle is what the server issues: 16-64 base64url characters, nothing to inject.
    assert!((16..=64).contains(&link.handle.len()), "handle length");
    assert!(
        link.handle
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "handle characters"
    );
    // The server is a bare origin: https, or http on this machine only.
    let authority = link
        .server
        .strip_prefix("https://")
        .or_else(|| link.server.strip_prefix("http://"))
        .expect("server scheme");
    assert!(!authority.is_empty());
    assert!(!authority.contains(['/', '?', '#', '@', ' ', '\\']), "server authority");
    if link.server.starts_with("http://") {
        // Host names are case-insensitive: `LocalHost` is this machine too.
        let host = authority
            .rsplit_once(':')
            .map_or(authority, |(h, _)| h)
            .to_ascii_lowercase();
        assert!(
            matches!(host.as_str(), "127.0.0.1" | "localhost" | "[::1]"),
            "plain http off loopback"
        );
    }
    match link.kind {
        LinkKind::Reader => assert!(link.origin.is_none()),
        LinkKind::App => {
            let origin = link.origin.as_deref().expect("app links promise an origin");
            assert!(origin.starts_with("https://") || origin.starts_with("http://"));
            assert!(origin.len() <= 255);
        }
    }
    // Every request goes to the link's own server, for this handle.
    let redeem = link.redeem_request("fuzz", mynaid_device::Device::PhoneApp);
    assert_eq!(
        redeem.url,
        format!("{}/api/v1/handles/{}/redeem", link.server, link.handle)
    );
    // Writing the link again (as the server's pages do) gives the same link.
    let again = match link.kind {
        LinkKind::Reader => format!("mynaid://read?server={}&handle={}", encode(&link.server), link.handle),
        LinkKind::App => format!(
            "{}/app/read#h={}&o={}",
            link.server,
            link.handle,
            encode(link.origin.as_deref().unwrap_or_default())
        ),
    };
    assert_eq!(Link::parse(&again).as_ref(), Ok(&link), "re-encoded link");
});
