//! Live session events for the pages (SSE). One broadcast channel per watched session,
//! created when a page subscribes and dropped with its last subscriber, so an event costs
//! the same with 10 or 10,000 waiting pages.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use serde::Serialize;
use tokio::sync::broadcast;

/// What a page is told.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Event {
    /// Waiting for a reading device.
    Waiting,
    /// A reading device redeemed the handle.
    Reading,
    /// What the reading device reports (untrusted: shown, never acted on).
    Reader {
        /// `pin_wrong`, `pin_blocked`, `card_removed`, `no_card`, `cancelled`, …
        status: String,
        /// Tries left, when known.
        #[serde(skip_serializing_if = "Option::is_none")]
        tries_left: Option<u8>,
    },
    /// The evidence was verified; the result waits for the person's confirmation (the
    /// code shown on the phone, patterns 2 and 3).
    ConfirmNeeded,
    /// The evidence was verified (and, for patterns 2 and 3, confirmed).
    Verified,
    /// The session failed.
    Failed {
        /// Stable error code.
        code: String,
    },
    /// The session ran out of time.
    Expired,
}

/// Per-session broadcast channels.
#[derive(Debug, Clone, Default)]
pub struct EventHub {
    channels: Arc<Mutex<HashMap<String, broadcast::Sender<Event>>>>,
}

impl EventHub {
    /// Subscribes to a session's events.
    pub fn subscribe(&self, session: &str) -> broadcast::Receiver<Event> {
        let mut map = self.channels.lock().unwrap_or_else(PoisonError::into_inner);
        map.retain(|_, tx| tx.receiver_count() > 0);
        map.entry(session.to_string())
            .or_insert_with(|| broadcast::channel(16).0)
            .subscribe()
    }

    /// Publishes to whoever watches `session` (nobody is fine).
    pub fn publish(&self, session: &str, event: Event) {
        let map = self.channels.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(tx) = map.get(session) {
            let _ = tx.send(event);
        }
    }

    /// Sessions with at least one subscriber.
    pub fn watched(&self) -> usize {
        let map = self.channels.lock().unwrap_or_else(PoisonError::into_inner);
        map.values().filter(|tx| tx.receiver_count() > 0).count()
    }
}
