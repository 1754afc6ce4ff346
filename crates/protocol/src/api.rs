//! The messages of the reading-device API (`crates/server/openapi.json`): a reading device
//! redeems a one-time handle, reports what it is doing, and submits evidence. The server
//! serializes these types and the device core (`mynaid-device`) deserializes the same ones,
//! so the two cannot drift apart.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{Device, Pattern, Purpose, ReaderApp, ReaderStatus, Route, Text};

/// `POST /api/v1/handles/{handle}/redeem`: which app asks (for the minimum-version check).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedeemRequest {
    /// The reading device's app, if it says.
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub reader: Option<ReaderApp>,
    /// Which kind of device redeems: the server refuses a handle of a pattern meant for
    /// another kind, before the handle is used up.
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub device: Option<Device>,
}

/// An optional member that, when present, holds a value: `null` is refused like any other
/// wrong type (the schema says so; found by schemathesis).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// The answer to a redeem: who asks and why (shown before the PIN), what the card must sign,
/// and where the device sends its status and evidence. `Debug` leaves the submission token
/// out.
#[derive(Clone, Serialize, Deserialize)]
pub struct RedeemAnswer {
    /// The service's origin (shown to the person, and signed by the card).
    pub origin: String,
    /// The service's name.
    pub service_name: Text,
    /// Why the card is read.
    pub purpose: Purpose,
    /// The purpose in words.
    pub purpose_text: Text,
    /// The session's 32-byte challenge (unpadded base64url on the wire).
    #[serde(with = "b64_32")]
    pub challenge: [u8; 32],
    /// The session binding value the card signs (unpadded base64url on the wire).
    #[serde(with = "b64")]
    pub session_binding: Vec<u8>,
    /// Expiry, seconds since the epoch.
    pub expires_at: i64,
    /// The routes the service accepts. Names this device does not know are left out, so an
    /// older device still reads for a newer server with the routes it knows.
    #[serde(deserialize_with = "known_routes")]
    pub accepted_credentials: Vec<Route>,
    /// The oldest reader app version accepted.
    pub min_reader_version: String,
    /// Bearer token for submitting evidence and status for this handle.
    pub submission_token: String,
    /// Where to POST the evidence.
    pub evidence_url: String,
    /// Where to POST status reports.
    pub status_url: String,
    /// How the card is read (servers before the patterns did not say: the PC reader).
    #[serde(default = "pc_reader")]
    pub pattern: Pattern,
    /// Pattern 2: the code the PC page shows; the phone shows it too, before the PIN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pc_code: Option<String>,
}

impl fmt::Debug for RedeemAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RedeemAnswer({}, {}, {})", self.origin, self.purpose, self.pattern)
    }
}

fn pc_reader() -> Pattern {
    Pattern::PcReader
}

fn known_routes<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Route>, D::Error> {
    let names = Vec::<String>::deserialize(d)?;
    Ok(names.iter().filter_map(|n| n.parse().ok()).collect())
}

/// `POST /api/v1/handles/{handle}/status`: what the device is doing, for the page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusReport {
    /// The status.
    pub status: ReaderStatus,
    /// Tries left, when known (after a wrong PIN).
    #[serde(default)]
    pub tries_left: Option<u8>,
    /// Which PIN a `pin_wrong` or `pin_blocked` is about (the 4-digit route has two).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin: Option<crate::PinName>,
}

/// The answer to accepted evidence (`{"status": "verified", …}`; the HTTP status, not this
/// field, says that it was accepted).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename = "verified")]
pub struct Submitted {
    /// The code the person types on the page that started the procedure, in the browser
    /// where it started (every pattern: the fallback when the return below cannot reach it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmation_code: Option<String>,
    /// Where the app sends the person back, in the device's default browser
    /// (`…/return#<result handle>`): patterns 1 and 3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_url: Option<String>,
}

/// Every refusal of the API: `{"error": {"code": …, "message": {"ja": …, "en": …}}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// A stable code and what to tell the person (what happened, what to do next).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// Stable machine-readable code.
    pub code: String,
    /// What to tell the person.
    pub message: Text,
}

/// Unpadded base64url of bytes.
mod b64 {
    use super::*;

    pub(super) fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&URL_SAFE_NO_PAD.encode(v))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        URL_SAFE_NO_PAD
            .decode(text)
            .map_err(|_| serde::de::Error::custom("not unpadded base64url"))
    }
}

/// Unpadded base64url of exactly 32 bytes.
mod b64_32 {
    use super::*;

    pub(super) fn serialize<S: Serializer>(v: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        b64::serialize(v, s)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        b64::deserialize(d)?
            .try_into()
            .map_err(|_| serde::de::Error::custom("not 32 bytes"))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_redeem_request_says_its_device_or_nothing_but_never_null() {
        let r: RedeemRequest = serde_json::from_value(json!({ "device": "phone_app" })).unwrap();
        assert_eq!(r.device, Some(Device::PhoneApp));
        assert_eq!(
            serde_json::from_value::<RedeemRequest>(json!({})).unwrap(),
            RedeemRequest::default()
        );
        for bad in [
            json!({ "device": null }),
            json!({ "reader": null }),
            json!({ "device": "pc" }),
        ] {
            assert!(serde_json::from_value::<RedeemRequest>(bad.clone()).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_redeem_answer_round_trips_and_skips_routes_it_does_not_know() {
        let wire = json!({
            "origin": "https://portal.example.jp", "service_name": {"ja": "ポータル", "en": "Portal"},
            "purpose": "verify_identity", "purpose_text": {"ja": "本人確認", "en": "Verify"},
            "challenge": URL_SAFE_NO_PAD.encode([1u8; 32]), "session_binding": URL_SAFE_NO_PAD.encode([2u8; 16]),
            "expires_at": 10, "accepted_credentials": ["user_authentication", "future_route", "signature"],
            "min_reader_version": "0.0.1", "submission_token": "secret-token", "evidence_url": "e", "status_url": "s"
        });
        let a: RedeemAnswer = serde_json::from_value(wire).unwrap();
        assert_eq!(a.accepted_credentials, [Route::UserAuthentication, Route::Signature]);
        assert_eq!(a.pattern, Pattern::PcReader, "an older server did not say");
        assert_eq!(a.challenge, [1u8; 32]);
        assert!(!format!("{a:?}").contains("secret-token"));
        let back = serde_json::to_value(&a).unwrap();
        assert_eq!(back["challenge"], URL_SAFE_NO_PAD.encode([1u8; 32]));
        assert_eq!(back["pattern"], "pc_reader");
        let short = json!({ "challenge": URL_SAFE_NO_PAD.encode([1u8; 31]) });
        assert!(b64_32::deserialize(&short["challenge"]).is_err());
    }

    #[test]
    fn submitted_says_verified() {
        let s = Submitted {
            confirmation_code: Some("123456".into()),
            return_url: None,
        };
        let text = serde_json::to_string(&s).unwrap();
        assert_eq!(text, r#"{"status":"verified","confirmation_code":"123456"}"#);
        assert_eq!(serde_json::from_str::<Submitted>(&text).unwrap(), s);
    }

    #[test]
    fn status_reports_name_known_statuses_only() {
        let r: StatusReport = serde_json::from_str(r#"{"status":"pin_wrong","tries_left":2}"#).unwrap();
        assert_eq!(r.status, ReaderStatus::PinWrong);
        assert!(serde_json::from_str::<StatusReport>(r#"{"status":"hacked"}"#).is_err());
        assert!(serde_json::from_str::<StatusReport>(r#"{"status":"reading","x":1}"#).is_err());
    }
}
