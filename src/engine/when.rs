//! Times people type ("every Tuesday at 09:25", "weekdays 08:45", "tomorrow 13:50", "in 3
//! days"), turned into schedules, and the next time a schedule is due.
//!
//! Everything is computed in the person's own time zone with jiff, so a 09:25 reminder stays
//! at 09:25 local time across the clock changes (its UTC instant moves instead). Pure: the
//! caller passes the current time. A phrase that is unclear or ambiguous is an error with an
//! example of what works, never a guess.

use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan, Zoned};
use serde::{Deserialize, Serialize};

/// When a reminder fires.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Schedule {
    /// Once, at an instant.
    Once {
        /// When.
        at: Timestamp,
    },
    /// On some days of the week at a local time.
    Weekly {
        /// Days, 0 = Monday … 6 = Sunday.
        days: Vec<u8>,
        /// Local hour.
        hour: u8,
        /// Local minute.
        minute: u8,
    },
    /// On some days of every other week at a local time ("fortnightly on Monday").
    Fortnightly {
        /// Days, 0 = Monday … 6 = Sunday.
        days: Vec<u8>,
        /// Local hour.
        hour: u8,
        /// Local minute.
        minute: u8,
        /// The Monday of a week it runs in: the weeks an even number of weeks from it.
        from: Date,
    },
}

/// Quiet hours: plain data defined in [`crate::content`] (the content's defaults carry them),
/// re-exported here under its old path; parsing what people type for them lives here.
pub use crate::content::Quiet;

impl Quiet {
    /// Parses "22:00-06:30", or "off"/"none" for no quiet hours.
    pub fn parse(s: &str) -> Option<Quiet> {
        if matches!(s.trim().to_lowercase().as_str(), "off" | "none") {
            return Some(Quiet { start: 0, end: 0 });
        }
        let (a, b) = s.split_once(['-', '–'])?;
        let a = parse_time(a.trim()).ok()?;
        let b = parse_time(b.trim()).ok()?;
        Some(Quiet {
            start: u16::from(a.0) * 60 + u16::from(a.1),
            end: u16::from(b.0) * 60 + u16::from(b.1),
        })
    }
}

/// Why a phrase was not understood.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WhenError {
    /// Nothing recognisable.
    Unclear,
    /// A bare hour such as "at 7": 07:00 or 19:00?
    AmbiguousHour(u8),
    /// A day without a time.
    NoTime,
    /// The time falls in quiet hours.
    InQuiet(String),
    /// A one-off time already past.
    Past,
}

/// What a phrase means.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Parsed {
    /// The schedule.
    pub schedule: Schedule,
    /// True when the time was moved out of quiet hours (relative phrases only).
    pub moved_out_of_quiet: bool,
}

const DAYS: [(&str, u8); 21] = [
    ("monday", 0),
    ("mon", 0),
    ("mondays", 0),
    ("tuesday", 1),
    ("tue", 1),
    ("tues", 1),
    ("tuesdays", 1),
    ("wednesday", 2),
    ("wed", 2),
    ("wednesdays", 2),
    ("thursday", 3),
    ("thu", 3),
    ("thur", 3),
    ("thurs", 3),
    ("thursdays", 3),
    ("friday", 4),
    ("fri", 4),
    ("fridays", 4),
    ("saturday", 5),
    ("sat", 5),
    ("saturdays", 5),
];

/// A weekday word ("tue", "tuesdays"), 0 = Monday … 6 = Sunday.
pub fn day_of(word: &str) -> Option<u8> {
    match word {
        "sunday" | "sun" | "sundays" => Some(6),
        w => DAYS.iter().find(|(n, _)| *n == w).map(|(_, d)| *d),
    }
}

/// Parses a time of day: "09:25", "9.25", "9am", "9:25pm", "noon". A bare hour from 1 to 12
/// is ambiguous.
pub fn parse_time(s: &str) -> Result<(u8, u8), WhenError> {
    let s = s.trim().to_lowercase().replace(' ', "");
    match s.as_str() {
        "noon" | "midday" => return Ok((12, 0)),
        "midnight" => return Ok((0, 0)),
        _ => {}
    }
    let (body, half) = if let Some(b) = s.strip_suffix("am") {
        (b, Some(false))
    } else if let Some(b) = s.strip_suffix("pm") {
        (b, Some(true))
    } else {
        (s.as_str(), None)
    };
    let (h, m) = match body.split_once([':', '.']) {
        Some((h, m)) if m.len() == 2 => (h, m),
        Some(_) => return Err(WhenError::Unclear),
        None => (body, "00"),
    };
    if h.is_empty()
        || h.len() > 2
        || !h.bytes().all(|b| b.is_ascii_digit())
        || !m.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(WhenError::Unclear);
    }
    let mut hour: u8 = h.parse().map_err(|_| WhenError::Unclear)?;
    let minute: u8 = m.parse().map_err(|_| WhenError::Unclear)?;
    if minute > 59 {
        return Err(WhenError::Unclear);
    }
    match half {
        Some(pm) => {
            if hour == 0 || hour > 12 {
                return Err(WhenError::Unclear);
            }
            hour = match (hour, pm) {
                (12, false) => 0,
                (12, true) => 12,
                (h, true) => h + 12,
                (h, false) => h,
            };
        }
        None => {
            if hour > 23 {
                return Err(WhenError::Unclear);
            }
            if !body.contains([':', '.']) && (1..=12).contains(&hour) {
                return Err(WhenError::AmbiguousHour(hour));
            }
        }
    }
    Ok((hour, minute))
}

fn is_time_word(w: &str) -> bool {
    w.starts_with(|c: char| c.is_ascii_digit()) || matches!(w, "noon" | "midday" | "midnight")
}

/// A phrase with its time of day taken out ("tomorrow at 7" gives "tomorrow"), so that a
/// time asked for next can complete it.
pub fn without_time(phrase: &str) -> String {
    let lower = phrase.to_lowercase();
    lower
        .split_whitespace()
        .filter(|w| !is_time_word(w) && !matches!(*w, "at" | "am" | "pm" | "a.m." | "p.m."))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Parses a phrase relative to `now` in `tz`, respecting quiet hours.
pub fn parse(
    phrase: &str,
    now: Timestamp,
    tz: &TimeZone,
    quiet: Quiet,
) -> Result<Parsed, WhenError> {
    let lower = phrase.to_lowercase().replace(',', " ");
    // Join "9 am" into "9am".
    let mut words: Vec<String> = Vec::new();
    for w in lower.split_whitespace() {
        if matches!(w, "am" | "pm" | "a.m." | "p.m.")
            && let Some(last) = words.last_mut()
            && last.starts_with(|c: char| c.is_ascii_digit())
        {
            last.push_str(&w.replace('.', ""));
            continue;
        }
        words.push(w.to_string());
    }
    let words: Vec<&str> = words
        .iter()
        .map(String::as_str)
        .filter(|w| {
            !matches!(
                *w,
                "at" | "on"
                    | "and"
                    | "the"
                    | "every"
                    | "each"
                    | "from"
                    | "please"
                    | "me"
                    | "remind"
                    | "to"
                    | "other"
                    | "alternate"
                    | "fortnightly"
                    | "fortnight"
            )
        })
        .collect();
    if words.is_empty() {
        return Err(WhenError::Unclear);
    }
    let here = now.to_zoned(tz.clone());

    // "in 3 days", "in 2 hours", "in 30 minutes", "in a week".
    if lower.split_whitespace().next() == Some("in") {
        let rest: Vec<&str> = lower.split_whitespace().skip(1).collect();
        let (n, unit) = match rest.as_slice() {
            [n, unit] => (*n, *unit),
            _ => return Err(WhenError::Unclear),
        };
        let n: i64 = match n {
            "a" | "an" | "one" => 1,
            "two" => 2,
            "three" => 3,
            n => n.parse().map_err(|_| WhenError::Unclear)?,
        };
        if !(1..=365).contains(&n) {
            return Err(WhenError::Unclear);
        }
        let later = match unit.trim_end_matches('s') {
            "minute" | "min" => here.checked_add(n.minutes()),
            "hour" | "hr" => here.checked_add(n.hours()),
            "day" => here.checked_add(n.days()),
            "week" => here.checked_add(n.weeks()),
            _ => return Err(WhenError::Unclear),
        }
        .map_err(|_| WhenError::Unclear)?;
        let (at, moved) = out_of_quiet(later, quiet);
        return Ok(Parsed {
            schedule: Schedule::Once { at },
            moved_out_of_quiet: moved,
        });
    }

    let times: Vec<&str> = words.iter().copied().filter(|w| is_time_word(w)).collect();
    let others: Vec<&str> = words.iter().copied().filter(|w| !is_time_word(w)).collect();
    if times.len() > 1 {
        return Err(WhenError::Unclear);
    }
    let time = match times.first() {
        Some(t) => Some(match parse_time(t) {
            Err(WhenError::AmbiguousHour(h)) => unambiguous(h, quiet)?,
            r => r?,
        }),
        None => None,
    };
    // "fortnightly on Monday", "every other Monday", "alternate Mondays".
    let fortnightly = lower.split_whitespace().any(|w| {
        matches!(w, "fortnightly" | "fortnight" | "alternate")
            || (w == "other" && lower.contains("every other"))
    });
    let repeating = fortnightly
        || lower.contains("every")
        || lower.contains("each")
        || others.iter().any(|w| {
            matches!(
                *w,
                "daily" | "weekdays" | "weekday" | "weekends" | "weekend" | "day" | "days"
            ) || (w.ends_with("days") && day_of(w).is_some())
        });
    let mut days: Vec<u8> = Vec::new();
    let mut once_date: Option<Date> = None;
    for w in &others {
        match *w {
            "daily" | "day" | "days" => days.extend(0..7),
            "weekday" | "weekdays" => days.extend(0..5),
            "weekend" | "weekends" => days.extend(5..7),
            "today" | "tonight" => once_date = Some(here.date()),
            "tomorrow" => once_date = here.date().tomorrow().ok(),
            w => match day_of(w) {
                Some(d) => days.push(d),
                None => return Err(WhenError::Unclear),
            },
        }
    }
    days.sort_unstable();
    days.dedup();
    let Some((hour, minute)) = time else {
        return Err(if days.is_empty() && once_date.is_none() {
            WhenError::Unclear
        } else {
            WhenError::NoTime
        });
    };
    let minute_of_day = u16::from(hour) * 60 + u16::from(minute);
    if quiet.contains(minute_of_day) {
        return Err(WhenError::InQuiet(format!("{hour:02}:{minute:02}")));
    }
    if repeating {
        if days.is_empty() || once_date.is_some() || (fortnightly && days.len() == 7) {
            return Err(WhenError::Unclear);
        }
        if fortnightly && days.len() < 7 {
            // The fortnight starts in the week of the first time it is due.
            let weekly = Schedule::Weekly {
                days: days.clone(),
                hour,
                minute,
            };
            let first = next_after(&weekly, now, tz).ok_or(WhenError::Unclear)?;
            return Ok(Parsed {
                schedule: Schedule::Fortnightly {
                    from: monday_of(first.to_zoned(tz.clone()).date()),
                    days,
                    hour,
                    minute,
                },
                moved_out_of_quiet: false,
            });
        }
        return Ok(Parsed {
            schedule: Schedule::Weekly { days, hour, minute },
            moved_out_of_quiet: false,
        });
    }
    let date = match (once_date, days.as_slice()) {
        (Some(d), []) => d,
        (None, [d]) => {
            // The next such day: today if the time is still ahead.
            let mut date = here.date();
            for _ in 0..8 {
                if weekday_index(date.weekday()) == *d {
                    let at = local(date, hour, minute, tz)?;
                    if at > now {
                        break;
                    }
                }
                date = date.tomorrow().map_err(|_| WhenError::Unclear)?;
            }
            date
        }
        (None, []) => {
            // Just a time: the next time the clock shows it.
            let today = here.date();
            if local(today, hour, minute, tz)? > now {
                today
            } else {
                today.tomorrow().map_err(|_| WhenError::Unclear)?
            }
        }
        _ => return Err(WhenError::Unclear),
    };
    let at = local(date, hour, minute, tz)?;
    if at <= now {
        return Err(WhenError::Past);
    }
    Ok(Parsed {
        schedule: Schedule::Once { at },
        moved_out_of_quiet: false,
    })
}

/// A bare hour ("at 9") made certain when only one of its two readings is outside quiet hours
/// (21:00 is quiet, so "at 9" is 09:00); still ambiguous otherwise.
fn unambiguous(h: u8, quiet: Quiet) -> Result<(u8, u8), WhenError> {
    let (am, pm) = if h == 12 { (0, 12) } else { (h, h + 12) };
    match (
        quiet.contains(u16::from(am) * 60),
        quiet.contains(u16::from(pm) * 60),
    ) {
        (false, true) => Ok((am, 0)),
        (true, false) => Ok((pm, 0)),
        _ => Err(WhenError::AmbiguousHour(h)),
    }
}

/// The Monday of the week a date is in.
fn monday_of(date: Date) -> Date {
    let back = i64::from(weekday_index(date.weekday()));
    date.checked_sub(back.days()).unwrap_or(date)
}

/// A weekday as 0 = Monday … 6 = Sunday.
pub fn weekday_index(w: Weekday) -> u8 {
    w.to_monday_zero_offset() as u8
}

/// A local date and time in a zone as an instant (a time in a DST gap moves forward).
pub fn local(date: Date, hour: u8, minute: u8, tz: &TimeZone) -> Result<Timestamp, WhenError> {
    date.at(hour as i8, minute as i8, 0, 0)
        .to_zoned(tz.clone())
        .map(|z| z.timestamp())
        .map_err(|_| WhenError::Unclear)
}

/// Moves a time out of quiet hours, to the end of them.
fn out_of_quiet(z: Zoned, quiet: Quiet) -> (Timestamp, bool) {
    let m = u16::from(z.hour() as u8) * 60 + u16::from(z.minute() as u8);
    if !quiet.contains(m) {
        return (z.timestamp(), false);
    }
    let end_h = (quiet.end / 60) as i8;
    let end_m = (quiet.end % 60) as i8;
    let mut date = z.date();
    if m >= quiet.end && quiet.start > quiet.end {
        // Late evening: quiet ends tomorrow morning.
        date = date.tomorrow().unwrap_or(date);
    }
    let at = date
        .at(end_h, end_m, 0, 0)
        .to_zoned(z.time_zone().clone())
        .map(|z| z.timestamp())
        .unwrap_or(z.timestamp());
    (at, true)
}

/// The first time strictly after `after` when a time would not be quiet: `after` itself when
/// it is not quiet.
pub fn after_quiet(after: Timestamp, tz: &TimeZone, quiet: Quiet) -> Timestamp {
    out_of_quiet(after.to_zoned(tz.clone()), quiet).0
}

/// Whether an instant falls in quiet hours for this person.
pub fn is_quiet(at: Timestamp, tz: &TimeZone, quiet: Quiet) -> bool {
    let z = at.to_zoned(tz.clone());
    quiet.contains(u16::from(z.hour() as u8) * 60 + u16::from(z.minute() as u8))
}

/// The next time a schedule is due, strictly after `after`.
pub fn next_after(schedule: &Schedule, after: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
    match schedule {
        Schedule::Once { at } => (*at > after).then_some(*at),
        Schedule::Weekly { days, hour, minute } => {
            let mut date = after.to_zoned(tz.clone()).date();
            for _ in 0..9 {
                if days.contains(&weekday_index(date.weekday()))
                    && let Ok(at) = local(date, *hour, *minute, tz)
                    && at > after
                {
                    return Some(at);
                }
                date = date.tomorrow().ok()?;
            }
            None
        }
        Schedule::Fortnightly {
            days,
            hour,
            minute,
            from,
        } => {
            let mut date = after.to_zoned(tz.clone()).date();
            for _ in 0..16 {
                let weeks = from.until(monday_of(date)).ok()?.get_days() / 7;
                if weeks.rem_euclid(2) == 0
                    && days.contains(&weekday_index(date.weekday()))
                    && let Ok(at) = local(date, *hour, *minute, tz)
                    && at > after
                {
                    return Some(at);
                }
                date = date.tomorrow().ok()?;
            }
            None
        }
    }
}

const DAY_NAMES: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// "Tue 6 Jan 09:25".
pub fn format_local(at: Timestamp, tz: &TimeZone) -> String {
    at.to_zoned(tz.clone())
        .strftime("%a %-d %b %H:%M")
        .to_string()
}

/// "every Tuesday at 09:25", "weekdays at 08:45", "once, Tue 6 Jan 13:50".
pub fn describe(schedule: &Schedule, tz: &TimeZone) -> String {
    match schedule {
        Schedule::Once { at } => format!("once, {}", format_local(*at, tz)),
        Schedule::Fortnightly {
            days, hour, minute, ..
        } => {
            let names: Vec<&str> = days.iter().map(|d| DAY_NAMES[*d as usize % 7]).collect();
            format!(
                "every other {} at {hour:02}:{minute:02}",
                names.join(" and ")
            )
        }
        Schedule::Weekly { days, hour, minute } => {
            const NAMES: [&str; 7] = [
                "Monday",
                "Tuesday",
                "Wednesday",
                "Thursday",
                "Friday",
                "Saturday",
                "Sunday",
            ];
            let when = match days.as_slice() {
                [0, 1, 2, 3, 4, 5, 6] => "every day".to_string(),
                [0, 1, 2, 3, 4] => "weekdays".to_string(),
                [5, 6] => "weekends".to_string(),
                ds => {
                    let names: Vec<&str> = ds.iter().map(|d| NAMES[*d as usize % 7]).collect();
                    format!("every {}", names.join(" and "))
                }
            };
            format!("{when} at {hour:02}:{minute:02}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn london() -> TimeZone {
        crate::engine::zones::get("Europe/London").unwrap()
    }

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn times() {
        assert_eq!(parse_time("09:25"), Ok((9, 25)));
        assert_eq!(parse_time("9.25"), Ok((9, 25)));
        assert_eq!(parse_time("9am"), Ok((9, 0)));
        assert_eq!(parse_time("12am"), Ok((0, 0)));
        assert_eq!(parse_time("1:50pm"), Ok((13, 50)));
        assert_eq!(parse_time("17"), Ok((17, 0)));
        assert_eq!(parse_time("7"), Err(WhenError::AmbiguousHour(7)));
        assert_eq!(parse_time("25:00"), Err(WhenError::Unclear));
    }

    #[test]
    fn phrases() {
        let now = ts("2026-01-05T10:00:00Z"); // Monday 10:00 in London
        let q = Quiet::default();
        let weekly = |p: &str| parse(p, now, &london(), q).unwrap().schedule;
        assert_eq!(
            weekly("every Tuesday at 09:25"),
            Schedule::Weekly {
                days: vec![1],
                hour: 9,
                minute: 25
            }
        );
        assert_eq!(
            weekly("weekdays 08:45"),
            Schedule::Weekly {
                days: vec![0, 1, 2, 3, 4],
                hour: 8,
                minute: 45
            }
        );
        assert_eq!(
            weekly("every monday and thursday 12:30"),
            Schedule::Weekly {
                days: vec![0, 3],
                hour: 12,
                minute: 30
            }
        );
        assert_eq!(
            weekly("tomorrow 13:50"),
            Schedule::Once {
                at: ts("2026-01-06T13:50:00Z")
            }
        );
        assert_eq!(
            weekly("in 3 days"),
            Schedule::Once {
                at: ts("2026-01-08T10:00:00Z")
            }
        );
        assert_eq!(
            weekly("friday 10:00"),
            Schedule::Once {
                at: ts("2026-01-09T10:00:00Z")
            }
        );
        assert_eq!(
            parse("every tuesday", now, &london(), q),
            Err(WhenError::NoTime)
        );
        assert_eq!(
            parse("tomorrow at 7", now, &london(), q),
            Err(WhenError::AmbiguousHour(7))
        );
        assert_eq!(
            parse("when pigs fly", now, &london(), q),
            Err(WhenError::Unclear)
        );
        assert_eq!(
            parse("every day 22:30", now, &london(), q),
            Err(WhenError::InQuiet("22:30".into()))
        );
        assert_eq!(
            parse("today 09:00", now, &london(), q),
            Err(WhenError::Past)
        );
    }

    #[test]
    fn relative_times_leave_quiet_hours() {
        let now = ts("2026-01-05T20:30:00Z");
        let p = parse("in 2 hours", now, &london(), Quiet::default()).unwrap();
        assert!(p.moved_out_of_quiet);
        assert_eq!(
            p.schedule,
            Schedule::Once {
                at: ts("2026-01-06T07:00:00Z")
            }
        );
    }

    #[test]
    fn a_weekly_time_keeps_its_local_time_across_both_clock_changes() {
        let s = Schedule::Weekly {
            days: vec![1],
            hour: 9,
            minute: 25,
        };
        // Tuesday 24 March 2026 is GMT; Tuesday 31 March is BST (clocks went forward on the 29th).
        assert_eq!(
            next_after(&s, ts("2026-03-23T12:00:00Z"), &london()),
            Some(ts("2026-03-24T09:25:00Z"))
        );
        assert_eq!(
            next_after(&s, ts("2026-03-24T12:00:00Z"), &london()),
            Some(ts("2026-03-31T08:25:00Z"))
        );
        // Back to GMT after 25 October 2026.
        assert_eq!(
            next_after(&s, ts("2026-10-21T12:00:00Z"), &london()),
            Some(ts("2026-10-27T09:25:00Z"))
        );
        assert_eq!(
            next_after(&s, ts("2026-10-19T12:00:00Z"), &london()),
            Some(ts("2026-10-20T08:25:00Z"))
        );
    }

    /// The phrases people actually type: a weekday list, "tomorrow at 2pm", "in 20 minutes",
    /// and a bare hour that only one reading keeps out of quiet hours.
    #[test]
    fn phrases_people_type() {
        let now = ts("2026-01-05T10:00:00Z"); // Monday 10:00 in London
        let q = Quiet::default();
        let p = |s: &str| parse(s, now, &london(), q).map(|p| p.schedule);
        assert_eq!(
            p("every weekday 8:30"),
            Ok(Schedule::Weekly {
                days: vec![0, 1, 2, 3, 4],
                hour: 8,
                minute: 30
            })
        );
        assert_eq!(
            p("tomorrow at 2pm"),
            Ok(Schedule::Once {
                at: ts("2026-01-06T14:00:00Z")
            })
        );
        assert_eq!(
            p("in 20 minutes"),
            Ok(Schedule::Once {
                at: ts("2026-01-05T10:20:00Z")
            })
        );
        // 21:00 is quiet, so "at 9" can only be 09:00; 07:00 and 19:00 are both possible.
        assert_eq!(
            p("every wednesday at 9"),
            Ok(Schedule::Weekly {
                days: vec![2],
                hour: 9,
                minute: 0
            })
        );
        assert_eq!(p("tomorrow at 7"), Err(WhenError::AmbiguousHour(7)));
        assert_eq!(p("every other day 10:00"), Err(WhenError::Unclear));
        assert_eq!(p("fortnightly on monday"), Err(WhenError::NoTime));
    }

    /// "fortnightly on Monday": every other week from the first one, at the same local time
    /// across the spring clock change.
    #[test]
    fn fortnightly_skips_a_week_and_keeps_local_time() {
        let now = ts("2026-03-10T12:00:00Z"); // Tuesday
        let s = parse(
            "fortnightly on Monday 09:00",
            now,
            &london(),
            Quiet::default(),
        )
        .unwrap()
        .schedule;
        assert_eq!(describe(&s, &london()), "every other Monday at 09:00");
        let first = next_after(&s, now, &london()).unwrap();
        assert_eq!(first, ts("2026-03-16T09:00:00Z"));
        let second = next_after(&s, first, &london()).unwrap();
        // 30 March is BST: 09:00 local is 08:00 UTC; 23 March is skipped.
        assert_eq!(second, ts("2026-03-30T08:00:00Z"));
        assert_eq!(
            next_after(&s, second, &london()),
            Some(ts("2026-04-13T08:00:00Z"))
        );
        let same = parse(
            "every other monday at 9am",
            now,
            &london(),
            Quiet::default(),
        );
        assert_eq!(same.map(|p| p.schedule), Ok(s));
    }

    #[test]
    fn quiet_hours_span_midnight() {
        let q = Quiet::default();
        assert!(q.contains(21 * 60));
        assert!(q.contains(3 * 60));
        assert!(!q.contains(7 * 60));
        assert!(!q.contains(12 * 60));
        assert_eq!(
            Quiet::parse("22:00-06:30"),
            Some(Quiet {
                start: 1320,
                end: 390
            })
        );
    }
}
