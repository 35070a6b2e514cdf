//! The token pair that login and registration both hand out, each for a new session.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use domain::{AuditEvent, ClientInfo, SessionId, TokenType, UserId};

use crate::ports::{
    IssueError, IssuedToken, NewSession, RefreshTokenStore, RepositoryError, SessionStore,
    TokenCodec,
};

/// The two tokens handed out at login and registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenPair {
    pub access: String,
    pub refresh: String,
}

/// How sessions behave: simplejwt's and this server's session settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    /// The refresh token's lifetime, which a session's `expires_at` follows.
    pub refresh_lifetime: Duration,
    /// No session outlives this, counted from its login.
    pub max_lifetime: Duration,
    /// Live sessions a user may have; starting one more ends the least recently used.
    pub max_per_user: u32,
    /// simplejwt's `ROTATE_REFRESH_TOKENS`.
    pub rotate_refresh_tokens: bool,
    /// How long after its first use a spent refresh token still gets the same successor.
    pub reuse_interval: Duration,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self {
            refresh_lifetime: Duration::from_secs(86_400),
            max_lifetime: Duration::from_secs(2_592_000),
            max_per_user: 100,
            rotate_refresh_tokens: false,
            reuse_interval: Duration::from_secs(10),
        }
    }
}

pub(crate) fn delta(duration: Duration) -> TimeDelta {
    TimeDelta::from_std(duration).unwrap_or(TimeDelta::MAX)
}

/// Starts a session for the user and issues its first pair; the refresh token is recorded so it
/// can be revoked. `audit` is recorded with the session, from `client`.
#[allow(clippy::too_many_arguments)] // three ports, the policy, and the session's own facts
pub(crate) fn start_session<E>(
    sessions: &dyn SessionStore,
    tokens: &dyn TokenCodec,
    refresh_tokens: &dyn RefreshTokenStore,
    policy: &SessionPolicy,
    user_id: UserId,
    client: ClientInfo,
    audit: Vec<AuditEvent>,
    now: DateTime<Utc>,
) -> Result<TokenPair, E>
where
    E: From<IssueError> + From<RepositoryError>,
{
    let absolute_expires_at = now
        .checked_add_signed(delta(policy.max_lifetime))
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    let expires_at = now
        .checked_add_signed(delta(policy.refresh_lifetime))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
        .min(absolute_expires_at);
    let session = sessions.start(
        NewSession {
            user_id,
            created_at: now,
            expires_at,
            absolute_expires_at,
            client,
            audit,
        },
        policy.max_per_user,
    )?;
    let refresh = refresh_token(tokens, user_id, &session.id, absolute_expires_at, now)?;
    let access = tokens.issue(TokenType::Access, user_id, Some(session.id), now)?;
    refresh_tokens.record(&refresh.claims)?;
    Ok(TokenPair {
        access: access.token,
        refresh: refresh.token,
    })
}

/// A refresh token of the session that expires no later than the session itself.
pub(crate) fn refresh_token(
    tokens: &dyn TokenCodec,
    user_id: UserId,
    session_id: &SessionId,
    not_after: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<IssuedToken, IssueError> {
    let mut issued = tokens.issue(TokenType::Refresh, user_id, Some(session_id.clone()), now)?;
    if issued.claims.expires_at > not_after {
        issued.claims.expires_at = not_after;
        issued.token = tokens.encode(&issued.claims)?;
    }
    Ok(issued)
}
