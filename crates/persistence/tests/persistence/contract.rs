//! The contract of the repository ports, written once and run against every backend.

use std::sync::{Arc, Barrier};
use std::thread;

use application::ports::{
    CreateUserError, Effects, HealthProbe, NewSession, OutboxMessage, ProfileChanges,
    RefreshTokenStore, RepositoryError, Rotation, SessionStore, UpdateUserError, UserRepository,
};
use chrono::{DateTime, Duration, Utc};
use domain::{
    ClientInfo, Email, NewUser, PasswordHash, PersonName, Phone, Profile, Session, SessionEnd,
    SessionId, TokenClaims, TokenId, TokenType, User, UserId, Username,
};
use persistence::testing::TestDatabase;
use persistence::{Database, PoolOptions};

use crate::raw;

mod accounts;
mod audit;
mod outbox;
mod throttle;

pub(crate) use accounts::*;
pub(crate) use audit::*;
pub(crate) use outbox::*;
pub(crate) use throttle::*;

/// Effects that only queue `mail`.
pub(super) fn mails(mail: Vec<OutboxMessage>) -> Effects {
    Effects {
        mail,
        ..Effects::default()
    }
}

pub(super) fn at(rfc3339: &str) -> DateTime<Utc> {
    rfc3339.parse().expect("an RFC 3339 time")
}

fn email(raw: &str) -> Email {
    Email::parse(raw).expect("a valid email")
}

fn joined() -> DateTime<Utc> {
    at("2026-11-24T09:15:30.123456Z")
}

fn new_user(username: &str, address: &str) -> NewUser {
    NewUser {
        username: Username::parse(username).expect("a valid username"),
        email: email(address),
        password_hash: PasswordHash::new(format!("$argon2id$v=19$m=19456,t=2,p=1$salt${username}")),
        first_name: PersonName::parse("Alice").expect("a valid name"),
        last_name: PersonName::parse("Liddell").expect("a valid name"),
        phone: Phone::parse("+44 20 7946 0000").expect("a valid phone"),
        is_staff: false,
        is_superuser: false,
        joined_at: joined(),
        email_verified: false,
    }
}

fn claims(jti: &str, user_id: i64, issued_at: DateTime<Utc>) -> TokenClaims {
    TokenClaims {
        token_type: TokenType::Refresh,
        id: TokenId::parse(jti).expect("a valid jti"),
        user_id: UserId::new(user_id),
        issued_at,
        expires_at: issued_at + Duration::days(1),
        session_id: None,
    }
}

/// The user and its profile as stored, through the two lookups the port offers.
fn stored(users: &impl UserRepository, id: UserId) -> Option<(User, Profile)> {
    let user = users.find_by_id(id).expect("ran")?;
    let profile = users.find_profile(id).expect("ran")?;
    Some((user, profile))
}

fn new_jti() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

pub(crate) fn a_created_user_is_found_by_id_username_and_email(db: &TestDatabase) {
    let users = db.database().users();
    let (user, _) = users
        .create(new_user("alice", "Alice@Example.com"), Effects::default())
        .expect("created");

    assert_eq!(user.username.as_str(), "alice");
    assert_eq!(user.email.as_str(), "Alice@example.com");
    assert_eq!(
        users.find_by_id(user.id).expect("found"),
        Some(user.clone())
    );
    assert_eq!(
        users.find_by_username("alice").expect("found"),
        Some(user.clone())
    );
    for address in [
        "Alice@example.com",
        "alice@example.com",
        "ALICE@EXAMPLE.COM",
    ] {
        assert_eq!(
            users.find_by_email(&email(address)).expect("found"),
            Some(user.clone()),
            "{address}"
        );
    }
}

pub(crate) fn a_created_user_is_active_with_a_profile_created_when_the_user_joined(
    db: &TestDatabase,
) {
    let (user, profile) = db
        .database()
        .users()
        .create(new_user("alice", "alice@example.com"), Effects::default())
        .expect("created");

    assert!(user.is_active);
    assert!(!user.is_staff && !user.is_superuser);
    assert_eq!(user.first_name.as_str(), "Alice");
    assert_eq!(user.last_name.as_str(), "Liddell");
    assert_eq!(user.date_joined, joined());
    assert_eq!(user.last_login, None);
    assert_eq!(profile.user_id, user.id);
    assert_eq!(profile.phone.as_str(), "+44 20 7946 0000");
    assert_eq!(profile.created_at, joined());
    assert_eq!(profile.updated_at, joined());
}

pub(crate) fn unknown_users_are_not_found(db: &TestDatabase) {
    let users = db.database().users();
    users
        .create(new_user("alice", "alice@example.com"), Effects::default())
        .expect("created");

    assert_eq!(users.find_by_id(UserId::new(987_654)).expect("ran"), None);
    assert_eq!(users.find_by_username("bob").expect("ran"), None);
    assert_eq!(
        users.find_by_username("not a username!").expect("ran"),
        None
    );
    assert_eq!(
        users.find_by_email(&email("bob@example.com")).expect("ran"),
        None
    );
    assert_eq!(users.find_profile(UserId::new(987_654)).expect("ran"), None);
}

pub(crate) fn usernames_are_unique_but_case_sensitive(db: &TestDatabase) {
    let users = db.database().users();
    let (upper, _) = users
        .create(new_user("Alice", "one@example.com"), Effects::default())
        .expect("created");
    let (lower, _) = users
        .create(new_user("alice", "two@example.com"), Effects::default())
        .expect("a username differing in case is another username");
    assert_ne!(upper.id, lower.id);

    let again = users.create(new_user("alice", "three@example.com"), Effects::default());
    assert!(
        matches!(again, Err(CreateUserError::UsernameTaken)),
        "{again:?}"
    );
    assert_eq!(users.find_by_username("Alice").expect("ran"), Some(upper));
    assert_eq!(users.find_by_username("alice").expect("ran"), Some(lower));
}

pub(crate) fn emails_are_unique_ignoring_case(db: &TestDatabase) {
    let users = db.database().users();
    users
        .create(new_user("alice", "alice@example.com"), Effects::default())
        .expect("created");

    for address in [
        "alice@example.com",
        "ALICE@example.com",
        "Alice@EXAMPLE.com",
    ] {
        let result = users.create(new_user("bob", address), Effects::default());
        assert!(
            matches!(result, Err(CreateUserError::EmailTaken)),
            "{address}: {result:?}"
        );
    }
}

pub(crate) fn a_failed_creation_leaves_neither_user_nor_profile(db: &TestDatabase) {
    let users = db.database().users();
    let mut conn = raw::connect(db);
    users
        .create(new_user("alice", "alice@example.com"), Effects::default())
        .expect("created");
    let _ = users.create(new_user("alice", "other@example.com"), Effects::default());
    let _ = users.create(new_user("other", "ALICE@example.com"), Effects::default());
    assert_eq!(raw::count(&mut conn, "users"), 1);
    assert_eq!(raw::count(&mut conn, "profiles"), 1);

    // The user row is inserted, then the profile fails: the user must go too.
    raw::refuse_phone_555(&mut conn);
    let mut refused = new_user("bob", "bob@example.com");
    refused.phone = Phone::parse("555").expect("a valid phone");
    let result = users.create(refused, Effects::default());
    assert!(
        matches!(
            result,
            Err(CreateUserError::Repository(RepositoryError::Unexpected(_)))
        ),
        "{result:?}"
    );
    assert_eq!(users.find_by_username("bob").expect("ran"), None);
    assert_eq!(raw::count(&mut conn, "users"), 1);
    assert_eq!(raw::count(&mut conn, "profiles"), 1);

    users
        .create(new_user("bob", "bob@example.com"), Effects::default())
        .expect("the username and email of a failed creation are free");
}

pub(crate) fn a_user_is_found_with_its_profile(db: &TestDatabase) {
    let users = db.database().users();
    let created = users
        .create(new_user("alice", "alice@example.com"), Effects::default())
        .expect("created");
    users
        .create(new_user("bob", "bob@example.com"), Effects::default())
        .expect("created");

    assert_eq!(stored(&users, created.0.id), Some(created));
    assert_eq!(users.find_profile(UserId::new(987_654)).expect("ran"), None);
}

pub(crate) fn an_update_changes_only_the_given_fields_and_sets_updated_at(db: &TestDatabase) {
    let users = db.database().users();
    let (user, profile) = users
        .create(new_user("alice", "alice@example.com"), Effects::default())
        .expect("created");

    let first_update = at("2026-11-25T10:00:00.000001Z");
    let phone_only = ProfileChanges {
        phone: Some(Phone::parse("0123").expect("a valid phone")),
        ..ProfileChanges::default()
    };
    let (after_phone, profile_after_phone) = users
        .update_profile(user.id, phone_only, first_update, Effects::default())
        .expect("updated");
    assert_eq!(after_phone, user);
    assert_eq!(profile_after_phone.phone.as_str(), "0123");
    assert_eq!(profile_after_phone.created_at, profile.created_at);
    assert_eq!(profile_after_phone.updated_at, first_update);

    let second_update = at("2026-11-26T11:30:00.5Z");
    let names = ProfileChanges {
        first_name: Some(PersonName::parse("Alicia").expect("a valid name")),
        last_name: Some(PersonName::parse("").expect("a valid name")),
        ..ProfileChanges::default()
    };
    let (after_names, profile_after_names) = users
        .update_profile(user.id, names, second_update, Effects::default())
        .expect("updated");
    assert_eq!(after_names.first_name.as_str(), "Alicia");
    assert_eq!(after_names.last_name.as_str(), "");
    assert_eq!(after_names.email, user.email);
    assert_eq!(profile_after_names.phone.as_str(), "0123");
    assert_eq!(profile_after_names.updated_at, second_update);

    let third_update = at("2026-11-27T00:00:00Z");
    let (unchanged, touched) = users
        .update_profile(
            user.id,
            ProfileChanges::default(),
            third_update,
            Effects::default(),
        )
        .expect("an empty change still sets updated_at");
    assert_eq!(unchanged, after_names);
    assert_eq!(touched.updated_at, third_update);

    let address = ProfileChanges {
        email: Some(email("alicia@example.org")),
        ..ProfileChanges::default()
    };
    let (after_email, _) = users
        .update_profile(user.id, address, third_update, Effects::default())
        .expect("updated");
    assert_eq!(after_email.email.as_str(), "alicia@example.org");
    assert_eq!(stored(&users, user.id), Some((after_email, touched)));
    assert_eq!(
        users
            .find_by_email(&email("alice@example.com"))
            .expect("ran"),
        None
    );
}

pub(crate) fn an_update_to_another_users_email_is_refused_and_changes_nothing(db: &TestDatabase) {
    let users = db.database().users();
    users
        .create(new_user("alice", "alice@example.com"), Effects::default())
        .expect("created");
    let bob = users
        .create(new_user("bob", "bob@example.com"), Effects::default())
        .expect("created");

    let changes = ProfileChanges {
        email: Some(email("ALICE@example.com")),
        phone: Some(Phone::parse("999").expect("a valid phone")),
        ..ProfileChanges::default()
    };
    let result = users.update_profile(
        bob.0.id,
        changes,
        at("2026-12-01T00:00:00Z"),
        Effects::default(),
    );
    assert!(
        matches!(result, Err(UpdateUserError::EmailTaken)),
        "{result:?}"
    );
    assert_eq!(stored(&users, bob.0.id), Some(bob));
}

pub(crate) fn a_user_may_change_the_case_of_their_own_email(db: &TestDatabase) {
    let users = db.database().users();
    let (alice, _) = users
        .create(new_user("alice", "alice@example.com"), Effects::default())
        .expect("created");

    let changes = ProfileChanges {
        email: Some(email("ALICE@example.com")),
        ..ProfileChanges::default()
    };
    let (updated, _) = users
        .update_profile(
            alice.id,
            changes,
            at("2026-12-01T00:00:00Z"),
            Effects::default(),
        )
        .expect("one's own address in another case is not taken");
    assert_eq!(updated.email.as_str(), "ALICE@example.com");
}

pub(crate) fn an_update_of_an_unknown_user_is_not_found(db: &TestDatabase) {
    let users = db.database().users();
    let result = users.update_profile(
        UserId::new(987_654),
        ProfileChanges {
            first_name: Some(PersonName::parse("Nobody").expect("a valid name")),
            ..ProfileChanges::default()
        },
        at("2026-12-01T00:00:00Z"),
        Effects::default(),
    );
    assert!(
        matches!(result, Err(UpdateUserError::NotFound)),
        "{result:?}"
    );
}

pub(crate) fn values_at_every_domain_limit_fit_their_columns(db: &TestDatabase) {
    let users = db.database().users();
    // Two-byte characters throughout: the limits are in characters on both backends.
    let wide = |count: usize| "ü".repeat(count);
    // A local part takes only ASCII and the four letters that fold to it, such as `ſ`.
    let local = "ſ".repeat(63);
    let address = format!("{local}@{}.de", [wide(63), wide(63), wide(59)].join("."));
    let mut user = new_user(&wide(150), "unused@example.com");
    user.email = email(&address);
    user.first_name = PersonName::parse(&wide(150)).expect("a valid name");
    user.last_name = PersonName::parse(&wide(150)).expect("a valid name");
    user.phone = Phone::parse(&wide(20)).expect("a valid phone");
    assert_eq!(user.email.as_str().chars().count(), domain::EMAIL_MAX_CHARS);

    let created = users
        .create(user, Effects::default())
        .expect("every value at its limit is stored");
    assert_eq!(created.0.email.as_str(), address);
    assert_eq!(created.0.username.as_str(), wide(150));
    assert_eq!(stored(&users, created.0.id), Some(created));
}

pub(crate) fn a_login_is_recorded(db: &TestDatabase) {
    let users = db.database().users();
    let (alice, _) = users
        .create(new_user("alice", "alice@example.com"), Effects::default())
        .expect("created");

    let first = at("2026-11-24T10:00:00.654321Z");
    users.record_login(alice.id, first).expect("recorded");
    assert_eq!(
        users
            .find_by_id(alice.id)
            .expect("ran")
            .and_then(|u| u.last_login),
        Some(first)
    );
    let second = at("2026-11-24T11:00:00Z");
    users.record_login(alice.id, second).expect("recorded");
    assert_eq!(
        users
            .find_by_id(alice.id)
            .expect("ran")
            .and_then(|u| u.last_login),
        Some(second)
    );
}

pub(crate) fn a_password_hash_is_replaced(db: &TestDatabase) {
    let users = db.database().users();
    let (alice, _) = users
        .create(new_user("alice", "alice@example.com"), Effects::default())
        .expect("created");
    let (bob, _) = users
        .create(new_user("bob", "bob@example.com"), Effects::default())
        .expect("created");

    let stronger = PasswordHash::new("$argon2id$v=19$m=65536,t=3,p=1$c2FsdA$aGFzaA".to_owned());
    users
        .set_password_hash(alice.id, &alice.password_hash, stronger.clone())
        .expect("replaced");
    assert_eq!(
        users
            .find_by_id(alice.id)
            .expect("ran")
            .map(|u| u.password_hash),
        Some(stronger)
    );
    assert_eq!(
        users
            .find_by_id(bob.id)
            .expect("ran")
            .map(|u| u.password_hash),
        Some(bob.password_hash)
    );
}

pub(crate) fn a_recorded_token_is_not_revoked_until_revoked(db: &TestDatabase) {
    let tokens = db.database().refresh_tokens();
    let issued = claims(&new_jti(), 1, at("2026-11-24T10:00:00Z"));
    tokens.record(&issued).expect("recorded");

    assert!(!tokens.is_revoked(&issued.id).expect("ran"));
    let unknown = TokenId::parse(&new_jti()).expect("a valid jti");
    assert!(!tokens.is_revoked(&unknown).expect("ran"));

    tokens
        .revoke(&issued, at("2026-11-24T11:00:00Z"))
        .expect("revoked");
    assert!(tokens.is_revoked(&issued.id).expect("ran"));
    assert!(!tokens.is_revoked(&unknown).expect("ran"));
}

pub(crate) fn revoking_twice_keeps_the_first_revocation_time(db: &TestDatabase) {
    let tokens = db.database().refresh_tokens();
    let mut conn = raw::connect(db);
    let issued = claims(&new_jti(), 7, at("2026-11-24T10:00:00Z"));
    tokens.record(&issued).expect("recorded");

    let first = at("2026-11-24T11:00:00.111111Z");
    tokens.revoke(&issued, first).expect("revoked");
    tokens
        .revoke(&issued, at("2026-11-24T12:00:00Z"))
        .expect("revoking again is no error");

    let row = raw::token(&mut conn, issued.id.as_str()).expect("the token row");
    assert_eq!(row.revoked_at.map(|t| t.and_utc()), Some(first));
    assert_eq!(raw::count(&mut conn, "refresh_tokens"), 1);
}

pub(crate) fn revoking_an_unknown_token_records_it_as_revoked(db: &TestDatabase) {
    let tokens = db.database().refresh_tokens();
    let mut conn = raw::connect(db);
    let foreign = claims(&new_jti(), 42, at("2026-11-20T08:00:00.000042Z"));
    let revoked_at = at("2026-11-24T12:00:00Z");

    tokens.revoke(&foreign, revoked_at).expect("revoked");

    assert!(tokens.is_revoked(&foreign.id).expect("ran"));
    let row = raw::token(&mut conn, foreign.id.as_str()).expect("the token row");
    assert_eq!(row.user_id, 42);
    assert_eq!(row.issued_at.and_utc(), foreign.issued_at);
    assert_eq!(row.expires_at.and_utc(), foreign.expires_at);
    assert_eq!(row.revoked_at.map(|t| t.and_utc()), Some(revoked_at));
}

pub(crate) fn only_tokens_that_expired_before_now_are_deleted(db: &TestDatabase) {
    let tokens = db.database().refresh_tokens();
    let now = at("2026-11-24T12:00:00.500000Z");
    let expiring = |expires_at: DateTime<Utc>| TokenClaims {
        expires_at,
        ..claims(&new_jti(), 1, at("2026-11-01T00:00:00Z"))
    };
    let long_gone = expiring(now - Duration::days(3));
    let just_gone = expiring(now - Duration::microseconds(1));
    let expiring_now = expiring(now);
    let still_valid = expiring(now + Duration::hours(1));
    for token in [&long_gone, &just_gone, &expiring_now, &still_valid] {
        tokens.record(token).expect("recorded");
    }
    tokens
        .revoke(&long_gone, now - Duration::days(4))
        .expect("revoked");

    assert_eq!(tokens.delete_expired(now, 100).expect("deleted"), 2);
    assert_eq!(tokens.delete_expired(now, 100).expect("deleted"), 0);
    let mut conn = raw::connect(db);
    assert!(raw::token(&mut conn, long_gone.id.as_str()).is_none());
    assert!(raw::token(&mut conn, just_gone.id.as_str()).is_none());
    assert!(raw::token(&mut conn, expiring_now.id.as_str()).is_some());
    assert!(raw::token(&mut conn, still_valid.id.as_str()).is_some());
}

pub(crate) fn times_round_trip_with_microseconds(db: &TestDatabase) {
    let users = db.database().users();
    let tokens = db.database().refresh_tokens();
    let mut conn = raw::connect(db);
    for (i, time) in [
        "2026-11-24T09:15:30.123456Z",
        "2026-11-24T09:15:30.000001Z",
        "2026-11-24T09:15:30.100000Z",
        "2026-11-24T09:15:30Z",
        "1999-12-31T23:59:59.999999Z",
    ]
    .into_iter()
    .enumerate()
    {
        let time = at(time);
        let mut user = new_user(&format!("user{i}"), &format!("user{i}@example.com"));
        user.joined_at = time;
        let (created, profile) = users.create(user, Effects::default()).expect("created");
        assert_eq!(created.date_joined, time);
        assert_eq!(profile.updated_at, time);
        users.record_login(created.id, time).expect("recorded");
        let (found_user, found_profile) = stored(&users, created.id).expect("found");
        assert_eq!(found_user.date_joined, time);
        assert_eq!(found_user.last_login, Some(time));
        assert_eq!(found_profile.created_at, time);

        let token = claims(&new_jti(), created.id.get(), time);
        tokens.record(&token).expect("recorded");
        let row = raw::token(&mut conn, token.id.as_str()).expect("the token row");
        assert_eq!(row.issued_at.and_utc(), time);
    }

    // Nanoseconds are beyond what PostgreSQL keeps; both backends drop them alike.
    let mut user = new_user("nanos", "nanos@example.com");
    user.joined_at = at("2026-11-24T09:15:30.123456789Z");
    let (created, _) = users.create(user, Effects::default()).expect("created");
    assert_eq!(created.date_joined, at("2026-11-24T09:15:30.123456Z"));
    assert_eq!(
        users
            .find_by_id(created.id)
            .expect("ran")
            .map(|u| u.date_joined),
        Some(at("2026-11-24T09:15:30.123456Z"))
    );
}

pub(crate) fn deleting_a_user_deletes_its_profile(db: &TestDatabase) {
    let users = db.database().users();
    let mut conn = raw::connect(db);
    let (alice, _) = users
        .create(new_user("alice", "alice@example.com"), Effects::default())
        .expect("created");
    users
        .create(new_user("bob", "bob@example.com"), Effects::default())
        .expect("created");

    raw::delete_user(&mut conn, alice.id.get());

    assert_eq!(raw::count(&mut conn, "profiles"), 1);
    assert_eq!(users.find_profile(alice.id).expect("ran"), None);
}

pub(crate) fn the_health_check_passes(db: &TestDatabase) {
    db.database().health().check().expect("healthy");
}

/// Runs `create` for each user on its own thread, all released at once.
fn race(db: &TestDatabase, contenders: Vec<NewUser>) -> Vec<Result<i64, CreateUserError>> {
    let barrier = Arc::new(Barrier::new(contenders.len()));
    let handles: Vec<_> = contenders
        .into_iter()
        .map(|user| {
            let users = db.database().users();
            let barrier = Arc::clone(&barrier);
            thread::spawn(move || {
                barrier.wait();
                users
                    .create(user, Effects::default())
                    .map(|(user, _)| user.id.get())
            })
        })
        .collect();
    handles
        .into_iter()
        .map(|handle| handle.join().expect("the thread did not panic"))
        .collect()
}

pub(crate) fn concurrent_registrations_with_one_email_create_one_user(db: &TestDatabase) {
    let contenders = (0..8)
        .map(|i| {
            // Each contender writes the address in another case: r@, R@, rA@…
            let local: String = "race"
                .chars()
                .enumerate()
                .map(|(bit, c)| {
                    if i & (1 << bit) == 0 {
                        c
                    } else {
                        c.to_ascii_uppercase()
                    }
                })
                .collect();
            new_user(&format!("racer{i}"), &format!("{local}@Example.com"))
        })
        .collect();

    let results = race(db, contenders);

    let created = results.iter().filter(|result| result.is_ok()).count();
    let taken = results
        .iter()
        .filter(|result| matches!(result, Err(CreateUserError::EmailTaken)))
        .count();
    assert_eq!((created, taken), (1, 7), "{results:?}");
    let mut conn = raw::connect(db);
    assert_eq!(raw::count_emails(&mut conn, "race@example.com"), 1);
    assert_eq!(raw::count(&mut conn, "users"), 1);
    assert_eq!(raw::count(&mut conn, "profiles"), 1);
}

pub(crate) fn concurrent_registrations_with_one_username_create_one_user(db: &TestDatabase) {
    let contenders = (0..8)
        .map(|i| new_user("racer", &format!("racer{i}@example.com")))
        .collect();

    let results = race(db, contenders);

    let created = results.iter().filter(|result| result.is_ok()).count();
    let taken = results
        .iter()
        .filter(|result| matches!(result, Err(CreateUserError::UsernameTaken)))
        .count();
    assert_eq!((created, taken), (1, 7), "{results:?}");
    let mut conn = raw::connect(db);
    assert_eq!(raw::count(&mut conn, "users"), 1);
    assert_eq!(raw::count(&mut conn, "profiles"), 1);
}

/// A pool over `db` with one connection per contender, so that all of them really meet in the
/// database.
pub(crate) fn contending(db: &TestDatabase, contenders: usize) -> Database {
    Database::connect(
        db.url(),
        PoolOptions {
            max_size: u32::try_from(contenders).expect("fits"),
            connection_timeout: std::time::Duration::from_secs(30),
            ..PoolOptions::default()
        },
    )
    .expect("connected")
}

fn create_user(db: &TestDatabase, username: &str) -> UserId {
    let (user, _) = db
        .database()
        .users()
        .create(
            new_user(username, &format!("{username}@example.com")),
            Effects::default(),
        )
        .expect("created");
    user.id
}

fn new_session(user_id: UserId, created_at: DateTime<Utc>) -> NewSession {
    NewSession {
        user_id,
        created_at,
        expires_at: created_at + Duration::days(1),
        absolute_expires_at: created_at + Duration::days(30),
        client: ClientInfo::new("203.0.113.7", "Mozilla/5.0 (X11; Linux x86_64)"),
        audit: Vec::new(),
    }
}

/// A refresh token of the session, as the codec would issue it.
fn refresh(session: &Session, issued_at: DateTime<Utc>) -> TokenClaims {
    TokenClaims {
        session_id: Some(session.id.clone()),
        ..claims(&new_jti(), session.user_id.get(), issued_at)
    }
}

fn ids(sessions: &[Session]) -> Vec<&SessionId> {
    sessions.iter().map(|session| &session.id).collect()
}

fn unknown_session_id() -> SessionId {
    SessionId::parse(&new_jti()).expect("hex")
}

pub(crate) fn a_started_session_is_found_and_listed_while_live(db: &TestDatabase) {
    let store = db.database().sessions();
    let alice = create_user(db, "alice");
    let started_at = at("2026-12-01T10:00:00.123456Z");

    let session = store
        .start(new_session(alice, started_at), 5)
        .expect("started");

    assert_eq!(session.id.as_str().len(), 32);
    assert!(
        session
            .id
            .as_str()
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
        "{}",
        session.id
    );
    assert_eq!(session.user_id, alice);
    assert_eq!(session.created_at, started_at);
    assert_eq!(session.last_used_at, started_at);
    assert_eq!(session.expires_at, started_at + Duration::days(1));
    assert_eq!(session.absolute_expires_at, started_at + Duration::days(30));
    assert_eq!(session.client.ip_address(), "203.0.113.7");
    assert_eq!(
        session.client.user_agent(),
        "Mozilla/5.0 (X11; Linux x86_64)"
    );
    assert_eq!(session.ended, None);
    assert_eq!(store.find(&session.id).expect("ran"), Some(session.clone()));
    assert_eq!(
        store.list_live(alice, started_at).expect("ran"),
        std::slice::from_ref(&session)
    );

    let expired = session.expires_at;
    assert_eq!(store.list_live(alice, expired).expect("ran"), []);
    assert_eq!(
        store.find(&session.id).expect("ran"),
        Some(session),
        "an expired session is still found"
    );
    assert_eq!(store.find(&unknown_session_id()).expect("ran"), None);
}

pub(crate) fn live_sessions_are_listed_most_recently_used_first(db: &TestDatabase) {
    let store = db.database().sessions();
    let alice = create_user(db, "alice");
    let bob = create_user(db, "bob");
    let t0 = at("2026-12-01T10:00:00Z");
    let first = store.start(new_session(alice, t0), 10).expect("started");
    let second = store
        .start(new_session(alice, t0 + Duration::minutes(1)), 10)
        .expect("started");
    let third = store
        .start(new_session(alice, t0 + Duration::minutes(2)), 10)
        .expect("started");
    store
        .start(new_session(bob, t0 + Duration::minutes(3)), 10)
        .expect("started");
    let now = t0 + Duration::minutes(10);
    store.touch(&first.id, now).expect("touched");
    assert!(
        store
            .end(
                alice,
                &second.id,
                SessionEnd::LoggedOut,
                now,
                Effects::default()
            )
            .expect("ran")
    );

    let live = store.list_live(alice, now).expect("ran");
    assert_eq!(ids(&live), [&first.id, &third.id]);
    assert_eq!(live[0].last_used_at, now);
}

pub(crate) fn a_touch_moves_only_last_used_at(db: &TestDatabase) {
    let store = db.database().sessions();
    let alice = create_user(db, "alice");
    let session = store
        .start(new_session(alice, at("2026-12-01T10:00:00Z")), 5)
        .expect("started");
    let later = at("2026-12-01T11:30:00.000001Z");

    store.touch(&session.id, later).expect("touched");
    store
        .touch(&unknown_session_id(), later)
        .expect("touching an unknown session is no error");

    let touched = store.find(&session.id).expect("ran").expect("found");
    assert_eq!(
        touched,
        Session {
            last_used_at: later,
            ..session
        }
    );
}

pub(crate) fn a_session_ends_once_and_only_for_its_user(db: &TestDatabase) {
    let store = db.database().sessions();
    let alice = create_user(db, "alice");
    let bob = create_user(db, "bob");
    let session = store
        .start(new_session(alice, at("2026-12-01T10:00:00Z")), 5)
        .expect("started");
    let first_end = at("2026-12-01T12:00:00.5Z");

    assert!(
        !store
            .end(
                bob,
                &session.id,
                SessionEnd::Revoked,
                first_end,
                Effects::default()
            )
            .expect("ran"),
        "another user's session"
    );
    assert_eq!(
        store.find(&session.id).expect("ran").expect("found").ended,
        None
    );
    assert!(
        store
            .end(
                alice,
                &session.id,
                SessionEnd::Revoked,
                first_end,
                Effects::default()
            )
            .expect("ran")
    );
    assert!(
        !store
            .end(
                alice,
                &session.id,
                SessionEnd::LoggedOut,
                first_end + Duration::hours(1),
                Effects::default()
            )
            .expect("ran"),
        "already ended"
    );
    assert!(
        !store
            .end(
                alice,
                &unknown_session_id(),
                SessionEnd::LoggedOut,
                first_end,
                Effects::default()
            )
            .expect("ran")
    );

    let ended = store.find(&session.id).expect("ran").expect("found");
    assert_eq!(ended.ended, Some((first_end, SessionEnd::Revoked)));
    assert_eq!(store.list_live(alice, first_end).expect("ran"), []);
}

pub(crate) fn ending_all_sessions_can_keep_one(db: &TestDatabase) {
    let store = db.database().sessions();
    let alice = create_user(db, "alice");
    let bob = create_user(db, "bob");
    let t0 = at("2026-12-01T10:00:00Z");
    let start = |user, minutes| {
        store
            .start(new_session(user, t0 + Duration::minutes(minutes)), 10)
            .expect("started")
    };
    let (a, b, c, d) = (
        start(alice, 0),
        start(alice, 1),
        start(alice, 2),
        start(alice, 3),
    );
    let bobs = start(bob, 4);
    let logged_out = t0 + Duration::minutes(5);
    assert!(
        store
            .end(
                alice,
                &d.id,
                SessionEnd::LoggedOut,
                logged_out,
                Effects::default()
            )
            .expect("ran")
    );
    let now = t0 + Duration::minutes(10);

    let ended = store
        .end_all(
            alice,
            Some(b.id.clone()),
            SessionEnd::PasswordChanged,
            now,
            Effects::default(),
        )
        .expect("ran");

    assert_eq!(ended, 2);
    assert_eq!(ids(&store.list_live(alice, now).expect("ran")), [&b.id]);
    for session in [&a, &c] {
        assert_eq!(
            store.find(&session.id).expect("ran").expect("found").ended,
            Some((now, SessionEnd::PasswordChanged))
        );
    }
    assert_eq!(
        store.find(&d.id).expect("ran").expect("found").ended,
        Some((logged_out, SessionEnd::LoggedOut)),
        "an ended session keeps its first end"
    );

    let later = now + Duration::minutes(1);
    assert_eq!(
        store
            .end_all(
                alice,
                None,
                SessionEnd::LoggedOut,
                later,
                Effects::default()
            )
            .expect("ran"),
        1
    );
    assert_eq!(store.list_live(alice, later).expect("ran"), []);
    assert_eq!(
        ids(&store.list_live(bob, later).expect("ran")),
        [&bobs.id],
        "another user's sessions are untouched"
    );
}

pub(crate) fn starting_beyond_the_cap_evicts_the_least_recently_used(db: &TestDatabase) {
    let store = db.database().sessions();
    let alice = create_user(db, "alice");
    let bob = create_user(db, "bob");
    let t0 = at("2026-12-01T10:00:00Z");
    let start = |user, minutes, cap| {
        store
            .start(new_session(user, t0 + Duration::minutes(minutes)), cap)
            .expect("started")
    };
    let a = start(alice, 0, 3);
    let b = start(alice, 1, 3);
    let c = start(alice, 2, 3);
    let bobs = start(bob, 3, 1);
    store
        .touch(&a.id, t0 + Duration::minutes(4))
        .expect("touched");

    let d = start(alice, 5, 3);

    let now = d.created_at;
    assert_eq!(
        ids(&store.list_live(alice, now).expect("ran")),
        [&d.id, &a.id, &c.id]
    );
    assert_eq!(
        store.find(&b.id).expect("ran").expect("found").ended,
        Some((now, SessionEnd::Evicted))
    );

    let e = start(alice, 6, 1);
    let now = e.created_at;
    assert_eq!(ids(&store.list_live(alice, now).expect("ran")), [&e.id]);
    for session in [&a, &c, &d] {
        assert_eq!(
            store.find(&session.id).expect("ran").expect("found").ended,
            Some((now, SessionEnd::Evicted))
        );
    }
    assert_eq!(
        store.find(&b.id).expect("ran").expect("found").ended,
        Some((d.created_at, SessionEnd::Evicted)),
        "an evicted session keeps its first end"
    );
    assert_eq!(
        ids(&store.list_live(bob, now).expect("ran")),
        [&bobs.id],
        "another user's sessions do not count"
    );
}

pub(crate) fn expired_sessions_do_not_count_towards_the_cap(db: &TestDatabase) {
    let store = db.database().sessions();
    let alice = create_user(db, "alice");
    let t0 = at("2026-12-01T10:00:00Z");
    let old = store.start(new_session(alice, t0), 2).expect("started");
    let live = store
        .start(new_session(alice, t0 + Duration::hours(23)), 2)
        .expect("started");

    let after_old_expired = t0 + Duration::hours(25);
    let newest = store
        .start(new_session(alice, after_old_expired), 2)
        .expect("started");

    assert_eq!(
        ids(&store.list_live(alice, after_old_expired).expect("ran")),
        [&newest.id, &live.id]
    );
    assert_eq!(
        store.find(&old.id).expect("ran").expect("found").ended,
        None,
        "an expired session is not evicted"
    );
}

pub(crate) fn a_user_is_found_with_its_own_session_and_its_profile(db: &TestDatabase) {
    let users = db.database().users();
    let store = db.database().sessions();
    let alice = create_user(db, "alice");
    let bob = create_user(db, "bob");
    let t0 = at("2026-12-01T10:00:00.000042Z");
    let alices = store.start(new_session(alice, t0), 5).expect("started");
    let bobs = store.start(new_session(bob, t0), 5).expect("started");
    let alice_user = users.find_by_id(alice).expect("ran").expect("found");
    let alice_profile = users.find_profile(alice).expect("ran").expect("found");

    assert_eq!(
        users
            .find_with_profile(alice, Some(alices.id.clone()))
            .expect("ran"),
        Some((
            alice_user.clone(),
            Some(alices.clone()),
            Some(alice_profile.clone())
        ))
    );
    assert_eq!(
        users
            .find_with_profile(alice, Some(bobs.id.clone()))
            .expect("ran"),
        Some((alice_user.clone(), None, Some(alice_profile.clone()))),
        "another user's session"
    );
    assert_eq!(
        users.find_with_profile(alice, None).expect("ran"),
        Some((alice_user, None, Some(alice_profile))),
        "no session asked for"
    );
    assert_eq!(
        users
            .find_with_profile(UserId::new(987_654), Some(alices.id))
            .expect("ran"),
        None
    );
}

pub(crate) fn a_user_is_found_with_its_own_session_only(db: &TestDatabase) {
    let users = db.database().users();
    let store = db.database().sessions();
    let alice = create_user(db, "alice");
    let bob = create_user(db, "bob");
    let t0 = at("2026-12-01T10:00:00.000042Z");
    let alices = store.start(new_session(alice, t0), 5).expect("started");
    let bobs = store.start(new_session(bob, t0), 5).expect("started");
    let alice_user = users.find_by_id(alice).expect("ran").expect("found");

    assert_eq!(
        users.find_with_session(alice, &alices.id).expect("ran"),
        Some((alice_user.clone(), Some(alices.clone())))
    );
    assert_eq!(
        users.find_with_session(alice, &bobs.id).expect("ran"),
        Some((alice_user.clone(), None)),
        "another user's session"
    );
    assert_eq!(
        users
            .find_with_session(alice, &unknown_session_id())
            .expect("ran"),
        Some((alice_user.clone(), None))
    );
    assert_eq!(
        users
            .find_with_session(UserId::new(987_654), &alices.id)
            .expect("ran"),
        None
    );

    let ended_at = t0 + Duration::hours(1);
    store
        .end(
            alice,
            &alices.id,
            SessionEnd::LoggedOut,
            ended_at,
            Effects::default(),
        )
        .expect("ran");
    assert_eq!(
        users.find_with_session(alice, &alices.id).expect("ran"),
        Some((
            alice_user,
            Some(Session {
                ended: Some((ended_at, SessionEnd::LoggedOut)),
                ..alices
            })
        )),
        "an ended session is found, ended"
    );
}

pub(crate) fn deactivating_a_user_ends_its_sessions_and_reactivating_keeps_them_ended(
    db: &TestDatabase,
) {
    let users = db.database().users();
    let store = db.database().sessions();
    let alice = create_user(db, "alice");
    let bob = create_user(db, "bob");
    let t0 = at("2026-12-01T10:00:00Z");
    let live = store.start(new_session(alice, t0), 5).expect("started");
    let logged_out = store.start(new_session(alice, t0), 5).expect("started");
    let bobs = store.start(new_session(bob, t0), 5).expect("started");
    let logged_out_at = t0 + Duration::minutes(1);
    store
        .end(
            alice,
            &logged_out.id,
            SessionEnd::LoggedOut,
            logged_out_at,
            Effects::default(),
        )
        .expect("ran");
    let deactivated_at = t0 + Duration::minutes(2);

    assert!(
        users
            .deactivate(alice, deactivated_at, Effects::default())
            .expect("ran")
    );

    assert!(
        !users
            .find_by_id(alice)
            .expect("ran")
            .expect("found")
            .is_active
    );
    assert_eq!(
        store.find(&live.id).expect("ran").expect("found").ended,
        Some((deactivated_at, SessionEnd::UserDeactivated))
    );
    assert_eq!(
        store
            .find(&logged_out.id)
            .expect("ran")
            .expect("found")
            .ended,
        Some((logged_out_at, SessionEnd::LoggedOut))
    );
    assert!(
        users
            .find_by_id(bob)
            .expect("ran")
            .expect("found")
            .is_active
    );
    assert_eq!(
        store.find(&bobs.id).expect("ran").expect("found").ended,
        None
    );

    assert!(users.reactivate(alice, Effects::default()).expect("ran"));
    assert!(
        users
            .find_by_id(alice)
            .expect("ran")
            .expect("found")
            .is_active
    );
    assert_eq!(store.list_live(alice, deactivated_at).expect("ran"), []);
    assert_eq!(
        store.find(&live.id).expect("ran").expect("found").ended,
        Some((deactivated_at, SessionEnd::UserDeactivated))
    );

    let nobody = UserId::new(987_654);
    assert!(
        !users
            .deactivate(nobody, deactivated_at, Effects::default())
            .expect("ran")
    );
    assert!(!users.reactivate(nobody, Effects::default()).expect("ran"));
}

pub(crate) fn deleting_a_user_deletes_its_sessions(db: &TestDatabase) {
    let store = db.database().sessions();
    let mut conn = raw::connect(db);
    let alice = create_user(db, "alice");
    let bob = create_user(db, "bob");
    let t0 = at("2026-12-01T10:00:00Z");
    let alices = store.start(new_session(alice, t0), 5).expect("started");
    store.start(new_session(bob, t0), 5).expect("started");

    raw::delete_user(&mut conn, alice.get());

    assert_eq!(store.find(&alices.id).expect("ran"), None);
    assert_eq!(raw::count(&mut conn, "sessions"), 1);
}

pub(crate) fn a_rotation_is_won_once_and_then_reports_the_successor(db: &TestDatabase) {
    let tokens = db.database().refresh_tokens();
    let store = db.database().sessions();
    let mut conn = raw::connect(db);
    let alice = create_user(db, "alice");
    let t0 = at("2026-12-01T10:00:00.000001Z");
    let session = store.start(new_session(alice, t0), 5).expect("started");
    let spent = refresh(&session, t0);
    tokens.record(&spent).expect("recorded");
    let first_use = t0 + Duration::minutes(5);
    let successor = refresh(&session, first_use);

    assert_eq!(
        store.rotate(&spent, &successor, first_use).expect("ran"),
        Rotation::Won
    );
    assert!(
        raw::token(&mut conn, successor.id.as_str()).is_none(),
        "a rotation writes the session only"
    );
    assert!(!tokens.is_revoked(&successor.id).expect("ran"));
    assert_eq!(
        store.find(&session.id).expect("ran").expect("found"),
        Session {
            last_used_at: first_use,
            expires_at: successor.expires_at,
            ..session.clone()
        }
    );

    let second_use = first_use + Duration::seconds(3);
    let late = refresh(&session, second_use);
    assert_eq!(
        store.rotate(&spent, &late, second_use).expect("ran"),
        Rotation::Spent {
            used_at: first_use,
            successor: successor.clone(),
        }
    );
    assert_eq!(
        store
            .find(&session.id)
            .expect("ran")
            .expect("found")
            .last_used_at,
        first_use,
        "a lost rotation does not touch the session"
    );

    let next = refresh(&session, second_use);
    assert_eq!(
        store.rotate(&successor, &next, second_use).expect("ran"),
        Rotation::Won,
        "the successor rotates in turn"
    );
    assert_eq!(
        store.rotate(&successor, &late, second_use).expect("ran"),
        Rotation::Spent {
            used_at: second_use,
            successor: next.clone(),
        },
        "the last rotation's loser gets the current token"
    );
    assert_eq!(
        store.rotate(&spent, &late, second_use).expect("ran"),
        Rotation::Superseded,
        "a token two rotations back is a reuse"
    );
    assert_eq!(
        store.find(&session.id).expect("ran").expect("found"),
        Session {
            last_used_at: second_use,
            expires_at: next.expires_at,
            ..session
        }
    );
}

pub(crate) fn concurrent_rotations_of_one_token_have_one_winner(db: &TestDatabase) {
    const CONTENDERS: usize = 16;
    let database = contending(db, CONTENDERS);
    let alice = create_user(db, "alice");
    let t0 = at("2026-12-01T10:00:00Z");
    let session = database
        .sessions()
        .start(new_session(alice, t0), 5)
        .expect("started");
    let spent = refresh(&session, t0);
    database.refresh_tokens().record(&spent).expect("recorded");
    let barrier = Arc::new(Barrier::new(CONTENDERS));

    let handles: Vec<_> = (0..CONTENDERS)
        .map(|i| {
            let store = database.sessions();
            let barrier = Arc::clone(&barrier);
            let spent = spent.clone();
            let at =
                t0 + Duration::minutes(1) + Duration::microseconds(i64::try_from(i).expect("fits"));
            let successor = refresh(&session, at);
            thread::spawn(move || {
                barrier.wait();
                let rotation = store.rotate(&spent, &successor, at);
                (successor, at, rotation)
            })
        })
        .collect();
    let results: Vec<_> = handles
        .into_iter()
        .map(|handle| handle.join().expect("the thread did not panic"))
        .collect();

    let winners: Vec<_> = results
        .iter()
        .filter(|(_, _, rotation)| matches!(rotation, Ok(Rotation::Won)))
        .collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    let (winning_successor, won_at, _) = winners[0];
    let spent_reports = results
        .iter()
        .filter(|(_, _, rotation)| {
            matches!(rotation, Ok(Rotation::Spent { used_at, successor })
                if used_at == won_at && successor == winning_successor)
        })
        .count();
    assert_eq!(spent_reports, CONTENDERS - 1, "{results:?}");
    let live = database
        .sessions()
        .find(&session.id)
        .expect("ran")
        .expect("found");
    assert_eq!(
        (live.last_used_at, live.expires_at),
        (*won_at, winning_successor.expires_at),
        "the session moved once, with the winner"
    );
}

pub(crate) fn rotating_a_token_of_no_live_session_of_its_user_is_unknown(db: &TestDatabase) {
    let store = db.database().sessions();
    let alice = create_user(db, "alice");
    let bob = create_user(db, "bob");
    let t0 = at("2026-12-01T10:00:00Z");
    let session = store.start(new_session(alice, t0), 5).expect("started");
    let ended = store.start(new_session(alice, t0), 5).expect("started");
    store
        .end(
            alice,
            &ended.id,
            SessionEnd::LoggedOut,
            t0,
            Effects::default(),
        )
        .expect("ran");
    let now = t0 + Duration::minutes(1);

    let of_ended = refresh(&ended, t0);
    assert_eq!(
        store
            .rotate(&of_ended, &refresh(&ended, now), now)
            .expect("ran"),
        Rotation::Unknown,
        "an ended session"
    );

    let bobs_claims = |claims: TokenClaims| TokenClaims {
        user_id: bob,
        ..claims
    };
    assert_eq!(
        store
            .rotate(
                &bobs_claims(refresh(&session, t0)),
                &bobs_claims(refresh(&session, now)),
                now
            )
            .expect("ran"),
        Rotation::Unknown,
        "another user's session"
    );

    let gone = Session {
        id: unknown_session_id(),
        ..session.clone()
    };
    assert_eq!(
        store
            .rotate(&refresh(&gone, t0), &refresh(&gone, now), now)
            .expect("ran"),
        Rotation::Unknown,
        "a session that does not exist"
    );

    let without_session = TokenClaims {
        session_id: None,
        ..refresh(&session, t0)
    };
    assert_eq!(
        store
            .rotate(&without_session, &refresh(&session, now), now)
            .expect("ran"),
        Rotation::Unknown,
        "a token from before sessions"
    );
    assert_eq!(
        store.find(&session.id).expect("ran").expect("found"),
        session,
        "nothing moved"
    );
}

pub(crate) fn pruning_removes_only_ended_or_expired_sessions_at_most_a_batch_at_a_time(
    db: &TestDatabase,
) {
    let store = db.database().sessions();
    let tokens = db.database().refresh_tokens();
    let mut conn = raw::connect(db);
    let alice = create_user(db, "alice");
    let now = at("2026-12-10T12:00:00.500000Z");
    let start = |new: NewSession| store.start(new, 100).expect("started");

    let live = start(new_session(alice, now - Duration::hours(1)));
    let expiring_now = start(NewSession {
        expires_at: now,
        ..new_session(alice, now - Duration::hours(1))
    });
    let ended = start(new_session(alice, now - Duration::hours(1)));
    store
        .end(
            alice,
            &ended.id,
            SessionEnd::LoggedOut,
            now - Duration::minutes(1),
            Effects::default(),
        )
        .expect("ran");
    let expired = start(NewSession {
        expires_at: now - Duration::microseconds(1),
        ..new_session(alice, now - Duration::days(1))
    });
    let past_lifetime = start(NewSession {
        expires_at: now + Duration::hours(1),
        absolute_expires_at: now - Duration::seconds(1),
        ..new_session(alice, now - Duration::days(30))
    });
    let token = refresh(&ended, now - Duration::hours(1));
    tokens.record(&token).expect("recorded");

    assert_eq!(store.prune(now, 2).expect("pruned"), 2);
    assert_eq!(store.prune(now, 2).expect("pruned"), 1);
    assert_eq!(store.prune(now, 2).expect("pruned"), 0);

    for gone in [&ended, &expired, &past_lifetime] {
        assert_eq!(store.find(&gone.id).expect("ran"), None);
    }
    for kept in [&live, &expiring_now] {
        assert!(store.find(&kept.id).expect("ran").is_some());
    }
    assert!(
        raw::token(&mut conn, token.id.as_str()).is_some(),
        "pruning a session leaves its tokens"
    );
}

pub(crate) fn expired_tokens_are_deleted_at_most_a_batch_at_a_time(db: &TestDatabase) {
    let tokens = db.database().refresh_tokens();
    let mut conn = raw::connect(db);
    let now = at("2026-12-10T12:00:00Z");
    for _ in 0..5 {
        tokens
            .record(&claims(&new_jti(), 1, now - Duration::days(2)))
            .expect("recorded");
    }
    let valid = claims(&new_jti(), 1, now);
    tokens.record(&valid).expect("recorded");

    let batches: Vec<u64> = (0..4)
        .map(|_| tokens.delete_expired(now, 2).expect("deleted"))
        .collect();

    assert_eq!(batches, [2, 2, 1, 0]);
    assert_eq!(raw::count(&mut conn, "refresh_tokens"), 1);
    assert!(raw::token(&mut conn, valid.id.as_str()).is_some());
}

pub(crate) fn a_recorded_tokens_session_round_trips(db: &TestDatabase) {
    let tokens = db.database().refresh_tokens();
    let store = db.database().sessions();
    let mut conn = raw::connect(db);
    let alice = create_user(db, "alice");
    let t0 = at("2026-12-01T10:00:00Z");
    let session = store.start(new_session(alice, t0), 5).expect("started");

    let with_session = refresh(&session, t0);
    let without_session = claims(&new_jti(), alice.get(), t0);
    let revoked_unrecorded = refresh(&session, t0);
    tokens.record(&with_session).expect("recorded");
    tokens.record(&without_session).expect("recorded");
    tokens.revoke(&revoked_unrecorded, t0).expect("revoked");

    let session_of = |conn: &mut raw::RawConnection, claims: &TokenClaims| {
        raw::token(conn, claims.id.as_str())
            .expect("the token row")
            .session_id
    };
    assert_eq!(
        session_of(&mut conn, &with_session).as_deref(),
        Some(session.id.as_str())
    );
    assert_eq!(session_of(&mut conn, &without_session), None);
    assert_eq!(
        session_of(&mut conn, &revoked_unrecorded).as_deref(),
        Some(session.id.as_str())
    );
}
