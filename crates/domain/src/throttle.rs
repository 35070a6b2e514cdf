//! The login back-off, as a pure state machine over injected time (Kanidm's softlock is the
//! model): what is remembered about earlier attempts goes in, with the time, and out comes whether
//! this attempt may check a password and what to remember if it does. No clock, no storage.
//!
//! Two records decide:
//! - per client address and username ([`AddressAttempts`]): the first
//!   [`free_failures`](ThrottlePolicy::free_failures) failures are free; after that each attempt
//!   must wait [`first_wait`](ThrottlePolicy::first_wait) after the last failure, doubling with
//!   every further failure up to [`max_wait`](ThrottlePolicy::max_wait). A success resets it. It
//!   is forgotten [`forget_after`](ThrottlePolicy::forget_after) after the last failure.
//! - per username across addresses ([`AccountAttempts`]): at most
//!   [`account_limit`](ThrottlePolicy::account_limit) attempts are checked in any
//!   [`account_window`](ThrottlePolicy::account_window). The count is kept in fixed windows
//!   aligned to the epoch (whole UTC hours), and an attempt is checked only while this window's
//!   count plus the previous window's stays under the limit. Any span of one window length
//!   overlaps at most two consecutive windows, so it never sees more than the limit, however the
//!   attempts are timed; the price is that a burst at the end of a window also closes the next.
//!
//! An address that signed in to the username within
//! [`known_address_for`](ThrottlePolicy::known_address_for) is exempt from the per-username cap
//! (and not counted by it): an attacker spread over many addresses can exhaust the cap, and the
//! owner still signs in from the devices and networks they used before. A new address of the
//! owner's waits like the attacker's until the window reopens.
//!
//! The records are keyed by strings only ([`ThrottleKey`]), never by a user lookup, so an unknown
//! username is throttled exactly like a real one and the throttle tells nobody which exist.
//!
//! Every attempt the decision allows is charged as a failure before its password is checked;
//! the success that may follow resets the address record. A throttled attempt is not charged,
//! so it never extends the wait.

use std::net::{IpAddr, Ipv6Addr};

use chrono::{DateTime, Duration, Utc};

use crate::{USERNAME_MAX_CHARS, Username};

/// The strings a login attempt is throttled by: where it came from and the username submitted,
/// in NFKC as usernames are stored.
///
/// An IPv6 client is counted by its /64 network, as the per-address rates count it: one
/// subscriber usually holds a whole /64, and taking a fresh address for every attempt would
/// otherwise give each its own five free failures.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ThrottleKey {
    address: String,
    username: String,
}

impl ThrottleKey {
    /// Normalises the username as the login looks it up. A username longer than any account's is
    /// cut to that length: it names no account either way, and the stored key stays small.
    pub fn new(address: &str, username: &str) -> Self {
        Self {
            address: counted_address(address),
            username: Username::normalize(username)
                .chars()
                .take(USERNAME_MAX_CHARS)
                .collect(),
        }
    }

    pub fn address(&self) -> &str {
        &self.address
    }

    pub fn username(&self) -> &str {
        &self.username
    }
}

/// An IPv4 address as it is (also when written IPv4-mapped), an IPv6 address as its /64 network
/// (`2001:db8:1:2::/64`), and anything else (no address at all) unchanged.
fn counted_address(address: &str) -> String {
    match address.parse::<IpAddr>().map(|ip| ip.to_canonical()) {
        Ok(IpAddr::V4(v4)) => v4.to_string(),
        Ok(IpAddr::V6(v6)) => {
            let network = Ipv6Addr::from(u128::from(v6) & !u128::from(u64::MAX));
            format!("{network}/64")
        }
        Err(_) => address.to_owned(),
    }
}

/// The numbers of the back-off. [`Default`] is the API's contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Failures per address and username before any wait.
    pub free_failures: u32,
    /// The wait after the first failure beyond the free ones; each further failure doubles it.
    pub first_wait: Duration,
    pub max_wait: Duration,
    /// How long after its last failure an address record is forgotten (and may be pruned).
    pub forget_after: Duration,
    /// Attempts per username checked in a window, from addresses not known to it.
    pub account_limit: u32,
    pub account_window: Duration,
    /// How long after a successful sign-in an address stays known to the username.
    pub known_address_for: Duration,
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        Self {
            free_failures: 5,
            first_wait: Duration::seconds(1),
            max_wait: Duration::minutes(15),
            forget_after: Duration::hours(24),
            account_limit: 100,
            account_window: Duration::hours(1),
            known_address_for: Duration::days(30),
        }
    }
}

/// What is remembered about one client address signing in as one username.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AddressAttempts {
    /// Attempts charged since the last success or since the record was last forgotten.
    pub failures: u32,
    /// When the last of them was charged.
    pub last_failure_at: Option<DateTime<Utc>>,
    /// The last successful sign-in from this address to this username.
    pub signed_in_at: Option<DateTime<Utc>>,
}

/// The attempts at one username from addresses not known to it, counted per window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountAttempts {
    /// The start of the window `attempts` counts.
    pub window_start: DateTime<Utc>,
    pub attempts: u32,
    /// The count of the window just before `window_start`.
    pub previous_attempts: u32,
}

/// Everything the decision reads: the address record (empty when there is none) and the
/// username's, when there is one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoginHistory {
    pub address: AddressAttempts,
    pub account: Option<AccountAttempts>,
}

/// Whether an attempt may check a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginDecision {
    /// It may, once the charge is stored.
    Allowed(Charge),
    /// It may not, and must not be charged. `retry_after_secs` is how long until an attempt
    /// would be allowed, rounded up to whole seconds, at least 1; `available_at`, the instant.
    Throttled {
        retry_after_secs: u64,
        available_at: DateTime<Utc>,
    },
}

/// The records to store before the password is checked, counting the attempt as a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Charge {
    pub address: AddressAttempts,
    /// `None` when the address is known to the username: the account record is left as it is.
    pub account: Option<AccountAttempts>,
}

impl ThrottlePolicy {
    /// Decides the attempt at `now`, given what is remembered.
    pub fn decide(&self, history: &LoginHistory, now: DateTime<Utc>) -> LoginDecision {
        let address = self.remembered(&history.address, now);
        let known = self.is_known(&address, now);
        let account = (!known).then(|| self.account_at(history.account, now));

        let back_off_ends = self.back_off_ends(&address);
        let account_opens = account.and_then(|account| self.account_opens(&account));
        match back_off_ends.into_iter().chain(account_opens).max() {
            Some(available_at) if now < available_at => LoginDecision::Throttled {
                retry_after_secs: whole_seconds_until(available_at - now),
                available_at,
            },
            _ => LoginDecision::Allowed(Charge {
                address: AddressAttempts {
                    failures: address.failures.saturating_add(1),
                    last_failure_at: Some(now),
                    signed_in_at: address.signed_in_at,
                },
                account: account.map(|account| AccountAttempts {
                    attempts: account.attempts.saturating_add(1),
                    ..account
                }),
            }),
        }
    }

    /// The address record after a successful sign-in at `now`: no failures, and the address
    /// known to the username from now on.
    pub fn after_success(&self, now: DateTime<Utc>) -> AddressAttempts {
        AddressAttempts {
            failures: 0,
            last_failure_at: None,
            signed_in_at: Some(now),
        }
    }

    /// From when the address record changes no decision: its failures are forgotten and the
    /// address is no longer known. Its row may be deleted then.
    pub fn address_expires_at(&self, record: &AddressAttempts) -> DateTime<Utc> {
        let forgotten = record.last_failure_at.map(|at| at + self.forget_after);
        let unknown = record.signed_in_at.map(|at| at + self.known_address_for);
        forgotten
            .into_iter()
            .chain(unknown)
            .max()
            .unwrap_or(DateTime::UNIX_EPOCH)
    }

    /// From when the account record counts nothing: neither its window nor the next.
    pub fn account_expires_at(&self, record: &AccountAttempts) -> DateTime<Utc> {
        record.window_start + self.window() + self.window()
    }

    /// The record without the failures that have been forgotten by `now`.
    fn remembered(&self, record: &AddressAttempts, now: DateTime<Utc>) -> AddressAttempts {
        match record.last_failure_at {
            Some(at) if now < at + self.forget_after => *record,
            _ => AddressAttempts {
                failures: 0,
                last_failure_at: None,
                signed_in_at: record.signed_in_at,
            },
        }
    }

    fn is_known(&self, record: &AddressAttempts, now: DateTime<Utc>) -> bool {
        record
            .signed_in_at
            .is_some_and(|at| now < at + self.known_address_for)
    }

    /// When the next attempt may come, or `None` while failures are still free.
    fn back_off_ends(&self, record: &AddressAttempts) -> Option<DateTime<Utc>> {
        let beyond_free = record.failures.checked_sub(self.free_failures)?;
        let last = record.last_failure_at?;
        // 2^20 seconds is twelve days: every exponent beyond that is capped anyway.
        let wait = self
            .first_wait
            .checked_mul(1 << beyond_free.min(20))
            .map_or(self.max_wait, |wait| wait.min(self.max_wait));
        Some(last + wait)
    }

    fn window(&self) -> Duration {
        self.account_window.max(Duration::seconds(1))
    }

    /// The account record moved to the window `now` falls in. A record of a later window (written
    /// by an instance whose clock runs ahead) is taken as it is, so skew never loses counts.
    fn account_at(&self, record: Option<AccountAttempts>, now: DateTime<Utc>) -> AccountAttempts {
        let length = self.window().num_seconds();
        let secs = now.timestamp();
        let current = DateTime::from_timestamp(secs - secs.rem_euclid(length), 0).unwrap_or(now);
        match record {
            Some(record) if record.window_start >= current => record,
            Some(record) if record.window_start + self.window() == current => AccountAttempts {
                window_start: current,
                attempts: 0,
                previous_attempts: record.attempts,
            },
            _ => AccountAttempts {
                window_start: current,
                attempts: 0,
                previous_attempts: 0,
            },
        }
    }

    /// When the cap lets an attempt through again, or `None` while it does.
    fn account_opens(&self, record: &AccountAttempts) -> Option<DateTime<Utc>> {
        let seen = u64::from(record.attempts) + u64::from(record.previous_attempts);
        if seen < u64::from(self.account_limit) {
            None
        } else if record.attempts < self.account_limit {
            // In the next window this one's count is the previous one.
            Some(record.window_start + self.window())
        } else {
            Some(record.window_start + self.window() + self.window())
        }
    }
}

/// Rounded up to whole seconds, at least 1: a client that waits that long is let through.
pub fn whole_seconds_until(wait: Duration) -> u64 {
    let whole = wait.num_seconds();
    let rounded = if wait > Duration::seconds(whole) {
        whole + 1
    } else {
        whole
    };
    u64::try_from(rounded).unwrap_or(0).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: &str = "2026-12-02T10:00:00Z";

    fn t0() -> DateTime<Utc> {
        T0.parse().expect("an RFC 3339 time")
    }

    fn secs(n: i64) -> Duration {
        Duration::seconds(n)
    }

    fn millis(n: i64) -> Duration {
        Duration::milliseconds(n)
    }

    fn policy() -> ThrottlePolicy {
        ThrottlePolicy::default()
    }

    /// `failures` charged, the last at `last`, at an address never signed in from.
    fn failed(failures: u32, last: DateTime<Utc>) -> LoginHistory {
        LoginHistory {
            address: AddressAttempts {
                failures,
                last_failure_at: Some(last),
                signed_in_at: None,
            },
            account: None,
        }
    }

    fn account(window_start: DateTime<Utc>, attempts: u32, previous: u32) -> AccountAttempts {
        AccountAttempts {
            window_start,
            attempts,
            previous_attempts: previous,
        }
    }

    fn throttled(secs: u64) -> Option<u64> {
        Some(secs)
    }

    fn allowed() -> Option<u64> {
        None
    }

    fn outcome(decision: LoginDecision) -> Option<u64> {
        match decision {
            LoginDecision::Allowed(_) => None,
            LoginDecision::Throttled {
                retry_after_secs, ..
            } => Some(retry_after_secs),
        }
    }

    fn charge(history: &LoginHistory, now: DateTime<Utc>) -> Charge {
        match policy().decide(history, now) {
            LoginDecision::Allowed(charge) => charge,
            throttled => panic!("expected the attempt at {now} to be allowed: {throttled:?}"),
        }
    }

    /// The history after the charge is stored.
    fn charged(history: &LoginHistory, now: DateTime<Utc>) -> LoginHistory {
        let charge = charge(history, now);
        LoginHistory {
            address: charge.address,
            account: charge.account.or(history.account),
        }
    }

    #[test]
    fn the_address_back_off_follows_the_table() {
        let p = policy();
        let cases: &[(&str, LoginHistory, DateTime<Utc>, Option<u64>)] = &[
            (
                "nothing remembered",
                LoginHistory::default(),
                t0(),
                allowed(),
            ),
            ("one failure", failed(1, t0()), t0(), allowed()),
            ("four failures", failed(4, t0()), t0(), allowed()),
            (
                "the 6th attempt right after the 5th failure",
                failed(5, t0()),
                t0(),
                throttled(1),
            ),
            (
                "half a second after the 5th failure",
                failed(5, t0()),
                t0() + millis(500),
                throttled(1),
            ),
            (
                "a microsecond before the wait ends",
                failed(5, t0()),
                t0() + secs(1) - Duration::microseconds(1),
                throttled(1),
            ),
            (
                "exactly when the wait ends",
                failed(5, t0()),
                t0() + secs(1),
                allowed(),
            ),
            (
                "after 6 failures the wait is 2 s",
                failed(6, t0()),
                t0(),
                throttled(2),
            ),
            (
                "after 7 failures the wait is 4 s",
                failed(7, t0()),
                t0(),
                throttled(4),
            ),
            ("after 8, 8 s", failed(8, t0()), t0(), throttled(8)),
            ("after 14, 512 s", failed(14, t0()), t0(), throttled(512)),
            (
                "after 15, capped at 15 min",
                failed(15, t0()),
                t0(),
                throttled(900),
            ),
            (
                "after 40, still 15 min",
                failed(40, t0()),
                t0(),
                throttled(900),
            ),
            (
                "after u32::MAX, still 15 min",
                failed(u32::MAX, t0()),
                t0(),
                throttled(900),
            ),
            (
                "the capped wait ends exactly at 15 min",
                failed(40, t0()),
                t0() + Duration::minutes(15),
                allowed(),
            ),
            (
                "part of a second left rounds up",
                failed(7, t0()),
                t0() + millis(2_001),
                throttled(2),
            ),
            (
                "a whole second left stays whole",
                failed(7, t0()),
                t0() + secs(2),
                throttled(2),
            ),
            (
                "forgotten 24 h after the last failure",
                failed(40, t0()),
                t0() + Duration::hours(24),
                allowed(),
            ),
            (
                "not yet forgotten just before",
                failed(40, t0() + Duration::hours(24) - Duration::minutes(10)),
                t0() + Duration::hours(24),
                throttled(300),
            ),
        ];
        for (name, history, now, expected) in cases {
            assert_eq!(outcome(p.decide(history, *now)), *expected, "{name}");
        }
    }

    #[test]
    fn five_failures_are_free_and_then_the_waits_double_up_to_the_cap() {
        let mut history = LoginHistory::default();
        let mut now = t0();
        for _ in 0..5 {
            history = charged(&history, now);
        }
        let mut waits = Vec::new();
        for _ in 0..12 {
            let Some(wait) = outcome(policy().decide(&history, now)) else {
                panic!(
                    "expected a wait after {} failures",
                    history.address.failures
                );
            };
            waits.push(wait);
            now += secs(i64::try_from(wait).expect("fits"));
            history = charged(&history, now);
        }
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900]);
    }

    #[test]
    fn a_charge_counts_the_attempt_as_a_failure_now_and_keeps_the_sign_in() {
        let signed_in = t0() - Duration::days(3);
        let history = LoginHistory {
            address: AddressAttempts {
                failures: 2,
                last_failure_at: Some(t0() - secs(10)),
                signed_in_at: Some(signed_in),
            },
            account: None,
        };
        assert_eq!(
            charge(&history, t0()).address,
            AddressAttempts {
                failures: 3,
                last_failure_at: Some(t0()),
                signed_in_at: Some(signed_in),
            }
        );
    }

    #[test]
    fn forgotten_failures_count_from_one_again() {
        let later = t0() + Duration::hours(25);
        let charge = charge(&failed(40, t0()), later);
        assert_eq!(charge.address.failures, 1);
        assert_eq!(charge.address.last_failure_at, Some(later));
    }

    #[test]
    fn a_success_resets_the_back_off_and_makes_the_address_known() {
        let p = policy();
        let success = p.after_success(t0());
        assert_eq!(
            success,
            AddressAttempts {
                failures: 0,
                last_failure_at: None,
                signed_in_at: Some(t0()),
            }
        );
        let mut history = LoginHistory {
            address: success,
            account: None,
        };
        for i in 0..5 {
            history = charged(&history, t0() + secs(i));
        }
        assert_eq!(outcome(p.decide(&history, t0() + secs(4))), throttled(1));
        history.address = p.after_success(t0() + secs(4));
        assert_eq!(outcome(p.decide(&history, t0() + secs(4))), allowed());
    }

    #[test]
    fn a_throttled_attempt_is_not_charged_so_it_does_not_extend_the_wait() {
        let p = policy();
        let history = failed(7, t0());
        for (offset, left) in [(0, 4), (1_000, 3), (3_999, 1)] {
            assert_eq!(
                outcome(p.decide(&history, t0() + millis(offset))),
                throttled(left)
            );
        }
        // Nothing was stored for the throttled attempts: the wait still ends 4 s after the failure.
        assert_eq!(outcome(p.decide(&history, t0() + secs(4))), allowed());
    }

    #[test]
    fn the_account_cap_follows_the_table() {
        let p = policy();
        let hour = Duration::hours(1);
        // 10:00 is the start of a window; 10:30 is inside it.
        let mid = t0() + Duration::minutes(30);
        let with = |record: AccountAttempts| LoginHistory {
            address: AddressAttempts::default(),
            account: Some(record),
        };
        let cases: &[(&str, LoginHistory, DateTime<Utc>, Option<u64>)] = &[
            (
                "99 in this window",
                with(account(t0(), 99, 0)),
                mid,
                allowed(),
            ),
            (
                "100 in this window: wait for the next-but-one",
                with(account(t0(), 100, 0)),
                mid,
                throttled(90 * 60),
            ),
            (
                "60 now and 40 before: wait for the next",
                with(account(t0(), 60, 40)),
                mid,
                throttled(30 * 60),
            ),
            (
                "59 now and 40 before",
                with(account(t0(), 59, 40)),
                mid,
                allowed(),
            ),
            (
                "0 now and 100 before",
                with(account(t0(), 0, 100)),
                mid,
                throttled(30 * 60),
            ),
            (
                "100 in the last window, now in the next",
                with(account(t0() - hour, 100, 0)),
                mid,
                throttled(30 * 60),
            ),
            (
                "60 in the last window, now in the next",
                with(account(t0() - hour, 60, 0)),
                mid,
                allowed(),
            ),
            (
                "100 two windows ago",
                with(account(t0() - hour - hour, 100, 100)),
                mid,
                allowed(),
            ),
            (
                "the next window opens exactly on the hour",
                with(account(t0(), 60, 40)),
                t0() + hour,
                allowed(),
            ),
            (
                "the next-but-one opens exactly on the hour",
                with(account(t0(), 100, 0)),
                t0() + hour + hour,
                allowed(),
            ),
            (
                "still closed just before it",
                with(account(t0(), 100, 0)),
                t0() + hour + hour - millis(1),
                throttled(1),
            ),
            (
                "a record from a clock ahead counts",
                with(account(t0() + hour, 100, 0)),
                mid,
                throttled(150 * 60),
            ),
        ];
        for (name, history, now, expected) in cases {
            assert_eq!(outcome(p.decide(history, *now)), *expected, "{name}");
        }
    }

    #[test]
    fn the_account_record_rolls_into_the_current_window() {
        let hour = Duration::hours(1);
        let now = t0() + Duration::minutes(30);
        let history_with = |record| LoginHistory {
            address: AddressAttempts::default(),
            account: record,
        };
        let cases = [
            (None, account(t0(), 1, 0)),
            (Some(account(t0(), 7, 3)), account(t0(), 8, 3)),
            (Some(account(t0() - hour, 7, 3)), account(t0(), 1, 7)),
            (Some(account(t0() - hour - hour, 7, 3)), account(t0(), 1, 0)),
        ];
        for (stored, expected) in cases {
            assert_eq!(
                charge(&history_with(stored), now).account,
                Some(expected),
                "{stored:?}"
            );
        }
    }

    #[test]
    fn no_span_of_an_hour_checks_more_than_100_attempts_however_they_are_timed() {
        let p = policy();
        let mut history = LoginHistory::default();
        let mut checked = Vec::new();
        // One attempt every 7 s for five hours, each from a new address.
        for step in 0..(5 * 3600 / 7) {
            let now = t0() + Duration::minutes(40) + secs(7 * step);
            let fresh = LoginHistory {
                address: AddressAttempts::default(),
                account: history.account,
            };
            if let LoginDecision::Allowed(charge) = p.decide(&fresh, now) {
                checked.push(now);
                history.account = charge.account;
            }
        }
        assert!(!checked.is_empty());
        for (i, start) in checked.iter().enumerate() {
            let in_hour = checked[i..]
                .iter()
                .take_while(|at| **at < *start + Duration::hours(1))
                .count();
            assert!(
                in_hour <= 100,
                "{in_hour} attempts in the hour from {start}"
            );
        }
    }

    #[test]
    fn a_known_address_is_neither_held_nor_counted_by_the_account_cap() {
        let p = policy();
        let full = Some(account(t0(), 100, 0));
        let known = LoginHistory {
            address: AddressAttempts {
                signed_in_at: Some(t0() - Duration::days(29)),
                ..AddressAttempts::default()
            },
            account: full,
        };
        let charge = charge(&known, t0() + secs(1));
        assert_eq!(charge.account, None, "the account record is left alone");
        assert_eq!(charge.address.failures, 1);

        let lapsed = LoginHistory {
            address: AddressAttempts {
                signed_in_at: Some(t0() - Duration::days(30)),
                ..AddressAttempts::default()
            },
            account: full,
        };
        assert_eq!(outcome(p.decide(&lapsed, t0())), throttled(2 * 3600));
    }

    #[test]
    fn a_known_address_still_backs_off_after_its_own_failures() {
        let history = LoginHistory {
            address: AddressAttempts {
                failures: 5,
                last_failure_at: Some(t0()),
                signed_in_at: Some(t0() - Duration::days(1)),
            },
            account: None,
        };
        assert_eq!(outcome(policy().decide(&history, t0())), throttled(1));
    }

    #[test]
    fn when_both_hold_the_later_one_is_the_wait() {
        let p = policy();
        let history = LoginHistory {
            account: Some(account(t0(), 60, 40)),
            ..failed(15, t0() + Duration::minutes(50))
        };
        // The back-off ends at 11:05, the cap opens at 11:00.
        assert_eq!(
            outcome(p.decide(&history, t0() + Duration::minutes(55))),
            throttled(600)
        );
        let history = LoginHistory {
            account: Some(account(t0(), 60, 40)),
            ..failed(5, t0() + Duration::minutes(50))
        };
        assert_eq!(
            outcome(p.decide(&history, t0() + Duration::minutes(50))),
            throttled(600)
        );
    }

    #[test]
    fn records_expire_when_they_no_longer_change_a_decision() {
        let p = policy();
        assert_eq!(
            p.address_expires_at(&failed(3, t0()).address),
            t0() + Duration::hours(24)
        );
        assert_eq!(
            p.address_expires_at(&p.after_success(t0())),
            t0() + Duration::days(30)
        );
        let both = AddressAttempts {
            failures: 1,
            last_failure_at: Some(t0()),
            signed_in_at: Some(t0() - Duration::days(29) - Duration::hours(23)),
        };
        assert_eq!(p.address_expires_at(&both), t0() + Duration::hours(24));
        assert_eq!(
            p.account_expires_at(&account(t0(), 5, 5)),
            t0() + Duration::hours(2)
        );
        // At its expiry, a record decides nothing any more.
        let expiry = p.account_expires_at(&account(t0(), 100, 100));
        let history = LoginHistory {
            address: AddressAttempts::default(),
            account: Some(account(t0(), 100, 100)),
        };
        assert_eq!(outcome(p.decide(&history, expiry)), allowed());
        assert_eq!(
            outcome(p.decide(&history, expiry - millis(1))),
            throttled(1)
        );
    }

    #[test]
    fn keys_are_strings_with_the_username_in_nfkc_and_of_bounded_length() {
        let key = ThrottleKey::new("203.0.113.7", "ｂｏｂｂｙ");
        assert_eq!(key.address(), "203.0.113.7");
        assert_eq!(key.username(), "bobby");
        assert_eq!(key, ThrottleKey::new("203.0.113.7", "bobby"));
        assert_ne!(key, ThrottleKey::new("203.0.113.7", "Bobby"));
        let long = "é".repeat(USERNAME_MAX_CHARS + 50);
        assert_eq!(
            ThrottleKey::new("::1", &long).username().chars().count(),
            USERNAME_MAX_CHARS
        );
    }

    #[test]
    fn an_ipv6_client_is_counted_by_its_64_network_and_mapped_ipv4_as_ipv4() {
        let key = |address: &str| ThrottleKey::new(address, "alice").address().to_owned();
        assert_eq!(key("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(key("2001:db8:1:2::2"), key("2001:db8:1:2:ffff::9"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_eq!(key("::ffff:192.0.2.9"), "192.0.2.9");
        assert_eq!(key("192.0.2.9"), "192.0.2.9");
        assert_eq!(key(""), "");
    }

    #[test]
    fn waits_are_whole_seconds_rounded_up_and_never_zero() {
        assert_eq!(whole_seconds_until(Duration::nanoseconds(1)), 1);
        assert_eq!(whole_seconds_until(millis(999)), 1);
        assert_eq!(whole_seconds_until(secs(1)), 1);
        assert_eq!(whole_seconds_until(millis(1_001)), 2);
        assert_eq!(whole_seconds_until(Duration::zero()), 1);
    }
}
