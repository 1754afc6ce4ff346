-- Verification sessions (PostgreSQL). Same shape and meaning as migrations/sqlite:
-- handles, tokens and codes stored as SHA-256 hashes; the result AES-256-GCM ciphertext;
-- the challenge cleared when consumed; times in seconds since the epoch.
CREATE TABLE sessions (
    id                 TEXT PRIMARY KEY NOT NULL,
    relying_party      TEXT NOT NULL,
    purpose            TEXT NOT NULL,
    origin             TEXT NOT NULL,
    binding            BYTEA NOT NULL,
    challenge          BYTEA,
    accepted           TEXT NOT NULL,
    return_url         TEXT,
    browser_hash       BYTEA NOT NULL,
    handle_hash        BYTEA UNIQUE,
    submission_hash    BYTEA,
    state              TEXT NOT NULL,
    reader_status      TEXT,
    error_code         TEXT,
    result             BYTEA,
    created_at         BIGINT NOT NULL,
    expires_at         BIGINT NOT NULL,
    redeemed_at        BIGINT,
    verified_at        BIGINT,
    completed_at       BIGINT,
    pattern            TEXT,
    pc_code            TEXT,
    released           BIGINT NOT NULL DEFAULT 0,
    confirm_hash       BYTEA,
    confirm_attempts   BIGINT NOT NULL DEFAULT 0,
    confirm_expires_at BIGINT,
    result_handle_hash BYTEA UNIQUE
);
CREATE INDEX sessions_expires_at ON sessions (expires_at);
