//! auth-server's use cases and the ports they depend on.
//!
//! Rule: this crate knows only `domain`. Databases, hashing and token formats are reached through
//! the traits in [`ports`], which adapters in other crates implement; no diesel, actix, argon2 or
//! jsonwebtoken here. Ports are synchronous because their adapters block: callers run a whole use
//! case on a thread where blocking is allowed.

pub mod ports;
pub mod use_cases;
mod validation;

pub use validation::{FieldErrors, FieldPath, NON_FIELD_ERRORS, Submitted};
