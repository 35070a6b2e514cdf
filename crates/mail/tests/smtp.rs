//! The SMTP mailer against a real SMTP server on loopback: aiosmtpd, run by `smtp_server.py`
//! with the interpreter named by `AUTH_TEST_SMTP_PYTHON` (default `python3`). Without aiosmtpd
//! those tests are skipped, loudly, unless `AUTH_TEST_REQUIRE_SMTP=1` (CI) makes them fail.
//! The failure cases that need no server at all always run.

mod support;

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};
use std::{env, fs, thread};

use application::ports::{MailError, Mailer as _};
use mail::{SmtpMailer, SmtpSettings};
use secrecy::SecretString;

/// The interpreter to run `smtp_server.py` with.
const SMTP_PYTHON: &str = "AUTH_TEST_SMTP_PYTHON";

/// Set to `1` to make a missing aiosmtpd fail the SMTP tests instead of skipping them.
const REQUIRE_SMTP: &str = "AUTH_TEST_REQUIRE_SMTP";

/// `smtp_server.py`'s exit status when aiosmtpd cannot be imported.
const NO_AIOSMTPD: i32 = 3;

const USER: &str = "mailer";
const PASSWORD: &str = "correct-horse-battery-staple";

/// A directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let dir = env::temp_dir().join(format!("auth-smtp-test-{}", uuid::Uuid::new_v4()));
        fs::create_dir_all(&dir).expect("temporary directory");
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A self-signed certificate for 127.0.0.1, in PEM, with its key in files for the server.
struct TestCertificate {
    pem: Vec<u8>,
    cert_file: PathBuf,
    key_file: PathBuf,
}

impl TestCertificate {
    fn new(dir: &Path) -> Self {
        let certified = rcgen::generate_simple_self_signed(vec![
            "127.0.0.1".to_owned(),
            "localhost".to_owned(),
        ])
        .expect("certificate");
        let pem = certified.cert.pem();
        let cert_file = dir.join("cert.pem");
        let key_file = dir.join("key.pem");
        fs::write(&cert_file, &pem).expect("written");
        fs::write(&key_file, certified.signing_key.serialize_pem()).expect("written");
        Self {
            pem: pem.into_bytes(),
            cert_file,
            key_file,
        }
    }
}

#[derive(Default)]
struct ServerOptions<'a> {
    starttls: Option<&'a TestCertificate>,
    implicit_tls: Option<&'a TestCertificate>,
    auth: bool,
}

/// A running `smtp_server.py`; stopped on drop (its stdin closes, then it is killed).
struct SmtpServer {
    child: Child,
    stdin: Option<ChildStdin>,
    port: u16,
    maildir: PathBuf,
    _dir: TempDir,
}

impl SmtpServer {
    /// `None` when aiosmtpd (or the interpreter) is missing and the tests may be skipped.
    ///
    /// # Panics
    /// When the server cannot start for another reason, or aiosmtpd is missing while
    /// `AUTH_TEST_REQUIRE_SMTP=1`.
    fn start(options: &ServerOptions<'_>) -> Option<Self> {
        let python = env::var(SMTP_PYTHON).unwrap_or_else(|_| "python3".to_owned());
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/smtp_server.py");
        let dir = TempDir::new();
        let maildir = dir.0.join("mail");
        fs::create_dir_all(&maildir).expect("maildir");
        let port = free_port();
        let mut command = Command::new(&python);
        command
            .arg(&script)
            .arg("--port")
            .arg(port.to_string())
            .arg("--maildir")
            .arg(&maildir);
        for (flag, certificate) in [
            ("--starttls", options.starttls),
            ("--implicit-tls", options.implicit_tls),
        ] {
            if let Some(certificate) = certificate {
                command
                    .arg(flag)
                    .arg("--cert")
                    .arg(&certificate.cert_file)
                    .arg("--key")
                    .arg(&certificate.key_file);
            }
        }
        if options.auth {
            command.args(["--user", USER, "--password", PASSWORD]);
        }
        let spawned = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn();
        let mut child = match spawned {
            Ok(child) => child,
            Err(error) => return skip(&format!("cannot run {python:?}: {error}")),
        };
        let stdin = child.stdin.take();
        let mut line = String::new();
        let stdout = child.stdout.take().expect("piped stdout");
        let _ = BufReader::new(stdout).read_line(&mut line);
        if line.trim() != "READY" {
            let status = child.wait().expect("exit status");
            let mut stderr = String::new();
            if let Some(mut pipe) = child.stderr.take() {
                let _ = pipe.read_to_string(&mut stderr);
            }
            if status.code() == Some(NO_AIOSMTPD) {
                return skip(&format!("{python:?} has no aiosmtpd: {}", stderr.trim()));
            }
            panic!("smtp_server.py did not start ({status}):\n{stderr}");
        }
        Some(Self {
            child,
            stdin,
            port,
            maildir,
            _dir: dir,
        })
    }

    /// The messages received so far, as `(metadata JSON, raw message)`, in order.
    fn received(&self) -> Vec<(String, Vec<u8>)> {
        (1..)
            .map(|n| self.maildir.join(n.to_string()))
            .map_while(|stem| {
                let meta = fs::read_to_string(stem.with_extension("json")).ok()?;
                let raw = fs::read(stem.with_extension("eml")).expect("the message beside");
                Some((meta, raw))
            })
            .collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn skip<T>(why: &str) -> Option<T> {
    if env::var(REQUIRE_SMTP).is_ok_and(|value| value == "1") {
        panic!("{REQUIRE_SMTP}=1 but the SMTP test server cannot run: {why}");
    }
    // Straight to the process's stderr: the test harness captures `eprintln!` of passing
    // tests, and a skip must be seen.
    let notice = format!(
        "\n!!! SKIPPED: this SMTP test needs aiosmtpd ({why}).\n!!! Install it \
         (`python3 -m venv V && V/bin/pip install aiosmtpd`) and set {SMTP_PYTHON}=V/bin/python; \
         set {REQUIRE_SMTP}=1 to fail instead of skipping.\n"
    );
    let _ = std::io::stderr().write_all(notice.as_bytes());
    None
}

/// A port nothing listens on (for a moment).
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("bound").port()
}

fn settings(port: u16) -> SmtpSettings {
    SmtpSettings {
        host: "127.0.0.1".to_owned(),
        port,
        username: None,
        password: None,
        use_tls: false,
        use_ssl: false,
        timeout: Duration::from_secs(10),
        from: support::FROM.to_owned(),
        extra_root_certificate: None,
    }
}

fn with_login(settings: SmtpSettings, password: &str) -> SmtpSettings {
    SmtpSettings {
        username: Some(USER.to_owned()),
        password: Some(SecretString::from(password)),
        ..settings
    }
}

fn assert_one_delivery(server: &SmtpServer, tls: bool, authenticated: bool) {
    let received = server.received();
    assert_eq!(received.len(), 1, "one message");
    let (meta, raw) = &received[0];
    assert!(
        meta.contains(r#""mail_from": "noreply@localhost""#),
        "{meta}"
    );
    assert!(
        meta.contains(r#""rcpt_tos": ["alice@example.com"]"#),
        "{meta}"
    );
    assert!(
        meta.contains(&format!(r#""tls": {}"#, py_bool(tls))),
        "{meta}"
    );
    assert!(
        meta.contains(&format!(r#""authenticated": {}"#, py_bool(authenticated))),
        "{meta}"
    );
    support::assert_is_reset_email(raw, &support::reset_email());
}

fn py_bool(value: bool) -> &'static str {
    if value { "true" } else { "false" }
}

#[test]
fn a_message_is_delivered_in_plain_smtp_with_both_parts_and_its_headers() {
    let Some(server) = SmtpServer::start(&ServerOptions::default()) else {
        return;
    };
    let mailer = SmtpMailer::new(settings(server.port)).expect("mailer");
    mailer.send(&support::reset_email()).expect("delivered");
    assert_one_delivery(&server, false, false);
}

#[test]
fn a_message_is_delivered_over_starttls_after_auth() {
    let dir = TempDir::new();
    let certificate = TestCertificate::new(&dir.0);
    let Some(server) = SmtpServer::start(&ServerOptions {
        starttls: Some(&certificate),
        auth: true,
        ..ServerOptions::default()
    }) else {
        return;
    };
    let settings = SmtpSettings {
        use_tls: true,
        extra_root_certificate: Some(certificate.pem.clone()),
        ..with_login(settings(server.port), PASSWORD)
    };
    let mailer = SmtpMailer::new(settings).expect("mailer");
    mailer.send(&support::reset_email()).expect("delivered");
    assert_one_delivery(&server, true, true);
}

#[test]
fn a_message_is_delivered_over_implicit_tls() {
    let dir = TempDir::new();
    let certificate = TestCertificate::new(&dir.0);
    let Some(server) = SmtpServer::start(&ServerOptions {
        implicit_tls: Some(&certificate),
        ..ServerOptions::default()
    }) else {
        return;
    };
    let settings = SmtpSettings {
        use_ssl: true,
        extra_root_certificate: Some(certificate.pem.clone()),
        ..settings(server.port)
    };
    let mailer = SmtpMailer::new(settings).expect("mailer");
    mailer.send(&support::reset_email()).expect("delivered");
    assert_one_delivery(&server, true, false);
}

#[test]
fn an_untrusted_certificate_fails_and_sends_nothing() {
    let dir = TempDir::new();
    let certificate = TestCertificate::new(&dir.0);
    let Some(server) = SmtpServer::start(&ServerOptions {
        starttls: Some(&certificate),
        ..ServerOptions::default()
    }) else {
        return;
    };
    let settings = SmtpSettings {
        use_tls: true,
        ..settings(server.port)
    };
    let mailer = SmtpMailer::new(settings).expect("mailer");
    let result = mailer.send(&support::reset_email());
    assert!(matches!(result, Err(MailError::Transient(_))), "{result:?}");
    assert!(server.received().is_empty());
}

#[test]
fn required_starttls_is_never_skipped_for_a_server_without_it() {
    let Some(server) = SmtpServer::start(&ServerOptions::default()) else {
        return;
    };
    let settings = SmtpSettings {
        use_tls: true,
        ..settings(server.port)
    };
    let mailer = SmtpMailer::new(settings).expect("mailer");
    assert!(mailer.send(&support::reset_email()).is_err());
    assert!(server.received().is_empty());
}

#[test]
fn a_wrong_password_is_a_permanent_failure_that_does_not_show_the_password() {
    let dir = TempDir::new();
    let certificate = TestCertificate::new(&dir.0);
    let Some(server) = SmtpServer::start(&ServerOptions {
        starttls: Some(&certificate),
        auth: true,
        ..ServerOptions::default()
    }) else {
        return;
    };
    let wrong = "wrong-password-do-not-print";
    let settings = SmtpSettings {
        use_tls: true,
        extra_root_certificate: Some(certificate.pem.clone()),
        ..with_login(settings(server.port), wrong)
    };
    let mailer = SmtpMailer::new(settings).expect("mailer");
    match mailer.send(&support::reset_email()) {
        Err(MailError::Permanent(message)) => {
            assert!(message.contains("535"), "{message}");
            assert!(!message.contains(wrong), "{message}");
        }
        other => panic!("expected a permanent failure, got {other:?}"),
    }
    assert!(server.received().is_empty());
}

#[test]
fn a_server_that_is_down_is_a_transient_failure_within_the_timeout() {
    let timeout = Duration::from_secs(2);
    let mailer = SmtpMailer::new(SmtpSettings {
        timeout,
        ..settings(free_port())
    })
    .expect("mailer");
    let started = Instant::now();
    let result = mailer.send(&support::reset_email());
    assert!(matches!(result, Err(MailError::Transient(_))), "{result:?}");
    assert!(started.elapsed() < timeout, "{:?}", started.elapsed());
}

#[test]
fn a_server_that_never_answers_is_a_transient_failure_within_the_timeout() {
    for use_ssl in [false, true] {
        // Accepts connections (the kernel's backlog does) and never says a word.
        let listener = TcpListener::bind("127.0.0.1:0").expect("bound");
        let port = listener.local_addr().expect("bound").port();
        let timeout = Duration::from_secs(1);
        let mailer = SmtpMailer::new(SmtpSettings {
            timeout,
            use_ssl,
            ..settings(port)
        })
        .expect("mailer");
        let started = Instant::now();
        let result = mailer.send(&support::reset_email());
        let elapsed = started.elapsed();
        assert!(
            matches!(result, Err(MailError::Transient(_))),
            "use_ssl {use_ssl}: {result:?}"
        );
        assert!(elapsed >= timeout, "use_ssl {use_ssl}: {elapsed:?}");
        assert!(elapsed < timeout * 4, "use_ssl {use_ssl}: {elapsed:?}");
        drop(listener);
    }
}
