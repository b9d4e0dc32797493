//! Benchmarks (not tests): the engine's `step`, durable turns through the session over sled,
//! content loading, and memory with many stored people. Run with `scripts/bench`, which also
//! records the machine and writes BENCHMARKS.md; `cargo bench --bench lensbot -- --quick` is
//! the smoke run. Each figure is the median of several runs, taken in one process so the
//! ratios are comparable on a shared, noisy machine. For profiling, `-- --engine-only` runs
//! just the engine (e.g. under `perf record`), and `PER_LINE=1` prints each scripted input's
//! median time. The memory figure comes from a fresh child process (`--memory-child`).

use lensbot::content;
use lensbot::engine::{self, Input, UserState};
use lensbot::session::Session;
use lensbot::store::{SledStore, Store};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn catalog() -> content::Catalog {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("dialogues");
    content::load(&dir).expect("the content loads").0
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn now() -> jiff::Timestamp {
    "2026-01-05T09:00:00Z".parse().unwrap()
}

/// A realistic mix: a lens walk with answers, skips and backs, searches, /prep, lookups and
/// stale buttons.
fn script() -> Vec<&'static str> {
    vec![
        "/start",
        "/lens 1",
        "1",
        "1",
        "My answer about my own background.",
        "skip",
        "back",
        "Another reflection, a little longer, about a patient who could not afford the bus.",
        "/resources deprivaton data",
        "/resources e-learning lens 2",
        "/prep",
        "2",
        "/prep team",
        "/fact",
        "/define equity",
        "/signpost money",
        "/examples physio",
        "/continue",
        "next",
        "/progress",
        "STALE",
        "/note remember the interpreter",
    ]
}

struct EngineResult {
    steps_per_sec: f64,
    p50: Duration,
    p99: Duration,
}

fn bench_engine(cat: &content::Catalog, rounds: usize) -> EngineResult {
    let script = script();
    let mut lat = Vec::with_capacity(rounds * script.len());
    let started = Instant::now();
    for r in 0..rounds {
        let mut st = UserState::new(&format!("bench:{r}"));
        for line in &script {
            let input = if *line == "STALE" {
                Input::Button("0:next".into())
            } else {
                Input::Text((*line).into())
            };
            let t = Instant::now();
            let turn = engine::step(cat, &st, input, now());
            lat.push(t.elapsed());
            st = turn.state;
        }
    }
    let total = started.elapsed();
    if std::env::var("PER_LINE").is_ok() {
        for (i, line) in script.iter().enumerate() {
            let mut v: Vec<Duration> = lat.iter().skip(i).step_by(script.len()).cloned().collect();
            v.sort();
            eprintln!("{:>8.1} µs  {line}", v[v.len() / 2].as_secs_f64() * 1e6);
        }
    }
    lat.sort();
    EngineResult {
        steps_per_sec: lat.len() as f64 / total.as_secs_f64(),
        p50: percentile(&lat, 0.5),
        p99: percentile(&lat, 0.99),
    }
}

struct DurableResult {
    users: usize,
    per_sec: f64,
    p50: Duration,
    p99: Duration,
}

fn bench_durable(cat: Arc<content::Catalog>, users: usize, turns_each: usize) -> DurableResult {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SledStore::open(dir.path()).unwrap());
    let session = Arc::new(Session::new(cat, store));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (lat, total) = rt.block_on(async move {
        let started = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for u in 0..users {
            let s = session.clone();
            tasks.spawn(async move {
                let mut lat = Vec::with_capacity(turns_each);
                for i in 0..turns_each {
                    let t = Instant::now();
                    s.handle(
                        &format!("bench:{u}"),
                        Input::Text(format!("/note answer {i}")),
                        None,
                        now(),
                    )
                    .await
                    .unwrap();
                    lat.push(t.elapsed());
                }
                lat
            });
        }
        let mut all = Vec::new();
        while let Some(r) = tasks.join_next().await {
            all.extend(r.unwrap());
        }
        (all, started.elapsed())
    });
    let mut lat = lat;
    lat.sort();
    DurableResult {
        users,
        per_sec: lat.len() as f64 / total.as_secs_f64(),
        p50: percentile(&lat, 0.5),
        p99: percentile(&lat, 0.99),
    }
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        })
        .unwrap_or(0)
}

/// Stores `stored` people with a typical amount of progress, then measures resident memory in
/// a fresh process (this benchmark run again with `--memory-child`), so nothing the writing
/// left behind in this process's allocator counts.
fn bench_memory(cat: Arc<content::Catalog>, stored: usize, active: usize) -> (u64, u64) {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = SledStore::open(dir.path()).unwrap();
        let mut st = UserState::new("template");
        for input in [
            "/start",
            "/lens 1",
            "1",
            "1",
            "A typical reflection of a sentence or two.",
            "/note a note",
        ] {
            st = engine::step(&cat, &st, Input::Text(input.into()), now()).state;
        }
        for i in 0..stored {
            let mut s = st.clone();
            s.user = format!("bench:{i}");
            store.put_user(&s).unwrap();
        }
        store.flush().unwrap();
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .arg("--memory-child")
        .arg(dir.path())
        .arg(stored.to_string())
        .arg(active.to_string())
        .output()
        .expect("the memory child runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut nums = text
        .split_whitespace()
        .filter_map(|n| n.parse::<u64>().ok());
    (nums.next().unwrap_or(0), nums.next().unwrap_or(0))
}

/// The child: opens the store, runs one turn for each of `active` people, prints resident
/// memory (KiB) before opening the store and after the turns.
fn memory_child(dir: &std::path::Path, stored: usize, active: usize) {
    let cat = Arc::new(catalog());
    let before = rss_kib();
    let store: Arc<dyn Store> = Arc::new(SledStore::open(dir).unwrap());
    let session = Session::new(cat, store);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        for i in 0..active {
            let user = format!("bench:{}", i * (stored / active.max(1)).max(1));
            session
                .handle(&user, Input::Text("/progress".into()), None, now())
                .await
                .unwrap();
        }
    });
    println!("{before} {}", rss_kib());
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--memory-child") {
        let n = |k: usize| args.get(i + k).and_then(|s| s.parse().ok()).unwrap_or(0);
        memory_child(std::path::Path::new(&args[i + 1]), n(2), n(3));
        return;
    }
    let quick = args.iter().any(|a| a == "--quick");
    let runs = if quick { 1 } else { 5 };
    let t = Instant::now();
    let cat = catalog();
    let first_load = t.elapsed();
    let loads: Vec<f64> = (0..runs.max(3))
        .map(|_| {
            let t = Instant::now();
            let _ = catalog();
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    let cat = Arc::new(cat);

    let rounds = if quick { 20 } else { 2000 };
    if args.iter().any(|a| a == "--engine-only") {
        // For profiling: the engine alone, a few times over.
        for _ in 0..5 {
            let r = bench_engine(&cat, rounds);
            println!("{:.0} steps/s", r.steps_per_sec);
        }
        return;
    }
    let engine_runs: Vec<EngineResult> = (0..runs).map(|_| bench_engine(&cat, rounds)).collect();
    let steps = median(engine_runs.iter().map(|r| r.steps_per_sec).collect());
    let e_p50 = median(
        engine_runs
            .iter()
            .map(|r| r.p50.as_secs_f64() * 1e6)
            .collect(),
    );
    let e_p99 = median(
        engine_runs
            .iter()
            .map(|r| r.p99.as_secs_f64() * 1e6)
            .collect(),
    );

    let mut durable = Vec::new();
    for users in [1usize, 10, 100] {
        let turns = if quick { 5 } else { (2000 / users).max(20) };
        let rs: Vec<DurableResult> = (0..runs.min(3))
            .map(|_| bench_durable(cat.clone(), users, turns))
            .collect();
        durable.push(DurableResult {
            users,
            per_sec: median(rs.iter().map(|r| r.per_sec).collect()),
            p50: Duration::from_secs_f64(median(rs.iter().map(|r| r.p50.as_secs_f64()).collect())),
            p99: Duration::from_secs_f64(median(rs.iter().map(|r| r.p99.as_secs_f64()).collect())),
        });
    }

    let (stored, active) = if quick {
        (1_000, 100)
    } else {
        (100_000, 1_000)
    };
    let (rss_before, rss_after) = bench_memory(cat.clone(), stored, active);

    println!(
        "## Engine: `step` on one thread, a realistic mix ({} steps a run)",
        rounds * script().len()
    );
    println!();
    println!("| steps/s | p50 | p99 |");
    println!("|---|---|---|");
    println!("| {:.0} | {:.1} µs | {:.1} µs |", steps, e_p50, e_p99);
    println!();
    println!("## Durable turns: session over sled, flushed before each reply");
    println!();
    println!("| people at once | confirmed answers/s | p50 | p99 |");
    println!("|---|---|---|---|");
    for d in &durable {
        println!(
            "| {} | {:.0} | {:.2} ms | {:.2} ms |",
            d.users,
            d.per_sec,
            d.p50.as_secs_f64() * 1000.0,
            d.p99.as_secs_f64() * 1000.0
        );
    }
    println!();
    println!("## Content and memory");
    println!();
    println!("| what | figure |");
    println!("|---|---|");
    println!(
        "| load and check all of dialogues/ (median) | {:.1} ms (first load {:.1} ms) |",
        median(loads),
        first_load.as_secs_f64() * 1000.0
    );
    println!(
        "| resident memory of a fresh process, {stored} people stored, {active} active | {:.1} MiB (before opening the store: {:.1} MiB) |",
        rss_after as f64 / 1024.0,
        rss_before as f64 / 1024.0
    );
}
