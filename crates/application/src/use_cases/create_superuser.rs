use std::sync::Arc;

use domain::{AuditEvent, AuditKind, ClientInfo, Phone, User};
use thiserror::Error;

use super::account::{
    AccountFields, check_strength, new_user, parse_free_email, parse_new_username, parse_password,
    taken_to_field_errors,
};
use crate::ports::{Clock, Effects, HashError, PasswordHasher, RepositoryError, UserRepository};
use crate::validation::FieldErrors;

#[derive(Debug, Clone)]
pub struct CreateSuperuserInput {
    pub username: String,
    pub email: String,
    pub password: String,
}

#[derive(Debug, Error)]
pub enum CreateSuperuserError {
    #[error("the superuser is invalid")]
    Invalid(FieldErrors),
    #[error(transparent)]
    Repository(#[from] RepositoryError),
    #[error(transparent)]
    Hash(#[from] HashError),
}

/// Creates an active staff superuser, under the same rules as a registration.
#[derive(Clone)]
pub struct CreateSuperuser {
    pub users: Arc<dyn UserRepository>,
    pub hasher: Arc<dyn PasswordHasher>,
    pub clock: Arc<dyn Clock>,
}

impl CreateSuperuser {
    pub fn execute(&self, input: CreateSuperuserInput) -> Result<User, CreateSuperuserError> {
        let mut errors = FieldErrors::new();
        let username = parse_new_username(self.users.as_ref(), Some(input.username), &mut errors)?;
        let email = parse_free_email(
            self.users.as_ref(),
            Some(input.email),
            &["email"],
            None,
            &mut errors,
        )?;
        let password = parse_password(Some(input.password), "password", &mut errors);
        let (Some(username), Some(email), Some(password)) = (username, email, password) else {
            return Err(CreateSuperuserError::Invalid(errors));
        };
        let account = AccountFields {
            username,
            email,
            password,
            first_name: Default::default(),
            last_name: Default::default(),
        };
        check_strength(&account).map_err(CreateSuperuserError::Invalid)?;
        let password_hash = self.hasher.hash(&account.password)?;
        let now = self.clock.now();
        let username = account.username.as_str().to_owned();
        let user = new_user(account, password_hash, Phone::default(), true, now);
        let origin = ClientInfo::new("", "auth-server createsuperuser");
        let event = AuditEvent::new(AuditKind::SuperuserCreated, now, &origin).username(&username);
        match self.users.create(user, Effects::new(&origin).audit(event)) {
            Ok((user, _profile)) => Ok(user),
            Err(error) => Err(CreateSuperuserError::Invalid(taken_to_field_errors(error)?)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::use_cases::test_support::*;

    fn use_case(ports: Ports) -> CreateSuperuser {
        CreateSuperuser {
            users: Arc::new(ports.users),
            hasher: Arc::new(ports.hasher),
            clock: fixed_clock(),
        }
    }

    fn input(password: &str) -> CreateSuperuserInput {
        CreateSuperuserInput {
            username: "admin".into(),
            email: "admin@example.com".into(),
            password: password.into(),
        }
    }

    #[test]
    fn a_superuser_is_staff_and_superuser() {
        let mut ports = Ports::new();
        ports
            .users
            .expect_find_by_username()
            .returning(|_| Ok(None));
        ports.users.expect_find_by_email().returning(|_| Ok(None));
        ports.hasher.expect_hash().returning(|_| Ok(hash("hashed")));
        ports
            .users
            .expect_create()
            .withf(|new, effects| {
                new.is_staff
                    && new.is_superuser
                    && new.email_verified
                    && effects.mail.is_empty()
                    && matches!(
                        effects.audit.as_slice(),
                        [event] if event.kind == AuditKind::SuperuserCreated
                            && event.username.as_deref() == Some("admin")
                            && event.user_id.is_none()
                    )
            })
            .times(1)
            .returning(|new, _| Ok(stored_user_from(new)));
        let user = use_case(ports)
            .execute(input("a-long-unusual-passphrase"))
            .expect("creates");
        assert!(user.is_superuser && user.is_staff);
    }

    #[test]
    fn a_weak_password_is_refused_like_at_registration() {
        let mut ports = Ports::new();
        ports
            .users
            .expect_find_by_username()
            .returning(|_| Ok(None));
        ports.users.expect_find_by_email().returning(|_| Ok(None));
        ports.users.expect_create().never();
        let Err(CreateSuperuserError::Invalid(errors)) = use_case(ports).execute(input("password"))
        else {
            panic!("expected field errors")
        };
        assert_eq!(
            pairs(&errors),
            vec![("password".into(), "This password is too common.".into())]
        );
    }

    #[test]
    fn a_taken_username_is_refused() {
        let mut ports = Ports::new();
        ports
            .users
            .expect_find_by_username()
            .returning(|_| Ok(Some(stored_user())));
        ports.users.expect_find_by_email().returning(|_| Ok(None));
        let Err(CreateSuperuserError::Invalid(errors)) =
            use_case(ports).execute(input("a-long-unusual-passphrase"))
        else {
            panic!("expected field errors")
        };
        assert_eq!(fields(&errors), vec!["username"]);
    }
}
