-- The audit log: what happened to an account, to whom, from where. Times are UTC, stored without a zone.
-- Keep the tables and columns identical to ../../sqlite: a test compares the two schemas.
-- No foreign keys: an account's events outlive the account, and a session's its pruning.

CREATE TABLE auth_events (
    id BIGSERIAL PRIMARY KEY,
    occurred_at TIMESTAMP NOT NULL,
    event TEXT NOT NULL,
    user_id BIGINT NULL,
    username TEXT NULL,
    ip_address TEXT NOT NULL DEFAULT '',
    user_agent TEXT NOT NULL DEFAULT '',
    request_id TEXT NULL,
    session_id TEXT NULL,
    detail TEXT NULL
);

-- Listing by time, and pruning past the retention.
CREATE INDEX auth_events_occurred_at_idx ON auth_events (occurred_at);
-- "Who signed in to this account": by account, and by the username tried.
CREATE INDEX auth_events_user_id_idx ON auth_events (user_id, occurred_at);
CREATE INDEX auth_events_username_idx ON auth_events (username, occurred_at);
