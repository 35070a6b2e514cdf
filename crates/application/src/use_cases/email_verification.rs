//! Proving an address is the user's: the link's key (django-allauth's `VerifyEmailView`), and
//! asking for the link again.

use std::sync::Arc;

use domain::{AuditEvent, AuditKind, ClientInfo};
use thiserror::Error;

use super::mail::{AccountPolicy, Mails};
use super::password::{PasswordFlowError, parse_email_field};
use crate::ports::{
    AccountTokens, Clock, ComposeError, Effects, MailComposer, Outbox, OutboxMessage,
    RepositoryError, UpdateUserError, UserRepository,
};
use crate::validation::{FieldErrors, Submitted};

#[derive(Debug, Error)]
pub enum VerifyEmailError {
    #[error("the form is invalid")]
    Invalid(FieldErrors),
    /// A bad, used or expired key, or one for an address the user no longer has or wants.
    #[error("no such verification key")]
    NotFound,
    #[error(transparent)]
    Repository(#[from] RepositoryError),
    #[error(transparent)]
    Compose(#[from] ComposeError),
}

/// Verifies the address a link was made for. For the user's own address it marks it verified;
/// for the address the user asked to change to, the change takes effect and the old address
/// gets a notice.
#[derive(Clone)]
pub struct VerifyEmail {
    pub users: Arc<dyn UserRepository>,
    pub composer: Arc<dyn MailComposer>,
    pub tokens: Arc<dyn AccountTokens>,
    pub clock: Arc<dyn Clock>,
    pub policy: AccountPolicy,
}

impl VerifyEmail {
    /// `client` is where the request came from, for the audit log.
    pub fn execute(
        &self,
        key: Submitted<String>,
        client: &ClientInfo,
    ) -> Result<(), VerifyEmailError> {
        let mut errors = FieldErrors::new();
        let Some(key) = key.required_non_blank("key", &mut errors) else {
            return Err(VerifyEmailError::Invalid(errors));
        };
        let now = self.clock.now();
        let claim = self
            .tokens
            .check_verification_key(&key, now, self.policy.confirmation_expiry())
            .ok_or(VerifyEmailError::NotFound)?;
        let user = self
            .users
            .find_by_username(&claim.username)?
            .ok_or(VerifyEmailError::NotFound)?;
        let same = |email: &domain::Email| email.same_address(&claim.email);
        let mail = if same(&user.email) {
            if user.email_verified {
                // The link was used already.
                return Err(VerifyEmailError::NotFound);
            }
            Vec::new()
        } else if user.pending_email.as_ref().is_some_and(same) {
            let mails = Mails {
                composer: self.composer.as_ref(),
                tokens: self.tokens.as_ref(),
                policy: &self.policy,
            };
            mails
                .email_changed(&user, &claim.email)?
                .into_iter()
                .collect()
        } else {
            return Err(VerifyEmailError::NotFound);
        };
        let event = AuditEvent::new(AuditKind::EmailVerified, now, client)
            .user(user.id, user.username.as_str())
            .detail(claim.email.as_str());
        let effects = Effects {
            mail,
            ..Effects::new(client)
        }
        .audit(event);
        match self
            .users
            .confirm_email(user.id, &claim.email, now, effects)
        {
            Ok(_) => Ok(()),
            Err(UpdateUserError::NotFound) => Err(VerifyEmailError::NotFound),
            // Someone else took the pending address meanwhile: the link can no longer do what
            // it was for, and the answer does not say who holds the address.
            Err(UpdateUserError::EmailTaken) => Err(VerifyEmailError::NotFound),
            Err(UpdateUserError::Repository(error)) => Err(error.into()),
        }
    }
}

/// Asks for the verification mail again. As with a reset, the outbox worker finds out whether
/// an account needs it, so the answer says nothing.
#[derive(Clone)]
pub struct ResendVerification {
    pub outbox: Arc<dyn Outbox>,
    pub clock: Arc<dyn Clock>,
}

impl ResendVerification {
    pub fn execute(
        &self,
        email: Submitted<String>,
        client: &ClientInfo,
    ) -> Result<(), PasswordFlowError> {
        let email = parse_email_field(email)?;
        self.outbox.enqueue(
            Effects::new(client).mail(OutboxMessage::VerificationResendRequested { email }),
            self.clock.now(),
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
