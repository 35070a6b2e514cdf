//! The account's lifecycle (dj-rest-auth's paths and bodies): password change and reset,
//! e-mail verification, deletion.

use actix_web::{HttpRequest, HttpResponse, web};
use application::use_cases::{
    ChangePassword, ChangePasswordInput, ConfirmPasswordReset, ConfirmPasswordResetInput,
    DeleteAccount, RequestPasswordReset, ResendVerification, VerifyEmail,
};
use serde_json::json;

use super::{Access, Caching, POST_METHODS, endpoint};
use crate::auth::Authenticated;
use crate::blocking::{HashSlots, run};
use crate::body::{self, Body};
use crate::client::client_info;
use crate::error::ApiError;
use crate::throttle::{Admitted, PasswordResetRate};

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    let post = |path, access, route: fn() -> actix_web::Route| {
        endpoint(path, POST_METHODS, access, Caching::NoStore, move |r| {
            r.route(route())
        })
    };
    cfg.service(post("/api/auth/password/change", Access::Protected, || {
        web::post().to(change_password)
    }))
    .service(post("/api/auth/password/reset", Access::Open, || {
        web::post().to(request_reset)
    }))
    .service(post(
        "/api/auth/password/reset/confirm",
        Access::Open,
        || web::post().to(confirm_reset),
    ))
    .service(post("/api/auth/email/verify", Access::Open, || {
        web::post().to(verify_email)
    }))
    .service(post("/api/auth/email/resend", Access::Open, || {
        web::post().to(resend_verification)
    }))
    .service(post("/api/auth/account/delete", Access::Protected, || {
        web::post().to(delete_account)
    }));
}

fn detail(message: &str) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "detail": message }))
}

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
    let _turn = slots.acquire().await?;
    run(move || {
        let user = caller.user()?;
        let input = ChangePasswordInput {
            user_id: user.id,
            client_address: client.ip_address().to_owned(),
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

/// Only queues the request: the answer and its time are the same for every address.
async fn request_reset(
    _: Admitted<PasswordResetRate>,
    body: Result<Body, ApiError>,
    request: web::Data<RequestPasswordReset>,
) -> Result<HttpResponse, ApiError> {
    let Body(fields) = body?;
    let email = body::string(&fields, "email");
    run(move || Ok(request.execute(email)?)).await?;
    Ok(detail("Password reset e-mail has been sent."))
}

async fn confirm_reset(
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
    };
    let _turn = slots.acquire().await?;
    run(move || Ok(confirm.execute(input)?)).await?;
    Ok(detail("Password has been reset with the new password."))
}

async fn verify_email(
    body: Result<Body, ApiError>,
    verify: web::Data<VerifyEmail>,
) -> Result<HttpResponse, ApiError> {
    let Body(fields) = body?;
    let key = body::string(&fields, "key");
    run(move || Ok(verify.execute(key)?)).await?;
    Ok(detail("ok"))
}

/// Shares the reset's rate: both send mail to an address someone typed in.
async fn resend_verification(
    _: Admitted<PasswordResetRate>,
    body: Result<Body, ApiError>,
    resend: web::Data<ResendVerification>,
) -> Result<HttpResponse, ApiError> {
    let Body(fields) = body?;
    let email = body::string(&fields, "email");
    run(move || Ok(resend.execute(email)?)).await?;
    Ok(detail("ok"))
}

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
    let _turn = slots.acquire().await?;
    run(move || {
        let user = caller.user()?;
        Ok(delete.execute(user.id, password, client.ip_address())?)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
