//! The terminal chat: one message a line on standard input, the bot's replies on standard
//! output, buttons shown numbered. Works the same when input is piped, and ends cleanly (exit
//! 0) at the end of input. Needs no tokens: it is for trying the bot out and for authors
//! testing dialogues. Reminders for the chatting person are printed when they fall due.
//!
//! Files (the CPD record from `/export`, `/mydata`'s JSON) are written into the `files`
//! folder of the data directory, private like the store beside it (0700 on Unix), and their
//! paths printed; `/progress` keeps its text grid, and with `--png FILE` also writes the
//! picture to FILE.

use crate::engine::{Input, Message};
use crate::render;
use crate::scheduler;
use crate::sender::{self, Deliver, DeliveryError, DeliveryFuture};
use crate::session::Session;
use crate::store::StoreError;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The store key of a terminal user: `terminal:ID`, or ID itself when it already names a
/// platform (`telegram:123`), so `--user` can inspect anyone.
pub fn user_key(id: &str) -> String {
    if id.contains(':') {
        id.to_string()
    } else {
        format!("terminal:{id}")
    }
}

/// Prints reminders for the one person chatting.
struct Printer {
    user: String,
}

impl Deliver for Printer {
    fn accepts(&self, user: &str) -> bool {
        user == self.user
    }

    fn deliver<'a>(&'a self, _user: &'a str, messages: Vec<Message>) -> DeliveryFuture<'a> {
        Box::pin(async move {
            let mut out = std::io::stdout().lock();
            writeln!(out, "{}\n", render::plain_all(&messages))
                .and_then(|_| out.flush())
                .map_err(|e| DeliveryError::Failed(e.to_string()))
        })
    }
}

/// Where the terminal writes files.
#[derive(Clone, Debug)]
pub struct Files {
    /// The folder for documents (created when first needed).
    pub dir: PathBuf,
    /// Where to write the progress picture, if anywhere (`--png FILE`).
    pub png: Option<PathBuf>,
}

impl Default for Files {
    /// Documents in `files/` inside the default data directory; no picture.
    fn default() -> Self {
        Files {
            dir: crate::store::data_dir(None).join("files"),
            png: None,
        }
    }
}

impl Files {
    /// Writes each message's file where it belongs and says where: documents into
    /// [`Files::dir`], the picture to [`Files::png`] (skipped without one). One line each.
    pub fn write(&self, session: &Session, messages: &[Message]) -> Vec<String> {
        let cat = session.catalog();
        let mut said = Vec::new();
        for f in messages.iter().filter_map(|m| m.file.as_deref()) {
            let path = if f.is_picture() {
                match &self.png {
                    Some(p) => p.clone(),
                    None => continue,
                }
            } else {
                // Only the file name, never a path from elsewhere.
                let name = Path::new(&f.name)
                    .file_name()
                    .map(|n| n.to_os_string())
                    .unwrap_or_else(|| "file".into());
                self.dir.join(name)
            };
            let written = crate::files::bytes(f)
                .map_err(|e| e.to_string())
                .and_then(|bytes| {
                    write_private(&path, &bytes, !f.is_picture()).map_err(|e| e.to_string())
                });
            match written {
                Ok(()) => said.push(cat.tf(
                    "files.saved",
                    &[("name", &f.name), ("path", &path.display().to_string())],
                )),
                Err(e) => {
                    tracing::error!(file = %f.name, error = %e, "a file could not be written");
                    said.push(cat.tf("files.failed", &[("name", &f.name)]));
                }
            }
        }
        said
    }
}

/// Writes a file; when `private` (a document), its folder is created first, both readable by
/// the owner only on Unix (0700, 0600), like the store.
fn write_private(path: &Path, bytes: &[u8], private: bool) -> std::io::Result<()> {
    if private && let Some(dir) = path.parent() {
        let mut b = std::fs::DirBuilder::new();
        b.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
        b.create(dir)?;
    }
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if private {
        std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    }
    std::io::Write::write_all(&mut o.open(path)?, bytes)
}

/// Runs the chat until the input ends, files written where [`Files::default`] says.
/// `interactive` adds a prompt and a greeting.
pub fn run(
    session: Arc<Session>,
    user: &str,
    input: impl BufRead,
    interactive: bool,
) -> Result<(), TerminalError> {
    run_with(session, user, input, interactive, &Files::default())
}

/// Runs the chat until the input ends, writing files as `files` says.
pub fn run_with(
    session: Arc<Session>,
    user: &str,
    mut input: impl BufRead,
    interactive: bool,
    files: &Files,
) -> Result<(), TerminalError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(TerminalError::Io)?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let sink = Arc::new(Printer {
        user: user.to_string(),
    });
    let me = user.to_string();
    let mut stopped2 = stopped.clone();
    let mut stopped1 = stopped;
    let scheduler = rt.spawn(scheduler::run(
        session.clone(),
        Arc::new(move |to: &str| to == me),
        async move {
            let _ = stopped1.changed().await;
        },
    ));
    let sender = rt.spawn(sender::run(session.clone(), sink, async move {
        let _ = stopped2.changed().await;
    }));
    let say = |text: &str| -> Result<(), TerminalError> {
        let mut out = std::io::stdout().lock();
        write!(out, "{text}").map_err(TerminalError::Io)?;
        out.flush().map_err(TerminalError::Io)
    };
    if interactive {
        say("lensbot: type /start to begin, /help for commands, Ctrl-D to leave.\n")?;
    }
    let mut buf = Vec::new();
    let result = loop {
        if interactive {
            say("> ")?;
        }
        buf.clear();
        match input.read_until(b'\n', &mut buf) {
            Ok(0) => break Ok(()),
            Ok(_) => {}
            Err(e) => break Err(TerminalError::Io(e)),
        }
        let line = String::from_utf8_lossy(&buf);
        let line = line.trim_end_matches(['\n', '\r']);
        if line.trim().is_empty() {
            continue;
        }
        let reply = rt.block_on(session.handle(
            user,
            Input::Text(line.to_string()),
            None,
            jiff::Timestamp::now(),
        ));
        match reply {
            Ok(r) => {
                let mut text = render::plain_all(&r.messages);
                for line in files.write(&session, &r.messages) {
                    text.push('\n');
                    text.push_str(&line);
                }
                let text = match terminal_width() {
                    Some(w) => render::wrap(&text, w),
                    None => text,
                };
                say(&format!("{text}\n\n"))?
            }
            Err(e) => break Err(TerminalError::Store(e)),
        }
    };
    let _ = stop.send(true);
    let _ = rt.block_on(scheduler);
    let _ = rt.block_on(sender);
    result
}

/// The terminal's width in columns when the replies go to a terminal (so they are wrapped to
/// fit it), from `$COLUMNS` or `stty size`, else 80; `None` when output is piped (a file or a
/// test reads it as the engine wrote it).
fn terminal_width() -> Option<usize> {
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() {
        return None;
    }
    if let Some(w) = std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok()) {
        return Some(w);
    }
    let tty = std::fs::File::open("/dev/tty").ok()?;
    let size = std::process::Command::new("stty")
        .arg("size")
        .stdin(tty)
        .stderr(std::process::Stdio::null())
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.split_whitespace().nth(1)?.parse().ok());
    Some(size.unwrap_or(80))
}

/// Why the chat stopped early.
#[derive(Debug, thiserror::Error)]
pub enum TerminalError {
    /// Reading or writing the terminal failed.
    #[error("terminal input/output failed: {0}")]
    Io(std::io::Error),
    /// The store failed; nothing after the last reply was saved.
    #[error(transparent)]
    Store(StoreError),
}
