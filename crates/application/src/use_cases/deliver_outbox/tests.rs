#![allow(clippy::unwrap_used)]

use domain::{Email, User};

use super::*;
use crate::ports::{ComposeError, OutgoingEmail};
use crate::use_cases::mail::EmailVerification;
use crate::use_cases::test_support::*;

fn address(raw: &str) -> Email {
    Email::parse(raw).unwrap()
}

fn mail(kind: MailKind) -> OutgoingEmail {
    OutgoingEmail {
        kind,
        to: address("alice@example.com"),
        subject: "s".into(),
        text: "t".into(),
        html: "h".into(),
    }
}

fn queued(id: i64, message: OutboxMessage, attempts: u32) -> QueuedMessage {
    QueuedMessage {
        id,
        message,
        attempts,
        created_at: now(),
    }
}

fn worker(ports: Ports, account: AccountPolicy) -> DeliverOutbox {
    DeliverOutbox {
        outbox: Arc::new(ports.outbox),
        users: Arc::new(ports.users),
        mailer: Arc::new(ports.mailer),
        composer: Arc::new(ports.composer),
        tokens: Arc::new(ports.account_tokens),
        clock: fixed_clock(),
        policy: OutboxPolicy {
            max_attempts: 3,
            retry_delay: Duration::from_secs(10),
            max_retry_delay: Duration::from_secs(25),
            ..OutboxPolicy::default()
        },
        account,
    }
}

fn claims(ports: &mut Ports, messages: Vec<QueuedMessage>) {
    ports
        .outbox
        .expect_claim()
        .withf(|at, lease_until, batch| {
            *at == now() && *lease_until == now() + TimeDelta::seconds(120) && *batch == 1
        })
        .times(1)
        .return_once(move |_, _, _| Ok(messages));
}

fn composing(ports: &mut Ports) {
    ports.composer.expect_compose().returning(|to, context| {
        Ok(OutgoingEmail {
            to: to.clone(),
            ..mail(context.kind)
        })
    });
}

#[test]
fn the_backoff_doubles_up_to_its_ceiling() {
    let policy = OutboxPolicy {
        retry_delay: Duration::from_secs(10),
        max_retry_delay: Duration::from_secs(25),
        ..OutboxPolicy::default()
    };
    let waits: Vec<u64> = (1..=4).map(|n| policy.backoff(n).as_secs()).collect();
    assert_eq!(waits, [10, 20, 25, 25]);
    assert_eq!(OutboxPolicy::default().backoff(u32::MAX).as_secs(), 3600);
}

#[test]
fn an_empty_outbox_is_an_empty_report() {
    let mut ports = Ports::new();
    claims(&mut ports, Vec::new());
    assert!(
        worker(ports, AccountPolicy::default())
            .run_pass()
            .unwrap()
            .is_empty()
    );
}

#[test]
fn a_delivered_mail_is_marked_sent() {
    let mut ports = Ports::new();
    let message = OutboxMessage::Email(mail(MailKind::PasswordChanged));
    claims(&mut ports, vec![queued(1, message, 0)]);
    ports
        .mailer
        .expect_send()
        .withf(|email| email.kind == MailKind::PasswordChanged)
        .times(1)
        .returning(|_| Ok(()));
    ports
        .outbox
        .expect_mark_sent()
        .withf(|id, at| *id == 1 && *at == now())
        .times(1)
        .returning(|_, _| Ok(()));
    let report = worker(ports, AccountPolicy::default()).run_pass().unwrap();
    assert_eq!(
        report,
        [Delivery {
            id: 1,
            what: "password_changed",
            outcome: Outcome::Sent
        }]
    );
}

#[test]
fn a_transient_failure_is_retried_later_with_backoff_and_then_given_up() {
    // The second failed try (one before): due again after twice the first delay.
    let mut ports = Ports::new();
    let message = OutboxMessage::Email(mail(MailKind::PasswordReset));
    claims(&mut ports, vec![queued(4, message.clone(), 1)]);
    ports
        .mailer
        .expect_send()
        .returning(|_| Err(MailError::Transient("connection refused".into())));
    ports
        .outbox
        .expect_retry_later()
        .withf(|id, attempts, next, error| {
            *id == 4
                && *attempts == 2
                && *next == now() + TimeDelta::seconds(20)
                && error.contains("connection refused")
        })
        .times(1)
        .returning(|_, _, _, _| Ok(()));
    let report = worker(ports, AccountPolicy::default()).run_pass().unwrap();
    assert!(matches!(
        report[0].outcome,
        Outcome::Retrying { attempts: 2, .. }
    ));

    // The third and last try.
    let mut ports = Ports::new();
    claims(&mut ports, vec![queued(4, message, 2)]);
    ports
        .mailer
        .expect_send()
        .returning(|_| Err(MailError::Transient("timed out".into())));
    ports.outbox.expect_retry_later().never();
    ports
        .outbox
        .expect_mark_failed()
        .withf(|id, attempts, _, error| *id == 4 && *attempts == 3 && error.contains("timed out"))
        .times(1)
        .returning(|_, _, _, _| Ok(()));
    let report = worker(ports, AccountPolicy::default()).run_pass().unwrap();
    assert!(matches!(
        report[0].outcome,
        Outcome::Failed { attempts: 3, .. }
    ));
}

#[test]
fn a_permanent_refusal_fails_at_once() {
    let mut ports = Ports::new();
    let message = OutboxMessage::Email(mail(MailKind::VerifyEmail));
    claims(&mut ports, vec![queued(2, message, 0)]);
    ports
        .mailer
        .expect_send()
        .returning(|_| Err(MailError::Permanent("550 no such mailbox".into())));
    ports
        .outbox
        .expect_mark_failed()
        .withf(|_, attempts, _, _| *attempts == 1)
        .times(1)
        .returning(|_, _, _, _| Ok(()));
    worker(ports, AccountPolicy::default()).run_pass().unwrap();
}

fn reset_request(ports: &mut Ports, raw: &str) {
    let email = address(raw);
    claims(
        ports,
        vec![queued(
            9,
            OutboxMessage::PasswordResetRequested { email },
            0,
        )],
    );
}

fn finds(ports: &mut Ports, user: Option<User>) {
    ports
        .users
        .expect_find_by_email()
        .withf(|email| email.as_str() == "Alice@example.com")
        .return_once(move |_| Ok(user));
}

fn resolves_with(ports: &mut Ports, mails: usize) {
    ports
        .outbox
        .expect_resolve()
        .withf(move |id, follow_ups, at| *id == 9 && follow_ups.len() == mails && *at == now())
        .times(1)
        .returning(|_, _, _| Ok(()));
}

#[test]
fn a_reset_request_for_an_account_queues_its_link() {
    let mut ports = Ports::new();
    reset_request(&mut ports, "Alice@Example.com");
    finds(&mut ports, Some(stored_user()));
    ports
        .outbox
        .expect_count_recent()
        .withf(|kind, to, since| {
            *kind == MailKind::PasswordReset
                && to.as_str() == "alice@example.com"
                && *since == now() - TimeDelta::hours(1)
        })
        .returning(|_, _, _| Ok(2));
    ports
        .account_tokens
        .expect_encode_uid()
        .returning(|id| format!("uid{id}"));
    ports
        .account_tokens
        .expect_reset_token()
        .returning(|_, _| "tok-en".into());
    ports
        .composer
        .expect_compose()
        .withf(|to, context| {
            to.as_str() == "alice@example.com"
                && context.kind == MailKind::PasswordReset
                && context.link.as_deref()
                    == Some("https://app.example/reset-password?uid=uid7&token=tok-en")
        })
        .times(1)
        .returning(|_, context| Ok(mail(context.kind)));
    resolves_with(&mut ports, 1);
    let account = AccountPolicy {
        frontend_url: "https://app.example/".into(),
        ..AccountPolicy::default()
    };
    let report = worker(ports, account).run_pass().unwrap();
    assert_eq!(report[0].outcome, Outcome::Resolved { mails: 1 });
    assert_eq!(report[0].what, "password_reset_requested");
}

#[test]
fn a_reset_request_sends_nothing_for_nobody_the_inactive_or_past_the_cap() {
    let cases: [(Option<User>, u64); 3] = [
        (None, 0),
        (
            Some(User {
                is_active: false,
                ..stored_user()
            }),
            0,
        ),
        (Some(stored_user()), 3),
    ];
    for (user, recent) in cases {
        let mut ports = Ports::new();
        reset_request(&mut ports, "Alice@Example.com");
        finds(&mut ports, user);
        ports
            .outbox
            .expect_count_recent()
            .returning(move |_, _, _| Ok(recent));
        ports.composer.expect_compose().never();
        resolves_with(&mut ports, 0);
        let report = worker(ports, AccountPolicy::default()).run_pass().unwrap();
        assert_eq!(report[0].outcome, Outcome::Resolved { mails: 0 });
    }
}

#[test]
fn a_template_that_fails_fails_the_request_for_good() {
    let mut ports = Ports::new();
    reset_request(&mut ports, "Alice@Example.com");
    finds(&mut ports, Some(stored_user()));
    ports
        .outbox
        .expect_count_recent()
        .returning(|_, _, _| Ok(0));
    ports
        .account_tokens
        .expect_encode_uid()
        .returning(|_| "u".into());
    ports
        .account_tokens
        .expect_reset_token()
        .returning(|_, _| "t".into());
    ports
        .composer
        .expect_compose()
        .returning(|_, _| Err(ComposeError("undefined variable".into())));
    ports.outbox.expect_resolve().never();
    ports
        .outbox
        .expect_mark_failed()
        .times(1)
        .returning(|_, _, _, _| Ok(()));
    let report = worker(ports, AccountPolicy::default()).run_pass().unwrap();
    assert!(matches!(report[0].outcome, Outcome::Failed { .. }));
}

#[test]
fn a_store_failure_ends_the_pass() {
    let mut ports = Ports::new();
    reset_request(&mut ports, "Alice@Example.com");
    ports
        .users
        .expect_find_by_email()
        .returning(|_| Err(unavailable()));
    ports.outbox.expect_resolve().never();
    assert!(worker(ports, AccountPolicy::default()).run_pass().is_err());
}

fn resend_request(ports: &mut Ports) {
    claims(
        ports,
        vec![queued(
            9,
            OutboxMessage::VerificationResendRequested {
                email: address("Alice@Example.com"),
            },
            0,
        )],
    );
}

fn verifying() -> AccountPolicy {
    AccountPolicy {
        email_verification: EmailVerification::Mandatory,
        ..AccountPolicy::default()
    }
}

#[test]
fn a_resend_for_an_unverified_account_queues_a_new_link() {
    let mut ports = Ports::new();
    resend_request(&mut ports);
    finds(&mut ports, Some(stored_user()));
    ports
        .outbox
        .expect_count_recent()
        .returning(|_, _, _| Ok(0));
    ports
        .account_tokens
        .expect_verification_key()
        .withf(|username, email, _| username == "alice" && email.as_str() == "alice@example.com")
        .returning(|_, _, _| "k.e.y".into());
    composing(&mut ports);
    resolves_with(&mut ports, 1);
    worker(ports, verifying()).run_pass().unwrap();
}

#[test]
fn a_resend_sends_nothing_when_verified_unknown_off_or_past_the_cap() {
    // Verification off: not even a lookup.
    let mut ports = Ports::new();
    resend_request(&mut ports);
    ports.users.expect_find_by_email().never();
    resolves_with(&mut ports, 0);
    worker(ports, AccountPolicy::default()).run_pass().unwrap();

    for (user, recent) in [
        (
            Some(User {
                email_verified: true,
                ..stored_user()
            }),
            0,
        ),
        (None, 0),
        (Some(stored_user()), 3),
    ] {
        let mut ports = Ports::new();
        resend_request(&mut ports);
        finds(&mut ports, user);
        ports
            .outbox
            .expect_count_recent()
            .returning(move |_, _, _| Ok(recent));
        ports.composer.expect_compose().never();
        resolves_with(&mut ports, 0);
        worker(ports, verifying()).run_pass().unwrap();
    }
}

#[test]
fn a_reset_mail_older_than_its_links_lifetime_is_given_up_unsent() {
    let mut ports = Ports::new();
    let message = OutboxMessage::Email(mail(MailKind::PasswordReset));
    claims(
        &mut ports,
        vec![QueuedMessage {
            created_at: now() - TimeDelta::seconds(3601),
            ..queued(5, message, 6)
        }],
    );
    ports.mailer.expect_send().never();
    ports
        .outbox
        .expect_mark_failed()
        .withf(|id, attempts, _, error| *id == 5 && *attempts == 6 && error.contains("expired"))
        .times(1)
        .returning(|_, _, _, _| Ok(()));
    let report = worker(ports, AccountPolicy::default()).run_pass().unwrap();
    assert!(matches!(report[0].outcome, Outcome::Failed { .. }));
}

#[test]
fn a_notice_is_sent_however_long_it_waited() {
    let mut ports = Ports::new();
    let message = OutboxMessage::Email(mail(MailKind::PasswordChanged));
    claims(
        &mut ports,
        vec![QueuedMessage {
            created_at: now() - TimeDelta::days(2),
            ..queued(6, message, 7)
        }],
    );
    ports.mailer.expect_send().times(1).returning(|_| Ok(()));
    ports.outbox.expect_mark_sent().returning(|_, _| Ok(()));
    worker(ports, AccountPolicy::default()).run_pass().unwrap();
}

#[test]
fn an_account_with_an_unusable_password_gets_a_reset_link() {
    // Imported from Django with `!…` (set_unusable_password): a reset is its way in, as with
    // allauth's reset form.
    let mut ports = Ports::new();
    reset_request(&mut ports, "Alice@Example.com");
    finds(
        &mut ports,
        Some(User {
            password_hash: hash("!unusable"),
            ..stored_user()
        }),
    );
    ports
        .outbox
        .expect_count_recent()
        .returning(|_, _, _| Ok(0));
    ports
        .account_tokens
        .expect_encode_uid()
        .returning(|id| format!("uid{id}"));
    ports
        .account_tokens
        .expect_reset_token()
        .returning(|_, _| "tok-en".into());
    ports
        .composer
        .expect_compose()
        .times(1)
        .returning(|_, context| Ok(mail(context.kind)));
    resolves_with(&mut ports, 1);
    let report = worker(ports, AccountPolicy::default()).run_pass().unwrap();
    assert_eq!(report[0].outcome, Outcome::Resolved { mails: 1 });
}
