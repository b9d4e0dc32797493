//! The content files exactly as authors write them, with source positions.
//!
//! Every struct here mirrors one YAML shape from `dialogues/README.md` and refuses unknown
//! fields, so a typo in a field name is a parse error with its line and column rather than a
//! silently ignored line. Values the checker reports on are wrapped in [`S`] (serde-saphyr's
//! `Spanned`) so a problem found after parsing can still name `file:line:col`.

use serde::Deserialize;
use std::collections::BTreeMap;

/// A value together with where it stood in its file.
pub type S<T> = serde_saphyr::Spanned<T>;

/// `lenses/N-name.yaml`: one lens of the framework.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lens {
    /// Stable id (`lens-1` … `lens-6`).
    pub id: S<String>,
    /// Lens number, 1 to 6.
    pub number: S<u8>,
    /// Display name.
    pub name: S<String>,
    /// Words a person may type after `/lens`.
    #[serde(default)]
    pub keywords: Vec<S<String>>,
    /// Where the lens comes from.
    pub source: S<String>,
    /// Two or three sentences introducing the lens.
    pub intro: S<String>,
    /// The three modes.
    pub modes: Modes,
}

/// The three ways of thinking about a lens.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Modes {
    /// What do I know or need to know.
    pub awareness: Mode,
    /// What can I do.
    pub action: Mode,
    /// How do I champion this with others.
    pub advocacy: Mode,
}

/// One lens × mode cell.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mode {
    /// Plain-words summary of the cell.
    pub summary: S<String>,
    /// Where the summary comes from.
    pub source: S<String>,
    /// Reflection prompts, answered in free text.
    #[serde(default)]
    pub prompts: Vec<Item>,
    /// Suggested actions (action mode only).
    #[serde(default)]
    pub actions: Vec<Action>,
    /// Lines to take to a meeting (advocacy mode only).
    #[serde(default)]
    pub meeting_lines: Vec<Item>,
}

/// A prompt or a meeting line.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Item {
    /// Stable id within the lens.
    pub id: S<String>,
    /// What the bot says.
    pub text: S<String>,
    /// Where it comes from.
    pub source: S<String>,
    /// `true` on the one prompt of each lens × mode that the short route asks (prompts only;
    /// the checker insists on exactly one per mode).
    #[serde(default)]
    pub core: Option<S<bool>>,
}

/// A suggested action with its size.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Action {
    /// Stable id within the lens.
    pub id: S<String>,
    /// `five-minutes`, `an-hour` or `longer-term`.
    pub size: S<String>,
    /// What to do.
    pub text: S<String>,
    /// Where it comes from.
    pub source: S<String>,
}

/// `examples.yaml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExamplesFile {
    /// Every example and case study.
    pub examples: Vec<Example>,
}

/// A practical example or case study.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Example {
    /// Stable id.
    pub id: S<String>,
    /// Short title.
    pub title: S<String>,
    /// Lens numbers.
    pub lenses: S<Vec<u8>>,
    /// Profession ids, or `all`.
    pub professions: Vec<S<String>>,
    /// What happened.
    pub summary: S<String>,
    /// Document and section.
    pub source: S<String>,
    /// Link exactly as printed, if any.
    #[serde(default)]
    pub url: Option<S<String>>,
}

/// `resources/*.yaml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourcesFile {
    /// Directory entries.
    pub resources: Vec<Resource>,
}

/// One entry of the resource directory.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resource {
    /// Stable id.
    pub id: S<String>,
    /// Title exactly as printed.
    pub title: S<String>,
    /// Author or organisation.
    #[serde(default)]
    pub publisher: Option<S<String>>,
    /// Year of publication.
    #[serde(default)]
    pub year: Option<S<i32>>,
    /// Link exactly as printed.
    #[serde(default)]
    pub url: Option<S<String>>,
    /// Why there is no link.
    #[serde(default)]
    pub no_url: Option<S<String>>,
    /// A caution about the link as printed (it looks mistyped, say), shown with it.
    #[serde(default)]
    pub url_note: Option<S<String>>,
    /// One line on what it is.
    pub description: S<String>,
    /// Lens numbers.
    pub lenses: S<Vec<u8>>,
    /// Kind of resource.
    #[serde(rename = "type")]
    pub kind: S<String>,
    /// Set when the body no longer exists.
    #[serde(default)]
    pub defunct: Option<S<String>>,
    /// Where the sources name it.
    pub source: S<String>,
}

/// `definitions.yaml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DefinitionsFile {
    /// Key terms.
    pub definitions: Vec<Definition>,
}

/// A key term.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Definition {
    /// Stable id.
    pub id: S<String>,
    /// The term as shown.
    pub term: S<String>,
    /// Other words for it.
    #[serde(default)]
    pub aliases: Vec<S<String>>,
    /// Plain-words explanation.
    pub explanation: S<String>,
    /// Exact short wording, quoted and attributed.
    #[serde(default)]
    pub quote: Option<S<String>>,
    /// Document and section.
    pub source: S<String>,
    /// Year of the source.
    #[serde(default)]
    pub year: Option<S<i32>>,
}

/// `facts.yaml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FactsFile {
    /// "Did you know" facts.
    pub facts: Vec<Fact>,
}

/// A "did you know" fact.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fact {
    /// Stable id.
    pub id: S<String>,
    /// The fact in plain words.
    pub text: S<String>,
    /// The figure itself.
    pub figure: S<String>,
    /// The year the figure refers to.
    pub year: S<i32>,
    /// Document and section.
    pub source: S<String>,
    /// Lens numbers.
    pub lenses: S<Vec<u8>>,
}

/// `signposts.yaml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignpostsFile {
    /// Needs of the people AHPs care for.
    pub needs: Vec<Need>,
    /// Who the AHP can connect with.
    pub professional: Vec<Contact>,
}

/// A need of a patient or client.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Need {
    /// Stable id.
    pub id: S<String>,
    /// Display name.
    pub name: S<String>,
    /// Words people may type.
    #[serde(default)]
    pub keywords: Vec<S<String>>,
    /// Optional regular expression matched against what people type.
    #[serde(default)]
    pub pattern: Option<S<String>>,
    /// Guidance for the practitioner about asking (when, where), shown before the questions.
    #[serde(default)]
    pub guidance: Vec<S<String>>,
    /// Questions a practitioner can ask.
    pub ask: Vec<S<String>>,
    /// Kinds of local help.
    pub local: Vec<S<String>>,
    /// National services.
    #[serde(default)]
    pub national: Vec<Service>,
    /// Document and section.
    pub source: S<String>,
    /// Adds emergency guidance.
    #[serde(default)]
    pub urgent: bool,
}

/// A national service.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    /// Its name.
    pub name: S<String>,
    /// What it does.
    pub what: S<String>,
    /// Its website.
    #[serde(default)]
    pub url: Option<S<String>>,
    /// Where the URL comes from when no source prints it.
    #[serde(default)]
    pub url_note: Option<S<String>>,
}

/// Someone the AHP can connect with.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    /// Stable id.
    pub id: S<String>,
    /// Who.
    pub name: S<String>,
    /// Words people may type after `/signpost` to reach this card alone (optional).
    #[serde(default)]
    pub keywords: Vec<S<String>>,
    /// Why connect.
    pub why: S<String>,
    /// How to find them.
    pub how: S<String>,
    /// Document and section.
    pub source: S<String>,
}

/// `professions.yaml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfessionsFile {
    /// The 14 professions.
    pub professions: Vec<Profession>,
}

/// One allied health profession.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profession {
    /// Stable id.
    pub id: S<String>,
    /// Display name.
    pub name: S<String>,
    /// Other words for it.
    #[serde(default)]
    pub aliases: Vec<S<String>>,
}

/// `ui.yaml`: every fixed phrase, by key.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UiFile {
    /// Phrases by key.
    pub strings: BTreeMap<String, S<String>>,
}

/// `prep.yaml`: just-in-time meeting prompts.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrepFile {
    /// Meeting types.
    pub meetings: Vec<Meeting>,
}

/// A kind of meeting.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Meeting {
    /// Stable id.
    pub id: S<String>,
    /// Button label.
    pub name: S<String>,
    /// Words people may type after `/prep`.
    #[serde(default)]
    pub keywords: Vec<S<String>>,
    /// The lens that fits.
    pub lens: S<u8>,
    /// The prompts.
    pub prompts: Vec<PrepPrompt>,
}

/// One prompt for a meeting.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrepPrompt {
    /// Stable id.
    pub id: S<String>,
    /// A question to raise.
    pub raise: S<String>,
    /// Something to listen for.
    pub listen: S<String>,
    /// A fact id from `facts.yaml`.
    #[serde(default)]
    pub fact: Option<S<String>>,
    /// A lens, when it differs from the meeting's.
    #[serde(default)]
    pub lens: Option<S<u8>>,
    /// Document and section.
    pub source: S<String>,
}

/// `challenges.yaml`: plans for peer-group reflection challenges.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChallengesFile {
    /// The plans a facilitator can start.
    pub plans: Vec<Plan>,
}

/// One challenge plan.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// Stable id, typed after `/challenge start`.
    pub id: S<String>,
    /// Display name.
    pub name: S<String>,
    /// Other words for it.
    #[serde(default)]
    pub aliases: Vec<S<String>>,
    /// Days between steps: 1 (daily) or 7 (weekly).
    pub every: S<u8>,
    /// What it is, for the announcement.
    pub summary: S<String>,
    /// Document and section.
    pub source: S<String>,
    /// The steps, in order.
    pub days: Vec<PlanDay>,
}

/// One step of a plan: a lens and prompt ids from that lens.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanDay {
    /// Lens number.
    pub lens: S<u8>,
    /// Prompt ids within the lens.
    pub prompts: Vec<S<String>>,
}

/// `roles.yaml`: All Our Health's suggested actions by role (`/role`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RolesFile {
    /// The roles, in menu order.
    pub roles: Vec<Role>,
}

/// One role and what it can do.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Role {
    /// Stable id.
    pub id: S<String>,
    /// Display name (a button label).
    pub name: S<String>,
    /// Words people may type after `/role`.
    #[serde(default)]
    pub aliases: Vec<S<String>>,
    /// What the role is for, in plain words.
    pub intro: S<String>,
    /// What someone in the role can do.
    pub actions: Vec<S<String>>,
    /// Document and section.
    pub source: S<String>,
}
