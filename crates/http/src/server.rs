//! Assembling the actix-web application and binding it to a listener.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use application::ports::HealthProbe;
use application::use_cases::{
    Authenticate, ChangePassword, ConfirmPasswordReset, DeleteAccount, EndSession, GetProfile,
    ListSessions, LogIn, LogOut, RefreshToken, RegisterUser, RequestPasswordReset,
    ResendVerification, UpdateProfile, VerifyEmail, VerifyToken,
};
use tracing_actix_web::TracingLogger;

use crate::blocking::{Blocking, HashSlots};
use crate::body::BodyLimit;
use crate::client::TrustedProxies;
use crate::cookie::{CookiePolicy, RefreshCookie};
use crate::hosts::{AllowedHosts, check_host};
use crate::middleware::{
    RequestSpan, cors, refused_preflights, request_id_header, security_headers,
};
use crate::routes;
use crate::throttle::{RateLimits, ThrottleRates};

/// Every use case the HTTP adapter drives, wired by the composition root.
#[derive(Clone)]
pub struct UseCases {
    pub register: RegisterUser,
    pub log_in: LogIn,
    pub refresh: RefreshToken,
    pub log_out: LogOut,
    pub get_profile: GetProfile,
    pub update_profile: UpdateProfile,
    pub authenticate: Authenticate,
    pub verify: VerifyToken,
    pub list_sessions: ListSessions,
    pub end_session: EndSession,
    pub account: AccountFlows,
    pub health: Arc<dyn HealthProbe>,
}

/// The password, verification and deletion flows.
#[derive(Clone)]
pub struct AccountFlows {
    pub change_password: ChangePassword,
    pub request_reset: RequestPasswordReset,
    pub confirm_reset: ConfirmPasswordReset,
    pub verify_email: VerifyEmail,
    pub resend_verification: ResendVerification,
    pub delete_account: DeleteAccount,
}

/// What the HTTP layer needs from the settings.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Django's `ALLOWED_HOSTS` patterns: `example.com`, `.example.com` (and subdomains), `*`.
    pub allowed_hosts: Vec<String>,
    pub cors_allowed_origins: Vec<String>,
    /// With `debug` and no allowed hosts, the local names are allowed, as Django does.
    pub debug: bool,
    /// The largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Worker threads; `None` for one per core.
    pub workers: Option<usize>,
    /// Also hand out the refresh token as an `HttpOnly` cookie, and accept it back.
    pub refresh_cookie: Option<RefreshCookie>,
    /// How many requests that hash a password (login, registration, password change and reset,
    /// deletion) may be inside their use case at once; each runs on a thread of its own.
    pub hashing_requests: usize,
    /// How many more may wait for that; the next gets 503. Not switched off with throttling:
    /// it protects the server, not an account.
    pub max_queued_hashes: usize,
    /// Reverse proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: TrustedProxies,
    /// The rates per client address; `None` when throttling is off.
    pub rates: Option<ThrottleRates>,
    /// Threads, shared by the workers, that run the use cases hashing no password.
    pub blocking_threads: usize,
    /// On SIGTERM or SIGINT the server stops accepting at once and gives requests in flight
    /// this long to finish; then their connections are closed.
    pub shutdown_timeout: Duration,
}

/// A bound, not yet running, HTTP server.
pub struct Server {
    server: actix_web::dev::Server,
    port: u16,
}

impl Server {
    /// Builds the application on a listener the caller bound, so tests can use port 0.
    pub fn bind(
        listener: TcpListener,
        use_cases: UseCases,
        settings: HttpSettings,
    ) -> std::io::Result<Self> {
        let port = listener.local_addr()?.port();
        // One `web::Data` per concern: each handler and middleware asks for exactly what it uses.
        let register = web::Data::new(use_cases.register);
        let log_in = web::Data::new(use_cases.log_in);
        let refresh = web::Data::new(use_cases.refresh);
        let log_out = web::Data::new(use_cases.log_out);
        let get_profile = web::Data::new(use_cases.get_profile);
        let update_profile = web::Data::new(use_cases.update_profile);
        let authenticate = web::Data::new(use_cases.authenticate);
        let verify = web::Data::new(use_cases.verify);
        let list_sessions = web::Data::new(use_cases.list_sessions);
        let end_session = web::Data::new(use_cases.end_session);
        let account = use_cases.account;
        let change_password = web::Data::new(account.change_password);
        let request_reset = web::Data::new(account.request_reset);
        let confirm_reset = web::Data::new(account.confirm_reset);
        let verify_email = web::Data::new(account.verify_email);
        let resend_verification = web::Data::new(account.resend_verification);
        let delete_account = web::Data::new(account.delete_account);
        let health = web::Data::<dyn HealthProbe>::from(use_cases.health);
        let hosts = web::Data::new(AllowedHosts::new(&settings.allowed_hosts, settings.debug));
        let cookies = web::Data::new(CookiePolicy::new(
            settings.refresh_cookie,
            &settings.cors_allowed_origins,
        ));
        let body_limit = web::Data::new(BodyLimit(settings.max_body_bytes));
        let hash_slots = web::Data::new(HashSlots::new(
            settings.hashing_requests,
            settings.max_queued_hashes,
        )?);
        let blocking = web::Data::new(Blocking::start(settings.blocking_threads)?);
        let proxies = web::Data::new(settings.trusted_proxies);
        let rate_limits = web::Data::new(
            settings
                .rates
                .as_ref()
                .map_or_else(RateLimits::off, RateLimits::new),
        );
        let origins = settings.cors_allowed_origins;
        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(register.clone())
                .app_data(log_in.clone())
                .app_data(refresh.clone())
                .app_data(log_out.clone())
                .app_data(get_profile.clone())
                .app_data(update_profile.clone())
                .app_data(authenticate.clone())
                .app_data(verify.clone())
                .app_data(list_sessions.clone())
                .app_data(end_session.clone())
                .app_data(change_password.clone())
                .app_data(request_reset.clone())
                .app_data(confirm_reset.clone())
                .app_data(verify_email.clone())
                .app_data(resend_verification.clone())
                .app_data(delete_account.clone())
                .app_data(health.clone())
                .app_data(hosts.clone())
                .app_data(cookies.clone())
                .app_data(body_limit.clone())
                .app_data(hash_slots.clone())
                .app_data(blocking.clone())
                .app_data(proxies.clone())
                .app_data(rate_limits.clone())
                .configure(routes::configure)
                .default_service(web::to(routes::not_found))
                // Outermost last: the span, then the headers every answer carries, then the Host
                // check, before CORS or a route can answer.
                .wrap(cors(&origins))
                .wrap(refused_preflights())
                .wrap(from_fn(check_host))
                .wrap(security_headers())
                .wrap(from_fn(request_id_header))
                .wrap(from_fn(crate::metrics::record_request))
                .wrap(TracingLogger::<RequestSpan>::new())
        })
        .shutdown_timeout(settings.shutdown_timeout.as_secs());
        if let Some(workers) = settings.workers {
            server = server.workers(workers);
        }
        let server = server.listen(listener)?.run();
        Ok(Self { server, port })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server gracefully when asked through the handle.
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until stopped (a signal, or the handle).
    pub async fn run(self) -> std::io::Result<()> {
        self.server.await
    }
}
