//! Property tests for the parsers that face the network: the request body (JSON and form), the
//! `Authorization` header and `X-Forwarded-For`. Whatever arrives, they never panic, and what
//! they refuse becomes the API's own error (a DRF-style 400, 401 or 415), never a 500.

use std::net::IpAddr;

use actix_web::ResponseError;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::test::TestRequest;
use proptest::prelude::*;

use crate::auth::bearer_token;
use crate::body;
use crate::client::{TrustedProxies, forwarded_from_the_right};
use crate::error::ApiError;

/// The error as a client sees it: its status and a JSON object body.
fn assert_api_error(error: &ApiError, allowed: &[StatusCode]) -> Result<(), TestCaseError> {
    let status = error.status_code();
    prop_assert!(allowed.contains(&status), "{status} for {error:?}");
    let response = error.error_response();
    prop_assert_eq!(response.status(), status);
    prop_assert_eq!(
        response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok()),
        Some("application/json")
    );
    Ok(())
}

/// JSON-looking text: objects, arrays, strings with escapes, numbers, nesting, and garbage.
fn json_like() -> impl Strategy<Value = Vec<u8>> {
    let leaf = prop_oneof![
        Just("null".to_owned()),
        Just("true".to_owned()),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|n| n.to_string()),
        "\"[^\"\\\\]{0,8}\"".prop_map(|s| s),
        Just("\"\\ud800\"".to_owned()),
        Just("1e999".to_owned()),
        "[ -~]{0,6}",
    ];
    let value = leaf.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4)
                .prop_map(|items| format!("[{}]", items.join(","))),
            prop::collection::vec(("[a-z._]{0,6}", inner), 0..4).prop_map(|pairs| {
                let fields: Vec<String> = pairs
                    .into_iter()
                    .map(|(k, v)| format!("\"{k}\":{v}"))
                    .collect();
                format!("{{{}}}", fields.join(","))
            }),
        ]
    });
    prop_oneof![
        value.prop_map(String::into_bytes),
        prop::collection::vec(any::<u8>(), 0..64),
    ]
}

/// Form-looking bodies: pairs with dotted keys, percent escapes (some invalid), and raw bytes.
fn form_like() -> impl Strategy<Value = Vec<u8>> {
    let part = "([a-z.]{0,6}|%[0-9A-Fa-f]{2}|%[G-Zg-z]{1,2}|%|\\+|&|=|[\\x00-\\xff]{0,3})";
    prop_oneof![
        prop::collection::vec(part, 0..12).prop_map(|parts| parts.concat().into_bytes()),
        prop::collection::vec(any::<u8>(), 0..64),
    ]
}

fn request_with(content_type: &str) -> actix_web::HttpRequest {
    let mut request = TestRequest::post();
    if let Ok(value) = HeaderValue::from_str(content_type) {
        request = request.insert_header((header::CONTENT_TYPE, value));
    }
    request.to_http_request()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_json_body_parses_or_is_a_400(body in json_like()) {
        let request = request_with("application/json");
        if let Err(error) = body::parse(&request, &body) {
            assert_api_error(&error, &[StatusCode::BAD_REQUEST])?;
        }
    }

    #[test]
    fn any_form_body_parses_or_is_a_400(body in form_like()) {
        let request = request_with("application/x-www-form-urlencoded; charset=utf-8");
        if let Err(error) = body::parse(&request, &body) {
            assert_api_error(&error, &[StatusCode::BAD_REQUEST])?;
        }
    }

    #[test]
    fn any_content_type_parses_or_is_a_400_or_a_415(
        content_type in "[ -~]{0,40}",
        body in prop::collection::vec(any::<u8>(), 0..32),
    ) {
        let request = request_with(&content_type);
        if let Err(error) = body::parse(&request, &body) {
            assert_api_error(
                &error,
                &[StatusCode::BAD_REQUEST, StatusCode::UNSUPPORTED_MEDIA_TYPE],
            )?;
        }
    }

    #[test]
    fn any_authorization_header_is_a_token_no_credentials_or_a_401(
        value in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..48),
            "(Bearer|bearer|Basic|Token)?[ \\t]{0,2}[!-~]{0,20}([ \\t][!-~]{0,8}){0,2}"
                .prop_map(String::into_bytes),
        ],
    ) {
        // Only what a header can hold reaches the parser.
        let Ok(value) = HeaderValue::from_bytes(&value) else {
            return Ok(());
        };
        let request = TestRequest::get()
            .insert_header((header::AUTHORIZATION, value))
            .to_http_request();
        match bearer_token(&request) {
            Ok(Some(token)) => {
                prop_assert!(!token.is_empty());
                prop_assert!(!token.contains([' ', '\t', '\n', '\r']));
            }
            Ok(None) => {}
            Err(error) => assert_api_error(&error, &[StatusCode::UNAUTHORIZED])?,
        }
    }

    #[test]
    fn x_forwarded_for_yields_the_peer_or_an_address_it_names(
        headers in prop::collection::vec(
            prop_oneof![
                prop::collection::vec(any::<u8>(), 0..24),
                prop::collection::vec(
                    prop_oneof![
                        "10\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}",
                        "203\\.0\\.113\\.[0-9]{1,3}(:[0-9]{1,5})?",
                        "\\[?2001:db8::[0-9a-f]{1,4}\\]?(:[0-9]{1,5})?",
                        Just("unknown".to_owned()),
                        Just(String::new()),
                        "[ -~]{0,10}",
                    ],
                    0..5,
                )
                .prop_map(|entries| entries.join(",").into_bytes()),
            ],
            0..3,
        ),
        peer_is_proxy in any::<bool>(),
    ) {
        let proxies = TrustedProxies::parse(&["10.0.0.0/8", "127.0.0.1"]).expect("valid");
        let peer: IpAddr = if peer_is_proxy { "10.1.2.3" } else { "198.51.100.7" }
            .parse()
            .expect("an address");
        let mut request = TestRequest::get();
        let mut named = Vec::new();
        for value in &headers {
            if let Ok(value) = HeaderValue::from_bytes(value) {
                named.push(String::from_utf8_lossy(value.as_bytes()).into_owned());
                request = request.append_header(("x-forwarded-for", value));
            }
        }
        let request = request.to_http_request();
        let client = proxies.client_behind(peer, forwarded_from_the_right(request.headers()));
        if !peer_is_proxy {
            prop_assert_eq!(client, peer);
        } else if client != peer {
            // Taken from the header: an address some entry names, in whatever spelling.
            let names_it = |entry: &str| {
                let entry = entry.trim();
                let parsed = entry
                    .parse::<IpAddr>()
                    .ok()
                    .or_else(|| entry.parse::<std::net::SocketAddr>().ok().map(|s| s.ip()))
                    .or_else(|| {
                        entry
                            .strip_prefix('[')?
                            .strip_suffix(']')?
                            .parse::<IpAddr>()
                            .ok()
                    });
                parsed.is_some_and(|ip| ip.to_canonical() == client)
            };
            prop_assert!(
                named.iter().any(|value| value.split(',').any(names_it)),
                "{client} is in none of {named:?}"
            );
        }
    }
}
