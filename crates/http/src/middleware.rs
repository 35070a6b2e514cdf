//! The middleware around every route: the request span and id, the security headers, and CORS
//! (actix-cors, configured as django-cors-headers behaves).

use std::time::Instant;

use actix_cors::{Cors, CorsError};
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::{DefaultHeaders, ErrorHandlerResponse, ErrorHandlers, Next};
use actix_web::{Error, HttpMessage, HttpResponse};
use tracing::Span;
use tracing_actix_web::{RequestId, RootSpanBuilder};

const CORS_METHODS: [Method; 6] = [
    Method::DELETE,
    Method::GET,
    Method::OPTIONS,
    Method::PATCH,
    Method::POST,
    Method::PUT,
];
const CORS_HEADERS: [&str; 6] = [
    "accept",
    "authorization",
    "content-type",
    "user-agent",
    "x-csrftoken",
    "x-requested-with",
];
const CORS_MAX_AGE_SECS: usize = 86_400;

/// CORS for `origins`. Another origin's actual requests are served without CORS headers
/// (`block_on_origin_mismatch(false)`); its preflights fail inside actix-cors, and
/// [`refused_preflights`] turns that failure into the contract's answer.
pub(crate) fn cors(origins: &[String]) -> Cors {
    origins
        .iter()
        .fold(Cors::default(), |cors, origin| {
            cors.allowed_origin(origin.trim_end_matches('/'))
        })
        .allowed_methods(CORS_METHODS)
        .allowed_headers(CORS_HEADERS)
        .max_age(CORS_MAX_AGE_SECS)
        .block_on_origin_mismatch(false)
}

/// A preflight actix-cors refused (another origin, or a method or header not allowed) is a 200
/// with no `Access-Control-*` header and an empty body, as django-cors-headers answers it: the
/// browser then refuses the request itself.
pub(crate) fn refused_preflights<B: 'static>() -> ErrorHandlers<B> {
    ErrorHandlers::new().handler(StatusCode::BAD_REQUEST, |response: ServiceResponse<B>| {
        let refused = response
            .response()
            .error()
            .and_then(|error| error.as_error::<CorsError>())
            .is_some();
        if !refused {
            return Ok(ErrorHandlerResponse::Response(
                response.map_into_left_body(),
            ));
        }
        let answer = HttpResponse::Ok()
            .insert_header((header::VARY, "Origin"))
            .finish();
        let (request, _) = response.into_parts();
        Ok(ErrorHandlerResponse::Response(
            ServiceResponse::new(request, answer).map_into_right_body(),
        ))
    })
}

/// Django's `SecurityMiddleware` and `XFrameOptionsMiddleware` defaults.
pub(crate) fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((header::X_FRAME_OPTIONS, "DENY"))
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::REFERRER_POLICY, "same-origin"))
        .add(("Cross-Origin-Opener-Policy", "same-origin"))
}

/// The span of each request: its id (32 hex digits, also returned in `X-Request-Id`), method and
/// path, and one log line when it ends with the status and latency. The query string is left out:
/// it is the client's, not ours to log.
pub(crate) struct RequestSpan;

#[derive(Clone, Copy)]
struct Started(Instant);

impl RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        request.extensions_mut().insert(Started(Instant::now()));
        let request_id = request_id(request).unwrap_or_default();
        tracing::info_span!(
            "request",
            %request_id,
            method = %request.method(),
            path = %request.path(),
        )
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        let _entered = span.enter();
        match outcome {
            Ok(response) => {
                let latency_ms = response
                    .request()
                    .extensions()
                    .get::<Started>()
                    .map(|started| started.0.elapsed().as_secs_f64() * 1000.0);
                tracing::info!(status = response.status().as_u16(), latency_ms, "request");
            }
            Err(error) => {
                let status = error.as_response_error().status_code().as_u16();
                tracing::info!(status, "request");
            }
        }
    }
}

/// The id tracing-actix-web gave the request, as `X-Request-Id` shows it.
pub(crate) fn request_id(request: &impl HttpMessage) -> Option<String> {
    let id = *request.extensions().get::<RequestId>()?;
    Some(uuid::Uuid::from(id).simple().to_string())
}

/// Returns the request id in `X-Request-Id`, so a client's report can be found in the log.
pub(crate) async fn request_id_header(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let id = request_id(&req).and_then(|id| HeaderValue::from_str(&id).ok());
    let mut response = next.call(req).await?;
    if let Some(id) = id {
        response
            .headers_mut()
            .insert(HeaderName::from_static("x-request-id"), id);
    }
    Ok(response)
}
