use std::fmt;

use chrono::{DateTime, Utc};

use crate::UserId;

/// A session's id, the `sid` claim of every token the session issues: 1 to 64 lowercase
/// hexadecimal digits (the server makes 32).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SessionId(String);

impl SessionId {
    pub const MAX_CHARS: usize = 64;

    pub fn parse(raw: &str) -> Option<Self> {
        let valid = (1..=Self::MAX_CHARS).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        valid.then(|| Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a request came from: its client's address and user agent, as recorded on the session
/// it starts for its owner to recognise it, and the request's id, as the audit log records it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientInfo {
    ip_address: String,
    user_agent: String,
    request_id: Option<String>,
}

impl ClientInfo {
    /// Longest address kept: an IPv6 address with an IPv4 tail.
    pub const IP_MAX_CHARS: usize = 45;
    pub const USER_AGENT_MAX_CHARS: usize = 512;
    pub const REQUEST_ID_MAX_CHARS: usize = 64;

    /// Keeps at most the maximum of each, cut at a character boundary, without control characters.
    pub fn new(ip_address: &str, user_agent: &str) -> Self {
        Self {
            ip_address: clean(ip_address, Self::IP_MAX_CHARS),
            user_agent: clean(user_agent, Self::USER_AGENT_MAX_CHARS),
            request_id: None,
        }
    }

    /// The id the server gave the request (its `X-Request-Id`), at most
    /// [`Self::REQUEST_ID_MAX_CHARS`] printable ASCII characters; anything else is dropped.
    #[must_use]
    pub fn with_request_id(mut self, id: &str) -> Self {
        let printable = id.bytes().all(|b| b.is_ascii_graphic());
        self.request_id = (printable && !id.is_empty() && id.len() <= Self::REQUEST_ID_MAX_CHARS)
            .then(|| id.to_owned());
        self
    }

    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }

    pub fn ip_address(&self) -> &str {
        &self.ip_address
    }

    pub fn user_agent(&self) -> &str {
        &self.user_agent
    }
}

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionEnd {
    /// Its user logged out of it (`/logout`, or `scope` `all`).
    LoggedOut,
    /// Its user ended it from another session (`DELETE /sessions/<id>`, `scope` `others`).
    Revoked,
    /// A spent refresh token of it was presented after the reuse interval.
    TokenReused,
    /// Its user was deactivated.
    UserDeactivated,
    /// Its user started more sessions than allowed and it was the least recently used.
    Evicted,
    /// Its user's password was changed or reset.
    PasswordChanged,
}

impl SessionEnd {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::LoggedOut => "logged_out",
            Self::Revoked => "revoked",
            Self::TokenReused => "token_reused",
            Self::UserDeactivated => "user_deactivated",
            Self::Evicted => "evicted",
            Self::PasswordChanged => "password_changed",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [
            Self::LoggedOut,
            Self::Revoked,
            Self::TokenReused,
            Self::UserDeactivated,
            Self::Evicted,
            Self::PasswordChanged,
        ]
        .into_iter()
        .find(|end| end.as_str() == raw)
    }
}

/// A signed-in device: started by a login or registration, continued by refreshes, ended by one of
/// [`SessionEnd`] or by its absolute lifetime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: SessionId,
    pub user_id: UserId,
    pub created_at: DateTime<Utc>,
    /// Moves on login and on every refresh.
    pub last_used_at: DateTime<Utc>,
    /// When its newest refresh token expires.
    pub expires_at: DateTime<Utc>,
    /// The absolute lifetime from the login; no refresh goes past it.
    pub absolute_expires_at: DateTime<Utc>,
    pub client: ClientInfo,
    pub ended: Option<(DateTime<Utc>, SessionEnd)>,
}

impl Session {
    /// Not ended, and neither its newest refresh token nor its absolute lifetime has run out.
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.ended.is_none() && now < self.expires_at && now < self.absolute_expires_at
    }
}

/// At most `max` characters of `text`, cut at a character boundary, without control characters:
/// what is kept of text a client sent, for display and for the audit log.
pub(crate) fn clean(text: &str, max: usize) -> String {
    text.chars().filter(|c| !c.is_control()).take(max).collect()
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    fn session(now: DateTime<Utc>) -> Session {
        Session {
            id: SessionId::parse("ab12").expect("hex"),
            user_id: UserId::new(1),
            created_at: now,
            last_used_at: now,
            expires_at: now + Duration::days(1),
            absolute_expires_at: now + Duration::days(30),
            client: ClientInfo::default(),
            ended: None,
        }
    }

    #[test]
    fn a_session_is_live_until_it_ends_or_either_expiry_passes() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).expect("valid");
        let live = session(now);
        assert!(live.is_live(now));
        assert!(!live.is_live(now + Duration::days(1)));
        let capped = Session {
            absolute_expires_at: now + Duration::hours(1),
            ..session(now)
        };
        assert!(!capped.is_live(now + Duration::hours(1)));
        let ended = Session {
            ended: Some((now, SessionEnd::LoggedOut)),
            ..session(now)
        };
        assert!(!ended.is_live(now));
    }

    #[test]
    fn session_ids_are_lowercase_hex_of_a_bounded_length() {
        assert!(SessionId::parse("0123456789abcdef0123456789abcdef").is_some());
        for bad in ["", "ABCD", "12g4", " ab", &"a".repeat(65)] {
            assert_eq!(SessionId::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn client_info_is_truncated_at_character_boundaries_without_controls() {
        let client = ClientInfo::new("203.0.113.7", &format!("é\n{}", "x".repeat(600)));
        assert_eq!(client.ip_address(), "203.0.113.7");
        assert_eq!(
            client.user_agent().chars().count(),
            ClientInfo::USER_AGENT_MAX_CHARS
        );
        assert!(client.user_agent().starts_with("éx"));
    }

    #[test]
    fn end_reasons_round_trip_through_their_stored_name() {
        for end in [
            SessionEnd::LoggedOut,
            SessionEnd::Revoked,
            SessionEnd::TokenReused,
            SessionEnd::UserDeactivated,
            SessionEnd::Evicted,
            SessionEnd::PasswordChanged,
        ] {
            assert_eq!(SessionEnd::parse(end.as_str()), Some(end));
        }
        assert_eq!(SessionEnd::parse("other"), None);
    }
}
