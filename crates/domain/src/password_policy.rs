//! Django's four default password validators, with Django's messages.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use thiserror::Error;

use crate::Password;
use crate::python_text::{is_python_digit, is_word_character, python_strip};

/// The fields a password must not be too similar to.
#[derive(Debug, Clone, Copy, Default)]
pub struct UserAttributes<'a> {
    pub username: &'a str,
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub email: &'a str,
}

/// One reason a password is too weak. `Display` is Django's message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum PasswordProblem {
    #[error("The password is too similar to the username.")]
    SimilarToUsername,
    #[error("The password is too similar to the first name.")]
    SimilarToFirstName,
    #[error("The password is too similar to the last name.")]
    SimilarToLastName,
    #[error("The password is too similar to the email address.")]
    SimilarToEmail,
    #[error("This password is too short. It must contain at least 8 characters.")]
    TooShort,
    #[error("This password is too common.")]
    TooCommon,
    #[error("This password is entirely numeric.")]
    EntirelyNumeric,
}

/// Runs Django's default validators in Django's order (attribute similarity, minimum length,
/// common passwords, numeric) and reports every one that fails.
pub fn check_password_strength(
    password: &Password,
    user: &UserAttributes<'_>,
) -> Result<(), Vec<PasswordProblem>> {
    let password = password.expose();
    let problems: Vec<PasswordProblem> = [
        similar_attribute(password, user),
        is_too_short(password).then_some(PasswordProblem::TooShort),
        is_too_common(password).then_some(PasswordProblem::TooCommon),
        is_entirely_numeric(password).then_some(PasswordProblem::EntirelyNumeric),
    ]
    .into_iter()
    .flatten()
    .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// `UserAttributeSimilarityValidator`'s default threshold.
const MAX_SIMILARITY: f64 = 0.7;

/// `MinimumLengthValidator`'s default.
const MIN_LENGTH: usize = 8;

/// Django's bundled list, already lower-cased; see `data/README.md`.
static COMMON_PASSWORDS: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("../data/common-passwords.txt")
        .lines()
        .map(python_strip)
        .collect()
});

/// `UserAttributeSimilarityValidator`. Django raises on the first part that is too similar, so
/// at most one attribute is ever reported.
fn similar_attribute(password: &str, user: &UserAttributes<'_>) -> Option<PasswordProblem> {
    let password: Vec<char> = password.to_lowercase().chars().collect();
    let attributes = [
        (user.username, PasswordProblem::SimilarToUsername),
        (user.first_name, PasswordProblem::SimilarToFirstName),
        (user.last_name, PasswordProblem::SimilarToLastName),
        (user.email, PasswordProblem::SimilarToEmail),
    ];
    attributes
        .into_iter()
        .filter(|(value, _)| !value.is_empty())
        .find(|(value, _)| {
            let value = value.to_lowercase();
            let mut parts = split_on_non_word_runs(&value);
            parts.push(&value);
            parts.into_iter().any(|part| {
                let part: Vec<char> = part.chars().collect();
                !exceeds_maximum_length_ratio(password.len(), part.len())
                    && quick_ratio(&password, &part) >= MAX_SIMILARITY
            })
        })
        .map(|(_, problem)| problem)
}

/// Django skips a part so much shorter than the password that `quick_ratio` could not reach the
/// threshold. The bound is computed in floating point as Django computes it, so borderline
/// lengths fall on the same side.
fn exceeds_maximum_length_ratio(password_len: usize, value_len: usize) -> bool {
    let length_bound_similarity = MAX_SIMILARITY / 2.0 * password_len as f64;
    password_len >= 10 * value_len && (value_len as f64) < length_bound_similarity
}

/// `difflib.SequenceMatcher(a=a, b=b).quick_ratio()`: twice the size of the multiset
/// intersection of the characters over the total length, ignoring order.
fn quick_ratio(a: &[char], b: &[char]) -> f64 {
    let mut available: HashMap<char, usize> = HashMap::new();
    for &c in b {
        *available.entry(c).or_default() += 1;
    }
    let mut matches = 0_usize;
    for c in a {
        if let Some(count) = available.get_mut(c).filter(|count| **count > 0) {
            *count -= 1;
            matches += 1;
        }
    }
    let length = a.len() + b.len();
    if length == 0 {
        1.0
    } else {
        2.0 * matches as f64 / length as f64
    }
}

/// `re.split(r"\W+", value)`: runs of non-word characters separate the parts, and a run at
/// either end leaves an empty part there.
fn split_on_non_word_runs(value: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut in_separator = false;
    for (index, c) in value.char_indices() {
        if is_word_character(c) {
            if in_separator {
                start = index;
                in_separator = false;
            }
        } else if !in_separator {
            parts.push(&value[start..index]);
            in_separator = true;
        }
    }
    parts.push(if in_separator { "" } else { &value[start..] });
    parts
}

/// `MinimumLengthValidator`: Python's `len`, which counts code points.
fn is_too_short(password: &str) -> bool {
    password.chars().count() < MIN_LENGTH
}

/// `CommonPasswordValidator`: `password.lower().strip()` looked up in the list.
fn is_too_common(password: &str) -> bool {
    COMMON_PASSWORDS.contains(python_strip(&password.to_lowercase()))
}

/// `NumericPasswordValidator`: Python's `str.isdigit`.
fn is_entirely_numeric(password: &str) -> bool {
    !password.is_empty() && password.chars().all(is_python_digit)
}

#[cfg(test)]
mod tests {
    use super::PasswordProblem::{
        EntirelyNumeric, SimilarToEmail, SimilarToFirstName, SimilarToLastName, SimilarToUsername,
        TooCommon, TooShort,
    };
    use super::*;
    use crate::python_text::{DIGIT_CHARACTERS, WORD_CHARACTERS};

    type Case = (&'static str, [&'static str; 4], &'static [PasswordProblem]);

    /// Password, then username, first name, last name and email, then the problems reported.
    /// The expected problems were produced by Django 5.2.19 (Python 3.11): `validate_password`
    /// with the four default validators and an unsaved `User` holding the attributes.
    const DJANGO_CASES: &[Case] = &[
        ("correct-horse-battery", ["", "", "", ""], &[]),
        ("12345678", ["", "", "", ""], &[TooCommon, EntirelyNumeric]),
        (
            "123",
            ["", "", "", ""],
            &[TooShort, TooCommon, EntirelyNumeric],
        ),
        ("x7#kq", ["", "", "", ""], &[TooShort]),
        ("password", ["", "", "", ""], &[TooCommon]),
        ("PassWord", ["", "", "", ""], &[TooCommon]),
        ("  password  ", ["", "", "", ""], &[TooCommon]),
        (" 12345678 ", ["", "", "", ""], &[TooCommon]),
        ("\u{1c}password", ["", "", "", ""], &[TooCommon]),
        ("        ", ["", "", "", ""], &[]),
        ("9081726354192", ["", "", "", ""], &[EntirelyNumeric]),
        ("٣٣٣٣٣٣٣٣٣", ["", "", "", ""], &[EntirelyNumeric]),
        ("²³¹²³¹²³¹", ["", "", "", ""], &[EntirelyNumeric]),
        ("½½½½½½½½½", ["", "", "", ""], &[]),
        ("пароль", ["", "", "", ""], &[TooShort, TooCommon]),
        (
            "alice12345",
            ["alice1234", "", "", ""],
            &[SimilarToUsername],
        ),
        (
            "Margaretha9",
            ["", "Margaretha", "", ""],
            &[SimilarToFirstName],
        ),
        (
            "vanderbilt!",
            ["", "", "Vanderbilt", ""],
            &[SimilarToLastName],
        ),
        (
            "jsmith2024",
            ["", "", "", "jsmith@example.com"],
            &[SimilarToEmail],
        ),
        (
            "examplecom",
            ["", "", "", "x@example.com"],
            &[SimilarToEmail],
        ),
        (
            "doe99",
            ["john.doe", "", "", ""],
            &[SimilarToUsername, TooShort],
        ),
        (
            "bobsmith99",
            ["bobsmith", "bob", "smith", "bobsmith@x.io"],
            &[SimilarToUsername],
        ),
        (
            "smith1999",
            ["zed", "bob", "smith", "smith@x.io"],
            &[SimilarToLastName],
        ),
        (
            "abcdefgxyz",
            ["abcdefgpqr", "", "", ""],
            &[SimilarToUsername],
        ),
        ("abcdefwxyz", ["abcdefgpqr", "", "", ""], &[]),
        ("qqqqqqqqqqqqqqqqqqqq", ["q", "", "", ""], &[]),
        ("qqqqqqqqq", ["q", "", "", ""], &[]),
        (
            "q",
            ["q", "", "", ""],
            &[SimilarToUsername, TooShort, TooCommon],
        ),
        ("ΣΟΦΊΑ!!!", ["", "Σοφία", "", ""], &[SimilarToFirstName]),
        ("ΣΟΦΙΑ2024", ["", "Σοφία", "", ""], &[]),
        ("İstanbul99", ["istanbul", "", "", ""], &[SimilarToUsername]),
        (
            "ह",
            ["", "ह\u{93f}न\u{94d}द\u{940}", "", ""],
            &[SimilarToFirstName, TooShort],
        ),
        (
            "password1",
            ["password1", "", "", ""],
            &[SimilarToUsername, TooCommon],
        ),
        (
            "s3cure-Zebra-hat",
            ["alice", "Alice", "Liddell", "alice@example.com"],
            &[],
        ),
        // The cases below come from the validators' definitions rather than a Django run.
        (
            "correct-horse-battery",
            ["alice", "Alice", "Liddell", "alice@example.com"],
            &[],
        ),
        // Length: eight code points, not bytes.
        ("x7#kq!z", ["", "", "", ""], &[TooShort]),
        ("x7#kq!zw", ["", "", "", ""], &[]),
        ("ééééééé", ["", "", "", ""], &[TooShort]),
        ("éééééééé", ["", "", "", ""], &[]),
        // Common: whatever the case, inside Python's white space (which includes U+001F).
        ("sunshine", ["", "", "", ""], &[TooCommon]),
        ("SunShine", ["", "", "", ""], &[TooCommon]),
        ("\tsunshine\n", ["", "", "", ""], &[TooCommon]),
        ("\u{1f}sunshine\u{3000}", ["", "", "", ""], &[TooCommon]),
        // Checked as given: the spaces count for length and keep it from being numeric.
        (" 123 ", ["", "", "", ""], &[TooShort, TooCommon]),
        ("ⅫⅫⅫⅫⅫⅫⅫⅫⅫ", ["", "", "", ""], &[]),
        // Empty attributes are skipped.
        ("Margaretha9", ["", "", "", ""], &[]),
    ];

    fn check(password: &str, attributes: [&str; 4]) -> Vec<PasswordProblem> {
        let [username, first_name, last_name, email] = attributes;
        let user = UserAttributes {
            username,
            first_name,
            last_name,
            email,
        };
        let password = Password::new(password.to_owned()).expect("test passwords are not blank");
        check_password_strength(&password, &user)
            .err()
            .unwrap_or_default()
    }

    #[test]
    fn every_case_gives_the_problems_django_gives() {
        for (password, attributes, expected) in DJANGO_CASES {
            assert_eq!(
                check(password, *attributes),
                *expected,
                "password {password:?} with {attributes:?}"
            );
        }
    }

    #[test]
    fn a_part_ten_times_shorter_than_the_password_is_not_compared() {
        assert!(exceeds_maximum_length_ratio(10, 1));
        assert!(!exceeds_maximum_length_ratio(9, 1));
        assert!(exceeds_maximum_length_ratio(20, 2));
        assert!(!exceeds_maximum_length_ratio(29, 3));
        assert!(exceeds_maximum_length_ratio(30, 3));
    }

    #[test]
    fn quick_ratio_matches_difflib() {
        let chars = |text: &str| text.chars().collect::<Vec<_>>();
        assert!((quick_ratio(&chars("abcd"), &chars("bcde")) - 0.75).abs() < f64::EPSILON);
        assert!((quick_ratio(&chars("aab"), &chars("abb")) - 2.0 * 2.0 / 6.0).abs() < f64::EPSILON);
        assert!((quick_ratio(&[], &[]) - 1.0).abs() < f64::EPSILON);
    }

    #[test]
    fn attribute_values_split_on_runs_of_non_word_characters() {
        assert_eq!(split_on_non_word_runs("a@@b.c"), ["a", "b", "c"]);
        assert_eq!(split_on_non_word_runs("@a."), ["", "a", ""]);
        assert_eq!(split_on_non_word_runs("john_doe"), ["john_doe"]);
        assert_eq!(split_on_non_word_runs(""), [""]);
    }

    #[test]
    fn combining_marks_split_attribute_values_as_in_python() {
        assert_eq!(
            split_on_non_word_runs("ह\u{93f}न\u{94d}द\u{940}"),
            ["ह", "न", "द", ""]
        );
        assert_eq!(split_on_non_word_runs("jose\u{301}"), ["jose", ""]);
    }

    #[test]
    fn python_strip_also_removes_information_separators() {
        assert_eq!(python_strip("\u{1c}\u{1d} a b \u{1e}\u{1f}\u{a0}"), "a b");
    }

    #[test]
    fn the_common_password_list_is_djangos_whole_list() {
        assert_eq!(COMMON_PASSWORDS.len(), 19_640);
        assert!(COMMON_PASSWORDS.contains("friend of emily"));
        assert!(COMMON_PASSWORDS.contains("пароль"));
    }

    #[test]
    fn the_code_point_tables_are_sorted_and_disjoint() {
        for table in [&*WORD_CHARACTERS, &*DIGIT_CHARACTERS] {
            assert!(!table.is_empty());
            assert!(table.iter().all(|range| range.start() <= range.end()));
            assert!(table.windows(2).all(|pair| pair[0].end() < pair[1].start()));
        }
        assert!(is_word_character('_'));
        assert!(is_word_character('中'));
        assert!(!is_word_character('-'));
    }
}
