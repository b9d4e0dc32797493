//! Rendering messages as plain text, for the terminal chat and transcript tests.
//!
//! Platform adapters have their own renderers (escaping, length limits, button layouts); this
//! one is the reference: every block on its own lines, buttons numbered `[1] Label` so they can
//! be chosen by typing the number or the label.

use crate::engine::Message;

/// A message as plain text lines, buttons last (the engine's [`Message::plain_text`], so
/// every caller sees the same text).
pub fn plain(m: &Message) -> String {
    m.plain_text()
}

/// Several messages, separated by blank lines.
pub fn plain_all(ms: &[Message]) -> String {
    ms.iter().map(plain).collect::<Vec<_>>().join("\n\n")
}

/// Word-wraps plain text at `width` characters a line, for the terminal: a line that is too
/// long breaks at spaces, and its continuation lines are indented to where its text begins
/// (under a list item's text, not its bullet or number); the numbered buttons line breaks
/// between buttons. A word longer than the width stays whole on its own line.
pub fn wrap(text: &str, width: usize) -> String {
    let width = width.max(20);
    let mut out = Vec::new();
    for line in text.split('\n') {
        if line.chars().count() <= width {
            out.push(line.to_string());
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        let body = line.trim_start();
        // Under a list item's text: past "- " or "12. ".
        let marker = if body.starts_with("- ") {
            2
        } else {
            body.find(". ")
                .filter(|&i| i > 0 && body[..i].chars().all(|c| c.is_ascii_digit()))
                .map_or(0, |i| i + 2)
        };
        let hang = " ".repeat(indent + marker);
        let mut current = line[..indent].to_string();
        let mut len = indent;
        // The buttons line ("[1] Next  [2] Back") breaks between buttons, not inside one.
        let sep = if body.starts_with("[1] ") { "  " } else { " " };
        let mut first = true;
        for word in body.split(sep) {
            let w = word.chars().count();
            if !first && len + sep.len() + w > width {
                out.push(std::mem::take(&mut current));
                current = hang.clone();
                len = hang.len();
                first = true;
            }
            if !first {
                current.push_str(sep);
                len += sep.len();
            }
            current.push_str(word);
            len += w;
            first = false;
        }
        out.push(current);
    }
    out.join("\n")
}

/// Several messages as [`plain_all`] shows them, each text file's contents after the line
/// that names it: everything the person receives, for transcripts and tests.
pub fn plain_all_with_files(ms: &[Message]) -> String {
    ms.iter()
        .map(|m| match m.file.as_deref().map(|f| &f.body) {
            Some(crate::engine::FileBody::Text { text }) => format!("{}\n{text}", plain(m)),
            _ => plain(m),
        })
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// Splits plain text into pieces of at most `max` characters, preferring line breaks, then
/// spaces, and never splitting a character.
pub fn split_text(s: &str, max: usize) -> Vec<String> {
    split_text_by(s, max, |p: &str| p.chars().count())
}

/// Splits plain text into pieces whose length, as `len` measures a piece, is at most `max`:
/// cut at the last line break that fits, else the last space, else between two characters that
/// do not belong together (never before a combining mark, a variation selector, a skin tone or
/// after a zero-width joiner, when there is any other choice), and never inside a character.
/// Breaks and spaces at a cut are dropped; nothing else is.
///
/// `len` measures a piece as the platform will count it once rendered (UTF-16 units, characters
/// after escaping…). It must not shrink when a piece grows, and should count every character
/// as at least one: the longest prefix that fits is looked for among the first `max`
/// characters. A single character longer than `max` still makes a piece of its own.
pub fn split_text_by(s: &str, max: usize, len: impl Fn(&str) -> usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest: &str = s;
    while len(rest) > max {
        // Where each of the first `max` characters ends (at least one: a piece holds a
        // character, whatever it measures).
        let ends: Vec<usize> = rest
            .char_indices()
            .skip(1)
            .map(|(i, _)| i)
            .chain(std::iter::once(rest.len()))
            .take(max.max(1))
            .collect();
        // The longest prefix that fits (`len` grows with the prefix).
        let fits = ends.partition_point(|&e| len(&rest[..e]) <= max);
        let cut = ends[fits.saturating_sub(1)];
        let window = &rest[..cut];
        let at = window
            .rfind('\n')
            .filter(|i| *i > 0)
            .or_else(|| window.rfind(' ').filter(|i| *i > 0))
            .or_else(|| {
                if !joined(window, &rest[cut..]) {
                    return None;
                }
                ends[..fits.saturating_sub(1)]
                    .iter()
                    .rev()
                    .copied()
                    .find(|&e| !joined(&rest[..e], &rest[e..]))
            })
            .unwrap_or(cut);
        out.push(rest[..at].to_string());
        rest = rest[at..].trim_start_matches(['\n', ' ']);
    }
    if !rest.is_empty() || out.is_empty() {
        out.push(rest.to_string());
    }
    out
}

/// Whether the last character of `before` and the first of `after` are better kept together:
/// the second is a combining mark, a variation selector, a skin tone or a tag, or the first a
/// zero-width joiner (a rough stand-in for grapheme clusters, enough not to orphan an accent or
/// take an emoji sequence apart when there is another place to cut).
fn joined(before: &str, after: &str) -> bool {
    let (Some(a), Some(b)) = (before.chars().next_back(), after.chars().next()) else {
        return false;
    };
    a == '\u{200D}'
        || matches!(b,
            '\u{0300}'..='\u{036F}'
            | '\u{1AB0}'..='\u{1AFF}'
            | '\u{1DC0}'..='\u{1DFF}'
            | '\u{20D0}'..='\u{20FF}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FE20}'..='\u{FE2F}'
            | '\u{200D}'
            | '\u{1F3FB}'..='\u{1F3FF}'
            | '\u{E0020}'..='\u{E007F}'
            | '\u{E0100}'..='\u{E01EF}')
}

/// Joins the messages of one reply to one chat into as few as possible (each Telegram message
/// counts against the per-chat rate limit): consecutive messages are merged until one carries
/// buttons, which then close the merged message. A message with a file is never merged, with
/// what comes before or after it. (Callers only merge what goes to one chat.)
pub fn merge(messages: &[Message]) -> Vec<Message> {
    let mut out: Vec<Message> = Vec::new();
    let mut open = false;
    for m in messages {
        match out.last_mut() {
            Some(last) if open && m.file.is_none() => {
                last.blocks.extend(m.blocks.iter().cloned());
                last.buttons = m.buttons.clone();
            }
            _ => out.push(m.clone()),
        }
        open = m.buttons.is_empty() && m.file.is_none();
    }
    out
}

/// Packs rendered pieces (paragraphs, list items) into messages whose length, as `len`
/// measures it, is at most `max`, one piece per line, never splitting a piece (the renderers
/// make every piece fit on its own). An empty piece stands for a blank line between blocks
/// (title, paragraphs, a list, hint, source), so a long message is not one wall of text; a
/// message never starts or ends with one. Never returns an empty message: an empty reply becomes "…".
///
/// `len` measures text as the platform counts it (UTF-16 units of the visible text for
/// Telegram, characters of the escaped content for Discord). Each piece is measured once and a
/// part's length is the sum of its pieces and the line breaks between them, so `len` must add
/// up over whole pieces: true when every piece is self-contained markup (tags closed, escapes
/// whole, escaping as at the start of a line), as the renderers make them.
pub fn pack(pieces: Vec<String>, max: usize, len: impl Fn(&str) -> usize) -> Vec<String> {
    let newline = len("\n");
    let mut parts: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut current_len = 0;
    let mut blank = false;
    for p in pieces {
        if p.is_empty() {
            // A blank line between blocks; none at the start of a message.
            blank = !current.is_empty();
            continue;
        }
        let p_len = len(&p);
        debug_assert!(
            p_len <= max,
            "a piece longer than a message: {p_len} > {max}"
        );
        let (sep, sep_len) = if blank {
            ("\n\n", newline * 2)
        } else {
            ("\n", newline)
        };
        blank = false;
        if !current.is_empty() && current_len + sep_len + p_len > max {
            parts.push(std::mem::take(&mut current));
            current_len = 0;
        }
        if !current.is_empty() {
            current.push_str(sep);
            current_len += sep_len;
        }
        current.push_str(&p);
        current_len += p_len;
    }
    if !current.is_empty() || parts.is_empty() {
        parts.push(current);
    }
    for p in &mut parts {
        if p.is_empty() {
            p.push('…');
        }
    }
    parts
}

/// Random messages for the renderers' property tests: text full of what breaks renderers
/// (emoji outside the BMP and in ZWJ sequences, combining accents, every markup character,
/// long words without spaces, line breaks).
#[cfg(test)]
pub(crate) mod strategies {
    use crate::engine::{Block, Message};
    use proptest::prelude::*;

    /// Tricky bits of text: each a unit on its own.
    const TRICKY: &[&str] = &[
        "😀",
        "👩\u{200D}⚕\u{FE0F}",
        "👍🏽",
        "🇬🇧",
        "𝄞",
        "e\u{301}",
        "\u{301}",
        "é",
        "<",
        ">",
        "&",
        "&amp;",
        "&lt;b&gt;",
        "<b>",
        "</i>",
        "\"",
        "*",
        "**",
        "_",
        "`",
        "~",
        "|",
        "\\",
        "#",
        "-",
        "[",
        "]",
        "@everyone",
        "…",
        "\t",
        "  ",
    ];

    fn token() -> impl Strategy<Value = String> {
        prop_oneof![
            6 => "[a-z]{1,9}",
            3 => Just(" ".to_string()),
            1 => Just("\n".to_string()),
            1 => Just("\n# ".to_string()),
            1 => Just("\n> ".to_string()),
            5 => prop::sample::select(TRICKY).prop_map(String::from),
            // A long word with no space to cut at: plain, all emoji, all markup, mixed.
            1 => (prop::sample::select(&["a", "😀", "*", "&", "e\u{301}", "<\\"][..]), 100..2500usize)
                .prop_map(|(w, n)| w.repeat(n)),
            1 => "[a-z😀&<>*_\\\\#-]{50,400}",
        ]
    }

    /// Text of up to a few thousand characters, often more than a message holds.
    pub fn text() -> impl Strategy<Value = String> {
        prop::collection::vec(token(), 0..300).prop_map(|v| v.concat())
    }

    fn block() -> impl Strategy<Value = Block> {
        prop_oneof![
            1 => text().prop_map(Block::Title),
            3 => text().prop_map(Block::Para),
            1 => (any::<bool>(), prop::collection::vec(text(), 1..4))
                .prop_map(|(numbered, items)| Block::List { numbered, items }),
            1 => (text(), "(https://|www\\.)[a-z]{1,10}\\.org/[a-z0-9/?=&>]{0,30}")
                .prop_map(|(text, url)| Block::Link { text, url }),
            1 => text().prop_map(Block::Source),
        ]
    }

    /// A message of a few blocks.
    pub fn message() -> impl Strategy<Value = Message> {
        prop::collection::vec(block(), 0..5).prop_map(|blocks| Message {
            blocks,
            ..Message::private()
        })
    }

    /// `s` without whitespace, for comparing text across cuts (cuts drop breaks and spaces).
    pub fn squeeze(s: &str) -> String {
        s.chars().filter(|c| !c.is_whitespace()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn utf16(s: &str) -> usize {
        s.encode_utf16().count()
    }

    #[test]
    fn split_by_a_measure_fits_and_keeps_accents_and_emoji_whole() {
        let s = "e\u{301}".repeat(3000);
        let parts = split_text_by(&s, 4096, utf16);
        assert_eq!(parts.concat(), s);
        for p in &parts {
            assert!(utf16(p) <= 4096);
            assert!(
                p.starts_with('e') && p.ends_with('\u{301}'),
                "an accent orphaned"
            );
        }
        let s = "😀".repeat(3000);
        let parts = split_text_by(&s, 4096, utf16);
        assert_eq!(parts.len(), 2);
        assert_eq!(utf16(&parts[0]), 4096);
        assert_eq!(parts.concat(), s);
        let s = "👩\u{200D}⚕\u{FE0F}".repeat(1000);
        for p in split_text_by(&s, 100, utf16) {
            assert!(p.starts_with('👩') && p.ends_with('\u{FE0F}'), "{p:?}");
        }
    }

    #[test]
    fn split_prefers_breaks_then_spaces() {
        assert_eq!(split_text("ab cd\nef gh", 9), vec!["ab cd", "ef gh"]);
        assert_eq!(split_text("ab cd ef", 6), vec!["ab cd", "ef"]);
        assert_eq!(split_text("abcdef", 4), vec!["abcd", "ef"]);
        assert_eq!(split_text("", 4), vec![""]);
    }

    #[test]
    fn wrap_breaks_long_lines_at_spaces_and_hangs_list_items() {
        let t = "== Title ==\n  1. one two three four five six seven eight nine ten eleven twelve";
        let w = wrap(t, 24);
        assert_eq!(
            w,
            "== Title ==\n  1. one two three four\n     five six seven\n     eight nine ten\n     eleven twelve"
        );
        assert!(w.lines().all(|l| l.chars().count() <= 24));
        assert_eq!(wrap("short", 80), "short");
        assert_eq!(
            wrap("[1] Begin now  [2] The whole lens  [3] More", 24),
            "[1] Begin now\n[2] The whole lens\n[3] More"
        );
        let long = "x".repeat(50);
        assert_eq!(wrap(&format!("a {long} b"), 20), format!("a\n{long}\nb"));
    }

    #[test]
    fn pack_measures_with_the_given_length() {
        let utf16 = |s: &str| s.encode_utf16().count();
        let parts = pack(vec!["😀😀".into(), "😀".into(), "ab".into()], 6, utf16);
        assert_eq!(parts, vec!["😀😀", "😀\nab"]);
        assert_eq!(pack(Vec::new(), 6, utf16), vec!["…"]);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn split_fits_and_loses_nothing(s in strategies::text(), max in 1usize..600) {
            let parts = split_text_by(&s, max, utf16);
            for p in &parts {
                // One character may not fit a tiny limit; it still goes, alone.
                prop_assert!(utf16(p) <= max || p.chars().count() == 1, "{p:?}");
            }
            prop_assert_eq!(
                strategies::squeeze(&parts.concat()),
                strategies::squeeze(&s)
            );
        }
    }
}
