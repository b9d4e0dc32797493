//! Telegram over a webhook: the fake Bot API pushing updates as Telegram does (one at a time
//! per chat, retrying anything but a 2xx), to the adapter in-process and to the real
//! `lensbot serve`; the deploy commands (`lensbot telegram set-webhook`, `delete-webhook`,
//! `webhook-info`) checked against the Bot API spec.

use crate::fake_telegram::FakeTelegram;
use crate::faults::{Tmpfs, count, exit, exit_within, fill, notes_kept, signal};
use crate::helpers::catalog;
use lensbot::session::Session;
use lensbot::store::{MemoryStore, SledStore, Store};
use lensbot::telegram::{self, Config, TelegramError, webhook};
use serde_json::json;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

const TOKEN: &str = "123456:WEBHOOK-TOKEN";
const SECRET: &str = "a-Webhook_secret-0123456789";

/// A free local address (bound and released, then listened on by the process under test).
fn free_addr() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

fn url(addr: SocketAddr) -> String {
    format!("http://{addr}/telegram")
}

/// Polls `cond` every 20 ms for up to 20 s; panics naming `what` if it never holds.
async fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

struct Running {
    fake: FakeTelegram,
    store: Arc<dyn Store>,
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), TelegramError>>,
}

/// The adapter in-process, taking updates through its webhook on a free port, over a memory
/// store the test can look into.
async fn start() -> Running {
    let fake = FakeTelegram::start().await;
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let session = Arc::new(Session::new(catalog(), store.clone()));
    let addr = free_addr();
    let config = Config {
        token: TOKEN.into(),
        api_url: fake.url.clone(),
        throttle: false,
        poll_timeout: 1,
        webhook: Some(webhook::Config {
            addr,
            path: "/telegram".into(),
            secret: SECRET.into(),
        }),
    };
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(telegram::run(session, config, async {
        let _ = stopped.await;
    }));
    let deadline = Instant::now() + Duration::from_secs(20);
    while tokio::net::TcpStream::connect(addr).await.is_err() {
        assert!(Instant::now() < deadline, "the webhook never listened");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Running {
        fake,
        store,
        addr,
        stop,
        task,
    }
}

impl Running {
    async fn stop(self) {
        let _ = self.stop.send(());
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("stops within 10 s")
            .unwrap()
            .unwrap();
    }
}

// Proves: the endpoint hears only POST on its path (404 elsewhere, 405 for GET), refuses a
// missing or wrong secret with 401 keeping nothing, refuses a body over the limit with 413,
// answers an update it cannot read with 200 (so Telegram does not retry it for ever) keeping
// nothing, and answers a readable update 200 only once it is in the inbox (or already
// applied).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_endpoint_takes_only_posts_with_the_secret_to_its_path() {
    let r = start().await;
    let client = reqwest::Client::new();
    let post = |path: &str, secret: Option<&str>, body: String| {
        let mut req = client
            .post(format!("http://{}{path}", r.addr))
            .header("content-type", "application/json")
            .body(body);
        if let Some(s) = secret {
            req = req.header("X-Telegram-Bot-Api-Secret-Token", s);
        }
        async move { req.send().await.unwrap().status().as_u16() }
    };
    let update = |id: i64, text: &str| {
        let mut u = r.fake.private_text(71_001, text);
        u["update_id"] = json!(id);
        u.to_string()
    };
    let get = client
        .get(url(r.addr))
        .header("X-Telegram-Bot-Api-Secret-Token", SECRET)
        .send()
        .await
        .unwrap();
    assert_eq!(get.status().as_u16(), 405);
    assert_eq!(get.headers()["allow"], "POST");
    assert_eq!(
        post("/elsewhere", Some(SECRET), update(5, "/fact")).await,
        404
    );
    assert_eq!(post("/telegram", None, update(5, "/fact")).await, 401);
    assert_eq!(
        post("/telegram", Some("wrong"), update(5, "/fact")).await,
        401
    );
    let almost = &SECRET[..SECRET.len() - 1];
    assert_eq!(
        post("/telegram", Some(almost), update(5, "/fact")).await,
        401
    );
    // Refused from its declared length, before its megabyte is read: the client reads the
    // 413, or, still writing the body when the server closes, sees a broken connection.
    // Either way nothing is kept (checked below).
    let huge = update(6, &"x".repeat(webhook::MAX_BODY + 10));
    let sent = client
        .post(format!("http://{}/telegram", r.addr))
        .header("content-type", "application/json")
        .header("X-Telegram-Bot-Api-Secret-Token", SECRET)
        .body(huge)
        .send()
        .await;
    match sent {
        Ok(answer) => assert_eq!(answer.status().as_u16(), 413),
        Err(e) => assert!(e.is_request(), "{e}"),
    }
    // Nothing was kept of any of them.
    assert!(r.store.inbox(telegram::SOURCE).await.unwrap().is_empty());
    assert!(!r.store.event_seen("tg:5").await.unwrap());
    assert!(!r.store.event_seen("tg:6").await.unwrap());
    // An update whose body cannot be read: 200, skipped, nothing kept.
    // A lone surrogate escape: valid JSON to a lenient reader, not a message to teloxide.
    let unreadable = r#"{"update_id":7,"message":{"message_id":1,"date":1,"chat":{"id":71001,"type":"private","first_name":"A"},"from":{"id":71001,"is_bot":false,"first_name":"A"},"text":"bad \ud800 text"}}"#.to_string();
    assert_eq!(post("/telegram", Some(SECRET), unreadable).await, 200);
    assert_eq!(
        post("/telegram", Some(SECRET), "{not json".into()).await,
        200
    );
    assert!(r.store.inbox(telegram::SOURCE).await.unwrap().is_empty());
    assert!(!r.store.event_seen("tg:7").await.unwrap());
    // A readable one: 200 once it is in the inbox (or its turn has applied it already).
    assert_eq!(
        post("/telegram", Some(SECRET), update(8, "/fact")).await,
        200
    );
    let inbox = r.store.inbox(telegram::SOURCE).await.unwrap();
    assert!(
        inbox.iter().any(|e| e.event == "tg:8") || r.store.event_seen("tg:8").await.unwrap(),
        "answered 200 before it was kept"
    );
    r.fake.wait_for_text(71_001, "").await;
    assert!(r.fake.calls("getUpdates").is_empty(), "it polled");
    r.stop().await;
}

// Proves: pushes with a wrong secret, then with none, are refused with 401 and nothing reaches
// the inbox, the ledger or the person while the fake keeps retrying; once the webhook carries
// the right secret, the fake's next retry of the same update is taken and answered, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_or_missing_secret_is_401_and_the_retry_with_the_right_one_works() {
    let r = start().await;
    let f = &r.fake;
    let me = 72_001;
    f.set_webhook(&url(r.addr), Some("not-the-secret"));
    let id = f.send_private(me, "/start");
    let refused = |n: usize| {
        move || {
            let p: Vec<_> = f
                .pushes()
                .into_iter()
                .filter(|p| p.update_id == id)
                .collect();
            p.len() >= n && p.iter().all(|p| p.status == Some(401))
        }
    };
    wait_until("three refused pushes", refused(3)).await;
    f.set_webhook(&url(r.addr), None);
    wait_until("two more refused pushes", refused(5)).await;
    assert!(r.store.inbox(telegram::SOURCE).await.unwrap().is_empty());
    assert!(!r.store.event_seen(&format!("tg:{id}")).await.unwrap());
    assert!(f.sent_to(me).is_empty(), "answered without the secret");
    f.set_webhook(&url(r.addr), Some(SECRET));
    f.wait_for_text(me, "Welcome to lensbot").await;
    let pushes: Vec<_> = f
        .pushes()
        .into_iter()
        .filter(|p| p.update_id == id)
        .collect();
    let last = pushes.last().unwrap();
    assert_eq!(last.status, Some(200), "{pushes:?}");
    assert!(
        pushes[..pushes.len() - 1]
            .iter()
            .all(|p| p.status == Some(401))
    );
    wait_until("the update to be delivered", || f.pending() == 0).await;
    assert_eq!(count(f, me, "Welcome to lensbot"), 1);
    r.stop().await;
}

// Proves: the same update pushed twice (Telegram retrying after its 200 was lost) is answered
// 200 both times and applied once: one reply, one note, and the next note is the second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_update_pushed_twice_applies_once() {
    let r = start().await;
    let f = &r.fake;
    let me = 73_001;
    f.set_webhook(&url(r.addr), Some(SECRET));
    f.lose_answers(1);
    let id = f.send_private(me, "/note only once");
    f.wait_for_text(me, "Note saved (you have 1)").await;
    wait_until("the update to be pushed twice", || {
        f.pushes()
            .iter()
            .filter(|p| p.update_id == id && p.status == Some(200))
            .count()
            == 2
    })
    .await;
    wait_until("the update to be delivered", || f.pending() == 0).await;
    f.send_private(me, "/note the second");
    f.wait_for_text(me, "Note saved (you have 2)").await;
    assert_eq!(count(f, me, "Note saved (you have 1)"), 1, "answered once");
    let held = r
        .store
        .get_user(&format!("telegram:{me}"))
        .await
        .unwrap()
        .unwrap();
    let notes: Vec<&str> = held.notes.iter().map(|n| n.text.as_str()).collect();
    assert_eq!(notes, ["only once", "the second"]);
    r.stop().await;
}

fn lensbot() -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_lensbot"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("DISCORD_TOKEN")
        .env_remove("LENSBOT_TELEGRAM_WEBHOOK")
        .env_remove("LENSBOT_TELEGRAM_WEBHOOK_SECRET");
    c
}

/// `lensbot serve` taking Telegram's updates through its webhook on `addr`, over sled in
/// `data`, its log appended to `log`.
fn spawn_serve(fake: &FakeTelegram, data: &Path, addr: SocketAddr, log: &Path) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    lensbot()
        .args(["serve", "--data", data.to_str().unwrap()])
        .env("TELEGRAM_BOT_TOKEN", TOKEN)
        .env("TELEGRAM_API_URL", &fake.url)
        .env("LENSBOT_TELEGRAM_WEBHOOK", addr.to_string())
        .env("LENSBOT_TELEGRAM_WEBHOOK_SECRET", SECRET)
        .env("LENSBOT_TELEGRAM_THROTTLE", "off")
        .env("LENSBOT_BACKUP_KEEP", "0")
        .env("LENSBOT_HEALTH", "127.0.0.1:0")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::from(log))
        .spawn()
        .unwrap()
}

/// Runs `lensbot telegram ARGS` against the fake with the secret set: exit code, stdout,
/// stderr.
fn telegram_cli(fake: &FakeTelegram, args: &[&str], secret: Option<&str>) -> (i32, String, String) {
    let mut c = lensbot();
    c.arg("telegram")
        .args(args)
        .env("TELEGRAM_BOT_TOKEN", TOKEN)
        .env("TELEGRAM_API_URL", &fake.url);
    if let Some(s) = secret {
        c.env("LENSBOT_TELEGRAM_WEBHOOK_SECRET", s);
    }
    let out = c.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

// Proves: after the deploy step (`lensbot telegram set-webhook`), a person walks the start of a
// lens through the real `lensbot serve` taking updates by webhook: the welcome, the lens, its
// buttons and a saved reflection all arrive; serve never polls and never calls setWebhook or
// deleteWebhook itself (only the command did, once), stops cleanly on SIGTERM, and never logs
// the secret, the token or what the person wrote; every request matches the Bot API spec.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_walks_the_start_of_a_lens_through_serves_webhook() {
    let fake = FakeTelegram::start().await;
    let data = tempfile::tempdir().unwrap();
    let log = data.path().join("serve.log");
    let addr = free_addr();
    let (code, out, err) = telegram_cli(&fake, &["set-webhook", &url(addr)], Some(SECRET));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("now posts the bot's updates to"), "{out}");
    let child = spawn_serve(&fake, &data.path().join("data"), addr, &log);
    let me = 74_001;
    fake.send_private(me, "/start");
    fake.wait_for_text(me, "Welcome to lensbot").await;
    fake.to_first_question(me).await;
    fake.send_private(me, "Webhook reflection about waiting lists");
    fake.wait_for_text(me, "Saved.").await;
    // The buttons stopped spinning (answered at intake, as when polling).
    assert!(!fake.calls("answerCallbackQuery").is_empty());
    signal(&child, "-TERM");
    let (code, _) = exit(child).await;
    let logs = std::fs::read_to_string(&log).unwrap();
    assert_eq!(code, Some(0), "{logs}");
    assert!(fake.calls("getUpdates").is_empty(), "serve polled");
    assert_eq!(
        fake.calls("setWebhook").len(),
        1,
        "only the deploy step set it"
    );
    assert!(
        fake.calls("deleteWebhook").is_empty(),
        "serve removed the webhook"
    );
    assert!(logs.contains("through the webhook"), "{logs}");
    for secret in [SECRET, "WEBHOOK-TOKEN", "waiting lists"] {
        assert!(!logs.contains(secret), "{secret:?} was logged");
    }
    // Before serve listened, pushes found no connection; every answer it gave was a 200.
    let answers: Vec<Option<u16>> = fake.pushes().iter().map(|p| p.status).collect();
    assert!(
        answers.iter().all(|s| s.is_none() || *s == Some(200)),
        "{answers:?}"
    );
    crate::telegram_spec::assert_calls_match(&fake);
}

// Proves: the deploy commands make the Bot API calls they name, as the spec says:
// `set-webhook` sends the URL, the secret from the settings, the update kinds lensbot handles
// and the options given; `webhook-info` says in words where updates go, how many wait and the
// last delivery error (the fake's `WebhookInfo` itself matches the spec); `delete-webhook`
// removes it, after which `webhook-info` says the bot polls; `set-webhook` without a secret, or
// with one the Bot API would refuse, fails with a message and calls nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_delete_and_info_make_the_calls_the_spec_describes() {
    let fake = FakeTelegram::start().await;
    let (code, _, err) = telegram_cli(
        &fake,
        &["set-webhook", "https://bot.example.org/telegram"],
        None,
    );
    assert_ne!(code, 0);
    assert!(err.contains("no webhook secret"), "{err}");
    let (code, _, err) = telegram_cli(
        &fake,
        &["set-webhook", "https://bot.example.org/telegram"],
        Some("has spaces"),
    );
    assert_ne!(code, 0);
    assert!(err.contains("A-Z, a-z, 0-9, _ and -"), "{err}");
    assert!(!err.contains("has spaces"), "the secret was printed");
    assert!(fake.calls("setWebhook").is_empty());
    // A webhook nobody listens on: deliveries fail, and webhook-info says so.
    let nowhere = url(free_addr());
    let (code, out, err) = telegram_cli(
        &fake,
        &[
            "set-webhook",
            &nowhere,
            "--max-connections",
            "5",
            "--drop-pending-updates",
        ],
        Some(SECRET),
    );
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains(SECRET) && !err.contains(SECRET));
    let set = &fake.calls("setWebhook")[0].body;
    assert_eq!(set["url"], json!(nowhere));
    assert_eq!(set["secret_token"], json!(SECRET));
    assert_eq!(set["max_connections"], json!(5));
    assert_eq!(set["drop_pending_updates"], json!(true));
    assert_eq!(
        set["allowed_updates"],
        json!(["message", "callback_query", "my_chat_member"])
    );
    fake.send_private(75_001, "/fact");
    wait_until("a failed delivery", || !fake.pushes().is_empty()).await;
    let (code, out, err) = telegram_cli(&fake, &["webhook-info"], None);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&format!("Webhook: {nowhere}")), "{out}");
    assert!(out.contains("Updates waiting to be delivered: 1"), "{out}");
    assert!(
        out.contains("Most recent delivery error: Connection failed"),
        "{out}"
    );
    assert!(out.contains("Connections at most: 5"), "{out}");
    // Polling is refused while the webhook is set, as Telegram refuses it.
    let api = lensbot::telegram::api::Api::new(&fake.url, TOKEN);
    assert!(matches!(
        api.get_updates(0, 0).await,
        Err(lensbot::telegram::api::Failure::Refused(409, _))
    ));
    let (code, _, err) = telegram_cli(&fake, &["delete-webhook"], None);
    assert_eq!(code, 0, "{err}");
    let (_, out, _) = telegram_cli(&fake, &["webhook-info"], None);
    assert!(out.contains("Webhook: none"), "{out}");
    assert!(
        out.contains("Updates waiting to be delivered: 1"),
        "kept: {out}"
    );
    assert_eq!(fake.calls("deleteWebhook")[0].body, json!({}));
    crate::telegram_spec::assert_calls_match(&fake);
    // What the fake answered getWebhookInfo is a WebhookInfo as the spec describes it.
    fake.set_webhook(&nowhere, Some(SECRET));
    let info = webhook::webhook_info(&api).await.unwrap();
    let problems = crate::telegram_spec::value_problems("WebhookInfo", &info);
    assert!(problems.is_empty(), "{problems:?}");
}

// Proves: `serve --check --online` says when Telegram's webhook disagrees with the settings: a
// webhook configured but none registered, or one registered while the settings poll (which
// Telegram would refuse), each with exit 1 and what to run; agreeing settings pass.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_online_says_when_the_webhook_and_the_settings_disagree() {
    let fake = FakeTelegram::start().await;
    let data = tempfile::tempdir().unwrap();
    let check = |webhook: bool| {
        let mut c = lensbot();
        c.args([
            "serve",
            "--check",
            "--online",
            "--data",
            data.path().to_str().unwrap(),
        ])
        .env("TELEGRAM_BOT_TOKEN", TOKEN)
        .env("TELEGRAM_API_URL", &fake.url);
        if webhook {
            c.env("LENSBOT_TELEGRAM_WEBHOOK", "127.0.0.1:8443")
                .env("LENSBOT_TELEGRAM_WEBHOOK_SECRET", SECRET);
        }
        let out = c.output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (code, out) = check(false);
    assert_eq!(code, Some(0), "{out}");
    let (code, out) = check(true);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("no webhook is registered"), "{out}");
    assert!(out.contains("lensbot telegram set-webhook URL"), "{out}");
    fake.set_webhook("https://bot.example.org/telegram", Some(SECRET));
    let (code, out) = check(true);
    assert_eq!(code, Some(0), "{out}");
    let (code, out) = check(false);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("so Telegram refuses polling"), "{out}");
    assert!(!out.contains(SECRET), "{out}");
    assert!(fake.calls("setWebhook").is_empty() && fake.calls("deleteWebhook").is_empty());
    crate::telegram_spec::assert_calls_match(&fake);
}

// Proves: while the fake pushes a stream of notes from many people, SIGKILLs of `lensbot serve`
// followed by a restart lose nothing it answered 200 to (every such update's note is held and
// answered), apply nothing twice (each person's notes once each, in order), and in the end
// answer every note; a reply repeats only when a kill fell between sending it and marking it
// sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_under_pushed_updates_loses_nothing_answered_200_and_applies_nothing_twice() {
    let (people, notes, kills) = (10_i64, 25_usize, 6_u64);
    let fake = FakeTelegram::start().await;
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let log = tmp.path().join("serve.log");
    let addr = free_addr();
    fake.set_webhook(&url(addr), Some(SECRET));
    fake.slow_sends(Duration::from_millis(3));
    let who: Vec<i64> = (0..people).map(|p| 76_000 + p).collect();
    let feeder = {
        let (fake, who) = (fake.clone(), who.clone());
        tokio::spawn(async move {
            let mut sent = HashMap::new();
            for k in 0..notes {
                for p in &who {
                    sent.insert(
                        fake.send_private(*p, &format!("/note storm {p} {k}")),
                        (*p, k),
                    );
                }
                tokio::time::sleep(Duration::from_millis(120)).await;
            }
            sent
        })
    };
    let mut x: u64 = 0x51f1_5eed;
    for _ in 0..kills {
        let child = spawn_serve(&fake, &data, addr, &log);
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        tokio::time::sleep(Duration::from_millis(250 + (x >> 33) % 450)).await;
        signal(&child, "-KILL");
        exit(child).await;
    }
    let sent = feeder.await.unwrap();
    // Answered 200 by a process that was then killed.
    let confirmed: Vec<i64> = fake
        .pushes()
        .iter()
        .filter(|p| p.delivered)
        .map(|p| p.update_id)
        .collect();
    let started = fake.calls("getMe").len();
    let child = spawn_serve(&fake, &data, addr, &log);
    let deadline = Instant::now() + Duration::from_secs(120);
    // Started (and listening for SIGTERM) before it is asked to stop.
    while fake.calls("getMe").len() == started {
        assert!(Instant::now() < deadline, "the last process did not start");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let last = format!("Note saved (you have {notes})");
    while who.iter().any(|p| count(&fake, *p, &last) == 0) {
        assert!(Instant::now() < deadline, "not every note was answered");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    signal(&child, "-TERM");
    let (code, _) = exit(child).await;
    let logs = std::fs::read_to_string(&log).unwrap_or_default();
    let tail: String = logs.lines().rev().take(15).collect::<Vec<_>>().join("\n");
    assert_eq!(code, Some(0), "{tail}");
    let store = SledStore::open(&data).unwrap();
    // Every note sent is held once, in order: those answered 200 by a process then killed among
    // them (each of those is one of the notes checked here).
    let repeated = notes_kept(&store, &fake, &who, "storm", notes).await;
    for id in &confirmed {
        let (_, k) = sent[id];
        assert!(k < notes, "update {id} is not among the notes checked");
    }
    assert!(
        store.outbox().await.unwrap().is_empty(),
        "the outbox drained"
    );
    let retried = fake.pushes().iter().filter(|p| !p.delivered).count();
    eprintln!(
        "webhook storm: {kills} kills, {} updates, {} answered 200 by processes then killed, {retried} pushes retried, {repeated} replies repeated",
        sent.len(),
        confirmed.len()
    );
    assert!(
        !confirmed.is_empty(),
        "no kill landed after an update was taken"
    );
    assert!(retried > 0, "no kill landed while updates were waiting");
    assert!(repeated as u64 <= kills * people as u64);
}

// Proves: when the disk fills under `lensbot serve` taking the webhook, an update that cannot be
// kept is answered 503 (never 200), so it stays with Telegram, and the process exits 75; after
// space returns, a restart takes the retried update and answers it once, nothing earlier lost.
// Needs root to mount a tmpfs; if it cannot, it says why and returns.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_answers_503_and_the_update_waits_at_telegram() {
    let tmp = tempfile::tempdir().unwrap();
    let mnt = tmp.path().join("disk");
    let disk = match Tmpfs::mount(&mnt, "16m") {
        Ok(d) => d,
        Err(why) => {
            eprintln!("SKIPPED a_full_disk_answers_503_and_the_update_waits_at_telegram: {why}");
            return;
        }
    };
    let data = mnt.join("data");
    let log = tmp.path().join("serve.log");
    let fake = FakeTelegram::start().await;
    let addr = free_addr();
    fake.set_webhook(&url(addr), Some(SECRET));
    let alice = 77_001_i64;
    let mut child = spawn_serve(&fake, &data, addr, &log);
    fake.send_private(alice, "/note alpha");
    fake.wait_for_text(alice, "Note saved (you have 1)").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = fake.sent_to(alice).len();
    fill(&mnt.join("filler"));
    let long = format!("/note {}", "long answer ".repeat(320));
    let update = fake.send_private(alice, &long);
    let code = exit_within(&mut child, Duration::from_secs(40)).await;
    let logs = std::fs::read_to_string(&log).unwrap_or_default();
    assert_eq!(code, Some(75), "exit code 75 when the store fails:\n{logs}");
    let pushes: Vec<_> = fake
        .pushes()
        .into_iter()
        .filter(|p| p.update_id == update)
        .collect();
    assert!(
        pushes.iter().all(|p| !p.delivered),
        "answered 2xx without keeping it: {pushes:?}"
    );
    assert!(
        pushes.iter().any(|p| p.status == Some(503)),
        "no 503: {pushes:?}"
    );
    assert_eq!(fake.pending(), 1, "the update waits at Telegram");
    let after: Vec<String> = fake.sent_to(alice)[before..]
        .iter()
        .map(|m| m["text"].as_str().unwrap_or("").to_lowercase())
        .collect();
    assert!(
        after.iter().all(|t| !t.contains("saved")),
        "a false saved: {after:?}"
    );
    eprintln!(
        "full disk under the webhook: exit {code:?}; pushes of the update: {:?}",
        pushes.iter().map(|p| p.status).collect::<Vec<_>>()
    );
    std::fs::remove_file(mnt.join("filler")).unwrap();
    let mut child = spawn_serve(&fake, &data, addr, &log);
    fake.wait_for_text(alice, "Note saved (you have 2)").await;
    signal(&child, "-TERM");
    assert_eq!(
        exit_within(&mut child, Duration::from_secs(15)).await,
        Some(0)
    );
    assert_eq!(
        count(&fake, alice, "Note saved (you have 2)"),
        1,
        "answered once"
    );
    let store = SledStore::open(&data).unwrap();
    let held = store
        .get_user(&format!("telegram:{alice}"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(held.notes.len(), 2);
    assert_eq!(held.notes[0].text, "alpha");
    drop(store);
    drop(disk);
}
