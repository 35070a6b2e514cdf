//! Builders shared by the use-case tests.
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeZone, Utc};
use domain::{
    AuditEvent, AuditKind, ClientInfo, Email, NewUser, PasswordHash, PersonName, Phone, Profile,
    Session, SessionId, TokenClaims, TokenId, TokenType, User, UserId, Username,
};

use crate::ports::{
    AuditLog, AuditQuery, Clock, Effects, IssuedToken, MockAccountTokens, MockClock,
    MockMailComposer, MockMailer, MockOutbox, MockPasswordHasher, MockRefreshTokenStore,
    MockSessionStore, MockThrottleStore, MockTokenCodec, MockUserRepository, RepositoryError,
};
use crate::validation::{FieldErrors, Submitted};

pub const USER_ID: UserId = UserId::new(7);

pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 21, 10, 0, 0).unwrap()
}

pub fn fixed_clock() -> Arc<dyn Clock> {
    let mut clock = MockClock::new();
    clock.expect_now().returning(now);
    Arc::new(clock)
}

pub fn value(raw: &str) -> Submitted<String> {
    Submitted::Value(raw.to_owned())
}

pub fn hash(phc: &str) -> PasswordHash {
    PasswordHash::new(phc.to_owned())
}

pub fn stored_user() -> User {
    User {
        id: USER_ID,
        username: Username::parse("alice").unwrap(),
        email: Email::parse("alice@example.com").unwrap(),
        password_hash: hash("stored-hash"),
        first_name: PersonName::parse("Alice").unwrap(),
        last_name: PersonName::parse("Liddell").unwrap(),
        is_active: true,
        is_staff: false,
        is_superuser: false,
        date_joined: now(),
        last_login: None,
        email_verified: false,
        pending_email: None,
    }
}

pub fn stored_profile() -> Profile {
    Profile {
        id: 3,
        user_id: USER_ID,
        phone: Phone::parse("1234567890").unwrap(),
        created_at: now(),
        updated_at: now(),
    }
}

pub fn stored_user_from(new: NewUser) -> (User, Profile) {
    let user = User {
        id: USER_ID,
        username: new.username,
        email: new.email,
        password_hash: new.password_hash,
        first_name: new.first_name,
        last_name: new.last_name,
        is_active: true,
        is_staff: new.is_staff,
        is_superuser: new.is_superuser,
        date_joined: new.joined_at,
        last_login: None,
        email_verified: new.email_verified,
        pending_email: None,
    };
    let profile = Profile {
        phone: new.phone,
        ..stored_profile()
    };
    (user, profile)
}

pub fn claims(token_type: TokenType, jti: &str, user_id: UserId) -> TokenClaims {
    TokenClaims {
        token_type,
        id: TokenId::parse(jti).unwrap(),
        user_id,
        issued_at: now(),
        expires_at: now() + chrono::Duration::days(1),
        session_id: None,
    }
}

pub const SESSION: &str = "5e55";

pub fn session_id() -> SessionId {
    SessionId::parse(SESSION).unwrap()
}

/// A live session of `USER_ID`, started now.
pub fn session() -> Session {
    Session {
        id: session_id(),
        user_id: USER_ID,
        created_at: now(),
        last_used_at: now(),
        expires_at: now() + chrono::Duration::days(1),
        absolute_expires_at: now() + chrono::Duration::days(30),
        client: ClientInfo::new("203.0.113.7", "test-agent"),
        ended: None,
    }
}

/// Where the tests' requests come from.
pub fn client() -> ClientInfo {
    ClientInfo::new("203.0.113.7", "test-agent").with_request_id("req-1")
}

/// The kinds of the audit events `effects` writes, in order.
pub fn audited(effects: &Effects) -> Vec<AuditKind> {
    effects.audit.iter().map(|event| event.kind).collect()
}

/// An audit log that keeps what it is given, for the tests to read back.
#[derive(Default)]
pub struct RecordingAuditLog(Mutex<Vec<AuditEvent>>);

impl RecordingAuditLog {
    pub fn events(&self) -> Vec<AuditEvent> {
        self.0.lock().unwrap().clone()
    }
}

impl AuditLog for RecordingAuditLog {
    fn record(&self, event: AuditEvent) -> Result<(), RepositoryError> {
        self.0.lock().unwrap().push(event);
        Ok(())
    }

    fn list(&self, _query: &AuditQuery) -> Result<Vec<AuditEvent>, RepositoryError> {
        Ok(self.events())
    }

    fn prune(&self, _before: DateTime<Utc>, _batch: u32) -> Result<u64, RepositoryError> {
        Ok(0)
    }
}

pub fn unavailable() -> RepositoryError {
    RepositoryError::Unavailable("connection refused".into())
}

/// Every port as a mock with no expectations yet.
pub struct Ports {
    pub users: MockUserRepository,
    pub refresh_tokens: MockRefreshTokenStore,
    pub hasher: MockPasswordHasher,
    pub tokens: MockTokenCodec,
    pub sessions: MockSessionStore,
    pub throttle: MockThrottleStore,
    pub composer: MockMailComposer,
    pub account_tokens: MockAccountTokens,
    pub outbox: MockOutbox,
    pub mailer: MockMailer,
}

impl Ports {
    pub fn new() -> Self {
        Self {
            users: MockUserRepository::new(),
            refresh_tokens: MockRefreshTokenStore::new(),
            hasher: MockPasswordHasher::new(),
            tokens: MockTokenCodec::new(),
            sessions: MockSessionStore::new(),
            throttle: MockThrottleStore::new(),
            composer: MockMailComposer::new(),
            account_tokens: MockAccountTokens::new(),
            outbox: MockOutbox::new(),
            mailer: MockMailer::new(),
        }
    }

    /// Expects one access and one refresh token for `user_id`, the refresh token recorded.
    /// A session starts for `user_id` and its pair is issued, both tokens carrying its id.
    pub fn expect_token_pair_issued(&mut self, user_id: UserId) {
        self.sessions
            .expect_start()
            .times(1)
            .returning(move |new, max_live| {
                assert_eq!(new.user_id, user_id);
                assert!(
                    new.audit.iter().all(|event| event.session_id.is_none()),
                    "the store gives the events their session"
                );
                assert_eq!(max_live, 100);
                assert_eq!(new.absolute_expires_at, now() + chrono::Duration::days(30));
                Ok(session())
            });
        self.tokens
            .expect_issue()
            .times(2)
            .returning(move |token_type, id, sid, _| {
                assert_eq!(id, user_id);
                assert_eq!(sid, Some(session_id()));
                let (token, jti) = match token_type {
                    TokenType::Access => ("access-token", "a".repeat(32)),
                    TokenType::Refresh => ("refresh-token", "r".repeat(32)),
                };
                Ok(IssuedToken {
                    token: token.to_owned(),
                    claims: TokenClaims {
                        session_id: sid,
                        ..claims(token_type, &jti, id)
                    },
                })
            });
        self.refresh_tokens
            .expect_record()
            .times(1)
            .withf(|claims| {
                claims.token_type == TokenType::Refresh && claims.session_id == Some(session_id())
            })
            .returning(|_| Ok(()));
    }
}

/// The dotted paths of the errors, in order.
pub fn fields(errors: &FieldErrors) -> Vec<String> {
    errors.iter().map(|(path, _)| path.join(".")).collect()
}

/// (dotted path, message) pairs, in order.
pub fn pairs(errors: &FieldErrors) -> Vec<(String, String)> {
    errors
        .iter()
        .map(|(path, message)| (path.join("."), message.to_owned()))
        .collect()
}
