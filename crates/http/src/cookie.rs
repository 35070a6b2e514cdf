//! The optional refresh-token cookie, for browser clients that should never hold the refresh
//! token in script-readable storage. Bodies stay as the API contract says; the cookie is extra.
//!
//! A cookie is sent by the browser on its own, so a request that relies on it must prove it comes
//! from an allowed page: a JSON content type (which a cross-site form cannot send without a CORS
//! preflight) and an `Origin` that is allowed or the server's own.

use std::time::Duration;

use actix_web::HttpRequest;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header;
use application::Submitted;

use crate::body::{self, Fields};
use crate::error::ApiError;
use crate::server::AppState;

pub(crate) const REFRESH_COOKIE: &str = "refresh_token";
const COOKIE_PATH: &str = "/api/auth";

/// How the refresh-token cookie is set, when it is enabled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefreshCookie {
    /// The refresh token's lifetime, which the cookie shares.
    pub max_age: Duration,
    /// Sent only over HTTPS; off in development, where the server speaks plain HTTP.
    pub secure: bool,
}

impl RefreshCookie {
    /// The cookie carrying a newly issued refresh token.
    pub(crate) fn issue(&self, token: String) -> Cookie<'static> {
        let max_age = i64::try_from(self.max_age.as_secs()).unwrap_or(i64::MAX);
        self.base(token)
            .max_age(actix_web::cookie::time::Duration::seconds(max_age))
            .finish()
    }

    /// A cookie that makes the browser forget the refresh token.
    pub(crate) fn clear(&self) -> Cookie<'static> {
        self.base(String::new())
            .max_age(actix_web::cookie::time::Duration::ZERO)
            .finish()
    }

    fn base(&self, value: String) -> actix_web::cookie::CookieBuilder<'static> {
        Cookie::build(REFRESH_COOKIE, value)
            .path(COOKIE_PATH)
            .http_only(true)
            .same_site(SameSite::Strict)
            .secure(self.secure)
    }
}

/// The `refresh` field of the body or, when the body has none and the cookie is enabled, the
/// cookie's value after the cross-site checks. `used_cookie` tells which.
pub(crate) fn refresh_token(
    req: &HttpRequest,
    state: &AppState,
    fields: &Fields,
) -> Result<(Submitted<String>, bool), ApiError> {
    let from_body = body::string(fields, "refresh");
    if !matches!(from_body, Submitted::Absent) || state.refresh_cookie.is_none() {
        return Ok((from_body, false));
    }
    let Some(cookie) = req
        .cookie(REFRESH_COOKIE)
        .filter(|cookie| !cookie.value().is_empty())
    else {
        return Ok((from_body, false));
    };
    check_same_site_request(req, state)?;
    Ok((Submitted::Value(cookie.value().to_owned()), true))
}

fn check_same_site_request(req: &HttpRequest, state: &AppState) -> Result<(), ApiError> {
    let is_json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|media_type| media_type.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return Err(ApiError::Forbidden(
            "CSRF Failed: a request authenticated by cookie must send application/json.".to_owned(),
        ));
    }
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|value| value.to_str().ok());
    let Some(origin) = origin else {
        return Err(ApiError::Forbidden(
            "CSRF Failed: Origin header missing.".to_owned(),
        ));
    };
    let own_host = req
        .headers()
        .get(header::HOST)
        .and_then(|value| value.to_str().ok());
    let same_host = origin.split_once("://").is_some_and(|(_, authority)| {
        own_host.is_some_and(|host| host.eq_ignore_ascii_case(authority))
    });
    if same_host || state.allowed_origins.allows(origin) {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!(
            "CSRF Failed: Origin checking failed - {origin} does not match any trusted origins."
        )))
    }
}
