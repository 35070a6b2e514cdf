//! Disposable databases for tests: each is fresh, migrated and empty, and is removed when dropped.
//!
//! `TestDatabase::sqlite()` always works. `TestDatabase::postgres()` needs `TEST_POSTGRES_URL`, the
//! URL of a maintenance database on a server where the user may create databases (for example
//! `postgres://postgres@127.0.0.1:5432/postgres`); without it, it returns `None` and the test
//! should say it is skipped.

use std::env;
use std::fs;
use std::io;
use std::path::PathBuf;
use std::process;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use diesel::{Connection, PgConnection, RunQueryDsl};

use crate::{Database, PoolOptions};

/// The variable naming the PostgreSQL maintenance database tests create their databases from.
pub const TEST_POSTGRES_URL: &str = "TEST_POSTGRES_URL";

/// Set to `1` to make a missing `TEST_POSTGRES_URL` fail the PostgreSQL tests instead of
/// skipping them.
pub const REQUIRE_POSTGRES: &str = "AUTH_TEST_REQUIRE_POSTGRES";

/// A fresh, migrated, empty database that is removed when dropped.
#[derive(Debug)]
pub struct TestDatabase {
    url: String,
    /// `None` only while being dropped: the pool closes before its database is removed.
    database: Option<Database>,
    cleanup: Cleanup,
}

#[derive(Debug)]
enum Cleanup {
    SqliteFile(PathBuf),
    PostgresDatabase {
        maintenance_url: String,
        name: String,
    },
}

impl TestDatabase {
    /// A SQLite file with a unique name in the system's temporary directory; the file and its
    /// `-wal` and `-shm` companions are deleted on drop.
    ///
    /// # Panics
    /// When the database cannot be created or migrated: a test cannot go on without it.
    pub fn sqlite() -> Self {
        let path = env::temp_dir().join(format!("auth-test-{}.sqlite3", unique_suffix()));
        let url = format!("sqlite://{}", path.display());
        let database = connect_and_migrate(&url);
        Self {
            url,
            database: Some(database),
            cleanup: Cleanup::SqliteFile(path),
        }
    }

    /// A new database `auth_test_<unique>` on the server named by `TEST_POSTGRES_URL`, dropped
    /// (`WITH (FORCE)`) on drop; `None` when the variable is unset.
    ///
    /// # Panics
    /// When the variable is set but the database cannot be created or migrated, and when it is
    /// unset while `AUTH_TEST_REQUIRE_POSTGRES=1` (CI sets it so that no PostgreSQL test can be
    /// skipped unnoticed).
    pub fn postgres() -> Option<Self> {
        // From creation on, dropping `Self` removes the database, even if migrating panics.
        let mut test_database = Self::postgres_unmigrated()?;
        test_database.database = Some(connect_and_migrate(&test_database.url));
        Some(test_database)
    }

    /// Like [`TestDatabase::postgres`], but not migrated: an empty database for another
    /// system's schema (the Django database the cutover tests import from).
    /// [`TestDatabase::database`], `execute` and `query_text` are not for it.
    ///
    /// # Panics
    /// As [`TestDatabase::postgres`].
    pub fn postgres_unmigrated() -> Option<Self> {
        let Ok(maintenance_url) = env::var(TEST_POSTGRES_URL) else {
            if env::var(REQUIRE_POSTGRES).is_ok_and(|value| value == "1") {
                panic!("{REQUIRE_POSTGRES}=1 but {TEST_POSTGRES_URL} is not set");
            }
            return None;
        };
        let name = format!("auth_test_{}", unique_suffix());
        let mut admin = PgConnection::establish(&maintenance_url).unwrap_or_else(|error| {
            panic!("cannot connect to {TEST_POSTGRES_URL} to create a test database: {error}")
        });
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .unwrap_or_else(|error| panic!("cannot create the test database {name}: {error}"));
        Some(Self {
            url: with_database_name(&maintenance_url, &name),
            database: None,
            cleanup: Cleanup::PostgresDatabase {
                maintenance_url,
                name,
            },
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Runs one SQL statement on the database, for tests that arrange what the API cannot
    /// (deactivating or deleting a user, say). Returns the number of rows affected.
    pub fn execute(&self, statement: &str) -> Result<usize, String> {
        self.database()
            .run(|conn| diesel::sql_query(statement).execute(conn))
            .map_err(|error| format!("{error:?}"))
    }

    /// Runs a query whose one column is text named `value` (`SELECT CAST(x AS TEXT) AS value
    /// …`), for tests that check what was stored; one entry per row.
    pub fn query_text(&self, query: &str) -> Result<Vec<Option<String>>, String> {
        self.database()
            .run(|conn| diesel::sql_query(query).load::<TextValue>(conn))
            .map(|rows| rows.into_iter().map(|row| row.value).collect())
            .map_err(|error| format!("{error:?}"))
    }

    pub fn database(&self) -> &Database {
        self.database
            .as_ref()
            .expect("the database is present until the TestDatabase is dropped")
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        drop(self.database.take());
        match &self.cleanup {
            Cleanup::SqliteFile(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let mut file = path.clone().into_os_string();
                    file.push(suffix);
                    match fs::remove_file(&file) {
                        Ok(()) => {}
                        Err(error) if error.kind() == io::ErrorKind::NotFound => {}
                        Err(error) => {
                            eprintln!("could not remove the test database file {file:?}: {error}");
                        }
                    }
                }
            }
            Cleanup::PostgresDatabase {
                maintenance_url,
                name,
            } => {
                let dropped = PgConnection::establish(maintenance_url)
                    .map_err(|error| error.to_string())
                    .and_then(|mut admin| {
                        diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                            .execute(&mut admin)
                            .map_err(|error| error.to_string())
                    });
                if let Err(error) = dropped {
                    eprintln!("could not drop the test database {name}: {error}");
                }
            }
        }
    }
}

#[derive(diesel::QueryableByName)]
struct TextValue {
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    value: Option<String>,
}

fn connect_and_migrate(url: &str) -> Database {
    let options = PoolOptions {
        max_size: 8,
        connection_timeout: Duration::from_secs(10),
        ..PoolOptions::default()
    };
    let database = Database::connect(url, options)
        .unwrap_or_else(|error| panic!("cannot connect to the test database: {error}"));
    database
        .run_migrations()
        .unwrap_or_else(|error| panic!("cannot migrate the test database: {error:?}"));
    database
}

/// Unique across the processes and threads of a test run: process id, time and a counter.
fn unique_suffix() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.subsec_nanos());
    format!("{}_{nanos}_{count}", process::id())
}

/// The URL with its database (the path) replaced by `name`, keeping user, host and parameters.
fn with_database_name(url: &str, name: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("postgres", url));
    let (before_query, query) = match rest.split_once('?') {
        Some((before, query)) => (before, Some(query)),
        None => (rest, None),
    };
    let authority = before_query
        .split_once('/')
        .map_or(before_query, |(authority, _)| authority);
    match query {
        Some(query) => format!("{scheme}://{authority}/{name}?{query}"),
        None => format!("{scheme}://{authority}/{name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_name_is_replaced_and_the_rest_kept() {
        assert_eq!(
            with_database_name("postgres://postgres@127.0.0.1:5432/postgres", "t1"),
            "postgres://postgres@127.0.0.1:5432/t1"
        );
        assert_eq!(
            with_database_name("postgresql://u:p@h/postgres?sslmode=disable", "t1"),
            "postgresql://u:p@h/t1?sslmode=disable"
        );
        assert_eq!(
            with_database_name("postgres://u@h:5432", "t1"),
            "postgres://u@h:5432/t1"
        );
    }
}
