//! Characters refused in usernames, names and e-mail addresses: they are invisible or reorder
//! what a reader sees, so they make look-alikes of other accounts or garble where the value is
//! shown (an admin list, a log line, an e-mail header).

/// Control characters (Unicode category Cc) and the bidirectional formatting characters: the
/// embeddings and overrides U+202A to U+202E, the isolates U+2066 to U+2069, and the marks
/// U+200E, U+200F and U+061C.
pub(crate) fn is_control_or_bidi(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}'
        )
}

pub(crate) fn has_control_or_bidi(text: &str) -> bool {
    text.chars().any(is_control_or_bidi)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_bidi_formatting_are_refused_and_other_format_characters_are_not() {
        for c in [
            '\0', '\t', '\u{1b}', '\u{7f}', '\u{85}', '\u{9f}', '\u{202a}', '\u{202e}',
        ] {
            assert!(is_control_or_bidi(c), "{c:?}");
        }
        for c in ['\u{2066}', '\u{2069}', '\u{200e}', '\u{200f}', '\u{61c}'] {
            assert!(is_control_or_bidi(c), "{c:?}");
        }
        // Joiners are needed to spell words in several scripts.
        for c in [
            'a', ' ', '\u{a0}', '\u{200c}', '\u{200d}', '\u{2065}', '\u{202f}',
        ] {
            assert!(!is_control_or_bidi(c), "{c:?}");
        }
    }
}
