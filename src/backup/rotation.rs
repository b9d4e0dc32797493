//! Which daily backups are kept, and what is known about each: file names by day, the sidecar
//! of counts written beside each backup, reading a backup back to count it, listing a backup
//! folder, and the rotation policy itself ([`to_delete`], pure, so it is tested on its own).
//!
//! A backup folder holds, per UTC day, at most one backup written by this version:
//!
//! ```text
//! lensbot-20260105.jsonl           the day's backup
//! lensbot-20260105.json            its sidecar: counts, verified, the store's integrity
//! lensbot-20260106-damaged.jsonl   written while the store failed its integrity check
//! lensbot-20260106-damaged.json
//! lensbot-20260104-093015.jsonl    an older lensbot's name (one per start): the same day slot
//! ```
//!
//! The policy keeps the newest `keep` days of good backups, the first good backup of each ISO
//! week for the last five weeks, and the newest backup that holds more people than the store
//! does now. A damaged backup never counts towards the days kept, so a store that keeps
//! failing cannot rotate the good copies out; damaged backups go once they are more than
//! `keep` days old.
//!
//! Nothing here imports the backup module: it deals in names, counts and paths.

use jiff::Span;
use jiff::civil::{Date, Time};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};

/// What a backup's file name says: its UTC day, the time for an older lensbot's
/// once-per-start names, and whether it was written while the store was damaged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BackupName {
    /// The UTC day it was written.
    pub date: Date,
    /// The time of day in an older name (`lensbot-YYYYMMDD-HHMMSS.jsonl`); `None` for a
    /// day's name.
    pub time: Option<Time>,
    /// Whether the name says `-damaged`.
    pub damaged: bool,
}

/// The name of a day's backup (`lensbot-YYYYMMDD.jsonl`, or `lensbot-YYYYMMDD-damaged.jsonl`
/// when the store failed its integrity check), so an operator listing the folder sees which.
pub fn file_name(date: Date, damaged: bool) -> String {
    let day = date.strftime("%Y%m%d");
    if damaged {
        format!("lensbot-{day}-damaged.jsonl")
    } else {
        format!("lensbot-{day}.jsonl")
    }
}

/// Reads a backup's file name (a day's name, a damaged day's, or an older lensbot's
/// `lensbot-YYYYMMDD-HHMMSS.jsonl`); `None` for anything else, which rotation never touches.
pub fn parse_name(name: &str) -> Option<BackupName> {
    let rest = name.strip_prefix("lensbot-")?.strip_suffix(".jsonl")?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let (day, suffix) = match rest.split_once('-') {
        Some((d, s)) => (d, Some(s)),
        None => (rest, None),
    };
    if day.len() != 8 || !digits(day) {
        return None;
    }
    let num = |s: &str| s.parse::<i16>().ok();
    let date = Date::new(
        num(&day[..4])?,
        num(&day[4..6])? as i8,
        num(&day[6..])? as i8,
    )
    .ok()?;
    let (time, damaged) = match suffix {
        None => (None, false),
        Some("damaged") => (None, true),
        Some(t) if t.len() == 6 && digits(t) => {
            let part = |r: std::ops::Range<usize>| t[r].parse::<i8>().ok();
            let time = Time::new(part(0..2)?, part(2..4)?, part(4..6)?, 0).ok()?;
            (Some(time), false)
        }
        Some(_) => return None,
    };
    Some(BackupName {
        date,
        time,
        damaged,
    })
}

/// The sidecar beside a backup: the same name ending in `.json` instead of `.jsonl`.
pub fn sidecar_path(backup: &Path) -> PathBuf {
    backup.with_extension("json")
}

/// What is recorded beside each backup as it is written, so a listing (and `lensbot doctor`)
/// can say what each backup holds without reading it, and rotation can tell good from damaged.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sidecar {
    /// When the backup was written.
    pub created: jiff::Timestamp,
    /// People in the backup (read back from the file).
    pub people: usize,
    /// Metadata entries in the backup (read back from the file).
    pub metadata: usize,
    /// People left out because their records could not be read.
    pub unreadable: usize,
    /// Whether the file was read back and its counts matched what was written.
    pub verified: bool,
    /// `"ok"`, or `"damaged: …"` with the reason the store failed its integrity check.
    pub store_integrity: String,
}

impl Sidecar {
    /// Whether the backup is good: verified, from a store that passed its integrity check.
    pub fn good(&self) -> bool {
        self.verified && self.store_integrity == "ok"
    }
}

/// Writes a sidecar atomically (a temporary file, synced, then renamed).
pub fn write_sidecar(backup: &Path, sidecar: &Sidecar) -> std::io::Result<()> {
    let path = sidecar_path(backup);
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("sidecar.json");
    let tmp = path.with_file_name(format!(".{name}.tmp"));
    let text = serde_json::to_string_pretty(sidecar).map_err(std::io::Error::other)?;
    std::fs::write(&tmp, text + "\n")?;
    std::fs::File::open(&tmp)?.sync_all()?;
    std::fs::rename(&tmp, &path)
}

/// What reading a backup back found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReadBack {
    /// The header's format number.
    pub format: u64,
    /// Person lines.
    pub people: usize,
    /// Metadata lines.
    pub metadata: usize,
}

/// Reads a backup back, parsing every line: a header first, then people (`user` and a
/// `value` object) and metadata (`meta` and a hex string). The error names the line and what
/// is wrong, never the line's content.
pub fn read_back(input: impl BufRead) -> Result<ReadBack, String> {
    let mut found: Option<ReadBack> = None;
    for (i, line) in input.lines().enumerate() {
        let line = line.map_err(|e| format!("cannot read line {}: {e}", i + 1))?;
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(&line).map_err(|e| {
            format!(
                "line {} is not JSON ({})",
                i + 1,
                crate::store::codec::json_error(&e)
            )
        })?;
        let Some(r) = found.as_mut() else {
            let format = v["lensbot_backup"]
                .as_u64()
                .ok_or_else(|| format!("line {} is not a lensbot backup header", i + 1))?;
            found = Some(ReadBack {
                format,
                ..ReadBack::default()
            });
            continue;
        };
        if v["user"].is_string() && (v["value"].is_object() || v["sealed"].is_string()) {
            r.people += 1;
        } else if v["meta"].is_string()
            && v["hex"]
                .as_str()
                .is_some_and(|h| h.len() % 2 == 0 && h.bytes().all(|b| b.is_ascii_hexdigit()))
        {
            r.metadata += 1;
        } else {
            return Err(format!("line {} is neither a person nor metadata", i + 1));
        }
    }
    found.ok_or_else(|| "the file is empty".to_string())
}

/// One backup in a folder, with what its name, its sidecar or (without a sidecar) its header
/// say about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listed {
    /// The backup file.
    pub path: PathBuf,
    /// What its name says.
    pub name: BackupName,
    /// Its sidecar, when there is one (an older lensbot wrote none).
    pub sidecar: Option<Sidecar>,
    /// People according to the file's header line, read only when there is no sidecar.
    pub header_people: Option<usize>,
}

impl Listed {
    /// People it holds, from the sidecar, else the header; `None` when neither says.
    pub fn people(&self) -> Option<usize> {
        self.sidecar
            .as_ref()
            .map(|s| s.people)
            .or(self.header_people)
    }

    /// Whether it is marked damaged, by its name or its sidecar.
    pub fn damaged(&self) -> bool {
        self.name.damaged || self.sidecar.as_ref().is_some_and(|s| !s.good())
    }

    /// What the rotation policy needs to know about it.
    pub fn policy(&self) -> Backup {
        Backup {
            path: self.path.clone(),
            date: self.name.date,
            time: self.name.time,
            people: self.people(),
            damaged: self.damaged(),
        }
    }

    /// One line for an operator: the file, what it holds, whether it was verified, and the
    /// store's integrity when it was written.
    pub fn summary(&self) -> String {
        let file = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        match &self.sidecar {
            Some(s) => format!(
                "{file}: {} people, {} metadata entries, {} unreadable left out, {}, store {}",
                s.people,
                s.metadata,
                s.unreadable,
                if s.verified {
                    "verified"
                } else {
                    "NOT verified"
                },
                s.store_integrity
            ),
            None => match self.header_people {
                Some(n) => format!("{file}: {n} people by its header, no sidecar (not verified)"),
                None => format!("{file}: no sidecar and no readable header"),
            },
        }
    }
}

/// The number in a backup's header line (`"users"`), read without reading the rest.
fn header_people(path: &Path) -> Option<usize> {
    let file = std::fs::File::open(path).ok()?;
    let mut line = String::new();
    std::io::BufReader::new(file.take(64 * 1024))
        .read_line(&mut line)
        .ok()?;
    let v: serde_json::Value = serde_json::from_str(&line).ok()?;
    v["lensbot_backup"].as_u64()?;
    v["users"].as_u64().map(|n| n as usize)
}

/// Every backup in `dir`, oldest first, with its sidecar (a missing folder is an empty list).
/// Files whose names are not a backup's are left out; a sidecar that cannot be read counts as
/// none.
pub fn list(dir: &Path) -> std::io::Result<Vec<Listed>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for entry in entries {
        let path = entry?.path();
        let Some(name) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(parse_name)
        else {
            continue;
        };
        let sidecar = std::fs::read(sidecar_path(&path))
            .ok()
            .and_then(|b| serde_json::from_slice::<Sidecar>(&b).ok());
        let header_people = if sidecar.is_none() {
            header_people(&path)
        } else {
            None
        };
        out.push(Listed {
            path,
            name,
            sidecar,
            header_people,
        });
    }
    out.sort_by_key(|l| (order(l.name.date, l.name.time), l.path.clone()));
    Ok(out)
}

/// What the rotation policy knows about one backup.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Backup {
    /// The file.
    pub path: PathBuf,
    /// Its UTC day.
    pub date: Date,
    /// The time in an older lensbot's name.
    pub time: Option<Time>,
    /// People it holds, when known.
    pub people: Option<usize>,
    /// Whether it is marked damaged (written while the store failed its check).
    pub damaged: bool,
}

/// Sort key: by day, an older name's time within the day, a day's name after those (a day's
/// name is only written when the day has no backup yet, so an older name that day came first).
fn order(date: Date, time: Option<Time>) -> (Date, Time) {
    (date, time.unwrap_or(Time::MAX))
}

/// Whether a backup should be written today: not when the day already has a good one, nor,
/// while the store is damaged, any one; a store found fine again after a damaged backup today
/// gets a good one.
pub fn should_write(backups: &[Backup], today: Date, store_damaged: bool) -> bool {
    !backups
        .iter()
        .filter(|b| b.date == today)
        .any(|b| store_damaged || !b.damaged)
}

/// The rotation policy: which backups to delete, given every backup in the folder, today's
/// UTC date, how many people the store holds now and `keep` (days of daily backups).
///
/// Kept:
/// - the first good backup of each of the newest `keep` days that have a good one;
/// - the first good backup of each ISO week, for this week and the four before it;
/// - the newest backup holding more people than the store (and the newest good one that does);
/// - damaged backups from the last `keep` days (today included), or dated later than today.
///
/// Everything else is returned, oldest first: older days, a day's later backups under older
/// names, and damaged backups past the window. A damaged backup never takes a good one's
/// place, and an unknown people count never counts as more.
pub fn to_delete(
    backups: &[Backup],
    today: Date,
    store_people: usize,
    keep: usize,
) -> Vec<PathBuf> {
    let mut sorted: Vec<&Backup> = backups.iter().collect();
    sorted.sort_by_key(|b| (order(b.date, b.time), b.path.clone()));
    let mut kept: HashSet<&Path> = HashSet::new();
    // The first good backup of each day.
    let mut days: BTreeMap<Date, &Backup> = BTreeMap::new();
    for b in sorted.iter().filter(|b| !b.damaged) {
        days.entry(b.date).or_insert(b);
    }
    for b in days.values().rev().take(keep) {
        kept.insert(b.path.as_path());
    }
    // The first good backup of each of the last five ISO weeks.
    let monday = |d: Date| d.saturating_sub(Span::new().days(d.weekday().to_monday_zero_offset()));
    let this_week = monday(today);
    for weeks_back in 0..5 {
        let start = this_week.saturating_sub(Span::new().weeks(weeks_back));
        let end = start.saturating_add(Span::new().weeks(1));
        if let Some(b) = days.range(start..end).next() {
            kept.insert(b.1.path.as_path());
        }
    }
    // The newest backup holding more people than the store, and the newest good one.
    let more = |b: &&&Backup| b.people.is_some_and(|n| n > store_people);
    if let Some(b) = sorted.iter().rev().find(more) {
        kept.insert(b.path.as_path());
    }
    if let Some(b) = sorted.iter().rev().filter(|b| !b.damaged).find(more) {
        kept.insert(b.path.as_path());
    }
    // Damaged backups stay for the window's days.
    let window_start = today.saturating_sub(Span::new().days(keep as i64));
    for b in sorted.iter().filter(|b| b.damaged && b.date > window_start) {
        kept.insert(b.path.as_path());
    }
    sorted
        .into_iter()
        .filter(|b| !kept.contains(b.path.as_path()))
        .map(|b| b.path.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn b(name: &str, people: usize) -> Backup {
        let n = parse_name(name).unwrap();
        Backup {
            path: PathBuf::from(name),
            date: n.date,
            time: n.time,
            people: Some(people),
            damaged: n.damaged,
        }
    }

    fn day(d: Date, people: usize) -> Backup {
        b(&file_name(d, false), people)
    }

    fn damaged(d: Date, people: usize) -> Backup {
        b(&file_name(d, true), people)
    }

    fn names(paths: &[PathBuf]) -> Vec<String> {
        paths.iter().map(|p| p.display().to_string()).collect()
    }

    /// The days from `first` for `n` days.
    fn days(first: Date, n: i64) -> Vec<Date> {
        (0..n)
            .map(|i| first.saturating_add(Span::new().days(i)))
            .collect()
    }

    #[test]
    fn names_round_trip_and_older_names_are_understood() {
        let d = date(2026, 1, 5);
        assert_eq!(file_name(d, false), "lensbot-20260105.jsonl");
        assert_eq!(file_name(d, true), "lensbot-20260105-damaged.jsonl");
        assert_eq!(
            parse_name("lensbot-20260105.jsonl"),
            Some(BackupName {
                date: d,
                time: None,
                damaged: false
            })
        );
        assert!(
            parse_name("lensbot-20260105-damaged.jsonl")
                .unwrap()
                .damaged
        );
        let old = parse_name("lensbot-20260105-093015.jsonl").unwrap();
        assert_eq!(
            (old.date, old.time),
            (d, Some(Time::constant(9, 30, 15, 0)))
        );
        for not in [
            "lensbot-20260105.json",
            ".lensbot-20260105.jsonl.tmp",
            "lensbot-2026015.jsonl",
            "lensbot-20261305.jsonl",
            "lensbot-20260105-0930.jsonl",
            "lensbot-20260105-256161.jsonl",
            "lensbot-20260105-other.jsonl",
            "backup.jsonl",
            "lensbot-+2026010.jsonl",
        ] {
            assert_eq!(parse_name(not), None, "{not}");
        }
        assert_eq!(
            sidecar_path(Path::new("/b/lensbot-20260105-damaged.jsonl")),
            PathBuf::from("/b/lensbot-20260105-damaged.json")
        );
    }

    #[test]
    fn one_backup_a_day_but_a_good_one_after_a_damaged_one() {
        let today = date(2026, 1, 5);
        let yesterday = date(2026, 1, 4);
        assert!(should_write(&[], today, false));
        assert!(should_write(&[day(yesterday, 3)], today, false));
        assert!(!should_write(&[day(today, 3)], today, false));
        assert!(!should_write(&[day(today, 3)], today, true));
        // An older lensbot's start today fills the day too.
        assert!(!should_write(
            &[b("lensbot-20260105-000102.jsonl", 3)],
            today,
            false
        ));
        // A damaged backup today: another damaged one is not written, a good one is.
        assert!(!should_write(&[damaged(today, 3)], today, true));
        assert!(should_write(&[damaged(today, 3)], today, false));
    }

    #[test]
    fn keeps_the_newest_days_and_never_more_than_one_a_day() {
        // Ten days in one week's range: Monday 2026-01-05 to Wednesday 2026-01-14.
        let all: Vec<Backup> = days(date(2026, 1, 5), 10)
            .into_iter()
            .map(|d| day(d, 3))
            .collect();
        let today = date(2026, 1, 14);
        let gone = names(&to_delete(&all, today, 3, 7));
        // Kept: the 8th to the 14th (7 days), and Monday the 5th as the first of its week;
        // the 12th (Monday) is the first of this week and in the window anyway.
        assert_eq!(
            gone,
            vec!["lensbot-20260106.jsonl", "lensbot-20260107.jsonl"],
            "{gone:?}"
        );
    }

    #[test]
    fn keeps_the_first_of_each_week_for_five_weeks() {
        // Sixty days of daily backups up to Sunday 2026-03-01.
        let all: Vec<Backup> = days(date(2026, 1, 1), 60)
            .into_iter()
            .map(|d| day(d, 3))
            .collect();
        let today = date(2026, 3, 1);
        let gone: HashSet<String> = names(&to_delete(&all, today, 3, 7)).into_iter().collect();
        let kept: Vec<String> = all
            .iter()
            .map(|b| b.path.display().to_string())
            .filter(|n| !gone.contains(n))
            .collect();
        assert_eq!(
            kept,
            vec![
                // Mondays of the four weeks before this one (this week's is in the window).
                "lensbot-20260126.jsonl",
                "lensbot-20260202.jsonl",
                "lensbot-20260209.jsonl",
                "lensbot-20260216.jsonl",
                // The newest seven days.
                "lensbot-20260223.jsonl",
                "lensbot-20260224.jsonl",
                "lensbot-20260225.jsonl",
                "lensbot-20260226.jsonl",
                "lensbot-20260227.jsonl",
                "lensbot-20260228.jsonl",
                "lensbot-20260301.jsonl",
            ]
        );
    }

    #[test]
    fn a_week_without_its_monday_keeps_its_first_backup() {
        // Backups on Wednesday and Friday of the week before, and on the last seven days.
        let mut all = vec![day(date(2026, 1, 7), 3), day(date(2026, 1, 9), 3)];
        all.extend(days(date(2026, 1, 15), 7).into_iter().map(|d| day(d, 3)));
        let gone = names(&to_delete(&all, date(2026, 1, 21), 3, 7));
        assert_eq!(gone, vec!["lensbot-20260109.jsonl"]);
    }

    #[test]
    fn days_are_counted_in_backups_not_in_calendar_days() {
        // A bot stopped for a month: the last seven backups stay however old they are.
        let all: Vec<Backup> = days(date(2025, 11, 1), 10)
            .into_iter()
            .map(|d| day(d, 3))
            .collect();
        let gone = names(&to_delete(&all, date(2026, 1, 5), 3, 7));
        assert_eq!(
            gone,
            vec![
                "lensbot-20251101.jsonl",
                "lensbot-20251102.jsonl",
                "lensbot-20251103.jsonl"
            ]
        );
    }

    #[test]
    fn damaged_backups_never_push_good_ones_out() {
        // Seven good days, then ten days of a damaged store.
        let mut all: Vec<Backup> = days(date(2026, 1, 1), 7)
            .into_iter()
            .map(|d| day(d, 5))
            .collect();
        all.extend(
            days(date(2026, 1, 8), 10)
                .into_iter()
                .map(|d| damaged(d, 5)),
        );
        let today = date(2026, 1, 17);
        let gone = names(&to_delete(&all, today, 5, 7));
        // Every good one stays; damaged ones go when more than seven days old (the 8th to
        // the 10th).
        assert_eq!(
            gone,
            vec![
                "lensbot-20260108-damaged.jsonl",
                "lensbot-20260109-damaged.jsonl",
                "lensbot-20260110-damaged.jsonl"
            ]
        );
    }

    #[test]
    fn a_sidecar_that_says_damaged_counts_as_damaged() {
        let sidecar = |store_integrity: &str, verified| Sidecar {
            created: "2026-01-05T00:00:00Z".parse().unwrap(),
            people: 2,
            metadata: 0,
            unreadable: 0,
            verified,
            store_integrity: store_integrity.into(),
        };
        let listed = |s: Option<Sidecar>| Listed {
            path: PathBuf::from("lensbot-20260105.jsonl"),
            name: parse_name("lensbot-20260105.jsonl").unwrap(),
            sidecar: s,
            header_people: None,
        };
        assert!(!listed(Some(sidecar("ok", true))).damaged());
        assert!(listed(Some(sidecar("damaged: 3 people missing", true))).damaged());
        assert!(listed(Some(sidecar("ok", false))).damaged());
        assert!(!listed(None).damaged());
        assert_eq!(listed(Some(sidecar("ok", true))).policy().people, Some(2));
    }

    #[test]
    fn the_newest_backup_with_more_people_than_the_store_stays() {
        // The store lost people silently on the 4th (10 → 4); the daily backups since hold 4.
        let mut all = vec![day(date(2026, 1, 1), 9), day(date(2026, 1, 2), 10)];
        all.push(day(date(2026, 1, 3), 10));
        all.extend(days(date(2026, 1, 4), 50).into_iter().map(|d| day(d, 4)));
        // Today is Sunday 2026-02-22: the weeks kept start on Monday 2026-01-19.
        let today = date(2026, 2, 22);
        let gone = names(&to_delete(&all, today, 4, 7));
        assert!(
            !gone.contains(&"lensbot-20260103.jsonl".to_string()),
            "{gone:?}"
        );
        // The 2nd also held ten, but is not the newest such backup; the 1st held nine.
        assert!(gone.contains(&"lensbot-20260102.jsonl".to_string()));
        assert!(gone.contains(&"lensbot-20260101.jsonl".to_string()));
        // Nothing holds more than the store: nothing is kept for that reason.
        let gone = names(&to_delete(&all, today, 10, 7));
        assert!(gone.contains(&"lensbot-20260103.jsonl".to_string()));
        // Unknown counts never count as more.
        let mut unknown = all.clone();
        unknown[2].people = None;
        let gone = names(&to_delete(&unknown, today, 4, 7));
        assert!(gone.contains(&"lensbot-20260103.jsonl".to_string()));
        assert!(!gone.contains(&"lensbot-20260102.jsonl".to_string()));
    }

    #[test]
    fn a_damaged_backup_with_more_people_does_not_cost_the_good_one() {
        // A good backup with 10 people, later a damaged one with 12 (the damage added
        // records?), and the store now holds 4.
        let mut all = vec![day(date(2026, 1, 1), 10), damaged(date(2026, 1, 2), 12)];
        all.extend(days(date(2026, 1, 3), 60).into_iter().map(|d| day(d, 4)));
        // Far enough on that neither is a week's first any more.
        let gone = names(&to_delete(&all, date(2026, 3, 3), 4, 7));
        assert!(!gone.contains(&"lensbot-20260101.jsonl".to_string()));
        assert!(!gone.contains(&"lensbot-20260102-damaged.jsonl".to_string()));
    }

    #[test]
    fn older_names_share_their_day_and_the_first_of_the_day_stays() {
        // A crash loop under an older lensbot: seven starts on the 5th.
        let mut all: Vec<Backup> = (0..7)
            .map(|i| b(&format!("lensbot-20260105-0900{i:02}.jsonl"), 3))
            .collect();
        // Then this version's days.
        all.extend(days(date(2026, 1, 6), 3).into_iter().map(|d| day(d, 3)));
        let gone = names(&to_delete(&all, date(2026, 1, 8), 3, 7));
        // The 5th's first backup is its day's; the later six go, nothing else.
        assert_eq!(gone.len(), 6, "{gone:?}");
        assert!(!gone.contains(&"lensbot-20260105-090000.jsonl".to_string()));
        // An older name and a day's name on the same day: the older name came first.
        let all = vec![
            b("lensbot-20260105-230000.jsonl", 3),
            day(date(2026, 1, 5), 3),
        ];
        let gone = names(&to_delete(&all, date(2026, 1, 5), 3, 7));
        assert_eq!(gone, vec!["lensbot-20260105.jsonl"]);
    }

    #[test]
    fn keeping_one_day_keeps_one_backup_and_the_week_firsts() {
        let all: Vec<Backup> = days(date(2026, 1, 12), 3)
            .into_iter()
            .map(|d| day(d, 3))
            .collect();
        // Monday the 12th is this week's first; the 14th is the newest day.
        let gone = names(&to_delete(&all, date(2026, 1, 14), 3, 1));
        assert_eq!(gone, vec!["lensbot-20260113.jsonl"]);
    }

    #[test]
    fn reading_back_counts_every_line_and_names_bad_ones() {
        let good = "{\"lensbot_backup\":1,\"users\":2}\n{\"user\":\"t:1\",\"value\":{}}\n\n{\"user\":\"t:2\",\"value\":{}}\n{\"meta\":\"k\",\"hex\":\"00ff\"}\n";
        assert_eq!(
            read_back(good.as_bytes()),
            Ok(ReadBack {
                format: 1,
                people: 2,
                metadata: 1
            })
        );
        assert_eq!(read_back("".as_bytes()), Err("the file is empty".into()));
        let cut = "{\"lensbot_backup\":1}\n{\"user\":\"t:1\",\"value\":{\"secret words";
        let err = read_back(cut.as_bytes()).unwrap_err();
        assert!(err.starts_with("line 2 is not JSON"), "{err}");
        assert!(!err.contains("secret"), "{err}");
        let odd = "{\"lensbot_backup\":1}\n{\"meta\":\"k\",\"hex\":\"0\"}\n";
        assert_eq!(
            read_back(odd.as_bytes()),
            Err("line 2 is neither a person nor metadata".into())
        );
        assert!(read_back("{\"user\":\"t:1\"}\n".as_bytes()).is_err());
    }
}
