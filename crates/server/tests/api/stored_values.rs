//! What is stored is what was validated: normalised values are checked after normalising, a row
//! that fails to load spoils only its own request, and look-alike or invisible characters are
//! refused or normalised alike at registration and login.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::on_both_databases;
use crate::support::{PASSWORD, TestApp, answer};

on_both_databases!(
    an_address_that_grows_when_normalised_is_refused_not_stored,
    a_row_that_fails_to_load_is_a_500_for_that_request_only,
    a_fullwidth_username_registers_normalised_and_logs_in_as_typed,
    names_with_bidi_or_control_characters_are_refused,
    addresses_with_bidi_or_control_characters_are_refused,
);

fn registration(username: &str, changes: Value) -> Value {
    let mut body = TestApp::registration(username);
    for (key, value) in changes.as_object().unwrap() {
        body[key] = value.clone();
    }
    body
}

async fn register(app: &TestApp, body: Value) -> (StatusCode, Value) {
    answer(app.post_json("/api/auth/register/", body).await).await
}

async fn log_in(app: &TestApp, username: &str) -> (StatusCode, Value) {
    answer(
        app.post_json(
            "/api/auth/login/",
            json!({"username": username, "password": PASSWORD}),
        )
        .await,
    )
    .await
}

async fn patch_profile(app: &TestApp, access: &str, body: Value) -> (StatusCode, Value) {
    let response = app
        .client
        .request(Method::PATCH, app.url("/api/auth/profile/"))
        .bearer_auth(access)
        .json(&body)
        .send()
        .await
        .unwrap();
    answer(response).await
}

async fn an_address_that_grows_when_normalised_is_refused_not_stored(app: TestApp) {
    // 254 characters as typed; lower-casing turns each `İ` into two code points.
    let address = format!("{}@İİİİ.com", "a".repeat(245));
    let (status, body) = register(&app, registration("grower", json!({"email": address}))).await;
    assert_eq!(
        (status, body),
        (
            StatusCode::BAD_REQUEST,
            json!({"email": ["Ensure this field has no more than 254 characters."]})
        )
    );
    let (status, _) = log_in(&app, "grower").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "nothing was stored");

    // A shorter one is stored normalised, and its user logs in.
    let (status, _) = register(
        &app,
        registration("short", json!({"email": "short@İİ.com"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = log_in(&app, "short").await;
    assert_eq!(status, StatusCode::OK);
}

async fn a_row_that_fails_to_load_is_a_500_for_that_request_only(app: TestApp) {
    app.register("alice").await;
    app.register("bob").await;
    // Written by hand, as an older version or another tool could have.
    app.sql("UPDATE users SET email = 'not-an-address' WHERE username = 'alice'");
    let (status, body) = log_in(&app, "alice").await;
    assert_eq!(
        (status, body),
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({"detail": "A server error occurred."})
        )
    );
    let (status, _) = log_in(&app, "bob").await;
    assert_eq!(status, StatusCode::OK);
}

async fn a_fullwidth_username_registers_normalised_and_logs_in_as_typed(app: TestApp) {
    let (status, _) = register(
        &app,
        registration("ｂｏｂｂｙ", json!({"email": "bobby@example.com"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    for typed in ["ｂｏｂｂｙ", "bobby"] {
        let (status, body) = log_in(&app, typed).await;
        assert_eq!(status, StatusCode::OK, "{typed}: {body}");
        let (_, profile) = answer(app.profile(body["access"].as_str().unwrap()).await).await;
        assert_eq!(profile["user"]["username"], "bobby");
    }
}

async fn names_with_bidi_or_control_characters_are_refused(app: TestApp) {
    let (status, body) = register(
        &app,
        registration(
            "alice",
            json!({"first_name": "Ali\u{202e}ce", "last_name": "\u{2066}Liddell\u{2069}"}),
        ),
    )
    .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::BAD_REQUEST,
            json!({
                "first_name": ["Enter a valid value."],
                "last_name": ["Enter a valid value."],
            })
        )
    );
    let (status, body) = register(&app, registration("bob\u{202e}", json!({}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["username"][0],
        "Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters."
    );

    let tokens = app.register("carol").await;
    let (status, body) = patch_profile(
        &app,
        &tokens.access,
        json!({"user": {"first_name": "Car\u{7}ol", "last_name": "Lewis\u{200f}"}}),
    )
    .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::BAD_REQUEST,
            json!({"user": {
                "first_name": ["Enter a valid value."],
                "last_name": ["Enter a valid value."],
            }})
        )
    );
}

async fn addresses_with_bidi_or_control_characters_are_refused(app: TestApp) {
    for address in [
        "\"a\u{1}b\"@example.com",
        "user@exa\u{202e}mple.com",
        "user@example.\u{2066}com\u{2069}",
    ] {
        let (status, body) = register(&app, registration("alice", json!({"email": address}))).await;
        assert_eq!(
            (status, body),
            (
                StatusCode::BAD_REQUEST,
                json!({"email": ["Enter a valid email address."]})
            ),
            "{address:?}"
        );
    }
    let tokens = app.register("carol").await;
    let (status, body) = patch_profile(
        &app,
        &tokens.access,
        json!({"user": {"email": "carol@exa\u{200e}mple.com"}}),
    )
    .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::BAD_REQUEST,
            json!({"user": {"email": ["Enter a valid email address."]}})
        )
    );
}
