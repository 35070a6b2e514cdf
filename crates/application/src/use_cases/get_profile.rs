use std::sync::Arc;

use domain::{Profile, TokenClaims, User};
use thiserror::Error;

use super::authenticate::{AuthenticateError, owner_with_profile};
use crate::ports::{Clock, UserRepository};

#[derive(Debug, Error)]
pub enum GetProfileError {
    /// The token's user or session no longer stands.
    #[error(transparent)]
    Authenticate(#[from] AuthenticateError),
    #[error("the user has no profile")]
    NotFound,
}

/// Reads the profile of an authenticated caller.
#[derive(Clone)]
pub struct GetProfile {
    pub users: Arc<dyn UserRepository>,
    pub clock: Arc<dyn Clock>,
}

impl GetProfile {
    /// Takes the checked claims of the caller's access token: the user, its session and its
    /// profile come from one query, and the owner is checked as `Authenticate` checks it.
    pub fn execute(&self, claims: &TokenClaims) -> Result<(User, Profile), GetProfileError> {
        let (user, profile) = owner_with_profile(self.users.as_ref(), claims, self.clock.now())?;
        Ok((user, profile.ok_or(GetProfileError::NotFound)?))
    }
}

#[cfg(test)]
mod tests {
    use domain::{Session, TokenType};

    use super::*;
    use crate::ports::TokenProblem;
    use crate::use_cases::test_support::*;

    fn use_case(ports: Ports) -> GetProfile {
        GetProfile {
            users: Arc::new(ports.users),
            clock: fixed_clock(),
        }
    }

    fn of_session() -> TokenClaims {
        TokenClaims {
            session_id: Some(session_id()),
            ..claims(TokenType::Access, &"a".repeat(32), USER_ID)
        }
    }

    fn finds(ports: &mut Ports, session: Option<Session>, profile: bool) {
        ports.users.expect_find_by_id().never();
        ports.users.expect_find_with_session().never();
        ports.users.expect_find_profile().never();
        ports
            .users
            .expect_find_with_profile()
            .withf(|id, sid| *id == USER_ID && *sid == Some(session_id()))
            .times(1)
            .returning(move |_, _| {
                Ok(Some((
                    stored_user(),
                    session.clone(),
                    profile.then(stored_profile),
                )))
            });
    }

    #[test]
    fn the_profile_comes_with_its_user_and_session_from_one_query() {
        let mut ports = Ports::new();
        finds(&mut ports, Some(session()), true);
        let (user, profile) = use_case(ports).execute(&of_session()).expect("found");
        assert_eq!((user.id, profile.phone.as_str()), (USER_ID, "1234567890"));
    }

    #[test]
    fn a_token_from_before_sessions_reads_the_profile_without_a_session() {
        let mut ports = Ports::new();
        ports
            .users
            .expect_find_with_profile()
            .withf(|id, sid| *id == USER_ID && sid.is_none())
            .times(1)
            .returning(|_, _| Ok(Some((stored_user(), None, Some(stored_profile())))));
        let claims = claims(TokenType::Access, &"a".repeat(32), USER_ID);
        assert!(use_case(ports).execute(&claims).is_ok());
    }

    #[test]
    fn an_ended_or_missing_session_is_blacklisted() {
        let ended = Session {
            ended: Some((now(), domain::SessionEnd::LoggedOut)),
            ..session()
        };
        for session in [Some(ended), None] {
            let mut ports = Ports::new();
            finds(&mut ports, session, true);
            assert!(matches!(
                use_case(ports).execute(&of_session()),
                Err(GetProfileError::Authenticate(AuthenticateError::Token(
                    TokenProblem::Blacklisted
                )))
            ));
        }
    }

    #[test]
    fn a_missing_user_or_an_inactive_one_is_refused() {
        let mut ports = Ports::new();
        ports
            .users
            .expect_find_with_profile()
            .returning(|_, _| Ok(None));
        assert!(matches!(
            use_case(ports).execute(&of_session()),
            Err(GetProfileError::Authenticate(
                AuthenticateError::UserNotFound
            ))
        ));

        let mut ports = Ports::new();
        ports.users.expect_find_with_profile().returning(|_, _| {
            let user = User {
                is_active: false,
                ..stored_user()
            };
            Ok(Some((user, Some(session()), Some(stored_profile()))))
        });
        assert!(matches!(
            use_case(ports).execute(&of_session()),
            Err(GetProfileError::Authenticate(
                AuthenticateError::UserInactive
            ))
        ));
    }

    #[test]
    fn a_missing_profile_is_not_found() {
        let mut ports = Ports::new();
        finds(&mut ports, Some(session()), false);
        assert!(matches!(
            use_case(ports).execute(&of_session()),
            Err(GetProfileError::NotFound)
        ));
    }
}
