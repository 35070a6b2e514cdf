//! `GET /api/openapi.json` and `GET /api/docs`: the document lists exactly the operations the
//! server answers, and its page loads nothing from elsewhere.

use std::collections::{BTreeMap, BTreeSet};

use reqwest::header::{ALLOW, CONTENT_SECURITY_POLICY, CONTENT_TYPE};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{PASSWORD, TestApp};

/// The contract's operations (API.md), the probes, and the document's own two pages.
const CONTRACT: &[(&str, &str)] = &[
    ("POST", "/api/auth/register"),
    ("POST", "/api/auth/login"),
    ("POST", "/api/auth/refresh"),
    ("POST", "/api/auth/verify"),
    ("POST", "/api/auth/logout"),
    ("GET", "/api/auth/profile"),
    ("PUT", "/api/auth/profile"),
    ("PATCH", "/api/auth/profile"),
    ("GET", "/api/auth/sessions"),
    ("DELETE", "/api/auth/sessions/{id}"),
    ("POST", "/api/auth/password/change"),
    ("POST", "/api/auth/password/reset"),
    ("POST", "/api/auth/password/reset/confirm"),
    ("POST", "/api/auth/email/verify"),
    ("POST", "/api/auth/email/resend"),
    ("POST", "/api/auth/account/delete"),
    ("GET", "/health"),
    ("GET", "/ready"),
    ("GET", "/api/openapi.json"),
    ("GET", "/api/docs"),
    ("GET", "/api/docs/{file}"),
];

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

async fn document(app: &TestApp) -> Value {
    let response = app.get("/api/openapi.json").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
    response.json().await.unwrap()
}

/// Every documented operation, by path: its methods and, for each, its documented statuses.
fn operations(document: &Value) -> BTreeMap<String, BTreeMap<String, BTreeSet<String>>> {
    let paths = document["paths"].as_object().expect("paths");
    paths
        .iter()
        .map(|(path, item)| {
            let methods = item
                .as_object()
                .unwrap()
                .iter()
                .filter(|(method, _)| METHODS.contains(&method.to_ascii_uppercase().as_str()))
                .map(|(method, operation)| {
                    let statuses = operation["responses"]
                        .as_object()
                        .unwrap()
                        .keys()
                        .cloned()
                        .collect();
                    (method.to_ascii_uppercase(), statuses)
                })
                .collect();
            (path.clone(), methods)
        })
        .collect()
}

/// A concrete path for a documented one: `{id}` becomes `id`, `{file}` a file of the page.
fn concrete(path: &str, id: &str) -> String {
    path.replace("{id}", id).replace("{file}", "swagger-ui.css")
}

async fn sign_in(app: &TestApp, username: &str) -> String {
    let response = app
        .post_json(
            "/api/auth/login/",
            json!({"username": username, "password": PASSWORD}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    body["access"].as_str().unwrap().to_owned()
}

/// The ids of the user's sessions but the one of `access`.
async fn other_sessions(app: &TestApp, access: &str) -> Vec<String> {
    let sessions: Value = app
        .get("/api/auth/sessions")
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    sessions
        .as_array()
        .unwrap()
        .iter()
        .filter(|session| session["current"] == json!(false))
        .map(|session| session["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_document_is_openapi_3_1_with_the_bearer_scheme_and_no_dangling_reference() {
    let app = TestApp::sqlite().await;
    let document = document(&app).await;
    assert_eq!(document["openapi"], "3.1.0");
    assert_eq!(
        document["components"]["securitySchemes"]["bearer"],
        json!({
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": document["components"]["securitySchemes"]["bearer"]["description"],
        })
    );
    let mut references = Vec::new();
    collect_references(&document, &mut references);
    assert!(!references.is_empty());
    for reference in references {
        let pointer = reference.strip_prefix('#').expect("a local reference");
        assert!(
            document.pointer(pointer).is_some(),
            "{reference} points at nothing"
        );
    }
    // The protected operations require the token; the ones that read it take it optionally.
    let security = |path: &str, method: &str| document["paths"][path][method]["security"].clone();
    assert_eq!(
        security("/api/auth/profile", "get"),
        json!([{"bearer": []}])
    );
    assert_eq!(
        security("/api/auth/login", "post"),
        json!([{}, {"bearer": []}])
    );
    assert_eq!(security("/api/auth/refresh", "post"), Value::Null);
    assert_eq!(
        document["paths"]["/api/auth/profile"]["get"]["responses"]["401"],
        json!({"$ref": "#/components/responses/NotAuthenticated"})
    );
}

fn collect_references(value: &Value, references: &mut Vec<String>) {
    match value {
        Value::Object(object) => {
            for (key, value) in object {
                match (key.as_str(), value) {
                    ("$ref", Value::String(reference)) => references.push(reference.clone()),
                    _ => collect_references(value, references),
                }
            }
        }
        Value::Array(values) => values
            .iter()
            .for_each(|value| collect_references(value, references)),
        _ => {}
    }
}

#[tokio::test]
async fn the_document_lists_exactly_the_contracts_operations() {
    let app = TestApp::sqlite().await;
    let documented: BTreeSet<(String, String)> = operations(&document(&app).await)
        .into_iter()
        .flat_map(|(path, methods)| {
            methods
                .into_keys()
                .map(move |method| (method, path.clone()))
        })
        .collect();
    let contract: BTreeSet<(String, String)> = CONTRACT
        .iter()
        .map(|(method, path)| ((*method).to_owned(), (*path).to_owned()))
        .collect();
    assert_eq!(documented, contract);
}

/// Every documented operation is served, with and without the trailing slash, and answers one
/// of its documented statuses; `HEAD` is served beside every `GET`.
#[tokio::test]
async fn every_documented_operation_is_served_and_answers_a_documented_status() {
    let app = TestApp::sqlite().await;
    let access = app.register("alice").await.access;
    for _ in 0..2 {
        sign_in(&app, "alice").await;
    }
    let mut sessions = other_sessions(&app, &access).await;
    for (path, methods) in operations(&document(&app).await) {
        for (method, statuses) in methods {
            for slash in ["", "/"] {
                let id = if path.contains("{id}") {
                    sessions.pop().expect("a session for each spelling")
                } else {
                    String::new()
                };
                let url = format!("{}{slash}", concrete(&path, &id));
                let method = Method::from_bytes(method.as_bytes()).unwrap();
                let mut request = app
                    .client
                    .request(method.clone(), app.url(&url))
                    .bearer_auth(&access);
                if method != Method::GET && method != Method::DELETE {
                    request = request.json(&json!({}));
                }
                let response = request.send().await.unwrap();
                let status = response.status();
                assert_ne!(
                    status,
                    StatusCode::NOT_FOUND,
                    "{method} {url} is not served"
                );
                assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {url}");
                assert!(
                    statuses.contains(status.as_str()),
                    "{method} {url} answered {status}, documented {statuses:?}"
                );
                if method == Method::GET {
                    let head = app
                        .client
                        .head(app.url(&url))
                        .bearer_auth(&access)
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(head.status(), status, "HEAD {url}");
                }
            }
        }
    }
}

/// On every documented path, every method the document does not list is refused, and `Allow`
/// names exactly the documented ones (with `HEAD` beside `GET`, and `OPTIONS`).
#[tokio::test]
async fn every_undocumented_method_is_refused_and_allow_names_the_documented_ones() {
    let app = TestApp::sqlite().await;
    let access = app.register("alice").await.access;
    for (path, methods) in operations(&document(&app).await) {
        let url = concrete(&path, "unknown-session");
        let mut allowed: BTreeSet<String> = methods.keys().cloned().collect();
        if allowed.contains("GET") {
            allowed.insert("HEAD".to_owned());
        }
        allowed.insert("OPTIONS".to_owned());
        for method in METHODS
            .iter()
            .filter(|method| !methods.contains_key(**method))
        {
            let response = app
                .client
                .request(
                    Method::from_bytes(method.as_bytes()).unwrap(),
                    app.url(&url),
                )
                .bearer_auth(&access)
                .send()
                .await
                .unwrap();
            assert_eq!(
                response.status(),
                StatusCode::METHOD_NOT_ALLOWED,
                "{method} {url} is served but not documented"
            );
            let allow: BTreeSet<String> = response.headers()[ALLOW]
                .to_str()
                .unwrap()
                .split(',')
                .map(|method| method.trim().to_owned())
                .collect();
            assert_eq!(allow, allowed, "Allow of {url}");
        }
    }
}

#[tokio::test]
async fn the_documentation_page_loads_only_files_the_server_serves() {
    let app = TestApp::sqlite().await;
    for page in ["/api/docs", "/api/docs/"] {
        let response = app.get(page).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{page}");
        assert!(
            response.headers()[CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/html"),
            "{page}"
        );
        let policy = response.headers()[CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(policy.starts_with("default-src 'none'"), "{policy}");
        assert!(!policy.contains("http"), "{policy}");
        let html = response.text().await.unwrap();
        assert!(html.contains("<base href=\"/api/docs/\">"), "{html}");
        let files = linked_files(&html);
        assert!(files.len() >= 4, "{files:?}");
        for file in files {
            assert!(
                !file.contains("//") && !file.contains(':'),
                "{file} is on another origin"
            );
            let name = file.trim_start_matches("./");
            let response = app.get(&format!("/api/docs/{name}")).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::OK, "{name}");
            let text = String::from_utf8_lossy(&response.bytes().await.unwrap()).into_owned();
            if name.ends_with(".css") {
                for url in text.split("url(").skip(1) {
                    let url = url.trim_start_matches(['"', '\'']);
                    assert!(url.starts_with("data:"), "{name} loads {url:.40}");
                }
            }
        }
    }
    let initializer = app
        .get("/api/docs/swagger-initializer.js")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        initializer.contains("\"/api/openapi.json\""),
        "{initializer}"
    );
    assert!(!initializer.contains("http"), "{initializer}");
    assert!(
        initializer.contains("\"validatorUrl\": \"none\""),
        "{initializer}"
    );
    let missing = app.get("/api/docs/no-such-file.js").send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

/// The `src` and `href` values of a page.
fn linked_files(html: &str) -> Vec<String> {
    let mut files = Vec::new();
    for attribute in ["src=\"", "href=\""] {
        for rest in html.split(attribute).skip(1) {
            let value = rest.split('"').next().unwrap_or_default();
            if value != "/api/docs/" {
                files.push(value.to_owned());
            }
        }
    }
    files
}
