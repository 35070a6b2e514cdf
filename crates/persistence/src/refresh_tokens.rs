//! `RefreshTokenStore` over diesel.

use application::ports::{RefreshTokenStore, RepositoryError};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};
use domain::{TokenClaims, TokenId};

use crate::database::Database;
use crate::rows::{NewRefreshTokenRow, to_stored};
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
const REVOKE: &str = "INSERT INTO refresh_tokens (jti, user_id, issued_at, expires_at, revoked_at) \
     VALUES ($1, $2, $3, $4, $5) \
     ON CONFLICT (jti) DO UPDATE \
     SET revoked_at = COALESCE(refresh_tokens.revoked_at, excluded.revoked_at)";

impl RefreshTokenStore for DieselRefreshTokenStore {
    fn record(&self, claims: &TokenClaims) -> Result<(), RepositoryError> {
        let row = NewRefreshTokenRow {
            jti: claims.id.as_str(),
            user_id: claims.user_id.get(),
            issued_at: to_stored(claims.issued_at),
            expires_at: to_stored(claims.expires_at),
        };
        self.db.run(|conn| {
            diesel::insert_into(refresh_tokens::table)
                .values(&row)
                .execute(conn)
        })?;
        Ok(())
    }

    fn revoke(&self, claims: &TokenClaims, at: DateTime<Utc>) -> Result<(), RepositoryError> {
        self.db.run(|conn| {
            diesel::sql_query(REVOKE)
                .bind::<Text, _>(claims.id.as_str())
                .bind::<BigInt, _>(claims.user_id.get())
                .bind::<Timestamp, _>(to_stored(claims.issued_at))
                .bind::<Timestamp, _>(to_stored(claims.expires_at))
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

    fn delete_expired(&self, now: DateTime<Utc>) -> Result<u64, RepositoryError> {
        let deleted = self.db.run(|conn| {
            diesel::delete(
                refresh_tokens::table.filter(refresh_tokens::expires_at.lt(to_stored(now))),
            )
            .execute(conn)
        })?;
        // A count of rows always fits.
        Ok(u64::try_from(deleted).unwrap_or(u64::MAX))
    }
}
