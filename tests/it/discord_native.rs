//! Discord as its users expect an app to behave (issue 15), through the real serenity client
//! and the fake: a button's answer edits the message it was pressed on; the answer box carries
//! the question; the answer button says what to type; `/remind` and `/challenge` have
//! subcommands with typed options, choices and suggestions that come to the same as the typed
//! forms; a challenge's private messages name the server as well as the channel.

use crate::discord::{GUILD, ephemeral, start};
use crate::discord_spec::{CALLBACK, COMMANDS, ORIGINAL, assert_request};
use crate::fake_discord::{FakeDiscord, SERVER_NAME, as_message, button};
use crate::helpers::catalog;
use lensbot::discord::{self, Config};
use lensbot::session::Session;
use lensbot::store::MemoryStore;
use serde_json::{Value, json};
use std::sync::Arc;

fn content(m: &Value) -> &str {
    m["content"].as_str().unwrap_or("")
}

/// Waits for an edit, under `token`, of the message a button was pressed on, containing
/// `needle`.
async fn wait_edit(f: &FakeDiscord, token: &str, needle: &str) -> Value {
    let (token, needle) = (token.to_string(), needle.to_string());
    f.wait(&format!("an edit containing {needle:?}"), move |f| {
        f.edits(&token)
            .into_iter()
            .find(|m| content(m).contains(&needle))
    })
    .await
}

/// Waits for the first response (the callback) to the interaction with this token.
async fn wait_callback(f: &FakeDiscord, token: &str) -> Value {
    let token = token.to_string();
    f.wait("the interaction's first response", move |f| {
        f.callback(&token)
    })
    .await
}

/// Proves a walk through a lens by buttons stays one message: each press is acknowledged as
/// a deferred update (type 6), and its answer edits the pressed message in place
/// (`PATCH …/@original`, carrying the next step's buttons) instead of posting a new
/// "Only you can see this" message; the fake holds no more messages after three presses than
/// before them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lens_walk_by_buttons_is_one_message_updated_in_place() {
    let r = start().await;
    let f = r.fake.clone();
    let me = 9101;
    let t = f.command(me, Some(GUILD), "lens", &[("lens", "1")]);
    let mut on = f.wait_followup(&t, "Lens 1: Myself as an individual").await;
    let created = f.messages_created();
    let mut tokens = Vec::new();
    for (label, needle) in [
        ("The whole lens", "awareness"),
        ("Next", "question 1 of"),
        ("Skip", "question 2 of"),
    ] {
        let t = f.click(me, Some(GUILD), &button(&on, label), &as_message(&on));
        let edited = wait_edit(&f, &t, needle).await;
        let ack = wait_callback(&f, &t).await;
        assert_eq!(ack["type"], 6, "a deferred update");
        assert_request("POST", CALLBACK, &ack);
        // The edited message carries the new step's buttons, so the walk goes on from it.
        assert!(
            edited["components"]
                .as_array()
                .is_some_and(|rows| !rows.is_empty()),
            "{edited}"
        );
        on = edited;
        tokens.push(t);
    }
    r.stop().await.unwrap();
    for t in &tokens {
        assert!(f.followups(t).is_empty(), "a new message under {t}");
    }
    assert_eq!(
        f.messages_created(),
        created,
        "the walk posted new messages instead of editing"
    );
}

/// Proves the rule for an answer of several messages: a button's answer that confirms and
/// shows the next step ("Committed: …" and the actions again, two messages from the engine)
/// replaces the pressed message as one message, the confirmation above the step and its
/// buttons, with no new message; every edit fits Discord's OpenAPI spec for
/// `PATCH /webhooks/{id}/{token}/messages/@original`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_confirmation_and_the_next_step_replace_the_pressed_message_as_one() {
    let r = start().await;
    let f = r.fake.clone();
    let me = 9107;
    let t = f.command(me, Some(GUILD), "lens", &[("lens", "2")]);
    let mut on = f.wait_followup(&t, "Lens 2").await;
    let mut tokens = Vec::new();
    for (label, needle) in [
        ("Begin (about five minutes)", "Step 2 of 7"),
        ("Skip", "Step 3 of 7"),
        ("Skip", "Step 4 of 7"),
        ("Action 1", "Committed:"),
    ] {
        let t = f.click(me, Some(GUILD), &button(&on, label), &as_message(&on));
        on = wait_edit(&f, &t, needle).await;
        tokens.push(t);
    }
    let c = content(&on);
    assert!(
        c.find("Committed:").unwrap() < c.find("You can commit to another").unwrap(),
        "{c}"
    );
    assert!(button(&on, "Action 1").contains("act:"));
    r.stop().await.unwrap();
    for t in &tokens {
        assert!(f.followups(t).is_empty(), "a new message under {t}");
        for e in f.edits(t) {
            assert_request("PATCH", ORIGINAL, &e);
        }
    }
}

/// Proves the answer box carries the question: pressing "Type my answer" at a lens prompt
/// opens a modal (type 9) whose text input's label and placeholder hold the prompt's question
/// (its start in the label, the rest in the placeholder, cut between words), within Discord's
/// limits as its OpenAPI spec states them (title and label 45, placeholder 100).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_answer_box_carries_the_question_within_the_limits() {
    let r = start().await;
    let f = r.fake.clone();
    let me = 9102;
    let t = f.command(me, Some(GUILD), "lens", &[("lens", "1")]);
    let intro = f.wait_followup(&t, "Lens 1").await;
    let t = f.click(
        me,
        Some(GUILD),
        &button(&intro, "Begin (about five minutes)"),
        &as_message(&intro),
    );
    let prompt = wait_edit(&f, &t, "Step 2 of").await;
    let t = f.click(
        me,
        Some(GUILD),
        &button(&prompt, "Type my answer"),
        &as_message(&prompt),
    );
    let modal = wait_callback(&f, &t).await;
    assert_eq!(modal["type"], 9);
    assert_request("POST", CALLBACK, &modal);
    let input = &modal["data"]["components"][0]["components"][0];
    let label = input["label"].as_str().unwrap();
    let placeholder = input["placeholder"].as_str().unwrap_or("");
    // The words of the label and the placeholder are the question's, as the prompt shows it.
    let question = content(&prompt);
    let head = label.trim_end_matches('…');
    assert!(
        head.len() > 10 && question.contains(head),
        "{label:?} is not the question in {question:?}"
    );
    if label.ends_with('…') {
        let rest = placeholder.trim_start_matches('…').trim_end_matches('…');
        assert!(
            question.contains(rest),
            "{placeholder:?} does not go on with the question"
        );
    }
    assert_ne!(label, "Only you and lensbot can see this");
    r.stop().await.unwrap();
}

/// Proves the answer button says what is typed: on the profession menu it reads "Type my
/// profession", at the resource prompt "Type search words", and neither offers "Type my
/// answer".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_profession_and_search_buttons_say_what_to_type() {
    let r = start().await;
    let f = r.fake.clone();
    let me = 9103;
    for (cmd, needle, label) in [
        ("profession", "", "Type my profession"),
        ("resources", "", "Type search words"),
    ] {
        let t = f.command(me, Some(GUILD), cmd, &[]);
        let menu = f.wait_followup(&t, needle).await;
        assert!(button(&menu, label).starts_with("answer:"), "{menu}");
        let labels = menu.to_string();
        assert!(!labels.contains("Type my answer"), "{menu}");
    }
    r.stop().await.unwrap();
}

/// Proves the registered commands are valid and well made: the whole registration fits
/// Discord's OpenAPI spec (names, descriptions, option counts and lengths); `/remind` and
/// `/challenge` have subcommands, each described, with typed options: meeting types and plans
/// as choices, the reminder phrase, day, time and zone suggested as typed, a role picked from
/// the server's, a number for the reminder to cancel.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registered_commands_have_subcommands_options_and_choices_valid_against_the_spec() {
    let r = start().await;
    let f = r.fake.clone();
    let put = f.calls().into_iter().find(|c| c.method == "PUT").unwrap();
    assert_request("PUT", COMMANDS, &put.body);
    let cmds = put.body.as_array().unwrap();
    let cmd = |n: &str| cmds.iter().find(|c| c["name"] == n).unwrap().clone();
    let sub = |c: &Value, n: &str| {
        c["options"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["name"] == n)
            .unwrap_or_else(|| panic!("no subcommand {n} in {c}"))
            .clone()
    };
    let opt = |s: &Value, n: &str| {
        s["options"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["name"] == n)
            .unwrap_or_else(|| panic!("no option {n} in {s}"))
            .clone()
    };
    let remind = cmd("remind");
    let challenge = cmd("challenge");
    for c in [&remind, &challenge] {
        for s in c["options"].as_array().unwrap() {
            assert_eq!(
                s["type"], 1,
                "every option of {} is a subcommand",
                c["name"]
            );
            assert!(!s["description"].as_str().unwrap().is_empty());
        }
    }
    let meeting = opt(&sub(&remind, "meeting"), "type");
    assert!(
        meeting["choices"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["value"] == "team")
    );
    assert_eq!(opt(&sub(&remind, "meeting"), "when")["autocomplete"], true);
    assert_eq!(opt(&sub(&remind, "cancel"), "number")["type"], 4);
    let start = sub(&challenge, "start");
    let plan = opt(&start, "plan");
    assert_eq!(plan["required"], true);
    assert!(
        plan["choices"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["value"] == "six-days")
    );
    for o in ["day", "time", "zone"] {
        assert_eq!(opt(&start, o)["autocomplete"], true, "{o}");
    }
    assert_eq!(opt(&sub(&challenge, "role"), "role")["type"], 8);
    assert_eq!(cmd("timezone")["options"][0]["autocomplete"], true);
    assert_eq!(cmd("define")["options"][0]["autocomplete"], true);
    r.stop().await.unwrap();
}

/// The choices of an autocomplete answer (type 8) under this token, checked against the spec.
async fn suggestions(f: &FakeDiscord, token: &str) -> Vec<(String, String)> {
    let body = wait_callback(f, token).await;
    assert_eq!(body["type"], 8, "{body}");
    assert_request("POST", CALLBACK, &body);
    body["data"]["choices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_string(),
                c["value"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Proves autocomplete answers with matching choices (at most 25, within the spec): reminder
/// phrases for "every tue" name Tuesday; a start zone for "cardiff" is Europe/London; a time
/// for "9" starts at 09:00; terms for "equ" are the few that match, "Equality and equity"
/// among them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn autocomplete_answers_with_matching_choices() {
    let r = start().await;
    let f = r.fake.clone();
    let me = 9104;
    let t = f.autocomplete(me, Some(GUILD), "remind", "new", "when", "every tue");
    let c = suggestions(&f, &t).await;
    assert!(c.len() > 1 && c.len() <= 25, "{c:?}");
    assert_eq!(c[0].1, "every tue", "what was typed is kept first");
    assert!(c[1..].iter().all(|(n, _)| n.contains("Tuesday")), "{c:?}");
    let t = f.autocomplete(me, Some(GUILD), "challenge", "start", "zone", "cardiff");
    let c = suggestions(&f, &t).await;
    assert_eq!(c[0].1, "Europe/London", "{c:?}");
    let t = f.autocomplete(me, Some(GUILD), "challenge", "start", "time", "9");
    assert_eq!(suggestions(&f, &t).await[1].1, "09:00");
    let t = f.autocomplete(me, Some(GUILD), "define", "", "term", "equ");
    let c = suggestions(&f, &t).await;
    assert!(
        c.iter().any(|(n, _)| n.contains("Equality and equity")),
        "{c:?}"
    );
    assert!(c.len() < 10, "only the terms that match: {c:?}");
    r.stop().await.unwrap();
}

/// Proves `/remind` subcommands come to the same as the typed form: `/remind meeting
/// type:team when:every Tuesday 09:25` leaves the same reminder, with the same reply, as
/// `/remind prep team every Tuesday 09:25` typed by another person; `/remind list` and
/// `/remind cancel number:1` answer as `/remind list` and `/remind cancel 1` do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remind_subcommands_give_the_same_results_as_the_typed_forms() {
    let r = start().await;
    let f = r.fake.clone();
    let (typed, picked) = (9105, 9106);
    let t = f.command(
        typed,
        Some(GUILD),
        "remind",
        &[("what", "prep team every Tuesday 09:25")],
    );
    let a = f.wait_followup(&t, "").await;
    let t = f.subcommand(
        picked,
        Some(GUILD),
        "remind",
        "meeting",
        &[
            ("when", 3, json!("every Tuesday 09:25")),
            ("type", 3, json!("team")),
        ],
    );
    let b = f.wait_followup(&t, "").await;
    assert_eq!(content(&a), content(&b));
    let reminders = |u: u64| {
        let st = lensbot::store::wait(r.store.get_user(&format!("discord:{u}")))
            .unwrap()
            .unwrap();
        st.reminders
            .iter()
            .map(|r| (format!("{:?}", r.kind), format!("{:?}", r.schedule)))
            .collect::<Vec<_>>()
    };
    assert_eq!(reminders(typed).len(), 1);
    assert_eq!(reminders(typed), reminders(picked));
    let t = f.command(typed, Some(GUILD), "remind", &[("what", "list")]);
    let a = f.wait_followup(&t, "").await;
    let t = f.subcommand(picked, Some(GUILD), "remind", "list", &[]);
    let b = f.wait_followup(&t, "").await;
    assert_eq!(content(&a), content(&b));
    let t = f.subcommand(
        picked,
        Some(GUILD),
        "remind",
        "cancel",
        &[("number", 4, json!(1))],
    );
    f.wait_followup(&t, "").await;
    assert!(reminders(picked).is_empty());
    r.stop().await.unwrap();
}

/// The adapter on a fake Discord with a manual clock, once its commands are registered.
async fn start_at(
    session: Arc<Session>,
) -> (
    FakeDiscord,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<Result<(), discord::DiscordError>>,
) {
    let f = FakeDiscord::start().await;
    let config = Config {
        token: "MTAx.FAKE.token".into(),
        api_url: Some(f.rest_url.clone()),
        guild: Some(GUILD),
        facilitator_role: None,
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(discord::run(session, config, async {
        let _ = stopped.await;
    }));
    f.wait("command registration", |f| {
        f.calls()
            .into_iter()
            .find(|c| c.method == "PUT" && c.path.ends_with("/commands"))
    })
    .await;
    (f, stop, task)
}

fn ts(s: &str) -> jiff::Timestamp {
    s.parse().unwrap()
}

/// Proves `/challenge` subcommands come to the same as the typed form, and that a
/// challenge's private messages name the server: `/challenge start plan:six-days
/// day:tomorrow time:08:00 zone:Cardiff` announces what `start six-days tomorrow 08:00
/// Europe/London` typed announced (ended in between); `/challenge role role:@Role` sets the
/// role as `role <@&id>` does; a member who joins gets Day 1 by DM under "#ahp-peers in
/// Allied Health Peers", the channel and its server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn challenge_subcommands_match_the_typed_forms_and_dms_name_the_server() {
    let session = Arc::new(
        Session::new(catalog(), Arc::new(MemoryStore::new()))
            .with_manual_clock(ts("2026-11-22T12:00:00Z")),
    );
    let (f, stop, task) = start_at(session.clone()).await;
    let (fac, member) = (9201, 9202);
    f.make_admin(fac);
    let t = f.command(
        fac,
        Some(GUILD),
        "challenge",
        &[("what", "start six-days tomorrow 08:00 Europe/London")],
    );
    let typed = f.wait_followup(&t, "New challenge").await;
    let t = f.subcommand(fac, Some(GUILD), "challenge", "end", &[]);
    f.wait_followup(&t, "").await;
    let t = f.subcommand(
        fac,
        Some(GUILD),
        "challenge",
        "start",
        &[
            ("zone", 3, json!("Cardiff")),
            ("time", 3, json!("08:00")),
            ("plan", 3, json!("six-days")),
            ("day", 3, json!("tomorrow")),
        ],
    );
    let picked = f.wait_followup(&t, "New challenge").await;
    assert!(!ephemeral(&picked));
    assert_eq!(content(&typed), content(&picked));
    let t = f.subcommand(
        fac,
        Some(GUILD),
        "challenge",
        "role",
        &[("role", 8, json!("4242"))],
    );
    let set = f.wait_followup(&t, "4242").await;
    assert!(!ephemeral(&set));

    let t = f.click(
        member,
        Some(GUILD),
        &button(&picked, "Join"),
        &as_message(&picked),
    );
    f.wait_followup(&t, "You've joined").await;
    session.set_now(ts("2026-11-23T08:00:30Z"));
    let dm = f
        .wait("Day 1 by DM", |f| {
            f.dms_to(member)
                .into_iter()
                .find(|m| content(m).contains("Day 1 of 6"))
        })
        .await;
    let named = format!("#ahp-peers in {SERVER_NAME}");
    assert!(
        content(&dm).contains(&named),
        "the DM does not name the server: {}",
        content(&dm)
    );
    let _ = stop.send(());
    let _ = tokio::time::timeout(std::time::Duration::from_secs(15), task).await;
}
