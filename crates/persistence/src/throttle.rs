//! `ThrottleStore` over diesel.

use application::ports::{
    Expiring, RepositoryError, ThrottleCharge, ThrottleRecords, ThrottleStore, Versioned,
    WriteOutcome,
};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::result::Error as DieselError;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};
use domain::{AccountAttempts, AddressAttempts, ThrottleKey};

use crate::connection::AnyConnection;
use crate::database::Database;
use crate::rows::{from_stored, row_count, to_stored};
use crate::schema::{login_throttle_accounts, login_throttle_addresses};

/// The login back-off's records in `login_throttle_addresses` and `login_throttle_accounts`.
///
/// A charge is a compare-and-set on the versions `load` read: each row it writes is updated only
/// `WHERE version = <read>`, or inserted only if still absent (`ON CONFLICT DO NOTHING`), in one
/// transaction; a statement that changes no row rolls the transaction back and reports
/// `Conflict`. No row is locked across the read: on PostgreSQL a concurrent update of the same row
/// waits for the first to commit and then re-checks the version, and on SQLite writes take the
/// database's write lock (one writer of this process at a time, then `busy_timeout`). Rows are
/// always written address first, then account, so two charges never wait on each other in a
/// cycle.
#[derive(Debug, Clone)]
pub struct DieselThrottleStore {
    db: Database,
}

impl DieselThrottleStore {
    pub(crate) fn new(db: Database) -> Self {
        Self { db }
    }
}

/// Both records of a key in one round trip: a one-row relation of the key, joined to each table,
/// so there is exactly one row whatever exists. The casts give PostgreSQL the parameters' types.
const LOAD: &str = "SELECT a.failures, a.last_failure_at, a.signed_in_at, a.version AS address_version, \
            c.window_start, c.attempts, c.previous_attempts, c.version AS account_version \
     FROM (SELECT CAST($1 AS TEXT) AS username, CAST($2 AS TEXT) AS address) k \
     LEFT JOIN login_throttle_addresses a ON a.username = k.username AND a.address = k.address \
     LEFT JOIN login_throttle_accounts c ON c.username = k.username";

const INSERT_ADDRESS: &str = "INSERT INTO login_throttle_addresses \
     (username, address, failures, last_failure_at, signed_in_at, version, expires_at) \
     VALUES ($1, $2, $3, $4, $5, 1, $6) ON CONFLICT DO NOTHING";

const INSERT_ACCOUNT: &str = "INSERT INTO login_throttle_accounts \
     (username, window_start, attempts, previous_attempts, version, expires_at) \
     VALUES ($1, $2, $3, $4, 1, $5) ON CONFLICT DO NOTHING";

/// Whatever the row holds: a success resets it.
const RECORD_SUCCESS: &str = "INSERT INTO login_throttle_addresses \
     (username, address, failures, last_failure_at, signed_in_at, version, expires_at) \
     VALUES ($1, $2, $3, $4, $5, 1, $6) \
     ON CONFLICT (username, address) DO UPDATE SET \
     failures = excluded.failures, last_failure_at = excluded.last_failure_at, \
     signed_in_at = excluded.signed_in_at, expires_at = excluded.expires_at, \
     version = login_throttle_addresses.version + 1";

/// As for sessions, the limit goes in a subquery: neither backend limits a `DELETE` itself.
const PRUNE_ADDRESSES: &str = "DELETE FROM login_throttle_addresses WHERE (username, address) IN \
     (SELECT username, address FROM login_throttle_addresses WHERE expires_at < $1 LIMIT $2)";

const PRUNE_ACCOUNTS: &str = "DELETE FROM login_throttle_accounts WHERE username IN \
     (SELECT username FROM login_throttle_accounts WHERE expires_at < $1 LIMIT $2)";

#[derive(QueryableByName)]
struct LoadedRow {
    #[diesel(sql_type = Nullable<BigInt>)]
    failures: Option<i64>,
    #[diesel(sql_type = Nullable<Timestamp>)]
    last_failure_at: Option<NaiveDateTime>,
    #[diesel(sql_type = Nullable<Timestamp>)]
    signed_in_at: Option<NaiveDateTime>,
    #[diesel(sql_type = Nullable<BigInt>)]
    address_version: Option<i64>,
    #[diesel(sql_type = Nullable<Timestamp>)]
    window_start: Option<NaiveDateTime>,
    #[diesel(sql_type = Nullable<BigInt>)]
    attempts: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    previous_attempts: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    account_version: Option<i64>,
}

/// A stored count; the columns refuse negative values, and no count reaches `u32::MAX`.
fn to_count(stored: i64) -> u32 {
    u32::try_from(stored.max(0)).unwrap_or(u32::MAX)
}

impl From<LoadedRow> for ThrottleRecords {
    fn from(row: LoadedRow) -> Self {
        let address = match (row.address_version, row.failures) {
            (Some(version), Some(failures)) => Some(Versioned {
                record: AddressAttempts {
                    failures: to_count(failures),
                    last_failure_at: row.last_failure_at.map(from_stored),
                    signed_in_at: row.signed_in_at.map(from_stored),
                },
                version,
            }),
            _ => None,
        };
        let account = match (
            row.account_version,
            row.window_start,
            row.attempts,
            row.previous_attempts,
        ) {
            (Some(version), Some(window_start), Some(attempts), Some(previous)) => {
                Some(Versioned {
                    record: AccountAttempts {
                        window_start: from_stored(window_start),
                        attempts: to_count(attempts),
                        previous_attempts: to_count(previous),
                    },
                    version,
                })
            }
            _ => None,
        };
        Self { address, account }
    }
}

/// Rolls the charge's transaction back unless the statement changed exactly one row.
fn one_row(changed: usize) -> Result<(), DieselError> {
    if changed == 1 {
        Ok(())
    } else {
        Err(DieselError::RollbackTransaction)
    }
}

fn write_address(
    conn: &mut AnyConnection,
    key: &ThrottleKey,
    read: Option<i64>,
    row: &Expiring<AddressAttempts>,
) -> Result<(), DieselError> {
    let record = &row.record;
    let changed = match read {
        None => diesel::sql_query(INSERT_ADDRESS)
            .bind::<Text, _>(key.username())
            .bind::<Text, _>(key.address())
            .bind::<BigInt, _>(i64::from(record.failures))
            .bind::<Nullable<Timestamp>, _>(record.last_failure_at.map(to_stored))
            .bind::<Nullable<Timestamp>, _>(record.signed_in_at.map(to_stored))
            .bind::<Timestamp, _>(to_stored(row.expires_at))
            .execute(conn)?,
        Some(version) => diesel::update(
            login_throttle_addresses::table
                .filter(login_throttle_addresses::username.eq(key.username()))
                .filter(login_throttle_addresses::address.eq(key.address()))
                .filter(login_throttle_addresses::version.eq(version)),
        )
        .set((
            login_throttle_addresses::failures.eq(i64::from(record.failures)),
            login_throttle_addresses::last_failure_at.eq(record.last_failure_at.map(to_stored)),
            login_throttle_addresses::signed_in_at.eq(record.signed_in_at.map(to_stored)),
            login_throttle_addresses::expires_at.eq(to_stored(row.expires_at)),
            login_throttle_addresses::version.eq(version + 1),
        ))
        .execute(conn)?,
    };
    one_row(changed)
}

fn write_account(
    conn: &mut AnyConnection,
    key: &ThrottleKey,
    read: Option<i64>,
    row: &Expiring<AccountAttempts>,
) -> Result<(), DieselError> {
    let record = &row.record;
    let changed = match read {
        None => diesel::sql_query(INSERT_ACCOUNT)
            .bind::<Text, _>(key.username())
            .bind::<Timestamp, _>(to_stored(record.window_start))
            .bind::<BigInt, _>(i64::from(record.attempts))
            .bind::<BigInt, _>(i64::from(record.previous_attempts))
            .bind::<Timestamp, _>(to_stored(row.expires_at))
            .execute(conn)?,
        Some(version) => diesel::update(
            login_throttle_accounts::table
                .filter(login_throttle_accounts::username.eq(key.username()))
                .filter(login_throttle_accounts::version.eq(version)),
        )
        .set((
            login_throttle_accounts::window_start.eq(to_stored(record.window_start)),
            login_throttle_accounts::attempts.eq(i64::from(record.attempts)),
            login_throttle_accounts::previous_attempts.eq(i64::from(record.previous_attempts)),
            login_throttle_accounts::expires_at.eq(to_stored(row.expires_at)),
            login_throttle_accounts::version.eq(version + 1),
        ))
        .execute(conn)?,
    };
    one_row(changed)
}

impl ThrottleStore for DieselThrottleStore {
    fn load(&self, key: &ThrottleKey) -> Result<ThrottleRecords, RepositoryError> {
        let row = self.db.run(|conn| {
            diesel::sql_query(LOAD)
                .bind::<Text, _>(key.username())
                .bind::<Text, _>(key.address())
                .get_result::<LoadedRow>(conn)
        })?;
        Ok(row.into())
    }

    fn charge(
        &self,
        key: &ThrottleKey,
        read: &ThrottleRecords,
        charge: &ThrottleCharge,
    ) -> Result<WriteOutcome, RepositoryError> {
        let read_address = read.address.map(|row| row.version);
        let read_account = read.account.map(|row| row.version);
        let written = self.db.write(|conn| {
            let written = conn.transaction(|conn| {
                write_address(conn, key, read_address, &charge.address)?;
                if let Some(account) = &charge.account {
                    write_account(conn, key, read_account, account)?;
                }
                Ok(())
            });
            match written {
                Ok(()) => Ok(WriteOutcome::Written),
                Err(DieselError::RollbackTransaction) => Ok(WriteOutcome::Conflict),
                Err(error) => Err(error),
            }
        })?;
        Ok(written)
    }

    fn record_success(
        &self,
        key: &ThrottleKey,
        address: &Expiring<AddressAttempts>,
    ) -> Result<(), RepositoryError> {
        let record = &address.record;
        self.db.write(|conn| {
            diesel::sql_query(RECORD_SUCCESS)
                .bind::<Text, _>(key.username())
                .bind::<Text, _>(key.address())
                .bind::<BigInt, _>(i64::from(record.failures))
                .bind::<Nullable<Timestamp>, _>(record.last_failure_at.map(to_stored))
                .bind::<Nullable<Timestamp>, _>(record.signed_in_at.map(to_stored))
                .bind::<Timestamp, _>(to_stored(address.expires_at))
                .execute(conn)
        })?;
        Ok(())
    }

    /// Address rows first; account rows only with what is left of the batch, so a batch that
    /// comes back short means both tables are done.
    fn prune(&self, now: DateTime<Utc>, batch: u32) -> Result<u64, RepositoryError> {
        let now = to_stored(now);
        let prune = |statement: &str, limit: u64| {
            self.db.write(|conn| {
                diesel::sql_query(statement)
                    .bind::<Timestamp, _>(now)
                    .bind::<BigInt, _>(i64::try_from(limit).unwrap_or(i64::MAX))
                    .execute(conn)
            })
        };
        let batch = u64::from(batch);
        let addresses = row_count(prune(PRUNE_ADDRESSES, batch)?);
        if addresses >= batch {
            return Ok(addresses);
        }
        let accounts = row_count(prune(PRUNE_ACCOUNTS, batch - addresses)?);
        Ok(addresses + accounts)
    }
}
