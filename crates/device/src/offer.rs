//! The conversation with the server, as plain data: requests to send, answers to judge.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use mynaid_evidence::{Binding, Body, Evidence, ReaderApp};
use serde::Deserialize;
use serde_json::json;
use zeroize::Zeroizing;

use crate::link::Link;
use crate::reading::Credential;

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

/// A text in both languages.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Names {
    /// Japanese.
    pub ja: String,
    /// English.
    pub en: String,
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
    pub message: Names,
}

impl ServerError {
    fn local(code: &str, ja: &str, en: &str) -> ServerError {
        ServerError {
            status: 0,
            code: code.into(),
            message: Names {
                ja: ja.into(),
                en: en.into(),
            },
        }
    }

    fn from_answer(status: u16, body: &[u8]) -> ServerError {
        let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
        let e = &v["error"];
        ServerError {
            status,
            code: e["code"].as_str().unwrap_or("server_error").to_string(),
            message: Names {
                ja: e["message"]["ja"]
                    .as_str()
                    .unwrap_or("サーバーでエラーが起きました。")
                    .to_string(),
                en: e["message"]["en"]
                    .as_str()
                    .unwrap_or("The server reported an error.")
                    .to_string(),
            },
        }
    }
}

impl Link {
    /// The redeem request (`reader` names this app for the minimum-version check).
    pub fn redeem_request(&self, reader_name: &str) -> HttpRequest {
        HttpRequest {
            url: format!("{}/api/v1/handles/{}/redeem", self.server, self.handle),
            bearer: None,
            body: Zeroizing::new(json!({ "reader": { "name": reader_name, "version": crate::VERSION } }).to_string()),
        }
    }
}

#[derive(Deserialize)]
struct RedeemAnswer {
    origin: String,
    service_name: Names,
    purpose: String,
    purpose_text: Names,
    challenge: String,
    session_binding: String,
    expires_at: i64,
    accepted_credentials: Vec<String>,
    min_reader_version: String,
    submission_token: String,
    evidence_url: String,
    status_url: String,
    #[serde(default)]
    pattern: Option<String>,
    #[serde(default)]
    pc_code: Option<String>,
}

/// What a redeemed handle offers: who asks and why (to show before the PIN), and what the
/// card must sign.
#[derive(Clone)]
pub struct Offer {
    /// The service's origin (shown, and signed).
    pub origin: String,
    /// The service's name.
    pub service_name: Names,
    /// `link_card` or `verify_identity`.
    pub purpose: String,
    /// The purpose in words.
    pub purpose_text: Names,
    /// Pattern 2: the code the PC page shows, to compare before the PIN.
    pub pc_code: Option<String>,
    /// `pc_reader`, `cross_device` or `same_device`.
    pub pattern: String,
    /// What the service accepts.
    pub accepted: Vec<Credential>,
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
        let bad = || {
            ServerError::local(
                "bad_answer",
                "サーバーの応答を理解できませんでした。",
                "The server's answer could not be understood.",
            )
        };
        let a: RedeemAnswer = serde_json::from_slice(body).map_err(|_| bad())?;
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
        if !a.evidence_url.starts_with(&prefix) || !a.status_url.starts_with(&prefix) {
            return Err(bad());
        }
        let challenge: [u8; 32] = URL_SAFE_NO_PAD
            .decode(&a.challenge)
            .ok()
            .and_then(|c| c.try_into().ok())
            .ok_or_else(bad)?;
        let binding = URL_SAFE_NO_PAD
            .decode(&a.session_binding)
            .ok()
            .filter(|b| !b.is_empty())
            .ok_or_else(bad)?;
        let accepted = a
            .accepted_credentials
            .iter()
            .filter_map(|c| Credential::from_wire(c))
            .collect();
        Ok(Offer {
            origin: a.origin,
            service_name: a.service_name,
            purpose: a.purpose,
            purpose_text: a.purpose_text,
            pc_code: a.pc_code,
            pattern: a.pattern.unwrap_or_else(|| "pc_reader".into()),
            accepted,
            expires_at: a.expires_at,
            min_reader_version: a.min_reader_version,
            server: link.server.clone(),
            challenge,
            binding,
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

    /// Whether the service accepts `credential`.
    pub fn accepts(&self, credential: Credential) -> bool {
        self.accepted.contains(&credential)
    }

    /// The value the card signs for this session.
    pub fn to_be_signed(&self) -> [u8; 32] {
        Binding {
            origin: &self.origin,
            challenge: &self.challenge,
            session: &self.binding,
            purpose: &self.purpose,
        }
        .to_be_signed()
    }

    /// A status report for the page (`reading`, `pin_wrong`, `card_removed`, …).
    pub fn status_request(&self, status: &str, tries_left: Option<u8>) -> HttpRequest {
        HttpRequest {
            url: self.status_url.clone(),
            bearer: Some(self.submission_token.to_string()),
            body: Zeroizing::new(json!({ "status": status, "tries_left": tries_left }).to_string()),
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
}

/// The server accepted the evidence.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Submitted {
    /// Patterns 2 and 3: the code to type on the page that started the procedure.
    #[serde(default)]
    pub confirmation_code: Option<String>,
    /// Pattern 3: where to send the person back (open it in the browser).
    #[serde(default)]
    pub return_url: Option<String>,
}

impl Submitted {
    /// Judges the evidence answer.
    pub fn from_response(offer: &Offer, status: u16, body: &[u8]) -> Result<Submitted, ServerError> {
        if !(200..300).contains(&status) {
            return Err(ServerError::from_answer(status, body));
        }
        let s: Submitted = serde_json::from_slice(body).map_err(|_| {
            ServerError::local(
                "bad_answer",
                "サーバーの応答を理解できませんでした。",
                "The server's answer could not be understood.",
            )
        })?;
        // The return address must be the server's own page.
        if let Some(url) = &s.return_url
            && !url.starts_with(&format!("{}/return#", offer.server))
        {
            return Err(ServerError::local(
                "bad_answer",
                "サーバーの応答を理解できませんでした。",
                "The server's answer could not be understood.",
            ));
        }
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
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
        assert!(o.accepts(Credential::InputSupportPin) && !o.app_is_outdated());
        assert_eq!(o.status_request("reading", None).bearer.as_deref(), Some("t"));
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
            Submitted::from_response(&o, 200, ok)
                .unwrap()
                .confirmation_code
                .as_deref(),
            Some("123456")
        );
        let evil = br##"{"status":"verified","return_url":"https://evil.example/return#xyz"}"##;
        assert!(Submitted::from_response(&o, 200, evil).is_err());
    }
}
