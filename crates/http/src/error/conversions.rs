//! Each use case's error, mapped once onto the answer it gets.

use application::FieldErrors;
use application::ports::RepositoryError;
use application::use_cases::{
    AuthenticateError, DeleteAccountError, EndSessionError, GetProfileError, LogInError,
    LogOutError, PasswordFlowError, RefreshTokenError, RegisterUserError, UpdateProfileError,
    VerifyEmailError, VerifyTokenError,
};

use super::ApiError;

impl From<RepositoryError> for ApiError {
    fn from(error: RepositoryError) -> Self {
        match error {
            RepositoryError::Unavailable(_) => Self::Unavailable(Box::new(error)),
            RepositoryError::Unexpected(_) => Self::Internal(Box::new(error)),
        }
    }
}

impl From<AuthenticateError> for ApiError {
    fn from(error: AuthenticateError) -> Self {
        match error {
            AuthenticateError::Token(problem) => Self::TokenNotValid {
                problem,
                for_access: true,
            },
            AuthenticateError::UserNotFound => Self::UserNotFound,
            AuthenticateError::UserInactive => Self::UserInactive,
            AuthenticateError::Repository(error) => error.into(),
        }
    }
}

impl From<RegisterUserError> for ApiError {
    fn from(error: RegisterUserError) -> Self {
        match error {
            RegisterUserError::Invalid(errors) => Self::Validation(errors),
            RegisterUserError::Repository(error) => error.into(),
            RegisterUserError::Hash(error) => Self::internal(error),
            RegisterUserError::Issue(error) => Self::internal(error),
            RegisterUserError::Compose(error) => Self::internal(error),
        }
    }
}

impl From<LogInError> for ApiError {
    fn from(error: LogInError) -> Self {
        match error {
            LogInError::Invalid(errors) => Self::Validation(errors),
            LogInError::Throttled { retry_after_secs } => Self::Throttled {
                wait_secs: retry_after_secs,
            },
            LogInError::InvalidCredentials => Self::InvalidCredentials,
            LogInError::EmailNotVerified => {
                Self::Validation(FieldErrors::single("E-mail is not verified."))
            }
            LogInError::Repository(error) => error.into(),
            LogInError::Issue(error) => Self::internal(error),
        }
    }
}

impl From<RefreshTokenError> for ApiError {
    fn from(error: RefreshTokenError) -> Self {
        match error {
            RefreshTokenError::Invalid(errors) => Self::Validation(errors),
            RefreshTokenError::Token(problem) => Self::TokenNotValid {
                problem,
                for_access: false,
            },
            RefreshTokenError::Repository(error) => error.into(),
            RefreshTokenError::Issue(error) => Self::internal(error),
        }
    }
}

impl From<LogOutError> for ApiError {
    fn from(error: LogOutError) -> Self {
        match error {
            LogOutError::Invalid(errors) => Self::Validation(errors),
            LogOutError::Repository(error) => error.into(),
        }
    }
}

impl From<GetProfileError> for ApiError {
    fn from(error: GetProfileError) -> Self {
        match error {
            GetProfileError::Authenticate(error) => error.into(),
            GetProfileError::NotFound => Self::NotFound,
        }
    }
}

impl From<UpdateProfileError> for ApiError {
    fn from(error: UpdateProfileError) -> Self {
        match error {
            UpdateProfileError::Invalid(errors) => Self::Validation(errors),
            UpdateProfileError::NotFound => Self::NotFound,
            UpdateProfileError::Repository(error) => error.into(),
            UpdateProfileError::Compose(error) => Self::internal(error),
        }
    }
}

impl From<PasswordFlowError> for ApiError {
    fn from(error: PasswordFlowError) -> Self {
        match error {
            PasswordFlowError::Invalid(errors) => Self::Validation(errors),
            PasswordFlowError::UserNotFound => Self::UserNotFound,
            PasswordFlowError::Throttled { retry_after_secs } => Self::Throttled {
                wait_secs: retry_after_secs,
            },
            PasswordFlowError::Repository(error) => error.into(),
            PasswordFlowError::Hash(error) => Self::internal(error),
            PasswordFlowError::Compose(error) => Self::internal(error),
        }
    }
}

impl From<VerifyEmailError> for ApiError {
    fn from(error: VerifyEmailError) -> Self {
        match error {
            VerifyEmailError::Invalid(errors) => Self::Validation(errors),
            VerifyEmailError::NotFound => Self::NotFound,
            VerifyEmailError::Repository(error) => error.into(),
            VerifyEmailError::Compose(error) => Self::internal(error),
        }
    }
}

impl From<DeleteAccountError> for ApiError {
    fn from(error: DeleteAccountError) -> Self {
        match error {
            DeleteAccountError::Invalid(errors) => Self::Validation(errors),
            DeleteAccountError::UserNotFound => Self::UserNotFound,
            DeleteAccountError::Throttled { retry_after_secs } => Self::Throttled {
                wait_secs: retry_after_secs,
            },
            DeleteAccountError::Repository(error) => error.into(),
        }
    }
}

impl From<EndSessionError> for ApiError {
    fn from(error: EndSessionError) -> Self {
        match error {
            EndSessionError::NotFound => Self::NotFound,
            EndSessionError::Repository(error) => error.into(),
        }
    }
}

impl From<VerifyTokenError> for ApiError {
    fn from(error: VerifyTokenError) -> Self {
        match error {
            VerifyTokenError::Invalid(errors) => Self::Validation(errors),
            VerifyTokenError::Token(problem) => Self::TokenNotValid {
                problem,
                for_access: false,
            },
            VerifyTokenError::Repository(error) => error.into(),
        }
    }
}
