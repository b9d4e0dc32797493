//! The PostgreSQL store against a real PostgreSQL: `./scripts/test` runs these inside
//! `scripts/with-postgres`, which starts a throwaway cluster and sets `LENSBOT_TEST_POSTGRES`.
//! Without it (a bare `cargo test`) each test says it skipped and passes. Every test works in
//! a database of its own, made here and dropped at the end.

use lensbot::content::Catalog;
use lensbot::engine::Input;
use lensbot::session::{Event, Session};
use lensbot::store::postgres::{PgStore, migrate};
use lensbot::store::vault::StoreKey;
use lensbot::store::{Store, StoreError};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

/// The cluster's URL, or `None` (with a message) when there is none.
fn base() -> Option<String> {
    match std::env::var("LENSBOT_TEST_POSTGRES") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            eprintln!(
                "skipped: LENSBOT_TEST_POSTGRES is not set (./scripts/test sets it through scripts/with-postgres)"
            );
            None
        }
    }
}

/// A database of the test's own, dropped when this is dropped.
pub(crate) struct Db {
    base: String,
    pub(crate) name: String,
    pub(crate) url: String,
}

impl Db {
    pub(crate) async fn new() -> Option<Db> {
        static N: AtomicU32 = AtomicU32::new(0);
        let base = base()?;
        let name = format!(
            "lb_{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        );
        let (client, conn) = tokio_postgres::connect(&base, tokio_postgres::NoTls)
            .await
            .expect("the test cluster answers");
        tokio::spawn(conn);
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap();
        let url = base.replacen("/postgres?", &format!("/{name}?"), 1);
        assert_ne!(url, base, "the test URL names the postgres database");
        Some(Db { base, name, url })
    }

    pub(crate) async fn migrated(self) -> Db {
        migrate_url(&self.url).await.unwrap();
        self
    }

    pub(crate) async fn store(&self) -> PgStore {
        PgStore::connect(&self.url, key()).await.unwrap()
    }

    async fn sql(&self) -> tokio_postgres::Client {
        let (client, conn) = tokio_postgres::connect(&self.url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(conn);
        client
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        let (base, name) = (self.base.clone(), self.name.clone());
        // Dropped on a thread of its own: the test's runtime may be ending.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                if let Ok((client, conn)) =
                    tokio_postgres::connect(&base, tokio_postgres::NoTls).await
                {
                    tokio::spawn(conn);
                    let _ = client
                        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .await;
                }
            });
        })
        .join();
    }
}

use lensbot::store::postgres::migrate_url;

fn key() -> StoreKey {
    StoreKey::from_bytes([7; 32])
}

fn catalog() -> Arc<Catalog> {
    Arc::new(lensbot::cli::load_catalog(None).unwrap())
}

/// Proves the PostgreSQL store keeps the same contract as memory and sled: the same two
/// conformance routines pass unchanged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_store_conforms() {
    let Some(db) = Db::new().await else { return };
    let db = db.migrated().await;
    super::store::conformance(&db.store().await).await;
    let db2 = Db::new().await.unwrap().migrated().await;
    super::store::pipeline_conformance(&db2.store().await).await;
}

/// Proves the migrations: applied once (a second run changes nothing), recorded in the
/// version table, a store refuses a database that was never migrated and one newer than the
/// binary, and `migrate` refuses (changing nothing) a database newer than it knows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_apply_once_and_refuse_what_they_do_not_know() {
    let Some(db) = Db::new().await else { return };
    let err = PgStore::connect(&db.url, key()).await.err().unwrap();
    assert!(
        err.to_string().contains("run `lensbot migrate"),
        "an unmigrated database is refused with what to do: {err}"
    );
    let first = migrate_url(&db.url).await.unwrap();
    assert_eq!((first.from, first.to), (0, migrate::latest()));
    let again = migrate_url(&db.url).await.unwrap();
    assert_eq!(
        (again.from, again.to),
        (migrate::latest(), migrate::latest())
    );
    let sql = db.sql().await;
    let n: i64 = sql
        .query_one("SELECT count(*) FROM lensbot_schema", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, migrate::MIGRATIONS.len() as i64);
    sql.execute(
        "INSERT INTO lensbot_schema (version, name) VALUES (999, 'from the future')",
        &[],
    )
    .await
    .unwrap();
    let err = PgStore::connect(&db.url, key()).await.err().unwrap();
    assert!(err.to_string().contains("upgrade lensbot"), "{err}");
    let err = migrate_url(&db.url).await.err().unwrap();
    assert!(err.to_string().contains("nothing was changed"), "{err}");
}

/// Proves that three processes migrating at once (three connections racing) apply the schema
/// once: the advisory lock serialises them and the later ones find nothing to do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_migrations_apply_the_schema_once() {
    let Some(db) = Db::new().await else { return };
    let runs = futures_util::future::join_all((0..3).map(|_| migrate_url(&db.url))).await;
    let applied = runs
        .iter()
        .filter(|r| matches!(r, Ok(m) if m.from == 0))
        .count();
    assert!(
        runs.iter().all(|r| r.is_ok()),
        "{:?}",
        runs.iter()
            .filter_map(|r| r.as_ref().err())
            .collect::<Vec<_>>()
    );
    assert_eq!(applied, 1, "exactly one run applied the schema");
}

/// Proves encryption at rest and erasure on PostgreSQL: what a person writes is nowhere in the
/// database in the clear; a second process (another store over the same database) reads it
/// with the key the first one saved; forgetting them deletes their rows and their key, and a
/// copy of their sealed record taken before (as a dead row version, a WAL segment or a backup
/// would keep it) no longer opens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reflections_are_sealed_and_forgetting_destroys_the_key() {
    let Some(db) = Db::new().await else { return };
    let db = db.migrated().await;
    let store: Arc<dyn Store> = Arc::new(db.store().await);
    let session = Session::new(catalog(), store.clone());
    const SECRET: &str = "the bus fare to the Zebedee-Quartz clinic went up";
    for (n, text) in ["/start".to_string(), format!("/note {SECRET}")]
        .iter()
        .enumerate()
    {
        let mut ev = Event::new("telegram:42", Input::Text(text.clone()));
        ev.id = Some(format!("tg:{n}"));
        session.handle_event(ev, session.now()).await.unwrap();
    }
    let sql = db.sql().await;
    let tables = [
        "people",
        "meta",
        "outbox",
        "inbox",
        "person_keys",
        "applied_events",
        "due",
    ];
    for t in tables {
        let rows = sql
            .query(&format!("SELECT CAST({t} AS text) FROM {t}"), &[])
            .await
            .unwrap();
        for r in rows {
            let text: String = r.get(0);
            assert!(!text.contains("Zebedee"), "{t} holds the note in the clear");
            assert!(
                !text.contains(&hex("Zebedee")),
                "{t} holds the note in the clear (as bytes)"
            );
        }
    }
    let sealed: Vec<u8> = sql
        .query_one("SELECT value FROM people WHERE person = 'telegram:42'", &[])
        .await
        .unwrap()
        .get(0);

    // Another process: a store of its own over the same database, started after the key.
    let other = db.store().await;
    let seen = other.get_user("telegram:42").await.unwrap().unwrap();
    assert_eq!(seen.notes.last().unwrap().text, SECRET);

    // Forgotten: rows and key gone; the old ciphertext opens nowhere.
    let gone = session.forget("telegram:42").await.unwrap();
    assert!(gone.record);
    for (t, col) in [
        ("people", "person"),
        ("person_keys", "person"),
        ("due", "person"),
    ] {
        let n: i64 = sql
            .query_one(
                &format!("SELECT count(*) FROM {t} WHERE {col} = 'telegram:42'"),
                &[],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(n, 0, "{t} still holds them");
    }
    let fresh = db.store().await;
    sql.execute(
        "INSERT INTO people (person, value) VALUES ('telegram:42', $1)",
        &[&sealed],
    )
    .await
    .unwrap();
    let err = fresh.get_user("telegram:42").await.unwrap_err();
    assert!(
        matches!(err, StoreError::Corrupt { ref reason, .. } if reason.contains("key is missing")),
        "{err}"
    );
}

fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

/// Proves one turn is one transaction with its event id: a replayed event (the same update
/// delivered twice, as a webhook retry would) applies nothing the second time, through one
/// process or through a second process over the same database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_event_applies_once_across_processes() {
    let Some(db) = Db::new().await else { return };
    let db = db.migrated().await;
    let a = Session::new(catalog(), Arc::new(db.store().await));
    let b = Session::new(catalog(), Arc::new(db.store().await));
    let note = |id: &str| {
        let mut ev = Event::new("telegram:7", Input::Text("/note once only".into()));
        ev.id = Some(id.into());
        ev
    };
    a.handle_event(note("tg:1"), a.now()).await.unwrap();
    let again = a.handle_event(note("tg:1"), a.now()).await.unwrap();
    assert!(again.duplicate);
    let other = b.handle_event(note("tg:1"), b.now()).await.unwrap();
    assert!(other.duplicate, "the second process sees the ledger");
    let st = a.store().get_user("telegram:7").await.unwrap().unwrap();
    assert_eq!(st.notes.iter().filter(|n| n.text == "once only").count(), 1);
}

/// Proves the race a check before the turn cannot close: two processes that both found an
/// event unapplied and both write its turn. The event id is inserted first in each turn's
/// transaction, so the second write fails as a conflict and changes nothing (its state and
/// its reply are not written), and the session reports that turn as a duplicate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_second_of_two_racing_turns_writes_nothing() {
    let Some(db) = Db::new().await else { return };
    let db = db.migrated().await;
    let (a, b) = (db.store().await, db.store().await);
    let now = jiff::Timestamp::now();
    let turn = |text: &str| {
        let mut st = lensbot::engine::UserState::new("telegram:9");
        st.notes.push(lensbot::engine::state::Note {
            text: text.into(),
            lens: None,
            at: now,
            prep: None,
        });
        lensbot::store::Write {
            users: vec![st],
            events: vec![("tg:99".into(), now)],
            ..Default::default()
        }
    };
    a.apply(&turn("first")).await.unwrap();
    let err = b.apply(&turn("second")).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err}");
    let st = b.get_user("telegram:9").await.unwrap().unwrap();
    assert_eq!(st.notes[0].text, "first", "the losing turn wrote nothing");
}

/// Proves due items are shared out across processes: three stores over one database claim
/// the same 60 due entries at once and each entry goes to exactly one of them; a claimed entry
/// is not claimed again while its lease runs, is claimed again once it has run out (its holder
/// died), and one given back is claimable at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn due_items_are_claimed_once_across_three_processes() {
    let Some(db) = Db::new().await else { return };
    let db = db.migrated().await;
    let stores = [db.store().await, db.store().await, db.store().await];
    let now: jiff::Timestamp = "2026-03-01T09:00:00Z".parse().unwrap();
    let mut w = lensbot::store::Write::default();
    for i in 0..60 {
        w.due_put.push(lensbot::store::DueEntry {
            at: now - jiff::SignedDuration::from_secs(i),
            user: format!("telegram:{i}"),
            reminder: "r1".into(),
        });
    }
    stores[0].apply(&w).await.unwrap();
    // Long enough for the steps below on a loaded machine.
    let lease = std::time::Duration::from_secs(5);
    let claims =
        futures_util::future::join_all(stores.iter().map(|s| s.claim_due(now, lease))).await;
    let claims: Vec<Vec<_>> = claims.into_iter().map(|c| c.unwrap()).collect();
    let mut all: Vec<_> = claims.iter().flatten().cloned().collect();
    assert_eq!(all.len(), 60, "every entry was claimed, none twice");
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 60, "no entry went to two processes");
    for s in &stores {
        assert!(
            s.claim_due(now, lease).await.unwrap().is_empty(),
            "leased entries stay leased"
        );
    }
    // Only the holder gives entries back. (The process that took the most holds 20 or more:
    // 60 went to three.)
    let (holder, held) = claims
        .iter()
        .enumerate()
        .max_by_key(|(_, c)| c.len())
        .unwrap();
    let other = (holder + 1) % 3;
    stores[other].release_due(&held[..5]).await.unwrap();
    assert!(
        stores[other]
            .claim_due(now, lease)
            .await
            .unwrap()
            .is_empty()
    );
    stores[holder].release_due(&held[..5]).await.unwrap();
    assert_eq!(
        stores[other].claim_due(now, lease).await.unwrap().len(),
        5,
        "released entries are free at once"
    );
    tokio::time::sleep(lease + std::time::Duration::from_millis(200)).await;
    assert_eq!(
        stores[0].claim_due(now, lease).await.unwrap().len(),
        60,
        "after the lease runs out (its holder died), every entry is taken again"
    );
}

/// Proves the real binary over PostgreSQL keeps the embedded store's promises under SIGKILL:
/// `lensbot telegram` with `LENSBOT_STORE` naming the database, killed at random moments while
/// people send notes through the fake Telegram (which serves unconfirmed updates again), then
/// started once more: every note saved once, in order, every one answered, the outbox drained.
#[cfg(feature = "telegram")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigkill_storm_over_postgres_loses_nothing_and_applies_nothing_twice() {
    let Some(db) = Db::new().await else { return };
    let db = db.migrated().await;
    super::faults::storm_on(false, 20, 40, 8, Some(&db.url)).await;
}

/// Proves `lensbot migrate` from the command line: the schema applied (and a second run says
/// it is up to date), then everyone moved from a sled store into the database (where
/// `lensbot doctor --store` reads every record back) and from the database into a new sled
/// directory, with the counts the source holds and every note readable at the end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lensbot_migrate_moves_everyone_from_sled_to_postgres_and_back() {
    let Some(db) = Db::new().await else { return };
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_lensbot"))
            .args(args)
            .env_remove("LENSBOT_STORE")
            .env_remove("LENSBOT_STORE_KEY_FILE")
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.code(), text)
    };
    let (code, text) = run(&["migrate", "--store", &db.url]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("from version 0 to"), "{text}");
    let (_, text) = run(&["migrate", "--store", &db.url]);
    assert!(text.contains("up to date"), "{text}");

    // A sled store with 30 people and a note each.
    let sled_dir = tempfile::tempdir().unwrap();
    {
        let store: Arc<dyn Store> =
            Arc::new(lensbot::store::SledStore::open(sled_dir.path()).unwrap());
        let session = Session::new(catalog(), store.clone());
        for i in 0..30 {
            let ev = Event::new(
                &format!("telegram:{i}"),
                Input::Text(format!("/note moving note {i}")),
            );
            session.handle_event(ev, session.now()).await.unwrap();
        }
        store.flush().await.unwrap();
    }
    let dir = sled_dir.path().to_str().unwrap();
    let (code, text) = run(&["migrate", "--from", dir, "--to", &db.url]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("Moved 30 people"), "{text}");
    // `lensbot doctor` over the database: every record decrypted and decoded.
    let (code, text) = run(&["doctor", "--data", dir, "--store", &db.url]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("holds 30 people"), "{text}");
    assert!(text.contains("every record reads back"), "{text}");
    // The target now holds people: a second move into it is refused.
    let (code, text) = run(&["migrate", "--from", dir, "--to", &db.url]);
    assert_ne!(code, Some(0), "{text}");

    let back = tempfile::tempdir().unwrap();
    // The new sled directory shares the source's store key.
    std::fs::copy(
        sled_dir.path().join("store.key"),
        back.path().join("store.key"),
    )
    .unwrap();
    let back_dir = back.path().join("store");
    std::fs::create_dir(&back_dir).unwrap();
    std::fs::copy(back.path().join("store.key"), back_dir.join("store.key")).unwrap();
    let (code, text) = run(&[
        "migrate",
        "--data",
        dir,
        "--from",
        &db.url,
        "--to",
        back_dir.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("Moved 30 people"), "{text}");
    let store = lensbot::store::SledStore::open(&back_dir).unwrap();
    for i in 0..30 {
        let st = store
            .get_user(&format!("telegram:{i}"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(st.notes[0].text, format!("moving note {i}"));
    }
}

/// Proves `LISTEN/NOTIFY` between processes: a due entry one store adds wakes another store's
/// scheduler at once (rather than at its next poll), nothing wakes it when nothing changed, and
/// forgetting someone through one store drops their key from the other's memory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_processes_hear_of_new_due_entries_and_of_forgets() {
    let Some(db) = Db::new().await else { return };
    let db = db.migrated().await;
    let (a, b) = (db.store().await, db.store().await);
    let within = |s| tokio::time::timeout(std::time::Duration::from_secs(s), b.changed_elsewhere());
    // The listener's first connection says "look now" once.
    assert!(within(10).await.is_ok(), "the listener connected");
    assert!(
        tokio::time::timeout(std::time::Duration::from_millis(400), b.changed_elsewhere())
            .await
            .is_err(),
        "nothing changed, nothing heard"
    );
    let mut w = lensbot::store::Write::default();
    w.due_put.push(lensbot::store::DueEntry {
        at: jiff::Timestamp::now(),
        user: "telegram:5".into(),
        reminder: "r1".into(),
    });
    let mut st = lensbot::engine::UserState::new("telegram:5");
    st.welcomed = true;
    w.users.push(st);
    a.apply(&w).await.unwrap();
    assert!(within(5).await.is_ok(), "the new due entry was heard");
    // b learns the person's key by reading them, then hears that they were forgotten.
    assert!(b.get_user("telegram:5").await.unwrap().is_some());
    assert!(b.vault().unwrap().has_key("telegram:5"));
    a.forget_keys("telegram:5").await.unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while b.vault().unwrap().has_key("telegram:5") {
        assert!(
            std::time::Instant::now() < deadline,
            "the forget was not heard"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Proves the elections that keep one gateway, one poller and one sender per platform: of two
/// processes (two stores over one database) only one holds a role; the other holds a different
/// role meanwhile; when the holder gives it up the other takes it; when the holder's
/// connection is cut (`pg_terminate_backend`, as a network failure or a dead process would)
/// the holder hears that it lost the role within seconds and the other takes it over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_process_holds_a_role_and_another_takes_it_over() {
    let Some(db) = Db::new().await else { return };
    let db = db.migrated().await;
    let (a, b) = (db.store().await, db.store().await);
    let held = a
        .elect("telegram")
        .await
        .unwrap()
        .expect("the first asks, the first gets");
    assert!(
        b.elect("telegram").await.unwrap().is_none(),
        "one holder at a time"
    );
    assert!(
        a.elect("telegram").await.unwrap().is_none(),
        "even the same process asks again in vain"
    );
    let discord = b
        .elect("discord")
        .await
        .unwrap()
        .expect("another role is free");
    drop(held);
    let taken = take_within(&b, "telegram", 5).await;
    assert!(!taken.is_lost());
    // The holder's connection cut from the server's side.
    let sql = db.sql().await;
    let killed = sql
        .query(
            // This test's database only: other tests hold roles in theirs at the same time.
            "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND classid = 1919904869 AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(killed.len(), 2, "both roles' connections were found");
    tokio::time::timeout(std::time::Duration::from_secs(6), taken.lost())
        .await
        .expect("the holder hears it lost the role");
    tokio::time::timeout(std::time::Duration::from_secs(6), discord.lost())
        .await
        .expect("so does the other role's holder");
    let again = take_within(&a, "telegram", 5).await;
    assert!(!again.is_lost());
}

/// Asks for `role` until it is given (at most `secs` seconds).
async fn take_within(store: &PgStore, role: &str, secs: u64) -> lensbot::store::leases::Held {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        if let Some(h) = store.elect(role).await.unwrap() {
            return h;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{role} was not taken over"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Proves one person's turns through two processes at once lose nothing: sixty notes sent
/// to two sessions over one database (thirty each, all at once, as a load balancer would
/// spread a person's webhooks) all end up in their record, because each turn holds the person
/// across processes (an advisory lock) from load to write. Without the hold, a turn loads the
/// record, another process writes, and the first overwrites it (the notes would go missing).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_persons_turns_through_two_processes_lose_nothing() {
    let Some(db) = Db::new().await else { return };
    let db = db.migrated().await;
    let a = Arc::new(Session::new(catalog(), Arc::new(db.store().await)));
    let b = Arc::new(Session::new(catalog(), Arc::new(db.store().await)));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..60 {
        let s = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.spawn(async move {
            let mut ev = Event::new("telegram:21", Input::Text(format!("/note number {i}")));
            ev.id = Some(format!("tg:{}", 1000 + i));
            s.handle_event(ev, s.now()).await.unwrap()
        });
    }
    while let Some(r) = tasks.join_next().await {
        assert!(!r.unwrap().duplicate);
    }
    let st = a.store().get_user("telegram:21").await.unwrap().unwrap();
    let mut got: Vec<&str> = st.notes.iter().map(|n| n.text.as_str()).collect();
    got.sort();
    let mut want: Vec<String> = (0..60).map(|i| format!("number {i}")).collect();
    want.sort();
    assert_eq!(got, want, "every note is in the record once");
}

/// Proves a linked person's turns through two processes, from both platforms at once, lose
/// nothing: the Discord account's turns take the Telegram record's advisory lock after their
/// own, so sixty notes (thirty from each account, half through each process) all end up in
/// the one record.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_linked_persons_turns_from_two_platforms_and_two_processes_lose_nothing() {
    let Some(db) = Db::new().await else { return };
    let db = db.migrated().await;
    let a = Arc::new(Session::new(catalog(), Arc::new(db.store().await)));
    let b = Arc::new(Session::new(catalog(), Arc::new(db.store().await)));
    let said = |ms: &[lensbot::engine::Message]| lensbot::render::plain_all(ms);
    let made = a
        .handle("telegram:31", Input::Text("/link".into()), None, a.now())
        .await
        .unwrap();
    let code = crate::linking::code_in(&said(&made.messages));
    let asked = b
        .handle(
            "discord:41",
            Input::Text(format!("/link {code}")),
            None,
            b.now(),
        )
        .await
        .unwrap();
    let yes = asked.messages[0]
        .buttons
        .iter()
        .find(|x| x.label == "Yes, link them")
        .expect("the question")
        .token
        .clone();
    let done = b
        .handle("discord:41", Input::Button(yes), None, b.now())
        .await
        .unwrap();
    assert!(said(&done.messages).contains("now linked"));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..60 {
        let s = if i % 2 == 0 { a.clone() } else { b.clone() };
        let who = if i % 4 < 2 {
            "telegram:31"
        } else {
            "discord:41"
        };
        tasks.spawn(async move {
            let mut ev = Event::new(who, Input::Text(format!("/note number {i}")));
            ev.id = Some(format!("ln:{i}"));
            s.handle_event(ev, s.now()).await.unwrap()
        });
    }
    while let Some(r) = tasks.join_next().await {
        assert!(!r.unwrap().duplicate);
    }
    let st = a.store().get_user("telegram:31").await.unwrap().unwrap();
    assert_eq!(st.accounts, ["discord:41"]);
    assert_eq!(st.notes.len(), 60, "every note is in the one record");
}

/// A sink that records what it was given.
#[derive(Default)]
struct Taken(std::sync::Mutex<Vec<(String, u64)>>);

impl lensbot::sender::Deliver for Taken {
    fn accepts(&self, to: &str) -> bool {
        to.starts_with("telegram:")
    }

    fn deliver<'a>(
        &'a self,
        to: &'a str,
        messages: Vec<lensbot::engine::Message>,
    ) -> lensbot::sender::DeliveryFuture<'a> {
        Box::pin(async move {
            self.0
                .lock()
                .unwrap()
                .push((to.to_string(), messages.len() as u64));
            Ok(())
        })
    }
}

/// Proves sending across processes: the process that sends for a platform (its sender
/// running) delivers the replies another process's turns wrote, each once and soon (it is told
/// by `NOTIFY`, well before its few-second look); the process that is not sending keeps none
/// of them in memory (its outbox depth stays 0) and the store's outbox ends empty.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sending_process_delivers_what_another_process_wrote_once() {
    let Some(db) = Db::new().await else { return };
    let db = db.migrated().await;
    let sending = Arc::new(Session::new(catalog(), Arc::new(db.store().await)));
    let other = Arc::new(Session::new(catalog(), Arc::new(db.store().await)));
    let sink = Arc::new(Taken::default());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let sender = tokio::spawn(lensbot::sender::run(
        sending.clone(),
        sink.clone(),
        async move {
            let _ = stopped.await;
        },
    ));
    // The sender's listener is up before the turns (its first connection says "look").
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let turn = |i: u64| {
        let other = other.clone();
        async move {
            let mut ev = Event::new(
                &format!("telegram:{}", 300 + i),
                Input::Text("/help".into()),
            );
            ev.id = Some(format!("tg:{}", 500 + i));
            ev.to = Some(format!("telegram:{}", 300 + i));
            other.handle_event(ev, other.now()).await.unwrap();
        }
    };
    let delivered = |n: usize, within: std::time::Duration| {
        let sink = sink.clone();
        async move {
            let deadline = std::time::Instant::now() + within;
            while sink.0.lock().unwrap().len() < n {
                if std::time::Instant::now() > deadline {
                    return false;
                }
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
            true
        }
    };
    // One at a time, each delivered within a second of its turn: polling alone (every three
    // seconds) would manage that five times running about once in 250 runs.
    for i in 0..5u64 {
        turn(i).await;
        assert!(
            delivered(i as usize + 1, std::time::Duration::from_secs(1)).await,
            "reply {i} was not delivered within a second: the notification was not heard"
        );
    }
    for i in 5..20u64 {
        turn(i).await;
    }
    assert_eq!(
        other.outbox_depth().0,
        0,
        "the process not sending keeps nothing"
    );
    assert!(
        delivered(20, std::time::Duration::from_secs(10)).await,
        "not all delivered"
    );
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let got = sink.0.lock().unwrap().clone();
    let mut to: Vec<&str> = got.iter().map(|(t, _)| t.as_str()).collect();
    to.sort();
    to.dedup();
    assert_eq!((got.len(), to.len()), (20, 20), "each reply once");
    let _ = stop.send(());
    sender.await.unwrap();
    let left = other.store().outbox().await.unwrap();
    assert!(left.is_empty(), "{} left in the outbox", left.len());
}

/// Proves the store reaches a database over TLS as a managed database is reached
/// (`sslmode=require`): `lensbot migrate` over TLS to the test cluster (its certificate made by
/// `scripts/with-postgres` for "localhost") is refused when the certificate cannot be verified
/// (rustls always verifies; the message says why) and works once `LENSBOT_STORE_CA_FILE` names
/// the CA; `lensbot doctor` then opens and checks the whole store over TLS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_reaches_its_database_over_verified_tls() {
    let Some(db) = Db::new().await else { return };
    let (Ok(base), Ok(ca)) = (
        std::env::var("LENSBOT_TEST_POSTGRES_TLS"),
        std::env::var("LENSBOT_TEST_POSTGRES_CA"),
    ) else {
        eprintln!("skipped: the test cluster has no TLS (openssl missing)");
        return;
    };
    let url = base.replacen("/postgres?", &format!("/{}?", db.name), 1);
    let migrate = |ca: Option<&str>| {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_lensbot"));
        c.args(["migrate", "--store", &url])
            .env_remove("LENSBOT_STORE_CA_FILE")
            .env_remove("LENSBOT_STORE");
        if let Some(ca) = ca {
            c.env("LENSBOT_STORE_CA_FILE", ca);
        }
        c.output().unwrap()
    };
    let refused = migrate(None);
    let said = String::from_utf8_lossy(&refused.stderr).to_string();
    assert!(
        !refused.status.success(),
        "an unverified certificate was accepted"
    );
    assert!(
        said.contains("certificate") || said.contains("UnknownIssuer"),
        "the refusal says why: {said}"
    );
    let done = migrate(Some(&ca));
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    // The whole store over TLS: `lensbot doctor` opens it and checks every record.
    let keys = tempfile::tempdir().unwrap();
    let key = keys.path().join("store.key");
    std::fs::write(&key, format!("{}\n", "07".repeat(32))).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lensbot"))
        .args(["doctor", "--store", &url])
        .env("LENSBOT_STORE_CA_FILE", &ca)
        .env("LENSBOT_STORE_KEY_FILE", &key)
        .env_remove("LENSBOT_STORE")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "doctor over TLS: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
