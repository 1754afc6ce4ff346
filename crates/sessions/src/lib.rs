//! The verification sessions of the mynaid server: the core that the HTTP API, the pages and
//! the OpenID Connect provider all call.
//!
//! A relying party asks for a session with a purpose; the person's browser holds the
//! session's cookie; a reading device redeems a one-time handle, reads the card and submits
//! evidence; the [`Service`] verifies it (`mynaid-evidence`) against the session's own
//! challenge, origin and purpose, stores the result sealed, tells the page ([`events`]), and
//! the relying party takes the result once.
//!
//! The server trusts nothing a client says about identity: the only way to a result is
//! evidence that verifies against the session's own records. Answers are domain values;
//! refusals are [`SessionError`]s, which the server turns into HTTP answers and words in one
//! place. No HTTP here.

pub mod config;
mod error;
pub mod events;
pub mod links;
mod redeemed;
mod release;
pub mod secrets;
mod service;
pub mod store;
mod time_limit;

pub use config::{RelyingParty, Settings};
pub use error::{Failure, SessionError};
pub use release::MAX_CONFIRMATION_ATTEMPTS;
pub use service::{
    BrowserSession, Clock, CreatedSession, IssuedHandle, MAX_LIFETIME_SECS, Parts, Presence, Service, Started,
    VerifiedResult, system_clock, version_at_least,
};
pub use time_limit::{Extended, MAX_EXTENSIONS};
