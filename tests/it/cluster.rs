//! Several `lensbot serve` processes over one PostgreSQL (the real binary, the fake platforms):
//! one process at a time holds each platform's role (poller or gateway, and sender), another
//! takes it over when that one is killed, and nothing confirmed is lost or applied twice.
//! Runs only with a PostgreSQL (`./scripts/test` starts one); skips otherwise.

use crate::fake_telegram::{FakeTelegram, button};
use crate::postgres::Db;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const TOKEN: &str = "123456:CLUSTER-TOKEN";

/// One `lensbot serve` process and where its log goes.
struct Process {
    child: Option<Child>,
    log: PathBuf,
}

impl Process {
    /// Starts `lensbot serve` number `n` over `db`, with the shared store key `key`.
    fn start(n: usize, db: &Db, key: &Path, dir: &Path, env: &[(&str, String)]) -> Process {
        let data = dir.join(format!("p{n}"));
        std::fs::create_dir_all(&data).unwrap();
        let log = dir.join(format!("p{n}.log"));
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap();
        let mut c = Command::new(env!("CARGO_BIN_EXE_lensbot"));
        c.current_dir(env!("CARGO_MANIFEST_DIR"))
            .arg("serve")
            .env_remove("DISCORD_TOKEN")
            .env_remove("TELEGRAM_BOT_TOKEN")
            .env("LENSBOT_DATA", &data)
            .env("LENSBOT_STORE", &db.url)
            .env("LENSBOT_STORE_KEY_FILE", key)
            .env("LENSBOT_HEALTH", "off")
            .env("LENSBOT_BACKUP_KEEP", "0")
            .env("LENSBOT_QUIET_HOURS", "off")
            .env("LENSBOT_TIMEZONE", "Europe/London")
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::from(file));
        for (k, v) in env {
            c.env(k, v);
        }
        Process {
            child: Some(c.spawn().unwrap()),
            log,
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// How many times this process took `role`.
    fn took(&self, role: &str) -> usize {
        self.log()
            .matches(&format!("this process now runs {role}"))
            .count()
    }

    fn kill(&mut self, signal: &str) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill")
                .args([signal, &c.id().to_string()])
                .status();
            let _ = c.wait();
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill("-KILL");
    }
}

/// Waits until `f` holds, at most `secs` seconds; false when it never did.
async fn until(secs: u64, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f() {
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    true
}

/// How many messages a chat got that contain `needle`.
fn count(fake: &FakeTelegram, chat: i64, needle: &str) -> usize {
    fake.sent_to(chat)
        .iter()
        .filter(|m| m["text"].as_str().unwrap_or("").contains(needle))
        .count()
}

/// Proves the elected poller and sender over PostgreSQL, with three `lensbot serve` processes
/// polling one (fake) Telegram: exactly one of them takes the Telegram role; people's notes
/// and reminders flow through it; it is killed with SIGKILL mid-load, a survivor takes the role
/// over within seconds and the killed process comes back as a stand-by. At the end every note
/// is saved exactly once and answered, and every reminder set for the window arrived exactly
/// once, whichever process held the role when it fell due.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_processes_keep_one_poller_and_sender_and_lose_nothing_when_it_dies() {
    let Some(db) = Db::new().await else { return };
    let db = db.migrated().await;
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("store.key");
    std::fs::write(&key, format!("{}\n", "07".repeat(32))).unwrap();
    let fake = FakeTelegram::start().await;
    let env = [
        ("TELEGRAM_BOT_TOKEN", TOKEN.to_string()),
        ("TELEGRAM_API_URL", fake.url.clone()),
    ];
    let mut procs: Vec<Process> = (0..3)
        .map(|n| Process::start(n, &db, &key, dir.path(), &env))
        .collect();
    assert!(
        until(60, || procs
            .iter()
            .map(|p| p.took("telegram"))
            .sum::<usize>()
            == 1)
        .await,
        "one process took the Telegram role"
    );
    // Everyone asks for a reminder a minute from now (about the lens they are on).
    let people: Vec<i64> = (0..12).map(|i| 61_000 + i).collect();
    for p in &people {
        fake.send_private(*p, "/remind in 1 minute");
    }
    for p in &people {
        let asked = fake
            .wait_for_text(*p, "what should I remind you about")
            .await;
        let data = button(&asked, "Continue my lens");
        fake.press(*p, fake.message_id_of(&asked), &data);
    }
    for p in &people {
        fake.wait_for_text(*p, "I'll remind you").await;
    }
    // Notes keep coming while the process holding the role is killed.
    let notes = 30;
    let feeder = {
        let (fake, people) = (fake.clone(), people.clone());
        tokio::spawn(async move {
            for k in 0..notes {
                for p in &people {
                    fake.send_private(*p, &format!("/note cluster {p} {k}"));
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let holder = procs.iter().position(|p| p.took("telegram") == 1).unwrap();
    let polls = fake.calls("getUpdates").len();
    procs[holder].kill("-KILL");
    let killed = Instant::now();
    assert!(
        until(20, || procs
            .iter()
            .enumerate()
            .any(|(i, p)| i != holder && p.took("telegram") == 1))
        .await,
        "a survivor took the role over"
    );
    assert!(
        until(20, || fake.calls("getUpdates").len() > polls + 1).await,
        "polling resumed"
    );
    let takeover = killed.elapsed();
    assert!(
        takeover < Duration::from_secs(15),
        "taken over in {takeover:?}"
    );
    procs[holder] = Process::start(holder, &db, &key, dir.path(), &env);
    feeder.await.unwrap();
    let last = format!("Note saved (you have {notes})");
    assert!(
        until(120, || people.iter().all(|p| count(&fake, *p, &last) > 0)).await,
        "every note was answered"
    );
    // The reminders fall due a minute after they were set, after the takeover.
    assert!(
        until(180, || people
            .iter()
            .all(|p| fake.sent_to(*p).iter().any(is_reminder)))
        .await,
        "every reminder arrived"
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    for p in &people {
        let reminders = fake.sent_to(*p).iter().filter(|m| is_reminder(m)).count();
        assert_eq!(reminders, 1, "{p}: the reminder arrived once");
        for k in 1..=notes {
            assert_eq!(
                count(&fake, *p, &format!("Note saved (you have {k})")),
                1,
                "{p}: note {k} answered once"
            );
        }
    }
    let store = db.store().await;
    for p in &people {
        let st = lensbot::store::Store::get_user(&store, &format!("telegram:{p}"))
            .await
            .unwrap()
            .unwrap();
        for k in 0..notes {
            let text = format!("cluster {p} {k}");
            assert_eq!(
                st.notes.iter().filter(|n| n.text == text).count(),
                1,
                "{p}: note {k} saved once"
            );
        }
    }
    // One role holder at a time: the first, then the one survivor that took over.
    let took: usize = procs.iter().map(|p| p.took("telegram")).sum();
    assert_eq!(took, 2, "the role was taken twice in all (start, takeover)");
    for p in &mut procs {
        p.kill("-TERM");
    }
    for p in &procs {
        assert!(!p.log().contains("CLUSTER-TOKEN"), "no token in the logs");
    }
}

/// Whether a message is the reminder itself (not the confirmation that one was set).
fn is_reminder(m: &serde_json::Value) -> bool {
    m["text"]
        .as_str()
        .unwrap_or("")
        .contains("Time for a few minutes on your lens")
}
