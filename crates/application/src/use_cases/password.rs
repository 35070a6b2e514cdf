//! Changing a password, and resetting a forgotten one through a mailed link (dj-rest-auth's
//! `PasswordChangeSerializer`, `PasswordResetSerializer` and `PasswordResetConfirmSerializer`,
//! over Django's `SetPasswordForm`).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use domain::{
    AuditEvent, AuditKind, ClientInfo, Email, Password, SessionId, User, UserAttributes, UserId,
    check_password_strength,
};
use thiserror::Error;

use super::account::parse_password;
use super::login_throttle::{Admission, Attempt, LoginThrottle};
use super::mail::{AccountPolicy, Mails};
use crate::ports::{
    AccountTokens, Clock, ComposeError, Effects, HashError, MailComposer, Outbox, OutboxMessage,
    PasswordHasher, RepositoryError, UserRepository, Verification,
};
use crate::validation::{FieldErrors, Submitted};

pub(crate) const OLD_PASSWORD_WRONG: &str =
    "Your old password was entered incorrectly. Please enter it again.";
pub(crate) const NEW_PASSWORDS_DIFFER: &str = "The two password fields didn\u{2019}t match.";
pub(crate) const INVALID_VALUE: &str = "Invalid value";

#[derive(Debug, Error)]
pub enum PasswordFlowError {
    #[error("the form is invalid")]
    Invalid(FieldErrors),
    /// The signed-in user is gone.
    #[error("no such user")]
    UserNotFound,
    /// The login back-off holds the user's password checks from this address.
    #[error("too many wrong passwords; expected available in {retry_after_secs} s")]
    Throttled { retry_after_secs: u64 },
    #[error(transparent)]
    Repository(#[from] RepositoryError),
    #[error(transparent)]
    Hash(#[from] HashError),
    #[error(transparent)]
    Compose(#[from] ComposeError),
}

/// The two new-password fields of Django's `SetPasswordForm`.
struct NewPasswords {
    new_password1: Submitted<String>,
    new_password2: Submitted<String>,
}

impl NewPasswords {
    fn parse(self, errors: &mut FieldErrors) -> (Option<Password>, Option<Password>) {
        let first = self.new_password1.required("new_password1", errors);
        let first = parse_password(first, "new_password1", errors);
        let second = self.new_password2.required("new_password2", errors);
        let second = parse_password(second, "new_password2", errors);
        (first, second)
    }
}

/// `SetPasswordForm.clean`: a mismatch is reported under `new_password2` and then nothing else;
/// otherwise the validators' messages, also under `new_password2`.
fn check_new_password(
    user: &User,
    first: Password,
    second: Password,
) -> Result<Password, FieldErrors> {
    if first != second {
        return Err(FieldErrors::single_at(
            &["new_password2"],
            NEW_PASSWORDS_DIFFER,
        ));
    }
    let attributes = UserAttributes {
        username: user.username.as_str(),
        first_name: user.first_name.as_str(),
        last_name: user.last_name.as_str(),
        email: user.email.as_str(),
    };
    check_password_strength(&second, &attributes).map_err(|problems| {
        let mut errors = FieldErrors::new();
        for problem in problems {
            errors.add(&["new_password2"], problem.to_string());
        }
        errors
    })?;
    Ok(second)
}

/// What checking a signed-in user's password found.
pub(crate) enum PasswordCheck {
    Right,
    Wrong,
    /// Held by the back-off: no password was checked.
    Throttled {
        retry_after_secs: u64,
    },
}

/// Checks a signed-in user's password under the login back-off, keyed as a login from the
/// same address with the same username would be: a stolen access token is no way around the
/// limits on guessing a password. A right password resets the back-off as a login does. `what`
/// names the check in the event of a hold (`password_change`).
pub(crate) fn check_password(
    throttle: &LoginThrottle,
    hasher: &dyn PasswordHasher,
    user: &User,
    password: &Password,
    (client, what): (&ClientInfo, &str),
    now: DateTime<Utc>,
) -> Result<PasswordCheck, RepositoryError> {
    let key = if throttle.is_enabled() {
        let attempt = Attempt {
            client,
            username: user.username.as_str(),
            user_id: Some(user.id),
            what: Some(what),
        };
        if let Admission::Throttled { retry_after_secs } = throttle.admit(&attempt, now)? {
            return Ok(PasswordCheck::Throttled { retry_after_secs });
        }
        Some(attempt.key())
    } else {
        None
    };
    if !matches!(
        hasher.verify(password, &user.password_hash),
        Verification::Match { .. }
    ) {
        return Ok(PasswordCheck::Wrong);
    }
    if let Some(key) = key {
        throttle.record_success(&key, now)?;
    }
    Ok(PasswordCheck::Right)
}

#[derive(Debug, Clone)]
pub struct ChangePasswordInput {
    pub user_id: UserId,
    /// Where the request came from, for the login back-off and the audit log.
    pub client: ClientInfo,
    /// The session of the request, which goes on; every other one ends.
    pub session_id: Option<SessionId>,
    pub old_password: Submitted<String>,
    pub new_password1: Submitted<String>,
    pub new_password2: Submitted<String>,
}

/// Sets a new password for a signed-in user who knows the current one.
#[derive(Clone)]
pub struct ChangePassword {
    pub users: Arc<dyn UserRepository>,
    pub hasher: Arc<dyn PasswordHasher>,
    pub composer: Arc<dyn MailComposer>,
    pub tokens: Arc<dyn AccountTokens>,
    pub clock: Arc<dyn Clock>,
    pub policy: AccountPolicy,
    pub throttle: LoginThrottle,
}

impl ChangePassword {
    /// As DRF does, each field is checked on its own first (the old password against the
    /// stored hash among them) and every problem reported; the form's checks run only then.
    pub fn execute(&self, input: ChangePasswordInput) -> Result<(), PasswordFlowError> {
        let user = self
            .users
            .find_by_id(input.user_id)?
            .ok_or(PasswordFlowError::UserNotFound)?;
        let mut errors = FieldErrors::new();
        let old = input.old_password.required("old_password", &mut errors);
        if let Some(old) = parse_password(old, "old_password", &mut errors) {
            match check_password(
                &self.throttle,
                self.hasher.as_ref(),
                &user,
                &old,
                (&input.client, "password_change"),
                self.clock.now(),
            )? {
                PasswordCheck::Right => {}
                PasswordCheck::Wrong => errors.add(&["old_password"], OLD_PASSWORD_WRONG),
                PasswordCheck::Throttled { retry_after_secs } => {
                    return Err(PasswordFlowError::Throttled { retry_after_secs });
                }
            }
        }
        let passwords = NewPasswords {
            new_password1: input.new_password1,
            new_password2: input.new_password2,
        };
        let (first, second) = passwords.parse(&mut errors);
        let (Some(first), Some(second)) = (first, second) else {
            return Err(PasswordFlowError::Invalid(errors));
        };
        errors.into_result().map_err(PasswordFlowError::Invalid)?;
        let password =
            check_new_password(&user, first, second).map_err(PasswordFlowError::Invalid)?;

        let mails = Mails {
            composer: self.composer.as_ref(),
            tokens: self.tokens.as_ref(),
            policy: &self.policy,
        };
        // Changed or deleted since it was read: the old password checked is no longer it.
        if !replace_password(
            self.users.as_ref(),
            self.hasher.as_ref(),
            &mails,
            &user,
            &password,
            input.session_id,
            self.clock.now(),
            (AuditKind::PasswordChanged, &input.client),
        )? {
            return Err(PasswordFlowError::Invalid(FieldErrors::single_at(
                &["old_password"],
                OLD_PASSWORD_WRONG,
            )));
        }
        Ok(())
    }
}

/// Hashes `password` and stores it in place of the hash `user` was read with, ending every
/// session of the user but `keep`, queueing the notice and recording `kind` from `client`, in
/// one transaction; `false` when the stored hash changed meanwhile or the user is gone.
#[allow(clippy::too_many_arguments)]
fn replace_password(
    users: &dyn UserRepository,
    hasher: &dyn PasswordHasher,
    mails: &Mails<'_>,
    user: &User,
    password: &Password,
    keep: Option<SessionId>,
    now: DateTime<Utc>,
    (kind, client): (AuditKind, &ClientInfo),
) -> Result<bool, PasswordFlowError> {
    let hash = hasher.hash(password)?;
    let notice = mails.password_changed(user)?;
    let event = AuditEvent::new(kind, now, client)
        .user(user.id, user.username.as_str())
        .session(keep.clone());
    let effects = Effects {
        mail: notice.into_iter().collect(),
        ..Effects::new(client)
    }
    .audit(event);
    Ok(users.change_password(user.id, &user.password_hash, hash, keep, now, effects)?)
}

/// Asks for a reset link. Whether an account has the address is found out later, by the
/// outbox worker: the answer, and the work done before it, are the same either way.
#[derive(Clone)]
pub struct RequestPasswordReset {
    pub outbox: Arc<dyn Outbox>,
    pub clock: Arc<dyn Clock>,
}

impl RequestPasswordReset {
    /// The request is recorded with the address as its username: no account is looked up.
    pub fn execute(
        &self,
        email: Submitted<String>,
        client: &ClientInfo,
    ) -> Result<(), PasswordFlowError> {
        let email = parse_email_field(email)?;
        let now = self.clock.now();
        let event = AuditEvent::new(AuditKind::PasswordResetRequested, now, client)
            .username(email.as_str());
        self.outbox.enqueue(
            Effects::new(client)
                .mail(OutboxMessage::PasswordResetRequested { email })
                .audit(event),
            now,
        )?;
        Ok(())
    }
}

/// The `email` field of the reset and resend forms (DRF's `EmailField`).
pub(crate) fn parse_email_field(email: Submitted<String>) -> Result<Email, PasswordFlowError> {
    let mut errors = FieldErrors::new();
    let raw = email.required_non_blank("email", &mut errors);
    let Some(raw) = raw else {
        return Err(PasswordFlowError::Invalid(errors));
    };
    Email::parse(&raw).map_err(|problems| {
        for problem in problems {
            errors.add(&["email"], problem.to_string());
        }
        PasswordFlowError::Invalid(errors)
    })
}

#[derive(Debug, Clone)]
pub struct ConfirmPasswordResetInput {
    pub uid: Submitted<String>,
    pub token: Submitted<String>,
    pub new_password1: Submitted<String>,
    pub new_password2: Submitted<String>,
    /// Where the request came from, for the audit log.
    pub client: ClientInfo,
}

/// Sets a new password from a reset link; every session of the user ends.
#[derive(Clone)]
pub struct ConfirmPasswordReset {
    pub users: Arc<dyn UserRepository>,
    pub hasher: Arc<dyn PasswordHasher>,
    pub composer: Arc<dyn MailComposer>,
    pub tokens: Arc<dyn AccountTokens>,
    pub clock: Arc<dyn Clock>,
    pub policy: AccountPolicy,
}

impl ConfirmPasswordReset {
    /// The fields must all be there; then the `uid`, then the `token`, then the form, each
    /// reported alone, as dj-rest-auth's serializer does.
    pub fn execute(&self, input: ConfirmPasswordResetInput) -> Result<(), PasswordFlowError> {
        let mut errors = FieldErrors::new();
        let uid = input.uid.required_non_blank("uid", &mut errors);
        let token = input.token.required_non_blank("token", &mut errors);
        let passwords = NewPasswords {
            new_password1: input.new_password1,
            new_password2: input.new_password2,
        };
        let (first, second) = passwords.parse(&mut errors);
        let (Some(uid), Some(token), Some(first), Some(second)) = (uid, token, first, second)
        else {
            return Err(PasswordFlowError::Invalid(errors));
        };

        let invalid =
            |field| PasswordFlowError::Invalid(FieldErrors::single_at(&[field], INVALID_VALUE));
        let user = match self.tokens.decode_uid(&uid) {
            Some(id) => self.users.find_by_id(id)?,
            None => None,
        }
        .ok_or_else(|| invalid("uid"))?;
        let now = self.clock.now();
        if !self
            .tokens
            .check_reset_token(&user, &token, now, self.policy.reset_timeout())
        {
            return Err(invalid("token"));
        }
        let password =
            check_new_password(&user, first, second).map_err(PasswordFlowError::Invalid)?;

        let mails = Mails {
            composer: self.composer.as_ref(),
            tokens: self.tokens.as_ref(),
            policy: &self.policy,
        };
        // Deleted, or its password changed (the same link used twice at once): the link was
        // for a password that is gone.
        if !replace_password(
            self.users.as_ref(),
            self.hasher.as_ref(),
            &mails,
            &user,
            &password,
            None,
            now,
            (AuditKind::PasswordResetCompleted, &input.client),
        )? {
            return Err(invalid("token"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
