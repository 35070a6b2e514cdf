//! The database going away mid-run: requests get a 503 JSON answer, never a hang, and the
//! server recovers by itself. PostgreSQL only: the test puts a TCP proxy it can cut between the
//! server and the database.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use persistence::testing::TestDatabase;
use reqwest::StatusCode;
use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::support::{TestApp, answer};

/// Forwards connections from a local port to PostgreSQL until cut.
struct Proxy {
    port: u16,
    upstream: String,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Proxy {
    async fn start(upstream: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let proxy = Self {
            port,
            upstream: upstream.to_owned(),
            tasks: Arc::default(),
        };
        proxy.accept_on(listener);
        proxy
    }

    fn accept_on(&self, listener: TcpListener) {
        let upstream = self.upstream.clone();
        let tasks = self.tasks.clone();
        let acceptor = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let upstream = upstream.clone();
                let pipe = tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(&upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                tasks.lock().unwrap().push(pipe);
            }
        });
        self.tasks.lock().unwrap().push(acceptor);
    }

    /// Refuses new connections and drops the open ones, as a stopped server would.
    fn cut(&self) {
        for task in self.tasks.lock().unwrap().drain(..) {
            task.abort();
        }
    }

    async fn restore(&self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port)).await.unwrap();
        self.accept_on(listener);
    }
}

// Several threads: building the app blocks while the proxy has to answer it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(postgres_tests), ignore = "needs TEST_POSTGRES_URL")]
async fn requests_get_a_503_while_the_database_is_down_and_succeed_again_after() {
    let Some(db) = TestDatabase::postgres() else {
        eprintln!("skipped: TEST_POSTGRES_URL is not set");
        return;
    };
    let proxy = Proxy::start("127.0.0.1:5432").await;
    let proxied_url = db
        .url()
        .replacen("127.0.0.1:5432", &format!("127.0.0.1:{}", proxy.port), 1);
    assert_ne!(
        proxied_url,
        db.url(),
        "TEST_POSTGRES_URL must point at 127.0.0.1:5432"
    );
    let app = TestApp::spawn(db, |settings| {
        settings.database.url = proxied_url.into();
        settings.database.connect_timeout_secs = 2;
    })
    .await;
    let tokens = app.register("alice").await;

    proxy.cut();
    for path in ["/api/auth/profile/", "/ready"] {
        let started = Instant::now();
        let response = app
            .get(path)
            .bearer_auth(&tokens.access)
            .send()
            .await
            .unwrap();
        let waited = started.elapsed();
        let (status, body) = answer(response).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{path}");
        assert_eq!(
            body,
            json!({"detail": "Service temporarily unavailable, try again later."})
        );
        assert!(waited < Duration::from_secs(10), "{path} took {waited:?}");
    }
    let health = app.get("/health").send().await.unwrap();
    assert_eq!(
        health.status(),
        StatusCode::OK,
        "liveness does not depend on the database"
    );

    proxy.restore().await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let status = app.profile(&tokens.access).await.status();
        if status == StatusCode::OK {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still {status} after the database came back"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
