//! Who is calling. Bearer tokens are read as simplejwt's `JWTAuthentication` reads them, and
//! handlers take the caller as an extractor instead of reading the header themselves.
//!
//! The token is checked (signature, algorithm, type, times) on the worker: that is pure CPU work of
//! a few microseconds. Its user is loaded later, on the blocking pool, together with the rest of
//! the handler's database work, so an authenticated request costs one hop to the pool, not two.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use application::use_cases::Authenticate;
use domain::{TokenClaims, User};

use crate::error::ApiError;

/// A caller whose access token checked out.
pub(crate) struct Caller {
    pub claims: TokenClaims,
    authenticate: web::Data<Authenticate>,
}

impl Caller {
    /// The caller's user, refused when deleted or inactive. Blocks: call it in `blocking::run`.
    pub fn user(&self) -> Result<User, ApiError> {
        Ok(self.authenticate.user(&self.claims)?)
    }
}

/// The caller, if the request carries credentials. Bad credentials are refused even where none
/// are required, as DRF authenticates every request of a view that reads the header.
pub(crate) struct Credentials(pub Option<Caller>);

impl Credentials {
    /// Refuses a token whose user is deleted or inactive. Blocks, like [`Caller::user`].
    pub fn check(&self) -> Result<(), ApiError> {
        self.0
            .as_ref()
            .map_or(Ok(()), |caller| caller.user().map(drop))
    }
}

impl FromRequest for Credentials {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(caller(req).map(Self))
    }
}

/// A signed-in caller; a request without credentials is 401.
pub(crate) struct Authenticated(pub Caller);

impl FromRequest for Authenticated {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(caller(req).and_then(|caller| caller.map(Self).ok_or(ApiError::NotAuthenticated)))
    }
}

/// The caller behind the `Authorization` header, with its token checked but its user not loaded.
pub(crate) fn caller(req: &HttpRequest) -> Result<Option<Caller>, ApiError> {
    let Some(token) = bearer_token(req)? else {
        return Ok(None);
    };
    let authenticate = req
        .app_data::<web::Data<Authenticate>>()
        .ok_or_else(|| ApiError::internal("the Authenticate use case is not registered"))?
        .clone();
    let claims = authenticate.decode(&token)?;
    Ok(Some(Caller {
        claims,
        authenticate,
    }))
}

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
