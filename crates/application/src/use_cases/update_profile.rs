use std::sync::Arc;

use domain::{Profile, User, UserId};
use thiserror::Error;

use super::account::{EMAIL_TAKEN, parse_free_email, parse_name, parse_phone};
use super::mail::{AccountPolicy, Mails};
use crate::ports::{
    AccountTokens, Clock, ComposeError, Effects, MailComposer, MailKind, Outbox, ProfileChanges,
    RepositoryError, UpdateUserError, UserRepository,
};
use crate::validation::{FieldErrors, Submitted};

#[derive(Debug, Clone)]
pub struct UpdateProfileInput {
    pub user_id: UserId,
    pub user: Submitted<UserChangesInput>,
    pub phone: Submitted<String>,
    /// A partial update (PATCH) may leave out `user`; a full one (PUT) may not. Inside `user`,
    /// and for `phone`, an absent field keeps its stored value either way.
    pub partial: bool,
}

#[derive(Debug, Clone)]
pub struct UserChangesInput {
    pub email: Submitted<String>,
    pub first_name: Submitted<String>,
    pub last_name: Submitted<String>,
}

impl UserChangesInput {
    pub fn unchanged() -> Self {
        Self {
            email: Submitted::Absent,
            first_name: Submitted::Absent,
            last_name: Submitted::Absent,
        }
    }
}

#[derive(Debug, Error)]
pub enum UpdateProfileError {
    #[error("the profile update is invalid")]
    Invalid(FieldErrors),
    #[error("the user has no profile")]
    NotFound,
    #[error(transparent)]
    Repository(#[from] RepositoryError),
    #[error(transparent)]
    Compose(#[from] ComposeError),
}

/// Changes a user's email, names and phone. Username, ids and timestamps are not changeable.
/// With e-mail verification on, a new address is only recorded as pending and sent a link; it
/// replaces the old one once verified.
#[derive(Clone)]
pub struct UpdateProfile {
    pub users: Arc<dyn UserRepository>,
    pub clock: Arc<dyn Clock>,
    pub composer: Arc<dyn MailComposer>,
    pub tokens: Arc<dyn AccountTokens>,
    /// Counts the links sent to an address lately: saving a new address again and again must
    /// not mail its owner without end.
    pub outbox: Arc<dyn Outbox>,
    pub account: AccountPolicy,
}

impl UpdateProfile {
    pub fn execute(
        &self,
        input: UpdateProfileInput,
    ) -> Result<(User, Profile), UpdateProfileError> {
        let mut errors = FieldErrors::new();
        let user = if input.partial {
            input.user.optional("user", &mut errors)
        } else {
            input.user.required("user", &mut errors)
        }
        .unwrap_or_else(UserChangesInput::unchanged);

        let mut user_errors = FieldErrors::new();
        let email = user.email.optional("email", &mut user_errors);
        let email = parse_free_email(
            self.users.as_ref(),
            email,
            &["email"],
            Some(input.user_id),
            &mut user_errors,
        )?;
        let first_name = user.first_name.optional("first_name", &mut user_errors);
        let first_name = parse_name(first_name, &["first_name"], &mut user_errors);
        let last_name = user.last_name.optional("last_name", &mut user_errors);
        let last_name = parse_name(last_name, &["last_name"], &mut user_errors);
        errors.extend_under(&["user"], user_errors);
        let phone = input.phone.optional("phone", &mut errors);
        let phone = parse_phone(phone, &["phone"], &mut errors);
        errors.into_result().map_err(UpdateProfileError::Invalid)?;

        let now = self.clock.now();
        let mut changes = ProfileChanges {
            email,
            pending_email: None,
            first_name,
            last_name,
            phone,
        };
        let mut queued = Vec::new();
        if self.account.email_verification.sends_mail()
            && let Some(new) = changes.email.take()
        {
            let current = self
                .users
                .find_by_id(input.user_id)?
                .ok_or(UpdateProfileError::NotFound)?;
            if new.same_address(&current.email) {
                // The same mailbox: nothing to verify, and an address change asked for
                // earlier is withdrawn.
                changes.email = Some(new);
                changes.pending_email = current.pending_email.is_some().then_some(None);
            } else {
                // Saving the same new address again sends a fresh link, up to the cap per
                // address; beyond it the change is recorded and waits for a link sent earlier.
                let sent = self.outbox.count_recent(
                    MailKind::VerifyEmail,
                    &new,
                    now - chrono::TimeDelta::hours(1),
                )?;
                if sent < self.account.resets_per_address_per_hour {
                    let mails = Mails {
                        composer: self.composer.as_ref(),
                        tokens: self.tokens.as_ref(),
                        policy: &self.account,
                    };
                    queued.push(mails.verify_email(current.username.as_str(), &new, now)?);
                }
                changes.pending_email = Some(Some(new));
            }
        }
        self.users
            .update_profile(
                input.user_id,
                changes,
                now,
                Effects {
                    mail: queued,
                    ..Effects::default()
                },
            )
            .map_err(|error| match error {
                UpdateUserError::EmailTaken => UpdateProfileError::Invalid(FieldErrors::single_at(
                    &["user", "email"],
                    EMAIL_TAKEN,
                )),
                UpdateUserError::NotFound => UpdateProfileError::NotFound,
                UpdateUserError::Repository(error) => UpdateProfileError::Repository(error),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::use_cases::test_support::*;

    fn use_case(ports: Ports) -> UpdateProfile {
        UpdateProfile {
            users: Arc::new(ports.users),
            clock: fixed_clock(),
            composer: Arc::new(ports.composer),
            tokens: Arc::new(ports.account_tokens),
            outbox: Arc::new(ports.outbox),
            account: AccountPolicy::default(),
        }
    }

    fn changes(
        email: Submitted<String>,
        phone: Submitted<String>,
        partial: bool,
    ) -> UpdateProfileInput {
        UpdateProfileInput {
            user_id: USER_ID,
            user: Submitted::Value(UserChangesInput {
                email,
                ..UserChangesInput::unchanged()
            }),
            phone,
            partial,
        }
    }

    fn invalid(result: Result<(User, Profile), UpdateProfileError>) -> Vec<(String, String)> {
        match result {
            Err(UpdateProfileError::Invalid(errors)) => pairs(&errors),
            other => panic!("expected field errors, got {other:?}"),
        }
    }

    #[test]
    fn only_the_given_fields_change_and_updated_at_moves() {
        let mut ports = Ports::new();
        ports.users.expect_find_by_email().returning(|_| Ok(None));
        ports
            .users
            .expect_update_profile()
            .withf(|id, changes, at, _| {
                *id == USER_ID
                    && changes.email.as_ref().map(|e| e.as_str()) == Some("new@example.com")
                    && changes.first_name.is_none()
                    && changes.phone.as_ref().map(|p| p.as_str()) == Some("555")
                    && *at == now()
            })
            .times(1)
            .returning(|_, _, _, _| Ok((stored_user(), stored_profile())));
        assert!(
            use_case(ports)
                .execute(changes(value("new@example.com"), value("555"), false))
                .is_ok()
        );
    }

    fn verifying(ports: Ports) -> UpdateProfile {
        UpdateProfile {
            account: AccountPolicy {
                email_verification: crate::use_cases::mail::EmailVerification::Optional,
                ..AccountPolicy::default()
            },
            ..use_case(ports)
        }
    }

    fn current(ports: &mut Ports, pending: Option<&'static str>) {
        ports.users.expect_find_by_email().returning(|_| Ok(None));
        ports.users.expect_find_by_id().returning(move |_| {
            Ok(Some(User {
                pending_email: pending.map(|raw| domain::Email::parse(raw).expect("an address")),
                ..stored_user()
            }))
        });
    }

    #[test]
    fn with_verification_on_links_to_one_address_are_capped() {
        let mut ports = Ports::new();
        current(&mut ports, Some("new@example.com"));
        ports
            .outbox
            .expect_count_recent()
            .withf(|kind, to, _| *kind == MailKind::VerifyEmail && to.as_str() == "new@example.com")
            .returning(|_, _, _| Ok(3));
        ports.composer.expect_compose().never();
        ports
            .users
            .expect_update_profile()
            .withf(|_, changes, _, queued| {
                changes.pending_email.is_some() && queued.mail.is_empty()
            })
            .times(1)
            .returning(|_, _, _, _| Ok((stored_user(), stored_profile())));
        verifying(ports)
            .execute(changes(value("new@example.com"), Submitted::Absent, true))
            .expect("saved");
    }

    #[test]
    fn with_verification_on_a_new_address_waits_for_its_link() {
        let mut ports = Ports::new();
        current(&mut ports, None);
        ports
            .outbox
            .expect_count_recent()
            .returning(|_, _, _| Ok(2));
        ports
            .account_tokens
            .expect_verification_key()
            .withf(|username, email, _| username == "alice" && email.as_str() == "new@example.com")
            .returning(|_, _, _| "key".into());
        ports
            .composer
            .expect_compose()
            .times(1)
            .returning(|to, context| {
                assert_eq!(to.as_str(), "new@example.com");
                assert_eq!(context.kind, MailKind::VerifyEmail);
                Ok(crate::ports::OutgoingEmail {
                    kind: context.kind,
                    to: to.clone(),
                    subject: String::new(),
                    text: String::new(),
                    html: String::new(),
                })
            });
        ports
            .users
            .expect_update_profile()
            .withf(|_, changes, _, queued| {
                changes.email.is_none()
                    && changes.pending_email
                        == Some(Some(
                            domain::Email::parse("new@example.com").expect("an address"),
                        ))
                    && queued.mail.len() == 1
            })
            .times(1)
            .returning(|_, _, _, _| Ok((stored_user(), stored_profile())));
        verifying(ports)
            .execute(changes(value("new@example.com"), Submitted::Absent, true))
            .expect("saved");
    }

    #[test]
    fn with_verification_on_the_same_mailbox_changes_at_once_and_withdraws_a_pending_change() {
        let mut ports = Ports::new();
        current(&mut ports, Some("elsewhere@example.com"));
        ports.composer.expect_compose().never();
        ports
            .users
            .expect_update_profile()
            .withf(|_, changes, _, queued| {
                changes.email.as_ref().map(|e| e.as_str()) == Some("ALICE@example.com")
                    && changes.pending_email == Some(None)
                    && queued.mail.is_empty()
            })
            .times(1)
            .returning(|_, _, _, _| Ok((stored_user(), stored_profile())));
        verifying(ports)
            .execute(changes(value("ALICE@example.com"), Submitted::Absent, true))
            .expect("saved");
    }

    #[test]
    fn a_full_update_requires_user() {
        let mut ports = Ports::new();
        ports.users.expect_update_profile().never();
        let input = UpdateProfileInput {
            user_id: USER_ID,
            user: Submitted::Absent,
            phone: value("1"),
            partial: false,
        };
        assert_eq!(
            invalid(use_case(ports).execute(input)),
            vec![("user".into(), "This field is required.".into())]
        );
    }

    #[test]
    fn a_partial_update_may_leave_out_user() {
        let mut ports = Ports::new();
        ports
            .users
            .expect_update_profile()
            .withf(|_, changes, _, _| changes.email.is_none() && changes.phone.is_some())
            .returning(|_, _, _, _| Ok((stored_user(), stored_profile())));
        let input = UpdateProfileInput {
            user_id: USER_ID,
            user: Submitted::Absent,
            phone: value("1"),
            partial: true,
        };
        assert!(use_case(ports).execute(input).is_ok());
    }

    #[test]
    fn an_email_of_another_user_is_refused_under_user() {
        let mut ports = Ports::new();
        ports.users.expect_find_by_email().returning(|_| {
            Ok(Some(User {
                id: UserId::new(99),
                ..stored_user()
            }))
        });
        ports.users.expect_update_profile().never();
        assert_eq!(
            invalid(use_case(ports).execute(changes(
                value("bob@example.com"),
                Submitted::Absent,
                true
            ))),
            vec![(
                "user.email".into(),
                "A user with that email already exists.".into()
            )]
        );
    }

    #[test]
    fn keeping_ones_own_email_in_another_case_is_allowed() {
        let mut ports = Ports::new();
        ports
            .users
            .expect_find_by_email()
            .returning(|_| Ok(Some(stored_user())));
        ports
            .users
            .expect_update_profile()
            .returning(|_, _, _, _| Ok((stored_user(), stored_profile())));
        assert!(
            use_case(ports)
                .execute(changes(value("ALICE@example.com"), Submitted::Absent, true))
                .is_ok()
        );
    }

    #[test]
    fn invalid_email_and_long_phone_are_reported_together() {
        let mut ports = Ports::new();
        ports.users.expect_update_profile().never();
        assert_eq!(
            invalid(use_case(ports).execute(changes(value("nope"), value(&"9".repeat(21)), true))),
            vec![
                ("user.email".into(), "Enter a valid email address.".into()),
                (
                    "phone".into(),
                    "Ensure this field has no more than 20 characters.".into()
                ),
            ]
        );
    }

    #[test]
    fn losing_an_email_race_reads_as_a_taken_email() {
        let mut ports = Ports::new();
        ports.users.expect_find_by_email().returning(|_| Ok(None));
        ports
            .users
            .expect_update_profile()
            .returning(|_, _, _, _| Err(UpdateUserError::EmailTaken));
        assert_eq!(
            invalid(use_case(ports).execute(changes(
                value("x@example.com"),
                Submitted::Absent,
                true
            ))),
            vec![(
                "user.email".into(),
                "A user with that email already exists.".into()
            )]
        );
    }

    #[test]
    fn a_missing_profile_is_not_found() {
        let mut ports = Ports::new();
        ports
            .users
            .expect_update_profile()
            .returning(|_, _, _, _| Err(UpdateUserError::NotFound));
        let input = UpdateProfileInput {
            user_id: USER_ID,
            user: Submitted::Absent,
            phone: Submitted::Absent,
            partial: true,
        };
        assert!(matches!(
            use_case(ports).execute(input),
            Err(UpdateProfileError::NotFound)
        ));
    }
}
