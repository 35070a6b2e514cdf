//! The `auth-server` binary's library half: settings, wiring and the command line.
//!
//! Rule: this is the only crate that knows every other one. It reads configuration, builds the
//! adapters, hands them to the use cases and starts the HTTP server; no business rule lives here.

pub mod app;
pub mod audit;
pub mod cli;
pub mod import;
pub mod metrics;
pub mod settings;
pub mod telemetry;

pub use app::{Adapters, Application};
pub use settings::Settings;
