//! Deep links (`/start PAYLOAD`, what tapping a `t.me/<bot>?start=PAYLOAD` link sends) only
//! navigate: a link is written by whoever shares it, so one naming a note, a profession, a time
//! zone, a reminder, my data or forget me changes nothing and says why, while the links that
//! open a place (and every link the Telegram adapter itself puts on a group reply) still work.
//! A challenge join (or any challenge request naming a group whose challenge the person is not
//! in) from a link, typed text or a Telegram button goes ahead only once Telegram's
//! `getChatMember` confirms that the person is in the group; typed codes never cross platforms.

use crate::helpers::{catalog, text};
use jiff::Timestamp;
use lensbot::engine::{self, Input, UserState, step};

fn now() -> Timestamp {
    "2026-11-20T10:00:00Z".parse().unwrap()
}

/// The part of a person's state that is their data: everything but where they are in the
/// conversation (position, step, last menu and button, last change and last activity).
fn data(st: &UserState) -> UserState {
    let mut d = st.clone();
    d.at = engine::At::Idle;
    d.step = 0;
    d.menu.clear();
    d.updated = None;
    d.last_active = None;
    d.last_button = None;
    d.last_button_at = None;
    d
}

/// A person who has been welcomed and holds a note, a profession and a time zone of their own.
fn someone() -> UserState {
    let cat = catalog();
    let mut st = UserState::new("test:someone");
    for t in [
        "/start",
        "/note my own note",
        "/profession dietitian",
        "/timezone Europe/London",
    ] {
        st = step(&cat, &st, Input::Text(t.into()), now()).state;
    }
    assert_eq!(st.notes.len(), 1);
    assert_eq!(st.profession.as_deref(), Some("dietitian"));
    st
}

/// The payloads a shared link could use to act for someone: each is refused by the engine.
const ACTING: [&str; 16] = [
    "note-PLANTED",
    "note_PLANTED",
    "NOTE-PLANTED",
    "profession-physiotherapist",
    "profession_paramedic",
    "timezone-Asia/Tokyo",
    "timezone_America/New_York",
    "remind-tomorrow-at-9am",
    "remind-every-day-at-9",
    "forgetme",
    "forgetme-yes",
    "mydata",
    "export",
    "export-since-2026-01-01",
    "challenge-join",
    "timezone",
];

/// Proves that no acting payload changes a person's data, asks for confirmation, deletes
/// anything or shows their data: each gets the welcome with the one line that says why.
#[test]
fn links_that_would_change_or_show_data_change_nothing_and_say_why() {
    let cat = catalog();
    let before = someone();
    let refused = cat.t("deep_link_refused").to_string();
    for payload in ACTING {
        let turn = step(
            &cat,
            &before,
            Input::Text(format!("/start {payload}")),
            now(),
        );
        assert_eq!(data(&turn.state), data(&before), "{payload} changed data");
        assert!(turn.effects.is_empty(), "{payload}: {:?}", turn.effects);
        assert_eq!(turn.state.at, engine::At::Idle, "{payload}");
        let said = text(&turn.messages);
        assert!(said.contains(&refused), "{payload}: {said}");
        assert!(said.contains(cat.t("welcome_title")), "{payload}: {said}");
        assert!(!said.contains(cat.t("mydata_title")), "{payload}: {said}");
        assert!(!said.contains("my own note"), "{payload}: {said}");
        // The same words typed directly still act (the refusal is about links only).
    }
    let typed = step(&cat, &before, Input::Text("/note PLANTED".into()), now());
    assert_eq!(
        typed.state.notes.len(),
        2,
        "typing /note still saves a note"
    );
    // A first contact through a refused link: welcomed (privacy notice), nothing stored.
    let new = UserState::new("test:new");
    let turn = step(&cat, &new, Input::Text("/start note-PLANTED".into()), now());
    assert!(turn.state.notes.is_empty());
    assert!(text(&turn.messages).contains(cat.t("privacy_title")));
}

/// Proves that the navigating links open exactly what the command they name opens (the same
/// messages and the same state), with no refusal line; and that an unknown payload (`/start
/// hello`, `/start start`) is the plain start.
#[test]
fn navigating_links_open_the_same_place_as_their_command() {
    let cat = catalog();
    let st = someone();
    let refused = cat.t("deep_link_refused").to_string();
    for (link, command) in [
        ("lens-3", "/lens 3"),
        ("lens", "/lens"),
        ("signpost-housing", "/signpost housing"),
        ("signpost", "/signpost"),
        ("prep-team", "/prep team"),
        ("prep", "/prep"),
        ("resources-housing", "/resources housing"),
        ("examples-dietitian", "/examples dietitian"),
        ("define-equity", "/define equity"),
        ("fact", "/fact"),
        ("help", "/help"),
        ("continue", "/continue"),
        ("progress", "/progress"),
    ] {
        let via_link = step(&cat, &st, Input::Text(format!("/start {link}")), now());
        let direct = step(&cat, &st, Input::Text(command.into()), now());
        assert_eq!(via_link.messages, direct.messages, "{link}");
        assert_eq!(via_link.state, direct.state, "{link}");
        assert!(!text(&via_link.messages).contains(&refused), "{link}");
    }
    let start = step(&cat, &st, Input::Text("/start".into()), now());
    for plain in ["hello", "start", "ch_zz"] {
        let t = step(&cat, &st, Input::Text(format!("/start {plain}")), now());
        assert_eq!(t.messages, start.messages, "{plain}");
    }
    assert!(!engine::DEEP_LINKS.iter().any(|c| {
        matches!(
            *c,
            "note"
                | "profession"
                | "timezone"
                | "remind"
                | "mydata"
                | "export"
                | "forgetme"
                | "challenge"
        )
    }));
}

/// Joins and other challenge requests typed as text, at the session (as from Discord DMs, the
/// terminal, or a Discord channel whose confirmation names another group).
mod through_the_session {
    use super::now;
    use crate::helpers::{catalog, text};
    use lensbot::challenge::group::{Actor, Group};
    use lensbot::challenge::{self};
    use lensbot::engine::Input;
    use lensbot::session::{Event, Session};
    use lensbot::store::MemoryStore;
    use std::sync::Arc;

    const TG: &str = "telegram:chat:-100444";
    const DC: &str = "discord:channel:600";

    async fn with_two_challenges() -> Session {
        let s = Session::new(catalog(), Arc::new(MemoryStore::new()));
        for key in [TG, DC] {
            let group = Group {
                key: key.into(),
                title: "Secret Title Network".into(),
            };
            let fac = Actor {
                user: "test:fac".into(),
                name: "Fran".into(),
                admin: true,
            };
            s.group_command(&group, &fac, "start six-days tomorrow 08:00", now())
                .await
                .unwrap();
        }
        s
    }

    async fn ask(s: &Session, user: &str, input: Input, member_of: Option<&str>) -> String {
        let mut ev = Event::new(user, input);
        ev.member_of = member_of.map(str::to_string);
        text(&s.handle_event(ev, now()).await.unwrap().messages)
    }

    /// Proves that typed text alone never joins: `/start ch_j_…` and `/challenge join CODE`
    /// for either platform's group, from a person with no confirmation or one for another
    /// group, are refused without the group's title, and the member counts stay at zero; with
    /// the platform's confirmation for that very group the same text joins.
    #[tokio::test]
    async fn typed_joins_need_the_platforms_confirmation_for_that_group() {
        let s = with_two_challenges().await;
        let cat = catalog();
        let members_only = cat.t("ch.members_only");
        let codes = [challenge::code(TG), challenge::code(DC)];
        for code in &codes {
            for typed in [
                format!("/start ch_j_{code}"),
                format!("/challenge join {code}"),
                format!("/start ch_t_{code}"),
                format!("/challenge leave {code}"),
            ] {
                for (user, confirmed) in [
                    ("discord:77", None),
                    ("terminal:sam", None),
                    // A Discord channel's confirmation never stands for another group.
                    (
                        "discord:78",
                        Some(if code.starts_with('t') {
                            DC
                        } else {
                            "discord:channel:601"
                        }),
                    ),
                    ("telegram:79", Some("telegram:chat:-100999")),
                ] {
                    let said = ask(&s, user, Input::Text(typed.clone()), confirmed).await;
                    assert!(said.contains(members_only), "{user} {typed}: {said}");
                    assert!(!said.contains("Secret Title"), "{user} {typed}: {said}");
                }
            }
        }
        for g in [TG, DC] {
            assert!(
                s.challenge(g).await.unwrap().unwrap().members.is_empty(),
                "{g}"
            );
        }
        // Confirmed for that group, the same words join.
        let said = ask(
            &s,
            "discord:80",
            Input::Text(format!("/challenge join {}", challenge::code(DC))),
            Some(DC),
        )
        .await;
        assert!(said.contains("You've joined"), "{said}");
        assert_eq!(s.challenge(DC).await.unwrap().unwrap().members.len(), 1);
        // A member's own typed requests for their challenge need nothing more.
        let said = ask(
            &s,
            "discord:80",
            Input::Text(format!("/challenge leave {}", challenge::code(DC))),
            None,
        )
        .await;
        assert!(said.contains("You've left"), "{said}");
    }
}

/// The Telegram adapter end to end against the fake Bot API.
mod on_telegram {
    use crate::fake_telegram::{BOT_USERNAME, FakeTelegram};
    use crate::helpers::catalog;
    use crate::telegram_spec;
    use lensbot::engine::{COMMANDS, UserState};
    use lensbot::session::Session;
    use lensbot::store::{MemoryStore, Store};
    use lensbot::telegram::{self, Config, TelegramError};
    use serde_json::{Value, json};
    use std::sync::Arc;
    use std::time::{Duration, Instant};
    use tokio::sync::oneshot;
    use tokio::task::JoinHandle;

    const CHAT: i64 = -100777;
    /// The group's title as the fake reports it: never in a refusal.
    const TITLE: &str = "AHP network";
    const FAC: i64 = 900;

    struct Bot {
        fake: FakeTelegram,
        session: Arc<Session>,
        store: Arc<dyn Store>,
        stop: oneshot::Sender<()>,
        task: JoinHandle<Result<(), TelegramError>>,
    }

    async fn start() -> Bot {
        let fake = FakeTelegram::start().await;
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let session = Arc::new(Session::new(catalog(), store.clone()));
        let config = Config {
            token: "123456:TEST-TOKEN".into(),
            api_url: fake.url.clone(),
            throttle: false,
            poll_timeout: 1,
            webhook: None,
        };
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(telegram::run(session.clone(), config, async {
            let _ = stopped.await;
        }));
        Bot {
            fake,
            session,
            store,
            stop,
            task,
        }
    }

    impl Bot {
        async fn stop(self) {
            let _ = self.stop.send(());
            tokio::time::timeout(Duration::from_secs(10), self.task)
                .await
                .expect("stops within 10 s")
                .unwrap()
                .unwrap();
        }

        /// Sends a private text and waits for the next message to that person (the number of
        /// messages they have had grows by at least one); returns its text.
        async fn say(&self, who: i64, text: &str) -> String {
            let before = self.fake.sent_to(who).len();
            self.fake.send_private(who, text);
            self.next_to(who, before).await
        }

        async fn next_to(&self, who: i64, before: usize) -> String {
            let deadline = Instant::now() + Duration::from_secs(15);
            loop {
                let sent = self.fake.sent_to(who);
                if sent.len() > before {
                    return sent[before..]
                        .iter()
                        .map(|m| m["text"].as_str().unwrap_or("").to_string())
                        .collect::<Vec<_>>()
                        .join("\n");
                }
                assert!(Instant::now() < deadline, "no answer to {who}");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }

        /// The group's challenge, started by its admin.
        async fn challenge(&self) -> Value {
            self.fake.make_admin(FAC);
            self.fake
                .send_group(CHAT, FAC, "/challenge start six-days tomorrow 08:00");
            self.fake.wait_for_text(CHAT, "New challenge").await
        }

        async fn members(&self) -> usize {
            self.session
                .challenge(&format!("telegram:chat:{CHAT}"))
                .await
                .unwrap()
                .map(|c| c.members.len())
                .unwrap_or(0)
        }

        fn asked_about(&self, who: i64) -> usize {
            self.fake
                .calls("getChatMember")
                .iter()
                .filter(|c| c.body["user_id"] == json!(who) && c.body["chat_id"] == json!(CHAT))
                .count()
        }

        /// `/mydata`'s JSON file, waited for.
        async fn mydata(&self, who: i64) -> String {
            let files = |f: &FakeTelegram| {
                f.calls("sendDocument")
                    .into_iter()
                    .filter(|c| c.body["chat_id"].as_i64() == Some(who))
                    .filter_map(|c| c.file)
                    .collect::<Vec<_>>()
            };
            let before = files(&self.fake).len();
            self.fake.send_private(who, "/mydata");
            let deadline = Instant::now() + Duration::from_secs(15);
            loop {
                if let Some(f) = files(&self.fake).get(before) {
                    return String::from_utf8_lossy(&f.bytes).to_string();
                }
                assert!(Instant::now() < deadline, "no /mydata file for {who}");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }

        async fn stored(&self, who: i64) -> Option<UserState> {
            self.store
                .get_user(&format!("telegram:{who}"))
                .await
                .unwrap()
        }
    }

    /// The join link on the group's announcement.
    fn join_payload(announce: &Value) -> String {
        let url = announce["reply_markup"]["inline_keyboard"][0][0]["url"]
            .as_str()
            .unwrap();
        url.split("start=").nth(1).unwrap().to_string()
    }

    /// Proves that over Telegram the acting links `note-…`, `profession-…`, `timezone-…`,
    /// `remind-…`, `forgetme` and `mydata` leave the stored person exactly as they were (their
    /// data, and what /mydata shows) and tell them why, and that every request went out as
    /// the Bot API spec says.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn acting_links_change_nothing_stored_and_say_why() {
        let b = start().await;
        let me = 4001;
        b.say(me, "/start").await;
        b.say(me, "/timezone Europe/London").await;
        b.say(me, "/note first note").await;
        let before = b.stored(me).await.unwrap();
        let mydata_before = b.mydata(me).await;
        for payload in [
            "note-PLANTED",
            "profession-physiotherapist",
            "timezone-Asia_Tokyo",
            "remind-tomorrow-9am",
            "forgetme",
            "mydata",
        ] {
            let said = b.say(me, &format!("/start {payload}")).await;
            assert!(
                said.contains("only do when you ask me directly"),
                "{payload}: {said}"
            );
            assert!(said.contains("Welcome to lensbot"), "{payload}: {said}");
            assert!(!said.contains("Everything I hold"), "{payload}: {said}");
            assert_eq!(
                super::data(&b.stored(me).await.unwrap()),
                super::data(&before),
                "{payload}"
            );
        }
        let mydata_after = b.mydata(me).await;
        for planted in ["PLANTED", "physiotherapist", "Tokyo", "tomorrow"] {
            assert!(
                !mydata_after.contains(planted),
                "{planted} in {mydata_after}"
            );
        }
        assert!(mydata_after.contains("first note") && mydata_before.contains("first note"));
        assert!(b.stored(me).await.unwrap().reminders.is_empty());
        telegram_spec::assert_calls_match(&b.fake);
        b.stop().await;
    }

    /// Proves that every link the adapter puts on a group reply works when tapped: a
    /// navigating payload opens its place with no refusal line, and a personal command gets a
    /// link that only opens the private chat (no payload) and names the command to send there;
    /// `/start` says what the bot does in groups, with a link that opens the private chat.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_link_on_a_group_reply_still_works() {
        let b = start().await;
        let group = -100500;
        let who = 4002;
        let mut asked: Vec<String> = COMMANDS
            .iter()
            .map(|(c, _)| format!("/{c}"))
            .filter(|c| c != "/challenge")
            .collect();
        asked.extend(["/lens 3", "/signpost housing", "/prep team"].map(String::from));
        for cmd in asked {
            let before = b.fake.sent_to(group).len();
            b.fake.send_group(group, who, &cmd);
            let deadline = Instant::now() + Duration::from_secs(15);
            while b.fake.sent_to(group).len() == before {
                assert!(Instant::now() < deadline, "no group reply to {cmd}");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let reply = b.fake.sent_to(group)[before].clone();
            let Some(url) = reply["reply_markup"]["inline_keyboard"][0][0]["url"].as_str() else {
                // Answered in the group (a public lookup): no link.
                continue;
            };
            let link = format!("https://t.me/{BOT_USERNAME}");
            match url.strip_prefix(&format!("{link}?start=")) {
                Some(payload) => {
                    let said = b.say(who, &format!("/start {payload}")).await;
                    assert!(
                        !said.contains("only do when you ask"),
                        "{cmd} → {payload}: {said}"
                    );
                }
                None => {
                    assert_eq!(url, link, "{cmd}");
                    let name = cmd.split_whitespace().next().unwrap();
                    if name == "/start" {
                        let text = reply["text"].as_str().unwrap();
                        assert!(text.contains("In this group"), "{cmd}: {reply}");
                        continue;
                    }
                    assert!(
                        reply["text"]
                            .as_str()
                            .unwrap()
                            .contains(&format!("send {name} there")),
                        "{cmd}: {reply}"
                    );
                }
            }
        }
        telegram_spec::assert_calls_match(&b.fake);
        b.stop().await;
    }

    /// Proves that a stranger's join from the group's own link is refused after asking
    /// Telegram (getChatMember for that group and person), that the refusal names neither the
    /// group nor its challenge, that nothing is counted or stored for them, and that `left`,
    /// `kicked`, `restricted` without membership and Telegram's "user not found" / "chat not
    /// found" are all refusals; the "Today's prompt" link and a forged Join callback are
    /// refused the same way; and a join for a Discord channel typed on Telegram is refused
    /// without asking anyone.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_strangers_join_is_refused_without_the_groups_title() {
        let b = start().await;
        let announce = b.challenge().await;
        let payload = join_payload(&announce);
        assert_eq!(payload, "ch_j_tm100777");
        let f = &b.fake;
        f.ban(CHAT, 5002);
        f.restrict(CHAT, 5003, false);
        f.forget_user(5004);
        for who in [5001, 5002, 5003, 5004] {
            let said = b.say(who, &format!("/start {payload}")).await;
            assert!(said.contains("for members of the group"), "{who}: {said}");
            assert!(!said.contains(TITLE), "{who}: {said}");
            assert!(
                !said.contains("Day 1") && !said.contains("six"),
                "{who}: {said}"
            );
            assert_eq!(b.asked_about(who), 1, "{who}: Telegram was asked once");
            assert!(b.stored(who).await.is_none(), "{who}: nothing stored");
        }
        // The "Today's prompt" link and a Join callback written by a client: refused too.
        let said = b.say(5001, "/start ch_t_tm100777").await;
        assert!(
            said.contains("for members of the group") && !said.contains(TITLE),
            "{said}"
        );
        let before = f.sent_to(5001).len();
        f.press(5001, 1, "ch_j_tm100777");
        let said = b.next_to(5001, before).await;
        assert!(
            said.contains("for members of the group") && !said.contains(TITLE),
            "{said}"
        );
        // A Discord channel's code typed on Telegram: refused without a question to Telegram.
        let calls = f.calls("getChatMember").len();
        let said = b.say(5001, "/start ch_j_d600").await;
        assert!(said.contains("for members of the group"), "{said}");
        let said = b.say(5001, "/challenge join d600").await;
        assert!(said.contains("for members of the group"), "{said}");
        assert_eq!(f.calls("getChatMember").len(), calls);
        // The bot gone from the group: Telegram says "chat not found"; refused.
        f.forget_chat(CHAT);
        let said = b.say(5005, &format!("/start {payload}")).await;
        assert!(
            said.contains("for members of the group") && !said.contains(TITLE),
            "{said}"
        );
        assert_eq!(b.members().await, 0, "nobody was counted");
        telegram_spec::assert_calls_match(&b.fake);
        b.stop().await;
    }

    /// Proves that members of the group (member, restricted but still a member) join from
    /// the link after Telegram confirms them, and that a member already in the challenge is
    /// not asked about again.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_members_join_works() {
        let b = start().await;
        let payload = join_payload(&b.challenge().await);
        b.fake.add_member(CHAT, 6001);
        b.fake.restrict(CHAT, 6002, true);
        for (n, who) in [6001, 6002].into_iter().enumerate() {
            let said = b.say(who, &format!("/start {payload}")).await;
            assert!(said.contains("You've joined"), "{who}: {said}");
            assert_eq!(b.members().await, n + 1);
        }
        let said = b.say(6001, &format!("/start {payload}")).await;
        assert!(said.contains("already in"), "{said}");
        assert_eq!(b.asked_about(6001), 1, "a member is not asked about again");
        telegram_spec::assert_calls_match(&b.fake);
        b.stop().await;
    }

    /// Proves that the fake answers `getChatMember` as Telegram does: every kind of member is a
    /// `ChatMember` the spec accepts (so a test of membership is a test against Telegram's
    /// shapes), default `left`; an unknown person or chat is a 400 the adapter's client reads
    /// as a refusal, not as something to retry; and the client's reading of each.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_fakes_chat_members_are_telegrams() {
        use lensbot::telegram::api::{Api, Failure, Membership, membership};
        let f = FakeTelegram::start().await;
        let api = Api::new(&f.url, "123456:TEST-TOKEN");
        f.make_admin(1);
        f.add_member(CHAT, 2);
        f.restrict(CHAT, 3, true);
        f.restrict(CHAT, 4, false);
        f.ban(CHAT, 5);
        for (who, expect) in [
            (1, Membership::Member),
            (2, Membership::Member),
            (3, Membership::Member),
            (4, Membership::NotMember),
            (5, Membership::NotMember),
            (6, Membership::NotMember),
        ] {
            let body = json!({"chat_id": CHAT, "user_id": who});
            let got = api
                .call("getChatMember", &body, Duration::from_secs(5))
                .await
                .unwrap();
            let problems = telegram_spec::value_problems("ChatMember", &got);
            assert!(problems.is_empty(), "{who}: {problems:?}");
            assert_eq!(membership(&got), expect, "{who}: {got}");
            assert_eq!(api.chat_member(CHAT, who as u64).await, Ok(expect), "{who}");
        }
        f.forget_user(7);
        assert!(matches!(
            api.chat_member(CHAT, 7).await,
            Err(Failure::Refused(400, d)) if d.contains("user not found")
        ));
        f.forget_chat(CHAT);
        assert!(matches!(
            api.chat_member(CHAT, 2).await,
            Err(Failure::Unreachable(d)) if d.contains("chat not found")
        ));
        telegram_spec::assert_calls_match(&f);
    }

    /// Proves that when Telegram cannot be asked (a 502), the join changes nothing (no member
    /// counted, nothing stored) and the person is told to try again in a minute; the next try,
    /// once Telegram answers, joins.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_check_changes_nothing_and_says_try_again() {
        let b = start().await;
        let payload = join_payload(&b.challenge().await);
        b.fake.add_member(CHAT, 7001);
        b.fake.fail_next(
            "getChatMember",
            502,
            json!({"ok": false, "error_code": 502, "description": "Bad Gateway"}),
        );
        let said = b.say(7001, &format!("/start {payload}")).await;
        assert!(said.contains("try again in a minute"), "{said}");
        assert!(!said.contains(TITLE), "{said}");
        assert_eq!(b.members().await, 0);
        assert!(b.stored(7001).await.is_none(), "nothing stored");
        let said = b.say(7001, &format!("/start {payload}")).await;
        assert!(said.contains("You've joined"), "{said}");
        assert_eq!(b.members().await, 1);
        b.stop().await;
    }
}

/// The Discord adapter end to end against the fake Discord: joining is the channel's button,
/// and no typed text (a DM, or `/challenge join CODE` in a channel) joins another group.
#[cfg(feature = "discord")]
mod on_discord {
    use crate::fake_discord::{FakeDiscord, as_message, button};
    use crate::helpers::catalog;
    use lensbot::challenge::group::{Actor, Group};
    use lensbot::discord::{self, Config};
    use lensbot::session::Session;
    use lensbot::store::MemoryStore;
    use serde_json::Value;
    use std::sync::Arc;

    const GUILD: u64 = 500;
    const FAC: u64 = 900;
    const TG: &str = "telegram:chat:-100777";

    /// Proves that a Discord person can use neither a Telegram group's key nor the channel's
    /// own key by typing (a DM `/start ch_j_…`, `/challenge join CODE` in a DM or in the
    /// channel with another group's code): each is refused without the group's title and
    /// nobody is counted; the channel's Join button still joins that channel's challenge.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn typed_codes_never_join_across_platforms_or_channels() {
        let session = Arc::new(Session::new(catalog(), Arc::new(MemoryStore::new())));
        // A Telegram group's challenge in the same process.
        let tg = Group {
            key: TG.into(),
            title: "Telegram Secret Group".into(),
        };
        let fac = Actor {
            user: "telegram:900".into(),
            name: "Fran".into(),
            admin: true,
        };
        session
            .group_command(&tg, &fac, "start six-days tomorrow 08:00", session.now())
            .await
            .unwrap();
        let f = FakeDiscord::start().await;
        let config = Config {
            token: "MTAx.FAKE.token".into(),
            api_url: Some(f.rest_url.clone()),
            guild: Some(GUILD),
            facilitator_role: None,
        };
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(discord::run(session.clone(), config, async {
            let _ = stopped.await;
        }));
        f.wait("command registration", |f| {
            f.calls()
                .into_iter()
                .find(|c| c.method == "PUT" && c.path.ends_with("/commands"))
        })
        .await;
        f.make_admin(FAC);
        let t = f.command(
            FAC,
            Some(GUILD),
            "challenge",
            &[("what", "start six-days tomorrow 08:00")],
        );
        let announce = f.wait_followup(&t, "New challenge").await;
        let who = 8001;
        let dm = |text: &str| {
            let before = f.dms_to(who).len();
            f.dm(who, text);
            let f = f.clone();
            async move {
                f.wait("a DM answer", move |f| {
                    let all = f.dms_to(who);
                    (all.len() > before).then(|| all[before]["content"].to_string())
                })
                .await
            }
        };
        for typed in [
            "/start ch_j_tm100777",
            "/challenge join tm100777",
            "/start ch_j_d600",
            "/start ch_t_tm100777",
        ] {
            let said = dm(typed).await;
            assert!(said.contains("for members of the group"), "{typed}: {said}");
            assert!(!said.contains("Secret"), "{typed}: {said}");
        }
        // In the channel, another group's code typed after `join`.
        let t = f.command(who, Some(GUILD), "challenge", &[("what", "join tm100777")]);
        let said: Value = f.wait_followup(&t, "for members of the group").await;
        assert!(
            !said["content"].as_str().unwrap().contains("Secret"),
            "{said}"
        );
        assert!(
            session
                .challenge(TG)
                .await
                .unwrap()
                .unwrap()
                .members
                .is_empty()
        );
        let channel = "discord:channel:600";
        assert!(
            session
                .challenge(channel)
                .await
                .unwrap()
                .unwrap()
                .members
                .is_empty()
        );
        // The channel's own button joins its challenge.
        let t = f.click(
            who,
            Some(GUILD),
            &button(&announce, "Join"),
            &as_message(&announce),
        );
        f.wait_followup(&t, "You've joined").await;
        assert_eq!(
            session
                .challenge(channel)
                .await
                .unwrap()
                .unwrap()
                .members
                .len(),
            1
        );
        let _ = stop.send(());
        let _ = tokio::time::timeout(std::time::Duration::from_secs(15), task).await;
    }
}
