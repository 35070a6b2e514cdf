use std::fmt;

use thiserror::Error;

/// A plaintext password as submitted. It never prints: `Debug` redacts it and there is no
/// `Display`, so it cannot end up in a log line by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum PasswordError {
    #[error("This field may not be blank.")]
    Blank,
}

impl Password {
    pub fn new(raw: String) -> Result<Self, PasswordError> {
        if raw.is_empty() {
            return Err(PasswordError::Blank);
        }
        Ok(Self(raw))
    }

    /// The secret itself, for hashing and strength checks only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// A stored password hash in PHC string format (`$argon2id$v=19$m=…`). Opaque to the domain.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    pub fn new(phc: String) -> Self {
        Self(phc)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The algorithm and parameters are useful when debugging; the salt and hash are not.
        let head: String = self.0.split('$').take(4).collect::<Vec<_>>().join("$");
        write!(f, "PasswordHash({head}$…)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_does_not_show_in_debug_output() {
        let password = Password::new("hunter2-secret".to_owned()).expect("not blank");
        assert!(!format!("{password:?}").contains("hunter2"));
    }

    #[test]
    fn an_empty_password_is_blank() {
        assert_eq!(Password::new(String::new()), Err(PasswordError::Blank));
    }

    #[test]
    fn a_password_hash_shows_only_its_parameters_in_debug_output() {
        let hash = PasswordHash::new("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned());
        let shown = format!("{hash:?}");
        assert!(shown.contains("m=19456"));
        assert!(!shown.contains("c2FsdA"));
    }
}
