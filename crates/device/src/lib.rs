//! The reading device's side of mynaid: what the PC reader app and the phone app share.
//!
//! Sans-IO, like the card library: this crate builds HTTP requests as plain data and
//! interprets the answers, and reads the card through any `CardTransport` (PC/SC, NFC, the
//! emulator). The host does the networking — `ureq` in the `mynaid` binary, OkHttp or
//! URLSession in a mobile app — so the same core runs everywhere, and nothing here can be
//! tricked into talking to a server the link did not name.
//!
//! The flow (`docs/phone-core.md`):
//! 1. [`Link::parse`] the link (`mynaid://read?…` from the PC page, or the app link
//!    `https://…/app/read#h=…&o=…` from a QR code), and [`ServerPolicy::check`] it against
//!    the person's list of trusted servers — before anything is sent;
//! 2. send [`Link::redeem_request`] (saying which [`Device`] this is), turn the answer into
//!    an [`Offer`] with [`Offer::from_response`] — which refuses an answer for another kind
//!    of device, or whose origin differs from the one the QR code promised — and show the
//!    service name, origin, purpose and PC code;
//! 3. [`pin_status`], ask the PIN, then [`read`] the card for the offer;
//! 4. send [`Offer::evidence_request`], and show what [`Offer::submitted`] says: the
//!    confirmation code, and where the default browser returns to (patterns 1 and 3).
//!
//! Nothing a server sends reaches the screen raw: the texts of an [`Offer`], a
//! [`ServerError`] and a [`Submitted`] are already cleaned by [`shown`] (or checked to be
//! plain origins, digits and URLs) when this core hands them out.
//!
//! The messages are `mynaid_protocol`'s; the names this API uses are re-exported here so that
//! a phone app binds one crate.

mod link;
mod offer;
mod policy;
mod reading;
mod shown;

pub use link::{Link, LinkError, LinkKind, normalize_origin};
pub use mynaid_protocol::api::Submitted;
pub use mynaid_protocol::{Device, Lang, Pattern, PinName, Purpose, ReaderStatus, Route, Text};
pub use offer::{HttpRequest, Offer, ServerError};
pub use policy::ServerPolicy;
pub use reading::{Credentials, Face, Reading, blocked_pin, pin_kinds, pin_name, pin_statuses, read};
pub use shown::shown;

/// The version of this reading-device core, sent when redeeming (the server has a minimum).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
