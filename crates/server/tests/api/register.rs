use reqwest::StatusCode;
use serde_json::json;

use crate::on_both_databases;
use crate::support::{PASSWORD, TestApp, answer, jwt_parts};

on_both_databases!(
    a_registration_returns_201_with_simplejwt_tokens,
    every_missing_field_is_reported_as_required,
    invalid_fields_get_djangos_messages_all_at_once,
    a_taken_username_and_an_email_taken_in_another_case_are_refused,
    usernames_are_case_sensitive,
    a_username_of_150_characters_is_accepted_and_151_is_not,
    passwords_that_do_not_match_are_refused,
    a_weak_password_lists_every_failed_rule,
    a_password_similar_to_the_email_is_refused,
    a_null_profile_and_a_profile_that_is_not_an_object_are_refused,
    a_registration_without_profile_gets_an_empty_phone,
    a_form_encoded_registration_works,
    a_form_encoded_registration_reads_dotted_profile_keys,
    surrounding_white_space_is_trimmed_from_every_field_including_passwords,
    non_string_values_are_refused_or_converted_like_drf,
);

async fn a_registration_returns_201_with_simplejwt_tokens(app: TestApp) {
    let response = app
        .post_json("/api/auth/register/", TestApp::registration("alice"))
        .await;
    let (status, body) = answer(response).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        body.as_object().unwrap().keys().collect::<Vec<_>>(),
        vec!["refresh", "access"]
    );
    for (field, kind, lifetime) in [("access", "access", 3600), ("refresh", "refresh", 86_400)] {
        let (header, claims) = jwt_parts(body[field].as_str().unwrap());
        assert_eq!(header, json!({"alg": "HS256", "typ": "JWT"}));
        let keys: Vec<_> = claims.as_object().unwrap().keys().cloned().collect();
        // simplejwt's five claims, and the session's id.
        assert_eq!(keys.len(), 6);
        for key in ["token_type", "exp", "iat", "jti", "user_id", "sid"] {
            assert!(
                keys.contains(&key.to_owned()),
                "{key} missing from {claims}"
            );
        }
        assert_eq!(claims["token_type"], kind);
        assert_eq!(claims["user_id"], "1", "user_id is a string");
        let jti = claims["jti"].as_str().unwrap();
        assert!(
            jti.len() == 32
                && jti
                    .chars()
                    .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        assert_eq!(
            claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
            lifetime
        );
    }
    let profile = app.profile(body["access"].as_str().unwrap()).await;
    let (status, profile) = answer(profile).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(profile["user"]["username"], "alice");
    assert_eq!(profile["phone"], "1234567890");
}

async fn every_missing_field_is_reported_as_required(app: TestApp) {
    let (status, body) = answer(app.post_json("/api/auth/register", json!({})).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let required = json!(["This field is required."]);
    assert_eq!(
        body,
        json!({
            "username": required, "email": required, "password": required,
            "password2": required, "first_name": required, "last_name": required,
        })
    );
}

async fn invalid_fields_get_djangos_messages_all_at_once(app: TestApp) {
    let mut registration = TestApp::registration("x");
    registration["username"] = json!("bad name!");
    registration["email"] = json!("not-an-email");
    registration["first_name"] = json!("n".repeat(151));
    registration["password2"] = json!("");
    registration["profile"] = json!({"phone": "1".repeat(21)});
    let (status, body) = answer(app.post_json("/api/auth/register/", registration).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({
            "username": ["Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters."],
            "email": ["Enter a valid email address."],
            "first_name": ["Ensure this field has no more than 150 characters."],
            "password2": ["This field may not be blank."],
            "profile": {"phone": ["Ensure this field has no more than 20 characters."]},
        })
    );
}

async fn a_taken_username_and_an_email_taken_in_another_case_are_refused(app: TestApp) {
    app.register("alice").await;
    let mut again = TestApp::registration("alice");
    again["email"] = json!("ALICE@Example.com");
    let (status, body) = answer(app.post_json("/api/auth/register/", again).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({
            "username": ["A user with that username already exists."],
            "email": ["A user with that email already exists."],
        })
    );
}

async fn usernames_are_case_sensitive(app: TestApp) {
    app.register("alice").await;
    let mut upper = TestApp::registration("Alice");
    upper["email"] = json!("another-alice@example.com");
    let (status, _) = answer(app.post_json("/api/auth/register/", upper).await).await;
    assert_eq!(status, StatusCode::CREATED);
}

async fn a_username_of_150_characters_is_accepted_and_151_is_not(app: TestApp) {
    let long = "a".repeat(146) + "@.+-";
    let mut registration = TestApp::registration("x");
    registration["username"] = json!(long);
    let response = app
        .post_json("/api/auth/register/", registration.clone())
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    registration["username"] = json!("b".repeat(151));
    registration["email"] = json!("other@example.com");
    let (status, body) = answer(app.post_json("/api/auth/register/", registration).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"username": ["Ensure this field has no more than 150 characters."]})
    );
}

async fn passwords_that_do_not_match_are_refused(app: TestApp) {
    let mut registration = TestApp::registration("alice");
    registration["password2"] = json!("another-long-passphrase");
    let (status, body) = answer(app.post_json("/api/auth/register/", registration).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body, json!({"password": ["Password fields didn't match."]}));
}

async fn a_weak_password_lists_every_failed_rule(app: TestApp) {
    let mut registration = TestApp::registration("alice");
    registration["password"] = json!("123");
    registration["password2"] = json!("123");
    let (status, body) = answer(app.post_json("/api/auth/register/", registration).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"password": [
            "This password is too short. It must contain at least 8 characters.",
            "This password is too common.",
            "This password is entirely numeric.",
        ]})
    );
}

async fn a_password_similar_to_the_email_is_refused(app: TestApp) {
    let mut registration = TestApp::registration("zed");
    registration["email"] = json!("wonderland.rabbit@example.com");
    registration["password"] = json!("wonderland.rabbit");
    registration["password2"] = json!("wonderland.rabbit");
    let (status, body) = answer(app.post_json("/api/auth/register/", registration).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"password": ["The password is too similar to the email address."]})
    );
}

async fn a_null_profile_and_a_profile_that_is_not_an_object_are_refused(app: TestApp) {
    let mut registration = TestApp::registration("alice");
    registration["profile"] = json!(null);
    let (status, body) = answer(
        app.post_json("/api/auth/register/", registration.clone())
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body, json!({"profile": ["This field may not be null."]}));
    registration["profile"] = json!("555");
    let (status, body) = answer(app.post_json("/api/auth/register/", registration).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"profile": {"non_field_errors": ["Invalid data. Expected a dictionary, but got str."]}})
    );
}

async fn a_registration_without_profile_gets_an_empty_phone(app: TestApp) {
    let mut registration = TestApp::registration("alice");
    registration.as_object_mut().unwrap().remove("profile");
    registration["first_name"] = json!("");
    registration["last_name"] = json!("");
    let (status, body) = answer(app.post_json("/api/auth/register/", registration).await).await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, profile) = answer(app.profile(body["access"].as_str().unwrap()).await).await;
    assert_eq!(profile["phone"], "");
    assert_eq!(profile["user"]["first_name"], "");
}

async fn a_form_encoded_registration_works(app: TestApp) {
    let response = app
        .post("/api/auth/register/")
        .form(&[
            ("username", "formuser"),
            ("email", "form@example.com"),
            ("password", PASSWORD),
            ("password2", PASSWORD),
            ("first_name", "Form"),
            ("last_name", "User"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
}

async fn a_form_encoded_registration_reads_dotted_profile_keys(app: TestApp) {
    let response = app
        .post("/api/auth/register/")
        .form(&[
            ("username", "formuser"),
            ("email", "form@example.com"),
            ("password", PASSWORD),
            ("password2", PASSWORD),
            ("first_name", "Form"),
            ("last_name", "User"),
            ("profile.phone", "555-0100"),
        ])
        .send()
        .await
        .unwrap();
    let (status, body) = answer(response).await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, profile) = answer(app.profile(body["access"].as_str().unwrap()).await).await;
    assert_eq!(profile["phone"], "555-0100");
}

async fn surrounding_white_space_is_trimmed_from_every_field_including_passwords(app: TestApp) {
    let padded = format!("  {PASSWORD}\t");
    let registration = json!({
        "username": "  spaced  ", "email": " spaced@example.com ", "password": padded,
        "password2": padded, "first_name": " Ann ", "last_name": "", "profile": {"phone": " 42 "},
    });
    let (status, body) = answer(app.post_json("/api/auth/register/", registration).await).await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, profile) = answer(app.profile(body["access"].as_str().unwrap()).await).await;
    assert_eq!(profile["user"]["username"], "spaced");
    assert_eq!(profile["user"]["email"], "spaced@example.com");
    assert_eq!(profile["user"]["first_name"], "Ann");
    assert_eq!(profile["phone"], "42");
    let login = app
        .post_json(
            "/api/auth/login/",
            json!({"username": "spaced", "password": PASSWORD}),
        )
        .await;
    assert_eq!(login.status(), StatusCode::OK);
}

async fn non_string_values_are_refused_or_converted_like_drf(app: TestApp) {
    let mut registration = TestApp::registration("x");
    registration["username"] = json!(12345);
    registration["first_name"] = json!(true);
    registration["last_name"] = json!(["a"]);
    registration["email"] = json!(null);
    let (status, body) = answer(app.post_json("/api/auth/register/", registration).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({
            "email": ["This field may not be null."],
            "first_name": ["Not a valid string."],
            "last_name": ["Not a valid string."],
        })
    );
}
