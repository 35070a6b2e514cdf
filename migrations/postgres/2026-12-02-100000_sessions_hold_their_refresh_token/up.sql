-- A session holds the head of its refresh-token chain, so that a rotation is one conditional
-- update of one row instead of a transaction over two tables. Keep the tables and columns
-- identical to the other dialect's folder: a test compares the two schemas.
--
-- refresh_jti, refresh_issued_at: the session's current refresh token, the only one a rotation
--   accepts; NULL until the first rotation, while the session's first token is its only one.
-- previous_refresh_jti, rotated_at: the token the last rotation spent and when; a client that
--   lost the race presents it within the reuse interval and gets the current one.
ALTER TABLE sessions ADD COLUMN refresh_jti TEXT NULL;
ALTER TABLE sessions ADD COLUMN refresh_issued_at TIMESTAMP NULL;
ALTER TABLE sessions ADD COLUMN previous_refresh_jti TEXT NULL;
ALTER TABLE sessions ADD COLUMN rotated_at TIMESTAMP NULL;

-- Sessions that rotated under the previous scheme carry their chain over: the last spend of
-- each session names the current token and the one before it.
UPDATE sessions
SET previous_refresh_jti = (
        SELECT spent.jti FROM refresh_tokens spent
        WHERE spent.session_id = sessions.id AND spent.used_at IS NOT NULL
        ORDER BY spent.used_at DESC, spent.id DESC LIMIT 1),
    rotated_at = (
        SELECT spent.used_at FROM refresh_tokens spent
        WHERE spent.session_id = sessions.id AND spent.used_at IS NOT NULL
        ORDER BY spent.used_at DESC, spent.id DESC LIMIT 1),
    refresh_jti = (
        SELECT spent.successor_jti FROM refresh_tokens spent
        WHERE spent.session_id = sessions.id AND spent.used_at IS NOT NULL
        ORDER BY spent.used_at DESC, spent.id DESC LIMIT 1)
WHERE EXISTS (
    SELECT 1 FROM refresh_tokens spent
    WHERE spent.session_id = sessions.id AND spent.used_at IS NOT NULL);
UPDATE sessions
SET refresh_issued_at = (
    SELECT head.issued_at FROM refresh_tokens head WHERE head.jti = sessions.refresh_jti)
WHERE refresh_jti IS NOT NULL;

ALTER TABLE refresh_tokens DROP COLUMN used_at;
ALTER TABLE refresh_tokens DROP COLUMN successor_jti;

-- A rotation moves last_used_at and expires_at; every index holding either is a page more that
-- each rotation writes. A user's sessions are few (MAX_SESSIONS_PER_USER), so listing and
-- eviction sort them without an index, and pruning searches for dead rows with a read, outside
-- the write lock, before it deletes them by id.
DROP INDEX sessions_user_id_last_used_at_idx;
DROP INDEX sessions_expires_at_idx;
CREATE INDEX sessions_user_id_idx ON sessions (user_id);
