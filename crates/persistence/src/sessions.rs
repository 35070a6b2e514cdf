//! `SessionStore` over diesel.

use application::ports::{NewSession, RepositoryError, Rotation, SessionStore};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Timestamp};
use domain::{Session, SessionEnd, SessionId, TokenClaims, UserId};
use uuid::Uuid;

use crate::database::Database;
use crate::rows::{
    NewRefreshTokenRow, NewSessionRow, SessionRow, TokenClaimsRow, from_stored, row_count,
    to_stored, unexpected,
};
use crate::schema::{refresh_tokens, sessions};

/// Sessions in the `sessions` table; rotation also writes `refresh_tokens`.
///
/// Rotation decides with one conditional `UPDATE` of the spent token's row, which needs no row
/// lock: on PostgreSQL a concurrent update of the same row waits for the first to commit and then
/// re-checks the condition, and on SQLite the update takes the database's write lock (waiting up
/// to `busy_timeout`). The losers then read the winner's committed row.
///
/// A token that was revoked but never spent cannot be rotated; `rotate` reports it as `Unknown`,
/// as it has no successor to report. The use case refuses revoked tokens before rotating, so only
/// a revocation racing the rotation meets this.
#[derive(Debug, Clone)]
pub struct DieselSessionStore {
    db: Database,
}

impl DieselSessionStore {
    pub(crate) fn new(db: Database) -> Self {
        Self { db }
    }
}

/// What the rotation transaction found, before its rows become domain types.
enum Outcome {
    Won,
    Spent {
        used_at: NaiveDateTime,
        successor_jti: Option<String>,
        successor: Option<TokenClaimsRow>,
    },
    Unknown,
}

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

/// At most `$2` sessions ended or expired before `$1`. As for `delete_expired`, the limit goes in
/// a subquery: neither backend limits a `DELETE` itself. `$1` is one parameter on both backends.
const PRUNE: &str = "DELETE FROM sessions WHERE id IN \
     (SELECT id FROM sessions \
      WHERE ended_at < $1 OR expires_at < $1 OR absolute_expires_at < $1 LIMIT $2)";

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
        let started = self.db.write(|conn| {
            conn.transaction(|conn| {
                // The insert comes first, so that SQLite takes the write lock at once.
                let started: SessionRow = diesel::insert_into(sessions::table)
                    .values(&row)
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
                }
                Ok(started)
            })
        })?;
        to_session(started)
    }

    fn find(&self, id: &SessionId) -> Result<Option<Session>, RepositoryError> {
        let row = self.db.run(|conn| {
            sessions::table
                .find(id.as_str())
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
        let at = to_stored(at);
        let successor_row = NewRefreshTokenRow::from(successor);
        let outcome = self.db.write(|conn| {
            conn.transaction(|conn| {
                let won = diesel::update(
                    refresh_tokens::table
                        .filter(refresh_tokens::jti.eq(spent.id.as_str()))
                        .filter(refresh_tokens::used_at.is_null())
                        .filter(refresh_tokens::revoked_at.is_null()),
                )
                .set((
                    refresh_tokens::used_at.eq(Some(at)),
                    refresh_tokens::successor_jti.eq(Some(successor.id.as_str())),
                ))
                .execute(conn)?;
                if won == 1 {
                    diesel::insert_into(refresh_tokens::table)
                        .values(&successor_row)
                        .execute(conn)?;
                    if let Some(session_id) = &successor.session_id {
                        diesel::update(sessions::table.find(session_id.as_str()))
                            .set((
                                sessions::last_used_at.eq(at),
                                sessions::expires_at.eq(successor_row.expires_at),
                            ))
                            .execute(conn)?;
                    }
                    return Ok(Outcome::Won);
                }
                let found: Option<(Option<NaiveDateTime>, Option<String>)> = refresh_tokens::table
                    .filter(refresh_tokens::jti.eq(spent.id.as_str()))
                    .select((refresh_tokens::used_at, refresh_tokens::successor_jti))
                    .get_result(conn)
                    .optional()?;
                let Some((Some(used_at), successor_jti)) = found else {
                    // Never recorded, or revoked without having been spent.
                    return Ok(Outcome::Unknown);
                };
                let successor = match &successor_jti {
                    Some(jti) => refresh_tokens::table
                        .filter(refresh_tokens::jti.eq(jti))
                        .select(TokenClaimsRow::COLUMNS)
                        .get_result::<TokenClaimsRow>(conn)
                        .optional()?,
                    None => None,
                };
                Ok(Outcome::Spent {
                    used_at,
                    successor_jti,
                    successor,
                })
            })
        })?;
        match outcome {
            Outcome::Won => Ok(Rotation::Won),
            Outcome::Unknown => Ok(Rotation::Unknown),
            Outcome::Spent {
                used_at,
                successor: Some(successor),
                ..
            } => Ok(Rotation::Spent {
                used_at: from_stored(used_at),
                successor: TokenClaims::try_from(successor).map_err(unexpected)?,
            }),
            // The successor is written with the spend and expires no earlier than the spent
            // token, so only a hand-made change leaves a spent token without it. Reporting
            // `Unknown` instead would hide a reuse.
            Outcome::Spent {
                successor_jti,
                successor: None,
                ..
            } => Err(RepositoryError::Unexpected(
                format!(
                    "refresh token {} is spent but its successor {} has no row",
                    spent.id,
                    successor_jti.as_deref().unwrap_or("(none recorded)")
                )
                .into(),
            )),
        }
    }

    fn end(
        &self,
        user_id: UserId,
        id: &SessionId,
        reason: SessionEnd,
        at: DateTime<Utc>,
    ) -> Result<bool, RepositoryError> {
        let ended = self.db.write(|conn| {
            diesel::update(
                sessions::table
                    .filter(sessions::id.eq(id.as_str()))
                    .filter(sessions::user_id.eq(user_id.get()))
                    .filter(sessions::ended_at.is_null()),
            )
            .set((
                sessions::ended_at.eq(Some(to_stored(at))),
                sessions::end_reason.eq(Some(reason.as_str())),
            ))
            .execute(conn)
        })?;
        Ok(ended == 1)
    }

    fn end_all(
        &self,
        user_id: UserId,
        keep: Option<SessionId>,
        reason: SessionEnd,
        at: DateTime<Utc>,
    ) -> Result<u64, RepositoryError> {
        // No session id is empty, so `""` keeps none.
        let keep = keep.as_ref().map_or("", SessionId::as_str);
        let ended = self.db.write(|conn| {
            diesel::update(
                sessions::table
                    .filter(sessions::user_id.eq(user_id.get()))
                    .filter(sessions::ended_at.is_null())
                    .filter(sessions::id.ne(keep)),
            )
            .set((
                sessions::ended_at.eq(Some(to_stored(at))),
                sessions::end_reason.eq(Some(reason.as_str())),
            ))
            .execute(conn)
        })?;
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
                .load::<SessionRow>(conn)
        })?;
        rows.into_iter().map(to_session).collect()
    }

    fn prune(&self, now: DateTime<Utc>, batch: u32) -> Result<u64, RepositoryError> {
        let deleted = self.db.write(|conn| {
            diesel::sql_query(PRUNE)
                .bind::<Timestamp, _>(to_stored(now))
                .bind::<BigInt, _>(i64::from(batch))
                .execute(conn)
        })?;
        Ok(row_count(deleted))
    }
}
