-- The time limit a person may extend on the page (WCAG 2.2.1): how many times this
-- session's was, bounded by `sessions::MAX_EXTENSIONS`.
ALTER TABLE sessions ADD COLUMN extensions INTEGER NOT NULL DEFAULT 0;
