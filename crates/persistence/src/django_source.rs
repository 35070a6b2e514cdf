//! `DjangoSource` over diesel: the original system's database, read once, without writing to it.
//!
//! Django keeps its own schema: `auth_user`, the profile table of the app that defines it, and
//! simplejwt's `token_blacklist_outstandingtoken` and `token_blacklist_blacklistedtoken`. Times
//! are read as text in UTC on both backends (Django's SQLite columns hold text already), and
//! parsed here.

use std::collections::BTreeMap;

use application::ports::{
    DjangoData, DjangoProfile, DjangoSource, DjangoSourceError, DjangoToken, DjangoUser,
};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Nullable, Text};
use diesel::{PgConnection, SqliteConnection};

use crate::connection::AnyConnection;
use crate::database_url::DatabaseUrl;

/// The columns of the original system's profile model, `id` included, found by this shape when
/// no table is named.
const PROFILE_COLUMNS: [&str; 5] = ["created_at", "id", "phone", "updated_at", "user_id"];
const OUTSTANDING: &str = "token_blacklist_outstandingtoken";
const BLACKLISTED: &str = "token_blacklist_blacklistedtoken";

/// A Django database, by URL: a SQLite file (opened read-only) or `postgres://…` (in a read-only
/// transaction, so that everything is read from one snapshot).
#[derive(Debug, Clone)]
pub struct DjangoDatabase {
    url: String,
    profile_table: Option<String>,
}

impl DjangoDatabase {
    /// `profile_table`: the profile table's name; `None` looks for the one table shaped like
    /// the original system's.
    ///
    /// # Errors
    /// When the URL has no accepted form; the message never repeats the URL.
    pub fn new(url: &str, profile_table: Option<String>) -> Result<Self, DjangoSourceError> {
        DatabaseUrl::parse(url).map_err(|problem| DjangoSourceError::Unreadable(problem.0))?;
        if let Some(table) = &profile_table
            && !is_identifier(table)
        {
            return Err(DjangoSourceError::ProfileTable(format!(
                "--profile-table {table:?} is not a table name (letters, digits and _)"
            )));
        }
        Ok(Self {
            url: url.to_owned(),
            profile_table,
        })
    }

    fn open(&self) -> Result<AnyConnection, DjangoSourceError> {
        let unreadable =
            |error: &dyn std::fmt::Display| DjangoSourceError::Unreadable(error.to_string());
        match DatabaseUrl::parse(&self.url)
            .map_err(|problem| DjangoSourceError::Unreadable(problem.0))?
        {
            DatabaseUrl::Postgres(url) => {
                let mut conn = PgConnection::establish(&url).map_err(|e| unreadable(&e))?;
                conn.batch_execute(
                    "SET TIME ZONE 'UTC'; \
                     BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;",
                )
                .map_err(|e| unreadable(&e))?;
                Ok(AnyConnection::Postgres(conn))
            }
            DatabaseUrl::SqliteFile(path) => {
                if !path.is_file() {
                    return Err(DjangoSourceError::Unreadable(format!(
                        "there is no SQLite database at {}",
                        path.display()
                    )));
                }
                let uri = format!("file:{}?mode=ro", uri_path(&path.to_string_lossy()));
                let mut conn = SqliteConnection::establish(&uri).map_err(|e| unreadable(&e))?;
                conn.batch_execute("PRAGMA busy_timeout = 5000; BEGIN;")
                    .map_err(|e| unreadable(&e))?;
                Ok(AnyConnection::Sqlite(conn))
            }
            DatabaseUrl::SqliteMemory => Err(DjangoSourceError::Unreadable(
                "an in-memory database holds no Django data".to_owned(),
            )),
        }
    }
}

#[derive(QueryableByName)]
struct ColumnRow {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
}

#[derive(QueryableByName)]
struct UserRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    username: String,
    #[diesel(sql_type = Text)]
    email: String,
    #[diesel(sql_type = Text)]
    password: String,
    #[diesel(sql_type = Text)]
    first_name: String,
    #[diesel(sql_type = Text)]
    last_name: String,
    #[diesel(sql_type = Bool)]
    is_active: bool,
    #[diesel(sql_type = Bool)]
    is_staff: bool,
    #[diesel(sql_type = Bool)]
    is_superuser: bool,
    #[diesel(sql_type = Text)]
    date_joined: String,
    #[diesel(sql_type = Nullable<Text>)]
    last_login: Option<String>,
}

#[derive(QueryableByName)]
struct ProfileRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = BigInt)]
    user_id: i64,
    #[diesel(sql_type = Text)]
    phone: String,
    #[diesel(sql_type = Text)]
    created_at: String,
    #[diesel(sql_type = Text)]
    updated_at: String,
}

#[derive(QueryableByName)]
struct TokenRow {
    #[diesel(sql_type = Text)]
    jti: String,
    #[diesel(sql_type = Nullable<BigInt>)]
    user_id: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    created_at: Option<String>,
    #[diesel(sql_type = Text)]
    expires_at: String,
    #[diesel(sql_type = Nullable<Text>)]
    blacklisted_at: Option<String>,
}

impl DjangoSource for DjangoDatabase {
    fn read(&self) -> Result<DjangoData, DjangoSourceError> {
        let mut conn = self.open()?;
        let dialect = Dialect::of(&conn);
        let unreadable =
            |error: diesel::result::Error| DjangoSourceError::Unreadable(error.to_string());
        let tables = tables(&mut conn, dialect).map_err(unreadable)?;
        if !tables.contains_key("auth_user") {
            return Err(DjangoSourceError::Unreadable(
                "it has no auth_user table: is it a migrated Django database?".to_owned(),
            ));
        }
        let profile_table = self.profile_table(&tables)?;

        let ts = |column: &str| dialect.timestamp(column);
        let users: Vec<UserRow> = diesel::sql_query(format!(
            "SELECT CAST(id AS BIGINT) AS id, username, email, password, first_name, last_name, \
             is_active, is_staff, is_superuser, {} AS date_joined, {} AS last_login \
             FROM auth_user ORDER BY id",
            ts("date_joined"),
            ts("last_login"),
        ))
        .load(&mut conn)
        .map_err(unreadable)?;
        let profiles: Vec<ProfileRow> = match &profile_table {
            Some(table) => diesel::sql_query(format!(
                "SELECT CAST(id AS BIGINT) AS id, CAST(user_id AS BIGINT) AS user_id, \
                 COALESCE(phone, '') AS phone, \
                 {} AS created_at, {} AS updated_at FROM \"{table}\" ORDER BY user_id",
                ts("created_at"),
                ts("updated_at"),
            ))
            .load(&mut conn)
            .map_err(unreadable)?,
            None => Vec::new(),
        };
        let tokens: Vec<TokenRow> = if tables.contains_key(OUTSTANDING) {
            let blacklisted = if tables.contains_key(BLACKLISTED) {
                format!(
                    "(SELECT {} FROM {BLACKLISTED} b WHERE b.token_id = o.id)",
                    ts("b.blacklisted_at")
                )
            } else {
                "NULL".to_owned()
            };
            diesel::sql_query(format!(
                "SELECT o.jti AS jti, CAST(o.user_id AS BIGINT) AS user_id, \
                 {} AS created_at, {} AS expires_at, {blacklisted} AS blacklisted_at \
                 FROM {OUTSTANDING} o ORDER BY o.id",
                ts("o.created_at"),
                ts("o.expires_at"),
            ))
            .load(&mut conn)
            .map_err(unreadable)?
        } else {
            Vec::new()
        };

        Ok(DjangoData {
            users: users.into_iter().map(to_user).collect::<Result<_, _>>()?,
            profiles: profiles
                .into_iter()
                .map(to_profile)
                .collect::<Result<_, _>>()?,
            tokens: tokens.into_iter().map(to_token).collect::<Result<_, _>>()?,
            profile_table,
        })
    }
}

impl DjangoDatabase {
    /// The named table, checked, or the one table shaped like the original's profile.
    fn profile_table(
        &self,
        tables: &BTreeMap<String, Vec<String>>,
    ) -> Result<Option<String>, DjangoSourceError> {
        if let Some(name) = &self.profile_table {
            let Some(columns) = tables.get(name) else {
                return Err(DjangoSourceError::ProfileTable(format!(
                    "the Django database has no table {name:?}"
                )));
            };
            let missing: Vec<&str> = PROFILE_COLUMNS
                .into_iter()
                .filter(|&needed| needed != "id" && !columns.iter().any(|c| c == needed))
                .collect();
            if !missing.is_empty() {
                return Err(DjangoSourceError::ProfileTable(format!(
                    "the table {name:?} has no column {}",
                    missing.join(", ")
                )));
            }
            return Ok(Some(name.clone()));
        }
        let shaped: Vec<&String> = tables
            .iter()
            .filter(|(_, columns)| columns.iter().map(String::as_str).eq(PROFILE_COLUMNS))
            .map(|(name, _)| name)
            .collect();
        match shaped.as_slice() {
            [] => Ok(None),
            [one] => Ok(Some((*one).clone())),
            several => Err(DjangoSourceError::ProfileTable(format!(
                "several tables look like the profile table ({}): name it with --profile-table",
                several
                    .iter()
                    .map(|name| name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Dialect {
    Postgres,
    Sqlite,
}

impl Dialect {
    fn of(conn: &AnyConnection) -> Self {
        match conn {
            AnyConnection::Postgres(_) => Self::Postgres,
            AnyConnection::Sqlite(_) => Self::Sqlite,
        }
    }

    /// A timestamp column as UTC text. The session's zone is UTC on PostgreSQL, where Django's
    /// `USE_TZ = True` columns are `timestamptz`.
    fn timestamp(self, column: &str) -> String {
        match self {
            Self::Postgres => format!("to_char({column}, 'YYYY-MM-DD HH24:MI:SS.US')"),
            Self::Sqlite => format!("CAST({column} AS TEXT)"),
        }
    }
}

/// Every table of the current schema, with its column names sorted.
fn tables(
    conn: &mut AnyConnection,
    dialect: Dialect,
) -> Result<BTreeMap<String, Vec<String>>, diesel::result::Error> {
    let query = match dialect {
        Dialect::Postgres => {
            "SELECT CAST(table_name AS TEXT) AS table_name, \
             CAST(column_name AS TEXT) AS column_name \
             FROM information_schema.columns WHERE table_schema = current_schema()"
        }
        Dialect::Sqlite => {
            "SELECT m.name AS table_name, p.name AS column_name \
             FROM sqlite_master m JOIN pragma_table_info(m.name) p WHERE m.type = 'table'"
        }
    };
    let rows: Vec<ColumnRow> = diesel::sql_query(query).load(conn)?;
    let mut tables: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for row in rows {
        tables
            .entry(row.table_name)
            .or_default()
            .push(row.column_name);
    }
    for columns in tables.values_mut() {
        columns.sort();
    }
    Ok(tables)
}

fn to_user(row: UserRow) -> Result<DjangoUser, DjangoSourceError> {
    Ok(DjangoUser {
        date_joined: parse_time(&row.date_joined, "auth_user.date_joined")?,
        last_login: row
            .last_login
            .as_deref()
            .map(|at| parse_time(at, "auth_user.last_login"))
            .transpose()?,
        id: row.id,
        username: row.username,
        email: row.email,
        password: row.password,
        first_name: row.first_name,
        last_name: row.last_name,
        is_active: row.is_active,
        is_staff: row.is_staff,
        is_superuser: row.is_superuser,
    })
}

fn to_profile(row: ProfileRow) -> Result<DjangoProfile, DjangoSourceError> {
    Ok(DjangoProfile {
        id: row.id,
        user_id: row.user_id,
        phone: row.phone,
        created_at: parse_time(&row.created_at, "profile created_at")?,
        updated_at: parse_time(&row.updated_at, "profile updated_at")?,
    })
}

fn to_token(row: TokenRow) -> Result<DjangoToken, DjangoSourceError> {
    Ok(DjangoToken {
        created_at: row
            .created_at
            .as_deref()
            .map(|at| parse_time(at, "outstanding token created_at"))
            .transpose()?,
        expires_at: parse_time(&row.expires_at, "outstanding token expires_at")?,
        blacklisted_at: row
            .blacklisted_at
            .as_deref()
            .map(|at| parse_time(at, "blacklisted token blacklisted_at"))
            .transpose()?,
        jti: row.jti,
        user_id: row.user_id,
    })
}

/// A time as Django writes it: `YYYY-MM-DD HH:MM:SS[.ffffff]`, in UTC, perhaps with a `T`
/// between date and time or a `+00:00` or `Z` after it (from rows written by other tools).
fn parse_time(text: &str, what: &str) -> Result<DateTime<Utc>, DjangoSourceError> {
    let trimmed = text.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(&trimmed.replacen(' ', "T", 1)) {
        return Ok(at.with_timezone(&Utc));
    }
    NaiveDateTime::parse_from_str(&trimmed.replacen('T', " ", 1), "%Y-%m-%d %H:%M:%S%.f")
        .map(|at| at.and_utc())
        .map_err(|_| DjangoSourceError::Unreadable(format!("{what} {text:?} is not a time")))
}

fn is_identifier(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A path as the path part of a SQLite `file:` URI: `%`, `?` and `#` escaped.
fn uri_path(path: &str) -> String {
    path.replace('%', "%25")
        .replace('?', "%3f")
        .replace('#', "%23")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn django_s_time_formats_parse_as_utc() {
        let expected = "2026-11-30T10:20:30.123456Z";
        for text in [
            "2026-11-30 10:20:30.123456",
            "2026-11-30T10:20:30.123456",
            "2026-11-30 10:20:30.123456+00:00",
            "2026-11-30T10:20:30.123456Z",
        ] {
            let at = parse_time(text, "t").expect(text);
            assert_eq!(
                at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                expected
            );
        }
        let whole = parse_time("2026-11-30 10:20:30", "t").expect("no fraction");
        assert_eq!(whole.timestamp_subsec_micros(), 0);
        assert!(parse_time("yesterday", "t").is_err());
    }

    #[test]
    fn only_plain_names_are_taken_as_profile_tables() {
        assert!(DjangoDatabase::new("db.sqlite3", Some("accounts_profile".into())).is_ok());
        for bad in ["", "a b", "x\";DROP TABLE auth_user;--", "schema.table"] {
            assert!(
                DjangoDatabase::new("db.sqlite3", Some(bad.into())).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_url_of_no_accepted_form_is_refused_without_repeating_it() {
        let error = DjangoDatabase::new("mysql://root:secret@db/app", None).expect_err("refused");
        assert!(!error.to_string().contains("secret"), "{error}");
    }

    #[test]
    fn a_missing_sqlite_file_is_reported() {
        let source = DjangoDatabase::new("/nonexistent/django.sqlite3", None).expect("url");
        let error = source.read().expect_err("no file");
        assert!(error.to_string().contains("no SQLite database"), "{error}");
    }
}
