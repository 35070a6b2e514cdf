//! Abuse protection at the edge: the rates per client address (`THROTTLE_RATES`), the client
//! address behind trusted proxies (`TRUSTED_PROXIES`, `X-Forwarded-For`), the bound on sign-ins
//! waiting for a hash (`MAX_QUEUED_HASHES`) and the switch (`THROTTLE_ENABLED`). The harness
//! starts servers with throttling off; each test here says what it turns on. Behind
//! `TRUSTED_PROXIES=127.0.0.1`, `X-Forwarded-For` plays the client addresses.

use auth_server::Settings;
use http::{ThrottleRates, TrustedProxies};
use persistence::testing::TestDatabase;
use reqwest::{RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};

use crate::support::{PASSWORD, TestApp, answer};

/// Runs `test` once per database on a server whose settings `customize` changed.
macro_rules! with_settings {
    ($test:ident, $customize:expr) => {
        mod $test {
            use super::*;

            #[tokio::test]
            async fn sqlite() {
                super::$test(TestApp::spawn(TestDatabase::sqlite(), $customize).await).await;
            }

            #[tokio::test]
            #[cfg_attr(not(postgres_tests), ignore = "needs TEST_POSTGRES_URL")]
            async fn postgres() {
                if let Some(db) = TestDatabase::postgres() {
                    super::$test(TestApp::spawn(db, $customize).await).await;
                }
            }
        }
    };
}

/// Throttling on with `rates` over the defaults, behind a trusted proxy on 127.0.0.1.
fn behind_a_proxy(rates: &str) -> impl FnOnce(&mut Settings) {
    let rates = ThrottleRates::default().with_overrides(rates).unwrap();
    move |settings| {
        settings.throttle.enabled = true;
        settings.throttle.rates = rates;
        settings.server.trusted_proxies = TrustedProxies::parse(&["127.0.0.1"]).unwrap();
    }
}

/// `request` as if from `client`, through the trusted proxy.
fn from(client: &str, request: RequestBuilder) -> RequestBuilder {
    request.header("X-Forwarded-For", client)
}

/// The `Retry-After` of a response, in seconds.
fn retry_after(response: &Response) -> u64 {
    response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// Asserts a 429 in DRF's words whose wait is within `expected`, and returns the wait.
async fn assert_throttled(response: Response, expected: std::ops::RangeInclusive<u64>) -> u64 {
    let wait = retry_after(&response);
    let (status, body) = answer(response).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert!(expected.contains(&wait), "waits {wait} s");
    let unit = if wait == 1 { "second" } else { "seconds" };
    assert_eq!(
        body,
        json!({"detail": format!("Request was throttled. Expected available in {wait} {unit}.")})
    );
    wait
}

async fn register_from(app: &TestApp, client: &str, username: &str) -> Response {
    from(client, app.post("/api/auth/register/"))
        .json(&TestApp::registration(username))
        .send()
        .await
        .unwrap()
}

async fn log_in_from(app: &TestApp, client: &str, username: &str, password: &str) -> Response {
    from(client, app.post("/api/auth/login/"))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap()
}

async fn refresh_from(app: &TestApp, client: &str, refresh: &str) -> Response {
    from(client, app.post("/api/auth/refresh/"))
        .json(&json!({"refresh": refresh}))
        .send()
        .await
        .unwrap()
}

with_settings!(
    the_eleventh_registration_from_one_address_in_an_hour_is_throttled,
    behind_a_proxy("")
);

async fn the_eleventh_registration_from_one_address_in_an_hour_is_throttled(app: TestApp) {
    for n in 0..10 {
        let response = register_from(&app, "203.0.113.1", &format!("user{n}")).await;
        assert_eq!(response.status(), StatusCode::CREATED, "registration {n}");
    }
    // 10/hour gives one registration back every 6 minutes.
    let refused = register_from(&app, "203.0.113.1", "user10").await;
    assert_throttled(refused, 359..=360).await;
    // Another address registers, even the username the refused request asked for: nothing of
    // the refused request was kept.
    let other = register_from(&app, "203.0.113.2", "user10").await;
    assert_eq!(other.status(), StatusCode::CREATED);
}

with_settings!(
    refreshes_are_throttled_per_address_before_the_body_is_read,
    behind_a_proxy("refresh=3/minute")
);

async fn refreshes_are_throttled_per_address_before_the_body_is_read(app: TestApp) {
    let tokens = app.register("alice").await;
    for _ in 0..3 {
        let response = refresh_from(&app, "203.0.113.1", &tokens.refresh).await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    assert_throttled(
        refresh_from(&app, "203.0.113.1", &tokens.refresh).await,
        19..=20,
    )
    .await;
    // A body that would be a 400 is not even parsed.
    let malformed = from("203.0.113.1", app.post("/api/auth/refresh/"))
        .header("Content-Type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_throttled(malformed, 19..=20).await;
    let other = refresh_from(&app, "203.0.113.2", &tokens.refresh).await;
    assert_eq!(other.status(), StatusCode::OK);
}

with_settings!(
    logins_are_throttled_per_address_whatever_the_password,
    behind_a_proxy("login=3/minute")
);

async fn logins_are_throttled_per_address_whatever_the_password(app: TestApp) {
    app.register("alice").await;
    let wrong = log_in_from(&app, "203.0.113.1", "alice", "wrong-password").await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    for _ in 0..2 {
        let right = log_in_from(&app, "203.0.113.1", "alice", PASSWORD).await;
        assert_eq!(right.status(), StatusCode::OK);
    }
    assert_throttled(
        log_in_from(&app, "203.0.113.1", "alice", PASSWORD).await,
        19..=20,
    )
    .await;
    let malformed = from("203.0.113.1", app.post("/api/auth/login/"))
        .header("Content-Type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_throttled(malformed, 19..=20).await;
    // The same account from another address is not held up.
    let other = log_in_from(&app, "203.0.113.2", "alice", PASSWORD).await;
    assert_eq!(other.status(), StatusCode::OK);
}

with_settings!(
    a_forwarded_for_header_from_an_untrusted_peer_is_ignored,
    |settings: &mut Settings| {
        behind_a_proxy("login=2/minute")(settings);
        settings.server.trusted_proxies = TrustedProxies::default();
    }
);

async fn a_forwarded_for_header_from_an_untrusted_peer_is_ignored(app: TestApp) {
    let tokens = app.register("alice").await;
    // Each request names another client; all come from 127.0.0.1, which is no trusted proxy.
    for client in ["203.0.113.1", "203.0.113.2"] {
        let response = log_in_from(&app, client, "alice", PASSWORD).await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    assert_throttled(
        log_in_from(&app, "203.0.113.3", "alice", PASSWORD).await,
        29..=30,
    )
    .await;
    let listed = sessions(&app, &tokens.access).await;
    assert_eq!(listed.len(), 3);
    assert!(
        listed
            .iter()
            .all(|session| session["ip_address"] == "127.0.0.1"),
        "{listed:?}"
    );
}

with_settings!(
    behind_a_trusted_proxy_sessions_record_the_forwarded_client,
    behind_a_proxy("")
);

async fn behind_a_trusted_proxy_sessions_record_the_forwarded_client(app: TestApp) {
    register_from(&app, "6.6.6.6, 203.0.113.7", "alice").await;
    let (status, tokens) = answer(log_in_from(&app, "2001:db8::5", "alice", PASSWORD).await).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let listed = sessions(&app, tokens["access"].as_str().unwrap()).await;
    let mut addresses: Vec<&str> = listed
        .iter()
        .map(|session| session["ip_address"].as_str().unwrap())
        .collect();
    addresses.sort_unstable();
    assert_eq!(addresses, ["2001:db8::5", "203.0.113.7"]);
}

/// The sessions of the bearer of `access`.
async fn sessions(app: &TestApp, access: &str) -> Vec<Value> {
    let (status, listed) = answer(
        app.get("/api/auth/sessions/")
            .bearer_auth(access)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    listed.as_array().unwrap().clone()
}

with_settings!(
    beyond_the_queued_hashes_a_sign_in_gets_503_at_once,
    |settings: &mut Settings| {
        // One hash at a time (two sign-ins inside their use case), one more waiting. Throttling
        // stays off: the bound is overload protection, not a throttle.
        settings.password.max_concurrent_hashes = 1;
        settings.password.max_queued_hashes = 1;
        settings.throttle.enabled = false;
    }
);

async fn beyond_the_queued_hashes_a_sign_in_gets_503_at_once(app: TestApp) {
    app.register("alice").await;
    let attempts: Vec<_> = (0..40)
        .map(|_| {
            tokio::spawn(
                app.post("/api/auth/login/")
                    .json(&json!({"username": "alice", "password": "wrong-password"}))
                    .send(),
            )
        })
        .collect();
    let (mut refused, mut overloaded) = (0, 0);
    for attempt in attempts {
        let response = attempt.await.unwrap().unwrap();
        let status = response.status();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            assert_eq!(retry_after(&response), 1);
            let (_, body) = answer(response).await;
            assert_eq!(
                body,
                json!({"detail": "Service temporarily unavailable, try again later."})
            );
            overloaded += 1;
        } else {
            assert_eq!(status, StatusCode::UNAUTHORIZED);
            refused += 1;
        }
    }
    assert!(overloaded > 0, "no request was turned away");
    assert!(refused >= 3, "only {refused} passwords were checked");
    // Once the flood is over, sign-ins are served again.
    let after = log_in_from(&app, "203.0.113.1", "alice", PASSWORD).await;
    assert_eq!(after.status(), StatusCode::OK);
}

with_settings!(
    with_throttling_off_nothing_is_throttled,
    |settings: &mut Settings| {
        behind_a_proxy("login=1/minute,register=1/hour,refresh=1/minute")(settings);
        settings.throttle.enabled = false;
    }
);

async fn with_throttling_off_nothing_is_throttled(app: TestApp) {
    let mut tokens = Vec::new();
    for n in 0..3 {
        let (status, body) =
            answer(register_from(&app, "203.0.113.1", &format!("user{n}")).await).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        tokens.push(body["refresh"].as_str().unwrap().to_owned());
    }
    for refresh in &tokens {
        let response = refresh_from(&app, "203.0.113.1", refresh).await;
        assert_eq!(response.status(), StatusCode::OK);
        let response = log_in_from(&app, "203.0.113.1", "user0", PASSWORD).await;
        assert_eq!(response.status(), StatusCode::OK);
    }
}
