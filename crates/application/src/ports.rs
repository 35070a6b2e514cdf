//! The traits the use cases need from the outside world.

use std::error::Error as StdError;

use chrono::{DateTime, Utc};
use domain::{
    AccountAttempts, AddressAttempts, AuditEvent, ClientInfo, Email, LoginHistory, NewUser,
    Password, PasswordHash, PersonName, Phone, Profile, Session, SessionEnd, SessionId,
    ThrottleKey, TokenClaims, TokenId, TokenType, User, UserId,
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

/// What a change causes, written in the change's own transaction: both commit, or neither.
///
/// `mail` goes into the outbox; `audit` into the audit log. `origin` is the request that made
/// the change: a store that ends sessions records a [`domain::AuditKind::SessionEnded`] event for each,
/// from there.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Effects {
    pub mail: Vec<OutboxMessage>,
    pub audit: Vec<AuditEvent>,
    pub origin: ClientInfo,
}

impl Effects {
    pub fn new(origin: &ClientInfo) -> Self {
        Self {
            origin: origin.clone(),
            ..Self::default()
        }
    }

    #[must_use]
    pub fn mail(mut self, message: OutboxMessage) -> Self {
        self.mail.push(message);
        self
    }

    #[must_use]
    pub fn audit(mut self, event: AuditEvent) -> Self {
        self.audit.push(event);
        self
    }
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
    /// `Some(Some(address))` records an address change waiting for verification,
    /// `Some(None)` clears it, `None` keeps what is stored.
    pub pending_email: Option<Option<Email>>,
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
    /// `effects` are written in the same transaction (a verification mail, say).
    fn create(&self, user: NewUser, effects: Effects) -> Result<(User, Profile), CreateUserError>;

    fn find_by_id(&self, id: UserId) -> Result<Option<User>, RepositoryError>;

    /// Exact, case-sensitive match. Takes any string: one that is not a valid username simply
    /// matches nobody.
    fn find_by_username(&self, username: &str) -> Result<Option<User>, RepositoryError>;

    /// Case-insensitive match.
    fn find_by_email(&self, email: &Email) -> Result<Option<User>, RepositoryError>;

    /// The user and, in the same query, the session `session_id` if it is the user's; `None`
    /// when the user does not exist. Authenticating a request with a session costs one round trip.
    fn find_with_session(
        &self,
        id: UserId,
        session_id: &SessionId,
    ) -> Result<Option<(User, Option<Session>)>, RepositoryError>;

    /// As `find_with_session`, with the user's profile too, still in one query, so the profile GET
    /// costs one round trip; without a `session_id` no session is looked up.
    #[allow(clippy::type_complexity)]
    fn find_with_profile(
        &self,
        id: UserId,
        session_id: Option<SessionId>,
    ) -> Result<Option<(User, Option<Session>, Option<Profile>)>, RepositoryError>;

    /// Deactivates the user and, in the same transaction, ends its sessions as
    /// `UserDeactivated` and writes `effects`; `false` (nothing written) when the user does not
    /// exist.
    fn deactivate(
        &self,
        id: UserId,
        at: DateTime<Utc>,
        effects: Effects,
    ) -> Result<bool, RepositoryError>;

    /// Reactivates the user and writes `effects`; ended sessions stay ended. `false` (nothing
    /// written) when the user does not exist.
    fn reactivate(&self, id: UserId, effects: Effects) -> Result<bool, RepositoryError>;

    /// The profile of a user; `None` when it is missing.
    fn find_profile(&self, user_id: UserId) -> Result<Option<Profile>, RepositoryError>;

    /// Applies the changes, sets the profile's `updated_at` and writes `effects`, in one
    /// transaction.
    ///
    /// # Errors
    /// MUST return `EmailTaken` when the new email belongs to another user ignoring case, and
    /// `NotFound` when the user or its profile does not exist.
    fn update_profile(
        &self,
        id: UserId,
        changes: ProfileChanges,
        updated_at: DateTime<Utc>,
        effects: Effects,
    ) -> Result<(User, Profile), UpdateUserError>;

    /// Replaces the password hash, ends every live session of the user except `keep` as
    /// `PasswordChanged`, and writes `effects`, in one transaction; `false` (nothing written) when
    /// the user does not exist or its stored hash is no longer `current`: a change decided on a
    /// hash that another change replaced meanwhile must not win over it (two uses of one reset
    /// link at once, say).
    fn change_password(
        &self,
        id: UserId,
        current: &PasswordHash,
        hash: PasswordHash,
        keep: Option<SessionId>,
        at: DateTime<Utc>,
        effects: Effects,
    ) -> Result<bool, RepositoryError>;

    /// Marks `email` verified for the user, in one transaction with `effects`: when it is the
    /// user's address, `email_verified` becomes true; when it is the user's pending address, it
    /// becomes the address (verified) and the pending one is cleared.
    ///
    /// # Errors
    /// MUST return `NotFound` when the user does not exist or `email` is neither its address
    /// nor its pending one (ignoring case), writing nothing, and `EmailTaken` when the pending
    /// address belongs to another user by now.
    fn confirm_email(
        &self,
        id: UserId,
        email: &Email,
        at: DateTime<Utc>,
        effects: Effects,
    ) -> Result<User, UpdateUserError>;

    /// Deletes the user with its profile, sessions, refresh tokens and anything else of it, and
    /// writes `effects`, in one transaction; `false` (nothing written) when it did not exist. Its
    /// audit events stay.
    fn delete(&self, id: UserId, effects: Effects) -> Result<bool, RepositoryError>;

    fn record_login(&self, id: UserId, at: DateTime<Utc>) -> Result<(), RepositoryError>;

    /// Replaces the stored hash if it is still `current`, e.g. after a login found it weaker
    /// than the current parameters: an upgrade must never bring back a password that a change
    /// or reset replaced while the login verified it.
    fn set_password_hash(
        &self,
        id: UserId,
        current: &PasswordHash,
        hash: PasswordHash,
    ) -> Result<(), RepositoryError>;
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

    /// Deletes at most `batch` rows whose token expired before `now`; returns how many. Callers
    /// repeat until fewer than `batch` go, so no delete holds the table for long.
    fn delete_expired(&self, now: DateTime<Utc>, batch: u32) -> Result<u64, RepositoryError>;
}

/// A session about to start; the store gives it its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSession {
    pub user_id: UserId,
    pub created_at: DateTime<Utc>,
    /// When its first refresh token expires.
    pub expires_at: DateTime<Utc>,
    pub absolute_expires_at: DateTime<Utc>,
    /// Also the origin of the events the start writes.
    pub client: ClientInfo,
    /// Recorded with the session, in its transaction, each with the new session's id.
    pub audit: Vec<AuditEvent>,
}

/// What presenting a refresh token for rotation found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// This call spent the token: the successor is the session's refresh token now.
    Won,
    /// The session's last rotation spent this token, at `used_at`, and `successor` took its place
    /// then (and is still the session's refresh token).
    Spent {
        used_at: DateTime<Utc>,
        successor: TokenClaims,
    },
    /// The token is of this session but was spent before its last rotation: a reuse.
    Superseded,
    /// The token names no live session of its user.
    Unknown,
}

/// Sessions: one per signed-in device.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait SessionStore: Send + Sync {
    /// Starts a session with a new random id (32 lowercase hex digits) and, in the same
    /// transaction, ends as `Evicted` the user's least recently used live sessions so that at
    /// most `max_live` are live afterwards, the new one included; writes `new.audit` and a
    /// `SessionEnded` event for each session it ends, in the same transaction.
    fn start(&self, new: NewSession, max_live: u32) -> Result<Session, RepositoryError>;

    /// The session, live or ended; `None` when it never existed or was pruned.
    fn find(&self, id: &SessionId) -> Result<Option<Session>, RepositoryError>;

    /// Moves `last_used_at` to `at` (a refresh without rotation).
    fn touch(&self, id: &SessionId, at: DateTime<Utc>) -> Result<(), RepositoryError>;

    /// Spends `spent` and makes `successor` (same user and session) the session's refresh token
    /// in its place. One conditional update of the session (`… WHERE refresh_jti = <spent>`)
    /// decides, so exactly one of any number of concurrent calls for one token gets `Won`, on
    /// every database, without row locks; it also moves the session's `last_used_at` to `at` and
    /// `expires_at` to the successor's expiry. Until its first rotation a session's refresh
    /// token is the one it started with, the only one issued for it.
    ///
    /// # Errors
    /// MUST return `Spent` with the first use's time and the successor's exact claims (what
    /// re-signing needs to give the same token) when the session's last rotation spent the
    /// token, `Superseded` when the token was spent by an earlier rotation, and `Unknown` when
    /// the session has ended, is gone or is not the token's user's.
    fn rotate(
        &self,
        spent: &TokenClaims,
        successor: &TokenClaims,
        at: DateTime<Utc>,
    ) -> Result<Rotation, RepositoryError>;

    /// Ends the session if it is `user_id`'s and has not ended, writing `effects` and a
    /// `SessionEnded` event in the same transaction; `false` (nothing written) when it is
    /// unknown, another user's, or already ended (the first end's time and reason are kept).
    fn end(
        &self,
        user_id: UserId,
        id: &SessionId,
        reason: SessionEnd,
        at: DateTime<Utc>,
        effects: Effects,
    ) -> Result<bool, RepositoryError>;

    /// Ends every session of the user that has not ended, except `keep`, writing `effects` and a
    /// `SessionEnded` event for each in the same transaction; returns how many ended.
    fn end_all(
        &self,
        user_id: UserId,
        keep: Option<SessionId>,
        reason: SessionEnd,
        at: DateTime<Utc>,
        effects: Effects,
    ) -> Result<u64, RepositoryError>;

    /// The user's sessions live at `now`, most recently used first.
    fn list_live(
        &self,
        user_id: UserId,
        now: DateTime<Utc>,
    ) -> Result<Vec<Session>, RepositoryError>;

    /// Deletes at most `batch` sessions that have ended, or whose expiry (either one) passed,
    /// before `now`; returns how many. Their tokens stay refused: a session that cannot be found
    /// counts as ended.
    fn prune(&self, now: DateTime<Utc>, batch: u32) -> Result<u64, RepositoryError>;
}

/// A throttle record as stored, with the version that a conditional write compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Versioned<T> {
    pub record: T,
    pub version: i64,
}

/// What the throttle store holds for one key: the record of its address and username, and the
/// record of its username across addresses; `None` for each row that does not exist.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ThrottleRecords {
    pub address: Option<Versioned<AddressAttempts>>,
    pub account: Option<Versioned<AccountAttempts>>,
}

impl ThrottleRecords {
    /// What the back-off decides on: the records without their versions, an absent address
    /// record as an empty one.
    pub fn history(&self) -> LoginHistory {
        LoginHistory {
            address: self.address.map(|row| row.record).unwrap_or_default(),
            account: self.account.map(|row| row.record),
        }
    }
}

/// A throttle record to store, and from when its row may be deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expiring<T> {
    pub record: T,
    pub expires_at: DateTime<Utc>,
}

/// The rows that charging one login attempt writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleCharge {
    pub address: Expiring<AddressAttempts>,
    /// `None` leaves the account row as it is (the address is known to the username).
    pub account: Option<Expiring<AccountAttempts>>,
}

/// What a conditional write found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOutcome {
    Written,
    /// A row changed since it was read; nothing was written. Read again and decide again.
    Conflict,
}

/// The login back-off's records, shared through the database so that every instance enforces
/// the same limits.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait ThrottleStore: Send + Sync {
    /// The address record of (`key.address()`, `key.username()`) and the account record of
    /// `key.username()`, in one query. Expired rows that were not pruned yet are returned as
    /// they are: the back-off decides what they still mean.
    fn load(&self, key: &ThrottleKey) -> Result<ThrottleRecords, RepositoryError>;

    /// Writes `charge.address` and, when given, `charge.account`, each only if its row is still
    /// as `read` found it: the same version, or still absent. Both are written, each with the
    /// next version, or neither.
    ///
    /// # Errors
    /// MUST return `Conflict`, writing nothing, when a row it writes was changed, created or
    /// deleted since `read`, so that of any number of concurrent charges from one read exactly
    /// one is `Written`, on every database and instance, without row locks. A row it does not
    /// write is not compared.
    fn charge(
        &self,
        key: &ThrottleKey,
        read: &ThrottleRecords,
        charge: &ThrottleCharge,
    ) -> Result<WriteOutcome, RepositoryError>;

    /// Stores the address record after a successful sign-in, whatever the row holds now
    /// (creating it if need be), with the next version: a success resets concurrent failures
    /// too.
    fn record_success(
        &self,
        key: &ThrottleKey,
        address: &Expiring<AddressAttempts>,
    ) -> Result<(), RepositoryError>;

    /// Deletes at most `batch` rows, address and account records alike, whose `expires_at` is
    /// before `now`; returns how many. Callers repeat until fewer than `batch` go.
    fn prune(&self, now: DateTime<Utc>, batch: u32) -> Result<u64, RepositoryError>;
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
    /// Issues a token of the given type for the user (and its session, as the `sid` claim),
    /// valid from `now` for the configured lifetime, with a new random `jti`.
    fn issue(
        &self,
        token_type: TokenType,
        user_id: UserId,
        session_id: Option<SessionId>,
        now: DateTime<Utc>,
    ) -> Result<IssuedToken, IssueError>;

    /// Signs exactly these claims. Signing the same claims again gives the same token, byte for
    /// byte, which is how a rotation's losers get the winner's token without it being stored.
    fn encode(&self, claims: &TokenClaims) -> Result<String, IssueError>;

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

/// Which audit events to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// Events about this account; with `username` too, events that match either.
    pub user_id: Option<UserId>,
    /// Events whose username is this one (attempted, or the account's), exactly.
    pub username: Option<String>,
    /// Events at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// At most this many, the most recent ones.
    pub limit: u32,
}

/// The audit log's table, for what no change commits with (a refused login) and for reading it.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait AuditLog: Send + Sync {
    /// Writes the event on its own.
    fn record(&self, event: AuditEvent) -> Result<(), RepositoryError>;

    /// The events `query` selects, oldest first.
    fn list(&self, query: &AuditQuery) -> Result<Vec<AuditEvent>, RepositoryError>;

    /// Deletes at most `batch` events older than `before`; returns how many.
    fn prune(&self, before: DateTime<Utc>, batch: u32) -> Result<u64, RepositoryError>;
}

/// The wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// What a mail is about; it picks the template and lets the worker count recent mails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MailKind {
    /// A link to set a new password.
    PasswordReset,
    /// A notice that the password was changed or reset.
    PasswordChanged,
    /// A link that proves the address is the user's.
    VerifyEmail,
    /// A notice to the old address that the account's address changed.
    EmailChanged,
}

impl MailKind {
    pub const ALL: [Self; 4] = [
        Self::PasswordReset,
        Self::PasswordChanged,
        Self::VerifyEmail,
        Self::EmailChanged,
    ];

    /// The name stored in the outbox and the template's file stem.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::PasswordReset => "password_reset",
            Self::PasswordChanged => "password_changed",
            Self::VerifyEmail => "verify_email",
            Self::EmailChanged => "email_changed",
        }
    }

    pub fn parse(stored: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == stored)
    }
}

/// What a template is filled with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailContext {
    pub kind: MailKind,
    pub username: String,
    /// The link the mail is for (reset, verify); `None` for notices.
    pub link: Option<String>,
    /// The account's new address, for `EmailChanged`.
    pub new_email: Option<String>,
}

/// A message ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingEmail {
    pub kind: MailKind,
    pub to: Email,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// A row of the outbox: work that a change causes, committed with it and done later by the
/// background worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutboxMessage {
    /// A mail to deliver.
    Email(OutgoingEmail),
    /// Someone asked for a password reset for this address. Whether an account has it is found
    /// out by the worker, off the request path, so that the answer takes the same time either
    /// way.
    PasswordResetRequested { email: Email },
    /// Someone asked for the verification mail again, for this address; as above.
    VerificationResendRequested { email: Email },
}

/// An outbox row claimed by a worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedMessage {
    pub id: i64,
    pub message: OutboxMessage,
    /// How many tries failed before this one.
    pub attempts: u32,
    pub created_at: DateTime<Utc>,
}

/// The outbox table.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait Outbox: Send + Sync {
    /// Queues `effects.mail`, due at once, and writes `effects.audit`, in one transaction.
    fn enqueue(&self, effects: Effects, at: DateTime<Utc>) -> Result<(), RepositoryError>;

    /// Claims at most `batch` messages that are pending and due at `now` and not leased by
    /// another worker, oldest first, leasing each until `lease_until`. One conditional update
    /// per row decides, so two workers (instances) never claim the same message; a lease that
    /// runs out (a worker that crashed) makes the message claimable again.
    fn claim(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        batch: u32,
    ) -> Result<Vec<QueuedMessage>, RepositoryError>;

    /// The message was delivered: it is marked sent and its bodies are cleared (a reset link
    /// must not outlive its delivery in the database).
    fn mark_sent(&self, id: i64, at: DateTime<Utc>) -> Result<(), RepositoryError>;

    /// A try failed: `attempts` tries have failed now; it is due again at `next_attempt_at`.
    fn retry_later(
        &self,
        id: i64,
        attempts: u32,
        next_attempt_at: DateTime<Utc>,
        error: &str,
    ) -> Result<(), RepositoryError>;

    /// The message will never be delivered (too many tries, or a permanent refusal); its bodies
    /// are cleared and the reason kept.
    fn mark_failed(
        &self,
        id: i64,
        attempts: u32,
        at: DateTime<Utc>,
        error: &str,
    ) -> Result<(), RepositoryError>;

    /// Completes a request (`PasswordResetRequested`, `VerificationResendRequested`) by
    /// replacing it with the messages it leads to (none, for an unknown address), in one
    /// transaction.
    fn resolve(
        &self,
        id: i64,
        follow_ups: Vec<OutboxMessage>,
        at: DateTime<Utc>,
    ) -> Result<(), RepositoryError>;

    /// How many `Email` messages of `kind` to `to` (ignoring case) were queued at or after
    /// `since`, whatever became of them: the per-address cap on reset mails.
    fn count_recent(
        &self,
        kind: MailKind,
        to: &Email,
        since: DateTime<Utc>,
    ) -> Result<u64, RepositoryError>;

    /// Deletes at most `batch` sent or failed messages finished before `before`; returns how many.
    fn prune(&self, before: DateTime<Utc>, batch: u32) -> Result<u64, RepositoryError>;

    /// Blocks until a transaction through this store (or any store sharing its database
    /// handle) committed a new outbox row, or `timeout` passed. The worker waits on it between
    /// passes, so mail this instance queues goes out at once and mail another instance queues
    /// within `timeout`. A commit that happened since the last call returns at once.
    fn wait_for_work(&self, timeout: std::time::Duration);
}

#[derive(Debug, Error)]
pub enum MailError {
    /// Worth another try later: the server is down, timed out, or answered 4xx.
    #[error("mail delivery failed for now: {0}")]
    Transient(String),
    /// Another try will not help: the server refused the message or a recipient (5xx).
    #[error("mail delivery refused: {0}")]
    Permanent(String),
}

/// Delivers mail (SMTP, files, the console).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait Mailer: Send + Sync {
    fn send(&self, email: &OutgoingEmail) -> Result<(), MailError>;
}

#[derive(Debug, Error)]
#[error("mail template failed: {0}")]
pub struct ComposeError(pub String);

/// Fills the mail templates.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait MailComposer: Send + Sync {
    fn compose(&self, to: &Email, context: &MailContext) -> Result<OutgoingEmail, ComposeError>;
}

/// The links' secrets: password-reset tokens derived statelessly, as Django's
/// `PasswordResetTokenGenerator` does, and signed e-mail verification keys. Nothing of them is
/// stored.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait AccountTokens: Send + Sync {
    /// The `uid` of a reset link: the user's id in URL-safe base64, as Django's
    /// `urlsafe_base64_encode(force_bytes(pk))`.
    fn encode_uid(&self, id: UserId) -> String;

    /// The id a `uid` names; `None` for anything `encode_uid` cannot have made.
    fn decode_uid(&self, uid: &str) -> Option<UserId>;

    /// A token for the user's reset link made at `now`. It depends on the user's id, password
    /// hash, last login and address, so it stops working once any of them changes (a reset, a
    /// change, a sign-in).
    fn reset_token(&self, user: &User, now: DateTime<Utc>) -> String;

    /// Whether `token` was made for the user as it is now, at most `max_age` before `now` and
    /// not after it. Compares in constant time.
    fn check_reset_token(
        &self,
        user: &User,
        token: &str,
        now: DateTime<Utc>,
        max_age: chrono::Duration,
    ) -> bool;

    /// A key for the link that verifies `email` as the address of the user `username` (which
    /// never changes, and unlike the id is known before the user is stored), made at `now`.
    fn verification_key(&self, username: &str, email: &Email, now: DateTime<Utc>) -> String;

    /// The user and address a key was made for, when its signature holds and it is at most
    /// `max_age` old and not from the future; `None` otherwise.
    fn check_verification_key(
        &self,
        key: &str,
        now: DateTime<Utc>,
        max_age: chrono::Duration,
    ) -> Option<VerificationClaim>;
}

/// What a valid verification key says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerificationClaim {
    pub username: String,
    pub email: Email,
}

// ---- Cutover from the Django system ----

/// A row of Django's `auth_user`, as the Django database holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DjangoUser {
    pub id: i64,
    pub username: String,
    /// May be blank: Django's `EmailField(blank=True)`.
    pub email: String,
    /// Django's encoded hash (`pbkdf2_sha256$…`, `argon2$…`, `!…` for an unusable password…).
    pub password: String,
    pub first_name: String,
    pub last_name: String,
    pub is_active: bool,
    pub is_staff: bool,
    pub is_superuser: bool,
    pub date_joined: DateTime<Utc>,
    pub last_login: Option<DateTime<Utc>>,
}

/// A row of the original system's profile table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DjangoProfile {
    pub id: i64,
    pub user_id: i64,
    pub phone: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// simplejwt's `OutstandingToken`, with the time of its `BlacklistedToken` when it has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DjangoToken {
    pub jti: String,
    /// simplejwt keeps a token whose user was deleted, with no user.
    pub user_id: Option<i64>,
    pub created_at: Option<DateTime<Utc>>,
    pub expires_at: DateTime<Utc>,
    pub blacklisted_at: Option<DateTime<Utc>>,
}

/// Everything the cutover reads from the Django database, users in id order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DjangoData {
    pub users: Vec<DjangoUser>,
    pub profiles: Vec<DjangoProfile>,
    pub tokens: Vec<DjangoToken>,
    /// The profile table read, or `None` when the database has none.
    pub profile_table: Option<String>,
}

#[derive(Debug, Error)]
pub enum DjangoSourceError {
    /// The database could not be opened or read; the message never holds its password.
    #[error("could not read the Django database: {0}")]
    Unreadable(String),
    /// The profile table is missing, ambiguous, or not shaped like the original system's.
    #[error("{0}")]
    ProfileTable(String),
}

/// The Django database the cutover imports from.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait DjangoSource: Send + Sync {
    fn read(&self) -> Result<DjangoData, DjangoSourceError>;
}

/// A user already in this system's database, as the cutover compares it with Django's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAccount {
    pub id: UserId,
    pub username: String,
    pub email: String,
}

/// What this system's database already holds, so that the cutover writes only what is missing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoredState {
    pub accounts: Vec<StoredAccount>,
    /// Every profile's id, with its user's.
    pub profiles: Vec<(i64, UserId)>,
    /// Every recorded refresh token's `jti`, with whether it is revoked.
    pub tokens: Vec<(String, bool)>,
}

/// A profile the cutover writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedProfile {
    /// Django's, kept like the users' ids: the profile body shows it.
    pub id: i64,
    pub user_id: UserId,
    pub phone: Phone,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A recorded refresh token the cutover writes; `revoked_at` is set for a blacklisted one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedToken {
    pub jti: String,
    pub user_id: UserId,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// This system's database, as the cutover writes to it. Each write is one transaction, and
/// leaves alone what is already there, so an interrupted import can simply be run again.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait ImportTarget: Send + Sync {
    fn stored(&self) -> Result<StoredState, RepositoryError>;
    /// Users with their own ids (kept, so that `user_id` claims Django issued still name them),
    /// and profiles.
    fn write_users(
        &self,
        users: &[User],
        profiles: &[ImportedProfile],
    ) -> Result<(), RepositoryError>;
    /// Recorded tokens, and revocations of tokens recorded already (`jti`, when).
    fn write_tokens(
        &self,
        tokens: &[ImportedToken],
        revocations: &[(String, DateTime<Utc>)],
    ) -> Result<(), RepositoryError>;
    /// After the last write: makes user and profile ids assigned later start past the imported
    /// ones.
    fn finish(&self) -> Result<(), RepositoryError>;
}
