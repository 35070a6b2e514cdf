//! Mail through real SMTP: queued while the SMTP server is down, kept across a restart of
//! auth-server, and delivered once the SMTP server is up. The SMTP server is aiosmtpd, run by
//! `crates/mail/tests/smtp_server.py` with `AUTH_TEST_SMTP_PYTHON` (default `python3`); without
//! aiosmtpd the test is skipped loudly, unless `AUTH_TEST_REQUIRE_SMTP=1` (CI) fails it.
//!
//! And the reset request's timing: the same for an address with an account as for one without.

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use auth_server::Settings;
use auth_server::settings::EmailBackend;
use persistence::testing::TestDatabase;
use reqwest::StatusCode;
use secrecy::ExposeSecret;
use serde_json::json;

use crate::on_both_databases;
use crate::support::TestApp;
use crate::with_settings;

/// aiosmtpd saving what it receives into a folder; stopped when dropped.
struct SmtpServer {
    child: Child,
    stdin: Option<ChildStdin>,
    maildir: PathBuf,
}

impl SmtpServer {
    fn start(port: u16) -> Option<Self> {
        let python = std::env::var("AUTH_TEST_SMTP_PYTHON").unwrap_or_else(|_| "python3".into());
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../mail/tests/smtp_server.py");
        let maildir = std::env::temp_dir().join(format!("auth-smtp-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&maildir).unwrap();
        let mut child = Command::new(&python)
            .arg(&script)
            .args(["--port", &port.to_string(), "--maildir"])
            .arg(&maildir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot run {python}: {error}"));
        let mut line = String::new();
        let _ = BufReader::new(child.stdout.take().unwrap()).read_line(&mut line);
        if line.trim() != "READY" {
            let status = child.wait().unwrap();
            assert_ne!(
                std::env::var("AUTH_TEST_REQUIRE_SMTP").as_deref(),
                Ok("1"),
                "the SMTP test server did not start ({status})"
            );
            let _ = std::io::stderr().write_all(
                b"\n!!! SKIPPED: the SMTP delivery test needs aiosmtpd (AUTH_TEST_SMTP_PYTHON)\n",
            );
            return None;
        }
        let stdin = child.stdin.take();
        Some(Self {
            child,
            stdin,
            maildir,
        })
    }

    /// The raw messages received so far.
    fn received(&self) -> Vec<String> {
        (1..)
            .map_while(|n| std::fs::read_to_string(self.maildir.join(format!("{n}.eml"))).ok())
            .collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.maildir);
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn outbox_value(app: &TestApp, column: &str) -> Option<String> {
    app.stored_text(&format!(
        "SELECT CAST({column} AS TEXT) AS value FROM outbox WHERE kind = 'email'"
    ))
    .into_iter()
    .next()
    .flatten()
}

with_settings!(
    mail_survives_an_smtp_outage_and_a_restart,
    |settings: &mut Settings| {
        settings.email.backend = EmailBackend::Smtp;
        settings.email.host = "127.0.0.1".to_owned();
        settings.email.port = free_port();
        settings.email.timeout_secs = 2;
        settings.email.retry_delay_secs = 1;
        settings.email.poll_interval_secs = 1;
    }
);

async fn mail_survives_an_smtp_outage_and_a_restart(app: TestApp) {
    app.register("alice").await;
    let response = app
        .post_json(
            "/api/auth/password/reset/",
            json!({"email": "alice@example.com"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK, "no waiting for SMTP");

    // The first try fails, and the mail waits for the next.
    let deadline = Instant::now() + Duration::from_secs(15);
    while outbox_value(&app, "attempts").is_none_or(|attempts| attempts == "0") {
        assert!(Instant::now() < deadline, "no try was made");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(outbox_value(&app, "status").as_deref(), Some("pending"));
    assert!(outbox_value(&app, "last_error").is_some());

    // auth-server stops; the SMTP server comes up; a new instance over the same database
    // delivers what the first one could not. The first instance's worker notices its stop
    // within its poll interval.
    app.stop().await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let Some(smtp) = SmtpServer::start(app.settings.email.port) else {
        return;
    };
    let restarted = auth_server::Application::build(&app.settings).unwrap();
    let handle = restarted.handle();
    tokio::spawn(restarted.run());

    let deadline = Instant::now() + Duration::from_secs(20);
    while smtp.received().is_empty() {
        assert!(Instant::now() < deadline, "the mail never arrived");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let received = smtp.received();
    assert_eq!(received.len(), 1, "delivered once");
    assert!(
        received[0].contains("To: alice@example.com"),
        "{}",
        received[0]
    );
    assert!(
        received[0].contains("/reset-password?uid="),
        "{}",
        received[0]
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    while outbox_value(&app, "status").as_deref() != Some("sent") {
        assert!(Instant::now() < deadline, "not marked sent");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        outbox_value(&app, "text_body").as_deref(),
        Some(""),
        "the link does not outlive its delivery in the database"
    );
    handle.stop(true).await;
}

on_both_databases!(a_reset_takes_as_long_for_an_unknown_address_as_for_a_known_one);

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// Measures 30 requests of each kind, interleaved so that drift hits both alike, and asserts
/// only a generous bound: the figures go to the test's output.
async fn a_reset_takes_as_long_for_an_unknown_address_as_for_a_known_one(app: TestApp) {
    app.register("alice").await;
    let time = |email: &'static str| {
        let app = &app;
        async move {
            let started = Instant::now();
            let response = app
                .post_json("/api/auth/password/reset/", json!({"email": email}))
                .await;
            let took = started.elapsed();
            assert_eq!(response.status(), StatusCode::OK);
            took
        }
    };
    // Warm up connections and statements.
    for _ in 0..5 {
        time("alice@example.com").await;
        time("nobody@example.com").await;
    }
    let (mut known, mut unknown) = (Vec::new(), Vec::new());
    for _ in 0..30 {
        known.push(time("alice@example.com").await);
        unknown.push(time("nobody@example.com").await);
    }
    let (known, unknown) = (median(known), median(unknown));
    let difference = known.abs_diff(unknown);
    let database = if app
        .settings
        .database
        .url
        .expose_secret()
        .starts_with("postgres")
    {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    println!(
        "{database}: reset request medians over 30 each: known {known:?}, unknown {unknown:?}, difference {difference:?}"
    );
    let slower = known.max(unknown);
    assert!(
        difference <= Duration::from_millis(2) + slower / 2,
        "known {known:?} vs unknown {unknown:?}"
    );
}
