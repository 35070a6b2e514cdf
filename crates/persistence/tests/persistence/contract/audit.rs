//! The audit log: events written with the changes that cause them, or on their own, and read back.

use application::ports::{
    AuditLog, AuditQuery, CreateUserError, Effects, NewSession, SessionStore, UserRepository,
};
use chrono::{DateTime, Duration, Utc};
use domain::{AuditEvent, AuditKind, ClientInfo, PasswordHash, SessionEnd, UserId};
use persistence::testing::TestDatabase;

use super::{at, create_user, new_session, new_user};

fn origin() -> ClientInfo {
    ClientInfo::new("198.51.100.4", "Firefox/140").with_request_id("0b7a1c2e-req")
}

fn event(kind: AuditKind, at: DateTime<Utc>) -> AuditEvent {
    AuditEvent::new(kind, at, &origin())
}

fn everything() -> AuditQuery {
    AuditQuery {
        limit: 1000,
        ..AuditQuery::default()
    }
}

fn kinds(events: &[AuditEvent]) -> Vec<(AuditKind, Option<String>)> {
    events
        .iter()
        .map(|event| (event.kind, event.detail.clone()))
        .collect()
}

pub(crate) fn audit_events_round_trip_and_are_listed_by_account_time_and_limit(db: &TestDatabase) {
    let log = db.database().audit_log();
    let alice = create_user(db, "alice");
    let t0 = at("2026-12-01T10:00:00.123456Z");
    let full = event(AuditKind::LoginFailed, t0)
        .user(alice, "alice")
        .session(domain::SessionId::parse("abc123"))
        .detail("wrong_password");
    log.record(full.clone()).expect("recorded");
    log.record(event(AuditKind::LoginFailed, t0 + Duration::minutes(1)).username("alice"))
        .expect("recorded");
    log.record(event(AuditKind::LoggedOut, t0 + Duration::minutes(2)).user_id(alice))
        .expect("recorded");
    log.record(event(AuditKind::LoginThrottled, t0 + Duration::minutes(3)).username("mallory"))
        .expect("recorded");

    let all = log.list(&everything()).expect("listed");
    assert_eq!(all.len(), 4);
    assert_eq!(all[0], full, "every field round-trips");
    assert!(
        all.windows(2).all(|pair| pair[0].at <= pair[1].at),
        "oldest first"
    );

    let of_alice = log
        .list(&AuditQuery {
            user_id: Some(alice),
            username: Some("alice".into()),
            ..everything()
        })
        .expect("listed");
    assert_eq!(
        of_alice.len(),
        3,
        "by id or by the username tried: {of_alice:?}"
    );
    let by_name = log
        .list(&AuditQuery {
            username: Some("mallory".into()),
            ..everything()
        })
        .expect("listed");
    assert_eq!(kinds(&by_name), [(AuditKind::LoginThrottled, None)]);
    let recent = log
        .list(&AuditQuery {
            since: Some(t0 + Duration::minutes(2)),
            ..everything()
        })
        .expect("listed");
    assert_eq!(recent.len(), 2);
    let last_two = log
        .list(&AuditQuery {
            limit: 2,
            ..everything()
        })
        .expect("listed");
    assert_eq!(
        last_two.iter().map(|event| event.at).collect::<Vec<_>>(),
        [t0 + Duration::minutes(2), t0 + Duration::minutes(3)],
        "the most recent ones, oldest first"
    );
}

pub(crate) fn a_creation_records_its_events_as_the_new_users_and_a_refused_one_records_none(
    db: &TestDatabase,
) {
    let users = db.database().users();
    let log = db.database().audit_log();
    let t0 = at("2026-12-01T10:00:00Z");
    let registered =
        || Effects::new(&origin()).audit(event(AuditKind::UserRegistered, t0).username("alice"));
    let (alice, _) = users
        .create(new_user("alice", "alice@example.com"), registered())
        .expect("created");
    assert!(matches!(
        users.create(new_user("alice", "other@example.com"), registered()),
        Err(CreateUserError::UsernameTaken)
    ));

    let events = log.list(&everything()).expect("listed");
    assert_eq!(events.len(), 1, "the refused creation wrote nothing");
    assert_eq!(events[0].user_id, Some(alice.id));
    assert_eq!(events[0].client, origin());
}

pub(crate) fn ending_sessions_records_one_event_per_session_with_its_reason_and_origin(
    db: &TestDatabase,
) {
    let store = db.database().sessions();
    let log = db.database().audit_log();
    let alice = create_user(db, "alice");
    let t0 = at("2026-12-01T10:00:00Z");
    let start = |minutes| {
        store
            .start(new_session(alice, t0 + Duration::minutes(minutes)), 10)
            .expect("started")
    };
    let (a, b, c) = (start(0), start(1), start(2));
    let t1 = t0 + Duration::minutes(5);
    let logout = event(AuditKind::LoggedOut, t1)
        .user_id(alice)
        .detail("this");
    assert!(
        store
            .end(
                alice,
                &a.id,
                SessionEnd::LoggedOut,
                t1,
                Effects::new(&origin()).audit(logout)
            )
            .expect("ran")
    );
    // Ending it again ends nothing and records nothing.
    let again = event(AuditKind::LoggedOut, t1).user_id(alice);
    assert!(
        !store
            .end(
                alice,
                &a.id,
                SessionEnd::LoggedOut,
                t1,
                Effects::new(&origin()).audit(again)
            )
            .expect("ran")
    );
    let t2 = t0 + Duration::minutes(6);
    assert_eq!(
        store
            .end_all(
                alice,
                Some(c.id.clone()),
                SessionEnd::Revoked,
                t2,
                Effects::new(&origin())
            )
            .expect("ran"),
        1
    );
    assert_eq!(
        store
            .end_all(
                alice,
                Some(c.id.clone()),
                SessionEnd::Revoked,
                t2,
                Effects::new(&origin())
            )
            .expect("ran"),
        0
    );

    let events = log.list(&everything()).expect("listed");
    let ended: Vec<_> = events
        .iter()
        .filter(|event| event.kind == AuditKind::SessionEnded)
        .map(|event| (event.session_id.clone(), event.detail.clone(), event.at))
        .collect();
    assert_eq!(
        ended,
        [
            (Some(a.id.clone()), Some("logged_out".into()), t1),
            (Some(b.id.clone()), Some("revoked".into()), t2),
        ]
    );
    assert_eq!(
        events
            .iter()
            .filter(|event| event.kind == AuditKind::LoggedOut)
            .count(),
        1
    );
    assert!(
        events
            .iter()
            .all(|event| event.client == origin() && event.user_id == Some(alice))
    );
}

pub(crate) fn a_session_start_records_its_events_with_its_id_and_each_eviction(db: &TestDatabase) {
    let store = db.database().sessions();
    let log = db.database().audit_log();
    let alice = create_user(db, "alice");
    let t0 = at("2026-12-01T10:00:00Z");
    let first = store.start(new_session(alice, t0), 1).expect("started");
    let t1 = t0 + Duration::minutes(1);
    let second = store
        .start(
            NewSession {
                client: origin(),
                audit: vec![event(AuditKind::LoginSucceeded, t1).user(alice, "alice")],
                ..new_session(alice, t1)
            },
            1,
        )
        .expect("started");

    let events = log.list(&everything()).expect("listed");
    assert_eq!(
        kinds(&events),
        [
            (AuditKind::LoginSucceeded, None),
            (AuditKind::SessionEnded, Some("evicted".into())),
        ]
    );
    assert_eq!(events[0].session_id, Some(second.id));
    assert_eq!(events[1].session_id, Some(first.id));
    assert_eq!(
        events[1].client,
        origin(),
        "from the request that evicted it"
    );
}

pub(crate) fn deactivation_password_change_and_deletion_commit_their_events(db: &TestDatabase) {
    let database = db.database();
    let users = database.users();
    let store = database.sessions();
    let log = database.audit_log();
    let alice = create_user(db, "alice");
    let t0 = at("2026-12-01T10:00:00Z");
    let kept = store.start(new_session(alice, t0), 10).expect("started");
    store.start(new_session(alice, t0), 10).expect("started");
    let changed = event(AuditKind::PasswordChanged, t0).user_id(alice);
    let current = users
        .find_by_id(alice)
        .expect("ran")
        .expect("found")
        .password_hash;
    let new_hash = PasswordHash::new("argon2-new".into());
    assert!(
        users
            .change_password(
                alice,
                &current,
                new_hash.clone(),
                Some(kept.id.clone()),
                t0,
                Effects::new(&origin()).audit(changed.clone()),
            )
            .expect("ran")
    );
    // Decided on a hash replaced meanwhile: nothing is written, no event either.
    assert!(
        !users
            .change_password(
                alice,
                &current,
                new_hash,
                None,
                t0,
                Effects::new(&origin()).audit(changed),
            )
            .expect("ran")
    );
    let t1 = t0 + Duration::minutes(1);
    assert!(
        users
            .deactivate(
                alice,
                t1,
                Effects::new(&origin()).audit(event(AuditKind::UserDeactivated, t1).user_id(alice)),
            )
            .expect("ran")
    );
    assert!(
        users
            .delete(
                alice,
                Effects::new(&origin()).audit(event(AuditKind::AccountDeleted, t1).user_id(alice)),
            )
            .expect("ran")
    );
    assert!(
        !users
            .delete(
                alice,
                Effects::new(&origin()).audit(event(AuditKind::AccountDeleted, t1).user_id(alice)),
            )
            .expect("ran")
    );

    let events = log
        .list(&AuditQuery {
            user_id: Some(alice),
            ..everything()
        })
        .expect("listed");
    assert_eq!(
        kinds(&events),
        [
            (AuditKind::PasswordChanged, None),
            (AuditKind::SessionEnded, Some("password_changed".into())),
            (AuditKind::UserDeactivated, None),
            (AuditKind::SessionEnded, Some("user_deactivated".into())),
            (AuditKind::AccountDeleted, None),
        ],
        "a deleted account's events stay"
    );
}

pub(crate) fn audit_pruning_removes_only_old_events_at_most_a_batch_at_a_time(db: &TestDatabase) {
    let log = db.database().audit_log();
    let t0 = at("2026-12-01T10:00:00Z");
    for minutes in 0..5 {
        log.record(
            event(AuditKind::LoginFailed, t0 + Duration::minutes(minutes)).user_id(UserId::new(1)),
        )
        .expect("recorded");
    }
    let cutoff = t0 + Duration::minutes(3);
    assert_eq!(log.prune(cutoff, 2).expect("pruned"), 2);
    assert_eq!(log.prune(cutoff, 2).expect("pruned"), 1);
    assert_eq!(log.prune(cutoff, 2).expect("pruned"), 0);
    let left = log.list(&everything()).expect("listed");
    assert_eq!(
        left.iter().map(|event| event.at).collect::<Vec<_>>(),
        [cutoff, t0 + Duration::minutes(4)]
    );
}
