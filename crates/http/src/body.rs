//! Request bodies as DRF's parsers and `CharField` see them.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use application::{FieldErrors, Submitted};
use serde_json::{Map, Value};

use crate::error::ApiError;

/// A request body: the JSON object, or the form fields as strings.
pub(crate) type Fields = Map<String, Value>;

/// A client that announces a body and stops sending must not hold a connection forever.
const BODY_TIMEOUT: Duration = Duration::from_secs(30);

/// The largest request body accepted, in bytes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BodyLimit(pub usize);

/// The parsed body. Handlers take it as `Result<Body, ApiError>` so that a bad body is reported
/// only after the credentials, as DRF does.
pub(crate) struct Body(pub Fields);

impl FromRequest for Body {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let limit = req.app_data::<web::Data<BodyLimit>>().map(|limit| limit.0);
        let payload = web::Payload::from_request(&req, payload).into_inner();
        Box::pin(async move {
            let limit = limit.ok_or_else(|| ApiError::internal("BodyLimit is not registered"))?;
            let bytes = actix_web::rt::time::timeout(
                BODY_TIMEOUT,
                payload
                    .map_err(|e| ApiError::internal(e.to_string()))?
                    .to_bytes_limited(limit),
            )
            .await
            .map_err(|_| ApiError::RequestTimeout)?
            .map_err(|_| ApiError::PayloadTooLarge)?
            .map_err(|error| {
                ApiError::BadRequest(format!("Could not read the request body - {error}"))
            })?;
            parse(&req, &bytes).map(Self)
        })
    }
}

/// The media type of the request's `Content-Type`, lower-cased, without parameters.
pub(crate) fn media_type(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(header::CONTENT_TYPE)?;
    let value = String::from_utf8_lossy(value.as_bytes());
    Some(
        value
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase(),
    )
}

/// Parses the body by its content type. An empty body is `{}`, whatever its type.
pub(crate) fn parse(req: &HttpRequest, body: &[u8]) -> Result<Fields, ApiError> {
    if body.is_empty() {
        return Ok(Fields::new());
    }
    match media_type(req).as_deref() {
        Some("application/json") => parse_json(body),
        Some("application/x-www-form-urlencoded") => parse_form(body),
        _ => Err(ApiError::UnsupportedMediaType(
            req.headers()
                .get(header::CONTENT_TYPE)
                .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
                .unwrap_or_default(),
        )),
    }
}

fn parse_json(body: &[u8]) -> Result<Fields, ApiError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|error| ApiError::BadRequest(format!("JSON parse error - {error}")))?;
    match value {
        Value::Object(fields) => Ok(fields),
        Value::Null => Err(ApiError::Validation(FieldErrors::single(
            "No data provided",
        ))),
        other => Err(ApiError::Validation(not_a_dictionary(&other))),
    }
}

/// Form fields are strings; a repeated key keeps its last value, as Django's `QueryDict` does.
/// Dotted keys (`profile.phone`) fill nested objects, as DRF's nested serializers read them.
fn parse_form(body: &[u8]) -> Result<Fields, ApiError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
        .map_err(|error| ApiError::BadRequest(format!("Form parse error - {error}")))?;
    let mut fields = Fields::new();
    for (key, value) in pairs {
        match key.split_once('.') {
            Some((parent, child)) if !parent.is_empty() && !child.is_empty() => {
                let nested = fields
                    .entry(parent)
                    .or_insert_with(|| Value::Object(Fields::new()));
                if !nested.is_object() {
                    *nested = Value::Object(Fields::new());
                }
                if let Value::Object(nested) = nested {
                    nested.insert(child.to_owned(), Value::String(value));
                }
            }
            // DRF reads a nested field of a form only from dotted keys.
            _ if fields.get(&key).is_some_and(Value::is_object) => {}
            _ => {
                fields.insert(key, Value::String(value));
            }
        }
    }
    Ok(fields)
}

/// Python's name for the type a JSON value decodes to, as DRF reports it.
fn python_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(number) if number.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

fn not_a_dictionary(value: &Value) -> FieldErrors {
    FieldErrors::single_at(
        &[application::NON_FIELD_ERRORS],
        format!(
            "Invalid data. Expected a dictionary, but got {}.",
            python_type(value)
        ),
    )
}

/// A `CharField`: strings are trimmed as Python's `str.strip` does, numbers become their text,
/// anything else is refused, and so is a NUL character (PostgreSQL cannot store one).
pub(crate) fn string(fields: &Fields, key: &str) -> Submitted<String> {
    match fields.get(key) {
        None => Submitted::Absent,
        Some(Value::Null) => {
            Submitted::Rejected(FieldErrors::single("This field may not be null."))
        }
        Some(Value::String(text)) if text.contains('\0') => {
            Submitted::Rejected(FieldErrors::single("Null characters are not allowed."))
        }
        Some(Value::String(text)) => Submitted::Value(domain::python_strip(text).to_owned()),
        Some(Value::Number(number)) => Submitted::Value(number_text(number)),
        Some(_) => Submitted::Rejected(FieldErrors::single("Not a valid string.")),
    }
}

/// Python's `str()` of the number `json.loads` makes: an integer keeps every digit, however long
/// (Python's are unbounded), and a fraction or exponent is a float. `serde_json` keeps the text it
/// read (`arbitrary_precision`), so an integer too long for 64 bits is not rounded to a float.
fn number_text(number: &serde_json::Number) -> String {
    if let Some(integer) = number.as_i64() {
        return integer.to_string();
    }
    if let Some(integer) = number.as_u64() {
        return integer.to_string();
    }
    let text = number.to_string();
    let digits = text.strip_prefix('-').unwrap_or(&text);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        return text;
    }
    number
        .as_f64()
        .and_then(serde_json::Number::from_f64)
        .map_or(text, |float| float.to_string())
}

/// A nested serializer: an object whose fields `inner` reads.
pub(crate) fn object<T>(
    fields: &Fields,
    key: &str,
    inner: impl FnOnce(&Fields) -> T,
) -> Submitted<T> {
    match fields.get(key) {
        None => Submitted::Absent,
        Some(Value::Null) => {
            Submitted::Rejected(FieldErrors::single("This field may not be null."))
        }
        Some(Value::Object(nested)) => Submitted::Value(inner(nested)),
        Some(other) => Submitted::Rejected(not_a_dictionary(other)),
    }
}

#[cfg(test)]
mod tests;
