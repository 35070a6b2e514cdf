//! The optional refresh-token cookie for browser clients.

use persistence::testing::TestDatabase;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, SET_COOKIE};
use serde_json::{Value, json};

use crate::support::{PASSWORD, TestApp, answer};

const ORIGIN: &str = "http://localhost:3000";

async fn with_cookie(db: TestDatabase, debug: bool) -> TestApp {
    TestApp::spawn(db, |settings| {
        settings.security.refresh_cookie = true;
        settings.security.debug = debug;
    })
    .await
}

/// Each test runs on SQLite; the cookie is HTTP-layer behaviour, the same over either database.
async fn app() -> TestApp {
    with_cookie(TestDatabase::sqlite(), true).await
}

fn set_cookie(response: &reqwest::Response) -> String {
    response
        .headers()
        .get(SET_COOKIE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

/// The cookie's value as the browser would send it back.
fn cookie_pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().to_owned()
}

/// A JSON POST from the web app's page, as a browser sends it: with its `Origin`.
async fn post_from_page(app: &TestApp, path: &str, body: Value) -> reqwest::Response {
    app.post(path)
        .header("Origin", ORIGIN)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn log_in(app: &TestApp) -> (Value, String) {
    let registered =
        post_from_page(app, "/api/auth/register/", TestApp::registration("alice")).await;
    assert_eq!(registered.status(), StatusCode::CREATED);
    let response = post_from_page(
        app,
        "/api/auth/login/",
        json!({"username": "alice", "password": PASSWORD}),
    )
    .await;
    let cookie = set_cookie(&response);
    let (status, body) = answer(response).await;
    assert_eq!(status, StatusCode::OK);
    (body, cookie)
}

#[tokio::test]
async fn login_and_register_set_an_http_only_strict_cookie_and_keep_the_body() {
    let app = app().await;
    let registered =
        post_from_page(&app, "/api/auth/register/", TestApp::registration("bob")).await;
    assert!(set_cookie(&registered).starts_with("refresh_token="));
    let (body, cookie) = log_in(&app).await;
    assert_eq!(
        body.as_object().unwrap().keys().collect::<Vec<_>>(),
        vec!["refresh", "access"]
    );
    assert_eq!(
        cookie_pair(&cookie),
        format!("refresh_token={}", body["refresh"].as_str().unwrap())
    );
    for attribute in [
        "HttpOnly",
        "SameSite=Strict",
        "Path=/api/auth",
        "Max-Age=86400",
    ] {
        assert!(
            cookie.contains(attribute),
            "{attribute} missing from {cookie}"
        );
    }
    assert!(!cookie.contains("Secure"), "plain HTTP in debug: {cookie}");
}

#[tokio::test]
async fn a_cross_site_sign_in_is_refused_and_sets_no_cookie() {
    let app = app().await;
    let registered =
        post_from_page(&app, "/api/auth/register/", TestApp::registration("alice")).await;
    assert_eq!(registered.status(), StatusCode::CREATED);
    let json_login = json!({"username": "alice", "password": PASSWORD}).to_string();
    let form_login = format!("username=alice&password={PASSWORD}");
    let mallory = TestApp::registration("mallory").to_string();
    let own_authority = app.address.trim_start_matches("http://").to_owned();
    // The server's own host, reached by another scheme, is another origin.
    let other_schemes =
        ["https", "ftp", "null"].map(|scheme| format!("{scheme}://{own_authority}"));
    let mut attempts = vec![
        (
            "/api/auth/login/",
            Some("http://evil.example"),
            "application/x-www-form-urlencoded",
            form_login.clone(),
        ),
        (
            "/api/auth/login/",
            Some("http://evil.example"),
            "application/json",
            json_login.clone(),
        ),
        (
            "/api/auth/login/",
            None,
            "application/json",
            json_login.clone(),
        ),
        (
            "/api/auth/login/",
            Some(ORIGIN),
            "application/x-www-form-urlencoded",
            form_login,
        ),
        (
            "/api/auth/register/",
            Some("http://evil.example"),
            "application/json",
            mallory,
        ),
    ];
    for origin in &other_schemes {
        attempts.push((
            "/api/auth/login/",
            Some(origin.as_str()),
            "application/json",
            json_login.clone(),
        ));
    }
    for (path, origin, content_type, body) in attempts {
        let mut request = app.post(path).header(CONTENT_TYPE, content_type).body(body);
        if let Some(origin) = origin {
            request = request.header("Origin", origin);
        }
        let response = request.send().await.unwrap();
        assert!(
            set_cookie(&response).is_empty(),
            "{path} {origin:?} {content_type}"
        );
        let (status, body) = answer(response).await;
        assert_eq!(
            status,
            StatusCode::FORBIDDEN,
            "{path} {origin:?} {content_type}"
        );
        assert!(
            body["detail"].as_str().unwrap().starts_with("CSRF Failed"),
            "{body}"
        );
    }
    // The server's own origin, scheme and port included, is trusted like an allowed one.
    let response = app
        .post("/api/auth/login/")
        .header("Origin", app.address.as_str())
        .header(CONTENT_TYPE, "application/json")
        .body(json_login)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(set_cookie(&response).starts_with("refresh_token="));
}

#[tokio::test]
async fn without_the_cookie_a_cross_site_form_login_is_answered_as_before() {
    let app = TestApp::sqlite().await;
    app.register("alice").await;
    let response = app
        .post("/api/auth/login/")
        .header("Origin", "http://evil.example")
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(format!("username=alice&password={PASSWORD}"))
        .send()
        .await
        .unwrap();
    assert!(set_cookie(&response).is_empty());
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "no cookie, nothing to forge"
    );
}

#[tokio::test]
async fn the_cookie_is_secure_when_debug_is_off() {
    let app = with_cookie(TestDatabase::sqlite(), false).await;
    let (_, cookie) = log_in(&app).await;
    assert!(cookie.contains("Secure"), "{cookie}");
}

#[tokio::test]
async fn refresh_accepts_the_cookie_from_an_allowed_origin() {
    let app = app().await;
    let (_, cookie) = log_in(&app).await;
    let response = app
        .post("/api/auth/refresh/")
        .header("Cookie", cookie_pair(&cookie))
        .header("Origin", ORIGIN)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    let (status, body) = answer(response).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body["access"].is_string());
}

#[tokio::test]
async fn refresh_by_cookie_refuses_other_origins_missing_origins_and_form_bodies() {
    let app = app().await;
    let (_, cookie) = log_in(&app).await;
    let attempts = [
        (Some("https://evil.example"), "application/json", "{}"),
        (None, "application/json", "{}"),
        (Some(ORIGIN), "application/x-www-form-urlencoded", "x=1"),
    ];
    for (origin, content_type, body) in attempts {
        let mut request = app
            .post("/api/auth/refresh/")
            .header("Cookie", cookie_pair(&cookie))
            .header(CONTENT_TYPE, content_type)
            .body(body);
        if let Some(origin) = origin {
            request = request.header("Origin", origin);
        }
        let (status, body) = answer(request.send().await.unwrap()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{origin:?} {content_type}");
        assert!(
            body["detail"].as_str().unwrap().starts_with("CSRF Failed"),
            "{body}"
        );
    }
}

#[tokio::test]
async fn a_refresh_in_the_body_wins_over_the_cookie() {
    let app = app().await;
    let (_, cookie) = log_in(&app).await;
    let (status, body) = answer(
        app.post("/api/auth/refresh/")
            .header("Cookie", cookie_pair(&cookie))
            .json(&json!({"refresh": "garbage"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["detail"], "Token is invalid");
}

#[tokio::test]
async fn logout_by_cookie_blacklists_it_and_clears_it() {
    let app = app().await;
    let (body, cookie) = log_in(&app).await;
    let response = app
        .post("/api/auth/logout/")
        .bearer_auth(body["access"].as_str().unwrap())
        .header("Cookie", cookie_pair(&cookie))
        .header("Origin", ORIGIN)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::RESET_CONTENT);
    let cleared = set_cookie(&response);
    assert!(
        cleared.starts_with("refresh_token=;") && cleared.contains("Max-Age=0"),
        "{cleared}"
    );
    let response = app
        .post("/api/auth/refresh/")
        .header("Cookie", cookie_pair(&cookie))
        .header("Origin", ORIGIN)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert!(
        set_cookie(&response).contains("Max-Age=0"),
        "a dead cookie is cleared"
    );
    let (status, body) = answer(response).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        body,
        json!({"detail": "Token is blacklisted", "code": "token_not_valid"})
    );
}

#[tokio::test]
async fn without_the_setting_no_cookie_is_set_or_read() {
    let app = TestApp::sqlite().await;
    app.register("alice").await;
    let response = app
        .post_json(
            "/api/auth/login/",
            json!({"username": "alice", "password": PASSWORD}),
        )
        .await;
    assert!(response.headers().get(SET_COOKIE).is_none());
    let (_, body) = answer(response).await;
    let (status, body) = answer(
        app.post("/api/auth/refresh/")
            .header(
                "Cookie",
                format!("refresh_token={}", body["refresh"].as_str().unwrap()),
            )
            .header("Origin", ORIGIN)
            .json(&json!({}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body, json!({"refresh": ["This field is required."]}));
}
