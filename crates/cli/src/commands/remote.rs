//! The reader app's conversation with a mynaid server: parse the `mynaid://` link, redeem
//! the handle, report status, submit the evidence.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::json;

/// The reader app's name, sent when redeeming (for the minimum-version check).
pub(crate) const READER_NAME: &str = "mynaid-reader";

/// What a `mynaid://read?server=…&handle=…` link names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Link {
    /// The server's base URL (scheme, host, port).
    pub(crate) server: String,
    /// The one-time handle.
    pub(crate) handle: String,
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

/// Why a link was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LinkError {
    /// Not `mynaid://read?…` with a server and a handle.
    Malformed,
    /// The server is plain HTTP on a non-loopback host: the handle and the evidence would
    /// cross the network unprotected.
    InsecureServer(String),
}

impl Link {
    /// Parses and checks a link: HTTPS servers only, except plain HTTP on the loopback
    /// interface (the demo and tests).
    pub(crate) fn parse(text: &str) -> Result<Link, LinkError> {
        let rest = text.strip_prefix("mynaid://read?").ok_or(LinkError::Malformed)?;
        let (mut server, mut handle) = (None, None);
        for pair in rest.split('&') {
            let (k, v) = pair.split_once('=').ok_or(LinkError::Malformed)?;
            let v = percent_decode(v).ok_or(LinkError::Malformed)?;
            match k {
                "server" if server.is_none() => server = Some(v),
                "handle" if handle.is_none() => handle = Some(v),
                _ => return Err(LinkError::Malformed),
            }
        }
        let (server, handle) = (server.ok_or(LinkError::Malformed)?, handle.ok_or(LinkError::Malformed)?);
        let valid_handle = (16..=64).contains(&handle.len())
            && handle
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !valid_handle {
            return Err(LinkError::Malformed);
        }
        let server = server.trim_end_matches('/').to_string();
        let authority = server
            .strip_prefix("https://")
            .or_else(|| server.strip_prefix("http://"))
            .ok_or(LinkError::Malformed)?;
        if authority.is_empty() || authority.contains(['/', '?', '#', '@', ' ']) {
            return Err(LinkError::Malformed);
        }
        if server.starts_with("http://") {
            let host = authority.rsplit_once(':').map_or(authority, |(h, _)| h);
            if !matches!(host, "127.0.0.1" | "localhost" | "[::1]") {
                return Err(LinkError::InsecureServer(server));
            }
        }
        Ok(Link { server, handle })
    }
}

/// A name in both languages.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Names {
    pub(crate) ja: String,
    pub(crate) en: String,
}

/// The server's answer to a redeem.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Redeemed {
    pub(crate) origin: String,
    pub(crate) service_name: Names,
    pub(crate) purpose: String,
    pub(crate) purpose_text: Names,
    pub(crate) challenge: String,
    pub(crate) session_binding: String,
    pub(crate) accepted_credentials: Vec<String>,
    pub(crate) min_reader_version: String,
    pub(crate) submission_token: String,
    pub(crate) evidence_url: String,
    pub(crate) status_url: String,
}

impl Redeemed {
    /// The challenge and binding, decoded.
    pub(crate) fn binding_values(&self) -> Option<([u8; 32], Vec<u8>)> {
        let challenge = URL_SAFE_NO_PAD.decode(&self.challenge).ok()?.try_into().ok()?;
        let binding = URL_SAFE_NO_PAD.decode(&self.session_binding).ok()?;
        Some((challenge, binding))
    }
}

/// A server's error answer.
#[derive(Debug, Clone)]
pub(crate) struct ServerError {
    pub(crate) code: String,
    pub(crate) ja: String,
    pub(crate) en: String,
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

fn answer<T: for<'de> Deserialize<'de>>(
    resp: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
) -> Result<T, ServerError> {
    let mut resp = resp.map_err(|e| ServerError {
        code: "unreachable".into(),
        ja: format!("サーバーに接続できませんでした（{e}）。ネットワークを確かめてください。"),
        en: format!("Could not reach the server ({e}). Check the network."),
    })?;
    let status = resp.status().as_u16();
    let text = resp.body_mut().read_to_string().unwrap_or_default();
    if (200..300).contains(&status) {
        let text = if text.is_empty() { "null".to_string() } else { text };
        return serde_json::from_str(&text).map_err(|_| ServerError {
            code: "bad_answer".into(),
            ja: "サーバーの応答を理解できませんでした。".into(),
            en: "The server's answer could not be understood.".into(),
        });
    }
    let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    let e = &v["error"];
    Err(ServerError {
        code: e["code"].as_str().unwrap_or("server_error").to_string(),
        ja: e["message"]["ja"]
            .as_str()
            .unwrap_or("サーバーでエラーが起きました。")
            .to_string(),
        en: e["message"]["en"]
            .as_str()
            .unwrap_or("The server reported an error.")
            .to_string(),
    })
}

/// Redeems the link's handle.
pub(crate) fn redeem(link: &Link) -> Result<Redeemed, ServerError> {
    let url = format!("{}/api/v1/handles/{}/redeem", link.server, link.handle);
    let body = json!({ "reader": { "name": READER_NAME, "version": env!("CARGO_PKG_VERSION") } });
    answer(agent().post(&url).send_json(body))
}

/// Tells the page what is happening (best effort: a failure here changes nothing).
pub(crate) fn report(redeemed: &Redeemed, status: &str, tries_left: Option<u8>) {
    let body = json!({ "status": status, "tries_left": tries_left });
    let _ = agent()
        .post(&redeemed.status_url)
        .header("Authorization", &format!("Bearer {}", redeemed.submission_token))
        .send_json(body);
}

/// Submits the evidence document.
pub(crate) fn submit(redeemed: &Redeemed, evidence_json: &str) -> Result<(), ServerError> {
    let resp = agent()
        .post(&redeemed.evidence_url)
        .header("Authorization", &format!("Bearer {}", redeemed.submission_token))
        .header("Content-Type", "application/json")
        .send(evidence_json);
    answer::<serde_json::Value>(resp).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links() {
        let l =
            Link::parse("mynaid://read?server=http%3A%2F%2F127.0.0.1%3A8080&handle=abcdefghijklmnopqrstuvwx").unwrap();
        assert_eq!(l.server, "http://127.0.0.1:8080");
        assert_eq!(l.handle, "abcdefghijklmnopqrstuvwx");
        assert!(
            Link::parse("mynaid://read?server=https%3A%2F%2Fid.example.jp&handle=abcdefghijklmnopqrstuvwx").is_ok()
        );
        assert_eq!(
            Link::parse("mynaid://read?server=http%3A%2F%2Fevil.example&handle=abcdefghijklmnopqrstuvwx"),
            Err(LinkError::InsecureServer("http://evil.example".into()))
        );
        for bad in [
            "https://x",
            "mynaid://read?server=https%3A%2F%2Fa&handle=short",
            "mynaid://read?server=https%3A%2F%2Fa&handle=abcdefghijklmnopqrstuvwx&x=1",
            "mynaid://read?server=https%3A%2F%2Fa%2Fpath&handle=abcdefghijklmnopqrstuvwx",
            "mynaid://read?server=https%3A%2F%2Fuser%40a&handle=abcdefghijklmnopqrstuvwx",
            "mynaid://read?server=ftp%3A%2F%2Fa&handle=abcdefghijklmnopqrstuvwx",
        ] {
            assert_eq!(Link::parse(bad), Err(LinkError::Malformed), "{bad}");
        }
    }
}
