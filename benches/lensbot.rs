//! Benchmarks (not tests): the engine's `step`, durable turns through the session over sled,
//! what sealing and checking a person's record and writing the integrity manifest cost (issue
//! 13; `-- --seal-only` prints just that), content loading, and memory with many stored
//! people. Run with `scripts/bench`, which also records the machine and writes BENCHMARKS.md;
//! `cargo bench --bench lensbot -- --quick` is the smoke run. Each figure is the median of
//! several runs, taken in one process so the ratios are comparable on a shared, noisy machine.
//! For profiling, `-- --engine-only` runs just the engine (e.g. under `perf record`), and
//! `PER_LINE=1` prints each scripted input's median time. The memory figure comes from a fresh child process (`--memory-child`).

#[path = "common/durable.rs"]
mod durable;

use durable::{DurableResult, bench_durable, now, percentile};
use lensbot::content;
use lensbot::engine::{self, Input, UserState};
use lensbot::session::Session;
use lensbot::store::vault::{StoreKey, Vault};
use lensbot::store::{SledStore, Store, codec, envelope, integrity};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn catalog() -> content::Catalog {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("dialogues");
    content::load(&dir).expect("the content loads").0
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
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

/// [`bench_seal`] for a realistic person and for the durable benchmark's.
fn seal_both(cat: &content::Catalog, runs: usize, iters: usize) -> [SealResult; 2] {
    [
        bench_seal(&realistic_state(cat), runs, iters),
        bench_seal(&durable_bench_state(cat), runs, iters),
    ]
}

/// Per-turn costs of the store's protections, in µs, each the median of several batches.
struct SealResult {
    /// Bytes of the encoded record.
    record_bytes: usize,
    /// JSON encode and decode of the record (there before sealing, for scale).
    codec_us: f64,
    /// Sealing the encoded record under its person's key, then the checksum envelope.
    seal_us: f64,
    /// Checking the envelope, then opening the sealed record.
    open_us: f64,
    /// The checksum envelope alone, wrapped and checked.
    crc_us: f64,
}

/// A person a while in: a lens walked, about 20 reflections of 300 characters, a few notes.
fn realistic_state(cat: &content::Catalog) -> UserState {
    let mut st = UserState::new("telegram:123456789");
    for input in [
        "/start",
        "/lens 1",
        "1",
        "1",
        "My answer about my own background.",
        "next",
        "/note ask about the interpreter",
        "/note the bus fare",
    ] {
        st = engine::step(cat, &st, Input::Text(input.into()), now()).state;
    }
    let template = st
        .reflections
        .first()
        .cloned()
        .expect("the lens walk records a reflection");
    let sentence = "A patient could not afford the bus to the clinic, so I moved her appointment to the outreach session near her home and asked the team about a travel voucher. ";
    while st.reflections.len() < 20 {
        let mut r = template.clone();
        let n = st.reflections.len();
        r.text = format!("{n} {sentence}{sentence}")
            .chars()
            .take(300)
            .collect();
        st.reflections.push(r);
    }
    st
}

/// The person of the durable-turn benchmark at 100 people at once: 20 `/note` turns.
fn durable_bench_state(cat: &content::Catalog) -> UserState {
    let mut st = UserState::new("bench:0");
    for i in 0..20 {
        st = engine::step(cat, &st, Input::Text(format!("/note answer {i}")), now()).state;
    }
    st
}

/// Writing the integrity manifest (once after each flush, shared by the turns of a group
/// commit), in µs.
fn bench_manifest(runs: usize, iters: usize) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let mut seq = 0;
    per_call(runs, iters, || {
        seq += 1;
        let m = integrity::Manifest {
            format: 1,
            seq,
            counts: integrity::Counts {
                users: 100,
                meta: 3,
                due: 40,
            },
        };
        integrity::write(dir.path(), &m).unwrap();
    })
}

/// Times `f` over `iters` calls, `runs` times; the median µs a call.
fn per_call(runs: usize, iters: usize, mut f: impl FnMut()) -> f64 {
    median(
        (0..runs)
            .map(|_| {
                let t = Instant::now();
                for _ in 0..iters {
                    f();
                }
                t.elapsed().as_secs_f64() * 1e6 / iters as f64
            })
            .collect(),
    )
}

/// What the sled store adds to each write and read of a person's record: sealing with
/// XChaCha20-Poly1305 under the person's key (`Vault::seal`/`unseal`, as the store calls them,
/// with the record's key as associated data) and the CRC-32 envelope.
fn bench_seal(st: &UserState, runs: usize, iters: usize) -> SealResult {
    let plain = codec::encode(st);
    let dir = tempfile::tempdir().unwrap();
    let vault = Vault::open(
        dir.path(),
        StoreKey::from_bytes([7; 32]),
        dir.path().join("backups"),
    )
    .unwrap();
    // As the store binds a record: its tree (0, people) and its key.
    let aad = [&[0u8][..], st.user.as_bytes()].concat();
    // The person's key is made on the first seal; every later turn finds it.
    let stored = envelope::wrap(&vault.seal(&st.user, &aad, &plain).unwrap());
    let codec_us = per_call(runs, iters, || {
        let b = codec::encode(std::hint::black_box(st));
        std::hint::black_box(codec::decode(&st.user, &b).unwrap());
    });
    let seal_us = per_call(runs, iters, || {
        let sealed = vault
            .seal(&st.user, &aad, std::hint::black_box(&plain))
            .unwrap();
        std::hint::black_box(envelope::wrap(&sealed));
    });
    let open_us = per_call(runs, iters, || {
        let body = envelope::unwrap(std::hint::black_box(&stored)).unwrap();
        std::hint::black_box(vault.unseal(&aad, body).unwrap());
    });
    let crc_us = per_call(runs, iters, || {
        let w = envelope::wrap(std::hint::black_box(&plain));
        std::hint::black_box(envelope::unwrap(&w).unwrap().len());
    });
    SealResult {
        record_bytes: plain.len(),
        codec_us,
        seal_us,
        open_us,
        crc_us,
    }
}

/// The table of per-turn sealing costs for two records (a realistic one, the durable
/// benchmark's), and with the durable run of the most people at once each turn's share: a
/// turn opens the person's record once and seals it once.
fn print_seal(r: &[SealResult; 2], manifest_us: f64, many: Option<&DurableResult>) {
    println!("## Sealing and checking a person's record, and the manifest (issue 13)");
    println!();
    println!(
        "| µs | a person a while in ({} bytes: a lens walked, 20 reflections of 300 characters) | the durable benchmark's person ({} bytes: 20 notes) |",
        r[0].record_bytes, r[1].record_bytes
    );
    println!("|---|---|---|");
    let row = |what: &str, f: &dyn Fn(&SealResult) -> f64| {
        println!("| {what} | {:.1} | {:.1} |", f(&r[0]), f(&r[1]));
    };
    row(
        "seal (XChaCha20-Poly1305, the person's key) and checksum, once per turn that saves",
        &|r| r.seal_us,
    );
    row("check the checksum and open, once per turn", &|r| r.open_us);
    row("of which the CRC-32 envelope, wrapped and checked", &|r| {
        r.crc_us
    });
    row("**per turn: open and seal**", &|r| r.seal_us + r.open_us);
    row(
        "for scale: JSON encode and decode of the record (there before)",
        &|r| r.codec_us,
    );
    println!(
        "| the manifest written after each flush (written in place; shared by a group commit) | {manifest_us:.1} | |"
    );
    if let Some(many) = many {
        let turn = r[1].seal_us + r[1].open_us;
        println!(
            "| share of the processor time per confirmed answer, {} people at once (2 threads: 2 s ÷ answers/s) | | {:.1} % |",
            many.users,
            turn / (2e6 / many.per_sec) * 100.0
        );
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
            lensbot::store::wait(store.put_user(&s)).unwrap();
        }
        lensbot::store::wait(store.flush()).unwrap();
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
    let (seal_runs, seal_iters) = if quick { (1, 200) } else { (5, 20_000) };
    if args.iter().any(|a| a == "--seal-only") {
        print_seal(
            &seal_both(&cat, seal_runs, seal_iters),
            bench_manifest(seal_runs, seal_iters / 10),
            None,
        );
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

    let seal = seal_both(&cat, seal_runs, seal_iters);
    let manifest_us = bench_manifest(seal_runs, seal_iters / 10);

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
    print_seal(&seal, manifest_us, durable.last());
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
