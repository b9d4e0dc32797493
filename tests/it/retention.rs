//! Retention (issue 14, item 5), with the manual clock: a person's data is deleted through the
//! one forget path after 24 months without activity (or the 6 or 12 they choose with
//! `/retention`), with a warning a month before that offers `/export` and says how to keep it;
//! any activity resets the clock; records from before the clock existed are dated honestly.

use crate::helpers::{catalog, text};
use jiff::{Span, Timestamp};
use lensbot::engine::retention;
use lensbot::engine::{Input, UserState};
use lensbot::session::Session;
use lensbot::store::{MemoryStore, Store};
use std::sync::Arc;

const ME: &str = "test:retained";

fn t0() -> Timestamp {
    "2026-03-02T10:00:00Z".parse().unwrap()
}

fn plus(t: Timestamp, months: i64, days: i64) -> Timestamp {
    t.to_zoned(jiff::tz::TimeZone::UTC)
        .checked_add(Span::new().months(months).days(days))
        .unwrap()
        .timestamp()
}

fn everyone(_: &str) -> bool {
    true
}

struct Rig {
    store: Arc<MemoryStore>,
    session: Session,
}

impl Rig {
    fn new() -> Rig {
        let store = Arc::new(MemoryStore::new());
        let session = Session::new(catalog(), store.clone()).with_manual_clock(t0());
        Rig { store, session }
    }

    async fn say(&self, t: &str) -> String {
        let now = self.session.now();
        let r = self
            .session
            .handle(ME, Input::Text(t.into()), None, now)
            .await
            .unwrap();
        text(&r.messages)
    }

    async fn sweep_at(&self, at: Timestamp) -> usize {
        self.session.set_now(at);
        self.session
            .sweep_retention(at, &everyone)
            .await
            .unwrap()
            .handled
    }

    /// Everything owed to the person so far, as text.
    async fn owed(&self) -> String {
        self.store
            .outbox()
            .await
            .unwrap()
            .iter()
            .filter(|e| e.to == ME)
            .map(|e| text(&e.messages))
            .collect::<Vec<_>>()
            .join("\n---\n")
    }

    async fn stored(&self) -> Option<UserState> {
        self.store.get_user(ME).await.unwrap()
    }
}

#[tokio::test]
async fn warned_a_month_before_then_deleted_with_nothing_left() {
    // Proves the whole clock: nothing before the warning time; a warning a month before the
    // deadline (24 months after the last activity, from the next UTC midnight) that names the
    // date, offers /export and says how to keep the data; the same sweep again changes
    // nothing; at the deadline everything goes through the forget path (no record, no due
    // entry, a tombstone) with a message that says why.
    let r = Rig::new();
    r.say("/note a private note").await;
    assert_eq!(r.stored().await.unwrap().last_active, Some(t0()));
    let deadline: Timestamp = "2028-03-03T00:00:00Z".parse().unwrap();
    assert_eq!(
        retention::deadline(&r.stored().await.unwrap()),
        Some(deadline)
    );
    let warn_at = deadline.checked_sub(retention::NOTICE).unwrap();
    assert_eq!(
        r.sweep_at(
            warn_at
                .checked_sub(jiff::SignedDuration::from_secs(1))
                .unwrap()
        )
        .await,
        0
    );
    assert!(r.owed().await.is_empty());
    assert_eq!(r.sweep_at(warn_at).await, 1);
    let warning = r.owed().await;
    assert!(warning.contains("3 March 2028"), "{warning}");
    assert!(warning.contains("/export"), "{warning}");
    assert!(
        warning.contains("any activity starts the clock"),
        "{warning}"
    );
    assert!(r.stored().await.unwrap().retention_warned.is_some());
    assert_eq!(r.sweep_at(warn_at).await, 0, "warned once");
    assert_eq!(r.sweep_at(plus(warn_at, 0, 29)).await, 0);
    assert!(r.stored().await.is_some());
    assert_eq!(r.sweep_at(deadline).await, 1);
    assert!(r.stored().await.is_none(), "the record is gone");
    assert!(!r.store.users().await.unwrap().contains(&ME.to_string()));
    assert!(
        r.store
            .due_until(Timestamp::MAX)
            .await
            .unwrap()
            .iter()
            .all(|e| e.user != ME)
    );
    assert!(
        r.store
            .get_meta(&lensbot::session::tombstone_key(ME))
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        r.owed().await.contains("has been deleted"),
        "{}",
        r.owed().await
    );
    assert!(!r.owed().await.contains("a private note"));
}

#[tokio::test]
async fn any_activity_resets_the_clock_even_after_the_warning() {
    // Proves "any activity resets the clock": after the warning, pressing its "Keep my data"
    // button (or doing anything) clears the warning and moves the deadline 24 months on; the
    // old deadline passes with the data kept.
    let r = Rig::new();
    r.say("/note kept").await;
    let deadline = retention::deadline(&r.stored().await.unwrap()).unwrap();
    let warn_at = deadline.checked_sub(retention::NOTICE).unwrap();
    r.sweep_at(warn_at).await;
    let out = r.store.outbox().await.unwrap();
    let keep = out
        .iter()
        .flat_map(|e| &e.messages)
        .flat_map(|m| &m.buttons)
        .find(|b| b.label == "Keep my data")
        .expect("a Keep my data button")
        .token
        .clone();
    let later = plus(warn_at, 0, 1);
    r.session.set_now(later);
    let reply = r
        .session
        .handle(ME, Input::Button(keep), None, later)
        .await
        .unwrap();
    assert!(
        text(&reply.messages).contains("I will keep it"),
        "{}",
        text(&reply.messages)
    );
    let st = r.stored().await.unwrap();
    assert_eq!(st.retention_warned, None);
    assert_eq!(st.last_active, Some(later));
    assert_eq!(r.sweep_at(deadline).await, 0);
    assert!(r.stored().await.is_some(), "kept past the old deadline");
    assert!(retention::deadline(&r.stored().await.unwrap()).unwrap() > plus(deadline, 23, 0));
}

#[tokio::test]
async fn a_shorter_period_is_chosen_with_retention() {
    // Proves /retention: the current setting is shown with choices, "6" sets six months (and
    // /mydata says so), the sweep deletes after six months.
    let r = Rig::new();
    let menu = r.say("/retention").await;
    assert!(menu.contains("24 months without activity"), "{menu}");
    assert!(
        menu.contains("6 months") && menu.contains("12 months"),
        "{menu}"
    );
    let set = r.say("/retention 6").await;
    assert!(set.contains("after 6 months without activity"), "{set}");
    let mydata = r.say("/mydata").await;
    assert!(
        mydata.contains("after 6 months without activity"),
        "{mydata}"
    );
    let unknown = r.say("/retention 5").await;
    assert!(unknown.contains("Choose 6, 12 or 24 months"), "{unknown}");
    let deadline = retention::deadline(&r.stored().await.unwrap()).unwrap();
    assert_eq!(
        deadline,
        "2026-09-03T00:00:00Z".parse::<Timestamp>().unwrap()
    );
    r.sweep_at(deadline.checked_sub(retention::NOTICE).unwrap())
        .await;
    r.sweep_at(deadline).await;
    assert!(r.stored().await.is_none());
}

#[tokio::test]
async fn a_record_from_before_the_clock_is_dated_by_its_last_change() {
    // Proves the honest default for old records: a stored record without `last_active` (as
    // lensbot wrote before retention existed) loads, and its clock is its last change; it is
    // found by the sweep although it has no due entry, warned and then deleted.
    let r = Rig::new();
    let old = br#"{"v":1,"user":"test:retained","created":"2024-01-10T09:00:00Z","updated":"2024-02-01T09:00:00Z","welcomed":true,"notes":[{"text":"old","lens":null,"at":"2024-02-01T09:00:00Z"}]}"#;
    let st = lensbot::store::codec::decode(ME, old).unwrap();
    assert_eq!(st.last_active, None);
    assert_eq!(retention::last_activity(&st), st.updated);
    r.store.put_user(&st).await.unwrap();
    // Two years after February 2024: overdue by the time the new lensbot starts.
    let start: Timestamp = "2026-03-02T10:00:00Z".parse().unwrap();
    assert_eq!(r.sweep_at(start).await, 1);
    assert!(
        r.owed().await.contains("will be deleted"),
        "{}",
        r.owed().await
    );
    // The month of notice runs from the warning, not from the old deadline.
    assert_eq!(r.sweep_at(plus(start, 0, 29)).await, 0);
    assert!(r.stored().await.is_some());
    assert_eq!(r.sweep_at(plus(start, 0, 31)).await, 1);
    assert!(r.stored().await.is_none());
}

#[tokio::test]
async fn someone_who_cannot_be_reached_is_not_messaged_but_still_deleted() {
    // Proves "a message where they can be reached": the warning is recorded without a message
    // for someone marked unreachable, and the deletion still comes a month later.
    let r = Rig::new();
    r.say("/note x").await;
    r.session.mark_unreachable(ME).await.unwrap();
    let deadline = retention::deadline(&r.stored().await.unwrap()).unwrap();
    r.sweep_at(deadline.checked_sub(retention::NOTICE).unwrap())
        .await;
    assert!(
        !r.owed().await.contains("will be deleted"),
        "{}",
        r.owed().await
    );
    assert!(r.stored().await.unwrap().retention_warned.is_some());
    r.sweep_at(deadline).await;
    assert!(r.stored().await.is_none());
}

#[tokio::test]
async fn the_scheduler_task_sweeps_at_start() {
    // Proves the sweep is wired into the scheduler: a freshly started scheduler task (manual
    // clock) warns a person whose warning time has passed and deletes one whose month after
    // the warning has run out, without any due-index entry for either; polled with a deadline.
    let r = Rig::new();
    let other = "test:other";
    let now = r.session.now();
    r.session
        .handle(ME, Input::Text("/note a".into()), None, now)
        .await
        .unwrap();
    r.session
        .handle(other, Input::Text("/note b".into()), None, now)
        .await
        .unwrap();
    // ME was warned 31 days ago (so is due for deletion); the other has never been warned.
    let later = plus(now, 24, 5);
    let mut st = r.stored().await.unwrap();
    st.retention_warned = Some(plus(later, 0, -31));
    r.store.put_user(&st).await.unwrap();
    r.session.set_now(later);
    let session = Arc::new(r.session);
    let (stop, mut stopped) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(lensbot::scheduler::run(
        session.clone(),
        Arc::new(|to: &str| to.starts_with("test:")),
        async move {
            let _ = stopped.changed().await;
        },
    ));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let gone = r.store.get_user(ME).await.unwrap().is_none();
        let warned = r
            .store
            .get_user(other)
            .await
            .unwrap()
            .is_some_and(|s| s.retention_warned.is_some());
        if gone && warned {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "gone {gone}, warned {warned}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    stop.send(true).unwrap();
    task.await.unwrap();
}
