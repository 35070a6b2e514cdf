//! What the account flows mail, and the settings they share.

use std::time::Duration;

use chrono::{DateTime, Utc};
use domain::{Email, User};

use crate::ports::{
    AccountTokens, ComposeError, MailComposer, MailContext, MailKind, OutboxMessage,
};

use super::token_pair::delta;

/// django-allauth's `ACCOUNT_EMAIL_VERIFICATION`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum EmailVerification {
    /// No mail at registration, and an address change takes effect at once (the original).
    #[default]
    None,
    /// A verification mail at registration and for a new address; sign-in does not wait for it.
    Optional,
    /// As `Optional`, and an unverified user cannot sign in.
    Mandatory,
}

impl EmailVerification {
    pub const fn sends_mail(self) -> bool {
        !matches!(self, Self::None)
    }
}

/// The settings of the account flows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountPolicy {
    pub email_verification: EmailVerification,
    /// The web app's origin, the base of every link (`FRONTEND_URL`), without a trailing slash.
    pub frontend_url: String,
    /// How long a reset link works (`PASSWORD_RESET_TIMEOUT`).
    pub password_reset_timeout: Duration,
    /// How long a verification link works (`ACCOUNT_EMAIL_CONFIRMATION_EXPIRE_DAYS`).
    pub email_confirmation_expiry: Duration,
    /// Reset mails sent to one address in an hour at most; further requests are answered as
    /// usual and send nothing.
    pub resets_per_address_per_hour: u64,
}

impl Default for AccountPolicy {
    fn default() -> Self {
        Self {
            email_verification: EmailVerification::None,
            frontend_url: "http://localhost:3000".to_owned(),
            password_reset_timeout: Duration::from_secs(3600),
            email_confirmation_expiry: Duration::from_secs(3 * 86_400),
            resets_per_address_per_hour: 3,
        }
    }
}

impl AccountPolicy {
    pub(crate) fn reset_timeout(&self) -> chrono::TimeDelta {
        delta(self.password_reset_timeout)
    }

    pub(crate) fn confirmation_expiry(&self) -> chrono::TimeDelta {
        delta(self.email_confirmation_expiry)
    }

    fn link(&self, path: &str, query: &str) -> String {
        format!("{}/{path}?{query}", self.frontend_url.trim_end_matches('/'))
    }
}

/// Builds the outbox messages of the account flows.
pub(crate) struct Mails<'a> {
    pub composer: &'a dyn MailComposer,
    pub tokens: &'a dyn AccountTokens,
    pub policy: &'a AccountPolicy,
}

impl Mails<'_> {
    fn compose(
        &self,
        to: &Email,
        kind: MailKind,
        username: &str,
        link: Option<String>,
        new_email: Option<&Email>,
    ) -> Result<OutboxMessage, ComposeError> {
        let context = MailContext {
            kind,
            username: username.to_owned(),
            link,
            new_email: new_email.map(|email| email.as_str().to_owned()),
        };
        self.composer
            .compose(to, &context)
            .map(OutboxMessage::Email)
    }

    /// The link that verifies `email` for the user `username`.
    pub fn verify_email(
        &self,
        username: &str,
        email: &Email,
        now: DateTime<Utc>,
    ) -> Result<OutboxMessage, ComposeError> {
        let key = self.tokens.verification_key(username, email, now);
        let link = self.policy.link("verify-email", &format!("key={key}"));
        self.compose(email, MailKind::VerifyEmail, username, Some(link), None)
    }

    /// The reset link for the user as it is now.
    pub fn password_reset(
        &self,
        user: &User,
        now: DateTime<Utc>,
    ) -> Result<OutboxMessage, ComposeError> {
        let uid = self.tokens.encode_uid(user.id);
        let token = self.tokens.reset_token(user, now);
        let link = self
            .policy
            .link("reset-password", &format!("uid={uid}&token={token}"));
        self.compose(
            &user.email,
            MailKind::PasswordReset,
            user.username.as_str(),
            Some(link),
            None,
        )
    }

    /// The notice that the password changed; none for a user without an address (imported
    /// from Django, which allows a blank one).
    pub fn password_changed(&self, user: &User) -> Result<Option<OutboxMessage>, ComposeError> {
        if user.email.is_blank() {
            return Ok(None);
        }
        self.compose(
            &user.email,
            MailKind::PasswordChanged,
            user.username.as_str(),
            None,
            None,
        )
        .map(Some)
    }

    /// The notice to the user's old address that `new_email` replaced it; none when there was
    /// no old address (a blank one, imported from Django).
    pub fn email_changed(
        &self,
        user: &User,
        new_email: &Email,
    ) -> Result<Option<OutboxMessage>, ComposeError> {
        if user.email.is_blank() {
            return Ok(None);
        }
        self.compose(
            &user.email,
            MailKind::EmailChanged,
            user.username.as_str(),
            None,
            Some(new_email),
        )
        .map(Some)
    }
}
