-- Sessions (one per signed-in device) and refresh-token rotation. Times are UTC, stored without a zone.
-- Keep the tables and columns identical to ../../sqlite: a test compares the two schemas.

CREATE TABLE sessions (
    id TEXT NOT NULL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    absolute_expires_at TIMESTAMP NOT NULL,
    ip_address TEXT NOT NULL DEFAULT '',
    user_agent TEXT NOT NULL DEFAULT '',
    ended_at TIMESTAMP NULL,
    end_reason TEXT NULL
);

-- A user's sessions by recency: listing, eviction, ending them all, and the cascade from users.
CREATE INDEX sessions_user_id_last_used_at_idx ON sessions (user_id, last_used_at);
-- Pruning looks for rows ended or expired before a time, by any of the three.
CREATE INDEX sessions_ended_at_idx ON sessions (ended_at);
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);
CREATE INDEX sessions_absolute_expires_at_idx ON sessions (absolute_expires_at);

-- No foreign key on session_id: pruning sessions never touches tokens, and a token whose session
-- is gone is refused as the token of an ended session.
ALTER TABLE refresh_tokens ADD COLUMN session_id TEXT NULL;
-- Set once, by the rotation that spent the token, together with the jti of the token it issued.
ALTER TABLE refresh_tokens ADD COLUMN used_at TIMESTAMP NULL;
ALTER TABLE refresh_tokens ADD COLUMN successor_jti TEXT NULL;
