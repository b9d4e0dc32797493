//! Discord interactions over HTTP: the fake Discord posts signed interactions to the adapter's
//! endpoint (`lensbot::discord::endpoint`) and reads the answers; the follow-ups land on the
//! fake's webhook routes as they do for the gateway's interactions. In-process, the endpoint
//! and the sender run without the gateway (as in a process that does not hold it); the last
//! test runs the real `lensbot serve` with the setting on.

use crate::discord_spec::{CALLBACK, ORIGINAL, WEBHOOK, assert_request};
use crate::fake_discord::{Answered, BadSignature, FakeDiscord, as_message, button};
use crate::helpers::catalog;
use lensbot::discord::endpoint::{self, PublicKey};
use lensbot::discord::{Adapter, Config};
use lensbot::session::Session;
use lensbot::store::{MemoryStore, Store};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

const TOKEN: &str = "MTAxMDEwMTAxMDEwMTAxMDEw.FAKE.never-printed-token";
const GUILD: u64 = 500;

/// The endpoint and the sender of one process, over a memory store.
struct Served {
    fake: FakeDiscord,
    store: Arc<dyn Store>,
    session: Arc<Session>,
    url: String,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

async fn serve() -> Served {
    let fake = FakeDiscord::start().await;
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let session = Arc::new(Session::new(catalog(), store.clone()));
    let adapter = Adapter::new(
        session.clone(),
        Config {
            token: TOKEN.into(),
            api_url: Some(fake.rest_url.clone()),
            guild: Some(GUILD),
            facilitator_role: None,
        },
    );
    let key = PublicKey::parse(&fake.public_key()).expect("the fake's key reads");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}{}",
        listener.local_addr().unwrap(),
        endpoint::PATH
    );
    let (stop, rx) = watch::channel(false);
    let stopped = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|v| *v).await;
    };
    let a = adapter.clone();
    let sending = tokio::spawn({
        let s = stopped(rx.clone());
        async move { a.send(s).await }
    });
    let serving = tokio::spawn(endpoint::serve(listener, adapter, key, stopped(rx)));
    Served {
        fake,
        store,
        session,
        url,
        stop,
        tasks: vec![sending, serving],
    }
}

impl Served {
    async fn post(&self, payload: &Value) -> Answered {
        self.fake.post(&self.url, payload).await
    }

    async fn stop(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            tokio::time::timeout(Duration::from_secs(10), t)
                .await
                .expect("stops in time")
                .unwrap();
        }
    }
}

impl Served {
    /// Presses the button `label` on `on` as `me` in the server: the body defers the update
    /// (type 6); returns the follow-up containing `needle`.
    async fn press(&self, me: u64, on: &Value, label: &str, needle: &str) -> Value {
        let f = &self.fake;
        let (click, t) = f.click_payload(me, Some(GUILD), &button(on, label), &as_message(on));
        first_response(&self.post(&click).await, 6);
        f.wait_followup(&t, needle).await
    }

    /// `/lens N` in the server, the whole lens, its first question, and "Type my answer"
    /// pressed on it: the endpoint's answer to that press (the modal, when all is well).
    async fn open_answer_box(&self, me: u64, lens: &str) -> Answered {
        let f = &self.fake;
        let (cmd, t) = f.command_payload(me, Some(GUILD), "lens", &[("lens", lens)]);
        first_response(&self.post(&cmd).await, 5);
        let intro = f.wait_followup(&t, &format!("Lens {lens}")).await;
        let summary = self.press(me, &intro, "The whole lens", "awareness").await;
        let prompt = self.press(me, &summary, "Next", "question 1 of").await;
        let (open, _) = f.click_payload(
            me,
            Some(GUILD),
            &button(&prompt, "Type my answer"),
            &as_message(&prompt),
        );
        self.post(&open).await
    }
}

fn ephemeral(m: &Value) -> bool {
    m["flags"].as_u64().unwrap_or(0) & 64 != 0
}

/// A 200 whose body is a valid interaction callback of this type.
fn first_response(a: &Answered, kind: u64) -> &Value {
    assert_eq!(a.status, 200, "{a:?}");
    assert_eq!(a.body["type"], kind, "{a:?}");
    assert_request("POST", CALLBACK, &a.body);
    &a.body
}

/// Every follow-up (and edit) sent so far is valid against the webhook's schema.
fn follow_ups_fit_the_spec(f: &FakeDiscord) -> usize {
    let mut n = 0;
    for c in f.calls() {
        if c.method == "POST" && c.path.starts_with("/webhooks/") {
            assert_request("POST", WEBHOOK, &c.body);
            n += 1;
        }
        // A button's answer edits the message it was pressed on (issue 15: in place).
        if c.method == "PATCH" && c.path.ends_with("/messages/@original") {
            assert_request("PATCH", ORIGINAL, &c.body);
            n += 1;
        }
    }
    n
}

// Proves: a request whose signature is missing, made with another key, or over a body changed
// after signing is answered 401 — for a command, and for a modal whose text would otherwise be
// kept in the inbox at once — and nothing of it is stored or sent: no inbox entry, no person,
// no follow-up, no REST call at all; a correctly signed command afterwards is served (so the
// silence is the refusal, not a dead endpoint).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_or_missing_signature_is_401_and_nothing_is_stored_or_sent() {
    let s = serve().await;
    let f = &s.fake;
    let mut tokens = Vec::new();
    for how in [
        BadSignature::Missing,
        BadSignature::OtherKey,
        BadSignature::Tampered,
    ] {
        let (cmd, t1) = f.command_payload(101, Some(GUILD), "note", &[("text", "forged note")]);
        let (modal, t2) = f.submit_payload(101, Some(GUILD), "answer:0", "forged reflection");
        for p in [&cmd, &modal] {
            let a = f.post_badly(&s.url, p, how).await;
            assert_eq!(a.status, 401, "{how:?}: {a:?}");
        }
        tokens.extend([t1, t2]);
    }
    // The modal's text would have been kept before its turn: the inbox is empty.
    let (_, inbox) = s.session.inbox_backlog("discord").await.unwrap();
    assert!(inbox.is_empty(), "a forged modal reached the inbox");
    let (good, t) = f.command_payload(102, Some(GUILD), "note", &[("text", "a real note")]);
    first_response(&s.post(&good).await, 5);
    f.wait_followup(&t, "Note saved").await;
    assert!(s.store.get_user("discord:101").await.unwrap().is_none());
    for t in &tokens {
        assert!(f.followups(t).is_empty());
    }
    assert!(
        f.calls()
            .iter()
            .all(|c| c.path.ends_with(&t) || !c.path.contains("token-")),
        "only the real command's follow-up was sent: {:?}",
        f.calls()
    );
    s.stop().await;
}

// Proves: Discord's PING (what the developer portal sends when the URL is saved) is answered
// `{"type":1}`, a valid callback body, and a GET or another path is not served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ping_gets_pong() {
    let s = serve().await;
    let ping =
        json!({"id": "1", "application_id": "42", "type": 1, "token": "ping-token", "version": 1});
    let a = s.post(&ping).await;
    first_response(&a, 1);
    assert_eq!(a.body, json!({"type": 1}));
    let wrong = s.url.replace(endpoint::PATH, "/interactions");
    assert_eq!(s.fake.post(&wrong, &ping).await.status, 404);
    s.stop().await;
}

// Proves: a slash command posted over HTTP gets its first response as the HTTP answer's body
// (a deferral, ephemeral for a personal command in a server, public for a public lookup),
// measured at well under Discord's three seconds, and no callback is posted besides; its
// follow-up then arrives through the sender under the interaction's token (the fake refuses
// follow-ups until the answer is back, so the order is proved too), and every follow-up is
// valid against the spec.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slash_command_is_answered_in_the_http_body_within_three_seconds_then_followed_up() {
    let s = serve().await;
    let f = &s.fake;
    let (start, t) = f.command_payload(111, Some(GUILD), "start", &[]);
    let a = s.post(&start).await;
    assert!(a.took < Duration::from_secs(3), "answered in {:?}", a.took);
    let body = first_response(&a, 5);
    assert!(ephemeral(&body["data"]), "private in a server: {body}");
    let welcome = f.wait_followup(&t, "Welcome to lensbot").await;
    assert!(ephemeral(&welcome));
    assert_eq!(welcome["allowed_mentions"]["parse"], json!([]));
    let (fact, t) = f.command_payload(111, Some(GUILD), "fact", &[]);
    let a = s.post(&fact).await;
    assert!(a.took < Duration::from_secs(3), "answered in {:?}", a.took);
    assert!(!ephemeral(&first_response(&a, 5)["data"]));
    assert!(!ephemeral(&f.wait_followup(&t, "Did you know?").await));
    // In a DM, too.
    let (help, t) = f.command_payload(111, None, "help", &[]);
    first_response(&s.post(&help).await, 5);
    f.wait_followup(&t, "What I can do").await;
    assert!(
        !f.calls().iter().any(|c| c.path.ends_with("/callback")),
        "the first responses went in the HTTP bodies"
    );
    assert!(follow_ups_fit_the_spec(f) >= 3);
    s.stop().await;
}

// Proves: buttons and the answer box work over HTTP: a button press is answered in the body
// with a deferred update (type 6) and followed up; "Type my answer" is answered with the modal
// itself (type 9, valid against the spec, 4,000 characters at most); the submitted modal is
// deferred ephemerally, saved, and confirmed; all follow-ups fit the spec.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_button_press_and_a_modal_submit_work_over_http() {
    let s = serve().await;
    let f = &s.fake;
    let me = 121;
    let a = s.open_answer_box(me, "1").await;
    let modal = first_response(&a, 9);
    assert_eq!(
        modal["data"]["components"][0]["components"][0]["max_length"],
        4000
    );
    let modal_id = modal["data"]["custom_id"].as_str().unwrap().to_string();
    let (submit, t) = f.submit_payload(me, Some(GUILD), &modal_id, "Sentinel HTTP reflection 8813");
    let a = s.post(&submit).await;
    assert!(ephemeral(&first_response(&a, 5)["data"]));
    assert!(ephemeral(&f.wait_followup(&t, "Saved.").await));
    let st = s.store.get_user("discord:121").await.unwrap().unwrap();
    assert_eq!(st.reflections.len(), 1);
    assert_eq!(st.reflections[0].text, "Sentinel HTTP reflection 8813");
    assert!(follow_ups_fit_the_spec(f) >= 4);
    s.stop().await;
}

// Proves: a typed answer is saved once when the same modal submit is posted twice (a retry by
// a proxy, say): both posts are answered, the second is taken into the inbox and then found
// already applied (the inbox empties again), and the person has one reflection and one
// confirmation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_typed_answer_posted_twice_is_saved_once() {
    let s = serve().await;
    let f = &s.fake;
    let me = 131;
    let modal_id = first_response(&s.open_answer_box(me, "2").await, 9)["data"]["custom_id"]
        .as_str()
        .unwrap()
        .to_string();
    let (submit, t) = f.submit_payload(me, Some(GUILD), &modal_id, "Said only once 4471");
    first_response(&s.post(&submit).await, 5);
    f.wait_followup(&t, "Saved.").await;
    first_response(&s.post(&submit).await, 5);
    // The second post was kept in the inbox before its answer; its turn clears it.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (_, inbox) = s.session.inbox_backlog("discord").await.unwrap();
        if inbox.is_empty() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the repeat stayed in the inbox"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let st = s.store.get_user("discord:131").await.unwrap().unwrap();
    let saved: Vec<_> = st
        .reflections
        .iter()
        .filter(|r| r.text == "Said only once 4471")
        .collect();
    assert_eq!(saved.len(), 1, "saved once");
    let confirmations = f
        .followups(&t)
        .iter()
        .filter(|m| m["content"].as_str().unwrap_or("").contains("Saved."))
        .count();
    assert_eq!(confirmations, 1);
    s.stop().await;
}

// Proves: a process that runs the sender but neither the gateway nor the endpoint (one elected
// to send, say) still follows up an interaction another process answered: it asks Discord for
// the application's id once and posts under it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sender_without_the_gateway_or_the_endpoint_still_follows_up() {
    let fake = FakeDiscord::start().await;
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let session = Arc::new(Session::new(catalog(), store.clone()));
    let adapter = Adapter::new(
        session.clone(),
        Config {
            token: TOKEN.into(),
            api_url: Some(fake.rest_url.clone()),
            guild: Some(GUILD),
            facilitator_role: None,
        },
    );
    let (stop, mut rx) = watch::channel(false);
    let sending = tokio::spawn(async move {
        adapter
            .send(async move {
                let _ = rx.wait_for(|v| *v).await;
            })
            .await
    });
    let mut ev =
        lensbot::session::Event::new("discord:151", lensbot::engine::Input::Text(String::new()));
    ev.id = Some("dc:i:151151".into());
    ev.to = Some("discord:hook:e:151:token-elsewhere".into());
    let m = lensbot::engine::Message::private().para("Answered from another process");
    session.post(&ev, vec![m]).await.unwrap();
    let sent = fake
        .wait_followup("token-elsewhere", "Answered from another process")
        .await;
    assert!(ephemeral(&sent));
    assert!(
        fake.calls()
            .iter()
            .any(|c| c.method == "POST" && c.path == "/webhooks/42/token-elsewhere")
    );
    let _ = stop.send(true);
    sending.await.unwrap();
}

fn lensbot() -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_lensbot"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    for v in [
        "TELEGRAM_BOT_TOKEN",
        "DISCORD_GUILD_ID",
        "LENSBOT_DATA",
        "DISCORD_PUBLIC_KEY",
        "LENSBOT_DISCORD_INTERACTIONS",
    ] {
        c.env_remove(v);
    }
    c.env("LENSBOT_HEALTH", "off")
        .env("LENSBOT_BACKUP_KEEP", "0");
    c
}

// Proves: `serve --check` refuses an endpoint without a public key, a key that is not 64 hex
// digits and one that is not an Ed25519 key, naming the setting; and a real `lensbot serve`
// with `LENSBOT_DISCORD_INTERACTIONS` serves the endpoint beside the gateway: a signed command
// is answered in the body and followed up, and a forged one is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_checks_the_key_and_serves_the_endpoint_beside_the_gateway() {
    let fake = FakeDiscord::start().await;
    let data = tempfile::tempdir().unwrap();
    let d = data.path().to_str().unwrap();
    let check = |vars: &[(&str, &str)]| {
        let mut c = lensbot();
        c.args(["serve", "--check", "--data", d])
            .env("DISCORD_TOKEN", TOKEN)
            .env("LENSBOT_DISCORD_INTERACTIONS", "127.0.0.1:0");
        for (k, v) in vars {
            c.env(k, v);
        }
        let out = c.output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, err) = check(&[]);
    assert!(!ok && err.contains("DISCORD_PUBLIC_KEY"), "{err}");
    let (ok, err) = check(&[("DISCORD_PUBLIC_KEY", "not-a-key")]);
    assert!(!ok && err.contains("64 hex digits"), "{err}");
    // 64 hex digits, but no point on the curve.
    let not_a_point = format!("02{}", "0".repeat(62));
    let (ok, err) = check(&[("DISCORD_PUBLIC_KEY", &not_a_point)]);
    assert!(!ok && err.contains("not a valid Ed25519 key"), "{err}");
    let (ok, err) = check(&[("DISCORD_PUBLIC_KEY", &fake.public_key())]);
    assert!(ok, "{err}");

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = lensbot()
        .args(["serve", "--data", d])
        .env("DISCORD_TOKEN", TOKEN)
        .env("DISCORD_API_URL", &fake.rest_url)
        .env("DISCORD_GUILD_ID", GUILD.to_string())
        .env("DISCORD_PUBLIC_KEY", fake.public_key())
        .env("LENSBOT_DISCORD_INTERACTIONS", format!("127.0.0.1:{port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The gateway still runs: it registers the commands.
    fake.wait("registration", |f| {
        f.calls().into_iter().find(|c| c.method == "PUT")
    })
    .await;
    let url = format!("http://127.0.0.1:{port}{}", endpoint::PATH);
    let (note, t) = fake.command_payload(141, None, "note", &[("text", "over http, for real")]);
    let a = fake.post(&url, &note).await;
    assert!(a.took < Duration::from_secs(3), "answered in {:?}", a.took);
    assert_eq!(a.status, 200, "{a:?}");
    assert_eq!(a.body["type"], 5);
    fake.wait_followup(&t, "Note saved").await;
    let (forged, _) = fake.command_payload(142, None, "note", &[("text", "forged")]);
    assert_eq!(
        fake.post_badly(&url, &forged, BadSignature::OtherKey)
            .await
            .status,
        401
    );
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
    let log = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{log}");
    assert!(!log.contains("over http, for real"), "user text was logged");
    assert!(!log.contains("never-printed"), "the token was logged");
}
