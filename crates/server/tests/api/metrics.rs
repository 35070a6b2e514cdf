//! The Prometheus listener (`METRICS_BIND_ADDRESS`): scraped after a few requests, it has every
//! family a dashboard needs with values those requests explain; the API listener does not serve
//! it.
//!
//! One recorder serves the whole test process, so request counters also count other tests'
//! requests: the checks are lower bounds there, exact only for what this app's database holds.

use std::collections::HashMap;

use auth_server::Settings;
use http::ThrottleRates;
use persistence::testing::TestDatabase;
use reqwest::StatusCode;
use serde_json::json;

use crate::support::{PASSWORD, TestApp, answer};
use crate::with_settings;

fn with_metrics(settings: &mut Settings) {
    settings.metrics.bind_address = "127.0.0.1:0".to_owned();
    // Two logins a minute from one address, so the third is throttled.
    settings.throttle.enabled = true;
    settings.throttle.rates = ThrottleRates::default()
        .with_overrides("login=2/minute")
        .unwrap();
}

/// Every sample of the scrape: `name{labels}` → value.
fn samples(text: &str) -> HashMap<String, f64> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            Some((series.to_owned(), value.parse().ok()?))
        })
        .collect()
}

/// The one sample of `name` whose labels include every one of `labels`.
fn sample(samples: &HashMap<String, f64>, name: &str, labels: &[&str]) -> f64 {
    let matching: Vec<f64> = samples
        .iter()
        .filter(|(series, _)| {
            series.split('{').next() == Some(name)
                && labels.iter().all(|label| series.contains(label))
        })
        .map(|(_, value)| *value)
        .collect();
    assert_eq!(
        matching.len(),
        1,
        "{name} {labels:?}: {matching:?} in {:#?}",
        samples
            .keys()
            .filter(|key| key.starts_with(name))
            .collect::<Vec<_>>()
    );
    matching[0]
}

async fn a_scrape_shows_requests_logins_hashing_the_pool_sessions_and_the_outbox(app: TestApp) {
    let metrics = app
        .metrics_address
        .clone()
        .expect("the metrics listener is on");
    app.register("metered").await;
    let login = |password: &'static str| {
        app.post_json(
            "/api/auth/login/",
            json!({"username": "metered", "password": password}),
        )
    };
    assert_eq!(login(PASSWORD).await.status(), StatusCode::OK);
    assert_eq!(
        login("wrong-password").await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        login(PASSWORD).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    let (status, _) = answer(app.get("/api/auth/profile/").send().await.unwrap()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let response = app
        .client
        .get(format!("{metrics}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = response.text().await.unwrap();
    let all = samples(&text);

    // Requests by route and status, and their latency histogram.
    let login_route = "route=\"/api/auth/login\"";
    assert!(
        sample(
            &all,
            "auth_http_requests_total",
            &[login_route, "status=\"200\"", "method=\"POST\""]
        ) >= 1.0
    );
    assert!(
        sample(
            &all,
            "auth_http_requests_total",
            &[login_route, "status=\"429\""]
        ) >= 1.0
    );
    assert!(
        sample(
            &all,
            "auth_http_requests_total",
            &["route=\"/api/auth/profile\"", "status=\"401\""]
        ) >= 1.0
    );
    let count = sample(
        &all,
        "auth_http_request_duration_seconds_count",
        &[login_route],
    );
    assert!(count >= 3.0, "{count}");
    let infinite = sample(
        &all,
        "auth_http_request_duration_seconds_bucket",
        &[login_route, "le=\"+Inf\""],
    );
    assert_eq!(infinite, count, "every request falls in the +Inf bucket");
    let within_10s = sample(
        &all,
        "auth_http_request_duration_seconds_bucket",
        &[login_route, "le=\"10\""],
    );
    assert!(within_10s <= infinite && within_10s >= 1.0);
    assert!(
        sample(
            &all,
            "auth_http_request_duration_seconds_sum",
            &[login_route]
        ) > 0.0
    );

    // Login outcomes.
    for outcome in ["success", "failure", "throttled"] {
        let logins = sample(
            &all,
            "auth_logins_total",
            &[&format!("outcome=\"{outcome}\"")],
        );
        assert!(logins >= 1.0, "{outcome}: {logins}");
    }

    // Hashing: register and two logins were hashed or verified by the workers.
    let hashed = sample(&all, "auth_password_hash_duration_seconds_count", &[]);
    assert!(hashed >= 3.0, "{hashed}");
    assert!(sample(&all, "auth_password_hash_duration_seconds_sum", &[]) > 0.0);
    assert!(sample(&all, "auth_password_hash_queue_depth", &[]) >= 0.0);
    assert!(sample(&all, "auth_password_hash_pending", &[]) >= 0.0);

    // The pool: connections and waits.
    let idle = sample(&all, "auth_db_pool_connections", &["state=\"idle\""]);
    let in_use = sample(&all, "auth_db_pool_connections", &["state=\"in_use\""]);
    let max = sample(&all, "auth_db_pool_max_connections", &[]);
    assert!(
        idle + in_use >= 1.0 && idle + in_use <= max,
        "{idle} {in_use} {max}"
    );
    assert!(sample(&all, "auth_db_pool_wait_seconds_count", &[]) >= 4.0);

    // Read from this app's own database: exact.
    assert_eq!(
        sample(&all, "auth_sessions_live", &[]),
        2.0,
        "register and one login"
    );
    assert_eq!(
        sample(&all, "auth_outbox_backlog", &["status=\"failed\""]),
        0.0
    );
    assert!(sample(&all, "auth_outbox_backlog", &["status=\"pending\""]) >= 0.0);
    assert_eq!(sample(&all, "auth_db_up", &[]), 1.0);

    // Every series the Grafana dashboard charts is one the scrape has.
    let dashboard = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/grafana-dashboard.json"),
    )
    .unwrap();
    let charted: std::collections::BTreeSet<&str> = dashboard
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|word| word.starts_with("auth_"))
        .collect();
    assert!(charted.len() >= 10, "{charted:?}");
    for name in charted {
        assert!(
            all.keys()
                .any(|series| series.split('{').next() == Some(name)),
            "the dashboard charts {name}, which the scrape does not have"
        );
    }

    // Only the metrics listener serves them.
    let (status, _) = answer(app.get("/metrics").send().await.unwrap()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = answer(
        app.client
            .get(format!("{metrics}/api/auth/profile/"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

with_settings!(
    a_scrape_shows_requests_logins_hashing_the_pool_sessions_and_the_outbox,
    with_metrics
);

/// Without `METRICS_BIND_ADDRESS` there is no metrics listener at all.
#[tokio::test]
async fn metrics_are_off_by_default() {
    let app = TestApp::sqlite().await;
    assert!(app.metrics_address.is_none());
    let (status, _) = answer(app.get("/metrics").send().await.unwrap()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
