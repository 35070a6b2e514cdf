//! The actix-web adapter: routes, request bodies, error bodies and middleware.
//!
//! Rule: this crate drives the use cases of `application` and knows nothing of how they are
//! implemented (no diesel, no argon2, no jsonwebtoken). It speaks the HTTP contract of the Django
//! REST Framework + simplejwt system that auth-server replaces: same paths, bodies, status codes
//! and error shapes. Blocking use cases run on the blocking thread pool, never on a worker.
//!
//! Modules depend in one direction: `server` assembles `routes` and the middleware; `routes` use
//! the extractors (`auth`, `body`), `cookie`, `throttle` (which reads `client`) and `blocking`;
//! everything renders through `error`.

mod auth;
mod blocking;
mod body;
mod client;
mod cookie;
mod error;
mod hosts;
pub mod metrics;
mod middleware;
mod openapi;
#[cfg(test)]
mod proptests;
mod routes;
mod server;
mod throttle;

pub use client::{InvalidProxy, TrustedProxies};
pub use cookie::RefreshCookie;
pub use error::ApiError;
pub use server::{AccountFlows, HttpSettings, Server, UseCases};
pub use throttle::{InvalidRate, InvalidRates, Rate, RateLimits, Scope, ThrottleRates, rate_key};
