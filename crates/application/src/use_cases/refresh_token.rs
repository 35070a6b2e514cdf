use std::sync::Arc;

use domain::TokenType;
use thiserror::Error;

use crate::ports::{
    Clock, IssueError, RefreshTokenStore, RepositoryError, TokenCodec, TokenProblem, UserRepository,
};
use crate::validation::{FieldErrors, Submitted};

#[derive(Debug, Clone)]
pub struct RefreshTokenInput {
    pub refresh: Submitted<String>,
}

#[derive(Debug, Error)]
pub enum RefreshTokenError {
    #[error("the refresh form is invalid")]
    Invalid(FieldErrors),
    #[error("refresh token refused: {0}")]
    Token(TokenProblem),
    #[error(transparent)]
    Repository(#[from] RepositoryError),
    #[error(transparent)]
    Issue(#[from] IssueError),
}

/// Exchanges a refresh token for a new access token. The refresh token is not rotated.
#[derive(Clone)]
pub struct RefreshToken {
    pub users: Arc<dyn UserRepository>,
    pub refresh_tokens: Arc<dyn RefreshTokenStore>,
    pub tokens: Arc<dyn TokenCodec>,
    pub clock: Arc<dyn Clock>,
}

impl RefreshToken {
    /// A token whose user was deleted or deactivated is refused as invalid: a refresh must not
    /// outlive the account.
    pub fn execute(&self, input: RefreshTokenInput) -> Result<String, RefreshTokenError> {
        let mut errors = FieldErrors::new();
        let Some(raw) = input.refresh.required_non_blank("refresh", &mut errors) else {
            return Err(RefreshTokenError::Invalid(errors));
        };

        let now = self.clock.now();
        let claims = self
            .tokens
            .decode(&raw, TokenType::Refresh, now)
            .map_err(RefreshTokenError::Token)?;
        if self.refresh_tokens.is_revoked(&claims.id)? {
            return Err(RefreshTokenError::Token(TokenProblem::Blacklisted));
        }
        match self.users.find_by_id(claims.user_id)? {
            Some(user) if user.is_active => {}
            _ => return Err(RefreshTokenError::Token(TokenProblem::Invalid)),
        }
        Ok(self
            .tokens
            .issue(TokenType::Access, claims.user_id, now)?
            .token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::IssuedToken;
    use crate::use_cases::test_support::*;

    fn use_case(ports: Ports) -> RefreshToken {
        RefreshToken {
            users: Arc::new(ports.users),
            refresh_tokens: Arc::new(ports.refresh_tokens),
            tokens: Arc::new(ports.tokens),
            clock: fixed_clock(),
        }
    }

    fn input(token: &str) -> RefreshTokenInput {
        RefreshTokenInput {
            refresh: value(token),
        }
    }

    fn decodes_as_refresh(ports: &mut Ports) {
        ports
            .tokens
            .expect_decode()
            .withf(|token, expected, _| token == "refresh-token" && *expected == TokenType::Refresh)
            .returning(|_, _, _| Ok(claims(TokenType::Refresh, &"r".repeat(32), USER_ID)));
    }

    #[test]
    fn a_valid_refresh_token_gives_a_new_access_token() {
        let mut ports = Ports::new();
        decodes_as_refresh(&mut ports);
        ports
            .refresh_tokens
            .expect_is_revoked()
            .returning(|_| Ok(false));
        ports
            .users
            .expect_find_by_id()
            .returning(|_| Ok(Some(stored_user())));
        ports
            .tokens
            .expect_issue()
            .withf(|kind, id, _| *kind == TokenType::Access && *id == USER_ID)
            .times(1)
            .returning(|kind, id, _| {
                Ok(IssuedToken {
                    token: "new-access".into(),
                    claims: claims(kind, &"n".repeat(32), id),
                })
            });
        assert_eq!(
            use_case(ports)
                .execute(input("refresh-token"))
                .expect("refreshes"),
            "new-access"
        );
    }

    #[test]
    fn a_blacklisted_token_is_refused() {
        let mut ports = Ports::new();
        decodes_as_refresh(&mut ports);
        ports
            .refresh_tokens
            .expect_is_revoked()
            .returning(|_| Ok(true));
        ports.tokens.expect_issue().never();
        let result = use_case(ports).execute(input("refresh-token"));
        assert!(matches!(
            result,
            Err(RefreshTokenError::Token(TokenProblem::Blacklisted))
        ));
    }

    #[test]
    fn an_expired_or_mistyped_token_reports_the_codec_problem() {
        for problem in [
            TokenProblem::Expired,
            TokenProblem::WrongType,
            TokenProblem::Invalid,
        ] {
            let mut ports = Ports::new();
            ports
                .tokens
                .expect_decode()
                .returning(move |_, _, _| Err(problem));
            ports.refresh_tokens.expect_is_revoked().never();
            let result = use_case(ports).execute(input("refresh-token"));
            assert!(
                matches!(result, Err(RefreshTokenError::Token(p)) if p == problem),
                "{problem:?}"
            );
        }
    }

    #[test]
    fn a_token_of_a_deleted_user_is_invalid() {
        let mut ports = Ports::new();
        decodes_as_refresh(&mut ports);
        ports
            .refresh_tokens
            .expect_is_revoked()
            .returning(|_| Ok(false));
        ports.users.expect_find_by_id().returning(|_| Ok(None));
        ports.tokens.expect_issue().never();
        let result = use_case(ports).execute(input("refresh-token"));
        assert!(matches!(
            result,
            Err(RefreshTokenError::Token(TokenProblem::Invalid))
        ));
    }

    #[test]
    fn a_token_of_a_deactivated_user_is_invalid() {
        let mut ports = Ports::new();
        decodes_as_refresh(&mut ports);
        ports
            .refresh_tokens
            .expect_is_revoked()
            .returning(|_| Ok(false));
        ports.users.expect_find_by_id().returning(|_| {
            Ok(Some(domain::User {
                is_active: false,
                ..stored_user()
            }))
        });
        let result = use_case(ports).execute(input("refresh-token"));
        assert!(matches!(
            result,
            Err(RefreshTokenError::Token(TokenProblem::Invalid))
        ));
    }

    #[test]
    fn a_missing_token_is_a_field_error() {
        let ports = Ports::new();
        let result = use_case(ports).execute(RefreshTokenInput {
            refresh: Submitted::Absent,
        });
        let Err(RefreshTokenError::Invalid(errors)) = result else {
            panic!("expected field errors")
        };
        assert_eq!(
            pairs(&errors),
            vec![("refresh".into(), "This field is required.".into())]
        );
    }
}
