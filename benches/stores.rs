//! Durable turns on the sled store and on PostgreSQL in one run (BENCHMARKS.md, "Sled and
//! PostgreSQL"): the same loop as `benches/common/durable.rs` (people at once, each sending
//! `/note` turns, every answer confirmed only once its write is durable), alternating the two
//! stores round by round so a noisy machine treats both alike.
//!
//! Usage: `scripts/with-postgres cargo bench --bench stores -- [--users 1,10,100] [--runs N]`
//! (the PostgreSQL is the throwaway cluster `scripts/with-postgres` starts, on a Unix socket,
//! `fsync` on). Prints one line per store, people count and run:
//! `store people answers_per_sec p50_ms p99_ms`.

use lensbot::engine::Input;
use lensbot::session::Session;
use lensbot::store::postgres::{PgStore, migrate_url};
use lensbot::store::vault::StoreKey;
use lensbot::store::{SledStore, Store};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// A fresh database on the cluster, migrated; its URL.
async fn fresh_database(base: &str, n: usize) -> String {
    let (client, conn) = tokio_postgres::connect(base, tokio_postgres::NoTls)
        .await
        .expect("the cluster answers");
    tokio::spawn(conn);
    let name = format!("bench_{}_{n}", std::process::id());
    // One statement each: CREATE DATABASE cannot run inside a (multi-statement) transaction.
    for sql in [
        format!("DROP DATABASE IF EXISTS {name}"),
        format!("CREATE DATABASE {name}"),
    ] {
        client.batch_execute(&sql).await.unwrap();
    }
    let url = base.replacen("/postgres?", &format!("/{name}?"), 1);
    migrate_url(&url).await.unwrap();
    url
}

/// `users` people at once, `turns_each` turns each, over `store`: (answers a second, p50, p99).
async fn run(store: Arc<dyn Store>, users: usize, turns_each: usize) -> (f64, Duration, Duration) {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("dialogues");
    let cat = Arc::new(lensbot::content::load(&dir).expect("the content loads").0);
    let session = Arc::new(Session::new(cat, store));
    let now: jiff::Timestamp = "2026-01-05T09:00:00Z".parse().unwrap();
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
                    now,
                )
                .await
                .unwrap();
                lat.push(t.elapsed());
            }
            lat
        });
    }
    let mut lat = Vec::new();
    while let Some(r) = tasks.join_next().await {
        lat.extend(r.unwrap());
    }
    let total = started.elapsed();
    lat.sort();
    (
        lat.len() as f64 / total.as_secs_f64(),
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
    )
}

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
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
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
                let (per_sec, p50, p99) = rt.block_on(async {
                    let store: Arc<dyn Store> = if which == "sled" {
                        Arc::new(SledStore::open(dir.path()).unwrap())
                    } else {
                        let url = fresh_database(&base, n).await;
                        Arc::new(
                            PgStore::connect(&url, StoreKey::from_bytes([7; 32]))
                                .await
                                .unwrap(),
                        )
                    };
                    run(store, people, turns).await
                });
                println!(
                    "{which} {people} {per_sec:.0} {:.3} {:.3}",
                    p50.as_secs_f64() * 1000.0,
                    p99.as_secs_f64() * 1000.0
                );
            }
        }
    }
}
