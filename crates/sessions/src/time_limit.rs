//! The time limit a person sees on the page, and extending it (WCAG 2.2.1 Timing
//! Adjustable): by the session's lifetime each time, ten times at most, never beyond the
//! session's longest life.

use crate::error::SessionError;
use crate::service::{MAX_LIFETIME_SECS, Service};
use crate::store::{SessionRow, State};

/// How many times a person may extend a session's time limit on the page: WCAG 2.2.1's
/// "Extend" asks for at least ten. Each time by the session's lifetime
/// (`session_ttl_secs`): with the default 5 minutes, 55 minutes in all, within
/// [`MAX_LIFETIME_SECS`].
pub const MAX_EXTENSIONS: i64 = 10;

/// What extending the time limit gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extended {
    /// The new time limit, seconds since the epoch.
    pub expires_at: i64,
    /// How many more times it can be extended.
    pub extensions_left: i64,
}

impl Service {
    /// How many more times the time limit that runs can be extended ([`Service::extend`]).
    pub fn extensions_left(&self, s: &SessionRow) -> i64 {
        match s.time_limit() {
            Some(t)
                if t >= self.now()
                    && (t + self.settings().session_ttl_secs as i64).min(s.created_at + MAX_LIFETIME_SECS) > t =>
            {
                (MAX_EXTENSIONS - s.extensions).max(0)
            }
            _ => 0,
        }
    }

    /// Extends the time limit the session's browser sees ([`SessionRow::time_limit`]) by the
    /// session's lifetime: at most [`MAX_EXTENSIONS`] times, never beyond
    /// [`MAX_LIFETIME_SECS`] from creation, and only while it runs.
    pub async fn extend(&self, id: &str, browser_token: &str) -> Result<Extended, SessionError> {
        let s = self.browser_session(id, browser_token).await?;
        let now = self.now();
        let Some(old) = s.time_limit() else {
            return Err(SessionError::Finished);
        };
        if now > old {
            return Err(SessionError::Expired);
        }
        let left = MAX_EXTENSIONS - s.extensions;
        let new = (old + self.settings().session_ttl_secs as i64).min(s.created_at + MAX_LIFETIME_SECS);
        if left <= 0 || new <= old {
            return Err(SessionError::NoMoreTime);
        }
        let confirming = s.state == State::EvidenceVerified;
        if self.store.extend(id, confirming, old, new, now, MAX_EXTENSIONS).await? {
            tracing::info!(session = %id, extensions = s.extensions + 1, "time limit extended");
            return Ok(Extended {
                expires_at: new,
                extensions_left: left - 1,
            });
        }
        // It changed meanwhile (extended from another tab, a double click, the card read, the
        // time up): the answer is the session as it is now.
        let s = self.browser_session(id, browser_token).await?;
        match s.time_limit() {
            Some(t) if t >= now => Ok(Extended {
                expires_at: t,
                extensions_left: (MAX_EXTENSIONS - s.extensions).max(0),
            }),
            Some(_) => Err(SessionError::Expired),
            None => Err(SessionError::Finished),
        }
    }
}
