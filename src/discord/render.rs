//! Messages as Discord payloads: Markdown with everything from people and content escaped,
//! split under the 2,000-character limit at paragraph boundaries, buttons as components (five
//! to a row, at most five rows).
//!
//! The limit applies to the content as sent, escapes included, counted the way serenity checks
//! it before sending (`content.chars().count()`, Unicode scalar values, against
//! `MESSAGE_CODE_LIMIT`): escaping can double a text's length, so text is cut by its escaped
//! length, and each piece is escaped as at the start of a line, which it always is.
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

/// Content length as serenity (and Discord) counts it.
fn len(s: &str) -> usize {
    s.chars().count()
}

fn pieces(m: &Message) -> Vec<String> {
    let mut out = Vec::new();
    // `first` goes before the first piece only (a list bullet); `open` and `close` around each.
    let wrap = |text: &str, first: &str, open: &str, close: &str, out: &mut Vec<String>| {
        let room = MAX_LEN.saturating_sub(len(first) + len(open) + len(close));
        let parts = crate::render::split_text_by(text, room, |p: &str| len(&escape(p)));
        for (i, part) in parts.into_iter().enumerate() {
            let first = if i == 0 { first } else { "" };
            out.push(format!("{first}{open}{}{close}", escape(&part)));
        }
    };
    for (i, b) in m.blocks.iter().enumerate() {
        if i > 0 {
            // A blank line between blocks (see `render::pack`).
            out.push(String::new());
        }
        match b {
            Block::Title(t) => wrap(t, "", "**", "**", &mut out),
            Block::Para(p) => wrap(p, "", "", "", &mut out),
            Block::List { numbered, items } => {
                for (i, it) in items.iter().enumerate() {
                    let bullet = if *numbered {
                        format!("{}. ", i + 1)
                    } else {
                        "• ".to_string()
                    };
                    wrap(it, &bullet, "", "", &mut out);
                }
            }
            // Angle brackets keep a link from unfurling into a large preview.
            Block::Link { url, .. } => {
                let link = format!("<{}>", url.replace('>', "%3E"));
                if len(&link) <= MAX_LEN {
                    out.push(link);
                } else {
                    wrap(url, "", "", "", &mut out);
                }
            }
            Block::Source(s) => wrap(&format!("Source: {s}"), "", "*", "*", &mut out),
        }
    }
    out
}

/// Renders a message as one or more Discord messages; buttons go with the last. Every part's
/// content is at most [`MAX_LEN`] characters as sent.
pub fn render(m: &Message) -> Vec<Outgoing> {
    let parts = crate::render::pack(pieces(m), MAX_LEN, len);
    let rows = rows(m);
    let n = parts.len();
    parts
        .into_iter()
        // Discord refuses a message with no content (and nothing else) to show.
        .map(|c| {
            if c.trim().is_empty() {
                "…".to_string()
            } else {
                c
            }
        })
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

/// A button's answer, as it replaces the message the button was on: the answer's leading
/// messages joined into one (a confirmation and the next step read as one message: "Saved."
/// above the next prompt and its buttons), as long as none of them carries a file, only the
/// last of them has buttons, and all have the same audience; the rest as they were. The
/// joined message may still render as several parts; the first replaces the pressed message
/// and the others follow it.
pub fn joined(messages: &[Message]) -> Vec<Message> {
    let mut out: Vec<Message> = Vec::new();
    let mut joining = true;
    for m in messages {
        if joining
            && let Some(last) = out.last_mut()
            && last.buttons.is_empty()
            && m.file.is_none()
            && last.audience == m.audience
        {
            last.blocks.extend(m.blocks.iter().cloned());
            last.buttons = m.buttons.clone();
            continue;
        }
        joining = out.is_empty() && m.file.is_none();
        out.push(m.clone());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Button;
    use crate::render::strategies::{self, squeeze};
    use proptest::prelude::*;

    /// Reads content as Discord would show it, strictly: a backslash escapes the next
    /// character; an unescaped `*` is emphasis and `<…>` a link; any other Markdown character
    /// left unescaped (or `#`, `>`, `-` starting a line) is an error, as is a lone backslash at
    /// the end (an escape cut in half). The visible text.
    fn shown_by_discord(content: &str) -> Result<String, String> {
        let mut out = String::new();
        let mut chars = content.chars();
        let mut line_start = true;
        let mut stars = 0;
        while let Some(c) = chars.next() {
            match c {
                '\\' => out.push(chars.next().ok_or("a backslash cut from what it escapes")?),
                '*' => stars += 1,
                '<' => {
                    for c in chars.by_ref() {
                        if c == '>' {
                            break;
                        }
                        out.push(c);
                    }
                }
                '_' | '~' | '`' | '|' | '[' | ']' | '@' => return Err(format!("a bare {c}")),
                '#' | '>' | '-' if line_start => return Err(format!("a bare {c} starting a line")),
                c => out.push(c),
            }
            line_start = c == '\n' || (line_start && c == ' ');
        }
        if stars % 2 != 0 {
            return Err("emphasis left open".into());
        }
        Ok(out)
    }

    /// The text a message shows, block by block, as this renderer shows it.
    fn shown(m: &Message) -> String {
        let mut out = String::new();
        for b in &m.blocks {
            match b {
                Block::Title(t) | Block::Para(t) => out.push_str(t),
                Block::List { numbered, items } => {
                    for (i, it) in items.iter().enumerate() {
                        if *numbered {
                            out.push_str(&format!("{}. {it}", i + 1));
                        } else {
                            out.push_str(&format!("• {it}"));
                        }
                    }
                }
                Block::Link { url, .. } => out.push_str(&url.replace('>', "%3E")),
                Block::Source(s) => out.push_str(&format!("Source: {s}")),
            }
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]

        #[test]
        fn every_part_fits_as_sent_and_nothing_is_lost(m in strategies::message()) {
            let out = render(&m);
            prop_assert!(!out.is_empty());
            let mut seen = String::new();
            for o in &out {
                // serenity's own check before sending: `content.chars().count()` ≤ 2,000.
                let n = o.content.chars().count();
                prop_assert!(n <= MAX_LEN, "{} characters", n);
                prop_assert!(!o.content.trim().is_empty(), "an empty message");
                let text = shown_by_discord(&o.content)
                    .map_err(|e| TestCaseError::fail(format!("{e} in {:?}", o.content)))?;
                if o.content != "…" {
                    seen.push_str(&text);
                }
            }
            prop_assert_eq!(squeeze(&seen), squeeze(&shown(&m)));
        }
    }

    #[test]
    fn the_limit_counts_the_escaped_content() {
        // 1,500 asterisks are 3,000 characters once escaped: two messages, none over.
        let out = render(&Message::private().para("*".repeat(1500)));
        assert_eq!(out.len(), 2);
        assert!(out.iter().all(|o| o.content.chars().count() <= MAX_LEN));
        assert_eq!(out[0].content.chars().count(), MAX_LEN);
        // A list item is cut, never truncated.
        let out = render(&Message::private().list(false, vec!["_".repeat(1500)]));
        assert_eq!(out.len(), 2);
        assert!(out[0].content.starts_with("• \\_"));
        let total: usize = out.iter().map(|o| o.content.matches('_').count()).sum();
        assert_eq!(total, 1500);
    }

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

    #[test]
    fn a_buttons_answer_joins_its_leading_messages_into_one() {
        let saved = Message::private().para("Saved.");
        let next = Message::private()
            .para("Question 2")
            .buttons(vec![crate::engine::Button {
                label: "Skip".into(),
                token: "skip".into(),
            }]);
        let after = Message::private().para("More");
        let j = joined(&[saved.clone(), next.clone(), after.clone()]);
        assert_eq!(j.len(), 2);
        assert_eq!(j[0].blocks.len(), 2);
        assert_eq!(j[0].buttons, next.buttons);
        assert_eq!(j[1], after);
        // A public message is not joined to a private one.
        let public = Message::public().para("For the channel");
        assert_eq!(joined(&[saved, public]).len(), 2);
    }
}
