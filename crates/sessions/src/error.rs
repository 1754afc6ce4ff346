//! What can go wrong in a session, as the domain says it. The HTTP server turns each into a
//! status, a stable code and words for the person in one place (`mynaid-server`'s
//! `answer`); nothing here knows HTTP or languages.

use mynaid_db::StoreError;
use mynaid_evidence::EvidenceError;
use mynaid_protocol::Route;

mynaid_protocol::named_enum! {
    /// Why a session failed for good (stored with it, sent to its page, and the code of the
    /// refusal).
    pub enum Failure {
        /// The evidence document was not of the format.
        EvidenceMalformed = "evidence_malformed",
        /// The card's records or certificate could not be parsed.
        CardDataInvalid = "card_data_invalid",
        /// The certificate is outside its validity.
        CertificateExpired = "certificate_expired",
        /// The signature certificate is revoked (a move or a change of name revokes it; the
        /// 4-digit route may still work).
        CertificateRevoked = "certificate_revoked",
        /// The user-authentication certificate is revoked (a lost-card report, a new card):
        /// neither route of this card works until the city office issues new certificates.
        UserAuthenticationRevoked = "user_authentication_revoked",
        /// No valid CRL said whether it is revoked.
        RevocationUnknown = "revocation_unknown",
        /// The card's signature is not over this session's to-be-signed value.
        SignatureMismatch = "signature_mismatch",
        /// The chain or the issuer's signature did not verify.
        CardNotTrusted = "card_not_trusted",
        /// The confirmation code was wrong too often, or not typed in time.
        ConfirmationFailed = "confirmation_failed",
        /// A second device tried to redeem the reading link: somebody else has the QR code
        /// or the link, so the session ends before a result can reach them.
        RedeemedTwice = "redeemed_twice",
    }
}

impl Failure {
    /// Why evidence of `route` (when the document named one) that did not verify fails its
    /// session.
    pub fn of(e: &EvidenceError, route: Option<Route>) -> Failure {
        use EvidenceError as E;
        match e {
            E::Revoked if route == Some(Route::UserAuthentication) => Failure::UserAuthenticationRevoked,
            E::Document(_) => Failure::EvidenceMalformed,
            E::CardData(_) | E::CertificateMalformed(_) => Failure::CardDataInvalid,
            E::Expired { .. } | E::NotYetValid { .. } => Failure::CertificateExpired,
            E::Revoked => Failure::CertificateRevoked,
            E::RevocationUnknown | E::CrlOutOfDate { .. } => Failure::RevocationUnknown,
            E::CardSignatureInvalid => Failure::SignatureMismatch,
            _ => Failure::CardNotTrusted,
        }
    }
}

impl Failure {
    /// Whether the person may read the card again in the same session after this failure:
    /// when another attempt may succeed (the 4-digit route after a revoked signature
    /// certificate, if the session accepts it; a CRL that was not at hand; data that did not
    /// come through whole), never after a sign that somebody else takes part (a second
    /// device, wrong codes, a signature over something else) or when the card cannot do it
    /// (expired or revoked certificates of both routes, a card not trusted).
    pub fn allows_another_attempt(self, accepted: &[Route]) -> bool {
        match self {
            Failure::CertificateRevoked => accepted.contains(&Route::UserAuthentication),
            Failure::RevocationUnknown | Failure::CardDataInvalid | Failure::EvidenceMalformed => true,
            Failure::CertificateExpired
            | Failure::UserAuthenticationRevoked
            | Failure::SignatureMismatch
            | Failure::CardNotTrusted
            | Failure::ConfirmationFailed
            | Failure::RedeemedTwice => false,
        }
    }
}

/// Why a step of a session was refused. Nothing was changed unless the variant says so.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    /// No such session (or not the asking relying party's).
    #[error("not found")]
    NotFound,
    /// A token (browser, submission, API key) is missing or wrong.
    #[error("unauthorized")]
    Unauthorized,
    /// The request itself is not valid (says which part).
    #[error("bad request: {0}")]
    BadRequest(&'static str),
    /// The handle was never issued, or a newer one replaced it.
    #[error("handle unknown")]
    HandleUnknown,
    /// The handle was already redeemed: the session ended (a second device had the link).
    #[error("handle already used")]
    HandleUsed,
    /// The start link was already opened by a browser; another browser cannot take the
    /// session over.
    #[error("start link already used")]
    StartLinkUsed,
    /// The handle is for another kind of reading device (somebody else chose the pattern);
    /// it was not used up.
    #[error("handle for another kind of device")]
    WrongDevice,
    /// The session ran out of time.
    #[error("expired")]
    Expired,
    /// The session is over (verified, taken, failed).
    #[error("finished")]
    Finished,
    /// The reading device's app is older than `min`.
    #[error("reader app older than {min}")]
    ReaderOutdated {
        /// The oldest version accepted.
        min: String,
    },
    /// The relying party does not accept the evidence's route.
    #[error("route not accepted")]
    RouteNotAccepted,
    /// The evidence did not verify: the session failed for this reason.
    #[error("evidence refused: {0}")]
    Refused(Failure),
    /// A wrong confirmation code (`None`: not even of the code's form, nothing counted).
    #[error("wrong confirmation code")]
    WrongCode {
        /// Attempts left, when one was counted.
        attempts_left: Option<i64>,
    },
    /// The time limit cannot be extended again (the extensions are used up, or the session
    /// reached its longest life); nothing changed.
    #[error("no more time")]
    NoMoreTime,
    /// Too many wrong codes: the session failed and its result is gone.
    #[error("confirmation failed")]
    ConfirmationLocked,
    /// The result was asked for without the browser that started the session: its result
    /// handle came back to another browser, or the relying party came without that
    /// browser's cookie or return code.
    #[error("another browser")]
    OtherBrowser,
    /// The result waits for the person's confirmation.
    #[error("not confirmed yet")]
    NotConfirmed,
    /// The card has not been read yet.
    #[error("not read yet")]
    NotRead,
    /// The session failed earlier.
    #[error("the session failed")]
    Failed,
    /// The storage is unavailable; nothing was changed.
    #[error("storage unavailable")]
    Unavailable,
}

impl From<StoreError> for SessionError {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "storage failure");
        SessionError::Unavailable
    }
}
