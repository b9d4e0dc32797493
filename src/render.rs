//! Rendering messages as plain text, for the terminal chat and transcript tests.
//!
//! Platform adapters have their own renderers (escaping, length limits, button layouts); this
//! one is the reference: every block on its own lines, buttons numbered `[1] Label` so they can
//! be chosen by typing the number or the label.

use crate::engine::{Block, Message};

/// A message as plain text lines, buttons last.
pub fn plain(m: &Message) -> String {
    let mut out = Vec::new();
    for b in &m.blocks {
        match b {
            Block::Title(t) => out.push(format!("== {t} ==")),
            Block::Para(p) => out.push(p.clone()),
            Block::List { numbered, items } => {
                for (i, it) in items.iter().enumerate() {
                    if *numbered {
                        out.push(format!("  {}. {it}", i + 1));
                    } else {
                        out.push(format!("  - {it}"));
                    }
                }
            }
            Block::Link { text, url } => {
                if text == url {
                    out.push(format!("  {url}"));
                } else {
                    out.push(format!("  {text}: {url}"));
                }
            }
            Block::Source(s) => out.push(format!("  (Source: {s})")),
        }
    }
    if !m.buttons.is_empty() {
        let labels: Vec<String> = m
            .buttons
            .iter()
            .enumerate()
            .map(|(i, b)| format!("[{}] {}", i + 1, b.label))
            .collect();
        out.push(labels.join("  "));
    }
    out.join("\n")
}

/// Several messages, separated by blank lines.
pub fn plain_all(ms: &[Message]) -> String {
    ms.iter().map(plain).collect::<Vec<_>>().join("\n\n")
}
