//! Time zones: IANA names from the time-zone database bundled into the binary (the same on
//! every machine, so tests and people get the same answers), with friendly names ("London",
//! "UK", "Belfast") and suggestions for names that do not match.

use crate::content::search::distance;
use jiff::tz::{TimeZone, TimeZoneDatabase};
use std::sync::OnceLock;

/// Everyone's zone until they choose one ([`crate::content::DEFAULT_TIMEZONE`], which the
/// content's defaults need; re-exported here under its old name).
pub use crate::content::DEFAULT_TIMEZONE as DEFAULT;

fn db() -> &'static TimeZoneDatabase {
    static DB: OnceLock<TimeZoneDatabase> = OnceLock::new();
    DB.get_or_init(TimeZoneDatabase::bundled)
}

fn names() -> &'static [String] {
    static NAMES: OnceLock<Vec<String>> = OnceLock::new();
    NAMES.get_or_init(|| {
        let mut v: Vec<String> = db().available().map(|n| n.to_string()).collect();
        v.sort();
        v
    })
}

/// A zone by its exact IANA name.
pub fn get(name: &str) -> Option<TimeZone> {
    db().get(name).ok()
}

/// A person's zone, falling back to the default for an unknown stored name.
pub fn of(name: Option<&str>) -> TimeZone {
    name.and_then(get)
        .or_else(|| get(DEFAULT))
        .unwrap_or(TimeZone::UTC)
}

/// Friendly names people use in the UK and Ireland, and a few common abbreviations.
const FRIENDLY: [(&str, &str); 14] = [
    ("uk", "Europe/London"),
    ("gb", "Europe/London"),
    ("britain", "Europe/London"),
    ("great britain", "Europe/London"),
    ("united kingdom", "Europe/London"),
    ("england", "Europe/London"),
    ("scotland", "Europe/London"),
    ("wales", "Europe/London"),
    ("northern ireland", "Europe/London"),
    ("gmt", "Europe/London"),
    ("bst", "Europe/London"),
    ("ireland", "Europe/Dublin"),
    ("utc", "UTC"),
    ("belfast", "Europe/Belfast"),
];

/// Finds the zone someone means: an IANA name in any case, a friendly name, or a city.
/// Returns the canonical name, or suggestions when nothing matches.
pub fn find(input: &str) -> Result<String, Vec<String>> {
    let t = input.trim();
    let lower = t.to_lowercase();
    if let Some((_, z)) = FRIENDLY.iter().find(|(k, _)| *k == lower) {
        // Europe/Belfast is a link to Europe/London; say London, which people know.
        return Ok(if *z == "Europe/Belfast" {
            DEFAULT.to_string()
        } else {
            z.to_string()
        });
    }
    let wanted = lower.replace(' ', "_");
    if let Some(n) = names().iter().find(|n| n.to_lowercase() == wanted) {
        return Ok(n.clone());
    }
    // A city: the last part of a name.
    let city: Vec<&String> = names()
        .iter()
        .filter(|n| {
            n.rsplit('/')
                .next()
                .is_some_and(|c| c.to_lowercase() == wanted)
        })
        .collect();
    if let Some(n) = city.first() {
        return Ok((*n).clone());
    }
    // Suggestions: the closest cities by spelling.
    let mut scored: Vec<(usize, &String)> = names()
        .iter()
        .filter(|n| n.contains('/'))
        .map(|n| {
            let c = n.rsplit('/').next().unwrap_or(n).to_lowercase();
            (distance(&wanted, &c, 3), n)
        })
        .filter(|(d, _)| *d <= 3)
        .collect();
    scored.sort();
    let mut out: Vec<String> = scored.into_iter().take(3).map(|(_, n)| n.clone()).collect();
    if out.is_empty() {
        out = vec![
            DEFAULT.to_string(),
            "Europe/Dublin".into(),
            "Europe/Paris".into(),
        ];
    }
    Err(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn friendly_names_cities_and_suggestions() {
        assert_eq!(find("London"), Ok("Europe/London".into()));
        assert_eq!(find("UK"), Ok("Europe/London".into()));
        assert_eq!(find("Belfast"), Ok("Europe/London".into()));
        assert_eq!(find("europe/paris"), Ok("Europe/Paris".into()));
        assert_eq!(find("new york"), Ok("America/New_York".into()));
        assert_eq!(find("Asia/Kolkata"), Ok("Asia/Kolkata".into()));
        let s = find("Lundon").unwrap_err();
        assert!(s.contains(&"Europe/London".to_string()), "{s:?}");
    }
}
