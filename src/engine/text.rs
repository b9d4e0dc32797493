//! Cleaning what people type before the engine sees it.

/// The longest message the bot accepts; longer ones get a polite refusal and change nothing.
pub const MAX_INPUT_CHARS: usize = 4000;

/// Removes control characters (keeping newlines and tabs as spaces-or-newlines), bidirectional
/// overrides and zero-width characters, and trims. Markup is left alone: it is only text here,
/// and every renderer escapes it for its platform.
pub fn clean(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    for c in input.chars() {
        match c {
            '\n' => out.push('\n'),
            '\t' | '\r' => out.push(' '),
            c if c.is_control() => {}
            '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2066}'..='\u{2069}'
            | '\u{FEFF}' => {}
            c => out.push(c),
        }
    }
    out.trim().to_string()
}

/// Shortens a text to at most `max` characters, ending with an ellipsis when cut.
pub fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_controls_and_invisible_characters() {
        assert_eq!(
            clean("  a\u{0}b\u{7}c\u{202E}d\u{200B}e\r\n f "),
            "abcde \n f"
        );
    }

    #[test]
    fn shortens_with_ellipsis() {
        assert_eq!(shorten("abcdef", 4), "abc…");
        assert_eq!(shorten("abc", 4), "abc");
    }
}
