use std::sync::Arc;

use chrono::{DateTime, Utc};
use domain::{Profile, Session, TokenClaims, TokenType, User};
use thiserror::Error;

use crate::ports::{Clock, RepositoryError, TokenCodec, TokenProblem, UserRepository};

#[derive(Debug, Error)]
pub enum AuthenticateError {
    #[error("access token refused: {0}")]
    Token(TokenProblem),
    #[error("the token's user does not exist")]
    UserNotFound,
    #[error("the token's user is inactive")]
    UserInactive,
    #[error(transparent)]
    Repository(#[from] RepositoryError),
}

/// Resolves a bearer access token to its active user, in two steps: the token alone (no I/O, so
/// a caller can check it before it queues for the database), then its user.
#[derive(Clone)]
pub struct Authenticate {
    pub users: Arc<dyn UserRepository>,
    pub tokens: Arc<dyn TokenCodec>,
    pub clock: Arc<dyn Clock>,
}

impl Authenticate {
    /// Checks the token itself: signature, algorithm, type and times. Does no I/O.
    pub fn decode(&self, access_token: &str) -> Result<TokenClaims, AuthenticateError> {
        self.tokens
            .decode(access_token, TokenType::Access, self.clock.now())
            .map_err(AuthenticateError::Token)
    }

    /// The active user that checked claims name, refused when the token's session has ended
    /// (one query loads both: this runs on every authenticated request).
    pub fn user(&self, claims: &TokenClaims) -> Result<User, AuthenticateError> {
        owner(self.users.as_ref(), claims, self.clock.now()).map(|(user, _)| user)
    }

    /// Both steps.
    pub fn execute(&self, access_token: &str) -> Result<User, AuthenticateError> {
        self.user(&self.decode(access_token)?)
    }
}

/// The active user and, for a token of a session, its live session that checked claims stand
/// for, in one query; every check of a token's owner (authentication, refresh, verify) goes
/// through here. A session that ended, expired, was pruned or is another user's is `Blacklisted`.
pub(crate) fn owner(
    users: &dyn UserRepository,
    claims: &TokenClaims,
    now: DateTime<Utc>,
) -> Result<(User, Option<Session>), AuthenticateError> {
    let Some(session_id) = &claims.session_id else {
        // A token from before sessions: valid until it expires.
        return Ok((active(users.find_by_id(claims.user_id)?)?, None));
    };
    let found = users.find_with_session(claims.user_id, session_id)?;
    let (user, session) = found.ok_or(AuthenticateError::UserNotFound)?;
    let user = active(Some(user))?;
    Ok((user, Some(live(session, now)?)))
}

/// As [`owner`], with the user's profile loaded by the same query.
pub(crate) fn owner_with_profile(
    users: &dyn UserRepository,
    claims: &TokenClaims,
    now: DateTime<Utc>,
) -> Result<(User, Option<Profile>), AuthenticateError> {
    let found = users.find_with_profile(claims.user_id, claims.session_id.clone())?;
    let (user, session, profile) = found.ok_or(AuthenticateError::UserNotFound)?;
    let user = active(Some(user))?;
    if claims.session_id.is_some() {
        live(session, now)?;
    }
    Ok((user, profile))
}

/// The session a token names, if it is still live.
fn live(session: Option<Session>, now: DateTime<Utc>) -> Result<Session, AuthenticateError> {
    match session {
        Some(session) if session.is_live(now) => Ok(session),
        _ => Err(AuthenticateError::Token(TokenProblem::Blacklisted)),
    }
}

/// The user, if it exists and is active.
fn active(user: Option<User>) -> Result<User, AuthenticateError> {
    let user = user.ok_or(AuthenticateError::UserNotFound)?;
    if !user.is_active {
        return Err(AuthenticateError::UserInactive);
    }
    Ok(user)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::use_cases::test_support::*;

    fn use_case(ports: Ports) -> Authenticate {
        Authenticate {
            users: Arc::new(ports.users),
            tokens: Arc::new(ports.tokens),
            clock: fixed_clock(),
        }
    }

    #[test]
    fn a_valid_access_token_gives_its_user() {
        let mut ports = Ports::new();
        ports
            .tokens
            .expect_decode()
            .withf(|token, expected, at| {
                token == "tok" && *expected == TokenType::Access && *at == now()
            })
            .returning(|_, _, _| Ok(claims(TokenType::Access, &"a".repeat(32), USER_ID)));
        ports
            .users
            .expect_find_by_id()
            .returning(|_| Ok(Some(stored_user())));
        assert_eq!(
            use_case(ports).execute("tok").expect("authenticates").id,
            USER_ID
        );
    }

    #[test]
    fn a_refused_token_reports_the_codec_problem() {
        let mut ports = Ports::new();
        ports
            .tokens
            .expect_decode()
            .returning(|_, _, _| Err(TokenProblem::WrongType));
        ports.users.expect_find_by_id().never();
        assert!(matches!(
            use_case(ports).execute("tok"),
            Err(AuthenticateError::Token(TokenProblem::WrongType))
        ));
    }

    #[test]
    fn a_deleted_user_is_not_found() {
        let mut ports = Ports::new();
        ports
            .tokens
            .expect_decode()
            .returning(|_, _, _| Ok(claims(TokenType::Access, &"a".repeat(32), USER_ID)));
        ports.users.expect_find_by_id().returning(|_| Ok(None));
        assert!(matches!(
            use_case(ports).execute("tok"),
            Err(AuthenticateError::UserNotFound)
        ));
    }

    #[test]
    fn an_inactive_user_is_refused() {
        let mut ports = Ports::new();
        ports
            .tokens
            .expect_decode()
            .returning(|_, _, _| Ok(claims(TokenType::Access, &"a".repeat(32), USER_ID)));
        ports.users.expect_find_by_id().returning(|_| {
            Ok(Some(User {
                is_active: false,
                ..stored_user()
            }))
        });
        assert!(matches!(
            use_case(ports).execute("tok"),
            Err(AuthenticateError::UserInactive)
        ));
    }

    fn with_session(ports: &mut Ports) {
        ports.tokens.expect_decode().returning(|_, _, _| {
            Ok(TokenClaims {
                session_id: Some(session_id()),
                ..claims(TokenType::Access, &"a".repeat(32), USER_ID)
            })
        });
        ports.users.expect_find_by_id().never();
    }

    #[test]
    fn a_token_of_a_live_session_gives_its_user_in_one_lookup() {
        let mut ports = Ports::new();
        with_session(&mut ports);
        ports
            .users
            .expect_find_with_session()
            .withf(|id, sid| *id == USER_ID && *sid == session_id())
            .times(1)
            .returning(|_, _| Ok(Some((stored_user(), Some(session())))));
        assert_eq!(use_case(ports).execute("tok").expect("live").id, USER_ID);
    }

    #[test]
    fn a_token_of_an_ended_expired_or_unknown_session_is_blacklisted() {
        let ended = Session {
            ended: Some((now(), domain::SessionEnd::LoggedOut)),
            ..session()
        };
        let expired = Session {
            absolute_expires_at: now(),
            ..session()
        };
        for found in [Some(ended), Some(expired), None] {
            let mut ports = Ports::new();
            with_session(&mut ports);
            ports
                .users
                .expect_find_with_session()
                .returning(move |_, _| Ok(Some((stored_user(), found.clone()))));
            assert!(matches!(
                use_case(ports).execute("tok"),
                Err(AuthenticateError::Token(TokenProblem::Blacklisted))
            ));
        }
    }

    #[test]
    fn an_inactive_user_is_refused_as_inactive_before_its_session_is_looked_at() {
        let mut ports = Ports::new();
        with_session(&mut ports);
        ports.users.expect_find_with_session().returning(|_, _| {
            let inactive = User {
                is_active: false,
                ..stored_user()
            };
            Ok(Some((inactive, None)))
        });
        assert!(matches!(
            use_case(ports).execute("tok"),
            Err(AuthenticateError::UserInactive)
        ));
    }
}
