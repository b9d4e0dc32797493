//! Messages as Telegram payloads: HTML parse mode with everything escaped, split under the
//! 4,096-character limit at paragraph boundaries, buttons as inline keyboards.
//!
//! Telegram counts that limit in UTF-16 code units of the text *after* entity parsing: tags
//! do not count, `&amp;` is one unit, an emoji outside the Basic Multilingual Plane is two. So
//! pieces are cut and packed by that measure ([`visible_len`]), never by Rust characters or
//! bytes, and each piece is whole HTML on its own (its tags closed, its entities entire), so any
//! run of pieces is a message Telegram can parse.
//!
//! Pure and platform-library-free, so it is tested directly: whatever a person typed, the
//! HTML is well formed (Telegram never answers "can't parse entities").

use crate::engine::{Block, Message};

/// Telegram's limit on a message's length, in UTF-16 code units of the visible text.
pub const MAX_LEN: usize = 4096;

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

/// The text Telegram shows for `html` (as this module writes it): tags dropped, entities
/// decoded (`&amp;` → `&`, `&#128512;` → 😀). An `&` that starts no entity is kept as it is.
pub fn visible(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(i) = rest.find(['<', '&']) {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        if rest.starts_with('<') {
            match rest.find('>') {
                Some(end) => rest = &rest[end + 1..],
                None => {
                    out.push_str(rest);
                    rest = "";
                }
            }
        } else {
            match entity(rest) {
                Some((c, n)) => {
                    out.push(c);
                    rest = &rest[n..];
                }
                None => {
                    out.push('&');
                    rest = &rest[1..];
                }
            }
        }
    }
    out.push_str(rest);
    out
}

/// The entity at the start of `s` (which starts with `&`): the character and its length.
fn entity(s: &str) -> Option<(char, usize)> {
    let end = s.get(..12).unwrap_or(s).find(';')?;
    let name = &s[1..end];
    let c = match name {
        "lt" => '<',
        "gt" => '>',
        "amp" => '&',
        "quot" => '"',
        _ => {
            let code = if let Some(hex) = name.strip_prefix("#x").or(name.strip_prefix("#X")) {
                u32::from_str_radix(hex, 16).ok()?
            } else {
                name.strip_prefix('#')?.parse().ok()?
            };
            char::from_u32(code)?
        }
    };
    Some((c, end + 1))
}

/// A message's length as Telegram measures it: UTF-16 code units of the visible text.
pub fn visible_len(html: &str) -> usize {
    visible(html).encode_utf16().count()
}

/// UTF-16 code units of plain text (what an escaped piece of it will measure).
fn utf16_len(s: &str) -> usize {
    s.chars().map(char::len_utf16).sum()
}

fn pieces(m: &Message) -> Vec<String> {
    let mut out = Vec::new();
    // Tags and entities take no room in Telegram's count, so a piece may take the whole limit.
    let wrap = |text: &str, open: &str, close: &str, out: &mut Vec<String>| {
        for part in crate::render::split_text_by(text, MAX_LEN, utf16_len) {
            out.push(format!("{open}{}{close}", escape(&part)));
        }
    };
    for (i, b) in m.blocks.iter().enumerate() {
        if i > 0 {
            // A blank line between blocks (see `render::pack`).
            out.push(String::new());
        }
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
                    let open = format!("<a href=\"{}\">", escape(&href));
                    wrap(text, &open, "</a>", &mut out);
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
    let parts = crate::render::pack(pieces(m), MAX_LEN, visible_len);
    let keyboard = keyboard(m);
    let n = parts.len();
    parts
        .into_iter()
        // Telegram trims a message and refuses one with no text left.
        .map(|html| {
            if visible(&html).trim().is_empty() {
                "…".to_string()
            } else {
                html
            }
        })
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
    use crate::render::strategies::{self, squeeze};
    use proptest::prelude::*;

    /// Parses `html` as Telegram would, strictly: only the tags this module writes, each closed
    /// in the same message, only whole entities, no bare `<`, `>` or `&`. The visible text.
    fn parse(html: &str) -> Result<String, String> {
        let mut out = String::new();
        let mut open: Vec<&str> = Vec::new();
        let mut rest = html;
        while let Some(c) = rest.chars().next() {
            match c {
                '<' => {
                    let end = rest.find('>').ok_or("a tag never ends")?;
                    let tag = &rest[1..end];
                    if let Some(name) = tag.strip_prefix('/') {
                        if open.pop() != Some(name) {
                            return Err(format!("</{name}> closes nothing open"));
                        }
                    } else if tag == "b" || tag == "i" {
                        open.push(tag);
                    } else if let Some(href) = tag
                        .strip_prefix("a href=\"")
                        .and_then(|t| t.strip_suffix('"'))
                    {
                        if href.contains(['"', '<']) {
                            return Err(format!("unescaped href {href:?}"));
                        }
                        open.push("a");
                    } else {
                        return Err(format!("unknown tag <{tag}>"));
                    }
                    rest = &rest[end + 1..];
                }
                '&' => {
                    let (c, n) = ["&lt;", "&gt;", "&amp;", "&quot;"]
                        .iter()
                        .zip(['<', '>', '&', '"'])
                        .find(|(e, _)| rest.starts_with(*e))
                        .map(|(e, c)| (c, e.len()))
                        .ok_or_else(|| {
                            format!(
                                "a cut or unknown entity at {:?}",
                                &rest[..rest.len().min(8)]
                            )
                        })?;
                    out.push(c);
                    rest = &rest[n..];
                }
                '>' => return Err("a bare >".into()),
                c => {
                    out.push(c);
                    rest = &rest[c.len_utf8()..];
                }
            }
        }
        if !open.is_empty() {
            return Err(format!("left open: {open:?}"));
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
                Block::Link { text, url } => {
                    out.push_str(if url.len() < 2000 { text } else { url })
                }
                Block::Source(s) => out.push_str(&format!("Source: {s}")),
            }
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]

        #[test]
        fn every_part_fits_parses_and_nothing_is_lost(m in strategies::message()) {
            let out = render(&m);
            prop_assert!(!out.is_empty());
            let mut seen = String::new();
            for o in &out {
                let text = parse(&o.html).map_err(|e| TestCaseError::fail(format!("{e} in {:?}", o.html)))?;
                let units = text.encode_utf16().count();
                prop_assert!(units <= MAX_LEN, "{} UTF-16 units", units);
                prop_assert_eq!(units, visible_len(&o.html));
                prop_assert!(!text.trim().is_empty(), "an empty message");
                if o.html != "…" {
                    seen.push_str(&text);
                }
            }
            prop_assert_eq!(squeeze(&seen), squeeze(&shown(&m)));
        }
    }

    #[test]
    fn the_limit_counts_utf16_units_of_the_visible_text() {
        // 3,000 emoji are 6,000 UTF-16 units: two messages, the first full to the unit.
        let out = render(&Message::private().para("😀".repeat(3000)));
        assert_eq!(out.len(), 2);
        assert_eq!(visible_len(&out[0].html), MAX_LEN);
        // 4,000 ampersands are 20,000 bytes of HTML but 4,000 units: one message.
        let out = render(&Message::private().title("&".repeat(4000)));
        assert_eq!(out.len(), 1);
        assert_eq!(visible_len(&out[0].html), 4000);
        assert_eq!(visible("<b>a &amp; &#128512; &lt;</b>"), "a & 😀 <");
        assert_eq!(visible_len("&#128512;"), 2);
    }

    #[test]
    fn a_long_link_text_is_cut_into_links() {
        let m = Message::private().link("😀".repeat(2100) + " x", "www.example.org");
        let out = render(&m);
        assert_eq!(out.len(), 2);
        for o in &out {
            assert!(o.html.starts_with("<a href=\"http://www.example.org\">"));
            assert!(o.html.ends_with("</a>"));
            assert!(parse(&o.html).is_ok());
        }
    }

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
            assert!(visible_len(&o.html) <= MAX_LEN);
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
