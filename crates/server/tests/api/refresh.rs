use reqwest::StatusCode;
use secrecy::ExposeSecret;
use serde_json::json;

use crate::on_both_databases;
use crate::support::{TestApp, answer, jwt_parts, now};

on_both_databases!(
    a_refresh_token_gives_only_a_new_working_access_token,
    an_access_token_is_refused_as_a_refresh_token,
    a_garbage_token_is_invalid,
    an_expired_refresh_token_is_expired,
    a_token_signed_with_another_key_or_algorithm_is_invalid,
    a_missing_refresh_field_is_required,
    the_token_of_a_deleted_or_deactivated_user_is_refused,
    refresh_does_not_read_the_authorization_header,
);

async fn a_refresh_token_gives_only_a_new_working_access_token(app: TestApp) {
    let tokens = app.register("alice").await;
    let (status, body) = answer(
        app.post_json("/api/auth/refresh/", json!({"refresh": tokens.refresh}))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body.as_object().unwrap().len(),
        1,
        "no rotation: only an access token"
    );
    let access = body["access"].as_str().unwrap();
    let (_, claims) = jwt_parts(access);
    assert_eq!(claims["token_type"], "access");
    assert_eq!(claims["user_id"], "1");
    assert_ne!(access, tokens.access);
    assert_eq!(app.profile(access).await.status(), StatusCode::OK);
    // The refresh token stays usable.
    let again = app
        .post_json("/api/auth/refresh", json!({"refresh": tokens.refresh}))
        .await;
    assert_eq!(again.status(), StatusCode::OK);
}

async fn an_access_token_is_refused_as_a_refresh_token(app: TestApp) {
    let tokens = app.register("alice").await;
    let (status, body) = answer(
        app.post_json("/api/auth/refresh/", json!({"refresh": tokens.access}))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        body,
        json!({"detail": "Token has wrong type", "code": "token_not_valid"})
    );
}

async fn a_garbage_token_is_invalid(app: TestApp) {
    let (status, body) = answer(
        app.post_json("/api/auth/refresh/", json!({"refresh": "not.a.token"}))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        body,
        json!({"detail": "Token is invalid", "code": "token_not_valid"})
    );
}

async fn an_expired_refresh_token_is_expired(app: TestApp) {
    app.register("alice").await;
    let expired = app.sign(&json!({
        "token_type": "refresh", "exp": now() - 10, "iat": now() - 100,
        "jti": "0123456789abcdef0123456789abcdef", "user_id": "1",
    }));
    let (status, body) = answer(
        app.post_json("/api/auth/refresh/", json!({"refresh": expired}))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        body,
        json!({"detail": "Token is expired", "code": "token_not_valid"})
    );
}

async fn a_token_signed_with_another_key_or_algorithm_is_invalid(app: TestApp) {
    let tokens = app.register("alice").await;
    let (_, claims) = jwt_parts(&tokens.refresh);
    let other_key = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(b"some-other-secret-key-of-32-bytes!!"),
    )
    .unwrap();
    let hs512 = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS512),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(
            app.settings.security.secret_key.expose_secret().as_bytes(),
        ),
    )
    .unwrap();
    let payload = tokens.refresh.split('.').nth(1).unwrap();
    let unsigned = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}.");
    for token in [other_key, hs512, unsigned] {
        let (status, body) = answer(
            app.post_json("/api/auth/refresh/", json!({"refresh": token}))
                .await,
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body["detail"], "Token is invalid");
    }
}

async fn a_missing_refresh_field_is_required(app: TestApp) {
    let (status, body) = answer(app.post_json("/api/auth/refresh/", json!({})).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body, json!({"refresh": ["This field is required."]}));
}

async fn the_token_of_a_deleted_or_deactivated_user_is_refused(app: TestApp) {
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    app.sql("UPDATE users SET is_active = FALSE WHERE username = 'alice'");
    app.sql("DELETE FROM users WHERE username = 'bob'");
    for refresh in [alice.refresh, bob.refresh] {
        let (status, body) = answer(
            app.post_json("/api/auth/refresh/", json!({"refresh": refresh}))
                .await,
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            body,
            json!({"detail": "Token is invalid", "code": "token_not_valid"})
        );
    }
}

async fn refresh_does_not_read_the_authorization_header(app: TestApp) {
    let tokens = app.register("alice").await;
    let response = app
        .post("/api/auth/refresh/")
        .header("Authorization", "Bearer garbage")
        .json(&json!({"refresh": tokens.refresh}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}
