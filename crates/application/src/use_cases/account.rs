//! Parsing and checking of an account's fields, shared by registration, `createsuperuser` and login.

use domain::{
    Email, NewUser, Password, PersonName, Phone, UserAttributes, Username, check_password_strength,
};

use crate::ports::{CreateUserError, RepositoryError, UserRepository};
use crate::validation::FieldErrors;

pub(crate) const USERNAME_TAKEN: &str = "A user with that username already exists.";
pub(crate) const EMAIL_TAKEN: &str = "A user with that email already exists.";
pub(crate) const PASSWORDS_DIFFER: &str = "Password fields didn't match.";

/// Parses a username and checks that it is free, recording every problem under `username`.
pub(crate) fn parse_new_username(
    users: &dyn UserRepository,
    raw: Option<String>,
    errors: &mut FieldErrors,
) -> Result<Option<Username>, RepositoryError> {
    let Some(raw) = raw else { return Ok(None) };
    match Username::parse(&raw) {
        Ok(username) => {
            if users.find_by_username(username.as_str())?.is_some() {
                errors.add(&["username"], USERNAME_TAKEN);
                return Ok(None);
            }
            Ok(Some(username))
        }
        Err(problems) => {
            for problem in problems {
                errors.add(&["username"], problem.to_string());
            }
            Ok(None)
        }
    }
}

/// Parses an email and checks that no other account has it, ignoring case.
pub(crate) fn parse_free_email(
    users: &dyn UserRepository,
    raw: Option<String>,
    field: &[&'static str],
    owner: Option<domain::UserId>,
    errors: &mut FieldErrors,
) -> Result<Option<Email>, RepositoryError> {
    let Some(raw) = raw else { return Ok(None) };
    match Email::parse(&raw) {
        Ok(email) => match users.find_by_email(&email)? {
            Some(holder) if Some(holder.id) != owner => {
                errors.add(field, EMAIL_TAKEN);
                Ok(None)
            }
            _ => Ok(Some(email)),
        },
        Err(problems) => {
            for problem in problems {
                errors.add(field, problem.to_string());
            }
            Ok(None)
        }
    }
}

pub(crate) fn parse_name(
    raw: Option<String>,
    field: &[&'static str],
    errors: &mut FieldErrors,
) -> Option<PersonName> {
    PersonName::parse(&raw?)
        .map_err(|problem| errors.add(field, problem.to_string()))
        .ok()
}

pub(crate) fn parse_phone(
    raw: Option<String>,
    field: &[&'static str],
    errors: &mut FieldErrors,
) -> Option<Phone> {
    Phone::parse(&raw?)
        .map_err(|problem| errors.add(field, problem.to_string()))
        .ok()
}

pub(crate) fn parse_password(
    raw: Option<String>,
    field: &'static str,
    errors: &mut FieldErrors,
) -> Option<Password> {
    Password::new(raw?)
        .map_err(|problem| errors.add(&[field], problem.to_string()))
        .ok()
}

/// The fields of an account once each has been parsed on its own.
#[derive(Debug)]
pub(crate) struct AccountFields {
    pub username: Username,
    pub email: Email,
    pub password: Password,
    pub first_name: PersonName,
    pub last_name: PersonName,
}

/// Django's password validators, which need the other fields; run only once those are valid.
pub(crate) fn check_strength(account: &AccountFields) -> Result<(), FieldErrors> {
    let attributes = UserAttributes {
        username: account.username.as_str(),
        first_name: account.first_name.as_str(),
        last_name: account.last_name.as_str(),
        email: account.email.as_str(),
    };
    check_password_strength(&account.password, &attributes).map_err(|problems| {
        let mut errors = FieldErrors::new();
        for problem in problems {
            errors.add(&["password"], problem.to_string());
        }
        errors
    })
}

/// A lost race with a concurrent registration surfaces here rather than in the read-before-write
/// checks above; it reads the same to the client.
pub(crate) fn taken_to_field_errors(
    error: CreateUserError,
) -> Result<FieldErrors, RepositoryError> {
    match error {
        CreateUserError::UsernameTaken => Ok(FieldErrors::single_at(&["username"], USERNAME_TAKEN)),
        CreateUserError::EmailTaken => Ok(FieldErrors::single_at(&["email"], EMAIL_TAKEN)),
        CreateUserError::Repository(error) => Err(error),
    }
}

pub(crate) fn new_user(
    account: AccountFields,
    password_hash: domain::PasswordHash,
    phone: Phone,
    superuser: bool,
    joined_at: chrono::DateTime<chrono::Utc>,
) -> NewUser {
    NewUser {
        username: account.username,
        email: account.email,
        password_hash,
        first_name: account.first_name,
        last_name: account.last_name,
        phone,
        is_staff: superuser,
        is_superuser: superuser,
        joined_at,
        // `createsuperuser`'s accounts are trusted as Django's admin-made ones are.
        email_verified: superuser,
    }
}
