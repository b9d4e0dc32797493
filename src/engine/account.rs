//! The person's own things: welcome, help, profession, progress, notes, my data, forget me.
//!
//! Everything here is private: it is about one person and never goes to a shared channel.

use super::output::{Button, Message};
use super::state::{At, CellStatus, Note};
use super::{COMMANDS, Ctx, Effect};
use crate::content::ModeKind;

/// `/start`: welcome, the framework's advice to begin with yourself, and first choices.
pub fn start(ctx: &mut Ctx<'_>) {
    ctx.st.at = At::Idle;
    let mut b = vec![
        ctx.button("button.start_lens1", "lens:1"),
        ctx.button("button.choose_lens", "lensmenu"),
        ctx.button("button.before_meeting", "prepmenu"),
    ];
    if ctx.st.profession.is_none() {
        b.push(ctx.button("button.set_profession", "profmenu"));
    }
    if ctx.st.last_lens.is_some() {
        b.insert(0, ctx.button("button.continue", "continue"));
    }
    b.push(ctx.button("button.settings", "settings"));
    b.push(ctx.button("button.help", "help"));
    let m = Message::private()
        .title(ctx.t("welcome_title"))
        .para(ctx.t("welcome"))
        .buttons(b);
    ctx.say(m);
}

/// What to do next, when nothing is under way.
pub fn menu(ctx: &mut Ctx<'_>) {
    let mut b = vec![ctx.button("button.choose_lens", "lensmenu")];
    if ctx.st.last_lens.is_some() {
        b.insert(0, ctx.button("button.continue", "continue"));
    }
    b.push(ctx.button("button.progress", "progress"));
    b.push(ctx.button("button.help", "help"));
    let m = Message::private().para(ctx.t("menu")).buttons(b);
    ctx.say(m);
}

/// `/help`: every command in one list.
pub fn help(ctx: &mut Ctx<'_>) {
    let items = COMMANDS
        .iter()
        .map(|(c, _)| format!("/{c}: {}", ctx.t(&format!("cmd.{c}"))))
        .collect();
    let m = Message::public()
        .title(ctx.t("help_title"))
        .para(ctx.t("help_intro"))
        .list(false, items)
        .para(ctx.t("help_insights"))
        .para(ctx.t("help_buttons"))
        .buttons(vec![ctx.button("button.settings", "settings")]);
    ctx.say(m);
}

/// The professions as buttons.
pub fn profession_menu(ctx: &mut Ctx<'_>) {
    ctx.st.at = At::Profession;
    let mut b: Vec<Button> = ctx
        .cat
        .professions
        .iter()
        .map(|p| Button {
            label: p.name.clone(),
            token: format!("prof:{}", p.id),
        })
        .collect();
    b.push(ctx.button("button.prefer_not", "prof:none"));
    let current = match ctx
        .st
        .profession
        .as_deref()
        .and_then(|p| ctx.cat.profession(p))
    {
        Some(p) => ctx.tf(
            "profession_current",
            &[("profession", &super::text::mid_sentence(&p.name))],
        ),
        None => ctx.t("profession_none_yet"),
    };
    let m = Message::private()
        .title(ctx.t("profession_title"))
        .para(current)
        .para(ctx.t("profession_ask"))
        .buttons(b);
    ctx.say(m);
}

/// Sets (or clears, with `none`) the profession.
pub fn set_profession(ctx: &mut Ctx<'_>, id: &str) {
    if id == "none" {
        ctx.st.profession = None;
        ctx.st.at = At::Idle;
        let msg = ctx.t("profession_cleared");
        ctx.say_text(msg);
        return menu(ctx);
    }
    match ctx.cat.profession(id) {
        Some(p) => {
            let name = super::text::mid_sentence(&p.name);
            ctx.st.profession = Some(p.id.clone());
            ctx.st.at = At::Idle;
            let msg = ctx.tf("profession_set", &[("profession", &name)]);
            ctx.say_text(msg);
            menu(ctx)
        }
        None => profession_menu(ctx),
    }
}

/// A typed profession ("physio", "SLT", "dietician").
pub fn set_profession_typed(ctx: &mut Ctx<'_>, text: &str) {
    match super::lookup::profession_from_text(ctx.cat, text) {
        Some(id) => set_profession(ctx, &id),
        None => {
            let msg = ctx.tf(
                "profession_unknown",
                &[("input", &super::text::shorten(text, 40))],
            );
            ctx.say_text(msg);
            profession_menu(ctx)
        }
    }
}

/// `/progress`: the 6 × 3 grid, reflections, actions and notes.
pub fn progress(ctx: &mut Ctx<'_>) {
    let mark = |s: CellStatus| match s {
        CellStatus::Done => "●",
        CellStatus::Started => "◐",
        CellStatus::NotStarted => "○",
    };
    let mut rows = Vec::new();
    let mut done = 0;
    for l in &ctx.cat.lenses {
        let cells: Vec<String> = ModeKind::ALL
            .iter()
            .map(|m| {
                let s = ctx.st.cell(&l.id, m.as_str());
                if s == CellStatus::Done {
                    done += 1;
                }
                format!("{} {}", mark(s), ctx.t(&format!("mode.{}", m.as_str())))
            })
            .collect();
        rows.push(format!("{} {}: {}", l.number, l.name, cells.join("  ")));
    }
    let reflections = ctx.st.reflections.len().to_string();
    let committed = ctx.st.actions.len().to_string();
    let actions_done = ctx
        .st
        .actions
        .iter()
        .filter(|a| a.done.is_some())
        .count()
        .to_string();
    let notes = ctx.st.notes.len().to_string();
    let cells_done = done.to_string();
    let m = Message::private()
        .title(ctx.t("progress_title"))
        .list(false, rows)
        .para(ctx.t("progress_legend"))
        .para(ctx.tf(
            "progress_counts",
            &[
                ("cells", &cells_done),
                ("reflections", &reflections),
                ("actions", &committed),
                ("done", &actions_done),
                ("notes", &notes),
            ],
        ))
        .buttons(vec![
            ctx.button("button.continue", "continue"),
            ctx.button("button.journal", "journal"),
            ctx.button("button.choose_lens", "lensmenu"),
        ])
        .file(super::export::progress_picture(ctx));
    ctx.say(m);
}

/// `/note` with nothing after it: ask for the note.
pub fn ask_note(ctx: &mut Ctx<'_>) {
    ctx.st.at = At::Note;
    let msg = ctx.t("note_ask");
    ctx.say_text(msg);
}

/// Saves a note, tagged with the lens the person is in, if any.
pub fn save_note(ctx: &mut Ctx<'_>, text: &str) {
    let lens = match &ctx.st.at {
        At::Lens { lens, .. } | At::OwnAction { lens } => Some(lens.clone()),
        _ => ctx.st.last_lens.clone(),
    };
    ctx.st.notes.push(Note {
        text: text.to_string(),
        lens,
        at: ctx.now,
        prep: None,
    });
    let count = ctx.st.notes.len().to_string();
    let msg = ctx.tf("note_saved", &[("count", &count)]);
    ctx.say_text(msg);
    if ctx.st.at == At::Note {
        ctx.st.at = At::Idle;
    } else if matches!(ctx.st.at, At::Lens { .. }) {
        super::walk::show(ctx);
    }
}

/// `/mydata`: everything held, as a JSON file, with its fields explained.
pub fn mydata(ctx: &mut Ctx<'_>) {
    let m = Message::private()
        .title(ctx.t("mydata_title"))
        .para(ctx.t("mydata_intro"))
        .para(super::retention::describe(ctx))
        .para(ctx.t("mydata_fields"))
        .para(ctx.t("mydata_tally"))
        .file(super::export::mydata_file(ctx));
    ctx.say(m);
}

/// `/forgetme`: ask to confirm.
pub fn forget(ctx: &mut Ctx<'_>) {
    ctx.st.at = At::ConfirmForget;
    let m = Message::private()
        .title(ctx.t("forget_title"))
        .para(ctx.t(if ctx.st.accounts.is_empty() {
            "forget_ask"
        } else {
            "forget_ask_linked"
        }))
        .buttons(vec![
            ctx.button("button.forget_yes", "forget:yes"),
            ctx.button("button.forget_no", "forget:no"),
        ]);
    ctx.say(m);
}

/// The answer to `/forgetme`.
pub fn confirm_forget(ctx: &mut Ctx<'_>, yes: bool) {
    if ctx.st.at != At::ConfirmForget {
        return super::where_now(ctx);
    }
    if yes {
        ctx.effects.push(Effect::Forget);
        let msg = ctx.t(if ctx.st.accounts.is_empty() {
            "forget_done"
        } else {
            "forget_done_linked"
        });
        ctx.say_text(msg);
    } else {
        ctx.st.at = At::Idle;
        let msg = ctx.t("forget_cancelled");
        ctx.say_text(msg);
    }
}
