//! The signed-in user's sessions: list them, end one.

use actix_web::{HttpResponse, web};
use application::use_cases::{EndSession, ListSessions};
use domain::Session;
use serde::Serialize;

use super::{Access, Caching, endpoint, timestamp};
use crate::auth::Authenticated;
use crate::blocking::run;
use crate::error::ApiError;

const LIST_METHODS: &str = "GET, HEAD, OPTIONS";
const ONE_METHODS: &str = "DELETE, OPTIONS";

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(endpoint(
        "/api/auth/sessions",
        LIST_METHODS,
        Access::Protected,
        Caching::NoStore,
        |r| r.route(web::get().to(list)).route(web::head().to(list)),
    ))
    .service(endpoint(
        "/api/auth/sessions/{id}",
        ONE_METHODS,
        Access::Protected,
        Caching::NoStore,
        |r| r.route(web::delete().to(end)),
    ));
}

#[derive(Serialize)]
struct SessionBody<'a> {
    id: &'a str,
    created_at: String,
    last_used_at: String,
    expires_at: String,
    ip_address: &'a str,
    user_agent: &'a str,
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

async fn list(
    Authenticated(caller): Authenticated,
    list: web::Data<ListSessions>,
) -> Result<HttpResponse, ApiError> {
    let sessions = run(move || {
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

async fn end(
    Authenticated(caller): Authenticated,
    id: web::Path<String>,
    end: web::Data<EndSession>,
) -> Result<HttpResponse, ApiError> {
    run(move || {
        let user = caller.user()?;
        Ok(end.execute(user.id, &id)?)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
