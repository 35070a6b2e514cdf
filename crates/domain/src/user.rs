use std::fmt;

use chrono::{DateTime, Utc};
use thiserror::Error;
use unicode_normalization::UnicodeNormalization;

use crate::format_chars::has_control_or_bidi;
use crate::python_text::is_word_character;

/// The most characters a username may have (Django's `AbstractUser.username`).
pub const USERNAME_MAX_CHARS: usize = 150;
/// The most characters a first or last name may have.
pub const NAME_MAX_CHARS: usize = 150;
/// The most characters a phone number may have.
pub const PHONE_MAX_CHARS: usize = 20;

/// A user's primary key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserId(i64);

impl UserId {
    pub const fn new(id: i64) -> Self {
        Self(id)
    }

    pub const fn get(self) -> i64 {
        self.0
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A login name: 1 to 150 letters, digits and `@.+-_` (Unicode letters and digits allowed, as
/// Django's `UnicodeUsernameValidator`). Compared case-sensitively.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Username(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum UsernameError {
    #[error("This field may not be blank.")]
    Blank,
    #[error("Ensure this field has no more than 150 characters.")]
    TooLong,
    #[error(
        "Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters."
    )]
    InvalidCharacters,
}

impl Username {
    /// Parses a username, normalised to NFKC as Django's `normalize_username` does so that
    /// look-alike spellings (`ﬁx`, `fix`) are one account. A blank one reports only `Blank`;
    /// otherwise every rule that fails is reported, in the order DRF runs the validators.
    pub fn parse(raw: &str) -> Result<Self, Vec<UsernameError>> {
        if raw.is_empty() {
            return Err(vec![UsernameError::Blank]);
        }
        let normalized = Self::normalize(raw);
        let mut problems = Vec::new();
        if !normalized.chars().all(is_username_char) {
            problems.push(UsernameError::InvalidCharacters);
        }
        if normalized.chars().count() > USERNAME_MAX_CHARS {
            problems.push(UsernameError::TooLong);
        }
        if problems.is_empty() {
            Ok(Self(normalized))
        } else {
            Err(problems)
        }
    }

    /// NFKC, the form usernames are stored and looked up in, for input that need not be a
    /// valid username (what someone typed at login).
    pub fn normalize(raw: &str) -> String {
        raw.nfkc().collect()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Django's `UnicodeUsernameValidator`: `^[\w.@+-]+\Z` with Python's `\w`, which (unlike
/// `char::is_alphanumeric`) excludes combining marks.
fn is_username_char(c: char) -> bool {
    is_word_character(c) || matches!(c, '.' | '@' | '+' | '-')
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A first or last name: at most 150 characters, may be empty, and free of control and
/// bidirectional formatting characters.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PersonName(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum NameError {
    #[error("Ensure this field has no more than 150 characters.")]
    TooLong,
    /// A control or bidirectional formatting character; the wording of Django's generic
    /// `RegexValidator`.
    #[error("Enter a valid value.")]
    Invalid,
}

impl PersonName {
    /// Reports `TooLong` before `Invalid`, one problem at most, as DRF stops at the first
    /// failing validator of a field.
    pub fn parse(raw: &str) -> Result<Self, NameError> {
        if raw.chars().count() > NAME_MAX_CHARS {
            return Err(NameError::TooLong);
        }
        if has_control_or_bidi(raw) {
            return Err(NameError::Invalid);
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A phone number as the user typed it: at most 20 characters, may be empty.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Phone(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum PhoneError {
    #[error("Ensure this field has no more than 20 characters.")]
    TooLong,
}

impl Phone {
    pub fn parse(raw: &str) -> Result<Self, PhoneError> {
        if raw.chars().count() > PHONE_MAX_CHARS {
            return Err(PhoneError::TooLong);
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What is needed to create a user and its profile.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: Username,
    pub email: super::Email,
    pub password_hash: super::PasswordHash,
    pub first_name: PersonName,
    pub last_name: PersonName,
    pub phone: Phone,
    pub is_staff: bool,
    pub is_superuser: bool,
    pub joined_at: DateTime<Utc>,
    /// Whether the address is known to be the user's (`createsuperuser`, or a verified link).
    pub email_verified: bool,
}

/// A stored account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub username: Username,
    pub email: super::Email,
    pub password_hash: super::PasswordHash,
    pub first_name: PersonName,
    pub last_name: PersonName,
    pub is_active: bool,
    pub is_staff: bool,
    pub is_superuser: bool,
    pub date_joined: DateTime<Utc>,
    pub last_login: Option<DateTime<Utc>>,
    /// Whether `email` was proven to be the user's (by a verification link, or because an
    /// administrator created the account).
    pub email_verified: bool,
    /// An address the user asked to change to; it takes effect once verified.
    pub pending_email: Option<super::Email>,
}

/// A user's profile, one per user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub id: i64,
    pub user_id: UserId,
    pub phone: Phone,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_username_of_150_allowed_characters_parses() {
        let name = "a".repeat(146) + "@.+-";
        assert_eq!(Username::parse(&name).map(|u| u.as_str().len()), Ok(150));
    }

    #[test]
    fn a_username_of_151_characters_is_too_long() {
        assert_eq!(
            Username::parse(&"a".repeat(151)),
            Err(vec![UsernameError::TooLong])
        );
    }

    #[test]
    fn a_username_with_a_space_or_slash_is_refused() {
        for raw in ["bad name", "a/b", "x!", "semi;colon"] {
            assert_eq!(
                Username::parse(raw),
                Err(vec![UsernameError::InvalidCharacters]),
                "{raw}"
            );
        }
    }

    #[test]
    fn a_long_username_with_bad_characters_reports_both_problems() {
        let raw = " ".repeat(151);
        assert_eq!(
            Username::parse(&raw),
            Err(vec![
                UsernameError::InvalidCharacters,
                UsernameError::TooLong
            ])
        );
    }

    #[test]
    fn unicode_letters_and_digits_are_allowed_in_usernames() {
        assert!(Username::parse("Zoë_ünïcode٣").is_ok());
    }

    #[test]
    fn usernames_are_normalised_to_nfkc() {
        assert_eq!(
            Username::parse("\u{FB01}x").map(|u| u.as_str().to_owned()),
            Ok("fix".to_owned())
        );
        assert_eq!(
            Username::parse("ｆｕｌｌ").map(|u| u.as_str().to_owned()),
            Ok("full".to_owned())
        );
    }

    #[test]
    fn combining_marks_are_not_word_characters_as_in_django() {
        assert_eq!(
            Username::parse("\u{915}\u{93F}"),
            Err(vec![UsernameError::InvalidCharacters])
        );
    }

    #[test]
    fn an_empty_username_is_blank() {
        assert_eq!(Username::parse(""), Err(vec![UsernameError::Blank]));
    }

    #[test]
    fn usernames_keep_their_case() {
        let upper = Username::parse("Alice").expect("valid");
        let lower = Username::parse("alice").expect("valid");
        assert_ne!(upper, lower);
    }

    #[test]
    fn a_phone_of_20_characters_parses_and_21_does_not() {
        assert!(Phone::parse(&"1".repeat(20)).is_ok());
        assert_eq!(Phone::parse(&"1".repeat(21)), Err(PhoneError::TooLong));
        assert_eq!(
            Phone::parse("").map(|p| p.as_str().to_owned()),
            Ok(String::new())
        );
    }

    #[test]
    fn control_and_bidi_characters_make_a_name_invalid() {
        for raw in [
            "Ali\u{202e}ce",
            "\u{202a}Alice",
            "Alice\u{202d}",
            "\u{2066}Alice\u{2069}",
            "\u{2067}Alice",
            "\u{2068}Alice",
            "Al\u{200e}ice",
            "Al\u{200f}ice",
            "Al\u{0}ice",
            "Al\tice",
            "Al\nice",
            "Al\u{7f}ice",
            "Al\u{9b}ice",
        ] {
            assert_eq!(PersonName::parse(raw), Err(NameError::Invalid), "{raw:?}");
        }
        assert!(PersonName::parse("Zoë O'Brien-Łukasz").is_ok());
        assert!(PersonName::parse("עִבְרִית").is_ok());
    }

    #[test]
    fn control_and_bidi_characters_make_a_username_invalid() {
        for raw in [
            "bob\u{202e}",
            "\u{2066}bob",
            "bo\u{200f}b",
            "bo\u{7}b",
            "bob\u{0}",
        ] {
            assert_eq!(
                Username::parse(raw),
                Err(vec![UsernameError::InvalidCharacters]),
                "{raw:?}"
            );
        }
    }

    #[test]
    fn names_may_be_empty_but_not_longer_than_150_characters() {
        assert!(PersonName::parse("").is_ok());
        assert!(PersonName::parse(&"é".repeat(150)).is_ok());
        assert_eq!(PersonName::parse(&"é".repeat(151)), Err(NameError::TooLong));
    }
}
