//! One person on both platforms (issue 18, part 1): `/link` codes and what linking means.
//!
//! The first tests drive the session directly (codes that run out, are used once, guessing
//! refused; a merge that keeps both histories; two platforms writing at once; forgetting from
//! either account; unlinking). The last one goes through both fakes at once, a Telegram and a
//! Discord adapter over one store, as a person would use them.

use crate::helpers::{catalog, text};
use jiff::Timestamp;
use lensbot::engine::{Input, Message};
use lensbot::session::Session;
use lensbot::store::{MemoryStore, Store};
use std::sync::Arc;

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

const TG: &str = "telegram:2001";
const DC: &str = "discord:3001";

struct Run {
    session: Arc<Session>,
    now: Timestamp,
}

impl Run {
    fn new() -> Run {
        let now = ts("2026-12-01T10:00:00Z");
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        Run {
            session: Arc::new(Session::new(catalog(), store).with_manual_clock(now)),
            now,
        }
    }

    async fn say(&self, user: &str, s: &str) -> Vec<Message> {
        self.session
            .handle(user, Input::Text(s.into()), None, self.now)
            .await
            .unwrap()
            .messages
    }

    async fn press(&self, user: &str, ms: &[Message], label: &str) -> Vec<Message> {
        let token = ms
            .iter()
            .flat_map(|m| m.buttons.iter())
            .find(|b| b.label == label)
            .unwrap_or_else(|| panic!("no button {label:?} in {}", text(ms)))
            .token
            .clone();
        self.session
            .handle(user, Input::Button(token), None, self.now)
            .await
            .unwrap()
            .messages
    }

    fn later(&mut self, minutes: i64) {
        self.now += jiff::SignedDuration::from_mins(minutes);
        self.session.set_now(self.now);
    }

    /// A code made with `/link` on `user`'s account, as shown (`ABCD-2345`).
    async fn code(&self, user: &str) -> String {
        code_in(&text(&self.say(user, "/link").await))
    }

    async fn record(&self, key: &str) -> Option<lensbot::engine::UserState> {
        self.session.store().get_user(key).await.unwrap()
    }
}

/// The code in a `/link` answer.
pub(crate) fn code_in(said: &str) -> String {
    let re = regex_lite::Regex::new(r"\b([A-Z2-9]{4}-[A-Z2-9]{4})\b").unwrap();
    re.captures(said)
        .unwrap_or_else(|| panic!("no code in {said}"))[1]
        .to_string()
}

// Proves a code works once, for ten minutes only, and only on another platform; and that an
// account cannot guess: after five wrong codes even the right one is refused until the window
// has passed.
#[tokio::test]
async fn codes_run_out_work_once_and_cannot_be_guessed() {
    let mut r = Run::new();
    let code = r.code(TG).await;
    assert!(text(&r.say(TG, &format!("/link {code}")).await).contains("made on this account"));
    r.later(11);
    let late = text(&r.say(DC, &format!("/link {code}")).await);
    assert!(late.contains("not one I know, or it has run out"), "{late}");
    assert!(r.record(TG).await.is_none_or(|s| s.accounts.is_empty()));

    // A fresh code works once; a second account cannot use it again.
    let code = r.code(TG).await;
    let done = text(&r.say(DC, &format!("/link {}", code.to_lowercase())).await);
    assert!(done.contains("now linked"), "{done}");
    let again = text(&r.say("discord:3002", &format!("/link {code}")).await);
    assert!(again.contains("not one I know"), "{again}");
    // An earlier code stops working when a new one is made.
    let first = r.code("telegram:2002").await;
    let second = r.code("telegram:2002").await;
    assert!(
        text(&r.say("discord:3003", &format!("/link {first}")).await).contains("not one I know")
    );

    // Guessing: five wrong codes, then even the right one waits.
    for guess in [
        "AAAA-AAAA",
        "BBBB-BBBB",
        "CCCC-CCCC",
        "DDDD-DDDD",
        "not a code",
    ] {
        let said = text(&r.say("discord:3004", &format!("/link {guess}")).await);
        assert!(!said.contains("now linked"), "{said}");
    }
    let refused = text(&r.say("discord:3004", &format!("/link {second}")).await);
    assert!(refused.contains("Too many codes"), "{refused}");
    assert!(
        r.record("telegram:2002")
            .await
            .is_none_or(|s| s.accounts.is_empty())
    );
    r.later(10);
    let second = r.code("telegram:2002").await;
    let done = text(&r.say("discord:3004", &format!("/link {second}")).await);
    assert!(done.contains("now linked"), "{done}");
}

// Proves linking two accounts with histories keeps both: reflections and notes from each, the
// further point in a lens, and says what it brought across; afterwards either account reads
// and writes the one record.
#[tokio::test]
async fn linking_two_histories_keeps_both() {
    let r = Run::new();
    r.say(TG, "/note written on telegram").await;
    r.say(DC, "/note written on discord").await;
    r.say(DC, "/note another from discord").await;
    let code = r.code(TG).await;
    let done = text(&r.say(DC, &format!("/link {code}")).await);
    assert!(done.contains("notes: 2"), "{done}");
    let journal = text(&r.say(TG, "/journal").await);
    for n in [
        "written on telegram",
        "written on discord",
        "another from discord",
    ] {
        assert!(journal.contains(n), "{n} missing from {journal}");
    }
    r.say(DC, "/note a third from discord").await;
    let home = r.record(TG).await.unwrap();
    assert_eq!(home.notes.len(), 4);
    assert_eq!(home.accounts, [DC]);
    let stub = r.record(DC).await.unwrap();
    assert_eq!(stub.linked_to.as_deref(), Some(TG));
    assert!(
        stub.notes.is_empty(),
        "the account's own record keeps nothing"
    );
    // Already linked: a second code is refused with a reason.
    let code = r.code("telegram:2009").await;
    let said = text(&r.say(DC, &format!("/link {code}")).await);
    assert!(said.contains("already linked"), "{said}");
}

// Proves the linked person is stepped one message at a time whichever platform each comes
// from: forty notes sent at once from both accounts are all kept (a lost update would drop
// some).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_platforms_at_once_are_one_queue() {
    let r = Run::new();
    let code = r.code(TG).await;
    r.say(DC, &format!("/link {code}")).await;
    let mut tasks = Vec::new();
    for i in 0..40 {
        let s = r.session.clone();
        let who = if i % 2 == 0 { TG } else { DC };
        let now = r.now;
        tasks.push(tokio::spawn(async move {
            s.handle(who, Input::Text(format!("/note n{i}")), None, now)
                .await
                .unwrap()
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let home = r.record(TG).await.unwrap();
    assert_eq!(home.notes.len(), 40, "every note kept");
}

// Proves /forgetme from the linked account (not the one whose key holds the record) erases
// the person on both platforms, says so before and after, and leaves no record behind.
#[tokio::test]
async fn forget_me_from_either_account_erases_both() {
    for from in [DC, TG] {
        let r = Run::new();
        r.say(TG, "/note private words").await;
        let code = r.code(TG).await;
        r.say(DC, &format!("/link {code}")).await;
        let ask = r.say(from, "/forgetme").await;
        assert!(
            text(&ask).contains("on every platform you linked"),
            "{}",
            text(&ask)
        );
        let done = r.press(from, &ask, "Yes, delete everything").await;
        assert!(text(&done).contains("on every platform"), "{}", text(&done));
        assert!(r.record(TG).await.is_none(), "from {from}");
        assert!(r.record(DC).await.is_none(), "from {from}");
        let journal = text(&r.say(TG, "/journal").await);
        assert!(!journal.contains("private words"));
    }
}

// Proves /unlink asks which account keeps everything, and does what was chosen: the chosen
// account keeps the whole record, the other starts afresh; reminders stay with the record.
#[tokio::test]
async fn unlink_keeps_everything_on_the_chosen_account() {
    let r = Run::new();
    r.say(TG, "/note kept somewhere").await;
    let code = r.code(TG).await;
    r.say(DC, &format!("/link {code}")).await;
    let ask = r.say(TG, "/unlink").await;
    let done = r.press(TG, &ask, "Keep everything on Discord").await;
    let said = text(&done);
    assert!(said.contains("stays with your Discord account"), "{said}");
    let kept = r.record(DC).await.unwrap();
    assert_eq!(kept.notes.len(), 1);
    assert!(kept.linked_to.is_none() && kept.accounts.is_empty());
    assert!(r.record(TG).await.is_none(), "Telegram starts afresh");
    assert!(text(&r.say(TG, "/unlink").await).contains("not linked"));
}
