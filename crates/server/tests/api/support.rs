//! `TestApp`: a running server over a fresh database, and helpers to talk to it.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use auth_server::{Application, Settings};
use base64::Engine;
use persistence::testing::TestDatabase;
use reqwest::{Client, RequestBuilder, Response, StatusCode};
use secrecy::ExposeSecret;
use serde_json::{Value, json};

/// Runs each named test function once per database: `sqlite::name` and `postgres::name`.
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name($crate::support::TestApp::sqlite().await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                #[cfg_attr(not(postgres_tests), ignore = "needs TEST_POSTGRES_URL")]
                async fn $name() {
                    match $crate::support::TestApp::postgres().await {
                        Some(app) => super::$name(app).await,
                        None => eprintln!("skipped: TEST_POSTGRES_URL is not set"),
                    }
                }
            )*
        }
    };
}

pub const PASSWORD: &str = "correct-horse-battery";

pub struct TestApp {
    pub address: String,
    pub client: Client,
    pub settings: Settings,
    pub db: TestDatabase,
    /// Where the `file` mail backend writes; removed with the app.
    pub mail_dir: PathBuf,
    /// `http://host:port` of the metrics listener, when the settings turned it on.
    pub metrics_address: Option<String>,
    handle: actix_web::dev::ServerHandle,
}

/// A mail the server sent, read back from its `.eml` file.
#[derive(Debug, Clone)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl Mail {
    /// The first link in the text part that starts with `prefix`.
    pub fn link(&self, prefix: &str) -> String {
        let start = self
            .text
            .find(prefix)
            .unwrap_or_else(|| panic!("no link to {prefix} in {:?}", self.text));
        self.text[start..]
            .split(|c: char| c.is_whitespace() || c == '<' || c == '>' || c == '"')
            .next()
            .unwrap()
            .to_owned()
    }

    /// A query parameter of the first link to `prefix`.
    pub fn link_parameter(&self, prefix: &str, name: &str) -> String {
        let link = self.link(prefix);
        let query = link.split_once('?').map(|(_, query)| query).unwrap_or("");
        query
            .split('&')
            .find_map(|pair| pair.strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("no {name} in {link}"))
            .to_owned()
    }
}

impl TestApp {
    pub async fn sqlite() -> Self {
        Self::spawn(TestDatabase::sqlite(), |_| {}).await
    }

    pub async fn postgres() -> Option<Self> {
        Some(Self::spawn(TestDatabase::postgres()?, |_| {}).await)
    }

    /// Starts the server over `db` with the test settings (throttling off), changed by
    /// `customize`.
    pub async fn spawn(db: TestDatabase, customize: impl FnOnce(&mut Settings)) -> Self {
        let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config");
        let mut settings = Settings::load_from(&config, "test", |_| None).unwrap();
        settings.database.url = db.url().into();
        settings.server.bind_address = "127.0.0.1:0".to_owned();
        settings.server.workers = 1;
        // Tests sign in many times from one address; the throttling tests turn it back on.
        settings.throttle.enabled = false;
        let mail_dir =
            std::env::temp_dir().join(format!("auth-server-mail-{}", uuid::Uuid::new_v4()));
        settings.email.backend = auth_server::settings::EmailBackend::File;
        settings.email.file_path = mail_dir.to_string_lossy().into_owned();
        customize(&mut settings);
        let application = Application::build(&settings).unwrap();
        let address = format!("http://127.0.0.1:{}", application.port());
        let metrics_address = application
            .metrics_address()
            .map(|address| format!("http://{address}"));
        let handle = application.handle();
        tokio::spawn(application.run());
        let client = Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Self {
            address,
            client,
            settings,
            db,
            mail_dir,
            metrics_address,
            handle,
        }
    }

    /// Every mail sent to `address` so far, oldest first.
    pub fn mails_to(&self, address: &str) -> Vec<Mail> {
        let Ok(entries) = std::fs::read_dir(&self.mail_dir) else {
            return Vec::new();
        };
        let mut files: Vec<PathBuf> = entries
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "eml"))
            .collect();
        files.sort();
        files
            .iter()
            .map(|path| parse_mail(&std::fs::read(path).unwrap()))
            .filter(|mail| mail.to.to_lowercase().contains(&address.to_lowercase()))
            .collect()
    }

    /// Waits (up to 15 s) until `count` mails to `address` were sent, and returns them.
    pub async fn wait_for_mails(&self, address: &str, count: usize) -> Vec<Mail> {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let mails = self.mails_to(address);
            if mails.len() >= count {
                return mails;
            }
            assert!(
                Instant::now() < deadline,
                "{count} mails to {address} expected, {} arrived",
                mails.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The newest mail to `address`, waiting for the `count`-th one.
    pub async fn mail(&self, address: &str, count: usize) -> Mail {
        self.wait_for_mails(address, count).await.pop().unwrap()
    }

    /// Waits (up to 15 s) until the outbox holds nothing pending: everything queued so far was
    /// sent, resolved or given up.
    pub async fn outbox_settled(&self) {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let pending = self
                .db
                .query_text(
                    "SELECT CAST(COUNT(*) AS TEXT) AS value FROM outbox WHERE status = 'pending'",
                )
                .unwrap();
            if pending == [Some("0".to_owned())] {
                return;
            }
            assert!(Instant::now() < deadline, "the outbox did not settle");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// One text value read directly from the database (`SELECT CAST(x AS TEXT) AS value …`).
    pub fn stored_text(&self, query: &str) -> Vec<Option<String>> {
        self.db.query_text(query).unwrap()
    }

    /// Stops the server (and with it the outbox worker) gracefully.
    pub async fn stop(&self) {
        self.handle.stop(true).await;
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub fn post(&self, path: &str) -> RequestBuilder {
        self.client.post(self.url(path))
    }

    pub fn get(&self, path: &str) -> RequestBuilder {
        self.client.get(self.url(path))
    }

    pub async fn post_json(&self, path: &str, body: Value) -> Response {
        self.post(path).json(&body).send().await.unwrap()
    }

    /// A registration body for `username` with every field valid.
    pub fn registration(username: &str) -> Value {
        json!({
            "username": username,
            "email": format!("{username}@example.com"),
            "password": PASSWORD,
            "password2": PASSWORD,
            "first_name": "Test",
            "last_name": "User",
            "profile": {"phone": "1234567890"},
        })
    }

    /// Registers `username` and returns its tokens.
    pub async fn register(&self, username: &str) -> Tokens {
        let response = self
            .post_json("/api/auth/register/", Self::registration(username))
            .await;
        assert_eq!(
            response.status(),
            StatusCode::CREATED,
            "registering {username}"
        );
        let body: Value = response.json().await.unwrap();
        Tokens {
            access: body["access"].as_str().unwrap().to_owned(),
            refresh: body["refresh"].as_str().unwrap().to_owned(),
        }
    }

    pub async fn profile(&self, access: &str) -> Response {
        self.get("/api/auth/profile/")
            .bearer_auth(access)
            .send()
            .await
            .unwrap()
    }

    /// Signs claims with the server's key, as an attacker who knew it (or a clock) could.
    pub fn sign(&self, claims: &Value) -> String {
        self.sign_with_header(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            claims,
        )
    }

    /// Like `sign`, under a header of the caller's choosing.
    pub fn sign_with_header(&self, header: &jsonwebtoken::Header, claims: &Value) -> String {
        jsonwebtoken::encode(
            header,
            claims,
            &jsonwebtoken::EncodingKey::from_secret(
                self.settings.security.secret_key.expose_secret().as_bytes(),
            ),
        )
        .unwrap()
    }

    /// Runs SQL directly against the server's database.
    pub fn sql(&self, statement: &str) {
        self.db.execute(statement).unwrap();
    }

    /// A `TIMESTAMP` column of the one row `from` selects (`users WHERE …`), read directly from
    /// the database.
    pub fn stored_time(&self, column: &str, from: &str) -> Option<chrono::DateTime<chrono::Utc>> {
        let rows = self
            .db
            .query_text(&format!(
                "SELECT CAST({column} AS TEXT) AS value FROM {from}"
            ))
            .unwrap();
        assert_eq!(rows.len(), 1, "{from} matched {} rows", rows.len());
        rows.into_iter().next().flatten().map(|text| {
            chrono::NaiveDateTime::parse_from_str(&text, "%Y-%m-%d %H:%M:%S%.f")
                .unwrap()
                .and_utc()
        })
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Stop accepting and close the pool's connections before the database is removed.
        drop(self.handle.stop(false));
        let _ = std::fs::remove_dir_all(&self.mail_dir);
    }
}

fn parse_mail(raw: &[u8]) -> Mail {
    let message = mail_parser::MessageParser::default()
        .parse(raw)
        .expect("an RFC 5322 message");
    let to = message
        .to()
        .and_then(|to| to.first())
        .and_then(|address| address.address())
        .unwrap_or_default()
        .to_owned();
    Mail {
        to,
        subject: message.subject().unwrap_or_default().to_owned(),
        text: message
            .body_text(0)
            .map(|text| text.into_owned())
            .unwrap_or_default(),
        html: message
            .body_html(0)
            .map(|html| html.into_owned())
            .unwrap_or_default(),
    }
}

#[derive(Debug, Clone)]
pub struct Tokens {
    pub access: String,
    pub refresh: String,
}

/// The decoded header and payload of a JWT, unverified.
pub fn jwt_parts(token: &str) -> (Value, Value) {
    let mut parts = token.split('.');
    let mut decode = || {
        let part = parts.next().unwrap();
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .unwrap();
        serde_json::from_slice::<Value>(&bytes).unwrap()
    };
    (decode(), decode())
}

pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Status and JSON body of a response.
pub async fn answer(response: Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap()
    };
    (status, body)
}

/// Runs `test` once per database on a server whose settings `customize` changed. The calling
/// module must have `TestApp` and `TestDatabase` in scope.
#[macro_export]
macro_rules! with_settings {
    ($test:ident, $customize:expr) => {
        mod $test {
            use super::*;

            #[tokio::test]
            async fn sqlite() {
                super::$test(TestApp::spawn(TestDatabase::sqlite(), $customize).await).await;
            }

            #[tokio::test]
            #[cfg_attr(not(postgres_tests), ignore = "needs TEST_POSTGRES_URL")]
            async fn postgres() {
                if let Some(db) = TestDatabase::postgres() {
                    super::$test(TestApp::spawn(db, $customize).await).await;
                }
            }
        }
    };
}
