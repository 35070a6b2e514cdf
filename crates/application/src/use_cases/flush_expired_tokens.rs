use std::sync::Arc;

use chrono::TimeDelta;

use crate::ports::{
    AuditLog, Clock, Outbox, RefreshTokenStore, RepositoryError, SessionStore, ThrottleStore,
};

/// How long sent and failed mail stays in the outbox (without its bodies), for the record and
/// for the per-address cap on reset mails, which counts the last hour.
pub const OUTBOX_RETENTION: TimeDelta = TimeDelta::days(7);

/// Rows deleted per statement: small enough that no delete holds a table for long.
pub const PRUNE_BATCH: u32 = 100;

/// What a flush deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Flushed {
    pub tokens: u64,
    pub sessions: u64,
    /// Login back-off records that no longer change any decision.
    pub throttle_records: u64,
    /// Outbox rows finished more than [`OUTBOX_RETENTION`] ago.
    pub mail: u64,
    /// Audit events older than the retention.
    pub audit_events: u64,
}

/// Deletes the rows of refresh tokens that have expired (they can never be used again), of
/// sessions that ended or expired, and of login back-off records that expired, in batches of
/// [`PRUNE_BATCH`]: on demand (`flush-expired-tokens`) and on the server's own timer. The
/// back-off's rows are pruned even while it is disabled: they may remain from when it was not.
/// Outbox rows go [`OUTBOX_RETENTION`] after they were sent or given up, audit events
/// `audit_retention` after they happened (never, without one).
#[derive(Clone)]
pub struct FlushExpiredTokens {
    pub refresh_tokens: Arc<dyn RefreshTokenStore>,
    pub sessions: Arc<dyn SessionStore>,
    pub throttle: Arc<dyn ThrottleStore>,
    pub outbox: Arc<dyn Outbox>,
    pub audit: Arc<dyn AuditLog>,
    pub audit_retention: Option<TimeDelta>,
    pub clock: Arc<dyn Clock>,
}

impl FlushExpiredTokens {
    pub fn execute(&self) -> Result<Flushed, RepositoryError> {
        let now = self.clock.now();
        let batches = |delete: &dyn Fn() -> Result<u64, RepositoryError>| {
            let mut total = 0;
            loop {
                let deleted = delete()?;
                total += deleted;
                if deleted < u64::from(PRUNE_BATCH) {
                    return Ok::<_, RepositoryError>(total);
                }
            }
        };
        Ok(Flushed {
            tokens: batches(&|| self.refresh_tokens.delete_expired(now, PRUNE_BATCH))?,
            sessions: batches(&|| self.sessions.prune(now, PRUNE_BATCH))?,
            throttle_records: batches(&|| self.throttle.prune(now, PRUNE_BATCH))?,
            mail: batches(&|| self.outbox.prune(now - OUTBOX_RETENTION, PRUNE_BATCH))?,
            audit_events: match self.audit_retention {
                Some(retention) => batches(&|| self.audit.prune(now - retention, PRUNE_BATCH))?,
                None => 0,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use mockall::Sequence;

    use super::*;
    use crate::ports::MockAuditLog;
    use crate::use_cases::test_support::*;

    #[test]
    fn rows_are_deleted_in_batches_until_a_batch_comes_back_short() {
        let mut ports = Ports::new();
        let mut sequence = Sequence::new();
        for deleted in [100, 100, 4] {
            ports
                .refresh_tokens
                .expect_delete_expired()
                .withf(|at, batch| *at == now() && *batch == PRUNE_BATCH)
                .times(1)
                .in_sequence(&mut sequence)
                .returning(move |_, _| Ok(deleted));
        }
        ports
            .sessions
            .expect_prune()
            .withf(|at, batch| *at == now() && *batch == PRUNE_BATCH)
            .times(1)
            .returning(|_, _| Ok(0));
        for deleted in [100, 7] {
            ports
                .throttle
                .expect_prune()
                .withf(|at, batch| *at == now() && *batch == PRUNE_BATCH)
                .times(1)
                .in_sequence(&mut sequence)
                .returning(move |_, _| Ok(deleted));
        }
        ports
            .outbox
            .expect_prune()
            .withf(|before, batch| *before == now() - OUTBOX_RETENTION && *batch == PRUNE_BATCH)
            .times(1)
            .returning(|_, _| Ok(3));
        let mut audit = MockAuditLog::new();
        for deleted in [100, 1] {
            audit
                .expect_prune()
                .withf(|before, batch| {
                    *before == now() - TimeDelta::days(90) && *batch == PRUNE_BATCH
                })
                .times(1)
                .in_sequence(&mut sequence)
                .returning(move |_, _| Ok(deleted));
        }
        let flush = FlushExpiredTokens {
            refresh_tokens: Arc::new(ports.refresh_tokens),
            sessions: Arc::new(ports.sessions),
            throttle: Arc::new(ports.throttle),
            outbox: Arc::new(ports.outbox),
            audit: Arc::new(audit),
            audit_retention: Some(TimeDelta::days(90)),
            clock: fixed_clock(),
        };
        assert_eq!(
            flush.execute().expect("flushes"),
            Flushed {
                tokens: 204,
                sessions: 0,
                throttle_records: 107,
                mail: 3,
                audit_events: 101,
            }
        );
    }
}
