use std::collections::BTreeSet;

use serde_json::Value;

use super::*;

fn served() -> Value {
    serde_json::from_slice(json()).expect("the document is JSON")
}

fn operations(document: &Value) -> Vec<(String, String, Value)> {
    let mut operations = Vec::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("a path item") {
            operations.push((method.clone(), path.clone(), operation.clone()));
        }
    }
    operations
}

#[test]
fn every_operation_that_reads_a_body_documents_the_answers_about_bodies() {
    for (method, path, operation) in operations(&served()) {
        if operation.get("requestBody").is_none() {
            continue;
        }
        for status in ["400", "413", "415"] {
            assert!(
                operation["responses"].get(status).is_some(),
                "{method} {path} lacks {status}"
            );
        }
        let content = operation["requestBody"]["content"]
            .as_object()
            .expect("content");
        assert!(content.contains_key("application/json"), "{method} {path}");
    }
}

#[test]
fn operation_ids_are_unique_and_every_operation_has_a_summary_and_a_tag() {
    let mut ids = BTreeSet::new();
    for (method, path, operation) in operations(&served()) {
        let id = operation["operationId"].as_str().expect("an operation id");
        assert!(ids.insert(id.to_owned()), "{id} twice");
        assert!(operation["summary"].is_string(), "{method} {path}");
        assert_eq!(
            operation["tags"].as_array().map(Vec::len),
            Some(1),
            "{method} {path}"
        );
    }
}

#[test]
fn a_phone_given_as_a_number_has_the_exact_bounds_of_twenty_characters() {
    let integer = served()["components"]["schemas"]["Phone"]["oneOf"][1].clone();
    assert_eq!(integer["type"], "integer");
    assert_eq!(integer["minimum"].to_string(), "-9999999999999999999");
    assert_eq!(integer["maximum"].to_string(), "99999999999999999999");
}
