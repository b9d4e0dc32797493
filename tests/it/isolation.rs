//! Records that cannot be read (written by a newer lensbot, or damaged) harm no one else: the
//! due sweep, challenge posts and prompts, `/challenge`, `/mydata` and `/forgetme` skip them
//! and carry on, warning once per key (the key, never the content); the person whose record it
//! is hears plainly why nothing they send is saved, once per event, and their record is left
//! exactly as it was.

use crate::helpers::{catalog, text};
use jiff::Timestamp;
use lensbot::challenge::group::{Actor, Group};
use lensbot::challenge::{self, META_PREFIX};
use lensbot::engine::{Input, Message};
use lensbot::sender::{self, Deliver, DeliveryFuture};
use lensbot::session::{Event, Session};
use lensbot::store::{DueEntry, MemoryStore, Store, StoreError};
use std::sync::{Arc, Mutex};

/// What the sender delivers, by recipient.
#[derive(Default)]
struct Sink {
    got: Mutex<Vec<(String, String)>>,
}

impl Sink {
    fn to(&self, who: &str) -> Vec<String> {
        self.got
            .lock()
            .unwrap()
            .iter()
            .filter(|(k, _)| k == who)
            .map(|(_, t)| t.clone())
            .collect()
    }
}

impl Deliver for Sink {
    fn accepts(&self, _: &str) -> bool {
        true
    }

    fn deliver<'a>(&'a self, user: &'a str, messages: Vec<Message>) -> DeliveryFuture<'a> {
        Box::pin(async move {
            self.got
                .lock()
                .unwrap()
                .push((user.to_string(), text(&messages)));
            Ok(())
        })
    }
}

/// The log lines written while the guard lives (this thread only: the tests run on one).
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    fn capture(&self) -> tracing::subscriber::DefaultGuard {
        let me = self.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::WARN)
            .with_ansi(false)
            .with_writer(move || me.clone())
            .finish();
        tracing::subscriber::set_default(subscriber)
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }

    /// Warning lines that name `key`.
    fn warnings_naming(&self, key: &str) -> usize {
        self.text()
            .lines()
            .filter(|l| l.contains("WARN") && l.contains(&format!("key=\"{key}\"")))
            .count()
    }
}

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

const NEWER: &str = "test:newer";
const BROKEN: &str = "test:broken";
const OK: &str = "test:ok";
/// A record a newer lensbot wrote: well-formed, format version 99.
const NEWER_BYTES: &[u8] = br#"{"v":99,"user":"test:newer","future":"SENTINEL-newer"}"#;
/// A damaged record: cut off in the middle of what someone wrote.
const BROKEN_BYTES: &[u8] = br#"{"v":1,"user":"test:broken","notes":[{"text":"SENTINEL-broken"#;

fn stores() -> (Arc<MemoryStore>, Arc<dyn Store>) {
    let mem = Arc::new(MemoryStore::new());
    let store: Arc<dyn Store> = mem.clone();
    (mem, store)
}

/// Plants the two unreadable people, each with a reminder due at `at` (before anyone else's).
async fn plant_unreadable_people(mem: &MemoryStore, at: Timestamp) {
    mem.put_raw_user(NEWER, NEWER_BYTES.to_vec());
    mem.put_raw_user(BROKEN, BROKEN_BYTES.to_vec());
    for user in [NEWER, BROKEN] {
        mem.put_due(&DueEntry {
            at,
            user: user.into(),
            reminder: "r1".into(),
        })
        .await
        .unwrap();
    }
}

#[test]
fn store_errors_say_whether_they_are_about_one_record() {
    // Proves the split the sweeps rely on: a record that cannot be read names its key; a
    // failing store names none (and so is never skipped).
    let corrupt = StoreError::Corrupt {
        key: "k1".into(),
        reason: "syntax".into(),
    };
    let newer = StoreError::TooNew {
        key: "k2".into(),
        version: 9,
        supported: 1,
    };
    assert_eq!(corrupt.unreadable_key(), Some("k1"));
    assert_eq!(newer.unreadable_key(), Some("k2"));
    assert_eq!(StoreError::Io("disk full".into()).unreadable_key(), None);
    assert_eq!(StoreError::Locked("/x".into()).unreadable_key(), None);
}

#[tokio::test]
async fn unreadable_people_do_not_hold_back_another_persons_reminder() {
    // Proves (a): with a newer-format and a damaged record due first, a third person's
    // reminder is still delivered on time in the same sweep; the warnings name both keys (and
    // nothing they hold), once each however often the sweep runs; the entries are kept for
    // when the records can be read again, and the records are not touched.
    let logs = Logs::default();
    let _guard = logs.capture();
    let (mem, store) = stores();
    let session = Session::new(catalog(), store.clone());
    let t0 = ts("2026-01-05T10:00:00Z");
    session
        .handle(
            OK,
            Input::Text("/remind lens every day 09:00".into()),
            None,
            t0,
        )
        .await
        .unwrap();
    plant_unreadable_people(&mem, ts("2026-01-06T08:00:00Z")).await;
    let sink = Sink::default();
    let day1 = ts("2026-01-06T09:00:00Z");
    let run = sender::run_due(&session, day1, &sink).await.unwrap();
    assert_eq!((run.delivered, run.unreadable), (1, 2), "{run:?}");
    let got = sink.to(OK);
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(!got[0].contains("late"), "delivered on time: {}", got[0]);
    assert!(sink.to(NEWER).is_empty() && sink.to(BROKEN).is_empty());
    assert_eq!(logs.warnings_naming(NEWER), 1, "{}", logs.text());
    assert_eq!(logs.warnings_naming(BROKEN), 1, "{}", logs.text());
    assert!(!logs.text().contains("SENTINEL"), "{}", logs.text());
    assert_eq!(session.unreadable_seen(), [BROKEN, NEWER]);

    // The next sweep (a minute later) skips them again, without a second warning.
    let run = sender::run_due(&session, ts("2026-01-06T09:01:00Z"), &sink)
        .await
        .unwrap();
    assert_eq!((run.delivered, run.unreadable), (0, 2), "{run:?}");
    assert_eq!(logs.warnings_naming(NEWER), 1, "{}", logs.text());
    assert_eq!(logs.warnings_naming(BROKEN), 1, "{}", logs.text());
    let waiting: Vec<String> = store
        .due_until(day1)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.user)
        .collect();
    assert_eq!(waiting, [BROKEN, NEWER], "kept for when they can be read");
    assert_eq!(mem.raw_user(NEWER).unwrap(), NEWER_BYTES);
    assert_eq!(mem.raw_user(BROKEN).unwrap(), BROKEN_BYTES);

    // A doctor-style scan finds exactly the two.
    let bad = lensbot::session::unreadable_records(store.as_ref())
        .await
        .unwrap();
    let mut keys: Vec<&str> = bad.iter().filter_map(|e| e.unreadable_key()).collect();
    keys.sort();
    assert_eq!(keys, [BROKEN, NEWER]);
}

const GOOD: &str = "telegram:chat:-1001";
const BAD: &str = "telegram:chat:-1002";

fn admin() -> Actor {
    Actor {
        user: "test:fac".into(),
        name: "Fran".into(),
        admin: true,
    }
}

fn group(key: &str) -> Group {
    Group {
        key: key.into(),
        title: "North AHP network".into(),
    }
}

/// A good challenge in `GOOD` starting 23 Nov 08:00 with `member` in it, and a damaged record
/// for `BAD` whose post and a prompt fall due before the good one's.
async fn good_and_damaged_challenges(
    session: &Session,
    mem: &MemoryStore,
    member: &str,
    now: Timestamp,
) {
    let announce = session
        .group_command(&group(GOOD), &admin(), "start six days tomorrow 08:00", now)
        .await
        .unwrap();
    let join = announce
        .iter()
        .flat_map(|m| m.buttons.iter())
        .find(|b| b.label == "Join")
        .expect("a Join button")
        .token
        .clone();
    let joined = session
        .handle(member, Input::Button(join), None, now)
        .await
        .unwrap();
    assert!(
        text(&joined.messages).contains("You've joined"),
        "{}",
        text(&joined.messages)
    );
    let damaged = format!(r#"{{"v":1,"group":"{BAD}","title":"SENTINEL-group"#);
    mem.put_meta(&challenge::meta_key(BAD), damaged.as_bytes())
        .await
        .unwrap();
    let early = ts("2026-11-23T07:00:00Z");
    for reminder in [challenge::POST.to_string(), challenge::prompt_id(member)] {
        mem.put_due(&DueEntry {
            at: early,
            user: BAD.into(),
            reminder,
        })
        .await
        .unwrap();
    }
}

#[tokio::test]
async fn a_damaged_challenge_record_does_not_hold_back_another_groups_post() {
    // Proves (b): with a damaged challenge record whose post and prompt fall due first, the
    // good challenge's post and its member's prompt are delivered on time in the same sweep;
    // the warning names the damaged record's key once (never its content); the member's
    // `/challenge` status and `/mydata` still list the good challenge; a command in the
    // damaged group gets a plain answer instead of "try again".
    let logs = Logs::default();
    let _guard = logs.capture();
    let (mem, store) = stores();
    let session = Session::new(catalog(), store.clone());
    const ASHA: &str = "test:asha";
    good_and_damaged_challenges(&session, &mem, ASHA, ts("2026-11-22T12:00:00Z")).await;

    let sink = Sink::default();
    let first = ts("2026-11-23T08:00:00Z");
    let run = sender::run_due(&session, first, &sink).await.unwrap();
    assert_eq!(run.unreadable, 2, "{run:?}");
    let posts = sink.to(GOOD);
    assert_eq!(posts.len(), 1, "{posts:?}");
    assert!(posts[0].contains("Day 1 of 6"), "{}", posts[0]);
    let prompts = sink.to(ASHA);
    assert_eq!(prompts.len(), 1, "{prompts:?}");
    assert!(sink.to(BAD).is_empty());
    let bad_key = format!("{META_PREFIX}{BAD}");
    assert_eq!(logs.warnings_naming(&bad_key), 1, "{}", logs.text());
    assert!(!logs.text().contains("SENTINEL"), "{}", logs.text());

    let status = session
        .handle(ASHA, Input::Text("/challenge".into()), None, first)
        .await
        .unwrap();
    assert!(
        text(&status.messages).contains("North AHP network"),
        "{}",
        text(&status.messages)
    );
    let mydata = session
        .handle(ASHA, Input::Text("/mydata".into()), None, first)
        .await
        .unwrap();
    assert!(
        text(&mydata.messages).contains("North AHP network"),
        "{}",
        text(&mydata.messages)
    );

    // A facilitator's command in the damaged group: a plain answer, applied once.
    let reply = session.group_reply(&group(BAD), &admin(), "status").await;
    let said = text(&reply);
    assert!(
        said.contains("can't read this group's challenge record"),
        "{said}"
    );
    assert!(!said.contains("try again"), "{said}");
    let mut ev = Event::new("test:fac", Input::Text(String::new()));
    ev.id = Some("tg:g1".into());
    ev.to = Some(BAD.into());
    session
        .group_answer(&group(BAD), &admin(), "status", &ev)
        .await;
    assert!(
        store.event_seen("tg:g1").await.unwrap(),
        "not retried forever"
    );
    assert_eq!(logs.warnings_naming(&bad_key), 1, "{}", logs.text());
}

/// Sends `words` as a platform event (with an id, the reply through the outbox).
async fn send(session: &Session, user: &str, words: &str, id: &str) -> lensbot::session::Reply {
    let mut ev = Event::new(user, Input::Text(words.into()));
    ev.id = Some(id.into());
    ev.to = Some(user.into());
    session
        .handle_event(ev, ts("2026-01-05T10:00:00Z"))
        .await
        .expect("a plain answer, not an error")
}

#[tokio::test]
async fn the_person_whose_record_cannot_be_read_hears_why_once() {
    // Proves (c): a person whose record a newer lensbot wrote, and one whose record is
    // damaged, each get a plain answer through the outbox (never "try again"), once per event
    // (a replayed copy owes nothing more), the event is marked applied, and their stored
    // record is byte for byte what it was.
    let (mem, store) = stores();
    let session = Session::new(catalog(), store.clone());
    mem.put_raw_user(NEWER, NEWER_BYTES.to_vec());
    mem.put_raw_user(BROKEN, BROKEN_BYTES.to_vec());
    for (who, bytes, expect, id) in [
        (
            NEWER,
            NEWER_BYTES,
            "written by a newer version of lensbot",
            "tg:1",
        ),
        (BROKEN, BROKEN_BYTES, "damaged", "tg:2"),
    ] {
        let reply = send(&session, who, "/note SENTINEL my own words", id).await;
        let said = text(&reply.messages);
        assert!(said.contains(expect), "{said}");
        assert!(said.contains("was not saved"), "{said}");
        assert!(!said.contains("try again"), "{said}");
        let owed: Vec<String> = store
            .outbox()
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.to == who)
            .map(|e| text(&e.messages))
            .collect();
        assert_eq!(
            owed,
            std::slice::from_ref(&said),
            "owed once, through the outbox"
        );
        assert!(store.event_seen(id).await.unwrap(), "recorded as applied");
        // The platform delivers the same update again: nothing more is owed.
        let again = send(&session, who, "/note SENTINEL my own words", id).await;
        assert!(again.duplicate && again.messages.is_empty());
        let owed = store
            .outbox()
            .await
            .unwrap()
            .iter()
            .filter(|e| e.to == who)
            .count();
        assert_eq!(owed, 1);
        // A button press, a challenge request and the terminal (no id, no outbox) too.
        for input in [
            Input::Button("menu".into()),
            Input::Text("/challenge".into()),
        ] {
            let r = session
                .handle(who, input, None, ts("2026-01-05T10:00:00Z"))
                .await
                .expect("a plain answer, not an error");
            assert!(text(&r.messages).contains(expect), "{}", text(&r.messages));
        }
        assert_eq!(mem.raw_user(who).unwrap(), bytes, "nothing overwritten");
    }
}

#[tokio::test]
async fn forget_me_goes_through_beside_a_damaged_challenge_record() {
    // Proves (d): a person in a good challenge asks to be forgotten while another group's
    // challenge record is damaged; they are still removed from the good challenge, and their
    // record is gone.
    let (mem, store) = stores();
    let session = Session::new(catalog(), store.clone());
    const BEN: &str = "test:ben";
    let now = ts("2026-11-22T12:00:00Z");
    good_and_damaged_challenges(&session, &mem, BEN, now).await;
    assert!(
        session
            .challenge(GOOD)
            .await
            .unwrap()
            .unwrap()
            .member(BEN)
            .is_some()
    );
    for words in ["/forgetme", "yes"] {
        session
            .handle(BEN, Input::Text(words.into()), None, now)
            .await
            .unwrap();
    }
    let good = session.challenge(GOOD).await.unwrap().unwrap();
    assert!(
        good.member(BEN).is_none(),
        "still counted in the good challenge"
    );
    assert!(
        store.get_user(BEN).await.unwrap().is_none(),
        "record still there"
    );
    // The damaged record is left exactly as it is.
    assert!(session.challenge(BAD).await.is_err());
}
