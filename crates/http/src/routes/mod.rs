//! The endpoints, one module per resource. Handlers are thin: take the caller and the body as
//! extractors, run the use case on the blocking pool, shape the response.

mod account;
mod documentation;
mod probes;
mod profile;
mod sessions;
mod tokens;

use actix_web::dev::{AppService, HttpServiceFactory};
use actix_web::http::{Method, header};
use actix_web::middleware::DefaultHeaders;
use actix_web::{FromRequest, Handler, HttpRequest, HttpResponse, Resource, Responder, Route, web};
use chrono::{DateTime, Utc};
use serde_json::json;
use utoipa::openapi::path::HttpMethod;
use utoipa::openapi::{RefOr, Schema};
use utoipa_actix_web::OpenApiFactory;

use crate::auth;
use crate::blocking::Blocking;
use crate::error::ApiError;

/// Every endpoint the server answers, in the order actix tries them. The router and the OpenAPI
/// document are both built from this one table, so neither can list what the other does not.
pub(crate) fn table() -> Vec<Endpoint> {
    [
        probes::endpoints(),
        tokens::endpoints(),
        profile::endpoints(),
        sessions::endpoints(),
        account::endpoints(),
        documentation::endpoints(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    for endpoint in table() {
        cfg.service(endpoint);
    }
}

pub(crate) async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound)
}

/// How an endpoint treats the `Authorization` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
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

/// One method of an endpoint: the handler, served at the path and method its `#[utoipa::path]`
/// annotation names, and that annotation's description of it.
pub(crate) struct Operation {
    pub method: Method,
    pub doc_method: HttpMethod,
    pub path: String,
    /// The operation's part of the document, and the schemas it refers to.
    pub doc: utoipa::openapi::path::Operation,
    pub schemas: Vec<(String, RefOr<Schema>)>,
    routes: Box<dyn Fn() -> Vec<Route>>,
}

/// The operation of `handler`, as `D` (the `__path_<handler>` type of its annotation) describes
/// it. A `GET` is also served for `HEAD`, as HTTP defines it.
fn operation<D, F, Args>(doc: D, handler: F) -> Operation
where
    D: OpenApiFactory + utoipa::Path,
    F: Handler<Args>,
    Args: FromRequest + 'static,
    F::Output: Responder + 'static,
{
    let methods = D::methods();
    let [method] = methods.as_slice() else {
        panic!("{}: one method per handler", D::path());
    };
    let doc_method = method.clone();
    let method_doc = &doc_method;
    let method = http_method(method);
    let mut schemas = Vec::new();
    doc.schemas(&mut schemas);
    let route_method = method.clone();
    Operation {
        path: D::path(),
        doc: described(&doc, method_doc),
        schemas,
        routes: Box::new(move || {
            let mut routes = vec![web::method(route_method.clone()).to(handler.clone())];
            if route_method == Method::GET {
                routes.push(web::head().to(handler.clone()));
            }
            routes
        }),
        method,
        doc_method,
    }
}

/// The operation as the annotation describes it, with its tags (which `OpenApiFactory` adds).
fn described(doc: &impl OpenApiFactory, method: &HttpMethod) -> utoipa::openapi::path::Operation {
    let item = doc.paths().paths.into_values().next();
    let operation = item.and_then(|item| match method {
        HttpMethod::Get => item.get,
        HttpMethod::Post => item.post,
        HttpMethod::Put => item.put,
        HttpMethod::Patch => item.patch,
        HttpMethod::Delete => item.delete,
        HttpMethod::Head => item.head,
        HttpMethod::Options => item.options,
        HttpMethod::Trace => item.trace,
    });
    operation.expect("the annotation describes its own method")
}

fn http_method(method: &HttpMethod) -> Method {
    match method {
        HttpMethod::Get => Method::GET,
        HttpMethod::Post => Method::POST,
        HttpMethod::Put => Method::PUT,
        HttpMethod::Patch => Method::PATCH,
        HttpMethod::Delete => Method::DELETE,
        HttpMethod::Head => Method::HEAD,
        HttpMethod::Options => Method::OPTIONS,
        HttpMethod::Trace => Method::TRACE,
    }
}

/// A path served with and without its trailing slash, with its operations. Other methods are
/// answered as DRF does, and every response names the allowed methods in `Allow`, as DRF's views
/// do.
pub(crate) struct Endpoint {
    pub access: Access,
    caching: Caching,
    pub operations: Vec<Operation>,
}

fn endpoint(access: Access, caching: Caching, operations: Vec<Operation>) -> Endpoint {
    let path = &operations.first().expect("an endpoint has operations").path;
    assert!(
        operations.iter().all(|operation| &operation.path == path),
        "{path}: the operations of one endpoint share its path"
    );
    Endpoint {
        access,
        caching,
        operations,
    }
}

impl Endpoint {
    pub fn path(&self) -> &str {
        &self.operations[0].path
    }

    /// The `Allow` header: the operations' methods, `HEAD` beside a `GET`, and `OPTIONS`.
    pub fn allow(&self) -> String {
        let mut methods: Vec<&str> = self.operations.iter().map(|o| o.method.as_str()).collect();
        if self.operations.iter().any(|o| o.method == Method::GET) {
            methods.push("HEAD");
        }
        methods.push("OPTIONS");
        methods.join(", ")
    }
}

/// The two spellings are two resources with static paths: actix matches a static path by
/// comparing strings, but a resource of several paths through a regular-expression set, which
/// every request to a later resource paid for.
impl HttpServiceFactory for Endpoint {
    fn register(self, config: &mut AppService) {
        let allow = self.allow();
        let path = self.path().to_owned();
        let resource = |path: String| {
            let mut headers = DefaultHeaders::new().add((header::ALLOW, allow.clone()));
            if self.caching == Caching::NoStore {
                headers = headers.add((header::CACHE_CONTROL, "no-store"));
            }
            let routes = self.operations.iter().flat_map(|o| (o.routes)());
            routes
                .fold(
                    web::resource(path).default_service(other_method(self.access)),
                    Resource::route,
                )
                .wrap(headers)
        };
        let with_slash = format!("{path}/");
        resource(path).register(config);
        resource(with_slash).register(config);
    }
}

/// `OPTIONS` gets a description of the endpoint, other methods 405; both only after the
/// credentials are checked, as DRF authenticates before dispatching.
fn other_method(access: Access) -> Route {
    web::to(
        move |req: HttpRequest, blocking: web::Data<Blocking>| async move {
            if access != Access::Open {
                match (auth::caller(&req)?, access) {
                    (Some(caller), _) => blocking.run(move || caller.user().map(drop)).await?,
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
        },
    )
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
