//! The composition root: builds the adapters, hands them to the use cases, and binds the server.

use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use application::ports::{
    AuditLog, Clock, DjangoSource, MailComposer, Mailer, Outbox, SystemClock,
};
use application::use_cases::{
    AccountPolicy, Authenticate, ChangePassword, ConfirmPasswordReset, CreateSuperuser,
    DeleteAccount, DeliverOutbox, Delivery, EmailVerification, EndSession, FlushExpiredTokens,
    GetProfile, ImportDjango, ListSessions, LogIn, LogOut, LoginThrottle, OutboxPolicy, Outcome,
    ReadAuditLog, RefreshToken, RegisterUser, RequestPasswordReset, ResendVerification,
    SessionPolicy, SetUserActive, UpdateProfile, VerifyEmail, VerifyToken,
};
use http::{AccountFlows, HttpSettings, RefreshCookie, UseCases};
use mail::{ConsoleMailer, FileMailer, SmtpMailer, SmtpSettings, TemplateComposer};
use persistence::{Database, PoolOptions};
use secrecy::{ExposeSecret, SecretString};
use security::{Argon2Hasher, Argon2Params, HmacAccountTokens, JwtCodec};

use crate::metrics::MetricsServer;
use crate::settings::{EmailBackend, Settings};

/// The adapters, built once and shared by every use case.
pub struct Adapters {
    pub database: Database,
    pub hasher: Arc<Argon2Hasher>,
    pub tokens: Arc<JwtCodec>,
    pub clock: Arc<dyn Clock>,
    pub policy: SessionPolicy,
    /// The login back-off over the database, or disabled with `THROTTLE_ENABLED=false`.
    pub login_throttle: LoginThrottle,
    pub mailer: Arc<dyn Mailer>,
    pub composer: Arc<dyn MailComposer>,
    pub account_tokens: Arc<HmacAccountTokens>,
    pub account: AccountPolicy,
    pub outbox_policy: OutboxPolicy,
    /// How long audit events are kept; `None` keeps them all.
    pub audit_retention: Option<chrono::TimeDelta>,
}

/// The `EMAIL_BACKEND` the settings name.
fn build_mailer(settings: &Settings) -> anyhow::Result<Arc<dyn Mailer>> {
    let email = &settings.email;
    let from = &email.default_from_email;
    Ok(match email.backend {
        EmailBackend::Console => Arc::new(ConsoleMailer::new(from)?),
        EmailBackend::File => Arc::new(FileMailer::new(&email.file_path, from)?),
        EmailBackend::Smtp => {
            let extra_root_certificate = if email.ssl_cafile.is_empty() {
                None
            } else {
                Some(std::fs::read(&email.ssl_cafile).with_context(|| {
                    format!("could not read EMAIL_SSL_CAFILE {}", email.ssl_cafile)
                })?)
            };
            let password = email.host_password.expose_secret();
            Arc::new(SmtpMailer::new(SmtpSettings {
                host: email.host.clone(),
                port: email.port,
                username: (!email.host_user.is_empty()).then(|| email.host_user.clone()),
                password: (!password.is_empty()).then(|| SecretString::from(password.to_owned())),
                use_tls: email.use_tls,
                use_ssl: email.use_ssl,
                timeout: Duration::from_secs(email.timeout_secs),
                from: from.clone(),
                extra_root_certificate,
            })?)
        }
    })
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
            LoginThrottle::enabled(
                Arc::new(database.throttle()),
                Arc::new(database.audit_log()),
            )
        } else {
            LoginThrottle::disabled()
        };
        let mailer = build_mailer(settings).context("invalid e-mail settings")?;
        let composer = TemplateComposer::new(
            settings.account.site_name.clone(),
            settings.account.frontend_url.clone(),
        )
        .context("the mail templates do not load")?;
        Ok(Self {
            database,
            login_throttle,
            hasher: Arc::new(hasher),
            tokens: Arc::new(tokens),
            clock: Arc::new(SystemClock),
            policy: settings.session_policy(),
            mailer,
            composer: Arc::new(composer),
            account_tokens: Arc::new(HmacAccountTokens::new(
                settings.security.secret_key.expose_secret().as_bytes(),
            )),
            account: settings.account_policy(),
            outbox_policy: settings.outbox_policy(),
            audit_retention: settings.audit.retention(),
        })
    }

    /// The outbox worker's pass over these adapters.
    pub fn deliver_outbox(&self) -> DeliverOutbox {
        DeliverOutbox {
            outbox: Arc::new(self.database.outbox()),
            users: Arc::new(self.database.users()),
            mailer: self.mailer.clone(),
            composer: self.composer.clone(),
            tokens: self.account_tokens.clone(),
            clock: self.clock.clone(),
            policy: self.outbox_policy,
            account: self.account.clone(),
        }
    }

    pub fn use_cases(&self) -> UseCases {
        let users = Arc::new(self.database.users());
        let refresh_tokens = Arc::new(self.database.refresh_tokens());
        let sessions = Arc::new(self.database.sessions());
        let outbox: Arc<dyn Outbox> = Arc::new(self.database.outbox());
        let audit: Arc<dyn AuditLog> = Arc::new(self.database.audit_log());
        let account = AccountFlows {
            change_password: ChangePassword {
                users: users.clone(),
                hasher: self.hasher.clone(),
                composer: self.composer.clone(),
                tokens: self.account_tokens.clone(),
                clock: self.clock.clone(),
                policy: self.account.clone(),
                throttle: self.login_throttle.clone(),
            },
            request_reset: RequestPasswordReset {
                outbox: outbox.clone(),
                clock: self.clock.clone(),
            },
            confirm_reset: ConfirmPasswordReset {
                users: users.clone(),
                hasher: self.hasher.clone(),
                composer: self.composer.clone(),
                tokens: self.account_tokens.clone(),
                clock: self.clock.clone(),
                policy: self.account.clone(),
            },
            verify_email: VerifyEmail {
                users: users.clone(),
                composer: self.composer.clone(),
                tokens: self.account_tokens.clone(),
                clock: self.clock.clone(),
                policy: self.account.clone(),
            },
            resend_verification: ResendVerification {
                outbox: outbox.clone(),
                clock: self.clock.clone(),
            },
            delete_account: DeleteAccount {
                users: users.clone(),
                hasher: self.hasher.clone(),
                clock: self.clock.clone(),
                throttle: self.login_throttle.clone(),
            },
        };
        UseCases {
            account,
            register: RegisterUser {
                users: users.clone(),
                refresh_tokens: refresh_tokens.clone(),
                sessions: sessions.clone(),
                hasher: self.hasher.clone(),
                tokens: self.tokens.clone(),
                clock: self.clock.clone(),
                policy: self.policy,
                composer: self.composer.clone(),
                account_tokens: self.account_tokens.clone(),
                account: self.account.clone(),
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
                require_verified_email: self.account.email_verification
                    == EmailVerification::Mandatory,
                audit: audit.clone(),
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
                audit,
            },
            get_profile: GetProfile {
                users: users.clone(),
                clock: self.clock.clone(),
            },
            update_profile: UpdateProfile {
                users: users.clone(),
                clock: self.clock.clone(),
                composer: self.composer.clone(),
                tokens: self.account_tokens.clone(),
                outbox: outbox.clone(),
                account: self.account.clone(),
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
            outbox: Arc::new(self.database.outbox()),
            audit: Arc::new(self.database.audit_log()),
            audit_retention: self.audit_retention,
            clock: self.clock.clone(),
        }
    }

    pub fn read_audit_log(&self) -> ReadAuditLog {
        ReadAuditLog {
            audit: Arc::new(self.database.audit_log()),
            users: Arc::new(self.database.users()),
            clock: self.clock.clone(),
        }
    }

    pub fn set_user_active(&self) -> SetUserActive {
        SetUserActive {
            users: Arc::new(self.database.users()),
            clock: self.clock.clone(),
        }
    }

    /// The cutover from the Django database at `source`.
    pub fn import_django(&self, source: Arc<dyn DjangoSource>) -> ImportDjango {
        ImportDjango {
            source,
            target: Arc::new(self.database.import_target()),
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
            Ok(Ok(flushed))
                if flushed.tokens
                    + flushed.sessions
                    + flushed.throttle_records
                    + flushed.mail
                    + flushed.audit_events
                    > 0 =>
            {
                tracing::info!(
                    tokens = flushed.tokens,
                    sessions = flushed.sessions,
                    throttle_records = flushed.throttle_records,
                    mail = flushed.mail,
                    audit_events = flushed.audit_events,
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

/// Logs what a pass of the outbox worker did. Names no address and no link.
fn log_delivery(delivery: &Delivery) {
    let Delivery { id, what, outcome } = delivery;
    match outcome {
        Outcome::Sent => tracing::info!(id, kind = what, "mail sent"),
        Outcome::Resolved { mails } => tracing::info!(id, kind = what, mails, "request resolved"),
        Outcome::Retrying {
            attempts,
            next_attempt_at,
            error,
        } => tracing::warn!(
            id,
            kind = what,
            attempts,
            %next_attempt_at,
            %error,
            "mail not sent; will try again"
        ),
        Outcome::Failed { attempts, error } => tracing::error!(
            id,
            kind = what,
            attempts,
            %error,
            "mail given up"
        ),
    }
}

/// Runs the outbox worker on its own thread (its SMTP and database work blocks) until `stop`
/// is set: a pass, then, when it found nothing, a wait for new mail of this instance or
/// `idle`. Mail queued before a restart is picked up by the first pass after it; a pass that
/// fails is logged and tried again after `idle`.
fn deliver_in_background(
    deliver: DeliverOutbox,
    idle: Duration,
    stop: Arc<AtomicBool>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    let outbox = deliver.outbox.clone();
    std::thread::Builder::new()
        .name("outbox".to_owned())
        .spawn(move || {
            while !stop.load(Ordering::Acquire) {
                // A panic in a pass (a mailer or template bug) must not end delivery for good:
                // its message's lease runs out and it is tried again.
                let pass =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| deliver.run_pass()));
                match pass {
                    Ok(Ok(report)) if !report.is_empty() => {
                        report.iter().for_each(log_delivery);
                        continue;
                    }
                    Ok(Ok(_)) => {}
                    Ok(Err(error)) => {
                        tracing::warn!(%error, "the outbox pass failed; trying again shortly");
                    }
                    Err(_) => tracing::error!("the outbox pass panicked; trying again shortly"),
                }
                // In slices, so that a stop is seen within one; a slice cut short means mail
                // was queued.
                let idle_until = Instant::now() + idle;
                while !stop.load(Ordering::Acquire) {
                    let left = idle_until.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        break;
                    }
                    let slice = left.min(STOP_CHECK);
                    let started = Instant::now();
                    outbox.wait_for_work(slice);
                    if started.elapsed() < slice {
                        break;
                    }
                }
            }
        })
}

/// How often an idle outbox worker looks whether the server is stopping.
const STOP_CHECK: Duration = Duration::from_millis(200);

/// Stops the outbox worker when dropped: when the server stops, and also when the task running
/// it is dropped without finishing (a test's runtime ending).
struct StopOnDrop(Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

/// A configured server bound to its address, ready to run.
pub struct Application {
    server: http::Server,
    address: std::net::SocketAddr,
    pruner: FlushExpiredTokens,
    prune_every: Duration,
    deliver: DeliverOutbox,
    poll_every: Duration,
    shutdown_timeout: Duration,
    metrics: Option<MetricsServer>,
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
            blocking_threads: settings.blocking_threads(adapters.database.backend()),
            shutdown_timeout: Duration::from_secs(settings.server.shutdown_timeout_secs),
            refresh_cookie: settings.security.refresh_cookie.then(|| RefreshCookie {
                max_age: Duration::from_secs(settings.jwt.refresh_token_lifetime_secs),
                secure: !settings.security.debug,
            }),
        };
        let server = http::Server::bind(listener, adapters.use_cases(), http_settings)?;
        let metrics = match settings.metrics.bind_address.trim() {
            "" => None,
            bind_address => {
                let metrics = MetricsServer::bind(bind_address, adapters.database.clone())?;
                tracing::info!(address = %metrics.address(), "serving metrics at /metrics");
                Some(metrics)
            }
        };
        Ok(Self {
            metrics,
            server,
            address,
            pruner: adapters.flush_expired_tokens(),
            prune_every: Duration::from_secs(settings.sessions.prune_interval_secs),
            deliver: adapters.deliver_outbox(),
            poll_every: Duration::from_secs(settings.email.poll_interval_secs),
            shutdown_timeout: Duration::from_secs(settings.server.shutdown_timeout_secs),
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

    /// Where `GET /metrics` is served, when `METRICS_BIND_ADDRESS` is set.
    pub fn metrics_address(&self) -> Option<std::net::SocketAddr> {
        self.metrics.as_ref().map(MetricsServer::address)
    }

    /// Serves until SIGTERM or SIGINT, pruning ended sessions and expired tokens and delivering
    /// queued mail meanwhile. Then: no new connections, requests in flight get
    /// `shutdown_timeout` to finish, the pruner stops between passes, the outbox worker after
    /// its pass (a pass still sending when the time is up is left to its lease: the message is
    /// sent by the next instance, never lost), and the pool closes as the last user of it goes.
    pub async fn run(self) -> std::io::Result<()> {
        let stop = Arc::new(AtomicBool::new(false));
        let stop_delivering = StopOnDrop(stop.clone());
        let worker = deliver_in_background(self.deliver, self.poll_every, stop)?;
        let (stop_pruning, shutdown) = tokio::sync::watch::channel(false);
        let pruner = tokio::spawn(prune_on_a_timer(self.pruner, self.prune_every, shutdown));
        let metrics = self.metrics.map(|metrics| {
            let handle = metrics.handle();
            (handle, tokio::spawn(metrics.run()))
        });
        let served = self.server.run().await;
        tracing::info!("stopped serving; stopping the background work");
        if let Some((handle, metrics)) = metrics {
            handle.stop(true).await;
            let _ = metrics.await;
        }
        let _ = stop_pruning.send(true);
        drop(stop_delivering);
        let background = async {
            let _ = pruner.await;
            let _ = tokio::task::spawn_blocking(move || worker.join()).await;
        };
        if tokio::time::timeout(self.shutdown_timeout, background)
            .await
            .is_err()
        {
            tracing::warn!(
                "the background work did not stop in time; unsent mail stays queued for the next start"
            );
        }
        tracing::info!("auth-server stopped");
        served
    }
}
