//! Reading the audit log: `auth-server audit`.

use std::sync::Arc;

use chrono::TimeDelta;
use domain::{AuditEvent, Username};

use crate::ports::{AuditLog, AuditQuery, Clock, RepositoryError, UserRepository};

/// The events of one account, or of every one, from some time ago to now.
#[derive(Clone)]
pub struct ReadAuditLog {
    pub audit: Arc<dyn AuditLog>,
    pub users: Arc<dyn UserRepository>,
    pub clock: Arc<dyn Clock>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// The account's events (by its id, while it exists) and the attempts at its username
    /// (also after it was deleted, or when it never existed).
    pub username: Option<String>,
    /// Only events at most this long ago.
    pub since: Option<TimeDelta>,
    /// At most this many, the most recent ones.
    pub limit: u32,
}

impl ReadAuditLog {
    /// Oldest first.
    pub fn execute(&self, filter: &AuditFilter) -> Result<Vec<AuditEvent>, RepositoryError> {
        let (user_id, username) = match &filter.username {
            Some(name) => {
                let name = Username::normalize(name);
                let user = self.users.find_by_username(&name)?;
                (user.map(|user| user.id), Some(name))
            }
            None => (None, None),
        };
        let since = filter
            .since
            .and_then(|ago| self.clock.now().checked_sub_signed(ago));
        self.audit.list(&AuditQuery {
            user_id,
            username,
            since,
            limit: filter.limit,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::MockAuditLog;
    use crate::use_cases::test_support::*;

    #[test]
    fn a_username_selects_its_account_and_its_attempts_from_a_time_ago() {
        let mut ports = Ports::new();
        ports
            .users
            .expect_find_by_username()
            .withf(|name| name == "alice")
            .returning(|_| Ok(Some(stored_user())));
        let mut audit = MockAuditLog::new();
        audit
            .expect_list()
            .withf(|query| {
                *query
                    == AuditQuery {
                        user_id: Some(USER_ID),
                        username: Some("alice".into()),
                        since: Some(now() - TimeDelta::hours(24)),
                        limit: 50,
                    }
            })
            .times(1)
            .returning(|_| Ok(Vec::new()));
        let read = ReadAuditLog {
            audit: Arc::new(audit),
            users: Arc::new(ports.users),
            clock: fixed_clock(),
        };
        let filter = AuditFilter {
            username: Some("ａｌｉｃｅ".into()),
            since: Some(TimeDelta::hours(24)),
            limit: 50,
        };
        assert!(read.execute(&filter).expect("read").is_empty());
    }

    #[test]
    fn an_unknown_username_still_finds_the_attempts_at_it() {
        let mut ports = Ports::new();
        ports
            .users
            .expect_find_by_username()
            .returning(|_| Ok(None));
        let mut audit = MockAuditLog::new();
        audit
            .expect_list()
            .withf(|query| query.user_id.is_none() && query.username.as_deref() == Some("ghost"))
            .times(1)
            .returning(|_| Ok(Vec::new()));
        let read = ReadAuditLog {
            audit: Arc::new(audit),
            users: Arc::new(ports.users),
            clock: fixed_clock(),
        };
        let filter = AuditFilter {
            username: Some("ghost".into()),
            ..AuditFilter::default()
        };
        assert!(read.execute(&filter).is_ok());
    }
}
