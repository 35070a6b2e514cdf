//! The audit log, as the requests that make it see it: each event written once, with who, from
//! where and which request, and never a password or a token.

use application::ports::{AuditLog, AuditQuery};
use auth_server::settings::EmailVerificationMode;
use domain::{AuditEvent, AuditKind};
use persistence::testing::TestDatabase;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{PASSWORD, TestApp, Tokens, answer, jwt_parts};
use crate::with_settings;

const AGENT: &str = "audit-test/2.0 (X11; Linux)";
const NEW_PASSWORD: &str = "a-brand-new-passphrase";

fn events(app: &TestApp) -> Vec<AuditEvent> {
    app.db
        .database()
        .audit_log()
        .list(&AuditQuery {
            limit: 10_000,
            ..AuditQuery::default()
        })
        .unwrap()
}

fn of_kind(app: &TestApp, kind: AuditKind) -> Vec<AuditEvent> {
    events(app)
        .into_iter()
        .filter(|event| event.kind == kind)
        .collect()
}

/// Posts `body` with the test's user agent, and returns the answer and its `X-Request-Id`.
async fn post(
    app: &TestApp,
    path: &str,
    access: Option<&str>,
    body: Value,
) -> (StatusCode, Value, String) {
    let mut request = app.post(path).header("User-Agent", AGENT).json(&body);
    if let Some(access) = access {
        request = request.bearer_auth(access);
    }
    let response = request.send().await.unwrap();
    let request_id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let (status, body) = answer(response).await;
    (status, body, request_id)
}

async fn log_in(app: &TestApp, username: &str, password: &str) -> (StatusCode, Value, String) {
    post(
        app,
        "/api/auth/login/",
        None,
        json!({"username": username, "password": password}),
    )
    .await
}

fn tokens(body: &Value) -> Tokens {
    Tokens {
        access: body["access"].as_str().unwrap().to_owned(),
        refresh: body["refresh"].as_str().unwrap().to_owned(),
    }
}

/// The `session_ended` events: each session's id with why it ended.
fn sessions_ended(app: &TestApp) -> Vec<(String, String)> {
    of_kind(app, AuditKind::SessionEnded)
        .into_iter()
        .map(|event| (event.session_id.unwrap().to_string(), event.detail.unwrap()))
        .collect()
}

fn sid(token: &str) -> String {
    jwt_parts(token).1["sid"].as_str().unwrap().to_owned()
}

/// No stored text holds any of `secrets`.
fn assert_no_secret(app: &TestApp, secrets: &[&str]) {
    for event in events(app) {
        let text = format!("{event:?}");
        for secret in secrets {
            assert!(!text.contains(secret), "{secret:?} is stored in {event:?}");
        }
    }
}

with_settings!(every_login_outcome_is_recorded_once_with_its_origin, |_| {});

async fn every_login_outcome_is_recorded_once_with_its_origin(app: TestApp) {
    let registered = app.register("alice").await;
    let (status, _, failed_id) = log_in(&app, "alice", "wrong-password-1").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, unknown_id) = log_in(&app, "mallory", "guess-password-2").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    app.sql("UPDATE users SET is_active = false WHERE username = 'alice'");
    let (status, _, _) = log_in(&app, "alice", PASSWORD).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    app.sql("UPDATE users SET is_active = true WHERE username = 'alice'");
    let (status, body, success_id) = log_in(&app, "alice", PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let signed_in = tokens(&body);

    let all = events(&app);
    let alice_id = all[0].user_id.expect("the registration names its account");
    let summary: Vec<_> = all
        .iter()
        .map(|event| {
            (
                event.kind,
                event.username.clone(),
                event.user_id,
                event.detail.clone(),
            )
        })
        .collect();
    let alice = Some("alice".to_owned());
    assert_eq!(
        summary,
        [
            (
                AuditKind::UserRegistered,
                alice.clone(),
                Some(alice_id),
                None
            ),
            (
                AuditKind::LoginFailed,
                alice.clone(),
                Some(alice_id),
                Some("wrong_password".into())
            ),
            (
                AuditKind::LoginFailed,
                Some("mallory".into()),
                None,
                Some("unknown_user".into())
            ),
            (
                AuditKind::LoginFailed,
                alice.clone(),
                Some(alice_id),
                Some("inactive".into())
            ),
            (AuditKind::LoginSucceeded, alice, Some(alice_id), None),
        ]
    );
    let failed = &all[1];
    assert_eq!(failed.client.ip_address(), "127.0.0.1");
    assert_eq!(failed.client.user_agent(), AGENT);
    assert_eq!(failed.client.request_id(), Some(failed_id.as_str()));
    assert_eq!(all[2].client.request_id(), Some(unknown_id.as_str()));
    let success = &all[4];
    assert_eq!(success.client.request_id(), Some(success_id.as_str()));
    assert_eq!(
        success.session_id.as_ref().map(ToString::to_string),
        Some(sid(&signed_in.access)),
        "a sign-in names the session it started"
    );
    assert_no_secret(
        &app,
        &[
            PASSWORD,
            "wrong-password-1",
            "guess-password-2",
            &registered.access,
            &registered.refresh,
            &signed_in.access,
            &signed_in.refresh,
        ],
    );
}

with_settings!(
    logout_revocation_and_reuse_record_the_sessions_they_end,
    |settings| {
        settings.sessions.rotate_refresh_tokens = true;
        settings.sessions.refresh_token_reuse_interval_secs = 0;
    }
);

async fn logout_revocation_and_reuse_record_the_sessions_they_end(app: TestApp) {
    app.register("alice").await;
    let (_, first, _) = log_in(&app, "alice", PASSWORD).await;
    let (_, second, _) = log_in(&app, "alice", PASSWORD).await;
    let (_, third, _) = log_in(&app, "alice", PASSWORD).await;
    let (first, second, third) = (tokens(&first), tokens(&second), tokens(&third));

    let (status, body, logout_id) = post(
        &app,
        "/api/auth/logout/",
        Some(&first.access),
        json!({"refresh": first.refresh}),
    )
    .await;
    assert_eq!(status, StatusCode::RESET_CONTENT, "{body}");
    let response = app
        .client
        .delete(app.url(&format!("/api/auth/sessions/{}/", sid(&second.access))))
        .bearer_auth(&third.access)
        .header("User-Agent", AGENT)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    // The third session's token, spent by a rotation and then presented again: a reuse.
    let (status, body, _) = post(
        &app,
        "/api/auth/refresh/",
        None,
        json!({"refresh": third.refresh}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _, reuse_id) = post(
        &app,
        "/api/auth/refresh/",
        None,
        json!({"refresh": third.refresh}),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let logged_out = of_kind(&app, AuditKind::LoggedOut);
    assert_eq!(logged_out.len(), 1);
    assert_eq!(logged_out[0].detail.as_deref(), Some("this"));
    assert_eq!(logged_out[0].client.request_id(), Some(logout_id.as_str()));
    let reused = of_kind(&app, AuditKind::RefreshTokenReused);
    assert_eq!(reused.len(), 1);
    assert_eq!(reused[0].username.as_deref(), Some("alice"));
    assert_eq!(reused[0].client.request_id(), Some(reuse_id.as_str()));
    assert_eq!(
        sessions_ended(&app),
        [
            (sid(&first.access), "logged_out".to_owned()),
            (sid(&second.access), "revoked".to_owned()),
            (sid(&third.access), "token_reused".to_owned()),
        ]
    );
    assert_no_secret(&app, &[&first.refresh, &third.refresh, &third.access]);
}

with_settings!(
    password_email_and_account_changes_are_recorded_once,
    |settings| {
        settings.account.email_verification = EmailVerificationMode::Optional;
    }
);

async fn password_email_and_account_changes_are_recorded_once(app: TestApp) {
    let registered = app.register("alice").await;
    let (_, other, _) = log_in(&app, "alice", PASSWORD).await;
    let other = tokens(&other);
    let mail = app.mail("alice@example.com", 1).await;
    let key = mail.link_parameter("http://localhost:3000/verify-email?", "key");
    let (status, _, _) = post(&app, "/api/auth/email/verify/", None, json!({"key": key})).await;
    assert_eq!(status, StatusCode::OK);

    let (status, body, _) = post(
        &app,
        "/api/auth/password/change/",
        Some(&registered.access),
        json!({"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let (status, _, reset_id) = post(
        &app,
        "/api/auth/password/reset/",
        None,
        json!({"email": "alice@example.com"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = post(
        &app,
        "/api/auth/password/reset/",
        None,
        json!({"email": "nobody@example.com"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let reset = app.wait_for_mails("alice@example.com", 3).await;
    let link = reset
        .iter()
        .find(|mail| mail.text.contains("/reset-password?"))
        .expect("a reset mail");
    let prefix = "http://localhost:3000/reset-password?";
    let (uid, token) = (
        link.link_parameter(prefix, "uid"),
        link.link_parameter(prefix, "token"),
    );
    let final_password = "the-final-passphrase-9";
    let (status, body, _) = post(
        &app,
        "/api/auth/password/reset/confirm/",
        None,
        json!({"uid": uid, "token": token, "new_password1": final_password, "new_password2": final_password}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, signed_in, _) = log_in(&app, "alice", final_password).await;
    let signed_in = tokens(&signed_in);
    let (status, body, _) = post(
        &app,
        "/api/auth/account/delete/",
        Some(&signed_in.access),
        json!({"password": final_password}),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");

    let all = events(&app);
    let alice_id = all[0].user_id;
    let count = |kind| all.iter().filter(|event| event.kind == kind).count();
    assert_eq!(count(AuditKind::EmailVerified), 1);
    assert_eq!(count(AuditKind::PasswordChanged), 1);
    assert_eq!(count(AuditKind::PasswordResetRequested), 2);
    assert_eq!(count(AuditKind::PasswordResetCompleted), 1);
    assert_eq!(count(AuditKind::AccountDeleted), 1);
    let requested: Vec<_> = of_kind(&app, AuditKind::PasswordResetRequested)
        .into_iter()
        .map(|event| {
            (
                event.username,
                event.user_id,
                event.client.request_id().map(str::to_owned),
            )
        })
        .collect();
    assert_eq!(
        requested[0],
        (Some("alice@example.com".into()), None, Some(reset_id))
    );
    assert_eq!(
        requested[1].0.as_deref(),
        Some("nobody@example.com"),
        "an unknown address is recorded the same way"
    );
    let verified = &of_kind(&app, AuditKind::EmailVerified)[0];
    assert_eq!(verified.detail.as_deref(), Some("alice@example.com"));
    // The change kept its own session and ended the other one; the reset ended the rest.
    assert_eq!(
        sessions_ended(&app),
        [
            (sid(&other.access), "password_changed".to_owned()),
            (sid(&registered.access), "password_changed".to_owned()),
        ]
    );
    for kind in [
        AuditKind::EmailVerified,
        AuditKind::PasswordChanged,
        AuditKind::PasswordResetCompleted,
        AuditKind::AccountDeleted,
    ] {
        let event = &of_kind(&app, kind)[0];
        assert_eq!(event.user_id, alice_id, "{kind:?}");
        assert_eq!(event.client.user_agent(), AGENT, "{kind:?}");
    }
    assert_no_secret(
        &app,
        &[
            PASSWORD,
            NEW_PASSWORD,
            final_password,
            &token,
            &key,
            &registered.refresh,
            &signed_in.access,
        ],
    );
}

with_settings!(a_throttled_login_is_recorded_once_per_hold, |settings| {
    settings.throttle.enabled = true;
});

async fn a_throttled_login_is_recorded_once_per_hold(app: TestApp) {
    app.register("alice").await;
    for n in 0..5 {
        let (status, _, _) = log_in(&app, "alice", "wrong-password").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "free failure {n}");
    }
    // The back-off holds the next attempts for a second: the first answer is decided on the
    // stored records, the others come from this instance's memory of the hold.
    for n in 0..3 {
        let (status, _, _) = log_in(&app, "alice", "wrong-password").await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "held attempt {n}");
    }
    let throttled = of_kind(&app, AuditKind::LoginThrottled);
    assert_eq!(throttled.len(), 1, "{throttled:?}");
    assert_eq!(throttled[0].username.as_deref(), Some("alice"));
    assert_eq!(
        throttled[0].user_id, None,
        "the back-off looks no account up"
    );
    assert_eq!(throttled[0].client.ip_address(), "127.0.0.1");
    assert_eq!(of_kind(&app, AuditKind::LoginFailed).len(), 5);
}
