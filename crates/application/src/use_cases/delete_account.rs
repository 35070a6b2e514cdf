//! Deleting one's own account, password required.

use std::sync::Arc;

use domain::{AuditEvent, AuditKind, ClientInfo, UserId};
use thiserror::Error;

use super::account::parse_password;
use super::login_throttle::LoginThrottle;
use super::password::{PasswordCheck, check_password};
use crate::ports::{Clock, Effects, PasswordHasher, RepositoryError, UserRepository};
use crate::validation::{FieldErrors, Submitted};

pub(crate) const PASSWORD_WRONG: &str = "Your password was entered incorrectly.";

#[derive(Debug, Error)]
pub enum DeleteAccountError {
    #[error("the form is invalid")]
    Invalid(FieldErrors),
    #[error("no such user")]
    UserNotFound,
    /// The login back-off holds the user's password checks from this address.
    #[error("too many wrong passwords; expected available in {retry_after_secs} s")]
    Throttled { retry_after_secs: u64 },
    #[error(transparent)]
    Repository(#[from] RepositoryError),
}

/// Deletes the user with everything of it; its tokens are refused from then on.
#[derive(Clone)]
pub struct DeleteAccount {
    pub users: Arc<dyn UserRepository>,
    pub hasher: Arc<dyn PasswordHasher>,
    pub clock: Arc<dyn Clock>,
    /// The login back-off, which guards this password check too.
    pub throttle: LoginThrottle,
}

impl DeleteAccount {
    /// `client` is where the request came from, for the back-off and the audit log.
    pub fn execute(
        &self,
        user_id: UserId,
        password: Submitted<String>,
        client: &ClientInfo,
    ) -> Result<(), DeleteAccountError> {
        let user = self
            .users
            .find_by_id(user_id)?
            .ok_or(DeleteAccountError::UserNotFound)?;
        let mut errors = FieldErrors::new();
        let password = password.required("password", &mut errors);
        let Some(password) = parse_password(password, "password", &mut errors) else {
            return Err(DeleteAccountError::Invalid(errors));
        };
        match check_password(
            &self.throttle,
            self.hasher.as_ref(),
            &user,
            &password,
            (client, "account_delete"),
            self.clock.now(),
        )? {
            PasswordCheck::Right => {}
            PasswordCheck::Wrong => {
                return Err(DeleteAccountError::Invalid(FieldErrors::single_at(
                    &["password"],
                    PASSWORD_WRONG,
                )));
            }
            PasswordCheck::Throttled { retry_after_secs } => {
                return Err(DeleteAccountError::Throttled { retry_after_secs });
            }
        }
        let event = AuditEvent::new(AuditKind::AccountDeleted, self.clock.now(), client)
            .user(user.id, user.username.as_str());
        if !self
            .users
            .delete(user.id, Effects::new(client).audit(event))?
        {
            return Err(DeleteAccountError::UserNotFound);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::Verification;
    use crate::use_cases::test_support::*;

    fn use_case(ports: Ports) -> DeleteAccount {
        DeleteAccount {
            users: Arc::new(ports.users),
            hasher: Arc::new(ports.hasher),
            clock: fixed_clock(),
            throttle: LoginThrottle::disabled(),
        }
    }

    fn with_user(ports: &mut Ports) {
        ports
            .users
            .expect_find_by_id()
            .returning(|_| Ok(Some(stored_user())));
    }

    #[test]
    fn the_right_password_deletes_the_user() {
        let mut ports = Ports::new();
        with_user(&mut ports);
        ports
            .hasher
            .expect_verify()
            .withf(|password, hash| {
                password.expose() == "pw" && *hash == stored_user().password_hash
            })
            .returning(|_, _| Verification::Match {
                needs_rehash: false,
            });
        ports
            .users
            .expect_delete()
            .withf(|id, effects| {
                *id == USER_ID
                    && audited(effects) == [AuditKind::AccountDeleted]
                    && effects.audit[0].user_id == Some(USER_ID)
                    && effects.audit[0].username.as_deref() == Some("alice")
                    && effects.audit[0].client == client()
            })
            .times(1)
            .returning(|_, _| Ok(true));
        assert!(
            use_case(ports)
                .execute(USER_ID, value("pw"), &client())
                .is_ok()
        );
    }

    #[test]
    fn a_wrong_or_unusable_password_deletes_nothing() {
        for outcome in [Verification::Mismatch, Verification::Unusable] {
            let mut ports = Ports::new();
            with_user(&mut ports);
            ports.hasher.expect_verify().return_const(outcome);
            ports.users.expect_delete().never();
            let Err(DeleteAccountError::Invalid(errors)) =
                use_case(ports).execute(USER_ID, value("pw"), &client())
            else {
                panic!("expected a field error");
            };
            assert_eq!(
                pairs(&errors),
                [("password".to_owned(), PASSWORD_WRONG.to_owned())]
            );
        }
    }

    #[test]
    fn a_missing_password_is_required() {
        let mut ports = Ports::new();
        with_user(&mut ports);
        ports.hasher.expect_verify().never();
        let Err(DeleteAccountError::Invalid(errors)) =
            use_case(ports).execute(USER_ID, Submitted::Absent, &client())
        else {
            panic!("expected a field error");
        };
        assert_eq!(fields(&errors), ["password"]);
    }

    #[test]
    fn a_user_gone_meanwhile_is_not_found() {
        let mut ports = Ports::new();
        ports.users.expect_find_by_id().returning(|_| Ok(None));
        assert!(matches!(
            use_case(ports).execute(USER_ID, value("pw"), &client()),
            Err(DeleteAccountError::UserNotFound)
        ));
        let mut ports = Ports::new();
        with_user(&mut ports);
        ports
            .hasher
            .expect_verify()
            .return_const(Verification::Match {
                needs_rehash: false,
            });
        ports.users.expect_delete().returning(|_, _| Ok(false));
        assert!(matches!(
            use_case(ports).execute(USER_ID, value("pw"), &client()),
            Err(DeleteAccountError::UserNotFound)
        ));
    }
}
