//! The account's lifecycle (dj-rest-auth's paths and bodies): password change and reset,
//! e-mail verification, deletion.

use actix_web::{HttpRequest, HttpResponse, web};
use application::use_cases::{
    ChangePassword, ChangePasswordInput, ConfirmPasswordReset, ConfirmPasswordResetInput,
    DeleteAccount, RequestPasswordReset, ResendVerification, VerifyEmail,
};
use serde_json::json;

use super::{Access, Caching, Endpoint, endpoint, operation};
use crate::auth::Authenticated;
use crate::blocking::{Blocking, HashSlots};
use crate::body::{self, Body};
use crate::client::client_info;
use crate::error::ApiError;
use crate::openapi::schemas::{BodyRefused, Detail, Throttled, Unavailable};
use crate::throttle::{Admitted, PasswordResetRate};

pub(super) fn endpoints() -> Vec<Endpoint> {
    let post = |access, operation| endpoint(access, Caching::NoStore, vec![operation]);
    vec![
        post(
            Access::Protected,
            operation(__path_change_password, change_password),
        ),
        post(Access::Open, operation(__path_request_reset, request_reset)),
        post(Access::Open, operation(__path_confirm_reset, confirm_reset)),
        post(Access::Open, operation(__path_verify_email, verify_email)),
        post(
            Access::Open,
            operation(__path_resend_verification, resend_verification),
        ),
        post(
            Access::Protected,
            operation(__path_delete_account, delete_account),
        ),
    ]
}

fn detail(message: &str) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "detail": message }))
}

/// Changes the password. Every other session of the user ends; the current one goes on. A notice
/// goes to the user's address.
#[utoipa::path(
    post,
    path = "/api/auth/password/change",
    tag = "password",
    request_body(content(
        (schema::PasswordChange = "application/json"),
        (schema::PasswordChange = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 200, description = "`{\"detail\": \"New password has been saved.\"}`.", body = Detail),
        (status = 400, description = "Field errors: `{\"old_password\": [\"Your old password was \
            entered incorrectly. Please enter it again.\"]}`, `{\"new_password2\": [\"The two \
            password fields didn’t match.\"]}`, the password validators' messages under \
            `new_password2`.", body = schema::PasswordChangeErrors),
        BodyRefused,
        Throttled,
        Unavailable,
    )
)]
///
/// Checks the old password and hashes the new one: in a turn at a hash, as sign-ins are.
async fn change_password(
    req: HttpRequest,
    Authenticated(caller): Authenticated,
    body: Result<Body, ApiError>,
    change: web::Data<ChangePassword>,
    slots: web::Data<HashSlots>,
) -> Result<HttpResponse, ApiError> {
    let Body(fields) = body?;
    let client = client_info(&req);
    slots
        .acquire()
        .await?
        .run(move || {
            let user = caller.user()?;
            let input = ChangePasswordInput {
                user_id: user.id,
                client,
                session_id: caller.claims.session_id.clone(),
                old_password: body::string(&fields, "old_password"),
                new_password1: body::string(&fields, "new_password1"),
                new_password2: body::string(&fields, "new_password2"),
            };
            Ok(change.execute(input)?)
        })
        .await?;
    Ok(detail("New password has been saved."))
}

/// Sends a password reset link to the address, if an account has it; the answer is the same
/// either way.
#[utoipa::path(
    post,
    path = "/api/auth/password/reset",
    tag = "password",
    request_body(content(
        (schema::EmailRequest = "application/json"),
        (schema::EmailRequest = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 200, description = "`{\"detail\": \"Password reset e-mail has been sent.\"}`.", body = Detail),
        (status = 400, description = "`{\"email\": [\"Enter a valid email address.\"]}`.",
            body = schema::EmailErrors),
        BodyRefused,
        Throttled,
        Unavailable,
    )
)]
///
/// Only queues the request: the answer and its time are the same for every address.
async fn request_reset(
    req: HttpRequest,
    _: Admitted<PasswordResetRate>,
    body: Result<Body, ApiError>,
    request: web::Data<RequestPasswordReset>,
    blocking: web::Data<Blocking>,
) -> Result<HttpResponse, ApiError> {
    let Body(fields) = body?;
    let email = body::string(&fields, "email");
    let client = client_info(&req);
    blocking
        .run(move || Ok(request.execute(email, &client)?))
        .await?;
    Ok(detail("Password reset e-mail has been sent."))
}

/// Sets a new password with the link of a reset e-mail. A link works once, only until the
/// password changes, and for `PASSWORD_RESET_TIMEOUT` seconds. Every session of the user ends.
#[utoipa::path(
    post,
    path = "/api/auth/password/reset/confirm",
    tag = "password",
    request_body(content(
        (schema::PasswordResetConfirm = "application/json"),
        (schema::PasswordResetConfirm = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 200, description = "`{\"detail\": \"Password has been reset with the new password.\"}`.",
            body = Detail),
        (status = 400, description = "A bad, used or expired link: `{\"token\": [\"Invalid value\"]}` \
            (or `uid`); password errors as for a change.", body = schema::PasswordResetConfirmErrors),
        BodyRefused,
        Unavailable,
    )
)]
async fn confirm_reset(
    req: HttpRequest,
    body: Result<Body, ApiError>,
    confirm: web::Data<ConfirmPasswordReset>,
    slots: web::Data<HashSlots>,
) -> Result<HttpResponse, ApiError> {
    let Body(fields) = body?;
    let input = ConfirmPasswordResetInput {
        uid: body::string(&fields, "uid"),
        token: body::string(&fields, "token"),
        new_password1: body::string(&fields, "new_password1"),
        new_password2: body::string(&fields, "new_password2"),
        client: client_info(&req),
    };
    slots
        .acquire()
        .await?
        .run(move || Ok(confirm.execute(input)?))
        .await?;
    Ok(detail("Password has been reset with the new password."))
}

/// Verifies an e-mail address with the key of a verification link.
#[utoipa::path(
    post,
    path = "/api/auth/email/verify",
    tag = "email",
    request_body(content(
        (schema::VerifyEmailRequest = "application/json"),
        (schema::VerifyEmailRequest = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 200, description = "`{\"detail\": \"ok\"}`.", body = Detail),
        (status = 400, description = "`{\"key\": [\"This field is required.\"]}`.",
            body = schema::VerifyEmailErrors),
        (status = 404, description = "A bad, used or expired key: `{\"detail\": \"Not found.\"}`.",
            body = Detail),
        BodyRefused,
        Unavailable,
    )
)]
async fn verify_email(
    req: HttpRequest,
    body: Result<Body, ApiError>,
    verify: web::Data<VerifyEmail>,
    blocking: web::Data<Blocking>,
) -> Result<HttpResponse, ApiError> {
    let Body(fields) = body?;
    let key = body::string(&fields, "key");
    let client = client_info(&req);
    blocking
        .run(move || Ok(verify.execute(key, &client)?))
        .await?;
    Ok(detail("ok"))
}

/// Sends the verification link again, if an unverified account has the address; the answer is
/// the same either way.
#[utoipa::path(
    post,
    path = "/api/auth/email/resend",
    tag = "email",
    request_body(content(
        (schema::EmailRequest = "application/json"),
        (schema::EmailRequest = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 200, description = "`{\"detail\": \"ok\"}`.", body = Detail),
        (status = 400, description = "`{\"email\": [\"Enter a valid email address.\"]}`.",
            body = schema::EmailErrors),
        BodyRefused,
        Throttled,
        Unavailable,
    )
)]
///
/// Shares the reset's rate: both send mail to an address someone typed in.
async fn resend_verification(
    req: HttpRequest,
    _: Admitted<PasswordResetRate>,
    body: Result<Body, ApiError>,
    resend: web::Data<ResendVerification>,
    blocking: web::Data<Blocking>,
) -> Result<HttpResponse, ApiError> {
    let Body(fields) = body?;
    let email = body::string(&fields, "email");
    let client = client_info(&req);
    blocking
        .run(move || Ok(resend.execute(email, &client)?))
        .await?;
    Ok(detail("ok"))
}

/// Deletes the account: the user, its profile and its sessions; its tokens are refused from then
/// on (`user_not_found`).
#[utoipa::path(
    post,
    path = "/api/auth/account/delete",
    tag = "account",
    request_body(content(
        (schema::DeleteAccountRequest = "application/json"),
        (schema::DeleteAccountRequest = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 204, description = "The account is gone."),
        (status = 400, description = "`{\"password\": [\"Your password was entered incorrectly.\"]}`.",
            body = schema::DeleteAccountErrors),
        BodyRefused,
        Throttled,
        Unavailable,
    )
)]
async fn delete_account(
    req: HttpRequest,
    Authenticated(caller): Authenticated,
    body: Result<Body, ApiError>,
    delete: web::Data<DeleteAccount>,
    slots: web::Data<HashSlots>,
) -> Result<HttpResponse, ApiError> {
    let Body(fields) = body?;
    let password = body::string(&fields, "password");
    let client = client_info(&req);
    slots
        .acquire()
        .await?
        .run(move || {
            let user = caller.user()?;
            Ok(delete.execute(user.id, password, &client)?)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The bodies as the document describes them; the handlers read them field by field (`body`).
#[allow(
    dead_code,
    reason = "the types describe bodies read through body::string"
)]
mod schema {
    use serde::Serialize;
    use utoipa::ToSchema;

    use crate::openapi::schemas::{EmailAddress, Text};

    #[derive(Serialize, ToSchema)]
    pub struct PasswordChange {
        pub old_password: Text,
        /// Passes Django's four default password validators.
        pub new_password1: Text,
        /// Equals `new_password1`.
        pub new_password2: Text,
    }

    #[derive(Serialize, ToSchema)]
    #[serde(deny_unknown_fields)]
    pub struct PasswordChangeErrors {
        /// Malformed JSON or form.
        #[serde(default)]
        pub detail: String,
        #[serde(default)]
        pub non_field_errors: Vec<String>,
        #[serde(default)]
        pub old_password: Vec<String>,
        #[serde(default)]
        pub new_password1: Vec<String>,
        #[serde(default)]
        pub new_password2: Vec<String>,
    }

    #[derive(Serialize, ToSchema)]
    pub struct EmailRequest {
        pub email: EmailAddress,
    }

    #[derive(Serialize, ToSchema)]
    #[serde(deny_unknown_fields)]
    pub struct EmailErrors {
        #[serde(default)]
        pub detail: String,
        #[serde(default)]
        pub non_field_errors: Vec<String>,
        #[serde(default)]
        pub email: Vec<String>,
    }

    #[derive(Serialize, ToSchema)]
    pub struct PasswordResetConfirm {
        /// The `uid` of the link.
        pub uid: Text,
        /// The `token` of the link.
        pub token: Text,
        pub new_password1: Text,
        pub new_password2: Text,
    }

    #[derive(Serialize, ToSchema)]
    #[serde(deny_unknown_fields)]
    pub struct PasswordResetConfirmErrors {
        #[serde(default)]
        pub detail: String,
        #[serde(default)]
        pub non_field_errors: Vec<String>,
        #[serde(default)]
        pub uid: Vec<String>,
        #[serde(default)]
        pub token: Vec<String>,
        #[serde(default)]
        pub new_password1: Vec<String>,
        #[serde(default)]
        pub new_password2: Vec<String>,
    }

    #[derive(Serialize, ToSchema)]
    pub struct VerifyEmailRequest {
        /// The `key` of the verification link.
        pub key: Text,
    }

    #[derive(Serialize, ToSchema)]
    #[serde(deny_unknown_fields)]
    pub struct VerifyEmailErrors {
        #[serde(default)]
        pub detail: String,
        #[serde(default)]
        pub non_field_errors: Vec<String>,
        #[serde(default)]
        pub key: Vec<String>,
    }

    #[derive(Serialize, ToSchema)]
    pub struct DeleteAccountRequest {
        /// The user's password.
        pub password: Text,
    }

    #[derive(Serialize, ToSchema)]
    #[serde(deny_unknown_fields)]
    pub struct DeleteAccountErrors {
        #[serde(default)]
        pub detail: String,
        #[serde(default)]
        pub non_field_errors: Vec<String>,
        #[serde(default)]
        pub password: Vec<String>,
    }
}
