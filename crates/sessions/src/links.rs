//! Linked cards, re-checked against every fresh CRL, and the outbox of the events that tell
//! the applications (issue 19, `docs/signals.md`).
//!
//! A link is recorded when a relying party that receives status events
//! ([`crate::RelyingParty::link_status`]) takes the result of a "link card" session: the
//! pairwise card-link identifier it knows as `sub`, the issuer's key id and the certificate's
//! serial, sealed like the results (the serial is the same at every application, so it never
//! leaves this table). [`Service::recheck_links`] looks every link up in the verifier's CRLs;
//! a revoked one is deleted and its event queued by one transaction whose `DELETE` names the
//! sealed certificate it checked, so two instances checking at once raise one event, and a
//! link renewed in the meantime is not touched. The application (or the person through it)
//! ends a link with [`Service::end_link`]: its row and its undelivered events go at once.
//!
//! The outbox ([`LinkStore`] `signal_events`) is what `mynaid-signals` delivers: at least once
//! (a row is deleted only after the receiver's 202 or acknowledgement), one instance at a
//! time per row (a lease taken by a conditional `UPDATE`), again after a restart or a killed
//! instance (the lease runs out).

use mynaid_db::sqlx::{self, Row};
use mynaid_db::{Db, StoreError};
use mynaid_evidence::{RevocationReason, RevokedEntry};
use serde::{Deserialize, Serialize};

use crate::error::SessionError;
use crate::secrets::token;
use crate::service::Service;

mynaid_protocol::named_enum! {
    /// What an event in the outbox says.
    pub enum SignalKind {
        /// The certificate of a linked card was revoked (a move, a new name, a lost or renewed
        /// card): the application should ask the person to verify again.
        CredentialRevoked = "credential_revoked",
        /// The stream's verification event (OpenID Shared Signals Framework §8.1.4).
        Verification = "verification",
    }
}

/// The certificate a link rests on: what a re-check needs, nothing more. Sealed at rest.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateRef {
    /// The issuer (root) key identifier, hex.
    pub issuer: String,
    /// The certificate's serial number, hex.
    pub serial: String,
}

impl std::fmt::Debug for CertificateRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CertificateRef({}, REDACTED)", self.issuer)
    }
}

/// A link to record with the result that makes it ([`crate::store::SessionStore::take_result`]).
pub struct NewLink {
    /// The application.
    pub relying_party: String,
    /// The card-link identifier.
    pub link_id: String,
    /// The issuer's key id, hex (in the clear: the same for millions of cards).
    pub issuer: String,
    /// The sealed [`CertificateRef`].
    pub certificate: Vec<u8>,
}

impl std::fmt::Debug for NewLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NewLink({})", self.relying_party)
    }
}

/// An event waiting in the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignalEvent {
    /// The event's unique id (the SET's `jti`): a receiver drops duplicates by it.
    pub jti: String,
    /// The application it is for.
    pub relying_party: String,
    /// The link it is about (its `sub`); none for a verification event.
    pub link_id: Option<String>,
    /// What happened.
    pub kind: SignalKind,
    /// JSON: the revocation's reason, or the verification's `state`.
    pub detail: String,
    /// When it happened (the revocation date on the CRL), seconds since the epoch.
    pub event_time: i64,
    /// Delivery attempts so far (this one included, when taken for a push).
    pub attempts: i64,
}

/// What a re-check of the links did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkCheck {
    /// Links looked up in the CRLs (a link of an issuer without a loaded CRL is looked up
    /// again with the next refresh).
    pub checked: usize,
    /// Links found revoked (each deleted, each with one event queued by this instance).
    pub revoked: usize,
}

/// The `card_links` and `signal_events` tables.
#[derive(Debug, Clone)]
pub struct LinkStore {
    db: Db,
}

fn event_of(r: &sqlx::any::AnyRow) -> Result<SignalEvent, StoreError> {
    Ok(SignalEvent {
        jti: r.try_get("jti")?,
        relying_party: r.try_get("relying_party")?,
        link_id: r.try_get("link_id")?,
        kind: r
            .try_get::<String, _>("kind")?
            .parse()
            .map_err(|_| StoreError::BadValue { column: "kind" })?,
        detail: r.try_get("detail")?,
        event_time: r.try_get("event_time")?,
        attempts: r.try_get("attempts")?,
    })
}

const EVENT_COLUMNS: &str = "jti, relying_party, link_id, kind, detail, event_time, attempts";

impl LinkStore {
    /// The tables of `db`.
    pub fn new(db: Db) -> LinkStore {
        LinkStore { db }
    }

    /// Records (or renews: a newer card, a new certificate) the link of `relying_party`'s
    /// `link_id`. Runs inside the transaction that takes the result.
    pub(crate) async fn record<'c>(
        tx: &mut sqlx::Transaction<'c, sqlx::Any>,
        relying_party: &str,
        link_id: &str,
        issuer: &str,
        sealed: &[u8],
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO card_links (relying_party, link_id, issuer, certificate, linked_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (relying_party, link_id) DO UPDATE SET issuer = excluded.issuer, \
             certificate = excluded.certificate, linked_at = excluded.linked_at",
        )
        .bind(relying_party)
        .bind(link_id)
        .bind(issuer)
        .bind(sealed)
        .bind(now)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Records a link outside the taking of a result (carrying links over from another
    /// system; the benchmark of the re-check). `certificate` is sealed by
    /// [`Service::seal_certificate`].
    pub async fn insert(&self, link: &NewLink, now: i64) -> Result<(), StoreError> {
        let mut tx = self.db.pool().begin().await?;
        Self::record(
            &mut tx,
            &link.relying_party,
            &link.link_id,
            &link.issuer,
            &link.certificate,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The links after `after` (relying party, link id), `limit` at a time, in key order:
    /// (relying party, link id, issuer, sealed certificate).
    pub async fn links_after(
        &self,
        after: (&str, &str),
        limit: i64,
    ) -> Result<Vec<(String, String, String, Vec<u8>)>, StoreError> {
        let rows = sqlx::query(
            "SELECT relying_party, link_id, issuer, certificate FROM card_links \
             WHERE relying_party > $1 OR (relying_party = $1 AND link_id > $2) \
             ORDER BY relying_party, link_id LIMIT $3",
        )
        .bind(after.0)
        .bind(after.1)
        .bind(limit)
        .fetch_all(self.db.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("relying_party")?,
                    r.try_get("link_id")?,
                    r.try_get("issuer")?,
                    r.try_get("certificate")?,
                ))
            })
            .collect()
    }

    /// Whether `relying_party` has a link `link_id`.
    pub async fn has_link(&self, relying_party: &str, link_id: &str) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT 1 AS one FROM card_links WHERE relying_party = $1 AND link_id = $2")
            .bind(relying_party)
            .bind(link_id)
            .fetch_optional(self.db.pool())
            .await?;
        Ok(row.is_some())
    }

    /// Ends a revoked link and queues its event, once: the `DELETE` names the sealed
    /// certificate that was checked, so of two instances only one deletes it, and a link
    /// renewed since is left alone. Answers whether this call ended it.
    async fn end_revoked(
        &self,
        relying_party: &str,
        link_id: &str,
        sealed: &[u8],
        event: &SignalEvent,
        now: i64,
    ) -> Result<bool, StoreError> {
        let mut tx = self.db.pool().begin().await?;
        let gone = sqlx::query("DELETE FROM card_links WHERE relying_party = $1 AND link_id = $2 AND certificate = $3")
            .bind(relying_party)
            .bind(link_id)
            .bind(sealed)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if gone != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        Self::insert_event(&mut tx, event, now).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn insert_event<'c>(
        tx: &mut sqlx::Transaction<'c, sqlx::Any>,
        e: &SignalEvent,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO signal_events (jti, relying_party, link_id, kind, detail, event_time, created_at, attempts, next_attempt_at, lease_until) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $7, 0)",
        )
        .bind(&e.jti)
        .bind(&e.relying_party)
        .bind(e.link_id.as_deref())
        .bind(e.kind.as_str())
        .bind(&e.detail)
        .bind(e.event_time)
        .bind(now)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Queues an event that ends no link (a stream's verification event).
    pub async fn queue(&self, event: &SignalEvent, now: i64) -> Result<(), StoreError> {
        let mut tx = self.db.pool().begin().await?;
        Self::insert_event(&mut tx, event, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes `relying_party`'s link `link_id` and its undelivered events. Answers whether
    /// there was a link.
    pub async fn end_link(&self, relying_party: &str, link_id: &str) -> Result<bool, StoreError> {
        let mut tx = self.db.pool().begin().await?;
        let gone = sqlx::query("DELETE FROM card_links WHERE relying_party = $1 AND link_id = $2")
            .bind(relying_party)
            .bind(link_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        sqlx::query("DELETE FROM signal_events WHERE relying_party = $1 AND link_id = $2")
            .bind(relying_party)
            .bind(link_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(gone > 0)
    }

    /// Takes up to `limit` events of `relying_parties` that are due at `now` for a push: each
    /// leased until `now + lease_secs` and its attempt counted, by one conditional `UPDATE`
    /// per event (the `WHERE` is checked again on the row, so two instances never take the
    /// same event at once).
    pub async fn take_due(
        &self,
        relying_parties: &[String],
        now: i64,
        lease_secs: i64,
        limit: usize,
    ) -> Result<Vec<SignalEvent>, StoreError> {
        let mut taken = Vec::new();
        for rp in relying_parties {
            let candidates = sqlx::query(
                "SELECT jti FROM signal_events WHERE relying_party = $1 AND next_attempt_at <= $2 AND lease_until <= $2 \
                 ORDER BY created_at, jti LIMIT $3",
            )
            .bind(rp)
            .bind(now)
            .bind(i64::try_from(limit.saturating_sub(taken.len())).unwrap_or(0))
            .fetch_all(self.db.pool())
            .await?;
            for c in candidates {
                let jti: String = c.try_get("jti")?;
                let row = sqlx::query(&format!(
                    "UPDATE signal_events SET lease_until = $1, attempts = attempts + 1 \
                     WHERE jti = $2 AND next_attempt_at <= $3 AND lease_until <= $3 RETURNING {EVENT_COLUMNS}"
                ))
                .bind(now + lease_secs)
                .bind(&jti)
                .bind(now)
                .fetch_optional(self.db.pool())
                .await?;
                if let Some(r) = row {
                    taken.push(event_of(&r)?);
                }
            }
            if taken.len() >= limit {
                break;
            }
        }
        Ok(taken)
    }

    /// A pushed event was accepted (or refused for good): it leaves the outbox.
    pub async fn delivered(&self, jti: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM signal_events WHERE jti = $1")
            .bind(jti)
            .execute(self.db.pool())
            .await?;
        Ok(())
    }

    /// A push failed: try again at `next_attempt_at` (the lease ends now).
    pub async fn retry_at(&self, jti: &str, next_attempt_at: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE signal_events SET next_attempt_at = $1, lease_until = 0 WHERE jti = $2")
            .bind(next_attempt_at)
            .bind(jti)
            .execute(self.db.pool())
            .await?;
        Ok(())
    }

    /// Poll delivery (RFC 8936): deletes the events `relying_party` acknowledges, then
    /// answers up to `max` of its others (oldest first) and whether more wait.
    pub async fn poll(
        &self,
        relying_party: &str,
        ack: &[String],
        max: usize,
    ) -> Result<(Vec<SignalEvent>, bool), StoreError> {
        for jti in ack {
            sqlx::query("DELETE FROM signal_events WHERE jti = $1 AND relying_party = $2")
                .bind(jti)
                .bind(relying_party)
                .execute(self.db.pool())
                .await?;
        }
        let rows = sqlx::query(&format!(
            "SELECT {EVENT_COLUMNS} FROM signal_events WHERE relying_party = $1 ORDER BY created_at, jti LIMIT $2"
        ))
        .bind(relying_party)
        .bind(i64::try_from(max).unwrap_or(i64::MAX).saturating_add(1))
        .fetch_all(self.db.pool())
        .await?;
        let more = rows.len() > max;
        let events = rows.iter().take(max).map(event_of).collect::<Result<_, _>>()?;
        Ok((events, more))
    }

    /// Deletes every undelivered event of `relying_party` (its stream was deleted).
    pub async fn drop_events(&self, relying_party: &str) -> Result<u64, StoreError> {
        Ok(sqlx::query("DELETE FROM signal_events WHERE relying_party = $1")
            .bind(relying_party)
            .execute(self.db.pool())
            .await?
            .rows_affected())
    }

    /// Deletes events queued before `before` that nobody took (a client without a stream).
    pub async fn purge_events(&self, before: i64) -> Result<u64, StoreError> {
        Ok(sqlx::query("DELETE FROM signal_events WHERE created_at < $1")
            .bind(before)
            .execute(self.db.pool())
            .await?
            .rows_affected())
    }
}

/// The associated data a link's certificate is sealed with: it opens only for that link.
fn link_aad(relying_party: &str, link_id: &str) -> String {
    format!("mynaid-link\0{relying_party}\0{link_id}")
}

/// The detail of a revocation event: its reason by RFC 5280 name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevocationDetail {
    /// RFC 5280 reason name (`affiliationChanged` for a move, `keyCompromise` for a lost
    /// card …); none when the CRL entry gives none.
    pub reason: Option<RevocationReason>,
}

impl Service {
    /// The links table and the outbox.
    pub fn links(&self) -> &LinkStore {
        &self.links
    }

    /// Seals a link's certificate for storage.
    pub fn seal_certificate(&self, relying_party: &str, link_id: &str, c: &CertificateRef) -> Option<Vec<u8>> {
        let plain = zeroize::Zeroizing::new(serde_json::to_vec(c).ok()?);
        Some(self.result_key.seal(&link_aad(relying_party, link_id), &plain))
    }

    /// Looks every link up in the verifier's CRLs now in use; ends each revoked one and
    /// queues one event for it. Links of an issuer without a CRL are left for the next
    /// check. Runs after every CRL refresh that took a CRL.
    pub async fn recheck_links(&self) -> Result<LinkCheck, SessionError> {
        let crls = self.verifier.crls();
        let mut check = LinkCheck::default();
        let mut after = (String::new(), String::new());
        loop {
            let page = self.links.links_after((&after.0, &after.1), 500).await?;
            let Some(last) = page.last() else { break };
            after = (last.0.clone(), last.1.clone());
            for (rp, link_id, issuer, sealed) in &page {
                let Some(cert) = self
                    .result_key
                    .open(&link_aad(rp, link_id), sealed)
                    .and_then(|p| serde_json::from_slice::<CertificateRef>(&p).ok())
                else {
                    tracing::warn!(relying_party = %rp, "a linked card's record does not open (another result_key?); skipped");
                    continue;
                };
                let (Ok(issuer_id), Ok(serial)) = (hex::decode(issuer), hex::decode(&cert.serial)) else {
                    continue;
                };
                check.checked += 1;
                let Some(RevokedEntry { revoked_at, reason }) = crls.revoked_entry(&issuer_id, &serial) else {
                    continue;
                };
                let event = SignalEvent {
                    jti: token::<16>(),
                    relying_party: rp.clone(),
                    link_id: Some(link_id.clone()),
                    kind: SignalKind::CredentialRevoked,
                    detail: serde_json::to_string(&RevocationDetail { reason }).unwrap_or_else(|_| "{}".into()),
                    event_time: i64::try_from(revoked_at).unwrap_or(i64::MAX),
                    attempts: 0,
                };
                if self.links.end_revoked(rp, link_id, sealed, &event, self.now()).await? {
                    check.revoked += 1;
                    tracing::info!(relying_party = %rp, reason = ?reason.map(|r| r.as_str()), "a linked card's certificate was revoked; event queued");
                    metrics::counter!("mynaid_links_revoked_total").increment(1);
                }
            }
        }
        Ok(check)
    }

    /// Ends `relying_party`'s link `link_id` (the application asked, for itself or for the
    /// person): deleted at once, with its undelivered events. Answers whether it existed.
    pub async fn end_link(&self, relying_party: &str, link_id: &str) -> Result<bool, SessionError> {
        Ok(self.links.end_link(relying_party, link_id).await?)
    }
}
