//! The sessions this instance gave a submission token to, by handle, so that the evidence
//! that follows (seconds later, nearly always on the same instance) is checked without
//! reading the database first: half the statements of a submission.
//!
//! Only a shortcut, never the authority. The store's conditional update that stores a
//! result still requires the state, the expiry, the challenge the evidence was verified
//! against and the submission token, so a stale entry (the person started over, the session
//! was cancelled or expired, another instance finished it) can never store a result; and
//! when that update refuses, or the evidence is bad, the answer is worked out from the
//! database as without this cache.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use crate::store::SessionRow;

/// At most this many entries; beyond, expired ones go, and if that is not enough, all
/// (each entry then costs one read of the database, as without the cache).
const CAPACITY: usize = 65_536;

/// Redeemed sessions by the hash of their handle.
#[derive(Debug, Default)]
pub(crate) struct Redeemed {
    map: Mutex<HashMap<Vec<u8>, SessionRow>>,
}

impl Redeemed {
    /// Remembers a session just redeemed with `handle_hash`.
    pub(crate) fn insert(&self, handle_hash: Vec<u8>, session: SessionRow, now: i64) {
        let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        if map.len() >= CAPACITY {
            map.retain(|_, s| !s.is_expired(now));
            if map.len() >= CAPACITY {
                map.clear();
            }
        }
        map.insert(handle_hash, session);
    }

    /// The session redeemed with `handle_hash`, as it was then.
    pub(crate) fn get(&self, handle_hash: &[u8]) -> Option<SessionRow> {
        self.map
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(handle_hash)
            .cloned()
    }

    /// Forgets `handle_hash` (its evidence arrived, or it was refused).
    pub(crate) fn remove(&self, handle_hash: &[u8]) {
        self.map
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(handle_hash);
    }

    /// How many entries there are.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.map.lock().unwrap_or_else(PoisonError::into_inner).len()
    }
}

#[cfg(test)]
mod tests {
    use mynaid_protocol::{Purpose, Route};

    use super::*;
    use crate::store::State;

    fn row(id: &str, expires_at: i64) -> SessionRow {
        SessionRow {
            id: id.into(),
            relying_party: "rp".into(),
            purpose: Purpose::VerifyIdentity,
            origin: "https://rp.example.jp".into(),
            binding: vec![1; 16],
            challenge: Some(vec![2; 32]),
            accepted: vec![Route::UserAuthentication],
            return_url: None,
            browser_hash: vec![3; 32],
            start_hash: None,
            return_hash: None,
            submission_hash: Some(vec![4; 32]),
            state: State::HandleRedeemed,
            reader_status: None,
            failure: None,
            result: None,
            created_at: 0,
            expires_at,
            pattern: None,
            pc_code: None,
            released: false,
            confirm_attempts: 0,
            confirm_expires_at: None,
            handle_hash: None,
            extensions: 0,
        }
    }

    #[test]
    fn bounded_expired_first() {
        let r = Redeemed::default();
        for i in 0..CAPACITY {
            // Every other one has expired by 100.
            r.insert(i.to_be_bytes().to_vec(), row("s", if i % 2 == 0 { 50 } else { 500 }), 0);
        }
        assert_eq!(r.len(), CAPACITY);
        r.insert(b"new".to_vec(), row("n", 500), 100);
        assert_eq!(r.len(), CAPACITY / 2 + 1, "the expired half went");
        assert_eq!(r.get(b"new").map(|s| s.id), Some("n".to_string()));
        r.remove(b"new");
        assert!(r.get(b"new").is_none());
    }
}
