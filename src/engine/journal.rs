//! `/journal`: the person's own words back, readable. Their actions with what became of them
//! (committed, done, dropped) and a button each to mark one done, change it or drop it; their
//! reflections under the prompt that led to them, by lens and mode, with dates; the lines they
//! saved for meetings; their notes; the meeting prompts they saved from `/prep`.
//!
//! A journal can be long, so it is cut into pages of about [`PAGE_CHARS`] characters (under
//! Discord's 2,000 and Telegram's 4,096 per message, so a page is one message on both), with
//! buttons to turn them. Showing it moves nobody: someone in the middle of a lens is still
//! there, and the journal offers the way back. Private, like everything about one person.

use super::Ctx;
use super::output::{Block, Button, Message};
use super::state::{At, Commitment, Note, Reflection};
use crate::content::ModeKind;
use jiff::Timestamp;

/// About how many characters of text a page holds before the next starts.
pub const PAGE_CHARS: usize = 1500;

/// The most action buttons on one page (Discord shows at most 25 buttons on a message).
const MAX_ACTION_BUTTONS: usize = 15;

/// Blocks kept together on one page, and the action they show, if one.
struct Unit {
    blocks: Vec<Block>,
    action: Option<String>,
}

impl Unit {
    fn len(&self) -> usize {
        self.blocks
            .iter()
            .map(|b| match b {
                Block::Title(t) | Block::Para(t) | Block::Source(t) => t.chars().count() + 2,
                Block::List { items, .. } => items.iter().map(|i| i.chars().count() + 3).sum(),
                Block::Link { text, url } => text.chars().count() + url.chars().count() + 2,
            })
            .sum()
    }
}

/// One page: its blocks, and the ids of the actions shown on it.
struct Page {
    blocks: Vec<Block>,
    actions: Vec<String>,
}

/// A date as people read it, in the person's time zone: "5 Jan 2026".
fn date(ctx: &Ctx<'_>, at: Timestamp) -> String {
    let name = ctx
        .st
        .timezone
        .clone()
        .unwrap_or_else(|| ctx.cat.defaults.timezone.clone());
    let tz = super::zones::of(Some(&name));
    at.to_zoned(tz).strftime("%-d %b %Y").to_string()
}

/// What became of an action, in words, with its date.
fn action_state(ctx: &Ctx<'_>, a: &Commitment) -> String {
    match (a.done, a.dropped) {
        (Some(d), _) => ctx.tf("journal_state_done", &[("date", &date(ctx, d))]),
        (None, Some(d)) => ctx.tf("journal_state_dropped", &[("date", &date(ctx, d))]),
        (None, None) => ctx.tf(
            "journal_state_committed",
            &[("date", &date(ctx, a.committed))],
        ),
    }
}

/// The lens number of a lens id, for labels ("lens 2"); the id itself when unknown.
fn lens_label(ctx: &Ctx<'_>, lens: &str) -> String {
    match ctx.cat.lens(lens) {
        Some(l) => ctx.tf("journal_lens", &[("n", &l.number.to_string())]),
        None => lens.to_string(),
    }
}

/// Everything in the journal, as units in reading order.
fn units(ctx: &Ctx<'_>) -> Vec<Unit> {
    let mut out = Vec::new();
    // Actions, with their state; each its own unit so it carries its button to its page.
    for (i, a) in ctx.st.actions.iter().enumerate() {
        let mut blocks = Vec::new();
        if i == 0 {
            blocks.push(Block::Title(ctx.t("journal_actions")));
        }
        blocks.push(Block::Para(ctx.tf(
            "journal_action",
            &[
                ("k", &(i + 1).to_string()),
                ("text", &a.text),
                ("lens", &lens_label(ctx, &a.lens)),
                ("state", &action_state(ctx, a)),
            ],
        )));
        out.push(Unit {
            blocks,
            action: Some(a.id.clone()),
        });
    }
    // Reflections, by lens and mode, each under its prompt (content order, then any prompt no
    // longer in the content, in the order written).
    let mut lens_ids: Vec<String> = ctx.cat.lenses.iter().map(|l| l.id.clone()).collect();
    for r in &ctx.st.reflections {
        if !lens_ids.contains(&r.lens) {
            lens_ids.push(r.lens.clone());
        }
    }
    for lens_id in &lens_ids {
        let lens = ctx.cat.lens(lens_id);
        let modes: Vec<String> = ModeKind::ALL
            .iter()
            .map(|m| m.as_str().to_string())
            .chain(
                ctx.st
                    .reflections
                    .iter()
                    .filter(|r| r.lens == *lens_id && ModeKind::parse(&r.mode).is_none())
                    .map(|r| r.mode.clone()),
            )
            .collect();
        for mode in &modes {
            let mine: Vec<&Reflection> = ctx
                .st
                .reflections
                .iter()
                .filter(|r| r.lens == *lens_id && r.mode == *mode && r.prompt != "meeting")
                .collect();
            if mine.is_empty() {
                continue;
            }
            let mut prompts: Vec<&str> = Vec::new();
            if let (Some(l), Some(m)) = (lens, ModeKind::parse(mode)) {
                prompts.extend(l.mode(m).prompts.iter().map(|p| p.id.as_str()));
            }
            for r in &mine {
                if !prompts.contains(&r.prompt.as_str()) {
                    prompts.push(&r.prompt);
                }
            }
            let heading = match lens {
                Some(l) => ctx.tf(
                    "journal_lens_mode",
                    &[
                        ("n", &l.number.to_string()),
                        ("name", &l.name),
                        ("mode", &ctx.t(&format!("mode.{mode}"))),
                    ],
                ),
                None => format!("{lens_id}, {mode}"),
            };
            let mut first = true;
            for p in prompts {
                let answers: Vec<&&Reflection> = mine.iter().filter(|r| r.prompt == p).collect();
                let Some(q) = answers.first() else {
                    continue;
                };
                let mut blocks = Vec::new();
                if first {
                    blocks.push(Block::Title(heading.clone()));
                    first = false;
                }
                blocks.push(Block::Para(q.question.clone()));
                blocks.push(Block::List {
                    numbered: false,
                    items: answers
                        .iter()
                        .map(|r| {
                            ctx.tf(
                                "journal_dated",
                                &[("date", &date(ctx, r.at)), ("text", &r.text)],
                            )
                        })
                        .collect(),
                });
                out.push(Unit {
                    blocks,
                    action: None,
                });
            }
        }
    }
    // Lines saved for meetings.
    let lines: Vec<&Reflection> = ctx
        .st
        .reflections
        .iter()
        .filter(|r| r.prompt == "meeting")
        .collect();
    dated_section(
        ctx,
        &mut out,
        "journal_lines",
        lines.iter().map(|r| (r.at, &r.text, Some(&r.lens))),
    );
    let (prep, notes): (Vec<&Note>, Vec<&Note>) =
        ctx.st.notes.iter().partition(|n| n.prep.is_some());
    dated_section(
        ctx,
        &mut out,
        "journal_notes",
        notes.iter().map(|n| (n.at, &n.text, n.lens.as_ref())),
    );
    dated_section(
        ctx,
        &mut out,
        "journal_prep",
        prep.iter().map(|n| (n.at, &n.text, None)),
    );
    out
}

/// A titled section of dated entries, a unit each (the title with the first).
fn dated_section<'s>(
    ctx: &Ctx<'_>,
    out: &mut Vec<Unit>,
    title: &str,
    entries: impl Iterator<Item = (Timestamp, &'s String, Option<&'s String>)>,
) {
    for (i, (at, text, lens)) in entries.enumerate() {
        let mut blocks = Vec::new();
        if i == 0 {
            blocks.push(Block::Title(ctx.t(title)));
        }
        let mut line = ctx.tf("journal_dated", &[("date", &date(ctx, at)), ("text", text)]);
        if let Some(l) = lens {
            line = ctx.tf(
                "journal_with_lens",
                &[("entry", &line), ("lens", &lens_label(ctx, l))],
            );
        }
        blocks.push(Block::List {
            numbered: false,
            items: vec![line],
        });
        out.push(Unit {
            blocks,
            action: None,
        });
    }
}

/// The journal cut into pages of about [`PAGE_CHARS`] characters.
fn pages(ctx: &Ctx<'_>) -> Vec<Page> {
    let mut out: Vec<Page> = Vec::new();
    let mut len = 0;
    for u in units(ctx) {
        let l = u.len();
        if out.is_empty() || (len > 0 && len + l > PAGE_CHARS) {
            out.push(Page {
                blocks: Vec::new(),
                actions: Vec::new(),
            });
            len = 0;
        }
        let page = out.last_mut().expect("a page");
        page.blocks.extend(u.blocks);
        page.actions.extend(u.action);
        len += l;
    }
    out
}

/// `/journal [page]`: one page of the journal (the first when none is given).
pub fn journal(ctx: &mut Ctx<'_>, page: usize) {
    let all = pages(ctx);
    let mut b: Vec<Button> = Vec::new();
    let mut m = Message::private();
    if all.is_empty() {
        m = m.title(ctx.t("journal_title")).para(ctx.t("journal_empty"));
    } else {
        let k = page.clamp(1, all.len());
        let p = &all[k - 1];
        let title = if all.len() > 1 {
            ctx.tf(
                "journal_title_page",
                &[("k", &k.to_string()), ("total", &all.len().to_string())],
            )
        } else {
            ctx.t("journal_title")
        };
        m = m.title(title);
        if k == 1 {
            m = m.para(ctx.t("journal_intro"));
        }
        m.blocks.extend(p.blocks.iter().cloned());
        for id in p.actions.iter().take(MAX_ACTION_BUTTONS) {
            let n = ctx
                .st
                .actions
                .iter()
                .position(|a| a.id == *id)
                .map_or(0, |i| i + 1);
            b.push(Button {
                label: ctx.tf("button.action_n", &[("k", &n.to_string())]),
                token: format!("myaction:{id}"),
            });
        }
        if k > 1 {
            b.push(Button {
                label: ctx.t("button.page_back"),
                token: format!("journal:{}", k - 1),
            });
        }
        if k < all.len() {
            b.push(Button {
                label: ctx.t("button.page_next"),
                token: format!("journal:{}", k + 1),
            });
        }
    }
    if matches!(ctx.st.at, At::Lens { .. } | At::OwnAction { .. }) {
        b.push(ctx.button("button.back_to_lens", "continue"));
    } else {
        b.push(ctx.button("button.progress", "progress"));
    }
    ctx.say(m.buttons(b));
}

/// One committed action, with what can be done about it.
pub fn action_card(ctx: &mut Ctx<'_>, id: &str) {
    let Some((i, a)) = ctx
        .st
        .actions
        .iter()
        .enumerate()
        .find(|(_, a)| a.id == id)
        .map(|(i, a)| (i, a.clone()))
    else {
        let msg = ctx.t("content_changed");
        ctx.say_text(msg);
        return journal(ctx, 1);
    };
    let mut b = Vec::new();
    if a.done.is_none() && a.dropped.is_none() {
        b.push(ctx.button("button.mark_done", format!("mark:{id}:done")));
        b.push(ctx.button("button.change_action", format!("mark:{id}:change")));
        b.push(ctx.button("button.drop_action", format!("mark:{id}:drop")));
    } else {
        b.push(ctx.button("button.reopen_action", format!("mark:{id}:reopen")));
    }
    b.push(ctx.button("button.journal", "journal"));
    let m = Message::private()
        .title(ctx.tf(
            "journal_action_title",
            &[
                ("k", &(i + 1).to_string()),
                ("lens", &lens_label(ctx, &a.lens)),
            ],
        ))
        .para(a.text.clone())
        .para(action_state(ctx, &a))
        .buttons(b);
    ctx.say(m);
}

/// Marks an action done, dropped or open again, or asks for its new wording: `ID:VERB`.
pub fn mark(ctx: &mut Ctx<'_>, arg: &str) {
    let Some((id, verb)) = arg.rsplit_once(':') else {
        return journal(ctx, 1);
    };
    let Some(i) = ctx.st.actions.iter().position(|a| a.id == id) else {
        let msg = ctx.t("content_changed");
        ctx.say_text(msg);
        return journal(ctx, 1);
    };
    let now = ctx.now;
    let key = match verb {
        "done" => {
            ctx.st.actions[i].done = Some(now);
            "journal_marked_done"
        }
        "drop" => {
            ctx.st.actions[i].dropped = Some(now);
            "journal_marked_dropped"
        }
        "reopen" => {
            ctx.st.actions[i].done = None;
            ctx.st.actions[i].dropped = None;
            "journal_reopened"
        }
        "change" => {
            ctx.st.at = At::EditAction {
                action: id.to_string(),
            };
            return ask_change(ctx);
        }
        _ => return action_card(ctx, id),
    };
    if matches!(verb, "done" | "drop") {
        // A check-in reminder about it would only ask what has been answered.
        ctx.st.reminders.retain(
            |r| !matches!(&r.kind, super::state::ReminderKind::Action { action } if action == id),
        );
    }
    let msg = ctx.t(key);
    ctx.say_text(msg);
    show_action_page(ctx, id);
}

/// The journal page that shows an action.
fn show_action_page(ctx: &mut Ctx<'_>, id: &str) {
    let k = pages(ctx)
        .iter()
        .position(|p| p.actions.iter().any(|a| a == id))
        .map_or(1, |k| k + 1);
    journal(ctx, k)
}

/// Asks for an action's new wording (the person is at [`At::EditAction`]).
pub fn ask_change(ctx: &mut Ctx<'_>) {
    let At::EditAction { action } = ctx.st.at.clone() else {
        return;
    };
    let Some(a) = ctx.st.actions.iter().find(|a| a.id == action) else {
        ctx.st.at = At::Idle;
        return journal(ctx, 1);
    };
    let m = Message::private()
        .para(ctx.tf("journal_change_ask", &[("action", &a.text)]))
        .buttons(vec![ctx.button("button.keep_action", "journal")]);
    ctx.say(m);
}

/// The new wording of an action, typed.
pub fn change(ctx: &mut Ctx<'_>, t: &str) {
    let At::EditAction { action } = ctx.st.at.clone() else {
        return;
    };
    ctx.st.at = At::Idle;
    match ctx.st.actions.iter_mut().find(|a| a.id == action) {
        Some(a) => {
            a.text = t.to_string();
            let msg = ctx.t("journal_changed");
            ctx.say_text(msg);
            show_action_page(ctx, &action)
        }
        None => journal(ctx, 1),
    }
}
