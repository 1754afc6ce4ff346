//! Reading the card for a session: the same guarded sequence on every device.

use mynaid_card::formats::{Date, Sex};
use mynaid_card::transport::CardTransport;
use mynaid_card::{CardError, FourDigitPins, LastTries, LastTry, Pin, PinKind, RetryStatus, Session, Step, routes};
use mynaid_protocol::{Body, Route};

/// The card's PINs a route presents, in the order it presents them: the 4-digit route has
/// two, each with its own counter.
pub fn pin_kinds(route: Route) -> &'static [PinKind] {
    match route {
        Route::UserAuthentication => &[PinKind::UserAuthentication, PinKind::InputSupport],
        Route::Signature => &[PinKind::Signature],
    }
}

/// How the pages and apps name a card PIN.
pub fn pin_name(kind: PinKind) -> mynaid_protocol::PinName {
    use mynaid_protocol::PinName;
    match kind {
        PinKind::UserAuthentication => PinName::UserAuthenticationPin,
        PinKind::InputSupport => PinName::InputSupportPin,
        PinKind::Signature => PinName::SignaturePassword,
    }
}

/// What the person gave for a route, and whether they confirmed a last try of each PIN.
#[derive(Debug, Clone)]
pub enum Credentials {
    /// The 6-16 character signature password.
    Password {
        /// The password.
        password: Pin,
        /// Confirmation of its last try.
        last_try: LastTry,
    },
    /// The two 4-digit PINs (the input-support one possibly chosen as "the same").
    FourDigit {
        /// Both PINs.
        pins: FourDigitPins,
        /// Confirmation of each one's last try.
        last_tries: LastTries,
    },
}

impl Credentials {
    /// The route these credentials are for.
    pub fn route(&self) -> Route {
        match self {
            Credentials::Password { .. } => Route::Signature,
            Credentials::FourDigit { .. } => Route::UserAuthentication,
        }
    }
}

/// The card face as read (for a stand-alone read; a server takes only the evidence).
#[derive(Clone)]
pub struct Face {
    /// 氏名.
    pub name: String,
    /// 住所.
    pub address: String,
    /// 生年月日.
    pub birth_date: Date,
    /// 性別.
    pub sex: Sex,
}

impl std::fmt::Debug for Face {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Face(REDACTED)")
    }
}

/// What the card produced. `Debug` shows no content.
pub struct Reading {
    /// The evidence body.
    pub body: Body,
    /// The face, parsed.
    pub face: Face,
}

impl std::fmt::Debug for Reading {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Reading(REDACTED)")
    }
}

/// Asks the tries left of every PIN the route presents (spends nothing), in the route's
/// order. Show them all before asking for any.
pub fn pin_statuses<T: CardTransport>(transport: T, route: Route) -> Result<Vec<(PinKind, RetryStatus)>, CardError> {
    let mut session = Session::new(transport);
    pin_kinds(route)
        .iter()
        .map(|kind| Ok((*kind, routes::pin_status(&mut session, *kind)?)))
        .collect()
}

/// The first blocked PIN among `statuses`: the route cannot finish, so nothing is asked.
pub fn blocked_pin(statuses: &[(PinKind, RetryStatus)]) -> Option<PinKind> {
    statuses
        .iter()
        .find(|(_, s)| *s == RetryStatus::Blocked)
        .map(|(kind, _)| *kind)
}

/// Reads the card with one guarded VERIFY per PIN and has it sign `to_be_signed`.
pub fn read<T: CardTransport>(
    transport: T,
    credentials: &Credentials,
    to_be_signed: &[u8; 32],
    progress: &mut dyn FnMut(Step),
) -> Result<Reading, CardError> {
    let mut session = Session::new(transport);
    match credentials {
        Credentials::FourDigit { pins, last_tries } => {
            let r = routes::read_user_authentication(&mut session, pins, *last_tries, to_be_signed, progress)?;
            let b = r.basic_info;
            Ok(Reading {
                face: Face {
                    name: b.name.into_inner(),
                    address: b.address.into_inner(),
                    birth_date: b.birth_date.into_inner(),
                    sex: b.sex,
                },
                body: Body::UserAuthentication {
                    certificate: r.certificate_der.into(),
                    signature: r.signature,
                    basic_info: r.basic_info_raw.into(),
                    integrity_record: r.integrity_raw,
                    cv_certificate: r.cv_certificate_raw,
                },
            })
        }
        Credentials::Password { password, last_try } => {
            let r = routes::read_signature(&mut session, password, *last_try, to_be_signed, progress)?;
            let a = r.certificate.attributes;
            Ok(Reading {
                face: Face {
                    name: a.name.into_inner(),
                    address: a.address.into_inner(),
                    birth_date: a.birth_date.into_inner(),
                    sex: a.sex,
                },
                body: Body::Signature {
                    certificate: r.certificate.der.into(),
                    signature: r.signature,
                },
            })
        }
    }
}
