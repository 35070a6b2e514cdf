//! `RefreshTokenStore` over diesel.

use application::ports::{RefreshTokenStore, RepositoryError};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};
use domain::{SessionId, TokenClaims, TokenId};

use crate::database::Database;
use crate::rows::{NewRefreshTokenRow, row_count, to_stored};
use crate::schema::refresh_tokens;

/// Issued and revoked refresh tokens in the `refresh_tokens` table.
#[derive(Debug, Clone)]
pub struct DieselRefreshTokenStore {
    db: Database,
}

impl DieselRefreshTokenStore {
    pub(crate) fn new(db: Database) -> Self {
        Self { db }
    }
}

/// Records the token if unknown and revokes it unless it already is, in one statement, so that
/// two concurrent revocations cannot both insert. `$n` placeholders work on both backends.
const REVOKE: &str = "INSERT INTO refresh_tokens \
     (jti, user_id, issued_at, expires_at, session_id, revoked_at) \
     VALUES ($1, $2, $3, $4, $5, $6) \
     ON CONFLICT (jti) DO UPDATE \
     SET revoked_at = COALESCE(refresh_tokens.revoked_at, excluded.revoked_at)";

/// Neither backend takes a `LIMIT` on a `DELETE` itself (SQLite only when built with an option),
/// and diesel's DSL refuses a subquery on the table being deleted from.
const DELETE_EXPIRED: &str = "DELETE FROM refresh_tokens WHERE id IN \
     (SELECT id FROM refresh_tokens WHERE expires_at < $1 LIMIT $2)";

impl RefreshTokenStore for DieselRefreshTokenStore {
    fn record(&self, claims: &TokenClaims) -> Result<(), RepositoryError> {
        let row = NewRefreshTokenRow::from(claims);
        self.db.write(|conn| {
            diesel::insert_into(refresh_tokens::table)
                .values(&row)
                .execute(conn)
        })?;
        Ok(())
    }

    fn revoke(&self, claims: &TokenClaims, at: DateTime<Utc>) -> Result<(), RepositoryError> {
        self.db.write(|conn| {
            diesel::sql_query(REVOKE)
                .bind::<Text, _>(claims.id.as_str())
                .bind::<BigInt, _>(claims.user_id.get())
                .bind::<Timestamp, _>(to_stored(claims.issued_at))
                .bind::<Timestamp, _>(to_stored(claims.expires_at))
                .bind::<Nullable<Text>, _>(claims.session_id.as_ref().map(SessionId::as_str))
                .bind::<Nullable<Timestamp>, _>(Some(to_stored(at)))
                .execute(conn)
        })?;
        Ok(())
    }

    fn is_revoked(&self, id: &TokenId) -> Result<bool, RepositoryError> {
        let revoked_at = self.db.run(|conn| {
            refresh_tokens::table
                .filter(refresh_tokens::jti.eq(id.as_str()))
                .select(refresh_tokens::revoked_at)
                .get_result::<Option<chrono::NaiveDateTime>>(conn)
                .optional()
        })?;
        Ok(matches!(revoked_at, Some(Some(_))))
    }

    fn delete_expired(&self, now: DateTime<Utc>, batch: u32) -> Result<u64, RepositoryError> {
        let deleted = self.db.write(|conn| {
            diesel::sql_query(DELETE_EXPIRED)
                .bind::<Timestamp, _>(to_stored(now))
                .bind::<BigInt, _>(i64::from(batch))
                .execute(conn)
        })?;
        Ok(row_count(deleted))
    }
}
