//! What the HTTP layer tells the metrics recorder (the `metrics` facade; the server decides
//! whether anything records it, and serves it on its own listener): every request by route and
//! status with its latency, login outcomes, and the queue of logins waiting for a hash turn.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use actix_web::Error;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;

/// Requests answered, by method, route and status.
pub const REQUESTS: &str = "auth_http_requests_total";
/// Request latency in seconds, by method and route: a histogram.
pub const REQUEST_SECONDS: &str = "auth_http_request_duration_seconds";
/// Logins by outcome: `success`, `failure` (wrong credentials), `throttled` (429),
/// `rejected` (anything else: a malformed body, an overloaded server).
pub const LOGINS: &str = "auth_logins_total";
/// Logins and registrations waiting for a hash turn.
pub const HASH_QUEUE: &str = "auth_password_hash_queue_depth";

const LOGIN_ROUTE: &str = "/api/auth/login";

/// Whether a recorder listens. Until one does, requests skip labelling entirely (the facade would
/// drop the samples anyway, after their labels were built).
static ENABLED: AtomicBool = AtomicBool::new(false);

/// Called once a recorder is installed: requests are recorded from then on.
pub fn enable() {
    ENABLED.store(true, Ordering::Release);
}

/// Records the request once it is answered. The route is the matched pattern (so ids in paths
/// do not make a series each), without its trailing slash; requests no route matched are
/// `unmatched`.
pub(crate) async fn record_request(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    if !ENABLED.load(Ordering::Acquire) {
        return next.call(req).await;
    }
    let started = Instant::now();
    let method = req.method().clone();
    let response = next.call(req).await;
    let status = match &response {
        Ok(response) => response.status(),
        Err(error) => error.as_response_error().status_code(),
    };
    let route = response
        .as_ref()
        .ok()
        .and_then(|response| response.request().match_pattern())
        .map(|pattern| route_label(&pattern))
        .unwrap_or_else(|| "unmatched".to_owned());
    let seconds = started.elapsed().as_secs_f64();
    metrics::counter!(
        REQUESTS,
        "method" => method.to_string(),
        "route" => route.clone(),
        "status" => status.as_u16().to_string(),
    )
    .increment(1);
    if method == Method::POST && route == LOGIN_ROUTE {
        metrics::counter!(LOGINS, "outcome" => login_outcome(status)).increment(1);
    }
    metrics::histogram!(REQUEST_SECONDS, "method" => method.to_string(), "route" => route)
        .record(seconds);
    response
}

fn route_label(pattern: &str) -> String {
    match pattern.strip_suffix('/') {
        Some(trimmed) if !trimmed.is_empty() => trimmed.to_owned(),
        _ => pattern.to_owned(),
    }
}

fn login_outcome(status: StatusCode) -> &'static str {
    match status.as_u16() {
        200 => "success",
        401 => "failure",
        429 => "throttled",
        _ => "rejected",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_labelled_without_their_trailing_slash() {
        assert_eq!(route_label("/api/auth/login/"), "/api/auth/login");
        assert_eq!(route_label("/api/auth/login"), "/api/auth/login");
        assert_eq!(
            route_label("/api/auth/sessions/{id}/"),
            "/api/auth/sessions/{id}"
        );
        assert_eq!(route_label("/"), "/");
    }

    #[test]
    fn login_outcomes_follow_the_status() {
        assert_eq!(login_outcome(StatusCode::OK), "success");
        assert_eq!(login_outcome(StatusCode::UNAUTHORIZED), "failure");
        assert_eq!(login_outcome(StatusCode::TOO_MANY_REQUESTS), "throttled");
        assert_eq!(login_outcome(StatusCode::BAD_REQUEST), "rejected");
        assert_eq!(login_outcome(StatusCode::SERVICE_UNAVAILABLE), "rejected");
    }
}
