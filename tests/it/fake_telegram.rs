//! A small fake of the Telegram Bot API on 127.0.0.1, for driving the real teloxide client
//! (in-process, or the real `lensbot telegram` binary through `TELEGRAM_API_URL`).
//!
//! It serves `getMe`, `getUpdates` (long polling, honouring `offset`), `setMyCommands`,
//! `sendMessage`, `sendDocument` and `sendPhoto` (multipart/form-data: the text fields become
//! the recorded body, JSON-valued ones such as `reply_markup` parsed, and the file is kept in
//! [`Call::file`]), `answerCallbackQuery`, `editMessageReplyMarkup` and `getChatMember`, records
//! every call (checked against the Bot API spec by [`crate::telegram_spec`]), and can be told to
//! fail a call (a 429 with `retry_after`, a 403 for a blocked user, a 5xx) or to be slow (a turn
//! in flight at shutdown). It can also serve the bot's own membership changing in a group
//! (`my_chat_member`, [`FakeTelegram::bot_status`]), and gives each group message its own id.
//!
//! **Pushing, as Telegram does with a webhook.** Once `setWebhook` is called (by
//! `lensbot telegram set-webhook`, or a test through [`FakeTelegram::set_webhook`]), the fake
//! keeps its updates for the webhook instead of `getUpdates` (which then answers 409 Conflict,
//! as Telegram does) and POSTs each one as JSON to the URL, with the registered secret in
//! `X-Telegram-Bot-Api-Secret-Token`: one update at a time per chat, in order, retrying any
//! non-2xx answer or failed connection with back-off (50 ms doubling to 1 s) and keeping the
//! update until a 2xx. Every attempt is recorded ([`FakeTelegram::pushes`]); `getWebhookInfo`
//! reports the URL, the updates waiting and the last delivery error; `deleteWebhook` goes back
//! to polling (dropping what waits when asked to). [`FakeTelegram::lose_answers`] makes the
//! fake treat the next 2xx answers as lost (a connection that broke after the answer was
//! sent), so it pushes the same update again, as Telegram would.
//!
//! `getChatMember` answers as Telegram does: the person's `ChatMember` in the group (`left`
//! unless a test made them a member, restricted, banned or an admin), or a 400 "chat not
//! found" / "user not found" for a chat or person Telegram does not know.

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::Notify;

/// The bot's username, as the fake's `getMe` reports it.
pub const BOT_USERNAME: &str = "lensbot_test_bot";

/// One attempt to push an update to the webhook.
#[derive(Clone, Debug)]
pub struct Push {
    /// The update's id.
    pub update_id: i64,
    /// The answer's status; `None` when no answer came (no connection, a reset).
    pub status: Option<u16>,
    /// Whether the fake counted it as delivered (a 2xx not lost on purpose).
    pub delivered: bool,
}

/// The webhook as `setWebhook` registered it.
#[derive(Clone, Debug)]
struct Webhook {
    url: String,
    secret: Option<String>,
    max_connections: Option<i64>,
}

/// One recorded API call.
#[derive(Clone, Debug)]
pub struct Call {
    /// Method name (`sendMessage` …).
    pub method: String,
    /// The JSON body.
    pub body: Value,
    /// When it arrived.
    pub at: Instant,
    /// For a successful `sendMessage`, the message id the fake gave it.
    pub message_id: Option<i64>,
    /// The file a multipart call uploaded.
    pub file: Option<crate::helpers::Upload>,
}

#[derive(Default)]
struct State {
    queue: Vec<Value>,
    forced: VecDeque<Value>,
    next_update: i64,
    next_message: i64,
    calls: Vec<Call>,
    fail: VecDeque<(String, u16, Value)>,
    blocked: HashSet<i64>,
    get_me_fails: bool,
    send_delay: Duration,
    admins: HashSet<i64>,
    /// `getChatMember` answers by (chat, person); a pair not listed is `left`.
    members: HashMap<(i64, i64), Value>,
    /// Chats `getChatMember` answers "chat not found" for.
    missing_chats: HashSet<i64>,
    /// People `getChatMember` answers "user not found" for.
    unknown_users: HashSet<i64>,
    /// The webhook, while one is set: updates are pushed to it, and `getUpdates` is refused.
    webhook: Option<Webhook>,
    /// Every push attempt, in order.
    pushes: Vec<Push>,
    /// Chats with a push in flight (one at a time per chat).
    pushing: HashSet<i64>,
    /// Per chat: failures in a row, and when the next attempt may be made.
    retry: HashMap<i64, (u32, Instant)>,
    /// This many 2xx answers to come are treated as lost.
    lose: usize,
    /// The most recent delivery error: Unix time and words, as `getWebhookInfo` reports it.
    last_error: Option<(i64, String)>,
}

/// The fake server. Dropping it stops nothing; tests are short-lived.
#[derive(Clone)]
pub struct FakeTelegram {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    state: Arc<Mutex<State>>,
    notify: Arc<Notify>,
}

fn ok(result: Value) -> (u16, Value) {
    (200, json!({"ok": true, "result": result}))
}

fn user(id: i64) -> Value {
    json!({"id": id, "is_bot": false, "first_name": format!("User{id}")})
}

fn chat(id: i64) -> Value {
    if id < 0 {
        json!({"id": id, "type": "supergroup", "title": "AHP network"})
    } else {
        json!({"id": id, "type": "private", "first_name": format!("User{id}")})
    }
}

impl FakeTelegram {
    /// Starts the server on a free port.
    pub async fn start() -> FakeTelegram {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let fake = FakeTelegram {
            url,
            state: Arc::new(Mutex::new(State {
                next_update: 1000,
                next_message: 1,
                ..State::default()
            })),
            notify: Arc::new(Notify::new()),
        };
        tokio::spawn(fake.clone().pusher());
        let f = fake.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let f = f.clone();
                tokio::spawn(async move {
                    let svc = service_fn(move |req| {
                        let f = f.clone();
                        async move { Ok::<_, hyper::Error>(f.serve(req).await) }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        fake
    }

    async fn serve(&self, req: Request<hyper::body::Incoming>) -> Response<Full<Bytes>> {
        let path = req.uri().path().to_string();
        let content_type = req
            .headers()
            .get("content-type")
            .and_then(|h| h.to_str().ok())
            .unwrap_or("")
            .to_string();
        // Telegram's method names are case-insensitive; teloxide sends `GetMe`, `SendMessage`.
        let raw = path.rsplit('/').next().unwrap_or_default();
        let mut method = raw.to_string();
        if let Some(first) = raw.chars().next() {
            method = first.to_lowercase().collect::<String>() + &raw[first.len_utf8()..];
        }
        let bytes = req
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let (body, file) = if content_type.starts_with("multipart/form-data") {
            crate::helpers::read_multipart(&content_type, &bytes)
        } else {
            (serde_json::from_slice(&bytes).unwrap_or(Value::Null), None)
        };
        let (status, reply) = self.answer(&method, body, file).await;
        Response::builder()
            .status(status)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(reply.to_string())))
            .unwrap()
    }

    async fn answer(
        &self,
        method: &str,
        body: Value,
        file: Option<crate::helpers::Upload>,
    ) -> (u16, Value) {
        let (delay, idx) = {
            let mut st = self.state.lock().unwrap();
            st.calls.push(Call {
                method: method.to_string(),
                body: body.clone(),
                at: Instant::now(),
                message_id: None,
                file,
            });
            let idx = st.calls.len() - 1;
            if let Some(i) = st.fail.iter().position(|(m, _, _)| m == method) {
                let (_, status, reply) = st.fail.remove(i).unwrap();
                return (status, reply);
            }
            (
                if method == "sendMessage" {
                    st.send_delay
                } else {
                    Duration::ZERO
                },
                idx,
            )
        };
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        match method {
            "getMe" => {
                if self.state.lock().unwrap().get_me_fails {
                    return (
                        401,
                        json!({"ok": false, "error_code": 401, "description": "Unauthorized"}),
                    );
                }
                ok(
                    json!({"id": 42, "is_bot": true, "first_name": "lensbot", "username": BOT_USERNAME,
                    "can_join_groups": true, "can_read_all_group_messages": false,
                    "supports_inline_queries": false, "has_main_web_app": false}),
                )
            }
            "getUpdates" => {
                if self.state.lock().unwrap().webhook.is_some() {
                    return (
                        409,
                        json!({"ok": false, "error_code": 409, "description": "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"}),
                    );
                }
                self.get_updates(&body).await
            }
            "setWebhook" => {
                let url = body["url"].as_str().unwrap_or("").to_string();
                let mut st = self.state.lock().unwrap();
                if body["drop_pending_updates"] == json!(true) {
                    st.queue.clear();
                }
                st.webhook = (!url.is_empty()).then(|| Webhook {
                    url,
                    secret: body["secret_token"].as_str().map(str::to_string),
                    max_connections: body["max_connections"].as_i64(),
                });
                st.retry.clear();
                drop(st);
                self.notify.notify_waiters();
                ok(json!(true))
            }
            "deleteWebhook" => {
                let mut st = self.state.lock().unwrap();
                if body["drop_pending_updates"] == json!(true) {
                    st.queue.clear();
                }
                st.webhook = None;
                ok(json!(true))
            }
            "getWebhookInfo" => {
                let st = self.state.lock().unwrap();
                let mut info = json!({
                    "url": st.webhook.as_ref().map(|w| w.url.clone()).unwrap_or_default(),
                    "has_custom_certificate": false,
                    "pending_update_count": st.queue.len(),
                });
                if let Some(w) = &st.webhook {
                    info["max_connections"] = json!(w.max_connections.unwrap_or(40));
                    if let Some((date, why)) = &st.last_error {
                        info["last_error_date"] = json!(date);
                        info["last_error_message"] = json!(why);
                    }
                }
                ok(info)
            }
            "setMyCommands" | "answerCallbackQuery" => ok(json!(true)),
            "getChatMember" => {
                let chat_id = body["chat_id"].as_i64().unwrap_or(0);
                let id = body["user_id"].as_i64().unwrap_or(0);
                let st = self.state.lock().unwrap();
                let bad = |d: &str| {
                    (
                        400,
                        json!({"ok": false, "error_code": 400, "description": format!("Bad Request: {d}")}),
                    )
                };
                if st.missing_chats.contains(&chat_id) {
                    bad("chat not found")
                } else if st.unknown_users.contains(&id) {
                    bad("user not found")
                } else if st.admins.contains(&id) {
                    ok(json!({"status": "creator", "user": user(id), "is_anonymous": false}))
                } else {
                    ok(st
                        .members
                        .get(&(chat_id, id))
                        .cloned()
                        .unwrap_or_else(|| json!({"status": "left", "user": user(id)})))
                }
            }
            "sendMessage" => {
                let chat_id = body["chat_id"].as_i64().unwrap_or(0);
                let mut st = self.state.lock().unwrap();
                if st.blocked.contains(&chat_id) {
                    return (
                        403,
                        json!({"ok": false, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}),
                    );
                }
                st.next_message += 1;
                let id = st.next_message;
                st.calls[idx].message_id = Some(id);
                ok(
                    json!({"message_id": id, "date": 1767600000, "chat": chat(chat_id),
                    "from": {"id": 42, "is_bot": true, "first_name": "lensbot"},
                    "text": body["text"].as_str().unwrap_or("")}),
                )
            }
            "sendDocument" | "sendPhoto" => {
                let chat_id = body["chat_id"].as_i64().unwrap_or(0);
                let mut st = self.state.lock().unwrap();
                if st.blocked.contains(&chat_id) {
                    return (
                        403,
                        json!({"ok": false, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}),
                    );
                }
                let Some(upload) = st.calls[idx].file.clone() else {
                    return (
                        400,
                        json!({"ok": false, "error_code": 400, "description": "Bad Request: there is no file in the request"}),
                    );
                };
                st.next_message += 1;
                let id = st.next_message;
                st.calls[idx].message_id = Some(id);
                let mut m = json!({"message_id": id, "date": 1767600000, "chat": chat(chat_id),
                    "from": {"id": 42, "is_bot": true, "first_name": "lensbot"},
                    "caption": body["caption"].as_str().unwrap_or("")});
                let file = json!({"file_id": format!("f{id}"), "file_unique_id": format!("u{id}"),
                    "file_size": upload.bytes.len()});
                if method == "sendPhoto" {
                    m["photo"] = json!([file]);
                } else {
                    m["document"] = file;
                    m["document"]["file_name"] = json!(upload.name);
                    m["document"]["mime_type"] = json!(upload.mime);
                }
                ok(m)
            }
            "editMessageReplyMarkup" => {
                let chat_id = body["chat_id"].as_i64().unwrap_or(0);
                let id = body["message_id"].as_i64().unwrap_or(0);
                ok(
                    json!({"message_id": id, "date": 1767600000, "chat": chat(chat_id),
                    "from": {"id": 42, "is_bot": true, "first_name": "lensbot"}, "text": "…"}),
                )
            }
            other => (
                404,
                json!({"ok": false, "error_code": 404, "description": format!("Not Found: method {other}")}),
            ),
        }
    }

    async fn get_updates(&self, body: &Value) -> (u16, Value) {
        let offset = body["offset"].as_i64().unwrap_or(0);
        let timeout = body["timeout"].as_u64().unwrap_or(0).min(2);
        let deadline = Instant::now() + Duration::from_secs(timeout);
        loop {
            // Register for wake-ups before looking, so a push in between is not missed.
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut st = self.state.lock().unwrap();
                st.queue
                    .retain(|u| u["update_id"].as_i64().unwrap_or(0) >= offset);
                let mut out: Vec<Value> = st.forced.drain(..).collect();
                out.extend(st.queue.iter().cloned());
                if !out.is_empty() {
                    return ok(Value::Array(out));
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return ok(json!([]));
            }
            let _ = tokio::time::timeout(left, notified).await;
        }
    }

    /// Pushes updates to the webhook while one is set (see the module docs): each chat's
    /// oldest update not yet delivered, one at a time per chat, retried with back-off.
    async fn pusher(self) {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let work: Vec<(i64, Value, Webhook)> = {
                let mut st = self.state.lock().unwrap();
                let now = Instant::now();
                let mut work = Vec::new();
                if let Some(w) = st.webhook.clone() {
                    let mut seen = HashSet::new();
                    let queue = st.queue.clone();
                    for u in queue {
                        let chat = chat_of(&u);
                        if !seen.insert(chat) || st.pushing.contains(&chat) {
                            continue;
                        }
                        if st.retry.get(&chat).is_some_and(|(_, at)| *at > now) {
                            continue;
                        }
                        st.pushing.insert(chat);
                        work.push((chat, u, w.clone()));
                    }
                }
                work
            };
            for (chat, update, w) in work {
                let (f, client) = (self.clone(), client.clone());
                tokio::spawn(async move { f.push_one(&client, chat, update, w).await });
            }
            let _ = tokio::time::timeout(Duration::from_millis(20), notified).await;
        }
    }

    /// One attempt to deliver an update to the webhook, recorded.
    async fn push_one(&self, client: &reqwest::Client, chat: i64, update: Value, w: Webhook) {
        let mut req = client
            .post(&w.url)
            .header("content-type", "application/json")
            .body(update.to_string());
        if let Some(s) = &w.secret {
            req = req.header("X-Telegram-Bot-Api-Secret-Token", s);
        }
        let (status, error) = match req.send().await {
            Ok(r) => {
                let code = r.status().as_u16();
                // Read the answer to its end, as Telegram does, so the connection is reused.
                let _ = r.bytes().await;
                (
                    Some(code),
                    format!("Wrong response from the webhook: {code}"),
                )
            }
            Err(e) => (None, format!("Connection failed: {e}")),
        };
        let id = update["update_id"].as_i64().unwrap_or(0);
        {
            let mut st = self.state.lock().unwrap();
            let ok = status.is_some_and(|c| (200..300).contains(&c));
            let lost = ok && st.lose > 0;
            if lost {
                st.lose -= 1;
            }
            let delivered = ok && !lost;
            st.pushes.push(Push {
                update_id: id,
                status,
                delivered,
            });
            if delivered {
                st.queue.retain(|u| u["update_id"].as_i64() != Some(id));
                st.retry.remove(&chat);
            } else {
                let n = st.retry.get(&chat).map(|(n, _)| *n).unwrap_or(0);
                let wait = Duration::from_millis(50 * (1 << n.min(5))).min(Duration::from_secs(1));
                st.retry.insert(chat, (n + 1, Instant::now() + wait));
                if !ok {
                    st.last_error = Some((1767600000, error));
                }
            }
            st.pushing.remove(&chat);
        }
        self.notify.notify_waiters();
    }

    /// Registers a webhook as `setWebhook` would (the deploy step, done by the test itself).
    pub fn set_webhook(&self, url: &str, secret: Option<&str>) {
        {
            let mut st = self.state.lock().unwrap();
            st.webhook = Some(Webhook {
                url: url.to_string(),
                secret: secret.map(str::to_string),
                max_connections: None,
            });
            st.retry.clear();
        }
        self.notify.notify_waiters();
    }

    /// Every push attempt so far, in order.
    pub fn pushes(&self) -> Vec<Push> {
        self.state.lock().unwrap().pushes.clone()
    }

    /// Updates not yet delivered (to the webhook, or confirmed by polling).
    pub fn pending(&self) -> usize {
        self.state.lock().unwrap().queue.len()
    }

    /// The next `n` 2xx answers from the webhook are treated as lost: the update is pushed
    /// again, as Telegram does when it never saw the answer.
    pub fn lose_answers(&self, n: usize) {
        self.state.lock().unwrap().lose += n;
    }

    fn push(&self, mut update: Value) -> i64 {
        let id = {
            let mut st = self.state.lock().unwrap();
            st.next_update += 1;
            let id = st.next_update;
            update["update_id"] = json!(id);
            // A group message's id (0 when sent): the update's, so replies can be told apart.
            if update["message"]["message_id"] == json!(0) {
                update["message"]["message_id"] = json!(id);
            }
            st.queue.push(update);
            id
        };
        self.notify.notify_waiters();
        id
    }

    /// A text message in a private chat.
    pub fn private_text(&self, user_id: i64, text: &str) -> Value {
        json!({"message": {"message_id": 1, "date": 1767600000, "chat": chat(user_id), "from": user(user_id), "text": text}})
    }

    /// Queues a text message from a person in their private chat.
    pub fn send_private(&self, user_id: i64, text: &str) -> i64 {
        self.push(self.private_text(user_id, text))
    }

    /// Queues a text message from a person in a group; its message id is the update's id
    /// (returned), so a threaded reply can be matched to it.
    pub fn send_group(&self, chat_id: i64, user_id: i64, text: &str) -> i64 {
        self.push(json!({"message": {"message_id": 0, "date": 1767600000, "chat": chat(chat_id), "from": user(user_id), "text": text}}))
    }

    /// Queues a `my_chat_member` update: the bot's status in a group changed from `old` to
    /// `new` (`left`, `member`, `administrator` …), by a person's doing.
    pub fn bot_status(&self, chat_id: i64, by: i64, old: &str, new: &str) -> i64 {
        let bot =
            json!({"id": 42, "is_bot": true, "first_name": "lensbot", "username": BOT_USERNAME});
        let member = |status: &str| {
            let mut m = json!({"status": status, "user": bot});
            if status == "administrator" {
                for right in [
                    "can_be_edited",
                    "is_anonymous",
                    "can_manage_chat",
                    "can_delete_messages",
                    "can_manage_video_chats",
                    "can_restrict_members",
                    "can_promote_members",
                    "can_change_info",
                    "can_invite_users",
                    "can_post_stories",
                    "can_edit_stories",
                    "can_delete_stories",
                ] {
                    m[right] = json!(false);
                }
            }
            m
        };
        self.push(
            json!({"my_chat_member": {"chat": chat(chat_id), "from": user(by),
            "date": 1767600000, "old_chat_member": member(old), "new_chat_member": member(new)}}),
        )
    }

    /// Queues a button press on a message the bot sent.
    pub fn press(&self, user_id: i64, message_id: i64, data: &str) -> i64 {
        self.push(json!({"callback_query": {"id": format!("cq{message_id}{}", data.len()), "from": user(user_id),
            "chat_instance": "ci", "data": data,
            "message": {"message_id": message_id, "date": 1767600000, "chat": chat(user_id),
                "from": {"id": 42, "is_bot": true, "first_name": "lensbot"}, "text": "…"}}}))
    }

    /// Serves an update once more on the next poll, whatever the offset (a replay after a
    /// crash, or Telegram sending it twice).
    pub fn replay(&self, update_id: i64, mut update: Value) {
        update["update_id"] = json!(update_id);
        self.state.lock().unwrap().forced.push_back(update);
        self.notify.notify_waiters();
    }

    /// `/lens 1` from `who`, then "The whole lens" and "Next": they are at lens 1's first
    /// question (the message that asks it is returned).
    pub async fn to_first_question(&self, who: i64) -> Value {
        self.send_private(who, "/lens 1");
        let intro = self
            .wait_for_text(who, "Lens 1: Myself as an individual")
            .await;
        self.press(
            who,
            self.message_id_of(&intro),
            &button(&intro, "The whole lens"),
        );
        let summary = self
            .wait_for_text(who, "Myself as an individual, awareness")
            .await;
        self.press(who, self.message_id_of(&summary), &button(&summary, "Next"));
        self.wait_for_text(who, "question 1 of").await
    }

    /// The next call of `method` fails with this status and description.
    pub fn fail_next(&self, method: &str, status: u16, reply: Value) {
        self.state
            .lock()
            .unwrap()
            .fail
            .push_back((method.to_string(), status, reply));
    }

    /// Messages to this chat fail with 403, as when a person blocks the bot.
    pub fn block(&self, chat_id: i64) {
        self.state.lock().unwrap().blocked.insert(chat_id);
    }

    /// `getChatMember` reports this person as the group's owner (an admin).
    pub fn make_admin(&self, user_id: i64) {
        self.state.lock().unwrap().admins.insert(user_id);
    }

    /// `getChatMember` reports this person as an ordinary member of the group.
    pub fn add_member(&self, chat_id: i64, user_id: i64) {
        self.set_member(
            chat_id,
            user_id,
            json!({"status": "member", "user": user(user_id)}),
        );
    }

    /// `getChatMember` reports this person as restricted in the group (a supergroup), still a
    /// member or not.
    pub fn restrict(&self, chat_id: i64, user_id: i64, is_member: bool) {
        let mut m = json!({"status": "restricted", "user": user(user_id),
            "is_member": is_member, "until_date": 0});
        for right in [
            "can_send_messages",
            "can_send_audios",
            "can_send_documents",
            "can_send_photos",
            "can_send_videos",
            "can_send_video_notes",
            "can_send_voice_notes",
            "can_send_polls",
            "can_send_other_messages",
            "can_add_web_page_previews",
            "can_react_to_messages",
            "can_edit_tag",
            "can_change_info",
            "can_invite_users",
            "can_pin_messages",
            "can_manage_topics",
        ] {
            m[right] = json!(false);
        }
        self.set_member(chat_id, user_id, m);
    }

    /// `getChatMember` reports this person as banned from the group.
    pub fn ban(&self, chat_id: i64, user_id: i64) {
        self.set_member(
            chat_id,
            user_id,
            json!({"status": "kicked", "user": user(user_id), "until_date": 0}),
        );
    }

    fn set_member(&self, chat_id: i64, user_id: i64, member: Value) {
        self.state
            .lock()
            .unwrap()
            .members
            .insert((chat_id, user_id), member);
    }

    /// `getChatMember` for this chat answers 400 "chat not found" (the bot was removed, or the
    /// group is gone).
    pub fn forget_chat(&self, chat_id: i64) {
        self.state.lock().unwrap().missing_chats.insert(chat_id);
    }

    /// `getChatMember` for this person answers 400 "user not found".
    pub fn forget_user(&self, user_id: i64) {
        self.state.lock().unwrap().unknown_users.insert(user_id);
    }

    /// Every call so far, in order.
    pub fn all_calls(&self) -> Vec<Call> {
        self.state.lock().unwrap().calls.clone()
    }

    /// `getMe` answers 401.
    pub fn fail_get_me(&self) {
        self.state.lock().unwrap().get_me_fails = true;
    }

    /// Every `sendMessage` takes this long to answer.
    pub fn slow_sends(&self, d: Duration) {
        self.state.lock().unwrap().send_delay = d;
    }

    /// Every call so far of a method.
    pub fn calls(&self, method: &str) -> Vec<Call> {
        self.state
            .lock()
            .unwrap()
            .calls
            .iter()
            .filter(|c| c.method == method)
            .cloned()
            .collect()
    }

    /// Messages the fake accepted for a chat, in order (refused calls are in `calls`); a file
    /// sent (`sendPhoto`, `sendDocument`) counts too, its `text` its caption.
    pub fn sent_to(&self, chat_id: i64) -> Vec<Value> {
        let sends = ["sendMessage", "sendPhoto", "sendDocument"];
        self.state
            .lock()
            .unwrap()
            .calls
            .iter()
            .filter(|c| sends.contains(&c.method.as_str()))
            .filter(|c| c.message_id.is_some() && c.body["chat_id"].as_i64() == Some(chat_id))
            .map(|c| {
                let mut b = c.body.clone();
                // A file's words: its caption.
                if c.method != "sendMessage" {
                    b["text"] = b["caption"].clone();
                }
                b
            })
            .collect()
    }

    /// Waits for a file sent with `method` (`sendDocument`, `sendPhoto`) to the chat whose file
    /// name contains `name_part`.
    pub async fn wait_for_file(&self, chat_id: i64, method: &str, name_part: &str) -> Call {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(c) = self.calls(method).into_iter().find(|c| {
                c.body["chat_id"] == json!(chat_id)
                    && c.file.as_ref().is_some_and(|f| f.name.contains(name_part))
            }) {
                return c;
            }
            if Instant::now() > deadline {
                let methods: Vec<String> = self
                    .state
                    .lock()
                    .unwrap()
                    .calls
                    .iter()
                    .map(|c| c.method.clone())
                    .collect();
                panic!(
                    "no {method} to {chat_id} of a file named like {name_part:?}; calls: {methods:?}"
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until a message to `chat_id` contains `needle`; returns it and the message id the
    /// fake gave it (counting every message sent).
    pub async fn wait_for_text(&self, chat_id: i64, needle: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(m) = self
                .sent_to(chat_id)
                .into_iter()
                .find(|b| b["text"].as_str().unwrap_or("").contains(needle))
            {
                return m;
            }
            if Instant::now() > deadline {
                let texts: Vec<String> = self
                    .sent_to(chat_id)
                    .iter()
                    .map(|b| b["text"].to_string())
                    .collect();
                let methods: Vec<String> = self
                    .state
                    .lock()
                    .unwrap()
                    .calls
                    .iter()
                    .map(|c| c.method.clone())
                    .collect();
                panic!(
                    "no message to {chat_id} containing {needle:?}; sent:\n{}\ncalls: {methods:?}",
                    texts.join("\n")
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The message id the fake gave a sent message.
    pub fn message_id_of(&self, body: &Value) -> i64 {
        self.calls("sendMessage")
            .into_iter()
            .find(|c| c.body == *body)
            .and_then(|c| c.message_id)
            .expect("a message the fake accepted")
    }
}

/// The chat an update belongs to (Telegram delivers one chat's updates in order).
fn chat_of(u: &Value) -> i64 {
    u["message"]["chat"]["id"]
        .as_i64()
        .or_else(|| u["callback_query"]["message"]["chat"]["id"].as_i64())
        .or_else(|| u["callback_query"]["from"]["id"].as_i64())
        .or_else(|| u["my_chat_member"]["chat"]["id"].as_i64())
        .unwrap_or(0)
}

/// The callback data of the button with this label in a sent message's inline keyboard.
pub fn button(message: &Value, label: &str) -> String {
    for row in message["reply_markup"]["inline_keyboard"]
        .as_array()
        .into_iter()
        .flatten()
    {
        for b in row.as_array().into_iter().flatten() {
            if b["text"] == label {
                return b["callback_data"].as_str().unwrap_or_default().to_string();
            }
        }
    }
    panic!("no button {label:?} in {message}");
}
