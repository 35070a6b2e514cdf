use chrono::{SubsecRound, Utc};
use reqwest::StatusCode;
use reqwest::header::WWW_AUTHENTICATE;
use serde_json::json;

use crate::on_both_databases;
use crate::support::{PASSWORD, TestApp, answer, jwt_parts};

on_both_databases!(
    the_right_password_gives_a_token_pair,
    a_wrong_password_an_unknown_user_and_an_inactive_user_get_the_same_401,
    usernames_are_matched_case_sensitively,
    missing_and_blank_fields_are_field_errors,
    a_form_encoded_login_works,
    a_login_records_the_last_login_time,
);

async fn the_right_password_gives_a_token_pair(app: TestApp) {
    app.register("alice").await;
    let response = app
        .post_json(
            "/api/auth/login/",
            json!({"username": "alice", "password": PASSWORD}),
        )
        .await;
    let (status, body) = answer(response).await;
    assert_eq!(status, StatusCode::OK);
    let (_, access) = jwt_parts(body["access"].as_str().unwrap());
    let (_, refresh) = jwt_parts(body["refresh"].as_str().unwrap());
    assert_eq!(
        (
            access["token_type"].as_str(),
            refresh["token_type"].as_str()
        ),
        (Some("access"), Some("refresh"))
    );
    assert_eq!(
        app.profile(body["access"].as_str().unwrap()).await.status(),
        StatusCode::OK
    );
}

async fn a_wrong_password_an_unknown_user_and_an_inactive_user_get_the_same_401(app: TestApp) {
    app.register("alice").await;
    app.register("sleeper").await;
    app.sql("UPDATE users SET is_active = FALSE WHERE username = 'sleeper'");
    for (username, password) in [
        ("alice", "wrong-password"),
        ("nobody", PASSWORD),
        ("sleeper", PASSWORD),
    ] {
        let response = app
            .post_json(
                "/api/auth/login",
                json!({"username": username, "password": password}),
            )
            .await;
        assert_eq!(
            response
                .headers()
                .get(WWW_AUTHENTICATE)
                .map(|v| v.to_str().unwrap()),
            Some("Bearer realm=\"api\"")
        );
        let (status, body) = answer(response).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{username}");
        assert_eq!(
            body,
            json!({"detail": "No active account found with the given credentials"})
        );
    }
}

async fn usernames_are_matched_case_sensitively(app: TestApp) {
    app.register("alice").await;
    let response = app
        .post_json(
            "/api/auth/login/",
            json!({"username": "ALICE", "password": PASSWORD}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

async fn missing_and_blank_fields_are_field_errors(app: TestApp) {
    let (status, body) = answer(
        app.post_json("/api/auth/login/", json!({"username": "  "}))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"username": ["This field may not be blank."], "password": ["This field is required."]})
    );
}

async fn a_form_encoded_login_works(app: TestApp) {
    app.register("alice").await;
    let response = app
        .post("/api/auth/login")
        .form(&[("username", "alice"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

async fn a_login_records_the_last_login_time(app: TestApp) {
    app.register("alice").await;
    let alice = "users WHERE username = 'alice'";
    assert_eq!(app.stored_time("last_login", alice), None);
    // Stored times keep whole microseconds; the bounds are cut to the same.
    let before = Utc::now().trunc_subsecs(6);
    let response = app
        .post_json(
            "/api/auth/login/",
            json!({"username": "alice", "password": PASSWORD}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let after = Utc::now();
    let last_login = app.stored_time("last_login", alice).unwrap();
    assert!(
        before <= last_login && last_login <= after,
        "{before} <= {last_login} <= {after}"
    );
}
