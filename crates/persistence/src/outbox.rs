//! `Outbox` over diesel.

use std::time::Duration;

use application::ports::{
    Effects, MailKind, Outbox, OutboxMessage, QueuedMessage, RepositoryError,
};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use domain::Email;

use crate::audit::Written;
use crate::connection::AnyConnection;
use crate::database::Database;
use crate::rows::{
    NewOutboxRow, OutboxRow, outbox_kind, outbox_status, row_count, to_stored, unexpected,
};
use crate::schema::{lower, outbox};

/// The outbox in the `outbox` table.
///
/// A claim reads the due rows, then leases each with one conditional `UPDATE … WHERE id = <it>
/// AND <still claimable>`: on PostgreSQL a concurrent update of the same row waits for the first
/// to commit and then re-checks the condition, and on SQLite the update takes the database's write
/// lock, so of any number of workers exactly one leases a row, without row locks held across the
/// read.
#[derive(Debug, Clone)]
pub struct DieselOutbox {
    db: Database,
}

impl DieselOutbox {
    pub(crate) fn new(db: Database) -> Self {
        Self { db }
    }
}

/// Inserts `messages` as pending rows created and due at `at`, in the caller's transaction. The
/// caller calls `Database::outbox_committed` once that transaction committed, if it queued any.
pub(crate) fn queue(
    conn: &mut AnyConnection,
    messages: &[OutboxMessage],
    at: NaiveDateTime,
) -> QueryResult<()> {
    // One statement per row: a multi-row insert needs a `match` on the backend, and a change
    // queues one or two messages.
    for message in messages {
        diesel::insert_into(outbox::table)
            .values(&NewOutboxRow::new(message, at))
            .execute(conn)?;
    }
    Ok(())
}

/// Pending, due at `$now`, and not leased by a worker whose lease still runs.
macro_rules! claimable_at {
    ($now:expr) => {
        outbox::status
            .eq(outbox_status::PENDING)
            .and(outbox::next_attempt_at.le($now))
            .and(
                outbox::leased_until
                    .is_null()
                    .or(outbox::leased_until.lt($now)),
            )
    };
}

impl Outbox for DieselOutbox {
    fn enqueue(&self, effects: Effects, at: DateTime<Utc>) -> Result<(), RepositoryError> {
        let written = Written::new(effects);
        self.db
            .write(|conn| conn.transaction(|conn| written.write(conn, to_stored(at))))?;
        written.committed(&self.db);
        Ok(())
    }

    /// The search reads, outside SQLite's write lock; only the leases write. A row this build
    /// cannot read (an unknown kind, say) is marked failed with the reason, so that it does not
    /// stop the queue, the other rows of the batch are released, and the claim reports it as
    /// `Unexpected`.
    fn claim(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        batch: u32,
    ) -> Result<Vec<QueuedMessage>, RepositoryError> {
        let now = to_stored(now);
        let lease_until = to_stored(lease_until);
        let candidates: Vec<i64> = self.db.run(|conn| {
            outbox::table
                .filter(claimable_at!(now))
                .order((outbox::created_at.asc(), outbox::id.asc()))
                .select(outbox::id)
                .limit(i64::from(batch))
                .load(conn)
        })?;
        if candidates.is_empty() {
            return Ok(Vec::new());
        }
        let leased: Vec<OutboxRow> = self.db.write(|conn| {
            let mut leased = Vec::with_capacity(candidates.len());
            for id in &candidates {
                let row = diesel::update(outbox::table.find(id).filter(claimable_at!(now)))
                    .set(outbox::leased_until.eq(Some(lease_until)))
                    .returning(OutboxRow::COLUMNS)
                    .get_result::<OutboxRow>(conn)
                    .optional()?;
                leased.extend(row);
            }
            Ok(leased)
        })?;

        let mut claimed = Vec::with_capacity(leased.len());
        let mut unreadable = Vec::new();
        for row in leased {
            let id = row.id;
            match QueuedMessage::try_from(row) {
                Ok(message) => claimed.push(message),
                Err(problem) => unreadable.push((id, problem)),
            }
        }
        if unreadable.is_empty() {
            return Ok(claimed);
        }
        self.db.write(|conn| {
            conn.transaction(|conn| {
                for (id, problem) in &unreadable {
                    diesel::update(outbox::table.find(id))
                        .set((
                            outbox::status.eq(outbox_status::FAILED),
                            outbox::finished_at.eq(Some(now)),
                            outbox::leased_until.eq(None::<NaiveDateTime>),
                            outbox::last_error.eq(Some(problem.to_string())),
                            // As any failed message: a link must not stay behind.
                            outbox::subject.eq(""),
                            outbox::text_body.eq(""),
                            outbox::html_body.eq(""),
                        ))
                        .execute(conn)?;
                }
                let readable: Vec<i64> = claimed.iter().map(|message| message.id).collect();
                diesel::update(outbox::table.filter(outbox::id.eq_any(readable)))
                    .set(outbox::leased_until.eq(None::<NaiveDateTime>))
                    .execute(conn)?;
                Ok(())
            })
        })?;
        let (id, problem) = unreadable.swap_remove(0);
        tracing::error!(id, error = %problem, "an outbox row cannot be read and was marked failed");
        Err(unexpected(problem))
    }

    fn mark_sent(&self, id: i64, at: DateTime<Utc>) -> Result<(), RepositoryError> {
        self.db.write(|conn| {
            diesel::update(outbox::table.find(id))
                .set((
                    outbox::status.eq(outbox_status::SENT),
                    outbox::finished_at.eq(Some(to_stored(at))),
                    outbox::leased_until.eq(None::<NaiveDateTime>),
                    outbox::subject.eq(""),
                    outbox::text_body.eq(""),
                    outbox::html_body.eq(""),
                ))
                .execute(conn)
        })?;
        Ok(())
    }

    fn retry_later(
        &self,
        id: i64,
        attempts: u32,
        next_attempt_at: DateTime<Utc>,
        error: &str,
    ) -> Result<(), RepositoryError> {
        self.db.write(|conn| {
            diesel::update(outbox::table.find(id))
                .set((
                    outbox::attempts.eq(i64::from(attempts)),
                    outbox::next_attempt_at.eq(to_stored(next_attempt_at)),
                    outbox::last_error.eq(Some(error)),
                    outbox::leased_until.eq(None::<NaiveDateTime>),
                ))
                .execute(conn)
        })?;
        Ok(())
    }

    fn mark_failed(
        &self,
        id: i64,
        attempts: u32,
        at: DateTime<Utc>,
        error: &str,
    ) -> Result<(), RepositoryError> {
        self.db.write(|conn| {
            diesel::update(outbox::table.find(id))
                .set((
                    outbox::status.eq(outbox_status::FAILED),
                    outbox::attempts.eq(i64::from(attempts)),
                    outbox::finished_at.eq(Some(to_stored(at))),
                    outbox::last_error.eq(Some(error)),
                    outbox::leased_until.eq(None::<NaiveDateTime>),
                    outbox::subject.eq(""),
                    outbox::text_body.eq(""),
                    outbox::html_body.eq(""),
                ))
                .execute(conn)
        })?;
        Ok(())
    }

    /// The request row is deleted; its follow-ups are queued only if this call deleted it, so a
    /// request resolved twice (by a worker whose lease ran out, and the one that claimed it next)
    /// sends its mails once.
    fn resolve(
        &self,
        id: i64,
        follow_ups: Vec<OutboxMessage>,
        at: DateTime<Utc>,
    ) -> Result<(), RepositoryError> {
        let at = to_stored(at);
        let queued = self.db.write(|conn| {
            conn.transaction(|conn| {
                let deleted = diesel::delete(
                    outbox::table
                        .find(id)
                        .filter(outbox::status.eq(outbox_status::PENDING)),
                )
                .execute(conn)?;
                if deleted == 0 {
                    return Ok(false);
                }
                queue(conn, &follow_ups, at)?;
                Ok(!follow_ups.is_empty())
            })
        })?;
        if queued {
            self.db.outbox_committed();
        }
        Ok(())
    }

    fn count_recent(
        &self,
        kind: MailKind,
        to: &Email,
        since: DateTime<Utc>,
    ) -> Result<u64, RepositoryError> {
        let count: i64 = self.db.run(|conn| {
            outbox::table
                .filter(outbox::mail_kind.eq(kind.as_str()))
                .filter(lower(outbox::recipient).eq(lower(to.as_str())))
                .filter(outbox::created_at.ge(to_stored(since)))
                .filter(outbox::kind.eq(outbox_kind::EMAIL))
                .count()
                .get_result(conn)
        })?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    /// As for sessions, the search reads and only the delete, by primary key, writes.
    fn prune(&self, before: DateTime<Utc>, batch: u32) -> Result<u64, RepositoryError> {
        let before = to_stored(before);
        let finished: Vec<i64> = self.db.run(|conn| {
            outbox::table
                .filter(outbox::finished_at.lt(before))
                .select(outbox::id)
                .limit(i64::from(batch))
                .load(conn)
        })?;
        if finished.is_empty() {
            return Ok(0);
        }
        let deleted = self.db.write(|conn| {
            diesel::delete(
                outbox::table
                    .filter(outbox::id.eq_any(&finished))
                    .filter(outbox::finished_at.lt(before)),
            )
            .execute(conn)
        })?;
        Ok(row_count(deleted))
    }

    fn wait_for_work(&self, timeout: Duration) {
        self.db.wait_for_outbox(timeout);
    }
}
