//! What a person's record keeps for community insights: the communities they used the bot
//! from, and per calendar month (UTC) counts of what they did. Keys and counts only, never
//! any text: a cell key (`lens-3/action`), a meeting type id, a number.
//!
//! The cells have no dates and meeting prompts shown are not kept elsewhere, so a network
//! lead's per-period view (the `insights` module) needs its own tally, recorded as turns happen:
//! [`record_turn`] compares the person's state before and after a step (cells raised,
//! reflections and actions added, actions marked done) and reads the step's
//! [`Effect::MeetingPrompt`]s, so the engine's flows stay as they are. Records from before the
//! tally have none: they are counted from when it was added (the privacy notice says so).
//!
//! A person who opts out (`/settings`) is counted nowhere: the tally and the list of
//! communities are emptied at once ([`Tally::opt_out`]) and nothing is recorded while they
//! stay out. The tally lives in the person's record, so it is sealed, exported and erased with
//! everything else they hold; when two records of one person are merged (accounts linked),
//! [`Tally::merge_from`] unions them.

use super::Effect;
use super::state::{CellStatus, UserState};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// A person's part in community insights (a field of [`UserState`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    /// Set when the person chose not to be counted in community insights (`/settings`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub opted_out: bool,
    /// The communities they used the bot from (`discord:guild:ID`, `telegram:chat:ID`), each
    /// with when it was first seen.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub communities: BTreeMap<String, Timestamp>,
    /// What they did, by calendar month in UTC (`2026-11`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub months: BTreeMap<String, MonthTally>,
    /// Set once the person has been told that communities see counts (with the privacy
    /// notice at first contact, or once, on their next turn, for people who started before
    /// insights existed). Nothing is counted before.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub told: bool,
}

/// One person's counts for one calendar month.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonthTally {
    /// They wrote or pressed something (a due reminder does not count).
    #[serde(default)]
    pub active: bool,
    /// Cells (`lens-N/mode`) they started this month.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub started: BTreeSet<String>,
    /// Cells they finished this month.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub done: BTreeSet<String>,
    /// Reflections written (how many, never what).
    #[serde(default)]
    pub reflections: u32,
    /// Actions committed to.
    #[serde(default)]
    pub committed: u32,
    /// Actions marked done.
    #[serde(default)]
    pub actions_done: u32,
    /// Meeting prompts shown, by meeting type id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub prompts: BTreeMap<String, u32>,
}

impl MonthTally {
    /// Adds another month's counts for the same person (two linked records): flags and sets
    /// united, counts summed.
    pub fn merge_from(&mut self, other: &MonthTally) {
        self.active |= other.active;
        self.started.extend(other.started.iter().cloned());
        self.done.extend(other.done.iter().cloned());
        self.reflections = self.reflections.saturating_add(other.reflections);
        self.committed = self.committed.saturating_add(other.committed);
        self.actions_done = self.actions_done.saturating_add(other.actions_done);
        for (k, n) in &other.prompts {
            let e = self.prompts.entry(k.clone()).or_default();
            *e = e.saturating_add(*n);
        }
    }
}

impl Tally {
    /// Nothing kept and not opted out (the field is then left out of the stored record).
    pub fn is_empty(&self) -> bool {
        *self == Tally::default()
    }

    /// Unions another record's tally into this one (accounts linked): opted out if either
    /// was (the safer reading of two different answers), each community with its earlier
    /// first sight, each month merged ([`MonthTally::merge_from`]).
    pub fn merge_from(&mut self, other: &Tally) {
        // Told on either account is told: it is the same person.
        self.told |= other.told;
        if self.opted_out || other.opted_out {
            self.opt_out();
            return;
        }
        for (k, at) in &other.communities {
            let e = self.communities.entry(k.clone()).or_insert(*at);
            if *at < *e {
                *e = *at;
            }
        }
        for (m, t) in &other.months {
            self.months.entry(m.clone()).or_default().merge_from(t);
        }
    }

    /// Opts out: nothing is counted any more, and what was kept for counting goes.
    pub fn opt_out(&mut self) {
        self.opted_out = true;
        self.communities.clear();
        self.months.clear();
    }

    /// Opts back in: counted again from now on.
    pub fn opt_in(&mut self) {
        self.opted_out = false;
    }

    /// Notes that the person used the bot from a community (first sight kept).
    pub fn seen_in(&mut self, community: &str, now: Timestamp) {
        if self.opted_out || !self.told || community.is_empty() {
            return;
        }
        self.communities.entry(community.to_string()).or_insert(now);
    }

    /// This month's entry, made when missing.
    fn month(&mut self, now: Timestamp) -> &mut MonthTally {
        self.months.entry(month_key(now)).or_default()
    }

    /// Marks the person active this month.
    pub fn active(&mut self, now: Timestamp) {
        if !self.opted_out && self.told {
            self.month(now).active = true;
        }
    }
}

/// The calendar month (UTC) of a time, as tallies are keyed: `2026-11`.
pub fn month_key(t: Timestamp) -> String {
    t.to_zoned(jiff::tz::TimeZone::UTC)
        .strftime("%Y-%m")
        .to_string()
}

/// Records what one turn did in `after`'s tally, by comparing it with `before`: whether the
/// person acted (`from_person`), the community the event came from, cells raised, reflections
/// and actions added, actions marked done, and meeting prompts shown (`effects`). Nothing
/// when they are opted out.
pub fn record_turn(
    before: &UserState,
    after: &mut UserState,
    from_person: bool,
    community: Option<&str>,
    effects: &[Effect],
    now: Timestamp,
) {
    if after.tally.opted_out || !after.tally.told {
        return;
    }
    let mut m = MonthTally {
        active: from_person,
        ..MonthTally::default()
    };
    for (key, status) in &after.cells {
        let was = before.cells.get(key).copied().unwrap_or_default();
        if *status > was {
            if was == CellStatus::NotStarted {
                m.started.insert(key.clone());
            }
            if *status == CellStatus::Done {
                m.done.insert(key.clone());
            }
        }
    }
    m.reflections = after
        .reflections
        .len()
        .saturating_sub(before.reflections.len()) as u32;
    m.committed = after.actions.len().saturating_sub(before.actions.len()) as u32;
    m.actions_done = after
        .actions
        .iter()
        .filter(|a| a.done.is_some())
        .filter(|a| {
            !before
                .actions
                .iter()
                .any(|b| b.id == a.id && b.done.is_some())
        })
        .count() as u32;
    for e in effects {
        if let Effect::MeetingPrompt { meeting } = e {
            *m.prompts.entry(meeting.clone()).or_default() += 1;
        }
    }
    if let Some(c) = community.filter(|_| from_person) {
        after.tally.seen_in(c, now);
    }
    if m != MonthTally::default() {
        after.tally.month(now).merge_from(&m);
    }
    after.tally.forget_before(now);
}

/// How many calendar months of counts are kept: the longest period a report shows.
pub const MONTHS_KEPT: i64 = 12;

impl Tally {
    /// Drops the months no report can show any more (older than [`MONTHS_KEPT`] months,
    /// this one included): what is not needed is not kept.
    pub fn forget_before(&mut self, now: Timestamp) {
        use jiff::ToSpan;
        let first = now
            .to_zoned(jiff::tz::TimeZone::UTC)
            .date()
            .first_of_month();
        if let Ok(oldest) = first.checked_sub((MONTHS_KEPT - 1).months()) {
            let oldest = oldest.strftime("%Y-%m").to_string();
            self.months.retain(|k, _| *k >= oldest);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::state::{Commitment, Reflection};

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn a_turn_is_tallied_by_comparison() {
        let mut before = UserState::new("t:1");
        before.tally.told = true;
        let mut after = before.clone();
        after.raise_cell("lens-1", "awareness", CellStatus::Done);
        after.raise_cell("lens-2", "action", CellStatus::Started);
        after.reflections.push(Reflection {
            lens: "lens-1".into(),
            mode: "awareness".into(),
            prompt: "p".into(),
            question: "q".into(),
            text: "secret words".into(),
            at: at("2026-11-03T10:00:00Z"),
        });
        after.actions.push(Commitment {
            id: "a1".into(),
            lens: "lens-1".into(),
            action: "own".into(),
            text: "t".into(),
            size: "own".into(),
            committed: at("2026-11-03T10:00:00Z"),
            done: Some(at("2026-11-03T10:00:00Z")),
            dropped: None,
        });
        let effects = [Effect::MeetingPrompt {
            meeting: "team".into(),
        }];
        let now = at("2026-11-03T10:00:00Z");
        record_turn(
            &before,
            &mut after,
            true,
            Some("telegram:chat:-1"),
            &effects,
            now,
        );
        let m = &after.tally.months["2026-11"];
        assert!(m.active);
        assert_eq!(m.started.len(), 2, "a cell done at once was also started");
        assert_eq!(m.done.len(), 1);
        assert_eq!((m.reflections, m.committed, m.actions_done), (1, 1, 1));
        assert_eq!(m.prompts["team"], 1);
        assert!(after.tally.communities.contains_key("telegram:chat:-1"));
        let json = serde_json::to_string(&after.tally).unwrap();
        assert!(!json.contains("secret"), "no text in the tally");
    }

    #[test]
    fn an_opted_out_person_is_not_tallied_and_merges_stay_out() {
        let mut before = UserState::new("t:1");
        before.tally.told = true;
        let mut after = before.clone();
        after.tally.opt_out();
        record_turn(
            &before,
            &mut after,
            true,
            Some("c"),
            &[],
            Timestamp::UNIX_EPOCH,
        );
        assert!(after.tally.months.is_empty() && after.tally.communities.is_empty());
        let mut other = Tally {
            told: true,
            ..Tally::default()
        };
        other.active(Timestamp::UNIX_EPOCH);
        other.merge_from(&after.tally);
        assert!(other.opted_out && other.months.is_empty());
    }

    // Proves only the months a report can show are kept: a year, this month included.
    #[test]
    fn months_no_report_shows_are_dropped() {
        let mut t = Tally {
            told: true,
            ..Tally::default()
        };
        for m in ["2025-11", "2025-12", "2026-01", "2026-11"] {
            t.months.entry(m.into()).or_default().active = true;
        }
        t.forget_before(at("2026-11-15T00:00:00Z"));
        let kept: Vec<&str> = t.months.keys().map(String::as_str).collect();
        assert_eq!(kept, ["2025-12", "2026-01", "2026-11"]);
    }

    #[test]
    fn merging_sums_counts_and_unions_sets() {
        let told = Tally {
            told: true,
            ..Tally::default()
        };
        let (mut a, mut b) = (told.clone(), told);
        let t = at("2026-10-01T00:00:00Z");
        a.seen_in("x", at("2026-10-05T00:00:00Z"));
        b.seen_in("x", t);
        a.month(t).reflections = 2;
        b.month(t).reflections = 3;
        b.month(t).done.insert("lens-1/action".into());
        a.merge_from(&b);
        assert_eq!(a.communities["x"], t);
        assert_eq!(a.months["2026-10"].reflections, 5);
        assert_eq!(a.months["2026-10"].done.len(), 1);
    }
}
