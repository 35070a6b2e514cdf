use std::sync::Mutex;

use chrono::Duration;
use mockall::predicate::always;

use super::*;
use crate::ports::{MockDjangoSource, MockImportTarget, StoredAccount};
use crate::use_cases::test_support::{fixed_clock, now};

fn django_user(id: i64, username: &str, email: &str) -> DjangoUser {
    DjangoUser {
        id,
        username: username.to_owned(),
        email: email.to_owned(),
        password: "pbkdf2_sha256$1000000$salt$hash=".to_owned(),
        first_name: "First".to_owned(),
        last_name: "Last".to_owned(),
        is_active: true,
        is_staff: false,
        is_superuser: false,
        date_joined: now() - Duration::days(30),
        last_login: Some(now() - Duration::days(1)),
    }
}

fn django_profile(user_id: i64, phone: &str) -> DjangoProfile {
    DjangoProfile {
        id: user_id + 100,
        user_id,
        phone: phone.to_owned(),
        created_at: now() - Duration::days(30),
        updated_at: now() - Duration::days(2),
    }
}

fn django_token(jti: &str, user_id: Option<i64>, expires_in: Duration) -> DjangoToken {
    DjangoToken {
        jti: jti.to_owned(),
        user_id,
        created_at: Some(now() - Duration::hours(1)),
        expires_at: now() + expires_in,
        blacklisted_at: None,
    }
}

fn account(id: i64, username: &str, email: &str) -> StoredAccount {
    StoredAccount {
        id: UserId::new(id),
        username: username.to_owned(),
        email: email.to_owned(),
    }
}

fn source(data: DjangoData) -> Arc<dyn DjangoSource> {
    let mut source = MockDjangoSource::new();
    source.expect_read().return_once(move || Ok(data));
    Arc::new(source)
}

/// What a target was asked to write, in order.
#[derive(Default)]
struct Written {
    users: Vec<Vec<i64>>,
    profiles: Vec<Vec<i64>>,
    tokens: Vec<Vec<String>>,
    revocations: Vec<Vec<String>>,
    finished: bool,
}

fn recording_target(stored: StoredState, written: &Arc<Mutex<Written>>) -> Arc<dyn ImportTarget> {
    let mut target = MockImportTarget::new();
    target.expect_stored().return_once(move || Ok(stored));
    let log = Arc::clone(written);
    target
        .expect_write_users()
        .returning(move |users, profiles| {
            let mut log = log.lock().expect("log");
            log.users.push(users.iter().map(|u| u.id.get()).collect());
            log.profiles
                .push(profiles.iter().map(|p| p.user_id.get()).collect());
            Ok(())
        });
    let log = Arc::clone(written);
    target
        .expect_write_tokens()
        .returning(move |tokens, revocations| {
            let mut log = log.lock().expect("log");
            log.tokens
                .push(tokens.iter().map(|t| t.jti.clone()).collect());
            log.revocations
                .push(revocations.iter().map(|(jti, _)| jti.clone()).collect());
            Ok(())
        });
    let log = Arc::clone(written);
    target.expect_finish().returning(move || {
        log.lock().expect("log").finished = true;
        Ok(())
    });
    Arc::new(target)
}

/// A target that must not be written to.
fn read_only_target(stored: StoredState) -> Arc<dyn ImportTarget> {
    let mut target = MockImportTarget::new();
    target.expect_stored().return_once(move || Ok(stored));
    target.expect_write_users().never();
    target.expect_write_tokens().never();
    target.expect_finish().never();
    Arc::new(target)
}

fn import(
    data: DjangoData,
    target: Arc<dyn ImportTarget>,
    options: ImportOptions,
) -> Result<ImportReport, ImportError> {
    ImportDjango {
        source: source(data),
        target,
        clock: fixed_clock(),
    }
    .execute(options, &NoProgress)
}

const SKIP: ImportOptions = ImportOptions {
    on_conflict: OnConflict::Skip,
    dry_run: false,
};

#[test]
fn users_profiles_and_live_tokens_are_written_with_their_ids() {
    let mut blacklisted = django_token("jti-2", Some(7), Duration::days(1));
    blacklisted.blacklisted_at = Some(now() - Duration::minutes(5));
    let data = DjangoData {
        users: vec![
            django_user(7, "alice", "alice@example.com"),
            django_user(3, "bob", ""),
        ],
        profiles: vec![django_profile(7, "+100"), django_profile(3, "")],
        tokens: vec![
            django_token("jti-1", Some(7), Duration::days(1)),
            blacklisted,
            django_token("jti-old", Some(7), Duration::seconds(0)),
            django_token("jti-orphan", None, Duration::days(1)),
        ],
        profile_table: Some("accounts_profile".to_owned()),
    };
    let written = Arc::new(Mutex::new(Written::default()));
    let report = import(
        data,
        recording_target(StoredState::default(), &written),
        ImportOptions::default(),
    )
    .expect("import");

    let written = written.lock().expect("log");
    // In id order, each with its profile in the same write.
    assert_eq!(written.users, vec![vec![3, 7]]);
    assert_eq!(written.profiles, vec![vec![3, 7]]);
    assert_eq!(written.tokens, vec![vec!["jti-1", "jti-2"]]);
    assert!(written.finished);
    assert_eq!(
        report.users,
        Counts {
            imported: 2,
            present: 0
        }
    );
    assert_eq!(report.profiles.imported, 2);
    assert_eq!(
        report.tokens,
        TokenCounts {
            imported: 2,
            blacklisted: 1,
            expired: 1,
            without_user: 1,
            ..TokenCounts::default()
        }
    );
    assert_eq!(report.profile_table.as_deref(), Some("accounts_profile"));
    assert!(report.left_out.is_empty());
}

#[test]
fn the_written_user_keeps_django_s_fields_and_starts_unverified() {
    let django = django_user(42, "carol", "Carol@Example.COM");
    let mut target = MockImportTarget::new();
    target
        .expect_stored()
        .return_once(|| Ok(StoredState::default()));
    let expected = django.clone();
    target
        .expect_write_users()
        .withf(move |users, _| {
            let [user] = users else { return false };
            user.id.get() == 42
                && user.username.as_str() == "carol"
                // Django's normalize_email: the domain lower-cased.
                && user.email.as_str() == "Carol@example.com"
                && user.password_hash.as_str() == expected.password
                && user.date_joined == expected.date_joined
                && user.last_login == expected.last_login
                && user.is_active
                && !user.email_verified
        })
        .times(1)
        .returning(|_, _| Ok(()));
    target.expect_write_tokens().never();
    target.expect_finish().times(1).returning(|| Ok(()));
    let data = DjangoData {
        users: vec![django],
        ..DjangoData::default()
    };
    import(data, Arc::new(target), ImportOptions::default()).expect("import");
}

#[test]
fn addresses_that_differ_only_in_case_fail_the_import_and_list_every_collision() {
    let data = DjangoData {
        users: vec![
            django_user(1, "first", "same@example.com"),
            django_user(2, "second", "SAME@example.com"),
            django_user(3, "third", "Same@Example.com"),
            django_user(4, "blank1", ""),
            django_user(5, "blank2", ""),
        ],
        // Left out with its user, and not listed apart: it follows from the user's problem.
        profiles: vec![django_profile(2, "")],
        ..DjangoData::default()
    };
    let error = import(
        data,
        read_only_target(StoredState::default()),
        ImportOptions::default(),
    )
    .expect_err("collisions fail the import");
    let ImportError::Conflicts(left_out) = error else {
        panic!("expected conflicts, got {error:?}");
    };
    let listed: Vec<(i64, Reason)> = left_out
        .into_iter()
        .map(|left| (left.user_id, left.reason))
        .collect();
    let taken = || Reason::EmailTaken {
        holder: "first".to_owned(),
    };
    // Blank addresses never collide.
    assert_eq!(listed, vec![(2, taken()), (3, taken())]);
}

#[test]
fn under_skip_the_later_account_and_its_records_are_left_out() {
    let data = DjangoData {
        users: vec![
            django_user(2, "later", "same@example.com"),
            django_user(1, "earlier", "same@example.com"),
        ],
        profiles: vec![django_profile(1, "1"), django_profile(2, "2")],
        tokens: vec![
            django_token("mine", Some(1), Duration::days(1)),
            django_token("theirs", Some(2), Duration::days(1)),
        ],
        profile_table: None,
    };
    let written = Arc::new(Mutex::new(Written::default()));
    let report = import(
        data,
        recording_target(StoredState::default(), &written),
        SKIP,
    )
    .expect("import");
    let written = written.lock().expect("log");
    assert_eq!(written.users, vec![vec![1]]);
    assert_eq!(written.profiles, vec![vec![1]]);
    assert_eq!(written.tokens, vec![vec!["mine"]]);
    assert_eq!(report.tokens.of_left_out_users, 1);
    assert_eq!(
        report.left_out,
        vec![
            LeftOut {
                record: Record::User,
                user_id: 2,
                username: "later".to_owned(),
                reason: Reason::EmailTaken {
                    holder: "earlier".to_owned()
                },
            },
            LeftOut {
                record: Record::Profile,
                user_id: 2,
                username: "later".to_owned(),
                reason: Reason::UserLeftOut,
            },
        ]
    );
}

#[test]
fn a_second_run_writes_nothing_new() {
    let data = DjangoData {
        users: vec![django_user(1, "alice", "alice@example.com")],
        profiles: vec![django_profile(1, "")],
        tokens: vec![django_token("jti-1", Some(1), Duration::days(1))],
        profile_table: None,
    };
    let stored = StoredState {
        accounts: vec![account(1, "alice", "alice@example.com")],
        profiles: vec![(101, UserId::new(1))],
        tokens: vec![("jti-1".to_owned(), false)],
    };
    let written = Arc::new(Mutex::new(Written::default()));
    let report = import(data, recording_target(stored, &written), SKIP).expect("import");
    let written = written.lock().expect("log");
    assert!(written.users.iter().all(Vec::is_empty));
    assert!(written.tokens.iter().all(Vec::is_empty));
    assert_eq!(
        report.users,
        Counts {
            imported: 0,
            present: 1
        }
    );
    assert_eq!(report.profiles.present, 1);
    assert_eq!(report.tokens.present, 1);
    assert!(report.left_out.is_empty());
}

#[test]
fn a_token_blacklisted_in_django_since_the_last_run_is_revoked() {
    let mut token = django_token("jti-1", Some(1), Duration::days(1));
    token.blacklisted_at = Some(now());
    let data = DjangoData {
        users: vec![django_user(1, "alice", "alice@example.com")],
        tokens: vec![token],
        ..DjangoData::default()
    };
    let stored = StoredState {
        accounts: vec![account(1, "alice", "alice@example.com")],
        profiles: vec![],
        tokens: vec![("jti-1".to_owned(), false)],
    };
    let written = Arc::new(Mutex::new(Written::default()));
    let report = import(data, recording_target(stored, &written), SKIP).expect("import");
    assert_eq!(report.tokens.revoked, 1);
    assert_eq!(
        written.lock().expect("log").revocations,
        vec![vec!["jti-1".to_owned()]]
    );
}

#[test]
fn accounts_that_clash_with_this_system_s_users_are_left_out() {
    let data = DjangoData {
        users: vec![
            django_user(1, "alice", "alice@example.com"),
            django_user(2, "bob", "bob@example.com"),
            django_user(3, "carol", "CAROL@example.com"),
        ],
        ..DjangoData::default()
    };
    let stored = StoredState {
        // Id 1 is someone else here; "bob" has another id; carol's address is taken.
        accounts: vec![
            account(1, "mallory", "m@example.com"),
            account(20, "bob", "b@example.com"),
            account(21, "dave", "carol@example.com"),
        ],
        ..StoredState::default()
    };
    let error = import(data, read_only_target(stored), ImportOptions::default())
        .expect_err("clashes fail the import");
    let ImportError::Conflicts(left_out) = error else {
        panic!("expected conflicts, got {error:?}");
    };
    let reasons: Vec<Reason> = left_out.into_iter().map(|left| left.reason).collect();
    assert_eq!(
        reasons,
        vec![
            Reason::IdTaken {
                holder: "mallory".to_owned()
            },
            Reason::UsernameTaken,
            Reason::EmailTaken {
                holder: "dave".to_owned()
            },
        ]
    );
}

#[test]
fn values_this_system_cannot_hold_are_problems_not_truncations() {
    let mut long_name = django_user(1, "alice", "alice@example.com");
    long_name.first_name = "x".repeat(151);
    let data = DjangoData {
        users: vec![
            long_name,
            django_user(2, "bad name!", "b@example.com"),
            django_user(3, "carol", "not an address"),
            django_user(4, "dave", "dave@example.com"),
        ],
        profiles: vec![django_profile(4, &"9".repeat(21))],
        ..DjangoData::default()
    };
    let error = import(
        data,
        read_only_target(StoredState::default()),
        ImportOptions::default(),
    )
    .expect_err("invalid values fail the import");
    let ImportError::Conflicts(left_out) = error else {
        panic!("expected conflicts, got {error:?}");
    };
    let fields: Vec<(i64, &str)> = left_out
        .iter()
        .map(|left| match left.reason {
            Reason::Invalid { field, .. } => (left.user_id, field),
            _ => (left.user_id, "?"),
        })
        .collect();
    assert_eq!(
        fields,
        vec![
            (1, "first_name"),
            (2, "username"),
            (3, "email"),
            (4, "phone")
        ]
    );
}

#[test]
fn a_dry_run_counts_everything_and_writes_nothing() {
    let data = DjangoData {
        users: vec![
            django_user(1, "alice", "same@example.com"),
            django_user(2, "bob", "same@example.com"),
        ],
        profiles: vec![django_profile(1, "")],
        tokens: vec![django_token("jti-1", Some(1), Duration::days(1))],
        profile_table: None,
    };
    let report = import(
        data,
        read_only_target(StoredState::default()),
        ImportOptions {
            on_conflict: OnConflict::Skip,
            dry_run: true,
        },
    )
    .expect("dry run");
    assert!(report.dry_run);
    assert_eq!(report.users.imported, 1);
    assert_eq!(report.profiles.imported, 1);
    assert_eq!(report.tokens.imported, 1);
    assert_eq!(report.left_out.len(), 1);
}

#[test]
fn users_are_written_in_batches_with_progress() {
    let users: Vec<DjangoUser> = (1..=2_500)
        .map(|id| django_user(id, &format!("user{id}"), &format!("user{id}@example.com")))
        .collect();
    let data = DjangoData {
        users,
        ..DjangoData::default()
    };
    struct Seen(Mutex<Vec<(Stage, u64)>>);
    impl ImportProgress for Seen {
        fn start(&self, _: Stage, _: u64) {}
        fn advance(&self, stage: Stage, done: u64) {
            self.0.lock().expect("seen").push((stage, done));
        }
        fn finish(&self, _: Stage) {}
    }
    let seen = Seen(Mutex::new(Vec::new()));
    let written = Arc::new(Mutex::new(Written::default()));
    ImportDjango {
        source: source(data),
        target: recording_target(StoredState::default(), &written),
        clock: fixed_clock(),
    }
    .execute(ImportOptions::default(), &seen)
    .expect("import");
    let sizes: Vec<usize> = written
        .lock()
        .expect("log")
        .users
        .iter()
        .map(Vec::len)
        .collect();
    assert_eq!(sizes, vec![1_000, 1_000, 500]);
    assert_eq!(
        seen.0.into_inner().expect("seen"),
        vec![
            (Stage::Users, 1_000),
            (Stage::Users, 2_000),
            (Stage::Users, 2_500)
        ]
    );
}

#[test]
fn a_failed_write_is_reported() {
    let mut target = MockImportTarget::new();
    target
        .expect_stored()
        .return_once(|| Ok(StoredState::default()));
    target
        .expect_write_users()
        .with(always(), always())
        .returning(|_, _| Err(crate::use_cases::test_support::unavailable()));
    target.expect_finish().never();
    let data = DjangoData {
        users: vec![django_user(1, "alice", "alice@example.com")],
        ..DjangoData::default()
    };
    let error = import(data, Arc::new(target), ImportOptions::default()).expect_err("write fails");
    assert!(matches!(error, ImportError::Repository(_)));
}

#[test]
fn an_unreadable_source_is_reported() {
    let mut source = MockDjangoSource::new();
    source.expect_read().return_once(|| {
        Err(DjangoSourceError::Unreadable(
            "no such table: auth_user".into(),
        ))
    });
    let error = ImportDjango {
        source: Arc::new(source),
        target: read_only_target(StoredState::default()),
        clock: fixed_clock(),
    }
    .execute(ImportOptions::default(), &NoProgress)
    .expect_err("source fails");
    assert!(matches!(error, ImportError::Source(_)));
}

#[test]
fn a_profile_whose_id_another_user_s_profile_holds_is_left_out() {
    let data = DjangoData {
        users: vec![django_user(1, "alice", "alice@example.com")],
        profiles: vec![django_profile(1, "")],
        ..DjangoData::default()
    };
    let stored = StoredState {
        accounts: vec![account(9, "zed", "zed@example.com")],
        profiles: vec![(101, UserId::new(9))],
        tokens: vec![],
    };
    let error = import(data, read_only_target(stored), ImportOptions::default())
        .expect_err("the clash fails the import");
    let ImportError::Conflicts(left_out) = error else {
        panic!("expected conflicts, got {error:?}");
    };
    assert_eq!(
        left_out,
        vec![LeftOut {
            record: Record::Profile,
            user_id: 1,
            username: "alice".to_owned(),
            reason: Reason::ProfileIdTaken { id: 101 },
        }]
    );
}
