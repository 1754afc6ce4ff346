//! JPKI AP EF 0006 (token info) and EF 0008 (which certificates exist), `card-protocol.md` §3.1.

use super::{Field, Format, FormatError, FormatErrorKind};

/// The token information (a PKCS#11 `CK_TOKEN_INFO`, 160 bytes). Only the label matters:
/// `JPKIAPICCTOKEN2` on a My Number Card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    /// The label with its space padding removed.
    pub label: String,
}

impl TokenInfo {
    /// The label of a My Number Card's JPKI token.
    pub const MY_NUMBER_CARD: &'static str = "JPKIAPICCTOKEN2";

    /// Parses EF 0006 (at least the 32-byte label).
    pub fn parse(raw: &[u8]) -> Result<TokenInfo, FormatError> {
        let label = raw.get(..32).ok_or(FormatError::new(
            Format::TokenInfo,
            0,
            FormatErrorKind::WrongLength {
                field: Field::Label,
                expected: 32,
                actual: raw.len(),
            },
        ))?;
        if !label.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
            return Err(FormatError::new(
                Format::TokenInfo,
                0,
                FormatErrorKind::NotUtf8(Field::Label),
            ));
        }
        let text = String::from_utf8_lossy(label).trim_end().to_string();
        Ok(TokenInfo { label: text })
    }
}

/// Which JPKI certificates were issued on this card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CertAvailability {
    /// The signature certificate (not issued to children under 15, for example).
    pub signature: bool,
    /// The user-authentication certificate.
    pub authentication: bool,
}

impl CertAvailability {
    /// Parses EF 0008: 3 bytes, `8F 8F 00` when both exist; byte 0 the signature
    /// certificate, byte 1 the authentication certificate, `00` when absent.
    pub fn parse(raw: &[u8]) -> Result<CertAvailability, FormatError> {
        let [sig, auth, ..] = raw else {
            return Err(FormatError::new(
                Format::CertAvailability,
                0,
                FormatErrorKind::WrongLength {
                    field: Field::Body,
                    expected: 3,
                    actual: raw.len(),
                },
            ));
        };
        Ok(CertAvailability {
            signature: *sig != 0,
            authentication: *auth != 0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token() {
        let mut raw = b"JPKIAPICCTOKEN2".to_vec();
        raw.resize(32, b' ');
        raw.resize(160, 0);
        assert_eq!(TokenInfo::parse(&raw).unwrap().label, TokenInfo::MY_NUMBER_CARD);
        assert!(TokenInfo::parse(&raw[..20]).is_err());
        raw[3] = 0x01;
        assert!(TokenInfo::parse(&raw).is_err());
    }

    #[test]
    fn availability() {
        assert_eq!(
            CertAvailability::parse(&[0x8F, 0x8F, 0]).unwrap(),
            CertAvailability {
                signature: true,
                authentication: true
            }
        );
        assert!(!CertAvailability::parse(&[0, 0x8F, 0]).unwrap().signature);
        assert!(CertAvailability::parse(&[0x8F]).is_err());
    }
}
