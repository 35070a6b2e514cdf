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
