//! Messages as Discord payloads: Markdown with everything from people and content escaped,
//! split under the 2,000-character limit at paragraph boundaries, buttons as components (five
//! to a row, at most five rows).
//!
//! Pure and library-free, so it is tested directly. Mentions are never parsed: every message
//! is also sent with empty allowed mentions, so `@everyone` or `<@&role>` in any text is shown,
//! never pinged.

use crate::engine::{Block, Message};

/// Discord's limit on a message's content.
pub const MAX_LEN: usize = 2000;

/// Discord's limit on components: five rows of five buttons.
pub const MAX_BUTTONS: usize = 25;

/// One message to send: Markdown content and, on the last part, the buttons.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outgoing {
    /// Markdown content.
    pub content: String,
    /// Rows of (label, custom id), at most five of five.
    pub rows: Vec<Vec<(String, String)>>,
}

/// Escapes Markdown so text shows as typed: emphasis, code, spoilers, masked links, mentions
/// and custom emoji everywhere; headings, quotes and lists at the start of a line.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    let mut line_start = true;
    for c in s.chars() {
        let special = matches!(
            c,
            '\\' | '*' | '_' | '~' | '`' | '|' | '[' | ']' | '<' | '@'
        ) || (line_start && matches!(c, '#' | '>' | '-'));
        if special {
            out.push('\\');
        }
        out.push(c);
        line_start = c == '\n' || (line_start && c == ' ');
    }
    out
}

fn pieces(m: &Message) -> Vec<String> {
    let piece = MAX_LEN - 100;
    let mut out = Vec::new();
    let wrap = |text: &str, open: &str, close: &str, out: &mut Vec<String>| {
        for part in crate::render::split_text(text, piece) {
            out.push(format!("{open}{}{close}", escape(&part)));
        }
    };
    for b in &m.blocks {
        match b {
            Block::Title(t) => wrap(t, "**", "**", &mut out),
            Block::Para(p) => wrap(p, "", "", &mut out),
            Block::List { numbered, items } => {
                for (i, it) in items.iter().enumerate() {
                    let bullet = if *numbered {
                        format!("{}. ", i + 1)
                    } else {
                        "• ".to_string()
                    };
                    out.push(
                        format!("{bullet}{}", escape(it))
                            .chars()
                            .take(piece)
                            .collect(),
                    );
                }
            }
            // Angle brackets keep a link from unfurling into a large preview.
            Block::Link { url, .. } => out.push(format!("<{}>", url.replace('>', "%3E"))),
            Block::Source(s) => wrap(&format!("Source: {s}"), "*", "*", &mut out),
        }
    }
    out
}

/// Renders a message as one or more Discord messages; buttons go with the last.
pub fn render(m: &Message) -> Vec<Outgoing> {
    let parts = crate::render::pack(pieces(m), MAX_LEN);
    let rows = rows(m);
    let n = parts.len();
    parts
        .into_iter()
        .enumerate()
        .map(|(i, content)| Outgoing {
            content,
            rows: if i + 1 == n { rows.clone() } else { Vec::new() },
        })
        .collect()
}

/// Buttons in rows of five, labels cut to Discord's 80 characters.
pub fn rows(m: &Message) -> Vec<Vec<(String, String)>> {
    m.buttons
        .iter()
        .take(MAX_BUTTONS)
        .map(|b| {
            (
                b.label.chars().take(80).collect::<String>(),
                b.token.clone(),
            )
        })
        .collect::<Vec<_>>()
        .chunks(5)
        .map(|c| c.to_vec())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Button;

    #[test]
    fn markdown_and_mentions_are_shown_as_typed() {
        let m = Message::private().para("@everyone <@&123> **bold** `code`");
        let out = render(&m);
        assert_eq!(
            out[0].content,
            "\\@everyone \\<\\@&123> \\*\\*bold\\*\\* \\`code\\`"
        );
        assert_eq!(
            escape("# not a heading (really): fine"),
            "\\# not a heading (really): fine"
        );
    }

    #[test]
    fn long_messages_split_and_buttons_fit_discord() {
        let m = Message::private().para("word ".repeat(1000)).buttons(
            (0..30)
                .map(|i| Button {
                    label: format!("B{i}"),
                    token: format!("1:x{i}"),
                })
                .collect(),
        );
        let out = render(&m);
        assert!(out.len() >= 3);
        assert!(out.iter().all(|o| o.content.chars().count() <= MAX_LEN));
        let rows = &out.last().unwrap().rows;
        assert_eq!(rows.len(), 5);
        assert!(rows.iter().all(|r| r.len() <= 5));
    }
}
