-- One browser per session (docs/security.md). A relying party's start link carries a token
-- that works once (`start_hash`): the first browser to open it gets the session's cookie.
-- The result goes back only with the code that browser received (`return_hash`).
ALTER TABLE sessions ADD COLUMN start_hash BLOB;
ALTER TABLE sessions ADD COLUMN return_hash BLOB;
