//! The contract of the account lifecycle in `UserRepository`: verified and pending addresses,
//! password changes, deletion, and the outbox rows queued with them.

use application::ports::{
    CreateUserError, Effects, MailKind, Outbox, OutboxMessage, OutgoingEmail, ProfileChanges,
    RefreshTokenStore, RepositoryError, SessionStore, ThrottleStore, UpdateUserError,
    UserRepository,
};
use chrono::{DateTime, Duration, Utc};
use domain::{AddressAttempts, NewUser, PasswordHash, SessionEnd, ThrottleKey, User, UserId};
use persistence::testing::TestDatabase;

use super::{at, create_user, email, mails, new_session, new_user, refresh};
use crate::raw;

pub(super) fn mail(kind: MailKind, to: &str) -> OutboxMessage {
    OutboxMessage::Email(OutgoingEmail {
        kind,
        to: email(to),
        subject: format!("{} for {to}", kind.as_str()),
        text: format!("text of {}", kind.as_str()),
        html: format!("<p>html of {}</p>", kind.as_str()),
    })
}

/// Every message due at `now` and not leased, as a fresh worker would claim them.
fn claim_all(db: &TestDatabase, now: DateTime<Utc>) -> Vec<OutboxMessage> {
    db.database()
        .outbox()
        .claim(now, now + Duration::minutes(5), 100)
        .expect("claimed")
        .into_iter()
        .map(|queued| queued.message)
        .collect()
}

fn far_future() -> DateTime<Utc> {
    at("2099-01-01T00:00:00Z")
}

fn found(db: &TestDatabase, id: UserId) -> User {
    db.database()
        .users()
        .find_by_id(id)
        .expect("ran")
        .expect("found")
}

pub(crate) fn a_user_is_created_unverified_unless_said_otherwise_with_no_pending_email(
    db: &TestDatabase,
) {
    let users = db.database().users();
    let (alice, _) = users
        .create(new_user("alice", "alice@example.com"), Effects::default())
        .expect("created");
    let mut verified = new_user("root", "root@example.com");
    verified.email_verified = true;
    let (root, _) = users.create(verified, Effects::default()).expect("created");

    assert!(!alice.email_verified);
    assert!(root.email_verified);
    assert_eq!(alice.pending_email, None);
    assert_eq!(found(db, alice.id), alice);
    assert_eq!(found(db, root.id), root);
    assert_eq!(
        users.find_by_username("root").expect("ran"),
        Some(root.clone())
    );
}

pub(crate) fn a_creation_queues_its_messages_and_a_refused_one_queues_nothing(db: &TestDatabase) {
    let users = db.database().users();
    let mut conn = raw::connect(db);
    let verify = mail(MailKind::VerifyEmail, "alice@example.com");
    users
        .create(
            new_user("alice", "alice@example.com"),
            mails(vec![verify.clone()]),
        )
        .expect("created");
    assert_eq!(raw::count(&mut conn, "outbox"), 1);

    let taken = users.create(
        new_user("bob", "ALICE@example.com"),
        mails(vec![mail(MailKind::VerifyEmail, "ALICE@example.com")]),
    );
    assert!(
        matches!(taken, Err(CreateUserError::EmailTaken)),
        "{taken:?}"
    );
    let taken = users.create(
        new_user("alice", "other@example.com"),
        mails(vec![mail(MailKind::VerifyEmail, "other@example.com")]),
    );
    assert!(
        matches!(taken, Err(CreateUserError::UsernameTaken)),
        "{taken:?}"
    );
    assert_eq!(raw::count(&mut conn, "outbox"), 1);

    let queued = db
        .database()
        .outbox()
        .claim(far_future(), far_future(), 10)
        .expect("claimed");
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].message, verify);
    assert_eq!(
        queued[0].created_at,
        super::joined(),
        "queued when it joined"
    );
    assert_eq!(queued[0].attempts, 0);
}

pub(crate) fn an_update_records_keeps_and_clears_the_pending_email_and_queues_its_messages(
    db: &TestDatabase,
) {
    let users = db.database().users();
    let mut conn = raw::connect(db);
    let (alice, _) = users
        .create(new_user("alice", "alice@example.com"), Effects::default())
        .expect("created");
    let t0 = at("2026-12-03T10:00:00Z");

    let verify = mail(MailKind::VerifyEmail, "Alice@New.example.org");
    let (pending, _) = users
        .update_profile(
            alice.id,
            ProfileChanges {
                pending_email: Some(Some(email("Alice@New.example.org"))),
                ..ProfileChanges::default()
            },
            t0,
            mails(vec![verify.clone()]),
        )
        .expect("updated");
    assert_eq!(pending.pending_email, Some(email("Alice@new.example.org")));
    assert_eq!(
        pending.email, alice.email,
        "the address waits for verification"
    );
    assert_eq!(found(db, alice.id), pending);
    assert_eq!(claim_all(db, t0), [verify]);

    let (kept, _) = users
        .update_profile(alice.id, ProfileChanges::default(), t0, Effects::default())
        .expect("updated");
    assert_eq!(kept.pending_email, pending.pending_email);

    let (cleared, _) = users
        .update_profile(
            alice.id,
            ProfileChanges {
                pending_email: Some(None),
                ..ProfileChanges::default()
            },
            t0,
            Effects::default(),
        )
        .expect("updated");
    assert_eq!(cleared.pending_email, None);
    assert_eq!(found(db, alice.id), cleared);
    assert_eq!(raw::count(&mut conn, "outbox"), 1);
}

pub(crate) fn a_refused_update_queues_nothing(db: &TestDatabase) {
    let users = db.database().users();
    let mut conn = raw::connect(db);
    users
        .create(new_user("alice", "alice@example.com"), Effects::default())
        .expect("created");
    let (bob, _) = users
        .create(new_user("bob", "bob@example.com"), Effects::default())
        .expect("created");
    let t0 = at("2026-12-03T10:00:00Z");

    let taken = users.update_profile(
        bob.id,
        ProfileChanges {
            email: Some(email("Alice@example.com")),
            pending_email: Some(None),
            ..ProfileChanges::default()
        },
        t0,
        mails(vec![mail(MailKind::EmailChanged, "bob@example.com")]),
    );
    assert!(
        matches!(taken, Err(UpdateUserError::EmailTaken)),
        "{taken:?}"
    );
    let unknown = users.update_profile(
        UserId::new(987_654),
        ProfileChanges::default(),
        t0,
        mails(vec![mail(MailKind::EmailChanged, "nobody@example.com")]),
    );
    assert!(
        matches!(unknown, Err(UpdateUserError::NotFound)),
        "{unknown:?}"
    );
    assert_eq!(raw::count(&mut conn, "outbox"), 0);
    assert_eq!(found(db, bob.id), bob);
}

pub(crate) fn a_password_change_ends_the_other_sessions_and_queues_its_messages(db: &TestDatabase) {
    let users = db.database().users();
    let store = db.database().sessions();
    let alice = create_user(db, "alice");
    let bob = create_user(db, "bob");
    let t0 = at("2026-12-03T10:00:00Z");
    let kept = store.start(new_session(alice, t0), 10).expect("started");
    let other = store.start(new_session(alice, t0), 10).expect("started");
    let logged_out = store.start(new_session(alice, t0), 10).expect("started");
    let bobs = store.start(new_session(bob, t0), 10).expect("started");
    let logout_at = t0 + Duration::minutes(1);
    assert!(
        store
            .end(
                alice,
                &logged_out.id,
                SessionEnd::LoggedOut,
                logout_at,
                Effects::default()
            )
            .expect("ran")
    );

    let changed_at = t0 + Duration::minutes(5);
    let notice = mail(MailKind::PasswordChanged, "alice@example.com");
    let hash = PasswordHash::new("$argon2id$v=19$m=19456,t=2,p=1$salt$changed".to_owned());
    assert!(
        users
            .change_password(
                alice,
                &stored_hash(db, alice),
                hash.clone(),
                Some(kept.id.clone()),
                changed_at,
                mails(vec![notice.clone()]),
            )
            .expect("ran")
    );

    assert_eq!(found(db, alice).password_hash, hash);
    let ended = |id| store.find(id).expect("ran").expect("found").ended;
    assert_eq!(ended(&kept.id), None);
    assert_eq!(
        ended(&other.id),
        Some((changed_at, SessionEnd::PasswordChanged))
    );
    assert_eq!(
        ended(&logged_out.id),
        Some((logout_at, SessionEnd::LoggedOut)),
        "the first end is kept"
    );
    assert_eq!(ended(&bobs.id), None);
    let queued = db
        .database()
        .outbox()
        .claim(changed_at, changed_at, 10)
        .expect("claimed");
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].message, notice);
    assert_eq!(queued[0].created_at, changed_at);

    let again = changed_at + Duration::minutes(1);
    assert!(
        users
            .change_password(alice, &hash.clone(), hash, None, again, Effects::default())
            .expect("ran")
    );
    assert_eq!(
        ended(&kept.id),
        Some((again, SessionEnd::PasswordChanged)),
        "without `keep`, every session ends"
    );
}

pub(crate) fn a_password_change_of_an_unknown_user_writes_nothing(db: &TestDatabase) {
    let mut conn = raw::connect(db);
    let changed = db
        .database()
        .users()
        .change_password(
            UserId::new(987_654),
            &PasswordHash::new("$argon2id$nobody".to_owned()),
            PasswordHash::new("$argon2id$nobody".to_owned()),
            None,
            at("2026-12-03T10:00:00Z"),
            mails(vec![mail(MailKind::PasswordChanged, "nobody@example.com")]),
        )
        .expect("ran");
    assert!(!changed);
    assert_eq!(raw::count(&mut conn, "outbox"), 0);
}

pub(crate) fn a_password_change_whose_message_fails_changes_nothing(db: &TestDatabase) {
    let users = db.database().users();
    let store = db.database().sessions();
    let mut conn = raw::connect(db);
    let alice = create_user(db, "alice");
    let t0 = at("2026-12-03T10:00:00Z");
    let session = store.start(new_session(alice, t0), 10).expect("started");
    let before = found(db, alice);
    raw::refuse_outbox_recipient(&mut conn);

    let result = users.change_password(
        alice,
        &before.password_hash,
        PasswordHash::new("$argon2id$changed".to_owned()),
        None,
        t0,
        mails(vec![
            mail(MailKind::PasswordChanged, "alice@example.com"),
            mail(MailKind::PasswordChanged, "refused@example.com"),
        ]),
    );

    assert!(
        matches!(result, Err(RepositoryError::Unexpected(_))),
        "{result:?}"
    );
    assert_eq!(found(db, alice), before);
    assert_eq!(
        store.find(&session.id).expect("ran").expect("found").ended,
        None
    );
    assert_eq!(raw::count(&mut conn, "outbox"), 0);
}

pub(crate) fn confirming_the_own_address_verifies_it_ignoring_case(db: &TestDatabase) {
    let users = db.database().users();
    let alice = create_user(db, "alice");
    let welcome = mail(MailKind::EmailChanged, "alice@example.com");

    let confirmed = users
        .confirm_email(
            alice,
            &email("ALICE@example.com"),
            Utc::now(),
            mails(vec![welcome.clone()]),
        )
        .expect("confirmed");

    assert!(confirmed.email_verified);
    assert_eq!(confirmed.email.as_str(), "alice@example.com");
    assert_eq!(found(db, alice), confirmed);
    assert_eq!(claim_all(db, far_future()), [welcome]);
}

pub(crate) fn confirming_the_pending_address_makes_it_the_address(db: &TestDatabase) {
    let users = db.database().users();
    let alice = create_user(db, "alice");
    users
        .update_profile(
            alice,
            ProfileChanges {
                pending_email: Some(Some(email("Alice@new.example.org"))),
                ..ProfileChanges::default()
            },
            at("2026-12-03T10:00:00Z"),
            Effects::default(),
        )
        .expect("updated");
    let notice = mail(MailKind::EmailChanged, "alice@example.com");

    let confirmed = users
        .confirm_email(
            alice,
            &email("alice@NEW.example.org"),
            Utc::now(),
            mails(vec![notice.clone()]),
        )
        .expect("confirmed");

    assert_eq!(confirmed.email.as_str(), "Alice@new.example.org");
    assert!(confirmed.email_verified);
    assert_eq!(confirmed.pending_email, None);
    assert_eq!(found(db, alice), confirmed);
    assert_eq!(
        users
            .find_by_email(&email("alice@new.example.org"))
            .expect("ran"),
        Some(confirmed)
    );
    assert_eq!(
        users
            .find_by_email(&email("alice@example.com"))
            .expect("ran"),
        None
    );
    assert_eq!(claim_all(db, far_future()), [notice]);
}

pub(crate) fn confirming_an_address_that_is_neither_is_not_found_and_writes_nothing(
    db: &TestDatabase,
) {
    let users = db.database().users();
    let mut conn = raw::connect(db);
    let alice = create_user(db, "alice");
    create_user(db, "bob");
    users
        .update_profile(
            alice,
            ProfileChanges {
                pending_email: Some(Some(email("alice@new.example.org"))),
                ..ProfileChanges::default()
            },
            at("2026-12-03T10:00:00Z"),
            Effects::default(),
        )
        .expect("updated");
    let before = found(db, alice);

    for (id, address) in [
        (alice, "bob@example.com"),
        (alice, "someone@example.com"),
        (UserId::new(987_654), "alice@example.com"),
    ] {
        let result = users.confirm_email(
            id,
            &email(address),
            Utc::now(),
            mails(vec![mail(MailKind::EmailChanged, "alice@example.com")]),
        );
        assert!(
            matches!(result, Err(UpdateUserError::NotFound)),
            "{address}: {result:?}"
        );
    }
    assert_eq!(found(db, alice), before);
    assert_eq!(raw::count(&mut conn, "outbox"), 0);
}

pub(crate) fn confirming_a_pending_address_taken_meanwhile_is_refused(db: &TestDatabase) {
    let users = db.database().users();
    let mut conn = raw::connect(db);
    let alice = create_user(db, "alice");
    users
        .update_profile(
            alice,
            ProfileChanges {
                pending_email: Some(Some(email("shared@example.org"))),
                ..ProfileChanges::default()
            },
            at("2026-12-03T10:00:00Z"),
            Effects::default(),
        )
        .expect("updated");
    users
        .create(new_user("carol", "SHARED@example.org"), Effects::default())
        .expect("the pending address is not reserved");
    let before = found(db, alice);

    let result = users.confirm_email(
        alice,
        &email("shared@example.org"),
        Utc::now(),
        mails(vec![mail(MailKind::EmailChanged, "alice@example.com")]),
    );

    assert!(
        matches!(result, Err(UpdateUserError::EmailTaken)),
        "{result:?}"
    );
    assert_eq!(found(db, alice), before);
    assert_eq!(raw::count(&mut conn, "outbox"), 0);
}

pub(crate) fn deleting_a_user_removes_its_profile_sessions_and_refresh_tokens(db: &TestDatabase) {
    let users = db.database().users();
    let store = db.database().sessions();
    let tokens = db.database().refresh_tokens();
    let mut conn = raw::connect(db);
    let alice = create_user(db, "alice");
    let bob = create_user(db, "bob");
    let t0 = at("2026-12-03T10:00:00Z");
    let alices = store.start(new_session(alice, t0), 5).expect("started");
    let bobs = store.start(new_session(bob, t0), 5).expect("started");
    let alices_token = refresh(&alices, t0);
    tokens.record(&alices_token).expect("recorded");
    tokens.revoke(&refresh(&alices, t0), t0).expect("revoked");
    tokens.record(&refresh(&bobs, t0)).expect("recorded");
    let throttle = db.database().throttle();
    let key = ThrottleKey::new("203.0.113.7", "alice");
    throttle
        .record_success(
            &key,
            &application::ports::Expiring {
                record: AddressAttempts {
                    failures: 0,
                    last_failure_at: None,
                    signed_in_at: Some(t0),
                },
                expires_at: t0 + Duration::days(30),
            },
        )
        .expect("recorded");

    assert!(users.delete(alice, Effects::default()).expect("ran"));

    assert_eq!(users.find_by_id(alice).expect("ran"), None);
    assert_eq!(users.find_profile(alice).expect("ran"), None);
    assert_eq!(store.find(&alices.id).expect("ran"), None);
    let of = |id: UserId| format!("user_id = {}", id.get());
    assert_eq!(raw::count_where(&mut conn, "refresh_tokens", &of(alice)), 0);
    assert_eq!(raw::count_where(&mut conn, "refresh_tokens", &of(bob)), 1);
    assert_eq!(raw::count(&mut conn, "sessions"), 1);
    assert_eq!(raw::count(&mut conn, "profiles"), 1);
    assert!(found(db, bob).is_active);
    assert!(
        throttle.load(&key).expect("ran").address.is_some(),
        "throttle rows are not the user's and stay"
    );

    assert!(
        !users.delete(alice, Effects::default()).expect("ran"),
        "already gone"
    );
    assert!(
        !users
            .delete(UserId::new(987_654), Effects::default())
            .expect("ran")
    );
}

pub(crate) fn a_deleted_users_name_and_address_may_be_registered_again_under_a_new_id(
    db: &TestDatabase,
) {
    let users = db.database().users();
    let alice = create_user(db, "alice");
    assert!(users.delete(alice, Effects::default()).expect("ran"));
    let (again, _) = users
        .create(new_user("alice", "Alice@example.com"), Effects::default())
        .expect("created");
    assert_ne!(
        again.id, alice,
        "a deleted user's tokens must never name a new user"
    );
}

pub(crate) fn an_address_in_another_mailbox_is_unverified_and_a_change_of_case_is_not(
    db: &TestDatabase,
) {
    let users = db.database().users();
    let (alice, _) = users
        .create(
            NewUser {
                email_verified: true,
                ..new_user("alice", "alice@example.com")
            },
            Effects::default(),
        )
        .expect("created");
    let change = |address: &str| {
        users
            .update_profile(
                alice.id,
                ProfileChanges {
                    email: Some(email(address)),
                    ..ProfileChanges::default()
                },
                at("2026-12-03T10:00:00Z"),
                Effects::default(),
            )
            .expect("updated")
            .0
    };
    let recased = change("ALICE@example.com");
    assert!(recased.email_verified, "the same mailbox stays verified");
    let moved = change("alice@elsewhere.example.org");
    assert!(!moved.email_verified);
    assert_eq!(found(db, alice.id), moved);
}

fn stored_hash(db: &TestDatabase, id: UserId) -> PasswordHash {
    found(db, id).password_hash
}

pub(crate) fn a_password_change_decided_on_a_replaced_hash_writes_nothing(db: &TestDatabase) {
    let users = db.database().users();
    let store = db.database().sessions();
    let mut conn = raw::connect(db);
    let alice = create_user(db, "alice");
    let t0 = at("2026-12-03T10:00:00Z");
    let session = store.start(new_session(alice, t0), 10).expect("started");
    let read = stored_hash(db, alice);
    let first = PasswordHash::new("$argon2id$first-reset".to_owned());
    assert!(
        users
            .change_password(alice, &read, first.clone(), None, t0, Effects::default())
            .expect("ran")
    );
    let later = t0 + Duration::seconds(1);
    // A second use of the same reset link, decided on the hash the first one replaced.
    assert!(
        !users
            .change_password(
                alice,
                &read,
                PasswordHash::new("$argon2id$second-reset".to_owned()),
                None,
                later,
                mails(vec![mail(MailKind::PasswordChanged, "alice@example.com")]),
            )
            .expect("ran")
    );
    assert_eq!(stored_hash(db, alice), first);
    assert_eq!(raw::count(&mut conn, "outbox"), 0);
    assert_eq!(
        store.find(&session.id).expect("ran").expect("found").ended,
        Some((t0, SessionEnd::PasswordChanged)),
        "ended by the first change, not again by the second"
    );
    // A login's upgrade decided on the old hash does not bring it back either.
    users
        .set_password_hash(
            alice,
            &read,
            PasswordHash::new("$argon2id$upgraded-old".to_owned()),
        )
        .expect("ran");
    assert_eq!(stored_hash(db, alice), first);
}
