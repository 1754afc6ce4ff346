-- The three reading patterns. Pattern 2 (PC + smartphone) and 3 (smartphone only) hold a
-- verified result back until the person confirms: a code typed on the PC page, or the
-- return to the same browser with a result handle. Codes and handles are stored hashed.
ALTER TABLE sessions ADD COLUMN pattern TEXT;
ALTER TABLE sessions ADD COLUMN pc_code TEXT;
ALTER TABLE sessions ADD COLUMN released INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN confirm_hash BLOB;
ALTER TABLE sessions ADD COLUMN confirm_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN confirm_expires_at INTEGER;
ALTER TABLE sessions ADD COLUMN result_handle_hash BLOB;
CREATE UNIQUE INDEX sessions_result_handle ON sessions (result_handle_hash);
