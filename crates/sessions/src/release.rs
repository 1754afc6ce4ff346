//! How a verified result leaves a session: only to the browser that started it — the
//! confirmation code typed there, the way back opened there, and the relying party's one
//! take with that browser's presence (its cookie, or the return code it carried back).

use crate::error::{Failure, SessionError};
use crate::events::Event;
use crate::links::NewLink;
use crate::secrets::{hash, same};
use crate::service::{Presence, SealedResult, Service, VerifiedResult, code_hash};
use crate::store::{Confirmation, SessionRow, State};

/// Wrong confirmation codes allowed before the session fails.
pub const MAX_CONFIRMATION_ATTEMPTS: i64 = 5;

impl Service {
    /// The code the reading device showed, typed on the page that started the session
    /// (pattern 2; 1 and 3 when the return reached another browser). Wrong codes are counted; at the limit the session
    /// fails and its result is deleted.
    pub async fn confirm(&self, id: &str, browser_token: &str, code: &str) -> Result<(), SessionError> {
        self.browser_session(id, browser_token).await?;
        let digits: String = code.chars().filter(char::is_ascii_digit).collect();
        if digits.len() != 6 || code.chars().any(|c| !(c.is_ascii_digit() || c == ' ' || c == '-')) {
            return Err(SessionError::WrongCode { attempts_left: None });
        }
        match self
            .store
            .confirm(id, &code_hash(id, &digits), MAX_CONFIRMATION_ATTEMPTS, self.now())
            .await?
        {
            Confirmation::Released => {
                self.events.publish(id, Event::Verified);
                Ok(())
            }
            Confirmation::Wrong { attempts_left } => Err(SessionError::WrongCode {
                attempts_left: Some(attempts_left),
            }),
            Confirmation::Locked => {
                self.events.publish(
                    id,
                    Event::Failed {
                        code: Failure::ConfirmationFailed,
                    },
                );
                Err(SessionError::ConfirmationLocked)
            }
            Confirmation::NotPending => Err(SessionError::Finished),
        }
    }

    /// The session a pattern-3 result handle belongs to.
    pub async fn session_by_result_handle(&self, result_handle: &str) -> Result<SessionRow, SessionError> {
        self.store
            .by_result_handle(&hash(result_handle))
            .await?
            .ok_or(SessionError::HandleUnknown)
    }

    /// Patterns 1 and 3: the app sent the person back to the default browser; only the
    /// browser that started the session (its cookie) gets the result released. In any other
    /// browser the handle is used up, so that it cannot be carried to the starting browser
    /// by somebody else (the person types the code there instead).
    pub async fn finish_return(
        &self,
        result_handle: &str,
        browser_token: Option<&str>,
    ) -> Result<String, SessionError> {
        let s = self.session_by_result_handle(result_handle).await?;
        if !browser_token.is_some_and(|t| same(&s.browser_hash, &hash(t))) {
            tracing::warn!(session = %s.id, "result handle came back to another browser: handle used up");
            self.store.burn_result_handle(&s.id).await?;
            return Err(SessionError::OtherBrowser);
        }
        if !self.store.release(&s.id, self.now()).await? {
            return Err(SessionError::Finished);
        }
        self.events.publish(&s.id, Event::Verified);
        Ok(s.id)
    }

    /// Gives the relying party its result, once, and only with the browser that started
    /// the session present.
    pub async fn take_result(
        &self,
        relying_party: &str,
        id: &str,
        presence: Presence<'_>,
    ) -> Result<VerifiedResult, SessionError> {
        let s = self.store.get(id).await?.ok_or(SessionError::NotFound)?;
        if s.relying_party != relying_party {
            return Err(SessionError::NotFound);
        }
        let present = match presence {
            Presence::Cookie(t) => same(&s.browser_hash, &hash(t)),
            Presence::ReturnCode(c) => s.return_hash.as_deref().is_some_and(|h| same(h, &hash(c))),
        };
        if !present {
            tracing::warn!(session = %id, "result asked for without the browser that started: refused");
            return Err(SessionError::OtherBrowser);
        }
        match s.state {
            State::EvidenceVerified if s.released => {}
            State::EvidenceVerified => return Err(SessionError::NotConfirmed),
            State::Completed => return Err(SessionError::Finished),
            State::Failed => return Err(SessionError::Failed),
            _ if s.is_expired(self.now()) => return Err(SessionError::Expired),
            _ => return Err(SessionError::NotRead),
        }
        let open = |sealed: &[u8]| {
            let Some(stored) = self
                .result_key
                .open(id, sealed)
                .and_then(|plain| serde_json::from_slice::<SealedResult>(&plain).ok())
            else {
                return (Err(SessionError::Unavailable), None);
            };
            let link = stored.certificate.as_ref().and_then(|c| {
                let link_id = &stored.result.card_link_id;
                Some(NewLink {
                    relying_party: relying_party.to_string(),
                    link_id: link_id.clone(),
                    issuer: c.issuer.clone(),
                    certificate: self.seal_certificate(relying_party, link_id, c)?,
                })
            });
            (Ok(stored.result), link)
        };
        self.store
            .take_result(id, self.now(), open)
            .await?
            .ok_or(SessionError::Finished)?
    }
}
