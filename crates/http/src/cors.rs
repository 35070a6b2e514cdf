//! CORS as django-cors-headers does it: every preflight is answered 200 with an empty body, and
//! only the configured origins get `Access-Control-*` headers, on errors as on successes.
//!
//! actix-cors answers a refused preflight with a plain-text 400 and lists methods and headers in
//! a different order on every start, which the API contract does not allow.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderMap, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{Error, HttpResponse, web};

use crate::server::AppState;

const ALLOW_METHODS: &str = "DELETE, GET, OPTIONS, PATCH, POST, PUT";
const ALLOW_HEADERS: &str =
    "accept, authorization, content-type, user-agent, x-csrftoken, x-requested-with";
const MAX_AGE_SECS: &str = "86400";

/// The origins allowed to read responses, compared exactly as configured.
#[derive(Debug, Clone, Default)]
pub(crate) struct AllowedOrigins(Vec<String>);

impl AllowedOrigins {
    pub fn new(origins: &[String]) -> Self {
        Self(
            origins
                .iter()
                .map(|origin| origin.trim_end_matches('/').to_owned())
                .collect(),
        )
    }

    pub fn allows(&self, origin: &str) -> bool {
        self.0.iter().any(|allowed| allowed == origin)
    }
}

pub(crate) async fn cors(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let allowed = origin.as_deref().is_some_and(|origin| {
        req.app_data::<web::Data<AppState>>()
            .is_some_and(|state| state.allowed_origins.allows(origin))
    });
    let is_options = req.method() == Method::OPTIONS;
    let is_preflight = is_options
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);

    let mut response = if is_preflight {
        let (request, _) = req.into_parts();
        let reply = HttpResponse::build(StatusCode::OK)
            .insert_header((header::CONTENT_LENGTH, 0))
            .finish();
        ServiceResponse::new(request, reply).map_into_right_body()
    } else {
        next.call(req).await?.map_into_left_body()
    };

    let headers = response.headers_mut();
    add_vary_origin(headers);
    if let (true, Some(origin)) = (allowed, origin) {
        if let Ok(value) = HeaderValue::from_str(&origin) {
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
        }
        if is_options {
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static(ALLOW_HEADERS),
            );
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static(ALLOW_METHODS),
            );
            headers.insert(
                header::ACCESS_CONTROL_MAX_AGE,
                HeaderValue::from_static(MAX_AGE_SECS),
            );
        }
    }
    Ok(response)
}

/// Appends `origin` to `Vary`, keeping what is there.
fn add_vary_origin(headers: &mut HeaderMap) {
    let existing: Vec<String> = headers
        .get_all(header::VARY)
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|item| item.trim().to_owned())
        .filter(|item| !item.is_empty())
        .collect();
    if existing
        .iter()
        .any(|item| item.eq_ignore_ascii_case("origin") || item == "*")
    {
        return;
    }
    let mut vary = existing;
    vary.push("origin".to_owned());
    if let Ok(value) = HeaderValue::from_str(&vary.join(", ")) {
        headers.insert(header::VARY, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_match_exactly_ignoring_a_trailing_slash_in_the_setting() {
        let allowed = AllowedOrigins::new(&["http://localhost:3000/".to_owned()]);
        assert!(allowed.allows("http://localhost:3000"));
        assert!(!allowed.allows("http://localhost:3001"));
        assert!(!allowed.allows("http://LOCALHOST:3000.evil.example"));
    }

    #[test]
    fn vary_gains_origin_once() {
        let mut headers = HeaderMap::new();
        headers.insert(header::VARY, HeaderValue::from_static("Accept"));
        add_vary_origin(&mut headers);
        add_vary_origin(&mut headers);
        assert_eq!(
            headers.get(header::VARY).map(|v| v.to_str().ok()),
            Some(Some("Accept, origin"))
        );
    }
}
