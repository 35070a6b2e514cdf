//! The optional refresh-token cookie, for browser clients that should never hold the refresh
//! token in script-readable storage. Bodies stay as the API contract says; the cookie is extra.
//!
//! A cookie is sent by the browser on its own, so a request that relies on it, or that sets it
//! (login and registration, or an attacker could sign a victim's browser into the attacker's
//! account), must prove it comes from an allowed page: a JSON content type (which a cross-site
//! form cannot send without a CORS preflight) and an `Origin` that is allowed or the server's own,
//! compared by scheme, host and port.

use std::time::Duration;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder};
use application::Submitted;

use crate::body::{self, Fields};
use crate::error::ApiError;

const REFRESH_COOKIE: &str = "refresh_token";
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
    fn issue(&self, token: String) -> Cookie<'static> {
        let max_age = i64::try_from(self.max_age.as_secs()).unwrap_or(i64::MAX);
        self.base(token)
            .max_age(actix_web::cookie::time::Duration::seconds(max_age))
            .finish()
    }

    fn clear(&self) -> Cookie<'static> {
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

/// The cookie, when enabled, and the origins a request that uses it may come from.
#[derive(Debug, Clone)]
pub(crate) struct CookiePolicy {
    cookie: Option<RefreshCookie>,
    trusted_origins: Vec<Origin>,
}

impl CookiePolicy {
    /// `origins` are the CORS allowed origins; entries that are not origins are ignored (the
    /// settings refuse them at start-up).
    pub fn new(cookie: Option<RefreshCookie>, origins: &[String]) -> Self {
        Self {
            cookie,
            trusted_origins: origins.iter().filter_map(|o| Origin::parse(o)).collect(),
        }
    }

    /// Refuses a cross-site sign-in while the cookie is enabled: it would set the cookie.
    pub fn check_sign_in(&self, req: &HttpRequest) -> Result<(), ApiError> {
        match self.cookie {
            Some(_) => self.check_same_site(req),
            None => Ok(()),
        }
    }

    /// The `refresh` field of the body or, when the body has none and the cookie is enabled, the
    /// cookie's value after the cross-site checks. `used_cookie` tells which.
    pub fn refresh_token(
        &self,
        req: &HttpRequest,
        fields: &Fields,
    ) -> Result<(Submitted<String>, bool), ApiError> {
        let from_body = body::string(fields, "refresh");
        if !matches!(from_body, Submitted::Absent) || self.cookie.is_none() {
            return Ok((from_body, false));
        }
        let Some(cookie) = req
            .cookie(REFRESH_COOKIE)
            .filter(|cookie| !cookie.value().is_empty())
        else {
            return Ok((from_body, false));
        };
        self.check_same_site(req)?;
        Ok((Submitted::Value(cookie.value().to_owned()), true))
    }

    /// Sets the cookie on a response that hands out `token`, when the cookie is enabled.
    pub fn issue(&self, response: &mut HttpResponseBuilder, token: &str) {
        if let Some(cookie) = &self.cookie {
            response.cookie(cookie.issue(token.to_owned()));
        }
    }

    /// Makes the browser forget the cookie, when it is enabled.
    pub fn clear(&self, response: &mut HttpResponse) {
        if let Some(cookie) = &self.cookie {
            // A cookie built here always serialises; a failure would only leave it in place.
            let _ = response.add_cookie(&cookie.clear());
        }
    }

    fn check_same_site(&self, req: &HttpRequest) -> Result<(), ApiError> {
        if body::media_type(req).as_deref() != Some("application/json") {
            return Err(ApiError::Forbidden(
                "CSRF Failed: a request authenticated by cookie must send application/json."
                    .to_owned(),
            ));
        }
        let Some(origin) = req
            .headers()
            .get(header::ORIGIN)
            .and_then(|value| value.to_str().ok())
        else {
            return Err(ApiError::Forbidden(
                "CSRF Failed: Origin header missing.".to_owned(),
            ));
        };
        let trusted = Origin::parse(origin).is_some_and(|origin| {
            own_origin(req).as_ref() == Some(&origin) || self.trusted_origins.contains(&origin)
        });
        if trusted {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "CSRF Failed: Origin checking failed - {origin} does not match any trusted origins."
            )))
        }
    }
}

/// The origin of the server itself: the scheme it was reached by and its `Host`.
fn own_origin(req: &HttpRequest) -> Option<Origin> {
    let host = req.headers().get(header::HOST)?.to_str().ok()?;
    Origin::parse(&format!("{}://{host}", req.connection_info().scheme()))
}

/// A web origin, `http` or `https` only, with the port made explicit.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Origin {
    https: bool,
    host: String,
    port: u16,
}

impl Origin {
    fn parse(raw: &str) -> Option<Self> {
        let (scheme, authority) = raw.split_once("://")?;
        let https = match scheme.to_ascii_lowercase().as_str() {
            "https" => true,
            "http" => false,
            _ => return None,
        };
        let authority = authority.strip_suffix('/').unwrap_or(authority);
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) if !port.contains(']') => (host, Some(port.parse().ok()?)),
            _ => (authority, None),
        };
        let valid_host = !host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-.[]:".contains(&b));
        valid_host.then(|| Self {
            https,
            host: host.to_ascii_lowercase(),
            port: port.unwrap_or(if https { 443 } else { 80 }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_equal_only_with_the_same_scheme_host_and_port() {
        let origin = |raw| Origin::parse(raw);
        assert_eq!(
            origin("http://localhost:3000"),
            origin("HTTP://LocalHost:3000/")
        );
        assert_eq!(origin("https://a.example"), origin("https://a.example:443"));
        assert_ne!(origin("https://a.example"), origin("http://a.example"));
        assert_ne!(
            origin("http://a.example:80"),
            origin("http://a.example:8080")
        );
        assert_eq!(origin("http://[::1]:3000").map(|o| o.port), Some(3000));
        assert_eq!(origin("http://[::1]").map(|o| o.port), Some(80));
        for refused in [
            "ftp://a.example",
            "null://a.example:80",
            "null",
            "a.example",
            "http://",
            "http://a.example:x",
            "http://a.example/path",
            "http://user@a.example",
        ] {
            assert_eq!(origin(refused), None, "{refused}");
        }
    }
}
