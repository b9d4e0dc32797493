//! The dialogue engine: a pure function from (content, a person's state, their input, the time)
//! to (their new state, the bot's messages, effects for the shell to carry out).
//!
//! [`step`] does no IO, reads no clock and draws no random numbers, which is what lets whole
//! conversations replay in transcript tests and keeps the hot path in microseconds. Around it:
//! [`output`] (platform-neutral messages and buttons), [`state`] (what is remembered), [`text`]
//! (cleaning input), [`walk`] (the guided lens walk-through), [`lookup`] (resources, examples,
//! signposts, facts, definitions, actions by role), [`account`] (start, help, profession,
//! progress, notes, my data, forget me), [`journal`] (the person's own words back, paged),
//! [`export`] (the CPD record, my data and the progress picture as files), [`prep`] (meeting
//! prompts), [`remind`] (time zones,
//! reminders and what happens when one is due), [`when`] (phrases like "every Tuesday at
//! 09:25", DST-correct), [`zones`] (time-zone names), [`identifiers`] (what in free text could
//! identify a patient or colleague) with [`guard`] (asking before such text is saved), and
//! [`retention`] (deleting data after a stretch without activity, with a warning first) and
//! [`settings`] (every setting in one menu, each changed through its own flow), and [`tally`]
//! (what a record keeps for community insights: communities and monthly counts, never text).
//!
//! Buttons carry `STEP:ACTION` tokens. The step is bumped whenever the person's position
//! changes, so a button pressed from an older message is recognised as stale and answered with
//! where they are now. Whatever buttons were shown last can also be chosen by typing their
//! number or label (accessibility, and the terminal).

pub mod account;
pub mod answer_box;
pub mod cancel;
pub mod export;
pub mod free;
pub mod guard;
pub mod identifiers;
pub mod journal;
pub mod link;
pub mod lookup;
pub mod output;
pub mod prep;
pub mod remind;
pub mod retention;
pub mod settings;
pub mod state;
pub mod tally;
pub mod text;
pub mod walk;
pub mod when;
pub mod zones;

use crate::content::Catalog;
use jiff::Timestamp;
pub use output::{Attachment, Audience, Block, Button, FileBody, Message};
use serde::{Deserialize, Serialize};
pub use state::{At, UserState};

/// A second press of the same button within this long is a double click, ignored quietly.
pub const DOUBLE_CLICK: jiff::SignedDuration = jiff::SignedDuration::from_secs(10);

/// What a person did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// They typed (or a platform delivered) a message or a command.
    Text(String),
    /// They pressed a button; the token it carried.
    Button(String),
    /// A reminder is due (from the scheduler, not the person).
    Due {
        /// Reminder id.
        reminder: String,
        /// The due time the scheduler found in the index.
        due: Timestamp,
    },
}

/// Something the shell must do besides saving the state and sending the messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Delete everything held about this person, everywhere (`/forgetme`, confirmed).
    Forget,
    /// Record a check-in for a group challenge's step (a reflection was saved privately).
    CheckIn {
        /// The group's key.
        group: String,
        /// The step.
        step: u32,
    },
    /// A meeting prompt was shown (counted, by meeting type, for community insights).
    MeetingPrompt {
        /// Meeting type id.
        meeting: String,
    },
}

/// The result of one step.
#[derive(Clone, Debug)]
pub struct Turn {
    /// The person's state after the step (unchanged when nothing happened).
    pub state: UserState,
    /// What the bot says, in order.
    pub messages: Vec<Message>,
    /// What the shell must do.
    pub effects: Vec<Effect>,
}

/// A button as remembered between turns: what was shown and what it does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choice {
    /// The label shown.
    pub label: String,
    /// The action (the token without its step).
    pub action: String,
}

/// The commands, the same words on every platform (PRODUCT.md).
pub const COMMANDS: [(&str, &str); 26] = [
    ("start", "Welcome, privacy notice and your profession"),
    ("help", "What I can do"),
    ("lens", "Work through a lens (1-6 or a name)"),
    ("continue", "Where was I? Pick up where you left off"),
    ("progress", "Your 6 x 3 grid of lenses and modes"),
    ("journal", "Your reflections, actions and notes"),
    ("note", "Save a private note"),
    ("prep", "A prompt for your next meeting"),
    ("signpost", "Where to point someone for help"),
    ("resources", "Search the resource directory"),
    ("examples", "Practical examples by profession or words"),
    ("fact", "A did-you-know fact with its source"),
    ("define", "Key terms explained"),
    ("role", "What to do in your role (All Our Health)"),
    ("profession", "Set your profession"),
    ("timezone", "Set your time zone"),
    ("settings", "Your settings in one place"),
    ("remind", "Reminders"),
    ("cancel", "Leave what is in progress, nothing lost"),
    ("challenge", "Group reflection challenges"),
    ("export", "Your CPD record as PDF and Markdown"),
    ("link", "Link your Telegram and Discord accounts"),
    ("unlink", "Separate linked accounts again"),
    ("mydata", "Everything I hold about you"),
    ("retention", "How long I keep your data"),
    ("forgetme", "Delete everything I hold about you"),
];

/// Working space for one step.
pub struct Ctx<'a> {
    /// The content.
    pub cat: &'a Catalog,
    /// The state being changed.
    pub st: UserState,
    /// The time of the input.
    pub now: Timestamp,
    /// Messages so far.
    pub out: Vec<Message>,
    /// Effects so far.
    pub effects: Vec<Effect>,
    /// Set when saying nothing is the right answer (a repeated press of the same button).
    pub quiet: bool,
}

impl Ctx<'_> {
    /// A fixed phrase.
    pub fn t(&self, key: &str) -> String {
        self.cat.t(key).to_string()
    }

    /// A fixed phrase with placeholders filled.
    pub fn tf(&self, key: &str, vars: &[(&str, &str)]) -> String {
        self.cat.tf(key, vars)
    }

    /// A button whose label is a fixed phrase.
    pub fn button(&self, label_key: &str, action: impl Into<String>) -> Button {
        Button {
            label: self.t(label_key),
            token: action.into(),
        }
    }

    /// Queues a message.
    pub fn say(&mut self, m: Message) {
        self.out.push(m);
    }

    /// Queues a private one-paragraph message.
    pub fn say_text(&mut self, s: impl Into<String>) {
        self.out.push(Message::private().para(s));
    }

    /// The person's profession's display name, or "AHP".
    pub fn profession_name(&self) -> String {
        self.st
            .profession
            .as_deref()
            .and_then(|p| self.cat.profession(p))
            .map(|p| p.name.to_lowercase())
            .unwrap_or_else(|| "AHP".to_string())
    }

    /// Fills `{profession}` in content text.
    pub fn content(&self, s: &str) -> String {
        crate::content::fill(s, &[("profession", &self.profession_name())])
    }
}

/// The commands a deep link (`/start PAYLOAD`, which a `t.me/<bot>?start=PAYLOAD` link sends
/// when tapped) may open: the only `/start` payloads acted on, as `COMMAND` or `COMMAND-ARGS`.
///
/// A link is written by whoever shares it, not by the person who taps it, so it may only take
/// them somewhere (a lens, a signpost, meeting prompts, a search, a definition, a fact, help,
/// where they were, their progress): nothing here stores anything beyond their position.
/// Anything that changes what is held (a note, a profession, a time zone, a reminder, forget
/// me) or shows it (my data) is done only when the person asks directly; such a link gets the
/// welcome and a line saying so. Challenge joins (`/start ch_j_…`) are not commands: the
/// session takes them before the engine, and only once the platform has confirmed that the
/// person belongs to the group (`session::Event::member_of`, set by the adapters).
pub const DEEP_LINKS: [&str; 11] = [
    "lens",
    "signpost",
    "prep",
    "resources",
    "examples",
    "define",
    "role",
    "fact",
    "help",
    "continue",
    "progress",
];

/// Reads a `/start` payload as a deep link from [`DEEP_LINKS`]: the command and its argument
/// (`lens-3` → `("lens", "3")`), or `None` for anything else.
pub fn deep_link(payload: &str) -> Option<(&'static str, &str)> {
    let (c, rest) = payload.split_once(['-', '_']).unwrap_or((payload, ""));
    DEEP_LINKS
        .iter()
        .find(|name| name.eq_ignore_ascii_case(c))
        .map(|name| (*name, rest))
}

/// Commands that are public by nature: they say nothing about the person asking.
pub const PUBLIC_LOOKUPS: [&str; 6] = ["fact", "define", "role", "resources", "examples", "help"];

/// Whether a command asked in a shared channel (a Telegram group, a Discord server) is answered
/// there: a public lookup with words to look up, or `/help` and `/fact`. Anything personal, and
/// a lookup that would need a menu, continues privately instead.
pub fn is_public_lookup(cmd: &str, args: &str) -> bool {
    PUBLIC_LOOKUPS.contains(&cmd) && (!args.trim().is_empty() || matches!(cmd, "help" | "fact"))
}

/// Answers a public lookup for a shared channel without touching anyone's state: a throwaway
/// state (nothing saved, no privacy notice), only public messages, and no buttons (another
/// member pressing one would act on their own, different state). `salt` varies `/fact`.
pub fn public_lookup(
    cat: &Catalog,
    user: &str,
    text: &str,
    salt: u32,
    now: Timestamp,
) -> Vec<Message> {
    let mut st = UserState::new(user);
    st.welcomed = true;
    st.facts_shown = salt;
    step(cat, &st, Input::Text(text.to_string()), now)
        .messages
        .into_iter()
        .filter(|m| m.audience == Audience::Public)
        .map(|mut m| {
            m.buttons.clear();
            m
        })
        .collect()
}

/// Whether the person's next free text will be taken as an answer (a reflection, a note, a
/// time …). Adapters where free text cannot be typed privately in place (Discord servers)
/// offer a private text box then.
pub fn expects_text(st: &UserState) -> bool {
    match &st.at {
        At::Lens { stop, .. } => stop.contains('/') || stop == "meeting",
        At::OwnAction { .. }
        | At::EditAction { .. }
        | At::Note
        | At::RemindWhen { .. }
        | At::Timezone
        | At::Quiet
        | At::ResourceQuery
        | At::Profession
        | At::SignpostMenu
        | At::ChallengeNote { .. }
        | At::DefineMenu
        | At::RoleMenu => true,
        _ => false,
    }
}

/// Runs one turn: the heart of the bot. Pure: same inputs, same outputs.
pub fn step(cat: &Catalog, state: &UserState, input: Input, now: Timestamp) -> Turn {
    let before_at = state.at.clone();
    let mut ctx = Ctx {
        cat,
        st: state.clone(),
        now,
        out: Vec::new(),
        effects: Vec::new(),
        quiet: false,
    };
    if ctx.st.created.is_none() {
        ctx.st.created = Some(now);
    }
    if ctx.st.last_active.is_none() {
        // A record from before the retention clock: pinned to its last change now, before
        // this turn (a reminder, say) changes it.
        ctx.st.last_active = retention::last_activity(&ctx.st);
    }
    let from_person = !matches!(input, Input::Due { .. });
    let first_contact = !ctx.st.welcomed && from_person;
    if from_person {
        // They wrote, so they can be reached again; and tell them anything they missed.
        ctx.st.unreachable = false;
        // Any activity resets the retention clock; text held back by the identifier guard
        // waits only for the answer to its question.
        retention::touch(&mut ctx.st, now);
        if !guard::answers(&ctx.st, &input) {
            ctx.st.pending = None;
        }
        if !ctx.st.notices.is_empty() {
            let notes = std::mem::take(&mut ctx.st.notices);
            let mut m = Message::private().title(ctx.t("notices_title"));
            for n in notes {
                m = m.para(n);
            }
            ctx.say(m);
        }
    }

    match input {
        Input::Due { reminder, .. } if reminder == retention::DUE_ID => retention::due(&mut ctx),
        Input::Due { reminder, due } => remind::due(&mut ctx, &reminder, due),
        Input::Button(token) => on_button(&mut ctx, &token),
        Input::Text(raw) => {
            if raw.chars().count() > text::MAX_INPUT_CHARS {
                let n = raw.chars().count().to_string();
                let msg = ctx.tf(
                    "too_long",
                    &[("count", &n), ("max", &text::MAX_INPUT_CHARS.to_string())],
                );
                ctx.say_text(msg);
            } else {
                let t = text::clean(&raw);
                if t.is_empty() {
                    let msg = ctx.t("empty_input");
                    ctx.say_text(msg);
                } else {
                    on_text(&mut ctx, &t);
                }
            }
        }
    }

    if first_contact && !ctx.effects.contains(&Effect::Forget) {
        ctx.st.welcomed = true;
        ctx.st.tally.told = true;
        let notice = Message::private()
            .title(ctx.t("privacy_title"))
            .para(ctx.t("privacy_notice"))
            .para(ctx.t("privacy_counts"));
        ctx.out.insert(0, notice);
    } else if from_person
        && ctx.st.welcomed
        && !ctx.st.tally.told
        && !ctx.effects.contains(&Effect::Forget)
    {
        // People who started before community insights existed are told once, before
        // anything of theirs is counted (`tally::record_turn` counts only the told).
        ctx.st.tally.told = true;
        let notice = Message::private()
            .title(ctx.t("privacy_counts_title"))
            .para(ctx.t("privacy_counts"));
        // First, so the answer (and its buttons) stays last.
        ctx.out.insert(0, notice);
    }
    finish(ctx, &before_at, state, from_person)
}

fn finish(mut ctx: Ctx<'_>, before_at: &At, before: &UserState, from_person: bool) -> Turn {
    if ctx.st.at != *before_at {
        ctx.st.step += 1;
    }
    // Remember the last buttons shown, so typing their number or label works next turn.
    if let Some(m) = ctx.out.iter().rev().find(|m| !m.buttons.is_empty()) {
        ctx.st.menu = m
            .buttons
            .iter()
            .map(|b| Choice {
                label: b.label.clone(),
                action: b.token.clone(),
            })
            .collect();
    } else if ctx.st.at != *before_at {
        ctx.st.menu.clear();
    }
    let step = ctx.st.step;
    for m in &mut ctx.out {
        for b in &mut m.buttons {
            b.token = format!("{step}:{}", b.token);
        }
    }
    if ctx.out.is_empty() && from_person && !ctx.quiet {
        // Never silence.
        let msg = ctx.t("unknown_input");
        ctx.out.push(Message::private().para(msg));
    }
    if ctx.st != *before {
        ctx.st.updated = Some(ctx.now);
    }
    Turn {
        state: ctx.st,
        messages: ctx.out,
        effects: ctx.effects,
    }
}

fn on_button(ctx: &mut Ctx<'_>, token: &str) {
    let Some((step, action)) = token.split_once(':') else {
        return stale(ctx);
    };
    let double_click = ctx.st.last_button.as_deref() == Some(token)
        && ctx
            .st
            .last_button_at
            .is_some_and(|t| ctx.now.duration_since(t) < DOUBLE_CLICK);
    if double_click {
        // The same button again within moments: it has been acted on already.
        ctx.quiet = true;
        return;
    }
    match step.parse::<u64>() {
        Ok(s) if s == ctx.st.step => {
            ctx.st.last_button = Some(token.to_string());
            ctx.st.last_button_at = Some(ctx.now);
            act(ctx, action)
        }
        _ => stale(ctx),
    }
}

/// A button from an earlier step: say so, and show where the person is now.
fn stale(ctx: &mut Ctx<'_>) {
    let msg = ctx.t("stale_button");
    ctx.say_text(msg);
    where_now(ctx);
}

/// Shows the person's current position again (or the start menu when idle).
pub fn where_now(ctx: &mut Ctx<'_>) {
    match ctx.st.at.clone() {
        At::Idle => account::menu(ctx),
        _ => reshow(ctx),
    }
}

/// Shows the current position's message again.
fn reshow(ctx: &mut Ctx<'_>) {
    match ctx.st.at.clone() {
        At::Idle => account::menu(ctx),
        At::Lens { .. } | At::OwnAction { .. } => walk::show(ctx),
        At::EditAction { .. } => journal::ask_change(ctx),
        At::LensMenu => walk::lens_menu(ctx),
        At::Note => account::ask_note(ctx),
        At::Profession => account::profession_menu(ctx),
        At::ConfirmForget => account::forget(ctx),
        At::SignpostMenu => lookup::signpost(ctx, ""),
        At::DefineMenu => lookup::define(ctx, ""),
        At::RoleMenu => lookup::role(ctx, ""),
        At::ResourceQuery => lookup::resources(ctx, ""),
        At::ResourceResults { query, page } => lookup::resource_page(ctx, &query, page),
        At::PrepMenu => prep::menu(ctx),
        At::Timezone => remind::timezone(ctx, ""),
        At::Quiet => settings::ask_quiet(ctx),
        At::RemindKind { when } => remind::kind_menu(ctx, when),
        At::RemindWhen { reminder, .. } => remind::ask_or_create(ctx, reminder, ""),
        At::RemindAction => remind::action_menu(ctx),
        At::ChallengeNote { question, .. } => {
            let m = Message::private()
                .para(question)
                .para(ctx.t("ch.reflect_ask"));
            ctx.say(m);
        }
    }
}

/// Carries out a button's action (or a typed choice).
fn act(ctx: &mut Ctx<'_>, action: &str) {
    let (verb, arg) = action.split_once(':').unwrap_or((action, ""));
    match verb {
        "lens" => match arg
            .parse::<u8>()
            .ok()
            .and_then(|n| ctx.cat.lens_by_number(n))
        {
            Some(l) => {
                let id = l.id.clone();
                walk::enter(ctx, &id, false)
            }
            None => walk::lens_menu(ctx),
        },
        "lensmenu" => walk::lens_menu(ctx),
        "continue" => walk::resume(ctx),
        "progress" => account::progress(ctx),
        "journal" => {
            if matches!(ctx.st.at, At::EditAction { .. }) {
                ctx.st.at = At::Idle;
            }
            journal::journal(ctx, arg.parse().unwrap_or(1))
        }
        "myaction" => journal::action_card(ctx, arg),
        "mark" => journal::mark(ctx, arg),
        "help" => account::help(ctx),
        "profmenu" => account::profession_menu(ctx),
        "prof" => account::set_profession(ctx, arg),
        "need" => lookup::need(ctx, arg),
        "contacts" => lookup::contacts(ctx),
        "def" => lookup::definition(ctx, arg),
        "role" => lookup::role_card(ctx, arg),
        "fact" => lookup::fact(ctx),
        "more" => lookup::more(ctx),
        "reslens" => lookup::resources(ctx, &format!("lens {arg}")),
        "forget" => account::confirm_forget(ctx, arg == "yes"),
        "note" => account::ask_note(ctx),
        "ex" => lookup::example(ctx, arg),
        "prep" => prep::prompt(ctx, arg),
        "prepmenu" => prep::prep(ctx, ""),
        "exmenu" => lookup::examples(ctx, ""),
        "prepsave" => prep::save(ctx, arg),
        "remindprep" => remind::for_meeting(ctx, arg),
        "remind" if arg == "menu" => remind::remind(ctx, ""),
        "remind" => remind::choose_kind(ctx, arg),
        "remindact" => remind::choose_action(ctx, arg),
        "cancel" => remind::cancel(ctx, arg),
        "checkin" => remind::checkin(ctx, arg),
        guard::VERB => guard::choose(ctx, arg),
        "retention" => retention::set(ctx, arg),
        "settings" => settings::menu(ctx),
        "tzmenu" => remind::timezone(ctx, ""),
        "quietmenu" => settings::ask_quiet(ctx),
        "quiet" => settings::set_quiet(ctx, arg),
        "retmenu" => retention::command(ctx, ""),
        "counted" => settings::set_counted(ctx, arg),
        crate::challenge::NAMES_TOKEN => settings::names_typed(ctx),
        _ => walk::act(ctx, verb, arg),
    }
}

fn on_text(ctx: &mut Ctx<'_>, t: &str) {
    if let Some(rest) = t.strip_prefix('/') {
        let (cmd, args) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
        // Telegram may send /cmd@botname.
        let cmd = cmd.split('@').next().unwrap_or(cmd).to_lowercase();
        return command(ctx, &cmd, args.trim());
    }
    // "Where was I?" and "help" work everywhere, even mid-lens.
    let lower = t.to_lowercase();
    let lower = lower.trim_end_matches(['?', '!', '.']);
    if matches!(lower, "where was i" | "where am i" | "help" | "menu") {
        return shortcut(ctx, lower);
    }
    // A typed choice from the last buttons shown.
    if let Some(action) = typed_choice(&ctx.st, t) {
        return act(ctx, &action);
    }
    // Free text to be kept as the person's own words: checked for identifiers first.
    if guard::saves_text(&ctx.st.at) && guard::hold(ctx, t, false) {
        return;
    }
    // Free text where the bot is waiting for some.
    match ctx.st.at.clone() {
        At::Lens { .. } | At::OwnAction { .. } => walk::text(ctx, t),
        At::EditAction { .. } => journal::change(ctx, t),
        At::Note => account::save_note(ctx, t),
        At::Profession => account::set_profession_typed(ctx, t),
        At::SignpostMenu => lookup::signpost(ctx, t),
        At::DefineMenu => lookup::define(ctx, t),
        At::RoleMenu => lookup::role(ctx, t),
        At::ResourceQuery | At::ResourceResults { .. } => lookup::resources(ctx, t),
        At::LensMenu => walk::open(ctx, t),
        At::PrepMenu => prep::prep(ctx, t),
        At::Timezone => remind::timezone(ctx, t),
        At::Quiet => settings::set_quiet(ctx, t),
        At::RemindKind { .. } | At::RemindWhen { .. } => remind::when_typed(ctx, t),
        At::RemindAction => remind::action_menu(ctx),
        At::ChallengeNote { .. } => challenge_note(ctx, t),
        At::ConfirmForget => {
            let yes = matches!(t.to_lowercase().as_str(), "yes" | "y" | "delete");
            account::confirm_forget(ctx, yes)
        }
        At::Idle => shortcut(ctx, t),
    }
}

/// Saves free text as the answer the current position expects (a reflection, a meeting line,
/// an own action, a note, a challenge reflection): where the identifier guard's "Save
/// without it" and "Save as it is" land.
pub(crate) fn save_text(ctx: &mut Ctx<'_>, t: &str) {
    match ctx.st.at.clone() {
        At::Lens { .. } | At::OwnAction { .. } => walk::text(ctx, t),
        At::EditAction { .. } => journal::change(ctx, t),
        At::Note => account::save_note(ctx, t),
        At::ChallengeNote { .. } => challenge_note(ctx, t),
        _ => where_now(ctx),
    }
}

/// A reflection written for a group challenge's prompt, kept privately; the group hears only
/// that the person checked in.
fn challenge_note(ctx: &mut Ctx<'_>, t: &str) {
    let At::ChallengeNote {
        group,
        step,
        lens,
        mode,
        prompt,
        question,
    } = ctx.st.at.clone()
    else {
        return;
    };
    ctx.st.reflections.push(state::Reflection {
        lens: lens.clone(),
        mode: mode.clone(),
        prompt,
        question,
        text: t.to_string(),
        at: ctx.now,
    });
    ctx.st.raise_cell(&lens, &mode, state::CellStatus::Started);
    ctx.st.at = At::Idle;
    ctx.effects.push(Effect::CheckIn { group, step });
    let msg = ctx.t("ch.reflection_saved");
    ctx.say_text(msg);
}

/// Matches typed text against the buttons shown last: by number or by label.
fn typed_choice(st: &UserState, t: &str) -> Option<String> {
    let t = t.trim().trim_end_matches(['.', '!', ')']).trim();
    if let Ok(n) = t.parse::<usize>() {
        return st.menu.get(n.checked_sub(1)?).map(|c| c.action.clone());
    }
    let lower = t.to_lowercase();
    st.menu
        .iter()
        .find(|c| c.label.to_lowercase() == lower)
        .map(|c| c.action.clone())
}

/// Plain-words requests understood anywhere the bot is not waiting for free text.
fn shortcut(ctx: &mut Ctx<'_>, t: &str) {
    let lower = t.to_lowercase();
    let lower = lower.trim_end_matches(['?', '!', '.']);
    match lower {
        "where was i" | "where am i" | "continue" | "resume" => walk::resume(ctx),
        "help" | "menu" | "commands" => account::help(ctx),
        "hi" | "hello" | "hey" | "start" => account::start(ctx),
        "progress" => account::progress(ctx),
        _ if free::offer(ctx, t) => {}
        _ => {
            let msg = ctx.t("unknown_input");
            let m = Message::private().para(msg).buttons(vec![
                ctx.button("button.choose_lens", "lensmenu"),
                ctx.button("button.continue", "continue"),
                ctx.button("button.help", "help"),
            ]);
            ctx.say(m);
        }
    }
}

fn command(ctx: &mut Ctx<'_>, cmd: &str, args: &str) {
    match cmd {
        "start" => match args {
            "" => account::start(ctx),
            payload => match deep_link(payload) {
                Some((c, rest)) => command(ctx, c, rest),
                None => {
                    // A link that names a command which changes something (a note, a
                    // profession, forget me …): nothing is done; the person is told why.
                    let (c, _) = payload.split_once(['-', '_']).unwrap_or((payload, ""));
                    if COMMANDS
                        .iter()
                        .any(|(name, _)| *name != "start" && name.eq_ignore_ascii_case(c))
                    {
                        let msg = ctx.t("deep_link_refused");
                        ctx.say_text(msg);
                    }
                    account::start(ctx)
                }
            },
        },
        "help" => account::help(ctx),
        "lens" => walk::open(ctx, args),
        "continue" => walk::resume(ctx),
        "progress" => account::progress(ctx),
        "journal" => journal::journal(ctx, args.parse().unwrap_or(1)),
        "note" => {
            if args.is_empty() {
                account::ask_note(ctx)
            } else if !guard::hold(ctx, args, true) {
                account::save_note(ctx, args)
            }
        }
        "resources" => lookup::resources(ctx, args),
        "examples" => lookup::examples(ctx, args),
        "signpost" => lookup::signpost(ctx, args),
        "fact" => lookup::fact(ctx),
        "define" => lookup::define(ctx, args),
        "role" => lookup::role(ctx, args),
        "profession" => {
            if args.is_empty() {
                account::profession_menu(ctx)
            } else {
                account::set_profession_typed(ctx, args)
            }
        }
        "mydata" => account::mydata(ctx),
        "retention" => retention::command(ctx, args),
        "export" => export::export(ctx, args),
        "forgetme" => account::forget(ctx),
        "link" | "unlink" => {
            // Linking joins two records, which the session does before the engine; this is
            // reached only without a session (a transcript, say).
            let msg = ctx.t("link.needs_session");
            ctx.say_text(msg);
        }
        "prep" => prep::prep(ctx, args),
        "timezone" => remind::timezone(ctx, args),
        "settings" => settings::menu(ctx),
        "remind" => remind::remind(ctx, args),
        "cancel" => cancel::cancel(ctx),
        "challenge" => {
            // Challenges live in group records, which the session handles before the engine;
            // this is reached only without a session (a transcript, say).
            let msg = ctx.t("ch.help_private");
            ctx.say_text(msg);
        }
        _ => {
            let shown = text::shorten(cmd, 30);
            let msg = ctx.tf("unknown_command", &[("command", &shown)]);
            let m = Message::private()
                .para(msg)
                .buttons(vec![ctx.button("button.help", "help")]);
            ctx.say(m);
        }
    }
}
