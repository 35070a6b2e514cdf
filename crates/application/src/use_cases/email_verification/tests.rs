#![allow(clippy::unwrap_used)]

use domain::Email;

use super::*;
use crate::ports::{MailKind, OutgoingEmail, VerificationClaim};
use crate::use_cases::test_support::*;

fn address(raw: &str) -> Email {
    Email::parse(raw).unwrap()
}

fn use_case(ports: Ports) -> VerifyEmail {
    VerifyEmail {
        users: Arc::new(ports.users),
        composer: Arc::new(ports.composer),
        tokens: Arc::new(ports.account_tokens),
        clock: fixed_clock(),
        policy: AccountPolicy::default(),
    }
}

/// The key "key" is valid and names alice and `email`.
fn key_for(ports: &mut Ports, email: &'static str) {
    ports
        .account_tokens
        .expect_check_verification_key()
        .withf(|key, at, max_age| {
            key == "key" && *at == now() && *max_age == chrono::Duration::days(3)
        })
        .returning(move |_, _, _| {
            Some(VerificationClaim {
                username: "alice".into(),
                email: address(email),
            })
        });
}

fn alice(ports: &mut Ports, verified: bool, pending: Option<&'static str>) {
    ports
        .users
        .expect_find_by_username()
        .withf(|username| username == "alice")
        .returning(move |_| {
            Ok(Some(domain::User {
                email_verified: verified,
                pending_email: pending.map(address),
                ..stored_user()
            }))
        });
}

#[test]
fn a_key_for_the_unverified_address_verifies_it_without_mail() {
    let mut ports = Ports::new();
    key_for(&mut ports, "ALICE@example.com");
    alice(&mut ports, false, None);
    ports
        .users
        .expect_confirm_email()
        .withf(|id, email, at, effects| {
            *at == now()
                && *id == USER_ID
                && email.as_str() == "ALICE@example.com"
                && effects.mail.is_empty()
                && audited(effects) == [AuditKind::EmailVerified]
                && effects.audit[0].user_id == Some(USER_ID)
                && effects.audit[0].detail.as_deref() == Some("ALICE@example.com")
                && effects.audit[0].client == client()
        })
        .times(1)
        .returning(|_, _, _, _| Ok(stored_user()));
    use_case(ports)
        .execute(value("key"), &client())
        .expect("verified");
}

#[test]
fn a_key_for_the_pending_address_makes_it_the_address_and_tells_the_old_one() {
    let mut ports = Ports::new();
    key_for(&mut ports, "new@example.com");
    alice(&mut ports, true, Some("new@example.com"));
    ports
        .composer
        .expect_compose()
        .withf(|to, context| {
            to.as_str() == "alice@example.com"
                && context.kind == MailKind::EmailChanged
                && context.new_email.as_deref() == Some("new@example.com")
        })
        .times(1)
        .returning(|to, context| {
            Ok(OutgoingEmail {
                kind: context.kind,
                to: to.clone(),
                subject: String::new(),
                text: String::new(),
                html: String::new(),
            })
        });
    ports
        .users
        .expect_confirm_email()
        .withf(|_, email, _, effects| {
            email.as_str() == "new@example.com"
                && effects.mail.len() == 1
                && audited(effects) == [AuditKind::EmailVerified]
        })
        .times(1)
        .returning(|_, _, _, _| Ok(stored_user()));
    use_case(ports)
        .execute(value("key"), &client())
        .expect("changed");
}

#[test]
fn a_used_stale_or_foreign_key_is_not_found_and_writes_nothing() {
    // Used: the address is verified already.
    let mut ports = Ports::new();
    key_for(&mut ports, "alice@example.com");
    alice(&mut ports, true, None);
    ports.users.expect_confirm_email().never();
    assert!(matches!(
        use_case(ports).execute(value("key"), &client()),
        Err(VerifyEmailError::NotFound)
    ));
    // For an address the user neither has nor wants any more.
    let mut ports = Ports::new();
    key_for(&mut ports, "old-wish@example.com");
    alice(&mut ports, false, Some("newer-wish@example.com"));
    ports.users.expect_confirm_email().never();
    assert!(matches!(
        use_case(ports).execute(value("key"), &client()),
        Err(VerifyEmailError::NotFound)
    ));
    // A user who is gone.
    let mut ports = Ports::new();
    key_for(&mut ports, "alice@example.com");
    ports
        .users
        .expect_find_by_username()
        .returning(|_| Ok(None));
    assert!(matches!(
        use_case(ports).execute(value("key"), &client()),
        Err(VerifyEmailError::NotFound)
    ));
    // A key whose signature or age does not hold.
    let mut ports = Ports::new();
    ports
        .account_tokens
        .expect_check_verification_key()
        .returning(|_, _, _| None);
    ports.users.expect_find_by_username().never();
    assert!(matches!(
        use_case(ports).execute(value("key"), &client()),
        Err(VerifyEmailError::NotFound)
    ));
}

#[test]
fn a_missing_key_is_a_field_error() {
    let ports = Ports::new();
    let Err(VerifyEmailError::Invalid(errors)) =
        use_case(ports).execute(Submitted::Absent, &client())
    else {
        panic!("expected a field error");
    };
    assert_eq!(fields(&errors), ["key"]);
}

#[test]
fn a_pending_address_taken_meanwhile_makes_the_link_not_found() {
    let mut ports = Ports::new();
    key_for(&mut ports, "new@example.com");
    alice(&mut ports, true, Some("new@example.com"));
    ports.composer.expect_compose().returning(|to, context| {
        Ok(OutgoingEmail {
            kind: context.kind,
            to: to.clone(),
            subject: String::new(),
            text: String::new(),
            html: String::new(),
        })
    });
    ports
        .users
        .expect_confirm_email()
        .returning(|_, _, _, _| Err(UpdateUserError::EmailTaken));
    assert!(matches!(
        use_case(ports).execute(value("key"), &client()),
        Err(VerifyEmailError::NotFound)
    ));
}

#[test]
fn a_resend_only_queues_the_address() {
    let mut ports = Ports::new();
    ports.users.expect_find_by_email().never();
    ports
        .outbox
        .expect_enqueue()
        .withf(|effects, _| {
            effects.mail
                == [OutboxMessage::VerificationResendRequested {
                    email: address("alice@example.com"),
                }]
                && effects.audit.is_empty()
        })
        .times(1)
        .returning(|_, _| Ok(()));
    let resend = ResendVerification {
        outbox: Arc::new(ports.outbox),
        clock: fixed_clock(),
    };
    resend
        .execute(value("alice@example.com"), &client())
        .expect("queued");
}
