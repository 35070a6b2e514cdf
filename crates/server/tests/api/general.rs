use reqwest::StatusCode;
use reqwest::header::{ALLOW, CONTENT_TYPE};
use serde_json::json;

use crate::on_both_databases;
use crate::support::{TestApp, answer};

on_both_databases!(
    every_endpoint_answers_with_and_without_a_trailing_slash,
    a_wrong_method_is_405_with_allow,
    a_wrong_method_on_a_protected_endpoint_checks_credentials_first,
    an_unsupported_content_type_is_415,
    malformed_json_is_a_parse_error,
    a_json_value_that_is_not_an_object_is_refused,
    an_empty_body_counts_as_an_empty_object,
    responses_carry_the_security_headers,
    unknown_paths_answer_json_404,
    a_host_that_is_not_allowed_is_a_json_400,
    an_allowed_origin_gets_cors_headers_on_preflight_and_on_errors,
    another_origin_gets_no_cors_headers,
    health_and_readiness_answer_ok,
    an_oversized_body_is_refused,
    a_nul_character_is_a_field_error_not_a_server_error,
    a_body_without_a_content_type_is_415,
    every_endpoint_response_names_its_methods_in_allow,
    error_bodies_keep_drfs_key_order,
    the_host_check_comes_before_cors,
    token_and_authenticated_responses_are_never_stored,
);

/// The names in a comma-separated header, lower-cased and sorted: their order is not part of
/// the contract.
fn names(response: &reqwest::Response, header: &str) -> Vec<String> {
    let mut names: Vec<String> = response.headers()[header]
        .to_str()
        .unwrap()
        .split(',')
        .map(|name| name.trim().to_ascii_lowercase())
        .collect();
    names.sort();
    names
}

async fn a_nul_character_is_a_field_error_not_a_server_error(app: TestApp) {
    let (status, body) = answer(
        app.post_json(
            "/api/auth/login/",
            json!({"username": "a\u{0}b", "password": "x"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"username": ["Null characters are not allowed."]})
    );
}

async fn a_body_without_a_content_type_is_415(app: TestApp) {
    let (status, body) = answer(
        app.post("/api/auth/login/")
            .body("{}")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(
        body,
        json!({"detail": "Unsupported media type \"\" in request."})
    );
}

async fn every_endpoint_response_names_its_methods_in_allow(app: TestApp) {
    let health = app.get("/health").send().await.unwrap();
    assert_eq!(health.headers()[ALLOW], "GET, HEAD, OPTIONS");
    let head = app.client.head(app.url("/health")).send().await.unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    let login = app.post_json("/api/auth/login/", json!({})).await;
    assert_eq!(login.status(), StatusCode::BAD_REQUEST);
    assert_eq!(login.headers()[ALLOW], "POST, OPTIONS");
    let options = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/api/auth/refresh/"))
        .send()
        .await
        .unwrap();
    assert_eq!(options.status(), StatusCode::OK);
    assert_eq!(options.headers()[ALLOW], "POST, OPTIONS");
}

async fn error_bodies_keep_drfs_key_order(app: TestApp) {
    let response = app
        .get("/api/auth/profile/")
        .bearer_auth("garbage")
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.text().await.unwrap(),
        r#"{"detail":"Given token not valid for any token type","code":"token_not_valid","messages":[{"token_class":"AccessToken","token_type":"access","message":"Token is invalid"}]}"#
    );
    let response = app.post_json("/api/auth/login/", json!({})).await;
    assert_eq!(
        response.text().await.unwrap(),
        r#"{"username":["This field is required."],"password":["This field is required."]}"#
    );
}

async fn every_endpoint_answers_with_and_without_a_trailing_slash(app: TestApp) {
    for path in [
        "/api/auth/register",
        "/api/auth/login",
        "/api/auth/refresh",
        "/api/auth/logout",
    ] {
        for path in [path.to_owned(), format!("{path}/")] {
            let status = app.post_json(&path, json!({})).await.status();
            assert!(
                status == StatusCode::BAD_REQUEST || status == StatusCode::UNAUTHORIZED,
                "{path}: {status}"
            );
        }
    }
    for path in ["/api/auth/profile", "/api/auth/profile/"] {
        assert_eq!(
            app.get(path).send().await.unwrap().status(),
            StatusCode::UNAUTHORIZED
        );
    }
}

async fn a_wrong_method_is_405_with_allow(app: TestApp) {
    let response = app.get("/api/auth/register/").send().await.unwrap();
    assert_eq!(response.headers().get(ALLOW).unwrap(), "POST, OPTIONS");
    let (status, body) = answer(response).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(body, json!({"detail": "Method \"GET\" not allowed."}));
}

async fn a_wrong_method_on_a_protected_endpoint_checks_credentials_first(app: TestApp) {
    let response = app
        .client
        .delete(app.url("/api/auth/profile/"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let tokens = app.register("alice").await;
    let response = app
        .client
        .delete(app.url("/api/auth/profile/"))
        .bearer_auth(&tokens.access)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers().get(ALLOW).unwrap(),
        "GET, PUT, PATCH, HEAD, OPTIONS"
    );
    let (status, body) = answer(response).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(body, json!({"detail": "Method \"DELETE\" not allowed."}));
    let response = app
        .get("/api/auth/logout/")
        .bearer_auth(&tokens.access)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
}

async fn an_unsupported_content_type_is_415(app: TestApp) {
    let response = app
        .post("/api/auth/login/")
        .header(CONTENT_TYPE, "text/plain")
        .body("username=alice")
        .send()
        .await
        .unwrap();
    let (status, body) = answer(response).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(
        body,
        json!({"detail": "Unsupported media type \"text/plain\" in request."})
    );
}

async fn malformed_json_is_a_parse_error(app: TestApp) {
    let response = app
        .post("/api/auth/login/")
        .header(CONTENT_TYPE, "application/json")
        .body("{\"username\": ")
        .send()
        .await
        .unwrap();
    let (status, body) = answer(response).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .starts_with("JSON parse error - "),
        "{body}"
    );
}

async fn a_json_value_that_is_not_an_object_is_refused(app: TestApp) {
    let (status, body) = answer(app.post_json("/api/auth/register/", json!(["alice"])).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]})
    );
}

async fn an_empty_body_counts_as_an_empty_object(app: TestApp) {
    let response = app
        .post("/api/auth/refresh/")
        .header(CONTENT_TYPE, "application/json")
        .send()
        .await
        .unwrap();
    let (status, body) = answer(response).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body, json!({"refresh": ["This field is required."]}));
}

async fn responses_carry_the_security_headers(app: TestApp) {
    for response in [
        app.get("/health").send().await.unwrap(),
        app.get("/api/auth/profile/").send().await.unwrap(),
        app.get("/nowhere").send().await.unwrap(),
    ] {
        let headers = response.headers();
        assert_eq!(headers["x-frame-options"], "DENY");
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(headers["referrer-policy"], "same-origin");
        assert_eq!(headers["cross-origin-opener-policy"], "same-origin");
        assert_eq!(headers[CONTENT_TYPE], "application/json");
    }
}

async fn unknown_paths_answer_json_404(app: TestApp) {
    let (status, body) = answer(app.get("/api/auth/nothing-here").send().await.unwrap()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body, json!({"detail": "Not found."}));
}

async fn a_host_that_is_not_allowed_is_a_json_400(app: TestApp) {
    let response = app
        .get("/health")
        .header("Host", "evil.example")
        .send()
        .await
        .unwrap();
    let (status, body) = answer(response).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body, json!({"detail": "Bad request."}));
}

async fn an_allowed_origin_gets_cors_headers_on_preflight_and_on_errors(app: TestApp) {
    let origin = "http://localhost:3000";
    let preflight = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/api/auth/login/"))
        .header("Origin", origin)
        .header("Access-Control-Request-Method", "POST")
        .header(
            "Access-Control-Request-Headers",
            "content-type, authorization",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), StatusCode::OK);
    let headers = preflight.headers();
    assert_eq!(headers["access-control-allow-origin"], origin);
    assert_eq!(headers["access-control-max-age"], "86400");
    assert_eq!(
        names(&preflight, "access-control-allow-methods"),
        ["delete", "get", "options", "patch", "post", "put"]
    );
    assert_eq!(
        names(&preflight, "access-control-allow-headers"),
        [
            "accept",
            "authorization",
            "content-type",
            "user-agent",
            "x-csrftoken",
            "x-requested-with"
        ]
    );
    assert!(headers.get("access-control-allow-credentials").is_none());

    let error = app
        .post("/api/auth/login/")
        .header("Origin", origin)
        .json(&json!({"username": "x", "password": "y"}))
        .send()
        .await
        .unwrap();
    assert_eq!(error.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error.headers()["access-control-allow-origin"], origin);
    assert!(
        error.headers()["vary"]
            .to_str()
            .unwrap()
            .to_ascii_lowercase()
            .contains("origin")
    );
}

async fn another_origin_gets_no_cors_headers(app: TestApp) {
    let preflight = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/api/auth/login/"))
        .header("Origin", "https://evil.example")
        .header("Access-Control-Request-Method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), StatusCode::OK, "refused, yet a 2xx");
    assert!(
        preflight
            .headers()
            .keys()
            .all(|name| !name.as_str().starts_with("access-control-"))
    );
    let response = app
        .post("/api/auth/login/")
        .header("Origin", "https://evil.example")
        .json(&json!({"username": "x", "password": "y"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::UNAUTHORIZED,
        "the request itself is still answered"
    );
    assert!(
        response
            .headers()
            .keys()
            .all(|name| !name.as_str().starts_with("access-control-"))
    );
}

async fn health_and_readiness_answer_ok(app: TestApp) {
    for path in ["/health", "/ready"] {
        let (status, body) = answer(app.get(path).send().await.unwrap()).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(body, json!({"status": "ok"}));
    }
}

async fn an_oversized_body_is_refused(app: TestApp) {
    let huge = "x".repeat(app.settings.server.max_body_bytes + 1);
    let (status, body) = answer(
        app.post_json("/api/auth/login/", json!({"username": huge}))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body, json!({"detail": "Request body is too large."}));
}

async fn the_host_check_comes_before_cors(app: TestApp) {
    let preflight = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/api/auth/login/"))
        .header("Host", "evil.com")
        .header("Origin", "http://localhost:3000")
        .header("Access-Control-Request-Method", "POST")
        .send()
        .await
        .unwrap();
    assert!(
        preflight
            .headers()
            .keys()
            .all(|name| !name.as_str().starts_with("access-control-")),
        "{:?}",
        preflight.headers()
    );
    let (status, body) = answer(preflight).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body, json!({"detail": "Bad request."}));
}

async fn token_and_authenticated_responses_are_never_stored(app: TestApp) {
    let tokens = app.register("alice").await;
    let no_store = |response: &reqwest::Response| {
        response
            .headers()
            .get("cache-control")
            .and_then(|value| value.to_str().ok())
            == Some("no-store")
    };
    let responses = [
        app.post_json("/api/auth/register/", TestApp::registration("bob"))
            .await,
        app.post_json(
            "/api/auth/login/",
            json!({"username": "alice", "password": crate::support::PASSWORD}),
        )
        .await,
        app.post_json("/api/auth/refresh/", json!({"refresh": tokens.refresh}))
            .await,
        app.profile(&tokens.access).await,
        app.client
            .patch(app.url("/api/auth/profile/"))
            .bearer_auth(&tokens.access)
            .json(&json!({"phone": "555"}))
            .send()
            .await
            .unwrap(),
        app.post("/api/auth/logout/")
            .bearer_auth(&tokens.access)
            .json(&json!({"refresh": tokens.refresh}))
            .send()
            .await
            .unwrap(),
        // Refusals of those endpoints too: they answer a request that carried a secret.
        app.post_json(
            "/api/auth/login/",
            json!({"username": "alice", "password": "wrong"}),
        )
        .await,
    ];
    for response in &responses {
        assert!(response.status().as_u16() < 500, "{}", response.url());
        assert!(
            no_store(response),
            "{} {:?}",
            response.url(),
            response.headers()
        );
    }
    assert!(!no_store(&app.get("/health").send().await.unwrap()));
}
