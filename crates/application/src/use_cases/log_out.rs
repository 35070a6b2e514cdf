use std::sync::Arc;

use domain::{TokenType, UserId};
use thiserror::Error;

use crate::ports::{Clock, RefreshTokenStore, RepositoryError, TokenCodec, TokenProblem};
use crate::validation::{FieldErrors, Submitted};

#[derive(Debug, Clone)]
pub struct LogOutInput {
    /// The authenticated user asking to log out.
    pub user_id: UserId,
    pub refresh: Submitted<String>,
}

#[derive(Debug, Error)]
pub enum LogOutError {
    /// Problems with the given refresh token are field errors under `refresh`.
    #[error("the logout form is invalid")]
    Invalid(FieldErrors),
    #[error(transparent)]
    Repository(#[from] RepositoryError),
}

/// Blacklists one refresh token of the authenticated user. Its other tokens keep working.
#[derive(Clone)]
pub struct LogOut {
    pub refresh_tokens: Arc<dyn RefreshTokenStore>,
    pub tokens: Arc<dyn TokenCodec>,
    pub clock: Arc<dyn Clock>,
}

impl LogOut {
    /// Another user's token is reported as invalid and left untouched: nobody can log someone
    /// else out by presenting a token they obtained.
    pub fn execute(&self, input: LogOutInput) -> Result<(), LogOutError> {
        let mut errors = FieldErrors::new();
        let refused = |problem: TokenProblem| {
            LogOutError::Invalid(FieldErrors::single_at(&["refresh"], problem.to_string()))
        };
        let Some(raw) = input.refresh.required_non_blank("refresh", &mut errors) else {
            return Err(LogOutError::Invalid(errors));
        };

        let now = self.clock.now();
        let claims = self
            .tokens
            .decode(&raw, TokenType::Refresh, now)
            .map_err(refused)?;
        if claims.user_id != input.user_id {
            return Err(refused(TokenProblem::Invalid));
        }
        if self.refresh_tokens.is_revoked(&claims.id)? {
            return Err(refused(TokenProblem::Blacklisted));
        }
        self.refresh_tokens.revoke(&claims, now)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::use_cases::test_support::*;

    fn use_case(ports: Ports) -> LogOut {
        LogOut {
            refresh_tokens: Arc::new(ports.refresh_tokens),
            tokens: Arc::new(ports.tokens),
            clock: fixed_clock(),
        }
    }

    fn input(token: &str) -> LogOutInput {
        LogOutInput {
            user_id: USER_ID,
            refresh: value(token),
        }
    }

    fn refresh_of(ports: &mut Ports, owner: UserId) {
        ports
            .tokens
            .expect_decode()
            .withf(|_, expected, _| *expected == TokenType::Refresh)
            .returning(move |_, _, _| Ok(claims(TokenType::Refresh, &"r".repeat(32), owner)));
    }

    fn refresh_messages(result: Result<(), LogOutError>) -> Vec<(String, String)> {
        match result {
            Err(LogOutError::Invalid(errors)) => pairs(&errors),
            other => panic!("expected field errors, got {other:?}"),
        }
    }

    #[test]
    fn logging_out_revokes_the_users_own_refresh_token() {
        let mut ports = Ports::new();
        refresh_of(&mut ports, USER_ID);
        ports
            .refresh_tokens
            .expect_is_revoked()
            .returning(|_| Ok(false));
        ports
            .refresh_tokens
            .expect_revoke()
            .withf(|claims, at| claims.user_id == USER_ID && *at == now())
            .times(1)
            .returning(|_, _| Ok(()));
        assert!(use_case(ports).execute(input("refresh-token")).is_ok());
    }

    #[test]
    fn another_users_token_is_invalid_and_not_revoked() {
        let mut ports = Ports::new();
        refresh_of(&mut ports, UserId::new(99));
        ports.refresh_tokens.expect_revoke().never();
        assert_eq!(
            refresh_messages(use_case(ports).execute(input("refresh-token"))),
            vec![("refresh".into(), "Token is invalid".into())]
        );
    }

    #[test]
    fn an_already_blacklisted_token_is_a_field_error() {
        let mut ports = Ports::new();
        refresh_of(&mut ports, USER_ID);
        ports
            .refresh_tokens
            .expect_is_revoked()
            .returning(|_| Ok(true));
        ports.refresh_tokens.expect_revoke().never();
        assert_eq!(
            refresh_messages(use_case(ports).execute(input("refresh-token"))),
            vec![("refresh".into(), "Token is blacklisted".into())]
        );
    }

    #[test]
    fn codec_problems_are_field_errors_with_simplejwt_messages() {
        for (problem, message) in [
            (TokenProblem::Invalid, "Token is invalid"),
            (TokenProblem::Expired, "Token is expired"),
            (TokenProblem::WrongType, "Token has wrong type"),
        ] {
            let mut ports = Ports::new();
            ports
                .tokens
                .expect_decode()
                .returning(move |_, _, _| Err(problem));
            assert_eq!(
                refresh_messages(use_case(ports).execute(input("x"))),
                vec![("refresh".into(), message.into())]
            );
        }
    }

    #[test]
    fn a_missing_token_is_required() {
        let ports = Ports::new();
        let result = use_case(ports).execute(LogOutInput {
            user_id: USER_ID,
            refresh: Submitted::Absent,
        });
        assert_eq!(
            refresh_messages(result),
            vec![("refresh".into(), "This field is required.".into())]
        );
    }
}
