//! The pool, its configuration, and the migrations it applies.

use std::error::Error as StdError;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};
use std::{fs, io};

use diesel::result::Error as DieselError;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use r2d2::{HandleError, Pool};
use thiserror::Error;

use crate::connection::{AnyConnection, ConnectionManager, PooledConnection};
use crate::database_url::{ACCEPTED_FORMS, DatabaseUrl};
use crate::error::{DbError, is_connection_failure};
use crate::{
    DieselAuditLog, DieselHealthProbe, DieselImportTarget, DieselOutbox, DieselRefreshTokenStore,
    DieselSessionStore, DieselThrottleStore, DieselUserRepository,
};

const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");
const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");

/// How long checkouts waited for a pooled connection, in seconds (a histogram).
pub const POOL_WAIT_SECONDS: &str = "auth_db_pool_wait_seconds";
/// Checkouts that gave up waiting (a counter).
pub const POOL_TIMEOUTS: &str = "auth_db_pool_timeouts_total";

/// A snapshot of the pool, for the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolState {
    pub open: u32,
    pub idle: u32,
    pub max: u32,
}

/// Which database a `Database` talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

/// How the connection pool behaves.
#[derive(Debug, Clone)]
pub struct PoolOptions {
    /// The most connections open at once (at least 1). An in-memory SQLite database always uses
    /// one, since each connection to `:memory:` would see its own empty database.
    pub max_size: u32,
    /// How long a request waits for a connection before failing with `Unavailable`; also how
    /// long libpq waits for an unreachable host.
    pub connection_timeout: Duration,
    /// A connection idle longer than this is tested with a query before use, so that one broken
    /// by a database restart is replaced instead of failing a request. Zero tests every time.
    pub check_idle_after: Duration,
}

impl Default for PoolOptions {
    fn default() -> Self {
        Self {
            max_size: 8,
            connection_timeout: Duration::from_secs(5),
            check_idle_after: Duration::from_secs(1),
        }
    }
}

#[derive(Debug, Error)]
pub enum ConnectError {
    /// The URL has none of the accepted forms. The message never repeats the URL.
    #[error("invalid database URL: {0}; expected {forms}", forms = ACCEPTED_FORMS)]
    InvalidUrl(String),
    #[error("could not create the directory {} for the SQLite database: {source}", path.display())]
    CreateDirectory {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The driver's own message: a wrong password, a refused connection, an unknown database.
    #[error("could not connect to the database: {0}")]
    Connection(String),
}

#[derive(Debug, Error)]
pub enum MigrationError {
    #[error("no database connection to run the migrations on")]
    Unavailable(#[source] Box<dyn StdError + Send + Sync>),
    #[error("applying the database migrations failed")]
    Failed(#[source] Box<dyn StdError + Send + Sync>),
}

/// A pool of connections to PostgreSQL or SQLite. Cheap to clone: clones share the pool.
#[derive(Debug, Clone)]
pub struct Database {
    pool: Pool<ConnectionManager>,
    backend: Backend,
    /// SQLite lets one connection write at a time; the others wait in its busy handler, which
    /// sleeps in steps of milliseconds. Writers of this process take turns here instead, and
    /// the busy handler is left for other processes.
    sqlite_writer: Arc<Mutex<()>>,
    /// Set after a commit that queued outbox rows; what `Outbox::wait_for_work` waits for.
    outbox_signal: Arc<OutboxSignal>,
}

/// A flag and its condition variable: set by the committer, cleared by the waiter that saw it.
#[derive(Debug, Default)]
struct OutboxSignal {
    queued: Mutex<bool>,
    wakeup: Condvar,
}

impl Database {
    /// Parses the URL, makes one direct connection attempt (so that a wrong password or an
    /// unreachable server fails at once, with the driver's message), then builds the pool. For
    /// SQLite, creates the directory of the database file if it is missing.
    ///
    /// # Errors
    /// `InvalidUrl` for a URL of no accepted form, `CreateDirectory` when the SQLite file's
    /// directory cannot be created, `Connection` when the database cannot be reached.
    pub fn connect(url: &str, options: PoolOptions) -> Result<Self, ConnectError> {
        let url = DatabaseUrl::parse(url).map_err(|problem| ConnectError::InvalidUrl(problem.0))?;
        let backend = match url {
            DatabaseUrl::Postgres(_) => Backend::Postgres,
            DatabaseUrl::SqliteFile(_) | DatabaseUrl::SqliteMemory => Backend::Sqlite,
        };
        if let DatabaseUrl::SqliteFile(path) = &url {
            create_parent_directory(path)?;
        }
        let manager =
            ConnectionManager::new(&url, options.connection_timeout, options.check_idle_after);
        manager
            .establish()
            .map_err(|error| ConnectError::Connection(error.to_string().trim_end().to_owned()))?;

        let builder = Pool::builder()
            .max_size(options.max_size.max(1))
            .connection_timeout(options.connection_timeout)
            // `is_valid` tests only connections idle longer than `check_idle_after`.
            .test_on_check_out(true)
            .error_handler(Box::new(TracingErrorHandler));
        // Every connection to `:memory:` has its own database, so the pool keeps exactly one and
        // never retires it.
        let builder = if url == DatabaseUrl::SqliteMemory {
            builder.max_size(1).max_lifetime(None).idle_timeout(None)
        } else {
            builder
        };
        let pool = builder
            .build(manager)
            .map_err(|error| ConnectError::Connection(error.to_string().trim_end().to_owned()))?;
        Ok(Self {
            pool,
            backend,
            sqlite_writer: Arc::default(),
            outbox_signal: Arc::default(),
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Applies the pending embedded migrations for the backend; returns the versions applied.
    ///
    /// # Errors
    /// `Unavailable` when no connection can be had, `Failed` when a migration fails (it is
    /// rolled back).
    pub fn run_migrations(&self) -> Result<Vec<String>, MigrationError> {
        let mut conn = self
            .pool
            .get()
            .map_err(|error| MigrationError::Unavailable(Box::new(error)))?;
        let applied = match &mut conn.inner {
            AnyConnection::Postgres(conn) => conn.run_pending_migrations(POSTGRES_MIGRATIONS),
            AnyConnection::Sqlite(conn) => conn.run_pending_migrations(SQLITE_MIGRATIONS),
        }
        .map_err(MigrationError::Failed)?;
        let applied: Vec<String> = applied.iter().map(ToString::to_string).collect();
        for version in &applied {
            tracing::info!(version = %version, "applied database migration");
        }
        Ok(applied)
    }

    pub fn users(&self) -> DieselUserRepository {
        DieselUserRepository::new(self.clone())
    }

    pub fn refresh_tokens(&self) -> DieselRefreshTokenStore {
        DieselRefreshTokenStore::new(self.clone())
    }

    pub fn sessions(&self) -> DieselSessionStore {
        DieselSessionStore::new(self.clone())
    }

    pub fn throttle(&self) -> DieselThrottleStore {
        DieselThrottleStore::new(self.clone())
    }

    pub fn health(&self) -> DieselHealthProbe {
        DieselHealthProbe::new(self.clone())
    }

    /// This database as the cutover from Django writes to it.
    pub fn import_target(&self) -> DieselImportTarget {
        DieselImportTarget::new(self.clone())
    }

    pub fn audit_log(&self) -> DieselAuditLog {
        DieselAuditLog::new(self.clone())
    }

    pub fn outbox(&self) -> DieselOutbox {
        DieselOutbox::new(self.clone())
    }

    /// Wakes the outbox worker: call after a transaction that inserted outbox rows committed.
    pub(crate) fn outbox_committed(&self) {
        // A thread that panicked holding the flag left nothing behind it worth refusing.
        let mut queued = self
            .outbox_signal
            .queued
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *queued = true;
        self.outbox_signal.wakeup.notify_all();
    }

    /// Returns once `outbox_committed` was called since the last return, or after `timeout`.
    pub(crate) fn wait_for_outbox(&self, timeout: Duration) {
        let queued = self
            .outbox_signal
            .queued
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let (mut queued, _) = self
            .outbox_signal
            .wakeup
            .wait_timeout_while(queued, timeout, |queued| !*queued)
            .unwrap_or_else(PoisonError::into_inner);
        *queued = false;
    }

    /// Runs `work`, which writes, on a pooled connection: on SQLite one writer of this process at
    /// a time. The connection is checked out before the turn is taken, so that a writer never
    /// holds every other writer's turn while it waits for a connection.
    pub(crate) fn write<T>(
        &self,
        work: impl FnOnce(&mut AnyConnection) -> Result<T, DieselError>,
    ) -> Result<T, DbError> {
        let mut conn = self.checkout()?;
        let result = if self.backend == Backend::Sqlite {
            // A writer that panicked left no state behind the lock worth refusing.
            let _turn = self
                .sqlite_writer
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            work(&mut conn.inner)
        } else {
            work(&mut conn.inner)
        };
        Self::settle(&mut conn, result)
    }

    /// Runs `work` on a pooled connection. A connection that failed at the connection level is
    /// discarded rather than returned to the pool.
    pub(crate) fn run<T>(
        &self,
        work: impl FnOnce(&mut AnyConnection) -> Result<T, DieselError>,
    ) -> Result<T, DbError> {
        let mut conn = self.checkout()?;
        let result = work(&mut conn.inner);
        Self::settle(&mut conn, result)
    }

    /// A connection from the pool, timed for the metrics: how long the checkout waited, and
    /// whether it gave up (the pool's `connection_timeout`).
    fn checkout(&self) -> Result<r2d2::PooledConnection<ConnectionManager>, DbError> {
        let started = Instant::now();
        let conn = self.pool.get();
        metrics::histogram!(POOL_WAIT_SECONDS).record(started.elapsed().as_secs_f64());
        conn.map_err(|error| {
            metrics::counter!(POOL_TIMEOUTS).increment(1);
            DbError::Checkout(error)
        })
    }

    /// The pool as it is now: connections open, of them idle, and the most it opens.
    pub fn pool_state(&self) -> PoolState {
        let state = self.pool.state();
        PoolState {
            open: state.connections,
            idle: state.idle_connections,
            max: self.pool.max_size(),
        }
    }

    /// Marks the connection lost after a connection-level failure, or freshly used otherwise.
    fn settle<T>(
        conn: &mut PooledConnection,
        result: Result<T, DieselError>,
    ) -> Result<T, DbError> {
        match &result {
            Err(error) if is_connection_failure(error) => conn.lost = true,
            _ => conn.last_used = Instant::now(),
        }
        result.map_err(DbError::Query)
    }
}

fn create_parent_directory(path: &Path) -> Result<(), ConnectError> {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => {
            fs::create_dir_all(parent).map_err(|source| ConnectError::CreateDirectory {
                path: parent.to_path_buf(),
                source,
            })
        }
        _ => Ok(()),
    }
}

/// Sends the pool's background connection failures to `tracing` instead of the `log` crate.
#[derive(Debug)]
struct TracingErrorHandler;

impl HandleError<diesel::r2d2::Error> for TracingErrorHandler {
    fn handle_error(&self, error: diesel::r2d2::Error) {
        tracing::warn!(error = %error, "database connection failed");
    }
}
