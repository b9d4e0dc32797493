//! Community insights (issue 18, parts 2 and 3): a community built through the session and the
//! engine over three months with a manual clock gives the expected counts; small numbers are
//! hidden and a total that could be differenced is withheld; an opted-out person is not
//! counted; challenges count only with five counted members; nothing personal reaches a
//! report; the CLI prints the same as CSV; Discord and Telegram answer only leads, privately,
//! with every request checked against the platforms' specs.

use crate::helpers::catalog;
use jiff::Timestamp;
use lensbot::engine::{Input, Message};
use lensbot::insights::{Period, Report, Shown, render};
use lensbot::session::{Event, Session};
use lensbot::store::{MemoryStore, SledStore, Store};
use std::sync::Arc;

const COMMUNITY: &str = "discord:guild:777";

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// A person's store key: large ids, so a number in a report can never be mistaken for one.
fn person(i: usize) -> String {
    format!("discord:{}", 880_000 + i)
}

/// What people wrote, to look for in reports.
fn reflection() -> String {
    "Transport costs quokka stop families attending".to_string()
}

fn name(i: usize) -> String {
    format!("Zebedee{i}")
}

/// One turn from person `i`, used from `community`.
async fn say(s: &Session, i: usize, text: &str, community: Option<&str>, now: Timestamp) {
    s.set_now(now);
    let mut ev = Event::new(&person(i), Input::Text(text.into()));
    ev.name = Some(name(i));
    ev.community = community.map(str::to_string);
    s.handle_event(ev, now).await.unwrap();
}

/// The awareness part of a lens walked, with one reflection: through the engine's own flow.
async fn walk_awareness(s: &Session, i: usize, lens: u8, now: Timestamp) {
    say(s, i, &format!("/lens {lens}"), Some(COMMUNITY), now).await;
    say(s, i, "1", Some(COMMUNITY), now).await; // Begin
    say(s, i, &reflection(), Some(COMMUNITY), now).await;
}

/// Forty people over September to November 2026 (known activity, below), person 0 opting
/// out in November, and three people active in another community only.
async fn community_of_forty(s: &Session) {
    let sept = ts("2026-09-10T10:00:00Z");
    let oct = ts("2026-10-12T10:00:00Z");
    let nov = ts("2026-11-09T10:00:00Z");
    for i in 0..40 {
        say(s, i, "/start", Some(COMMUNITY), sept).await;
    }
    for i in 0..10 {
        say(s, i, "/prep team", Some(COMMUNITY), sept).await;
    }
    for i in 40..43 {
        say(s, i, "/start", Some("discord:guild:999"), sept).await;
        say(s, i, "/prep team", Some("discord:guild:999"), sept).await;
    }
    for i in 0..20 {
        walk_awareness(s, i, 2, oct).await;
    }
    for i in 0..12 {
        say(s, i, "/prep mdt", Some(COMMUNITY), nov).await;
    }
    for i in 20..23 {
        walk_awareness(s, i, 5, nov).await;
    }
    // Person 0 opts out from /settings (its sixth button).
    say(s, 0, "/settings", None, nov).await;
    say(s, 0, "6", None, nov).await;
}

fn get(r: &Report, id: &str, detail: &str) -> Shown {
    r.get(id, detail)
}

/// Proves the counts a lead sees for a community built through the session and the engine:
/// people active this month and in the period, the grid, prompts by meeting type, the trend;
/// fewer than five hidden; the opted-out person and the other community's people left out.
#[tokio::test]
async fn a_community_of_forty_gives_the_expected_counts() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let now = ts("2026-11-15T12:00:00Z");
    let s = Session::new(catalog(), store).with_manual_clock(now);
    community_of_forty(&s).await;
    let r = s.insights(COMMUNITY, Period::Months3, now).await.unwrap();
    assert_eq!(r.months, ["2026-09", "2026-10", "2026-11"]);
    // November: 1..11 (prompts) and 20..22 (lens 5); person 0 opted out.
    assert_eq!(get(&r, "active_this_month", ""), Shown::Count(14));
    assert_eq!(get(&r, "active_period", ""), Shown::Count(39));
    assert_eq!(get(&r, "cell_done", "lens-2/awareness"), Shown::Count(19));
    assert_eq!(
        get(&r, "cell_started", "lens-2/awareness"),
        Shown::Count(19)
    );
    assert_eq!(get(&r, "cell_done", "lens-5/awareness"), Shown::FewerThan5);
    assert_eq!(get(&r, "cell_done", "lens-1/awareness"), Shown::Count(0));
    assert_eq!(get(&r, "meeting_prompts", "team"), Shown::Count(9));
    assert_eq!(get(&r, "meeting_prompts", "mdt"), Shown::Count(11));
    assert_eq!(get(&r, "meeting_prompts_total", ""), Shown::Count(20));
    assert_eq!(get(&r, "trend_active", "2026-09"), Shown::Count(39));
    assert_eq!(get(&r, "trend_active", "2026-10"), Shown::Count(19));
    assert_eq!(get(&r, "trend_reflections", "2026-10"), Shown::Count(19));
    assert_eq!(get(&r, "trend_reflections", "2026-11"), Shown::FewerThan5);
    assert_eq!(get(&r, "actions_committed", ""), Shown::Count(0));
    // This month alone: the three lens-5 reflections are fewer than five people's.
    let m = s.insights(COMMUNITY, Period::ThisMonth, now).await.unwrap();
    assert_eq!(get(&m, "active_this_month", ""), Shown::Count(14));
    assert_eq!(get(&m, "reflections", ""), Shown::FewerThan5);
    // The other community sees only its own three people: fewer than five.
    let other = s
        .insights("discord:guild:999", Period::Months3, now)
        .await
        .unwrap();
    assert_eq!(get(&other, "active_period", ""), Shown::FewerThan5);
    assert_eq!(get(&other, "meeting_prompts", "team"), Shown::FewerThan5);
}

/// Proves the differencing rules on real data: the period's reflections (19 in October, 3 in
/// November) would be 22, and 22 minus October's shown 19 would reveal what three people
/// wrote in November, hidden as "fewer than 5" there; so the total is withheld (rule 2, a
/// shown month inside the period; rule 3, the hidden month, would also). Without the rules
/// it would be shown: the same data with November's three people gone shows it.
#[tokio::test]
async fn a_total_that_would_reveal_a_hidden_month_is_withheld() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let now = ts("2026-11-15T12:00:00Z");
    let s = Session::new(catalog(), store).with_manual_clock(now);
    community_of_forty(&s).await;
    let r = s.insights(COMMUNITY, Period::Months3, now).await.unwrap();
    assert_eq!(get(&r, "trend_reflections", "2026-10"), Shown::Count(19));
    assert_eq!(get(&r, "trend_reflections", "2026-11"), Shown::FewerThan5);
    assert_eq!(get(&r, "reflections", ""), Shown::Withheld);
    // The lens-5 walkers forget themselves: the total can be shown again.
    for i in 20..23 {
        say(&s, i, "/forgetme", None, now).await;
        say(&s, i, "1", None, now).await; // Yes, delete everything
    }
    let store = s.store().clone();
    assert!(store.get_user(&person(20)).await.unwrap().is_none());
    let r = s.insights(COMMUNITY, Period::Months3, now).await.unwrap();
    assert_eq!(get(&r, "reflections", ""), Shown::Count(19));
}

/// Proves that an opted-out person is in no count, and that opting out deletes what was kept
/// for counting (their record keeps no tally), while their own progress stays.
#[tokio::test]
async fn an_opted_out_person_is_not_counted() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let now = ts("2026-11-15T12:00:00Z");
    let s = Session::new(catalog(), store.clone()).with_manual_clock(now);
    for i in 0..5 {
        say(&s, i, "/start", Some(COMMUNITY), now).await;
        walk_awareness(&s, i, 1, now).await;
    }
    let r = s.insights(COMMUNITY, Period::ThisMonth, now).await.unwrap();
    assert_eq!(get(&r, "cell_done", "lens-1/awareness"), Shown::Count(5));
    say(&s, 4, "/settings", Some(COMMUNITY), now).await;
    say(&s, 4, "6", Some(COMMUNITY), now).await;
    let st = store.get_user(&person(4)).await.unwrap().unwrap();
    assert!(st.tally.opted_out && st.tally.months.is_empty() && st.tally.communities.is_empty());
    assert_eq!(st.reflections.len(), 1, "their own writing stays");
    // Their later use is not tallied either.
    say(&s, 4, "/prep team", Some(COMMUNITY), now).await;
    let st = store.get_user(&person(4)).await.unwrap().unwrap();
    assert!(st.tally.months.is_empty());
    let r = s.insights(COMMUNITY, Period::ThisMonth, now).await.unwrap();
    assert_eq!(get(&r, "cell_done", "lens-1/awareness"), Shown::FewerThan5);
    assert_eq!(get(&r, "active_this_month", ""), Shown::FewerThan5);
    // /settings says so, and they can opt back in.
    say(&s, 4, "/settings", None, now).await;
    let st = store.get_user(&person(4)).await.unwrap().unwrap();
    assert!(
        st.menu
            .iter()
            .any(|c| c.label == catalog().t("button.settings_count_me"))
    );
}

/// Proves that challenges in the community's groups are counted (run, and the check-in rate)
/// only with five or more counted members, and that joining one makes a person a member of
/// the group's community.
#[tokio::test]
async fn challenges_count_with_five_counted_members() {
    use lensbot::challenge::group::{Actor, Group};
    let group = "telegram:chat:-100555";
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let now = ts("2026-11-15T12:00:00Z");
    let s = Session::new(catalog(), store.clone()).with_manual_clock(now);
    let g = Group {
        key: group.into(),
        title: "North AHP network".into(),
    };
    let fac = Actor {
        user: "telegram:1".into(),
        name: "Fran".into(),
        admin: true,
    };
    s.group_command(&g, &fac, "start six-days", now)
        .await
        .unwrap();
    let join = Input::Button(lensbot::challenge::token('j', group, &[]));
    for i in 0..4 {
        let key = format!("telegram:{}", 770_000 + i);
        s.handle(&key, join.clone(), None, now).await.unwrap();
    }
    let r = s.insights(group, Period::ThisMonth, now).await.unwrap();
    assert_eq!(
        get(&r, "challenges_run", ""),
        Shown::Count(0),
        "four members"
    );
    assert_eq!(get(&r, "active_this_month", ""), Shown::FewerThan5);
    let key = "telegram:770004".to_string();
    s.handle(&key, join.clone(), None, now).await.unwrap();
    let st = store.get_user(&key).await.unwrap().unwrap();
    assert!(st.tally.communities.contains_key(group), "joined there");
    let r = s.insights(group, Period::ThisMonth, now).await.unwrap();
    assert_eq!(get(&r, "challenges_run", ""), Shown::Count(1));
    assert_eq!(get(&r, "challenges_finished", ""), Shown::Count(0));
    assert_eq!(get(&r, "active_this_month", ""), Shown::Count(5));
    assert!(matches!(
        get(&r, "challenge_checkin_rate", ""),
        Shown::Percent(_) | Shown::None
    ));
}

/// Everything a report can say, as text: the message, the picture's words and the CSV.
fn everything(r: &Report) -> String {
    let cat = catalog();
    let ms: Vec<Message> = render::messages(&cat, r);
    let mut out = lensbot::render::plain_all(&ms);
    out.push_str(&render::csv(&cat, r));
    for m in &ms {
        if let Some(f) = &m.file {
            out.push_str(&f.caption);
            out.push_str(&serde_json::to_string(&f.body).unwrap());
        }
    }
    out
}

/// Proves that nothing personal reaches a report, in any form: no reflection text, no name,
/// no person's id; and that the text and the picture are made (a PNG that decodes).
#[tokio::test]
async fn nothing_personal_appears() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let now = ts("2026-11-15T12:00:00Z");
    let s = Session::new(catalog(), store).with_manual_clock(now);
    community_of_forty(&s).await;
    for p in Period::ALL {
        let r = s.insights(COMMUNITY, p, now).await.unwrap();
        let all = everything(&r);
        assert!(!all.contains("quokka"), "a reflection's words in:\n{all}");
        assert!(!all.contains("Zebedee"), "a name in:\n{all}");
        for i in 0..43 {
            let id = (880_000 + i).to_string();
            assert!(!all.contains(&id), "a person's id {id} in:\n{all}");
        }
        assert!(all.contains("fewer than 5"), "{all}");
    }
    let r = s.insights(COMMUNITY, Period::Months3, now).await.unwrap();
    let ms = render::messages(&catalog(), &r);
    let png = lensbot::files::bytes(ms[1].file.as_deref().unwrap()).unwrap();
    let img = image_size(&png);
    assert_eq!(img, lensbot::engine::export::PICTURE_SIZE);
}

/// A PNG's width and height, from its header.
fn image_size(png: &[u8]) -> (u32, u32) {
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "a PNG");
    let w = u32::from_be_bytes(png[16..20].try_into().unwrap());
    let h = u32::from_be_bytes(png[20..24].try_into().unwrap());
    (w, h)
}

/// Proves `lensbot insights --csv` on a sled store: one row per number, the suppression
/// applied as a lead sees it, nothing personal; and a bad community key is a usage error.
#[tokio::test]
async fn the_cli_prints_the_report_and_csv() {
    let dir = tempfile::tempdir().unwrap();
    let now = Timestamp::now();
    {
        let store: Arc<dyn Store> = Arc::new(SledStore::open(dir.path()).unwrap());
        let s = Session::new(catalog(), store.clone()).with_manual_clock(now);
        for i in 0..6 {
            say(&s, i, "/start", Some(COMMUNITY), now).await;
        }
        for i in 0..2 {
            walk_awareness(&s, i, 3, now).await;
        }
        store.flush().await.unwrap();
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lensbot"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("LENSBOT_DATA")
        .env_remove("LENSBOT_STORE")
        .args([
            "insights",
            "--community",
            COMMUNITY,
            "--period",
            "month",
            "--csv",
        ])
        .arg("--data")
        .arg(dir.path())
        .output()
        .unwrap();
    let csv = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{csv}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "community,period,figure,detail,value");
    assert!(
        lines.contains(&"discord:guild:777,month,active_this_month,,6"),
        "{csv}"
    );
    assert!(
        lines.contains(&"discord:guild:777,month,cell_done,lens-3/awareness,fewer than 5"),
        "{csv}"
    );
    assert!(
        lines.contains(&"discord:guild:777,month,reflections,,fewer than 5"),
        "{csv}"
    );
    assert!(!csv.contains("quokka") && !csv.contains("Zebedee") && !csv.contains("88000"));
    // Every row has five fields.
    assert!(lines.iter().all(|l| l.split(',').count() == 5), "{csv}");
    let text = std::process::Command::new(env!("CARGO_BIN_EXE_lensbot"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("LENSBOT_DATA")
        .env_remove("LENSBOT_STORE")
        .args(["insights", "--community", COMMUNITY])
        .arg("--data")
        .arg(dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout).to_string();
    assert!(
        text.contains("Community insights: the last 3 months"),
        "{text}"
    );
    assert!(text.contains("People active this month: 6."), "{text}");
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_lensbot"))
        .args(["insights", "--community", "guild 777"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("discord:guild:ID"));
}

/// Proves the Discord surface: `/insights` is registered (valid against the spec, with its
/// period choices); a member without Manage Server or the facilitator role is refused, and a
/// DM is told it works inside a server; a manager, and a member with the server's facilitator
/// role, get the counts ephemerally (text and picture), from people who used the bot in the
/// server; every follow-up is valid against Discord's OpenAPI spec.
#[cfg(feature = "discord")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discord_answers_only_leads_and_only_ephemerally() {
    use crate::discord::{GUILD, ephemeral, start};
    use crate::discord_spec::{COMMANDS, WEBHOOK, assert_request};
    let r = start().await;
    let f = &r.fake;
    let put = f
        .calls()
        .into_iter()
        .find(|c| c.method == "PUT" && c.path.ends_with("/commands"))
        .unwrap();
    assert_request("PUT", COMMANDS, &put.body);
    let cmd = put
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "insights");
    let choices = cmd.unwrap()["options"][0]["choices"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(choices, 4);
    // Five people use meeting prompts in the server: they are its community now.
    for uid in 11..16 {
        let t = f.command(uid, Some(GUILD), "prep", &[("meeting", "team")]);
        f.wait_followup(&t, "team meeting or huddle").await;
    }
    let cat = catalog();
    let refused = cat.t("insights.refused_discord");
    let t = f.command(20, Some(GUILD), "insights", &[]);
    let m = f.wait_followup(&t, refused).await;
    assert!(ephemeral(&m), "{m}");
    assert!(ephemeral(&f.callback(&t).unwrap()["data"]));
    let t = f.command(20, None, "insights", &[]);
    f.wait_followup(&t, "works inside a server").await;
    // A manager.
    f.make_admin(21);
    let t = f.command(21, Some(GUILD), "insights", &[("period", "month")]);
    let m = f.wait_followup(&t, "Community insights: this month").await;
    assert!(ephemeral(&m), "{m}");
    assert!(ephemeral(&f.callback(&t).unwrap()["data"]));
    let text = m["content"].as_str().unwrap();
    assert!(text.contains("Team meeting or huddle 5"), "{text}");
    assert!(text.contains("People active this month: 5."), "{text}");
    // The picture follows, ephemeral too.
    let pic = f
        .wait("the picture", |f| {
            f.calls().into_iter().find(|c| {
                c.path.ends_with(&t) && c.file.as_ref().is_some_and(|x| x.name == "insights.png")
            })
        })
        .await;
    assert!(ephemeral(&pic.body), "{}", pic.body);
    // A member with the server's facilitator role (chosen with /challenge role).
    r.store
        .put_meta(&format!("discord-facilitator-role/{GUILD}"), b"4242")
        .await
        .unwrap();
    f.give_role(22, 4242);
    let t = f.command(22, Some(GUILD), "insights", &[]);
    f.wait_followup(&t, "Community insights: the last 3 months")
        .await;
    // Every follow-up without a file fits the spec. (serenity numbers an upload's attachment
    // id, `"id": 0`, where the spec has a string: the same for every file lensbot sends.)
    for c in f.calls() {
        if c.method == "POST" && c.path.starts_with("/webhooks/") && c.file.is_none() {
            assert_request("POST", WEBHOOK, &c.body);
        }
    }
    r.stop().await.unwrap();
}

/// Proves the Telegram surface: a non-admin's `/insights` in a group is refused there; when
/// Telegram cannot say who is an admin, the person is asked to try again; an admin's gets the counts privately (text and picture), with only "sent to you privately" in
/// the group and no counts there at all; an admin who never started the bot is told in the
/// group to start it privately, and nothing is sent to them; `/insights` in a private chat
/// says to send it in the group. Every request is checked against the Bot API spec.
#[cfg(feature = "telegram")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telegram_sends_counts_privately_to_admins_only() {
    use crate::telegram::start;
    let r = start().await;
    let f = &r.fake;
    let group: i64 = -100_777;
    let cat = catalog();
    // The admin and five members start privately, use a meeting prompt, then a command in the
    // group (which makes them its members).
    f.make_admin(10);
    for uid in [10, 31, 32, 33, 34, 35] {
        f.send_private(uid, "/start");
        f.wait_for_text(uid, "Your privacy").await;
        f.send_private(uid, "/prep team");
        f.wait_for_text(uid, "team meeting or huddle").await;
    }
    for uid in [31, 32, 33, 34, 35] {
        f.send_group(group, uid, "/help");
    }
    // Wait until all five are members of the group's community.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let key = format!("telegram:chat:{group}");
    loop {
        let mut members = 0;
        for uid in [31, 32, 33, 34, 35] {
            let st = r.store.get_user(&format!("telegram:{uid}")).await.unwrap();
            members += usize::from(st.is_some_and(|s| s.tally.communities.contains_key(&key)));
        }
        if members == 5 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{members} of 5 noted");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    f.send_group(group, 31, "/insights");
    f.wait_for_text(group, cat.t("insights.refused_telegram"))
        .await;
    f.send_private(31, "/insights");
    f.wait_for_text(31, "Send /insights in the group").await;
    // Telegram failing to say whether they are an admin is not a refusal: try again.
    f.fail_next(
        "getChatMember",
        500,
        serde_json::json!({"ok": false, "error_code": 500, "description": "Internal Server Error"}),
    );
    f.send_group(group, 10, "/insights");
    f.wait_for_text(group, "try /insights again").await;
    f.send_group(group, 10, "/insights 3");
    let dm = f
        .wait_for_text(10, "Community insights: the last 3 months")
        .await;
    let text = dm["text"].as_str().unwrap();
    // The five members, and the admin, who has now used the bot from the group too.
    assert!(text.contains("Team meeting or huddle 6"), "{text}");
    assert!(text.contains("People active this month: 6."), "{text}");
    f.wait_for_file(10, "sendPhoto", "insights").await;
    f.wait_for_text(group, "to you privately").await;
    // An admin who never started the bot.
    f.make_admin(12);
    f.send_group(group, 12, "/insights");
    f.wait_for_text(group, "open a private chat with me").await;
    for m in f.sent_to(group) {
        let t = m["text"].as_str().unwrap_or("");
        assert!(
            !t.contains("Community insights") && !t.contains("People active"),
            "counts in the group: {t}"
        );
    }
    assert!(f.sent_to(12).is_empty(), "nothing can reach 12 privately");
    crate::telegram_spec::assert_calls_match(f);
    r.stop().await.unwrap();
}

/// Proves people who started before insights existed are told before anything of theirs is
/// counted: their first turn since brings the notice once (not again), and only from then are
/// they counted, in the community they used the bot from.
#[tokio::test]
async fn people_from_before_insights_are_told_before_they_are_counted() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let now = ts("2026-11-15T12:00:00Z");
    let s = Session::new(catalog(), store.clone()).with_manual_clock(now);
    for i in 0..5 {
        let mut old = lensbot::engine::UserState::new(&person(i));
        old.welcomed = true;
        old.created = Some(ts("2026-01-10T09:00:00Z"));
        store.put_user(&old).await.unwrap();
    }
    let mut told = 0;
    for i in 0..5 {
        let mut ev = Event::new(&person(i), Input::Text("/prep team".into()));
        ev.community = Some(COMMUNITY.into());
        let reply = s.handle_event(ev, now).await.unwrap();
        told += usize::from(
            lensbot::render::plain_all(&reply.messages)
                .contains("Something new: community insights"),
        );
        let again = s
            .handle(&person(i), Input::Text("/fact".into()), None, now)
            .await
            .unwrap();
        assert!(!lensbot::render::plain_all(&again.messages).contains("Something new"));
    }
    assert_eq!(told, 5, "each told once");
    let r = s.insights(COMMUNITY, Period::ThisMonth, now).await.unwrap();
    assert_eq!(r.get("active_this_month", ""), Shown::Count(5));
}

/// Proves a community's report is reused for a few minutes (a lead asking again, or anyone
/// asking over and over, does not make the bot read every record again): more people active
/// within five minutes leave the platforms' report as it was; after five minutes it is made
/// afresh and counts them.
#[tokio::test]
async fn a_report_is_reused_for_five_minutes() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let now = ts("2026-11-15T12:00:00Z");
    let s = Session::new(catalog(), store).with_manual_clock(now);
    for i in 0..5 {
        say(&s, i, "/start", Some(COMMUNITY), now).await;
    }
    let first =
        lensbot::render::plain_all(&s.insights_messages(COMMUNITY, Period::ThisMonth).await);
    assert!(first.contains("People active this month: 5."), "{first}");
    for i in 5..10 {
        say(&s, i, "/start", Some(COMMUNITY), now).await;
    }
    let again =
        lensbot::render::plain_all(&s.insights_messages(COMMUNITY, Period::ThisMonth).await);
    assert_eq!(again, first, "reused");
    let later = now + jiff::SignedDuration::from_mins(6);
    s.set_now(later);
    let fresh =
        lensbot::render::plain_all(&s.insights_messages(COMMUNITY, Period::ThisMonth).await);
    assert!(fresh.contains("People active this month: 10."), "{fresh}");
}
