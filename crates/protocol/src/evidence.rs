//! The evidence document: what a reading device (the PC reader app or the phone app) sends
//! after reading a card. Format `mynaid-evidence/2`, specified in `docs/evidence.md`.
//!
//! JSON, binary fields in unpadded base64url, unknown fields refused, whole document at most
//! [`MAX_DOCUMENT_BYTES`]. The document carries only what the card produced; the values the
//! signature is bound to (origin, challenge, session, purpose) are *not* in it: the verifier
//! takes them from the server's own records.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::Route;

/// The format tag of this version.
pub const FORMAT: &str = "mynaid-evidence/2";
/// The largest document accepted, in bytes (a real one is 3-5 KiB).
pub const MAX_DOCUMENT_BYTES: usize = 16 * 1024;
/// The largest certificate accepted, in bytes (JPKI certificates are about 1.5-2 KiB).
pub const MAX_CERTIFICATE_BYTES: usize = 4096;
/// The largest input-support record accepted, in bytes (the largest, EF 0004, is 568).
pub const MAX_RECORD_BYTES: usize = 2048;

/// Which reading device made the document, for the minimum-version check and support.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReaderApp {
    /// `mynaid-reader` (PC) or `mynaid-phone`.
    pub name: String,
    /// Semantic version, e.g. `0.1.0`.
    pub version: String,
}

/// What the card produced, per route.
#[derive(Clone, PartialEq, Eq)]
pub enum Body {
    /// The signature password route: the JPKI signature certificate and the signature key's
    /// signature over the to-be-signed value.
    Signature {
        /// DER of the signature certificate (EF 0001 of the JPKI AP). It names the person:
        /// zeroized on drop.
        certificate: Zeroizing<Vec<u8>>,
        /// 256-byte PKCS#1 v1.5 signature.
        signature: Vec<u8>,
    },
    /// The 4-digit PIN route: the JPKI user-authentication certificate and its key's
    /// signature over the to-be-signed value, with the input-support AP's records.
    UserAuthentication {
        /// DER of the user-authentication certificate (EF 000A of the JPKI AP). Names no
        /// person, but is the same at every service: zeroized on drop.
        certificate: Zeroizing<Vec<u8>>,
        /// The user-authentication key's 256-byte PKCS#1 v1.5 signature.
        signature: Vec<u8>,
        /// EF 0002, 基本4情報: zeroized on drop.
        basic_info: Zeroizing<Vec<u8>>,
        /// EF 0003, the integrity record. Holds DF31 (the Individual Number in disguise):
        /// zeroized on drop, never logged.
        integrity_record: Zeroizing<Vec<u8>>,
        /// EF 0004, the CV certificate.
        cv_certificate: Vec<u8>,
    },
}

/// A parsed evidence document. `Debug` shows its shape, never its content.
#[derive(Clone, PartialEq, Eq)]
pub struct Evidence {
    /// The reading device, if it said.
    pub reader: Option<ReaderApp>,
    /// What the card produced.
    pub body: Body,
}

impl fmt::Debug for Evidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Evidence({}, reader {:?}, REDACTED)", self.route(), self.reader)
    }
}

impl Body {
    /// The route that produced it.
    pub fn route(&self) -> Route {
        match self {
            Body::Signature { .. } => Route::Signature,
            Body::UserAuthentication { .. } => Route::UserAuthentication,
        }
    }
}

/// Why a document was refused before any cryptography.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DocumentError {
    /// More than [`MAX_DOCUMENT_BYTES`].
    #[error("the evidence document is {len} bytes; at most {MAX_DOCUMENT_BYTES} are accepted")]
    TooLarge {
        /// Bytes received.
        len: usize,
    },
    /// Not JSON of this format (the message names the field and position, never content).
    #[error("the evidence document is not valid: {0}")]
    Malformed(String),
    /// A `format` other than [`FORMAT`].
    #[error("unsupported evidence format {0:?} (this server accepts {FORMAT})")]
    UnsupportedFormat(String),
    /// A `route` other than `signature` or `user_authentication`.
    #[error("unknown route {0:?}")]
    UnknownRoute(String),
    /// A field the route needs is missing.
    #[error("the field {0} is required for this route")]
    Missing(&'static str),
    /// A field that does not belong to the route.
    #[error("the field {0} does not belong to this route")]
    Unexpected(&'static str),
    /// A binary field that is not unpadded base64url.
    #[error("the field {0} is not base64url")]
    NotBase64(&'static str),
    /// A binary field longer than its limit.
    #[error("the field {field} is {len} bytes; at most {max} are accepted")]
    FieldTooLarge {
        /// The field.
        field: &'static str,
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A reader app name or version that is too long or not printable.
    #[error("the reader field is not a short printable name and version")]
    BadReader,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    format: String,
    route: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reader: Option<ReaderApp>,
    signature: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    certificate: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    basic_info: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    integrity_record: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cv_certificate: Option<String>,
}

fn decode(field: &'static str, text: &str, max: usize) -> Result<Vec<u8>, DocumentError> {
    // Check the encoded length first so a huge field is refused before it is decoded.
    if text.len() > max.div_ceil(3) * 4 {
        return Err(DocumentError::FieldTooLarge {
            field,
            len: text.len() / 4 * 3,
            max,
        });
    }
    let bytes = URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| DocumentError::NotBase64(field))?;
    if bytes.len() > max {
        return Err(DocumentError::FieldTooLarge {
            field,
            len: bytes.len(),
            max,
        });
    }
    Ok(bytes)
}

fn required(field: &'static str, v: Option<String>, max: usize) -> Result<Vec<u8>, DocumentError> {
    decode(field, &v.ok_or(DocumentError::Missing(field))?, max)
}

fn encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

impl Evidence {
    /// Parses a document, enforcing the size limits before and after decoding.
    pub fn parse(json: &[u8]) -> Result<Evidence, DocumentError> {
        if json.len() > MAX_DOCUMENT_BYTES {
            return Err(DocumentError::TooLarge { len: json.len() });
        }
        let wire: Wire = serde_json::from_slice(json).map_err(|e| {
            // serde_json's message names the field and the position; with
            // deny_unknown_fields it never quotes a value.
            DocumentError::Malformed(format!("{} at line {} column {}", classify(&e), e.line(), e.column()))
        })?;
        if wire.format != FORMAT {
            return Err(DocumentError::UnsupportedFormat(safe(&wire.format)));
        }
        if let Some(r) = &wire.reader {
            let ok = |s: &str, max: usize| !s.is_empty() && s.len() <= max && s.bytes().all(|b| b.is_ascii_graphic());
            if !ok(&r.name, 64) || !ok(&r.version, 32) {
                return Err(DocumentError::BadReader);
            }
        }
        let signature = decode("signature", &wire.signature, 512)?;
        let route: Route = wire
            .route
            .parse()
            .map_err(|_| DocumentError::UnknownRoute(safe(&wire.route)))?;
        let body = match route {
            Route::Signature => {
                for (name, v) in [
                    ("basic_info", &wire.basic_info),
                    ("integrity_record", &wire.integrity_record),
                    ("cv_certificate", &wire.cv_certificate),
                ] {
                    if v.is_some() {
                        return Err(DocumentError::Unexpected(name));
                    }
                }
                Body::Signature {
                    certificate: required("certificate", wire.certificate, MAX_CERTIFICATE_BYTES)?.into(),
                    signature,
                }
            }
            Route::UserAuthentication => Body::UserAuthentication {
                certificate: required("certificate", wire.certificate, MAX_CERTIFICATE_BYTES)?.into(),
                basic_info: required("basic_info", wire.basic_info, MAX_RECORD_BYTES)?.into(),
                integrity_record: Zeroizing::new(required(
                    "integrity_record",
                    wire.integrity_record,
                    MAX_RECORD_BYTES,
                )?),
                cv_certificate: required("cv_certificate", wire.cv_certificate, MAX_RECORD_BYTES)?,
                signature,
            },
        };
        Ok(Evidence {
            reader: wire.reader,
            body,
        })
    }

    /// The document as JSON (what a reading device sends).
    pub fn to_json(&self) -> String {
        let mut wire = Wire {
            format: FORMAT.to_string(),
            route: self.route().as_str().to_string(),
            reader: self.reader.clone(),
            signature: String::new(),
            certificate: None,
            basic_info: None,
            integrity_record: None,
            cv_certificate: None,
        };
        match &self.body {
            Body::Signature { certificate, signature } => {
                wire.certificate = Some(encode(certificate));
                wire.signature = encode(signature);
            }
            Body::UserAuthentication {
                certificate,
                signature,
                basic_info,
                integrity_record,
                cv_certificate,
            } => {
                wire.certificate = Some(encode(certificate));
                wire.basic_info = Some(encode(basic_info));
                wire.integrity_record = Some(encode(integrity_record));
                wire.cv_certificate = Some(encode(cv_certificate));
                wire.signature = encode(signature);
            }
        }
        // Serializing plain strings cannot fail.
        serde_json::to_string(&wire).unwrap_or_default()
    }

    /// The route that produced it.
    pub fn route(&self) -> Route {
        self.body.route()
    }
}

/// A client-chosen token as it may appear in an error (and so in a log): short, and only
/// from a plain alphabet, so a document cannot write personal data or line breaks there.
fn safe(text: &str) -> String {
    let ok = !text.is_empty()
        && text.len() <= 40
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'/' | b'-'));
    if ok {
        text.to_string()
    } else {
        "<not shown>".to_string()
    }
}

fn classify(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    match e.classify() {
        Category::Syntax | Category::Eof | Category::Io => "not well-formed JSON".to_string(),
        // Data errors name a field ("unknown field `x`", "missing field `y`", "invalid type").
        // Strip anything quoted after "invalid value"/"invalid type" to keep content out.
        Category::Data => {
            // The message would quote the client's key for an unknown field: name only
            // what this format defines (missing fields), never what the client sent.
            let msg = e.to_string();
            if msg.starts_with("unknown field") {
                "an unknown field".to_string()
            } else if let Some(rest) = msg.strip_prefix("missing field `") {
                format!("missing field {}", safe(rest.split('`').next().unwrap_or_default()))
            } else {
                "a field has the wrong type".to_string()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Evidence {
        Evidence {
            reader: Some(ReaderApp {
                name: "mynaid-reader".into(),
                version: "0.1.0".into(),
            }),
            body: Body::Signature {
                certificate: vec![0x30, 0x82, 1, 2].into(),
                signature: vec![7; 256],
            },
        }
    }

    #[test]
    fn round_trip() {
        let e = sample();
        let json = e.to_json();
        assert!(json.contains("\"route\":\"signature\""), "{json}");
        assert_eq!(Evidence::parse(json.as_bytes()).unwrap(), e);
        let is = Evidence {
            reader: None,
            body: Body::UserAuthentication {
                certificate: vec![0x30, 0x82, 4].into(),
                signature: vec![5],
                basic_info: vec![1].into(),
                integrity_record: Zeroizing::new(vec![2]),
                cv_certificate: vec![3],
            },
        };
        assert_eq!(Evidence::parse(is.to_json().as_bytes()).unwrap(), is);
        assert!(!format!("{is:?}").contains('5'));
    }

    #[test]
    fn refusals() {
        let json = sample().to_json();
        let with = |from: &str, to: &str| json.replacen(from, to, 1);
        assert!(matches!(
            Evidence::parse(&vec![b' '; MAX_DOCUMENT_BYTES + 1]),
            Err(DocumentError::TooLarge { .. })
        ));
        assert!(matches!(Evidence::parse(b"{"), Err(DocumentError::Malformed(_))));
        assert!(matches!(
            Evidence::parse(with("mynaid-evidence/2", "mynaid-evidence/9").as_bytes()),
            Err(DocumentError::UnsupportedFormat(_))
        ));
        assert!(matches!(
            Evidence::parse(with("\"route\":\"signature\"", "\"route\":\"other\"").as_bytes()),
            Err(DocumentError::UnknownRoute(_))
        ));
        let e = Evidence::parse(with("\"format\"", "\"secret\":\"1234\",\"format\"").as_bytes()).unwrap_err();
        assert!(
            matches!(&e, DocumentError::Malformed(m) if m.contains("unknown field") && !m.contains("1234")),
            "{e}"
        );
        assert_eq!(
            Evidence::parse(with("\"route\":\"signature\"", "\"route\":\"user_authentication\"").as_bytes())
                .unwrap_err(),
            DocumentError::Missing("basic_info")
        );
        // The PIN-less route of earlier versions is gone: its documents are refused by name.
        assert!(matches!(
            Evidence::parse(with("\"route\":\"signature\"", "\"route\":\"input_support\"").as_bytes()),
            Err(DocumentError::UnknownRoute(_))
        ));
        assert_eq!(
            Evidence::parse(with("\"signature\":\"", "\"signature\":\"!!").as_bytes()).unwrap_err(),
            DocumentError::NotBase64("signature")
        );
        let big = format!(
            "{{\"format\":\"{FORMAT}\",\"route\":\"signature\",\"signature\":\"AA\",\"certificate\":\"{}\"}}",
            "A".repeat(6000)
        );
        assert!(matches!(
            Evidence::parse(big.as_bytes()),
            Err(DocumentError::FieldTooLarge {
                field: "certificate",
                ..
            })
        ));
        let bad_reader = with("mynaid-reader", "my reader\u{0007}");
        assert!(Evidence::parse(bad_reader.as_bytes()).is_err());
    }
}
