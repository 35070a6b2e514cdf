//! Direct SQL for what the ports do not offer: counting rows, reading columns, deleting users.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};
use diesel::{PgConnection, SqliteConnection};
use persistence::Backend;
use persistence::testing::TestDatabase;

#[derive(diesel::MultiConnection)]
pub(crate) enum RawConnection {
    Postgres(PgConnection),
    Sqlite(SqliteConnection),
}

pub(crate) fn connect(database: &TestDatabase) -> RawConnection {
    match database.database().backend() {
        Backend::Postgres => RawConnection::Postgres(
            PgConnection::establish(database.url()).expect("connect to the test database"),
        ),
        Backend::Sqlite => {
            let path = database
                .url()
                .strip_prefix("sqlite://")
                .expect("TestDatabase::sqlite gives a sqlite:// URL");
            let mut conn = SqliteConnection::establish(path).expect("open the test database");
            conn.batch_execute("PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;")
                .expect("set pragmas");
            RawConnection::Sqlite(conn)
        }
    }
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

pub(crate) fn count(conn: &mut RawConnection, table: &str) -> i64 {
    diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {table}"))
        .get_result::<Count>(conn)
        .expect("count rows")
        .n
}

pub(crate) fn count_emails(conn: &mut RawConnection, email: &str) -> i64 {
    diesel::sql_query("SELECT COUNT(*) AS n FROM users WHERE lower(email) = lower($1)")
        .bind::<Text, _>(email)
        .get_result::<Count>(conn)
        .expect("count users by email")
        .n
}

#[derive(Debug, QueryableByName)]
pub(crate) struct TokenRow {
    #[diesel(sql_type = BigInt)]
    pub(crate) user_id: i64,
    #[diesel(sql_type = Timestamp)]
    pub(crate) issued_at: chrono::NaiveDateTime,
    #[diesel(sql_type = Timestamp)]
    pub(crate) expires_at: chrono::NaiveDateTime,
    #[diesel(sql_type = Nullable<Timestamp>)]
    pub(crate) revoked_at: Option<chrono::NaiveDateTime>,
    #[diesel(sql_type = Nullable<Text>)]
    pub(crate) session_id: Option<String>,
}

pub(crate) fn token(conn: &mut RawConnection, jti: &str) -> Option<TokenRow> {
    diesel::sql_query(
        "SELECT user_id, issued_at, expires_at, revoked_at, session_id \
         FROM refresh_tokens WHERE jti = $1",
    )
    .bind::<Text, _>(jti)
    .get_result::<TokenRow>(conn)
    .optional()
    .expect("read a token row")
}

pub(crate) fn delete_user(conn: &mut RawConnection, id: i64) {
    diesel::sql_query("DELETE FROM users WHERE id = $1")
        .bind::<BigInt, _>(id)
        .execute(conn)
        .expect("delete a user");
}

/// Makes every profile insert with phone `555` fail, to see a creation fail halfway.
pub(crate) fn refuse_phone_555(conn: &mut RawConnection) {
    let sql = match conn {
        RawConnection::Postgres(_) => {
            "CREATE FUNCTION refuse_phone_555() RETURNS trigger AS $$ \
             BEGIN IF NEW.phone = '555' THEN RAISE EXCEPTION 'phone 555 refused'; END IF; \
             RETURN NEW; END $$ LANGUAGE plpgsql; \
             CREATE TRIGGER refuse_phone_555 BEFORE INSERT ON profiles \
             FOR EACH ROW EXECUTE FUNCTION refuse_phone_555();"
        }
        RawConnection::Sqlite(_) => {
            "CREATE TRIGGER refuse_phone_555 BEFORE INSERT ON profiles \
             WHEN NEW.phone = '555' BEGIN SELECT RAISE(ABORT, 'phone 555 refused'); END;"
        }
    };
    conn.batch_execute(sql).expect("create the trigger");
}

pub(crate) fn count_where(conn: &mut RawConnection, table: &str, condition: &str) -> i64 {
    diesel::sql_query(format!(
        "SELECT COUNT(*) AS n FROM {table} WHERE {condition}"
    ))
    .get_result::<Count>(conn)
    .expect("count rows")
    .n
}

/// The columns of an outbox row that the worker's calls write.
#[derive(Debug, QueryableByName)]
pub(crate) struct OutboxRow {
    #[diesel(sql_type = Text)]
    pub(crate) status: String,
    #[diesel(sql_type = Text)]
    pub(crate) subject: String,
    #[diesel(sql_type = Text)]
    pub(crate) text_body: String,
    #[diesel(sql_type = Text)]
    pub(crate) html_body: String,
    #[diesel(sql_type = BigInt)]
    pub(crate) attempts: i64,
    #[diesel(sql_type = Timestamp)]
    pub(crate) next_attempt_at: chrono::NaiveDateTime,
    #[diesel(sql_type = Nullable<Timestamp>)]
    pub(crate) leased_until: Option<chrono::NaiveDateTime>,
    #[diesel(sql_type = Nullable<Text>)]
    pub(crate) last_error: Option<String>,
    #[diesel(sql_type = Nullable<Timestamp>)]
    pub(crate) finished_at: Option<chrono::NaiveDateTime>,
}

pub(crate) fn outbox_row(conn: &mut RawConnection, id: i64) -> Option<OutboxRow> {
    diesel::sql_query(
        "SELECT status, subject, text_body, html_body, attempts, next_attempt_at, leased_until, \
         last_error, finished_at FROM outbox WHERE id = $1",
    )
    .bind::<BigInt, _>(id)
    .get_result::<OutboxRow>(conn)
    .optional()
    .expect("read an outbox row")
}

/// An outbox row of a kind this build does not know, due at `at`.
pub(crate) fn insert_outbox_kind(conn: &mut RawConnection, kind: &str, at: chrono::NaiveDateTime) {
    diesel::sql_query(
        "INSERT INTO outbox (kind, recipient, status, next_attempt_at, created_at) \
         VALUES ($1, 'someone@example.com', 'pending', $2, $2)",
    )
    .bind::<Text, _>(kind)
    .bind::<Timestamp, _>(at)
    .execute(conn)
    .expect("insert an outbox row");
}

/// Makes every outbox insert for `refused@example.com` fail, to see a change fail after its
/// other writes.
pub(crate) fn refuse_outbox_recipient(conn: &mut RawConnection) {
    let sql = match conn {
        RawConnection::Postgres(_) => {
            "CREATE FUNCTION refuse_recipient() RETURNS trigger AS $$ \
             BEGIN IF NEW.recipient = 'refused@example.com' THEN \
             RAISE EXCEPTION 'recipient refused'; END IF; \
             RETURN NEW; END $$ LANGUAGE plpgsql; \
             CREATE TRIGGER refuse_recipient BEFORE INSERT ON outbox \
             FOR EACH ROW EXECUTE FUNCTION refuse_recipient();"
        }
        RawConnection::Sqlite(_) => {
            "CREATE TRIGGER refuse_recipient BEFORE INSERT ON outbox \
             WHEN NEW.recipient = 'refused@example.com' \
             BEGIN SELECT RAISE(ABORT, 'recipient refused'); END;"
        }
    };
    conn.batch_execute(sql).expect("create the trigger");
}

pub(crate) fn max_id(conn: &mut RawConnection, table: &str) -> i64 {
    diesel::sql_query(format!("SELECT MAX(id) AS n FROM {table}"))
        .get_result::<Count>(conn)
        .expect("read the largest id")
        .n
}
