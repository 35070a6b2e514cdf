use std::sync::Arc;

use domain::{Profile, User, UserId};
use thiserror::Error;

use crate::ports::{RepositoryError, UserRepository};

#[derive(Debug, Error)]
pub enum GetProfileError {
    #[error("the user has no profile")]
    NotFound,
    #[error(transparent)]
    Repository(#[from] RepositoryError),
}

/// Reads a user with its profile.
#[derive(Clone)]
pub struct GetProfile {
    pub users: Arc<dyn UserRepository>,
}

impl GetProfile {
    pub fn execute(&self, user_id: UserId) -> Result<(User, Profile), GetProfileError> {
        self.users
            .find_with_profile(user_id)?
            .ok_or(GetProfileError::NotFound)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::use_cases::test_support::*;

    #[test]
    fn the_profile_comes_with_its_user() {
        let mut ports = Ports::new();
        ports
            .users
            .expect_find_with_profile()
            .withf(|id| *id == USER_ID)
            .returning(|_| Ok(Some((stored_user(), stored_profile()))));
        let (user, profile) = GetProfile {
            users: Arc::new(ports.users),
        }
        .execute(USER_ID)
        .expect("found");
        assert_eq!((user.id, profile.phone.as_str()), (USER_ID, "1234567890"));
    }

    #[test]
    fn a_missing_profile_is_not_found() {
        let mut ports = Ports::new();
        ports
            .users
            .expect_find_with_profile()
            .returning(|_| Ok(None));
        let result = GetProfile {
            users: Arc::new(ports.users),
        }
        .execute(USER_ID);
        assert!(matches!(result, Err(GetProfileError::NotFound)));
    }
}
