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

/// A name written to start a line ("Team meeting or huddle", "Physiotherapist") as it reads
/// mid-sentence: the first letter lowered when the first word is an ordinary capitalised word;
/// acronyms and names such as "NHS" or "ICS board" are left alone.
pub fn mid_sentence(name: &str) -> String {
    let first = name.split([' ', '-']).next().unwrap_or("");
    let mut chars = first.chars();
    let ordinary = chars.next().is_some_and(char::is_uppercase)
        && first.chars().count() > 1
        && chars.all(|c| !c.is_uppercase());
    if !ordinary {
        return name.to_string();
    }
    let mut out = String::with_capacity(name.len());
    let mut it = name.chars();
    if let Some(c) = it.next() {
        out.extend(c.to_lowercase());
    }
    out.extend(it);
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

    /// Capitals mid-sentence: ordinary words lowered, acronyms kept.
    #[test]
    fn names_mid_sentence() {
        assert_eq!(
            mid_sentence("Team meeting or huddle"),
            "team meeting or huddle"
        );
        assert_eq!(mid_sentence("Physiotherapist"), "physiotherapist");
        assert_eq!(
            mid_sentence("One-to-one with my manager"),
            "one-to-one with my manager"
        );
        assert_eq!(mid_sentence("ICS board"), "ICS board");
        assert_eq!(
            mid_sentence("NHS Practitioner Health"),
            "NHS Practitioner Health"
        );
        assert_eq!(mid_sentence(""), "");
    }

    #[test]
    fn shortens_with_ellipsis() {
        assert_eq!(shorten("abcdef", 4), "abc…");
        assert_eq!(shorten("abc", 4), "abc");
    }
}
