-- Verification sessions. Handles, submission tokens and browser tokens are stored as
-- SHA-256 hashes only; the result is AES-256-GCM ciphertext; the challenge is cleared when
-- consumed. Times are seconds since the epoch.
CREATE TABLE sessions (
    id                 TEXT PRIMARY KEY NOT NULL,
    relying_party      TEXT NOT NULL,
    purpose            TEXT NOT NULL,
    origin             TEXT NOT NULL,
    binding            BLOB NOT NULL,
    challenge          BLOB,
    accepted           TEXT NOT NULL,
    return_url         TEXT,
    browser_hash       BLOB NOT NULL,
    handle_hash        BLOB UNIQUE,
    submission_hash    BLOB,
    state              TEXT NOT NULL,
    reader_status      TEXT,
    error_code         TEXT,
    result             BLOB,
    created_at         INTEGER NOT NULL,
    expires_at         INTEGER NOT NULL,
    redeemed_at        INTEGER,
    verified_at        INTEGER,
    completed_at       INTEGER
);
CREATE INDEX sessions_expires_at ON sessions (expires_at);
