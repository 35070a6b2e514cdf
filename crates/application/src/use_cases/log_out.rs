use std::sync::Arc;

use domain::{
    AuditEvent, AuditKind, ClientInfo, SessionEnd, SessionId, TokenClaims, TokenType, UserId,
};
use thiserror::Error;

use crate::ports::{
    AuditLog, Clock, Effects, RefreshTokenStore, RepositoryError, SessionStore, TokenCodec,
    TokenProblem,
};
use crate::validation::{FieldErrors, Submitted};

#[derive(Debug, Clone)]
pub struct LogOutInput {
    /// The authenticated user asking to log out.
    pub user_id: UserId,
    /// The session of the access token that authenticated the request, if it has one.
    pub session_id: Option<SessionId>,
    pub refresh: Submitted<String>,
    /// `others` or `all`; absent for the refresh token's session only.
    pub scope: Submitted<String>,
    /// Where the request came from, for the audit log.
    pub client: ClientInfo,
}

#[derive(Debug, Error)]
pub enum LogOutError {
    /// Problems with the given refresh token are field errors under `refresh`, an unknown scope
    /// under `scope`.
    #[error("the logout form is invalid")]
    Invalid(FieldErrors),
    #[error(transparent)]
    Repository(#[from] RepositoryError),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// The session of the given refresh token.
    This,
    /// Every session of the user but the current one.
    Others,
    /// Every session of the user.
    All,
}

impl Scope {
    /// As the request names it, and the audit log records it.
    const fn as_str(self) -> &'static str {
        match self {
            Self::This => "this",
            Self::Others => "others",
            Self::All => "all",
        }
    }
}

/// Blacklists a refresh token of the authenticated user and ends its session, or with a scope
/// the user's other sessions or all of them.
#[derive(Clone)]
pub struct LogOut {
    pub refresh_tokens: Arc<dyn RefreshTokenStore>,
    pub sessions: Arc<dyn SessionStore>,
    pub tokens: Arc<dyn TokenCodec>,
    pub clock: Arc<dyn Clock>,
    pub audit: Arc<dyn AuditLog>,
}

impl LogOut {
    /// Another user's token is reported as invalid and left untouched: nobody can log someone
    /// else out by presenting a token they obtained.
    /// Returns whether the caller's own session goes on (only with `others`), so that the caller
    /// keeps its credentials.
    pub fn execute(&self, input: LogOutInput) -> Result<bool, LogOutError> {
        let mut errors = FieldErrors::new();
        let scope = match input.scope.optional("scope", &mut errors) {
            None => Some(Scope::This),
            Some(scope) if scope == "others" => Some(Scope::Others),
            Some(scope) if scope == "all" => Some(Scope::All),
            Some(scope) => {
                errors.add(&["scope"], format!("\"{scope}\" is not a valid choice."));
                None
            }
        };
        // Whether `refresh` is required depends on the scope; with no valid scope, only the
        // scope is reported.
        let raw = match scope {
            Some(Scope::This) => input.refresh.required_non_blank("refresh", &mut errors),
            _ => input.refresh.optional("refresh", &mut errors),
        };
        let Some(scope) = scope.filter(|_| errors.is_empty()) else {
            return Err(LogOutError::Invalid(errors));
        };

        let now = self.clock.now();
        // With `others` the given token is this device's own: it only tells which session to keep.
        let claims = match raw {
            Some(raw) => Some(self.own_token(&raw, input.user_id, now, scope != Scope::Others)?),
            None => None,
        };
        let current = claims
            .as_ref()
            .and_then(|claims| claims.session_id.clone())
            .or(input.session_id);
        let event = AuditEvent::new(AuditKind::LoggedOut, now, &input.client)
            .user_id(input.user_id)
            .session(current.clone())
            .detail(scope.as_str());
        // The event commits with the sessions it ends; a logout that ends none (a token of the
        // original system, with no session) records it on its own.
        let effects = Effects::new(&input.client).audit(event.clone());
        let ended_any = match scope {
            Scope::This => match &current {
                Some(session_id) => self.sessions.end(
                    input.user_id,
                    session_id,
                    SessionEnd::LoggedOut,
                    now,
                    effects,
                )?,
                None => false,
            },
            Scope::Others => {
                self.sessions
                    .end_all(input.user_id, current, SessionEnd::Revoked, now, effects)?
                    > 0
            }
            Scope::All => {
                self.sessions
                    .end_all(input.user_id, None, SessionEnd::LoggedOut, now, effects)?
                    > 0
            }
        };
        if !ended_any {
            self.audit.record(event)?;
        }
        Ok(scope == Scope::Others)
    }

    /// The user's own, unrevoked refresh token, blacklisted when `revoke` is set.
    fn own_token(
        &self,
        raw: &str,
        user_id: UserId,
        now: chrono::DateTime<chrono::Utc>,
        revoke: bool,
    ) -> Result<TokenClaims, LogOutError> {
        let refused = |problem: TokenProblem| {
            LogOutError::Invalid(FieldErrors::single_at(&["refresh"], problem.to_string()))
        };
        let claims = self
            .tokens
            .decode(raw, TokenType::Refresh, now)
            .map_err(refused)?;
        if claims.user_id != user_id {
            return Err(refused(TokenProblem::Invalid));
        }
        if self.refresh_tokens.is_revoked(&claims.id)? {
            return Err(refused(TokenProblem::Blacklisted));
        }
        if revoke {
            self.refresh_tokens.revoke(&claims, now)?;
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::use_cases::test_support::*;

    fn use_case(ports: Ports) -> LogOut {
        LogOut {
            refresh_tokens: Arc::new(ports.refresh_tokens),
            sessions: Arc::new(ports.sessions),
            tokens: Arc::new(ports.tokens),
            clock: fixed_clock(),
            audit: Arc::new(RecordingAuditLog::default()),
        }
    }

    fn input(token: &str) -> LogOutInput {
        LogOutInput {
            user_id: USER_ID,
            session_id: None,
            refresh: value(token),
            scope: Submitted::Absent,
            client: client(),
        }
    }

    fn refresh_of(ports: &mut Ports, owner: UserId) {
        ports
            .tokens
            .expect_decode()
            .withf(|_, expected, _| *expected == TokenType::Refresh)
            .returning(move |_, _, _| Ok(claims(TokenType::Refresh, &"r".repeat(32), owner)));
    }

    fn refresh_messages(result: Result<bool, LogOutError>) -> Vec<(String, String)> {
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
        ports.sessions.expect_end().never();
        let audit = Arc::new(RecordingAuditLog::default());
        let log_out = LogOut {
            audit: audit.clone(),
            ..use_case(ports)
        };
        assert!(log_out.execute(input("refresh-token")).is_ok());
        let events = audit.events();
        assert_eq!(
            events.len(),
            1,
            "a token with no session is logged out on its own"
        );
        assert_eq!(events[0].kind, AuditKind::LoggedOut);
        assert_eq!(events[0].user_id, Some(USER_ID));
        assert_eq!(events[0].detail.as_deref(), Some("this"));
        assert_eq!(events[0].client, client());
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
            session_id: None,
            scope: Submitted::Absent,
            refresh: Submitted::Absent,
            client: client(),
        });
        assert_eq!(
            refresh_messages(result),
            vec![("refresh".into(), "This field is required.".into())]
        );
    }

    fn scoped(scope: &str, refresh: Submitted<String>) -> LogOutInput {
        LogOutInput {
            user_id: USER_ID,
            session_id: Some(session_id()),
            refresh,
            scope: value(scope),
            client: client(),
        }
    }

    #[test]
    fn logging_out_a_sessions_token_ends_that_session() {
        let mut ports = Ports::new();
        ports.tokens.expect_decode().returning(|_, _, _| {
            Ok(TokenClaims {
                session_id: Some(session_id()),
                ..claims(TokenType::Refresh, &"r".repeat(32), USER_ID)
            })
        });
        ports
            .refresh_tokens
            .expect_is_revoked()
            .returning(|_| Ok(false));
        ports
            .refresh_tokens
            .expect_revoke()
            .times(1)
            .returning(|_, _| Ok(()));
        ports
            .sessions
            .expect_end()
            .withf(|user, id, reason, _, effects| {
                *user == USER_ID
                    && *id == session_id()
                    && *reason == SessionEnd::LoggedOut
                    && audited(effects) == [AuditKind::LoggedOut]
                    && effects.audit[0].session_id == Some(session_id())
                    && effects.origin == client()
            })
            .times(1)
            .returning(|_, _, _, _, _| Ok(true));
        assert_eq!(
            use_case(ports).execute(input("refresh-token")).ok(),
            Some(false)
        );
    }

    #[test]
    fn scope_others_ends_every_other_session_and_keeps_the_current_one() {
        let mut ports = Ports::new();
        ports.tokens.expect_decode().never();
        ports
            .sessions
            .expect_end_all()
            .withf(|user, keep, reason, _, effects| {
                *user == USER_ID
                    && *keep == Some(session_id())
                    && *reason == SessionEnd::Revoked
                    && effects.audit[0].detail.as_deref() == Some("others")
            })
            .times(1)
            .returning(|_, _, _, _, _| Ok(3));
        assert_eq!(
            use_case(ports)
                .execute(scoped("others", Submitted::Absent))
                .ok(),
            Some(true)
        );
    }

    #[test]
    fn scope_all_ends_every_session_and_still_checks_a_given_refresh_token() {
        let mut ports = Ports::new();
        ports
            .sessions
            .expect_end_all()
            .withf(|user, keep, reason, _, effects| {
                *user == USER_ID
                    && keep.is_none()
                    && *reason == SessionEnd::LoggedOut
                    && effects.audit[0].detail.as_deref() == Some("all")
            })
            .times(1)
            .returning(|_, _, _, _, _| Ok(2));
        assert_eq!(
            use_case(ports)
                .execute(scoped("all", Submitted::Absent))
                .ok(),
            Some(false)
        );

        let mut ports = Ports::new();
        refresh_of(&mut ports, UserId::new(99));
        ports.sessions.expect_end_all().never();
        assert_eq!(
            refresh_messages(use_case(ports).execute(scoped("all", value("foreign")))),
            vec![("refresh".into(), "Token is invalid".into())]
        );
    }

    #[test]
    fn an_unknown_scope_is_a_choice_error() {
        let mut ports = Ports::new();
        ports.sessions.expect_end_all().never();
        ports.sessions.expect_end().never();
        assert_eq!(
            refresh_messages(use_case(ports).execute(scoped("everything", Submitted::Absent))),
            vec![(
                "scope".into(),
                "\"everything\" is not a valid choice.".into()
            )]
        );
    }

    #[test]
    fn scope_others_keeps_the_given_token_working_and_its_session_live() {
        let mut ports = Ports::new();
        let other_device = SessionId::parse("0ddd").expect("hex");
        ports.tokens.expect_decode().returning(|_, _, _| {
            Ok(TokenClaims {
                session_id: Some(session_id()),
                ..claims(TokenType::Refresh, &"r".repeat(32), USER_ID)
            })
        });
        ports
            .refresh_tokens
            .expect_is_revoked()
            .returning(|_| Ok(false));
        ports.refresh_tokens.expect_revoke().never();
        ports
            .sessions
            .expect_end_all()
            .withf(|_, keep, _, _, _| *keep == Some(session_id()))
            .times(1)
            .returning(|_, _, _, _, _| Ok(1));
        let input = LogOutInput {
            session_id: Some(other_device),
            ..scoped("others", value("this-devices-refresh-token"))
        };
        assert_eq!(
            use_case(ports).execute(input).ok(),
            Some(true),
            "this device goes on"
        );
    }
}
