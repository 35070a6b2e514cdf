//! Request rates per client address, in DRF's notation (`THROTTLE_RATES`), kept in memory by each
//! instance (governor's keyed GCRA limiters): behind a load balancer, each instance counts its own
//! share. A refused request gets 429 before anything costly happens: no body is read, no hash
//! turn is taken, and the refusal itself does not count.
//!
//! A rate `N/period` allows a burst of `N` and then one more request every `period / N`, where
//! DRF's sliding window would let the next `N` through once the oldest of the last ones is a
//! `period` old. The long-run rate is the same; the limiter holds eight bytes per address.

use std::fmt;
use std::future::{Ready, ready};
use std::marker::PhantomData;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::num::NonZeroU32;
use std::str::FromStr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use governor::clock::{Clock, DefaultClock};
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DashMapStateStore;
use governor::{Quota, RateLimiter};

use crate::client::client_address;
use crate::error::ApiError;

/// What a rate applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    Login,
    Register,
    PasswordReset,
    Refresh,
}

impl Scope {
    pub const ALL: [Self; 4] = [
        Self::Login,
        Self::Register,
        Self::PasswordReset,
        Self::Refresh,
    ];

    /// The scope's name in `THROTTLE_RATES`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Login => "login",
            Self::Register => "register",
            Self::PasswordReset => "password_reset",
            Self::Refresh => "refresh",
        }
    }

    fn index(self) -> usize {
        match self {
            Self::Login => 0,
            Self::Register => 1,
            Self::PasswordReset => 2,
            Self::Refresh => 3,
        }
    }
}

/// `N` requests per period, as DRF writes it: `30/minute`. As in DRF, only the period's first
/// letter counts (`s`, `m`, `h` or `d`), so `10/min`, `10/hour` and `10/h` are all accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub requests: NonZeroU32,
    pub per: Duration,
}

impl Rate {
    fn quota(self) -> Quota {
        let interval = (self.per / self.requests.get()).max(Duration::from_nanos(1));
        Quota::with_period(interval)
            .unwrap_or_else(|| Quota::per_second(self.requests))
            .allow_burst(self.requests)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidRate {
    #[error("{0:?} is not a rate such as 30/minute (a count, a slash, then s, m, h or d)")]
    Malformed(String),
    #[error("{0:?} allows no request; the count must be at least 1")]
    Zero(String),
}

impl FromStr for Rate {
    type Err = InvalidRate;

    fn from_str(text: &str) -> Result<Self, InvalidRate> {
        let malformed = || InvalidRate::Malformed(text.to_owned());
        let (count, period) = text.trim().split_once('/').ok_or_else(malformed)?;
        let count = count.trim();
        if count.is_empty() || !count.bytes().all(|b| b.is_ascii_digit()) {
            return Err(malformed());
        }
        let count: u32 = count.parse().map_err(|_| malformed())?;
        let per = match period.trim().chars().next().map(|c| c.to_ascii_lowercase()) {
            Some('s') => 1,
            Some('m') => 60,
            Some('h') => 3_600,
            Some('d') => 86_400,
            _ => return Err(malformed()),
        };
        Ok(Self {
            requests: NonZeroU32::new(count).ok_or_else(|| InvalidRate::Zero(text.to_owned()))?,
            per: Duration::from_secs(per),
        })
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let period = match self.per.as_secs() {
            1 => "second",
            60 => "minute",
            3_600 => "hour",
            86_400 => "day",
            _ => return write!(f, "{}/{}s", self.requests, self.per.as_secs()),
        };
        write!(f, "{}/{period}", self.requests)
    }
}

/// The rate of each scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThrottleRates([Rate; 4]);

impl ThrottleRates {
    /// The contract's defaults, as `THROTTLE_RATES` would say them.
    pub const DEFAULT: &'static str =
        "login=30/minute,register=10/hour,password_reset=5/hour,refresh=120/minute";

    pub fn get(&self, scope: Scope) -> Rate {
        self.0[scope.index()]
    }

    pub fn set(&mut self, scope: Scope, rate: Rate) {
        self.0[scope.index()] = rate;
    }

    /// These rates with the entries of `spec` (`login=5/minute,refresh=60/minute`) replacing
    /// theirs; a scope `spec` leaves out keeps its rate. An empty `spec` changes nothing.
    pub fn with_overrides(mut self, spec: &str) -> Result<Self, InvalidRates> {
        for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (name, rate) = entry
                .split_once('=')
                .ok_or_else(|| InvalidRates::Entry(entry.to_owned()))?;
            let scope = Scope::ALL
                .into_iter()
                .find(|scope| scope.name() == name.trim())
                .ok_or_else(|| InvalidRates::UnknownScope(name.trim().to_owned()))?;
            self.set(scope, rate.parse()?);
        }
        Ok(self)
    }
}

impl Default for ThrottleRates {
    fn default() -> Self {
        let rate = |requests, per| Rate {
            requests: NonZeroU32::new(requests).unwrap_or(NonZeroU32::MIN),
            per: Duration::from_secs(per),
        };
        Self([rate(30, 60), rate(10, 3_600), rate(5, 3_600), rate(120, 60)])
    }
}

impl fmt::Display for ThrottleRates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, scope) in Scope::ALL.into_iter().enumerate() {
            let comma = if i == 0 { "" } else { "," };
            write!(f, "{comma}{}={}", scope.name(), self.get(scope))?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidRates {
    #[error("{0:?} is not scope=rate, as in login=30/minute")]
    Entry(String),
    #[error("{0:?} is not a scope; the scopes are login, register, password_reset and refresh")]
    UnknownScope(String),
    #[error(transparent)]
    Rate(#[from] InvalidRate),
}

/// How many checks of one scope pass between two sweeps of the addresses whose state has
/// returned to fresh: the limiters hold at most the addresses seen within one period, plus this.
const CHECKS_PER_SWEEP: u32 = 1024;

type Limiter<C> =
    RateLimiter<IpAddr, DashMapStateStore<IpAddr>, C, NoOpMiddleware<<C as Clock>::Instant>>;

/// One scope's limiter, and the count of checks since its last sweep.
struct ScopeLimiter<C: Clock> {
    limiter: Limiter<C>,
    checks: AtomicU32,
}

/// The per-address limits of every scope, shared by all workers of one instance. Register one
/// `web::Data<RateLimits>`; handlers check through [`admit`] or the [`Admitted`] extractor.
pub struct RateLimits<C: Clock = DefaultClock> {
    /// `None` when throttling is off.
    scopes: Option<Vec<ScopeLimiter<C>>>,
    clock: C,
}

impl RateLimits {
    pub fn new(rates: &ThrottleRates) -> Self {
        Self::with_clock(rates, DefaultClock::default())
    }
}

impl<C: Clock + Clone> RateLimits<C> {
    /// Admits everything: `THROTTLE_ENABLED=false`.
    pub fn off() -> Self
    where
        C: Default,
    {
        Self {
            scopes: None,
            clock: C::default(),
        }
    }

    /// Limits counted on `clock`, so tests can move time.
    pub fn with_clock(rates: &ThrottleRates, clock: C) -> Self {
        let scopes = Scope::ALL
            .into_iter()
            .map(|scope| ScopeLimiter {
                limiter: RateLimiter::dashmap_with_clock(rates.get(scope).quota(), clock.clone()),
                checks: AtomicU32::new(0),
            })
            .collect();
        Self {
            scopes: Some(scopes),
            clock,
        }
    }

    /// Counts one request of `client` under `scope`.
    ///
    /// # Errors
    /// [`ApiError::Throttled`] with the whole seconds until the request would pass, when the
    /// client has used up the scope's rate; a refused request is not counted.
    pub fn check(&self, scope: Scope, client: IpAddr) -> Result<(), ApiError> {
        let Some(scopes) = &self.scopes else {
            return Ok(());
        };
        let scope = &scopes[scope.index()];
        if scope.checks.fetch_add(1, Ordering::Relaxed) % CHECKS_PER_SWEEP == CHECKS_PER_SWEEP - 1 {
            scope.limiter.retain_recent();
            scope.limiter.shrink_to_fit();
        }
        scope
            .limiter
            .check_key(&rate_key(client))
            .map_err(|refused| {
                let wait = refused.wait_time_from(self.clock.now());
                ApiError::Throttled {
                    wait_secs: whole_seconds(wait),
                }
            })
    }

    /// Addresses held by `scope`'s limiter.
    #[cfg(test)]
    fn addresses(&self, scope: Scope) -> usize {
        self.scopes
            .as_ref()
            .map_or(0, |scopes| scopes[scope.index()].limiter.len())
    }
}

/// DRF's wait: whole seconds, rounded up, and never 0 for a refused request.
fn whole_seconds(wait: Duration) -> u64 {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    secs.max(1)
}

/// The key an address is counted under: an IPv4 address (also when written IPv4-mapped), or an
/// IPv6 address's /64 network, since one subscriber usually holds a whole /64 and could otherwise
/// take a fresh address for every request.
pub fn rate_key(client: IpAddr) -> IpAddr {
    match client.to_canonical() {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => {
            let prefix = u128::from(v6) & !(u128::from(u64::MAX));
            IpAddr::V6(Ipv6Addr::from(prefix))
        }
    }
}

/// Counts `req` under `scope` for its client's address (see `client::client_address`).
///
/// # Errors
/// [`ApiError::Throttled`] from [`RateLimits::check`]; an internal error when no `RateLimits`
/// is registered.
pub(crate) fn admit(req: &HttpRequest, scope: Scope) -> Result<(), ApiError> {
    let limits = req
        .app_data::<web::Data<RateLimits>>()
        .ok_or_else(|| ApiError::internal("RateLimits is not registered"))?;
    let client = client_address(req).unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    limits.check(scope, client)
}

/// A scope as a type, for [`Admitted`].
pub(crate) trait RateScope {
    const SCOPE: Scope;
}

pub(crate) enum LoginRate {}
pub(crate) enum RegisterRate {}
pub(crate) enum RefreshRate {}
/// Password reset and verification resend: the requests that send mail to an address.
pub(crate) enum PasswordResetRate {}

impl RateScope for LoginRate {
    const SCOPE: Scope = Scope::Login;
}
impl RateScope for RegisterRate {
    const SCOPE: Scope = Scope::Register;
}
impl RateScope for RefreshRate {
    const SCOPE: Scope = Scope::Refresh;
}
impl RateScope for PasswordResetRate {
    const SCOPE: Scope = Scope::PasswordReset;
}

/// A request admitted under `S`'s rate. Taken before the body: the extractors after a refused
/// one never run, so a throttled request's body is not read.
pub(crate) struct Admitted<S>(PhantomData<S>);

impl<S: RateScope> FromRequest for Admitted<S> {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(admit(req, S::SCOPE).map(|()| Self(PhantomData)))
    }
}

#[cfg(test)]
mod tests {
    use governor::clock::FakeRelativeClock;

    use super::*;

    fn rate(text: &str) -> Rate {
        text.parse().expect("a rate")
    }

    fn wait_of(result: Result<(), ApiError>) -> Option<u64> {
        match result {
            Ok(()) => None,
            Err(ApiError::Throttled { wait_secs }) => Some(wait_secs),
            Err(other) => panic!("unexpected {other}"),
        }
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("an address")
    }

    #[test]
    fn rates_read_the_first_letter_of_the_period_as_drf_does() {
        for (text, requests, secs) in [
            ("30/minute", 30, 60),
            ("30/min", 30, 60),
            ("30/m", 30, 60),
            ("10/hour", 10, 3_600),
            ("10/h", 10, 3_600),
            ("5/second", 5, 1),
            ("5/sec", 5, 1),
            ("1/day", 1, 86_400),
            (" 7 / Hour ", 7, 3_600),
        ] {
            let parsed = rate(text);
            assert_eq!(
                (parsed.requests.get(), parsed.per.as_secs()),
                (requests, secs),
                "{text}"
            );
        }
    }

    #[test]
    fn malformed_rates_are_refused() {
        for bad in [
            "",
            "30",
            "30/",
            "/minute",
            "x/minute",
            "-1/minute",
            "1.5/minute",
            "30/week",
            "30 minute",
        ] {
            assert!(
                matches!(bad.parse::<Rate>(), Err(InvalidRate::Malformed(_))),
                "{bad}"
            );
        }
        assert!(matches!(
            "0/minute".parse::<Rate>(),
            Err(InvalidRate::Zero(_))
        ));
    }

    #[test]
    fn the_defaults_are_the_contracts_and_print_as_they_are_written() {
        let defaults = ThrottleRates::default();
        assert_eq!(defaults.to_string(), ThrottleRates::DEFAULT);
        assert_eq!(
            ThrottleRates::default().with_overrides(ThrottleRates::DEFAULT),
            Ok(defaults)
        );
    }

    #[test]
    fn overrides_replace_only_the_scopes_they_name() {
        let rates = ThrottleRates::default()
            .with_overrides(" register=3/h , refresh=1/s,")
            .expect("valid");
        assert_eq!(rates.get(Scope::Register), rate("3/hour"));
        assert_eq!(rates.get(Scope::Refresh), rate("1/second"));
        assert_eq!(rates.get(Scope::Login), rate("30/minute"));
        assert_eq!(rates.get(Scope::PasswordReset), rate("5/hour"));
        assert_eq!(
            ThrottleRates::default().with_overrides(""),
            Ok(ThrottleRates::default())
        );
    }

    #[test]
    fn unknown_scopes_and_malformed_entries_are_refused() {
        let refused = |spec: &str| {
            ThrottleRates::default()
                .with_overrides(spec)
                .expect_err("refused")
        };
        assert_eq!(
            refused("logn=5/minute"),
            InvalidRates::UnknownScope("logn".into())
        );
        assert_eq!(
            refused("anon=5/minute"),
            InvalidRates::UnknownScope("anon".into())
        );
        assert_eq!(refused("login"), InvalidRates::Entry("login".into()));
        assert!(matches!(refused("login=often"), InvalidRates::Rate(_)));
        assert!(
            refused("logn=5/minute")
                .to_string()
                .contains("password_reset")
        );
    }

    #[test]
    fn a_client_gets_its_burst_then_waits_whole_seconds_rounded_up() {
        let clock = FakeRelativeClock::default();
        let rates = ThrottleRates::default()
            .with_overrides("register=3/minute")
            .expect("valid");
        let limits = RateLimits::with_clock(&rates, clock.clone());
        let client = ip("192.0.2.1");
        for _ in 0..3 {
            assert_eq!(wait_of(limits.check(Scope::Register, client)), None);
        }
        // One request comes back every 20 s.
        assert_eq!(wait_of(limits.check(Scope::Register, client)), Some(20));
        clock.advance(Duration::from_millis(19_500));
        assert_eq!(wait_of(limits.check(Scope::Register, client)), Some(1));
        clock.advance(Duration::from_millis(500));
        assert_eq!(wait_of(limits.check(Scope::Register, client)), None);
        assert_eq!(wait_of(limits.check(Scope::Register, client)), Some(20));
    }

    #[test]
    fn addresses_and_scopes_are_counted_apart() {
        let rates = ThrottleRates::default()
            .with_overrides("login=1/minute,register=1/minute")
            .expect("valid");
        let limits = RateLimits::with_clock(&rates, FakeRelativeClock::default());
        assert!(limits.check(Scope::Login, ip("192.0.2.1")).is_ok());
        assert!(limits.check(Scope::Login, ip("192.0.2.1")).is_err());
        assert!(limits.check(Scope::Login, ip("192.0.2.2")).is_ok());
        assert!(limits.check(Scope::Register, ip("192.0.2.1")).is_ok());
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64_network_and_mapped_ipv4_as_ipv4() {
        assert_eq!(rate_key(ip("2001:db8:1:2:aaaa::1")), ip("2001:db8:1:2::"));
        assert_eq!(rate_key(ip("::ffff:192.0.2.9")), ip("192.0.2.9"));
        assert_eq!(rate_key(ip("192.0.2.9")), ip("192.0.2.9"));
        let rates = ThrottleRates::default()
            .with_overrides("login=1/minute")
            .expect("valid");
        let limits = RateLimits::with_clock(&rates, FakeRelativeClock::default());
        assert!(limits.check(Scope::Login, ip("2001:db8:1:2::1")).is_ok());
        assert!(limits.check(Scope::Login, ip("2001:db8:1:2::2")).is_err());
        assert!(limits.check(Scope::Login, ip("2001:db8:1:3::1")).is_ok());
    }

    #[test]
    fn off_admits_everything() {
        let limits = RateLimits::<FakeRelativeClock>::off();
        for _ in 0..1_000 {
            assert!(limits.check(Scope::Register, ip("192.0.2.1")).is_ok());
        }
    }

    #[test]
    fn addresses_whose_state_is_fresh_again_are_swept() {
        let clock = FakeRelativeClock::default();
        let rates = ThrottleRates::default()
            .with_overrides("login=2/second")
            .expect("valid");
        let limits = RateLimits::with_clock(&rates, clock.clone());
        let many = |from: u32| {
            for n in from..from + CHECKS_PER_SWEEP {
                let _ = limits.check(Scope::Login, IpAddr::V4(Ipv4Addr::from(n)));
            }
        };
        many(0);
        clock.advance(Duration::from_secs(2));
        many(1 << 20);
        // The sweep at the end of the second round dropped the first round's addresses.
        assert!(
            limits.addresses(Scope::Login) <= CHECKS_PER_SWEEP as usize,
            "{} addresses held",
            limits.addresses(Scope::Login)
        );
    }
}
