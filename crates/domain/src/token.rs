use std::fmt;

use chrono::{DateTime, Utc};

use crate::{SessionId, UserId};

/// Which of the two token kinds a JWT is; encoded as the `token_type` claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenType {
    Access,
    Refresh,
}

impl TokenType {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Access => "access",
            Self::Refresh => "refresh",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "access" => Some(Self::Access),
            "refresh" => Some(Self::Refresh),
            _ => None,
        }
    }
}

impl fmt::Display for TokenType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A token's unique id, the `jti` claim: 32 lowercase hexadecimal digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TokenId(String);

impl TokenId {
    /// Accepts any non-empty id of at most 255 characters: tokens issued by the system this one
    /// replaces carry 32 hex digits, but an id is only ever compared, never interpreted.
    pub fn parse(raw: &str) -> Option<Self> {
        (!raw.is_empty() && raw.len() <= 255).then(|| Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TokenId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The verified claims of an access or refresh token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenClaims {
    pub token_type: TokenType,
    pub id: TokenId,
    pub user_id: UserId,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// The `sid` claim: the session that issued the token. Tokens of the system this one replaces,
    /// and of versions before sessions, have none.
    pub session_id: Option<SessionId>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_types_round_trip_through_their_claim_value() {
        for kind in [TokenType::Access, TokenType::Refresh] {
            assert_eq!(TokenType::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(TokenType::parse("Access"), None);
    }

    #[test]
    fn an_empty_token_id_is_refused() {
        assert_eq!(TokenId::parse(""), None);
        assert!(TokenId::parse("0123456789abcdef0123456789abcdef").is_some());
    }
}
