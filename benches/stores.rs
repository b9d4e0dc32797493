//! Durable turns on the sled store and on PostgreSQL in one run (BENCHMARKS.md, "Sled and
//! PostgreSQL"): the loop of `benches/common/durable.rs` (people at once, each sending
//! `/note` turns, every answer confirmed only once its write is durable), alternating the two
//! stores round by round so a noisy machine treats both alike.
//!
//! Usage: `scripts/with-postgres cargo bench --bench stores -- [--users 1,10,100] [--runs N]`
//! (the PostgreSQL is the throwaway cluster `scripts/with-postgres` starts, on a Unix socket,
//! `fsync` on). Prints one line per store, people count and run:
//! `store people answers_per_sec p50_ms p99_ms`.

// Only the loop over a given store is used here.
#[allow(dead_code)]
#[path = "common/durable.rs"]
mod durable;
#[path = "common/postgres.rs"]
mod postgres;

use lensbot::store::postgres::PgStore;
use lensbot::store::vault::StoreKey;
use lensbot::store::{SledStore, Store};
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
    let Ok(base) = std::env::var("LENSBOT_TEST_POSTGRES") else {
        eprintln!(
            "LENSBOT_TEST_POSTGRES is not set: run this under scripts/with-postgres (see the file's header)"
        );
        std::process::exit(2);
    };
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("dialogues");
    let cat = Arc::new(lensbot::content::load(&dir).expect("the content loads").0);
    let mut n = 0;
    for _ in 0..runs {
        for &people in &users {
            let turns = (2000 / people).max(20);
            // Sled first in odd rounds, PostgreSQL first in even ones.
            let order = if n % 2 == 0 {
                ["sled", "postgres"]
            } else {
                ["postgres", "sled"]
            };
            for which in order {
                n += 1;
                let dir = tempfile::tempdir().unwrap();
                // Opened on a runtime of its own that ends here (a PostgreSQL connection made
                // on it closes, and the pool makes new ones on the benchmark's runtime).
                let store: Arc<dyn Store> = if which == "sled" {
                    Arc::new(SledStore::open(dir.path()).unwrap())
                } else {
                    lensbot::store::wait(async {
                        let name = format!("bench_{}_{n}", std::process::id());
                        let url = postgres::fresh_database(&base, &name).await;
                        Arc::new(
                            PgStore::connect(&url, StoreKey::from_bytes([7; 32]))
                                .await
                                .unwrap(),
                        )
                    })
                };
                let r = durable::bench_durable_on(cat.clone(), store, people, turns);
                let (per_sec, p50, p99) = (r.per_sec, r.p50, r.p99);
                println!(
                    "{which} {people} {per_sec:.0} {:.3} {:.3}",
                    p50.as_secs_f64() * 1000.0,
                    p99.as_secs_f64() * 1000.0
                );
            }
        }
    }
}
