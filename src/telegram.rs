//! The Telegram adapter: long polling with teloxide's client, private chats carrying the whole
//! conversation, groups answering only what is public by nature.
//!
//! Why our own polling loop rather than teloxide's dispatcher: the dispatcher confirms a batch
//! of updates to Telegram before the handlers finish, so a crash can drop them. Here a batch is
//! handled completely (each person's updates in order, different people in parallel, every
//! turn flushed) before the next `getUpdates` confirms it; a batch replayed after a crash is
//! recognised by its update ids (kept per person in the store) and applied once.
//!
//! Everything a person writes goes through the session; replies are rendered by
//! [`render`] (HTML, escaped, split, inline keyboards). The token is never printed: the bot
//! (whose `Debug` would show it) is never formatted, [`Config`]'s `Debug` redacts it, and
//! request errors are described without their URL. Reflections are never logged; nothing
//! personal is sent to a group. Rate limits are kept by [`limits`] (about 1 message a second
//! per chat, 20 a minute per group, 30 a second overall, a message going at once when no limit
//! is near), and a 429's `retry_after` is waited out; with `throttle` off (benchmarks and most
//! tests) only the 429s are.

pub mod limits;
pub mod render;

use crate::challenge::{
    self,
    group::{Actor, Group},
};
use crate::engine::{self, COMMANDS, Input, Message};
use crate::scheduler::{self, Deliver, DeliveryError, DeliveryFuture};
use crate::session::Session;
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use teloxide_core::payloads::{GetUpdatesSetters, SendMessageSetters};
use teloxide_core::requests::Requester;
use teloxide_core::types::{
    AllowedUpdate, BotCommand, ChatId, InlineKeyboardButton, InlineKeyboardMarkup,
    Message as TgMessage, ParseMode, Update, UpdateKind,
};
use teloxide_core::{ApiError, Bot, RequestError};

/// Telegram's own API address.
pub const DEFAULT_API_URL: &str = "https://api.telegram.org";

/// The bot as the adapter holds it: teloxide's client and, unless turned off, the rate
/// limiter ([`limits`]) every message passes.
#[derive(Clone)]
pub struct TgBot {
    bot: Bot,
    limiter: Option<Arc<limits::Limiter>>,
}

/// How many times a message refused with a 429 is tried again (after its `retry_after`).
const RETRIES: usize = 3;

impl TgBot {
    async fn get_me(&self) -> Result<teloxide_core::types::Me, RequestError> {
        self.bot.get_me().await
    }

    async fn set_my_commands(&self, commands: Vec<BotCommand>) -> Result<(), RequestError> {
        self.bot.set_my_commands(commands).await.map(|_| ())
    }

    async fn get_updates(&self, offset: i32, timeout: u32) -> Result<Vec<Update>, RequestError> {
        self.bot
            .get_updates()
            .offset(offset)
            .timeout(timeout)
            .allowed_updates(vec![AllowedUpdate::Message, AllowedUpdate::CallbackQuery])
            .await
    }

    async fn answer_callback_query(
        &self,
        id: teloxide_core::types::CallbackQueryId,
    ) -> Result<(), RequestError> {
        self.bot.answer_callback_query(id).await.map(|_| ())
    }

    async fn remove_buttons(
        &self,
        chat: ChatId,
        message: teloxide_core::types::MessageId,
    ) -> Result<(), RequestError> {
        self.bot
            .edit_message_reply_markup(chat, message)
            .await
            .map(|_| ())
    }

    async fn is_admin(
        &self,
        chat: ChatId,
        user: teloxide_core::types::UserId,
    ) -> Result<bool, RequestError> {
        self.bot
            .get_chat_member(chat, user)
            .await
            .map(|m| m.is_privileged())
    }

    /// Sends one HTML message, with an inline keyboard when there is one: when the limits
    /// allow (at once, usually), and again after a 429's `retry_after`.
    async fn send_html(
        &self,
        chat: ChatId,
        html: String,
        keyboard: Option<InlineKeyboardMarkup>,
    ) -> Result<(), RequestError> {
        if let Some(l) = &self.limiter {
            let wait = l.reserve(chat.0, std::time::Instant::now());
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
        }
        let mut tries = 0;
        loop {
            let mut req = self
                .bot
                .send_message(chat, html.clone())
                .parse_mode(ParseMode::Html);
            if let Some(k) = &keyboard {
                req = req.reply_markup(k.clone());
            }
            match req.await {
                Err(RequestError::RetryAfter(after)) if tries < RETRIES => {
                    tries += 1;
                    tokio::time::sleep(after.duration()).await;
                }
                other => return other.map(|_| ()),
            }
        }
    }
}

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
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("token", &"<redacted>")
            .field("api_url", &self.api_url)
            .field("throttle", &self.throttle)
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
    /// The store failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// A user's store key on Telegram.
pub fn user_key(id: u64) -> String {
    format!("telegram:{id}")
}

/// Builds teloxide's client from the configuration.
pub fn bot(config: &Config) -> Result<TgBot, TelegramError> {
    let url = reqwest::Url::parse(&config.api_url)
        .map_err(|_| TelegramError::BadUrl(config.api_url.clone()))?;
    let bot = Bot::new(&config.token).set_api_url(url);
    Ok(TgBot {
        bot,
        limiter: config.throttle.then(|| Arc::new(limits::Limiter::new())),
    })
}

/// Runs the bot until `shutdown` resolves: start-up checks, command registration, polling, the
/// reminder scheduler. On shutdown it stops polling, finishes the turns in flight, confirms
/// them to Telegram and flushes the store.
pub async fn run(
    session: Arc<Session>,
    config: Config,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), TelegramError> {
    let bot = bot(&config)?;
    let me = bot
        .get_me()
        .await
        .map_err(|e| TelegramError::GetMe(describe(&e)))?;
    let username = me.username.clone().unwrap_or_default();
    let commands: Vec<BotCommand> = COMMANDS
        .iter()
        .map(|(c, _)| BotCommand::new(*c, session.catalog().t(&format!("cmd.{c}"))))
        .collect();
    if let Err(e) = bot.set_my_commands(commands).await {
        tracing::warn!(
            "could not register the command list with Telegram: {}",
            describe(&e)
        );
    }
    tracing::info!("connected to Telegram as @{username}");

    let adapter = Arc::new(Adapter {
        bot: bot.clone(),
        session: session.clone(),
        username,
    });
    let (stop_scheduler, scheduler_stopped) = tokio::sync::oneshot::channel::<()>();
    let scheduler = tokio::spawn(scheduler::run(session.clone(), adapter.clone(), async {
        let _ = scheduler_stopped.await;
    }));

    tokio::pin!(shutdown);
    let mut offset: i32 = 0;
    let mut backoff = Duration::from_millis(500);
    loop {
        let poll = bot.get_updates(offset, config.poll_timeout);
        let updates = tokio::select! {
            _ = &mut shutdown => break,
            r = poll => r,
        };
        match updates {
            Ok(updates) => {
                backoff = Duration::from_millis(500);
                if let Some(last) = updates.last() {
                    offset = last.id.0 as i32 + 1;
                }
                // The whole batch is handled before the next poll confirms it.
                adapter.handle_batch(updates).await;
            }
            Err(e) => {
                tracing::warn!(
                    "getUpdates failed: {}; retrying in {backoff:?}",
                    describe(&e)
                );
                tokio::select! {
                    _ = &mut shutdown => break,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(30));
            }
        }
    }
    // Confirm what was handled, so Telegram does not send it again.
    if offset != 0 {
        let _ = tokio::time::timeout(Duration::from_secs(3), bot.get_updates(offset, 0)).await;
    }
    let _ = stop_scheduler.send(());
    let _ = scheduler.await;
    session.store().flush()?;
    Ok(())
}

/// Describes a request error without anything that could carry the token (teloxide's network
/// errors can include the request URL, which contains it).
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

fn unreachable(e: &RequestError) -> bool {
    matches!(
        e,
        RequestError::Api(
            ApiError::BotBlocked
                | ApiError::CantInitiateConversation
                | ApiError::UserDeactivated
                | ApiError::BotKicked
                | ApiError::BotKickedFromSupergroup
                | ApiError::ChatNotFound
        )
    )
}

struct Adapter {
    bot: TgBot,
    session: Arc<Session>,
    username: String,
}

/// Who an update is from, for per-person ordering.
fn sender(u: &Update) -> Option<u64> {
    match &u.kind {
        UpdateKind::Message(m) => m.from.as_ref().map(|f| f.id.0),
        UpdateKind::CallbackQuery(q) => Some(q.from.id.0),
        _ => None,
    }
}

impl Adapter {
    /// Handles a batch: each person's updates in order, different people concurrently.
    async fn handle_batch(self: &Arc<Self>, updates: Vec<Update>) {
        let mut by_person: BTreeMap<u64, Vec<Update>> = BTreeMap::new();
        for u in updates {
            if let Some(id) = sender(&u) {
                by_person.entry(id).or_default().push(u);
            }
        }
        let mut tasks = tokio::task::JoinSet::new();
        for (_, list) in by_person {
            let me = self.clone();
            tasks.spawn(async move {
                for u in list {
                    me.handle_update(u).await;
                }
            });
        }
        while tasks.join_next().await.is_some() {}
    }

    async fn handle_update(&self, u: Update) {
        let event = format!("tg:{}", u.id.0);
        match u.kind {
            UpdateKind::Message(m) => self.on_message(m, &event).await,
            UpdateKind::CallbackQuery(q) => {
                // Answer at once, whatever follows, so the button stops spinning.
                let _ = self.bot.answer_callback_query(q.id.clone()).await;
                let Some(msg) = q.message.as_ref() else {
                    return;
                };
                if !msg.chat().is_private() {
                    return; // Group messages carry no callback buttons.
                }
                let chat = msg.chat().id;
                let user = user_key(q.from.id.0);
                let data = q.data.clone().unwrap_or_default();
                let name = q.from.first_name.clone();
                self.turn(&user, Some(&name), chat, Input::Button(data), &event)
                    .await;
                // The pressed message's buttons go, so they cannot be pressed twice.
                let _ = self.bot.remove_buttons(chat, msg.id()).await;
            }
            _ => {}
        }
    }

    async fn on_message(&self, m: TgMessage, event: &str) {
        let Some(from) = m.from.as_ref() else { return };
        if from.is_bot {
            return;
        }
        let text = m.text().or(m.caption()).unwrap_or("").to_string();
        let user = user_key(from.id.0);
        if m.chat.is_private() {
            if text.is_empty() {
                let note = Message::private().para(self.session.catalog().t("telegram_text_only"));
                let _ = self.send(&user, m.chat.id, &[note]).await;
                return;
            }
            let name = from.first_name.clone();
            return self
                .turn(&user, Some(&name), m.chat.id, Input::Text(text), event)
                .await;
        }
        // A group: only commands addressed to the bot (or to no bot in particular).
        let Some(rest) = text.strip_prefix('/') else {
            return;
        };
        let (word, args) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
        let (cmd, target) = word.split_once('@').unwrap_or((word, ""));
        if !target.is_empty() && !target.eq_ignore_ascii_case(&self.username) {
            return;
        }
        let cmd = cmd.to_lowercase();
        if !COMMANDS.iter().any(|(c, _)| *c == cmd) {
            return;
        }
        let args = args.trim();
        if cmd == "challenge" {
            return self.group_challenge(&m, from, args).await;
        }
        if engine::is_public_lookup(&cmd, args) {
            self.group_lookup(&user, m.chat.id, &format!("/{cmd} {args}"), m.id.0)
                .await;
        } else {
            self.continue_privately(m.chat.id, &cmd, args).await;
        }
    }

    /// `/challenge …` in a group: facilitator commands (checked against the group's admins)
    /// and the group's status; member words are pointed to the private chat.
    async fn group_challenge(&self, m: &TgMessage, from: &teloxide_core::types::User, args: &str) {
        let sub = args.split_whitespace().next().unwrap_or("").to_lowercase();
        let facilitating = matches!(
            sub.as_str(),
            "start" | "pause" | "resume" | "skip" | "end" | "stop" | "takeover"
        );
        let admin = facilitating
            && match self.bot.is_admin(m.chat.id, from.id).await {
                Ok(admin) => admin,
                Err(e) => {
                    tracing::warn!("could not check a group member's rights: {}", describe(&e));
                    false
                }
            };
        let group = Group {
            key: challenge::group_key("telegram", &m.chat.id.0.to_string()),
            title: m.chat.title().unwrap_or_default().to_string(),
        };
        let actor = Actor {
            user: user_key(from.id.0),
            name: from.first_name.clone(),
            admin,
        };
        let messages = self.session.group_reply(&group, &actor, args).await;
        if let Err(e) = self.send_group(m.chat.id, &messages).await {
            tracing::warn!("posting to a Telegram group failed: {e}");
        }
    }

    /// Posts to a group: public messages only, buttons as links that open a private chat
    /// with the bot (`t.me/<bot>?start=<token>`), since personal answers never go in a group.
    async fn send_group(&self, chat: ChatId, messages: &[Message]) -> Result<(), DeliveryError> {
        for m in &render::merge(messages) {
            if m.audience != engine::Audience::Public {
                continue; // Never anything personal in a group.
            }
            for part in render::render(m) {
                let rows: Vec<Vec<InlineKeyboardButton>> = part
                    .keyboard
                    .into_iter()
                    .map(|row| {
                        row.into_iter()
                            .filter_map(|(label, token)| {
                                let url = format!("https://t.me/{}?start={token}", self.username);
                                reqwest::Url::parse(&url)
                                    .ok()
                                    .map(|u| InlineKeyboardButton::url(label, u))
                            })
                            .collect::<Vec<_>>()
                    })
                    .filter(|row| !row.is_empty())
                    .collect();
                let keyboard = (!rows.is_empty()).then(|| InlineKeyboardMarkup::new(rows));
                if let Err(e) = self.bot.send_html(chat, part.html, keyboard).await {
                    if unreachable(&e) {
                        return Err(DeliveryError::Unreachable(format!("group {}", chat.0)));
                    }
                    return Err(DeliveryError::Failed(describe(&e)));
                }
            }
        }
        Ok(())
    }

    /// A public lookup in a group: nothing saved, nothing personal, no buttons.
    async fn group_lookup(&self, user: &str, chat: ChatId, text: &str, salt: i32) {
        let messages = engine::public_lookup(
            self.session.catalog(),
            user,
            text,
            salt.unsigned_abs(),
            self.session.now(),
        );
        for m in &messages {
            for part in render::render(m) {
                let _ = self.bot.send_html(chat, part.html, None).await;
            }
        }
    }

    /// Anything personal asked in a group moves to a private chat through a deep link.
    async fn continue_privately(&self, chat: ChatId, cmd: &str, args: &str) {
        let cat = self.session.catalog();
        let mut payload = cmd.to_string();
        // Only safe, non-personal arguments travel in the link (a lens number, a need).
        let arg: String = args
            .chars()
            .take(20)
            .filter(|c| c.is_ascii_alphanumeric())
            .collect();
        if matches!(cmd, "lens" | "signpost" | "prep") && !arg.is_empty() {
            payload = format!("{cmd}-{arg}");
        }
        let url = format!("https://t.me/{}?start={payload}", self.username);
        let text = render::escape(cat.t("telegram_continue_privately"));
        let keyboard = reqwest::Url::parse(&url).ok().map(|url| {
            let button = InlineKeyboardButton::url(cat.t("button.continue_privately"), url);
            InlineKeyboardMarkup::new(vec![vec![button]])
        });
        let _ = self.bot.send_html(chat, text, keyboard).await;
    }

    /// One person's turn in their private chat.
    async fn turn(&self, user: &str, name: Option<&str>, chat: ChatId, input: Input, event: &str) {
        match self
            .session
            .handle_as(user, name, input, Some(event), self.session.now())
            .await
        {
            Ok(reply) => {
                if !reply.duplicate {
                    let _ = self.send(user, chat, &reply.messages).await;
                }
            }
            Err(e) => {
                tracing::warn!("a turn for a Telegram user failed: {e}");
                let sorry = Message::private().para(self.session.catalog().t("store_failed"));
                let _ = self.send(user, chat, &[sorry]).await;
            }
        }
    }

    /// Sends messages to a private chat, in order; a blocked bot marks the person unreachable.
    async fn send(
        &self,
        user: &str,
        chat: ChatId,
        messages: &[Message],
    ) -> Result<(), DeliveryError> {
        for m in &render::merge(messages) {
            for part in render::render(m) {
                let keyboard = (!part.keyboard.is_empty()).then(|| {
                    let rows = part
                        .keyboard
                        .into_iter()
                        .map(|row| {
                            row.into_iter()
                                .map(|(l, d)| InlineKeyboardButton::callback(l, d))
                                .collect::<Vec<_>>()
                        })
                        .collect::<Vec<_>>();
                    InlineKeyboardMarkup::new(rows)
                });
                if let Err(e) = self.bot.send_html(chat, part.html, keyboard).await {
                    if unreachable(&e) {
                        let _ = self.session.mark_unreachable(user).await;
                        return Err(DeliveryError::Unreachable(user.to_string()));
                    }
                    tracing::warn!("sending to a Telegram chat failed: {}", describe(&e));
                    return Err(DeliveryError::Failed(describe(&e)));
                }
            }
        }
        Ok(())
    }
}

impl Deliver for Adapter {
    fn accepts(&self, user: &str) -> bool {
        user.starts_with("telegram:")
    }

    fn deliver<'a>(&'a self, user: &'a str, messages: Vec<Message>) -> DeliveryFuture<'a> {
        Box::pin(async move {
            if let Some(chat) = user.strip_prefix("telegram:chat:") {
                let id: i64 = chat
                    .parse()
                    .map_err(|_| DeliveryError::Failed(format!("not a Telegram chat: {user}")))?;
                return self.send_group(ChatId(id), &messages).await;
            }
            let id: i64 = user
                .strip_prefix("telegram:")
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| DeliveryError::Failed(format!("not a Telegram user: {user}")))?;
            // A person's private chat has the same id as the person.
            self.send(user, ChatId(id), &messages).await
        })
    }
}
