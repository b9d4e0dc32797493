//! A small fake of Discord on 127.0.0.1: a REST server (`GET /api/v10/gateway` answers with the
//! fake gateway's `ws://` address; interaction callbacks, follow-ups, DMs and command
//! registration are recorded) and a gateway that sends HELLO, waits for IDENTIFY, sends READY,
//! answers heartbeats, and then sends the scripted MESSAGE_CREATE and INTERACTION_CREATE events.
//! Drives the real serenity client in-process, or the real `lensbot discord` binary through
//! `DISCORD_API_URL`.
//!
//! It also plays Discord's side of the interactions endpoint: it holds an Ed25519 key pair
//! made at start ([`FakeDiscord::public_key`] is what the bot is configured with), signs the
//! interactions it posts to the endpoint as Discord does ([`FakeDiscord::post`]), or signs
//! them wrongly or not at all ([`FakeDiscord::post_badly`]). A token posted over HTTP takes
//! follow-ups only once its HTTP answer has come back, as Discord refuses follow-ups for an
//! interaction not yet acknowledged (404, "Unknown Webhook").

use futures_util::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::Message as Ws;

/// The bot's application and user id.
pub const APP_ID: u64 = 42;

/// The name of the fake's server (`GET /guilds/{id}`).
pub const SERVER_NAME: &str = "Allied Health Peers";

/// One recorded REST call.
#[derive(Clone, Debug)]
pub struct Call {
    /// HTTP method.
    pub method: String,
    /// Path, from `/api/v10`.
    pub path: String,
    /// JSON body (multipart bodies are decoded from their `payload_json` part).
    pub body: Value,
    /// The file a multipart body carried (`files[0]`), if any.
    pub file: Option<crate::helpers::Upload>,
}

#[derive(Default)]
struct State {
    calls: Vec<Call>,
    pending: Vec<Value>,
    seq: u64,
    next_id: u64,
    identified: bool,
    closed_dms: HashSet<u64>,
    slow_callbacks: Duration,
    last: Option<Value>,
    admins: HashSet<u64>,
    roles: std::collections::HashMap<u64, Vec<u64>>,
    /// Tokens of interactions posted over HTTP whose answer has not come back yet.
    unanswered: HashSet<String>,
}

/// The endpoint's answer to an interaction the fake posted.
#[derive(Debug, Clone)]
pub struct Answered {
    /// HTTP status.
    pub status: u16,
    /// The body as JSON (`Null` when it is not JSON).
    pub body: Value,
    /// From sending the request to having the whole answer.
    pub took: Duration,
}

/// How [`FakeDiscord::post_badly`] gets the signature wrong.
#[derive(Debug, Clone, Copy)]
pub enum BadSignature {
    /// No `X-Signature-Ed25519` header.
    Missing,
    /// A signature by another key.
    OtherKey,
    /// A true signature, over a body changed after signing.
    Tampered,
}

/// The fake.
#[derive(Clone)]
pub struct FakeDiscord {
    /// `http://127.0.0.1:PORT`, for `DISCORD_API_URL`.
    pub rest_url: String,
    /// `ws://127.0.0.1:PORT`.
    pub ws_url: String,
    state: Arc<Mutex<State>>,
    notify: Arc<Notify>,
    key: Arc<ed25519_dalek::SigningKey>,
}

/// A fresh signing key (its seed from the standard library's random hasher keys).
fn signing_key() -> ed25519_dalek::SigningKey {
    use std::hash::{BuildHasher, Hasher};
    let mut seed = [0u8; 32];
    for chunk in seed.chunks_mut(8) {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(
            std::time::UNIX_EPOCH
                .elapsed()
                .unwrap_or_default()
                .as_nanos(),
        );
        chunk.copy_from_slice(&h.finish().to_le_bytes());
    }
    ed25519_dalek::SigningKey::from_bytes(&seed)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn user(id: u64) -> Value {
    json!({"id": id.to_string(), "username": format!("user{id}"), "discriminator": "0", "global_name": format!("User {id}"), "avatar": null})
}

fn member(id: u64, admin: bool, roles: &[u64]) -> Value {
    // 32 is MANAGE_GUILD.
    let permissions = if admin { "32" } else { "0" };
    let roles: Vec<String> = roles.iter().map(|r| r.to_string()).collect();
    json!({"user": user(id), "roles": roles, "joined_at": "2026-01-01T00:00:00.000000+00:00", "deaf": false, "mute": false, "flags": 0, "permissions": permissions})
}

/// A message object as Discord returns it.
pub fn message(id: u64, channel: u64, author: Value, content: &str, components: Value) -> Value {
    // Discord always answers with an array, empty when the message has no components.
    let components = if components.is_null() {
        json!([])
    } else {
        components
    };
    json!({"id": id.to_string(), "channel_id": channel.to_string(), "author": author, "content": content,
        "timestamp": "2026-01-05T09:00:00.000000+00:00", "edited_timestamp": null, "tts": false,
        "mention_everyone": false, "mentions": [], "mention_roles": [], "attachments": [], "embeds": [],
        "pinned": false, "type": 0, "components": components})
}

fn bot_user() -> Value {
    json!({"id": APP_ID.to_string(), "username": "lensbot", "discriminator": "0", "avatar": null, "bot": true})
}

impl FakeDiscord {
    /// Starts both servers on free ports.
    pub async fn start() -> FakeDiscord {
        let rest = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let ws = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let fake = FakeDiscord {
            rest_url: format!("http://{}", rest.local_addr().unwrap()),
            ws_url: format!("ws://{}", ws.local_addr().unwrap()),
            state: Arc::new(Mutex::new(State {
                // Ids are unique across fakes, as Discord's snowflakes are across restarts.
                next_id: std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_micros() as u64)
                    .unwrap_or(9000),
                ..State::default()
            })),
            notify: Arc::new(Notify::new()),
            key: Arc::new(signing_key()),
        };
        let f = fake.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = rest.accept().await else {
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
        let f = fake.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = ws.accept().await else {
                    return;
                };
                let f = f.clone();
                tokio::spawn(async move { f.gateway(stream).await });
            }
        });
        fake
    }

    async fn gateway(&self, stream: tokio::net::TcpStream) {
        let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
            return;
        };
        let hello = json!({"op": 10, "d": {"heartbeat_interval": 41250}});
        if ws.send(Ws::Text(hello.to_string())).await.is_err() {
            return;
        }
        loop {
            // Register for wake-ups before looking, so a push in between is not missed.
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            // Send whatever is queued once the client has identified.
            let out: Vec<Value> = {
                let mut st = self.state.lock().unwrap();
                if st.identified {
                    let pending: Vec<Value> = st.pending.drain(..).collect();
                    pending
                        .into_iter()
                        .map(|ev| {
                            st.seq += 1;
                            let mut ev = ev;
                            ev["s"] = json!(st.seq);
                            ev
                        })
                        .collect()
                } else {
                    Vec::new()
                }
            };
            for ev in out {
                if ws.send(Ws::Text(ev.to_string())).await.is_err() {
                    return;
                }
            }
            tokio::select! {
                msg = ws.next() => {
                    let Some(Ok(msg)) = msg else { return };
                    let text = match msg {
                        Ws::Text(t) => t,
                        Ws::Close(_) => return,
                        _ => continue,
                    };
                    let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                    match v["op"].as_u64() {
                        Some(1) => {
                            let _ = ws.send(Ws::Text(json!({"op": 11}).to_string())).await;
                        }
                        Some(2) => {
                            let ready = {
                                let mut st = self.state.lock().unwrap();
                                st.identified = true;
                                st.seq += 1;
                                json!({"op": 0, "t": "READY", "s": st.seq, "d": {"v": 10, "user": bot_user(), "guilds": [],
                                    "session_id": "session-1", "resume_gateway_url": self.ws_url, "shard": [0, 1],
                                    "application": {"id": APP_ID.to_string(), "flags": 0}}})
                            };
                            let _ = ws.send(Ws::Text(ready.to_string())).await;
                        }
                        _ => {}
                    }
                }
                _ = notified => {}
            }
        }
    }

    async fn serve(&self, req: Request<hyper::body::Incoming>) -> Response<Full<Bytes>> {
        let method = req.method().to_string();
        let path = req.uri().path().trim_start_matches("/api/v10").to_string();
        let content_type = req
            .headers()
            .get("content-type")
            .and_then(|h| h.to_str().ok())
            .unwrap_or("")
            .to_string();
        let bytes = req
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let (body, file) = if content_type.starts_with("multipart/") {
            (
                payload_json(&bytes),
                crate::helpers::read_multipart(&content_type, &bytes).1,
            )
        } else {
            (serde_json::from_slice(&bytes).unwrap_or(Value::Null), None)
        };
        let delay = {
            let mut st = self.state.lock().unwrap();
            st.calls.push(Call {
                method: method.clone(),
                path: path.clone(),
                body: body.clone(),
                file,
            });
            if path.ends_with("/callback") {
                st.slow_callbacks
            } else {
                Duration::ZERO
            }
        };
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let (status, reply) = self.answer(&method, &path, &body);
        let builder = Response::builder()
            .status(status)
            .header("content-type", "application/json");
        match reply {
            Some(v) => builder.body(Full::new(Bytes::from(v.to_string()))).unwrap(),
            None => builder.body(Full::new(Bytes::new())).unwrap(),
        }
    }

    fn answer(&self, method: &str, path: &str, body: &Value) -> (u16, Option<Value>) {
        let mut st = self.state.lock().unwrap();
        st.next_id += 1;
        let id = st.next_id;
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        match (method, parts.as_slice()) {
            ("GET", ["gateway"]) => (200, Some(json!({"url": self.ws_url}))),
            ("GET", ["gateway", "bot"]) => (
                200,
                Some(json!({"url": self.ws_url, "shards": 1,
                "session_start_limit": {"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1}})),
            ),
            ("GET", ["users", "@me"]) => (200, Some(bot_user())),
            // The fields the bot reads of a server; Discord sends many more.
            ("GET", ["guilds", g]) => (
                200,
                Some(json!({"id": g, "name": SERVER_NAME, "icon": null, "owner_id": "1"})),
            ),
            ("GET", ["oauth2", "applications", "@me"]) => (
                200,
                Some(
                    json!({"id": APP_ID.to_string(), "name": "lensbot", "icon": null,
                    "description": "", "bot_public": false, "bot_require_code_grant": false,
                    "verify_key": self.public_key(), "flags": 0}),
                ),
            ),
            ("PUT", ["applications", _, "commands"])
            | ("PUT", ["applications", _, "guilds", _, "commands"]) => (200, Some(json!([]))),
            ("POST", ["interactions", _, _, "callback"]) => (204, None),
            ("POST", ["webhooks", _, token]) | ("PATCH", ["webhooks", _, token, "messages", _])
                if st.unanswered.contains(*token) =>
            {
                (
                    404,
                    Some(json!({"code": 10015, "message": "Unknown Webhook"})),
                )
            }
            ("POST", ["webhooks", _, _]) | ("PATCH", ["webhooks", _, _, "messages", _]) => {
                let content = body["content"].as_str().unwrap_or("");
                (
                    200,
                    Some(message(
                        id,
                        600,
                        bot_user(),
                        content,
                        body["components"].clone(),
                    )),
                )
            }
            ("POST", ["users", "@me", "channels"]) => {
                let recipient: u64 = body["recipient_id"]
                    .as_str()
                    .and_then(|s| s.parse().ok())
                    .or(body["recipient_id"].as_u64())
                    .unwrap_or(0);
                (
                    200,
                    Some(
                        json!({"id": (recipient + 1_000_000).to_string(), "type": 1, "recipients": [user(recipient)], "last_message_id": null}),
                    ),
                )
            }
            ("POST", ["channels", channel, "messages"]) => {
                let channel: u64 = channel.parse().unwrap_or(0);
                if st.closed_dms.contains(&(channel.saturating_sub(1_000_000)))
                    || st.closed_dms.contains(&channel)
                {
                    return (
                        403,
                        Some(
                            json!({"code": 50007, "message": "Cannot send messages to this user"}),
                        ),
                    );
                }
                let content = body["content"].as_str().unwrap_or("");
                (
                    200,
                    Some(message(
                        id,
                        channel,
                        bot_user(),
                        content,
                        body["components"].clone(),
                    )),
                )
            }
            _ => (
                404,
                Some(json!({"code": 0, "message": format!("404: Not Found ({method} {path})")})),
            ),
        }
    }

    fn dispatch(&self, t: &str, d: Value) {
        let ev = json!({"op": 0, "t": t, "d": d});
        let mut st = self.state.lock().unwrap();
        st.last = Some(ev.clone());
        st.pending.push(ev);
        drop(st);
        self.notify.notify_waiters();
    }

    fn next_id(&self) -> u64 {
        let mut st = self.state.lock().unwrap();
        st.next_id += 1;
        st.next_id
    }

    fn interaction(
        &self,
        kind: u8,
        user_id: u64,
        guild: Option<u64>,
        data: Value,
        message: Option<Value>,
    ) -> (u64, String) {
        let (d, id, token) = self.interaction_payload(kind, user_id, guild, data, message);
        self.dispatch("INTERACTION_CREATE", d);
        (id, token)
    }

    /// An interaction as Discord sends it (over the gateway or to the endpoint), with its id
    /// and token.
    fn interaction_payload(
        &self,
        kind: u8,
        user_id: u64,
        guild: Option<u64>,
        data: Value,
        message: Option<Value>,
    ) -> (Value, u64, String) {
        let id = self.next_id();
        let token = format!("token-{id}");
        let mut d = json!({"id": id.to_string(), "application_id": APP_ID.to_string(), "type": kind, "data": data,
            "channel_id": "600", "token": token, "version": 1, "locale": "en-GB", "app_permissions": "0",
            "entitlements": [], "authorizing_integration_owners": {}, "attachment_size_limit": 8388608});
        match guild {
            Some(g) => {
                d["guild_id"] = json!(g.to_string());
                d["channel"] = json!({"id": "600", "type": 0, "name": "ahp-peers"});
                let (admin, roles) = {
                    let st = self.state.lock().unwrap();
                    let roles = st.roles.get(&user_id).cloned().unwrap_or_default();
                    (st.admins.contains(&user_id), roles)
                };
                d["member"] = member(user_id, admin, &roles);
                d["context"] = json!(0);
            }
            None => {
                d["user"] = user(user_id);
                d["context"] = json!(1);
                d["channel_id"] = json!((user_id + 1_000_000).to_string());
            }
        }
        if let Some(m) = message {
            d["message"] = m;
        }
        (d, id, token)
    }

    /// A slash command as it would be posted to the endpoint (see [`FakeDiscord::post`]),
    /// and its token.
    pub fn command_payload(
        &self,
        user_id: u64,
        guild: Option<u64>,
        name: &str,
        options: &[(&str, &str)],
    ) -> (Value, String) {
        let options: Vec<Value> = options
            .iter()
            .map(|(n, v)| json!({"name": n, "type": 3, "value": v}))
            .collect();
        let data = json!({"id": "1", "name": name, "type": 1, "options": options});
        let (d, _, token) = self.interaction_payload(2, user_id, guild, data, None);
        (d, token)
    }

    /// A button press as it would be posted to the endpoint, and its token.
    pub fn click_payload(
        &self,
        user_id: u64,
        guild: Option<u64>,
        custom_id: &str,
        on: &Value,
    ) -> (Value, String) {
        let data = json!({"custom_id": custom_id, "component_type": 2});
        let (d, _, token) = self.interaction_payload(3, user_id, guild, data, Some(on.clone()));
        (d, token)
    }

    /// A submitted modal as it would be posted to the endpoint, and its token.
    pub fn submit_payload(
        &self,
        user_id: u64,
        guild: Option<u64>,
        custom_id: &str,
        text: &str,
    ) -> (Value, String) {
        let data = json!({"custom_id": custom_id, "components": [{"type": 1, "components": [{"type": 4, "custom_id": "text", "value": text}]}]});
        let (d, _, token) = self.interaction_payload(5, user_id, guild, data, None);
        (d, token)
    }

    /// The public key the fake signs with, as the developer portal shows it (64 hex digits).
    pub fn public_key(&self) -> String {
        hex(self.key.verifying_key().as_bytes())
    }

    /// Posts an interaction to the endpoint at `url`, signed as Discord signs it, and reads
    /// the answer. Follow-ups under its token are refused until the answer has come back.
    pub async fn post(&self, url: &str, payload: &Value) -> Answered {
        use ed25519_dalek::Signer;
        let body = payload.to_string();
        let timestamp = std::time::UNIX_EPOCH
            .elapsed()
            .unwrap_or_default()
            .as_secs()
            .to_string();
        let signed = [timestamp.as_bytes(), body.as_bytes()].concat();
        let signature = hex(&self.key.sign(&signed).to_bytes());
        let token = payload["token"].as_str().map(str::to_string);
        if let Some(t) = &token {
            self.state.lock().unwrap().unanswered.insert(t.clone());
        }
        // Discord takes follow-ups from the moment the answer reaches it.
        let answered = || {
            if let Some(t) = &token {
                self.state.lock().unwrap().unanswered.remove(t);
            }
        };
        post_raw(
            url,
            body.into_bytes(),
            Some(signature),
            &timestamp,
            answered,
        )
        .await
    }

    /// Posts an interaction with a missing or false signature.
    pub async fn post_badly(&self, url: &str, payload: &Value, how: BadSignature) -> Answered {
        use ed25519_dalek::Signer;
        let body = payload.to_string();
        let timestamp = "1767600000";
        let sign = |key: &ed25519_dalek::SigningKey, body: &str| {
            hex(&key
                .sign(&[timestamp.as_bytes(), body.as_bytes()].concat())
                .to_bytes())
        };
        let (body, signature) = match how {
            BadSignature::Missing => (body, None),
            BadSignature::OtherKey => {
                let sig = sign(&signing_key(), &body);
                (body, Some(sig))
            }
            BadSignature::Tampered => {
                let sig = sign(&self.key, &body);
                (body.replacen('{', "{\"x\":1,", 1), Some(sig))
            }
        };
        post_raw(url, body.into_bytes(), signature, timestamp, || {}).await
    }

    /// A slash command; returns the interaction token its follow-ups are sent under.
    pub fn command(
        &self,
        user_id: u64,
        guild: Option<u64>,
        name: &str,
        options: &[(&str, &str)],
    ) -> String {
        let options: Vec<Value> = options
            .iter()
            .map(|(n, v)| json!({"name": n, "type": 3, "value": v}))
            .collect();
        self.interaction(
            2,
            user_id,
            guild,
            json!({"id": "1", "name": name, "type": 1, "options": options}),
            None,
        )
        .1
    }

    /// A slash command with a subcommand and typed options, each `(name, type, value)` as
    /// Discord sends them (3 text, 4 integer, 5 boolean, 8 role); returns the token.
    pub fn subcommand(
        &self,
        user_id: u64,
        guild: Option<u64>,
        name: &str,
        sub: &str,
        options: &[(&str, u8, Value)],
    ) -> String {
        let options: Vec<Value> = options
            .iter()
            .map(|(n, t, v)| json!({"name": n, "type": t, "value": v}))
            .collect();
        let sub = json!({"name": sub, "type": 1, "options": options});
        self.interaction(
            2,
            user_id,
            guild,
            json!({"id": "1", "name": name, "type": 1, "options": [sub]}),
            None,
        )
        .1
    }

    /// An autocomplete request (type 4) while `option` of `name`'s subcommand `sub` (or of the
    /// command itself, when `sub` is empty) is typed, with `typed` so far; returns the token.
    pub fn autocomplete(
        &self,
        user_id: u64,
        guild: Option<u64>,
        name: &str,
        sub: &str,
        option: &str,
        typed: &str,
    ) -> String {
        let focused = json!({"name": option, "type": 3, "value": typed, "focused": true});
        let options = if sub.is_empty() {
            json!([focused])
        } else {
            json!([{"name": sub, "type": 1, "options": [focused]}])
        };
        self.interaction(
            4,
            user_id,
            guild,
            json!({"id": "1", "name": name, "type": 1, "options": options}),
            None,
        )
        .1
    }

    /// The first response to the interaction with this token (the callback's body).
    pub fn callback(&self, token: &str) -> Option<Value> {
        self.calls()
            .into_iter()
            .find(|c| c.path.ends_with("/callback") && c.path.contains(&format!("/{token}/")))
            .map(|c| c.body)
    }

    /// A button click on a message (a follow-up the bot sent, as the fake returned it).
    pub fn click(&self, user_id: u64, guild: Option<u64>, custom_id: &str, on: &Value) -> String {
        let data = json!({"custom_id": custom_id, "component_type": 2});
        self.interaction(3, user_id, guild, data, Some(on.clone()))
            .1
    }

    /// A submitted modal.
    pub fn submit(&self, user_id: u64, guild: Option<u64>, custom_id: &str, text: &str) -> String {
        let data = json!({"custom_id": custom_id, "components": [{"type": 1, "components": [{"type": 4, "custom_id": "text", "value": text}]}]});
        self.interaction(5, user_id, guild, data, None).1
    }

    /// A direct message from a person.
    pub fn dm(&self, user_id: u64, text: &str) -> u64 {
        let id = self.next_id();
        let m = message(id, user_id + 1_000_000, user(user_id), text, json!([]));
        self.dispatch("MESSAGE_CREATE", m);
        id
    }

    /// This person has Manage Server in the fake's server.
    pub fn make_admin(&self, user_id: u64) {
        self.state.lock().unwrap().admins.insert(user_id);
    }

    /// Gives this person a role in the fake's server.
    pub fn give_role(&self, user_id: u64, role: u64) {
        self.state
            .lock()
            .unwrap()
            .roles
            .entry(user_id)
            .or_default()
            .push(role);
    }

    /// Messages the bot posted in a server channel, in order.
    pub fn posts_in(&self, channel: u64) -> Vec<Value> {
        self.calls()
            .into_iter()
            .filter(|c| c.method == "POST" && c.path == format!("/channels/{channel}/messages"))
            .map(|c| c.body)
            .collect()
    }

    /// The last event once more (Discord redelivering it after a resume).
    pub fn repeat_last(&self) {
        let mut st = self.state.lock().unwrap();
        if let Some(last) = st.last.clone() {
            st.pending.push(last);
        }
        drop(st);
        self.notify.notify_waiters();
    }

    /// DMs to this person fail with 50007, as when their DMs are closed.
    pub fn close_dms(&self, user_id: u64) {
        self.state.lock().unwrap().closed_dms.insert(user_id);
    }

    /// Interaction callbacks take this long to answer.
    pub fn slow_callbacks(&self, d: Duration) {
        self.state.lock().unwrap().slow_callbacks = d;
    }

    /// Every REST call so far.
    pub fn calls(&self) -> Vec<Call> {
        self.state.lock().unwrap().calls.clone()
    }

    /// Follow-up messages sent under an interaction token, in order.
    pub fn followups(&self, token: &str) -> Vec<Value> {
        self.calls()
            .into_iter()
            .filter(|c| {
                c.method == "POST" && c.path.starts_with("/webhooks/") && c.path.ends_with(token)
            })
            .map(|c| c.body)
            .collect()
    }

    /// Edits of the message an interaction came from (`PATCH …/{token}/messages/@original`),
    /// in order.
    pub fn edits(&self, token: &str) -> Vec<Value> {
        let suffix = format!("/{token}/messages/@original");
        self.calls()
            .into_iter()
            .filter(|c| c.method == "PATCH" && c.path.ends_with(&suffix))
            .map(|c| c.body)
            .collect()
    }

    /// Everything said under an interaction token: edits of its message, then follow-ups.
    pub fn replies(&self, token: &str) -> Vec<Value> {
        let mut out = self.edits(token);
        out.extend(self.followups(token));
        out
    }

    /// New messages the bot has created anywhere (follow-ups and channel or DM posts; edits
    /// change a message, they make none).
    pub fn messages_created(&self) -> usize {
        self.calls()
            .into_iter()
            .filter(|c| {
                c.method == "POST"
                    && (c.path.starts_with("/webhooks/")
                        || (c.path.starts_with("/channels/") && c.path.ends_with("/messages")))
            })
            .count()
    }

    /// Messages sent to a person's DM channel.
    pub fn dms_to(&self, user_id: u64) -> Vec<Value> {
        let path = format!("/channels/{}/messages", user_id + 1_000_000);
        self.calls()
            .into_iter()
            .filter(|c| c.method == "POST" && c.path == path)
            .map(|c| c.body)
            .collect()
    }

    /// Waits for a condition on the recorded calls.
    pub async fn wait<T>(&self, what: &str, mut f: impl FnMut(&FakeDiscord) -> Option<T>) -> T {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(v) = f(self) {
                return v;
            }
            if Instant::now() > deadline {
                let calls: Vec<String> = self
                    .calls()
                    .iter()
                    .map(|c| format!("{} {} {}", c.method, c.path, c.body))
                    .collect();
                panic!("timed out waiting for {what}; calls:\n{}", calls.join("\n"));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits for a reply under `token` (a follow-up, or an edit of the message a button was
    /// pressed on) whose content contains `needle`.
    pub async fn wait_followup(&self, token: &str, needle: &str) -> Value {
        let token = token.to_string();
        let needle = needle.to_string();
        self.wait(&format!("a reply containing {needle:?}"), move |f| {
            f.replies(&token)
                .into_iter()
                .find(|b| b["content"].as_str().unwrap_or("").contains(&needle))
        })
        .await
    }
}

/// Posts a body to the endpoint with the signature headers given, and reads the answer.
async fn post_raw(
    url: &str,
    body: Vec<u8>,
    signature: Option<String>,
    timestamp: &str,
    answered: impl FnOnce(),
) -> Answered {
    let uri: hyper::Uri = url.parse().expect("an http:// URL");
    let authority = uri.authority().expect("a host and port").to_string();
    let started = Instant::now();
    let stream = tokio::net::TcpStream::connect(&authority).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    let mut req = Request::post(uri.path())
        .header(hyper::header::HOST, authority)
        .header("content-type", "application/json")
        .header("x-signature-timestamp", timestamp);
    if let Some(s) = signature {
        req = req.header("x-signature-ed25519", s);
    }
    let resp = sender
        .send_request(req.body(Full::new(Bytes::from(body))).unwrap())
        .await
        .unwrap();
    answered();
    let status = resp.status().as_u16();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    Answered {
        status,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        took: started.elapsed(),
    }
}

/// The `payload_json` part of a multipart body.
fn payload_json(bytes: &[u8]) -> Value {
    let text = String::from_utf8_lossy(bytes);
    if let Some(i) = text.find("name=\"payload_json\"") {
        let rest = &text[i..];
        if let Some(start) = rest.find("\r\n\r\n") {
            let body = &rest[start + 4..];
            let end = body.find("\r\n--").unwrap_or(body.len());
            return serde_json::from_str(&body[..end]).unwrap_or(Value::Null);
        }
    }
    Value::Null
}

/// The custom id of the button with this label in a sent message's components.
pub fn button(message: &Value, label: &str) -> String {
    for row in message["components"].as_array().into_iter().flatten() {
        for b in row["components"].as_array().into_iter().flatten() {
            if b["label"] == label {
                return b["custom_id"].as_str().unwrap_or_default().to_string();
            }
        }
    }
    panic!("no button {label:?} in {message}");
}

/// The sent message as the gateway would show it on a click (author the bot).
pub fn as_message(sent: &Value) -> Value {
    message(
        1,
        600,
        bot_user(),
        sent["content"].as_str().unwrap_or(""),
        sent["components"].clone(),
    )
}
