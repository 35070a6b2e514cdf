//! The endpoints, one module per resource. Handlers are thin: take the caller and the body as
//! extractors, run the use case on the blocking pool, shape the response.

mod account;
mod probes;
mod profile;
mod sessions;
mod tokens;

use actix_web::dev::HttpServiceFactory;
use actix_web::http::{Method, header};
use actix_web::middleware::DefaultHeaders;
use actix_web::{HttpRequest, HttpResponse, Resource, Route, web};
use chrono::{DateTime, Utc};
use serde_json::json;

use crate::auth;
use crate::blocking::run;
use crate::error::ApiError;

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    probes::configure(cfg);
    tokens::configure(cfg);
    profile::configure(cfg);
    sessions::configure(cfg);
    account::configure(cfg);
}

pub(crate) async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound)
}

/// How an endpoint treats the `Authorization` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    /// Never reads it.
    Open,
    /// Reads it if present: a bad token is refused even though none is required.
    ReadsToken,
    /// Requires a valid access token of an active user.
    Protected,
}

/// Whether responses may be stored by caches. Every response that carries a token, and every
/// authenticated one, must not be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caching {
    Allowed,
    NoStore,
}

const PROBE_METHODS: &str = "GET, HEAD, OPTIONS";
const POST_METHODS: &str = "POST, OPTIONS";
const PROFILE_METHODS: &str = "GET, PUT, PATCH, HEAD, OPTIONS";

/// A path served with and without its trailing slash, with the routes `routes` adds. Other
/// methods are answered as DRF does, and every response names the allowed methods in `Allow`,
/// as DRF's views do.
///
/// The two spellings are two resources with static paths: actix matches a static path by
/// comparing strings, but a resource of several paths through a regular-expression set, which
/// every request to a later resource paid for.
fn endpoint(
    path: &str,
    allow: &'static str,
    access: Access,
    caching: Caching,
    routes: impl Fn(Resource) -> Resource,
) -> impl HttpServiceFactory {
    let resource = |path: String| {
        let mut headers = DefaultHeaders::new().add((header::ALLOW, allow));
        if caching == Caching::NoStore {
            headers = headers.add((header::CACHE_CONTROL, "no-store"));
        }
        routes(web::resource(path).default_service(other_method(access))).wrap(headers)
    };
    (resource(path.to_owned()), resource(format!("{path}/")))
}

/// `OPTIONS` gets a description of the endpoint, other methods 405; both only after the
/// credentials are checked, as DRF authenticates before dispatching.
fn other_method(access: Access) -> Route {
    web::to(move |req: HttpRequest| async move {
        if access != Access::Open {
            match (auth::caller(&req)?, access) {
                (Some(caller), _) => run(move || caller.user().map(drop)).await?,
                (None, Access::Protected) => return Err(ApiError::NotAuthenticated),
                (None, _) => {}
            }
        }
        if req.method() == Method::OPTIONS {
            return Ok(HttpResponse::Ok().json(json!({
                "renders": ["application/json"],
                "parses": ["application/json", "application/x-www-form-urlencoded"],
            })));
        }
        Err(ApiError::MethodNotAllowed {
            method: req.method().to_string(),
        })
    })
}

/// RFC 3339 in UTC with microseconds and `Z`, as DRF renders datetimes.
pub(super) fn timestamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn timestamps_always_carry_six_fractional_digits_and_z() {
        let at = Utc
            .with_ymd_and_hms(2026, 1, 21, 10, 0, 0)
            .single()
            .expect("valid date");
        assert_eq!(timestamp(at), "2026-01-21T10:00:00.000000Z");
        let at = at + chrono::Duration::microseconds(123_456);
        assert_eq!(timestamp(at), "2026-01-21T10:00:00.123456Z");
    }
}
