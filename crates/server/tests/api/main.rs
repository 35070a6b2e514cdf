//! Black-box tests: the real server on a random port over a real database, spoken to over HTTP.
//! Every test runs once on SQLite and once on PostgreSQL (when `TEST_POSTGRES_URL` is set).
#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr)]

mod support;

mod account;
mod audit;

mod auth_header;
mod cookie;
mod django_import;
mod general;
mod jwt_settings;
mod login;
mod logout;
mod mail_delivery;
mod metrics;
mod openapi;
mod outage;
mod profile;
mod refresh;
mod register;
mod sessions;
mod stored_values;
mod throttle;
