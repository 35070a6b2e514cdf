use std::sync::Arc;

use domain::{AuditEvent, AuditKind, ClientInfo, Phone};
use thiserror::Error;

use super::account::{
    AccountFields, PASSWORDS_DIFFER, check_strength, new_user, parse_free_email, parse_name,
    parse_new_username, parse_password, parse_phone, taken_to_field_errors,
};
use super::mail::{AccountPolicy, EmailVerification, Mails};
use super::token_pair::{SessionPolicy, TokenPair, start_session};
use crate::ports::{
    AccountTokens, Clock, ComposeError, Effects, HashError, IssueError, MailComposer,
    PasswordHasher, RefreshTokenStore, RepositoryError, SessionStore, TokenCodec, UserRepository,
};
use crate::validation::{FieldErrors, Submitted};

/// A registration as submitted. Strings arrive trimmed; see [`Submitted`] for the rest.
#[derive(Debug, Clone)]
pub struct RegisterUserInput {
    pub username: Submitted<String>,
    pub email: Submitted<String>,
    pub password: Submitted<String>,
    pub password2: Submitted<String>,
    pub first_name: Submitted<String>,
    pub last_name: Submitted<String>,
    pub profile: Submitted<ProfileInput>,
    /// Where the request came from, recorded on the session it starts.
    pub client: ClientInfo,
}

#[derive(Debug, Clone)]
pub struct ProfileInput {
    pub phone: Submitted<String>,
}

#[derive(Debug, Error)]
pub enum RegisterUserError {
    #[error("the registration is invalid")]
    Invalid(FieldErrors),
    #[error(transparent)]
    Repository(#[from] RepositoryError),
    #[error(transparent)]
    Hash(#[from] HashError),
    #[error(transparent)]
    Issue(#[from] IssueError),
    #[error(transparent)]
    Compose(#[from] ComposeError),
}

/// What a registration ended in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Registered {
    /// The user is signed in.
    SignedIn(TokenPair),
    /// Verification is mandatory: the link is on its way, and no session started.
    AwaitingVerification,
}

/// Creates an account with its profile and signs the new user in.
#[derive(Clone)]
pub struct RegisterUser {
    pub users: Arc<dyn UserRepository>,
    pub refresh_tokens: Arc<dyn RefreshTokenStore>,
    pub sessions: Arc<dyn SessionStore>,
    pub hasher: Arc<dyn PasswordHasher>,
    pub tokens: Arc<dyn TokenCodec>,
    pub clock: Arc<dyn Clock>,
    pub policy: SessionPolicy,
    pub composer: Arc<dyn MailComposer>,
    pub account_tokens: Arc<dyn AccountTokens>,
    pub account: AccountPolicy,
}

impl RegisterUser {
    /// Field rules are checked first and all reported together; the password-match and strength
    /// checks run only when every field is valid on its own, as they need the others.
    pub fn execute(&self, input: RegisterUserInput) -> Result<Registered, RegisterUserError> {
        let input_client = input.client.clone();
        let mut errors = FieldErrors::new();
        let username = input.username.required("username", &mut errors);
        let username = parse_new_username(self.users.as_ref(), username, &mut errors)?;
        let email = input.email.required("email", &mut errors);
        let email = parse_free_email(self.users.as_ref(), email, &["email"], None, &mut errors)?;
        let password = input.password.required("password", &mut errors);
        let password = parse_password(password, "password", &mut errors);
        let password2 = input.password2.required("password2", &mut errors);
        let password2 = parse_password(password2, "password2", &mut errors);
        let first_name = input.first_name.required("first_name", &mut errors);
        let first_name = parse_name(first_name, &["first_name"], &mut errors);
        let last_name = input.last_name.required("last_name", &mut errors);
        let last_name = parse_name(last_name, &["last_name"], &mut errors);
        let phone = match input.profile {
            Submitted::Absent => Some(Phone::default()),
            Submitted::Rejected(nested) => {
                errors.extend_under(&["profile"], nested);
                None
            }
            Submitted::Value(profile) => match profile.phone {
                Submitted::Absent => Some(Phone::default()),
                phone => {
                    let mut nested = FieldErrors::new();
                    let raw = phone.optional("phone", &mut nested);
                    errors.extend_under(&["profile"], nested);
                    parse_phone(raw, &["profile", "phone"], &mut errors)
                }
            },
        };

        let (
            Some(username),
            Some(email),
            Some(password),
            Some(password2),
            Some(first_name),
            Some(last_name),
            Some(phone),
        ) = (
            username, email, password, password2, first_name, last_name, phone,
        )
        else {
            return Err(RegisterUserError::Invalid(errors));
        };
        if password != password2 {
            return Err(RegisterUserError::Invalid(FieldErrors::single_at(
                &["password"],
                PASSWORDS_DIFFER,
            )));
        }
        let account = AccountFields {
            username,
            email,
            password,
            first_name,
            last_name,
        };
        check_strength(&account).map_err(RegisterUserError::Invalid)?;

        let password_hash = self.hasher.hash(&account.password)?;
        let now = self.clock.now();
        let user = new_user(account, password_hash, phone, false, now);
        let mail = if self.account.email_verification.sends_mail() {
            let mails = Mails {
                composer: self.composer.as_ref(),
                tokens: self.account_tokens.as_ref(),
                policy: &self.account,
            };
            vec![mails.verify_email(user.username.as_str(), &user.email, now)?]
        } else {
            Vec::new()
        };
        // The store gives the event the new user's id.
        let event = AuditEvent::new(AuditKind::UserRegistered, now, &input_client)
            .username(user.username.as_str());
        let effects = Effects {
            mail,
            ..Effects::new(&input_client)
        }
        .audit(event);
        let (user, _profile) = match self.users.create(user, effects) {
            Ok(created) => created,
            Err(error) => return Err(RegisterUserError::Invalid(taken_to_field_errors(error)?)),
        };
        if self.account.email_verification == EmailVerification::Mandatory {
            return Ok(Registered::AwaitingVerification);
        }
        start_session(
            self.sessions.as_ref(),
            self.tokens.as_ref(),
            self.refresh_tokens.as_ref(),
            &self.policy,
            user.id,
            input_client,
            Vec::new(),
            now,
        )
        .map(Registered::SignedIn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::{CreateUserError, MockUserRepository};
    use crate::use_cases::mail::EmailVerification;
    use crate::use_cases::test_support::*;

    fn valid_input() -> RegisterUserInput {
        RegisterUserInput {
            username: value("alice"),
            email: value("alice@example.com"),
            password: value("correct-horse-battery"),
            password2: value("correct-horse-battery"),
            first_name: value("Alice"),
            last_name: value("Liddell"),
            profile: Submitted::Value(ProfileInput {
                phone: value("1234567890"),
            }),
            client: ClientInfo::new("203.0.113.7", "test-agent"),
        }
    }

    fn use_case(ports: Ports) -> RegisterUser {
        RegisterUser {
            users: Arc::new(ports.users),
            refresh_tokens: Arc::new(ports.refresh_tokens),
            sessions: Arc::new(ports.sessions),
            hasher: Arc::new(ports.hasher),
            tokens: Arc::new(ports.tokens),
            clock: fixed_clock(),
            policy: SessionPolicy::default(),
            composer: Arc::new(ports.composer),
            account_tokens: Arc::new(ports.account_tokens),
            account: AccountPolicy::default(),
        }
    }

    fn free_names() -> MockUserRepository {
        let mut users = MockUserRepository::new();
        users.expect_find_by_username().returning(|_| Ok(None));
        users.expect_find_by_email().returning(|_| Ok(None));
        users
    }

    #[test]
    fn a_valid_registration_creates_the_user_with_its_profile_and_returns_tokens() {
        let mut ports = Ports::new();
        ports.users = free_names();
        ports.users.expect_create().times(1).returning(|new, _| {
            assert_eq!(new.username.as_str(), "alice");
            assert_eq!(new.phone.as_str(), "1234567890");
            assert_eq!(new.password_hash.as_str(), "hashed");
            assert!(!new.is_superuser);
            Ok(stored_user_from(new))
        });
        ports
            .hasher
            .expect_hash()
            .times(1)
            .returning(|_| Ok(hash("hashed")));
        ports.expect_token_pair_issued(USER_ID);
        let pair = use_case(ports).execute(valid_input()).expect("registers");
        assert_eq!(
            pair,
            Registered::SignedIn(TokenPair {
                access: "access-token".into(),
                refresh: "refresh-token".into()
            })
        );
    }

    fn verifying(mode: EmailVerification, ports: Ports) -> RegisterUser {
        RegisterUser {
            account: AccountPolicy {
                email_verification: mode,
                frontend_url: "https://app.example".into(),
                ..AccountPolicy::default()
            },
            ..use_case(ports)
        }
    }

    fn expect_verification_mail(ports: &mut Ports) {
        ports
            .account_tokens
            .expect_verification_key()
            .withf(|username, email, at| {
                username == "alice" && email.as_str() == "alice@example.com" && *at == now()
            })
            .returning(|_, _, _| "the-key".into());
        ports
            .composer
            .expect_compose()
            .withf(|to, context| {
                to.as_str() == "alice@example.com"
                    && context.kind == crate::ports::MailKind::VerifyEmail
                    && context.link.as_deref()
                        == Some("https://app.example/verify-email?key=the-key")
            })
            .times(1)
            .returning(|to, context| {
                Ok(crate::ports::OutgoingEmail {
                    kind: context.kind,
                    to: to.clone(),
                    subject: String::new(),
                    text: String::new(),
                    html: String::new(),
                })
            });
        ports.hasher.expect_hash().returning(|_| Ok(hash("hashed")));
    }

    #[test]
    fn with_verification_mandatory_the_link_is_queued_with_the_user_and_no_session_starts() {
        let mut ports = Ports::new();
        ports.users = free_names();
        expect_verification_mail(&mut ports);
        ports
            .users
            .expect_create()
            .withf(|new, effects| {
                !new.email_verified
                    && effects.mail.len() == 1
                    && audited(effects) == [AuditKind::UserRegistered]
                    && effects.audit[0].username.as_deref() == Some(new.username.as_str())
            })
            .times(1)
            .returning(|new, _| Ok(stored_user_from(new)));
        ports.sessions.expect_start().never();
        let registered = verifying(EmailVerification::Mandatory, ports)
            .execute(valid_input())
            .expect("registers");
        assert_eq!(registered, Registered::AwaitingVerification);
    }

    #[test]
    fn with_verification_optional_the_link_is_queued_and_the_user_signed_in() {
        let mut ports = Ports::new();
        ports.users = free_names();
        expect_verification_mail(&mut ports);
        ports
            .users
            .expect_create()
            .withf(|_, effects| effects.mail.len() == 1)
            .times(1)
            .returning(|new, _| Ok(stored_user_from(new)));
        ports.expect_token_pair_issued(USER_ID);
        let registered = verifying(EmailVerification::Optional, ports)
            .execute(valid_input())
            .expect("registers");
        assert!(matches!(registered, Registered::SignedIn(_)));
    }

    #[test]
    fn every_missing_field_is_reported_at_once_and_nothing_is_stored() {
        let mut ports = Ports::new();
        ports.users.expect_create().never();
        ports.hasher.expect_hash().never();
        let input = RegisterUserInput {
            username: Submitted::Absent,
            email: Submitted::Absent,
            password: Submitted::Absent,
            password2: Submitted::Absent,
            first_name: Submitted::Absent,
            last_name: Submitted::Absent,
            profile: Submitted::Absent,
            client: ClientInfo::default(),
        };
        let errors = invalid(use_case(ports).execute(input));
        assert_eq!(
            fields(&errors),
            vec![
                "username",
                "email",
                "password",
                "password2",
                "first_name",
                "last_name"
            ]
        );
        assert!(
            errors
                .iter()
                .all(|(_, message)| message == "This field is required.")
        );
    }

    #[test]
    fn a_taken_username_and_an_invalid_email_are_reported_together() {
        let mut ports = Ports::new();
        ports
            .users
            .expect_find_by_username()
            .returning(|_| Ok(Some(stored_user())));
        ports.users.expect_find_by_email().never();
        let mut input = valid_input();
        input.email = value("not-an-email");
        let errors = invalid(use_case(ports).execute(input));
        assert_eq!(
            pairs(&errors),
            vec![
                (
                    "username".into(),
                    "A user with that username already exists.".into()
                ),
                ("email".into(), "Enter a valid email address.".into()),
            ]
        );
    }

    #[test]
    fn an_email_taken_in_another_case_is_reported() {
        let mut ports = Ports::new();
        ports
            .users
            .expect_find_by_username()
            .returning(|_| Ok(None));
        ports
            .users
            .expect_find_by_email()
            .returning(|_| Ok(Some(stored_user())));
        let mut input = valid_input();
        input.email = value("ALICE@EXAMPLE.COM");
        let errors = invalid(use_case(ports).execute(input));
        assert_eq!(
            pairs(&errors),
            vec![(
                "email".into(),
                "A user with that email already exists.".into()
            )]
        );
    }

    #[test]
    fn a_too_long_phone_is_reported_under_profile() {
        let mut ports = Ports::new();
        ports.users = free_names();
        let mut input = valid_input();
        input.profile = Submitted::Value(ProfileInput {
            phone: value(&"1".repeat(21)),
        });
        let errors = invalid(use_case(ports).execute(input));
        assert_eq!(
            pairs(&errors),
            vec![(
                "profile.phone".into(),
                "Ensure this field has no more than 20 characters.".into()
            )]
        );
    }

    #[test]
    fn a_rejected_profile_is_reported_under_profile() {
        let mut ports = Ports::new();
        ports.users = free_names();
        let mut input = valid_input();
        input.profile = Submitted::Rejected(FieldErrors::single("This field may not be null."));
        let errors = invalid(use_case(ports).execute(input));
        assert_eq!(
            pairs(&errors),
            vec![("profile".into(), "This field may not be null.".into())]
        );
    }

    #[test]
    fn an_absent_profile_gives_an_empty_phone() {
        let mut ports = Ports::new();
        ports.users = free_names();
        ports.users.expect_create().returning(|new, _| {
            assert_eq!(new.phone.as_str(), "");
            Ok(stored_user_from(new))
        });
        ports.hasher.expect_hash().returning(|_| Ok(hash("hashed")));
        ports.expect_token_pair_issued(USER_ID);
        let mut input = valid_input();
        input.profile = Submitted::Absent;
        assert!(use_case(ports).execute(input).is_ok());
    }

    #[test]
    fn passwords_that_differ_are_refused_before_hashing() {
        let mut ports = Ports::new();
        ports.users = free_names();
        ports.hasher.expect_hash().never();
        let mut input = valid_input();
        input.password2 = value("something-else-entirely");
        let errors = invalid(use_case(ports).execute(input));
        assert_eq!(
            pairs(&errors),
            vec![("password".into(), "Password fields didn't match.".into())]
        );
    }

    #[test]
    fn a_weak_password_lists_every_failed_rule() {
        let mut ports = Ports::new();
        ports.users = free_names();
        ports.hasher.expect_hash().never();
        let mut input = valid_input();
        input.password = value("1234");
        input.password2 = value("1234");
        let errors = invalid(use_case(ports).execute(input));
        assert_eq!(
            pairs(&errors),
            vec![
                (
                    "password".into(),
                    "This password is too short. It must contain at least 8 characters.".into()
                ),
                ("password".into(), "This password is too common.".into()),
                (
                    "password".into(),
                    "This password is entirely numeric.".into()
                ),
            ]
        );
    }

    #[test]
    fn a_password_like_the_username_is_refused() {
        let mut ports = Ports::new();
        ports.users = free_names();
        let mut input = valid_input();
        input.username = value("wonderland");
        input.password = value("wonderland1");
        input.password2 = value("wonderland1");
        let errors = invalid(use_case(ports).execute(input));
        assert_eq!(
            pairs(&errors),
            vec![(
                "password".into(),
                "The password is too similar to the username.".into()
            )]
        );
    }

    #[test]
    fn losing_a_registration_race_reads_as_a_taken_email() {
        let mut ports = Ports::new();
        ports.users = free_names();
        ports
            .users
            .expect_create()
            .returning(|_, _| Err(CreateUserError::EmailTaken));
        ports.hasher.expect_hash().returning(|_| Ok(hash("hashed")));
        let errors = invalid(use_case(ports).execute(valid_input()));
        assert_eq!(
            pairs(&errors),
            vec![(
                "email".into(),
                "A user with that email already exists.".into()
            )]
        );
    }

    #[test]
    fn a_database_outage_is_reported_as_such() {
        let mut ports = Ports::new();
        ports
            .users
            .expect_find_by_username()
            .returning(|_| Err(unavailable()));
        let result = use_case(ports).execute(valid_input());
        assert!(matches!(
            result,
            Err(RegisterUserError::Repository(RepositoryError::Unavailable(
                _
            )))
        ));
    }

    fn invalid(result: Result<Registered, RegisterUserError>) -> FieldErrors {
        match result {
            Err(RegisterUserError::Invalid(errors)) => errors,
            other => panic!("expected field errors, got {other:?}"),
        }
    }
}
