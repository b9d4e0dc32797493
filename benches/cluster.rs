//! Durable updates per second through Telegram webhooks: one `lensbot serve` process on sled,
//! then one, two and three processes over one PostgreSQL, in the same run (BENCHMARKS.md,
//! "Several processes").
//!
//! Each simulated person sends `/note …` to a webhook and sends the next one as soon as the
//! bot's reply reaches the fake Bot API (a closed loop), so the figures are what the processes
//! sustain together. Updates are spread over the processes request by request (round robin,
//! as a load balancer does), so one person's turns land on every process and are held across
//! them in the database; every reply goes out through the one process elected to send.
//! Latency is from the POST to the reply's `sendMessage`. Telegram's rate limits are off
//! (`LENSBOT_TELEGRAM_THROTTLE=off`): with them on, one chat gets about one message a second,
//! which would measure the limiter. On a two-core machine the processes and PostgreSQL share
//! the same two cores, so more processes cannot add capacity here; the run shows the cost of
//! the cross-process path (holds, notifications, one sender) rather than a bigger machine's
//! scaling.
//!
//! Usage: `cargo build --release && scripts/with-postgres cargo bench --bench cluster --
//! [--people 50] [--seconds 10] [--runs 1]`. Prints one line per configuration and run:
//! `store processes answers_per_sec p50_ms p99_ms`.

#[path = "common/postgres.rs"]
mod postgres;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::Notify;

const TOKEN: &str = "123456:BENCH-TOKEN";
const SECRET: &str = "bench-secret";

/// The fake Bot API: answers what `serve` asks at start, and records each reply's arrival.
#[derive(Clone, Default)]
struct Fake {
    /// Replies per chat so far.
    replies: Arc<Mutex<HashMap<i64, u64>>>,
    arrived: Arc<Notify>,
}

impl Fake {
    async fn start(&self) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let me = self.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let _ = stream.set_nodelay(true);
                let me = me.clone();
                tokio::spawn(async move {
                    let svc = service_fn(move |req| {
                        let me = me.clone();
                        async move { Ok::<_, hyper::Error>(me.serve(req).await) }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        url
    }

    async fn serve(&self, req: Request<hyper::body::Incoming>) -> Response<Full<Bytes>> {
        let method = req
            .uri()
            .path()
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_lowercase(); // method names are case-insensitive (teloxide asks for `GetMe`)
        let bytes = req
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        let result = match method.as_str() {
            "getme" => json!({"id": 42, "is_bot": true, "first_name": "lensbot",
                "username": "lensbot_bench_bot", "can_join_groups": true,
                "can_read_all_group_messages": false, "supports_inline_queries": false,
                "can_connect_to_business": false, "has_main_web_app": false}),
            "getupdates" => {
                // Webhook mode never polls; a long wait if it did.
                tokio::time::sleep(Duration::from_secs(1)).await;
                json!([])
            }
            "sendmessage" => {
                let chat = body["chat_id"].as_i64().unwrap_or(0);
                *self.replies.lock().unwrap().entry(chat).or_default() += 1;
                self.arrived.notify_waiters();
                json!({"message_id": 1, "date": 1767600000,
                    "chat": {"id": chat, "type": "private", "first_name": "Bench"}, "text": ""})
            }
            _ => json!(true),
        };
        let out = json!({"ok": true, "result": result}).to_string();
        Response::builder()
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(out)))
            .unwrap()
    }

    fn replies(&self, chat: i64) -> u64 {
        self.replies
            .lock()
            .unwrap()
            .get(&chat)
            .copied()
            .unwrap_or(0)
    }
}

/// A free port on 127.0.0.1.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One `lensbot serve` in webhook mode; its webhook address.
fn serve(bin: &Path, api: &str, data: &Path, store: Option<&str>, key: &Path) -> (Child, String) {
    let (hook, health) = (free_port(), free_port());
    std::fs::create_dir_all(data).unwrap();
    let mut c = Command::new(bin);
    c.arg("serve")
        .env_remove("DISCORD_TOKEN")
        .env("TELEGRAM_BOT_TOKEN", TOKEN)
        .env("TELEGRAM_API_URL", api)
        .env("LENSBOT_TELEGRAM_WEBHOOK", format!("127.0.0.1:{hook}"))
        .env("LENSBOT_TELEGRAM_WEBHOOK_SECRET", SECRET)
        .env("LENSBOT_TELEGRAM_THROTTLE", "off")
        .env("LENSBOT_DATA", data)
        .env("LENSBOT_STORE_KEY_FILE", key)
        .env("LENSBOT_HEALTH", format!("127.0.0.1:{health}"))
        .env("LENSBOT_BACKUP_KEEP", "0")
        .env("LENSBOT_QUIET_HOURS", "off")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::from(
            std::fs::File::create(data.with_extension("log")).unwrap(),
        ));
    match store {
        Some(url) => c.env("LENSBOT_STORE", url),
        None => c.env_remove("LENSBOT_STORE"),
    };
    (
        c.spawn().unwrap(),
        format!("http://127.0.0.1:{hook}/telegram"),
    )
}

fn update(id: i64, user: i64, text: &str) -> Value {
    let len = text.split_whitespace().next().unwrap_or(text).len();
    json!({"update_id": id, "message": {"message_id": id, "date": 1767600000,
        "chat": {"id": user, "type": "private", "first_name": "Bench"},
        "from": {"id": user, "is_bot": false, "first_name": "Bench"}, "text": text,
        "entities": [{"type": "bot_command", "offset": 0, "length": len}]}})
}

/// POSTs an update to a webhook as Telegram does; true on a 2xx.
async fn push(client: &reqwest::Client, hook: &str, body: &Value) -> bool {
    client
        .post(hook)
        .header("X-Telegram-Bot-Api-Secret-Token", SECRET)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .map(|r| r.status().is_success())
        .unwrap_or(false)
}

/// One configuration: `hooks` served by running processes. Returns answers per second and
/// the latencies of the measured window.
async fn run(fake: &Fake, hooks: &[String], people: usize, seconds: u64) -> (f64, Vec<Duration>) {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()
        .unwrap();
    // Every process answering its webhook (a person of its own, once).
    for (i, hook) in hooks.iter().enumerate() {
        let user = 9_000_000 + i as i64;
        let deadline = Instant::now() + Duration::from_secs(60);
        while !push(&client, hook, &update(1_000_000 + i as i64, user, "/help")).await {
            assert!(Instant::now() < deadline, "{hook} never answered");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        while fake.replies(user) == 0 {
            assert!(Instant::now() < deadline, "no reply through {hook}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let next_id = Arc::new(std::sync::atomic::AtomicI64::new(10_000_000));
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let answered = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let start = Instant::now();
    let warm = Duration::from_secs(2);
    let end = start + warm + Duration::from_secs(seconds);
    let mut tasks = tokio::task::JoinSet::new();
    for p in 0..people {
        let (fake, client, hooks) = (fake.clone(), client.clone(), hooks.to_vec());
        let (next_id, latencies, answered) = (next_id.clone(), latencies.clone(), answered.clone());
        tasks.spawn(async move {
            let user = 7_000_000 + p as i64;
            let mut k = 0u64;
            while Instant::now() < end {
                let id = next_id.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let hook = &hooks[id as usize % hooks.len()];
                let before = fake.replies(user);
                let sent = Instant::now();
                let body = update(id, user, &format!("/note bench {p} {k}"));
                while !push(&client, hook, &body).await {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                loop {
                    let arrived = fake.arrived.notified();
                    if fake.replies(user) > before {
                        break;
                    }
                    let _ = tokio::time::timeout(Duration::from_millis(50), arrived).await;
                }
                let now = Instant::now();
                if sent > start + warm && now < end {
                    latencies.lock().unwrap().push(now - sent);
                    answered.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                k += 1;
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    let n = answered.load(std::sync::atomic::Ordering::Relaxed);
    let lat = std::mem::take(&mut *latencies.lock().unwrap());
    (n as f64 / seconds as f64, lat)
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1).cloned())
    };
    let people: usize = arg("--people").and_then(|s| s.parse().ok()).unwrap_or(50);
    let seconds: u64 = arg("--seconds").and_then(|s| s.parse().ok()).unwrap_or(10);
    let runs: usize = arg("--runs").and_then(|s| s.parse().ok()).unwrap_or(1);
    let Ok(base) = std::env::var("LENSBOT_TEST_POSTGRES") else {
        eprintln!("LENSBOT_TEST_POSTGRES is not set: run this under scripts/with-postgres");
        std::process::exit(2);
    };
    let bin = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/release/lensbot");
    assert!(
        bin.exists(),
        "build the release binary first: cargo build --release"
    );
    // Kept after the run: each process's log is DIR/rNpM.log.
    let dir = std::env::temp_dir().join(format!("lensbot-cluster-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    eprintln!("logs in {}", dir.display());
    let key = dir.join("store.key");
    std::fs::write(&key, format!("{}\n", "07".repeat(32))).unwrap();
    println!("store processes answers_per_sec p50_ms p99_ms");
    let mut n = 0;
    for run_no in 0..runs {
        for (store, processes) in [
            ("sled", 1),
            ("postgres", 1),
            ("postgres", 2),
            ("postgres", 3),
        ] {
            n += 1;
            let fake = Fake::default();
            let api = fake.start().await;
            let url = match store {
                "postgres" => {
                    let name = format!("bench_cluster_{}_{n}", std::process::id());
                    Some(postgres::fresh_database(&base, &name).await)
                }
                _ => None,
            };
            let mut children = Vec::new();
            let mut hooks = Vec::new();
            for i in 0..processes {
                let data = dir.join(format!("r{n}p{i}"));
                let (child, hook) = serve(&bin, &api, &data, url.as_deref(), &key);
                children.push(child);
                hooks.push(hook);
            }
            let (rate, mut lat) = run(&fake, &hooks, people, seconds).await;
            lat.sort();
            println!(
                "{store} {processes} {rate:.0} {:.1} {:.1}   (run {})",
                percentile(&lat, 0.5),
                percentile(&lat, 0.99),
                run_no + 1
            );
            for mut c in children {
                let _ = Command::new("kill")
                    .args(["-TERM", &c.id().to_string()])
                    .status();
                let _ = c.wait();
            }
        }
    }
}
