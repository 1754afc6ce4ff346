-- OpenID Connect (src/oidc), PostgreSQL: same tables as migrations/sqlite/0003_oidc.sql.
-- Codes and access tokens are stored as SHA-256 hashes; what they
-- grant (the claims) is AES-256-GCM ciphertext; signing keys' private halves are encrypted
-- too. Times are seconds since the epoch.

-- Signing keys. Each key names the key it replaced (`predecessor`, '' for the first): two
-- instances rotating at once cannot both add a successor.
CREATE TABLE oidc_keys (
    kid          TEXT PRIMARY KEY NOT NULL,
    predecessor  TEXT NOT NULL UNIQUE,
    alg          TEXT NOT NULL,
    public_jwk   TEXT NOT NULL,
    private_key  BYTEA NOT NULL,
    created_at   BIGINT NOT NULL
);

-- Authorization requests between /oidc/authorize and the code: validated parameters (no
-- personal data), the browser's token hash, the verification session once consented.
CREATE TABLE oidc_requests (
    id           TEXT PRIMARY KEY NOT NULL,
    client_id    TEXT NOT NULL,
    browser_hash BYTEA NOT NULL,
    params       TEXT NOT NULL,
    session_id   TEXT UNIQUE,
    status       TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX oidc_requests_expires_at ON oidc_requests (expires_at);

-- Authorization codes: single use (`used_at`); a replay marks the code `replayed`, which
-- invalidates the access tokens issued for it.
CREATE TABLE oidc_codes (
    code_hash    BYTEA PRIMARY KEY NOT NULL,
    client_id    TEXT NOT NULL,
    grant_data   BYTEA NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    used_at      BIGINT,
    replayed     BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX oidc_codes_expires_at ON oidc_codes (expires_at);

CREATE TABLE oidc_tokens (
    token_hash   BYTEA PRIMARY KEY NOT NULL,
    client_id    TEXT NOT NULL,
    code_hash    BYTEA NOT NULL,
    grant_data   BYTEA NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX oidc_tokens_code_hash ON oidc_tokens (code_hash);
CREATE INDEX oidc_tokens_expires_at ON oidc_tokens (expires_at);

-- Client assertion ids already seen (RFC 7523 `jti`), kept until the assertion expires.
CREATE TABLE oidc_jtis (
    client_id    TEXT NOT NULL,
    jti          TEXT NOT NULL,
    expires_at   BIGINT NOT NULL,
    PRIMARY KEY (client_id, jti)
);
CREATE INDEX oidc_jtis_expires_at ON oidc_jtis (expires_at);
