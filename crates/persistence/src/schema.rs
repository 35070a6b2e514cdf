//! The tables created by `migrations/postgres` and `migrations/sqlite`, and the SQL functions
//! the queries call.

use diesel::sql_types::{Nullable, Text};

diesel::table! {
    users (id) {
        id -> BigInt,
        username -> Text,
        email -> Text,
        password -> Text,
        first_name -> Text,
        last_name -> Text,
        is_active -> Bool,
        is_staff -> Bool,
        is_superuser -> Bool,
        date_joined -> Timestamp,
        last_login -> Nullable<Timestamp>,
        email_verified -> Bool,
        pending_email -> Nullable<Text>,
    }
}

diesel::table! {
    profiles (id) {
        id -> BigInt,
        user_id -> BigInt,
        phone -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> BigInt,
        jti -> Text,
        user_id -> BigInt,
        issued_at -> Timestamp,
        expires_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        session_id -> Nullable<Text>,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        user_id -> BigInt,
        created_at -> Timestamp,
        last_used_at -> Timestamp,
        expires_at -> Timestamp,
        absolute_expires_at -> Timestamp,
        ip_address -> Text,
        user_agent -> Text,
        ended_at -> Nullable<Timestamp>,
        end_reason -> Nullable<Text>,
        refresh_jti -> Nullable<Text>,
        refresh_issued_at -> Nullable<Timestamp>,
        previous_refresh_jti -> Nullable<Text>,
        rotated_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    login_throttle_addresses (username, address) {
        username -> Text,
        address -> Text,
        failures -> BigInt,
        last_failure_at -> Nullable<Timestamp>,
        signed_in_at -> Nullable<Timestamp>,
        version -> BigInt,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    login_throttle_accounts (username) {
        username -> Text,
        window_start -> Timestamp,
        attempts -> BigInt,
        previous_attempts -> BigInt,
        version -> BigInt,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    outbox (id) {
        id -> BigInt,
        kind -> Text,
        mail_kind -> Nullable<Text>,
        recipient -> Text,
        subject -> Text,
        text_body -> Text,
        html_body -> Text,
        status -> Text,
        attempts -> BigInt,
        next_attempt_at -> Timestamp,
        leased_until -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        finished_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    auth_events (id) {
        id -> BigInt,
        occurred_at -> Timestamp,
        event -> Text,
        user_id -> Nullable<BigInt>,
        username -> Nullable<Text>,
        ip_address -> Text,
        user_agent -> Text,
        request_id -> Nullable<Text>,
        session_id -> Nullable<Text>,
        detail -> Nullable<Text>,
    }
}

diesel::joinable!(profiles -> users (user_id));
diesel::joinable!(sessions -> users (user_id));
diesel::allow_tables_to_appear_in_same_query!(users, profiles, sessions);

diesel::define_sql_function! {
    /// SQL `lower()`: ASCII-only on SQLite, locale-aware on PostgreSQL.
    fn lower(text: Text) -> Text;
}

diesel::define_sql_function! {
    /// SQL `lower()` of a nullable column.
    #[sql_name = "lower"]
    fn lower_nullable(text: Nullable<Text>) -> Nullable<Text>;
}
