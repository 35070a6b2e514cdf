//! `AuditLog` over diesel, and the writing of a change's `Effects` in its transaction.

use application::ports::{AuditLog, AuditQuery, Effects, RepositoryError};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use domain::{AuditEvent, AuditKind, ClientInfo, SessionEnd, SessionId, UserId};

use crate::connection::AnyConnection;
use crate::database::Database;
use crate::outbox::queue;
use crate::rows::{InvalidRow, from_stored, row_count, to_stored, unexpected};
use crate::schema::auth_events;

#[derive(Debug, Insertable)]
#[diesel(table_name = auth_events)]
struct NewEventRow<'a> {
    occurred_at: NaiveDateTime,
    event: &'a str,
    user_id: Option<i64>,
    username: Option<&'a str>,
    ip_address: &'a str,
    user_agent: &'a str,
    request_id: Option<&'a str>,
    session_id: Option<&'a str>,
    detail: Option<&'a str>,
}

impl<'a> NewEventRow<'a> {
    fn new(event: &'a AuditEvent) -> Self {
        Self {
            occurred_at: to_stored(event.at),
            event: event.kind.as_str(),
            user_id: event.user_id.map(UserId::get),
            username: event.username.as_deref(),
            ip_address: event.client.ip_address(),
            user_agent: event.client.user_agent(),
            request_id: event.client.request_id(),
            session_id: event.session_id.as_ref().map(SessionId::as_str),
            detail: event.detail.as_deref(),
        }
    }
}

#[derive(Debug, Queryable)]
struct EventRow {
    id: i64,
    occurred_at: NaiveDateTime,
    event: String,
    user_id: Option<i64>,
    username: Option<String>,
    ip_address: String,
    user_agent: String,
    request_id: Option<String>,
    session_id: Option<String>,
    detail: Option<String>,
}

impl TryFrom<EventRow> for AuditEvent {
    type Error = InvalidRow;

    fn try_from(row: EventRow) -> Result<Self, InvalidRow> {
        let invalid = |problem: String| InvalidRow {
            table: "auth_events",
            id: row.id.to_string(),
            problem,
        };
        let kind = AuditKind::parse(&row.event)
            .ok_or_else(|| invalid(format!("unknown event {:?}", row.event)))?;
        let session_id = match &row.session_id {
            Some(id) => Some(
                SessionId::parse(id).ok_or_else(|| invalid(format!("bad session id {id:?}")))?,
            ),
            None => None,
        };
        let mut client = ClientInfo::new(&row.ip_address, &row.user_agent);
        if let Some(id) = &row.request_id {
            client = client.with_request_id(id);
        }
        Ok(Self {
            at: from_stored(row.occurred_at),
            kind,
            user_id: row.user_id.map(UserId::new),
            username: row.username,
            client,
            session_id,
            detail: row.detail,
        })
    }
}

/// Inserts `events` in the caller's transaction. One statement per row, as the outbox does: a
/// change records one or a few.
pub(crate) fn insert_events(conn: &mut AnyConnection, events: &[AuditEvent]) -> QueryResult<()> {
    for event in events {
        diesel::insert_into(auth_events::table)
            .values(&NewEventRow::new(event))
            .execute(conn)?;
    }
    Ok(())
}

/// What a transaction writes besides its change: the effects' mail and events, and an event for
/// each session it ended. Built before the transaction, finished inside it, and announced after
/// it committed.
pub(crate) struct Written {
    effects: Effects,
}

impl Written {
    pub(crate) fn new(effects: Effects) -> Self {
        Self { effects }
    }

    /// Gives the events that name no user `user_id` (a creation's, whose id the store assigns).
    pub(crate) fn for_new_user(&mut self, user_id: UserId) {
        for event in &mut self.effects.audit {
            event.user_id.get_or_insert(user_id);
        }
    }

    /// Gives the events that name no session `session_id` (a session start's).
    pub(crate) fn for_new_session(&mut self, session_id: &SessionId) {
        for event in &mut self.effects.audit {
            event.session_id.get_or_insert_with(|| session_id.clone());
        }
    }

    /// Records that the change ended these sessions of `user_id`, from the effects' origin.
    pub(crate) fn ended(
        &mut self,
        user_id: UserId,
        sessions: Vec<String>,
        reason: SessionEnd,
        at: DateTime<Utc>,
    ) {
        for id in sessions {
            let Some(id) = SessionId::parse(&id) else {
                continue;
            };
            let event = AuditEvent::session_ended(user_id, id, reason, at, &self.effects.origin);
            self.effects.audit.push(event);
        }
    }

    /// Writes the mail and the events, in the caller's transaction.
    pub(crate) fn write(&self, conn: &mut AnyConnection, at: NaiveDateTime) -> QueryResult<()> {
        queue(conn, &self.effects.mail, at)?;
        insert_events(conn, &self.effects.audit)
    }

    /// After the commit: wakes the outbox worker if mail was queued, and logs each event.
    pub(crate) fn committed(&self, db: &Database) {
        if !self.effects.mail.is_empty() {
            db.outbox_committed();
        }
        for event in &self.effects.audit {
            log_event(event);
        }
    }
}

/// The event as a structured log line (target `audit`), once it is stored.
pub(crate) fn log_event(event: &AuditEvent) {
    tracing::info!(
        target: "audit",
        event = event.kind.as_str(),
        user_id = event.user_id.map(UserId::get),
        username = event.username.as_deref(),
        ip_address = event.client.ip_address(),
        user_agent = event.client.user_agent(),
        request_id = event.client.request_id(),
        session_id = event.session_id.as_ref().map(SessionId::as_str),
        detail = event.detail.as_deref(),
        "audit event"
    );
}

/// The audit log in the `auth_events` table.
#[derive(Debug, Clone)]
pub struct DieselAuditLog {
    db: Database,
}

impl DieselAuditLog {
    pub(crate) fn new(db: Database) -> Self {
        Self { db }
    }
}

impl AuditLog for DieselAuditLog {
    fn record(&self, event: AuditEvent) -> Result<(), RepositoryError> {
        self.db
            .write(|conn| insert_events(conn, std::slice::from_ref(&event)))?;
        log_event(&event);
        Ok(())
    }

    fn list(&self, query: &AuditQuery) -> Result<Vec<AuditEvent>, RepositoryError> {
        let rows: Vec<EventRow> = self.db.run(|conn| {
            let mut select = auth_events::table.into_boxed();
            match (query.user_id, &query.username) {
                (Some(id), Some(name)) => {
                    select = select.filter(
                        auth_events::user_id
                            .eq(id.get())
                            .or(auth_events::username.eq(name.clone())),
                    );
                }
                (Some(id), None) => select = select.filter(auth_events::user_id.eq(id.get())),
                (None, Some(name)) => {
                    select = select.filter(auth_events::username.eq(name.clone()));
                }
                (None, None) => {}
            }
            if let Some(since) = query.since {
                select = select.filter(auth_events::occurred_at.ge(to_stored(since)));
            }
            select
                .order((auth_events::occurred_at.desc(), auth_events::id.desc()))
                .limit(i64::from(query.limit))
                .load(conn)
        })?;
        let mut events = rows
            .into_iter()
            .map(AuditEvent::try_from)
            .collect::<Result<Vec<_>, _>>()
            .map_err(unexpected)?;
        events.reverse();
        Ok(events)
    }

    fn prune(&self, before: DateTime<Utc>, batch: u32) -> Result<u64, RepositoryError> {
        let before = to_stored(before);
        // The ids first, then a delete of exactly those: `DELETE … LIMIT` is not portable.
        let ids: Vec<i64> = self.db.run(|conn| {
            auth_events::table
                .filter(auth_events::occurred_at.lt(before))
                .order(auth_events::occurred_at)
                .select(auth_events::id)
                .limit(i64::from(batch))
                .load(conn)
        })?;
        if ids.is_empty() {
            return Ok(0);
        }
        let deleted = self.db.write(|conn| {
            diesel::delete(auth_events::table.filter(auth_events::id.eq_any(&ids))).execute(conn)
        })?;
        Ok(row_count(deleted))
    }
}
