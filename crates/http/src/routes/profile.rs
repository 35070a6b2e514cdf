//! The signed-in user's profile.

use actix_web::{HttpResponse, web};
use application::use_cases::{GetProfile, UpdateProfile, UpdateProfileInput, UserChangesInput};
use domain::{Profile, User};
use serde::Serialize;

use super::{Access, Caching, PROFILE_METHODS, endpoint, timestamp};
use crate::auth::Authenticated;
use crate::blocking::run;
use crate::body::{self, Body};
use crate::error::ApiError;

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(endpoint(
        "/api/auth/profile",
        PROFILE_METHODS,
        Access::Protected,
        Caching::NoStore,
        |r| {
            r.route(web::get().to(get_profile))
                .route(web::head().to(get_profile))
                .route(web::put().to(put_profile))
                .route(web::patch().to(patch_profile))
        },
    ));
}

async fn get_profile(
    Authenticated(caller): Authenticated,
    get_profile: web::Data<GetProfile>,
) -> Result<HttpResponse, ApiError> {
    let (user, profile) = run(move || Ok(get_profile.execute(&caller.claims)?)).await?;
    Ok(HttpResponse::Ok().json(ProfileBody::new(&user, &profile)))
}

async fn put_profile(
    caller: Authenticated,
    body: Result<Body, ApiError>,
    update: web::Data<UpdateProfile>,
) -> Result<HttpResponse, ApiError> {
    update_profile(caller, body, update, false).await
}

async fn patch_profile(
    caller: Authenticated,
    body: Result<Body, ApiError>,
    update: web::Data<UpdateProfile>,
) -> Result<HttpResponse, ApiError> {
    update_profile(caller, body, update, true).await
}

async fn update_profile(
    Authenticated(caller): Authenticated,
    body: Result<Body, ApiError>,
    update: web::Data<UpdateProfile>,
    partial: bool,
) -> Result<HttpResponse, ApiError> {
    let (user, profile) = run(move || {
        let user = caller.user()?;
        let Body(fields) = body?;
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
        Ok(update.execute(input)?)
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
