//! The connection type behind the pool, and the r2d2 manager that opens and checks it.

use std::fmt;
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::r2d2::R2D2Connection;
use diesel::{Connection, ConnectionError, PgConnection, SqliteConnection};

use crate::database_url::DatabaseUrl;

/// One connection to either backend; every query in this crate is written once against it.
#[derive(diesel::MultiConnection)]
pub(crate) enum AnyConnection {
    Postgres(PgConnection),
    Sqlite(SqliteConnection),
}

/// Run on every new SQLite connection. `busy_timeout` comes first: switching a fresh database to
/// WAL while another connection does the same fails at once with "database is locked" otherwise.
const SQLITE_PRAGMAS: &str = "PRAGMA busy_timeout = 5000; \
     PRAGMA journal_mode = WAL; \
     PRAGMA synchronous = NORMAL; \
     PRAGMA foreign_keys = ON;";

/// A connection as the pool holds it. `lost` is set by whoever saw it fail at the connection
/// level, so that the pool discards it instead of handing it out again.
pub(crate) struct PooledConnection {
    pub(crate) inner: AnyConnection,
    pub(crate) lost: bool,
    /// When a query last succeeded on it: a connection in steady use needs no test query.
    pub(crate) last_used: Instant,
}

/// Opens connections for r2d2. The derived `MultiConnection::establish` is not used because it
/// replaces libpq's message (wrong password, connection refused…) with a generic one.
pub(crate) struct ConnectionManager {
    target: Target,
    check_idle_after: Duration,
}

enum Target {
    Postgres { url: String },
    Sqlite { path: String },
}

impl ConnectionManager {
    /// `connect_timeout` bounds how long libpq waits for an unreachable host, unless the URL sets
    /// its own.
    pub(crate) fn new(
        url: &DatabaseUrl,
        connect_timeout: Duration,
        check_idle_after: Duration,
    ) -> Self {
        let target = match url {
            DatabaseUrl::Postgres(url) => Target::Postgres {
                url: with_connect_timeout(url, connect_timeout),
            },
            DatabaseUrl::SqliteFile(path) => Target::Sqlite {
                path: path.to_string_lossy().into_owned(),
            },
            DatabaseUrl::SqliteMemory => Target::Sqlite {
                path: ":memory:".to_owned(),
            },
        };
        Self {
            target,
            check_idle_after,
        }
    }

    pub(crate) fn establish(&self) -> Result<PooledConnection, ConnectionError> {
        let inner = match &self.target {
            Target::Postgres { url } => AnyConnection::Postgres(PgConnection::establish(url)?),
            Target::Sqlite { path } => {
                let mut conn = SqliteConnection::establish(path)?;
                conn.batch_execute(SQLITE_PRAGMAS)
                    .map_err(ConnectionError::CouldntSetupConfiguration)?;
                AnyConnection::Sqlite(conn)
            }
        };
        Ok(PooledConnection {
            inner,
            lost: false,
            last_used: Instant::now(),
        })
    }
}

impl fmt::Debug for ConnectionManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The PostgreSQL URL may carry a password.
        let target = match &self.target {
            Target::Postgres { .. } => "postgres",
            Target::Sqlite { path } => path.as_str(),
        };
        f.debug_struct("ConnectionManager")
            .field("target", &target)
            .finish()
    }
}

impl r2d2::ManageConnection for ConnectionManager {
    type Connection = PooledConnection;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<PooledConnection, Self::Error> {
        self.establish()
            .map_err(diesel::r2d2::Error::ConnectionError)
    }

    /// Runs `SELECT 1` at checkout, so that connections killed by a database restart are
    /// replaced before a request sees them.
    /// Tests only a connection that sat idle, as HikariCP does: one in steady use just answered,
    /// and a test query on every checkout doubled the round trips of a request. A connection
    /// broken while in use fails its next query instead, and `Database::run` retires it.
    fn is_valid(&self, conn: &mut PooledConnection) -> Result<(), Self::Error> {
        if conn.last_used.elapsed() < self.check_idle_after {
            return Ok(());
        }
        conn.inner.ping().map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut PooledConnection) -> bool {
        conn.lost || std::thread::panicking() || conn.inner.is_broken()
    }
}

/// Adds libpq's `connect_timeout` (whole seconds, at least 2: libpq treats 1 as 2) unless the
/// URL already has one.
fn with_connect_timeout(url: &str, timeout: Duration) -> String {
    if url.contains("connect_timeout=") {
        return url.to_owned();
    }
    let seconds = timeout.as_secs().max(2);
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}connect_timeout={seconds}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connect_timeout_is_added_to_postgres_urls_that_lack_one() {
        let timeout = Duration::from_secs(5);
        assert_eq!(
            with_connect_timeout("postgres://u@h/db", timeout),
            "postgres://u@h/db?connect_timeout=5"
        );
        assert_eq!(
            with_connect_timeout("postgres://u@h/db?sslmode=require", timeout),
            "postgres://u@h/db?sslmode=require&connect_timeout=5"
        );
        assert_eq!(
            with_connect_timeout("postgres://u@h/db?connect_timeout=30", timeout),
            "postgres://u@h/db?connect_timeout=30"
        );
        assert_eq!(
            with_connect_timeout("postgres://u@h/db", Duration::from_millis(300)),
            "postgres://u@h/db?connect_timeout=2"
        );
    }
}
