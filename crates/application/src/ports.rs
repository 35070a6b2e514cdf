//! The traits the use cases need from the outside world.

use std::error::Error as StdError;

use chrono::{DateTime, Utc};
use domain::{
    Email, NewUser, Password, PasswordHash, PersonName, Phone, Profile, TokenClaims, TokenId,
    TokenType, User, UserId,
};
use thiserror::Error;

type BoxError = Box<dyn StdError + Send + Sync>;

/// A storage failure that no use case can do anything about but report.
#[derive(Debug, Error)]
pub enum RepositoryError {
    /// The database cannot be reached (connection refused, pool exhausted, server gone). Worth
    /// retrying later; the HTTP layer answers 503.
    #[error("the database is unavailable")]
    Unavailable(#[source] BoxError),
    /// Anything else: a bug, a schema mismatch, a constraint nobody expected.
    #[error("unexpected database error")]
    Unexpected(#[source] BoxError),
}

#[derive(Debug, Error)]
pub enum CreateUserError {
    #[error("a user with that username already exists")]
    UsernameTaken,
    #[error("a user with that email already exists")]
    EmailTaken,
    #[error(transparent)]
    Repository(#[from] RepositoryError),
}

#[derive(Debug, Error)]
pub enum UpdateUserError {
    #[error("a user with that email already exists")]
    EmailTaken,
    #[error("no such user")]
    NotFound,
    #[error(transparent)]
    Repository(#[from] RepositoryError),
}

/// The fields of a user and its profile that an update may change; `None` keeps the stored value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfileChanges {
    pub email: Option<Email>,
    pub first_name: Option<PersonName>,
    pub last_name: Option<PersonName>,
    pub phone: Option<Phone>,
}

/// Users and their profiles.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait UserRepository: Send + Sync {
    /// Creates the user and its profile in one transaction: both exist afterwards, or neither.
    ///
    /// # Errors
    /// MUST return `UsernameTaken` when the username exists (case-sensitively) and `EmailTaken`
    /// when the email exists ignoring case, as decided by the database's unique constraints, so
    /// that concurrent creations cannot both succeed.
    fn create(&self, user: NewUser) -> Result<(User, Profile), CreateUserError>;

    fn find_by_id(&self, id: UserId) -> Result<Option<User>, RepositoryError>;

    /// Exact, case-sensitive match. Takes any string: one that is not a valid username simply
    /// matches nobody.
    fn find_by_username(&self, username: &str) -> Result<Option<User>, RepositoryError>;

    /// Case-insensitive match.
    fn find_by_email(&self, email: &Email) -> Result<Option<User>, RepositoryError>;

    /// The profile of a user; `None` when it is missing.
    fn find_profile(&self, user_id: UserId) -> Result<Option<Profile>, RepositoryError>;

    /// Applies the changes and sets the profile's `updated_at`, in one transaction.
    ///
    /// # Errors
    /// MUST return `EmailTaken` when the new email belongs to another user ignoring case, and
    /// `NotFound` when the user or its profile does not exist.
    fn update_profile(
        &self,
        id: UserId,
        changes: ProfileChanges,
        updated_at: DateTime<Utc>,
    ) -> Result<(User, Profile), UpdateUserError>;

    fn record_login(&self, id: UserId, at: DateTime<Utc>) -> Result<(), RepositoryError>;

    /// Replaces the stored hash, e.g. after a login found it weaker than the current parameters.
    fn set_password_hash(&self, id: UserId, hash: PasswordHash) -> Result<(), RepositoryError>;
}

/// Refresh tokens that were issued, and the ones revoked (the blacklist).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait RefreshTokenStore: Send + Sync {
    /// Records a freshly issued refresh token.
    fn record(&self, claims: &TokenClaims) -> Result<(), RepositoryError>;

    /// Revokes the token, recording it first if it was issued elsewhere (by the system this one
    /// replaces, say). Revoking a revoked token keeps the first revocation time.
    fn revoke(&self, claims: &TokenClaims, at: DateTime<Utc>) -> Result<(), RepositoryError>;

    fn is_revoked(&self, id: &TokenId) -> Result<bool, RepositoryError>;

    /// Deletes every row whose token expired before `now`; returns how many.
    fn delete_expired(&self, now: DateTime<Utc>) -> Result<u64, RepositoryError>;
}

/// Whether the storage answers at all, for readiness probes.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait HealthProbe: Send + Sync {
    fn check(&self) -> Result<(), RepositoryError>;
}

/// The outcome of checking a password against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification {
    Mismatch,
    /// The stored hash cannot be checked at all (Django's unusable-password marker `!…`, an
    /// unknown or corrupt format), so no hashing work was done. A caller whose timing must not
    /// tell this apart from a mismatch runs `verify_dummy`.
    Unusable,
    /// `needs_rehash` is set when the hash uses weaker parameters or another algorithm than the
    /// hasher would use today.
    Match {
        needs_rehash: bool,
    },
}

#[derive(Debug, Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(pub String);

/// One-way password hashing.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait PasswordHasher: Send + Sync {
    fn hash(&self, password: &Password) -> Result<PasswordHash, HashError>;

    /// A hash it cannot use is `Unusable`, never an error, and costs next to nothing; the caller
    /// decides whether to spend the time of a real verification on it.
    fn verify(&self, password: &Password, hash: &PasswordHash) -> Verification;

    /// Does the same work as `verify` against a hash that matches nothing, so that a login for
    /// an unknown user takes as long as one with a wrong password.
    fn verify_dummy(&self, password: &Password);
}

/// Why a token was refused. `Display` is simplejwt's message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum TokenProblem {
    #[error("Token is invalid")]
    Invalid,
    #[error("Token is expired")]
    Expired,
    #[error("Token has wrong type")]
    WrongType,
    #[error("Token is blacklisted")]
    Blacklisted,
}

/// A signed token with the claims it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedToken {
    pub token: String,
    pub claims: TokenClaims,
}

#[derive(Debug, Error)]
#[error("token encoding failed: {0}")]
pub struct IssueError(pub String);

/// Signs and verifies access and refresh tokens.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait TokenCodec: Send + Sync {
    /// Issues a token of the given type for the user, valid from `now` for the configured lifetime.
    fn issue(
        &self,
        token_type: TokenType,
        user_id: UserId,
        now: DateTime<Utc>,
    ) -> Result<IssuedToken, IssueError>;

    /// Verifies signature and algorithm, then expiry against `now`, then type, and reports the
    /// first that fails in that order.
    fn decode(
        &self,
        token: &str,
        expected: TokenType,
        now: DateTime<Utc>,
    ) -> Result<TokenClaims, TokenProblem>;
}

/// The current time. Tests control time through it instead of sleeping.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}
