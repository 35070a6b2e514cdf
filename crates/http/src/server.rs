//! Assembling the actix-web application and binding it to a listener.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::ServerHandle;
use actix_web::http::header;
use actix_web::middleware::{DefaultHeaders, from_fn};
use actix_web::{App, HttpServer, web};
use application::ports::HealthProbe;
use application::use_cases::{
    Authenticate, GetProfile, LogIn, LogOut, RefreshToken, RegisterUser, UpdateProfile,
};
use tokio::sync::Semaphore;

use crate::cookie::RefreshCookie;
use crate::cors::{AllowedOrigins, cors};
use crate::middleware::{AllowedHosts, check_host, log_request};
use crate::routes;

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
    pub health: Arc<dyn HealthProbe>,
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
    /// How many login and registration requests may be inside their use case at once. Each costs
    /// a password hash; the rest wait without holding a thread, so a login flood cannot take the
    /// blocking threads every other request needs.
    pub hashing_requests: usize,
    /// Blocking threads per worker for use cases; `None` for actix's default (512).
    pub max_blocking_threads: Option<usize>,
}

/// Shared state of every request.
pub(crate) struct AppState {
    pub use_cases: UseCases,
    pub allowed_hosts: AllowedHosts,
    pub allowed_origins: AllowedOrigins,
    pub refresh_cookie: Option<RefreshCookie>,
    pub max_body_bytes: usize,
    pub hashing_requests: Semaphore,
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
        let state = web::Data::new(AppState {
            use_cases,
            allowed_hosts: AllowedHosts::new(&settings.allowed_hosts, settings.debug),
            allowed_origins: AllowedOrigins::new(&settings.cors_allowed_origins),
            refresh_cookie: settings.refresh_cookie,
            hashing_requests: Semaphore::new(settings.hashing_requests.max(1)),
            max_body_bytes: settings.max_body_bytes,
        });
        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .configure(routes::configure)
                .default_service(web::to(routes::not_found))
                .wrap(from_fn(check_host))
                .wrap(from_fn(cors))
                .wrap(security_headers())
                .wrap(from_fn(log_request))
        })
        .shutdown_timeout(10);
        if let Some(workers) = settings.workers {
            server = server.workers(workers);
        }
        if let Some(threads) = settings.max_blocking_threads {
            server = server.worker_max_blocking_threads(threads.max(1));
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

/// Django's `SecurityMiddleware` and `XFrameOptionsMiddleware` defaults.
fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((header::X_FRAME_OPTIONS, "DENY"))
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::REFERRER_POLICY, "same-origin"))
        .add(("Cross-Origin-Opener-Policy", "same-origin"))
}
