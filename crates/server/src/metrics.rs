//! The Prometheus listener (`METRICS_BIND_ADDRESS`): `GET /metrics` on an address of its own.
//!
//! The crates record through the `metrics` facade; here one process-wide recorder renders it in
//! Prometheus' text format (histograms with fixed buckets), and each scrape adds what is read
//! from the database at that moment (live sessions, the outbox backlog, the pool).

use std::fmt::Write as _;
use std::net::TcpListener;
use std::sync::OnceLock;

use actix_web::{App, HttpResponse, HttpServer, web};
use anyhow::Context as _;
use chrono::Utc;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use persistence::Database;

/// Latency buckets in seconds: a millisecond to ten seconds (a slow legacy hash).
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The process's recorder, installed by the first server that serves metrics. Until then (and in
/// a server without a metrics listener) the facade records nothing, at no cost.
fn recorder() -> anyhow::Result<&'static PrometheusHandle> {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    if let Some(handle) = HANDLE.get() {
        return Ok(handle);
    }
    let recorder = PrometheusBuilder::new()
        .set_buckets(BUCKETS)
        .context("invalid histogram buckets")?
        .build_recorder();
    let handle = recorder.handle();
    // Another thread may have won the race; its recorder is the one in use then.
    if metrics::set_global_recorder(recorder).is_ok() {
        describe();
        http::metrics::enable();
        let _ = HANDLE.set(handle);
    }
    HANDLE
        .get()
        .context("another metrics recorder is installed in this process")
}

fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        http::metrics::REQUESTS,
        "HTTP requests answered, by method, route and status."
    );
    describe_histogram!(
        http::metrics::REQUEST_SECONDS,
        Unit::Seconds,
        "HTTP request latency, by method and route."
    );
    describe_counter!(
        http::metrics::LOGINS,
        "Logins by outcome: success, failure (wrong credentials), throttled (429), rejected (other)."
    );
    describe_gauge!(
        http::metrics::HASH_QUEUE,
        "Logins and registrations waiting for a password-hash turn."
    );
    describe_gauge!(
        security::HASH_PENDING,
        "Hashes and verifications handed to the hash workers and not yet started."
    );
    describe_histogram!(
        security::HASH_SECONDS,
        Unit::Seconds,
        "Time a hash worker spent on one password hash or verification."
    );
    describe_histogram!(
        persistence::POOL_WAIT_SECONDS,
        Unit::Seconds,
        "Time a database checkout waited for a pooled connection."
    );
    describe_counter!(
        persistence::POOL_TIMEOUTS,
        "Database checkouts that gave up waiting for a connection."
    );
    // Series that move only under load are shown from the first scrape, at zero.
    metrics::gauge!(http::metrics::HASH_QUEUE).set(0.0);
    metrics::gauge!(security::HASH_PENDING).set(0.0);
    metrics::counter!(persistence::POOL_TIMEOUTS).absolute(0);
}

/// The metrics listener, bound and ready to run.
pub struct MetricsServer {
    server: actix_web::dev::Server,
    address: std::net::SocketAddr,
}

impl MetricsServer {
    /// Binds `bind_address` and installs the recorder.
    ///
    /// # Errors
    /// When the address cannot be bound, or another recorder is installed.
    pub fn bind(bind_address: &str, database: Database) -> anyhow::Result<Self> {
        let handle = recorder()?;
        let listener = TcpListener::bind(bind_address)
            .with_context(|| format!("could not listen for metrics on {bind_address}"))?;
        let address = listener.local_addr()?;
        let database = web::Data::new(database);
        let server = HttpServer::new(move || {
            App::new()
                .app_data(web::Data::new(handle))
                .app_data(database.clone())
                .route("/metrics", web::get().to(scrape))
        })
        .workers(1)
        // The API server takes the signals and stops this one.
        .disable_signals()
        .shutdown_timeout(1)
        .listen(listener)?
        .run();
        Ok(Self { server, address })
    }

    pub fn address(&self) -> std::net::SocketAddr {
        self.address
    }

    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    pub async fn run(self) -> std::io::Result<()> {
        self.server.await
    }
}

async fn scrape(
    handle: web::Data<&'static PrometheusHandle>,
    database: web::Data<Database>,
) -> HttpResponse {
    let mut text = handle.render();
    let db = database.get_ref().clone();
    let pool = db.pool_state();
    let counts = web::block(move || db.counts(Utc::now())).await;
    let gauge = |text: &mut String, name: &str, help: &str, samples: &[(&str, u64)]| {
        let _ = writeln!(text, "# HELP {name} {help}");
        let _ = writeln!(text, "# TYPE {name} gauge");
        for (labels, value) in samples {
            let _ = writeln!(text, "{name}{labels} {value}");
        }
    };
    let in_use = u64::from(pool.open.saturating_sub(pool.idle));
    gauge(
        &mut text,
        "auth_db_pool_connections",
        "Pooled database connections, by state.",
        &[
            ("{state=\"in_use\"}", in_use),
            ("{state=\"idle\"}", u64::from(pool.idle)),
        ],
    );
    gauge(
        &mut text,
        "auth_db_pool_max_connections",
        "The most connections the pool opens.",
        &[("", u64::from(pool.max))],
    );
    // Read from the database: left out, with a gauge saying so, when it cannot be.
    let readable = match counts {
        Ok(Ok(counts)) => {
            gauge(
                &mut text,
                "auth_sessions_live",
                "Sessions neither ended nor expired.",
                &[("", counts.live_sessions)],
            );
            gauge(
                &mut text,
                "auth_outbox_backlog",
                "Outbox messages by status: pending (to send) or failed (given up, not yet pruned).",
                &[
                    ("{status=\"pending\"}", counts.outbox_pending),
                    ("{status=\"failed\"}", counts.outbox_failed),
                ],
            );
            1
        }
        _ => 0,
    };
    gauge(
        &mut text,
        "auth_db_up",
        "Whether the database answered this scrape's counts.",
        &[("", readable)],
    );
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(text)
}
