//! Adapters for auth-server's crypto ports: an argon2id [`PasswordHasher`] that also verifies
//! the hashes Django stored, an HS256 [`TokenCodec`] speaking simplejwt's token format, and
//! [`AccountTokens`] making Django's password-reset tokens and signed verification keys.
//!
//! Rule: secrets never leave this crate in readable form. Passwords, password hashes' salts and
//! digests, tokens and the signing key are never logged, and every `Debug` here redacts them.
//!
//! [`PasswordHasher`]: application::ports::PasswordHasher
//! [`TokenCodec`]: application::ports::TokenCodec
//! [`AccountTokens`]: application::ports::AccountTokens

mod account_tokens;
mod django;
mod hasher;
mod jwt;
#[cfg(test)]
mod jwt_proptests;

pub use account_tokens::HmacAccountTokens;
pub use hasher::{Argon2Hasher, Argon2Params, HASH_PENDING, HASH_SECONDS, HasherConfigError};
pub use jwt::JwtCodec;
