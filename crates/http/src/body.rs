//! Request bodies as DRF's parsers and `CharField` see them.

use actix_web::HttpRequest;
use actix_web::http::header;
use application::{FieldErrors, Submitted};
use serde_json::{Map, Value};

use crate::error::ApiError;

/// A request body: the JSON object, or the form fields as strings.
pub(crate) type Fields = Map<String, Value>;

/// Parses the body by its content type. An empty body is `{}`, whatever its type.
pub(crate) fn parse(req: &HttpRequest, body: &[u8]) -> Result<Fields, ApiError> {
    if body.is_empty() {
        return Ok(Fields::new());
    }
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
        .unwrap_or_default();
    let media_type = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    match media_type.as_str() {
        "application/json" => parse_json(body),
        "application/x-www-form-urlencoded" => parse_form(body),
        _ => Err(ApiError::UnsupportedMediaType(content_type)),
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
        Some(Value::Number(number)) => Submitted::Value(number.to_string()),
        Some(_) => Submitted::Rejected(FieldErrors::single("Not a valid string.")),
    }
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
mod tests {
    use super::*;
    use actix_web::test::TestRequest;
    use serde_json::json;

    fn fields(value: Value) -> Fields {
        match value {
            Value::Object(map) => map,
            _ => Fields::new(),
        }
    }

    #[test]
    fn strings_are_trimmed_and_numbers_become_text() {
        let body = fields(json!({"a": "  padded \t", "b": 42, "c": 1.5}));
        assert_eq!(string(&body, "a"), Submitted::Value("padded".into()));
        assert_eq!(string(&body, "b"), Submitted::Value("42".into()));
        assert_eq!(string(&body, "c"), Submitted::Value("1.5".into()));
        assert_eq!(string(&body, "missing"), Submitted::Absent);
    }

    #[test]
    fn booleans_lists_and_null_are_not_strings() {
        let body = fields(json!({"t": true, "l": [], "n": null}));
        assert_eq!(
            string(&body, "t"),
            Submitted::Rejected(FieldErrors::single("Not a valid string."))
        );
        assert_eq!(
            string(&body, "l"),
            Submitted::Rejected(FieldErrors::single("Not a valid string."))
        );
        assert_eq!(
            string(&body, "n"),
            Submitted::Rejected(FieldErrors::single("This field may not be null."))
        );
    }

    #[test]
    fn a_nested_field_that_is_not_an_object_names_its_python_type() {
        let body = fields(json!({"profile": "x"}));
        let Submitted::Rejected(errors) = object(&body, "profile", |_| ()) else {
            panic!("expected a rejection")
        };
        assert_eq!(
            errors.iter().collect::<Vec<_>>(),
            vec![(
                &["non_field_errors"][..],
                "Invalid data. Expected a dictionary, but got str."
            )]
        );
    }

    #[test]
    fn form_bodies_keep_the_last_value_of_a_repeated_key() {
        let req = TestRequest::default()
            .insert_header((header::CONTENT_TYPE, "application/x-www-form-urlencoded"))
            .to_http_request();
        let parsed = parse(&req, b"username=a&username=b&password=p%20w").expect("parses");
        assert_eq!(parsed.get("username"), Some(&json!("b")));
        assert_eq!(parsed.get("password"), Some(&json!("p w")));
    }

    #[test]
    fn dotted_form_keys_fill_nested_objects_and_shadow_a_plain_key() {
        let req = TestRequest::default()
            .insert_header((header::CONTENT_TYPE, "application/x-www-form-urlencoded"))
            .to_http_request();
        let parsed = parse(&req, b"profile=abc&profile.phone=555&username=a").expect("parses");
        assert_eq!(parsed.get("profile"), Some(&json!({"phone": "555"})));
        assert_eq!(parsed.get("username"), Some(&json!("a")));
    }

    #[test]
    fn nul_characters_are_refused_and_information_separators_trimmed() {
        let body = fields(json!({"a": "x\u{0}y", "b": "\u{1c} name \u{1f}"}));
        assert_eq!(
            string(&body, "a"),
            Submitted::Rejected(FieldErrors::single("Null characters are not allowed."))
        );
        assert_eq!(string(&body, "b"), Submitted::Value("name".into()));
    }

    #[test]
    fn a_body_without_a_content_type_is_unsupported() {
        let req = TestRequest::default().to_http_request();
        assert!(
            matches!(parse(&req, b"{}"), Err(ApiError::UnsupportedMediaType(t)) if t.is_empty())
        );
    }

    #[test]
    fn an_unknown_content_type_is_unsupported() {
        let req = TestRequest::default()
            .insert_header((header::CONTENT_TYPE, "text/plain"))
            .to_http_request();
        assert!(
            matches!(parse(&req, b"hi"), Err(ApiError::UnsupportedMediaType(t)) if t == "text/plain")
        );
    }

    #[test]
    fn an_empty_body_is_an_empty_object_whatever_its_type() {
        let req = TestRequest::default()
            .insert_header((header::CONTENT_TYPE, "text/plain"))
            .to_http_request();
        assert!(parse(&req, b"").expect("empty is fine").is_empty());
    }

    #[test]
    fn a_json_list_is_not_a_dictionary() {
        let req = TestRequest::default()
            .insert_header((header::CONTENT_TYPE, "application/json"))
            .to_http_request();
        let Err(ApiError::Validation(errors)) = parse(&req, b"[1]") else {
            panic!("expected field errors")
        };
        assert_eq!(
            errors.iter().collect::<Vec<_>>(),
            vec![(
                &["non_field_errors"][..],
                "Invalid data. Expected a dictionary, but got list."
            )]
        );
    }
}
