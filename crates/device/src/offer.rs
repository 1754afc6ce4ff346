//! The conversation with the server, as plain data: requests to send, answers to judge. The
//! messages themselves are `mynaid_protocol::api`'s, the ones the server sends.

use std::fmt;

use mynaid_protocol::api::{ErrorBody, RedeemAnswer, RedeemRequest, StatusReport, Submitted};
use mynaid_protocol::{Binding, Body, Evidence, Pattern, Purpose, ReaderApp, ReaderStatus, Route, Text};
use zeroize::Zeroizing;

use crate::link::Link;

/// A request for the host to send (always POST with a JSON body).
#[derive(Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// Absolute URL.
    pub url: String,
    /// `Authorization: Bearer …`, if any.
    pub bearer: Option<String>,
    /// JSON body.
    pub body: Zeroizing<String>,
}

impl fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HttpRequest(POST {}, {} bytes)", self.url, self.body.len())
    }
}

/// The server refused, or answered something this core does not accept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code} (HTTP {status})")]
pub struct ServerError {
    /// HTTP status (0 when the answer itself was unacceptable).
    pub status: u16,
    /// Stable code (`handle_already_used`, `session_expired`, `origin_mismatch`, …).
    pub code: String,
    /// What to tell the person.
    pub message: Text,
}

impl ServerError {
    fn local(code: &str, ja: &str, en: &str) -> ServerError {
        ServerError {
            status: 0,
            code: code.into(),
            message: Text::new(ja, en),
        }
    }

    fn bad_answer() -> ServerError {
        ServerError::local(
            "bad_answer",
            "サーバーの応答を理解できませんでした。",
            "The server's answer could not be understood.",
        )
    }

    fn from_answer(status: u16, body: &[u8]) -> ServerError {
        match serde_json::from_slice::<ErrorBody>(body) {
            Ok(e) => ServerError {
                status,
                code: e.error.code,
                message: e.error.message,
            },
            Err(_) => ServerError {
                status,
                code: "server_error".into(),
                message: Text::new("サーバーでエラーが起きました。", "The server reported an error."),
            },
        }
    }
}

fn json_body(value: &impl serde::Serialize) -> Zeroizing<String> {
    // Serializing these plain structs cannot fail.
    Zeroizing::new(serde_json::to_string(value).unwrap_or_default())
}

impl Link {
    /// The redeem request (`reader` names this app for the minimum-version check).
    pub fn redeem_request(&self, reader_name: &str) -> HttpRequest {
        HttpRequest {
            url: format!("{}/api/v1/handles/{}/redeem", self.server, self.handle),
            bearer: None,
            body: json_body(&RedeemRequest {
                reader: Some(ReaderApp {
                    name: reader_name.into(),
                    version: crate::VERSION.into(),
                }),
            }),
        }
    }
}

/// What a redeemed handle offers: who asks and why (to show before the PIN), and what the
/// card must sign.
#[derive(Clone)]
pub struct Offer {
    /// The service's origin (shown, and signed).
    pub origin: String,
    /// The service's name.
    pub service_name: Text,
    /// Why the card is read.
    pub purpose: Purpose,
    /// The purpose in words.
    pub purpose_text: Text,
    /// Pattern 2: the code the PC page shows, to compare before the PIN.
    pub pc_code: Option<String>,
    /// How the card is read.
    pub pattern: Pattern,
    /// The routes the service accepts.
    pub accepted: Vec<Route>,
    /// Expiry, seconds since the epoch.
    pub expires_at: i64,
    /// The oldest app version the server accepts.
    pub min_reader_version: String,
    /// The server this offer came from.
    pub server: String,
    challenge: [u8; 32],
    binding: Vec<u8>,
    submission_token: Zeroizing<String>,
    evidence_url: String,
    status_url: String,
}

impl fmt::Debug for Offer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Offer({}, {}, {})", self.origin, self.purpose, self.pattern)
    }
}

/// Compares versions `a.b.c` numerically; anything unparsable is older.
fn at_least(have: &str, min: &str) -> bool {
    let parse = |v: &str| -> Option<Vec<u64>> { v.split('.').map(|p| p.parse().ok()).collect() };
    matches!((parse(have), parse(min)), (Some(h), Some(m)) if h >= m)
}

impl Offer {
    /// Judges the redeem answer: the server's error, or an offer whose URLs stay on the
    /// link's server and whose origin is the one an app link promised.
    pub fn from_response(link: &Link, status: u16, body: &[u8]) -> Result<Offer, ServerError> {
        if !(200..300).contains(&status) {
            return Err(ServerError::from_answer(status, body));
        }
        let a: RedeemAnswer = serde_json::from_slice(body).map_err(|_| ServerError::bad_answer())?;
        if let Some(promised) = &link.origin
            && *promised != a.origin
        {
            return Err(ServerError::local(
                "origin_mismatch",
                "QRコードに書かれたサービスとサーバーの答えが一致しないため中止しました。",
                "Stopped: the server names a different service than the QR code.",
            ));
        }
        let prefix = format!("{}/api/v1/handles/{}/", link.server, link.handle);
        if !a.evidence_url.starts_with(&prefix) || !a.status_url.starts_with(&prefix) || a.session_binding.is_empty() {
            return Err(ServerError::bad_answer());
        }
        Ok(Offer {
            origin: a.origin,
            service_name: a.service_name,
            purpose: a.purpose,
            purpose_text: a.purpose_text,
            pc_code: a.pc_code,
            pattern: a.pattern,
            accepted: a.accepted_credentials,
            expires_at: a.expires_at,
            min_reader_version: a.min_reader_version,
            server: link.server.clone(),
            challenge: a.challenge,
            binding: a.session_binding,
            submission_token: Zeroizing::new(a.submission_token),
            evidence_url: a.evidence_url,
            status_url: a.status_url,
        })
    }

    /// Whether this app is older than the server accepts (then: tell the person to update,
    /// and read nothing).
    pub fn app_is_outdated(&self) -> bool {
        !at_least(crate::VERSION, &self.min_reader_version)
    }

    /// Whether the service accepts `route`.
    pub fn accepts(&self, route: Route) -> bool {
        self.accepted.contains(&route)
    }

    /// The value the card signs for this session.
    pub fn to_be_signed(&self) -> [u8; 32] {
        Binding {
            origin: &self.origin,
            challenge: &self.challenge,
            session: &self.binding,
            purpose: self.purpose,
        }
        .to_be_signed()
    }

    /// A status report for the page.
    pub fn status_request(&self, status: ReaderStatus, tries_left: Option<u8>) -> HttpRequest {
        HttpRequest {
            url: self.status_url.clone(),
            bearer: Some(self.submission_token.to_string()),
            body: json_body(&StatusReport { status, tries_left }),
        }
    }

    /// The evidence submission.
    pub fn evidence_request(&self, reader_name: &str, body: Body) -> HttpRequest {
        let evidence = Evidence {
            reader: Some(ReaderApp {
                name: reader_name.into(),
                version: crate::VERSION.into(),
            }),
            body,
        };
        HttpRequest {
            url: self.evidence_url.clone(),
            bearer: Some(self.submission_token.to_string()),
            body: Zeroizing::new(evidence.to_json()),
        }
    }

    /// Judges the answer to the evidence: the server's error, or what to tell the person
    /// (the confirmation code, where to return), with a return address only on this
    /// offer's server.
    pub fn submitted(&self, status: u16, body: &[u8]) -> Result<Submitted, ServerError> {
        if !(200..300).contains(&status) {
            return Err(ServerError::from_answer(status, body));
        }
        let s: Submitted = serde_json::from_slice(body).map_err(|_| ServerError::bad_answer())?;
        if let Some(url) = &s.return_url
            && !url.starts_with(&format!("{}/return#", self.server))
        {
            return Err(ServerError::bad_answer());
        }
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use serde_json::json;

    use super::*;

    fn link(app: bool) -> Link {
        let h = "abcdefghijklmnopqrstuvwx";
        if app {
            Link::parse(&format!(
                "https://id.example.jp/app/read#h={h}&o=https%3A%2F%2Fportal.example.jp"
            ))
            .unwrap()
        } else {
            Link::parse(&format!("mynaid://read?server=https%3A%2F%2Fid.example.jp&handle={h}")).unwrap()
        }
    }

    fn answer(origin: &str, evidence_url: &str) -> Vec<u8> {
        json!({
            "origin": origin, "service_name": {"ja": "ポータル", "en": "Portal"}, "purpose": "verify_identity",
            "purpose_text": {"ja": "本人確認", "en": "Verify"}, "challenge": URL_SAFE_NO_PAD.encode([1u8; 32]),
            "session_binding": URL_SAFE_NO_PAD.encode([2u8; 16]), "expires_at": 10, "accepted_credentials": ["input_support", "signature"],
            "min_reader_version": "0.0.1", "submission_token": "t", "evidence_url": evidence_url,
            "status_url": "https://id.example.jp/api/v1/handles/abcdefghijklmnopqrstuvwx/status", "pattern": "cross_device", "pc_code": "K7Q2"
        })
        .to_string()
        .into_bytes()
    }

    const GOOD: &str = "https://id.example.jp/api/v1/handles/abcdefghijklmnopqrstuvwx/evidence";

    #[test]
    fn offers() {
        let o = Offer::from_response(&link(true), 200, &answer("https://portal.example.jp", GOOD)).unwrap();
        assert_eq!(o.pc_code.as_deref(), Some("K7Q2"));
        assert!(o.accepts(Route::InputSupport) && !o.app_is_outdated());
        assert_eq!(
            o.status_request(ReaderStatus::Reading, None).bearer.as_deref(),
            Some("t")
        );
        // The app link promised another service than the server names: refused.
        let e = Offer::from_response(&link(true), 200, &answer("https://evil.example", GOOD)).unwrap_err();
        assert_eq!(e.code, "origin_mismatch");
        // A reader link promises nothing; the origin is shown as the server says.
        assert!(Offer::from_response(&link(false), 200, &answer("https://evil.example", GOOD)).is_ok());
        // Submissions must stay on the link's server.
        let e = Offer::from_response(
            &link(true),
            200,
            &answer("https://portal.example.jp", "https://evil.example/x"),
        )
        .unwrap_err();
        assert_eq!(e.code, "bad_answer");
        let err = br#"{"error":{"code":"handle_already_used","message":{"ja":"j","en":"e"}}}"#;
        assert_eq!(
            Offer::from_response(&link(true), 409, err).unwrap_err().code,
            "handle_already_used"
        );
    }

    #[test]
    fn submitted_return_url_must_be_the_servers() {
        let o = Offer::from_response(&link(true), 200, &answer("https://portal.example.jp", GOOD)).unwrap();
        let ok =
            br##"{"status":"verified","confirmation_code":"123456","return_url":"https://id.example.jp/return#xyz"}"##;
        assert_eq!(
            o.submitted(200, ok).unwrap().confirmation_code.as_deref(),
            Some("123456")
        );
        let evil = br##"{"status":"verified","return_url":"https://evil.example/return#xyz"}"##;
        assert!(o.submitted(200, evil).is_err());
    }
}
