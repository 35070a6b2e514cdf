//! The OpenAPI 3.1 document served at `GET /api/openapi.json`, assembled from the route table:
//! each operation's `#[utoipa::path]` annotation with the schemas of the DTOs it names, and what
//! the table says of the operation's credentials (the bearer scheme and the 401 every endpoint that
//! reads the token can answer). Nothing is listed by hand: an operation is in the document exactly
//! when the router serves it.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use utoipa::ToSchema;
use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::info::{InfoBuilder, LicenseBuilder};
use utoipa::openapi::path::{HttpMethod, Operation, Paths};
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{ComponentsBuilder, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::tag::TagBuilder;
use utoipa::openapi::{
    ObjectBuilder, OpenApi, OpenApiBuilder, Ref, RefOr, Required, Response, Schema,
};

use crate::routes::{self, Access};

pub(crate) mod schemas;

use schemas::{AuthenticationError, Detail};

/// The name of the bearer security scheme.
const BEARER: &str = "bearer";
/// The reusable 401 of every endpoint that reads the `Authorization` header.
const NOT_AUTHENTICATED: &str = "NotAuthenticated";

const DESCRIPTION: &str = include_str!("openapi/description.md");

/// The document, serialised once.
static DOCUMENT: LazyLock<Vec<u8>> = LazyLock::new(|| {
    let mut document = serde_json::to_value(document()).expect("the document serialises");
    schemas::exact_phone_bounds(&mut document);
    serde_json::to_vec(&document).expect("the document serialises")
});

/// The document as JSON.
pub(crate) fn json() -> &'static [u8] {
    &DOCUMENT
}

/// The document of every operation of the route table.
pub(crate) fn document() -> OpenApi {
    let mut paths = Paths::new();
    let mut schemas: BTreeMap<String, RefOr<Schema>> = BTreeMap::new();
    add_schema::<Detail>(&mut schemas);
    add_schema::<AuthenticationError>(&mut schemas);
    for endpoint in routes::table() {
        for operation in endpoint.operations {
            let mut doc = operation.doc;
            authenticate(&mut doc, endpoint.access);
            if matches!(operation.doc_method, HttpMethod::Patch) {
                // An empty body counts as `{}`, which a partial update accepts.
                if let Some(RefOr::T(body)) = doc.request_body.as_mut() {
                    body.required = Some(Required::False);
                }
            }
            paths.add_path_operation(&operation.path, vec![operation.doc_method], doc);
            schemas.extend(operation.schemas);
        }
    }
    let components = ComponentsBuilder::new()
        .schemas_from_iter(schemas)
        .response(NOT_AUTHENTICATED, not_authenticated())
        .security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "An access token from login, register or refresh (simplejwt's \
                         `Authorization: Bearer <access>`).",
                    ))
                    .build(),
            ),
        )
        .build();
    let info = InfoBuilder::new()
        .title("auth-server")
        .version(env!("CARGO_PKG_VERSION"))
        .description(Some(DESCRIPTION))
        .license(Some(
            LicenseBuilder::new()
                .name("MIT OR Apache-2.0")
                .identifier(Some("MIT OR Apache-2.0"))
                .build(),
        ))
        .build();
    OpenApiBuilder::new()
        .info(info)
        .paths(paths)
        .components(Some(components))
        .tags(Some(tags()))
        .build()
}

fn add_schema<T: ToSchema>(schemas: &mut BTreeMap<String, RefOr<Schema>>) {
    schemas.insert(T::name().into_owned(), T::schema());
    let mut nested = Vec::new();
    T::schemas(&mut nested);
    schemas.extend(nested);
}

/// The security requirement and the 401 of an operation, from how its endpoint treats the
/// `Authorization` header. An annotation that documents its own 401 (login's wrong password)
/// keeps it: its body is an [`AuthenticationError`] too.
fn authenticate(doc: &mut Operation, access: Access) {
    let bearer = SecurityRequirement::new(BEARER, Vec::<String>::new());
    doc.security = match access {
        Access::Open => return,
        // DRF's anonymous-or-authenticated: no token is fine, a bad one is refused.
        Access::ReadsToken => Some(vec![SecurityRequirement::default(), bearer]),
        Access::Protected => Some(vec![bearer]),
    };
    doc.responses
        .responses
        .entry("401".to_owned())
        .or_insert_with(|| RefOr::Ref(Ref::from_response_name(NOT_AUTHENTICATED)));
}

fn not_authenticated() -> Response {
    ResponseBuilder::new()
        .description(
            "No credentials where they are required, a malformed `Authorization` header, or an \
             access token that is refused (invalid, expired, of the wrong type, of an ended \
             session) or whose user is gone or inactive.",
        )
        .header(
            "WWW-Authenticate",
            HeaderBuilder::new()
                .schema(Some(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .enum_values(Some(["Bearer realm=\"api\""])),
                ))
                .build(),
        )
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(AuthenticationError::schema_ref()))
                .build(),
        )
        .build()
}

fn tags() -> Vec<utoipa::openapi::tag::Tag> {
    [
        (
            "tokens",
            "Registration, login, refresh, verify and logout (simplejwt).",
        ),
        ("profile", "The signed-in user's profile."),
        ("sessions", "The signed-in user's sessions."),
        ("password", "Password change and reset (dj-rest-auth)."),
        ("email", "E-mail verification (django-allauth)."),
        ("account", "Account deletion."),
        ("probes", "Liveness and readiness."),
        ("documentation", "This document and its browsable page."),
    ]
    .into_iter()
    .map(|(name, description)| {
        TagBuilder::new()
            .name(name)
            .description(Some(description))
            .build()
    })
    .collect()
}

/// A `$ref` to the schema of `T`.
trait SchemaRef {
    fn schema_ref() -> RefOr<Schema>;
}

impl<T: ToSchema> SchemaRef for T {
    fn schema_ref() -> RefOr<Schema> {
        RefOr::Ref(Ref::from_schema_name(T::name()))
    }
}

#[cfg(test)]
mod tests;
