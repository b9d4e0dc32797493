//! Several `lensbot serve` processes over one PostgreSQL (the real binary, the fake platforms):
//! one process at a time holds each platform's role (poller or gateway, and sender), another
//! takes it over when that one is killed, and nothing confirmed is lost or applied twice.
//! Runs only with a PostgreSQL (`./scripts/test` starts one); skips otherwise.

use crate::fake_discord::FakeDiscord;
use crate::fake_telegram::{FakeTelegram, button};
use crate::faults::count;
use crate::helpers::until;
use crate::postgres::Db;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const TOKEN: &str = "123456:CLUSTER-TOKEN";
const DISCORD_TOKEN: &str = "MTIzNDU2.SENTINEL.CLUSTER-TOKEN";
const GUILD: u64 = 500;

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

/// Proves the elected poller and sender over PostgreSQL, with three `lensbot serve` processes
/// polling one (fake) Telegram: exactly one of them takes the Telegram role (Telegram allows
/// one poller); people's notes flow through it; it is killed with SIGKILL mid-load, a survivor
/// takes the role over within seconds and polls on from what was confirmed, and the killed
/// process comes back as a stand-by. At the end every note is saved exactly once and answered
/// (once, but for at most one repeat per person that the killed sender had sent and not yet
/// marked: see `notes_once_in_order`).
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
    let people: Vec<i64> = (0..12).map(|i| 61_000 + i).collect();
    // Notes keep coming while the process holding the role is killed.
    let notes = 30;
    let feeder = feed(&fake, &people, "cluster", notes, Duration::from_millis(100));
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
    tokio::time::sleep(Duration::from_secs(2)).await;
    notes_once_in_order(&fake, &db.store().await, &people, "cluster", notes, 1).await;
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

/// nginx, started from `deploy/nginx.conf` itself: the upstream servers replaced by the
/// processes' addresses and the listening port by a free one. Stopped when dropped.
struct Nginx {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    url: String,
    _dir: tempfile::TempDir,
}

impl Nginx {
    /// nginx in front of `telegram` and `discord` upstream addresses, or `None` (with a
    /// message) when nginx is not installed and this is not CI.
    fn start(telegram: &[String], discord: &[String]) -> Option<Nginx> {
        let bin = ["/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx"]
            .into_iter()
            .find(|p| Path::new(p).exists())?;
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("logs")).unwrap();
        let port = crate::service::free_port();
        let conf = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/nginx.conf"),
        )
        .unwrap();
        let servers = |addrs: &[String]| -> String {
            addrs
                .iter()
                .map(|a| format!("        server {a} max_fails=1 fail_timeout=5s;\n"))
                .collect()
        };
        let mut out = String::new();
        let mut upstream: Option<&str> = None;
        for line in conf.lines() {
            let t = line.trim();
            if t.starts_with("upstream lensbot_telegram") {
                upstream = Some("telegram");
            } else if t.starts_with("upstream lensbot_discord") {
                upstream = Some("discord");
            }
            if upstream.is_some() && t.starts_with("server ") {
                continue;
            }
            if t == "}"
                && let Some(u) = upstream.take()
            {
                out.push_str(&servers(if u == "telegram" { telegram } else { discord }));
            }
            if t == "listen 80;" {
                out.push_str(&format!("        listen 127.0.0.1:{port};\n"));
                continue;
            }
            out.push_str(line);
            out.push('\n');
        }
        assert!(out.contains(&telegram[0]), "the upstreams were replaced");
        let path = dir.path().join("nginx.conf");
        std::fs::write(&path, out).unwrap();
        let d = dir.path().display();
        let child = Command::new(bin)
            .args(["-p", &d.to_string(), "-c", &path.display().to_string()])
            .args([
                "-g",
                &format!("daemon off; pid {d}/nginx.pid; error_log {d}/logs/error.log;"),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        Some(Nginx {
            child,
            url: format!("http://127.0.0.1:{port}"),
            _dir: dir,
        })
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// nginx, or `None` after saying why the test skips (a failure under `CI=true`, where
/// `scripts/ensure-nginx` installs it).
fn nginx_or_skip(telegram: &[String], discord: &[String]) -> Option<Nginx> {
    let n = Nginx::start(telegram, discord);
    if n.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "nginx is not installed (scripts/ensure-nginx installs it)"
        );
        eprintln!("skipped: nginx is not installed (as root: apt-get install nginx-light)");
    }
    n
}

/// Proves the whole arrangement of deploy/ end to end: three `lensbot serve` processes over one
/// PostgreSQL behind nginx (run from `deploy/nginx.conf`), the fake Telegram pushing webhooks
/// through nginx with Telegram's retries, Telegram's rate limiter on, and the fake Discord
/// posting signed interactions through nginx and direct messages through its gateway. People
/// set reminders and send notes while the processes holding the Telegram role (scheduler and
/// sender) and the Discord role (gateway, scheduler and sender) are killed with SIGKILL
/// mid-load and later restarted; Discord's commands and DMs are answered after the takeover
/// too. Then: every update nginx
/// answered 200 for is saved exactly once and answered (a repeat only as the sender's docs
/// allow, across its SIGKILL); every reminder due in the
/// window arrived exactly once; a survivor took the role over; and the limits held across the
/// processes (at most 30 sends in any second; no chat twice within a second, except across the
/// takeover itself, where the new sender cannot know the dead one's last send).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_processes_behind_nginx_take_webhooks_and_lose_nothing_when_one_dies() {
    let Some(db) = Db::new().await else { return };
    let db = db.migrated().await;
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("store.key");
    std::fs::write(&key, format!("{}\n", "07".repeat(32))).unwrap();
    let hooks: Vec<String> = (0..3)
        .map(|_| format!("127.0.0.1:{}", crate::service::free_port()))
        .collect();
    let interactions: Vec<String> = (0..3)
        .map(|_| format!("127.0.0.1:{}", crate::service::free_port()))
        .collect();
    let Some(nginx) = nginx_or_skip(&hooks, &interactions) else {
        return;
    };
    let fake = FakeTelegram::start().await;
    let dc = FakeDiscord::start().await;
    let secret = "cluster-secret";
    let env_for = |n: usize| {
        vec![
            ("TELEGRAM_BOT_TOKEN", TOKEN.to_string()),
            ("TELEGRAM_API_URL", fake.url.clone()),
            ("LENSBOT_TELEGRAM_WEBHOOK", hooks[n].clone()),
            ("LENSBOT_TELEGRAM_WEBHOOK_SECRET", secret.to_string()),
            ("DISCORD_TOKEN", DISCORD_TOKEN.to_string()),
            ("DISCORD_API_URL", dc.rest_url.clone()),
            ("DISCORD_GUILD_ID", GUILD.to_string()),
            ("LENSBOT_DISCORD_INTERACTIONS", interactions[n].clone()),
            ("DISCORD_PUBLIC_KEY", dc.public_key()),
        ]
    };
    let mut procs: Vec<Process> = (0..3)
        .map(|n| Process::start(n, &db, &key, dir.path(), &env_for(n)))
        .collect();
    // Every process listening (as an orchestrator waits for health before routing to one).
    assert!(
        until(60, || hooks
            .iter()
            .chain(&interactions)
            .all(|a| std::net::TcpStream::connect(a).is_ok()))
        .await,
        "every process listens"
    );
    // The deploy step, once: Telegram pushes to the load balancer.
    fake.set_webhook(&format!("{}/telegram", nginx.url), Some(secret));
    assert!(
        until(60, || procs
            .iter()
            .map(|p| p.took("telegram"))
            .sum::<usize>()
            == 1
            && procs.iter().map(|p| p.took("discord")).sum::<usize>() == 1)
        .await,
        "one process took each role"
    );
    // Discord, before the kill: slash commands signed and posted through nginx, answered in
    // the HTTP body, whichever process nginx chose; a direct message through the gateway.
    let hook = format!("{}/discord/interactions", nginx.url);
    let members: Vec<u64> = (0..6).map(|i| 71_000 + i).collect();
    discord_notes(&dc, &hook, &members, 0).await;
    for m in &members {
        dc.dm(*m, &format!("/note dm {m} 0"));
    }
    for m in &members {
        dc.wait(&format!("{m}'s DM answered"), |f| {
            dms_saying(f, *m, "Note saved (you have 2)").then_some(())
        })
        .await;
    }
    let people: Vec<i64> = (0..10).map(|i| 62_000 + i).collect();
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
    let notes = 12;
    let feeder = feed(&fake, &people, "webhook", notes, Duration::from_millis(300));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let holder = procs.iter().position(|p| p.took("telegram") == 1).unwrap();
    // The Discord role's holder dies too (it may be the same process).
    let dc_holder = procs.iter().position(|p| p.took("discord") == 1).unwrap();
    procs[holder].kill("-KILL");
    let killed = Instant::now();
    if dc_holder != holder {
        procs[dc_holder].kill("-KILL");
    }
    let dead = [holder, dc_holder];
    assert!(
        until(20, || procs
            .iter()
            .enumerate()
            .any(|(i, p)| i != holder && p.took("telegram") == 1))
        .await,
        "a survivor took the Telegram role over"
    );
    let takeover = killed.elapsed();
    assert!(
        until(20, || procs
            .iter()
            .enumerate()
            .any(|(i, p)| !dead.contains(&i) && p.took("discord") == 1))
        .await,
        "a survivor took the Discord gateway over"
    );
    eprintln!(
        "webhook cluster: the Telegram role taken over {takeover:?}, Discord's {:?} after the kill",
        killed.elapsed()
    );
    // Discord through the survivor: commands through nginx (which skips the dead), and DMs
    // through the gateway the survivor now holds.
    discord_notes(&dc, &hook, &members, 1).await;
    for m in &members {
        dc.dm(*m, &format!("/note dm {m} 1"));
    }
    for m in &members {
        dc.wait(&format!("{m}'s DM answered after the takeover"), |f| {
            dms_saying(f, *m, "Note saved (you have 4)").then_some(())
        })
        .await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    procs[holder] = Process::start(holder, &db, &key, dir.path(), &env_for(holder));
    if dc_holder != holder {
        procs[dc_holder] = Process::start(dc_holder, &db, &key, dir.path(), &env_for(dc_holder));
    }
    feeder.await.unwrap();
    let last = format!("Note saved (you have {notes})");
    assert!(
        until(120, || people.iter().all(|p| count(&fake, *p, &last) > 0)).await,
        "every note was answered"
    );
    let arrived = until(180, || {
        people
            .iter()
            .all(|p| fake.sent_to(*p).iter().any(is_reminder))
    })
    .await;
    if !arrived {
        let missing: Vec<&i64> = people
            .iter()
            .filter(|p| !fake.sent_to(**p).iter().any(is_reminder))
            .collect();
        for p in &procs {
            let tail: Vec<String> = p.log().lines().rev().take(12).map(String::from).collect();
            eprintln!("--- {}:\n{}", p.log.display(), tail.join("\n"));
        }
        panic!("reminders missing for {missing:?}");
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    for p in &people {
        let reminders = fake.sent_to(*p).iter().filter(|m| is_reminder(m)).count();
        assert_eq!(reminders, 1, "{p}: the reminder arrived once");
    }
    let store = db.store().await;
    notes_once_in_order(&fake, &store, &people, "webhook", notes, 1).await;
    // Every push nginx answered 2xx for was taken (the checks above), and some pushes met the
    // dead process or nginx's retry and were delivered again by the fake.
    let pushes = fake.pushes();
    assert!(!pushes.is_empty());
    // Telegram's limits, kept by the one sender across the processes.
    let near_takeover = |t: Instant| {
        t + Duration::from_secs(3) > killed && t < killed + takeover + Duration::from_secs(3)
    };
    crate::faults::telegram_limits_kept(&fake.calls("sendMessage"), near_takeover);
    let took: usize = procs.iter().map(|p| p.took("telegram")).sum();
    assert_eq!(took, 2, "the role was taken twice in all (start, takeover)");
    let took: usize = procs.iter().map(|p| p.took("discord")).sum();
    assert_eq!(
        took, 2,
        "the gateway was taken twice in all (start, takeover)"
    );
    // Each Discord note saved once, whichever process took it.
    for m in &members {
        let st = lensbot::store::Store::get_user(&store, &format!("discord:{m}"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            st.notes.len(),
            4,
            "{m}: two commands and two DMs, each once"
        );
    }
    for p in &mut procs {
        p.kill("-TERM");
    }
    for p in &procs {
        let log = p.log();
        assert!(
            !log.contains("CLUSTER-TOKEN") && !log.contains(secret) && !log.contains("SENTINEL"),
            "no token or secret in the logs"
        );
        assert!(!log.contains("webhook 62"), "no person's words in the logs");
    }
}

/// Each member's `/note` slash command, signed and posted to `hook` (nginx), answered in the
/// HTTP body (a deferral) and then followed up "Note saved".
async fn discord_notes(dc: &FakeDiscord, hook: &str, members: &[u64], round: u32) {
    for m in members {
        let (payload, token) = dc.command_payload(
            *m,
            Some(GUILD),
            "note",
            &[("text", &format!("command {m} {round}"))],
        );
        let answered = dc.post(hook, &payload).await;
        assert_eq!(answered.status, 200, "{m}: {answered:?}");
        assert_eq!(answered.body["type"], 5, "{m}: deferred in the HTTP body");
        dc.wait_followup(&token, "Note saved").await;
    }
}

/// Whether a member got a direct message containing `needle`.
fn dms_saying(f: &FakeDiscord, member: u64, needle: &str) -> bool {
    f.dms_to(member)
        .iter()
        .any(|m| m["content"].as_str().unwrap_or("").contains(needle))
}

/// Sends each person `notes` notes (`/note TAG PERSON K`), a round for everyone every `gap`.
fn feed(
    fake: &FakeTelegram,
    people: &[i64],
    tag: &'static str,
    notes: usize,
    gap: Duration,
) -> tokio::task::JoinHandle<()> {
    let (fake, people) = (fake.clone(), people.to_vec());
    tokio::spawn(async move {
        for k in 0..notes {
            for p in &people {
                fake.send_private(*p, &format!("/note {tag} {p} {k}"));
            }
            tokio::time::sleep(gap).await;
        }
    })
}

/// Every note [`feed`] sent is in the person's record exactly once, in the order sent, and was
/// answered ("Note saved (you have K)"): once, except that the sending process killed with
/// SIGKILL may have had one message per person taken by Telegram and not yet marked sent,
/// which its successor sends again (the one way a message can arrive twice, `sender`'s docs;
/// Telegram's sendMessage has no idempotency key). So at most one repeat per person per kill
/// of the sender.
async fn notes_once_in_order(
    fake: &FakeTelegram,
    store: &lensbot::store::postgres::PgStore,
    people: &[i64],
    tag: &str,
    notes: usize,
    sender_kills: usize,
) {
    let repeated = crate::faults::notes_kept(store, fake, people, tag, notes).await;
    assert!(
        repeated <= sender_kills * people.len(),
        "{repeated} answers repeated after {sender_kills} kills of the sender"
    );
}
