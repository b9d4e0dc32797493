//! The identifier guard in the conversation: before free text is saved as the person's own
//! words (a reflection, a meeting line, an own action, a note, a challenge reflection), it is
//! scanned ([`super::identifiers`]); when something could identify a patient or colleague,
//! nothing is saved yet. The person hears what kinds were noticed (never the matched words)
//! and chooses: "Save without it" (the matches replaced by placeholders such as `[patient]`),
//! "Let me rewrite it" (nothing saved, the same prompt again) or "Save as it is".
//!
//! Between the two turns the text waits in the state ([`super::state::PendingText`]), sealed
//! with the record like any reflection; anything else the person does drops it. Buttons carry
//! `pii:mask`, `pii:rewrite` and `pii:keep`.

use super::identifiers;
use super::output::Message;
use super::state::{At, PendingText};
use super::{Ctx, Input};

/// The action verb of the guard's buttons.
pub const VERB: &str = "pii";

/// Whether free text typed at `at` is saved as the person's own words (so it is checked
/// first). Lens stops with a `/` are prompts; `meeting` takes a line for a meeting.
pub fn saves_text(at: &At) -> bool {
    match at {
        At::Lens { stop, .. } => stop.contains('/') || stop == "meeting",
        At::OwnAction { .. } | At::EditAction { .. } | At::Note | At::ChallengeNote { .. } => true,
        _ => false,
    }
}

/// Whether an input answers the guard's question (its buttons, pressed or typed), so the
/// text waiting is kept for it; any other input drops the text. `/cancel` keeps it too, only
/// so that it can say the text was not saved.
pub fn answers(st: &super::UserState, input: &Input) -> bool {
    let action = match input {
        Input::Button(token) => token.split_once(':').map(|(_, a)| a.to_string()),
        Input::Text(t) if t.trim().eq_ignore_ascii_case("/cancel") => return true,
        Input::Text(t) => super::typed_choice(st, t),
        Input::Due { .. } => return true,
    };
    action.is_some_and(|a| a.starts_with(&format!("{VERB}:")))
}

/// Holds `text` back when it holds anything that could identify someone: asks the person
/// what to do and returns true (the caller saves nothing). `note` says it was typed as
/// `/note TEXT`. Returns false, saying nothing, when there is nothing to hold back.
pub fn hold(ctx: &mut Ctx<'_>, text: &str, note: bool) -> bool {
    let found = identifiers::scan(text);
    if found.is_empty() {
        return false;
    }
    ctx.st.pending = Some(PendingText {
        text: text.to_string(),
        note,
        at: ctx.st.at.clone(),
    });
    let kinds = identifiers::kinds(&found)
        .into_iter()
        .map(|k| ctx.t(&format!("pii.kind.{}", k.as_str())))
        .collect();
    let m = Message::private()
        .title(ctx.t("pii.title"))
        .para(ctx.t("pii.noticed"))
        .list(false, kinds)
        .para(ctx.t("pii.why"))
        .buttons(vec![
            ctx.button("button.pii_mask", format!("{VERB}:mask")),
            ctx.button("button.pii_rewrite", format!("{VERB}:rewrite")),
            ctx.button("button.pii_keep", format!("{VERB}:keep")),
        ]);
    ctx.say(m);
    true
}

/// The person's choice: `mask`, `rewrite` or `keep`.
pub fn choose(ctx: &mut Ctx<'_>, choice: &str) {
    let Some(p) = ctx.st.pending.take() else {
        let msg = ctx.t("pii.gone");
        ctx.say_text(msg);
        return super::where_now(ctx);
    };
    if p.at != ctx.st.at {
        let msg = ctx.t("pii.gone");
        ctx.say_text(msg);
        return super::where_now(ctx);
    }
    let text = match choice {
        // Free text offered as a note ([`super::free`]): checked like any note first.
        "note" => {
            if hold(ctx, &p.text, true) {
                return;
            }
            p.text
        }
        "mask" => {
            let found = identifiers::scan(&p.text);
            let masked = identifiers::mask(&p.text, &found, |m| ctx.t(&format!("pii.mask.{m}")));
            let msg = ctx.t("pii.masked");
            ctx.say_text(msg);
            masked
        }
        "keep" => p.text,
        _ => {
            let msg = ctx.t("pii.rewrite");
            ctx.say_text(msg);
            return super::where_now(ctx);
        }
    };
    if p.note {
        super::account::save_note(ctx, &text)
    } else {
        super::save_text(ctx, &text)
    }
}
