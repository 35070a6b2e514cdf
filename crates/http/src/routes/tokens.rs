//! Registration, login, refresh, verify and logout: the endpoints that hand out, check and take
//! back tokens.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, HttpResponse, HttpResponseBuilder, ResponseError, web};
use application::use_cases::{
    LogIn, LogInInput, LogOut, LogOutInput, ProfileInput, RefreshToken, RefreshTokenInput,
    RegisterUser, RegisterUserInput, Registered, TokenPair, VerifyToken,
};
use domain::ClientInfo;
use serde::Serialize;

use super::{Access, Caching, POST_METHODS, endpoint};
use crate::auth::{Authenticated, Credentials};
use crate::blocking::{HashSlots, run};
use crate::body::{self, Body, Fields};
use crate::client::client_info;
use crate::cookie::CookiePolicy;
use crate::error::ApiError;
use crate::throttle::{self, Admitted, LoginRate, RateScope, RefreshRate, RegisterRate};

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    let post = |path, access, handler: fn() -> Route| {
        endpoint(path, POST_METHODS, access, Caching::NoStore, move |r| {
            r.route(handler())
        })
    };
    cfg.service(post("/api/auth/register", Access::ReadsToken, || {
        web::post().to(register)
    }))
    .service(post("/api/auth/login", Access::ReadsToken, || {
        web::post().to(log_in)
    }))
    .service(post("/api/auth/refresh", Access::Open, || {
        web::post().to(refresh)
    }))
    .service(post("/api/auth/verify", Access::Open, || {
        web::post().to(verify)
    }))
    .service(post("/api/auth/logout", Access::Protected, || {
        web::post().to(log_out)
    }));
}

type Route = actix_web::Route;

#[derive(Serialize)]
struct TokenPairBody {
    refresh: String,
    access: String,
}

/// `/refresh`'s answer: the refresh token only when it was rotated.
#[derive(Serialize)]
struct RefreshedBody {
    access: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh: Option<String>,
}

/// The token pair as the body says it, and as a cookie too when that is enabled.
fn token_pair(
    mut response: HttpResponseBuilder,
    cookies: &CookiePolicy,
    pair: TokenPair,
) -> HttpResponse {
    cookies.issue(&mut response, &pair.refresh);
    response.json(TokenPairBody {
        refresh: pair.refresh,
        access: pair.access,
    })
}

/// What login and registration share: the optional bearer token decoded, the request admitted
/// under the scope `S`'s rate, the cross-site check (when the cookie is on), the token's user
/// checked, a turn at a password hash for the use case on the body and the caller's client, and
/// the pair as body and cookie. Taken as one extractor by both handlers. A throttled request is
/// refused before its body is read or a turn is taken.
struct SignIn<S> {
    req: HttpRequest,
    form: Form,
    cookies: web::Data<CookiePolicy>,
    slots: web::Data<HashSlots>,
    scope: PhantomData<S>,
}

/// A sign-in's token and body, read on the blocking pool with the use case's first step.
struct Form {
    credentials: Credentials,
    body: Result<Body, ApiError>,
}

impl Form {
    /// The body's fields, once the token's user (if a token came) is found active. Blocks.
    fn read(self) -> Result<Fields, ApiError> {
        self.credentials.check()?;
        let Body(fields) = self.body?;
        Ok(fields)
    }
}

impl<S: RateScope> FromRequest for SignIn<S> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        // A malformed token is refused before the rate is counted, as DRF authenticates before
        // it throttles.
        let admitted = Credentials::from_request(req, payload)
            .into_inner()
            .and_then(|credentials| throttle::admit(req, S::SCOPE).map(|()| credentials));
        let body = Body::from_request(req, payload);
        let cookies = web::Data::<CookiePolicy>::extract(req).into_inner();
        let slots = web::Data::<HashSlots>::extract(req).into_inner();
        let req = req.clone();
        Box::pin(async move {
            let unregistered = |error: actix_web::Error| ApiError::internal(error.to_string());
            let credentials = admitted?;
            Ok(Self {
                form: Form {
                    credentials,
                    body: body.await,
                },
                cookies: cookies.map_err(unregistered)?,
                slots: slots.map_err(unregistered)?,
                req,
                scope: PhantomData,
            })
        })
    }
}

impl<S> SignIn<S> {
    /// Registration: the token's user, the body and the use case in one turn at a hash. With
    /// verification mandatory no session starts, and the answer says the link is on its way.
    async fn run(
        self,
        success: fn() -> HttpResponseBuilder,
        use_case: impl FnOnce(&Fields, ClientInfo) -> Result<Registered, ApiError> + Send + 'static,
    ) -> Result<HttpResponse, ApiError> {
        let client = self.check_origin()?;
        let _turn = self.slots.acquire().await?;
        let form = self.form;
        match run(move || use_case(&form.read()?, client)).await? {
            Registered::SignedIn(pair) => Ok(token_pair(success(), &self.cookies, pair)),
            Registered::AwaitingVerification => {
                Ok(success().json(serde_json::json!({ "detail": "Verification e-mail sent." })))
            }
        }
    }

    /// Login: `admit` (the token's user, the body, the back-off: database work, no hash) before
    /// a turn at a hash, so an attempt it refuses never waits for one; then `finish` (the
    /// password check) in the turn.
    async fn run_admitted<A: Send + 'static>(
        self,
        success: fn() -> HttpResponseBuilder,
        admit: impl FnOnce(&Fields, ClientInfo) -> Result<A, ApiError> + Send + 'static,
        finish: impl FnOnce(A) -> Result<TokenPair, ApiError> + Send + 'static,
    ) -> Result<HttpResponse, ApiError> {
        let client = self.check_origin()?;
        let form = self.form;
        let admitted = run(move || admit(&form.read()?, client)).await?;
        let _turn = self.slots.acquire().await?;
        let pair = run(move || finish(admitted)).await?;
        Ok(token_pair(success(), &self.cookies, pair))
    }

    /// The cross-site check of the cookie policy; then the caller's client.
    fn check_origin(&self) -> Result<ClientInfo, ApiError> {
        self.cookies.check_sign_in(&self.req)?;
        Ok(client_info(&self.req))
    }
}

async fn register(
    sign_in: SignIn<RegisterRate>,
    register: web::Data<RegisterUser>,
) -> Result<HttpResponse, ApiError> {
    sign_in
        .run(HttpResponse::Created, move |fields, client| {
            let input = RegisterUserInput {
                client,
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
            Ok(register.execute(input)?)
        })
        .await
}

/// The back-off decides before the turn at a hash: a throttled attempt (429) costs one query,
/// and neither waits in the hash queue nor takes a place in it.
async fn log_in(
    sign_in: SignIn<LoginRate>,
    log_in: web::Data<LogIn>,
) -> Result<HttpResponse, ApiError> {
    let finishing = log_in.clone();
    sign_in
        .run_admitted(
            HttpResponse::Ok,
            move |fields, client| {
                let input = LogInInput {
                    client,
                    username: body::string(fields, "username"),
                    password: body::string(fields, "password"),
                };
                Ok(log_in.admit(input)?)
            },
            move |admitted| Ok(finishing.finish(admitted)?),
        )
        .await
}

async fn refresh(
    _: Admitted<RefreshRate>,
    req: HttpRequest,
    body: Result<Body, ApiError>,
    refresh: web::Data<RefreshToken>,
    cookies: web::Data<CookiePolicy>,
) -> Result<HttpResponse, ApiError> {
    let Body(fields) = body?;
    let (token, used_cookie) = cookies.refresh_token(&req, &fields)?;
    let input = RefreshTokenInput { refresh: token };
    match run(move || Ok(refresh.execute(input)?)).await {
        Ok(refreshed) => {
            let mut response = HttpResponse::Ok();
            if let Some(rotated) = &refreshed.refresh {
                cookies.issue(&mut response, rotated);
            }
            Ok(response.json(RefreshedBody {
                access: refreshed.access,
                refresh: refreshed.refresh,
            }))
        }
        // A cookie that no longer works is dropped, so the browser stops sending it.
        Err(error @ ApiError::TokenNotValid { .. }) if used_cookie => {
            let mut response = error.error_response();
            cookies.clear(&mut response);
            Ok(response)
        }
        Err(error) => Err(error),
    }
}

async fn log_out(
    req: HttpRequest,
    Authenticated(caller): Authenticated,
    body: Result<Body, ApiError>,
    log_out: web::Data<LogOut>,
    cookies: web::Data<CookiePolicy>,
) -> Result<HttpResponse, ApiError> {
    let form = body.and_then(|Body(fields)| {
        let refresh = cookies.refresh_token(&req, &fields)?.0;
        Ok((refresh, body::string(&fields, "scope")))
    });
    let this_session_goes_on = run(move || {
        let user = caller.user()?;
        let (refresh, scope) = form?;
        let input = LogOutInput {
            user_id: user.id,
            session_id: caller.claims.session_id.clone(),
            refresh,
            scope,
        };
        Ok(log_out.execute(input)?)
    })
    .await?;
    let mut response = HttpResponse::ResetContent().finish();
    // Signing out the other devices keeps this one signed in, cookie included.
    if !this_session_goes_on {
        cookies.clear(&mut response);
    }
    Ok(response)
}

/// simplejwt's `TokenVerifyView`: `{}` for a token that would be accepted right now.
async fn verify(
    body: Result<Body, ApiError>,
    verify: web::Data<VerifyToken>,
) -> Result<HttpResponse, ApiError> {
    let Body(fields) = body?;
    let token = body::string(&fields, "token");
    run(move || Ok(verify.execute(token)?)).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({})))
}
