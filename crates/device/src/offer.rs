//! The conversation with the server, as plain data: requests to send, answers to judge. The
//! messages themselves are `mynaid_protocol::api`'s, the ones the server sends.

use std::fmt;

use mynaid_protocol::api::{ErrorBody, RedeemAnswer, RedeemRequest, StatusReport, Submitted};
use mynaid_protocol::{
    Binding, Body, Device, Evidence, Pattern, PinName, Purpose, ReaderApp, ReaderStatus, Route, Text,
};
use zeroize::Zeroizing;

use crate::link::{Link, is_acceptable_origin};
use crate::shown::{shown, shown_text};

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

/// The server refused, or answered something this core does not accept. The message is
/// safe to show as it is ([`crate::shown`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code} (HTTP {status})")]
pub struct ServerError {
    /// HTTP status (0 when the answer itself was unacceptable).
    pub status: u16,
    /// Stable code (`handle_already_used`, `session_expired`, `origin_mismatch`,
    /// `wrong_device`, …): lower-case ASCII letters, digits and `_` only.
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
            "サーバーの応答を理解できなかったため中止しました。暗証番号は入力しないでください。手続きの画面から、もう一度始めてください。",
            "Stopped: the server's answer could not be understood. Do not enter your PIN. Start again from the procedure's page.",
        )
    }

    fn wrong_device() -> ServerError {
        ServerError::local(
            "wrong_device",
            "このリンクは別の種類の機器のためのものです。だれかから送られたリンクであれば、暗証番号を入力しないでください。手続きは、ご自身で開いたサービスの画面から始めてください。",
            "This link is meant for another kind of device. If somebody sent you this link, do not enter your PIN. Start the procedure from the service's own page, opened yourself.",
        )
    }

    /// The server's refusal, its words cleaned: a hostile server's message must not move the
    /// cursor, clear the screen or reorder the text around it.
    fn from_answer(status: u16, body: &[u8]) -> ServerError {
        let plain_code = |c: &str| {
            (1..=64).contains(&c.len())
                && c.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        };
        match serde_json::from_slice::<ErrorBody>(body) {
            Ok(e) => ServerError {
                status,
                code: if plain_code(&e.error.code) {
                    e.error.code
                } else {
                    "server_error".into()
                },
                message: shown_text(&e.error.message),
            },
            Err(_) => ServerError {
                status,
                code: "server_error".into(),
                message: Text::new(
                    "サーバーでエラーが起きました。しばらくしてから、手続きの画面からもう一度お試しください。",
                    "The server reported an error. Try again later from the procedure's page.",
                ),
            },
        }
    }
}

fn json_body(value: &impl serde::Serialize) -> Zeroizing<String> {
    // Serializing these plain structs cannot fail.
    Zeroizing::new(serde_json::to_string(value).unwrap_or_default())
}

impl Link {
    /// The redeem request: `reader_name` names this app for the minimum-version check,
    /// `device` says which kind of device redeems, so that the server refuses a handle meant
    /// for another kind before it is used up.
    pub fn redeem_request(&self, reader_name: &str, device: Device) -> HttpRequest {
        HttpRequest {
            url: format!("{}/api/v1/handles/{}/redeem", self.server, self.handle),
            bearer: None,
            body: json_body(&RedeemRequest {
                reader: Some(ReaderApp {
                    name: reader_name.into(),
                    version: crate::VERSION.into(),
                }),
                device: Some(device),
            }),
        }
    }
}

/// What a redeemed handle offers: who asks and why (to show before the PIN), and what the
/// card must sign. Every text here is safe to show as it is.
#[derive(Clone)]
pub struct Offer {
    /// The service's origin (shown, and signed): a plain `https://host[:port]` (or `http://`
    /// on this machine).
    pub origin: String,
    /// The service's name, [`crate::shown`].
    pub service_name: Text,
    /// Why the card is read.
    pub purpose: Purpose,
    /// The purpose in words, [`crate::shown`].
    pub purpose_text: Text,
    /// Pattern 2: the code the PC page shows, to compare before the PIN ([`crate::shown`]).
    pub pc_code: Option<String>,
    /// How the card is read.
    pub pattern: Pattern,
    /// The routes the service accepts.
    pub accepted: Vec<Route>,
    /// Expiry, seconds since the epoch.
    pub expires_at: i64,
    /// The oldest app version the server accepts ([`crate::shown`]).
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
    /// Judges the redeem answer for a `device` of this kind: the server's error, or an offer
    /// for this kind of device, whose URLs stay on the link's server, whose origin is a plain
    /// origin and the one an app link promised, and whose texts are cleaned to be shown.
    pub fn from_response(link: &Link, device: Device, status: u16, body: &[u8]) -> Result<Offer, ServerError> {
        if !(200..300).contains(&status) {
            return Err(ServerError::from_answer(status, body));
        }
        let a: RedeemAnswer = serde_json::from_slice(body).map_err(|_| ServerError::bad_answer())?;
        // A session's pattern was chosen on the page that started it: a link for a phone that
        // reaches the PC reader app (or the other way round) was handed on by somebody.
        if a.pattern.device() != device {
            return Err(ServerError::wrong_device());
        }
        if !is_acceptable_origin(&a.origin) {
            return Err(ServerError::bad_answer());
        }
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
            service_name: shown_text(&a.service_name),
            purpose: a.purpose,
            purpose_text: shown_text(&a.purpose_text),
            pc_code: a.pc_code.as_deref().map(shown),
            pattern: a.pattern,
            accepted: a.accepted_credentials,
            expires_at: a.expires_at,
            min_reader_version: shown(&a.min_reader_version),
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
        self.report(StatusReport {
            status,
            tries_left,
            pin: None,
        })
    }

    /// A status report about one PIN (wrong or locked), naming it: the 4-digit route has two.
    pub fn pin_status_request(&self, status: ReaderStatus, pin: PinName, tries_left: Option<u8>) -> HttpRequest {
        self.report(StatusReport {
            status,
            tries_left,
            pin: Some(pin),
        })
    }

    fn report(&self, report: StatusReport) -> HttpRequest {
        HttpRequest {
            url: self.status_url.clone(),
            bearer: Some(self.submission_token.to_string()),
            body: json_body(&report),
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
    /// — a confirmation code of exactly 6 digits, and a return address only on this offer's
    /// server (`{server}/return#<result handle>`, the handle plain URL-safe characters), so
    /// both are safe to show and the address safe to open.
    pub fn submitted(&self, status: u16, body: &[u8]) -> Result<Submitted, ServerError> {
        if !(200..300).contains(&status) {
            return Err(ServerError::from_answer(status, body));
        }
        let s: Submitted = serde_json::from_slice(body).map_err(|_| ServerError::bad_answer())?;
        if let Some(code) = &s.confirmation_code
            && !(code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(ServerError::bad_answer());
        }
        if let Some(url) = &s.return_url {
            let handle = url.strip_prefix(&format!("{}/return#", self.server));
            let plain = handle.is_some_and(|h| {
                (1..=128).contains(&h.len()) && h.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            });
            if !plain {
                return Err(ServerError::bad_answer());
            }
        }
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use serde_json::{Value, json};

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

    fn answer_value(origin: &str, evidence_url: &str) -> Value {
        json!({
            "origin": origin, "service_name": {"ja": "ポータル", "en": "Portal"}, "purpose": "verify_identity",
            "purpose_text": {"ja": "本人確認", "en": "Verify"}, "challenge": URL_SAFE_NO_PAD.encode([1u8; 32]),
            "session_binding": URL_SAFE_NO_PAD.encode([2u8; 16]), "expires_at": 10, "accepted_credentials": ["user_authentication", "signature"],
            "min_reader_version": "0.0.1", "submission_token": "t", "evidence_url": evidence_url,
            "status_url": "https://id.example.jp/api/v1/handles/abcdefghijklmnopqrstuvwx/status", "pattern": "cross_device", "pc_code": "K7Q2"
        })
    }

    fn answer(origin: &str, evidence_url: &str) -> Vec<u8> {
        answer_value(origin, evidence_url).to_string().into_bytes()
    }

    const GOOD: &str = "https://id.example.jp/api/v1/handles/abcdefghijklmnopqrstuvwx/evidence";
    const PHONE: Device = Device::PhoneApp;

    #[test]
    fn offers() {
        let o = Offer::from_response(&link(true), PHONE, 200, &answer("https://portal.example.jp", GOOD)).unwrap();
        assert_eq!(o.pc_code.as_deref(), Some("K7Q2"));
        assert!(o.accepts(Route::UserAuthentication) && !o.app_is_outdated());
        assert_eq!(
            o.status_request(ReaderStatus::Reading, None).bearer.as_deref(),
            Some("t")
        );
        // The app link promised another service than the server names: refused.
        let e = Offer::from_response(&link(true), PHONE, 200, &answer("https://evil.example", GOOD)).unwrap_err();
        assert_eq!(e.code, "origin_mismatch");
        // A reader link promises nothing; the origin is shown as the server says.
        assert!(Offer::from_response(&link(false), PHONE, 200, &answer("https://evil.example", GOOD)).is_ok());
        // Submissions must stay on the link's server.
        let e = Offer::from_response(
            &link(true),
            PHONE,
            200,
            &answer("https://portal.example.jp", "https://evil.example/x"),
        )
        .unwrap_err();
        assert_eq!(e.code, "bad_answer");
        let err = br#"{"error":{"code":"handle_already_used","message":{"ja":"j","en":"e"}}}"#;
        assert_eq!(
            Offer::from_response(&link(true), PHONE, 409, err).unwrap_err().code,
            "handle_already_used"
        );
    }

    #[test]
    fn the_redeem_request_says_which_device() {
        let r = link(false).redeem_request("mynaid-reader", Device::PcReaderApp);
        assert_eq!(
            r.url,
            "https://id.example.jp/api/v1/handles/abcdefghijklmnopqrstuvwx/redeem"
        );
        let body: Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(body["device"], "pc_reader_app");
        assert_eq!(body["reader"]["name"], "mynaid-reader");
        let body: Value = serde_json::from_str(&link(true).redeem_request("p", PHONE).body).unwrap();
        assert_eq!(body["device"], "phone_app");
    }

    #[test]
    fn an_offer_for_another_kind_of_device_is_refused() {
        let mut a = answer_value("https://portal.example.jp", GOOD);
        // A phone pattern (cross_device) reaching the PC reader app.
        let e = Offer::from_response(&link(false), Device::PcReaderApp, 200, a.to_string().as_bytes()).unwrap_err();
        assert_eq!((e.status, e.code.as_str()), (0, "wrong_device"));
        assert!(e.message.ja.contains("暗証番号を入力しないでください"));
        assert!(e.message.en.contains("do not enter your PIN"));
        a["pattern"] = json!("same_device");
        let e = Offer::from_response(&link(false), Device::PcReaderApp, 200, a.to_string().as_bytes()).unwrap_err();
        assert_eq!(e.code, "wrong_device");
        // A PC pattern reaching the phone.
        a["pattern"] = json!("pc_reader");
        let e = Offer::from_response(&link(true), PHONE, 200, a.to_string().as_bytes()).unwrap_err();
        assert_eq!(e.code, "wrong_device");
        let o = Offer::from_response(&link(false), Device::PcReaderApp, 200, a.to_string().as_bytes()).unwrap();
        assert_eq!(o.pattern, Pattern::PcReader);
    }

    #[test]
    fn texts_of_an_offer_are_cleaned() {
        let mut a = answer_value("https://portal.example.jp", GOOD);
        a["service_name"] = json!({
            "ja": "\u{1b}[2J\u{1b}[1;1Hポータル\u{202E}lanigiro",
            "en": "\u{1b}]0;title\u{7}\u{1b}[2J\u{1b}[1;1HPortal\nPIN: "
        });
        a["purpose_text"] = json!({"ja": "本人\u{2066}確認\u{9b}", "en": "Verify\r\n\tnow"});
        a["pc_code"] = json!("K7\u{1b}[8mQ2");
        a["min_reader_version"] = json!("9\u{1b}[31m");
        let o = Offer::from_response(&link(true), PHONE, 200, a.to_string().as_bytes()).unwrap();
        assert_eq!(o.service_name.ja, "[2J[1;1Hポータルlanigiro");
        assert_eq!(o.service_name.en, "]0;title[2J[1;1HPortal PIN: ");
        assert_eq!(o.purpose_text.ja, "本人確認");
        assert_eq!(o.purpose_text.en, "Verify now");
        assert_eq!(o.pc_code.as_deref(), Some("K7[8mQ2"));
        assert_eq!(o.min_reader_version, "9[31m");
    }

    #[test]
    fn an_origin_must_be_a_plain_origin() {
        for bad in [
            "https://portal.example.jp\u{1b}[2J",
            "https://portal.example.jp/",
            "https://portal.example.jp/path",
            "https://user@portal.example.jp",
            "http://portal.example.jp",
            "https://p\u{202E}pj.elpmaxe",
            "javascript:alert(1)",
            "",
        ] {
            let e = Offer::from_response(&link(false), PHONE, 200, &answer(bad, GOOD)).unwrap_err();
            assert_eq!(e.code, "bad_answer", "{bad:?}");
        }
        for ok in [
            "https://portal.example.jp:8443",
            "http://127.0.0.1:3000",
            "http://localhost",
            "http://[::1]:80",
        ] {
            assert!(
                Offer::from_response(&link(false), PHONE, 200, &answer(ok, GOOD)).is_ok(),
                "{ok}"
            );
        }
    }

    #[test]
    fn server_errors_are_cleaned() {
        let hostile = json!({"error": {"code": "\u{1b}[2Jx", "message": {
            "ja": "\u{1b}[2J\u{1b}[1;1H期限切れ\u{202E}\nPIN:", "en": "\u{1b}]0;title\u{7}Expired\u{2067}"
        }}});
        let e = Offer::from_response(&link(true), PHONE, 410, hostile.to_string().as_bytes()).unwrap_err();
        assert_eq!(e.status, 410);
        assert_eq!(e.code, "server_error");
        assert_eq!(e.message.ja, "[2J[1;1H期限切れ PIN:");
        assert_eq!(e.message.en, "]0;titleExpired");
        let e = Offer::from_response(&link(true), PHONE, 500, b"<html>").unwrap_err();
        assert_eq!(e.code, "server_error");
    }

    fn submitted_offer() -> Offer {
        Offer::from_response(&link(true), PHONE, 200, &answer("https://portal.example.jp", GOOD)).unwrap()
    }

    #[test]
    fn submitted_return_url_must_be_the_servers() {
        let o = submitted_offer();
        let ok = br##"{"status":"verified","confirmation_code":"123456","return_url":"https://id.example.jp/return#xyz-_9"}"##;
        let s = o.submitted(200, ok).unwrap();
        assert_eq!(s.confirmation_code.as_deref(), Some("123456"));
        assert_eq!(s.return_url.as_deref(), Some("https://id.example.jp/return#xyz-_9"));
        for bad in [
            "https://evil.example/return#xyz",
            "https://id.example.jp.evil.example/return#xyz",
            "https://id.example.jp/return#",
            "https://id.example.jp/return#x\u{1b}[2J",
            "https://id.example.jp/return#x y",
            "https://id.example.jp/return#x&next=https://evil.example",
        ] {
            let body = json!({"status": "verified", "return_url": bad}).to_string();
            assert_eq!(
                o.submitted(200, body.as_bytes()).unwrap_err().code,
                "bad_answer",
                "{bad}"
            );
        }
    }

    #[test]
    fn a_confirmation_code_is_six_digits() {
        let o = submitted_offer();
        assert!(o.submitted(200, br#"{"status":"verified"}"#).is_ok());
        for bad in [
            "12345",
            "1234567",
            "12345a",
            "１２３４５６",
            "\u{1b}[2J1234",
            "123 456",
            "",
        ] {
            let body = json!({"status": "verified", "confirmation_code": bad}).to_string();
            assert_eq!(
                o.submitted(200, body.as_bytes()).unwrap_err().code,
                "bad_answer",
                "{bad:?}"
            );
        }
    }
}
