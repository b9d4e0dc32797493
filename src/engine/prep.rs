//! `/prep`: something to say or listen for, two minutes before a meeting.
//!
//! Three taps at most: `/prep` shows the meeting types, one tap gives a prompt (one question to
//! raise, one thing to listen for, a fact with its source where it helps). `/prep team` is a
//! single step. "Another one" rotates through that meeting's prompts; "Save to my notes" keeps
//! the prompt privately. Replies are private (ephemeral on Discord).

use super::Ctx;
use super::output::{Button, Message};
use super::state::{At, Note};
use crate::content::search::{query_words, score_fields, words};
use crate::content::{Catalog, Meeting};

/// Finds the meeting type someone typed: id, name or keywords, typo-tolerant.
pub fn find_meeting(cat: &Catalog, text: &str) -> Option<String> {
    let lower = text.trim().to_lowercase();
    if let Some(m) = cat
        .meetings
        .iter()
        .find(|m| m.id == lower || m.name.to_lowercase() == lower)
    {
        return Some(m.id.clone());
    }
    let q = query_words(&lower);
    if q.is_empty() {
        return None;
    }
    let mut best: Option<(u32, &Meeting)> = None;
    for m in &cat.meetings {
        let name = words(&m.name);
        // Any query word may match ("my MDT this afternoon").
        let s: u32 = q
            .iter()
            .map(|w| score_fields(std::slice::from_ref(w), &[(&m.keywords, 3), (&name, 2)]))
            .sum();
        if s > 0 && best.is_none_or(|(b, _)| s > b) {
            best = Some((s, m));
        }
    }
    best.map(|(_, m)| m.id.clone())
}

/// `/prep [meeting type]`.
pub fn prep(ctx: &mut Ctx<'_>, arg: &str) {
    let arg = arg.trim();
    if !arg.is_empty() {
        if let Some(id) = find_meeting(ctx.cat, arg) {
            return prompt(ctx, &id);
        }
        let msg = ctx.tf("prep_unknown", &[("input", &super::text::shorten(arg, 40))]);
        ctx.say_text(msg);
    }
    menu(ctx);
}

/// The meeting types as buttons.
pub fn menu(ctx: &mut Ctx<'_>) {
    ctx.st.at = At::PrepMenu;
    let buttons = ctx
        .cat
        .meetings
        .iter()
        .map(|m| Button {
            label: m.name.clone(),
            token: format!("prep:{}", m.id),
        })
        .collect();
    let m = Message::private()
        .title(ctx.t("prep_title"))
        .para(ctx.t("prep_ask"))
        .buttons(buttons);
    ctx.say(m);
}

/// One prompt for a meeting type, rotating through its prompts.
pub fn prompt(ctx: &mut Ctx<'_>, meeting_id: &str) {
    prompt_with(ctx, meeting_id, true)
}

/// A prompt a reminder brought: the same, without "Remind me before this" (it has its
/// reminder already).
pub fn prompt_from_reminder(ctx: &mut Ctx<'_>, meeting_id: &str) {
    prompt_with(ctx, meeting_id, false)
}

fn prompt_with(ctx: &mut Ctx<'_>, meeting_id: &str, offer_reminder: bool) {
    let Some(m) = ctx
        .cat
        .meetings
        .iter()
        .find(|m| m.id == meeting_id)
        .cloned()
    else {
        return menu(ctx);
    };
    if m.prompts.is_empty() {
        return menu(ctx);
    }
    let p = &m.prompts[ctx.st.prep_turn as usize % m.prompts.len()];
    ctx.st.prep_turn = ctx.st.prep_turn.wrapping_add(1);
    ctx.effects.push(super::Effect::MeetingPrompt {
        meeting: m.id.clone(),
    });
    if ctx.st.at == At::PrepMenu {
        ctx.st.at = At::Idle;
    }
    let mut msg = Message::private()
        .title(ctx.tf(
            "prep_prompt_title",
            &[("meeting", &super::text::mid_sentence(&m.name))],
        ))
        .para(ctx.tf("prep_raise", &[("text", &p.raise)]))
        .para(ctx.tf("prep_listen", &[("text", &p.listen)]))
        .source(p.source.clone());
    if let Some(f) = p.fact.as_deref().and_then(|id| ctx.cat.fact(id)) {
        msg = msg
            .para(ctx.tf("prep_fact", &[("text", &f.text)]))
            .source(f.source.clone());
    }
    if let Some(l) = ctx.cat.lens_by_number(p.lens) {
        msg = msg.para(ctx.tf(
            "prep_lens",
            &[("n", &l.number.to_string()), ("name", &l.name)],
        ));
    }
    let buttons = vec![
        Button {
            label: ctx.t("button.another_prompt"),
            token: format!("prep:{}", m.id),
        },
        Button {
            label: ctx.t("button.save_note"),
            token: format!("prepsave:{}", p.id),
        },
    ];
    let mut buttons = buttons;
    if offer_reminder {
        buttons.push(Button {
            label: ctx.t("button.remind_before"),
            token: format!("remindprep:{}", m.id),
        });
    }
    ctx.say(msg.buttons(buttons));
}

/// "Save to my notes": keeps the prompt as a private note.
pub fn save(ctx: &mut Ctx<'_>, prompt_id: &str) {
    let found = ctx.cat.meetings.iter().find_map(|m| {
        m.prompts
            .iter()
            .find(|p| p.id == prompt_id)
            .map(|p| (m.name.clone(), p.clone()))
    });
    let Some((meeting, p)) = found else {
        let msg = ctx.t("content_changed");
        return ctx.say_text(msg);
    };
    let text = ctx.tf(
        "prep_note",
        &[
            ("meeting", &meeting),
            ("raise", &p.raise),
            ("listen", &p.listen),
        ],
    );
    ctx.st.notes.push(Note {
        text,
        lens: ctx.cat.lens_by_number(p.lens).map(|l| l.id.clone()),
        at: ctx.now,
        prep: Some(p.id.clone()),
    });
    let count = ctx.st.notes.len().to_string();
    let msg = ctx.tf("note_saved", &[("count", &count)]);
    ctx.say_text(msg);
}
