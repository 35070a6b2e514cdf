-- The login back-off's records (see domain::throttle), shared by every instance. Times are UTC,
-- stored without a zone. Keep the tables and columns identical to ../../sqlite: a test compares
-- the two schemas.
--
-- Each row carries a version that every write increments: a charge updates a row only if its
-- version is still the one read (or inserts it only if it is still absent), so concurrent
-- attempts cannot both pass on the same state, without row locks. `expires_at` is when the row
-- stops changing any decision and may be pruned.

-- Per client address and username, whether or not such a user exists.
CREATE TABLE login_throttle_addresses (
    username TEXT NOT NULL,
    address TEXT NOT NULL,
    failures BIGINT NOT NULL CHECK (failures >= 0),
    last_failure_at TIMESTAMP NULL,
    -- The last successful sign-in from the address: a known address is exempt from the cap.
    signed_in_at TIMESTAMP NULL,
    version BIGINT NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    PRIMARY KEY (username, address)
);
CREATE INDEX login_throttle_addresses_expires_at_idx ON login_throttle_addresses (expires_at);

-- Per username across addresses not known to it: the counts of the current and previous window.
CREATE TABLE login_throttle_accounts (
    username TEXT NOT NULL PRIMARY KEY,
    window_start TIMESTAMP NOT NULL,
    attempts BIGINT NOT NULL CHECK (attempts >= 0),
    previous_attempts BIGINT NOT NULL CHECK (previous_attempts >= 0),
    version BIGINT NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX login_throttle_accounts_expires_at_idx ON login_throttle_accounts (expires_at);
