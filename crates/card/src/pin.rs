//! The card's three PINs, their rules, and the retry counter as the card reports it.
//!
//! A PIN value exists only inside a zeroizing buffer and is checked against its rules
//! before anything is sent: a malformed value that reached the card might cost a try
//! (whether the card checks the form first is unknown, `card-protocol.md` §4.3).

use std::fmt;

use zeroize::Zeroizing;

use crate::ids;

/// Which PIN of the card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PinKind {
    /// 券面事項入力補助用暗証番号: 4 digits, 3 tries, EF 0011 of the input-support AP.
    InputSupport,
    /// 利用者証明用暗証番号: 4 digits, 3 tries, EF 0018 of the JPKI AP.
    UserAuthentication,
    /// 署名用パスワード: 6-16 of A-Z and 0-9 with letters and digits, 5 tries, EF 001B.
    Signature,
}

impl PinKind {
    /// Tries after a reset (the counter's maximum).
    pub const fn max_tries(self) -> u8 {
        match self {
            PinKind::InputSupport | PinKind::UserAuthentication => 3,
            PinKind::Signature => 5,
        }
    }

    /// The PIN's EF in its application.
    pub const fn fid(self) -> u16 {
        match self {
            PinKind::InputSupport => ids::input_support::PIN,
            PinKind::UserAuthentication => ids::jpki::AUTH_PIN,
            PinKind::Signature => ids::jpki::SIGN_PIN,
        }
    }

    /// The application that holds this PIN.
    pub const fn application(self) -> Application {
        match self {
            PinKind::InputSupport => Application::InputSupport,
            PinKind::UserAuthentication | PinKind::Signature => Application::Jpki,
        }
    }
}

impl fmt::Display for PinKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PinKind::InputSupport => "input-support PIN",
            PinKind::UserAuthentication => "user-authentication PIN",
            PinKind::Signature => "signature password",
        })
    }
}

/// The applications mynaid talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Application {
    /// 公的個人認証AP.
    Jpki,
    /// 券面事項入力補助AP.
    InputSupport,
    /// 券面事項確認AP.
    Face,
}

impl Application {
    /// The DF name.
    pub const fn aid(self) -> &'static [u8; 10] {
        match self {
            Application::Jpki => &ids::AID_JPKI,
            Application::InputSupport => &ids::AID_INPUT_SUPPORT,
            Application::Face => &ids::AID_FACE,
        }
    }
}

impl fmt::Display for Application {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Application::Jpki => "JPKI AP",
            Application::InputSupport => "input-support AP",
            Application::Face => "card-face AP",
        })
    }
}

/// Why a PIN value was refused before it reached the card. Never contains the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PinFormatError {
    /// A 4-digit PIN that is not exactly 4 ASCII digits.
    #[error("the {kind} must be exactly 4 digits")]
    NotFourDigits {
        /// Which PIN.
        kind: PinKind,
    },
    /// A signature password shorter than 6 or longer than 16 characters.
    #[error("the signature password must be 6 to 16 characters long (got {len})")]
    PasswordLength {
        /// Characters given.
        len: usize,
    },
    /// A signature password with a character outside A-Z and 0-9.
    #[error("the signature password may contain only letters A-Z and digits 0-9")]
    PasswordCharacters,
    /// A signature password without both a letter and a digit.
    #[error("the signature password must contain both letters and digits")]
    PasswordNeedsLetterAndDigit,
}

/// A PIN value that passed its kind's rules, ready to be presented. Zeroized on drop;
/// `Debug` shows only the kind.
#[derive(Clone)]
pub struct Pin {
    kind: PinKind,
    bytes: Zeroizing<Vec<u8>>,
}

impl Pin {
    /// Checks `input` against the rules of `kind`. The signature password is uppercased
    /// (the official rule: lowercase input is converted); nothing else is changed.
    pub fn new(kind: PinKind, input: &str) -> Result<Pin, PinFormatError> {
        match kind {
            PinKind::InputSupport | PinKind::UserAuthentication => {
                if input.len() != 4 || !input.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(PinFormatError::NotFourDigits { kind });
                }
                Ok(Pin {
                    kind,
                    bytes: Zeroizing::new(input.as_bytes().to_vec()),
                })
            }
            PinKind::Signature => {
                let len = input.chars().count();
                if !(6..=16).contains(&len) {
                    return Err(PinFormatError::PasswordLength { len });
                }
                let upper = Zeroizing::new(input.to_ascii_uppercase().into_bytes());
                if !upper.iter().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()) {
                    return Err(PinFormatError::PasswordCharacters);
                }
                if !upper.iter().any(u8::is_ascii_digit) || !upper.iter().any(u8::is_ascii_uppercase) {
                    return Err(PinFormatError::PasswordNeedsLetterAndDigit);
                }
                Ok(Pin { kind, bytes: upper })
            }
        }
    }

    /// Which PIN this is.
    pub fn kind(&self) -> PinKind {
        self.kind
    }

    /// The same value as another PIN of the card, checked against that PIN's rules. Only
    /// for a choice the person made ("the same as the PIN I just typed"), never silently.
    pub fn same_value_as(&self, kind: PinKind) -> Result<Pin, PinFormatError> {
        // The bytes were checked as ASCII when this PIN was made.
        let text = Zeroizing::new(String::from_utf8_lossy(&self.bytes).into_owned());
        Pin::new(kind, &text)
    }

    /// The bytes the card compares (ASCII), in a zeroizing copy for the APDU.
    pub(crate) fn apdu_data(&self) -> Zeroizing<Vec<u8>> {
        self.bytes.clone()
    }
}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pin({}, REDACTED)", self.kind)
    }
}

/// The retry counter as the card reported it to a VERIFY with no data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryStatus {
    /// `63Cx` with x > 0: this many tries left.
    Remaining(u8),
    /// `63C0` (or `6984`): blocked; only the city office can unlock it.
    Blocked,
    /// `9000`: the card did not report a count; this PIN is already verified in the
    /// current session. Not the same as "0 tries" (a bug one peer has).
    NotReported,
}

impl RetryStatus {
    /// Whether the next wrong try would block the PIN.
    pub fn is_last_try(self) -> bool {
        self == RetryStatus::Remaining(1)
    }
}

/// Whether the person confirmed that they want to use the last try.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LastTry {
    /// Not confirmed: a VERIFY is refused when only one try is left.
    #[default]
    NotConfirmed,
    /// The person was warned that a wrong value blocks the PIN and chose to go on.
    Confirmed,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn four_digit_rules() {
        assert!(Pin::new(PinKind::InputSupport, "0000").is_ok());
        for bad in ["123", "12345", "12a4", "１２３４", " 123", ""] {
            assert_eq!(
                Pin::new(PinKind::UserAuthentication, bad).unwrap_err(),
                PinFormatError::NotFourDigits {
                    kind: PinKind::UserAuthentication
                },
                "{bad:?}"
            );
        }
    }

    #[test]
    fn password_rules() {
        let p = Pin::new(PinKind::Signature, "abc123").unwrap();
        assert_eq!(&p.apdu_data()[..], b"ABC123");
        assert_eq!(
            Pin::new(PinKind::Signature, "AB12").unwrap_err(),
            PinFormatError::PasswordLength { len: 4 }
        );
        assert_eq!(
            Pin::new(PinKind::Signature, "A1234567890123456").unwrap_err(),
            PinFormatError::PasswordLength { len: 17 }
        );
        assert!(Pin::new(PinKind::Signature, "A123456789012345").is_ok());
        assert_eq!(
            Pin::new(PinKind::Signature, "ABCDEF").unwrap_err(),
            PinFormatError::PasswordNeedsLetterAndDigit
        );
        assert_eq!(
            Pin::new(PinKind::Signature, "123456").unwrap_err(),
            PinFormatError::PasswordNeedsLetterAndDigit
        );
        assert_eq!(
            Pin::new(PinKind::Signature, "ABC-123").unwrap_err(),
            PinFormatError::PasswordCharacters
        );
        assert_eq!(
            Pin::new(PinKind::Signature, "ＡＢＣ１２３").unwrap_err(),
            PinFormatError::PasswordCharacters
        );
    }

    #[test]
    fn debug_hides_value() {
        let p = Pin::new(PinKind::Signature, "SECRET99").unwrap();
        let s = format!("{p:?}");
        assert!(!s.contains("SECRET") && !s.contains("99"), "{s}");
    }
}
