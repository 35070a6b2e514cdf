//! The signed-in user's profile.

use actix_web::{HttpResponse, web};
use application::use_cases::{GetProfile, UpdateProfile, UpdateProfileInput, UserChangesInput};
use domain::{Profile, User};
use serde::Serialize;
use utoipa::ToSchema;

use super::{Access, Caching, Endpoint, endpoint, operation, timestamp};
use crate::auth::Authenticated;
use crate::blocking::Blocking;
use crate::body::{self, Body};
use crate::error::ApiError;
use crate::openapi::schemas::{BodyRefused, Detail, Unavailable};

pub(super) fn endpoints() -> Vec<Endpoint> {
    vec![endpoint(
        Access::Protected,
        Caching::NoStore,
        vec![
            operation(__path_get_profile, get_profile),
            operation(__path_put_profile, put_profile),
            operation(__path_patch_profile, patch_profile),
        ],
    )]
}

/// The signed-in user's profile.
#[utoipa::path(
    get,
    path = "/api/auth/profile",
    tag = "profile",
    responses(
        (status = 200, description = "The profile.", body = ProfileBody),
        (status = 404, description = "The user has no profile: `{\"detail\": \"Not found.\"}`.", body = Detail),
        Unavailable,
    )
)]
async fn get_profile(
    Authenticated(caller): Authenticated,
    get_profile: web::Data<GetProfile>,
    blocking: web::Data<Blocking>,
) -> Result<HttpResponse, ApiError> {
    let (user, profile) = blocking
        .run(move || Ok(get_profile.execute(&caller.claims)?))
        .await?;
    Ok(HttpResponse::Ok().json(ProfileBody::new(&user, &profile)))
}

/// Replaces the profile (a JSON body: it is nested): `user` is required (it may be `{}`); `phone` is kept when absent. `id`,
/// `username`, `user.id` and the timestamps are read-only and ignored when sent. Unless e-mail
/// verification is `none`, a changed address takes effect once the new address is verified.
#[utoipa::path(
    put,
    path = "/api/auth/profile",
    tag = "profile",
    request_body(content(
        (schema::ProfileUpdate = "application/json"),
    )),
    responses(
        (status = 200, description = "The updated profile.", body = ProfileBody),
        (status = 400, description = "Field errors: `{\"user\": {\"email\": [\"A user with that \
            email already exists.\"]}}`.", body = schema::ProfileErrors),
        (status = 404, description = "The user has no profile.", body = Detail),
        BodyRefused,
        Unavailable,
    )
)]
async fn put_profile(
    caller: Authenticated,
    body: Result<Body, ApiError>,
    update: web::Data<UpdateProfile>,
    blocking: web::Data<Blocking>,
) -> Result<HttpResponse, ApiError> {
    update_profile(caller, body, (update, blocking), false).await
}

/// Changes any subset of the profile's fields; an empty body changes nothing.
#[utoipa::path(
    patch,
    path = "/api/auth/profile",
    tag = "profile",
    request_body(content(
        (schema::ProfilePatch = "application/json"),
    )),
    responses(
        (status = 200, description = "The updated profile.", body = ProfileBody),
        (status = 400, description = "Field errors.", body = schema::ProfileErrors),
        (status = 404, description = "The user has no profile.", body = Detail),
        BodyRefused,
        Unavailable,
    )
)]
async fn patch_profile(
    caller: Authenticated,
    body: Result<Body, ApiError>,
    update: web::Data<UpdateProfile>,
    blocking: web::Data<Blocking>,
) -> Result<HttpResponse, ApiError> {
    update_profile(caller, body, (update, blocking), true).await
}

async fn update_profile(
    Authenticated(caller): Authenticated,
    body: Result<Body, ApiError>,
    (update, blocking): (web::Data<UpdateProfile>, web::Data<Blocking>),
    partial: bool,
) -> Result<HttpResponse, ApiError> {
    let (user, profile) = blocking
        .run(move || {
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

/// A profile and its user. Times are UTC, RFC 3339 with microseconds and `Z`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Profile)]
struct ProfileBody<'a> {
    id: i64,
    user: UserBody<'a>,
    phone: &'a str,
    #[schema(format = DateTime, example = "2026-01-21T10:00:00.123456Z")]
    created_at: String,
    #[schema(format = DateTime, example = "2026-01-21T10:00:00.123456Z")]
    updated_at: String,
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = User)]
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

/// The bodies as the document describes them; the handlers read them field by field (`body`).
#[allow(
    dead_code,
    reason = "the types describe bodies read through body::string"
)]
mod schema {
    use serde::Serialize;
    use utoipa::ToSchema;

    use crate::openapi::schemas::{EmailAddress, PersonName, Phone};

    #[derive(Serialize, ToSchema)]
    pub struct ProfileUpdate {
        pub user: UserChanges,
        /// Kept when absent.
        #[serde(default)]
        pub phone: Phone,
    }

    #[derive(Serialize, ToSchema)]
    pub struct ProfilePatch {
        #[serde(default)]
        pub user: UserChanges,
        #[serde(default)]
        pub phone: Phone,
    }

    /// The user's fields that may change; each is kept when absent.
    #[derive(Serialize, ToSchema)]
    pub struct UserChanges {
        /// Unique, case-insensitively.
        #[serde(default)]
        pub email: EmailAddress,
        #[serde(default)]
        pub first_name: PersonName,
        #[serde(default)]
        pub last_name: PersonName,
    }

    #[derive(Serialize, ToSchema)]
    #[serde(deny_unknown_fields)]
    pub struct ProfileErrors {
        /// Malformed JSON or form.
        #[serde(default)]
        pub detail: String,
        #[serde(default)]
        pub non_field_errors: Vec<String>,
        #[serde(default)]
        pub user: UserErrors,
        #[serde(default)]
        pub phone: Vec<String>,
    }

    /// The user's own messages (`"This field is required."`), or its fields'.
    #[derive(Serialize, ToSchema)]
    #[serde(untagged)]
    pub enum UserErrors {
        Messages(Vec<String>),
        Fields(UserFieldErrors),
    }

    #[derive(Serialize, ToSchema)]
    #[serde(deny_unknown_fields)]
    pub struct UserFieldErrors {
        #[serde(default)]
        pub non_field_errors: Vec<String>,
        #[serde(default)]
        pub email: Vec<String>,
        #[serde(default)]
        pub first_name: Vec<String>,
        #[serde(default)]
        pub last_name: Vec<String>,
    }
}
