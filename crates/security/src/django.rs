//! Password hashes written by Django, for the users migrated from the system this service
//! replaces. They are only ever verified; a successful login replaces them with an argon2id hash.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::Sha256;
use subtle::ConstantTimeEq as _;

/// What Django's `PBKDF2PasswordHasher` (its default) stores: `pbkdf2_sha256$<iterations>$<salt>$<hash>`.
const PBKDF2_SHA256_PREFIX: &str = "pbkdf2_sha256$";

/// Django's `Argon2PasswordHasher` stores `argon2` followed by the PHC string.
const ARGON2_PREFIX: &str = "argon2";

/// Django's PBKDF2 digest: SHA-256 output length, as `dklen=None` gives.
const PBKDF2_SHA256_LEN: usize = 32;

/// The PHC string inside a Django argon2 hash (`argon2$argon2id$v=19$…` gives `$argon2id$v=19$…`),
/// or `None` when `encoded` is not one.
pub(crate) fn argon2_phc(encoded: &str) -> Option<&str> {
    encoded
        .strip_prefix(ARGON2_PREFIX)
        .filter(|phc| phc.starts_with("$argon2"))
}

/// Whether `encoded` claims to be a Django `pbkdf2_sha256` hash.
pub(crate) fn is_pbkdf2_sha256(encoded: &str) -> bool {
    encoded.starts_with(PBKDF2_SHA256_PREFIX)
}

/// A parsed Django `pbkdf2_sha256` hash.
pub(crate) struct Pbkdf2Sha256<'a> {
    iterations: u32,
    salt: &'a str,
    hash: [u8; PBKDF2_SHA256_LEN],
}

impl<'a> Pbkdf2Sha256<'a> {
    /// `None` when `encoded` is not a well-formed `pbkdf2_sha256` hash.
    pub(crate) fn parse(encoded: &'a str) -> Option<Self> {
        let rest = encoded.strip_prefix(PBKDF2_SHA256_PREFIX)?;
        let mut parts = rest.split('$');
        let iterations = parts.next()?.parse::<u32>().ok().filter(|&n| n > 0)?;
        let salt = parts.next()?;
        let hash = STANDARD.decode(parts.next()?).ok()?;
        if parts.next().is_some() {
            return None;
        }
        Some(Self {
            iterations,
            salt,
            hash: hash.try_into().ok()?,
        })
    }

    /// Whether `password` is the one hashed, in constant time.
    pub(crate) fn verify(&self, password: &[u8]) -> bool {
        let mut computed = [0u8; PBKDF2_SHA256_LEN];
        pbkdf2::pbkdf2_hmac::<Sha256>(
            password,
            self.salt.as_bytes(),
            self.iterations,
            &mut computed,
        );
        computed.ct_eq(&self.hash).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Django's vectors are verified through the hasher, in `hasher.rs`; these are variations of
    // PBKDF2PasswordHasher().encode("secret-pass", "Zq3xYhX1mPa2Lk9w", iterations=1000).
    #[test]
    fn a_malformed_pbkdf2_hash_does_not_parse() {
        for encoded in [
            "pbkdf2_sha256$",
            "pbkdf2_sha256$0$Zq3xYhX1mPa2Lk9w$SQSM4RmPiR/gg99hRHcavqRehNwyBMZ1OP+vnRAT/cs=",
            "pbkdf2_sha256$ten$Zq3xYhX1mPa2Lk9w$SQSM4RmPiR/gg99hRHcavqRehNwyBMZ1OP+vnRAT/cs=",
            "pbkdf2_sha256$1000$Zq3xYhX1mPa2Lk9w$not base64",
            "pbkdf2_sha256$1000$Zq3xYhX1mPa2Lk9w$c2hvcnQ=",
            "pbkdf2_sha256$1000$Zq3xYhX1mPa2Lk9w$SQSM4RmPiR/gg99hRHcavqRehNwyBMZ1OP+vnRAT/cs=$x",
        ] {
            assert!(Pbkdf2Sha256::parse(encoded).is_none(), "{encoded}");
        }
    }

    #[test]
    fn a_django_argon2_hash_yields_its_phc_string() {
        assert_eq!(
            argon2_phc("argon2$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$aGFzaA"),
            Some("$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$aGFzaA")
        );
        assert_eq!(
            argon2_phc("$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$aGFzaA"),
            None
        );
        assert_eq!(argon2_phc("argon2"), None);
    }
}
