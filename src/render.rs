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

/// Splits plain text into pieces of at most `max` characters, preferring line breaks, then
/// spaces, and never splitting a character.
pub fn split_text(s: &str, max: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest: &str = s;
    while rest.chars().count() > max {
        let cut_byte = rest
            .char_indices()
            .nth(max)
            .map(|(i, _)| i)
            .unwrap_or(rest.len());
        let window = &rest[..cut_byte];
        let at = window
            .rfind('\n')
            .or_else(|| window.rfind(' '))
            .filter(|i| *i > 0)
            .unwrap_or(cut_byte);
        out.push(rest[..at].to_string());
        rest = rest[at..].trim_start_matches(['\n', ' ']);
    }
    if !rest.is_empty() || out.is_empty() {
        out.push(rest.to_string());
    }
    out
}

/// Joins the messages of one reply to one chat into as few as possible (each Telegram message
/// counts against the per-chat rate limit): consecutive messages are merged until one carries
/// buttons, which then close the merged message. (Callers only merge what goes to one chat.)
pub fn merge(messages: &[Message]) -> Vec<Message> {
    let mut out: Vec<Message> = Vec::new();
    let mut open = false;
    for m in messages {
        match out.last_mut() {
            Some(last) if open => {
                last.blocks.extend(m.blocks.iter().cloned());
                last.buttons = m.buttons.clone();
            }
            _ => out.push(m.clone()),
        }
        open = m.buttons.is_empty();
    }
    out
}

/// Packs rendered pieces (paragraphs, list items) into messages of at most `max` characters,
/// one piece per line, never splitting a piece (pieces are made shorter than `max`). Never
/// returns an empty message: an empty reply becomes "…".
pub fn pack(pieces: Vec<String>, max: usize) -> Vec<String> {
    let mut parts: Vec<String> = Vec::new();
    let mut current = String::new();
    for p in pieces {
        if !current.is_empty() && current.chars().count() + 1 + p.chars().count() > max {
            parts.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push('\n');
        }
        current.push_str(&p);
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
