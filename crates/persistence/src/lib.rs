//! Adapters for the repository ports of `application`: one diesel code path over PostgreSQL and
//! SQLite, behind an r2d2 pool.
//!
//! Rule: nothing diesel-shaped leaves this crate. `schema.rs` and the row structs are private;
//! rows become domain types through `TryFrom` at the edge, and storage errors become the ports'
//! errors here, once (a unique violation is `UsernameTaken` or `EmailTaken`, a lost connection is
//! `Unavailable`). Times are stored as UTC `TIMESTAMP`s with microsecond precision on both
//! backends; finer parts of a `DateTime` are truncated on write.

mod audit;
mod connection;
mod database;
mod database_url;
mod django_source;
mod error;
mod health;
mod import_target;
mod outbox;
mod refresh_tokens;
mod rows;
mod schema;
mod sessions;
mod stats;
mod throttle;
mod users;

#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use audit::DieselAuditLog;
pub use database::{
    Backend, ConnectError, Database, MigrationError, POOL_TIMEOUTS, POOL_WAIT_SECONDS, PoolOptions,
    PoolState,
};
pub use django_source::DjangoDatabase;
pub use health::DieselHealthProbe;
pub use import_target::DieselImportTarget;
pub use outbox::DieselOutbox;
pub use refresh_tokens::DieselRefreshTokenStore;
pub use sessions::DieselSessionStore;
pub use stats::Counts;
pub use throttle::DieselThrottleStore;
pub use users::DieselUserRepository;
