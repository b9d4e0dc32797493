//! Daily backups that keep their value: one a day however often the bot starts, rotation by
//! day with weekly firsts, a damaged or shrunk store never rotating the good copy out, every
//! backup read back and counted into a sidecar, and one unreadable record costing nobody else
//! their backup. Driven through `backup::daily` with a chosen clock and the in-memory store.

use lensbot::backup::{self, rotation};
use lensbot::engine::UserState;
use lensbot::store::{MemoryStore, Store};
use std::path::Path;

async fn store_with(people: usize) -> MemoryStore {
    let store = MemoryStore::new();
    for i in 0..people {
        store
            .put_user(&UserState::new(&format!("telegram:{i}")))
            .await
            .unwrap();
    }
    store.put_meta("k", b"v").await.unwrap();
    store
}

fn at(s: &str) -> jiff::Timestamp {
    s.parse().unwrap()
}

/// The file names in the folder, sorted.
fn files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// The backups (not sidecars) in the folder, sorted.
fn backups(dir: &Path) -> Vec<String> {
    files(dir)
        .into_iter()
        .filter(|n| n.ends_with(".jsonl"))
        .collect()
}

fn sidecar(dir: &Path, name: &str) -> rotation::Sidecar {
    let path = rotation::sidecar_path(&dir.join(name));
    serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()
}

/// People restored from a backup file into a fresh store.
async fn restored_people(path: &Path) -> usize {
    let fresh = MemoryStore::new();
    let f = std::fs::File::open(path).unwrap();
    backup::restore(&fresh, std::io::BufReader::new(f), None, false)
        .await
        .unwrap();
    fresh.users().await.unwrap().len()
}

/// Every backup has its sidecar and every sidecar its backup.
fn assert_paired(dir: &Path) {
    let all = files(dir);
    for n in &all {
        let other = match n.strip_suffix(".jsonl") {
            Some(stem) => format!("{stem}.json"),
            None => format!("{}l", n),
        };
        assert!(all.contains(&other), "{n} has no {other}: {all:?}");
    }
}

/// Proves: a crash loop (seven starts in 35 seconds) writes one backup for the day, not seven;
/// the next day's tick writes the next one; the sidecar records what was read back.
#[tokio::test]
async fn seven_restarts_in_one_day_write_one_backup() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with(3).await;
    for i in 0..7 {
        let now = at("2026-01-05T09:00:00Z") + jiff::SignedDuration::from_secs(5 * i);
        let d = backup::daily(&store, dir.path(), 7, now, None)
            .await
            .unwrap();
        assert_eq!(d.written.is_some(), i == 0, "start {i}");
    }
    assert_eq!(
        files(dir.path()),
        vec!["lensbot-20260105.json", "lensbot-20260105.jsonl"]
    );
    let s = sidecar(dir.path(), "lensbot-20260105.jsonl");
    assert_eq!(
        s,
        rotation::Sidecar {
            created: at("2026-01-05T09:00:00Z"),
            people: 3,
            metadata: 1,
            unreadable: 0,
            verified: true,
            store_integrity: "ok".into(),
        }
    );
    // The first tick of the next day writes one.
    let d = backup::daily(&store, dir.path(), 7, at("2026-01-06T00:10:00Z"), None)
        .await
        .unwrap();
    assert_eq!(
        d.written,
        Some(dir.path().join("lensbot-20260106.jsonl")),
        "{d:?}"
    );
    assert_eq!(d.counts.users, 3);
    assert_eq!(
        restored_people(&dir.path().join("lensbot-20260106.jsonl")).await,
        3
    );
}

/// Proves: fourteen days of daily ticks (several an hour, as `serve` does) keep the newest
/// seven days and the first backup of the week before, and nothing else, each with its sidecar.
#[tokio::test]
async fn fourteen_days_of_daily_ticks_keep_seven_dailies_and_the_weeks_firsts() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with(2).await;
    // Monday 2026-01-05 to Sunday 2026-01-18, hourly ticks from 00:20.
    let start = at("2026-01-05T00:20:00Z");
    for hour in 0..14 * 24 {
        let now = start + jiff::SignedDuration::from_hours(hour);
        backup::daily(&store, dir.path(), 7, now, None)
            .await
            .unwrap();
    }
    assert_eq!(
        backups(dir.path()),
        vec![
            "lensbot-20260105.jsonl", // the first of last week
            "lensbot-20260112.jsonl", // the newest seven days
            "lensbot-20260113.jsonl",
            "lensbot-20260114.jsonl",
            "lensbot-20260115.jsonl",
            "lensbot-20260116.jsonl",
            "lensbot-20260117.jsonl",
            "lensbot-20260118.jsonl",
        ]
    );
    assert_paired(dir.path());
    // Three more weeks: the weekly firsts stay for five weeks, then go.
    for day in 0..21 {
        let now = at("2026-01-19T00:20:00Z") + jiff::SignedDuration::from_hours(24 * day);
        backup::daily(&store, dir.path(), 7, now, None)
            .await
            .unwrap();
    }
    let kept = backups(dir.path());
    assert_eq!(
        kept[..5],
        [
            "lensbot-20260105.jsonl",
            "lensbot-20260112.jsonl",
            "lensbot-20260119.jsonl",
            "lensbot-20260126.jsonl",
            "lensbot-20260202.jsonl",
        ],
        "{kept:?}"
    );
    assert_eq!(kept.len(), 4 + 7, "{kept:?}");
    backup::daily(&store, dir.path(), 7, at("2026-02-09T00:20:00Z"), None)
        .await
        .unwrap();
    assert!(
        !backups(dir.path()).contains(&"lensbot-20260105.jsonl".to_string()),
        "a sixth week back is not kept"
    );
}

/// Proves: a damaged store restarting over and over (seven starts a day for ten days, with
/// the integrity reason passed) never rotates the last good backup out, which still restores
/// everyone; its backups are marked damaged in name and sidecar, and at most `keep` days of
/// them stay.
#[tokio::test]
async fn seven_restarts_of_a_damaged_store_keep_the_last_good_backup() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with(5).await;
    for day in 0..3 {
        let now = at("2026-01-01T08:00:00Z") + jiff::SignedDuration::from_hours(24 * day);
        backup::daily(&store, dir.path(), 7, now, None)
            .await
            .unwrap();
    }
    // The damage: two people gone, and the check at start says so.
    store.delete_user("telegram:0").await.unwrap();
    store.delete_user("telegram:1").await.unwrap();
    let reason = "the store holds 3 people, its manifest says 5";
    for day in 0..10 {
        for start in 0..7 {
            let now = at("2026-01-04T08:00:00Z")
                + jiff::SignedDuration::from_hours(24 * day)
                + jiff::SignedDuration::from_secs(5 * start);
            let d = backup::daily(&store, dir.path(), 7, now, Some(reason))
                .await
                .unwrap();
            assert_eq!(d.written.is_some(), start == 0);
        }
    }
    let kept = backups(dir.path());
    assert_eq!(
        kept[..3],
        [
            "lensbot-20260101.jsonl",
            "lensbot-20260102.jsonl",
            "lensbot-20260103.jsonl"
        ],
        "every good backup stays: {kept:?}"
    );
    let damaged: Vec<&String> = kept
        .iter()
        .filter(|n| n.ends_with("-damaged.jsonl"))
        .collect();
    assert_eq!(damaged.len(), 7, "{kept:?}");
    assert_eq!(kept.len(), 10);
    let s = sidecar(dir.path(), damaged[0]);
    assert_eq!(s.store_integrity, format!("damaged: {reason}"));
    assert_eq!(s.people, 3);
    assert_paired(dir.path());
    // The last good backup still holds everyone.
    assert_eq!(
        restored_people(&dir.path().join("lensbot-20260103.jsonl")).await,
        5
    );
    // Once the store is fine again (restored), a good backup is written the same day.
    let d = backup::daily(&store, dir.path(), 7, at("2026-01-13T20:00:00Z"), None)
        .await
        .unwrap();
    assert_eq!(
        d.written,
        Some(dir.path().join("lensbot-20260113.jsonl")),
        "{d:?}"
    );
    // And the listing says which is which, for `lensbot doctor`.
    let listed = rotation::list(dir.path()).unwrap();
    let last = listed.last().unwrap();
    assert!(!last.damaged(), "{}", last.summary());
    assert!(listed.iter().any(|l| l.damaged()));
    assert!(
        listed
            .iter()
            .find(|l| l.damaged())
            .unwrap()
            .summary()
            .contains("store damaged: the store holds 3 people"),
    );
}

/// Proves: a store that shrank without failing its check (so its backups look good) still
/// keeps the newest backup holding more people than it does, long after the daily window and
/// the weekly firsts have moved on.
#[tokio::test]
async fn a_silently_shrunk_store_keeps_the_newest_backup_with_more_people() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with(5).await;
    backup::daily(&store, dir.path(), 7, at("2026-01-01T08:00:00Z"), None)
        .await
        .unwrap();
    backup::daily(&store, dir.path(), 7, at("2026-01-02T08:00:00Z"), None)
        .await
        .unwrap();
    store.delete_user("telegram:4").await.unwrap();
    for day in 0..60 {
        let now = at("2026-01-03T08:00:00Z") + jiff::SignedDuration::from_hours(24 * day);
        backup::daily(&store, dir.path(), 7, now, None)
            .await
            .unwrap();
    }
    let kept = backups(dir.path());
    assert!(
        kept.contains(&"lensbot-20260102.jsonl".to_string()),
        "{kept:?}"
    );
    assert!(
        !kept.contains(&"lensbot-20260101.jsonl".to_string()),
        "{kept:?}"
    );
    assert_eq!(
        restored_people(&dir.path().join("lensbot-20260102.jsonl")).await,
        5
    );
}

/// Proves: one record that cannot be read (damaged JSON) and one written by a newer lensbot
/// cost nobody else their backup: everyone else is written and restores, the two keys are
/// named, their bytes are not in the file, and the daily backup's sidecar counts them.
#[tokio::test]
async fn a_backup_with_unreadable_records_writes_everyone_else_and_names_them() {
    let store = store_with(2).await;
    store.put_raw_user(
        "telegram:bad",
        b"{\"v\":1,\"user\":\"telegram:bad\",SECRET".to_vec(),
    );
    store.put_raw_user(
        "telegram:new",
        b"{\"v\":99,\"user\":\"telegram:new\",\"future\":\"SECRET\"}".to_vec(),
    );
    let mut out = Vec::new();
    let counts = backup::write(&store, &mut out, at("2026-01-05T09:00:00Z"))
        .await
        .unwrap();
    assert_eq!(counts.users, 2);
    assert_eq!(counts.meta, 1);
    assert_eq!(counts.unreadable, vec!["telegram:bad", "telegram:new"]);
    let text = String::from_utf8(out.clone()).unwrap();
    assert!(!text.contains("SECRET"), "{text}");
    let fresh = MemoryStore::new();
    backup::restore(&fresh, out.as_slice(), None, false)
        .await
        .unwrap();
    assert_eq!(
        fresh.users().await.unwrap(),
        vec!["telegram:0", "telegram:1"]
    );
    // The daily backup too, with the count in its sidecar.
    let dir = tempfile::tempdir().unwrap();
    let d = backup::daily(&store, dir.path(), 7, at("2026-01-05T09:00:00Z"), None)
        .await
        .unwrap();
    assert_eq!(d.counts.unreadable.len(), 2);
    let s = sidecar(dir.path(), "lensbot-20260105.jsonl");
    assert_eq!((s.people, s.unreadable, s.verified), (2, 2, true));
}

/// Proves: backups named by an older lensbot (one per start) are understood: the first of each
/// day stays as that day's backup, a day's later starts go, none is deleted for its name, and
/// a day that has one gets no second backup; the listing reads their people from the header.
#[tokio::test]
async fn older_names_share_their_day_and_are_not_deleted_for_their_name() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with(3).await;
    let write_old = |name: &str| {
        let f = std::fs::File::create(dir.path().join(name)).unwrap();
        lensbot::store::wait(backup::write(
            &store,
            std::io::BufWriter::new(f),
            at("2026-01-05T09:00:00Z"),
        ))
        .unwrap();
    };
    for name in [
        "lensbot-20260104-090000.jsonl",
        "lensbot-20260104-090005.jsonl",
        "lensbot-20260104-090010.jsonl",
        "lensbot-20260105-120000.jsonl",
    ] {
        write_old(name);
    }
    std::fs::write(dir.path().join("notes.txt"), "the operator's own file").unwrap();
    // Today (the 5th) already has one, from the older lensbot.
    let d = backup::daily(&store, dir.path(), 7, at("2026-01-05T18:00:00Z"), None)
        .await
        .unwrap();
    assert_eq!(d.written, None);
    let d = backup::daily(&store, dir.path(), 7, at("2026-01-06T00:30:00Z"), None)
        .await
        .unwrap();
    assert!(d.written.is_some());
    assert_eq!(
        files(dir.path()),
        vec![
            "lensbot-20260104-090000.jsonl",
            "lensbot-20260105-120000.jsonl",
            "lensbot-20260106.json",
            "lensbot-20260106.jsonl",
            "notes.txt",
        ]
    );
    let listed = rotation::list(dir.path()).unwrap();
    assert_eq!(listed.len(), 3);
    assert_eq!(listed[0].people(), Some(3));
    assert!(listed[0].sidecar.is_none());
    assert!(listed[0].summary().contains("3 people by its header"));
    assert!(listed[2].summary().contains("3 people, 1 metadata entries"));
}

/// Proves: a temporary file left by a crash mid-backup does not count as a backup and is
/// cleared by the next one.
#[tokio::test]
async fn a_half_written_backup_is_not_a_backup() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(".lensbot-20260105.jsonl.tmp"),
        "{\"lensbot_backup\":1",
    )
    .unwrap();
    let store = store_with(1).await;
    let d = backup::daily(&store, dir.path(), 7, at("2026-01-05T09:00:00Z"), None)
        .await
        .unwrap();
    assert!(d.written.is_some());
    assert_eq!(
        files(dir.path()),
        vec!["lensbot-20260105.json", "lensbot-20260105.jsonl"]
    );
}
