//! Rows as diesel reads and writes them, and their conversions to and from domain types.

use std::error::Error as StdError;
use std::fmt;

use application::ports::{MailKind, OutboxMessage, OutgoingEmail, QueuedMessage, RepositoryError};
use chrono::{DateTime, NaiveDateTime, SubsecRound, Utc};
use diesel::prelude::*;
use domain::{
    ClientInfo, Email, PasswordHash, PersonName, Phone, Profile, Session, SessionEnd, SessionId,
    TokenClaims, User, UserId, Username,
};

use crate::schema::{outbox, profiles, refresh_tokens, sessions, users};

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
    pub(crate) table: &'static str,
    /// The row's primary key, or for a token its `jti`.
    pub(crate) id: String,
    pub(crate) problem: String,
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
    pub(crate) email_verified: bool,
    pub(crate) pending_email: Option<String>,
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
        // Blank only for users imported from Django, which allows it.
        let email = if row.email.is_empty() {
            Email::blank()
        } else {
            Email::parse(&row.email).map_err(|problems| invalid(format!("email: {problems:?}")))?
        };
        let pending_email = row
            .pending_email
            .as_deref()
            .map(Email::parse)
            .transpose()
            .map_err(|problems| invalid(format!("pending_email: {problems:?}")))?;
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
            email_verified: row.email_verified,
            pending_email,
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
    pub(crate) email_verified: bool,
}

/// The user columns a profile update may change; `None` keeps the stored value.
#[derive(Debug, AsChangeset)]
#[diesel(table_name = users)]
pub(crate) struct UserChanges<'a> {
    pub(crate) email: Option<&'a str>,
    pub(crate) first_name: Option<&'a str>,
    pub(crate) last_name: Option<&'a str>,
    /// `Some(None)` sets NULL.
    pub(crate) pending_email: Option<Option<&'a str>>,
    /// Set to `false` when the address changes to another mailbox.
    pub(crate) email_verified: Option<bool>,
}

impl UserChanges<'_> {
    /// diesel refuses an `UPDATE` with nothing to set.
    pub(crate) fn is_empty(&self) -> bool {
        self.email.is_none()
            && self.first_name.is_none()
            && self.last_name.is_none()
            && self.pending_email.is_none()
            && self.email_verified.is_none()
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

/// The `kind` of an outbox row.
pub(crate) mod outbox_kind {
    pub(crate) const EMAIL: &str = "email";
    pub(crate) const PASSWORD_RESET_REQUESTED: &str = "password_reset_requested";
    pub(crate) const VERIFICATION_RESEND_REQUESTED: &str = "verification_resend_requested";
}

/// The `status` of an outbox row.
pub(crate) mod outbox_status {
    pub(crate) const PENDING: &str = "pending";
    pub(crate) const SENT: &str = "sent";
    pub(crate) const FAILED: &str = "failed";
}

/// A claimed message, selected by [`OutboxRow::COLUMNS`]: the bookkeeping columns stay with the
/// worker's calls that write them.
#[derive(Debug, Queryable)]
#[diesel(table_name = outbox)]
pub(crate) struct OutboxRow {
    pub(crate) id: i64,
    pub(crate) kind: String,
    pub(crate) mail_kind: Option<String>,
    pub(crate) recipient: String,
    pub(crate) subject: String,
    pub(crate) text_body: String,
    pub(crate) html_body: String,
    pub(crate) attempts: i64,
    pub(crate) created_at: NaiveDateTime,
}

impl OutboxRow {
    pub(crate) const COLUMNS: (
        outbox::id,
        outbox::kind,
        outbox::mail_kind,
        outbox::recipient,
        outbox::subject,
        outbox::text_body,
        outbox::html_body,
        outbox::attempts,
        outbox::created_at,
    ) = (
        outbox::id,
        outbox::kind,
        outbox::mail_kind,
        outbox::recipient,
        outbox::subject,
        outbox::text_body,
        outbox::html_body,
        outbox::attempts,
        outbox::created_at,
    );
}

impl TryFrom<OutboxRow> for QueuedMessage {
    type Error = InvalidRow;

    fn try_from(row: OutboxRow) -> Result<Self, Self::Error> {
        let invalid = |problem: String| InvalidRow {
            table: "outbox",
            id: row.id.to_string(),
            problem,
        };
        let recipient = Email::parse(&row.recipient)
            .map_err(|problems| invalid(format!("recipient: {problems:?}")))?;
        let message = match (row.kind.as_str(), row.mail_kind.as_deref()) {
            (outbox_kind::EMAIL, Some(stored)) => {
                let kind = MailKind::parse(stored)
                    .ok_or_else(|| invalid(format!("unknown mail_kind {stored:?}")))?;
                OutboxMessage::Email(OutgoingEmail {
                    kind,
                    to: recipient,
                    subject: row.subject,
                    text: row.text_body,
                    html: row.html_body,
                })
            }
            (outbox_kind::EMAIL, None) => {
                return Err(invalid("an email without a mail_kind".to_owned()));
            }
            (outbox_kind::PASSWORD_RESET_REQUESTED, _) => {
                OutboxMessage::PasswordResetRequested { email: recipient }
            }
            (outbox_kind::VERIFICATION_RESEND_REQUESTED, _) => {
                OutboxMessage::VerificationResendRequested { email: recipient }
            }
            (kind, _) => return Err(invalid(format!("unknown kind {kind:?}"))),
        };
        let attempts = u32::try_from(row.attempts)
            .map_err(|_| invalid(format!("attempts {} out of range", row.attempts)))?;
        Ok(QueuedMessage {
            id: row.id,
            message,
            attempts,
            created_at: from_stored(row.created_at),
        })
    }
}

/// A pending outbox row, due at once.
#[derive(Debug, Insertable)]
#[diesel(table_name = outbox)]
pub(crate) struct NewOutboxRow<'a> {
    pub(crate) kind: &'static str,
    pub(crate) mail_kind: Option<&'static str>,
    pub(crate) recipient: &'a str,
    pub(crate) subject: &'a str,
    pub(crate) text_body: &'a str,
    pub(crate) html_body: &'a str,
    pub(crate) status: &'static str,
    pub(crate) next_attempt_at: NaiveDateTime,
    pub(crate) created_at: NaiveDateTime,
}

impl<'a> NewOutboxRow<'a> {
    pub(crate) fn new(message: &'a OutboxMessage, at: NaiveDateTime) -> Self {
        let (kind, mail_kind, recipient, subject, text_body, html_body) = match message {
            OutboxMessage::Email(email) => (
                outbox_kind::EMAIL,
                Some(email.kind.as_str()),
                &email.to,
                email.subject.as_str(),
                email.text.as_str(),
                email.html.as_str(),
            ),
            OutboxMessage::PasswordResetRequested { email } => (
                outbox_kind::PASSWORD_RESET_REQUESTED,
                None,
                email,
                "",
                "",
                "",
            ),
            OutboxMessage::VerificationResendRequested { email } => (
                outbox_kind::VERIFICATION_RESEND_REQUESTED,
                None,
                email,
                "",
                "",
                "",
            ),
        };
        Self {
            kind,
            mail_kind,
            recipient: recipient.as_str(),
            subject,
            text_body,
            html_body,
            status: outbox_status::PENDING,
            next_attempt_at: at,
            created_at: at,
        }
    }
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
