//! The contract of `Outbox`.

use std::collections::BTreeSet;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration as StdDuration, Instant};

use application::ports::{
    Effects, MailKind, Outbox, OutboxMessage, RepositoryError, UserRepository,
};
use chrono::{DateTime, Duration, Utc};
use persistence::testing::TestDatabase;

use super::accounts::mail;
use super::{at, contending, create_user, email, mails, new_user};
use crate::raw;

fn t0() -> DateTime<Utc> {
    at("2026-12-03T10:00:00.000001Z")
}

fn reset_request(to: &str) -> OutboxMessage {
    OutboxMessage::PasswordResetRequested { email: email(to) }
}

fn claimed_ids(outbox: &impl Outbox, now: DateTime<Utc>, batch: u32) -> Vec<i64> {
    outbox
        .claim(now, now + Duration::minutes(5), batch)
        .expect("claimed")
        .into_iter()
        .map(|queued| queued.id)
        .collect()
}

/// Enqueues `message` at `at`; returns its id (the port does not give it).
fn enqueued(db: &TestDatabase, message: OutboxMessage, at: DateTime<Utc>) -> i64 {
    db.database()
        .outbox()
        .enqueue(Effects::default().mail(message), at)
        .expect("enqueued");
    raw::max_id(&mut raw::connect(db), "outbox")
}

pub(crate) fn every_kind_of_message_is_claimed_as_it_was_queued_oldest_first(db: &TestDatabase) {
    let outbox = db.database().outbox();
    let messages = [
        mail(MailKind::PasswordReset, "Alice@example.com"),
        reset_request("bob@example.com"),
        OutboxMessage::VerificationResendRequested {
            email: email("carol@example.com"),
        },
        mail(MailKind::EmailChanged, "dave@example.com"),
    ];
    // Queued newest first: the claim orders them by when they were queued.
    for (n, message) in messages.iter().enumerate().rev() {
        let minutes = i64::try_from(n).expect("fits");
        outbox
            .enqueue(
                Effects::default().mail(message.clone()),
                t0() + Duration::minutes(minutes),
            )
            .expect("enqueued");
    }

    let now = t0() + Duration::hours(1);
    let claimed = outbox
        .claim(now, now + Duration::minutes(5), 10)
        .expect("claimed");

    let got: Vec<_> = claimed
        .iter()
        .map(|queued| queued.message.clone())
        .collect();
    assert_eq!(got, messages);
    assert_eq!(claimed[0].created_at, t0());
    assert!(claimed.iter().all(|queued| queued.attempts == 0));
    assert_eq!(
        claimed_ids(&outbox, now, 10),
        Vec::<i64>::new(),
        "leased until five minutes from now"
    );
}

pub(crate) fn only_due_messages_are_claimed_at_most_a_batch_at_a_time(db: &TestDatabase) {
    let outbox = db.database().outbox();
    for minutes in 0..4 {
        outbox
            .enqueue(
                Effects::default().mail(mail(
                    MailKind::VerifyEmail,
                    &format!("user{minutes}@example.com"),
                )),
                t0() + Duration::minutes(minutes),
            )
            .expect("enqueued");
    }

    let before = claimed_ids(&outbox, t0() - Duration::seconds(1), 10);
    assert_eq!(before, Vec::<i64>::new(), "nothing is due yet");
    let first = claimed_ids(&outbox, t0() + Duration::minutes(2), 1);
    assert_eq!(first.len(), 1);
    let rest = claimed_ids(&outbox, t0() + Duration::minutes(2), 10);
    assert_eq!(
        rest.len(),
        2,
        "the one due at minute 3 is not due at minute 2"
    );
    assert!(first[0] < rest[0], "oldest first");
}

pub(crate) fn a_lease_that_ran_out_makes_a_message_claimable_again(db: &TestDatabase) {
    let outbox = db.database().outbox();
    let id = enqueued(db, mail(MailKind::VerifyEmail, "alice@example.com"), t0());
    let lease = t0() + Duration::minutes(5);
    let claimed = outbox.claim(t0(), lease, 10).expect("claimed");
    assert_eq!(claimed.len(), 1);

    let during = outbox
        .claim(
            lease - Duration::seconds(1),
            lease + Duration::minutes(5),
            10,
        )
        .expect("claimed");
    assert_eq!(during, []);
    let after = outbox
        .claim(
            lease + Duration::seconds(1),
            lease + Duration::minutes(10),
            10,
        )
        .expect("claimed");
    assert_eq!(
        after.iter().map(|queued| queued.id).collect::<Vec<_>>(),
        [id]
    );
}

pub(crate) fn concurrent_claimers_claim_every_message_exactly_once(db: &TestDatabase) {
    const CLAIMERS: usize = 8;
    const MESSAGES: usize = 60;
    let outbox = db.database().outbox();
    for n in 0..MESSAGES {
        outbox
            .enqueue(
                Effects::default()
                    .mail(mail(MailKind::VerifyEmail, &format!("user{n}@example.com"))),
                t0(),
            )
            .expect("enqueued");
    }
    let database = contending(db, CLAIMERS);
    let barrier = Arc::new(Barrier::new(CLAIMERS));
    let now = t0() + Duration::minutes(1);
    let handles: Vec<_> = (0..CLAIMERS)
        .map(|_| {
            let outbox = database.outbox();
            let barrier = Arc::clone(&barrier);
            thread::spawn(move || {
                barrier.wait();
                let mut mine = Vec::new();
                // A claim that comes back empty found nothing left, or lost every row it read to
                // claimers that carry on.
                loop {
                    let claimed = claimed_ids(&outbox, now, 3);
                    if claimed.is_empty() {
                        return mine;
                    }
                    mine.extend(claimed);
                }
            })
        })
        .collect();
    let claims: Vec<Vec<i64>> = handles
        .into_iter()
        .map(|handle| handle.join().expect("the thread did not panic"))
        .collect();

    let all: Vec<i64> = claims.iter().flatten().copied().collect();
    let distinct: BTreeSet<i64> = all.iter().copied().collect();
    assert_eq!(
        all.len(),
        distinct.len(),
        "no message was claimed twice: {claims:?}"
    );
    assert_eq!(distinct.len(), MESSAGES, "every message was claimed");
    assert_eq!(claimed_ids(&outbox, now, 100), Vec::<i64>::new());
}

pub(crate) fn a_message_retried_later_is_due_again_then_with_its_attempts(db: &TestDatabase) {
    let outbox = db.database().outbox();
    let mut conn = raw::connect(db);
    let id = enqueued(db, mail(MailKind::PasswordReset, "alice@example.com"), t0());
    assert_eq!(claimed_ids(&outbox, t0(), 10), [id]);
    let retry_at = t0() + Duration::minutes(10);

    outbox
        .retry_later(id, 1, retry_at, "connection refused")
        .expect("ran");

    let row = raw::outbox_row(&mut conn, id).expect("kept");
    assert_eq!(row.status, "pending");
    assert_eq!(row.attempts, 1);
    assert_eq!(row.next_attempt_at, retry_at.naive_utc());
    assert_eq!(row.leased_until, None);
    assert_eq!(row.last_error.as_deref(), Some("connection refused"));
    assert!(
        !row.text_body.is_empty(),
        "the bodies stay until it is delivered"
    );
    assert_eq!(
        claimed_ids(&outbox, retry_at - Duration::seconds(1), 10),
        Vec::<i64>::new()
    );
    let again = outbox
        .claim(retry_at, retry_at + Duration::minutes(5), 10)
        .expect("claimed");
    assert_eq!(again.len(), 1);
    assert_eq!((again[0].id, again[0].attempts), (id, 1));
    assert_eq!(
        again[0].message,
        mail(MailKind::PasswordReset, "alice@example.com")
    );
}

pub(crate) fn sent_and_failed_messages_lose_their_bodies_and_are_never_claimed_again(
    db: &TestDatabase,
) {
    let outbox = db.database().outbox();
    let mut conn = raw::connect(db);
    let sent = enqueued(db, mail(MailKind::PasswordReset, "alice@example.com"), t0());
    let failed = enqueued(db, mail(MailKind::PasswordReset, "bob@example.com"), t0());
    assert_eq!(claimed_ids(&outbox, t0(), 10).len(), 2);
    let done = t0() + Duration::seconds(3);

    outbox.mark_sent(sent, done).expect("ran");
    outbox
        .mark_failed(failed, 5, done, "550 no such mailbox")
        .expect("ran");

    let sent = raw::outbox_row(&mut conn, sent).expect("kept");
    assert_eq!(sent.status, "sent");
    assert_eq!(sent.finished_at, Some(done.naive_utc()));
    let failed = raw::outbox_row(&mut conn, failed).expect("kept");
    assert_eq!(failed.status, "failed");
    assert_eq!(failed.attempts, 5);
    assert_eq!(failed.finished_at, Some(done.naive_utc()));
    assert_eq!(failed.last_error.as_deref(), Some("550 no such mailbox"));
    for row in [&sent, &failed] {
        assert_eq!(
            (
                row.subject.as_str(),
                row.text_body.as_str(),
                row.html_body.as_str()
            ),
            ("", "", "")
        );
        assert_eq!(row.leased_until, None);
    }
    assert_eq!(
        claimed_ids(&outbox, t0() + Duration::days(365), 10),
        Vec::<i64>::new()
    );
}

pub(crate) fn resolving_a_request_replaces_it_with_its_follow_ups_once(db: &TestDatabase) {
    let outbox = db.database().outbox();
    let mut conn = raw::connect(db);
    let request = enqueued(db, reset_request("alice@example.com"), t0());
    let unknown = enqueued(db, reset_request("nobody@example.com"), t0());
    assert_eq!(claimed_ids(&outbox, t0(), 10).len(), 2);
    let resolved_at = t0() + Duration::seconds(2);
    let follow_up = mail(MailKind::PasswordReset, "alice@example.com");

    outbox
        .resolve(request, vec![follow_up.clone()], resolved_at)
        .expect("ran");
    outbox
        .resolve(unknown, Vec::new(), resolved_at)
        .expect("ran");

    assert_eq!(
        raw::outbox_row(&mut conn, request).map(|row| row.status),
        None
    );
    assert_eq!(
        raw::outbox_row(&mut conn, unknown).map(|row| row.status),
        None
    );
    let claimed = outbox
        .claim(resolved_at, resolved_at + Duration::minutes(5), 10)
        .expect("claimed");
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].message, follow_up);
    assert_eq!(claimed[0].created_at, resolved_at);

    // A second resolve of the same request (a worker whose lease ran out) queues nothing more.
    outbox
        .resolve(request, vec![follow_up], resolved_at)
        .expect("ran");
    assert_eq!(raw::count(&mut conn, "outbox"), 1);
}

pub(crate) fn recent_mails_are_counted_by_kind_and_address_ignoring_case(db: &TestDatabase) {
    let outbox = db.database().outbox();
    let t1 = t0() + Duration::minutes(30);
    let first = enqueued(db, mail(MailKind::PasswordReset, "Alice@example.com"), t0());
    for message in [
        mail(MailKind::PasswordReset, "alice@example.com"),
        mail(MailKind::VerifyEmail, "alice@example.com"),
        mail(MailKind::PasswordReset, "bob@example.com"),
        reset_request("alice@example.com"),
    ] {
        outbox
            .enqueue(Effects::default().mail(message), t1)
            .expect("enqueued");
    }
    let count = |kind, to: &str, since| outbox.count_recent(kind, &email(to), since).expect("ran");

    assert_eq!(count(MailKind::PasswordReset, "ALICE@example.com", t0()), 2);
    assert_eq!(count(MailKind::PasswordReset, "alice@example.com", t1), 1);
    assert_eq!(
        count(
            MailKind::PasswordReset,
            "alice@example.com",
            t1 + Duration::microseconds(1)
        ),
        0
    );
    assert_eq!(count(MailKind::VerifyEmail, "Alice@example.com", t0()), 1);
    assert_eq!(count(MailKind::EmailChanged, "alice@example.com", t0()), 0);
    assert_eq!(count(MailKind::PasswordReset, "bob@example.com", t0()), 1);

    outbox.mark_sent(first, t1).expect("ran");
    assert_eq!(
        count(MailKind::PasswordReset, "alice@example.com", t0()),
        2,
        "whatever became of them"
    );
}

pub(crate) fn pruning_removes_only_messages_finished_before_a_time_at_most_a_batch(
    db: &TestDatabase,
) {
    let outbox = db.database().outbox();
    let mut conn = raw::connect(db);
    let before = t0() + Duration::days(7);
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(enqueued(
            db,
            mail(MailKind::VerifyEmail, &format!("user{n}@example.com")),
            t0(),
        ));
    }
    outbox.mark_sent(ids[0], t0()).expect("ran");
    outbox.mark_sent(ids[1], t0()).expect("ran");
    outbox.mark_failed(ids[2], 3, t0(), "refused").expect("ran");
    outbox.mark_sent(ids[3], before).expect("ran");
    // ids[4] stays pending, however old.

    assert_eq!(outbox.prune(before, 2).expect("ran"), 2);
    assert_eq!(outbox.prune(before, 2).expect("ran"), 1);
    assert_eq!(outbox.prune(before, 2).expect("ran"), 0);

    assert_eq!(raw::count(&mut conn, "outbox"), 2);
    assert!(
        raw::outbox_row(&mut conn, ids[3]).is_some(),
        "finished at `before`, not before it"
    );
    assert!(raw::outbox_row(&mut conn, ids[4]).is_some());
}

pub(crate) fn an_unreadable_message_is_an_unexpected_error_and_does_not_block_the_rest(
    db: &TestDatabase,
) {
    let outbox = db.database().outbox();
    let mut conn = raw::connect(db);
    raw::insert_outbox_kind(&mut conn, "carrier_pigeon", t0().naive_utc());
    let odd = raw::max_id(&mut conn, "outbox");
    let fine = enqueued(
        db,
        mail(MailKind::VerifyEmail, "alice@example.com"),
        t0() + Duration::seconds(1),
    );
    let now = t0() + Duration::minutes(1);

    let result = outbox.claim(now, now + Duration::minutes(5), 10);
    assert!(
        matches!(result, Err(RepositoryError::Unexpected(_))),
        "{result:?}"
    );

    let row = raw::outbox_row(&mut conn, odd).expect("kept");
    assert_eq!(row.status, "failed");
    assert!(
        row.last_error
            .is_some_and(|error| error.contains("carrier_pigeon"))
    );
    assert_eq!(
        claimed_ids(&outbox, now, 10),
        [fine],
        "released and claimable again"
    );
}

/// Waits with `timeout` and says how long it took.
fn timed_wait(outbox: &impl Outbox, timeout: StdDuration) -> StdDuration {
    let started = Instant::now();
    outbox.wait_for_work(timeout);
    started.elapsed()
}

const PROMPT: StdDuration = StdDuration::from_secs(5);
const LONG: StdDuration = StdDuration::from_secs(30);
const SHORT: StdDuration = StdDuration::from_millis(300);

pub(crate) fn waiting_for_work_ends_with_a_commit_that_queued_and_times_out_otherwise(
    db: &TestDatabase,
) {
    let outbox = db.database().outbox();
    outbox.wait_for_work(StdDuration::ZERO);

    let idle = timed_wait(&outbox, SHORT);
    assert!(idle >= SHORT - StdDuration::from_millis(50), "{idle:?}");

    // A commit from another thread, through another store of the same handle, ends a wait.
    let users = db.database().users();
    let committer = thread::spawn(move || {
        thread::sleep(StdDuration::from_millis(100));
        users
            .create(
                new_user("alice", "alice@example.com"),
                mails(vec![mail(MailKind::VerifyEmail, "alice@example.com")]),
            )
            .expect("created");
    });
    let woken = timed_wait(&outbox, LONG);
    committer.join().expect("the thread did not panic");
    assert!(woken < PROMPT, "{woken:?}");

    // A commit before the wait ends it at once; the flag is cleared by the wait that saw it.
    outbox
        .enqueue(
            Effects::default().mail(reset_request("bob@example.com")),
            t0(),
        )
        .expect("enqueued");
    assert!(timed_wait(&outbox, LONG) < PROMPT);
    let idle = timed_wait(&outbox, SHORT);
    assert!(idle >= SHORT - StdDuration::from_millis(50), "{idle:?}");

    // A commit that queued nothing does not wake the worker.
    let bob = create_user(db, "bob");
    let idle = timed_wait(&outbox, SHORT);
    assert!(idle >= SHORT - StdDuration::from_millis(50), "{idle:?}");

    let users = db.database().users();
    let hash = domain::PasswordHash::new("$argon2id$changed".to_owned());
    users
        .change_password(
            bob,
            &users
                .find_by_id(bob)
                .expect("ran")
                .expect("found")
                .password_hash,
            hash,
            None,
            t0(),
            mails(vec![mail(MailKind::PasswordChanged, "bob@example.com")]),
        )
        .expect("ran");
    assert!(timed_wait(&outbox, LONG) < PROMPT);
    users
        .confirm_email(
            bob,
            &email("bob@example.com"),
            Utc::now(),
            mails(vec![mail(MailKind::EmailChanged, "bob@example.com")]),
        )
        .expect("confirmed");
    assert!(timed_wait(&outbox, LONG) < PROMPT);
    let id = raw::max_id(&mut raw::connect(db), "outbox");
    outbox
        .resolve(
            id,
            vec![mail(MailKind::PasswordReset, "bob@example.com")],
            t0(),
        )
        .expect("ran");
    assert!(timed_wait(&outbox, LONG) < PROMPT);
}
