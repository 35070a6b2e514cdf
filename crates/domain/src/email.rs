use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use thiserror::Error;

use crate::format_chars::has_control_or_bidi;

/// The most characters an email address may have (Django's `EmailField`).
pub const EMAIL_MAX_CHARS: usize = 254;

/// An email address accepted by Django's `EmailValidator`, with its domain part lower-cased as
/// Django's `normalize_email` does. Two addresses are the same account when they are equal
/// ignoring case (`same_address`), which the database enforces as well.
///
/// The rules hold for the address as typed and for its normalised form, which is what is
/// stored: lower-casing can lengthen a domain (`İ` becomes `i` and a combining dot), and an
/// address that passed only before normalising would be stored beyond the column's limit or fail
/// to parse when read back. So `parse(parse(x).as_str()) == parse(x)`. Control and bidirectional
/// formatting characters are refused, although Django lets control characters through in a
/// quoted local part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum EmailError {
    #[error("This field may not be blank.")]
    Blank,
    #[error("Ensure this field has no more than 254 characters.")]
    TooLong,
    #[error("Enter a valid email address.")]
    Invalid,
}

impl Email {
    /// Parses an address. A blank one reports only `Blank`; otherwise every rule that fails is
    /// reported, length first.
    pub fn parse(raw: &str) -> Result<Self, Vec<EmailError>> {
        if raw.is_empty() {
            return Err(vec![EmailError::Blank]);
        }
        let normalized = normalize(raw);
        let mut problems = Vec::new();
        if normalized.chars().count().max(raw.chars().count()) > EMAIL_MAX_CHARS {
            problems.push(EmailError::TooLong);
        }
        if !is_valid_address(raw)
            || !is_valid_address(&normalized)
            || has_control_or_bidi(&normalized)
        {
            problems.push(EmailError::Invalid);
        }
        if problems.is_empty() {
            Ok(Self(normalized))
        } else {
            Err(problems)
        }
    }

    /// No address: what Django stores for a user created without one (its `EmailField` is
    /// `blank=True`). Only ever read back from storage, for users imported from Django; the API
    /// refuses a blank address, so no request makes one.
    pub fn blank() -> Self {
        Self(String::new())
    }

    /// Whether this is [`Email::blank`]: there is no address to write to or to look up by.
    pub fn is_blank(&self) -> bool {
        self.0.is_empty()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether two addresses name the same mailbox for uniqueness purposes (case-insensitive).
    pub fn same_address(&self, other: &Email) -> bool {
        self.0.to_lowercase() == other.0.to_lowercase()
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Django's `normalize_email`: the domain part lower-cased, the local part kept.
fn normalize(raw: &str) -> String {
    match raw.rsplit_once('@') {
        Some((local, domain)) => format!("{local}@{}", domain.to_lowercase()),
        None => raw.to_owned(),
    }
}

/// Django 5.2's `EmailValidator`: at most 320 characters, a dot-atom or quoted local part, and a
/// domain that is `localhost`, a hostname with a TLD, or an IP literal in brackets.
fn is_valid_address(value: &str) -> bool {
    // RFC 3696 section 3, as Django cites it; counted in code points like Python's `len`.
    if value.is_empty() || value.chars().count() > 320 {
        return false;
    }
    let Some((user_part, domain_part)) = value.rsplit_once('@') else {
        return false;
    };
    // The allowlist is compared before any case folding, so `LOCALHOST` falls through to the
    // hostname rules and fails there for want of a TLD, as in Django.
    is_valid_user_part(user_part)
        && (domain_part == "localhost" || is_valid_domain_part(domain_part))
}

/// Django's `user_regex`: a dot-atom or a quoted string, each spanning the whole local part.
fn is_valid_user_part(user_part: &str) -> bool {
    is_dot_atom(user_part) || is_quoted_string(user_part)
}

fn is_dot_atom(text: &str) -> bool {
    text.split('.')
        .all(|atom| !atom.is_empty() && atom.chars().all(is_atext))
}

/// The quoted-string branch. `"` and `\` are outside `qtext`, so the string can be read left to
/// right without backtracking: `\` always opens a pair and `"` always closes the string.
fn is_quoted_string(text: &str) -> bool {
    let Some(inner) = text.strip_prefix('"') else {
        return false;
    };
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return chars.as_str().is_empty(),
            '\\' => match chars.next() {
                Some(escaped) if is_quoted_pair_char(escaped) => {}
                _ => return false,
            },
            _ if is_qtext(c) => {}
            _ => return false,
        }
    }
    false
}

/// ``[-!#$%&'*+/=?^_`{}|~0-9A-Z]`` under `re.IGNORECASE`.
fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-!#$%&'*+/=?^_`{}|~".contains(c) || folds_to_ascii_letter(c)
}

/// `[\001-\010\013\014\016-\037!#-\[\]-\177]` under `re.IGNORECASE`: printable ASCII and most
/// control characters, but not NUL, tab, line feed, carriage return, space, `"` or `\`.
fn is_qtext(c: char) -> bool {
    matches!(
        u32::from(c),
        0x01..=0x08 | 0x0B | 0x0C | 0x0E..=0x1F | 0x21 | 0x23..=0x5B | 0x5D..=0x7F
    ) || folds_to_ascii_letter(c)
}

/// `[\001-\011\013\014\016-\177]` under `re.IGNORECASE`: what may follow a backslash.
fn is_quoted_pair_char(c: char) -> bool {
    matches!(u32::from(c), 0x01..=0x09 | 0x0B | 0x0C | 0x0E..=0x7F) || folds_to_ascii_letter(c)
}

/// Python's case-insensitive matching lets these four stand for ASCII letters (`İ` and `ı` for
/// `i`, `ſ` for `s`, the Kelvin sign for `k`), so every ASCII-only class that contains letters
/// also accepts them.
fn folds_to_ascii_letter(c: char) -> bool {
    matches!(c, '\u{130}' | '\u{131}' | '\u{17F}' | '\u{212A}')
}

fn is_valid_domain_part(domain_part: &str) -> bool {
    is_hostname(domain_part) || is_address_literal(domain_part)
}

/// `hostname_re + domain_re + tld_no_fqdn_re`. No character class there contains `.`, so the
/// regex's labels are exactly the pieces between dots; a trailing dot leaves an empty TLD.
fn is_hostname(domain_part: &str) -> bool {
    let labels: Vec<&str> = domain_part.split('.').collect();
    let Some((tld, rest)) = labels.split_last() else {
        return false;
    };
    // `hostname_re` and the labels of `domain_re` accept the same strings: 1 to 63 characters,
    // no hyphen at either end.
    !rest.is_empty() && rest.iter().all(|label| is_label(label)) && is_tld(tld)
}

fn is_label(label: &str) -> bool {
    (1..=63).contains(&label.chars().count())
        && label.chars().all(|c| is_domain_char(c) || c == '-')
        && !label.starts_with('-')
        && !label.ends_with('-')
}

/// `(?!-)(?:[a-z\u00a1-\uffff-]{2,63}|xn--[a-z0-9]{1,59})(?<!-)`: letters only, unless the label
/// is punycode.
fn is_tld(label: &str) -> bool {
    if label.starts_with('-') || label.ends_with('-') {
        return false;
    }
    let letters = (2..=63).contains(&label.chars().count())
        && label
            .chars()
            .all(|c| c.is_ascii_alphabetic() || is_unicode_letter_range(c) || c == '-');
    letters || is_punycode_label(label)
}

fn is_punycode_label(label: &str) -> bool {
    let Some(prefix) = label.get(..4) else {
        return false;
    };
    let encoded = &label[4..];
    prefix.eq_ignore_ascii_case("xn--")
        && (1..=59).contains(&encoded.chars().count())
        && encoded
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || folds_to_ascii_letter(c))
}

/// `[a-z\u00a1-\uffff0-9]` under `re.IGNORECASE`.
fn is_domain_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || is_unicode_letter_range(c)
}

/// Django's `ul`. Despite the name it is a plain code point range: it takes punctuation,
/// symbols and digits from other scripts, and nothing outside the Basic Multilingual Plane.
fn is_unicode_letter_range(c: char) -> bool {
    ('\u{A1}'..='\u{FFFF}').contains(&c)
}

/// `\[([A-F0-9:.]+)\]` followed by `validate_ipv46_address`. There is no `IPv6:` tag: the class
/// has no room for it, so `[IPv6:::1]` is rejected as in Django.
fn is_address_literal(domain_part: &str) -> bool {
    let Some(address) = domain_part
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
    else {
        return false;
    };
    !address.is_empty()
        && address
            .chars()
            .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
        && (address.parse::<Ipv4Addr>().is_ok() || is_ipv6_address(address))
}

/// `django.utils.ipv6.is_valid_ipv6_address`, which refuses anything longer than 39 characters
/// before parsing, so a long form with an embedded IPv4 address does not pass.
fn is_ipv6_address(address: &str) -> bool {
    address.len() <= 39 && address.parse::<Ipv6Addr>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each address was checked against Django 5.2.19's `validate_email`.
    const VALID: &[&str] = &[
        "alice@example.com",
        "a.b+c@sub.example.co.uk",
        "\"quoted\"@example.com",
        "\"with\\ space\"@example.com",
        "\"a@b\"@example.com",
        "\"a\\\"b\"@example.com",
        "\"\"@example.com",
        "user@localhost",
        "user@[127.0.0.1]",
        "user@[::1]",
        "user@[::ffff:1.2.3.4]",
        "user@[::ffff:192.168.100.228]",
        "user@example.xn--p1ai",
        "user@bücher.de",
        "user@例え.テスト",
        "user@x.中中",
        "a@b.co",
        "user@EXAMPLE.COM",
        "kelvin\u{212A}@example.com",
    ];

    /// Each address was checked against Django 5.2.19's `validate_email`.
    const INVALID: &[&str] = &[
        "",
        "plainaddress",
        "@example.com",
        "alice@",
        "a@b",
        "a@-b.com",
        "a@b-.com",
        "a..b@example.com",
        ".a@example.com",
        "a.@example.com",
        "a\"b@example.com",
        "\"with space\"@example.com",
        "\"unterminated@example.com",
        "a@example.c",
        "a@example.com-",
        "a@example.com.",
        "a@example..com",
        "a@example.123",
        "a@b_c.com",
        "a@x.\u{1F600}\u{1F600}",
        "a@example.com\n",
        "user@LOCALHOST",
        "user@localhost.",
        "user@[IPv6:::1]",
        "user@[256.1.1.1]",
        "user@[01.2.3.4]",
        "user@[0000:0000:0000:0000:0000:ffff:192.168.100.228]",
    ];

    #[test]
    fn addresses_django_accepts_are_valid() {
        for address in VALID {
            assert!(is_valid_address(address), "{address:?} should be valid");
        }
    }

    #[test]
    fn addresses_django_rejects_are_invalid() {
        for address in INVALID {
            assert!(!is_valid_address(address), "{address:?} should be invalid");
        }
    }

    #[test]
    fn a_domain_label_may_have_63_characters_but_not_64() {
        assert!(is_valid_address(&format!("a@{}.com", "b".repeat(63))));
        assert!(!is_valid_address(&format!("a@{}.com", "b".repeat(64))));
        assert!(is_valid_address(&format!("a@example.{}", "c".repeat(63))));
        assert!(!is_valid_address(&format!("a@example.{}", "c".repeat(64))));
    }

    #[test]
    fn an_address_may_have_320_characters_but_not_321() {
        let at_limit = format!("{}@example.com", "a".repeat(308));
        assert_eq!(at_limit.chars().count(), 320);
        assert!(is_valid_address(&at_limit));
        assert!(!is_valid_address(&format!("a{at_limit}")));
    }

    #[test]
    fn the_address_is_split_at_its_last_at_sign() {
        assert!(is_valid_address("\"a@b\"@example.com"));
        assert!(!is_valid_address("a@b@example.com"));
    }

    #[test]
    fn parsing_lower_cases_the_domain_but_not_the_local_part() {
        let email = Email::parse("Alice.Smith@Example.COM").expect("valid address");
        assert_eq!(email.as_str(), "Alice.Smith@example.com");
        assert_eq!(email.to_string(), "Alice.Smith@example.com");
    }

    #[test]
    fn a_blank_address_reports_only_blank() {
        assert_eq!(Email::parse(""), Err(vec![EmailError::Blank]));
    }

    #[test]
    fn an_invalid_address_is_rejected() {
        assert_eq!(Email::parse("plainaddress"), Err(vec![EmailError::Invalid]));
    }

    #[test]
    fn an_address_of_254_characters_is_accepted() {
        let address = format!("{}@example.com", "a".repeat(242));
        assert_eq!(address.chars().count(), EMAIL_MAX_CHARS);
        assert!(Email::parse(&address).is_ok());
    }

    #[test]
    fn a_valid_address_of_255_characters_is_too_long() {
        let address = format!("{}@example.com", "a".repeat(243));
        assert_eq!(Email::parse(&address), Err(vec![EmailError::TooLong]));
    }

    #[test]
    fn an_invalid_address_of_255_characters_is_too_long_and_invalid() {
        let address = format!("{}@example", "a".repeat(247));
        assert_eq!(address.chars().count(), 255);
        assert_eq!(
            Email::parse(&address),
            Err(vec![EmailError::TooLong, EmailError::Invalid])
        );
    }

    #[test]
    fn length_is_counted_in_characters_not_bytes() {
        let label = "ü".repeat(63);
        let address = format!("a@{label}.{label}.{label}.de");
        assert!(address.len() > EMAIL_MAX_CHARS);
        assert!(Email::parse(&address).is_ok());
    }

    /// Addresses whose normalised form differs from what was typed: a domain that grows when
    /// lower-cased (`İ` becomes `i` and a combining dot), folds to ASCII (the Kelvin sign),
    /// or takes a final sigma.
    const TRICKY: &[&str] = &[
        "alice@example.com",
        "Alice@EXAMPLE.COM",
        "user@İstanbul.com",
        "user@x.İİ",
        "user@\u{212A}elvin.com",
        "user@ΣΟΦΙΑΣ.gr",
        "\"Quoted İ\"@İ.com",
        "user@bücher.de",
        "user@例え.テスト",
    ];

    #[test]
    fn parsing_is_idempotent() {
        let at_the_limits = [
            // 254 characters as typed, more once lower-cased.
            format!("{}@İİİİ.com", "a".repeat(245)),
            // A label of 32 characters as typed, 64 once lower-cased.
            format!("a@{}.com", "İ".repeat(32)),
            format!("{}@example.com", "a".repeat(242)),
        ];
        let inputs = TRICKY
            .iter()
            .copied()
            .chain(at_the_limits.iter().map(String::as_str));
        for raw in inputs {
            let once = Email::parse(raw);
            let twice = once.clone().and_then(|email| Email::parse(email.as_str()));
            assert_eq!(twice, once, "{raw:?}");
        }
    }

    #[test]
    fn parsing_is_idempotent_for_every_character_of_a_domain() {
        for c in ('\u{A1}'..='\u{FFFF}').filter(|c| !c.is_control()) {
            for raw in [format!("a@{c}{c}.com"), format!("a@example.{c}{c}")] {
                let once = Email::parse(&raw);
                let twice = once.clone().and_then(|email| Email::parse(email.as_str()));
                assert_eq!(twice, once, "{raw:?}");
            }
        }
    }

    #[test]
    fn the_length_limit_applies_to_the_normalised_address() {
        // 254 characters as typed; lower-cased, each `İ` becomes two code points.
        let address = format!("{}@İİİİ.com", "a".repeat(245));
        assert_eq!(address.chars().count(), EMAIL_MAX_CHARS);
        assert_eq!(Email::parse(&address), Err(vec![EmailError::TooLong]));
    }

    #[test]
    fn a_domain_label_is_measured_after_normalisation() {
        let label = "İ".repeat(32);
        assert_eq!(
            Email::parse(&format!("a@{label}.com")),
            Err(vec![EmailError::Invalid])
        );
    }

    #[test]
    fn control_and_bidi_characters_make_an_address_invalid() {
        for raw in [
            "\"a\u{1}b\"@example.com",
            "\"a\u{7f}b\"@example.com",
            "user@exa\u{202e}mple.com",
            "user@example.\u{2066}com\u{2069}",
            "user@ex\u{200f}ample.com",
            "user@ex\u{200e}ample.com",
            "user@ex\u{202a}ample.com",
            "user@ex\u{85}ample.com",
        ] {
            assert_eq!(Email::parse(raw), Err(vec![EmailError::Invalid]), "{raw:?}");
        }
    }

    #[test]
    fn addresses_that_differ_only_in_case_are_the_same_address() {
        let lower = Email::parse("alice@example.com").expect("valid address");
        let mixed = Email::parse("ALICE@Example.com").expect("valid address");
        let other = Email::parse("bob@example.com").expect("valid address");
        assert!(lower.same_address(&mixed));
        assert!(mixed.same_address(&lower));
        assert!(!lower.same_address(&other));
    }
}
