//! Bodies as DRF parses them.

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
    assert!(matches!(parse(&req, b"{}"), Err(ApiError::UnsupportedMediaType(t)) if t.is_empty()));
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

#[test]
fn an_integer_too_long_for_64_bits_keeps_every_digit() {
    let body = parse_json(
        br#"{"a": -10000000000000000001, "b": 123456789012345678901234567890, "c": 1e5, "d": 0.1}"#,
    )
    .expect("a JSON object");
    let text = |key| match string(&body, key) {
        Submitted::Value(text) => text,
        _ => panic!("{key} is a string"),
    };
    assert_eq!(text("a"), "-10000000000000000001");
    assert_eq!(text("b"), "123456789012345678901234567890");
    assert_eq!(text("c"), "100000.0");
    assert_eq!(text("d"), "0.1");
}
