//! Token header and claim checks beyond signature and expiry: `crit`, and the optional
//! `JWT_ISSUER`, `JWT_AUDIENCE` and `JWT_LEEWAY` settings. Token handling is the same over
//! either database, so these run on SQLite.

use jsonwebtoken::{Algorithm, Header};
use persistence::testing::TestDatabase;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{TestApp, answer, jwt_parts, now};

const ISSUER: &str = "https://auth.example.com";
const AUDIENCE: &str = "https://app.example.com";

async fn app_with(customize: impl FnOnce(&mut auth_server::Settings)) -> TestApp {
    TestApp::spawn(TestDatabase::sqlite(), customize).await
}

/// Access-token claims for user 1, valid for five more minutes.
fn access_claims() -> Value {
    json!({
        "token_type": "access",
        "exp": now() + 300,
        "iat": now() - 60,
        "jti": "0123456789abcdef0123456789abcdef",
        "user_id": "1",
    })
}

fn access_error(message: &str) -> Value {
    json!({
        "detail": "Given token not valid for any token type",
        "code": "token_not_valid",
        "messages": [{"token_class": "AccessToken", "token_type": "access", "message": message}],
    })
}

async fn profile_with(app: &TestApp, token: &str) -> (StatusCode, Value) {
    answer(app.profile(token).await).await
}

#[tokio::test]
async fn a_token_with_a_crit_header_is_invalid() {
    let app = app_with(|_| {}).await;
    app.register("alice").await;
    let mut header = Header::new(Algorithm::HS256);
    header.crit = Some(vec!["exp".to_owned()]);
    let token = app.sign_with_header(&header, &access_claims());
    assert_eq!(
        profile_with(&app, &token).await,
        (StatusCode::UNAUTHORIZED, access_error("Token is invalid"))
    );
    assert_eq!(
        profile_with(&app, &app.sign(&access_claims())).await.0,
        StatusCode::OK,
        "the same claims without crit"
    );

    let mut refresh = access_claims();
    refresh["token_type"] = json!("refresh");
    let token = app.sign_with_header(&header, &refresh);
    let (status, body) = answer(
        app.post_json("/api/auth/refresh/", json!({"refresh": token}))
            .await,
    )
    .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::UNAUTHORIZED,
            json!({"detail": "Token is invalid", "code": "token_not_valid"})
        )
    );
}

#[tokio::test]
async fn with_an_issuer_and_audience_tokens_carry_them_and_must_have_them() {
    let app = app_with(|settings| {
        settings.jwt.issuer = Some(ISSUER.to_owned());
        settings.jwt.audience = Some(AUDIENCE.to_owned());
    })
    .await;
    let tokens = app.register("alice").await;
    for token in [&tokens.access, &tokens.refresh] {
        let (_, claims) = jwt_parts(token);
        assert_eq!(
            (&claims["iss"], &claims["aud"]),
            (&json!(ISSUER), &json!(AUDIENCE))
        );
    }
    assert_eq!(profile_with(&app, &tokens.access).await.0, StatusCode::OK);
    let (status, body) = answer(
        app.post_json("/api/auth/refresh/", json!({"refresh": tokens.refresh}))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let with = |iss: Option<&str>, aud: Option<Value>| {
        let mut claims = access_claims();
        if let Some(iss) = iss {
            claims["iss"] = json!(iss);
        }
        if let Some(aud) = aud {
            claims["aud"] = aud;
        }
        app.sign(&claims)
    };
    let accepted = with(Some(ISSUER), Some(json!(["other", AUDIENCE])));
    assert_eq!(profile_with(&app, &accepted).await.0, StatusCode::OK);
    for (case, token) in [
        ("neither", with(None, None)),
        ("no iss", with(None, Some(json!(AUDIENCE)))),
        ("no aud", with(Some(ISSUER), None)),
        (
            "wrong iss",
            with(Some("https://evil.example"), Some(json!(AUDIENCE))),
        ),
        (
            "wrong aud",
            with(Some(ISSUER), Some(json!("https://evil.example"))),
        ),
    ] {
        assert_eq!(
            profile_with(&app, &token).await,
            (StatusCode::UNAUTHORIZED, access_error("Token is invalid")),
            "{case}"
        );
    }
}

#[tokio::test]
async fn without_an_issuer_or_audience_tokens_carry_neither_and_theirs_are_ignored() {
    let app = app_with(|_| {}).await;
    let tokens = app.register("alice").await;
    let (_, claims) = jwt_parts(&tokens.access);
    assert!(
        claims.get("iss").is_none() && claims.get("aud").is_none(),
        "{claims}"
    );
    let mut foreign = access_claims();
    foreign["iss"] = json!("https://someone-else.example");
    foreign["aud"] = json!("whoever");
    assert_eq!(
        profile_with(&app, &app.sign(&foreign)).await.0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_token_that_just_expired_is_accepted_within_the_leeway_only() {
    let just_expired = || {
        let mut claims = access_claims();
        claims["exp"] = json!(now() - 10);
        claims
    };
    let strict = app_with(|_| {}).await;
    strict.register("alice").await;
    assert_eq!(
        profile_with(&strict, &strict.sign(&just_expired())).await,
        (StatusCode::UNAUTHORIZED, access_error("Token is expired"))
    );

    let lenient = app_with(|settings| settings.jwt.leeway_secs = 60).await;
    lenient.register("alice").await;
    assert_eq!(
        profile_with(&lenient, &lenient.sign(&just_expired()))
            .await
            .0,
        StatusCode::OK
    );
    let mut long_expired = access_claims();
    long_expired["exp"] = json!(now() - 120);
    assert_eq!(
        profile_with(&lenient, &lenient.sign(&long_expired)).await,
        (StatusCode::UNAUTHORIZED, access_error("Token is expired"))
    );
    // An instance whose clock is behind sees the token as issued in the future.
    let mut early = access_claims();
    early["iat"] = json!(now() + 30);
    assert_eq!(
        profile_with(&lenient, &lenient.sign(&early)).await.0,
        StatusCode::OK
    );
    assert_eq!(
        profile_with(&strict, &strict.sign(&early)).await,
        (StatusCode::UNAUTHORIZED, access_error("Token is invalid"))
    );
}
