use std::sync::Arc;

use domain::{
    AuditEvent, AuditKind, ClientInfo, LoginFailure, Password, ThrottleKey, UserId, Username,
};
use thiserror::Error;

use super::account::parse_password;
use super::login_throttle::{Admission, Attempt, LoginThrottle};
use super::token_pair::{SessionPolicy, TokenPair, start_session};
use crate::ports::{
    AuditLog, Clock, IssueError, PasswordHasher, RefreshTokenStore, RepositoryError, SessionStore,
    TokenCodec, UserRepository, Verification,
};
use crate::validation::{FieldErrors, Submitted};

#[derive(Debug, Clone)]
pub struct LogInInput {
    pub username: Submitted<String>,
    pub password: Submitted<String>,
    /// Where the request came from: recorded on the session it starts, and the address the
    /// back-off counts failures for.
    pub client: ClientInfo,
}

#[derive(Debug, Error)]
pub enum LogInError {
    #[error("the login form is invalid")]
    Invalid(FieldErrors),
    /// Too many failures for this address and username, or for the username: no password was
    /// checked. An attempt after `retry_after_secs` may be let through.
    #[error("too many failed logins; expected available in {retry_after_secs} s")]
    Throttled { retry_after_secs: u64 },
    /// Unknown username, wrong password and inactive account alike: the caller must not learn
    /// which.
    #[error("no active account found with the given credentials")]
    InvalidCredentials,
    /// The password is right, but verification is mandatory and the address is not verified.
    #[error("the e-mail address is not verified")]
    EmailNotVerified,
    #[error(transparent)]
    Repository(#[from] RepositoryError),
    #[error(transparent)]
    Issue(#[from] IssueError),
}

/// A login whose form was valid and which the back-off let through, charged as a failure until
/// [`LogIn::finish`] finds the password right. Only [`LogIn::admit`] makes one.
#[derive(Debug)]
pub struct AdmittedLogIn {
    /// In NFKC, as usernames are stored.
    username: String,
    password: Password,
    client: ClientInfo,
    /// `None` when the back-off is disabled.
    throttle_key: Option<ThrottleKey>,
}

/// Exchanges a username and password for a token pair.
///
/// In two steps, so that a caller can bound the expensive one: [`admit`](Self::admit) checks
/// the form and the back-off and costs no hash; [`finish`](Self::finish) checks the password.
#[derive(Clone)]
pub struct LogIn {
    pub users: Arc<dyn UserRepository>,
    pub refresh_tokens: Arc<dyn RefreshTokenStore>,
    pub sessions: Arc<dyn SessionStore>,
    pub hasher: Arc<dyn PasswordHasher>,
    pub tokens: Arc<dyn TokenCodec>,
    pub clock: Arc<dyn Clock>,
    pub policy: SessionPolicy,
    pub throttle: LoginThrottle,
    /// `ACCOUNT_EMAIL_VERIFICATION = mandatory`: an unverified user cannot sign in.
    pub require_verified_email: bool,
    /// Where refused logins are recorded; a success is recorded with its session.
    pub audit: Arc<dyn AuditLog>,
}

impl LogIn {
    /// Both steps, one after the other.
    pub fn execute(&self, input: LogInInput) -> Result<TokenPair, LogInError> {
        self.finish(self.admit(input)?)
    }

    /// Validates the form and charges the attempt to the back-off, keyed by the client address
    /// and the username as submitted (in NFKC), whether or not such a user exists. Looks up no
    /// user and checks no password.
    ///
    /// # Errors
    /// `Invalid` for a bad form (nothing charged), `Throttled` when the back-off holds the
    /// attempt (nothing charged either), `Repository` when the back-off's store fails.
    pub fn admit(&self, input: LogInInput) -> Result<AdmittedLogIn, LogInError> {
        let mut errors = FieldErrors::new();
        let username = input.username.required_non_blank("username", &mut errors);
        let password = input.password.required("password", &mut errors);
        let password = parse_password(password, "password", &mut errors);
        let (Some(username), Some(password)) = (username, password) else {
            return Err(LogInError::Invalid(errors));
        };
        // Registration stores usernames in NFKC, so `ｂｏｂｂｙ` signs in as `bobby`.
        let username = Username::normalize(&username);
        let throttle_key = if self.throttle.is_enabled() {
            let attempt = Attempt {
                client: &input.client,
                username: &username,
                user_id: None,
                what: None,
            };
            match self.throttle.admit(&attempt, self.clock.now())? {
                Admission::Charged => Some(attempt.key()),
                Admission::Throttled { retry_after_secs } => {
                    return Err(LogInError::Throttled { retry_after_secs });
                }
            }
        } else {
            None
        };
        Ok(AdmittedLogIn {
            username,
            password,
            client: input.client,
            throttle_key,
        })
    }

    /// Checks the password and, when it is right and the account active, resets the back-off
    /// and starts a session. Every failure costs one password verification, so response times
    /// do not tell an unknown username from a wrong password, an unusable stored hash or an
    /// inactive account; a failure leaves the attempt charged.
    pub fn finish(&self, admitted: AdmittedLogIn) -> Result<TokenPair, LogInError> {
        let AdmittedLogIn {
            username,
            password,
            client,
            throttle_key,
        } = admitted;
        // Every refusal writes one event, whatever its kind, so the audit log does not make
        // one kind slower than another.
        let refused = |failure: LoginFailure,
                       user_id: Option<UserId>,
                       error: LogInError|
         -> Result<TokenPair, LogInError> {
            let mut event = AuditEvent::new(AuditKind::LoginFailed, self.clock.now(), &client)
                .username(&username)
                .detail(failure.as_str());
            event.user_id = user_id;
            self.audit.record(event)?;
            Err(error)
        };
        let Some(user) = self.users.find_by_username(&username)? else {
            self.hasher.verify_dummy(&password);
            return refused(
                LoginFailure::UnknownUser,
                None,
                LogInError::InvalidCredentials,
            );
        };
        let failed = |failure| refused(failure, Some(user.id), LogInError::InvalidCredentials);
        let needs_rehash = match self.hasher.verify(&password, &user.password_hash) {
            Verification::Match { needs_rehash } => needs_rehash,
            Verification::Mismatch => return failed(LoginFailure::WrongPassword),
            // An unusable hash is refused at once by the hasher; the dummy verification makes
            // it cost what a wrong password costs, so timing does not tell the hash kind.
            Verification::Unusable => {
                self.hasher.verify_dummy(&password);
                return failed(LoginFailure::UnusablePassword);
            }
        };
        if !user.is_active {
            return failed(LoginFailure::Inactive);
        }

        let now = self.clock.now();
        if let Some(key) = &throttle_key {
            // The password was right: the back-off resets even if the address is unverified,
            // so its owner is not locked out while fetching the link.
            self.throttle.record_success(key, now)?;
        }
        if self.require_verified_email && !user.email_verified {
            return refused(
                LoginFailure::EmailNotVerified,
                Some(user.id),
                LogInError::EmailNotVerified,
            );
        }
        if needs_rehash {
            // The login already succeeded; a failed upgrade is retried at the next login.
            if let Ok(upgraded) = self.hasher.hash(&password) {
                self.users
                    .set_password_hash(user.id, &user.password_hash, upgraded)?;
            }
        }
        self.users.record_login(user.id, now)?;
        let event = AuditEvent::new(AuditKind::LoginSucceeded, now, &client)
            .user(user.id, user.username.as_str());
        start_session(
            self.sessions.as_ref(),
            self.tokens.as_ref(),
            self.refresh_tokens.as_ref(),
            &self.policy,
            user.id,
            client,
            vec![event],
            now,
        )
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;
    use domain::{AccountAttempts, AddressAttempts, TokenClaims};
    use mockall::Sequence;

    use super::*;
    use crate::ports::{
        Expiring, IssuedToken, MockThrottleStore, ThrottleCharge, ThrottleRecords, Versioned,
        WriteOutcome,
    };
    use crate::use_cases::login_throttle::CHARGE_TRIES;
    use crate::use_cases::test_support::*;

    /// With the back-off disabled: these tests are about the password check.
    fn use_case(ports: Ports) -> LogIn {
        LogIn {
            users: Arc::new(ports.users),
            refresh_tokens: Arc::new(ports.refresh_tokens),
            sessions: Arc::new(ports.sessions),
            hasher: Arc::new(ports.hasher),
            tokens: Arc::new(ports.tokens),
            clock: fixed_clock(),
            policy: SessionPolicy::default(),
            throttle: LoginThrottle::disabled(),
            require_verified_email: false,
            audit: Arc::new(RecordingAuditLog::default()),
        }
    }

    /// With the back-off over `ports.throttle`.
    fn throttled_use_case(ports: Ports) -> LogIn {
        throttled_and_audited(ports).0
    }

    /// With the back-off over `ports.throttle`, recording its holds in the log returned.
    fn throttled_and_audited(ports: Ports) -> (LogIn, Arc<RecordingAuditLog>) {
        let throttle = Arc::new(ports.throttle);
        let audit = Arc::new(RecordingAuditLog::default());
        let log_in = LogIn {
            throttle: LoginThrottle::enabled(throttle, audit.clone()),
            ..use_case(Ports {
                throttle: MockThrottleStore::new(),
                ..ports
            })
        };
        (log_in, audit)
    }

    const ADDRESS: &str = "203.0.113.7";

    fn key(username: &str) -> ThrottleKey {
        ThrottleKey::new(ADDRESS, username)
    }

    /// `failures` charged to the address, the last at `last`, at version 3.
    fn records(failures: u32, last: chrono::DateTime<chrono::Utc>) -> ThrottleRecords {
        ThrottleRecords {
            address: Some(Versioned {
                record: AddressAttempts {
                    failures,
                    last_failure_at: Some(last),
                    signed_in_at: None,
                },
                version: 3,
            }),
            account: None,
        }
    }

    /// The charge of a first attempt at `now()` from an address new to the username.
    fn first_charge() -> ThrottleCharge {
        ThrottleCharge {
            address: Expiring {
                record: AddressAttempts {
                    failures: 1,
                    last_failure_at: Some(now()),
                    signed_in_at: None,
                },
                expires_at: now() + Duration::hours(24),
            },
            account: Some(Expiring {
                record: AccountAttempts {
                    window_start: now(),
                    attempts: 1,
                    previous_attempts: 0,
                },
                expires_at: now() + Duration::hours(2),
            }),
        }
    }

    fn expect_first_charge(ports: &mut Ports, username: &'static str) {
        ports
            .throttle
            .expect_load()
            .withf(move |k| *k == key(username))
            .times(1)
            .returning(|_| Ok(ThrottleRecords::default()));
        ports
            .throttle
            .expect_charge()
            .withf(move |k, read, charge| {
                *k == key(username)
                    && *read == ThrottleRecords::default()
                    && *charge == first_charge()
            })
            .times(1)
            .returning(|_, _, _| Ok(WriteOutcome::Written));
    }

    fn input(username: &str, password: &str) -> LogInInput {
        LogInInput {
            username: value(username),
            password: value(password),
            client: client(),
        }
    }

    /// Each refusal records one `login_failed` event, with the submitted username, the account
    /// when there is one, the kind of failure and the request's origin.
    #[test]
    fn every_refusal_records_one_event_with_its_kind() {
        let inactive = domain::User {
            is_active: false,
            ..stored_user()
        };
        let cases = [
            (None, Verification::Mismatch, false, "unknown_user"),
            (
                Some(stored_user()),
                Verification::Mismatch,
                false,
                "wrong_password",
            ),
            (
                Some(stored_user()),
                Verification::Unusable,
                false,
                "unusable_password",
            ),
            (
                Some(inactive),
                Verification::Match {
                    needs_rehash: false,
                },
                false,
                "inactive",
            ),
            (
                Some(stored_user()),
                Verification::Match {
                    needs_rehash: false,
                },
                true,
                "email_not_verified",
            ),
        ];
        for (found, verification, mandatory, detail) in cases {
            let mut ports = Ports::new();
            let known = found.is_some();
            ports
                .users
                .expect_find_by_username()
                .returning(move |_| Ok(found.clone()));
            ports.hasher.expect_verify().return_const(verification);
            ports.hasher.expect_verify_dummy().return_const(());
            ports.users.expect_record_login().never();
            ports.sessions.expect_start().never();
            let audit = Arc::new(RecordingAuditLog::default());
            let log_in = LogIn {
                audit: audit.clone(),
                require_verified_email: mandatory,
                ..use_case(ports)
            };
            assert!(log_in.execute(input("alice", "guess")).is_err());
            let events = audit.events();
            assert_eq!(events.len(), 1, "{detail}");
            let event = &events[0];
            assert_eq!(event.kind, AuditKind::LoginFailed);
            assert_eq!(event.detail.as_deref(), Some(detail));
            assert_eq!(event.username.as_deref(), Some("alice"));
            assert_eq!(event.user_id, known.then_some(USER_ID), "{detail}");
            assert_eq!(event.client, client());
            assert_eq!(event.at, now());
        }
    }

    #[test]
    fn a_success_is_recorded_with_the_session_it_starts_and_nothing_on_its_own() {
        let mut ports = Ports::new();
        ports
            .users
            .expect_find_by_username()
            .returning(|_| Ok(Some(stored_user())));
        ports
            .hasher
            .expect_verify()
            .return_const(Verification::Match {
                needs_rehash: false,
            });
        ports.users.expect_record_login().returning(|_, _| Ok(()));
        ports
            .sessions
            .expect_start()
            .withf(|new, _| {
                matches!(new.audit.as_slice(), [event]
                    if event.kind == AuditKind::LoginSucceeded
                        && event.user_id == Some(USER_ID)
                        && event.username.as_deref() == Some("alice")
                        && event.client == client())
                    && new.client == client()
            })
            .times(1)
            .returning(|_, _| Ok(session()));
        ports
            .tokens
            .expect_issue()
            .returning(|token_type, id, sid, _| {
                Ok(IssuedToken {
                    token: "t".into(),
                    claims: TokenClaims {
                        session_id: sid,
                        ..claims(token_type, &"a".repeat(32), id)
                    },
                })
            });
        ports.refresh_tokens.expect_record().returning(|_| Ok(()));
        let audit = Arc::new(RecordingAuditLog::default());
        let log_in = LogIn {
            audit: audit.clone(),
            ..use_case(ports)
        };
        log_in.execute(input("alice", "right")).expect("signs in");
        assert!(audit.events().is_empty());
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
    fn with_verification_mandatory_only_a_verified_user_signs_in() {
        for verified in [false, true] {
            let mut ports = Ports::new();
            ports.users.expect_find_by_username().returning(move |_| {
                Ok(Some(domain::User {
                    email_verified: verified,
                    ..stored_user()
                }))
            });
            ports
                .hasher
                .expect_verify()
                .returning(|_, _| Verification::Match {
                    needs_rehash: false,
                });
            if verified {
                ports.users.expect_record_login().returning(|_, _| Ok(()));
                ports.expect_token_pair_issued(USER_ID);
            } else {
                ports.users.expect_record_login().never();
                ports.sessions.expect_start().never();
            }
            let log_in = LogIn {
                require_verified_email: true,
                ..use_case(ports)
            };
            let result = log_in.execute(input("alice", "right"));
            assert_eq!(result.is_ok(), verified, "{result:?}");
            if !verified {
                assert!(matches!(result, Err(LogInError::EmailNotVerified)));
            }
        }
    }

    #[test]
    fn with_verification_mandatory_a_wrong_password_still_reads_as_invalid_credentials() {
        let mut ports = Ports::new();
        ports
            .users
            .expect_find_by_username()
            .returning(|_| Ok(Some(stored_user())));
        ports
            .hasher
            .expect_verify()
            .returning(|_, _| Verification::Mismatch);
        let log_in = LogIn {
            require_verified_email: true,
            ..use_case(ports)
        };
        assert!(matches!(
            log_in.execute(input("alice", "wrong")),
            Err(LogInError::InvalidCredentials)
        ));
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
            .withf(|id, current, hash| {
                *id == USER_ID
                    && *current == stored_user().password_hash
                    && hash.as_str() == "upgraded"
            })
            .times(1)
            .returning(|_, _, _| Ok(()));
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

    #[test]
    fn a_throttled_attempt_looks_up_no_user_and_checks_no_password() {
        let mut ports = Ports::new();
        ports
            .throttle
            .expect_load()
            .times(1)
            .returning(|_| Ok(records(5, now())));
        ports.throttle.expect_charge().never();
        ports.throttle.expect_record_success().never();
        ports.users.expect_find_by_username().never();
        // The hasher mock has no expectations: any call to it fails the test.
        let (log_in, audit) = throttled_and_audited(ports);
        let result = log_in.execute(input("alice", "right"));
        assert!(
            matches!(
                result,
                Err(LogInError::Throttled {
                    retry_after_secs: 1
                })
            ),
            "{result:?}"
        );
        // Answered from memory now: no load, and no second event.
        let again = log_in.execute(input("alice", "right"));
        assert!(matches!(again, Err(LogInError::Throttled { .. })));
        let events = audit.events();
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!(events[0].kind, AuditKind::LoginThrottled);
        assert_eq!(events[0].username.as_deref(), Some("alice"));
        assert_eq!(events[0].user_id, None, "no account is looked up");
        assert_eq!(events[0].client.ip_address(), "203.0.113.7");
    }

    #[test]
    fn admitting_costs_no_hash_and_no_user_lookup() {
        let mut ports = Ports::new();
        expect_first_charge(&mut ports, "alice");
        ports.users.expect_find_by_username().never();
        let admitted = throttled_use_case(ports).admit(input("alice", "right"));
        assert!(admitted.is_ok(), "{admitted:?}");
    }

    #[test]
    fn an_allowed_attempt_is_charged_as_a_failure_before_its_password_is_checked() {
        let mut ports = Ports::new();
        let mut sequence = Sequence::new();
        ports
            .throttle
            .expect_load()
            .times(1)
            .in_sequence(&mut sequence)
            .returning(|_| Ok(ThrottleRecords::default()));
        ports
            .throttle
            .expect_charge()
            .withf(|_, _, charge| *charge == first_charge())
            .times(1)
            .in_sequence(&mut sequence)
            .returning(|_, _, _| Ok(WriteOutcome::Written));
        ports
            .users
            .expect_find_by_username()
            .times(1)
            .in_sequence(&mut sequence)
            .returning(|_| Ok(Some(stored_user())));
        ports
            .hasher
            .expect_verify()
            .times(1)
            .in_sequence(&mut sequence)
            .returning(|_, _| Verification::Mismatch);
        ports.throttle.expect_record_success().never();
        let result = throttled_use_case(ports).execute(input("alice", "wrong"));
        assert!(matches!(result, Err(LogInError::InvalidCredentials)));
    }

    #[test]
    fn a_success_resets_the_back_off_and_makes_the_address_known() {
        let mut ports = Ports::new();
        ports
            .throttle
            .expect_load()
            .returning(|_| Ok(records(3, now() - Duration::seconds(5))));
        ports
            .throttle
            .expect_charge()
            .withf(|_, read, charge| {
                *read == records(3, now() - Duration::seconds(5))
                    && charge.address.record.failures == 4
            })
            .times(1)
            .returning(|_, _, _| Ok(WriteOutcome::Written));
        ports
            .throttle
            .expect_record_success()
            .withf(|k, address| {
                *k == key("alice")
                    && *address
                        == Expiring {
                            record: AddressAttempts {
                                failures: 0,
                                last_failure_at: None,
                                signed_in_at: Some(now()),
                            },
                            expires_at: now() + Duration::days(30),
                        }
            })
            .times(1)
            .returning(|_, _| Ok(()));
        ports
            .users
            .expect_find_by_username()
            .returning(|_| Ok(Some(stored_user())));
        ports
            .hasher
            .expect_verify()
            .returning(|_, _| Verification::Match {
                needs_rehash: false,
            });
        ports.users.expect_record_login().returning(|_, _| Ok(()));
        ports.expect_token_pair_issued(USER_ID);
        let pair = throttled_use_case(ports).execute(input("alice", "right"));
        assert!(pair.is_ok(), "{pair:?}");
    }

    #[test]
    fn an_unknown_username_is_charged_like_a_real_one_and_never_reset() {
        let mut ports = Ports::new();
        expect_first_charge(&mut ports, "nobody");
        ports
            .users
            .expect_find_by_username()
            .returning(|_| Ok(None));
        ports.hasher.expect_verify_dummy().times(1).return_const(());
        ports.throttle.expect_record_success().never();
        let result = throttled_use_case(ports).execute(input("nobody", "whatever"));
        assert!(matches!(result, Err(LogInError::InvalidCredentials)));
    }

    #[test]
    fn the_right_password_of_an_inactive_account_leaves_the_attempt_charged() {
        let mut ports = Ports::new();
        expect_first_charge(&mut ports, "alice");
        ports.users.expect_find_by_username().returning(|_| {
            Ok(Some(domain::User {
                is_active: false,
                ..stored_user()
            }))
        });
        ports
            .hasher
            .expect_verify()
            .returning(|_, _| Verification::Match {
                needs_rehash: false,
            });
        ports.throttle.expect_record_success().never();
        let result = throttled_use_case(ports).execute(input("alice", "right"));
        assert!(matches!(result, Err(LogInError::InvalidCredentials)));
    }

    #[test]
    fn the_key_is_the_client_address_and_the_username_in_nfkc() {
        let mut ports = Ports::new();
        expect_first_charge(&mut ports, "bobby");
        ports
            .users
            .expect_find_by_username()
            .withf(|name| name == "bobby")
            .returning(|_| Ok(None));
        ports.hasher.expect_verify_dummy().return_const(());
        let result = throttled_use_case(ports).execute(input("ｂｏｂｂｙ", "whatever"));
        assert!(matches!(result, Err(LogInError::InvalidCredentials)));
    }

    #[test]
    fn a_known_address_is_charged_to_itself_only() {
        let mut ports = Ports::new();
        let signed_in = now() - Duration::days(2);
        let known = ThrottleRecords {
            address: Some(Versioned {
                record: AddressAttempts {
                    failures: 0,
                    last_failure_at: None,
                    signed_in_at: Some(signed_in),
                },
                version: 9,
            }),
            account: Some(Versioned {
                record: AccountAttempts {
                    window_start: now(),
                    attempts: 100,
                    previous_attempts: 0,
                },
                version: 40,
            }),
        };
        ports.throttle.expect_load().returning(move |_| Ok(known));
        ports
            .throttle
            .expect_charge()
            .withf(move |_, read, charge| {
                *read == known
                    && charge.account.is_none()
                    && charge.address.record
                        == AddressAttempts {
                            failures: 1,
                            last_failure_at: Some(now()),
                            signed_in_at: Some(signed_in),
                        }
            })
            .times(1)
            .returning(|_, _, _| Ok(WriteOutcome::Written));
        assert!(throttled_use_case(ports).admit(input("alice", "x")).is_ok());
    }

    #[test]
    fn a_conflicting_charge_is_decided_again_on_what_won() {
        let mut ports = Ports::new();
        let mut sequence = Sequence::new();
        ports
            .throttle
            .expect_load()
            .times(1)
            .in_sequence(&mut sequence)
            .returning(|_| Ok(records(4, now())));
        ports
            .throttle
            .expect_charge()
            .times(1)
            .in_sequence(&mut sequence)
            .returning(|_, _, _| Ok(WriteOutcome::Conflict));
        // Another attempt won meanwhile with the 5th failure: this one must now wait.
        ports
            .throttle
            .expect_load()
            .times(1)
            .in_sequence(&mut sequence)
            .returning(|_| Ok(records(5, now())));
        ports.users.expect_find_by_username().never();
        let result = throttled_use_case(ports).execute(input("alice", "x"));
        assert!(
            matches!(
                result,
                Err(LogInError::Throttled {
                    retry_after_secs: 1
                })
            ),
            "{result:?}"
        );
    }

    #[test]
    fn a_conflicting_charge_is_retried_on_the_fresh_records() {
        let mut ports = Ports::new();
        let mut sequence = Sequence::new();
        ports
            .throttle
            .expect_load()
            .times(1)
            .in_sequence(&mut sequence)
            .returning(|_| Ok(records(1, now())));
        ports
            .throttle
            .expect_charge()
            .times(1)
            .in_sequence(&mut sequence)
            .returning(|_, _, _| Ok(WriteOutcome::Conflict));
        ports
            .throttle
            .expect_load()
            .times(1)
            .in_sequence(&mut sequence)
            .returning(|_| Ok(records(2, now())));
        ports
            .throttle
            .expect_charge()
            .withf(|_, read, charge| {
                *read == records(2, now()) && charge.address.record.failures == 3
            })
            .times(1)
            .in_sequence(&mut sequence)
            .returning(|_, _, _| Ok(WriteOutcome::Written));
        assert!(throttled_use_case(ports).admit(input("alice", "x")).is_ok());
    }

    #[test]
    fn charges_that_keep_conflicting_are_throttled_for_a_second() {
        let mut ports = Ports::new();
        let tries = usize::try_from(CHARGE_TRIES).expect("fits");
        ports
            .throttle
            .expect_load()
            .times(tries)
            .returning(|_| Ok(ThrottleRecords::default()));
        ports
            .throttle
            .expect_charge()
            .times(tries)
            .returning(|_, _, _| Ok(WriteOutcome::Conflict));
        ports.users.expect_find_by_username().never();
        let result = throttled_use_case(ports).execute(input("alice", "x"));
        assert!(
            matches!(
                result,
                Err(LogInError::Throttled {
                    retry_after_secs: 1
                })
            ),
            "{result:?}"
        );
    }

    #[test]
    fn a_failing_throttle_store_fails_the_login_without_a_hash() {
        let mut ports = Ports::new();
        ports
            .throttle
            .expect_load()
            .returning(|_| Err(unavailable()));
        ports.users.expect_find_by_username().never();
        let result = throttled_use_case(ports).execute(input("alice", "x"));
        assert!(matches!(
            result,
            Err(LogInError::Repository(RepositoryError::Unavailable(_)))
        ));
    }

    #[test]
    fn an_invalid_form_is_not_charged() {
        let mut ports = Ports::new();
        ports.throttle.expect_load().never();
        ports.throttle.expect_charge().never();
        let result = throttled_use_case(ports).execute(LogInInput {
            username: value("alice"),
            password: Submitted::Absent,
            client: ClientInfo::new(ADDRESS, "test-agent"),
        });
        assert!(matches!(result, Err(LogInError::Invalid(_))));
    }

    #[test]
    fn a_disabled_throttle_holds_no_store_and_every_login_checks_its_password() {
        let mut ports = Ports::new();
        ports
            .users
            .expect_find_by_username()
            .times(7)
            .returning(|_| Ok(Some(stored_user())));
        ports
            .hasher
            .expect_verify()
            .times(7)
            .returning(|_, _| Verification::Mismatch);
        let log_in = use_case(ports);
        assert!(!log_in.throttle.is_enabled());
        for _ in 0..7 {
            let result = log_in.execute(input("alice", "wrong"));
            assert!(matches!(result, Err(LogInError::InvalidCredentials)));
        }
    }
}
