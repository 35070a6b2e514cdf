//! The outbox worker's pass: deliver queued mail with retries, and resolve the requests that
//! were queued so that the request path never looks an address up.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use domain::Email;

use super::mail::{AccountPolicy, Mails};
use super::token_pair::delta;
use crate::ports::{
    AccountTokens, Clock, MailComposer, MailError, MailKind, Mailer, Outbox, OutboxMessage,
    QueuedMessage, RepositoryError, UserRepository,
};

/// How the worker retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutboxPolicy {
    /// Messages claimed per pass. One by default: every message then has its whole lease,
    /// however slow the ones before it were.
    pub batch: u32,
    /// How long a claimed message is the worker's; after it, another worker may take it over.
    /// Must exceed the longest a send can take (a connection, then each command, timing out).
    pub lease: Duration,
    /// Tries before a message is marked failed.
    pub max_attempts: u32,
    /// The wait after the first failed try; it doubles with each further one.
    pub retry_delay: Duration,
    pub max_retry_delay: Duration,
}

impl Default for OutboxPolicy {
    fn default() -> Self {
        Self {
            batch: 1,
            lease: Duration::from_secs(120),
            max_attempts: 8,
            retry_delay: Duration::from_secs(30),
            max_retry_delay: Duration::from_secs(3600),
        }
    }
}

impl OutboxPolicy {
    /// The wait after `attempts` failed tries (at least one).
    pub fn backoff(&self, attempts: u32) -> Duration {
        let doublings = attempts.saturating_sub(1).min(30);
        self.retry_delay
            .saturating_mul(1 << doublings)
            .min(self.max_retry_delay)
    }
}

/// What became of one message in a pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Sent,
    /// The try failed; the message is due again at `next_attempt_at`.
    Retrying {
        attempts: u32,
        next_attempt_at: DateTime<Utc>,
        error: String,
    },
    /// The message will not be sent.
    Failed {
        attempts: u32,
        error: String,
    },
    /// A request was answered with `mails` messages (none: no account needs one).
    Resolved {
        mails: usize,
    },
}

/// One message's report, for the log. It names no address and no link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub id: i64,
    /// `password_reset`, `verify_email`, … for mail; `password_reset_requested` and
    /// `verification_resend_requested` for requests.
    pub what: &'static str,
    pub outcome: Outcome,
}

/// One pass of the worker.
#[derive(Clone)]
pub struct DeliverOutbox {
    pub outbox: Arc<dyn Outbox>,
    pub users: Arc<dyn UserRepository>,
    pub mailer: Arc<dyn Mailer>,
    pub composer: Arc<dyn MailComposer>,
    pub tokens: Arc<dyn AccountTokens>,
    pub clock: Arc<dyn Clock>,
    pub policy: OutboxPolicy,
    pub account: AccountPolicy,
}

impl DeliverOutbox {
    /// Claims what is due and handles it. An empty report means there was nothing to do.
    ///
    /// # Errors
    /// The store failing; the messages claimed are taken up again once their lease ends.
    pub fn run_pass(&self) -> Result<Vec<Delivery>, RepositoryError> {
        let now = self.clock.now();
        let lease_until = now + delta(self.policy.lease);
        let claimed = self.outbox.claim(now, lease_until, self.policy.batch)?;
        // A reset link that could not be delivered within its own lifetime would arrive dead.
        let reset_deadline = now - self.account.reset_timeout();
        let mut report = Vec::with_capacity(claimed.len());
        for message in claimed {
            let stale_reset = matches!(&message.message, OutboxMessage::Email(email)
                if email.kind == MailKind::PasswordReset)
                && message.created_at < reset_deadline;
            if stale_reset {
                report.push(self.expired(message)?);
            } else {
                report.push(self.handle(message)?);
            }
        }
        Ok(report)
    }

    fn handle(&self, queued: QueuedMessage) -> Result<Delivery, RepositoryError> {
        let QueuedMessage {
            id,
            message,
            attempts,
            ..
        } = queued;
        let (what, outcome) = match message {
            OutboxMessage::Email(email) => {
                let outcome = match self.mailer.send(&email) {
                    Ok(()) => {
                        self.outbox.mark_sent(id, self.clock.now())?;
                        Outcome::Sent
                    }
                    Err(error) => self.failed(id, attempts, &error)?,
                };
                (email.kind.as_str(), outcome)
            }
            OutboxMessage::PasswordResetRequested { email } => (
                "password_reset_requested",
                self.resolve(id, attempts, self.reset_mail(&email))?,
            ),
            OutboxMessage::VerificationResendRequested { email } => (
                "verification_resend_requested",
                self.resolve(id, attempts, self.verification_mail(&email))?,
            ),
        };
        Ok(Delivery { id, what, outcome })
    }

    /// Gives up a reset mail whose link has expired before it could be sent.
    fn expired(&self, queued: QueuedMessage) -> Result<Delivery, RepositoryError> {
        let attempts = queued.attempts;
        let error = "the reset link expired before the mail could be delivered".to_owned();
        self.outbox
            .mark_failed(queued.id, attempts, self.clock.now(), &error)?;
        Ok(Delivery {
            id: queued.id,
            what: MailKind::PasswordReset.as_str(),
            outcome: Outcome::Failed { attempts, error },
        })
    }

    fn failed(
        &self,
        id: i64,
        attempts: u32,
        error: &MailError,
    ) -> Result<Outcome, RepositoryError> {
        let attempts = attempts.saturating_add(1);
        let now = self.clock.now();
        let permanent = matches!(error, MailError::Permanent(_));
        let error = error.to_string();
        if permanent || attempts >= self.policy.max_attempts {
            self.outbox.mark_failed(id, attempts, now, &error)?;
            return Ok(Outcome::Failed { attempts, error });
        }
        let next_attempt_at = now + delta(self.policy.backoff(attempts));
        self.outbox
            .retry_later(id, attempts, next_attempt_at, &error)?;
        Ok(Outcome::Retrying {
            attempts,
            next_attempt_at,
            error,
        })
    }

    fn resolve(
        &self,
        id: i64,
        attempts: u32,
        follow_ups: Result<Vec<OutboxMessage>, Problem>,
    ) -> Result<Outcome, RepositoryError> {
        match follow_ups {
            Ok(follow_ups) => {
                let mails = follow_ups.len();
                self.outbox.resolve(id, follow_ups, self.clock.now())?;
                Ok(Outcome::Resolved { mails })
            }
            Err(Problem::Repository(error)) => Err(error),
            // A template that does not render will not render on the next try either.
            Err(Problem::Compose(error)) => self.failed(id, attempts, &MailError::Permanent(error)),
        }
    }

    /// Active users, as allauth's reset form has it; at most `resets_per_address_per_hour`
    /// mails to one address. Unlike Django's own `PasswordResetForm`, an unusable password
    /// (`!…`, imported from Django) is no reason to refuse: a reset is how such an account
    /// gets a password.
    fn reset_mail(&self, email: &Email) -> Result<Vec<OutboxMessage>, Problem> {
        let Some(user) = self.users.find_by_email(email)? else {
            return Ok(Vec::new());
        };
        if !user.is_active {
            return Ok(Vec::new());
        }
        let now = self.clock.now();
        if self.sent_recently(MailKind::PasswordReset, &user.email, now)?
            >= self.account.resets_per_address_per_hour
        {
            return Ok(Vec::new());
        }
        Ok(vec![self.mails().password_reset(&user, now)?])
    }

    /// A new link for an unverified address, when verification is on; capped as resets are.
    fn verification_mail(&self, email: &Email) -> Result<Vec<OutboxMessage>, Problem> {
        if !self.account.email_verification.sends_mail() {
            return Ok(Vec::new());
        }
        let Some(user) = self.users.find_by_email(email)? else {
            return Ok(Vec::new());
        };
        if user.email_verified || !user.is_active {
            return Ok(Vec::new());
        }
        let now = self.clock.now();
        if self.sent_recently(MailKind::VerifyEmail, &user.email, now)?
            >= self.account.resets_per_address_per_hour
        {
            return Ok(Vec::new());
        }
        Ok(vec![self.mails().verify_email(
            user.username.as_str(),
            &user.email,
            now,
        )?])
    }

    fn sent_recently(
        &self,
        kind: MailKind,
        to: &Email,
        now: DateTime<Utc>,
    ) -> Result<u64, RepositoryError> {
        self.outbox
            .count_recent(kind, to, now - TimeDelta::hours(1))
    }

    fn mails(&self) -> Mails<'_> {
        Mails {
            composer: self.composer.as_ref(),
            tokens: self.tokens.as_ref(),
            policy: &self.account,
        }
    }
}

enum Problem {
    Repository(RepositoryError),
    Compose(String),
}

impl From<RepositoryError> for Problem {
    fn from(error: RepositoryError) -> Self {
        Self::Repository(error)
    }
}

impl From<crate::ports::ComposeError> for Problem {
    fn from(error: crate::ports::ComposeError) -> Self {
        Self::Compose(error.0)
    }
}

#[cfg(test)]
mod tests;
