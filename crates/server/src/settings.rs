//! Typed settings, layered: `config/default.toml`, `config/<environment>.toml`, `AUTH__SECTION__KEY`
//! environment variables, then the variables of the Django system this replaces (`SECRET_KEY`,
//! `DEBUG`, `ALLOWED_HOSTS`, `CORS_ALLOWED_ORIGINS`, `DATABASE_URL`, `BIND_ADDRESS`, and the
//! newer `THROTTLE_*`, `TRUSTED_PROXIES`, `MAX_QUEUED_HASHES` and the like). A `.env`
//! file in the working directory fills in environment variables that are not set.

use std::net::ToSocketAddrs;
use std::path::Path;

use anyhow::{Context, bail};
use config::{Config, Environment, File, FileFormat};
use http::{ThrottleRates, TrustedProxies};
use persistence::Backend;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// The secret the development configuration ships with. Anyone can read it, so a start refuses
/// it unless `DEBUG` is on and the server listens on a loopback address only.
pub const DEVELOPMENT_SECRET_KEY: &str =
    "django-insecure-development-only-key-do-not-use-in-production";

/// The shortest secret any start accepts, in bytes (HS256 wants at least 256 bits).
pub const MIN_SECRET_KEY_BYTES: usize = 32;

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    /// Which `config/<environment>.toml` was read, and why; filled in by the loader.
    #[serde(skip)]
    pub environment: EnvironmentChoice,
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub security: SecuritySettings,
    pub jwt: JwtSettings,
    pub sessions: SessionSettings,
    pub password: PasswordSettings,
    pub throttle: ThrottleSettings,
    pub account: AccountSettings,
    pub email: EmailSettings,
    pub log: LogSettings,
    pub metrics: MetricsSettings,
    pub audit: AuditSettings,
}

/// The audit log (`auth_events`).
#[derive(Debug, Clone, Deserialize)]
pub struct AuditSettings {
    /// `AUDIT_RETENTION_DAYS`: events older than this many days are pruned; 0 keeps them all.
    pub retention_days: u32,
}

impl AuditSettings {
    pub fn retention(&self) -> Option<chrono::TimeDelta> {
        (self.retention_days > 0).then(|| chrono::TimeDelta::days(i64::from(self.retention_days)))
    }
}

/// The Prometheus metrics listener.
#[derive(Debug, Clone, Deserialize)]
pub struct MetricsSettings {
    /// `METRICS_BIND_ADDRESS`: HOST:PORT serving `GET /metrics`; empty (the default) for none.
    /// A listener of its own, so that the metrics are never public where the API is.
    pub bind_address: String,
}

/// The account flows: verification, reset links, and where links point.
#[derive(Debug, Clone, Deserialize)]
pub struct AccountSettings {
    /// django-allauth's `ACCOUNT_EMAIL_VERIFICATION`.
    pub email_verification: EmailVerificationMode,
    /// allauth's `ACCOUNT_EMAIL_CONFIRMATION_EXPIRE_DAYS`: how long a verification link works.
    pub email_confirmation_expire_days: u64,
    /// Django's `PASSWORD_RESET_TIMEOUT`, in seconds.
    pub password_reset_timeout_secs: u64,
    /// `FRONTEND_URL`: the web app's origin, the base of every link in a mail.
    pub frontend_url: String,
    /// `SITE_NAME`: the product's name in mails.
    pub site_name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EmailVerificationMode {
    None,
    Optional,
    Mandatory,
}

/// Django's e-mail settings, and the outbox worker's.
#[derive(Debug, Clone, Deserialize)]
pub struct EmailSettings {
    /// `EMAIL_BACKEND`: `smtp`, `file` or `console`.
    pub backend: EmailBackend,
    pub host: String,
    pub port: u16,
    pub host_user: String,
    pub host_password: SecretString,
    /// `EMAIL_USE_TLS`: STARTTLS, required.
    pub use_tls: bool,
    /// `EMAIL_USE_SSL`: implicit TLS (SMTPS, usually port 465).
    pub use_ssl: bool,
    /// `EMAIL_TIMEOUT`, seconds for each SMTP connection and command.
    pub timeout_secs: u64,
    /// `EMAIL_SSL_CAFILE`: a PEM file of one more certificate authority to trust for SMTP,
    /// for a server with a private CA; empty for the system's roots only.
    #[serde(default)]
    pub ssl_cafile: String,
    pub default_from_email: String,
    /// `EMAIL_FILE_PATH`: the `file` backend's folder.
    pub file_path: String,
    /// `EMAIL_MAX_ATTEMPTS`: tries before a message is given up as failed.
    pub max_attempts: u32,
    /// `EMAIL_RETRY_DELAY`: seconds before the second try; doubles with each further one, up to
    /// an hour.
    pub retry_delay_secs: u64,
    /// Seconds a worker waits between passes when no new mail was queued by this instance
    /// (mail queued by another instance, and retries, are picked up within it).
    pub poll_interval_secs: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EmailBackend {
    Smtp,
    File,
    Console,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ServerSettings {
    pub bind_address: String,
    /// Worker threads; 0 for one per core.
    pub workers: usize,
    pub max_body_bytes: usize,
    /// Threads, shared by the workers, for the use cases that do not hash a password; 0 sizes
    /// them to the database (`Settings::blocking_threads`).
    pub max_blocking_threads: usize,
    /// `SHUTDOWN_TIMEOUT`: seconds a request in flight at SIGTERM gets to finish.
    pub shutdown_timeout_secs: u64,
    /// `TRUSTED_PROXIES`: reverse proxies (addresses or CIDR ranges) whose `X-Forwarded-For`
    /// names the client; none by default.
    #[serde(default, deserialize_with = "trusted_proxies")]
    pub trusted_proxies: TrustedProxies,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DatabaseSettings {
    /// `postgres://…`, `sqlite://relative.sqlite3`, `sqlite:///absolute.sqlite3` or a file path.
    pub url: SecretString,
    pub pool_size: u32,
    pub connect_timeout_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SecuritySettings {
    pub secret_key: SecretString,
    pub debug: bool,
    #[serde(deserialize_with = "comma_list")]
    pub allowed_hosts: Vec<String>,
    #[serde(deserialize_with = "comma_list")]
    pub cors_allowed_origins: Vec<String>,
    /// Also hand out the refresh token as an `HttpOnly` cookie for browser clients.
    pub refresh_cookie: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct JwtSettings {
    pub access_token_lifetime_secs: u64,
    pub refresh_token_lifetime_secs: u64,
    /// simplejwt's `ISSUER` (`JWT_ISSUER`): written as `iss` and required in every token.
    #[serde(default, deserialize_with = "non_empty")]
    pub issuer: Option<String>,
    /// simplejwt's `AUDIENCE` (`JWT_AUDIENCE`): written as `aud` and required in every token.
    #[serde(default, deserialize_with = "non_empty")]
    pub audience: Option<String>,
    /// simplejwt's `LEEWAY` (`JWT_LEEWAY`): seconds of clock skew allowed on `exp`, `nbf`
    /// and `iat`.
    #[serde(default)]
    pub leeway_secs: u64,
}

/// An optional text setting where an empty value (`JWT_ISSUER=`) means unset.
fn non_empty<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    Ok(Option::<String>::deserialize(deserializer)?.filter(|value| !value.trim().is_empty()))
}

#[derive(Debug, Clone, Deserialize)]
pub struct SessionSettings {
    /// simplejwt's `ROTATE_REFRESH_TOKENS`: `/refresh` spends the refresh token and hands out
    /// its successor.
    pub rotate_refresh_tokens: bool,
    /// `REFRESH_TOKEN_REUSE_INTERVAL`: seconds after its first use during which a spent refresh
    /// token still gets the same successor (tabs refreshing at once); after it, a reuse ends the
    /// session.
    pub refresh_token_reuse_interval_secs: u64,
    /// `SESSION_MAX_LIFETIME`: seconds from the login after which a session ends whatever its
    /// refreshes.
    pub max_lifetime_secs: u64,
    /// `MAX_SESSIONS_PER_USER`: live sessions a user may have; one more ends the least recently
    /// used.
    pub max_per_user: u32,
    /// Seconds between two passes of the pruner over ended sessions and expired tokens.
    pub prune_interval_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PasswordSettings {
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
    pub argon2_parallelism: u32,
    /// Hashes computed at once; 0 for one per core.
    pub max_concurrent_hashes: usize,
    /// `MAX_QUEUED_HASHES`: sign-ins that may wait for a hash turn; the next gets 503. Overload
    /// protection, so `THROTTLE_ENABLED` leaves it on.
    pub max_queued_hashes: usize,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ThrottleSettings {
    /// `THROTTLE_ENABLED`: the rates per client address and the login back-off.
    pub enabled: bool,
    /// `THROTTLE_RATES`, in DRF's notation; a scope left out keeps its default.
    #[serde(deserialize_with = "throttle_rates")]
    pub rates: ThrottleRates,
}

/// `THROTTLE_RATES` over the defaults.
fn throttle_rates<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<ThrottleRates, D::Error> {
    let spec = String::deserialize(deserializer)?;
    ThrottleRates::default()
        .with_overrides(&spec)
        .map_err(|error| serde::de::Error::custom(format!("THROTTLE_RATES: {error}")))
}

fn trusted_proxies<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<TrustedProxies, D::Error> {
    TrustedProxies::parse(&comma_list(deserializer)?)
        .map_err(|error| serde::de::Error::custom(format!("TRUSTED_PROXIES: {error}")))
}

#[derive(Debug, Clone, Deserialize)]
pub struct LogSettings {
    /// `text` or `json`.
    pub format: LogFormat,
    /// A `tracing` filter such as `info` or `auth_server=debug,info`; `RUST_LOG` overrides it.
    pub level: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// The environment the settings were loaded for, and what chose it, for the start-up log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnvironmentChoice {
    pub name: String,
    pub chosen_by: &'static str,
}

/// A list given either as TOML array or as one comma-separated string, as the Django system's
/// `ALLOWED_HOSTS=a,b` variables are.
fn comma_list<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum ListOrString {
        List(Vec<String>),
        String(String),
    }
    Ok(match ListOrString::deserialize(deserializer)? {
        ListOrString::List(items) => items,
        ListOrString::String(joined) => split_list(&joined),
    })
}

fn split_list(joined: &str) -> Vec<String> {
    joined
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(String::from)
        .collect()
}

/// Django's truthy strings for `DEBUG`.
fn parse_flag(name: &str, raw: &str) -> anyhow::Result<bool> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" | "" => Ok(false),
        other => bail!("{name} must be true or false, not {other:?}"),
    }
}

/// `config/default.toml` as built, so the binary starts from any directory; a `default.toml` in
/// the config folder is still read over it.
const EMBEDDED_DEFAULTS: &str = include_str!("../../../config/default.toml");

/// The seed system's variables and where they land.
const SEED_VARIABLES: [(&str, &str); 38] = [
    ("SECRET_KEY", "security.secret_key"),
    ("DEBUG", "security.debug"),
    ("ALLOWED_HOSTS", "security.allowed_hosts"),
    ("CORS_ALLOWED_ORIGINS", "security.cors_allowed_origins"),
    ("DATABASE_URL", "database.url"),
    ("BIND_ADDRESS", "server.bind_address"),
    ("SHUTDOWN_TIMEOUT", "server.shutdown_timeout_secs"),
    ("METRICS_BIND_ADDRESS", "metrics.bind_address"),
    ("AUDIT_RETENTION_DAYS", "audit.retention_days"),
    // simplejwt's ISSUER, AUDIENCE and LEEWAY settings.
    ("JWT_ISSUER", "jwt.issuer"),
    ("JWT_AUDIENCE", "jwt.audience"),
    ("JWT_LEEWAY", "jwt.leeway_secs"),
    // simplejwt's ROTATE_REFRESH_TOKENS, and the session settings.
    ("ROTATE_REFRESH_TOKENS", "sessions.rotate_refresh_tokens"),
    (
        "REFRESH_TOKEN_REUSE_INTERVAL",
        "sessions.refresh_token_reuse_interval_secs",
    ),
    ("SESSION_MAX_LIFETIME", "sessions.max_lifetime_secs"),
    ("MAX_SESSIONS_PER_USER", "sessions.max_per_user"),
    // Abuse protection.
    ("THROTTLE_ENABLED", "throttle.enabled"),
    ("THROTTLE_RATES", "throttle.rates"),
    ("TRUSTED_PROXIES", "server.trusted_proxies"),
    ("MAX_QUEUED_HASHES", "password.max_queued_hashes"),
    // The account flows: django-allauth's and Django's names.
    ("ACCOUNT_EMAIL_VERIFICATION", "account.email_verification"),
    (
        "ACCOUNT_EMAIL_CONFIRMATION_EXPIRE_DAYS",
        "account.email_confirmation_expire_days",
    ),
    (
        "PASSWORD_RESET_TIMEOUT",
        "account.password_reset_timeout_secs",
    ),
    ("FRONTEND_URL", "account.frontend_url"),
    ("SITE_NAME", "account.site_name"),
    // Django's e-mail settings.
    ("EMAIL_BACKEND", "email.backend"),
    ("EMAIL_HOST", "email.host"),
    ("EMAIL_PORT", "email.port"),
    ("EMAIL_HOST_USER", "email.host_user"),
    ("EMAIL_HOST_PASSWORD", "email.host_password"),
    ("EMAIL_USE_TLS", "email.use_tls"),
    ("EMAIL_USE_SSL", "email.use_ssl"),
    ("EMAIL_TIMEOUT", "email.timeout_secs"),
    ("EMAIL_SSL_CAFILE", "email.ssl_cafile"),
    ("DEFAULT_FROM_EMAIL", "email.default_from_email"),
    ("EMAIL_FILE_PATH", "email.file_path"),
    ("EMAIL_MAX_ATTEMPTS", "email.max_attempts"),
    ("EMAIL_RETRY_DELAY", "email.retry_delay_secs"),
];

impl Settings {
    /// Loads the settings for `AUTH_ENV` (default `development`) from `config_dir` and the
    /// environment, after reading `.env` from the working directory if there is one.
    pub fn load(config_dir: &Path) -> anyhow::Result<Self> {
        // A missing .env is the normal case; a malformed one should not pass silently.
        match dotenvy::dotenv() {
            Ok(_) => {}
            Err(error) if error.not_found() => {}
            Err(error) => return Err(error).context("could not read .env"),
        }
        let (environment, chosen_by) = match std::env::var("AUTH_ENV") {
            Ok(name) => (name, "AUTH_ENV"),
            Err(_) => (
                "development".to_owned(),
                "the default, as AUTH_ENV is not set",
            ),
        };
        let mut settings =
            Self::load_from(config_dir, &environment, |name| std::env::var(name).ok())?;
        settings.environment.chosen_by = chosen_by;
        Ok(settings)
    }

    /// Loads from the given config folder and environment name, reading variables through `var`.
    pub fn load_from(
        config_dir: &Path,
        environment: &str,
        var: impl Fn(&str) -> Option<String>,
    ) -> anyhow::Result<Self> {
        if !matches!(environment, "development" | "production" | "test") {
            bail!("AUTH_ENV must be development, production or test, not {environment:?}");
        }
        let mut builder = Config::builder()
            .add_source(File::from_str(EMBEDDED_DEFAULTS, FileFormat::Toml))
            .add_source(
                File::from(config_dir.join("default.toml"))
                    .format(FileFormat::Toml)
                    .required(false),
            )
            .add_source(
                File::from(config_dir.join(format!("{environment}.toml")))
                    .format(FileFormat::Toml)
                    .required(false),
            )
            .add_source(
                Environment::with_prefix("AUTH")
                    .prefix_separator("__")
                    .separator("__")
                    .try_parsing(true)
                    .source(Some(
                        std::env::vars()
                            .filter(|(name, _)| name.starts_with("AUTH__"))
                            .collect(),
                    )),
            );
        for (name, key) in SEED_VARIABLES {
            if let Some(value) = var(name) {
                builder = if matches!(
                    name,
                    "DEBUG"
                        | "ROTATE_REFRESH_TOKENS"
                        | "THROTTLE_ENABLED"
                        | "EMAIL_USE_TLS"
                        | "EMAIL_USE_SSL"
                ) {
                    builder.set_override(key, parse_flag(name, &value)?)?
                } else {
                    builder.set_override(key, value)?
                };
            }
        }
        let mut settings: Settings = builder
            .build()
            .with_context(|| format!("could not read the settings in {}", config_dir.display()))?
            .try_deserialize()
            .context("the settings are invalid")?;
        settings.environment = EnvironmentChoice {
            name: environment.to_owned(),
            chosen_by: "the caller",
        };
        Ok(settings)
    }

    /// Refuses settings that are unsafe or unusable; returns warnings worth logging.
    pub fn check(&self) -> anyhow::Result<Vec<String>> {
        let mut warnings = Vec::new();
        let secret = self.security.secret_key.expose_secret();
        let published = secret == DEVELOPMENT_SECRET_KEY || secret.starts_with("django-insecure");
        if secret.is_empty() {
            bail!(
                "SECRET_KEY is not set; a secret of at least {MIN_SECRET_KEY_BYTES} bytes is required"
            );
        } else if published && !self.security.debug {
            bail!(
                "SECRET_KEY is the published development key; with DEBUG off set a secret of your own"
            );
        } else if published && !self.listens_on_loopback_only() {
            bail!(
                "SECRET_KEY is the published development key and the server would listen on {}, beyond this machine; set a secret of your own, or listen on a loopback address such as 127.0.0.1",
                self.server.bind_address
            );
        } else if secret.len() < MIN_SECRET_KEY_BYTES {
            bail!(
                "SECRET_KEY is {} bytes long; it must have at least {MIN_SECRET_KEY_BYTES}",
                secret.len()
            );
        } else if published {
            warnings.push(
                "using the published development SECRET_KEY: anyone can forge tokens for this server; it is accepted only with DEBUG on and a loopback address".to_owned(),
            );
        }
        if !self.security.debug && self.security.allowed_hosts.is_empty() {
            warnings.push(
                "ALLOWED_HOSTS is empty and DEBUG is off: every request will be refused".to_owned(),
            );
        }
        for origin in &self.security.cors_allowed_origins {
            check_origin(origin)?;
        }
        if self.jwt.access_token_lifetime_secs == 0 || self.jwt.refresh_token_lifetime_secs == 0 {
            bail!("token lifetimes must be at least one second");
        }
        if self.sessions.max_lifetime_secs == 0 || self.sessions.max_per_user == 0 {
            bail!("SESSION_MAX_LIFETIME and MAX_SESSIONS_PER_USER must be at least 1");
        }
        if self.sessions.prune_interval_secs == 0 {
            bail!("sessions.prune_interval_secs must be at least 1");
        }
        check_origin(&self.account.frontend_url)
            .context("FRONTEND_URL must be an origin such as https://app.example.com")?;
        if self.email.use_tls && self.email.use_ssl {
            bail!(
                "EMAIL_USE_TLS and EMAIL_USE_SSL are mutually exclusive, so only set one of those settings to true"
            );
        }
        if self.email.max_attempts == 0
            || self.email.poll_interval_secs == 0
            || self.email.timeout_secs == 0
        {
            bail!(
                "EMAIL_MAX_ATTEMPTS, EMAIL_TIMEOUT and email.poll_interval_secs must be at least 1"
            );
        }
        if self.email.backend == EmailBackend::Smtp
            && !self.email.host_user.is_empty()
            && !self.email.use_tls
            && !self.email.use_ssl
        {
            warnings.push(
                "EMAIL_HOST_USER is set but neither EMAIL_USE_TLS nor EMAIL_USE_SSL: the SMTP password travels unencrypted".to_owned(),
            );
        }
        if self.account.password_reset_timeout_secs == 0
            || self.account.email_confirmation_expire_days == 0
        {
            bail!(
                "PASSWORD_RESET_TIMEOUT and ACCOUNT_EMAIL_CONFIRMATION_EXPIRE_DAYS must be at least 1"
            );
        }
        if self.email.backend == EmailBackend::Console && !self.security.debug {
            warnings.push(
                "EMAIL_BACKEND is console and DEBUG is off: mail (reset links included) is written to standard output, not sent".to_owned(),
            );
        }
        if self.server.trusted_proxies.trusts_everyone() {
            warnings.push(
                "TRUSTED_PROXIES trusts every address: any client can name its own address in X-Forwarded-For and so escape the rate limits".to_owned(),
            );
        }
        if !self.throttle.enabled && !self.security.debug {
            warnings.push(
                "THROTTLE_ENABLED is false: logins, registrations and refreshes are not rate-limited, and failed logins are not backed off".to_owned(),
            );
        }
        Ok(warnings)
    }

    /// Whether every address the bind address names is a loopback address (`127.0.0.1`, `[::1]`,
    /// `localhost`); an address that does not resolve counts as not.
    pub fn listens_on_loopback_only(&self) -> bool {
        self.server
            .bind_address
            .to_socket_addrs()
            .map(|addresses| {
                let addresses: Vec<_> = addresses.collect();
                !addresses.is_empty() && addresses.iter().all(|address| address.ip().is_loopback())
            })
            .unwrap_or(false)
    }

    /// How sessions behave, for the use cases.
    pub fn session_policy(&self) -> application::use_cases::SessionPolicy {
        let sessions = &self.sessions;
        application::use_cases::SessionPolicy {
            refresh_lifetime: std::time::Duration::from_secs(self.jwt.refresh_token_lifetime_secs),
            max_lifetime: std::time::Duration::from_secs(sessions.max_lifetime_secs),
            max_per_user: sessions.max_per_user,
            rotate_refresh_tokens: sessions.rotate_refresh_tokens,
            reuse_interval: std::time::Duration::from_secs(
                sessions.refresh_token_reuse_interval_secs,
            ),
        }
    }

    /// The account flows' settings. The cap on reset mails per address is part of throttling,
    /// so `THROTTLE_ENABLED=false` lifts it.
    pub fn account_policy(&self) -> application::use_cases::AccountPolicy {
        use application::use_cases::{AccountPolicy, EmailVerification};
        let account = &self.account;
        AccountPolicy {
            email_verification: match account.email_verification {
                EmailVerificationMode::None => EmailVerification::None,
                EmailVerificationMode::Optional => EmailVerification::Optional,
                EmailVerificationMode::Mandatory => EmailVerification::Mandatory,
            },
            frontend_url: account.frontend_url.trim_end_matches('/').to_owned(),
            password_reset_timeout: std::time::Duration::from_secs(
                account.password_reset_timeout_secs,
            ),
            email_confirmation_expiry: std::time::Duration::from_secs(
                account
                    .email_confirmation_expire_days
                    .saturating_mul(86_400),
            ),
            resets_per_address_per_hour: if self.throttle.enabled { 3 } else { u64::MAX },
        }
    }

    /// How the outbox worker retries. A message's lease outlasts the slowest send: a
    /// connection and the commands of one message, each up to `EMAIL_TIMEOUT`.
    pub fn outbox_policy(&self) -> application::use_cases::OutboxPolicy {
        let slowest_send = self.email.timeout_secs.saturating_mul(8).saturating_add(30);
        application::use_cases::OutboxPolicy {
            lease: std::time::Duration::from_secs(slowest_send.max(120)),
            max_attempts: self.email.max_attempts,
            retry_delay: std::time::Duration::from_secs(self.email.retry_delay_secs),
            max_retry_delay: std::time::Duration::from_secs(3600),
            ..application::use_cases::OutboxPolicy::default()
        }
    }

    /// Whether throttling is on (`THROTTLE_ENABLED`): the rates per client address and the
    /// login back-off. The bound on queued hashes does not depend on it.
    pub fn throttle_enabled(&self) -> bool {
        self.throttle.enabled
    }

    /// The rates per client address, or `None` when throttling is off.
    pub fn throttle_rates(&self) -> Option<&ThrottleRates> {
        self.throttle.enabled.then_some(&self.throttle.rates)
    }

    /// Password hashes computed at once.
    pub fn hash_slots(&self) -> usize {
        match self.password.max_concurrent_hashes {
            0 => cores(),
            n => n,
        }
    }

    /// Threads, shared by the workers, that run the use cases hashing no password (those that
    /// do have threads of their own, one per turn at a hash). PostgreSQL works in another
    /// process, so a thread per pooled connection keeps every connection busy. SQLite works on
    /// this process's cores, one connection writing at a time: threads beyond about one per core
    /// only wait for the CPU and the write lock, and stretch the slowest answers
    /// (bench/RESULTS.md).
    pub fn blocking_threads(&self, backend: Backend) -> usize {
        let pool = self.database.pool_size as usize;
        match (self.server.max_blocking_threads, backend) {
            (0, Backend::Postgres) => pool,
            (0, Backend::Sqlite) => (cores() + 1).min(pool),
            (n, _) => n,
        }
    }

    /// HTTP worker threads.
    pub fn workers(&self) -> usize {
        match self.server.workers {
            0 => cores(),
            n => n,
        }
    }
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// An origin is `scheme://host[:port]` and nothing more, as browsers send it in `Origin`
/// (django-cors-headers' checks E013 and E014).
fn check_origin(origin: &str) -> anyhow::Result<()> {
    let refuse = |why: &str| anyhow::anyhow!("CORS_ALLOWED_ORIGINS entry {origin:?} {why}");
    let (scheme, rest) = origin
        .split_once("://")
        .ok_or_else(|| refuse("is missing its scheme, as in http://localhost:3000"))?;
    if !matches!(scheme, "http" | "https") {
        return Err(refuse("must start with http:// or https://"));
    }
    let host = rest.strip_suffix('/').unwrap_or(rest);
    if host.is_empty() || host.contains(['/', '?', '#', '*', ' ']) {
        return Err(refuse(
            "must be scheme://host[:port] with no path or wildcard",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::collections::HashMap;
    use std::path::PathBuf;

    use super::*;

    fn config_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config")
    }

    fn load(environment: &str, vars: &[(&str, &str)]) -> anyhow::Result<Settings> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Settings::load_from(&config_dir(), environment, |name| vars.get(name).cloned())
    }

    #[test]
    fn development_defaults_serve_sqlite_on_localhost_port_8000() {
        let settings = load("development", &[]).unwrap();
        assert_eq!(settings.server.bind_address, "127.0.0.1:8000");
        assert!(settings.database.url.expose_secret().contains("sqlite3"));
        assert!(settings.security.debug);
        assert_eq!(settings.jwt.access_token_lifetime_secs, 3600);
        assert_eq!(settings.jwt.refresh_token_lifetime_secs, 86_400);
        assert_eq!(
            settings.security.cors_allowed_origins,
            vec!["http://localhost:3000"]
        );
        assert!(settings.check().is_ok());
    }

    #[test]
    fn blocking_threads_follow_the_database_unless_set() {
        let mut settings = load("development", &[]).unwrap();
        assert_eq!(settings.server.max_blocking_threads, 0, "sized by default");
        settings.database.pool_size = 8;
        assert_eq!(
            settings.blocking_threads(Backend::Postgres),
            8,
            "one per connection"
        );
        assert_eq!(
            settings.blocking_threads(Backend::Sqlite),
            (cores() + 1).min(8)
        );
        settings.database.pool_size = 1;
        assert_eq!(settings.blocking_threads(Backend::Sqlite), 1);
        assert_eq!(settings.blocking_threads(Backend::Postgres), 1);
        settings.server.max_blocking_threads = 5;
        assert_eq!(settings.blocking_threads(Backend::Sqlite), 5);
        assert_eq!(settings.blocking_threads(Backend::Postgres), 5);
    }

    #[test]
    fn the_seed_variables_override_the_files() {
        let settings = load(
            "development",
            &[
                ("DATABASE_URL", "postgres://u@h/db"),
                ("ALLOWED_HOSTS", "api.example.com, .example.org"),
                ("CORS_ALLOWED_ORIGINS", "https://app.example.com"),
                ("DEBUG", "False"),
                ("BIND_ADDRESS", "0.0.0.0:9000"),
                ("SECRET_KEY", "x"),
            ],
        )
        .unwrap();
        assert_eq!(settings.database.url.expose_secret(), "postgres://u@h/db");
        assert_eq!(
            settings.security.allowed_hosts,
            vec!["api.example.com", ".example.org"]
        );
        assert_eq!(
            settings.security.cors_allowed_origins,
            vec!["https://app.example.com"]
        );
        assert!(!settings.security.debug);
        assert_eq!(settings.server.bind_address, "0.0.0.0:9000");
        assert_eq!(settings.security.secret_key.expose_secret(), "x");
    }

    #[test]
    fn production_refuses_a_missing_default_or_short_secret() {
        let missing = load("production", &[("ALLOWED_HOSTS", "a.example")]).unwrap();
        assert!(
            missing
                .check()
                .unwrap_err()
                .to_string()
                .contains("SECRET_KEY is not set")
        );
        let default = load("production", &[("SECRET_KEY", DEVELOPMENT_SECRET_KEY)]).unwrap();
        assert!(
            default
                .check()
                .unwrap_err()
                .to_string()
                .contains("development key")
        );
        let short = load(
            "production",
            &[("SECRET_KEY", "0123456789abcdef0123456789abcde")],
        )
        .unwrap();
        assert!(short.check().unwrap_err().to_string().contains("31 bytes"));
        let good = load(
            "production",
            &[
                ("SECRET_KEY", &"k".repeat(32)),
                ("ALLOWED_HOSTS", "a.example"),
            ],
        )
        .unwrap();
        assert!(good.check().is_ok());
    }

    #[test]
    fn the_published_key_is_accepted_only_on_a_loopback_address() {
        for loopback in ["127.0.0.1:8000", "[::1]:8000", "localhost:8000"] {
            let settings = load("development", &[("BIND_ADDRESS", loopback)]).unwrap();
            let warnings = settings.check().unwrap();
            assert!(
                warnings
                    .iter()
                    .any(|w| w.contains("published development SECRET_KEY")),
                "{loopback}: {warnings:?}"
            );
        }
        for exposed in [
            "0.0.0.0:8000",
            "[::]:8000",
            "192.0.2.10:8000",
            "no-such-host.invalid:80",
        ] {
            let settings = load("development", &[("BIND_ADDRESS", exposed)]).unwrap();
            let error = settings.check().unwrap_err().to_string();
            assert!(error.contains("beyond this machine"), "{exposed}: {error}");
        }
        let own = load(
            "development",
            &[
                ("BIND_ADDRESS", "0.0.0.0:8000"),
                ("SECRET_KEY", &"k".repeat(32)),
            ],
        )
        .unwrap();
        assert!(own.check().is_ok());
    }

    #[test]
    fn a_short_secret_is_refused_even_in_development() {
        let settings = load("development", &[("SECRET_KEY", "short-dev-secret")]).unwrap();
        assert!(
            settings
                .check()
                .unwrap_err()
                .to_string()
                .contains("16 bytes")
        );
    }

    #[test]
    fn the_loader_records_the_environment_it_read() {
        let settings = load("test", &[]).unwrap();
        assert_eq!(settings.environment.name, "test");
    }

    #[test]
    fn debug_off_in_development_also_refuses_the_development_secret() {
        let settings = load("development", &[("DEBUG", "0")]).unwrap();
        assert!(settings.check().is_err());
    }

    #[test]
    fn cors_origins_must_be_scheme_and_host() {
        for bad in [
            "*",
            "localhost:3000",
            "ftp://x.example",
            "https://x.example/path",
            "http://",
        ] {
            let settings = load("development", &[("CORS_ALLOWED_ORIGINS", bad)]).unwrap();
            assert!(settings.check().is_err(), "{bad}");
        }
        let good = load(
            "development",
            &[(
                "CORS_ALLOWED_ORIGINS",
                "https://app.example.com, http://[::1]:3000",
            )],
        )
        .unwrap();
        assert!(good.check().is_ok());
    }

    #[test]
    fn jwt_issuer_audience_and_leeway_are_unset_by_default_and_read_from_their_variables() {
        let defaults = load("development", &[]).unwrap();
        assert_eq!(defaults.jwt.issuer, None);
        assert_eq!(defaults.jwt.audience, None);
        assert_eq!(defaults.jwt.leeway_secs, 0);
        let set = load(
            "development",
            &[
                ("JWT_ISSUER", "https://auth.example.com"),
                ("JWT_AUDIENCE", "web-app"),
                ("JWT_LEEWAY", "5"),
            ],
        )
        .unwrap();
        assert_eq!(set.jwt.issuer.as_deref(), Some("https://auth.example.com"));
        assert_eq!(set.jwt.audience.as_deref(), Some("web-app"));
        assert_eq!(set.jwt.leeway_secs, 5);
        let empty = load("development", &[("JWT_ISSUER", ""), ("JWT_AUDIENCE", " ")]).unwrap();
        assert_eq!((empty.jwt.issuer, empty.jwt.audience), (None, None));
        assert!(load("development", &[("JWT_LEEWAY", "soon")]).is_err());
    }

    #[test]
    fn throttling_is_on_with_the_contracts_rates_by_default() {
        let settings = load("production", &[]).unwrap();
        assert!(settings.throttle_enabled());
        assert_eq!(
            settings
                .throttle_rates()
                .map(ToString::to_string)
                .as_deref(),
            Some(ThrottleRates::DEFAULT)
        );
        assert!(settings.server.trusted_proxies.is_empty());
        assert_eq!(settings.password.max_queued_hashes, 64);
    }

    #[test]
    fn throttle_enabled_reads_flags_as_debug_does() {
        for (raw, expected) in [
            ("false", false),
            ("0", false),
            ("no", false),
            ("True", true),
        ] {
            let settings = load("development", &[("THROTTLE_ENABLED", raw)]).unwrap();
            assert_eq!(settings.throttle_enabled(), expected, "{raw}");
            assert_eq!(settings.throttle_rates().is_some(), expected, "{raw}");
        }
        assert!(load("development", &[("THROTTLE_ENABLED", "sometimes")]).is_err());
    }

    #[test]
    fn throttle_rates_override_the_scopes_they_name() {
        let settings = load(
            "development",
            &[("THROTTLE_RATES", "login=5/min, refresh=2/s")],
        )
        .unwrap();
        assert_eq!(
            settings.throttle.rates.to_string(),
            "login=5/minute,register=10/hour,password_reset=5/hour,refresh=2/second"
        );
    }

    #[test]
    fn unknown_scopes_and_malformed_rates_stop_the_start_with_the_culprit_named() {
        for (spec, culprit) in [
            ("logins=5/minute", "\"logins\" is not a scope"),
            ("login=5", "\"5\" is not a rate"),
            ("login", "\"login\" is not scope=rate"),
            ("login=0/hour", "at least 1"),
        ] {
            let error = format!(
                "{:#}",
                load("development", &[("THROTTLE_RATES", spec)]).unwrap_err()
            );
            assert!(error.contains("THROTTLE_RATES"), "{spec}: {error}");
            assert!(error.contains(culprit), "{spec}: {error}");
        }
    }

    #[test]
    fn trusted_proxies_are_addresses_or_ranges() {
        let settings = load(
            "development",
            &[("TRUSTED_PROXIES", "127.0.0.1, 10.0.0.0/8,::1")],
        )
        .unwrap();
        let proxies = &settings.server.trusted_proxies;
        assert!(proxies.trusts("10.2.3.4".parse().unwrap()));
        assert!(proxies.trusts("::1".parse().unwrap()));
        assert!(!proxies.trusts("192.0.2.1".parse().unwrap()));
        let error = format!(
            "{:#}",
            load(
                "development",
                &[("TRUSTED_PROXIES", "127.0.0.1,proxy.local")]
            )
            .unwrap_err()
        );
        assert!(error.contains("TRUSTED_PROXIES"), "{error}");
        assert!(error.contains("\"proxy.local\""), "{error}");
        let everyone = load("development", &[("TRUSTED_PROXIES", "0.0.0.0/0")]).unwrap();
        assert!(
            everyone
                .check()
                .unwrap()
                .iter()
                .any(|warning| warning.contains("trusts every address"))
        );
    }

    #[test]
    fn max_queued_hashes_is_read_from_its_variable() {
        let settings = load("development", &[("MAX_QUEUED_HASHES", "3")]).unwrap();
        assert_eq!(settings.password.max_queued_hashes, 3);
        assert!(load("development", &[("MAX_QUEUED_HASHES", "many")]).is_err());
    }

    #[test]
    fn a_debug_value_that_is_not_a_flag_is_refused() {
        assert!(load("development", &[("DEBUG", "maybe")]).is_err());
    }

    #[test]
    fn an_unknown_environment_is_refused() {
        assert!(load("staging", &[]).is_err());
    }

    #[test]
    fn secrets_do_not_print() {
        let settings = load("development", &[("SECRET_KEY", "super-secret-value-123")]).unwrap();
        let shown = format!("{settings:?}");
        assert!(!shown.contains("super-secret-value-123"));
        assert!(!shown.contains(DEVELOPMENT_SECRET_KEY));
    }
}
