//! The audit log's vocabulary: what happened to an account, to whom, and from where.

use chrono::{DateTime, Utc};

use crate::session::clean;
use crate::{ClientInfo, SessionEnd, SessionId, USERNAME_MAX_CHARS, UserId};

/// What an audit event records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditKind {
    /// A login started a session.
    LoginSucceeded,
    /// A login was refused; the detail is the [`LoginFailure`].
    LoginFailed,
    /// The back-off refused a login without checking its password.
    LoginThrottled,
    /// A user registered (and signed in).
    UserRegistered,
    /// A user logged out; the detail is the scope (`this`, `others`, `all`).
    LoggedOut,
    /// A session ended; the detail is its [`SessionEnd`] reason.
    SessionEnded,
    /// A refresh token spent before its session's last rotation was presented again.
    RefreshTokenReused,
    /// A signed-in user changed their password.
    PasswordChanged,
    /// Someone asked for a reset link for an address (the attempted username is that address;
    /// whether an account has it is not known on the request's path).
    PasswordResetRequested,
    /// A reset link set a new password.
    PasswordResetCompleted,
    /// A verification link confirmed an address; the detail is the address.
    EmailVerified,
    /// A user deleted their account.
    AccountDeleted,
    /// `createsuperuser` made an account.
    SuperuserCreated,
    /// A user was deactivated.
    UserDeactivated,
    /// A user was reactivated.
    UserReactivated,
}

impl AuditKind {
    pub const ALL: [Self; 15] = [
        Self::LoginSucceeded,
        Self::LoginFailed,
        Self::LoginThrottled,
        Self::UserRegistered,
        Self::LoggedOut,
        Self::SessionEnded,
        Self::RefreshTokenReused,
        Self::PasswordChanged,
        Self::PasswordResetRequested,
        Self::PasswordResetCompleted,
        Self::EmailVerified,
        Self::AccountDeleted,
        Self::SuperuserCreated,
        Self::UserDeactivated,
        Self::UserReactivated,
    ];

    /// The name stored in `auth_events.event` and printed by `auth-server audit`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::LoginSucceeded => "login_succeeded",
            Self::LoginFailed => "login_failed",
            Self::LoginThrottled => "login_throttled",
            Self::UserRegistered => "user_registered",
            Self::LoggedOut => "logged_out",
            Self::SessionEnded => "session_ended",
            Self::RefreshTokenReused => "refresh_token_reused",
            Self::PasswordChanged => "password_changed",
            Self::PasswordResetRequested => "password_reset_requested",
            Self::PasswordResetCompleted => "password_reset_completed",
            Self::EmailVerified => "email_verified",
            Self::AccountDeleted => "account_deleted",
            Self::SuperuserCreated => "superuser_created",
            Self::UserDeactivated => "user_deactivated",
            Self::UserReactivated => "user_reactivated",
        }
    }

    pub fn parse(stored: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == stored)
    }
}

/// Why a login was refused, as the audit log tells it (the client is never told).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginFailure {
    UnknownUser,
    WrongPassword,
    /// The stored hash can verify no password (`!…`, or a hasher this server does not run).
    UnusablePassword,
    Inactive,
    EmailNotVerified,
}

impl LoginFailure {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::UnknownUser => "unknown_user",
            Self::WrongPassword => "wrong_password",
            Self::UnusablePassword => "unusable_password",
            Self::Inactive => "inactive",
            Self::EmailNotVerified => "email_not_verified",
        }
    }
}

/// One row of the audit log. It never holds a password or a token: its fields are ids, names,
/// where the request came from, and a detail from a fixed vocabulary (or an address).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    pub at: DateTime<Utc>,
    pub kind: AuditKind,
    /// The account, when one is known (never for an unknown username).
    pub user_id: Option<UserId>,
    /// The username as submitted (for a login) or the account's; at most
    /// [`AuditEvent::USERNAME_MAX_CHARS`].
    pub username: Option<String>,
    /// The request's client address, user agent and id.
    pub client: ClientInfo,
    pub session_id: Option<SessionId>,
    pub detail: Option<String>,
}

impl AuditEvent {
    /// An attempted username is kept to this many characters: longer than any valid one, so a
    /// typo stays readable, but bounded.
    pub const USERNAME_MAX_CHARS: usize = USERNAME_MAX_CHARS;
    pub const DETAIL_MAX_CHARS: usize = 254;

    pub fn new(kind: AuditKind, at: DateTime<Utc>, client: &ClientInfo) -> Self {
        Self {
            at,
            kind,
            user_id: None,
            username: None,
            client: client.clone(),
            session_id: None,
            detail: None,
        }
    }

    #[must_use]
    pub fn user(mut self, id: UserId, username: &str) -> Self {
        self.user_id = Some(id);
        self.username(username)
    }

    #[must_use]
    pub fn user_id(mut self, id: UserId) -> Self {
        self.user_id = Some(id);
        self
    }

    /// Cut to [`Self::USERNAME_MAX_CHARS`], without control characters.
    #[must_use]
    pub fn username(mut self, username: &str) -> Self {
        self.username = Some(clean(username, Self::USERNAME_MAX_CHARS));
        self
    }

    #[must_use]
    pub fn session(mut self, id: Option<SessionId>) -> Self {
        self.session_id = id;
        self
    }

    /// Cut to [`Self::DETAIL_MAX_CHARS`], without control characters.
    #[must_use]
    pub fn detail(mut self, detail: &str) -> Self {
        self.detail = Some(clean(detail, Self::DETAIL_MAX_CHARS));
        self
    }

    /// The event a store records for each session it ends.
    pub fn session_ended(
        user_id: UserId,
        session_id: SessionId,
        reason: SessionEnd,
        at: DateTime<Utc>,
        client: &ClientInfo,
    ) -> Self {
        Self::new(AuditKind::SessionEnded, at, client)
            .user_id(user_id)
            .session(Some(session_id))
            .detail(reason.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_parses_back_from_its_name_and_names_are_distinct() {
        let mut names: Vec<_> = AuditKind::ALL.iter().map(|kind| kind.as_str()).collect();
        for kind in AuditKind::ALL {
            assert_eq!(AuditKind::parse(kind.as_str()), Some(kind));
        }
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), AuditKind::ALL.len());
        assert_eq!(AuditKind::parse("login"), None);
    }

    #[test]
    fn usernames_and_details_are_bounded_and_lose_control_characters() {
        let client = ClientInfo::default();
        let event = AuditEvent::new(AuditKind::LoginFailed, Utc::now(), &client)
            .username(&format!("a\u{0}b\n{}", "x".repeat(500)))
            .detail(&"é".repeat(300));
        let username = event.username.expect("set");
        assert!(username.starts_with("abx"));
        assert_eq!(username.chars().count(), AuditEvent::USERNAME_MAX_CHARS);
        assert_eq!(
            event.detail.expect("set").chars().count(),
            AuditEvent::DETAIL_MAX_CHARS
        );
    }
}
