//! Text as Python sees it: the Django rules this crate ports are defined by Python's `\w`,
//! `str.isdigit` and `str.strip`, which differ from Rust's Unicode predicates at the edges.

use std::cmp::Ordering;
use std::ops::RangeInclusive;
use std::sync::LazyLock;

/// What Python's `\w` matches, so that attribute values split where Django splits them.
/// `char::is_alphanumeric` is wider: it also takes combining marks, which would keep a name such
/// as `हिन्दी` whole where Django cuts it into pieces.
pub(crate) static WORD_CHARACTERS: LazyLock<Vec<RangeInclusive<u32>>> =
    LazyLock::new(|| parse_code_point_ranges(include_str!("../data/python-word-characters.txt")));

/// What Python's `str.isdigit` accepts: decimal digits of every script plus forms such as `²`
/// and `①`, but not `½` or `Ⅻ`, which `char::is_numeric` would take.
pub(crate) static DIGIT_CHARACTERS: LazyLock<Vec<RangeInclusive<u32>>> =
    LazyLock::new(|| parse_code_point_ranges(include_str!("../data/python-digit-characters.txt")));

/// Python's `str.isdigit`.
pub(crate) fn is_python_digit(c: char) -> bool {
    in_ranges(&DIGIT_CHARACTERS, c)
}

pub(crate) fn is_word_character(c: char) -> bool {
    in_ranges(&WORD_CHARACTERS, c)
}

/// Python's `str.strip()` with no argument. Python counts the four ASCII information separators
/// (U+001C to U+001F) as whitespace; Unicode's `White_Space`, which `str::trim` uses, does not.
pub fn python_strip(text: &str) -> &str {
    text.trim_matches(|c: char| c.is_whitespace() || ('\u{1C}'..='\u{1F}').contains(&c))
}

fn in_ranges(ranges: &[RangeInclusive<u32>], c: char) -> bool {
    let code_point = u32::from(c);
    ranges
        .binary_search_by(|range| {
            if *range.end() < code_point {
                Ordering::Less
            } else if *range.start() > code_point {
                Ordering::Greater
            } else {
                Ordering::Equal
            }
        })
        .is_ok()
}

/// Reads a table in the Unicode Character Database's style: `0030..0039` or `00B9` per line,
/// `#` comments, in ascending order. The tables are compiled in, so a malformed one is a build
/// defect that the tests catch.
fn parse_code_point_ranges(table: &str) -> Vec<RangeInclusive<u32>> {
    table
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let (start, end) = line.split_once("..").unwrap_or((line, line));
            let parse = |hex: &str| {
                u32::from_str_radix(hex, 16).expect("code point tables hold hexadecimal numbers")
            };
            parse(start)..=parse(end)
        })
        .collect()
}
