-- Linked cards and the events about them, PostgreSQL: same tables as migrations/sqlite/0006_card_links.sql.
--
-- A link is kept when a client that receives status events takes a "link card" result:
-- the card-link identifier (pairwise, what the client knows as `sub`), the issuer's key id
-- (the root's: shared by millions of cards) and the certificate's serial, sealed
-- (AES-256-GCM, the link as associated data). Nothing else about the person. A link whose
-- certificate a fresh CRL revokes is deleted in the same transaction that queues its event.
CREATE TABLE card_links (
    relying_party TEXT NOT NULL,
    link_id       TEXT NOT NULL,
    issuer        TEXT NOT NULL,
    certificate   BYTEA NOT NULL,
    linked_at     BIGINT NOT NULL,
    PRIMARY KEY (relying_party, link_id)
);
CREATE INDEX card_links_issuer ON card_links (issuer);

-- The outbox of Security Event Tokens: one row per event, deleted when delivered (pushed
-- and answered 202, or acknowledged by a poll). `lease_until` lets one instance at a time
-- push a row; a killed instance's lease runs out and another takes it.
CREATE TABLE signal_events (
    jti             TEXT PRIMARY KEY NOT NULL,
    relying_party   TEXT NOT NULL,
    link_id         TEXT,
    kind            TEXT NOT NULL,
    detail          TEXT NOT NULL,
    event_time      BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_until     BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX signal_events_due ON signal_events (relying_party, next_attempt_at);

-- The clients' event streams (OpenID Shared Signals Framework): one per client.
CREATE TABLE ssf_streams (
    client_id  TEXT PRIMARY KEY NOT NULL,
    stream_id  TEXT NOT NULL UNIQUE,
    config     TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
