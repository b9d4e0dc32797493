//! Which plan step falls on which date, and when the next group post and each member's next
//! prompt are due.
//!
//! Dates are calendar dates: the group's for its posts, each member's own for their prompts,
//! so a member in Sydney gets day 2 at 08:00 Sydney time and a member in London at 08:00
//! London time. A pause or a skip takes effect from the group's next date; a member already
//! past that date keeps what reached them (a step never reaches anyone twice).

use super::{Challenge, Member};
use crate::content::Plan;
use crate::engine::when;
use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;

/// How far ahead the calendar looks for the next date with something on it.
const HORIZON_DAYS: i32 = 800;

fn days_between(a: Date, b: Date) -> i64 {
    i64::from((b - a).get_days())
}

/// The step on a date, if any (none while paused, between weekly steps, after the end).
pub fn step_on(c: &Challenge, plan: &Plan, date: Date) -> Option<u32> {
    if c.ended.is_some() {
        return None;
    }
    if c.paused.as_ref().is_some_and(|p| date >= p.from) {
        return None;
    }
    let seg = c.segments.iter().rev().find(|s| s.from <= date)?;
    let diff = days_between(seg.from, date);
    let every = i64::from(plan.every.max(1));
    if diff % every != 0 {
        return None;
    }
    let step = i64::from(seg.step) + diff / every;
    (step < plan.days.len() as i64).then_some(step as u32)
}

/// The step that comes next on or after a date (for pausing): the number of steps dated
/// before it.
pub fn next_step_from(c: &Challenge, plan: &Plan, date: Date) -> u32 {
    let every = i64::from(plan.every.max(1));
    for seg in c.segments.iter().rev() {
        if seg.from < date {
            let before = (days_between(seg.from, date) - 1) / every + 1;
            let n = i64::from(seg.step) + before;
            return n.min(plan.days.len() as i64) as u32;
        }
    }
    c.segments.first().map(|s| s.step).unwrap_or(0)
}

/// The date of the end summary: the step interval after the last step (none while paused).
pub fn closing_date(c: &Challenge, plan: &Plan) -> Option<Date> {
    if c.paused.is_some() || c.ended.is_some() {
        return None;
    }
    let seg = c.segments.last()?;
    let len = plan.days.len() as i64;
    let every = i64::from(plan.every.max(1));
    let s = i64::from(seg.step);
    if s >= len {
        return Some(seg.from);
    }
    seg.from
        .checked_add(jiff::Span::new().days((len - 1 - s) * every + every))
        .ok()
}

/// The group's date at an instant.
pub fn group_date(c: &Challenge, at: Timestamp) -> Date {
    at.to_zoned(c.zone()).date()
}

/// The daily time on a date in a zone.
pub fn at_time(c: &Challenge, date: Date, tz: &TimeZone) -> Option<Timestamp> {
    when::local(date, c.hour, c.minute, tz).ok()
}

/// The next group post strictly after `after`: a date with a step, or the closing date.
pub fn next_post(c: &Challenge, plan: &Plan, after: Timestamp) -> Option<Timestamp> {
    if c.ended.is_some() {
        return None;
    }
    let tz = c.zone();
    let closing = closing_date(c, plan);
    let mut date = group_date(c, after).yesterday().ok()?;
    for _ in 0..HORIZON_DAYS {
        if closing.is_some_and(|d| date > d) {
            return None;
        }
        if (step_on(c, plan, date).is_some() || closing == Some(date))
            && let Some(t) = at_time(c, date, &tz)
            && t > after
        {
            return Some(t);
        }
        date = date.tomorrow().ok()?;
    }
    None
}

/// A member's zone: their own, else the group's.
pub fn member_zone(c: &Challenge, m: &Member) -> TimeZone {
    match &m.tz {
        Some(z) => crate::engine::zones::of(Some(z)),
        None => c.zone(),
    }
}

/// A member's next prompt strictly after `after`: the first date (in their zone) with a step
/// that has not reached them.
pub fn next_prompt(c: &Challenge, plan: &Plan, m: &Member, after: Timestamp) -> Option<Timestamp> {
    if c.ended.is_some() {
        return None;
    }
    let tz = member_zone(c, m);
    let closing = closing_date(c, plan);
    let mut date = after.to_zoned(tz.clone()).date().yesterday().ok()?;
    for _ in 0..HORIZON_DAYS {
        if closing.is_some_and(|d| date >= d) {
            return None;
        }
        if c.paused.as_ref().is_some_and(|p| date >= p.from) {
            return None;
        }
        if let Some(s) = step_on(c, plan, date)
            && !m.sent.contains(&s)
            && let Some(t) = at_time(c, date, &tz)
            && t > after
        {
            return Some(t);
        }
        date = date.tomorrow().ok()?;
    }
    None
}

/// The step that is "today" for a member at an instant: the latest step dated on or before
/// their local date (none before the first).
pub fn current_step(c: &Challenge, plan: &Plan, m: Option<&Member>, at: Timestamp) -> Option<u32> {
    current_step_dated(c, plan, m, at).map(|(_, s)| s)
}

/// [`current_step`] with the (local) date it fell on.
pub fn current_step_dated(
    c: &Challenge,
    plan: &Plan,
    m: Option<&Member>,
    at: Timestamp,
) -> Option<(Date, u32)> {
    let tz = m.map(|m| member_zone(c, m)).unwrap_or_else(|| c.zone());
    let mut date = at.to_zoned(tz).date();
    for _ in 0..=i32::from(plan.every.max(1)) {
        if let Some(s) = step_on(c, plan, date) {
            return Some((date, s));
        }
        date = date.yesterday().ok()?;
    }
    None
}

/// Moves every next time on after a change (a start, pause, resume, skip, end, join): the
/// group's next post and each member's next prompt, strictly after `after`. A time already
/// due but not yet handled (the scheduler is about to) is kept while it is still valid.
pub fn reschedule(c: &mut Challenge, plan: &Plan, after: Timestamp) {
    c.next_post = next_post(c, plan, keep_overdue(c.next_post, after));
    let times: Vec<Option<Timestamp>> = c
        .members
        .iter()
        .map(|m| next_prompt(c, plan, m, keep_overdue(m.next_prompt, after)))
        .collect();
    for (m, t) in c.members.iter_mut().zip(times) {
        m.next_prompt = t;
    }
}

/// The instant to search after: just before a still-pending overdue time, so it is found
/// again if it is still valid.
fn keep_overdue(pending: Option<Timestamp>, after: Timestamp) -> Timestamp {
    match pending {
        Some(t) if t <= after => t - jiff::SignedDuration::from_secs(1),
        _ => after,
    }
}
