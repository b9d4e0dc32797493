//! A network lead's view: how a community (a Discord server, a Telegram group) uses lensbot,
//! in counts that never expose anyone. Pure: given the people's tallies
//! ([`crate::engine::tally`]), the challenge records, a community key, a period and the time,
//! [`compute`] makes a [`Report`]; [`render`] turns it into a message, a CSV and a picture.
//!
//! **Who is counted.** A person belongs to a community when they used the bot from it: a
//! command, button or answer in a Discord server (`discord:guild:ID`), a command in a
//! Telegram group or a challenge joined there (`telegram:chat:ID`, the challenge group key's
//! own form), or a challenge they joined in one of the server's channels. Their record keeps
//! the community keys; a person who opted out (`/settings`) is counted nowhere. What they did
//! is counted from their monthly tally, which began when this feature was added: earlier
//! activity is not counted.
//!
//! **Periods** are whole calendar months (UTC) from a fixed list of windows that all end with
//! the current month ([`Period`]: this month, the last 3, 6 or 12 months); the report shows
//! the period's totals and, for activity, reflections and actions, a trend by month.
//!
//! **What a number may show (the suppression rules).** Every number comes from a set of
//! people (the people counted, or the people who did the things counted).
//! 1. *Fewer than five*: a number whose set holds 1 to 4 people is shown as "fewer than 5"
//!    (k-anonymity with k = 5); a count of things (reflections, actions, prompts) is shown
//!    only when at least 5 people contributed to it.
//! 2. *Differencing across periods*: the windows nest (each ends with the current month), and
//!    a longer window's number could be subtracted from a shorter one's, or from one month of
//!    its trend. A number is withheld when, for any shown number of the same kind over a
//!    window or month it contains, the difference comes from 1 to 4 people (for counts of
//!    people: people counted in the longer window and not in the shorter one; for counts of
//!    things: the people who did them in the months the shorter window leaves out).
//! 3. *Totals over hidden parts*: a total that is the sum of shown parts (a period's
//!    reflections over its months, meeting prompts over meeting types) is withheld when some
//!    parts are hidden and the hidden parts together come from fewer than 5 people, since
//!    subtracting the shown parts would reveal them.
//! 4. *Challenges*: a challenge is counted only when 5 or more of its members are counted
//!    (not opted out); check-in rates are over those challenges' members together.
//!
//! These rules hold within what the bot shows at one time; numbers compared across different
//! days can still move by a person or two as people join, leave or opt out, which is why
//! only whole months and a fixed list of windows are offered. Counts only, always: no text,
//! no names, no ids ever reach a report.
//!
//! **What the rules cannot do.** k-anonymity counts accounts, not people: someone who makes a
//! Telegram group (and so is its admin), gets one person to type a command there, and fills
//! the other four places with accounts of their own whose activity they know, could learn
//! from "fewer than 5" against 5 whether that person was active, and subtract their own
//! reflections from a total. No count-based rule stops that; what limits it is that a person
//! joins a community only by using the bot there, that the privacy notice says so (and how to
//! opt out), and that reports are made at most once per community and period every few
//! minutes, one at a time (`session::insights`), so the store cannot be kept busy either.

pub mod render;

use crate::challenge::Challenge;
use crate::content::ModeKind;
use crate::engine::UserState;
use crate::engine::tally::{MonthTally, month_key};
use jiff::{Timestamp, ToSpan};
use std::collections::BTreeSet;

/// The smallest set of people a shown number may come from.
pub const K: usize = 5;

/// A report's period: whole calendar months (UTC) ending with the current month.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Period {
    /// This calendar month.
    ThisMonth,
    /// The last 3 months, this one included.
    Months3,
    /// The last 6 months.
    Months6,
    /// The last 12 months.
    Months12,
}

impl Period {
    /// Every period offered, shortest first.
    pub const ALL: [Period; 4] = [
        Period::ThisMonth,
        Period::Months3,
        Period::Months6,
        Period::Months12,
    ];

    /// How many months it spans.
    pub fn months(self) -> usize {
        match self {
            Period::ThisMonth => 1,
            Period::Months3 => 3,
            Period::Months6 => 6,
            Period::Months12 => 12,
        }
    }

    /// Its stable name, as commands take it: `month`, `3-months`, `6-months`, `12-months`.
    pub fn id(self) -> &'static str {
        match self {
            Period::ThisMonth => "month",
            Period::Months3 => "3-months",
            Period::Months6 => "6-months",
            Period::Months12 => "12-months",
        }
    }

    /// Reads a period as typed: its id, or its number of months (`1`, `3`, `6`, `12`, `3m`).
    pub fn parse(s: &str) -> Option<Period> {
        let s = s.trim().to_lowercase();
        if s.is_empty() {
            return None;
        }
        if let Some(p) = Period::ALL.into_iter().find(|p| p.id() == s) {
            return Some(p);
        }
        let digits: String = s.chars().take_while(char::is_ascii_digit).collect();
        let rest = s[digits.len()..].trim().trim_start_matches('-');
        let unit_ok = rest.is_empty() || "months".starts_with(rest) || rest == "mo";
        match (digits.parse::<usize>().ok(), unit_ok) {
            (Some(n), true) => Period::ALL.into_iter().find(|p| p.months() == n),
            _ if s == "this month" || s == "this-month" => Some(Period::ThisMonth),
            _ => None,
        }
    }
}

/// The month keys (`2026-11`) of the `n` months ending with the month of `now`, oldest first.
pub fn months_ending(now: Timestamp, n: usize) -> Vec<String> {
    let first = now
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date()
        .first_of_month();
    (0..n)
        .rev()
        .filter_map(|i| first.checked_sub((i as i64).months()).ok())
        .map(|d| d.strftime("%Y-%m").to_string())
        .collect()
}

/// How a number is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shown {
    /// The number.
    Count(u64),
    /// A rate, in whole per cent.
    Percent(u64),
    /// From 1 to 4 people: shown as "fewer than 5".
    FewerThan5,
    /// Hidden so it cannot be subtracted from another shown number to reveal fewer than 5
    /// people (rules 2 and 3 of the module docs).
    Withheld,
    /// Nothing to measure (a check-in rate with no challenge).
    None,
}

impl Shown {
    /// Whether the number itself is shown.
    pub fn is_shown(self) -> bool {
        matches!(self, Shown::Count(_) | Shown::Percent(_) | Shown::None)
    }
}

/// One number of a report: what it counts, for what, and how it is shown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Figure {
    /// What it counts: `active_this_month`, `active_period`, `cell_started`, `cell_done`,
    /// `reflections`, `actions_committed`, `actions_done`, `meeting_prompts`,
    /// `meeting_prompts_total`, `trend_active`, `trend_reflections`,
    /// `trend_actions_committed`, `trend_actions_done`, `challenges_run`,
    /// `challenges_finished`, `challenge_checkin_rate`.
    pub id: &'static str,
    /// For what: a cell (`lens-1/awareness`), a meeting type id, a month (`2026-11`), or
    /// empty.
    pub detail: String,
    /// The number, or why it is hidden.
    pub shown: Shown,
}

/// A community's report for a period.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// The community key.
    pub community: String,
    /// The period.
    pub period: Period,
    /// Its months, oldest first.
    pub months: Vec<String>,
    /// Every number, in the order they are shown.
    pub figures: Vec<Figure>,
}

impl Report {
    /// The figure with this id and detail (every report has each one it describes).
    pub fn get(&self, id: &str, detail: &str) -> Shown {
        self.figures
            .iter()
            .find(|f| f.id == id && f.detail == detail)
            .map(|f| f.shown)
            .unwrap_or(Shown::None)
    }
}

/// What one person did in one month, for a count of things.
type Count = fn(&MonthTally) -> u64;

/// Whether a figure counts people, or things people did.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    People,
    Things,
}

/// One figure's data: per counted person, per month of the window (oldest first), what they
/// contributed (1 or 0 for a count of people).
struct Series {
    kind: Kind,
    /// Whether it has a trend by month (so its single months are shown too).
    trended: bool,
    by_person: Vec<Vec<u64>>,
    /// What [`Series::shown`] found for each span already asked about (the rules ask about
    /// the same inner spans many times).
    memo: std::cell::RefCell<std::collections::HashMap<Span, Shown>>,
}

impl Series {
    fn new(kind: Kind, trended: bool, people: &[Vec<Option<&MonthTally>>]) -> Self {
        Series {
            kind,
            trended,
            by_person: vec![vec![0; people.first().map_or(0, Vec::len)]; people.len()],
            memo: Default::default(),
        }
    }

    fn fill(mut self, people: &[Vec<Option<&MonthTally>>], f: impl Fn(&MonthTally) -> u64) -> Self {
        for (p, months) in people.iter().enumerate() {
            for (m, t) in months.iter().enumerate() {
                self.by_person[p][m] = t.map_or(0, &f);
            }
        }
        self
    }

    /// The people with something in these months.
    fn contributors(&self, months: &[usize]) -> BTreeSet<usize> {
        self.by_person
            .iter()
            .enumerate()
            .filter(|(_, v)| months.iter().any(|m| v[*m] > 0))
            .map(|(p, _)| p)
            .collect()
    }

    /// The number over these months.
    fn value(&self, months: &[usize]) -> u64 {
        match self.kind {
            Kind::People => self.contributors(months).len() as u64,
            Kind::Things => self
                .by_person
                .iter()
                .map(|v| months.iter().map(|m| v[*m]).sum::<u64>())
                .sum(),
        }
    }

    /// How many people make the number over `outer` differ from the number over `inner`
    /// (months `inner` ⊂ `outer`).
    fn difference(&self, outer: &[usize], inner: &[usize]) -> usize {
        match self.kind {
            Kind::People => self
                .contributors(outer)
                .difference(&self.contributors(inner))
                .count(),
            Kind::Things => {
                let rest: Vec<usize> = outer
                    .iter()
                    .copied()
                    .filter(|m| !inner.contains(m))
                    .collect();
                self.contributors(&rest).len()
            }
        }
    }

    /// The number over the last `n` months of the window (`n` of [`Period::months`]), or a
    /// single month (`single`), with rules 1–3 applied.
    fn shown(&self, span: Span) -> Shown {
        if let Some(s) = self.memo.borrow().get(&span) {
            return *s;
        }
        let s = self.judge(span);
        self.memo.borrow_mut().insert(span, s);
        s
    }

    /// [`Series::shown`], worked out.
    fn judge(&self, span: Span) -> Shown {
        let months = span.months(self.width());
        let who = self.contributors(&months);
        if who.is_empty() {
            return Shown::Count(0);
        }
        if who.len() < K {
            return Shown::FewerThan5;
        }
        // Rule 2: against every shown number over a window or month inside this one.
        for inner in span.inner(self.trended, self.width()) {
            let shown = self.shown(inner);
            let d = self.difference(&months, &inner.months(self.width()));
            if matches!(shown, Shown::Count(_)) && (1..K).contains(&d) {
                return Shown::Withheld;
            }
        }
        // Rule 3: a total of things over its months, some of them hidden.
        if self.kind == Kind::Things && self.trended && months.len() > 1 {
            let hidden: Vec<usize> = months
                .iter()
                .copied()
                .filter(|m| !self.shown(Span::Single(*m)).is_shown())
                .collect();
            let n = self.contributors(&hidden).len();
            if !hidden.is_empty() && n < K {
                return Shown::Withheld;
            }
        }
        Shown::Count(self.value(&months))
    }

    fn width(&self) -> usize {
        self.by_person.first().map_or(0, Vec::len)
    }
}

/// A set of months of the window: the last `n`, or one month by its index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Span {
    Last(usize),
    Single(usize),
}

impl Span {
    fn months(self, width: usize) -> Vec<usize> {
        match self {
            Span::Last(n) => (width.saturating_sub(n)..width).collect(),
            Span::Single(m) => vec![m],
        }
    }

    /// The shown spans strictly inside this one: shorter standard windows, and single months
    /// when the figure has a trend.
    fn inner(self, trended: bool, width: usize) -> Vec<Span> {
        let Span::Last(n) = self else {
            return Vec::new();
        };
        let mut out: Vec<Span> = Period::ALL
            .iter()
            .map(|p| p.months())
            .filter(|k| *k < n)
            .map(Span::Last)
            .collect();
        if trended && n > 1 {
            // The current month is the one-month window already.
            out.extend(
                Span::Last(n)
                    .months(width)
                    .into_iter()
                    .filter(|m| *m + 1 != width)
                    .map(Span::Single),
            );
        }
        out
    }
}

/// Whether a challenge record belongs to a community: recorded when it was started there
/// (a Discord channel's server), or, for a Telegram group, the group itself.
pub fn challenge_in(c: &Challenge, community: &str) -> bool {
    c.community.as_deref() == Some(community) || c.group == community
}

/// The report for `community` over `period` at `now`, from everyone's records and every
/// challenge record. People who are not in the community, or opted out, are not counted.
pub fn compute(
    cat: &crate::content::Catalog,
    people: &[UserState],
    challenges: &[Challenge],
    community: &str,
    period: Period,
    now: Timestamp,
) -> Report {
    // The widest window any rule looks at is the period itself (inner spans are inside it).
    let months = months_ending(now, period.months());
    let members: Vec<&UserState> = people
        .iter()
        .filter(|s| !s.tally.opted_out && s.tally.communities.contains_key(community))
        .collect();
    let grid: Vec<Vec<Option<&MonthTally>>> = members
        .iter()
        .map(|s| months.iter().map(|m| s.tally.months.get(m)).collect())
        .collect();
    let whole = Span::Last(months.len());
    let mut figures = Vec::new();
    let mut push = |id: &'static str, detail: String, shown: Shown| {
        figures.push(Figure { id, detail, shown });
    };
    let active = Series::new(Kind::People, true, &grid).fill(&grid, |t| u64::from(t.active));
    push(
        "active_this_month",
        String::new(),
        active.shown(Span::Last(1)),
    );
    push("active_period", String::new(), active.shown(whole));
    for l in &cat.lenses {
        for m in ModeKind::ALL {
            let cell = format!("{}/{}", l.id, m.as_str());
            let started = Series::new(Kind::People, false, &grid)
                .fill(&grid, |t| u64::from(t.started.contains(&cell)));
            let done = Series::new(Kind::People, false, &grid)
                .fill(&grid, |t| u64::from(t.done.contains(&cell)));
            push("cell_started", cell.clone(), started.shown(whole));
            push("cell_done", cell, done.shown(whole));
        }
    }
    let things: [(&'static str, Count); 3] = [
        ("reflections", |t| u64::from(t.reflections)),
        ("actions_committed", |t| u64::from(t.committed)),
        ("actions_done", |t| u64::from(t.actions_done)),
    ];
    let series: Vec<(&'static str, Series)> = things
        .iter()
        .map(|(id, f)| (*id, Series::new(Kind::Things, true, &grid).fill(&grid, f)))
        .collect();
    for (id, s) in &series {
        push(id, String::new(), s.shown(whole));
    }
    // Meeting prompts by type, and their total (rule 3 over the types).
    let mut hidden_types = BTreeSet::new();
    let mut any_hidden = false;
    for meeting in &cat.meetings {
        let s = Series::new(Kind::Things, false, &grid).fill(&grid, |t| {
            u64::from(t.prompts.get(&meeting.id).copied().unwrap_or(0))
        });
        let shown = s.shown(whole);
        if !shown.is_shown() {
            any_hidden = true;
            hidden_types.extend(s.contributors(&whole.months(months.len())));
        }
        push("meeting_prompts", meeting.id.clone(), shown);
    }
    let total = Series::new(Kind::Things, false, &grid).fill(&grid, |t| {
        t.prompts
            .iter()
            .filter(|(k, _)| cat.meetings.iter().any(|m| &m.id == *k))
            .map(|(_, n)| u64::from(*n))
            .sum()
    });
    let total_shown = match total.shown(whole) {
        Shown::Count(_) if any_hidden && hidden_types.len() < K => Shown::Withheld,
        s => s,
    };
    push("meeting_prompts_total", String::new(), total_shown);
    // The trend by month.
    for (i, m) in months.iter().enumerate() {
        push("trend_active", m.clone(), active.shown(Span::Single(i)));
        for (id, s) in &series {
            let trend_id = match *id {
                "reflections" => "trend_reflections",
                "actions_committed" => "trend_actions_committed",
                _ => "trend_actions_done",
            };
            push(trend_id, m.clone(), s.shown(Span::Single(i)));
        }
    }
    for f in challenge_figures(people, challenges, community, &months) {
        figures.push(f);
    }
    Report {
        community: community.to_string(),
        period,
        months,
        figures,
    }
}

/// Challenges run and finished in the community's groups over the months, and their check-in
/// rate (rule 4: only challenges with at least [`K`] counted members).
fn challenge_figures(
    people: &[UserState],
    challenges: &[Challenge],
    community: &str,
    months: &[String],
) -> Vec<Figure> {
    // A challenge's members are accounts: an opted-out person is left out under every
    // account linked to their record (`engine::link`).
    let out: BTreeSet<String> = people
        .iter()
        .filter(|s| s.tally.opted_out)
        .flat_map(crate::engine::link::accounts)
        .collect();
    let (first, last) = (
        months.first().cloned().unwrap_or_default(),
        months.last().cloned().unwrap_or_default(),
    );
    let mut run = 0u64;
    let mut finished = 0u64;
    let (mut sent, mut done) = (0u64, 0u64);
    for c in challenges.iter().filter(|c| challenge_in(c, community)) {
        let counted: Vec<_> = c
            .members
            .iter()
            .filter(|m| !out.contains(&m.user))
            .collect();
        if counted.len() < K {
            continue;
        }
        let began = month_key(c.started_at);
        let ended = c.ended.as_ref().map(|e| month_key(e.at));
        let overlaps = began <= last && ended.as_ref().is_none_or(|e| *e >= first);
        if !overlaps {
            continue;
        }
        run += 1;
        if let Some(e) = &c.ended
            && !e.early
            && ended.as_ref().is_some_and(|m| *m >= first && *m <= last)
        {
            finished += 1;
        }
        for m in counted {
            sent += m.sent.len() as u64;
            done += m.checkins.iter().filter(|s| m.sent.contains(s)).count() as u64;
        }
    }
    let rate = (done * 100 + sent / 2)
        .checked_div(sent)
        .map_or(Shown::None, Shown::Percent);
    vec![
        Figure {
            id: "challenges_run",
            detail: String::new(),
            shown: Shown::Count(run),
        },
        Figure {
            id: "challenges_finished",
            detail: String::new(),
            shown: Shown::Count(finished),
        },
        Figure {
            id: "challenge_checkin_rate",
            detail: String::new(),
            shown: rate,
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::tally::Tally;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn periods_read_and_months_end_with_this_one() {
        assert_eq!(Period::parse("3"), Some(Period::Months3));
        assert_eq!(Period::parse("6-months"), Some(Period::Months6));
        assert_eq!(Period::parse("12m"), Some(Period::Months12));
        assert_eq!(Period::parse("month"), Some(Period::ThisMonth));
        assert_eq!(Period::parse("5"), None);
        assert_eq!(Period::parse("soon"), None);
        assert_eq!(
            months_ending(t("2026-02-10T00:00:00Z"), 3),
            ["2025-12", "2026-01", "2026-02"]
        );
    }

    /// A person active in the given month indices of a 3-month window.
    fn series(active: &[&[usize]]) -> Series {
        Series {
            kind: Kind::People,
            trended: true,
            memo: Default::default(),
            by_person: active
                .iter()
                .map(|ms| (0..3).map(|m| u64::from(ms.contains(&m))).collect())
                .collect(),
        }
    }

    #[test]
    fn fewer_than_five_people_are_hidden() {
        let s = series(&[&[2], &[2], &[2], &[2]]);
        assert_eq!(s.shown(Span::Last(1)), Shown::FewerThan5);
        let s = series(&[&[2usize] as &[usize]; 5]);
        assert_eq!(s.shown(Span::Last(1)), Shown::Count(5));
        let s = series(&[]);
        assert_eq!(s.shown(Span::Last(3)), Shown::Count(0));
    }

    #[test]
    fn a_longer_window_that_would_single_someone_out_is_withheld() {
        // Ten people active this month, one more only two months ago: "11 in 3 months" next
        // to "10 this month" would reveal that one person.
        let mut people: Vec<&[usize]> = vec![&[2]; 10];
        people.push(&[0]);
        let s = series(&people);
        assert_eq!(s.shown(Span::Last(1)), Shown::Count(10));
        assert_eq!(s.shown(Span::Last(3)), Shown::Withheld);
        // With five more the difference is six people: shown.
        for _ in 0..5 {
            people.push(&[1]);
        }
        let s = series(&people);
        assert_eq!(s.shown(Span::Last(3)), Shown::Count(16));
    }

    #[test]
    fn a_total_over_hidden_months_is_withheld() {
        // Reflections: six people wrote in months 0 and 2; one person wrote 7 in month 1.
        let mut by_person = vec![vec![1, 0, 1]; 6];
        by_person.push(vec![0, 7, 0]);
        let s = Series {
            kind: Kind::Things,
            trended: true,
            by_person,
            memo: Default::default(),
        };
        assert_eq!(s.shown(Span::Single(1)), Shown::FewerThan5);
        assert_eq!(s.shown(Span::Single(0)), Shown::Count(6));
        // 19 in all minus 6 and 6 would reveal the one person's 7.
        assert_eq!(s.shown(Span::Last(3)), Shown::Withheld);
    }

    /// Ten thousand members with a year of activity are all counted (how long that takes is
    /// measured by `benches/insights.rs`, not here: see BENCHMARKS.md).
    #[test]
    fn a_large_community_is_counted() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("dialogues");
        let (cat, _) = crate::content::load(&dir).unwrap();
        let now = t("2026-11-15T12:00:00Z");
        let months = months_ending(now, 12);
        let people: Vec<UserState> = (0..10_000)
            .map(|i| {
                let mut s = UserState::new(&format!("telegram:{i}"));
                s.tally.told = true;
                s.tally.seen_in("telegram:chat:-5", now);
                for (k, m) in months.iter().enumerate() {
                    if (i + k) % 3 == 0 {
                        let e = s.tally.months.entry(m.clone()).or_default();
                        e.active = true;
                        e.reflections = 2;
                        e.done.insert(format!("lens-{}/action", 1 + (i + k) % 6));
                        e.prompts.insert("team".into(), 1);
                    }
                }
                s
            })
            .collect();
        let r = compute(
            &cat,
            &people,
            &[],
            "telegram:chat:-5",
            Period::Months12,
            now,
        );
        assert_eq!(r.get("active_period", ""), Shown::Count(10_000));
    }

    #[test]
    fn only_members_who_have_not_opted_out_are_counted() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("dialogues");
        let (cat, _) = crate::content::load(&dir).unwrap();
        let now = t("2026-11-15T12:00:00Z");
        let mut people = Vec::new();
        for i in 0..7 {
            let mut s = UserState::new(&format!("telegram:{i}"));
            s.tally.told = true;
            s.tally.seen_in("telegram:chat:-5", now);
            s.tally.active(now);
            people.push(s);
        }
        let r = compute(
            &cat,
            &people,
            &[],
            "telegram:chat:-5",
            Period::ThisMonth,
            now,
        );
        assert_eq!(r.get("active_this_month", ""), Shown::Count(7));
        people[0].tally.opt_out();
        people[1].tally = Tally::default();
        let r = compute(
            &cat,
            &people,
            &[],
            "telegram:chat:-5",
            Period::ThisMonth,
            now,
        );
        assert_eq!(r.get("active_this_month", ""), Shown::Count(5));
        let r = compute(
            &cat,
            &people,
            &[],
            "discord:guild:1",
            Period::ThisMonth,
            now,
        );
        assert_eq!(r.get("active_this_month", ""), Shown::Count(0));
    }
}
