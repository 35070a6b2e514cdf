use reqwest::StatusCode;
use serde_json::json;

use crate::on_both_databases;
use crate::support::{PASSWORD, TestApp, answer};

on_both_databases!(
    logging_out_blacklists_the_refresh_token_and_answers_205,
    other_refresh_tokens_of_the_user_keep_working,
    a_blacklisted_token_cannot_be_logged_out_twice,
    another_users_refresh_token_is_invalid_and_stays_valid,
    logout_requires_authentication,
    refresh_token_problems_are_field_errors,
);

async fn logging_out_blacklists_the_refresh_token_and_answers_205(app: TestApp) {
    let tokens = app.register("alice").await;
    let response = app
        .post("/api/auth/logout/")
        .bearer_auth(&tokens.access)
        .json(&json!({"refresh": tokens.refresh}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::RESET_CONTENT);
    assert_eq!(response.text().await.unwrap(), "");
    let (status, body) = answer(
        app.post_json("/api/auth/refresh/", json!({"refresh": tokens.refresh}))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        body,
        json!({"detail": "Token is blacklisted", "code": "token_not_valid"})
    );
}

async fn other_refresh_tokens_of_the_user_keep_working(app: TestApp) {
    let first = app.register("alice").await;
    let (_, second) = answer(
        app.post_json(
            "/api/auth/login/",
            json!({"username": "alice", "password": PASSWORD}),
        )
        .await,
    )
    .await;
    let logout = app
        .post("/api/auth/logout")
        .bearer_auth(&first.access)
        .json(&json!({"refresh": first.refresh}))
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), StatusCode::RESET_CONTENT);
    let response = app
        .post_json("/api/auth/refresh/", json!({"refresh": second["refresh"]}))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
}

async fn a_blacklisted_token_cannot_be_logged_out_twice(app: TestApp) {
    let tokens = app.register("alice").await;
    // Logging out ends the session and its access token with it, so the second attempt is
    // authenticated by another session of the same user.
    let other = crate::sessions::log_in(&app, "alice").await;
    for (access, expected) in [
        (&tokens.access, StatusCode::RESET_CONTENT),
        (&other.access, StatusCode::BAD_REQUEST),
    ] {
        let response = app
            .post("/api/auth/logout/")
            .bearer_auth(access)
            .form(&[("refresh", &tokens.refresh)])
            .send()
            .await
            .unwrap();
        let (status, body) = answer(response).await;
        assert_eq!(status, expected);
        if expected == StatusCode::BAD_REQUEST {
            assert_eq!(body, json!({"refresh": ["Token is blacklisted"]}));
        }
    }
}

async fn another_users_refresh_token_is_invalid_and_stays_valid(app: TestApp) {
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let response = app
        .post("/api/auth/logout/")
        .bearer_auth(&alice.access)
        .json(&json!({"refresh": bob.refresh}))
        .send()
        .await
        .unwrap();
    let (status, body) = answer(response).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body, json!({"refresh": ["Token is invalid"]}));
    let still_valid = app
        .post_json("/api/auth/refresh/", json!({"refresh": bob.refresh}))
        .await;
    assert_eq!(still_valid.status(), StatusCode::OK);
}

async fn logout_requires_authentication(app: TestApp) {
    let tokens = app.register("alice").await;
    let (status, body) = answer(
        app.post_json("/api/auth/logout/", json!({"refresh": tokens.refresh}))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        body,
        json!({"detail": "Authentication credentials were not provided."})
    );
}

async fn refresh_token_problems_are_field_errors(app: TestApp) {
    let tokens = app.register("alice").await;
    for (body, message) in [
        (json!({}), "This field is required."),
        (json!({"refresh": "garbage"}), "Token is invalid"),
        (json!({"refresh": tokens.access}), "Token has wrong type"),
    ] {
        let response = app
            .post("/api/auth/logout/")
            .bearer_auth(&tokens.access)
            .json(&body)
            .send()
            .await
            .unwrap();
        let (status, answer_body) = answer(response).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(answer_body, json!({"refresh": [message]}));
    }
}
