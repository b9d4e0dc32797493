//! The terminal chat: one message a line on standard input, the bot's replies on standard
//! output, buttons shown numbered. Works the same when input is piped, and ends cleanly (exit
//! 0) at the end of input. Needs no tokens: it is for trying the bot out and for authors
//! testing dialogues.

use crate::engine::Input;
use crate::render;
use crate::session::Session;
use crate::store::StoreError;
use std::io::{BufRead, Write};

/// The store key of a terminal user: `terminal:ID`, or ID itself when it already names a
/// platform (`telegram:123`), so `--user` can inspect anyone.
pub fn user_key(id: &str) -> String {
    if id.contains(':') {
        id.to_string()
    } else {
        format!("terminal:{id}")
    }
}

/// Runs the chat until the input ends. `interactive` adds a prompt and a greeting.
pub fn run(
    session: &Session,
    user: &str,
    mut input: impl BufRead,
    mut output: impl Write,
    interactive: bool,
) -> Result<(), TerminalError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(TerminalError::Io)?;
    if interactive {
        writeln!(
            output,
            "lensbot: type /start to begin, /help for commands, Ctrl-D to leave."
        )
        .map_err(TerminalError::Io)?;
    }
    let mut buf = Vec::new();
    loop {
        if interactive {
            write!(output, "> ").map_err(TerminalError::Io)?;
            output.flush().map_err(TerminalError::Io)?;
        }
        buf.clear();
        let n = input
            .read_until(b'\n', &mut buf)
            .map_err(TerminalError::Io)?;
        if n == 0 {
            break;
        }
        let line = String::from_utf8_lossy(&buf);
        let line = line.trim_end_matches(['\n', '\r']);
        if line.trim().is_empty() {
            continue;
        }
        let reply = rt
            .block_on(session.handle(
                user,
                Input::Text(line.to_string()),
                None,
                jiff::Timestamp::now(),
            ))
            .map_err(TerminalError::Store)?;
        writeln!(output, "{}\n", render::plain_all(&reply.messages)).map_err(TerminalError::Io)?;
        output.flush().map_err(TerminalError::Io)?;
    }
    Ok(())
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
