use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::on_both_databases;
use crate::support::{TestApp, Tokens, answer};

on_both_databases!(
    the_profile_has_the_seed_shape_and_timestamp_format,
    put_requires_user_and_keeps_the_phone_when_absent,
    patch_changes_only_what_is_given_and_moves_updated_at,
    read_only_fields_are_ignored,
    a_changed_email_is_validated_and_must_stay_unique,
    profile_requires_authentication,
    head_answers_like_get_without_a_body,
);

async fn send(
    app: &TestApp,
    method: reqwest::Method,
    tokens: &Tokens,
    body: Value,
) -> (StatusCode, Value) {
    let response = app
        .client
        .request(method, app.url("/api/auth/profile/"))
        .bearer_auth(&tokens.access)
        .json(&body)
        .send()
        .await
        .unwrap();
    answer(response).await
}

fn is_drf_timestamp(value: &Value) -> bool {
    let text = value.as_str().unwrap_or_default();
    text.len() == 27
        && text.ends_with('Z')
        && chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.6fZ").is_ok()
}

async fn the_profile_has_the_seed_shape_and_timestamp_format(app: TestApp) {
    let tokens = app.register("alice").await;
    let (status, body) = answer(app.profile(&tokens.access).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["id"], 1);
    assert_eq!(
        body["user"],
        json!({"id": 1, "username": "alice", "email": "alice@example.com", "first_name": "Test", "last_name": "User"})
    );
    assert_eq!(body["phone"], "1234567890");
    assert!(
        is_drf_timestamp(&body["created_at"]),
        "{}",
        body["created_at"]
    );
    assert!(
        is_drf_timestamp(&body["updated_at"]),
        "{}",
        body["updated_at"]
    );
    let mut keys: Vec<_> = body.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    assert_eq!(
        keys,
        vec!["created_at", "id", "phone", "updated_at", "user"]
    );
}

async fn put_requires_user_and_keeps_the_phone_when_absent(app: TestApp) {
    let tokens = app.register("alice").await;
    let (status, body) = send(&app, reqwest::Method::PUT, &tokens, json!({"phone": "555"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body, json!({"user": ["This field is required."]}));
    let (status, body) = send(&app, reqwest::Method::PUT, &tokens, json!({"user": {}})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["phone"], "1234567890");
    let (status, body) = send(
        &app,
        reqwest::Method::PUT,
        &tokens,
        json!({"user": {"email": "new@example.com", "first_name": "Alicia", "last_name": "L"}, "phone": "555"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["user"]["email"], "new@example.com");
    assert_eq!(body["user"]["first_name"], "Alicia");
    assert_eq!(body["phone"], "555");
    let (_, reread) = answer(app.profile(&tokens.access).await).await;
    assert_eq!(reread, body, "the update persisted");
}

async fn patch_changes_only_what_is_given_and_moves_updated_at(app: TestApp) {
    let tokens = app.register("alice").await;
    let (_, before) = answer(app.profile(&tokens.access).await).await;
    let (status, after) = send(
        &app,
        reqwest::Method::PATCH,
        &tokens,
        json!({"user": {"last_name": "Liddell"}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(after["user"]["last_name"], "Liddell");
    assert_eq!(after["user"]["first_name"], before["user"]["first_name"]);
    assert_eq!(after["phone"], before["phone"]);
    assert_eq!(after["created_at"], before["created_at"]);
    assert!(after["updated_at"].as_str() > before["updated_at"].as_str());
    let (status, _) = send(&app, reqwest::Method::PATCH, &tokens, json!({})).await;
    assert_eq!(status, StatusCode::OK);
}

async fn read_only_fields_are_ignored(app: TestApp) {
    let tokens = app.register("alice").await;
    let (_, before) = answer(app.profile(&tokens.access).await).await;
    let (status, after) = send(
        &app,
        reqwest::Method::PATCH,
        &tokens,
        json!({"id": 99, "username": "mallory", "created_at": "2000-01-01T00:00:00Z",
               "user": {"id": 42, "username": "mallory"}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(after["id"], before["id"]);
    assert_eq!(after["user"]["id"], 1);
    assert_eq!(after["user"]["username"], "alice");
    assert_eq!(after["created_at"], before["created_at"]);
}

async fn a_changed_email_is_validated_and_must_stay_unique(app: TestApp) {
    let tokens = app.register("alice").await;
    app.register("bob").await;
    let (status, body) = send(
        &app,
        reqwest::Method::PATCH,
        &tokens,
        json!({"user": {"email": "BOB@example.com"}}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"user": {"email": ["A user with that email already exists."]}})
    );
    let (status, body) = send(
        &app,
        reqwest::Method::PATCH,
        &tokens,
        json!({"user": {"email": "nope"}, "phone": "1".repeat(21)}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({
            "user": {"email": ["Enter a valid email address."]},
            "phone": ["Ensure this field has no more than 20 characters."],
        })
    );
    let (status, body) = send(
        &app,
        reqwest::Method::PATCH,
        &tokens,
        json!({"user": {"email": "ALICE@example.com"}}),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "one's own address in another case is fine"
    );
    assert_eq!(body["user"]["email"], "ALICE@example.com");
}

async fn profile_requires_authentication(app: TestApp) {
    let (status, body) = answer(app.get("/api/auth/profile").send().await.unwrap()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        body,
        json!({"detail": "Authentication credentials were not provided."})
    );
}

async fn head_answers_like_get_without_a_body(app: TestApp) {
    let tokens = app.register("alice").await;
    let response = app
        .client
        .head(app.url("/api/auth/profile/"))
        .bearer_auth(&tokens.access)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.unwrap(), "");
}
