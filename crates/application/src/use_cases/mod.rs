//! One struct per use case, each with a single `execute` method and its own error enum. `LogIn`
//! also offers its two steps, `admit` and `finish`, so that a caller can bound the second.

mod account;
mod authenticate;
mod create_superuser;
mod delete_account;
mod deliver_outbox;
mod email_verification;
mod flush_expired_tokens;
mod get_profile;
mod import_django;
mod log_in;
mod log_out;
mod login_throttle;
mod mail;
mod password;
mod read_audit_log;
mod refresh_token;
mod register_user;
mod sessions;
mod token_pair;
mod update_profile;

pub use authenticate::{Authenticate, AuthenticateError};
pub use create_superuser::{CreateSuperuser, CreateSuperuserError, CreateSuperuserInput};
pub use delete_account::{DeleteAccount, DeleteAccountError};
pub use deliver_outbox::{DeliverOutbox, Delivery, OutboxPolicy, Outcome};
pub use email_verification::{ResendVerification, VerifyEmail, VerifyEmailError};
pub use flush_expired_tokens::{FlushExpiredTokens, Flushed, PRUNE_BATCH};
pub use get_profile::{GetProfile, GetProfileError};
pub use import_django::{
    Counts, ImportDjango, ImportError, ImportOptions, ImportProgress, ImportReport, LeftOut,
    NoProgress, OnConflict, Reason, Record, Stage, TokenCounts,
};
pub use log_in::{AdmittedLogIn, LogIn, LogInError, LogInInput};
pub use log_out::{LogOut, LogOutError, LogOutInput};
pub use login_throttle::LoginThrottle;
pub use mail::{AccountPolicy, EmailVerification};
pub use password::{
    ChangePassword, ChangePasswordInput, ConfirmPasswordReset, ConfirmPasswordResetInput,
    PasswordFlowError, RequestPasswordReset,
};
pub use read_audit_log::{AuditFilter, ReadAuditLog};
pub use refresh_token::{RefreshToken, RefreshTokenError, RefreshTokenInput, Refreshed};
pub use register_user::{
    ProfileInput, RegisterUser, RegisterUserError, RegisterUserInput, Registered,
};
pub use sessions::{
    EndSession, EndSessionError, ListSessions, SetUserActive, VerifyToken, VerifyTokenError,
};
pub use token_pair::{SessionPolicy, TokenPair};
pub use update_profile::{UpdateProfile, UpdateProfileError, UpdateProfileInput, UserChangesInput};

#[cfg(test)]
pub(crate) mod test_support;
