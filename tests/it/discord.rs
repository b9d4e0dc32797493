//! The Discord adapter end to end: the real serenity client against the fake REST server and
//! gateway on 127.0.0.1, in-process and as the real `lensbot discord` binary.

use crate::fake_discord::{FakeDiscord, as_message, button};
use crate::helpers::catalog;
use lensbot::discord::{self, Config, DiscordError};
use lensbot::engine::Input;
use lensbot::session::Session;
use lensbot::store::{MemoryStore, Store};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

const TOKEN: &str = "MTAxMDEwMTAxMDEwMTAxMDEw.FAKE.never-printed-token";
pub(crate) const GUILD: u64 = 500;

pub(crate) struct Running {
    pub(crate) fake: FakeDiscord,
    pub(crate) store: Arc<dyn Store>,
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), DiscordError>>,
}

async fn start_with(fake: FakeDiscord, store: Arc<dyn Store>) -> Running {
    let session = Arc::new(Session::new(catalog(), store.clone()));
    let config = Config {
        token: TOKEN.into(),
        api_url: Some(fake.rest_url.clone()),
        guild: Some(GUILD),
        facilitator_role: None,
    };
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(discord::run(session, config, async {
        let _ = stopped.await;
    }));
    // Wait until the shard is ready and the commands are registered.
    fake.wait("command registration", |f| {
        f.calls()
            .into_iter()
            .find(|c| c.method == "PUT" && c.path.ends_with("/commands"))
    })
    .await;
    Running {
        fake,
        store,
        stop,
        task,
    }
}

pub(crate) async fn start() -> Running {
    start_with(FakeDiscord::start().await, Arc::new(MemoryStore::new())).await
}

impl Running {
    pub(crate) async fn stop(self) -> Result<(), DiscordError> {
        let _ = self.stop.send(());
        tokio::time::timeout(Duration::from_secs(15), self.task)
            .await
            .expect("stops in time")
            .unwrap()
    }
}

pub(crate) fn ephemeral(m: &Value) -> bool {
    m["flags"].as_u64().unwrap_or(0) & 64 != 0
}

fn no_mentions(m: &Value) {
    let am = &m["allowed_mentions"];
    assert!(am.is_object(), "allowed_mentions missing: {m}");
    assert_eq!(am["parse"], serde_json::json!([]), "{m}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_start_and_a_lens_walk_with_buttons_and_a_modal_reflection() {
    let r = start().await;
    let f = &r.fake;
    let put = f.calls().into_iter().find(|c| c.method == "PUT").unwrap();
    assert_eq!(
        put.path,
        format!("/applications/42/guilds/{GUILD}/commands")
    );
    let cmds = put.body.as_array().unwrap();
    assert_eq!(
        cmds.len(),
        lensbot::engine::COMMANDS.len() + lensbot::discord::commands::SERVER_COMMANDS.len()
    );
    let lens = cmds.iter().find(|c| c["name"] == "lens").unwrap();
    assert_eq!(lens["options"][0]["choices"].as_array().unwrap().len(), 6);
    // /role offers the roles as choices, so a manager can pick theirs.
    let role = cmds.iter().find(|c| c["name"] == "role").unwrap();
    let choices = role["options"][0]["choices"].as_array().unwrap();
    assert!(
        choices
            .iter()
            .any(|c| c["name"] == "Team leader or manager" && c["value"] == "team-leader")
    );
    assert!(
        cmds.iter()
            .all(|c| !c["description"].as_str().unwrap().is_empty())
    );

    let me = 111;
    let t = f.command(me, Some(GUILD), "start", &[]);
    let welcome = f.wait_followup(&t, "Welcome to lensbot").await;
    assert!(
        ephemeral(&welcome),
        "personal replies are ephemeral in servers"
    );
    no_mentions(&welcome);
    // The interaction was acknowledged (deferred) before anything else.
    let first = f
        .calls()
        .into_iter()
        .position(|c| c.path.ends_with("/callback"))
        .unwrap();
    let followup = f
        .calls()
        .into_iter()
        .position(|c| c.path.starts_with("/webhooks/"))
        .unwrap();
    assert!(first < followup);

    let t = f.command(me, Some(GUILD), "lens", &[("lens", "1")]);
    let intro = f.wait_followup(&t, "Lens 1: Myself as an individual").await;
    let t = f.click(
        me,
        Some(GUILD),
        &button(&intro, "The whole lens"),
        &as_message(&intro),
    );
    let summary = f.wait_followup(&t, "awareness").await;
    let t = f.click(
        me,
        Some(GUILD),
        &button(&summary, "Next"),
        &as_message(&summary),
    );
    let prompt = f.wait_followup(&t, "question 1 of").await;
    // In a server, free text goes through a private modal.
    let answer = button(&prompt, "Type my answer");
    f.click(me, Some(GUILD), &answer, &as_message(&prompt));
    let modal = f
        .wait("a modal", |f| {
            f.calls()
                .into_iter()
                .find(|c| c.path.ends_with("/callback") && c.body["type"] == 9)
        })
        .await;
    let modal_id = modal.body["data"]["custom_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        modal.body["data"]["components"][0]["components"][0]["max_length"],
        4000
    );
    let t = f.submit(me, Some(GUILD), &modal_id, "Sentinel modal reflection 5521");
    let saved = f.wait_followup(&t, "Saved.").await;
    assert!(ephemeral(&saved));
    let st = r.store.get_user("discord:111").await.unwrap().unwrap();
    assert_eq!(st.reflections[0].text, "Sentinel modal reflection 5521");
    let t = f.command(me, Some(GUILD), "mydata", &[]);
    let data = f.wait_followup(&t, "Everything I hold about you").await;
    assert!(ephemeral(&data));
    // The JSON comes as a file in the same ephemeral reply.
    let json = f
        .wait("the /mydata file", |f| {
            f.calls().into_iter().find_map(|c| {
                c.file
                    .filter(|u| c.path.ends_with(&t) && u.name.ends_with(".json"))
            })
        })
        .await;
    assert!(String::from_utf8_lossy(&json.bytes).contains("Sentinel modal reflection 5521"));
    r.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_lookups_go_in_the_channel_without_buttons() {
    let r = start().await;
    let f = &r.fake;
    let t = f.command(222, Some(GUILD), "fact", &[]);
    let fact = f.wait_followup(&t, "Did you know?").await;
    assert!(!ephemeral(&fact));
    assert!(fact["components"].as_array().is_none_or(|c| c.is_empty()));
    let t = f.command(222, Some(GUILD), "define", &[("term", "equity")]);
    assert!(!ephemeral(
        &f.wait_followup(&t, "Equality and equity").await
    ));
    // A menu, or anything personal, stays ephemeral.
    let t = f.command(222, Some(GUILD), "define", &[]);
    assert!(ephemeral(&f.wait_followup(&t, "Key terms").await));
    r.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dm_conversation_with_plain_messages() {
    let r = start().await;
    let f = &r.fake;
    f.dm(333, "/lens 2");
    f.wait("a DM reply", |f| {
        f.dms_to(333).into_iter().find(|m| {
            m["content"]
                .as_str()
                .unwrap()
                .contains("Lens 2: Care of patients")
        })
    })
    .await;
    // "2": the whole lens, then past its awareness summary.
    f.dm(333, "2");
    f.dm(333, "next");
    f.wait("the first prompt", |f| {
        f.dms_to(333)
            .into_iter()
            .find(|m| m["content"].as_str().unwrap().contains("question 1 of"))
    })
    .await;
    f.dm(333, "A DM reflection");
    let saved = f
        .wait("saved", |f| {
            f.dms_to(333)
                .into_iter()
                .find(|m| m["content"].as_str().unwrap().contains("Saved."))
        })
        .await;
    no_mentions(&saved);
    assert_eq!(
        r.store
            .get_user("discord:333")
            .await
            .unwrap()
            .unwrap()
            .reflections[0]
            .text,
        "A DM reflection"
    );
    r.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_fast_clicks_on_one_button_make_one_transition() {
    let r = start().await;
    let f = &r.fake;
    let t = f.command(444, Some(GUILD), "lens", &[("lens", "3")]);
    let intro = f.wait_followup(&t, "Lens 3").await;
    let id = button(&intro, "The whole lens");
    let tokens: Vec<String> = (0..10)
        .map(|_| f.click(444, Some(GUILD), &id, &as_message(&intro)))
        .collect();
    // serenity handles each click on its own task, so any one of them may be the first.
    let all = tokens.clone();
    f.wait("the one transition", move |f| {
        all.iter()
            .flat_map(|t| f.replies(t))
            .find(|m| m["content"].as_str().unwrap_or("").contains("awareness"))
    })
    .await;
    f.wait("every click acknowledged", move |f| {
        let acked = f
            .calls()
            .into_iter()
            .filter(|c| c.path.ends_with("/callback"))
            .count();
        (acked >= 11).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let st = r.store.get_user("discord:444").await.unwrap().unwrap();
    assert_eq!(
        st.at,
        lensbot::engine::At::Lens {
            lens: "lens-3".into(),
            stop: "awareness".into()
        }
    );
    let answered: usize = tokens.iter().map(|t| f.replies(t).len()).sum();
    assert_eq!(answered, 1, "one transition, nine quiet acknowledgements");
    let callbacks = f
        .calls()
        .into_iter()
        .filter(|c| c.path.ends_with("/callback"))
        .count();
    assert!(callbacks >= 11, "every click acknowledged ({callbacks})");
    r.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_button_after_a_restart_says_where_the_person_is() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let fake = FakeDiscord::start().await;
    let r = start_with(fake.clone(), store.clone()).await;
    let t = fake.command(555, Some(GUILD), "lens", &[("lens", "4")]);
    let intro = fake.wait_followup(&t, "Lens 4").await;
    let t = fake.click(
        555,
        Some(GUILD),
        &button(&intro, "The whole lens"),
        &as_message(&intro),
    );
    let summary = fake.wait_followup(&t, "awareness").await;
    r.stop().await.unwrap();
    // A new process over the same store.
    let fake2 = FakeDiscord::start().await;
    let r2 = start_with(fake2.clone(), store.clone()).await;
    // The current step's button still works after the restart …
    let t = fake2.click(
        555,
        Some(GUILD),
        &button(&summary, "Next"),
        &as_message(&summary),
    );
    fake2.wait_followup(&t, "question 1 of").await;
    // … and an old one says where the person is now.
    let t = fake2.click(
        555,
        Some(GUILD),
        &button(&intro, "Go to advocacy"),
        &as_message(&intro),
    );
    let stale = fake2.wait_followup(&t, "from an earlier step").await;
    assert!(stale["content"].as_str().unwrap().contains("question 1 of"));
    r2.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mentions_in_user_text_are_never_parsed() {
    let r = start().await;
    let f = &r.fake;
    let t = f.command(
        666,
        Some(GUILD),
        "note",
        &[("text", "@everyone <@&123456> <@777> @here")],
    );
    f.wait_followup(&t, "Note saved").await;
    let t = f.command(666, Some(GUILD), "mydata", &[]);
    let data = f.wait_followup(&t, "Everything I hold").await;
    no_mentions(&data);
    // The note itself travels in the JSON file, as written, never as a message's content.
    let json = f
        .wait("the /mydata file", |f| {
            f.calls().into_iter().find(|c| {
                c.path.ends_with(&t) && c.file.as_ref().is_some_and(|u| u.name.ends_with(".json"))
            })
        })
        .await;
    no_mentions(&json.body);
    assert!(String::from_utf8_lossy(&json.file.unwrap().bytes).contains("@everyone <@&123456>"));
    let t = f.command(666, Some(GUILD), "define", &[("term", "@everyone")]);
    let m = f.wait_followup(&t, "definition").await;
    no_mentions(&m);
    for c in f
        .calls()
        .into_iter()
        .filter(|c| c.path.starts_with("/webhooks/"))
    {
        no_mentions(&c.body);
    }
    r.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_interaction_applies_once() {
    let r = start().await;
    let f = &r.fake;
    let t = f.command(777, Some(GUILD), "note", &[("text", "just once")]);
    f.wait_followup(&t, "Note saved (you have 1)").await;
    f.repeat_last();
    let t2 = f.command(777, Some(GUILD), "progress", &[]);
    f.wait_followup(&t2, "Notes: 1.").await;
    assert_eq!(
        r.store
            .get_user("discord:777")
            .await
            .unwrap()
            .unwrap()
            .notes
            .len(),
        1
    );
    r.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_the_turn_in_flight() {
    let r = start().await;
    let f = r.fake.clone();
    f.slow_callbacks(Duration::from_millis(800));
    let t = f.command(888, Some(GUILD), "note", &[("text", "finishing matters")]);
    f.wait("the acknowledgement to start", |f| {
        f.calls()
            .into_iter()
            .find(|c| c.path.ends_with("/callback"))
    })
    .await;
    let store = r.store.clone();
    r.stop().await.unwrap();
    assert_eq!(
        store
            .get_user("discord:888")
            .await
            .unwrap()
            .unwrap()
            .notes
            .len(),
        1
    );
    assert!(
        f.followups(&t)
            .iter()
            .any(|m| m["content"].as_str().unwrap().contains("Note saved"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_dms_get_a_hint_instead_of_silence() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let session = Session::new(catalog(), store.clone());
    let earlier = jiff::Timestamp::now() - jiff::SignedDuration::from_mins(15);
    for text in ["/remind quiet off", "/remind lens in 1 minute"] {
        session
            .handle("discord:999", Input::Text(text.into()), None, earlier)
            .await
            .unwrap();
    }
    let fake = FakeDiscord::start().await;
    fake.close_dms(999);
    let r = start_with(fake.clone(), store.clone()).await;
    fake.wait("marked unreachable", |_| {
        lensbot::store::wait(store.get_user("discord:999"))
            .unwrap()
            .filter(|s| s.unreachable)
    })
    .await;
    let t = fake.command(999, Some(GUILD), "progress", &[]);
    let hint = fake.wait_followup(&t, "couldn't reach you").await;
    assert!(ephemeral(&hint));
    r.stop().await.unwrap();
}

/// `/progress` in a server is answered with an ephemeral follow-up carrying the picture as an
/// attachment (multipart `payload_json` naming it and `files[0]` holding a PNG of the
/// documented size), and `/export since …` with the PDF and the Markdown file the same way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_and_export_come_as_ephemeral_attachments() {
    let r = start().await;
    let f = &r.fake;
    let me = 2077;
    let t = f.command(
        me,
        Some(GUILD),
        "note",
        &[("text", "Ask about the bus timetable changes")],
    );
    f.wait_followup(&t, "Note saved").await;
    let file_under = |token: &str, name: &str| {
        let (token, name) = (token.to_string(), name.to_string());
        move |f: &FakeDiscord| {
            f.calls().into_iter().find(|c| {
                c.method == "POST"
                    && c.path.ends_with(&token)
                    && c.file.as_ref().is_some_and(|u| u.name.ends_with(&name))
            })
        }
    };
    let t = f.command(me, Some(GUILD), "progress", &[]);
    let call = f
        .wait("the progress picture", file_under(&t, "progress.png"))
        .await;
    assert!(ephemeral(&call.body), "{}", call.body);
    assert_eq!(call.body["attachments"][0]["filename"], "progress.png");
    assert!(call.body["content"].as_str().unwrap().contains("Lens 1"));
    let png = call.file.unwrap();
    assert_eq!(png.field, "files[0]");
    let pic = tiny_skia::Pixmap::decode_png(&png.bytes).expect("a PNG");
    assert_eq!(
        (pic.width(), pic.height()),
        lensbot::engine::export::PICTURE_SIZE
    );
    let t = f.command(me, Some(GUILD), "export", &[("since", "2026-01-01")]);
    let pdf = f.wait("the PDF", file_under(&t, ".pdf")).await;
    assert!(ephemeral(&pdf.body));
    assert!(pdf.file.unwrap().bytes.starts_with(b"%PDF"));
    f.wait("the Markdown", file_under(&t, ".md")).await;
    r.stop().await.unwrap();
}

fn lensbot() -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_lensbot"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_binary_runs_against_the_fake_and_stops_cleanly_on_sigterm() {
    let fake = FakeDiscord::start().await;
    let data = tempfile::tempdir().unwrap();
    let child = lensbot()
        .args(["discord", "--data", data.path().to_str().unwrap()])
        .env("DISCORD_TOKEN", TOKEN)
        .env("DISCORD_API_URL", &fake.rest_url)
        .env("DISCORD_GUILD_ID", GUILD.to_string())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    fake.wait("registration", |f| {
        f.calls().into_iter().find(|c| c.method == "PUT")
    })
    .await;
    let t = fake.command(
        1212,
        None,
        "note",
        &[("text", "from the real discord binary")],
    );
    fake.wait_followup(&t, "Note saved").await;
    let pid = child.id().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        !stderr.contains("never-printed") && !stdout.contains("never-printed"),
        "the token was printed"
    );
    assert!(
        !stderr.contains("real discord binary"),
        "user text was printed"
    );
    let export = lensbot()
        .args([
            "export",
            "--user",
            "discord:1212",
            "--data",
            data.path().to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&export.stdout).unwrap();
    assert_eq!(v["notes"][0]["text"], "from the real discord binary");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_due_reminder_is_delivered_by_dm() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let session = Session::new(catalog(), store.clone());
    let earlier = jiff::Timestamp::now() - jiff::SignedDuration::from_mins(15);
    for text in ["/remind quiet off", "/remind prep mdt in 1 minute"] {
        session
            .handle("discord:1313", Input::Text(text.into()), None, earlier)
            .await
            .unwrap();
    }
    let fake = FakeDiscord::start().await;
    let r = start_with(fake.clone(), store).await;
    let dm = fake
        .wait("a reminder by DM", |f| {
            f.dms_to(1313)
                .into_iter()
                .find(|m| m["content"].as_str().unwrap().contains("Reminder"))
        })
        .await;
    assert!(
        dm["content"]
            .as_str()
            .unwrap()
            .contains("Before your MDT or case review")
    );
    no_mentions(&dm);
    r.stop().await.unwrap();
}

/// Two quick DMs from each of 100 people: every pair is handled in the order Discord sent it
/// (serenity spawns a task per event; the tickets given at arrival keep the order).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quick_dm_pairs_are_handled_in_order() {
    let r = start().await;
    let f = r.fake.clone();
    let people: Vec<u64> = (0..100).map(|i| 20_000 + i).collect();
    for p in &people {
        f.dm(*p, "/note first");
        f.dm(*p, "/note second");
    }
    let store = r.store.clone();
    f.wait("every pair saved", |_| {
        people
            .iter()
            .all(|p| {
                lensbot::store::wait(store.get_user(&format!("discord:{p}")))
                    .ok()
                    .flatten()
                    .is_some_and(|s| s.notes.len() == 2)
            })
            .then_some(())
    })
    .await;
    let out_of_order = people
        .iter()
        .filter(|p| {
            let s = lensbot::store::wait(store.get_user(&format!("discord:{p}")))
                .unwrap()
                .unwrap();
            s.notes[0].text != "first"
        })
        .count();
    assert_eq!(out_of_order, 0, "pairs handled out of order");
    r.stop().await.unwrap();
}

/// A DM kept in the inbox when the process stopped before its turn (a stop under a backlog, or
/// a crash) is handled at the next start and answered by DM; handled DMs leave nothing behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dm_left_in_the_inbox_is_handled_at_the_next_start() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let entry = lensbot::inbox::InboxEntry {
        source: "discord".into(),
        seq: 1_234_567,
        event: "dc:m:1234567".into(),
        queue: "discord:4545".into(),
        payload: serde_json::json!({"kind": "dm", "event": "dc:m:1234567",
            "text": "/note kept across a stop", "name": "Ada"}),
    };
    store
        .inbox_append("discord", 1_234_567, &[entry])
        .await
        .unwrap();
    let r = start_with(FakeDiscord::start().await, store.clone()).await;
    let f = r.fake.clone();
    f.wait("the kept DM answered", |f| {
        f.dms_to(4545)
            .into_iter()
            .find(|m| m["content"].as_str().unwrap_or("").contains("Note saved"))
    })
    .await;
    let notes = store.get_user("discord:4545").await.unwrap().unwrap().notes;
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0].text, "kept across a stop");
    // A DM handled now leaves no inbox entry behind.
    f.dm(4545, "/note and another");
    f.wait("the second note", |f| {
        f.dms_to(4545)
            .into_iter()
            .find(|m| m["content"].as_str().unwrap_or("").contains("you have 2"))
    })
    .await;
    assert!(store.inbox("discord").await.unwrap().is_empty());
    r.stop().await.unwrap();
}

/// The content of a sent Discord message.
fn content_of(m: &Value) -> &str {
    m["content"].as_str().unwrap_or("")
}

/// Waits for a direct message to this person containing `needle`.
async fn wait_dm(f: &FakeDiscord, user: u64, needle: &str) -> Value {
    let needle = needle.to_string();
    f.wait(&format!("a DM containing {needle:?}"), move |f| {
        f.dms_to(user)
            .into_iter()
            .find(|m| content_of(m).contains(&needle))
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_short_route_and_the_journal_in_a_dm_with_blank_lines_and_buttons() {
    // Proves, through the real serenity client and the fake: in a DM, a lens on the short route
    // arrives as Markdown with a blank line between title, step, summary, prompt and hint and
    // no source lines; /journal shows each reflection under its prompt beneath a bold
    // lens-and-mode heading, dated; and an action is marked done from the journal's buttons.
    let r = start().await;
    let f = &r.fake;
    let me = 888;
    f.dm(me, "/lens 2");
    let intro = wait_dm(f, me, "Lens 2: Care of patients").await;
    let t = f.click(
        me,
        None,
        &button(&intro, "Begin (about five minutes)"),
        &as_message(&intro),
    );
    let aw = f.wait_followup(&t, "Step 2 of 7").await;
    assert!(
        content_of(&aw).contains(
            "**Lens 2: Care of patients, awareness**\n\nStep 2 of 7\n\nAwareness here means"
        ),
        "{}",
        content_of(&aw)
    );
    assert!(!content_of(&aw).contains("Source:"));
    f.dm(me, "Sentinel awareness 8841");
    wait_dm(f, me, "Step 3 of 7").await;
    f.dm(me, "Sentinel action 8842");
    let list = wait_dm(f, me, "Step 4 of 7").await;
    assert!(!content_of(&list).contains("Source:"));
    let t = f.click(me, None, &button(&list, "Action 1"), &as_message(&list));
    let again = f.wait_followup(&t, "You can commit to another").await;
    let t = f.click(me, None, &button(&again, "Go on"), &as_message(&again));
    f.wait_followup(&t, "Step 5 of 7").await;
    f.dm(me, "Sentinel advocacy 8843");
    let meeting = wait_dm(f, me, "Step 6 of 7").await;
    let t = f.click(
        me,
        None,
        &button(&meeting, "Save line 1"),
        &as_message(&meeting),
    );
    f.wait_followup(&t, "Step 7 of 7").await;
    f.dm(me, "/journal");
    let journal = wait_dm(f, me, "Your journal").await;
    let j = content_of(&journal);
    for (heading, prompt, answer) in [
        (
            "awareness",
            "Thinking of your last clinic",
            "Sentinel awareness 8841",
        ),
        (
            "action",
            "For the next person you see",
            "Sentinel action 8842",
        ),
        (
            "advocacy",
            "Which recent patient story",
            "Sentinel advocacy 8843",
        ),
    ] {
        let h = format!("**Lens 2: Care of patients, {heading}**\n\n{prompt}");
        let at = j.find(&h).unwrap_or_else(|| panic!("{h:?} in {j}"));
        assert!(j.find(answer).unwrap() > at, "{answer} under its prompt");
    }
    let t = f.click(
        me,
        None,
        &button(&journal, "Action 1"),
        &as_message(&journal),
    );
    let card = f.wait_followup(&t, "Action 1 (lens 2)").await;
    let t = f.click(me, None, &button(&card, "Mark it done"), &as_message(&card));
    f.wait_followup(&t, "Marked done.").await;
    let st = r.store.get_user("discord:888").await.unwrap().unwrap();
    assert!(st.actions[0].done.is_some());
    r.stop().await.unwrap();
}

/// Proves `/challenge role` is deferred with the visibility of its answer (issue 15): a
/// manager's usage mistake and a member's refusal are deferred ephemerally and answered
/// ephemerally, so neither ever shows in the channel; a manager's valid change is announced
/// publicly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn challenge_role_answers_are_deferred_as_privately_as_they_are_answered() {
    let r = start().await;
    let f = r.fake.clone();
    let (manager, member) = (7101, 7102);
    f.make_admin(manager);
    let defer_of = |token: &str| {
        f.calls()
            .into_iter()
            .find(|c| c.path.ends_with("/callback") && c.path.contains(token))
            .map(|c| c.body)
    };
    let t = f.command(
        manager,
        Some(GUILD),
        "challenge",
        &[("what", "role nonsense")],
    );
    let usage = f.wait_followup(&t, "Name the role").await;
    assert!(ephemeral(&usage), "{usage}");
    let d = defer_of(&t).expect("deferred");
    assert_eq!(d["type"], 5);
    assert!(
        ephemeral(&d["data"]),
        "the usage line was deferred publicly: {d}"
    );

    let t = f.command(member, Some(GUILD), "challenge", &[("what", "role 123")]);
    let refused = f.wait_followup(&t, "").await;
    assert!(ephemeral(&refused), "{refused}");
    assert!(ephemeral(&defer_of(&t).unwrap()["data"]));

    let t = f.command(
        manager,
        Some(GUILD),
        "challenge",
        &[("what", "role <@&4242>")],
    );
    let set = f.wait_followup(&t, "4242").await;
    assert!(!ephemeral(&set), "a manager's change is announced: {set}");
    r.stop().await.unwrap();
}
