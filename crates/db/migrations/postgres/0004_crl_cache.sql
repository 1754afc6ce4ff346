-- CRLs fetched from URLs, shared by the instances (docs/evidence.md, "Revocation"): one
-- instance at a time holds the fetch lease of a source (`lease_until`), fetches, checks and
-- stores the CRL here; every instance then loads this copy. `this_update` keeps the shared
-- copy from going back to an older CRL; `fetched_at` and `next_update` say when it is due
-- again.
CREATE TABLE crl_cache (
    source      TEXT PRIMARY KEY NOT NULL,
    der         BYTEA,
    this_update BIGINT NOT NULL DEFAULT 0,
    next_update BIGINT NOT NULL DEFAULT 0,
    fetched_at  BIGINT NOT NULL DEFAULT 0,
    lease_until BIGINT NOT NULL DEFAULT 0
);
