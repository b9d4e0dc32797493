//! Meeting prompts within three taps, and the scheduler task delivering reminders (including
//! ones that fell due while the process was down) exactly once.

use crate::helpers::{catalog, text};
use lensbot::engine::{self, Input, Message, UserState};
use lensbot::scheduler;
use lensbot::sender::{self, Deliver, DeliveryError, DeliveryFuture};
use lensbot::session::Session;
use lensbot::store::{MemoryStore, SledStore, Store};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[test]
fn prep_reaches_a_prompt_in_three_taps_or_fewer_for_every_meeting_type() {
    let cat = catalog();
    assert!(cat.meetings.len() >= 8);
    for (i, m) in cat.meetings.iter().enumerate() {
        assert!(
            m.prompts.len() >= 4,
            "{} has {} prompts",
            m.id,
            m.prompts.len()
        );
        let mut st = UserState::new("t:taps");
        st.welcomed = true;
        // Tap 1: the command.
        let t1 = engine::step(&cat, &st, Input::Text("/prep".into()), now());
        let menu = &t1.messages.last().unwrap().buttons;
        let button = &menu[i];
        assert_eq!(button.label, m.name);
        // Tap 2: the meeting type. A usable prompt.
        let t2 = engine::step(&cat, &t1.state, Input::Button(button.token.clone()), now());
        let out = text(&t2.messages);
        assert!(out.contains("One question to raise:"), "{out}");
        assert!(out.contains("One thing to listen for:"), "{out}");
        assert!(out.contains("(Source:"), "{out}");
    }
}

#[test]
fn every_prep_prompt_with_a_fact_names_its_source() {
    let cat = catalog();
    for m in &cat.meetings {
        for p in &m.prompts {
            if let Some(f) = &p.fact {
                assert!(cat.fact(f).is_some(), "{}: unknown fact {f}", p.id);
            }
        }
    }
}

fn now() -> jiff::Timestamp {
    "2026-01-05T09:00:00Z".parse().unwrap()
}

#[derive(Default)]
struct Sink {
    got: Mutex<Vec<(String, String)>>,
    blocked: Vec<String>,
}

impl Deliver for Sink {
    fn accepts(&self, user: &str) -> bool {
        user.starts_with("test:")
    }

    fn deliver<'a>(&'a self, user: &'a str, messages: Vec<Message>) -> DeliveryFuture<'a> {
        Box::pin(async move {
            if self.blocked.iter().any(|b| b == user) {
                return Err(DeliveryError::Unreachable(user.into()));
            }
            self.got
                .lock()
                .unwrap()
                .push((user.to_string(), text(&messages)));
            Ok(())
        })
    }
}

/// Creates a reminder due a few minutes ago (as if the process had been down), then starts the
/// real scheduler task and waits for the delivery.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scheduler_task_delivers_an_overdue_reminder_once_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let ten_min_ago = jiff::Timestamp::now() - jiff::SignedDuration::from_mins(10);
    {
        // First "process": make a reminder due in a minute, as of ten minutes ago.
        let store: Arc<dyn Store> = Arc::new(SledStore::open(dir.path()).unwrap());
        let session = Session::new(catalog(), store);
        // No quiet hours: this test runs at whatever time the machine says.
        session
            .handle(
                "test:late",
                Input::Text("/remind quiet off".into()),
                None,
                ten_min_ago,
            )
            .await
            .unwrap();
        session
            .handle(
                "test:late",
                Input::Text("/remind lens in 1 minute".into()),
                None,
                ten_min_ago,
            )
            .await
            .unwrap();
    }
    // Second "process", started after the due time.
    let store: Arc<dyn Store> = Arc::new(SledStore::open(dir.path()).unwrap());
    let session = Arc::new(Session::new(catalog(), store.clone()));
    let sink = Arc::new(Sink::default());
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let (mut s1, mut s2) = (stopped.clone(), stopped);
    let task = tokio::spawn(scheduler::run(
        session.clone(),
        Arc::new(|to: &str| to.starts_with("test:")),
        async move {
            let _ = s1.changed().await;
        },
    ));
    let sending = tokio::spawn(sender::run(session.clone(), sink.clone(), async move {
        let _ = s2.changed().await;
    }));
    for _ in 0..50 {
        if !sink.got.lock().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Give it a chance to (wrongly) deliver twice.
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.send(true).unwrap();
    task.await.unwrap();
    sending.await.unwrap();
    let got = sink.got.lock().unwrap().clone();
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(
        got[0].1.contains("lensbot was offline then, so it's late"),
        "{}",
        got[0].1
    );
    assert_eq!(store.next_due().await.unwrap(), None);
}

#[tokio::test]
async fn an_unreachable_person_is_marked_and_not_retried() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let session = Session::new(catalog(), store.clone());
    let t0: jiff::Timestamp = "2026-01-05T10:00:00Z".parse().unwrap();
    session
        .handle(
            "test:gone",
            Input::Text("/remind lens every day 09:00".into()),
            None,
            t0,
        )
        .await
        .unwrap();
    let sink = Sink {
        blocked: vec!["test:gone".into()],
        ..Sink::default()
    };
    let day1: jiff::Timestamp = "2026-01-06T09:00:00Z".parse().unwrap();
    let run = sender::run_due(&session, day1, &sink).await.unwrap();
    assert_eq!(run.unreachable, 1);
    assert!(
        store
            .get_user("test:gone")
            .await
            .unwrap()
            .unwrap()
            .unreachable
    );
    // The next day nothing is attempted; the schedule still moves on.
    let day2: jiff::Timestamp = "2026-01-07T09:00:00Z".parse().unwrap();
    let run = sender::run_due(&session, day2, &sink).await.unwrap();
    assert_eq!((run.delivered, run.unreachable, run.silent), (0, 0, 1));
    // Writing again makes them reachable.
    session
        .handle("test:gone", Input::Text("/help".into()), None, day2)
        .await
        .unwrap();
    assert!(
        !store
            .get_user("test:gone")
            .await
            .unwrap()
            .unwrap()
            .unreachable
    );
}

#[tokio::test]
async fn forget_me_removes_reminders_from_the_due_index() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let session = Session::new(catalog(), store.clone());
    session
        .handle(
            "test:f",
            Input::Text("/remind lens every day 09:00".into()),
            None,
            now(),
        )
        .await
        .unwrap();
    assert!(store.next_due().await.unwrap().is_some());
    session
        .handle("test:f", Input::Text("/forgetme".into()), None, now())
        .await
        .unwrap();
    session
        .handle("test:f", Input::Text("yes".into()), None, now())
        .await
        .unwrap();
    assert_eq!(store.next_due().await.unwrap(), None);
}

/// Starts the real scheduler task with two unreadable records (one written by a newer lensbot,
/// one damaged) whose reminders were due ten minutes ago, and a readable person's reminder due
/// a few seconds later.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scheduler_task_delivers_on_time_past_records_it_cannot_read() {
    // Proves that unreadable records stuck at the head of the due index hold back nobody:
    // the readable person's reminder arrives within a few seconds of its time (the scheduler
    // used to sleep a whole minute while anything overdue stayed in the index), and the stuck
    // entries stay in the index for when their records can be read.
    let mem = Arc::new(MemoryStore::new());
    let store: Arc<dyn Store> = mem.clone();
    let session = Arc::new(Session::new(catalog(), store.clone()));
    let real_now = jiff::Timestamp::now();
    let ago = |secs: i64| real_now - jiff::SignedDuration::from_secs(secs);
    for words in ["/remind quiet off", "/remind lens in 1 minute"] {
        session
            .handle("test:ok", Input::Text(words.into()), None, ago(56))
            .await
            .unwrap();
    }
    let due = store.get_user("test:ok").await.unwrap().unwrap().reminders[0]
        .next
        .unwrap();
    mem.put_raw_user("test:newer", br#"{"v":99,"user":"test:newer"}"#.to_vec());
    mem.put_raw_user("test:broken", b"not json".to_vec());
    for user in ["test:newer", "test:broken"] {
        store
            .put_due(&lensbot::store::DueEntry {
                at: ago(600),
                user: user.into(),
                reminder: "r1".into(),
            })
            .await
            .unwrap();
    }
    let sink = Arc::new(Sink::default());
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let (mut s1, mut s2) = (stopped.clone(), stopped);
    let task = tokio::spawn(scheduler::run(
        session.clone(),
        Arc::new(|to: &str| to.starts_with("test:")),
        async move {
            let _ = s1.changed().await;
        },
    ));
    let sending = tokio::spawn(sender::run(session.clone(), sink.clone(), async move {
        let _ = s2.changed().await;
    }));
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut arrived = None;
    while std::time::Instant::now() < deadline {
        if !sink.got.lock().unwrap().is_empty() {
            arrived = Some(jiff::Timestamp::now());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.send(true).unwrap();
    task.await.unwrap();
    sending.await.unwrap();
    let arrived = arrived.expect("the readable person's reminder was never delivered");
    let late = arrived.duration_since(due);
    assert!(
        late < jiff::SignedDuration::from_secs(10),
        "delivered {late:?} after it was due"
    );
    let got = sink.got.lock().unwrap().clone();
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].0, "test:ok");
    assert_eq!(store.due_until(real_now).await.unwrap().len(), 2);
}
