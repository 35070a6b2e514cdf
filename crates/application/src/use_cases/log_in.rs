use std::sync::Arc;

use domain::{ClientInfo, Username};
use thiserror::Error;

use super::account::parse_password;
use super::token_pair::{SessionPolicy, TokenPair, start_session};
use crate::ports::{
    Clock, IssueError, PasswordHasher, RefreshTokenStore, RepositoryError, SessionStore,
    TokenCodec, UserRepository, Verification,
};
use crate::validation::{FieldErrors, Submitted};

#[derive(Debug, Clone)]
pub struct LogInInput {
    pub username: Submitted<String>,
    pub password: Submitted<String>,
    /// Where the request came from, recorded on the session it starts.
    pub client: ClientInfo,
}

#[derive(Debug, Error)]
pub enum LogInError {
    #[error("the login form is invalid")]
    Invalid(FieldErrors),
    /// Unknown username, wrong password and inactive account alike: the caller must not learn
    /// which.
    #[error("no active account found with the given credentials")]
    InvalidCredentials,
    #[error(transparent)]
    Repository(#[from] RepositoryError),
    #[error(transparent)]
    Issue(#[from] IssueError),
}

/// Exchanges a username and password for a token pair.
#[derive(Clone)]
pub struct LogIn {
    pub users: Arc<dyn UserRepository>,
    pub refresh_tokens: Arc<dyn RefreshTokenStore>,
    pub sessions: Arc<dyn SessionStore>,
    pub hasher: Arc<dyn PasswordHasher>,
    pub tokens: Arc<dyn TokenCodec>,
    pub clock: Arc<dyn Clock>,
    pub policy: SessionPolicy,
}

impl LogIn {
    /// Every failure costs one password verification, so response times do not tell an unknown
    /// username from a wrong password, an unusable stored hash or an inactive account.
    pub fn execute(&self, input: LogInInput) -> Result<TokenPair, LogInError> {
        let input_client = input.client.clone();
        let mut errors = FieldErrors::new();
        let username = input.username.required_non_blank("username", &mut errors);
        let password = input.password.required("password", &mut errors);
        let password = parse_password(password, "password", &mut errors);
        let (Some(username), Some(password)) = (username, password) else {
            return Err(LogInError::Invalid(errors));
        };

        // Registration stores usernames in NFKC, so `ｂｏｂｂｙ` signs in as `bobby`.
        let username = Username::normalize(&username);
        let Some(user) = self.users.find_by_username(&username)? else {
            self.hasher.verify_dummy(&password);
            return Err(LogInError::InvalidCredentials);
        };
        let needs_rehash = match self.hasher.verify(&password, &user.password_hash) {
            Verification::Match { needs_rehash } => needs_rehash,
            Verification::Mismatch => return Err(LogInError::InvalidCredentials),
            // An unusable hash is refused at once by the hasher; the dummy verification makes
            // it cost what a wrong password costs, so timing does not tell the hash kind.
            Verification::Unusable => {
                self.hasher.verify_dummy(&password);
                return Err(LogInError::InvalidCredentials);
            }
        };
        if !user.is_active {
            return Err(LogInError::InvalidCredentials);
        }

        let now = self.clock.now();
        if needs_rehash {
            // The login already succeeded; a failed upgrade is retried at the next login.
            if let Ok(upgraded) = self.hasher.hash(&password) {
                self.users.set_password_hash(user.id, upgraded)?;
            }
        }
        self.users.record_login(user.id, now)?;
        start_session(
            self.sessions.as_ref(),
            self.tokens.as_ref(),
            self.refresh_tokens.as_ref(),
            &self.policy,
            user.id,
            input_client,
            now,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::use_cases::test_support::*;

    fn use_case(ports: Ports) -> LogIn {
        LogIn {
            users: Arc::new(ports.users),
            refresh_tokens: Arc::new(ports.refresh_tokens),
            sessions: Arc::new(ports.sessions),
            hasher: Arc::new(ports.hasher),
            tokens: Arc::new(ports.tokens),
            clock: fixed_clock(),
            policy: SessionPolicy::default(),
        }
    }

    fn input(username: &str, password: &str) -> LogInInput {
        LogInInput {
            username: value(username),
            password: value(password),
            client: ClientInfo::new("203.0.113.7", "test-agent"),
        }
    }

    #[test]
    fn the_right_password_gives_a_token_pair_and_records_the_login() {
        let mut ports = Ports::new();
        ports
            .users
            .expect_find_by_username()
            .withf(|name| name == "alice")
            .returning(|_| Ok(Some(stored_user())));
        ports
            .hasher
            .expect_verify()
            .times(1)
            .returning(|_, _| Verification::Match {
                needs_rehash: false,
            });
        ports
            .users
            .expect_record_login()
            .withf(|id, at| *id == USER_ID && *at == now())
            .times(1)
            .returning(|_, _| Ok(()));
        ports.users.expect_set_password_hash().never();
        ports.expect_token_pair_issued(USER_ID);
        let pair = use_case(ports)
            .execute(input("alice", "right"))
            .expect("logs in");
        assert_eq!(pair.access, "access-token");
        assert_eq!(pair.refresh, "refresh-token");
    }

    #[test]
    fn a_wrong_password_is_invalid_credentials() {
        let mut ports = Ports::new();
        ports
            .users
            .expect_find_by_username()
            .returning(|_| Ok(Some(stored_user())));
        ports
            .hasher
            .expect_verify()
            .times(1)
            .returning(|_, _| Verification::Mismatch);
        ports.hasher.expect_verify_dummy().never();
        ports.tokens.expect_issue().never();
        let result = use_case(ports).execute(input("alice", "wrong"));
        assert!(matches!(result, Err(LogInError::InvalidCredentials)));
    }

    #[test]
    fn an_unknown_username_still_costs_a_password_verification() {
        let mut ports = Ports::new();
        ports
            .users
            .expect_find_by_username()
            .returning(|_| Ok(None));
        ports.hasher.expect_verify_dummy().times(1).return_const(());
        ports.tokens.expect_issue().never();
        let result = use_case(ports).execute(input("nobody", "whatever"));
        assert!(matches!(result, Err(LogInError::InvalidCredentials)));
    }

    #[test]
    fn an_unusable_or_unparseable_stored_hash_still_costs_a_password_verification() {
        let mut ports = Ports::new();
        ports
            .users
            .expect_find_by_username()
            .returning(|_| Ok(Some(stored_user())));
        ports
            .hasher
            .expect_verify()
            .times(1)
            .returning(|_, _| Verification::Unusable);
        ports.hasher.expect_verify_dummy().times(1).return_const(());
        ports.tokens.expect_issue().never();
        ports.users.expect_record_login().never();
        let result = use_case(ports).execute(input("alice", "whatever"));
        assert!(matches!(result, Err(LogInError::InvalidCredentials)));
    }

    #[test]
    fn an_inactive_user_with_the_right_password_is_invalid_credentials_after_verifying() {
        let mut ports = Ports::new();
        ports.users.expect_find_by_username().returning(|_| {
            Ok(Some(domain::User {
                is_active: false,
                ..stored_user()
            }))
        });
        ports
            .hasher
            .expect_verify()
            .times(1)
            .returning(|_, _| Verification::Match {
                needs_rehash: false,
            });
        ports.tokens.expect_issue().never();
        ports.users.expect_record_login().never();
        let result = use_case(ports).execute(input("alice", "right"));
        assert!(matches!(result, Err(LogInError::InvalidCredentials)));
    }

    #[test]
    fn a_hash_with_old_parameters_is_upgraded_on_login() {
        let mut ports = Ports::new();
        ports
            .users
            .expect_find_by_username()
            .returning(|_| Ok(Some(stored_user())));
        ports
            .hasher
            .expect_verify()
            .returning(|_, _| Verification::Match { needs_rehash: true });
        ports
            .hasher
            .expect_hash()
            .times(1)
            .returning(|_| Ok(hash("upgraded")));
        ports
            .users
            .expect_set_password_hash()
            .withf(|id, hash| *id == USER_ID && hash.as_str() == "upgraded")
            .times(1)
            .returning(|_, _| Ok(()));
        ports.users.expect_record_login().returning(|_, _| Ok(()));
        ports.expect_token_pair_issued(USER_ID);
        assert!(use_case(ports).execute(input("alice", "right")).is_ok());
    }

    #[test]
    fn the_username_is_looked_up_in_nfkc_as_registration_stores_it() {
        let mut ports = Ports::new();
        ports
            .users
            .expect_find_by_username()
            .withf(|name| name == "bobby")
            .times(1)
            .returning(|_| Ok(Some(stored_user())));
        ports
            .hasher
            .expect_verify()
            .returning(|_, _| Verification::Match {
                needs_rehash: false,
            });
        ports.users.expect_record_login().returning(|_, _| Ok(()));
        ports.expect_token_pair_issued(USER_ID);
        assert!(
            use_case(ports)
                .execute(input("ｂｏｂｂｙ", "right"))
                .is_ok()
        );
    }

    #[test]
    fn missing_and_blank_fields_are_field_errors_without_a_lookup() {
        let mut ports = Ports::new();
        ports.users.expect_find_by_username().never();
        let result = use_case(ports).execute(LogInInput {
            username: value(""),
            password: Submitted::Absent,
            client: ClientInfo::default(),
        });
        let Err(LogInError::Invalid(errors)) = result else {
            panic!("expected field errors")
        };
        assert_eq!(
            pairs(&errors),
            vec![
                ("username".into(), "This field may not be blank.".into()),
                ("password".into(), "This field is required.".into()),
            ]
        );
    }
}
