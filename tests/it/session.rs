//! The session: per-person ordering, repeated platform events, forget me.

use crate::helpers::{catalog, text};
use lensbot::engine::Input;
use lensbot::session::Session;
use lensbot::store::{MemoryStore, Store};
use std::sync::Arc;

fn now() -> jiff::Timestamp {
    "2026-01-05T09:00:00Z".parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_messages_from_one_person_are_never_lost() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let session = Arc::new(Session::new(catalog(), store.clone()));
    let mut tasks = Vec::new();
    for i in 0..50 {
        let s = session.clone();
        tasks.push(tokio::spawn(async move {
            s.handle(
                "t:busy",
                Input::Text(format!("/note number {i}")),
                None,
                now(),
            )
            .await
            .unwrap()
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let u = store.get_user("t:busy").await.unwrap().unwrap();
    assert_eq!(
        u.notes.len(),
        50,
        "every note must survive concurrent turns"
    );
}

#[tokio::test]
async fn messages_are_applied_in_the_order_they_arrive() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let session = Session::new(catalog(), store.clone());
    for i in 0..5 {
        session
            .handle("t:o", Input::Text(format!("/note {i}")), None, now())
            .await
            .unwrap();
    }
    let u = store.get_user("t:o").await.unwrap().unwrap();
    let got: Vec<_> = u.notes.iter().map(|n| n.text.clone()).collect();
    assert_eq!(got, ["0", "1", "2", "3", "4"]);
}

#[tokio::test]
async fn a_repeated_event_applies_once() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let session = Session::new(catalog(), store.clone());
    let first = session
        .handle(
            "t:d",
            Input::Text("/note once".into()),
            Some("update-41"),
            now(),
        )
        .await
        .unwrap();
    assert!(!first.duplicate);
    let again = session
        .handle(
            "t:d",
            Input::Text("/note once".into()),
            Some("update-41"),
            now(),
        )
        .await
        .unwrap();
    assert!(again.duplicate);
    assert!(again.messages.is_empty());
    assert_eq!(store.get_user("t:d").await.unwrap().unwrap().notes.len(), 1);
}

#[tokio::test]
async fn forget_me_deletes_the_record() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let session = Session::new(catalog(), store.clone());
    session
        .handle("t:f", Input::Text("/note private".into()), None, now())
        .await
        .unwrap();
    session
        .handle("t:f", Input::Text("/forgetme".into()), None, now())
        .await
        .unwrap();
    let r = session
        .handle("t:f", Input::Text("yes".into()), None, now())
        .await
        .unwrap();
    assert!(text(&r.messages).contains("has been deleted"));
    assert_eq!(store.get_user("t:f").await.unwrap(), None);
}

/// Group commit: many people answering at once share flushes, and every answer confirmed is
/// in the store when it is opened again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_confirmed_answer_survives_a_reopen_under_group_commit() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store: Arc<dyn Store> = Arc::new(lensbot::store::SledStore::open(dir.path()).unwrap());
        let session = Arc::new(Session::new(catalog(), store));
        let mut tasks = Vec::new();
        for p in 0..40 {
            let s = session.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0..5 {
                    let r = s
                        .handle(
                            &format!("t:p{p}"),
                            Input::Text(format!("/note answer {i} from {p}")),
                            None,
                            now(),
                        )
                        .await
                        .unwrap();
                    assert!(text(&r.messages).contains("Note saved"));
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    }
    let store = lensbot::store::SledStore::open(dir.path()).unwrap();
    for p in 0..40 {
        let st = store.get_user(&format!("t:p{p}")).await.unwrap().unwrap();
        assert_eq!(st.notes.len(), 5, "person {p}");
    }
}

/// A forget-me press replayed after it was applied does not create the person again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_forget_me_does_not_bring_the_person_back() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let session = Session::new(catalog(), store.clone());
    session
        .handle(
            "t:gone",
            Input::Text("/note private".into()),
            Some("e1"),
            now(),
        )
        .await
        .unwrap();
    session
        .handle("t:gone", Input::Text("/forgetme".into()), Some("e2"), now())
        .await
        .unwrap();
    let done = session
        .handle("t:gone", Input::Text("yes".into()), Some("e3"), now())
        .await
        .unwrap();
    assert!(text(&done.messages).contains("has been deleted"));
    assert_eq!(store.get_user("t:gone").await.unwrap(), None);
    let replay = session
        .handle("t:gone", Input::Text("yes".into()), Some("e3"), now())
        .await
        .unwrap();
    assert!(replay.duplicate);
    assert_eq!(
        store.get_user("t:gone").await.unwrap(),
        None,
        "not re-created"
    );
}
