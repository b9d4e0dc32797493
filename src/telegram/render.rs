//! Messages as Telegram payloads: HTML parse mode with everything escaped, split under the
//! 4,096-character limit at paragraph boundaries, buttons as inline keyboards.
//!
//! Pure and platform-library-free, so it is tested directly: whatever a person typed, the
//! HTML is well formed (Telegram never answers "can't parse entities").

use crate::engine::{Block, Message};

/// Telegram's limit on a message's length.
pub const MAX_LEN: usize = 4096;

/// Room kept below the limit for the tags around a piece.
const PIECE: usize = MAX_LEN - 200;

/// One message to send: HTML text and, on the last part, the keyboard rows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outgoing {
    /// HTML-parse-mode text.
    pub html: String,
    /// Rows of (label, callback data).
    pub keyboard: Vec<Vec<(String, String)>>,
}

/// Escapes text for HTML parse mode.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

pub use crate::render::split_text;

fn pieces(m: &Message) -> Vec<String> {
    let mut out = Vec::new();
    let wrap = |text: &str, open: &str, close: &str, out: &mut Vec<String>| {
        for part in split_text(text, PIECE) {
            out.push(format!("{open}{}{close}", escape(&part)));
        }
    };
    for b in &m.blocks {
        match b {
            Block::Title(t) => wrap(t, "<b>", "</b>", &mut out),
            Block::Para(p) => wrap(p, "", "", &mut out),
            Block::List { numbered, items } => {
                for (i, it) in items.iter().enumerate() {
                    let bullet = if *numbered {
                        format!("{}. ", i + 1)
                    } else {
                        "• ".to_string()
                    };
                    wrap(&format!("{bullet}{it}"), "", "", &mut out);
                }
            }
            Block::Link { text, url } => {
                if url.len() < 2000 {
                    let href = if url.starts_with("www.") {
                        format!("http://{url}")
                    } else {
                        url.clone()
                    };
                    out.push(format!(
                        "<a href=\"{}\">{}</a>",
                        escape(&href),
                        escape(text)
                    ));
                } else {
                    wrap(url, "", "", &mut out);
                }
            }
            Block::Source(s) => wrap(&format!("Source: {s}"), "<i>", "</i>", &mut out),
        }
    }
    out
}

/// Renders a message as one or more Telegram messages; buttons go with the last.
pub fn render(m: &Message) -> Vec<Outgoing> {
    let parts = crate::render::pack(pieces(m), MAX_LEN);
    let keyboard = keyboard(m);
    let n = parts.len();
    parts
        .into_iter()
        .enumerate()
        .map(|(i, html)| Outgoing {
            html,
            keyboard: if i + 1 == n {
                keyboard.clone()
            } else {
                Vec::new()
            },
        })
        .collect()
}

pub use crate::render::merge;

/// Lays buttons out in rows: short labels share a row (up to four, about 36 characters).
pub fn keyboard(m: &Message) -> Vec<Vec<(String, String)>> {
    let mut rows: Vec<Vec<(String, String)>> = Vec::new();
    let mut width = 0;
    for b in &m.buttons {
        let w = b.label.chars().count() + 4;
        let fits = rows.last().is_some_and(|r| r.len() < 4 && width + w <= 36);
        if !fits {
            rows.push(Vec::new());
            width = 0;
        }
        width += w;
        rows.last_mut()
            .expect("a row")
            .push((b.label.clone(), b.token.clone()));
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Button;

    #[test]
    fn escapes_everything_a_person_can_type() {
        let m = Message::private().para("<b>bold</b> & <script> \"x\"");
        let out = render(&m);
        assert_eq!(
            out[0].html,
            "&lt;b&gt;bold&lt;/b&gt; &amp; &lt;script&gt; &quot;x&quot;"
        );
    }

    #[test]
    fn long_messages_split_under_the_limit_with_buttons_last() {
        let long = "word ".repeat(3000);
        let m = Message::private()
            .title("T")
            .para(long.clone())
            .para(long)
            .buttons(vec![Button {
                label: "Next".into(),
                token: "1:next".into(),
            }]);
        let out = render(&m);
        assert!(out.len() >= 4);
        for o in &out {
            assert!(o.html.chars().count() <= MAX_LEN);
        }
        assert!(out[..out.len() - 1].iter().all(|o| o.keyboard.is_empty()));
        assert_eq!(
            out.last().unwrap().keyboard,
            vec![vec![("Next".to_string(), "1:next".to_string())]]
        );
    }

    #[test]
    fn a_reply_becomes_one_message_when_it_can() {
        let b = vec![Button {
            label: "Next".into(),
            token: "1:next".into(),
        }];
        let ms = vec![
            Message::private().para("Saved."),
            Message::private()
                .title("Q")
                .para("Why?")
                .buttons(b.clone()),
            Message::private().para("after"),
        ];
        let merged = merge(&ms);
        assert_eq!(merged.len(), 2);
        assert_eq!(merged[0].blocks.len(), 3);
        assert_eq!(merged[0].buttons, b);
    }

    #[test]
    fn split_never_breaks_a_character() {
        let s = "é".repeat(10_001);
        let parts = split_text(&s, 4000);
        assert_eq!(
            parts.iter().map(|p| p.chars().count()).sum::<usize>(),
            10_001
        );
        assert!(parts.iter().all(|p| p.chars().count() <= 4000));
    }
}
