//! Connecting: URL forms, fast failures, and a pool that outlives its connections.

use std::env;
use std::fs;
use std::time::{Duration, Instant};

use application::ports::{HealthProbe, RepositoryError, UserRepository};
use diesel::prelude::*;
use diesel::sql_types::Text;
use domain::UserId;
use persistence::testing::{TEST_POSTGRES_URL, TestDatabase};
use persistence::{Backend, ConnectError, Database, PoolOptions};

fn options(connection_timeout: Duration) -> PoolOptions {
    PoolOptions {
        max_size: 2,
        connection_timeout,
        // Test every connection before use, so a terminated one never reaches a query.
        check_idle_after: Duration::ZERO,
    }
}

#[test]
fn unsupported_urls_are_refused_with_the_accepted_forms() {
    for url in [
        "",
        "mysql://root:hunter2@localhost/auth",
        "redis://localhost",
    ] {
        match Database::connect(url, PoolOptions::default()) {
            Err(error @ ConnectError::InvalidUrl(_)) => {
                let message = error.to_string();
                assert!(message.contains("postgres://"), "{message}");
                assert!(message.contains("sqlite://"), "{message}");
                assert!(!message.contains("hunter2"), "{message}");
            }
            other => panic!("{url:?}: {other:?}"),
        }
    }
}

#[test]
fn a_postgres_server_that_is_not_listening_fails_fast_with_the_drivers_message() {
    let started = Instant::now();
    let result = Database::connect(
        "postgres://postgres@127.0.0.1:1/postgres",
        options(Duration::from_secs(10)),
    );
    let elapsed = started.elapsed();

    match result {
        Err(ConnectError::Connection(message)) => {
            assert!(message.contains("127.0.0.1"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert!(elapsed < Duration::from_secs(2), "took {elapsed:?}");
}

#[test]
#[cfg_attr(not(postgres_tests), ignore = "needs TEST_POSTGRES_URL")]
fn an_unknown_postgres_database_is_reported_by_name() {
    let Some(db) = TestDatabase::postgres() else {
        eprintln!("skipped: {TEST_POSTGRES_URL} is unset");
        return;
    };
    let url = db.url().to_owned();
    let (server, _) = url.rsplit_once('/').expect("a URL with a database");
    let result = Database::connect(
        &format!("{server}/auth_no_such_database"),
        options(Duration::from_secs(10)),
    );
    match result {
        Err(ConnectError::Connection(message)) => {
            assert!(message.contains("auth_no_such_database"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_sqlite_file_is_created_with_its_directory_and_migrated() {
    let root = env::temp_dir().join(format!("auth-test-dir-{}", uuid::Uuid::new_v4().simple()));
    let file = root.join("nested").join("db.sqlite3");
    for url in [
        format!("sqlite://{}", file.display()),
        file.display().to_string(),
    ] {
        let database = Database::connect(&url, options(Duration::from_secs(5))).expect("connected");
        assert_eq!(database.backend(), Backend::Sqlite);
        database.run_migrations().expect("migrated");
        database.health().check().expect("healthy");
    }
    assert!(file.exists());
    fs::remove_dir_all(&root).expect("removed the test directory");
}

#[test]
fn a_sqlite_file_in_a_relative_path_is_relative_to_the_working_directory() {
    let name = format!("auth-test-{}.sqlite3", uuid::Uuid::new_v4().simple());
    let database = Database::connect(&format!("sqlite://{name}"), options(Duration::from_secs(5)))
        .expect("connected");
    database.health().check().expect("healthy");
    drop(database);
    let path = env::current_dir().expect("a working directory").join(&name);
    assert!(path.exists(), "{}", path.display());
    for suffix in ["", "-wal", "-shm"] {
        let _ = fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

#[test]
fn an_in_memory_sqlite_database_is_shared_by_all_requests() {
    for url in ["sqlite::memory:", ":memory:"] {
        let database = Database::connect(url, PoolOptions::default()).expect("connected");
        database.run_migrations().expect("migrated");
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let users = database.users();
                std::thread::spawn(move || users.find_by_username("nobody").map(|u| u.is_none()))
            })
            .collect();
        for thread in threads {
            assert!(thread.join().expect("no panic").expect("tables exist"));
        }
    }
}

#[test]
#[cfg_attr(not(postgres_tests), ignore = "needs TEST_POSTGRES_URL")]
fn a_connection_in_steady_use_that_the_server_terminated_fails_once_and_is_replaced() {
    let Some(test_database) = crate::postgres_or_skip() else {
        return;
    };
    let options = PoolOptions {
        max_size: 1,
        check_idle_after: Duration::from_secs(3600),
        ..options(Duration::from_secs(5))
    };
    let database = Database::connect(test_database.url(), options).expect("connected");
    database.health().check().expect("healthy");

    terminate_connections(test_database.url());

    assert!(matches!(
        database.health().check(),
        Err(RepositoryError::Unavailable(_))
    ));
    database
        .health()
        .check()
        .expect("healthy again with a new connection");
}

#[test]
#[cfg_attr(not(postgres_tests), ignore = "needs TEST_POSTGRES_URL")]
fn a_postgres_pool_replaces_connections_the_server_terminated() {
    let Some(test_database) = crate::postgres_or_skip() else {
        return;
    };
    let database =
        Database::connect(test_database.url(), options(Duration::from_secs(5))).expect("connected");
    assert_eq!(database.backend(), Backend::Postgres);
    database.health().check().expect("healthy");

    terminate_connections(test_database.url());

    database
        .health()
        .check()
        .expect("healthy again with a new connection");
    database
        .users()
        .find_by_id(UserId::new(1))
        .expect("queries work again");
}

#[test]
#[cfg_attr(not(postgres_tests), ignore = "needs TEST_POSTGRES_URL")]
fn requests_fail_as_unavailable_within_the_timeout_when_postgres_is_gone() {
    let Some(test_database) = crate::postgres_or_skip() else {
        return;
    };
    let timeout = Duration::from_secs(1);
    let database = Database::connect(test_database.url(), options(timeout)).expect("connected");
    database.health().check().expect("healthy");

    drop_database(test_database.url());

    let started = Instant::now();
    let result = database.users().find_by_id(UserId::new(1));
    let elapsed = started.elapsed();
    assert!(
        matches!(result, Err(RepositoryError::Unavailable(_))),
        "{result:?}"
    );
    assert!(elapsed < timeout * 3, "took {elapsed:?}");
    assert!(matches!(
        database.health().check(),
        Err(RepositoryError::Unavailable(_))
    ));
}

/// The maintenance URL and the database name of a test database URL.
fn maintenance_url_and_name(url: &str) -> (String, String) {
    let maintenance = env::var(TEST_POSTGRES_URL).expect("set when a PostgreSQL test runs");
    let name = url
        .rsplit_once('/')
        .map(|(_, name)| name.split('?').next().unwrap_or(name).to_owned())
        .expect("a URL with a database");
    (maintenance, name)
}

fn terminate_connections(url: &str) {
    let (maintenance, name) = maintenance_url_and_name(url);
    let mut admin = PgConnection::establish(&maintenance).expect("connect as admin");
    diesel::sql_query(
        "SELECT pg_terminate_backend(pid)::text FROM pg_stat_activity \
         WHERE datname = $1 AND pid <> pg_backend_pid()",
    )
    .bind::<Text, _>(&name)
    .execute(&mut admin)
    .expect("terminate the connections");
}

fn drop_database(url: &str) {
    let (maintenance, name) = maintenance_url_and_name(url);
    let mut admin = PgConnection::establish(&maintenance).expect("connect as admin");
    diesel::sql_query(format!("DROP DATABASE {name} WITH (FORCE)"))
        .execute(&mut admin)
        .expect("drop the database");
}
