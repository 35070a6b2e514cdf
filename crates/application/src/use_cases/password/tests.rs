#![allow(clippy::unwrap_used)]

use domain::{AddressAttempts, Email, PasswordHash};

use super::*;
use crate::ports::{MailKind, MockThrottleStore, OutgoingEmail, ThrottleRecords, Versioned};
use crate::use_cases::test_support::*;

const STRONG: &str = "correct-horse-battery";

fn email(kind: MailKind) -> OutgoingEmail {
    OutgoingEmail {
        kind,
        to: Email::parse("alice@example.com").unwrap(),
        subject: "subject".into(),
        text: "text".into(),
        html: "html".into(),
    }
}

fn composing(ports: &mut Ports) {
    ports
        .composer
        .expect_compose()
        .returning(|_, context| Ok(email(context.kind)));
}

fn with_user(ports: &mut Ports) {
    ports
        .users
        .expect_find_by_id()
        .withf(|id| *id == USER_ID)
        .returning(|_| Ok(Some(stored_user())));
}

fn old_password(ports: &mut Ports, right: bool) {
    ports.hasher.expect_verify().returning(move |password, _| {
        if right && password.expose() == "old-password" {
            Verification::Match {
                needs_rehash: false,
            }
        } else {
            Verification::Mismatch
        }
    });
}

fn change(ports: Ports) -> ChangePassword {
    ChangePassword {
        users: Arc::new(ports.users),
        hasher: Arc::new(ports.hasher),
        composer: Arc::new(ports.composer),
        tokens: Arc::new(ports.account_tokens),
        clock: fixed_clock(),
        policy: AccountPolicy::default(),
        throttle: LoginThrottle::disabled(),
    }
}

fn change_input(old: &str, first: &str, second: &str) -> ChangePasswordInput {
    ChangePasswordInput {
        user_id: USER_ID,
        client: client(),
        session_id: Some(session_id()),
        old_password: value(old),
        new_password1: value(first),
        new_password2: value(second),
    }
}

fn invalid(result: Result<(), PasswordFlowError>) -> Vec<(String, String)> {
    match result {
        Err(PasswordFlowError::Invalid(errors)) => pairs(&errors),
        other => panic!("expected field errors, got {other:?}"),
    }
}

#[test]
fn a_change_stores_the_hash_keeps_this_session_and_queues_a_notice() {
    let mut ports = Ports::new();
    with_user(&mut ports);
    old_password(&mut ports, true);
    composing(&mut ports);
    ports
        .hasher
        .expect_hash()
        .withf(|password| password.expose() == STRONG)
        .times(1)
        .returning(|_| Ok(hash("new-hash")));
    ports
        .users
        .expect_change_password()
        .withf(|id, current, hash, keep, at, effects| {
            *id == USER_ID
                && *current == stored_user().password_hash
                && hash.as_str() == "new-hash"
                && *keep == Some(session_id())
                && *at == now()
                && matches!(effects.mail.as_slice(), [OutboxMessage::Email(mail)] if mail.kind == MailKind::PasswordChanged)
                && audited(effects) == [AuditKind::PasswordChanged]
                && effects.audit[0].user_id == Some(USER_ID)
                && effects.audit[0].session_id == Some(session_id())
                && effects.origin == client()
        })
        .times(1)
        .returning(|_, _, _, _, _, _| Ok(true));
    change(ports)
        .execute(change_input("old-password", STRONG, STRONG))
        .expect("changes");
}

#[test]
fn a_wrong_old_password_is_reported_with_the_other_field_errors() {
    let mut ports = Ports::new();
    with_user(&mut ports);
    old_password(&mut ports, false);
    ports.users.expect_change_password().never();
    let input = ChangePasswordInput {
        new_password2: Submitted::Absent,
        ..change_input("wrong", STRONG, STRONG)
    };
    assert_eq!(
        invalid(change(ports).execute(input)),
        [
            ("old_password".to_owned(), OLD_PASSWORD_WRONG.to_owned()),
            (
                "new_password2".to_owned(),
                "This field is required.".to_owned()
            ),
        ]
    );
}

#[test]
fn a_wrong_old_password_alone_stops_the_change() {
    let mut ports = Ports::new();
    with_user(&mut ports);
    old_password(&mut ports, false);
    ports.hasher.expect_hash().never();
    assert_eq!(
        invalid(change(ports).execute(change_input("wrong", STRONG, STRONG))),
        [("old_password".to_owned(), OLD_PASSWORD_WRONG.to_owned())]
    );
}

#[test]
fn new_passwords_that_differ_are_reported_under_the_second_alone() {
    let mut ports = Ports::new();
    with_user(&mut ports);
    old_password(&mut ports, true);
    assert_eq!(
        invalid(change(ports).execute(change_input("old-password", STRONG, "password"))),
        [("new_password2".to_owned(), NEW_PASSWORDS_DIFFER.to_owned())]
    );
}

#[test]
fn the_validators_run_against_the_user_and_report_under_the_second_field() {
    let mut ports = Ports::new();
    with_user(&mut ports);
    old_password(&mut ports, true);
    // Too similar to the username and too common and too short, all at once.
    let errors = invalid(change(ports).execute(change_input("old-password", "alice", "alice")));
    assert!(errors.len() >= 2, "{errors:?}");
    assert!(errors.iter().all(|(field, _)| field == "new_password2"));
    assert!(
        errors
            .iter()
            .any(|(_, message)| message == "The password is too similar to the username."),
        "{errors:?}"
    );
}

#[test]
fn a_user_gone_before_the_change_is_not_found_and_a_password_changed_during_it_is_wrong() {
    let mut ports = Ports::new();
    ports.users.expect_find_by_id().returning(|_| Ok(None));
    assert!(matches!(
        change(ports).execute(change_input("old-password", STRONG, STRONG)),
        Err(PasswordFlowError::UserNotFound)
    ));

    let mut ports = Ports::new();
    with_user(&mut ports);
    old_password(&mut ports, true);
    composing(&mut ports);
    ports.hasher.expect_hash().returning(|_| Ok(hash("h")));
    ports
        .users
        .expect_change_password()
        .returning(|_, _, _, _, _, _| Ok(false));
    assert_eq!(
        invalid(change(ports).execute(change_input("old-password", STRONG, STRONG))),
        [("old_password".to_owned(), OLD_PASSWORD_WRONG.to_owned())]
    );
}

#[test]
fn a_template_that_fails_changes_nothing() {
    let mut ports = Ports::new();
    with_user(&mut ports);
    old_password(&mut ports, true);
    ports.hasher.expect_hash().returning(|_| Ok(hash("h")));
    ports
        .composer
        .expect_compose()
        .returning(|_, _| Err(ComposeError("broken".into())));
    ports.users.expect_change_password().never();
    assert!(matches!(
        change(ports).execute(change_input("old-password", STRONG, STRONG)),
        Err(PasswordFlowError::Compose(_))
    ));
}

fn request(ports: Ports) -> RequestPasswordReset {
    RequestPasswordReset {
        outbox: Arc::new(ports.outbox),
        clock: fixed_clock(),
    }
}

#[test]
fn a_reset_request_only_queues_the_address_and_looks_nobody_up() {
    let mut ports = Ports::new();
    ports.users.expect_find_by_email().never();
    ports
        .outbox
        .expect_enqueue()
        .withf(|effects, at| {
            *at == now()
                && effects.mail
                    == [OutboxMessage::PasswordResetRequested {
                        email: Email::parse("Alice@Example.com").unwrap(),
                    }]
                && audited(effects) == [AuditKind::PasswordResetRequested]
                && effects.audit[0].user_id.is_none()
                && effects.audit[0].username.as_deref()
                    == Some(Email::parse("Alice@Example.com").unwrap().as_str())
                && effects.audit[0].client == client()
        })
        .times(1)
        .returning(|_, _| Ok(()));
    request(ports)
        .execute(value("Alice@Example.com"), &client())
        .expect("queued");
}

#[test]
fn a_reset_request_for_a_bad_address_queues_nothing() {
    for (raw, message) in [
        (Submitted::Absent, "This field is required."),
        (value(""), "This field may not be blank."),
        (value("not-an-address"), "Enter a valid email address."),
    ] {
        let mut ports = Ports::new();
        ports.outbox.expect_enqueue().never();
        assert_eq!(
            invalid(request(ports).execute(raw, &client())),
            [("email".to_owned(), message.to_owned())]
        );
    }
}

fn confirm(ports: Ports) -> ConfirmPasswordReset {
    ConfirmPasswordReset {
        users: Arc::new(ports.users),
        hasher: Arc::new(ports.hasher),
        composer: Arc::new(ports.composer),
        tokens: Arc::new(ports.account_tokens),
        clock: fixed_clock(),
        policy: AccountPolicy::default(),
    }
}

fn confirm_input(first: &str, second: &str) -> ConfirmPasswordResetInput {
    ConfirmPasswordResetInput {
        uid: value("Nw"),
        token: value("token"),
        new_password1: value(first),
        new_password2: value(second),
        client: client(),
    }
}

/// The uid names `USER_ID`; the token is valid when `valid`.
fn link(ports: &mut Ports, valid: bool) {
    ports
        .account_tokens
        .expect_decode_uid()
        .returning(|uid| (uid == "Nw").then_some(USER_ID));
    ports
        .account_tokens
        .expect_check_reset_token()
        .withf(|user, token, at, max_age| {
            user.id == USER_ID
                && token == "token"
                && *at == now()
                && *max_age == chrono::Duration::hours(1)
        })
        .returning(move |_, _, _, _| valid);
}

#[test]
fn a_valid_link_sets_the_password_and_ends_every_session() {
    let mut ports = Ports::new();
    with_user(&mut ports);
    link(&mut ports, true);
    composing(&mut ports);
    ports
        .hasher
        .expect_hash()
        .withf(|password| password.expose() == STRONG)
        .returning(|_| Ok(hash("new-hash")));
    ports
        .users
        .expect_change_password()
        .withf(|id, current, hash: &PasswordHash, keep, _, effects| {
            *current == stored_user().password_hash
                && *id == USER_ID
                && hash.as_str() == "new-hash"
                && keep.is_none()
                && effects.mail.len() == 1
                && audited(effects) == [AuditKind::PasswordResetCompleted]
                && effects.audit[0].user_id == Some(USER_ID)
        })
        .times(1)
        .returning(|_, _, _, _, _, _| Ok(true));
    confirm(ports)
        .execute(confirm_input(STRONG, STRONG))
        .expect("resets");
}

#[test]
fn a_bad_uid_or_token_is_an_invalid_value_and_nothing_is_hashed() {
    // A uid that decodes to nobody.
    let mut ports = Ports::new();
    link(&mut ports, true);
    ports.users.expect_find_by_id().returning(|_| Ok(None));
    ports.hasher.expect_hash().never();
    assert_eq!(
        invalid(confirm(ports).execute(confirm_input(STRONG, STRONG))),
        [("uid".to_owned(), INVALID_VALUE.to_owned())]
    );
    // A uid that does not decode.
    let mut ports = Ports::new();
    link(&mut ports, true);
    ports.users.expect_find_by_id().never();
    let input = ConfirmPasswordResetInput {
        uid: value("!!"),
        ..confirm_input(STRONG, STRONG)
    };
    assert_eq!(
        invalid(confirm(ports).execute(input)),
        [("uid".to_owned(), INVALID_VALUE.to_owned())]
    );
    // A token that does not hold (used, expired, tampered with): checked before the form.
    let mut ports = Ports::new();
    with_user(&mut ports);
    link(&mut ports, false);
    ports.hasher.expect_hash().never();
    assert_eq!(
        invalid(confirm(ports).execute(confirm_input(STRONG, "different"))),
        [("token".to_owned(), INVALID_VALUE.to_owned())]
    );
}

#[test]
fn missing_fields_are_all_reported_before_the_link_is_checked() {
    let mut ports = Ports::new();
    ports.account_tokens.expect_decode_uid().never();
    let input = ConfirmPasswordResetInput {
        uid: Submitted::Absent,
        token: value(""),
        new_password1: Submitted::Absent,
        new_password2: value(STRONG),
        client: client(),
    };
    assert_eq!(
        invalid(confirm(ports).execute(input)),
        [
            ("uid".to_owned(), "This field is required.".to_owned()),
            (
                "token".to_owned(),
                "This field may not be blank.".to_owned()
            ),
            (
                "new_password1".to_owned(),
                "This field is required.".to_owned()
            ),
        ]
    );
}

#[test]
fn a_valid_link_with_bad_new_passwords_gets_the_form_errors() {
    let mut ports = Ports::new();
    with_user(&mut ports);
    link(&mut ports, true);
    ports.users.expect_change_password().never();
    assert_eq!(
        invalid(confirm(ports).execute(confirm_input(STRONG, "other-password-here"))),
        [("new_password2".to_owned(), NEW_PASSWORDS_DIFFER.to_owned())]
    );
}

#[test]
fn a_user_deleted_or_reset_during_the_reset_makes_the_link_invalid() {
    let mut ports = Ports::new();
    with_user(&mut ports);
    link(&mut ports, true);
    composing(&mut ports);
    ports.hasher.expect_hash().returning(|_| Ok(hash("h")));
    ports
        .users
        .expect_change_password()
        .returning(|_, _, _, _, _, _| Ok(false));
    assert_eq!(
        invalid(confirm(ports).execute(confirm_input(STRONG, STRONG))),
        [("token".to_owned(), INVALID_VALUE.to_owned())]
    );
}

/// The old-password check is a login as far as the back-off goes: a hold answers 429 without a
/// hash, and the hold decided on the stored records is recorded once.
#[test]
fn a_held_old_password_check_is_throttled_and_recorded_once() {
    let mut ports = Ports::new();
    with_user(&mut ports);
    ports.throttle.expect_load().times(1).returning(|_| {
        Ok(ThrottleRecords {
            address: Some(Versioned {
                record: AddressAttempts {
                    failures: 5,
                    last_failure_at: Some(now()),
                    signed_in_at: None,
                },
                version: 1,
            }),
            account: None,
        })
    });
    let audit = Arc::new(RecordingAuditLog::default());
    let throttle = LoginThrottle::enabled(Arc::new(ports.throttle), audit.clone());
    // The hasher mock has no expectations: any call to it fails the test.
    let change = ChangePassword {
        throttle,
        ..change(Ports {
            throttle: MockThrottleStore::new(),
            ..ports
        })
    };
    for _ in 0..2 {
        assert!(matches!(
            change.execute(change_input("old-password", STRONG, STRONG)),
            Err(PasswordFlowError::Throttled { .. })
        ));
    }
    let events = audit.events();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].kind, AuditKind::LoginThrottled);
    assert_eq!(events[0].user_id, Some(USER_ID));
    assert_eq!(events[0].client, client());
    assert!(
        events[0]
            .detail
            .as_deref()
            .is_some_and(|detail| detail.starts_with("password_change")),
        "{events:?}"
    );
}
