use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Utc};
use domain::{
    AuditEvent, AuditKind, ClientInfo, LoginDecision, ThrottleKey, ThrottlePolicy, UserId,
    whole_seconds_until,
};

use crate::ports::{
    AuditLog, Expiring, RepositoryError, ThrottleCharge, ThrottleStore, WriteOutcome,
};

/// How often a charge is tried when concurrent attempts at the same key keep changing its rows.
/// Each conflict means another attempt was charged meanwhile, so a few rounds turn a flood into
/// throttled answers.
pub(crate) const CHARGE_TRIES: u32 = 8;

/// The most keys this instance remembers as held; beyond it, attempts go to the database.
pub(crate) const MAX_HELD_KEYS: usize = 10_000;

/// The answer of the back-off to one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admission {
    /// Charged as a failure: the password may be checked.
    Charged,
    Throttled {
        retry_after_secs: u64,
    },
}

/// An attempt at a password, as the back-off keys it (the client's address and the username)
/// and as the audit log records its hold.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Attempt<'a> {
    pub client: &'a ClientInfo,
    /// The username as submitted (in NFKC) for a login; the account's for a signed-in user.
    pub username: &'a str,
    /// The signed-in user whose password is checked; none for a login.
    pub user_id: Option<UserId>,
    /// What a signed-in user's password is checked for (`password_change`); none for a login.
    pub what: Option<&'a str>,
}

impl Attempt<'_> {
    pub(crate) fn key(&self) -> ThrottleKey {
        ThrottleKey::new(self.client.ip_address(), self.username)
    }

    /// The `login_throttled` event of a hold decided on the stored records.
    fn held(&self, now: DateTime<Utc>, retry_after_secs: u64) -> AuditEvent {
        let event = AuditEvent::new(AuditKind::LoginThrottled, now, self.client);
        let event = match self.user_id {
            Some(user_id) => event.user(user_id, self.username),
            None => event.username(self.username),
        };
        let retry = format!("retry_after={retry_after_secs}s");
        match self.what {
            Some(what) => event.detail(&format!("{what}, {retry}")),
            None => event.detail(&retry),
        }
    }
}

/// The login back-off over its store: [`ThrottlePolicy`] decides, the store keeps the records.
/// Disabled, it makes no store calls at all.
///
/// Each instance also remembers, in memory, the keys it found held and until when: an attempt at
/// one of them before then is answered from memory, without reading the database, so a flood
/// from one address costs a map lookup per attempt. That is sound because a wait decided on the
/// stored records only ever grows: it would end earlier only after a success at the same key,
/// and no attempt at the key is let through, on any instance, while it is held.
///
/// A hold decided on the stored records is recorded as a `login_throttled` event; one answered
/// from memory is not, so a flood at a held key records one event per instance and hold, not
/// one per attempt.
#[derive(Clone)]
pub struct LoginThrottle {
    /// `None` when disabled.
    backing: Option<Backing>,
    policy: ThrottlePolicy,
    held: Arc<Mutex<HashMap<ThrottleKey, DateTime<Utc>>>>,
}

/// Where an enabled back-off keeps its records and records its decided holds.
#[derive(Clone)]
struct Backing {
    store: Arc<dyn ThrottleStore>,
    audit: Arc<dyn AuditLog>,
}

impl LoginThrottle {
    /// With the API's numbers ([`ThrottlePolicy::default`]); its decided holds go to `audit`.
    pub fn enabled(store: Arc<dyn ThrottleStore>, audit: Arc<dyn AuditLog>) -> Self {
        Self {
            backing: Some(Backing { store, audit }),
            policy: ThrottlePolicy::default(),
            held: Arc::default(),
        }
    }

    pub fn with_policy(self, policy: ThrottlePolicy) -> Self {
        Self { policy, ..self }
    }

    pub fn disabled() -> Self {
        Self {
            backing: None,
            policy: ThrottlePolicy::default(),
            held: Arc::default(),
        }
    }

    pub fn is_enabled(&self) -> bool {
        self.backing.is_some()
    }

    /// Decides the attempt on the stored records and, when it is allowed, stores its charge
    /// conditionally on those records; a conflict reads and decides again. The check and the
    /// charge are thus one step: of concurrent attempts, each is decided on the charges of all
    /// that won before it.
    ///
    /// After [`CHARGE_TRIES`] conflicts in a row the attempt is throttled for a second rather
    /// than let through uncharged: that many concurrent attempts at one key are a flood.
    pub(crate) fn admit(
        &self,
        attempt: &Attempt<'_>,
        now: DateTime<Utc>,
    ) -> Result<Admission, RepositoryError> {
        let Some(Backing { store, audit }) = &self.backing else {
            return Ok(Admission::Charged);
        };
        let key = &attempt.key();
        if let Some(retry_after_secs) = self.held_until(key, now) {
            return Ok(Admission::Throttled { retry_after_secs });
        }
        for _ in 0..CHARGE_TRIES {
            let read = store.load(key)?;
            let charge = match self.policy.decide(&read.history(), now) {
                LoginDecision::Throttled {
                    retry_after_secs,
                    available_at,
                } => {
                    self.hold(key, now, available_at);
                    audit.record(attempt.held(now, retry_after_secs))?;
                    return Ok(Admission::Throttled { retry_after_secs });
                }
                LoginDecision::Allowed(charge) => charge,
            };
            let charge = ThrottleCharge {
                address: Expiring {
                    record: charge.address,
                    expires_at: self.policy.address_expires_at(&charge.address),
                },
                account: charge.account.map(|account| Expiring {
                    record: account,
                    expires_at: self.policy.account_expires_at(&account),
                }),
            };
            match store.charge(key, &read, &charge)? {
                WriteOutcome::Written => return Ok(Admission::Charged),
                WriteOutcome::Conflict => {}
            }
        }
        Ok(Admission::Throttled {
            retry_after_secs: 1,
        })
    }

    /// The whole seconds left, rounded up as the policy rounds them, while this instance
    /// remembers the key as held.
    fn held_until(&self, key: &ThrottleKey, now: DateTime<Utc>) -> Option<u64> {
        let held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        let until = *held.get(key)?;
        (now < until).then(|| whole_seconds_until(until - now))
    }

    /// Remembers that the key is held until `until`, forgetting the keys whose wait is over when
    /// the map is full; when it is still full, the key is not kept.
    fn hold(&self, key: &ThrottleKey, now: DateTime<Utc>, until: DateTime<Utc>) {
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        if held.len() >= MAX_HELD_KEYS && !held.contains_key(key) {
            held.retain(|_, until| *until > now);
            if held.len() >= MAX_HELD_KEYS {
                return;
            }
        }
        held.insert(key.clone(), until);
    }

    /// Resets the back-off of the key and makes its address known to the username.
    pub(crate) fn record_success(
        &self,
        key: &ThrottleKey,
        now: DateTime<Utc>,
    ) -> Result<(), RepositoryError> {
        let Some(Backing { store, .. }) = &self.backing else {
            return Ok(());
        };
        let record = self.policy.after_success(now);
        store.record_success(
            key,
            &Expiring {
                record,
                expires_at: self.policy.address_expires_at(&record),
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;
    use domain::AddressAttempts;

    use super::*;
    use crate::ports::{MockThrottleStore, ThrottleRecords, Versioned};
    use crate::use_cases::test_support::{RecordingAuditLog, client, now};

    fn key() -> ThrottleKey {
        ThrottleKey::new("203.0.113.7", "alice")
    }

    /// A login as `username` from [`client`]'s address.
    fn login<'a>(client: &'a ClientInfo, username: &'a str) -> Attempt<'a> {
        Attempt {
            client,
            username,
            user_id: None,
            what: None,
        }
    }

    /// Five failures, the last at `last`: held for one second after it.
    fn five_failures(last: DateTime<Utc>) -> ThrottleRecords {
        ThrottleRecords {
            address: Some(Versioned {
                record: AddressAttempts {
                    failures: 5,
                    last_failure_at: Some(last),
                    signed_in_at: None,
                },
                version: 1,
            }),
            account: None,
        }
    }

    /// A back-off over a store that loads `records` exactly `loads` times and writes exactly
    /// `charges` charges, and the log its holds are recorded in.
    fn throttle_over(
        records: ThrottleRecords,
        loads: usize,
        charges: usize,
    ) -> (LoginThrottle, Arc<RecordingAuditLog>) {
        let mut store = MockThrottleStore::new();
        store
            .expect_load()
            .times(loads)
            .returning(move |_| Ok(records));
        store
            .expect_charge()
            .times(charges)
            .returning(|_, _, _| Ok(WriteOutcome::Written));
        let audit = Arc::new(RecordingAuditLog::default());
        (
            LoginThrottle::enabled(Arc::new(store), audit.clone()),
            audit,
        )
    }

    fn at(millis: i64) -> DateTime<Utc> {
        now() + TimeDelta::milliseconds(millis)
    }

    #[test]
    fn a_held_key_is_answered_from_memory_until_its_wait_ends_and_then_read_again() {
        let (throttle, audit) = throttle_over(five_failures(now()), 2, 1);
        let client = client();
        let attempt = login(&client, "alice");
        assert_eq!(attempt.key(), key());

        assert_eq!(
            throttle.admit(&attempt, at(200)).expect("ran"),
            Admission::Throttled {
                retry_after_secs: 1
            }
        );
        // From memory: no load, and no second event. The wait left is rounded up as the policy
        // rounds it.
        assert_eq!(
            throttle.admit(&attempt, at(999)).expect("ran"),
            Admission::Throttled {
                retry_after_secs: 1
            }
        );
        // The wait is over exactly one second after the last failure, as the policy says.
        assert_eq!(
            throttle.admit(&attempt, at(1_000)).expect("ran"),
            Admission::Charged
        );

        let events = audit.events();
        assert_eq!(
            events.len(),
            1,
            "one event for the hold decided on the records"
        );
        let held = &events[0];
        assert_eq!(held.kind, AuditKind::LoginThrottled);
        assert_eq!(held.at, at(200));
        assert_eq!(held.username.as_deref(), Some("alice"));
        assert_eq!(held.user_id, None);
        assert_eq!(held.client, client);
        assert_eq!(held.detail.as_deref(), Some("retry_after=1s"));
    }

    #[test]
    fn a_signed_in_users_hold_names_the_account_and_what_the_password_was_for() {
        let (throttle, audit) = throttle_over(five_failures(now()), 1, 0);
        let client = client();
        let attempt = Attempt {
            client: &client,
            username: "alice",
            user_id: Some(UserId::new(7)),
            what: Some("password_change"),
        };
        assert!(matches!(
            throttle.admit(&attempt, at(0)).expect("ran"),
            Admission::Throttled { .. }
        ));
        let events = audit.events();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].user_id, Some(UserId::new(7)));
        assert_eq!(events[0].username.as_deref(), Some("alice"));
        assert_eq!(
            events[0].detail.as_deref(),
            Some("password_change, retry_after=1s")
        );
    }

    #[test]
    fn a_charged_attempt_records_no_event() {
        let (throttle, audit) = throttle_over(ThrottleRecords::default(), 1, 1);
        let client = client();
        assert_eq!(
            throttle
                .admit(&login(&client, "alice"), at(0))
                .expect("ran"),
            Admission::Charged
        );
        assert!(audit.events().is_empty());
    }

    #[test]
    fn another_key_is_not_held_by_memory() {
        let mut store = MockThrottleStore::new();
        store
            .expect_load()
            .withf(|key| key.username() == "alice")
            .times(1)
            .returning(|_| Ok(five_failures(now())));
        store
            .expect_load()
            .withf(|key| key.username() == "bob")
            .times(1)
            .returning(|_| Ok(ThrottleRecords::default()));
        store
            .expect_charge()
            .times(1)
            .returning(|_, _, _| Ok(WriteOutcome::Written));
        let throttle =
            LoginThrottle::enabled(Arc::new(store), Arc::new(RecordingAuditLog::default()));
        let client = client();

        assert!(matches!(
            throttle
                .admit(&login(&client, "alice"), at(0))
                .expect("ran"),
            Admission::Throttled { .. }
        ));
        assert_eq!(
            throttle.admit(&login(&client, "bob"), at(0)).expect("ran"),
            Admission::Charged
        );
    }

    #[test]
    fn a_full_memory_forgets_waits_that_are_over_and_otherwise_keeps_no_more() {
        let throttle = LoginThrottle::disabled();
        for n in 0..MAX_HELD_KEYS {
            let until = if n == 0 { at(10) } else { at(60_000) };
            throttle.hold(&ThrottleKey::new(&n.to_string(), "alice"), at(0), until);
        }
        let newcomer = ThrottleKey::new("newcomer", "alice");
        throttle.hold(&newcomer, at(20), at(60_000));
        assert_eq!(throttle.held_until(&newcomer, at(20)), Some(60));
        assert_eq!(
            throttle.held.lock().expect("not poisoned").len(),
            MAX_HELD_KEYS,
            "the one whose wait was over made room"
        );

        let late = ThrottleKey::new("late", "alice");
        throttle.hold(&late, at(20), at(60_000));
        assert_eq!(throttle.held_until(&late, at(20)), None, "no room left");
    }
}
