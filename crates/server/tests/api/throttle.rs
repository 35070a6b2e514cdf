//! Abuse protection at the edge: the rates per client address (`THROTTLE_RATES`), the client
//! address behind trusted proxies (`TRUSTED_PROXIES`, `X-Forwarded-For`), the bound on sign-ins
//! waiting for a hash (`MAX_QUEUED_HASHES`) and the switch (`THROTTLE_ENABLED`). The harness
//! starts servers with throttling off; each test here says what it turns on. Behind
//! `TRUSTED_PROXIES=127.0.0.1`, `X-Forwarded-For` plays the client addresses.

use auth_server::Settings;
use http::{ThrottleRates, TrustedProxies};
use persistence::testing::TestDatabase;
use reqwest::{RequestBuilder, Response, StatusCode};
use secrecy::ExposeSecret;
use serde_json::{Value, json};

use crate::support::{PASSWORD, TestApp, answer};
use crate::with_settings;

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

// The login back-off, per client address and username, kept in the database. The per-address
// `login` rate is set far above what these tests send, so only the back-off answers 429.

/// Throttling on behind the trusted proxy, with a `login` rate that never interferes.
fn backing_off(settings: &mut Settings) {
    behind_a_proxy("login=10000/minute")(settings);
}

const WRONG: &str = "wrong-password";

/// What a client can see of a login's answer: status, body and the headers that differ.
#[derive(Debug, PartialEq, Eq)]
struct Seen {
    status: StatusCode,
    body: Value,
    retry_after: Option<String>,
    www_authenticate: Option<String>,
}

async fn seen(response: Response) -> Seen {
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|value| value.to_str().unwrap().to_owned())
    };
    let (retry_after, www_authenticate) = (header("retry-after"), header("www-authenticate"));
    let (status, body) = answer(response).await;
    Seen {
        status,
        body,
        retry_after,
        www_authenticate,
    }
}

/// Five wrong passwords from `client`, each an ordinary 401.
async fn five_failures(app: &TestApp, client: &str, username: &str) {
    for n in 1..=5 {
        let response = log_in_from(app, client, username, WRONG).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "failure {n}");
    }
}

/// Sleeps until a wait of `secs` whole seconds that began just now has surely passed.
async fn wait_out(secs: u64) {
    tokio::time::sleep(std::time::Duration::from_millis(secs * 1000 + 100)).await;
}

with_settings!(
    the_sixth_failure_is_throttled_and_each_further_failure_doubles_the_wait,
    backing_off
);

async fn the_sixth_failure_is_throttled_and_each_further_failure_doubles_the_wait(app: TestApp) {
    app.register("alice").await;
    five_failures(&app, "203.0.113.1", "alice").await;
    let sixth = log_in_from(&app, "203.0.113.1", "alice", WRONG).await;
    assert_eq!(retry_after(&sixth), 1);
    let (status, body) = answer(sixth).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        body,
        json!({"detail": "Request was throttled. Expected available in 1 second."})
    );
    wait_out(1).await;
    let checked = log_in_from(&app, "203.0.113.1", "alice", WRONG).await;
    assert_eq!(checked.status(), StatusCode::UNAUTHORIZED);
    let next = log_in_from(&app, "203.0.113.1", "alice", WRONG).await;
    assert_eq!(assert_throttled(next, 2..=2).await, 2);
}

with_settings!(
    the_right_password_while_throttled_is_refused_without_a_hash,
    backing_off
);

async fn the_right_password_while_throttled_is_refused_without_a_hash(app: TestApp) {
    app.register("alice").await;
    five_failures(&app, "203.0.113.1", "alice").await;
    /// The median time of seven logins of alice, the `n`th from `client(n)`, and their
    /// answers. The median keeps a request that a busy machine happened to delay from deciding
    /// the test.
    async fn timed(
        app: &TestApp,
        client: impl Fn(usize) -> String,
        password: &str,
    ) -> (f64, Vec<StatusCode>) {
        let mut millis = Vec::new();
        let mut statuses = Vec::new();
        for n in 0..7 {
            let started = std::time::Instant::now();
            let response = log_in_from(app, &client(n), "alice", password).await;
            millis.push(started.elapsed().as_secs_f64() * 1000.0);
            statuses.push(response.status());
        }
        millis.sort_by(f64::total_cmp);
        (millis[3], statuses)
    }
    let (throttled_ms, statuses) = timed(&app, |_| "203.0.113.1".into(), PASSWORD).await;
    assert!(
        statuses.iter().all(|s| *s == StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    // Wrong passwords checked from other addresses cost a hash each, for comparison.
    let (hashed_ms, statuses) = timed(&app, |n| format!("198.51.100.{n}"), WRONG).await;
    assert!(
        statuses.iter().all(|s| *s == StatusCode::UNAUTHORIZED),
        "{statuses:?}"
    );
    let database = app.settings.database.url.expose_secret();
    let database = database.split(':').next().unwrap_or_default();
    println!(
        "median login ({database}): throttled {throttled_ms:.2} ms, with a hash {hashed_ms:.2} ms"
    );
    assert!(
        throttled_ms < 5.0,
        "a throttled login took {throttled_ms:.2} ms (median); one with a hash {hashed_ms:.2} ms"
    );
    assert!(
        hashed_ms > throttled_ms,
        "a checked password ({hashed_ms:.2} ms) should cost more than a throttled one"
    );
}

with_settings!(
    another_address_signs_in_while_the_first_is_throttled,
    backing_off
);

async fn another_address_signs_in_while_the_first_is_throttled(app: TestApp) {
    app.register("alice").await;
    five_failures(&app, "203.0.113.1", "alice").await;
    assert_throttled(
        log_in_from(&app, "203.0.113.1", "alice", PASSWORD).await,
        1..=1,
    )
    .await;
    let (status, body) = answer(log_in_from(&app, "198.51.100.7", "alice", PASSWORD).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Signing in elsewhere does not release the first address.
    assert_throttled(
        log_in_from(&app, "203.0.113.1", "alice", PASSWORD).await,
        1..=1,
    )
    .await;
}

with_settings!(
    unknown_and_real_usernames_are_throttled_identically,
    backing_off
);

async fn unknown_and_real_usernames_are_throttled_identically(app: TestApp) {
    app.register("alice").await;
    let mut alice = Vec::new();
    let mut nobody = Vec::new();
    // Interleaved, so one wait serves both.
    let step = async |alice: &mut Vec<Seen>, nobody: &mut Vec<Seen>| {
        alice.push(seen(log_in_from(&app, "203.0.113.1", "alice", WRONG).await).await);
        nobody.push(seen(log_in_from(&app, "203.0.113.2", "nobody", WRONG).await).await);
    };
    for _ in 0..6 {
        step(&mut alice, &mut nobody).await;
    }
    wait_out(1).await;
    for _ in 0..2 {
        step(&mut alice, &mut nobody).await;
    }
    assert_eq!(alice, nobody);
    let statuses: Vec<u16> = alice.iter().map(|seen| seen.status.as_u16()).collect();
    assert_eq!(statuses, [401, 401, 401, 401, 401, 429, 401, 429]);
    let waits: Vec<Option<&str>> = alice
        .iter()
        .map(|seen| seen.retry_after.as_deref())
        .collect();
    assert_eq!(
        waits,
        [None, None, None, None, None, Some("1"), None, Some("2")]
    );
}

with_settings!(a_success_resets_the_count_of_failures, backing_off);

async fn a_success_resets_the_count_of_failures(app: TestApp) {
    app.register("alice").await;
    for _ in 0..4 {
        let response = log_in_from(&app, "203.0.113.1", "alice", WRONG).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let success = log_in_from(&app, "203.0.113.1", "alice", PASSWORD).await;
    assert_eq!(success.status(), StatusCode::OK);
    // Five free failures again, not one.
    five_failures(&app, "203.0.113.1", "alice").await;
    assert_throttled(
        log_in_from(&app, "203.0.113.1", "alice", WRONG).await,
        1..=1,
    )
    .await;
}

with_settings!(ipv6_clients_of_one_64_network_share_a_back_off, backing_off);

async fn ipv6_clients_of_one_64_network_share_a_back_off(app: TestApp) {
    app.register("alice").await;
    for n in 1..=5 {
        let client = format!("2001:db8:1:2::{n}");
        let response = log_in_from(&app, &client, "alice", WRONG).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "failure {n}");
    }
    assert_throttled(
        log_in_from(&app, "2001:db8:1:2:ffff::6", "alice", PASSWORD).await,
        1..=1,
    )
    .await;
    let neighbour = log_in_from(&app, "2001:db8:1:3::1", "alice", PASSWORD).await;
    assert_eq!(neighbour.status(), StatusCode::OK);
}

/// A second server over the same PostgreSQL database, as behind a load balancer.
#[tokio::test]
#[cfg_attr(not(postgres_tests), ignore = "needs TEST_POSTGRES_URL")]
async fn two_instances_on_one_database_share_an_accounts_back_off() {
    let Some(db) = TestDatabase::postgres() else {
        return;
    };
    let first = TestApp::spawn(db, backing_off).await;
    let second = auth_server::Application::build(&first.settings).unwrap();
    let second_url = format!("http://127.0.0.1:{}", second.port());
    let second_handle = second.handle();
    tokio::spawn(second.run());
    let on_second = |password: &str| {
        from(
            "203.0.113.1",
            first.client.post(format!("{second_url}/api/auth/login/")),
        )
        .json(&json!({"username": "alice", "password": password}))
        .send()
    };

    first.register("alice").await;
    for n in 1..=3 {
        let response = log_in_from(&first, "203.0.113.1", "alice", WRONG).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "failure {n}");
    }
    for n in 4..=5 {
        let response = on_second(WRONG).await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "failure {n}");
    }
    assert_throttled(on_second(PASSWORD).await.unwrap(), 1..=1).await;
    assert_throttled(
        log_in_from(&first, "203.0.113.1", "alice", PASSWORD).await,
        1..=1,
    )
    .await;
    drop(second_handle.stop(false));
}

with_settings!(
    with_throttling_off_the_sixth_failure_is_an_ordinary_401,
    |settings: &mut Settings| {
        backing_off(settings);
        settings.throttle.enabled = false;
    }
);

async fn with_throttling_off_the_sixth_failure_is_an_ordinary_401(app: TestApp) {
    app.register("alice").await;
    five_failures(&app, "203.0.113.1", "alice").await;
    for _ in 0..3 {
        let response = log_in_from(&app, "203.0.113.1", "alice", WRONG).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let right = log_in_from(&app, "203.0.113.1", "alice", PASSWORD).await;
    assert_eq!(right.status(), StatusCode::OK);
}
