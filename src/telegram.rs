//! The Telegram adapter: parse and render only; the path every event takes is the crate's
//! (inbox → a queue per person → one atomic turn → outbox → sender).
//!
//! - **Intake.** By polling, or through a webhook; both take updates in by one function
//!   (`take_in`): a copy of an update already appended (Telegram re-serving what was not
//!   confirmed, or a replay) is recognised exactly by the store's ledger of applied events
//!   (or, while the first is still waiting, by its turn, which comes after it in the same
//!   queue); an update that cannot be read is skipped by id and logged; the rest are appended
//!   to the store's inbox and flushed, and only then confirmed to Telegram.
//!   - *Polling* (the default, `lensbot telegram`, `serve`): our own long-polling loop
//!     ([`api`]); a batch is confirmed by the next `getUpdates` offset.
//!   - *Webhook* (`serve` with `telegram_webhook`, [`webhook`]): Telegram POSTs each update;
//!     the secret header is checked in constant time, and the answer is 200 only after the
//!     flush (503 while the store fails or the process stops, so Telegram sends it again).
//!     The process then never polls (Telegram refuses `getUpdates` while a webhook is set),
//!     and never registers or removes the webhook itself: that is a deploy step
//!     (`lensbot telegram set-webhook URL`, `delete-webhook`, `webhook-info`), so one process
//!     stopping does not take it from the others behind the same load balancer. TLS ends at
//!     the reverse proxy in front.
//! - **Queues.** Each update goes to its sender's queue ([`crate::queue`]): one person's
//!   updates in order, different people side by side, so a person sending forty messages at
//!   once delays nobody else. At start the inbox's leftovers are queued first.
//! - **Turns.** Private chats carry the whole conversation through the session, which writes
//!   the reply into the outbox with the new state. Groups answer only what is public by nature,
//!   briefly and threaded to the person who asked, and deep-link anything else (a link only
//!   navigates: `engine::DEEP_LINKS`); what is said there is decided in [`groups`], the hello
//!   when the bot is added to a group (`my_chat_member`) included; group
//!   `/challenge` commands change the group's record and owe the group its post in the same
//!   write. A challenge request for a group whose challenge the person is not in (the join
//!   link, above all) goes to the session only once `getChatMember` confirms that they are in
//!   the group, asked inside their queued turn.
//! - **Sending.** `Adapter` is the [`Deliver`] the [`crate::sender`] drains the outbox
//!   through: HTML rendered by [`render`], the rate limits of [`limits`] (per chat, per group,
//!   overall), a 429's `retry_after` waited out, anything transient retried by the sender.
//! - **Several processes over one database** (PostgreSQL): every process takes the webhook;
//!   the one holding the Telegram role ([`crate::roles`], an election in the database) polls
//!   (when there is no webhook), runs the scheduler and sends, so Telegram's limits, which are
//!   per bot, are kept in one place; another takes the role within seconds when it dies. A
//!   person's updates taken in by different processes keep their order: before handling one,
//!   a process handles the person's earlier updates still in the shared inbox
//!   ([`crate::store::Store::inbox_before`]; their own process then finds them applied), and
//!   each turn holds the person across processes ([`crate::store::Store::hold_turn`]).
//!
//! The token is never printed: the API client ([`api`]) describes errors by kind only, the bot
//! (whose `Debug` would show it) is never formatted, and [`Config`]'s `Debug` redacts it.
//! Reflections are never logged; nothing personal is sent to a group.

pub mod api;
pub mod groups;
pub mod limits;
pub mod render;
pub mod webhook;

use crate::challenge::{
    self,
    group::{Actor, Group},
};
use crate::engine::{self, Button, COMMANDS, Input, Message};
use crate::inbox::InboxEntry;
use crate::queue::Queues;
use crate::sender::{self, Deliver, DeliveryError, DeliveryFuture};
use crate::session::{Event, Session};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use teloxide_core::requests::Requester;
use teloxide_core::types::{
    CallbackQuery, ChatMemberUpdated, Message as TgMessage, Update, UpdateKind,
};
use teloxide_core::{Bot, RequestError};

/// Telegram's own API address.
pub const DEFAULT_API_URL: &str = "https://api.telegram.org";

/// The inbox source name for Telegram updates.
pub const SOURCE: &str = "telegram";

/// How many times a message refused with a 429 is tried again at once (after its
/// `retry_after`) before the sender's back-off takes over.
const RETRIES: usize = 3;

/// How long a shutdown waits for the turns in hand (the whole stop stays under ten seconds).
const FINISH_TURNS: Duration = Duration::from_secs(4);

/// How to reach Telegram.
#[derive(Clone)]
pub struct Config {
    /// The bot token from @BotFather.
    pub token: String,
    /// The API base (a local fake in tests).
    pub api_url: String,
    /// Apply Telegram's rate limits (on, except for benchmarks).
    pub throttle: bool,
    /// Long-polling timeout in seconds.
    pub poll_timeout: u32,
    /// Take updates through this webhook instead of polling (`None`: poll).
    pub webhook: Option<webhook::Config>,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("token", &"<redacted>")
            .field("api_url", &self.api_url)
            .field("throttle", &self.throttle)
            .field("webhook", &self.webhook)
            .finish()
    }
}

/// What can stop the adapter, in words a person running it can act on.
#[derive(Debug, thiserror::Error)]
pub enum TelegramError {
    /// No token was given.
    #[error(
        "no Telegram token: set TELEGRAM_BOT_TOKEN, or pass --token-file FILE (create the bot with @BotFather)"
    )]
    NoToken,
    /// The API address is not a URL.
    #[error("TELEGRAM_API_URL `{0}` is not a valid URL")]
    BadUrl(String),
    /// `getMe` failed: wrong token, or Telegram unreachable.
    #[error("Telegram did not accept the bot (getMe failed: {0}); check the token and the network")]
    GetMe(String),
    /// The webhook's address cannot be listened on.
    #[error(
        "cannot listen for the Telegram webhook on {0}: {1}; set telegram_webhook (LENSBOT_TELEGRAM_WEBHOOK) to another address"
    )]
    Listen(std::net::SocketAddr, String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// The process holding the Telegram role stopped with an error.
    #[error("{0}")]
    Role(String),
}

/// A user's store key on Telegram.
pub fn user_key(id: u64) -> String {
    format!("telegram:{id}")
}

/// Builds teloxide's client (for the calls off the hot path: `getMe`,
/// `getChatMember`, `answerCallbackQuery`, `editMessageReplyMarkup`).
fn bot(config: &Config) -> Result<Bot, TelegramError> {
    let url = reqwest::Url::parse(&config.api_url)
        .map_err(|_| TelegramError::BadUrl(config.api_url.clone()))?;
    Ok(Bot::new(&config.token).set_api_url(url))
}

/// Runs the bot until `shutdown` resolves: start-up checks, command registration, the inbox's
/// leftovers, polling (or the webhook, when `config.webhook` is set: no polling then), the
/// scheduler and the sender. On shutdown it stops polling (or answers the webhook 503),
/// confirms to Telegram what the inbox holds, lets the turns in hand finish (a few seconds at
/// most; the rest stay in the inbox), leaves unsent messages in the outbox and flushes the
/// store.
pub async fn run(
    session: Arc<Session>,
    config: Config,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), TelegramError> {
    let bot = bot(&config)?;
    let api = api::Api::new(&config.api_url, &config.token);
    tokio::pin!(shutdown);
    // A stop while Telegram does not answer is a stop, not a wait for the request's timeout.
    let me = tokio::select! {
        me = bot.get_me() => me.map_err(|e| TelegramError::GetMe(describe(&e)))?,
        _ = &mut shutdown => return Ok(()),
    };
    let username = me.username.clone().unwrap_or_default();
    // One list per scope: `/forgetme` and the other personal commands only in private chats.
    for body in groups::command_scopes(session.catalog()) {
        if let Err(e) = api
            .call("setMyCommands", &body, Duration::from_secs(10))
            .await
        {
            tracing::warn!(
                scope = %body["scope"]["type"],
                "could not register a command list with Telegram: {e:?}"
            );
        }
    }
    tracing::info!("connected to Telegram as @{username}");
    // Kept for the deep link shown with a `/link` code made on another platform.
    let known = session
        .setting(crate::session::link::TELEGRAM_USERNAME)
        .await
        .ok()
        .flatten();
    if !username.is_empty() && known.as_deref() != Some(username.as_str()) {
        let saved = session
            .set_setting(crate::session::link::TELEGRAM_USERNAME, &username)
            .await;
        if let Err(e) = saved {
            tracing::warn!("could not keep the bot's username for link codes: {e}");
        }
    }

    let adapter = Arc::new(Adapter {
        bot: bot.clone(),
        api: api.clone(),
        limiter: config.throttle.then(|| Arc::new(limits::Limiter::new())),
        session: session.clone(),
        username,
    });
    // The webhook's address is taken before anything starts, so a mistake in it stops the
    // start with a clear message.
    let listener = match &config.webhook {
        Some(w) => {
            let l = tokio::net::TcpListener::bind(w.addr)
                .await
                .map_err(|e| TelegramError::Listen(w.addr, e.to_string()))?;
            tracing::info!(addr = %w.addr, path = %w.path, "taking Telegram updates through the webhook (not polling)");
            // Judged by its connection, not by polls: it is there while it listens.
            session.health().set_connected("telegram", true);
            Some((l, w.clone()))
        }
        None => None,
    };
    let handler = adapter.clone();
    let queues: Arc<Queues<InboxEntry>> = Queues::new(Arc::new(move |e: InboxEntry| {
        let a = handler.clone();
        Box::pin(async move { a.handle(e).await })
    }));
    // What was acknowledged but not handled before the last stop comes first.
    let (_, backlog) = session.inbox_backlog(SOURCE).await?;
    for e in backlog {
        queues.push(&e.queue.clone(), e);
    }

    // The role (see `crate::roles`): only the process holding it polls (Telegram allows one
    // poller), runs the scheduler and sends (Telegram's limits are per bot). Every process
    // takes the webhook. Over sled this process holds it at once.
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let wait = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|v| *v).await;
    };
    let polling = listener.is_none();
    let poll_timeout = config.poll_timeout;
    let led = {
        let (session, api, adapter, queues) = (
            session.clone(),
            api.clone(),
            adapter.clone(),
            queues.clone(),
        );
        move |until: crate::roles::Until| {
            let (session, api, adapter, queues) = (
                session.clone(),
                api.clone(),
                adapter.clone(),
                queues.clone(),
            );
            async move {
                let (done, finished) = tokio::sync::watch::channel(false);
                let wait = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
                    let _ = rx.wait_for(|v| *v).await;
                };
                let scheduler = tokio::spawn(crate::scheduler::run(
                    session.clone(),
                    Arc::new(|to: &str| to.starts_with("telegram:")),
                    wait(finished.clone()),
                ));
                let sending = tokio::spawn(sender::run(
                    session.clone(),
                    adapter.clone(),
                    wait(finished.clone()),
                ));
                if polling {
                    let mut until = until;
                    let offset = poll(
                        &session,
                        &api,
                        &adapter,
                        &queues,
                        poll_timeout,
                        until.as_mut(),
                    )
                    .await;
                    // Everything appended is durable: confirm it, so Telegram does not send
                    // it again (to this process or the one taking over).
                    if offset > 0 {
                        let _ = tokio::time::timeout(
                            Duration::from_secs(2),
                            api.get_updates(offset, 0),
                        )
                        .await;
                    }
                    // The turns in hand finish before the scheduler and sender stop.
                    let _ = tokio::time::timeout(FINISH_TURNS, queues.idle()).await;
                } else {
                    until.await;
                }
                let _ = done.send(true);
                let _ = scheduler.await;
                let _ = sending.await;
                Ok::<(), String>(())
            }
        }
    };
    let elected =
        crate::roles::while_elected(session.store().clone(), "telegram", stopping.clone(), led);
    tokio::pin!(elected);
    let ended = match listener {
        // Updates come through the webhook when one is configured, else by polling; never
        // both (Telegram refuses `getUpdates` while a webhook is set). Either way they go
        // through `take_in`: the ledger, the inbox, flushed, then their queues.
        Some((listener, w)) => {
            let intake = webhook_intake(session.clone(), adapter.clone(), queues.clone());
            let serving = webhook::serve(listener, w, intake, wait(stopping.clone()));
            tokio::pin!(serving);
            tokio::select! {
                r = &mut elected => Some(r),
                _ = &mut shutdown => None,
                _ = &mut serving => None,
            }
        }
        None => tokio::select! {
            r = &mut elected => Some(r),
            _ = &mut shutdown => None,
        },
    };
    let _ = stop.send(true);
    let ended = match ended {
        Some(r) => r,
        None => elected.await,
    };
    queues.close();
    if tokio::time::timeout(FINISH_TURNS, queues.idle())
        .await
        .is_err()
    {
        tracing::warn!("turns still in hand at shutdown stay in the inbox for the next start");
    }
    ended.map_err(TelegramError::Role)?;
    session.flush().await?;
    Ok(())
}

/// Polls Telegram (`getUpdates`) until `shutdown` resolves, taking each batch in through
/// [`take_in`] and confirming it by the next offset only once it is durable; returns the
/// offset reached (what the last poll at shutdown confirms).
async fn poll<S: Future<Output = ()> + ?Sized>(
    session: &Arc<Session>,
    api: &api::Api,
    adapter: &Arc<Adapter>,
    queues: &Arc<Queues<InboxEntry>>,
    poll_timeout: u32,
    mut shutdown: std::pin::Pin<&mut S>,
) -> u64 {
    let mut backoff = Duration::from_millis(500);
    // The offset lives in memory, as in every Telegram client: 0 at start asks for everything
    // not yet confirmed. (Persisting it would be wrong: after a week without updates Telegram
    // numbers new ones afresh, possibly below it.)
    let mut offset: u64 = 0;
    loop {
        let poll = api.get_updates(offset, poll_timeout);
        let polled = tokio::select! {
            _ = &mut shutdown => break,
            r = poll => r,
        };
        match polled {
            Ok(updates) => {
                session.health().platform_ok("telegram");
                backoff = Duration::from_millis(500);
                let Some(top) = updates.iter().map(api::Polled::id).max() else {
                    continue;
                };
                // Not confirmed (the offset stays) when the inbox cannot keep them: Telegram
                // serves them again, after a restart if the store has failed. Should only the
                // flush fail, the same updates are served again and the ledger recognises the
                // ones already applied.
                let kept = take_in(session, top, updates, |e| {
                    adapter.answer_callback(&e.payload);
                    queues.push(&e.queue.clone(), e);
                })
                .await;
                if kept.is_err() {
                    tokio::time::sleep(backoff).await;
                    continue;
                }
                offset = offset.max(top + 1);
            }
            Err(e) => {
                let why = match &e {
                    api::Failure::RetryAfter(d) => {
                        backoff = *d;
                        format!("rate limited for {d:?}")
                    }
                    api::Failure::Refused(409, w) => format!(
                        "{w} (a webhook is set: serve with `telegram_webhook`, or remove it with `lensbot telegram delete-webhook`)"
                    ),
                    api::Failure::Transient(w) => w.clone(),
                    api::Failure::Unreachable(w) | api::Failure::Refused(_, w) => w.clone(),
                };
                tracing::warn!("getUpdates failed: {why}; retrying in {backoff:?}");
                tokio::select! {
                    _ = &mut shutdown => break,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(30));
            }
        }
    }
    offset
}

/// Takes updates into the inbox, the one way polling and the webhook both do it: an update
/// the ledger of applied events knows is left out (a copy of one still waiting goes to the
/// same queue behind it, and its turn finds it applied); one that cannot be read is logged by
/// id and skipped; the rest are appended to the inbox (with `high`, the source's high-water
/// mark), handed to `keep` (its queue; the turns may start while the flush runs, as nothing
/// they send goes out before their own commit), and made durable by a flush. `Ok` means every
/// update is durable or known: only then may Telegram be told (by the next offset, or a 200).
async fn take_in(
    session: &Session,
    high: u64,
    updates: Vec<api::Polled>,
    mut keep: impl FnMut(InboxEntry),
) -> Result<(), crate::store::StoreError> {
    let mut fresh = Vec::new();
    for p in updates {
        match p {
            api::Polled::Update(id, v) => match session.applied_id(&format!("tg:{id}")).await {
                Ok(true) => {}
                Ok(false) => fresh.push(inbox_entry(id, v)),
                Err(e) => {
                    tracing::error!("the ledger could not be read: {e}");
                    fresh.push(inbox_entry(id, v));
                }
            },
            api::Polled::Unreadable(id) => {
                tracing::warn!(
                    update_id = id,
                    "an update could not be read and was skipped"
                );
            }
        }
    }
    if let Err(e) = session.receive(SOURCE, high, &fresh).await {
        // An I/O error was the health state's error line already.
        if crate::health::is_fatal(&e) {
            tracing::warn!("the inbox could not be written: {e}; not confirmed");
        } else {
            tracing::error!(
                "the inbox could not be written: {e}; not confirmed, Telegram sends it again"
            );
        }
        return Err(e);
    }
    for e in fresh {
        keep(e);
    }
    if let Err(e) = session.commit().await {
        if crate::health::is_fatal(&e) {
            tracing::warn!("the inbox could not be flushed: {e}; not confirmed");
        } else {
            tracing::error!(
                "the inbox could not be flushed: {e}; not confirmed, Telegram sends it again"
            );
        }
        return Err(e);
    }
    Ok(())
}

/// The webhook's intake: one update through [`take_in`] (the same ledger, inbox, flush and
/// queues as polling), refused at once while the store is failing.
fn webhook_intake(
    session: Arc<Session>,
    adapter: Arc<Adapter>,
    queues: Arc<Queues<InboxEntry>>,
) -> webhook::Intake {
    Arc::new(move |update: api::Polled| {
        let (session, adapter, queues) = (session.clone(), adapter.clone(), queues.clone());
        Box::pin(async move {
            if session.health().is_failing() {
                return webhook::Taken::NotKept;
            }
            let id = update.id();
            let kept = take_in(&session, id, vec![update], |e| {
                adapter.answer_callback(&e.payload);
                queues.push(&e.queue.clone(), e);
            })
            .await;
            match kept {
                Ok(()) => webhook::Taken::Kept,
                Err(_) => webhook::Taken::NotKept,
            }
        })
    })
}

/// An update from its JSON. teloxide's types read a message only from text: from a
/// `serde_json::Value` the same update comes out as `UpdateKind::Error`.
pub fn read_update(payload: &serde_json::Value) -> Result<Update, serde_json::Error> {
    serde_json::from_str(&payload.to_string())
}

/// An update as an inbox entry: queued by who sent it (or the chat, when no one did).
fn inbox_entry(id: u64, payload: serde_json::Value) -> InboxEntry {
    let from = payload["message"]["from"]["id"]
        .as_i64()
        .or_else(|| payload["callback_query"]["from"]["id"].as_i64())
        .or_else(|| payload["my_chat_member"]["from"]["id"].as_i64());
    let queue = match from {
        Some(f) => format!("telegram:{f}"),
        None => format!("telegram:chat:{}", payload["message"]["chat"]["id"]),
    };
    InboxEntry {
        source: SOURCE.into(),
        seq: id,
        event: format!("tg:{id}"),
        queue,
        payload,
    }
}

/// Describes a teloxide request error without anything that could carry the token
/// (teloxide's network errors can include the request URL, which contains it).
fn describe(e: &RequestError) -> String {
    match e {
        RequestError::Api(api) => format!("Telegram said: {api}"),
        RequestError::RetryAfter(s) => format!("rate limited, retry after {}s", s.seconds()),
        RequestError::MigrateToChatId(_) => "the group was upgraded to a supergroup".into(),
        RequestError::Network(n) => {
            let kind = if n.is_timeout() {
                "timed out"
            } else if n.is_connect() {
                "could not connect"
            } else {
                "network error"
            };
            kind.to_string()
        }
        RequestError::InvalidJson { .. } => "Telegram's answer could not be read".into(),
        RequestError::Io(_) => "input/output error".into(),
    }
}

/// The adapter: parses updates into events for the session, and delivers the outbox.
struct Adapter {
    bot: Bot,
    api: api::Api,
    limiter: Option<Arc<limits::Limiter>>,
    session: Arc<Session>,
    username: String,
}

impl Adapter {
    /// Answers a callback query at once (in its own task) so the button stops spinning.
    fn answer_callback(&self, payload: &serde_json::Value) {
        let Some(id) = payload["callback_query"]["id"].as_str() else {
            return;
        };
        let bot = self.bot.clone();
        let id = teloxide_core::types::CallbackQueryId(id.to_string());
        tokio::spawn(async move {
            let _ = bot.answer_callback_query(id).await;
        });
    }

    /// Handles one inbox entry (called by its queue, in order).
    async fn handle(&self, e: InboxEntry) {
        // Over a store several processes share, this person's earlier updates another
        // process took in and has not handled yet come first (their own process then finds
        // them applied), so a person's updates keep their order whichever process took each.
        if self.session.store().shared() {
            match self
                .session
                .store()
                .inbox_before(&e.source, &e.queue, e.seq)
                .await
            {
                Ok(earlier) => {
                    for x in earlier {
                        self.handle_one(x).await;
                    }
                }
                Err(err) => tracing::warn!("the earlier updates could not be read: {err}"),
            }
        }
        self.handle_one(e).await
    }

    /// One update, through the session.
    async fn handle_one(&self, e: InboxEntry) {
        let mut ev = Event::new(&e.queue, Input::Text(String::new()));
        ev.id = Some(e.event.clone());
        ev.inbox = Some(e.key());
        let update = match read_update(&e.payload) {
            Ok(u) => u,
            Err(_) => return self.drop_event(&ev).await,
        };
        match update.kind {
            UpdateKind::Message(m) => self.on_message(m, ev).await,
            UpdateKind::CallbackQuery(q) => self.on_callback(q, ev).await,
            UpdateKind::MyChatMember(u) => self.on_my_membership(u, ev).await,
            _ => self.drop_event(&ev).await,
        }
    }

    /// An event that asks nothing of the bot: only its inbox entry goes.
    async fn drop_event(&self, ev: &Event) {
        if let Err(e) = self.session.post(ev, Vec::new()).await {
            tracing::warn!("clearing a Telegram update failed: {e}");
        }
    }

    /// The bot's own membership changed: when it has just been added to a group (or made an
    /// admin of one it was not in), it says hello there: what it does and how to start a
    /// challenge. Promotions, demotions and removals pass quietly.
    async fn on_my_membership(&self, u: ChatMemberUpdated, mut ev: Event) {
        let joined = |s: &teloxide_core::types::ChatMemberKind| s.is_present();
        let added = u.chat.is_group() || u.chat.is_supergroup();
        if !added || joined(&u.old_chat_member.kind) || !joined(&u.new_chat_member.kind) {
            return self.drop_event(&ev).await;
        }
        ev.user = user_key(u.from.id.0);
        ev.to = Some(challenge::group_key("telegram", &u.chat.id.0.to_string()));
        tracing::info!(platform = "telegram", "added to a group; saying hello");
        let hello = groups::hello(self.session.catalog());
        self.post(&ev, vec![hello]).await
    }

    async fn on_callback(&self, q: CallbackQuery, mut ev: Event) {
        let Some(msg) = q.message.as_ref() else {
            return self.drop_event(&ev).await;
        };
        if !msg.chat().is_private() {
            return self.drop_event(&ev).await; // Group messages carry no callback buttons.
        }
        let user = user_key(q.from.id.0);
        ev.user = user.clone();
        ev.name = Some(q.from.first_name.clone());
        ev.input = Input::Button(q.data.clone().unwrap_or_default());
        ev.to = Some(user);
        // Callback data can be written by a client (Telegram does not check it against the
        // message's buttons), so a challenge button is confirmed like a deep link.
        if let Some(refusal) = self.confirm_group(&mut ev, q.from.id.0).await {
            return self.post(&ev, vec![refusal]).await;
        }
        let (chat, id) = (msg.chat().id, msg.id());
        self.turn(ev).await;
        // The pressed message's buttons go, so they cannot be pressed twice.
        let bot = self.bot.clone();
        tokio::spawn(async move {
            let _ = bot.edit_message_reply_markup(chat, id).await;
        });
    }

    async fn on_message(&self, m: TgMessage, mut ev: Event) {
        let Some(from) = m.from.as_ref() else {
            return self.drop_event(&ev).await;
        };
        if from.is_bot {
            return self.drop_event(&ev).await;
        }
        let text = m.text().or(m.caption()).unwrap_or("").to_string();
        let user = user_key(from.id.0);
        ev.user = user.clone();
        if m.chat.is_private() {
            ev.to = Some(user);
            if text.is_empty() {
                let note = Message::private().para(self.session.catalog().t("telegram_text_only"));
                return self.post(&ev, vec![note]).await;
            }
            ev.name = Some(from.first_name.clone());
            if groups::command_word(&text, &self.username).as_deref() == Some(groups::INSIGHTS) {
                // A group's counts are asked for in the group (its admins are checked there).
                let note = Message::private().para(self.session.catalog().t("insights.group_only"));
                return self.post(&ev, vec![note]).await;
            }
            ev.input = Input::Text(text);
            if let Some(refusal) = self.confirm_group(&mut ev, from.id.0).await {
                return self.post(&ev, vec![refusal]).await;
            }
            return self.turn(ev).await;
        }
        // A group: only commands addressed to the bot (or to no bot in particular).
        ev.to = Some(challenge::group_key("telegram", &m.chat.id.0.to_string()));
        let Some(rest) = text.strip_prefix('/') else {
            return self.drop_event(&ev).await;
        };
        let (word, args) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
        let (cmd, target) = word.split_once('@').unwrap_or((word, ""));
        if !target.is_empty() && !target.eq_ignore_ascii_case(&self.username) {
            return self.drop_event(&ev).await;
        }
        let cmd = cmd.to_lowercase();
        let insights = cmd == groups::INSIGHTS;
        if !insights && !COMMANDS.iter().any(|(c, _)| *c == cmd) {
            return self.drop_event(&ev).await;
        }
        let args = args.trim();
        // Used from this group: counted in its community's insights (if they have a record).
        let community = challenge::group_key("telegram", &m.chat.id.0.to_string());
        self.session.note_community(&user, &community).await;
        if insights {
            return self.group_insights(&m, from, args, ev).await;
        }
        let cat = self.session.catalog();
        let asked = m.id.0;
        // A link code typed in a group has been seen by the group: it stops working at once,
        // so nobody there can join their account to its maker's.
        if cmd == "link" && !args.is_empty() {
            let burnt = self.session.burn_link_code(args).await;
            if let Err(e) = &burnt {
                tracing::warn!("could not cancel a link code typed in a group: {e}");
            }
            let key = match burnt {
                Ok(true) => "link.burnt_in_group",
                _ => "telegram_continue_privately",
            };
            let said = Message::public().para(cat_t(&self.session, key));
            return self
                .post(&ev, groups::in_reply_to(vec![said], m.id.0))
                .await;
        }
        let messages = match groups::route(&cmd, args) {
            groups::Route::Challenge => return self.group_challenge(&m, from, args, ev).await,
            groups::Route::About => vec![groups::about(cat)],
            groups::Route::Public if cmd == "help" => vec![groups::help(cat)],
            groups::Route::Public => {
                let answer = groups::lookup(
                    cat,
                    &user,
                    &format!("/{cmd} {args}"),
                    m.id.0.unsigned_abs(),
                    self.session.now(),
                );
                let payload = groups::link_payload(&cmd, args);
                if answer.is_empty() {
                    // Nothing public to say (the words matched no need): the menu, privately.
                    vec![self.continue_privately(&cmd, args)]
                } else {
                    answer
                        .into_iter()
                        .map(|a| groups::public_answer(cat, a, payload.clone()))
                        .collect()
                }
            }
            groups::Route::Privately | groups::Route::Personal => {
                vec![self.continue_privately(&cmd, args)]
            }
        };
        self.post(&ev, groups::in_reply_to(messages, asked)).await
    }

    /// A challenge request (a `/start ch_…` deep link, `/challenge join CODE`, a `ch_…` button)
    /// naming a group whose challenge the person is not in goes on to the session only once
    /// Telegram confirms that they belong to that group (`getChatMember`, asked here inside
    /// their queued turn, so their events stay in order); the confirmation travels with the
    /// event (`member_of`). Otherwise this returns the reply to send instead, and nothing else
    /// happens: a refusal that names neither the group nor its challenge (not a member, a group
    /// of another platform, Telegram refusing the question because the chat or person is
    /// unknown to it or the bot has left), or "try again in a minute" when Telegram could not
    /// be asked (a 5xx, a 429, the network).
    async fn confirm_group(&self, ev: &mut Event, person: u64) -> Option<Message> {
        let group = challenge::request(&ev.input)?.group()?.to_string();
        let already = match self.session.challenge(&group).await {
            Ok(c) => c.is_some_and(|c| c.member(&ev.user).is_some()),
            Err(_) => false,
        };
        if already {
            return None;
        }
        let cat = self.session.catalog();
        let refuse = |key: &str| Some(Message::private().para(cat.t(key)));
        let Some(chat) = group
            .strip_prefix("telegram:chat:")
            .and_then(|c| c.parse::<i64>().ok())
        else {
            tracing::info!(
                platform = "telegram",
                "a challenge request for another platform's group was refused"
            );
            return refuse("ch.members_only");
        };
        match self.api.chat_member(chat, person).await {
            Ok(api::Membership::Member) => {
                ev.member_of = Some(group);
                None
            }
            Ok(api::Membership::NotMember) => {
                tracing::info!(group = %group, "a challenge request from someone not in the group was refused");
                refuse("ch.members_only")
            }
            Err(api::Failure::Refused(code, why)) => {
                tracing::info!(group = %group, code, reason = %why, "Telegram would not say whether someone is in a group; refused");
                refuse("ch.members_only")
            }
            Err(api::Failure::Unreachable(why)) => {
                tracing::info!(group = %group, reason = %why, "Telegram would not say whether someone is in a group; refused");
                refuse("ch.members_only")
            }
            Err(api::Failure::Transient(why)) => {
                tracing::warn!(group = %group, "getChatMember failed ({why}); the person was asked to try again");
                refuse("ch.check_failed")
            }
            Err(api::Failure::RetryAfter(d)) => {
                tracing::warn!(group = %group, "getChatMember rate limited for {d:?}; the person was asked to try again");
                refuse("ch.check_failed")
            }
        }
    }

    /// `/challenge …` in a group: facilitator commands (checked against the group's admins)
    /// and the group's status; member words are pointed to the private chat.
    async fn group_challenge(
        &self,
        m: &TgMessage,
        from: &teloxide_core::types::User,
        args: &str,
        ev: Event,
    ) {
        let sub = args.split_whitespace().next().unwrap_or("").to_lowercase();
        let facilitating = matches!(
            sub.as_str(),
            "start" | "pause" | "resume" | "skip" | "end" | "stop" | "takeover"
        );
        let cat = self.session.catalog();
        if matches!(sub.as_str(), "" | "help") {
            let help = groups::challenge_help(cat);
            return self
                .post(&ev, groups::in_reply_to(vec![help], m.id.0))
                .await;
        }
        let admin = facilitating
            && match self.bot.get_chat_member(m.chat.id, from.id).await {
                Ok(member) => member.is_privileged(),
                Err(e) => {
                    tracing::warn!("could not check a group member's rights: {}", describe(&e));
                    false
                }
            };
        if facilitating && !admin {
            // Said in Telegram's terms (group admins), not Discord's roles.
            let refusal = groups::admins_only(cat, &sub);
            return self
                .post(&ev, groups::in_reply_to(vec![refusal], m.id.0))
                .await;
        }
        let group = Group {
            key: challenge::group_key("telegram", &m.chat.id.0.to_string()),
            title: m.chat.title().unwrap_or_default().to_string(),
        };
        let actor = Actor {
            user: user_key(from.id.0),
            name: from.first_name.clone(),
            admin,
        };
        self.session.group_answer(&group, &actor, args, &ev).await;
    }

    /// `/insights [period]` in a group: for one of its admins (`getChatMember`: administrator
    /// or creator), the group's counts go to them privately, and the group hears only that
    /// they were sent (or, when the admin has never opened a private chat with the bot, how to
    /// start one); never any counts in the group. Anyone else is refused in the group.
    async fn group_insights(
        &self,
        m: &TgMessage,
        from: &teloxide_core::types::User,
        args: &str,
        ev: Event,
    ) {
        let cat = self.session.catalog();
        let say = |key: &str| vec![Message::public().para(cat.t(key))];
        let admin = match self.bot.get_chat_member(m.chat.id, from.id).await {
            Ok(member) => member.is_privileged(),
            Err(e) => {
                // Not a refusal: the person may well be an admin; they are asked to try again.
                tracing::warn!("could not check a group member's rights: {}", describe(&e));
                let again = say("insights.check_failed");
                return self.post(&ev, groups::in_reply_to(again, m.id.0)).await;
            }
        };
        if !admin {
            let refusal = say("insights.refused_telegram");
            return self.post(&ev, groups::in_reply_to(refusal, m.id.0)).await;
        }
        let user = user_key(from.id.0);
        let known = matches!(self.session.store().get_user(&user).await, Ok(Some(_)));
        if !known {
            // Telegram lets a bot write only to people who started a chat with it.
            let how = say("insights.start_privately");
            return self.post(&ev, groups::in_reply_to(how, m.id.0)).await;
        }
        let community = challenge::group_key("telegram", &m.chat.id.0.to_string());
        let period = crate::insights::Period::parse(args);
        let mut report = self
            .session
            .insights_messages(
                &community,
                period.unwrap_or(crate::insights::Period::Months3),
            )
            .await;
        if period.is_none() && !args.is_empty() {
            let note = cat.tf(
                "insights.period_unknown",
                &[("input", &engine::text::shorten(args, 20))],
            );
            report.insert(0, Message::private().para(note));
        }
        tracing::info!(
            platform = "telegram",
            "insights sent privately to a group's admin"
        );
        // The report privately (the event marked applied with it), then the note in the group.
        let mut private = ev.clone();
        private.to = Some(user);
        self.post(&private, report).await;
        let mut note = ev;
        note.id = None;
        note.inbox = None;
        let sent = say("insights.sent_privately");
        self.post(&note, groups::in_reply_to(sent, m.id.0)).await
    }

    /// Anything asked in a group that is not answered there moves to a private chat through a
    /// deep link (a button whose token becomes `t.me/<bot>?start=<token>` when posted in a
    /// group): "I'll answer that privately" for a lookup or a lens, "that's personal" for
    /// anything about the person.
    fn continue_privately(&self, cmd: &str, args: &str) -> Message {
        let cat = self.session.catalog();
        let Some(payload) = groups::link_payload(cmd, args) else {
            // A link may only navigate (`engine::DEEP_LINKS`): anything that changes or shows
            // what is held is asked for in the private chat itself. The button opens it.
            return Message::public()
                .para(cat.tf("telegram_continue_privately_command", &[("command", cmd)]))
                .buttons(vec![Button {
                    label: cat.t("button.continue_privately").to_string(),
                    token: String::new(),
                }]);
        };
        if groups::route(cmd, args) == groups::Route::Personal {
            return Message::public()
                .para(cat.t("telegram_continue_privately"))
                .buttons(vec![Button {
                    label: cat.t("button.continue_privately").to_string(),
                    token: payload,
                }]);
        }
        groups::privately(cat, payload)
    }

    /// A turn through the session; its reply goes into the outbox with the new state.
    async fn turn(&self, ev: Event) {
        let now = self.session.now();
        if let Err(e) = self.session.handle_event(ev.clone(), now).await {
            tracing::warn!("a turn for a Telegram user failed: {e}");
            // Nothing was saved; the event stays in the inbox (or unconfirmed with Telegram)
            // and is tried again at the next start. The person hears that now.
            if self.session.health().is_failing() {
                // The store cannot keep even the apology, so it goes to the platform directly;
                // the process is stopping and the next start answers the message itself.
                let Some(to) = ev.to.clone() else { return };
                let sorry = Message::private().para(self.session.catalog().t("store_restarting"));
                if let Err(e) = self.deliver(&to, vec![sorry]).await {
                    tracing::warn!("telling a Telegram user the store failed did not work: {e}");
                }
                return;
            }
            let sorry = Message::private().para(self.session.catalog().t("store_failed"));
            let mut quiet = ev;
            quiet.id = None;
            quiet.inbox = None;
            self.post(&quiet, vec![sorry]).await;
        }
    }

    /// Owes messages without a turn (lookups, notes), clearing the event's inbox entry.
    async fn post(&self, ev: &Event, messages: Vec<Message>) {
        if let Err(e) = self.session.post(ev, messages).await {
            tracing::warn!("queueing a Telegram reply failed: {e}");
        }
    }

    /// Sends one HTML message within the limits, waiting out a 429's `retry_after` a few
    /// times.
    async fn send_html(
        &self,
        chat: i64,
        html: String,
        keyboard: Option<serde_json::Value>,
        reply_to: Option<i64>,
    ) -> Result<(), api::Failure> {
        if let Some(l) = &self.limiter {
            let wait = l.reserve(chat, std::time::Instant::now());
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
            l.pace().await;
        }
        let mut body = serde_json::json!({
            "chat_id": chat,
            "text": html,
            "parse_mode": "HTML",
            "link_preview_options": {"is_disabled": true},
        });
        if let Some(k) = keyboard {
            body["reply_markup"] = k;
        }
        if let Some(id) = reply_to {
            // Threaded to the person who asked; sent anyway if their message was deleted.
            body["reply_parameters"] =
                serde_json::json!({"message_id": id, "allow_sending_without_reply": true});
        }
        let mut tries = 0;
        loop {
            match self
                .api
                .call("sendMessage", &body, Duration::from_secs(30))
                .await
            {
                Err(api::Failure::RetryAfter(after)) if tries < RETRIES => {
                    tries += 1;
                    tokio::time::sleep(after).await;
                }
                other => return other.map(|_| ()),
            }
        }
    }

    /// Sends messages to a chat, in order: callback buttons in a private chat, deep links in a
    /// group (where only public messages go).
    async fn send(
        &self,
        to: &str,
        chat: i64,
        group: bool,
        messages: &[Message],
    ) -> Result<(), DeliveryError> {
        for m in messages {
            if group && m.audience != engine::Audience::Public {
                continue; // Never anything personal in a group.
            }
            let mut m = m.clone();
            let reply_to = groups::take_reply(&mut m);
            let m = &m;
            // A file is drawn here, when it is sent; a picture stands in for the text.
            let file = match m.file.as_deref() {
                Some(f) => Some((f, crate::files::bytes_off_thread(f).await)),
                None => None,
            };
            let photo = matches!(&file, Some((f, Ok(_))) if f.is_picture());
            if !photo && !m.blocks.is_empty() {
                for part in render::render(m) {
                    let keyboard =
                        keyboard(&part.keyboard, group.then_some(self.username.as_str()));
                    outcome(
                        to,
                        self.send_html(chat, part.html, keyboard, reply_to).await,
                    )?;
                }
            }
            match file {
                None => {}
                Some((f, Ok(bytes))) => {
                    // The buttons go with the photo, or with a file sent without text.
                    let keys = (photo || m.blocks.is_empty())
                        .then(|| keyboard(&render::keyboard(m), None))
                        .flatten();
                    outcome(to, self.send_file(chat, f, &bytes, keys).await)?;
                }
                Some((f, Err(e))) => {
                    tracing::error!(file = %f.name, error = %e, "a file could not be made");
                    if !f.is_picture() {
                        let sorry = self
                            .session
                            .catalog()
                            .tf("files.failed", &[("name", &f.name)]);
                        outcome(
                            to,
                            self.send_html(chat, render::escape(&sorry), None, None)
                                .await,
                        )?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Sends a file: `sendPhoto` for a picture, `sendDocument` for anything else, with its
    /// caption (plain text, within Telegram's 1,024 characters) and any buttons.
    async fn send_file(
        &self,
        chat: i64,
        file: &engine::Attachment,
        bytes: &[u8],
        keyboard: Option<serde_json::Value>,
    ) -> Result<(), api::Failure> {
        if let Some(l) = &self.limiter {
            let wait = l.reserve(chat, std::time::Instant::now());
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
            l.pace().await;
        }
        let (method, field) = if file.is_picture() {
            ("sendPhoto", "photo")
        } else {
            ("sendDocument", "document")
        };
        let mut fields = vec![("chat_id", chat.to_string())];
        let caption: String = file.caption.chars().take(CAPTION_MAX).collect();
        if !caption.trim().is_empty() {
            fields.push(("caption", caption));
        }
        if let Some(k) = keyboard {
            fields.push(("reply_markup", k.to_string()));
        }
        let form = api::Form {
            fields,
            file_field: field,
            file_name: &file.name,
            mime: &file.mime,
            bytes,
        };
        let mut tries = 0;
        loop {
            match self
                .api
                .call_multipart(method, &form, Duration::from_secs(60))
                .await
            {
                Err(api::Failure::RetryAfter(after)) if tries < RETRIES => {
                    tries += 1;
                    tokio::time::sleep(after).await;
                }
                other => return other.map(|_| ()),
            }
        }
    }
}

/// Telegram's limit on a caption, in characters.
const CAPTION_MAX: usize = 1024;

/// What a failed send means for the sender: an unreachable chat, or a failure that may pass;
/// a part refused for good is logged without its text and skipped.
fn outcome(to: &str, r: Result<(), api::Failure>) -> Result<(), DeliveryError> {
    match r {
        Ok(()) => Ok(()),
        Err(api::Failure::Unreachable(_)) => Err(DeliveryError::Unreachable(to.to_string())),
        Err(api::Failure::Refused(code, why)) => {
            // Refused for good: logged without the text; the next part still goes.
            tracing::error!(code, reason = %why, "Telegram refused a message; it was skipped");
            Ok(())
        }
        Err(api::Failure::RetryAfter(d)) => {
            Err(DeliveryError::Failed(format!("rate limited for {d:?}")))
        }
        Err(api::Failure::Transient(why)) => Err(DeliveryError::Failed(why)),
    }
}

/// An inline keyboard: callback buttons, or (in a group, with the bot's username) links that
/// open a private chat with the bot at the button's token.
fn keyboard(rows: &[Vec<(String, String)>], deep_links: Option<&str>) -> Option<serde_json::Value> {
    let rows: Vec<serde_json::Value> = rows
        .iter()
        .map(|row| {
            serde_json::Value::Array(
                row.iter()
                    .map(|(label, token)| match deep_links {
                        // No token: the link only opens the private chat.
                        Some(bot) if token.is_empty() => serde_json::json!({
                            "text": label,
                            "url": format!("https://t.me/{bot}"),
                        }),
                        Some(bot) => serde_json::json!({
                            "text": label,
                            "url": format!("https://t.me/{bot}?start={token}"),
                        }),
                        None => serde_json::json!({"text": label, "callback_data": token}),
                    })
                    .collect(),
            )
        })
        .filter(|r| r.as_array().is_some_and(|a| !a.is_empty()))
        .collect();
    (!rows.is_empty()).then(|| serde_json::json!({ "inline_keyboard": rows }))
}

impl Deliver for Adapter {
    fn accepts(&self, to: &str) -> bool {
        to.starts_with("telegram:")
    }

    fn deliver<'a>(&'a self, to: &'a str, messages: Vec<Message>) -> DeliveryFuture<'a> {
        Box::pin(async move {
            if let Some(chat) = to.strip_prefix("telegram:chat:") {
                let id: i64 = chat.parse().map_err(|_| {
                    DeliveryError::Unreachable(format!("not a Telegram chat: {to}"))
                })?;
                return self.send(to, id, true, &messages).await;
            }
            let id: i64 = to
                .strip_prefix("telegram:")
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| DeliveryError::Unreachable(format!("not a Telegram user: {to}")))?;
            // A person's private chat has the same id as the person.
            self.send(to, id, false, &messages).await
        })
    }
}

/// Asks Telegram whose token this is (`getMe`), for `lensbot serve --check --online`: the
/// bot's username, or why the token was not accepted.
pub async fn who_am_i(config: &Config) -> Result<String, TelegramError> {
    let me = bot(config)?
        .get_me()
        .await
        .map_err(|e| TelegramError::GetMe(describe(&e)))?;
    Ok(me.username.clone().unwrap_or_default())
}

/// A phrase from the session's content.
fn cat_t(session: &Session, key: &str) -> String {
    session.catalog().t(key).to_string()
}
