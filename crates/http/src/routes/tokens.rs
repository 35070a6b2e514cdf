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
use utoipa::ToSchema;

use super::{Access, Caching, Endpoint, endpoint, operation};
use crate::auth::{Authenticated, Credentials};
use crate::blocking::{Blocking, HashSlots};
use crate::body::{self, Body, Fields};
use crate::client::client_info;
use crate::cookie::CookiePolicy;
use crate::error::ApiError;
use crate::openapi::schemas::{
    AuthenticationError, BodyRefused, CsrfFailed, Throttled, TokenError, Unavailable,
};
use crate::throttle::{self, Admitted, LoginRate, RateScope, RefreshRate, RegisterRate};

pub(super) fn endpoints() -> Vec<Endpoint> {
    let post = |access, operation| endpoint(access, Caching::NoStore, vec![operation]);
    vec![
        post(Access::ReadsToken, operation(__path_register, register)),
        post(Access::ReadsToken, operation(__path_log_in, log_in)),
        post(Access::Open, operation(__path_refresh, refresh)),
        post(Access::Open, operation(__path_verify, verify)),
        post(Access::Protected, operation(__path_log_out, log_out)),
    ]
}

/// A new session's tokens.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = TokenPair)]
struct TokenPairBody {
    /// A refresh token (JWT), for `/refresh` and `/logout`.
    refresh: String,
    /// An access token (JWT), for `Authorization: Bearer`.
    access: String,
}

/// `/refresh`'s answer: the refresh token only when it was rotated (`ROTATE_REFRESH_TOKENS`).
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Refreshed)]
struct RefreshedBody {
    access: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
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
    blocking: web::Data<Blocking>,
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
        let blocking = web::Data::<Blocking>::extract(req).into_inner();
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
                blocking: blocking.map_err(unregistered)?,
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
        let form = self.form;
        let turn = self.slots.acquire().await?;
        match turn.run(move || use_case(&form.read()?, client)).await? {
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
        let admitted = self
            .blocking
            .run(move || admit(&form.read()?, client))
            .await?;
        let turn = self.slots.acquire().await?;
        let pair = turn.run(move || finish(admitted)).await?;
        Ok(token_pair(success(), &self.cookies, pair))
    }

    /// The cross-site check of the cookie policy; then the caller's client.
    fn check_origin(&self) -> Result<ClientInfo, ApiError> {
        self.cookies.check_sign_in(&self.req)?;
        Ok(client_info(&self.req))
    }
}

/// Registers a user with its profile and starts a session. With `ACCOUNT_EMAIL_VERIFICATION=mandatory`
/// no session starts: the answer says the verification link is on its way.
#[utoipa::path(
    post,
    path = "/api/auth/register",
    tag = "tokens",
    request_body(content(
        (schema::RegisterRequest = "application/json"),
        (schema::RegisterForm = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 201, description = "The user is registered.", body = schema::Registered,
            headers(("Set-Cookie", description = "The refresh token, with the refresh cookie on."))),
        (status = 400, description = "Field errors; every failing field is reported.",
            body = schema::RegisterErrors),
        CsrfFailed,
        BodyRefused,
        Throttled,
        Unavailable,
    )
)]
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

/// Signs in with a username and password and starts a session.
#[utoipa::path(
    post,
    path = "/api/auth/login",
    tag = "tokens",
    request_body(content(
        (schema::LoginRequest = "application/json"),
        (schema::LoginRequest = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 200, description = "Signed in.", body = TokenPairBody,
            headers(("Set-Cookie", description = "The refresh token, with the refresh cookie on."))),
        (status = 400, description = "Field errors, or `{\"non_field_errors\": [\"E-mail is not verified.\"]}` \
            when verification is mandatory.", body = schema::LoginErrors),
        (status = 401, description = "`{\"detail\": \"No active account found with the given credentials\"}` \
            for a wrong password, an unknown username or an inactive user alike; or a refused \
            bearer token.", body = AuthenticationError,
            headers(("WWW-Authenticate", description = "`Bearer realm=\"api\"`"))),
        CsrfFailed,
        BodyRefused,
        Throttled,
        Unavailable,
    )
)]
///
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

/// A new access token for a refresh token; with rotation, a new refresh token too (the presented
/// one is spent).
#[utoipa::path(
    post,
    path = "/api/auth/refresh",
    tag = "tokens",
    params(RefreshCookieParam),
    request_body(content(
        (schema::RefreshRequest = "application/json"),
        (schema::RefreshRequest = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 200, description = "A new access token.", body = RefreshedBody,
            headers(("Set-Cookie", description = "The rotated refresh token, with the refresh cookie on."))),
        (status = 400, description = "Field errors: `{\"refresh\": [\"This field is required.\"]}`.",
            body = schema::RefreshErrors),
        (status = 401, description = "The refresh token is invalid, expired, of the wrong type, \
            blacklisted, spent or of an ended session.", body = TokenError,
            headers(("WWW-Authenticate", description = "`Bearer realm=\"api\"`"))),
        CsrfFailed,
        BodyRefused,
        Throttled,
        Unavailable,
    )
)]
async fn refresh(
    _: Admitted<RefreshRate>,
    req: HttpRequest,
    body: Result<Body, ApiError>,
    refresh: web::Data<RefreshToken>,
    cookies: web::Data<CookiePolicy>,
    blocking: web::Data<Blocking>,
) -> Result<HttpResponse, ApiError> {
    let Body(fields) = body?;
    let (token, used_cookie) = cookies.refresh_token(&req, &fields)?;
    let input = RefreshTokenInput {
        refresh: token,
        client: client_info(&req),
    };
    match blocking.run(move || Ok(refresh.execute(input)?)).await {
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

/// Ends the session of the given refresh token, its access tokens included; with `scope`, the
/// user's other sessions (`others`) or all of them (`all`), and then `refresh` may be omitted.
#[utoipa::path(
    post,
    path = "/api/auth/logout",
    tag = "tokens",
    params(RefreshCookieParam),
    request_body(content(
        (schema::LogoutRequest = "application/json"),
        (schema::LogoutRequest = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 205, description = "Signed out; the body is empty.",
            headers(("Set-Cookie", description = "Clears the refresh cookie, when it is on."))),
        (status = 400, description = "Field errors: `{\"refresh\": [\"Token is blacklisted\"]}` (or \
            invalid, expired, wrong type, another user's, missing), `{\"scope\": [\"\\\"x\\\" is \
            not a valid choice.\"]}`.", body = schema::LogoutErrors),
        CsrfFailed,
        BodyRefused,
        Unavailable,
    )
)]
async fn log_out(
    req: HttpRequest,
    Authenticated(caller): Authenticated,
    body: Result<Body, ApiError>,
    log_out: web::Data<LogOut>,
    cookies: web::Data<CookiePolicy>,
    blocking: web::Data<Blocking>,
) -> Result<HttpResponse, ApiError> {
    let form = body.and_then(|Body(fields)| {
        let refresh = cookies.refresh_token(&req, &fields)?.0;
        Ok((refresh, body::string(&fields, "scope")))
    });
    let client = client_info(&req);
    let this_session_goes_on = blocking
        .run(move || {
            let user = caller.user()?;
            let (refresh, scope) = form?;
            let input = LogOutInput {
                user_id: user.id,
                session_id: caller.claims.session_id.clone(),
                refresh,
                scope,
                client,
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
#[utoipa::path(
    post,
    path = "/api/auth/verify",
    tag = "tokens",
    request_body(content(
        (schema::VerifyRequest = "application/json"),
        (schema::VerifyRequest = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 200, description = "The token is a valid access or refresh token of a live \
            session and an active user.", body = schema::Verified),
        (status = 400, description = "Field errors: `{\"token\": [\"This field is required.\"]}`.",
            body = schema::VerifyErrors),
        (status = 401, description = "The token would be refused.", body = TokenError,
            headers(("WWW-Authenticate", description = "`Bearer realm=\"api\"`"))),
        BodyRefused,
        Unavailable,
    )
)]
async fn verify(
    body: Result<Body, ApiError>,
    verify: web::Data<VerifyToken>,
    blocking: web::Data<Blocking>,
) -> Result<HttpResponse, ApiError> {
    let Body(fields) = body?;
    let token = body::string(&fields, "token");
    blocking.run(move || Ok(verify.execute(token)?)).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({})))
}

/// The refresh cookie, taken by `/refresh` and `/logout` when the body has no `refresh`.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Cookie)]
#[allow(dead_code, reason = "describes the cookie CookiePolicy reads")]
struct RefreshCookieParam {
    /// The refresh token, only with the refresh cookie on (`AUTH__SECURITY__REFRESH_COOKIE=true`);
    /// ignored when the body has `refresh`. A request that uses it must be `application/json`
    /// from an allowed `Origin`.
    refresh_token: Option<String>,
}

/// The bodies as the document describes them. The handlers read them field by field (`body`), as
/// DRF's serializers do, so that every failing field is reported together.
#[allow(
    dead_code,
    reason = "the types describe bodies read through body::string"
)]
mod schema {
    use serde::Serialize;
    use utoipa::ToSchema;

    use super::TokenPairBody;
    use crate::openapi::schemas::{Detail, EmailAddress, PersonName, Phone, Text, Username};

    #[derive(Serialize, ToSchema)]
    pub struct RegisterRequest {
        /// At most 150 letters, digits and `@.+-_`; unique, case-sensitively.
        pub username: Username,
        /// Unique, case-insensitively.
        pub email: EmailAddress,
        /// Passes Django's four default password validators.
        pub password: Text,
        /// Equals `password`.
        pub password2: Text,
        /// May be `""`.
        pub first_name: PersonName,
        /// May be `""`.
        pub last_name: PersonName,
        /// Optional; not `null`.
        #[serde(default)]
        pub profile: RegisterProfile,
    }

    #[derive(Serialize, ToSchema)]
    pub struct RegisterProfile {
        /// `""` when absent.
        #[serde(default)]
        pub phone: Phone,
    }

    /// The form-encoded registration: the profile's phone as the dotted key `profile.phone`.
    #[derive(Serialize, ToSchema)]
    pub struct RegisterForm {
        pub username: Username,
        pub email: EmailAddress,
        pub password: Text,
        pub password2: Text,
        pub first_name: PersonName,
        pub last_name: PersonName,
        #[serde(rename = "profile.phone", default)]
        pub profile_phone: Phone,
    }

    /// `{"refresh", "access"}`, or with verification mandatory `{"detail": "Verification e-mail
    /// sent."}`.
    #[derive(Serialize, ToSchema)]
    #[serde(untagged)]
    pub enum Registered {
        SignedIn(TokenPairBody),
        AwaitingVerification(Detail),
    }

    #[derive(Serialize, ToSchema)]
    #[serde(deny_unknown_fields)]
    pub struct RegisterErrors {
        /// Malformed JSON or form.
        #[serde(default)]
        pub detail: String,
        #[serde(default)]
        pub non_field_errors: Vec<String>,
        #[serde(default)]
        pub username: Vec<String>,
        #[serde(default)]
        pub email: Vec<String>,
        #[serde(default)]
        pub password: Vec<String>,
        #[serde(default)]
        pub password2: Vec<String>,
        #[serde(default)]
        pub first_name: Vec<String>,
        #[serde(default)]
        pub last_name: Vec<String>,
        #[serde(default)]
        pub profile: RegisterProfileErrors,
    }

    /// The profile's own messages (`"This field may not be null."`), or its fields'.
    #[derive(Serialize, ToSchema)]
    #[serde(untagged)]
    pub enum RegisterProfileErrors {
        Messages(Vec<String>),
        Fields(RegisterProfileFieldErrors),
    }

    #[derive(Serialize, ToSchema)]
    #[serde(deny_unknown_fields)]
    pub struct RegisterProfileFieldErrors {
        #[serde(default)]
        pub non_field_errors: Vec<String>,
        #[serde(default)]
        pub phone: Vec<String>,
    }

    #[derive(Serialize, ToSchema)]
    pub struct LoginRequest {
        /// Case-sensitive, normalised with NFKC.
        pub username: Text,
        pub password: Text,
    }

    #[derive(Serialize, ToSchema)]
    #[serde(deny_unknown_fields)]
    pub struct LoginErrors {
        #[serde(default)]
        pub detail: String,
        #[serde(default)]
        pub non_field_errors: Vec<String>,
        #[serde(default)]
        pub username: Vec<String>,
        #[serde(default)]
        pub password: Vec<String>,
    }

    #[derive(Serialize, ToSchema)]
    pub struct RefreshRequest {
        /// A refresh token. With the refresh cookie on, it may come as the cookie instead.
        pub refresh: Text,
    }

    #[derive(Serialize, ToSchema)]
    #[serde(deny_unknown_fields)]
    pub struct RefreshErrors {
        #[serde(default)]
        pub detail: String,
        #[serde(default)]
        pub non_field_errors: Vec<String>,
        #[serde(default)]
        pub refresh: Vec<String>,
    }

    #[derive(Serialize, ToSchema)]
    pub struct VerifyRequest {
        /// An access or refresh token.
        pub token: Text,
    }

    /// `{}`.
    #[derive(Serialize, ToSchema)]
    #[serde(deny_unknown_fields)]
    pub struct Verified {}

    #[derive(Serialize, ToSchema)]
    #[serde(deny_unknown_fields)]
    pub struct VerifyErrors {
        #[serde(default)]
        pub detail: String,
        #[serde(default)]
        pub non_field_errors: Vec<String>,
        #[serde(default)]
        pub token: Vec<String>,
    }

    #[derive(Serialize, ToSchema)]
    pub struct LogoutRequest {
        /// The refresh token of the session to end; may be omitted with a `scope` (or, with the
        /// refresh cookie on, come as the cookie).
        #[serde(default)]
        pub refresh: String,
        /// `others`: end every other session of the user and keep this one; `all`: end every
        /// session. Absent: end the refresh token's session.
        #[serde(default)]
        pub scope: LogoutScope,
    }

    #[derive(Serialize, ToSchema)]
    #[serde(rename_all = "lowercase")]
    pub enum LogoutScope {
        Others,
        All,
    }

    #[derive(Serialize, ToSchema)]
    #[serde(deny_unknown_fields)]
    pub struct LogoutErrors {
        #[serde(default)]
        pub detail: String,
        #[serde(default)]
        pub non_field_errors: Vec<String>,
        #[serde(default)]
        pub refresh: Vec<String>,
        #[serde(default)]
        pub scope: Vec<String>,
    }
}
