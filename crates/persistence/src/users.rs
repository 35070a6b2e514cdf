//! `UserRepository` over diesel.

use application::ports::{
    CreateUserError, Effects, ProfileChanges, RepositoryError, UpdateUserError, UserRepository,
};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::result::Error as DieselError;
use domain::{
    Email, NewUser, PasswordHash, PersonName, Phone, Profile, Session, SessionEnd, SessionId, User,
    UserId,
};

use crate::audit::Written;
use crate::connection::AnyConnection;
use crate::database::Database;
use crate::error::{DbError, violated_unique_constraint};
use crate::rows::{
    InvalidRow, NewProfileRow, NewUserRow, ProfileChangesRow, ProfileRow, SessionRow, UserChanges,
    UserRow, to_stored, unexpected,
};
use crate::schema::{lower, lower_nullable, profiles, refresh_tokens, sessions, users};

/// The domain value of a row a LEFT JOIN may not have found.
fn domain<R, T: TryFrom<R, Error = InvalidRow>>(
    row: Option<R>,
) -> Result<Option<T>, RepositoryError> {
    row.map(T::try_from).transpose().map_err(unexpected)
}

/// Users and their profiles in the `users` and `profiles` tables.
#[derive(Debug, Clone)]
pub struct DieselUserRepository {
    db: Database,
}

impl DieselUserRepository {
    pub(crate) fn new(db: Database) -> Self {
        Self { db }
    }

    fn find_one(
        &self,
        query: impl FnOnce(&mut AnyConnection) -> QueryResult<Option<UserRow>>,
    ) -> Result<Option<User>, RepositoryError> {
        let row = self.db.run(query)?;
        row.map(User::try_from).transpose().map_err(unexpected)
    }
}

fn to_domain(user: UserRow, profile: ProfileRow) -> Result<(User, Profile), RepositoryError> {
    Ok((
        User::try_from(user).map_err(unexpected)?,
        Profile::try_from(profile).map_err(unexpected)?,
    ))
}

impl UserRepository for DieselUserRepository {
    fn create(&self, user: NewUser, effects: Effects) -> Result<(User, Profile), CreateUserError> {
        let mut written = Written::new(effects);
        let joined_at = to_stored(user.joined_at);
        let new_user = NewUserRow {
            username: user.username.as_str(),
            email: user.email.as_str(),
            password: user.password_hash.as_str(),
            first_name: user.first_name.as_str(),
            last_name: user.last_name.as_str(),
            is_active: true,
            is_staff: user.is_staff,
            is_superuser: user.is_superuser,
            date_joined: joined_at,
            email_verified: user.email_verified,
        };
        let phone = user.phone.as_str();
        let created = self.db.write(|conn| {
            conn.transaction(|conn| {
                let user: UserRow = diesel::insert_into(users::table)
                    .values(&new_user)
                    .get_result(conn)?;
                let profile: ProfileRow = diesel::insert_into(profiles::table)
                    .values(&NewProfileRow {
                        user_id: user.id,
                        phone,
                        created_at: joined_at,
                        updated_at: joined_at,
                    })
                    .get_result(conn)?;
                written.for_new_user(UserId::new(user.id));
                written.write(conn, joined_at)?;
                Ok((user, profile))
            })
        });
        match created {
            Ok((user, profile)) => {
                written.committed(&self.db);
                Ok(to_domain(user, profile)?)
            }
            Err(DbError::Query(error)) => match violated_unique_constraint(&error) {
                Some(constraint) if constraint.contains("username") => {
                    Err(CreateUserError::UsernameTaken)
                }
                Some(constraint) if constraint.contains("email") => {
                    Err(CreateUserError::EmailTaken)
                }
                _ => Err(RepositoryError::from(DbError::Query(error)).into()),
            },
            Err(error) => Err(RepositoryError::from(error).into()),
        }
    }

    // Lookups on unique columns use `get_result`, not `first`: `first` adds `LIMIT ?`, and SQLite
    // then re-prepares the statement on every call instead of reusing the cached one (7x the
    // time per lookup in the benchmark's profile).
    fn find_by_id(&self, id: UserId) -> Result<Option<User>, RepositoryError> {
        self.find_one(|conn| users::table.find(id.get()).get_result(conn).optional())
    }

    fn find_by_username(&self, username: &str) -> Result<Option<User>, RepositoryError> {
        self.find_one(|conn| {
            users::table
                .filter(users::username.eq(username))
                .get_result(conn)
                .optional()
        })
    }

    fn find_by_email(&self, email: &Email) -> Result<Option<User>, RepositoryError> {
        self.find_one(|conn| {
            users::table
                .filter(lower(users::email).eq(lower(email.as_str())))
                .get_result(conn)
                .optional()
        })
    }

    /// The session comes whatever its state, ended or expired included (the caller decides with
    /// `Session::is_live`); `None` inside when it is unknown, pruned or another user's.
    fn find_with_session(
        &self,
        id: UserId,
        session_id: &SessionId,
    ) -> Result<Option<(User, Option<Session>)>, RepositoryError> {
        let row = self.db.run(|conn| {
            users::table
                .left_join(
                    sessions::table.on(sessions::id
                        .eq(session_id.as_str())
                        .and(sessions::user_id.eq(users::id))),
                )
                .filter(users::id.eq(id.get()))
                .select((users::all_columns, SessionRow::COLUMNS.nullable()))
                .get_result::<(UserRow, Option<SessionRow>)>(conn)
                .optional()
        })?;
        row.map(|(user, session)| Ok((User::try_from(user).map_err(unexpected)?, domain(session)?)))
            .transpose()
    }

    fn find_with_profile(
        &self,
        id: UserId,
        session_id: Option<SessionId>,
    ) -> Result<Option<(User, Option<Session>, Option<Profile>)>, RepositoryError> {
        // No session id is ever empty, so without one the join finds no session.
        let session_id = session_id
            .map(|id| id.as_str().to_owned())
            .unwrap_or_default();
        let row = self.db.run(|conn| {
            users::table
                .left_join(
                    sessions::table.on(sessions::id
                        .eq(session_id)
                        .and(sessions::user_id.eq(users::id))),
                )
                .left_join(profiles::table.on(profiles::user_id.eq(users::id)))
                .filter(users::id.eq(id.get()))
                .select((
                    users::all_columns,
                    SessionRow::COLUMNS.nullable(),
                    profiles::all_columns.nullable(),
                ))
                .get_result::<(UserRow, Option<SessionRow>, Option<ProfileRow>)>(conn)
                .optional()
        })?;
        row.map(|(user, session, profile)| {
            let user = User::try_from(user).map_err(unexpected)?;
            Ok((user, domain(session)?, domain(profile)?))
        })
        .transpose()
    }

    fn deactivate(
        &self,
        id: UserId,
        at: DateTime<Utc>,
        effects: Effects,
    ) -> Result<bool, RepositoryError> {
        let mut written = Written::new(effects);
        let stored_at = to_stored(at);
        let found = self.db.write(|conn| {
            conn.transaction(|conn| {
                let found = diesel::update(users::table.find(id.get()))
                    .set(users::is_active.eq(false))
                    .execute(conn)?;
                if found == 0 {
                    return Ok(false);
                }
                let ended = end_sessions(conn, id, "", SessionEnd::UserDeactivated, stored_at)?;
                written.ended(id, ended, SessionEnd::UserDeactivated, at);
                written.write(conn, stored_at)?;
                Ok(true)
            })
        })?;
        if found {
            written.committed(&self.db);
        }
        Ok(found)
    }

    /// The port gives no time, so the events keep their own and nothing else is stamped.
    fn reactivate(&self, id: UserId, effects: Effects) -> Result<bool, RepositoryError> {
        let written = Written::new(effects);
        let now = to_stored(Utc::now());
        let found = self.db.write(|conn| {
            conn.transaction(|conn| {
                let found = diesel::update(users::table.find(id.get()))
                    .set(users::is_active.eq(true))
                    .execute(conn)?;
                if found == 1 {
                    written.write(conn, now)?;
                }
                Ok(found == 1)
            })
        })?;
        if found {
            written.committed(&self.db);
        }
        Ok(found)
    }

    fn find_profile(&self, user_id: UserId) -> Result<Option<Profile>, RepositoryError> {
        let row = self.db.run(|conn| {
            profiles::table
                .filter(profiles::user_id.eq(user_id.get()))
                .get_result::<ProfileRow>(conn)
                .optional()
        })?;
        row.map(|row| Profile::try_from(row).map_err(unexpected))
            .transpose()
    }

    fn update_profile(
        &self,
        id: UserId,
        changes: ProfileChanges,
        updated_at: DateTime<Utc>,
        effects: Effects,
    ) -> Result<(User, Profile), UpdateUserError> {
        let written = Written::new(effects);
        let mut user_changes = UserChanges {
            email_verified: None,
            email: changes.email.as_ref().map(Email::as_str),
            first_name: changes.first_name.as_ref().map(PersonName::as_str),
            last_name: changes.last_name.as_ref().map(PersonName::as_str),
            pending_email: changes
                .pending_email
                .as_ref()
                .map(|pending| pending.as_ref().map(Email::as_str)),
        };
        let updated_at = to_stored(updated_at);
        let profile_changes = ProfileChangesRow {
            phone: changes.phone.as_ref().map(Phone::as_str),
            updated_at,
        };
        // The profile is written first: on SQLite a transaction that starts with a write takes
        // the write lock at once (waiting up to busy_timeout), where one that reads first could
        // fail to upgrade its lock.
        let updated = self.db.write(|conn| {
            conn.transaction(|conn| {
                let profile: ProfileRow =
                    diesel::update(profiles::table.filter(profiles::user_id.eq(id.get())))
                        .set(&profile_changes)
                        .get_result(conn)?;
                // An address in another mailbox is not verified, whatever the old one was
                // (a change of case only keeps the state).
                if let Some(new) = user_changes.email {
                    let old: String = users::table
                        .find(id.get())
                        .select(users::email)
                        .get_result(conn)?;
                    if !old.eq_ignore_ascii_case(new) {
                        user_changes.email_verified = Some(false);
                    }
                }
                let user: UserRow = if user_changes.is_empty() {
                    users::table.find(id.get()).get_result(conn)?
                } else {
                    diesel::update(users::table.find(id.get()))
                        .set(&user_changes)
                        .get_result(conn)?
                };
                written.write(conn, updated_at)?;
                Ok((user, profile))
            })
        });
        match updated {
            Ok((user, profile)) => {
                written.committed(&self.db);
                Ok(to_domain(user, profile)?)
            }
            Err(DbError::Query(DieselError::NotFound)) => Err(UpdateUserError::NotFound),
            Err(DbError::Query(error)) if violated_unique_constraint(&error).is_some() => {
                Err(UpdateUserError::EmailTaken)
            }
            Err(error) => Err(RepositoryError::from(error).into()),
        }
    }

    /// Sessions are ended as `end_all` ends them: every one not ended yet, expired or not.
    fn change_password(
        &self,
        id: UserId,
        current: &PasswordHash,
        hash: PasswordHash,
        keep: Option<SessionId>,
        at: DateTime<Utc>,
        effects: Effects,
    ) -> Result<bool, RepositoryError> {
        let mut written = Written::new(effects);
        let ended_at = at;
        let at = to_stored(at);
        // No session id is empty, so `""` keeps none.
        let keep = keep.as_ref().map_or("", SessionId::as_str);
        let found = self.db.write(|conn| {
            conn.transaction(|conn| {
                let found = diesel::update(
                    users::table
                        .find(id.get())
                        .filter(users::password.eq(current.as_str())),
                )
                .set(users::password.eq(hash.as_str()))
                .execute(conn)?;
                if found == 0 {
                    return Ok(false);
                }
                let ended = end_sessions(conn, id, keep, SessionEnd::PasswordChanged, at)?;
                written.ended(id, ended, SessionEnd::PasswordChanged, ended_at);
                written.write(conn, at)?;
                Ok(true)
            })
        })?;
        if found {
            written.committed(&self.db);
        }
        Ok(found)
    }

    /// The port gives no time, so the queued rows are stamped with the wall clock. The pending
    /// address keeps the spelling it was stored with when it becomes the address.
    fn confirm_email(
        &self,
        id: UserId,
        email: &Email,
        at: DateTime<Utc>,
        effects: Effects,
    ) -> Result<User, UpdateUserError> {
        let written = Written::new(effects);
        let now = to_stored(at);
        let address = email.as_str();
        // Each branch starts with its write, so that SQLite takes the write lock at once; the
        // conditions say which address it is, and nothing is written when neither holds.
        let confirmed = self.db.write(|conn| {
            conn.transaction(|conn| {
                let own: Option<UserRow> = diesel::update(
                    users::table
                        .find(id.get())
                        .filter(lower(users::email).eq(lower(address))),
                )
                .set(users::email_verified.eq(true))
                .get_result(conn)
                .optional()?;
                let user: UserRow =
                    match own {
                        Some(user) => user,
                        None => diesel::update(users::table.find(id.get()).filter(
                            lower_nullable(users::pending_email).eq(lower_nullable(address)),
                        ))
                        .set((
                            users::email.eq(users::pending_email.assume_not_null()),
                            users::email_verified.eq(true),
                            users::pending_email.eq(None::<&str>),
                        ))
                        .get_result(conn)?,
                    };
                written.write(conn, now)?;
                Ok(user)
            })
        });
        match confirmed {
            Ok(user) => {
                written.committed(&self.db);
                Ok(User::try_from(user).map_err(unexpected)?)
            }
            Err(DbError::Query(DieselError::NotFound)) => Err(UpdateUserError::NotFound),
            Err(DbError::Query(error)) if violated_unique_constraint(&error).is_some() => {
                Err(UpdateUserError::EmailTaken)
            }
            Err(error) => Err(RepositoryError::from(error).into()),
        }
    }

    /// The profile and sessions go by their foreign keys' cascade. Refresh tokens have no foreign
    /// key, so they are deleted here, in the same transaction. That table kept them so that a
    /// revoked token stays refused after its user is gone; it still is, because a token whose
    /// user does not exist is refused, and ids are never given again (`BIGSERIAL`,
    /// `AUTOINCREMENT`). Login throttle rows are keyed by username and address, not by user, and
    /// stay until they expire; outbox rows are addressed, not owned, and go out or are pruned.
    /// The audit events stay: they have no foreign key.
    fn delete(&self, id: UserId, effects: Effects) -> Result<bool, RepositoryError> {
        let written = Written::new(effects);
        let now = to_stored(Utc::now());
        let found = self.db.write(|conn| {
            conn.transaction(|conn| {
                let found = diesel::delete(users::table.find(id.get())).execute(conn)?;
                if found == 1 {
                    diesel::delete(
                        refresh_tokens::table.filter(refresh_tokens::user_id.eq(id.get())),
                    )
                    .execute(conn)?;
                    written.write(conn, now)?;
                }
                Ok(found == 1)
            })
        })?;
        if found {
            written.committed(&self.db);
        }
        Ok(found)
    }

    fn record_login(&self, id: UserId, at: DateTime<Utc>) -> Result<(), RepositoryError> {
        self.db.write(|conn| {
            diesel::update(users::table.find(id.get()))
                .set(users::last_login.eq(Some(to_stored(at))))
                .execute(conn)
        })?;
        Ok(())
    }

    fn set_password_hash(
        &self,
        id: UserId,
        current: &PasswordHash,
        hash: PasswordHash,
    ) -> Result<(), RepositoryError> {
        self.db.write(|conn| {
            diesel::update(
                users::table
                    .find(id.get())
                    .filter(users::password.eq(current.as_str())),
            )
            .set(users::password.eq(hash.as_str()))
            .execute(conn)
        })?;
        Ok(())
    }
}

/// Ends every session of the user not ended yet, except `keep` (`""` keeps none), in the
/// caller's transaction; returns the ids it ended.
pub(crate) fn end_sessions(
    conn: &mut AnyConnection,
    user_id: UserId,
    keep: &str,
    reason: SessionEnd,
    at: chrono::NaiveDateTime,
) -> QueryResult<Vec<String>> {
    diesel::update(
        sessions::table
            .filter(sessions::user_id.eq(user_id.get()))
            .filter(sessions::ended_at.is_null())
            .filter(sessions::id.ne(keep)),
    )
    .set((
        sessions::ended_at.eq(Some(at)),
        sessions::end_reason.eq(Some(reason.as_str())),
    ))
    .returning(sessions::id)
    .get_results(conn)
}
