//! Suggestions while a slash command's option is typed (Discord's autocomplete): reminder
//! phrases, start days, times, quiet hours, time zones and terms, computed from the catalog
//! and the clock alone (no store, no network), so the answer is immediate.
//!
//! Suggestions only help: whatever is typed is accepted, and is offered first when it is not
//! one of them, so pressing Enter keeps it. The engine reads the value as typed text
//! ([`super::commands::text`]).

use crate::content::Catalog;
use crate::engine::{when, zones};
use jiff::Timestamp;
use jiff::tz::TimeZone;

/// Suggestions, at most this many (Discord's limit).
const MAX: usize = 25;

/// Suggestions for the option `option` of `command` given what has been typed so far:
/// (shown, value) pairs, the best first.
pub fn suggest(
    cat: &Catalog,
    command: &str,
    option: &str,
    typed: &str,
    now: Timestamp,
) -> Vec<(String, String)> {
    let typed = typed.trim();
    let tz = crate::engine::zones::of(Some(&cat.defaults.timezone));
    let mut out = match (command, option) {
        ("remind", "when") => matching(reminder_phrases(), typed),
        ("remind", "hours") => matching(
            [
                "22:00-07:00",
                "21:00-07:00",
                "22:00-08:00",
                "23:00-07:00",
                "20:00-08:00",
                "off",
            ]
            .map(String::from)
            .to_vec(),
            typed,
        ),
        ("challenge", "day") => days(typed, now, &tz),
        ("challenge", "time") => times(typed),
        ("challenge", "zone") | ("timezone", "place") => {
            return zones::suggest(typed, MAX);
        }
        ("define", "term") => {
            let t = typed.to_lowercase();
            return cat
                .definitions
                .iter()
                .filter(|d| {
                    d.term.to_lowercase().contains(&t)
                        || d.aliases.iter().any(|a| a.to_lowercase().contains(&t))
                })
                .map(|d| (d.term.clone(), d.term.clone()))
                .take(MAX)
                .collect();
        }
        _ => Vec::new(),
    }
    .into_iter()
    .map(|s| (s.clone(), s))
    .collect::<Vec<_>>();
    // What was typed is kept, first, when it is not itself a suggestion.
    if !typed.is_empty() && !out.iter().any(|(_, v)| v.eq_ignore_ascii_case(typed)) {
        out.insert(0, (typed.to_string(), typed.to_string()));
    }
    out.truncate(MAX);
    out
}

/// The candidates each of whose typed words starts one of their words (or that contain what
/// was typed), in their order.
fn matching(candidates: Vec<String>, typed: &str) -> Vec<String> {
    let t = typed.to_lowercase();
    let typed_words: Vec<&str> = t.split_whitespace().collect();
    candidates
        .into_iter()
        .filter(|c| {
            let lower = c.to_lowercase();
            let words: Vec<&str> = lower.split_whitespace().collect();
            lower.contains(&t)
                || typed_words
                    .iter()
                    .all(|tw| words.iter().any(|w| w.starts_with(tw)))
        })
        .collect()
}

/// Reminder phrases the engine understands ([`when::parse`]): weekly and weekday times,
/// fortnightly, tomorrow, in a while.
fn reminder_phrases() -> Vec<String> {
    let days = [
        "weekday",
        "day",
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ];
    let times = ["08:30", "09:00", "09:25", "12:30", "16:00", "17:00"];
    let mut out = vec![
        "every weekday 08:30".to_string(),
        "every Monday 09:00".to_string(),
        "tomorrow at 9am".to_string(),
        "in 20 minutes".to_string(),
        "fortnightly on Monday 09:00".to_string(),
    ];
    for d in days {
        for t in times {
            out.push(format!("every {d} {t}"));
        }
    }
    for d in &days[2..] {
        out.push(format!("fortnightly on {d} 09:00"));
    }
    for t in ["9am", "2pm", "17:00"] {
        out.push(format!("tomorrow at {t}"));
    }
    for m in ["5 minutes", "10 minutes", "30 minutes", "1 hour", "2 hours"] {
        out.push(format!("in {m}"));
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|p| seen.insert(p.clone()));
    out
}

/// Start days: today, tomorrow, the weekdays, and the next fortnight's dates.
fn days(typed: &str, now: Timestamp, tz: &TimeZone) -> Vec<String> {
    let today = now.to_zoned(tz.clone()).date();
    let mut out: Vec<String> = [
        "today",
        "tomorrow",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ]
    .map(String::from)
    .to_vec();
    let mut d = today;
    for _ in 0..14 {
        out.push(d.to_string());
        match d.tomorrow() {
            Ok(n) => d = n,
            Err(_) => break,
        }
    }
    matching(out, typed)
}

/// Times of day on the quarter hour that start with what was typed ("9" gives 09:00 …).
fn times(typed: &str) -> Vec<String> {
    let t = typed.to_lowercase();
    let all: Vec<String> = (0..24)
        .flat_map(|h| [0, 15, 30, 45].map(move |m| format!("{h:02}:{m:02}")))
        .collect();
    if t.is_empty() {
        return [
            "07:00", "08:00", "08:30", "09:00", "12:00", "12:30", "17:00", "19:00",
        ]
        .map(String::from)
        .to_vec();
    }
    let mut out: Vec<String> = all
        .iter()
        .filter(|c| c.starts_with(&t) || c.starts_with(&format!("0{t}")))
        .cloned()
        .collect();
    if out.is_empty()
        && let Ok((h, m)) = when::parse_time(&t)
    {
        out.push(format!("{h:02}:{m:02}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_phrases_match_what_is_typed() {
        assert_eq!(times("9")[0], "09:00");
        assert!(times("17").contains(&"17:30".to_string()));
        let p = matching(reminder_phrases(), "every tue");
        assert!(p.iter().all(|s| s.contains("Tuesday")), "{p:?}");
        assert!(!p.is_empty());
    }
}
