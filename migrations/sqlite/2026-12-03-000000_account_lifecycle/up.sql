-- The account lifecycle: whether a user's address is proven, the address a user asked to change
-- to, and the outbox. Times are UTC, stored as text
-- ('YYYY-MM-DD HH:MM:SS.ffffff') so that they compare in time order. SQLite's lower() folds ASCII
-- letters only, as for users_email_lower_key.
-- Keep the tables and columns identical to the other dialect's folder: a test compares the two
-- schemas.

-- Existing users start unverified: nothing proved their addresses.
ALTER TABLE users ADD COLUMN email_verified BOOLEAN NOT NULL DEFAULT FALSE;
-- Not unique: the address becomes the user's only once verified, and then users_email_lower_key
-- decides.
ALTER TABLE users ADD COLUMN pending_email TEXT NULL;

-- Work a change causes, committed in the change's transaction and done later by the worker.
-- kind: 'email' (mail_kind is MailKind::as_str), 'password_reset_requested' or
--   'verification_resend_requested' (requests the worker resolves into mails; bodies empty).
-- recipient: the address, as given; compared with lower() on both sides.
-- status: 'pending' until 'sent' or 'failed'; the bodies are cleared then (a reset link must not
--   outlive its delivery), and finished_at says from when the row may be pruned.
-- leased_until: set by the worker that claimed the row; once past, the row is claimable again.
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    mail_kind TEXT NULL,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL DEFAULT '',
    text_body TEXT NOT NULL DEFAULT '',
    html_body TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    attempts BIGINT NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at TIMESTAMP NOT NULL,
    leased_until TIMESTAMP NULL,
    last_error TEXT NULL,
    created_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP NULL
);

-- Claiming: pending rows that are due.
CREATE INDEX outbox_status_next_attempt_at_idx ON outbox (status, next_attempt_at);
-- The per-address cap: recent mails of one kind to one address, ignoring case.
CREATE INDEX outbox_mail_kind_recipient_created_at_idx
    ON outbox (mail_kind, lower(recipient), created_at);
-- Pruning: rows finished before a time.
CREATE INDEX outbox_finished_at_idx ON outbox (finished_at);
