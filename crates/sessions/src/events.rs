//! Live session events for the pages (SSE). One broadcast channel per watched session,
//! created when a page subscribes and dropped with its last subscriber, so an event costs
//! the same with 10 or 10,000 waiting pages.
//!
//! With several instances the page may be connected to another instance than the one the
//! phone talks to. Then events travel through a [`Bus`] (PostgreSQL LISTEN/NOTIFY, see
//! [`pg_bus`]): `publish` sends to the bus, and every instance delivers what the bus brings
//! to its own subscribers.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use mynaid_protocol::ReaderStatus;
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, mpsc};

use crate::Failure;

/// What a page is told.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Event {
    /// Waiting for a reading device.
    Waiting,
    /// A reading device redeemed the handle.
    Reading,
    /// What the reading device reports (untrusted: shown, never acted on).
    Reader {
        /// What it says (or, `second_redeem`, what the server saw).
        status: ReaderStatus,
        /// Tries left, when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tries_left: Option<u8>,
        /// Which PIN, for a wrong or locked one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pin: Option<mynaid_protocol::PinName>,
    },
    /// The evidence was verified; the result waits for the person's confirmation (the
    /// code shown on the phone, patterns 2 and 3).
    ConfirmNeeded {
        /// Until when the code (or the way back) is accepted: the page counts down to it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expires_at: Option<i64>,
    },
    /// The evidence was verified (and, for patterns 2 and 3, confirmed).
    Verified,
    /// The session failed.
    Failed {
        /// Why.
        code: Failure,
    },
    /// The session ran out of time.
    Expired,
}

/// Carries events between instances.
pub type Bus = mpsc::UnboundedSender<(String, Event)>;

/// Per-session broadcast channels, and the bus when there are several instances.
#[derive(Debug, Clone, Default)]
pub struct EventHub {
    channels: Arc<Mutex<HashMap<String, broadcast::Sender<Event>>>>,
    /// How many channels were left by the last sweep of unwatched ones.
    swept: Arc<AtomicUsize>,
    bus: Option<Bus>,
}

impl EventHub {
    /// A hub whose events go through `bus`; whatever delivers the bus's traffic back calls
    /// [`EventHub::deliver`].
    pub fn with_bus(bus: Bus) -> EventHub {
        EventHub {
            channels: Arc::default(),
            swept: Arc::default(),
            bus: Some(bus),
        }
    }

    /// Subscribes to a session's events.
    pub fn subscribe(&self, session: &str) -> broadcast::Receiver<Event> {
        let mut map = self.channels.lock().unwrap_or_else(PoisonError::into_inner);
        // Sweeping on every subscribe made opening n pages cost O(n²) (10,000 waiting pages
        // took 50 s); sweeping when the map has doubled since the last sweep is amortised O(1).
        if map.len() >= 2 * self.swept.load(Ordering::Relaxed) + 64 {
            map.retain(|_, tx| tx.receiver_count() > 0);
            self.swept.store(map.len(), Ordering::Relaxed);
        }
        map.entry(session.to_string())
            .or_insert_with(|| broadcast::channel(16).0)
            .subscribe()
    }

    /// Publishes to whoever watches `session`, on any instance.
    pub fn publish(&self, session: &str, event: Event) {
        match &self.bus {
            // If the bus is gone, at least this instance's pages hear it.
            Some(bus) => {
                if let Err(mpsc::error::SendError((session, event))) = bus.send((session.to_string(), event)) {
                    self.deliver(&session, event);
                }
            }
            None => self.deliver(session, event),
        }
    }

    /// Delivers to this instance's subscribers of `session`.
    pub fn deliver(&self, session: &str, event: Event) {
        let map = self.channels.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(tx) = map.get(session) {
            let _ = tx.send(event);
        }
    }

    /// Sessions with at least one subscriber here.
    pub fn watched(&self) -> usize {
        let map = self.channels.lock().unwrap_or_else(PoisonError::into_inner);
        map.values().filter(|tx| tx.receiver_count() > 0).count()
    }
}

/// PostgreSQL LISTEN/NOTIFY as the bus: one task sends this instance's events in order with
/// `pg_notify`, another listens and delivers every instance's events locally.
pub mod pg_bus {
    use mynaid_db::Db;
    use mynaid_db::sqlx;
    use mynaid_db::sqlx::postgres::PgListener;
    use serde_json::json;
    use tokio::sync::mpsc;

    use super::{Event, EventHub};

    const CHANNEL: &str = "mynaid_events";

    /// Starts the bus on the PostgreSQL database `db`; returns the hub to give the service.
    pub async fn start(db: Db) -> Result<EventHub, sqlx::Error> {
        let (tx, mut rx) = mpsc::unbounded_channel::<(String, Event)>();
        let hub = EventHub::with_bus(tx);
        let mut listener = PgListener::connect(db.url()).await?;
        listener.listen(CHANNEL).await?;
        let local = hub.clone();
        tokio::spawn(async move {
            loop {
                // recv() reconnects by itself after a lost connection; events sent while it
                // was gone are missed (a page then catches up on its next reconnect).
                match listener.recv().await {
                    Ok(n) => {
                        let v: serde_json::Value = serde_json::from_str(n.payload()).unwrap_or_default();
                        let (Some(s), Ok(e)) = (v["s"].as_str(), serde_json::from_value::<Event>(v["e"].clone()))
                        else {
                            continue;
                        };
                        local.deliver(s, e);
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "event listener lost its connection");
                        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                    }
                }
            }
        });
        let fallback = hub.clone();
        tokio::spawn(async move {
            while let Some((session, event)) = rx.recv().await {
                let payload = json!({ "s": session, "e": event }).to_string();
                // In `FROM`: `pg_notify` answers `void`, which the engine-neutral pool cannot
                // read back; the query answers 1 instead.
                let sent = sqlx::query("SELECT 1 FROM pg_notify($1, $2)")
                    .bind(CHANNEL)
                    .bind(&payload)
                    .execute(db.pool())
                    .await;
                if let Err(e) = sent {
                    tracing::warn!(error = %e, "event not sent to other instances");
                    fallback.deliver(&session, event);
                }
            }
        });
        Ok(hub)
    }
}
