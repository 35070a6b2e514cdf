//! A user's view of their sessions: list them, end one, check a token; and an operator's
//! deactivation, which ends them all.

use std::sync::Arc;

use domain::{
    AuditEvent, AuditKind, ClientInfo, Session, SessionEnd, SessionId, TokenClaims, TokenType,
    UserId,
};
use thiserror::Error;

use super::authenticate::{AuthenticateError, owner};
use crate::ports::{
    Clock, Effects, RefreshTokenStore, RepositoryError, SessionStore, TokenCodec, TokenProblem,
    UserRepository,
};
use crate::validation::{FieldErrors, Submitted};

/// The user's live sessions, most recently used first, each with whether it is `current`.
#[derive(Clone)]
pub struct ListSessions {
    pub sessions: Arc<dyn SessionStore>,
    pub clock: Arc<dyn Clock>,
}

impl ListSessions {
    pub fn execute(
        &self,
        user_id: UserId,
        current: Option<&SessionId>,
    ) -> Result<Vec<(Session, bool)>, RepositoryError> {
        Ok(self
            .sessions
            .list_live(user_id, self.clock.now())?
            .into_iter()
            .map(|session| {
                let is_current = current == Some(&session.id);
                (session, is_current)
            })
            .collect())
    }
}

#[derive(Debug, Error)]
pub enum EndSessionError {
    /// Unknown, another user's, or already ended: the caller cannot tell which.
    #[error("no such session")]
    NotFound,
    #[error(transparent)]
    Repository(#[from] RepositoryError),
}

/// Ends one of the user's sessions, from any of them.
#[derive(Clone)]
pub struct EndSession {
    pub sessions: Arc<dyn SessionStore>,
    pub clock: Arc<dyn Clock>,
}

impl EndSession {
    /// The store records the session's end, from `client`.
    pub fn execute(
        &self,
        user_id: UserId,
        raw_id: &str,
        client: &ClientInfo,
    ) -> Result<(), EndSessionError> {
        let id = SessionId::parse(raw_id).ok_or(EndSessionError::NotFound)?;
        if self.sessions.end(
            user_id,
            &id,
            SessionEnd::Revoked,
            self.clock.now(),
            Effects::new(client),
        )? {
            Ok(())
        } else {
            Err(EndSessionError::NotFound)
        }
    }
}

#[derive(Debug, Error)]
pub enum VerifyTokenError {
    #[error("the verify form is invalid")]
    Invalid(FieldErrors),
    #[error("token refused: {0}")]
    Token(TokenProblem),
    #[error(transparent)]
    Repository(#[from] RepositoryError),
}

/// simplejwt's `TokenVerifyView`, stricter: the token must also belong to a live session (when it
/// has one), an active user and, for a refresh token, not be blacklisted.
#[derive(Clone)]
pub struct VerifyToken {
    pub users: Arc<dyn UserRepository>,
    pub refresh_tokens: Arc<dyn RefreshTokenStore>,
    pub tokens: Arc<dyn TokenCodec>,
    pub clock: Arc<dyn Clock>,
}

impl VerifyToken {
    pub fn execute(&self, token: Submitted<String>) -> Result<(), VerifyTokenError> {
        let refused = VerifyTokenError::Token;
        let mut errors = FieldErrors::new();
        let Some(raw) = token.required_non_blank("token", &mut errors) else {
            return Err(VerifyTokenError::Invalid(errors));
        };
        let now = self.clock.now();
        let claims = match self.tokens.decode(&raw, TokenType::Access, now) {
            Err(TokenProblem::WrongType) => {
                let claims = self
                    .tokens
                    .decode(&raw, TokenType::Refresh, now)
                    .map_err(refused)?;
                if self.refresh_tokens.is_revoked(&claims.id)? {
                    return Err(refused(TokenProblem::Blacklisted));
                }
                claims
            }
            decoded => decoded.map_err(refused)?,
        };
        self.check_owner(&claims)
    }

    fn check_owner(&self, claims: &TokenClaims) -> Result<(), VerifyTokenError> {
        match owner(self.users.as_ref(), claims, self.clock.now()) {
            Ok(_) => Ok(()),
            Err(AuthenticateError::Token(problem)) => Err(VerifyTokenError::Token(problem)),
            Err(AuthenticateError::UserNotFound | AuthenticateError::UserInactive) => {
                Err(VerifyTokenError::Token(TokenProblem::Invalid))
            }
            Err(AuthenticateError::Repository(error)) => Err(error.into()),
        }
    }
}

/// Deactivates or reactivates a user. Deactivation ends every session of the user in the same
/// transaction, so reactivating never brings an old refresh token back.
#[derive(Clone)]
pub struct SetUserActive {
    pub users: Arc<dyn UserRepository>,
    pub clock: Arc<dyn Clock>,
}

impl SetUserActive {
    /// `false` when there is no such user.
    pub fn execute(&self, username: &str, active: bool) -> Result<bool, RepositoryError> {
        let Some(user) = self
            .users
            .find_by_username(&domain::Username::normalize(username))?
        else {
            return Ok(false);
        };
        let now = self.clock.now();
        let (kind, command) = if active {
            (AuditKind::UserReactivated, "auth-server reactivate")
        } else {
            (AuditKind::UserDeactivated, "auth-server deactivate")
        };
        let origin = ClientInfo::new("", command);
        let effects = Effects::new(&origin)
            .audit(AuditEvent::new(kind, now, &origin).user(user.id, user.username.as_str()));
        if active {
            self.users.reactivate(user.id, effects)
        } else {
            self.users.deactivate(user.id, now, effects)
        }
    }
}

#[cfg(test)]
mod tests;
