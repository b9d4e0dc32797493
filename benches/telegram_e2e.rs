//! End to end on Telegram: the real `lensbot telegram` binary against a fake Bot API on
//! 127.0.0.1 serving a scripted lens conversation from many people at once, and the same
//! workload against a peer written the popular Python way (python-telegram-bot's
//! `ConversationHandler` with `PicklePersistence`, `scripts/peer/ptb_peer.py`).
//!
//! Each simulated person sends their next message as soon as the bot has answered the last
//! (a closed loop), so the figures are what the bot sustains: updates per second over the
//! whole run, and reply latency from the moment an update is available to `getUpdates` to the
//! bot's `sendMessage` for that chat. lensbot runs with Telegram's rate limits turned off
//! (`LENSBOT_TELEGRAM_THROTTLE=off`): with them on, one chat gets about one message a second,
//! which would measure the limiter, not the bot.
//!
//! Usage (scripts/bench runs it): `cargo bench --bench telegram_e2e -- [--users 10,100,200]
//! [--runs N] [--peer PYTHON] [--peer-users N] [--with-limiter N]`, with the release binary
//! built first (`--with-limiter N` adds a run of N people with Telegram's rate limiter on). Prints a
//! Markdown table: medians over the runs. `--burst N` adds a run of N calm people (limiter on,
//! 1.5 s between messages) while one other person sends 40 messages at once and a group gets
//! 30 commands at once: the calm people's latency under a burst.

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::Notify;

/// The conversation each person has (typed text only, so both bots see the same updates).
const SCRIPT: [&str; 7] = [
    "/start",
    "/lens 1",
    "1",
    "next",
    "My grandmother could not get to her appointments without a car.",
    "I would hope to see clinics open in the evening for people on shifts.",
    "/progress",
];

const TOKEN: &str = "123456:BENCH-TOKEN";

struct Person {
    step: usize,
    outstanding: bool,
    released: Instant,
}

#[derive(Default)]
struct State {
    queue: VecDeque<Value>,
    next_update: i64,
    people: Vec<Person>,
    latencies: Vec<Duration>,
    done: usize,
    replies: u64,
    unexpected: u64,
    polled: bool,
    finished: Option<Instant>,
    /// Replies to the burst's person and group (not part of the measured conversations).
    burst_replies: u64,
}

/// The person who sends 40 messages at once, and the group that gets 30 commands at once.
const BURST_PERSON: i64 = 900_000;
const BURST_GROUP: i64 = -100_900_000;

#[derive(Clone)]
struct Fake {
    url: String,
    /// How long a person waits after a reply before sending their next message.
    think: Duration,
    st: Arc<Mutex<State>>,
    wake: Arc<Notify>,
    all_done: Arc<Notify>,
}

fn update(id: i64, user: i64, text: &str) -> Value {
    let mut msg = json!({"message_id": id, "date": 1767600000,
        "chat": {"id": user, "type": "private", "first_name": "Bench"},
        "from": {"id": user, "is_bot": false, "first_name": "Bench"}, "text": text});
    if text.starts_with('/') {
        let len = text.split_whitespace().next().unwrap_or(text).len();
        msg["entities"] = json!([{"type": "bot_command", "offset": 0, "length": len}]);
    }
    json!({"update_id": id, "message": msg})
}

/// Reads a request's parameters: JSON (teloxide) or a form (python-telegram-bot).
fn params(bytes: &[u8]) -> Value {
    if bytes.first() == Some(&b'{') {
        return serde_json::from_slice(bytes).unwrap_or(Value::Null);
    }
    let text = String::from_utf8_lossy(bytes);
    let mut out = serde_json::Map::new();
    for pair in text.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let v = decode(v);
        let value = serde_json::from_str(&v).unwrap_or(Value::String(v));
        out.insert(decode(k), value);
    }
    Value::Object(out)
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).to_string()
}

fn int(v: &Value) -> i64 {
    v.as_i64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        .unwrap_or(0)
}

fn ok(result: Value) -> Value {
    json!({"ok": true, "result": result})
}

impl Fake {
    async fn start(people: usize, think: Duration) -> Fake {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let now = Instant::now();
        let fake = Fake {
            url: format!("http://{}", listener.local_addr().unwrap()),
            think,
            st: Arc::new(Mutex::new(State {
                next_update: 1,
                people: (0..people)
                    .map(|_| Person {
                        step: 0,
                        outstanding: false,
                        released: now,
                    })
                    .collect(),
                ..State::default()
            })),
            wake: Arc::new(Notify::new()),
            all_done: Arc::new(Notify::new()),
        };
        let f = fake.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let _ = stream.set_nodelay(true);
                let f = f.clone();
                tokio::spawn(async move {
                    let svc = service_fn(move |req| {
                        let f = f.clone();
                        async move { Ok::<_, hyper::Error>(f.serve(req).await) }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        fake
    }

    async fn serve(&self, req: Request<hyper::body::Incoming>) -> Response<Full<Bytes>> {
        let path = req.uri().path().to_string();
        let method = path.rsplit('/').next().unwrap_or_default().to_lowercase();
        let bytes = req
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let p = params(&bytes);
        let reply = match method.as_str() {
            "getme" => ok(json!({"id": 42, "is_bot": true, "first_name": "lensbot",
                "username": "lensbot_bench_bot", "can_join_groups": true,
                "can_read_all_group_messages": false, "supports_inline_queries": false,
                "can_connect_to_business": false, "has_main_web_app": false})),
            "getupdates" => self.get_updates(&p).await,
            "sendmessage" => self.send_message(&p),
            "setmycommands" | "deletewebhook" | "answercallbackquery" | "setmydescription" => {
                ok(json!(true))
            }
            "editmessagereplymarkup" => ok(json!(true)),
            _ => json!({"ok": false, "error_code": 404, "description": "Not Found"}),
        };
        Response::builder()
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(reply.to_string())))
            .unwrap()
    }

    async fn get_updates(&self, p: &Value) -> Value {
        let offset = int(&p["offset"]);
        let timeout = Duration::from_secs(int(&p["timeout"]).clamp(0, 1) as u64);
        let deadline = Instant::now() + timeout;
        loop {
            let notified = self.wake.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut st = self.st.lock().unwrap();
                st.polled = true;
                while st
                    .queue
                    .front()
                    .is_some_and(|u| u["update_id"].as_i64().unwrap_or(0) < offset)
                {
                    st.queue.pop_front();
                }
                if !st.queue.is_empty() {
                    let batch: Vec<Value> = st.queue.iter().take(100).cloned().collect();
                    return ok(Value::Array(batch));
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return ok(json!([]));
            }
            let _ = tokio::time::timeout(left, notified).await;
        }
    }

    fn send_message(&self, p: &Value) -> Value {
        let chat = int(&p["chat_id"]);
        let now = Instant::now();
        let mut st = self.st.lock().unwrap();
        st.replies += 1;
        if chat == BURST_PERSON || chat == BURST_GROUP {
            st.burst_replies += 1;
            return ok(json!({"message_id": st.replies, "date": 1767600000,
                "chat": {"id": chat, "type": "private", "first_name": "Bench"}, "text": ""}));
        }
        let idx = (chat - 1) as usize;
        let text = p["text"].as_str().unwrap_or("").to_string();
        let reply = json!({"message_id": st.replies, "date": 1767600000,
            "chat": {"id": chat, "type": "private", "first_name": "Bench"}, "text": text});
        let Some(person) = st.people.get_mut(idx) else {
            st.unexpected += 1;
            return ok(reply);
        };
        if !person.outstanding {
            st.unexpected += 1;
            return ok(reply);
        }
        person.outstanding = false;
        let latency = now - person.released;
        person.step += 1;
        let next = person.step;
        st.latencies.push(latency);
        if next < SCRIPT.len() {
            if self.think.is_zero() {
                self.release(&mut st, idx, now);
            } else {
                let me = self.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(me.think).await;
                    let mut st = me.st.lock().unwrap();
                    me.release(&mut st, idx, Instant::now());
                });
            }
        } else {
            st.done += 1;
            if st.done == st.people.len() {
                st.finished = Some(now);
                self.all_done.notify_one();
            }
        }
        ok(reply)
    }

    /// Queues the burst: 40 notes from one person, 30 `/fact` commands in a group.
    fn burst(&self) {
        let mut st = self.st.lock().unwrap();
        for i in 0..40 {
            let id = st.next_update;
            st.next_update += 1;
            st.queue
                .push_back(update(id, BURST_PERSON, &format!("/note burst {i}")));
        }
        for _ in 0..30 {
            let id = st.next_update;
            st.next_update += 1;
            let mut u = update(id, BURST_PERSON + 1, "/fact");
            u["message"]["chat"] =
                json!({"id": BURST_GROUP, "type": "supergroup", "title": "Bench"});
            st.queue.push_back(u);
        }
        self.wake.notify_waiters();
    }

    fn release(&self, st: &mut State, idx: usize, now: Instant) {
        let id = st.next_update;
        st.next_update += 1;
        let step = st.people[idx].step;
        st.queue.push_back(update(id, idx as i64 + 1, SCRIPT[step]));
        st.people[idx].outstanding = true;
        st.people[idx].released = now;
        self.wake.notify_waiters();
    }
}

/// One measured run.
struct RunResult {
    per_sec: f64,
    p50: Duration,
    p99: Duration,
    unexpected: u64,
    peak_rss_kib: u64,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn peak_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

fn stop(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

enum Bot<'a> {
    /// The binary, and whether Telegram's rate limiter is on.
    Lensbot(&'a Path, bool),
    Peer(&'a str),
}

async fn run_once(
    bot: &Bot<'_>,
    people: usize,
    think: Duration,
    burst: bool,
) -> Result<RunResult, String> {
    let fake = Fake::start(people, think).await;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut child = match bot {
        Bot::Lensbot(bin, limiter) => Command::new(bin)
            .args(["telegram", "--data"])
            .arg(dir.path())
            .env("TELEGRAM_BOT_TOKEN", TOKEN)
            .env("TELEGRAM_API_URL", &fake.url)
            .env(
                "LENSBOT_TELEGRAM_THROTTLE",
                if *limiter { "on" } else { "off" },
            )
            .env("LENSBOT_DIALOGUES", root.join("dialogues"))
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn(),
        Bot::Peer(python) => Command::new(python)
            .arg(root.join("scripts/peer/ptb_peer.py"))
            .env("PEER_API_URL", &fake.url)
            .env("PEER_TOKEN", TOKEN)
            .env("PEER_DATA", dir.path().join("peer.pickle"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn(),
    }
    .map_err(|e| format!("could not start the bot: {e}"))?;
    // Wait until it polls.
    let ready = Instant::now() + Duration::from_secs(60);
    loop {
        if fake.st.lock().unwrap().polled {
            break;
        }
        if Instant::now() > ready {
            stop(&mut child);
            return Err("the bot never called getUpdates".into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    if burst {
        fake.burst();
    }
    let start = Instant::now();
    {
        let mut st = fake.st.lock().unwrap();
        for i in 0..people {
            fake.release(&mut st, i, start);
        }
    }
    let finished = tokio::time::timeout(Duration::from_secs(300), fake.all_done.notified()).await;
    let rss = peak_rss_kib(child.id());
    stop(&mut child);
    if finished.is_err() {
        let st = fake.st.lock().unwrap();
        return Err(format!(
            "timed out: {} of {people} people finished, {} replies",
            st.done, st.replies
        ));
    }
    let st = fake.st.lock().unwrap();
    let elapsed = st.finished.unwrap_or_else(Instant::now) - start;
    let mut lat = st.latencies.clone();
    lat.sort();
    Ok(RunResult {
        per_sec: lat.len() as f64 / elapsed.as_secs_f64(),
        p50: percentile(&lat, 0.5),
        p99: percentile(&lat, 0.99),
        unexpected: st.unexpected,
        peak_rss_kib: rss,
    })
}

fn median<T: Copy + PartialOrd>(mut v: Vec<T>) -> T {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    v[v.len() / 2]
}

struct Summary {
    per_sec: f64,
    p50: Duration,
    p99: Duration,
    unexpected: u64,
    rss_mib: f64,
}

async fn measure(
    bot: &Bot<'_>,
    people: usize,
    runs: usize,
    think: Duration,
    burst: bool,
) -> Result<Summary, String> {
    let mut results = Vec::new();
    for _ in 0..runs {
        results.push(run_once(bot, people, think, burst).await?);
    }
    Ok(Summary {
        per_sec: median(results.iter().map(|r| r.per_sec).collect()),
        p50: median(results.iter().map(|r| r.p50).collect()),
        p99: median(results.iter().map(|r| r.p99).collect()),
        unexpected: results.iter().map(|r| r.unexpected).sum(),
        rss_mib: median(results.iter().map(|r| r.peak_rss_kib).collect()) as f64 / 1024.0,
    })
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let crowds: Vec<usize> = arg("--users")
        .unwrap_or_else(|| "10,100,200".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let runs: usize = arg("--runs").and_then(|s| s.parse().ok()).unwrap_or(3);
    let peer = arg("--peer");
    let peer_people: usize = arg("--peer-users")
        .and_then(|s| s.parse().ok())
        .unwrap_or(100);
    let bin = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/release/lensbot");
    if !bin.exists() {
        eprintln!("build the release binary first: cargo build --release");
        std::process::exit(2);
    }
    // The fake gets one thread; the bots get the rest of the machine.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    println!("| bot | people at once | updates | updates/s | reply p50 | reply p99 | peak RSS |");
    println!("|---|---|---|---|---|---|---|");
    let mut at_peer_size = None;
    for &people in &crowds {
        match rt.block_on(measure(
            &Bot::Lensbot(&bin, false),
            people,
            runs,
            Duration::ZERO,
            false,
        )) {
            Ok(s) => {
                println!(
                    "| lensbot | {people} | {} | {:.0} | {} | {} | {:.1} MiB |",
                    people * SCRIPT.len(),
                    s.per_sec,
                    ms(s.p50),
                    ms(s.p99),
                    s.rss_mib
                );
                if s.unexpected > 0 {
                    println!(
                        "| (lensbot sent {} replies beyond one per update) | | | | | | |",
                        s.unexpected
                    );
                }
                if people == peer_people {
                    at_peer_size = Some(s);
                }
            }
            Err(e) => {
                println!("| lensbot | {people} | failed: {e} | | | | |");
                std::process::exit(1);
            }
        }
    }
    // People who read for 1.5 s before answering, as real ones do: the limiter's one message a
    // second per chat is then not the bottleneck, and what shows is its cost (and, with a
    // burst, whether others' backlog reaches them).
    let limited = [
        (
            "--with-limiter",
            false,
            "lensbot, rate limiter on (as in production), people waiting 1.5 s before each message",
        ),
        (
            "--burst",
            true,
            "lensbot, rate limiter on, calm people (1.5 s between messages) while one person sends 40 at once and a group gets 30 commands",
        ),
    ];
    for (flag, burst, label) in limited {
        let Some(people) = arg(flag).and_then(|s| s.parse::<usize>().ok()) else {
            continue;
        };
        let think = Duration::from_millis(1500);
        match rt.block_on(measure(
            &Bot::Lensbot(&bin, true),
            people,
            runs,
            think,
            burst,
        )) {
            Ok(s) => println!(
                "| {label} | {people} | {} | {:.0} | {} | {} | {:.1} MiB |",
                people * SCRIPT.len(),
                s.per_sec,
                ms(s.p50),
                ms(s.p99),
                s.rss_mib
            ),
            Err(e) => println!("| {label} | {people} | failed: {e} | | | | |"),
        }
    }
    let Some(python) = peer else { return };
    let lens = match at_peer_size {
        Some(s) => s,
        None => match rt.block_on(measure(
            &Bot::Lensbot(&bin, false),
            peer_people,
            runs,
            Duration::ZERO,
            false,
        )) {
            Ok(s) => s,
            Err(e) => {
                println!("| lensbot | {peer_people} | failed: {e} | | | | |");
                std::process::exit(1);
            }
        },
    };
    match rt.block_on(measure(
        &Bot::Peer(&python),
        peer_people,
        runs,
        Duration::ZERO,
        false,
    )) {
        Ok(p) => {
            println!(
                "| peer: python-telegram-bot, ConversationHandler + PicklePersistence | {peer_people} | {} | {:.0} | {} | {} | {:.1} MiB |",
                peer_people * SCRIPT.len(),
                p.per_sec,
                ms(p.p50),
                ms(p.p99),
                p.rss_mib
            );
            if p.unexpected > 0 {
                println!(
                    "| (the peer sent {} replies beyond one per update) | | | | | | |",
                    p.unexpected
                );
            }
            println!(
                "| **lensbot ÷ peer** | {peer_people} | | **{:.1}×** | {:.2}× | {:.2}× | {:.2}× |",
                lens.per_sec / p.per_sec,
                lens.p50.as_secs_f64() / p.p50.as_secs_f64().max(1e-9),
                lens.p99.as_secs_f64() / p.p99.as_secs_f64().max(1e-9),
                lens.rss_mib / p.rss_mib.max(1e-9)
            );
        }
        Err(e) => println!("| peer | {peer_people} | failed: {e} | | | | |"),
    }
}
