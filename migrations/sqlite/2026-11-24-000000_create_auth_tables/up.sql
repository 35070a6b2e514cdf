-- Users, their profiles, and issued refresh tokens. Times are UTC, stored as text
-- ('YYYY-MM-DD HH:MM:SS.ffffff') so that they compare in time order.
-- Keep the tables and columns identical to ../../postgres: a test compares the two schemas.

CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username VARCHAR(150) NOT NULL CONSTRAINT users_username_key UNIQUE,
    email VARCHAR(254) NOT NULL,
    password VARCHAR(255) NOT NULL,
    first_name VARCHAR(150) NOT NULL DEFAULT '',
    last_name VARCHAR(150) NOT NULL DEFAULT '',
    is_active BOOLEAN NOT NULL DEFAULT TRUE,
    is_staff BOOLEAN NOT NULL DEFAULT FALSE,
    is_superuser BOOLEAN NOT NULL DEFAULT FALSE,
    date_joined TIMESTAMP NOT NULL,
    last_login TIMESTAMP NULL
);

-- Emails are unique ignoring case; the database decides, so concurrent registrations cannot both win.
-- SQLite's lower() folds ASCII letters only.
CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));

CREATE TABLE profiles (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL CONSTRAINT profiles_user_id_key UNIQUE
        REFERENCES users (id) ON DELETE CASCADE,
    phone VARCHAR(20) NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- No foreign key on user_id: a revoked token must stay revoked after its user is deleted.
CREATE TABLE refresh_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    jti VARCHAR(255) NOT NULL CONSTRAINT refresh_tokens_jti_key UNIQUE,
    user_id BIGINT NOT NULL,
    issued_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP NULL
);

CREATE INDEX refresh_tokens_user_id_idx ON refresh_tokens (user_id);
CREATE INDEX refresh_tokens_expires_at_idx ON refresh_tokens (expires_at);
