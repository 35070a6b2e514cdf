//! Sessions, verify and refresh-token rotation, as the API contract's "Beyond the original
//! system" sections describe them.

use auth_server::{Adapters, Application};
use persistence::testing::TestDatabase;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::on_both_databases;
use crate::support::{PASSWORD, TestApp, Tokens, answer, jwt_parts, now};
use crate::with_settings;

on_both_databases!(
    tokens_carry_the_session_and_the_session_is_listed_as_current,
    logout_ends_the_session_and_its_access_tokens_at_once,
    ending_another_session_refuses_its_tokens_at_once,
    a_foreign_unknown_or_malformed_session_is_not_found,
    logout_scope_others_keeps_only_this_session,
    logout_scope_all_ends_every_session_without_a_refresh_token,
    an_unknown_logout_scope_is_a_choice_error,
    verify_accepts_live_tokens_only,
    tokens_without_a_session_keep_working_until_they_expire,
    deactivation_ends_sessions_and_reactivation_does_not_revive_them,
    session_endpoints_are_never_stored,
);

pub async fn log_in(app: &TestApp, username: &str) -> Tokens {
    let (status, body) = answer(
        app.post("/api/auth/login/")
            .header("User-Agent", "session-test/1.0")
            .json(&json!({"username": username, "password": PASSWORD}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    Tokens {
        access: body["access"].as_str().unwrap().to_owned(),
        refresh: body["refresh"].as_str().unwrap().to_owned(),
    }
}

fn sid(token: &str) -> String {
    jwt_parts(token).1["sid"].as_str().unwrap().to_owned()
}

async fn sessions(app: &TestApp, access: &str) -> (StatusCode, Value) {
    answer(
        app.get("/api/auth/sessions/")
            .bearer_auth(access)
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn refresh(app: &TestApp, token: &str) -> (StatusCode, Value) {
    answer(
        app.post_json("/api/auth/refresh/", json!({"refresh": token}))
            .await,
    )
    .await
}

async fn log_out(app: &TestApp, access: &str, body: Value) -> StatusCode {
    app.post("/api/auth/logout/")
        .bearer_auth(access)
        .json(&body)
        .send()
        .await
        .unwrap()
        .status()
}

fn blacklisted_access() -> Value {
    json!({
        "detail": "Given token not valid for any token type",
        "code": "token_not_valid",
        "messages": [{"token_class": "AccessToken", "token_type": "access", "message": "Token is blacklisted"}],
    })
}

fn blacklisted_refresh() -> Value {
    json!({"detail": "Token is blacklisted", "code": "token_not_valid"})
}

async fn assert_ended(app: &TestApp, tokens: &Tokens) {
    let (status, body) = answer(app.profile(&tokens.access).await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body, blacklisted_access());
    assert_eq!(
        refresh(app, &tokens.refresh).await,
        (StatusCode::UNAUTHORIZED, blacklisted_refresh())
    );
}

async fn assert_live(app: &TestApp, tokens: &Tokens) {
    assert_eq!(app.profile(&tokens.access).await.status(), StatusCode::OK);
    assert_eq!(refresh(app, &tokens.refresh).await.0, StatusCode::OK);
}

async fn tokens_carry_the_session_and_the_session_is_listed_as_current(app: TestApp) {
    let registered = app.register("alice").await;
    assert_eq!(sid(&registered.access), sid(&registered.refresh));
    let tokens = log_in(&app, "alice").await;
    assert_eq!(sid(&tokens.access).len(), 32);
    assert_ne!(sid(&tokens.access), sid(&registered.access));
    // A refresh continues the session and moves its last use.
    let (_, refreshed) = refresh(&app, &tokens.refresh).await;
    assert_eq!(
        sid(refreshed["access"].as_str().unwrap()),
        sid(&tokens.access)
    );

    let (status, listed) = sessions(&app, &tokens.access).await;
    assert_eq!(status, StatusCode::OK);
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 2);
    let newest = &listed[0];
    assert_eq!(newest["id"], sid(&tokens.access));
    assert_eq!(newest["current"], true);
    assert_eq!(newest["ip_address"], "127.0.0.1");
    assert_eq!(newest["user_agent"], "session-test/1.0");
    assert_eq!(
        newest.as_object().unwrap().keys().collect::<Vec<_>>(),
        [
            "id",
            "created_at",
            "last_used_at",
            "expires_at",
            "ip_address",
            "user_agent",
            "current"
        ]
    );
    assert!(newest["last_used_at"].as_str() >= newest["created_at"].as_str());
    assert_eq!(listed[1]["id"], sid(&registered.access));
    assert_eq!(listed[1]["current"], false);
}

async fn logout_ends_the_session_and_its_access_tokens_at_once(app: TestApp) {
    app.register("alice").await;
    let tokens = log_in(&app, "alice").await;
    let other = log_in(&app, "alice").await;
    assert_eq!(
        log_out(&app, &tokens.access, json!({"refresh": tokens.refresh})).await,
        StatusCode::RESET_CONTENT
    );
    assert_ended(&app, &tokens).await;
    assert_live(&app, &other).await;
}

async fn ending_another_session_refuses_its_tokens_at_once(app: TestApp) {
    app.register("alice").await;
    let here = log_in(&app, "alice").await;
    let there = log_in(&app, "alice").await;
    let response = app
        .client
        .delete(app.url(&format!("/api/auth/sessions/{}/", sid(&there.access))))
        .bearer_auth(&here.access)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_ended(&app, &there).await;
    assert_live(&app, &here).await;
    let (_, listed) = sessions(&app, &here.access).await;
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["id"] != sid(&there.access))
    );
}

async fn a_foreign_unknown_or_malformed_session_is_not_found(app: TestApp) {
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    for id in [sid(&bob.access), "0".repeat(32), "not-hex".to_owned()] {
        let (status, body) = answer(
            app.client
                .delete(app.url(&format!("/api/auth/sessions/{id}")))
                .bearer_auth(&alice.access)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{id}");
        assert_eq!(body, json!({"detail": "Not found."}));
    }
    assert_live(&app, &bob).await;
}

async fn logout_scope_others_keeps_only_this_session(app: TestApp) {
    app.register("alice").await;
    let here = log_in(&app, "alice").await;
    let there = log_in(&app, "alice").await;
    let third = log_in(&app, "alice").await;
    assert_eq!(
        log_out(&app, &here.access, json!({"scope": "others"})).await,
        StatusCode::RESET_CONTENT
    );
    assert_ended(&app, &there).await;
    assert_ended(&app, &third).await;
    assert_live(&app, &here).await;
    // Given this device's refresh token (as a browser sends its cookie), the token only names the
    // session to keep: it stays valid.
    let fourth = log_in(&app, "alice").await;
    assert_eq!(
        log_out(
            &app,
            &here.access,
            json!({"scope": "others", "refresh": here.refresh})
        )
        .await,
        StatusCode::RESET_CONTENT
    );
    assert_ended(&app, &fourth).await;
    assert_live(&app, &here).await;
}

async fn logout_scope_all_ends_every_session_without_a_refresh_token(app: TestApp) {
    let first = app.register("alice").await;
    let second = log_in(&app, "alice").await;
    assert_eq!(
        log_out(&app, &second.access, json!({"scope": "all"})).await,
        StatusCode::RESET_CONTENT
    );
    assert_ended(&app, &first).await;
    assert_ended(&app, &second).await;
}

async fn an_unknown_logout_scope_is_a_choice_error(app: TestApp) {
    let tokens = app.register("alice").await;
    let (status, body) = answer(
        app.post("/api/auth/logout/")
            .bearer_auth(&tokens.access)
            .json(&json!({"scope": "everywhere", "refresh": tokens.refresh}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"scope": ["\"everywhere\" is not a valid choice."]})
    );
    assert_live(&app, &tokens).await;
}

async fn verify(app: &TestApp, body: Value) -> (StatusCode, Value) {
    answer(app.post_json("/api/auth/verify/", body).await).await
}

async fn verify_accepts_live_tokens_only(app: TestApp) {
    let tokens = app.register("alice").await;
    for token in [&tokens.access, &tokens.refresh] {
        assert_eq!(
            verify(&app, json!({"token": token})).await,
            (StatusCode::OK, json!({}))
        );
    }
    assert_eq!(
        verify(&app, json!({})).await,
        (
            StatusCode::BAD_REQUEST,
            json!({"token": ["This field is required."]})
        )
    );
    assert_eq!(
        verify(&app, json!({"token": "garbage"})).await,
        (
            StatusCode::UNAUTHORIZED,
            json!({"detail": "Token is invalid", "code": "token_not_valid"})
        )
    );
    let mut expired = jwt_parts(&tokens.access).1;
    expired["exp"] = json!(now() - 1);
    assert_eq!(
        verify(&app, json!({"token": app.sign(&expired)})).await.1["detail"],
        "Token is expired"
    );
    log_out(&app, &tokens.access, json!({"refresh": tokens.refresh})).await;
    for token in [&tokens.access, &tokens.refresh] {
        assert_eq!(
            verify(&app, json!({"token": token})).await,
            (StatusCode::UNAUTHORIZED, blacklisted_refresh())
        );
    }
}

async fn tokens_without_a_session_keep_working_until_they_expire(app: TestApp) {
    let tokens = app.register("alice").await;
    let strip = |token: &str| {
        let mut claims = jwt_parts(token).1;
        claims.as_object_mut().unwrap().remove("sid");
        app.sign(&claims)
    };
    let (legacy_access, legacy_refresh) = (strip(&tokens.access), strip(&tokens.refresh));
    assert_eq!(app.profile(&legacy_access).await.status(), StatusCode::OK);
    let (status, body) = refresh(&app, &legacy_refresh).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["access"]
    );
    assert!(
        jwt_parts(body["access"].as_str().unwrap())
            .1
            .get("sid")
            .is_none()
    );
}

async fn deactivation_ends_sessions_and_reactivation_does_not_revive_them(app: TestApp) {
    let tokens = app.register("alice").await;
    let adapters = Adapters::build(&app.settings).unwrap();
    let set_active = adapters.set_user_active();
    assert!(
        tokio::task::spawn_blocking({
            let set_active = set_active.clone();
            move || set_active.execute("alice", false).unwrap()
        })
        .await
        .unwrap()
    );
    let (status, body) = answer(app.profile(&tokens.access).await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["code"], "user_inactive");
    assert!(
        tokio::task::spawn_blocking(move || set_active.execute("alice", true).unwrap())
            .await
            .unwrap()
    );
    assert_ended(&app, &tokens).await;
    // Signing in again works and starts a new session.
    assert_live(&app, &log_in(&app, "alice").await).await;
}

with_settings!(
    starting_a_session_beyond_the_cap_ends_the_least_recently_used,
    |settings| {
        settings.sessions.max_per_user = 2;
        // A rotating refresh always records its use; without rotation a use within a second of
        // the last is not written.
        settings.sessions.rotate_refresh_tokens = true;
    }
);

async fn starting_a_session_beyond_the_cap_ends_the_least_recently_used(app: TestApp) {
    let oldest = app.register("alice").await;
    let middle = log_in(&app, "alice").await;
    // Using the oldest makes the middle one the least recently used.
    assert_eq!(refresh(&app, &oldest.refresh).await.0, StatusCode::OK);
    let newest = log_in(&app, "alice").await;
    assert_ended(&app, &middle).await;
    assert_live(&app, &oldest).await;
    assert_live(&app, &newest).await;
}

async fn session_endpoints_are_never_stored(app: TestApp) {
    let tokens = app.register("alice").await;
    let listed = app
        .get("/api/auth/sessions")
        .bearer_auth(&tokens.access)
        .send()
        .await
        .unwrap();
    let verified = app
        .post_json("/api/auth/verify", json!({"token": tokens.access}))
        .await;
    for response in [listed, verified] {
        assert_eq!(
            response.headers()["cache-control"],
            "no-store",
            "{}",
            response.url()
        );
    }
}

/// A second server over the same PostgreSQL database, as behind a load balancer.
#[tokio::test]
#[cfg_attr(not(postgres_tests), ignore = "needs TEST_POSTGRES_URL")]
async fn a_session_ended_through_one_instance_is_refused_by_another() {
    let Some(db) = TestDatabase::postgres() else {
        return;
    };
    let first = TestApp::spawn(db, |_| {}).await;
    let second = Application::build(&first.settings).unwrap();
    let second_url = format!("http://127.0.0.1:{}", second.port());
    let second_handle = second.handle();
    tokio::spawn(second.run());

    let tokens = first.register("alice").await;
    let profile_on_second = || {
        first
            .client
            .get(format!("{second_url}/api/auth/profile/"))
            .bearer_auth(&tokens.access)
            .send()
    };
    assert_eq!(profile_on_second().await.unwrap().status(), StatusCode::OK);
    assert_eq!(
        log_out(&first, &tokens.access, json!({"refresh": tokens.refresh})).await,
        StatusCode::RESET_CONTENT
    );
    let (status, body) = answer(profile_on_second().await.unwrap()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body, blacklisted_access());
    drop(second_handle.stop(false));
}

fn rotating(settings: &mut auth_server::Settings) {
    settings.sessions.rotate_refresh_tokens = true;
}

with_settings!(with_rotation_a_refresh_hands_out_a_successor_once, rotating);
with_settings!(
    concurrent_refreshes_of_one_token_agree_on_one_successor,
    rotating
);
with_settings!(a_reuse_after_the_interval_ends_the_session, |settings| {
    settings.sessions.rotate_refresh_tokens = true;
    settings.sessions.refresh_token_reuse_interval_secs = 0;
});
with_settings!(
    no_refresh_token_outlives_the_sessions_lifetime,
    |settings| {
        settings.sessions.rotate_refresh_tokens = true;
        settings.sessions.max_lifetime_secs = 600;
    }
);

async fn with_rotation_a_refresh_hands_out_a_successor_once(app: TestApp) {
    let tokens = app.register("alice").await;
    let (status, first) = refresh(&app, &tokens.refresh).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        first.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["access", "refresh"]
    );
    let successor = first["refresh"].as_str().unwrap();
    assert_ne!(successor, tokens.refresh);
    assert_eq!(sid(successor), sid(&tokens.refresh));
    // Within the reuse interval the spent token gets the same successor, byte for byte.
    let (status, again) = refresh(&app, &tokens.refresh).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["refresh"], first["refresh"]);
    // The successor continues the session.
    let (status, next) = refresh(&app, successor).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(sid(next["access"].as_str().unwrap()), sid(&tokens.access));
}

async fn concurrent_refreshes_of_one_token_agree_on_one_successor(app: TestApp) {
    let tokens = app.register("alice").await;
    let mut attempts = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let request = app
            .post("/api/auth/refresh/")
            .json(&json!({"refresh": tokens.refresh}));
        attempts.spawn(async move { answer(request.send().await.unwrap()).await });
    }
    let answers = attempts.join_all().await;
    let successors: std::collections::BTreeSet<String> = answers
        .iter()
        .map(|(status, body)| {
            assert_eq!(*status, StatusCode::OK, "{body}");
            body["refresh"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(successors.len(), 1, "{successors:?}");
}

async fn a_reuse_after_the_interval_ends_the_session(app: TestApp) {
    let tokens = app.register("alice").await;
    let (_, first) = refresh(&app, &tokens.refresh).await;
    let successor = Tokens {
        access: first["access"].as_str().unwrap().to_owned(),
        refresh: first["refresh"].as_str().unwrap().to_owned(),
    };
    // With an interval of 0 any later presentation is a reuse.
    assert_eq!(
        refresh(&app, &tokens.refresh).await,
        (StatusCode::UNAUTHORIZED, blacklisted_refresh())
    );
    // The reuse ended the whole session: the successor and its access token are refused too.
    assert_ended(&app, &successor).await;
}

async fn no_refresh_token_outlives_the_sessions_lifetime(app: TestApp) {
    let tokens = app.register("alice").await;
    let (_, first) = refresh(&app, &tokens.refresh).await;
    for token in [&tokens.refresh, first["refresh"].as_str().unwrap()] {
        let claims = jwt_parts(token).1;
        let lifetime = claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap();
        assert!(lifetime <= 600, "{claims}");
    }
}

with_settings!(ended_sessions_are_pruned_by_the_server_itself, |settings| {
    settings.sessions.prune_interval_secs = 1
});

async fn ended_sessions_are_pruned_by_the_server_itself(app: TestApp) {
    let ended = app.register("alice").await;
    let kept = log_in(&app, "alice").await;
    log_out(&app, &ended.access, json!({"refresh": ended.refresh})).await;
    let session_ids = || {
        app.db
            .query_text("SELECT id AS value FROM sessions")
            .unwrap()
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
    };
    // The pruner runs every second; give it a few passes.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while session_ids().len() > 1 {
        assert!(
            std::time::Instant::now() < deadline,
            "not pruned: {:?}",
            session_ids()
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(session_ids(), [sid(&kept.access)]);
    // A pruned session's tokens stay refused.
    assert_ended(&app, &ended).await;
}
