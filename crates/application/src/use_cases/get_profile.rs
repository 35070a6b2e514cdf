use std::sync::Arc;

use domain::{Profile, User};
use thiserror::Error;

use crate::ports::{RepositoryError, UserRepository};

#[derive(Debug, Error)]
pub enum GetProfileError {
    #[error("the user has no profile")]
    NotFound,
    #[error(transparent)]
    Repository(#[from] RepositoryError),
}

/// Reads the profile of an authenticated user.
#[derive(Clone)]
pub struct GetProfile {
    pub users: Arc<dyn UserRepository>,
}

impl GetProfile {
    /// Takes the user that authentication already loaded, so only the profile is read.
    pub fn execute(&self, user: User) -> Result<(User, Profile), GetProfileError> {
        let profile = self
            .users
            .find_profile(user.id)?
            .ok_or(GetProfileError::NotFound)?;
        Ok((user, profile))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::use_cases::test_support::*;

    #[test]
    fn the_profile_comes_with_its_user_without_reloading_the_user() {
        let mut ports = Ports::new();
        ports
            .users
            .expect_find_profile()
            .withf(|id| *id == USER_ID)
            .returning(|_| Ok(Some(stored_profile())));
        ports.users.expect_find_by_id().never();
        let (user, profile) = GetProfile {
            users: Arc::new(ports.users),
        }
        .execute(stored_user())
        .expect("found");
        assert_eq!((user.id, profile.phone.as_str()), (USER_ID, "1234567890"));
    }

    #[test]
    fn a_missing_profile_is_not_found() {
        let mut ports = Ports::new();
        ports.users.expect_find_profile().returning(|_| Ok(None));
        let result = GetProfile {
            users: Arc::new(ports.users),
        }
        .execute(stored_user());
        assert!(matches!(result, Err(GetProfileError::NotFound)));
    }
}
