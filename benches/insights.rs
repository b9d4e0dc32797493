//! Benchmarks (not tests) for issue 18: what a community's insights cost, counting alone and
//! with every record read from a sled store, and what a linked account's turn costs next to
//! an unlinked one (one more record read, one more turn held). Each figure is the median of
//! three runs in one process, so the ratios are comparable on a shared, noisy machine.
//!
//! `cargo bench --bench insights` (release); `-- --quick` for a smoke run with small sizes.

use lensbot::content;
use lensbot::engine::{Input, UserState};
use lensbot::insights::{self, Period};
use lensbot::session::Session;
use lensbot::store::{SledStore, Store};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

const COMMUNITY: &str = "telegram:chat:-5";

fn catalog() -> content::Catalog {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("dialogues");
    content::load(&dir).expect("the content loads").0
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// `n` people in the community with a year of activity (a third of them active each month).
fn people(n: usize, now: jiff::Timestamp) -> Vec<UserState> {
    let months: Vec<String> = (0..12)
        .map(|k| {
            let t = now - jiff::SignedDuration::from_hours(24 * 30 * k);
            lensbot::engine::tally::month_key(t)
        })
        .collect();
    (0..n)
        .map(|i| {
            let mut s = UserState::new(&format!("telegram:{}", 1_000_000 + i));
            s.tally.told = true;
            s.tally.seen_in(COMMUNITY, now);
            for (k, m) in months.iter().enumerate() {
                if (i + k) % 3 == 0 {
                    let e = s.tally.months.entry(m.clone()).or_default();
                    e.active = true;
                    e.reflections = 2;
                    e.started
                        .insert(format!("lens-{}/awareness", 1 + (i + k) % 6));
                    e.done.insert(format!("lens-{}/action", 1 + (i + k) % 6));
                    e.prompts.insert("team".into(), 1);
                }
            }
            s
        })
        .collect()
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let cat = catalog();
    let now: jiff::Timestamp = "2026-11-15T12:00:00Z".parse().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();

    println!("## Counting alone (insights::compute, the last 12 months)");
    for n in if quick {
        vec![1_000]
    } else {
        vec![10_000, 100_000]
    } {
        let ps = people(n, now);
        let runs: Vec<Duration> = (0..3)
            .map(|_| {
                let t = Instant::now();
                let r = insights::compute(&cat, &ps, &[], COMMUNITY, Period::Months12, now);
                assert!(!r.figures.is_empty());
                t.elapsed()
            })
            .collect();
        println!("{n} people: {:.0} ms", median(runs).as_secs_f64() * 1e3);
    }

    println!("## With every record read (Session::insights over sled, the last 12 months)");
    let n = if quick { 1_000 } else { 20_000 };
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SledStore::open(dir.path()).unwrap());
    rt.block_on(async {
        for s in people(n, now) {
            store.put_user(&s).await.unwrap();
        }
        store.flush().await.unwrap();
    });
    let session = Session::new(Arc::new(catalog()), store.clone()).with_manual_clock(now);
    let runs: Vec<Duration> = (0..3)
        .map(|_| {
            let t = Instant::now();
            rt.block_on(session.insights(COMMUNITY, Period::Months12, now))
                .unwrap();
            t.elapsed()
        })
        .collect();
    println!("{n} people: {:.0} ms", median(runs).as_secs_f64() * 1e3);
    drop(session);
    drop(store);

    println!(
        "## A linked account's turn against an unlinked one (a durable turn, /fact, over sled)"
    );
    let turns = if quick { 200 } else { 2_000 };
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SledStore::open(dir.path()).unwrap());
    let session = Arc::new(Session::new(Arc::new(catalog()), store).with_manual_clock(now));
    let say = |who: &str, text: String| {
        rt.block_on(session.handle(who, Input::Text(text), None, now))
            .unwrap()
    };
    let made = say("telegram:1", "/link".into());
    let said = lensbot::render::plain_all(&made.messages);
    let code = said
        .split_whitespace()
        .find(|w| w.len() == 10 && w.as_bytes()[4] == b'-')
        .expect("a code")
        .trim_end_matches('.')
        .to_string();
    let asked = say("discord:2", format!("/link {code}"));
    let yes = asked.messages[0].buttons[0].token.clone();
    rt.block_on(session.handle("discord:2", Input::Button(yes), None, now))
        .unwrap();
    let time = |who: &str| -> Duration {
        let t = Instant::now();
        for _ in 0..turns {
            // A turn that changes the record (facts_shown) without growing it.
            say(who, "/fact".into());
        }
        t.elapsed() / turns as u32
    };
    let mut plain = Vec::new();
    let mut linked = Vec::new();
    for _ in 0..3 {
        plain.push(time("telegram:3"));
        linked.push(time("discord:2"));
    }
    let (p, l) = (median(plain), median(linked));
    println!(
        "unlinked: {:.0} µs a turn; linked account: {:.0} µs a turn ({:.2}×)",
        p.as_secs_f64() * 1e6,
        l.as_secs_f64() * 1e6,
        l.as_secs_f64() / p.as_secs_f64()
    );
}
