//! Platform-neutral replies: light structure, buttons with short stable tokens, and who may see
//! them. Each adapter has a pure renderer that turns these into its own payloads, within its own
//! limits and escaping; the engine never writes markup.
//!
//! A message may carry one file ([`Attachment`]): a document (the CPD record as PDF or
//! Markdown, everything held as JSON) or a picture (the progress grid as PNG). Text files are
//! made whole by the engine; a PDF or a PNG is kept as the small description it is drawn from
//! and drawn by the shell when it is sent ([`crate::files`]), so the engine stays pure and
//! fast and the outbox holds a few kilobytes rather than the file.

use serde::{Deserialize, Serialize};

/// Who may see a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Audience {
    /// Only the person (a DM, an ephemeral reply). Anything personal is private.
    Private,
    /// May be shown in a shared channel (facts, definitions, resources, examples, help).
    Public,
}

/// One piece of a message's text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Block {
    /// A short heading, shown emphasised.
    Title(String),
    /// A paragraph of plain text.
    Para(String),
    /// A bulleted or numbered list.
    List {
        /// Numbered (1. 2. 3.) rather than bulleted.
        numbered: bool,
        /// The items.
        items: Vec<String>,
    },
    /// A link: the text to show and the address exactly as printed in the source.
    Link {
        /// Text shown.
        text: String,
        /// The address.
        url: String,
    },
    /// Where the content comes from, shown small or in italics.
    Source(String),
}

/// A button: a short label and a token the engine will recognise when it is pressed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Button {
    /// What the person sees (at most 40 characters).
    pub label: String,
    /// `STEP:ACTION`, at most 64 bytes, so it fits Telegram's `callback_data` and Discord's
    /// `custom_id`; the step lets the engine spot a button from an earlier step.
    pub token: String,
}

/// One message from the bot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Who may see it.
    pub audience: Audience,
    /// The text, in blocks.
    pub blocks: Vec<Block>,
    /// Buttons, in order; platforms lay them out in rows.
    pub buttons: Vec<Button>,
    /// A file sent with the message, if any (one per message, so the sender's count of
    /// messages taken also counts files, and a retry never sends a file twice).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<Box<Attachment>>,
}

/// A file sent with a message.
///
/// A document (PDF, Markdown, JSON) is sent after the message's text, which explains it. A
/// picture stands in for the message's text where it can be shown (Telegram, Discord): the
/// blocks are its text form for the terminal, transcripts, and any platform that cannot show
/// it (or when drawing it failed), and the caption says the same in words.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// The file name offered to the person (`cpd-record-2026-12-03.pdf`).
    pub name: String,
    /// Its MIME type (`application/pdf`, `text/markdown`, `application/json`, `image/png`).
    pub mime: String,
    /// A short plain-text caption shown with the file (at most 1,024 characters: Telegram's
    /// limit for captions).
    pub caption: String,
    /// What the file holds, or what it is drawn from.
    pub body: FileBody,
}

/// What a file holds: text made whole by the engine, or the description a PDF or PNG is
/// drawn from when it is sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FileBody {
    /// UTF-8 text (Markdown, JSON), stored as it is.
    Text {
        /// The text.
        text: String,
    },
    /// A PDF, drawn from this document when sent.
    Pdf {
        /// The document.
        doc: super::export::Doc,
    },
    /// A PNG, drawn from this picture when sent.
    Png {
        /// The picture.
        picture: super::export::Picture,
    },
}

impl Attachment {
    /// Whether the file is a picture (sent as a photo, standing in for the message's text).
    pub fn is_picture(&self) -> bool {
        matches!(self.body, FileBody::Png { .. })
    }
}

impl Message {
    /// A private message with no blocks yet.
    pub fn private() -> Self {
        Message {
            audience: Audience::Private,
            blocks: Vec::new(),
            buttons: Vec::new(),
            file: None,
        }
    }

    /// A public message with no blocks yet.
    pub fn public() -> Self {
        Message {
            audience: Audience::Public,
            ..Message::private()
        }
    }

    /// Adds a title.
    pub fn title(mut self, s: impl Into<String>) -> Self {
        self.blocks.push(Block::Title(s.into()));
        self
    }

    /// Adds a paragraph.
    pub fn para(mut self, s: impl Into<String>) -> Self {
        self.blocks.push(Block::Para(s.into()));
        self
    }

    /// Adds a source line.
    pub fn source(mut self, s: impl Into<String>) -> Self {
        self.blocks.push(Block::Source(s.into()));
        self
    }

    /// Adds a list.
    pub fn list(mut self, numbered: bool, items: Vec<String>) -> Self {
        if !items.is_empty() {
            self.blocks.push(Block::List { numbered, items });
        }
        self
    }

    /// Adds a link.
    pub fn link(mut self, text: impl Into<String>, url: impl Into<String>) -> Self {
        self.blocks.push(Block::Link {
            text: text.into(),
            url: url.into(),
        });
        self
    }

    /// Sets the buttons.
    pub fn buttons(mut self, b: Vec<Button>) -> Self {
        self.buttons = b;
        self
    }

    /// Attaches a file.
    pub fn file(mut self, a: Attachment) -> Self {
        self.file = Some(Box::new(a));
        self
    }

    /// All the text of the message, for tests and searching; also the reference plain-text
    /// form the terminal and transcripts show: every block on its own lines, buttons last,
    /// numbered `[1] Label` so they can be chosen by typing the number or the label.
    pub fn plain_text(&self) -> String {
        let mut out = Vec::new();
        for b in &self.blocks {
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
        // A document is named with its caption; a picture's text form is the blocks above.
        if let Some(f) = self.file.as_deref().filter(|f| !f.is_picture()) {
            out.push(format!("[file: {}] {}", f.name, f.caption));
        }
        if !self.buttons.is_empty() {
            let labels: Vec<String> = self
                .buttons
                .iter()
                .enumerate()
                .map(|(i, b)| format!("[{}] {}", i + 1, b.label))
                .collect();
            out.push(labels.join("  "));
        }
        out.join("\n")
    }
}
