//! Bearer tokens from the `Authorization` header, read as simplejwt's `JWTAuthentication` does.

use actix_web::HttpRequest;
use actix_web::http::header;

use crate::error::ApiError;

/// Returns the token of a `Bearer` header; `None` when there is no header, it is empty, or it
/// names another scheme (those are "no credentials", not errors).
///
/// # Errors
/// `Bearer` with no token or with more than one word after it.
pub(crate) fn bearer_token(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = String::from_utf8_lossy(value.as_bytes());
    // Python's `bytes.split()`: ASCII white space only, so a non-breaking space is part of a word.
    let parts: Vec<&str> = value
        .split([' ', '\t', '\n', '\r', '\x0b', '\x0c'])
        .filter(|part| !part.is_empty())
        .collect();
    match parts.as_slice() {
        ["Bearer", token] => Ok(Some((*token).to_owned())),
        ["Bearer", ..] => Err(ApiError::BadAuthorizationHeader),
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn token_of(header_value: &str) -> Result<Option<String>, ApiError> {
        bearer_token(
            &TestRequest::default()
                .insert_header((header::AUTHORIZATION, header_value))
                .to_http_request(),
        )
    }

    #[test]
    fn a_bearer_header_gives_its_token() {
        assert_eq!(
            token_of("Bearer abc.def.ghi").ok().flatten().as_deref(),
            Some("abc.def.ghi")
        );
    }

    #[test]
    fn bearer_without_a_token_or_with_two_is_a_bad_header() {
        assert!(matches!(
            token_of("Bearer"),
            Err(ApiError::BadAuthorizationHeader)
        ));
        assert!(matches!(
            token_of("Bearer a b"),
            Err(ApiError::BadAuthorizationHeader)
        ));
    }

    #[test]
    fn other_schemes_and_lower_case_bearer_are_no_credentials() {
        assert!(matches!(token_of("Token abc"), Ok(None)));
        assert!(matches!(token_of("bearer abc"), Ok(None)));
        assert!(matches!(token_of(""), Ok(None)));
    }
}
