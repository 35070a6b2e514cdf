//! The signed-in user's sessions: list them, end one.

use actix_web::{HttpRequest, HttpResponse, web};
use application::use_cases::{EndSession, ListSessions};
use domain::Session;
use serde::Serialize;
use utoipa::ToSchema;

use super::{Access, Caching, Endpoint, endpoint, operation, timestamp};
use crate::auth::Authenticated;
use crate::blocking::Blocking;
use crate::client::client_info;
use crate::error::ApiError;
use crate::openapi::schemas::{Detail, Unavailable};

pub(super) fn endpoints() -> Vec<Endpoint> {
    vec![
        endpoint(
            Access::Protected,
            Caching::NoStore,
            vec![operation(__path_list, list)],
        ),
        endpoint(
            Access::Protected,
            Caching::NoStore,
            vec![operation(__path_end, end)],
        ),
    ]
}

/// A live session. Times are UTC, RFC 3339 with microseconds and `Z`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Session)]
struct SessionBody<'a> {
    id: &'a str,
    #[schema(format = DateTime)]
    created_at: String,
    /// Moves on login and refresh.
    #[schema(format = DateTime)]
    last_used_at: String,
    /// When its newest refresh token expires.
    #[schema(format = DateTime)]
    expires_at: String,
    /// The client's address: the TCP peer's, or behind a trusted proxy the one
    /// `X-Forwarded-For` names.
    ip_address: &'a str,
    user_agent: &'a str,
    /// The session of the access token used for this request.
    current: bool,
}

impl<'a> SessionBody<'a> {
    fn new(session: &'a Session, current: bool) -> Self {
        Self {
            id: session.id.as_str(),
            created_at: timestamp(session.created_at),
            last_used_at: timestamp(session.last_used_at),
            expires_at: timestamp(session.expires_at),
            ip_address: session.client.ip_address(),
            user_agent: session.client.user_agent(),
            current,
        }
    }
}

/// The user's live sessions, most recently used first.
#[utoipa::path(
    get,
    path = "/api/auth/sessions",
    tag = "sessions",
    responses(
        (status = 200, description = "The live sessions.", body = Vec<SessionBody>),
        Unavailable,
    )
)]
async fn list(
    Authenticated(caller): Authenticated,
    list: web::Data<ListSessions>,
    blocking: web::Data<Blocking>,
) -> Result<HttpResponse, ApiError> {
    let sessions = blocking
        .run(move || {
            let user = caller.user()?;
            Ok(list.execute(user.id, caller.claims.session_id.as_ref())?)
        })
        .await?;
    let body: Vec<SessionBody<'_>> = sessions
        .iter()
        .map(|(session, current)| SessionBody::new(session, *current))
        .collect();
    Ok(HttpResponse::Ok().json(body))
}

/// Ends one of the user's sessions; its tokens are refused at once.
#[utoipa::path(
    delete,
    path = "/api/auth/sessions/{id}",
    tag = "sessions",
    params(("id" = String, Path, description = "The session's id, from the list.")),
    responses(
        (status = 204, description = "The session has ended."),
        (status = 404, description = "Another user's or an unknown id: `{\"detail\": \"Not found.\"}`.",
            body = Detail),
        Unavailable,
    )
)]
async fn end(
    req: HttpRequest,
    Authenticated(caller): Authenticated,
    id: web::Path<String>,
    end: web::Data<EndSession>,
    blocking: web::Data<Blocking>,
) -> Result<HttpResponse, ApiError> {
    let client = client_info(&req);
    blocking
        .run(move || {
            let user = caller.user()?;
            Ok(end.execute(user.id, &id, &client)?)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
