//! The account lifecycle as the API contract describes it: password change and reset, e-mail
//! verification in its three modes, address changes and deletion, with mail read back from the
//! `file` backend.

use auth_server::settings::EmailVerificationMode;
use persistence::testing::TestDatabase;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::on_both_databases;
use crate::sessions::log_in;
use crate::support::{PASSWORD, TestApp, Tokens, answer};
use crate::with_settings;

const NEW_PASSWORD: &str = "a-brand-new-passphrase";
const FRONTEND: &str = "http://localhost:3000";

on_both_databases!(
    a_password_change_keeps_this_session_ends_the_others_and_sends_a_notice,
    password_change_errors_are_reported_per_field,
    a_reset_link_sets_the_password_once_and_ends_every_session,
    a_reset_for_an_unknown_address_answers_the_same_and_sends_nothing,
    a_reset_link_stops_working_once_the_password_changes,
    reset_confirm_errors_are_reported_per_field,
    with_verification_off_registration_sends_no_mail,
    deletion_takes_the_password_and_everything_of_the_user,
    a_bad_verification_key_is_not_found,
    one_reset_link_used_twice_at_once_sets_one_password,
);

async fn post_authed(app: &TestApp, path: &str, access: &str, body: Value) -> (StatusCode, Value) {
    answer(
        app.post(path)
            .bearer_auth(access)
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn post(app: &TestApp, path: &str, body: Value) -> (StatusCode, Value) {
    answer(app.post_json(path, body).await).await
}

async fn sign_in(app: &TestApp, username: &str, password: &str) -> StatusCode {
    app.post_json(
        "/api/auth/login/",
        json!({"username": username, "password": password}),
    )
    .await
    .status()
}

async fn change_password(app: &TestApp, access: &str, old: &str, new: &str) -> (StatusCode, Value) {
    post_authed(
        app,
        "/api/auth/password/change/",
        access,
        json!({"old_password": old, "new_password1": new, "new_password2": new}),
    )
    .await
}

fn blacklisted(body: &Value) -> bool {
    body["code"] == "token_not_valid" && body["messages"][0]["message"] == "Token is blacklisted"
}

async fn a_password_change_keeps_this_session_ends_the_others_and_sends_a_notice(app: TestApp) {
    let here = app.register("alice").await;
    let elsewhere = log_in(&app, "alice").await;

    let (status, body) = change_password(&app, &here.access, PASSWORD, NEW_PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({"detail": "New password has been saved."}));

    assert_eq!(app.profile(&here.access).await.status(), StatusCode::OK);
    let (status, body) = answer(app.profile(&elsewhere.access).await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(blacklisted(&body), "{body}");
    assert_eq!(
        sign_in(&app, "alice", PASSWORD).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(sign_in(&app, "alice", NEW_PASSWORD).await, StatusCode::OK);

    let notice = app.mail("alice@example.com", 1).await;
    assert!(
        notice.subject.to_lowercase().contains("password"),
        "{notice:?}"
    );
    assert!(!notice.text.contains(NEW_PASSWORD));
}

async fn password_change_errors_are_reported_per_field(app: TestApp) {
    let tokens = app.register("alice").await;
    let (status, body) = change_password(&app, &tokens.access, "wrong", NEW_PASSWORD).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"old_password": ["Your old password was entered incorrectly. Please enter it again."]})
    );

    let (status, body) = post_authed(
        &app,
        "/api/auth/password/change/",
        &tokens.access,
        json!({"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": "other-passphrase"}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"new_password2": ["The two password fields didn\u{2019}t match."]})
    );

    let (status, body) = change_password(&app, &tokens.access, PASSWORD, "12345678").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"new_password2": ["This password is too common.", "This password is entirely numeric."]})
    );

    let (status, body) = post_authed(
        &app,
        "/api/auth/password/change/",
        &tokens.access,
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({
            "old_password": ["This field is required."],
            "new_password1": ["This field is required."],
            "new_password2": ["This field is required."],
        })
    );

    let (status, _) = post(
        &app,
        "/api/auth/password/change/",
        json!({"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Nothing changed.
    assert_eq!(sign_in(&app, "alice", PASSWORD).await, StatusCode::OK);
}

async fn request_reset(app: &TestApp, email: &str) -> (StatusCode, Value) {
    post(app, "/api/auth/password/reset/", json!({"email": email})).await
}

async fn confirm_reset(
    app: &TestApp,
    uid: &str,
    token: &str,
    password: &str,
) -> (StatusCode, Value) {
    post(
        app,
        "/api/auth/password/reset/confirm/",
        json!({"uid": uid, "token": token, "new_password1": password, "new_password2": password}),
    )
    .await
}

/// Asks for a reset for `email` and returns the mailed link's uid and token.
async fn reset_link(app: &TestApp, email: &str, nth: usize) -> (String, String) {
    let (status, body) = request_reset(app, email).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mail = app.mail(email, nth).await;
    let prefix = format!("{FRONTEND}/reset-password?");
    (
        mail.link_parameter(&prefix, "uid"),
        mail.link_parameter(&prefix, "token"),
    )
}

async fn a_reset_link_sets_the_password_once_and_ends_every_session(app: TestApp) {
    let first = app.register("alice").await;
    let second = log_in(&app, "alice").await;
    let (status, body) = request_reset(&app, "ALICE@example.com").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({"detail": "Password reset e-mail has been sent."})
    );
    let mail = app.mail("alice@example.com", 1).await;
    let prefix = format!("{FRONTEND}/reset-password?");
    let uid = mail.link_parameter(&prefix, "uid");
    let token = mail.link_parameter(&prefix, "token");
    assert!(mail.html.contains(&token), "the HTML part has the link too");

    let (status, body) = confirm_reset(&app, &uid, &token, NEW_PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        json!({"detail": "Password has been reset with the new password."})
    );
    for Tokens { access, .. } in [first, second] {
        let (status, body) = answer(app.profile(&access).await).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(blacklisted(&body), "{body}");
    }
    assert_eq!(
        sign_in(&app, "alice", PASSWORD).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(sign_in(&app, "alice", NEW_PASSWORD).await, StatusCode::OK);

    // Used once: the password it was made for is gone.
    let (status, body) = confirm_reset(&app, &uid, &token, "yet-another-passphrase").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body, json!({"token": ["Invalid value"]}));
    // The reset also sent a notice.
    app.wait_for_mails("alice@example.com", 2).await;
}

async fn a_reset_for_an_unknown_address_answers_the_same_and_sends_nothing(app: TestApp) {
    app.register("alice").await;
    let (status, body) = request_reset(&app, "nobody@example.com").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({"detail": "Password reset e-mail has been sent."})
    );
    app.outbox_settled().await;
    assert!(app.mails_to("nobody@example.com").is_empty());
    assert!(app.mails_to("alice@example.com").is_empty());

    let (status, body) = request_reset(&app, "not-an-address").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body, json!({"email": ["Enter a valid email address."]}));
    let (status, body) = post(&app, "/api/auth/password/reset/", json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body, json!({"email": ["This field is required."]}));
}

async fn a_reset_link_stops_working_once_the_password_changes(app: TestApp) {
    let tokens = app.register("alice").await;
    let (uid, token) = reset_link(&app, "alice@example.com", 1).await;
    let (status, _) = change_password(&app, &tokens.access, PASSWORD, NEW_PASSWORD).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = confirm_reset(&app, &uid, &token, "yet-another-passphrase").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body, json!({"token": ["Invalid value"]}));
    assert_eq!(sign_in(&app, "alice", NEW_PASSWORD).await, StatusCode::OK);
}

async fn reset_confirm_errors_are_reported_per_field(app: TestApp) {
    app.register("alice").await;
    let (uid, token) = reset_link(&app, "alice@example.com", 1).await;

    let (status, body) = confirm_reset(&app, "MTIzNDU2Nzg5", &token, NEW_PASSWORD).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body, json!({"uid": ["Invalid value"]}));
    let (status, body) = confirm_reset(&app, "%%%", &token, NEW_PASSWORD).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body, json!({"uid": ["Invalid value"]}));
    let tampered = format!("{token}0");
    let (status, body) = confirm_reset(&app, &uid, &tampered, NEW_PASSWORD).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body, json!({"token": ["Invalid value"]}));

    let (status, body) = confirm_reset(&app, &uid, &token, "alice").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let messages = body["new_password2"]
        .as_array()
        .expect("validator messages");
    assert!(
        messages.contains(&json!("The password is too similar to the username.")),
        "{body}"
    );
    let (status, body) = post(
        &app,
        "/api/auth/password/reset/confirm/",
        json!({"uid": uid, "token": token, "new_password1": NEW_PASSWORD, "new_password2": "other-passphrase"}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"new_password2": ["The two password fields didn\u{2019}t match."]})
    );
    let (status, body) = post(&app, "/api/auth/password/reset/confirm/", json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({
            "uid": ["This field is required."],
            "token": ["This field is required."],
            "new_password1": ["This field is required."],
            "new_password2": ["This field is required."],
        })
    );
    // None of that spent the link.
    let (status, _) = confirm_reset(&app, &uid, &token, NEW_PASSWORD).await;
    assert_eq!(status, StatusCode::OK);
}

with_settings!(a_reset_link_expires, |settings| {
    settings.account.password_reset_timeout_secs = 1;
});

async fn a_reset_link_expires(app: TestApp) {
    app.register("alice").await;
    let (uid, token) = reset_link(&app, "alice@example.com", 1).await;
    // Django's tokens count whole seconds: two of them are past a timeout of one.
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let (status, body) = confirm_reset(&app, &uid, &token, NEW_PASSWORD).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body, json!({"token": ["Invalid value"]}));
}

with_settings!(
    resets_per_address_are_capped_and_the_answer_stays_the_same,
    |settings| {
        settings.throttle.enabled = true;
        settings.throttle.rates = settings
            .throttle
            .rates
            .clone()
            .with_overrides("password_reset=100/hour")
            .unwrap();
    }
);

async fn resets_per_address_are_capped_and_the_answer_stays_the_same(app: TestApp) {
    app.register("alice").await;
    for _ in 0..5 {
        let (status, body) = request_reset(&app, "alice@example.com").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            body,
            json!({"detail": "Password reset e-mail has been sent."})
        );
    }
    app.outbox_settled().await;
    assert_eq!(app.mails_to("alice@example.com").len(), 3);
}

with_settings!(
    reset_requests_per_client_address_are_rate_limited,
    |settings| {
        settings.throttle.enabled = true;
        settings.throttle.rates = settings
            .throttle
            .rates
            .clone()
            .with_overrides("password_reset=2/hour")
            .unwrap();
    }
);

async fn reset_requests_per_client_address_are_rate_limited(app: TestApp) {
    for n in 0..2 {
        let (status, _) = request_reset(&app, &format!("user{n}@example.com")).await;
        assert_eq!(status, StatusCode::OK);
    }
    let response = app
        .post_json(
            "/api/auth/password/reset/",
            json!({"email": "user3@example.com"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=1800).contains(&wait), "{wait}");
    let (_, body) = answer(response).await;
    assert_eq!(
        body["detail"],
        format!("Request was throttled. Expected available in {wait} seconds.")
    );
    // The resend shares the rate.
    let (status, _) = post(
        &app,
        "/api/auth/email/resend/",
        json!({"email": "a@example.com"}),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
}

async fn with_verification_off_registration_sends_no_mail(app: TestApp) {
    let tokens = app.register("alice").await;
    assert!(!tokens.access.is_empty());
    app.outbox_settled().await;
    assert!(app.mails_to("alice@example.com").is_empty());
    // A resend does nothing either, and says so no differently.
    let (status, body) = post(
        &app,
        "/api/auth/email/resend/",
        json!({"email": "alice@example.com"}),
    )
    .await;
    assert_eq!((status, body), (StatusCode::OK, json!({"detail": "ok"})));
    app.outbox_settled().await;
    assert!(app.mails_to("alice@example.com").is_empty());
}

fn verified(app: &TestApp, username: &str) -> bool {
    let rows = app.stored_text(&format!(
        "SELECT CASE WHEN email_verified THEN 'yes' ELSE 'no' END AS value FROM users WHERE username = '{username}'"
    ));
    rows == [Some("yes".to_owned())]
}

async fn verify(app: &TestApp, key: &str) -> (StatusCode, Value) {
    post(app, "/api/auth/email/verify/", json!({"key": key})).await
}

fn key_of(mail: &crate::support::Mail) -> String {
    mail.link_parameter(&format!("{FRONTEND}/verify-email?"), "key")
}

with_settings!(
    with_verification_optional_the_link_verifies_once,
    |settings| {
        settings.account.email_verification = EmailVerificationMode::Optional;
    }
);

async fn with_verification_optional_the_link_verifies_once(app: TestApp) {
    let tokens = app.register("alice").await;
    assert_eq!(app.profile(&tokens.access).await.status(), StatusCode::OK);
    assert!(!verified(&app, "alice"));
    let mail = app.mail("alice@example.com", 1).await;
    let key = key_of(&mail);
    assert_eq!(
        verify(&app, &key).await,
        (StatusCode::OK, json!({"detail": "ok"}))
    );
    assert!(verified(&app, "alice"));
    assert_eq!(
        verify(&app, &key).await,
        (StatusCode::NOT_FOUND, json!({"detail": "Not found."}))
    );
}

with_settings!(
    with_verification_mandatory_sign_in_waits_for_the_link,
    |settings| {
        settings.account.email_verification = EmailVerificationMode::Mandatory;
    }
);

async fn with_verification_mandatory_sign_in_waits_for_the_link(app: TestApp) {
    let (status, body) = post(&app, "/api/auth/register/", TestApp::registration("alice")).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(body, json!({"detail": "Verification e-mail sent."}));
    let sessions = app.stored_text("SELECT CAST(COUNT(*) AS TEXT) AS value FROM sessions");
    assert_eq!(sessions, [Some("0".to_owned())], "no session started");

    let (status, body) = post(
        &app,
        "/api/auth/login/",
        json!({"username": "alice", "password": PASSWORD}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"non_field_errors": ["E-mail is not verified."]})
    );
    // A wrong password still reads as one.
    assert_eq!(
        sign_in(&app, "alice", "wrong").await,
        StatusCode::UNAUTHORIZED
    );

    // Asking again sends a second link; either works.
    let (status, body) = post(
        &app,
        "/api/auth/email/resend/",
        json!({"email": "Alice@example.com"}),
    )
    .await;
    assert_eq!((status, body), (StatusCode::OK, json!({"detail": "ok"})));
    let mails = app.wait_for_mails("alice@example.com", 2).await;
    let (status, _) = verify(&app, &key_of(&mails[1])).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(sign_in(&app, "alice", PASSWORD).await, StatusCode::OK);

    // Resending to a verified or unknown address sends nothing, and answers the same.
    for address in ["alice@example.com", "nobody@example.com"] {
        let (status, body) = post(&app, "/api/auth/email/resend/", json!({"email": address})).await;
        assert_eq!((status, body), (StatusCode::OK, json!({"detail": "ok"})));
    }
    let (status, body) = post(&app, "/api/auth/email/resend/", json!({"email": "nope"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body, json!({"email": ["Enter a valid email address."]}));
    app.outbox_settled().await;
    assert_eq!(app.mails_to("alice@example.com").len(), 2);
    assert!(app.mails_to("nobody@example.com").is_empty());
}

with_settings!(
    with_verification_on_an_address_change_waits_for_its_link,
    |settings| {
        settings.account.email_verification = EmailVerificationMode::Optional;
    }
);

async fn with_verification_on_an_address_change_waits_for_its_link(app: TestApp) {
    let tokens = app.register("alice").await;
    let (status, body) = answer(
        app.client
            .patch(app.url("/api/auth/profile/"))
            .bearer_auth(&tokens.access)
            .json(&json!({"user": {"email": "new@example.com"}}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["user"]["email"], "alice@example.com",
        "not yet changed"
    );

    let link = app.mail("new@example.com", 1).await;
    let (status, _) = verify(&app, &key_of(&link)).await;
    assert_eq!(status, StatusCode::OK);
    let (_, profile) = answer(app.profile(&tokens.access).await).await;
    assert_eq!(profile["user"]["email"], "new@example.com");
    assert!(verified(&app, "alice"));

    // The old address is told (after its own verification link at registration).
    let notices = app.wait_for_mails("alice@example.com", 2).await;
    assert!(
        notices[1].text.contains("new@example.com"),
        "{:?}",
        notices[1]
    );
    // The link does not work twice.
    let (status, _) = verify(&app, &key_of(&link)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn a_bad_verification_key_is_not_found(app: TestApp) {
    for key in [
        "",
        "nonsense",
        "a.b.c",
        "YWxpY2U.YWxpY2VAZXhhbXBsZS5jb20.1.00",
    ] {
        let (status, body) = verify(&app, key).await;
        if key.is_empty() {
            assert_eq!(status, StatusCode::BAD_REQUEST);
            assert_eq!(body, json!({"key": ["This field may not be blank."]}));
        } else {
            assert_eq!(status, StatusCode::NOT_FOUND, "{key}");
            assert_eq!(body, json!({"detail": "Not found."}));
        }
    }
    let (status, body) = post(&app, "/api/auth/email/verify/", json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body, json!({"key": ["This field is required."]}));
}

async fn deletion_takes_the_password_and_everything_of_the_user(app: TestApp) {
    let tokens = app.register("alice").await;
    let bob = app.register("bob").await;
    let (status, body) = post_authed(
        &app,
        "/api/auth/account/delete/",
        &tokens.access,
        json!({"password": "wrong"}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"password": ["Your password was entered incorrectly."]})
    );
    let (status, body) =
        post_authed(&app, "/api/auth/account/delete/", &tokens.access, json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body, json!({"password": ["This field is required."]}));
    assert_eq!(app.profile(&tokens.access).await.status(), StatusCode::OK);

    let (status, body) = post_authed(
        &app,
        "/api/auth/account/delete/",
        &tokens.access,
        json!({"password": PASSWORD}),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");

    let (status, body) = answer(app.profile(&tokens.access).await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["code"], "user_not_found", "{body}");
    let (status, _) = post(
        &app,
        "/api/auth/refresh/",
        json!({"refresh": tokens.refresh}),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        sign_in(&app, "alice", PASSWORD).await,
        StatusCode::UNAUTHORIZED
    );
    for table in ["users", "profiles", "sessions", "refresh_tokens"] {
        let column = if table == "users" { "id" } else { "user_id" };
        let rows = app.stored_text(&format!(
            "SELECT CAST(COUNT(*) AS TEXT) AS value FROM {table} WHERE {column} NOT IN (SELECT id FROM users WHERE username = 'bob')"
        ));
        assert_eq!(
            rows,
            [Some("0".to_owned())],
            "{table} still holds alice's rows"
        );
    }
    // Bob is untouched, and the name is free again.
    assert_eq!(app.profile(&bob.access).await.status(), StatusCode::OK);
    app.register("alice").await;
}

with_settings!(
    wrong_passwords_on_change_and_deletion_count_as_failed_logins,
    |settings| {
        settings.throttle.enabled = true;
    }
);

/// A stolen access token is no way around the login back-off: the password checks of a change
/// and a deletion are charged as logins from the same address with the same username.
async fn wrong_passwords_on_change_and_deletion_count_as_failed_logins(app: TestApp) {
    let tokens = app.register("alice").await;
    for n in 0..3 {
        let (status, _) = change_password(&app, &tokens.access, "wrong", NEW_PASSWORD).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "change {n}");
    }
    for n in 0..2 {
        let (status, _) = post_authed(
            &app,
            "/api/auth/account/delete/",
            &tokens.access,
            json!({"password": "wrong"}),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "deletion {n}");
    }
    let (status, body) = change_password(&app, &tokens.access, PASSWORD, NEW_PASSWORD).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .starts_with("Request was throttled."),
        "{body}"
    );
    assert_eq!(
        sign_in(&app, "alice", PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Nothing was changed meanwhile.
    assert_eq!(app.profile(&tokens.access).await.status(), StatusCode::OK);
}

async fn one_reset_link_used_twice_at_once_sets_one_password(app: TestApp) {
    app.register("alice").await;
    let (uid, token) = reset_link(&app, "alice@example.com", 1).await;
    let (first, second) = tokio::join!(
        confirm_reset(&app, &uid, &token, NEW_PASSWORD),
        confirm_reset(&app, &uid, &token, "yet-another-passphrase"),
    );
    let mut statuses = [first.0, second.0];
    statuses.sort();
    assert_eq!(
        statuses,
        [StatusCode::OK, StatusCode::BAD_REQUEST],
        "{first:?} {second:?}"
    );
    let winner = if first.0 == StatusCode::OK {
        NEW_PASSWORD
    } else {
        "yet-another-passphrase"
    };
    assert_eq!(sign_in(&app, "alice", winner).await, StatusCode::OK);
}
