//! One error type for every response that is not a success, rendered as DRF renders it.

use std::error::Error as StdError;
use std::fmt;

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpResponse, ResponseError};
use application::ports::TokenProblem;
use application::{FieldErrors, NON_FIELD_ERRORS};
use serde_json::{Map, Value, json};

mod conversions;

/// The realm DRF's bearer authentication announces on every 401.
const WWW_AUTHENTICATE: &str = "Bearer realm=\"api\"";

#[derive(Debug)]
pub enum ApiError {
    /// 400 with field errors.
    Validation(FieldErrors),
    /// 400 with a `detail` message (malformed JSON, say).
    BadRequest(String),
    /// 400 for a `Host` that is not allowed.
    DisallowedHost,
    NotAuthenticated,
    BadAuthorizationHeader,
    /// A refused access token (`for_access`) or refresh token.
    TokenNotValid {
        problem: TokenProblem,
        for_access: bool,
    },
    UserNotFound,
    UserInactive,
    InvalidCredentials,
    /// 403 with a `detail` message.
    Forbidden(String),
    NotFound,
    /// 405; the endpoint's `Allow` header is added by its resource, on every response.
    MethodNotAllowed {
        method: String,
    },
    UnsupportedMediaType(String),
    PayloadTooLarge,
    RequestTimeout,
    /// 429 with `Retry-After`: the request may be repeated after `wait_secs` seconds.
    Throttled {
        wait_secs: u64,
    },
    /// 503: the database cannot be reached.
    Unavailable(Box<dyn StdError + Send + Sync>),
    /// 500: the cause is logged, never shown.
    Internal(Box<dyn StdError + Send + Sync>),
}

impl ApiError {
    pub fn internal(error: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        Self::Internal(error.into())
    }

    fn body(&self) -> Value {
        match self {
            Self::Validation(errors) => render_field_errors(errors),
            Self::BadRequest(detail) => json!({ "detail": detail }),
            Self::DisallowedHost => json!({ "detail": "Bad request." }),
            Self::NotAuthenticated => {
                json!({ "detail": "Authentication credentials were not provided." })
            }
            Self::BadAuthorizationHeader => json!({
                "detail": "Authorization header must contain two space-delimited values",
                "code": "bad_authorization_header",
            }),
            Self::TokenNotValid {
                problem,
                for_access: true,
            } => json!({
                "detail": "Given token not valid for any token type",
                "code": "token_not_valid",
                "messages": [{
                    "token_class": "AccessToken",
                    "token_type": "access",
                    "message": problem.to_string(),
                }],
            }),
            Self::TokenNotValid {
                problem,
                for_access: false,
            } => {
                json!({ "detail": problem.to_string(), "code": "token_not_valid" })
            }
            Self::UserNotFound => json!({ "detail": "User not found", "code": "user_not_found" }),
            Self::UserInactive => json!({ "detail": "User is inactive", "code": "user_inactive" }),
            Self::InvalidCredentials => {
                json!({ "detail": "No active account found with the given credentials" })
            }
            Self::Forbidden(detail) => json!({ "detail": detail }),
            Self::NotFound => json!({ "detail": "Not found." }),
            Self::MethodNotAllowed { method, .. } => {
                json!({ "detail": format!("Method \"{method}\" not allowed.") })
            }
            Self::UnsupportedMediaType(media_type) => {
                json!({ "detail": format!("Unsupported media type \"{media_type}\" in request.") })
            }
            Self::PayloadTooLarge => json!({ "detail": "Request body is too large." }),
            Self::RequestTimeout => json!({ "detail": "Request body was not received in time." }),
            Self::Throttled { wait_secs } => {
                let unit = if *wait_secs == 1 { "second" } else { "seconds" };
                json!({
                    "detail": format!(
                        "Request was throttled. Expected available in {wait_secs} {unit}."
                    )
                })
            }
            Self::Unavailable(_) => {
                json!({ "detail": "Service temporarily unavailable, try again later." })
            }
            Self::Internal(_) => json!({ "detail": "A server error occurred." }),
        }
    }
}

/// DRF's nesting: `{"field": ["message"]}`, `{"profile": {"phone": ["message"]}}`; errors about
/// the body as a whole go under `non_field_errors`.
fn render_field_errors(errors: &FieldErrors) -> Value {
    let mut root = Map::new();
    for (path, message) in errors.iter() {
        let path: &[&str] = if path.is_empty() {
            &[NON_FIELD_ERRORS]
        } else {
            path
        };
        let mut node = &mut root;
        for key in &path[..path.len() - 1] {
            let entry = node
                .entry(*key)
                .or_insert_with(|| Value::Object(Map::new()));
            if !entry.is_object() {
                // A list of messages for the object itself already stands here; nest beside it.
                let messages = entry.take();
                *entry = json!({ NON_FIELD_ERRORS: messages });
            }
            node = entry.as_object_mut().expect("made an object above");
        }
        let leaf = path[path.len() - 1];
        match node.entry(leaf).or_insert_with(|| Value::Array(Vec::new())) {
            Value::Array(messages) => messages.push(Value::String(message.to_owned())),
            Value::Object(nested) => {
                let list = nested.entry(NON_FIELD_ERRORS).or_insert_with(|| json!([]));
                if let Value::Array(messages) = list {
                    messages.push(Value::String(message.to_owned()));
                }
            }
            _ => {}
        }
    }
    Value::Object(root)
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unavailable(cause) | Self::Internal(cause) => {
                write!(f, "{}", self.status_code())?;
                let mut next: Option<&dyn StdError> = Some(cause.as_ref());
                while let Some(error) = next {
                    write!(f, ": {error}")?;
                    next = error.source();
                }
                Ok(())
            }
            other => write!(f, "{} {}", other.status_code(), other.body()),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Validation(_) | Self::BadRequest(_) | Self::DisallowedHost => {
                StatusCode::BAD_REQUEST
            }
            Self::NotAuthenticated
            | Self::BadAuthorizationHeader
            | Self::TokenNotValid { .. }
            | Self::UserNotFound
            | Self::UserInactive
            | Self::InvalidCredentials => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::Unavailable(_) => tracing::warn!(error = %self, "database unavailable"),
            Self::Internal(_) => tracing::error!(error = %self, "internal error"),
            _ => {}
        }
        let mut response = HttpResponse::build(self.status_code());
        if self.status_code() == StatusCode::UNAUTHORIZED {
            response.insert_header((header::WWW_AUTHENTICATE, WWW_AUTHENTICATE));
        }
        match self {
            Self::Unavailable(_) => {
                response.insert_header((header::RETRY_AFTER, "5"));
            }
            Self::Throttled { wait_secs } => {
                response.insert_header((header::RETRY_AFTER, wait_secs.to_string()));
            }
            _ => {}
        }
        response.json(self.body())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_errors_nest_like_drf() {
        let mut errors = FieldErrors::new();
        errors.add(&["username"], "taken");
        errors.add(&["username"], "invalid");
        errors.add(&["profile", "phone"], "too long");
        errors.add(&[], "body problem");
        assert_eq!(
            render_field_errors(&errors),
            json!({
                "username": ["taken", "invalid"],
                "profile": {"phone": ["too long"]},
                "non_field_errors": ["body problem"],
            })
        );
    }

    #[test]
    fn an_access_token_problem_lists_the_token_class() {
        let error = ApiError::TokenNotValid {
            problem: TokenProblem::Expired,
            for_access: true,
        };
        assert_eq!(error.body()["messages"][0]["message"], "Token is expired");
        assert_eq!(error.status_code(), StatusCode::UNAUTHORIZED);
    }

    #[test]
    fn every_401_announces_the_bearer_realm() {
        for error in [
            ApiError::NotAuthenticated,
            ApiError::InvalidCredentials,
            ApiError::UserInactive,
        ] {
            let response = error.error_response();
            assert_eq!(
                response
                    .headers()
                    .get(header::WWW_AUTHENTICATE)
                    .and_then(|v| v.to_str().ok()),
                Some(WWW_AUTHENTICATE)
            );
        }
    }

    #[test]
    fn a_throttled_request_says_when_to_come_back_in_drfs_words_and_in_retry_after() {
        for (wait_secs, detail) in [
            (1, "Request was throttled. Expected available in 1 second."),
            (2, "Request was throttled. Expected available in 2 seconds."),
            (
                900,
                "Request was throttled. Expected available in 900 seconds.",
            ),
        ] {
            let error = ApiError::Throttled { wait_secs };
            assert_eq!(error.body(), json!({ "detail": detail }));
            let response = error.error_response();
            assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
            assert_eq!(
                response
                    .headers()
                    .get(header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok()),
                Some(wait_secs.to_string().as_str())
            );
        }
    }

    #[test]
    fn internal_errors_hide_their_cause_from_the_client_but_not_from_the_log_line() {
        let error = ApiError::internal("disk on fire");
        assert_eq!(error.body(), json!({"detail": "A server error occurred."}));
        assert!(error.to_string().contains("disk on fire"));
    }
}
