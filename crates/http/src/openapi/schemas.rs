//! The error bodies every endpoint shares, and the groups of answers many endpoints give, as the
//! document describes them. [`ApiError`](crate::ApiError) renders them; these types exist for
//! their schemas.
#![allow(dead_code, reason = "the types describe bodies rendered by ApiError")]

use serde::Serialize;
use utoipa::openapi::schema::{
    KnownFormat, ObjectBuilder, OneOfBuilder, SchemaFormat, SchemaType, Type,
};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{IntoResponses, PartialSchema, ToSchema};

/// DRF's message body: `{"detail": "..."}`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Detail {
    pub detail: String,
}

/// Why a request was not authenticated (DRF's and simplejwt's bodies). `code` and `messages` come
/// with a refused token: `{"detail": "Given token not valid for any token type", "code":
/// "token_not_valid", "messages": [...]}`; `{"detail": "User not found", "code":
/// "user_not_found"}`; `{"detail": "Authentication credentials were not provided."}`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AuthenticationError {
    pub detail: String,
    #[serde(default)]
    pub code: AuthenticationCode,
    #[serde(default)]
    pub messages: Vec<TokenMessage>,
}

#[derive(Serialize, ToSchema, Default)]
#[serde(rename_all = "snake_case")]
pub(crate) enum AuthenticationCode {
    #[default]
    TokenNotValid,
    BadAuthorizationHeader,
    UserNotFound,
    UserInactive,
}

/// Which token was refused, and why.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct TokenMessage {
    pub token_class: AccessTokenClass,
    pub token_type: AccessTokenType,
    pub message: TokenProblem,
}

#[derive(Serialize, ToSchema)]
pub(crate) enum AccessTokenClass {
    AccessToken,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum AccessTokenType {
    Access,
}

/// simplejwt's messages for a refused token.
#[derive(Serialize, ToSchema)]
pub(crate) enum TokenProblem {
    #[serde(rename = "Token is invalid")]
    Invalid,
    #[serde(rename = "Token is expired")]
    Expired,
    #[serde(rename = "Token has wrong type")]
    WrongType,
    #[serde(rename = "Token is blacklisted")]
    Blacklisted,
}

/// A refused refresh token, or a token `/verify` does not accept: `{"detail": "Token is
/// blacklisted", "code": "token_not_valid"}`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct TokenError {
    pub detail: TokenProblem,
    pub code: TokenNotValid,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum TokenNotValid {
    TokenNotValid,
}

/// What every endpoint that reads a body may answer about the body itself.
#[derive(IntoResponses)]
pub(crate) enum BodyRefused {
    /// The body is larger than the server accepts.
    #[response(status = 413)]
    TooLarge(Detail),
    /// The body is neither JSON nor form-encoded: `{"detail": "Unsupported media type
    /// \"text/plain\" in request."}`.
    #[response(status = 415)]
    UnsupportedMediaType(Detail),
}

/// The database does not answer (`Retry-After: 5`), or, on the endpoints that hash a password,
/// more requests wait for a hash than `MAX_QUEUED_HASHES` (`Retry-After: 1`):
/// `{"detail": "Service temporarily unavailable, try again later."}`.
#[derive(IntoResponses)]
#[response(
    status = 503,
    headers(("Retry-After" = u32, description = "Seconds to wait before trying again."))
)]
pub(crate) struct Unavailable(Detail);

/// A rate per client address, or the login back-off, refused the request before any work:
/// `{"detail": "Request was throttled. Expected available in 7 seconds."}`.
#[derive(IntoResponses)]
#[response(
    status = 429,
    headers(("Retry-After" = u32, description = "Seconds until the request would pass."))
)]
pub(crate) struct Throttled(Detail);

/// Only with the refresh cookie on: a request that sets or relies on it must be
/// `application/json` from an allowed `Origin`: `{"detail": "CSRF Failed: Origin header
/// missing."}`.
#[derive(IntoResponses)]
#[response(status = 403)]
pub(crate) struct CsrfFailed(Detail);

// The kinds of string field the bodies have, with the rules a JSON Schema can state. A field is
// trimmed before they apply (DRF's `CharField`), so surrounding white space does not count; a NUL
// character is always refused; and a JSON number is taken as its text, so the fields whose rules
// every number's text meets take numbers too.

/// A required string: not blank.
#[derive(Serialize)]
pub(crate) struct Text;

/// A username: 1 to 150 letters, digits and `@.+-_`, after NFKC normalisation.
#[derive(Serialize)]
pub(crate) struct Username;

/// An e-mail address, as Django's `EmailValidator` takes it.
#[derive(Serialize)]
pub(crate) struct EmailAddress;

/// A first or last name: at most 150 characters, possibly empty, without control or bidi
/// formatting characters.
#[derive(Serialize)]
pub(crate) struct PersonName;

/// A phone number: at most 20 characters, possibly empty.
#[derive(Serialize)]
pub(crate) struct Phone;

fn text_field(
    numbers: bool,
    description: &str,
    pattern: &str,
    max_length: Option<usize>,
    format: Option<KnownFormat>,
) -> RefOr<Schema> {
    let types = if numbers {
        SchemaType::Array(vec![Type::String, Type::Number])
    } else {
        SchemaType::Type(Type::String)
    };
    ObjectBuilder::new()
        .schema_type(types)
        .description(Some(description))
        .pattern(Some(pattern))
        .max_length(max_length)
        // `format` is an annotation here: the pattern states the rule.
        .format(format.map(SchemaFormat::KnownFormat))
        .into()
}

macro_rules! text_kind {
    ($kind:ident, $numbers:expr, $pattern:expr, $max_length:expr, $format:expr, $description:expr) => {
        impl PartialSchema for $kind {
            fn schema() -> RefOr<Schema> {
                text_field($numbers, $description, $pattern, $max_length, $format)
            }
        }
        impl ToSchema for $kind {}
    };
}

const NO_NUL: &str = r"^[^\u0000]*$";

text_kind!(
    Text,
    true,
    r"^[^\u0000]*\S[^\u0000]*$",
    None,
    None,
    "Not blank."
);
text_kind!(
    Username,
    true,
    r"^\s*[\w.@+-]+\s*$",
    None,
    None,
    "1 to 150 letters, digits and `@.+-_`."
);
// Django's `EmailValidator` for the usual form, `dot-atom@host.name`, with ASCII host names; it
// also takes quoted local parts, address literals, `localhost` and international (and punycode)
// domain names, which the pattern leaves out.
text_kind!(
    EmailAddress,
    false,
    r"^\s*[-!#$%&'*+/=?^_`{}|~0-9A-Za-z]+(\.[-!#$%&'*+/=?^_`{}|~0-9A-Za-z]+)*@([0-9A-Za-z]([0-9A-Za-z-]{0,61}[0-9A-Za-z])?\.)+[A-Za-z][A-Za-z-]{0,61}[A-Za-z]\s*$",
    Some(254),
    None,
    "An e-mail address."
);
text_kind!(
    PersonName,
    true,
    r"^[^\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*$",
    Some(150),
    None,
    "At most 150 characters, without control or bidi formatting characters; may be empty."
);
impl PartialSchema for Phone {
    /// A number's text must fit too: an integer's is its digits, so the integers of at most 19
    /// digits and a sign, or 20 digits without, are taken. The bounds are past 64 bits, which
    /// utoipa's numbers do not reach: [`exact_phone_bounds`] writes them into the document.
    fn schema() -> RefOr<Schema> {
        let text = text_field(
            false,
            "At most 20 characters; may be empty.",
            NO_NUL,
            Some(20),
            None,
        );
        let integer = ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(i64::MIN))
            .maximum(Some(u64::MAX));
        OneOfBuilder::new().item(text).item(integer).into()
    }
}

/// Writes the exact bounds of [`Phone`]'s integers into the serialised document.
pub(crate) fn exact_phone_bounds(document: &mut serde_json::Value) {
    let integer = document
        .pointer_mut("/components/schemas/Phone/oneOf/1")
        .and_then(serde_json::Value::as_object_mut);
    if let Some(integer) = integer {
        for (key, bound) in [
            ("minimum", "-9999999999999999999"),
            ("maximum", "99999999999999999999"),
        ] {
            if let Ok(bound) = bound.parse::<serde_json::Number>() {
                integer.insert(key.to_owned(), serde_json::Value::Number(bound));
            }
        }
    }
}
impl ToSchema for Phone {}
