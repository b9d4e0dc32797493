//! A large store on sled and on PostgreSQL (BENCHMARKS.md, "A million people (issue 17)"):
//! what start-up, memory, the due index and backups cost when the store holds N people.
//!
//! For each store it
//! 1. fills a fresh store with N people (default 1,000,000), each a realistic record (a
//!    profession, progress in a lens or two, two or three reflections and notes of a sentence
//!    or so), one in ten with a weekly reminder and its due-index entry (100,000 at a
//!    million), written through the public store API in batches ([`Store::apply`] with many
//!    people per [`Write`]), so every value is sealed under its person's key exactly as a
//!    running bot writes it; prints the fill rate;
//! 2. times finding the due items: [`Store::due_until`] and [`Store::claim_due`] (each claim
//!    given back with [`Store::release_due`]) at an instant when 100 reminders are due and
//!    the rest lie in the future, the median of `--runs` runs (on PostgreSQL straight after
//!    the fill, then again after `ANALYZE`);
//! 3. starts the real binary, `lensbot serve` (the one cargo builds beside this benchmark,
//!    `CARGO_BIN_EXE_lensbot`), with a Telegram token pointing at a tiny fake Telegram served
//!    here (getMe, setMyCommands, getUpdates answering an empty list after a short wait),
//!    `LENSBOT_HEALTH` on a free port and daily backups off (`LENSBOT_BACKUP_KEEP=0`: with
//!    them on, the first start of a day also writes a backup, the cost of step 4), and times
//!    exec until `GET /healthz` answers 200 (and, from its log, until the store was open);
//!    reads VmRSS and VmHWM from `/proc/PID/status` then; waits until the process is quiet
//!    (under 5% of a core over two seconds: the scheduler's first retention sweep, which
//!    reads every record, has finished) and reads them again with its CPU time; then stops
//!    it with SIGTERM;
//! 4. times `lensbot backup FILE` of the whole store and reports the backup's size and its
//!    key file's.
//!
//! The reminders fall due a week after the run starts (the 100 "due now") or later, so the
//! bot's own scheduler finds nothing to send while it is measured.
//!
//! Usage (the PostgreSQL is the throwaway cluster `scripts/with-postgres` starts; without it
//! only sled runs):
//!
//! ```text
//! scripts/with-postgres nice cargo bench --bench million -- [--people N] [--stores sled,postgres]
//!     [--runs R] [--starts S] [--batch B]
//! ```
//!
//! Smoke check (about fifteen seconds once built):
//! `scripts/with-postgres cargo bench --bench million -- --people 1000`. Prints `key value`
//! lines per store (`sled fill_per_sec 12345` …).

#[path = "common/postgres.rs"]
mod postgres;

use jiff::{Timestamp, ToSpan};
use lensbot::engine::UserState;
use lensbot::engine::state::{
    CellStatus, Commitment, Note, Reflection, Reminder, ReminderKind, Route,
};
use lensbot::engine::when::Schedule;
use lensbot::store::postgres::PgStore;
use lensbot::store::vault::{StoreKey, Vault};
use lensbot::store::{DueEntry, SledStore, Store, Write};
use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The PostgreSQL store's key in these runs (the key file the bot is given holds it too).
const PG_KEY: [u8; 32] = [7; 32];
/// How many reminders are due at the instant the due index is asked about.
const DUE_NOW: usize = 100;

/// What the command line asked for.
struct Args {
    people: usize,
    stores: Vec<String>,
    runs: usize,
    starts: usize,
    batch: usize,
}

fn args() -> Args {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1).cloned())
    };
    let num = |name: &str, default: usize| {
        arg(name)
            .and_then(|s| s.replace('_', "").parse().ok())
            .unwrap_or(default)
    };
    Args {
        people: num("--people", 1_000_000),
        stores: arg("--stores")
            .unwrap_or_else(|| "sled,postgres".into())
            .split(',')
            .map(|s| s.trim().to_string())
            .collect(),
        runs: num("--runs", 7).max(1),
        starts: num("--starts", 2).max(1),
        batch: num("--batch", 500).max(1),
    }
}

/// Content ids the records refer to, taken from the real dialogues so they are realistic.
struct Ids {
    professions: Vec<String>,
    /// Per lens: id, its stops, its modes with their first prompt.
    lenses: Vec<(String, Vec<String>, Vec<ModePrompt>)>,
}

/// A mode's name, its first prompt's id and the prompt's text.
type ModePrompt = (String, String, String);

fn ids() -> Ids {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("dialogues");
    let cat = lensbot::content::load(&dir).expect("the content loads").0;
    Ids {
        professions: cat.professions.iter().map(|p| p.id.clone()).collect(),
        lenses: cat
            .lenses
            .iter()
            .map(|l| {
                let modes = l
                    .modes
                    .iter()
                    .filter_map(|m| {
                        m.prompts
                            .first()
                            .map(|p| (m.kind.as_str().to_string(), p.id.clone(), p.text.clone()))
                    })
                    .collect();
                (l.id.clone(), l.stops.clone(), modes)
            })
            .collect(),
    }
}

/// Sentences people might write (never logged; here only to give records a realistic size).
const SENTENCES: [&str; 6] = [
    "Talked to the practice manager about offering longer appointments for people who need an interpreter.",
    "I had not thought about how hard it is to get to the clinic without a car; the bus runs twice a day.",
    "Next team meeting I want to raise who is missing from our waiting list and why.",
    "Asked two patients what would make the letters easier to read; both said shorter and in plain words.",
    "Found the local food bank's referral form and put it on the shared drive for the team.",
    "Our outcome data are not split by deprivation at all, so we cannot tell who we are failing.",
];

/// The key of person `i`.
fn key(i: usize) -> String {
    format!("telegram:{}", 5_000_000_000u64 + i as u64)
}

/// How many of `people` hold a reminder: one in ten.
fn reminders_of(people: usize) -> usize {
    people.div_ceil(10)
}

/// When the due index is asked what is due: a week from now, so `serve` finds nothing due.
fn due_instant(start: Timestamp) -> Timestamp {
    start.checked_add(168.hours()).unwrap()
}

/// Person `i`'s record and, for one in ten, their reminder's due entry.
fn person(
    ids: &Ids,
    i: usize,
    start: Timestamp,
    reminders: usize,
) -> (UserState, Option<DueEntry>) {
    let user = key(i);
    let mut s = UserState::new(&user);
    let created = start
        .checked_sub(((i % 300 + 1) as i64 * 24).hours())
        .unwrap();
    s.created = Some(created);
    s.updated = Some(start.checked_sub(((i % 20) as i64).hours()).unwrap());
    s.last_active = s.updated;
    s.welcomed = true;
    s.profession = Some(ids.professions[i % ids.professions.len()].clone());
    s.timezone = Some("Europe/London".into());
    s.step = 20 + (i % 40) as u64;
    // Progress in one lens, or two for every third person.
    let lenses = 1 + usize::from(i.is_multiple_of(3));
    for l in 0..lenses {
        let (lens, stops, modes) = &ids.lenses[(i + l) % ids.lenses.len()];
        if let Some(stop) = stops.get((i / 7) % stops.len().max(1)) {
            s.lens_at.insert(lens.clone(), stop.clone());
        }
        s.routes.insert(lens.clone(), Route::default());
        s.last_lens = Some(lens.clone());
        for (m, (mode, prompt, question)) in modes.iter().enumerate() {
            let status = if m == 0 {
                CellStatus::Done
            } else {
                CellStatus::Started
            };
            s.cells.insert(format!("{lens}/{mode}"), status);
            if m < 2 - l.min(1) {
                s.reflections.push(Reflection {
                    lens: lens.clone(),
                    mode: mode.clone(),
                    prompt: prompt.clone(),
                    question: question.clone(),
                    text: SENTENCES[(i + m + l) % SENTENCES.len()].to_string(),
                    at: created.checked_add((m as i64 + 1).hours()).unwrap(),
                });
            }
        }
    }
    s.notes.push(Note {
        text: SENTENCES[(i + 3) % SENTENCES.len()].to_string(),
        lens: s.last_lens.clone(),
        at: created.checked_add(48.hours()).unwrap(),
        prep: None,
    });
    if i.is_multiple_of(2) {
        s.actions.push(Commitment {
            id: "a1".into(),
            lens: s.last_lens.clone().unwrap_or_default(),
            action: "own".into(),
            text: SENTENCES[(i + 4) % SENTENCES.len()].to_string(),
            size: "small".into(),
            committed: created.checked_add(72.hours()).unwrap(),
            done: None,
            dropped: None,
        });
    }
    // One in ten holds a weekly reminder: the first DUE_NOW of them are due at the instant
    // asked about, the rest spread over the eight weeks after it.
    let mut due = None;
    if i.is_multiple_of(10) {
        let r = i / 10;
        let due_now = DUE_NOW.min(reminders / 2).max(1);
        let at = if r < due_now {
            due_instant(start)
                .checked_sub(((r % 60) as i64 + 1).minutes())
                .unwrap()
        } else {
            due_instant(start)
                .checked_add(1.hours())
                .unwrap()
                .checked_add(
                    ((r * 37) % (56 * 24 * 60)) as i64 * 60 * 1_000_000_000i64.nanoseconds(),
                )
                .unwrap()
        };
        s.reminders.push(Reminder {
            id: "r1".into(),
            kind: ReminderKind::Lens,
            schedule: Schedule::Weekly {
                days: vec![(r % 5) as u8],
                hour: 9,
                minute: 0,
            },
            next: Some(at),
            deferred_from: None,
            created,
        });
        s.reminder_seq = 1;
        due = Some(DueEntry {
            at,
            user: user.clone(),
            reminder: "r1".into(),
        });
    }
    (s, due)
}

/// Fills `store` with `people` people in batches of `batch`, `inflight` batches at once;
/// returns the seconds it took (flushed).
async fn fill(
    store: Arc<dyn Store>,
    ids: Arc<Ids>,
    people: usize,
    batch: usize,
    inflight: usize,
    start: Timestamp,
) -> f64 {
    let t = Instant::now();
    let reminders = reminders_of(people);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let done = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..inflight {
        let (store, ids, next, done) = (store.clone(), ids.clone(), next.clone(), done.clone());
        tasks.spawn(async move {
            use std::sync::atomic::Ordering::SeqCst;
            loop {
                let from = next.fetch_add(batch, SeqCst);
                if from >= people {
                    return;
                }
                let mut w = Write::default();
                for i in from..(from + batch).min(people) {
                    let (s, due) = person(&ids, i, start, reminders);
                    w.users.push(s);
                    w.due_put.extend(due);
                }
                store.apply(&w).await.expect("a batch is written");
                let n = done.fetch_add(w.users.len(), SeqCst) + w.users.len();
                let step = (people / 20).max(batch);
                if n / step != (n - w.users.len()) / step {
                    eprintln!(
                        "  {n} people written ({:.0} a second)",
                        n as f64 / t.elapsed().as_secs_f64()
                    );
                    store.flush().await.expect("the store flushes");
                }
            }
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.expect("a fill task finishes");
    }
    store.flush().await.expect("the store flushes");
    t.elapsed().as_secs_f64()
}

/// The median of the durations, in milliseconds.
fn median_ms(mut d: Vec<Duration>) -> f64 {
    d.sort();
    d[d.len() / 2].as_secs_f64() * 1000.0
}

/// Times `due_until` and `claim_due` (+ `release_due`) at the due instant, `runs` times each.
async fn due_times(store: &dyn Store, start: Timestamp, runs: usize) -> (usize, f64, f64, f64) {
    let at = due_instant(start);
    let (mut until, mut claim) = (Vec::new(), Vec::new());
    let mut found = 0;
    for _ in 0..runs {
        let t = Instant::now();
        let due = store.due_until(at).await.expect("the due index reads");
        until.push(t.elapsed());
        found = due.len();
        let t = Instant::now();
        let claimed = store
            .claim_due(at, Duration::from_secs(60))
            .await
            .expect("the due entries are claimed");
        claim.push(t.elapsed());
        assert_eq!(claimed.len(), found, "a claim takes every entry due");
        store
            .release_due(&claimed)
            .await
            .expect("the claim is given back");
    }
    let t = Instant::now();
    let next = store.next_due().await.expect("the due index reads");
    let next_ms = t.elapsed().as_secs_f64() * 1000.0;
    assert!(next.is_some());
    (found, median_ms(until), median_ms(claim), next_ms)
}

/// `ANALYZE`s the database (the planner's statistics, as autovacuum would make them).
async fn analyze(url: &str) {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("the database answers");
    tokio::spawn(conn);
    client.batch_execute("ANALYZE").await.expect("ANALYZE runs");
}

/// The database's size on disk, and its tables' rows (people, person keys, due entries).
async fn pg_sizes(url: &str) -> String {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("the database answers");
    tokio::spawn(conn);
    let row = client
        .query_one(
            "SELECT pg_database_size(current_database()), (SELECT count(*) FROM people), (SELECT count(*) FROM person_keys), (SELECT count(*) FROM due)",
            &[],
        )
        .await
        .unwrap();
    let (size, people, keys, due): (i64, i64, i64, i64) =
        (row.get(0), row.get(1), row.get(2), row.get(3));
    format!(
        "{:.1}MB people={people} keys={keys} due={due}",
        size as f64 / 1e6
    )
}

/// A tiny fake Telegram on a free port: getMe names the bot, getUpdates answers an empty list
/// after half a second (a long poll), everything else answers `true`. One thread a connection,
/// each answer closes it. Returns its URL.
fn fake_telegram() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            std::thread::spawn(move || answer(conn));
        }
    });
    url
}

fn answer(mut conn: TcpStream) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    // Headers, then as much body as Content-Length says.
    let (head_end, length) = loop {
        let Ok(n) = conn.read(&mut chunk) else { return };
        if n == 0 {
            return;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..p]).to_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            break (p + 4, length);
        }
    };
    while buf.len() < head_end + length {
        match conn.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let line = String::from_utf8_lossy(&buf[..head_end]);
    let path = line.split_whitespace().nth(1).unwrap_or("");
    // teloxide names methods `GetMe`, our own client `getUpdates`: Telegram ignores case.
    let method = path.rsplit('/').next().unwrap_or("").to_lowercase();
    let result = match method.as_str() {
        "getme" => serde_json::json!({"id": 42, "is_bot": true, "first_name": "lensbot",
            "username": "lensbot_bench_bot", "can_join_groups": true,
            "can_read_all_group_messages": false, "supports_inline_queries": false,
            "has_main_web_app": false}),
        "getupdates" => {
            std::thread::sleep(Duration::from_millis(500));
            serde_json::json!([])
        }
        _ => serde_json::json!(true),
    };
    let body = serde_json::json!({"ok": true, "result": result}).to_string();
    let _ = write!(
        conn,
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
}

/// A free local port.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `GET /healthz`'s status, if anything answered.
fn health(port: u16) -> Option<u16> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(
        s,
        "GET /healthz HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n"
    )
    .ok()?;
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out.split_whitespace().nth(1)?.parse().ok()
}

/// VmRSS and VmHWM of a process, in MB.
fn memory(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
            .map(|kb| kb / 1024.0)
            .unwrap_or(0.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// A process's CPU time so far (user and system), in clock ticks (a hundredth of a second
/// on Linux).
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start at the state, field 3.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let field = |n: usize| {
        f.get(n - 3)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    field(14) + field(15)
}

/// The lensbot binary cargo built beside this benchmark.
fn lensbot_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_lensbot"))
}

/// `lensbot SUB ARGS… --data …` for `which` store, run in `work`, with nothing from this
/// process's environment choosing another store or platform.
fn command(which: &Which, work: &Path, sub: &[&std::ffi::OsStr]) -> Command {
    let mut c = Command::new(lensbot_bin());
    c.current_dir(work)
        .args(sub)
        .env_remove("LENSBOT_STORE")
        .env_remove("LENSBOT_DATA")
        .env_remove("LENSBOT_STORE_KEY_FILE")
        .env_remove("DISCORD_TOKEN")
        .env_remove("TELEGRAM_BOT_TOKEN")
        .env(
            "LENSBOT_DIALOGUES",
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("dialogues"),
        );
    match which {
        Which::Sled(dir) => {
            c.arg("--data").arg(dir);
        }
        Which::Postgres {
            url,
            key_file,
            data,
        } => {
            c.env("LENSBOT_STORE", url)
                .env("LENSBOT_STORE_KEY_FILE", key_file)
                .arg("--data")
                .arg(data);
        }
    }
    c
}

/// Where a store is, as the binary is told.
enum Which {
    Sled(PathBuf),
    Postgres {
        url: String,
        key_file: PathBuf,
        data: PathBuf,
    },
}

/// Starts `lensbot serve`, times it until `/healthz` answers 200, reads its memory, stops it.
fn start_once(which: &Which, work: &Path, telegram: &str, label: &str, n: usize) {
    let port = free_port();
    let log = work.join(format!("serve-{n}.log"));
    let mut c = command(which, work, &["serve".as_ref()]);
    c.env("TELEGRAM_BOT_TOKEN", "123456:bench-token")
        .env("TELEGRAM_API_URL", telegram)
        .env("LENSBOT_HEALTH", format!("127.0.0.1:{port}"))
        .env("LENSBOT_BACKUP_KEEP", "0")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap());
    let (t, wall) = (Instant::now(), Timestamp::now());
    let mut child: Child = c.spawn().expect("lensbot serve starts");
    let pid = child.id();
    let deadline = Instant::now() + Duration::from_secs(1800);
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "lensbot serve stopped ({status}) before answering; its log:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        if health(port) == Some(200) {
            break;
        }
        assert!(Instant::now() < deadline, "lensbot serve did not answer");
        std::thread::sleep(Duration::from_millis(20));
    }
    let up = t.elapsed().as_secs_f64();
    let (rss, hwm) = memory(pid);
    // Then until it is quiet: the scheduler's first retention sweep reads every record after
    // the health endpoint is up. Quiet is under 5% of a core over two seconds.
    let mut last = cpu_ticks(pid);
    let quiet_deadline = Instant::now() + Duration::from_secs(1800);
    let settled = loop {
        std::thread::sleep(Duration::from_secs(2));
        let now = cpu_ticks(pid);
        if now.saturating_sub(last) <= 10 || Instant::now() > quiet_deadline {
            break t.elapsed().as_secs_f64() - 2.0;
        }
        last = now;
    };
    let (rss2, hwm2) = memory(pid);
    let cpu = cpu_ticks(pid) as f64 / 100.0;
    // The log's "store opened" line says when the store was open (checked, keys loaded).
    let opened = std::fs::read_to_string(&log)
        .unwrap_or_default()
        .lines()
        .find(|l| l.contains("store opened"))
        .and_then(|l| l.split_whitespace().next()?.parse::<Timestamp>().ok())
        .map(|at| {
            format!(
                "{:.2}",
                (at.as_millisecond() - wall.as_millisecond()) as f64 / 1000.0
            )
        })
        .unwrap_or_else(|| "?".into());
    println!(
        "{label} start{n}_secs {up:.2} (store_open_secs {opened})  rss_mb {rss:.0} hwm_mb {hwm:.0}  quiet_after_secs {settled:.1} cpu_secs {cpu:.1}  then rss_mb {rss2:.0} hwm_mb {hwm2:.0}"
    );
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    let stop_deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        if Instant::now() > stop_deadline {
            let _ = child.kill();
            let _ = child.wait();
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `lensbot backup FILE` of the whole store: its time and size.
fn backup(which: &Which, work: &Path, label: &str) {
    let file = work.join(format!("{label}.backup"));
    let mut c = command(which, work, &["backup".as_ref(), file.as_os_str()]);
    let t = Instant::now();
    let out = c.output().expect("lensbot backup runs");
    let secs = t.elapsed().as_secs_f64();
    assert!(
        out.status.success(),
        "lensbot backup failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0) as f64 / 1e6;
    println!(
        "{label} backup_secs {secs:.1}  backup_mb {:.1} keys_mb {:.1}",
        size(&file),
        size(&lensbot::backup::keys_path(&file))
    );
    let _ = std::fs::remove_file(&file);
    let _ = std::fs::remove_file(lensbot::backup::keys_path(&file));
}

/// The size of a directory's files, in MB.
fn dir_mb(dir: &Path) -> f64 {
    let mut total = 0u64;
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                total += (dir_mb(&p) * 1e6) as u64;
            } else if let Ok(m) = e.metadata() {
                total += m.len();
            }
        }
    }
    total as f64 / 1e6
}

fn main() {
    let a = args();
    let ids = Arc::new(ids());
    let start = Timestamp::now();
    let telegram = fake_telegram();
    println!(
        "people {} reminders {} due_now {} batch {} binary {}",
        a.people,
        reminders_of(a.people),
        DUE_NOW.min(reminders_of(a.people) / 2).max(1),
        a.batch,
        lensbot_bin().display()
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    for which in &a.stores {
        let work = tempfile::Builder::new()
            .prefix("lensbot-million-")
            .tempdir_in(std::env::var_os("LENSBOT_BENCH_DIR").unwrap_or_else(|| "/tmp".into()))
            .unwrap();
        let (store, place): (Arc<dyn Store>, Which) = match which.as_str() {
            "sled" => {
                let dir = work.path().join("data");
                let store = Arc::new(SledStore::open(&dir).expect("sled opens"));
                (store, Which::Sled(dir))
            }
            "postgres" => {
                let Ok(base) = std::env::var("LENSBOT_TEST_POSTGRES") else {
                    eprintln!(
                        "LENSBOT_TEST_POSTGRES is not set: PostgreSQL skipped (run this under scripts/with-postgres, see the file's header)"
                    );
                    continue;
                };
                let key_file = work.path().join("store.key");
                let hex: String = PG_KEY.iter().map(|b| format!("{b:02x}")).collect();
                std::fs::write(&key_file, format!("{hex}\n")).unwrap();
                let data = work.path().join("data");
                std::fs::create_dir_all(&data).unwrap();
                let name = format!("million_{}", std::process::id());
                let url = rt.block_on(postgres::fresh_database(&base, &name));
                let store = rt.block_on(async {
                    PgStore::connect(&url, StoreKey::from_bytes(PG_KEY))
                        .await
                        .expect("PostgreSQL connects")
                });
                (
                    Arc::new(store),
                    Which::Postgres {
                        url,
                        key_file,
                        data,
                    },
                )
            }
            other => {
                eprintln!("unknown store {other}: skipped (sled or postgres)");
                continue;
            }
        };
        let label = which.as_str();
        // PostgreSQL overlaps round trips with a few batches in flight; sled's writes go
        // through one log either way.
        let inflight = if label == "postgres" { 4 } else { 2 };
        let secs = rt.block_on(fill(
            store.clone(),
            ids.clone(),
            a.people,
            a.batch,
            inflight,
            start,
        ));
        println!(
            "{label} fill_secs {secs:.1} fill_per_sec {:.0}",
            a.people as f64 / secs
        );
        let (found, until_ms, claim_ms, next_ms) =
            rt.block_on(due_times(store.as_ref(), start, a.runs));
        println!(
            "{label} due_found {found} due_until_ms {until_ms:.2} claim_due_ms {claim_ms:.2} next_due_ms {next_ms:.2} (median of {})",
            a.runs
        );
        // Straight after a bulk fill PostgreSQL may not have analysed the due table yet (its
        // autovacuum comes later) and can plan the lookup badly; a running store has been
        // analysed. Both are shown.
        if let Which::Postgres { url, .. } = &place {
            rt.block_on(analyze(url));
            let (found, until_ms, claim_ms, next_ms) =
                rt.block_on(due_times(store.as_ref(), start, a.runs));
            println!(
                "{label} after ANALYZE: due_found {found} due_until_ms {until_ms:.2} claim_due_ms {claim_ms:.2} next_due_ms {next_ms:.2} (median of {})",
                a.runs
            );
        }
        drop(store);
        match &place {
            Which::Sled(dir) => {
                println!("{label} store_mb {:.1}", dir_mb(dir));
                // The part of sled's open that is the key file: every person key read and
                // opened under the store key.
                let t = Instant::now();
                let vault = Vault::open(
                    dir,
                    StoreKey::load(dir).expect("the store key reads"),
                    dir.join("backups"),
                )
                .expect("the key file opens");
                println!(
                    "{label} key_file_load_secs {:.2} keys {}",
                    t.elapsed().as_secs_f64(),
                    vault.len()
                );
            }
            Which::Postgres { url, .. } => {
                println!("{label} store {}", rt.block_on(pg_sizes(url)));
                // What opening costs here: the schema checked and every person key read from
                // the key table and opened under the store key.
                let t = Instant::now();
                let store = rt.block_on(PgStore::connect(url, StoreKey::from_bytes(PG_KEY)));
                let keys = store.as_ref().map(|s| s.vault().map_or(0, |v| v.len()));
                println!(
                    "{label} key_table_load_secs {:.2} keys {}",
                    t.elapsed().as_secs_f64(),
                    keys.expect("PostgreSQL connects")
                );
            }
        }
        for n in 1..=a.starts {
            start_once(&place, work.path(), &telegram, label, n);
        }
        backup(&place, work.path(), label);
    }
}
