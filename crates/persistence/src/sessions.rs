//! `SessionStore` over diesel.

use application::ports::{Effects, NewSession, RepositoryError, Rotation, SessionStore};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::backend::Backend;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{BigInt, HasSqlType, Text, Timestamp};
use domain::{Session, SessionEnd, SessionId, TokenClaims, TokenId, TokenType, UserId};
use uuid::Uuid;

use crate::audit::Written;
use crate::database::Database;
use crate::rows::{NewSessionRow, SessionRow, from_stored, row_count, to_stored, unexpected};
use crate::schema::sessions;
use crate::users::end_sessions;

/// Sessions in the `sessions` table.
///
/// Each session row holds the head of its refresh-token chain (`refresh_jti`) and the token the
/// last rotation spent (`previous_refresh_jti`, `rotated_at`). A rotation is one conditional
/// `UPDATE` of that row, which needs no row lock: on PostgreSQL a concurrent update of the same
/// row waits for the first to commit and then re-checks the condition, and on SQLite the update
/// takes the database's write lock. The losers then read the winner's committed row. One row and
/// one statement is also what keeps a rotation cheap: it writes a few pages where a transaction
/// over the token table wrote ten.
#[derive(Debug, Clone)]
pub struct DieselSessionStore {
    db: Database,
}

impl DieselSessionStore {
    pub(crate) fn new(db: Database) -> Self {
        Self { db }
    }
}

/// The chain columns of a session row, read by a rotation that did not win.
#[derive(Debug, Queryable)]
struct ChainRow {
    user_id: i64,
    expires_at: NaiveDateTime,
    ended_at: Option<NaiveDateTime>,
    refresh_jti: Option<String>,
    refresh_issued_at: Option<NaiveDateTime>,
    previous_refresh_jti: Option<String>,
    rotated_at: Option<NaiveDateTime>,
}

/// What a lost rotation tells from the session's chain: the presented token is the one the last
/// rotation spent (the loser of that race, or a reuse), or older, or not this live session's.
fn lost_rotation(
    spent: &TokenClaims,
    session_id: &SessionId,
    chain: Option<ChainRow>,
) -> Result<Rotation, RepositoryError> {
    let Some(chain) = chain.filter(|chain| chain.ended_at.is_none()) else {
        return Ok(Rotation::Unknown);
    };
    if chain.previous_refresh_jti.as_deref() != Some(spent.id.as_str()) {
        return Ok(if chain.refresh_jti.is_some() {
            Rotation::Superseded
        } else {
            Rotation::Unknown
        });
    }
    let broken = |what: &str| {
        RepositoryError::Unexpected(
            format!("session {session_id} was rotated but its {what} is missing").into(),
        )
    };
    let used_at = chain.rotated_at.ok_or_else(|| broken("rotated_at"))?;
    let jti = chain.refresh_jti.ok_or_else(|| broken("refresh_jti"))?;
    let issued_at = chain
        .refresh_issued_at
        .ok_or_else(|| broken("refresh_issued_at"))?;
    let id = TokenId::parse(&jti).ok_or_else(|| broken("refresh_jti as a token id"))?;
    Ok(Rotation::Spent {
        used_at: from_stored(used_at),
        successor: TokenClaims {
            token_type: TokenType::Refresh,
            id,
            user_id: UserId::new(chain.user_id),
            issued_at: from_stored(issued_at),
            expires_at: from_stored(chain.expires_at),
            session_id: Some(session_id.clone()),
        },
    })
}

/// A rotation's one statement: `UPDATE sessions SET <the new head of the chain> WHERE id = <its
/// session> AND user_id = <its user> AND ended_at IS NULL AND (refresh_jti = <the spent token> OR
/// refresh_jti IS NULL)`; until its first rotation a session has one refresh token, its first.
///
/// Written out rather than built with `diesel::update`, because diesel never keeps the prepared
/// statement of an `UpdateStatement` (a changeset of `Option`s may leave columns out), and on
/// SQLite preparing is compiling: every rotation compiled this statement again while holding the
/// write lock. This one has a fixed text and a static query id, so each connection prepares it
/// once.
struct RotateSession<'a> {
    session_id: &'a str,
    user_id: i64,
    spent_jti: &'a str,
    successor_jti: &'a str,
    successor_issued_at: NaiveDateTime,
    at: NaiveDateTime,
    expires_at: NaiveDateTime,
}

impl<DB> QueryFragment<DB> for RotateSession<'_>
where
    DB: Backend + HasSqlType<Text> + HasSqlType<BigInt> + HasSqlType<Timestamp>,
    str: ToSql<Text, DB>,
    i64: ToSql<BigInt, DB>,
    NaiveDateTime: ToSql<Timestamp, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql("UPDATE sessions SET refresh_jti = ");
        out.push_bind_param::<Text, _>(self.successor_jti)?;
        out.push_sql(", refresh_issued_at = ");
        out.push_bind_param::<Timestamp, _>(&self.successor_issued_at)?;
        out.push_sql(", previous_refresh_jti = ");
        out.push_bind_param::<Text, _>(self.spent_jti)?;
        out.push_sql(", rotated_at = ");
        out.push_bind_param::<Timestamp, _>(&self.at)?;
        out.push_sql(", last_used_at = ");
        out.push_bind_param::<Timestamp, _>(&self.at)?;
        out.push_sql(", expires_at = ");
        out.push_bind_param::<Timestamp, _>(&self.expires_at)?;
        out.push_sql(" WHERE id = ");
        out.push_bind_param::<Text, _>(self.session_id)?;
        out.push_sql(" AND user_id = ");
        out.push_bind_param::<BigInt, _>(&self.user_id)?;
        out.push_sql(" AND ended_at IS NULL AND (refresh_jti = ");
        out.push_bind_param::<Text, _>(self.spent_jti)?;
        out.push_sql(" OR refresh_jti IS NULL)");
        Ok(())
    }
}

impl QueryId for RotateSession<'_> {
    type QueryId = RotateSession<'static>;

    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<Conn> RunQueryDsl<Conn> for RotateSession<'_> {}

fn to_session(row: SessionRow) -> Result<Session, RepositoryError> {
    Session::try_from(row).map_err(unexpected)
}

/// Live at `now`, as `Session::is_live` says: not ended, and neither expiry reached.
macro_rules! live_at {
    ($now:expr) => {
        sessions::ended_at
            .is_null()
            .and(sessions::expires_at.gt($now))
            .and(sessions::absolute_expires_at.gt($now))
    };
}

/// Ended or expired before `$now`, as pruning counts it.
macro_rules! dead_at {
    ($now:expr) => {
        sessions::ended_at
            .lt($now)
            .or(sessions::expires_at.lt($now))
            .or(sessions::absolute_expires_at.lt($now))
    };
}

impl SessionStore for DieselSessionStore {
    /// The new session is always kept, so a `max_live` of 0 acts as 1. The eviction reads the
    /// user's live sessions after the insert, in the same transaction; two logins of one user that
    /// commit at the same moment on PostgreSQL may each miss the other's new session and leave one
    /// more live than `max_live` until the next login.
    fn start(&self, new: NewSession, max_live: u32) -> Result<Session, RepositoryError> {
        let id = Uuid::new_v4().simple().to_string();
        let now = to_stored(new.created_at);
        let row = NewSessionRow {
            id: &id,
            user_id: new.user_id.get(),
            created_at: now,
            last_used_at: now,
            expires_at: to_stored(new.expires_at),
            absolute_expires_at: to_stored(new.absolute_expires_at),
            ip_address: new.client.ip_address(),
            user_agent: new.client.user_agent(),
        };
        let others_kept = usize::try_from(max_live.max(1) - 1).unwrap_or(usize::MAX);
        let mut written = Written::new(Effects {
            audit: new.audit,
            ..Effects::new(&new.client)
        });
        let session_id = SessionId::parse(&id).ok_or_else(|| {
            RepositoryError::Unexpected(format!("session id {id:?} is not hexadecimal").into())
        })?;
        written.for_new_session(&session_id);
        let started = self.db.write(|conn| {
            conn.transaction(|conn| {
                // The insert comes first, so that SQLite takes the write lock at once.
                let started: SessionRow = diesel::insert_into(sessions::table)
                    .values(&row)
                    .returning(SessionRow::COLUMNS)
                    .get_result(conn)?;
                let others: Vec<String> = sessions::table
                    .filter(sessions::user_id.eq(row.user_id))
                    .filter(sessions::id.ne(&id))
                    .filter(live_at!(now))
                    .order((
                        sessions::last_used_at.desc(),
                        sessions::created_at.desc(),
                        sessions::id.desc(),
                    ))
                    .select(sessions::id)
                    .load(conn)?;
                if let Some(evicted) = others.get(others_kept..).filter(|ids| !ids.is_empty()) {
                    diesel::update(sessions::table.filter(sessions::id.eq_any(evicted)))
                        .set((
                            sessions::ended_at.eq(Some(now)),
                            sessions::end_reason.eq(Some(SessionEnd::Evicted.as_str())),
                        ))
                        .execute(conn)?;
                    written.ended(
                        new.user_id,
                        evicted.to_vec(),
                        SessionEnd::Evicted,
                        new.created_at,
                    );
                }
                written.write(conn, now)?;
                Ok(started)
            })
        })?;
        written.committed(&self.db);
        to_session(started)
    }

    fn find(&self, id: &SessionId) -> Result<Option<Session>, RepositoryError> {
        let row = self.db.run(|conn| {
            sessions::table
                .find(id.as_str())
                .select(SessionRow::COLUMNS)
                .get_result::<SessionRow>(conn)
                .optional()
        })?;
        row.map(to_session).transpose()
    }

    fn touch(&self, id: &SessionId, at: DateTime<Utc>) -> Result<(), RepositoryError> {
        self.db.write(|conn| {
            diesel::update(sessions::table.find(id.as_str()))
                .set(sessions::last_used_at.eq(to_stored(at)))
                .execute(conn)
        })?;
        Ok(())
    }

    fn rotate(
        &self,
        spent: &TokenClaims,
        successor: &TokenClaims,
        at: DateTime<Utc>,
    ) -> Result<Rotation, RepositoryError> {
        let (Some(session_id), Some(successor_session)) =
            (&spent.session_id, &successor.session_id)
        else {
            return Ok(Rotation::Unknown);
        };
        if session_id != successor_session || spent.user_id != successor.user_id {
            return Err(RepositoryError::Unexpected(
                "a rotation's successor must be of the spent token's session and user".into(),
            ));
        }
        let rotation = RotateSession {
            session_id: session_id.as_str(),
            user_id: spent.user_id.get(),
            spent_jti: spent.id.as_str(),
            successor_jti: successor.id.as_str(),
            successor_issued_at: to_stored(successor.issued_at),
            at: to_stored(at),
            expires_at: to_stored(successor.expires_at),
        };
        let won = self.db.write(|conn| rotation.execute(conn))?;
        if won == 1 {
            return Ok(Rotation::Won);
        }
        let chain = self.db.run(|conn| {
            sessions::table
                .find(session_id.as_str())
                .select((
                    sessions::user_id,
                    sessions::expires_at,
                    sessions::ended_at,
                    sessions::refresh_jti,
                    sessions::refresh_issued_at,
                    sessions::previous_refresh_jti,
                    sessions::rotated_at,
                ))
                .get_result::<ChainRow>(conn)
                .optional()
        })?;
        lost_rotation(spent, session_id, chain)
    }

    fn end(
        &self,
        user_id: UserId,
        id: &SessionId,
        reason: SessionEnd,
        at: DateTime<Utc>,
        effects: Effects,
    ) -> Result<bool, RepositoryError> {
        let mut written = Written::new(effects);
        let stored_at = to_stored(at);
        let ended = self.db.write(|conn| {
            conn.transaction(|conn| {
                let ended = diesel::update(
                    sessions::table
                        .filter(sessions::id.eq(id.as_str()))
                        .filter(sessions::user_id.eq(user_id.get()))
                        .filter(sessions::ended_at.is_null()),
                )
                .set((
                    sessions::ended_at.eq(Some(stored_at)),
                    sessions::end_reason.eq(Some(reason.as_str())),
                ))
                .execute(conn)?;
                if ended == 1 {
                    written.ended(user_id, vec![id.as_str().to_owned()], reason, at);
                    written.write(conn, stored_at)?;
                }
                Ok(ended == 1)
            })
        })?;
        if ended {
            written.committed(&self.db);
        }
        Ok(ended)
    }

    fn end_all(
        &self,
        user_id: UserId,
        keep: Option<SessionId>,
        reason: SessionEnd,
        at: DateTime<Utc>,
        effects: Effects,
    ) -> Result<u64, RepositoryError> {
        // No session id is empty, so `""` keeps none.
        let keep = keep.as_ref().map_or("", SessionId::as_str);
        let mut written = Written::new(effects);
        let stored_at = to_stored(at);
        let ended = self.db.write(|conn| {
            conn.transaction(|conn| {
                let ended = end_sessions(conn, user_id, keep, reason, stored_at)?;
                let count = ended.len();
                if count > 0 {
                    written.ended(user_id, ended, reason, at);
                    written.write(conn, stored_at)?;
                }
                Ok(count)
            })
        })?;
        if ended > 0 {
            written.committed(&self.db);
        }
        Ok(row_count(ended))
    }

    fn list_live(
        &self,
        user_id: UserId,
        now: DateTime<Utc>,
    ) -> Result<Vec<Session>, RepositoryError> {
        let now = to_stored(now);
        let rows = self.db.run(|conn| {
            sessions::table
                .filter(sessions::user_id.eq(user_id.get()))
                .filter(live_at!(now))
                .order((
                    sessions::last_used_at.desc(),
                    sessions::created_at.desc(),
                    sessions::id.desc(),
                ))
                .select(SessionRow::COLUMNS)
                .load::<SessionRow>(conn)
        })?;
        rows.into_iter().map(to_session).collect()
    }

    /// The search reads, outside the write lock; only the delete, by primary key, writes. The
    /// sliding `expires_at` has no index (a rotation moves it, and each index it is in is a page
    /// more that every rotation writes), so the search may scan the table, which a reader can
    /// afford once per batch and a writer holding SQLite's only write lock could not.
    fn prune(&self, now: DateTime<Utc>, batch: u32) -> Result<u64, RepositoryError> {
        let now = to_stored(now);
        let dead: Vec<String> = self.db.run(|conn| {
            sessions::table
                .filter(dead_at!(now))
                .select(sessions::id)
                .limit(i64::from(batch))
                .load(conn)
        })?;
        if dead.is_empty() {
            return Ok(0);
        }
        // Dead stays dead: an ended session never resumes, and an expired one is refused before
        // a refresh could move its expiry. The condition is repeated all the same.
        let deleted = self.db.write(|conn| {
            diesel::delete(
                sessions::table
                    .filter(sessions::id.eq_any(&dead))
                    .filter(dead_at!(now)),
            )
            .execute(conn)
        })?;
        Ok(row_count(deleted))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use diesel::connection::{Instrumentation, InstrumentationEvent};

    use super::*;
    use crate::connection::AnyConnection;
    use crate::testing::TestDatabase;

    /// Counts the statements a connection put in its cache of prepared statements.
    struct CountCached(Arc<Mutex<usize>>);

    impl Instrumentation for CountCached {
        fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
            if let InstrumentationEvent::CacheQuery { .. } = event {
                *self.0.lock().expect("not poisoned") += 1;
            }
        }
    }

    #[test]
    fn each_connection_prepares_the_rotation_once() {
        let db = TestDatabase::sqlite();
        let path = db.url().trim_start_matches("sqlite://");
        let mut conn = AnyConnection::Sqlite(SqliteConnection::establish(path).expect("opened"));
        let cached = Arc::new(Mutex::new(0));
        conn.set_instrumentation(CountCached(Arc::clone(&cached)));
        let at = DateTime::UNIX_EPOCH.naive_utc();
        for n in 0..3 {
            let jti = format!("{n:032x}");
            let rotated = RotateSession {
                session_id: "5e55",
                user_id: 1,
                spent_jti: &jti,
                successor_jti: &jti,
                successor_issued_at: at,
                at,
                expires_at: at,
            }
            .execute(&mut conn)
            .expect("ran");
            assert_eq!(rotated, 0, "there is no such session");
        }
        assert_eq!(*cached.lock().expect("not poisoned"), 1);

        // What the statement replaced: diesel compiles an `UPDATE` every time.
        for _ in 0..3 {
            diesel::update(sessions::table.find("5e55"))
                .set(sessions::last_used_at.eq(at))
                .execute(&mut conn)
                .expect("ran");
        }
        assert_eq!(*cached.lock().expect("not poisoned"), 1);
    }
}
