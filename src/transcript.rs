//! Transcript tests: whole conversations replayed against the engine with a fixed clock and an
//! in-memory store, in the spirit of Yarn Spinner's test plans and Botium's convo files.
//!
//! ```text
//! # clock: 2026-01-05T09:00:00Z
//! # user: alice
//! > /lens 1
//! < == Lens 1: Myself as an individual ==
//! < [1] Begin
//! <! Saved
//! ```
//!
//! `> ` lines are what the person types; `>> [Skip]` presses the button with that label in the
//! last reply that had buttons, and `>>~ [Next]` presses one from the reply before that (an old
//! message still on screen: the way to test stale buttons). `< ` lines must each appear, in order, within the bot's reply to the
//! input above them (as a substring of a line; several may match one line, left to right is not
//! checked within a line); `<! ` lines must not appear anywhere in that
//! reply. Directives: `# clock: RFC3339`, `# advance: 30s|5m|2h|3d`, `# user: NAME`,
//! `# restart` (a new session over the same store, as after a process restart), and `# tick`
//! (the scheduler runs once at the current clock, its retention sweep included; what it delivers to the current person is
//! the reply checked by the lines after it). Other `#` lines are comments.

use crate::content::Catalog;
use crate::engine::{Input, Message};
use crate::render;
use crate::sender::{Deliver, DeliveryFuture};
use crate::session::Session;
use crate::store::{MemoryStore, Store};
use jiff::{SignedDuration, Timestamp};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// A sink that reaches everyone and keeps what it was given.
#[derive(Default)]
struct Collect {
    sent: Mutex<Vec<(String, Vec<Message>)>>,
}

impl Deliver for Collect {
    fn accepts(&self, _user: &str) -> bool {
        true
    }

    fn deliver<'a>(&'a self, user: &'a str, messages: Vec<Message>) -> DeliveryFuture<'a> {
        Box::pin(async move {
            if let Ok(mut sent) = self.sent.lock() {
                sent.push((user.to_string(), messages));
            }
            Ok(())
        })
    }
}

/// The outcome of one transcript.
#[derive(Debug)]
pub struct Outcome {
    /// The file.
    pub name: String,
    /// None when it passed; the first failure, with a readable diff, otherwise.
    pub failure: Option<String>,
}

/// Runs one transcript's text.
pub fn run_text(catalog: Arc<Catalog>, name: &str, text: &str) -> Outcome {
    let fail = |msg: String| Outcome {
        name: name.to_string(),
        failure: Some(msg),
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(format!("cannot start a runtime: {e}")),
    };
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let mut session = Session::new(catalog.clone(), store.clone());
    let mut now: Timestamp = "2026-01-05T09:00:00Z".parse().expect("a valid timestamp");
    let mut user = "terminal:tester".to_string();
    let mut reply_text = String::new();
    let mut reply_line = 0usize;
    let mut last_buttons: Vec<(String, String)> = Vec::new();
    let mut older_buttons: Vec<(String, String)> = Vec::new();
    let mut cursor = 0usize;
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = raw.trim_end();
        if line.trim().is_empty() {
            continue;
        }
        if let Some(d) = line.strip_prefix('#') {
            let d = d.trim();
            if let Some(v) = d.strip_prefix("clock:") {
                let v = v.split_whitespace().next().unwrap_or("");
                match v.parse::<Timestamp>() {
                    Ok(t) => now = t,
                    Err(e) => return fail(format!("{name}:{line_no}: bad clock `{v}`: {e}")),
                }
            } else if let Some(v) = d.strip_prefix("advance:") {
                match parse_duration(v.trim()) {
                    Some(dur) => now = now.saturating_add(dur).unwrap_or(now),
                    None => {
                        return fail(format!(
                            "{name}:{line_no}: bad duration `{}` (use 30s, 5m, 2h or 3d)",
                            v.trim()
                        ));
                    }
                }
            } else if let Some(v) = d.strip_prefix("user:") {
                user = crate::terminal::user_key(v.trim());
            } else if d == "restart" {
                session = Session::new(catalog.clone(), store.clone());
            } else if d == "tick" {
                let sink = Collect::default();
                // The scheduler's retention sweep first, then what is due (both deliver).
                if let Err(e) = rt.block_on(session.sweep_retention(now, &|_| true)) {
                    return fail(format!("{name}:{line_no}: store error: {e}"));
                }
                if let Err(e) = rt.block_on(crate::sender::run_due(&session, now, &sink)) {
                    return fail(format!("{name}:{line_no}: store error: {e}"));
                }
                let sent = sink.sent.into_inner().unwrap_or_default();
                let mine: Vec<Message> = sent
                    .into_iter()
                    .filter(|(u, _)| *u == user)
                    .flat_map(|(_, m)| m)
                    .collect();
                let (text, buttons) = flatten(&mine, &last_buttons);
                if buttons != last_buttons {
                    older_buttons = std::mem::replace(&mut last_buttons, buttons);
                }
                reply_text = text;
                reply_line = line_no;
                cursor = 0;
            }
            continue;
        }
        let press = line
            .strip_prefix(">>~ ")
            .map(|l| (l, true))
            .or_else(|| line.strip_prefix(">> ").map(|l| (l, false)));
        if let Some((label, old)) = press {
            let label = label.trim().trim_start_matches('[').trim_end_matches(']');
            let pool = if old { &older_buttons } else { &last_buttons };
            let Some((_, token)) = pool.iter().find(|(l, _)| l == label) else {
                let shown: Vec<_> = pool.iter().map(|(l, _)| format!("[{l}]")).collect();
                let which = if old {
                    "the reply before the last"
                } else {
                    "the last reply"
                };
                return fail(format!(
                    "{name}:{line_no}: no button [{label}] in {which}; it had: {}",
                    shown.join(" ")
                ));
            };
            let token = token.clone();
            match rt.block_on(session.handle(&user, Input::Button(token), None, now)) {
                Ok(r) => {
                    let (text, buttons) = flatten(&r.messages, &last_buttons);
                    if buttons != last_buttons {
                        older_buttons = std::mem::replace(&mut last_buttons, buttons);
                    }
                    reply_text = text;
                }
                Err(e) => return fail(format!("{name}:{line_no}: store error: {e}")),
            }
            reply_line = line_no;
            cursor = 0;
            continue;
        }
        if let Some(input) = line
            .strip_prefix("> ")
            .or_else(|| (line == ">").then_some(""))
        {
            let input = input.replace("\\n", "\n");
            match rt.block_on(session.handle(&user, Input::Text(input), None, now)) {
                Ok(r) => {
                    let (text, buttons) = flatten(&r.messages, &last_buttons);
                    if buttons != last_buttons {
                        older_buttons = std::mem::replace(&mut last_buttons, buttons);
                    }
                    reply_text = text;
                }
                Err(e) => return fail(format!("{name}:{line_no}: store error: {e}")),
            }
            reply_line = line_no;
            cursor = 0;
            continue;
        }
        if let Some(banned) = line.strip_prefix("<! ") {
            if reply_text.contains(banned.trim()) {
                return fail(format!(
                    "{name}:{line_no}: the reply to line {reply_line} contains `{}`, which it must not:\n{}",
                    banned.trim(),
                    indent(&reply_text)
                ));
            }
            continue;
        }
        if let Some(expected) = line.strip_prefix("< ").or_else(|| line.strip_prefix("<")) {
            let expected = expected.trim();
            let lines: Vec<&str> = reply_text.lines().collect();
            match lines.iter().skip(cursor).position(|l| l.contains(expected)) {
                Some(p) => cursor += p,
                None => {
                    let seen_earlier = lines.iter().take(cursor).any(|l| l.contains(expected));
                    let why = if seen_earlier {
                        " (it appears, but before the previous expected line)"
                    } else {
                        ""
                    };
                    return fail(format!(
                        "{name}:{line_no}: expected `{expected}` in the reply to line {reply_line}{why}; the reply was:\n{}",
                        indent(&reply_text)
                    ));
                }
            }
            continue;
        }
        return fail(format!(
            "{name}:{line_no}: cannot read this line (start it with >, >>, <, <! or #)"
        ));
    }
    Outcome {
        name: name.to_string(),
        failure: None,
    }
}

fn flatten(
    messages: &[crate::engine::Message],
    previous: &[(String, String)],
) -> (String, Vec<(String, String)>) {
    let text = render::plain_all_with_files(messages);
    let buttons: Vec<(String, String)> = messages
        .iter()
        .flat_map(|m| m.buttons.iter().map(|b| (b.label.clone(), b.token.clone())))
        .collect();
    // A reply without buttons leaves the earlier ones on screen, as in a real chat.
    let buttons = if buttons.is_empty() {
        previous.to_vec()
    } else {
        buttons
    };
    (text, buttons)
}

fn indent(s: &str) -> String {
    s.lines()
        .map(|l| format!("    | {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Parses `30s`, `5m`, `2h` or `3d`.
pub fn parse_duration(s: &str) -> Option<SignedDuration> {
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit())?);
    let n: i64 = num.parse().ok()?;
    let secs = match unit.trim() {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86400,
        _ => return None,
    };
    Some(SignedDuration::from_secs(secs))
}

/// Runs transcript files (or every `*.txt` under a folder), in name order.
pub fn run_paths(catalog: Arc<Catalog>, paths: &[&Path]) -> Vec<Outcome> {
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            if let Ok(rd) = std::fs::read_dir(p) {
                let mut v: Vec<_> = rd
                    .flatten()
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|e| e == "txt"))
                    .collect();
                v.sort();
                files.extend(v);
            }
        } else {
            files.push(p.to_path_buf());
        }
    }
    files
        .iter()
        .map(|f| {
            let name = f.display().to_string();
            match std::fs::read_to_string(f) {
                Ok(t) => run_text(catalog.clone(), &name, &t),
                Err(e) => Outcome {
                    name: name.clone(),
                    failure: Some(format!("{name}: cannot read: {e}")),
                },
            }
        })
        .collect()
}
