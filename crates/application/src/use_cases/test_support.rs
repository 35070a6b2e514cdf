//! Builders shared by the use-case tests.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use domain::{
    Email, NewUser, PasswordHash, PersonName, Phone, Profile, TokenClaims, TokenId, TokenType,
    User, UserId, Username,
};

use crate::ports::{
    Clock, IssuedToken, MockClock, MockPasswordHasher, MockRefreshTokenStore, MockTokenCodec,
    MockUserRepository, RepositoryError,
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
}

impl Ports {
    pub fn new() -> Self {
        Self {
            users: MockUserRepository::new(),
            refresh_tokens: MockRefreshTokenStore::new(),
            hasher: MockPasswordHasher::new(),
            tokens: MockTokenCodec::new(),
        }
    }

    /// Expects one access and one refresh token for `user_id`, the refresh token recorded.
    pub fn expect_token_pair_issued(&mut self, user_id: UserId) {
        self.tokens
            .expect_issue()
            .times(2)
            .returning(move |token_type, id, _| {
                assert_eq!(id, user_id);
                let (token, jti) = match token_type {
                    TokenType::Access => ("access-token", "a".repeat(32)),
                    TokenType::Refresh => ("refresh-token", "r".repeat(32)),
                };
                Ok(IssuedToken {
                    token: token.to_owned(),
                    claims: claims(token_type, &jti, id),
                })
            });
        self.refresh_tokens
            .expect_record()
            .times(1)
            .withf(|claims| claims.token_type == TokenType::Refresh)
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
