ALTER TABLE refresh_tokens DROP COLUMN successor_jti;
ALTER TABLE refresh_tokens DROP COLUMN used_at;
ALTER TABLE refresh_tokens DROP COLUMN session_id;
DROP TABLE sessions;
