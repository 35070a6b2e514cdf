//! The endpoints. Handlers are thin: read the request, run the use case on the blocking pool,
//! shape the response.

use actix_web::dev::HttpServiceFactory;
use actix_web::http::{Method, header};
use actix_web::middleware::DefaultHeaders;
use actix_web::{
    HttpRequest, HttpResponse, HttpResponseBuilder, Resource, ResponseError, Route, web,
};
use application::use_cases::{
    LogInInput, LogOutInput, ProfileInput, RefreshTokenInput, RegisterUserInput, TokenPair,
    UpdateProfileInput, UserChangesInput,
};
use chrono::{DateTime, Utc};
use domain::{Profile, User};
use serde::Serialize;
use serde_json::json;

use crate::auth::bearer_token;
use crate::body::{self, Fields};
use crate::cookie;
use crate::error::ApiError;
use crate::server::AppState;

type State = web::Data<AppState>;

/// How an endpoint treats the `Authorization` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    /// Never reads it.
    Open,
    /// Reads it if present: a bad token is refused even though none is required.
    ReadsToken,
    /// Requires a valid access token of an active user.
    Protected,
}

const BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

const PROBE_METHODS: &str = "GET, HEAD, OPTIONS";
const POST_METHODS: &str = "POST, OPTIONS";
const PROFILE_METHODS: &str = "GET, PUT, PATCH, HEAD, OPTIONS";

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(endpoint("/health", PROBE_METHODS, Access::Open, |r| {
        r.route(web::get().to(health)).route(web::head().to(health))
    }))
    .service(endpoint("/ready", PROBE_METHODS, Access::Open, |r| {
        r.route(web::get().to(ready)).route(web::head().to(ready))
    }))
    .service(endpoint(
        "/api/auth/register",
        POST_METHODS,
        Access::ReadsToken,
        |r| r.route(web::post().to(register)),
    ))
    .service(endpoint(
        "/api/auth/login",
        POST_METHODS,
        Access::ReadsToken,
        |r| r.route(web::post().to(log_in)),
    ))
    .service(endpoint(
        "/api/auth/refresh",
        POST_METHODS,
        Access::Open,
        |r| r.route(web::post().to(refresh)),
    ))
    .service(endpoint(
        "/api/auth/logout",
        POST_METHODS,
        Access::Protected,
        |r| r.route(web::post().to(log_out)),
    ))
    .service(endpoint(
        "/api/auth/profile",
        PROFILE_METHODS,
        Access::Protected,
        |r| {
            r.route(web::get().to(get_profile))
                .route(web::head().to(get_profile))
                .route(
                    web::put().to(|req, payload, state| update_profile(req, payload, state, false)),
                )
                .route(
                    web::patch()
                        .to(|req, payload, state| update_profile(req, payload, state, true)),
                )
        },
    ));
}

/// A path served with and without its trailing slash, with the routes `routes` adds. Other
/// methods are answered as DRF does, and every response names the allowed methods in `Allow`,
/// as DRF's views do.
fn endpoint(
    path: &str,
    allow: &'static str,
    access: Access,
    routes: impl FnOnce(Resource) -> Resource,
) -> impl HttpServiceFactory {
    let resource =
        web::resource([path.to_owned(), format!("{path}/")]).default_service(other_method(access));
    routes(resource).wrap(DefaultHeaders::new().add((header::ALLOW, allow)))
}

/// `OPTIONS` gets a description of the endpoint, other methods 405; both only after the
/// credentials are checked, as DRF authenticates before dispatching.
fn other_method(access: Access) -> Route {
    web::to(move |req: HttpRequest, state: State| async move {
        if access != Access::Open {
            let token = bearer_token(&req)?;
            if token.is_some() || access == Access::Protected {
                run(&state, move |state| {
                    authenticate(state, token, access).map(drop)
                })
                .await?;
            }
        }
        if req.method() == Method::OPTIONS {
            return Ok(HttpResponse::Ok().json(json!({
                "renders": ["application/json"],
                "parses": ["application/json", "application/x-www-form-urlencoded"],
            })));
        }
        Err(ApiError::MethodNotAllowed {
            method: req.method().to_string(),
        })
    })
}

pub(crate) async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound)
}

/// Waits, without holding a thread, for a turn at a use case that hashes a password.
async fn hashing_slot(state: &State) -> Result<tokio::sync::SemaphorePermit<'_>, ApiError> {
    state
        .hashing_requests
        .acquire()
        .await
        .map_err(ApiError::internal)
}

/// Runs blocking work (database, hashing) on the blocking thread pool.
async fn run<T: Send + 'static>(
    state: &State,
    work: impl FnOnce(&AppState) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let state = state.clone();
    web::block(move || work(&state))
        .await
        .map_err(|error| ApiError::internal(error.to_string()))?
}

/// The user behind the bearer token, if the endpoint reads one.
fn authenticate(
    state: &AppState,
    token: Option<String>,
    access: Access,
) -> Result<Option<User>, ApiError> {
    match (token, access) {
        (_, Access::Open) | (None, Access::ReadsToken) => Ok(None),
        (None, Access::Protected) => Err(ApiError::NotAuthenticated),
        (Some(token), _) => Ok(Some(state.use_cases.authenticate.execute(&token)?)),
    }
}

fn require_user(state: &AppState, token: Option<String>) -> Result<User, ApiError> {
    authenticate(state, token, Access::Protected)?.ok_or(ApiError::NotAuthenticated)
}

/// Reads the whole body, up to the size limit, within `BODY_TIMEOUT`: a client that announces a
/// body and stops sending must not hold a connection forever.
async fn read_body(
    req: &HttpRequest,
    payload: web::Payload,
    state: &State,
) -> Result<Fields, ApiError> {
    let bytes =
        actix_web::rt::time::timeout(BODY_TIMEOUT, payload.to_bytes_limited(state.max_body_bytes))
            .await
            .map_err(|_| ApiError::RequestTimeout)?
            .map_err(|_| ApiError::PayloadTooLarge)?
            .map_err(|error| {
                ApiError::BadRequest(format!("Could not read the request body - {error}"))
            })?;
    body::parse(req, &bytes)
}

async fn health() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

async fn ready(state: State) -> Result<HttpResponse, ApiError> {
    run(&state, |state| Ok(state.use_cases.health.check()?)).await?;
    Ok(HttpResponse::Ok().json(json!({ "status": "ok" })))
}

#[derive(Serialize)]
struct TokenPairBody {
    refresh: String,
    access: String,
}

/// The token pair as the body says it, and as a cookie too when that is enabled.
fn token_pair_response(
    mut response: HttpResponseBuilder,
    state: &AppState,
    pair: TokenPair,
) -> HttpResponse {
    if let Some(cookie) = &state.refresh_cookie {
        response.cookie(cookie.issue(pair.refresh.clone()));
    }
    response.json(TokenPairBody {
        refresh: pair.refresh,
        access: pair.access,
    })
}

/// An error answer that also makes the browser drop a refresh cookie that no longer works.
fn clearing_cookie(error: ApiError, state: &AppState) -> HttpResponse {
    let mut response = error.error_response();
    if let Some(cookie) = &state.refresh_cookie {
        // A cookie built here always serialises; a failure would only leave it in place.
        let _ = response.add_cookie(&cookie.clear());
    }
    response
}

/// Login and registration: both read the optional bearer token, hash a password, and answer with
/// a token pair (and the refresh cookie when it is enabled).
async fn issue_tokens(
    req: HttpRequest,
    payload: web::Payload,
    state: State,
    success: fn() -> HttpResponseBuilder,
    use_case: impl FnOnce(&AppState, &Fields) -> Result<TokenPair, ApiError> + Send + 'static,
) -> Result<HttpResponse, ApiError> {
    let token = bearer_token(&req)?;
    let fields = read_body(&req, payload, &state).await;
    let _slot = hashing_slot(&state).await?;
    let pair = run(&state, move |state| {
        authenticate(state, token, Access::ReadsToken)?;
        use_case(state, &fields?)
    })
    .await?;
    Ok(token_pair_response(success(), &state, pair))
}

async fn register(
    req: HttpRequest,
    payload: web::Payload,
    state: State,
) -> Result<HttpResponse, ApiError> {
    issue_tokens(
        req,
        payload,
        state,
        HttpResponse::Created,
        |state, fields| {
            let input = RegisterUserInput {
                username: body::string(fields, "username"),
                email: body::string(fields, "email"),
                password: body::string(fields, "password"),
                password2: body::string(fields, "password2"),
                first_name: body::string(fields, "first_name"),
                last_name: body::string(fields, "last_name"),
                profile: body::object(fields, "profile", |profile| ProfileInput {
                    phone: body::string(profile, "phone"),
                }),
            };
            Ok(state.use_cases.register.execute(input)?)
        },
    )
    .await
}

async fn log_in(
    req: HttpRequest,
    payload: web::Payload,
    state: State,
) -> Result<HttpResponse, ApiError> {
    issue_tokens(req, payload, state, HttpResponse::Ok, |state, fields| {
        let input = LogInInput {
            username: body::string(fields, "username"),
            password: body::string(fields, "password"),
        };
        Ok(state.use_cases.log_in.execute(input)?)
    })
    .await
}

async fn refresh(
    req: HttpRequest,
    payload: web::Payload,
    state: State,
) -> Result<HttpResponse, ApiError> {
    let fields = read_body(&req, payload, &state).await?;
    let (refresh, used_cookie) = cookie::refresh_token(&req, &state, &fields)?;
    let input = RefreshTokenInput { refresh };
    match run(&state, move |state| {
        Ok(state.use_cases.refresh.execute(input)?)
    })
    .await
    {
        Ok(access) => Ok(HttpResponse::Ok().json(json!({ "access": access }))),
        Err(error @ ApiError::TokenNotValid { .. }) if used_cookie => {
            Ok(clearing_cookie(error, &state))
        }
        Err(error) => Err(error),
    }
}

async fn log_out(
    req: HttpRequest,
    payload: web::Payload,
    state: State,
) -> Result<HttpResponse, ApiError> {
    let token = bearer_token(&req)?;
    let refresh = read_body(&req, payload, &state)
        .await
        .and_then(|fields| cookie::refresh_token(&req, &state, &fields))
        .map(|(refresh, _)| refresh);
    run(&state, move |state| {
        let user = require_user(state, token)?;
        let input = LogOutInput {
            user_id: user.id,
            refresh: refresh?,
        };
        Ok(state.use_cases.log_out.execute(input)?)
    })
    .await?;
    let mut response = HttpResponse::ResetContent();
    if let Some(cookie) = &state.refresh_cookie {
        response.cookie(cookie.clear());
    }
    Ok(response.finish())
}

async fn get_profile(req: HttpRequest, state: State) -> Result<HttpResponse, ApiError> {
    let token = bearer_token(&req)?;
    let (user, profile) = run(&state, move |state| {
        let user = require_user(state, token)?;
        Ok(state.use_cases.get_profile.execute(user)?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(ProfileBody::new(&user, &profile)))
}

async fn update_profile(
    req: HttpRequest,
    payload: web::Payload,
    state: State,
    partial: bool,
) -> Result<HttpResponse, ApiError> {
    let token = bearer_token(&req)?;
    let fields = read_body(&req, payload, &state).await;
    let (user, profile) = run(&state, move |state| {
        let user = require_user(state, token)?;
        let fields = fields?;
        let input = UpdateProfileInput {
            user_id: user.id,
            user: body::object(&fields, "user", |changes| UserChangesInput {
                email: body::string(changes, "email"),
                first_name: body::string(changes, "first_name"),
                last_name: body::string(changes, "last_name"),
            }),
            phone: body::string(&fields, "phone"),
            partial,
        };
        Ok(state.use_cases.update_profile.execute(input)?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(ProfileBody::new(&user, &profile)))
}

#[derive(Serialize)]
struct ProfileBody<'a> {
    id: i64,
    user: UserBody<'a>,
    phone: &'a str,
    created_at: String,
    updated_at: String,
}

#[derive(Serialize)]
struct UserBody<'a> {
    id: i64,
    username: &'a str,
    email: &'a str,
    first_name: &'a str,
    last_name: &'a str,
}

impl<'a> ProfileBody<'a> {
    fn new(user: &'a User, profile: &'a Profile) -> Self {
        Self {
            id: profile.id,
            user: UserBody {
                id: user.id.get(),
                username: user.username.as_str(),
                email: user.email.as_str(),
                first_name: user.first_name.as_str(),
                last_name: user.last_name.as_str(),
            },
            phone: profile.phone.as_str(),
            created_at: timestamp(profile.created_at),
            updated_at: timestamp(profile.updated_at),
        }
    }
}

/// RFC 3339 in UTC with microseconds and `Z`, as DRF renders datetimes.
fn timestamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn timestamps_always_carry_six_fractional_digits_and_z() {
        let at = Utc
            .with_ymd_and_hms(2026, 1, 21, 10, 0, 0)
            .single()
            .expect("valid date");
        assert_eq!(timestamp(at), "2026-01-21T10:00:00.000000Z");
        let at = at + chrono::Duration::microseconds(123_456);
        assert_eq!(timestamp(at), "2026-01-21T10:00:00.123456Z");
    }
}
