//! The vocabulary of auth-server: users, profiles, passwords, sessions, token claims and the
//! login back-off.
//!
//! Rule: this crate does no I/O and knows no framework (no serde, no diesel, no actix). Every value
//! that arrives from outside is parsed into a type here whose constructor returns `Result`, so a
//! `Username` or an `Email` in hand is always valid. Error `Display` texts are Django's wording,
//! because the API contract promises that wording to clients.

mod audit;
mod email;
mod format_chars;
mod password;
mod password_policy;
mod python_text;
mod session;
mod throttle;
mod token;
mod user;

pub use audit::{AuditEvent, AuditKind, LoginFailure};
pub use email::{EMAIL_MAX_CHARS, Email, EmailError};
pub use password::{Password, PasswordError, PasswordHash};
pub use password_policy::{PasswordProblem, UserAttributes, check_password_strength};
pub use python_text::python_strip;
pub use session::{ClientInfo, Session, SessionEnd, SessionId};
pub use throttle::{
    AccountAttempts, AddressAttempts, Charge, LoginDecision, LoginHistory, ThrottleKey,
    ThrottlePolicy, whole_seconds_until,
};
pub use token::{TokenClaims, TokenId, TokenType};
pub use user::{
    NAME_MAX_CHARS, NameError, NewUser, PersonName, Phone, PhoneError, Profile, USERNAME_MAX_CHARS,
    User, UserId, Username, UsernameError,
};
