DROP INDEX sessions_user_id_idx;
CREATE INDEX sessions_user_id_last_used_at_idx ON sessions (user_id, last_used_at);
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);
-- The chains go; every token recorded as outstanding can be rotated once more.
ALTER TABLE refresh_tokens ADD COLUMN used_at TIMESTAMP NULL;
ALTER TABLE refresh_tokens ADD COLUMN successor_jti TEXT NULL;
ALTER TABLE sessions DROP COLUMN rotated_at;
ALTER TABLE sessions DROP COLUMN previous_refresh_jti;
ALTER TABLE sessions DROP COLUMN refresh_issued_at;
ALTER TABLE sessions DROP COLUMN refresh_jti;
