//! The slash commands as Discord registers them, and a command with its options turned back
//! into the text the engine reads.
//!
//! Most commands take one option (a lens from a list, a need, a term). `/remind` and
//! `/challenge` have subcommands with typed options (a meeting type and a plan from lists; a
//! day, a time, a time zone and a reminder phrase suggested as they are typed, by
//! [`super::autocomplete`]; a role picked from the server's; a number), and each becomes the
//! same words a person types in a DM or on Telegram (`/remind prep team every Tuesday 09:25`,
//! `/challenge start six-days tomorrow 08:00 Europe/London`), so there is one grammar, the
//! engine's, and the typed forms keep working everywhere. A command registered by an older
//! version (one free-text option) is read the same way.
//!
//! Discord's limits, from its OpenAPI spec (`ApplicationCommandCreateRequest`): names of 1 to 32
//! lower-case characters, descriptions of 1 to 100, at most 25 options, subcommands and
//! choices, each choice named and valued in up to 100 characters. `tests/it/discord.rs` checks
//! the registered commands against the spec.

use crate::content::Catalog;
use crate::engine::{COMMANDS, zones};
use serenity::all::{CommandData, CommandDataOption, CommandDataOptionValue, CommandOptionType};
use serenity::all::{CreateCommand, CreateCommandOption};

/// An option's type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Text.
    Text,
    /// A whole number from 1.
    Number,
    /// A role of the server.
    Role,
    /// True or false: true adds the option's word (`off`).
    Flag,
}

/// Where an option's values come from.
#[derive(Clone, Copy)]
pub enum Values {
    /// Anything typed.
    Free,
    /// A fixed list from the content: (label, value).
    Choices(fn(&Catalog) -> Vec<(String, String)>),
    /// Suggestions as it is typed ([`super::autocomplete`]), anything accepted.
    Suggested,
}

/// One option of a subcommand.
pub struct Opt {
    /// Its name (what Discord shows before the value).
    pub name: &'static str,
    /// What it is for.
    pub description: &'static str,
    /// Its type.
    pub kind: Kind,
    /// Whether it must be given (required options come first).
    pub required: bool,
    /// Where its values come from.
    pub values: Values,
}

/// One subcommand: its name, the engine's words it stands for, and its options in the order
/// their values follow those words.
pub struct Sub {
    /// Its name.
    pub name: &'static str,
    /// The engine's words (`prep` for `/remind meeting`; empty for the bare command).
    pub words: &'static str,
    /// What it does.
    pub description: &'static str,
    /// Its options.
    pub options: &'static [Opt],
}

const fn opt(name: &'static str, description: &'static str, values: Values) -> Opt {
    Opt {
        name,
        description,
        kind: Kind::Text,
        required: false,
        values,
    }
}

const fn sub(
    name: &'static str,
    words: &'static str,
    description: &'static str,
    options: &'static [Opt],
) -> Sub {
    Sub {
        name,
        words,
        description,
        options,
    }
}

fn meetings(cat: &Catalog) -> Vec<(String, String)> {
    cat.meetings
        .iter()
        .map(|m| (m.name.clone(), m.id.clone()))
        .collect()
}

fn plans(cat: &Catalog) -> Vec<(String, String)> {
    cat.plans
        .iter()
        .map(|p| (p.name.clone(), p.id.clone()))
        .collect()
}

const WHEN: Opt = opt(
    "when",
    "When, e.g. every Tuesday 09:25, every weekday 8:30, tomorrow at 2pm, in 20 minutes",
    Values::Suggested,
);

/// `/remind`'s subcommands.
pub const REMIND: &[Sub] = &[
    sub("new", "", "A new reminder: I ask what it is for", &[WHEN]),
    sub(
        "meeting",
        "prep",
        "Meeting prompts before a meeting",
        &[
            opt("type", "Which kind of meeting", Values::Choices(meetings)),
            WHEN,
        ],
    ),
    sub("lens", "lens", "A nudge to carry on with a lens", &[WHEN]),
    sub(
        "action",
        "action",
        "A check-in on the action you committed to last",
        &[WHEN],
    ),
    sub("list", "list", "Your reminders", &[]),
    sub(
        "cancel",
        "cancel",
        "Cancel a reminder by its number in your list",
        &[Opt {
            name: "number",
            description: "Its number in /remind list",
            kind: Kind::Number,
            required: true,
            values: Values::Free,
        }],
    ),
    sub(
        "quiet",
        "quiet",
        "Hours when no reminder comes",
        &[Opt {
            name: "hours",
            description: "e.g. 22:00-07:00, or off",
            kind: Kind::Text,
            required: true,
            values: Values::Suggested,
        }],
    ),
];

/// `/challenge`'s subcommands.
pub const CHALLENGE: &[Sub] = &[
    sub(
        "help",
        "help",
        "What a group challenge is and how to run one",
        &[],
    ),
    sub("plans", "plans", "The plans a challenge can follow", &[]),
    sub(
        "status",
        "status",
        "This channel's challenge: where it is and its check-ins",
        &[],
    ),
    sub(
        "start",
        "start",
        "Start a challenge in this channel (facilitators)",
        &[
            Opt {
                name: "plan",
                description: "Which plan",
                kind: Kind::Text,
                required: true,
                values: Values::Choices(plans),
            },
            opt(
                "day",
                "The first day: today, tomorrow, a weekday or a date such as 2026-12-01",
                Values::Suggested,
            ),
            opt(
                "time",
                "The time of each day's prompt, e.g. 08:00",
                Values::Suggested,
            ),
            opt(
                "zone",
                "The time zone, e.g. Europe/London",
                Values::Suggested,
            ),
        ],
    ),
    sub(
        "join",
        "join",
        "Take part: the prompts come to you privately",
        &[opt(
            "code",
            "The challenge's code (only needed outside its channel)",
            Values::Free,
        )],
    ),
    sub("leave", "leave", "Stop taking part", &[]),
    sub("today", "today", "Today's prompt, privately", &[]),
    sub("me", "me", "Your challenges and streaks, privately", &[]),
    sub(
        "name",
        "name",
        "Be named in the group's digests, or not",
        &[Opt {
            name: "off",
            description: "True to stop being named",
            kind: Kind::Flag,
            required: false,
            values: Values::Free,
        }],
    ),
    sub(
        "pause",
        "pause",
        "Pause the challenge from tomorrow (facilitators)",
        &[],
    ),
    sub(
        "resume",
        "resume",
        "Resume a paused challenge (facilitators)",
        &[],
    ),
    sub(
        "skip",
        "skip",
        "Skip the next day's prompt (facilitators)",
        &[],
    ),
    sub(
        "end",
        "end",
        "End the challenge now, with its summary (facilitators)",
        &[],
    ),
    sub(
        "takeover",
        "takeover",
        "Become the challenge's facilitator (facilitators)",
        &[],
    ),
    sub(
        "role",
        "role",
        "Choose the role whose members may facilitate here (server managers)",
        &[
            Opt {
                name: "role",
                description: "The facilitators' role",
                kind: Kind::Role,
                required: false,
                values: Values::Free,
            },
            Opt {
                name: "off",
                description: "True to stop using a role",
                kind: Kind::Flag,
                required: false,
                values: Values::Free,
            },
        ],
    ),
];

/// A command's subcommands, if it has them.
pub fn subcommands(command: &str) -> Option<&'static [Sub]> {
    match command {
        "remind" => Some(REMIND),
        "challenge" => Some(CHALLENGE),
        _ => None,
    }
}

/// Discord's limits on a command (from its OpenAPI spec).
pub mod limits {
    /// A name, at most.
    pub const NAME: usize = 32;
    /// A description, at most.
    pub const DESCRIPTION: usize = 100;
    /// Options, subcommands or choices, at most.
    pub const OPTIONS: usize = 25;
    /// A choice's name or value, at most.
    pub const CHOICE: usize = 100;
}

fn cut(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

/// A string option offering a fixed list (Discord allows 25, each label up to 100).
fn with_choices(o: CreateCommandOption, items: Vec<(String, String)>) -> CreateCommandOption {
    items
        .into_iter()
        .take(limits::OPTIONS)
        .fold(o, |o, (label, value)| {
            o.add_string_choice(cut(&label, limits::CHOICE), cut(&value, limits::CHOICE))
        })
}

fn option(cat: &Catalog, o: &Opt) -> CreateCommandOption {
    let kind = match o.kind {
        Kind::Text => CommandOptionType::String,
        Kind::Number => CommandOptionType::Integer,
        Kind::Role => CommandOptionType::Role,
        Kind::Flag => CommandOptionType::Boolean,
    };
    let mut b = CreateCommandOption::new(kind, o.name, cut(o.description, limits::DESCRIPTION))
        .required(o.required);
    if o.kind == Kind::Number {
        b = b.min_int_value(1);
    }
    match o.values {
        Values::Free => b,
        Values::Choices(f) => with_choices(b, f(cat)),
        Values::Suggested => b.set_autocomplete(true),
    }
}

/// Every command as Discord registers it: a description from the content, and its options or
/// subcommands, so servers show typed choices and suggestions.
pub fn definitions(cat: &Catalog) -> Vec<CreateCommand> {
    let mut all = every_platform(cat);
    all.push(insights(cat));
    all
}

/// Commands registered on Discord besides [`COMMANDS`]: `/insights`, a server's counts for its
/// managers and facilitators (answered only inside a server; in a DM it says so).
pub const SERVER_COMMANDS: [&str; 1] = ["insights"];

/// `/insights [period]`: the period from a fixed list (whole months ending with this one).
fn insights(cat: &Catalog) -> CreateCommand {
    let periods = vec![
        ("This month".to_string(), "month".to_string()),
        ("The last 3 months".to_string(), "3-months".to_string()),
        ("The last 6 months".to_string(), "6-months".to_string()),
        ("The last 12 months".to_string(), "12-months".to_string()),
    ];
    let period = CreateCommandOption::new(
        CommandOptionType::String,
        "period",
        "Whole months ending with this one (the last 3 by default)",
    )
    .required(false);
    CreateCommand::new(SERVER_COMMANDS[0])
        .description(cut(cat.t("cmd.insights"), limits::DESCRIPTION))
        .dm_permission(true)
        .add_option(with_choices(period, periods))
}

/// The commands of [`COMMANDS`], the same words on every platform.
fn every_platform(cat: &Catalog) -> Vec<CreateCommand> {
    COMMANDS
        .iter()
        .map(|(name, _)| {
            let description = cut(cat.t(&format!("cmd.{name}")), limits::DESCRIPTION);
            let cmd = CreateCommand::new(*name)
                .description(description)
                .dm_permission(true);
            if let Some(subs) = subcommands(name) {
                return subs.iter().fold(cmd, |cmd, s| {
                    let b = CreateCommandOption::new(
                        CommandOptionType::SubCommand,
                        s.name,
                        cut(s.description, limits::DESCRIPTION),
                    );
                    cmd.add_option(
                        s.options
                            .iter()
                            .fold(b, |b, o| b.add_sub_option(option(cat, o))),
                    )
                });
            }
            let text = |n: &str, d: &str| {
                CreateCommandOption::new(CommandOptionType::String, n, d).required(false)
            };
            let choices =
                |n: &str, d: &str, items: Vec<(String, String)>| with_choices(text(n, d), items);
            match *name {
                "lens" => cmd.add_option(choices(
                    "lens",
                    "Which lens (1-6)",
                    cat.lenses
                        .iter()
                        .map(|l| (format!("{} {}", l.number, l.name), l.number.to_string()))
                        .collect(),
                )),
                "profession" => cmd.add_option(choices(
                    "profession",
                    "Your profession",
                    cat.professions
                        .iter()
                        .map(|p| (p.name.clone(), p.id.clone()))
                        .collect(),
                )),
                "signpost" => cmd.add_option(choices(
                    "need",
                    "What the person needs help with",
                    cat.needs
                        .iter()
                        .map(|n| (n.name.clone(), n.id.clone()))
                        .collect(),
                )),
                "prep" => cmd.add_option(choices("meeting", "What kind of meeting", meetings(cat))),
                "note" => cmd.add_option(text("text", "Your note (private)")),
                "link" => cmd.add_option(text(
                    "code",
                    "A code from /link on your other platform (leave out to get a code)",
                )),
                "resources" => cmd.add_option(text(
                    "words",
                    "Words to search for, a lens (lens 3) or a type",
                )),
                "examples" => cmd.add_option(text("words", "A profession or words")),
                "define" => cmd.add_option(text("term", "The term").set_autocomplete(true)),
                "role" => cmd.add_option(choices(
                    "role",
                    "Your role",
                    cat.roles
                        .iter()
                        .map(|r| (r.name.clone(), r.id.clone()))
                        .collect(),
                )),
                "timezone" => cmd.add_option(
                    text("place", "A place or time-zone name, e.g. London").set_autocomplete(true),
                ),
                "export" => cmd.add_option(text(
                    "since",
                    "Only what you wrote from this date on, e.g. 2026-09-01",
                )),
                _ => cmd,
            }
        })
        .collect()
}

/// An option's value as the engine's words (`None` when it adds none: a false flag).
fn value_words(name: &str, v: &CommandDataOptionValue) -> Option<String> {
    match v {
        CommandDataOptionValue::String(s) => {
            let s = s.trim();
            if s.is_empty() {
                return None;
            }
            // A time zone typed as a place ("New York") becomes its one-word name.
            if name == "zone" {
                return Some(zones::find(s).unwrap_or_else(|_| s.to_string()));
            }
            Some(s.to_string())
        }
        CommandDataOptionValue::Integer(n) => Some(n.to_string()),
        CommandDataOptionValue::Number(n) => Some(n.to_string()),
        CommandDataOptionValue::Boolean(true) => Some(name.to_string()),
        CommandDataOptionValue::Role(r) => Some(format!("<@&{}>", r.get())),
        _ => None,
    }
}

/// A slash command as the text the engine reads: `/name` and its option values, in order; a
/// subcommand as its words and its options' values in the order the subcommand lists them
/// (Discord may send them in any order).
pub fn text(data: &CommandData) -> String {
    let mut words = vec![format!("/{}", data.name)];
    for o in &data.options {
        match &o.value {
            CommandDataOptionValue::SubCommand(given) => {
                words.extend(sub_words(&data.name, &o.name, given));
            }
            v => words.extend(value_words(&o.name, v)),
        }
    }
    words.retain(|w| !w.is_empty());
    words.join(" ")
}

fn sub_words(command: &str, name: &str, given: &[CommandDataOption]) -> Vec<String> {
    let Some(s) = subcommands(command).and_then(|subs| subs.iter().find(|s| s.name == name)) else {
        // Not ours (an older registration): its name and values as given.
        let mut out = vec![name.to_string()];
        out.extend(given.iter().filter_map(|o| value_words(&o.name, &o.value)));
        return out;
    };
    let mut out = vec![s.words.to_string()];
    for o in s.options {
        if let Some(v) = given.iter().find(|g| g.name == o.name) {
            out.extend(value_words(o.name, &v.value));
        }
    }
    out
}
