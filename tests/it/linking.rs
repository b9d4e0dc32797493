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

    /// `/link CODE` on `user`'s account, and "Yes, link them" when asked: what was said.
    async fn link(&self, user: &str, code: &str) -> String {
        let asked = self.say(user, &format!("/link {code}")).await;
        if !text(&asked).contains("Link these accounts?") {
            return text(&asked);
        }
        text(&self.press(user, &asked, "Yes, link them").await)
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
    assert!(r.link(TG, &code).await.contains("made on this account"));
    r.later(11);
    let late = r.link(DC, &code).await;
    assert!(late.contains("not one I know, or it has run out"), "{late}");
    assert!(r.record(TG).await.is_none_or(|s| s.accounts.is_empty()));

    // A fresh code works once; a second account cannot use it again.
    let code = r.code(TG).await;
    let done = r.link(DC, &code.to_lowercase()).await;
    assert!(done.contains("now linked"), "{done}");
    let again = r.link("discord:3002", &code).await;
    assert!(again.contains("not one I know"), "{again}");
    // An earlier code stops working when a new one is made.
    let first = r.code("telegram:2002").await;
    let second = r.code("telegram:2002").await;
    assert!(
        r.link("discord:3003", &first)
            .await
            .contains("not one I know")
    );

    // Guessing: five wrong codes, then even the right one waits.
    for guess in [
        "AAAA-AAAA",
        "BBBB-BBBB",
        "CCCC-CCCC",
        "DDDD-DDDD",
        "not a code",
    ] {
        let said = r.link("discord:3004", guess).await;
        assert!(!said.contains("now linked"), "{said}");
    }
    let refused = r.link("discord:3004", &second).await;
    assert!(refused.contains("Too many codes"), "{refused}");
    assert!(
        r.record("telegram:2002")
            .await
            .is_none_or(|s| s.accounts.is_empty())
    );
    r.later(10);
    let second = r.code("telegram:2002").await;
    let done = r.link("discord:3004", &second).await;
    assert!(done.contains("now linked"), "{done}");

    // Codes never used, and old counts of wrong tries, are dropped by the hourly prune.
    r.code("telegram:2003").await;
    r.link("discord:3005", "EEEE-EEEE").await;
    let link_keys = |keys: Vec<String>| -> Vec<String> {
        keys.into_iter().filter(|k| k.starts_with("link")).collect()
    };
    assert!(!link_keys(r.session.store().meta_keys().await.unwrap()).is_empty());
    r.later(11);
    assert!(r.session.prune_link_codes(r.now).await.unwrap() > 0);
    assert_eq!(
        link_keys(r.session.store().meta_keys().await.unwrap()),
        Vec::<String>::new()
    );
}

// Proves nobody is linked without being told what it means and saying yes: a code typed is
// answered with the question, and "Cancel" links nothing (the code still works afterwards).
#[tokio::test]
async fn linking_asks_first() {
    let r = Run::new();
    let code = r.code(TG).await;
    let asked = r.say(DC, &format!("/link {code}")).await;
    let said = text(&asked);
    assert!(
        said.contains("Only go on if both accounts are yours"),
        "{said}"
    );
    assert!(r.record(TG).await.is_none_or(|s| s.accounts.is_empty()));
    assert!(text(&r.press(DC, &asked, "Cancel").await).contains("Nothing changed"));
    assert!(r.record(DC).await.is_none_or(|s| s.linked_to.is_none()));
    assert!(r.link(DC, &code).await.contains("now linked"));
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
    let done = r.link(DC, &code).await;
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
    let said = r.link(DC, &code).await;
    assert!(said.contains("already linked"), "{said}");
}

// Proves the linked person is stepped one message at a time whichever platform each comes
// from: forty notes sent at once from both accounts are all kept (a lost update would drop
// some).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_platforms_at_once_are_one_queue() {
    let r = Run::new();
    let code = r.code(TG).await;
    r.link(DC, &code).await;
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
        r.link(DC, &code).await;
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

// Proves an unlink destroys the keys of the account that starts afresh (its old share of the
// record, in sled's log or a backup, can be read by nobody), tells the other account, and that
// forgetting the kept account afterwards leaves no key of either behind (sled, sealed).
#[tokio::test]
async fn after_an_unlink_nothing_stays_readable_under_the_other_key() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(lensbot::store::SledStore::open(dir.path()).unwrap());
    let now = ts("2026-12-01T10:00:00Z");
    let r = Run {
        session: Arc::new(Session::new(catalog(), store.clone()).with_manual_clock(now)),
        now,
    };
    r.say(TG, "/note sentinel words while linked").await;
    let code = r.code(TG).await;
    r.link(DC, &code).await;
    let vault = store.vault().expect("sled seals records");
    assert!(vault.has_key(TG) && vault.has_key(DC));
    let ask = r.say(TG, "/unlink").await;
    r.press(TG, &ask, "Keep everything on Discord").await;
    assert!(
        !vault.has_key(TG),
        "the account that starts afresh has no key left"
    );
    let kept = r.record(DC).await.unwrap();
    assert_eq!(kept.notes[0].text, "sentinel words while linked");
    let ask = r.say(DC, "/forgetme").await;
    r.press(DC, &ask, "Yes, delete everything").await;
    assert!(!vault.has_key(DC) && !vault.has_key(TG));
    // Telegram, typing again, starts afresh with nothing of the old record.
    let journal = text(&r.say(TG, "/journal").await);
    assert!(!journal.contains("sentinel"), "{journal}");
}

// Proves /unlink asks which account keeps everything, and does what was chosen: the chosen
// account keeps the whole record, the other starts afresh; reminders stay with the record.
#[tokio::test]
async fn unlink_keeps_everything_on_the_chosen_account() {
    let r = Run::new();
    r.say(TG, "/note kept somewhere").await;
    let code = r.code(TG).await;
    r.link(DC, &code).await;
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

/// Both adapters over one store, as `serve` runs them, each against its fake.
#[cfg(all(feature = "telegram", feature = "discord"))]
mod both_fakes {
    use super::{code_in, ts};
    use crate::fake_discord::{self, FakeDiscord};
    use crate::fake_telegram::{FakeTelegram, button};
    use crate::helpers::{catalog, until};
    use lensbot::session::Session;
    use lensbot::store::{MemoryStore, Store};
    use lensbot::{discord, telegram};
    use serde_json::{Value, json};
    use std::sync::Arc;

    const ME_TG: i64 = 2001;
    const ME_DC: u64 = 3001;

    fn content(v: &Value) -> String {
        v["content"].as_str().unwrap_or("").to_string()
    }

    // Proves, through both platforms' fakes: a code typed in a Telegram group is cancelled
    // (the group saw it); one asked for in a Discord server is shown to the person alone; a code made on Telegram links the Discord account once confirmed; a lens begun on Telegram continues on Discord where it was left, and the
    // journal read on Telegram holds what was written on both; a reminder set on Discord
    // arrives on the platform chosen (Telegram), not on Discord; /forgetme on Discord erases
    // the person on both. Every request to either fake is checked against its spec elsewhere
    // (`telegram_spec`, `discord_spec`); here the Discord ones are checked too.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_person_on_telegram_and_discord_is_one() {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let session = Arc::new(
            Session::new(catalog(), store.clone()).with_manual_clock(ts("2026-12-01T10:00:00Z")),
        );
        let tg = FakeTelegram::start().await;
        let dc = FakeDiscord::start().await;
        let (stop_tg, tg_stopped) = tokio::sync::oneshot::channel::<()>();
        let (stop_dc, dc_stopped) = tokio::sync::oneshot::channel::<()>();
        let tg_task = tokio::spawn(telegram::run(
            session.clone(),
            telegram::Config {
                token: "123456:TEST-TOKEN".into(),
                api_url: tg.url.clone(),
                throttle: false,
                poll_timeout: 1,
                webhook: None,
            },
            async {
                let _ = tg_stopped.await;
            },
        ));
        let dc_task = tokio::spawn(discord::run(
            session.clone(),
            discord::Config {
                token: "MTAx.FAKE.token".into(),
                api_url: Some(dc.rest_url.clone()),
                guild: Some(500),
                facilitator_role: None,
            },
            async {
                let _ = dc_stopped.await;
            },
        ));
        dc.wait("command registration", |f| {
            f.calls()
                .into_iter()
                .find(|c| c.method == "PUT" && c.path.ends_with("/commands"))
        })
        .await;

        // A code typed in a group is cancelled there and then: the group has seen it.
        let seen = new_code(&tg).await;
        tg.send_group(-100500, ME_TG, &format!("/link {seen}"));
        tg.wait_for_text(-100500, "I have cancelled it").await;
        let t = dc.command(ME_DC, None, "link", &[("code", &seen)]);
        dc.wait_followup(&t, "not one I know").await;

        // A code asked for in a Discord server is shown only to the person (ephemeral).
        let t = dc.command(3002, Some(500), "link", &[]);
        let shown = dc.wait_followup(&t, "Your code is").await;
        assert_eq!(shown["flags"].as_u64().unwrap_or(0) & 64, 64, "{shown}");

        // Half a lens on Telegram: one reflection.
        tg.to_first_question(ME_TG).await;
        tg.send_private(ME_TG, "Written on Telegram: the bus routes");
        tg.wait_for_text(ME_TG, "question 2 of").await;

        // The code, made on Telegram, redeemed on Discord with the slash command.
        let code = new_code(&tg).await;
        let t = dc.command(ME_DC, None, "link", &[("code", &code)]);
        let asked = dc.wait_followup(&t, "Link these accounts?").await;
        let yes = fake_discord::button(&asked, "Yes, link them");
        let t = dc.click(ME_DC, None, &yes, &fake_discord::as_message(&asked));
        dc.wait_followup(&t, "now linked").await;
        // The code's maker hears of it on their own platform.
        tg.wait_for_text(ME_TG, "was just linked with a Discord account")
            .await;

        // The rest of the lens on Discord: it continues at question 2.
        let t = dc.command(ME_DC, None, "continue", &[]);
        dc.wait_followup(&t, "question 2 of").await;
        dc.dm(ME_DC, "Written on Discord: the clinic hours");
        let needle = "question 3 of";
        dc.wait(&format!("a DM with {needle:?}"), |f| {
            f.dms_to(ME_DC)
                .into_iter()
                .find(|m| content(m).contains(needle))
        })
        .await;
        let person = store.get_user("telegram:2001").await.unwrap().unwrap();
        let texts: Vec<&str> = person.reflections.iter().map(|r| r.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "Written on Telegram: the bus routes",
                "Written on Discord: the clinic hours"
            ]
        );
        tg.send_private(ME_TG, "/journal");
        let journal = tg.wait_for_text(ME_TG, "the clinic hours").await;
        assert!(content_tg(&journal).contains("the bus routes"));

        // A reminder set on Discord goes where the person chose: Telegram.
        let t = dc.subcommand(
            ME_DC,
            None,
            "remind",
            "lens",
            &[("when", 3, json!("in 20 minutes"))],
        );
        dc.wait("the reminder saved", |_| {
            lensbot::store::wait(store.get_user("telegram:2001"))
                .ok()
                .flatten()
                .filter(|s| s.reminders.len() == 1)
        })
        .await;
        let _ = t;
        tg.send_private(ME_TG, "/link");
        let status = tg.wait_for_text(ME_TG, "Reminders go to").await;
        tg.press(
            ME_TG,
            tg.message_id_of(&status),
            &button(&status, "Reminders on Telegram"),
        );
        tg.wait_for_text(ME_TG, "Reminders now go to Telegram")
            .await;
        let dms_before = dc.dms_to(ME_DC).len();
        session.set_now(ts("2026-12-01T10:21:00Z"));
        tg.wait_for_text(ME_TG, "Time for a few minutes on your lens")
            .await;
        assert!(
            dc.dms_to(ME_DC)[dms_before..]
                .iter()
                .all(|m| !content(m).contains("Time for a few minutes")),
            "the reminder went to Telegram only"
        );

        // Forget me from Discord erases both.
        let t = dc.command(ME_DC, None, "forgetme", &[]);
        let ask = dc.wait_followup(&t, "on every platform you linked").await;
        let yes = fake_discord::button(&ask, "Yes, delete everything");
        let t = dc.click(ME_DC, None, &yes, &fake_discord::as_message(&ask));
        dc.wait_followup(&t, "on every platform").await;
        assert!(store.get_user("telegram:2001").await.unwrap().is_none());
        assert!(store.get_user("discord:3001").await.unwrap().is_none());

        crate::telegram_spec::assert_calls_match(&tg);
        for c in dc.calls() {
            if let Some(path) = spec_path(&c.method, &c.path) {
                crate::discord_spec::assert_request(&c.method, path, &c.body);
            }
        }
        let _ = stop_tg.send(());
        let _ = stop_dc.send(());
        tg_task.await.unwrap().unwrap();
        dc_task.await.unwrap().unwrap();
    }

    /// The spec's path for a request the bot made that carries a JSON body (`None` for the
    /// gateway's address and other bodiless calls).
    fn spec_path(method: &str, path: &str) -> Option<&'static str> {
        use crate::discord_spec::{CALLBACK, COMMANDS, ORIGINAL, WEBHOOK};
        Some(match method {
            "POST" if path.ends_with("/callback") => CALLBACK,
            "POST" if path.starts_with("/webhooks/") => WEBHOOK,
            "PATCH" if path.ends_with("/@original") => ORIGINAL,
            "POST" if path == "/users/@me/channels" => "/users/@me/channels",
            "POST" if path.starts_with("/channels/") && path.ends_with("/messages") => {
                "/channels/{channel_id}/messages"
            }
            "PUT" if path.ends_with("/commands") => COMMANDS,
            "GET" => return None,
            _ => panic!("a request this test does not expect: {method} {path}"),
        })
    }

    /// Sends `/link` on Telegram and reads the new code from the answer.
    async fn new_code(tg: &FakeTelegram) -> String {
        let codes = |tg: &FakeTelegram| -> Vec<String> {
            tg.sent_to(ME_TG)
                .iter()
                .map(content_tg)
                .filter(|t| t.contains("Your code is"))
                .collect()
        };
        let before = codes(tg).len();
        tg.send_private(ME_TG, "/link");
        assert!(until(20, || codes(tg).len() > before).await, "no new code");
        code_in(&codes(tg)[before])
    }

    fn content_tg(v: &Value) -> String {
        v["text"].as_str().unwrap_or("").to_string()
    }
}

// Proves community insights count a linked person once, as one person: five people who used
// the bot in a Discord server, then linked their Telegram accounts and wrote only on Telegram
// this month, are five people active this month in that server's report (their Telegram
// activity is theirs); and one of them opting out on Telegram leaves them out of the server's
// counts, whichever account they used it from.
#[tokio::test]
async fn insights_count_a_linked_person_once() {
    use lensbot::insights::{Period, Shown};
    let mut r = Run::new();
    let guild = "discord:guild:4242";
    r.now = ts("2026-10-20T10:00:00Z");
    r.session.set_now(r.now);
    for i in 0..6 {
        let mut ev = lensbot::session::Event::new(
            &format!("discord:{}", 5000 + i),
            Input::Text("/prep team".into()),
        );
        ev.community = Some(guild.into());
        r.session.handle_event(ev, r.now).await.unwrap();
    }
    r.now = ts("2026-11-03T10:00:00Z");
    r.session.set_now(r.now);
    for i in 0..6 {
        let tg = format!("telegram:{}", 6000 + i);
        let code = r.code(&tg).await;
        assert!(
            r.link(&format!("discord:{}", 5000 + i), &code)
                .await
                .contains("now linked")
        );
        r.say(&tg, "/note written on telegram this month").await;
    }
    let report = r
        .session
        .insights(guild, Period::ThisMonth, r.now)
        .await
        .unwrap();
    assert_eq!(report.get("active_this_month", ""), Shown::Count(6));
    // One opts out from Telegram (/settings, "Don't count me in insights").
    let tg = "telegram:6000";
    let menu = r.say(tg, "/settings").await;
    r.press(tg, &menu, "Don't count me in insights").await;
    let report = r
        .session
        .insights(guild, Period::ThisMonth, r.now)
        .await
        .unwrap();
    assert_eq!(report.get("active_this_month", ""), Shown::Count(5));
}

// Proves a linked person whose reminder cannot be delivered on one platform (DMs closed) is
// not cut off: the platform's refusal of the reminder (sent to the Discord account, for the
// record kept under Telegram) moves their reminders to Telegram and tells them so; a refusal
// on the account reminders do not go to changes nothing; only someone with no other account
// is marked unreachable.
#[tokio::test]
async fn a_closed_platform_moves_a_linked_persons_reminders_to_the_other() {
    let r = Run::new();
    let code = r.code(TG).await;
    r.link(DC, &code).await;
    let status = r.say(DC, "/link").await;
    r.press(DC, &status, "Reminders on Discord").await;
    let refused = |to: &str, person: &str| lensbot::outbox::OutboxEntry {
        id: 1,
        to: to.into(),
        person: Some(person.into()),
        messages: vec![Message::private().para("Time for a few minutes on your lens?")],
        sent: 0,
        attempts: 0,
        created: r.now,
        event: None,
        group: None,
    };
    // Refused on Telegram, where reminders do not go: nothing changes.
    r.session.undeliverable(&refused(TG, TG)).await.unwrap();
    let rec = r.record(TG).await.unwrap();
    assert_eq!(rec.reminders_to.as_deref(), Some(DC));
    assert!(!rec.unreachable);
    // A reminder (its entry names the record's key as the person) refused on Discord.
    r.session.undeliverable(&refused(DC, TG)).await.unwrap();
    let rec = r.record(TG).await.unwrap();
    assert_eq!(rec.reminders_to.as_deref(), Some(TG), "moved to Telegram");
    assert!(!rec.unreachable, "still reachable on Telegram");
    let next = text(&r.say(TG, "/fact").await);
    assert!(
        next.contains("your reminders now come to Telegram"),
        "{next}"
    );
    // Someone on one platform only is marked unreachable, as before.
    r.say("telegram:2099", "/start").await;
    r.session
        .undeliverable(&refused("telegram:2099", "telegram:2099"))
        .await
        .unwrap();
    assert!(r.record("telegram:2099").await.unwrap().unreachable);
}
