//! The contract of `ThrottleStore`.

use std::sync::{Arc, Barrier};
use std::thread;

use application::ports::{
    Expiring, ThrottleCharge, ThrottleRecords, ThrottleStore, Versioned, WriteOutcome,
};
use chrono::{DateTime, Duration, Utc};
use domain::{AccountAttempts, AddressAttempts, ThrottleKey};
use persistence::testing::TestDatabase;

use super::{at, contending};

fn t0() -> DateTime<Utc> {
    at("2026-12-02T10:00:00.123456Z")
}

fn failures(failures: u32, last: DateTime<Utc>) -> Expiring<AddressAttempts> {
    Expiring {
        record: AddressAttempts {
            failures,
            last_failure_at: Some(last),
            signed_in_at: None,
        },
        expires_at: last + Duration::hours(24),
    }
}

fn attempts(attempts: u32, previous: u32) -> Expiring<AccountAttempts> {
    Expiring {
        record: AccountAttempts {
            window_start: at("2026-12-02T10:00:00Z"),
            attempts,
            previous_attempts: previous,
        },
        expires_at: at("2026-12-02T12:00:00Z"),
    }
}

fn both(address: Expiring<AddressAttempts>, account: Expiring<AccountAttempts>) -> ThrottleCharge {
    ThrottleCharge {
        address,
        account: Some(account),
    }
}

fn versioned<T>(row: Expiring<T>, version: i64) -> Option<Versioned<T>> {
    Some(Versioned {
        record: row.record,
        version,
    })
}

fn charged(
    store: &impl ThrottleStore,
    key: &ThrottleKey,
    read: &ThrottleRecords,
    charge: ThrottleCharge,
) -> WriteOutcome {
    store.charge(key, read, &charge).expect("ran")
}

pub(crate) fn throttle_records_load_as_charged_and_absent_ones_as_none(db: &TestDatabase) {
    let store = db.database().throttle();
    let key = ThrottleKey::new("203.0.113.7", "alice");
    assert_eq!(store.load(&key).expect("ran"), ThrottleRecords::default());

    let read = store.load(&key).expect("ran");
    let charge = both(failures(3, t0()), attempts(7, 2));
    assert_eq!(charged(&store, &key, &read, charge), WriteOutcome::Written);

    assert_eq!(
        store.load(&key).expect("ran"),
        ThrottleRecords {
            address: versioned(failures(3, t0()), 1),
            account: versioned(attempts(7, 2), 1),
        }
    );
    assert_eq!(
        store
            .load(&ThrottleKey::new("198.51.100.1", "alice"))
            .expect("ran"),
        ThrottleRecords {
            address: None,
            account: versioned(attempts(7, 2), 1),
        },
        "another address shares the account record only"
    );
    assert_eq!(
        store
            .load(&ThrottleKey::new("203.0.113.7", "Alice"))
            .expect("ran"),
        ThrottleRecords::default(),
        "usernames are compared exactly"
    );
}

pub(crate) fn a_throttle_charge_loses_when_a_row_changed_since_it_was_read(db: &TestDatabase) {
    let store = db.database().throttle();
    let key = ThrottleKey::new("203.0.113.7", "alice");
    let other = ThrottleKey::new("198.51.100.1", "alice");

    let empty = store.load(&key).expect("ran");
    let first = both(failures(1, t0()), attempts(1, 0));
    assert_eq!(charged(&store, &key, &empty, first), WriteOutcome::Written);
    assert_eq!(
        charged(
            &store,
            &key,
            &empty,
            both(failures(9, t0()), attempts(9, 0))
        ),
        WriteOutcome::Conflict,
        "the rows read as absent exist now"
    );
    let after_first = store.load(&key).expect("ran");
    assert_eq!(after_first.address, versioned(failures(1, t0()), 1));

    // Another address charges the account meanwhile: a charge of both rows from the older read
    // loses as a whole, its address row included.
    let other_read = store.load(&other).expect("ran");
    let second = both(failures(1, t0()), attempts(2, 0));
    assert_eq!(
        charged(&store, &other, &other_read, second),
        WriteOutcome::Written
    );
    assert_eq!(
        charged(
            &store,
            &key,
            &after_first,
            both(failures(2, t0()), attempts(2, 0))
        ),
        WriteOutcome::Conflict
    );
    assert_eq!(
        store.load(&key).expect("ran"),
        ThrottleRecords {
            address: versioned(failures(1, t0()), 1),
            account: versioned(attempts(2, 0), 2),
        },
        "nothing of the lost charge was written"
    );

    // A charge that leaves the account row alone does not compare it.
    let address_only = ThrottleCharge {
        address: failures(2, t0()),
        account: None,
    };
    assert_eq!(
        store
            .charge(&key, &after_first, &address_only)
            .expect("ran"),
        WriteOutcome::Written
    );
    assert_eq!(
        store.load(&key).expect("ran").address,
        versioned(failures(2, t0()), 2)
    );
    assert_eq!(
        store
            .charge(&key, &after_first, &address_only)
            .expect("ran"),
        WriteOutcome::Conflict,
        "the address row is at version 2 now"
    );
}

pub(crate) fn concurrent_throttle_charges_of_one_key_lose_no_update(db: &TestDatabase) {
    const CONTENDERS: usize = 16;
    let database = contending(db, CONTENDERS);
    let key = ThrottleKey::new("203.0.113.7", "alice");
    let barrier = Arc::new(Barrier::new(CONTENDERS));

    let handles: Vec<_> = (0..CONTENDERS)
        .map(|_| {
            let store = database.throttle();
            let barrier = Arc::clone(&barrier);
            let key = key.clone();
            thread::spawn(move || {
                barrier.wait();
                let mut conflicts = 0;
                loop {
                    let read = store.load(&key).expect("loaded");
                    let history = read.history();
                    let account = history.account.map_or(0, |account| account.attempts);
                    let charge = both(
                        failures(history.address.failures + 1, t0()),
                        attempts(account + 1, 0),
                    );
                    match store.charge(&key, &read, &charge).expect("ran") {
                        WriteOutcome::Written => return conflicts,
                        WriteOutcome::Conflict => conflicts += 1,
                    }
                }
            })
        })
        .collect();
    let conflicts: usize = handles
        .into_iter()
        .map(|handle| handle.join().expect("the thread did not panic"))
        .sum();

    let stored = db.database().throttle().load(&key).expect("ran");
    let expected = u32::try_from(CONTENDERS).expect("fits");
    let version = i64::try_from(CONTENDERS).expect("fits");
    assert_eq!(
        stored,
        ThrottleRecords {
            address: versioned(failures(expected, t0()), version),
            account: versioned(attempts(expected, 0), version),
        },
        "after {conflicts} conflicts"
    );
}

/// Of `CONTENDERS` charges made at once from one read, how many were written.
fn charges_from_one_read(db: &TestDatabase, key: &ThrottleKey) -> Vec<WriteOutcome> {
    const CONTENDERS: usize = 16;
    let database = contending(db, CONTENDERS);
    // Every contender has read before any writes.
    let barrier = Arc::new(Barrier::new(CONTENDERS));
    let handles: Vec<_> = (0..CONTENDERS)
        .map(|i| {
            let store = database.throttle();
            let barrier = Arc::clone(&barrier);
            let key = key.clone();
            thread::spawn(move || {
                let read = store.load(&key).expect("loaded");
                barrier.wait();
                let n = u32::try_from(i).expect("fits");
                let charge = both(failures(n, t0()), attempts(n, 0));
                store.charge(&key, &read, &charge).expect("ran")
            })
        })
        .collect();
    handles
        .into_iter()
        .map(|handle| handle.join().expect("the thread did not panic"))
        .collect()
}

pub(crate) fn of_concurrent_throttle_charges_from_one_read_exactly_one_is_written(
    db: &TestDatabase,
) {
    let key = ThrottleKey::new("203.0.113.7", "alice");
    let written = |outcomes: &[WriteOutcome]| {
        outcomes
            .iter()
            .filter(|outcome| **outcome == WriteOutcome::Written)
            .count()
    };

    let inserts = charges_from_one_read(db, &key);
    assert_eq!(written(&inserts), 1, "rows absent when read: {inserts:?}");
    let updates = charges_from_one_read(db, &key);
    assert_eq!(written(&updates), 1, "rows present when read: {updates:?}");

    let stored = db.database().throttle().load(&key).expect("ran");
    assert_eq!(
        stored.address.map(|row| row.version),
        Some(2),
        "one insert and one update"
    );
    assert_eq!(stored.account.map(|row| row.version), Some(2));
    assert_eq!(
        stored.address.map(|row| row.record.failures),
        stored.account.map(|row| row.record.attempts),
        "both rows come from the same winner"
    );
}

pub(crate) fn a_success_resets_the_address_record_whatever_it_holds(db: &TestDatabase) {
    let store = db.database().throttle();
    let key = ThrottleKey::new("203.0.113.7", "alice");
    let read = store.load(&key).expect("ran");
    let charge = both(failures(12, t0()), attempts(12, 0));
    assert_eq!(charged(&store, &key, &read, charge), WriteOutcome::Written);

    let success = Expiring {
        record: AddressAttempts {
            failures: 0,
            last_failure_at: None,
            signed_in_at: Some(t0() + Duration::seconds(1)),
        },
        expires_at: t0() + Duration::days(30),
    };
    store.record_success(&key, &success).expect("recorded");
    assert_eq!(
        store.load(&key).expect("ran"),
        ThrottleRecords {
            address: versioned(success, 2),
            account: versioned(attempts(12, 0), 1),
        },
        "the account record is left as it is"
    );

    let new_address = ThrottleKey::new("198.51.100.1", "alice");
    store
        .record_success(&new_address, &success)
        .expect("recorded");
    assert_eq!(
        store.load(&new_address).expect("ran").address,
        versioned(success, 1)
    );
}

pub(crate) fn throttle_pruning_removes_only_expired_rows_at_most_a_batch_at_a_time(
    db: &TestDatabase,
) {
    let store = db.database().throttle();
    let now = at("2026-12-03T12:00:00.500000Z");
    let charge_row = |address: &str, username: &str, expires_at: DateTime<Utc>, account: bool| {
        let key = ThrottleKey::new(address, username);
        let read = store.load(&key).expect("ran");
        let charge = ThrottleCharge {
            address: Expiring {
                expires_at,
                ..failures(1, t0())
            },
            account: account.then_some(Expiring {
                expires_at,
                ..attempts(1, 0)
            }),
        };
        assert_eq!(charged(&store, &key, &read, charge), WriteOutcome::Written);
        key
    };
    let expired = now - Duration::microseconds(1);
    let gone = [
        charge_row("192.0.2.1", "alice", expired, true),
        charge_row("192.0.2.2", "alice", expired, false),
        charge_row("192.0.2.3", "bob", expired, true),
    ];
    let kept = [
        charge_row("192.0.2.4", "carol", now, true),
        charge_row("192.0.2.5", "dave", now + Duration::hours(1), true),
    ];

    let batches: Vec<u64> = (0..4)
        .map(|_| store.prune(now, 2).expect("pruned"))
        .collect();

    assert_eq!(batches, [2, 2, 1, 0], "3 address rows, then 2 account rows");
    for key in &gone {
        assert_eq!(store.load(key).expect("ran"), ThrottleRecords::default());
    }
    for key in &kept {
        let records = store.load(key).expect("ran");
        assert!(
            records.address.is_some() && records.account.is_some(),
            "{key:?}"
        );
    }
}
