//! The guided walk through one lens.
//!
//! A lens's stops each have a stable id: `intro`; for each mode its summary (`awareness`) and
//! its prompts (`awareness/aw-own-story`); the action mode's suggested actions (`actions`); the
//! advocacy mode's meeting lines (`meeting`); an `example`; the lens's `resources`; the `end`.
//! Ids come from the content's authors, so editing a file never changes what a stored
//! position means.
//!
//! A person walks a lens on a route ([`Route`], kept per lens in their state). The short
//! route, the default, takes about five minutes: the intro's first sentence, then in each mode
//! the summary's first sentence with the mode's core prompt, the suggested actions (one of each
//! size; all on request) to commit to one or more, the meeting lines to pick from, an example;
//! seven steps. "Go deeper" in a mode adds that mode's other prompts to the route; "The whole
//! lens" walks every stop as before the short route (people who began a lens before it existed
//! carry on the whole walk they started). Longer texts open with "More"; every item's source
//! is one tap away ("Source") instead of a line under every message.
//!
//! A stored stop that no longer exists (a prompt deleted while someone stood on it) is mended:
//! the person is moved to the first prompt of that mode they have not answered, and told so.
//! Back, skip, "skip this part", restart and "where was I?" work at every stop; skipping a part
//! of the action mode lands on its actions, never past them, and moving on from the actions
//! without committing says so. Every step raises the progress grid (`started` on entering a
//! mode, `done` on walking past its last stop on the route).

use super::Ctx;
use super::output::{Button, Message};
use super::state::{At, CellStatus, Commitment, Reflection, Route, UserState};
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

/// Every stop id of a lens, in content order (the whole lens).
pub fn stops(lens: &Lens) -> &[String] {
    &lens.stops
}

/// Works out the stops of a lens (at load; see [`stops`]). The computation lives in
/// [`crate::content`], which builds each lens's stop list; re-exported here under its old path.
pub use crate::content::all_stops;

/// The route a person takes through a lens: the one they chose, or the short route for a lens
/// not begun; a lens begun before routes were kept (a position but no route) is walked whole,
/// as it was when they began it.
pub fn route_of(st: &UserState, lens_id: &str) -> Route {
    if let Some(r) = st.routes.get(lens_id) {
        return r.clone();
    }
    match st.lens_at.get(lens_id) {
        Some(s) if s != "intro" && s != "end" => Route {
            whole: true,
            deeper: Vec::new(),
        },
        _ => Route::default(),
    }
}

/// The stops of a lens on a route, in walk order, `end` last. The short route:
/// `intro`, each mode's core prompt (then its other prompts when opened deeper), `actions`
/// after the action mode, `meeting` after the advocacy mode, `example`, `end`.
pub fn route_stops(lens: &Lens, route: &Route) -> Vec<String> {
    if route.whole {
        return lens.stops.clone();
    }
    let mut out = vec!["intro".to_string()];
    for m in &lens.modes {
        let k = m.kind.as_str();
        match m.core_prompt() {
            Some(core) => {
                out.push(format!("{k}/{}", core.id));
                if route.deeper.iter().any(|d| d == k) {
                    for p in m.prompts.iter().filter(|p| p.id != core.id) {
                        out.push(format!("{k}/{}", p.id));
                    }
                }
            }
            None => out.push(k.to_string()),
        }
        match m.kind {
            ModeKind::Action => out.push("actions".into()),
            ModeKind::Advocacy => out.push("meeting".into()),
            ModeKind::Awareness => {}
        }
    }
    out.extend(["example", "end"].map(String::from));
    out
}

/// The first sentence of a text, and whether there is more after it.
pub fn lead(text: &str) -> (String, bool) {
    let t = text.trim();
    let bytes: Vec<(usize, char)> = t.char_indices().collect();
    for w in bytes.windows(3) {
        let [(_, a), (space, b), (_, c)] = [w[0], w[1], w[2]];
        if matches!(a, '.' | '?' | '!') && b == ' ' && (c.is_uppercase() || c == '\'') {
            return (t[..space].to_string(), true);
        }
    }
    (t.to_string(), false)
}

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

/// The person's stops through this lens, on their route.
fn my_stops(ctx: &Ctx<'_>, lens: &Lens) -> Vec<String> {
    route_stops(lens, &route_of(&ctx.st, &lens.id))
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

/// Moves to a stop of a lens and shows it; mends stops that no longer exist, and fits the
/// stop to the person's route (a mode's summary on the short route is its core prompt; a
/// prompt beyond the short route opens its mode deeper).
fn go(ctx: &mut Ctx<'_>, lens_id: &str, stop: &str) {
    let Some(lens) = ctx.cat.lens(lens_id) else {
        ctx.st.at = At::Idle;
        let msg = ctx.t("lens_gone");
        ctx.say_text(msg);
        return lens_menu(ctx);
    };
    let mut route = route_of(&ctx.st, &lens.id);
    let mut stop = match resolve(lens, stop) {
        Some(_) => stop.to_string(),
        None => {
            let mended = mend(ctx, lens, stop);
            let msg = ctx.t("content_changed");
            ctx.say_text(msg);
            mended
        }
    };
    if !route_stops(lens, &route).contains(&stop) {
        match resolve(lens, &stop) {
            Some(Stop::Prompt(m, _)) => route.deeper.push(m.as_str().to_string()),
            Some(Stop::Summary(m)) => {
                stop = match lens.mode(m).core_prompt() {
                    Some(p) => format!("{}/{}", m.as_str(), p.id),
                    None => "intro".into(),
                }
            }
            _ => stop = "end".into(),
        }
    }
    ctx.st.routes.insert(lens.id.clone(), route);
    if let Some(m) = resolve(lens, &stop).and_then(|s| s.mode()) {
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
/// not answered, else the stop after that mode's prompts on their route; the intro when even
/// the mode is unknown.
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
    let all = my_stops(ctx, lens);
    let last = all
        .iter()
        .rposition(|s| resolve(lens, s).and_then(|s| s.mode()) == Some(mode))
        .unwrap_or(0);
    all.get(last + 1).cloned().unwrap_or_else(|| "end".into())
}

/// The mode a stop id belongs to, if any.
fn mode_of(lens: &Lens, stop: &str) -> Option<ModeKind> {
    resolve(lens, stop).and_then(|s| s.mode())
}

fn advance(ctx: &mut Ctx<'_>) {
    let Some((lens, stop)) = current(ctx) else {
        return;
    };
    let all = my_stops(ctx, lens);
    let i = all.iter().position(|s| *s == stop).unwrap_or(0);
    let next = all.get(i + 1).cloned().unwrap_or_else(|| "end".into());
    move_on(ctx, lens, &stop, &next);
}

/// Goes from `here` to `there`, marking the mode being left done when `there` is past it.
fn move_on(ctx: &mut Ctx<'_>, lens: &Lens, here: &str, there: &str) {
    if let Some(m) = mode_of(lens, here)
        && mode_of(lens, there) != Some(m)
    {
        ctx.st.raise_cell(&lens.id, m.as_str(), CellStatus::Done);
        let msg = ctx.tf(
            "mode_done",
            &[
                ("mode", &ctx.t(&format!("mode.{}", m.as_str()))),
                ("n", &lens.number.to_string()),
            ],
        );
        ctx.say_text(msg);
    }
    go(ctx, &lens.id, there);
}

fn back(ctx: &mut Ctx<'_>) {
    let Some((lens, stop)) = current(ctx) else {
        return;
    };
    if matches!(ctx.st.at, At::OwnAction { .. }) {
        return go(ctx, &lens.id, "actions");
    }
    let all = my_stops(ctx, lens);
    let i = all.iter().position(|s| *s == stop).unwrap_or(0);
    if i == 0 {
        let msg = ctx.t("at_start");
        ctx.say_text(msg);
        return show(ctx);
    }
    go(ctx, &lens.id, &all[i - 1].clone());
}

/// Skips the rest of the current part: to the action mode's suggested actions when in the
/// action mode (skipping never skips committing), to the meeting lines when in the advocacy
/// mode, else to the next mode's first stop.
fn skip_mode(ctx: &mut Ctx<'_>) {
    let Some((lens, stop)) = current(ctx) else {
        return;
    };
    let Some(here) = mode_of(lens, &stop) else {
        return advance(ctx);
    };
    let all = my_stops(ctx, lens);
    let i = all.iter().position(|s| *s == stop).unwrap_or(0);
    let next = all
        .iter()
        .skip(i + 1)
        .find(|s| mode_of(lens, s) != Some(here) || matches!(s.as_str(), "actions" | "meeting"))
        .cloned()
        .unwrap_or_else(|| "end".into());
    // A part skipped is not a part done, and the grid keeps it started; but skipping the
    // deeper questions after a mode's core prompt leaves the short route's part done.
    let route = route_of(&ctx.st, &lens.id);
    let past_core = !route.whole
        && matches!(resolve(lens, &stop), Some(Stop::Prompt(m, i))
            if lens.mode(m).core_prompt().is_some_and(|c| c.id != lens.mode(m).prompts[i].id));
    if past_core {
        move_on(ctx, lens, &stop, &next)
    } else {
        go(ctx, &lens.id, &next)
    }
}

/// Moves on from the suggested actions: said plainly when nothing was committed in this lens.
fn leave_actions(ctx: &mut Ctx<'_>, lens: &Lens) {
    let none = !ctx
        .st
        .actions
        .iter()
        .any(|a| a.lens == lens.id && a.dropped.is_none());
    if none {
        let msg = ctx.tf("action_not_now", &[("n", &lens.number.to_string())]);
        ctx.say_text(msg);
    }
    advance(ctx);
}

/// A lens button or a typed choice of one.
pub fn act(ctx: &mut Ctx<'_>, verb: &str, arg: &str) {
    let Some((lens, stop)) = current(ctx) else {
        // A walk button when no longer walking: say where they are instead.
        let msg = ctx.t("stale_button");
        ctx.say_text(msg);
        return super::where_now(ctx);
    };
    let at_actions = stop == "actions" && matches!(ctx.st.at, At::Lens { .. });
    match verb {
        "next" | "skip" | "noaction" if at_actions => leave_actions(ctx, lens),
        "next" | "skip" => advance(ctx),
        "back" => back(ctx),
        "skipmode" => skip_mode(ctx),
        "restart" => enter(ctx, &lens.id, true),
        "begin" => {
            let mut r = route_of(&ctx.st, &lens.id);
            r.whole = false;
            ctx.st.routes.insert(lens.id.clone(), r);
            let first = my_stops(ctx, lens).get(1).cloned().unwrap_or_default();
            go(ctx, &lens.id, &first)
        }
        "whole" => {
            let mut r = route_of(&ctx.st, &lens.id);
            r.whole = true;
            ctx.st.routes.insert(lens.id.clone(), r);
            let to = if stop == "intro" || stop == "end" {
                "awareness".to_string()
            } else {
                stop.clone()
            };
            go(ctx, &lens.id, &to)
        }
        "deeper" => deeper(ctx, lens, &stop, arg),
        "full" => show_with(ctx, true),
        "source" => sources(ctx, lens, &stop, arg == "all"),
        "goto" => match ModeKind::parse(arg) {
            Some(m) => go(ctx, &lens.id, m.as_str()),
            None => show(ctx),
        },
        "act" => commit(ctx, lens, arg),
        "line" => pick_line(ctx, lens, arg),
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
            let msg = ctx.t("stale_button");
            ctx.say_text(msg);
            show(ctx)
        }
    }
}

/// "Go deeper": opens a mode's other prompts. At that mode's core prompt the person stays to
/// answer it first; elsewhere they go to the mode's first prompt after the core one.
fn deeper(ctx: &mut Ctx<'_>, lens: &Lens, stop: &str, arg: &str) {
    let Some(mode) = ModeKind::parse(arg).or_else(|| mode_of(lens, stop)) else {
        return show(ctx);
    };
    let mut r = route_of(&ctx.st, &lens.id);
    if !r.whole && !r.deeper.iter().any(|d| d == mode.as_str()) {
        r.deeper.push(mode.as_str().to_string());
    }
    ctx.st.routes.insert(lens.id.clone(), r);
    let md = lens.mode(mode);
    let core = md.core_prompt().map(|p| p.id.clone()).unwrap_or_default();
    let others = md.prompts.iter().filter(|p| p.id != core).count();
    let at_core = stop == format!("{}/{core}", mode.as_str());
    let key = if others == 1 {
        "deeper_opened_one"
    } else {
        "deeper_opened"
    };
    let msg = ctx.tf(
        key,
        &[
            ("count", &others.to_string()),
            ("mode", &ctx.t(&format!("mode.{}", mode.as_str()))),
        ],
    );
    ctx.say_text(msg);
    if at_core {
        return show(ctx);
    }
    match md.prompts.iter().find(|p| p.id != core) {
        Some(p) => go(ctx, &lens.id, &format!("{}/{}", mode.as_str(), p.id)),
        None => show(ctx),
    }
}

/// "Source": where the current stop's items come from, one short line each.
fn sources(ctx: &mut Ctx<'_>, lens: &Lens, stop: &str, all: bool) {
    let mut m = Message::private().title(ctx.t("sources_title"));
    match resolve(lens, stop) {
        Some(Stop::Intro) | None => m = m.source(lens.source.clone()),
        Some(Stop::Summary(k)) => m = m.source(lens.mode(k).source.clone()),
        Some(Stop::Prompt(k, i)) => {
            let md = lens.mode(k);
            m = m.source(md.prompts[i].source.clone());
            if !route_of(&ctx.st, &lens.id).whole && md.source != md.prompts[i].source {
                m = m.para(ctx.t("sources_summary")).source(md.source.clone());
            }
        }
        Some(Stop::Actions) => {
            let shown = shown_actions(&ctx.st, lens, all);
            let items = shown.iter().map(|a| a.source.clone()).collect::<Vec<_>>();
            m = m.list(true, items);
        }
        Some(Stop::Meeting) => {
            let items = lens
                .mode(ModeKind::Advocacy)
                .meeting_lines
                .iter()
                .map(|l| l.source.clone())
                .collect();
            m = m.list(true, items);
        }
        Some(Stop::Example | Stop::Resources | Stop::End) => m = m.source(lens.source.clone()),
    }
    ctx.say(m);
}

/// The suggested actions shown at the actions stop: on the short list, the first of each size
/// (five minutes, an hour, longer term) and any the person has committed to in this lens, in
/// the content's order; all of them when `all`.
fn shown_actions<'l>(st: &UserState, lens: &'l Lens, all: bool) -> Vec<&'l crate::content::Action> {
    let actions = &lens.mode(ModeKind::Action).actions;
    if all {
        return actions.iter().collect();
    }
    let first_of_size = |a: &crate::content::Action| {
        actions
            .iter()
            .find(|b| b.size == a.size)
            .is_some_and(|b| b.id == a.id)
    };
    let committed = |a: &crate::content::Action| {
        st.actions
            .iter()
            .any(|c| c.lens == lens.id && c.action == a.id && c.dropped.is_none())
    };
    actions
        .iter()
        .filter(|a| first_of_size(a) || committed(a))
        .collect()
}

fn commit(ctx: &mut Ctx<'_>, lens: &Lens, action_id: &str) {
    let Some(a) = lens
        .mode(ModeKind::Action)
        .actions
        .iter()
        .find(|a| a.id == action_id)
    else {
        let msg = ctx.t("content_changed");
        ctx.say_text(msg);
        return show(ctx);
    };
    let open =
        ctx.st.actions.iter().any(|c| {
            c.lens == lens.id && c.action == a.id && c.done.is_none() && c.dropped.is_none()
        });
    let text = ctx.content(&a.text);
    if open {
        let msg = ctx.tf("action_already", &[("action", &text)]);
        ctx.say_text(msg);
        return show(ctx);
    }
    let id = next_action_id(&ctx.st);
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
    show(ctx);
}

/// A fresh commitment id: one more than the highest in use (ids stay unique however many are
/// committed, and none is reused).
fn next_action_id(st: &UserState) -> String {
    let n = st
        .actions
        .iter()
        .filter_map(|a| a.id.strip_prefix('a')?.parse::<usize>().ok())
        .max()
        .unwrap_or(0)
        .max(st.actions.len());
    format!("a{}", n + 1)
}

/// A meeting line picked with its button: saved as the person's line for the meeting.
fn pick_line(ctx: &mut Ctx<'_>, lens: &Lens, line_id: &str) {
    let Some(l) = lens
        .mode(ModeKind::Advocacy)
        .meeting_lines
        .iter()
        .find(|l| l.id == line_id)
    else {
        let msg = ctx.t("content_changed");
        ctx.say_text(msg);
        return show(ctx);
    };
    let text = ctx.content(&l.text);
    save_line(ctx, lens, text);
}

fn save_line(ctx: &mut Ctx<'_>, lens: &Lens, text: String) {
    ctx.st.reflections.push(Reflection {
        lens: lens.id.clone(),
        mode: ModeKind::Advocacy.as_str().into(),
        prompt: "meeting".into(),
        question: ctx.t("meeting_question"),
        text,
        at: ctx.now,
    });
    let msg = ctx.t("meeting_saved");
    ctx.say_text(msg);
    advance(ctx)
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
        "next" | "skip" if stop == "actions" && matches!(ctx.st.at, At::Lens { .. }) => {
            return leave_actions(ctx, lens);
        }
        "next" | "skip" => return advance(ctx),
        "back" => return back(ctx),
        "restart" => return enter(ctx, &lens.id, true),
        _ => {}
    }
    if matches!(ctx.st.at, At::OwnAction { .. }) {
        let id = next_action_id(&ctx.st);
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
        return show(ctx);
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
        Some(Stop::Meeting) => save_line(ctx, lens, t.to_string()),
        _ => {
            let msg = ctx.t("not_expecting_text");
            ctx.say_text(msg);
            show(ctx)
        }
    }
}

/// Shows the current stop.
pub fn show(ctx: &mut Ctx<'_>) {
    show_with(ctx, false)
}

/// Shows the current stop; `expanded` shows what "More" opens (the whole intro or summary,
/// every suggested action).
fn show_with(ctx: &mut Ctx<'_>, expanded: bool) {
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
    let route = route_of(&ctx.st, &lens.id);
    let all = route_stops(lens, &route);
    let pos = all.iter().position(|s| *s == stop).unwrap_or(0) + 1;
    let steps = all.len().saturating_sub(1).max(1);
    // The title, then the position across the lens ("Step 3 of 7") on its own line.
    let titled = |ctx: &Ctx<'_>, title: String| {
        let m = Message::private().title(title);
        if stop == "end" {
            m
        } else {
            m.para(ctx.tf(
                "walk_step",
                &[
                    ("k", &pos.min(steps).to_string()),
                    ("total", &steps.to_string()),
                ],
            ))
        }
    };
    let nav = |ctx: &Ctx<'_>| {
        vec![
            ctx.button("button.back", "back"),
            ctx.button("button.restart", "restart"),
        ]
    };
    let source_button = |ctx: &Ctx<'_>| ctx.button("button.source", "source");
    let mode_name = |ctx: &Ctx<'_>, m: ModeKind| ctx.t(&format!("mode.{}", m.as_str()));
    let m = match kind {
        Stop::Intro => {
            let intro = ctx.content(&lens.intro);
            let (first, more) = lead(&intro);
            let mut b = vec![
                ctx.button("button.begin", "begin"),
                ctx.button("button.whole_lens", "whole"),
            ];
            if more && !expanded {
                b.push(ctx.button("button.read_more", "full"));
            }
            b.push(source_button(ctx));
            b.push(ctx.button("button.goto_action", "goto:action"));
            b.push(ctx.button("button.goto_advocacy", "goto:advocacy"));
            b.push(ctx.button("button.choose_lens", "lensmenu"));
            titled(
                ctx,
                ctx.tf("lens_title", &[("n", &n), ("name", &lens.name)]),
            )
            .para(if expanded { intro } else { first })
            .para(ctx.t("lens_intro_hint"))
            .buttons(b)
        }
        Stop::Summary(mk) => {
            let md = lens.mode(mk);
            let mut b = vec![
                ctx.button("button.next", "next"),
                ctx.button("button.skip_part", "skipmode"),
                source_button(ctx),
            ];
            b.extend(nav(ctx));
            titled(
                ctx,
                ctx.tf(
                    "mode_title",
                    &[
                        ("n", &n),
                        ("name", &lens.name),
                        ("mode", &mode_name(ctx, mk)),
                    ],
                ),
            )
            .para(ctx.content(&md.summary))
            .buttons(b)
        }
        Stop::Prompt(mk, i) => {
            let md = lens.mode(mk);
            let p = &md.prompts[i];
            let in_mode: Vec<&String> = all
                .iter()
                .filter(|s| s.starts_with(&format!("{}/", mk.as_str())))
                .collect();
            let k = in_mode
                .iter()
                .position(|s| **s == stop)
                .map_or(1, |k| k + 1)
                .to_string();
            let total = in_mode.len().max(1).to_string();
            let is_core = p.core || md.core_prompt().is_some_and(|c| c.id == p.id);
            let deep = route.whole || route.deeper.iter().any(|d| d == mk.as_str());
            let mut b = vec![ctx.button("button.skip", "skip")];
            let m = if is_core && !route.whole {
                // The short route's step for this mode: the summary's first sentence, then the
                // core prompt.
                let summary = ctx.content(&md.summary);
                let (first, more) = lead(&summary);
                let m = titled(
                    ctx,
                    ctx.tf(
                        "mode_title",
                        &[
                            ("n", &n),
                            ("name", &lens.name),
                            ("mode", &mode_name(ctx, mk)),
                        ],
                    ),
                )
                .para(if expanded { summary } else { first });
                if !deep && md.prompts.len() > 1 {
                    b.push(Button {
                        label: ctx.tf(
                            "button.deeper",
                            &[("count", &(md.prompts.len() - 1).to_string())],
                        ),
                        token: "deeper".into(),
                    });
                }
                if more && !expanded {
                    b.push(ctx.button("button.read_more", "full"));
                }
                m
            } else {
                b.push(ctx.button("button.skip_part", "skipmode"));
                titled(
                    ctx,
                    ctx.tf(
                        "prompt_title",
                        &[
                            ("n", &n),
                            ("mode", &mode_name(ctx, mk)),
                            ("k", &k),
                            ("total", &total),
                        ],
                    ),
                )
            };
            b.push(source_button(ctx));
            b.extend(nav(ctx));
            m.para(ctx.content(&p.text))
                .para(ctx.t("prompt_hint"))
                .buttons(b)
        }
        Stop::Actions => {
            let md = lens.mode(ModeKind::Action);
            let all_actions = expanded || route.whole;
            let shown = shown_actions(&ctx.st, lens, all_actions);
            let committed = |id: &str| {
                ctx.st.actions.iter().any(|c| {
                    c.lens == lens.id && c.action == id && c.done.is_none() && c.dropped.is_none()
                })
            };
            let any_committed = ctx
                .st
                .actions
                .iter()
                .any(|c| c.lens == lens.id && c.dropped.is_none());
            let mut items = Vec::new();
            let mut b = Vec::new();
            for (i, a) in shown.iter().enumerate() {
                let size = ctx.t(&format!("size.{}", a.size));
                let mut item = format!("({size}) {}", ctx.content(&a.text));
                if committed(&a.id) {
                    item = ctx.tf("action_committed_mark", &[("action", &item)]);
                }
                items.push(item);
                b.push(Button {
                    label: ctx.tf("button.action_n", &[("k", &(i + 1).to_string())]),
                    token: format!("act:{}", a.id),
                });
            }
            b.push(ctx.button("button.write_own", "own"));
            if shown.len() < md.actions.len() {
                b.push(Button {
                    label: ctx.tf(
                        "button.all_actions",
                        &[("count", &md.actions.len().to_string())],
                    ),
                    token: "full".into(),
                });
            }
            if any_committed {
                b.push(ctx.button("button.go_on", "next"));
            } else {
                b.push(ctx.button("button.not_now", "noaction"));
            }
            b.push(Button {
                label: ctx.t("button.source"),
                token: if all_actions {
                    "source:all".into()
                } else {
                    "source".into()
                },
            });
            b.push(ctx.button("button.journal", "journal"));
            b.push(ctx.button("button.back", "back"));
            let hint = if any_committed {
                ctx.t("actions_hint_more")
            } else {
                ctx.t("actions_hint")
            };
            titled(ctx, ctx.tf("actions_title", &[("n", &n)]))
                .para(hint)
                .list(true, items)
                .buttons(b)
        }
        Stop::Meeting => {
            let md = lens.mode(ModeKind::Advocacy);
            let items = md
                .meeting_lines
                .iter()
                .map(|l| ctx.content(&l.text))
                .collect();
            let mut b: Vec<Button> = md
                .meeting_lines
                .iter()
                .enumerate()
                .map(|(i, l)| Button {
                    label: ctx.tf("button.save_line_n", &[("k", &(i + 1).to_string())]),
                    token: format!("line:{}", l.id),
                })
                .collect();
            b.push(ctx.button("button.next", "next"));
            b.push(source_button(ctx));
            b.extend(nav(ctx));
            titled(ctx, ctx.tf("meeting_title", &[("n", &n)]))
                .para(ctx.t("meeting_question"))
                .list(true, items)
                .para(ctx.t("meeting_hint"))
                .buttons(b)
        }
        Stop::Example => {
            let mut m = example_message(ctx, lens);
            // The step goes under the example stop's own title.
            if stop != "end" {
                m.blocks.insert(
                    1.min(m.blocks.len()),
                    super::Block::Para(ctx.tf(
                        "walk_step",
                        &[
                            ("k", &pos.min(steps).to_string()),
                            ("total", &steps.to_string()),
                        ],
                    )),
                );
            }
            m
        }
        Stop::Resources => {
            let rs = super::lookup::lens_resources(ctx.cat, lens.number);
            let shown: Vec<_> = rs.iter().take(6).collect();
            let hint = if rs.len() == 1 {
                "resources_hint_one"
            } else {
                "resources_hint"
            };
            let mut m = titled(ctx, ctx.tf("resources_title", &[("n", &n)]))
                .para(ctx.tf(hint, &[("count", &rs.len().to_string()), ("n", &n)]));
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
        Stop::End => end_message(ctx, lens, &route),
    };
    ctx.say(m);
}

/// The end of a lens: what was written and committed, the journal, and depth on demand.
fn end_message(ctx: &Ctx<'_>, lens: &Lens, route: &Route) -> Message {
    let n = lens.number.to_string();
    let reflections = ctx
        .st
        .reflections
        .iter()
        .filter(|r| r.lens == lens.id)
        .count();
    let actions = ctx
        .st
        .actions
        .iter()
        .filter(|a| a.lens == lens.id && a.dropped.is_none())
        .count();
    let mut b = vec![ctx.button("button.journal", "journal")];
    if !route.whole {
        for m in ModeKind::ALL {
            if !route.deeper.iter().any(|d| d == m.as_str()) && lens.mode(m).prompts.len() > 1 {
                b.push(Button {
                    label: ctx.tf(
                        "button.deeper_mode",
                        &[("mode", &ctx.t(&format!("mode.{}", m.as_str())))],
                    ),
                    token: format!("deeper:{}", m.as_str()),
                });
            }
        }
        b.push(ctx.button("button.whole_lens", "whole"));
        b.push(ctx.button("button.more_resources", format!("reslens:{}", lens.number)));
    }
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
                (
                    "reflections",
                    &counted(ctx, "count.reflection", reflections),
                ),
                ("actions", &counted(ctx, "count.action", actions)),
            ],
        ))
        .buttons(b)
}
/// "1 reflection", "19 reflections": `{key}_one` for one, `{key}_many` otherwise.
fn counted(ctx: &Ctx<'_>, key: &str, n: usize) -> String {
    if n == 1 {
        ctx.t(&format!("{key}_one"))
    } else {
        ctx.tf(&format!("{key}_many"), &[("n", &n.to_string())])
    }
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
