use std::sync::Arc;

use domain::{AuditEvent, AuditKind, ClientInfo, SessionEnd, TokenType};
use thiserror::Error;

use super::authenticate::{AuthenticateError, owner};
use super::token_pair::{SessionPolicy, delta, refresh_token};
use crate::ports::{
    Clock, Effects, IssueError, RefreshTokenStore, RepositoryError, Rotation, SessionStore,
    TokenCodec, TokenProblem, UserRepository,
};
use crate::validation::{FieldErrors, Submitted};

/// How stale `last_used_at` may be before a refresh without rotation writes it again.
const TOUCH_GRANULARITY: chrono::TimeDelta = chrono::TimeDelta::seconds(1);

#[derive(Debug, Clone)]
pub struct RefreshTokenInput {
    pub refresh: Submitted<String>,
    /// Where the request came from, for the audit log.
    pub client: ClientInfo,
}

/// What a refresh hands out: always an access token; with rotation, the refresh token that
/// replaces the presented one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refreshed {
    pub access: String,
    pub refresh: Option<String>,
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

/// Exchanges a refresh token for a new access token, continuing its session; with rotation the
/// refresh token is spent and replaced.
#[derive(Clone)]
pub struct RefreshToken {
    pub users: Arc<dyn UserRepository>,
    pub refresh_tokens: Arc<dyn RefreshTokenStore>,
    pub sessions: Arc<dyn SessionStore>,
    pub tokens: Arc<dyn TokenCodec>,
    pub clock: Arc<dyn Clock>,
    pub policy: SessionPolicy,
}

impl RefreshToken {
    /// A token whose user was deleted or deactivated is refused as invalid: a refresh must not
    /// outlive the account. A token of an ended session is blacklisted. With rotation, a spent
    /// token presented again within the reuse interval gets the same successor as the first
    /// time; after it, the presentation is a reuse and ends the session.
    pub fn execute(&self, input: RefreshTokenInput) -> Result<Refreshed, RefreshTokenError> {
        let refused = RefreshTokenError::Token;
        let mut errors = FieldErrors::new();
        let Some(raw) = input.refresh.required_non_blank("refresh", &mut errors) else {
            return Err(RefreshTokenError::Invalid(errors));
        };

        let now = self.clock.now();
        let claims = self
            .tokens
            .decode(&raw, TokenType::Refresh, now)
            .map_err(refused)?;
        if self.refresh_tokens.is_revoked(&claims.id)? {
            return Err(refused(TokenProblem::Blacklisted));
        }
        let user_id = claims.user_id;
        // A deleted or inactive user's token is invalid: a refresh must not outlive the account.
        let (user, session) = match owner(self.users.as_ref(), &claims, now) {
            Ok(found) => found,
            Err(AuthenticateError::Token(problem)) => return Err(refused(problem)),
            Err(AuthenticateError::UserNotFound | AuthenticateError::UserInactive) => {
                return Err(refused(TokenProblem::Invalid));
            }
            Err(AuthenticateError::Repository(error)) => return Err(error.into()),
        };
        let (Some(session), Some(session_id)) = (session, claims.session_id.clone()) else {
            // A token from before sessions keeps working, unrotated, until it expires.
            let access = self.tokens.issue(TokenType::Access, user_id, None, now)?;
            return Ok(Refreshed {
                access: access.token,
                refresh: None,
            });
        };

        let refresh = if self.policy.rotate_refresh_tokens {
            let successor = refresh_token(
                self.tokens.as_ref(),
                user_id,
                &session_id,
                session.absolute_expires_at,
                now,
            )?;
            match self.sessions.rotate(&claims, &successor.claims, now)? {
                Rotation::Won => Some(successor.token),
                Rotation::Spent { used_at, successor }
                    if now <= used_at + delta(self.policy.reuse_interval) =>
                {
                    Some(self.tokens.encode(&successor)?)
                }
                Rotation::Spent { .. } | Rotation::Superseded => {
                    let event = AuditEvent::new(AuditKind::RefreshTokenReused, now, &input.client)
                        .user(user_id, user.username.as_str())
                        .session(Some(session_id.clone()));
                    self.sessions.end(
                        user_id,
                        &session_id,
                        SessionEnd::TokenReused,
                        now,
                        Effects::new(&input.client).audit(event),
                    )?;
                    return Err(refused(TokenProblem::Blacklisted));
                }
                Rotation::Unknown => return Err(refused(TokenProblem::Invalid)),
            }
        } else {
            // `last_used_at` is kept to the second: a session refreshed more often is written
            // once a second, not on every refresh.
            if now - session.last_used_at >= TOUCH_GRANULARITY {
                self.sessions.touch(&session_id, now)?;
            }
            None
        };
        let access = self
            .tokens
            .issue(TokenType::Access, user_id, Some(session_id), now)?;
        Ok(Refreshed {
            access: access.token,
            refresh,
        })
    }
}

#[cfg(test)]
mod tests {
    use domain::{Session, TokenClaims};

    use super::*;
    use crate::ports::IssuedToken;
    use crate::use_cases::test_support::*;

    fn use_case_with(ports: Ports, rotate: bool) -> RefreshToken {
        RefreshToken {
            users: Arc::new(ports.users),
            refresh_tokens: Arc::new(ports.refresh_tokens),
            sessions: Arc::new(ports.sessions),
            tokens: Arc::new(ports.tokens),
            clock: fixed_clock(),
            policy: SessionPolicy {
                rotate_refresh_tokens: rotate,
                ..SessionPolicy::default()
            },
        }
    }

    fn use_case(ports: Ports) -> RefreshToken {
        use_case_with(ports, false)
    }

    fn input(token: &str) -> RefreshTokenInput {
        RefreshTokenInput {
            refresh: value(token),
            client: client(),
        }
    }

    fn presented() -> TokenClaims {
        TokenClaims {
            session_id: Some(session_id()),
            ..claims(TokenType::Refresh, &"r".repeat(32), USER_ID)
        }
    }

    fn decodes_as_refresh(ports: &mut Ports) {
        ports
            .tokens
            .expect_decode()
            .withf(|token, expected, _| token == "refresh-token" && *expected == TokenType::Refresh)
            .returning(|_, _, _| Ok(presented()));
    }

    /// A valid, unrevoked token of an active user and a live session.
    fn valid(ports: &mut Ports) {
        decodes_as_refresh(ports);
        ports
            .refresh_tokens
            .expect_is_revoked()
            .returning(|_| Ok(false));
        ports
            .users
            .expect_find_with_session()
            .withf(|user, id| *user == USER_ID && *id == session_id())
            .returning(|_, _| Ok(Some((stored_user(), Some(used_a_minute_ago())))));
        ports.users.expect_find_by_id().never();
    }

    fn used_a_minute_ago() -> Session {
        Session {
            last_used_at: now() - chrono::Duration::minutes(1),
            ..session()
        }
    }

    fn issues(ports: &mut Ports, kind: TokenType, token: &'static str, jti: char) {
        ports
            .tokens
            .expect_issue()
            .withf(move |k, id, sid, _| *k == kind && *id == USER_ID && *sid == Some(session_id()))
            .times(1)
            .returning(move |k, id, sid, _| {
                Ok(IssuedToken {
                    token: token.into(),
                    claims: TokenClaims {
                        session_id: sid,
                        ..claims(k, &jti.to_string().repeat(32), id)
                    },
                })
            });
    }

    #[test]
    fn without_rotation_a_refresh_gives_an_access_token_of_the_session_and_touches_it() {
        let mut ports = Ports::new();
        valid(&mut ports);
        ports
            .sessions
            .expect_touch()
            .withf(|id, at| *id == session_id() && *at == now())
            .times(1)
            .returning(|_, _| Ok(()));
        ports.sessions.expect_rotate().never();
        issues(&mut ports, TokenType::Access, "new-access", 'a');
        assert_eq!(
            use_case(ports)
                .execute(input("refresh-token"))
                .expect("refreshes"),
            Refreshed {
                access: "new-access".into(),
                refresh: None
            }
        );
    }

    #[test]
    fn a_token_from_before_sessions_gets_an_access_token_without_a_session() {
        let mut ports = Ports::new();
        ports
            .tokens
            .expect_decode()
            .returning(|_, _, _| Ok(claims(TokenType::Refresh, &"r".repeat(32), USER_ID)));
        ports
            .refresh_tokens
            .expect_is_revoked()
            .returning(|_| Ok(false));
        ports
            .users
            .expect_find_by_id()
            .returning(|_| Ok(Some(stored_user())));
        ports.users.expect_find_with_session().never();
        ports
            .tokens
            .expect_issue()
            .withf(|_, _, sid, _| sid.is_none())
            .returning(|k, id, _, _| {
                Ok(IssuedToken {
                    token: "legacy-access".into(),
                    claims: claims(k, &"a".repeat(32), id),
                })
            });
        let refreshed = use_case_with(ports, true)
            .execute(input("refresh-token"))
            .expect("refreshes");
        assert_eq!(refreshed.refresh, None);
    }

    #[test]
    fn a_token_of_an_ended_expired_or_unknown_session_is_blacklisted() {
        let ended = Session {
            ended: Some((now(), SessionEnd::Revoked)),
            ..session()
        };
        let expired = Session {
            expires_at: now(),
            ..session()
        };
        for found in [Some(ended), Some(expired), None] {
            let mut ports = Ports::new();
            decodes_as_refresh(&mut ports);
            ports
                .refresh_tokens
                .expect_is_revoked()
                .returning(|_| Ok(false));
            ports
                .users
                .expect_find_with_session()
                .returning(move |_, _| Ok(Some((stored_user(), found.clone()))));
            ports.tokens.expect_issue().never();
            assert!(matches!(
                use_case(ports).execute(input("refresh-token")),
                Err(RefreshTokenError::Token(TokenProblem::Blacklisted))
            ));
        }
    }

    #[test]
    fn a_refresh_within_a_second_of_the_last_use_does_not_write_it_again() {
        let mut ports = Ports::new();
        decodes_as_refresh(&mut ports);
        ports
            .refresh_tokens
            .expect_is_revoked()
            .returning(|_| Ok(false));
        ports
            .users
            .expect_find_with_session()
            .returning(|_, _| Ok(Some((stored_user(), Some(session())))));
        ports.sessions.expect_touch().never();
        issues(&mut ports, TokenType::Access, "new-access", 'a');
        assert!(use_case(ports).execute(input("refresh-token")).is_ok());
    }

    #[test]
    fn with_rotation_the_winner_gets_a_successor_capped_at_the_sessions_lifetime() {
        let mut ports = Ports::new();
        valid(&mut ports);
        issues(&mut ports, TokenType::Refresh, "successor", 's');
        issues(&mut ports, TokenType::Access, "new-access", 'a');
        ports
            .sessions
            .expect_rotate()
            .withf(|spent, successor, at| {
                *spent == presented()
                    && successor.session_id == Some(session_id())
                    && successor.expires_at <= session().absolute_expires_at
                    && *at == now()
            })
            .times(1)
            .returning(|_, _, _| Ok(Rotation::Won));
        ports.sessions.expect_touch().never();
        assert_eq!(
            use_case_with(ports, true)
                .execute(input("refresh-token"))
                .expect("rotates"),
            Refreshed {
                access: "new-access".into(),
                refresh: Some("successor".into())
            }
        );
    }

    #[test]
    fn a_successor_that_would_outlive_the_session_is_cut_to_its_end() {
        let mut ports = Ports::new();
        decodes_as_refresh(&mut ports);
        ports
            .refresh_tokens
            .expect_is_revoked()
            .returning(|_| Ok(false));
        let ending = now() + chrono::Duration::hours(1);
        ports
            .users
            .expect_find_with_session()
            .returning(move |_, _| {
                let session = Session {
                    absolute_expires_at: ending,
                    ..session()
                };
                Ok(Some((stored_user(), Some(session))))
            });
        issues(&mut ports, TokenType::Refresh, "uncut", 's');
        issues(&mut ports, TokenType::Access, "new-access", 'a');
        ports
            .tokens
            .expect_encode()
            .withf(move |claims| claims.expires_at == ending)
            .times(1)
            .returning(|_| Ok("cut".into()));
        ports
            .sessions
            .expect_rotate()
            .withf(move |_, successor, _| successor.expires_at == ending)
            .returning(|_, _, _| Ok(Rotation::Won));
        let refreshed = use_case_with(ports, true)
            .execute(input("refresh-token"))
            .expect("rotates");
        assert_eq!(refreshed.refresh.as_deref(), Some("cut"));
    }

    fn spent_at(seconds_ago: i64) -> Rotation {
        Rotation::Spent {
            used_at: now() - chrono::Duration::seconds(seconds_ago),
            successor: TokenClaims {
                session_id: Some(session_id()),
                ..claims(TokenType::Refresh, &"w".repeat(32), USER_ID)
            },
        }
    }

    #[test]
    fn a_loser_within_the_reuse_interval_gets_the_winners_token_re_signed() {
        let mut ports = Ports::new();
        valid(&mut ports);
        issues(&mut ports, TokenType::Refresh, "unused-successor", 's');
        issues(&mut ports, TokenType::Access, "new-access", 'a');
        ports
            .sessions
            .expect_rotate()
            .returning(|_, _, _| Ok(spent_at(10)));
        ports
            .tokens
            .expect_encode()
            .withf(|claims| claims.id.as_str() == "w".repeat(32))
            .times(1)
            .returning(|_| Ok("winners-token".into()));
        ports.sessions.expect_end().never();
        let refreshed = use_case_with(ports, true)
            .execute(input("refresh-token"))
            .expect("same successor");
        assert_eq!(refreshed.refresh.as_deref(), Some("winners-token"));
    }

    /// A spent token after the reuse interval, and one spent before the session's last rotation
    /// at any time: both are reuses.
    #[test]
    fn a_reuse_ends_the_session() {
        for rotation in [spent_at(11), Rotation::Superseded] {
            let mut ports = Ports::new();
            valid(&mut ports);
            issues(&mut ports, TokenType::Refresh, "unused-successor", 's');
            let found = rotation.clone();
            ports
                .sessions
                .expect_rotate()
                .returning(move |_, _, _| Ok(found.clone()));
            ports
                .sessions
                .expect_end()
                .withf(|user, id, reason, _, effects| {
                    *user == USER_ID
                        && *id == session_id()
                        && *reason == SessionEnd::TokenReused
                        && audited(effects) == [AuditKind::RefreshTokenReused]
                        && effects.audit[0].session_id == Some(session_id())
                        && effects.audit[0].username.as_deref() == Some("alice")
                        && effects.origin == client()
                })
                .times(1)
                .returning(|_, _, _, _, _| Ok(true));
            ports.tokens.expect_encode().never();
            assert!(
                matches!(
                    use_case_with(ports, true).execute(input("refresh-token")),
                    Err(RefreshTokenError::Token(TokenProblem::Blacklisted))
                ),
                "{rotation:?}"
            );
        }
    }

    #[test]
    fn a_token_of_no_live_session_is_invalid() {
        let mut ports = Ports::new();
        valid(&mut ports);
        issues(&mut ports, TokenType::Refresh, "unused-successor", 's');
        ports
            .sessions
            .expect_rotate()
            .returning(|_, _, _| Ok(Rotation::Unknown));
        assert!(matches!(
            use_case_with(ports, true).execute(input("refresh-token")),
            Err(RefreshTokenError::Token(TokenProblem::Invalid))
        ));
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
        ports
            .users
            .expect_find_with_session()
            .returning(|_, _| Ok(None));
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
        ports.users.expect_find_with_session().returning(|_, _| {
            Ok(Some((
                domain::User {
                    is_active: false,
                    ..stored_user()
                },
                Some(session()),
            )))
        });
        ports.tokens.expect_issue().never();
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
            client: client(),
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
