//! Counts for the metrics endpoint: live sessions and the outbox backlog, read when scraped.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Timestamp};

use crate::database::Database;
use crate::error::DbError;
use crate::rows::to_stored;

/// What the service holds that a dashboard watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    /// Sessions not ended and not expired.
    pub live_sessions: u64,
    /// Outbox rows waiting to be sent (or resolved).
    pub outbox_pending: u64,
    /// Outbox rows given up, not yet pruned.
    pub outbox_failed: u64,
}

#[derive(QueryableByName)]
struct CountsRow {
    #[diesel(sql_type = BigInt)]
    live_sessions: i64,
    #[diesel(sql_type = BigInt)]
    outbox_pending: i64,
    #[diesel(sql_type = BigInt)]
    outbox_failed: i64,
}

/// One round trip; each count is over an index (`sessions_ended_at_idx`,
/// `outbox_status_next_attempt_at_idx`).
const COUNTS: &str = "SELECT \
     (SELECT COUNT(*) FROM sessions WHERE ended_at IS NULL AND expires_at > $1 \
        AND absolute_expires_at > $1) AS live_sessions, \
     (SELECT COUNT(*) FROM outbox WHERE status = 'pending') AS outbox_pending, \
     (SELECT COUNT(*) FROM outbox WHERE status = 'failed') AS outbox_failed";

impl Database {
    /// # Errors
    /// When the database cannot be reached or read.
    pub fn counts(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Counts, application::ports::RepositoryError> {
        let row = self
            .run(|conn| {
                diesel::sql_query(COUNTS)
                    .bind::<Timestamp, _>(to_stored(now))
                    .get_result::<CountsRow>(conn)
            })
            .map_err(|error: DbError| application::ports::RepositoryError::from(error))?;
        let count = |n: i64| u64::try_from(n).unwrap_or_default();
        Ok(Counts {
            live_sessions: count(row.live_sessions),
            outbox_pending: count(row.outbox_pending),
            outbox_failed: count(row.outbox_failed),
        })
    }
}
