//! The composition root: builds the adapters, hands them to the use cases, and binds the server.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use application::ports::{Clock, SystemClock};
use application::use_cases::{
    Authenticate, CreateSuperuser, EndSession, FlushExpiredTokens, GetProfile, ListSessions, LogIn,
    LogOut, LoginThrottle, RefreshToken, RegisterUser, SessionPolicy, SetUserActive, UpdateProfile,
    VerifyToken,
};
use http::{HttpSettings, RefreshCookie, UseCases};
use persistence::{Database, PoolOptions};
use secrecy::ExposeSecret;
use security::{Argon2Hasher, Argon2Params, JwtCodec};

use crate::settings::Settings;

/// The adapters, built once and shared by every use case.
pub struct Adapters {
    pub database: Database,
    pub hasher: Arc<Argon2Hasher>,
    pub tokens: Arc<JwtCodec>,
    pub clock: Arc<dyn Clock>,
    pub policy: SessionPolicy,
    /// The login back-off over the database, or disabled with `THROTTLE_ENABLED=false`.
    pub login_throttle: LoginThrottle,
}

impl Adapters {
    /// Connects to the database (failing fast with the driver's reason) and applies pending
    /// migrations.
    pub fn build(settings: &Settings) -> anyhow::Result<Self> {
        let database = Database::connect(
            settings.database.url.expose_secret(),
            PoolOptions {
                max_size: settings.database.pool_size,
                connection_timeout: Duration::from_secs(settings.database.connect_timeout_secs),
                ..PoolOptions::default()
            },
        )
        .context("could not connect to the database")?;
        let applied = database
            .run_migrations()
            .context("could not apply the migrations")?;
        if !applied.is_empty() {
            tracing::info!(?applied, "applied database migrations");
        }
        let password = &settings.password;
        let hasher = Argon2Hasher::new(
            Argon2Params {
                memory_kib: password.argon2_memory_kib,
                iterations: password.argon2_iterations,
                parallelism: password.argon2_parallelism,
            },
            settings.hash_slots(),
        )
        .context("invalid password hashing settings")?;
        let jwt = &settings.jwt;
        let mut tokens = JwtCodec::new(
            settings.security.secret_key.expose_secret().as_bytes(),
            Duration::from_secs(jwt.access_token_lifetime_secs),
            Duration::from_secs(jwt.refresh_token_lifetime_secs),
        )
        .with_leeway(Duration::from_secs(jwt.leeway_secs));
        if let Some(issuer) = &jwt.issuer {
            tokens = tokens.with_issuer(issuer);
        }
        if let Some(audience) = &jwt.audience {
            tokens = tokens.with_audience(audience);
        }
        let login_throttle = if settings.throttle_enabled() {
            LoginThrottle::enabled(Arc::new(database.throttle()))
        } else {
            LoginThrottle::disabled()
        };
        Ok(Self {
            database,
            login_throttle,
            hasher: Arc::new(hasher),
            tokens: Arc::new(tokens),
            clock: Arc::new(SystemClock),
            policy: settings.session_policy(),
        })
    }

    pub fn use_cases(&self) -> UseCases {
        let users = Arc::new(self.database.users());
        let refresh_tokens = Arc::new(self.database.refresh_tokens());
        let sessions = Arc::new(self.database.sessions());
        UseCases {
            register: RegisterUser {
                users: users.clone(),
                refresh_tokens: refresh_tokens.clone(),
                sessions: sessions.clone(),
                hasher: self.hasher.clone(),
                tokens: self.tokens.clone(),
                clock: self.clock.clone(),
                policy: self.policy,
            },
            log_in: LogIn {
                users: users.clone(),
                refresh_tokens: refresh_tokens.clone(),
                sessions: sessions.clone(),
                hasher: self.hasher.clone(),
                tokens: self.tokens.clone(),
                clock: self.clock.clone(),
                policy: self.policy,
                throttle: self.login_throttle.clone(),
            },
            refresh: RefreshToken {
                users: users.clone(),
                refresh_tokens: refresh_tokens.clone(),
                sessions: sessions.clone(),
                tokens: self.tokens.clone(),
                clock: self.clock.clone(),
                policy: self.policy,
            },
            log_out: LogOut {
                refresh_tokens: refresh_tokens.clone(),
                sessions: sessions.clone(),
                tokens: self.tokens.clone(),
                clock: self.clock.clone(),
            },
            get_profile: GetProfile {
                users: users.clone(),
                clock: self.clock.clone(),
            },
            update_profile: UpdateProfile {
                users: users.clone(),
                clock: self.clock.clone(),
            },
            verify: VerifyToken {
                users: users.clone(),
                refresh_tokens,
                tokens: self.tokens.clone(),
                clock: self.clock.clone(),
            },
            list_sessions: ListSessions {
                sessions: sessions.clone(),
                clock: self.clock.clone(),
            },
            end_session: EndSession {
                sessions,
                clock: self.clock.clone(),
            },
            authenticate: Authenticate {
                users,
                tokens: self.tokens.clone(),
                clock: self.clock.clone(),
            },
            health: Arc::new(self.database.health()),
        }
    }

    pub fn create_superuser(&self) -> CreateSuperuser {
        CreateSuperuser {
            users: Arc::new(self.database.users()),
            hasher: self.hasher.clone(),
            clock: self.clock.clone(),
        }
    }

    pub fn flush_expired_tokens(&self) -> FlushExpiredTokens {
        FlushExpiredTokens {
            refresh_tokens: Arc::new(self.database.refresh_tokens()),
            sessions: Arc::new(self.database.sessions()),
            throttle: Arc::new(self.database.throttle()),
            clock: self.clock.clone(),
        }
    }

    pub fn set_user_active(&self) -> SetUserActive {
        SetUserActive {
            users: Arc::new(self.database.users()),
            clock: self.clock.clone(),
        }
    }
}

/// Deletes ended sessions, expired tokens and expired login back-off records every `every`, in
/// small batches, until `shutdown` fires. A failed pass is logged and the next one tries again.
async fn prune_on_a_timer(
    flush: FlushExpiredTokens,
    every: Duration,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = shutdown.changed() => return,
        }
        let flush = flush.clone();
        match tokio::task::spawn_blocking(move || flush.execute()).await {
            Ok(Ok(flushed)) if flushed.tokens + flushed.sessions + flushed.throttle_records > 0 => {
                tracing::info!(
                    tokens = flushed.tokens,
                    sessions = flushed.sessions,
                    throttle_records = flushed.throttle_records,
                    "pruned"
                );
            }
            Ok(Ok(_)) => {}
            Ok(Err(error)) => {
                tracing::warn!(error = %error, "pruning failed; retrying at the next pass")
            }
            Err(error) => tracing::error!(error = %error, "the pruning task panicked"),
        }
    }
}

/// A configured server bound to its address, ready to run.
pub struct Application {
    server: http::Server,
    address: std::net::SocketAddr,
    pruner: FlushExpiredTokens,
    prune_every: Duration,
}

impl Application {
    /// Checks the settings, connects, migrates and binds. `bind_address` may use port 0.
    pub fn build(settings: &Settings) -> anyhow::Result<Self> {
        let environment = &settings.environment;
        tracing::info!(
            environment = %environment.name,
            chosen_by = environment.chosen_by,
            debug = settings.security.debug,
            "auth-server is starting in the {} environment ({})",
            environment.name,
            environment.chosen_by,
        );
        for warning in settings.check()? {
            tracing::warn!("{warning}");
        }
        match settings.throttle_rates() {
            Some(rates) => tracing::info!(%rates, "rates per client address"),
            None => {
                tracing::info!("throttling is off: no rates per client address, no login back-off")
            }
        }
        let adapters = Adapters::build(settings)?;
        let listener = TcpListener::bind(&settings.server.bind_address)
            .with_context(|| format!("could not listen on {}", settings.server.bind_address))?;
        let address = listener.local_addr()?;
        let workers = settings.workers();
        // Twice the hash slots, so a hash worker never idles while a login does its database work.
        let hashing_requests = 2 * settings.hash_slots();
        let max_blocking_threads = match settings.server.max_blocking_threads {
            0 => settings.database.pool_size.div_ceil(workers as u32) as usize + hashing_requests,
            n => n,
        };
        let http_settings = HttpSettings {
            allowed_hosts: settings.security.allowed_hosts.clone(),
            cors_allowed_origins: settings.security.cors_allowed_origins.clone(),
            debug: settings.security.debug,
            max_body_bytes: settings.server.max_body_bytes,
            workers: Some(workers),
            hashing_requests,
            max_queued_hashes: settings.password.max_queued_hashes,
            trusted_proxies: settings.server.trusted_proxies.clone(),
            rates: settings.throttle_rates().cloned(),
            max_blocking_threads: Some(max_blocking_threads),
            refresh_cookie: settings.security.refresh_cookie.then(|| RefreshCookie {
                max_age: Duration::from_secs(settings.jwt.refresh_token_lifetime_secs),
                secure: !settings.security.debug,
            }),
        };
        let server = http::Server::bind(listener, adapters.use_cases(), http_settings)?;
        Ok(Self {
            server,
            address,
            pruner: adapters.flush_expired_tokens(),
            prune_every: Duration::from_secs(settings.sessions.prune_interval_secs),
        })
    }

    pub fn address(&self) -> std::net::SocketAddr {
        self.address
    }

    pub fn port(&self) -> u16 {
        self.server.port()
    }

    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Serves until a shutdown signal, pruning ended sessions and expired tokens meanwhile.
    pub async fn run(self) -> std::io::Result<()> {
        let (stop_pruning, shutdown) = tokio::sync::watch::channel(false);
        let pruner = tokio::spawn(prune_on_a_timer(self.pruner, self.prune_every, shutdown));
        let served = self.server.run().await;
        let _ = stop_pruning.send(true);
        let _ = pruner.await;
        served
    }
}
