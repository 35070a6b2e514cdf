#![allow(clippy::unwrap_used)]

use domain::User;

use super::*;
use crate::use_cases::test_support::*;

fn other_session() -> Session {
    Session {
        id: SessionId::parse("0fff").unwrap(),
        ..session()
    }
}

#[test]
fn sessions_are_listed_with_the_current_one_marked() {
    let mut ports = Ports::new();
    ports
        .sessions
        .expect_list_live()
        .withf(|user, at| *user == USER_ID && *at == now())
        .returning(|_, _| Ok(vec![other_session(), session()]));
    let list = ListSessions {
        sessions: Arc::new(ports.sessions),
        clock: fixed_clock(),
    };
    let listed = list.execute(USER_ID, Some(&session_id())).unwrap();
    let marks: Vec<(String, bool)> = listed
        .into_iter()
        .map(|(session, current)| (session.id.to_string(), current))
        .collect();
    assert_eq!(marks, [("0fff".into(), false), (SESSION.into(), true)]);
}

fn end_session(ports: Ports) -> EndSession {
    EndSession {
        sessions: Arc::new(ports.sessions),
        clock: fixed_clock(),
    }
}

#[test]
fn ending_an_own_session_revokes_it() {
    let mut ports = Ports::new();
    ports
        .sessions
        .expect_end()
        .withf(|user, id, reason, at, effects| {
            *user == USER_ID
                && *id == session_id()
                && *reason == SessionEnd::Revoked
                && *at == now()
                && effects.origin == client()
                && effects.audit.is_empty()
        })
        .times(1)
        .returning(|_, _, _, _, _| Ok(true));
    assert!(
        end_session(ports)
            .execute(USER_ID, SESSION, &client())
            .is_ok()
    );
}

#[test]
fn a_foreign_unknown_or_malformed_session_id_is_not_found() {
    let mut ports = Ports::new();
    ports
        .sessions
        .expect_end()
        .returning(|_, _, _, _, _| Ok(false));
    assert!(matches!(
        end_session(ports).execute(USER_ID, SESSION, &client()),
        Err(EndSessionError::NotFound)
    ));
    let mut ports = Ports::new();
    ports.sessions.expect_end().never();
    assert!(matches!(
        end_session(ports).execute(USER_ID, "../etc", &client()),
        Err(EndSessionError::NotFound)
    ));
}

fn verify(ports: Ports) -> VerifyToken {
    VerifyToken {
        users: Arc::new(ports.users),
        refresh_tokens: Arc::new(ports.refresh_tokens),
        tokens: Arc::new(ports.tokens),
        clock: fixed_clock(),
    }
}

fn of_session(token_type: TokenType) -> TokenClaims {
    TokenClaims {
        session_id: Some(session_id()),
        ..claims(token_type, &"t".repeat(32), USER_ID)
    }
}

/// The user and session the verified token names, loaded together in one query.
fn owner(ports: &mut Ports, user: User, session: Option<Session>) {
    ports
        .users
        .expect_find_with_session()
        .withf(|id, sid| *id == USER_ID && *sid == session_id())
        .returning(move |_, _| Ok(Some((user.clone(), session.clone()))));
    ports.users.expect_find_by_id().never();
}

#[test]
fn an_access_token_of_a_live_session_verifies() {
    let mut ports = Ports::new();
    ports
        .tokens
        .expect_decode()
        .withf(|_, kind, _| *kind == TokenType::Access)
        .returning(|_, _, _| Ok(of_session(TokenType::Access)));
    owner(&mut ports, stored_user(), Some(session()));
    assert!(verify(ports).execute(value("tok")).is_ok());
}

fn refresh_token_ports(revoked: bool) -> Ports {
    let mut ports = Ports::new();
    ports
        .tokens
        .expect_decode()
        .withf(|_, kind, _| *kind == TokenType::Access)
        .returning(|_, _, _| Err(TokenProblem::WrongType));
    ports
        .tokens
        .expect_decode()
        .withf(|_, kind, _| *kind == TokenType::Refresh)
        .returning(|_, _, _| Ok(of_session(TokenType::Refresh)));
    ports
        .refresh_tokens
        .expect_is_revoked()
        .returning(move |_| Ok(revoked));
    ports
}

#[test]
fn a_refresh_token_verifies_unless_blacklisted() {
    let mut ports = refresh_token_ports(false);
    owner(&mut ports, stored_user(), Some(session()));
    assert!(verify(ports).execute(value("tok")).is_ok());
    let ports = refresh_token_ports(true);
    assert!(matches!(
        verify(ports).execute(value("tok")),
        Err(VerifyTokenError::Token(TokenProblem::Blacklisted))
    ));
}

#[test]
fn a_token_of_an_ended_session_or_an_inactive_user_does_not_verify() {
    let ended = Session {
        ended: Some((now(), SessionEnd::LoggedOut)),
        ..session()
    };
    let inactive = User {
        is_active: false,
        ..stored_user()
    };
    for (user, session, problem) in [
        (stored_user(), Some(ended), TokenProblem::Blacklisted),
        (stored_user(), None, TokenProblem::Blacklisted),
        (inactive, Some(session()), TokenProblem::Invalid),
    ] {
        let mut ports = Ports::new();
        ports
            .tokens
            .expect_decode()
            .returning(|_, _, _| Ok(of_session(TokenType::Access)));
        owner(&mut ports, user, session);
        assert!(
            matches!(verify(ports).execute(value("tok")), Err(VerifyTokenError::Token(p)) if p == problem),
            "{problem:?}"
        );
    }
}

#[test]
fn verify_needs_a_token() {
    let ports = Ports::new();
    let Err(VerifyTokenError::Invalid(errors)) = verify(ports).execute(Submitted::Absent) else {
        panic!("expected field errors")
    };
    assert_eq!(
        pairs(&errors),
        [("token".to_owned(), "This field is required.".to_owned())]
    );
}

#[test]
fn deactivating_a_user_goes_through_the_one_transaction_port() {
    let mut ports = Ports::new();
    ports
        .users
        .expect_find_by_username()
        .withf(|name| name == "alice")
        .returning(|_| Ok(Some(stored_user())));
    ports
        .users
        .expect_deactivate()
        .withf(|id, at, effects| {
            *id == USER_ID
                && *at == now()
                && audited(effects) == [AuditKind::UserDeactivated]
                && effects.audit[0].user_id == Some(USER_ID)
        })
        .times(1)
        .returning(|_, _, _| Ok(true));
    ports.users.expect_reactivate().never();
    let set = SetUserActive {
        users: Arc::new(ports.users),
        clock: fixed_clock(),
    };
    assert!(set.execute("alice", false).unwrap());
}
