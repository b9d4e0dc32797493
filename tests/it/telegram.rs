//! The Telegram adapter end to end: the real teloxide client against the fake Bot API on
//! 127.0.0.1, in-process and as the real `lensbot telegram` binary.

use crate::fake_telegram::{BOT_USERNAME, FakeTelegram, button};
use crate::helpers::catalog;
use lensbot::engine::Input;
use lensbot::session::Session;
use lensbot::store::{MemoryStore, Store};
use lensbot::telegram::{self, Config, TelegramError};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

const TOKEN: &str = "123456:TEST-TOKEN-never-printed";

pub(crate) struct Running {
    pub(crate) fake: FakeTelegram,
    pub(crate) session: Arc<Session>,
    pub(crate) store: Arc<dyn Store>,
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), TelegramError>>,
}

async fn start_with(fake: FakeTelegram, store: Arc<dyn Store>) -> Running {
    start_with_limits(fake, store, false).await
}

/// `throttle`: Telegram's rate limits on, as in production (teloxide's `Throttle`, which also
/// waits out a 429); off, the client is used directly and tests run faster.
async fn start_with_limits(fake: FakeTelegram, store: Arc<dyn Store>, throttle: bool) -> Running {
    let session = Arc::new(Session::new(catalog(), store.clone()));
    let config = Config {
        token: TOKEN.into(),
        api_url: fake.url.clone(),
        throttle,
        poll_timeout: 1,
        webhook: None,
    };
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(telegram::run(session.clone(), config, async {
        let _ = stopped.await;
    }));
    Running {
        fake,
        session,
        store,
        stop,
        task,
    }
}

pub(crate) async fn start() -> Running {
    start_with(FakeTelegram::start().await, Arc::new(MemoryStore::new())).await
}

impl Running {
    pub(crate) async fn stop(self) -> Result<(), TelegramError> {
        let _ = self.stop.send(());
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("stops within 10 s")
            .unwrap()
    }
}

/// Checks that a text is well-formed for Telegram's HTML parse mode: only the tags we use, all
/// closed, every `&` an entity.
fn assert_valid_html(text: &str) {
    let mut stack: Vec<&str> = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find(['<', '&']) {
        let tail = &rest[i..];
        if let Some(after) = tail.strip_prefix('&') {
            let ok = ["amp;", "lt;", "gt;", "quot;"]
                .iter()
                .any(|e| after.starts_with(e));
            assert!(ok, "a bare & in {text:?}");
            rest = after;
            continue;
        }
        let end = tail
            .find('>')
            .unwrap_or_else(|| panic!("an unclosed < in {text:?}"));
        let tag = &tail[1..end];
        match tag {
            "b" | "i" => stack.push(tag),
            t if t.starts_with("a href=\"") => stack.push("a"),
            "/b" | "/i" | "/a" => {
                assert_eq!(stack.pop(), Some(&tag[1..]), "mismatched tag in {text:?}")
            }
            other => panic!("an unexpected tag <{other}> in {text:?}"),
        }
        rest = &tail[end + 1..];
    }
    assert!(stack.is_empty(), "unclosed tags in {text:?}");
    assert!(text.chars().count() <= 4096);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_and_a_lens_conversation_with_buttons_and_free_text_stored_and_exported() {
    let r = start().await;
    let f = &r.fake;
    let me = 1001;
    f.send_private(me, "/start");
    let welcome = f.wait_for_text(me, "Your privacy").await;
    assert!(
        welcome["text"]
            .as_str()
            .unwrap()
            .contains("Welcome to lensbot")
    );
    assert_eq!(welcome["parse_mode"], "HTML");
    // The commands were registered at start-up, with descriptions (all of them first, for
    // private chats).
    let cmds = &f.calls("setMyCommands")[0].body["commands"];
    assert_eq!(
        cmds.as_array().unwrap().len(),
        lensbot::engine::COMMANDS.len()
    );
    assert!(
        cmds.as_array()
            .unwrap()
            .iter()
            .all(|c| c["description"].as_str().unwrap().len() >= 3)
    );

    f.send_private(me, "/lens 1");
    let intro = f.wait_for_text(me, "Lens 1: Myself as an individual").await;
    let begin = button(&intro, "The whole lens");
    assert!(begin.len() <= 64);
    f.press(me, f.message_id_of(&intro), &begin);
    let summary = f
        .wait_for_text(me, "Myself as an individual, awareness")
        .await;
    // The press was answered and the pressed message's keyboard removed.
    assert!(!f.calls("answerCallbackQuery").is_empty());
    let edits = f.calls("editMessageReplyMarkup");
    assert!(
        edits
            .iter()
            .any(|c| c.body["message_id"] == json!(f.message_id_of(&intro)))
    );
    f.press(me, f.message_id_of(&summary), &button(&summary, "Next"));
    f.wait_for_text(me, "question 1 of").await;
    f.send_private(me, "Sentinel reflection about buses <3 & more");
    let saved = f.wait_for_text(me, "Saved.").await;
    assert!(
        saved["text"].as_str().unwrap().contains("question 2 of"),
        "one message for one reply"
    );
    // Stored, and exported.
    let st = r.store.get_user("telegram:1001").await.unwrap().unwrap();
    assert_eq!(
        st.reflections[0].text,
        "Sentinel reflection about buses <3 & more"
    );
    f.send_private(me, "/mydata");
    let data = f.wait_for_text(me, "Everything I hold about you").await;
    assert_valid_html(data["text"].as_str().unwrap());
    // The JSON comes as a file, with the reflection exactly as written.
    let json = f.wait_for_file(me, "sendDocument", ".json").await;
    let held: Value = serde_json::from_slice(&json.file.unwrap().bytes).unwrap();
    assert_eq!(
        held["reflections"][0]["text"],
        "Sentinel reflection about buses <3 & more"
    );
    r.stop().await.unwrap();
}

/// `/progress` sends the picture with `sendPhoto` (a PNG of the documented size, the caption
/// in words, the buttons with it) and `/export` the CPD record with `sendDocument`, a PDF and
/// a Markdown file, each as multipart/form-data the fake reads back; every request matches the
/// Bot API spec.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_sends_a_photo_and_export_sends_documents() {
    let r = start().await;
    let f = &r.fake;
    let me = 1077;
    f.send_private(me, "/note Ask about the bus timetable changes");
    f.wait_for_text(me, "Note saved").await;
    f.send_private(me, "/progress");
    let photo = f.wait_for_file(me, "sendPhoto", "progress.png").await;
    let png = photo.file.as_ref().unwrap();
    assert_eq!(
        (png.field.as_str(), png.mime.as_str()),
        ("photo", "image/png")
    );
    let pic = tiny_skia::Pixmap::decode_png(&png.bytes).expect("a PNG");
    assert_eq!(
        (pic.width(), pic.height()),
        lensbot::engine::export::PICTURE_SIZE
    );
    assert!(
        photo.body["caption"]
            .as_str()
            .unwrap()
            .contains("Lens 1: awareness not started")
    );
    assert!(photo.body["reply_markup"]["inline_keyboard"].is_array());
    f.send_private(me, "/export");
    let pdf = f.wait_for_file(me, "sendDocument", ".pdf").await;
    let pdf = pdf.file.unwrap();
    assert_eq!(pdf.field, "document");
    assert!(pdf.bytes.starts_with(b"%PDF"));
    let text = pdf_extract::extract_text_from_mem(&pdf.bytes).unwrap();
    assert!(text.contains("bus timetable"), "{text}");
    let md = f.wait_for_file(me, "sendDocument", ".md").await;
    assert!(
        String::from_utf8(md.file.unwrap().bytes)
            .unwrap()
            .contains("bus timetable")
    );
    crate::telegram_spec::assert_calls_match(f);
    r.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_commands_stay_public_and_anything_personal_moves_to_a_private_chat() {
    let r = start().await;
    let f = &r.fake;
    let group = -100500;
    f.send_group(group, 2002, "/fact");
    let fact = f.wait_for_text(group, "Did you know?").await;
    assert!(
        fact["reply_markup"].is_null(),
        "no callback buttons in groups"
    );
    f.send_group(group, 2002, "/define@lensbot_test_bot equity");
    f.wait_for_text(group, "Equality and equity").await;
    f.send_group(group, 2002, "/lens 3");
    let hint = f.wait_for_text(group, "I'll answer that privately").await;
    let url = hint["reply_markup"]["inline_keyboard"][0][0]["url"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(url, format!("https://t.me/{BOT_USERNAME}?start=lens-3"));
    f.send_group(group, 2002, "/note my secret worry about a colleague");
    f.wait_for_text(group, "That's personal").await;
    // Commands for another bot, and plain chatter, are left alone.
    f.send_group(group, 2002, "/fact@some_other_bot");
    f.send_group(group, 2002, "morning all");
    // The deep link continues privately.
    f.send_private(2002, "/start lens-3");
    f.wait_for_text(2002, "Lens 3: Clinical teams").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    for m in f.sent_to(group) {
        let t = m["text"].as_str().unwrap();
        assert!(
            !t.contains("secret worry"),
            "a personal note reached the group: {t}"
        );
        assert!(!t.contains("Your privacy"), "{t}");
    }
    assert_eq!(
        f.sent_to(group).len(),
        4,
        "fact, define and two private-chat hints"
    );
    // Nothing personal was stored from the group.
    assert!(
        r.store
            .get_user("telegram:2002")
            .await
            .unwrap()
            .unwrap()
            .notes
            .is_empty()
    );
    r.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_button_says_where_the_person_is_now() {
    let r = start().await;
    let f = &r.fake;
    f.send_private(3003, "/lens 2");
    let intro = f.wait_for_text(3003, "Lens 2: Care of patients").await;
    let begin = button(&intro, "The whole lens");
    f.press(3003, f.message_id_of(&intro), &begin);
    let summary = f.wait_for_text(3003, "Care of patients, awareness").await;
    f.press(3003, f.message_id_of(&summary), &button(&summary, "Next"));
    f.wait_for_text(3003, "question 1 of").await;
    // The same Next again at once is a double click: acted on once, no noise.
    f.press(3003, f.message_id_of(&summary), &button(&summary, "Next"));
    // The intro's button, scrolled back to: its step has passed.
    f.press(3003, f.message_id_of(&intro), &begin);
    let stale = f.wait_for_text(3003, "from an earlier step").await;
    assert!(stale["text"].as_str().unwrap().contains("question 1 of"));
    let prompts = f
        .sent_to(3003)
        .iter()
        .filter(|m| m["text"].as_str().unwrap().contains("question 1 of"))
        .count();
    assert_eq!(
        prompts, 2,
        "one transition, then one reminder of where they are"
    );
    assert_eq!(
        r.store
            .get_user("telegram:3003")
            .await
            .unwrap()
            .unwrap()
            .cell("lens-2", "awareness"),
        lensbot::engine::state::CellStatus::Started
    );
    r.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_update_twice_applies_once() {
    let r = start().await;
    let f = &r.fake;
    let id = f.send_private(4004, "/note only once");
    f.wait_for_text(4004, "Note saved (you have 1)").await;
    // Telegram (or a replay after a crash) delivers the same update again.
    f.replay(id, f.private_text(4004, "/note only once"));
    f.send_private(4004, "/progress");
    f.wait_for_text(4004, "Notes: 1.").await;
    assert_eq!(
        r.store
            .get_user("telegram:4004")
            .await
            .unwrap()
            .unwrap()
            .notes
            .len(),
        1
    );
    assert_eq!(
        f.sent_to(4004)
            .iter()
            .filter(|m| m["text"].as_str().unwrap().contains("Note saved"))
            .count(),
        1
    );
    r.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_is_waited_out_for_its_retry_after() {
    // With the rate limiter on, as in production.
    let r = start_with_limits(
        FakeTelegram::start().await,
        Arc::new(MemoryStore::new()),
        true,
    )
    .await;
    let f = &r.fake;
    f.fail_next(
        "sendMessage",
        429,
        json!({"ok": false, "error_code": 429, "description": "Too Many Requests: retry after 1", "parameters": {"retry_after": 1}}),
    );
    f.send_private(5005, "/fact");
    let m = f.wait_for_text(5005, "Did you know?").await;
    let calls = f.calls("sendMessage");
    assert_eq!(calls.len(), 2, "one refused, one retried");
    assert_eq!(calls[0].body, calls[1].body);
    let waited = calls[1].at.duration_since(calls[0].at);
    assert!(
        waited >= Duration::from_millis(900),
        "retried after {waited:?}"
    );
    assert_valid_html(m["text"].as_str().unwrap());
    r.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_input_never_breaks_a_message() {
    let r = start().await;
    let f = &r.fake;
    let me = 6006;
    f.send_private(
        me,
        "/note <b>not bold</b> <a href=\"x\">link</a> & &amp; <script>",
    );
    f.wait_for_text(me, "Note saved").await;
    f.send_private(me, &"x".repeat(10_000));
    f.wait_for_text(me, "10000 characters long").await;
    f.send_private(
        me,
        "/note tab\there\u{0}nul\u{1b}[31m bell\u{7} rtl\u{202e}x",
    );
    f.wait_for_text(me, "Note saved (you have 2)").await;
    f.send_private(me, "/frobnicate <i>");
    f.wait_for_text(me, "I don't know the command").await;
    f.send_private(me, "/mydata");
    f.wait_for_text(me, "Everything I hold about you").await;
    for m in f.sent_to(me) {
        assert_valid_html(m["text"].as_str().unwrap());
    }
    let st = r.store.get_user("telegram:6006").await.unwrap().unwrap();
    assert_eq!(st.notes[1].text, "tab herenul[31m bell rtlx");
    r.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_the_turn_in_flight() {
    let r = start().await;
    let f = &r.fake;
    f.slow_sends(Duration::from_millis(800));
    f.send_private(7007, "/note finishing matters");
    // Wait until the turn is under way (its reply is being sent), then ask to stop.
    let deadline = Instant::now() + Duration::from_secs(10);
    while f.calls("sendMessage").is_empty() {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let store = r.store.clone();
    let fake = r.fake.clone();
    r.stop().await.unwrap();
    // The turn completed: saved, and its reply sent in full.
    assert_eq!(
        store
            .get_user("telegram:7007")
            .await
            .unwrap()
            .unwrap()
            .notes
            .len(),
        1
    );
    assert_eq!(fake.calls("sendMessage").len(), 1);
    // And the handled update was confirmed to Telegram before exiting.
    let last_poll = fake.calls("getUpdates").last().unwrap().body.clone();
    assert!(last_poll["offset"].as_i64().unwrap() > 1000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_user_is_marked_unreachable() {
    let r = start().await;
    let f = &r.fake;
    f.block(8008);
    f.send_private(8008, "/help");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if r.store
            .get_user("telegram:8008")
            .await
            .unwrap()
            .is_some_and(|s| s.unreachable)
        {
            break;
        }
        assert!(Instant::now() < deadline, "never marked unreachable");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    r.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_due_reminder_is_delivered_through_telegram() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let session = Session::new(catalog(), store.clone());
    let earlier = jiff::Timestamp::now() - jiff::SignedDuration::from_mins(15);
    for text in ["/remind quiet off", "/remind prep team in 1 minute"] {
        session
            .handle("telegram:9009", Input::Text(text.into()), None, earlier)
            .await
            .unwrap();
    }
    let r = start_with(FakeTelegram::start().await, store).await;
    let m = r.fake.wait_for_text(9009, "Reminder").await;
    let t = m["text"].as_str().unwrap();
    assert!(t.contains("Before your team meeting or huddle"), "{t}");
    assert!(t.contains("late"), "{t}");
    let _ = r.session.catalog();
    r.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_me_failing_is_a_clear_error() {
    let fake = FakeTelegram::start().await;
    fake.fail_get_me();
    let r = start_with(fake, Arc::new(MemoryStore::new())).await;
    let err = tokio::time::timeout(Duration::from_secs(10), r.task)
        .await
        .unwrap()
        .unwrap()
        .unwrap_err();
    assert!(err.to_string().contains("getMe failed"), "{err}");
    assert!(!err.to_string().contains(TOKEN));
}

fn lensbot() -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_lensbot"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_binary_runs_against_the_fake_and_stops_cleanly_on_sigterm() {
    let fake = FakeTelegram::start().await;
    let data = tempfile::tempdir().unwrap();
    let child = lensbot()
        .args(["telegram", "--data", data.path().to_str().unwrap()])
        .env("TELEGRAM_BOT_TOKEN", TOKEN)
        .env("TELEGRAM_API_URL", &fake.url)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    fake.send_private(1234, "/start");
    fake.wait_for_text(1234, "Welcome to lensbot").await;
    fake.send_private(1234, "/note from the real binary");
    fake.wait_for_text(1234, "Note saved").await;
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
        stderr.contains("connected to Telegram as @lensbot_test_bot"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("TEST-TOKEN") && !stdout.contains("TEST-TOKEN"),
        "the token was printed"
    );
    assert!(
        !stderr.contains("from the real binary"),
        "user text was printed"
    );
    // The note was saved to the sled store.
    let export = lensbot()
        .args([
            "export",
            "--user",
            "telegram:1234",
            "--data",
            data.path().to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&export.stdout).unwrap();
    assert_eq!(v["notes"][0]["text"], "from the real binary");
}

#[test]
fn the_binary_without_a_token_or_with_a_bad_one_exits_non_zero_with_a_message() {
    let out = lensbot()
        .args(["telegram"])
        .env_remove("TELEGRAM_BOT_TOKEN")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no Telegram token"));
    let data = tempfile::tempdir().unwrap();
    let out = lensbot()
        .args(["telegram", "--data", data.path().to_str().unwrap()])
        .env("TELEGRAM_BOT_TOKEN", TOKEN)
        .env("TELEGRAM_API_URL", "http://127.0.0.1:9")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("getMe failed"), "{err}");
    assert!(
        !err.contains("panicked") && !err.contains("TEST-TOKEN"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_limiter_on_a_chat_gets_at_most_one_message_a_second() {
    let r = start_with_limits(
        FakeTelegram::start().await,
        Arc::new(MemoryStore::new()),
        true,
    )
    .await;
    let f = &r.fake;
    f.send_private(7007, "/fact");
    f.send_private(7007, "/define equity");
    f.wait_for_text(7007, "Equity").await;
    let calls: Vec<_> = f
        .calls("sendMessage")
        .into_iter()
        .filter(|c| c.body["chat_id"].as_i64() == Some(7007))
        .collect();
    assert!(calls.len() >= 2);
    for pair in calls.windows(2) {
        let gap = pair[1].at.duration_since(pair[0].at);
        assert!(gap >= Duration::from_millis(950), "only {gap:?} apart");
    }
    r.stop().await.unwrap();
}

/// A 500 from Telegram on a reply: the reply stays in the outbox and is delivered on retry,
/// with nothing lost after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_500_on_a_reply_is_retried_and_delivered() {
    let r = start().await;
    let f = &r.fake;
    f.fail_next(
        "sendMessage",
        500,
        json!({"ok": false, "error_code": 500, "description": "Internal Server Error"}),
    );
    f.send_private(5005, "/note kept through a server error");
    f.wait_for_text(5005, "Note saved (you have 1)").await;
    f.send_private(5005, "/progress");
    f.wait_for_text(5005, "Notes: 1.").await;
    let refused = f
        .calls("sendMessage")
        .iter()
        .filter(|c| c.message_id.is_none())
        .count();
    assert_eq!(refused, 1, "the first try was refused, the retry went");
    r.stop().await.unwrap();
}

/// A due reminder whose send fails with a 500 is retried, not lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_500_on_a_reminder_is_retried_and_delivered() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let session = Session::new(catalog(), store.clone());
    let earlier = jiff::Timestamp::now() - jiff::SignedDuration::from_mins(15);
    for text in ["/remind quiet off", "/remind prep team in 1 minute"] {
        session
            .handle("telegram:9010", Input::Text(text.into()), None, earlier)
            .await
            .unwrap();
    }
    let fake = FakeTelegram::start().await;
    fake.fail_next(
        "sendMessage",
        502,
        json!({"ok": false, "error_code": 502, "description": "Bad Gateway"}),
    );
    let r = start_with(fake, store.clone()).await;
    let m = r.fake.wait_for_text(9010, "Reminder").await;
    assert!(m["text"].as_str().unwrap().contains("team meeting"));
    assert!(
        store.outbox().await.unwrap().is_empty(),
        "delivered and marked"
    );
    r.stop().await.unwrap();
}

/// A batch of 80 updates served again after they were handled (a replay after a crash)
/// applies once: the inbox's high-water mark recognises every copy exactly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_80_update_replay_applies_once() {
    let r = start().await;
    let f = &r.fake;
    let ids: Vec<i64> = (0..80)
        .map(|i| f.send_private(6006, &format!("/note number {i}")))
        .collect();
    f.wait_for_text(6006, "Note saved (you have 80)").await;
    for (i, id) in ids.iter().enumerate() {
        f.replay(*id, f.private_text(6006, &format!("/note number {i}")));
    }
    f.send_private(6006, "/progress");
    f.wait_for_text(6006, "Notes: 80.").await;
    let notes = r
        .store
        .get_user("telegram:6006")
        .await
        .unwrap()
        .unwrap()
        .notes;
    assert_eq!(notes.len(), 80);
    r.stop().await.unwrap();
}

/// A group command served twice (a replay) is answered once in the group.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_group_command_applies_once() {
    let r = start().await;
    let f = &r.fake;
    let group = -100777;
    let id = f.send_group(group, 7007, "/fact");
    f.wait_for_text(group, "").await;
    f.replay(
        id,
        json!({"message": {"message_id": 1, "date": 1767600000,
            "chat": {"id": group, "type": "supergroup", "title": "AHP network"},
            "from": {"id": 7007, "is_bot": false, "first_name": "User7007"}, "text": "/fact"}}),
    );
    // Something after the replay, so we know it was polled and passed over.
    f.send_group(group, 7007, "/help");
    f.wait_for_text(group, "/define").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(f.sent_to(group).len(), 2, "one fact, one help");
    r.stop().await.unwrap();
}

/// One person's burst of 40 messages (40 seconds of replies at Telegram's one a second per
/// chat) delays nobody else: another person's reply still comes within a second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_persons_burst_delays_nobody_else() {
    let r = start_with_limits(
        FakeTelegram::start().await,
        Arc::new(MemoryStore::new()),
        true,
    )
    .await;
    let f = &r.fake;
    for i in 0..40 {
        f.send_private(8008, &format!("/note burst {i}"));
    }
    f.wait_for_text(8008, "Note saved (you have 1)").await;
    let asked = Instant::now();
    f.send_private(8009, "/fact");
    f.wait_for_text(8009, "").await;
    let waited = asked.elapsed();
    assert!(
        waited < Duration::from_secs(1),
        "the calm person waited {waited:?}"
    );
    assert!(
        f.sent_to(8008).len() < 10,
        "the burst was still being sent at the limit"
    );
    r.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_whose_record_cannot_be_read_hears_why_and_never_try_again() {
    // Proves the Telegram path end to end: a person whose record a newer lensbot wrote, and
    // one whose record is damaged, each get the plain answer (and never "try again in a
    // moment", which could not come true), a second message gets the same answer in order,
    // and their records are left as they were.
    let mem = Arc::new(MemoryStore::new());
    let newer = br#"{"v":99,"user":"telegram:7007"}"#.to_vec();
    let broken = b"not json".to_vec();
    mem.put_raw_user("telegram:7007", newer.clone());
    mem.put_raw_user("telegram:7008", broken.clone());
    let r = start_with(FakeTelegram::start().await, mem.clone()).await;
    let f = &r.fake;
    for (who, expect) in [
        (7007, "written by a newer version of lensbot"),
        (7008, "is damaged"),
    ] {
        f.send_private(who, "/note a thought");
        f.wait_for_text(who, expect).await;
        f.send_private(who, "/progress");
        let deadline = Instant::now() + Duration::from_secs(15);
        while f.sent_to(who).len() < 2 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let sent: Vec<String> = f
            .sent_to(who)
            .iter()
            .map(|m| m["text"].as_str().unwrap_or("").to_string())
            .collect();
        assert_eq!(sent.len(), 2, "{sent:?}");
        for t in &sent {
            assert!(t.contains(expect), "{t}");
            assert!(!t.contains("try again"), "{t}");
        }
    }
    r.stop().await.unwrap();
    assert_eq!(mem.raw_user("telegram:7007").unwrap(), newer);
    assert_eq!(mem.raw_user("telegram:7008").unwrap(), broken);
}

/// The text of a sent Telegram message.
fn text_of(m: &Value) -> &str {
    m["text"].as_str().unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_short_route_and_the_journal_render_with_blank_lines_and_work_by_button() {
    // Proves, through the Telegram adapter and its fake: a lens on the short route arrives as
    // HTML with a blank line between title, step, summary, prompt and hint, and no source line
    // under the prompts or the actions; the journal, opened from the end of the lens, shows each
    // reflection under its prompt beneath a bold lens-and-mode heading; and an action is marked
    // done from the journal's buttons.
    let r = start().await;
    let f = &r.fake;
    let me = 5005;
    f.send_private(me, "/lens 2");
    let intro = f.wait_for_text(me, "Lens 2: Care of patients").await;
    f.press(
        me,
        f.message_id_of(&intro),
        &button(&intro, "Begin (about five minutes)"),
    );
    let aw = f.wait_for_text(me, "Step 2 of 7").await;
    assert!(
        text_of(&aw).contains(
            "<b>Lens 2: Care of patients, awareness</b>\n\nStep 2 of 7\n\nAwareness here means"
        ),
        "{}",
        text_of(&aw)
    );
    assert!(text_of(&aw).contains("?\n\nType your answer"));
    assert!(!text_of(&aw).contains("Source:"));
    f.send_private(me, "Sentinel awareness 7731");
    f.wait_for_text(me, "Step 3 of 7").await;
    f.send_private(me, "Sentinel action 7732");
    let list = f.wait_for_text(me, "Step 4 of 7").await;
    assert!(!text_of(&list).contains("Source:"), "{}", text_of(&list));
    assert!(text_of(&list).contains("Small steps count.\n\n1. (5 minutes)"));
    f.press(me, f.message_id_of(&list), &button(&list, "Action 1"));
    let again = f.wait_for_text(me, "Committed:").await;
    f.press(me, f.message_id_of(&again), &button(&again, "Go on"));
    f.wait_for_text(me, "Step 5 of 7").await;
    f.send_private(me, "Sentinel advocacy 7733");
    let meeting = f.wait_for_text(me, "Step 6 of 7").await;
    f.press(
        me,
        f.message_id_of(&meeting),
        &button(&meeting, "Save line 1"),
    );
    let example = f.wait_for_text(me, "Step 7 of 7").await;
    f.press(me, f.message_id_of(&example), &button(&example, "Next"));
    let end = f.wait_for_text(me, "finished lens 2").await;
    f.press(me, f.message_id_of(&end), &button(&end, "My journal"));
    let journal = f.wait_for_text(me, "Your journal").await;
    let j = text_of(&journal);
    assert_valid_html(j);
    for (heading, prompt, answer) in [
        (
            "awareness",
            "Thinking of your last clinic",
            "Sentinel awareness 7731",
        ),
        (
            "action",
            "For the next person you see",
            "Sentinel action 7732",
        ),
        (
            "advocacy",
            "Which recent patient story",
            "Sentinel advocacy 7733",
        ),
    ] {
        let h = format!("<b>Lens 2: Care of patients, {heading}</b>\n\n{prompt}");
        let at = j.find(&h).unwrap_or_else(|| panic!("{h:?} in {j}"));
        let answer_at = j.find(answer).unwrap();
        assert!(answer_at > at, "{answer} under its prompt");
    }
    assert!(j.contains("<b>Your actions</b>"));
    f.press(me, f.message_id_of(&journal), &button(&journal, "Action 1"));
    let card = f.wait_for_text(me, "Action 1 (lens 2)").await;
    f.press(me, f.message_id_of(&card), &button(&card, "Mark it done"));
    f.wait_for_text(me, "Marked done.").await;
    let st = r.store.get_user("telegram:5005").await.unwrap().unwrap();
    assert!(st.actions[0].done.is_some());
    assert_eq!(
        st.reflections.len(),
        4,
        "three reflections and a meeting line"
    );
    r.stop().await.unwrap();
}

// --- Telegram, in groups (issue 15) ---

/// Waits until `n` messages have reached a chat (or panics after 15 s, listing them).
async fn wait_for_count(f: &FakeTelegram, chat: i64, n: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let sent = f.sent_to(chat);
        if sent.len() >= n {
            return sent;
        }
        assert!(
            Instant::now() < deadline,
            "{} of {n} messages reached {chat}: {sent:?}",
            sent.len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The deep-link URLs of a sent message's buttons.
fn link_urls(m: &Value) -> Vec<String> {
    m["reply_markup"]["inline_keyboard"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row.as_array().cloned().unwrap_or_default())
        .filter_map(|b| b["url"].as_str().map(str::to_string))
        .collect()
}

/// Added to a group (`my_chat_member`: left → member), the bot says hello there once, in two
/// lines naming what it does and how to start a challenge; being made an admin afterwards says
/// nothing more. It asks `getUpdates` for `my_chat_member` updates, the fake's update has the
/// Bot API's shape, and every request matches the spec.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn added_to_a_group_the_bot_says_hello_once() {
    let r = start().await;
    let f = &r.fake;
    let group = -100321;
    f.bot_status(group, 3003, "left", "member");
    let hello = f.wait_for_text(group, "/challenge start").await;
    let t = text_of(&hello);
    assert!(t.contains("In this group"), "{t}");
    assert_eq!(
        t.trim().lines().filter(|l| !l.trim().is_empty()).count(),
        2,
        "{t}"
    );
    // Promoted later: no second hello (a later message proves the update was handled).
    f.bot_status(group, 3003, "member", "administrator");
    f.send_group(group, 3003, "/fact");
    f.wait_for_text(group, "Did you know?").await;
    assert_eq!(f.sent_to(group).len(), 2, "{:?}", f.sent_to(group));
    let polls = f.calls("getUpdates");
    assert!(
        polls.iter().all(|c| c.body["allowed_updates"]
            .as_array()
            .is_some_and(|a| a.contains(&json!("my_chat_member")))),
        "{:?}",
        polls[0].body
    );
    let problems = crate::telegram_spec::value_problems(
        "ChatMemberUpdated",
        &json!({"chat": {"id": group, "type": "supergroup", "title": "AHP network"},
            "from": {"id": 3003, "is_bot": false, "first_name": "User3003"}, "date": 1767600000,
            "old_chat_member": {"status": "left", "user": {"id": 42, "is_bot": true, "first_name": "lensbot"}},
            "new_chat_member": {"status": "member", "user": {"id": 42, "is_bot": true, "first_name": "lensbot"}}}),
    );
    assert!(problems.is_empty(), "{problems:?}");
    crate::telegram_spec::assert_calls_match(f);
    r.stop().await.unwrap();
}

/// Command lists are registered by scope: private chats get all of them (`/forgetme` too),
/// groups only the public ones and `/challenge`, group admins the same with the facilitator's
/// `/challenge`; each `setMyCommands` matches the Bot API spec (the scope's `type` included).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn command_lists_are_registered_by_scope() {
    let r = start().await;
    let f = &r.fake;
    let deadline = Instant::now() + Duration::from_secs(10);
    while f.calls("setMyCommands").len() < 3 {
        assert!(Instant::now() < deadline, "{:?}", f.calls("setMyCommands"));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let lists: Vec<(String, Vec<String>, Value)> = f
        .calls("setMyCommands")
        .iter()
        .map(|c| {
            let names = c.body["commands"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x["command"].as_str().unwrap().to_string())
                .collect();
            (
                c.body["scope"]["type"].as_str().unwrap_or("").to_string(),
                names,
                c.body.clone(),
            )
        })
        .collect();
    let of = |scope: &str| {
        lists
            .iter()
            .find(|l| l.0 == scope)
            .unwrap_or_else(|| panic!("no list for {scope}: {lists:?}"))
    };
    let private = of("all_private_chats");
    assert!(private.1.contains(&"forgetme".to_string()));
    assert_eq!(private.1.len(), lensbot::engine::COMMANDS.len());
    let group = of("all_group_chats");
    let admins = of("all_chat_administrators");
    for l in [group, admins] {
        assert!(l.1.contains(&"challenge".to_string()), "{l:?}");
        assert!(l.1.contains(&"define".to_string()), "{l:?}");
        for personal in ["forgetme", "note", "journal", "mydata", "export", "start"] {
            assert!(!l.1.contains(&personal.to_string()), "{personal} in {l:?}");
        }
    }
    let described = |l: &(String, Vec<String>, Value)| {
        l.2["commands"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["command"] == "challenge")
            .unwrap()["description"]
            .clone()
    };
    assert_ne!(
        described(group),
        described(admins),
        "admins see the facilitator's words"
    );
    crate::telegram_spec::assert_calls_match(f);
    r.stop().await.unwrap();
}

/// In a group, `/start` says what the bot does there (not "that's personal"); `/help` and
/// `/resources housing` are short, with a "More, privately" deep link to the whole answer;
/// `/signpost money` is answered in the group (it is public guidance); `/define` and
/// `/prep team` say "I'll answer that privately" with a deep link to the answer; `/forgetme`
/// is still "personal". Every reply is threaded to the message that asked (`reply_parameters`
/// with its id) and every request matches the spec.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_replies_are_short_threaded_and_link_privately() {
    let r = start().await;
    let f = &r.fake;
    let group = -100654;
    let ask = |text: &str| f.send_group(group, 4004, text);
    let link = |p: &str| format!("https://t.me/{BOT_USERNAME}?start={p}");
    let cases: Vec<(i64, &str)> = vec![
        (ask(&format!("/start@{BOT_USERNAME}")), "In this group"),
        (ask("/help"), "Here in the group"),
        (
            ask("/resources housing"),
            "tap the button to read all of it",
        ),
        (ask("/signpost money"), ""),
        (ask("/define"), "I'll answer that privately"),
        (ask("/prep team"), "I'll answer that privately"),
        (ask("/forgetme"), "That's personal"),
    ];
    let sent = wait_for_count(f, group, cases.len()).await;
    assert_eq!(sent.len(), cases.len(), "{sent:?}");
    for (m, (asked, needle)) in sent.iter().zip(&cases) {
        let t = text_of(m);
        assert!(t.contains(needle), "{needle:?} not in {t}");
        assert!(
            !t.contains("That's personal") || *needle == "That's personal",
            "{t}"
        );
        assert_eq!(m["reply_parameters"]["message_id"], json!(asked), "{m}");
        assert!(t.chars().count() <= 900, "too long for a group: {t}");
    }
    assert_eq!(
        link_urls(&sent[0]),
        vec![format!("https://t.me/{BOT_USERNAME}")]
    );
    assert_eq!(link_urls(&sent[1]), vec![link("help")]);
    assert!(
        link_urls(&sent[2]).contains(&link("resources-housing")),
        "{}",
        sent[2]
    );
    assert_eq!(link_urls(&sent[4]), vec![link("define")]);
    assert_eq!(link_urls(&sent[5]), vec![link("prep-team")]);
    // The whole answer follows the link privately.
    f.send_private(4004, "/start resources-housing");
    f.wait_for_text(4004, "housing").await;
    crate::telegram_spec::assert_calls_match(f);
    r.stop().await.unwrap();
}

/// `/examples physio` in a group lists the examples with a deep link per example (not a
/// "choose one" with nothing to choose); a link opens that example in the private chat.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn examples_in_a_group_give_a_deep_link_to_each() {
    let r = start().await;
    let f = &r.fake;
    let group = -100655;
    f.send_group(group, 5005, "/examples physio");
    let list = f.wait_for_text(group, "found").await;
    let urls = link_urls(&list);
    let prefix = format!("https://t.me/{BOT_USERNAME}?start=examples-");
    assert!(!urls.is_empty(), "{list}");
    assert!(urls.iter().all(|u| u.starts_with(&prefix)), "{urls:?}");
    let id = urls[0].strip_prefix(&prefix).unwrap().to_string();
    let cat = catalog();
    let example = cat
        .examples
        .iter()
        .find(|e| e.id == id)
        .expect("a real example id");
    f.send_private(5005, &format!("/start examples-{id}"));
    f.wait_for_text(5005, &example.title).await;
    crate::telegram_spec::assert_calls_match(f);
    r.stop().await.unwrap();
}

/// A member (not an admin) typing `/challenge start` in a Telegram group is refused in
/// Telegram's terms, threaded to their message, with no word of Discord; `/challenge` alone is
/// the short group help, also without Discord, with a link to more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_members_challenge_start_is_refused_in_telegram_terms() {
    let r = start().await;
    let f = &r.fake;
    let group = -100656;
    f.add_member(group, 6006);
    let asked = f.send_group(group, 6006, "/challenge start six-days");
    let refusal = f.wait_for_text(group, "admin").await;
    let t = text_of(&refusal);
    assert!(t.contains("Telegram group"), "{t}");
    assert!(!t.to_lowercase().contains("discord"), "{t}");
    assert_eq!(refusal["reply_parameters"]["message_id"], json!(asked));
    f.send_group(group, 6006, "/challenge");
    let help = f.wait_for_text(group, "Group reflection challenges").await;
    let t = text_of(&help);
    assert!(!t.to_lowercase().contains("discord"), "{t}");
    assert!(t.chars().count() < 600, "{t}");
    assert!(!link_urls(&help).is_empty(), "{help}");
    // Nothing was started.
    assert!(
        r.session
            .challenge(&lensbot::challenge::group_key(
                "telegram",
                &group.to_string()
            ))
            .await
            .unwrap()
            .is_none()
    );
    crate::telegram_spec::assert_calls_match(f);
    r.stop().await.unwrap();
}
