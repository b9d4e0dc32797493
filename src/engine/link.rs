//! One person on several platforms (`/link`), as pure functions on records: merging two
//! records into one, splitting them again, and where a linked person's reminders go. The
//! session holds the codes, the locks and the writes (`session::link`).
//!
//! How a linked person is kept: their whole record stays under one key (the account that
//! made the code: `telegram:ID`, say), with the other accounts listed in
//! [`UserState::accounts`]; each other account keeps a record of its own that holds nothing
//! but [`UserState::linked_to`], the key to follow. So a person who never links costs nothing
//! more (their record is read as before), and a linked one costs one more read. A group
//! challenge's membership stays with the account that joined it (a challenge lives on one
//! platform, and its prompts go there).
//!
//! What each side keeps when they are separated again is the person's choice (`/unlink`
//! asks): everything stays with the account they choose, and the other starts afresh. Copying
//! everything to both would leave a person's reflections on an account that may not be
//! theirs (a code typed into a colleague's account is the usual reason to unlink).

use super::state::{At, Commitment, Reminder, ReminderKind, UserState};
use jiff::Timestamp;
use std::collections::BTreeMap;

/// The letters of a link code: no 0/O, 1/I/L, so that a code read aloud or copied by hand
/// survives. 31 symbols, 8 of them: about 8.5 × 10¹¹ codes.
pub const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";

/// How many symbols a code has.
pub const CODE_LEN: usize = 8;

/// The deep-link parameter's prefix (`/start link-ABCD2345`).
pub const DEEP_LINK_PREFIX: &str = "link-";

/// A code typed by a person, normalised (`abcd-2345` → `ABCD2345`), if it has the form of one.
pub fn parse_code(text: &str) -> Option<String> {
    let code: String = text
        .chars()
        .filter(|c| !matches!(c, ' ' | '-'))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (code.len() == CODE_LEN && code.bytes().all(|b| CODE_ALPHABET.contains(&b))).then_some(code)
}

/// A code as it is shown: two groups of four (`ABCD-2345`).
pub fn show_code(code: &str) -> String {
    if code.len() == CODE_LEN {
        format!("{}-{}", &code[..4], &code[4..])
    } else {
        code.to_string()
    }
}

/// The platform of an account key (`telegram:42` → `telegram`).
pub fn platform(account: &str) -> &str {
    account.split(':').next().unwrap_or(account)
}

/// A platform's name as people say it.
pub fn platform_name(account: &str) -> &'static str {
    match platform(account) {
        "telegram" => "Telegram",
        "discord" => "Discord",
        "terminal" => "the terminal",
        _ => "another platform",
    }
}

/// Whether a key is a person's account on a platform (`telegram:42`, `discord:7`): a direct
/// message's recipient, as opposed to a group or an interaction's delivery key.
pub fn is_account_key(key: &str) -> bool {
    key.split_once(':').is_some_and(|(p, id)| {
        matches!(p, "telegram" | "discord")
            && !id.is_empty()
            && id.bytes().all(|b| b.is_ascii_digit())
    })
}

/// Every account a record is reached from: its own key, then the linked ones.
pub fn accounts(state: &UserState) -> Vec<String> {
    std::iter::once(state.user.clone())
        .chain(state.accounts.iter().cloned())
        .collect()
}

/// Where a person's reminders go: the account they chose, else the one they wrote from last,
/// else the record's own.
pub fn reminder_account(state: &UserState) -> String {
    let linked = accounts(state);
    state
        .reminders_to
        .iter()
        .chain(state.last_account.iter())
        .find(|a| linked.contains(a))
        .cloned()
        .unwrap_or_else(|| state.user.clone())
}

/// The account of a linked person that belongs to a group challenge's platform
/// (`telegram:chat:…` → their `telegram:` account); `fallback` when none does.
pub fn account_for(state: &UserState, group: &str, fallback: &str) -> String {
    accounts(state)
        .into_iter()
        .find(|a| platform(a) == platform(group))
        .unwrap_or_else(|| fallback.to_string())
}

/// The stub kept under an account linked to `person`: nothing but the key to follow.
pub fn stub(account: &str, person: &str, now: Timestamp) -> UserState {
    let mut s = UserState::new(account);
    s.linked_to = Some(person.to_string());
    s.created = Some(now);
    s.updated = Some(now);
    s
}

/// What a merge brought across, for the message that says so.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Merged {
    /// Reflections from the other record.
    pub reflections: usize,
    /// Actions from the other record.
    pub actions: usize,
    /// Notes from the other record.
    pub notes: usize,
    /// Reminders from the other record.
    pub reminders: usize,
    /// Settings the other record had that this one already had differently (kept as this
    /// one had them): profession, time zone, quiet hours.
    pub settings_kept: Vec<&'static str>,
    /// The two records kept data for different lengths of time: the shorter is kept (the
    /// months), as neither side agreed to the longer for the other's data.
    pub retention_shorter: Option<u32>,
}

/// Merges `other` (the account that redeemed a code) into `home` (the record of the account
/// that made it): everything from both is kept. Lists (reflections, notes, actions,
/// reminders) are joined in time order, the other's actions and reminders renumbered where
/// their ids are taken; each lens × mode cell keeps the further of the two; a lens begun on
/// only one side keeps its place; a setting set on one side only is taken, and where both set
/// one, `home`'s stays (and [`Merged::settings_kept`] names it), except retention, where the
/// shorter stays. The result is `home`'s key
/// with `other`'s account linked, idle (the person is in the middle of linking).
pub fn merge(home: &UserState, other: &UserState, now: Timestamp) -> (UserState, Merged) {
    let mut m = home.clone();
    let mut said = Merged {
        reflections: other.reflections.len(),
        actions: other.actions.len(),
        notes: other.notes.len(),
        reminders: other.reminders.len(),
        settings_kept: Vec::new(),
        retention_shorter: None,
    };
    let mut setting = |name: &'static str, differs: bool| {
        if differs {
            said.settings_kept.push(name);
        }
    };
    fill(&mut m.profession, &other.profession, |d| {
        setting("profession", d)
    });
    fill(&mut m.timezone, &other.timezone, |d| setting("timezone", d));
    fill(&mut m.quiet, &other.quiet, |d| setting("quiet", d));
    let months = |s: &UserState| {
        s.retention_months
            .unwrap_or(super::retention::DEFAULT_MONTHS)
    };
    if months(home) != months(other) {
        let shorter = months(home).min(months(other));
        m.retention_months = Some(shorter);
        said.retention_shorter = Some(shorter);
    }
    m.created = [home.created, other.created].into_iter().flatten().min();
    m.last_active = [home.last_active, other.last_active]
        .into_iter()
        .flatten()
        .max();
    m.retention_warned = None;
    m.welcomed |= other.welcomed;
    m.step = home.step.max(other.step) + 1;
    m.facts_shown = home.facts_shown.max(other.facts_shown);
    m.prep_turn = home.prep_turn.max(other.prep_turn);
    m.example_turn = 0;
    m.at = At::Idle;
    m.menu.clear();
    m.last_button = None;
    m.last_button_at = None;
    m.unreachable = false;
    for (cell, status) in &other.cells {
        let e = m.cells.entry(cell.clone()).or_default();
        *e = (*e).max(*status);
    }
    for (lens, stop) in &other.lens_at {
        m.lens_at
            .entry(lens.clone())
            .or_insert_with(|| stop.clone());
    }
    for (lens, route) in &other.routes {
        m.routes
            .entry(lens.clone())
            .or_insert_with(|| route.clone());
    }
    if m.last_lens.is_none() {
        m.last_lens = other.last_lens.clone();
    }
    m.reflections.extend(other.reflections.iter().cloned());
    m.reflections.sort_by_key(|r| r.at);
    m.notes.extend(other.notes.iter().cloned());
    m.notes.sort_by_key(|n| n.at);
    let renamed = join_actions(&mut m.actions, &other.actions);
    join_reminders(&mut m, &other.reminders, &renamed);
    m.notices.extend(other.notices.iter().cloned());
    // Community insights' counts (numbers and keys only): summed; opted out if either was.
    m.tally.merge_from(&other.tally);
    if m.pending.is_none() {
        m.pending = other.pending.clone();
    }
    m.accounts.push(other.user.clone());
    m.accounts.extend(other.accounts.iter().cloned());
    m.accounts.dedup();
    m.linked_to = None;
    m.last_account = Some(other.user.clone());
    m.updated = Some(now);
    (m, said)
}

/// Takes `other`'s value where `mine` has none; calls `differs(true)` when both are set and
/// differ (mine is kept).
fn fill<T: Clone + PartialEq>(
    mine: &mut Option<T>,
    other: &Option<T>,
    mut differs: impl FnMut(bool),
) {
    match (mine.as_ref(), other) {
        (None, Some(o)) => *mine = Some(o.clone()),
        (Some(a), Some(b)) => differs(a != b),
        _ => {}
    }
}

/// Adds `other`'s actions after `mine`, each with an id not taken (`a1` … continuing from the
/// highest in use); returns the renamings.
fn join_actions(mine: &mut Vec<Commitment>, other: &[Commitment]) -> BTreeMap<String, String> {
    let mut next = mine
        .iter()
        .filter_map(|a| a.id.strip_prefix('a')?.parse::<usize>().ok())
        .max()
        .unwrap_or(0)
        .max(mine.len());
    let mut renamed = BTreeMap::new();
    for a in other {
        next += 1;
        let mut a = a.clone();
        let id = format!("a{next}");
        renamed.insert(a.id.clone(), id.clone());
        a.id = id;
        mine.push(a);
    }
    mine.sort_by_key(|a| a.committed);
    renamed
}

/// Adds `other`'s reminders with fresh ids (`r…` from the merged counter), pointing at the
/// actions' new ids.
fn join_reminders(m: &mut UserState, other: &[Reminder], actions: &BTreeMap<String, String>) {
    for r in other {
        let mut r = r.clone();
        m.reminder_seq += 1;
        r.id = format!("r{}", m.reminder_seq);
        if let ReminderKind::Action { action } = &mut r.kind
            && let Some(new) = actions.get(action)
        {
            *action = new.clone();
        }
        m.reminders.push(r);
    }
}

/// `/unlink`: separates `account` from the record `state`. When `keep_here` names the account
/// that keeps everything, the record is rewritten under that key with no links, and the other
/// account(s) start afresh. Returns the record to keep (under its new key) and the accounts
/// that start afresh.
pub fn split(state: &UserState, keep_on: &str, now: Timestamp) -> (UserState, Vec<String>) {
    let all = accounts(state);
    let mut kept = state.clone();
    kept.user = keep_on.to_string();
    kept.accounts.clear();
    kept.reminders_to = None;
    kept.last_account = None;
    kept.linked_to = None;
    kept.at = At::Idle;
    kept.menu.clear();
    kept.step += 1;
    kept.updated = Some(now);
    let fresh = all.into_iter().filter(|a| a != keep_on).collect();
    (kept, fresh)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::state::{CellStatus, Reflection};

    fn at(s: i64) -> Timestamp {
        Timestamp::from_second(1_780_000_000 + s).unwrap()
    }

    fn reflection(text: &str, when: i64) -> Reflection {
        Reflection {
            lens: "lens-1".into(),
            mode: "awareness".into(),
            prompt: "p".into(),
            question: "q".into(),
            text: text.into(),
            at: at(when),
        }
    }

    fn action(id: &str, when: i64) -> Commitment {
        Commitment {
            id: id.into(),
            lens: "lens-1".into(),
            action: "own".into(),
            text: format!("action {id} at {when}"),
            size: "own".into(),
            committed: at(when),
            done: None,
            dropped: None,
        }
    }

    #[test]
    fn codes_are_read_as_typed_and_refused_when_malformed() {
        assert_eq!(parse_code("abcd-2345").as_deref(), Some("ABCD2345"));
        assert_eq!(parse_code(" ABCD 2345 ").as_deref(), Some("ABCD2345"));
        assert_eq!(parse_code("ABCD234"), None, "too short");
        assert_eq!(parse_code("ABCD2340"), None, "0 is not in the alphabet");
        assert_eq!(show_code("ABCD2345"), "ABCD-2345");
    }

    // Proves a merge keeps everything from both records: every reflection and note in time
    // order, every action with a unique id (a reminder about an action still names it), the
    // further of two cells, settings from either side with home's winning a clash.
    #[test]
    fn a_merge_keeps_both_histories() {
        let mut home = UserState::new("telegram:1");
        home.reflections.push(reflection("home first", 10));
        home.reflections.push(reflection("home later", 30));
        home.actions.push(action("a1", 5));
        home.cells
            .insert("lens-1/awareness".into(), CellStatus::Started);
        home.timezone = Some("Europe/London".into());
        home.reminder_seq = 1;
        let mut other = UserState::new("discord:2");
        other.reflections.push(reflection("other", 20));
        other.actions.push(action("a1", 7));
        other
            .cells
            .insert("lens-1/awareness".into(), CellStatus::Done);
        other
            .cells
            .insert("lens-2/action".into(), CellStatus::Started);
        other.timezone = Some("Europe/Paris".into());
        other.profession = Some("physiotherapist".into());
        other.reminder_seq = 1;
        other.reminders.push(Reminder {
            id: "r1".into(),
            kind: ReminderKind::Action {
                action: "a1".into(),
            },
            schedule: crate::engine::when::Schedule::Once { at: at(100) },
            next: Some(at(100)),
            deferred_from: None,
            created: at(8),
        });
        let (m, said) = merge(&home, &other, at(50));
        let texts: Vec<_> = m.reflections.iter().map(|r| r.text.as_str()).collect();
        assert_eq!(texts, ["home first", "other", "home later"]);
        let ids: Vec<_> = m.actions.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(ids, ["a1", "a2"]);
        assert_eq!(m.actions[1].text, "action a1 at 7");
        assert_eq!(m.reminders.len(), 1);
        assert_eq!(m.reminders[0].id, "r2");
        assert_eq!(
            m.reminders[0].kind,
            ReminderKind::Action {
                action: "a2".into()
            }
        );
        assert_eq!(m.cell("lens-1", "awareness"), CellStatus::Done);
        assert_eq!(m.cell("lens-2", "action"), CellStatus::Started);
        assert_eq!(m.timezone.as_deref(), Some("Europe/London"));
        assert_eq!(m.profession.as_deref(), Some("physiotherapist"));
        assert_eq!(said.settings_kept, ["timezone"]);
        assert_eq!(said.retention_shorter, None);
        let mut short = other.clone();
        short.retention_months = Some(6);
        let (m6, said6) = merge(&home, &short, at(50));
        assert_eq!(m6.retention_months, Some(6), "the shorter period stays");
        assert_eq!(said6.retention_shorter, Some(6));
        assert_eq!(m.user, "telegram:1");
        assert_eq!(m.accounts, ["discord:2"]);
        assert_eq!(
            reminder_account(&m),
            "discord:2",
            "the last one written from"
        );
    }

    // Proves unlinking moves the whole record to the account chosen, with no links left.
    #[test]
    fn a_split_keeps_everything_on_the_chosen_account() {
        let mut s = UserState::new("telegram:1");
        s.accounts.push("discord:2".into());
        s.reflections.push(reflection("kept", 1));
        s.reminders_to = Some("discord:2".into());
        let (kept, fresh) = split(&s, "discord:2", at(9));
        assert_eq!(kept.user, "discord:2");
        assert!(kept.accounts.is_empty() && kept.reminders_to.is_none());
        assert_eq!(kept.reflections.len(), 1);
        assert_eq!(fresh, ["telegram:1"]);
    }
}
