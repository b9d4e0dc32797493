//! The content: everything the bot says, loaded from `dialogues/` into a [`Catalog`].
//!
//! Loading is two layers, in the spirit of ripgrep's raw and validated arguments:
//! [`raw`] parses each YAML file strictly, keeping line and column of every value; [`check`]
//! finds every problem an author can make and names it `file:line:col`; only content with no
//! errors becomes a [`Catalog`], the plain, position-free model the engine reads. [`search`]
//! holds the typo-tolerant matching used by `/resources`, `/define`, `/signpost` and friends;
//! [`ui`] lists the fixed phrases the program needs from `ui.yaml`.

pub mod check;
pub mod raw;
pub mod search;
pub mod ui;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

pub use check::{Problem, Severity};

/// The three ways of thinking about a lens (The King's Fund 2021).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ModeKind {
    /// What do I know, or need to know?
    Awareness,
    /// What can I do, in the time I have?
    Action,
    /// How do I champion this with others?
    Advocacy,
}

impl ModeKind {
    /// All three, in walk order.
    pub const ALL: [ModeKind; 3] = [ModeKind::Awareness, ModeKind::Action, ModeKind::Advocacy];

    /// The stable name used in ids, tokens and stored state.
    pub fn as_str(self) -> &'static str {
        match self {
            ModeKind::Awareness => "awareness",
            ModeKind::Action => "action",
            ModeKind::Advocacy => "advocacy",
        }
    }

    /// Parses a stable name back.
    pub fn parse(s: &str) -> Option<ModeKind> {
        ModeKind::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

impl fmt::Display for ModeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A reflection prompt or a meeting line.
#[derive(Clone, Debug)]
pub struct Item {
    /// Stable id, unique within its lens.
    pub id: String,
    /// What the bot says.
    pub text: String,
    /// Document and section.
    pub source: String,
    /// Whether this is its mode's core prompt, the one the short route through a lens asks
    /// (exactly one per lens × mode; always false for meeting lines).
    pub core: bool,
}

/// A suggested action, sized by the time it takes.
#[derive(Clone, Debug)]
pub struct Action {
    /// Stable id, unique within its lens.
    pub id: String,
    /// `five-minutes`, `an-hour` or `longer-term`.
    pub size: String,
    /// What to do.
    pub text: String,
    /// Document and section.
    pub source: String,
}

/// One lens × mode cell.
#[derive(Clone, Debug)]
pub struct Mode {
    /// Which mode.
    pub kind: ModeKind,
    /// Plain-words summary.
    pub summary: String,
    /// Document and section for the summary.
    pub source: String,
    /// Reflection prompts.
    pub prompts: Vec<Item>,
    /// Suggested actions (action mode).
    pub actions: Vec<Action>,
    /// Lines to take to a meeting (advocacy mode).
    pub meeting_lines: Vec<Item>,
}

/// A lens of the framework.
#[derive(Clone, Debug)]
pub struct Lens {
    /// Stable id, `lens-N`.
    pub id: String,
    /// 1 to 6.
    pub number: u8,
    /// Display name.
    pub name: String,
    /// Words people may type after `/lens`.
    pub keywords: Vec<String>,
    /// Document and section.
    pub source: String,
    /// Introduction.
    pub intro: String,
    /// Awareness, action, advocacy, in that order.
    pub modes: Vec<Mode>,
    /// Every stop of the walk in order (`intro`, `awareness`, `awareness/aw-…`, …, `end`),
    /// made once at load.
    pub stops: Vec<String>,
}

impl Mode {
    /// The core prompt: the one the short route asks (the checker guarantees exactly one; the
    /// first prompt stands in should a catalog be built without the checker).
    pub fn core_prompt(&self) -> Option<&Item> {
        self.prompts
            .iter()
            .find(|p| p.core)
            .or_else(|| self.prompts.first())
    }
}

impl Lens {
    /// The cell for one mode.
    pub fn mode(&self, kind: ModeKind) -> &Mode {
        self.modes
            .iter()
            .find(|m| m.kind == kind)
            .expect("the checker guarantees all three modes")
    }
}

/// Works out every stop of the walk through a lens, in order: `intro`; for each mode its
/// summary (`awareness`) and its prompts (`awareness/aw-own-story`), then `actions` after the
/// action mode and `meeting` after the advocacy mode; `example`, `resources`, `end`. The checker
/// stores it once at load in [`Lens::stops`], which the engine's walk reads (and re-exports
/// this as `engine::walk::all_stops`).
pub fn all_stops(lens: &Lens) -> Vec<String> {
    let mut out = vec!["intro".to_string()];
    for m in &lens.modes {
        out.push(m.kind.as_str().to_string());
        for p in &m.prompts {
            out.push(format!("{}/{}", m.kind.as_str(), p.id));
        }
        match m.kind {
            ModeKind::Action => out.push("actions".into()),
            ModeKind::Advocacy => out.push("meeting".into()),
            ModeKind::Awareness => {}
        }
    }
    out.extend(["example", "resources", "end"].map(String::from));
    out
}

/// A practical example or case study.
#[derive(Clone, Debug)]
pub struct Example {
    /// Stable id.
    pub id: String,
    /// Short title.
    pub title: String,
    /// Lens numbers.
    pub lenses: Vec<u8>,
    /// Profession ids, or `all`.
    pub professions: Vec<String>,
    /// What happened.
    pub summary: String,
    /// Document and section.
    pub source: String,
    /// Link as printed.
    pub url: Option<String>,
    /// Lowercase words of the title and summary, made once at load for `/examples`.
    pub search: [Vec<String>; 2],
}

/// An entry of the resource directory.
#[derive(Clone, Debug)]
pub struct Resource {
    /// Stable id.
    pub id: String,
    /// Title as printed.
    pub title: String,
    /// Author or organisation.
    pub publisher: Option<String>,
    /// Year of publication.
    pub year: Option<i32>,
    /// Link as printed.
    pub url: Option<String>,
    /// Why there is no link.
    pub no_url: Option<String>,
    /// A caution about the link as printed.
    pub url_note: Option<String>,
    /// One line on what it is.
    pub description: String,
    /// Lens numbers.
    pub lenses: Vec<u8>,
    /// Kind (report, data-tool …).
    pub kind: String,
    /// Set when the body no longer exists.
    pub defunct: Option<String>,
    /// Where the sources name it.
    pub source: String,
    /// Lowercase words of the title, description, publisher and type, made once at load for
    /// `/resources`.
    pub search: [Vec<String>; 4],
    /// The same words as ids in [`Catalog::resource_words`], so a search compares each query
    /// word with each distinct word once.
    pub search_ids: [Vec<u32>; 4],
}

/// A key term.
#[derive(Clone, Debug)]
pub struct Definition {
    /// Stable id.
    pub id: String,
    /// The term.
    pub term: String,
    /// Other words for it.
    pub aliases: Vec<String>,
    /// Plain-words explanation.
    pub explanation: String,
    /// Exact wording, quoted and attributed.
    pub quote: Option<String>,
    /// Document and section.
    pub source: String,
    /// Year of the source.
    pub year: Option<i32>,
}

/// A "did you know" fact.
#[derive(Clone, Debug)]
pub struct Fact {
    /// Stable id.
    pub id: String,
    /// The fact.
    pub text: String,
    /// The figure.
    pub figure: String,
    /// Year of the figure.
    pub year: i32,
    /// Document and section.
    pub source: String,
    /// Lens numbers.
    pub lenses: Vec<u8>,
}

/// A national service for a need.
#[derive(Clone, Debug)]
pub struct Service {
    /// Name.
    pub name: String,
    /// What it does.
    pub what: String,
    /// Website.
    pub url: Option<String>,
    /// Where the website comes from, when no source prints it.
    pub url_note: Option<String>,
}

/// A need of the people AHPs care for.
#[derive(Clone, Debug)]
pub struct Need {
    /// Stable id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Words people may type.
    pub keywords: Vec<String>,
    /// Optional pattern matched against what people type.
    pub pattern: Option<regex_lite::Regex>,
    /// Guidance for the practitioner, shown before the questions (when and how to ask).
    pub guidance: Vec<String>,
    /// Questions to ask.
    pub ask: Vec<String>,
    /// Kinds of local help.
    pub local: Vec<String>,
    /// National services.
    pub national: Vec<Service>,
    /// Document and section.
    pub source: String,
    /// Adds 999/111 guidance.
    pub urgent: bool,
}

/// Someone the AHP can connect with.
#[derive(Clone, Debug)]
pub struct Contact {
    /// Stable id.
    pub id: String,
    /// Who.
    pub name: String,
    /// Words people may type after `/signpost` to reach this card alone (lowercase).
    pub keywords: Vec<String>,
    /// Why connect.
    pub why: String,
    /// How to find them.
    pub how: String,
    /// Document and section.
    pub source: String,
}

/// An allied health profession.
#[derive(Clone, Debug)]
pub struct Profession {
    /// Stable id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Other words for it.
    pub aliases: Vec<String>,
}

/// A prompt to take into a meeting.
#[derive(Clone, Debug)]
pub struct PrepPrompt {
    /// Stable id.
    pub id: String,
    /// A question to raise.
    pub raise: String,
    /// Something to listen for.
    pub listen: String,
    /// A fact id, checked to exist.
    pub fact: Option<String>,
    /// The lens it draws on.
    pub lens: u8,
    /// Document and section.
    pub source: String,
}

/// A kind of meeting, with its prompts.
#[derive(Clone, Debug)]
pub struct Meeting {
    /// Stable id.
    pub id: String,
    /// Display name (a button label).
    pub name: String,
    /// Words people may type after `/prep`.
    pub keywords: Vec<String>,
    /// The lens that fits.
    pub lens: u8,
    /// The prompts.
    pub prompts: Vec<PrepPrompt>,
}

/// A peer-group challenge plan (`challenges.yaml`).
#[derive(Clone, Debug)]
pub struct Plan {
    /// Stable id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Other words for it (lower case).
    pub aliases: Vec<String>,
    /// Days between steps: 1 (daily) or 7 (weekly).
    pub every: u8,
    /// What it is.
    pub summary: String,
    /// Document and section.
    pub source: String,
    /// The steps, in order.
    pub days: Vec<PlanDay>,
}

/// One step of a plan.
#[derive(Clone, Debug)]
pub struct PlanDay {
    /// Lens number.
    pub lens: u8,
    /// `(mode, prompt id)` pairs, each a prompt of that lens.
    pub prompts: Vec<(ModeKind, String)>,
}

/// A role and the actions suggested for it (`roles.yaml`, for `/role`).
#[derive(Clone, Debug)]
pub struct Role {
    /// Stable id.
    pub id: String,
    /// Display name (a button label).
    pub name: String,
    /// Other words for it (lower case).
    pub aliases: Vec<String>,
    /// What the role is for.
    pub intro: String,
    /// What someone in the role can do.
    pub actions: Vec<String>,
    /// Document and section.
    pub source: String,
}

impl Plan {
    /// "day" or "week", for messages.
    pub fn unit(&self) -> &'static str {
        if self.every == 7 { "week" } else { "day" }
    }
}

/// Everyone's time zone until they choose one (an IANA name). Lives here, on the ground floor,
/// because [`Defaults`] needs it; the engine re-exports it as `engine::zones::DEFAULT`.
pub const DEFAULT_TIMEZONE: &str = "Europe/London";

/// Quiet hours, as minutes of the local day; `start > end` spans midnight.
///
/// Plain data, kept here so [`Defaults`] need not reach into the engine; the engine re-exports
/// it as `engine::when::Quiet` and adds `Quiet::parse` there, next to the time parser it uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Quiet {
    /// First quiet minute.
    pub start: u16,
    /// First minute no longer quiet.
    pub end: u16,
}

impl Default for Quiet {
    /// 21:00 to 07:00.
    fn default() -> Self {
        Quiet {
            start: 21 * 60,
            end: 7 * 60,
        }
    }
}

impl Quiet {
    /// Whether a local minute of the day is quiet.
    pub fn contains(&self, minute: u16) -> bool {
        if self.start == self.end {
            false
        } else if self.start < self.end {
            (self.start..self.end).contains(&minute)
        } else {
            minute >= self.start || minute < self.end
        }
    }

    /// "21:00–07:00", or "none".
    pub fn describe(&self) -> String {
        if self.start == self.end {
            "none".to_string()
        } else {
            format!("{}–{}", hm(self.start), hm(self.end))
        }
    }
}

fn hm(m: u16) -> String {
    format!("{:02}:{:02}", m / 60, m % 60)
}

/// Settings that apply to everyone until they choose their own.
#[derive(Clone, Debug)]
pub struct Defaults {
    /// IANA time zone.
    pub timezone: String,
    /// Quiet hours.
    pub quiet: Quiet,
}

impl Default for Defaults {
    fn default() -> Self {
        Defaults {
            timezone: DEFAULT_TIMEZONE.to_string(),
            quiet: Quiet::default(),
        }
    }
}

/// Everything the bot can say, checked and ready for the engine.
#[derive(Clone, Debug)]
pub struct Catalog {
    /// The six lenses, by number.
    pub lenses: Vec<Lens>,
    /// Examples and case studies.
    pub examples: Vec<Example>,
    /// The resource directory.
    pub resources: Vec<Resource>,
    /// Key terms.
    pub definitions: Vec<Definition>,
    /// "Did you know" facts.
    pub facts: Vec<Fact>,
    /// Needs for signposting.
    pub needs: Vec<Need>,
    /// Contacts for the professional.
    pub contacts: Vec<Contact>,
    /// The 14 professions.
    pub professions: Vec<Profession>,
    /// Meeting types for `/prep`.
    pub meetings: Vec<Meeting>,
    /// Peer-group challenge plans.
    pub plans: Vec<Plan>,
    /// Actions by role, for `/role`.
    pub roles: Vec<Role>,
    /// Every distinct word of the resource directory's searchable fields.
    pub resource_words: search::Vocab,
    /// What applies until a person chooses otherwise (the operator may change these).
    pub defaults: Defaults,
    /// Fixed phrases by key.
    pub ui: BTreeMap<String, String>,
}

impl Catalog {
    /// The lens with this number.
    pub fn lens_by_number(&self, n: u8) -> Option<&Lens> {
        self.lenses.iter().find(|l| l.number == n)
    }

    /// The lens with this id.
    pub fn lens(&self, id: &str) -> Option<&Lens> {
        self.lenses.iter().find(|l| l.id == id)
    }

    /// The challenge plan with this id or alias (case-insensitive).
    pub fn plan(&self, word: &str) -> Option<&Plan> {
        let w = word.trim().to_lowercase();
        self.plans
            .iter()
            .find(|p| p.id == w || p.aliases.contains(&w))
    }

    /// A prompt of a lens by number and prompt id.
    pub fn prompt(&self, lens: u8, id: &str) -> Option<&Item> {
        self.lens_by_number(lens)?
            .modes
            .iter()
            .flat_map(|m| m.prompts.iter())
            .find(|p| p.id == id)
    }

    /// The fact with this id.
    pub fn fact(&self, id: &str) -> Option<&Fact> {
        self.facts.iter().find(|f| f.id == id)
    }

    /// The profession with this id.
    pub fn profession(&self, id: &str) -> Option<&Profession> {
        self.professions.iter().find(|p| p.id == id)
    }

    /// A fixed phrase; the checker guarantees every key the program uses exists.
    pub fn t<'a>(&'a self, key: &'a str) -> &'a str {
        self.ui.get(key).map(String::as_str).unwrap_or(key)
    }

    /// A fixed phrase with `{name}` placeholders filled in.
    pub fn tf(&self, key: &str, vars: &[(&str, &str)]) -> String {
        fill(self.t(key), vars)
    }

    /// A count in words, singular or plural as English needs ("1 member", "12 members"):
    /// `{key}_one` for one, `{key}_many` (with `{n}` filled) otherwise. Other placeholders are
    /// left for the caller to fill.
    pub fn counted(&self, key: &str, n: usize) -> String {
        if n == 1 {
            self.t(&format!("{key}_one")).to_string()
        } else {
            self.tf(&format!("{key}_many"), &[("n", &n.to_string())])
        }
    }
}

/// Replaces `{name}` placeholders with values; unknown placeholders are left as they are (the
/// checker reports them before the bot runs).
pub fn fill(template: &str, vars: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                let name = &after[..close];
                match vars.iter().find(|(k, _)| *k == name) {
                    Some((_, v)) => out.push_str(v),
                    None => {
                        out.push('{');
                        out.push_str(name);
                        out.push('}');
                    }
                }
                rest = &after[close + 1..];
            }
            None => {
                out.push_str(&rest[open..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// Why content could not be loaded.
#[derive(Debug)]
pub struct LoadError {
    /// Every problem found, errors and warnings.
    pub problems: Vec<Problem>,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let errors: Vec<_> = self
            .problems
            .iter()
            .filter(|p| p.severity == Severity::Error)
            .collect();
        let n = match errors.len() {
            1 => "1 error".to_string(),
            n => format!("{n} errors"),
        };
        writeln!(
            f,
            "the content in dialogues/ has {n}; run `lensbot check` for the full list:"
        )?;
        for p in errors.iter().take(10) {
            writeln!(f, "{p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for LoadError {}

/// Loads and checks a dialogues folder, returning the catalog and any warnings.
pub fn load(dir: &Path) -> Result<(Catalog, Vec<Problem>), LoadError> {
    let options = check::Options {
        sources: None,
        ids_lock: true,
    };
    let (catalog, problems) = check::check_dir(dir, &options);
    match catalog {
        Some(c) if !problems.iter().any(|p| p.severity == Severity::Error) => Ok((c, problems)),
        _ => Err(LoadError { problems }),
    }
}

/// Where the content lives when no folder is named: `LENSBOT_DIALOGUES`, else `./dialogues`,
/// else the folder this crate was built from (so `cargo run` works from anywhere in the tree).
pub fn default_dir() -> PathBuf {
    if let Ok(d) = std::env::var("LENSBOT_DIALOGUES") {
        return PathBuf::from(d);
    }
    let here = PathBuf::from("dialogues");
    if here.is_dir() {
        return here;
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("dialogues")
}
