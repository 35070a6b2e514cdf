use std::sync::Arc;

use chrono::{DateTime, Utc};
use domain::{LoginDecision, ThrottleKey, ThrottlePolicy};

use crate::ports::{Expiring, RepositoryError, ThrottleCharge, ThrottleStore, WriteOutcome};

/// How often a charge is tried when concurrent attempts at the same key keep changing its rows.
/// Each conflict means another attempt was charged meanwhile, so a few rounds turn a flood into
/// throttled answers.
pub(crate) const CHARGE_TRIES: u32 = 8;

/// The answer of the back-off to one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admission {
    /// Charged as a failure: the password may be checked.
    Charged,
    Throttled {
        retry_after_secs: u64,
    },
}

/// The login back-off over its store: [`ThrottlePolicy`] decides, the store keeps the records.
/// Disabled, it makes no store calls at all.
#[derive(Clone)]
pub struct LoginThrottle {
    store: Option<Arc<dyn ThrottleStore>>,
    policy: ThrottlePolicy,
}

impl LoginThrottle {
    /// With the API's numbers ([`ThrottlePolicy::default`]).
    pub fn enabled(store: Arc<dyn ThrottleStore>) -> Self {
        Self {
            store: Some(store),
            policy: ThrottlePolicy::default(),
        }
    }

    pub fn with_policy(self, policy: ThrottlePolicy) -> Self {
        Self { policy, ..self }
    }

    pub fn disabled() -> Self {
        Self {
            store: None,
            policy: ThrottlePolicy::default(),
        }
    }

    pub fn is_enabled(&self) -> bool {
        self.store.is_some()
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
        key: &ThrottleKey,
        now: DateTime<Utc>,
    ) -> Result<Admission, RepositoryError> {
        let Some(store) = &self.store else {
            return Ok(Admission::Charged);
        };
        for _ in 0..CHARGE_TRIES {
            let read = store.load(key)?;
            let charge = match self.policy.decide(&read.history(), now) {
                LoginDecision::Throttled { retry_after_secs } => {
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

    /// Resets the back-off of the key and makes its address known to the username.
    pub(crate) fn record_success(
        &self,
        key: &ThrottleKey,
        now: DateTime<Utc>,
    ) -> Result<(), RepositoryError> {
        let Some(store) = &self.store else {
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
