//! The real `lensbot telegram` binary under faults, against the fake Bot API (which re-serves
//! every update not yet confirmed by a `getUpdates` offset, as Telegram does):
//! - a SIGKILL storm, with the rate limiter off and on: nothing saved is lost, nothing is
//!   applied twice, and every saved turn is answered (after the restart if need be);
//! - SIGTERM under a backlog (one person's 40-message burst and 30 commands in a group): calm
//!   people are still answered within a second, the process exits 0 within ten seconds, and
//!   the burst's replies arrive after the restart;
//! - 500 chats at once with the limiter on: no second holds more than 30 sends, no chat gets
//!   two within a second (measured from the fake's arrival times);
//! - a full disk under `lensbot serve` (a 16 MiB tmpfs, mounted as root): exit 75, no false
//!   "saved", the update not confirmed; after space returns, handled once, nothing lost.

use crate::fake_telegram::FakeTelegram;
use lensbot::store::{SledStore, Store};
use std::collections::HashMap;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

const TOKEN: &str = "123456:FAULT-TOKEN";

fn spawn(fake: &FakeTelegram, data: &Path, throttle: bool) -> Child {
    spawn_on(fake, data, throttle, None)
}

/// `lensbot telegram` over `store` (a PostgreSQL URL) when given, else sled in `data`.
fn spawn_on(fake: &FakeTelegram, data: &Path, throttle: bool, store: Option<&str>) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(data.with_extension("log"))
        .unwrap();
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_lensbot"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["telegram", "--data", data.to_str().unwrap()])
        .env("TELEGRAM_BOT_TOKEN", TOKEN)
        .env("TELEGRAM_API_URL", &fake.url)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::from(log));
    if !throttle {
        c.env("LENSBOT_TELEGRAM_THROTTLE", "off");
    }
    if let Some(url) = store {
        c.env("LENSBOT_STORE", url);
    }
    c.spawn().unwrap()
}

pub(crate) fn signal(child: &Child, sig: &str) {
    let pid = child.id().to_string();
    assert!(
        std::process::Command::new("kill")
            .args([sig, &pid])
            .status()
            .unwrap()
            .success()
    );
}

/// Waits for a child to exit; its exit code and how long it took.
pub(crate) async fn exit(mut child: Child) -> (Option<i32>, Duration) {
    let t = Instant::now();
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    (status.code(), t.elapsed())
}

/// Each person's notes `TAG PERSON K` (K from 0) are in their record once each and in order
/// (0 lost, 0 applied twice), and every one was answered ("Note saved (you have K)", which
/// counts all of the person's notes); returns how many answers came more than once.
pub(crate) async fn notes_kept(
    store: &dyn Store,
    fake: &FakeTelegram,
    who: &[i64],
    tag: &str,
    notes: usize,
) -> usize {
    let mut repeated = 0;
    for p in who {
        let s = store
            .get_user(&format!("telegram:{p}"))
            .await
            .unwrap()
            .unwrap();
        let texts: Vec<String> = s
            .notes
            .iter()
            .map(|n| n.text.clone())
            .filter(|t| t.starts_with(&format!("{tag} ")))
            .collect();
        let want: Vec<String> = (0..notes).map(|k| format!("{tag} {p} {k}")).collect();
        assert_eq!(
            texts, want,
            "{p}: each note once, in order (0 lost, 0 applied twice)"
        );
        for n in 1..=notes {
            let got = count(fake, *p, &format!("Note saved (you have {n})"));
            assert!(got >= 1, "saved but never answered: {p} note {n}");
            repeated += got - 1;
        }
    }
    repeated
}

/// How many messages each chat got that contain `needle`.
pub(crate) fn count(fake: &FakeTelegram, chat: i64, needle: &str) -> usize {
    fake.sent_to(chat)
        .iter()
        .filter(|m| m["text"].as_str().unwrap_or("").contains(needle))
        .count()
}

async fn storm(throttle: bool, people: i64, notes: usize, kills: u64) {
    storm_on(throttle, people, notes, kills, None).await
}

/// The storm over `store` (a PostgreSQL URL, the database migrated) when given, else sled.
pub(crate) async fn storm_on(
    throttle: bool,
    people: i64,
    notes: usize,
    kills: u64,
    store: Option<&str>,
) {
    let fake = FakeTelegram::start().await;
    let data = tempfile::tempdir().unwrap();
    let who: Vec<i64> = (0..people).map(|p| 31_000 + p).collect();
    // Updates keep arriving through the storm (a round for everyone every 60 ms), and each send
    // takes a few milliseconds, so the kills land while turns and sends are under way.
    fake.slow_sends(Duration::from_millis(3));
    let feeder = {
        let (fake, who) = (fake.clone(), who.clone());
        tokio::spawn(async move {
            for k in 0..notes {
                for p in &who {
                    fake.send_private(*p, &format!("/note storm {p} {k}"));
                }
                tokio::time::sleep(Duration::from_millis(60)).await;
            }
        })
    };
    // Kill at moments spread over the run (a fixed pseudo-random series, so a failure repeats).
    let mut x: u64 = 0x9e37_79b9;
    let mut mid_work = 0;
    for _ in 0..kills {
        // The moment is counted from when the process has started answering, not from its
        // start, so a slow start on a loaded machine does not turn the kills into kills before
        // any work (while work remains; at most ten seconds).
        let sends = fake.calls("sendMessage").len();
        let child = spawn_on(&fake, data.path(), throttle, store);
        let started = Instant::now();
        while fake.calls("sendMessage").len() == sends
            && started.elapsed() < Duration::from_secs(10)
        {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        tokio::time::sleep(Duration::from_millis(50 + (x >> 33) % 400)).await;
        let before = fake.calls("sendMessage").len();
        signal(&child, "-KILL");
        exit(child).await;
        let answered = who
            .iter()
            .filter(|p| count(&fake, **p, &format!("(you have {notes})")) > 0)
            .count();
        if answered < who.len() && before > 0 {
            mid_work += 1;
        }
    }
    feeder.await.unwrap();
    let started = fake.calls("getMe").len();
    let child = spawn_on(&fake, data.path(), throttle, store);
    let deadline = Instant::now() + Duration::from_secs(90);
    while fake.calls("getMe").len() == started {
        assert!(Instant::now() < deadline, "the last process did not start");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let last = format!("Note saved (you have {notes})");
    while who.iter().any(|p| count(&fake, *p, &last) == 0) {
        assert!(Instant::now() < deadline, "not every turn was answered");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    signal(&child, "-TERM");
    let (code, _) = exit(child).await;
    let log = std::fs::read_to_string(data.path().with_extension("log")).unwrap_or_default();
    let tail: String = log.lines().rev().take(15).collect::<Vec<_>>().join("\n");
    assert_eq!(code, Some(0), "{tail}");
    let store: Box<dyn Store> = match store {
        #[cfg(feature = "postgres")]
        Some(url) => Box::new(
            lensbot::store::postgres::PgStore::connect(
                url,
                lensbot::store::vault::StoreKey::load(data.path()).unwrap(),
            )
            .await
            .unwrap(),
        ),
        _ => Box::new(SledStore::open(data.path()).unwrap()),
    };
    let repeated = notes_kept(store.as_ref(), &fake, &who, "storm", notes).await;
    assert!(
        store.outbox().await.unwrap().is_empty(),
        "the outbox drained"
    );
    // A message can repeat only when a kill lands between Telegram taking it and the outbox
    // recording it (at most the messages in flight at each kill).
    eprintln!(
        "storm (limiter {}): {kills} kills ({mid_work} with work under way), {} turns, {repeated} messages repeated",
        if throttle { "on" } else { "off" },
        who.len() * notes
    );
    assert!(mid_work * 2 >= kills, "most kills should land mid-work");
    assert!(repeated as u64 <= kills * people as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigkill_storm_loses_nothing_and_applies_nothing_twice_limiter_off() {
    storm(false, 20, 40, 8).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigkill_storm_loses_nothing_and_applies_nothing_twice_limiter_on() {
    storm(true, 20, 4, 6).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_a_backlog_is_quick_and_the_replies_come_after_restart() {
    let fake = FakeTelegram::start().await;
    let data = tempfile::tempdir().unwrap();
    let child = spawn(&fake, data.path(), true);
    // Let it start before the bursts.
    fake.send_private(41_000, "/fact");
    fake.wait_for_text(41_000, "").await;
    let busy = 41_001;
    for i in 0..40 {
        fake.send_private(busy, &format!("/note burst {i}"));
    }
    let group = -100_4242;
    for _ in 0..30 {
        fake.send_group(group, 41_002, "/fact");
    }
    // Calm people write while the bursts are queued.
    let mut waits = Vec::new();
    for p in 0..10 {
        let calm = 41_100 + p;
        let asked = Instant::now();
        fake.send_private(calm, "/define equity");
        fake.wait_for_text(calm, "").await;
        waits.push(asked.elapsed());
    }
    waits.sort();
    let p90 = waits[8];
    assert!(
        p90 < Duration::from_secs(1),
        "calm people's p90 was {p90:?}"
    );
    assert!(
        count(&fake, busy, "Note saved") < 40,
        "the burst is still being sent"
    );
    signal(&child, "-TERM");
    let (code, took) = exit(child).await;
    assert_eq!(code, Some(0));
    assert!(took < Duration::from_secs(10), "SIGTERM took {took:?}");
    eprintln!("calm p90 {p90:?}; SIGTERM under the backlog took {took:?}");
    // After the restart every reply of the burst arrives.
    let child = spawn(&fake, data.path(), true);
    let deadline = Instant::now() + Duration::from_secs(80);
    while count(&fake, busy, "Note saved (you have 40)") == 0 {
        assert!(
            Instant::now() < deadline,
            "the burst's replies did not all come"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for n in 1..=40 {
        assert!(count(&fake, busy, &format!("Note saved (you have {n})")) >= 1);
    }
    signal(&child, "-TERM");
    assert_eq!(exit(child).await.0, Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_chats_keep_telegrams_limits() {
    let fake = FakeTelegram::start().await;
    let data = tempfile::tempdir().unwrap();
    let child = spawn(&fake, data.path(), true);
    let chats: Vec<i64> = (0..500).map(|c| 50_000 + c).collect();
    for c in &chats {
        fake.send_private(*c, "/fact");
        fake.send_private(*c, "/define equity");
    }
    let deadline = Instant::now() + Duration::from_secs(90);
    while chats.iter().any(|c| fake.sent_to(*c).len() < 2) {
        assert!(Instant::now() < deadline, "not every chat was answered");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    signal(&child, "-TERM");
    assert_eq!(exit(child).await.0, Some(0));
    let most = telegram_limits_kept(&fake.calls("sendMessage"), |_| false);
    eprintln!("500 chats: at most {most} sends in any one second");
}

/// A small tmpfs mounted for one test, unmounted when dropped (also when the test panics).
pub(crate) struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    /// Mounts a tmpfs of `size` (`16m`) at `dir`, or says why it cannot.
    pub(crate) fn mount(dir: &Path, size: &str) -> Result<Tmpfs, String> {
        let uid = std::process::Command::new("id")
            .arg("-u")
            .output()
            .map_err(|e| format!("`id -u` failed: {e}"))?;
        let uid = String::from_utf8_lossy(&uid.stdout).trim().to_string();
        if uid != "0" {
            return Err(format!(
                "mounting a tmpfs needs root, and this runs as uid {uid}"
            ));
        }
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        let out = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .output()
            .map_err(|e| format!("`mount` could not be run: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "`mount -t tmpfs` was refused: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(Tmpfs(dir.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Lazy, so a process still holding a file (a panic mid-test) does not keep it mounted.
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

/// Writes to `path` until the disk is full (ENOSPC); how many bytes went in.
pub(crate) fn fill(path: &Path) -> u64 {
    use std::io::Write;
    let mut f = std::fs::File::create(path).unwrap();
    let block = vec![0x5a_u8; 64 * 1024];
    let mut written = 0;
    loop {
        match f.write(&block) {
            Ok(0) => break,
            Ok(n) => written += n as u64,
            Err(e) => {
                assert_eq!(e.raw_os_error(), Some(28), "filling failed otherwise: {e}");
                break;
            }
        }
    }
    // What the last short write left in the final page is gone too.
    while let Ok(n) = f.write(&block[..1]) {
        if n == 0 {
            break;
        }
        written += 1;
    }
    written
}

fn spawn_serve(fake: &FakeTelegram, data: &Path, log: &Path) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    std::process::Command::new(env!("CARGO_BIN_EXE_lensbot"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["serve", "--data", data.to_str().unwrap()])
        .env_remove("DISCORD_TOKEN")
        .env("TELEGRAM_BOT_TOKEN", TOKEN)
        .env("TELEGRAM_API_URL", &fake.url)
        .env("LENSBOT_BACKUP_KEEP", "0")
        .env("LENSBOT_HEALTH", "127.0.0.1:0")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::from(log))
        .spawn()
        .unwrap()
}

/// Waits up to `within` for a child to exit.
pub(crate) async fn exit_within(child: &mut Child, within: Duration) -> Option<i32> {
    let deadline = Instant::now() + within;
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s.code();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// Proves: when the disk fills, `serve` notices the store's first I/O error, logs one error
// line, tells the person nothing was saved (never "saved"), does not confirm the update to
// Telegram, and exits with 75 within seconds; after space comes back a fresh start handles the
// update exactly once and every earlier answer is still there. (sled keeps its first I/O error
// even after space returns, so only a new process recovers.) Needs root to mount a tmpfs; if it
// cannot, it says why and returns.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_stops_serve_cleanly_and_a_restart_loses_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let mnt = tmp.path().join("disk");
    let disk = match Tmpfs::mount(&mnt, "16m") {
        Ok(d) => d,
        Err(why) => {
            eprintln!("SKIPPED a_full_disk_stops_serve_cleanly_and_a_restart_loses_nothing: {why}");
            return;
        }
    };
    let data = mnt.join("data");
    let log = tmp.path().join("serve.log");
    let fake = FakeTelegram::start().await;
    let (alice, bob) = (62_001_i64, 62_002_i64);
    let mut child = spawn_serve(&fake, &data, &log);
    fake.send_private(alice, "/note alpha");
    fake.wait_for_text(alice, "Note saved (you have 1)").await;
    fake.send_private(bob, "/note beta");
    fake.wait_for_text(bob, "Note saved (you have 1)").await;
    // Let the sender's marks settle, so nothing of the earlier turns is still being written.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = fake.sent_to(alice).len();
    let filled = fill(&mnt.join("filler"));
    // Larger than a page, so it cannot slip into what is left of sled's last page.
    let long = format!("/note {}", "long answer ".repeat(320));
    let update = fake.send_private(alice, &long);
    let sent = Instant::now();
    let code = exit_within(&mut child, Duration::from_secs(40)).await;
    let took = sent.elapsed();
    let logs = std::fs::read_to_string(&log).unwrap_or_default();
    assert_eq!(code, Some(75), "exit code 75 when the store fails:\n{logs}");
    let after: Vec<String> = fake.sent_to(alice)[before..]
        .iter()
        .map(|m| m["text"].as_str().unwrap_or("").to_string())
        .collect();
    assert!(
        after.iter().all(|t| !t.to_lowercase().contains("saved")),
        "a false saved: {after:?}"
    );
    let offsets: Vec<i64> = fake
        .calls("getUpdates")
        .iter()
        .filter_map(|c| c.body["offset"].as_i64())
        .collect();
    assert!(
        offsets.iter().all(|o| *o <= update),
        "the update {update} was confirmed: offsets {offsets:?}"
    );
    let errors: Vec<&str> = logs.lines().filter(|l| l.contains(" ERROR ")).collect();
    assert_eq!(errors.len(), 1, "one error line:\n{logs}");
    assert!(
        errors[0].contains("lensbot is stopping so its supervisor can restart it"),
        "{errors:?}"
    );
    eprintln!(
        "full disk ({filled} bytes of filler): exit {code:?} {took:?} after the update; the person heard {after:?}; error line: {}",
        errors[0]
    );
    // The supervisor restarts it while the disk is still full: it stops again, promptly,
    // still without confirming the update or saying "saved".
    let mut child = spawn_serve(&fake, &data, &log);
    let again = exit_within(&mut child, Duration::from_secs(40)).await;
    assert!(
        matches!(again, Some(c) if c != 0),
        "a start on a full disk: {again:?}"
    );
    let offsets_ok = fake
        .calls("getUpdates")
        .iter()
        .filter_map(|c| c.body["offset"].as_i64())
        .all(|o| o <= update);
    assert!(
        offsets_ok,
        "the update was confirmed by a start on a full disk"
    );
    let since: Vec<String> = fake.sent_to(alice)[before..]
        .iter()
        .map(|m| m["text"].as_str().unwrap_or("").to_lowercase())
        .collect();
    assert!(since.iter().all(|t| !t.contains("saved")), "{since:?}");
    let logs = std::fs::read_to_string(&log).unwrap_or_default();
    let tail: Vec<&str> = logs.lines().rev().take(8).collect();
    eprintln!("a start on the full disk: exit {again:?}; the log ends {tail:#?}");
    // Space comes back; the supervisor starts lensbot again.
    std::fs::remove_file(mnt.join("filler")).unwrap();
    let mut child = spawn_serve(&fake, &data, &log);
    fake.wait_for_text(alice, "Note saved (you have 2)").await;
    signal(&child, "-TERM");
    let code = exit_within(&mut child, Duration::from_secs(15)).await;
    assert_eq!(code, Some(0));
    assert_eq!(
        count(&fake, alice, "Note saved (you have 2)"),
        1,
        "answered once"
    );
    assert_eq!(count(&fake, alice, "(you have 3)"), 0, "applied once");
    let store = SledStore::open(&data).unwrap();
    let notes = |who: i64| -> Vec<String> {
        lensbot::store::wait(store.get_user(&format!("telegram:{who}")))
            .unwrap()
            .unwrap()
            .notes
            .iter()
            .map(|n| n.text.clone())
            .collect()
    };
    let a = notes(alice);
    assert_eq!(a.len(), 2, "alpha and the long one");
    assert_eq!(a[0], "alpha");
    assert!(a[1].starts_with("long answer"));
    assert_eq!(notes(bob), vec!["beta".to_string()]);
    drop(store);
    drop(disk);
}

/// Asserts Telegram's limits on the sends the fake recorded: at most 30 in any one-second
/// window, and no chat twice within a second (the bot books them a second apart; the fake
/// stamps them as it reads them, which other tests running at once can delay a little: 750 ms
/// allows for that and still catches two messages sent together), except for a second message
/// sent at a moment `exempt` names. Returns the most sends seen in one second.
pub(crate) fn telegram_limits_kept(
    sends: &[crate::fake_telegram::Call],
    exempt: impl Fn(Instant) -> bool,
) -> usize {
    let times: Vec<Instant> = sends.iter().map(|c| c.at).collect();
    let mut most = 0;
    for (i, t) in times.iter().enumerate() {
        let n = times[i..]
            .iter()
            .take_while(|u| u.duration_since(*t) < Duration::from_secs(1))
            .count();
        most = most.max(n);
    }
    assert!(most <= 30, "{most} sends in one second");
    let mut by_chat: HashMap<i64, Vec<Instant>> = HashMap::new();
    for c in sends {
        by_chat
            .entry(c.body["chat_id"].as_i64().unwrap())
            .or_default()
            .push(c.at);
    }
    for (chat, ts) in by_chat {
        for w in ts.windows(2) {
            if exempt(w[1]) {
                continue;
            }
            assert!(
                w[1].duration_since(w[0]) >= Duration::from_millis(750),
                "chat {chat} got two {:?} apart",
                w[1].duration_since(w[0])
            );
        }
    }
    most
}
