//! One conformance routine, run against every store (teloxide's pattern), plus what only the
//! sled store can show: persistence across reopening and a clear error when it is in use.

use lensbot::engine::Message;
use lensbot::engine::state::{Note, STATE_VERSION};
use lensbot::engine::{At, UserState};
use lensbot::inbox::InboxEntry;
use lensbot::outbox::OutboxEntry;
use lensbot::store::{DueEntry, MemoryStore, SledStore, Store, StoreError, Write};

pub(crate) async fn conformance(store: &dyn Store) {
    assert_eq!(store.get_user("t:1").await.unwrap(), None);
    let mut s = UserState::new("t:1");
    s.at = At::Lens {
        lens: "lens-2".into(),
        stop: "awareness".into(),
    };
    s.notes.push(Note {
        text: "ünïcødé & <markup>".into(),
        lens: None,
        at: "2026-01-05T09:00:00Z".parse().unwrap(),
        prep: None,
    });
    store.put_user(&s).await.unwrap();
    store.put_user(&UserState::new("t:2")).await.unwrap();
    store.flush().await.unwrap();
    assert_eq!(store.get_user("t:1").await.unwrap(), Some(s.clone()));
    let mut users = store.users().await.unwrap();
    users.sort();
    assert_eq!(users, vec!["t:1".to_string(), "t:2".to_string()]);
    // Overwrite.
    s.step = 7;
    store.put_user(&s).await.unwrap();
    assert_eq!(store.get_user("t:1").await.unwrap().unwrap().step, 7);
    // Delete.
    assert!(store.delete_user("t:1").await.unwrap());
    assert!(!store.delete_user("t:1").await.unwrap());
    assert_eq!(store.get_user("t:1").await.unwrap(), None);
    // Meta.
    assert_eq!(store.get_meta("k").await.unwrap(), None);
    store.put_meta("k", b"v").await.unwrap();
    assert_eq!(store.get_meta("k").await.unwrap(), Some(b"v".to_vec()));
    // Stored values carry their version.
    assert_eq!(
        store.get_user("t:2").await.unwrap().unwrap().v,
        STATE_VERSION
    );
    // The due index: a range scan in time order, before and after the epoch.
    let e = |at: &str, user: &str, r: &str| DueEntry {
        at: at.parse().unwrap(),
        user: user.into(),
        reminder: r.into(),
    };
    let (a, b, c, old) = (
        e("2026-01-06T09:25:00Z", "t:1", "r1"),
        e("2026-01-06T09:25:00Z", "t:2", "r1"),
        e("2026-01-07T08:00:00Z", "t:1", "r2"),
        e("1969-12-31T00:00:00Z", "t:3", "r9"),
    );
    assert_eq!(store.next_due().await.unwrap(), None);
    for x in [&c, &a, &b, &old] {
        store.put_due(x).await.unwrap();
    }
    assert_eq!(store.next_due().await.unwrap(), Some(old.at));
    assert_eq!(
        store
            .due_until("2026-01-06T09:24:59Z".parse().unwrap())
            .await
            .unwrap(),
        vec![old.clone()]
    );
    assert_eq!(
        store.due_until(a.at).await.unwrap(),
        vec![old.clone(), a.clone(), b.clone()]
    );
    store.delete_due(&a).await.unwrap();
    store.delete_due(&a).await.unwrap();
    store.delete_due(&old).await.unwrap();
    assert_eq!(
        store.due_until(c.at).await.unwrap(),
        vec![b.clone(), c.clone()]
    );
    store.flush().await.unwrap();
}

/// What the event path needs of a store: one atomic write per turn, the ledger of applied
/// events, the outbox in commit order, and the inbox with its high-water mark.
pub(crate) async fn pipeline_conformance(store: &dyn Store) {
    let now: jiff::Timestamp = "2026-03-01T10:00:00Z".parse().unwrap();
    let entry = |store: &dyn Store, to: &str| OutboxEntry {
        id: lensbot::store::wait(store.next_outbox_id()).unwrap(),
        to: to.into(),
        person: Some(to.into()),
        messages: vec![Message::private().para("hello")],
        sent: 0,
        attempts: 0,
        created: now,
        event: None,
        group: None,
    };
    // The inbox: appended with a high-water mark, read back in arrival order.
    assert_eq!(store.inbox_high_water("telegram").await.unwrap(), 0);
    let inbox = |seq: u64| InboxEntry {
        source: "telegram".into(),
        seq,
        event: format!("tg:{seq}"),
        queue: "t:1".into(),
        payload: serde_json::json!({"update_id": seq}),
    };
    store
        .inbox_append("telegram", 12, &[inbox(12), inbox(11)])
        .await
        .unwrap();
    assert_eq!(store.inbox_high_water("telegram").await.unwrap(), 12);
    let held: Vec<u64> = store
        .inbox("telegram")
        .await
        .unwrap()
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(held, vec![11, 12]);
    assert!(store.inbox("discord").await.unwrap().is_empty());
    // One turn: state, due entry, outbox, ledger and inbox in one write.
    let mut u = UserState::new("t:1");
    u.step = 3;
    let due = DueEntry {
        at: now,
        user: "t:1".into(),
        reminder: "r1".into(),
    };
    let (first, second) = (entry(store, "t:1"), entry(store, "t:2"));
    assert!(second.id > first.id, "outbox ids grow");
    assert!(!store.event_seen("tg:11").await.unwrap());
    let w = Write {
        users: vec![u.clone()],
        due_put: vec![due.clone()],
        outbox: vec![second.clone(), first.clone()],
        events: vec![("tg:11".into(), now)],
        inbox_done: vec![inbox(11).key()],
        meta: vec![("k".into(), Some(b"v".to_vec()))],
        ..Write::default()
    };
    assert!(!w.is_empty());
    store.apply(&w).await.unwrap();
    store.flush().await.unwrap();
    assert_eq!(store.get_user("t:1").await.unwrap().unwrap().step, 3);
    assert_eq!(store.due_until(now).await.unwrap(), vec![due.clone()]);
    assert!(store.event_seen("tg:11").await.unwrap());
    assert_eq!(store.get_meta("k").await.unwrap(), Some(b"v".to_vec()));
    let held: Vec<u64> = store
        .inbox("telegram")
        .await
        .unwrap()
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(held, vec![12]);
    let ids: Vec<u64> = store.outbox().await.unwrap().iter().map(|e| e.id).collect();
    assert_eq!(ids, vec![first.id, second.id], "commit order");
    // Progress and removal.
    let mut progressed = first.clone();
    progressed.sent = 1;
    progressed.attempts = 2;
    store.outbox_update(&progressed).await.unwrap();
    assert_eq!(store.outbox().await.unwrap()[0], progressed);
    store.outbox_remove(first.id).await.unwrap();
    store.outbox_remove(first.id).await.unwrap();
    assert_eq!(store.outbox().await.unwrap(), vec![second.clone()]);
    // Deleting a person and clearing a due entry in the same write.
    store
        .apply(&Write {
            delete_users: vec!["t:1".into()],
            due_delete: vec![due],
            meta: vec![("k".into(), None)],
            ..Write::default()
        })
        .await
        .unwrap();
    assert_eq!(store.get_user("t:1").await.unwrap(), None);
    assert!(store.due_until(now).await.unwrap().is_empty());
    assert_eq!(store.get_meta("k").await.unwrap(), None);
    // The ledger forgets what is older than asked, and only that.
    let later: jiff::Timestamp = "2026-03-09T10:00:00Z".parse().unwrap();
    store
        .apply(&Write {
            events: vec![("dc:m:1".into(), later)],
            ..Write::default()
        })
        .await
        .unwrap();
    assert_eq!(store.prune_events(later).await.unwrap(), 1);
    assert!(!store.event_seen("tg:11").await.unwrap());
    assert!(store.event_seen("dc:m:1").await.unwrap());
}

#[tokio::test]
async fn memory_store_conforms() {
    conformance(&MemoryStore::new()).await;
    pipeline_conformance(&MemoryStore::new()).await;
}

#[tokio::test]
async fn sled_store_conforms() {
    let dir = tempfile::tempdir().unwrap();
    conformance(&SledStore::open(dir.path()).unwrap()).await;
    let dir = tempfile::tempdir().unwrap();
    pipeline_conformance(&SledStore::open(dir.path()).unwrap()).await;
}

#[tokio::test]
async fn sled_keeps_the_outbox_inbox_and_ledger_across_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let now: jiff::Timestamp = "2026-03-01T10:00:00Z".parse().unwrap();
    let id = {
        let s = SledStore::open(dir.path()).unwrap();
        let id = s.next_outbox_id().await.unwrap();
        s.apply(&Write {
            outbox: vec![OutboxEntry {
                id,
                to: "t:1".into(),
                person: None,
                messages: vec![Message::private().para("owed")],
                sent: 0,
                attempts: 0,
                created: now,
                event: None,
                group: None,
            }],
            events: vec![("tg:5".into(), now)],
            ..Write::default()
        })
        .await
        .unwrap();
        s.inbox_append("telegram", 6, &[]).await.unwrap();
        s.flush().await.unwrap();
        id
    };
    let s = SledStore::open(dir.path()).unwrap();
    assert_eq!(s.outbox().await.unwrap()[0].id, id);
    assert!(
        s.next_outbox_id().await.unwrap() > id,
        "ids keep growing after a restart"
    );
    assert!(s.event_seen("tg:5").await.unwrap());
    assert_eq!(s.inbox_high_water("telegram").await.unwrap(), 6);
}

#[tokio::test]
async fn sled_keeps_data_across_reopening() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = SledStore::open(dir.path()).unwrap();
        let mut u = UserState::new("t:9");
        u.profession = Some("dietitian".into());
        s.put_user(&u).await.unwrap();
        s.flush().await.unwrap();
    }
    let s = SledStore::open(dir.path()).unwrap();
    assert_eq!(
        s.get_user("t:9")
            .await
            .unwrap()
            .unwrap()
            .profession
            .as_deref(),
        Some("dietitian")
    );
}

#[test]
fn sled_in_use_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let _held = SledStore::open(dir.path()).unwrap();
    match SledStore::open(dir.path()) {
        Err(e @ StoreError::Locked(_)) => {
            assert!(e.to_string().contains("in use by another lensbot process"))
        }
        Err(e) => panic!("expected Locked, got {e}"),
        Ok(_) => panic!("a second open of the same store must fail"),
    }
}

#[tokio::test]
async fn an_older_stored_format_is_migrated_not_wiped() {
    let dir = tempfile::tempdir().unwrap();
    {
        // Write a record in the unversioned prototype format straight into sled.
        let db = sled::open(dir.path().join("sled")).unwrap();
        let users = db.open_tree("users").unwrap();
        users
            .insert("t:old", br#"{"user":"t:old","created":null,"updated":null,"position":{"kind":"lens","lens":"lens-4","stop":"action"},"profession":"paramedic"}"#.to_vec())
            .unwrap();
        db.flush().unwrap();
    }
    let s = SledStore::open(dir.path()).unwrap();
    assert!(s.integrity().upgraded && !s.integrity().is_damaged());
    let u = s.get_user("t:old").await.unwrap().unwrap();
    assert_eq!(u.v, STATE_VERSION);
    // Rebuilt into a new sled directory and sealed: no plain copy waits in the old log.
    drop(s);
    let mut plain = Vec::new();
    let mut stack = vec![dir.path().to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            if e.path().is_dir() {
                stack.push(e.path());
            } else if std::fs::read(e.path())
                .unwrap()
                .windows(9)
                .any(|w| w == b"paramedic")
            {
                plain.push(e.path());
            }
        }
    }
    assert_eq!(plain, Vec::<std::path::PathBuf>::new());
    let s = SledStore::open(dir.path()).unwrap();
    assert!(!s.integrity().upgraded, "once");
    let u = s.get_user("t:old").await.unwrap().unwrap();
    assert_eq!(u.profession.as_deref(), Some("paramedic"));
    assert_eq!(
        u.at,
        At::Lens {
            lens: "lens-4".into(),
            stop: "action".into()
        }
    );
}
