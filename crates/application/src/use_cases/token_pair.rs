//! The token pair that login and registration both hand out.

use chrono::{DateTime, Utc};
use domain::{TokenType, UserId};

use crate::ports::{IssueError, RefreshTokenStore, RepositoryError, TokenCodec};

/// The two tokens handed out at login and registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenPair {
    pub access: String,
    pub refresh: String,
}

/// Issues an access and a refresh token and records the refresh token so it can be revoked.
pub(crate) fn issue_pair<E>(
    tokens: &dyn TokenCodec,
    refresh_tokens: &dyn RefreshTokenStore,
    user_id: UserId,
    now: DateTime<Utc>,
) -> Result<TokenPair, E>
where
    E: From<IssueError> + From<RepositoryError>,
{
    let refresh = tokens.issue(TokenType::Refresh, user_id, now)?;
    let access = tokens.issue(TokenType::Access, user_id, now)?;
    refresh_tokens.record(&refresh.claims)?;
    Ok(TokenPair {
        access: access.token,
        refresh: refresh.token,
    })
}
