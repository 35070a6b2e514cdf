//! The `auth-server` binary as an operator runs it: start-up checks, migrate, createsuperuser,
//! flush-expired-tokens, and its log output.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use persistence::testing::TestDatabase;

const STRONG_PASSWORD: &str = "an-unusual-admin-passphrase";

fn config_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config")
}

/// The binary with a clean environment, run from an empty directory (no stray `.env`).
fn auth_server(work_dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_auth-server"));
    command
        .env_clear()
        .env("AUTH_CONFIG_DIR", config_dir())
        .env("AUTH_ENV", "test")
        .current_dir(work_dir)
        .stdin(Stdio::null());
    command
}

fn scratch_dir() -> tempdir::Dir {
    tempdir::Dir::new()
}

mod tempdir {
    use std::path::{Path, PathBuf};
    use std::sync::atomic::{AtomicU32, Ordering};

    /// A directory removed on drop.
    pub struct Dir(PathBuf);

    impl Dir {
        pub fn new() -> Self {
            static NEXT: AtomicU32 = AtomicU32::new(0);
            let path = std::env::temp_dir().join(format!(
                "auth-cli-{}-{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            ));
            std::fs::create_dir_all(&path).unwrap();
            Self(path)
        }

        pub fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Runs the binary over `db` from `dir`, with the superuser password in its variable.
fn run_on(db: &TestDatabase, dir: &tempdir::Dir, args: &[&str]) -> Output {
    auth_server(dir.path())
        .env("DATABASE_URL", db.url())
        .env("AUTH_SUPERUSER_PASSWORD", STRONG_PASSWORD)
        .args(args)
        .output()
        .unwrap()
}

fn databases() -> Vec<TestDatabase> {
    let mut databases = vec![TestDatabase::sqlite()];
    match TestDatabase::postgres() {
        Some(db) => databases.push(db),
        None => eprintln!("PostgreSQL variant skipped: TEST_POSTGRES_URL is not set"),
    }
    databases
}

#[test]
fn createsuperuser_without_input_creates_a_staff_superuser_once() {
    for db in databases() {
        let dir = scratch_dir();
        let create = || {
            auth_server(dir.path())
                .env("DATABASE_URL", db.url())
                .env("AUTH_SUPERUSER_PASSWORD", STRONG_PASSWORD)
                .args([
                    "createsuperuser",
                    "--noinput",
                    "--username",
                    "admin",
                    "--email",
                    "admin@example.com",
                ])
                .output()
                .unwrap()
        };
        let first = create();
        assert!(first.status.success(), "{}", text(&first));
        assert!(text(&first).contains("Superuser created successfully."));
        assert_eq!(
            db.execute("UPDATE users SET last_name = 'x' WHERE username = 'admin' AND is_superuser AND is_staff AND is_active AND email_verified"),
            Ok(1)
        );
        let second = create();
        assert!(!second.status.success());
        assert!(
            text(&second).contains("A user with that username already exists."),
            "{}",
            text(&second)
        );
    }
}

#[test]
fn deactivate_ends_the_sessions_and_reactivate_leaves_them_ended() {
    for db in databases() {
        let dir = scratch_dir();
        let run = |args: &[&str]| run_on(&db, &dir, args);
        let created = run(&[
            "createsuperuser",
            "--noinput",
            "--username",
            "admin",
            "--email",
            "admin@example.com",
        ]);
        assert!(created.status.success(), "{}", text(&created));
        db.execute(
            "INSERT INTO sessions (id, user_id, created_at, last_used_at, expires_at, absolute_expires_at, ip_address, user_agent) \
             SELECT 'abc1', id, '2026-01-01 00:00:00', '2026-01-01 00:00:00', '2999-01-01 00:00:00', '2999-01-01 00:00:00', '', '' FROM users",
        )
        .unwrap();
        let deactivated = run(&["deactivate", "admin"]);
        assert!(deactivated.status.success(), "{}", text(&deactivated));
        let ended = "UPDATE users SET last_name = 'x' WHERE NOT is_active AND (SELECT end_reason FROM sessions WHERE id = 'abc1') = 'user_deactivated'";
        assert_eq!(db.execute(ended), Ok(1));
        let reactivated = run(&["reactivate", "admin"]);
        assert!(reactivated.status.success(), "{}", text(&reactivated));
        assert_eq!(
            db.execute("UPDATE users SET last_name = 'y' WHERE is_active AND (SELECT ended_at FROM sessions WHERE id = 'abc1') IS NOT NULL"),
            Ok(1)
        );
        let unknown = run(&["deactivate", "nobody"]);
        assert!(!unknown.status.success());
        assert!(
            text(&unknown).contains("there is no user \"nobody\""),
            "{}",
            text(&unknown)
        );
    }
}

#[test]
fn createsuperuser_applies_the_password_validators() {
    let db = TestDatabase::sqlite();
    let dir = scratch_dir();
    let output = auth_server(dir.path())
        .env("DATABASE_URL", db.url())
        .env("AUTH_SUPERUSER_PASSWORD", "password")
        .args([
            "createsuperuser",
            "--noinput",
            "--username",
            "admin",
            "--email",
            "admin@example.com",
        ])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(
        text(&output).contains("This password is too common."),
        "{}",
        text(&output)
    );
}

#[test]
fn createsuperuser_without_input_needs_the_password_variable() {
    let db = TestDatabase::sqlite();
    let dir = scratch_dir();
    let output = auth_server(dir.path())
        .env("DATABASE_URL", db.url())
        .args([
            "createsuperuser",
            "--noinput",
            "--username",
            "admin",
            "--email",
            "admin@example.com",
        ])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(
        text(&output).contains("AUTH_SUPERUSER_PASSWORD"),
        "{}",
        text(&output)
    );
}

#[test]
fn flush_expired_tokens_deletes_only_expired_rows_and_says_how_many() {
    for db in databases() {
        let dir = scratch_dir();
        db.execute(
            "INSERT INTO refresh_tokens (jti, user_id, issued_at, expires_at) VALUES \
             ('a1', 1, '2020-01-01 00:00:00', '2020-01-02 00:00:00'), \
             ('a2', 1, '2020-01-01 00:00:00', '2020-01-02 00:00:00'), \
             ('b1', 1, '2020-01-01 00:00:00', '2999-01-01 00:00:00')",
        )
        .unwrap();
        let output = auth_server(dir.path())
            .env("DATABASE_URL", db.url())
            .arg("flush-expired-tokens")
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", text(&output));
        assert!(
            text(&output)
                .contains("Deleted 2 expired refresh token(s) and 0 ended or expired session(s)."),
            "{}",
            text(&output)
        );
        assert_eq!(
            db.execute("DELETE FROM refresh_tokens WHERE jti = 'b1'"),
            Ok(1)
        );
    }
}

#[test]
fn migrate_creates_a_sqlite_database_where_the_url_points() {
    let dir = scratch_dir();
    let output = auth_server(dir.path())
        .env("DATABASE_URL", "sqlite://nested/dir/auth.sqlite3")
        .arg("migrate")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output));
    assert!(text(&output).contains("Migrations are up to date."));
    assert!(dir.path().join("nested/dir/auth.sqlite3").exists());
}

#[test]
fn a_dot_env_file_fills_in_unset_variables_but_does_not_override_set_ones() {
    let dir = scratch_dir();
    std::fs::write(
        dir.path().join(".env"),
        "DATABASE_URL=sqlite://from-dotenv.sqlite3\n",
    )
    .unwrap();
    let output = auth_server(dir.path()).arg("migrate").output().unwrap();
    assert!(output.status.success(), "{}", text(&output));
    assert!(dir.path().join("from-dotenv.sqlite3").exists());
    let output = auth_server(dir.path())
        .env("DATABASE_URL", "sqlite://from-environment.sqlite3")
        .arg("migrate")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output));
    assert!(dir.path().join("from-environment.sqlite3").exists());
}

#[test]
fn the_default_database_is_a_sqlite_file_under_data() {
    let dir = scratch_dir();
    let output = auth_server(dir.path()).arg("migrate").output().unwrap();
    assert!(output.status.success(), "{}", text(&output));
    assert!(dir.path().join("data/auth-server.sqlite3").exists());
}

#[test]
fn production_refuses_a_missing_published_or_short_secret_key() {
    let dir = scratch_dir();
    for (secret, expected) in [
        (None, "SECRET_KEY is not set"),
        (
            Some("django-insecure-development-only-key-do-not-use-in-production"),
            "development key",
        ),
        (Some("too-short"), "must have at least 32"),
    ] {
        let mut command = auth_server(dir.path());
        command
            .env("AUTH_ENV", "production")
            .env("ALLOWED_HOSTS", "api.example.com");
        if let Some(secret) = secret {
            command.env("SECRET_KEY", secret);
        }
        let output = command.arg("serve").output().unwrap();
        assert!(!output.status.success());
        assert!(
            text(&output).contains(expected),
            "{expected}: {}",
            text(&output)
        );
        assert!(
            !dir.path().join("data").exists(),
            "nothing is created before the checks pass"
        );
    }
}

#[test]
fn the_published_development_key_is_refused_beyond_loopback_and_the_environment_is_logged() {
    let dir = scratch_dir();
    let child = auth_server(dir.path())
        .env_remove("AUTH_ENV")
        .args(["serve", "--bind", "0.0.0.0:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let output = exit_within(child, Duration::from_secs(20));
    assert!(!output.status.success());
    let log = text(&output);
    assert!(log.contains("published development key"), "{log}");
    assert!(log.contains("0.0.0.0:0, beyond this machine"), "{log}");
    assert!(
        log.contains("development environment (the default, as AUTH_ENV is not set)"),
        "{log}"
    );
    assert!(!dir.path().join("data").exists());
}

/// The child's output once it exits; a child still running after `limit` is killed and fails the
/// test, so a server that starts when it should refuse cannot hang the suite.
fn exit_within(mut child: std::process::Child, limit: Duration) -> Output {
    let deadline = Instant::now() + limit;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let output = child.wait_with_output().unwrap();
            panic!("still running after {limit:?}: {}", text(&output));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn a_bad_database_url_fails_fast_with_the_reason() {
    let dir = scratch_dir();
    for (url, expected) in [
        ("mysql://root@localhost/db", "sqlite"),
        ("postgres://postgres@127.0.0.1:1/nothing", "127.0.0.1"),
    ] {
        let started = Instant::now();
        let output = auth_server(dir.path())
            .env("DATABASE_URL", url)
            .arg("serve")
            .output()
            .unwrap();
        assert!(!output.status.success());
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{url} took {:?}",
            started.elapsed()
        );
        let said = text(&output);
        assert!(
            said.contains("could not connect to the database") && said.contains(expected),
            "{url}: {said}"
        );
        assert!(
            !said.contains("root@"),
            "the URL's credentials are not echoed: {said}"
        );
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn serve_logs_one_json_line_per_request_without_secrets() {
    let db = TestDatabase::sqlite();
    let dir = scratch_dir();
    let port = free_port();
    let mut child = auth_server(dir.path())
        .env("DATABASE_URL", db.url())
        .env("AUTH__LOG__FORMAT", "json")
        .env("AUTH__LOG__LEVEL", "info")
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let line = lines.next().unwrap().unwrap();
        if line.contains("auth-server is listening") {
            break;
        }
        assert!(Instant::now() < deadline, "the server did not start");
    }
    let password = "a-secret-password-never-logged";
    let status = http_post(
        port,
        "/api/auth/login/",
        &format!("{{\"username\":\"nobody\",\"password\":\"{password}\"}}"),
    );
    assert_eq!(status, 401);
    let _ = child.kill();
    let log: Vec<String> = lines.map_while(Result::ok).collect();
    let _ = child.wait();
    let request_line = log
        .iter()
        .find(|line| line.contains("\"status\":401"))
        .unwrap_or_else(|| panic!("no request line in {log:?}"));
    let entry: serde_json::Value = serde_json::from_str(request_line).unwrap();
    assert_eq!(entry["span"]["method"], "POST");
    assert_eq!(entry["span"]["path"], "/api/auth/login/");
    assert_eq!(entry["span"]["request_id"].as_str().map(str::len), Some(32));
    assert!(entry["latency_ms"].is_number());
    assert!(
        log.iter().all(|line| !line.contains(password)),
        "the password was logged"
    );
    // The refusal is an audit event, and a structured line of its own.
    let audit_line = log
        .iter()
        .find(|line| line.contains("\"target\":\"audit\""))
        .unwrap_or_else(|| panic!("no audit line in {log:?}"));
    let audit: serde_json::Value = serde_json::from_str(audit_line).unwrap();
    let fields = if audit["fields"].is_object() {
        &audit["fields"]
    } else {
        &audit
    };
    assert_eq!(fields["event"], "login_failed", "{audit_line}");
    assert_eq!(fields["username"], "nobody");
    assert_eq!(fields["detail"], "unknown_user");
    assert_eq!(fields["ip_address"], "127.0.0.1");
    assert_eq!(fields["request_id"], entry["span"]["request_id"]);
}

#[test]
fn audit_prints_an_accounts_events_as_a_table_or_as_json_lines() {
    for db in databases() {
        let dir = scratch_dir();
        let run = |args: &[&str]| run_on(&db, &dir, args);
        for name in ["admin", "other"] {
            let email = format!("{name}@example.com");
            let created = run(&[
                "createsuperuser",
                "--noinput",
                "--username",
                name,
                "--email",
                &email,
            ]);
            assert!(created.status.success(), "{}", text(&created));
        }
        assert!(run(&["deactivate", "admin"]).status.success());

        let json = run(&["audit", "--user", "admin", "--json"]);
        assert!(json.status.success(), "{}", text(&json));
        let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&json.stdout)
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        let events: Vec<_> = lines.iter().map(|line| line["event"].clone()).collect();
        assert_eq!(
            events,
            ["superuser_created", "user_deactivated"],
            "{lines:?}"
        );
        assert_eq!(lines[0]["username"], "admin");
        assert_eq!(lines[0]["user_agent"], "auth-server createsuperuser");
        assert!(lines[0]["user_id"].is_number());
        assert!(
            lines[0]["time"].as_str().unwrap().ends_with('Z'),
            "{}",
            lines[0]["time"]
        );

        let table = run(&["audit", "--since", "1h"]);
        assert!(table.status.success(), "{}", text(&table));
        let out = String::from_utf8_lossy(&table.stdout);
        assert!(out.starts_with("TIME (UTC)"), "{out}");
        assert_eq!(out.lines().count(), 1 + 3, "{out}");
        assert!(
            out.contains("superuser_created") && out.contains("other (#"),
            "{out}"
        );

        let last = run(&["audit", "--json", "--limit", "1"]);
        let out = String::from_utf8_lossy(&last.stdout);
        assert_eq!(out.lines().count(), 1, "{out}");
        assert!(out.contains("user_deactivated"), "{out}");

        let nobody = run(&["audit", "--user", "nobody"]);
        assert!(nobody.status.success());
        assert_eq!(
            String::from_utf8_lossy(&nobody.stdout).trim(),
            "No audit events."
        );

        let bad = run(&["audit", "--since", "yesterday"]);
        assert!(!bad.status.success());
        assert!(text(&bad).contains("is not a duration"), "{}", text(&bad));
    }
}

/// A minimal HTTP/1.1 POST, to keep the test free of an HTTP client's own threads.
fn http_post(port: u16, path: &str, body: &str) -> u16 {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn createsuperuser_prompts_like_django_and_asks_again_when_passwords_differ() {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipped: util-linux `script` is needed to give the prompts a terminal");
        return;
    }
    let db = TestDatabase::sqlite();
    let dir = scratch_dir();
    let binary = env!("CARGO_BIN_EXE_auth-server");
    let mut child = auth_server(dir.path())
        .env("DATABASE_URL", db.url())
        .spawn_with(&[
            "script",
            "-qec",
            &format!("{binary} createsuperuser"),
            "/dev/null",
        ]);
    let screen = Screen::follow(child.stdout.take().unwrap());
    let mut stdin = child.stdin.take().unwrap();
    // Answer each prompt once it shows, as a person at the terminal would.
    let dialogue = [
        ("Username: ", "admin"),
        ("Email address: ", "admin@example.com"),
        ("Password: ", "one-passphrase-here"),
        ("Password (again): ", "another-passphrase"),
        ("Error: Your passwords didn't match.", ""),
        ("Username: ", "admin"),
        ("Email address: ", "admin@example.com"),
        ("Password: ", STRONG_PASSWORD),
        ("Password (again): ", STRONG_PASSWORD),
    ];
    for (prompt, answer) in dialogue {
        screen.wait_for(prompt);
        if !answer.is_empty() {
            use std::io::Write;
            writeln!(stdin, "{answer}").unwrap();
        }
    }
    screen.wait_for("Superuser created successfully.");
    drop(stdin);
    assert!(child.wait().unwrap().success(), "{}", screen.text());
    assert_eq!(
        db.execute("UPDATE users SET last_name = 'x' WHERE username = 'admin' AND is_superuser"),
        Ok(1)
    );
}

/// What a program has written so far, read on a thread, and consumed prompt by prompt.
struct Screen {
    seen: std::sync::Arc<std::sync::Mutex<String>>,
    consumed: std::cell::Cell<usize>,
}

impl Screen {
    fn follow(mut output: impl std::io::Read + Send + 'static) -> Self {
        let seen = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let writer = seen.clone();
        std::thread::spawn(move || {
            let mut buffer = [0_u8; 256];
            while let Ok(read @ 1..) = output.read(&mut buffer) {
                writer
                    .lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buffer[..read]));
            }
        });
        Self {
            seen,
            consumed: std::cell::Cell::new(0),
        }
    }

    /// Waits until `text` appears after what earlier waits consumed.
    fn wait_for(&self, text: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let seen = self.seen.lock().unwrap().clone();
            if let Some(at) = seen[self.consumed.get()..].find(text) {
                self.consumed.set(self.consumed.get() + at + text.len());
                return;
            }
            assert!(
                Instant::now() < deadline,
                "waited for {text:?}; the screen shows {seen:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn text(&self) -> String {
        self.seen.lock().unwrap().clone()
    }
}

/// Runs `program` instead of the binary, keeping the command's environment and directory.
trait SpawnWith {
    fn spawn_with(&mut self, program: &[&str]) -> std::process::Child;
}

impl SpawnWith for Command {
    fn spawn_with(&mut self, program: &[&str]) -> std::process::Child {
        let mut command = Command::new(program[0]);
        command.args(&program[1..]).env_clear();
        for (key, value) in self.get_envs() {
            if let Some(value) = value {
                command.env(key, value);
            }
        }
        if let Some(dir) = self.get_current_dir() {
            command.current_dir(dir);
        }
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }
}

/// A user whose stored hash is a Django PBKDF2 hash of `rounds` rounds that no password matches:
/// a login for it stays in flight for as long as those rounds take, then answers 401.
fn slow_user(db: &TestDatabase, username: &str, rounds: u32) {
    db.execute(&format!(
        "INSERT INTO users (username, email, password, first_name, last_name, is_active, \
         is_staff, is_superuser, date_joined, email_verified) VALUES ('{username}', \
         '{username}@example.com', \
         'pbkdf2_sha256${rounds}$salt$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=', '', '', \
         TRUE, FALSE, FALSE, '2026-01-01 00:00:00', FALSE)"
    ))
    .unwrap();
}

/// `serve` on a free port with `SHUTDOWN_TIMEOUT`, its log lines collected as they come.
fn serve_for_shutdown(
    db: &TestDatabase,
    dir: &Path,
    shutdown_timeout: u64,
) -> (
    std::process::Child,
    u16,
    std::sync::Arc<std::sync::Mutex<Vec<String>>>,
) {
    let port = free_port();
    let mut child = auth_server(dir)
        .env("DATABASE_URL", db.url())
        .env("THROTTLE_ENABLED", "false")
        .env("SHUTDOWN_TIMEOUT", shutdown_timeout.to_string())
        .env("AUTH__LOG__LEVEL", "info")
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let writer = log.clone();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            writer.lock().unwrap().push(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    while !log
        .lock()
        .unwrap()
        .iter()
        .any(|line| line.contains("auth-server is listening"))
    {
        assert!(Instant::now() < deadline, "the server did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    (child, port, log)
}

/// The status of a POST, or `None` when the connection closed without an answer.
fn try_http_post(port: u16, path: &str, body: &str) -> Option<u16> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    response.split_whitespace().nth(1)?.parse().ok()
}

fn sigterm(child: &std::process::Child) {
    let sent = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
}

#[test]
fn sigterm_stops_accepting_lets_requests_in_flight_finish_and_exits_cleanly() {
    let db = TestDatabase::sqlite();
    // About a second of PBKDF2 at this build's speed; the answer comes after the signal.
    slow_user(&db, "slow", 4_000_000);
    let dir = scratch_dir();
    let (child, port, log) = serve_for_shutdown(&db, dir.path(), 30);
    let in_flight = std::thread::spawn(move || {
        try_http_post(
            port,
            "/api/auth/login/",
            r#"{"username":"slow","password":"whatever-it-is"}"#,
        )
    });
    std::thread::sleep(Duration::from_millis(300));
    sigterm(&child);
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "a new connection was accepted after SIGTERM"
    );
    assert_eq!(
        in_flight.join().unwrap(),
        Some(401),
        "the request in flight was not answered"
    );
    let output = exit_within(child, Duration::from_secs(20));
    assert!(output.status.success(), "{:?}", output.status);
    let log = log.lock().unwrap().join("\n");
    let stopping = log.find("stopping the background work").expect(&log);
    let stopped = log.find("auth-server stopped").expect(&log);
    assert!(stopping < stopped, "{log}");
}

#[test]
fn a_request_still_running_at_the_shutdown_timeout_is_cut_off() {
    let db = TestDatabase::sqlite();
    // Several seconds of PBKDF2 (just under the cap that would make the hash unusable).
    slow_user(&db, "slower", 19_000_000);
    let dir = scratch_dir();
    let (child, port, log) = serve_for_shutdown(&db, dir.path(), 1);
    let in_flight = std::thread::spawn(move || {
        try_http_post(
            port,
            "/api/auth/login/",
            r#"{"username":"slower","password":"whatever-it-is"}"#,
        )
    });
    std::thread::sleep(Duration::from_millis(300));
    let signalled = Instant::now();
    sigterm(&child);
    let output = exit_within(child, Duration::from_secs(20));
    let took = signalled.elapsed();
    assert!(output.status.success(), "{:?}", output.status);
    assert_eq!(in_flight.join().unwrap(), None, "the request was answered");
    // The timeout (1 s) and at most a second more for blocking work, not the hash's seconds.
    assert!(
        took < Duration::from_secs(4),
        "exited {took:?} after SIGTERM"
    );
    assert!(
        log.lock()
            .unwrap()
            .iter()
            .any(|line| line.contains("auth-server stopped"))
    );
}
