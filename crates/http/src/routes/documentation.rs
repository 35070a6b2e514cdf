//! The OpenAPI document and its browsable page: Swagger UI, whose files are compiled into the
//! binary (utoipa-swagger-ui's vendored copy), so the page fetches nothing from elsewhere.

use std::sync::{Arc, LazyLock};

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use utoipa_swagger_ui::Config;

use super::{Access, Caching, Endpoint, endpoint, operation};
use crate::error::ApiError;
use crate::openapi;
use crate::openapi::schemas::Detail;

const DOCUMENT_PATH: &str = "/api/openapi.json";
const PAGE_PATH: &str = "/api/docs";

/// The page may load only what the server itself serves: a file of the page that named another
/// origin would be refused by the browser, not fetched.
const PAGE_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self' \
     'unsafe-inline'; img-src 'self' data:; connect-src 'self'; base-uri 'self'; \
     form-action 'self'; frame-ancestors 'none'";

pub(super) fn endpoints() -> Vec<Endpoint> {
    let get = |operation| endpoint(Access::Open, Caching::Allowed, vec![operation]);
    vec![
        get(operation(__path_document, document)),
        get(operation(__path_page, page)),
        get(operation(__path_asset, asset)),
    ]
}

static CONFIG: LazyLock<Arc<Config<'static>>> = LazyLock::new(|| {
    Arc::new(
        Config::new([DOCUMENT_PATH])
            // Swagger UI would otherwise send the document to an online validator.
            .validator_url("none")
            .try_it_out_enabled(true),
    )
});

/// This document: OpenAPI 3.1, generated from the routes and their DTOs.
#[utoipa::path(
    get,
    path = "/api/openapi.json",
    tag = "documentation",
    responses((status = 200, description = "The OpenAPI document.", body = Object))
)]
async fn document() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(openapi::json())
}

/// A browsable page of this document (Swagger UI), served from the binary.
#[utoipa::path(
    get,
    path = "/api/docs",
    tag = "documentation",
    responses((status = 200, description = "The page.", content_type = "text/html", body = String))
)]
async fn page() -> Result<HttpResponse, ApiError> {
    let index = swagger_file("index.html")?.ok_or(ApiError::NotFound)?;
    let html = String::from_utf8_lossy(&index.bytes);
    // The page's files are named relative to it; the base makes them resolve the same whether
    // the page was asked for with its trailing slash or without.
    let html = html.replacen(
        "<head>",
        &format!("<head>\n    <base href=\"{PAGE_PATH}/\">"),
        1,
    );
    Ok(page_file(index.content_type).body(html))
}

/// A file of the page: its scripts, style sheets and icons.
#[utoipa::path(
    get,
    path = "/api/docs/{file}",
    tag = "documentation",
    params(("file" = String, Path, description = "The file's name, as the page names it.")),
    responses(
        (status = 200, description = "The file.", content_type = "application/octet-stream",
            body = String),
        (status = 404, description = "No such file: `{\"detail\": \"Not found.\"}`.", body = Detail),
    )
)]
async fn asset(file: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let file = swagger_file(&file)?.ok_or(ApiError::NotFound)?;
    Ok(page_file(file.content_type).body(file.bytes.into_owned()))
}

fn swagger_file(name: &str) -> Result<Option<utoipa_swagger_ui::SwaggerFile<'static>>, ApiError> {
    // An empty name would be the index; the index is the page's own path.
    if name.is_empty() {
        return Ok(None);
    }
    utoipa_swagger_ui::serve(name, CONFIG.clone())
        .map_err(|error| ApiError::internal(error.to_string()))
}

fn page_file(content_type: String) -> actix_web::HttpResponseBuilder {
    let mut response = HttpResponse::Ok();
    response
        .content_type(content_type)
        .insert_header((header::CONTENT_SECURITY_POLICY, PAGE_POLICY));
    response
}
