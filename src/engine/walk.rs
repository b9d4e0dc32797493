//! The guided walk through one lens.
//!
//! A lens is walked as a fixed sequence of stops, each with a stable id: `intro`; then for each
//! mode its summary (`awareness`) and its prompts (`awareness/aw-own-story`); the action mode's
//! suggested actions (`actions`); the advocacy mode's meeting lines (`meeting`); an `example`;
//! the lens's `resources`; and the `end`. The order comes from the content file, the ids from
//! its authors, so editing a file never changes what a stored position means. A stored stop
//! that no longer exists (a prompt deleted while someone stood on it) is mended: the person is
//! moved to the first prompt of that mode they have not answered, and told so.
//!
//! Back, skip, "skip this part", restart and "where was I?" work at every stop; every step
//! raises the progress grid (`started` on entering a mode, `done` on walking past its end).

use super::Ctx;
use super::output::{Button, Message};
use super::state::{At, CellStatus, Commitment, Reflection};
use crate::content::{Lens, ModeKind};

/// What a stop is.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Stop {
    Intro,
    Summary(ModeKind),
    Prompt(ModeKind, usize),
    Actions,
    Meeting,
    Example,
    Resources,
    End,
}

impl Stop {
    fn mode(&self) -> Option<ModeKind> {
        match self {
            Stop::Summary(m) | Stop::Prompt(m, _) => Some(*m),
            Stop::Actions => Some(ModeKind::Action),
            Stop::Meeting => Some(ModeKind::Advocacy),
            _ => None,
        }
    }
}

/// The stop ids of a lens, in walk order.
pub fn stops(lens: &Lens) -> &[String] {
    &lens.stops
}

/// Works out the stops of a lens (at load; see [`stops`]). The computation lives in
/// [`crate::content`], which builds each lens's stop list; re-exported here under its old path.
pub use crate::content::all_stops;

fn resolve(lens: &Lens, stop: &str) -> Option<Stop> {
    Some(match stop {
        "intro" => Stop::Intro,
        "actions" => Stop::Actions,
        "meeting" => Stop::Meeting,
        "example" => Stop::Example,
        "resources" => Stop::Resources,
        "end" => Stop::End,
        s => {
            if let Some(m) = ModeKind::parse(s) {
                Stop::Summary(m)
            } else {
                let (mode, id) = s.split_once('/')?;
                let m = ModeKind::parse(mode)?;
                let i = lens.mode(m).prompts.iter().position(|p| p.id == id)?;
                Stop::Prompt(m, i)
            }
        }
    })
}

/// The lens and stop the person is at (the lens borrowed from the catalog, not copied: this
/// runs on every step of a walk).
fn current<'a>(ctx: &Ctx<'a>) -> Option<(&'a Lens, String)> {
    let cat = ctx.cat;
    match &ctx.st.at {
        At::Lens { lens, stop } => Some((cat.lens(lens)?, stop.clone())),
        At::OwnAction { lens } => Some((cat.lens(lens)?, "actions".into())),
        _ => None,
    }
}

/// Opens a lens from what the person typed after `/lens` (a number, a name or a keyword);
/// with nothing typed, shows the lens menu.
pub fn open(ctx: &mut Ctx<'_>, arg: &str) {
    let arg = arg.trim();
    if arg.is_empty() {
        return lens_menu(ctx);
    }
    match find_lens(ctx, arg) {
        Some(id) => enter(ctx, &id, false),
        None => {
            let msg = ctx.tf("lens_unknown", &[("input", &super::text::shorten(arg, 40))]);
            ctx.say_text(msg);
            lens_menu(ctx);
        }
    }
}

fn find_lens(ctx: &Ctx<'_>, arg: &str) -> Option<String> {
    let lower = arg.to_lowercase();
    let lower = lower.trim_start_matches("lens").trim();
    if let Ok(n) = lower.parse::<u8>() {
        return ctx.cat.lens_by_number(n).map(|l| l.id.clone());
    }
    let q = crate::content::search::query_words(lower);
    if q.is_empty() {
        return None;
    }
    let mut best: Option<(u32, &Lens)> = None;
    for l in &ctx.cat.lenses {
        let name = crate::content::search::words(&l.name);
        let score = crate::content::search::score_fields(&q, &[(&l.keywords, 2), (&name, 2)]);
        if score > 0 && best.is_none_or(|(s, _)| score > s) {
            best = Some((score, l));
        }
    }
    best.map(|(_, l)| l.id.clone())
}

/// The six lenses as buttons, with the framework's advice to start with yourself.
pub fn lens_menu(ctx: &mut Ctx<'_>) {
    ctx.st.at = At::LensMenu;
    let mut buttons = Vec::new();
    let mut items = Vec::new();
    for l in &ctx.cat.lenses {
        let done = ModeKind::ALL
            .iter()
            .filter(|m| ctx.st.cell(&l.id, m.as_str()) == CellStatus::Done)
            .count();
        items.push(format!("{}. {} ({done}/3 done)", l.number, l.name));
        buttons.push(Button {
            label: super::text::shorten(&format!("{} {}", l.number, l.name), 40),
            token: format!("lens:{}", l.number),
        });
    }
    let m = Message::private()
        .title(ctx.t("lens_menu_title"))
        .para(ctx.t("lens_menu_advice"))
        .list(false, items)
        .buttons(buttons);
    ctx.say(m);
}

/// Enters a lens: where the person left it, or the start when new (or when `restart`).
pub fn enter(ctx: &mut Ctx<'_>, lens_id: &str, restart: bool) {
    let stop = match ctx.st.lens_at.get(lens_id).cloned() {
        Some(s) if !restart && s != "end" && s != "intro" => {
            let msg = ctx.t("lens_resumed");
            ctx.say_text(msg);
            s
        }
        _ => "intro".to_string(),
    };
    go(ctx, lens_id, &stop);
}

/// `/continue`: back to where the person was, or to the next unfinished lens.
pub fn resume(ctx: &mut Ctx<'_>) {
    match ctx.st.at.clone() {
        At::Lens { .. } | At::OwnAction { .. } => {
            let msg = ctx.t("resume_here");
            ctx.say_text(msg);
            show(ctx)
        }
        _ => {
            let last = ctx.st.last_lens.clone();
            match last {
                Some(id) if ctx.st.lens_at.get(&id).is_some_and(|s| s != "end") => {
                    enter(ctx, &id, false)
                }
                _ => {
                    // The first lens not yet done, starting from lens 1 as the framework suggests.
                    let next = ctx
                        .cat
                        .lenses
                        .iter()
                        .find(|l| {
                            ModeKind::ALL
                                .iter()
                                .any(|m| ctx.st.cell(&l.id, m.as_str()) != CellStatus::Done)
                        })
                        .map(|l| l.id.clone());
                    match next {
                        Some(id) => {
                            let msg = ctx.t("resume_next_lens");
                            ctx.say_text(msg);
                            enter(ctx, &id, false)
                        }
                        None => {
                            let msg = ctx.t("all_done");
                            ctx.say_text(msg);
                            lens_menu(ctx)
                        }
                    }
                }
            }
        }
    }
}

/// Moves to a stop of a lens and shows it; mends stops that no longer exist.
fn go(ctx: &mut Ctx<'_>, lens_id: &str, stop: &str) {
    let Some(lens) = ctx.cat.lens(lens_id).cloned() else {
        ctx.st.at = At::Idle;
        let msg = ctx.t("lens_gone");
        ctx.say_text(msg);
        return lens_menu(ctx);
    };
    let stop = match resolve(&lens, stop) {
        Some(_) => stop.to_string(),
        None => {
            let mended = mend(ctx, &lens, stop);
            let msg = ctx.t("content_changed");
            ctx.say_text(msg);
            mended
        }
    };
    if let Some(m) = resolve(&lens, &stop).and_then(|s| s.mode()) {
        ctx.st.raise_cell(&lens.id, m.as_str(), CellStatus::Started);
    }
    ctx.st.at = At::Lens {
        lens: lens.id.clone(),
        stop: stop.clone(),
    };
    ctx.st.lens_at.insert(lens.id.clone(), stop);
    ctx.st.last_lens = Some(lens.id.clone());
    ctx.st.example_turn = 0;
    show(ctx);
}

/// Where to put someone whose stop was removed: the first prompt of the same mode they have
/// not answered, else the stop after that mode's prompts; the intro when even the mode is
/// unknown.
fn mend(ctx: &Ctx<'_>, lens: &Lens, stop: &str) -> String {
    let Some(mode) = stop.split('/').next().and_then(ModeKind::parse) else {
        return "intro".into();
    };
    let m = lens.mode(mode);
    let answered = |id: &str| {
        ctx.st
            .reflections
            .iter()
            .any(|r| r.lens == lens.id && r.prompt == id)
    };
    if let Some(p) = m.prompts.iter().find(|p| !answered(&p.id)) {
        return format!("{}/{}", mode.as_str(), p.id);
    }
    let all = stops(lens);
    let last = m
        .prompts
        .last()
        .map(|p| format!("{}/{}", mode.as_str(), p.id))
        .unwrap_or_else(|| mode.as_str().to_string());
    let i = all.iter().position(|s| *s == last).unwrap_or(0);
    all.get(i + 1).cloned().unwrap_or_else(|| "end".into())
}

fn advance(ctx: &mut Ctx<'_>) {
    let Some((lens, stop)) = current(ctx) else {
        return;
    };
    let all = stops(lens);
    let i = all.iter().position(|s| *s == stop).unwrap_or(0);
    let next = all.get(i + 1).cloned().unwrap_or_else(|| "end".into());
    let here = resolve(lens, &stop).and_then(|s| s.mode());
    let there = resolve(lens, &next).and_then(|s| s.mode());
    if let Some(m) = here
        && there != Some(m)
    {
        ctx.st.raise_cell(&lens.id, m.as_str(), CellStatus::Done);
    }
    go(ctx, &lens.id, &next);
}

fn back(ctx: &mut Ctx<'_>) {
    let Some((lens, stop)) = current(ctx) else {
        return;
    };
    if matches!(ctx.st.at, At::OwnAction { .. }) {
        return go(ctx, &lens.id, "actions");
    }
    let all = stops(lens);
    let i = all.iter().position(|s| *s == stop).unwrap_or(0);
    if i == 0 {
        let msg = ctx.t("at_start");
        ctx.say_text(msg);
        return show(ctx);
    }
    go(ctx, &lens.id, &all[i - 1].clone());
}

/// Skips the rest of the current mode, to the next mode's summary (or the example).
fn skip_mode(ctx: &mut Ctx<'_>) {
    let Some((lens, stop)) = current(ctx) else {
        return;
    };
    let here = resolve(lens, &stop).and_then(|s| s.mode());
    let next = match here {
        Some(ModeKind::Awareness) => "action",
        Some(ModeKind::Action) => "advocacy",
        Some(ModeKind::Advocacy) => "example",
        None => return advance(ctx),
    };
    go(ctx, &lens.id, next);
}

/// A lens button or a typed choice of one.
pub fn act(ctx: &mut Ctx<'_>, verb: &str, arg: &str) {
    let Some((lens, stop)) = current(ctx) else {
        // A walk button when no longer walking: say where they are instead.
        let msg = ctx.t("stale_button");
        ctx.say_text(msg);
        return super::where_now(ctx);
    };
    match verb {
        "next" | "skip" => advance(ctx),
        "back" => back(ctx),
        "skipmode" => skip_mode(ctx),
        "restart" => enter(ctx, &lens.id, true),
        "goto" => match ModeKind::parse(arg) {
            Some(m) => go(ctx, &lens.id, m.as_str()),
            None => show(ctx),
        },
        "act" => commit(ctx, lens, arg),
        "own" => {
            ctx.st.at = At::OwnAction {
                lens: lens.id.clone(),
            };
            show(ctx)
        }
        "another" => {
            ctx.st.example_turn = ctx.st.example_turn.wrapping_add(1);
            show(ctx)
        }
        _ => {
            let _ = stop;
            let msg = ctx.t("stale_button");
            ctx.say_text(msg);
            show(ctx)
        }
    }
}

fn commit(ctx: &mut Ctx<'_>, lens: &Lens, action_id: &str) {
    let Some(a) = lens
        .mode(ModeKind::Action)
        .actions
        .iter()
        .find(|a| a.id == action_id)
        .cloned()
    else {
        let msg = ctx.t("content_changed");
        ctx.say_text(msg);
        return show(ctx);
    };
    let text = ctx.content(&a.text);
    let id = format!("a{}", ctx.st.actions.len() + 1);
    ctx.st.actions.push(Commitment {
        id,
        lens: lens.id.clone(),
        action: a.id.clone(),
        text: text.clone(),
        size: a.size.clone(),
        committed: ctx.now,
        done: None,
        dropped: None,
    });
    let msg = ctx.tf("action_committed", &[("action", &text)]);
    ctx.say_text(msg);
    advance(ctx);
}

/// Free text during a walk: a reflection, a meeting line or an own action, where one is
/// expected; otherwise a hint and the stop again.
pub fn text(ctx: &mut Ctx<'_>, t: &str) {
    let Some((lens, stop)) = current(ctx) else {
        return;
    };
    // One-word navigation is navigation, not a reflection, wherever the walk is.
    match t
        .trim()
        .trim_end_matches(['.', '!'])
        .to_lowercase()
        .as_str()
    {
        "next" | "skip" => return advance(ctx),
        "back" => return back(ctx),
        "restart" => return enter(ctx, &lens.id, true),
        _ => {}
    }
    if matches!(ctx.st.at, At::OwnAction { .. }) {
        let id = format!("a{}", ctx.st.actions.len() + 1);
        ctx.st.actions.push(Commitment {
            id,
            lens: lens.id.clone(),
            action: "own".into(),
            text: t.to_string(),
            size: "own".into(),
            committed: ctx.now,
            done: None,
            dropped: None,
        });
        ctx.st.at = At::Lens {
            lens: lens.id.clone(),
            stop: "actions".into(),
        };
        let msg = ctx.t("own_action_saved");
        ctx.say_text(msg);
        return advance(ctx);
    }
    match resolve(lens, &stop) {
        Some(Stop::Prompt(m, i)) => {
            let p = &lens.mode(m).prompts[i];
            let question = ctx.content(&p.text);
            ctx.st.reflections.push(Reflection {
                lens: lens.id.clone(),
                mode: m.as_str().into(),
                prompt: p.id.clone(),
                question,
                text: t.to_string(),
                at: ctx.now,
            });
            let msg = ctx.t("reflection_saved");
            ctx.say_text(msg);
            advance(ctx)
        }
        Some(Stop::Meeting) => {
            ctx.st.reflections.push(Reflection {
                lens: lens.id.clone(),
                mode: ModeKind::Advocacy.as_str().into(),
                prompt: "meeting".into(),
                question: ctx.t("meeting_question"),
                text: t.to_string(),
                at: ctx.now,
            });
            let msg = ctx.t("meeting_saved");
            ctx.say_text(msg);
            advance(ctx)
        }
        _ => {
            let msg = ctx.t("not_expecting_text");
            ctx.say_text(msg);
            show(ctx)
        }
    }
}

/// Shows the current stop.
pub fn show(ctx: &mut Ctx<'_>) {
    let Some((lens, stop)) = current(ctx) else {
        return lens_menu(ctx);
    };
    let n = lens.number.to_string();
    if matches!(ctx.st.at, At::OwnAction { .. }) {
        let m = Message::private()
            .title(ctx.tf("own_action_title", &[("n", &n)]))
            .para(ctx.t("own_action_ask"))
            .buttons(vec![ctx.button("button.back", "back")]);
        return ctx.say(m);
    }
    let Some(kind) = resolve(lens, &stop) else {
        return go(ctx, &lens.id.clone(), &stop);
    };
    let nav = |ctx: &Ctx<'_>| {
        vec![
            ctx.button("button.back", "back"),
            ctx.button("button.restart", "restart"),
        ]
    };
    let mode_name = |ctx: &Ctx<'_>, m: ModeKind| ctx.t(&format!("mode.{}", m.as_str()));
    let m = match kind {
        Stop::Intro => {
            let mut b = vec![ctx.button("button.begin", "next")];
            b.push(ctx.button("button.goto_action", "goto:action"));
            b.push(ctx.button("button.goto_advocacy", "goto:advocacy"));
            b.push(ctx.button("button.choose_lens", "lensmenu"));
            Message::private()
                .title(ctx.tf("lens_title", &[("n", &n), ("name", &lens.name)]))
                .para(ctx.content(&lens.intro))
                .para(ctx.t("lens_intro_hint"))
                .source(lens.source.clone())
                .buttons(b)
        }
        Stop::Summary(mk) => {
            let md = lens.mode(mk);
            let mut b = vec![
                ctx.button("button.next", "next"),
                ctx.button("button.skip_part", "skipmode"),
            ];
            b.extend(nav(ctx));
            Message::private()
                .title(ctx.tf(
                    "mode_title",
                    &[
                        ("n", &n),
                        ("name", &lens.name),
                        ("mode", &mode_name(ctx, mk)),
                    ],
                ))
                .para(ctx.content(&md.summary))
                .source(md.source.clone())
                .buttons(b)
        }
        Stop::Prompt(mk, i) => {
            let md = lens.mode(mk);
            let p = &md.prompts[i];
            let k = (i + 1).to_string();
            let total = md.prompts.len().to_string();
            let mut b = vec![
                ctx.button("button.skip", "skip"),
                ctx.button("button.skip_part", "skipmode"),
            ];
            b.extend(nav(ctx));
            Message::private()
                .title(ctx.tf(
                    "prompt_title",
                    &[
                        ("n", &n),
                        ("mode", &mode_name(ctx, mk)),
                        ("k", &k),
                        ("total", &total),
                    ],
                ))
                .para(ctx.content(&p.text))
                .para(ctx.t("prompt_hint"))
                .source(p.source.clone())
                .buttons(b)
        }
        Stop::Actions => {
            let md = lens.mode(ModeKind::Action);
            let mut items = Vec::new();
            let mut b = Vec::new();
            for (i, a) in md.actions.iter().enumerate() {
                let size = ctx.t(&format!("size.{}", a.size));
                items.push(format!("({size}) {}", ctx.content(&a.text)));
                b.push(Button {
                    label: ctx.tf("button.action_n", &[("k", &(i + 1).to_string())]),
                    token: format!("act:{}", a.id),
                });
            }
            b.push(ctx.button("button.write_own", "own"));
            b.push(ctx.button("button.skip", "skip"));
            b.push(ctx.button("button.back", "back"));
            let sources: Vec<String> = md.actions.iter().map(|a| a.source.clone()).collect();
            Message::private()
                .title(ctx.tf("actions_title", &[("n", &n)]))
                .para(ctx.t("actions_hint"))
                .list(true, items)
                .source(dedup(sources).join("; "))
                .buttons(b)
        }
        Stop::Meeting => {
            let md = lens.mode(ModeKind::Advocacy);
            let items = md
                .meeting_lines
                .iter()
                .map(|l| ctx.content(&l.text))
                .collect();
            let sources: Vec<String> = md.meeting_lines.iter().map(|l| l.source.clone()).collect();
            let mut b = vec![ctx.button("button.next", "next")];
            b.extend(nav(ctx));
            Message::private()
                .title(ctx.tf("meeting_title", &[("n", &n)]))
                .para(ctx.t("meeting_question"))
                .list(false, items)
                .para(ctx.t("meeting_hint"))
                .source(dedup(sources).join("; "))
                .buttons(b)
        }
        Stop::Example => example_message(ctx, lens),
        Stop::Resources => {
            let rs = super::lookup::lens_resources(ctx.cat, lens.number);
            let shown: Vec<_> = rs.iter().take(6).collect();
            let mut m = Message::private()
                .title(ctx.tf("resources_title", &[("n", &n)]))
                .para(ctx.tf(
                    "resources_hint",
                    &[("count", &rs.len().to_string()), ("n", &n)],
                ));
            for r in shown {
                m = super::lookup::resource_blocks(ctx, m, r);
            }
            let mut b = vec![
                ctx.button("button.finish_lens", "next"),
                ctx.button("button.more_resources", format!("reslens:{}", lens.number)),
            ];
            b.extend(nav(ctx));
            m.buttons(b)
        }
        Stop::End => {
            let reflections = ctx
                .st
                .reflections
                .iter()
                .filter(|r| r.lens == lens.id)
                .count();
            let actions = ctx.st.actions.iter().filter(|a| a.lens == lens.id).count();
            let mut b = Vec::new();
            if let Some(next) = ctx.cat.lens_by_number(lens.number + 1) {
                b.push(Button {
                    label: ctx.tf("button.next_lens", &[("n", &next.number.to_string())]),
                    token: format!("lens:{}", next.number),
                });
            }
            b.push(ctx.button("button.progress", "progress"));
            b.push(ctx.button("button.choose_lens", "lensmenu"));
            b.push(ctx.button("button.restart", "restart"));
            Message::private()
                .title(ctx.tf("lens_done_title", &[("n", &n), ("name", &lens.name)]))
                .para(ctx.tf(
                    "lens_done",
                    &[
                        ("reflections", &reflections.to_string()),
                        ("actions", &actions.to_string()),
                    ],
                ))
                .buttons(b)
        }
    };
    ctx.say(m);
}

fn dedup(mut v: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    v.retain(|s| seen.insert(s.clone()));
    v
}

/// Whether this lens's examples are the first the person meets on a walk (no other lens has
/// its advocacy part done, the step before the examples): the framework's word on what its
/// examples are for is said there, once, not in every lens.
fn first_examples(ctx: &Ctx<'_>, lens: &Lens) -> bool {
    !ctx.cat.lenses.iter().any(|l| {
        l.id != lens.id && ctx.st.cell(&l.id, ModeKind::Advocacy.as_str()) == CellStatus::Done
    })
}

/// The example stop: one tailored to the person's profession when the lens has one.
fn example_message(ctx: &Ctx<'_>, lens: &Lens) -> Message {
    let prof = ctx.st.profession.clone();
    let in_lens: Vec<_> = ctx
        .cat
        .examples
        .iter()
        .filter(|e| e.lenses.contains(&lens.number))
        .collect();
    let mine: Vec<_> = in_lens
        .iter()
        .filter(|e| prof.as_ref().is_some_and(|p| e.professions.contains(p)))
        .copied()
        .collect();
    let tailored = !mine.is_empty();
    let pool = if tailored { mine } else { in_lens };
    let mut b = vec![
        ctx.button("button.next", "next"),
        ctx.button("button.another_example", "another"),
        ctx.button("button.back", "back"),
    ];
    let title = ctx.tf("example_title", &[("n", &lens.number.to_string())]);
    if pool.is_empty() {
        b.remove(1);
        return Message::private()
            .title(title)
            .para(ctx.t("no_example"))
            .buttons(b);
    }
    let e = pool[ctx.st.example_turn as usize % pool.len()];
    let mut m = Message::private().title(title);
    if ctx.st.example_turn == 0 && first_examples(ctx, lens) {
        m = m.para(ctx.t("examples_spirit"));
    }
    if prof.is_some() && !tailored {
        m = m.para(ctx.tf(
            "example_not_tailored",
            &[("profession", &ctx.profession_name())],
        ));
    }
    m = super::lookup::example_blocks(ctx, m, e);
    if pool.len() == 1 {
        b.remove(1);
    }
    m.buttons(b)
}
