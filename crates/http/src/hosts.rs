//! The `Host` check, Django's `ALLOWED_HOSTS`: the outermost check a request meets, before CORS
//! or anything else answers it.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{Error, web};

use crate::error::ApiError;

/// Django's `ALLOWED_HOSTS` matching.
#[derive(Debug, Clone)]
pub(crate) struct AllowedHosts(Vec<String>);

impl AllowedHosts {
    pub fn new(patterns: &[String], debug: bool) -> Self {
        let mut patterns: Vec<String> = patterns
            .iter()
            .map(|p| p.trim().to_ascii_lowercase())
            .filter(|p| !p.is_empty())
            .collect();
        if patterns.is_empty() && debug {
            patterns = [".localhost", "127.0.0.1", "[::1]"]
                .map(String::from)
                .to_vec();
        }
        Self(patterns)
    }

    /// Whether a `Host` header value (with or without port) is allowed.
    pub fn allows(&self, host: &str) -> bool {
        let host = host.to_ascii_lowercase();
        let Some(domain) = strip_port(&host) else {
            return false;
        };
        let domain = domain.strip_suffix('.').unwrap_or(domain);
        if domain.is_empty() {
            return false;
        }
        self.0.iter().any(|pattern| {
            pattern == "*"
                || pattern == domain
                || pattern
                    .strip_prefix('.')
                    .is_some_and(|parent| domain == parent || domain.ends_with(pattern.as_str()))
        })
    }
}

/// The host without its port; `None` when the port is not a number, which Django refuses.
fn strip_port(host: &str) -> Option<&str> {
    let (name, port) = if host.starts_with('[') {
        // An IPv6 literal keeps its brackets; the port, if any, follows them.
        let end = host.find(']')?;
        let (name, rest) = host.split_at(end + 1);
        (name, rest.strip_prefix(':'))
    } else {
        match host.rsplit_once(':') {
            Some((name, port)) => (name, Some(port)),
            None => (host, None),
        }
    };
    match port {
        Some(port) if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) => None,
        _ => Some(name),
    }
}

/// Refuses requests whose `Host` is not allowed, with 400 `{"detail":"Bad request."}`.
pub(crate) async fn check_host(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let allowed = req
        .app_data::<web::Data<AllowedHosts>>()
        .is_some_and(|hosts| {
            let host = req
                .headers()
                .get(header::HOST)
                .and_then(|h| h.to_str().ok());
            host.is_some_and(|host| hosts.allows(host))
        });
    if !allowed {
        tracing::warn!(host = ?req.headers().get(header::HOST), "refused a request for a host that is not allowed");
        let response = req.error_response(ApiError::DisallowedHost);
        return Ok(response.map_into_right_body());
    }
    Ok(next.call(req).await?.map_into_left_body())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(patterns: &[&str], debug: bool) -> AllowedHosts {
        AllowedHosts::new(
            &patterns.iter().map(|p| p.to_string()).collect::<Vec<_>>(),
            debug,
        )
    }

    #[test]
    fn exact_hosts_match_with_or_without_port() {
        let allowed = hosts(&["api.example.com"], false);
        assert!(allowed.allows("api.example.com"));
        assert!(allowed.allows("API.example.com:8000"));
        assert!(!allowed.allows("example.com"));
        assert!(!allowed.allows("evil.com"));
    }

    #[test]
    fn a_port_that_is_not_a_number_is_refused() {
        let allowed = hosts(&["localhost", "[::1]"], false);
        assert!(!allowed.allows("localhost:abc"));
        assert!(!allowed.allows("localhost:"));
        assert!(allowed.allows("[::1]:8000"));
        assert!(!allowed.allows("[::1]:x"));
    }

    #[test]
    fn a_leading_dot_matches_the_domain_and_its_subdomains() {
        let allowed = hosts(&[".example.com"], false);
        assert!(allowed.allows("example.com"));
        assert!(allowed.allows("a.b.example.com:443"));
        assert!(!allowed.allows("badexample.com"));
    }

    #[test]
    fn a_star_matches_anything_but_nothing_matches_an_empty_host() {
        let allowed = hosts(&["*"], false);
        assert!(allowed.allows("whatever.test"));
        assert!(!allowed.allows(""));
    }

    #[test]
    fn debug_with_no_hosts_allows_the_local_names_only() {
        let allowed = hosts(&[], true);
        assert!(allowed.allows("localhost:8000"));
        assert!(allowed.allows("127.0.0.1:8000"));
        assert!(allowed.allows("[::1]:8000"));
        assert!(!allowed.allows("example.com"));
        assert!(!hosts(&[], false).allows("localhost"));
    }
}
