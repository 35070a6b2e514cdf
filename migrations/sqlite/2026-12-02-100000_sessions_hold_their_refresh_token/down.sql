-- The chains go; every token recorded as outstanding can be rotated once more.
ALTER TABLE refresh_tokens ADD COLUMN used_at TIMESTAMP NULL;
ALTER TABLE refresh_tokens ADD COLUMN successor_jti TEXT NULL;
ALTER TABLE sessions DROP COLUMN rotated_at;
ALTER TABLE sessions DROP COLUMN previous_refresh_jti;
ALTER TABLE sessions DROP COLUMN refresh_issued_at;
ALTER TABLE sessions DROP COLUMN refresh_jti;
