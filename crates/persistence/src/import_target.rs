//! `ImportTarget` over diesel: this system's tables, as the cutover from Django fills them.

use application::ports::{
    ImportTarget, ImportedProfile, ImportedToken, RepositoryError, StoredAccount, StoredState,
};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Nullable, Text, Timestamp};
use domain::{User, UserId};

use crate::connection::AnyConnection;
use crate::database::{Backend, Database};
use crate::rows::to_stored;
use crate::schema::{profiles, refresh_tokens, users};

/// Rows per `INSERT`: a multi-row statement is what makes the import fast, and this many stay
/// well under SQLite's 32,766 bound parameters (13 a user).
const ROWS_PER_STATEMENT: usize = 500;

/// A recorded refresh token becomes revoked, unless it already is.
const REVOKE: &str =
    "UPDATE refresh_tokens SET revoked_at = $1 WHERE jti = $2 AND revoked_at IS NULL";

/// Ids assigned after the import start past the imported ones (SQLite's `AUTOINCREMENT` keeps
/// track of the largest id by itself).
const ADVANCE_IDS: [&str; 2] = [
    "SELECT setval(pg_get_serial_sequence('users', 'id'), \
     COALESCE((SELECT MAX(id) FROM users), 1), (SELECT MAX(id) FROM users) IS NOT NULL)",
    "SELECT setval(pg_get_serial_sequence('profiles', 'id'), \
     COALESCE((SELECT MAX(id) FROM profiles), 1), (SELECT MAX(id) FROM profiles) IS NOT NULL)",
];

#[derive(Debug, Clone)]
pub struct DieselImportTarget {
    db: Database,
}

impl DieselImportTarget {
    pub(crate) fn new(db: Database) -> Self {
        Self { db }
    }
}

/// Runs `$body` with `$conn` bound to the concrete connection: diesel builds a multi-row
/// `INSERT … ON CONFLICT DO NOTHING` for each backend, not for the two together.
macro_rules! on_backend {
    ($any:expr, |$conn:ident| $body:expr) => {
        match $any {
            AnyConnection::Postgres($conn) => $body,
            AnyConnection::Sqlite($conn) => $body,
        }
    };
}

impl ImportTarget for DieselImportTarget {
    fn stored(&self) -> Result<StoredState, RepositoryError> {
        let (accounts, owners, tokens) = self.db.run(|conn| {
            let accounts: Vec<(i64, String, String)> = users::table
                .select((users::id, users::username, users::email))
                .load(conn)?;
            let owners: Vec<(i64, i64)> = profiles::table
                .select((profiles::id, profiles::user_id))
                .load(conn)?;
            let tokens: Vec<(String, Option<NaiveDateTime>)> = refresh_tokens::table
                .select((refresh_tokens::jti, refresh_tokens::revoked_at))
                .load(conn)?;
            Ok((accounts, owners, tokens))
        })?;
        Ok(StoredState {
            accounts: accounts
                .into_iter()
                .map(|(id, username, email)| StoredAccount {
                    id: UserId::new(id),
                    username,
                    email,
                })
                .collect(),
            profiles: owners
                .into_iter()
                .map(|(id, user)| (id, UserId::new(user)))
                .collect(),
            tokens: tokens
                .into_iter()
                .map(|(jti, revoked_at)| (jti, revoked_at.is_some()))
                .collect(),
        })
    }

    fn write_users(
        &self,
        new_users: &[User],
        new_profiles: &[ImportedProfile],
    ) -> Result<(), RepositoryError> {
        // `column = value` tuples rather than `Insertable` structs: with `Option` fields diesel
        // writes `DEFAULT` for `None`, which SQLite's multi-row `INSERT` cannot take.
        let user_rows = |batch: &[User]| -> Vec<_> {
            batch
                .iter()
                .map(|user| {
                    (
                        users::id.eq(user.id.get()),
                        users::username.eq(user.username.as_str().to_owned()),
                        users::email.eq(user.email.as_str().to_owned()),
                        users::password.eq(user.password_hash.as_str().to_owned()),
                        users::first_name.eq(user.first_name.as_str().to_owned()),
                        users::last_name.eq(user.last_name.as_str().to_owned()),
                        users::is_active.eq(user.is_active),
                        users::is_staff.eq(user.is_staff),
                        users::is_superuser.eq(user.is_superuser),
                        users::date_joined.eq(to_stored(user.date_joined)),
                        users::last_login.eq(user.last_login.map(to_stored)),
                        users::email_verified.eq(user.email_verified),
                    )
                })
                .collect()
        };
        let profile_rows = |batch: &[ImportedProfile]| -> Vec<_> {
            batch
                .iter()
                .map(|profile| {
                    (
                        profiles::id.eq(profile.id),
                        profiles::user_id.eq(profile.user_id.get()),
                        profiles::phone.eq(profile.phone.as_str().to_owned()),
                        profiles::created_at.eq(to_stored(profile.created_at)),
                        profiles::updated_at.eq(to_stored(profile.updated_at)),
                    )
                })
                .collect()
        };
        self.db.write(|any| {
            on_backend!(any, |conn| conn.transaction(|conn| {
                for batch in new_users.chunks(ROWS_PER_STATEMENT) {
                    diesel::insert_into(users::table)
                        .values(user_rows(batch))
                        .on_conflict_do_nothing()
                        .execute(conn)?;
                }
                for batch in new_profiles.chunks(ROWS_PER_STATEMENT) {
                    diesel::insert_into(profiles::table)
                        .values(profile_rows(batch))
                        .on_conflict_do_nothing()
                        .execute(conn)?;
                }
                Ok(())
            }))
        })?;
        Ok(())
    }

    fn write_tokens(
        &self,
        tokens: &[ImportedToken],
        revocations: &[(String, DateTime<Utc>)],
    ) -> Result<(), RepositoryError> {
        let token_rows = |batch: &[ImportedToken]| -> Vec<_> {
            batch
                .iter()
                .map(|token| {
                    (
                        refresh_tokens::jti.eq(token.jti.clone()),
                        refresh_tokens::user_id.eq(token.user_id.get()),
                        refresh_tokens::issued_at.eq(to_stored(token.issued_at)),
                        refresh_tokens::expires_at.eq(to_stored(token.expires_at)),
                        refresh_tokens::revoked_at.eq(token.revoked_at.map(to_stored)),
                    )
                })
                .collect()
        };
        self.db.write(|any| {
            on_backend!(any, |conn| conn.transaction(|conn| {
                for batch in tokens.chunks(ROWS_PER_STATEMENT) {
                    diesel::insert_into(refresh_tokens::table)
                        .values(token_rows(batch))
                        .on_conflict_do_nothing()
                        .execute(conn)?;
                }
                for (jti, at) in revocations {
                    diesel::sql_query(REVOKE)
                        .bind::<Nullable<Timestamp>, _>(Some(to_stored(*at)))
                        .bind::<Text, _>(jti)
                        .execute(conn)?;
                }
                Ok(())
            }))
        })?;
        Ok(())
    }

    fn finish(&self) -> Result<(), RepositoryError> {
        if self.db.backend() == Backend::Postgres {
            self.db.write(|conn| {
                for statement in ADVANCE_IDS {
                    diesel::sql_query(statement).execute(conn)?;
                }
                Ok(())
            })?;
        }
        Ok(())
    }
}
