//! The durable-turn loop shared by `benches/lensbot.rs` and `benches/durable.rs`: people at
//! once each send `/note` turns through a `Session` over a fresh sled store, every answer
//! confirmed only after its write is flushed. It uses only `Session::new`, `Session::handle`
//! and `SledStore::open`, so `scripts/bench-store-cost` can build it unchanged against an
//! older commit and compare the two in one run.

use lensbot::content;
use lensbot::engine::Input;
use lensbot::session::Session;
use lensbot::store::{SledStore, Store};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The `p`th percentile of sorted durations.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

/// The fixed clock every benchmark turn runs at.
pub fn now() -> jiff::Timestamp {
    "2026-01-05T09:00:00Z".parse().unwrap()
}

/// One run of durable turns: throughput and answer latency.
pub struct DurableResult {
    /// People at once.
    pub users: usize,
    /// Confirmed answers a second over the whole run.
    pub per_sec: f64,
    /// Median answer latency.
    pub p50: Duration,
    /// 99th-percentile answer latency.
    pub p99: Duration,
}

/// `users` people at once, `turns_each` `/note` turns each, on two worker threads.
pub fn bench_durable(cat: Arc<content::Catalog>, users: usize, turns_each: usize) -> DurableResult {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SledStore::open(dir.path()).unwrap());
    bench_durable_on(cat, store, users, turns_each)
}

/// The same loop over a store the caller opened (`benches/stores.rs`: sled and PostgreSQL).
pub fn bench_durable_on(
    cat: Arc<content::Catalog>,
    store: Arc<dyn Store>,
    users: usize,
    turns_each: usize,
) -> DurableResult {
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
