//! Rows as diesel reads and writes them, and their conversions to and from domain types.

use std::error::Error as StdError;
use std::fmt;

use application::ports::RepositoryError;
use chrono::{DateTime, NaiveDateTime, SubsecRound, Utc};
use diesel::prelude::*;
use domain::{
    ClientInfo, Email, PasswordHash, PersonName, Phone, Profile, Session, SessionEnd, SessionId,
    TokenClaims, User, UserId, Username,
};

use crate::schema::{profiles, refresh_tokens, sessions, users};

/// A stored time: UTC, cut to the microseconds both backends keep, so that what is written is
/// exactly what is read back.
pub(crate) fn to_stored(time: DateTime<Utc>) -> NaiveDateTime {
    time.naive_utc().trunc_subsecs(6)
}

pub(crate) fn from_stored(time: NaiveDateTime) -> DateTime<Utc> {
    time.and_utc()
}

/// A count of rows affected, as the ports report it; it always fits.
pub(crate) fn row_count(rows: usize) -> u64 {
    u64::try_from(rows).unwrap_or(u64::MAX)
}

/// A stored row that the domain refuses, e.g. an email written before a validation rule changed.
#[derive(Debug)]
pub(crate) struct InvalidRow {
    table: &'static str,
    /// The row's primary key, or for a token its `jti`.
    id: String,
    problem: String,
}

impl fmt::Display for InvalidRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} row {} is invalid: {}",
            self.table, self.id, self.problem
        )
    }
}

impl StdError for InvalidRow {}

/// A row that cannot become its domain type is a storage failure: what is wrong with it travels
/// as the source, and the HTTP layer logs the whole chain.
pub(crate) fn unexpected(error: InvalidRow) -> RepositoryError {
    RepositoryError::Unexpected(Box::new(error))
}

#[derive(Debug, Queryable)]
#[diesel(table_name = users)]
pub(crate) struct UserRow {
    pub(crate) id: i64,
    pub(crate) username: String,
    pub(crate) email: String,
    pub(crate) password: String,
    pub(crate) first_name: String,
    pub(crate) last_name: String,
    pub(crate) is_active: bool,
    pub(crate) is_staff: bool,
    pub(crate) is_superuser: bool,
    pub(crate) date_joined: NaiveDateTime,
    pub(crate) last_login: Option<NaiveDateTime>,
}

impl TryFrom<UserRow> for User {
    type Error = InvalidRow;

    fn try_from(row: UserRow) -> Result<Self, Self::Error> {
        let invalid = |problem: String| InvalidRow {
            table: "users",
            id: row.id.to_string(),
            problem,
        };
        let username = Username::parse(&row.username)
            .map_err(|problems| invalid(format!("username: {problems:?}")))?;
        let email =
            Email::parse(&row.email).map_err(|problems| invalid(format!("email: {problems:?}")))?;
        let first_name = PersonName::parse(&row.first_name)
            .map_err(|problem| invalid(format!("first_name: {problem}")))?;
        let last_name = PersonName::parse(&row.last_name)
            .map_err(|problem| invalid(format!("last_name: {problem}")))?;
        Ok(User {
            id: UserId::new(row.id),
            username,
            email,
            password_hash: PasswordHash::new(row.password),
            first_name,
            last_name,
            is_active: row.is_active,
            is_staff: row.is_staff,
            is_superuser: row.is_superuser,
            date_joined: from_stored(row.date_joined),
            last_login: row.last_login.map(from_stored),
        })
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub(crate) struct NewUserRow<'a> {
    pub(crate) username: &'a str,
    pub(crate) email: &'a str,
    pub(crate) password: &'a str,
    pub(crate) first_name: &'a str,
    pub(crate) last_name: &'a str,
    pub(crate) is_active: bool,
    pub(crate) is_staff: bool,
    pub(crate) is_superuser: bool,
    pub(crate) date_joined: NaiveDateTime,
}

/// The user columns a profile update may change; `None` keeps the stored value.
#[derive(Debug, AsChangeset)]
#[diesel(table_name = users)]
pub(crate) struct UserChanges<'a> {
    pub(crate) email: Option<&'a str>,
    pub(crate) first_name: Option<&'a str>,
    pub(crate) last_name: Option<&'a str>,
}

impl UserChanges<'_> {
    /// diesel refuses an `UPDATE` with nothing to set.
    pub(crate) fn is_empty(&self) -> bool {
        self.email.is_none() && self.first_name.is_none() && self.last_name.is_none()
    }
}

#[derive(Debug, Queryable)]
#[diesel(table_name = profiles)]
pub(crate) struct ProfileRow {
    pub(crate) id: i64,
    pub(crate) user_id: i64,
    pub(crate) phone: String,
    pub(crate) created_at: NaiveDateTime,
    pub(crate) updated_at: NaiveDateTime,
}

impl TryFrom<ProfileRow> for Profile {
    type Error = InvalidRow;

    fn try_from(row: ProfileRow) -> Result<Self, Self::Error> {
        let phone = Phone::parse(&row.phone).map_err(|problem| InvalidRow {
            table: "profiles",
            id: row.id.to_string(),
            problem: format!("phone: {problem}"),
        })?;
        Ok(Profile {
            id: row.id,
            user_id: UserId::new(row.user_id),
            phone,
            created_at: from_stored(row.created_at),
            updated_at: from_stored(row.updated_at),
        })
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = profiles)]
pub(crate) struct NewProfileRow<'a> {
    pub(crate) user_id: i64,
    pub(crate) phone: &'a str,
    pub(crate) created_at: NaiveDateTime,
    pub(crate) updated_at: NaiveDateTime,
}

/// A profile update always sets `updated_at`, so it is never empty.
#[derive(Debug, AsChangeset)]
#[diesel(table_name = profiles)]
pub(crate) struct ProfileChangesRow<'a> {
    pub(crate) phone: Option<&'a str>,
    pub(crate) updated_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = refresh_tokens)]
pub(crate) struct NewRefreshTokenRow<'a> {
    pub(crate) jti: &'a str,
    pub(crate) user_id: i64,
    pub(crate) issued_at: NaiveDateTime,
    pub(crate) expires_at: NaiveDateTime,
    pub(crate) session_id: Option<&'a str>,
}

impl<'a> From<&'a TokenClaims> for NewRefreshTokenRow<'a> {
    fn from(claims: &'a TokenClaims) -> Self {
        Self {
            jti: claims.id.as_str(),
            user_id: claims.user_id.get(),
            issued_at: to_stored(claims.issued_at),
            expires_at: to_stored(claims.expires_at),
            session_id: claims.session_id.as_ref().map(SessionId::as_str),
        }
    }
}

/// A session as the domain sees it, selected by [`SessionRow::COLUMNS`]: the columns of its
/// refresh-token chain are read only by the rotation that needs them.
#[derive(Debug, Queryable)]
#[diesel(table_name = sessions)]
pub(crate) struct SessionRow {
    pub(crate) id: String,
    pub(crate) user_id: i64,
    pub(crate) created_at: NaiveDateTime,
    pub(crate) last_used_at: NaiveDateTime,
    pub(crate) expires_at: NaiveDateTime,
    pub(crate) absolute_expires_at: NaiveDateTime,
    pub(crate) ip_address: String,
    pub(crate) user_agent: String,
    pub(crate) ended_at: Option<NaiveDateTime>,
    pub(crate) end_reason: Option<String>,
}

impl SessionRow {
    pub(crate) const COLUMNS: (
        sessions::id,
        sessions::user_id,
        sessions::created_at,
        sessions::last_used_at,
        sessions::expires_at,
        sessions::absolute_expires_at,
        sessions::ip_address,
        sessions::user_agent,
        sessions::ended_at,
        sessions::end_reason,
    ) = (
        sessions::id,
        sessions::user_id,
        sessions::created_at,
        sessions::last_used_at,
        sessions::expires_at,
        sessions::absolute_expires_at,
        sessions::ip_address,
        sessions::user_agent,
        sessions::ended_at,
        sessions::end_reason,
    );
}

impl TryFrom<SessionRow> for Session {
    type Error = InvalidRow;

    fn try_from(row: SessionRow) -> Result<Self, Self::Error> {
        let invalid = |problem: String| InvalidRow {
            table: "sessions",
            id: row.id.clone(),
            problem,
        };
        let id = SessionId::parse(&row.id)
            .ok_or_else(|| invalid("id is not a session id".to_owned()))?;
        let ended = match (row.ended_at, row.end_reason.as_deref()) {
            (None, None) => None,
            (Some(at), Some(reason)) => {
                let reason = SessionEnd::parse(reason)
                    .ok_or_else(|| invalid(format!("unknown end_reason {reason:?}")))?;
                Some((from_stored(at), reason))
            }
            _ => {
                return Err(invalid(
                    "ended_at and end_reason must be both set or both null".to_owned(),
                ));
            }
        };
        Ok(Session {
            id,
            user_id: UserId::new(row.user_id),
            created_at: from_stored(row.created_at),
            last_used_at: from_stored(row.last_used_at),
            expires_at: from_stored(row.expires_at),
            absolute_expires_at: from_stored(row.absolute_expires_at),
            client: ClientInfo::new(&row.ip_address, &row.user_agent),
            ended,
        })
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = sessions)]
pub(crate) struct NewSessionRow<'a> {
    pub(crate) id: &'a str,
    pub(crate) user_id: i64,
    pub(crate) created_at: NaiveDateTime,
    pub(crate) last_used_at: NaiveDateTime,
    pub(crate) expires_at: NaiveDateTime,
    pub(crate) absolute_expires_at: NaiveDateTime,
    pub(crate) ip_address: &'a str,
    pub(crate) user_agent: &'a str,
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn stored_times_keep_microseconds_and_drop_nanoseconds() {
        let time = Utc
            .with_ymd_and_hms(2026, 11, 24, 12, 30, 45)
            .single()
            .expect("valid date")
            + chrono::Duration::nanoseconds(123_456_789);
        let stored = to_stored(time);
        assert_eq!(
            from_stored(stored),
            time - chrono::Duration::nanoseconds(789)
        );
    }
}
