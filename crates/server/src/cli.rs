//! The command line: `serve` (the default), `migrate`, `createsuperuser`, `flush-expired-tokens`,
//! `deactivate`, `reactivate`, `import-django`, `audit`.

use std::io::{self, BufRead, Write};
use std::path::PathBuf;

use anyhow::{Context, bail};
use std::sync::Arc;
use std::time::Duration;

use application::use_cases::{
    AuditFilter, CreateSuperuserError, CreateSuperuserInput, ImportError, ImportOptions, OnConflict,
};
use clap::{Parser, Subcommand};
use persistence::DjangoDatabase;

use crate::app::{Adapters, Application};
use crate::settings::Settings;

/// The variable `createsuperuser --noinput` reads the password from.
pub const SUPERUSER_PASSWORD_VARIABLE: &str = "AUTH_SUPERUSER_PASSWORD";

#[derive(Debug, Parser)]
#[command(
    name = "auth-server",
    version,
    about = "A fast, safe authentication service with a Django REST Framework + simplejwt compatible API."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Folder holding default.toml and <AUTH_ENV>.toml.
    #[arg(long, global = true, env = "AUTH_CONFIG_DIR", default_value = "config")]
    pub config_dir: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply pending migrations and serve the API (the default command).
    Serve {
        /// Address to listen on, HOST:PORT; overrides BIND_ADDRESS.
        #[arg(long)]
        bind: Option<String>,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Create an administrator account.
    Createsuperuser {
        #[arg(long)]
        username: Option<String>,
        #[arg(long)]
        email: Option<String>,
        /// Ask nothing: needs --username, --email and the password in AUTH_SUPERUSER_PASSWORD.
        #[arg(long)]
        noinput: bool,
    },
    /// Delete the records of refresh tokens that have expired and of sessions that have ended.
    FlushExpiredTokens,
    /// Deactivate an account: it can no longer sign in, and its sessions end at once.
    Deactivate { username: String },
    /// Reactivate an account; its old sessions stay ended.
    Reactivate { username: String },
    /// Import the users, profiles and simplejwt tokens of the Django system this service
    /// replaces, keeping their ids, password hashes and tokens, so nobody has to sign in again.
    /// Safe to run again: what is already here is left alone.
    ImportDjango {
        /// The Django database: a SQLite file (opened read-only) or postgres://….
        #[arg(long = "from", value_name = "URL")]
        from: String,
        /// The profile table (`<app label>_profile`); by default the one table with the
        /// columns id, user_id, phone, created_at and updated_at.
        #[arg(long, value_name = "TABLE")]
        profile_table: Option<String>,
        /// What to do with accounts whose e-mail addresses collide (ignoring case), or that
        /// clash with users already here: `fail` writes nothing and lists them all; `skip`
        /// leaves the later account out and lists it.
        #[arg(long, value_enum, default_value_t = ConflictPolicy::Fail)]
        on_conflict: ConflictPolicy,
        /// Check everything and show what would be imported; write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Print the audit log: sign-ins and failed attempts, logouts, sessions ended and why,
    /// password and account changes; oldest first.
    Audit {
        /// Only this account's events and the attempts at its username.
        #[arg(long, value_name = "NAME")]
        user: Option<String>,
        /// Only events at most this long ago: 30m, 24h, 7d, 1h30m…
        #[arg(long, value_name = "DURATION", value_parser = crate::audit::parse_duration)]
        since: Option<chrono::TimeDelta>,
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
        /// At most this many events, the most recent ones.
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ConflictPolicy {
    Fail,
    Skip,
}

/// Runs the command; the caller has loaded settings and installed logging.
pub fn run(command: Command, mut settings: Settings) -> anyhow::Result<()> {
    match command {
        Command::Serve { bind } => {
            if let Some(bind) = bind {
                settings.server.bind_address = bind;
            }
            serve(&settings)
        }
        Command::Migrate => {
            // Building the adapters applies the migrations.
            Adapters::build(&settings)?;
            say("Migrations are up to date.")
        }
        Command::Createsuperuser {
            username,
            email,
            noinput,
        } => {
            let adapters = Adapters::build(&settings)?;
            create_superuser(&adapters, username, email, noinput)
        }
        Command::FlushExpiredTokens => {
            let adapters = Adapters::build(&settings)?;
            let flushed = adapters.flush_expired_tokens().execute()?;
            say(&format!(
                "Deleted {} expired refresh token(s) and {} ended or expired session(s). \
                 Forgot {} expired login throttle record(s) and {} audit event(s) past the \
                 retention.",
                flushed.tokens, flushed.sessions, flushed.throttle_records, flushed.audit_events
            ))
        }
        Command::Audit {
            user,
            since,
            json,
            limit,
        } => {
            let adapters = Adapters::build(&settings)?;
            let filter = AuditFilter {
                username: user,
                since,
                limit,
            };
            let events = adapters.read_audit_log().execute(&filter)?;
            let mut out = io::stdout().lock();
            if json {
                crate::audit::write_json(&mut out, &events)?;
            } else {
                crate::audit::write_table(&mut out, &events)?;
            }
            Ok(())
        }
        Command::Deactivate { username } => {
            let adapters = Adapters::build(&settings)?;
            if !adapters.set_user_active().execute(&username, false)? {
                bail!("there is no user {username:?}");
            }
            say(&format!(
                "Deactivated {username}; every session of theirs has ended."
            ))
        }
        Command::Reactivate { username } => {
            let adapters = Adapters::build(&settings)?;
            if !adapters.set_user_active().execute(&username, true)? {
                bail!("there is no user {username:?}");
            }
            say(&format!("Reactivated {username}; they must sign in again."))
        }
        Command::ImportDjango {
            from,
            profile_table,
            on_conflict,
            dry_run,
        } => {
            let source = DjangoDatabase::new(&from, profile_table)?;
            let adapters = Adapters::build(&settings)?;
            let options = ImportOptions {
                on_conflict: match on_conflict {
                    ConflictPolicy::Fail => OnConflict::Fail,
                    ConflictPolicy::Skip => OnConflict::Skip,
                },
                dry_run,
            };
            let progress = crate::import::Progress::new();
            match adapters
                .import_django(Arc::new(source))
                .execute(options, &progress)
            {
                Ok(report) => say(&crate::import::summary(&report)),
                Err(ImportError::Conflicts(left_out)) => {
                    let mut lines = vec![format!(
                        "{} record(s) cannot be imported as they are; nothing was written:",
                        left_out.len()
                    )];
                    lines.extend(left_out.iter().map(|left| format!("  {left}")));
                    lines.push(
                        "Fix them in Django, or run again with --on-conflict skip to leave them \
                         out."
                            .to_owned(),
                    );
                    bail!(lines.join("\n"))
                }
                Err(error) => Err(error).context("the import stopped"),
            }
        }
    }
}

fn serve(settings: &Settings) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .context("could not start the async runtime")?;
    let served = runtime.block_on(async {
        let application = Application::build(settings)?;
        tracing::info!(address = %application.address(), "auth-server is listening");
        application
            .run()
            .await
            .context("the server stopped with an error")
    });
    // A use case still blocking (a hash, a query) when the shutdown timeout ran out is not
    // waited for beyond one more second.
    runtime.shutdown_timeout(Duration::from_secs(1));
    served
}

fn say(line: &str) -> anyhow::Result<()> {
    writeln!(io::stdout(), "{line}").context("could not write to stdout")
}

fn create_superuser(
    adapters: &Adapters,
    username: Option<String>,
    email: Option<String>,
    noinput: bool,
) -> anyhow::Result<()> {
    let use_case = adapters.create_superuser();
    if noinput || (username.is_some() && email.is_some() && !io_is_interactive()) {
        let (Some(username), Some(email)) = (username, email) else {
            bail!("--noinput needs --username and --email");
        };
        let Ok(password) = std::env::var(SUPERUSER_PASSWORD_VARIABLE) else {
            bail!("--noinput needs the password in {SUPERUSER_PASSWORD_VARIABLE}");
        };
        return match use_case.execute(CreateSuperuserInput {
            username,
            email,
            password,
        }) {
            Ok(_) => say("Superuser created successfully."),
            Err(CreateSuperuserError::Invalid(errors)) => {
                let messages: Vec<String> = errors
                    .iter()
                    .map(|(path, message)| format!("{}: {message}", path.join(".")))
                    .collect();
                bail!("{}", messages.join("\n"))
            }
            Err(error) => Err(error.into()),
        };
    }

    let stdin = io::stdin();
    let mut lines = stdin.lock().lines();
    let mut ask = |prompt: &str, preset: &Option<String>| -> anyhow::Result<String> {
        if let Some(value) = preset {
            return Ok(value.clone());
        }
        write!(io::stdout(), "{prompt}")?;
        io::stdout().flush()?;
        Ok(lines
            .next()
            .transpose()?
            .unwrap_or_default()
            .trim()
            .to_owned())
    };
    loop {
        let username = ask("Username: ", &username)?;
        let email = ask("Email address: ", &email)?;
        let password = rpassword::prompt_password("Password: ")?;
        let again = rpassword::prompt_password("Password (again): ")?;
        if password != again {
            writeln!(io::stderr(), "Error: Your passwords didn't match.")?;
            continue;
        }
        match use_case.execute(CreateSuperuserInput {
            username,
            email,
            password,
        }) {
            Ok(_) => return say("Superuser created successfully."),
            Err(CreateSuperuserError::Invalid(errors)) => {
                for (_, message) in errors.iter() {
                    writeln!(io::stderr(), "Error: {message}")?;
                }
            }
            Err(error) => return Err(error.into()),
        }
    }
}

fn io_is_interactive() -> bool {
    use std::io::IsTerminal;
    io::stdin().is_terminal()
}
