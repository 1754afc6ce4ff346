//! Reading the card for a session: the same guarded sequence on every device.

use mynaid_card::formats::{Date, Sex};
use mynaid_card::transport::CardTransport;
use mynaid_card::{CardError, LastTry, Pin, PinKind, RetryStatus, Session, Step, routes};
use mynaid_protocol::{Body, Route};

/// The card's PIN that a route's reading verifies.
pub fn pin_kind(route: Route) -> PinKind {
    match route {
        Route::InputSupport => PinKind::InputSupport,
        Route::Signature => PinKind::Signature,
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

/// Selects the route's application and asks the tries left of its PIN (spends nothing).
pub fn pin_status<T: CardTransport>(transport: T, route: Route) -> Result<RetryStatus, CardError> {
    routes::pin_status(&mut Session::new(transport), pin_kind(route))
}

/// Reads the card with one guarded VERIFY and has it sign `to_be_signed`.
pub fn read<T: CardTransport>(
    transport: T,
    route: Route,
    pin: &Pin,
    last_try: LastTry,
    to_be_signed: &[u8; 32],
    progress: &mut dyn FnMut(Step),
) -> Result<Reading, CardError> {
    let mut session = Session::new(transport);
    match route {
        Route::InputSupport => {
            let r = routes::read_input_support(&mut session, pin, last_try, to_be_signed, progress)?;
            let b = r.basic_info;
            Ok(Reading {
                face: Face {
                    name: b.name.into_inner(),
                    address: b.address.into_inner(),
                    birth_date: b.birth_date.into_inner(),
                    sex: b.sex,
                },
                body: Body::InputSupport {
                    basic_info: r.basic_info_raw.into(),
                    integrity_record: r.integrity_raw,
                    cv_certificate: r.cv_certificate_raw,
                    signed_key: r.signed_key_raw,
                    signature: r.signature,
                },
            })
        }
        Route::Signature => {
            let r = routes::read_signature(&mut session, pin, last_try, to_be_signed, progress)?;
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
