//! The domain's names. Each is an enum with exactly one spelling per value, used on the
//! wire (serde), in the configuration, in the database and in logs: [`named_enum!`] writes
//! the spelling once and derives the rest from it.

use serde::{Deserialize, Serialize};

/// A spelling that names no value of the enum.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a known {kind}")]
pub struct UnknownName {
    /// Which enum.
    pub kind: &'static str,
}

/// Defines an enum whose values each have one spelling, with `ALL`, `as_str`, `FromStr`,
/// `Display` and serde (as that spelling) derived from it. Other crates of mynaid use it for
/// their own names (a session's state, why it failed).
#[macro_export]
macro_rules! named_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $spelling:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The one spelling of this value.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $spelling,)+
                }
            }
        }

        impl ::core::str::FromStr for $name {
            type Err = $crate::UnknownName;

            fn from_str(s: &str) -> ::core::result::Result<Self, Self::Err> {
                match s {
                    $($spelling => Ok($name::$variant),)+
                    _ => Err($crate::UnknownName { kind: stringify!($name) }),
                }
            }
        }

        impl ::core::fmt::Display for $name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl $crate::__serde::Serialize for $name {
            fn serialize<S: $crate::__serde::Serializer>(&self, s: S) -> ::core::result::Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> $crate::__serde::Deserialize<'de> for $name {
            fn deserialize<D: $crate::__serde::Deserializer<'de>>(d: D) -> ::core::result::Result<Self, D::Error> {
                let s = <::std::borrow::Cow<'de, str> as $crate::__serde::Deserialize>::deserialize(d)?;
                s.parse()
                    .map_err(|_| <D::Error as $crate::__serde::de::Error>::unknown_variant(&s, &[$($spelling),+]))
            }
        }
    };
}

named_enum! {
    /// Which evidence route a reading takes: which PIN the person types and what the server
    /// then checks (`docs/evidence.md`).
    pub enum Route {
        /// The 4-digit PINs: the JPKI user-authentication certificate proven by a live
        /// signature after its PIN, with the issuer-signed card-face records of the
        /// input-support AP (read with that AP's PIN), which the issuer does not bind to
        /// the certificate.
        UserAuthentication = "user_authentication",
        /// The 6-16 character signature password: the JPKI signature certificate, bound to
        /// the card's key by the certificate.
        Signature = "signature",
    }
}

named_enum! {
    /// Why the card is read.
    pub enum Purpose {
        /// Link the card to an account.
        LinkCard = "link_card",
        /// Verify the person's identity.
        VerifyIdentity = "verify_identity",
    }
}

impl Purpose {
    /// Shown to the person, Japanese. `link_card` is also what a relying party asks for to
    /// sign a person in with a card linked before (the same evidence, the same card-link id),
    /// so its words say both.
    pub fn ja(self) -> &'static str {
        match self {
            Purpose::LinkCard => "マイナンバーカードとアカウントの連携、または連携済みのカードでのサインイン",
            Purpose::VerifyIdentity => "本人確認",
        }
    }

    /// Shown to the person, English.
    pub fn en(self) -> &'static str {
        match self {
            Purpose::LinkCard => "Link your My Number Card to your account, or sign in with a card linked before",
            Purpose::VerifyIdentity => "Verify your identity",
        }
    }

    /// Shown to the person, in both languages.
    pub fn text(self) -> Text {
        Text::new(self.ja(), self.en())
    }

    /// The routes a service accepts for this purpose when it configures none: proving who
    /// somebody is takes the signature route (the only one of AML grade); linking a card
    /// to an account, or signing in with it, either.
    pub fn default_routes(self) -> &'static [Route] {
        match self {
            Purpose::VerifyIdentity => &[Route::Signature],
            Purpose::LinkCard => &[Route::UserAuthentication, Route::Signature],
        }
    }
}

impl Route {
    /// What a result of this route proves, as an OpenID Connect `acr` value
    /// (docs/oidc.md "Assurance").
    pub fn acr(self) -> &'static str {
        match self {
            Route::Signature => ACR_JPKI_SIGNATURE,
            Route::UserAuthentication => ACR_JPKI_USER_AUTHENTICATION,
        }
    }

    /// How the person authenticated, as RFC 8176 `amr` values: a smart card (`sc`) whose
    /// hardware key signed (`hwk`) after the PIN or password that unlocks it (`pin`; RFC
    /// 8176 counts a password that unlocks a key on a device as one), two factors in all
    /// (`mfa`: the card held, the PIN known).
    pub fn amr(self) -> &'static [&'static str] {
        match self {
            Route::Signature | Route::UserAuthentication => &["hwk", "mfa", "pin", "sc"],
        }
    }

    /// The card's PINs this route presents, in the order it presents them.
    pub fn pins(self) -> &'static [PinName] {
        match self {
            Route::Signature => &[PinName::SignaturePassword],
            Route::UserAuthentication => &[PinName::UserAuthenticationPin, PinName::InputSupportPin],
        }
    }

    /// The route an `acr` value names, if it is one of ours.
    pub fn of_acr(acr: &str) -> Option<Route> {
        Route::ALL.iter().copied().find(|r| r.acr() == acr)
    }
}

/// `acr` of the signature route: the person proved the signature password to their card;
/// the four items are inside the signature certificate, its chain to J-LIS and its
/// revocation checked (what Japan's AML rules call the JPKI method).
pub const ACR_JPKI_SIGNATURE: &str = "urn:mynaid:acr:jpki-signature";
/// `acr` of the user-authentication route: the holder proved the 4-digit PIN to a card
/// whose JPKI user-authentication certificate is valid and unrevoked (a live signature over
/// this session's value); the four items are the issuer-signed records of that card's kind,
/// presented with it but not bound to that certificate by the issuer.
pub const ACR_JPKI_USER_AUTHENTICATION: &str = "urn:mynaid:acr:jpki-user-authentication";

named_enum! {
    /// A PIN of the card, as the pages and the apps name it to the person.
    pub enum PinName {
        /// 利用者証明用電子証明書の暗証番号 (4 digits, 3 tries).
        UserAuthenticationPin = "user_authentication_pin",
        /// 券面事項入力補助用暗証番号 (4 digits, 3 tries).
        InputSupportPin = "input_support_pin",
        /// 署名用電子証明書のパスワード (6-16 characters, 5 tries).
        SignaturePassword = "signature_password",
    }
}

impl PinName {
    /// What the card's papers call it, in the person's language.
    pub fn text(self) -> Text {
        match self {
            PinName::UserAuthenticationPin => Text::new(
                "利用者証明用電子証明書の暗証番号（数字4桁）",
                "user-authentication certificate PIN (4 digits)",
            ),
            PinName::InputSupportPin => Text::new(
                "券面事項入力補助用暗証番号（数字4桁）",
                "card-info input-support PIN (4 digits)",
            ),
            PinName::SignaturePassword => Text::new(
                "署名用電子証明書のパスワード（英数字6〜16文字）",
                "signature certificate password (6 to 16 letters and digits)",
            ),
        }
    }

    /// Where a locked one is unlocked (reset): the user-authentication PIN and the signature
    /// password each with the other at a convenience store's kiosk, or at the city office;
    /// the input-support PIN only at the city office.
    pub fn where_to_unlock(self) -> Text {
        match self {
            PinName::SignaturePassword => Text::new(
                "住民票のある市区町村の窓口で初期化の手続きをしてください。利用者証明用電子証明書の暗証番号（数字4桁）が分かれば、コンビニのキオスク端末（マルチコピー機）でも初期化できます。",
                "Ask your city office to reset it; with your 4-digit user-authentication PIN you can also reset it at a convenience-store kiosk (multi-copy machine).",
            ),
            PinName::UserAuthenticationPin => Text::new(
                "住民票のある市区町村の窓口で初期化の手続きをしてください。署名用電子証明書のパスワードが分かれば、コンビニのキオスク端末（マルチコピー機）でも初期化できます。",
                "Ask your city office to reset it; with your signature password you can also reset it at a convenience-store kiosk (multi-copy machine).",
            ),
            PinName::InputSupportPin => Text::new(
                "住民票のある市区町村の窓口でロック解除（初期化）の手続きをしてください（この暗証番号はコンビニでは初期化できません）。",
                "Ask your city office (where you are registered) to unlock it; this PIN cannot be reset at a convenience store.",
            ),
        }
    }

    /// The route this PIN belongs to.
    pub fn route(self) -> Route {
        match self {
            PinName::SignaturePassword => Route::Signature,
            PinName::UserAuthenticationPin | PinName::InputSupportPin => Route::UserAuthentication,
        }
    }

    /// Tries after a reset.
    pub fn max_tries(self) -> u8 {
        match self {
            PinName::UserAuthenticationPin | PinName::InputSupportPin => 3,
            PinName::SignaturePassword => 5,
        }
    }
}

named_enum! {
    /// How the card is read: the three patterns of the procedure page.
    pub enum Pattern {
        /// 1: this PC's browser and the reader app with an IC card reader.
        PcReader = "pc_reader",
        /// 2: the PC's browser shows a QR code; a smartphone reads the card.
        CrossDevice = "cross_device",
        /// 3: the smartphone's browser hands off to the app on the same phone.
        SameDevice = "same_device",
    }
}

impl Pattern {
    /// The kind of reading device this pattern is for: an offer of another pattern is a link
    /// that reached the wrong device (somebody else chose the pattern), and is refused.
    pub fn device(self) -> Device {
        match self {
            Pattern::PcReader => Device::PcReaderApp,
            Pattern::CrossDevice | Pattern::SameDevice => Device::PhoneApp,
        }
    }
}

named_enum! {
    /// A kind of reading device: it says which it is when redeeming a handle.
    pub enum Device {
        /// The PC reader app (`mynaid read`, pattern 1).
        PcReaderApp = "pc_reader_app",
        /// The smartphone app (patterns 2 and 3).
        PhoneApp = "phone_app",
    }
}

named_enum! {
    /// What the reading device says it is doing, for the page (untrusted: shown, never acted
    /// on).
    pub enum ReaderStatus {
        /// Reading the card (after the PIN was typed).
        Reading = "reading",
        /// The PIN was wrong (one try used).
        PinWrong = "pin_wrong",
        /// The PIN is blocked.
        PinBlocked = "pin_blocked",
        /// The card was taken away.
        CardRemoved = "card_removed",
        /// No card on the reader or at the phone.
        NoCard = "no_card",
        /// The card is not a My Number Card.
        NotMyNumberCard = "not_my_number_card",
        /// The card has no signature certificate (the password route cannot work).
        NoSignatureCertificate = "no_signature_certificate",
        /// The person cancelled; nothing was sent to the card.
        Cancelled = "cancelled",
        /// The card reader failed.
        ReaderError = "reader_error",
        /// The card answered, but its data could not be read correctly (a damaged card, or
        /// not a valid My Number Card): putting it back does not help.
        CardUnreadable = "card_unreadable",
    }
}

named_enum! {
    /// The language of what a person reads: Japanese first, English second.
    #[derive(Default)]
    pub enum Lang {
        /// 日本語 (the default).
        #[default]
        Ja = "ja",
        /// English.
        En = "en",
    }
}

impl Lang {
    /// The text of this language.
    pub fn pick<T>(self, ja: T, en: T) -> T {
        match self {
            Lang::Ja => ja,
            Lang::En => en,
        }
    }
}

/// A text in both languages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Text {
    /// Japanese.
    pub ja: String,
    /// English.
    pub en: String,
}

impl Text {
    /// A text from its two languages.
    pub fn new(ja: impl Into<String>, en: impl Into<String>) -> Text {
        Text {
            ja: ja.into(),
            en: en.into(),
        }
    }

    /// The text in `lang`.
    pub fn get(&self, lang: Lang) -> &str {
        lang.pick(&self.ja, &self.en)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_spelling_everywhere() {
        for r in Route::ALL {
            assert_eq!(r.as_str().parse::<Route>(), Ok(*r));
            assert_eq!(serde_json::to_string(r).unwrap(), format!("\"{r}\""));
            assert_eq!(serde_json::from_str::<Route>(&format!("\"{r}\"")).unwrap(), *r);
        }
        assert_eq!(Pattern::CrossDevice.as_str(), "cross_device");
        assert_eq!("link_card".parse(), Ok(Purpose::LinkCard));
        assert!("LinkCard".parse::<Purpose>().is_err());
        assert!(serde_json::from_str::<Purpose>("\"other\"").is_err());
        assert_eq!(Pattern::SameDevice.device(), Device::PhoneApp);
        for r in Route::ALL {
            assert_eq!(Route::of_acr(r.acr()), Some(*r));
            assert!(r.amr().contains(&"sc"));
        }
        assert_eq!(Route::of_acr("urn:other"), None);
        assert_eq!(Purpose::VerifyIdentity.default_routes(), [Route::Signature]);
        assert_eq!(Pattern::PcReader.device(), Device::PcReaderApp);
        assert_eq!(Text::new("日本語", "English").get(Lang::En), "English");
    }
}
