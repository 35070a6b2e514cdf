use reqwest::StatusCode;
use reqwest::header::WWW_AUTHENTICATE;
use serde_json::{Value, json};

use crate::on_both_databases;
use crate::support::{TestApp, answer, now};

on_both_databases!(
    a_bearer_header_without_exactly_one_token_is_a_bad_header,
    other_schemes_and_lower_case_bearer_are_no_credentials,
    a_garbage_access_token_is_not_valid_for_any_token_type,
    an_expired_access_token_is_expired,
    a_refresh_token_is_refused_as_an_access_token,
    the_access_token_of_a_deleted_user_is_user_not_found,
    the_access_token_of_an_inactive_user_is_user_inactive,
    a_bad_token_is_refused_even_on_register_and_login,
);

fn token_error(message: &str) -> Value {
    json!({
        "detail": "Given token not valid for any token type",
        "code": "token_not_valid",
        "messages": [{"token_class": "AccessToken", "token_type": "access", "message": message}],
    })
}

async fn profile_with(app: &TestApp, authorization: &str) -> (StatusCode, Value) {
    let response = app
        .get("/api/auth/profile/")
        .header("Authorization", authorization)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response
            .headers()
            .get(WWW_AUTHENTICATE)
            .map(|v| v.to_str().unwrap().to_owned()),
        (response.status() == StatusCode::UNAUTHORIZED).then(|| "Bearer realm=\"api\"".to_owned())
    );
    answer(response).await
}

async fn a_bearer_header_without_exactly_one_token_is_a_bad_header(app: TestApp) {
    for header in ["Bearer", "Bearer a b"] {
        let (status, body) = profile_with(&app, header).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            body,
            json!({"detail": "Authorization header must contain two space-delimited values", "code": "bad_authorization_header"})
        );
    }
}

async fn other_schemes_and_lower_case_bearer_are_no_credentials(app: TestApp) {
    let tokens = app.register("alice").await;
    for header in [
        format!("Token {}", tokens.access),
        format!("bearer {}", tokens.access),
    ] {
        let (status, body) = profile_with(&app, &header).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            body,
            json!({"detail": "Authentication credentials were not provided."})
        );
    }
}

async fn a_garbage_access_token_is_not_valid_for_any_token_type(app: TestApp) {
    let (status, body) = profile_with(&app, "Bearer garbage").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body, token_error("Token is invalid"));
}

async fn an_expired_access_token_is_expired(app: TestApp) {
    app.register("alice").await;
    let expired = app.sign(&json!({
        "token_type": "access", "exp": now() - 1, "iat": now() - 3600,
        "jti": "0123456789abcdef0123456789abcdef", "user_id": "1",
    }));
    let (status, body) = profile_with(&app, &format!("Bearer {expired}")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body, token_error("Token is expired"));
}

async fn a_refresh_token_is_refused_as_an_access_token(app: TestApp) {
    let tokens = app.register("alice").await;
    let (status, body) = profile_with(&app, &format!("Bearer {}", tokens.refresh)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body, token_error("Token has wrong type"));
}

async fn the_access_token_of_a_deleted_user_is_user_not_found(app: TestApp) {
    let tokens = app.register("alice").await;
    app.sql("DELETE FROM users WHERE username = 'alice'");
    let (status, body) = profile_with(&app, &format!("Bearer {}", tokens.access)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        body,
        json!({"detail": "User not found", "code": "user_not_found"})
    );
}

async fn the_access_token_of_an_inactive_user_is_user_inactive(app: TestApp) {
    let tokens = app.register("alice").await;
    app.sql("UPDATE users SET is_active = FALSE WHERE username = 'alice'");
    let (status, body) = profile_with(&app, &format!("Bearer {}", tokens.access)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        body,
        json!({"detail": "User is inactive", "code": "user_inactive"})
    );
}

async fn a_bad_token_is_refused_even_on_register_and_login(app: TestApp) {
    for path in ["/api/auth/register/", "/api/auth/login/"] {
        let response = app
            .post(path)
            .header("Authorization", "Bearer garbage")
            .json(&TestApp::registration("alice"))
            .send()
            .await
            .unwrap();
        let (status, body) = answer(response).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(body, token_error("Token is invalid"));
    }
}
