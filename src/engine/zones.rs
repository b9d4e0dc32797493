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

/// Friendly names people use: the UK and Ireland, their towns and cities (all on UK or Irish
/// time), and common cities worldwide that are not themselves in the zone database's names.
/// Names the database knows as cities (Paris, New York, Sydney) are found there.
const FRIENDLY: &[(&str, &str)] = &[
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
    ("republic of ireland", "Europe/Dublin"),
    ("utc", "UTC"),
    ("london", "Europe/London"),
    ("cardiff", "Europe/London"),
    ("edinburgh", "Europe/London"),
    ("glasgow", "Europe/London"),
    ("manchester", "Europe/London"),
    ("birmingham", "Europe/London"),
    ("leeds", "Europe/London"),
    ("liverpool", "Europe/London"),
    ("bristol", "Europe/London"),
    ("sheffield", "Europe/London"),
    ("newcastle", "Europe/London"),
    ("nottingham", "Europe/London"),
    ("leicester", "Europe/London"),
    ("coventry", "Europe/London"),
    ("bradford", "Europe/London"),
    ("hull", "Europe/London"),
    ("plymouth", "Europe/London"),
    ("southampton", "Europe/London"),
    ("portsmouth", "Europe/London"),
    ("brighton", "Europe/London"),
    ("oxford", "Europe/London"),
    ("cambridge", "Europe/London"),
    ("york", "Europe/London"),
    ("norwich", "Europe/London"),
    ("exeter", "Europe/London"),
    ("reading", "Europe/London"),
    ("derby", "Europe/London"),
    ("stoke", "Europe/London"),
    ("wolverhampton", "Europe/London"),
    ("sunderland", "Europe/London"),
    ("preston", "Europe/London"),
    ("middlesbrough", "Europe/London"),
    ("bournemouth", "Europe/London"),
    ("milton keynes", "Europe/London"),
    ("swansea", "Europe/London"),
    ("newport", "Europe/London"),
    ("wrexham", "Europe/London"),
    ("bangor", "Europe/London"),
    ("aberystwyth", "Europe/London"),
    ("aberdeen", "Europe/London"),
    ("dundee", "Europe/London"),
    ("inverness", "Europe/London"),
    ("stirling", "Europe/London"),
    ("perth, scotland", "Europe/London"),
    ("belfast", "Europe/London"),
    ("derry", "Europe/London"),
    ("londonderry", "Europe/London"),
    ("lisburn", "Europe/London"),
    ("newry", "Europe/London"),
    ("armagh", "Europe/London"),
    ("enniskillen", "Europe/London"),
    ("dublin", "Europe/Dublin"),
    ("cork", "Europe/Dublin"),
    ("galway", "Europe/Dublin"),
    ("limerick", "Europe/Dublin"),
    ("waterford", "Europe/Dublin"),
    ("kilkenny", "Europe/Dublin"),
    ("sligo", "Europe/Dublin"),
    ("drogheda", "Europe/Dublin"),
    ("dundalk", "Europe/Dublin"),
    ("athlone", "Europe/Dublin"),
    ("new delhi", "Asia/Kolkata"),
    ("delhi", "Asia/Kolkata"),
    ("mumbai", "Asia/Kolkata"),
    ("bangalore", "Asia/Kolkata"),
    ("bengaluru", "Asia/Kolkata"),
    ("chennai", "Asia/Kolkata"),
    ("hyderabad", "Asia/Kolkata"),
    ("kochi", "Asia/Kolkata"),
    ("india", "Asia/Kolkata"),
    ("lahore", "Asia/Karachi"),
    ("islamabad", "Asia/Karachi"),
    ("pakistan", "Asia/Karachi"),
    ("beijing", "Asia/Shanghai"),
    ("shenzhen", "Asia/Shanghai"),
    ("guangzhou", "Asia/Shanghai"),
    ("abu dhabi", "Asia/Dubai"),
    ("cape town", "Africa/Johannesburg"),
    ("durban", "Africa/Johannesburg"),
    ("pretoria", "Africa/Johannesburg"),
    ("abuja", "Africa/Lagos"),
    ("kampala", "Africa/Kampala"),
    ("canberra", "Australia/Sydney"),
    ("wellington", "Pacific/Auckland"),
    ("new zealand", "Pacific/Auckland"),
    ("washington", "America/New_York"),
    ("washington dc", "America/New_York"),
    ("boston", "America/New_York"),
    ("philadelphia", "America/New_York"),
    ("miami", "America/New_York"),
    ("atlanta", "America/New_York"),
    ("chicago", "America/Chicago"),
    ("houston", "America/Chicago"),
    ("dallas", "America/Chicago"),
    ("san francisco", "America/Los_Angeles"),
    ("seattle", "America/Los_Angeles"),
    ("los angeles", "America/Los_Angeles"),
    ("montreal", "America/Toronto"),
    ("ottawa", "America/Toronto"),
    ("munich", "Europe/Berlin"),
    ("frankfurt", "Europe/Berlin"),
    ("hamburg", "Europe/Berlin"),
    ("barcelona", "Europe/Madrid"),
    ("milan", "Europe/Rome"),
    ("geneva", "Europe/Zurich"),
    ("the hague", "Europe/Amsterdam"),
    ("krakow", "Europe/Warsaw"),
];

/// Finds the zone someone means: an IANA name in any case, a friendly name, or a city.
/// Returns the canonical name, or suggestions when nothing matches.
pub fn find(input: &str) -> Result<String, Vec<String>> {
    let t = input.trim();
    let lower = t.to_lowercase();
    let lower = lower
        .trim_end_matches(['.', '!', '?'])
        .trim_end_matches(", uk")
        .trim_end_matches(", ireland")
        .trim();
    if let Some((_, z)) = FRIENDLY.iter().find(|(k, _)| *k == lower) {
        return Ok(z.to_string());
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
    // Suggestions: the closest cities and places by spelling.
    let mut scored: Vec<(usize, String)> = names()
        .iter()
        .filter(|n| n.contains('/'))
        .map(|n| {
            let c = n.rsplit('/').next().unwrap_or(n).to_lowercase();
            (distance(&wanted, &c, 3), n.clone())
        })
        .chain(
            FRIENDLY
                .iter()
                .filter(|(k, _)| k.len() > 3)
                .map(|(k, z)| (distance(lower, k, 3), z.to_string())),
        )
        .filter(|(d, _)| *d <= 3)
        .collect();
    scored.sort();
    let mut out: Vec<String> = Vec::new();
    for (_, n) in scored {
        if out.len() < 3 && !out.contains(&n) {
            out.push(n);
        }
    }
    if out.is_empty() {
        out = vec![
            DEFAULT.to_string(),
            "Europe/Dublin".into(),
            "Europe/Paris".into(),
        ];
    }
    Err(out)
}

/// Places and zone names matching what someone has typed so far, for a picker's suggestions
/// (Discord's autocomplete): `(shown, zone)` pairs, the friendly places (UK and Irish towns,
/// countries) first, then zone names whose name or city starts with the words typed; at most
/// `n`. With nothing typed, the friendly places.
pub fn suggest(typed: &str, n: usize) -> Vec<(String, String)> {
    let t = typed.trim().to_lowercase().replace(' ', "_");
    let mut out: Vec<(String, String)> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (place, zone) in FRIENDLY {
        let name = place.replace(' ', "_");
        if name.starts_with(&t) && seen.insert(place.to_string()) {
            out.push((format!("{} ({zone})", title_case(place)), zone.to_string()));
        }
    }
    for z in names() {
        let lower = z.to_lowercase();
        let city = lower.rsplit('/').next().unwrap_or(&lower);
        if (lower.starts_with(&t) || city.starts_with(&t)) && seen.insert(lower.clone()) {
            out.push((z.replace('_', " "), z.clone()));
        }
    }
    out.truncate(n);
    out
}

/// "northern ireland" as "Northern Ireland" ("uk" and the like in capitals).
fn title_case(s: &str) -> String {
    if s.len() <= 3 {
        return s.to_uppercase();
    }
    s.split(' ')
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_uppercase().chain(c).collect::<String>(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn friendly_names_cities_and_suggestions() {
        assert_eq!(find("London"), Ok("Europe/London".into()));
        assert_eq!(find("UK"), Ok("Europe/London".into()));
        assert_eq!(find("Belfast"), Ok("Europe/London".into()));
        for place in [
            "Cardiff",
            "Edinburgh",
            "Manchester",
            "Glasgow",
            "Swansea",
            "Derry",
        ] {
            assert_eq!(find(place), Ok("Europe/London".into()), "{place}");
        }
        for place in ["Dublin", "Cork", "Galway", "Republic of Ireland"] {
            assert_eq!(find(place), Ok("Europe/Dublin".into()), "{place}");
        }
        assert_eq!(find("Cardiff, UK"), Ok("Europe/London".into()));
        assert_eq!(find("Mumbai"), Ok("Asia/Kolkata".into()));
        assert_eq!(find("San Francisco"), Ok("America/Los_Angeles".into()));
        assert_eq!(find("Sydney"), Ok("Australia/Sydney".into()));
        let s = find("Edinbrugh").unwrap_err();
        assert_eq!(
            s.first().map(String::as_str),
            Some("Europe/London"),
            "{s:?}"
        );
        assert_eq!(find("europe/paris"), Ok("Europe/Paris".into()));
        assert_eq!(find("new york"), Ok("America/New_York".into()));
        assert_eq!(find("Asia/Kolkata"), Ok("Asia/Kolkata".into()));
        let s = find("Lundon").unwrap_err();
        assert!(s.contains(&"Europe/London".to_string()), "{s:?}");
    }
}
