//! One conformance routine, run against every store (teloxide's pattern), plus what only the
//! sled store can show: persistence across reopening and a clear error when it is in use.

use lensbot::engine::state::{Note, STATE_VERSION};
use lensbot::engine::{At, UserState};
use lensbot::store::{DueEntry, MemoryStore, SledStore, Store, StoreError};

fn conformance(store: &dyn Store) {
    assert_eq!(store.get_user("t:1").unwrap(), None);
    let mut s = UserState::new("t:1");
    s.at = At::Lens {
        lens: "lens-2".into(),
        stop: "awareness".into(),
    };
    s.notes.push(Note {
        text: "ünïcødé & <markup>".into(),
        lens: None,
        at: "2026-01-05T09:00:00Z".parse().unwrap(),
    });
    store.put_user(&s).unwrap();
    store.put_user(&UserState::new("t:2")).unwrap();
    store.flush().unwrap();
    assert_eq!(store.get_user("t:1").unwrap(), Some(s.clone()));
    let mut users = store.users().unwrap();
    users.sort();
    assert_eq!(users, vec!["t:1".to_string(), "t:2".to_string()]);
    // Overwrite.
    s.step = 7;
    store.put_user(&s).unwrap();
    assert_eq!(store.get_user("t:1").unwrap().unwrap().step, 7);
    // Delete.
    assert!(store.delete_user("t:1").unwrap());
    assert!(!store.delete_user("t:1").unwrap());
    assert_eq!(store.get_user("t:1").unwrap(), None);
    // Meta.
    assert_eq!(store.get_meta("k").unwrap(), None);
    store.put_meta("k", b"v").unwrap();
    assert_eq!(store.get_meta("k").unwrap(), Some(b"v".to_vec()));
    // Stored values carry their version.
    assert_eq!(store.get_user("t:2").unwrap().unwrap().v, STATE_VERSION);
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
    assert_eq!(store.next_due().unwrap(), None);
    for x in [&c, &a, &b, &old] {
        store.put_due(x).unwrap();
    }
    assert_eq!(store.next_due().unwrap(), Some(old.at));
    assert_eq!(
        store
            .due_until("2026-01-06T09:24:59Z".parse().unwrap())
            .unwrap(),
        vec![old.clone()]
    );
    assert_eq!(
        store.due_until(a.at).unwrap(),
        vec![old.clone(), a.clone(), b.clone()]
    );
    store.delete_due(&a).unwrap();
    store.delete_due(&a).unwrap();
    store.delete_due(&old).unwrap();
    assert_eq!(store.due_until(c.at).unwrap(), vec![b.clone(), c.clone()]);
    store.flush().unwrap();
}

#[test]
fn memory_store_conforms() {
    conformance(&MemoryStore::new());
}

#[test]
fn sled_store_conforms() {
    let dir = tempfile::tempdir().unwrap();
    conformance(&SledStore::open(dir.path()).unwrap());
}

#[test]
fn sled_keeps_data_across_reopening() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = SledStore::open(dir.path()).unwrap();
        let mut u = UserState::new("t:9");
        u.profession = Some("dietitian".into());
        s.put_user(&u).unwrap();
        s.flush().unwrap();
    }
    let s = SledStore::open(dir.path()).unwrap();
    assert_eq!(
        s.get_user("t:9").unwrap().unwrap().profession.as_deref(),
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

#[test]
fn an_older_stored_format_is_migrated_not_wiped() {
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
    let u = s.get_user("t:old").unwrap().unwrap();
    assert_eq!(u.v, STATE_VERSION);
    assert_eq!(u.profession.as_deref(), Some("paramedic"));
    assert_eq!(
        u.at,
        At::Lens {
            lens: "lens-4".into(),
            stop: "action".into()
        }
    );
}
