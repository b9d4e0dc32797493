//! Durable turns alone (the loop of the "Durable turns" table in BENCHMARKS.md), one line per
//! run, for comparing two builds in one sitting: `scripts/bench-store-cost` builds this file
//! unchanged against an older commit and runs the two binaries alternately.
//!
//! Usage: `cargo bench --bench durable -- [--users 1,10,100] [--runs N]`. Each person sends
//! `(2000 / people).max(20)` turns, as in `benches/lensbot.rs`. Prints, per run,
//! `people answers_per_sec p50_ms p99_ms`.

#[path = "common/durable.rs"]
mod durable;

use std::path::PathBuf;
use std::sync::Arc;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1).cloned())
    };
    let users: Vec<usize> = arg("--users")
        .unwrap_or_else(|| "1,10,100".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let runs: usize = arg("--runs").and_then(|s| s.parse().ok()).unwrap_or(1);
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("dialogues");
    let cat = Arc::new(lensbot::content::load(&dir).expect("the content loads").0);
    for _ in 0..runs {
        for &n in &users {
            let r = durable::bench_durable(cat.clone(), n, (2000 / n).max(20));
            println!(
                "{} {:.0} {:.3} {:.3}",
                r.users,
                r.per_sec,
                r.p50.as_secs_f64() * 1000.0,
                r.p99.as_secs_f64() * 1000.0
            );
        }
    }
}
