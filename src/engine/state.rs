//! What the bot remembers about one person, and where they are in a conversation.
//!
//! State stores ids, never indices: a position is a lens id and a stop id (`awareness`,
//! `aw-own-story`, `actions` …), so reordering or adding content never moves anyone, and a stop
//! that has been removed is noticed and mended (see `walk`). `step` counts the turns that
//! changed something; button tokens carry it so a button from an earlier step is recognised.
//! The whole struct is stored as one versioned JSON value (`{"v":1,…}`): see `store::codec`.

use super::when::{Quiet, Schedule};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The current version of the stored value; bump it and add a migration in `store::codec`.
pub const STATE_VERSION: u32 = 1;

/// Everything held about one person.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UserState {
    /// Format version.
    pub v: u32,
    /// The person's key, `platform:id`.
    pub user: String,
    /// First contact.
    pub created: Option<Timestamp>,
    /// Last change.
    pub updated: Option<Timestamp>,
    /// Whether the privacy notice has been shown.
    #[serde(default)]
    pub welcomed: bool,
    /// Profession id, if they chose one.
    #[serde(default)]
    pub profession: Option<String>,
    /// IANA time zone, if they chose one.
    #[serde(default)]
    pub timezone: Option<String>,
    /// Turns that changed something; carried in button tokens.
    #[serde(default)]
    pub step: u64,
    /// Where they are now.
    #[serde(default)]
    pub at: At,
    /// The last stop reached in each lens, to resume it.
    #[serde(default)]
    pub lens_at: BTreeMap<String, String>,
    /// The lens they were in most recently.
    #[serde(default)]
    pub last_lens: Option<String>,
    /// How they walk each lens they have entered: the short route (with any modes opened
    /// deeper) or the whole lens. A lens missing here that has a position in `lens_at` was
    /// begun before the short route existed and is walked whole (see `walk::route_of`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub routes: BTreeMap<String, Route>,
    /// Progress of each lens × mode cell, keyed `lens-N/mode`.
    #[serde(default)]
    pub cells: BTreeMap<String, CellStatus>,
    /// Free-text reflections, in order written.
    #[serde(default)]
    pub reflections: Vec<Reflection>,
    /// Actions committed to.
    #[serde(default)]
    pub actions: Vec<Commitment>,
    /// Notes made with `/note`.
    #[serde(default)]
    pub notes: Vec<Note>,
    /// How many facts have been shown, to rotate through them.
    #[serde(default)]
    pub facts_shown: u32,
    /// How many examples have been shown at the current stop, to offer another.
    #[serde(default)]
    pub example_turn: u32,
    /// Reminders, with when each is next due.
    #[serde(default)]
    pub reminders: Vec<Reminder>,
    /// Counter for reminder ids.
    #[serde(default)]
    pub reminder_seq: u32,
    /// Quiet hours, when not the default 21:00–07:00.
    #[serde(default)]
    pub quiet: Option<Quiet>,
    /// How many meeting prompts have been shown, to rotate through them.
    #[serde(default)]
    pub prep_turn: u32,
    /// Things to tell the person next time (a reminder missed while the bot was down).
    #[serde(default)]
    pub notices: Vec<String>,
    /// Set when the platform said the person cannot be reached (blocked the bot, DMs
    /// closed); cleared when they write again. Reminders are not retried meanwhile.
    #[serde(default)]
    pub unreachable: bool,
    /// The last button token acted on: a second press of the same button (a double click)
    /// is ignored quietly instead of being answered as stale.
    #[serde(default)]
    pub last_button: Option<String>,
    /// When that button was acted on: only a repeat within a few seconds counts as a double
    /// click; later, the button is simply stale.
    #[serde(default)]
    pub last_button_at: Option<Timestamp>,
    /// The buttons shown last, so typing their number or label chooses them.
    #[serde(default)]
    pub menu: Vec<crate::engine::Choice>,
    /// Platform event ids recorded by lensbot versions before the store's ledger of applied
    /// events: still honoured when reading such a record, never written any more.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recent_events: Vec<String>,
    /// Free text held back by the identifier guard until the person chooses (save it masked,
    /// rewrite it, save it as it is): their own words, sealed with the record like any
    /// reflection, never logged; dropped by anything else they do.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<PendingText>,
    /// When the person was last active (wrote, pressed a button): the retention clock. Moved
    /// once a UTC day, at their first activity that day (see `retention::touch`).
    /// Records written before this field have none; [`crate::engine::retention`] then takes
    /// their last change (`updated`), else their first contact.
    #[serde(default)]
    pub last_active: Option<Timestamp>,
    /// Months without activity after which everything held is deleted; `None` is the default
    /// ([`crate::engine::retention::DEFAULT_MONTHS`]).
    #[serde(default)]
    pub retention_months: Option<u32>,
    /// When the person was warned that their data would soon be deleted; cleared by activity.
    #[serde(default)]
    pub retention_warned: Option<Timestamp>,
    /// Set on an account that was linked to another (`/link`): the key of the record that
    /// is now this person's, whichever platform they write from. Such a record holds nothing
    /// else (see [`crate::engine::link`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linked_to: Option<String>,
    /// The other accounts linked to this record (`discord:ID` on a record kept under
    /// `telegram:ID`, say): where the person may also write from, and be reminded on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accounts: Vec<String>,
    /// Where reminders go when several accounts are linked: the account chosen in
    /// `/settings`, or `None` for the one they wrote from last ([`UserState::last_account`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reminders_to: Option<String>,
    /// The account a linked person wrote from last (kept only while accounts are linked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_account: Option<String>,
    /// Community insights: the communities they used the bot from, monthly counts (never
    /// text), and whether they opted out of being counted ([`crate::engine::tally`]).
    #[serde(default, skip_serializing_if = "crate::engine::tally::Tally::is_empty")]
    pub tally: crate::engine::tally::Tally,
}

impl UserState {
    /// A person the bot has never met.
    pub fn new(user: &str) -> Self {
        UserState {
            v: STATE_VERSION,
            user: user.to_string(),
            created: None,
            updated: None,
            welcomed: false,
            profession: None,
            timezone: None,
            step: 0,
            at: At::Idle,
            lens_at: BTreeMap::new(),
            last_lens: None,
            routes: BTreeMap::new(),
            cells: BTreeMap::new(),
            reflections: Vec::new(),
            actions: Vec::new(),
            notes: Vec::new(),
            facts_shown: 0,
            example_turn: 0,
            reminders: Vec::new(),
            reminder_seq: 0,
            quiet: None,
            prep_turn: 0,
            notices: Vec::new(),
            unreachable: false,
            last_button: None,
            last_button_at: None,
            menu: Vec::new(),
            recent_events: Vec::new(),
            pending: None,
            last_active: None,
            retention_months: None,
            retention_warned: None,
            linked_to: None,
            accounts: Vec::new(),
            reminders_to: None,
            last_account: None,
            tally: Default::default(),
        }
    }

    /// Whether this event id has been applied already.
    pub fn seen_event(&self, id: &str) -> bool {
        self.recent_events.iter().any(|e| e == id)
    }

    /// The status of a cell.
    pub fn cell(&self, lens: &str, mode: &str) -> CellStatus {
        self.cells
            .get(&format!("{lens}/{mode}"))
            .copied()
            .unwrap_or_default()
    }

    /// Raises a cell's status (never lowers it).
    pub fn raise_cell(&mut self, lens: &str, mode: &str, to: CellStatus) {
        let e = self.cells.entry(format!("{lens}/{mode}")).or_default();
        if to > *e {
            *e = to;
        }
    }
}

/// Where a person is in a conversation.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum At {
    /// Not in any conversation.
    #[default]
    Idle,
    /// Walking a lens, at a stop.
    Lens {
        /// Lens id.
        lens: String,
        /// Stop id within the lens.
        stop: String,
    },
    /// Writing their own action for a lens.
    OwnAction {
        /// Lens id.
        lens: String,
    },
    /// Rewording an action they committed to (from `/journal`).
    EditAction {
        /// Commitment id (`a1` …).
        action: String,
    },
    /// Choosing a lens.
    LensMenu,
    /// Writing a note.
    Note,
    /// Choosing a profession.
    Profession,
    /// Confirming `/forgetme`.
    ConfirmForget,
    /// Choosing a need to signpost.
    SignpostMenu,
    /// Choosing a term to define.
    DefineMenu,
    /// Typing words to search resources.
    ResourceQuery,
    /// Choosing a meeting type for `/prep`.
    PrepMenu,
    /// Typing a time zone.
    Timezone,
    /// Choosing or typing quiet hours (from `/settings`).
    Quiet,
    /// Choosing what a reminder is for; `when` is a phrase already given.
    RemindKind {
        /// The phrase typed with `/remind`, if any.
        when: Option<String>,
    },
    /// Typing when a reminder should fire.
    RemindWhen {
        /// What it is for.
        reminder: ReminderKind,
        /// The days already given without a time ("fortnightly on Monday"), kept so that a
        /// time typed next completes them.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        days: Option<String>,
    },
    /// Choosing which action to be asked about.
    RemindAction,
    /// Writing a reflection for a group challenge's prompt.
    ChallengeNote {
        /// The group's key.
        group: String,
        /// The challenge step.
        step: u32,
        /// Lens id.
        lens: String,
        /// Mode name.
        mode: String,
        /// Prompt id.
        prompt: String,
        /// The prompt as asked.
        question: String,
    },
    /// Choosing a role for `/role`.
    RoleMenu,
    /// Looking at search results.
    ResourceResults {
        /// The query.
        query: String,
        /// Which page.
        page: u32,
    },
}

/// How a person walks one lens: the short route by default, about five minutes (each mode's
/// core prompt, the suggested actions, the meeting lines, an example), with any modes they
/// opened with "Go deeper" walked in full; or the whole lens, every stop.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    /// Every stop of the lens, as the walk was before the short route.
    #[serde(default)]
    pub whole: bool,
    /// Modes (`awareness` …) opened with "Go deeper": their other prompts follow the core one.
    #[serde(default)]
    pub deeper: Vec<String>,
}

/// How far someone has got in one lens × mode cell.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CellStatus {
    /// Not begun.
    #[default]
    NotStarted,
    /// Begun.
    Started,
    /// Walked to the end.
    Done,
}

/// A free-text answer to a prompt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reflection {
    /// Lens id.
    pub lens: String,
    /// Mode name.
    pub mode: String,
    /// Prompt id (or `meeting` for a line to take to a meeting).
    pub prompt: String,
    /// The prompt as it was asked, so the answer still makes sense if the content changes.
    pub question: String,
    /// What they wrote.
    pub text: String,
    /// When.
    pub at: Timestamp,
}

/// An action someone committed to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Commitment {
    /// Stable id (`a1`, `a2` …), for check-ins.
    #[serde(default)]
    pub id: String,
    /// Lens id.
    pub lens: String,
    /// Action id, or `own` for one they wrote.
    pub action: String,
    /// The action's text at the time.
    pub text: String,
    /// `five-minutes`, `an-hour`, `longer-term` or `own`.
    pub size: String,
    /// When committed.
    pub committed: Timestamp,
    /// When marked done.
    #[serde(default)]
    pub done: Option<Timestamp>,
    /// When dropped.
    #[serde(default)]
    pub dropped: Option<Timestamp>,
}

/// A reminder: what for, when, and when it is next due.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reminder {
    /// Stable id (`r1`, `r2` …).
    pub id: String,
    /// What it is for.
    pub kind: ReminderKind,
    /// When it fires.
    pub schedule: Schedule,
    /// The next time it is due (UTC); `None` once a one-off has fired.
    pub next: Option<Timestamp>,
    /// When the due time was moved out of quiet hours, the time it was first due.
    #[serde(default)]
    pub deferred_from: Option<Timestamp>,
    /// When it was made.
    pub created: Timestamp,
}

/// What a reminder is for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "for", rename_all = "snake_case")]
pub enum ReminderKind {
    /// A meeting prompt, for one meeting type or a choice of them.
    Prep {
        /// Meeting id.
        meeting: Option<String>,
    },
    /// Continue the lens walk.
    Lens,
    /// Ask whether an action was done.
    Action {
        /// Commitment id.
        action: String,
    },
}

/// Free text the identifier guard held back, and where it was typed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingText {
    /// What they wrote.
    pub text: String,
    /// Typed as `/note TEXT` (saved as a note wherever they were), rather than as the answer
    /// the current position expects.
    #[serde(default)]
    pub note: bool,
    /// Where they were: the choice is honoured only there.
    pub at: At,
}

/// A note made with `/note`, or a meeting prompt saved from `/prep`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    /// What they wrote.
    pub text: String,
    /// The lens they were in, if any.
    pub lens: Option<String>,
    /// When.
    pub at: Timestamp,
    /// The `/prep` prompt's id when this is a saved meeting prompt (so `/journal` lists those
    /// apart); absent for notes the person wrote, and for prompts saved before this field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prep: Option<String>,
}
