//! The cutover from the Django system, against a Django database made by real Django 5.2 and
//! simplejwt 5.5 (`tests/django/fixture.py`): `auth-server import-django` into the server's
//! database, then the imported users and tokens over HTTP.
//!
//! The fixture needs a Python with Django, simplejwt, bcrypt, argon2-cffi and psycopg, named by
//! `AUTH_TEST_DJANGO_PYTHON`; without it these tests are skipped, unless
//! `AUTH_TEST_REQUIRE_DJANGO=1` (CI) makes that a failure.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use persistence::testing::TestDatabase;
use reqwest::StatusCode;
use secrecy::ExposeSecret;
use serde_json::{Value, json};

use crate::on_both_databases;
use crate::support::{TestApp, answer};

/// The test configuration's `SECRET_KEY`: Django signed its tokens with it.
const SECRET_KEY: &str = "test-secret-key-that-is-long-enough-for-hs256";
const PYTHON_VARIABLE: &str = "AUTH_TEST_DJANGO_PYTHON";
const REQUIRE_VARIABLE: &str = "AUTH_TEST_REQUIRE_DJANGO";

/// A Django database the fixture made, and what it says it made.
struct Fixture {
    url: String,
    made: Value,
    _dir: ScratchDir,
}

struct ScratchDir(PathBuf);

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn python() -> Option<String> {
    match std::env::var(PYTHON_VARIABLE) {
        Ok(python) => Some(python),
        Err(_) if std::env::var(REQUIRE_VARIABLE).is_ok_and(|value| value == "1") => {
            panic!("{REQUIRE_VARIABLE}=1 but {PYTHON_VARIABLE} is not set")
        }
        Err(_) => {
            eprintln!("skipped: {PYTHON_VARIABLE} is not set");
            None
        }
    }
}

/// Runs the fixture against `url`, a database that Django migrates and fills.
fn run_fixture(python: &str, url: &str, collisions: bool) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/django/fixture.py");
    let mut command = Command::new(python);
    command
        .arg(script)
        .args(["--database", url, "--secret-key", SECRET_KEY]);
    if collisions {
        command.arg("--collisions");
    }
    let output = command.output().expect("the Django fixture runs");
    assert!(
        output.status.success(),
        "the Django fixture failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("the fixture prints JSON")
}

/// A Django SQLite database, made once per test run (Django's hashers take seconds) and only
/// read afterwards: the import opens it read-only.
fn sqlite_fixture(collisions: bool) -> Option<&'static Fixture> {
    static PLAIN: OnceLock<Option<Fixture>> = OnceLock::new();
    static COLLIDING: OnceLock<Option<Fixture>> = OnceLock::new();
    let cell = if collisions { &COLLIDING } else { &PLAIN };
    cell.get_or_init(|| {
        let python = python()?;
        let dir = std::env::temp_dir().join(format!("auth-django-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("django.sqlite3");
        let url = format!("sqlite://{}", path.display());
        let made = run_fixture(&python, &url, collisions);
        Some(Fixture {
            url: path.display().to_string(),
            made,
            _dir: ScratchDir(dir),
        })
    })
    .as_ref()
}

/// `auth-server import-django --from <from> <args>` into the app's database.
fn import(app: &TestApp, from: &str, args: &[&str]) -> Output {
    let work_dir = std::env::temp_dir();
    Command::new(env!("CARGO_BIN_EXE_auth-server"))
        .env_clear()
        .env(
            "AUTH_CONFIG_DIR",
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config"),
        )
        .env("AUTH_ENV", "test")
        .env("DATABASE_URL", app.db.url())
        .current_dir(work_dir)
        .args(["import-django", "--from", from])
        .args(args)
        .output()
        .expect("auth-server runs")
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn imported(app: &TestApp, fixture: &Fixture) -> String {
    let output = import(app, &fixture.url, &[]);
    assert!(output.status.success(), "{}", text(&output));
    text(&output)
}

fn users(fixture: &Fixture) -> &Vec<Value> {
    fixture.made["users"].as_array().unwrap()
}

fn token<'a>(fixture: &'a Fixture, name: &str) -> &'a str {
    fixture.made["tokens"][name].as_str().unwrap()
}

fn count(app: &TestApp, table: &str) -> i64 {
    app.db
        .query_text(&format!(
            "SELECT CAST(COUNT(*) AS TEXT) AS value FROM {table}"
        ))
        .unwrap()[0]
        .as_deref()
        .unwrap()
        .parse()
        .unwrap()
}

fn stored_hash(app: &TestApp, username: &str) -> String {
    app.stored_text(&format!(
        "SELECT password AS value FROM users WHERE username = '{username}'"
    ))[0]
        .clone()
        .unwrap()
}

async fn log_in(app: &TestApp, username: &str, password: &str) -> (StatusCode, Value) {
    answer(
        app.post_json(
            "/api/auth/login/",
            json!({"username": username, "password": password}),
        )
        .await,
    )
    .await
}

/// Every user signs in with the password Django hashed, whatever the hasher, and the stored
/// hash is argon2id afterwards; unusable and inactive accounts cannot.
async fn every_django_hasher_signs_in_and_is_upgraded_to_argon2id(app: TestApp) {
    assert_eq!(app.settings.security.secret_key.expose_secret(), SECRET_KEY);
    let Some(fixture) = sqlite_fixture(false) else {
        return;
    };
    imported(&app, fixture);
    for user in users(fixture) {
        let username = user["username"].as_str().unwrap();
        let password = user["password"].as_str().unwrap();
        let hasher = user["hasher"].as_str().unwrap();
        // Imported as Django stored it.
        assert_eq!(
            stored_hash(&app, username),
            user["stored_hash"].as_str().unwrap()
        );
        let (status, body) = log_in(&app, username, password).await;
        if hasher == "unusable" || user["is_active"] == false {
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{username}: {body}");
            assert!(!stored_hash(&app, username).starts_with("$argon2id$"));
            continue;
        }
        assert_eq!(status, StatusCode::OK, "{username} ({hasher}): {body}");
        assert!(
            stored_hash(&app, username).starts_with("$argon2id$v=19$"),
            "{username} ({hasher}) was not rehashed"
        );
        // A wrong password is still wrong, and the new hash holds the same password.
        let (status, _) = log_in(&app, username, "not-the-password").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{username}");
        let (status, _) = log_in(&app, username, password).await;
        assert_eq!(status, StatusCode::OK, "{username} after the rehash");
    }
}

/// Ids, names, flags and times are Django's, to the microsecond; profiles come along; blank
/// addresses stay blank.
async fn ids_fields_and_timestamps_equal_django_s(app: TestApp) {
    let Some(fixture) = sqlite_fixture(false) else {
        return;
    };
    imported(&app, fixture);
    for user in users(fixture) {
        let id = user["id"].as_i64().unwrap();
        let username = user["username"].as_str().unwrap();
        let from = format!("users WHERE id = {id}");
        let stored = app.stored_text(&format!(
            "SELECT username AS value FROM users WHERE id = {id}"
        ));
        assert_eq!(stored, vec![Some(username.to_owned())], "id {id}");
        let email = app.stored_text(&format!("SELECT email AS value FROM {from}"));
        assert_eq!(
            email,
            vec![Some(user["email"].as_str().unwrap().to_owned())]
        );
        let joined = app.stored_time("date_joined", &from).unwrap();
        assert_eq!(
            joined.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
            user["date_joined"].as_str().unwrap(),
            "{username}"
        );
        let last_login = app
            .stored_time("last_login", &from)
            .map(|at| at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string());
        assert_eq!(
            last_login.as_deref(),
            user["last_login"].as_str(),
            "{username}"
        );
        let profile = format!("profiles WHERE user_id = {id}");
        if user["has_profile"] == true {
            let created = app.stored_time("created_at", &profile).unwrap();
            assert_eq!(
                created.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
                user["profile_created_at"].as_str().unwrap()
            );
        } else {
            assert_eq!(count(&app, &profile), 0, "{username} has no profile");
        }
    }
    let flags = app.stored_text(
        "SELECT CAST(is_staff AS TEXT) || CAST(is_superuser AS TEXT) AS value \
         FROM users WHERE username = 'admin'",
    );
    assert!(
        matches!(flags[0].as_deref(), Some("11" | "truetrue")),
        "{flags:?}"
    );
}

/// Tokens simplejwt issued keep working with the same `SECRET_KEY`: the access token reads the
/// profile (with its imported phone), the refresh token refreshes, the blacklisted one does not.
async fn django_issued_tokens_keep_working_and_blacklisted_ones_are_refused(app: TestApp) {
    let Some(fixture) = sqlite_fixture(false) else {
        return;
    };
    imported(&app, fixture);
    let (status, body) = answer(app.profile(token(fixture, "access")).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let alice = &users(fixture)[0];
    assert_eq!(body["user"]["username"], "alice");
    assert_eq!(body["user"]["id"], alice["id"]);
    // The profile keeps Django's id too.
    assert_eq!(body["id"], alice["profile_id"]);
    assert_eq!(body["phone"], "+15550001");
    assert_eq!(body["created_at"], alice["profile_created_at"]);

    let (status, body) = answer(
        app.post_json(
            "/api/auth/refresh/",
            json!({"refresh": token(fixture, "refresh")}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = answer(app.profile(body["access"].as_str().unwrap()).await).await;
    assert_eq!(status, StatusCode::OK);

    let (status, body) = answer(
        app.post_json(
            "/api/auth/refresh/",
            json!({"refresh": token(fixture, "refresh_blacklisted")}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["code"], "token_not_valid");

    // A Django refresh token can be blacklisted here too, by logging out with it.
    let bob = token(fixture, "refresh_bob");
    let (_, signed_in) = log_in(&app, "bob", users(fixture)[1]["password"].as_str().unwrap()).await;
    let logout = app
        .post("/api/auth/logout/")
        .bearer_auth(signed_in["access"].as_str().unwrap())
        .json(&json!({"refresh": bob}))
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), StatusCode::RESET_CONTENT);
    let (status, _) = answer(
        app.post_json("/api/auth/refresh/", json!({"refresh": bob}))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

/// A second run writes nothing: same rows, and a summary saying everything is there already.
async fn a_second_run_changes_nothing(app: TestApp) {
    let Some(fixture) = sqlite_fixture(false) else {
        return;
    };
    let first = imported(&app, fixture);
    assert!(
        first.contains("users: 16 imported, 0 already here, 0 left out"),
        "{first}"
    );
    let snapshot = |app: &TestApp| {
        app.stored_text(
            "SELECT CAST(id AS TEXT) || username || email || password || \
             CAST(date_joined AS TEXT) AS value FROM users ORDER BY id",
        )
    };
    let tokens = |app: &TestApp| {
        app.stored_text(
            "SELECT jti || COALESCE(CAST(revoked_at AS TEXT), '-') AS value \
             FROM refresh_tokens ORDER BY jti",
        )
    };
    let (users_before, tokens_before) = (snapshot(&app), tokens(&app));
    let profiles_before = count(&app, "profiles");
    let second = imported(&app, fixture);
    assert!(
        second.contains("users: 0 imported, 16 already here"),
        "{second}"
    );
    assert!(
        second.contains("0 imported (0 of them blacklisted), 0 newly blacklisted, 3 already here"),
        "{second}"
    );
    assert_eq!(snapshot(&app), users_before);
    assert_eq!(tokens(&app), tokens_before);
    assert_eq!(count(&app, "profiles"), profiles_before);
}

/// `--dry-run` reports what it would do and writes nothing.
async fn a_dry_run_writes_nothing(app: TestApp) {
    let Some(fixture) = sqlite_fixture(false) else {
        return;
    };
    let output = import(&app, &fixture.url, &["--dry-run"]);
    assert!(output.status.success(), "{}", text(&output));
    let said = text(&output);
    assert!(said.contains("Dry run: nothing was written."), "{said}");
    assert!(said.contains("users: 16 would be imported"), "{said}");
    assert_eq!(count(&app, "users"), 0);
    assert_eq!(count(&app, "refresh_tokens"), 0);
}

/// Addresses that differ only in case: `fail` (the default) writes nothing and lists every
/// collision; `skip` leaves the later account out, with its profile and tokens, and lists it.
async fn colliding_addresses_fail_by_default_and_are_left_out_under_skip(app: TestApp) {
    let Some(fixture) = sqlite_fixture(true) else {
        return;
    };
    let output = import(&app, &fixture.url, &[]);
    assert!(!output.status.success());
    let said = text(&output);
    assert!(said.contains("nothing was written"), "{said}");
    assert!(
        said.contains(r#"user "zed" (id 17): its e-mail address is already "alice"'s"#),
        "{said}"
    );
    assert!(
        said.contains(r#"user "zoe" (id 18): its e-mail address is already "bob"'s"#),
        "{said}"
    );
    assert_eq!(count(&app, "users"), 0);

    let output = import(&app, &fixture.url, &["--on-conflict", "skip"]);
    assert!(output.status.success(), "{}", text(&output));
    let said = text(&output);
    assert!(
        said.contains("users: 16 imported, 0 already here, 2 left out"),
        "{said}"
    );
    assert!(said.contains("1 of users left out"), "{said}");
    assert_eq!(count(&app, "users WHERE username IN ('zed', 'zoe')"), 0);
    assert_eq!(count(&app, "profiles WHERE user_id = 17"), 0);
    let (status, _) = answer(
        app.post_json(
            "/api/auth/refresh/",
            json!({"refresh": token(fixture, "refresh_zed")}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

/// Accounts made here after the cutover get ids past Django's (PostgreSQL's sequence moved).
async fn accounts_registered_afterwards_get_new_ids(app: TestApp) {
    let Some(fixture) = sqlite_fixture(false) else {
        return;
    };
    imported(&app, fixture);
    let highest = users(fixture)
        .iter()
        .map(|user| user["id"].as_i64().unwrap())
        .max()
        .unwrap();
    app.register("newcomer").await;
    let id: i64 = app
        .stored_text("SELECT CAST(id AS TEXT) AS value FROM users WHERE username = 'newcomer'")[0]
        .as_deref()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(id, highest + 1);
    let highest_profile = users(fixture)
        .iter()
        .filter_map(|user| user["profile_id"].as_i64())
        .max()
        .unwrap();
    let profile: i64 = app.stored_text(&format!(
        "SELECT CAST(id AS TEXT) AS value FROM profiles WHERE user_id = {id}"
    ))[0]
        .as_deref()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(profile, highest_profile + 1);
}

/// An account imported with an unusable password (`!…`) cannot sign in until it resets its
/// password, and then can: the reset mail comes, the link works, the new password signs in.
async fn an_unusable_password_signs_in_only_after_a_reset(app: TestApp) {
    let Some(fixture) = sqlite_fixture(false) else {
        return;
    };
    imported(&app, fixture);
    let (status, _) = log_in(&app, "mallory", "").await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "a blank password is a field error"
    );
    let mallory = &users(fixture)[11];
    assert_eq!(mallory["username"], "mallory");
    let (status, _) = log_in(&app, "mallory", mallory["password"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let (status, _) = answer(
        app.post_json(
            "/api/auth/password/reset/",
            json!({"email": "mallory@example.com"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let mail = app.mail("mallory@example.com", 1).await;
    let uid = mail.link_parameter("http", "uid");
    let token = mail.link_parameter("http", "token");
    let new_password = "a-fresh-start-after-django";
    let (status, body) = answer(
        app.post_json(
            "/api/auth/password/reset/confirm/",
            json!({"uid": uid, "token": token, "new_password1": new_password, "new_password2": new_password}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = log_in(&app, "mallory", new_password).await;
    assert_eq!(status, StatusCode::OK);
}

on_both_databases!(
    an_unusable_password_signs_in_only_after_a_reset,
    every_django_hasher_signs_in_and_is_upgraded_to_argon2id,
    ids_fields_and_timestamps_equal_django_s,
    django_issued_tokens_keep_working_and_blacklisted_ones_are_refused,
    a_second_run_changes_nothing,
    a_dry_run_writes_nothing,
    colliding_addresses_fail_by_default_and_are_left_out_under_skip,
    accounts_registered_afterwards_get_new_ids,
);

/// A Django system on PostgreSQL imports the same way.
#[tokio::test]
#[cfg_attr(not(postgres_tests), ignore = "needs TEST_POSTGRES_URL")]
async fn a_django_database_on_postgresql_imports_too() {
    let Some(source) = TestDatabase::postgres_unmigrated() else {
        eprintln!("skipped: TEST_POSTGRES_URL is not set");
        return;
    };
    let Some(python) = python() else { return };
    let made = run_fixture(&python, source.url(), false);
    let app = TestApp::sqlite().await;
    let output = import(&app, source.url(), &[]);
    assert!(output.status.success(), "{}", text(&output));
    assert!(
        text(&output).contains("users: 16 imported"),
        "{}",
        text(&output)
    );
    let alice = &made["users"][0];
    assert_eq!(
        app.stored_time("date_joined", "users WHERE username = 'alice'")
            .unwrap()
            .format("%Y-%m-%dT%H:%M:%S%.6fZ")
            .to_string(),
        alice["date_joined"].as_str().unwrap()
    );
    let (status, _) = log_in(&app, "alice", alice["password"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = answer(
        app.post_json(
            "/api/auth/refresh/",
            json!({"refresh": made["tokens"]["refresh"]}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}
